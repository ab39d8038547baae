//! `/api/v1/audit`: querying the audit log (read-only).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{self, AuditEntry};
use crate::Result;
use crate::audit_log::AuditRead;
use crate::identity::Need;
use crate::paged::Paged;
use crate::state::AppState;
use crate::web::list::ListParams;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(query_audit))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct AuditQuery {
    /// Actor username (substring).
    actor: Option<String>,
    /// Actor user id.
    actor_id: Option<i64>,
    /// Exact action (`user.create`) or a prefix ending in a dot (`user.`).
    action: Option<String>,
    /// Entity type, e.g. `user`, `role`.
    entity_type: Option<String>,
    entity_id: Option<String>,
    /// First day, `YYYY-MM-DD`, Beijing time.
    from: Option<String>,
    /// Last day (inclusive), `YYYY-MM-DD`, Beijing time.
    to: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Entries matching the filters, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Paged<AuditEntry>), (status = 400, description = "Malformed date")))]
async fn query_audit(
    State(state): State<AppState>,
    _who: Need<AuditRead>,
    params: ListParams,
) -> Result<Json<Paged<AuditEntry>>> {
    let filter = super::pages::filter_of(&params)?;
    let (items, info) = store::query(&state.db, &filter, params.page()).await?;
    Ok(Json(Paged::new(items, info)))
}
