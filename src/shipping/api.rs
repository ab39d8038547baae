//! `/api/v1/shipments` and `/api/v1/carriers`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{self, Carrier, NewCarrier, Shipment};
use crate::identity::Need;
use crate::orders::{OrdersRead, ShippingWrite};
use crate::paged::Paged;
use crate::state::AppState;
use crate::web::list::ListParams;
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_shipments, create_shipment))
        .routes(routes!(list_carriers, create_carrier))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct ShipmentQuery {
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Shipped parcels, newest first.
#[utoipa::path(get, path = "/api/v1/shipments", tag = "shipping", params(ShipmentQuery), responses((status = 200, body = Paged<Shipment>)))]
async fn list_shipments(
    State(s): State<AppState>,
    _who: Need<OrdersRead>,
    params: ListParams,
) -> Result<Json<Paged<Shipment>>> {
    let p = params.page();
    let (items, total) = store::shipments(&s.db, p.per_page, (p.page - 1) * p.per_page).await?;
    Ok(Json(Paged {
        items,
        page: p.page,
        per_page: p.per_page,
        total,
    }))
}

/// A parcel to ship: an order number or a cloud-stock request number.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewShipment {
    #[serde(default)]
    pub order_no: Option<String>,
    #[serde(default)]
    pub cloud_request_no: Option<String>,
    /// A carrier code (`SF`) or name (`顺丰`).
    pub carrier: String,
    pub tracking_no: String,
}

/// Ships a paid order (picked or not: picking is implied) or a pending
/// cloud-stock request with its carrier and tracking number; the agent is
/// told in the portal. Takes `shipping.write`.
#[utoipa::path(post, path = "/api/v1/shipments", tag = "shipping", request_body = NewShipment,
    responses((status = 201, body = Shipment), (status = 409, description = "Tracking number already used, or nothing to ship"), (status = 422)))]
async fn create_shipment(
    State(s): State<AppState>,
    who: Need<ShippingWrite>,
    Json(body): Json<NewShipment>,
) -> Result<(StatusCode, Json<Shipment>)> {
    let no = match (body.order_no.as_deref(), body.cloud_request_no.as_deref()) {
        (Some(o), None) => o,
        (None, Some(r)) => r,
        _ => return Err(Error::BadRequest("shipping.one_ref")),
    };
    let shipment = store::ship(&s.db, &who.actor(), no, &body.carrier, &body.tracking_no).await?;
    Ok((StatusCode::CREATED, Json(shipment)))
}

/// Every carrier, built-in ones first.
#[utoipa::path(get, path = "/api/v1/carriers", tag = "shipping", responses((status = 200, body = Vec<Carrier>)))]
async fn list_carriers(
    State(s): State<AppState>,
    _who: Need<OrdersRead>,
) -> Result<Json<Vec<Carrier>>> {
    Ok(Json(store::carriers(&s.db).await?))
}

/// Adds a carrier beyond the built-in ones.
#[utoipa::path(post, path = "/api/v1/carriers", tag = "shipping", request_body = NewCarrier,
    responses((status = 201, body = Carrier), (status = 409, description = "Code taken"), (status = 422)))]
async fn create_carrier(
    State(s): State<AppState>,
    who: Need<ShippingWrite>,
    Json(body): Json<NewCarrier>,
) -> Result<(StatusCode, Json<Carrier>)> {
    let c = store::add_carrier(&s.db, &who.actor(), &body).await?;
    Ok((StatusCode::CREATED, Json(c)))
}
