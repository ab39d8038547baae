//! `/api/v1/orders`: importing orders.csv and refunds (the goods side adds
//! placing and paying orders here).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::import::{self, OrdersReport, Source};
use super::model::{NewOrder, PlacedOrder};
use super::purchase::{self, LineView, OrderSettings, TimelineEvent};
use super::store::{self, Delivery, Order, OrderFilter};
use crate::agents::AgentsPii;
use crate::identity::{Need, Principal};
use crate::ledger::FinanceWrite;
use crate::orders::{OrdersImport, OrdersRead, OrdersWrite, ShippingWrite};
use crate::paged::Paged;
use crate::registry::Permission;
use crate::rewards::clawback::{self, RefundOutcome};
use crate::rewards::lines::OrderRewards;
use crate::state::AppState;
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders, place_order))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(get_order))
        .routes(routes!(pay_order))
        .routes(routes!(cancel_order))
        .routes(routes!(advance_order))
        .routes(routes!(list_cases, request_case))
        .routes(routes!(refund_case))
        .routes(routes!(reject_case))
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

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct OrderQuery {
    /// Order number prefix.
    q: Option<String>,
    /// The buyer's code.
    agent: Option<String>,
    status: Option<String>,
    /// Paid from / to (Beijing days, YYYY-MM-DD).
    from: Option<String>,
    to: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OrderPage {
    pub items: Vec<Order>,
    pub page: i64,
    pub per_page: i64,
    /// Orders matching the filters; when `total_capped`, a floor.
    pub total: i64,
    /// Counting stopped 10,000 orders past the start of this page (an
    /// exact count of millions of orders reads them all): at least `total`
    /// orders match, and more pages may follow the last one it implies.
    pub total_capped: bool,
}

/// Orders, newest first, with filters.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderQuery), responses((status = 200, body = OrderPage)))]
async fn list_orders(
    State(s): State<AppState>,
    _who: Need<OrdersRead>,
    axum::extract::Query(q): axum::extract::Query<OrderQuery>,
) -> Result<Json<OrderPage>> {
    let filter = OrderFilter {
        q: q.q,
        agent: q.agent,
        agent_id: None,
        status: q.status,
        from: q.from,
        to: q.to,
    };
    let (items, info) = store::list(
        &s.db,
        &filter,
        weiops_core::paging::PageRequest::new(q.page, q.per_page),
    )
    .await?;
    Ok(Json(OrderPage {
        items,
        page: info.page,
        per_page: info.per_page,
        total: info.total,
        total_capped: info.capped,
    }))
}

/// The order rules in force: how long an unpaid order holds its stock.
#[utoipa::path(get, path = "/api/v1/orders/settings", tag = "orders",
    responses((status = 200, body = OrderSettings)))]
async fn get_settings(
    State(s): State<AppState>,
    _who: Need<OrdersRead>,
) -> Result<Json<OrderSettings>> {
    Ok(Json(purchase::settings(&s.db).await?))
}

/// Sets the order rules (audited). Orders placed from now on follow them;
/// 422 when `reservation_minutes` is not from 1 to 10,080.
#[utoipa::path(put, path = "/api/v1/orders/settings", tag = "orders", request_body = OrderSettings,
    responses((status = 200, body = OrderSettings), (status = 422)))]
async fn put_settings(
    State(s): State<AppState>,
    who: Need<OrdersWrite>,
    Json(new): Json<OrderSettings>,
) -> Result<Json<OrderSettings>> {
    Ok(Json(
        purchase::save_settings(&s.db, &who.actor(), &new).await?,
    ))
}

/// Places a purchase order for an agent (staff on the agent's behalf).
/// Stock is reserved at once; 409 names the SKU and the quantity available
/// when stock cannot cover it, and nothing is kept.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = NewOrder,
    responses((status = 201, body = PlacedOrder), (status = 409), (status = 422)))]
async fn place_order(
    State(s): State<AppState>,
    who: Need<OrdersWrite>,
    Json(input): Json<NewOrder>,
) -> Result<(axum::http::StatusCode, Json<PlacedOrder>)> {
    let placed = purchase::place(&s.db, &who.actor(), Some(who.user_id), &input).await?;
    Ok((axum::http::StatusCode::CREATED, Json(placed)))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OrderDetail {
    pub order: Order,
    pub lines: Vec<LineView>,
    pub timeline: Vec<TimelineEvent>,
    /// Where it ships; none for orders kept in cloud stock and imported
    /// ones. The phone is masked without `agents.pii`.
    pub delivery: Option<Delivery>,
}

/// One order with its lines and timeline.
#[utoipa::path(get, path = "/api/v1/orders/{order_no}", tag = "orders", params(("order_no" = String, Path)),
    responses((status = 200, body = OrderDetail), (status = 404)))]
async fn get_order(
    State(s): State<AppState>,
    who: Need<OrdersRead>,
    Path(order_no): Path<String>,
) -> Result<Json<OrderDetail>> {
    let order = store::get(&s.db, &order_no).await?;
    Ok(Json(OrderDetail {
        delivery: store::delivery(&s.db, order.id)
            .await?
            .map(|d| d.for_viewer(who.can(AgentsPii::CODE))),
        lines: purchase::lines(&s.db, order.id).await?,
        timeline: purchase::timeline(&s.db, order.id).await?,
        order,
    }))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct PayBody {
    /// `balance`: from the agent's prepaid balance (货款余额).
    pub method: String,
}

/// Pays an unpaid order from the agent's prepaid balance (409 when short).
/// Transfers go through /api/v1/payments and finance's confirmation.
#[utoipa::path(post, path = "/api/v1/orders/{order_no}/pay", tag = "orders", params(("order_no" = String, Path)),
    request_body = PayBody, responses((status = 200, body = Order), (status = 409)))]
async fn pay_order(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Path(order_no): Path<String>,
    Json(body): Json<PayBody>,
) -> Result<Json<Order>> {
    if body.method != "balance" {
        return Err(Error::BadRequest("orders.bad_payment_method"));
    }
    purchase::pay_from_balance(&s.db, &who.actor(), &order_no, None).await?;
    Ok(Json(store::get(&s.db, &order_no).await?))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct NoteBody {
    #[serde(default)]
    pub note: String,
}

/// Cancels an unpaid order and releases its stock.
#[utoipa::path(post, path = "/api/v1/orders/{order_no}/cancel", tag = "orders", params(("order_no" = String, Path)),
    request_body = NoteBody, responses((status = 200, body = Order), (status = 409)))]
async fn cancel_order(
    State(s): State<AppState>,
    who: Need<OrdersWrite>,
    Path(order_no): Path<String>,
    body: Option<Json<NoteBody>>,
) -> Result<Json<Order>> {
    let note = body.map(|b| b.0.note).unwrap_or_default();
    purchase::cancel(&s.db, &who.actor(), &order_no, None, note.trim()).await?;
    Ok(Json(store::get(&s.db, &order_no).await?))
}

/// Moves a paid order on: `allocate` (配货) and `ship` (the goods leave
/// the warehouse) take `shipping.write`; `receive` (签收) and `complete`
/// take `orders.write`. A move its state does not allow is refused with
/// 409.
#[utoipa::path(post, path = "/api/v1/orders/{order_no}/{action}", tag = "orders",
    params(("order_no" = String, Path), ("action" = String, Path, description = "allocate | ship | receive | complete")),
    request_body = NoteBody, responses((status = 200, body = Order), (status = 409)))]
async fn advance_order(
    State(s): State<AppState>,
    who: Principal,
    Path((order_no, action)): Path<(String, String)>,
    body: Option<Json<NoteBody>>,
) -> Result<Json<Order>> {
    use weiops_core::purchase::OrderAction as A;
    let (action, permission) = match action.as_str() {
        "allocate" => (A::Allocate, ShippingWrite::CODE),
        "ship" => (A::Ship, ShippingWrite::CODE),
        "receive" => (A::Receive, OrdersWrite::CODE),
        "complete" => (A::Complete, OrdersWrite::CODE),
        _ => return Err(Error::NotFound),
    };
    who.require(permission)?;
    let note = body.map(|b| b.0.note).unwrap_or_default();
    purchase::advance(&s.db, &who.actor(), &order_no, action, note.trim()).await?;
    Ok(Json(store::get(&s.db, &order_no).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct CaseQuery {
    /// `requested`, `refunded`, `rejected`.
    status: Option<String>,
    order_no: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// After-sales cases (售后), newest first.
#[utoipa::path(get, path = "/api/v1/after-sales", tag = "orders", params(CaseQuery), responses((status = 200, body = Paged<super::aftersales::Case>)))]
async fn list_cases(
    State(s): State<AppState>,
    _who: Need<OrdersRead>,
    axum::extract::Query(q): axum::extract::Query<CaseQuery>,
) -> Result<Json<Paged<super::aftersales::Case>>> {
    let (items, info) = super::aftersales::list(
        &s.db,
        q.status.as_deref(),
        q.order_no.as_deref(),
        None,
        weiops_core::paging::PageRequest::new(q.page, q.per_page),
    )
    .await?;
    Ok(Json(Paged::new(items, info)))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CaseCreated {
    pub case_no: String,
}

/// Opens a refund-only or return-and-refund case for a paid order.
#[utoipa::path(post, path = "/api/v1/after-sales", tag = "orders", request_body = super::aftersales::NewCase,
    responses((status = 201, body = CaseCreated), (status = 409), (status = 422)))]
async fn request_case(
    State(s): State<AppState>,
    who: Need<OrdersWrite>,
    Json(input): Json<super::aftersales::NewCase>,
) -> Result<(axum::http::StatusCode, Json<CaseCreated>)> {
    let case_no = super::aftersales::request(&s.db, &who.actor(), None, &input).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(CaseCreated { case_no }),
    ))
}

/// Refunds a case: the order stops counting, goods are released or taken
/// back (`restock`) or written off, the money is booked, and the order's
/// rewards are reversed (clawed back when its month is settled).
#[utoipa::path(post, path = "/api/v1/after-sales/{case_no}/refund", tag = "orders", params(("case_no" = String, Path)),
    request_body = super::aftersales::Refund, responses((status = 200, body = CaseCreated), (status = 409), (status = 422)))]
async fn refund_case(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Path(case_no): Path<String>,
    Json(how): Json<super::aftersales::Refund>,
) -> Result<Json<CaseCreated>> {
    super::aftersales::refund(&s.db, &who.actor(), &case_no, &how).await?;
    Ok(Json(CaseCreated { case_no }))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct ReasonBody {
    pub reason: String,
}

/// Rejects a case with a reason.
#[utoipa::path(post, path = "/api/v1/after-sales/{case_no}/reject", tag = "orders", params(("case_no" = String, Path)),
    request_body = ReasonBody, responses((status = 200, body = CaseCreated), (status = 409), (status = 422)))]
async fn reject_case(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Path(case_no): Path<String>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<CaseCreated>> {
    super::aftersales::reject(&s.db, &who.actor(), &case_no, &body.reason).await?;
    Ok(Json(CaseCreated { case_no }))
}
