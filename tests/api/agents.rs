//! The agent network: imports (all or nothing), the tree, masking,
//! certificates and public verification.

use crate::common::fixtures::count;
use crate::common::{TestApp, spawn_app};

/// The worked example of shared/spec/settlement.md: A ← B ← C ← D.
const EXAMPLE: &str = "id,name,phone,wechat,level,sponsor_id,status,joined_at\n\
A,张三,13800000001,zhangsan_wx,1,,active,2026-01-05T10:00:00+08:00\n\
B,李四,13800000002,lisi_wx,2,A,active,2026-02-01T09:30:00+08:00\n\
C,王五,13800000003,wangwu_wx,4,B,frozen,2026-03-01T09:30:00Z\n\
D,赵六,13800000004,zhaoliu_wx,5,C,active,2026-03-02T09:30:00.5+08:00\n";

/// Starts an import through the API and waits for the job (bounded).
async fn import(app: &TestApp, c: &reqwest::Client, body: &str) -> serde_json::Value {
    import_bytes(app, c, body.as_bytes().to_vec()).await
}

/// [`import`] of any file (CSV bytes or an .xlsx).
async fn import_bytes(app: &TestApp, c: &reqwest::Client, body: Vec<u8>) -> serde_json::Value {
    let res = c
        .post(app.url("/api/v1/agents/import"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let job: serde_json::Value = res.json().await.unwrap();
    let id = job["job_id"].as_i64().unwrap();
    for _ in 0..200 {
        let j: serde_json::Value = c
            .get(app.url(&format!("/api/v1/jobs/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if j["status"] == "done" || j["status"] == "failed" {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import job did not finish");
}

async fn agent(app: &TestApp, c: &reqwest::Client, code: &str) -> serde_json::Value {
    let page: serde_json::Value = c
        .get(app.url(&format!("/api/v1/agents?q={code}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == code)
        .cloned()
        .unwrap_or_else(|| panic!("agent {code}"))
}

#[tokio::test]
async fn import_builds_the_tree_with_team_counters_and_certificates() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let job = import(&app, &c, EXAMPLE).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["result"]["agents"], 4);
    assert_eq!(
        job["result"]["certificates"], 3,
        "the frozen agent gets none"
    );
    let a = agent(&app, &c, "A").await;
    let d = agent(&app, &c, "D").await;
    assert_eq!(a["team_size"], 3);
    assert_eq!(a["direct_count"], 1);
    assert_eq!(d["depth"], 3);
    assert_eq!(
        d["path"],
        format!(
            "/{}/{}/{}/{}/",
            a["id"],
            agent(&app, &c, "B").await["id"],
            agent(&app, &c, "C").await["id"],
            d["id"]
        )
    );
    assert_eq!(
        d["joined_at"], 1_772_415_000_500i64,
        "fraction kept to the millisecond"
    );
    let team: serde_json::Value = c
        .get(app.url(&format!("/api/v1/agents/{}/team", a["id"])))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        team["generations"],
        serde_json::json!([[1, 1], [2, 1], [3, 1]])
    );
    assert_eq!(team["team_purchases_fen"], 0);
    assert!(
        app.audit_actions()
            .await
            .contains(&"agent.import".to_string())
    );
}

#[tokio::test]
async fn every_kind_of_bad_file_is_refused_whole() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let header = "id,name,phone,wechat,level,sponsor_id,status,joined_at\n";
    let ok = "A,a,,,1,,active,2026-01-01T00:00:00Z\n";
    let cases: &[(&str, String, &str)] = &[
        (
            "unknown sponsor",
            format!("{header}{ok}B,b,,,2,ZZ,active,2026-01-01T00:00:00Z\n"),
            "推荐人不存在",
        ),
        (
            "duplicate id",
            format!("{header}{ok}A,a2,,,2,,active,2026-01-01T00:00:00Z\n"),
            "代理编号在文件中重复",
        ),
        (
            "self sponsor",
            format!("{header}{ok}B,b,,,2,B,active,2026-01-01T00:00:00Z\n"),
            "不能推荐自己",
        ),
        (
            "cycle",
            format!(
                "{header}{ok}B,b,,,2,C,active,2026-01-01T00:00:00Z\nC,c,,,2,B,active,2026-01-01T00:00:00Z\n"
            ),
            "推荐关系形成循环",
        ),
        (
            "bad level",
            format!("{header}{ok}B,b,,,0,A,active,2026-01-01T00:00:00Z\n"),
            "等级不正确",
        ),
        (
            "bad status",
            format!("{header}{ok}B,b,,,2,A,sleeping,2026-01-01T00:00:00Z\n"),
            "状态应为 正常 或 冻结",
        ),
        (
            "bad timestamp",
            format!("{header}{ok}B,b,,,2,A,active,2026-01-01 00:00:00+08:00\n"),
            "时间格式不正确",
        ),
        (
            "missing column",
            "id,name,level,sponsor_id,status\nA,a,1,,active\n".to_string(),
            "缺少必需的列",
        ),
    ];
    for (what, file, message) in cases {
        let job = import(&app, &c, file).await;
        assert_eq!(job["status"], "failed", "{what}: {job}");
        let rows = job["result"]["rows"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: {job}"));
        assert!(!rows.is_empty(), "{what}");
        let html = c
            .get(app.url(&format!("/jobs/{}", job["id"])))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(message), "{what}: {message}");
        assert_eq!(count(&app, "agents").await, 0, "{what}: nothing stored");
    }
    // A cycle names its members and the line of each.
    let cycle = format!(
        "{header}X,x,,,1,Z,active,2026-01-01T00:00:00Z\nY,y,,,1,X,active,2026-01-01T00:00:00Z\nZ,z,,,1,Y,active,2026-01-01T00:00:00Z\n"
    );
    let job = import(&app, &c, &cycle).await;
    let rows = job["result"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows.iter()
            .map(|r| r["row"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [2, 3, 4]
    );
    assert!(
        rows.iter()
            .all(|r| r["value"].as_str().unwrap().contains('X')
                && r["value"].as_str().unwrap().contains('Z'))
    );
    // Ids already stored are refused too.
    assert_eq!(import(&app, &c, EXAMPLE).await["status"], "done");
    let again = import(&app, &c, EXAMPLE).await;
    assert_eq!(again["result"]["rows"].as_array().unwrap().len(), 4);
    assert_eq!(count(&app, "agents").await, 4);
}

#[tokio::test]
async fn export_round_trips_and_the_cli_imports() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_weiops");
    let file = dir.path().join("agents.csv");
    std::fs::write(&file, EXAMPLE).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .env_remove("WEIOPS_DATABASE_URL")
            .env("WEIOPS_DATA_DIR", dir.path())
            .env("WEIOPS_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["import", "agents", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = dir.path().join("out.csv");
    assert!(
        run(&["export", "agents", exported.to_str().unwrap()])
            .status
            .success()
    );
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(text.starts_with("id,name,phone,wechat,level,sponsor_id,status,joined_at\nA,张三,"));
    assert!(text.contains("D,赵六,13800000004,zhaoliu_wx,5,C,active,2026-03-02T01:30:00.500Z\n"));
    // The export imports into a fresh database and exports identically.
    let dir2 = tempfile::tempdir().unwrap();
    let run2 = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .env_remove("WEIOPS_DATABASE_URL")
            .env("WEIOPS_DATA_DIR", dir2.path())
            .env("WEIOPS_LOG", "warn")
            .output()
            .unwrap()
    };
    assert!(
        run2(&["import", "agents", exported.to_str().unwrap()])
            .status
            .success()
    );
    let again = dir2.path().join("again.csv");
    assert!(
        run2(&["export", "agents", again.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(std::fs::read_to_string(&again).unwrap(), text);
    let xlsx = dir2.path().join("again.xlsx");
    assert!(
        run2(&["export", "agents", xlsx.to_str().unwrap()])
            .status
            .success()
    );
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));
    // A bad file: listed by line, exit code 1, nothing stored.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,name,phone,wechat,level,sponsor_id,status,joined_at\nE,e,,,1,E,active,2026-01-01T00:00:00Z\n").unwrap();
    let out = run(&["import", "agents", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2 (id E)") && err.contains("nothing was imported"),
        "{err}"
    );
}

#[tokio::test]
async fn moves_keep_the_tree_consistent_and_refuse_cycles() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    import(&app, &c, EXAMPLE).await;
    let (a, b, cc, d) = (
        agent(&app, &c, "A").await,
        agent(&app, &c, "B").await,
        agent(&app, &c, "C").await,
        agent(&app, &c, "D").await,
    );
    // B under its own grandchild D: a cycle.
    let res = app
        .post_json(
            &c,
            &format!("/api/v1/agents/{}/move", b["id"]),
            &serde_json::json!({"sponsor_id": d["id"], "reason": "test"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["fields"][0]["message"],
        "不能移到自己或自己团队成员的名下"
    );
    // C (with D) moves to the top.
    let moved: serde_json::Value = app
        .post_json(
            &c,
            &format!("/api/v1/agents/{}/move", cc["id"]),
            &serde_json::json!({"sponsor_id": null, "reason": "团队独立"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["moved"], 2);
    assert_eq!(moved["agent"]["path"], format!("/{}/", cc["id"]));
    assert_eq!(
        agent(&app, &c, "D").await["path"],
        format!("/{}/{}/", cc["id"], d["id"])
    );
    assert_eq!(agent(&app, &c, "D").await["depth"], 1);
    assert_eq!(agent(&app, &c, "A").await["team_size"], 1);
    assert_eq!(agent(&app, &c, "B").await["team_size"], 0);
    assert_eq!(agent(&app, &c, "B").await["direct_count"], 0);
    // And back under A: counters follow.
    app.post_json(
        &c,
        &format!("/api/v1/agents/{}/move", cc["id"]),
        &serde_json::json!({"sponsor_id": a["id"], "reason": "回归"}),
    )
    .await;
    assert_eq!(agent(&app, &c, "A").await["team_size"], 3);
    assert_eq!(agent(&app, &c, "A").await["direct_count"], 2);
    assert!(
        app.audit_actions()
            .await
            .contains(&"agent.move".to_string())
    );
    // The page asks first and says how many move.
    let ask = c
        .post(app.url(&format!("/agents/{}/move", cc["id"])))
        .form(&[("sponsor", "B"), ("reason", "x")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ask.contains("共 2 人"), "{ask}");
}

#[tokio::test]
async fn personal_data_is_masked_without_the_permission_and_reveals_are_audited() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    import(&app, &admin, EXAMPLE).await;
    let viewer = app.role("agent_viewer", &["agents.read"], "all").await;
    app.user("kefu", "Kefu-pass-1", vec![viewer]).await;
    let kefu = app.login("kefu", "Kefu-pass-1").await;
    let a = agent(&app, &kefu, "A").await;
    assert_eq!(a["name"], "张*");
    assert_eq!(a["phone"], "138****0001");
    assert_ne!(a["wechat"], "zhangsan_wx");
    let html = kefu
        .get(app.url(&format!("/agents/{}", a["id"])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("138****0001") && !html.contains("13800000001"));
    assert_eq!(
        kefu.post(app.url(&format!("/agents/{}/reveal", a["id"])))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    let full = agent(&app, &admin, "A").await;
    assert_eq!(full["phone"], "13800000001");
    let revealed = admin
        .post(app.url(&format!("/agents/{}/reveal", a["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(revealed.headers()["cache-control"], "no-store");
    assert!(revealed.text().await.unwrap().contains("13800000001"));
    assert!(
        app.audit_actions()
            .await
            .contains(&"agent.reveal_pii".to_string())
    );
}

#[tokio::test]
async fn certificates_verify_publicly_and_recognise_forgeries() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    import(&app, &admin, EXAMPLE).await;
    let public = app.api_client();
    let json = |q: &str| {
        let url = app.url(&format!("/verify?q={q}"));
        let c = public.clone();
        async move {
            c.get(url)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let by_wechat = json("zhangsan_wx").await;
    assert_eq!(by_wechat["found"], true);
    assert_eq!(by_wechat["status"], "valid");
    assert_eq!(by_wechat["name"], "张*");
    assert_eq!(by_wechat["phone"], "138****0001");
    let cert_no = by_wechat["cert_no"].as_str().unwrap().to_string();
    let a_id = agent(&app, &admin, "A").await["id"].as_i64().unwrap();
    assert_eq!(
        cert_no,
        weiops::agents::certificates::number(a_id, 1),
        "numbered as single issues are"
    );
    assert_eq!(json("13800000001").await["cert_no"], cert_no);
    assert_eq!(json(&cert_no).await["found"], true);
    assert_eq!(json("nobody").await["found"], false);
    let page = public
        .get(app.url("/verify?q=zhangsan_wx"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("授权有效") && page.contains("张*") && !page.contains("张三"));

    // The printed certificate's QR carries a signed link.
    let a = agent(&app, &admin, "A").await;
    let cert = admin
        .get(app.url(&format!("/agents/{}/certificate", a["id"])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = cert
        .split("/verify/c/")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let genuine = public
        .get(app.url(&format!("/verify/c/{link}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(genuine.contains("data-testid=\"qr-genuine\""), "{link}");
    let forged = public
        .get(app.url(&format!("/verify/c/{cert_no}?t=AAAAAAAAAAAAAAAAAAAAAA")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(forged.contains("data-testid=\"qr-forged\""));

    // Expired, then revoked when the agent is terminated.
    sqlx::query("UPDATE agent_certificates SET valid_until = 0 WHERE cert_no = $1")
        .bind(&cert_no)
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(json(&cert_no).await["status"], "expired");
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/agents/{}/status", a["id"]),
            &serde_json::json!({"status": "terminated", "reason": "违规"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(json("zhangsan_wx").await["status"], "revoked");
}

#[tokio::test]
async fn levels_and_level_changes() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    import(&app, &c, EXAMPLE).await;
    let levels: serde_json::Value = c
        .get(app.url("/api/v1/agent-levels"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(levels.as_array().unwrap().len(), 5);
    assert_eq!(levels[3]["name"], "市级代理");
    assert_eq!(levels[3]["price_bp"], 7000);
    // Dropping level 5 while D holds it is refused; so is a gap.
    let four = serde_json::json!([
        {"level": 1, "name": "联合创始人", "price_bp": 4000}, {"level": 2, "name": "总代理", "price_bp": 5000},
        {"level": 3, "name": "省级代理", "price_bp": 6000}, {"level": 4, "name": "市级代理", "price_bp": 7000},
    ]);
    assert_eq!(
        app.put_json(&c, "/api/v1/agent-levels", &four)
            .await
            .status(),
        422
    );
    let gap = serde_json::json!([{"level": 1, "name": "a", "price_bp": 4000}, {"level": 3, "name": "b", "price_bp": 5000}]);
    assert_eq!(
        app.put_json(&c, "/api/v1/agent-levels", &gap)
            .await
            .status(),
        422
    );
    let mut five = four.clone();
    five.as_array_mut().unwrap().push(serde_json::json!({"level": 5, "name": "特约代理", "price_bp": 8500, "first_purchase_fen": 100000}));
    let saved: serde_json::Value = app
        .put_json(&c, "/api/v1/agent-levels", &five)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(saved[4]["price_bp"], 8500);

    let d = agent(&app, &c, "D").await;
    let before = json_cert(&app, "zhaoliu_wx").await;
    let res = app
        .post_json(
            &c,
            &format!("/api/v1/agents/{}/level", d["id"]),
            &serde_json::json!({"level": 3, "reason": "业绩达标"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let after = json_cert(&app, "zhaoliu_wx").await;
    assert_ne!(before["cert_no"], after["cert_no"], "re-issued");
    assert_eq!(after["level"], "省级代理");
    let res = app
        .post_json(
            &c,
            &format!("/api/v1/agents/{}/level", d["id"]),
            &serde_json::json!({"level": 3, "reason": ""}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"agent.upgrade".to_string())
            && actions.contains(&"agent_levels.update".to_string())
    );
}

async fn json_cert(app: &TestApp, q: &str) -> serde_json::Value {
    app.api_client()
        .get(app.url(&format!("/verify?q={q}")))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn list_filters_and_permissions() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    import(&app, &c, EXAMPLE).await;
    let total = |q: &'static str| {
        let c = c.clone();
        let url = app.url(&format!("/api/v1/agents?{q}"));
        async move {
            c.get(url)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()["total"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(total("").await, 4);
    assert_eq!(total("level=2").await, 1);
    assert_eq!(total("status=frozen").await, 1);
    assert_eq!(total("q=138000000").await, 4, "phone prefix");
    assert_eq!(total("q=王").await, 1, "name prefix");
    assert_eq!(
        total("joined_from=2026-03-01&joined_to=2026-03-31").await,
        2
    );
    let html = c
        .get(app.url("/agents?level=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-testid=\"agent-table\"") && html.contains("张三"));
    let csv = c
        .get(app.url("/agents/export?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("张三") && csv.contains("特约代理"));
    app.user("nobody", "Nobody-pass-1", vec![]).await;
    let n = app.login("nobody", "Nobody-pass-1").await;
    assert_eq!(
        n.get(app.url("/agents")).send().await.unwrap().status(),
        403
    );
    assert_eq!(
        n.post(app.url("/api/v1/agents/import"))
            .body(EXAMPLE)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test]
async fn recruitment_from_invite_link_to_approved_agent() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    import(&app, &admin, EXAMPLE).await;
    let b = agent(&app, &admin, "B").await;
    let code = weiops::agents::recruit::invite_code(&app.db, b["id"].as_i64(), None)
        .await
        .unwrap();
    assert_eq!(
        weiops::agents::recruit::invite_code(&app.db, b["id"].as_i64(), None)
            .await
            .unwrap(),
        code,
        "stable"
    );

    // The public page: says who invites (masked) and what data is collected.
    let public = app.client();
    let page = public
        .get(app.url(&format!("/join/{code}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("李*") && !page.contains("李四"));
    assert!(
        page.contains("data-testid=\"privacy-statement\"") && page.contains("我们收集你的姓名")
    );
    assert_eq!(
        public
            .get(app.url("/join/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Bad input: every field says what is wrong; nothing stored.
    let res = public
        .post(app.url(&format!("/join/{code}")))
        .form(&[("name", ""), ("phone", "123"), ("requested_level", "9")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("请输入 11 位手机号") && html.contains("请先阅读并同意信息收集说明"));
    // A good application.
    let form = [
        ("name", "孙七"),
        ("phone", "13911112222"),
        ("wechat", "sunqi"),
        ("province", "广东"),
        ("city", "深圳"),
        ("requested_level", "4"),
        ("message", "想做代理"),
        ("consent", "yes"),
    ];
    let res = public
        .post(app.url(&format!("/join/{code}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("data-testid=\"application-done\"")
    );
    let again = public
        .post(app.url(&format!("/join/{code}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 422, "one pending application per phone");

    let list: serde_json::Value = admin
        .get(app.url("/api/v1/applications?status=pending"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    let id = list["items"][0]["id"].as_i64().unwrap();
    assert_eq!(list["items"][0]["sponsor_code"], "B");
    // The page asks before approving.
    let ask = admin
        .post(app.url(&format!("/agents/applications/{id}/approve")))
        .form(&[("level", "4")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ask.contains("确定批准"));
    let created: serde_json::Value = app
        .post_json(
            &admin,
            &format!("/api/v1/applications/{id}/approve"),
            &serde_json::json!({"level": 5}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["sponsor_code"], "B");
    assert_eq!(created["level"], 5);
    assert_eq!(created["province"], "广东");
    assert_eq!(
        agent(&app, &admin, "B").await["team_size"],
        3,
        "B's team grew"
    );
    assert_eq!(agent(&app, &admin, "A").await["team_size"], 4);
    let again = app
        .post_json(
            &admin,
            &format!("/api/v1/applications/{id}/approve"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(again.status(), 409, "decided once");
    assert_eq!(
        json_cert(&app, "sunqi").await["status"],
        "valid",
        "certificate issued on approval"
    );

    // A staff member's link records them as the recruiter; rejection needs a reason.
    let sales = weiops::users::store::find_by_username(&app.db, "admin")
        .await
        .unwrap()
        .unwrap();
    let staff_code = weiops::agents::recruit::invite_code(&app.db, None, Some(sales.id))
        .await
        .unwrap();
    let form2 = [
        ("name", "周八"),
        ("phone", "13933334444"),
        ("wechat", "zhouba"),
        ("requested_level", "5"),
        ("consent", "yes"),
    ];
    public
        .post(app.url(&format!("/join/{staff_code}")))
        .form(&form2)
        .send()
        .await
        .unwrap();
    let list: serde_json::Value = admin
        .get(app.url("/api/v1/applications?status=pending"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id2 = list["items"][0]["id"].as_i64().unwrap();
    assert_eq!(list["items"][0]["recruiter_name"], "管理员");
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/applications/{id2}/reject"),
            &serde_json::json!({"reason": " "}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .post_json(
            &admin,
            &format!("/api/v1/applications/{id2}/reject"),
            &serde_json::json!({"reason": "地区已满"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let a2: serde_json::Value = admin
        .get(app.url(&format!("/api/v1/applications/{id2}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a2["status"], "rejected");
    assert_eq!(a2["reason"], "地区已满");
    let actions = app.audit_actions().await;
    for a in [
        "application.submit",
        "application.approve",
        "application.reject",
    ] {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
    let invite = admin
        .get(app.url("/agents/invite"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(invite.contains(&format!("/join/{staff_code}")) && invite.contains("<svg"));
}

#[tokio::test]
async fn a_bulk_import_rebuilds_the_indexes_and_counts_right() {
    // 20,000 rows takes the bulk path (indexes dropped and rebuilt).
    let app = spawn_app().await;
    let mut file = String::from("id,name,phone,wechat,level,sponsor_id,status,joined_at\n");
    file.push_str("R,root,,,1,,active,2026-01-01T00:00:00Z\n");
    for i in 1..20_000 {
        // Parent i/3 (by number): a tree about nine generations deep.
        let parent = if i < 3 {
            "R".to_string()
        } else {
            format!("N{}", i / 3)
        };
        file.push_str(&format!(
            "N{i},n{i},,,{},{parent},active,2026-01-01T00:00:00Z\n",
            1 + (i % 5)
        ));
    }
    let quiet = |_: &'static str, _: usize, _: usize| {};
    let report = weiops::agents::import::import(
        &app.db,
        &weiops::audit::Actor::system("test"),
        file.as_bytes(),
        &quiet,
    )
    .await
    .unwrap();
    assert_eq!(report.agents, 20_000);
    let root = weiops::agents::store::find_by_code(&app.db, "R")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(root.team_size, 19_999);
    let n3 = weiops::agents::store::find_by_code(&app.db, "N3")
        .await
        .unwrap()
        .unwrap();
    // N3's children are N9..N11, grandchildren N27..N35, …
    let team = weiops::agents::store::team(&app.db, &n3, true)
        .await
        .unwrap();
    assert_eq!(team.generations[0], (1, 3));
    assert_eq!(team.generations[1], (2, 9));
    assert_eq!(
        team.team_size,
        team.generations.iter().map(|g| g.1).sum::<i64>()
    );
    // The indexes are back: a search and the list still answer.
    let c = app.login_admin().await;
    let page: serde_json::Value = c
        .get(app.url("/api/v1/agents?q=n1999&per_page=50"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 11, "n1999 and n19990..n19999");
    use sqlx::Row;
    let certs: i64 = sqlx::query("SELECT COUNT(*) AS n FROM agent_certificates")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(certs, 20_000);
}

/// An agent changing their own portal password is one audited change, like
/// a staff member's: the audit log names the agent, the old password no
/// longer signs in, the new one does, and the agent's other sessions end.
#[tokio::test]
async fn an_agents_own_portal_password_change_is_audited_and_ends_the_old_password() {
    use sqlx::Row;
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    import(&app, &admin, EXAMPLE).await;
    let b = agent(&app, &admin, "B").await;
    let first = weiops::agents::portal_store::reset_password(
        &app.db,
        &weiops::audit::Actor::system("test"),
        b["id"].as_i64().unwrap(),
    )
    .await
    .unwrap();
    let sign_in = |password: &str| {
        let (c, password) = (app.client(), password.to_string());
        let url = app.url("/m/login");
        async move {
            let res = c
                .post(url)
                .form(&[("phone", "13800000002"), ("password", password.as_str())])
                .send()
                .await
                .unwrap();
            (c, res.status())
        }
    };
    let (m, status) = sign_in(&first).await;
    assert_eq!(status, 303);
    let (other, status) = sign_in(&first).await;
    assert_eq!(status, 303);

    let res = m
        .post(app.url("/m/password"))
        .form(&[
            ("current", first.as_str()),
            ("new", "Lisi-2026-pw"),
            ("confirm", "Lisi-2026-pw"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    let entry = sqlx::query(
        "SELECT actor_id, actor_name, entity_type, entity_id FROM audit_log WHERE action = 'agent.change_password'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(entry.try_get::<Option<i64>, _>("actor_id").unwrap(), None);
    assert_eq!(entry.try_get::<String, _>("actor_name").unwrap(), "agent:B");
    assert_eq!(entry.try_get::<String, _>("entity_type").unwrap(), "agent");
    assert_eq!(
        entry.try_get::<String, _>("entity_id").unwrap(),
        b["id"].to_string()
    );
    assert_eq!(sign_in(&first).await.1, 401, "the old password is refused");
    assert_eq!(sign_in("Lisi-2026-pw").await.1, 303);
    assert_eq!(m.get(app.url("/m")).send().await.unwrap().status(), 200);
    assert_eq!(
        other.get(app.url("/m")).send().await.unwrap().headers()["location"],
        "/m/login",
        "the agent's other session ended"
    );
}

#[tokio::test]
async fn the_agent_portal_from_first_sign_in_to_sponsor_approval() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    import(&app, &admin, EXAMPLE).await;
    let b = agent(&app, &admin, "B").await;
    // Staff give B a portal password (asked first, shown once).
    let ask = admin
        .post(app.url(&format!("/agents/{}/portal-password", b["id"])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ask.contains("value=\"yes\""));
    let page = admin
        .post(app.url(&format!("/agents/{}/portal-password", b["id"])))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let first = page
        .split("data-testid=\"portal-password\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();

    let m = app.client();
    let res = m
        .post(app.url("/m/login"))
        .form(&[("phone", "13800000002"), ("password", "wrong-pass-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = m
        .post(app.url("/m/login"))
        .form(&[("phone", "138 0000 0002"), ("password", first.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        m.get(app.url("/m")).send().await.unwrap().headers()["location"],
        "/m/password",
        "first password must change"
    );
    let res = m
        .post(app.url("/m/password"))
        .form(&[
            ("current", first.as_str()),
            ("new", "Lisi-2026-pw"),
            ("confirm", "Lisi-2026-pw"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let home = m
        .get(app.url("/m"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("总代理") && home.contains("data-testid=\"portal-team-size\">2<"),
        "{home}"
    );
    assert!(home.contains("张*"), "the sponsor is shown masked");
    let team = m
        .get(app.url("/m/team"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(team.contains("王*") && !team.contains("13800000003"));
    // An agent session is no staff session.
    assert_eq!(m.get(app.url("/users")).send().await.unwrap().status(), 303);
    assert_eq!(
        m.get(app.url("/api/v1/me")).send().await.unwrap().status(),
        401
    );

    // With sponsor approval on, B agrees before head office decides.
    let res = admin
        .post(app.url("/agents/applications/settings"))
        .form(&[("mode", "sponsor_then_head_office")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        app.audit_actions()
            .await
            .contains(&"settings.update".to_string())
    );
    let invite = m
        .get(app.url("/m/invite"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code = invite
        .split("/join/")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let form = [
        ("name", "吴九"),
        ("phone", "13955556666"),
        ("wechat", "wujiu"),
        ("requested_level", "5"),
        ("consent", "yes"),
    ];
    assert_eq!(
        app.client()
            .post(app.url(&format!("/join/{code}")))
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let list: serde_json::Value = admin
        .get(app.url("/api/v1/applications?status=pending"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["items"][0]["id"].as_i64().unwrap();
    let early = app
        .post_json(
            &admin,
            &format!("/api/v1/applications/{id}/approve"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(early.status(), 409, "waiting for the sponsor");
    let apps = m
        .get(app.url("/m/applications"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(apps.contains("吴九") && apps.contains("data-testid=\"portal-agree\""));
    m.post(app.url(&format!("/m/applications/{id}")))
        .form(&[("decision", "agree")])
        .send()
        .await
        .unwrap();
    let ok = app
        .post_json(
            &admin,
            &format!("/api/v1/applications/{id}/approve"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(agent(&app, &admin, "B").await["team_size"], 3);
    // Someone else's application is not B's to decide.
    let other = m
        .post(app.url("/m/applications/999"))
        .form(&[("decision", "agree")])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    let out = m.post(app.url("/m/logout")).send().await.unwrap();
    assert_eq!(out.headers()["location"], "/m/login");
    assert_eq!(
        m.get(app.url("/m")).send().await.unwrap().headers()["location"],
        "/m/login"
    );
}

#[tokio::test]
async fn jobs_left_running_by_a_stopped_server_end_as_failed() {
    let app = spawn_app().await;
    let id = weiops::jobs::create(&app.db, "agents.import", None)
        .await
        .unwrap();
    weiops::jobs::progress(&app.db, id, "agents.import.stage_writing", 10, 100)
        .await
        .unwrap();
    assert_eq!(
        weiops::jobs::reap_stale(&app.db).await.unwrap(),
        0,
        "a fresh job is left alone"
    );
    sqlx::query("UPDATE jobs SET updated_at = 0 WHERE id = $1")
        .bind(id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(weiops::jobs::reap_stale(&app.db).await.unwrap(), 1);
    let job = weiops::jobs::get(&app.db, id).await.unwrap();
    assert_eq!(job.status, "failed");
    assert_eq!(job.result.unwrap()["error"], "jobs.interrupted");
}

// ---------------------------------------------------------------- Chinese spreadsheets (issue 13, point 10)

/// A page as text, in the language the client's cookie chose.
async fn page(app: &TestApp, c: &reqwest::Client, path: &str) -> String {
    c.get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Switches the signed-in client's language.
async fn speak(app: &TestApp, c: &reqwest::Client, locale: &str) {
    c.post(app.url("/lang"))
        .form(&[("locale", locale), ("back", "/")])
        .send()
        .await
        .unwrap();
}

/// Every agent as (code, name, phone, wechat, level, sponsor code, status,
/// joined_at ms), by code.
async fn network(app: &TestApp) -> Vec<(String, String, String, String, i64, String, String, i64)> {
    use sqlx::Row;
    sqlx::query(
        "SELECT a.code, a.name, a.phone, a.wechat, a.level, COALESCE(s.code, '') AS sponsor, a.status, a.joined_at \
         FROM agents a LEFT JOIN agents s ON s.id = a.sponsor_id ORDER BY a.code",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get("code"),
            r.get("name"),
            r.get("phone"),
            r.get("wechat"),
            r.get("level"),
            r.get("sponsor"),
            r.get("status"),
            r.get("joined_at"),
        )
    })
    .collect()
}

fn ms(rfc3339: &str) -> i64 {
    weiops_core::time::parse_rfc3339_ms(rfc3339).unwrap()
}

#[tokio::test]
async fn a_refused_import_counts_its_problems_by_row_in_both_languages() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let file = "代理编号,姓名,手机号,微信号,等级,上级,状态,加入时间\n\
                A,张三,13800000001,,1,,正常,2026-11-06\n\
                B,李四,1391111,,2,A,正常,2026-11-06\n\
                C,王五,13800000003,,9,A,休眠,2026-11-06\n";
    let job = import(&app, &c, file).await;
    assert_eq!(job["status"], "failed", "{job}");
    let rows = job["result"]["rows"].as_array().unwrap();
    let found: Vec<(i64, &str)> = rows
        .iter()
        .map(|r| (r["row"].as_i64().unwrap(), r["column"].as_str().unwrap()))
        .collect();
    assert_eq!(found, [(3, "手机号"), (4, "等级"), (4, "状态")]);
    assert_eq!(count(&app, "agents").await, 0, "nothing stored");

    let zh = page(&app, &c, &format!("/jobs/{}", job["id"])).await;
    assert!(zh.contains("文件有 3 处问题"), "{zh}");
    assert!(zh.contains("11 位中国大陆手机号"));
    speak(&app, &c, "en").await;
    let en = page(&app, &c, &format!("/jobs/{}", job["id"])).await;
    assert!(en.contains("The file has 3 problem(s)"), "{en}");
    assert!(en.contains("mainland China mobile number"));
    for html in [&zh, &en] {
        assert!(!html.contains("%{"), "an unfilled placeholder: {html}");
    }
}

#[tokio::test]
async fn chinese_headers_excel_dates_and_phones_as_typed_import() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    // Headers in Chinese, level names, 正常/冻结, dates and phones as people type them.
    let file = "\u{feff}代理编号,姓名,手机号,微信号,等级,上级,状态,加入时间\n\
                A,张三,+86 138 0000 0001,zs,联合创始人,,正常,2026-11-06\n\
                B,李四,139-1234-5678,,2,A,冻结,2026/11/6 10:00\n\
                C,王五,,,特约代理,B,正常,2026-11-30T14:05:09+08:00\n";
    let job = import(&app, &c, file).await;
    assert_eq!(job["status"], "done", "{job}");
    let net = network(&app).await;
    assert_eq!(
        net.iter()
            .map(|a| (
                a.0.as_str(),
                a.2.as_str(),
                a.4,
                a.5.as_str(),
                a.6.as_str(),
                a.7
            ))
            .collect::<Vec<_>>(),
        [
            (
                "A",
                "13800000001",
                1,
                "",
                "active",
                ms("2026-11-05T16:00:00Z")
            ),
            (
                "B",
                "13912345678",
                2,
                "A",
                "frozen",
                ms("2026-11-06T02:00:00Z")
            ),
            ("C", "", 5, "B", "active", ms("2026-11-30T06:05:09Z")),
        ]
    );

    // An .xlsx with real date cells (and a serial where the column is a
    // number), read as Beijing wall-clock time.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, h) in [
        "代理编号",
        "姓名",
        "手机号",
        "微信号",
        "等级",
        "上级",
        "状态",
        "加入时间",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, *h).unwrap();
    }
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy/m/d h:mm");
    let when = rust_xlsxwriter::ExcelDateTime::parse_from_str("2026-11-06 10:00:00").unwrap();
    for (row, code) in [(1u32, "X1"), (2, "X2")] {
        sheet.write_string(row, 0, code).unwrap();
        sheet.write_string(row, 1, "赵六").unwrap();
        sheet.write_number(row, 2, 13800000009.0).unwrap(); // a phone typed as a number
        sheet.write_number(row, 4, 3.0).unwrap();
        sheet.write_string(row, 5, "A").unwrap();
        sheet.write_string(row, 6, "正常").unwrap();
    }
    sheet
        .write_datetime_with_format(1, 7, &when, &date)
        .unwrap();
    sheet.write_number(2, 7, 46332.5).unwrap(); // 2026-11-06 12:00
    let job = import_bytes(&app, &c, book.save_to_buffer().unwrap()).await;
    assert_eq!(job["status"], "done", "{job}");
    let net = network(&app).await;
    let x: Vec<(&str, &str, i64)> = net
        .iter()
        .filter(|a| a.0.starts_with('X'))
        .map(|a| (a.0.as_str(), a.2.as_str(), a.7))
        .collect();
    assert_eq!(
        x,
        [
            ("X1", "13800000009", ms("2026-11-06T02:00:00Z")),
            ("X2", "13800000009", ms("2026-11-06T04:00:00Z")),
        ]
    );
}

#[tokio::test]
async fn every_export_imports_back_in_both_languages_and_both_formats() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    assert_eq!(import(&app, &c, EXAMPLE).await["status"], "done");
    // A terminated agent is exported as 已清退 and comes back frozen.
    sqlx::query("UPDATE agents SET status = 'terminated' WHERE code = 'D'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let original = network(&app).await;
    assert_eq!(original.len(), 4);

    for locale in ["zh-CN", "en"] {
        speak(&app, &c, locale).await;
        for format in ["csv", "xlsx"] {
            let file = c
                .get(app.url(&format!("/agents/export?format={format}")))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec();
            if format == "csv" {
                let text = String::from_utf8_lossy(&file);
                let header = if locale == "en" {
                    "Agent id,Name,Phone"
                } else {
                    "代理编号,姓名,手机号"
                };
                assert!(
                    text.trim_start_matches('\u{feff}').starts_with(header),
                    "{text}"
                );
            }
            // Into the same database: every id exists already, so the whole
            // file is refused row by row and nothing changes.
            let again = import_bytes(&app, &c, file.clone()).await;
            assert_eq!(again["status"], "failed", "{locale} {format}: {again}");
            let rows = again["result"]["rows"].as_array().unwrap();
            assert_eq!(rows.len(), 4, "{again}");
            assert!(
                rows.iter()
                    .all(|r| r["key"] == "agents.import.already_exists")
            );
            let id_header = if locale == "en" {
                "Agent id"
            } else {
                "代理编号"
            };
            assert!(rows.iter().all(|r| r["column"] == id_header), "{again}");
            assert_eq!(network(&app).await, original);

            // Into a fresh database: the same network (the terminated agent frozen).
            let fresh = spawn_app().await;
            let fc = fresh.login_admin().await;
            let job = import_bytes(&fresh, &fc, file).await;
            assert_eq!(job["status"], "done", "{locale} {format}: {job}");
            let mut want = original.clone();
            for a in &mut want {
                if a.6 == "terminated" {
                    a.6 = "frozen".into();
                }
                // The export shows times to the minute (Beijing).
                a.7 = a.7.div_euclid(60_000) * 60_000;
            }
            assert_eq!(network(&fresh).await, want, "{locale} {format}");
        }
    }
}

#[tokio::test]
async fn the_import_page_explains_the_columns_and_offers_templates_that_import() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let html = page(&app, &c, "/agents/import").await;
    for text in [
        "代理编号",
        "加入时间",
        "2026/11/6 10:00",
        "下载模板（Excel）",
        "1 联合创始人",
        "sponsor_id",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(!html.contains("%{"));

    for format in ["csv", "xlsx"] {
        let res = c
            .get(app.url(&format!("/agents/import/template?format={format}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let disposition = res.headers()["content-disposition"].to_str().unwrap();
        assert!(
            disposition.contains("agents-template-")
                && disposition.ends_with(&format!(".{format}\"")),
            "{disposition}"
        );
        let file = res.bytes().await.unwrap().to_vec();
        if format == "csv" {
            let text = String::from_utf8(file.clone()).unwrap();
            assert!(
                text.starts_with("\u{feff}代理编号,姓名,手机号,微信号,等级,上级,状态,加入时间\n"),
                "{text}"
            );
            assert!(text.contains("A001,张三,13800000001,zhangsan_wx,联合创始人,,正常,2026-11-06"));
        }
        // The template as downloaded imports (its example row).
        let fresh = spawn_app().await;
        let fc = fresh.login_admin().await;
        let job = import_bytes(&fresh, &fc, file).await;
        assert_eq!(job["status"], "done", "{format}: {job}");
        assert_eq!(count(&fresh, "agents").await, 1);
    }

    // In English, the template's headers are the English export's.
    speak(&app, &c, "en").await;
    let text = page(&app, &c, "/agents/import/template?format=csv").await;
    assert!(
        text.starts_with("\u{feff}Agent id,Name,Phone,WeChat id,Level,Sponsor,Status,Joined\n"),
        "{text}"
    );
    let html = page(&app, &c, "/agents/import").await;
    assert!(html.contains("Download template (Excel)") && html.contains("Beijing time"));
}

#[tokio::test]
async fn a_masked_export_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    assert_eq!(import(&app, &admin, EXAMPLE).await["status"], "done");
    let role = app
        .role("importer", &["agents.read", "agents.import"], "all")
        .await;
    app.user("clerk", "Clerk-pass-2026", vec![role]).await;
    let clerk = app.login("clerk", "Clerk-pass-2026").await;
    let file = clerk
        .get(app.url("/agents/export?format=csv"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let fresh = spawn_app().await;
    let fc = fresh.login_admin().await;
    let job = import_bytes(&fresh, &fc, file).await;
    assert_eq!(job["status"], "failed", "{job}");
    let rows = job["result"]["rows"].as_array().unwrap();
    assert!(
        rows.iter().any(|r| r["key"] == "agents.import.masked"),
        "{job}"
    );
    assert_eq!(count(&fresh, "agents").await, 0);
}

#[tokio::test]
async fn phones_are_mainland_mobiles_everywhere() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    // An agent created in the form, a staff account: the same rule.
    let res = app
        .post_json(
            &c,
            "/api/v1/agents",
            &serde_json::json!({"code": "P1", "name": "p", "phone": "1391111", "level": 1}),
        )
        .await;
    let err = crate::common::body(res).await;
    assert!(
        err["error"]["fields"].to_string().contains("phone"),
        "{err}"
    );
    let res = app.post_json(&c, "/api/v1/users", &serde_json::json!({"username": "li", "display_name": "李", "phone": "12012345678", "password": "Li-pass-2026x"})).await;
    let err = crate::common::body(res).await;
    assert!(
        err["error"]["fields"].to_string().contains("phone"),
        "{err}"
    );
    let res = app.post_json(&c, "/api/v1/agents", &serde_json::json!({"code": "P2", "name": "p", "phone": "+86 139-1234-5678", "level": 1})).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    assert_eq!(agent(&app, &c, "P2").await["phone"], "13912345678");
}
