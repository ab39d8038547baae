//! Operations: health and readiness probes, Prometheus metrics, and the API
//! description (`/api/openapi.json` and a readable page at `/api/docs`).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::http::AppState;
use crate::web::PageCtx;

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
        .merge(crate::audit::api::router())
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

pub fn router(openapi: Arc<utoipa::openapi::OpenApi>) -> Router<AppState> {
    let json = openapi.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/api/openapi.json",
            get(move || async move { Json(json.as_ref().clone()) }),
        )
        .route(
            "/api/docs",
            get(move |ctx: PageCtx| async move { api_docs(ctx, &openapi) }),
        )
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match sqlx::query("SELECT 1").execute(&state.db.pool).await {
        Ok(_) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let pool = &state.db.pool;
    let body = state.metrics.render(
        pool.size(),
        pool.num_idle(),
        pool.options().get_max_connections(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// One operation on the docs page.
struct Operation {
    method: String,
    path: String,
    summary: String,
    description: String,
    tag: String,
    params: Vec<(String, String, bool, String)>,
    body: Option<String>,
    responses: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "ops/api_docs.html")]
struct ApiDocsPage {
    ctx: PageCtx,
    description: String,
    operations: Vec<Operation>,
    schemas: Vec<(String, String)>,
}

fn api_docs(ctx: PageCtx, openapi: &utoipa::openapi::OpenApi) -> Response {
    let value = serde_json::to_value(openapi).unwrap_or_default();
    let mut operations = Vec::new();
    if let Some(paths) = value["paths"].as_object() {
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                    continue;
                }
                let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
                let params = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                (
                                    text(&p["name"]),
                                    text(&p["in"]),
                                    p["required"].as_bool().unwrap_or(false),
                                    text(&p["description"]),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                    .as_str()
                    .map(|r| r.rsplit('/').next().unwrap_or(r).to_string());
                let responses = op["responses"]
                    .as_object()
                    .map(|rs| {
                        rs.iter()
                            .map(|(code, r)| (code.clone(), text(&r["description"])))
                            .collect()
                    })
                    .unwrap_or_default();
                operations.push(Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary: text(&op["summary"]),
                    description: text(&op["description"]),
                    tag: op["tags"][0].as_str().unwrap_or("").to_string(),
                    params,
                    body,
                    responses,
                });
            }
        }
    }
    operations.sort_by(|a, b| (&a.tag, &a.path, &a.method).cmp(&(&b.tag, &b.path, &b.method)));
    let schemas = value["components"]["schemas"]
        .as_object()
        .map(|s| {
            s.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        serde_json::to_string_pretty(v).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let ctx = ctx.titled("menu.api_docs", &[("menu.account", None)]);
    crate::web::page(ApiDocsPage {
        ctx,
        description: value["info"]["description"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        operations,
        schemas,
    })
}
