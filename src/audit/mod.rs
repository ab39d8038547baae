//! The audit recorder: an append-only record of every change, written in
//! the same transaction as the change itself, so that a change without its
//! audit entry (or the reverse) cannot exist.
//!
//! Every store calls it, so it sits below the domains and imports none;
//! the pages and API that read the log are the `crate::audit_log` domain.

use serde_json::Value;

use crate::db::{Tx, now_ms};

/// Who made a change, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    pub request_id: String,
    pub ip: String,
}

impl Actor {
    /// Changes made by weiops itself or from the command line.
    pub fn system(what: &str) -> Actor {
        Actor {
            user_id: None,
            name: what.to_string(),
            request_id: String::new(),
            ip: String::new(),
        }
    }
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Change {
    pub action: &'static str,
    pub entity_type: &'static str,
    pub entity_id: String,
    pub summary: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    pub fn new(
        action: &'static str,
        entity_type: &'static str,
        entity_id: impl ToString,
    ) -> Change {
        Change {
            action,
            entity_type,
            entity_id: entity_id.to_string(),
            summary: String::new(),
            before: None,
            after: None,
        }
    }

    pub fn summary(mut self, summary: impl Into<String>) -> Change {
        self.summary = summary.into();
        self
    }

    pub fn before(mut self, v: Value) -> Change {
        self.before = Some(v);
        self
    }

    pub fn after(mut self, v: Value) -> Change {
        self.after = Some(v);
        self
    }
}

/// Appends `change` inside the caller's transaction.
#[tracing::instrument(skip_all, fields(action = change.action, entity = %change.entity_id))]
pub async fn record(tx: &mut Tx<'_>, actor: &Actor, change: Change) -> crate::Result<()> {
    let mut script = crate::db::Script::new(crate::db::Engine::of(tx));
    record_all(&mut script, &[(actor, change)]);
    script.run(tx).await?;
    Ok(())
}

/// Appends several changes to `script`, one statement for all of them
/// (orders placed together, `orders::placing`): the caller runs it inside
/// the transaction of the changes.
pub fn record_all(script: &mut crate::db::Script, changes: &[(&Actor, Change)]) {
    const COLUMNS: usize = 11;
    // Well under the bound values either engine takes in one statement.
    for chunk in changes.chunks(1_000) {
        let at = now_ms();
        let sql = format!(
            "INSERT INTO audit_log (at, actor_id, actor_name, action, entity_type, entity_id, summary, \
             before_json, after_json, request_id, ip) VALUES {}",
            crate::db::value_rows(script.engine(), chunk.len(), COLUMNS, 1)
        );
        let mut values = Vec::with_capacity(chunk.len() * COLUMNS);
        for (actor, change) in chunk {
            values.extend([
                at.into(),
                actor.user_id.into(),
                actor.name.as_str().into(),
                change.action.into(),
                change.entity_type.into(),
                change.entity_id.as_str().into(),
                change.summary.as_str().into(),
                change.before.as_ref().map(|v| v.to_string()).into(),
                change.after.as_ref().map(|v| v.to_string()).into(),
                actor.request_id.as_str().into(),
                actor.ip.as_str().into(),
            ]);
        }
        script.push(sql, values);
    }
}
