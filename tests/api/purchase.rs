//! Agent purchase orders: placing with stock reserved (never oversold, also
//! under 200 concurrent orders), paying from the prepaid balance or by a
//! confirmed transfer (booked in the ledger), each state transition allowed
//! or refused, and unpaid orders releasing their stock.

use serde_json::{Value, json};
use weiops::audit::Actor;

use crate::common::{TestApp, spawn_app};

const AGENTS: &str = "id,name,phone,wechat,level,sponsor_id,status,joined_at\n\
A,张三,13800000001,a_wx,1,,active,2026-01-05T10:00:00+08:00\n\
B,李四,13800000002,b_wx,2,A,active,2026-02-01T09:30:00+08:00\n\
C,王五,13800000003,c_wx,4,B,active,2026-03-01T09:30:00Z\n";

async fn body(res: reqwest::Response) -> Value {
    let status = res.status();
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}"))
}

struct Shop {
    warehouse: i64,
    sku: i64,
    c: i64,
}

/// The example network, one product with one SKU (retail ¥100), a
/// warehouse holding `units` of it.
async fn shop(app: &TestApp, units: i64) -> Shop {
    let system = Actor::system("test");
    let quiet = |_: &'static str, _: usize, _: usize| {};
    weiops::agents::import::import(&app.db, &system, AGENTS.as_bytes(), &quiet)
        .await
        .unwrap();
    let now = weiops::db::now_ms();
    let pool = &app.db.pool;
    let product: i64 = sqlx::query_scalar(
        "INSERT INTO products (code, name, created_at, updated_at) VALUES ('P1', '玻尿酸面膜', $1, $1) RETURNING id",
    )
    .bind(now)
    .fetch_one(pool)
    .await
    .unwrap();
    let sku: i64 = sqlx::query_scalar(
        "INSERT INTO skus (product_id, code, spec, retail_fen, created_at, updated_at) VALUES ($1, 'SKU-1', '10片/盒', 10000, $2, $2) RETURNING id",
    )
    .bind(product)
    .bind(now)
    .fetch_one(pool)
    .await
    .unwrap();
    let warehouse: i64 = sqlx::query_scalar(
        "INSERT INTO warehouses (code, name, is_default, created_at) VALUES ('WH1', '总仓', 1, $1) RETURNING id",
    )
    .bind(now)
    .fetch_one(pool)
    .await
    .unwrap();
    let mut tx = pool.begin().await.unwrap();
    weiops::stock::moves::adjust(
        &mut tx,
        &system,
        warehouse,
        sku,
        weiops::stock::moves::Kind::PurchaseIn,
        units,
        "opening stock",
        weiops::stock::moves::Ref { kind: "", id: "" },
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    let c: i64 = sqlx::query_scalar("SELECT id FROM agents WHERE code = 'C'")
        .fetch_one(pool)
        .await
        .unwrap();
    Shop { warehouse, sku, c }
}

async fn stock(app: &TestApp, shop: &Shop) -> (i64, i64) {
    sqlx::query_as("SELECT on_hand, reserved FROM stock WHERE warehouse_id = $1 AND sku_id = $2")
        .bind(shop.warehouse)
        .bind(shop.sku)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

fn order(shop: &Shop, qty: i64) -> Value {
    json!({
        "agent_id": shop.c,
        "lines": [{"sku_id": shop.sku, "qty": qty}],
        "fulfilment": "ship_to_customer",
        "receiver_name": "顾客甲",
        "receiver_phone": "139 1234 5678",
        "receiver_address": "浙江省杭州市西湖区文三路 100 号",
    })
}

async fn books_balance(app: &TestApp) {
    let (d, c): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(debit_fen), 0) AS BIGINT), CAST(COALESCE(SUM(credit_fen), 0) AS BIGINT) FROM journal_lines",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(d, c);
}

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

#[tokio::test]
async fn an_order_is_placed_paid_booked_and_moved_through_its_states() {
    let app = spawn_app().await;
    let shop = shop(&app, 50).await;
    let admin = app.login_admin().await;
    let placed = body(
        admin
            .post(app.url("/api/v1/orders"))
            .json(&order(&shop, 3))
            .send()
            .await
            .unwrap(),
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
    let res = admin
        .post(app.url(&format!("/api/v1/orders/{no}/pay")))
        .json(&json!({"method": "balance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);

    // A top-up by transfer, confirmed by finance, then pay from the balance.
    let id = weiops::finance::payments::submit(
        &app.db,
        &Actor::system("test"),
        &weiops::finance::payments::NewPayment {
            agent_id: shop.c,
            order_no: None,
            amount_fen: 50_000,
            reference: "招行 8899".into(),
        },
        None,
    )
    .await
    .unwrap();
    weiops::finance::payments::confirm(&app.db, &Actor::system("finance"), id)
        .await
        .unwrap();
    assert_eq!(
        weiops::finance::ledger::prepaid_balance(&app.db.pool, shop.c)
            .await
            .unwrap()
            .0,
        50_000
    );
    let paid = body(
        admin
            .post(app.url(&format!("/api/v1/orders/{no}/pay")))
            .json(&json!({"method": "balance"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["counted"], true);
    assert_eq!(
        weiops::finance::ledger::prepaid_balance(&app.db.pool, shop.c)
            .await
            .unwrap()
            .0,
        29_000
    );
    books_balance(&app).await;
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

    let detail = body(
        admin
            .get(app.url(&format!("/api/v1/orders/{no}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
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
        admin
            .post(app.url("/api/v1/orders"))
            .json(&order(&shop, 2))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let second = body(
        admin
            .post(app.url("/api/v1/orders"))
            .json(&order(&shop, 3))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stock(&app, &shop).await, (5, 5));

    let no = first["order_no"].as_str().unwrap();
    let cancelled = body(
        admin
            .post(app.url(&format!("/api/v1/orders/{no}/cancel")))
            .json(&json!({"note": "买错了"}))
            .send()
            .await
            .unwrap(),
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
    let o = body(
        admin
            .get(app.url(&format!("/api/v1/orders/{no}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(o["order"]["status"], "closed");
    // A closed order cannot be paid.
    let res = admin
        .post(app.url(&format!("/api/v1/orders/{no}/pay")))
        .json(&json!({"method": "balance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
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
        let res = admin
            .post(app.url("/api/v1/orders"))
            .json(&o)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{patch}");
    }
    // Without orders.write: 403.
    let role = app.role("viewer", &["orders.read"], "all").await;
    app.user("viewer", "Viewer-pass-1", vec![role]).await;
    let viewer = app.login("viewer", "Viewer-pass-1").await;
    let res = viewer
        .post(app.url("/api/v1/orders"))
        .json(&order(&shop, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(stock(&app, &shop).await, (5, 0));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}
