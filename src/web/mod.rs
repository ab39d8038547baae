//! The page shell shared by every domain: layout context, menus, flash
//! messages, cookies, list helpers, confirmation pages, charts and assets.

pub mod assets;
pub mod chart;
pub mod list;
pub mod menu;
pub mod uploads;

use std::borrow::Borrow;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use weiops_core::money::Fen;

use crate::i18n::Locale;
use crate::identity::Principal;
use crate::settings::brand::Brand;
use crate::state::AppState;

pub const FLASH_COOKIE: &str = "weiops_flash";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn router() -> Router<AppState> {
    assets::router()
}

/// A flash message: shown once on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// `success`, `info`, `warning` or `error`: the colour of the banner.
    pub kind: String,
    pub message: String,
}

/// Everything the layout needs: language, the user, the menu they may see,
/// breadcrumbs and the flash message.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub locale: Locale,
    pub user_name: String,
    pub username: String,
    pub menu: Vec<menu::GroupView>,
    pub crumbs: Vec<(String, Option<String>)>,
    pub title: String,
    pub flash: Option<Flash>,
    pub path: String,
    pub version: &'static str,
    /// The brand the installation runs for (系统设置 → 品牌信息).
    pub brand: Brand,
    principal: Option<Principal>,
}

impl PageCtx {
    /// The text for a key in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }

    /// The text for a key with `%{name}` placeholders filled.
    /// `t` for a key built at run time (`format!` in a template).
    pub fn tk(&self, key: impl AsRef<str>) -> String {
        self.locale.t(key.as_ref())
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.locale.tf(key, args)
    }

    /// The text for a key with one placeholder filled.
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        self.locale.tf(key, &[(name, value)])
    }

    /// The text for a key with its `%{n}` placeholder set to a number.
    pub fn tn(&self, key: &str, n: impl Borrow<i64>) -> String {
        self.locale.tf(key, &[("n", &n.borrow().to_string())])
    }

    /// An audit action (`user.create`) in words; unknown codes as they are.
    pub fn action_label(&self, code: &str) -> String {
        self.locale
            .try_t(&format!("action.{code}"))
            .unwrap_or_else(|| code.to_string())
    }

    /// An audit entity type (`user`) in words; unknown types as they are.
    pub fn entity_label(&self, code: &str) -> String {
        self.locale
            .try_t(&format!("entity.{code}"))
            .unwrap_or_else(|| code.to_string())
    }

    /// `¥1,234.56`.
    pub fn money(&self, fen: impl Borrow<i64>) -> String {
        Fen(*fen.borrow()).to_string()
    }

    /// `2026-11-30 14:05`, Beijing time.
    pub fn time(&self, ms: impl Borrow<i64>) -> String {
        weiops_core::time::format_minute(*ms.borrow())
    }

    pub fn opt_time(&self, ms: impl Borrow<Option<i64>>) -> String {
        ms.borrow()
            .map(weiops_core::time::format_minute)
            .unwrap_or_else(|| "-".into())
    }

    pub fn can(&self, permission: &str) -> bool {
        self.principal.as_ref().is_some_and(|p| p.can(permission))
    }

    /// Whether the signed-in user holds permission `P` (typed).
    pub fn has<P: crate::registry::Permission>(&self) -> bool {
        self.can(P::CODE)
    }

    /// The brand's name (微运营 until one is set).
    pub fn brand_name(&self) -> String {
        self.brand.name(self.locale)
    }

    pub fn brand_short(&self) -> String {
        self.brand.short_name(self.locale)
    }

    pub fn seal_text(&self) -> String {
        self.brand.seal_text(self.locale)
    }

    pub fn logo_url(&self) -> String {
        self.brand.logo_url(self.version)
    }

    /// The seal text's font size and length along the seal's arc.
    pub fn seal_layout(&self) -> (u32, u32) {
        self.brand.seal_layout(self.locale)
    }

    /// The count shown on the menu item `href` (pending applications …),
    /// when the user may act on it.
    pub fn badge(&self, href: &str) -> Option<i64> {
        self.menu
            .iter()
            .flat_map(|g| g.items.iter())
            .find(|i| i.href == href)
            .and_then(|i| i.badge)
    }

    pub fn other_locale(&self) -> Locale {
        match self.locale {
            Locale::ZhCn => Locale::En,
            Locale::En => Locale::ZhCn,
        }
    }

    /// Sets the title (a message key) and the breadcrumb trail: each crumb a
    /// message key and an optional link; the title ends the trail.
    pub fn titled(mut self, title_key: &str, crumbs: &[(&str, Option<&str>)]) -> PageCtx {
        self.title = self.t(title_key);
        self.crumbs = crumbs
            .iter()
            .map(|(k, href)| (self.t(k), href.map(str::to_string)))
            .collect();
        self.crumbs.push((self.title.clone(), None));
        self
    }

    /// Like [`titled`](Self::titled) with a title that is already text.
    pub fn titled_text(mut self, title: String, crumbs: &[(&str, Option<&str>)]) -> PageCtx {
        self.title = title;
        self.crumbs = crumbs
            .iter()
            .map(|(k, href)| (self.t(k), href.map(str::to_string)))
            .collect();
        self.crumbs.push((self.title.clone(), None));
        self
    }
}

fn read_flash(headers: &HeaderMap, locale: Locale) -> Option<Flash> {
    let raw = cookie(headers, FLASH_COOKIE)?;
    let decoded = url_decode(&raw);
    let mut parts = decoded.splitn(3, ':');
    let kind = parts.next()?;
    let key = parts.next()?;
    let arg = parts.next().unwrap_or("");
    if !matches!(kind, "success" | "info" | "warning" | "error")
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    {
        return None;
    }
    Some(Flash {
        kind: kind.to_string(),
        message: locale.tf(key, &[("arg", arg)]),
    })
}

/// The page context of a signed-in user; extracting it signs the user in
/// (or sends them to the sign-in page).
impl FromRequestParts<AppState> for PageCtx {
    type Rejection = crate::Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> crate::Result<Self> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let locale = parts
            .extensions
            .get::<Locale>()
            .copied()
            .unwrap_or_default();
        let path = parts.uri.path().to_string();
        let mut menu = menu::visible(&state.registry, &principal, locale, &path);
        menu::count_badges(&state.db, &state.registry, &principal, &mut menu).await?;
        Ok(PageCtx {
            locale,
            user_name: principal.display_name.clone(),
            username: principal.username.clone(),
            menu,
            crumbs: Vec::new(),
            title: String::new(),
            flash: read_flash(&parts.headers, locale),
            path,
            version: VERSION,
            brand: crate::settings::brand::load(&state.db).await?,
            principal: Some(principal),
        })
    }
}

/// The context of a page anyone may open (sign-in, public lookups).
#[derive(Debug, Clone)]
pub struct PublicCtx {
    pub locale: Locale,
    pub flash: Option<Flash>,
    pub version: &'static str,
    pub path: String,
    /// The brand the installation runs for (系统设置 → 品牌信息).
    pub brand: Brand,
}

impl PublicCtx {
    pub fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }

    /// The text for a key with `%{name}` placeholders filled.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.locale.tf(key, args)
    }

    /// The brand's name (微运营 until one is set).
    pub fn brand_name(&self) -> String {
        self.brand.name(self.locale)
    }

    pub fn brand_short(&self) -> String {
        self.brand.short_name(self.locale)
    }

    pub fn seal_text(&self) -> String {
        self.brand.seal_text(self.locale)
    }

    pub fn logo_url(&self) -> String {
        self.brand.logo_url(self.version)
    }

    pub fn tn(&self, key: &str, n: impl Borrow<i64>) -> String {
        self.locale.tf(key, &[("n", &n.borrow().to_string())])
    }

    /// `2026-11-30`, Beijing time.
    pub fn day(&self, ms: impl Borrow<i64>) -> String {
        weiops_core::time::format_date(*ms.borrow())
    }

    pub fn other_locale(&self) -> Locale {
        match self.locale {
            Locale::ZhCn => Locale::En,
            Locale::En => Locale::ZhCn,
        }
    }
}

impl FromRequestParts<AppState> for PublicCtx {
    type Rejection = crate::Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> crate::Result<Self> {
        let locale = parts
            .extensions
            .get::<Locale>()
            .copied()
            .unwrap_or_default();
        Ok(PublicCtx {
            locale,
            flash: read_flash(&parts.headers, locale),
            version: VERSION,
            path: parts.uri.path().to_string(),
            brand: crate::settings::brand::load(&state.db).await?,
        })
    }
}

/// Renders a template; a rendering failure is logged and shown as a short
/// message rather than a panic.
pub fn render<T: Template>(t: &T) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "template rendering failed");
        "<!doctype html><title>weiops</title><p>Internal error / 内部错误</p>".to_string()
    })
}

/// A 200 page.
pub fn page<T: Template>(t: T) -> Response {
    Html(render(&t)).into_response()
}

/// A page with another status (a form shown again with its errors: 422).
pub fn page_with_status<T: Template>(status: StatusCode, t: T) -> Response {
    (status, Html(render(&t))).into_response()
}

/// The kind of picture the bytes are, by their first bytes (never by the
/// name or the declared type): `(extension, content type)`. PNG, JPEG and
/// WebP: what product pictures and payment proofs accept.
pub fn image_kind(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("png", "image/png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("jpg", "image/jpeg"))
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("webp", "image/webp"))
    } else {
        None
    }
}

/// 303 to `to`, with a flash message for the next page.
pub fn redirect_with_flash(to: &str, kind: &str, key: &str, arg: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    append_cookie(&mut res, &flash_cookie_arg(kind, key, arg, false));
    res
}

// ---------------------------------------------------------------- cookies

pub use crate::cookies::{append_cookie, cookie, expired_cookie, set_cookie};

pub fn flash_cookie(kind: &str, key: &str, secure: bool) -> String {
    flash_cookie_arg(kind, key, "", secure)
}

pub fn flash_cookie_arg(kind: &str, key: &str, arg: &str, secure: bool) -> String {
    set_cookie(
        FLASH_COOKIE,
        &url_encode(&format!("{kind}:{key}:{arg}")),
        secure,
        Some(60),
    )
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------- shared pages

/// The page shown for an error when the client wants HTML.
#[derive(Template)]
#[template(path = "web/error.html")]
pub struct ErrorPage {
    pub locale: Locale,
    pub status: u16,
    pub title: String,
    pub message: String,
    pub fields: Vec<(String, String)>,
    pub request_id: String,
    pub signed_in: bool,
}

impl ErrorPage {
    pub fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }
}

/// The confirmation step before a destructive action: the same form posted
/// again with `confirm=yes`.
#[derive(Template)]
#[template(path = "web/confirm.html")]
pub struct ConfirmPage {
    pub ctx: PageCtx,
    pub message: String,
    pub action: String,
    pub fields: Vec<(String, String)>,
    pub cancel_href: String,
    pub button: String,
    /// Red for a step that removes or undoes something; the primary style
    /// for one that only adds (applying an org template).
    pub danger: bool,
}

/// Asks before acting. `fields` are re-posted unchanged with `confirm=yes`.
pub fn confirm(
    ctx: PageCtx,
    message: String,
    action: &str,
    fields: Vec<(String, String)>,
    cancel_href: &str,
    button_key: &str,
) -> Response {
    confirm_styled(ctx, message, action, fields, cancel_href, button_key, true)
}

/// Asks before a step that destroys nothing: the same page with the
/// primary button instead of the red one.
pub fn confirm_safe(
    ctx: PageCtx,
    message: String,
    action: &str,
    fields: Vec<(String, String)>,
    cancel_href: &str,
    button_key: &str,
) -> Response {
    confirm_styled(ctx, message, action, fields, cancel_href, button_key, false)
}

fn confirm_styled(
    ctx: PageCtx,
    message: String,
    action: &str,
    fields: Vec<(String, String)>,
    cancel_href: &str,
    button_key: &str,
    danger: bool,
) -> Response {
    let button = ctx.t(button_key);
    let ctx = ctx.titled("confirm.title", &[]);
    page(ConfirmPage {
        ctx,
        message,
        action: action.to_string(),
        fields,
        cancel_href: cancel_href.to_string(),
        button,
        danger,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn url_encoding_round_trips() {
        for s in [
            "/users?q=李 伟&page=2",
            "success:user.created:li.wei",
            "100%",
        ] {
            assert_eq!(url_decode(&url_encode(s)), s);
        }
        assert_eq!(url_decode("%zz"), "%zz");
        assert_eq!(url_decode("%4"), "%4");
    }

    #[test]
    fn reads_cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; weiops_lang=en; b="),
        );
        assert_eq!(cookie(&h, "weiops_lang").as_deref(), Some("en"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(cookie(&h, "c"), None);
    }
}

/// A submitted form as name/value pairs, for forms with repeated fields
/// (checkbox lists) that serde_urlencoded cannot put into a struct.
#[derive(Debug, Clone, Default)]
pub struct FormPairs(pub Vec<(String, String)>);

impl FormPairs {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The integer values of a repeated field; anything unparsable is an
    /// error, never silently dropped.
    pub fn ids(&self, name: &str) -> crate::Result<Vec<i64>> {
        self.all(name)
            .into_iter()
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse()
                    .map_err(|_| crate::Error::BadRequest("error.bad_form"))
            })
            .collect()
    }

    pub fn confirmed(&self) -> bool {
        self.get("confirm") == "yes"
    }

    /// The pairs to re-post after a confirmation, without `confirm`.
    pub fn carry(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(k, _)| k != "confirm")
            .cloned()
            .collect()
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormPairs {
    type Rejection = crate::Error;

    async fn from_request(req: axum::extract::Request, state: &S) -> crate::Result<Self> {
        // A button-only form may arrive with no body and no content type.
        if !req.headers().contains_key(header::CONTENT_TYPE) {
            let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
                .await
                .map_err(|_| crate::Error::BadRequest("error.bad_form"))?;
            return if body.is_empty() {
                Ok(FormPairs::default())
            } else {
                Err(crate::Error::BadRequest("error.bad_form"))
            };
        }
        let axum::Form(pairs) = axum::Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|_| crate::Error::BadRequest("error.bad_form"))?;
        Ok(FormPairs(pairs))
    }
}

/// The bytes of the file field `name` of a multipart upload; `None` when the
/// field is missing or the file is empty.
pub async fn uploaded_file(
    mut multipart: axum::extract::Multipart,
    name: &str,
) -> crate::Result<Option<axum::body::Bytes>> {
    let mut bytes = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| crate::Error::BadRequest("error.bad_form"))?
    {
        if field.name() == Some(name) {
            bytes = Some(
                field
                    .bytes()
                    .await
                    .map_err(|_| crate::Error::BadRequest("error.payload_too_large"))?,
            );
        }
    }
    Ok(bytes.filter(|b| !b.is_empty()))
}
