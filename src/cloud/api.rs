//! The cloud-stock API (`/api/v1/cloud-stock`): balances, shipment
//! requests, shipping and cancelling them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{
    BalanceFilter, CloudRequest, CloudRow, NewRequest, OwedTotal, RequestFilter, balances, cancel,
    get, owed_totals, request, requests, ship,
};
use crate::Result;
use crate::i18n::Locale;
use crate::identity::Need;
use crate::orders::{OrdersWrite, ShippingWrite};
use crate::state::AppState;
use crate::stock::api::{ShortageBody, ShortageError, shortage_message};
use crate::stock::moves::Shortage;
use crate::stock::{StockRead, StockWrite};
use crate::web::list::ListParams;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_balances))
        .routes(routes!(api_requests, api_request))
        .routes(routes!(api_ship))
        .routes(routes!(api_cancel))
}

fn short_response(locale: Locale, request_id: &str, s: &Shortage) -> Response {
    let body = ShortageBody {
        error: ShortageError {
            code: "cloud_stock_short",
            message: shortage_message(locale, "cloud.short", s),
            request_id: request_id.to_string(),
            sku: s.sku_code.clone(),
            available: s.available,
            requested: s.requested,
        },
    };
    (StatusCode::CONFLICT, Json(body)).into_response()
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct BalanceQuery {
    /// An agent code.
    agent: Option<String>,
    /// The start of a SKU code or part of a product name.
    q: Option<String>,
    warehouse: Option<i64>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalancePage {
    pub items: Vec<CloudRow>,
    /// Per SKU, over every balance the filter selects.
    pub totals: Vec<OwedTotal>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// Cloud-stock balances (above zero) per agent, SKU and warehouse.
#[utoipa::path(get, path = "/api/v1/cloud-stock", tag = "stock", params(BalanceQuery), responses((status = 200, body = BalancePage)))]
async fn api_balances(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    params: ListParams,
) -> Result<Json<BalancePage>> {
    let filter = BalanceFilter::of(&params);
    let (items, info) = balances(&s.db, &filter, params.page()).await?;
    Ok(Json(BalancePage {
        items,
        totals: owed_totals(&s.db, &filter).await?,
        page: info.page,
        per_page: info.per_page,
        total: info.total,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct RequestQuery {
    /// `pending`, `shipped` or `cancelled`.
    status: Option<String>,
    /// An agent code.
    agent: Option<String>,
    /// The start of a request number, or the receiver's name or phone.
    q: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestPage {
    pub items: Vec<CloudRequest>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// Shipment requests from cloud stock, newest first.
#[utoipa::path(get, path = "/api/v1/cloud-stock/requests", tag = "stock", params(RequestQuery), responses((status = 200, body = RequestPage)))]
async fn api_requests(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    params: ListParams,
) -> Result<Json<RequestPage>> {
    let (items, info) = requests(&s.db, &RequestFilter::of(&params), params.page()).await?;
    Ok(Json(RequestPage {
        items,
        page: info.page,
        per_page: info.per_page,
        total: info.total,
    }))
}

/// Requests shipment of cloud stock on an agent's behalf (提货/代发). All
/// or nothing: when a line is more than the balance, 409 with the SKU and
/// the balance, and nothing changes.
#[utoipa::path(post, path = "/api/v1/cloud-stock/requests", tag = "stock", request_body = NewRequest,
    responses((status = 201, body = CloudRequest), (status = 404, description = "No such agent"), (status = 409, body = ShortageBody), (status = 422)))]
async fn api_request(
    State(s): State<AppState>,
    who: Need<OrdersWrite>,
    Extension(locale): Extension<Locale>,
    Json(body): Json<NewRequest>,
) -> Result<Response> {
    Ok(match request(&s.db, &who.actor(), &body).await? {
        Ok(r) => (StatusCode::CREATED, Json(r)).into_response(),
        Err(short) => short_response(locale, &who.meta.request_id, &short),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ShipInput {
    pub carrier: String,
    pub tracking_no: String,
}

/// Marks a pending request shipped: its reserved units leave the warehouse.
#[utoipa::path(post, path = "/api/v1/cloud-stock/requests/{id}/ship", tag = "stock", params(("id" = i64, Path)), request_body = ShipInput,
    responses((status = 200, body = CloudRequest), (status = 404), (status = 409, description = "Not pending"), (status = 422)))]
async fn api_ship(
    State(s): State<AppState>,
    who: Need<ShippingWrite>,
    Path(id): Path<i64>,
    Json(body): Json<ShipInput>,
) -> Result<Json<CloudRequest>> {
    ship(&s.db, &who.actor(), id, &body.carrier, &body.tracking_no).await?;
    Ok(Json(get(&s.db, id).await?))
}

/// Cancels a pending request: its units go back to the agent's cloud stock.
#[utoipa::path(post, path = "/api/v1/cloud-stock/requests/{id}/cancel", tag = "stock", params(("id" = i64, Path)),
    responses((status = 200, body = CloudRequest), (status = 404), (status = 409, description = "Not pending")))]
async fn api_cancel(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Path(id): Path<i64>,
) -> Result<Json<CloudRequest>> {
    cancel(&s.db, &who.actor(), id).await?;
    Ok(Json(get(&s.db, id).await?))
}
