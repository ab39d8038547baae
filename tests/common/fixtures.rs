//! The worlds tests start from and the few figures they read back, in one
//! place for the HTTP and browser suites: an example agent network with a
//! product in stock (`shop`), an agent signed in to the portal, row counts,
//! stock, wallets and the books. A test file keeps only what its own story
//! needs.

use serde_json::{Value, json};
use weiops::audit::Actor;

use super::TestApp;

/// Three agents on one line (A sponsors B sponsors C), levels 1, 2 and 4.
pub const AGENTS: &str = "id,name,phone,wechat,level,sponsor_id,status,joined_at\n\
A,张三,13800000001,a_wx,1,,active,2026-01-05T10:00:00+08:00\n\
B,李四,13800000002,b_wx,2,A,active,2026-02-01T09:30:00+08:00\n\
C,王五,13800000003,c_wx,4,B,active,2026-03-01T09:30:00Z\n";

/// What [`shop`] made: the warehouse, the SKU, and agent C (level 4), who buys.
pub struct Shop {
    pub warehouse: i64,
    pub sku: i64,
    pub c: i64,
}

/// One product (`P1`, 玻尿酸面膜) with one SKU (`SKU-1`, retail ¥100) and a
/// default warehouse (`WH1`) holding `units` of it; (warehouse, SKU).
pub async fn goods(app: &TestApp, units: i64) -> (i64, i64) {
    let system = Actor::system("test");
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
    (warehouse, sku)
}

/// The example network ([`AGENTS`]) and [`goods`] with `units` in stock.
pub async fn shop(app: &TestApp, units: i64) -> Shop {
    let quiet = |_: &'static str, _: usize, _: usize| {};
    weiops::agents::import::import(&app.db, &Actor::system("test"), AGENTS.as_bytes(), &quiet)
        .await
        .unwrap();
    let (warehouse, sku) = goods(app, units).await;
    let c = agent_id(app, "C").await;
    Shop { warehouse, sku, c }
}

/// A ship-to-customer order of `qty` units of the shop's SKU for agent C.
pub fn order(shop: &Shop, qty: i64) -> Value {
    json!({
        "agent_id": shop.c,
        "lines": [{"sku_id": shop.sku, "qty": qty}],
        "fulfilment": "ship_to_customer",
        "receiver_name": "顾客甲",
        "receiver_phone": "139 1234 5678",
        "receiver_address": "浙江省杭州市西湖区文三路 100 号",
    })
}

/// The agent with this code.
pub async fn agent_id(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM agents WHERE code = $1")
        .bind(code)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// Signs the agent in to the portal (the password staff set changed to
/// the agent's own); returns the client holding the session.
pub async fn portal(app: &TestApp, agent_id: i64, phone: &str) -> reqwest::Client {
    let first =
        weiops::agents::portal_store::reset_password(&app.db, &Actor::system("test"), agent_id)
            .await
            .unwrap();
    let m = app.client();
    let res = m
        .post(app.url("/m/login"))
        .form(&[("phone", phone), ("password", first.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = m
        .post(app.url("/m/password"))
        .form(&[
            ("current", first.as_str()),
            ("new", "Portal-2026-pw"),
            ("confirm", "Portal-2026-pw"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    m
}

/// Rows in `from`: a table, or a table and a `WHERE` clause.
pub async fn count(app: &TestApp, from: &str) -> i64 {
    scalar(app, &format!("SELECT COUNT(*) FROM {from}")).await
}

/// The one whole number `sql` answers (a sum is cast to BIGINT: PostgreSQL
/// sums BIGINTs as NUMERIC).
pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// The shop's SKU in its warehouse: (on hand, reserved).
pub async fn stock(app: &TestApp, shop: &Shop) -> (i64, i64) {
    sqlx::query_as("SELECT on_hand, reserved FROM stock WHERE warehouse_id = $1 AND sku_id = $2")
        .bind(shop.warehouse)
        .bind(shop.sku)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// The agent's wallet (account 2242), in fen.
pub async fn wallet(app: &TestApp, agent_id: i64) -> i64 {
    weiops::ledger::wallet_balance(&app.db.pool, agent_id)
        .await
        .unwrap()
        .0
}

/// [`wallet`] of the agent with this code.
pub async fn wallet_of(app: &TestApp, code: &str) -> i64 {
    wallet(app, agent_id(app, code).await).await
}

/// Debits equal credits over every journal line.
pub async fn debits_equal_credits(app: &TestApp) {
    let (d, c): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(debit_fen), 0) AS BIGINT), CAST(COALESCE(SUM(credit_fen), 0) AS BIGINT) FROM journal_lines",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(d, c);
}

/// Every posted entry balances, and debits equal credits overall.
pub async fn books_balance(app: &TestApp) {
    let unbalanced: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM journal_entries e WHERE e.posted = 1 AND e.debit_fen <> \
         (SELECT COALESCE(SUM(l.debit_fen), 0) FROM journal_lines l WHERE l.entry_id = e.id)",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(unbalanced, 0);
    debits_equal_credits(app).await;
}
