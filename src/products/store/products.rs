//! Products: the list with its filters and sorts, one product, creating
//! and changing one, putting it on sale or off, and its picture.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::money::Fen;
use weiops_core::paging::{PageInfo, PageRequest};

use super::{category, check_code, check_text, flag, yes};
use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, UniqueViolation, Where, fetch_page, like_pattern, now_ms};
use crate::error::FieldErrors;
use crate::{Error, Result};

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
