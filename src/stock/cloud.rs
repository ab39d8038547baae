//! 云库存 (cloud stock): goods an agent paid for and keeps in head office's
//! warehouse, on a ledger per agent, SKU and warehouse. The physical units
//! stay reserved in `stock` until they ship, so nobody else can buy them.
//!
//! A paid cloud order credits the ledger (`credit_order`, called by
//! `orders::purchase::mark_paid`) and a refund of it takes them off again
//! (`refund_order`, 售后); a shipment request (提货/代发) takes from
//! it with one conditional UPDATE per line, so racing requests never take
//! more than the balance; staff ship it (the reserved units leave the
//! warehouse through `moves::ship_reserved`) or cancel it (the units go back
//! to the agent's balance). Every change writes a movement and the audit log
//! in the same transaction.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weiops_core::paging::{PageInfo, PageRequest};

use super::api::{ShortageBody, ShortageError, shortage_message};
use super::moves::{self, Ref, Shortage};
use super::store::{self as stock_store, Outcome, Warehouse};
use crate::access::Need;
use crate::access::catalog::{OrdersWrite, ShippingWrite, StockRead, StockWrite};
use crate::agents::portal::AgentSession;
use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, Tx, Where, dynamic, fetch_page, like_pattern, like_prefix, now_ms};
use crate::error::FieldErrors;
use crate::export::{self, ExportFormat, Table};
use crate::http::AppState;
use crate::i18n::Locale;
use crate::orders::model::{self, Fulfilment, NewLine, NewOrder};
use crate::web::list::{ListParams, Pager};
use crate::web::{self, FormPairs, PageCtx, PublicCtx};
use crate::{Error, Result};

pub const STATUSES: &[&str] = &["pending", "shipped", "cancelled"];
const GOODS: (&str, Option<&str>) = ("menu.goods", None);

// ---------------------------------------------------------------- the ledger

/// The kinds of `cloud_stock_movements` written here ('adjust' is kept in
/// the schema for corrections by staff).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
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
struct Slot {
    agent: i64,
    sku: i64,
    warehouse: i64,
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

async fn credit(
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
async fn debit(
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

// ---------------------------------------------------------------- requests

/// A shipment request as the portal, a staff member or the API makes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewRequest {
    pub agent_id: i64,
    /// Default: the warehouse holding most of the agent's cloud stock of
    /// these SKUs.
    #[serde(default)]
    pub warehouse_id: Option<i64>,
    pub lines: Vec<NewLine>,
    #[serde(default)]
    pub receiver_name: String,
    #[serde(default)]
    pub receiver_phone: String,
    #[serde(default)]
    pub receiver_address: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestLine {
    pub sku_id: i64,
    pub sku_code: String,
    pub product_name: String,
    pub spec: String,
    pub qty: i64,
}

/// A shipment request with its lines.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CloudRequest {
    pub id: i64,
    pub request_no: String,
    pub agent_id: i64,
    pub agent_code: String,
    pub agent_name: String,
    pub warehouse_id: i64,
    pub warehouse_code: String,
    pub warehouse_name: String,
    /// `pending`, `shipped` or `cancelled`.
    pub status: String,
    pub receiver_name: String,
    pub receiver_phone: String,
    pub receiver_address: String,
    pub note: String,
    pub created_at: i64,
    pub shipped_at: Option<i64>,
    pub carrier: Option<String>,
    pub tracking_no: Option<String>,
    pub lines: Vec<RequestLine>,
}

impl CloudRequest {
    pub fn is_pending(&self) -> bool {
        self.status == "pending"
    }

    pub fn tag(&self) -> &'static str {
        match self.status.as_str() {
            "shipped" => "success",
            "cancelled" => "danger",
            _ => "warning",
        }
    }

    pub fn units(&self) -> i64 {
        self.lines.iter().map(|l| l.qty).sum()
    }

    fn lines_text(&self) -> String {
        self.lines
            .iter()
            .map(|l| format!("{} × {}", l.sku_code, l.qty))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Where a request ships from when it does not say: the warehouse holding
/// most of the agent's cloud stock of these SKUs, else the default one.
async fn warehouse_for(db: &Db, agent: i64, skus: &[i64]) -> Result<i64> {
    let mut w = Where::new();
    w.and("agent_id = ?", [BindValue::Int(agent)]);
    w.and("qty > 0", []);
    let marks = vec!["?"; skus.len()].join(", ");
    w.and(
        &format!("sku_id IN ({marks})"),
        skus.iter().map(|i| BindValue::Int(*i)),
    );
    let sql = format!(
        "SELECT warehouse_id FROM cloud_stock{} GROUP BY warehouse_id ORDER BY SUM(qty) DESC, warehouse_id LIMIT 1",
        w.sql()
    );
    if let Some(r) = w.bind(dynamic(sql)).fetch_optional(&db.pool).await? {
        return Ok(r.try_get("warehouse_id")?);
    }
    let row = sqlx::query(
        "SELECT id FROM warehouses WHERE active = 1 ORDER BY is_default DESC, id LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?
    .ok_or(Error::Conflict("orders.no_warehouse"))?;
    Ok(row.try_get("id")?)
}

/// Makes a shipment request: every line taken from the agent's balance in
/// one transaction. A short line refuses the whole request with the SKU and
/// the balance, and nothing changes.
#[tracing::instrument(skip(db, actor, input), fields(agent = input.agent_id))]
pub async fn request(db: &Db, actor: &Actor, input: &NewRequest) -> Result<Outcome<CloudRequest>> {
    // The same rules as an order shipped to a customer: lines and receiver.
    let as_order = NewOrder {
        agent_id: input.agent_id,
        lines: input.lines.clone(),
        fulfilment: Fulfilment::ShipToCustomer,
        receiver_name: input.receiver_name.clone(),
        receiver_phone: input.receiver_phone.clone(),
        receiver_address: input.receiver_address.clone(),
        note: input.note.clone(),
        warehouse_id: input.warehouse_id,
    };
    let qty: BTreeMap<i64, i64> = model::check(&as_order).map_err(Error::Validation)?;
    let exists = sqlx::query("SELECT id FROM agents WHERE id = $1")
        .bind(input.agent_id)
        .fetch_optional(&db.pool)
        .await?;
    if exists.is_none() {
        return Err(Error::NotFound);
    }
    let skus: Vec<i64> = qty.keys().copied().collect();
    let warehouse = match input.warehouse_id {
        Some(w) => w,
        None => warehouse_for(db, input.agent_id, &skus).await?,
    };
    let phone = weiops_core::accounts::normalize_phone(&input.receiver_phone)
        .ok()
        .flatten()
        .unwrap_or_default();
    let now = now_ms();
    for attempt in 0..3 {
        let no = crate::db::document_no("TH", now);
        let mut tx = db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO cloud_requests (request_no, agent_id, warehouse_id, status, receiver_name, receiver_phone, receiver_address, note, created_at) \
             VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&no)
        .bind(input.agent_id)
        .bind(warehouse)
        .bind(input.receiver_name.trim())
        .bind(&phone)
        .bind(input.receiver_address.trim())
        .bind(input.note.trim())
        .bind(now)
        .fetch_one(&mut **tx)
        .await;
        let id: i64 = match inserted {
            Ok(r) => r.try_get("id")?,
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() && attempt < 2 => continue,
            Err(e) => return Err(e.into()),
        };
        let r = Ref {
            kind: "cloud_request",
            id: &no,
        };
        // By SKU id: concurrent requests lock rows in the same order.
        for (sku, q) in &qty {
            let s = Slot {
                agent: input.agent_id,
                sku: *sku,
                warehouse,
            };
            if let Err(short) = debit(&mut tx, actor, s, *q, Kind::ShipRequest, r).await? {
                return Ok(Err(short)); // dropping tx rolls everything back
            }
            sqlx::query(
                "INSERT INTO cloud_request_lines (request_id, sku_id, qty) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(sku)
            .bind(q)
            .execute(&mut **tx)
            .await?;
        }
        audit::record(
            &mut tx,
            actor,
            Change::new("cloud.request", "cloud_request", &no)
                .summary(format!("{} lines, {} units", qty.len(), qty.values().sum::<i64>()))
                .after(serde_json::json!({
                    "agent_id": input.agent_id, "warehouse_id": warehouse,
                    "receiver_name": input.receiver_name.trim(), "receiver_phone": phone,
                    "receiver_address": input.receiver_address.trim(), "note": input.note.trim(),
                    "lines": qty.iter().map(|(s, q)| serde_json::json!({"sku_id": s, "qty": q})).collect::<Vec<_>>(),
                })),
        )
        .await?;
        tx.commit().await?;
        return Ok(Ok(get(db, id).await?));
    }
    Err(anyhow::anyhow!("could not find a free request number").into())
}

/// Moves a pending request on only if nobody moved it in between (the
/// row's status is the lock).
fn moved(rows_affected: u64) -> Result<()> {
    if rows_affected != 1 {
        return Err(Error::Conflict("cloud.not_pending"));
    }
    Ok(())
}

/// Marks a pending request shipped with its carrier and tracking number:
/// the reserved units leave the warehouse.
#[tracing::instrument(skip(db, actor))]
pub async fn ship(db: &Db, actor: &Actor, id: i64, carrier: &str, tracking_no: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    ship_in(&mut tx, db, actor, id, carrier, tracking_no).await?;
    tx.commit().await?;
    Ok(())
}

/// [`ship`] inside the caller's transaction (打单 records the shipment in
/// the same one).
pub async fn ship_in(
    tx: &mut crate::db::Tx<'_>,
    db: &Db,
    actor: &Actor,
    id: i64,
    carrier: &str,
    tracking_no: &str,
) -> Result<()> {
    let (carrier, tracking_no) = (carrier.trim(), tracking_no.trim());
    let mut e = FieldErrors::default();
    if carrier.is_empty() || carrier.chars().count() > 30 {
        e.add("carrier", "cloud.carrier_required");
    }
    if tracking_no.is_empty() || tracking_no.chars().count() > 64 {
        e.add("tracking_no", "cloud.tracking_required");
    }
    e.into_result()?;
    let r = get(db, id).await?;
    let n = sqlx::query(
        "UPDATE cloud_requests SET status = 'shipped', shipped_at = $1, carrier = $2, tracking_no = $3 \
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(now_ms())
    .bind(carrier)
    .bind(tracking_no)
    .bind(r.id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    moved(n)?;
    for l in &r.lines {
        moves::ship_reserved(
            tx,
            actor,
            r.warehouse_id,
            l.sku_id,
            l.qty,
            Ref {
                kind: "cloud_request",
                id: &r.request_no,
            },
        )
        .await?;
    }
    audit::record(
        tx,
        actor,
        Change::new("cloud.ship", "cloud_request", &r.request_no)
            .summary(format!("{carrier} {tracking_no}"))
            .before(serde_json::json!({"status": r.status}))
            .after(serde_json::json!({"status": "shipped", "carrier": carrier, "tracking_no": tracking_no})),
    )
    .await?;
    Ok(())
}

/// Cancels a pending request: its units go back to the agent's balance.
#[tracing::instrument(skip(db, actor))]
pub async fn cancel(db: &Db, actor: &Actor, id: i64) -> Result<()> {
    let r = get(db, id).await?;
    let mut tx = db.begin_write().await?;
    let n = sqlx::query(
        "UPDATE cloud_requests SET status = 'cancelled' WHERE id = $1 AND status = 'pending'",
    )
    .bind(r.id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    moved(n)?;
    for l in &r.lines {
        let s = Slot {
            agent: r.agent_id,
            sku: l.sku_id,
            warehouse: r.warehouse_id,
        };
        let re = Ref {
            kind: "cloud_request",
            id: &r.request_no,
        };
        credit(&mut tx, actor, s, l.qty, Kind::ShipCancelled, re).await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("cloud.cancel", "cloud_request", &r.request_no)
            .summary(r.lines_text())
            .before(serde_json::json!({"status": r.status}))
            .after(serde_json::json!({"status": "cancelled"})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- reading

const REQ_SELECT: &str = "SELECT r.id, r.request_no, r.agent_id, a.code AS agent_code, a.name AS agent_name, \
     r.warehouse_id, w.code AS warehouse_code, w.name AS warehouse_name, r.status, r.receiver_name, r.receiver_phone, \
     r.receiver_address, r.note, r.created_at, r.shipped_at, r.carrier, r.tracking_no";
const REQ_FROM: &str = "FROM cloud_requests r JOIN agents a ON a.id = r.agent_id JOIN warehouses w ON w.id = r.warehouse_id";

fn request_of(r: &AnyRow) -> Result<CloudRequest> {
    Ok(CloudRequest {
        id: r.try_get("id")?,
        request_no: r.try_get("request_no")?,
        agent_id: r.try_get("agent_id")?,
        agent_code: r.try_get("agent_code")?,
        agent_name: r.try_get("agent_name")?,
        warehouse_id: r.try_get("warehouse_id")?,
        warehouse_code: r.try_get("warehouse_code")?,
        warehouse_name: r.try_get("warehouse_name")?,
        status: r.try_get("status")?,
        receiver_name: r.try_get("receiver_name")?,
        receiver_phone: r.try_get("receiver_phone")?,
        receiver_address: r.try_get("receiver_address")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
        shipped_at: r.try_get("shipped_at")?,
        carrier: r.try_get("carrier")?,
        tracking_no: r.try_get("tracking_no")?,
        lines: Vec::new(),
    })
}

/// Fills the lines of some requests with one query.
async fn with_lines(db: &Db, mut list: Vec<CloudRequest>) -> Result<Vec<CloudRequest>> {
    if list.is_empty() {
        return Ok(list);
    }
    let mut w = Where::new();
    let marks = vec!["?"; list.len()].join(", ");
    w.and(
        &format!("l.request_id IN ({marks})"),
        list.iter().map(|r| BindValue::Int(r.id)),
    );
    let sql = format!(
        "SELECT l.request_id, l.sku_id, k.code, p.name, k.spec, l.qty FROM cloud_request_lines l \
         JOIN skus k ON k.id = l.sku_id JOIN products p ON p.id = k.product_id{} ORDER BY k.code",
        w.sql()
    );
    let rows = w.bind(dynamic(sql)).fetch_all(&db.pool).await?;
    let mut by: HashMap<i64, Vec<RequestLine>> = HashMap::new();
    for r in rows {
        by.entry(r.try_get("request_id")?)
            .or_default()
            .push(RequestLine {
                sku_id: r.try_get("sku_id")?,
                sku_code: r.try_get("code")?,
                product_name: r.try_get("name")?,
                spec: r.try_get("spec")?,
                qty: r.try_get("qty")?,
            });
    }
    for r in &mut list {
        r.lines = by.remove(&r.id).unwrap_or_default();
    }
    Ok(list)
}

pub async fn get(db: &Db, id: i64) -> Result<CloudRequest> {
    let row = dynamic(format!("{REQ_SELECT} {REQ_FROM} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    with_lines(db, vec![request_of(&row)?])
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

/// The filters of the request list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<String>,
    /// An agent code.
    pub agent: Option<String>,
    pub agent_id: Option<i64>,
    /// The start of a request number, or part of the receiver's name or phone.
    pub q: Option<String>,
}

impl RequestFilter {
    pub fn of(p: &ListParams) -> RequestFilter {
        RequestFilter {
            status: p.get("status").map(str::to_string),
            agent: p.get("agent").map(str::to_string),
            agent_id: None,
            q: p.get("q").map(str::to_string),
        }
    }

    fn clause(&self) -> Where {
        let mut w = Where::new();
        if let Some(s) = self.status.as_deref().filter(|s| STATUSES.contains(s)) {
            w.and("r.status = ?", [BindValue::from(s)]);
        }
        if let Some(a) = self
            .agent
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            w.and("a.code = ?", [BindValue::from(a)]);
        }
        if let Some(id) = self.agent_id {
            w.and("r.agent_id = ?", [BindValue::Int(id)]);
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            w.and(
                "(r.request_no LIKE ? ESCAPE '\\' OR r.receiver_name LIKE ? ESCAPE '\\' OR r.receiver_phone LIKE ? ESCAPE '\\')",
                [
                    like_prefix(q).into(),
                    like_pattern(q).into(),
                    like_prefix(q).into(),
                ],
            );
        }
        w
    }
}

/// A page of requests, newest first.
#[tracing::instrument(skip(db))]
pub async fn requests(
    db: &Db,
    filter: &RequestFilter,
    page: PageRequest,
) -> Result<(Vec<CloudRequest>, PageInfo)> {
    let (rows, info) = fetch_page(
        db,
        REQ_SELECT,
        REQ_FROM,
        &filter.clause(),
        "r.created_at DESC, r.id DESC",
        page,
    )
    .await?;
    let list = rows.iter().map(request_of).collect::<Result<Vec<_>>>()?;
    Ok((with_lines(db, list).await?, info))
}

/// One agent's balance of one SKU in one warehouse.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CloudRow {
    pub agent_id: i64,
    pub agent_code: String,
    pub agent_name: String,
    pub sku_id: i64,
    pub sku_code: String,
    pub product_name: String,
    pub spec: String,
    pub warehouse_id: i64,
    pub warehouse_code: String,
    pub warehouse_name: String,
    pub qty: i64,
    pub updated_at: i64,
}

/// The filters of the balance list; only balances above zero are listed.
#[derive(Debug, Clone, Default)]
pub struct BalanceFilter {
    /// An agent code.
    pub agent: Option<String>,
    pub agent_id: Option<i64>,
    /// The start of a SKU code, or part of a product name.
    pub q: Option<String>,
    pub warehouse: Option<i64>,
}

impl BalanceFilter {
    pub fn of(p: &ListParams) -> BalanceFilter {
        BalanceFilter {
            agent: p.get("agent").map(str::to_string),
            agent_id: None,
            q: p.get("q").map(str::to_string),
            warehouse: p.get_i64("warehouse"),
        }
    }

    fn clause(&self) -> Where {
        let mut w = Where::new();
        w.and("c.qty > 0", []);
        if let Some(a) = self
            .agent
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            w.and("a.code = ?", [BindValue::from(a)]);
        }
        if let Some(id) = self.agent_id {
            w.and("c.agent_id = ?", [BindValue::Int(id)]);
        }
        if let Some(id) = self.warehouse {
            w.and("c.warehouse_id = ?", [BindValue::Int(id)]);
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            w.and(
                "(k.code LIKE ? ESCAPE '\\' OR p.name LIKE ? ESCAPE '\\')",
                [like_prefix(q).into(), like_pattern(q).into()],
            );
        }
        w
    }
}

const BAL_SELECT: &str = "SELECT c.agent_id, a.code AS agent_code, a.name AS agent_name, c.sku_id, k.code AS sku_code, \
     p.name AS product_name, k.spec, c.warehouse_id, w.code AS warehouse_code, w.name AS warehouse_name, c.qty, c.updated_at";
const BAL_FROM: &str = "FROM cloud_stock c JOIN agents a ON a.id = c.agent_id JOIN skus k ON k.id = c.sku_id \
     JOIN products p ON p.id = k.product_id JOIN warehouses w ON w.id = c.warehouse_id";

fn balance_of(r: &AnyRow) -> Result<CloudRow> {
    Ok(CloudRow {
        agent_id: r.try_get("agent_id")?,
        agent_code: r.try_get("agent_code")?,
        agent_name: r.try_get("agent_name")?,
        sku_id: r.try_get("sku_id")?,
        sku_code: r.try_get("sku_code")?,
        product_name: r.try_get("product_name")?,
        spec: r.try_get("spec")?,
        warehouse_id: r.try_get("warehouse_id")?,
        warehouse_code: r.try_get("warehouse_code")?,
        warehouse_name: r.try_get("warehouse_name")?,
        qty: r.try_get("qty")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// A page of balances, by agent code, SKU code, warehouse code.
#[tracing::instrument(skip(db))]
pub async fn balances(
    db: &Db,
    filter: &BalanceFilter,
    page: PageRequest,
) -> Result<(Vec<CloudRow>, PageInfo)> {
    let (rows, info) = fetch_page(
        db,
        BAL_SELECT,
        BAL_FROM,
        &filter.clause(),
        "a.code, k.code, w.code",
        page,
    )
    .await?;
    Ok((rows.iter().map(balance_of).collect::<Result<_>>()?, info))
}

/// What head office owes agents of one SKU.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwedTotal {
    pub sku_id: i64,
    pub sku_code: String,
    pub product_name: String,
    pub spec: String,
    /// Units on agents' cloud-stock balances.
    pub owed: i64,
    /// Units of pending shipment requests (off the balances, not shipped).
    pub pending: i64,
}

/// Totals per SKU of the balances a filter selects, and the pending
/// requests of the same agent (when one is chosen).
pub async fn owed_totals(db: &Db, filter: &BalanceFilter) -> Result<Vec<OwedTotal>> {
    let w = filter.clause();
    let sql = format!(
        "SELECT k.id, k.code, p.name, k.spec, CAST(COALESCE(SUM(c.qty), 0) AS BIGINT) AS owed {BAL_FROM}{} \
         GROUP BY k.id, k.code, p.name, k.spec ORDER BY k.code",
        w.sql()
    );
    let rows = w.bind(dynamic(sql)).fetch_all(&db.pool).await?;
    let mut pw = Where::new();
    pw.and("r.status = 'pending'", []);
    if let Some(a) = filter
        .agent
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        pw.and("a.code = ?", [BindValue::from(a)]);
    }
    if let Some(id) = filter.agent_id {
        pw.and("r.agent_id = ?", [BindValue::Int(id)]);
    }
    let sql = format!(
        "SELECT l.sku_id, CAST(COALESCE(SUM(l.qty), 0) AS BIGINT) AS n FROM cloud_request_lines l \
         JOIN cloud_requests r ON r.id = l.request_id JOIN agents a ON a.id = r.agent_id{} GROUP BY l.sku_id",
        pw.sql()
    );
    let mut pending: HashMap<i64, i64> = HashMap::new();
    for r in pw.bind(dynamic(sql)).fetch_all(&db.pool).await? {
        pending.insert(r.try_get("sku_id")?, r.try_get("n")?);
    }
    rows.iter()
        .map(|r| {
            let sku_id: i64 = r.try_get("id")?;
            Ok(OwedTotal {
                sku_id,
                sku_code: r.try_get("code")?,
                product_name: r.try_get("name")?,
                spec: r.try_get("spec")?,
                owed: r.try_get("owed")?,
                pending: pending.get(&sku_id).copied().unwrap_or(0),
            })
        })
        .collect()
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

// ---------------------------------------------------------------- staff pages

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stock/cloud", routing::get(cloud_list))
        .route("/stock/cloud/export", routing::get(cloud_export))
        .route("/stock/cloud/requests", routing::get(request_list))
        .route(
            "/stock/cloud/requests/{id}/ship",
            routing::post(request_ship),
        )
        .route(
            "/stock/cloud/requests/{id}/cancel",
            routing::post(request_cancel),
        )
        .route("/m/cloud", routing::get(portal).post(portal_request))
}

#[derive(Template)]
#[template(path = "stock/cloud.html")]
struct CloudPage {
    ctx: PageCtx,
    params: ListParams,
    warehouses: Vec<Warehouse>,
    rows: Vec<CloudRow>,
    totals: Vec<OwedTotal>,
    pager: Pager,
}

impl CloudPage {
    fn selected(&self, id: &i64) -> bool {
        self.params.get_i64("warehouse") == Some(*id)
    }
}

async fn cloud_list(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let filter = BalanceFilter::of(&params);
    let (rows, info) = balances(&s.db, &filter, params.page()).await?;
    Ok(web::page(CloudPage {
        ctx: ctx.titled("menu.cloud_stock", &[GOODS]),
        warehouses: stock_store::warehouses(&s.db).await?,
        totals: owed_totals(&s.db, &filter).await?,
        pager: params.pager(info),
        params,
        rows,
    }))
}

async fn cloud_export(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let page = PageRequest {
        page: 1,
        per_page: export::MAX_EXPORT_ROWS,
    };
    let (rows, _) = balances(&s.db, &BalanceFilter::of(&params), page).await?;
    let t = |k: &str| ctx.t(k);
    let table = Table {
        sheet: t("menu.cloud_stock"),
        headers: vec![
            t("cloud.agent_code"),
            t("cloud.agent_name"),
            t("stock.sku_code"),
            t("stock.product"),
            t("stock.spec"),
            t("warehouse.code"),
            t("warehouse.name"),
            t("cloud.balance"),
            t("cloud.updated_at"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.agent_code.clone(),
                    r.agent_name.clone(),
                    r.sku_code.clone(),
                    r.product_name.clone(),
                    r.spec.clone(),
                    r.warehouse_code.clone(),
                    r.warehouse_name.clone(),
                    r.qty.to_string(),
                    ctx.time(r.updated_at),
                ]
            })
            .collect(),
    };
    export::respond(&table, format, "cloud-stock")
}

#[derive(Template)]
#[template(path = "stock/cloud_requests.html")]
struct RequestsPage {
    ctx: PageCtx,
    params: ListParams,
    statuses: &'static [&'static str],
    requests: Vec<CloudRequest>,
    pager: Pager,
    back: String,
}

async fn request_list(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let (requests, info) = requests(&s.db, &RequestFilter::of(&params), params.page()).await?;
    Ok(web::page(RequestsPage {
        ctx: ctx.titled("menu.cloud_requests", &[GOODS]),
        statuses: STATUSES,
        pager: params.pager(info),
        back: params.href_with(&[]),
        params,
        requests,
    }))
}

/// A `back` link from a form, only if it stays on the request list.
fn back_of(form: &FormPairs) -> String {
    let b = form.get("back");
    if b.starts_with("/stock/cloud/requests") && !b.contains("//") {
        b.to_string()
    } else {
        "/stock/cloud/requests".to_string()
    }
}

async fn request_ship(
    State(s): State<AppState>,
    who: Need<ShippingWrite>,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let back = back_of(&form);
    match ship(
        &s.db,
        &who.actor(),
        id,
        form.get("carrier"),
        form.get("tracking_no"),
    )
    .await
    {
        Ok(()) => Ok(web::redirect_with_flash(
            &back,
            "success",
            "cloud.shipped_flash",
            "",
        )),
        Err(Error::Validation(e)) => {
            let key = e.0.first().map(|x| x.1.clone()).unwrap_or_default();
            Ok(web::redirect_with_flash(&back, "error", &key, ""))
        }
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(&back, "error", key, "")),
        Err(e) => Err(e),
    }
}

async fn request_cancel(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let back = back_of(&form);
    if !form.confirmed() {
        let r = get(&s.db, id).await?;
        let msg = ctx.tf(
            "cloud.confirm_cancel",
            &[("request", &r.request_no), ("agent", &r.agent_name)],
        );
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/stock/cloud/requests/{id}/cancel"),
            form.carry(),
            &back,
            "cloud.cancel",
        ));
    }
    match cancel(&s.db, &who.actor(), id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &back,
            "success",
            "cloud.cancelled_flash",
            "",
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(&back, "error", key, "")),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- portal

#[derive(Template)]
#[template(path = "stock/cloud_portal.html")]
struct PortalPage {
    ctx: PublicCtx,
    rows: Vec<CloudRow>,
    requests: Vec<CloudRequest>,
    form: FormPairs,
    errors: FieldErrors,
    message: Option<String>,
}

impl PortalPage {
    fn value(&self, name: &str) -> String {
        self.form.get(name).to_string()
    }

    fn qty(&self, r: &CloudRow) -> String {
        self.form
            .get(&format!("qty_{}_{}", r.warehouse_id, r.sku_id))
            .to_string()
    }

    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|k| self.ctx.t(k))
    }

    fn status(&self, r: &CloudRequest) -> String {
        self.ctx.t(&format!("cloud.status.{}", r.status))
    }

    fn time(&self, ms: impl Borrow<i64>) -> String {
        weiops_core::time::format_minute(*ms.borrow())
    }
}

async fn render_portal(
    s: &AppState,
    ctx: PublicCtx,
    me: &AgentSession,
    form: FormPairs,
    errors: FieldErrors,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    let mine = BalanceFilter {
        agent_id: Some(me.agent.id),
        ..BalanceFilter::default()
    };
    let (rows, _) = balances(&s.db, &mine, PageRequest::new(Some(1), Some(100))).await?;
    let theirs = RequestFilter {
        agent_id: Some(me.agent.id),
        ..RequestFilter::default()
    };
    let (requests, _) = requests(&s.db, &theirs, PageRequest::new(Some(1), Some(30))).await?;
    Ok(web::page_with_status(
        status,
        PortalPage {
            ctx,
            rows,
            requests,
            form,
            errors,
            message,
        },
    ))
}

async fn portal(State(s): State<AppState>, ctx: PublicCtx, me: AgentSession) -> Result<Response> {
    let form = FormPairs(vec![
        ("receiver_name".into(), me.agent.name.clone()),
        ("receiver_phone".into(), me.agent.phone.clone()),
    ]);
    render_portal(
        &s,
        ctx,
        &me,
        form,
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The lines of the portal form (`qty_{warehouse}_{sku}`): one warehouse
/// per request.
fn portal_lines(form: &FormPairs) -> std::result::Result<(Option<i64>, Vec<NewLine>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut warehouse = None;
    let mut lines = Vec::new();
    for (k, v) in &form.0 {
        let Some((w, sku)) = k
            .strip_prefix("qty_")
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(w, s)| Some((w.parse::<i64>().ok()?, s.parse::<i64>().ok()?)))
        else {
            continue;
        };
        match model::form_qty(v) {
            None => continue,
            Some(Ok(qty)) => lines.push(NewLine { sku_id: sku, qty }),
            Some(Err(_)) => {
                errors.add(k, "orders.bad_qty");
                continue;
            }
        }
        if warehouse.is_some_and(|x| x != w) {
            errors.add("lines", "cloud.one_warehouse");
        }
        warehouse = Some(w);
    }
    if errors.is_empty() {
        Ok((warehouse, lines))
    } else {
        Err(errors)
    }
}

async fn portal_request(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    form: FormPairs,
) -> Result<Response> {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let (warehouse_id, lines) = match portal_lines(&form) {
        Ok(x) => x,
        Err(e) => return render_portal(&s, ctx, &me, form, e, None, unprocessable).await,
    };
    let input = NewRequest {
        agent_id: me.agent.id,
        warehouse_id,
        lines,
        receiver_name: form.get("receiver_name").to_string(),
        receiver_phone: form.get("receiver_phone").to_string(),
        receiver_address: form.get("receiver_address").to_string(),
        note: form.get("note").to_string(),
    };
    let actor = Actor::system(&format!("agent:{}", me.agent.code));
    match request(&s.db, &actor, &input).await {
        Ok(Ok(r)) => Ok(web::redirect_with_flash(
            "/m/cloud",
            "success",
            "cloud.requested_flash",
            &r.request_no,
        )),
        Ok(Err(short)) => {
            let message = Some(shortage_message(ctx.locale, "cloud.short", &short));
            let (e, status) = (FieldErrors::default(), StatusCode::CONFLICT);
            render_portal(&s, ctx, &me, form, e, message, status).await
        }
        Err(Error::Validation(e)) => {
            render_portal(&s, ctx, &me, form, e, None, unprocessable).await
        }
        Err(e @ Error::Conflict(_)) => {
            let message = Some(e.report().message(ctx.locale));
            let (e, status) = (FieldErrors::default(), StatusCode::CONFLICT);
            render_portal(&s, ctx, &me, form, e, message, status).await
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- API

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_balances))
        .routes(routes!(api_requests, api_request))
        .routes(routes!(api_ship))
        .routes(routes!(api_cancel))
}

fn short_response(locale: Locale, request_id: &str, s: &Shortage) -> Response {
    let body = ShortageBody {
        error: ShortageError {
            code: "cloud_stock_short",
            message: shortage_message(locale, "cloud.short", s),
            request_id: request_id.to_string(),
            sku: s.sku_code.clone(),
            available: s.available,
            requested: s.requested,
        },
    };
    (StatusCode::CONFLICT, Json(body)).into_response()
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct BalanceQuery {
    /// An agent code.
    agent: Option<String>,
    /// The start of a SKU code or part of a product name.
    q: Option<String>,
    warehouse: Option<i64>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalancePage {
    pub items: Vec<CloudRow>,
    /// Per SKU, over every balance the filter selects.
    pub totals: Vec<OwedTotal>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// Cloud-stock balances (above zero) per agent, SKU and warehouse.
#[utoipa::path(get, path = "/api/v1/cloud-stock", tag = "stock", params(BalanceQuery), responses((status = 200, body = BalancePage)))]
async fn api_balances(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    params: ListParams,
) -> Result<Json<BalancePage>> {
    let filter = BalanceFilter::of(&params);
    let (items, info) = balances(&s.db, &filter, params.page()).await?;
    Ok(Json(BalancePage {
        items,
        totals: owed_totals(&s.db, &filter).await?,
        page: info.page,
        per_page: info.per_page,
        total: info.total,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct RequestQuery {
    /// `pending`, `shipped` or `cancelled`.
    status: Option<String>,
    /// An agent code.
    agent: Option<String>,
    /// The start of a request number, or the receiver's name or phone.
    q: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestPage {
    pub items: Vec<CloudRequest>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// Shipment requests from cloud stock, newest first.
#[utoipa::path(get, path = "/api/v1/cloud-stock/requests", tag = "stock", params(RequestQuery), responses((status = 200, body = RequestPage)))]
async fn api_requests(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    params: ListParams,
) -> Result<Json<RequestPage>> {
    let (items, info) = requests(&s.db, &RequestFilter::of(&params), params.page()).await?;
    Ok(Json(RequestPage {
        items,
        page: info.page,
        per_page: info.per_page,
        total: info.total,
    }))
}

/// Requests shipment of cloud stock on an agent's behalf (提货/代发). All
/// or nothing: when a line is more than the balance, 409 with the SKU and
/// the balance, and nothing changes.
#[utoipa::path(post, path = "/api/v1/cloud-stock/requests", tag = "stock", request_body = NewRequest,
    responses((status = 201, body = CloudRequest), (status = 404, description = "No such agent"), (status = 409, body = ShortageBody), (status = 422)))]
async fn api_request(
    State(s): State<AppState>,
    who: Need<OrdersWrite>,
    Extension(locale): Extension<Locale>,
    Json(body): Json<NewRequest>,
) -> Result<Response> {
    Ok(match request(&s.db, &who.actor(), &body).await? {
        Ok(r) => (StatusCode::CREATED, Json(r)).into_response(),
        Err(short) => short_response(locale, &who.meta.request_id, &short),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ShipInput {
    pub carrier: String,
    pub tracking_no: String,
}

/// Marks a pending request shipped: its reserved units leave the warehouse.
#[utoipa::path(post, path = "/api/v1/cloud-stock/requests/{id}/ship", tag = "stock", params(("id" = i64, Path)), request_body = ShipInput,
    responses((status = 200, body = CloudRequest), (status = 404), (status = 409, description = "Not pending"), (status = 422)))]
async fn api_ship(
    State(s): State<AppState>,
    who: Need<ShippingWrite>,
    Path(id): Path<i64>,
    Json(body): Json<ShipInput>,
) -> Result<Json<CloudRequest>> {
    ship(&s.db, &who.actor(), id, &body.carrier, &body.tracking_no).await?;
    Ok(Json(get(&s.db, id).await?))
}

/// Cancels a pending request: its units go back to the agent's cloud stock.
#[utoipa::path(post, path = "/api/v1/cloud-stock/requests/{id}/cancel", tag = "stock", params(("id" = i64, Path)),
    responses((status = 200, body = CloudRequest), (status = 404), (status = 409, description = "Not pending")))]
async fn api_cancel(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Path(id): Path<i64>,
) -> Result<Json<CloudRequest>> {
    cancel(&s.db, &who.actor(), id).await?;
    Ok(Json(get(&s.db, id).await?))
}
