//! Recruitment (招募): every agent and every 销售 staff member has an invite
//! link and QR code; the public application page collects an applicant's
//! details; head office (and, when configured, the sponsor first) approves
//! or rejects with a reason. Approval creates the agent under the inviting
//! sponsor and records the recruiting staff member for their KPIs. Nothing
//! is paid for recruiting.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::agents::mask_name;
use weiops_core::paging::{PageInfo, PageRequest};

use super::levels::{self, Level};
use super::store::{self, AgentProfile};
use crate::agents::AgentsPii;
use crate::agents::{AgentsApprove, AgentsRead};
use crate::audit::{self, Actor, Change};
use crate::db::{Db, Where, now_ms};
use crate::error::FieldErrors;
use crate::identity::{Need, Principal};
use crate::state::{AppState, RequestMeta};
use crate::web::list::{ListParams, Pager};
use crate::web::{self, FormPairs, PageCtx, PublicCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/join/{code}", get(join_page).post(join_submit))
        .route("/agents/invite", get(my_invite))
        .route("/agents/applications", get(list_page))
        .route("/agents/applications/settings", post(save_mode))
        .route("/agents/applications/{id}", get(detail_page))
        .route("/agents/applications/{id}/approve", post(approve_page))
        .route("/agents/applications/{id}/reject", post(reject_page))
}

/// Who invited: an agent (the future sponsor) or a staff member.
#[derive(Debug, Clone)]
pub enum Inviter {
    Agent { id: i64, name: String },
    Staff { id: i64, name: String },
}

fn new_code() -> String {
    // 10 characters of an alphabet without look-alikes: unguessable enough
    // for a public link that only attributes an application.
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// The invite code of an agent or a user, created on first use.
pub async fn invite_code(db: &Db, agent_id: Option<i64>, user_id: Option<i64>) -> Result<String> {
    let find = || async {
        let row = sqlx::query("SELECT code FROM invite_codes WHERE (agent_id = $1 AND $1 IS NOT NULL) OR (user_id = $2 AND $2 IS NOT NULL)")
            .bind(agent_id)
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?;
        Ok::<_, Error>(row.map(|r| r.try_get::<String, _>("code")).transpose()?)
    };
    if let Some(code) = find().await? {
        return Ok(code);
    }
    let _ = sqlx::query("INSERT INTO invite_codes (code, agent_id, user_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(new_code())
        .bind(agent_id)
        .bind(user_id)
        .bind(now_ms())
        .execute(&db.pool)
        .await?;
    find().await?.ok_or(Error::NotFound)
}

async fn inviter(db: &Db, code: &str) -> Result<Inviter> {
    let row = sqlx::query(
        "SELECT i.agent_id, i.user_id, a.name AS agent_name, a.status AS agent_status, u.display_name AS user_name, u.status AS user_status \
         FROM invite_codes i LEFT JOIN agents a ON a.id = i.agent_id LEFT JOIN users u ON u.id = i.user_id WHERE i.code = $1",
    )
    .bind(code)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(Error::NotFound)?;
    let agent_id: Option<i64> = row.try_get("agent_id")?;
    match agent_id {
        Some(id) => {
            // A terminated agent's link no longer recruits.
            if row.try_get::<Option<String>, _>("agent_status")?.as_deref() == Some("terminated") {
                return Err(Error::NotFound);
            }
            Ok(Inviter::Agent {
                id,
                name: row
                    .try_get::<Option<String>, _>("agent_name")?
                    .unwrap_or_default(),
            })
        }
        None => {
            if row.try_get::<Option<String>, _>("user_status")?.as_deref() != Some("active") {
                return Err(Error::NotFound);
            }
            Ok(Inviter::Staff {
                id: row.try_get("user_id")?,
                name: row
                    .try_get::<Option<String>, _>("user_name")?
                    .unwrap_or_default(),
            })
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Application {
    pub id: i64,
    pub sponsor_id: Option<i64>,
    pub sponsor_code: Option<String>,
    pub recruiter_id: Option<i64>,
    pub recruiter_name: Option<String>,
    pub name: String,
    pub phone: String,
    pub wechat: String,
    pub province: String,
    pub city: String,
    pub requested_level: i64,
    pub message: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub sponsor_approved_at: Option<i64>,
    pub reason: String,
    pub decided_at: Option<i64>,
    pub agent_id: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "SELECT p.id, p.sponsor_id, s.code AS sponsor_code, p.recruiter_id, u.display_name AS recruiter_name, p.name, p.phone, \
     p.wechat, p.province, p.city, p.requested_level, p.message, p.status, p.sponsor_approved_at, p.reason, p.decided_at, p.agent_id, p.created_at";
const FROM: &str = "FROM agent_applications p LEFT JOIN agents s ON s.id = p.sponsor_id LEFT JOIN users u ON u.id = p.recruiter_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Application, sqlx::Error> {
    Ok(Application {
        id: r.try_get("id")?,
        sponsor_id: r.try_get("sponsor_id")?,
        sponsor_code: r.try_get("sponsor_code")?,
        recruiter_id: r.try_get("recruiter_id")?,
        recruiter_name: r.try_get("recruiter_name")?,
        name: r.try_get("name")?,
        phone: r.try_get("phone")?,
        wechat: r.try_get("wechat")?,
        province: r.try_get("province")?,
        city: r.try_get("city")?,
        requested_level: r.try_get("requested_level")?,
        message: r.try_get("message")?,
        status: r.try_get("status")?,
        sponsor_approved_at: r.try_get("sponsor_approved_at")?,
        reason: r.try_get("reason")?,
        decided_at: r.try_get("decided_at")?,
        agent_id: r.try_get("agent_id")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Application {
    pub fn masked(mut self) -> Application {
        self.name = mask_name(&self.name);
        self.phone = weiops_core::agents::mask_phone(&self.phone);
        self.wechat = weiops_core::agents::mask_wechat(&self.wechat);
        self
    }
}

/// How applications are approved: by head office only, or by the sponsor
/// (in the agent portal) and then head office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalMode {
    HeadOffice,
    SponsorThenHeadOffice,
}

const APPROVAL_SETTING: &str = "agents.approval";

impl ApprovalMode {
    fn as_str(self) -> &'static str {
        match self {
            ApprovalMode::HeadOffice => "head_office",
            ApprovalMode::SponsorThenHeadOffice => "sponsor_then_head_office",
        }
    }
}

pub async fn approval_mode(db: &Db) -> Result<ApprovalMode> {
    Ok(
        match crate::settings::get(db, APPROVAL_SETTING).await?.as_deref() {
            Some("sponsor_then_head_office") => ApprovalMode::SponsorThenHeadOffice,
            _ => ApprovalMode::HeadOffice,
        },
    )
}

/// Sets how applications are approved (audited).
pub async fn set_approval_mode(db: &Db, actor: &Actor, mode: ApprovalMode) -> Result<()> {
    let before = approval_mode(db).await?;
    crate::settings::set(db, actor, APPROVAL_SETTING, before.as_str(), mode.as_str()).await
}

/// What the public form sends.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ApplicationInput {
    pub name: String,
    pub phone: String,
    pub wechat: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub city: String,
    pub requested_level: i64,
    #[serde(default)]
    pub message: String,
    /// The applicant agreed to the data statement.
    #[serde(default)]
    pub consent: bool,
}

/// Applications from one address: a public form must not be a spam cannon.
const PER_IP: crate::identity::throttle::Limit = crate::identity::throttle::Limit {
    max: 10,
    window_ms: 3_600_000,
};

pub async fn submit(db: &Db, code: &str, input: &ApplicationInput, ip: &str) -> Result<i64> {
    let who = inviter(db, code).await?;
    let mut errors = FieldErrors::default();
    let name = crate::org::check_name(&mut errors, "name", &input.name, 32);
    let phone = match weiops_core::accounts::normalize_phone(&input.phone) {
        Ok(Some(p)) => p,
        Ok(None) => {
            errors.add("phone", "field.required");
            String::new()
        }
        Err(e) => {
            errors.invalid("phone", e);
            String::new()
        }
    };
    let wechat = input.wechat.trim().to_string();
    if wechat.is_empty() {
        errors.add("wechat", "field.required");
    } else if wechat.chars().count() > 64 {
        errors.add("wechat", "field.too_long");
    }
    let max = levels::max_level(db).await?;
    if !(1..=i64::from(max)).contains(&input.requested_level) {
        errors.add("requested_level", "field.invalid_choice");
    }
    if input.message.chars().count() > 500
        || input.province.chars().count() > 32
        || input.city.chars().count() > 32
    {
        errors.add("message", "field.too_long");
    }
    if !input.consent {
        errors.add("consent", "recruit.consent_required");
    }
    let pending =
        sqlx::query("SELECT id FROM agent_applications WHERE phone = $1 AND status = 'pending'")
            .bind(&phone)
            .fetch_optional(&db.pool)
            .await?;
    if pending.is_some() && !phone.is_empty() {
        errors.add("phone", "recruit.already_pending");
    }
    errors.into_result()?;
    let key = format!("apply:{ip}");
    if crate::identity::throttle::exhausted(db, &key, PER_IP, now_ms()).await? {
        return Err(Error::TooManyAttempts);
    }
    crate::identity::throttle::hit(db, &key, PER_IP, now_ms()).await?;
    let (sponsor, recruiter) = match who {
        Inviter::Agent { id, .. } => (Some(id), None),
        Inviter::Staff { id, .. } => (None, Some(id)),
    };
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO agent_applications (invite_code, sponsor_id, recruiter_id, name, phone, wechat, province, city, requested_level, \
         message, status, ip, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12) RETURNING id",
    )
    .bind(code)
    .bind(sponsor)
    .bind(recruiter)
    .bind(&name)
    .bind(&phone)
    .bind(&wechat)
    .bind(input.province.trim())
    .bind(input.city.trim())
    .bind(input.requested_level)
    .bind(input.message.trim())
    .bind(ip)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    audit::record(
        &mut tx,
        &Actor {
            user_id: None,
            name: "public".into(),
            request_id: String::new(),
            ip: ip.into(),
        },
        Change::new("application.submit", "application", id)
            .summary(format!("via {code}, level {}", input.requested_level)),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn fetch(db: &Db, id: i64) -> Result<Application> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(from_row(&row)?)
}

pub async fn list(
    db: &Db,
    status: Option<&str>,
    page: PageRequest,
) -> Result<(Vec<Application>, PageInfo)> {
    let mut w = Where::new();
    if let Some(s) = status.filter(|s| matches!(*s, "pending" | "approved" | "rejected")) {
        w.and("p.status = ?", [s.into()]);
    }
    let (rows, info) =
        crate::db::fetch_page(db, COLUMNS, FROM, &w, "p.created_at DESC, p.id DESC", page).await?;
    Ok((
        rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?,
        info,
    ))
}

/// Approves: creates the agent under the inviting sponsor at the level
/// chosen (by default the one requested), with its certificate.
pub async fn approve(db: &Db, actor: &Actor, id: i64, level: Option<i64>) -> Result<i64> {
    let app = fetch(db, id).await?;
    if app.status != "pending" {
        return Err(Error::Conflict("recruit.already_decided"));
    }
    if approval_mode(db).await? == ApprovalMode::SponsorThenHeadOffice
        && app.sponsor_id.is_some()
        && app.sponsor_approved_at.is_none()
    {
        return Err(Error::Conflict("recruit.waiting_for_sponsor"));
    }
    let level = level.unwrap_or(app.requested_level);
    let max = levels::max_level(db).await?;
    if !(1..=i64::from(max)).contains(&level) {
        let mut f = FieldErrors::default();
        f.add("level", "agents.bad_level");
        return Err(Error::Validation(f));
    }
    let sponsor = match app.sponsor_id {
        Some(s) => Some(store::get(db, s).await?),
        None => None,
    };
    let profile = AgentProfile {
        name: app.name.clone(),
        phone: app.phone.clone(),
        wechat: app.wechat.clone(),
        province: app.province.clone(),
        city: app.city.clone(),
        notes: app.message.clone(),
    };
    let mut tx = db.begin_write().await?;
    // Decided once, also when two people click at the same moment.
    let claimed = sqlx::query("UPDATE agent_applications SET status = 'approved', decided_by = $1, decided_at = $2 WHERE id = $3 AND status = 'pending'")
        .bind(actor.user_id)
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if claimed.rows_affected() == 0 {
        return Err(Error::Conflict("recruit.already_decided"));
    }
    let next: i64 = sqlx::query("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) + 1 AS n FROM agents")
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    let code = format!("A{next:07}");
    let agent_id = store::insert_one(
        &mut tx,
        &code,
        &profile,
        level,
        sponsor.as_ref(),
        app.recruiter_id,
    )
    .await?;
    sqlx::query("UPDATE agent_applications SET agent_id = $1 WHERE id = $2")
        .bind(agent_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("application.approve", "application", id)
            .summary(format!("→ agent {code} at level {level}"))
            .after(serde_json::json!({"agent_id": agent_id, "level": level, "sponsor_id": app.sponsor_id, "recruiter_id": app.recruiter_id})),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("agent.create", "agent", agent_id)
            .summary(format!("{code} ← application #{id}")),
    )
    .await?;
    tx.commit().await?;
    Ok(agent_id)
}

pub async fn reject(db: &Db, actor: &Actor, id: i64, reason: &str) -> Result<()> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        let mut f = FieldErrors::default();
        f.add(
            "reason",
            if reason.is_empty() {
                "field.required"
            } else {
                "field.too_long"
            },
        );
        return Err(Error::Validation(f));
    }
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "UPDATE agent_applications SET status = 'rejected', reason = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND status = 'pending'",
    )
    .bind(reason)
    .bind(actor.user_id)
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        fetch(db, id).await?;
        return Err(Error::Conflict("recruit.already_decided"));
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("application.reject", "application", id).summary(reason.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- public pages

#[derive(Template)]
#[template(path = "agents/join.html")]
struct JoinPage {
    ctx: PublicCtx,
    code: String,
    inviter: String,
    levels: Vec<Level>,
    input: ApplicationInput,
    errors: FieldErrors,
    done: Option<i64>,
}

fn inviter_name(i: &Inviter) -> String {
    match i {
        Inviter::Agent { name, .. } | Inviter::Staff { name, .. } => mask_name(name),
    }
}

async fn join_page(
    State(s): State<AppState>,
    ctx: PublicCtx,
    Path(code): Path<String>,
) -> Result<Response> {
    let who = inviter(&s.db, &code).await?;
    let levels = levels::all(&s.db).await?;
    let input = ApplicationInput {
        requested_level: levels.last().map(|l| l.level).unwrap_or(1),
        ..Default::default()
    };
    Ok(web::page(JoinPage {
        ctx,
        code,
        inviter: inviter_name(&who),
        levels,
        input,
        errors: FieldErrors::default(),
        done: None,
    }))
}

async fn join_submit(
    State(s): State<AppState>,
    ctx: PublicCtx,
    meta: RequestMeta,
    Path(code): Path<String>,
    form: FormPairs,
) -> Result<Response> {
    let who = inviter(&s.db, &code).await?;
    let input = ApplicationInput {
        name: form.get("name").into(),
        phone: form.get("phone").into(),
        wechat: form.get("wechat").into(),
        province: form.get("province").into(),
        city: form.get("city").into(),
        requested_level: form.get("requested_level").trim().parse().unwrap_or(0),
        message: form.get("message").into(),
        consent: form.get("consent") == "yes",
    };
    let levels = levels::all(&s.db).await?;
    match submit(&s.db, &code, &input, &meta.ip).await {
        Ok(id) => Ok(web::page(JoinPage {
            ctx,
            code,
            inviter: inviter_name(&who),
            levels,
            input,
            errors: FieldErrors::default(),
            done: Some(id),
        })),
        Err(Error::Validation(errors)) => Ok(web::page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            JoinPage {
                ctx,
                code,
                inviter: inviter_name(&who),
                levels,
                input,
                errors,
                done: None,
            },
        )),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- staff pages

#[derive(Template)]
#[template(path = "agents/invite.html")]
struct InvitePage {
    ctx: PageCtx,
    link: String,
    qr: String,
}

/// The signed-in staff member's own invite link and QR code.
async fn my_invite(State(s): State<AppState>, who: Principal, ctx: PageCtx) -> Result<Response> {
    let code = invite_code(&s.db, None, Some(who.user_id)).await?;
    let link = format!("{}/join/{code}", s.options.base_url);
    let ctx = ctx.titled("recruit.my_invite", &[("menu.agents", None)]);
    Ok(web::page(InvitePage {
        ctx,
        qr: super::pages::qr_svg(&link),
        link,
    }))
}

#[derive(Template)]
#[template(path = "agents/applications.html")]
struct ListPage {
    ctx: PageCtx,
    params: ListParams,
    applications: Vec<Application>,
    pager: Pager,
    sponsor_first: bool,
}

async fn list_page(
    State(s): State<AppState>,
    who: Need<AgentsRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let status = params.get("status").or(if params.is_filtered() {
        None
    } else {
        Some("pending")
    });
    let (list, info) = list(&s.db, status, params.page()).await?;
    let list = list
        .into_iter()
        .map(|a| {
            if who.has::<AgentsPii>() {
                a
            } else {
                a.masked()
            }
        })
        .collect();
    let sponsor_first = approval_mode(&s.db).await? == ApprovalMode::SponsorThenHeadOffice;
    let ctx = ctx.titled("menu.applications", &[("menu.agents", None)]);
    Ok(web::page(ListPage {
        ctx,
        pager: params.pager(info),
        params,
        applications: list,
        sponsor_first,
    }))
}

#[derive(Template)]
#[template(path = "agents/application.html")]
struct DetailPage {
    ctx: PageCtx,
    application: Application,
    levels: Vec<Level>,
    waiting_for_sponsor: bool,
}

async fn detail_page(
    State(s): State<AppState>,
    who: Need<AgentsRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let a = fetch(&s.db, id).await?;
    let waiting = approval_mode(&s.db).await? == ApprovalMode::SponsorThenHeadOffice
        && a.sponsor_id.is_some()
        && a.sponsor_approved_at.is_none();
    let application = if who.has::<AgentsPii>() {
        a
    } else {
        a.masked()
    };
    let ctx = ctx.titled_text(
        format!("#{} {}", application.id, application.name),
        &[
            ("menu.agents", None),
            ("menu.applications", Some("/agents/applications")),
        ],
    );
    Ok(web::page(DetailPage {
        ctx,
        application,
        levels: levels::all(&s.db).await?,
        waiting_for_sponsor: waiting,
    }))
}

async fn approve_page(
    State(s): State<AppState>,
    who: Need<AgentsApprove>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let a = fetch(&s.db, id).await?;
    let level = form.get("level").trim().parse().ok();
    if !form.confirmed() {
        let msg = ctx.tf(
            "recruit.confirm_approve",
            &[
                ("name", &a.name),
                ("level", &level.unwrap_or(a.requested_level).to_string()),
            ],
        );
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/agents/applications/{id}/approve"),
            form.carry(),
            &format!("/agents/applications/{id}"),
            "recruit.approve",
        ));
    }
    match approve(&s.db, &who.actor(), id, level).await {
        Ok(agent) => Ok(web::redirect_with_flash(
            &format!("/agents/{agent}"),
            "success",
            "recruit.approved_flash",
            &a.name,
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(
            &format!("/agents/applications/{id}"),
            "error",
            key,
            "",
        )),
        Err(e) => Err(e),
    }
}

async fn save_mode(
    State(s): State<AppState>,
    who: Need<AgentsApprove>,
    form: FormPairs,
) -> Result<Response> {
    let mode = match form.get("mode") {
        "head_office" => ApprovalMode::HeadOffice,
        "sponsor_then_head_office" => ApprovalMode::SponsorThenHeadOffice,
        _ => return Err(Error::BadRequest("error.bad_form")),
    };
    set_approval_mode(&s.db, &who.actor(), mode).await?;
    Ok(web::redirect_with_flash(
        "/agents/applications",
        "success",
        "common.saved",
        "",
    ))
}

async fn reject_page(
    State(s): State<AppState>,
    who: Need<AgentsApprove>,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    match reject(&s.db, &who.actor(), id, form.get("reason")).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/agents/applications",
            "success",
            "recruit.rejected_flash",
            "",
        )),
        Err(Error::Validation(_)) => Ok(web::redirect_with_flash(
            &format!("/agents/applications/{id}"),
            "error",
            "recruit.reason_required",
            "",
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(
            &format!("/agents/applications/{id}"),
            "error",
            key,
            "",
        )),
        Err(e) => Err(e),
    }
}

/// For the API module: the list as JSON-ready data with masking applied.
pub async fn list_for(
    db: &Db,
    who: &Principal,
    status: Option<&str>,
    page: PageRequest,
) -> Result<(Vec<Application>, PageInfo)> {
    let (list, info) = list(db, status, page).await?;
    Ok((
        list.into_iter()
            .map(|a| {
                if who.has::<AgentsPii>() {
                    a
                } else {
                    a.masked()
                }
            })
            .collect(),
        info,
    ))
}
