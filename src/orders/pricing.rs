//! What orders placed before `orders.level_prices` existed cost at every
//! level (the one-off repricing of issue 13, run by every `weiops` command
//! that opens the database, `serve` and `migrate` among them, right after
//! the migrations; a no-op once done).
//!
//! Until then the rewards of an order placed in weiops were computed from
//! its retail value × the level rates, ignoring the SKUs' own prices: the
//! reward explanation and the settlement disagreed with what the buyer
//! paid. Each such order now gets its `price_at(L)` for every level, so its
//! rewards are recomputed from the prices it was actually sold at
//! (shared/spec/settlement.md, "Orders placed in weiops"):
//! - the buyer's level: the unit prices stored on the order's lines (exact);
//! - other levels: a SKU's own price for the level as it stood when the
//!   order was placed, from `sku_price_history` (every override ever set is
//!   there), else the level's rate applied to the line's retail price. The
//!   rates are today's: level rates keep no history. This is the choice
//!   where the data cannot say more.
//!
//! Orders of a month already approved or paid keep the rate pricing they
//! were paid with (`level_prices = ''`): their reward lines must keep
//! equalling what reached the wallets. The orders repriced get a new
//! `updated_at`, so a draft computed before is stale and must be computed
//! again before approval.

use std::collections::{HashMap, HashSet};

use sqlx::Row;
use weiops_core::money::{Bp, Fen};
use weiops_core::purchase::{PricedLine, level_prices, level_prices_text};
use weiops_core::time::Period;

use crate::Result;
use crate::audit::{self, Actor, Change};
use crate::db::{Db, now_ms};

/// Orders repriced per transaction.
const BATCH: i64 = 500;

/// Fills `level_prices` of every order placed in weiops that has none;
/// returns how many orders were repriced (those of settled months are
/// marked as keeping their rate pricing and not counted).
#[tracing::instrument(skip(db))]
pub async fn backfill(db: &Db) -> Result<usize> {
    let settled: HashSet<Period> =
        sqlx::query("SELECT period FROM settlement_runs WHERE status <> 'draft'")
            .fetch_all(&db.pool)
            .await?
            .iter()
            .filter_map(|r| r.try_get::<String, _>("period").ok())
            .filter_map(|p| Period::parse(&p))
            .collect();
    let rates: Vec<(i64, Bp)> = sqlx::query("SELECT level, price_bp FROM agent_levels")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("level")?,
                Bp(r.try_get::<i64, _>("price_bp")?.clamp(0, 10_000) as u32),
            ))
        })
        .collect::<Result<_>>()?;
    let mut repriced = 0usize;
    loop {
        let mut tx = db.begin_write().await?;
        let orders = sqlx::query(
            "SELECT id, buyer_level, created_at, paid_at FROM orders \
             WHERE source = 'app' AND level_prices IS NULL ORDER BY id LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(&mut **tx)
        .await?;
        if orders.is_empty() {
            break;
        }
        let now = now_ms();
        let mut done = 0usize;
        for o in &orders {
            let id: i64 = o.try_get("id")?;
            let buyer_level: i64 = o.try_get("buyer_level")?;
            let created_at: i64 = o.try_get("created_at")?;
            let paid_at: Option<i64> = o.try_get("paid_at")?;
            let keep = paid_at
                .and_then(Period::containing)
                .is_some_and(|p| settled.contains(&p));
            let text = if keep {
                String::new()
            } else {
                let lines = sqlx::query(
                    "SELECT sku_id, qty, retail_fen, unit_price_fen FROM order_lines WHERE order_id = $1 ORDER BY id",
                )
                .bind(id)
                .fetch_all(&mut **tx)
                .await?;
                let mut priced = Vec::with_capacity(lines.len());
                for l in &lines {
                    let sku: i64 = l.try_get("sku_id")?;
                    // The SKU's own prices when the order was placed: the
                    // last change of each level's price up to then.
                    let history = sqlx::query(
                        "SELECT level, new_fen FROM sku_price_history \
                         WHERE sku_id = $1 AND level IS NOT NULL AND at <= $2 ORDER BY at, id",
                    )
                    .bind(sku)
                    .bind(created_at)
                    .fetch_all(&mut **tx)
                    .await?;
                    let mut own: HashMap<i64, Option<i64>> = HashMap::new();
                    for h in &history {
                        own.insert(h.try_get("level")?, h.try_get("new_fen")?);
                    }
                    // The buyer's own level: what the line says was charged.
                    own.insert(buyer_level, Some(l.try_get("unit_price_fen")?));
                    priced.push(PricedLine {
                        qty: l.try_get("qty")?,
                        retail: Fen(l.try_get("retail_fen")?),
                        own: own
                            .into_iter()
                            .filter_map(|(level, p)| p.map(|p| (level, Fen(p))))
                            .collect(),
                    });
                }
                match level_prices(&priced, &rates) {
                    Some(p) => {
                        done += 1;
                        level_prices_text(&p)
                    }
                    // Sums beyond an i64 cannot have been placed; keep the
                    // rate pricing rather than stop every start.
                    None => String::new(),
                }
            };
            sqlx::query(
                "UPDATE orders SET level_prices = $1, updated_at = $2 WHERE id = $3 AND level_prices IS NULL",
            )
            .bind(&text)
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
        if done > 0 {
            audit::record(
                &mut tx,
                &Actor::system("weiops migrate"),
                Change::new("orders.reprice", "order", "level_prices").summary(format!(
                    "{done} orders placed in weiops repriced per level (SKU prices of their own)"
                )),
            )
            .await?;
        }
        tx.commit().await?;
        repriced += done;
    }
    if repriced > 0 {
        tracing::info!(repriced, "orders placed in weiops repriced per level");
    }
    Ok(repriced)
}
