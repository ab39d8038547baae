//! API tokens: created once, hashed, revocable, last-used time.

use sqlx::Row;

use crate::common::spawn_app;

#[tokio::test]
async fn token_lifecycle_through_the_api() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let res = app
        .post_json(
            &c,
            "/api/v1/me/tokens",
            &serde_json::json!({"name": "同步脚本"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("wops_"));
    // Stored only hashed.
    let row = sqlx::query("SELECT token_hash, prefix FROM api_tokens")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let hash: String = row.try_get("token_hash").unwrap();
    assert_ne!(hash, token);
    assert!(!hash.contains(&token[5..]));

    let api = app.api_client();
    let me: serde_json::Value = api
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "admin");
    assert_eq!(me["is_admin"], true);
    let list: serde_json::Value = c
        .get(app.url("/api/v1/me/tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        list[0]["last_used_at"].is_i64(),
        "last use recorded: {list}"
    );
    assert!(list[0].get("token").is_none(), "the secret is never listed");

    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        c.delete(app.url(&format!("/api/v1/me/tokens/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let res = api
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_token");
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"token.create".to_string())
            && actions.contains(&"token.revoke".to_string())
    );
}

#[tokio::test]
async fn tokens_page_shows_the_secret_once_and_revokes_after_confirming() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let res = c
        .post(app.url("/account/tokens"))
        .form(&[("name", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = c
        .post(app.url("/account/tokens"))
        .form(&[("name", "导出脚本")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"token-secret\">wops_"));
    let again = c
        .get(app.url("/account/tokens"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!again.contains("token-secret"), "shown only once");
    let id: i64 = sqlx::query("SELECT id FROM api_tokens")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    let ask = c
        .post(app.url(&format!("/account/tokens/{id}/revoke")))
        .send()
        .await
        .unwrap();
    assert!(ask.text().await.unwrap().contains("value=\"yes\""));
    let done = c
        .post(app.url(&format!("/account/tokens/{id}/revoke")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let revoked: Option<i64> = sqlx::query("SELECT revoked_at FROM api_tokens")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get("revoked_at")
        .unwrap();
    assert!(revoked.is_some());
}

#[tokio::test]
async fn someone_elses_token_cannot_be_revoked() {
    let app = spawn_app().await;
    app.user("li", "Li-pass-123", vec![]).await;
    app.token_for("admin").await;
    let id: i64 = sqlx::query("SELECT id FROM api_tokens")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    let li = app.login("li", "Li-pass-123").await;
    assert_eq!(
        li.delete(app.url(&format!("/api/v1/me/tokens/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn a_disabled_users_tokens_stop_working() {
    let app = spawn_app().await;
    let id = app.user("li", "Li-pass-123", vec![]).await;
    let token = app.token_for("li").await;
    assert_eq!(
        app.api_client()
            .get(app.url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let admin = app.login_admin().await;
    assert_eq!(
        admin
            .post(app.url(&format!("/api/v1/users/{id}/disable")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.api_client()
            .get(app.url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}
