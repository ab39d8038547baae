//! 打单发货: shipping a picked order with a carrier and tracking number (the
//! goods leave stock, the agent is told in the portal), duplicates refused,
//! waybills printed with a barcode and a masked phone, tracking numbers
//! imported all or nothing, and the permission it takes.

use serde_json::json;

use crate::common::fixtures::{Shop, order, portal, shop, stock};
use crate::common::{TestApp, body, spawn_app};
use crate::purchase::place_and_pay;

/// An order of `qty` units for agent C, paid from a topped-up balance and
/// allocated: it waits to ship.
async fn picked_order(app: &TestApp, shop: &Shop, admin: &reqwest::Client, qty: i64) -> String {
    let paid = place_and_pay(app, admin, shop, &order(shop, qty)).await;
    let no = paid["order_no"].as_str().unwrap().to_string();
    let res = app
        .post_json(
            admin,
            &format!("/api/v1/orders/{no}/allocate"),
            &json!({"note": ""}),
        )
        .await;
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
    let res = app
        .post_json(
            &admin,
            "/api/v1/shipments",
            &json!({"order_no": no, "carrier": "SF", "tracking_no": "SF1234567890"}),
        )
        .await;

    // Assert
    assert_eq!(res.status(), 201);
    let s = body(res).await;
    assert_eq!(s["ref_no"], no.as_str());
    assert_eq!(s["carrier_name"], "顺丰");
    assert_eq!(s["status"], "shipped");
    let o = app.get_json(&admin, &format!("/api/v1/orders/{no}")).await;
    assert_eq!(o["order"]["status"], "shipped");
    assert_eq!(stock(&app, &shop).await, (8, 0));
    let list = app.get_json(&admin, "/api/v1/shipments").await;
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
    let o = app
        .get_json(&admin, &format!("/api/v1/orders/{second}"))
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
    let res = app
        .post_json(
            &admin,
            "/api/v1/carriers",
            &json!({"code": "DBL", "name": "德邦"}),
        )
        .await;
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
        app.post_json(
            &admin,
            "/api/v1/cloud-stock/requests",
            &json!({
                "agent_id": shop.c,
                "lines": [{"sku_id": shop.sku, "qty": 2}],
                "receiver_name": "顾客乙",
                "receiver_phone": "139 8765 4321",
                "receiver_address": "广东省深圳市南山区科技园 8 号",
            }),
        )
        .await,
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
    let r = app
        .get_json(&admin, "/api/v1/cloud-stock/requests?status=shipped")
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

async fn page(client: &reqwest::Client, url: String) -> (u16, String) {
    let res = client.get(url).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// An order of `qty` for agent C, placed and paid, nobody has touched since.
async fn paid_order(app: &TestApp, shop: &Shop, admin: &reqwest::Client, qty: i64) -> String {
    place_and_pay(app, admin, shop, &order(shop, qty)).await["order_no"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_paid_order_waits_in_the_queue_at_once_and_ships_without_opening_it() {
    // Arrange: paid, not opened, not allocated.
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let no = paid_order(&app, &shop, &admin, 2).await;

    // Act
    let (_, queue) = page(&admin, app.url("/shipping")).await;
    let res = app
        .post_json(
            &admin,
            "/api/v1/shipments",
            &json!({"order_no": no, "carrier": "SF", "tracking_no": "SF7654321"}),
        )
        .await;

    // Assert: it was in the queue as 待配货, shipped, and its timeline
    // shows it picked then shipped.
    assert!(
        queue.contains(&no) && queue.contains(&format!("data-testid=\"stage-{no}\">待配货")),
        "{queue}"
    );
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let o = app.get_json(&admin, &format!("/api/v1/orders/{no}")).await;
    assert_eq!(o["order"]["status"], "shipped");
    let steps: Vec<&str> = o["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["pending_payment", "paid", "picking", "shipped"]);
    assert_eq!(stock(&app, &shop).await, (8, 0));
    let (_, queue) = page(&admin, app.url("/shipping")).await;
    assert!(
        !queue.contains(&format!("data-testid=\"stage-{no}\"")),
        "{queue}"
    );
}

#[tokio::test]
async fn the_empty_queue_says_what_puts_orders_there() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;

    let (status, queue) = page(&admin, app.url("/shipping")).await;

    assert_eq!(status, 200);
    assert!(queue.contains("data-testid=\"shipping-empty\""), "{queue}");
    assert!(
        queue.contains("发给自己或代发给顾客的进货单会立即出现在这里")
            && queue.contains("存入云库存的订单不发货"),
        "{queue}"
    );
}

#[tokio::test]
async fn start_picking_is_a_batch_action_of_the_queue() {
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let first = paid_order(&app, &shop, &admin, 1).await;
    let second = paid_order(&app, &shop, &admin, 1).await;

    let res = admin
        .post(app.url("/shipping/allocate"))
        .form(&[("no", first.as_str()), ("no", second.as_str())])
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), 303);
    for no in [&first, &second] {
        let o = app.get_json(&admin, &format!("/api/v1/orders/{no}")).await;
        assert_eq!(o["order"]["status"], "picking", "{no}");
    }
    let (_, queue) = page(&admin, app.url("/shipping")).await;
    assert!(
        queue.contains(&format!("data-testid=\"stage-{first}\">配货中")),
        "{queue}"
    );
    // Again: nothing moves twice, and nothing ticked is refused.
    let res = admin
        .post(app.url("/shipping/allocate"))
        .form(&[("no", first.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = admin
        .post(app.url("/shipping/allocate"))
        .form::<[(&str, &str); 0]>(&[])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let transitions = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|a| a == "order.transition")
        .count();
    // Each order: paid, then picking.
    assert_eq!(transitions, 4);
}

/// Roles of the built-in templates that pack or ship goods: named for the
/// warehouse or logistics, or whose description says they arrange
/// shipping.
fn ships(role: &weiops::org::templates::TemplateRole) -> bool {
    role.name.contains('仓') || role.name.contains("物流") || role.description.contains("发货")
}

#[tokio::test]
async fn the_template_warehouse_keeper_ships_a_paid_order_end_to_end() {
    // Every warehouse and logistics role of every template may ship.
    let mut seen = 0;
    for t in weiops::org::templates::load(None) {
        for r in t.template.roles.iter().filter(|r| ships(r)) {
            let covered = weiops::app::registry().covered(r.permissions.iter().map(String::as_str));
            assert!(
                covered.contains(&"shipping.write") && covered.contains(&"orders.read"),
                "{} {}: {:?}",
                t.template.id,
                r.code,
                r.permissions
            );
            seen += 1;
        }
    }
    assert!(seen >= 5, "{seen}");

    // Arrange: weishang-core applied; a 仓管 holding only its role.
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let res = app
        .post_json(
            &admin,
            "/api/v1/org/templates/weishang-core/apply",
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let role = weiops::access::roles::find_by_code(&app.db, "warehouse_staff")
        .await
        .unwrap()
        .expect("仓管 role");
    assert_eq!(role.name, "仓管");
    app.user("keeper", "Keeper-pass-2026", vec![role.id]).await;
    let token = app.token_for("keeper").await;
    let api = app.api_client();
    let first = paid_order(&app, &shop, &admin, 2).await;
    let second = paid_order(&app, &shop, &admin, 1).await;

    // Act: pick one, then ship both through the API.
    let picked = api
        .post(app.url(&format!("/api/v1/orders/{first}/allocate")))
        .bearer_auth(&token)
        .json(&json!({"note": ""}))
        .send()
        .await
        .unwrap();
    let shipped: Vec<u16> = {
        let mut out = Vec::new();
        for (no, tracking) in [(&first, "YT100001"), (&second, "YT100002")] {
            let res = api
                .post(app.url("/api/v1/shipments"))
                .bearer_auth(&token)
                .json(&json!({"order_no": no, "carrier": "YTO", "tracking_no": tracking}))
                .send()
                .await
                .unwrap();
            out.push(res.status().as_u16());
        }
        out
    };

    // Assert
    assert_eq!(picked.status(), 200, "{}", picked.text().await.unwrap());
    assert_eq!(shipped, [201, 201]);
    assert_eq!(stock(&app, &shop).await, (7, 0));
    let list = body(
        api.get(app.url("/api/v1/shipments"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["total"], 2);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "shipped")
    );

    // The keeper's pages offer what the role may do: the queue's buttons,
    // and on a paid order its 开始配货 but not taking a payment.
    let third = paid_order(&app, &shop, &admin, 1).await;
    let keeper = app.login("keeper", "Keeper-pass-2026").await;
    let (_, queue) = page(&keeper, app.url("/shipping")).await;
    assert!(
        queue.contains("data-testid=\"mark-shipped\"")
            && queue.contains("data-testid=\"allocate\"")
            && queue.contains("data-testid=\"print-waybills\"")
            && queue.contains("13912345678"),
        "{queue}"
    );
    let (_, detail) = page(&keeper, app.url(&format!("/orders/{third}"))).await;
    assert!(
        detail.contains("data-testid=\"order-allocate\""),
        "{detail}"
    );
    let (status, waybill) = page(
        &keeper,
        app.url(&format!("/shipping/waybills?no={third}&carrier_{third}=SF")),
    )
    .await;
    assert_eq!(status, 200);
    assert!(waybill.contains("13912345678"), "{waybill}");
}

#[tokio::test]
async fn without_shipping_write_shipping_is_refused_and_no_ship_button_shows() {
    // Arrange: a clerk who may read and write orders, but not ship.
    let app = spawn_app().await;
    let shop = shop(&app, 10).await;
    let admin = app.login_admin().await;
    let paid = paid_order(&app, &shop, &admin, 1).await;
    let picked = picked_order(&app, &shop, &admin, 1).await;
    let role = app
        .role("order_clerk", &["orders.read", "orders.write"], "all")
        .await;
    app.user("clerk", "Clerk-pass-2026", vec![role]).await;
    let token = app.token_for("clerk").await;
    let api = app.api_client();
    let clerk = app.login("clerk", "Clerk-pass-2026").await;

    // Act
    let mut statuses = Vec::new();
    for (path, payload) in [
        (format!("/api/v1/orders/{paid}/allocate"), json!({})),
        (format!("/api/v1/orders/{picked}/ship"), json!({})),
        (
            "/api/v1/shipments".to_string(),
            json!({"order_no": picked, "carrier": "SF", "tracking_no": "SF1"}),
        ),
        (
            "/api/v1/carriers".to_string(),
            json!({"code": "DBL", "name": "德邦"}),
        ),
    ] {
        let res = api
            .post(app.url(&path))
            .bearer_auth(&token)
            .json(&payload)
            .send()
            .await
            .unwrap();
        statuses.push((path, res.status().as_u16()));
    }
    for (path, form) in [
        (
            "/shipping/ship",
            vec![
                (format!("carrier_{picked}"), "SF".to_string()),
                (format!("tracking_{picked}"), "SF2".to_string()),
            ],
        ),
        ("/shipping/allocate", vec![("no".into(), paid.clone())]),
        (
            &format!("/orders/{paid}/act/allocate") as &str,
            vec![("confirm".into(), "yes".into())],
        ),
        (
            &format!("/orders/{picked}/act/ship") as &str,
            vec![("confirm".into(), "yes".into())],
        ),
    ] {
        let res = clerk.post(app.url(path)).form(&form).send().await.unwrap();
        statuses.push((path.to_string(), res.status().as_u16()));
    }
    for path in [
        format!("/shipping/waybills?no={picked}"),
        format!("/shipping/packing?no={picked}"),
    ] {
        let (status, _) = page(&clerk, app.url(&path)).await;
        statuses.push((path, status));
    }

    // Assert: every one refused, nothing moved.
    for (path, status) in &statuses {
        assert_eq!(*status, 403, "{path}");
    }
    assert_eq!(stock(&app, &shop).await, (10, 2));
    let (status, queue) = page(&clerk, app.url("/shipping")).await;
    assert_eq!(status, 200);
    assert!(queue.contains(&paid) && queue.contains(&picked), "{queue}");
    for button in [
        "mark-shipped",
        "allocate",
        "print-waybills",
        "print-packing",
        "tracking_",
    ] {
        assert!(!queue.contains(button), "{button}: {queue}");
    }
    // Without agents.pii nor shipping.write, the receiver's phone is masked.
    assert!(
        queue.contains("139****5678") && !queue.contains("13912345678"),
        "{queue}"
    );
    for no in [&paid, &picked] {
        let (_, detail) = page(&clerk, app.url(&format!("/orders/{no}"))).await;
        assert!(
            !detail.contains("order-allocate") && !detail.contains("order-ship"),
            "{detail}"
        );
    }
}
