//! Agent withdrawals (提现) from the wallet (account 2242).
//!
//! request → Dr 2242(agent) / Cr 2243(agent), guarded so no wallet goes
//!           below zero however many requests arrive at once;
//! paid    → Dr 2243(agent) amount / Cr 1002 amount − fee / Cr 6051 fee;
//! rejected→ Dr 2243(agent) / Cr 2242(agent): the money is back.
//!
//! Each step changes the withdrawal row, posts its entry and records the
//! audit entry in one transaction. Each transaction starts with its write
//! (a conditional INSERT or UPDATE), so on SQLite it takes the write lock
//! first and never has to upgrade a read snapshot.

use serde::Serialize;
use sqlx::Row;
use weiops_core::ledger::{EntryLine, accounts};
use weiops_core::money::Fen;
use weiops_core::paging::{PageInfo, PageRequest};

use crate::audit::{self, Actor, Change};
use crate::db::{Db, Where, now_ms};
use crate::error::FieldErrors;
use crate::ledger::{self, NewEntry};
use crate::{Error, Result};

pub const STATUSES: [&str; 3] = ["pending", "paid", "rejected"];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Withdrawal {
    pub id: i64,
    pub agent_id: i64,
    pub agent_code: String,
    pub agent_name: String,
    pub amount_fen: i64,
    pub fee_fen: i64,
    /// What the agent receives: amount − fee.
    pub net_fen: i64,
    /// `pending`, `paid` or `rejected`.
    pub status: String,
    pub account_name: String,
    pub account_no: String,
    /// Transfer reference, once paid.
    pub reference: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
    pub requested_at: i64,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<i64>,
}

impl Withdrawal {
    /// The colour of the status tag.
    pub fn tag(&self) -> &'static str {
        match self.status.as_str() {
            "paid" => "tag-success",
            "rejected" => "tag-danger",
            _ => "tag-warning",
        }
    }

    pub fn masked(mut self) -> Withdrawal {
        self.agent_name = weiops_core::agents::mask_name(&self.agent_name);
        self
    }
}

#[derive(Debug, Clone, Default)]
pub struct WithdrawalFilter {
    pub status: Option<String>,
    /// `Some(-1)` for an unknown agent code: nothing matches.
    pub agent_id: Option<i64>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

fn where_clause(f: &WithdrawalFilter) -> Where {
    let mut w = Where::new();
    if let Some(s) = &f.status {
        w.and("w.status = ?", [s.as_str().into()]);
    }
    if let Some(id) = f.agent_id {
        w.and("w.agent_id = ?", [id.into()]);
    }
    if let Some(from) = f.from_ms {
        w.and("w.requested_at >= ?", [from.into()]);
    }
    if let Some(to) = f.to_ms {
        w.and("w.requested_at < ?", [to.into()]);
    }
    w
}

const COLUMNS: &str = "SELECT w.id, w.agent_id, a.code AS agent_code, a.name AS agent_name, w.amount_fen, w.fee_fen, \
     w.status, w.account_name, w.account_no, w.reference, w.reason, w.requested_at, w.decided_by_name, w.decided_at";
const FROM: &str = "FROM withdrawals w JOIN agents a ON a.id = w.agent_id";

fn from_row(r: &sqlx::any::AnyRow) -> std::result::Result<Withdrawal, sqlx::Error> {
    let amount: i64 = r.try_get("amount_fen")?;
    let fee: i64 = r.try_get("fee_fen")?;
    Ok(Withdrawal {
        id: r.try_get("id")?,
        agent_id: r.try_get("agent_id")?,
        agent_code: r.try_get("agent_code")?,
        agent_name: r.try_get("agent_name")?,
        amount_fen: amount,
        fee_fen: fee,
        net_fen: amount - fee,
        status: r.try_get("status")?,
        account_name: r.try_get("account_name")?,
        account_no: r.try_get("account_no")?,
        reference: r.try_get("reference")?,
        reason: r.try_get("reason")?,
        requested_at: r.try_get("requested_at")?,
        decided_by_name: r.try_get("decided_by_name")?,
        decided_at: r.try_get("decided_at")?,
    })
}

/// A page of requests, newest first.
pub async fn list(
    db: &Db,
    f: &WithdrawalFilter,
    page: PageRequest,
) -> Result<(Vec<Withdrawal>, PageInfo)> {
    let w = where_clause(f);
    let (rows, info) = crate::db::fetch_page(
        db,
        COLUMNS,
        FROM,
        &w,
        "w.requested_at DESC, w.id DESC",
        page,
    )
    .await?;
    Ok((
        rows.iter()
            .map(from_row)
            .collect::<std::result::Result<_, _>>()?,
        info,
    ))
}

/// Every matching request up to `limit`, for exports.
pub async fn list_all(db: &Db, f: &WithdrawalFilter, limit: i64) -> Result<Vec<Withdrawal>> {
    let w = where_clause(f);
    let sql = format!(
        "{COLUMNS} {FROM}{} ORDER BY w.requested_at DESC, w.id DESC LIMIT {}",
        w.sql(),
        w.next(1)
    );
    let rows = w
        .bind(crate::db::dynamic(sql))
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(from_row)
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

pub async fn get(db: &Db, id: i64) -> Result<Withdrawal> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE w.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(from_row(&row)?)
}

/// An agent's latest requests.
pub async fn for_agent(db: &Db, agent_id: i64, limit: i64) -> Result<Vec<Withdrawal>> {
    list_all(
        db,
        &WithdrawalFilter {
            agent_id: Some(agent_id),
            ..Default::default()
        },
        limit,
    )
    .await
}

/// A request as the agent (or finance on their behalf) makes it.
#[derive(Debug, Clone)]
pub struct NewWithdrawal {
    pub amount: Fen,
    pub account_name: String,
    pub account_no: String,
}

/// Checks a request without writing anything; returns the fee. Field
/// problems are a 422 (`errors` may already hold the form's own); a frozen
/// or terminated agent is refused (403).
pub async fn check(
    db: &Db,
    agent: &crate::agents::store::Agent,
    input: &NewWithdrawal,
    mut errors: FieldErrors,
) -> Result<Fen> {
    if agent.status != weiops_core::agents::AgentStatus::Active {
        return Err(Error::Refused("withdrawal.agent_not_active"));
    }
    let rules = crate::rewards::plan::current(db).await?.withdrawal;
    let amount = input.amount;
    if !errors.has("amount") {
        if amount.0 <= 0 {
            errors.add("amount", "withdrawal.amount_invalid");
        } else if amount.0 < rules.min_fen {
            errors.add("amount", "withdrawal.below_min");
        }
    }
    for (field, value) in [
        ("account_name", &input.account_name),
        ("account_no", &input.account_no),
    ] {
        if value.trim().is_empty() {
            errors.add(field, "field.required");
        } else if value.trim().chars().count() > 64 {
            errors.add(field, "field.too_long");
        }
    }
    // A clear message for the usual case; the guarded wallet UPDATE of
    // [`request`] is what keeps concurrent requests from overdrawing.
    if errors.is_empty() && amount > ledger::wallet_balance(&db.pool, agent.id).await? {
        errors.add("amount", "wallet.insufficient");
    }
    errors.into_result()?;
    Ok(rules.fee(amount))
}

/// Requests a withdrawal after [`check`]. A wallet that cannot cover it,
/// even because of a request committed a moment earlier, is a 409 and
/// nothing is written.
#[tracing::instrument(skip(db, actor, input, errors))]
pub async fn request(
    db: &Db,
    actor: &Actor,
    agent_id: i64,
    input: &NewWithdrawal,
    errors: FieldErrors,
) -> Result<i64> {
    let agent = crate::agents::store::get(db, agent_id).await?;
    let fee = check(db, &agent, input, errors).await?;
    let amount = input.amount;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    // The status is checked again by the write itself: a freeze that
    // committed since the read above wins.
    let id: i64 = match sqlx::query(
        "INSERT INTO withdrawals (agent_id, amount_fen, fee_fen, status, account_name, account_no, requested_at) \
         SELECT id, $2, $3, 'pending', $4, $5, $6 FROM agents WHERE id = $1 AND status = 'active' RETURNING id",
    )
    .bind(agent_id)
    .bind(amount.0)
    .bind(fee.0)
    .bind(input.account_name.trim())
    .bind(input.account_no.trim())
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?
    {
        Some(r) => r.try_get("id")?,
        None => return Err(Error::Refused("withdrawal.agent_not_active")),
    };
    ledger::post(
        &mut tx,
        db.engine,
        actor,
        NewEntry {
            at: now,
            memo: format!("提现申请 #{id} {}", agent.code),
            source: "withdrawal",
            source_id: id.to_string(),
            lines: vec![
                EntryLine::debit(accounts::AGENT_WALLETS, Some(agent_id), amount),
                EntryLine::credit(accounts::WITHDRAWALS_IN_PROCESS, Some(agent_id), amount),
            ],
            guard_wallets: true,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("withdrawal.request", "withdrawal", id)
            .summary(format!("{} {amount} (fee {fee})", agent.code))
            .after(serde_json::json!({
                "agent_id": agent_id, "amount_fen": amount.0, "fee_fen": fee.0,
                "account_name": input.account_name.trim(), "account_no": input.account_no.trim(),
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Moves a pending request to `status`; the first statement of the
/// transaction, so two people deciding at once cannot both win.
async fn decide(
    tx: &mut crate::db::Tx<'_>,
    actor: &Actor,
    id: i64,
    status: &str,
    reference: Option<&str>,
    reason: Option<&str>,
) -> Result<bool> {
    let res = sqlx::query(
        "UPDATE withdrawals SET status = $1, reference = $2, reason = $3, decided_by = $4, decided_by_name = $5, \
         decided_at = $6 WHERE id = $7 AND status = 'pending'",
    )
    .bind(status)
    .bind(reference)
    .bind(reason)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(res.rows_affected() == 1)
}

fn required(field: &str, value: &str, max: usize) -> Result<()> {
    let mut errors = FieldErrors::default();
    if value.trim().is_empty() {
        errors.add(field, "field.required");
    } else if value.trim().chars().count() > max {
        errors.add(field, "field.too_long");
    }
    errors.into_result()
}

/// Marks a pending request paid with the bank transfer's reference.
#[tracing::instrument(skip(db, actor))]
pub async fn pay(db: &Db, actor: &Actor, id: i64, reference: &str) -> Result<()> {
    required("reference", reference, 100)?;
    let mut tx = db.begin_write().await?;
    if !decide(&mut tx, actor, id, "paid", Some(reference.trim()), None).await? {
        drop(tx);
        get(db, id).await?;
        return Err(Error::Conflict("withdrawal.not_pending"));
    }
    let w = get_in(&mut tx, id).await?;
    let agent = Some(w.agent_id);
    let (amount, fee) = (Fen(w.amount_fen), Fen(w.fee_fen));
    let mut lines = vec![EntryLine::debit(
        accounts::WITHDRAWALS_IN_PROCESS,
        agent,
        amount,
    )];
    if amount.0 > fee.0 {
        lines.push(EntryLine::credit(
            accounts::BANK,
            None,
            Fen(amount.0 - fee.0),
        ));
    }
    if fee.0 > 0 {
        lines.push(EntryLine::credit(accounts::WITHDRAWAL_FEES, None, fee));
    }
    ledger::post(
        &mut tx,
        db.engine,
        actor,
        NewEntry {
            at: now_ms(),
            memo: format!("提现付款 #{id} {} {}", w.agent_code, reference.trim()),
            source: "withdrawal",
            source_id: id.to_string(),
            lines,
            guard_wallets: false,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("withdrawal.pay", "withdrawal", id)
            .summary(format!("{} {amount} ({})", w.agent_code, reference.trim()))
            .before(serde_json::json!({"status": "pending"}))
            .after(serde_json::json!({"status": "paid", "reference": reference.trim()})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Rejects a pending request; the amount goes back to the wallet.
#[tracing::instrument(skip(db, actor))]
pub async fn reject(db: &Db, actor: &Actor, id: i64, reason: &str) -> Result<()> {
    required("reason", reason, 200)?;
    let mut tx = db.begin_write().await?;
    if !decide(&mut tx, actor, id, "rejected", None, Some(reason.trim())).await? {
        drop(tx);
        get(db, id).await?;
        return Err(Error::Conflict("withdrawal.not_pending"));
    }
    let w = get_in(&mut tx, id).await?;
    let amount = Fen(w.amount_fen);
    ledger::post(
        &mut tx,
        db.engine,
        actor,
        NewEntry {
            at: now_ms(),
            memo: format!("提现驳回 #{id} {}", w.agent_code),
            source: "withdrawal",
            source_id: id.to_string(),
            lines: vec![
                EntryLine::debit(accounts::WITHDRAWALS_IN_PROCESS, Some(w.agent_id), amount),
                EntryLine::credit(accounts::AGENT_WALLETS, Some(w.agent_id), amount),
            ],
            guard_wallets: false,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("withdrawal.reject", "withdrawal", id)
            .summary(format!("{} {amount} ({})", w.agent_code, reason.trim()))
            .before(serde_json::json!({"status": "pending"}))
            .after(serde_json::json!({"status": "rejected", "reason": reason.trim()})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn get_in(tx: &mut crate::db::Tx<'_>, id: i64) -> Result<Withdrawal> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE w.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(from_row(&row)?)
}
