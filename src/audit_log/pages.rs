//! The audit log page (系统管理 → 操作日志): filters, pagination, export.
//! There is no route that edits or deletes an entry.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use weiops_core::time::{parse_day_end, parse_day_start};

use super::store::{self, AuditFilter};
use super::view::{self, EntryView};
use crate::audit_log::AuditRead;
use crate::export::{self, ExportFormat, Table};
use crate::identity::Need;
use crate::state::AppState;
use crate::web::list::{ListParams, Pager};
use crate::web::{self, PageCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(list))
        .route("/audit/export", get(export_log))
        .route("/audit/{id}", get(detail))
}

/// The filter from a query string; a malformed date is an error, not ignored.
pub fn filter_of(params: &ListParams) -> Result<AuditFilter> {
    let day = |key: &str, end: bool| -> Result<Option<i64>> {
        match params.get(key) {
            None => Ok(None),
            Some(s) => {
                let parsed = if end {
                    parse_day_end(s)
                } else {
                    parse_day_start(s)
                };
                parsed.map(Some).ok_or(Error::BadRequest("audit.bad_date"))
            }
        }
    };
    Ok(AuditFilter {
        actor: params.get("actor").map(str::to_string),
        actor_id: params.get_i64("actor_id"),
        action: params.get("action").map(str::to_string),
        entity_type: params.get("entity_type").map(str::to_string),
        entity_id: params.get("entity_id").map(str::to_string),
        from_ms: day("from", false)?,
        to_ms: day("to", true)?,
    })
}

#[derive(Template)]
#[template(path = "audit_log/list.html")]
struct ListPage {
    ctx: PageCtx,
    params: ListParams,
    entries: Vec<EntryView>,
    pager: Pager,
    actions: Vec<String>,
    entity_types: Vec<String>,
}

async fn list(
    State(state): State<AppState>,
    _who: Need<AuditRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let filter = filter_of(&params)?;
    let (entries, info) = store::query(&state.db, &filter, params.page()).await?;
    let (actions, entity_types) = store::facets(&state.db).await?;
    let entries = view::views(&state.db, &ctx, entries).await?;
    let ctx = ctx.titled("menu.audit", &[("menu.system", None)]);
    Ok(web::page(ListPage {
        ctx,
        pager: params.pager(info),
        params,
        entries,
        actions,
        entity_types,
    }))
}

async fn export_log(
    State(state): State<AppState>,
    _who: Need<AuditRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let filter = filter_of(&params)?;
    let entries = store::query_all(&state.db, &filter, export::MAX_EXPORT_ROWS).await?;
    let t = |k: &str| ctx.t(k);
    let table = Table {
        sheet: t("menu.audit"),
        headers: vec![
            "ID".into(),
            t("audit.at"),
            t("audit.actor"),
            t("audit.action"),
            t("audit.entity"),
            t("audit.entity_id"),
            t("audit.summary"),
            t("audit.before"),
            t("audit.after"),
            t("audit.ip"),
            t("audit.request_id"),
        ],
        rows: entries
            .into_iter()
            .map(|e| {
                vec![
                    e.id.to_string(),
                    weiops_core::time::format_second(e.at),
                    e.actor_name,
                    e.action,
                    e.entity_type,
                    e.entity_id,
                    e.summary,
                    e.before.unwrap_or_default(),
                    e.after.unwrap_or_default(),
                    e.ip,
                    e.request_id,
                ]
            })
            .collect(),
    };
    export::respond(&table, format, "audit-log")
}

#[derive(Template)]
#[template(path = "audit_log/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    view: EntryView,
    before: String,
    after: String,
}

fn pretty(json: &Option<String>) -> String {
    json.as_deref()
        .map(|s| {
            serde_json::from_str::<serde_json::Value>(s)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| s.to_string())
        })
        .unwrap_or_default()
}

async fn detail(
    State(state): State<AppState>,
    _who: Need<AuditRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let entry = store::get(&state.db, id).await?;
    let ctx = ctx.titled_text(
        format!("#{}", entry.id),
        &[("menu.system", None), ("menu.audit", Some("/audit"))],
    );
    let before = pretty(&entry.before);
    let after = pretty(&entry.after);
    let view = view::views(&state.db, &ctx, vec![entry])
        .await?
        .pop()
        .ok_or(Error::NotFound)?;
    Ok(web::page(DetailPage {
        before,
        after,
        ctx,
        view,
    }))
}
