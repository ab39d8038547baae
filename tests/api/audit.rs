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

/// Text of a page fetched in `lang` (`Accept-Language`).
async fn page_in(client: &reqwest::Client, url: String, lang: &str) -> String {
    let res = client
        .get(url)
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// An order placed by a staff member, paid by the agent in the portal
/// (actor `agent:C`) and allocated by the staff member: the audit list, an
/// entry and the dashboard name the actors and the order with links and
/// show the states in the reader's language, never the stored codes.
#[tokio::test]
async fn audit_pages_and_the_dashboard_read_in_the_users_language_with_links() {
    use weiops::audit::Actor;
    let app = spawn_app().await;
    let shop = crate::common::fixtures::shop(&app, 10).await;
    let clerk_id = app
        .user("clerk", "Clerk-pass-123", vec![app.admin_role_id])
        .await;
    let clerk = app.login("clerk", "Clerk-pass-123").await;
    let placed: serde_json::Value = app
        .post_json(
            &clerk,
            "/api/v1/orders",
            &crate::common::fixtures::order(&shop, 1),
        )
        .await
        .json()
        .await
        .unwrap();
    let no = placed["order_no"].as_str().unwrap().to_string();
    let top_up = weiops::orders::payments::submit(
        &app.db,
        &Actor::system("test"),
        &weiops::orders::payments::NewPayment {
            agent_id: shop.c,
            order_no: None,
            amount_fen: 50_000,
            reference: "招行 8899".into(),
        },
        None,
    )
    .await
    .unwrap();
    weiops::orders::payments::confirm(&app.db, &Actor::system("finance"), top_up)
        .await
        .unwrap();
    // The portal pays as `agent:<code>` (orders::portal).
    weiops::orders::purchase::pay_from_balance(
        &app.db,
        &Actor::system("agent:C"),
        &no,
        Some(shop.c),
    )
    .await
    .unwrap();
    let res = clerk
        .post(app.url(&format!("/api/v1/orders/{no}/allocate")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let order_link = format!("href=\"/orders/{no}\"");
    let agent_link = format!("href=\"/agents/{}\"", shop.c);
    let clerk_link = format!("href=\"/users/{clerk_id}\"");
    let admin = app.login_admin().await;
    let list = app.url("/audit?action=order.transition");
    let entries: serde_json::Value = admin
        .get(app.url("/api/v1/audit?action=order.transition"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entries["total"], 2);
    // The stored text is unchanged: only pages read it differently.
    assert_eq!(entries["items"][1]["actor_name"], "agent:C");
    assert_eq!(
        entries["items"][1]["summary"],
        "pending_payment → paid (pay)"
    );
    let paid_entry = format!("/audit/{}", entries["items"][1]["id"]);
    let allocated_entry = format!("/audit/{}", entries["items"][0]["id"]);

    for (lang, label, paid, allocated, agent) in [
        (
            "zh-CN",
            "订单状态变更",
            "待付款 → 已付款（用货款余额收款）",
            "已付款 → 配货中（开始配货）",
            "代理 王五",
        ),
        (
            "en",
            "Order status changed",
            "Awaiting payment → Paid (Take payment from balance)",
            "Paid → Picking (Start picking)",
            "Agent 王五",
        ),
    ] {
        let dashboard = page_in(&admin, app.url("/"), lang).await;
        let list = page_in(&admin, list.clone(), lang).await;
        let paid_page = page_in(&admin, app.url(&paid_entry), lang).await;
        let allocated_page = page_in(&admin, app.url(&allocated_entry), lang).await;
        for (name, html) in [("dashboard", &dashboard), ("list", &list)] {
            for want in [
                label,
                paid,
                allocated,
                agent,
                &order_link,
                &agent_link,
                &clerk_link,
                "clerk name",
            ] {
                assert!(html.contains(want), "{lang} {name}: no {want:?}");
            }
            assert!(
                !html.contains("agent:C"),
                "{lang} {name} shows the raw actor"
            );
            assert!(
                !html.contains("pending_payment → paid"),
                "{lang} {name} shows the stored codes"
            );
        }
        for want in [label, paid, agent, &order_link, &agent_link] {
            assert!(paid_page.contains(want), "{lang} entry: no {want:?}");
        }
        assert!(
            !paid_page.contains("agent:C"),
            "{lang} entry shows the raw actor"
        );
        for want in [label, allocated, &order_link, &clerk_link, "clerk name"] {
            assert!(allocated_page.contains(want), "{lang} entry: no {want:?}");
        }
    }

    // The order's timeline names the staff member and the agent.
    let order_page = page_in(&admin, app.url(&format!("/orders/{no}")), "zh-CN").await;
    let timeline = order_page
        .split("data-testid=\"order-timeline\"")
        .nth(1)
        .unwrap();
    let timeline = &timeline[..timeline.find("</ul>").unwrap()];
    for want in ["clerk name", "王五", &agent_link, &clerk_link] {
        assert!(
            timeline.contains(want),
            "timeline: no {want:?} in {timeline}"
        );
    }
    assert!(!timeline.contains("agent:C"), "{timeline}");
    assert!(!timeline.contains("· clerk"), "{timeline}");
}

/// Every action the code records has a label in both languages, and so do
/// the order actions and states the transition summaries name.
#[test]
fn every_recorded_action_has_a_label_in_both_languages() {
    use std::path::Path;
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(&p, files);
            } else if p.extension().is_some_and(|e| e == "rs") {
                files.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    // The literal action of each `Change::new(`: every quoted text before
    // its first top-level comma (also `if … { "a" } else { "b" }`).
    let mut actions = std::collections::BTreeSet::new();
    let mut variable = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (at, _) in text.match_indices("Change::new(") {
            let rest = &text[at + "Change::new(".len()..];
            let mut depth = 0;
            let mut end = rest.len();
            for (i, ch) in rest.char_indices() {
                match ch {
                    '(' | '{' => depth += 1,
                    ')' | '}' if depth == 0 => {
                        end = i;
                        break;
                    }
                    ')' | '}' => depth -= 1,
                    ',' if depth == 0 => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let first = &rest[..end];
            let literals: Vec<&str> = first.split('"').skip(1).step_by(2).collect();
            if literals.is_empty() {
                variable.push((f.clone(), first.trim().to_string()));
            }
            actions.extend(literals.into_iter().map(str::to_string));
        }
    }
    assert!(actions.len() > 60, "{actions:?}");
    // Actions passed as a variable: the literals of its `let` statement in
    // the same file (`let action = match kind { … => "stock.transfer", … };`).
    let mut from_variables = std::collections::BTreeSet::new();
    for (f, var) in &variable {
        let text = std::fs::read_to_string(f).unwrap();
        let head = format!("let {var} =");
        let found = text.match_indices(&head).count();
        assert!(found > 0, "{f:?}: where does `{var}` come from?");
        for (at, _) in text.match_indices(&head) {
            let stmt = &text[at..at + text[at..].find(';').unwrap()];
            from_variables.extend(
                stmt.split('"')
                    .skip(1)
                    .step_by(2)
                    .filter(|l| l.contains('.'))
                    .map(str::to_string),
            );
        }
    }
    assert!(from_variables.len() >= 10, "{from_variables:?}");
    let zh = locale("zh-CN");
    let en = locale("en");
    let has = |v: &serde_json::Value, key: &str| {
        key.split('.')
            .try_fold(v, |v, k| v.get(k))
            .is_some_and(|v| v.is_string())
    };
    let mut missing = Vec::new();
    for a in actions.iter().chain(&from_variables) {
        let key = format!("action.{a}");
        if !has(&zh, &key) || !has(&en, &key) {
            missing.push(key);
        }
    }
    for s in weiops_core::purchase::OrderState::ALL {
        let key = format!("orders.status.{}", s.as_str());
        if !has(&zh, &key) || !has(&en, &key) {
            missing.push(key);
        }
    }
    use weiops_core::purchase::OrderAction as A;
    for a in [
        A::Pay,
        A::Allocate,
        A::Ship,
        A::Receive,
        A::Complete,
        A::Cancel,
        A::Close,
        A::Refund,
    ] {
        let key = format!("orders.action.{}", a.as_str());
        if !has(&zh, &key) || !has(&en, &key) {
            missing.push(key);
        }
    }
    assert!(
        missing.is_empty(),
        "no label: {missing:?} (variables: {variable:?})"
    );
}

fn locale(code: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("locales")
        .join(format!("{code}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Who shipped a parcel and who approved and paid a settlement read as the
/// staff members' names, not their usernames.
#[tokio::test]
async fn shipments_and_settlements_name_staff_by_their_display_names() {
    let app = spawn_app().await;
    let shop = crate::common::fixtures::shop(&app, 10).await;
    app.user("keeper", "Keeper-pass-2026", vec![app.admin_role_id])
        .await;
    let keeper = app.login("keeper", "Keeper-pass-2026").await;
    let admin = app.login_admin().await;
    let top_up = weiops::orders::payments::submit(
        &app.db,
        &weiops::audit::Actor::system("test"),
        &weiops::orders::payments::NewPayment {
            agent_id: shop.c,
            order_no: None,
            amount_fen: 50_000,
            reference: "招行 8899".into(),
        },
        None,
    )
    .await
    .unwrap();
    weiops::orders::payments::confirm(&app.db, &weiops::audit::Actor::system("finance"), top_up)
        .await
        .unwrap();
    let placed: serde_json::Value = app
        .post_json(
            &admin,
            "/api/v1/orders",
            &crate::common::fixtures::order(&shop, 1),
        )
        .await
        .json()
        .await
        .unwrap();
    let no = placed["order_no"].as_str().unwrap();
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/orders/{no}/pay"),
            &serde_json::json!({"method": "balance"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json(
            &keeper,
            "/api/v1/shipments",
            &serde_json::json!({"order_no": no, "carrier": "YTO", "tracking_no": "YT900001"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let shipping = page_in(&admin, app.url("/shipping"), "zh-CN").await;
    assert!(shipping.contains(">keeper name</td>"), "{shipping}");
    assert!(!shipping.contains(">keeper</td>"));

    // A settlement of the worked example (its own network).
    let app = spawn_app().await;
    let admin = crate::settlement::setup(&app).await;
    let run: serde_json::Value = crate::settlement::create(&admin, &app, "2026-10")
        .await
        .json()
        .await
        .unwrap();
    let id = run["id"].as_i64().unwrap();
    let second = crate::settlement::approver(&app).await;
    let res = second
        .post(app.url(&format!("/api/v1/settlements/{id}/approve")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = admin
        .post(app.url(&format!("/api/v1/settlements/{id}/pay")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = page_in(
        &admin,
        app.url(&format!("/finance/settlements/{id}")),
        "zh-CN",
    )
    .await;
    assert!(page.contains(" · approver name</dd>"), "{page}");
    assert!(page.contains(" · 管理员</dd>"), "{page}");
    assert!(!page.contains(" · approver</dd>") && !page.contains(" · admin</dd>"));
}
