//! Stock counts (盘点): starting one, saving counted quantities, and
//! finishing (the differences booked as adjustments) or cancelling it.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use weiops_core::paging::{PageInfo, PageRequest};

use super::{Outcome, lock_warehouse, one_error, sku_by_code, sku_by_id};
use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, Tx, Where, dynamic, fetch_page, now_ms};
use crate::error::FieldErrors;
use crate::stock::moves::{self, Kind, Ref};
use crate::stock::rules;
use crate::{Error, Result};

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

pub(super) async fn open_count_of(tx: &mut Tx<'_>, warehouse: i64) -> Result<Option<i64>> {
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
