//! The SQL of warehouses, stock levels, movements and counts. Quantities
//! change only through `moves`; this file decides what may move, locks
//! what must not change meanwhile, and writes the audit entry in the same
//! transaction.
//!
//! One file per section (`warehouses`, `levels`, `movements`, `counts`),
//! re-exported here so callers write `stock::store::apply_move`; what the
//! sections share (SKU lookups, small helpers) stays in this file.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::moves::Shortage;
use crate::db::Tx;
use crate::error::FieldErrors;
use crate::{Error, Result};

mod counts;
mod levels;
mod movements;
mod warehouses;

pub use counts::*;
pub use levels::*;
pub use movements::*;
pub use warehouses::*;

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
