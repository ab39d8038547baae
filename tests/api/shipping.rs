//! 打单发货: shipping a picked order with a carrier and tracking number (the
//! goods leave stock, the agent is told in the portal), duplicates refused,
//! waybills printed with a barcode and a masked phone, tracking numbers
//! imported all or nothing, and the permission it takes.

use serde_json::json;

use crate::common::{TestApp, body, spawn_app};
use crate::purchase::{Shop, order, place_and_pay, portal, shop};

async fn stock(app: &TestApp, shop: &Shop) -> (i64, i64) {
    sqlx::query_as("SELECT on_hand, reserved FROM stock WHERE warehouse_id = $1 AND sku_id = $2")
        .bind(shop.warehouse)
        .bind(shop.sku)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// An order of `qty` units for agent C, paid from a topped-up balance and
/// allocated: it waits to ship.
async fn picked_order(app: &TestApp, shop: &Shop, admin: &reqwest::Client, qty: i64) -> String {
    let paid = place_and_pay(app, admin, shop, &order(shop, qty)).await;
    let no = paid["order_no"].as_str().unwrap().to_string();
    let res = admin
        .post(app.url(&format!("/api/v1/orders/{no}/allocate")))
        .json(&json!({"note": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    no
}

#[tokio::test]
async fn shipping_an_order_moves_stock_records_it_and_tells_the_agent() {
    // Arrange
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let no = picked_order(&app, &shop, &admin, 2).await;
    assert_eq!(stock(&app, &shop).await, (10, 2));
    let page = admin
        .get(app.url("/shipping"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&no), "{page}");

    // Act
    let res = admin
        .post(app.url("/api/v1/shipments"))
        .json(&json!({"order_no": no, "carrier": "SF", "tracking_no": "SF1234567890"}))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), 201);
    let s = body(res).await;
    assert_eq!(s["ref_no"], no.as_str());
    assert_eq!(s["carrier_name"], "顺丰");
    assert_eq!(s["status"], "shipped");
    let o = body(
        admin
            .get(app.url(&format!("/api/v1/orders/{no}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(o["order"]["status"], "shipped");
    assert_eq!(stock(&app, &shop).await, (8, 0));
    let list = body(
        admin
            .get(app.url("/api/v1/shipments"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["tracking_no"], "SF1234567890");

    // The agent sees the notice on the portal home, then marks it read.
    let agent = portal(&app, shop.c, "13800000003").await;
    let home = agent
        .get(app.url("/m"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("portal-notices")
            && home.contains(&format!("您的订单 {no} 已发货，顺丰 SF1234567890")),
        "{home}"
    );
    let res = agent.post(app.url("/m/notices/read")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let home = agent
        .get(app.url("/m"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("portal-notices"), "{home}");
}

#[tokio::test]
async fn a_tracking_number_used_twice_is_refused_and_nothing_moves() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let first = picked_order(&app, &shop, &admin, 1).await;
    let second = picked_order(&app, &shop, &admin, 1).await;
    let ship = |no: String| {
        admin
            .post(app.url("/api/v1/shipments"))
            .json(&json!({"order_no": no, "carrier": "中通", "tracking_no": "ZT0001"}))
            .send()
    };
    assert_eq!(ship(first).await.unwrap().status(), 201);

    let res = ship(second.clone()).await.unwrap();

    assert_eq!(res.status(), 409);
    let o = body(
        admin
            .get(app.url(&format!("/api/v1/orders/{second}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(o["order"]["status"], "picking");
    assert_eq!(stock(&app, &shop).await, (9, 1));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shipments")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn waybills_carry_the_barcode_and_mask_the_phone_when_private() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let no = picked_order(&app, &shop, &admin, 1).await;
    let carrier = format!("carrier_{no}");

    let private = admin
        .get(app.url("/shipping/waybills"))
        .query(&[
            ("no", no.as_str()),
            ("privacy", "1"),
            (carrier.as_str(), "YTO"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let open = admin
        .get(app.url("/shipping/waybills"))
        .query(&[("no", no.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let packing = admin
        .get(app.url("/shipping/packing"))
        .query(&[("no", no.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let svg = weiops::shipping::code128::svg(&no, 2, 70).unwrap();
    assert!(private.contains(&svg), "{private}");
    assert!(
        private.contains("139****5678") && private.contains("圆通"),
        "{private}"
    );
    assert!(!private.contains("13912345678"), "{private}");
    assert!(open.contains("13912345678"), "{open}");
    assert!(
        packing.contains("SKU-1") && packing.contains("packing-list"),
        "{packing}"
    );
}

#[tokio::test]
async fn an_import_with_one_bad_row_ships_nothing() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let good = picked_order(&app, &shop, &admin, 1).await;
    let csv = format!(
        "order_no,carrier,tracking_no\n{good},韵达,YD100200\nNO-SUCH-ORDER,顺丰,SF999\n{good}-x,火星快递,MX1\n"
    );
    let upload = |text: String| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(text.into_bytes()).file_name("tracking.csv"),
        );
        admin
            .post(app.url("/shipping/import"))
            .multipart(form)
            .send()
    };

    let res = upload(csv).await.unwrap();

    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("import-problems"), "{page}");
    assert!(
        page.contains("NO-SUCH-ORDER") && page.contains("<td data-label=\"行号\">3</td>"),
        "{page}"
    );
    assert!(page.contains("火星快递"), "{page}");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shipments")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(stock(&app, &shop).await, (10, 1));

    // The corrected file ships.
    let res = upload(format!(
        "order_no,carrier,tracking_no\n{good},YD,YD100200\n"
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(stock(&app, &shop).await, (9, 0));
}

#[tokio::test]
async fn shipping_takes_orders_write() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let no = picked_order(&app, &shop, &admin, 1).await;
    let reader = app.role("order_reader", &["orders.read"], "all").await;
    app.user("clerk", "Clerk-pass-2026", vec![reader]).await;
    let token = app.token_for("clerk").await;
    let client = app.api_client();

    let res = client
        .post(app.url("/api/v1/shipments"))
        .bearer_auth(&token)
        .json(&json!({"order_no": no, "carrier": "SF", "tracking_no": "SF1"}))
        .send()
        .await
        .unwrap();
    let carriers = client
        .get(app.url("/api/v1/carriers"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let add = client
        .post(app.url("/api/v1/carriers"))
        .bearer_auth(&token)
        .json(&json!({"code": "DBL", "name": "德邦"}))
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), 403);
    assert_eq!(carriers.status(), 200);
    assert_eq!(body(carriers).await.as_array().unwrap().len(), 8);
    assert_eq!(add.status(), 403);
    let res = admin
        .post(app.url("/api/v1/carriers"))
        .json(&json!({"code": "DBL", "name": "德邦"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn a_cloud_request_ships_from_the_page_with_a_scanned_number() {
    // Arrange: a paid cloud order of 3, then a request for 2 of them.
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let paid = place_and_pay(
        &app,
        &admin,
        &shop,
        &json!({
            "agent_id": shop.c,
            "lines": [{"sku_id": shop.sku, "qty": 3}],
            "fulfilment": "cloud",
        }),
    )
    .await;
    let no = paid["order_no"].as_str().unwrap();
    let request = body(
        admin
            .post(app.url("/api/v1/cloud-stock/requests"))
            .json(&json!({
                "agent_id": shop.c,
                "lines": [{"sku_id": shop.sku, "qty": 2}],
                "receiver_name": "顾客乙",
                "receiver_phone": "139 8765 4321",
                "receiver_address": "广东省深圳市南山区科技园 8 号",
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let rno = request["request_no"].as_str().unwrap().to_string();
    let page = admin
        .get(app.url("/shipping"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&rno) && !page.contains(no), "{page}");

    // Act: the tracking number typed (or scanned) on the row, then ship.
    let res = admin
        .post(app.url("/shipping/ship"))
        .form(&[
            (format!("carrier_{rno}"), "JT".to_string()),
            (format!("tracking_{rno}"), "JT0099887766".to_string()),
        ])
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), 303);
    let r = body(
        admin
            .get(app.url("/api/v1/cloud-stock/requests?status=shipped"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r["total"], 1);
    assert_eq!(r["items"][0]["tracking_no"], "JT0099887766");
    assert_eq!(stock(&app, &shop).await, (8, 1));
    let message: String =
        sqlx::query_scalar("SELECT message FROM agent_notices WHERE agent_id = $1")
            .bind(shop.c)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(message, format!("您的订单 {rno} 已发货，极兔 JT0099887766"));
}
