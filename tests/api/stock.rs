//! Warehouses and stock through the API and the pages: one default
//! warehouse, purchase in, transfers refused whole when short, write-offs,
//! counts (snapshot, adjustment, never below reserved), low-stock alerts on
//! the dashboard, the movement log and its export, and permissions.
//! Concurrent orders that never oversell: purchase.rs.

use serde_json::{Value, json};
use sqlx::Row;

use crate::common::{TestApp, body, spawn_app};

/// A product with one SKU, straight into the tables the products pages own.
async fn sku(app: &TestApp, code: &str, name: &str) -> i64 {
    let now = weiops::db::now_ms();
    let product: i64 = sqlx::query(
        "INSERT INTO products (code, name, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(format!("P-{code}"))
    .bind(name)
    .bind(now)
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
    .try_get("id")
    .unwrap();
    sqlx::query(
        "INSERT INTO skus (product_id, code, spec, retail_fen, created_at, updated_at) VALUES ($1, $2, '500ml', 9900, $3, $3) RETURNING id",
    )
    .bind(product)
    .bind(code)
    .bind(now)
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
    .try_get("id")
    .unwrap()
}

async fn warehouse(c: &reqwest::Client, app: &TestApp, code: &str) -> i64 {
    let res = app
        .post_json(
            c,
            "/api/v1/stock/warehouses",
            &json!({"code": code, "name": format!("{code} 仓"), "address": "杭州"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    body(res).await["id"].as_i64().unwrap()
}

async fn level(app: &TestApp, wh: i64, sku: i64) -> (i64, i64) {
    sqlx::query("SELECT on_hand, reserved FROM stock WHERE warehouse_id = $1 AND sku_id = $2")
        .bind(wh)
        .bind(sku)
        .fetch_optional(&app.db.pool)
        .await
        .unwrap()
        .map(|r| {
            (
                r.try_get("on_hand").unwrap(),
                r.try_get("reserved").unwrap(),
            )
        })
        .unwrap_or((0, 0))
}

async fn movement_count(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM stock_movements")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

async fn purchase(c: &reqwest::Client, app: &TestApp, wh: i64, code: &str, qty: i64) -> Value {
    let res = app.post_json(c, "/api/v1/stock/movements", &json!({"kind": "purchase_in", "warehouse_id": wh, "sku_code": code, "qty": qty, "reason": "到货"})).await;
    assert_eq!(res.status(), 201);
    body(res).await
}

/// Holds `qty` as an unpaid order does (orders::placing adds to
/// `reserved`; placing itself is tested in purchase.rs).
async fn reserve(app: &TestApp, wh: i64, sku: i64, qty: i64) {
    let updated = sqlx::query(
        "UPDATE stock SET reserved = reserved + $1 WHERE warehouse_id = $2 AND sku_id = $3 AND on_hand - reserved >= $1",
    )
    .bind(qty)
    .bind(wh)
    .bind(sku)
    .execute(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(updated.rows_affected(), 1);
}

#[tokio::test]
async fn exactly_one_default_warehouse_and_no_deactivation_while_stock_is_held() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let a = warehouse(&admin, &app, "HZ").await;
    let b = warehouse(&admin, &app, "SH").await;
    let list = app.get_json(&admin, "/api/v1/stock/warehouses").await;
    let defaults: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["is_default"] == true)
        .collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0]["id"], a, "the first warehouse is the default");

    // Making B the default moves the flag.
    let res = app
        .put_json(
            &admin,
            &format!("/api/v1/stock/warehouses/{b}"),
            &json!({"code": "SH", "name": "上海仓", "address": "", "is_default": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(body(res).await["name"], "上海仓");
    let list = app.get_json(&admin, "/api/v1/stock/warehouses").await;
    let flags: Vec<(i64, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["id"].as_i64().unwrap(),
                w["is_default"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        flags.contains(&(b, true)) && flags.contains(&(a, false)),
        "{flags:?}"
    );

    // Duplicate code, un-defaulting the default: 422 with the field.
    let res = app
        .post_json(
            &admin,
            "/api/v1/stock/warehouses",
            &json!({"code": "HZ", "name": "again"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(body(res).await["error"]["fields"][0]["field"], "code");
    let res = app
        .put_json(
            &admin,
            &format!("/api/v1/stock/warehouses/{b}"),
            &json!({"code": "SH", "name": "上海仓", "is_default": false}),
        )
        .await;
    assert_eq!(res.status(), 422);

    // A holds stock: deactivating it is refused (409), with a confirmation
    // step on the page first.
    sku(&app, "SKU-1", "玫瑰精华").await;
    purchase(&admin, &app, a, "SKU-1", 5).await;
    let res = admin
        .put(app.url(&format!("/api/v1/stock/warehouses/{a}")))
        .header("accept-language", "en")
        .json(&json!({"code": "HZ", "name": "HZ 仓", "active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert!(
        body(res).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("still holds stock")
    );
    let confirm = admin
        .post(app.url(&format!("/stock/warehouses/{a}/active")))
        .form(&[("active", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 200);
    assert!(confirm.text().await.unwrap().contains("确定停用仓库 HZ"));
    let res = admin
        .post(app.url(&format!("/stock/warehouses/{a}/active")))
        .form(&[("active", "0"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.get_json(&admin, "/api/v1/stock/warehouses").await[1]["active"],
        true
    );

    // Empty, A can go; goods can then no longer come in.
    let res = app.post_json(&admin, "/api/v1/stock/movements", &json!({"kind": "transfer", "from_warehouse_id": a, "to_warehouse_id": b, "sku_code": "SKU-1", "qty": 5})).await;
    assert_eq!(res.status(), 201);
    let res = admin
        .post(app.url(&format!("/stock/warehouses/{a}/active")))
        .form(&[("active", "0"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = app
        .post_json(
            &admin,
            "/api/v1/stock/movements",
            &json!({"kind": "purchase_in", "warehouse_id": a, "sku_code": "SKU-1", "qty": 1}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        body(res).await["error"]["fields"][0]["field"],
        "warehouse_id"
    );

    // The pages list them, and the audit log has each change.
    let html = admin
        .get(app.url("/stock/warehouses"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("上海仓") && html.contains("已停用"), "{html}");
    let actions = app.audit_actions().await;
    for a in [
        "warehouse.create",
        "warehouse.set_default",
        "warehouse.deactivate",
        "stock.transfer",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
}

#[tokio::test]
async fn purchase_in_books_stock_and_a_movement_and_bad_input_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let wh = warehouse(&admin, &app, "HZ").await;
    let s = sku(&app, "SKU-1", "玫瑰精华").await;

    let made = purchase(&admin, &app, wh, "SKU-1", 12).await;
    assert_eq!(made[0]["kind"], "purchase_in");
    assert_eq!(made[0]["qty"], 12);
    assert_eq!(made[0]["on_hand_after"], 12);
    purchase(&admin, &app, wh, "SKU-1", 3).await;
    assert_eq!(level(&app, wh, s).await, (15, 0));

    let before = (movement_count(&app).await, app.audit_actions().await.len());
    for bad in [
        json!({"kind": "purchase_in", "warehouse_id": wh, "sku_code": "NOPE", "qty": 1}),
        json!({"kind": "purchase_in", "warehouse_id": wh, "sku_code": "SKU-1", "qty": 0}),
        json!({"kind": "purchase_in", "warehouse_id": 999, "sku_code": "SKU-1", "qty": 1}),
        json!({"kind": "purchase_in", "sku_code": "SKU-1", "qty": 1}),
        json!({"kind": "steal", "warehouse_id": wh, "sku_code": "SKU-1", "qty": 1}),
    ] {
        let res = app.post_json(&admin, "/api/v1/stock/movements", &bad).await;
        assert_eq!(res.status(), 422, "{bad}");
        let b = body(res).await;
        assert!(
            !b["error"]["fields"][0]["message"]
                .as_str()
                .unwrap()
                .is_empty(),
            "{b}"
        );
    }
    assert_eq!(
        (movement_count(&app).await, app.audit_actions().await.len()),
        before
    );
    assert_eq!(level(&app, wh, s).await, (15, 0));

    // The same through the form: back to the movements of this booking.
    let res = admin
        .post(app.url("/stock/in"))
        .form(&[
            ("warehouse_id", wh.to_string().as_str()),
            ("sku_code", "SKU-1"),
            ("qty", "5"),
            ("reason", "补货"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/stock/movements?ref_type=purchase&ref_id="),
        "{to}"
    );
    let html = admin
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("补货") && html.contains("+5"), "{html}");
    assert_eq!(level(&app, wh, s).await, (20, 0));
    let res = admin
        .post(app.url("/stock/in"))
        .form(&[
            ("warehouse_id", wh.to_string().as_str()),
            ("sku_code", "SKU-404"),
            ("qty", "5"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("找不到该 SKU 编码"));
}

#[tokio::test]
async fn a_short_transfer_is_a_409_naming_what_is_available_and_moves_nothing() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let a = warehouse(&admin, &app, "HZ").await;
    let b = warehouse(&admin, &app, "SH").await;
    let s = sku(&app, "SKU-1", "玫瑰精华").await;
    purchase(&admin, &app, a, "SKU-1", 10).await;
    reserve(&app, a, s, 4).await;

    let before = (movement_count(&app).await, app.audit_actions().await.len());
    let res = admin
        .post(app.url("/api/v1/stock/movements"))
        .header("accept-language", "en")
        .json(&json!({"kind": "transfer", "from_warehouse_id": a, "to_warehouse_id": b, "sku_code": "SKU-1", "qty": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let e = body(res).await["error"].clone();
    assert_eq!(e["code"], "stock_short");
    assert_eq!(e["sku"], "SKU-1");
    assert_eq!(e["available"], 6);
    assert_eq!(e["requested"], 7);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("SKU-1 has 6 available"),
        "{e}"
    );
    assert_eq!(level(&app, a, s).await, (10, 4));
    assert_eq!(level(&app, b, s).await, (0, 0));
    assert_eq!(
        (movement_count(&app).await, app.audit_actions().await.len()),
        before
    );

    // The form says the same in Chinese and keeps what was typed.
    let res = admin
        .post(app.url("/stock/transfer"))
        .form(&[
            ("from_warehouse_id", a.to_string().as_str()),
            ("to_warehouse_id", b.to_string().as_str()),
            ("sku_code", "SKU-1"),
            ("qty", "7"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(html.contains("SKU SKU-1 可用 6，需要 7"), "{html}");
    assert_eq!(level(&app, a, s).await, (10, 4));

    // Same warehouse on both sides: 422. Six fit: both sides move, one reference.
    let res = app.post_json(&admin, "/api/v1/stock/movements", &json!({"kind": "transfer", "from_warehouse_id": a, "to_warehouse_id": a, "sku_code": "SKU-1", "qty": 1})).await;
    assert_eq!(res.status(), 422);
    let res = app.post_json(&admin, "/api/v1/stock/movements", &json!({"kind": "transfer", "from_warehouse_id": a, "to_warehouse_id": b, "sku_code": "SKU-1", "qty": 6})).await;
    assert_eq!(res.status(), 201);
    let made = body(res).await;
    assert_eq!(made.as_array().unwrap().len(), 2);
    assert_eq!(made[0]["kind"], "transfer_out");
    assert_eq!(made[1]["kind"], "transfer_in");
    assert_eq!(made[0]["ref_id"], made[1]["ref_id"]);
    assert_eq!(level(&app, a, s).await, (4, 4));
    assert_eq!(level(&app, b, s).await, (6, 0));
}

#[tokio::test]
async fn write_off_needs_a_reason_and_cannot_touch_reserved_goods() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let wh = warehouse(&admin, &app, "HZ").await;
    let s = sku(&app, "SKU-1", "玫瑰精华").await;
    purchase(&admin, &app, wh, "SKU-1", 10).await;
    reserve(&app, wh, s, 8).await;

    let post = |v: Value| {
        admin
            .post(app.url("/api/v1/stock/movements"))
            .json(&v)
            .send()
    };
    let res = post(json!({"kind": "write_off", "warehouse_id": wh, "sku_code": "SKU-1", "qty": 1}))
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(body(res).await["error"]["fields"][0]["field"], "reason");
    let res = post(json!({"kind": "write_off", "warehouse_id": wh, "sku_code": "SKU-1", "qty": 3, "reason": "破损"})).await.unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(body(res).await["error"]["available"], 2);
    let res = post(json!({"kind": "write_off", "warehouse_id": wh, "sku_code": "SKU-1", "qty": 2, "reason": "破损"})).await.unwrap();
    assert_eq!(res.status(), 201);
    let made = body(res).await;
    assert_eq!(made[0]["qty"], -2);
    assert_eq!(made[0]["reason"], "破损");
    assert_eq!(level(&app, wh, s).await, (8, 8));
    assert!(
        app.audit_actions()
            .await
            .contains(&"stock.write_off".to_string())
    );
}

#[tokio::test]
async fn a_count_snapshots_adjusts_by_the_difference_and_never_goes_below_reserved() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let wh = warehouse(&admin, &app, "HZ").await;
    let s1 = sku(&app, "SKU-1", "玫瑰精华").await;
    let s2 = sku(&app, "SKU-2", "洁面乳").await;
    let s3 = sku(&app, "SKU-3", "面膜").await;
    purchase(&admin, &app, wh, "SKU-1", 10).await;
    purchase(&admin, &app, wh, "SKU-2", 5).await;
    reserve(&app, wh, s2, 4).await;

    let res = app
        .post_json(
            &admin,
            "/api/v1/stock/counts",
            &json!({"warehouse_id": wh, "note": "月末盘点"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let d = body(res).await;
    let id = d["count"]["id"].as_i64().unwrap();
    assert_eq!(d["count"]["status"], "open");
    let expected: Vec<(String, i64)> = d["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku_code"].as_str().unwrap().to_string(),
                l["expected"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        expected,
        [("SKU-1".to_string(), 10), ("SKU-2".to_string(), 5)]
    );
    // One open count per warehouse.
    let res = app
        .post_json(&admin, "/api/v1/stock/counts", &json!({"warehouse_id": wh}))
        .await;
    assert_eq!(res.status(), 409);

    // Goods arriving during the count are kept: adjustments are by difference.
    purchase(&admin, &app, wh, "SKU-1", 2).await;
    // Partial saves: SKU-1 first, then SKU-2 (short of what is reserved) and
    // a SKU found on the shelf that was not on the sheet.
    let put = |v: Value| {
        admin
            .put(app.url(&format!("/api/v1/stock/counts/{id}/lines")))
            .json(&v)
            .send()
    };
    let d = body(
        put(json!({"lines": [{"sku_id": s1, "counted": 9}]}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(d["count"]["counted_count"], 1);
    let res =
        put(json!({"lines": [{"sku_id": s2, "counted": 3}, {"sku_code": "SKU-3", "counted": 2}]}))
            .await
            .unwrap();
    assert_eq!(res.status(), 200);
    let res = put(json!({"lines": [{"sku_id": s1, "counted": -1}]}))
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    // The page lists the differences before finishing.
    let html = admin
        .get(app.url(&format!("/stock/counts/{id}/finish")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("-1")
            && html.contains("-2")
            && html.contains("+2")
            && html.contains("低于已预留"),
        "{html}"
    );

    // SKU-2: 5 on hand, 4 reserved; counting 3 would leave less than reserved.
    let before = movement_count(&app).await;
    let res = admin
        .post(app.url(&format!("/api/v1/stock/counts/{id}/finish")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let e = body(res).await["error"].clone();
    assert_eq!(e["sku"], "SKU-2");
    assert!(e["message"].as_str().unwrap().contains("SKU-2"), "{e}");
    assert_eq!(movement_count(&app).await, before);
    assert_eq!(level(&app, wh, s1).await, (12, 0));
    let res = admin
        .post(app.url(&format!("/stock/counts/{id}/finish")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("不能完成盘点：SKU SKU-2")
    );

    // Recounted at 4: finishing adjusts each difference once.
    put(json!({"lines": [{"sku_id": s2, "counted": 4}]}))
        .await
        .unwrap();
    let res = admin
        .post(app.url(&format!("/stock/counts/{id}/finish")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(level(&app, wh, s1).await, (11, 0), "12 minus the 1 missing");
    assert_eq!(level(&app, wh, s2).await, (4, 4));
    assert_eq!(level(&app, wh, s3).await, (2, 0));
    let adj = app
        .get_json(
            &admin,
            &format!("/api/v1/stock/movements?kind=count_adjust&ref_type=count&ref_id={id}"),
        )
        .await;
    assert_eq!(adj["total"], 3);
    let d = app
        .get_json(&admin, &format!("/api/v1/stock/counts/{id}"))
        .await;
    assert_eq!(d["count"]["status"], "done");
    let res = admin
        .post(app.url(&format!("/api/v1/stock/counts/{id}/finish")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409, "finished once");

    // A second count is cancelled: nothing changes.
    let d = body(
        app.post_json(&admin, "/api/v1/stock/counts", &json!({"warehouse_id": wh}))
            .await,
    )
    .await;
    let id2 = d["count"]["id"].as_i64().unwrap();
    assert_eq!(d["lines"].as_array().unwrap().len(), 3);
    let page = admin
        .get(app.url(&format!("/stock/counts/{id2}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(&format!("name=\"c_{s1}\""))
    );
    let res = admin
        .post(app.url(&format!("/stock/counts/{id2}/lines")))
        .form(&[
            (format!("c_{s1}"), "0".to_string()),
            (format!("c_{s2}"), String::new()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = admin
        .post(app.url(&format!("/api/v1/stock/counts/{id2}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await["count"]["status"], "cancelled");
    assert_eq!(level(&app, wh, s1).await, (11, 0));
    let actions = app.audit_actions().await;
    for a in ["count.start", "count.save", "count.finish", "count.cancel"] {
        assert!(actions.iter().any(|x| x == a), "{a}");
    }
}

/// The dashboard's low-stock card.
fn low_card(html: &str) -> &str {
    let start = html
        .find("data-testid=\"low-stock\"")
        .expect("low-stock card");
    let end = html[start..].find("</section>").unwrap() + start;
    &html[start..end]
}

#[tokio::test]
async fn low_stock_shows_on_the_dashboard_for_those_who_may_read_stock() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let wh = warehouse(&admin, &app, "HZ").await;
    let s1 = sku(&app, "SKU-LOW", "玫瑰精华").await;
    sku(&app, "SKU-OK", "洁面乳").await;
    purchase(&admin, &app, wh, "SKU-LOW", 5).await;
    purchase(&admin, &app, wh, "SKU-OK", 50).await;

    let html = admin
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(low_card(&html).contains("暂无低于预警值的 SKU"), "{html}");

    // The threshold is edited on the stock page.
    let res = admin
        .post(app.url("/stock/low-alert"))
        .form(&[
            ("warehouse_id", wh.to_string()),
            ("sku_id", s1.to_string()),
            ("low_alert", "5".into()),
            ("back", "/stock?q=SKU".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/stock?q=SKU");
    let html = admin
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let card = low_card(&html);
    assert!(
        card.contains("SKU-LOW") && !card.contains("SKU-OK") && card.contains("/stock?low=1"),
        "{card}"
    );

    let low = app.get_json(&admin, "/api/v1/stock?low=1").await;
    assert_eq!(low["total"], 1);
    assert_eq!(low["items"][0]["sku_code"], "SKU-LOW");
    assert_eq!(low["items"][0]["low"], true);
    let html = admin
        .get(app.url("/stock?low=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("SKU-LOW") && html.contains("low-tag") && !html.contains("SKU-OK"),
        "{html}"
    );

    // A negative threshold is refused.
    let res = app
        .put_json(
            &admin,
            "/api/v1/stock/low-alert",
            &json!({"warehouse_id": wh, "sku_id": s1, "low_alert": -1}),
        )
        .await;
    assert_eq!(res.status(), 422);

    // Someone without stock.read does not see the card.
    let role = app.role("clerk", &["audit.read"], "all").await;
    app.user("clerk", "Clerk-pass-1", vec![role]).await;
    let clerk = app.login("clerk", "Clerk-pass-1").await;
    let html = clerk
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("data-testid=\"low-stock\""), "{html}");
}

#[tokio::test]
async fn stock_and_movements_are_listed_filtered_and_exported() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let a = warehouse(&admin, &app, "HZ").await;
    let b = warehouse(&admin, &app, "SH").await;
    sku(&app, "SKU-1", "玫瑰精华").await;
    sku(&app, "SKU-2", "洁面乳").await;
    purchase(&admin, &app, a, "SKU-1", 10).await;
    purchase(&admin, &app, b, "SKU-1", 4).await;
    purchase(&admin, &app, a, "SKU-2", 7).await;

    // Per SKU per warehouse, with the SKU's total across warehouses.
    let page = app.get_json(&admin, "/api/v1/stock?q=SKU-1").await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["totals"][0]["on_hand"], 14);
    assert_eq!(page["totals"][0]["warehouses"], 2);
    let page = app
        .get_json(&admin, &format!("/api/v1/stock?warehouse={b}"))
        .await;
    assert_eq!(page["total"], 1);
    let page = app.get_json(&admin, "/api/v1/stock?q=洁面").await;
    assert_eq!(page["items"][0]["sku_code"], "SKU-2");
    let html = admin
        .get(app.url("/stock?per_page=10"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("合计（2 个仓库）") && html.contains("共 3 条"),
        "{html}"
    );

    let all = app.get_json(&admin, "/api/v1/stock/movements").await;
    assert_eq!(all["total"], 3);
    assert_eq!(all["items"][0]["sku_code"], "SKU-2", "newest first");
    let in_b = app
        .get_json(&admin, &format!("/api/v1/stock/movements?warehouse={b}"))
        .await;
    assert_eq!(in_b["total"], 1);
    let today = weiops_core::time::format_date(weiops::db::now_ms());
    let tomorrow = weiops_core::time::format_date(weiops::db::now_ms() + 86_400_000);
    let q = format!("/api/v1/stock/movements?sku=SKU-1&kind=purchase_in&from={today}&to={today}");
    assert_eq!(app.get_json(&admin, &q).await["total"], 2);
    let q = format!("/api/v1/stock/movements?from={tomorrow}");
    assert_eq!(app.get_json(&admin, &q).await["total"], 0);
    let res = admin
        .get(app.url("/api/v1/stock/movements?from=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = admin
        .get(app.url("/api/v1/stock/movements?kind=theft"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    let html = admin
        .get(app.url(&format!("/stock/movements?from={today}&to={today}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("采购入库") && html.contains("共 3 条"),
        "{html}"
    );

    let csv = admin
        .get(app.url("/stock/movements/export?format=csv&sku=SKU-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let bytes = csv.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("时间,仓库编码"), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("采购入库") && text.contains("+10"), "{text}");
    let xlsx = admin
        .get(app.url("/stock/movements/export?format=xlsx"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(xlsx.starts_with(b"PK"));
    let csv = admin
        .get(app.url("/stock/export?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("SKU-2") && csv.lines().count() == 4, "{csv}");
    let xlsx = admin
        .get(app.url("/stock/export?format=xlsx"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(xlsx.starts_with(b"PK"));

    // The remaining pages render.
    for p in [
        "/stock/counts",
        "/stock/in",
        "/stock/transfer",
        "/stock/write-off",
        "/stock/warehouses/new",
    ] {
        let res = admin.get(app.url(p)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{p}");
    }
    let api = app.get_json(&admin, "/api/openapi.json").await;
    assert!(api["paths"]["/api/v1/stock/counts/{id}/finish"]["post"].is_object());
}

#[tokio::test]
async fn reading_stock_does_not_allow_changing_it() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let wh = warehouse(&admin, &app, "HZ").await;
    sku(&app, "SKU-1", "玫瑰精华").await;
    let reader = app.role("stock_reader", &["stock.read"], "all").await;
    app.user("reader", "Reader-pass-1", vec![reader]).await;
    let none = app.role("nobody", &["audit.read"], "all").await;
    app.user("nobody", "Nobody-pass-1", vec![none]).await;
    let r = app.login("reader", "Reader-pass-1").await;
    let n = app.login("nobody", "Nobody-pass-1").await;

    assert_eq!(
        r.get(app.url("/api/v1/stock"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(r.get(app.url("/stock")).send().await.unwrap().status(), 200);
    let res = app
        .post_json(
            &r,
            "/api/v1/stock/movements",
            &json!({"kind": "purchase_in", "warehouse_id": wh, "sku_code": "SKU-1", "qty": 1}),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(body(res).await["error"]["code"], "forbidden");
    for (path, form) in [
        ("/stock/in", vec![("qty", "1")]),
        ("/stock/counts", vec![("warehouse_id", "1")]),
        ("/stock/warehouses", vec![("code", "X")]),
    ] {
        let res = r.post(app.url(path)).form(&form).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    let res = app
        .post_json(&r, "/api/v1/stock/counts", &json!({"warehouse_id": wh}))
        .await;
    assert_eq!(res.status(), 403);
    for path in [
        "/api/v1/stock",
        "/api/v1/stock/warehouses",
        "/api/v1/stock/movements",
    ] {
        assert_eq!(
            n.get(app.url(path)).send().await.unwrap().status(),
            403,
            "{path}"
        );
    }
    assert_eq!(
        n.get(app.url("/stock/movements"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(movement_count(&app).await, 0);
}
