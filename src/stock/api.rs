//! `/api/v1/stock/...`: warehouses, stock levels, movements and counts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::moves::Shortage;
use super::store::{
    self, CountDetail, CountFilter, CountLineInput, MoveInput, Movement, MovementFilter, SkuTotal,
    StockCount, StockFilter, StockRow, Warehouse, WarehouseInput,
};
use crate::Result;
use crate::i18n::Locale;
use crate::identity::Need;
use crate::paged::Paged;
use crate::state::AppState;
use crate::stock::{StockRead, StockWrite};
use crate::web::list::ListParams;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_warehouses, create_warehouse))
        .routes(routes!(update_warehouse))
        .routes(routes!(list_stock))
        .routes(routes!(set_low_alert))
        .routes(routes!(list_movements, create_movement))
        .routes(routes!(list_counts, start_count))
        .routes(routes!(get_count))
        .routes(routes!(save_count_lines))
        .routes(routes!(finish_count))
        .routes(routes!(cancel_count))
}

// ---------------------------------------------------------------- shared with the pages

fn truthy(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "true" | "yes" | "on"))
}

/// The stock list filter from a query string (pages and API share it).
pub fn stock_filter(p: &ListParams) -> StockFilter {
    StockFilter {
        warehouse: p.get_i64("warehouse"),
        q: p.get("q").map(str::to_string),
        low: truthy(p.get("low")),
    }
}

/// The movement list filter from a query string.
pub fn movement_filter(p: &ListParams) -> MovementFilter {
    let get = |k: &str| p.get(k).map(str::to_string);
    MovementFilter {
        warehouse: p.get_i64("warehouse"),
        sku: get("sku"),
        kind: get("kind"),
        from: get("from"),
        to: get("to"),
        ref_type: get("ref_type"),
        ref_id: get("ref_id"),
    }
}

/// The message of a shortage: `key` takes `%{sku}`, `%{available}` and
/// `%{requested}`.
pub fn shortage_message(locale: Locale, key: &str, s: &Shortage) -> String {
    locale.tf(
        key,
        &[
            ("sku", &s.sku_code),
            ("available", &s.available.to_string()),
            ("requested", &s.requested.to_string()),
        ],
    )
}

/// The body of a 409 when stock is short: the usual error with the SKU and
/// what is available, so a client can offer the smaller quantity.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShortageBody {
    pub error: ShortageError,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShortageError {
    /// `stock_short`.
    pub code: &'static str,
    pub message: String,
    pub request_id: String,
    /// The SKU code that is short.
    pub sku: String,
    /// What could be taken (on hand minus reserved).
    pub available: i64,
    pub requested: i64,
}

fn shortage(locale: Locale, request_id: &str, key: &str, s: &Shortage) -> Response {
    let body = ShortageBody {
        error: ShortageError {
            code: "stock_short",
            message: shortage_message(locale, key, s),
            request_id: request_id.to_string(),
            sku: s.sku_code.clone(),
            available: s.available,
            requested: s.requested,
        },
    };
    (StatusCode::CONFLICT, Json(body)).into_response()
}

// ---------------------------------------------------------------- warehouses

/// Every warehouse, the default first.
#[utoipa::path(get, path = "/api/v1/stock/warehouses", tag = "stock", responses((status = 200, body = Vec<Warehouse>)))]
async fn list_warehouses(
    State(s): State<AppState>,
    _who: Need<StockRead>,
) -> Result<Json<Vec<Warehouse>>> {
    Ok(Json(store::warehouses(&s.db).await?))
}

/// Creates a warehouse. The first one becomes the default.
#[utoipa::path(post, path = "/api/v1/stock/warehouses", tag = "stock", request_body = WarehouseInput,
    responses((status = 201, body = Warehouse), (status = 422, description = "Invalid, or the code is taken")))]
async fn create_warehouse(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Json(body): Json<WarehouseInput>,
) -> Result<(StatusCode, Json<Warehouse>)> {
    let id = store::create_warehouse(&s.db, &who.actor(), &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(store::warehouse(&s.db, id).await?),
    ))
}

/// Changes a warehouse: `is_default` true moves the default flag here;
/// `active` false is refused (409) while it holds stock or a count is open.
#[utoipa::path(put, path = "/api/v1/stock/warehouses/{id}", tag = "stock", params(("id" = i64, Path)), request_body = WarehouseInput,
    responses((status = 200, body = Warehouse), (status = 404), (status = 409, description = "Holds stock"), (status = 422)))]
async fn update_warehouse(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Path(id): Path<i64>,
    Json(body): Json<WarehouseInput>,
) -> Result<Json<Warehouse>> {
    store::update_warehouse(&s.db, &who.actor(), id, &body).await?;
    Ok(Json(store::warehouse(&s.db, id).await?))
}

// ---------------------------------------------------------------- stock

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct StockQuery {
    /// A warehouse id.
    warehouse: Option<i64>,
    /// The start of a SKU code or part of a product name.
    q: Option<String>,
    /// `1`: only rows whose available stock is at or under the threshold.
    low: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockPage {
    pub items: Vec<StockRow>,
    /// Each SKU of the page across every warehouse.
    pub totals: Vec<SkuTotal>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// Stock per SKU per warehouse, by SKU code.
#[utoipa::path(get, path = "/api/v1/stock", tag = "stock", params(StockQuery), responses((status = 200, body = StockPage)))]
async fn list_stock(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    params: ListParams,
) -> Result<Json<StockPage>> {
    let (items, info) = store::stock(&s.db, &stock_filter(&params), params.page()).await?;
    let ids: Vec<i64> = items.iter().map(|r| r.sku_id).collect();
    let mut totals: Vec<SkuTotal> = store::sku_totals(&s.db, &ids)
        .await?
        .into_values()
        .collect();
    totals.sort_by_key(|t| t.sku_id);
    Ok(Json(StockPage {
        items,
        totals,
        page: info.page,
        per_page: info.per_page,
        total: info.total,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LowAlertInput {
    pub warehouse_id: i64,
    pub sku_id: i64,
    /// Alert when available stock is at or under this (0 = when out).
    pub low_alert: i64,
}

/// Sets a SKU's low-stock threshold in a warehouse.
#[utoipa::path(put, path = "/api/v1/stock/low-alert", tag = "stock", request_body = LowAlertInput,
    responses((status = 204), (status = 422)))]
async fn set_low_alert(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Json(body): Json<LowAlertInput>,
) -> Result<StatusCode> {
    store::set_low_alert(
        &s.db,
        &who.actor(),
        body.warehouse_id,
        body.sku_id,
        body.low_alert,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- movements

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct MovementQuery {
    warehouse: Option<i64>,
    /// The start of a SKU code or part of a product name.
    sku: Option<String>,
    /// A movement kind, e.g. `purchase_in`.
    kind: Option<String>,
    /// `YYYY-MM-DD`, Beijing time, inclusive.
    from: Option<String>,
    to: Option<String>,
    /// What the movements belong to (`transfer`, `count`, …) and its id.
    ref_type: Option<String>,
    ref_id: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// The movement log, newest first.
#[utoipa::path(get, path = "/api/v1/stock/movements", tag = "stock", params(MovementQuery),
    responses((status = 200, body = Paged<Movement>), (status = 400, description = "A bad date or kind")))]
async fn list_movements(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    params: ListParams,
) -> Result<Json<Paged<Movement>>> {
    let (items, info) = store::movements(&s.db, &movement_filter(&params), params.page()).await?;
    Ok(Json(Paged::new(items, info)))
}

/// Books 采购入库 (`purchase_in`: warehouse_id), 调拨 (`transfer`:
/// from_warehouse_id, to_warehouse_id) or 报损 (`write_off`: warehouse_id,
/// reason required). All or nothing: when the source is short, 409 with
/// the SKU and the quantity available, and nothing moves.
#[utoipa::path(post, path = "/api/v1/stock/movements", tag = "stock", request_body = MoveInput,
    responses((status = 201, body = Vec<Movement>), (status = 409, body = ShortageBody), (status = 422)))]
async fn create_movement(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Extension(locale): Extension<Locale>,
    Json(body): Json<MoveInput>,
) -> Result<Response> {
    Ok(match store::apply_move(&s.db, &who.actor(), &body).await? {
        Ok(made) => (StatusCode::CREATED, Json(made)).into_response(),
        Err(short) => shortage(locale, &who.meta.request_id, "stock.short", &short),
    })
}

// ---------------------------------------------------------------- counts

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct CountQuery {
    warehouse: Option<i64>,
    /// `open`, `done` or `cancelled`.
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Stock counts, newest first.
#[utoipa::path(get, path = "/api/v1/stock/counts", tag = "stock", params(CountQuery), responses((status = 200, body = Paged<StockCount>)))]
async fn list_counts(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    axum::extract::Query(q): axum::extract::Query<CountQuery>,
) -> Result<Json<Paged<StockCount>>> {
    let filter = CountFilter {
        warehouse: q.warehouse,
        status: q.status,
    };
    let page = weiops_core::paging::PageRequest::new(q.page, q.per_page);
    let (items, info) = store::counts(&s.db, &filter, page).await?;
    Ok(Json(Paged::new(items, info)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StartCount {
    pub warehouse_id: i64,
    #[serde(default)]
    pub note: String,
}

/// Starts a count (盘点) of a warehouse: each SKU there expects its
/// on-hand quantity now. One open count per warehouse (409).
#[utoipa::path(post, path = "/api/v1/stock/counts", tag = "stock", request_body = StartCount,
    responses((status = 201, body = CountDetail), (status = 409), (status = 422)))]
async fn start_count(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Json(body): Json<StartCount>,
) -> Result<(StatusCode, Json<CountDetail>)> {
    let id = store::start_count(&s.db, &who.actor(), body.warehouse_id, &body.note).await?;
    Ok((StatusCode::CREATED, Json(store::count(&s.db, id).await?)))
}

/// A count with its lines.
#[utoipa::path(get, path = "/api/v1/stock/counts/{id}", tag = "stock", params(("id" = i64, Path)),
    responses((status = 200, body = CountDetail), (status = 404)))]
async fn get_count(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    Path(id): Path<i64>,
) -> Result<Json<CountDetail>> {
    Ok(Json(store::count(&s.db, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CountLines {
    pub lines: Vec<CountLineInput>,
}

/// Saves counted quantities, any subset at a time (null clears one). A SKU
/// not on the count is added.
#[utoipa::path(put, path = "/api/v1/stock/counts/{id}/lines", tag = "stock", params(("id" = i64, Path)), request_body = CountLines,
    responses((status = 200, body = CountDetail), (status = 404), (status = 409, description = "Not open"), (status = 422)))]
async fn save_count_lines(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Path(id): Path<i64>,
    Json(body): Json<CountLines>,
) -> Result<Json<CountDetail>> {
    store::save_lines(&s.db, &who.actor(), id, &body.lines).await?;
    Ok(Json(store::count(&s.db, id).await?))
}

/// Finishes a count: every counted line that differs adjusts stock by the
/// difference. Refused as a whole (409 naming the SKU) if a loss would
/// take stock below what is reserved for orders.
#[utoipa::path(post, path = "/api/v1/stock/counts/{id}/finish", tag = "stock", params(("id" = i64, Path)),
    responses((status = 200, body = CountDetail), (status = 404), (status = 409, body = ShortageBody)))]
async fn finish_count(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Extension(locale): Extension<Locale>,
    Path(id): Path<i64>,
) -> Result<Response> {
    Ok(match store::finish_count(&s.db, &who.actor(), id).await? {
        Ok(done) => Json(done).into_response(),
        Err(short) => shortage(locale, &who.meta.request_id, "count.below_reserved", &short),
    })
}

/// Cancels an open count; stock is not touched.
#[utoipa::path(post, path = "/api/v1/stock/counts/{id}/cancel", tag = "stock", params(("id" = i64, Path)),
    responses((status = 200, body = CountDetail), (status = 404), (status = 409, description = "Not open")))]
async fn cancel_count(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Path(id): Path<i64>,
) -> Result<Json<CountDetail>> {
    store::cancel_count(&s.db, &who.actor(), id).await?;
    Ok(Json(store::count(&s.db, id).await?))
}
