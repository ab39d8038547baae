//! `/api/v1/me`: the caller's own account and API tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::tokens::{self, TokenInfo};
use crate::Result;
use crate::identity::Principal;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    /// Effective catalogue permissions (for the admin role: all of them).
    pub permissions: Vec<String>,
    /// The grants behind them as held: codes and patterns such as `finance.*`.
    pub grants: Vec<String>,
    /// `all`, `department_tree` or `own`.
    pub data_scope: String,
}

/// The signed-in user, their permissions and data scope.
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, description = "Not signed in or token revoked")))]
async fn me(State(state): State<AppState>, p: Principal) -> Json<Me> {
    let registry = &state.registry;
    let permissions = if p.is_admin {
        registry.codes().into_iter().map(str::to_string).collect()
    } else {
        registry
            .covered(p.permissions.iter().map(String::as_str))
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    let grants = if p.is_admin {
        vec!["*".to_string()]
    } else {
        p.permissions.iter().cloned().collect()
    };
    Json(Me {
        id: p.user_id,
        username: p.username.clone(),
        display_name: p.display_name.clone(),
        is_admin: p.is_admin,
        permissions,
        grants,
        data_scope: p.scope.as_str().to_string(),
    })
}

/// The caller's API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "account", responses((status = 200, body = Vec<TokenInfo>)))]
async fn list_tokens(State(state): State<AppState>, p: Principal) -> Result<Json<Vec<TokenInfo>>> {
    Ok(Json(tokens::list(&state.db, p.user_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewToken {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: i64,
    /// The secret: shown only in this response.
    pub token: String,
}

/// Creates an API token for the caller.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "account", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, description = "Invalid name")))]
async fn create_token(
    State(state): State<AppState>,
    p: Principal,
    Json(body): Json<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    let (id, token) = tokens::create(&state.db, &p.actor(), p.user_id, &body.name).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { id, token })))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "account",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 204), (status = 404)))]
async fn revoke_token(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    tokens::revoke(&state.db, &p.actor(), p.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
