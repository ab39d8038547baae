//! SKUs: their prices per level, creating and changing one, setting or
//! clearing a level's own price (each change one `sku_price_history` row),
//! and reading that history.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::money::Fen;
use weiops_core::purchase::unit_price;

use super::{MAX_WEIGHT_G, check_code, check_price, check_text, flag, get, rate_of, yes};
use crate::agents::levels;
use crate::audit::{self, Actor, Change};
use crate::db::{Db, Tx, UniqueViolation, now_ms};
use crate::error::FieldErrors;
use crate::{Error, Result};

/// What an agent of one level pays for a SKU.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LevelPrice {
    pub level: i64,
    pub level_name: String,
    /// The level's rate in basis points of retail.
    pub rate_bp: i64,
    /// This SKU's own price for the level, when set.
    pub override_fen: Option<i64>,
    /// What the level pays: the override, or retail at the level's rate.
    pub price_fen: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Sku {
    pub id: i64,
    pub product_id: i64,
    /// SKU 编码, unique, uppercase.
    pub code: String,
    /// 规格, e.g. `500ml × 2`.
    pub spec: String,
    pub barcode: String,
    pub retail_fen: i64,
    pub weight_g: i64,
    pub on_sale: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// The price for every agent level, highest level first.
    pub level_prices: Vec<LevelPrice>,
}

impl Sku {
    /// The retail price as the form shows it: `12.50`.
    pub fn retail_yuan(&self) -> String {
        yuan_text(self.retail_fen)
    }

    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({"code": self.code, "spec": self.spec, "barcode": self.barcode,
            "retail_fen": self.retail_fen, "weight_g": self.weight_g, "on_sale": self.on_sale})
    }
}

/// `12.50` for 1250 fen: money as typed in a form.
pub fn yuan_text(fen: i64) -> String {
    Fen(fen).to_string().replace(['¥', ','], "")
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SkuInput {
    pub code: String,
    #[serde(default)]
    pub spec: String,
    #[serde(default)]
    pub barcode: String,
    /// Retail price in fen.
    pub retail_fen: i64,
    /// Weight in grams, for shipping.
    #[serde(default)]
    pub weight_g: i64,
    #[serde(default = "yes")]
    pub on_sale: bool,
}

impl Default for SkuInput {
    fn default() -> Self {
        SkuInput {
            code: String::new(),
            spec: String::new(),
            barcode: String::new(),
            retail_fen: 0,
            weight_g: 0,
            on_sale: true,
        }
    }
}

const SKU_SELECT: &str = "SELECT id, product_id, code, spec, barcode, retail_fen, weight_g, on_sale, created_at, updated_at \
     FROM skus";

fn sku_from_row(r: &sqlx::any::AnyRow) -> Result<Sku, sqlx::Error> {
    Ok(Sku {
        id: r.try_get("id")?,
        product_id: r.try_get("product_id")?,
        code: r.try_get("code")?,
        spec: r.try_get("spec")?,
        barcode: r.try_get("barcode")?,
        retail_fen: r.try_get("retail_fen")?,
        weight_g: r.try_get("weight_g")?,
        on_sale: r.try_get::<i64, _>("on_sale")? == 1,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        level_prices: Vec::new(),
    })
}

/// Fills in every SKU's price per level: one query for the overrides.
async fn attach_level_prices(db: &Db, list: &mut [Sku]) -> Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    let all_levels = levels::all(db).await?;
    // The ids are integers read from the database, never user input.
    let ids = list
        .iter()
        .map(|s| s.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let rows = crate::db::dynamic(format!(
        "SELECT sku_id, level, price_fen FROM sku_level_prices WHERE sku_id IN ({ids})"
    ))
    .fetch_all(&db.pool)
    .await?;
    let mut overrides: HashMap<(i64, i64), i64> = HashMap::new();
    for r in rows {
        overrides.insert(
            (r.try_get("sku_id")?, r.try_get("level")?),
            r.try_get("price_fen")?,
        );
    }
    for s in list.iter_mut() {
        s.level_prices = all_levels
            .iter()
            .map(|l| {
                let override_fen = overrides.get(&(s.id, l.level)).copied();
                LevelPrice {
                    level: l.level,
                    level_name: l.name.clone(),
                    rate_bp: l.price_bp,
                    override_fen,
                    price_fen: unit_price(Fen(s.retail_fen), rate_of(l), override_fen.map(Fen)).0,
                }
            })
            .collect();
    }
    Ok(())
}

/// The SKUs of a product with their level prices, in the order added.
pub async fn skus_of(db: &Db, product_id: i64) -> Result<Vec<Sku>> {
    let rows = crate::db::dynamic(format!("{SKU_SELECT} WHERE product_id = $1 ORDER BY id"))
        .bind(product_id)
        .fetch_all(&db.pool)
        .await?;
    let mut list = rows
        .iter()
        .map(sku_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    attach_level_prices(db, &mut list).await?;
    Ok(list)
}

pub async fn get_sku(db: &Db, id: i64) -> Result<Sku> {
    let row = crate::db::dynamic(format!("{SKU_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    let mut list = vec![sku_from_row(&row)?];
    attach_level_prices(db, &mut list).await?;
    Ok(list.remove(0))
}

struct ValidSku {
    code: String,
    spec: String,
    barcode: String,
}

fn validate_sku(input: &SkuInput) -> Result<ValidSku> {
    let mut errors = FieldErrors::default();
    let code = check_code(&mut errors, "code", &input.code);
    let spec = check_text(&mut errors, "spec", &input.spec, 64, false);
    if spec.contains('\n') {
        errors.add("spec", "field.bad_characters");
    }
    let barcode = input.barcode.trim().to_string();
    if barcode.len() > 32 {
        errors.add("barcode", "field.too_long");
    } else if !barcode
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        errors.add("barcode", "sku.barcode_chars");
    }
    check_price(&mut errors, "retail_fen", input.retail_fen);
    if !(0..=MAX_WEIGHT_G).contains(&input.weight_g) {
        errors.add("weight_g", "sku.weight_range");
    }
    errors.into_result()?;
    Ok(ValidSku {
        code,
        spec,
        barcode,
    })
}

async fn write_history(
    tx: &mut Tx<'_>,
    actor: &Actor,
    sku_id: i64,
    level: Option<i64>,
    old: Option<i64>,
    new: Option<i64>,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sku_price_history (sku_id, level, old_fen, new_fen, actor_id, actor_name, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(sku_id)
    .bind(level)
    .bind(old)
    .bind(new)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds a SKU to a product; its first retail price opens the history.
#[tracing::instrument(skip(db, actor, input))]
pub async fn create_sku(db: &Db, actor: &Actor, product_id: i64, input: &SkuInput) -> Result<i64> {
    let product = get(db, product_id).await?;
    let v = validate_sku(input)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO skus (product_id, code, spec, barcode, retail_fen, weight_g, on_sale, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(product_id)
    .bind(&v.code)
    .bind(&v.spec)
    .bind(&v.barcode)
    .bind(input.retail_fen)
    .bind(input.weight_g)
    .bind(flag(input.on_sale))
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .on_unique(Error::Conflict("sku.code_taken"))?
    .try_get("id")?;
    write_history(&mut tx, actor, id, None, None, Some(input.retail_fen), now).await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("sku.create", "sku", id)
            .summary(format!(
                "{} {} {}: {}",
                product.code,
                v.code,
                v.spec,
                Fen(input.retail_fen)
            ))
            .after(
                serde_json::json!({"product_id": product_id, "code": v.code, "spec": v.spec,
                "barcode": v.barcode, "retail_fen": input.retail_fen, "weight_g": input.weight_g,
                "on_sale": input.on_sale}),
            ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes a SKU; a new retail price is recorded in the price history.
#[tracing::instrument(skip(db, actor, input))]
pub async fn update_sku(db: &Db, actor: &Actor, id: i64, input: &SkuInput) -> Result<()> {
    get_sku(db, id).await?;
    let v = validate_sku(input)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    // Read inside the transaction: the history's old value is the one replaced.
    let row = crate::db::dynamic(format!("{SKU_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let before = sku_from_row(&row)?;
    sqlx::query(
        "UPDATE skus SET code = $1, spec = $2, barcode = $3, retail_fen = $4, weight_g = $5, on_sale = $6, \
         updated_at = $7 WHERE id = $8",
    )
    .bind(&v.code)
    .bind(&v.spec)
    .bind(&v.barcode)
    .bind(input.retail_fen)
    .bind(input.weight_g)
    .bind(flag(input.on_sale))
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await
    .on_unique(Error::Conflict("sku.code_taken"))?;
    let mut summary = v.code.clone();
    if before.retail_fen != input.retail_fen {
        write_history(
            &mut tx,
            actor,
            id,
            None,
            Some(before.retail_fen),
            Some(input.retail_fen),
            now,
        )
        .await?;
        summary = format!(
            "{summary}: {} → {}",
            Fen(before.retail_fen),
            Fen(input.retail_fen)
        );
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("sku.update", "sku", id)
            .summary(summary)
            .before(before.audit_json())
            .after(serde_json::json!({"code": v.code, "spec": v.spec, "barcode": v.barcode,
                "retail_fen": input.retail_fen, "weight_g": input.weight_g, "on_sale": input.on_sale})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One level's price as a request sets it: a price in fen, or null to
/// follow the level's rate again.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct LevelPriceInput {
    pub level: i64,
    pub price_fen: Option<i64>,
}

/// Sets or clears the SKU's own price for the levels listed (others keep
/// theirs). Each actual change is one history row; all are one audit entry.
#[tracing::instrument(skip(db, actor, input))]
pub async fn set_level_prices(
    db: &Db,
    actor: &Actor,
    sku_id: i64,
    input: &[LevelPriceInput],
) -> Result<()> {
    let sku = get_sku(db, sku_id).await?;
    let known = levels::all(db).await?;
    let mut errors = FieldErrors::default();
    let mut seen = Vec::new();
    for l in input {
        let field = format!("levels.{}", l.level);
        if !known.iter().any(|k| k.level == l.level) {
            errors.add(&field, "sku.unknown_level");
        } else if seen.contains(&l.level) {
            errors.add(&field, "sku.level_twice");
        } else if let Some(p) = l.price_fen {
            check_price(&mut errors, &field, p);
            if p > sku.retail_fen {
                errors.add(&field, "sku.price_above_retail");
            }
        }
        seen.push(l.level);
    }
    errors.into_result()?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let rows = sqlx::query("SELECT level, price_fen FROM sku_level_prices WHERE sku_id = $1")
        .bind(sku_id)
        .fetch_all(&mut **tx)
        .await?;
    let mut current: HashMap<i64, i64> = HashMap::new();
    for r in rows {
        current.insert(r.try_get("level")?, r.try_get("price_fen")?);
    }
    let mut changes = Vec::new();
    for l in input {
        let old = current.get(&l.level).copied();
        if old == l.price_fen {
            continue;
        }
        match l.price_fen {
            Some(p) => {
                let updated = sqlx::query(
                    "UPDATE sku_level_prices SET price_fen = $1 WHERE sku_id = $2 AND level = $3",
                )
                .bind(p)
                .bind(sku_id)
                .bind(l.level)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    sqlx::query(
                        "INSERT INTO sku_level_prices (sku_id, level, price_fen) VALUES ($1, $2, $3)",
                    )
                    .bind(sku_id)
                    .bind(l.level)
                    .bind(p)
                    .execute(&mut **tx)
                    .await
                    .on_unique(Error::Conflict("sku.changed_meanwhile"))?;
                }
            }
            None => {
                sqlx::query("DELETE FROM sku_level_prices WHERE sku_id = $1 AND level = $2")
                    .bind(sku_id)
                    .bind(l.level)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        write_history(&mut tx, actor, sku_id, Some(l.level), old, l.price_fen, now).await?;
        changes.push((l.level, old, l.price_fen));
    }
    if changes.is_empty() {
        return Ok(());
    }
    let show = |v: Option<i64>| v.map(|f| Fen(f).to_string()).unwrap_or_else(|| "—".into());
    let summary = format!(
        "{}: {}",
        sku.code,
        changes
            .iter()
            .map(|(l, o, n)| format!("L{l} {} → {}", show(*o), show(*n)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut after = current.clone();
    for (l, _, n) in &changes {
        match n {
            Some(p) => after.insert(*l, *p),
            None => after.remove(l),
        };
    }
    let as_json = |m: &HashMap<i64, i64>| {
        let mut v: Vec<_> = m.iter().map(|(l, p)| (*l, *p)).collect();
        v.sort();
        serde_json::json!(
            v.into_iter()
                .map(|(l, p)| serde_json::json!({"level": l, "price_fen": p}))
                .collect::<Vec<_>>()
        )
    };
    audit::record(
        &mut tx,
        actor,
        Change::new("sku.level_prices", "sku", sku_id)
            .summary(summary)
            .before(as_json(&current))
            .after(as_json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One change of a SKU's retail price (`level` none) or of a level price.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PriceChange {
    pub id: i64,
    pub sku_id: i64,
    /// None: the retail price.
    pub level: Option<i64>,
    /// None: there was none (a new SKU, or the level followed its rate).
    pub old_fen: Option<i64>,
    /// None: removed (the level follows its rate again).
    pub new_fen: Option<i64>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub at: i64,
}

/// A SKU's price changes, newest first.
pub async fn price_history(db: &Db, sku_id: i64) -> Result<Vec<PriceChange>> {
    let rows = sqlx::query(
        "SELECT id, sku_id, level, old_fen, new_fen, actor_id, actor_name, at FROM sku_price_history \
         WHERE sku_id = $1 ORDER BY at DESC, id DESC",
    )
    .bind(sku_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PriceChange {
                id: r.try_get("id")?,
                sku_id: r.try_get("sku_id")?,
                level: r.try_get("level")?,
                old_fen: r.try_get("old_fen")?,
                new_fen: r.try_get("new_fen")?,
                actor_id: r.try_get("actor_id")?,
                actor_name: r.try_get("actor_name")?,
                at: r.try_get("at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_text_is_what_a_form_takes_back() {
        assert_eq!(yuan_text(123_456), "1234.56");
        assert_eq!(yuan_text(5), "0.05");
        assert_eq!(Fen::parse_yuan(&yuan_text(99_999_999)), Ok(Fen(99_999_999)));
    }
}
