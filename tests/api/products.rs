//! Products: categories, products and SKUs through the API and the pages;
//! prices per level (the level's rate until a SKU sets its own), their
//! history and audit; refusals that write nothing; exports; pictures; and
//! the prices the orders code reads.

use serde_json::{Value, json};
use sqlx::Row;

use crate::common::fixtures::count;
use crate::common::{TestApp, body, spawn_app, spawn_app_with};

/// Rows of every table a product change writes, to show a refusal wrote none.
async fn footprint(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "product_categories",
        "products",
        "skus",
        "sku_level_prices",
        "sku_price_history",
        "audit_log",
    ] {
        out.push(count(app, t).await);
    }
    out
}

/// A product with one SKU at `retail_fen`; returns (product id, SKU id).
async fn product_with_sku(
    app: &TestApp,
    c: &reqwest::Client,
    code: &str,
    sku: &str,
    retail_fen: i64,
) -> (i64, i64) {
    let res = app
        .post_json(
            c,
            "/api/v1/products",
            &json!({"code": code, "name": format!("商品 {code}")}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let p = body(res).await["id"].as_i64().unwrap();
    let res = app
        .post_json(
            c,
            &format!("/api/v1/products/{p}/skus"),
            &json!({"code": sku, "spec": "500ml", "retail_fen": retail_fen, "weight_g": 600}),
        )
        .await;
    assert_eq!(res.status(), 201);
    (p, body(res).await["id"].as_i64().unwrap())
}

fn level_price(sku: &Value, level: i64) -> (i64, Value) {
    let lp = sku["level_prices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["level"] == level)
        .unwrap_or_else(|| panic!("level {level} in {sku}"));
    (
        lp["price_fen"].as_i64().unwrap(),
        lp["override_fen"].clone(),
    )
}

#[tokio::test]
async fn categories_products_and_skus_through_the_api() {
    let app = spawn_app().await;
    let c = app.login_admin().await;

    let res = app
        .post_json(
            &c,
            "/api/v1/categories",
            &json!({"name": "护肤", "sort_order": 1}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let cat = body(res).await;
    assert_eq!(cat["product_count"], 0);
    let dup = app
        .post_json(&c, "/api/v1/categories", &json!({"name": "护肤"}))
        .await;
    assert_eq!(dup.status(), 409);

    let res = app.post_json(&c, "/api/v1/products", &json!({"code": " wx-a01 ", "name": "玻尿酸精华", "category_id": cat["id"], "description": "补水"}))
    .await;
    assert_eq!(res.status(), 201);
    let p = body(res).await;
    assert_eq!(
        p["code"], "WX-A01",
        "codes are trimmed and stored in capitals"
    );
    assert_eq!(p["category_name"], "护肤");
    assert_eq!(p["on_sale"], true);
    assert_eq!(p["skus"], json!([]));
    let id = p["id"].as_i64().unwrap();

    let res = app.post_json(&c, &format!("/api/v1/products/{id}/skus"), &json!({"code": "WX-A01-30", "spec": "30ml", "barcode": "6901234567890", "retail_fen": 12800, "weight_g": 120}))
    .await;
    assert_eq!(res.status(), 201);
    let sku = body(res).await;
    assert_eq!(sku["retail_fen"], 12800);
    assert_eq!(sku["level_prices"].as_array().unwrap().len(), 5);

    let res = app.put_json(&c, &format!("/api/v1/products/{id}"), &json!({"code": "WX-A01", "name": "玻尿酸精华液", "category_id": null, "on_sale": false}))
    .await;
    assert_eq!(res.status(), 200);
    let p = body(res).await;
    assert_eq!(p["name"], "玻尿酸精华液");
    assert_eq!(p["on_sale"], false);
    assert_eq!(p["category_id"], Value::Null);
    assert_eq!(p["skus"][0]["code"], "WX-A01-30");
    assert_eq!(p["sku_count"], 1);

    // The list: search, category and on-sale filters.
    product_with_sku(&app, &c, "WX-B02", "WX-B02-1", 5000).await;
    let all = app.get_json(&c, "/api/v1/products").await;
    assert_eq!(all["total"], 2);
    let found = app.get_json(&c, "/api/v1/products?q=精华").await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["code"], "WX-A01");
    let found = app.get_json(&c, "/api/v1/products?q=b02").await;
    assert_eq!(
        found["items"][0]["code"], "WX-B02",
        "code search ignores case"
    );
    let off = app.get_json(&c, "/api/v1/products?on_sale=0").await;
    assert_eq!(off["total"], 1);
    assert_eq!(off["items"][0]["code"], "WX-A01");
    let in_cat = app
        .get_json(&c, &format!("/api/v1/products?category={}", cat["id"]))
        .await;
    assert_eq!(in_cat["total"], 0, "the product left the category");

    let cats = app.get_json(&c, "/api/v1/categories").await;
    assert_eq!(cats[0]["name"], "护肤");

    let actions = app.audit_actions().await;
    for a in [
        "category.create",
        "product.create",
        "sku.create",
        "product.update",
    ] {
        assert!(actions.contains(&a.to_string()), "{a} in {actions:?}");
    }
    let missing = c
        .get(app.url("/api/v1/products/9999"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // Documented in the OpenAPI description.
    let doc = app.get_json(&c, "/api/openapi.json").await;
    for path in [
        "/api/v1/products",
        "/api/v1/products/{id}",
        "/api/v1/products/{id}/skus",
        "/api/v1/skus/{id}",
        "/api/v1/skus/{id}/level-prices",
        "/api/v1/skus/{id}/price-history",
        "/api/v1/categories",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert!(doc["components"]["schemas"]["SkuInput"].is_object());
}

#[tokio::test]
async fn level_prices_follow_the_rate_until_overridden() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    // Levels: 1 at 40%, 2 at 50%, … 5 at 80% (the seeded defaults).
    let (_, sku) = product_with_sku(&app, &c, "P1", "P1-A", 9999).await;
    let s = app.get_json(&c, &format!("/api/v1/skus/{sku}")).await;
    assert_eq!(level_price(&s, 1), (3999, Value::Null), "floor(9999 × 40%)");
    assert_eq!(level_price(&s, 4), (6999, Value::Null));

    // An own price for level 1 only.
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/skus/{sku}/level-prices"),
            &json!([{"level": 1, "price_fen": 3000}]),
        )
        .await;
    assert_eq!(res.status(), 200);
    let s = body(res).await;
    assert_eq!(level_price(&s, 1), (3000, json!(3000)));
    assert_eq!(level_price(&s, 2), (4999, Value::Null));

    // A new retail price moves the levels that follow their rate only.
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/skus/{sku}"),
            &json!({"code": "P1-A", "spec": "500ml", "retail_fen": 20000, "weight_g": 600}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let s = body(res).await;
    assert_eq!(level_price(&s, 1), (3000, json!(3000)));
    assert_eq!(level_price(&s, 2), (10000, Value::Null));

    // So does a new level rate.
    let levels = json!([
        {"level": 1, "name": "联合创始人", "price_bp": 4000},
        {"level": 2, "name": "总代理", "price_bp": 5500},
        {"level": 3, "name": "省级代理", "price_bp": 6000},
        {"level": 4, "name": "市级代理", "price_bp": 7000},
        {"level": 5, "name": "特约代理", "price_bp": 8000}
    ]);
    assert_eq!(
        app.put_json(&c, "/api/v1/agent-levels", &levels)
            .await
            .status(),
        200
    );
    let s = app.get_json(&c, &format!("/api/v1/skus/{sku}")).await;
    assert_eq!(level_price(&s, 2), (11000, Value::Null));

    // Clearing the own price: level 1 follows its rate again.
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/skus/{sku}/level-prices"),
            &json!([{"level": 1, "price_fen": null}, {"level": 2, "price_fen": null}]),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(level_price(&body(res).await, 1), (8000, Value::Null));

    // Every change in the history, newest first; nothing for level 2,
    // which never had an own price to clear.
    let h = app
        .get_json(&c, &format!("/api/v1/skus/{sku}/price-history"))
        .await;
    let rows: Vec<(Value, Value, Value)> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["level"].clone(),
                r["old_fen"].clone(),
                r["new_fen"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (json!(1), json!(3000), Value::Null),
            (Value::Null, json!(9999), json!(20000)),
            (json!(1), Value::Null, json!(3000)),
            (Value::Null, Value::Null, json!(9999)),
        ]
    );
    assert!(
        h.as_array()
            .unwrap()
            .iter()
            .all(|r| r["actor_name"] == "admin")
    );

    // The audit log has each change, in the same transactions.
    let actions = app.audit_actions().await;
    assert_eq!(
        actions.iter().filter(|a| *a == "sku.level_prices").count(),
        2
    );
    assert_eq!(actions.iter().filter(|a| *a == "sku.update").count(), 1);
    let summary: String = sqlx::query(
        "SELECT summary FROM audit_log WHERE action = 'sku.update' AND entity_type = 'sku'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
    .try_get("summary")
    .unwrap();
    assert!(summary.contains("¥99.99 → ¥200.00"), "{summary}");

    // Setting the same prices again changes nothing and records nothing.
    let before = footprint(&app).await;
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/skus/{sku}/level-prices"),
            &json!([{"level": 1, "price_fen": null}]),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn duplicates_are_409_and_invalid_input_422_with_nothing_written() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let (p, sku) = product_with_sku(&app, &c, "DUP", "DUP-1", 1000).await;
    let before = footprint(&app).await;

    // Duplicate codes, in any case.
    let res = app
        .post_json(&c, "/api/v1/products", &json!({"code": "dup", "name": "x"}))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(body(res).await["error"]["code"], "conflict");
    let res = app
        .post_json(
            &c,
            &format!("/api/v1/products/{p}/skus"),
            &json!({"code": "dup-1", "retail_fen": 1}),
        )
        .await;
    assert_eq!(res.status(), 409);
    // A second product to collide with on update.
    let res = app
        .post_json(
            &c,
            "/api/v1/products",
            &json!({"code": "OTHER", "name": "y"}),
        )
        .await;
    let other = body(res).await["id"].as_i64().unwrap();
    let before_update = footprint(&app).await;
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/products/{other}"),
            &json!({"code": "DUP", "name": "y"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(footprint(&app).await, before_update);
    assert_ne!(before_update, before, "the second product was written");
    let before = before_update;

    // Invalid products: field errors, all at once.
    let res = app
        .post_json(
            &c,
            "/api/v1/products",
            &json!({"code": "含中文", "name": "  ", "category_id": 424242}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let e = body(res).await;
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["code", "name", "category_id"]);

    // Invalid SKUs.
    for bad in [
        json!({"code": "N1", "retail_fen": -1}),
        json!({"code": "N1", "retail_fen": 100, "weight_g": -5}),
        json!({"code": "N1", "retail_fen": 100, "barcode": "69 01"}),
        json!({"code": "", "retail_fen": 100}),
        json!({"code": "N1", "retail_fen": 1_000_000_001i64}),
    ] {
        let res = app
            .post_json(&c, &format!("/api/v1/products/{p}/skus"), &bad)
            .await;
        assert_eq!(res.status(), 422, "{bad}");
    }
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/skus/{sku}"),
            &json!({"code": "DUP-1", "retail_fen": -100}),
        )
        .await;
    assert_eq!(res.status(), 422);

    // Invalid level prices: the whole request is refused, the valid part too.
    for bad in [
        json!([{"level": 1, "price_fen": 500}, {"level": 7, "price_fen": 500}]),
        json!([{"level": 1, "price_fen": 500}, {"level": 2, "price_fen": 1001}]),
        json!([{"level": 1, "price_fen": -1}]),
        json!([{"level": 1, "price_fen": 500}, {"level": 1, "price_fen": 600}]),
    ] {
        let res = app
            .put_json(&c, &format!("/api/v1/skus/{sku}/level-prices"), &bad)
            .await;
        assert_eq!(res.status(), 422, "{bad}");
        let e = body(res).await;
        assert!(
            e["error"]["fields"][0]["field"]
                .as_str()
                .unwrap()
                .starts_with("levels.")
        );
    }
    let res = app
        .post_json(&c, "/api/v1/categories", &json!({"name": ""}))
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .post_json(
            &c,
            "/api/v1/products/9999/skus",
            &json!({"code": "Z", "retail_fen": 1}),
        )
        .await;
    assert_eq!(res.status(), 404);

    assert_eq!(
        footprint(&app).await,
        before,
        "nothing written by any refusal"
    );
}

#[tokio::test]
async fn reading_and_writing_need_their_permissions() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let (p, sku) = product_with_sku(&app, &admin, "PERM", "PERM-1", 1000).await;
    let reader = app.role("goods_reader", &["products.read"], "all").await;
    app.user("reader", "Reader-pass-1", vec![reader]).await;
    let nobody = app.role("nobody", &["audit.read"], "own").await;
    app.user("nobody", "Nobody-pass-1", vec![nobody]).await;
    let r = app.login("reader", "Reader-pass-1").await;
    let n = app.login("nobody", "Nobody-pass-1").await;
    let before = footprint(&app).await;

    assert_eq!(
        r.get(app.url("/api/v1/products"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        r.get(app.url(&format!("/products/{p}")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let writes = [
        app.post_json(&r, "/api/v1/products", &json!({"code": "X", "name": "x"}))
            .await,
        app.put_json(
            &r,
            &format!("/api/v1/products/{p}"),
            &json!({"code": "PERM", "name": "x"}),
        )
        .await,
        app.post_json(
            &r,
            &format!("/api/v1/products/{p}/skus"),
            &json!({"code": "X", "retail_fen": 1}),
        )
        .await,
        app.put_json(
            &r,
            &format!("/api/v1/skus/{sku}"),
            &json!({"code": "X", "retail_fen": 1}),
        )
        .await,
        app.put_json(
            &r,
            &format!("/api/v1/skus/{sku}/level-prices"),
            &json!([{"level": 1, "price_fen": 1}]),
        )
        .await,
        app.post_json(&r, "/api/v1/categories", &json!({"name": "x"}))
            .await,
        r.post(app.url("/products"))
            .form(&[("code", "X"), ("name", "x")])
            .send()
            .await
            .unwrap(),
        r.post(app.url(&format!("/products/{p}/skus")))
            .form(&[("code", "X"), ("retail", "1")])
            .send()
            .await
            .unwrap(),
    ];
    for res in writes {
        assert_eq!(res.status(), 403, "{}", res.url());
    }
    let page = r
        .get(app.url(&format!("/products/{p}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("data-testid=\"sku-add\""),
        "no add form without products.write"
    );
    assert_eq!(
        n.get(app.url("/api/v1/products"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        n.get(app.url("/products")).send().await.unwrap().status(),
        403
    );
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn pages_create_edit_price_and_delete() {
    let app = spawn_app().await;
    let c = app.login_admin().await;

    // A category, a product in it, and the form refusing a taken code.
    let res = c
        .post(app.url("/products/categories"))
        .form(&[("name", "彩妆"), ("sort_order", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cat: i64 = sqlx::query("SELECT id FROM product_categories WHERE name = '彩妆'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    let res = c
        .post(app.url("/products"))
        .form(&[
            ("code", "lip-01"),
            ("name", "口红"),
            ("category_id", &cat.to_string()),
            ("on_sale", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location.trim_start_matches("/products/").parse().unwrap();
    let res = c
        .post(app.url("/products"))
        .form(&[("code", "LIP-01"), ("name", "另一个")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("该编码已被使用"));
    let res = c
        .post(app.url("/products"))
        .form(&[("code", ""), ("name", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    // Edit: unchecked on-sale box takes the product off sale.
    let res = c
        .post(app.url(&format!("/products/{id}")))
        .form(&[
            ("code", "LIP-01"),
            ("name", "口红 Pro"),
            ("category_id", &cat.to_string()),
            ("description", "丝绒"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = c
        .get(app.url(&format!("/products/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("口红 Pro") && page.contains("丝绒") && page.contains("下架"));
    let res = c
        .post(app.url(&format!("/products/{id}/sale")))
        .form(&[("on_sale", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    // A SKU typed in yuan; a bad amount shows the form again.
    let res = c
        .post(app.url(&format!("/products/{id}/skus")))
        .form(&[
            ("code", "lip-01-red"),
            ("spec", "3.5g 正红"),
            ("retail", "12.505"),
            ("weight_g", "30"),
            ("on_sale", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(
        res.text().await.unwrap().contains("12.505"),
        "what was typed stays"
    );
    let res = c
        .post(app.url(&format!("/products/{id}/skus")))
        .form(&[
            ("code", "lip-01-red"),
            ("spec", "3.5g 正红"),
            ("retail", "¥1,299.50"),
            ("weight_g", "30"),
            ("on_sale", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let sku_page = res.headers()["location"].to_str().unwrap().to_string();
    let sku: i64 = sku_page.rsplit('/').next().unwrap().parse().unwrap();
    let retail: i64 = sqlx::query("SELECT retail_fen FROM skus WHERE id = $1")
        .bind(sku)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get("retail_fen")
        .unwrap();
    assert_eq!(retail, 129_950);

    // Prices per level: level 2 gets its own price, the rest follow.
    let form: Vec<(&str, &str)> = vec![
        ("level", "1"),
        ("price", ""),
        ("level", "2"),
        ("price", "600"),
        ("level", "3"),
        ("price", ""),
        ("level", "4"),
        ("price", ""),
        ("level", "5"),
        ("price", ""),
    ];
    let res = c
        .post(app.url(&format!("{sku_page}/prices")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let html = c
        .get(app.url(&sku_page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("¥600.00"), "the own price");
    assert!(html.contains("¥519.80"), "level 1: 40% of ¥1,299.50");
    assert!(
        html.contains("price-history"),
        "the history is on the SKU page"
    );
    let bad: Vec<(&str, &str)> = vec![("level", "1"), ("price", "abc")];
    let res = c
        .post(app.url(&format!("{sku_page}/prices")))
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    // Edit the SKU: a new retail price is one more history row.
    let res = c
        .post(app.url(&sku_page))
        .form(&[
            ("code", "LIP-01-RED"),
            ("spec", "3.5g 正红"),
            ("retail", "1399"),
            ("weight_g", "30"),
            ("on_sale", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(count(&app, "sku_price_history").await, 3);
    // A SKU under another product's address is not found.
    let res = c
        .get(app.url(&format!("/products/{}/skus/{sku}", id + 1)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // The list page with its filters.
    let html = c
        .get(app.url(&format!("/products?q=口红&category={cat}&on_sale=1")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("LIP-01") && html.contains("¥1,399.00"));
    let html = c
        .get(app.url("/products?on_sale=0"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("LIP-01"));

    // A category in use cannot be deleted; an empty one can, after a confirmation.
    let res = c
        .post(app.url(&format!("/products/categories/{cat}/delete")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(count(&app, "product_categories").await, 1);
    let html = c
        .get(app.url("/products/categories"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("分类下还有商品，不能删除"),
        "the flash says why"
    );
    c.post(app.url("/products/categories"))
        .form(&[("name", "空分类")])
        .send()
        .await
        .unwrap();
    let empty: i64 = sqlx::query("SELECT id FROM product_categories WHERE name = '空分类'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    let res = c
        .post(app.url(&format!("/products/categories/{empty}")))
        .form(&[("name", "新名字")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = c
        .post(app.url(&format!("/products/categories/{empty}/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a confirmation page first");
    assert!(res.text().await.unwrap().contains("新名字"));
    assert_eq!(count(&app, "product_categories").await, 2);
    let res = c
        .post(app.url(&format!("/products/categories/{empty}/delete")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(count(&app, "product_categories").await, 1);

    let actions = app.audit_actions().await;
    for a in [
        "category.create",
        "product.create",
        "product.update",
        "product.on_sale",
        "sku.create",
        "sku.level_prices",
        "sku.update",
        "category.rename",
        "category.delete",
    ] {
        assert!(actions.contains(&a.to_string()), "{a} in {actions:?}");
    }
    // The audit page names them in words.
    let html = c
        .get(app.url("/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("修改等级价格"));
}

#[tokio::test]
async fn the_list_exports_as_csv_and_excel_with_its_filters() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    product_with_sku(&app, &c, "EXP-1", "EXP-1-A", 1250).await;
    product_with_sku(&app, &c, "OTHER-9", "OTHER-9-A", 100).await;

    let res = c
        .get(app.url("/products/export?format=csv&q=EXP"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(
        text.starts_with("商品编码,商品名称,分类,SKU 数,零售价,状态"),
        "{text}"
    );
    assert!(text.contains("EXP-1,商品 EXP-1,,1,¥12.50,上架"), "{text}");
    assert!(!text.contains("OTHER-9"), "the filter applies");

    let res = c
        .get(app.url("/products/export?format=xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().starts_with(b"PK"));
    let res = c
        .get(app.url("/products/export?format=pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn orders_read_prices_per_level() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let (p1, a) = product_with_sku(&app, &c, "B-PROD", "B-1", 10000).await;
    let res = app
        .post_json(
            &c,
            &format!("/api/v1/products/{p1}/skus"),
            &json!({"code": "B-2", "retail_fen": 333, "on_sale": false}),
        )
        .await;
    let b_off = body(res).await["id"].as_i64().unwrap();
    product_with_sku(&app, &c, "A-PROD", "A-1", 999).await;
    let (p3, hidden) = product_with_sku(&app, &c, "C-PROD", "C-1", 5000).await;
    app.put_json(
        &c,
        &format!("/api/v1/products/{p3}"),
        &json!({"code": "C-PROD", "name": "下架商品", "on_sale": false}),
    )
    .await;
    app.put_json(
        &c,
        &format!("/api/v1/skus/{a}/level-prices"),
        &json!([{"level": 3, "price_fen": 5500}]),
    )
    .await;

    use weiops::products::store::{SkuPrice, catalogue_for_level, prices_for};
    let prices = prices_for(&app.db, &[hidden, 424242, a, b_off, a], 3)
        .await
        .unwrap();
    assert_eq!(
        prices.iter().map(|p| p.sku_id).collect::<Vec<_>>(),
        vec![hidden, a, b_off],
        "asked order, each once, unknown ids absent"
    );
    assert_eq!(
        prices[1],
        SkuPrice {
            sku_id: a,
            sku_code: "B-1".into(),
            product_id: p1,
            product_name: "商品 B-PROD".into(),
            has_image: false,
            spec: "500ml".into(),
            retail_fen: 10000,
            unit_price_fen: 5500,
            on_sale: true,
            weight_g: 600,
        }
    );
    assert_eq!(prices[0].unit_price_fen, 3000, "60% of ¥50.00");
    assert!(!prices[0].on_sale, "its product is off sale");
    assert!(!prices[2].on_sale, "the SKU is off sale");
    assert_eq!(prices[2].unit_price_fen, 199, "floor(333 × 60%)");
    let level1 = prices_for(&app.db, &[a], 1).await.unwrap();
    assert_eq!(
        level1[0].unit_price_fen, 4000,
        "the override is for level 3 only"
    );
    assert!(prices_for(&app.db, &[], 3).await.unwrap().is_empty());
    assert!(prices_for(&app.db, &[a], 9).await.is_err(), "no such level");

    let cat = catalogue_for_level(&app.db, 3).await.unwrap();
    assert_eq!(
        cat.iter()
            .map(|p| (p.sku_code.as_str(), p.unit_price_fen))
            .collect::<Vec<_>>(),
        vec![("A-1", 599), ("B-1", 5500)],
        "on-sale SKUs of on-sale products, by product code"
    );
    assert!(cat.iter().all(|p| p.on_sale));
}

/// The smallest valid PNG: a 1×1 transparent pixel.
pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";

pub(crate) async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    id: i64,
    bytes: Vec<u8>,
    name: &str,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    c.post(app.url(&format!("/products/{id}/image")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn pictures_are_checked_by_their_bytes_and_served_back() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let app = spawn_app_with(move |s| s.data_dir = Some(dir)).await;
    let c = app.login_admin().await;
    let (p, _) = product_with_sku(&app, &c, "IMG", "IMG-1", 100).await;
    assert_eq!(
        c.get(app.url(&format!("/products/{p}/image")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // A GIF named .png, and a picture over 2 MB: refused, nothing stored.
    let res = upload(&app, &c, p, b"GIF89a\x01\0\x01\0".to_vec(), "x.png").await;
    assert_eq!(res.status(), 303);
    let html = c
        .get(app.url(&format!("/products/{p}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("只支持 PNG、JPEG、WebP 图片"));
    let mut big = PNG.to_vec();
    big.resize(2 * 1024 * 1024 + 1, 0);
    let res = upload(&app, &c, p, big, "big.png").await;
    assert_eq!(res.status(), 303);
    let html = c
        .get(app.url(&format!("/products/{p}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("图片不能超过 2 MB"));
    assert_eq!(count(&app, "products WHERE image IS NOT NULL").await, 0);

    let res = upload(&app, &c, p, PNG.to_vec(), "pixel.bin").await;
    assert_eq!(res.status(), 303);
    let res = c
        .get(app.url(&format!("/products/{p}/image")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    let api = app.get_json(&c, &format!("/api/v1/products/{p}")).await;
    assert_eq!(api["image_url"], format!("/products/{p}/image"));

    // A JPEG replaces it; the old file goes.
    let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec();
    assert_eq!(
        upload(&app, &c, p, jpeg.clone(), "a.jpg").await.status(),
        303
    );
    let res = c
        .get(app.url(&format!("/products/{p}/image")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let files = std::fs::read_dir(data.path().join("uploads"))
        .unwrap()
        .count();
    assert_eq!(files, 1);

    // Removing it asks first.
    let res = c
        .post(app.url(&format!("/products/{p}/image/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = c
        .post(app.url(&format!("/products/{p}/image/delete")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        c.get(app.url(&format!("/products/{p}/image")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        std::fs::read_dir(data.path().join("uploads"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        app.audit_actions()
            .await
            .iter()
            .filter(|a| *a == "product.image")
            .count(),
        3
    );
}
