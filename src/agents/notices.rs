//! Notices to an agent (`agent_notices`), shown on the portal home until
//! the agent marks them read: today "your order shipped", written by
//! shipping in the transaction that ships the parcel. The inbox belongs to
//! the agent, so the domains that notify call down into it and the portal
//! home needs no import of theirs.

use serde::Serialize;
use sqlx::Row;

use crate::Result;
use crate::db::{Db, Tx, now_ms};

/// Adds a notice for an agent inside the caller's transaction.
pub async fn add(
    tx: &mut Tx<'_>,
    agent_id: i64,
    kind: &str,
    message: &str,
    ref_no: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO agent_notices (agent_id, kind, message, ref_no, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(agent_id)
    .bind(kind)
    .bind(message)
    .bind(ref_no)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub id: i64,
    pub kind: String,
    pub message: String,
    pub ref_no: String,
    pub created_at: i64,
}

/// The agent's latest unread notices (at most `limit`).
pub async fn unread(db: &Db, agent_id: i64, limit: i64) -> Result<Vec<Notice>> {
    let rows = sqlx::query(
        "SELECT id, kind, message, ref_no, created_at FROM agent_notices \
         WHERE agent_id = $1 AND read_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(agent_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Notice {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                message: r.try_get("message")?,
                ref_no: r.try_get("ref_no")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// The agent has seen every notice so far; returns how many were unread.
pub async fn mark_read(db: &Db, agent_id: i64) -> Result<u64> {
    Ok(
        sqlx::query(
            "UPDATE agent_notices SET read_at = $1 WHERE agent_id = $2 AND read_at IS NULL",
        )
        .bind(now_ms())
        .bind(agent_id)
        .execute(&db.pool)
        .await?
        .rows_affected(),
    )
}
