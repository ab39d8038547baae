//! Permissions on pages and API, menus, data scope, CSRF.

use crate::common::spawn_app;

#[tokio::test]
async fn a_page_without_permission_is_a_403_naming_it() {
    let app = spawn_app().await;
    let viewer = app.role("viewer", &["audit.read"], "own").await;
    app.user("zhang", "Zhang-pass-1", vec![viewer]).await;
    let c = app.login("zhang", "Zhang-pass-1").await;
    let res = c.get(app.url("/users")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("users.read") && html.contains("查看用户"),
        "{html}"
    );
    // The audit log is allowed.
    assert_eq!(c.get(app.url("/audit")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_api_denies_with_the_same_rule_and_one_error_shape() {
    let app = spawn_app().await;
    let viewer = app.role("viewer", &["audit.read"], "own").await;
    app.user("zhang", "Zhang-pass-1", vec![viewer]).await;
    let token = app.token_for("zhang").await;
    let res = app
        .api_client()
        .get(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(
        body["error"]["message"],
        "Permission denied: requires \u{201c}View users\u{201d} (users.read)"
    );
    let res = app
        .api_client()
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn menus_show_only_what_the_user_may_open() {
    let app = spawn_app().await;
    let viewer = app.role("viewer", &["audit.read"], "own").await;
    app.user("zhang", "Zhang-pass-1", vec![viewer]).await;
    let html = app
        .login("zhang", "Zhang-pass-1")
        .await
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("href=\"/audit\""));
    assert!(!html.contains("href=\"/users\""));
    assert!(!html.contains("href=\"/roles\""));
    let admin_html = app
        .login_admin()
        .await
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(admin_html.contains("href=\"/users\"") && admin_html.contains("href=\"/roles\""));
}

#[tokio::test]
async fn data_scope_own_sees_only_itself() {
    let app = spawn_app().await;
    let hr = app.role("hr_self", &["users.read"], "own").await;
    let me = app.user("wang", "Wang-pass-1", vec![hr]).await;
    app.user("zhao", "Zhao-pass-1", vec![]).await;
    let token = app.token_for("wang").await;
    let page: serde_json::Value = app
        .api_client()
        .get(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], me);
    let admin_id = weiops::users::store::find_by_username(&app.db, "admin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let res = app
        .api_client()
        .get(app.url(&format!("/api/v1/users/{admin_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "out of scope looks like absent");
    let me_json: serde_json::Value = app
        .api_client()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me_json["data_scope"], "own");
    assert_eq!(me_json["permissions"], serde_json::json!(["users.read"]));
}

#[tokio::test]
async fn data_scope_department_tree_covers_subdepartments() {
    let app = spawn_app().await;
    let now = weiops::db::now_ms();
    for (id, parent, path) in [
        (1i64, None, "/1/"),
        (2, Some(1i64), "/1/2/"),
        (3, None, "/3/"),
    ] {
        sqlx::query("INSERT INTO departments (id, parent_id, name, path, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(parent)
            .bind(format!("dept {id}"))
            .bind(path)
            .bind(now)
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
    let lead = app.role("lead", &["users.read"], "department_tree").await;
    let boss = app.user("boss", "Boss-pass-1", vec![lead]).await;
    let sub = app.user("sub", "Sub-pass-1", vec![]).await;
    let other = app.user("other", "Other-pass-1", vec![]).await;
    for (user, dept) in [(boss, 1i64), (sub, 2), (other, 3)] {
        sqlx::query("UPDATE users SET department_id = $1 WHERE id = $2")
            .bind(dept)
            .bind(user)
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
    let token = app.token_for("boss").await;
    let page: serde_json::Value = app
        .api_client()
        .get(app.url("/api/v1/users?sort=username"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["boss", "sub"]);
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    app.login_admin().await;
    // A page on another site posting with the victim's cookie.
    let evil = app.client_from_origin("http://evil.example");
    let res = evil
        .post(app.url("/login"))
        .form(&[
            ("login", "admin"),
            ("password", crate::common::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "login CSRF refused too");
    let c = app.login_admin().await;
    // Fetch metadata from a browser says where the form was.
    let res2 = c
        .post(app.url("/roles"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("code", "x2"), ("name", "X"), ("data_scope", "own")])
        .send()
        .await
        .unwrap();
    assert_eq!(res2.status(), 403);
    let body = res2.text().await.unwrap();
    assert!(body.contains("跨站请求已被拒绝"));
    let res3 = c
        .post(app.url("/roles"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("code", "x3"), ("name", "X"), ("data_scope", "own")])
        .send()
        .await
        .unwrap();
    assert_eq!(res3.status(), 303);
    let roles: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|a| a == "role.create")
        .collect();
    assert_eq!(
        roles.len(),
        1,
        "only the same-origin request created a role"
    );
}

#[tokio::test]
async fn bearer_requests_without_cookies_need_no_origin() {
    let app = spawn_app().await;
    let token = app.token_for("admin").await;
    let res = app
        .api_client()
        .post(app.url("/api/v1/roles"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"code": "ops", "name": "运营", "data_scope": "all", "permissions": ["users.read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

/// The roles of a fresh install, by code, as the API lists them.
async fn roles_by_code(app: &crate::common::TestApp, c: &reqwest::Client) -> serde_json::Value {
    let page: serde_json::Value = c
        .get(app.url("/api/v1/roles?per_page=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = serde_json::Map::new();
    for r in page["items"].as_array().unwrap() {
        out.insert(r["code"].as_str().unwrap().to_string(), r.clone());
    }
    serde_json::Value::Object(out)
}

#[tokio::test]
async fn the_admin_role_is_dated_from_the_install_not_1970() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let roles = roles_by_code(&app, &c).await;
    let created = roles["admin"]["created_at"].as_i64().unwrap();
    // A new install: the time the migration ran (2026 or later here).
    assert!(created > 1_700_000_000_000, "{created}");
    assert_eq!(roles["admin"]["updated_at"], roles["admin"]["created_at"]);
    let html = c
        .get(app.url("/roles"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("1970-01-01"), "{html}");

    // An install made before the fix: the role takes the first account's
    // time. Replays the migration's SQL on the seed's 0.
    sqlx::query("UPDATE roles SET created_at = 0, updated_at = 0 WHERE code = 'admin'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let engine = match app.db.engine {
        weiops::db::Engine::Sqlite => "sqlite",
        weiops::db::Engine::Postgres => "postgres",
    };
    let sql = std::fs::read_to_string(format!(
        "{}/migrations/{engine}/20261208000003_admin_role_time.sql",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let code: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    for statement in code.split(';').filter(|s| !s.trim().is_empty()) {
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
    use sqlx::Row;
    let first: i64 = sqlx::query("SELECT MIN(created_at) AS t FROM users")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .get("t");
    let roles = roles_by_code(&app, &c).await;
    assert_eq!(roles["admin"]["created_at"], first);
    assert_eq!(roles["admin"]["updated_at"], first);
}

#[tokio::test]
async fn a_roles_user_count_includes_holders_through_their_post() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let res = app
        .post_json(
            &c,
            "/api/v1/org/templates/weishang-core/apply",
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let post = weiops::org::positions::find_by_code(&app.db, "customer_service")
        .await
        .unwrap()
        .unwrap()
        .id;
    let service_role = roles_by_code(&app, &c).await["service_agent"]["id"]
        .as_i64()
        .unwrap();
    for (username, direct) in [("kefu1", false), ("kefu2", true)] {
        let mut body = serde_json::json!({"username": username, "display_name": username,
            "primary_position_id": post});
        if direct {
            // Also given the role directly: still one person.
            body["role_ids"] = serde_json::json!([service_role]);
        }
        let res = app.post_json(&c, "/api/v1/org/staff", &body).await;
        assert_eq!(res.status(), 201);
    }
    let roles = roles_by_code(&app, &c).await;
    assert_eq!(roles["service_agent"]["user_count"], 2);
    assert_eq!(roles["admin"]["user_count"], 1);
    assert_eq!(roles["finance_staff"]["user_count"], 0);
    // The count links to the users list filtered by the role: the same people.
    let list = c
        .get(app.url(&format!("/users?role={service_role}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("kefu1") && list.contains("kefu2"), "{list}");

    // A role no one holds yet but a post grants cannot be deleted from
    // under that post.
    let finance_role = roles["finance_staff"]["id"].as_i64().unwrap();
    let res = c
        .delete(app.url(&format!("/api/v1/roles/{finance_role}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("岗位"),
        "{body}"
    );
    assert!(roles_by_code(&app, &c).await["finance_staff"].is_object());
}
