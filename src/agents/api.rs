//! `/api/v1/agents`, `/api/v1/agent-levels`, `/api/v1/jobs`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weiops_core::agents::AgentStatus;

use super::levels::{self, Level, LevelInput};
use super::store::{self, Agent, AgentFilter, AgentProfile, NewAgent, Team};
use crate::agents::AgentsPii;
use crate::agents::{AgentLevelsWrite, AgentsImport, AgentsRead, AgentsWrite};
use crate::identity::{Need, Principal};
use crate::jobs::{self, Job};
use crate::paged::Paged;
use crate::state::AppState;
use crate::web::list::ListParams;
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(get_agent, update_agent))
        .routes(routes!(agent_team))
        .routes(routes!(change_level))
        .routes(routes!(move_agent))
        .routes(routes!(set_status))
        .routes(routes!(get_levels, put_levels))
        .routes(routes!(import_agents))
        .routes(routes!(get_job))
        .routes(routes!(list_applications))
        .routes(routes!(get_application))
        .routes(routes!(approve_application))
        .routes(routes!(reject_application))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ApplicationQuery {
    /// `pending`, `approved` or `rejected`; all when absent.
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Applications sent from invite links.
#[utoipa::path(get, path = "/api/v1/applications", tag = "agents", params(ApplicationQuery), responses((status = 200, body = Paged<super::recruit::Application>)))]
async fn list_applications(
    State(s): State<AppState>,
    who: Need<AgentsRead>,
    axum::extract::Query(q): axum::extract::Query<ApplicationQuery>,
) -> Result<Json<Paged<super::recruit::Application>>> {
    let page = weiops_core::paging::PageRequest::new(q.page, q.per_page);
    let (items, info) = super::recruit::list_for(&s.db, &who, q.status.as_deref(), page).await?;
    Ok(Json(Paged::new(items, info)))
}

/// One application.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "agents", params(("id" = i64, Path)),
    responses((status = 200, body = super::recruit::Application), (status = 404)))]
async fn get_application(
    State(s): State<AppState>,
    who: Need<AgentsRead>,
    Path(id): Path<i64>,
) -> Result<Json<super::recruit::Application>> {
    let a = super::recruit::fetch(&s.db, id).await?;
    Ok(Json(if who.has::<AgentsPii>() {
        a
    } else {
        a.masked()
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ApproveRequest {
    /// The level to create the agent at; default: the one requested.
    #[serde(default)]
    pub level: Option<i64>,
}

/// Approves an application: the agent is created under the inviting sponsor.
#[utoipa::path(post, path = "/api/v1/applications/{id}/approve", tag = "agents", params(("id" = i64, Path)), request_body = ApproveRequest,
    responses((status = 200, body = Agent), (status = 409, description = "Decided already")))]
async fn approve_application(
    State(s): State<AppState>,
    who: Need<crate::agents::AgentsApprove>,
    Path(id): Path<i64>,
    Json(body): Json<ApproveRequest>,
) -> Result<Json<Agent>> {
    let agent = super::recruit::approve(&s.db, &who.actor(), id, body.level).await?;
    Ok(Json(shown(&who, store::get(&s.db, agent).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RejectRequest {
    pub reason: String,
}

/// Rejects an application with a reason.
#[utoipa::path(post, path = "/api/v1/applications/{id}/reject", tag = "agents", params(("id" = i64, Path)), request_body = RejectRequest,
    responses((status = 204), (status = 409), (status = 422)))]
async fn reject_application(
    State(s): State<AppState>,
    who: Need<crate::agents::AgentsApprove>,
    Path(id): Path<i64>,
    Json(body): Json<RejectRequest>,
) -> Result<StatusCode> {
    super::recruit::reject(&s.db, &who.actor(), id, &body.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The list filter from a query string (pages and API share it).
pub fn filter_of(p: &ListParams) -> Result<AgentFilter> {
    let day = |key: &str, end: bool| -> Result<Option<i64>> {
        match p.get(key) {
            None => Ok(None),
            Some(s) => {
                let v = if end {
                    weiops_core::time::parse_day_end(s)
                } else {
                    weiops_core::time::parse_day_start(s)
                };
                v.map(Some).ok_or(Error::BadRequest("audit.bad_date"))
            }
        }
    };
    Ok(AgentFilter {
        q: p.get("q").map(str::to_string),
        level: p.get_i64("level"),
        province: p.get("province").map(str::to_string),
        city: p.get("city").map(str::to_string),
        status: p.get("status").map(str::to_string),
        sponsor_id: p.get_i64("sponsor"),
        joined_from: day("joined_from", false)?,
        joined_to: day("joined_to", true)?,
    })
}

/// Masks personal data unless the caller holds `agents.pii`.
pub fn shown(who: &Principal, a: Agent) -> Agent {
    if who.has::<AgentsPii>() {
        a
    } else {
        a.masked()
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct AgentQuery {
    /// Exact code, or the start of a name, phone or WeChat id.
    q: Option<String>,
    level: Option<i64>,
    province: Option<String>,
    city: Option<String>,
    /// `active`, `frozen` or `terminated`.
    status: Option<String>,
    /// Direct downline of this agent id.
    sponsor: Option<i64>,
    /// `YYYY-MM-DD`, Beijing time.
    joined_from: Option<String>,
    joined_to: Option<String>,
    /// `joined`, `level`, `team`, `code` or `name`.
    sort: Option<String>,
    dir: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Agents matching the filters, with the total count.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", params(AgentQuery), responses((status = 200, body = Paged<Agent>)))]
async fn list_agents(
    State(s): State<AppState>,
    who: Need<AgentsRead>,
    params: ListParams,
) -> Result<Json<Paged<Agent>>> {
    let order = params.order_by(store::SORTS, "a.joined_at DESC");
    let (items, info) = store::list(&s.db, &filter_of(&params)?, &order, params.page()).await?;
    let items = items.into_iter().map(|a| shown(&who, a)).collect();
    Ok(Json(Paged::new(items, info)))
}

/// Creates an agent (with its certificate).
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", request_body = NewAgent, responses((status = 201, body = Agent), (status = 422)))]
async fn create_agent(
    State(s): State<AppState>,
    who: Need<AgentsWrite>,
    Json(body): Json<NewAgent>,
) -> Result<(StatusCode, Json<Agent>)> {
    let id = store::create(&s.db, &who.actor(), &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(shown(&who, store::get(&s.db, id).await?)),
    ))
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "agents", params(("id" = i64, Path)), responses((status = 200, body = Agent), (status = 404)))]
async fn get_agent(
    State(s): State<AppState>,
    who: Need<AgentsRead>,
    Path(id): Path<i64>,
) -> Result<Json<Agent>> {
    Ok(Json(shown(&who, store::get(&s.db, id).await?)))
}

/// Changes an agent's profile.
#[utoipa::path(put, path = "/api/v1/agents/{id}", tag = "agents", params(("id" = i64, Path)), request_body = AgentProfile,
    responses((status = 200, body = Agent), (status = 422)))]
async fn update_agent(
    State(s): State<AppState>,
    who: Need<AgentsWrite>,
    Path(id): Path<i64>,
    Json(body): Json<AgentProfile>,
) -> Result<Json<Agent>> {
    store::update_profile(&s.db, &who.actor(), id, &body).await?;
    Ok(Json(shown(&who, store::get(&s.db, id).await?)))
}

/// Team size (all generations), members per generation and this month's
/// purchases. For teams over 50,000 only the first two generations are
/// counted unless `generations=all`.
#[utoipa::path(get, path = "/api/v1/agents/{id}/team", tag = "agents",
    params(("id" = i64, Path), ("generations" = Option<String>, Query, description = "`all` to count every generation")),
    responses((status = 200, body = Team)))]
async fn agent_team(
    State(s): State<AppState>,
    _who: Need<AgentsRead>,
    Path(id): Path<i64>,
    params: ListParams,
) -> Result<Json<Team>> {
    let a = store::get(&s.db, id).await?;
    Ok(Json(
        store::team(&s.db, &a, params.get("generations") == Some("all")).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LevelChange {
    pub level: i64,
    pub reason: String,
}

/// Upgrades or downgrades an agent; the certificate is re-issued.
#[utoipa::path(post, path = "/api/v1/agents/{id}/level", tag = "agents", params(("id" = i64, Path)), request_body = LevelChange,
    responses((status = 200, body = Agent), (status = 422)))]
async fn change_level(
    State(s): State<AppState>,
    who: Need<AgentsWrite>,
    Path(id): Path<i64>,
    Json(body): Json<LevelChange>,
) -> Result<Json<Agent>> {
    store::change_level(&s.db, &who.actor(), id, body.level, &body.reason).await?;
    Ok(Json(shown(&who, store::get(&s.db, id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveRequest {
    /// The new sponsor's id; null makes the agent a root.
    pub sponsor_id: Option<i64>,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Moved {
    pub agent: Agent,
    /// How many agents moved (the agent and its team).
    pub moved: i64,
}

/// Moves an agent and its whole team under another sponsor. A move under
/// the agent's own team is refused.
#[utoipa::path(post, path = "/api/v1/agents/{id}/move", tag = "agents", params(("id" = i64, Path)), request_body = MoveRequest,
    responses((status = 200, body = Moved), (status = 422, description = "E.g. a cycle")))]
async fn move_agent(
    State(s): State<AppState>,
    who: Need<AgentsWrite>,
    Path(id): Path<i64>,
    Json(body): Json<MoveRequest>,
) -> Result<Json<Moved>> {
    let moved = store::moving_count(&s.db, id).await?;
    store::move_to(&s.db, &who.actor(), id, body.sponsor_id, &body.reason).await?;
    Ok(Json(Moved {
        agent: shown(&who, store::get(&s.db, id).await?),
        moved,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusChange {
    /// `active` (unfreeze), `frozen` or `terminated` (清退, revokes the certificate).
    pub status: String,
    #[serde(default)]
    pub reason: String,
}

/// Freezes, unfreezes or terminates an agent.
#[utoipa::path(post, path = "/api/v1/agents/{id}/status", tag = "agents", params(("id" = i64, Path)), request_body = StatusChange,
    responses((status = 200, body = Agent), (status = 400)))]
async fn set_status(
    State(s): State<AppState>,
    who: Need<AgentsWrite>,
    Path(id): Path<i64>,
    Json(body): Json<StatusChange>,
) -> Result<Json<Agent>> {
    let status = AgentStatus::parse(&body.status).ok_or(Error::BadRequest("agents.bad_status"))?;
    store::set_status(&s.db, &who.actor(), id, status, &body.reason).await?;
    Ok(Json(shown(&who, store::get(&s.db, id).await?)))
}

/// The level list.
#[utoipa::path(get, path = "/api/v1/agent-levels", tag = "agents", responses((status = 200, body = Vec<Level>)))]
async fn get_levels(State(s): State<AppState>, _who: Need<AgentsRead>) -> Result<Json<Vec<Level>>> {
    Ok(Json(levels::all(&s.db).await?))
}

/// Replaces the level list (1..=K, contiguous, K ≤ 9).
#[utoipa::path(put, path = "/api/v1/agent-levels", tag = "agents", request_body = Vec<LevelInput>,
    responses((status = 200, body = Vec<Level>), (status = 422)))]
async fn put_levels(
    State(s): State<AppState>,
    who: Need<AgentLevelsWrite>,
    Json(body): Json<Vec<LevelInput>>,
) -> Result<Json<Vec<Level>>> {
    levels::save(&s.db, &who.actor(), &body).await?;
    Ok(Json(levels::all(&s.db).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobStarted {
    pub job_id: i64,
}

/// Starts importing an agents.csv or .xlsx sent as the body; follow the
/// job at `/api/v1/jobs/{id}`. All or nothing: a refused file's problems
/// are in the job's result, and nothing is stored. Besides the spec's
/// columns, the staff export's headers (zh-CN or en), level names,
/// 正常/冻结 and dates as typed in Excel (Beijing time) are read.
#[utoipa::path(post, path = "/api/v1/agents/import", tag = "agents",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 202, body = JobStarted)))]
async fn import_agents(
    State(s): State<AppState>,
    who: Need<AgentsImport>,
    body: Bytes,
) -> Result<(StatusCode, Json<JobStarted>)> {
    let job_id = super::pages::start_import(&s, &who, body.to_vec()).await?;
    Ok((StatusCode::ACCEPTED, Json(JobStarted { job_id })))
}

/// A background job's progress and outcome.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "agents", params(("id" = i64, Path)), responses((status = 200, body = Job)))]
async fn get_job(
    State(s): State<AppState>,
    who: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Job>> {
    let job = jobs::get(&s.db, id).await?;
    if job.created_by != Some(who.user_id) && !who.is_admin {
        return Err(Error::NotFound);
    }
    Ok(Json(job))
}
