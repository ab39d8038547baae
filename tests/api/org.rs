//! The organisation: templates, departments, positions, staff, permissions
//! by post, data scope, imports, charts.

use crate::common::{TestApp, spawn_app};

/// Each built-in template with two posts and a duty line the source
/// document gives for each.
const TEMPLATES: &[(&str, [(&str, &str); 2])] = &[
    (
        "weishang-core",
        [
            ("caopanshou", "制定品牌的发展计划"),
            ("finance", "负责分红的结算"),
        ],
    ),
    (
        "business-operations-company",
        [
            ("project_manager", "负责项目的计划"),
            ("accountant", "负责记录和核对财务交易信息"),
        ],
    ),
    (
        "weishang-team-plan",
        [
            ("team_leader", "负责团队整体战略规划"),
            ("marketing_lead", "负责品牌推广"),
        ],
    ),
    (
        "company-structure-duties",
        [
            ("sales_director", "负责与重要客户进行谈判和业务洽谈"),
            ("sales_support", "跟进订单，安排发货和物流"),
        ],
    ),
    (
        "weishang-ops-seven-posts",
        [
            ("ops_manager", "管理微信公众号"),
            ("tech_support_engineer", "保障微商平台的正常运行和稳定性"),
        ],
    ),
    (
        "weishang-ops-five-parts",
        [
            ("chairman", "负责制定企业的战略和发展规划"),
            ("service_specialist", "处理客户的投诉和建议"),
        ],
    ),
    (
        "ecommerce-operations-center",
        [
            (
                "ops_director",
                "与其他部门（如采购、仓储、物流等）进行沟通协调，保证供应链的畅通",
            ),
            (
                "service_specialist",
                "协助处理平台上的售后事务，包括退款、补寄等",
            ),
        ],
    ),
    (
        "enterprise-admin-ops-market",
        [
            ("hr_manager", "负责制定和执行人力资源管理策略"),
            ("recruiter", "与部门经理协商确认最终录用人员"),
        ],
    ),
    (
        "business-company-structure",
        [
            ("sales_manager", "与其他部门协作，例如市场营销部门"),
            ("ops_manager", "管理供应链、物流和采购流程"),
        ],
    ),
];

async fn apply(
    app: &TestApp,
    c: &reqwest::Client,
    id: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let res = app
        .post_json(c, &format!("/api/v1/org/templates/{id}/apply"), &body)
        .await;
    assert_eq!(res.status(), 200, "{id}");
    res.json().await.unwrap()
}

fn count(plan: &serde_json::Value, action: &str) -> usize {
    ["departments", "positions", "roles"]
        .iter()
        .flat_map(|k| plan[k].as_array().unwrap().iter())
        .filter(|i| i["action"] == action)
        .count()
}

async fn position_id(app: &TestApp, code: &str) -> i64 {
    weiops::org::positions::find_by_code(&app.db, code)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn every_template_creates_the_documents_posts_with_their_duties_once() {
    for (id, posts) in TEMPLATES {
        let app = spawn_app().await;
        let c = app.login_admin().await;
        let preview = apply(&app, &c, id, serde_json::json!({"dry_run": true})).await;
        assert!(count(&preview, "create") > 0, "{id}");
        assert!(
            weiops::org::positions::find_by_code(&app.db, posts[0].0)
                .await
                .unwrap()
                .is_none(),
            "a dry run writes nothing"
        );

        let done = apply(&app, &c, id, serde_json::json!({})).await;
        assert_eq!(count(&done, "create"), count(&preview, "create"));
        for (code, duty) in posts {
            let p: serde_json::Value = c
                .get(app.url(&format!(
                    "/api/v1/org/positions/{}",
                    position_id(&app, code).await
                )))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(
                p["duties"].as_array().unwrap().iter().any(|d| d == duty),
                "{id}/{code}: {duty} in {}",
                p["duties"]
            );
            assert!(p["role_id"].is_i64(), "{id}/{code} grants a role");
            assert!(
                !p["kpis"].as_array().unwrap().is_empty(),
                "{id}/{code} has KPIs"
            );
        }
        let again = apply(&app, &c, id, serde_json::json!({})).await;
        assert_eq!(
            count(&again, "create"),
            0,
            "{id}: applying twice creates nothing twice"
        );
        let actions = app.audit_actions().await;
        assert_eq!(
            actions
                .iter()
                .filter(|a| *a == "org_template.apply")
                .count(),
            2
        );
    }
}

#[tokio::test]
async fn picking_parts_of_a_template() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let plan = apply(
        &app,
        &c,
        "business-operations-company",
        serde_json::json!({"dry_run": true}),
    )
    .await;
    let optional: Vec<&serde_json::Value> = plan["departments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["optional"] == true)
        .collect();
    assert!(!optional.is_empty());
    assert!(
        optional.iter().all(|d| d["action"] == "skip"),
        "optional parts are left out by default"
    );
    let legal = optional
        .iter()
        .find(|d| d["name"].as_str().unwrap().contains("法务"))
        .expect("法务 is optional");
    let code = legal["code"].as_str().unwrap();
    let plan = apply(
        &app,
        &c,
        "business-operations-company",
        serde_json::json!({"departments": [code]}),
    )
    .await;
    let created: Vec<&str> = plan["departments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["action"] == "create")
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(created, [code], "only the chosen part");
    // A chosen sub-department brings its parents along.
    let core = apply(
        &app,
        &c,
        "weishang-core",
        serde_json::json!({"dry_run": true, "departments": ["finance"]}),
    )
    .await;
    let chosen: Vec<&str> = core["departments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["action"] != "skip")
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    let finance_parent = core["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "finance")
        .unwrap()["parent"]
        .as_str()
        .unwrap()
        .to_string();
    if !finance_parent.is_empty() {
        assert!(chosen.contains(&finance_parent.as_str()), "{chosen:?}");
    }
    let res = app
        .post_json(
            &c,
            "/api/v1/org/templates/business-operations-company/apply",
            &serde_json::json!({"departments": ["no_such_part"]}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .post_json(
            &c,
            "/api/v1/org/templates/nope/apply",
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn template_pages_preview_then_apply_after_confirming() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let list = c
        .get(app.url("/org/templates"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("微商企业五大核心岗") && list.contains("电商运营中心"));
    let preview = c
        .get(app.url("/org/templates/weishang-core"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(preview.contains("制定品牌的发展计划") && preview.contains("将新建"));
    let ask = c
        .post(app.url("/org/templates/weishang-core"))
        .form(&[("part", "management")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ask.contains("确定应用模板"));
    assert!(
        weiops::org::positions::find_by_code(&app.db, "caopanshou")
            .await
            .unwrap()
            .is_none()
    );
    let res = c
        .post(app.url("/org/templates/weishang-core"))
        .form(&[("part", "management"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        weiops::org::positions::find_by_code(&app.db, "caopanshou")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        weiops::org::positions::find_by_code(&app.db, "finance")
            .await
            .unwrap()
            .is_none(),
        "only the chosen part"
    );
}

#[tokio::test]
async fn template_preview_names_departments_and_permissions_and_confirms_plainly() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let page = |path: &'static str| {
        let c = c.clone();
        let url = app.url(path);
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let preview = page("/org/templates/weishang-core").await;
    let positions = section(&preview, "plan-positions");
    // The post 操盘手 sits in 操盘管理 and holds the role 操盘手: names, not codes.
    assert!(positions.contains("操盘管理"), "{positions}");
    assert!(
        !positions.contains("<code>management</code>"),
        "{positions}"
    );
    assert!(
        !positions.contains("<code>wx_operator</code>"),
        "{positions}"
    );
    let roles = section(&preview, "plan-roles");
    assert!(roles.contains("全部权限"), "{roles}");
    assert!(roles.contains("推广（全部权限）"), "{roles}");
    assert!(roles.contains("数据报表：查看"), "{roles}");
    assert!(
        !roles.contains(">promotion.*<") && !roles.contains("<code>*</code>"),
        "{roles}"
    );
    // In English too.
    let en = c
        .get(app.url("/org/templates/weishang-core"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Promotion (all permissions)"), "english labels");

    // Applying only adds: the confirmation is not a red, destructive one.
    let ask = c
        .post(app.url("/org/templates/weishang-core"))
        .form(&[("part", "management")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let button = ask
        .split("data-testid=\"confirm\"")
        .next()
        .and_then(|s| s.rsplit("<button").next())
        .unwrap();
    assert!(
        button.contains("btn-primary") && !button.contains("btn-danger"),
        "{button}"
    );
}

/// The HTML of the element marked `data-testid="<id>"` up to its table's end.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("data-testid=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id}"));
    let rest = &html[start..];
    &rest[..rest.find("</table>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn department_tree_moves_and_guards() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let post = |body: serde_json::Value| {
        c.post(app.url("/api/v1/org/departments"))
            .json(&body)
            .send()
    };
    let hq: serde_json::Value = post(serde_json::json!({"name": "总部", "code": "hq"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hq = hq["id"].as_i64().unwrap();
    let sales: serde_json::Value = post(serde_json::json!({"name": "销售部", "parent_id": hq}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sales = sales["id"].as_i64().unwrap();
    let east: serde_json::Value = post(serde_json::json!({"name": "华东区", "parent_id": sales}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(east["path"], format!("/{hq}/{sales}/{}/", east["id"]));

    // Moving 销售部 under its own child is a cycle.
    let res = app
        .put_json(
            &c,
            &format!("/api/v1/org/departments/{sales}"),
            &serde_json::json!({"name": "销售部", "parent_id": east["id"]}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "parent_id");
    assert_eq!(
        body["error"]["fields"][0]["message"],
        "不能移动到自己或自己的下级部门之下"
    );

    // Moving it to the top takes the subtree along.
    let moved: serde_json::Value = app
        .put_json(
            &c,
            &format!("/api/v1/org/departments/{sales}"),
            &serde_json::json!({"name": "销售中心"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["path"], format!("/{sales}/"));
    let east_now = weiops::org::departments::get(&app.db, east["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert_eq!(east_now.path, format!("/{sales}/{}/", east_now.id));

    let dup = post(serde_json::json!({"name": "另一个", "code": "hq"}))
        .await
        .unwrap();
    assert_eq!(dup.status(), 422);
    // Archiving: refused while not empty, fine once empty.
    let res = c
        .post(app.url(&format!("/api/v1/org/departments/{sales}/archive")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let res = c
        .post(app.url(&format!("/api/v1/org/departments/{}/archive", east_now.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let actions = app.audit_actions().await;
    for a in ["department.create", "department.move", "department.archive"] {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
    // The page asks before moving and says how many departments go along.
    let ask = c
        .post(app.url(&format!("/org/departments/{sales}")))
        .form(&[("name", "销售中心"), ("parent_id", &hq.to_string())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ask.contains("共 2 个部门"), "{ask}");
    let tree = c
        .get(app.url("/org/departments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(tree.contains("tree-indent depth-0") && tree.contains("销售中心"));
    let list = c
        .get(app.url("/org/departments?view=list"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("tree-indent") && list.contains("总部"));
}

#[tokio::test]
async fn positions_validate_duties_kpis_and_reporting_lines() {
    let app = spawn_app().await;
    let c = app.login_admin().await;
    let dept: serde_json::Value = app
        .post_json(
            &c,
            "/api/v1/org/departments",
            &serde_json::json!({"name": "运营部"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let dept = dept["id"].as_i64().unwrap();
    let bad = c
        .post(app.url("/api/v1/org/positions"))
        .header("accept-language", "en")
        .json(&serde_json::json!({"code": "X", "name": "", "department_id": 999, "headcount": -1,
            "kpis": [{"name": "销售额", "target": "1.2345", "direction": "higher", "period": "month"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body: serde_json::Value = bad.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["code", "name", "headcount", "department_id", "kpis.1"]
    );

    let boss: serde_json::Value = app.post_json(&c, "/api/v1/org/positions", &serde_json::json!({"code": "ops_head", "name": "运营总监", "department_id": dept,
            "duties": ["负责运营规划", "  ", "管理运营团队"],
            "kpis": [{"name": "GMV", "unit": "元", "target": "1,000,000.5", "direction": "higher", "period": "quarter"}]})).await
        .json()
        .await
        .unwrap();
    assert_eq!(
        boss["duties"],
        serde_json::json!(["负责运营规划", "管理运营团队"])
    );
    assert_eq!(boss["kpis"][0]["target"], "1000000.5");
    let staffer: serde_json::Value = app.post_json(&c, "/api/v1/org/positions", &serde_json::json!({"code": "ops_staff", "name": "运营专员", "department_id": dept, "reports_to_id": boss["id"], "headcount": 3})).await
        .json()
        .await
        .unwrap();
    let res = app.put_json(&c, &format!("/api/v1/org/positions/{}", boss["id"]), &serde_json::json!({"code": "ops_head", "name": "运营总监", "department_id": dept, "reports_to_id": staffer["id"]})).await;
    assert_eq!(res.status(), 422, "a reporting loop is refused");
    let sheet = c
        .get(app.url(&format!("/org/positions/{}", boss["id"])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        sheet.contains("岗位说明书")
            && sheet.contains("管理运营团队")
            && sheet.contains("运营专员")
    );
    let xlsx = c
        .get(app.url("/org/positions/export?format=xlsx"))
        .send()
        .await
        .unwrap();
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    let csv = c
        .get(app.url("/org/positions/export?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("运营总监") && csv.contains("1. 负责运营规划"));
}

async fn core_company(app: &TestApp) -> reqwest::Client {
    let c = app.login_admin().await;
    apply(app, &c, "weishang-core", serde_json::json!({})).await;
    c
}

#[tokio::test]
async fn permissions_follow_the_post_immediately() {
    let app = spawn_app().await;
    let admin = core_company(&app).await;
    let service = position_id(&app, "customer_service").await;
    let created: serde_json::Value = app.post_json(&admin, "/api/v1/org/staff", &serde_json::json!({"username": "xiaoli", "display_name": "小李", "password": "Xiaoli-2026",
            "primary_position_id": service, "wechat_id": "xiaoli_wx", "hire_date": "2026-11-01"})).await
        .json()
        .await
        .unwrap();
    let id = created["staff"]["user_id"].as_i64().unwrap();
    let xiaoli = app
        .login_first_time("xiaoli", "Xiaoli-2026", "Xiaoli-own-2026")
        .await;
    // 客服 handles service and order lookups: no finance, no staff records.
    let me: serde_json::Value = xiaoli
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grants = me["grants"].as_array().unwrap();
    assert!(grants.contains(&serde_json::json!("service.*")));
    assert!(
        !grants
            .iter()
            .any(|g| g.as_str().unwrap().starts_with("finance"))
    );
    assert_eq!(
        xiaoli
            .get(app.url("/org/staff"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    // Moved to 财务: the finance grants apply on the very next request.
    let finance = position_id(&app, "finance").await;
    let res = app
        .put_json(
            &admin,
            &format!("/api/v1/org/staff/{id}"),
            &serde_json::json!({"display_name": "小李", "primary_position_id": finance}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let me: serde_json::Value = xiaoli
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grants = me["grants"].as_array().unwrap();
    assert!(
        grants.contains(&serde_json::json!("finance.*"))
            && !grants.contains(&serde_json::json!("service.*"))
    );

    // Moved to the 操盘手 post (everything): the organisation pages open.
    let boss = position_id(&app, "caopanshou").await;
    app.put_json(
        &admin,
        &format!("/api/v1/org/staff/{id}"),
        &serde_json::json!({"display_name": "小李", "primary_position_id": boss}),
    )
    .await;
    assert_eq!(
        xiaoli
            .get(app.url("/org/staff"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let detail = admin
        .get(app.url(&format!("/org/staff/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        detail.contains("查看组织架构"),
        "effective permissions listed"
    );
}

#[tokio::test]
async fn leaving_disables_the_account_at_once_and_keeps_history() {
    let app = spawn_app().await;
    let admin = core_company(&app).await;
    let post = position_id(&app, "salesperson").await;
    let created: serde_json::Value = app.post_json(&admin, "/api/v1/org/staff", &serde_json::json!({"username": "ahua", "display_name": "阿华", "password": "Ahua-2026x", "primary_position_id": post})).await
        .json()
        .await
        .unwrap();
    let id = created["staff"]["user_id"].as_i64().unwrap();
    let ahua = app
        .login_first_time("ahua", "Ahua-2026x", "Ahua-own-2026")
        .await;
    assert_eq!(ahua.get(app.url("/")).send().await.unwrap().status(), 200);
    let ask = admin
        .post(app.url(&format!("/org/staff/{id}/leave")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ask.contains("标记为离职"));
    admin
        .post(app.url(&format!("/org/staff/{id}/leave")))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        ahua.get(app.url("/")).send().await.unwrap().status(),
        303,
        "signed out at once"
    );
    let s: serde_json::Value = admin
        .get(app.url(&format!("/api/v1/org/staff/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "left");
    assert_eq!(s["account_status"], "disabled");
    assert!(s["left_date"].is_string());
    assert_eq!(s["positions"][0]["code"], "salesperson", "history kept");
    assert!(
        app.audit_actions()
            .await
            .contains(&"staff.leave".to_string())
    );
}

#[tokio::test]
async fn staff_need_a_primary_position_and_valid_fields() {
    let app = spawn_app().await;
    let admin = core_company(&app).await;
    let res = app.post_json(&admin, "/api/v1/org/staff", &serde_json::json!({"username": "x y", "display_name": "", "hire_date": "2026-13-01", "status": "fired"})).await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in [
        "hire_date",
        "status",
        "primary_position_id",
        "username",
        "display_name",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let (total, _) = weiops::users::store::count(&app.db).await.unwrap();
    assert_eq!(total, 1, "no account was created");
    // The form shows the same messages in place.
    let res = admin
        .post(app.url("/org/staff"))
        .form(&[("username", "ok_name"), ("display_name", "名字")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("必须选择主岗位"));
}

#[tokio::test]
async fn staff_lists_respect_data_scope() {
    let app = spawn_app().await;
    let admin = core_company(&app).await;
    // A sales lead sees their own department only.
    let lead_role = app
        .role("sales_lead", &["org.read"], "department_tree")
        .await;
    let sales_post = position_id(&app, "salesperson").await;
    let cs_post = position_id(&app, "customer_service").await;
    for (u, post, roles) in [
        ("lead", sales_post, vec![lead_role]),
        ("rep", sales_post, vec![]),
        ("cs", cs_post, vec![]),
    ] {
        let res = app.post_json(&admin, "/api/v1/org/staff", &serde_json::json!({"username": u, "display_name": u, "password": "Scope-pass-1", "primary_position_id": post, "role_ids": roles})).await;
        assert_eq!(res.status(), 201);
    }
    let lead = app
        .login_first_time("lead", "Scope-pass-1", "Lead-own-2026")
        .await;
    let page: serde_json::Value = lead
        .get(app.url("/api/v1/org/staff?sort=username"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lead", "rep"]);
    let all: serde_json::Value = admin
        .get(app.url("/api/v1/org/staff"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 3);
}

#[tokio::test]
async fn staff_import_is_all_or_nothing() {
    let app = spawn_app().await;
    let admin = core_company(&app).await;
    let bad = "用户名,姓名,手机号,主岗位编码,入职日期\n\
               wang.wu,王五,13900000001,salesperson,2026-11-01\n\
               wang.wu,王五二,13900000002,salesperson,2026-11-01\n\
               zhao,赵六,123,no_such_post,2026-02-30\n";
    let res = admin
        .post(app.url("/api/v1/org/staff/import"))
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "import_rejected");
    let rows: Vec<(i64, String)> = body["error"]["rows"]
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
    assert!(
        rows.contains(&(3, "用户名".into())),
        "duplicate username in file: {rows:?}"
    );
    assert!(
        rows.contains(&(4, "主岗位编码".into())),
        "unknown post: {rows:?}"
    );
    assert!(rows.contains(&(4, "手机号".into())), "bad phone: {rows:?}");
    assert!(rows.contains(&(4, "入职日期".into())), "bad date: {rows:?}");
    assert_eq!(
        weiops::users::store::count(&app.db).await.unwrap().0,
        1,
        "nothing stored"
    );

    let missing = admin
        .post(app.url("/api/v1/org/staff/import"))
        .body("姓名\n张三\n")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["rows"][0]["message"], "缺少必需的列");

    // A good file, in GBK as Excel on Chinese Windows saves CSV.
    let good = "用户名,姓名,手机号,微信号,工号,入职日期,主岗位编码,兼任岗位编码,状态\n\
                wang.wu,王五,13900000001,ww_wx,E100,2026-11-01,salesperson,customer_service,在职\n\
                zhao.liu,赵六,,,E101,2026/11/02,customer_service,,休假\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(good);
    let res = admin
        .post(app.url("/api/v1/org/staff/import"))
        .body(gbk.into_owned())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap();
    if status != 201 {
        // 2026/11/02 is not YYYY-MM-DD: the whole file is refused.
        assert_eq!(body["error"]["rows"][0]["row"], 3);
    }
    let fixed = good.replace("2026/11/02", "2026-11-02");
    let (gbk, _, _) = encoding_rs::GBK.encode(&fixed);
    let res = admin
        .post(app.url("/api/v1/org/staff/import"))
        .body(gbk.into_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    assert_eq!(created.as_array().unwrap().len(), 2);
    assert!(created[0]["password"].as_str().unwrap().len() >= 12);
    let s: serde_json::Value = admin
        .get(app.url(&format!("/api/v1/org/staff/{}", created[0]["user_id"])))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["positions"].as_array().unwrap().len(), 2);
    assert_eq!(s["employee_no"], "E100");
    let again = admin
        .post(app.url("/api/v1/org/staff/import"))
        .body(fixed)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        422,
        "the same people cannot be imported twice"
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"staff.import".to_string())
    );
}

#[tokio::test]
async fn staff_import_from_excel_through_the_page() {
    let app = spawn_app().await;
    let admin = core_company(&app).await;
    let template = admin
        .get(app.url("/org/staff/import-template?format=xlsx"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let rows = weiops::org::transfer::read_table(&template).unwrap();
    assert_eq!(rows[0][0], "用户名");
    let table = weiops::export::Table {
        sheet: "staff".into(),
        headers: rows[0].clone(),
        rows: vec![vec![
            "qian.qi".into(),
            "钱七".into(),
            "13900000009".into(),
            String::new(),
            String::new(),
            "2026-11-03".into(),
            "copywriter".into(),
            String::new(),
            String::new(),
            String::new(),
        ]],
    };
    let xlsx = weiops::export::to_xlsx(&table).unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(xlsx).file_name("staff.xlsx"),
    );
    let res = admin
        .post(app.url("/org/staff/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"created-accounts\"") && html.contains("qian.qi"));
    let export = admin
        .get(app.url("/org/staff/export?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(export.contains("钱七") && export.contains("文案"));
}

#[tokio::test]
async fn org_chart_svg_names_every_department_and_post() {
    let app = spawn_app().await;
    let admin = core_company(&app).await;
    let svg = admin
        .get(app.url("/org/chart.svg"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    let text: String = doc
        .descendants()
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("|");
    for d in weiops::org::departments::all(&app.db, false).await.unwrap() {
        assert!(text.contains(&d.name), "department {}", d.name);
    }
    for p in weiops::org::positions::all(&app.db, &Default::default())
        .await
        .unwrap()
    {
        assert!(text.contains(&p.name), "position {}", p.name);
    }
    let reporting = admin
        .get(app.url("/org/chart.svg?view=reporting"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    roxmltree::Document::parse(&reporting).expect("well-formed XML");
    let page = admin
        .get(app.url("/org/chart"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("fold="),
        "departments without sub-departments do not fold"
    );
    let top = weiops::org::departments::all(&app.db, false).await.unwrap()[0].id;
    app.post_json(
        &admin,
        "/api/v1/org/departments",
        &serde_json::json!({"name": "品牌组", "parent_id": top}),
    )
    .await;
    let page = admin
        .get(app.url("/org/chart"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("fold={top}")),
        "a department with sub-departments folds"
    );
    let folded = admin
        .get(app.url(&format!("/org/chart?fold={top}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!folded.contains("品牌组") && folded.contains("已折叠"));
}

#[tokio::test]
async fn org_pages_need_org_permissions() {
    let app = spawn_app().await;
    app.user("nobody", "Nobody-pass-1", vec![]).await;
    let c = app.login("nobody", "Nobody-pass-1").await;
    for path in [
        "/org/chart",
        "/org/departments",
        "/org/positions",
        "/org/staff",
        "/org/templates",
    ] {
        assert_eq!(
            c.get(app.url(path)).send().await.unwrap().status(),
            403,
            "{path}"
        );
    }
    let reader = app.role("org_reader", &["org.read"], "all").await;
    app.user("reader", "Reader-pass-1", vec![reader]).await;
    let r = app.login("reader", "Reader-pass-1").await;
    assert_eq!(
        r.get(app.url("/org/chart")).send().await.unwrap().status(),
        200
    );
    let res = app
        .post_json(
            &r,
            "/api/v1/org/templates/weishang-core/apply",
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), 403);
}
