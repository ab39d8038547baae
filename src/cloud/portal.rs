//! Cloud stock in the agent portal (`/m/cloud`): the agent's balances and
//! requests, and the form asking for some of them to be shipped.

use std::borrow::Borrow;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing;
use weiops_core::paging::PageRequest;

use super::store::{
    BalanceFilter, CloudRequest, CloudRow, NewRequest, RequestFilter, balances, request, requests,
};
use crate::agents::portal::AgentSession;
use crate::audit::Actor;
use crate::error::FieldErrors;
use crate::orders::model::{self, NewLine};
use crate::state::AppState;
use crate::stock::api::shortage_message;
use crate::web::{self, FormPairs, PublicCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new().route("/m/cloud", routing::get(portal).post(portal_request))
}

#[derive(Template)]
#[template(path = "cloud/portal.html")]
struct PortalPage {
    ctx: PublicCtx,
    rows: Vec<CloudRow>,
    requests: Vec<CloudRequest>,
    form: FormPairs,
    errors: FieldErrors,
    message: Option<String>,
}

impl PortalPage {
    fn value(&self, name: &str) -> String {
        self.form.get(name).to_string()
    }

    fn qty(&self, r: &CloudRow) -> String {
        self.form
            .get(&format!("qty_{}_{}", r.warehouse_id, r.sku_id))
            .to_string()
    }

    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|k| self.ctx.t(k))
    }

    fn status(&self, r: &CloudRequest) -> String {
        self.ctx.t(&format!("cloud.status.{}", r.status))
    }

    fn time(&self, ms: impl Borrow<i64>) -> String {
        weiops_core::time::format_minute(*ms.borrow())
    }
}

async fn render_portal(
    s: &AppState,
    ctx: PublicCtx,
    me: &AgentSession,
    form: FormPairs,
    errors: FieldErrors,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    let mine = BalanceFilter {
        agent_id: Some(me.agent.id),
        ..BalanceFilter::default()
    };
    let (rows, _) = balances(&s.db, &mine, PageRequest::new(Some(1), Some(100))).await?;
    let theirs = RequestFilter {
        agent_id: Some(me.agent.id),
        ..RequestFilter::default()
    };
    let (requests, _) = requests(&s.db, &theirs, PageRequest::new(Some(1), Some(30))).await?;
    Ok(web::page_with_status(
        status,
        PortalPage {
            ctx,
            rows,
            requests,
            form,
            errors,
            message,
        },
    ))
}

async fn portal(State(s): State<AppState>, ctx: PublicCtx, me: AgentSession) -> Result<Response> {
    let form = FormPairs(vec![
        ("receiver_name".into(), me.agent.name.clone()),
        ("receiver_phone".into(), me.agent.phone.clone()),
    ]);
    render_portal(
        &s,
        ctx,
        &me,
        form,
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The lines of the portal form (`qty_{warehouse}_{sku}`): one warehouse
/// per request.
fn portal_lines(form: &FormPairs) -> std::result::Result<(Option<i64>, Vec<NewLine>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut warehouse = None;
    let mut lines = Vec::new();
    for (k, v) in &form.0 {
        let Some((w, sku)) = k
            .strip_prefix("qty_")
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(w, s)| Some((w.parse::<i64>().ok()?, s.parse::<i64>().ok()?)))
        else {
            continue;
        };
        match model::form_qty(v) {
            None => continue,
            Some(Ok(qty)) => lines.push(NewLine { sku_id: sku, qty }),
            Some(Err(_)) => {
                errors.add(k, "orders.bad_qty");
                continue;
            }
        }
        if warehouse.is_some_and(|x| x != w) {
            errors.add("lines", "cloud.one_warehouse");
        }
        warehouse = Some(w);
    }
    if errors.is_empty() {
        Ok((warehouse, lines))
    } else {
        Err(errors)
    }
}

async fn portal_request(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    form: FormPairs,
) -> Result<Response> {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let (warehouse_id, lines) = match portal_lines(&form) {
        Ok(x) => x,
        Err(e) => return render_portal(&s, ctx, &me, form, e, None, unprocessable).await,
    };
    let input = NewRequest {
        agent_id: me.agent.id,
        warehouse_id,
        lines,
        receiver_name: form.get("receiver_name").to_string(),
        receiver_phone: form.get("receiver_phone").to_string(),
        receiver_address: form.get("receiver_address").to_string(),
        note: form.get("note").to_string(),
    };
    let actor = Actor::system(&format!("agent:{}", me.agent.code));
    match request(&s.db, &actor, &input).await {
        Ok(Ok(r)) => Ok(web::redirect_with_flash(
            "/m/cloud",
            "success",
            "cloud.requested_flash",
            &r.request_no,
        )),
        Ok(Err(short)) => {
            let message = Some(shortage_message(ctx.locale, "cloud.short", &short));
            let (e, status) = (FieldErrors::default(), StatusCode::CONFLICT);
            render_portal(&s, ctx, &me, form, e, message, status).await
        }
        Err(Error::Validation(e)) => {
            render_portal(&s, ctx, &me, form, e, None, unprocessable).await
        }
        Err(e @ Error::Conflict(_)) => {
            let message = Some(e.report().message(ctx.locale));
            let (e, status) = (FieldErrors::default(), StatusCode::CONFLICT);
            render_portal(&s, ctx, &me, form, e, message, status).await
        }
        Err(e) => Err(e),
    }
}
