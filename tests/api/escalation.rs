//! Nobody becomes administrator by managing users or the organisation
//! (issue 15, points 1–3): a role is given only by someone who holds all
//! of it, the admin role only by an administrator, nobody changes their
//! own roles, and nobody resets, disables or re-roles someone who holds
//! more than they do. Each probe answered 200 before the fix.

use serde_json::json;

use crate::common::{body, spawn_app};

#[tokio::test]
async fn managing_users_or_the_organisation_does_not_make_anyone_admin() {
    let app = spawn_app().await;
    let admin_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'admin'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();

    // 1. users.write with scope "own" gives themself the admin role.
    let own = app
        .role("users_own", &["users.read", "users.write"], "own")
        .await;
    let me = app.user("um", "Manager-pw-2026", vec![own]).await;
    let c = app.login("um", "Manager-pw-2026").await;
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/users/{me}/roles"),
            &json!({"role_ids": [app.admin_role_id]}),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.get_json(&c, "/api/v1/me").await["is_admin"], false);

    // 2. users.write with scope "all" takes over the administrator.
    let all = app
        .role("users_all", &["users.read", "users.write"], "all")
        .await;
    app.user("ua", "Manager-pw-2026", vec![all]).await;
    let c = app.login("ua", "Manager-pw-2026").await;
    let res = c
        .post(app.url(&format!("/api/v1/users/{admin_id}/reset-password")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(body(res).await.get("password").is_none());
    let res = c
        .post(app.url(&format!("/api/v1/users/{admin_id}/disable")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/users/{admin_id}/roles"),
            &json!({"role_ids": [app.admin_role_id, all]}),
        )
        .await;
    assert_eq!(res.status(), 403);
    // … nor gives anyone a role holding more than they hold …
    let finance = app.role("money", &["finance.*"], "all").await;
    let other = app.user("other", "Other-pw-2026-x", vec![]).await;
    for role in [app.admin_role_id, finance] {
        let res = app
            .put_json(
                &c,
                &format!("/api/v1/users/{other}/roles"),
                &json!({"role_ids": [role]}),
            )
            .await;
        assert_eq!(res.status(), 403, "role {role}");
    }
    // … but gives what they hold, and resets those who hold less.
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/users/{other}/roles"),
            &json!({"role_ids": [all]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = c
        .post(app.url(&format!("/api/v1/users/{other}/reset-password")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // 3. org.write puts the admin role on a post, then itself on the post.
    let org = app.role("org_all", &["org.read", "org.write"], "all").await;
    let hr = app.user("hr", "Manager-pw-2026", vec![org]).await;
    let c = app.login("hr", "Manager-pw-2026").await;
    let dept = body(
        app.post_json(&c, "/api/v1/org/departments", &json!({"name": "人事部"}))
            .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let post = |role: Option<i64>, code: &str| json!({"code": code, "name": code, "department_id": dept, "role_id": role});
    let res = app
        .post_json(
            &c,
            "/api/v1/org/positions",
            &post(Some(app.admin_role_id), "boss"),
        )
        .await;
    assert_eq!(res.status(), 403);
    // A post made by an administrator with the admin role: org.write may
    // not put itself, or anyone, on it.
    let admin = app.login_admin().await;
    let boss = body(
        app.post_json(
            &admin,
            "/api/v1/org/positions",
            &post(Some(app.admin_role_id), "boss"),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let res = app
        .post_json(
            &c,
            "/api/v1/org/staff",
            &json!({"user_id": hr, "display_name": "hr name", "primary_position_id": boss}),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.get_json(&c, "/api/v1/me").await["is_admin"], false);
    // Nor import a new account on that post (the importer sees its
    // password): the whole file is refused.
    let res = c
        .post(app.url("/api/v1/org/staff/import"))
        .body("用户名,姓名,主岗位编码\nmole,鼹鼠,boss\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(body(res).await["error"]["code"], "denied");
    let moles: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = 'mole'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(moles, 0);
    // A post without a role is fine.
    let res = app
        .post_json(&c, "/api/v1/org/positions", &post(None, "clerk"))
        .await;
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn a_role_editor_cannot_write_themself_more_permissions() {
    let app = spawn_app().await;
    let editor = app
        .role("role_editor", &["roles.read", "roles.write"], "all")
        .await;
    app.user("re", "Editor-pw-2026", vec![editor]).await;
    let c = app.login("re", "Editor-pw-2026").await;
    let role = |code: &str, permissions: &[&str]| json!({"code": code, "name": code, "data_scope": "all", "permissions": permissions});
    // Their own role, widened to everything: refused, nothing changed.
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/roles/{editor}"),
            &role("role_editor", &["roles.read", "roles.write", "*"]),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(body(res).await["error"]["code"], "denied");
    assert_eq!(
        app.get_json(&c, "/api/v1/me").await["grants"],
        json!(["roles.read", "roles.write"])
    );
    // A new role holding what they lack: refused; what they hold: made.
    let res = app
        .post_json(&c, "/api/v1/roles", &role("money", &["finance.*"]))
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post_json(&c, "/api/v1/roles", &role("readers", &["roles.read"]))
        .await;
    assert_eq!(res.status(), 201);
}
