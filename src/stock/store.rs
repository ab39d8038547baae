//! The SQL of warehouses, stock levels, movements and counts. Quantities
//! change only through `moves`; this file decides what may move, locks
//! what must not change meanwhile, and writes the audit entry in the same
//! transaction.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use weiops_core::paging::{PageInfo, PageRequest};
use weiops_core::time::{parse_day_end, parse_day_start};

use super::moves::{self, Kind, Ref, Shortage};
use super::rules::{self, Qty};
use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, Tx, Where, dynamic, fetch_page, like_pattern, like_prefix, now_ms};
use crate::error::FieldErrors;
use crate::{Error, Result};

/// What a stock change ends in when it is refused for want of stock.
pub type Outcome<T> = std::result::Result<T, Shortage>;

fn flag(r: &AnyRow, col: &str) -> Result<bool> {
    Ok(r.try_get::<i64, _>(col)? == 1)
}

fn one_error(field: &str, key: &str) -> Error {
    let mut e = FieldErrors::default();
    e.add(field, key);
    Error::Validation(e)
}

// ---------------------------------------------------------------- warehouses

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Warehouse {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub address: String,
    pub active: bool,
    /// Exactly one warehouse is the default (where orders ship from unless
    /// they say otherwise).
    pub is_default: bool,
    pub created_at: i64,
    /// Units on hand, all SKUs together.
    pub on_hand: i64,
    /// SKUs with goods on hand.
    pub skus: i64,
}

/// A warehouse as the form or the API sets it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct WarehouseInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub address: String,
    /// Default true. A warehouse holding stock cannot be deactivated.
    #[serde(default = "yes")]
    pub active: bool,
    /// Making one warehouse the default takes the flag from the other.
    #[serde(default)]
    pub is_default: bool,
}

fn yes() -> bool {
    true
}

const WAREHOUSE_SELECT: &str = "SELECT w.id, w.code, w.name, w.address, w.active, w.is_default, w.created_at, \
     CAST(COALESCE((SELECT SUM(s.on_hand) FROM stock s WHERE s.warehouse_id = w.id), 0) AS BIGINT) AS on_hand, \
     (SELECT COUNT(*) FROM stock s WHERE s.warehouse_id = w.id AND s.on_hand > 0) AS skus \
     FROM warehouses w";

fn warehouse_of(r: &AnyRow) -> Result<Warehouse> {
    Ok(Warehouse {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        address: r.try_get("address")?,
        active: flag(r, "active")?,
        is_default: flag(r, "is_default")?,
        created_at: r.try_get("created_at")?,
        on_hand: r.try_get("on_hand")?,
        skus: r.try_get("skus")?,
    })
}

/// Every warehouse: the default first, then active ones by code.
pub async fn warehouses(db: &Db) -> Result<Vec<Warehouse>> {
    let sql = format!("{WAREHOUSE_SELECT} ORDER BY w.is_default DESC, w.active DESC, w.code");
    dynamic(sql)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(warehouse_of)
        .collect()
}

pub async fn warehouse(db: &Db, id: i64) -> Result<Warehouse> {
    let sql = format!("{WAREHOUSE_SELECT} WHERE w.id = $1");
    let row = dynamic(sql)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    warehouse_of(&row)
}

async fn warehouse_tx(tx: &mut Tx<'_>, id: i64) -> Result<Option<Warehouse>> {
    let sql = format!("{WAREHOUSE_SELECT} WHERE w.id = $1");
    let row = dynamic(sql).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(warehouse_of).transpose()
}

/// Locks a warehouse row for the rest of the transaction with a no-op
/// UPDATE (a row lock on PostgreSQL, the write lock on SQLite). Goods
/// moving in and deactivation both take it first, so a warehouse cannot be
/// switched off while stock arrives. Whether it exists and is active.
async fn lock_warehouse(tx: &mut Tx<'_>, id: i64) -> Result<Option<bool>> {
    let n = sqlx::query("UPDATE warehouses SET active = active WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Ok(None);
    }
    let active: i64 = sqlx::query("SELECT active FROM warehouses WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("active")?;
    Ok(Some(active == 1))
}

fn check_warehouse(input: &WarehouseInput) -> Result<()> {
    let mut e = FieldErrors::default();
    if let Err(why) = rules::check_warehouse_code(&input.code) {
        e.invalid("code", why);
    }
    if let Err(why) = rules::check_text(&input.name, true, 64) {
        e.invalid("name", why);
    }
    if let Err(why) = rules::check_text(&input.address, false, 200) {
        e.invalid("address", why);
    }
    if input.is_default && !input.active {
        e.add("is_default", "warehouse.default_inactive");
    }
    e.into_result()
}

/// Moves the default flag to `id`, touching every row so that two people
/// choosing different defaults at once serialise and one default remains.
async fn make_default(tx: &mut Tx<'_>, id: i64) -> Result<()> {
    sqlx::query("UPDATE warehouses SET is_default = CASE WHEN id = $1 THEN 1 ELSE 0 END")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn code_taken(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            one_error("code", "warehouse.code_taken")
        }
        _ => Error::from(e),
    }
}

fn warehouse_json(w: &WarehouseInput) -> serde_json::Value {
    serde_json::json!({
        "code": w.code.trim(), "name": w.name.trim(), "address": w.address.trim(),
        "active": w.active, "is_default": w.is_default,
    })
}

/// Creates a warehouse; the first one (or one marked so) becomes the default.
#[tracing::instrument(skip(db, actor, input))]
pub async fn create_warehouse(db: &Db, actor: &Actor, input: &WarehouseInput) -> Result<i64> {
    check_warehouse(input)?;
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO warehouses (code, name, address, active, is_default, created_at) VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
    )
    .bind(input.code.trim())
    .bind(input.name.trim())
    .bind(input.address.trim())
    .bind(i64::from(input.active))
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await
    .map_err(code_taken)?
    .try_get("id")?;
    let defaults: i64 = sqlx::query("SELECT COUNT(*) AS n FROM warehouses WHERE is_default = 1")
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    if input.is_default || (defaults == 0 && input.active) {
        make_default(&mut tx, id).await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("warehouse.create", "warehouse", id)
            .summary(format!("{} {}", input.code.trim(), input.name.trim()))
            .after(warehouse_json(input)),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes a warehouse. Deactivating one that holds stock (or has a count
/// open) is refused, as is leaving the installation without a default.
#[tracing::instrument(skip(db, actor, input))]
pub async fn update_warehouse(
    db: &Db,
    actor: &Actor,
    id: i64,
    input: &WarehouseInput,
) -> Result<()> {
    check_warehouse(input)?;
    let mut tx = db.begin_write().await?;
    if lock_warehouse(&mut tx, id).await?.is_none() {
        return Err(Error::NotFound);
    }
    let before = warehouse_tx(&mut tx, id).await?.ok_or(Error::NotFound)?;
    if before.is_default && !input.is_default {
        return Err(one_error("is_default", "warehouse.need_default"));
    }
    if before.active && !input.active {
        // Read after taking the lock: goods that arrived before it are seen,
        // goods arriving after it find the warehouse inactive.
        let held: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM stock WHERE warehouse_id = $1 AND (on_hand > 0 OR reserved > 0)",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
        if held > 0 {
            return Err(Error::Conflict("warehouse.has_stock"));
        }
        if open_count_of(&mut tx, id).await?.is_some() {
            return Err(Error::Conflict("warehouse.count_open"));
        }
    }
    sqlx::query(
        "UPDATE warehouses SET code = $1, name = $2, address = $3, active = $4 WHERE id = $5",
    )
    .bind(input.code.trim())
    .bind(input.name.trim())
    .bind(input.address.trim())
    .bind(i64::from(input.active))
    .bind(id)
    .execute(&mut **tx)
    .await
    .map_err(code_taken)?;
    if input.is_default && !before.is_default {
        make_default(&mut tx, id).await?;
    }
    let action = if before.active && !input.active {
        "warehouse.deactivate"
    } else if !before.active && input.active {
        "warehouse.activate"
    } else if input.is_default && !before.is_default {
        "warehouse.set_default"
    } else {
        "warehouse.update"
    };
    audit::record(
        &mut tx,
        actor,
        Change::new(action, "warehouse", id)
            .summary(format!("{} {}", input.code.trim(), input.name.trim()))
            .before(serde_json::json!({
                "code": before.code, "name": before.name, "address": before.address,
                "active": before.active, "is_default": before.is_default,
            }))
            .after(warehouse_json(input)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

impl Warehouse {
    /// This warehouse as an input, to change one thing of it.
    pub fn input(&self) -> WarehouseInput {
        WarehouseInput {
            code: self.code.clone(),
            name: self.name.clone(),
            address: self.address.clone(),
            active: self.active,
            is_default: self.is_default,
        }
    }
}

// ---------------------------------------------------------------- SKUs

/// A SKU as stock pages name it.
#[derive(Debug, Clone)]
pub struct SkuRef {
    pub id: i64,
    pub code: String,
}

async fn sku_by_code(tx: &mut Tx<'_>, code: &str) -> Result<Option<SkuRef>> {
    let row = sqlx::query("SELECT id, code FROM skus WHERE code = $1")
        .bind(code.trim())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(r) => Some(SkuRef {
            id: r.try_get("id")?,
            code: r.try_get("code")?,
        }),
        None => None,
    })
}

async fn sku_by_id(tx: &mut Tx<'_>, id: i64) -> Result<Option<SkuRef>> {
    let row = sqlx::query("SELECT id, code FROM skus WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(r) => Some(SkuRef {
            id: r.try_get("id")?,
            code: r.try_get("code")?,
        }),
        None => None,
    })
}

// ---------------------------------------------------------------- stock levels

/// One SKU in one warehouse.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockRow {
    pub warehouse_id: i64,
    pub warehouse_code: String,
    pub warehouse_name: String,
    pub sku_id: i64,
    pub sku_code: String,
    pub spec: String,
    pub product_name: String,
    pub on_hand: i64,
    pub reserved: i64,
    /// On hand minus reserved.
    pub available: i64,
    /// Alert when available is at or under this.
    pub low_alert: i64,
    /// Available at or under the threshold, in an active warehouse.
    pub low: bool,
    pub updated_at: i64,
}

/// One SKU across every warehouse.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct SkuTotal {
    pub sku_id: i64,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub warehouses: i64,
    /// 云仓: goods agents have paid for and keep at head office, owed to
    /// them (the sum of their cloud-stock balances; still reserved here).
    pub cloud_owed: Option<i64>,
}

/// The filters of the stock list.
#[derive(Debug, Clone, Default)]
pub struct StockFilter {
    pub warehouse: Option<i64>,
    /// The start of a SKU code, or part of a product name.
    pub q: Option<String>,
    /// Only rows at or under their threshold.
    pub low: bool,
}

const LOW: &str = "w.active = 1 AND s.on_hand - s.reserved <= s.low_alert";
const STOCK_SELECT: &str = "SELECT s.warehouse_id, w.code AS warehouse_code, w.name AS warehouse_name, w.active, \
     s.sku_id, k.code AS sku_code, k.spec, p.name AS product_name, s.on_hand, s.reserved, s.low_alert, s.updated_at";
const STOCK_FROM: &str = "FROM stock s JOIN warehouses w ON w.id = s.warehouse_id \
     JOIN skus k ON k.id = s.sku_id JOIN products p ON p.id = k.product_id";
const STOCK_ORDER: &str = "k.code, w.code";

impl StockFilter {
    fn clause(&self) -> Where {
        let mut w = Where::new();
        if let Some(id) = self.warehouse {
            w.and("s.warehouse_id = ?", [BindValue::Int(id)]);
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            w.and(
                "(k.code LIKE ? ESCAPE '\\' OR p.name LIKE ? ESCAPE '\\')",
                [like_prefix(q).into(), like_pattern(q).into()],
            );
        }
        if self.low {
            w.and(LOW, []);
        }
        w
    }
}

fn stock_of(r: &AnyRow) -> Result<StockRow> {
    let on_hand: i64 = r.try_get("on_hand")?;
    let reserved: i64 = r.try_get("reserved")?;
    let low_alert: i64 = r.try_get("low_alert")?;
    Ok(StockRow {
        warehouse_id: r.try_get("warehouse_id")?,
        warehouse_code: r.try_get("warehouse_code")?,
        warehouse_name: r.try_get("warehouse_name")?,
        sku_id: r.try_get("sku_id")?,
        sku_code: r.try_get("sku_code")?,
        spec: r.try_get("spec")?,
        product_name: r.try_get("product_name")?,
        on_hand,
        reserved,
        available: rules::available(on_hand, reserved),
        low_alert,
        low: flag(r, "active")? && rules::is_low(on_hand, reserved, low_alert),
        updated_at: r.try_get("updated_at")?,
    })
}

/// A page of stock rows, by SKU code then warehouse code.
#[tracing::instrument(skip(db))]
pub async fn stock(
    db: &Db,
    filter: &StockFilter,
    page: PageRequest,
) -> Result<(Vec<StockRow>, PageInfo)> {
    let (rows, info) = fetch_page(
        db,
        STOCK_SELECT,
        STOCK_FROM,
        &filter.clause(),
        STOCK_ORDER,
        page,
    )
    .await?;
    Ok((rows.iter().map(stock_of).collect::<Result<_>>()?, info))
}

/// Totals across all warehouses for some SKUs.
pub async fn sku_totals(db: &Db, sku_ids: &[i64]) -> Result<HashMap<i64, SkuTotal>> {
    let mut ids = sku_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut w = Where::new();
    let marks = vec!["?"; ids.len()].join(", ");
    w.and(
        &format!("sku_id IN ({marks})"),
        ids.iter().map(|i| BindValue::Int(*i)),
    );
    let sql = format!(
        "SELECT sku_id, CAST(COALESCE(SUM(on_hand), 0) AS BIGINT) AS on_hand, \
         CAST(COALESCE(SUM(reserved), 0) AS BIGINT) AS reserved, COUNT(*) AS n FROM stock{} GROUP BY sku_id",
        w.sql()
    );
    let rows = w.bind(dynamic(sql)).fetch_all(&db.pool).await?;
    let owed = super::cloud::owed(db, &ids).await?;
    let mut out = HashMap::new();
    for r in rows {
        let on_hand: i64 = r.try_get("on_hand")?;
        let reserved: i64 = r.try_get("reserved")?;
        let sku_id: i64 = r.try_get("sku_id")?;
        out.insert(
            sku_id,
            SkuTotal {
                sku_id,
                on_hand,
                reserved,
                available: rules::available(on_hand, reserved),
                warehouses: r.try_get("n")?,
                cloud_owed: Some(owed.get(&sku_id).copied().unwrap_or(0)),
            },
        );
    }
    Ok(out)
}

/// Rows at or under their threshold, the most urgent first, and how many
/// there are in all (for the dashboard).
pub async fn low_stock(db: &Db, limit: i64) -> Result<(Vec<StockRow>, i64)> {
    let filter = StockFilter {
        low: true,
        ..Default::default()
    };
    let w = filter.clause();
    let sql = format!(
        "{STOCK_SELECT} {STOCK_FROM}{} ORDER BY s.on_hand - s.reserved - s.low_alert, k.code, w.code LIMIT {}",
        w.sql(),
        w.next(1)
    );
    let rows = w.bind(dynamic(sql)).bind(limit).fetch_all(&db.pool).await?;
    let total: i64 = w
        .bind(dynamic(format!(
            "SELECT COUNT(*) AS n {STOCK_FROM}{}",
            w.sql()
        )))
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    Ok((rows.iter().map(stock_of).collect::<Result<_>>()?, total))
}

/// Sets a SKU's low-stock threshold in a warehouse.
#[tracing::instrument(skip(db, actor))]
pub async fn set_low_alert(
    db: &Db,
    actor: &Actor,
    warehouse: i64,
    sku: i64,
    low_alert: i64,
) -> Result<()> {
    if !rules::valid_level(low_alert) {
        return Err(one_error("low_alert", "stock.bad_threshold"));
    }
    let mut tx = db.begin_write().await?;
    let Some(w) = warehouse_tx(&mut tx, warehouse).await? else {
        return Err(one_error("warehouse_id", "warehouse.not_found"));
    };
    let Some(k) = sku_by_id(&mut tx, sku).await? else {
        return Err(one_error("sku_id", "stock.no_such_sku"));
    };
    let before: Option<i64> =
        sqlx::query("SELECT low_alert FROM stock WHERE warehouse_id = $1 AND sku_id = $2")
            .bind(warehouse)
            .bind(sku)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get("low_alert"))
            .transpose()?;
    moves::set_low_alert(&mut tx, warehouse, sku, low_alert).await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("stock.low_alert", "stock", format!("{}/{}", w.code, k.code))
            .summary(format!("{} {} ≤ {low_alert}", w.code, k.code))
            .before(serde_json::json!({ "low_alert": before }))
            .after(serde_json::json!({ "low_alert": low_alert })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- movements

/// One line of the movement log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Movement {
    pub id: i64,
    pub at: i64,
    pub warehouse_id: i64,
    pub warehouse_code: String,
    pub warehouse_name: String,
    pub sku_id: i64,
    pub sku_code: String,
    pub spec: String,
    pub product_name: String,
    /// `purchase_in`, `sale_out`, `transfer_in`, `transfer_out`,
    /// `count_adjust`, `return_in`, `write_off`, `reserve`, `release`.
    pub kind: String,
    /// Signed change of on-hand (reserve/release: of reserved).
    pub qty: i64,
    pub on_hand_after: i64,
    pub reason: String,
    /// What the movement belongs to: `purchase`, `transfer`, `write_off`,
    /// `count`, `order`.
    pub ref_type: String,
    pub ref_id: String,
    pub actor_name: String,
}

impl Movement {
    /// Tag colour of the kind: goods in green, goods out red.
    pub fn tag(&self) -> &'static str {
        match self.kind.as_str() {
            "purchase_in" | "transfer_in" | "return_in" => "success",
            "sale_out" | "transfer_out" | "write_off" => "danger",
            "reserve" | "release" => "info",
            _ => "warning",
        }
    }

    /// `+5` / `-3`.
    pub fn signed_qty(&self) -> String {
        if self.qty > 0 {
            format!("+{}", self.qty)
        } else {
            self.qty.to_string()
        }
    }
}

/// Every kind, in the order the filter lists them.
pub const KINDS: &[&str] = &[
    "purchase_in",
    "transfer_in",
    "transfer_out",
    "sale_out",
    "return_in",
    "write_off",
    "count_adjust",
    "reserve",
    "release",
];

#[derive(Debug, Clone, Default)]
pub struct MovementFilter {
    pub warehouse: Option<i64>,
    /// The start of a SKU code, or part of a product name.
    pub sku: Option<String>,
    pub kind: Option<String>,
    /// From this Beijing day (`YYYY-MM-DD`), inclusive.
    pub from: Option<String>,
    /// To this Beijing day, inclusive.
    pub to: Option<String>,
    pub ref_type: Option<String>,
    pub ref_id: Option<String>,
}

const MOVEMENT_SELECT: &str = "SELECT m.id, m.at, m.warehouse_id, w.code AS warehouse_code, w.name AS warehouse_name, \
     m.sku_id, k.code AS sku_code, k.spec, p.name AS product_name, m.kind, m.qty, m.on_hand_after, m.reason, \
     m.ref_type, m.ref_id, m.actor_name";
const MOVEMENT_FROM: &str = "FROM stock_movements m JOIN warehouses w ON w.id = m.warehouse_id \
     JOIN skus k ON k.id = m.sku_id JOIN products p ON p.id = k.product_id";

impl MovementFilter {
    fn clause(&self) -> Result<Where> {
        let mut w = Where::new();
        let some = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        if let Some(id) = self.warehouse {
            w.and("m.warehouse_id = ?", [BindValue::Int(id)]);
        }
        if let Some(q) = some(&self.sku) {
            w.and(
                "(k.code LIKE ? ESCAPE '\\' OR p.name LIKE ? ESCAPE '\\')",
                [like_prefix(&q).into(), like_pattern(&q).into()],
            );
        }
        if let Some(k) = some(&self.kind) {
            if !KINDS.contains(&k.as_str()) {
                return Err(Error::BadRequest("stock.bad_kind"));
            }
            w.and("m.kind = ?", [BindValue::Text(k)]);
        }
        if let Some(d) = some(&self.from) {
            let ms = parse_day_start(&d).ok_or(Error::BadRequest("audit.bad_date"))?;
            w.and("m.at >= ?", [BindValue::Int(ms)]);
        }
        if let Some(d) = some(&self.to) {
            let ms = parse_day_end(&d).ok_or(Error::BadRequest("audit.bad_date"))?;
            w.and("m.at < ?", [BindValue::Int(ms)]);
        }
        if let Some(t) = some(&self.ref_type) {
            w.and("m.ref_type = ?", [BindValue::Text(t)]);
        }
        if let Some(r) = some(&self.ref_id) {
            w.and("m.ref_id = ?", [BindValue::Text(r)]);
        }
        Ok(w)
    }
}

fn movement_of(r: &AnyRow) -> Result<Movement> {
    Ok(Movement {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        warehouse_id: r.try_get("warehouse_id")?,
        warehouse_code: r.try_get("warehouse_code")?,
        warehouse_name: r.try_get("warehouse_name")?,
        sku_id: r.try_get("sku_id")?,
        sku_code: r.try_get("sku_code")?,
        spec: r.try_get("spec")?,
        product_name: r.try_get("product_name")?,
        kind: r.try_get("kind")?,
        qty: r.try_get("qty")?,
        on_hand_after: r.try_get("on_hand_after")?,
        reason: r.try_get("reason")?,
        ref_type: r.try_get("ref_type")?,
        ref_id: r.try_get("ref_id")?,
        actor_name: r.try_get("actor_name")?,
    })
}

/// A page of movements, newest first.
#[tracing::instrument(skip(db))]
pub async fn movements(
    db: &Db,
    filter: &MovementFilter,
    page: PageRequest,
) -> Result<(Vec<Movement>, PageInfo)> {
    let w = filter.clause()?;
    let (rows, info) = fetch_page(
        db,
        MOVEMENT_SELECT,
        MOVEMENT_FROM,
        &w,
        "m.at DESC, m.id DESC",
        page,
    )
    .await?;
    Ok((rows.iter().map(movement_of).collect::<Result<_>>()?, info))
}

async fn movements_of_ref(tx: &mut Tx<'_>, ref_type: &str, ref_id: &str) -> Result<Vec<Movement>> {
    let sql = format!(
        "{MOVEMENT_SELECT} {MOVEMENT_FROM} WHERE m.ref_type = $1 AND m.ref_id = $2 ORDER BY m.id"
    );
    dynamic(sql)
        .bind(ref_type)
        .bind(ref_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(movement_of)
        .collect()
}

/// A stock change people make by hand (采购入库, 调拨, 报损).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MoveInput {
    /// `purchase_in`, `transfer` or `write_off`.
    pub kind: String,
    /// The warehouse of a purchase in or a write-off.
    #[serde(default)]
    pub warehouse_id: Option<i64>,
    /// A transfer's source.
    #[serde(default)]
    pub from_warehouse_id: Option<i64>,
    /// A transfer's destination.
    #[serde(default)]
    pub to_warehouse_id: Option<i64>,
    pub sku_code: String,
    /// Units, 1..=10,000,000.
    pub qty: i64,
    /// Required for a write-off.
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MoveKind {
    PurchaseIn,
    Transfer,
    WriteOff,
}

impl MoveKind {
    fn parse(s: &str) -> Option<MoveKind> {
        match s {
            "purchase_in" => Some(MoveKind::PurchaseIn),
            "transfer" => Some(MoveKind::Transfer),
            "write_off" => Some(MoveKind::WriteOff),
            _ => None,
        }
    }

    fn ref_type(self) -> &'static str {
        match self {
            MoveKind::PurchaseIn => "purchase",
            MoveKind::Transfer => "transfer",
            MoveKind::WriteOff => "write_off",
        }
    }
}

/// The warehouses a move touches, source first, each with its form field.
type Sides = Vec<(&'static str, i64)>;

/// Checks the shape of a move; the warehouses (source first) and quantity.
fn check_move(input: &MoveInput) -> Result<(MoveKind, Sides, Qty)> {
    let mut e = FieldErrors::default();
    let kind = MoveKind::parse(input.kind.trim());
    if kind.is_none() {
        e.add("kind", "stock.bad_kind");
    }
    let qty = Qty::new(input.qty);
    if qty.is_none() {
        e.add("qty", "stock.bad_quantity");
    }
    if input.sku_code.trim().is_empty() {
        e.add("sku_code", "field.required");
    }
    let reason_required = kind == Some(MoveKind::WriteOff);
    if let Err(why) = rules::check_text(&input.reason, reason_required, 200) {
        e.invalid("reason", why);
    }
    let mut warehouses = Vec::new();
    match kind {
        Some(MoveKind::Transfer) => {
            match input.from_warehouse_id {
                Some(id) => warehouses.push(("from_warehouse_id", id)),
                None => e.add("from_warehouse_id", "field.required"),
            }
            match input.to_warehouse_id {
                Some(id) => warehouses.push(("to_warehouse_id", id)),
                None => e.add("to_warehouse_id", "field.required"),
            }
            if input.from_warehouse_id.is_some() && input.from_warehouse_id == input.to_warehouse_id
            {
                e.add("to_warehouse_id", "stock.same_warehouse");
            }
        }
        Some(_) => match input.warehouse_id {
            Some(id) => warehouses.push(("warehouse_id", id)),
            None => e.add("warehouse_id", "field.required"),
        },
        None => {}
    }
    e.into_result()?;
    match (kind, qty) {
        (Some(k), Some(q)) => Ok((k, warehouses, q)),
        _ => Err(Error::BadRequest("error.bad_request")),
    }
}

/// Books a purchase in, a transfer or a write-off, all or nothing: the
/// movements it made, or the shortage that stopped it (nothing written).
#[tracing::instrument(skip(db, actor))]
pub async fn apply_move(
    db: &Db,
    actor: &Actor,
    input: &MoveInput,
) -> Result<Outcome<Vec<Movement>>> {
    let (kind, warehouses, qty) = check_move(input)?;
    let mut tx = db.begin_write().await?;
    // Lock in id order so two opposite transfers cannot deadlock.
    let mut order = warehouses.clone();
    order.sort_by_key(|(_, id)| *id);
    let mut e = FieldErrors::default();
    for (field, id) in &order {
        match lock_warehouse(&mut tx, *id).await? {
            None => e.add(field, "warehouse.not_found"),
            Some(false) => e.add(field, "warehouse.inactive"),
            Some(true) => {}
        }
    }
    let sku = sku_by_code(&mut tx, &input.sku_code).await?;
    if sku.is_none() {
        e.add("sku_code", "stock.no_such_sku");
    }
    e.into_result()?;
    let sku = sku.ok_or(Error::NotFound)?;
    let ref_id = crate::identity::random_hex(6);
    let r = Ref {
        kind: kind.ref_type(),
        id: &ref_id,
    };
    let reason = input.reason.trim();
    let q = qty.get();
    let steps: Vec<(i64, Kind, i64)> = match kind {
        MoveKind::PurchaseIn => vec![(warehouses[0].1, Kind::PurchaseIn, q)],
        MoveKind::WriteOff => vec![(warehouses[0].1, Kind::WriteOff, -q)],
        MoveKind::Transfer => vec![
            (warehouses[0].1, Kind::TransferOut, -q),
            (warehouses[1].1, Kind::TransferIn, q),
        ],
    };
    for (wh, k, delta) in steps {
        if let Err(short) = moves::adjust(&mut tx, actor, wh, sku.id, k, delta, reason, r).await? {
            return Ok(Err(short));
        }
    }
    let made = movements_of_ref(&mut tx, r.kind, r.id).await?;
    let summary = made
        .iter()
        .map(|m| format!("{} {} {}", m.warehouse_code, m.sku_code, m.signed_qty()))
        .collect::<Vec<_>>()
        .join(" → ");
    let action = match kind {
        MoveKind::PurchaseIn => "stock.purchase_in",
        MoveKind::Transfer => "stock.transfer",
        MoveKind::WriteOff => "stock.write_off",
    };
    audit::record(
        &mut tx,
        actor,
        Change::new(action, "stock", &ref_id)
            .summary(if reason.is_empty() {
                summary
            } else {
                format!("{summary} ({reason})")
            })
            .after(serde_json::json!({
                "sku": sku.code, "qty": q, "reason": reason,
                "warehouses": warehouses.iter().map(|(_, id)| id).collect::<Vec<_>>(),
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(made))
}

// ---------------------------------------------------------------- counts

/// A stock count (盘点) of one warehouse.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockCount {
    pub id: i64,
    pub warehouse_id: i64,
    pub warehouse_code: String,
    pub warehouse_name: String,
    /// `open`, `done` or `cancelled`.
    pub status: String,
    pub note: String,
    pub created_by_name: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub line_count: i64,
    /// Lines with a counted quantity.
    pub counted_count: i64,
    /// Counted lines that differ from what was expected.
    pub difference_count: i64,
}

impl StockCount {
    pub fn tag(&self) -> &'static str {
        match self.status.as_str() {
            "open" => "warning",
            "done" => "success",
            _ => "info",
        }
    }

    pub fn is_open(&self) -> bool {
        self.status == "open"
    }
}

/// One SKU of a count.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CountLine {
    pub sku_id: i64,
    pub sku_code: String,
    pub spec: String,
    pub product_name: String,
    /// On hand when the count started.
    pub expected: i64,
    /// What was counted; null until typed.
    pub counted: Option<i64>,
    /// On hand and reserved now.
    pub on_hand: i64,
    pub reserved: i64,
    /// Counted minus expected, when counted and different.
    pub delta: Option<i64>,
}

impl CountLine {
    /// The counted figure for an input (empty when not counted).
    pub fn counted_text(&self) -> String {
        self.counted.map(|c| c.to_string()).unwrap_or_default()
    }

    /// `+2` / `-3` / empty.
    pub fn delta_text(&self) -> String {
        match self.delta {
            Some(d) if d > 0 => format!("+{d}"),
            Some(d) => d.to_string(),
            None => String::new(),
        }
    }
}

/// A count with its lines.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CountDetail {
    pub count: StockCount,
    pub lines: Vec<CountLine>,
}

#[derive(Debug, Clone, Default)]
pub struct CountFilter {
    pub warehouse: Option<i64>,
    pub status: Option<String>,
}

const COUNT_SELECT: &str = "SELECT c.id, c.warehouse_id, w.code AS warehouse_code, w.name AS warehouse_name, c.status, c.note, \
     COALESCE(u.display_name, '') AS created_by_name, c.created_at, c.finished_at, \
     (SELECT COUNT(*) FROM stock_count_lines l WHERE l.count_id = c.id) AS line_count, \
     (SELECT COUNT(*) FROM stock_count_lines l WHERE l.count_id = c.id AND l.counted IS NOT NULL) AS counted_count, \
     (SELECT COUNT(*) FROM stock_count_lines l WHERE l.count_id = c.id AND l.counted IS NOT NULL AND l.counted <> l.expected) AS difference_count";
const COUNT_FROM: &str = "FROM stock_counts c JOIN warehouses w ON w.id = c.warehouse_id LEFT JOIN users u ON u.id = c.created_by";

fn count_of(r: &AnyRow) -> Result<StockCount> {
    Ok(StockCount {
        id: r.try_get("id")?,
        warehouse_id: r.try_get("warehouse_id")?,
        warehouse_code: r.try_get("warehouse_code")?,
        warehouse_name: r.try_get("warehouse_name")?,
        status: r.try_get("status")?,
        note: r.try_get("note")?,
        created_by_name: r.try_get("created_by_name")?,
        created_at: r.try_get("created_at")?,
        finished_at: r.try_get("finished_at")?,
        line_count: r.try_get("line_count")?,
        counted_count: r.try_get("counted_count")?,
        difference_count: r.try_get("difference_count")?,
    })
}

/// A page of counts, newest first.
pub async fn counts(
    db: &Db,
    filter: &CountFilter,
    page: PageRequest,
) -> Result<(Vec<StockCount>, PageInfo)> {
    let mut w = Where::new();
    if let Some(id) = filter.warehouse {
        w.and("c.warehouse_id = ?", [BindValue::Int(id)]);
    }
    if let Some(s) = filter.status.as_deref().filter(|s| !s.is_empty()) {
        w.and("c.status = ?", [BindValue::Text(s.to_string())]);
    }
    let (rows, info) = fetch_page(
        db,
        COUNT_SELECT,
        COUNT_FROM,
        &w,
        "c.created_at DESC, c.id DESC",
        page,
    )
    .await?;
    Ok((rows.iter().map(count_of).collect::<Result<_>>()?, info))
}

async fn count_lines(tx: &mut Tx<'_>, id: i64) -> Result<Vec<CountLine>> {
    let rows = sqlx::query(
        "SELECT l.sku_id, k.code AS sku_code, k.spec, p.name AS product_name, l.expected, l.counted, \
         COALESCE(s.on_hand, 0) AS on_hand, COALESCE(s.reserved, 0) AS reserved \
         FROM stock_count_lines l JOIN stock_counts c ON c.id = l.count_id \
         JOIN skus k ON k.id = l.sku_id JOIN products p ON p.id = k.product_id \
         LEFT JOIN stock s ON s.warehouse_id = c.warehouse_id AND s.sku_id = l.sku_id \
         WHERE l.count_id = $1 ORDER BY k.code",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            let expected: i64 = r.try_get("expected")?;
            let counted: Option<i64> = r.try_get("counted")?;
            Ok(CountLine {
                sku_id: r.try_get("sku_id")?,
                sku_code: r.try_get("sku_code")?,
                spec: r.try_get("spec")?,
                product_name: r.try_get("product_name")?,
                expected,
                counted,
                on_hand: r.try_get("on_hand")?,
                reserved: r.try_get("reserved")?,
                delta: rules::count_delta(expected, counted),
            })
        })
        .collect()
}

async fn count_tx(tx: &mut Tx<'_>, id: i64) -> Result<CountDetail> {
    let sql = format!("{COUNT_SELECT} {COUNT_FROM} WHERE c.id = $1");
    let row = dynamic(sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(CountDetail {
        count: count_of(&row)?,
        lines: count_lines(tx, id).await?,
    })
}

/// A count and its lines.
pub async fn count(db: &Db, id: i64) -> Result<CountDetail> {
    let mut tx = db.begin_write().await?;
    let detail = count_tx(&mut tx, id).await?;
    tx.commit().await?;
    Ok(detail)
}

async fn open_count_of(tx: &mut Tx<'_>, warehouse: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query("SELECT id FROM stock_counts WHERE warehouse_id = $1 AND status = 'open'")
            .bind(warehouse)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get("id"))
            .transpose()?,
    )
}

/// Starts counting a warehouse: every SKU it has a stock row for becomes a
/// line expecting today's on-hand. One open count per warehouse.
#[tracing::instrument(skip(db, actor))]
pub async fn start_count(db: &Db, actor: &Actor, warehouse: i64, note: &str) -> Result<i64> {
    if let Err(why) = rules::check_text(note, false, 200) {
        let mut e = FieldErrors::default();
        e.invalid("note", why);
        return Err(Error::Validation(e));
    }
    let mut tx = db.begin_write().await?;
    match lock_warehouse(&mut tx, warehouse).await? {
        None => return Err(one_error("warehouse_id", "warehouse.not_found")),
        Some(false) => return Err(one_error("warehouse_id", "warehouse.inactive")),
        Some(true) => {}
    }
    if open_count_of(&mut tx, warehouse).await?.is_some() {
        return Err(Error::Conflict("count.already_open"));
    }
    let id: i64 = sqlx::query(
        "INSERT INTO stock_counts (warehouse_id, status, note, created_by, created_at) VALUES ($1, 'open', $2, $3, $4) RETURNING id",
    )
    .bind(warehouse)
    .bind(note.trim())
    .bind(actor.user_id)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    let lines = sqlx::query(
        "INSERT INTO stock_count_lines (count_id, sku_id, expected, counted) \
         SELECT $1, sku_id, on_hand, NULL FROM stock WHERE warehouse_id = $2",
    )
    .bind(id)
    .bind(warehouse)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    audit::record(
        &mut tx,
        actor,
        Change::new("count.start", "stock_count", id)
            .summary(format!("#{id} {lines} SKU"))
            .after(serde_json::json!({ "warehouse_id": warehouse, "note": note.trim(), "lines": lines })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// One counted quantity: the SKU by id or by code; `counted` null clears it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CountLineInput {
    #[serde(default)]
    pub sku_id: Option<i64>,
    #[serde(default)]
    pub sku_code: Option<String>,
    pub counted: Option<i64>,
}

/// Takes the count's lock if it is open: a no-op UPDATE on its row.
async fn lock_open_count(tx: &mut Tx<'_>, id: i64) -> Result<()> {
    let n = sqlx::query("UPDATE stock_counts SET note = note WHERE id = $1 AND status = 'open'")
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n == 1 {
        return Ok(());
    }
    let exists = sqlx::query("SELECT id FROM stock_counts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
    Err(if exists {
        Error::Conflict("count.not_open")
    } else {
        Error::NotFound
    })
}

/// Saves counted quantities (any subset; the rest stay as they are). A SKU
/// not on the count is added, expecting what the warehouse holds now.
#[tracing::instrument(skip(db, actor, lines))]
pub async fn save_lines(db: &Db, actor: &Actor, id: i64, lines: &[CountLineInput]) -> Result<()> {
    let mut e = FieldErrors::default();
    for (i, l) in lines.iter().enumerate() {
        if l.counted.is_some_and(|c| !rules::valid_level(c)) {
            e.add(&format!("lines.{i}"), "count.bad_counted");
        }
        if l.sku_id.is_none() && l.sku_code.as_deref().is_none_or(|c| c.trim().is_empty()) {
            e.add(&format!("lines.{i}"), "stock.no_such_sku");
        }
    }
    e.into_result()?;
    let mut e = FieldErrors::default();
    let mut tx = db.begin_write().await?;
    lock_open_count(&mut tx, id).await?;
    let warehouse: i64 = sqlx::query("SELECT warehouse_id FROM stock_counts WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("warehouse_id")?;
    let mut changed = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let sku = match (l.sku_id, l.sku_code.as_deref()) {
            (Some(sid), _) => sku_by_id(&mut tx, sid).await?,
            (None, Some(code)) => sku_by_code(&mut tx, code).await?,
            (None, None) => None,
        };
        let Some(sku) = sku else {
            e.add(&format!("lines.{i}"), "stock.no_such_sku");
            continue;
        };
        let n = sqlx::query(
            "UPDATE stock_count_lines SET counted = $1 WHERE count_id = $2 AND sku_id = $3",
        )
        .bind(l.counted)
        .bind(id)
        .bind(sku.id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            sqlx::query(
                "INSERT INTO stock_count_lines (count_id, sku_id, expected, counted) \
                 VALUES ($1, $2, COALESCE((SELECT on_hand FROM stock WHERE warehouse_id = $3 AND sku_id = $2), 0), $4)",
            )
            .bind(id)
            .bind(sku.id)
            .bind(warehouse)
            .bind(l.counted)
            .execute(&mut **tx)
            .await?;
        }
        changed.push(serde_json::json!({ "sku": sku.code, "counted": l.counted }));
    }
    e.into_result()?;
    audit::record(
        &mut tx,
        actor,
        Change::new("count.save", "stock_count", id)
            .summary(format!("#{id} {} SKU", changed.len()))
            .after(serde_json::Value::Array(changed)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Finishes a count: each counted line that differs is adjusted by its
/// difference (盘盈 / 盘亏). If a loss would take a SKU below what is
/// reserved for orders, nothing is adjusted and the shortage names the SKU.
#[tracing::instrument(skip(db, actor))]
pub async fn finish_count(db: &Db, actor: &Actor, id: i64) -> Result<Outcome<CountDetail>> {
    let mut tx = db.begin_write().await?;
    lock_open_count(&mut tx, id).await?;
    let detail = count_tx(&mut tx, id).await?;
    let warehouse = detail.count.warehouse_id;
    let id_text = id.to_string();
    let r = Ref {
        kind: "count",
        id: &id_text,
    };
    let mut changes = Vec::new();
    for l in &detail.lines {
        let Some(delta) = l.delta else { continue };
        if let Err(short) = moves::adjust(
            &mut tx,
            actor,
            warehouse,
            l.sku_id,
            Kind::CountAdjust,
            delta,
            "",
            r,
        )
        .await?
        {
            return Ok(Err(short));
        }
        changes.push(serde_json::json!({ "sku": l.sku_code, "expected": l.expected, "counted": l.counted, "delta": delta }));
    }
    sqlx::query("UPDATE stock_counts SET status = 'done', finished_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let gain: i64 = detail
        .lines
        .iter()
        .filter_map(|l| l.delta)
        .filter(|d| *d > 0)
        .sum();
    let loss: i64 = detail
        .lines
        .iter()
        .filter_map(|l| l.delta)
        .filter(|d| *d < 0)
        .sum();
    audit::record(
        &mut tx,
        actor,
        Change::new("count.finish", "stock_count", id)
            .summary(format!(
                "#{id} {} {} SKU: +{gain} {loss}",
                detail.count.warehouse_code,
                changes.len()
            ))
            .after(serde_json::Value::Array(changes)),
    )
    .await?;
    let done = count_tx(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Ok(done))
}

/// Cancels an open count; stock is not touched.
#[tracing::instrument(skip(db, actor))]
pub async fn cancel_count(db: &Db, actor: &Actor, id: i64) -> Result<()> {
    let mut tx = db.begin_write().await?;
    lock_open_count(&mut tx, id).await?;
    sqlx::query("UPDATE stock_counts SET status = 'cancelled', finished_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("count.cancel", "stock_count", id).summary(format!("#{id}")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
