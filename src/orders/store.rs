//! Reading orders for the order list, its export and the API.

use serde::Serialize;
use sqlx::Row;
use weiops_core::paging::{PageInfo, PageRequest};
use weiops_core::purchase::OrderState;
use weiops_core::time::{parse_day_end, parse_day_start};

use crate::Result;
use crate::db::{BindValue, Db, Where, fetch_page_capped};

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
    #[schema(value_type = String)]
    pub status: OrderState,
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
        use OrderState as S;
        match self.status {
            S::Paid | S::Completed | S::Received => "success",
            S::Refunded | S::Cancelled | S::Closed => "danger",
            S::PendingPayment => "warning",
            S::Picking | S::Shipped => "primary",
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
    /// The list's order, chosen so that each filter reads its index in
    /// order and stops after a page (a sort would read every match first:
    /// millions of rows for `paid`): newest order first (the row id),
    /// or, filtered by status or payment date, newest payment first through
    /// orders_status_open or orders_paid_at. Within one status the payment
    /// time is always set or always empty, so both engines agree on it.
    fn order(&self) -> &'static str {
        let day = |v: &Option<String>, parse: fn(&str) -> Option<i64>| {
            v.as_deref().and_then(|d| parse(d.trim())).is_some()
        };
        let status = self.status.as_deref().is_some_and(|s| !s.trim().is_empty());
        if status || day(&self.from, parse_day_start) || day(&self.to, parse_day_end) {
            "o.paid_at DESC, o.id DESC"
        } else {
            "o.id DESC"
        }
    }

    fn clause(&self) -> Where {
        let mut w = Where::new();
        let some = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        if let Some(q) = some(&self.q) {
            // A prefix as a byte range keeps the search on orders_order_no
            // (LIKE reads every order): every number starting with q sorts
            // in [q, q + U+10FFFF), in byte order on both engines (the
            // column is COLLATE "C" on PostgreSQL).
            let hi = format!("{q}\u{10FFFF}");
            w.and(
                "o.order_no >= ? AND o.order_no < ?",
                [BindValue::Text(q), BindValue::Text(hi)],
            );
        }
        if let Some(a) = some(&self.agent) {
            // By id, so the count needs no join and the agent's orders are
            // read through orders_agent_paid.
            w.and(
                "o.agent_id = (SELECT id FROM agents WHERE code = ?)",
                [BindValue::Text(a)],
            );
        }
        if let Some(id) = self.agent_id {
            w.and("o.agent_id = ?", [BindValue::Int(id)]);
        }
        // An order-number prefix or one agent's orders are few: read them
        // through their own index and check status and payment date on
        // each. `|| ''` and `+ 0` keep SQLite, which has no statistics to
        // tell, from choosing orders_status_open or orders_paid_at instead
        // (9.7M rows for `paid`: seconds); PostgreSQL accepts both.
        let prefix = some(&self.q).is_some();
        let narrow = prefix || some(&self.agent).is_some() || self.agent_id.is_some();
        if let Some(s) = some(&self.status) {
            // orders_status_open holds every status but `paid` (most of
            // the table, found through orders_paid_at); naming that lets
            // the planner use it.
            let sql = if narrow {
                "o.status || '' = ?"
            } else if s == "paid" {
                "o.status = ?"
            } else {
                "o.status = ? AND o.status <> 'paid'"
            };
            w.and(sql, [BindValue::Text(s)]);
        }
        let paid_at = if prefix { "o.paid_at + 0" } else { "o.paid_at" };
        if let Some(ms) = some(&self.from).and_then(|d| parse_day_start(&d)) {
            w.and(&format!("{paid_at} >= ?"), [BindValue::Int(ms)]);
        }
        if let Some(ms) = some(&self.to).and_then(|d| parse_day_end(&d)) {
            w.and(&format!("{paid_at} < ?"), [BindValue::Int(ms)]);
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
        status: crate::db::parsed(r, "status", OrderState::parse)?,
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

/// A page of orders: newest first; by status or payment date, newest
/// payment first (see [`OrderFilter::order`]). The count stops 10,000
/// orders past the page (`PageInfo::capped`).
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    filter: &OrderFilter,
    page: PageRequest,
) -> Result<(Vec<Order>, PageInfo)> {
    let w = filter.clause();
    let (rows, info) = fetch_page_capped(
        db,
        SELECT,
        FROM,
        "FROM orders o",
        "o.id",
        &w,
        filter.order(),
        page,
    )
    .await?;
    Ok((rows.iter().map(from_row).collect::<Result<_>>()?, info))
}

/// Where an order placed in weiops goes (发给我 / 代发). Orders kept in
/// cloud stock have none (the address comes with each shipment request),
/// nor do imported ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub receiver_name: String,
    /// Masked (`139****5678`) for staff without `agents.pii`.
    pub receiver_phone: String,
    pub receiver_address: String,
}

impl Delivery {
    /// The phone hidden as agents' phones are from staff without
    /// `agents.pii`.
    pub fn masked(mut self) -> Delivery {
        self.receiver_phone = weiops_core::agents::mask_phone(&self.receiver_phone);
        self
    }

    /// As a staff viewer may see it.
    pub fn for_viewer(self, may_see_pii: bool) -> Delivery {
        if may_see_pii { self } else { self.masked() }
    }
}

/// The delivery address of order `order_id`, if it has one.
pub async fn delivery(db: &Db, order_id: i64) -> Result<Option<Delivery>> {
    let row = sqlx::query(
        "SELECT receiver_name, receiver_phone, receiver_address FROM orders WHERE id = $1",
    )
    .bind(order_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let name: Option<String> = r.try_get("receiver_name")?;
    let address: Option<String> = r.try_get("receiver_address")?;
    Ok(match (name, address) {
        (Some(receiver_name), Some(receiver_address))
            if !receiver_name.is_empty() || !receiver_address.is_empty() =>
        {
            Some(Delivery {
                receiver_name,
                receiver_phone: r
                    .try_get::<Option<String>, _>("receiver_phone")?
                    .unwrap_or_default(),
                receiver_address,
            })
        }
        _ => None,
    })
}
