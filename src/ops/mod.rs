//! Operations: health and readiness probes, Prometheus metrics, and the API
//! description (`/api/openapi.json` and a readable page at `/api/docs`).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::registry::{MenuItem, groups};
use crate::state::AppState;
use crate::web::PageCtx;

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[MenuItem {
    group: &groups::ACCOUNT,
    rank: 40,
    key: "menu.api_docs",
    href: "/api/docs",
    permission: None,
}];

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
