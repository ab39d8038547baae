//! `/api/v1/reward-plan`, `/api/v1/compliance`, `/api/v1/rewards`,
//! `/api/v1/settlements`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weiops_core::time::Period;

use super::lines::{self, AgentRewards};
use super::plan::{self, PlanInput, SaveError, VersionSummary, WithdrawalRules};
use super::settlement::{self, LevelTotals, ResultRow, Run, RunStatus};
use crate::error::FieldErrors;
use crate::i18n::Locale;
use crate::identity::Need;
use crate::ledger::{FinanceApprove, FinancePay, FinanceRead, FinanceWrite};
use crate::paged::Paged;
use crate::rewards::{RewardsRead, RewardsWrite};
use crate::state::AppState;
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_plan, put_plan))
        .routes(routes!(get_compliance))
        .routes(routes!(get_rewards))
        .routes(routes!(list_settlements, create_settlement))
        .routes(routes!(get_settlement))
        .routes(routes!(recompute_settlement))
        .routes(routes!(approve_settlement))
        .routes(routes!(pay_settlement))
        .routes(routes!(release_settlement))
        .routes(routes!(settlement_results))
        .routes(routes!(export_settlement))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    /// 0 = never saved (the initial plan: reference with the team bonus off).
    pub version: i64,
    /// Level price rates (from the agent levels), level 1 first.
    pub price_bp: Vec<u32>,
    pub plan: PlanInput,
    pub withdrawal: WithdrawalRules,
    pub history: Vec<VersionSummary>,
}

/// The reward plan in force and its versions.
#[utoipa::path(get, path = "/api/v1/reward-plan", tag = "rewards", responses((status = 200, body = PlanView)))]
async fn get_plan(State(s): State<AppState>, _who: Need<RewardsRead>) -> Result<Json<PlanView>> {
    let p = plan::current(&s.db).await?;
    Ok(Json(PlanView {
        version: p.version,
        price_bp: p.plan.price_bp.iter().map(|b| b.0).collect(),
        plan: PlanInput::from_plan(&p),
        withdrawal: p.withdrawal,
        history: plan::history(&s.db).await?,
    }))
}

/// Maps a refused save to the one error shape: every violation of the
/// compliance guard as a field error whose message cites the rule.
pub fn save_error(e: SaveError) -> Error {
    match e {
        SaveError::Refused(v) => {
            let mut f = FieldErrors::default();
            for (i, v) in v.iter().enumerate() {
                f.add(&format!("plan.{i}"), v.key());
            }
            Error::Validation(f)
        }
        SaveError::Invalid(f) => Error::Validation(f),
        SaveError::NeedsConfirmation => {
            let mut f = FieldErrors::default();
            f.add(
                "confirm_team_bonus",
                "rewards.team_bonus_needs_confirmation",
            );
            Error::Validation(f)
        }
        SaveError::Other(e) => e,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Saved {
    pub version: i64,
}

/// Saves a new plan version. Refused (422, nothing saved) when the
/// compliance guard refuses it; switching the team bonus on needs
/// `confirm_team_bonus: true`.
#[utoipa::path(put, path = "/api/v1/reward-plan", tag = "rewards", request_body = PlanInput,
    responses((status = 200, body = Saved), (status = 422), (status = 403)))]
async fn put_plan(
    State(s): State<AppState>,
    who: Need<RewardsWrite>,
    Json(input): Json<PlanInput>,
) -> Result<Json<Saved>> {
    let version = plan::save(&s.db, &who.actor(), &input)
        .await
        .map_err(save_error)?;
    Ok(Json(Saved { version }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceView {
    pub version: i64,
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
    /// The citation per violation key.
    pub messages: Vec<String>,
}

/// The compliance report of the plan in force.
#[utoipa::path(get, path = "/api/v1/compliance", tag = "rewards", responses((status = 200, body = ComplianceView)))]
async fn get_compliance(
    State(s): State<AppState>,
    _who: Need<RewardsRead>,
    axum::Extension(locale): axum::Extension<Locale>,
) -> Result<Json<ComplianceView>> {
    let p = plan::current(&s.db).await?;
    let report = weiops_core::rewards::compliance(&p.plan);
    Ok(Json(ComplianceView {
        version: p.version,
        messages: report
            .violations
            .iter()
            .map(|v| locale.t(v.key()))
            .collect(),
        report: serde_json::to_value(&report).map_err(anyhow::Error::from)?,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RewardsQuery {
    /// The agent's code (external id).
    agent: String,
    /// `YYYY-MM` (Asia/Shanghai); default: this month.
    period: Option<String>,
}

pub fn period_or_now(p: Option<&str>) -> Result<Period> {
    match p.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Period::parse(p).ok_or(Error::BadRequest("rewards.bad_period")),
        None => {
            Period::containing(crate::db::now_ms()).ok_or(Error::BadRequest("rewards.bad_period"))
        }
    }
}

/// An agent's reward lines of a month, each explained.
#[utoipa::path(get, path = "/api/v1/rewards", tag = "rewards", params(RewardsQuery),
    responses((status = 200, body = AgentRewards), (status = 404)))]
async fn get_rewards(
    State(s): State<AppState>,
    _who: Need<RewardsRead>,
    axum::Extension(locale): axum::Extension<Locale>,
    Query(q): Query<RewardsQuery>,
) -> Result<Json<AgentRewards>> {
    let period = period_or_now(q.period.as_deref())?;
    Ok(Json(
        lines::for_agent(&s.db, locale, q.agent.trim(), period).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RunQuery {
    /// `draft`, `approved` or `paid`.
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Settlement runs, newest month first.
#[utoipa::path(get, path = "/api/v1/settlements", tag = "settlements", params(RunQuery), responses((status = 200, body = Paged<Run>)))]
async fn list_settlements(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    Query(q): Query<RunQuery>,
) -> Result<Json<Paged<Run>>> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(v) => Some(RunStatus::parse(v).ok_or(Error::BadRequest("settlement.bad_status"))?),
        None => None,
    };
    let page = weiops_core::paging::PageRequest::new(q.page, q.per_page);
    let (items, total) = settlement::list(&s.db, status, page).await?;
    Ok(Json(Paged {
        items,
        page: page.page,
        per_page: page.per_page,
        total,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRun {
    /// `YYYY-MM`.
    pub period: String,
}

/// Creates the draft of a month, or recomputes it while it is a draft.
/// 409 when the month is already approved or paid.
#[utoipa::path(post, path = "/api/v1/settlements", tag = "settlements", request_body = CreateRun,
    responses((status = 200, body = Run), (status = 409)))]
async fn create_settlement(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Json(body): Json<CreateRun>,
) -> Result<Json<Run>> {
    let period = Period::parse(&body.period).ok_or(Error::BadRequest("rewards.bad_period"))?;
    Ok(Json(
        settlement::compute(&s.db, &who.actor(), period).await?.run,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    pub run: Run,
    pub per_level: Vec<LevelTotals>,
    pub top: Vec<ResultRow>,
    /// The previous month's run, for the change.
    pub previous: Option<Run>,
}

/// A run with its totals per level, top earners and the previous month.
#[utoipa::path(get, path = "/api/v1/settlements/{id}", tag = "settlements", params(("id" = i64, Path)),
    responses((status = 200, body = RunDetail), (status = 404)))]
async fn get_settlement(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    Path(id): Path<i64>,
) -> Result<Json<RunDetail>> {
    Ok(Json(detail(&s.db, id).await?))
}

pub async fn detail(db: &crate::db::Db, id: i64) -> Result<RunDetail> {
    let run = settlement::get(db, id).await?;
    let period = Period::parse(&run.period).ok_or_else(|| anyhow::anyhow!("bad period"))?;
    let (top, _) = settlement::results(
        db,
        id,
        None,
        false,
        weiops_core::paging::PageRequest::new(Some(1), Some(10)),
    )
    .await?;
    Ok(RunDetail {
        per_level: settlement::per_level(db, id).await?,
        top,
        previous: settlement::by_period(db, period.previous()).await?,
        run,
    })
}

/// Recomputes a draft.
#[utoipa::path(post, path = "/api/v1/settlements/{id}/recompute", tag = "settlements", params(("id" = i64, Path)),
    responses((status = 200, body = Run), (status = 409)))]
async fn recompute_settlement(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Path(id): Path<i64>,
) -> Result<Json<Run>> {
    let run = settlement::get(&s.db, id).await?;
    let period = Period::parse(&run.period).ok_or_else(|| anyhow::anyhow!("bad period"))?;
    Ok(Json(
        settlement::compute(&s.db, &who.actor(), period).await?.run,
    ))
}

/// Approves a draft (not by the person who created or computed it).
#[utoipa::path(post, path = "/api/v1/settlements/{id}/approve", tag = "settlements", params(("id" = i64, Path)),
    responses((status = 200, body = Run), (status = 403), (status = 409)))]
async fn approve_settlement(
    State(s): State<AppState>,
    who: Need<FinanceApprove>,
    Path(id): Path<i64>,
) -> Result<Json<Run>> {
    Ok(Json(settlement::approve(&s.db, &who.actor(), id).await?))
}

/// Pays an approved run into the agents' wallets (frozen agents held).
#[utoipa::path(post, path = "/api/v1/settlements/{id}/pay", tag = "settlements", params(("id" = i64, Path)),
    responses((status = 200, body = Run), (status = 409)))]
async fn pay_settlement(
    State(s): State<AppState>,
    who: Need<FinancePay>,
    Path(id): Path<i64>,
) -> Result<Json<Run>> {
    Ok(Json(settlement::pay(&s.db, &who.actor(), id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Released {
    pub agents: usize,
}

/// Releases held rewards of agents that are active again.
#[utoipa::path(post, path = "/api/v1/settlements/{id}/release", tag = "settlements", params(("id" = i64, Path)),
    responses((status = 200, body = Released), (status = 409)))]
async fn release_settlement(
    State(s): State<AppState>,
    who: Need<FinancePay>,
    Path(id): Path<i64>,
) -> Result<Json<Released>> {
    Ok(Json(Released {
        agents: settlement::release_held(&s.db, &who.actor(), id).await?,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ResultQuery {
    /// Agent code (exact) or name prefix.
    q: Option<String>,
    /// Only held results.
    held: Option<bool>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Per agent results of a run, largest first.
#[utoipa::path(get, path = "/api/v1/settlements/{id}/results", tag = "settlements", params(("id" = i64, Path), ResultQuery),
    responses((status = 200, body = Paged<ResultRow>)))]
async fn settlement_results(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    Path(id): Path<i64>,
    Query(q): Query<ResultQuery>,
) -> Result<Json<Paged<ResultRow>>> {
    settlement::get(&s.db, id).await?;
    let page = weiops_core::paging::PageRequest::new(q.page, q.per_page);
    let (items, total) =
        settlement::results(&s.db, id, q.q.as_deref(), q.held.unwrap_or(false), page).await?;
    Ok(Json(Paged {
        items,
        page: page.page,
        per_page: page.per_page,
        total,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// `payouts` (payouts.csv of the spec, default), `csv` or `xlsx` (every
    /// result with names, clawbacks and held flags).
    format: Option<String>,
}

/// Exports a run: payouts.csv exactly as the spec defines, or the full
/// results as CSV / Excel.
#[utoipa::path(get, path = "/api/v1/settlements/{id}/export", tag = "settlements", params(("id" = i64, Path), ExportQuery),
    responses((status = 200, description = "the file")))]
async fn export_settlement(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    axum::Extension(locale): axum::Extension<Locale>,
    Path(id): Path<i64>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    export(&s.db, locale, id, q.format.as_deref()).await
}

pub async fn export(
    db: &crate::db::Db,
    locale: Locale,
    id: i64,
    format: Option<&str>,
) -> Result<Response> {
    let run = settlement::get(db, id).await?;
    match format.unwrap_or("payouts") {
        "payouts" => {
            let body = settlement::payouts_csv(db, id).await?;
            Ok((
                [
                    (
                        axum::http::header::CONTENT_TYPE,
                        "text/csv; charset=utf-8".to_string(),
                    ),
                    (
                        axum::http::header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"payouts-{}.csv\"", run.period),
                    ),
                ],
                body,
            )
                .into_response())
        }
        other => {
            let format = crate::export::ExportFormat::parse(Some(other))?;
            let rows = settlement::all_results(db, id).await?;
            let t = |k: &str| locale.t(k);
            let table = crate::export::Table {
                sheet: run.period.clone(),
                headers: vec![
                    t("settlement.col.agent_code"),
                    t("settlement.col.agent_name"),
                    t("settlement.col.level"),
                    t("settlement.col.level_diff"),
                    t("settlement.col.referral"),
                    t("settlement.col.team"),
                    t("settlement.col.total"),
                    t("settlement.col.clawback"),
                    t("settlement.col.net"),
                    t("settlement.col.held"),
                ],
                rows: rows
                    .iter()
                    .map(|r| {
                        let yuan = |f: i64| weiops_core::money::Fen(f).to_string();
                        vec![
                            r.agent_code.clone(),
                            r.agent_name.clone(),
                            r.level.to_string(),
                            yuan(r.level_diff_fen),
                            yuan(r.referral_fen),
                            yuan(r.team_fen),
                            yuan(r.total_fen),
                            yuan(r.adjust_fen),
                            yuan(r.net_fen),
                            if r.held {
                                t("common.yes")
                            } else {
                                String::new()
                            },
                        ]
                    })
                    .collect(),
            };
            crate::export::respond(&table, format, &format!("settlement-{}", run.period))
        }
    }
}
