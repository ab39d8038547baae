//! API tokens: created by a user for themself, shown once, stored hashed,
//! revocable, with the time they were last used.

use serde::Serialize;
use sqlx::Row;

use crate::audit::{self, Actor, Change};
use crate::db::{Db, now_ms};
use crate::error::FieldErrors;
use crate::identity::{random_secret, secret_hash};

pub use crate::identity::credentials::TOKEN_PREFIX;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, to tell tokens apart.
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub fn validate_name(name: &str) -> crate::Result<String> {
    let name = name.trim();
    let mut errors = FieldErrors::default();
    if name.is_empty() {
        errors.add("name", "field.required");
    } else if name.chars().count() > 64 {
        errors.add("name", "field.too_long");
    }
    errors.into_result()?;
    Ok(name.to_string())
}

/// Creates a token for `user_id`; returns its id and the secret, which is
/// never shown again.
pub async fn create(
    db: &Db,
    actor: &Actor,
    user_id: i64,
    name: &str,
) -> crate::Result<(i64, String)> {
    let name = validate_name(name)?;
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
    let prefix: String = secret.chars().take(TOKEN_PREFIX.len() + 6).collect();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(&name)
    .bind(secret_hash(&secret))
    .bind(&prefix)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    audit::record(
        &mut tx,
        actor,
        Change::new("token.create", "api_token", id)
            .summary(format!("{name} ({prefix}…) for user #{user_id}"))
            .after(serde_json::json!({"name": name, "prefix": prefix, "user_id": user_id})),
    )
    .await?;
    tx.commit().await?;
    Ok((id, secret))
}

pub async fn list(db: &Db, user_id: i64) -> crate::Result<Vec<TokenInfo>> {
    let rows = sqlx::query(
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens \
         WHERE user_id = $1 ORDER BY revoked_at IS NOT NULL, created_at DESC",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                prefix: r.try_get("prefix")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(Into::into)
}

/// Revokes one of `user_id`'s tokens. Unknown or someone else's token: not found.
pub async fn revoke(db: &Db, actor: &Actor, user_id: i64, token_id: i64) -> crate::Result<()> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "SELECT name, prefix, revoked_at FROM api_tokens WHERE id = $1 AND user_id = $2",
    )
    .bind(token_id)
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(crate::Error::NotFound)?;
    let revoked: Option<i64> = row.try_get("revoked_at")?;
    if revoked.is_some() {
        return Ok(());
    }
    let name: String = row.try_get("name")?;
    let prefix: String = row.try_get("prefix")?;
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(token_id)
        .execute(&mut **tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("token.revoke", "api_token", token_id).summary(format!("{name} ({prefix}…)")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
