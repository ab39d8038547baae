//! `/api/v1/orders`: importing orders.csv and refunds (the goods side adds
//! placing and paying orders here).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::import::{self, OrdersReport, Source};
use crate::Result;
use crate::access::Need;
use crate::access::catalog::{FinanceWrite, OrdersImport};
use crate::http::AppState;
use crate::rewards::clawback::{self, RefundOutcome};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_orders))
        .routes(routes!(refund_order))
}

/// Imports orders.csv (or .xlsx) sent as the request body. All or nothing:
/// 422 with every problem by line, nothing stored.
#[utoipa::path(post, path = "/api/v1/orders/import", tag = "orders",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = OrdersReport), (status = 422)))]
async fn import_orders(
    State(s): State<AppState>,
    who: Need<OrdersImport>,
    body: Bytes,
) -> Result<Json<OrdersReport>> {
    let quiet = |_stage: &'static str, _done: usize, _total: usize| {};
    Ok(Json(
        import::import(&s.db, &who.actor(), Source::Bytes(&body), &quiet).await?,
    ))
}

/// Refunds a paid order: it stops counting for rewards; when its month is
/// already approved, its rewards are clawed back in the next open month.
#[utoipa::path(post, path = "/api/v1/orders/{order_no}/refund", tag = "orders", params(("order_no" = String, Path)),
    responses((status = 200, body = RefundOutcome), (status = 404), (status = 409)))]
async fn refund_order(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Path(order_no): Path<String>,
) -> Result<Json<RefundOutcome>> {
    Ok(Json(
        clawback::refund_order(&s.db, &who.actor(), &order_no).await?,
    ))
}
