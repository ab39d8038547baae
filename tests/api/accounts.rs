//! Signing in and out, lockout, sessions, password changes, languages.

use sqlx::Row;

use crate::common::{ADMIN_PASSWORD, spawn_app, spawn_app_with};

#[tokio::test]
async fn login_sets_a_safe_session_cookie_and_opens_the_dashboard() {
    let app = spawn_app().await;
    let c = app.client();
    let res = c
        .post(app.url("/login"))
        .form(&[
            ("login", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/users?page=1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/users?page=1");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("weiops_session="))
        .unwrap();
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain http in tests");
    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("工作台"));
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let app = spawn_app_with(|s| {
        s.base_url = "https://ops.example.com".into();
        s.secure_cookies = true;
    })
    .await;
    let res = app
        .client()
        .post(app.url("/login"))
        .form(&[("login", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn login_by_phone_works_and_next_cannot_leave_the_site() {
    let app = spawn_app().await;
    let res = app
        .client()
        .post(app.url("/login"))
        .form(&[
            ("login", "138 0000 0000"),
            ("password", ADMIN_PASSWORD),
            ("next", "//evil.example/x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
}

#[tokio::test]
async fn wrong_password_is_refused_in_the_users_language() {
    let app = spawn_app().await;
    let res = app
        .client()
        .post(app.url("/login"))
        .form(&[("login", "admin"), ("password", "nope-nope-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("用户名或密码错误"));
    let res = app
        .client()
        .post(app.url("/login"))
        .header("accept-language", "en-US,en;q=0.9")
        .form(&[("login", "ghost"), ("password", "nope-nope-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Wrong username or password")
    );
    assert!(
        !app.audit_actions()
            .await
            .contains(&"session.login".to_string())
    );
}

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes() {
    let app = spawn_app().await;
    let c = app.client();
    for i in 1..=5 {
        let res = c
            .post(app.url("/login"))
            .form(&[("login", "admin"), ("password", "wrong-pass-1")])
            .send()
            .await
            .unwrap();
        let expected = if i < 5 { 401 } else { 429 };
        assert_eq!(res.status(), expected, "attempt {i}");
    }
    // Even the right password is refused while locked.
    let res = c
        .post(app.url("/login"))
        .form(&[("login", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("15 分钟"));
    // The lock is in the database (shared by every server), and audited.
    let row = sqlx::query("SELECT locked_until FROM users WHERE username = 'admin'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let until: Option<i64> = row.try_get("locked_until").unwrap();
    let now = weiops::db::now_ms();
    assert!(until.unwrap() > now + 14 * 60_000 && until.unwrap() <= now + 15 * 60_000);
    assert!(app.audit_actions().await.contains(&"user.lock".to_string()));
    // When the lock has passed, the right password works again.
    sqlx::query("UPDATE users SET locked_until = $1 WHERE username = 'admin'")
        .bind(now - 1)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let res = c
        .post(app.url("/login"))
        .form(&[("login", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let res = c.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let res = c.get(app.url("/users")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=/users");
}

#[tokio::test]
async fn idle_sessions_expire_and_send_people_to_sign_in() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let long_ago = weiops::db::now_ms() - 3 * 3_600_000;
    sqlx::query("UPDATE sessions SET last_seen_at = $1")
        .bind(long_ago)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let res = c.get(app.url("/users")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=/users");
    // The login page then explains why.
    let html = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("登录已过期"), "{html}");
}

#[tokio::test]
async fn absolute_expiry_ends_even_active_sessions() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let created = weiops::db::now_ms() - 8 * 24 * 3_600_000;
    sqlx::query("UPDATE sessions SET created_at = $1")
        .bind(created)
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(c.get(app.url("/")).send().await.unwrap().status(), 303);
}

#[tokio::test]
async fn first_login_must_change_the_password() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let created: serde_json::Value = app
        .post_json(
            &admin,
            "/api/v1/users",
            &serde_json::json!({"username": "li.wei", "display_name": "李伟"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let first = created["password"].as_str().unwrap().to_string();

    let c = app.client();
    let res = c
        .post(app.url("/login"))
        .form(&[("login", "li.wei"), ("password", first.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/account/password");
    // Nothing else opens until the password is changed.
    let res = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/account/password");
    // Field-level errors first.
    let res = c
        .post(app.url("/account/password"))
        .form(&[("current", "wrong"), ("new", "short"), ("confirm", "other")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("当前密码不正确")
            && html.contains("太短")
            && html.contains("两次输入的新密码不一致"),
        "{html}"
    );
    let res = c
        .post(app.url("/account/password"))
        .form(&[
            ("current", first.as_str()),
            ("new", "New-secret-9"),
            ("confirm", "New-secret-9"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(c.get(app.url("/")).send().await.unwrap().status(), 200);
    assert!(
        app.audit_actions()
            .await
            .contains(&"user.change_password".to_string())
    );
}

#[tokio::test]
async fn sessions_are_listed_and_signed_out_everywhere() {
    let app = spawn_app().await;
    let a = app.login_admin().await;
    let b = app.login_admin().await;
    let html = a
        .get(app.url("/account/sessions"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        html.matches("/revoke\"").count(),
        1,
        "the other session can be ended; this one is marked"
    );
    assert!(html.contains("当前设备"));
    // The destructive action asks first.
    let res = a
        .post(app.url("/account/sessions/revoke-others"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("name=\"confirm\" value=\"yes\"")
    );
    assert_eq!(
        b.get(app.url("/")).send().await.unwrap().status(),
        200,
        "nothing happened before confirming"
    );
    let res = a
        .post(app.url("/account/sessions/revoke-others"))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        b.get(app.url("/")).send().await.unwrap().status(),
        303,
        "the other session ended"
    );
    assert_eq!(
        a.get(app.url("/")).send().await.unwrap().status(),
        200,
        "this one stays"
    );
}

#[tokio::test]
async fn language_follows_header_then_choice_and_is_remembered() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let html = c
        .get(app.url("/users"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Users") && html.contains("lang=\"en\""));
    let res = c
        .post(app.url("/lang"))
        .form(&[("locale", "en"), ("back", "/users")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/users");
    let html = c
        .get(app.url("/users"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Users"));
    // Saved on the user: a new sign-in elsewhere gets English.
    let row = sqlx::query("SELECT locale FROM users WHERE username = 'admin'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        row.try_get::<Option<String>, _>("locale")
            .unwrap()
            .as_deref(),
        Some("en")
    );
    let fresh = app.login_admin().await;
    assert!(
        fresh
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Dashboard")
    );
    let res = c
        .post(app.url("/lang"))
        .form(&[("locale", "fr")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn one_address_cannot_spray_passwords_across_accounts() {
    let app = spawn_app().await;
    let c = app.client();
    for i in 0..20 {
        let name = format!("ghost{i}");
        let res = c
            .post(app.url("/login"))
            .form(&[("login", name.as_str()), ("password", "Guess-123")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "attempt {i}");
    }
    // Even a correct password from that address now waits.
    let res = c
        .post(app.url("/login"))
        .form(&[("login", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("同一地址登录失败次数过多")
    );
    // The window passes: allowed again.
    sqlx::query("UPDATE rate_limits SET window_start = window_start - 11 * 60 * 1000")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let res = c
        .post(app.url("/login"))
        .form(&[("login", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

/// One rule for every password somebody else set: typed by an
/// administrator (form or API), set when staff are added to the
/// organisation, generated by a staff import. Each must be changed at
/// first sign-in, like a generated one; the holder's own change clears it.
#[tokio::test]
async fn a_password_typed_by_an_administrator_must_be_changed_too() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let res = app
        .post_json(
            &admin,
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

    // Typed in the user form, in the API, and in the staff form's API.
    let res = admin
        .post(app.url("/users"))
        .form(&[
            ("username", "form.user"),
            ("display_name", "表单用户"),
            ("password", "Form-pass-2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "created");
    let res = app.post_json(&admin, "/api/v1/users", &serde_json::json!({"username": "api.user", "display_name": "接口用户", "password": "Api-pass-2026"})).await;
    assert_eq!(res.status(), 201);
    let res = app.post_json(&admin, "/api/v1/org/staff", &serde_json::json!({"username": "staff.user", "display_name": "员工", "password": "Staff-pass-2026",
            "primary_position_id": post})).await;
    assert_eq!(res.status(), 201);
    // Generated by a staff import.
    let res = admin
        .post(app.url("/api/v1/org/staff/import"))
        .body("用户名,姓名,主岗位编码\nimport.user,导入员工,customer_service\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let imported: serde_json::Value = res.json().await.unwrap();
    let imported_password = imported[0]["password"].as_str().unwrap().to_string();

    for (login, password) in [
        ("form.user", "Form-pass-2026"),
        ("api.user", "Api-pass-2026"),
        ("staff.user", "Staff-pass-2026"),
        ("import.user", imported_password.as_str()),
    ] {
        let c = app.client();
        let res = c
            .post(app.url("/login"))
            .form(&[("login", login), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers()["location"],
            "/account/password",
            "{login} must change the password set for them"
        );
        let res = c.get(app.url("/")).send().await.unwrap();
        assert_eq!(res.headers()["location"], "/account/password", "{login}");
        // Their own change clears the mark.
        let res = c
            .post(app.url("/account/password"))
            .form(&[
                ("current", password),
                ("new", "Own-choice-2026"),
                ("confirm", "Own-choice-2026"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{login}");
        let res = app
            .client()
            .post(app.url("/login"))
            .form(&[
                ("login", login),
                ("password", "Own-choice-2026"),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["location"], "/", "{login}");
    }
}
