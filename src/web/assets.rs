//! Static assets, compiled into the binary: no CDN, nothing to deploy.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/app.js"),
    ),
    (
        "print.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/print.css"),
    ),
    (
        "logo.svg",
        "image/svg+xml",
        include_bytes!("../../assets/logo.svg"),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{file}", get(asset)).route(
        "/favicon.ico",
        get(|| async { asset(Path("logo.svg".to_string())).await }),
    )
}

async fn asset(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, *content_type),
                // Links carry ?v=<version>, so a release busts the cache.
                (header::CACHE_CONTROL, "public, max-age=604800"),
            ],
            *body,
        )
            .into_response(),
        None => crate::Error::NotFound.into_response(),
    }
}
