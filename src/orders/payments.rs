//! Offline transfers agents send head office (线下转账): the payment of one
//! order, or a top-up of the prepaid balance (货款余额). The agent (portal)
//! or staff records it with a reference and an optional proof image;
//! finance confirms (the order is paid, or the balance credited, and the
//! money booked) or rejects it with a reason.
//!
//! In `orders` because confirming pays the order (`purchase::mark_paid`)
//! and the portal's order page lists them; finance's review page
//! (`crate::finance::payment_pages`) sits above and calls in here.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::ledger::{EntryLine, accounts};
use weiops_core::money::Fen;
use weiops_core::paging::{PageInfo, PageRequest};

use super::purchase::{self, PaidWith};
use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, Where, fetch_page, now_ms};
use crate::ledger::{self, NewEntry};
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: i64,
    pub agent_id: i64,
    pub agent_code: String,
    pub agent_name: String,
    /// The order paid, or none for a top-up.
    pub order_no: Option<String>,
    pub amount_fen: i64,
    pub reference: String,
    pub has_proof: bool,
    /// `pending`, `confirmed`, `rejected`.
    pub status: String,
    pub reason: Option<String>,
    pub created_at: i64,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<i64>,
}

impl Payment {
    pub fn tag(&self) -> &'static str {
        match self.status.as_str() {
            "confirmed" => "success",
            "rejected" => "danger",
            _ => "warning",
        }
    }
}

/// A transfer as recorded.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewPayment {
    pub agent_id: i64,
    /// Pay this order (its amount); empty for a top-up.
    #[serde(default)]
    pub order_no: Option<String>,
    /// For a top-up; ignored for an order (its amount is used).
    #[serde(default)]
    pub amount_fen: i64,
    #[serde(default)]
    pub reference: String,
}

/// Accepted proof images: PNG, JPEG, WebP up to 5 MB, by their bytes.
pub fn proof_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() > 5 * 1024 * 1024 {
        return None;
    }
    crate::web::image_kind(bytes).map(|(_, content_type)| content_type)
}

/// Records a transfer waiting for finance. The proof image is stored in
/// the database (one small image per payment) so any app server can show it.
#[tracing::instrument(skip(db, actor, proof))]
pub async fn submit(
    db: &Db,
    actor: &Actor,
    input: &NewPayment,
    proof: Option<&[u8]>,
) -> Result<i64> {
    let mut errors = crate::error::FieldErrors::default();
    if input.reference.trim().chars().count() > 100 {
        errors.add("reference", "field.too_long");
    }
    let proof = match proof.filter(|p| !p.is_empty()) {
        Some(p) => {
            if proof_kind(p).is_none() {
                errors.add("proof", "payments.bad_proof");
            }
            Some(p)
        }
        None => None,
    };
    let (order_id, amount) = match input
        .order_no
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(no) => {
            let order = purchase::head(db, no).await?;
            if order.agent_id != input.agent_id {
                return Err(Error::NotFound);
            }
            if order.status != weiops_core::purchase::OrderState::PendingPayment {
                return Err(Error::Conflict("orders.transition_refused"));
            }
            (Some(order.id), order.amount_fen)
        }
        None => {
            if !(1..=100_000_000_000).contains(&input.amount_fen) {
                errors.add("amount", "payments.bad_amount");
            }
            (None, input.amount_fen)
        }
    };
    errors.into_result()?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO payments (agent_id, order_id, amount_fen, proof, reference, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
    )
    .bind(input.agent_id)
    .bind(order_id)
    .bind(amount)
    .bind(proof.map(|p| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, p)))
    .bind(input.reference.trim())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    audit::record(
        &mut tx,
        actor,
        Change::new("payment.submit", "payment", id).summary(format!(
            "{} {}",
            if order_id.is_some() {
                "order"
            } else {
                "top-up"
            },
            Fen(amount)
        )),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Finance confirms a pending transfer: the order is paid, or the balance
/// credited (Dr 1002 bank / Cr 2203 agent), in one transaction.
#[tracing::instrument(skip(db, actor))]
pub async fn confirm(db: &Db, actor: &Actor, id: i64) -> Result<()> {
    let p = get(db, id).await?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "UPDATE payments SET status = 'confirmed', decided_by = $1, decided_by_name = $2, decided_at = $3 \
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if res.rows_affected() != 1 {
        return Err(Error::Conflict("payments.already_decided"));
    }
    match &p.order_no {
        Some(no) => {
            let order = purchase::head(db, no).await?;
            purchase::mark_paid(&mut tx, db.engine, actor, &order, PaidWith::Transfer).await?;
        }
        None => {
            ledger::post(
                &mut tx,
                db.engine,
                actor,
                NewEntry {
                    at: now,
                    memo: format!("代理 {} 货款充值（转账 {}）", p.agent_code, p.reference),
                    source: "payment",
                    source_id: id.to_string(),
                    lines: vec![
                        EntryLine::debit(accounts::BANK, None, Fen(p.amount_fen)),
                        EntryLine::credit(
                            accounts::AGENT_PREPAYMENTS,
                            Some(p.agent_id),
                            Fen(p.amount_fen),
                        ),
                    ],
                    guard_wallets: false,
                },
            )
            .await?;
        }
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("payment.confirm", "payment", id)
            .summary(format!("{} confirmed", Fen(p.amount_fen))),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Finance rejects a pending transfer with a reason.
pub async fn reject(db: &Db, actor: &Actor, id: i64, reason: &str) -> Result<()> {
    let reason = crate::error::required_reason(reason, "payments.reason_required")?;
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "UPDATE payments SET status = 'rejected', reason = $1, decided_by = $2, decided_by_name = $3, decided_at = $4 \
         WHERE id = $5 AND status = 'pending'",
    )
    .bind(reason)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if res.rows_affected() != 1 {
        return Err(Error::Conflict("payments.already_decided"));
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("payment.reject", "payment", id).summary(reason.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

const SELECT: &str = "SELECT p.id, p.agent_id, a.code, a.name, o.order_no, p.amount_fen, p.reference, \
     CASE WHEN p.proof IS NULL THEN 0 ELSE 1 END AS has_proof, p.status, p.reason, p.created_at, p.decided_by_name, p.decided_at";
const FROM: &str =
    "FROM payments p JOIN agents a ON a.id = p.agent_id LEFT JOIN orders o ON o.id = p.order_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Payment> {
    Ok(Payment {
        id: r.try_get("id")?,
        agent_id: r.try_get("agent_id")?,
        agent_code: r.try_get("code")?,
        agent_name: r.try_get("name")?,
        order_no: r.try_get("order_no")?,
        amount_fen: r.try_get("amount_fen")?,
        reference: r.try_get("reference")?,
        has_proof: r.try_get::<i64, _>("has_proof")? == 1,
        status: r.try_get("status")?,
        reason: r.try_get("reason")?,
        created_at: r.try_get("created_at")?,
        decided_by_name: r.try_get("decided_by_name")?,
        decided_at: r.try_get("decided_at")?,
    })
}

pub async fn get(db: &Db, id: i64) -> Result<Payment> {
    let mut w = Where::new();
    w.and("p.id = ?", [BindValue::Int(id)]);
    let row = w
        .bind(crate::db::dynamic(format!("{SELECT} {FROM}{}", w.sql())))
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// Payments, newest first; `status` and `agent_id` filter.
pub async fn list(
    db: &Db,
    status: Option<&str>,
    agent_id: Option<i64>,
    page: PageRequest,
) -> Result<(Vec<Payment>, PageInfo)> {
    let mut w = Where::new();
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        w.and("p.status = ?", [BindValue::Text(s.to_string())]);
    }
    if let Some(a) = agent_id {
        w.and("p.agent_id = ?", [BindValue::Int(a)]);
    }
    let (rows, info) = fetch_page(db, SELECT, FROM, &w, "p.id DESC", page).await?;
    Ok((rows.iter().map(from_row).collect::<Result<_>>()?, info))
}

/// The proof image and its content type.
pub async fn proof(db: &Db, id: i64) -> Result<(Vec<u8>, &'static str)> {
    let raw: Option<String> = sqlx::query("SELECT proof FROM payments WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?
        .try_get("proof")?;
    let bytes = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        raw.ok_or(Error::NotFound)?,
    )
    .map_err(|_| Error::NotFound)?;
    let kind = proof_kind(&bytes).ok_or(Error::NotFound)?;
    Ok((bytes, kind))
}
