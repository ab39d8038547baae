//! Role management pages (系统管理 → 角色管理).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use weiops_core::access::DataScope;

use super::roles::{self, Role, RoleInput};
use super::{RolesRead, RolesWrite};
use crate::error::FieldErrors;
use crate::identity::Need;
use crate::registry::{PermissionDef, Registry};
use crate::state::AppState;
use crate::web::list::{ListParams, Pager, SortHeader};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/roles", get(list).post(create))
        .route("/roles/new", get(new_form))
        .route("/roles/{id}", get(edit_form).post(update))
        .route("/roles/{id}/delete", post(delete))
}

const SORTS: &[(&str, &str)] = &[
    ("code", "r.code"),
    ("name", "r.name"),
    ("updated", "r.updated_at"),
];

#[derive(Template)]
#[template(path = "access/roles.html")]
struct ListPage {
    ctx: PageCtx,
    params: ListParams,
    roles: Vec<Role>,
    pager: Pager,
    headers: Vec<SortHeader>,
}

async fn list(
    State(state): State<AppState>,
    _who: Need<RolesRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let order = params.order_by(SORTS, "r.builtin DESC, r.name ASC");
    let (roles, info) = roles::list(&state.db, params.get("q"), &order, params.page()).await?;
    let headers = vec![
        params.sort_header("code", ctx.t("role.code")),
        params.sort_header("name", ctx.t("role.name")),
        params.sort_header("updated", ctx.t("common.updated_at")),
    ];
    let ctx = ctx.titled("menu.roles", &[("menu.system", None)]);
    Ok(web::page(ListPage {
        ctx,
        pager: params.pager(info),
        params,
        roles,
        headers,
    }))
}

#[derive(Template)]
#[template(path = "access/role_form.html")]
struct FormPage {
    ctx: PageCtx,
    role: Option<Role>,
    input: RoleInput,
    groups: Vec<(&'static str, Vec<PermissionDef>)>,
    scopes: [DataScope; 3],
    errors: FieldErrors,
    read_only: bool,
}

impl FormPage {
    fn checked(&self, code: &str) -> bool {
        self.input.permissions.iter().any(|p| p == code)
    }

    /// Grants held that no checkbox shows: codes of domains whose module
    /// has not arrived yet. Kept checked so that saving keeps them.
    fn reserved(&self) -> Vec<String> {
        self.input
            .permissions
            .iter()
            .filter(|p| {
                !(p.as_str() == "*"
                    || p.as_str() == "*.read"
                    || p.ends_with(".*")
                    || self
                        .groups
                        .iter()
                        .any(|(_, defs)| defs.iter().any(|d| d.code == p.as_str())))
            })
            .cloned()
            .collect()
    }
}

fn form_page(
    registry: &Registry,
    ctx: PageCtx,
    role: Option<Role>,
    input: RoleInput,
    errors: FieldErrors,
    read_only: bool,
) -> FormPage {
    FormPage {
        ctx,
        role,
        input,
        groups: registry.grouped(),
        scopes: DataScope::ALL_SCOPES,
        errors,
        read_only,
    }
}

async fn new_form(State(state): State<AppState>, _who: Need<RolesWrite>, ctx: PageCtx) -> Response {
    let ctx = ctx.titled(
        "role.new",
        &[("menu.system", None), ("menu.roles", Some("/roles"))],
    );
    let input = RoleInput {
        data_scope: "own".into(),
        ..Default::default()
    };
    web::page(form_page(
        &state.registry,
        ctx,
        None,
        input,
        FieldErrors::default(),
        false,
    ))
}

fn input_of(form: &FormPairs) -> RoleInput {
    RoleInput {
        code: form.get("code").to_string(),
        name: form.get("name").to_string(),
        description: form.get("description").to_string(),
        data_scope: form.get("data_scope").to_string(),
        permissions: form
            .all("permissions")
            .into_iter()
            .map(str::to_string)
            .collect(),
    }
}

async fn create(
    State(state): State<AppState>,
    who: Need<RolesWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let input = input_of(&form);
    match roles::create(&state.db, &who.actor(), &input).await {
        Ok(_) => Ok(web::redirect_with_flash(
            "/roles",
            "success",
            "role.created_flash",
            input.name.trim(),
        )),
        Err(Error::Validation(errors)) => {
            let ctx = ctx.titled(
                "role.new",
                &[("menu.system", None), ("menu.roles", Some("/roles"))],
            );
            Ok(web::page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                form_page(&state.registry, ctx, None, input, errors, false),
            ))
        }
        Err(e) => Err(e),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    _who: Need<RolesRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let role = roles::get(&state.db, id).await?;
    let read_only = role.builtin || !ctx.has::<RolesWrite>();
    let input = RoleInput {
        code: role.code.clone(),
        name: role.name.clone(),
        description: role.description.clone(),
        data_scope: role.data_scope.clone(),
        permissions: if role.builtin {
            state
                .registry
                .codes()
                .into_iter()
                .map(str::to_string)
                .collect()
        } else {
            role.permissions.clone()
        },
    };
    let ctx = ctx.titled_text(
        role.name.clone(),
        &[("menu.system", None), ("menu.roles", Some("/roles"))],
    );
    Ok(web::page(form_page(
        &state.registry,
        ctx,
        Some(role),
        input,
        FieldErrors::default(),
        read_only,
    )))
}

async fn update(
    State(state): State<AppState>,
    who: Need<RolesWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let input = input_of(&form);
    match roles::update(&state.db, &who.actor(), id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/roles",
            "success",
            "common.saved",
            "",
        )),
        Err(Error::Validation(errors)) => {
            let role = roles::get(&state.db, id).await?;
            let ctx = ctx.titled_text(
                role.name.clone(),
                &[("menu.system", None), ("menu.roles", Some("/roles"))],
            );
            Ok(web::page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                form_page(&state.registry, ctx, Some(role), input, errors, false),
            ))
        }
        Err(e) => Err(e),
    }
}

async fn delete(
    State(state): State<AppState>,
    who: Need<RolesWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let role = roles::get(&state.db, id).await?;
    if !form.confirmed() {
        let msg = ctx.tf("role.confirm_delete", &[("name", &role.name)]);
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/roles/{id}/delete"),
            vec![],
            "/roles",
            "common.delete",
        ));
    }
    match roles::delete(&state.db, &who.actor(), id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/roles",
            "success",
            "role.deleted_flash",
            &role.name,
        )),
        Err(Error::Conflict(key) | Error::Refused(key)) => {
            Ok(web::redirect_with_flash("/roles", "error", key, &role.name))
        }
        Err(e) => Err(e),
    }
}
