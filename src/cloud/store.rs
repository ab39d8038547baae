//! Cloud-stock shipment requests (提货/代发) and the reading of balances:
//! a request takes every line from the agent's balance in one transaction
//! (the ledger's conditional UPDATEs, `crate::stock::cloud`), staff ship it
//! (the reserved units leave the warehouse through `moves::ship_reserved`)
//! or cancel it (the units go back to the agent's balance). Every change
//! writes the audit log in the same transaction.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa::ToSchema;
use weiops_core::paging::{PageInfo, PageRequest};

use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, Where, dynamic, fetch_page, like_pattern, like_prefix, now_ms};
use crate::error::FieldErrors;
use crate::orders::model::{self, Fulfilment, NewLine, NewOrder};
use crate::stock::cloud::{Kind, Slot, credit, debit};
use crate::stock::moves::{self, Ref};
use crate::stock::store::Outcome;
use crate::web::list::ListParams;
use crate::{Error, Result};

pub const STATUSES: &[&str] = &["pending", "shipped", "cancelled"];

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
