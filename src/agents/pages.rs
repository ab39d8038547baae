//! Agent pages (代理体系 in the left menu), the printable 授权书, and the
//! public 授权查询 page.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use weiops_core::agents::{AgentStatus, mask_name, mask_phone, mask_wechat};

use super::api::{filter_of, shown};
use super::certificates::{self, Certificate, Validity};
use super::levels::{self, Level, LevelInput};
use super::store::{self, Agent, AgentProfile, NewAgent, Team};
use crate::agents::{AgentLevelsWrite, AgentsImport, AgentsPii, AgentsRead, AgentsWrite};
use crate::audit_log::AuditRead;
use crate::audit_log::store::{AuditEntry, AuditFilter};
use crate::error::{FieldErrors, RowProblem};
use crate::export::{self, ExportFormat, Table};
use crate::identity::{Need, Principal};
use crate::jobs::{self, Job};
use crate::state::AppState;
use crate::web::list::{ListParams, Pager, SortHeader};
use crate::web::{self, FormPairs, PageCtx, PublicCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agents", get(list).post(create))
        .route("/agents/new", get(new_form))
        .route("/agents/export", get(export_list))
        .route("/agents/import/template", get(import_template))
        .route("/agents/levels", get(levels_page).post(levels_save))
        .route(
            "/agents/import",
            get(import_page)
                .post(import_upload)
                .layer(DefaultBodyLimit::max(512 * 1024 * 1024)),
        )
        .route("/jobs/{id}", get(job_page))
        .route("/agents/{id}", get(detail).post(update))
        .route("/agents/{id}/edit", get(edit_form))
        .route("/agents/{id}/level", post(change_level))
        .route("/agents/{id}/move", post(move_agent))
        .route("/agents/{id}/status", post(set_status))
        .route("/agents/{id}/reveal", post(reveal))
        .route("/agents/{id}/portal-password", post(portal_password))
        .route("/agents/{id}/certificate", get(certificate_page))
        .route("/verify", get(verify))
        .route("/verify/c/{cert_no}", get(verify_qr))
}

const AGENTS: (&str, Option<&str>) = ("menu.agents", None);

// ---------------------------------------------------------------- list

#[derive(Template)]
#[template(path = "agents/list.html")]
struct ListPage {
    ctx: PageCtx,
    params: ListParams,
    agents: Vec<Agent>,
    levels: Vec<Level>,
    pager: Pager,
    headers: Vec<SortHeader>,
}

async fn list(
    State(s): State<AppState>,
    who: Need<AgentsRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let order = params.order_by(store::SORTS, "a.joined_at DESC");
    let (agents, info) = store::list(&s.db, &filter_of(&params)?, &order, params.page()).await?;
    let agents = agents.into_iter().map(|a| shown(&who, a)).collect();
    let headers = vec![
        params.sort_header("code", ctx.t("agents.code")),
        params.sort_header("name", ctx.t("agents.name")),
        params.sort_header("level", ctx.t("agents.level")),
        params.sort_header("team", ctx.t("agents.team_size")),
        params.sort_header("joined", ctx.t("agents.joined_at")),
    ];
    let ctx = ctx.titled("menu.agent_list", &[AGENTS]);
    Ok(web::page(ListPage {
        ctx,
        pager: params.pager(info),
        params,
        agents,
        levels: levels::all(&s.db).await?,
        headers,
    }))
}

/// The headers of the staff export, in its column order. The import reads
/// them back in both languages (weiops_core::agents::AGENT_HEADERS holds
/// the same words; tests/api/agents.rs round-trips both); region and team
/// size are extra columns the import ignores.
const EXPORT_HEADERS: [&str; 10] = [
    "agents.code",
    "agents.name",
    "agents.phone",
    "agents.wechat",
    "agents.level",
    "agents.sponsor",
    "agents.region",
    "common.status",
    "agents.team_size",
    "agents.joined_at",
];

/// The export's headers that the import needs, with each one's column in
/// weiops_core::agents::AGENT_COLUMNS order.
const IMPORT_HEADERS: [&str; 8] = [
    "agents.code",
    "agents.name",
    "agents.phone",
    "agents.wechat",
    "agents.level",
    "agents.sponsor",
    "common.status",
    "agents.joined_at",
];

async fn export_list(
    State(s): State<AppState>,
    who: Need<AgentsRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let list = store::list_all(&s.db, &filter_of(&params)?, export::MAX_EXPORT_ROWS).await?;
    let t = |k: &str| ctx.t(k);
    let table = Table {
        sheet: t("menu.agent_list"),
        headers: EXPORT_HEADERS.iter().map(|k| t(k)).collect(),
        rows: list
            .into_iter()
            .map(|a| shown(&who, a))
            .map(|a| {
                vec![
                    a.code.clone(),
                    a.name.clone(),
                    a.phone.clone(),
                    a.wechat.clone(),
                    a.level_name.clone(),
                    a.sponsor_code.clone().unwrap_or_default(),
                    a.region(),
                    t(&format!("agents.status_{}", a.status.as_str())),
                    a.team_size.to_string(),
                    weiops_core::time::format_minute(a.joined_at),
                ]
            })
            .collect(),
    };
    export::respond(&table, format, "agents")
}

// ---------------------------------------------------------------- create / edit

#[derive(Template)]
#[template(path = "agents/form.html")]
struct FormPage {
    ctx: PageCtx,
    agent: Option<Agent>,
    code: String,
    profile: AgentProfile,
    level: i64,
    sponsor: String,
    levels: Vec<Level>,
    errors: FieldErrors,
}

async fn new_form(
    State(s): State<AppState>,
    _who: Need<AgentsWrite>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let levels = levels::all(&s.db).await?;
    let level = levels.last().map(|l| l.level).unwrap_or(1);
    let ctx = ctx.titled(
        "agents.new",
        &[AGENTS, ("menu.agent_list", Some("/agents"))],
    );
    Ok(web::page(FormPage {
        ctx,
        agent: None,
        code: String::new(),
        profile: AgentProfile::default(),
        level,
        sponsor: params.value("sponsor"),
        levels,
        errors: FieldErrors::default(),
    }))
}

fn profile_of(form: &FormPairs) -> AgentProfile {
    AgentProfile {
        name: form.get("name").into(),
        phone: form.get("phone").into(),
        wechat: form.get("wechat").into(),
        province: form.get("province").into(),
        city: form.get("city").into(),
        notes: form.get("notes").into(),
    }
}

async fn create(
    State(s): State<AppState>,
    who: Need<AgentsWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let sponsor_code = form.get("sponsor").trim().to_string();
    let mut sponsor_id = None;
    let mut errors = FieldErrors::default();
    if !sponsor_code.is_empty() {
        match store::find_by_code(&s.db, &sponsor_code).await? {
            Some(a) => sponsor_id = Some(a.id),
            None => errors.add("sponsor", "agents.no_such_agent"),
        }
    }
    let level = form.get("level").trim().parse().unwrap_or(0);
    let input = NewAgent {
        code: form.get("code").into(),
        profile: profile_of(&form),
        level,
        sponsor_id,
    };
    let result = if errors.is_empty() {
        store::create(&s.db, &who.actor(), &input).await
    } else {
        Err(Error::Validation(errors))
    };
    match result {
        Ok(id) => Ok(web::redirect_with_flash(
            &format!("/agents/{id}"),
            "success",
            "agents.created_flash",
            input.profile.name.trim(),
        )),
        Err(Error::Validation(mut errors)) => {
            if errors.has("sponsor_id") {
                errors.add("sponsor", "agents.no_such_agent");
            }
            let ctx = ctx.titled(
                "agents.new",
                &[AGENTS, ("menu.agent_list", Some("/agents"))],
            );
            Ok(web::page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                FormPage {
                    ctx,
                    agent: None,
                    code: input.code,
                    profile: input.profile,
                    level,
                    sponsor: sponsor_code,
                    levels: levels::all(&s.db).await?,
                    errors,
                },
            ))
        }
        Err(e) => Err(e),
    }
}

async fn edit_form(
    State(s): State<AppState>,
    _who: Need<AgentsWrite>,
    _pii: Need<AgentsPii>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let a = store::get(&s.db, id).await?;
    let profile = AgentProfile {
        name: a.name.clone(),
        phone: a.phone.clone(),
        wechat: a.wechat.clone(),
        province: a.province.clone(),
        city: a.city.clone(),
        notes: a.notes.clone(),
    };
    let ctx = ctx.titled(
        "agents.edit",
        &[AGENTS, ("menu.agent_list", Some("/agents"))],
    );
    Ok(web::page(FormPage {
        ctx,
        code: a.code.clone(),
        level: a.level,
        sponsor: a.sponsor_code.clone().unwrap_or_default(),
        agent: Some(a),
        profile,
        levels: levels::all(&s.db).await?,
        errors: FieldErrors::default(),
    }))
}

async fn update(
    State(s): State<AppState>,
    who: Need<AgentsWrite>,
    _pii: Need<AgentsPii>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let a = store::get(&s.db, id).await?;
    let profile = profile_of(&form);
    match store::update_profile(&s.db, &who.actor(), id, &profile).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/agents/{id}"),
            "success",
            "common.saved",
            "",
        )),
        Err(Error::Validation(errors)) => {
            let ctx = ctx.titled(
                "agents.edit",
                &[AGENTS, ("menu.agent_list", Some("/agents"))],
            );
            Ok(web::page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                FormPage {
                    ctx,
                    code: a.code.clone(),
                    level: a.level,
                    sponsor: a.sponsor_code.clone().unwrap_or_default(),
                    agent: Some(a),
                    profile,
                    levels: levels::all(&s.db).await?,
                    errors,
                },
            ))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- detail

#[derive(Template)]
#[template(path = "agents/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    agent: Agent,
    upline: Vec<Agent>,
    team: Team,
    children: Vec<Agent>,
    children_pager: Pager,
    certificate: Option<Certificate>,
    levels: Vec<Level>,
    history: Vec<AuditEntry>,
    now: i64,
    revealed: bool,
}

impl DetailPage {
    fn cert_state(&self) -> &'static str {
        match self.certificate.as_ref().map(|c| c.validity(self.now)) {
            Some(Validity::Valid) => "valid",
            Some(Validity::Expired) => "expired",
            Some(Validity::Revoked) => "revoked",
            None => "none",
        }
    }
}

async fn detail_page(
    s: &AppState,
    who: &Principal,
    ctx: PageCtx,
    id: i64,
    params: &ListParams,
    revealed: bool,
) -> Result<Response> {
    let raw = store::get(&s.db, id).await?;
    let team = store::team(&s.db, &raw, params.get("generations") == Some("all")).await?;
    let upline = store::upline(&s.db, &raw)
        .await?
        .into_iter()
        .map(|a| shown(who, a))
        .collect();
    let (children, info) = store::children(&s.db, id, params.page()).await?;
    let children = children.into_iter().map(|a| shown(who, a)).collect();
    let certificate = certificates::latest(&s.db, id).await?;
    let history = if ctx.has::<AuditRead>() {
        let f = AuditFilter {
            entity_type: Some("agent".into()),
            entity_id: Some(id.to_string()),
            ..Default::default()
        };
        crate::audit_log::store::query(
            &s.db,
            &f,
            weiops_core::paging::PageRequest::new(Some(1), Some(20)),
        )
        .await?
        .0
    } else {
        Vec::new()
    };
    let agent = if revealed { raw } else { shown(who, raw) };
    let ctx = ctx.titled_text(
        format!("{} · {}", agent.name, agent.code),
        &[AGENTS, ("menu.agent_list", Some("/agents"))],
    );
    Ok(web::page(DetailPage {
        ctx,
        agent,
        upline,
        team,
        children,
        children_pager: params.pager(info),
        certificate,
        levels: levels::all(&s.db).await?,
        history,
        now: crate::db::now_ms(),
        revealed,
    }))
}

async fn detail(
    State(s): State<AppState>,
    who: Need<AgentsRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    params: ListParams,
) -> Result<Response> {
    detail_page(&s, &who, ctx, id, &params, false).await
}

/// Shows an agent's personal data unmasked, once, and records that it was seen.
async fn reveal(
    State(s): State<AppState>,
    who: Need<AgentsPii>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let a = store::get(&s.db, id).await?;
    store::record_reveal(&s.db, &who.actor(), &a, "name/phone/wechat").await?;
    let mut res = detail_page(&s, &who, ctx, id, &ListParams::default(), true).await?;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

async fn change_level(
    State(s): State<AppState>,
    who: Need<AgentsWrite>,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let level = form.get("level").trim().parse().unwrap_or(0);
    match store::change_level(&s.db, &who.actor(), id, level, form.get("reason")).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/agents/{id}"),
            "success",
            "agents.level_changed",
            "",
        )),
        Err(Error::Validation(f)) => Ok(web::redirect_with_flash(
            &format!("/agents/{id}"),
            "error",
            f.0.first()
                .map(|x| x.1.as_str())
                .unwrap_or("error.validation"),
            "",
        )),
        Err(e) => Err(e),
    }
}

async fn move_agent(
    State(s): State<AppState>,
    who: Need<AgentsWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let me = store::get(&s.db, id).await?;
    let code = form.get("sponsor").trim().to_string();
    let target = if code.is_empty() {
        None
    } else {
        match store::find_by_code(&s.db, &code).await? {
            Some(t) => Some(t),
            None => {
                return Ok(web::redirect_with_flash(
                    &format!("/agents/{id}"),
                    "error",
                    "agents.no_such_agent",
                    &code,
                ));
            }
        }
    };
    if !form.confirmed() {
        let n = me.team_size + 1;
        let to = target
            .as_ref()
            .map(|t| t.code.clone())
            .unwrap_or_else(|| ctx.t("agents.no_sponsor"));
        let msg = ctx.tf(
            "agents.confirm_move",
            &[("code", &me.code), ("to", &to), ("n", &n.to_string())],
        );
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/agents/{id}/move"),
            form.carry(),
            &format!("/agents/{id}"),
            "agents.move",
        ));
    }
    match store::move_to(
        &s.db,
        &who.actor(),
        id,
        target.map(|t| t.id),
        form.get("reason"),
    )
    .await
    {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/agents/{id}"),
            "success",
            "agents.moved_flash",
            "",
        )),
        Err(Error::Validation(f)) => Ok(web::redirect_with_flash(
            &format!("/agents/{id}"),
            "error",
            f.0.first()
                .map(|x| x.1.as_str())
                .unwrap_or("error.validation"),
            "",
        )),
        Err(e) => Err(e),
    }
}

async fn set_status(
    State(s): State<AppState>,
    who: Need<AgentsWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let a = store::get(&s.db, id).await?;
    let status =
        AgentStatus::parse(form.get("status")).ok_or(Error::BadRequest("agents.bad_status"))?;
    if status != AgentStatus::Active && !form.confirmed() {
        let key = if status == AgentStatus::Terminated {
            "agents.confirm_terminate"
        } else {
            "agents.confirm_freeze"
        };
        let msg = ctx.tf(key, &[("code", &a.code)]);
        let button = if status == AgentStatus::Terminated {
            "agents.terminate"
        } else {
            "agents.freeze"
        };
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/agents/{id}/status"),
            form.carry(),
            &format!("/agents/{id}"),
            button,
        ));
    }
    match store::set_status(&s.db, &who.actor(), id, status, form.get("reason")).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/agents/{id}"),
            "success",
            "common.saved",
            "",
        )),
        Err(Error::Refused(key)) => Ok(web::redirect_with_flash(
            &format!("/agents/{id}"),
            "error",
            key,
            "",
        )),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- levels

#[derive(Template)]
#[template(path = "agents/levels.html")]
struct LevelsPage {
    ctx: PageCtx,
    levels: Vec<Level>,
    errors: FieldErrors,
}

impl LevelsPage {
    fn row_error(&self, i: &usize) -> Option<&str> {
        self.errors.get(&format!("levels.{}", i + 1))
    }
}

async fn levels_page(
    State(s): State<AppState>,
    _who: Need<AgentsRead>,
    ctx: PageCtx,
) -> Result<Response> {
    let ctx = ctx.titled("menu.agent_levels", &[AGENTS]);
    Ok(web::page(LevelsPage {
        ctx,
        levels: levels::all(&s.db).await?,
        errors: FieldErrors::default(),
    }))
}

fn yuan(s: &str) -> std::result::Result<Option<i64>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    weiops_core::money::Fen::parse_yuan(s)
        .map(|f| Some(f.0))
        .map_err(|_| ())
}

async fn levels_save(
    State(s): State<AppState>,
    who: Need<AgentLevelsWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let names = form.all("name");
    let rates = form.all("price_percent");
    let firsts = form.all("first_purchase");
    let thresholds = form.all("upgrade_threshold");
    let mut input = Vec::new();
    let mut errors = FieldErrors::default();
    for (i, name) in names.iter().enumerate() {
        if name.trim().is_empty() && rates.get(i).is_none_or(|r| r.trim().is_empty()) {
            continue;
        }
        // The rate is typed as a percentage with up to two decimals: 70 or 62.5.
        let rate = weiops_core::money::Fen::parse_yuan(rates.get(i).unwrap_or(&"")).map(|f| f.0);
        let first = yuan(firsts.get(i).unwrap_or(&""));
        let threshold = yuan(thresholds.get(i).unwrap_or(&""));
        match (rate, first, threshold) {
            (Ok(bp), Ok(first), Ok(threshold)) => input.push(LevelInput {
                level: input.len() as i64 + 1,
                name: name.to_string(),
                price_bp: bp,
                first_purchase_fen: first,
                upgrade_threshold_fen: threshold,
            }),
            _ => errors.add(&format!("levels.{}", i + 1), "agents.level_number"),
        }
    }
    let result = if errors.is_empty() {
        levels::save(&s.db, &who.actor(), &input).await
    } else {
        Err(Error::Validation(errors))
    };
    match result {
        Ok(()) => Ok(web::redirect_with_flash(
            "/agents/levels",
            "success",
            "common.saved",
            "",
        )),
        Err(Error::Validation(errors)) => {
            let ctx = ctx.titled("menu.agent_levels", &[AGENTS]);
            Ok(web::page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                LevelsPage {
                    ctx,
                    levels: levels::all(&s.db).await?,
                    errors,
                },
            ))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- import

#[derive(Template)]
#[template(path = "agents/import.html")]
struct ImportPage {
    ctx: PageCtx,
    message: Option<String>,
    columns: Vec<ImportColumn>,
    example: String,
}

/// One column as the import page explains it.
struct ImportColumn {
    /// The header in the reader's language (as the template writes it).
    header: String,
    /// The other names the import accepts for it.
    also: String,
    required: bool,
    rule: String,
}

/// The template's one example row, in the reader's language.
fn template_table(ctx: &PageCtx, levels: &[Level]) -> Table {
    let level = levels
        .first()
        .map(|l| l.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "1".into());
    Table {
        sheet: ctx.t("menu.agent_list"),
        headers: IMPORT_HEADERS.iter().map(|k| ctx.t(k)).collect(),
        rows: vec![vec![
            "A001".into(),
            "张三".into(),
            "13800000001".into(),
            "zhangsan_wx".into(),
            level,
            String::new(),
            ctx.t("agents.status_active"),
            "2026-11-06".into(),
        ]],
    }
}

/// The page's explanation of each column and the example file.
async fn import_form(s: &AppState, ctx: PageCtx, message: Option<String>) -> Result<ImportPage> {
    use weiops_core::agents::AGENT_HEADERS;
    let levels = levels::all(&s.db).await?;
    let level_list = levels
        .iter()
        .map(|l| format!("{} {}", l.level, l.name))
        .collect::<Vec<_>>()
        .join(ctx.t("agents.import_page.separator").as_str());
    let rules = [
        ("agents.import_page.id_rule", true),
        ("agents.import_page.name_rule", true),
        ("agents.import_page.phone_rule", false),
        ("agents.import_page.wechat_rule", false),
        ("agents.import_page.level_rule", true),
        ("agents.import_page.sponsor_rule", false),
        ("agents.import_page.status_rule", true),
        ("agents.import_page.joined_rule", true),
    ];
    let columns = IMPORT_HEADERS
        .iter()
        .zip(AGENT_HEADERS)
        .zip(rules)
        .map(|((label, names), (rule, required))| {
            let header = ctx.t(label);
            let also = names
                .iter()
                .filter(|n| **n != header)
                .copied()
                .collect::<Vec<_>>()
                .join(" / ");
            ImportColumn {
                header,
                also,
                required,
                rule: ctx.tf(rule, &[("levels", &level_list)]),
            }
        })
        .collect();
    let example = String::from_utf8_lossy(
        export::to_csv(&template_table(&ctx, &levels))?
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or_default(),
    )
    .into_owned();
    let ctx = ctx.titled("agents.import_agents", &[AGENTS]);
    Ok(ImportPage {
        ctx,
        message,
        columns,
        example,
    })
}

async fn import_page(
    State(s): State<AppState>,
    _who: Need<AgentsImport>,
    ctx: PageCtx,
) -> Result<Response> {
    Ok(web::page(import_form(&s, ctx, None).await?))
}

/// `/agents/import/template?format=csv|xlsx`: the export's headers (the
/// columns the import needs) in the reader's language and one example row.
async fn import_template(
    State(s): State<AppState>,
    _who: Need<AgentsImport>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let table = template_table(&ctx, &levels::all(&s.db).await?);
    export::respond(&table, format, "agents-template")
}

/// Starts an import on a background task; returns the job id.
pub(crate) async fn start_import(s: &AppState, who: &Principal, bytes: Vec<u8>) -> Result<i64> {
    let db = s.db.clone();
    let actor = who.actor();
    jobs::spawn(
        &s.db,
        "agents.import",
        Some(who.user_id),
        move |progress| async move {
            let r = super::import::import(&db, &actor, &bytes, &*progress).await?;
            Ok(serde_json::json!({"agents": r.agents, "certificates": r.certificates}))
        },
    )
    .await
}

async fn import_upload(
    State(s): State<AppState>,
    who: Need<AgentsImport>,
    ctx: PageCtx,
    multipart: Multipart,
) -> Result<Response> {
    let Some(bytes) = web::uploaded_file(multipart, "file").await? else {
        let message = Some(ctx.t("import.no_file"));
        return Ok(web::page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            import_form(&s, ctx, message).await?,
        ));
    };
    let id = start_import(&s, &who, bytes.to_vec()).await?;
    Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "agents/job.html")]
struct JobPage {
    ctx: PageCtx,
    job: Job,
    rows: Vec<RowProblem>,
    error: Option<String>,
}

impl JobPage {
    /// A row problem in words; a row's value fills the message's
    /// placeholder where it has one (`import.more_problems`: "…另有 %{n}
    /// 个问题未列出").
    fn problem(&self, p: &RowProblem) -> String {
        self.ctx.tf(&p.key, &[("n", &p.value)])
    }

    fn count(&self, key: &str) -> i64 {
        self.job
            .result
            .as_ref()
            .and_then(|r| r[key].as_i64())
            .unwrap_or(0)
    }
}

async fn job_page(
    State(s): State<AppState>,
    who: Principal,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let job = jobs::get(&s.db, id).await?;
    if job.created_by != Some(who.user_id) && !who.is_admin {
        return Err(Error::NotFound);
    }
    let rows: Vec<RowProblem> = job
        .result
        .as_ref()
        .and_then(|r| r.get("rows"))
        .and_then(|r| serde_json::from_value::<Vec<serde_json::Value>>(r.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .take(1000)
        .map(|r| RowProblem {
            row: r["row"].as_u64().unwrap_or(0) as usize,
            id: r["id"].as_str().unwrap_or("").into(),
            column: r["column"].as_str().unwrap_or("").into(),
            key: r["key"].as_str().unwrap_or("").into(),
            value: r["value"].as_str().unwrap_or("").into(),
        })
        .collect();
    // A refused import's message counts its problems ("文件有 %{n} 处问题"):
    // every listed row, plus those a "more problems" row stands for.
    let problems: i64 = job
        .result
        .as_ref()
        .and_then(|r| r["rows"].as_array())
        .map(|rows| {
            rows.iter()
                .map(|r| match r["key"].as_str() {
                    Some("import.more_problems") => r["value"]
                        .as_str()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0),
                    _ => 1,
                })
                .sum()
        })
        .unwrap_or(0);
    let error = job
        .result
        .as_ref()
        .and_then(|r| r["error"].as_str())
        .map(|k| ctx.tn(k, problems));
    let ctx = if job.kind == "settlement.compute" {
        ctx.titled(
            "settlement.compute_progress",
            &[
                ("menu.finance", None),
                ("menu.settlements", Some("/finance/settlements")),
            ],
        )
    } else if job.kind == "orders.import" {
        ctx.titled(
            "orders.import_progress",
            &[("menu.goods", None), ("menu.orders", Some("/orders"))],
        )
    } else {
        ctx.titled(
            "agents.import_progress",
            &[AGENTS, ("agents.import_agents", Some("/agents/import"))],
        )
    };
    let mut res = web::page(JobPage {
        ctx,
        job,
        rows,
        error,
    });
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

// ---------------------------------------------------------------- certificates

/// A QR code as inline SVG.
pub(crate) fn qr_svg(data: &str) -> String {
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(150, 150)
                .quiet_zone(true)
                .build();
            match svg.find("<svg") {
                Some(i) => svg[i..].to_string(),
                None => svg,
            }
        }
        Err(_) => String::new(),
    }
}

#[derive(Template)]
#[template(path = "agents/certificate.html")]
struct CertificatePage {
    ctx: PageCtx,
    agent: Agent,
    certificate: Certificate,
    level_name: String,
    qr: String,
    url: String,
    now: i64,
}

async fn certificate_page(
    State(s): State<AppState>,
    _who: Need<AgentsRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let agent = store::get(&s.db, id).await?;
    let certificate = certificates::latest(&s.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let token = certificates::token(&s.db, &certificate).await?;
    let url = format!(
        "{}/verify/c/{}?t={token}",
        s.options.base_url,
        web::url_encode(&certificate.cert_no)
    );
    let level_name = levels::get(&s.db, certificate.level)
        .await
        .map(|l| l.name)
        .unwrap_or_default();
    let ctx = ctx.titled(
        "agents.certificate",
        &[AGENTS, ("menu.agent_list", Some("/agents"))],
    );
    Ok(web::page(CertificatePage {
        ctx,
        qr: qr_svg(&url),
        url,
        agent,
        certificate,
        level_name,
        now: crate::db::now_ms(),
    }))
}

// ---------------------------------------------------------------- public verification

/// What the public sees of a certificate: no full name, phone or WeChat id.
pub struct PublicCert {
    pub cert_no: String,
    pub name: String,
    pub wechat: String,
    pub phone: String,
    pub level_name: String,
    pub region: String,
    pub valid_from: String,
    pub valid_until: String,
    pub state: &'static str,
}

async fn public_cert(s: &AppState, c: &Certificate) -> Result<PublicCert> {
    let now = crate::db::now_ms();
    Ok(PublicCert {
        cert_no: c.cert_no.clone(),
        name: mask_name(&c.name),
        wechat: mask_wechat(&c.wechat),
        phone: mask_phone(&c.phone),
        level_name: levels::get(&s.db, c.level)
            .await
            .map(|l| l.name)
            .unwrap_or_default(),
        region: c.region.clone(),
        valid_from: weiops_core::time::format_date(c.valid_from),
        valid_until: weiops_core::time::format_date(c.valid_until),
        state: match c.validity(now) {
            Validity::Valid => "valid",
            Validity::Expired => "expired",
            Validity::Revoked => "revoked",
        },
    })
}

#[derive(Template)]
#[template(path = "agents/verify.html")]
struct VerifyPage {
    ctx: PublicCtx,
    q: String,
    searched: bool,
    result: Option<PublicCert>,
    /// From a QR code: whether its signature is ours.
    qr_genuine: Option<bool>,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"))
}

fn verify_json(result: &Option<PublicCert>, qr_genuine: Option<bool>) -> Response {
    let body = match result {
        Some(c) => serde_json::json!({
            "found": true, "cert_no": c.cert_no, "name": c.name, "wechat": c.wechat, "phone": c.phone,
            "level": c.level_name, "region": c.region, "valid_from": c.valid_from, "valid_until": c.valid_until,
            "status": c.state, "qr_genuine": qr_genuine,
        }),
        None => serde_json::json!({"found": false, "qr_genuine": qr_genuine}),
    };
    axum::Json(body).into_response()
}

/// 授权查询: anyone may check a certificate number, WeChat id or phone.
async fn verify(
    State(s): State<AppState>,
    ctx: PublicCtx,
    headers: HeaderMap,
    params: ListParams,
) -> Result<Response> {
    let q = params.value("q");
    let searched = !q.trim().is_empty();
    let result = match certificates::lookup(&s.db, &q).await? {
        Some(c) if searched => Some(public_cert(&s, &c).await?),
        _ => None,
    };
    if wants_json(&headers) {
        return Ok(verify_json(&result, None));
    }
    Ok(web::page(VerifyPage {
        ctx,
        q,
        searched,
        result,
        qr_genuine: None,
    }))
}

/// The target of a certificate's QR code: checks the signature too.
async fn verify_qr(
    State(s): State<AppState>,
    ctx: PublicCtx,
    headers: HeaderMap,
    Path(cert_no): Path<String>,
    params: ListParams,
) -> Result<Response> {
    let found = certificates::lookup(&s.db, &cert_no)
        .await?
        .filter(|c| c.cert_no == cert_no);
    let (result, genuine) = match found {
        Some(c) => {
            let ok = certificates::token_matches(&s.db, &c, &params.value("t")).await?;
            (Some(public_cert(&s, &c).await?), ok)
        }
        None => (None, false),
    };
    if wants_json(&headers) {
        return Ok(verify_json(&result, Some(genuine)));
    }
    Ok(web::page(VerifyPage {
        ctx,
        q: cert_no,
        searched: true,
        result,
        qr_genuine: Some(genuine),
    }))
}

#[derive(Template)]
#[template(path = "agents/portal_password_shown.html")]
struct PortalPasswordShown {
    ctx: PageCtx,
    agent: Agent,
    password: String,
}

/// Gives an agent a new portal password (shown once), after a confirmation.
async fn portal_password(
    State(s): State<AppState>,
    who: Need<AgentsWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let agent = store::get(&s.db, id).await?;
    if !form.confirmed() {
        let msg = ctx.tf("portal.confirm_reset", &[("code", &agent.code)]);
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/agents/{id}/portal-password"),
            vec![],
            &format!("/agents/{id}"),
            "portal.reset_password",
        ));
    }
    match super::portal_store::reset_password(&s.db, &who.actor(), id).await {
        Ok(password) => {
            let ctx = ctx.titled(
                "portal.reset_password",
                &[AGENTS, ("menu.agent_list", Some("/agents"))],
            );
            let mut res = web::page(PortalPasswordShown {
                ctx,
                agent: shown(&who, agent),
                password,
            });
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            Ok(res)
        }
        Err(Error::Refused(key)) => Ok(web::redirect_with_flash(
            &format!("/agents/{id}"),
            "error",
            key,
            "",
        )),
        Err(e) => Err(e),
    }
}
