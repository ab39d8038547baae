//! The agent portal's sessions and passwords: the SQL behind signing in and
//! out, the session a cookie opens, the staff's reset of an agent's portal
//! password and the agent's own change of it. The handlers in
//! `super::portal` only parse, call these and render.
//!
//! A password change is one transaction through the write gate that also
//! ends the agent's other sessions and writes the audit entry, like the
//! staff's own (`crate::users::store::change_password`).

use sqlx::Row;
use weiops_core::accounts::{LoginGuard, SessionPolicy, check_password, normalize_phone};

use super::store::{self, Agent};
use crate::audit::{self, Actor, Change};
use crate::db::{Db, now_ms};
use crate::error::FieldErrors;
use crate::identity::{password, random_password, random_secret, secret_hash, throttle};
use crate::{Error, Result};

/// The live session a portal cookie's token opens, touched when it is due:
/// `(session id, agent id, must change password)`; `None` when the token
/// is unknown, revoked or expired, or the agent was terminated.
pub async fn authenticate(db: &Db, token: &str, now: i64) -> Result<Option<(i64, i64, bool)>> {
    let row = sqlx::query(
        "SELECT s.id, s.agent_id, s.created_at, s.last_seen_at, a.status, a.must_change_password \
         FROM agent_sessions s JOIN agents a ON a.id = s.agent_id WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
    )
    .bind(secret_hash(token))
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let (id, agent_id): (i64, i64) = (r.try_get("id")?, r.try_get("agent_id")?);
    let policy = SessionPolicy::default();
    let (created, seen): (i64, i64) = (r.try_get("created_at")?, r.try_get("last_seen_at")?);
    if r.try_get::<String, _>("status")? == "terminated" || !policy.is_alive(created, seen, now) {
        return Ok(None);
    }
    if policy.needs_touch(seen, now) {
        sqlx::query("UPDATE agent_sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&db.pool)
            .await?;
    }
    Ok(Some((
        id,
        agent_id,
        r.try_get::<i64, _>("must_change_password")? != 0,
    )))
}

/// Sets a new random portal password for an agent (staff action); the agent
/// must change it at first sign-in. Returns the password, shown once.
pub async fn reset_password(db: &Db, actor: &Actor, agent_id: i64) -> Result<String> {
    let agent = store::get(db, agent_id).await?;
    if agent.phone.is_empty() {
        return Err(Error::Refused("portal.needs_phone"));
    }
    let new = random_password();
    let hash = password::hash(new.clone()).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE agents SET password_hash = $1, must_change_password = 1, failed_logins = 0, locked_until = NULL WHERE id = $2")
        .bind(&hash)
        .bind(agent_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE agent_sessions SET revoked_at = $1 WHERE agent_id = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(agent_id)
    .execute(&mut **tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("agent.reset_password", "agent", agent_id).summary(agent.code.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// Checks an agent's phone and password (throttled per IP, the account
/// locked after repeated failures) and opens a session; returns its token,
/// of which only the hash is stored.
pub async fn sign_in(db: &Db, phone: &str, pw: &str, ip: &str) -> Result<String> {
    let now = now_ms();
    let key = format!("agent-login:{ip}");
    if throttle::exhausted(db, &key, throttle::FAILED_LOGINS_PER_IP, now).await? {
        return Err(Error::TooManyAttempts);
    }
    let phone = normalize_phone(phone).ok().flatten().unwrap_or_default();
    let row = sqlx::query(
        "SELECT id, code, password_hash, status, failed_logins, locked_until FROM agents WHERE phone = $1 AND phone <> '' AND password_hash IS NOT NULL",
    )
    .bind(&phone)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else {
        let _ = password::verify(pw.to_string(), password::DUMMY_HASH.clone()).await?;
        throttle::hit(db, &key, throttle::FAILED_LOGINS_PER_IP, now).await?;
        return Err(Error::InvalidCredentials);
    };
    let id: i64 = r.try_get("id")?;
    let guard = LoginGuard {
        failed_logins: r.try_get("failed_logins")?,
        locked_until_ms: r.try_get("locked_until")?,
    };
    if guard.is_locked(now) {
        return Err(Error::AccountLocked);
    }
    let stored: String = r
        .try_get::<Option<String>, _>("password_hash")?
        .unwrap_or_default();
    if !password::verify(pw.to_string(), stored).await? {
        throttle::hit(db, &key, throttle::FAILED_LOGINS_PER_IP, now).await?;
        let next = guard.after_failure(now);
        sqlx::query("UPDATE agents SET failed_logins = $1, locked_until = $2 WHERE id = $3")
            .bind(next.failed_logins)
            .bind(next.locked_until_ms)
            .bind(id)
            .execute(&db.pool)
            .await?;
        return Err(if next.is_locked(now) {
            Error::AccountLocked
        } else {
            Error::InvalidCredentials
        });
    }
    if r.try_get::<String, _>("status")? == "terminated" {
        return Err(Error::AccountDisabled);
    }
    sqlx::query("UPDATE agents SET failed_logins = 0, locked_until = NULL WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    let token = random_secret();
    sqlx::query("INSERT INTO agent_sessions (token_hash, agent_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)")
        .bind(secret_hash(&token))
        .bind(id)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(token)
}

/// Ends the session of a portal cookie's token (signing out).
pub async fn sign_out(db: &Db, token: &str) -> Result<()> {
    sqlx::query("UPDATE agent_sessions SET revoked_at = $1 WHERE token_hash = $2")
        .bind(now_ms())
        .bind(secret_hash(token))
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The agent changes their own portal password (`current` checked, `new`
/// by the same rules as staff passwords, typed twice). The new hash, the
/// end of the agent's other sessions (`keep_session` stays signed in) and
/// the audit entry are written in one transaction; field problems are
/// `Error::Validation` and nothing changes.
#[tracing::instrument(skip_all, fields(agent = agent.id))]
pub async fn change_password(
    db: &Db,
    actor: &Actor,
    agent: &Agent,
    keep_session: i64,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<()> {
    let stored: Option<String> = sqlx::query("SELECT password_hash FROM agents WHERE id = $1")
        .bind(agent.id)
        .fetch_one(&db.pool)
        .await?
        .try_get("password_hash")?;
    let mut errors = FieldErrors::default();
    if !password::verify(current.to_string(), stored.unwrap_or_default()).await? {
        errors.add("current", "account.current_wrong");
    }
    if let Err(e) = check_password(new, &agent.phone) {
        errors.invalid("new", e);
    } else if new == current {
        errors.add("new", "account.same_password");
    }
    if new != confirm {
        errors.add("confirm", "account.mismatch");
    }
    errors.into_result()?;
    let hash = password::hash(new.to_string()).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE agents SET password_hash = $1, must_change_password = 0 WHERE id = $2")
        .bind(&hash)
        .bind(agent.id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE agent_sessions SET revoked_at = $1 WHERE agent_id = $2 AND id <> $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(agent.id)
        .bind(keep_session)
        .execute(&mut **tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("agent.change_password", "agent", agent.id).summary(agent.code.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
