//! User management through the API and the pages.

use crate::common::{ADMIN_PASSWORD, spawn_app};

#[tokio::test]
async fn create_validates_each_field_and_changes_nothing_on_error() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let audited_before = app.audit_actions().await.len();
    let res = c
        .post(app.url("/api/v1/users"))
        .header("accept-language", "en")
        .json(&serde_json::json!({"username": "2x", "display_name": "", "phone": "123", "password": "abc", "role_ids": [999]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "display_name", "phone", "role_ids"]);
    assert_eq!(
        body["error"]["fields"][2]["message"],
        "Enter an 11-digit mobile number"
    );
    let (total, _) = weiops::users::store::count(&app.db).await.unwrap();
    assert_eq!(total, 1, "nothing written");
    assert_eq!(
        app.audit_actions().await.len(),
        audited_before,
        "nothing audited"
    );
}

#[tokio::test]
async fn usernames_and_phones_are_unique() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let res = app
        .post_json(
            &c,
            "/api/v1/users",
            &serde_json::json!({"username": "ADMIN", "display_name": "x"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "username");
    assert_eq!(body["error"]["fields"][0]["message"], "该用户名已被使用");
    let res = app
        .post_json(
            &c,
            "/api/v1/users",
            &serde_json::json!({"username": "li", "display_name": "x", "phone": "13800000000"}),
        )
        .await;
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn full_user_lifecycle_is_audited() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let role = app.role("sales", &["users.read"], "own").await;
    let created: serde_json::Value = app.post_json(&c, "/api/v1/users", &serde_json::json!({"username": "Li.Wei", "display_name": "李伟", "phone": "139-0000-1111", "password": "Li-wei-2026"})).await
        .json()
        .await
        .unwrap();
    let id = created["user"]["id"].as_i64().unwrap();
    assert_eq!(created["user"]["username"], "li.wei");
    assert_eq!(created["user"]["phone"], "13900001111");
    assert!(
        created["password"].is_null(),
        "a chosen password is not echoed"
    );

    let user: serde_json::Value = c
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .json(&serde_json::json!({"display_name": "李伟（销售）", "phone": ""}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["display_name"], "李伟（销售）");
    assert!(user["phone"].is_null());

    let user: serde_json::Value = app
        .put_json(
            &c,
            &format!("/api/v1/users/{id}/roles"),
            &serde_json::json!({"role_ids": [role]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["roles"][0]["code"], "sales");

    let reset: serde_json::Value = c
        .post(app.url(&format!("/api/v1/users/{id}/reset-password")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_password = reset["password"].as_str().unwrap();
    let li = app.client();
    let res = li
        .post(app.url("/login"))
        .form(&[("login", "li.wei"), ("password", new_password)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"],
        "/account/password",
        "a reset password must be changed"
    );

    let user: serde_json::Value = c
        .post(app.url(&format!("/api/v1/users/{id}/disable")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["status"], "disabled");
    assert_eq!(
        li.get(app.url("/account/password"))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "disabling ends sessions at once"
    );
    let res = app
        .client()
        .post(app.url("/login"))
        .form(&[("login", "li.wei"), ("password", new_password)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let user: serde_json::Value = c
        .post(app.url(&format!("/api/v1/users/{id}/enable")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["status"], "active");

    let actions = app.audit_actions().await;
    for a in [
        "user.create",
        "user.update",
        "user.update_roles",
        "user.reset_password",
        "user.disable",
        "user.enable",
    ] {
        assert!(actions.contains(&a.to_string()), "{a} audited: {actions:?}");
    }
}

#[tokio::test]
async fn nobody_disables_themself_or_the_last_admin() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let admin = weiops::users::store::find_by_username(&app.db, "admin")
        .await
        .unwrap()
        .unwrap();
    let res = c
        .post(app.url(&format!("/api/v1/users/{}/disable", admin.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        409,
        "a business rule, not a missing permission"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["message"], "不能停用自己的账号");
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/users/{}/roles", admin.id),
            &serde_json::json!({"role_ids": []}),
        )
        .await;
    assert_eq!(
        res.status(),
        409,
        "a business rule, not a missing permission"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["message"], "不能停用或移除最后一位系统管理员");
}

#[tokio::test]
async fn list_searches_sorts_and_pages() {
    let app = spawn_app().await;
    for i in 0..25 {
        app.user(&format!("user{i:02}"), "Some-pass-1", vec![])
            .await;
    }
    let c = app.login_admin().await;
    let page: serde_json::Value = c
        .get(app.url("/api/v1/users?q=user1&sort=username&dir=desc&per_page=5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 10);
    assert_eq!(page["items"][0]["username"], "user19");
    assert_eq!(page["items"].as_array().unwrap().len(), 5);

    let html = c
        .get(app.url("/users?per_page=10&page=2&sort=username"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("共 26 条"), "total shown");
    assert!(html.contains("user09") && !html.contains(">user19<"));
    let pager_link = html
        .split("href=\"")
        .find(|h| h.starts_with("/users?page=3"))
        .unwrap_or_default();
    assert!(
        pager_link.starts_with("/users?page=3&#38;per_page=10&#38;sort=username")
            || pager_link.starts_with("/users?page=3&amp;per_page=10&amp;sort=username"),
        "pager keeps sorting: {pager_link}"
    );
    let empty = c
        .get(app.url("/users?q=nobody-like-this"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(empty.contains("没有符合条件的记录"));
    // A hand-edited page number never errors.
    assert_eq!(
        c.get(app.url("/users?page=-4&per_page=abc"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn export_csv_and_excel() {
    let app = spawn_app().await;
    app.user("li", "Li-pass-123", vec![]).await;
    let c = app.login_admin().await;
    let res = c
        .get(app.url("/users/export?format=csv&q=li"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".csv")
    );
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM for Excel");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("ID,用户名,姓名"));
    assert_eq!(text.lines().count(), 2, "header and the one match: {text}");
    let res = c
        .get(app.url("/users/export?format=xlsx"))
        .send()
        .await
        .unwrap();
    assert!(res.bytes().await.unwrap().starts_with(b"PK"));
    assert_eq!(
        c.get(app.url("/users/export?format=pdf"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
}

#[tokio::test]
async fn pages_create_edit_and_confirm_before_disabling() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    // Invalid form: shown again with field messages and the typed values.
    let res = c
        .post(app.url("/users"))
        .form(&[("username", "li wei"), ("display_name", "李伟")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("包含不允许的字符") && html.contains("value=\"李伟\""));
    // Valid form with a role; no password given → shown once.
    let role = app.role("cs", &["users.read"], "own").await;
    let res = c
        .post(app.url("/users"))
        .form(&[
            ("username", "liwei"),
            ("display_name", "李伟"),
            ("role_ids", &role.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"shown-password\""));
    let id = weiops::users::store::find_by_username(&app.db, "liwei")
        .await
        .unwrap()
        .unwrap()
        .id;
    let res = c
        .post(app.url(&format!("/users/{id}")))
        .form(&[("display_name", "李 伟"), ("role_ids", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let detail = c
        .get(app.url(&format!("/users/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(detail.contains("李 伟") && detail.contains("已保存"));
    // Disabling asks first.
    let ask = c
        .post(app.url(&format!("/users/{id}/disable")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ask.contains("确定停用用户"));
    assert!(
        weiops::users::store::get(&app.db, id)
            .await
            .unwrap()
            .is_active()
    );
    c.post(app.url(&format!("/users/{id}/disable")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert!(
        !weiops::users::store::get(&app.db, id)
            .await
            .unwrap()
            .is_active()
    );
}

#[tokio::test]
async fn batch_disable_asks_then_reports() {
    let app = spawn_app().await;
    let a = app.user("aaa", "Aaa-pass-1", vec![]).await;
    let b = app.user("bbb", "Bbb-pass-1", vec![]).await;
    let c = app.login_admin().await;
    let admin = weiops::users::store::find_by_username(&app.db, "admin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let form = [
        ("action", "disable".to_string()),
        ("ids", a.to_string()),
        ("ids", b.to_string()),
        ("ids", admin.to_string()),
    ];
    let ask = c
        .post(app.url("/users/batch"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ask.contains("确定停用选中的 3 个用户"));
    assert!(
        ask.contains("name=\"ids\""),
        "selection carried through the confirmation"
    );
    let mut confirmed = form.to_vec();
    confirmed.push(("confirm", "yes".into()));
    let res = c
        .post(app.url("/users/batch"))
        .form(&confirmed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = c
        .get(app.url("/users"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("2/3"), "two done, self refused");
    assert!(
        !weiops::users::store::get(&app.db, a)
            .await
            .unwrap()
            .is_active()
    );
    assert!(
        weiops::users::store::get(&app.db, admin)
            .await
            .unwrap()
            .is_active()
    );
    let _ = ADMIN_PASSWORD;
}

#[tokio::test]
async fn roles_crud_with_guards() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let res = app.post_json(&c, "/api/v1/roles", &serde_json::json!({"code": "x", "name": "", "data_scope": "everything", "permissions": ["spaceship.fly"]})).await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["code", "name", "data_scope", "permissions"]);

    let role: serde_json::Value = app.post_json(&c, "/api/v1/roles", &serde_json::json!({"code": "finance", "name": "财务", "data_scope": "all", "permissions": ["audit.read"]})).await
        .json()
        .await
        .unwrap();
    let id = role["id"].as_i64().unwrap();
    let dup = app
        .post_json(
            &c,
            "/api/v1/roles",
            &serde_json::json!({"code": "finance", "name": "财务2", "data_scope": "all"}),
        )
        .await;
    assert_eq!(dup.status(), 422);
    let updated: serde_json::Value = app.put_json(&c, &format!("/api/v1/roles/{id}"), &serde_json::json!({"code": "finance", "name": "财务部", "data_scope": "department_tree", "permissions": ["audit.read", "users.read"]})).await
        .json()
        .await
        .unwrap();
    assert_eq!(
        updated["permissions"],
        serde_json::json!(["audit.read", "users.read"])
    );

    app.user("cw", "Cw-pass-123", vec![id]).await;
    let res = c
        .delete(app.url(&format!("/api/v1/roles/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409, "still held");
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/roles/{}", app.admin_role_id),
            &updated,
        )
        .await;
    assert_eq!(res.status(), 409, "built-in role is locked");
    let res = c
        .delete(app.url(&format!("/api/v1/roles/{}", app.admin_role_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);

    let perms: serde_json::Value = c
        .get(app.url("/api/v1/permissions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        perms
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["code"] == "audit.read" && p["name_zh"] == "查看操作日志")
    );
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"role.create".into()) && actions.contains(&"role.update".into()));
}

#[tokio::test]
async fn role_pages_render_and_delete_after_confirmation() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let id = app.role("temp", &[], "own").await;
    assert!(
        c.get(app.url("/roles"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("temp")
    );
    let form = c
        .get(app.url(&format!("/roles/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("name=\"permissions\" value=\"users.read\""));
    let builtin = c
        .get(app.url(&format!("/roles/{}", app.admin_role_id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        builtin.contains("<fieldset disabled"),
        "built-in role is read-only"
    );
    let ask = c
        .post(app.url(&format!("/roles/{id}/delete")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ask.contains("确定删除角色"));
    let res = c
        .post(app.url(&format!("/roles/{id}/delete")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(weiops::access::roles::get(&app.db, id).await.is_err());
    assert!(app.audit_actions().await.contains(&"role.delete".into()));
}
