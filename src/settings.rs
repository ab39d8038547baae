//! App settings (`app_settings`): named values head office sets, such as
//! how agent applications are approved or how long unpaid orders hold
//! their stock. Each domain owns the meaning and the checks of its values;
//! here they are only read and written, every change audited.

use crate::Result;
use crate::audit::{self, Actor, Change};
use crate::db::Db;

pub mod brand;

/// The stored value of `name`, if it was ever set.
pub async fn get(db: &Db, name: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM app_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Stores `value` as `name` and audits the change from `before` (the value
/// in force, as the caller reads it: a default when never set).
pub async fn set(db: &Db, actor: &Actor, name: &str, before: &str, value: &str) -> Result<()> {
    let change = Change::new("settings.update", "settings", name)
        .summary(format!("{before} -> {value}"))
        .before(serde_json::json!({ name: before }))
        .after(serde_json::json!({ name: value }));
    store(db, actor, name, value, change).await
}

/// Stores a structured value (JSON) as `name`; the audit entry carries the
/// whole `before` and `after` as JSON, and `summary` says what changed.
pub async fn set_json(
    db: &Db,
    actor: &Actor,
    name: &str,
    summary: &str,
    before: &serde_json::Value,
    after: &serde_json::Value,
) -> Result<()> {
    let change = Change::new("settings.update", "settings", name)
        .summary(summary)
        .before(before.clone())
        .after(after.clone());
    store(db, actor, name, &after.to_string(), change).await
}

/// Writes `value` as `name` with its audit entry, in one transaction.
async fn store(db: &Db, actor: &Actor, name: &str, value: &str, change: Change) -> Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO app_settings (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = $2",
    )
    .bind(name)
    .bind(value)
    .execute(&mut **tx)
    .await?;
    audit::record(&mut tx, actor, change).await?;
    tx.commit().await?;
    Ok(())
}
