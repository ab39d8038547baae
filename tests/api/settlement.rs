//! Rewards and settlement through the API: the spec's worked example, the
//! compliance guard, approval by a second person, once per period,
//! payouts.csv, refunds clawed back after settlement, held rewards.

use serde_json::{Value, json};

use crate::common::fixtures::{agent_id, books_balance, wallet_of};
use crate::common::{TestApp, body, spawn_app};

/// The worked example of shared/spec/settlement.md: A ← B ← C ← D, all active.
const AGENTS: &str = "id,name,phone,wechat,level,sponsor_id,status,joined_at\n\
A,张三,13800000001,a_wx,1,,active,2026-01-05T10:00:00+08:00\n\
B,李四,13800000002,b_wx,2,A,active,2026-02-01T09:30:00+08:00\n\
C,王五,13800000003,c_wx,4,B,active,2026-03-01T09:30:00Z\n\
D,赵六,13800000004,d_wx,5,C,active,2026-03-02T09:30:00+08:00\n";

/// C and D buy ¥100 each in October (Beijing), one order just before the
/// month ends; one paid 00:00 on 1 November and one refunded order.
const ORDERS: &str = "id,agent_id,buyer_level,retail_fen,paid_at,status\n\
O1,C,4,10000,2026-10-15T10:00:00+08:00,paid\n\
O2,D,5,10000,2026-10-31T15:59:59.999Z,paid\n\
O3,D,5,10000,2026-10-31T16:00:00Z,paid\n\
O4,C,4,99999,2026-10-20T10:00:00+08:00,refunded\n";

const PAYOUTS: &str = "agent_id,level_diff_fen,referral_fen,team_fen,total_fen\n\
A,1000,140,0,1140\n\
B,4000,370,0,4370\n\
C,1000,240,0,1240\n";

pub(crate) async fn setup(app: &TestApp) -> reqwest::Client {
    let admin = app.login_admin().await;
    let res = admin
        .post(app.url("/api/v1/agents/import"))
        .body(AGENTS)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let job = body(res).await["job_id"].as_i64().unwrap();
    for _ in 0..200 {
        let j = app.get_json(&admin, &format!("/api/v1/jobs/{job}")).await;
        if j["status"] == "done" {
            break;
        }
        assert_ne!(j["status"], "failed", "{j}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let res = admin
        .post(app.url("/api/v1/orders/import"))
        .body(ORDERS)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let report = body(res).await;
    assert_eq!(report["orders"], 4);
    assert_eq!(report["paid"], 3);
    admin
}

pub(crate) async fn approver(app: &TestApp) -> reqwest::Client {
    let role = app
        .role(
            "fin_approver",
            &["finance.read", "finance.approve", "rewards.read"],
            "all",
        )
        .await;
    app.user("approver", "Approver-pass-1", vec![role]).await;
    app.login("approver", "Approver-pass-1").await
}

pub(crate) async fn create(
    admin: &reqwest::Client,
    app: &TestApp,
    period: &str,
) -> reqwest::Response {
    app.post_json(admin, "/api/v1/settlements", &json!({"period": period}))
        .await
}

#[tokio::test]
async fn the_worked_example_settles_to_the_fen_once_with_a_second_approver() {
    let app = spawn_app().await;
    let admin = setup(&app).await;

    let run = body(create(&admin, &app, "2026-10").await).await;
    assert_eq!(run["status"], "draft");
    assert_eq!(
        run["orders_count"], 2,
        "O3 is November in Beijing, O4 refunded"
    );
    assert_eq!(run["total_fen"], 1140 + 4370 + 1240);
    let id = run["id"].as_i64().unwrap();

    let csv = admin
        .get(app.url(&format!("/api/v1/settlements/{id}/export")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv, PAYOUTS);
    let xlsx = admin
        .get(app.url(&format!("/api/v1/settlements/{id}/export?format=xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));

    // Recomputing a draft is free and gives the same result.
    let again = body(
        admin
            .post(app.url(&format!("/api/v1/settlements/{id}/recompute")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again["total_fen"], run["total_fen"]);

    // The creator cannot approve their own run.
    let res = admin
        .post(app.url(&format!("/api/v1/settlements/{id}/approve")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let second = approver(&app).await;
    let approved = body(
        second
            .post(app.url(&format!("/api/v1/settlements/{id}/approve")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["approved_by_name"], "approver");

    // Settled at most once: creating or recomputing again is refused.
    assert_eq!(create(&admin, &app, "2026-10").await.status(), 409);
    let res = admin
        .post(app.url(&format!("/api/v1/settlements/{id}/recompute")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);

    let paid = body(
        admin
            .post(app.url(&format!("/api/v1/settlements/{id}/pay")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(wallet_of(&app, "A").await, 1140);
    assert_eq!(wallet_of(&app, "B").await, 4370);
    assert_eq!(wallet_of(&app, "C").await, 1240);
    assert_eq!(wallet_of(&app, "D").await, 0);
    // Paying twice pays nothing twice.
    let res = admin
        .post(app.url(&format!("/api/v1/settlements/{id}/pay")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(wallet_of(&app, "B").await, 4370);
    books_balance(&app).await;

    let actions = app.audit_actions().await;
    for a in [
        "order.import",
        "settlement.create",
        "settlement.recompute",
        "settlement.approve",
        "settlement.pay",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }

    // The explanation of B's month, line by line.
    let r = body(
        admin
            .get(app.url("/api/v1/rewards?agent=B&period=2026-10"))
            .header("Accept-Language", "en")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r["total_fen"], 4370);
    assert_eq!(r["settlement"], "paid");
    let lines = r["lines"].as_array().unwrap();
    let c_diff = lines
        .iter()
        .find(|l| l["order_no"] == "O1" && l["rule"] == "level_diff")
        .unwrap();
    assert_eq!(c_diff["amount_fen"], 2000);
    assert_eq!(c_diff["from_level"], 4);
    assert_eq!(c_diff["to_level"], 2);
    let text = c_diff["explanation"].as_str().unwrap();
    assert!(
        text.contains("¥100.00") && text.contains("4→2") && text.contains("¥20.00"),
        "{text}"
    );
}

#[tokio::test]
async fn a_stale_draft_must_be_recomputed_before_approval() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let run = body(create(&admin, &app, "2026-10").await).await;
    let id = run["id"].as_i64().unwrap();
    // A refund in the month changes what the draft was computed from.
    let res = admin
        .post(app.url("/api/v1/orders/O1/refund"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let second = approver(&app).await;
    let res = second
        .post(app.url(&format!("/api/v1/settlements/{id}/approve")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let run = body(
        admin
            .post(app.url(&format!("/api/v1/settlements/{id}/recompute")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Only D's order is left: C 1,240, B 2,000 + 160.
    assert_eq!(run["total_fen"], 1240 + 2160);
    // The recomputer is now an author too; the second person approves.
    let res = second
        .post(app.url(&format!("/api/v1/settlements/{id}/approve")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_refund_after_settlement_is_clawed_back_the_next_month() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let id = body(create(&admin, &app, "2026-10").await).await["id"]
        .as_i64()
        .unwrap();
    let second = approver(&app).await;
    assert_eq!(
        second
            .post(app.url(&format!("/api/v1/settlements/{id}/approve")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    admin
        .post(app.url(&format!("/api/v1/settlements/{id}/pay")))
        .send()
        .await
        .unwrap();

    let out = body(
        admin
            .post(app.url("/api/v1/orders/O1/refund"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // O1 paid B 2,000 + 210 and A 1,000 + 140.
    assert_eq!(out["clawback_fen"], -(2210 + 1140));
    assert_eq!(out["clawback_period"], "2026-11");
    // Refunding twice is refused.
    let res = admin
        .post(app.url("/api/v1/orders/O1/refund"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);

    // October is still explained as it was settled and paid.
    let oct = app
        .get_json(&admin, "/api/v1/rewards?agent=B&period=2026-10")
        .await;
    assert_eq!(oct["total_fen"], 4370);

    let r = app
        .get_json(&admin, "/api/v1/rewards?agent=B&period=2026-11")
        .await;
    let claws: i64 = r["clawbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["amount_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(claws, -2210);

    // November: D's O3 earns C 1,240 and B 2,160; B's clawback nets it.
    let nov = body(create(&admin, &app, "2026-11").await).await;
    assert_eq!(nov["adjust_fen"], -(2210 + 1140));
    let nid = nov["id"].as_i64().unwrap();
    assert_eq!(
        second
            .post(app.url(&format!("/api/v1/settlements/{nid}/approve")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    admin
        .post(app.url(&format!("/api/v1/settlements/{nid}/pay")))
        .send()
        .await
        .unwrap();
    assert_eq!(wallet_of(&app, "B").await, 4370 + 2160 - 2210);
    assert_eq!(wallet_of(&app, "A").await, 1140 - 1140);
    assert_eq!(wallet_of(&app, "C").await, 1240 + 1240);
    // payouts.csv is the spec's: rule totals of the month's orders only.
    let csv = admin
        .get(app.url(&format!("/api/v1/settlements/{nid}/export")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv,
        "agent_id,level_diff_fen,referral_fen,team_fen,total_fen\nB,2000,160,0,2160\nC,1000,240,0,1240\n"
    );
    books_balance(&app).await;
}

#[tokio::test]
async fn agents_frozen_at_payment_are_held_until_active_again() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let id = body(create(&admin, &app, "2026-10").await).await["id"]
        .as_i64()
        .unwrap();
    let second = approver(&app).await;
    second
        .post(app.url(&format!("/api/v1/settlements/{id}/approve")))
        .send()
        .await
        .unwrap();
    let b = agent_id(&app, "B").await;
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/agents/{b}/status"),
            &json!({"status": "frozen", "reason": "违规发圈"}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let paid = body(
        admin
            .post(app.url(&format!("/api/v1/settlements/{id}/pay")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(paid["held_fen"], 4370);
    assert_eq!(wallet_of(&app, "B").await, 0);
    let held = app
        .get_json(
            &admin,
            &format!("/api/v1/settlements/{id}/results?held=true"),
        )
        .await;
    assert_eq!(held["total"], 1);
    assert_eq!(held["items"][0]["agent_code"], "B");

    // Still frozen: nothing to release.
    let r = body(
        admin
            .post(app.url(&format!("/api/v1/settlements/{id}/release")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r["agents"], 0);
    app.post_json(
        &admin,
        &format!("/api/v1/agents/{b}/status"),
        &json!({"status": "active", "reason": "整改完成"}),
    )
    .await;
    let r = body(
        admin
            .post(app.url(&format!("/api/v1/settlements/{id}/release")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r["agents"], 1);
    assert_eq!(wallet_of(&app, "B").await, 4370);
    books_balance(&app).await;
}

#[tokio::test]
async fn the_compliance_guard_refuses_and_saves_nothing() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let plan = app.get_json(&admin, "/api/v1/reward-plan").await;
    assert_eq!(plan["version"], 0);
    assert_eq!(plan["plan"]["team_bonus"], false);
    let base = plan["plan"].clone();

    let refused = |patch: Value| {
        let mut p = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    for (patch, key) in [
        (json!({"referral_bp": [300, 200, 100]}), "多级分销"),
        (json!({"max_generations": 3}), "多级分销"),
        (json!({"team_generations": 3}), "多级分销"),
        (json!({"recruitment_reward_fen": 5000}), "拉人头"),
        (json!({"entry_purchase_reward_bp": 1000}), "入门费"),
    ] {
        let res = admin
            .put(app.url("/api/v1/reward-plan"))
            .header("Accept-Language", "zh-CN")
            .json(&refused(patch.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{patch}");
        let text = res.text().await.unwrap();
        assert!(text.contains(key), "{patch}: {text}");
        assert!(text.contains("传销"), "the rule is cited: {text}");
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reward_plans")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing saved");

    // The team bonus needs an explicit, audited confirmation.
    let on = refused(json!({"team_bonus": true}));
    let res = app.put_json(&admin, "/api/v1/reward-plan", &on).await;
    assert_eq!(res.status(), 422, "the confirmation is a missing field");
    let mut confirmed = on.clone();
    confirmed["confirm_team_bonus"] = json!(true);
    let saved = body(
        app.put_json(&admin, "/api/v1/reward-plan", &confirmed)
            .await,
    )
    .await;
    assert_eq!(saved["version"], 1);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "reward_plan.team_bonus_on")
    );
    let c = app.get_json(&admin, "/api/v1/compliance").await;
    assert_eq!(c["report"]["team_bonus_warning"], true);
    assert_eq!(c["report"]["deepest"], 2);
    let classes: Vec<&str> = c["report"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["class"].as_str().unwrap())
        .collect();
    assert_eq!(
        classes,
        ["reseller_margin", "reward_on_purchases", "team_based_pay"]
    );

    // Without the permission: 403, nothing saved.
    let role = app.role("viewer", &["rewards.read"], "all").await;
    app.user("viewer", "Viewer-pass-1", vec![role]).await;
    let viewer = app.login("viewer", "Viewer-pass-1").await;
    let res = app.put_json(&viewer, "/api/v1/reward-plan", &base).await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn a_bad_orders_file_is_refused_whole_with_lines() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let bad = "id,agent_id,buyer_level,retail_fen,paid_at,status\n\
X1,C,4,10000,2026-10-15T10:00:00+08:00,paid\n\
X1,Z,4,-5,2026-10-15 10:00:00,paid\n\
O1,C,9,10000,2026-10-15T10:00:00+08:00,sent\n";
    let res = admin
        .post(app.url("/api/v1/orders/import"))
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let err = body(res).await;
    let rows: Vec<(i64, String)> = err["error"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_i64().unwrap(),
                r["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        (3, "agent_id"), // unknown buyer Z
        (3, "retail_fen"),
        (3, "paid_at"),
        (3, "id"), // X1 repeated
        (4, "buyer_level"),
        (4, "status"),
        (4, "id"), // O1 stored already
    ] {
        assert!(
            rows.iter()
                .any(|(l, c)| *l == expected.0 && c == expected.1),
            "{expected:?} in {rows:?}"
        );
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 4, "nothing of the bad file stored");
}

/// xorshift64*: deterministic cases, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct RefAgent {
    code: String,
    level: usize,
    sponsor: Option<usize>,
    active: bool,
}

/// The spec's rules written as plainly as possible (reference configuration,
/// all three rules on), for comparison with the engine behind the API.
fn reference_payouts(agents: &[RefAgent], orders: &[(usize, usize, i128)]) -> String {
    let price = [0i128, 4000, 5000, 6000, 7000, 8000];
    let referral = [0i128, 300, 200];
    let tiers = [
        (10_000_000i128, 200i128),
        (50_000_000, 400),
        (200_000_000, 600),
    ];
    let n = agents.len();
    let (mut ld, mut rf, mut v) = (vec![0i128; n], vec![0i128; n], vec![0i128; n]);
    for &(buyer, bl, retail) in orders {
        let paid = retail * price[bl] / 10_000;
        let mut best = bl;
        let mut cur = buyer;
        for _g in 1..=2 {
            let Some(u) = agents[cur].sponsor else { break };
            if agents[u].active && agents[u].level < best {
                ld[u] += retail * price[best] / 10_000 - retail * price[agents[u].level] / 10_000;
                best = agents[u].level;
            }
            if best == 1 {
                break;
            }
            cur = u;
        }
        let mut cur = buyer;
        for rate in &referral[1..] {
            let Some(u) = agents[cur].sponsor else { break };
            if agents[u].active && agents[u].level <= bl {
                rf[u] += paid * rate / 10_000;
            }
            cur = u;
        }
        let mut x = Some(buyer);
        for _ in 0..=2 {
            let Some(c) = x else { break };
            v[c] += paid;
            x = agents[c].sponsor;
        }
    }
    let mut rows: Vec<(String, String)> = Vec::new();
    for i in 0..n {
        let a = &agents[i];
        let mut team = 0;
        if a.active
            && a.level <= 2
            && let Some((_, rate)) = tiers.iter().rev().find(|(t, _)| v[i] >= *t)
        {
            team = v[i] * rate / 10_000;
        }
        let total = ld[i] + rf[i] + team;
        if total > 0 {
            rows.push((
                a.code.clone(),
                format!("{},{},{},{},{}\n", a.code, ld[i], rf[i], team, total),
            ));
        }
    }
    rows.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::from("agent_id,level_diff_fen,referral_fen,team_fen,total_fen\n");
    for (_, r) in rows {
        out.push_str(&r);
    }
    out
}

/// Random forests and orders through the whole stack (import, settle,
/// payouts.csv) against the plain reference: frozen agents, refunds, orders
/// on both sides of the +08:00 month boundaries, retail up to 10^12 fen.
#[tokio::test]
async fn random_networks_settle_exactly_like_the_reference() {
    use weiops::audit::Actor;
    let system = Actor::system("test");
    let quiet = |_: &'static str, _: usize, _: usize| {};
    // 2026-11-01T00:00:00+08:00 and 2026-12-01T00:00:00+08:00 in UTC seconds.
    let start = jiff::Timestamp::from_second(1_793_462_400).unwrap();
    let end = jiff::Timestamp::from_second(1_796_054_400).unwrap();
    assert_eq!(start.to_string(), "2026-10-31T16:00:00Z");
    for case in 0..6u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (case + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let app = spawn_app().await;
        // Turn the team bonus on (reference configuration).
        let mut input = weiops::rewards::plan::PlanInput::from_plan(
            &weiops::rewards::plan::current(&app.db).await.unwrap(),
        );
        input.team_bonus = true;
        input.confirm_team_bonus = true;
        weiops::rewards::plan::save(&app.db, &system, &input)
            .await
            .unwrap();

        let n = 20 + rng.below(30) as usize;
        let mut agents = Vec::new();
        let mut csv = String::from("id,name,phone,wechat,level,sponsor_id,status,joined_at\n");
        for i in 0..n {
            let sponsor = if i == 0 || rng.below(8) == 0 {
                None
            } else {
                Some(rng.below(i as u64) as usize)
            };
            let level = 1 + rng.below(5) as usize;
            let active = rng.below(5) != 0;
            let code = format!("R{case}-{i:03}");
            csv.push_str(&format!(
                "{code},代理{i},139{i:08},wx{i},{level},{},{},2026-01-01T00:00:00+08:00\n",
                sponsor
                    .map(|s| format!("R{case}-{s:03}"))
                    .unwrap_or_default(),
                if active { "active" } else { "frozen" }
            ));
            agents.push(RefAgent {
                code,
                level,
                sponsor,
                active,
            });
        }
        weiops::agents::import::import(&app.db, &system, csv.as_bytes(), &quiet)
            .await
            .expect("agents");

        let mut counted = Vec::new();
        let mut ocsv = String::from("id,agent_id,buyer_level,retail_fen,paid_at,status\n");
        for k in 0..250 {
            let buyer = rng.below(n as u64) as usize;
            let bl = 1 + rng.below(5) as usize;
            let retail: i128 = match rng.below(4) {
                0 => rng.below(1_000_000_000_001) as i128, // up to 10^12 fen
                _ => rng.below(2_000_000) as i128,
            };
            // Around either boundary, to the millisecond, written in UTC
            // or in +08:00.
            let edge = if rng.below(2) == 0 { start } else { end };
            let offset_ms = rng.below(4 * 3_600_000) as i64 - 2 * 3_600_000;
            let at = edge
                .checked_add(jiff::SignedDuration::from_millis(offset_ms))
                .unwrap();
            let shown = if rng.below(2) == 0 {
                at.to_string()
            } else {
                at.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                    .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
                    .to_string()
            };
            let refunded = rng.below(10) == 0;
            ocsv.push_str(&format!(
                "O{case}-{k},{},{bl},{retail},{shown},{}\n",
                agents[buyer].code,
                if refunded { "refunded" } else { "paid" }
            ));
            let in_november = at >= start && at < end;
            if in_november && !refunded {
                counted.push((buyer, bl, retail));
            }
        }
        weiops::orders::import::import(
            &app.db,
            &system,
            weiops::orders::import::Source::Bytes(ocsv.as_bytes()),
            &quiet,
        )
        .await
        .expect("orders");
        let period = weiops_core::time::Period::parse("2026-11").unwrap();
        let run = weiops::rewards::settlement::compute(&app.db, &system, period)
            .await
            .unwrap()
            .run;
        assert_eq!(run.orders_count, counted.len() as i64, "case {case}");
        let got = weiops::rewards::settlement::payouts_csv(&app.db, run.id)
            .await
            .unwrap();
        assert_eq!(got, reference_payouts(&agents, &counted), "case {case}");
    }
}

#[tokio::test]
async fn orders_import_from_an_excel_workbook() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let rows = [
        [
            "id",
            "agent_id",
            "buyer_level",
            "retail_fen",
            "paid_at",
            "status",
            "备注",
        ],
        [
            "X1",
            "C",
            "4",
            "10000",
            "2026-11-02T10:00:00+08:00",
            "paid",
            "门店",
        ],
        [
            "X2",
            "D",
            "5",
            "20000",
            "2026-11-03T10:00:00+08:00",
            "refunded",
            "",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    let bytes = book.save_to_buffer().unwrap();
    let res = admin
        .post(app.url("/api/v1/orders/import"))
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let report = body(res).await;
    assert_eq!(report["orders"], 2);
    assert_eq!(report["paid"], 1);
    assert_eq!(report["paid_fen"], 7000);
    // Team purchases on the agent pages follow the counted order up the path.
    let team: i64 = sqlx::query_scalar(
        "SELECT s.team_fen FROM agent_team_sales s JOIN agents a ON a.id = s.agent_id WHERE a.code = 'A' AND s.period = '2026-11'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    // O3 (D, ¥80 paid, 1 November) and X1 (C, ¥70).
    assert_eq!(team, 8000 + 7000);
    // The order list page shows them.
    let page = admin
        .get(app.url("/orders?q=X"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("X1") && page.contains("X2") && !page.contains(">O1<"),
        "{page}"
    );
}

#[tokio::test]
async fn the_settlement_pages_compute_a_draft_as_a_job() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let res = admin
        .post(app.url("/finance/settlements"))
        .form(&[("period", "2026-10")])
        .send()
        .await
        .unwrap();
    let job_url = res.headers()["location"].to_str().unwrap().to_string();
    assert!(job_url.starts_with("/jobs/"), "{job_url}");
    let id: i64 = job_url.trim_start_matches("/jobs/").parse().unwrap();
    let mut run_id = 0;
    for _ in 0..200 {
        let j = app.get_json(&admin, &format!("/api/v1/jobs/{id}")).await;
        if j["status"] == "done" {
            run_id = j["result"]["run_id"].as_i64().unwrap();
            break;
        }
        assert_ne!(j["status"], "failed", "{j}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let page = admin
        .get(app.url(&format!("/jobs/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("/finance/settlements/{run_id}")),
        "{page}"
    );
    let page = admin
        .get(app.url(&format!("/finance/settlements/{run_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("¥67.50") && page.contains("李四"), "{page}");
    // The creator sees why they cannot approve.
    assert!(page.contains("data-testid=\"own-run\""), "{page}");

    // Approve and pay from the pages, each after its confirmation.
    let second = approver(&app).await;
    let confirm = second
        .post(app.url(&format!("/finance/settlements/{run_id}/approve")))
        .form(&[("x", "")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("data-testid=\"confirm\""), "{confirm}");
    let res = second
        .post(app.url(&format!("/finance/settlements/{run_id}/approve")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let done = second
        .get(app.url(&format!("/finance/settlements/{run_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("已审批"), "{done}");
    // A month already settled cannot be computed again from the page.
    let again = admin
        .post(app.url("/finance/settlements"))
        .form(&[("period", "2026-10")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["location"], "/finance/settlements");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM settlement_runs")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn an_orders_reward_lines_are_listed_and_explained() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let o = app.get_json(&admin, "/api/v1/orders/O1/rewards").await;
    let lines: Vec<(String, String, i64, i64)> = o["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["agent_code"].as_str().unwrap().to_string(),
                l["rule"].as_str().unwrap().to_string(),
                l["generation"].as_i64().unwrap(),
                l["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("B".to_string(), "level_diff".to_string(), 1, 2000),
            ("A".to_string(), "level_diff".to_string(), 2, 1000),
            ("B".to_string(), "referral".to_string(), 1, 210),
            ("A".to_string(), "referral".to_string(), 2, 140),
        ]
    );
    assert_eq!(o["settlement"], "open");
    let page = admin
        .get(app.url("/orders/O1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("4→2") && page.contains("¥20.00"), "{page}");
    assert_eq!(
        admin
            .get(app.url("/api/v1/orders/NOPE/rewards"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
