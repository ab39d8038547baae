//! 收款确认: finance reviews the transfers agents recorded (order payments
//! and prepaid top-ups) and confirms or rejects them; the API beside it.

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::identity::Need;
use crate::ledger::{FinanceRead, FinanceWrite};
use crate::orders::payments::{self, NewPayment, Payment};
use crate::paged::Paged;
use crate::state::AppState;
use crate::web::list::{ListParams, Pager};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/finance/payments", get(list))
        .route("/finance/payments/{id}/proof", get(proof))
        .route("/finance/payments/{id}/confirm", post(confirm))
        .route("/finance/payments/{id}/reject", post(reject))
}

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_submit))
        .routes(routes!(api_confirm))
        .routes(routes!(api_reject))
}

const FINANCE: (&str, Option<&str>) = ("menu.finance", None);

#[derive(Template)]
#[template(path = "finance/payments.html")]
struct ListPage {
    ctx: PageCtx,
    params: ListParams,
    payments: Vec<Payment>,
    pager: Pager,
}

impl ListPage {
    fn status(&self, p: &Payment) -> String {
        self.ctx.t(&format!("payments.status.{}", p.status))
    }
}

async fn list(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let status = match params.get("status") {
        None => Some("pending"),
        Some("") => None,
        Some(v) => Some(v),
    };
    let (payments, info) = payments::list(&s.db, status, None, params.page()).await?;
    Ok(web::page(ListPage {
        ctx: ctx.titled("menu.payments", &[FINANCE]),
        pager: params.pager(info),
        params,
        payments,
    }))
}

async fn proof(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    Path(id): Path<i64>,
) -> Result<Response> {
    let (bytes, kind) = payments::proof(&s.db, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        bytes,
    )
        .into_response())
}

async fn confirm(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let p = payments::get(&s.db, id).await?;
    if !form.confirmed() {
        let message = ctx.tf(
            "payments.confirm_message",
            &[
                ("agent", &p.agent_name),
                ("amount", &ctx.money(p.amount_fen)),
            ],
        );
        return Ok(web::confirm(
            ctx,
            message,
            &format!("/finance/payments/{id}/confirm"),
            vec![],
            "/finance/payments",
            "payments.confirm",
        ));
    }
    match payments::confirm(&s.db, &who.actor(), id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/finance/payments",
            "success",
            "payments.confirmed_flash",
            "",
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(
            "/finance/payments",
            "error",
            key,
            "",
        )),
        Err(e) => Err(e),
    }
}

async fn reject(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    match payments::reject(&s.db, &who.actor(), id, form.get("reason")).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/finance/payments",
            "success",
            "payments.rejected_flash",
            "",
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(
            "/finance/payments",
            "error",
            key,
            "",
        )),
        Err(Error::Validation(f)) => Ok(web::redirect_with_flash(
            "/finance/payments",
            "error",
            f.0.first()
                .map(|(_, k)| k.as_str())
                .unwrap_or("payments.reason_required"),
            "",
        )),
        Err(e) => Err(e),
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct PaymentQuery {
    /// `pending`, `confirmed`, `rejected`; all when absent.
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Recorded transfers, newest first.
#[utoipa::path(get, path = "/api/v1/payments", tag = "finance", params(PaymentQuery), responses((status = 200, body = Paged<Payment>)))]
async fn api_list(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    axum::extract::Query(q): axum::extract::Query<PaymentQuery>,
) -> Result<Json<Paged<Payment>>> {
    let (items, info) = payments::list(
        &s.db,
        q.status.as_deref(),
        None,
        weiops_core::paging::PageRequest::new(q.page, q.per_page),
    )
    .await?;
    Ok(Json(Paged::new(items, info)))
}

/// Records a transfer on an agent's behalf: the payment of an unpaid order
/// (`order_no`) or a top-up of the prepaid balance (`amount_fen`).
#[utoipa::path(post, path = "/api/v1/payments", tag = "finance", request_body = NewPayment,
    responses((status = 201, body = Payment), (status = 422)))]
async fn api_submit(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Json(input): Json<NewPayment>,
) -> Result<(axum::http::StatusCode, Json<Payment>)> {
    let id = payments::submit(&s.db, &who.actor(), &input, None).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(payments::get(&s.db, id).await?),
    ))
}

/// Confirms a pending transfer: the order is paid or the balance credited.
#[utoipa::path(post, path = "/api/v1/payments/{id}/confirm", tag = "finance", params(("id" = i64, Path)),
    responses((status = 200, body = Payment), (status = 409)))]
async fn api_confirm(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Path(id): Path<i64>,
) -> Result<Json<Payment>> {
    payments::confirm(&s.db, &who.actor(), id).await?;
    Ok(Json(payments::get(&s.db, id).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct RejectBody {
    pub reason: String,
}

/// Rejects a pending transfer with a reason.
#[utoipa::path(post, path = "/api/v1/payments/{id}/reject", tag = "finance", params(("id" = i64, Path)),
    request_body = RejectBody, responses((status = 200, body = Payment), (status = 409), (status = 422)))]
async fn api_reject(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Path(id): Path<i64>,
    Json(body): Json<RejectBody>,
) -> Result<Json<Payment>> {
    payments::reject(&s.db, &who.actor(), id, &body.reason).await?;
    Ok(Json(payments::get(&s.db, id).await?))
}
