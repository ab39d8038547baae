//! The shared state every handler can reach, the server's fixed options,
//! and the facts about a request that end up in the audit log.
//!
//! This module sits at the bottom of the crate: it imports no business
//! domain, so every domain can import it without an import cycle (see
//! docs/ARCHITECTURE.md). What the domains contribute to the whole (menu,
//! permissions) arrives here as data, collected by `app.rs`, in [`Registry`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::HeaderName;
use axum::http::request::Parts;
use weiops_core::accounts::SessionPolicy;

use crate::db::Db;
use crate::metrics::Metrics;
pub use crate::registry::Registry;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The server's options, fixed at start (from the command line). Not to be
/// confused with `crate::config` (the command line itself) or
/// `crate::settings` (what users change at run time, stored in the database).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub base_url: String,
    pub session_policy: SessionPolicy,
    /// Mark cookies `Secure` (the public URL is https).
    pub secure_cookies: bool,
    pub trust_proxy: bool,
    pub body_limit_bytes: usize,
    pub request_timeout: Duration,
    /// Where brand-specific files live (e.g. `org-templates/`).
    pub data_dir: Option<std::path::PathBuf>,
}

impl ServerOptions {
    pub fn new(base_url: String) -> ServerOptions {
        ServerOptions {
            secure_cookies: base_url.starts_with("https://"),
            base_url,
            session_policy: SessionPolicy::default(),
            trust_proxy: false,
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            data_dir: None,
        }
    }
}

/// Everything a handler can reach. Nothing here holds per-user state, so
/// any number of server processes can share one PostgreSQL database.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub options: Arc<ServerOptions>,
    pub metrics: Arc<Metrics>,
    /// The menu and the permission catalogue, as the domains declared them.
    pub registry: Arc<Registry>,
}

/// Facts about the request that end up in the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: String,
    pub ip: String,
    /// Reached over https (directly or, with --trust-proxy, behind a proxy).
    pub https: bool,
}

impl RequestMeta {
    pub fn from_parts(parts: &Parts, state: &AppState) -> RequestMeta {
        let request_id = parts
            .headers
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let forwarded = state
            .options
            .trust_proxy
            .then(|| {
                parts
                    .headers
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(',').next())
                    .map(|s| s.trim().to_string())
            })
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let https = state.options.secure_cookies
            || (state.options.trust_proxy
                && parts
                    .headers
                    .get("x-forwarded-proto")
                    .is_some_and(|v| v.as_bytes() == b"https"));
        RequestMeta {
            request_id,
            ip: forwarded.or(peer).unwrap_or_default(),
            https,
        }
    }
}

impl axum::extract::FromRequestParts<AppState> for RequestMeta {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestMeta::from_parts(parts, state))
    }
}
