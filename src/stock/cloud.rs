//! 云库存 (cloud stock), the ledger: goods an agent paid for and keeps in
//! head office's warehouse, a balance per agent, SKU and warehouse. The
//! physical units stay reserved in `stock` until they ship, so nobody else
//! can buy them.
//!
//! A paid cloud order credits the ledger (`credit_order`, called by
//! `orders::purchase::mark_paid`) and a refund of it takes them off again
//! (`refund_order`, 售后); shipment requests (`crate::cloud::store`) take
//! from it with one conditional UPDATE per line ([`debit`]), so racing
//! requests never take more than the balance, and give back what a
//! cancelled request took ([`credit`]). Every change writes a movement and
//! the audit log in the same transaction.
//!
//! The ledger stays in `stock`, below orders, because paying and refunding
//! an order write it and the stock page reads it ([`owed`]); the requests,
//! pages, portal and API of cloud stock sit above orders in `crate::cloud`.

use std::collections::HashMap;

use sqlx::Row;

use super::moves::{self, Ref, Shortage};
use super::store::Outcome;
use crate::Result;
use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, Tx, Where, dynamic, now_ms};

// ---------------------------------------------------------------- the ledger

/// The kinds of `cloud_stock_movements` written here and by the requests
/// of `crate::cloud` ('adjust' is kept in the schema for corrections by
/// staff).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A paid cloud order.
    Purchase,
    /// Taken for a shipment request.
    ShipRequest,
    /// Given back: the request was cancelled.
    ShipCancelled,
    /// Taken off: the order that bought them was refunded (售后).
    Refund,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Purchase => "purchase",
            Kind::ShipRequest => "ship_request",
            Kind::ShipCancelled => "ship_cancelled",
            Kind::Refund => "refund",
        }
    }
}

/// One place on the ledger: whose, which SKU, in which warehouse.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub agent: i64,
    pub sku: i64,
    pub warehouse: i64,
}

async fn balance(tx: &mut Tx<'_>, s: Slot) -> Result<i64> {
    Ok(sqlx::query(
        "SELECT qty FROM cloud_stock WHERE agent_id = $1 AND sku_id = $2 AND warehouse_id = $3",
    )
    .bind(s.agent)
    .bind(s.sku)
    .bind(s.warehouse)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| r.try_get::<i64, _>("qty"))
    .transpose()?
    .unwrap_or(0))
}

async fn movement(
    tx: &mut Tx<'_>,
    actor: &Actor,
    s: Slot,
    kind: Kind,
    qty: i64,
    r: Ref<'_>,
) -> Result<()> {
    let after = balance(tx, s).await?;
    sqlx::query(
        "INSERT INTO cloud_stock_movements (agent_id, sku_id, warehouse_id, kind, qty, qty_after, ref_type, ref_id, actor_id, actor_name, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(s.agent)
    .bind(s.sku)
    .bind(s.warehouse)
    .bind(kind.as_str())
    .bind(qty)
    .bind(after)
    .bind(r.kind)
    .bind(r.id)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn credit(
    tx: &mut Tx<'_>,
    actor: &Actor,
    s: Slot,
    qty: i64,
    kind: Kind,
    r: Ref<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO cloud_stock (agent_id, sku_id, warehouse_id, qty, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (agent_id, sku_id, warehouse_id) DO UPDATE SET qty = cloud_stock.qty + excluded.qty, updated_at = excluded.updated_at",
    )
    .bind(s.agent)
    .bind(s.sku)
    .bind(s.warehouse)
    .bind(qty)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    movement(tx, actor, s, kind, qty, r).await
}

/// Takes `qty` from the balance if it holds that many: one conditional
/// UPDATE, so two requests racing for the same units cannot both get them.
pub async fn debit(
    tx: &mut Tx<'_>,
    actor: &Actor,
    s: Slot,
    qty: i64,
    kind: Kind,
    r: Ref<'_>,
) -> Result<Outcome<()>> {
    let res = sqlx::query(
        "UPDATE cloud_stock SET qty = qty - $1, updated_at = $2 \
         WHERE agent_id = $3 AND sku_id = $4 AND warehouse_id = $5 AND qty >= $1",
    )
    .bind(qty)
    .bind(now_ms())
    .bind(s.agent)
    .bind(s.sku)
    .bind(s.warehouse)
    .execute(&mut **tx)
    .await?;
    if res.rows_affected() != 1 {
        let code: Option<String> = sqlx::query("SELECT code FROM skus WHERE id = $1")
            .bind(s.sku)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get("code"))
            .transpose()?;
        return Ok(Err(Shortage {
            sku_id: s.sku,
            sku_code: code.unwrap_or_else(|| format!("#{}", s.sku)),
            requested: qty,
            available: balance(tx, s).await?,
        }));
    }
    movement(tx, actor, s, kind, -qty, r).await?;
    Ok(Ok(()))
}

/// A paid cloud order: its units (still reserved in the warehouse) go on
/// the agent's cloud-stock ledger. Inside the payment's transaction.
pub async fn credit_order(
    tx: &mut Tx<'_>,
    actor: &Actor,
    agent: i64,
    warehouse: i64,
    order_no: &str,
    lines: &[(i64, i64)],
) -> Result<()> {
    let r = Ref {
        kind: "order",
        id: order_no,
    };
    for (sku, qty) in lines {
        let s = Slot {
            agent,
            sku: *sku,
            warehouse,
        };
        credit(tx, actor, s, *qty, Kind::Purchase, r).await?;
    }
    let units: i64 = lines.iter().map(|(_, q)| q).sum();
    audit::record(
        tx,
        actor,
        Change::new("cloud.credit", "order", order_no)
            .summary(format!("{} lines, {units} units", lines.len()))
            .after(serde_json::json!({
                "agent_id": agent, "warehouse_id": warehouse,
                "lines": lines.iter().map(|(s, q)| serde_json::json!({"sku_id": s, "qty": q})).collect::<Vec<_>>(),
            })),
    )
    .await
}

/// A refunded cloud order (售后): its units come off the agent's cloud
/// stock, all of them or none (a shortage names the first SKU the agent
/// no longer holds enough of, e.g. after asking for it to be shipped),
/// and the units the warehouse held for the agent become sellable again.
/// Inside the refund's transaction; the caller drops it on a shortage.
pub async fn refund_order(
    tx: &mut Tx<'_>,
    actor: &Actor,
    agent: i64,
    warehouse: i64,
    case_no: &str,
    lines: &[(i64, i64)],
) -> Result<Outcome<()>> {
    let r = Ref {
        kind: "after_sales",
        id: case_no,
    };
    for (sku, qty) in lines {
        let s = Slot {
            agent,
            sku: *sku,
            warehouse,
        };
        if let Err(short) = debit(tx, actor, s, *qty, Kind::Refund, r).await? {
            return Ok(Err(short));
        }
        moves::release(tx, actor, warehouse, *sku, *qty, r).await?;
    }
    let units: i64 = lines.iter().map(|(_, q)| q).sum();
    audit::record(
        tx,
        actor,
        Change::new("cloud.refund", "after_sales", case_no)
            .summary(format!("{} lines, {units} units", lines.len()))
            .after(serde_json::json!({
                "agent_id": agent, "warehouse_id": warehouse,
                "lines": lines.iter().map(|(s, q)| serde_json::json!({"sku_id": s, "qty": -q})).collect::<Vec<_>>(),
            })),
    )
    .await?;
    Ok(Ok(()))
}

/// The first line of `lines` the agent's cloud stock in `warehouse` does
/// not cover, if any: asked before a refund of a cloud order is opened.
pub async fn shortfall(
    tx: &mut Tx<'_>,
    agent: i64,
    warehouse: i64,
    lines: &[(i64, i64)],
) -> Result<Option<Shortage>> {
    for &(sku, qty) in lines {
        let r = sqlx::query(
            "SELECT s.code, c.qty FROM skus s LEFT JOIN cloud_stock c \
             ON c.sku_id = s.id AND c.agent_id = $1 AND c.warehouse_id = $2 WHERE s.id = $3",
        )
        .bind(agent)
        .bind(warehouse)
        .bind(sku)
        .fetch_optional(&mut **tx)
        .await?;
        let (code, held) = match r {
            Some(r) => (
                r.try_get::<String, _>("code")?,
                r.try_get::<Option<i64>, _>("qty")?.unwrap_or(0),
            ),
            None => (format!("#{sku}"), 0),
        };
        if held < qty {
            return Ok(Some(Shortage {
                sku_id: sku,
                sku_code: code,
                requested: qty,
                available: held,
            }));
        }
    }
    Ok(None)
}

/// Units owed to agents per SKU (all agents and warehouses), for the stock
/// page's totals.
pub async fn owed(db: &Db, sku_ids: &[i64]) -> Result<HashMap<i64, i64>> {
    if sku_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut w = Where::new();
    let marks = vec!["?"; sku_ids.len()].join(", ");
    w.and(
        &format!("sku_id IN ({marks})"),
        sku_ids.iter().map(|i| BindValue::Int(*i)),
    );
    let sql = format!(
        "SELECT sku_id, CAST(COALESCE(SUM(qty), 0) AS BIGINT) AS n FROM cloud_stock{} GROUP BY sku_id",
        w.sql()
    );
    let mut out = HashMap::new();
    for r in w.bind(dynamic(sql)).fetch_all(&db.pool).await? {
        out.insert(r.try_get("sku_id")?, r.try_get("n")?);
    }
    Ok(out)
}
