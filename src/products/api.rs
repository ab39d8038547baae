//! `/api/v1/products`, `/api/v1/skus`, `/api/v1/categories`. Money in fen.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{
    self, Category, CategoryInput, LevelPriceInput, PriceChange, Product, ProductFilter,
    ProductInput, Sku, SkuInput,
};
use crate::identity::Need;
use crate::paged::Paged;
use crate::products::{ProductsRead, ProductsWrite};
use crate::state::AppState;
use crate::web::list::ListParams;
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product))
        .routes(routes!(create_sku))
        .routes(routes!(get_sku, update_sku))
        .routes(routes!(set_level_prices))
        .routes(routes!(price_history))
        .routes(routes!(list_categories, create_category))
}

/// The list filter from a query string (pages and API share it).
pub fn filter_of(p: &ListParams) -> Result<ProductFilter> {
    let on_sale = match p.get("on_sale") {
        None => None,
        Some("1" | "true") => Some(true),
        Some("0" | "false") => Some(false),
        Some(_) => return Err(Error::BadRequest("error.bad_query")),
    };
    let category_id = match p.get("category") {
        None => None,
        Some(c) => Some(
            c.parse()
                .map_err(|_| Error::BadRequest("error.bad_query"))?,
        ),
    };
    Ok(ProductFilter {
        q: p.get("q").map(str::to_string),
        category_id,
        on_sale,
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct ProductQuery {
    /// Part of the name or code.
    q: Option<String>,
    /// A category id.
    category: Option<i64>,
    /// `1` on sale, `0` off sale.
    on_sale: Option<String>,
    /// `code`, `name` or `updated`.
    sort: Option<String>,
    /// `asc` or `desc`.
    dir: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// A product with its SKUs and their prices per level.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDetail {
    #[serde(flatten)]
    pub product: Product,
    pub skus: Vec<Sku>,
}

async fn detail(s: &AppState, id: i64) -> Result<ProductDetail> {
    Ok(ProductDetail {
        product: store::get(&s.db, id).await?,
        skus: store::skus_of(&s.db, id).await?,
    })
}

/// Products matching the filters, with the total count.
#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ProductQuery),
    responses((status = 200, body = Paged<Product>)))]
async fn list_products(
    State(s): State<AppState>,
    _who: Need<ProductsRead>,
    params: ListParams,
) -> Result<Json<Paged<Product>>> {
    let order = params.order_by(store::SORTS, "p.updated_at DESC");
    let (items, info) = store::list(&s.db, &filter_of(&params)?, &order, params.page()).await?;
    Ok(Json(Paged::new(items, info)))
}

/// Creates a product (SKUs are added to it afterwards).
#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = ProductInput,
    responses((status = 201, body = ProductDetail), (status = 409, description = "Code taken"), (status = 422)))]
async fn create_product(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    Json(body): Json<ProductInput>,
) -> Result<(StatusCode, Json<ProductDetail>)> {
    let id = store::create(&s.db, &who.actor(), &body).await?;
    Ok((StatusCode::CREATED, Json(detail(&s, id).await?)))
}

/// One product with its SKUs and their prices per level.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products", params(("id" = i64, Path)),
    responses((status = 200, body = ProductDetail), (status = 404)))]
async fn get_product(
    State(s): State<AppState>,
    _who: Need<ProductsRead>,
    Path(id): Path<i64>,
) -> Result<Json<ProductDetail>> {
    Ok(Json(detail(&s, id).await?))
}

/// Changes a product (code, name, category, description, on sale).
#[utoipa::path(put, path = "/api/v1/products/{id}", tag = "products", params(("id" = i64, Path)), request_body = ProductInput,
    responses((status = 200, body = ProductDetail), (status = 404), (status = 409), (status = 422)))]
async fn update_product(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    Path(id): Path<i64>,
    Json(body): Json<ProductInput>,
) -> Result<Json<ProductDetail>> {
    store::update(&s.db, &who.actor(), id, &body).await?;
    Ok(Json(detail(&s, id).await?))
}

/// Adds a SKU to a product. Its retail price opens the price history.
#[utoipa::path(post, path = "/api/v1/products/{id}/skus", tag = "products", params(("id" = i64, Path)), request_body = SkuInput,
    responses((status = 201, body = Sku), (status = 404), (status = 409, description = "Code taken"), (status = 422)))]
async fn create_sku(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    Path(id): Path<i64>,
    Json(body): Json<SkuInput>,
) -> Result<(StatusCode, Json<Sku>)> {
    let sku = store::create_sku(&s.db, &who.actor(), id, &body).await?;
    Ok((StatusCode::CREATED, Json(store::get_sku(&s.db, sku).await?)))
}

/// One SKU with its price for every level.
#[utoipa::path(get, path = "/api/v1/skus/{id}", tag = "products", params(("id" = i64, Path)),
    responses((status = 200, body = Sku), (status = 404)))]
async fn get_sku(
    State(s): State<AppState>,
    _who: Need<ProductsRead>,
    Path(id): Path<i64>,
) -> Result<Json<Sku>> {
    Ok(Json(store::get_sku(&s.db, id).await?))
}

/// Changes a SKU; a new retail price is recorded in its price history.
#[utoipa::path(put, path = "/api/v1/skus/{id}", tag = "products", params(("id" = i64, Path)), request_body = SkuInput,
    responses((status = 200, body = Sku), (status = 404), (status = 409), (status = 422)))]
async fn update_sku(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    Path(id): Path<i64>,
    Json(body): Json<SkuInput>,
) -> Result<Json<Sku>> {
    store::update_sku(&s.db, &who.actor(), id, &body).await?;
    Ok(Json(store::get_sku(&s.db, id).await?))
}

/// Sets (a price in fen) or clears (null: the level's rate applies again)
/// the SKU's own price for the levels listed; levels not listed keep theirs.
#[utoipa::path(put, path = "/api/v1/skus/{id}/level-prices", tag = "products", params(("id" = i64, Path)),
    request_body = Vec<LevelPriceInput>,
    responses((status = 200, body = Sku), (status = 404), (status = 422)))]
async fn set_level_prices(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    Path(id): Path<i64>,
    Json(body): Json<Vec<LevelPriceInput>>,
) -> Result<Json<Sku>> {
    store::set_level_prices(&s.db, &who.actor(), id, &body).await?;
    Ok(Json(store::get_sku(&s.db, id).await?))
}

/// Every change of the SKU's retail price (`level` null) and level prices, newest first.
#[utoipa::path(get, path = "/api/v1/skus/{id}/price-history", tag = "products", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<PriceChange>), (status = 404)))]
async fn price_history(
    State(s): State<AppState>,
    _who: Need<ProductsRead>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<PriceChange>>> {
    store::get_sku(&s.db, id).await?;
    Ok(Json(store::price_history(&s.db, id).await?))
}

/// Every product category, in display order.
#[utoipa::path(get, path = "/api/v1/categories", tag = "products",
    responses((status = 200, body = Vec<Category>)))]
async fn list_categories(
    State(s): State<AppState>,
    _who: Need<ProductsRead>,
) -> Result<Json<Vec<Category>>> {
    Ok(Json(store::categories(&s.db).await?))
}

/// Creates a category.
#[utoipa::path(post, path = "/api/v1/categories", tag = "products", request_body = CategoryInput,
    responses((status = 201, body = Category), (status = 409, description = "Name taken"), (status = 422)))]
async fn create_category(
    State(s): State<AppState>,
    who: Need<ProductsWrite>,
    Json(body): Json<CategoryInput>,
) -> Result<(StatusCode, Json<Category>)> {
    let id = store::create_category(&s.db, &who.actor(), &body).await?;
    Ok((StatusCode::CREATED, Json(store::category(&s.db, id).await?)))
}
