//! 售后 (after-sales): refund only, or return and refund, of a paid
//! purchase order placed in weiops. The agent (portal) or staff requests;
//! finance refunds (to the prepaid balance or offline) or rejects with a
//! reason. A refund stops the order counting, releases goods that never
//! left the warehouse or takes returned goods back into stock (or writes
//! them off), takes a cloud-stock order's units off the agent's cloud stock
//! (refund only; refused when the agent no longer holds them), books the money, and reverses the order's rewards exactly
//! like any refund (clawed back in the next open month when its month is
//! settled).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::ledger::{EntryLine, accounts};
use weiops_core::money::Fen;
use weiops_core::paging::{PageInfo, PageRequest};
use weiops_core::purchase::OrderState;

use super::purchase::{self, OrderHead};
use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, Where, fetch_page, now_ms};
use crate::error::FieldErrors;
use crate::ledger::{self, NewEntry};
use crate::rewards::clawback::{Reversal, reverse_rewards};
use crate::stock::cloud;
use crate::stock::moves::{self, Kind, Ref};
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Case {
    pub id: i64,
    pub case_no: String,
    pub order_no: String,
    pub agent_code: String,
    pub agent_name: String,
    /// `refund_only` or `return_refund`.
    pub kind: String,
    /// `requested`, `refunded` or `rejected`.
    pub status: String,
    pub reason: String,
    pub amount_fen: i64,
    pub refund_to: Option<String>,
    pub goods: Option<String>,
    pub reject_reason: Option<String>,
    pub created_by_name: String,
    pub created_at: i64,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<i64>,
}

impl Case {
    pub fn tag(&self) -> &'static str {
        match self.status.as_str() {
            "refunded" => "success",
            "rejected" => "danger",
            _ => "warning",
        }
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewCase {
    pub order_no: String,
    /// `refund_only` or `return_refund`.
    pub kind: String,
    pub reason: String,
}

/// How finance settles a case.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Refund {
    /// `balance` (back to the prepaid balance) or `offline` (paid back by transfer).
    pub refund_to: String,
    /// For goods that left the warehouse and came back: `restock` or
    /// `write_off`. Ignored otherwise.
    #[serde(default)]
    pub goods: Option<String>,
}

/// Opens a case for a paid order (one open case per order). `agent_id`
/// limits it to the agent's own orders (the portal).
#[tracing::instrument(skip(db, actor, input))]
pub async fn request(
    db: &Db,
    actor: &Actor,
    agent_id: Option<i64>,
    input: &NewCase,
) -> Result<String> {
    let mut errors = FieldErrors::default();
    if !matches!(input.kind.as_str(), "refund_only" | "return_refund") {
        errors.add("kind", "aftersales.bad_kind");
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        errors.add("reason", "aftersales.reason_required");
    }
    errors.into_result()?;
    let order = purchase::head(db, input.order_no.trim()).await?;
    if agent_id.is_some_and(|a| a != order.agent_id) {
        return Err(Error::NotFound);
    }
    if !order.status.counts() {
        return Err(Error::Conflict("aftersales.not_paid"));
    }
    let cloud = order.fulfilment.as_deref() == Some("cloud");
    if cloud && input.kind != "refund_only" {
        // The goods never left head office: nothing to send back.
        let mut f = FieldErrors::default();
        f.add("kind", "aftersales.cloud_refund_only");
        return Err(Error::Validation(f));
    }
    let open: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM after_sales WHERE order_id = $1 AND status = 'requested'",
    )
    .bind(order.id)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    if open > 0 {
        return Err(Error::Conflict("aftersales.already_open"));
    }
    let now = now_ms();
    let no = crate::db::document_no("SH", now);
    let mut tx = db.begin_write().await?;
    if cloud {
        // Refused at once when the agent no longer holds the units (asked
        // for them to be shipped); checked again when finance refunds.
        let lines = purchase::line_quantities(&mut tx, order.id).await?;
        let warehouse = cloud_warehouse(&order)?;
        if let Some(short) = cloud::shortfall(&mut tx, order.agent_id, warehouse, &lines).await? {
            return Err(Error::CloudShortage {
                sku: short.sku_code,
                available: short.available,
            });
        }
    }
    sqlx::query(
        "INSERT INTO after_sales (case_no, order_id, agent_id, kind, status, reason, amount_fen, created_by_name, created_at) \
         VALUES ($1, $2, $3, $4, 'requested', $5, $6, $7, $8)",
    )
    .bind(&no)
    .bind(order.id)
    .bind(order.agent_id)
    .bind(&input.kind)
    .bind(reason)
    .bind(order.amount_fen)
    .bind(&actor.name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("aftersales.request", "after_sales", &no).summary(format!(
            "{} {} {}",
            order.order_no,
            input.kind,
            Fen(order.amount_fen)
        )),
    )
    .await?;
    tx.commit().await?;
    Ok(no)
}

fn cloud_warehouse(order: &OrderHead) -> Result<i64> {
    order
        .warehouse_id
        .ok_or_else(|| anyhow::anyhow!("cloud order {} has no warehouse", order.order_no).into())
}

async fn open_case(db: &Db, case_no: &str) -> Result<(i64, OrderHead, String)> {
    let r = sqlx::query(
        "SELECT c.id, c.kind, c.status, o.order_no FROM after_sales c JOIN orders o ON o.id = c.order_id WHERE c.case_no = $1",
    )
    .bind(case_no)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(Error::NotFound)?;
    if r.try_get::<String, _>("status")? != "requested" {
        return Err(Error::Conflict("aftersales.already_decided"));
    }
    let order = purchase::head(db, &r.try_get::<String, _>("order_no")?).await?;
    Ok((r.try_get("id")?, order, r.try_get("kind")?))
}

/// Finance refunds a requested case, all in one transaction.
#[tracing::instrument(skip(db, actor, how))]
pub async fn refund(db: &Db, actor: &Actor, case_no: &str, how: &Refund) -> Result<()> {
    let (id, order, kind) = open_case(db, case_no).await?;
    let shipped = matches!(
        order.status,
        OrderState::Shipped | OrderState::Received | OrderState::Completed
    );
    // A cloud-stock order is completed when paid, its goods still in the
    // warehouse, held for the agent: they never shipped.
    let cloud = order.fulfilment.as_deref() == Some("cloud");
    let goods = match (kind.as_str(), shipped && !cloud, how.goods.as_deref()) {
        (_, false, _) => "not_shipped",
        ("return_refund", true, Some("restock")) => "restock",
        ("return_refund", true, Some("write_off")) => "write_off",
        ("return_refund", true, _) => {
            let mut f = FieldErrors::default();
            f.add("goods", "aftersales.goods_required");
            return Err(Error::Validation(f));
        }
        _ => "kept",
    };
    let credit = match how.refund_to.as_str() {
        "balance" => EntryLine::credit(
            accounts::AGENT_PREPAYMENTS,
            Some(order.agent_id),
            Fen(order.amount_fen),
        ),
        "offline" => EntryLine::credit(accounts::BANK, None, Fen(order.amount_fen)),
        _ => {
            let mut f = FieldErrors::default();
            f.add("refund_to", "aftersales.bad_refund_to");
            return Err(Error::Validation(f));
        }
    };
    let o = sqlx::query("SELECT buyer_level, retail_fen, paid_at FROM orders WHERE id = $1")
        .bind(order.id)
        .fetch_one(&db.pool)
        .await?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "UPDATE after_sales SET status = 'refunded', refund_to = $1, goods = $2, decided_by = $3, decided_by_name = $4, \
         decided_at = $5 WHERE id = $6 AND status = 'requested'",
    )
    .bind(&how.refund_to)
    .bind(goods)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if res.rows_affected() != 1 {
        return Err(Error::Conflict("aftersales.already_decided"));
    }
    purchase::refund_in(&mut tx, actor, &order, case_no).await?;
    if cloud {
        // Off the agent's cloud stock, and sellable again in the warehouse.
        let lines = purchase::line_quantities(&mut tx, order.id).await?;
        let warehouse = cloud_warehouse(&order)?;
        if let Err(short) =
            cloud::refund_order(&mut tx, actor, order.agent_id, warehouse, case_no, &lines).await?
        {
            return Err(Error::CloudShortage {
                sku: short.sku_code,
                available: short.available,
            });
        }
    }
    if goods == "restock"
        && let Some(w) = order.warehouse_id
    {
        for (sku, qty) in purchase::line_quantities(&mut tx, order.id).await? {
            moves::adjust(
                &mut tx,
                actor,
                w,
                sku,
                Kind::ReturnIn,
                qty,
                case_no,
                Ref {
                    kind: "after_sales",
                    id: case_no,
                },
            )
            .await?
            .map_err(|_| anyhow::anyhow!("adding returned goods cannot fall short"))?;
        }
    }
    if order.amount_fen > 0 {
        ledger::post(
            &mut tx,
            db.engine,
            actor,
            NewEntry {
                at: now,
                memo: format!("售后 {case_no} 退款（订单 {}）", order.order_no),
                source: "after_sales",
                source_id: case_no.to_string(),
                lines: vec![
                    EntryLine::debit(accounts::REFUNDS, None, Fen(order.amount_fen)),
                    credit,
                ],
                guard_wallets: false,
            },
        )
        .await?;
    }
    reverse_rewards(
        &mut tx,
        db,
        Reversal {
            order_id: order.id,
            order_no: &order.order_no,
            buyer: order.agent_id,
            buyer_level: o.try_get("buyer_level")?,
            retail: o.try_get("retail_fen")?,
            paid_fen: order.amount_fen,
            paid_at: o.try_get("paid_at")?,
            now,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("aftersales.refund", "after_sales", case_no).summary(format!(
            "{} refunded {} to {}; goods {goods}",
            order.order_no,
            Fen(order.amount_fen),
            how.refund_to
        )),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Finance rejects a requested case with a reason.
pub async fn reject(db: &Db, actor: &Actor, case_no: &str, reason: &str) -> Result<()> {
    let reason = crate::error::required_reason(reason, "aftersales.reason_required")?;
    let (id, _, _) = open_case(db, case_no).await?;
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "UPDATE after_sales SET status = 'rejected', reject_reason = $1, decided_by = $2, decided_by_name = $3, decided_at = $4 \
         WHERE id = $5 AND status = 'requested'",
    )
    .bind(reason)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if res.rows_affected() != 1 {
        return Err(Error::Conflict("aftersales.already_decided"));
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("aftersales.reject", "after_sales", case_no).summary(reason.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

const SELECT: &str = "SELECT c.id, c.case_no, o.order_no, a.code, a.name, c.kind, c.status, c.reason, c.amount_fen, \
     c.refund_to, c.goods, c.reject_reason, c.created_by_name, c.created_at, c.decided_by_name, c.decided_at";
const FROM: &str =
    "FROM after_sales c JOIN orders o ON o.id = c.order_id JOIN agents a ON a.id = c.agent_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Case> {
    Ok(Case {
        id: r.try_get("id")?,
        case_no: r.try_get("case_no")?,
        order_no: r.try_get("order_no")?,
        agent_code: r.try_get("code")?,
        agent_name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        status: r.try_get("status")?,
        reason: r.try_get("reason")?,
        amount_fen: r.try_get("amount_fen")?,
        refund_to: r.try_get("refund_to")?,
        goods: r.try_get("goods")?,
        reject_reason: r.try_get("reject_reason")?,
        created_by_name: r.try_get("created_by_name")?,
        created_at: r.try_get("created_at")?,
        decided_by_name: r.try_get("decided_by_name")?,
        decided_at: r.try_get("decided_at")?,
    })
}

/// Cases, newest first; `status`, an order number and the agent filter.
pub async fn list(
    db: &Db,
    status: Option<&str>,
    order_no: Option<&str>,
    agent_id: Option<i64>,
    page: PageRequest,
) -> Result<(Vec<Case>, PageInfo)> {
    let mut w = Where::new();
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        w.and("c.status = ?", [BindValue::Text(s.to_string())]);
    }
    if let Some(o) = order_no.filter(|s| !s.is_empty()) {
        w.and("o.order_no = ?", [BindValue::Text(o.to_string())]);
    }
    if let Some(a) = agent_id {
        w.and("c.agent_id = ?", [BindValue::Int(a)]);
    }
    let (rows, info) = fetch_page(db, SELECT, FROM, &w, "c.id DESC", page).await?;
    Ok((rows.iter().map(from_row).collect::<Result<_>>()?, info))
}
