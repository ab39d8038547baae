//! Carriers and shipments: the SQL of 打单发货.
//!
//! Shipping a parcel reserves its (carrier, tracking number) first as a
//! `pending` shipment row, so a duplicate is refused by the unique index
//! before anything moves; then the order (`purchase::advance`) or the
//! cloud-stock request (`cloud::store::ship`) ships in its own transaction;
//! then the row becomes `shipped` and the agent gets a notice
//! (`crate::agents::notices`). When the move is
//! refused the reservation is deleted again.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use weiops_core::purchase::{OrderAction, OrderState};

use crate::agents::notices;
use crate::audit::{self, Actor, Change};
use crate::cloud;
use crate::db::{Db, UniqueViolation, dynamic, now_ms};
use crate::error::{FieldErrors, RowProblem};
use crate::orders::purchase::{self, OrderHead};
use crate::{Error, Result};

/// Most parcels one print or one import takes.
pub const MAX_BATCH: usize = 500;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Carrier {
    pub code: String,
    pub name: String,
    pub builtin: bool,
    pub active: bool,
}

pub async fn carriers(db: &Db) -> Result<Vec<Carrier>> {
    let rows =
        sqlx::query("SELECT code, name, builtin, active FROM carriers ORDER BY builtin DESC, code")
            .fetch_all(&db.pool)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(Carrier {
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                builtin: r.try_get::<i64, _>("builtin")? == 1,
                active: r.try_get::<i64, _>("active")? == 1,
            })
        })
        .collect()
}

/// The active carrier a code or a name (as typed in a sheet) means.
fn resolve<'a>(list: &'a [Carrier], typed: &str) -> Option<&'a Carrier> {
    let typed = typed.trim();
    list.iter()
        .filter(|c| c.active)
        .find(|c| c.code.eq_ignore_ascii_case(typed) || c.name == typed)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewCarrier {
    /// Upper-case letters and digits, e.g. `DBL`.
    pub code: String,
    pub name: String,
}

#[tracing::instrument(skip(db, actor))]
pub async fn add_carrier(db: &Db, actor: &Actor, input: &NewCarrier) -> Result<Carrier> {
    let code = input.code.trim().to_ascii_uppercase();
    let name = input.name.trim();
    let mut e = FieldErrors::default();
    if code.is_empty()
        || code.len() > 16
        || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        e.add("code", "carrier.bad_code");
    }
    if name.is_empty() || name.chars().count() > 30 {
        e.add("name", "carrier.bad_name");
    }
    e.into_result()?;
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO carriers (code, name, builtin, active) VALUES ($1, $2, 0, 1)")
        .bind(&code)
        .bind(name)
        .execute(&mut **tx)
        .await
        .on_unique(Error::Conflict("carrier.exists"))?;
    audit::record(
        &mut tx,
        actor,
        Change::new("shipment.add_carrier", "carrier", &code)
            .summary(name.to_string())
            .after(serde_json::json!({"code": code, "name": name})),
    )
    .await?;
    tx.commit().await?;
    Ok(Carrier {
        code,
        name: name.to_string(),
        builtin: false,
        active: true,
    })
}

// ---------------------------------------------------------------- parcels

/// A parcel waiting to leave: a paid order that ships from the warehouse
/// (not kept in cloud stock), picked or not yet, or a pending cloud-stock
/// request. `no` is the order or request number.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Parcel {
    /// `order` or `cloud_request`.
    pub kind: String,
    pub no: String,
    /// Orders: `paid` (待配货) or `picking` (配货中); requests: `pending`.
    pub status: String,
    pub id: i64,
    pub agent_id: i64,
    pub agent_code: String,
    pub agent_name: String,
    pub receiver_name: String,
    pub receiver_phone: String,
    pub receiver_address: String,
    pub warehouse_name: String,
    pub warehouse_address: String,
    pub created_at: i64,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Item {
    pub sku_code: String,
    pub product_name: String,
    pub spec: String,
    pub qty: i64,
}

impl Parcel {
    pub fn units(&self) -> i64 {
        self.items.iter().map(|i| i.qty).sum()
    }
}

/// Paid orders join the queue at once: a clerk expects what was paid to
/// be there to pick, without opening each order. The terms `status IN
/// (...)` and `source = 'app'` are those of the partial index
/// orders_to_ship (migration shipping_queue), written the same way so
/// both engines read it instead of the millions of imported paid orders.
const ORDER_SELECT: &str = "SELECT o.id, o.order_no AS no, o.status, o.agent_id, a.code AS agent_code, a.name AS agent_name, \
     COALESCE(o.receiver_name, '') AS receiver_name, COALESCE(o.receiver_phone, '') AS receiver_phone, \
     COALESCE(o.receiver_address, '') AS receiver_address, COALESCE(w.name, '') AS warehouse_name, \
     COALESCE(w.address, '') AS warehouse_address, o.created_at \
     FROM orders o JOIN agents a ON a.id = o.agent_id LEFT JOIN warehouses w ON w.id = o.warehouse_id \
     WHERE o.status IN ('paid', 'picking') AND o.source = 'app' AND COALESCE(o.fulfilment, '') <> 'cloud'";

const REQUEST_SELECT: &str = "SELECT r.id, r.request_no AS no, r.status, r.agent_id, a.code AS agent_code, a.name AS agent_name, \
     r.receiver_name, r.receiver_phone, r.receiver_address, w.name AS warehouse_name, \
     w.address AS warehouse_address, r.created_at \
     FROM cloud_requests r JOIN agents a ON a.id = r.agent_id JOIN warehouses w ON w.id = r.warehouse_id \
     WHERE r.status = 'pending'";

fn parcel(kind: &str, r: &AnyRow) -> Result<Parcel> {
    Ok(Parcel {
        kind: kind.to_string(),
        no: r.try_get("no")?,
        status: r.try_get("status")?,
        id: r.try_get("id")?,
        agent_id: r.try_get("agent_id")?,
        agent_code: r.try_get("agent_code")?,
        agent_name: r.try_get("agent_name")?,
        receiver_name: r.try_get("receiver_name")?,
        receiver_phone: r.try_get("receiver_phone")?,
        receiver_address: r.try_get("receiver_address")?,
        warehouse_name: r.try_get("warehouse_name")?,
        warehouse_address: r.try_get("warehouse_address")?,
        created_at: r.try_get("created_at")?,
        items: Vec::new(),
    })
}

async fn fill_items(db: &Db, p: &mut Parcel) -> Result<()> {
    let sql = if p.kind == "order" {
        "SELECT s.code, pr.name, s.spec, l.qty FROM order_lines l JOIN skus s ON s.id = l.sku_id \
         JOIN products pr ON pr.id = s.product_id WHERE l.order_id = $1 ORDER BY l.id"
    } else {
        "SELECT s.code, pr.name, s.spec, l.qty FROM cloud_request_lines l JOIN skus s ON s.id = l.sku_id \
         JOIN products pr ON pr.id = s.product_id WHERE l.request_id = $1 ORDER BY s.code"
    };
    let rows = sqlx::query(sql).bind(p.id).fetch_all(&db.pool).await?;
    p.items = rows
        .iter()
        .map(|r| {
            Ok(Item {
                sku_code: r.try_get("code")?,
                product_name: r.try_get("name")?,
                spec: r.try_get("spec")?,
                qty: r.try_get("qty")?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(())
}

/// Everything waiting to ship, oldest first (at most `MAX_BATCH` of each).
pub async fn to_ship(db: &Db) -> Result<Vec<Parcel>> {
    let mut out = Vec::new();
    for (kind, select, order) in [
        ("order", ORDER_SELECT, "o.created_at, o.id"),
        ("cloud_request", REQUEST_SELECT, "r.created_at, r.id"),
    ] {
        let rows = dynamic(format!("{select} ORDER BY {order} LIMIT {MAX_BATCH}"))
            .fetch_all(&db.pool)
            .await?;
        for r in &rows {
            let mut p = parcel(kind, r)?;
            fill_items(db, &mut p).await?;
            out.push(p);
        }
    }
    Ok(out)
}

/// The waiting parcel numbered `no` (an order or a `TH…` request).
pub async fn waiting(db: &Db, no: &str) -> Result<Parcel> {
    let (kind, sql) = if no.starts_with("TH") {
        (
            "cloud_request",
            format!("{REQUEST_SELECT} AND r.request_no = $1"),
        )
    } else {
        ("order", format!("{ORDER_SELECT} AND o.order_no = $1"))
    };
    let r = dynamic(sql)
        .bind(no)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    let mut p = parcel(kind, &r)?;
    fill_items(db, &mut p).await?;
    Ok(p)
}

/// `138****5678` for a privacy waybill: the middle four digits hidden.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() < 7 {
        return "*".repeat(digits.len());
    }
    let n = digits.len();
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[n - 4..].iter().collect();
    format!("{head}****{tail}")
}

// ---------------------------------------------------------------- shipping

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Shipment {
    pub id: i64,
    /// The order or cloud-stock request number.
    pub ref_no: String,
    /// `order` or `cloud_request`.
    pub kind: String,
    pub agent_code: String,
    pub agent_name: String,
    pub carrier: String,
    pub carrier_name: String,
    pub tracking_no: String,
    pub status: String,
    pub created_at: i64,
    pub shipped_at: Option<i64>,
    /// The username of who shipped it, as recorded.
    pub shipped_by_name: String,
    /// Who shipped it as people read it: the staff member's display name.
    pub shipped_by_display: String,
}

const SHIPMENT_SELECT: &str = "SELECT s.id, COALESCE(o.order_no, r.request_no) AS ref_no, \
     CASE WHEN s.order_id IS NULL THEN 'cloud_request' ELSE 'order' END AS kind, \
     a.code AS agent_code, a.name AS agent_name, s.carrier, c.name AS carrier_name, s.tracking_no, \
     s.status, s.created_at, s.shipped_at, s.shipped_by_name, \
     COALESCE((SELECT u.display_name FROM users u WHERE u.id = s.shipped_by), s.shipped_by_name) AS shipped_by_display \
     FROM shipments s JOIN carriers c ON c.code = s.carrier \
     LEFT JOIN orders o ON o.id = s.order_id LEFT JOIN cloud_requests r ON r.id = s.cloud_request_id \
     JOIN agents a ON a.id = COALESCE(o.agent_id, r.agent_id)";

fn shipment(r: &AnyRow) -> Result<Shipment> {
    Ok(Shipment {
        id: r.try_get("id")?,
        ref_no: r.try_get("ref_no")?,
        kind: r.try_get("kind")?,
        agent_code: r.try_get("agent_code")?,
        agent_name: r.try_get("agent_name")?,
        carrier: r.try_get("carrier")?,
        carrier_name: r.try_get("carrier_name")?,
        tracking_no: r.try_get("tracking_no")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        shipped_at: r.try_get("shipped_at")?,
        shipped_by_name: r.try_get("shipped_by_name")?,
        shipped_by_display: r.try_get("shipped_by_display")?,
    })
}

/// Shipped parcels, newest first.
pub async fn shipments(db: &Db, limit: i64, offset: i64) -> Result<(Vec<Shipment>, i64)> {
    let rows = dynamic(format!(
        "{SHIPMENT_SELECT} WHERE s.status = 'shipped' ORDER BY s.shipped_at DESC, s.id DESC LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM shipments WHERE status = 'shipped'")
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    Ok((rows.iter().map(shipment).collect::<Result<_>>()?, total))
}

async fn shipment_by_id(db: &Db, id: i64) -> Result<Shipment> {
    let r = dynamic(format!("{SHIPMENT_SELECT} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    shipment(&r)
}

fn check_tracking(tracking_no: &str) -> Result<()> {
    let ok = !tracking_no.is_empty()
        && tracking_no.len() <= 64
        && tracking_no
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        let mut e = FieldErrors::default();
        e.add("tracking_no", "shipping.bad_tracking");
        Err(Error::Validation(e))
    }
}

/// Ships the waiting parcel `no` with `carrier` (code or name) and
/// `tracking_no`, records the shipment and tells the agent. A tracking
/// number already used at that carrier is a 409 and nothing moves.
#[tracing::instrument(skip(db, actor))]
pub async fn ship(
    db: &Db,
    actor: &Actor,
    no: &str,
    carrier: &str,
    tracking_no: &str,
) -> Result<Shipment> {
    let tracking_no = tracking_no.trim();
    let list = carriers(db).await?;
    let Some(carrier) = resolve(&list, carrier) else {
        let mut e = FieldErrors::default();
        e.add("carrier", "shipping.unknown_carrier");
        return Err(Error::Validation(e));
    };
    check_tracking(tracking_no)?;
    let parcel = waiting(db, no.trim()).await.map_err(|e| match e {
        Error::NotFound => Error::Conflict("shipping.not_waiting"),
        e => e,
    })?;
    let is_order = parcel.kind == "order";
    // One transaction: the tracking number (unique), the order's or
    // request's move with its stock, the notice and the audit entry.
    let order_head = if is_order {
        Some(purchase::head(db, &parcel.no).await?)
    } else {
        None
    };
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO shipments (order_id, cloud_request_id, carrier, tracking_no, status, created_at, shipped_by, shipped_by_name) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7) RETURNING id",
    )
    .bind(is_order.then_some(parcel.id))
    .bind((!is_order).then_some(parcel.id))
    .bind(&carrier.code)
    .bind(tracking_no)
    .bind(now_ms())
    .bind(actor.user_id)
    .bind(&actor.name)
    .fetch_one(&mut **tx)
    .await
    .on_unique(Error::Conflict("shipping.duplicate_tracking"))?
    .try_get("id")?;
    let note = format!("{} {}", carrier.name, tracking_no);
    match &order_head {
        Some(order) => {
            // A paid order not picked yet is picked as it ships: the
            // timeline shows 配货中 then 已发货, in one transaction.
            let picking = if order.status == OrderState::Paid {
                let to =
                    purchase::advance_in(&mut tx, actor, order, OrderAction::Allocate, "").await?;
                OrderHead {
                    status: to,
                    ..order.clone()
                }
            } else {
                order.clone()
            };
            purchase::advance_in(&mut tx, actor, &picking, OrderAction::Ship, &note).await?;
        }
        None => {
            cloud::store::ship_in(&mut tx, db, actor, parcel.id, &carrier.name, tracking_no).await?
        }
    }
    let now = now_ms();
    sqlx::query("UPDATE shipments SET status = 'shipped', shipped_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let message = format!(
        "您的订单 {} 已发货，{} {}",
        parcel.no, carrier.name, tracking_no
    );
    notices::add(
        &mut tx,
        parcel.agent_id,
        "shipped",
        &message,
        &parcel.no,
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("shipment.ship", "shipment", id.to_string())
            .summary(format!("{} {} {}", parcel.no, carrier.code, tracking_no))
            .after(serde_json::json!({"ref_no": parcel.no, "carrier": carrier.code, "tracking_no": tracking_no})),
    )
    .await?;
    tx.commit().await?;
    shipment_by_id(db, id).await
}

/// 开始配货 from the queue: the waiting order `no` moves from 已付款 to
/// 配货中 (the agent sees it is being picked). Returns false when it was
/// already picking; a cloud-stock request has no picking step and is
/// refused, as is anything not waiting to ship.
#[tracing::instrument(skip(db, actor))]
pub async fn allocate(db: &Db, actor: &Actor, no: &str) -> Result<bool> {
    let parcel = waiting(db, no.trim()).await.map_err(|e| match e {
        Error::NotFound => Error::Conflict("shipping.not_waiting"),
        e => e,
    })?;
    if parcel.kind != "order" {
        return Err(Error::Conflict("shipping.not_an_order"));
    }
    if parcel.status != OrderState::Paid.as_str() {
        return Ok(false);
    }
    purchase::advance(db, actor, &parcel.no, OrderAction::Allocate, "").await?;
    Ok(true)
}

/// One row of a tracking-number sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingRow {
    pub no: String,
    pub carrier: String,
    pub tracking_no: String,
}

fn problem(row: usize, id: &str, column: &str, key: &str, value: &str) -> RowProblem {
    RowProblem {
        row,
        id: id.to_string(),
        column: column.to_string(),
        key: key.to_string(),
        value: value.to_string(),
    }
}

/// Reads and checks a sheet with the columns order_no, carrier,
/// tracking_no (any order, header on line 1). Every row is checked before
/// anything ships: one bad row refuses the whole file, with row numbers.
pub async fn check_sheet(db: &Db, bytes: &[u8]) -> Result<Vec<TrackingRow>> {
    let table = crate::org::transfer::read_table(bytes)?;
    let Some((header, rows)) = table.split_first() else {
        return Err(Error::BadRequest("shipping.no_rows"));
    };
    let col = |name: &str| {
        header.iter().position(|h| {
            h.trim()
                .trim_start_matches('\u{feff}')
                .eq_ignore_ascii_case(name)
        })
    };
    let (Some(c_no), Some(c_carrier), Some(c_tracking)) =
        (col("order_no"), col("carrier"), col("tracking_no"))
    else {
        return Err(Error::ImportRejected(vec![problem(
            1,
            "",
            "",
            "shipping.import_header",
            &header.join(","),
        )]));
    };
    let list = carriers(db).await?;
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let mut seen_no = std::collections::HashSet::new();
    let mut seen_tracking = std::collections::HashSet::new();
    for (i, r) in rows.iter().enumerate() {
        let line = i + 2;
        let cell = |c: usize| r.get(c).map(|s| s.trim().to_string()).unwrap_or_default();
        let (no, carrier, tracking) = (cell(c_no), cell(c_carrier), cell(c_tracking));
        if no.is_empty() && carrier.is_empty() && tracking.is_empty() {
            continue;
        }
        if out.len() + problems.len() >= MAX_BATCH {
            problems.push(problem(line, &no, "", "shipping.import_too_many", ""));
            break;
        }
        if !seen_no.insert(no.clone()) {
            problems.push(problem(
                line,
                &no,
                "order_no",
                "shipping.import_repeated",
                &no,
            ));
        } else if let Err(e) = waiting(db, &no).await {
            match e {
                Error::NotFound => {
                    problems.push(problem(line, &no, "order_no", "shipping.not_waiting", &no))
                }
                e => return Err(e),
            }
        }
        let resolved = resolve(&list, &carrier);
        if resolved.is_none() {
            problems.push(problem(
                line,
                &no,
                "carrier",
                "shipping.unknown_carrier",
                &carrier,
            ));
        }
        if check_tracking(&tracking).is_err() {
            problems.push(problem(
                line,
                &no,
                "tracking_no",
                "shipping.bad_tracking",
                &tracking,
            ));
        } else if let Some(c) = resolved {
            let used: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM shipments WHERE carrier = $1 AND tracking_no = $2",
            )
            .bind(&c.code)
            .bind(&tracking)
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?;
            if used > 0 || !seen_tracking.insert((c.code.clone(), tracking.clone())) {
                problems.push(problem(
                    line,
                    &no,
                    "tracking_no",
                    "shipping.duplicate_tracking",
                    &tracking,
                ));
            }
        }
        out.push(TrackingRow {
            no,
            carrier: resolved.map(|c| c.code.clone()).unwrap_or(carrier),
            tracking_no: tracking,
        });
    }
    if !problems.is_empty() {
        return Err(Error::ImportRejected(problems));
    }
    if out.is_empty() {
        return Err(Error::BadRequest("shipping.no_rows"));
    }
    Ok(out)
}

/// Checks the sheet, then ships every row. Returns how many shipped.
#[tracing::instrument(skip(db, actor, bytes))]
pub async fn import(db: &Db, actor: &Actor, bytes: &[u8]) -> Result<usize> {
    let rows = check_sheet(db, bytes).await?;
    for r in &rows {
        ship(db, actor, &r.no, &r.carrier, &r.tracking_no).await?;
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_middle_of_a_phone() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("139 1234 5678"), "139****5678");
        assert_eq!(mask_phone("12"), "**");
    }

    #[test]
    fn resolves_carriers_by_code_or_name() {
        let list = vec![
            Carrier {
                code: "SF".into(),
                name: "顺丰".into(),
                builtin: true,
                active: true,
            },
            Carrier {
                code: "OLD".into(),
                name: "旧快递".into(),
                builtin: false,
                active: false,
            },
        ];
        assert_eq!(resolve(&list, "sf").unwrap().code, "SF");
        assert_eq!(resolve(&list, " 顺丰 ").unwrap().code, "SF");
        assert!(resolve(&list, "OLD").is_none());
    }
}
