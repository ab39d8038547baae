//! Money that agrees everywhere (issue 13): orders placed in weiops are
//! rewarded from the prices they were sold at (a SKU's own level prices),
//! a running month can only be previewed, the portal's "paid" is what
//! reached the wallet, and on random catalogues every page, API and export
//! shows the same figures as the wallets received.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use weiops::audit::Actor;
use weiops_core::time::Period;

use crate::common::fixtures::{portal, wallet};
use crate::common::{TestApp, body, spawn_app};
use crate::purchase::place_and_pay_for;
use crate::settlement::approver;

/// A ← B ← C ← D; A ← E ← F; B ← G (levels 1, 2, 4, 5, 3, 5, 4).
const AGENTS: &str = "id,name,phone,wechat,level,sponsor_id,status,joined_at\n\
A,张三,13800000001,a_wx,1,,active,2026-01-05T10:00:00+08:00\n\
B,李四,13800000002,b_wx,2,A,active,2026-02-01T09:30:00+08:00\n\
C,王五,13800000003,c_wx,4,B,active,2026-03-01T09:30:00Z\n\
D,赵六,13800000004,d_wx,5,C,active,2026-03-02T09:30:00+08:00\n\
E,钱七,13800000005,e_wx,3,A,active,2026-03-03T09:30:00+08:00\n\
F,孙八,13800000006,f_wx,5,E,active,2026-03-04T09:30:00+08:00\n\
G,周九,13800000007,g_wx,4,B,active,2026-03-05T09:30:00+08:00\n";

/// A small deterministic generator (no dependency for a test).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct World {
    admin: reqwest::Client,
    /// Agent code → id.
    agents: BTreeMap<String, i64>,
    skus: Vec<i64>,
}

async fn json_of(res: reqwest::Response) -> Value {
    body(res).await
}

/// The network, a product with `skus` SKUs of random retail prices, some
/// with prices of their own for random levels (set through the API, so
/// the price history has them), and stock of each.
async fn world(app: &TestApp, rng: &mut Rng, skus: usize) -> World {
    let system = Actor::system("test");
    let quiet = |_: &'static str, _: usize, _: usize| {};
    weiops::agents::import::import(&app.db, &system, AGENTS.as_bytes(), &quiet)
        .await
        .unwrap();
    let admin = app.login_admin().await;
    let product = json_of(
        app.post_json(
            &admin,
            "/api/v1/products",
            &json!({"code": "P1", "name": "玻尿酸面膜"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let now = weiops::db::now_ms();
    let warehouse: i64 = sqlx::query_scalar(
        "INSERT INTO warehouses (code, name, is_default, created_at) VALUES ('WH1', '总仓', 1, $1) RETURNING id",
    )
    .bind(now)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let mut ids = Vec::new();
    for i in 0..skus {
        let retail = 1_000 + rng.below(50_000) as i64;
        let sku = json_of(
            app.post_json(
                &admin,
                &format!("/api/v1/products/{product}/skus"),
                &json!({"code": format!("SKU-{i}"), "retail_fen": retail}),
            )
            .await,
        )
        .await["id"]
            .as_i64()
            .unwrap();
        // Prices of its own for some levels: below or even above the rate.
        let mut own = Vec::new();
        for level in 1..=5 {
            if rng.below(3) == 0 {
                own.push(json!({"level": level, "price_fen": 1 + rng.below(retail as u64) as i64}));
            }
        }
        if !own.is_empty() {
            let res = app
                .put_json(&admin, &format!("/api/v1/skus/{sku}/level-prices"), &own)
                .await;
            assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        }
        let mut tx = app.db.pool.begin().await.unwrap();
        weiops::stock::moves::adjust(
            &mut tx,
            &system,
            warehouse,
            sku,
            weiops::stock::moves::Kind::PurchaseIn,
            1_000,
            "opening stock",
            weiops::stock::moves::Ref { kind: "", id: "" },
        )
        .await
        .unwrap()
        .unwrap();
        tx.commit().await.unwrap();
        ids.push(sku);
    }
    let agents = sqlx::query_as::<_, (String, i64)>("SELECT code, id FROM agents")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    World {
        admin,
        agents,
        skus: ids,
    }
}

/// Places an order for `agent` (kept in cloud stock) and pays it from the
/// balance after a confirmed top-up; returns (order number, amount).
async fn place_paid(app: &TestApp, w: &World, agent: i64, lines: &[(i64, i64)]) -> (String, i64) {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(sku, qty)| json!({"sku_id": sku, "qty": qty}))
        .collect();
    let order = json!({"agent_id": agent, "lines": lines, "fulfilment": "cloud"});
    let paid = place_and_pay_for(app, &w.admin, agent, &order).await;
    (
        paid["order_no"].as_str().unwrap().to_string(),
        paid["amount_fen"].as_i64().unwrap(),
    )
}

/// Last month, which has ended: orders are moved there to be settled.
pub(crate) fn last_month() -> Period {
    Period::containing(weiops::db::now_ms()).unwrap().previous()
}

/// Moves an order's payment into the middle of last month.
pub(crate) async fn backdate(app: &TestApp, no: &str) {
    let at = last_month().bounds_ms().0 + 10 * 86_400_000;
    sqlx::query("UPDATE orders SET paid_at = $1, created_at = $1 WHERE order_no = $2")
        .bind(at)
        .bind(no)
        .execute(&app.db.pool)
        .await
        .unwrap();
}

async fn settle(app: &TestApp, admin: &reqwest::Client, period: Period) -> Value {
    let res = app
        .post_json(
            admin,
            "/api/v1/settlements",
            &json!({"period": period.to_string()}),
        )
        .await;
    assert_eq!(res.status(), 200);
    json_of(res).await
}

fn yuan(fen: i64) -> String {
    weiops_core::money::Fen(fen).to_string()
}

#[tokio::test]
async fn a_running_month_is_a_preview_that_cannot_be_approved_or_paid() {
    let app = spawn_app().await;
    let mut rng = Rng(7);
    let w = world(&app, &mut rng, 1).await;
    place_paid(&app, &w, w.agents["C"], &[(w.skus[0], 2)]).await;
    let this_month = Period::containing(weiops::db::now_ms()).unwrap();
    let run = settle(&app, &w.admin, this_month).await;
    assert_eq!(run["status"], "draft");
    assert_eq!(run["preview"], true, "{run}");
    let id = run["id"].as_i64().unwrap();

    // The page says so and offers no approval.
    let second = approver(&app).await;
    let page = second
        .get(app.url(&format!("/finance/settlements/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"settlement-preview\""),
        "{page}"
    );
    assert!(page.contains("data-testid=\"preview-hint\""), "{page}");
    assert!(!page.contains("data-testid=\"approve\""), "{page}");

    // Approval is refused before the month ends, by API and form alike.
    let res = second
        .post(app.url(&format!("/api/v1/settlements/{id}/approve")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let err = json_of(res).await;
    assert_eq!(err["error"]["code"], "conflict", "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("本月尚未结束"),
        "{err}"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM settlement_runs WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "draft");

    // A month that has ended is no preview.
    let run = settle(&app, &w.admin, last_month()).await;
    assert_eq!(run["preview"], false);
}

#[tokio::test]
async fn an_import_into_a_settled_month_is_refused_with_its_rows() {
    let app = spawn_app().await;
    let mut rng = Rng(11);
    let w = world(&app, &mut rng, 1).await;
    let (no, _) = place_paid(&app, &w, w.agents["C"], &[(w.skus[0], 1)]).await;
    backdate(&app, &no).await;
    let period = last_month();
    let run = settle(&app, &w.admin, period).await;
    let second = approver(&app).await;
    let res = second
        .post(app.url(&format!("/api/v1/settlements/{}/approve", run["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let (start, _) = period.bounds_ms();
    let rfc3339 = |ms: i64| jiff::Timestamp::from_millisecond(ms).unwrap().to_string();
    let in_settled = rfc3339(start + 3_600_000);
    let this_month = rfc3339(weiops::db::now_ms() - 1_000);
    let csv = format!(
        "id,agent_id,buyer_level,retail_fen,paid_at,status\n\
         X1,C,4,10000,{this_month},paid\n\
         X2,D,5,10000,{in_settled},paid\n"
    );
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let res = w
        .admin
        .post(app.url("/api/v1/orders/import"))
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("X2") && text.contains(&period.to_string()),
        "{text}"
    );
    assert!(
        text.contains("已结算") || text.contains("settled"),
        "{text}"
    );
    assert!(
        !text.contains("\"X1\""),
        "only the settled month's row: {text}"
    );
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(before, after, "nothing imported");
}

/// The walk's order: 3 × a SKU with its own level-4 price (¥159.00) and
/// 1 × a SKU at the level rate. 实付 is what C paid, in the order, its
/// reward explanation and the settlement.
#[tokio::test]
async fn rewards_of_an_order_are_computed_from_the_prices_it_was_sold_at() {
    let app = spawn_app().await;
    let mut rng = Rng(3);
    let w = world(&app, &mut rng, 2).await;
    let (own, plain) = (w.skus[0], w.skus[1]);
    sqlx::query("DELETE FROM sku_level_prices")
        .execute(&app.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE skus SET retail_fen = 23900 WHERE id = $1")
        .bind(own)
        .execute(&app.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE skus SET retail_fen = 19900 WHERE id = $1")
        .bind(plain)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let res = app
        .put_json(
            &w.admin,
            &format!("/api/v1/skus/{own}/level-prices"),
            &json!([{"level": 4, "price_fen": 15_900}]),
        )
        .await;
    assert_eq!(res.status(), 200);
    let (no, amount) = place_paid(&app, &w, w.agents["C"], &[(own, 3), (plain, 1)]).await;
    assert_eq!(
        amount,
        3 * 15_900 + 13_930,
        "C pays the SKU's own level-4 price"
    );

    // B (level 2) earns price_at(4) - price_at(2); A price_at(2) - price_at(1).
    let at2 = 3 * 11_950 + 9_950;
    let at1 = 3 * 9_560 + 7_960;
    let r = json_of(
        w.admin
            .get(app.url(&format!("/api/v1/orders/{no}/rewards")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r["paid_fen"], amount);
    let amounts: Vec<(String, String, i64)> = r["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["agent_code"].as_str().unwrap().to_string(),
                l["rule"].as_str().unwrap().to_string(),
                l["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        amounts,
        vec![
            ("B".into(), "level_diff".into(), amount - at2),
            ("A".into(), "level_diff".into(), at2 - at1),
            ("B".into(), "referral".into(), amount * 300 / 10_000),
            ("A".into(), "referral".into(), amount * 200 / 10_000),
        ]
    );
    let referral = r["lines"][2]["explanation"].as_str().unwrap();
    assert!(
        referral.contains(&yuan(amount)),
        "实付 is what C paid: {referral}"
    );
    let diff = r["lines"][0]["explanation"].as_str().unwrap();
    assert!(
        diff.contains(&yuan(amount)) && diff.contains(&yuan(at2)),
        "{diff}"
    );

    // The settlement of the month says the same.
    backdate(&app, &no).await;
    let run = settle(&app, &w.admin, last_month()).await;
    assert_eq!(run["orders_paid_fen"], amount);
    assert_eq!(
        run["total_fen"],
        amount - at1 + amount * 300 / 10_000 + amount * 200 / 10_000,
        "{run}"
    );
}

/// Orders placed before prices per level were kept get them from the lines
/// and the SKUs' price history; orders of a settled month keep the pricing
/// they were paid with.
#[tokio::test]
async fn orders_placed_before_the_repricing_are_repriced_once() {
    let app = spawn_app().await;
    let mut rng = Rng(5);
    let w = world(&app, &mut rng, 3).await;
    let (old, _) = place_paid(&app, &w, w.agents["C"], &[(w.skus[0], 2), (w.skus[1], 1)]).await;
    let (settled, _) = place_paid(&app, &w, w.agents["D"], &[(w.skus[2], 1)]).await;
    let stored = |no: String| {
        let pool = app.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT level_prices FROM orders WHERE order_no = $1",
            )
            .bind(no)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let placed = stored(old.clone()).await.unwrap();
    assert_eq!(placed.split(':').count(), 5, "{placed}");
    // A price changed after the order does not change what it cost.
    let res = app
        .put_json(
            &w.admin,
            &format!("/api/v1/skus/{}/level-prices", w.skus[0]),
            &json!([{"level": 1, "price_fen": 1}, {"level": 2, "price_fen": 2}]),
        )
        .await;
    assert_eq!(res.status(), 200);
    // As the data stood before this change, and one order in a month
    // already approved.
    backdate(&app, &settled).await;
    let run = settle(&app, &w.admin, last_month()).await;
    approver(&app)
        .await
        .post(app.url(&format!("/api/v1/settlements/{}/approve", run["id"])))
        .send()
        .await
        .unwrap();
    sqlx::query("UPDATE orders SET level_prices = NULL")
        .execute(&app.db.pool)
        .await
        .unwrap();

    assert_eq!(weiops::orders::pricing::backfill(&app.db).await.unwrap(), 1);
    assert_eq!(stored(old.clone()).await.as_deref(), Some(placed.as_str()));
    assert_eq!(stored(settled.clone()).await.as_deref(), Some(""));
    assert_eq!(weiops::orders::pricing::backfill(&app.db).await.unwrap(), 0);
    assert!(
        app.audit_actions()
            .await
            .contains(&"orders.reprice".to_string())
    );
}

/// Random catalogues with prices of their own: for every order the reward
/// lines add up to the settlement, the settlement to what the wallets
/// received, and the portal, the settlement page, the API and payouts.csv
/// show the same figures.
#[tokio::test]
async fn on_random_catalogues_every_figure_equals_what_the_wallets_received() {
    for seed in [1u64, 2, 3] {
        let app = spawn_app().await;
        let mut rng = Rng(seed);
        let w = world(&app, &mut rng, 4).await;
        let codes: Vec<String> = w.agents.keys().cloned().collect();
        let mut orders = Vec::new();
        for _ in 0..8 {
            let buyer = &codes[rng.below(codes.len() as u64) as usize];
            let mut lines: Vec<(i64, i64)> = Vec::new();
            for sku in &w.skus {
                if rng.below(2) == 0 {
                    lines.push((*sku, 1 + rng.below(4) as i64));
                }
            }
            if lines.is_empty() {
                lines.push((w.skus[0], 1));
            }
            let (no, amount) = place_paid(&app, &w, w.agents[buyer], &lines).await;
            orders.push((no, amount));
        }

        // Per order: paid is the amount, and its lines by agent.
        let mut by_agent: BTreeMap<String, i64> = BTreeMap::new();
        let mut paid_sum = 0;
        for (no, amount) in &orders {
            let r = json_of(
                w.admin
                    .get(app.url(&format!("/api/v1/orders/{no}/rewards")))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(r["paid_fen"], *amount, "seed {seed}: {r}");
            for l in r["lines"].as_array().unwrap() {
                *by_agent
                    .entry(l["agent_code"].as_str().unwrap().to_string())
                    .or_default() += l["amount_fen"].as_i64().unwrap();
            }
            paid_sum += amount;
            backdate(&app, no).await;
        }
        by_agent.retain(|_, v| *v > 0);

        let period = last_month();
        let run = settle(&app, &w.admin, period).await;
        assert_eq!(run["orders_paid_fen"], paid_sum, "seed {seed}");
        assert_eq!(
            run["total_fen"].as_i64().unwrap(),
            by_agent.values().sum::<i64>(),
            "seed {seed}: the settlement is the sum of the orders' lines"
        );
        let id = run["id"].as_i64().unwrap();
        let res = approver(&app)
            .await
            .post(app.url(&format!("/api/v1/settlements/{id}/approve")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = w
            .admin
            .post(app.url(&format!("/api/v1/settlements/{id}/pay")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        // payouts.csv, the API's results and the wallets.
        let csv = w
            .admin
            .get(app.url(&format!("/api/v1/settlements/{id}/export")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let payouts: BTreeMap<String, i64> = csv
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].to_string(), f[4].parse().unwrap())
            })
            .collect();
        assert_eq!(payouts, by_agent, "seed {seed}: payouts.csv");
        let page = w
            .admin
            .get(app.url(&format!("/finance/settlements/{id}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(&yuan(by_agent.values().sum())),
            "seed {seed}: the settlement page shows the total"
        );
        for (code, total) in &by_agent {
            let agent = w.agents[code];
            assert_eq!(
                wallet(&app, agent).await,
                *total,
                "seed {seed}: {code}'s wallet"
            );
            let api = json_of(
                w.admin
                    .get(app.url(&format!("/api/v1/rewards?agent={code}&period={period}")))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(api["paid_fen"], *total, "seed {seed}: {code} {api}");
            assert_eq!(api["net_fen"], *total);
            let lines: i64 = api["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["amount_fen"].as_i64().unwrap())
                .sum();
            assert_eq!(lines, *total, "seed {seed}: {code}'s explained lines");
        }
        // The portal of one earner says what reached the wallet.
        let (code, total) = by_agent.iter().next().unwrap();
        let phone: String = sqlx::query_scalar("SELECT phone FROM agents WHERE code = $1")
            .bind(code)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let m = portal(&app, w.agents[code], &phone).await;
        let page = m
            .get(app.url(&format!("/m/earnings?period={period}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let paid = page
            .split("data-testid=\"earnings-paid\"")
            .nth(1)
            .unwrap_or_else(|| panic!("seed {seed}: {page}"));
        assert!(paid.contains(&yuan(*total)), "seed {seed}: {paid}");
        let shown = page
            .split("data-testid=\"earnings-total\">")
            .nth(1)
            .unwrap();
        assert!(shown.starts_with(&yuan(*total)), "seed {seed}: {shown}");
    }
}

/// A frozen earner's net is held: the portal says held, not paid, and the
/// wallet has nothing until finance releases it.
#[tokio::test]
async fn a_held_reward_is_shown_held_not_paid() {
    let app = spawn_app().await;
    let mut rng = Rng(9);
    let w = world(&app, &mut rng, 1).await;
    let (no, _) = place_paid(&app, &w, w.agents["C"], &[(w.skus[0], 2)]).await;
    backdate(&app, &no).await;
    let run = settle(&app, &w.admin, last_month()).await;
    let id = run["id"].as_i64().unwrap();
    approver(&app)
        .await
        .post(app.url(&format!("/api/v1/settlements/{id}/approve")))
        .send()
        .await
        .unwrap();
    let b = w.agents["B"];
    sqlx::query("UPDATE agents SET status = 'frozen' WHERE id = $1")
        .bind(b)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let res = w
        .admin
        .post(app.url(&format!("/api/v1/settlements/{id}/pay")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let api = json_of(
        w.admin
            .get(app.url(&format!("/api/v1/rewards?agent=B&period={}", last_month())))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(api["held"], true);
    assert_eq!(api["paid_fen"], 0);
    assert!(api["net_fen"].as_i64().unwrap() > 0);
    assert_eq!(wallet(&app, b).await, 0);
}
