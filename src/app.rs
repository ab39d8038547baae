//! The top of the crate: every domain's routes, menu entries and
//! permissions collected in one place, and the middleware stack around them.
//!
//! Nothing imports this module except the binary and the CLI. A new domain
//! adds its router, API router, menu and permissions to the lists below and
//! nothing else anywhere (see docs/ARCHITECTURE.md).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::http::middleware;
use crate::registry::Registry;
use crate::state::{AppState, REQUEST_ID, ServerOptions};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "weiops API",
        description = "微运营 weiops JSON API. Authenticate with `Authorization: Bearer <token>` \
                       (create a token under 个人中心 → API 令牌 or with `weiops token create`). \
                       Errors have the shape `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}`; \
                       messages follow `Accept-Language` (zh-CN by default, en).",
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "account", description = "The caller's own account and tokens"),
        (name = "users", description = "Staff accounts"),
        (name = "roles", description = "Roles and permissions"),
        (name = "audit", description = "The audit log"),
        (name = "org", description = "Organisation: departments, positions, staff, templates"),
        (name = "agents", description = "The agent network: levels, agents, teams, imports"),
        (name = "rewards", description = "Reward plan, compliance report, reward lines explained"),
        (name = "settlements", description = "Monthly settlement runs: draft, approve, pay, export"),
        (name = "orders", description = "Orders: import of orders.csv, refunds"),
        (name = "finance", description = "The double-entry ledger, statements, agent withdrawals"),
        (name = "products", description = "Products, SKUs, prices per agent level"),
        (name = "stock", description = "Warehouses, stock, movements, counts"),
        (name = "shipping", description = "Shipments, carriers, tracking numbers"),
        (name = "settings", description = "System settings: the brand, its logo and bank accounts"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every `/api/v1` route, documented.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::auth::api::router())
        .merge(crate::users::api::router())
        .merge(crate::access::api::router())
        .merge(crate::audit_log::api::router())
        .merge(crate::org::api::router())
        .merge(crate::agents::api::router())
        .merge(crate::rewards::api::router())
        .merge(crate::finance::api::router())
        .merge(crate::orders::api::router())
        .merge(crate::products::api::router())
        .merge(crate::stock::api::router())
        .merge(crate::cloud::api::router())
        .merge(crate::shipping::api::router())
        .merge(crate::service::api_router())
        .merge(crate::brand::api::router())
}

/// The menu and the permission catalogue, in the order people see them.
pub fn registry() -> Registry {
    Registry::new(
        &[
            crate::dashboard::MENU,
            crate::agents::MENU,
            crate::rewards::MENU,
            crate::finance::MENU,
            crate::orders::MENU,
            crate::shipping::MENU,
            crate::service::MENU,
            crate::products::MENU,
            crate::stock::MENU,
            crate::cloud::MENU,
            crate::org::MENU,
            crate::users::MENU,
            crate::access::MENU,
            crate::audit_log::MENU,
            crate::brand::MENU,
            crate::auth::MENU,
            crate::ops::MENU,
        ],
        &[crate::agents::BADGES],
        &[
            crate::users::PERMISSIONS,
            crate::access::PERMISSIONS,
            crate::audit_log::PERMISSIONS,
            crate::org::PERMISSIONS,
            crate::agents::PERMISSIONS,
            crate::rewards::PERMISSIONS,
            crate::ledger::PERMISSIONS,
            crate::orders::PERMISSIONS,
            crate::products::PERMISSIONS,
            crate::stock::PERMISSIONS,
            crate::service::PERMISSIONS,
            crate::brand::PERMISSIONS,
        ],
    )
}

/// The state the handlers share: the database, the server's options, and
/// what the domains declared.
pub fn state(db: crate::db::Db, options: ServerOptions) -> AppState {
    AppState {
        db,
        options: Arc::new(options),
        metrics: Arc::default(),
        registry: Arc::new(registry()),
    }
}

/// The whole application: every domain's router and the middleware stack.
pub fn app(state: AppState) -> Router {
    let options = state.options.clone();
    let (api_router, openapi) = api_router().split_for_parts();
    let openapi = Arc::new(openapi);

    Router::new()
        .merge(crate::ops::router(openapi))
        .merge(crate::web::router())
        .merge(crate::auth::router())
        .merge(crate::dashboard::router())
        .merge(crate::users::router())
        .merge(crate::access::router())
        .merge(crate::audit_log::router())
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
        .layer(DefaultBodyLimit::max(options.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, options.request_timeout))
        .layer(axum::middleware::from_fn(middleware::csrf))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::render_errors))
        .layer(axum::middleware::from_fn(middleware::negotiate_locale))
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), crate::metrics::track))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
        .with_state(state)
}

/// Request ids: 16 random bytes in hex, unless the client sent one.
#[derive(Clone, Copy, Default)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&crate::identity::random_hex(16))
            .ok()
            .map(RequestId::new)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::DOMAINS;

    #[test]
    fn permission_codes_are_unique_dotted_and_of_known_domains() {
        let r = registry();
        let mut codes = r.codes();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), r.permissions.len());
        // The group is the domain: the code's first segment, a known domain.
        assert!(
            r.permissions
                .iter()
                .all(|p| p.code.split('.').next() == Some(p.group) && DOMAINS.contains(&p.group))
        );
    }

    #[test]
    fn coverage_of_patterns() {
        let r = registry();
        assert_eq!(r.covered(["users.*"]), ["users.read", "users.write"]);
        assert_eq!(
            r.covered(["*.read"]).len(),
            r.permissions
                .iter()
                .filter(|p| p.code.ends_with(".read"))
                .count()
        );
        assert_eq!(r.covered(["*"]).len(), r.permissions.len());
    }

    #[test]
    fn the_menu_names_known_permissions_and_unique_links() {
        let r = registry();
        let items: Vec<_> = r.menu.iter().flat_map(|(_, items)| items.iter()).collect();
        for item in &items {
            if let Some(p) = item.permission {
                assert!(r.is_known(p), "{}: {p}", item.href);
            }
        }
        for badge in &r.badges {
            assert!(r.is_known(badge.permission), "{}", badge.href);
            assert!(items.iter().any(|i| i.href == badge.href), "{}", badge.href);
        }
        let mut hrefs: Vec<_> = items.iter().map(|i| i.href).collect();
        hrefs.sort();
        hrefs.dedup();
        assert_eq!(hrefs.len(), items.len());
        let groups: Vec<_> = r.menu.iter().map(|(g, _)| g.key).collect();
        assert_eq!(
            groups,
            [
                "menu.home",
                "menu.agents",
                "menu.finance",
                "menu.goods",
                "menu.org",
                "menu.system",
                "menu.account"
            ]
        );
    }
}
