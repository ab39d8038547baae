//! Reading orders for the order list, its export and the API.

use serde::Serialize;
use sqlx::Row;
use weiops_core::paging::{PageInfo, PageRequest};
use weiops_core::time::{parse_day_end, parse_day_start};

use crate::Result;
use crate::db::{BindValue, Db, Where, fetch_page};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: i64,
    pub order_no: String,
    pub agent_id: i64,
    pub agent_code: String,
    pub agent_name: String,
    pub buyer_level: i64,
    pub retail_fen: i64,
    pub paid_fen: i64,
    pub status: String,
    pub counted: bool,
    pub source: String,
    pub paid_at: Option<i64>,
    pub refunded_at: Option<i64>,
    /// What the agent pays (placed in weiops); imported orders: `paid_fen`.
    pub amount_fen: i64,
    /// `ship_to_me`, `ship_to_customer`, `cloud` (placed in weiops).
    pub fulfilment: Option<String>,
    pub created_at: i64,
}

impl Order {
    /// Tag colour of the status.
    pub fn tag(&self) -> &'static str {
        match self.status.as_str() {
            "paid" | "completed" | "received" => "success",
            "refunded" | "cancelled" | "closed" => "danger",
            "pending_payment" => "warning",
            _ => "primary",
        }
    }
}

/// The filters of the order list (all optional).
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Order number (exact or prefix).
    pub q: Option<String>,
    /// The buyer's code (exact).
    pub agent: Option<String>,
    /// The buyer's id (the portal's own orders).
    pub agent_id: Option<i64>,
    pub status: Option<String>,
    /// Paid on or after this Beijing day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Paid on or before this Beijing day.
    pub to: Option<String>,
}

impl OrderFilter {
    fn clause(&self) -> Where {
        let mut w = Where::new();
        let some = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        if let Some(q) = some(&self.q) {
            w.and(
                "o.order_no LIKE ? ESCAPE '\\'",
                [BindValue::Text(crate::db::like_prefix(&q))],
            );
        }
        if let Some(a) = some(&self.agent) {
            w.and("a.code = ?", [BindValue::Text(a)]);
        }
        if let Some(id) = self.agent_id {
            w.and("o.agent_id = ?", [BindValue::Int(id)]);
        }
        if let Some(s) = some(&self.status) {
            w.and("o.status = ?", [BindValue::Text(s)]);
        }
        if let Some(ms) = some(&self.from).and_then(|d| parse_day_start(&d)) {
            w.and("o.paid_at >= ?", [BindValue::Int(ms)]);
        }
        if let Some(ms) = some(&self.to).and_then(|d| parse_day_end(&d)) {
            w.and("o.paid_at < ?", [BindValue::Int(ms)]);
        }
        w
    }
}

/// One order by number.
pub async fn get(db: &Db, order_no: &str) -> Result<Order> {
    let mut w = Where::new();
    w.and("o.order_no = ?", [BindValue::Text(order_no.to_string())]);
    let row = w
        .bind(crate::db::dynamic(format!("{SELECT} {FROM}{}", w.sql())))
        .fetch_optional(&db.pool)
        .await?
        .ok_or(crate::Error::NotFound)?;
    from_row(&row)
}

const SELECT: &str = "SELECT o.id, o.order_no, o.agent_id, a.code, a.name, o.buyer_level, o.retail_fen, o.paid_fen, \
     o.status, o.counted, o.source, o.paid_at, o.refunded_at, o.amount_fen, o.fulfilment, o.created_at";
const FROM: &str = "FROM orders o JOIN agents a ON a.id = o.agent_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Order> {
    Ok(Order {
        id: r.try_get("id")?,
        order_no: r.try_get("order_no")?,
        agent_id: r.try_get("agent_id")?,
        agent_code: r.try_get("code")?,
        agent_name: r.try_get("name")?,
        buyer_level: r.try_get("buyer_level")?,
        retail_fen: r.try_get("retail_fen")?,
        paid_fen: r.try_get("paid_fen")?,
        status: r.try_get("status")?,
        counted: r.try_get::<i64, _>("counted")? == 1,
        source: r.try_get("source")?,
        paid_at: r.try_get("paid_at")?,
        refunded_at: r.try_get("refunded_at")?,
        amount_fen: match r.try_get::<Option<i64>, _>("amount_fen")? {
            Some(a) => a,
            None => r.try_get("paid_fen")?,
        },
        fulfilment: r.try_get("fulfilment")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A page of orders, newest payment first.
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    filter: &OrderFilter,
    page: PageRequest,
) -> Result<(Vec<Order>, PageInfo)> {
    let w = filter.clause();
    let (rows, info) = fetch_page(db, SELECT, FROM, &w, "o.id DESC", page).await?;
    Ok((rows.iter().map(from_row).collect::<Result<_>>()?, info))
}
