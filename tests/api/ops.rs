//! Health, readiness, metrics, API description, unknown routes.

use crate::common::spawn_app;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let c = app.api_client();
    let res = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    assert_eq!(res.text().await.unwrap(), "ok");
    let res = c.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = spawn_app().await;
    let c = app.api_client();
    c.get(app.url("/healthz")).send().await.unwrap();
    c.get(app.url("/healthz")).send().await.unwrap();
    let text = c
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "weiops_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "weiops_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 2"
        )
    );
    assert!(text.contains("weiops_db_pool_connections"));
}

#[tokio::test]
async fn openapi_document_lists_the_endpoints() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .api_client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/roles",
        "/api/v1/audit",
        "/api/v1/me/tokens",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn api_docs_page_is_served_locally() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let res = c.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("/api/v1/users"));
    assert!(!html.contains("cdn"), "no external assets");
}

#[tokio::test]
async fn unknown_routes_get_404_in_the_right_shape() {
    let app = spawn_app().await;
    let c = app.api_client();
    let res = c.get(app.url("/api/v1/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["message"], "页面或记录不存在");

    let res = c
        .get(app.url("/nope"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(res.text().await.unwrap().contains("Not found"));
}

#[tokio::test]
async fn assets_are_served_by_the_binary() {
    let app = spawn_app().await;
    let c = app.api_client();
    for (path, ct) in [
        ("/assets/app.css", "text/css"),
        ("/assets/app.js", "text/javascript"),
        ("/assets/logo.svg", "image/svg+xml"),
    ] {
        let res = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(ct)
        );
    }
    assert_eq!(
        c.get(app.url("/assets/nope.css"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn dashboard_shows_real_figures() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let html = c
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-testid=\"stat-users\">1<"),
        "one user so far"
    );
    assert!(html.contains("<svg class=\"chart\""));
    assert!(html.contains("session.login"), "recent audit events listed");
}
