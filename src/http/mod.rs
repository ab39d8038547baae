//! The HTTP server: shared state, the router that merges every domain's
//! routes, the middleware stack, and graceful shutdown.

pub mod metrics;
pub mod middleware;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use weiops_core::accounts::SessionPolicy;

use crate::db::Db;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Settings the handlers need, fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
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

impl Settings {
    pub fn new(base_url: String) -> Settings {
        Settings {
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
    pub settings: Arc<Settings>,
    pub metrics: Arc<metrics::Metrics>,
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
            .settings
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
        let https = state.settings.secure_cookies
            || (state.settings.trust_proxy
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

/// Request ids: 16 random bytes in hex, unless the client sent one.
#[derive(Clone, Copy, Default)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&crate::auth::random_hex(16))
            .ok()
            .map(RequestId::new)
    }
}

/// The whole application: every domain's router and the middleware stack.
pub fn app(state: AppState) -> Router {
    let settings = state.settings.clone();
    let api = crate::ops::api_router();
    let (api_router, openapi) = api.split_for_parts();
    let openapi = Arc::new(openapi);

    Router::new()
        .merge(crate::ops::router(openapi))
        .merge(crate::web::router())
        .merge(crate::auth::router())
        .merge(crate::dashboard::router())
        .merge(crate::users::router())
        .merge(crate::access::router())
        .merge(crate::audit::router())
        .merge(crate::org::router())
        .merge(crate::agents::router())
        .merge(crate::rewards::router())
        .merge(crate::finance::router())
        .merge(crate::orders::router())
        .merge(crate::products::router())
        .merge(crate::stock::router())
        .merge(crate::cloud::router())
        .merge(crate::shipping::router())
        .merge(crate::service::router())
        .merge(crate::brand::router())
        .merge(api_router)
        .fallback(|| async { crate::Error::NotFound })
        // Innermost first: everything below sees the request after the
        // layers listed after it.
        .layer(axum::middleware::from_fn(middleware::flash_cleanup))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(DefaultBodyLimit::max(settings.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, settings.request_timeout))
        .layer(axum::middleware::from_fn(middleware::csrf))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::render_errors))
        .layer(axum::middleware::from_fn(middleware::negotiate_locale))
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
        .with_state(state)
}

/// Serves until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = app(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C. The handlers are installed when this is
/// called, not when first polled, so call it before the port opens: a signal
/// that arrives during start-up then still shuts down gracefully.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {},
                _ = wait(int) => {},
            }
            tracing::info!("shutting down: finishing requests in flight");
        }
    }
    #[cfg(not(unix))]
    async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    }
}
