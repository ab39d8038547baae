//! 品牌信息: the brand's settings (saved whole or not at all, audited, only
//! for `settings.write`), the brand everywhere it is shown, the bank
//! accounts on the portal's transfer and top-up pages, pending applications
//! in the menu and on the dashboard, and a forged QR on /verify.

use serde_json::{Value, json};
use weiops::audit::Actor;

use crate::common::fixtures::{agent_id, portal, shop};
use crate::common::{TestApp, body, spawn_app, spawn_app_with};

const AGENTS: &str = "id,name,phone,wechat,level,sponsor_id,status,joined_at\n\
A,张三,13800000001,zhangsan_wx,1,,active,2026-01-05T10:00:00+08:00\n\
B,李四,13800000002,lisi_wx,2,A,active,2026-02-01T09:30:00+08:00\n";

fn good_brand() -> Value {
    json!({
        "name": "雅澜生物科技",
        "short_name": "雅澜",
        "seal_text": "雅澜生物科技授权专用",
        "service_phone": "400-820-8820",
        "bank_accounts": [{
            "account_name": "杭州雅澜生物科技有限公司",
            "bank": "招商银行杭州分行",
            "account_number": "5719 0123 4567 890",
            "note": "对公账户"
        }]
    })
}

async fn get_text(c: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let res = c.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

async fn settings_updates(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'settings.update'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn import_agents(app: &TestApp) {
    let quiet = |_: &'static str, _: usize, _: usize| {};
    weiops::agents::import::import(&app.db, &Actor::system("test"), AGENTS.as_bytes(), &quiet)
        .await
        .unwrap();
}

#[tokio::test]
async fn brand_settings_are_saved_whole_audited_and_only_by_who_may() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;

    // Nothing set: empty texts, no accounts.
    let b = app.get_json(&admin, "/api/v1/settings/brand").await;
    assert_eq!(b["name"], "");
    assert_eq!(b["bank_accounts"], json!([]));
    assert_eq!(b["logo_url"], Value::Null);

    // Bad input: every bad field named, in zh-CN and en; nothing saved.
    let bad = json!({
        "name": "名".repeat(41),
        "service_phone": "call me",
        "bank_accounts": [
            {"account_name": "甲", "bank": "招商银行", "account_number": "6214-ABC"},
            {"account_name": "", "bank": "工商银行", "account_number": "6222020200112233"}
        ]
    });
    let res = app.put_json(&admin, "/api/v1/settings/brand", &bad).await;
    assert_eq!(res.status(), 422);
    let e = body(res).await;
    let fields = e["error"]["fields"].to_string();
    for f in [
        "\"name\"",
        "service_phone",
        "bank_accounts.0.account_number",
        "bank_accounts.1.account_name",
    ] {
        assert!(fields.contains(f), "{f} in {fields}");
    }
    assert!(fields.contains("账号应为 8–30 位数字"), "{fields}");
    let res = app
        .api_client()
        .put(app.url("/api/v1/settings/brand"))
        .bearer_auth(app.token_for("admin").await)
        .header("accept-language", "en")
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let fields = body(res).await["error"]["fields"].to_string();
    assert!(fields.contains("8 to 30 digits"), "{fields}");
    let too_many = json!({"bank_accounts": vec![good_brand()["bank_accounts"][0].clone(); 6]});
    let res = app
        .put_json(&admin, "/api/v1/settings/brand", &too_many)
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(settings_updates(&app).await, 0, "nothing saved on error");
    let b = app.get_json(&admin, "/api/v1/settings/brand").await;
    assert_eq!(b["name"], "");

    // The page refuses the same way and shows the message by the field.
    let res = admin
        .post(app.url("/settings/brand"))
        .form(&[
            ("name", "雅澜"),
            ("account_name", "杭州雅澜"),
            ("bank", ""),
            ("account_number", "12"),
            ("note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("账号应为 8–30 位数字") && html.contains("value=\"杭州雅澜\""));
    assert_eq!(settings_updates(&app).await, 0);

    // A good save: stored, answered, audited with before and after.
    let res = app
        .put_json(&admin, "/api/v1/settings/brand", &good_brand())
        .await;
    assert_eq!(res.status(), 200);
    let saved = body(res).await;
    assert_eq!(saved["name"], "雅澜生物科技");
    assert_eq!(
        saved["bank_accounts"][0]["account_number"],
        "5719 0123 4567 890"
    );
    let b = app.get_json(&admin, "/api/v1/settings/brand").await;
    assert_eq!(b["short_name"], "雅澜");
    assert_eq!(b["service_phone"], "400-820-8820");
    let (summary, before, after): (String, String, String) = sqlx::query_as(
        "SELECT summary, before_json, after_json FROM audit_log WHERE action = 'settings.update' AND entity_id = 'brand'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert!(
        summary.contains("name") && summary.contains("bank_accounts"),
        "{summary}"
    );
    let before: Value = serde_json::from_str(&before).unwrap();
    let after: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(before["name"], "");
    assert_eq!(after["name"], "雅澜生物科技");
    assert_eq!(after["bank_accounts"][0]["bank"], "招商银行杭州分行");

    // The page form: clearing an account row removes the account.
    let res = admin
        .post(app.url("/settings/brand"))
        .form(&[
            ("name", "雅澜生物科技"),
            ("short_name", "雅澜"),
            ("seal_text", ""),
            ("service_phone", ""),
            ("account_name", ""),
            ("bank", ""),
            ("account_number", ""),
            ("note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let b = app.get_json(&admin, "/api/v1/settings/brand").await;
    assert_eq!(b["bank_accounts"], json!([]));
    assert_eq!(settings_updates(&app).await, 2);

    // Documented.
    let doc = get_text(&app.api_client(), &app, "/api/openapi.json").await;
    assert!(doc.contains("/api/v1/settings/brand"));

    // Without `settings.write`: 403 on the API and the page, no menu item.
    let viewer = app
        .role("viewer", &["agents.read", "users.read"], "all")
        .await;
    app.user("zhang", "Zhang-pass-1", vec![viewer]).await;
    let token = app.token_for("zhang").await;
    for res in [
        app.api_client()
            .get(app.url("/api/v1/settings/brand"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        app.api_client()
            .put(app.url("/api/v1/settings/brand"))
            .bearer_auth(&token)
            .json(&good_brand())
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(res.status(), 403);
    }
    let zhang = app.login("zhang", "Zhang-pass-1").await;
    let res = zhang.get(app.url("/settings/brand")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let home = get_text(&zhang, &app, "/").await;
    assert!(!home.contains("href=\"/settings/brand\""));
    assert!(
        get_text(&admin, &app, "/")
            .await
            .contains("href=\"/settings/brand\"")
    );
    assert_eq!(settings_updates(&app).await, 2);
}

#[tokio::test]
async fn the_brand_is_shown_wherever_the_brand_appears() {
    let app = spawn_app().await;
    import_agents(&app).await;
    let admin = app.login_admin().await;
    let public = app.client();
    let a = agent_id(&app, "A").await;
    let code = weiops::agents::recruit::invite_code(&app.db, Some(a), None)
        .await
        .unwrap();

    // Until a brand is set, weiops' own name, as before.
    assert!(
        get_text(&admin, &app, "/")
            .await
            .contains("· 微运营</title>")
    );
    assert!(
        get_text(&public, &app, "/verify")
            .await
            .contains("· 微运营</title>")
    );

    let res = app
        .put_json(&admin, "/api/v1/settings/brand", &good_brand())
        .await;
    assert_eq!(res.status(), 200);

    // The admin shell: titles, the menu's header (short name).
    let home = get_text(&admin, &app, "/").await;
    assert!(home.contains("· 雅澜生物科技</title>"), "{home}");
    assert!(home.contains("<span>雅澜</span>"));
    assert!(
        get_text(&admin, &app, "/agents")
            .await
            .contains("· 雅澜生物科技</title>")
    );
    let login = get_text(&app.client(), &app, "/login").await;
    assert!(login.contains("<h1>雅澜生物科技</h1>") && login.contains("· 雅澜生物科技</title>"));

    // The certificate and its seal.
    let cert = get_text(&admin, &app, &format!("/agents/{a}/certificate")).await;
    assert!(
        cert.contains("data-testid=\"cert-issuer\">雅澜生物科技<"),
        "{cert}"
    );
    assert!(cert.contains(">雅澜生物科技授权专用</textPath>"), "{cert}");
    assert!(!cert.contains("微运营<"));

    // /verify, the invite and apply pages.
    let verify = get_text(&public, &app, "/verify?q=zhangsan_wx").await;
    assert!(
        verify.contains("· 雅澜生物科技</title>")
            && verify.contains("data-testid=\"verify-brand\">雅澜生物科技<")
    );
    let join = get_text(&public, &app, &format!("/join/{code}")).await;
    assert!(
        join.contains("· 雅澜生物科技</title>")
            && join.contains("data-testid=\"join-brand\">雅澜生物科技<")
    );
    assert!(
        get_text(&admin, &app, "/agents/invite")
            .await
            .contains("· 雅澜生物科技</title>")
    );

    // The portal: its sign-in page, titles and header.
    let m_login = get_text(&app.client(), &app, "/m/login").await;
    assert!(
        m_login.contains("· 雅澜生物科技</title>")
            && m_login.contains("data-testid=\"portal-brand\">雅澜生物科技<")
    );
    let m = portal(&app, a, "13800000001").await;
    let m_home = get_text(&m, &app, "/m").await;
    assert!(
        m_home.contains("· 雅澜生物科技</title>")
            && m_home.contains("data-testid=\"portal-brand\">雅澜<")
    );
    assert!(
        get_text(&m, &app, "/m/team")
            .await
            .contains("· 雅澜生物科技</title>")
    );
}

/// A 1×1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";

async fn upload_logo(app: &TestApp, c: &reqwest::Client, bytes: Vec<u8>) -> String {
    let form = reqwest::multipart::Form::new().part(
        "logo",
        reqwest::multipart::Part::bytes(bytes).file_name("logo.png"),
    );
    let res = c
        .post(app.url("/settings/brand/logo"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let flash = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(";");
    weiops::web::url_decode(&flash)
}

#[tokio::test]
async fn a_logo_is_checked_stored_served_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let app = spawn_app_with(move |s| s.data_dir = Some(path)).await;
    let admin = app.login_admin().await;

    // Not a picture, or too large: refused with a message, nothing stored.
    let flash = upload_logo(&app, &admin, b"GIF89a not accepted".to_vec()).await;
    assert!(flash.contains("brand.logo_kind"), "{flash}");
    let mut big = PNG.to_vec();
    big.resize(1024 * 1024 + 1, 0);
    let flash = upload_logo(&app, &admin, big).await;
    assert!(flash.contains("brand.logo_too_large"), "{flash}");
    assert_eq!(settings_updates(&app).await, 0);
    assert_eq!(
        app.client()
            .get(app.url("/brand/logo"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let flash = upload_logo(&app, &admin, PNG.to_vec()).await;
    assert!(flash.contains("brand.logo_saved"), "{flash}");
    assert_eq!(settings_updates(&app).await, 1);
    let b = app.get_json(&admin, "/api/v1/settings/brand").await;
    let url = b["logo_url"].as_str().unwrap().to_string();
    assert!(url.starts_with("/brand/logo?v=brand-logo-"), "{url}");
    // Public: the sign-in page, the portal and /verify show it.
    let res = app.client().get(app.url(&url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    for page in ["/login", "/m/login", "/verify"] {
        let html = get_text(&app.client(), &app, page).await;
        assert!(html.contains(&url.replace('&', "&#38;")), "{page}");
    }
    assert!(get_text(&admin, &app, "/").await.contains(&url));

    // Removed after a confirmation: weiops' logo again.
    let ask = admin
        .post(app.url("/settings/brand/logo/delete"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ask.contains("value=\"yes\""));
    let res = admin
        .post(app.url("/settings/brand/logo/delete"))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let b = app.get_json(&admin, "/api/v1/settings/brand").await;
    assert_eq!(b["logo_url"], Value::Null);
    assert_eq!(settings_updates(&app).await, 2);
}

#[tokio::test]
async fn the_portal_says_where_to_transfer_the_money() {
    let app = spawn_app().await;
    let shop = shop(&app, 5).await;
    let admin = app.login_admin().await;
    let m = portal(&app, shop.c, "13800000003").await;
    let qty = format!("qty_{}", shop.sku);
    let res = m
        .post(app.url("/m/shop"))
        .form(&[
            (qty.as_str(), "2"),
            ("fulfilment", "ship_to_me"),
            ("receiver_name", "王五"),
            ("receiver_phone", "13800000003"),
            ("receiver_address", "浙江省杭州市西湖区文三路 100 号"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let order_page = res.headers()["location"].to_str().unwrap().to_string();
    let order_no = order_page.rsplit('/').next().unwrap().to_string();

    // No account set: say so, and whom to ask.
    let page = get_text(&m, &app, &order_page).await;
    assert!(page.contains("data-testid=\"no-bank-account\""), "{page}");
    assert!(page.contains("品牌尚未设置收款账户"));
    let topup = get_text(&m, &app, "/m/topup").await;
    assert!(topup.contains("data-testid=\"no-bank-account\""));
    let res = app
        .put_json(
            &admin,
            "/api/v1/settings/brand",
            &json!({"service_phone": "400-820-8820"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = get_text(&m, &app, &order_page).await;
    assert!(page.contains("data-testid=\"no-bank-account\"") && page.contains("400-820-8820"));

    // With accounts: each account, the amount and the note to write.
    let res = app.put_json(&admin, "/api/v1/settings/brand", &json!({
            "service_phone": "400-820-8820",
            "bank_accounts": [
                {"account_name": "杭州雅澜生物科技有限公司", "bank": "招商银行杭州分行", "account_number": "5719 0123 4567 890", "note": "对公账户"},
                {"account_name": "李雅澜", "bank": "工商银行杭州西湖支行", "account_number": "6222020200112233"}
            ]
        })).await;
    assert_eq!(res.status(), 200);
    let page = get_text(&m, &app, &order_page).await;
    assert!(!page.contains("no-bank-account"));
    assert_eq!(page.matches("data-testid=\"bank-account\"").count(), 2);
    assert!(page.contains("5719 0123 4567 890") && page.contains("招商银行杭州分行"));
    assert!(page.contains("6222020200112233") && page.contains("对公账户"));
    let amount = page
        .split("data-testid=\"order-amount\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert!(
        page.contains(&format!("data-testid=\"transfer-amount\">{amount}<")),
        "{page}"
    );
    assert!(page.contains(&format!("data-testid=\"transfer-reference\">{order_no}<")));

    let topup = get_text(&m, &app, "/m/topup").await;
    assert_eq!(topup.matches("data-testid=\"bank-account\"").count(), 2);
    assert!(
        topup.contains("data-testid=\"transfer-reference\">充值 C<"),
        "{topup}"
    );
    assert!(topup.contains("与下方填写的充值金额一致"));
}

#[tokio::test]
async fn pending_applications_are_in_the_menu_and_on_the_dashboard() {
    let app = spawn_app().await;
    import_agents(&app).await;
    let admin = app.login_admin().await;
    let reader = app.role("reader", &["agents.read"], "all").await;
    app.user("reader", "Reader-pass-1", vec![reader]).await;
    let reader = app.login("reader", "Reader-pass-1").await;
    let nobody = app.role("nobody", &["users.read"], "all").await;
    app.user("nobody", "Nobody-pass-1", vec![nobody]).await;
    let nobody = app.login("nobody", "Nobody-pass-1").await;

    // Linked from the menu for who may use them: the list for agents.read,
    // the invite page for every staff member.
    let home = get_text(&admin, &app, "/").await;
    assert!(
        home.contains("href=\"/agents/applications\"") && home.contains("href=\"/agents/invite\"")
    );
    assert!(
        !home.contains("data-testid=\"menu-badge\""),
        "no badge for nothing waiting"
    );
    assert!(home.contains("data-testid=\"stat-applications\""));
    let h = get_text(&reader, &app, "/").await;
    assert!(h.contains("href=\"/agents/applications\""));
    let h = get_text(&nobody, &app, "/").await;
    assert!(!h.contains("href=\"/agents/applications\"") && h.contains("href=\"/agents/invite\""));

    // Two applications arrive.
    let a = agent_id(&app, "A").await;
    let code = weiops::agents::recruit::invite_code(&app.db, Some(a), None)
        .await
        .unwrap();
    for (name, phone) in [("孙七", "13911112222"), ("周八", "13911113333")] {
        let res = app
            .client()
            .post(app.url(&format!("/join/{code}")))
            .form(&[
                ("name", name),
                ("phone", phone),
                ("wechat", "wx"),
                ("province", "广东"),
                ("city", "深圳"),
                ("requested_level", "4"),
                ("consent", "yes"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    // Who may approve sees the count in the menu and on the dashboard.
    let home = get_text(&admin, &app, "/").await;
    assert!(home.contains("data-testid=\"menu-badge\">2<"), "{home}");
    let stat = home
        .split("data-testid=\"stat-applications\"")
        .nth(1)
        .unwrap();
    assert!(
        stat.contains("<span class=\"stat-value\">2</span>"),
        "{stat}"
    );
    assert!(
        get_text(&admin, &app, "/agents")
            .await
            .contains("data-testid=\"menu-badge\">2<")
    );
    // Who may only read sees the link without a count to act on.
    let h = get_text(&reader, &app, "/").await;
    assert!(!h.contains("menu-badge") && !h.contains("stat-applications"));

    // Rejecting one lowers the count.
    let id: i64 = sqlx::query_scalar(
        "SELECT id FROM agent_applications WHERE status = 'pending' ORDER BY id LIMIT 1",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/applications/{id}/reject"),
            &json!({"reason": "资料不全"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert!(
        get_text(&admin, &app, "/")
            .await
            .contains("data-testid=\"menu-badge\">1<")
    );
}

#[tokio::test]
async fn a_forged_qr_never_reads_as_a_valid_certificate() {
    let app = spawn_app().await;
    import_agents(&app).await;
    let a = agent_id(&app, "A").await;
    let cert = weiops::agents::certificates::latest(&app.db, a)
        .await
        .unwrap()
        .unwrap();
    let token = weiops::agents::certificates::token(&app.db, &cert)
        .await
        .unwrap();
    let public = app.client();

    let genuine = get_text(
        &public,
        &app,
        &format!("/verify/c/{}?t={token}", cert.cert_no),
    )
    .await;
    assert!(genuine.contains("data-testid=\"qr-genuine\""));
    assert!(genuine.contains("data-testid=\"verify-result\"") && genuine.contains("授权有效"));

    let forged = get_text(
        &public,
        &app,
        &format!("/verify/c/{}?t=AAAAAAAAAAAAAAAAAAAAAA", cert.cert_no),
    )
    .await;
    assert!(forged.contains("data-testid=\"qr-forged\"") && forged.contains("二维码无效"));
    // No verdict card under the warning: the record is framed as the
    // genuine one to compare with.
    assert!(!forged.contains("授权有效"), "{forged}");
    assert!(!forged.contains("data-testid=\"verify-result\""));
    assert!(forged.contains("data-testid=\"genuine-record\""));
    assert!(forged.contains(&format!("供核对：编号 {} 的真实登记信息如下", cert.cert_no)));
    let en = app
        .client()
        .get(app.url(&format!(
            "/verify/c/{}?t=AAAAAAAAAAAAAAAAAAAAAA",
            cert.cert_no
        )))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("the genuine record of number") && !en.contains("Authorised<"));
}
