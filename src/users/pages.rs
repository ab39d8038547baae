//! The user management pages (系统管理 → 用户管理).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::store::{self, NewUser, SORTS, User, UserFilter, UserUpdate};
use crate::access::roles::{self, Role};
use crate::audit_log::AuditRead;
use crate::audit_log::store::{AuditEntry, AuditFilter};
use crate::error::FieldErrors;
use crate::export::{self, ExportFormat, Table};
use crate::identity::Need;
use crate::state::AppState;
use crate::users::{UsersRead, UsersWrite};
use crate::web::list::{ListParams, Pager, SortHeader};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/new", get(new_form))
        .route("/users/export", get(export_users))
        .route("/users/batch", post(batch))
        .route("/users/{id}", get(detail).post(update))
        .route("/users/{id}/edit", get(edit_form))
        .route("/users/{id}/disable", post(disable))
        .route("/users/{id}/enable", post(enable))
        .route("/users/{id}/reset-password", post(reset_password))
}

fn filter_of(params: &ListParams) -> UserFilter {
    UserFilter {
        q: params.get("q").map(str::to_string),
        status: params.get("status").map(str::to_string),
        role_id: params.get_i64("role"),
    }
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    ctx: PageCtx,
    params: ListParams,
    users: Vec<User>,
    roles: Vec<Role>,
    pager: Pager,
    headers: Vec<SortHeader>,
    now: i64,
}

async fn list(
    State(state): State<AppState>,
    who: Need<UsersRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let order = params.order_by(SORTS, "u.created_at DESC");
    let (users, info) =
        store::list(&state.db, &who, &filter_of(&params), &order, params.page()).await?;
    let headers = vec![
        params.sort_header("username", ctx.t("user.username")),
        params.sort_header("name", ctx.t("user.display_name")),
        params.sort_header("status", ctx.t("common.status")),
        params.sort_header("last_login", ctx.t("user.last_login")),
        params.sort_header("created", ctx.t("common.created_at")),
    ];
    let ctx = ctx.titled("menu.users", &[("menu.system", None)]);
    Ok(web::page(ListPage {
        ctx,
        pager: params.pager(info),
        params,
        users,
        roles: roles::all(&state.db).await?,
        headers,
        now: crate::db::now_ms(),
    }))
}

async fn export_users(
    State(state): State<AppState>,
    who: Need<UsersRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let order = params.order_by(SORTS, "u.created_at DESC");
    let users = store::list_all(
        &state.db,
        &who,
        &filter_of(&params),
        &order,
        export::MAX_EXPORT_ROWS,
    )
    .await?;
    let t = |k: &str| ctx.t(k);
    let table = Table {
        sheet: t("menu.users"),
        headers: vec![
            "ID".into(),
            t("user.username"),
            t("user.display_name"),
            t("user.phone"),
            t("user.roles"),
            t("common.status"),
            t("user.last_login"),
            t("common.created_at"),
        ],
        rows: users
            .iter()
            .map(|u| {
                vec![
                    u.id.to_string(),
                    u.username.clone(),
                    u.display_name.clone(),
                    u.phone.clone().unwrap_or_default(),
                    u.role_names(),
                    t(&format!("user.status_{}", u.status)),
                    ctx.opt_time(u.last_login_at),
                    ctx.time(u.created_at),
                ]
            })
            .collect(),
    };
    export::respond(&table, format, "users")
}

#[derive(Template)]
#[template(path = "users/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// `None` when creating.
    user: Option<User>,
    username: String,
    display_name: String,
    phone: String,
    role_ids: Vec<i64>,
    roles: Vec<Role>,
    errors: FieldErrors,
}

async fn new_form(
    State(state): State<AppState>,
    _who: Need<UsersWrite>,
    ctx: PageCtx,
) -> Result<Response> {
    let ctx = ctx.titled(
        "user.new",
        &[("menu.system", None), ("menu.users", Some("/users"))],
    );
    Ok(web::page(FormPage {
        ctx,
        user: None,
        username: String::new(),
        display_name: String::new(),
        phone: String::new(),
        role_ids: Vec::new(),
        roles: roles::all(&state.db).await?,
        errors: FieldErrors::default(),
    }))
}

#[derive(Template)]
#[template(path = "users/password_shown.html")]
struct PasswordShown {
    ctx: PageCtx,
    user: User,
    password: String,
    created: bool,
}

fn password_page(ctx: PageCtx, user: User, password: String, created: bool) -> Response {
    let mut res = web::page(PasswordShown {
        ctx,
        user,
        password,
        created,
    });
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

async fn create(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let input = NewUser {
        username: form.get("username").to_string(),
        display_name: form.get("display_name").to_string(),
        phone: Some(form.get("phone").to_string()),
        password: Some(form.get("password").to_string()),
        role_ids: form.ids("role_ids")?,
    };
    match store::create(&state.db, &who.actor(), &input).await {
        Ok((id, Some(password))) => {
            let user = store::get(&state.db, id).await?;
            let ctx = ctx.titled(
                "user.created",
                &[("menu.system", None), ("menu.users", Some("/users"))],
            );
            Ok(password_page(ctx, user, password, true))
        }
        Ok((id, None)) => Ok(web::redirect_with_flash(
            &format!("/users/{id}"),
            "success",
            "user.created_flash",
            &input.username,
        )),
        Err(Error::Validation(errors)) => {
            let ctx = ctx.titled(
                "user.new",
                &[("menu.system", None), ("menu.users", Some("/users"))],
            );
            Ok(web::page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                FormPage {
                    ctx,
                    user: None,
                    username: input.username,
                    display_name: input.display_name,
                    phone: input.phone.unwrap_or_default(),
                    role_ids: input.role_ids,
                    roles: roles::all(&state.db).await?,
                    errors,
                },
            ))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "users/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    user: User,
    history: Vec<AuditEntry>,
    now: i64,
}

async fn detail(
    State(state): State<AppState>,
    who: Need<UsersRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let user = store::get_visible(&state.db, &who, id).await?;
    let history = if ctx.has::<AuditRead>() {
        let filter = AuditFilter {
            entity_type: Some("user".into()),
            entity_id: Some(id.to_string()),
            ..Default::default()
        };
        crate::audit_log::store::query(
            &state.db,
            &filter,
            weiops_core::paging::PageRequest::new(Some(1), Some(10)),
        )
        .await?
        .0
    } else {
        Vec::new()
    };
    let ctx = ctx.titled_text(
        user.display_name.clone(),
        &[("menu.system", None), ("menu.users", Some("/users"))],
    );
    Ok(web::page(DetailPage {
        ctx,
        user,
        history,
        now: crate::db::now_ms(),
    }))
}

async fn edit_form(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let user = store::get_visible(&state.db, &who, id).await?;
    let ctx = ctx.titled(
        "user.edit",
        &[("menu.system", None), ("menu.users", Some("/users"))],
    );
    Ok(web::page(FormPage {
        ctx,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        phone: user.phone.clone().unwrap_or_default(),
        role_ids: user.roles.iter().map(|r| r.id).collect(),
        user: Some(user),
        roles: roles::all(&state.db).await?,
        errors: FieldErrors::default(),
    }))
}

async fn update(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let user = store::get_visible(&state.db, &who, id).await?;
    let input = UserUpdate {
        display_name: form.get("display_name").to_string(),
        phone: Some(form.get("phone").to_string()),
        role_ids: Some(form.ids("role_ids")?),
    };
    match store::update(&state.db, &who.actor(), id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/users/{id}"),
            "success",
            "common.saved",
            "",
        )),
        Err(Error::Validation(errors)) => {
            let ctx = ctx.titled(
                "user.edit",
                &[("menu.system", None), ("menu.users", Some("/users"))],
            );
            Ok(web::page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                FormPage {
                    ctx,
                    username: user.username.clone(),
                    display_name: input.display_name,
                    phone: input.phone.unwrap_or_default(),
                    role_ids: input.role_ids.unwrap_or_default(),
                    user: Some(user),
                    roles: roles::all(&state.db).await?,
                    errors,
                },
            ))
        }
        Err(e) => Err(e),
    }
}

async fn disable(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let user = store::get_visible(&state.db, &who, id).await?;
    if !form.confirmed() {
        let msg = ctx.tf("user.confirm_disable", &[("name", &user.display_name)]);
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/users/{id}/disable"),
            vec![],
            &format!("/users/{id}"),
            "user.disable",
        ));
    }
    store::set_active(&state.db, &who.actor(), id, false).await?;
    Ok(web::redirect_with_flash(
        &format!("/users/{id}"),
        "success",
        "user.disabled_flash",
        &user.username,
    ))
}

async fn enable(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    Path(id): Path<i64>,
) -> Result<Response> {
    let user = store::get_visible(&state.db, &who, id).await?;
    store::set_active(&state.db, &who.actor(), id, true).await?;
    Ok(web::redirect_with_flash(
        &format!("/users/{id}"),
        "success",
        "user.enabled_flash",
        &user.username,
    ))
}

async fn reset_password(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let user = store::get_visible(&state.db, &who, id).await?;
    if !form.confirmed() {
        let msg = ctx.tf("user.confirm_reset", &[("name", &user.display_name)]);
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/users/{id}/reset-password"),
            vec![],
            &format!("/users/{id}"),
            "user.reset_password",
        ));
    }
    let password = store::reset_password(&state.db, &who.actor(), id, None).await?;
    let ctx = ctx.titled(
        "user.reset_password",
        &[("menu.system", None), ("menu.users", Some("/users"))],
    );
    Ok(password_page(ctx, user, password, false))
}

/// Batch enable/disable of the checked rows, after a confirmation. Each user
/// is changed in its own transaction; refusals (yourself, the last admin)
/// are counted and reported, the rest go through.
async fn batch(
    State(state): State<AppState>,
    who: Need<UsersWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let ids = form.ids("ids")?;
    let action = form.get("action");
    let active = match action {
        "enable" => true,
        "disable" => false,
        _ => return Err(Error::BadRequest("error.bad_form")),
    };
    if ids.is_empty() {
        return Ok(web::redirect_with_flash(
            "/users",
            "warning",
            "common.nothing_selected",
            "",
        ));
    }
    if !form.confirmed() {
        let msg = ctx.tf(
            &format!("user.confirm_batch_{action}"),
            &[("count", &ids.len().to_string())],
        );
        return Ok(web::confirm(
            ctx,
            msg,
            "/users/batch",
            form.carry(),
            "/users",
            &format!("user.{action}"),
        ));
    }
    let mut done = 0;
    let mut refused = 0;
    for id in ids {
        if store::get_visible(&state.db, &who, id).await.is_err() {
            refused += 1;
            continue;
        }
        match store::set_active(&state.db, &who.actor(), id, active).await {
            Ok(()) => done += 1,
            Err(Error::Refused(_) | Error::NotFound) => refused += 1,
            Err(e) => return Err(e),
        }
    }
    let kind = if refused > 0 { "warning" } else { "success" };
    Ok(web::redirect_with_flash(
        "/users",
        kind,
        "user.batch_done",
        &format!("{done}/{}", done + refused),
    )
    .into_response())
}
