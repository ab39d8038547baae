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
use crate::access::catalog::{FinanceWrite, OrdersImport, OrdersRead};
use crate::http::AppState;
use crate::rewards::clawback::{self, RefundOutcome};
use crate::rewards::lines::OrderRewards;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_orders))
        .routes(routes!(refund_order))
        .routes(routes!(order_rewards))
}

/// Every reward line the order produces (beneficiary, rule, generation,
/// amount), each explained, and any clawbacks of it.
#[utoipa::path(get, path = "/api/v1/orders/{order_no}/rewards", tag = "orders", params(("order_no" = String, Path)),
    responses((status = 200, body = OrderRewards), (status = 404)))]
async fn order_rewards(
    State(s): State<AppState>,
    _who: Need<OrdersRead>,
    axum::Extension(locale): axum::Extension<crate::i18n::Locale>,
    Path(order_no): Path<String>,
) -> Result<Json<OrderRewards>> {
    Ok(Json(
        crate::rewards::lines::for_order(&s.db, locale, &order_no).await?,
    ))
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
