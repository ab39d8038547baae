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

/// Every `$ref` names a schema the document holds: a generic response type
/// (`Paged<T>`) must register both its composed schema and `T`.
#[tokio::test]
async fn openapi_schema_references_resolve() {
    let app = spawn_app().await;
    let text = app
        .api_client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let prefix = "\"#/components/schemas/";
    let dangling: std::collections::BTreeSet<&str> = text
        .match_indices(prefix)
        .map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .filter(|name| !schemas.contains_key(*name))
        .collect();
    assert!(dangling.is_empty(), "references to no schema: {dangling:?}");
    assert!(
        schemas.contains_key("Paged_Role"),
        "the roles list is a Paged<Role>"
    );
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

/// Ended sessions, finished jobs and old rate-limit windows are deleted
/// after the retention period; live and recent rows stay.
#[tokio::test]
async fn housekeeping_deletes_only_rows_that_ended_long_ago() {
    use weiops::housekeeping::{KEEP_MS, Pruned, run};
    use weiops_core::accounts::SessionPolicy;

    let app = spawn_app().await;
    let now = weiops::db::now_ms();
    let day = 24 * 3_600_000;
    let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'admin'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    // (token, created, last seen, revoked)
    let sessions = [
        ("live", now - day, now - 60_000, None),
        (
            "revoked-recently",
            now - 3 * day,
            now - 3 * day,
            Some(now - 2 * day),
        ),
        (
            "revoked-long-ago",
            now - 60 * day,
            now - 60 * day,
            Some(now - 40 * day),
        ),
        ("idle-long-ago", now - 40 * day, now - 40 * day, None),
    ];
    for (token, created, seen, revoked) in sessions {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token)
        .bind(user_id)
        .bind(created)
        .bind(seen)
        .bind(revoked)
        .execute(&app.db.pool)
        .await
        .unwrap();
    }
    for (status, updated) in [
        ("done", now - 40 * day),
        ("failed", now - 40 * day),
        ("done", now - day),
        ("running", now - 40 * day),
    ] {
        sqlx::query(
            "INSERT INTO jobs (kind, status, created_at, updated_at) VALUES ('agent_import', $1, $2, $2)",
        )
        .bind(status)
        .bind(updated)
        .execute(&app.db.pool)
        .await
        .unwrap();
    }
    for (key, start) in [("login:old", now - 2 * day), ("login:new", now - 60_000)] {
        sqlx::query("INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 3)")
            .bind(key)
            .bind(start)
            .execute(&app.db.pool)
            .await
            .unwrap();
    }

    let pruned = run(&app.db, SessionPolicy::default(), now).await.unwrap();
    assert_eq!(
        pruned,
        Pruned {
            sessions: 2,
            agent_sessions: 0,
            jobs: 2,
            rate_limits: 1,
        }
    );
    let left: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM sessions ORDER BY token_hash")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(left, vec!["live", "revoked-recently"]);
    // A running job is never deleted, however old (reap_stale ends it first).
    let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 2);
    assert!(KEEP_MS >= 30 * day);
    // A second run finds nothing more.
    assert_eq!(
        run(&app.db, SessionPolicy::default(), now).await.unwrap(),
        Pruned::default()
    );
}
