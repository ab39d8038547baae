//! 客服 (customer service): find an order by its number, the agent (code,
//! name or phone), or the receiver's phone, and answer "when does my order
//! ship" from its state and timeline.

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::identity::Need;

use crate::db::{BindValue, Db, Where};
use crate::orders::purchase::{self, TimelineEvent};
use crate::orders::store::{self, Order};
use crate::registry::{MenuItem, Permission, groups, permissions};
use crate::state::AppState;
use crate::web::{self, PageCtx};
use crate::{Error, Result};

permissions! {
    ServiceRead = "service.read" in "service";
}

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[MenuItem {
    group: &groups::GOODS,
    rank: 40,
    key: "menu.order_lookup",
    href: "/service/lookup",
    permission: Some(ServiceRead::CODE),
}];

pub fn router() -> Router<AppState> {
    Router::new().route("/service/lookup", get(lookup_page))
}

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(api_lookup))
}

/// Most orders one lookup returns (newest first).
const MAX_FOUND: i64 = 20;

/// An order found, with what to tell the caller.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Found {
    pub order: Order,
    pub timeline: Vec<TimelineEvent>,
    /// Message key of the answer to "when does it ship".
    pub answer: String,
}

/// The answer for an order's state.
fn answer(o: &Order) -> &'static str {
    use weiops_core::purchase::OrderState as S;
    match (o.status, o.fulfilment.as_deref()) {
        (_, _) if o.source == "import" => "service.answer_imported",
        (S::PendingPayment, _) => "service.answer_unpaid",
        (S::Paid | S::Completed, Some("cloud")) => "service.answer_cloud",
        (S::Paid, _) => "service.answer_paid",
        (S::Picking, _) => "service.answer_picking",
        (S::Shipped, _) => "service.answer_shipped",
        (S::Received | S::Completed, _) => "service.answer_received",
        (S::Cancelled | S::Closed, _) => "service.answer_cancelled",
        (S::Refunded, _) => "service.answer_refunded",
    }
}

/// Orders matching `q`: an order number (exact or prefix), an agent code,
/// an agent's or receiver's phone (11 digits), or an agent name (prefix).
#[tracing::instrument(skip(db))]
pub async fn lookup(db: &Db, q: &str) -> Result<Vec<Found>> {
    let q = q.trim();
    if q.is_empty() || q.chars().count() > 64 {
        return Err(Error::BadRequest("service.query_too_short"));
    }
    let mut w = Where::new();
    let prefix = crate::db::like_prefix(q);
    match weiops_core::accounts::normalize_phone(q) {
        Ok(Some(phone)) => {
            w.and(
                "(a.phone = ? OR o.receiver_phone = ?)",
                [BindValue::Text(phone.clone()), BindValue::Text(phone)],
            );
        }
        _ => {
            w.and(
                "(o.order_no LIKE ? ESCAPE '\\' OR a.code = ? OR a.name LIKE ? ESCAPE '\\')",
                [
                    BindValue::Text(prefix.clone()),
                    BindValue::Text(q.to_string()),
                    BindValue::Text(prefix),
                ],
            );
        }
    }
    let sql = format!(
        "SELECT o.order_no FROM orders o JOIN agents a ON a.id = o.agent_id{} ORDER BY o.id DESC LIMIT {MAX_FOUND}",
        w.sql()
    );
    let rows = w.bind(crate::db::dynamic(sql)).fetch_all(&db.pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let no: String = r.try_get("order_no")?;
        let order = store::get(db, &no).await?;
        let timeline = purchase::timeline(db, order.id).await?;
        out.push(Found {
            answer: answer(&order).to_string(),
            order,
            timeline,
        });
    }
    Ok(out)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LookupQuery {
    /// Order number, agent code or name, or a phone number.
    q: String,
}

/// Finds orders for a customer-service call, each with its timeline and
/// the answer to "when does it ship".
#[utoipa::path(get, path = "/api/v1/orders/lookup", tag = "orders", params(LookupQuery),
    responses((status = 200, body = Vec<Found>), (status = 400)))]
async fn api_lookup(
    State(s): State<AppState>,
    _who: Need<ServiceRead>,
    Query(q): Query<LookupQuery>,
) -> Result<Json<Vec<Found>>> {
    Ok(Json(lookup(&s.db, &q.q).await?))
}

#[derive(Template)]
#[template(path = "service/lookup.html")]
struct LookupPage {
    ctx: PageCtx,
    q: String,
    found: Option<Vec<Found>>,
    message: Option<String>,
}

impl LookupPage {
    fn status_of(&self, s: impl std::fmt::Display) -> String {
        self.ctx.t(&format!("orders.status.{s}"))
    }

    fn note(&self, n: &str) -> String {
        if n.starts_with("orders.") {
            self.ctx.t(n)
        } else {
            n.to_string()
        }
    }
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    q: Option<String>,
}

async fn lookup_page(
    State(s): State<AppState>,
    _who: Need<ServiceRead>,
    ctx: PageCtx,
    Query(p): Query<PageQuery>,
) -> Result<Response> {
    let q = p.q.unwrap_or_default();
    let (found, message) = if q.trim().is_empty() {
        (None, None)
    } else {
        match lookup(&s.db, &q).await {
            Ok(f) => (Some(f), None),
            Err(Error::BadRequest(key)) => (None, Some(ctx.t(key))),
            Err(e) => return Err(e),
        }
    };
    Ok(web::page(LookupPage {
        ctx: ctx.titled("menu.order_lookup", &[("menu.goods", None)]),
        q,
        found,
        message,
    }))
}
