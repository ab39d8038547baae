//! 售后 pages: the staff list with refund / reject, a request from the
//! staff order page, and the agent's request from the portal order page.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};

use super::aftersales::{self, Case, NewCase, Refund};
use crate::agents::portal::AgentSession;
use crate::audit::Actor;
use crate::identity::Need;
use crate::ledger::FinanceWrite;
use crate::orders::{OrdersRead, OrdersWrite};
use crate::state::AppState;
use crate::web::list::{ListParams, Pager};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/aftersales", get(list))
        .route("/aftersales/{case_no}/refund", post(refund))
        .route("/aftersales/{case_no}/reject", post(reject))
        .route("/orders/{order_no}/aftersales", post(request_staff))
        .route("/m/orders/{order_no}/aftersales", post(request_agent))
}

#[derive(Template)]
#[template(path = "orders/aftersales.html")]
struct ListPage {
    ctx: PageCtx,
    params: ListParams,
    cases: Vec<Case>,
    pager: Pager,
}

impl ListPage {
    fn label(&self, prefix: &str, v: &str) -> String {
        self.ctx.t(&format!("{prefix}{v}"))
    }
}

async fn list(
    State(s): State<AppState>,
    _who: Need<OrdersRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let status = match params.get("status") {
        None => Some("requested"),
        Some("") => None,
        Some(v) => Some(v),
    };
    let (cases, info) =
        aftersales::list(&s.db, status, params.get("order_no"), None, params.page()).await?;
    Ok(web::page(ListPage {
        ctx: ctx.titled("menu.aftersales", &[("menu.goods", None)]),
        pager: params.pager(info),
        params,
        cases,
    }))
}

fn flash_error(back: &str, e: Error) -> Result<Response> {
    match e {
        Error::Conflict(key) | Error::Refused(key) => {
            Ok(web::redirect_with_flash(back, "error", key, ""))
        }
        Error::Validation(f) => Ok(web::redirect_with_flash(
            back,
            "error",
            f.0.first()
                .map(|(_, k)| k.as_str())
                .unwrap_or("error.validation"),
            "",
        )),
        other => Err(other),
    }
}

async fn refund(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    ctx: PageCtx,
    Path(case_no): Path<String>,
    form: FormPairs,
) -> Result<Response> {
    if !form.confirmed() {
        let message = ctx.tf("aftersales.confirm_refund", &[("case", &case_no)]);
        return Ok(web::confirm(
            ctx,
            message,
            &format!("/aftersales/{case_no}/refund"),
            vec![
                ("refund_to".into(), form.get("refund_to").to_string()),
                ("goods".into(), form.get("goods").to_string()),
            ],
            "/aftersales",
            "aftersales.refund",
        ));
    }
    let how = Refund {
        refund_to: form.get("refund_to").to_string(),
        goods: Some(form.get("goods").to_string()).filter(|g| !g.is_empty()),
    };
    match aftersales::refund(&s.db, &who.actor(), &case_no, &how).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/aftersales",
            "success",
            "aftersales.refunded_flash",
            "",
        )),
        Err(e) => flash_error("/aftersales", e),
    }
}

async fn reject(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Path(case_no): Path<String>,
    form: FormPairs,
) -> Result<Response> {
    match aftersales::reject(&s.db, &who.actor(), &case_no, form.get("reason")).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/aftersales",
            "success",
            "aftersales.rejected_flash",
            "",
        )),
        Err(e) => flash_error("/aftersales", e),
    }
}

fn case_of(order_no: &str, form: &FormPairs) -> NewCase {
    NewCase {
        order_no: order_no.to_string(),
        kind: form.get("kind").to_string(),
        reason: form.get("reason").to_string(),
    }
}

async fn request_staff(
    State(s): State<AppState>,
    who: Need<OrdersWrite>,
    Path(order_no): Path<String>,
    form: FormPairs,
) -> Result<Response> {
    let back = format!("/orders/{}", web::url_encode(&order_no));
    match aftersales::request(&s.db, &who.actor(), None, &case_of(&order_no, &form)).await {
        Ok(_) => Ok(web::redirect_with_flash(
            &back,
            "success",
            "aftersales.requested_flash",
            "",
        )),
        Err(e) => flash_error(&back, e),
    }
}

async fn request_agent(
    State(s): State<AppState>,
    me: AgentSession,
    Path(order_no): Path<String>,
    form: FormPairs,
) -> Result<Response> {
    let back = format!("/m/orders/{}", web::url_encode(&order_no));
    let actor = Actor::system(&format!("agent:{}", me.agent.code));
    match aftersales::request(&s.db, &actor, Some(me.agent.id), &case_of(&order_no, &form)).await {
        Ok(_) => Ok(web::redirect_with_flash(
            &back,
            "success",
            "aftersales.requested_flash",
            "",
        )),
        Err(e) => flash_error(&back, e),
    }
}
