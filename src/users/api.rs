//! `/api/v1/users`: staff accounts.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weiops_core::paging::PageRequest;

use super::store::{self, NewUser, SORTS, User, UserFilter, UserUpdate};
use crate::Result;
use crate::identity::Need;
use crate::paged::Paged;
use crate::state::AppState;
use crate::users::{UsersRead, UsersWrite};
use crate::web::list::ListParams;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(set_roles))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(reset_password))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct UserQuery {
    /// Search username, name or phone.
    q: Option<String>,
    /// `active` or `disabled`.
    status: Option<String>,
    /// Only users holding this role id.
    role: Option<i64>,
    /// 1-based page.
    page: Option<i64>,
    /// Rows per page (1–500, default 20).
    per_page: Option<i64>,
    /// `username`, `name`, `status`, `last_login` or `created`.
    sort: Option<String>,
    /// `asc` or `desc`.
    dir: Option<String>,
}

/// Lists users the caller may see (their data scope applies).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    responses((status = 200, body = Paged<User>), (status = 403, description = "Missing users.read")))]
async fn list_users(
    State(state): State<AppState>,
    who: Need<UsersRead>,
    Query(q): Query<UserQuery>,
) -> Result<Json<Paged<User>>> {
    let sort = ListParams::from_pairs(
        "/api/v1/users",
        &[
            ("sort", q.sort.as_deref().unwrap_or("")),
            ("dir", q.dir.as_deref().unwrap_or("")),
        ],
    );
    let order = sort.order_by(SORTS, "u.created_at DESC");
    let filter = UserFilter {
        q: q.q,
        status: q.status,
        role_id: q.role,
    };
    let (items, info) = store::list(
        &state.db,
        &who,
        &filter,
        &order,
        PageRequest::new(q.page, q.per_page),
    )
    .await?;
    Ok(Json(Paged::new(items, info)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    pub user: User,
    /// The generated password when none was given (shown only here).
    pub password: Option<String>,
}

/// Creates a staff account.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = CreatedUser), (status = 422, description = "Invalid fields")))]
async fn create_user(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    Json(body): Json<NewUser>,
) -> Result<(StatusCode, Json<CreatedUser>)> {
    let (id, password) = store::create(&state.db, &who.actor(), &body).await?;
    let user = store::get(&state.db, id).await?;
    Ok((StatusCode::CREATED, Json(CreatedUser { user, password })))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404)))]
async fn get_user(
    State(state): State<AppState>,
    who: Need<UsersRead>,
    Path(id): Path<i64>,
) -> Result<Json<User>> {
    Ok(Json(store::get_visible(&state.db, &who, id).await?))
}

/// Changes a user's name, phone and (when given) roles.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserUpdate,
    responses((status = 200, body = User), (status = 404), (status = 422)))]
async fn update_user(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    Path(id): Path<i64>,
    Json(body): Json<UserUpdate>,
) -> Result<Json<User>> {
    store::get_visible(&state.db, &who, id).await?;
    store::update(&state.db, &who.actor(), id, &body).await?;
    Ok(Json(store::get(&state.db, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleIds {
    pub role_ids: Vec<i64>,
}

/// Replaces a user's roles.
#[utoipa::path(put, path = "/api/v1/users/{id}/roles", tag = "users", params(("id" = i64, Path)), request_body = RoleIds,
    responses((status = 200, body = User), (status = 403, description = "E.g. removing the last administrator")))]
async fn set_roles(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    Path(id): Path<i64>,
    Json(body): Json<RoleIds>,
) -> Result<Json<User>> {
    let user = store::get_visible(&state.db, &who, id).await?;
    let update = UserUpdate {
        display_name: user.display_name,
        phone: user.phone,
        role_ids: Some(body.role_ids),
    };
    store::update(&state.db, &who.actor(), id, &update).await?;
    Ok(Json(store::get(&state.db, id).await?))
}

/// Disables an account and ends its sessions.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 403)))]
async fn disable_user(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    Path(id): Path<i64>,
) -> Result<Json<User>> {
    store::get_visible(&state.db, &who, id).await?;
    store::set_active(&state.db, &who.actor(), id, false).await?;
    Ok(Json(store::get(&state.db, id).await?))
}

/// Re-enables an account.
#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User)))]
async fn enable_user(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    Path(id): Path<i64>,
) -> Result<Json<User>> {
    store::get_visible(&state.db, &who, id).await?;
    store::set_active(&state.db, &who.actor(), id, true).await?;
    Ok(Json(store::get(&state.db, id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewPassword {
    /// To be changed at next sign-in; shown only here.
    pub password: String,
}

/// Sets a random password, ends the user's sessions and lifts a lock.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-password", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = NewPassword)))]
async fn reset_password(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    Path(id): Path<i64>,
) -> Result<Json<NewPassword>> {
    store::get_visible(&state.db, &who, id).await?;
    let password = store::reset_password(&state.db, &who.actor(), id, None).await?;
    Ok(Json(NewPassword { password }))
}
