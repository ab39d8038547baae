//! Audit entries as people read them: the actor's and the entity's names
//! with links to their pages, and order transitions in the reader's
//! language. The stored text stays as written (the log is append-only and
//! its triggers refuse edits); this is done when a page is shown, so old
//! entries read the same way as new ones.

use std::collections::{BTreeSet, HashMap};

use sqlx::Row;

use super::store::AuditEntry;
use crate::Result;
use crate::db::Db;
use crate::web::PageCtx;

/// The prefix of actor names of changes an agent made in the portal
/// (`agent:A0000003`): agents are no users, so the code is the only key.
pub const AGENT_ACTOR_PREFIX: &str = "agent:";

/// A name, with the page it links to when there is one the reader may open.
#[derive(Debug, Clone, Default)]
pub struct Named {
    pub text: String,
    /// A code or number shown muted after the name (an agent's code).
    pub note: String,
    pub href: Option<String>,
}

/// An entry ready for a page.
#[derive(Debug, Clone)]
pub struct EntryView {
    pub entry: AuditEntry,
    pub actor: Named,
    /// The entity in words (`订单 PO…`, `代理 王芳`); empty for changes to
    /// many rows at once (imports).
    pub entity: Named,
    /// The summary in the reader's language where weiops knows its shape;
    /// otherwise as stored.
    pub summary: String,
}

/// Names of the rows entries point at, fetched in one query per kind.
#[derive(Default)]
struct Names {
    users: HashMap<i64, String>,
    /// By id and by code: (id, name, code).
    agents: HashMap<i64, (String, String)>,
    agents_by_code: HashMap<String, (i64, String)>,
    products: HashMap<i64, String>,
    /// SKU id → (product id, SKU code, product name).
    skus: HashMap<i64, (i64, String, String)>,
    roles: HashMap<i64, String>,
    settlements: HashMap<i64, String>,
}

fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `SELECT … WHERE <key> IN (ids)`: the rows of `sql` (which ends in `IN`).
async fn rows_by_id(db: &Db, sql: &str, ids: &BTreeSet<i64>) -> Result<Vec<sqlx::any::AnyRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = crate::db::dynamic(format!("{sql} ({})", placeholders(ids.len())));
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(&db.pool).await?)
}

impl Names {
    async fn load(db: &Db, entries: &[AuditEntry]) -> Result<Names> {
        let mut want: HashMap<&str, BTreeSet<i64>> = HashMap::new();
        let mut codes = BTreeSet::new();
        for e in entries {
            if let Some(id) = e.actor_id {
                want.entry("user").or_default().insert(id);
            } else if let Some(code) = e.actor_name.strip_prefix(AGENT_ACTOR_PREFIX) {
                codes.insert(code.to_string());
            }
            if let Ok(id) = e.entity_id.parse::<i64>() {
                let kind = match e.entity_type.as_str() {
                    "staff" => "user",
                    other => other,
                };
                want.entry(kind).or_default().insert(id);
            }
        }
        let ids = |kind: &str| want.get(kind).cloned().unwrap_or_default();
        let mut names = Names::default();
        for r in rows_by_id(
            db,
            "SELECT id, display_name FROM users WHERE id IN",
            &ids("user"),
        )
        .await?
        {
            names
                .users
                .insert(r.try_get("id")?, r.try_get("display_name")?);
        }
        for r in rows_by_id(
            db,
            "SELECT id, name, code FROM agents WHERE id IN",
            &ids("agent"),
        )
        .await?
        {
            names
                .agents
                .insert(r.try_get("id")?, (r.try_get("name")?, r.try_get("code")?));
        }
        if !codes.is_empty() {
            let sql = format!(
                "SELECT id, name, code FROM agents WHERE code IN ({})",
                placeholders(codes.len())
            );
            let mut q = crate::db::dynamic(sql);
            for c in &codes {
                q = q.bind(c.clone());
            }
            for r in q.fetch_all(&db.pool).await? {
                names
                    .agents_by_code
                    .insert(r.try_get("code")?, (r.try_get("id")?, r.try_get("name")?));
            }
        }
        for r in rows_by_id(
            db,
            "SELECT id, name FROM products WHERE id IN",
            &ids("product"),
        )
        .await?
        {
            names.products.insert(r.try_get("id")?, r.try_get("name")?);
        }
        for r in rows_by_id(
            db,
            "SELECT s.id, s.product_id, s.code, p.name FROM skus s JOIN products p ON p.id = s.product_id WHERE s.id IN",
            &ids("sku"),
        )
        .await?
        {
            names.skus.insert(
                r.try_get("id")?,
                (r.try_get("product_id")?, r.try_get("code")?, r.try_get("name")?),
            );
        }
        for r in rows_by_id(db, "SELECT id, name FROM roles WHERE id IN", &ids("role")).await? {
            names.roles.insert(r.try_get("id")?, r.try_get("name")?);
        }
        for r in rows_by_id(
            db,
            "SELECT id, period FROM settlement_runs WHERE id IN",
            &ids("settlement"),
        )
        .await?
        {
            names
                .settlements
                .insert(r.try_get("id")?, r.try_get("period")?);
        }
        Ok(names)
    }

    // The links to a user's or an agent's page name their permissions as
    // text, like the URLs: the audit log sits below users and agents (both
    // show their history through it), so it cannot import their types.
    fn actor(&self, ctx: &PageCtx, e: &AuditEntry) -> Named {
        if let Some(id) = e.actor_id {
            return Named {
                text: self
                    .users
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| e.actor_name.clone()),
                note: String::new(),
                href: ctx.can("users.read").then(|| format!("/users/{id}")),
            };
        }
        if let Some(code) = e.actor_name.strip_prefix(AGENT_ACTOR_PREFIX) {
            return match self.agents_by_code.get(code) {
                Some((id, name)) => Named {
                    text: ctx.t1("audit.agent_actor", "name", name),
                    note: code.to_string(),
                    href: ctx.can("agents.read").then(|| format!("/agents/{id}")),
                },
                None => Named {
                    text: ctx.t1("audit.agent_actor", "name", code),
                    ..Named::default()
                },
            };
        }
        Named {
            text: ctx.t1("audit.system_actor", "name", &e.actor_name),
            ..Named::default()
        }
    }

    fn entity(&self, ctx: &PageCtx, e: &AuditEntry) -> Named {
        let id = e.entity_id.as_str();
        if id.is_empty() {
            return Named::default();
        }
        let n = id.parse::<i64>().ok();
        let link = |perm: &str, href: String| ctx.can(perm).then_some(href);
        let (text, note, href) = match (e.entity_type.as_str(), n) {
            ("order", _) => (
                id.to_string(),
                String::new(),
                link("orders.read", format!("/orders/{id}")),
            ),
            ("agent", Some(n)) => match self.agents.get(&n) {
                Some((name, code)) => (
                    name.clone(),
                    code.clone(),
                    link("agents.read", format!("/agents/{n}")),
                ),
                None => (format!("#{n}"), String::new(), None),
            },
            ("user", Some(n)) => (
                self.users
                    .get(&n)
                    .cloned()
                    .unwrap_or_else(|| format!("#{n}")),
                String::new(),
                link("users.read", format!("/users/{n}")),
            ),
            ("staff", Some(n)) => (
                self.users
                    .get(&n)
                    .cloned()
                    .unwrap_or_else(|| format!("#{n}")),
                String::new(),
                link("org.read", format!("/org/staff/{n}")),
            ),
            ("product", Some(n)) => (
                self.products
                    .get(&n)
                    .cloned()
                    .unwrap_or_else(|| format!("#{n}")),
                String::new(),
                link("products.read", format!("/products/{n}")),
            ),
            ("sku", Some(n)) => match self.skus.get(&n) {
                Some((product, code, name)) => (
                    name.clone(),
                    code.clone(),
                    link("products.read", format!("/products/{product}/skus/{n}")),
                ),
                None => (format!("#{n}"), String::new(), None),
            },
            ("role", Some(n)) => (
                self.roles
                    .get(&n)
                    .cloned()
                    .unwrap_or_else(|| format!("#{n}")),
                String::new(),
                link("roles.read", format!("/roles/{n}")),
            ),
            ("settlement", Some(n)) => (
                self.settlements
                    .get(&n)
                    .cloned()
                    .unwrap_or_else(|| format!("#{n}")),
                String::new(),
                link("finance.read", format!("/finance/settlements/{n}")),
            ),
            ("journal_entry", Some(n)) => (
                format!("#{n}"),
                String::new(),
                link("finance.read", format!("/finance/journal/{n}")),
            ),
            ("application", Some(n)) => (
                format!("#{n}"),
                String::new(),
                link("agents.read", format!("/agents/applications/{n}")),
            ),
            ("stock_count", Some(n)) => (
                format!("#{n}"),
                String::new(),
                link("stock.read", format!("/stock/counts/{n}")),
            ),
            (
                "after_sales" | "cloud_request" | "carrier" | "stock" | "settings" | "org_template",
                _,
            ) => (id.to_string(), String::new(), None),
            (_, _) => (format!("#{id}"), String::new(), None),
        };
        Named { text, note, href }
    }
}

/// The summary in the reader's language where its shape is known.
fn summary(ctx: &PageCtx, e: &AuditEntry) -> String {
    if e.action == "order.transition"
        && let Some(s) = transition(ctx, e)
    {
        return s;
    }
    e.summary.clone()
}

/// `paid → completed (complete)` as `已付款 → 已完成（完成订单）`: the states
/// from the before/after JSON, the action from the stored summary.
fn transition(ctx: &PageCtx, e: &AuditEntry) -> Option<String> {
    let status = |json: &Option<String>| -> Option<(String, String)> {
        let v: serde_json::Value = serde_json::from_str(json.as_deref()?).ok()?;
        let s = v.get("status")?.as_str()?.to_string();
        let note = v
            .get("note")
            .and_then(|n| n.as_str())
            .unwrap_or("")
            .to_string();
        Some((s, note))
    };
    let (from, _) = status(&e.before)?;
    let (to, note) = status(&e.after)?;
    let word = |prefix: &str, code: &str| {
        ctx.locale
            .try_t(&format!("{prefix}.{code}"))
            .unwrap_or_else(|| code.to_string())
    };
    let action = e
        .summary
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .filter(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    let mut text = match action {
        Some(a) => ctx.tf(
            "audit.transition_by",
            &[
                ("from", &word("orders.status", &from)),
                ("to", &word("orders.status", &to)),
                ("action", &word("orders.action", a)),
            ],
        ),
        None => ctx.tf(
            "audit.transition",
            &[
                ("from", &word("orders.status", &from)),
                ("to", &word("orders.status", &to)),
            ],
        ),
    };
    if !note.trim().is_empty() {
        text.push_str(" · ");
        text.push_str(note.trim());
    }
    Some(text)
}

/// `entries` with names, links and summaries for `ctx`'s reader.
pub async fn views(db: &Db, ctx: &PageCtx, entries: Vec<AuditEntry>) -> Result<Vec<EntryView>> {
    let names = Names::load(db, &entries).await?;
    Ok(entries
        .into_iter()
        .map(|entry| EntryView {
            actor: names.actor(ctx, &entry),
            entity: names.entity(ctx, &entry),
            summary: summary(ctx, &entry),
            entry,
        })
        .collect())
}
