//! Agent levels (代理等级): the price an agent of each level pays, as a
//! share of retail. Changing a rate affects future orders only: an order
//! records the buyer's level and the price it paid when it was placed.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::money::{Bp, Fen};

use crate::audit::{self, Actor, Change};
use crate::db::{Db, now_ms};
use crate::error::FieldErrors;
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Level {
    /// 1 is the highest.
    pub level: i64,
    pub name: String,
    /// Purchase price as basis points of retail (7000 = 70%).
    pub price_bp: i64,
    /// Optional first order, in fen, to join at this level.
    pub first_purchase_fen: Option<i64>,
    /// Optional cumulative purchases, in fen, that qualify for this level.
    pub upgrade_threshold_fen: Option<i64>,
    pub updated_at: i64,
}

impl Level {
    pub fn price(&self) -> String {
        Bp(self.price_bp.clamp(0, 10_000) as u32).to_string()
    }

    /// The rate as the level form shows it: `70.00` (percent).
    pub fn percent(&self) -> String {
        Fen(self.price_bp)
            .to_string()
            .trim_start_matches('¥')
            .to_string()
    }

    pub fn first_purchase(&self) -> String {
        self.first_purchase_fen
            .map(|f| Fen(f).to_string().trim_start_matches('¥').replace(',', ""))
            .unwrap_or_default()
    }

    pub fn upgrade_threshold(&self) -> String {
        self.upgrade_threshold_fen
            .map(|f| Fen(f).to_string().trim_start_matches('¥').replace(',', ""))
            .unwrap_or_default()
    }
}

pub async fn all(db: &Db) -> Result<Vec<Level>> {
    let rows = sqlx::query(
        "SELECT level, name, price_bp, first_purchase_fen, upgrade_threshold_fen, updated_at FROM agent_levels ORDER BY level",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Level {
                level: r.try_get("level")?,
                name: r.try_get("name")?,
                price_bp: r.try_get("price_bp")?,
                first_purchase_fen: r.try_get("first_purchase_fen")?,
                upgrade_threshold_fen: r.try_get("upgrade_threshold_fen")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// The highest level number configured (levels are 1..=max).
pub async fn max_level(db: &Db) -> Result<u8> {
    Ok(all(db)
        .await?
        .iter()
        .map(|l| l.level)
        .max()
        .unwrap_or(1)
        .clamp(1, 9) as u8)
}

/// One level as a form or API request sets it (money as typed yuan text on
/// forms; fen on the API).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct LevelInput {
    pub level: i64,
    pub name: String,
    pub price_bp: i64,
    #[serde(default)]
    pub first_purchase_fen: Option<i64>,
    #[serde(default)]
    pub upgrade_threshold_fen: Option<i64>,
}

/// Replaces the whole level list (1..=K, K ≤ 9, contiguous). Levels that
/// agents hold cannot disappear. Lower numbers are higher levels, so their
/// price rate may not exceed a lower level's.
#[tracing::instrument(skip(db, actor, input))]
pub async fn save(db: &Db, actor: &Actor, input: &[LevelInput]) -> Result<()> {
    let mut errors = FieldErrors::default();
    if input.is_empty() || input.len() > 9 {
        errors.add("levels", "agents.levels_count");
    }
    for (i, l) in input.iter().enumerate() {
        let f = format!("levels.{}", i + 1);
        if l.level != i as i64 + 1 {
            errors.add(&f, "agents.levels_contiguous");
        } else if l.name.trim().is_empty() || l.name.trim().chars().count() > 32 {
            errors.add(&f, "agents.level_name_invalid");
        } else if !(0..=10_000).contains(&l.price_bp) {
            errors.add(&f, "agents.level_rate");
        } else if l.first_purchase_fen.is_some_and(|v| v < 0)
            || l.upgrade_threshold_fen.is_some_and(|v| v < 0)
        {
            errors.add(&f, "agents.level_amount");
        } else if i > 0 && l.price_bp < input[i - 1].price_bp {
            errors.add(&f, "agents.level_order");
        }
    }
    let max = input.len() as i64;
    let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM agents WHERE level > $1")
        .bind(max)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    if held > 0 {
        errors.add("levels", "agents.level_in_use");
    }
    errors.into_result()?;
    let before = all(db).await?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM agent_levels WHERE level > $1")
        .bind(max)
        .execute(&mut **tx)
        .await?;
    for l in input {
        let res = sqlx::query(
            "UPDATE agent_levels SET name = $1, price_bp = $2, first_purchase_fen = $3, upgrade_threshold_fen = $4, updated_at = $5 \
             WHERE level = $6",
        )
        .bind(l.name.trim())
        .bind(l.price_bp)
        .bind(l.first_purchase_fen)
        .bind(l.upgrade_threshold_fen)
        .bind(now)
        .bind(l.level)
        .execute(&mut **tx)
        .await?;
        if res.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO agent_levels (level, name, price_bp, first_purchase_fen, upgrade_threshold_fen, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(l.level)
            .bind(l.name.trim())
            .bind(l.price_bp)
            .bind(l.first_purchase_fen)
            .bind(l.upgrade_threshold_fen)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
    }
    let summary = input
        .iter()
        .map(|l| format!("{} {}={}bp", l.level, l.name.trim(), l.price_bp))
        .collect::<Vec<_>>()
        .join(", ");
    audit::record(
        &mut tx,
        actor,
        Change::new("agent_levels.update", "agent_levels", "")
            .summary(summary)
            .before(serde_json::to_value(&before).map_err(anyhow::Error::from)?)
            .after(serde_json::json!(input.iter().map(|l| serde_json::json!({
                "level": l.level, "name": l.name.trim(), "price_bp": l.price_bp,
                "first_purchase_fen": l.first_purchase_fen, "upgrade_threshold_fen": l.upgrade_threshold_fen,
            })).collect::<Vec<_>>())),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get(db: &Db, level: i64) -> Result<Level> {
    all(db)
        .await?
        .into_iter()
        .find(|l| l.level == level)
        .ok_or(Error::NotFound)
}
