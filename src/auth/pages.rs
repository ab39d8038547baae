//! Sign-in, sign-out, and the "my account" pages.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::tokens::{self, TokenInfo};
use crate::error::FieldErrors;
use crate::i18n::{LANG_COOKIE, Locale};
use crate::identity::sessions::{self, SESSION_COOKIE};
use crate::identity::{AuthVia, Principal};
use crate::state::{AppState, RequestMeta};
use crate::users::store as users;
use crate::web::{self, FormPairs, PageCtx, PublicCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang", post(switch_language))
        .route(
            "/account/password",
            get(password_form).post(change_password),
        )
        .route("/account/sessions", get(sessions_page))
        .route(
            "/account/sessions/revoke-others",
            post(revoke_other_sessions),
        )
        .route("/account/sessions/{id}/revoke", post(revoke_session))
        .route("/account/tokens", get(tokens_page).post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
}

/// Only local paths: an attacker's `next=https://evil` must not redirect.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next
    } else {
        "/"
    }
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: PublicCtx,
    login: String,
    next: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    #[serde(default)]
    next: String,
}

async fn login_form(
    ctx: PublicCtx,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    web::page(LoginPage {
        ctx,
        login: String::new(),
        next: q.next,
        error: None,
    })
}

#[derive(Debug, Default, Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

async fn login(
    State(state): State<AppState>,
    ctx: PublicCtx,
    meta: RequestMeta,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response> {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let again = |ctx: PublicCtx, status: StatusCode, key: &str| {
        let error = Some(ctx.t(key));
        web::page_with_status(
            status,
            LoginPage {
                ctx,
                login: form.login.clone(),
                next: form.next.clone(),
                error,
            },
        )
    };
    if form.login.trim().is_empty() || form.password.is_empty() {
        return Ok(again(
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            "auth.fill_both",
        ));
    }
    let signed_in = match users::sign_in(
        &state.db,
        &form.login,
        &form.password,
        &meta.ip,
        ua,
        &meta.request_id,
    )
    .await
    {
        Ok(s) => s,
        Err(
            e @ (Error::InvalidCredentials
            | Error::AccountLocked
            | Error::AccountDisabled
            | Error::TooManyAttempts),
        ) => {
            let report = e.report();
            return Ok(again(ctx, report.status, &report.key));
        }
        Err(e) => return Err(e),
    };
    let secure = state.options.secure_cookies || meta.https;
    let target = if signed_in.must_change_password {
        "/account/password"
    } else {
        safe_next(&form.next)
    };
    let mut res = Redirect::to(target).into_response();
    let max_age = state.options.session_policy.absolute_ms / 1000;
    web::append_cookie(
        &mut res,
        &web::set_cookie(
            SESSION_COOKIE,
            &signed_in.session_token,
            secure,
            Some(max_age),
        ),
    );
    if let Some(locale) = signed_in.locale.as_deref().and_then(Locale::parse) {
        web::append_cookie(
            &mut res,
            &web::set_cookie(LANG_COOKIE, locale.code(), secure, Some(365 * 86_400)),
        );
    }
    if signed_in.must_change_password {
        web::append_cookie(
            &mut res,
            &web::flash_cookie("warning", "account.must_change", secure),
        );
    }
    Ok(res)
}

async fn logout(State(state): State<AppState>, principal: Option<Principal>) -> Result<Response> {
    if let Some(Principal {
        via: AuthVia::Session(id),
        ..
    }) = principal
    {
        sessions::revoke(&state.db, id).await?;
    }
    let mut res = web::redirect_with_flash("/login", "success", "auth.signed_out", "");
    web::append_cookie(
        &mut res,
        &web::expired_cookie(SESSION_COOKIE, state.options.secure_cookies),
    );
    Ok(res)
}

#[derive(Debug, Default, Deserialize)]
struct LangForm {
    #[serde(default)]
    locale: String,
    #[serde(default)]
    back: String,
}

async fn switch_language(
    State(state): State<AppState>,
    principal: Option<Principal>,
    Form(form): Form<LangForm>,
) -> Result<Response> {
    let locale = Locale::parse(&form.locale).ok_or(Error::BadRequest("error.bad_locale"))?;
    if let Some(p) = principal {
        users::set_locale(&state.db, p.user_id, locale.code()).await?;
    }
    let mut res = Redirect::to(safe_next(&form.back)).into_response();
    web::append_cookie(
        &mut res,
        &web::set_cookie(
            LANG_COOKIE,
            locale.code(),
            state.options.secure_cookies,
            Some(365 * 86_400),
        ),
    );
    Ok(res)
}

// ---------------------------------------------------------------- password

#[derive(Template)]
#[template(path = "auth/password.html")]
struct PasswordPage {
    ctx: PageCtx,
    errors: FieldErrors,
}

async fn password_form(ctx: PageCtx) -> Response {
    let ctx = ctx.titled("menu.password", &[("menu.account", None)]);
    web::page(PasswordPage {
        ctx,
        errors: FieldErrors::default(),
    })
}

#[derive(Debug, Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    Form(form): Form<PasswordForm>,
) -> Result<Response> {
    let keep = match principal.via {
        AuthVia::Session(id) => Some(id),
        AuthVia::Token(_) => None,
    };
    match users::change_own_password(
        &state.db,
        &principal.actor(),
        principal.user_id,
        &form.current,
        &form.new,
        &form.confirm,
        keep,
    )
    .await
    {
        Ok(()) => Ok(web::redirect_with_flash(
            "/",
            "success",
            "account.password_changed",
            "",
        )),
        Err(Error::Validation(errors)) => {
            let ctx = ctx.titled("menu.password", &[("menu.account", None)]);
            Ok(web::page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                PasswordPage { ctx, errors },
            ))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- sessions

#[derive(Template)]
#[template(path = "auth/sessions.html")]
struct SessionsPage {
    ctx: PageCtx,
    sessions: Vec<sessions::SessionInfo>,
}

async fn sessions_page(
    State(state): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
) -> Result<Response> {
    let current = match principal.via {
        AuthVia::Session(id) => Some(id),
        AuthVia::Token(_) => None,
    };
    let list = sessions::list(
        &state.db,
        &state.options.session_policy,
        principal.user_id,
        current,
    )
    .await?;
    let ctx = ctx.titled("menu.sessions", &[("menu.account", None)]);
    Ok(web::page(SessionsPage {
        ctx,
        sessions: list,
    }))
}

async fn revoke_other_sessions(
    State(state): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    if !form.confirmed() {
        let msg = ctx.t("account.confirm_sign_out_everywhere");
        return Ok(web::confirm(
            ctx,
            msg,
            "/account/sessions/revoke-others",
            vec![],
            "/account/sessions",
            "account.sign_out_everywhere",
        ));
    }
    let keep = match principal.via {
        AuthVia::Session(id) => Some(id),
        AuthVia::Token(_) => None,
    };
    let n = sessions::revoke_all(&state.db, principal.user_id, keep).await?;
    Ok(web::redirect_with_flash(
        "/account/sessions",
        "success",
        "account.sessions_ended",
        &n.to_string(),
    ))
}

async fn revoke_session(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response> {
    let mine = sessions::list(
        &state.db,
        &state.options.session_policy,
        principal.user_id,
        None,
    )
    .await?;
    if !mine.iter().any(|s| s.id == id) {
        return Err(Error::NotFound);
    }
    sessions::revoke(&state.db, id).await?;
    Ok(web::redirect_with_flash(
        "/account/sessions",
        "success",
        "account.sessions_ended",
        "1",
    ))
}

// ---------------------------------------------------------------- tokens

#[derive(Template)]
#[template(path = "auth/tokens.html")]
struct TokensPage {
    ctx: PageCtx,
    tokens: Vec<TokenInfo>,
    errors: FieldErrors,
    name: String,
    /// The secret of a token just created: shown this once.
    created: Option<String>,
}

async fn tokens_page(
    State(state): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
) -> Result<Response> {
    let list = tokens::list(&state.db, principal.user_id).await?;
    let ctx = ctx.titled("menu.tokens", &[("menu.account", None)]);
    Ok(web::page(TokensPage {
        ctx,
        tokens: list,
        errors: FieldErrors::default(),
        name: String::new(),
        created: None,
    }))
}

#[derive(Debug, Default, Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
}

async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    Form(form): Form<TokenForm>,
) -> Result<Response> {
    let ctx = ctx.titled("menu.tokens", &[("menu.account", None)]);
    match tokens::create(&state.db, &principal.actor(), principal.user_id, &form.name).await {
        Ok((_, secret)) => {
            let list = tokens::list(&state.db, principal.user_id).await?;
            let mut res = web::page(TokensPage {
                ctx,
                tokens: list,
                errors: FieldErrors::default(),
                name: String::new(),
                created: Some(secret),
            });
            // The secret is on this page only: never cached.
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            Ok(res)
        }
        Err(Error::Validation(errors)) => {
            let list = tokens::list(&state.db, principal.user_id).await?;
            Ok(web::page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                TokensPage {
                    ctx,
                    tokens: list,
                    errors,
                    name: form.name,
                    created: None,
                },
            ))
        }
        Err(e) => Err(e),
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    if !form.confirmed() {
        let msg = ctx.t("account.confirm_revoke_token");
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/account/tokens/{id}/revoke"),
            vec![],
            "/account/tokens",
            "account.revoke",
        ));
    }
    tokens::revoke(&state.db, &principal.actor(), principal.user_id, id).await?;
    Ok(web::redirect_with_flash(
        "/account/tokens",
        "success",
        "account.token_revoked",
        "",
    ))
}
