//! Finding the user behind a session cookie or an API token. The tokens
//! themselves are made and revoked by `crate::auth`; the check that every
//! request goes through sits here, below the domains.

use sqlx::Row;
use weiops_core::accounts::{SessionPolicy, UserStatus};

use super::principal::UserAuthRow;
use super::secrets::secret_hash;
use crate::db::Db;

/// The browser session cookie.
pub const SESSION_COOKIE: &str = "weiops_session";

/// Every API token starts with this, so a leaked one is recognisable in
/// logs and secret scanners.
pub const TOKEN_PREFIX: &str = "wops_";

/// The live session for `token` and its user; `None` when unknown, revoked,
/// expired, or the user is disabled.
pub async fn session_user(
    db: &Db,
    policy: &SessionPolicy,
    token: &str,
    now: i64,
) -> crate::Result<Option<(i64, UserAuthRow)>> {
    let row = sqlx::query(
        "SELECT s.id AS session_id, s.created_at, s.last_seen_at, u.id AS user_id, u.username, u.display_name, \
         u.status, u.must_change_password, u.locale, d.path AS department_path \
         FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN departments d ON d.id = u.department_id \
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
    )
    .bind(secret_hash(token))
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let session_id: i64 = row.try_get("session_id")?;
    let created: i64 = row.try_get("created_at")?;
    let last_seen: i64 = row.try_get("last_seen_at")?;
    let user = UserAuthRow::from_row(&row)?;
    if user.status != UserStatus::Active || !policy.is_alive(created, last_seen, now) {
        return Ok(None);
    }
    if policy.needs_touch(last_seen, now) {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(session_id)
            .execute(&db.pool)
            .await?;
    }
    Ok(Some((session_id, user)))
}

/// The token's id, its user and the user's roles (rows of
/// `principal::ROLES_COLUMNS`) for a bearer secret, in one read;
/// `None` when unknown, revoked, or the user is disabled.
pub async fn token_user(
    db: &Db,
    secret: &str,
    now: i64,
) -> crate::Result<Option<(i64, UserAuthRow, Vec<sqlx::any::AnyRow>)>> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let rows = crate::db::dynamic(format!(
        "SELECT t.id AS token_id, t.last_used_at, u.id AS user_id, u.username, u.display_name, u.status, \
         u.must_change_password, u.locale, d.path AS department_path, {} \
         FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN departments d ON d.id = u.department_id {} \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        super::principal::ROLES_COLUMNS,
        super::principal::ROLES_JOIN
    ))
    .bind(secret_hash(secret))
    .fetch_all(&db.pool)
    .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let token_id: i64 = row.try_get("token_id")?;
    let last_used: Option<i64> = row.try_get("last_used_at")?;
    let user = UserAuthRow::from_row(row)?;
    if user.status != UserStatus::Active {
        return Ok(None);
    }
    // Recorded at most once a minute: precise enough, and it keeps reads
    // from turning into writes under load.
    // Behind the write gate like every busy writer: outside it, under a
    // stream of orders, it waited up to a second in SQLite's busy handler.
    if last_used.is_none_or(|t| now - t >= 60_000) {
        let mut tx = db.begin_write().await?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(token_id)
            .execute(&mut **tx)
            .await?;
        tx.commit().await?;
    }
    Ok(Some((token_id, user, rows)))
}
