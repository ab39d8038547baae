//! The agent portal (`/m`): a phone-first page for agents, signed in with
//! phone + password on their own account type (never staff permissions):
//! their level, sponsor, certificate, invite QR code, team by generation,
//! and the applications that name them as sponsor.

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sqlx::Row;
use weiops_core::accounts::{LoginGuard, SessionPolicy, check_password, normalize_phone};

use super::certificates::{self, Certificate, Validity};
use super::recruit::{self, Application};
use super::store::{self, Agent, Team};
use crate::audit::{self, Actor, Change};
use crate::db::{Db, now_ms};
use crate::error::FieldErrors;
use crate::identity::{password, random_password, random_secret, secret_hash, throttle};
use crate::state::{AppState, RequestMeta};
use crate::web::list::{ListParams, Pager};
use crate::web::{self, FormPairs, PublicCtx};
use crate::{Error, Result};

pub const AGENT_COOKIE: &str = "weiops_agent";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/m", get(home))
        .route("/m/login", get(login_form).post(login))
        .route("/m/logout", post(logout))
        .route("/m/team", get(team_page))
        .route("/m/invite", get(invite_page))
        .route("/m/password", get(password_form).post(change_password))
        .route("/m/applications", get(applications_page))
        .route("/m/applications/{id}", post(decide))
}

/// A signed-in agent.
#[derive(Debug, Clone)]
pub struct AgentSession {
    pub agent: Agent,
    pub session_id: i64,
    pub must_change_password: bool,
}

async fn authenticate(db: &Db, token: &str, now: i64) -> Result<Option<(i64, i64, bool)>> {
    let row = sqlx::query(
        "SELECT s.id, s.agent_id, s.created_at, s.last_seen_at, a.status, a.must_change_password \
         FROM agent_sessions s JOIN agents a ON a.id = s.agent_id WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
    )
    .bind(secret_hash(token))
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let (id, agent_id): (i64, i64) = (r.try_get("id")?, r.try_get("agent_id")?);
    let policy = SessionPolicy::default();
    let (created, seen): (i64, i64) = (r.try_get("created_at")?, r.try_get("last_seen_at")?);
    if r.try_get::<String, _>("status")? == "terminated" || !policy.is_alive(created, seen, now) {
        return Ok(None);
    }
    if policy.needs_touch(seen, now) {
        sqlx::query("UPDATE agent_sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&db.pool)
            .await?;
    }
    Ok(Some((
        id,
        agent_id,
        r.try_get::<i64, _>("must_change_password")? != 0,
    )))
}

/// Not signed in as an agent: to the portal's sign-in page.
pub struct NeedAgentLogin;

impl IntoResponse for NeedAgentLogin {
    fn into_response(self) -> Response {
        Redirect::to("/m/login").into_response()
    }
}

impl FromRequestParts<AppState> for AgentSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Response> {
        let Some(token) = web::cookie(&parts.headers, AGENT_COOKIE) else {
            return Err(NeedAgentLogin.into_response());
        };
        match authenticate(&state.db, &token, now_ms()).await {
            Ok(Some((session_id, agent_id, must_change))) => {
                if must_change
                    && parts.uri.path() != "/m/password"
                    && parts.uri.path() != "/m/logout"
                {
                    return Err(Redirect::to("/m/password").into_response());
                }
                let agent = store::get(&state.db, agent_id)
                    .await
                    .map_err(IntoResponse::into_response)?;
                Ok(AgentSession {
                    agent,
                    session_id,
                    must_change_password: must_change,
                })
            }
            Ok(None) => Err(NeedAgentLogin.into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Sets a new random portal password for an agent (staff action); the agent
/// must change it at first sign-in. Returns the password, shown once.
pub async fn reset_password(db: &Db, actor: &Actor, agent_id: i64) -> Result<String> {
    let agent = store::get(db, agent_id).await?;
    if agent.phone.is_empty() {
        return Err(Error::Refused("portal.needs_phone"));
    }
    let new = random_password();
    let hash = password::hash(new.clone()).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE agents SET password_hash = $1, must_change_password = 1, failed_logins = 0, locked_until = NULL WHERE id = $2")
        .bind(&hash)
        .bind(agent_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE agent_sessions SET revoked_at = $1 WHERE agent_id = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(agent_id)
    .execute(&mut **tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("agent.reset_password", "agent", agent_id).summary(agent.code.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

async fn sign_in(db: &Db, phone: &str, pw: &str, ip: &str) -> Result<String> {
    let now = now_ms();
    let key = format!("agent-login:{ip}");
    if throttle::exhausted(db, &key, throttle::FAILED_LOGINS_PER_IP, now).await? {
        return Err(Error::TooManyAttempts);
    }
    let phone = normalize_phone(phone).ok().flatten().unwrap_or_default();
    let row = sqlx::query(
        "SELECT id, code, password_hash, status, failed_logins, locked_until FROM agents WHERE phone = $1 AND phone <> '' AND password_hash IS NOT NULL",
    )
    .bind(&phone)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else {
        let _ = password::verify(pw.to_string(), password::DUMMY_HASH.clone()).await?;
        throttle::hit(db, &key, throttle::FAILED_LOGINS_PER_IP, now).await?;
        return Err(Error::InvalidCredentials);
    };
    let id: i64 = r.try_get("id")?;
    let guard = LoginGuard {
        failed_logins: r.try_get("failed_logins")?,
        locked_until_ms: r.try_get("locked_until")?,
    };
    if guard.is_locked(now) {
        return Err(Error::AccountLocked);
    }
    let stored: String = r
        .try_get::<Option<String>, _>("password_hash")?
        .unwrap_or_default();
    if !password::verify(pw.to_string(), stored).await? {
        throttle::hit(db, &key, throttle::FAILED_LOGINS_PER_IP, now).await?;
        let next = guard.after_failure(now);
        sqlx::query("UPDATE agents SET failed_logins = $1, locked_until = $2 WHERE id = $3")
            .bind(next.failed_logins)
            .bind(next.locked_until_ms)
            .bind(id)
            .execute(&db.pool)
            .await?;
        return Err(if next.is_locked(now) {
            Error::AccountLocked
        } else {
            Error::InvalidCredentials
        });
    }
    if r.try_get::<String, _>("status")? == "terminated" {
        return Err(Error::AccountDisabled);
    }
    sqlx::query("UPDATE agents SET failed_logins = 0, locked_until = NULL WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    let token = random_secret();
    sqlx::query("INSERT INTO agent_sessions (token_hash, agent_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)")
        .bind(secret_hash(&token))
        .bind(id)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(token)
}

// ---------------------------------------------------------------- pages

#[derive(Template)]
#[template(path = "agents/portal_login.html")]
struct LoginPage {
    ctx: PublicCtx,
    phone: String,
    error: Option<String>,
}

async fn login_form(ctx: PublicCtx) -> Response {
    web::page(LoginPage {
        ctx,
        phone: String::new(),
        error: None,
    })
}

async fn login(
    State(s): State<AppState>,
    ctx: PublicCtx,
    meta: RequestMeta,
    form: FormPairs,
) -> Result<Response> {
    match sign_in(&s.db, form.get("phone"), form.get("password"), &meta.ip).await {
        Ok(token) => {
            let mut res = Redirect::to("/m").into_response();
            let secure = s.options.secure_cookies || meta.https;
            web::append_cookie(
                &mut res,
                &web::set_cookie(AGENT_COOKIE, &token, secure, Some(7 * 86_400)),
            );
            Ok(res)
        }
        Err(
            e @ (Error::InvalidCredentials
            | Error::AccountLocked
            | Error::AccountDisabled
            | Error::TooManyAttempts),
        ) => {
            let report = e.report();
            let error = Some(report.message(ctx.locale));
            Ok(web::page_with_status(
                report.status,
                LoginPage {
                    ctx,
                    phone: form.get("phone").to_string(),
                    error,
                },
            ))
        }
        Err(e) => Err(e),
    }
}

async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Result<Response> {
    if let Some(token) = web::cookie(&headers, AGENT_COOKIE) {
        sqlx::query("UPDATE agent_sessions SET revoked_at = $1 WHERE token_hash = $2")
            .bind(now_ms())
            .bind(secret_hash(&token))
            .execute(&s.db.pool)
            .await?;
    }
    let mut res = Redirect::to("/m/login").into_response();
    web::append_cookie(
        &mut res,
        &web::expired_cookie(AGENT_COOKIE, s.options.secure_cookies),
    );
    Ok(res)
}

#[derive(Template)]
#[template(path = "agents/portal_home.html")]
struct HomePage {
    ctx: PublicCtx,
    me: Agent,
    sponsor: Option<String>,
    certificate: Option<Certificate>,
    cert_state: &'static str,
    team: Team,
    pending: i64,
    notices: Vec<crate::shipping::store::Notice>,
}

async fn home(State(s): State<AppState>, ctx: PublicCtx, me: AgentSession) -> Result<Response> {
    let sponsor = match me.agent.sponsor_id {
        Some(id) => Some(weiops_core::agents::mask_name(
            &store::get(&s.db, id).await?.name,
        )),
        None => None,
    };
    let certificate = certificates::latest(&s.db, me.agent.id).await?;
    let cert_state = match certificate.as_ref().map(|c| c.validity(now_ms())) {
        Some(Validity::Valid) => "valid",
        Some(Validity::Expired) => "expired",
        Some(Validity::Revoked) => "revoked",
        None => "none",
    };
    let team = store::team(&s.db, &me.agent, false).await?;
    let pending: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM agent_applications WHERE sponsor_id = $1 AND status = 'pending'",
    )
    .bind(me.agent.id)
    .fetch_one(&s.db.pool)
    .await?
    .try_get("n")?;
    let notices = crate::shipping::store::unread_notices(&s.db, me.agent.id, 5).await?;
    Ok(web::page(HomePage {
        ctx,
        me: me.agent,
        sponsor,
        certificate,
        cert_state,
        team,
        pending,
        notices,
    }))
}

#[derive(Template)]
#[template(path = "agents/portal_team.html")]
struct TeamPage {
    ctx: PublicCtx,
    team: Team,
    children: Vec<Agent>,
    pager: Pager,
}

async fn team_page(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    params: ListParams,
) -> Result<Response> {
    let team = store::team(&s.db, &me.agent, false).await?;
    let (children, info) = store::children(&s.db, me.agent.id, params.page()).await?;
    // Agents see their downline's names masked as the public would; phone
    // numbers and WeChat ids stay hidden.
    let children = children.into_iter().map(Agent::masked).collect();
    Ok(web::page(TeamPage {
        ctx,
        team,
        children,
        pager: params.pager(info),
    }))
}

#[derive(Template)]
#[template(path = "agents/portal_invite.html")]
struct InvitePage {
    ctx: PublicCtx,
    link: String,
    qr: String,
    verify_link: String,
}

async fn invite_page(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
) -> Result<Response> {
    let code = recruit::invite_code(&s.db, Some(me.agent.id), None).await?;
    let link = format!("{}/join/{code}", s.options.base_url);
    let verify_link = match certificates::latest(&s.db, me.agent.id).await? {
        Some(c) => {
            let t = certificates::token(&s.db, &c).await?;
            format!(
                "{}/verify/c/{}?t={t}",
                s.options.base_url,
                web::url_encode(&c.cert_no)
            )
        }
        None => String::new(),
    };
    Ok(web::page(InvitePage {
        ctx,
        qr: super::pages::qr_svg(&link),
        link,
        verify_link,
    }))
}

#[derive(Template)]
#[template(path = "agents/portal_password.html")]
struct PasswordPage {
    ctx: PublicCtx,
    errors: FieldErrors,
    forced: bool,
}

async fn password_form(ctx: PublicCtx, me: AgentSession) -> Response {
    web::page(PasswordPage {
        ctx,
        errors: FieldErrors::default(),
        forced: me.must_change_password,
    })
}

async fn change_password(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    form: FormPairs,
) -> Result<Response> {
    let (current, new, confirm) = (form.get("current"), form.get("new"), form.get("confirm"));
    let stored: Option<String> = sqlx::query("SELECT password_hash FROM agents WHERE id = $1")
        .bind(me.agent.id)
        .fetch_one(&s.db.pool)
        .await?
        .try_get("password_hash")?;
    let mut errors = FieldErrors::default();
    if !password::verify(current.to_string(), stored.unwrap_or_default()).await? {
        errors.add("current", "account.current_wrong");
    }
    if let Err(e) = check_password(new, &me.agent.phone) {
        errors.invalid("new", e);
    } else if new == current {
        errors.add("new", "account.same_password");
    }
    if new != confirm {
        errors.add("confirm", "account.mismatch");
    }
    if !errors.is_empty() {
        return Ok(web::page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            PasswordPage {
                ctx,
                errors,
                forced: me.must_change_password,
            },
        ));
    }
    let hash = password::hash(new.to_string()).await?;
    sqlx::query("UPDATE agents SET password_hash = $1, must_change_password = 0 WHERE id = $2")
        .bind(&hash)
        .bind(me.agent.id)
        .execute(&s.db.pool)
        .await?;
    sqlx::query("UPDATE agent_sessions SET revoked_at = $1 WHERE agent_id = $2 AND id <> $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(me.agent.id)
        .bind(me.session_id)
        .execute(&s.db.pool)
        .await?;
    Ok(web::redirect_with_flash(
        "/m",
        "success",
        "account.password_changed",
        "",
    ))
}

#[derive(Template)]
#[template(path = "agents/portal_applications.html")]
struct ApplicationsPage {
    ctx: PublicCtx,
    applications: Vec<Application>,
    sponsor_approves: bool,
}

async fn applications_page(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
) -> Result<Response> {
    let rows = crate::db::dynamic(
        "SELECT id FROM agent_applications WHERE sponsor_id = $1 ORDER BY status = 'pending' DESC, created_at DESC LIMIT 100".to_string(),
    )
    .bind(me.agent.id)
    .fetch_all(&s.db.pool)
    .await?;
    let mut applications = Vec::new();
    for r in rows {
        applications.push(recruit::fetch(&s.db, r.try_get("id")?).await?);
    }
    let sponsor_approves =
        recruit::approval_mode(&s.db).await? == recruit::ApprovalMode::SponsorThenHeadOffice;
    Ok(web::page(ApplicationsPage {
        ctx,
        applications,
        sponsor_approves,
    }))
}

/// The sponsor agrees to (or turns down) an application naming them.
async fn decide(
    State(s): State<AppState>,
    me: AgentSession,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let app = recruit::fetch(&s.db, id).await?;
    if app.sponsor_id != Some(me.agent.id) {
        return Err(Error::NotFound);
    }
    let actor = Actor {
        user_id: None,
        name: format!("agent:{}", me.agent.code),
        request_id: String::new(),
        ip: String::new(),
    };
    match form.get("decision") {
        "agree" => {
            let mut tx = s.db.begin_write().await?;
            sqlx::query("UPDATE agent_applications SET sponsor_approved_at = $1 WHERE id = $2 AND status = 'pending'")
                .bind(now_ms())
                .bind(id)
                .execute(&mut **tx)
                .await?;
            audit::record(
                &mut tx,
                &actor,
                Change::new("application.sponsor_agree", "application", id),
            )
            .await?;
            tx.commit().await?;
        }
        "decline" => recruit::reject(&s.db, &actor, id, form.get("reason")).await?,
        _ => return Err(Error::BadRequest("error.bad_form")),
    }
    let mut res = Redirect::to("/m/applications").into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
