//! 授权书 (authorisation certificates): issued on approval and to every
//! active agent an import brings in, re-issued on a level change, revoked
//! with the agent. The QR code on the printed certificate carries a signed
//! token, so a forged or altered QR is recognised by the public 授权查询 page.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use sqlx::Row;

use crate::db::{Db, Tx, now_ms};
use crate::{Error, Result};

/// How long a certificate is valid.
pub const VALIDITY_MS: i64 = 365 * 24 * 3_600_000;

/// `SQ00000123-1`: the agent's id and how many certificates it has had.
pub fn number(agent_id: i64, nth: i64) -> String {
    format!("SQ{agent_id:08}-{nth}")
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Certificate {
    pub id: i64,
    pub cert_no: String,
    pub agent_id: i64,
    pub level: i64,
    pub name: String,
    pub wechat: String,
    pub phone: String,
    pub region: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub issued_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    Valid,
    Expired,
    Revoked,
}

impl Certificate {
    pub fn validity(&self, now: i64) -> Validity {
        if self.revoked_at.is_some() {
            Validity::Revoked
        } else if now >= self.valid_until {
            Validity::Expired
        } else {
            Validity::Valid
        }
    }
}

const COLUMNS: &str = "SELECT id, cert_no, agent_id, level, name, wechat, phone, region, valid_from, valid_until, issued_at, revoked_at FROM agent_certificates";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Certificate, sqlx::Error> {
    Ok(Certificate {
        id: r.try_get("id")?,
        cert_no: r.try_get("cert_no")?,
        agent_id: r.try_get("agent_id")?,
        level: r.try_get("level")?,
        name: r.try_get("name")?,
        wechat: r.try_get("wechat")?,
        phone: r.try_get("phone")?,
        region: r.try_get("region")?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
        issued_at: r.try_get("issued_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

/// Issues the first certificate of every active agent with an id in
/// `first..=last` (a fresh import), in one statement on the database side.
/// The number is `SQ` + the zero-padded id + `-1`, as [`number`] makes it.
pub(crate) async fn issue_range(tx: &mut Tx<'_>, first: i64, last: i64, now: i64) -> Result<usize> {
    let res = sqlx::query(
        "INSERT INTO agent_certificates (cert_no, agent_id, level, name, wechat, phone, region, valid_from, valid_until, issued_at) \
         SELECT 'SQ' || SUBSTR('00000000' || CAST(id AS TEXT), LENGTH(CAST(id AS TEXT)) + 1, 8) || '-1', id, level, name, wechat, phone, province || city, $1, $2, $1 \
         FROM agents WHERE id BETWEEN $3 AND $4 AND status = 'active' AND id < 100000000",
    )
    .bind(now)
    .bind(now + VALIDITY_MS)
    .bind(first)
    .bind(last)
    .execute(&mut **tx)
    .await?;
    // Ids beyond eight digits keep their full width.
    let wide = sqlx::query(
        "INSERT INTO agent_certificates (cert_no, agent_id, level, name, wechat, phone, region, valid_from, valid_until, issued_at) \
         SELECT 'SQ' || CAST(id AS TEXT) || '-1', id, level, name, wechat, phone, province || city, $1, $2, $1 \
         FROM agents WHERE id BETWEEN $3 AND $4 AND status = 'active' AND id >= 100000000",
    )
    .bind(now)
    .bind(now + VALIDITY_MS)
    .bind(first)
    .bind(last)
    .execute(&mut **tx)
    .await?;
    Ok((res.rows_affected() + wide.rows_affected()) as usize)
}

/// Issues a new certificate for an agent as it stands now, revoking the
/// current one (level change, approval).
pub(crate) async fn reissue(tx: &mut Tx<'_>, agent_id: i64, reason: &str) -> Result<String> {
    let now = now_ms();
    let agent =
        sqlx::query("SELECT level, name, wechat, phone, province, city FROM agents WHERE id = $1")
            .bind(agent_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(Error::NotFound)?;
    sqlx::query("UPDATE agent_certificates SET revoked_at = $1, revoke_reason = $2 WHERE agent_id = $3 AND revoked_at IS NULL")
        .bind(now)
        .bind(reason)
        .bind(agent_id)
        .execute(&mut **tx)
        .await?;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM agent_certificates WHERE agent_id = $1")
        .bind(agent_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    let cert_no = number(agent_id, n + 1);
    let province: String = agent.try_get("province")?;
    let city: String = agent.try_get("city")?;
    sqlx::query(
        "INSERT INTO agent_certificates (cert_no, agent_id, level, name, wechat, phone, region, valid_from, valid_until, issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8)",
    )
    .bind(&cert_no)
    .bind(agent_id)
    .bind(agent.try_get::<i64, _>("level")?)
    .bind(agent.try_get::<String, _>("name")?)
    .bind(agent.try_get::<String, _>("wechat")?)
    .bind(agent.try_get::<String, _>("phone")?)
    .bind(format!("{province}{city}"))
    .bind(now)
    .bind(now + VALIDITY_MS)
    .execute(&mut **tx)
    .await?;
    Ok(cert_no)
}

/// Revokes an agent's current certificate (terminated agents).
pub(crate) async fn revoke(tx: &mut Tx<'_>, agent_id: i64, reason: &str) -> Result<()> {
    sqlx::query("UPDATE agent_certificates SET revoked_at = $1, revoke_reason = $2 WHERE agent_id = $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(reason)
        .bind(agent_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The agent's newest certificate.
pub async fn latest(db: &Db, agent_id: i64) -> Result<Option<Certificate>> {
    let row = crate::db::dynamic(format!(
        "{COLUMNS} WHERE agent_id = $1 ORDER BY issued_at DESC, id DESC LIMIT 1"
    ))
    .bind(agent_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Public lookup by certificate number, WeChat id or phone: the newest
/// certificate of the matching agent.
pub async fn lookup(db: &Db, q: &str) -> Result<Option<Certificate>> {
    let q = q.trim();
    if q.is_empty() || q.chars().count() > 64 {
        return Ok(None);
    }
    let by_no = crate::db::dynamic(format!("{COLUMNS} WHERE cert_no = $1"))
        .bind(q)
        .fetch_optional(&db.pool)
        .await?;
    if let Some(r) = by_no {
        return Ok(Some(from_row(&r)?));
    }
    let agent = sqlx::query("SELECT id FROM agents WHERE (wechat = $1 AND wechat <> '') OR (phone = $1 AND phone <> '') LIMIT 1")
        .bind(q)
        .fetch_optional(&db.pool)
        .await?;
    match agent {
        Some(a) => latest(db, a.try_get("id")?).await,
        None => Ok(None),
    }
}

/// The signing key, created on first use and shared by every server.
async fn key(db: &Db) -> Result<Vec<u8>> {
    let existing = sqlx::query("SELECT value FROM app_secrets WHERE name = 'certificate_key'")
        .fetch_optional(&db.pool)
        .await?;
    if let Some(r) = existing {
        return Ok(r.try_get::<String, _>("value")?.into_bytes());
    }
    let fresh = crate::identity::random_secret();
    sqlx::query("INSERT INTO app_secrets (name, value) VALUES ('certificate_key', $1) ON CONFLICT (name) DO NOTHING")
        .bind(&fresh)
        .execute(&db.pool)
        .await?;
    let r = sqlx::query("SELECT value FROM app_secrets WHERE name = 'certificate_key'")
        .fetch_one(&db.pool)
        .await?;
    Ok(r.try_get::<String, _>("value")?.into_bytes())
}

fn mac(key: &[u8], cert_no: &str, valid_until: i64) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(cert_no.as_bytes());
    m.update(b"|");
    m.update(valid_until.to_string().as_bytes());
    m
}

/// The token in a certificate's QR code: an HMAC of its number and expiry.
pub async fn token(db: &Db, c: &Certificate) -> Result<String> {
    let k = key(db).await?;
    let tag = mac(&k, &c.cert_no, c.valid_until).finalize().into_bytes();
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag[..16]))
}

/// Whether `token` was made by us for this certificate (constant-time).
pub async fn token_matches(db: &Db, c: &Certificate, token: &str) -> Result<bool> {
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()) else {
        return Ok(false);
    };
    let k = key(db).await?;
    Ok(mac(&k, &c.cert_no, c.valid_until)
        .verify_truncated_left(&bytes)
        .is_ok())
}
