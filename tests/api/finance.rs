//! Finance: manual entries and the journal, balances and the trial balance,
//! statements, agent wallets and withdrawals (also under concurrency).

use serde_json::{Value, json};
use sqlx::Row;
use weiops::audit::Actor;

use crate::common::fixtures::{count, portal, wallet};
use crate::common::{TestApp, body, spawn_app};

fn today() -> String {
    weiops_core::time::format_date(weiops::db::now_ms())
}

/// Creates an active agent with a phone; returns its id.
async fn agent(app: &TestApp, admin: &reqwest::Client, code: &str, phone: &str) -> i64 {
    let res = app
        .post_json(
            admin,
            "/api/v1/agents",
            &json!({"code": code, "name": format!("代理{code}"), "phone": phone, "level": 2}),
        )
        .await;
    assert_eq!(res.status(), 201, "create agent {code}");
    body(res).await["id"].as_i64().unwrap()
}

/// Posts a manual entry through the API.
async fn entry(app: &TestApp, c: &reqwest::Client, memo: &str, lines: Value) -> reqwest::Response {
    app.post_json(
        c,
        "/api/v1/ledger/entries",
        &json!({"date": today(), "memo": memo, "lines": lines}),
    )
    .await
}

/// Puts released rewards into an agent's wallet: Dr 6601 / Cr 2242(agent).
async fn fund(app: &TestApp, admin: &reqwest::Client, code: &str, fen: i64) {
    let res = entry(
        app,
        admin,
        "奖励入账",
        json!([
            {"account": "6601", "debit_fen": fen},
            {"account": "2242", "agent_code": code, "credit_fen": fen},
        ]),
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

/// The trial balance of today, asserted balanced.
async fn balanced(app: &TestApp, admin: &reqwest::Client) -> Value {
    let tb = app.get_json(admin, "/api/v1/ledger/trial-balance").await;
    assert_eq!(tb["balanced"], true, "{tb}");
    assert_eq!(tb["debit_total_fen"], tb["credit_total_fen"]);
    assert_eq!(
        tb["debit_balance_total_fen"],
        tb["credit_balance_total_fen"]
    );
    tb
}

fn account<'a>(rows: &'a Value, code: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == code)
        .unwrap_or_else(|| panic!("account {code}"))
}

async fn set_withdrawal_rules(app: &TestApp, min_fen: i64, fee_bp: u32, fee_min_fen: i64) {
    use weiops::rewards::plan::{self, PlanInput, WithdrawalRules};
    let current = plan::current(&app.db).await.unwrap();
    let mut input = PlanInput::from_plan(&current);
    input.withdrawal = WithdrawalRules {
        min_fen,
        fee_bp,
        fee_min_fen,
    };
    plan::save(&app.db, &Actor::system("test"), &input)
        .await
        .expect("plan saved");
}

#[tokio::test]
async fn a_balanced_manual_entry_shows_in_the_journal_balances_and_trial_balance() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    balanced(&app, &admin).await;

    // The page form: amounts typed in yuan, blank rows ignored.
    let res = admin
        .post(app.url("/finance/journal"))
        .form(&[
            ("date", today().as_str()),
            ("memo", "股东注资"),
            ("account", "1002"),
            ("agent", ""),
            ("debit", "1,000.00"),
            ("credit", ""),
            ("account", "4001"),
            ("agent", ""),
            ("debit", ""),
            ("credit", "1000"),
            ("account", ""),
            ("agent", ""),
            ("debit", ""),
            ("credit", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/finance/journal/"), "{location}");

    let list = admin
        .get(app.url("/finance/journal"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("股东注资") && list.contains("¥1,000.00") && list.contains("admin"));
    let detail = admin
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        detail.contains("银行存款") && detail.contains("实收资本") && detail.contains("¥1,000.00")
    );
    let english = admin
        .get(app.url(&location))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("Bank") && english.contains("Paid-in capital"));

    let tb = balanced(&app, &admin).await;
    assert_eq!(tb["debit_balance_total_fen"], 100_000);
    assert_eq!(account(&tb["rows"], "1002")["debit_balance_fen"], 100_000);
    assert_eq!(account(&tb["rows"], "4001")["credit_balance_fen"], 100_000);
    let page = admin
        .get(app.url("/finance/trial-balance"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("tag-success") && page.contains("data-testid=\"tb-debit\">¥1,000.00<"));
    let balances = admin
        .get(app.url("/finance/balances"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(balances.contains("资产类") && balances.contains("¥1,000.00"));

    // An entry dated in the past counts from its Beijing day on.
    let res = app
        .post_json(
            &admin,
            "/api/v1/ledger/entries",
            &json!({"date": "2020-01-02", "memo": "期初", "lines": [
                {"account": "1001", "debit_fen": 5_000},
                {"account": "4001", "credit_fen": 5_000},
            ]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let e = body(res).await;
    assert_eq!(e["lines"].as_array().unwrap().len(), 2);
    assert_eq!(e["total_fen"], 5_000);
    let at = |d: &str| {
        let url = app.url(&format!("/api/v1/ledger/trial-balance?date={d}"));
        let c = admin.clone();
        async move { body(c.get(url).send().await.unwrap()).await }
    };
    assert_eq!(at("2020-01-01").await["debit_total_fen"], 0);
    assert_eq!(at("2020-01-02").await["debit_total_fen"], 5_000);
    assert_eq!(
        admin
            .get(app.url("/api/v1/ledger/trial-balance?date=2020-13-01"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    // Filters and exports.
    let total = |q: &str| {
        let url = app.url(&format!("/api/v1/ledger/entries?{q}"));
        let c = admin.clone();
        async move {
            body(c.get(url).send().await.unwrap()).await["total"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(total("").await, 2);
    assert_eq!(total("account=1002").await, 1);
    assert_eq!(total("account=6601").await, 0);
    assert_eq!(total("q=注资").await, 1);
    assert_eq!(total("source=manual").await, 2);
    assert_eq!(total("from=2020-01-02&to=2020-01-02").await, 1);
    assert_eq!(total("agent=NOBODY").await, 0);
    let csv = admin
        .get(app.url("/finance/journal/export?format=csv&account=1002"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert!(text.starts_with('\u{feff}') && text.contains("1000.00") && !text.contains("期初"));
    let xlsx = admin
        .get(app.url("/finance/journal/export?format=xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    assert!(
        xlsx.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    assert_eq!(
        admin
            .get(app.url("/finance/trial-balance/export?format=csv"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let accounts = app.get_json(&admin, "/api/v1/ledger/accounts").await;
    assert_eq!(account(&accounts, "2242")["per_agent"], true);
    assert_eq!(
        app.audit_actions()
            .await
            .iter()
            .filter(|a| *a == "ledger.manual_entry")
            .count(),
        2
    );
}

#[tokio::test]
async fn unbalanced_or_invalid_entries_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    agent(&app, &admin, "A1", "13900000001").await;

    let page = admin
        .post(app.url("/finance/journal"))
        .form(&[
            ("date", today().as_str()),
            ("memo", "差一分"),
            ("account", "1002"),
            ("agent", ""),
            ("debit", "100"),
            ("credit", ""),
            ("account", "6001"),
            ("agent", ""),
            ("debit", ""),
            ("credit", "99.99"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("借贷不平衡") && html.contains("¥0.01"),
        "{html}"
    );
    assert!(
        html.contains("value=\"99.99\""),
        "the form keeps what was typed"
    );

    let res = entry(
        &app,
        &admin,
        "unbalanced",
        json!([{"account": "1002", "debit_fen": 100}, {"account": "6001", "credit_fen": 99}]),
    )
    .await;
    assert_eq!(res.status(), 400);
    let e = body(res).await;
    assert_eq!(e["error"]["code"], "bad_request");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("借贷不平衡")
    );
    let res = admin
        .post(app.url("/api/v1/ledger/entries"))
        .header("accept-language", "en")
        .json(&json!({"date": today(), "memo": "x", "lines": [
            {"account": "1002", "debit_fen": 100}, {"account": "6001", "credit_fen": 99}]}))
        .send()
        .await
        .unwrap();
    assert!(
        body(res).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Debits and credits differ")
    );

    // Field problems: 422 naming the line.
    for (lines, field) in [
        (
            json!([{"account": "6601", "debit_fen": 100}, {"account": "2242", "credit_fen": 100}]),
            "lines.2",
        ),
        (
            json!([{"account": "1002", "agent_code": "A1", "debit_fen": 100}, {"account": "6001", "credit_fen": 100}]),
            "lines.1",
        ),
        (
            json!([{"account": "6601", "debit_fen": 100}, {"account": "2242", "agent_code": "NOPE", "credit_fen": 100}]),
            "lines.2",
        ),
        (
            json!([{"account": "1002", "debit_fen": 100, "credit_fen": 100}, {"account": "6001", "credit_fen": 100}]),
            "lines.1",
        ),
        (
            json!([{"account": "1002", "debit_fen": -100}, {"account": "6001", "credit_fen": 100}]),
            "lines.1",
        ),
        (
            json!([{"account": "9999", "debit_fen": 100}, {"account": "6001", "credit_fen": 100}]),
            "lines.1",
        ),
        (
            json!([{"account": "1002", "debit_fen": 100}, {"account": "2243", "agent_code": "A1", "credit_fen": 100}]),
            "lines.2",
        ),
        (json!([{"account": "1002", "debit_fen": 100}]), "lines"),
    ] {
        let res = entry(&app, &admin, "bad", lines.clone()).await;
        assert_eq!(res.status(), 422, "{lines}");
        let e = body(res).await;
        assert!(
            e["error"]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["field"] == field),
            "{lines}: {e}"
        );
    }
    let res = app
        .post_json(
            &admin,
            "/api/v1/ledger/entries",
            &json!({"date": "2999-01-01", "memo": "", "lines": [
            {"account": "1002", "debit_fen": 100}, {"account": "6001", "credit_fen": 100}]}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let fields = body(res).await["error"]["fields"].to_string();
    assert!(fields.contains("\"date\"") && fields.contains("\"memo\""));
    // A page row with an amount that is not money.
    let page = admin
        .post(app.url("/finance/journal"))
        .form(&[
            ("date", today().as_str()),
            ("memo", "x"),
            ("account", "1002"),
            ("agent", ""),
            ("debit", "12.345"),
            ("credit", ""),
            ("account", "6001"),
            ("agent", ""),
            ("debit", ""),
            ("credit", "12.35"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 422);

    assert_eq!(count(&app, "journal_entries").await, 0);
    assert_eq!(count(&app, "journal_lines").await, 0);
    assert!(
        !app.audit_actions()
            .await
            .contains(&"ledger.manual_entry".to_string())
    );
    let tb = balanced(&app, &admin).await;
    assert_eq!(tb["debit_total_fen"], 0);
}

#[tokio::test]
async fn finance_needs_its_permissions() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let viewer = app.role("viewer", &["agents.read"], "all").await;
    let reader = app.role("fin_read", &["finance.read"], "all").await;
    let writer = app
        .role("fin_write", &["finance.read", "finance.write"], "all")
        .await;
    app.user("li", "Li-pass-123", vec![viewer]).await;
    app.user("wang", "Wang-pass-123", vec![reader]).await;
    app.user("zhao", "Zhao-pass-123", vec![writer]).await;
    agent(&app, &admin, "A1", "13900000001").await;
    fund(&app, &admin, "A1", 50_000).await;

    let li = app.login("li", "Li-pass-123").await;
    for path in [
        "/finance/journal",
        "/finance/balances",
        "/finance/trial-balance",
        "/finance/statements?agent=A1",
        "/finance/withdrawals",
        "/api/v1/ledger/accounts",
        "/api/v1/ledger/entries",
        "/api/v1/withdrawals",
    ] {
        assert_eq!(
            li.get(app.url(path)).send().await.unwrap().status(),
            403,
            "{path}"
        );
    }

    let wang = app.login("wang", "Wang-pass-123").await;
    let page = wang.get(app.url("/finance/journal")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        !page
            .text()
            .await
            .unwrap()
            .contains("data-testid=\"manual-entry\"")
    );
    let statement = wang
        .get(app.url("/finance/statements?agent=A1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        statement.contains("data-testid=\"closing-2242\">¥500.00<"),
        "{statement}"
    );
    let res = entry(
        &app,
        &wang,
        "x",
        json!([{"account": "1002", "debit_fen": 1}, {"account": "6001", "credit_fen": 1}]),
    )
    .await;
    assert_eq!(res.status(), 403);
    let res = app.post_json(&wang, "/api/v1/withdrawals", &json!({"agent_code": "A1", "amount_fen": 20_000, "account_name": "张三 工行", "account_no": "6222"})).await;
    assert_eq!(res.status(), 403);

    // finance.write may request and reject, not pay.
    let zhao = app.login("zhao", "Zhao-pass-123").await;
    let res = app.post_json(&zhao, "/api/v1/withdrawals", &json!({"agent_code": "A1", "amount_fen": 20_000, "account_name": "张三 工行", "account_no": "6222"})).await;
    assert_eq!(res.status(), 201);
    let id = body(res).await["id"].as_i64().unwrap();
    let pay = |c: &reqwest::Client| {
        c.post(app.url(&format!("/api/v1/withdrawals/{id}/pay")))
            .json(&json!({"reference": "TX1"}))
            .send()
    };
    assert_eq!(pay(&zhao).await.unwrap().status(), 403);
    assert_eq!(
        zhao.post(app.url(&format!("/finance/withdrawals/{id}/pay")))
            .form(&[("reference", "TX1"), ("confirm", "yes")])
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(pay(&admin).await.unwrap().status(), 200);
    balanced(&app, &admin).await;

    // The portal wants an agent, not a staff session.
    assert_eq!(
        admin
            .get(app.url("/m/wallet"))
            .send()
            .await
            .unwrap()
            .headers()["location"],
        "/m/login"
    );
}

#[tokio::test]
async fn a_withdrawal_is_requested_paid_or_rejected_with_fees_and_balanced_books() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    // ¥100 minimum; 0.6% fee, at least ¥1.
    set_withdrawal_rules(&app, 10_000, 60, 100).await;
    let a = agent(&app, &admin, "A1", "13900000001").await;
    fund(&app, &admin, "A1", 50_000).await;
    assert_eq!(wallet(&app, a).await, 50_000);
    balanced(&app, &admin).await;
    let m = portal(&app, a, "13900000001").await;

    let page = m
        .get(app.url("/m/wallet"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"wallet-balance\">¥500.00<"),
        "{page}"
    );
    assert!(page.contains("¥100.00") && page.contains("0.60%"));
    assert!(
        page.contains("href=\"/m/wallet\""),
        "linked from the portal tabs"
    );

    let ask = |amount: &str, confirm: bool| {
        let mut form = vec![
            ("amount", amount.to_string()),
            ("account_name", "张三 招商银行".to_string()),
            ("account_no", "6214 0000 1234".to_string()),
        ];
        if confirm {
            form.push(("confirm", "yes".to_string()));
        }
        m.post(app.url("/m/wallet")).form(&form).send()
    };
    let res = ask("50", true).await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("低于最低提现金额"));
    let res = ask("600", true).await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("可提现余额不足"));
    assert_eq!(ask("abc", false).await.unwrap().status(), 422);

    // The preview shows the fee and writes nothing.
    let res = ask("200", false).await.unwrap();
    assert_eq!(res.status(), 200);
    let preview = res.text().await.unwrap();
    assert!(
        preview.contains("data-testid=\"wallet-fee\">¥1.20<"),
        "{preview}"
    );
    assert!(preview.contains("data-testid=\"wallet-net\">¥198.80<"));
    assert_eq!(count(&app, "withdrawals").await, 0);

    let res = ask("200", true).await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/m/wallet");
    assert_eq!(wallet(&app, a).await, 30_000);
    balanced(&app, &admin).await;
    let page = m
        .get(app.url("/m/wallet"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("待付款") && page.contains("tag-warning"));

    let list = app
        .get_json(&admin, "/api/v1/withdrawals?status=pending&agent=A1")
        .await;
    assert_eq!(list["total"], 1);
    let w = &list["items"][0];
    assert_eq!(
        (
            w["amount_fen"].as_i64(),
            w["fee_fen"].as_i64(),
            w["net_fen"].as_i64()
        ),
        (Some(20_000), Some(120), Some(19_880))
    );
    let id = w["id"].as_i64().unwrap();

    // Paying asks first, then posts Dr 2243 / Cr 1002 + Cr 6051.
    let confirm = admin
        .post(app.url(&format!("/finance/withdrawals/{id}/pay")))
        .form(&[("reference", "TX-2026-001")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        confirm.contains("value=\"yes\"")
            && confirm.contains("¥198.80")
            && confirm.contains("TX-2026-001")
    );
    assert_eq!(
        count(&app, "journal_entries").await,
        2,
        "nothing paid before the confirmation"
    );
    let res = admin
        .post(app.url(&format!("/finance/withdrawals/{id}/pay")))
        .form(&[("reference", "TX-2026-001"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let w = app.get_json(&admin, "/api/v1/withdrawals?agent=A1").await;
    assert_eq!(w["items"][0]["status"], "paid");
    assert_eq!(w["items"][0]["reference"], "TX-2026-001");
    let entries = app
        .get_json(&admin, "/api/v1/ledger/entries?source=withdrawal")
        .await;
    assert_eq!(entries["total"], 2);
    let paid = app
        .get_json(
            &admin,
            &format!("/api/v1/ledger/entries/{}", entries["items"][0]["id"]),
        )
        .await;
    let lines: Vec<(String, i64, i64)> = paid["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["account"].as_str().unwrap().to_string(),
                l["debit_fen"].as_i64().unwrap(),
                l["credit_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("2243".to_string(), 20_000, 0),
            ("1002".to_string(), 0, 19_880),
            ("6051".to_string(), 0, 120),
        ]
    );
    let again = app
        .post_json(
            &admin,
            &format!("/api/v1/withdrawals/{id}/pay"),
            &json!({"reference": "TX-again"}),
        )
        .await;
    assert_eq!(again.status(), 409);
    let tb = balanced(&app, &admin).await;
    assert_eq!(account(&tb["rows"], "6051")["credit_balance_fen"], 120);
    assert_eq!(account(&tb["rows"], "2243")["credit_balance_fen"], 0);

    // ¥100 at 0.6% would be ¥0.60: the minimum fee of ¥1 applies. Rejected,
    // the money is back.
    let preview = ask("100", false).await.unwrap().text().await.unwrap();
    assert!(
        preview.contains("data-testid=\"wallet-fee\">¥1.00<"),
        "{preview}"
    );
    assert_eq!(ask("100", true).await.unwrap().status(), 303);
    assert_eq!(wallet(&app, a).await, 20_000);
    balanced(&app, &admin).await;
    let second = app
        .get_json(&admin, "/api/v1/withdrawals?status=pending")
        .await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/withdrawals/{second}/reject"),
            &json!({"reason": " "}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let confirm = admin
        .post(app.url(&format!("/finance/withdrawals/{second}/reject")))
        .form(&[("reason", "账户名与实名不符")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("value=\"yes\"") && confirm.contains("账户名与实名不符"));
    let res = admin
        .post(app.url(&format!("/finance/withdrawals/{second}/reject")))
        .form(&[("reason", "账户名与实名不符"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(wallet(&app, a).await, 30_000);
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/withdrawals/{id}/reject"),
            &json!({"reason": "too late"}),
        )
        .await;
    assert_eq!(res.status(), 409, "a paid withdrawal cannot be rejected");
    balanced(&app, &admin).await;

    let st = app.get_json(&admin, "/api/v1/ledger/statements/A1").await;
    let acc = |code: &str| {
        st["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("{code} in {st}"))
    };
    assert_eq!(acc("2242")["closing_fen"], 30_000);
    assert_eq!(acc("2243")["closing_fen"], 0);
    let running: Vec<i64> = acc("2242")["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["balance_fen"].as_i64().unwrap())
        .collect();
    assert_eq!(running, vec![50_000, 30_000, 20_000, 30_000]);
    let export = admin
        .get(app.url("/finance/statements/export?agent=A1&format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert!(export.text().await.unwrap().contains("期末余额"));
    let exported = admin
        .get(app.url("/finance/withdrawals/export?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(exported.contains("TX-2026-001") && exported.contains("账户名与实名不符"));
    let staff = admin
        .get(app.url("/finance/withdrawals?status=rejected"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(staff.contains("已驳回") && !staff.contains("TX-2026-001"));

    let page = m
        .get(app.url("/m/wallet"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("已付款") && page.contains("已驳回") && page.contains("账户名与实名不符")
    );
    let actions = app.audit_actions().await;
    for a in ["withdrawal.request", "withdrawal.pay", "withdrawal.reject"] {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
}

#[tokio::test]
async fn frozen_agents_cannot_withdraw() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let b = agent(&app, &admin, "B1", "13900000002").await;
    fund(&app, &admin, "B1", 30_000).await;
    let m = portal(&app, b, "13900000002").await;
    let freeze = |status: &str| {
        admin
            .post(app.url(&format!("/api/v1/agents/{b}/status")))
            .json(&json!({"status": status, "reason": "核查"}))
            .send()
    };
    assert_eq!(freeze("frozen").await.unwrap().status(), 200);

    let page = m
        .get(app.url("/m/wallet"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"wallet-blocked\"")
            && !page.contains("data-testid=\"wallet-form\"")
    );
    let res = m
        .post(app.url("/m/wallet"))
        .form(&[
            ("amount", "200"),
            ("account_name", "李四 工行"),
            ("account_no", "6222"),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        409,
        "a business rule, not a missing permission"
    );
    assert!(res.text().await.unwrap().contains("冻结"));
    let on_behalf = || {
        admin
            .post(app.url("/api/v1/withdrawals"))
            .json(&json!({"agent_code": "B1", "amount_fen": 20_000, "account_name": "李四 工行", "account_no": "6222"}))
            .send()
    };
    assert_eq!(on_behalf().await.unwrap().status(), 409);
    assert_eq!(count(&app, "withdrawals").await, 0);
    assert_eq!(wallet(&app, b).await, 30_000);

    assert_eq!(freeze("active").await.unwrap().status(), 200);
    assert_eq!(on_behalf().await.unwrap().status(), 201);
    assert_eq!(wallet(&app, b).await, 10_000);
    balanced(&app, &admin).await;
}

#[tokio::test]
async fn concurrent_withdrawals_never_overdraw_a_wallet() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    set_withdrawal_rules(&app, 100, 0, 0).await;
    let c = agent(&app, &admin, "C1", "13900000003").await;
    fund(&app, &admin, "C1", 10_000).await;
    let m = portal(&app, c, "13900000003").await;

    // ¥100 in the wallet, twenty requests of ¥30 at once.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let m = m.clone();
            let url = app.url("/m/wallet");
            tokio::spawn(async move {
                m.post(url)
                    .form(&[
                        ("amount", "30"),
                        ("account_name", "王五 建行"),
                        ("account_no", "6217"),
                        ("confirm", "yes"),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let accepted = statuses.iter().filter(|s| **s == 303).count();
    assert_eq!(accepted, 3, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| matches!(s, 303 | 409 | 422)),
        "{statuses:?}"
    );
    assert_eq!(count(&app, "withdrawals").await, 3);
    assert_eq!(wallet(&app, c).await, 1_000);
    let negative: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM agent_wallets WHERE balance_fen < 0")
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
    assert_eq!(negative, 0);
    // The wallet cache agrees with the journal.
    let st = app.get_json(&admin, "/api/v1/ledger/statements/C1").await;
    let w = st["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "2242")
        .unwrap()
        .clone();
    assert_eq!(w["closing_fen"], 1_000);
    let tb = balanced(&app, &admin).await;
    assert_eq!(account(&tb["rows"], "2243")["credit_balance_fen"], 9_000);
}
