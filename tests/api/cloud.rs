//! Cloud stock (云库存): a paid cloud order completes and credits the
//! agent's ledger while its units stay reserved; shipment requests take
//! from the ledger and never more than the balance, also when they race;
//! shipping takes the goods out of the warehouse, cancelling gives them
//! back; the pages, the stock page's owed figure and the permissions.

use serde_json::{Value, json};

use crate::common::fixtures::{Shop, count, portal, scalar, shop, stock};
use crate::common::{TestApp, body, spawn_app};
use crate::purchase::place_and_pay;

async fn balance(app: &TestApp, shop: &Shop) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(qty), 0) AS BIGINT) FROM cloud_stock WHERE agent_id = $1 AND sku_id = $2",
    )
    .bind(shop.c)
    .bind(shop.sku)
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
}

/// Places a cloud order of `qty` for agent C and pays it from a prepaid
/// balance topped up for it; returns the order as the API shows it.
async fn paid_cloud_order(app: &TestApp, admin: &reqwest::Client, shop: &Shop, qty: i64) -> Value {
    let order = json!({
        "agent_id": shop.c,
        "lines": [{"sku_id": shop.sku, "qty": qty}],
        "fulfilment": "cloud",
    });
    place_and_pay(app, admin, shop, &order).await
}

fn ship_request(shop: &Shop, qty: i64) -> Value {
    json!({
        "agent_id": shop.c,
        "lines": [{"sku_id": shop.sku, "qty": qty}],
        "receiver_name": "顾客乙",
        "receiver_phone": "139 8765 4321",
        "receiver_address": "广东省深圳市南山区科技园 8 号",
    })
}

#[tokio::test]
async fn a_cloud_order_is_credited_then_requested_shipped_and_cancelled() {
    let app = spawn_app().await;
    let shop = shop(&app, 20).await;
    let admin = app.login_admin().await;

    // Paid: completed at once, the units stay reserved and are the agent's.
    let order = paid_cloud_order(&app, &admin, &shop, 5).await;
    assert_eq!(order["status"], "completed", "{order}");
    assert_eq!(stock(&app, &shop).await, (20, 5));
    assert_eq!(balance(&app, &shop).await, 5);
    let list = app.get_json(&admin, "/api/v1/cloud-stock?agent=C").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["qty"], 5);
    assert_eq!(list["totals"][0]["owed"], 5);
    // Head office sees what it owes beside physical stock.
    let page = admin
        .get(app.url("/stock"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("云仓欠货 5"), "{page}");
    let api = app.get_json(&admin, "/api/v1/stock").await;
    assert_eq!(api["totals"][0]["cloud_owed"], 5);

    // More than the balance: 409 naming the SKU and the balance, nothing changed.
    let res = admin
        .post(app.url("/api/v1/cloud-stock/requests"))
        .header("Accept-Language", "en")
        .json(&ship_request(&shop, 6))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let err = body(res).await;
    assert_eq!(err["error"]["sku"], "SKU-1");
    assert_eq!(err["error"]["available"], 5);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("SKU-1"),
        "{err}"
    );
    assert_eq!(balance(&app, &shop).await, 5);
    assert_eq!(count(&app, "cloud_requests").await, 0);
    assert_eq!(count(&app, "cloud_stock_movements").await, 1);
    // No receiver: 422.
    let mut bad = ship_request(&shop, 1);
    bad["receiver_address"] = json!("");
    let res = app
        .post_json(&admin, "/api/v1/cloud-stock/requests", &bad)
        .await;
    assert_eq!(res.status(), 422);

    // Two units requested: off the balance, still reserved in the warehouse.
    let r = body(
        app.post_json(
            &admin,
            "/api/v1/cloud-stock/requests",
            &ship_request(&shop, 2),
        )
        .await,
    )
    .await;
    assert_eq!(r["status"], "pending");
    assert!(r["request_no"].as_str().unwrap().starts_with("TH"), "{r}");
    assert_eq!(r["receiver_phone"], "13987654321");
    let id = r["id"].as_i64().unwrap();
    assert_eq!(balance(&app, &shop).await, 3);
    assert_eq!(stock(&app, &shop).await, (20, 5));

    // Shipping needs a tracking number; then the goods leave the warehouse.
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/cloud-stock/requests/{id}/ship"),
            &json!({"carrier": "顺丰", "tracking_no": " "}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let shipped = body(
        app.post_json(
            &admin,
            &format!("/api/v1/cloud-stock/requests/{id}/ship"),
            &json!({"carrier": "顺丰", "tracking_no": "SF1234567890"}),
        )
        .await,
    )
    .await;
    assert_eq!(shipped["status"], "shipped");
    assert_eq!(shipped["tracking_no"], "SF1234567890");
    assert_eq!(stock(&app, &shop).await, (18, 3));
    assert_eq!(balance(&app, &shop).await, 3);
    for action in ["ship", "cancel"] {
        let res = app
            .post_json(
                &admin,
                &format!("/api/v1/cloud-stock/requests/{id}/{action}"),
                &json!({"carrier": "顺丰", "tracking_no": "SF1"}),
            )
            .await;
        assert_eq!(res.status(), 409, "{action} after shipping");
    }

    // The rest requested, then cancelled: the balance is back.
    let r = body(
        app.post_json(
            &admin,
            "/api/v1/cloud-stock/requests",
            &ship_request(&shop, 3),
        )
        .await,
    )
    .await;
    let id = r["id"].as_i64().unwrap();
    assert_eq!(balance(&app, &shop).await, 0);
    let cancelled = body(
        admin
            .post(app.url(&format!("/api/v1/cloud-stock/requests/{id}/cancel")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(balance(&app, &shop).await, 3);
    assert_eq!(stock(&app, &shop).await, (18, 3));
    let res = admin
        .post(app.url(&format!("/api/v1/cloud-stock/requests/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);

    // The ledger's movements add up to the balance; everything audited.
    let kinds: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT kind, qty, qty_after FROM cloud_stock_movements ORDER BY id")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    let kinds: Vec<(&str, i64, i64)> = kinds.iter().map(|(k, q, a)| (k.as_str(), *q, *a)).collect();
    assert_eq!(
        kinds,
        vec![
            ("purchase", 5, 5),
            ("ship_request", -2, 3),
            ("ship_request", -3, 0),
            ("ship_cancelled", 3, 3),
        ]
    );
    let actions = app.audit_actions().await;
    for a in [
        "cloud.credit",
        "cloud.request",
        "cloud.ship",
        "cloud.cancel",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    let requests = app
        .get_json(&admin, "/api/v1/cloud-stock/requests?status=shipped")
        .await;
    assert_eq!(requests["total"], 1);
    assert_eq!(requests["items"][0]["lines"][0]["qty"], 2);
}

#[tokio::test]
async fn concurrent_requests_never_take_more_than_the_balance() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let order = paid_cloud_order(&app, &admin, &shop, 10).await;
    assert_eq!(order["status"], "completed");
    let token = app.token_for("admin").await;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let c = client.clone();
        let url = app.url("/api/v1/cloud-stock/requests");
        let token = token.clone();
        let body = ship_request(&shop, 1);
        tasks.push(tokio::spawn(async move {
            let res = c
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
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
    assert_eq!(balance(&app, &shop).await, 0);
    assert_eq!(
        count(&app, "cloud_requests").await,
        10,
        "refused requests leave nothing behind"
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT CAST(COALESCE(SUM(qty), 0) AS BIGINT) FROM cloud_request_lines"
        )
        .await,
        10
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT CAST(COALESCE(SUM(qty), 0) AS BIGINT) FROM cloud_stock_movements"
        )
        .await,
        0
    );
    // Physical stock is untouched until the requests ship.
    assert_eq!(stock(&app, &shop).await, (10, 10));
}

#[tokio::test]
async fn refunding_a_cloud_order_takes_its_units_off_the_cloud_stock() {
    let app = spawn_app().await;
    let shop = shop(&app, 20).await;
    let admin = app.login_admin().await;
    let order = paid_cloud_order(&app, &admin, &shop, 5).await;
    let no = order["order_no"].as_str().unwrap().to_string();
    let amount = order["amount_fen"].as_i64().unwrap();
    assert_eq!(balance(&app, &shop).await, 5);
    let prepaid = |app: &TestApp| {
        let pool = app.db.pool.clone();
        async move {
            weiops::ledger::prepaid_balance(&pool, shop.c)
                .await
                .unwrap()
        }
    };
    let before = prepaid(&app).await;

    // Nothing to send back: only a refund, also on the order's page.
    let page = admin
        .get(app.url(&format!("/orders/{no}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("aftersales-form"), "{page}");
    assert!(page.contains("value=\"refund_only\""));
    assert!(!page.contains("value=\"return_refund\""));
    let res = app
        .post_json(
            &admin,
            "/api/v1/after-sales",
            &json!({"order_no": no, "kind": "return_refund", "reason": "不要了"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let case = body(
        app.post_json(
            &admin,
            "/api/v1/after-sales",
            &json!({"order_no": no, "kind": "refund_only", "reason": "不要了"}),
        )
        .await,
    )
    .await["case_no"]
        .as_str()
        .unwrap()
        .to_string();

    // Meanwhile the agent had 2 shipped out: the refund is refused (409
    // naming the SKU and what is left) and changes nothing.
    let request = body(
        app.post_json(
            &admin,
            "/api/v1/cloud-stock/requests",
            &ship_request(&shop, 2),
        )
        .await,
    )
    .await;
    let res = admin
        .post(app.url(&format!("/api/v1/after-sales/{case}/refund")))
        .header("Accept-Language", "en")
        .json(&json!({"refund_to": "balance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let refused = body(res).await;
    assert_eq!(refused["error"]["code"], "cloud_stock_short", "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("SKU-1") && message.contains('3'),
        "{message}"
    );
    assert_eq!(balance(&app, &shop).await, 3);
    assert_eq!(stock(&app, &shop).await, (20, 5));
    assert_eq!(prepaid(&app).await, before);
    let o = app.get_json(&admin, &format!("/api/v1/orders/{no}")).await;
    assert_eq!(o["order"]["status"], "completed");

    // The request is cancelled, the units are the agent's again: refunded.
    let id = request["id"].as_i64().unwrap();
    let res = admin
        .post(app.url(&format!("/api/v1/cloud-stock/requests/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/after-sales/{case}/refund"),
            &json!({"refund_to": "balance"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(balance(&app, &shop).await, 0, "off the agent's cloud stock");
    assert_eq!(stock(&app, &shop).await, (20, 0), "sellable again");
    assert_eq!(prepaid(&app).await.0, before.0 + amount);
    let o = app.get_json(&admin, &format!("/api/v1/orders/{no}")).await;
    assert_eq!(o["order"]["status"], "refunded");
    assert_eq!(o["order"]["counted"], false);
    assert_eq!(
        count(
            &app,
            &format!(
                "cloud_stock_movements WHERE kind = 'refund' AND qty = -5 \
                 AND qty_after = 0 AND ref_type = 'after_sales' AND ref_id = '{case}'"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            &format!("audit_log WHERE action = 'cloud.refund' AND entity_id = '{case}'")
        )
        .await,
        1
    );

    // Once the units are gone, a new request for the order is refused at once.
    let other = paid_cloud_order(&app, &admin, &shop, 4).await;
    body(
        app.post_json(
            &admin,
            "/api/v1/cloud-stock/requests",
            &ship_request(&shop, 4),
        )
        .await,
    )
    .await;
    let res = app
        .post_json(
            &admin,
            "/api/v1/after-sales",
            &json!({"order_no": other["order_no"], "kind": "refund_only", "reason": "不要了"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(count(&app, "after_sales").await, 1, "nothing opened");
}

#[tokio::test]
async fn the_portal_and_staff_pages_and_their_permissions() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    paid_cloud_order(&app, &admin, &shop, 4).await;
    let agent = portal(&app, shop.c, "13800000003").await;

    // The portal: linked from home, the balance, a request.
    let home = agent
        .get(app.url("/m"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("href=\"/m/cloud\""), "{home}");
    let page = agent.get(app.url("/m/cloud")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("玻尿酸面膜") && page.contains("data-testid=\"balance-SKU-1\">4<"),
        "{page}"
    );
    let field = format!("qty_{}_{}", shop.warehouse, shop.sku);
    let form = |qty: &str| {
        vec![
            (field.clone(), qty.to_string()),
            ("receiver_name".into(), "顾客丙".to_string()),
            ("receiver_phone".into(), "13912345678".to_string()),
            (
                "receiver_address".into(),
                "上海市浦东新区世纪大道 100 号".to_string(),
            ),
        ]
    };
    let res = agent
        .post(app.url("/m/cloud"))
        .form(&form("5"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("cloud-error"));
    let res = agent
        .post(app.url("/m/cloud"))
        .form(&form("3"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(balance(&app, &shop).await, 1);
    let page = agent
        .get(app.url("/m/cloud"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("待发货") && page.contains("顾客丙"), "{page}");

    // Staff pages: balances, export, requests; cancel asks first.
    for path in [
        "/stock/cloud",
        "/stock/cloud?agent=C",
        "/stock/cloud/requests",
        "/stock/cloud/requests?status=pending",
    ] {
        let res = admin.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let text = res.text().await.unwrap();
        assert!(text.contains("王五"), "{path}: {text}");
    }
    let csv = admin
        .get(app.url("/stock/cloud/export?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.text().await.unwrap().contains("SKU-1"));
    let id: i64 = sqlx::query_scalar("SELECT id FROM cloud_requests")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let confirm = admin
        .post(app.url(&format!("/stock/cloud/requests/{id}/cancel")))
        .form(&[("back", "/stock/cloud/requests")])
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 200);
    assert_eq!(balance(&app, &shop).await, 1, "nothing before confirming");
    let res = admin
        .post(app.url(&format!("/stock/cloud/requests/{id}/cancel")))
        .form(&[("back", "/stock/cloud/requests"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(balance(&app, &shop).await, 4);

    // Permissions: reading needs stock.read, requesting orders.write,
    // shipping shipping.write, cancelling stock.write.
    let role = app.role("sales", &["orders.read"], "all").await;
    app.user("sales", "Sales-pass-1", vec![role]).await;
    let sales = app.login("sales", "Sales-pass-1").await;
    for path in [
        "/stock/cloud",
        "/stock/cloud/requests",
        "/api/v1/cloud-stock",
    ] {
        let res = sales.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    let res = app
        .post_json(
            &sales,
            "/api/v1/cloud-stock/requests",
            &ship_request(&shop, 1),
        )
        .await;
    assert_eq!(res.status(), 403);
    let role = app.role("keeper", &["stock.read"], "all").await;
    app.user("keeper", "Keeper-pass-1", vec![role]).await;
    let keeper = app.login("keeper", "Keeper-pass-1").await;
    let res = keeper.get(app.url("/stock/cloud")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let r = body(
        app.post_json(
            &admin,
            "/api/v1/cloud-stock/requests",
            &ship_request(&shop, 1),
        )
        .await,
    )
    .await;
    let id = r["id"].as_i64().unwrap();
    for (path, form) in [
        (
            format!("/stock/cloud/requests/{id}/ship"),
            vec![("carrier", "顺丰"), ("tracking_no", "SF1")],
        ),
        (
            format!("/stock/cloud/requests/{id}/cancel"),
            vec![("confirm", "yes")],
        ),
    ] {
        let res = keeper
            .post(app.url(&path))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    let res = app
        .post_json(
            &keeper,
            &format!("/api/v1/cloud-stock/requests/{id}/ship"),
            &json!({"carrier": "顺丰", "tracking_no": "SF1"}),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(balance(&app, &shop).await, 3);
    assert_eq!(stock(&app, &shop).await, (10, 4));
}
