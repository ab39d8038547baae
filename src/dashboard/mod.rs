//! The dashboard (首页): real figures about the installation.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use crate::Result;
use crate::audit_log::AuditRead;
use crate::audit_log::store::{self as audit, AuditFilter};
use crate::audit_log::view::{self as audit_view, EntryView};
use crate::db::now_ms;
use crate::identity::sessions;
use crate::registry::{MenuItem, groups};
use crate::state::AppState;
use crate::stock::StockRead;
use crate::users::store as users;
use crate::web::{self, PageCtx, chart};

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[MenuItem {
    group: &groups::HOME,
    rank: 10,
    key: "menu.dashboard",
    href: "/",
    permission: None,
}];

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(dashboard))
}

#[derive(Template)]
#[template(path = "dashboard/index.html")]
struct DashboardPage {
    ctx: PageCtx,
    users_total: i64,
    users_active: i64,
    live_sessions: i64,
    events_today: i64,
    recent: Vec<EntryView>,
    chart: String,
    /// SKUs at or under their low-stock threshold (top 10) and how many in all.
    low_stock: Vec<crate::stock::store::StockRow>,
    low_total: i64,
}

async fn dashboard(State(state): State<AppState>, ctx: PageCtx) -> Result<Response> {
    let (users_total, users_active) = users::count(&state.db).await?;
    let live_sessions = sessions::count_live(&state.db, &state.options.session_policy).await?;
    let now = now_ms();
    let per_day = audit::per_day(&state.db, 14, now).await?;
    let events_today = per_day.last().map(|(_, n)| *n).unwrap_or(0);
    let recent = if ctx.has::<AuditRead>() {
        let recent = audit::query(
            &state.db,
            &AuditFilter::default(),
            weiops_core::paging::PageRequest::new(Some(1), Some(8)),
        )
        .await?
        .0;
        audit_view::views(&state.db, &ctx, recent).await?
    } else {
        Vec::new()
    };
    let (low_stock, low_total) = if ctx.has::<StockRead>() {
        crate::stock::store::low_stock(&state.db, 10).await?
    } else {
        (Vec::new(), 0)
    };
    let chart = chart::bar_chart(&ctx.t("dashboard.events_chart"), &per_day, 640, 200);
    let ctx = ctx.titled("menu.dashboard", &[]);
    Ok(web::page(DashboardPage {
        ctx,
        users_total,
        users_active,
        live_sessions,
        events_today,
        recent,
        chart,
        low_stock,
        low_total,
    }))
}
