//! The audit log: written by every change, filterable, exportable, and
//! impossible to edit.

use crate::common::spawn_app;

#[tokio::test]
async fn entries_carry_who_when_what_and_the_request() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let res = c
        .post(app.url("/api/v1/roles"))
        .header("x-request-id", "req-abc-123")
        .json(&serde_json::json!({"code": "cs", "name": "客服", "data_scope": "own", "permissions": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let page: serde_json::Value = c
        .get(app.url("/api/v1/audit?action=role.create"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    let e = &page["items"][0];
    assert_eq!(e["actor_name"], "admin");
    assert_eq!(e["entity_type"], "role");
    assert_eq!(e["request_id"], "req-abc-123");
    assert_eq!(e["ip"], "127.0.0.1");
    assert!(e["after"].as_str().unwrap().contains("\"code\":\"cs\""));
    assert!(e["at"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn filters_by_user_action_prefix_entity_and_day() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    app.user("li", "Li-pass-123", vec![]).await;
    let today = weiops_core::time::format_date(weiops::db::now_ms());
    let q = |s: &str| app.url(&format!("/api/v1/audit?{s}"));
    let total = |v: serde_json::Value| v["total"].as_i64().unwrap();
    assert_eq!(
        total(
            c.get(q("action=user."))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        ),
        2,
        "two user.create"
    );
    assert_eq!(
        total(
            c.get(q("actor=adm"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        ),
        1,
        "the admin's login"
    );
    assert_eq!(
        total(
            c.get(q(&format!("from={today}&to={today}")))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        ),
        3
    );
    assert_eq!(
        total(
            c.get(q("to=2000-01-01"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        ),
        0
    );
    let res = c.get(q("from=yesterday")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["message"], "日期格式应为 YYYY-MM-DD");
    let html = c
        .get(app.url("/audit?entity_type=user"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("user.create") && html.contains("data-testid=\"audit-table\""));
}

#[tokio::test]
async fn export_in_both_formats() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let csv = c
        .get(app.url("/audit/export?format=csv"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(text.starts_with("ID,时间,操作人"));
    assert!(text.contains("session.login"));
    let xlsx = c
        .get(app.url("/audit/export?format=xlsx"))
        .send()
        .await
        .unwrap();
    assert!(
        xlsx.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
}

#[tokio::test]
async fn nothing_can_edit_or_delete_the_log() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let res = c
            .request(method.clone(), app.url("/api/v1/audit"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method}");
    }
    assert_eq!(
        c.post(app.url("/audit/1")).send().await.unwrap().status(),
        405
    );
    // Not even through the database.
    assert!(
        sqlx::query("UPDATE audit_log SET summary = 'x'")
            .execute(&app.db.pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM audit_log")
            .execute(&app.db.pool)
            .await
            .is_err()
    );
    assert!(!app.audit_actions().await.is_empty());
}

#[tokio::test]
async fn audit_pages_need_the_permission() {
    let app = spawn_app().await;
    app.user("li", "Li-pass-123", vec![]).await;
    let c = app.login("li", "Li-pass-123").await;
    assert_eq!(c.get(app.url("/audit")).send().await.unwrap().status(), 403);
    assert_eq!(
        c.get(app.url("/audit/export"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let admin = app.login_admin().await;
    let html = admin
        .get(app.url("/audit/1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("user.create") || html.contains("session.login"));
}
