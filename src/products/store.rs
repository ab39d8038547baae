//! Storage of categories, products and SKUs; the price an agent of a level
//! pays for a SKU; and the history of every price change.
//!
//! A SKU's price for a level is its own override when set, else the level's
//! rate applied to retail (`weiops_core::purchase::unit_price`). Every change
//! of a retail price or an override writes one `sku_price_history` row and
//! the audit entry in the same transaction as the change.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::money::{Bp, Fen};
use weiops_core::paging::{PageInfo, PageRequest};
use weiops_core::purchase::unit_price;

use crate::agents::levels::{self, Level};
use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, Tx, UniqueViolation, Where, fetch_page, like_pattern, now_ms};
use crate::error::FieldErrors;
use crate::{Error, Result};

/// The highest price or retail price accepted: ¥10,000,000.00.
pub const MAX_PRICE_FEN: i64 = 1_000_000_000;
/// The heaviest SKU accepted: 1 t.
pub const MAX_WEIGHT_G: i64 = 1_000_000;

// ---------------------------------------------------------------- rules

/// Product and SKU codes: 1–32 of `A-Z 0-9 - _ .`, stored uppercase so that
/// `a01` and `A01` cannot both exist (codes are read aloud and printed on
/// waybills).
pub fn check_code(errors: &mut FieldErrors, field: &str, code: &str) -> String {
    let code = code.trim().to_ascii_uppercase();
    if code.is_empty() {
        errors.add(field, "field.required");
    } else if code.len() > 32 {
        errors.add(field, "field.too_long");
    } else if !code
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
    {
        errors.add(field, "products.code_chars");
    }
    code
}

/// Free text of at most `max` characters, trimmed; `required` refuses empty.
fn check_text(
    errors: &mut FieldErrors,
    field: &str,
    text: &str,
    max: usize,
    required: bool,
) -> String {
    let text = text.trim().to_string();
    if required && text.is_empty() {
        errors.add(field, "field.required");
    } else if text.chars().count() > max {
        errors.add(field, "field.too_long");
    } else if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        errors.add(field, "field.bad_characters");
    }
    text
}

fn check_price(errors: &mut FieldErrors, field: &str, fen: i64) {
    if !(0..=MAX_PRICE_FEN).contains(&fen) {
        errors.add(field, "sku.price_range");
    }
}

fn rate_of(level: &Level) -> Bp {
    Bp(level.price_bp.clamp(0, 10_000) as u32)
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

// ---------------------------------------------------------------- categories

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub sort_order: i64,
    /// Products in the category; a category is deleted only when this is 0.
    pub product_count: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CategoryInput {
    pub name: String,
    /// Smaller first.
    #[serde(default)]
    pub sort_order: i64,
}

const CATEGORY_SELECT: &str = "SELECT c.id, c.name, c.sort_order, c.created_at, \
     (SELECT COUNT(*) FROM products p WHERE p.category_id = c.id) AS product_count \
     FROM product_categories c";

fn category_from_row(r: &sqlx::any::AnyRow) -> Result<Category, sqlx::Error> {
    Ok(Category {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        sort_order: r.try_get("sort_order")?,
        product_count: r.try_get("product_count")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Every category in display order.
pub async fn categories(db: &Db) -> Result<Vec<Category>> {
    let rows = crate::db::dynamic(format!("{CATEGORY_SELECT} ORDER BY c.sort_order, c.id"))
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(category_from_row)
        .collect::<Result<_, _>>()?)
}

pub async fn category(db: &Db, id: i64) -> Result<Category> {
    let row = crate::db::dynamic(format!("{CATEGORY_SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(category_from_row(&row)?)
}

fn valid_category(input: &CategoryInput) -> Result<String> {
    let mut errors = FieldErrors::default();
    let name = check_text(&mut errors, "name", &input.name, 32, true);
    if name.contains('\n') {
        errors.add("name", "field.bad_characters");
    }
    if !(-1_000_000..=1_000_000).contains(&input.sort_order) {
        errors.add("sort_order", "field.invalid_choice");
    }
    errors.into_result()?;
    Ok(name)
}

#[tracing::instrument(skip(db, actor, input))]
pub async fn create_category(db: &Db, actor: &Actor, input: &CategoryInput) -> Result<i64> {
    let name = valid_category(input)?;
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO product_categories (name, sort_order, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&name)
    .bind(input.sort_order)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await
    .on_unique(Error::Conflict("category.name_taken"))?
    .try_get("id")?;
    audit::record(
        &mut tx,
        actor,
        Change::new("category.create", "product_category", id)
            .summary(name.clone())
            .after(serde_json::json!({"name": name, "sort_order": input.sort_order})),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[tracing::instrument(skip(db, actor, input))]
pub async fn rename_category(db: &Db, actor: &Actor, id: i64, input: &CategoryInput) -> Result<()> {
    let before = category(db, id).await?;
    let name = valid_category(input)?;
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE product_categories SET name = $1, sort_order = $2 WHERE id = $3")
        .bind(&name)
        .bind(input.sort_order)
        .bind(id)
        .execute(&mut **tx)
        .await
        .on_unique(Error::Conflict("category.name_taken"))?;
    audit::record(
        &mut tx,
        actor,
        Change::new("category.rename", "product_category", id)
            .summary(format!("{} → {name}", before.name))
            .before(serde_json::json!({"name": before.name, "sort_order": before.sort_order}))
            .after(serde_json::json!({"name": name, "sort_order": input.sort_order})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a category no product uses. The check and the delete are one
/// statement, so a product filed under it meanwhile keeps it alive.
#[tracing::instrument(skip(db, actor))]
pub async fn delete_category(db: &Db, actor: &Actor, id: i64) -> Result<()> {
    let before = category(db, id).await?;
    let mut tx = db.begin_write().await?;
    let gone = sqlx::query(
        "DELETE FROM product_categories WHERE id = $1 \
         AND NOT EXISTS (SELECT 1 FROM products p WHERE p.category_id = $1)",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if gone == 0 {
        return Err(Error::Conflict("category.in_use"));
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("category.delete", "product_category", id)
            .summary(before.name.clone())
            .before(serde_json::json!({"name": before.name, "sort_order": before.sort_order})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- products

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Product {
    pub id: i64,
    /// 商品编码, unique, uppercase.
    pub code: String,
    pub name: String,
    pub category_id: Option<i64>,
    pub category_name: Option<String>,
    pub description: String,
    /// `/products/{id}/image` when the product has a picture.
    pub image_url: Option<String>,
    #[serde(skip)]
    pub image: Option<String>,
    pub on_sale: bool,
    pub sku_count: i64,
    /// Lowest and highest retail price of its SKUs (none without SKUs).
    pub min_retail_fen: Option<i64>,
    pub max_retail_fen: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Product {
    /// `¥12.50` or `¥12.50 – ¥30.00`; empty without SKUs.
    pub fn retail_range(&self) -> String {
        match (self.min_retail_fen, self.max_retail_fen) {
            (Some(lo), Some(hi)) if lo == hi => Fen(lo).to_string(),
            (Some(lo), Some(hi)) => format!("{} – {}", Fen(lo), Fen(hi)),
            _ => String::new(),
        }
    }

    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({"code": self.code, "name": self.name, "category_id": self.category_id,
            "description": self.description, "on_sale": self.on_sale})
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ProductInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub category_id: Option<i64>,
    #[serde(default)]
    pub description: String,
    /// On sale (上架); default true.
    #[serde(default = "yes")]
    pub on_sale: bool,
}

impl Default for ProductInput {
    fn default() -> Self {
        ProductInput {
            code: String::new(),
            name: String::new(),
            category_id: None,
            description: String::new(),
            on_sale: true,
        }
    }
}

/// The filters of the product list (all optional).
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Part of the name or code.
    pub q: Option<String>,
    pub category_id: Option<i64>,
    pub on_sale: Option<bool>,
}

impl ProductFilter {
    fn clause(&self) -> Where {
        let mut w = Where::new();
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let p = like_pattern(q);
            w.and(
                "(LOWER(p.name) LIKE LOWER(?) ESCAPE '\\' OR LOWER(p.code) LIKE LOWER(?) ESCAPE '\\')",
                [BindValue::Text(p.clone()), BindValue::Text(p)],
            );
        }
        if let Some(c) = self.category_id {
            w.and("p.category_id = ?", [BindValue::Int(c)]);
        }
        if let Some(on) = self.on_sale {
            w.and("p.on_sale = ?", [BindValue::Int(flag(on))]);
        }
        w
    }
}

/// Sortable columns of the product list.
pub const SORTS: &[(&str, &str)] = &[
    ("code", "p.code"),
    ("name", "p.name"),
    ("updated", "p.updated_at"),
];

const PRODUCT_SELECT: &str = "SELECT p.id, p.code, p.name, p.category_id, c.name AS category_name, p.description, \
     p.image, p.on_sale, p.created_at, p.updated_at, \
     (SELECT COUNT(*) FROM skus s WHERE s.product_id = p.id) AS sku_count, \
     (SELECT MIN(s.retail_fen) FROM skus s WHERE s.product_id = p.id) AS min_retail_fen, \
     (SELECT MAX(s.retail_fen) FROM skus s WHERE s.product_id = p.id) AS max_retail_fen";
const PRODUCT_FROM: &str = "FROM products p LEFT JOIN product_categories c ON c.id = p.category_id";

fn product_from_row(r: &sqlx::any::AnyRow) -> Result<Product, sqlx::Error> {
    let id: i64 = r.try_get("id")?;
    let image: Option<String> = r.try_get("image")?;
    Ok(Product {
        id,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        category_id: r.try_get("category_id")?,
        category_name: r.try_get("category_name")?,
        description: r.try_get("description")?,
        image_url: image.as_ref().map(|_| format!("/products/{id}/image")),
        image,
        on_sale: r.try_get::<i64, _>("on_sale")? == 1,
        sku_count: r.try_get("sku_count")?,
        min_retail_fen: r.try_get("min_retail_fen")?,
        max_retail_fen: r.try_get("max_retail_fen")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// A page of products; `order` comes from [`SORTS`] (ListParams::order_by).
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    filter: &ProductFilter,
    order: &str,
    page: PageRequest,
) -> Result<(Vec<Product>, PageInfo)> {
    let w = filter.clause();
    let order = format!("{order}, p.id");
    let (rows, info) = fetch_page(db, PRODUCT_SELECT, PRODUCT_FROM, &w, &order, page).await?;
    Ok((
        rows.iter()
            .map(product_from_row)
            .collect::<Result<_, _>>()?,
        info,
    ))
}

pub async fn get(db: &Db, id: i64) -> Result<Product> {
    let row = crate::db::dynamic(format!("{PRODUCT_SELECT} {PRODUCT_FROM} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(product_from_row(&row)?)
}

struct ValidProduct {
    code: String,
    name: String,
    description: String,
}

async fn validate_product(db: &Db, input: &ProductInput) -> Result<ValidProduct> {
    let mut errors = FieldErrors::default();
    let code = check_code(&mut errors, "code", &input.code);
    let name = check_text(&mut errors, "name", &input.name, 64, true);
    if name.contains('\n') {
        errors.add("name", "field.bad_characters");
    }
    let description = check_text(&mut errors, "description", &input.description, 2000, false);
    if let Some(c) = input.category_id {
        match category(db, c).await {
            Ok(_) => {}
            Err(Error::NotFound) => errors.add("category_id", "category.not_found"),
            Err(e) => return Err(e),
        }
    }
    errors.into_result()?;
    Ok(ValidProduct {
        code,
        name,
        description,
    })
}

#[tracing::instrument(skip(db, actor, input))]
pub async fn create(db: &Db, actor: &Actor, input: &ProductInput) -> Result<i64> {
    let v = validate_product(db, input).await?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO products (code, name, category_id, description, on_sale, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(&v.code)
    .bind(&v.name)
    .bind(input.category_id)
    .bind(&v.description)
    .bind(flag(input.on_sale))
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .on_unique(Error::Conflict("products.code_taken"))?
    .try_get("id")?;
    audit::record(
        &mut tx,
        actor,
        Change::new("product.create", "product", id)
            .summary(format!("{} ({})", v.name, v.code))
            .after(
                serde_json::json!({"code": v.code, "name": v.name, "category_id": input.category_id,
                "description": v.description, "on_sale": input.on_sale}),
            ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[tracing::instrument(skip(db, actor, input))]
pub async fn update(db: &Db, actor: &Actor, id: i64, input: &ProductInput) -> Result<()> {
    let before = get(db, id).await?;
    let v = validate_product(db, input).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE products SET code = $1, name = $2, category_id = $3, description = $4, on_sale = $5, \
         updated_at = $6 WHERE id = $7",
    )
    .bind(&v.code)
    .bind(&v.name)
    .bind(input.category_id)
    .bind(&v.description)
    .bind(flag(input.on_sale))
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await
    .on_unique(Error::Conflict("products.code_taken"))?;
    audit::record(
        &mut tx,
        actor,
        Change::new("product.update", "product", id)
            .summary(format!("{} ({})", v.name, v.code))
            .before(before.audit_json())
            .after(
                serde_json::json!({"code": v.code, "name": v.name, "category_id": input.category_id,
                "description": v.description, "on_sale": input.on_sale}),
            ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Puts a product on sale (上架) or takes it off (下架).
#[tracing::instrument(skip(db, actor))]
pub async fn set_on_sale(db: &Db, actor: &Actor, id: i64, on_sale: bool) -> Result<()> {
    let before = get(db, id).await?;
    if before.on_sale == on_sale {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE products SET on_sale = $1, updated_at = $2 WHERE id = $3")
        .bind(flag(on_sale))
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let action = if on_sale {
        "product.on_sale"
    } else {
        "product.off_sale"
    };
    audit::record(
        &mut tx,
        actor,
        Change::new(action, "product", id).summary(format!("{} ({})", before.name, before.code)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a new picture file (or none); returns the file it replaces, for
/// the caller to remove once this has committed.
#[tracing::instrument(skip(db, actor))]
pub async fn set_image(
    db: &Db,
    actor: &Actor,
    id: i64,
    image: Option<&str>,
) -> Result<Option<String>> {
    let before = get(db, id).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE products SET image = $1, updated_at = $2 WHERE id = $3")
        .bind(image)
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("product.image", "product", id)
            .summary(format!("{} ({})", before.name, before.code))
            .before(serde_json::json!({"image": before.image}))
            .after(serde_json::json!({"image": image})),
    )
    .await?;
    tx.commit().await?;
    Ok(before.image)
}

// ---------------------------------------------------------------- SKUs

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

// ---------------------------------------------------------------- prices for orders

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_uppercased_and_checked() {
        let mut e = FieldErrors::default();
        assert_eq!(check_code(&mut e, "code", " wx-a01.5 "), "WX-A01.5");
        assert!(e.is_empty());
        check_code(&mut e, "a", "");
        check_code(&mut e, "b", "中文");
        check_code(&mut e, "c", &"x".repeat(33));
        assert_eq!(e.get("a"), Some("field.required"));
        assert_eq!(e.get("b"), Some("products.code_chars"));
        assert_eq!(e.get("c"), Some("field.too_long"));
    }

    #[test]
    fn yuan_text_is_what_a_form_takes_back() {
        assert_eq!(yuan_text(123_456), "1234.56");
        assert_eq!(yuan_text(5), "0.05");
        assert_eq!(Fen::parse_yuan(&yuan_text(99_999_999)), Ok(Fen(99_999_999)));
    }
}
