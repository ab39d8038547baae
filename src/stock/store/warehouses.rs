//! Warehouses: the list, creating and changing one, the default, and the
//! row lock that keeps a warehouse as it is while stock moves in it
//! (deactivating one that holds stock or has a count open is refused).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{flag, one_error, open_count_of};
use crate::audit::{self, Actor, Change};
use crate::db::{Db, Tx, dynamic, now_ms};
use crate::error::FieldErrors;
use crate::stock::rules;
use crate::{Error, Result};

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

pub(super) async fn warehouse_tx(tx: &mut Tx<'_>, id: i64) -> Result<Option<Warehouse>> {
    let sql = format!("{WAREHOUSE_SELECT} WHERE w.id = $1");
    let row = dynamic(sql).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(warehouse_of).transpose()
}

/// Locks a warehouse row for the rest of the transaction with a no-op
/// UPDATE (a row lock on PostgreSQL, the write lock on SQLite). Goods
/// moving in and deactivation both take it first, so a warehouse cannot be
/// switched off while stock arrives. Whether it exists and is active.
pub(super) async fn lock_warehouse(tx: &mut Tx<'_>, id: i64) -> Result<Option<bool>> {
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
