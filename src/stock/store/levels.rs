//! Stock levels: the stock list, totals of SKUs across warehouses, the
//! low-stock list and its thresholds.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use weiops_core::paging::{PageInfo, PageRequest};

use super::{flag, one_error, sku_by_id, warehouse_tx};
use crate::Result;
use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, Where, dynamic, fetch_page, like_pattern, like_prefix};
use crate::stock::moves;
use crate::stock::rules;

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
    let owed = crate::stock::cloud::owed(db, &ids).await?;
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
