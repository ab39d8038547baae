//! `/api/v1/roles` and `/api/v1/permissions`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weiops_core::paging::PageRequest;

use super::roles::{self, Role, RoleInput};
use super::{RolesRead, RolesWrite};
use crate::Result;
use crate::identity::Need;
use crate::paged::Paged;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_permissions))
        .routes(routes!(list_roles, create_role))
        .routes(routes!(get_role, update_role, delete_role))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionInfo {
    pub code: String,
    pub group: String,
    pub name_zh: String,
    pub name_en: String,
}

/// Every permission weiops knows.
#[utoipa::path(get, path = "/api/v1/permissions", tag = "roles", responses((status = 200, body = Vec<PermissionInfo>)))]
async fn list_permissions(
    State(state): State<AppState>,
    _who: Need<RolesRead>,
) -> Json<Vec<PermissionInfo>> {
    use crate::i18n::Locale;
    Json(
        state
            .registry
            .permissions
            .iter()
            .map(|p| PermissionInfo {
                code: p.code.into(),
                group: p.group.into(),
                name_zh: Locale::ZhCn.t(&format!("perm.{}", p.code)),
                name_en: Locale::En.t(&format!("perm.{}", p.code)),
            })
            .collect(),
    )
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct RoleQuery {
    /// Search code or name.
    q: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Lists roles.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", params(RoleQuery), responses((status = 200, body = Paged<Role>)))]
async fn list_roles(
    State(state): State<AppState>,
    _who: Need<RolesRead>,
    Query(q): Query<RoleQuery>,
) -> Result<Json<Paged<Role>>> {
    let (items, info) = roles::list(
        &state.db,
        q.q.as_deref().filter(|s| !s.is_empty()),
        "r.builtin DESC, r.name ASC",
        PageRequest::new(q.page, q.per_page),
    )
    .await?;
    Ok(Json(Paged::new(items, info)))
}

/// Creates a role.
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", request_body = RoleInput,
    responses((status = 201, body = Role), (status = 422)))]
async fn create_role(
    State(state): State<AppState>,
    who: Need<RolesWrite>,
    Json(body): Json<RoleInput>,
) -> Result<(StatusCode, Json<Role>)> {
    let id = roles::create(&state.db, &who.actor(), &body).await?;
    Ok((StatusCode::CREATED, Json(roles::get(&state.db, id).await?)))
}

/// One role with its permissions.
#[utoipa::path(get, path = "/api/v1/roles/{id}", tag = "roles", params(("id" = i64, Path)),
    responses((status = 200, body = Role), (status = 404)))]
async fn get_role(
    State(state): State<AppState>,
    _who: Need<RolesRead>,
    Path(id): Path<i64>,
) -> Result<Json<Role>> {
    Ok(Json(roles::get(&state.db, id).await?))
}

/// Replaces a role's code, name, scope and permissions.
#[utoipa::path(put, path = "/api/v1/roles/{id}", tag = "roles", params(("id" = i64, Path)), request_body = RoleInput,
    responses((status = 200, body = Role), (status = 403, description = "Built-in role"), (status = 422)))]
async fn update_role(
    State(state): State<AppState>,
    who: Need<RolesWrite>,
    Path(id): Path<i64>,
    Json(body): Json<RoleInput>,
) -> Result<Json<Role>> {
    roles::update(&state.db, &who.actor(), id, &body).await?;
    Ok(Json(roles::get(&state.db, id).await?))
}

/// Deletes a role nobody holds.
#[utoipa::path(delete, path = "/api/v1/roles/{id}", tag = "roles", params(("id" = i64, Path)),
    responses((status = 204), (status = 409, description = "Still held by users")))]
async fn delete_role(
    State(state): State<AppState>,
    who: Need<RolesWrite>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    roles::delete(&state.db, &who.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
