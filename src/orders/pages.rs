//! Order pages (订单): the list with filters and export, importing
//! orders.csv as a background job, and refunds.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::import::{self, Source};
use super::store::{self, Order, OrderFilter};
use crate::agents::AgentsPii;
use crate::export::{self, ExportFormat, Table};
use crate::identity::Need;
use crate::jobs;
use crate::ledger::FinanceWrite;
use crate::orders::{OrdersImport, OrdersRead, OrdersWrite, ShippingWrite};
use crate::registry::Permission;
use crate::state::AppState;
use crate::web::list::{ListParams, Pager};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list))
        .route("/orders/export", get(export_list))
        .route("/orders/settings", post(save_settings))
        .route(
            "/orders/import",
            get(import_page)
                .post(import_upload)
                .layer(DefaultBodyLimit::max(1024 * 1024 * 1024)),
        )
        .route("/orders/{order_no}", get(detail))
        .route("/orders/{order_no}/refund", post(refund))
        .route("/orders/{order_no}/act/{action}", post(act))
}

const ORDERS: (&str, Option<&str>) = ("menu.goods", None);

fn filter_of(params: &ListParams) -> OrderFilter {
    let get = |k: &str| params.get(k).map(str::to_string);
    OrderFilter {
        q: get("q"),
        agent: get("agent"),
        agent_id: None,
        status: get("status"),
        from: get("from"),
        to: get("to"),
    }
}

#[derive(Template)]
#[template(path = "orders/list.html")]
struct ListPage {
    ctx: PageCtx,
    params: ListParams,
    orders: Vec<Order>,
    pager: Pager,
    filtered: bool,
    /// The order rules, for those who may change them (the form above
    /// the list); not read for anyone else.
    settings: Option<super::purchase::OrderSettings>,
}

impl ListPage {
    fn statuses(&self) -> Vec<&'static str> {
        weiops_core::purchase::OrderState::ALL
            .iter()
            .map(|s| s.as_str())
            .collect()
    }
}

async fn list(
    State(s): State<AppState>,
    _who: Need<OrdersRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let filter = filter_of(&params);
    let (orders, info) = store::list(&s.db, &filter, params.page()).await?;
    let filtered = ["q", "agent", "status", "from", "to"]
        .iter()
        .any(|k| params.get(k).is_some_and(|v| !v.is_empty()));
    let settings = if ctx.has::<OrdersWrite>() {
        Some(super::purchase::settings(&s.db).await?)
    } else {
        None
    };
    Ok(web::page(ListPage {
        ctx: ctx.titled("menu.orders", &[ORDERS]),
        pager: params.pager(info),
        params,
        orders,
        filtered,
        settings,
    }))
}

/// Saves the order rules from the form above the list.
async fn save_settings(
    State(s): State<AppState>,
    who: Need<OrdersWrite>,
    form: FormPairs,
) -> Result<Response> {
    let new = super::purchase::OrderSettings {
        // Not a whole number: refused like one out of range.
        reservation_minutes: form.get("reservation_minutes").trim().parse().unwrap_or(0),
    };
    match super::purchase::save_settings(&s.db, &who.actor(), &new).await {
        Ok(_) => Ok(web::redirect_with_flash(
            "/orders",
            "success",
            "common.saved",
            "",
        )),
        Err(Error::Validation(_)) => Ok(web::redirect_with_flash(
            "/orders",
            "error",
            "orders.reservation_minutes_range",
            "",
        )),
        Err(e) => Err(e),
    }
}

async fn export_list(
    State(s): State<AppState>,
    _who: Need<OrdersRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let page = weiops_core::paging::PageRequest {
        page: 1,
        per_page: export::MAX_EXPORT_ROWS,
    };
    let (orders, _) = store::list(&s.db, &filter_of(&params), page).await?;
    let t = |k: &str| ctx.t(k);
    let money = |f: i64| weiops_core::money::Fen(f).to_string();
    let table = Table {
        sheet: t("menu.orders"),
        headers: vec![
            t("orders.order_no"),
            t("settlement.col.agent_code"),
            t("settlement.col.agent_name"),
            t("orders.buyer_level"),
            t("orders.retail"),
            t("orders.paid"),
            t("common.status"),
            t("orders.source"),
            t("rewards.paid_at"),
        ],
        rows: orders
            .iter()
            .map(|o| {
                vec![
                    o.order_no.clone(),
                    o.agent_code.clone(),
                    o.agent_name.clone(),
                    o.buyer_level.to_string(),
                    money(o.retail_fen),
                    money(o.paid_fen),
                    ctx.tk(format!("orders.status.{}", o.status)),
                    ctx.tk(format!("orders.source_{}", o.source)),
                    ctx.opt_time(o.paid_at),
                ]
            })
            .collect(),
    };
    export::respond(&table, format, "orders")
}

#[derive(Template)]
#[template(path = "orders/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    o: crate::rewards::lines::OrderRewards,
    order: Order,
    lines: Vec<super::purchase::LineView>,
    timeline: Vec<super::purchase::TimelineEvent>,
    /// Where it goes, the phone masked without `agents.pii`.
    delivery: Option<store::Delivery>,
}

impl DetailPage {
    fn status_key(&self) -> String {
        format!("orders.status.{}", self.o.status)
    }

    fn settlement_key(&self) -> String {
        format!("settlement.status.{}", self.o.settlement)
    }

    fn status_of(&self, s: impl std::fmt::Display) -> String {
        self.ctx.t(&format!("orders.status.{s}"))
    }

    fn fulfilment(&self) -> String {
        self.order
            .fulfilment
            .as_deref()
            .map(|f| self.ctx.t(&format!("orders.fulfilment.{f}")))
            .unwrap_or_default()
    }

    /// The staff moves the order's state allows now that this user may
    /// make: no button its user cannot use.
    fn actions(&self) -> Vec<&'static str> {
        if self.order.source != "app" {
            return Vec::new();
        }
        let cloud = self.order.fulfilment.as_deref() == Some("cloud");
        use weiops_core::purchase::OrderState as S;
        let moves = match self.order.status {
            S::PendingPayment => vec!["pay", "cancel"],
            S::Paid if cloud => vec!["complete"],
            S::Paid => vec!["allocate"],
            S::Picking => vec!["ship"],
            S::Shipped => vec!["receive"],
            S::Received => vec!["complete"],
            S::Completed | S::Cancelled | S::Closed | S::Refunded => Vec::new(),
        };
        moves
            .into_iter()
            .filter(|a| action_permission(a).is_some_and(|p| self.ctx.can(p)))
            .collect()
    }

    /// Kept in cloud stock: nothing ships, so there is no address.
    fn cloud(&self) -> bool {
        self.order.fulfilment.as_deref() == Some("cloud")
    }

    fn note(&self, n: &str) -> String {
        if n.starts_with("orders.") {
            self.ctx.t(n)
        } else {
            n.to_string()
        }
    }
}

async fn detail(
    State(s): State<AppState>,
    _who: Need<OrdersRead>,
    ctx: PageCtx,
    Path(order_no): Path<String>,
) -> Result<Response> {
    let o = crate::rewards::lines::for_order(&s.db, ctx.locale, &order_no).await?;
    let order = store::get(&s.db, &order_no).await?;
    let title = format!("{} {}", ctx.t("orders.order_no"), o.order_no);
    let pii = ctx.can(AgentsPii::CODE);
    Ok(web::page(DetailPage {
        delivery: store::delivery(&s.db, order.id)
            .await?
            .map(|d| d.for_viewer(pii)),
        ctx: ctx.titled_text(title, &[ORDERS, ("menu.orders", Some("/orders"))]),
        lines: super::purchase::lines(&s.db, order.id).await?,
        timeline: super::purchase::timeline(&s.db, order.id).await?,
        order,
        o,
    }))
}

#[derive(Template)]
#[template(path = "orders/import.html")]
struct ImportPage {
    ctx: PageCtx,
    message: Option<String>,
}

async fn import_page(_who: Need<OrdersImport>, ctx: PageCtx) -> Response {
    web::page(ImportPage {
        ctx: ctx.titled(
            "orders.import_title",
            &[ORDERS, ("menu.orders", Some("/orders"))],
        ),
        message: None,
    })
}

async fn import_upload(
    State(s): State<AppState>,
    who: Need<OrdersImport>,
    ctx: PageCtx,
    multipart: Multipart,
) -> Result<Response> {
    let Some(bytes) = web::uploaded_file(multipart, "file").await? else {
        let ctx = ctx.titled(
            "orders.import_title",
            &[ORDERS, ("menu.orders", Some("/orders"))],
        );
        let message = Some(ctx.t("import.no_file"));
        return Ok(web::page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportPage { ctx, message },
        ));
    };
    let db = s.db.clone();
    let actor = who.actor();
    let id = jobs::spawn(
        &s.db,
        "orders.import",
        Some(who.user_id),
        move |progress| async move {
            let r = import::import(&db, &actor, Source::Bytes(&bytes), &*progress).await?;
            Ok(serde_json::to_value(&r).map_err(anyhow::Error::from)?)
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
}

async fn refund(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    ctx: PageCtx,
    Path(order_no): Path<String>,
    form: FormPairs,
) -> Result<Response> {
    let back = format!("/orders?q={}", web::url_encode(&order_no));
    if !form.confirmed() {
        let message = ctx.tf("orders.confirm_refund", &[("order", &order_no)]);
        return Ok(web::confirm(
            ctx,
            message,
            &format!("/orders/{}/refund", web::url_encode(&order_no)),
            vec![],
            &back,
            "orders.refund",
        ));
    }
    match crate::rewards::clawback::refund_order(&s.db, &who.actor(), &order_no).await {
        Ok(o) => Ok(web::redirect_with_flash(
            &back,
            "success",
            if o.clawbacks > 0 {
                "orders.refunded_clawback_flash"
            } else {
                "orders.refunded_flash"
            },
            &o.clawback_period.unwrap_or_default(),
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(&back, "error", key, "")),
        Err(e) => Err(e),
    }
}

/// What a staff move of the order page takes: picking and shipping are
/// the warehouse's (`shipping.write`), taking a payment finance's.
fn action_permission(action: &str) -> Option<&'static str> {
    Some(match action {
        "pay" => FinanceWrite::CODE,
        "allocate" | "ship" => ShippingWrite::CODE,
        "cancel" | "receive" | "complete" => OrdersWrite::CODE,
        _ => return None,
    })
}

/// A staff move from the order page, after a confirmation page.
async fn act(
    State(s): State<AppState>,
    who: crate::identity::Principal,
    ctx: PageCtx,
    Path((order_no, action)): Path<(String, String)>,
    form: FormPairs,
) -> Result<Response> {
    use weiops_core::purchase::OrderAction as A;
    let back = format!("/orders/{}", web::url_encode(&order_no));
    let action = match action.as_str() {
        "pay" => A::Pay,
        "cancel" => A::Cancel,
        "allocate" => A::Allocate,
        "ship" => A::Ship,
        "receive" => A::Receive,
        "complete" => A::Complete,
        _ => return Err(Error::NotFound),
    };
    who.require(action_permission(action.as_str()).ok_or(Error::NotFound)?)?;
    if !form.confirmed() {
        let message = ctx.tf(
            &format!("orders.confirm_{}", action.as_str()),
            &[("order", &order_no)],
        );
        return Ok(web::confirm(
            ctx,
            message,
            &format!(
                "/orders/{}/act/{}",
                web::url_encode(&order_no),
                action.as_str()
            ),
            vec![("note".into(), form.get("note").to_string())],
            &back,
            &format!("orders.action.{}", action.as_str()),
        ));
    }
    let actor = who.actor();
    let note = form.get("note").trim().to_string();
    let result = match action {
        A::Pay => super::purchase::pay_from_balance(&s.db, &actor, &order_no, None).await,
        A::Cancel => super::purchase::cancel(&s.db, &actor, &order_no, None, &note).await,
        other => super::purchase::advance(&s.db, &actor, &order_no, other, &note)
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Ok(web::redirect_with_flash(
            &back,
            "success",
            "orders.moved_flash",
            "",
        )),
        Err(Error::Conflict(key) | Error::Refused(key)) => {
            Ok(web::redirect_with_flash(&back, "error", key, ""))
        }
        Err(e) => Err(e),
    }
}
