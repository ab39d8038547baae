//! Cross-cutting request handling: language, CSRF, error rendering,
//! security headers.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;
use weiops_core::csrf::{CsrfVerdict, RequestOrigin, judge};

use crate::error::ErrorReport;
use crate::i18n::{LANG_COOKIE, Locale};
use crate::state::{AppState, REQUEST_ID};
use crate::web::{self, FLASH_COOKIE};

/// Puts the request's [`Locale`] into its extensions.
pub async fn negotiate_locale(mut req: Request, next: Next) -> Response {
    let cookie = web::cookie(req.headers(), LANG_COOKIE);
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let locale = Locale::negotiate(cookie.as_deref(), accept);
    req.extensions_mut().insert(locale);
    next.run(req).await
}

/// Refuses state-changing requests that do not come from our own pages.
pub async fn csrf(req: Request, next: Next) -> Response {
    let h = req.headers();
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    let verdict = judge(&RequestOrigin {
        method_is_safe: matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS),
        has_cookie: h.contains_key(header::COOKIE),
        has_bearer: get("authorization")
            .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ")),
        sec_fetch_site: get("sec-fetch-site"),
        origin: get("origin"),
        host: get("host"),
    });
    match verdict {
        CsrfVerdict::Allow => next.run(req).await,
        CsrfVerdict::Reject => {
            tracing::warn!(path = %req.uri().path(), "cross-site request refused");
            crate::Error::Csrf.into_response()
        }
    }
}

/// Whether the client wants JSON rather than a page.
fn wants_json(path: &str, accept: Option<&str>) -> bool {
    path.starts_with("/api/")
        || accept.is_some_and(|a| a.contains("application/json") && !a.contains("text/html"))
}

/// Turns every error response (ours, axum's own rejections, timeouts, body
/// limits) into one shape: `{"error": {...}}` for the API, a page for people,
/// in the request's language.
pub async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let method = req.method().clone();
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let locale = req
        .extensions()
        .get::<Locale>()
        .copied()
        .unwrap_or_default();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let signed_in =
        web::cookie(req.headers(), crate::identity::credentials::SESSION_COOKIE).is_some();

    let response = next.run(req).await;
    let status = response.status();
    let report = match response.extensions().get::<ErrorReport>() {
        Some(r) => r.clone(),
        None if status.is_client_error() || status.is_server_error() => {
            let ct = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // Handlers that render their own error page (forms) keep it.
            if ct.starts_with("text/html") || ct.starts_with("application/json") {
                return response;
            }
            ErrorReport::from_status(status)
        }
        None => return response,
    };

    if wants_json(&path, accept.as_deref()) {
        let mut error = json!({
            "code": report.code,
            "message": report.message(locale),
            "request_id": request_id,
        });
        if !report.rows.is_empty() {
            error["rows"] = report
                .rows
                .iter()
                .map(|r| json!({"row": r.row, "id": r.id, "column": r.column, "value": r.value, "message": locale.t(&r.key)}))
                .collect();
        }
        if !report.fields.is_empty() {
            error["fields"] = report
                .fields
                .0
                .iter()
                .map(|(f, k)| json!({"field": f, "message": locale.t(k)}))
                .collect();
        }
        let mut res = (report.status, axum::Json(json!({ "error": error }))).into_response();
        if report.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        return res;
    }

    // People who are not (or no longer) signed in go to the sign-in page
    // and come back afterwards.
    match report.code {
        "unauthenticated" | "session_expired" => {
            let mut next_url = path.clone();
            if let Some(q) = query {
                next_url.push('?');
                next_url.push_str(&q);
            }
            let target = if method == Method::GET && path != "/" {
                format!("/login?next={}", web::url_encode(&next_url))
            } else {
                "/login".to_string()
            };
            let mut res = Redirect::to(&target).into_response();
            if report.code == "session_expired" && signed_in {
                let secure = state.options.secure_cookies;
                web::append_cookie(
                    &mut res,
                    &web::expired_cookie(crate::identity::credentials::SESSION_COOKIE, secure),
                );
                web::append_cookie(
                    &mut res,
                    &web::flash_cookie("warning", "auth.session_expired", secure),
                );
            }
            return res;
        }
        "password_change_required" => return Redirect::to("/account/password").into_response(),
        _ => {}
    }
    let page = web::ErrorPage {
        locale,
        status: report.status.as_u16(),
        title: locale.t(&format!("error.title_{}", report.status.as_u16())),
        message: report.message(locale),
        fields: report
            .fields
            .0
            .iter()
            .map(|(f, k)| (f.clone(), locale.t(k)))
            .collect(),
        request_id,
        signed_in,
    };
    (report.status, Html(web::render(&page))).into_response()
}

pub fn panic_response(_err: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a handler panicked");
    crate::Error::Internal(anyhow::anyhow!("panic")).into_response()
}

/// Headers every response carries. The CSP allows only our own assets: no
/// CDN, no inline script.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    ));
    res
}

/// A flash message is shown once: after a page that displayed it, the
/// cookie is cleared.
pub async fn flash_cleanup(req: Request, next: Next) -> Response {
    let had_flash = web::cookie(req.headers(), FLASH_COOKIE).is_some();
    let mut res = next.run(req).await;
    let is_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let sets_flash = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.starts_with(FLASH_COOKIE)));
    if had_flash && is_page && res.status().is_success() && !sets_flash {
        web::append_cookie(&mut res, &web::expired_cookie(FLASH_COOKIE, false));
    }
    res
}
