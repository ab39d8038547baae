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

use super::certificates::{self, Certificate, Validity};
use super::notices::{self, Notice};
use super::portal_store;
use super::recruit::{self, Application};
use super::store::{self, Agent, Team};
use crate::audit::{self, Actor, Change};
use crate::db::now_ms;
use crate::error::FieldErrors;

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
        .route("/m/notices/read", post(notices_read))
}

/// A signed-in agent.
#[derive(Debug, Clone)]
pub struct AgentSession {
    pub agent: Agent,
    pub session_id: i64,
    pub must_change_password: bool,
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
        match portal_store::authenticate(&state.db, &token, now_ms()).await {
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
    match portal_store::sign_in(&s.db, form.get("phone"), form.get("password"), &meta.ip).await {
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
        portal_store::sign_out(&s.db, &token).await?;
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
    notices: Vec<Notice>,
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
    let notices = notices::unread(&s.db, me.agent.id, 5).await?;
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

/// The agent has seen the notices on the portal home.
async fn notices_read(State(s): State<AppState>, me: AgentSession) -> Result<Response> {
    notices::mark_read(&s.db, me.agent.id).await?;
    Ok(Redirect::to("/m").into_response())
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
    meta: RequestMeta,
    me: AgentSession,
    form: FormPairs,
) -> Result<Response> {
    // The agent acts on their own account: named as the portal names them.
    let actor = Actor {
        user_id: None,
        name: format!("agent:{}", me.agent.code),
        request_id: meta.request_id,
        ip: meta.ip,
    };
    let (current, new, confirm) = (form.get("current"), form.get("new"), form.get("confirm"));
    match portal_store::change_password(
        &s.db,
        &actor,
        &me.agent,
        me.session_id,
        current,
        new,
        confirm,
    )
    .await
    {
        Ok(()) => Ok(web::redirect_with_flash(
            "/m",
            "success",
            "account.password_changed",
            "",
        )),
        Err(Error::Validation(errors)) => Ok(web::page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            PasswordPage {
                ctx,
                errors,
                forced: me.must_change_password,
            },
        )),
        Err(e) => Err(e),
    }
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
