//! Malformed input gets a clear, localised error and changes nothing.

use crate::common::spawn_app;

async fn error_of(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    (status, res.json::<serde_json::Value>().await.unwrap())
}

#[tokio::test]
async fn malformed_json_wrong_type_and_missing_fields() {
    let app = spawn_app().await;
    let token = app.token_for("admin").await;
    let api = app.api_client();
    let (status, body) = error_of(
        api.post(app.url("/api/v1/roles"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_request");
    assert_eq!(body["error"]["message"], "请求不正确");

    let (status, body) = error_of(
        api.post(app.url("/api/v1/roles"))
            .bearer_auth(&token)
            .body("code=x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 415);
    assert_eq!(body["error"]["code"], "unsupported_media_type");

    let (status, body) = error_of(
        api.post(app.url("/api/v1/roles"))
            .bearer_auth(&token)
            .header("accept-language", "en")
            .json(&serde_json::json!({"name": 5}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["message"], "The request body is malformed");
    assert_eq!(
        app.audit_actions()
            .await
            .iter()
            .filter(|a| a.starts_with("role."))
            .count(),
        0
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app_small().await;
    let token = app.token_for("admin").await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(64 * 1024));
    let res = app
        .api_client()
        .post(app.url("/api/v1/me/tokens"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(res).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");
}

async fn spawn_app_small() -> crate::common::TestApp {
    crate::common::spawn_app_with(|s| s.body_limit_bytes = 16 * 1024).await
}

#[tokio::test]
async fn unauthenticated_api_calls_get_401_json() {
    let app = spawn_app().await;
    let (status, body) = error_of(
        app.api_client()
            .get(app.url("/api/v1/users"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, body) = error_of(
        app.api_client()
            .get(app.url("/api/v1/users"))
            .bearer_auth("wops_forged")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_token");
}

#[tokio::test]
async fn malformed_forms_and_ids() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let res = c
        .post(app.url("/users"))
        .form(&[("username", "li"), ("role_ids", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("表单内容不正确"));
    let res = c.get(app.url("/users/not-a-number")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = c.get(app.url("/api/v1/users/99999")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = c
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("%%%")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    assert!(!res.status().is_server_error());
}

#[tokio::test]
async fn pages_show_errors_as_pages() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let res = c.get(app.url("/users/424242")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let html = res.text().await.unwrap();
    assert!(html.contains("找不到页面") && html.contains("请求 ID"));
}
