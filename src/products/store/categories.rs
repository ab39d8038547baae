//! Product categories: the list, creating and renaming one, and deleting
//! one that no product uses.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::check_text;
use crate::audit::{self, Actor, Change};
use crate::db::{Db, UniqueViolation, now_ms};
use crate::error::FieldErrors;
use crate::{Error, Result};

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
