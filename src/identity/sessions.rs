//! Browser sessions: a random token in an HttpOnly cookie, its hash in the
//! `sessions` table.

use serde::Serialize;
use sqlx::Row;
use weiops_core::accounts::SessionPolicy;

use crate::db::{Db, now_ms};
use crate::identity::{random_secret, secret_hash};

pub use crate::identity::credentials::SESSION_COOKIE;

/// Starts a session and returns the token for the cookie.
pub async fn create(db: &Db, user_id: i64, ip: &str, user_agent: &str) -> crate::Result<String> {
    let token = random_secret();
    let now = now_ms();
    let ua: String = user_agent.chars().take(300).collect();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, ip, user_agent) \
         VALUES ($1, $2, $3, $3, $4, $5)",
    )
    .bind(secret_hash(&token))
    .bind(user_id)
    .bind(now)
    .bind(ip)
    .bind(ua)
    .execute(&db.pool)
    .await?;
    Ok(token)
}

pub async fn revoke(db: &Db, session_id: i64) -> crate::Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(session_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Ends a user's sessions, all of them or all but `keep`; returns how many.
pub async fn revoke_all(db: &Db, user_id: i64, keep: Option<i64>) -> crate::Result<u64> {
    let res = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3")
        .bind(now_ms())
        .bind(user_id)
        .bind(keep.unwrap_or(-1))
        .execute(&db.pool)
        .await?;
    Ok(res.rows_affected())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: String,
    pub user_agent: String,
    pub current: bool,
}

/// A user's live sessions, newest first.
pub async fn list(
    db: &Db,
    policy: &SessionPolicy,
    user_id: i64,
    current: Option<i64>,
) -> crate::Result<Vec<SessionInfo>> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT id, created_at, last_seen_at, ip, user_agent FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL AND created_at > $2 ORDER BY last_seen_at DESC",
    )
    .bind(user_id)
    .bind(now - policy.absolute_ms)
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let s = SessionInfo {
            id: r.try_get("id")?,
            created_at: r.try_get("created_at")?,
            last_seen_at: r.try_get("last_seen_at")?,
            ip: r.try_get("ip")?,
            user_agent: r.try_get("user_agent")?,
            current: false,
        };
        if policy.is_alive(s.created_at, s.last_seen_at, now) {
            out.push(SessionInfo {
                current: Some(s.id) == current,
                ..s
            });
        }
    }
    Ok(out)
}

/// Live sessions across all users (dashboard figure).
pub async fn count_live(db: &Db, policy: &SessionPolicy) -> crate::Result<i64> {
    let now = now_ms();
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.revoked_at IS NULL AND u.status = 'active' AND s.created_at > $1 AND s.last_seen_at > $2",
    )
    .bind(now - policy.absolute_ms)
    .bind(now - policy.idle_ms)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    Ok(n)
}
