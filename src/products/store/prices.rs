//! Prices for orders: what an agent of a level pays for the SKUs an order
//! names (also inside the transaction that places it), and the agent
//! portal's catalogue.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;
use weiops_core::money::{Bp, Fen};
use weiops_core::purchase::unit_price;

use crate::db::Db;
use crate::{Error, Result};

/// A SKU as an order line sees it: what an agent of one level pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SkuPrice {
    pub sku_id: i64,
    pub sku_code: String,
    pub product_id: i64,
    pub product_name: String,
    /// The product has a picture (served to agents at
    /// `/m/products/{product_id}/image`).
    pub has_image: bool,
    pub spec: String,
    pub retail_fen: i64,
    /// The level's price: the SKU's override, else retail at the level's rate.
    pub unit_price_fen: i64,
    /// The SKU and its product are both on sale.
    pub on_sale: bool,
    pub weight_g: i64,
}

/// The columns [`price_from_row`] reads, of `skus s`, `products p` and the
/// level's override `sku_level_prices lp`.
pub(crate) const PRICE_COLUMNS: &str = "s.id, s.code, p.id AS product_id, p.name AS product_name, p.image AS product_image, \
     s.spec, s.retail_fen, s.weight_g, s.on_sale, p.on_sale AS product_on_sale, lp.price_fen";

/// The SKUs with their products and the override of the level bound as `$1`.
const PRICE_FROM: &str = "FROM skus s JOIN products p ON p.id = s.product_id \
     LEFT JOIN sku_level_prices lp ON lp.sku_id = s.id AND lp.level = $1";

async fn level_rate(conn: &mut sqlx::AnyConnection, level: i64) -> Result<Bp> {
    let bp: i64 = sqlx::query("SELECT price_bp FROM agent_levels WHERE level = $1")
        .bind(level)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(Error::BadRequest("products.unknown_level"))?
        .try_get("price_bp")?;
    Ok(Bp(bp.clamp(0, 10_000) as u32))
}

/// A row of [`PRICE_COLUMNS`] priced at `rate` (the level's override,
/// `price_fen`, when there is one).
pub(crate) fn price_from_row(r: &sqlx::any::AnyRow, rate: Bp) -> Result<SkuPrice, sqlx::Error> {
    let retail: i64 = r.try_get("retail_fen")?;
    let own: Option<i64> = r.try_get("price_fen")?;
    Ok(SkuPrice {
        sku_id: r.try_get("id")?,
        sku_code: r.try_get("code")?,
        product_id: r.try_get("product_id")?,
        product_name: r.try_get("product_name")?,
        has_image: r.try_get::<Option<String>, _>("product_image")?.is_some(),
        spec: r.try_get("spec")?,
        retail_fen: retail,
        unit_price_fen: unit_price(Fen(retail), rate, own.map(Fen)).0,
        on_sale: r.try_get::<i64, _>("on_sale")? == 1
            && r.try_get::<i64, _>("product_on_sale")? == 1,
        weight_g: r.try_get("weight_g")?,
    })
}

/// [`prices_for`] on a connection of the caller's (e.g. inside the
/// transaction that places an order, so the prices are those it stores).
pub async fn prices_on(
    conn: &mut sqlx::AnyConnection,
    sku_ids: &[i64],
    level: i64,
) -> Result<Vec<SkuPrice>> {
    let rate = level_rate(conn, level).await?;
    prices_with_rate(conn, sku_ids, level, rate).await
}

async fn prices_with_rate(
    conn: &mut sqlx::AnyConnection,
    sku_ids: &[i64],
    level: i64,
    rate: Bp,
) -> Result<Vec<SkuPrice>> {
    let mut ids: Vec<i64> = Vec::with_capacity(sku_ids.len());
    for id in sku_ids {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    let mut found: HashMap<i64, SkuPrice> = HashMap::new();
    for chunk in ids.chunks(512) {
        // Bound ids, padded to a power of two by repeating the last one: a
        // handful of statement texts that stay prepared in each
        // connection's cache (ids spliced in made every order a new text,
        // prepared for it and pushing others out of the cache).
        let chunk = crate::db::padded(chunk);
        let list = (2..chunk.len() + 2)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut q = crate::db::dynamic(format!(
            "SELECT {PRICE_COLUMNS} {PRICE_FROM} WHERE s.id IN ({list})"
        ))
        .bind(level);
        for id in chunk {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&mut *conn).await?;
        for r in &rows {
            let p = price_from_row(r, rate)?;
            found.insert(p.sku_id, p);
        }
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// What an agent of `level` pays for each SKU, in the order asked (each id
/// once). Unknown ids are simply absent; SKUs off sale are included with
/// `on_sale` false, for the caller to refuse. An unknown level is an error.
#[tracing::instrument(skip(db, sku_ids), fields(n = sku_ids.len()))]
pub async fn prices_for(db: &Db, sku_ids: &[i64], level: i64) -> Result<Vec<SkuPrice>> {
    let mut conn = db.pool.acquire().await?;
    prices_on(&mut conn, sku_ids, level).await
}

/// Every on-sale SKU of every on-sale product at `level`'s price, ordered
/// by product code then SKU code: the agent portal's order page.
#[tracing::instrument(skip(db))]
pub async fn catalogue_for_level(db: &Db, level: i64) -> Result<Vec<SkuPrice>> {
    let mut conn = db.pool.acquire().await?;
    let rate = level_rate(&mut conn, level).await?;
    let rows = crate::db::dynamic(format!(
        "SELECT {PRICE_COLUMNS} {PRICE_FROM} WHERE s.on_sale = 1 AND p.on_sale = 1 ORDER BY p.code, p.id, s.code, s.id"
    ))
    .bind(level)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| price_from_row(r, rate))
        .collect::<Result<_, _>>()?)
}
