//! Agent purchase orders: placing with stock reserved (never oversold, also
//! under 200 concurrent orders), paying from the prepaid balance or by a
//! confirmed transfer (booked in the ledger), each state transition allowed
//! or refused, and unpaid orders releasing their stock.

use serde_json::{Value, json};
use weiops::audit::Actor;

use crate::common::fixtures::{Shop, debits_equal_credits, order, portal, shop, stock};
use crate::common::{TestApp, body, spawn_app};

#[tokio::test]
async fn two_hundred_concurrent_orders_for_the_last_ten_units() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let token = app.token_for("admin").await;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let c = client.clone();
        let url = app.url("/api/v1/orders");
        let token = token.clone();
        let body = order(&shop, 1);
        tasks.push(tokio::spawn(async move {
            let res = c
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.text().await.unwrap())
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        let (status, text) = t.await.unwrap();
        match status {
            201 => accepted += 1,
            409 => assert!(text.contains("SKU-1"), "the refusal names the SKU: {text}"),
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert_eq!(accepted, 10);
    assert_eq!(stock(&app, &shop).await, (10, 10));
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE source = 'app'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(orders, 10, "refused orders leave nothing behind");

    // One more is refused naming the SKU and what is available.
    let res = client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&token)
        .header("Accept-Language", "en")
        .json(&order(&shop, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let err = body(res).await;
    let msg = err["error"]["message"].as_str().unwrap();
    assert!(msg.contains("SKU-1") && msg.contains('0'), "{msg}");
}

/// Different writers at once (orders placed, transfers confirmed, orders
/// paid from the balance): every one succeeds, none meets a locked
/// database, and the books balance.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn different_writers_at_once_all_succeed() {
    let app = spawn_app().await;
    let shop = shop(&app, 1_000).await;
    let db = std::sync::Arc::new(app.db.clone());
    let admin = app.login_admin().await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let db = db.clone();
        let admin = admin.clone();
        let url = app.url("");
        let order = order(&shop, 1);
        let agent = shop.c;
        tasks.push(tokio::spawn(async move {
            // A top-up by transfer, confirmed by finance.
            let id = weiops::orders::payments::submit(
                &db,
                &Actor::system("test"),
                &weiops::orders::payments::NewPayment {
                    agent_id: agent,
                    order_no: None,
                    amount_fen: 7_000,
                    reference: format!("招行 {i}"),
                },
                None,
            )
            .await?;
            weiops::orders::payments::confirm(&db, &Actor::system("finance"), id).await?;
            // An order placed and paid from the balance.
            let res = admin
                .post(format!("{url}/api/v1/orders"))
                .json(&order)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            let placed: Value = res.json().await.unwrap();
            let no = placed["order_no"].as_str().unwrap().to_string();
            let res = admin
                .post(format!("{url}/api/v1/orders/{no}/pay"))
                .json(&json!({"method": "balance"}))
                .send()
                .await
                .unwrap();
            // Paid, or refused because other tasks' orders took the
            // balance first: never an error.
            assert!(
                [200, 409].contains(&res.status().as_u16()),
                "{}",
                res.text().await.unwrap()
            );
            Ok::<(), weiops::Error>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let confirmed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE status = 'confirmed'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(confirmed, 30);
    // 30 top-ups of one unit's price, 30 orders of one unit: all paid.
    let paid: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE status = 'paid'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(paid, 30);
    debits_equal_credits(&app).await;
}

#[tokio::test]
async fn an_order_is_placed_paid_booked_and_moved_through_its_states() {
    let app = spawn_app().await;
    let shop = shop(&app, 50).await;
    let admin = app.login_admin().await;
    let placed = body(
        app.post_json(&admin, "/api/v1/orders", &order(&shop, 3))
            .await,
    )
    .await;
    let no = placed["order_no"].as_str().unwrap().to_string();
    // C is level 4 (70 %): 3 × ¥70.
    assert_eq!(placed["amount_fen"], 21_000);
    assert_eq!(placed["status"], "pending_payment");
    assert_eq!(stock(&app, &shop).await, (50, 3));

    // Not yet paid: shipping is refused.
    let res = admin
        .post(app.url(&format!("/api/v1/orders/{no}/ship")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    // The balance is empty: paying from it is refused, nothing changes.
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/orders/{no}/pay"),
            &json!({"method": "balance"}),
        )
        .await;
    assert_eq!(res.status(), 409);

    // A top-up by transfer, confirmed by finance, then pay from the balance.
    let id = weiops::orders::payments::submit(
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
    weiops::orders::payments::confirm(&app.db, &Actor::system("finance"), id)
        .await
        .unwrap();
    assert_eq!(
        weiops::ledger::prepaid_balance(&app.db.pool, shop.c)
            .await
            .unwrap()
            .0,
        50_000
    );
    let paid = body(
        app.post_json(
            &admin,
            &format!("/api/v1/orders/{no}/pay"),
            &json!({"method": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["counted"], true);
    assert_eq!(
        weiops::ledger::prepaid_balance(&app.db.pool, shop.c)
            .await
            .unwrap()
            .0,
        29_000
    );
    debits_equal_credits(&app).await;
    // Paid orders feed the team purchases of the buyer's uplines.
    let team: i64 = sqlx::query_scalar(
        "SELECT s.team_fen FROM agent_team_sales s JOIN agents a ON a.id = s.agent_id WHERE a.code = 'A'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(team, 21_000);

    // Cancel after payment is refused; the moves go on in order.
    let res = admin
        .post(app.url(&format!("/api/v1/orders/{no}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    for (action, status) in [
        ("allocate", "picking"),
        ("ship", "shipped"),
        ("receive", "received"),
        ("complete", "completed"),
    ] {
        let o = body(
            admin
                .post(app.url(&format!("/api/v1/orders/{no}/{action}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(o["status"], status, "{action}");
    }
    // Shipping took the goods out of the warehouse.
    assert_eq!(stock(&app, &shop).await, (47, 0));
    let res = admin
        .post(app.url(&format!("/api/v1/orders/{no}/ship")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);

    let detail = app.get_json(&admin, &format!("/api/v1/orders/{no}")).await;
    let steps: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "pending_payment",
            "paid",
            "picking",
            "shipped",
            "received",
            "completed"
        ]
    );
    assert_eq!(detail["lines"][0]["unit_price_fen"], 7_000);
    let actions = app.audit_actions().await;
    assert!(
        actions.iter().any(|a| a == "order.place")
            && actions.iter().any(|a| a == "order.transition")
    );
}

#[tokio::test]
async fn unpaid_orders_release_their_stock_when_cancelled_or_when_their_time_is_up() {
    let app = spawn_app().await;
    let shop = shop(&app, 5).await;
    let admin = app.login_admin().await;
    let first = body(
        app.post_json(&admin, "/api/v1/orders", &order(&shop, 2))
            .await,
    )
    .await;
    let second = body(
        app.post_json(&admin, "/api/v1/orders", &order(&shop, 3))
            .await,
    )
    .await;
    assert_eq!(stock(&app, &shop).await, (5, 5));

    let no = first["order_no"].as_str().unwrap();
    let cancelled = body(
        app.post_json(
            &admin,
            &format!("/api/v1/orders/{no}/cancel"),
            &json!({"note": "买错了"}),
        )
        .await,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(stock(&app, &shop).await, (5, 3));

    // Not yet expired: nothing closes.
    let now = weiops::db::now_ms();
    assert_eq!(
        weiops::orders::purchase::close_expired(&app.db, now)
            .await
            .unwrap(),
        0
    );
    // 31 minutes later the unpaid order is closed and its stock is back.
    assert_eq!(
        weiops::orders::purchase::close_expired(&app.db, now + 31 * 60_000)
            .await
            .unwrap(),
        1
    );
    assert_eq!(stock(&app, &shop).await, (5, 0));
    let no = second["order_no"].as_str().unwrap();
    let o = app.get_json(&admin, &format!("/api/v1/orders/{no}")).await;
    assert_eq!(o["order"]["status"], "closed");
    // A closed order cannot be paid.
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/orders/{no}/pay"),
            &json!({"method": "balance"}),
        )
        .await;
    assert_eq!(res.status(), 409);
}

#[tokio::test]
async fn how_long_unpaid_orders_hold_stock_is_a_setting() {
    let app = spawn_app().await;
    let shop = shop(&app, 5).await;
    let admin = app.login_admin().await;
    let settings = || async {
        app.get_json(&admin, "/api/v1/orders/settings").await["reservation_minutes"].clone()
    };
    assert_eq!(settings().await, 30);

    // Out of range, not a number, or not JSON: refused, nothing changes.
    for bad in [
        json!({"reservation_minutes": 0}),
        json!({"reservation_minutes": 10_081}),
    ] {
        let res = admin
            .put(app.url("/api/v1/orders/settings"))
            .header("Accept-Language", "zh-CN")
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{bad}");
        assert!(res.text().await.unwrap().contains("10080"), "{bad}");
    }
    let res = app
        .put_json(
            &admin,
            "/api/v1/orders/settings",
            &json!({"reservation_minutes": "soon"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    // Without orders.write: 403.
    let role = app.role("viewer", &["orders.read"], "all").await;
    app.user("viewer", "Viewer-pass-1", vec![role]).await;
    let viewer = app.login("viewer", "Viewer-pass-1").await;
    let res = app
        .put_json(
            &viewer,
            "/api/v1/orders/settings",
            &json!({"reservation_minutes": 60}),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(
        !viewer
            .get(app.url("/orders"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("save-order-settings")
    );
    assert_eq!(settings().await, 30);
    assert!(
        !app.audit_actions()
            .await
            .contains(&"settings.update".to_string())
    );

    // 90 minutes: orders placed from now on hold their stock that long.
    let saved = body(
        app.put_json(
            &admin,
            "/api/v1/orders/settings",
            &json!({"reservation_minutes": 90}),
        )
        .await,
    )
    .await;
    assert_eq!(saved["reservation_minutes"], 90);
    assert!(
        app.audit_actions()
            .await
            .contains(&"settings.update".to_string())
    );
    let before = weiops::db::now_ms();
    let placed = body(
        app.post_json(&admin, "/api/v1/orders", &order(&shop, 2))
            .await,
    )
    .await;
    let until = placed["reserved_until"].as_i64().unwrap();
    assert!((before + 90 * 60_000..=weiops::db::now_ms() + 90 * 60_000).contains(&until));
    let close = |at: i64| weiops::orders::purchase::close_expired(&app.db, at);
    assert_eq!(close(before + 31 * 60_000).await.unwrap(), 0);
    assert_eq!(stock(&app, &shop).await, (5, 2));
    assert_eq!(close(until + 1).await.unwrap(), 1);
    assert_eq!(stock(&app, &shop).await, (5, 0));

    // The form above the order list: a bad value is refused with a
    // message, a good one saved and shown.
    let page = admin
        .get(app.url("/orders"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("save-order-settings") && page.contains(r#"value="90""#));
    for (value, saved) in [("abc", 90), ("0", 90), ("45", 45)] {
        let res = admin
            .post(app.url("/orders/settings"))
            .form(&[("reservation_minutes", value)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{value}");
        assert_eq!(settings().await, saved, "{value}");
    }
    let page = admin
        .get(app.url("/orders"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"value="45""#));
}

#[tokio::test]
async fn bad_orders_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let shop = shop(&app, 5).await;
    let admin = app.login_admin().await;
    for (patch, status) in [
        (json!({"lines": []}), 422),
        (json!({"lines": [{"sku_id": 999_999, "qty": 1}]}), 409),
        (json!({"lines": [{"sku_id": shop.sku, "qty": 0}]}), 422),
        (json!({"receiver_phone": "12345"}), 422),
        (json!({"receiver_address": ""}), 422),
        (json!({"fulfilment": "teleport"}), 422),
    ] {
        let mut o = order(&shop, 1);
        for (k, v) in patch.as_object().unwrap() {
            o[k] = v.clone();
        }
        let res = app.post_json(&admin, "/api/v1/orders", &o).await;
        assert_eq!(res.status().as_u16(), status, "{patch}");
    }
    // Without orders.write: 403.
    let role = app.role("viewer", &["orders.read"], "all").await;
    app.user("viewer", "Viewer-pass-1", vec![role]).await;
    let viewer = app.login("viewer", "Viewer-pass-1").await;
    let res = app
        .post_json(&viewer, "/api/v1/orders", &order(&shop, 1))
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(stock(&app, &shop).await, (5, 0));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// A 1×1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";

#[tokio::test]
async fn an_agent_orders_in_the_portal_pays_by_transfer_and_finance_confirms() {
    let app = spawn_app().await;
    let shop = shop(&app, 4).await;
    let agent = portal(&app, shop.c, "13800000003").await;

    // The catalogue shows the agent's level price (level 4: ¥70.00).
    let page = agent
        .get(app.url("/m/shop"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("玻尿酸面膜") && page.contains("¥70.00") && page.contains("¥100.00"),
        "{page}"
    );

    // More than is in stock: refused on the page, naming the SKU.
    let qty = format!("qty_{}", shop.sku);
    let form = |q: &str| {
        vec![
            (qty.clone(), q.to_string()),
            ("fulfilment".to_string(), "ship_to_customer".to_string()),
            ("receiver_name".to_string(), "顾客乙".to_string()),
            ("receiver_phone".to_string(), "13912345678".to_string()),
            (
                "receiver_address".to_string(),
                "广东省深圳市南山区科技园 8 栋".to_string(),
            ),
        ]
    };
    let res = agent
        .post(app.url("/m/shop"))
        .form(&form("5"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let text = res.text().await.unwrap();
    assert!(text.contains("SKU-1") && text.contains("可用 4"), "{text}");

    let res = agent
        .post(app.url("/m/shop"))
        .form(&form("2"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let order_url = res.headers()["location"].to_str().unwrap().to_string();
    let no = order_url.trim_start_matches("/m/orders/").to_string();
    let page = agent
        .get(app.url(&order_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("¥140.00") && page.contains("待付款"),
        "{page}"
    );

    // Paying from an empty balance is refused with the reason.
    let res = agent
        .post(app.url(&format!("/m/orders/{no}/pay")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("货款余额不足"));

    // Pay by transfer with a proof image; a non-image is refused.
    let bad = reqwest::multipart::Form::new()
        .text("reference", "转账 123")
        .part(
            "proof",
            reqwest::multipart::Part::bytes(b"not an image".to_vec()).file_name("x.txt"),
        );
    let res = agent
        .post(app.url(&format!("/m/orders/{no}/transfer")))
        .multipart(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let good = reqwest::multipart::Form::new()
        .text("reference", "工行 0042")
        .part(
            "proof",
            reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("proof.png"),
        );
    let res = agent
        .post(app.url(&format!("/m/orders/{no}/transfer")))
        .multipart(good)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    // Finance sees it, looks at the proof, confirms: the order is paid.
    let admin = app.login_admin().await;
    let list = app
        .get_json(&admin, "/api/v1/payments?status=pending")
        .await;
    assert_eq!(list["total"], 1);
    let id = list["items"][0]["id"].as_i64().unwrap();
    assert_eq!(list["items"][0]["amount_fen"], 14_000);
    let proof = admin
        .get(app.url(&format!("/finance/payments/{id}/proof")))
        .send()
        .await
        .unwrap();
    assert_eq!(proof.headers()["content-type"], "image/png");
    let page = admin
        .get(app.url("/finance/payments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("工行 0042"), "{page}");
    let res = admin
        .post(app.url(&format!("/finance/payments/{id}/confirm")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let o = app.get_json(&admin, &format!("/api/v1/orders/{no}")).await;
    assert_eq!(o["order"]["status"], "paid");
    // Confirming twice is refused.
    let res = admin
        .post(app.url(&format!("/api/v1/payments/{id}/confirm")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    debits_equal_credits(&app).await;

    // Staff move it on from the order page (each after a confirmation).
    for action in ["allocate", "ship"] {
        let confirm = admin
            .post(app.url(&format!("/orders/{no}/act/{action}")))
            .form(&[("note", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(confirm.status(), 200);
        let res = admin
            .post(app.url(&format!("/orders/{no}/act/{action}")))
            .form(&[("confirm", "yes"), ("note", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
    }
    // The agent sees it shipped and confirms receipt.
    let page = agent
        .get(app.url(&order_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("已发货") && page.contains("receive-order"),
        "{page}"
    );
    let res = agent
        .post(app.url(&format!("/m/orders/{no}/receive")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let list = agent
        .get(app.url("/m/orders"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(&no) && list.contains("已签收"), "{list}");
    assert_eq!(stock(&app, &shop).await, (2, 0));

    // Another agent cannot see this order.
    let b: i64 = sqlx::query_scalar("SELECT id FROM agents WHERE code = 'B'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let other = portal(&app, b, "13800000002").await;
    assert_eq!(
        other
            .get(app.url(&order_url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn a_top_up_credits_the_prepaid_balance_once_confirmed() {
    let app = spawn_app().await;
    let shop = shop(&app, 4).await;
    let agent = portal(&app, shop.c, "13800000003").await;
    let form = reqwest::multipart::Form::new()
        .text("amount", "500.00")
        .text("reference", "支付宝 77");
    let res = agent
        .post(app.url("/m/topup"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let bad = reqwest::multipart::Form::new()
        .text("amount", "-3")
        .text("reference", "");
    let res = agent
        .post(app.url("/m/topup"))
        .multipart(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let admin = app.login_admin().await;
    let list = app.get_json(&admin, "/api/v1/payments").await;
    assert_eq!(list["total"], 1);
    let id = list["items"][0]["id"].as_i64().unwrap();
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/payments/{id}/reject"),
            &json!({"reason": ""}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let p = body(
        admin
            .post(app.url(&format!("/api/v1/payments/{id}/confirm")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(p["status"], "confirmed");
    let page = agent
        .get(app.url("/m/topup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("¥500.00"), "{page}");
    debits_equal_credits(&app).await;
}

#[tokio::test]
async fn customer_service_finds_an_order_and_says_when_it_ships() {
    let app = spawn_app().await;
    let shop = shop(&app, 5).await;
    let admin = app.login_admin().await;
    let placed = body(
        app.post_json(&admin, "/api/v1/orders", &order(&shop, 1))
            .await,
    )
    .await;
    let no = placed["order_no"].as_str().unwrap().to_string();
    for q in [&no[..10], "13800000003", "13912345678", "C", "王五"] {
        let found = body(
            admin
                .get(app.url("/api/v1/orders/lookup"))
                .query(&[("q", q)])
                .send()
                .await
                .unwrap(),
        )
        .await;
        let first = &found.as_array().unwrap_or_else(|| panic!("{q}: {found}"))[0];
        assert_eq!(first["order"]["order_no"], no.as_str(), "{q}");
        assert_eq!(first["answer"], "service.answer_unpaid");
    }
    let page = admin
        .get(app.url("/service/lookup"))
        .query(&[("q", no.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("订单尚未付款") && page.contains(&no),
        "{page}"
    );
    let res = admin
        .get(app.url("/api/v1/orders/lookup?q=%20"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let role = app.role("viewer", &["orders.read"], "all").await;
    app.user("viewer", "Viewer-pass-1", vec![role]).await;
    let viewer = app.login("viewer", "Viewer-pass-1").await;
    assert_eq!(
        viewer
            .get(app.url("/api/v1/orders/lookup?q=PO"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

/// Places `order` (an order of agent C) and pays it from the prepaid
/// balance, topped up first by a confirmed transfer of the order's amount;
/// the paid order as the pay call answers it.
pub(crate) async fn place_and_pay(
    app: &TestApp,
    admin: &reqwest::Client,
    shop: &Shop,
    order: &Value,
) -> Value {
    place_and_pay_for(app, admin, shop.c, order).await
}

/// [`place_and_pay`] for any agent: places `order` (its `agent_id` is
/// `agent`), tops the agent's balance up by a confirmed transfer of the
/// order's amount and pays from the balance; the paid order's JSON.
pub(crate) async fn place_and_pay_for(
    app: &TestApp,
    admin: &reqwest::Client,
    agent: i64,
    order: &Value,
) -> Value {
    let placed = body(app.post_json(admin, "/api/v1/orders", order).await).await;
    let id = weiops::orders::payments::submit(
        &app.db,
        &Actor::system("test"),
        &weiops::orders::payments::NewPayment {
            agent_id: agent,
            order_no: None,
            amount_fen: placed["amount_fen"].as_i64().unwrap(),
            reference: "招行 8899".into(),
        },
        None,
    )
    .await
    .unwrap();
    weiops::orders::payments::confirm(&app.db, &Actor::system("finance"), id)
        .await
        .unwrap();
    let no = placed["order_no"].as_str().unwrap();
    let res = app
        .post_json(
            admin,
            &format!("/api/v1/orders/{no}/pay"),
            &json!({"method": "balance"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    body(res).await
}

/// Places and pays an order of `qty` for agent C from a topped-up balance.
async fn paid_order(app: &TestApp, admin: &reqwest::Client, shop: &Shop, qty: i64) -> String {
    place_and_pay(app, admin, shop, &order(shop, qty)).await["order_no"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn after_sales_refunds_take_goods_back_return_the_money_and_reverse_rewards() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let no = paid_order(&app, &admin, &shop, 2).await;
    for action in ["allocate", "ship"] {
        admin
            .post(app.url(&format!("/api/v1/orders/{no}/{action}")))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(stock(&app, &shop).await, (8, 0));
    let team = |app: &TestApp| {
        let pool = app.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT s.team_fen FROM agent_team_sales s JOIN agents a ON a.id = s.agent_id WHERE a.code = 'A'",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(team(&app).await, 14_000);

    // A case needs a valid kind and a reason; then one open case per order.
    let res = app
        .post_json(
            &admin,
            "/api/v1/after-sales",
            &json!({"order_no": no, "kind": "swap", "reason": ""}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let case = body(
        app.post_json(
            &admin,
            "/api/v1/after-sales",
            &json!({"order_no": no, "kind": "return_refund", "reason": "包装破损"}),
        )
        .await,
    )
    .await["case_no"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .post_json(
            &admin,
            "/api/v1/after-sales",
            &json!({"order_no": no, "kind": "refund_only", "reason": "again"}),
        )
        .await;
    assert_eq!(res.status(), 409);

    // Returned goods need a decision: back to stock or written off.
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/after-sales/{case}/refund"),
            &json!({"refund_to": "balance"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/after-sales/{case}/refund"),
            &json!({"refund_to": "balance", "goods": "restock"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let o = app.get_json(&admin, &format!("/api/v1/orders/{no}")).await;
    assert_eq!(o["order"]["status"], "refunded");
    assert_eq!(o["order"]["counted"], false);
    assert_eq!(stock(&app, &shop).await, (10, 0), "the goods are back");
    assert_eq!(
        weiops::ledger::prepaid_balance(&app.db.pool, shop.c)
            .await
            .unwrap()
            .0,
        14_000,
        "the money is back on the balance"
    );
    assert_eq!(team(&app).await, 0, "team purchases no longer include it");
    debits_equal_credits(&app).await;
    // Decided once.
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/after-sales/{case}/reject"),
            &json!({"reason": "late"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    let cases = app
        .get_json(&admin, "/api/v1/after-sales?status=refunded")
        .await;
    assert_eq!(cases["total"], 1);
}

#[tokio::test]
async fn refunding_an_order_of_a_settled_month_claws_its_rewards_back() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let no = paid_order(&app, &admin, &shop, 1).await;
    // Settle the order's month, once it has ended (a running month cannot
    // be approved): computed by the system, approved by admin.
    crate::money::backdate(&app, &no).await;
    let period = crate::money::last_month();
    let run = weiops::rewards::settlement::compute(&app.db, &Actor::system("test"), period)
        .await
        .unwrap()
        .run;
    // C (level 4) bought ¥100 retail: B earns 7,000 − 5,000 + 210, A 1,000 + 140.
    assert_eq!(run.total_fen, 2_210 + 1_140);
    let res = admin
        .post(app.url(&format!("/api/v1/settlements/{}/approve", run.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let case = body(
        app.post_json(
            &admin,
            "/api/v1/after-sales",
            &json!({"order_no": no, "kind": "refund_only", "reason": "顾客退货"}),
        )
        .await,
    )
    .await["case_no"]
        .as_str()
        .unwrap()
        .to_string();
    // Not shipped yet: the reservation is released, money goes back offline.
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/after-sales/{case}/refund"),
            &json!({"refund_to": "offline"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(stock(&app, &shop).await, (10, 0));
    let clawed: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM reward_adjustments",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(clawed, -(2_210 + 1_140));
    debits_equal_credits(&app).await;
    // The import-only refund path refuses orders placed in weiops.
    let res = admin
        .post(app.url(&format!("/api/v1/orders/{no}/refund")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
}

#[tokio::test]
async fn an_agent_asks_for_a_refund_in_the_portal_and_finance_refunds_from_the_list() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let no = paid_order(&app, &admin, &shop, 1).await;
    let agent = portal(&app, shop.c, "13800000003").await;
    let res = agent
        .post(app.url(&format!("/m/orders/{no}/aftersales")))
        .form(&[("kind", "refund_only"), ("reason", "不想要了")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = admin
        .get(app.url("/aftersales"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&no) && page.contains("不想要了") && page.contains("待处理"),
        "{page}"
    );
    let case: String = sqlx::query_scalar("SELECT case_no FROM after_sales")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let confirm = admin
        .post(app.url(&format!("/aftersales/{case}/refund")))
        .form(&[("refund_to", "balance")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("data-testid=\"confirm\""), "{confirm}");
    let res = admin
        .post(app.url(&format!("/aftersales/{case}/refund")))
        .form(&[("refund_to", "balance"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = agent
        .get(app.url(&format!("/m/orders/{no}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("已退款"), "{page}");
    assert_eq!(stock(&app, &shop).await, (10, 0));
}

#[tokio::test]
async fn the_order_list_stops_counting_ten_thousand_orders_past_the_page() {
    let app = spawn_app().await;
    shop(&app, 10).await;
    let admin = app.login_admin().await;
    // 10,005 orders of C in October, the last five refunded.
    let mut csv = String::from("id,agent_id,buyer_level,retail_fen,paid_at,status\n");
    for i in 0..10_005 {
        let status = if i >= 10_000 { "refunded" } else { "paid" };
        csv.push_str(&format!(
            "L{i},C,4,1000,2026-10-{:02}T10:00:00+08:00,{status}\n",
            1 + i % 28
        ));
    }
    let res = admin
        .post(app.url("/api/v1/orders/import"))
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let all = app.get_json(&admin, "/api/v1/orders").await;
    assert_eq!(all["total"], 10_000, "{}", all["total"]);
    assert_eq!(all["total_capped"], true);
    assert_eq!(all["items"][0]["order_no"], "L10004", "newest first");
    // Deeper pages count on 10,000 past their start: from page 3 that
    // reaches the end, and the count is exact.
    let third = app.get_json(&admin, "/api/v1/orders?page=3").await;
    assert_eq!(third["total"], 10_005);
    assert_eq!(third["total_capped"], false);
    assert_eq!(third["items"][0]["order_no"], "L9964");
    // The page's rows are found before they are joined: all 20, in order.
    let numbers: Vec<&str> = third["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_no"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (9945..=9964).rev().map(|i| format!("L{i}")).collect();
    assert_eq!(numbers, expected);
    // Fewer matches are counted exactly.
    let refunded = app.get_json(&admin, "/api/v1/orders?status=refunded").await;
    assert_eq!(refunded["total"], 5);
    assert_eq!(refunded["total_capped"], false);
    let found = app.get_json(&admin, "/api/v1/orders?q=L1000").await;
    assert_eq!(found["total"], 6, "L1000 and L10000 … L10004: {found}");

    let page = admin
        .get(app.url("/orders"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("共 10,000+ 条"), "{page}");
    let page = admin
        .get(app.url("/orders?status=refunded"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("共 5 条"), "{page}");
}

/// The transaction orders are written in (`db::ScriptTx`): a script that
/// fails halfway writes nothing, and the write gate and the connection are
/// free again for the next writer.
#[tokio::test]
async fn a_failed_script_transaction_writes_nothing() {
    let app = spawn_app().await;
    let db = &app.db;
    let setting = |name: &str, value: &str| {
        let mut s = weiops::db::Script::new(db.engine);
        s.push(
            "INSERT INTO app_settings (name, value) VALUES ($1, $2)".into(),
            vec![name.into(), value.into()],
        );
        s
    };
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM app_settings WHERE name LIKE 'test.%'")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    for _ in 0..3 {
        let mut tx = db.begin_scripts().await.unwrap();
        tx.run(setting("test.a", "1")).await.unwrap();
        // The second insert of test.a fails: everything is rolled back.
        assert!(tx.commit_with(setting("test.a", "2")).await.is_err());
        assert_eq!(count().await, 0);
        let mut tx = db.begin_scripts().await.unwrap();
        tx.run(setting("test.b", "1")).await.unwrap();
        tx.rollback().await;
        assert_eq!(count().await, 0);
        // Dropped without an end: nothing kept either.
        let mut tx = db.begin_scripts().await.unwrap();
        tx.run(setting("test.c", "1")).await.unwrap();
        drop(tx);
        assert_eq!(count().await, 0);
    }
    let tx = db.begin_scripts().await.unwrap();
    tx.commit_with(setting("test.d", "1")).await.unwrap();
    assert_eq!(count().await, 1);
}

async fn text(client: &reqwest::Client, url: String) -> String {
    let res = client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test]
async fn order_pages_show_where_the_order_goes_with_the_phone_masked_without_pii() {
    // Arrange: an order shipped to a customer and one kept in cloud stock;
    // a reader without agents.pii.
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let shipped = paid_order(&app, &admin, &shop, 1).await;
    let cloud = place_and_pay(
        &app,
        &admin,
        &shop,
        &json!({"agent_id": shop.c, "lines": [{"sku_id": shop.sku, "qty": 1}], "fulfilment": "cloud"}),
    )
    .await["order_no"]
        .as_str()
        .unwrap()
        .to_string();
    let role = app.role("order_reader", &["orders.read"], "all").await;
    app.user("reader", "Reader-pass-2026", vec![role]).await;
    let reader = app.login("reader", "Reader-pass-2026").await;
    let agent = portal(&app, shop.c, "13800000003").await;
    let address = "浙江省杭州市西湖区文三路 100 号";

    // Act
    let as_admin = text(&admin, app.url(&format!("/orders/{shipped}"))).await;
    let as_reader = text(&reader, app.url(&format!("/orders/{shipped}"))).await;
    let api_reader = app
        .get_json(&reader, &format!("/api/v1/orders/{shipped}"))
        .await;
    let in_portal = text(&agent, app.url(&format!("/m/orders/{shipped}"))).await;
    let packing = text(&admin, app.url(&format!("/shipping/packing?no={shipped}"))).await;
    let cloud_staff = text(&admin, app.url(&format!("/orders/{cloud}"))).await;
    let cloud_portal = text(&agent, app.url(&format!("/m/orders/{cloud}"))).await;

    // Assert
    assert!(
        as_admin.contains("顾客甲")
            && as_admin.contains("13912345678")
            && as_admin.contains(address),
        "{as_admin}"
    );
    assert!(
        as_reader.contains("顾客甲")
            && as_reader.contains("139****5678")
            && !as_reader.contains("13912345678")
            && as_reader.contains(address),
        "{as_reader}"
    );
    assert_eq!(api_reader["delivery"]["receiver_phone"], "139****5678");
    assert_eq!(api_reader["delivery"]["receiver_address"], address);
    assert!(
        in_portal.contains("data-testid=\"order-receiver\">顾客甲")
            && in_portal.contains("13912345678")
            && in_portal.contains(address),
        "{in_portal}"
    );
    assert!(
        packing.contains("packing-receiver")
            && packing.contains("收货人")
            && packing.contains("13912345678")
            && packing.contains(address),
        "{packing}"
    );
    assert!(
        cloud_staff.contains("order-no-address") && cloud_staff.contains("存入云库存，不发货"),
        "{cloud_staff}"
    );
    assert!(
        cloud_portal.contains("order-no-address") && cloud_portal.contains("href=\"/m/cloud\""),
        "{cloud_portal}"
    );
}

#[tokio::test]
async fn the_packing_list_masks_the_phone_for_a_keeper_without_pii() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let no = paid_order(&app, &admin, &shop, 1).await;
    let role = app
        .role("keeper", &["orders.read", "stock.*", "shipping.*"], "all")
        .await;
    app.user("keeper", "Keeper-pass-2026", vec![role]).await;
    let keeper = app.login("keeper", "Keeper-pass-2026").await;

    let packing = text(&keeper, app.url(&format!("/shipping/packing?no={no}"))).await;

    assert!(
        packing.contains("139****5678")
            && !packing.contains("13912345678")
            && packing.contains("浙江省杭州市西湖区文三路 100 号"),
        "{packing}"
    );
}

#[tokio::test]
async fn the_payment_page_offers_what_can_succeed_first() {
    // Arrange: an order of ¥210.00 and an empty balance.
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let placed = body(
        app.post_json(&admin, "/api/v1/orders", &order(&shop, 3))
            .await,
    )
    .await;
    let no = placed["order_no"].as_str().unwrap().to_string();
    let agent = portal(&app, shop.c, "13800000003").await;

    // Act
    let short = text(&agent, app.url(&format!("/m/orders/{no}"))).await;

    // Assert: the transfer comes first; the balance is offered disabled,
    // with what is missing and where to top up.
    let transfer = short
        .find("data-testid=\"pay-transfer\"")
        .expect("transfer");
    let balance = short.find("data-testid=\"pay-balance\"").expect("balance");
    assert!(transfer < balance, "{short}");
    assert!(
        short.contains("data-testid=\"pay-transfer\" open")
            && short.contains("btn btn-primary btn-block\" data-testid=\"submit-transfer\"")
            && short.contains(
                "disabled aria-describedby=\"balance-short\" data-testid=\"pay-balance\""
            ),
        "{short}"
    );
    assert!(
        short.contains("货款余额 ¥0.00，还差 ¥210.00") && short.contains("href=\"/m/topup\""),
        "{short}"
    );
    assert!(
        !short.contains(&format!("action=\"/m/orders/{no}/pay\"")),
        "{short}"
    );

    // A confirmed top-up of ¥500.00: now the balance pays, first.
    let id = weiops::orders::payments::submit(
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
    weiops::orders::payments::confirm(&app.db, &Actor::system("finance"), id)
        .await
        .unwrap();
    let covered = text(&agent, app.url(&format!("/m/orders/{no}"))).await;
    let balance = covered
        .find(&format!("action=\"/m/orders/{no}/pay\""))
        .expect("balance form");
    let transfer = covered
        .find("data-testid=\"pay-transfer\"")
        .expect("transfer");
    assert!(balance < transfer, "{covered}");
    assert!(
        covered.contains(
            "btn btn-primary btn-block\" data-testid=\"pay-balance\">用货款余额支付（¥500.00）"
        ) && !covered.contains("balance-short")
            && !covered.contains("pay-transfer\" open"),
        "{covered}"
    );
    let res = agent
        .post(app.url(&format!("/m/orders/{no}/pay")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

/// The portal's shop shows each product's uploaded picture (served to the
/// signed-in agent) and the cart's total at the agent's level price.
#[tokio::test]
async fn the_portal_shop_shows_pictures_and_a_running_total() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let app = crate::common::spawn_app_with(move |s| s.data_dir = Some(dir)).await;
    let shop = shop(&app, 10).await;
    let product: i64 = sqlx::query_scalar("SELECT product_id FROM skus WHERE id = $1")
        .bind(shop.sku)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let admin = app.login_admin().await;
    let res = crate::products::upload(
        &app,
        &admin,
        product,
        crate::products::PNG.to_vec(),
        "m.png",
    )
    .await;
    assert_eq!(res.status(), 303);
    let agent = portal(&app, shop.c, "13800000003").await;

    let page = agent
        .get(app.url("/m/shop"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let picture = format!("src=\"/m/products/{product}/image\"");
    assert!(page.contains(&picture), "{page}");
    // Each line carries its level price (level 4: ¥70.00) for the script
    // that keeps the total; nothing is chosen yet.
    assert!(page.contains("data-price-fen=\"7000\""), "{page}");
    assert!(page.contains("data-testid=\"shop-total\">¥0.00<"), "{page}");
    assert!(
        page.contains("/assets/app.js"),
        "the script that updates it"
    );

    let res = agent
        .get(app.url(&format!("/m/products/{product}/image")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), crate::products::PNG);
    let res = app
        .client()
        .get(app.url(&format!("/m/products/{product}/image")))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200, "not for someone signed out");

    // A refused order comes back with its quantities and their total,
    // computed by the server in fen: 3 × ¥70.00.
    let res = agent
        .post(app.url("/m/shop"))
        .form(&[
            (format!("qty_{}", shop.sku), "3".to_string()),
            ("fulfilment".to_string(), "ship_to_customer".to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("data-testid=\"shop-total\">¥210.00<"),
        "{page}"
    );
    assert!(page.contains("共 3 件"), "{page}");
}
