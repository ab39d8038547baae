//! Reward pages (财务结算 in the left menu): monthly settlement runs, the
//! reward plan, the compliance report and the reward lines of an agent.

use std::borrow::Borrow;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use weiops_core::money::{Bp, Fen};
use weiops_core::rewards::{ComplianceReport, compliance};
use weiops_core::time::Period;

use super::api::{RunDetail, period_or_now, save_error};
use super::lines::{self, AgentRewards};
use super::plan::{self, PlanInput, PlanVersion, VersionSummary, WithdrawalRules};
use super::settlement::{self, ResultRow, Run, RunStatus};
use crate::error::FieldErrors;
use crate::identity::Need;
use crate::ledger::{FinanceApprove, FinancePay, FinanceRead, FinanceWrite};
use crate::rewards::{RewardsRead, RewardsWrite};
use crate::state::AppState;
use crate::web::list::{ListParams, Pager};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/finance/settlements", get(runs_page).post(create_run))
        .route("/finance/settlements/{id}", get(run_page))
        .route("/finance/settlements/{id}/recompute", post(recompute))
        .route("/finance/settlements/{id}/approve", post(approve))
        .route("/finance/settlements/{id}/pay", post(pay))
        .route("/finance/settlements/{id}/release", post(release))
        .route("/finance/settlements/{id}/export", get(export))
        .route("/rewards/plan", get(plan_page).post(plan_save))
        .route("/rewards/compliance", get(compliance_page))
        .route("/rewards/lines", get(lines_page))
}

const FINANCE: (&str, Option<&str>) = ("menu.finance", None);

/// `¥1,234.56` with a sign for the change columns.
fn signed(f: i64) -> String {
    if f > 0 {
        format!("+{}", Fen(f))
    } else {
        Fen(f).to_string()
    }
}

// ---------------------------------------------------------------- runs

#[derive(Template)]
#[template(path = "rewards/settlements.html")]
struct RunsPage {
    ctx: PageCtx,
    params: ListParams,
    runs: Vec<Run>,
    pager: Pager,
    default_period: String,
}

async fn runs_page(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let status = RunStatus::parse(params.get("status").unwrap_or(""));
    let page = params.page();
    let (runs, total) = settlement::list(&s.db, status, page).await?;
    let pager = params.pager(weiops_core::paging::PageInfo {
        page: page.page,
        per_page: page.per_page,
        total,
        capped: false,
    });
    // The month a brand settles by default: the previous one.
    let default_period = Period::containing(crate::db::now_ms())
        .map(|p| p.previous().to_string())
        .unwrap_or_default();
    Ok(web::page(RunsPage {
        ctx: ctx.titled("menu.settlements", &[FINANCE]),
        params,
        runs,
        pager,
        default_period,
    }))
}

async fn create_run(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    form: FormPairs,
) -> Result<Response> {
    let Some(period) = Period::parse(form.get("period")) else {
        return Ok(web::redirect_with_flash(
            "/finance/settlements",
            "error",
            "rewards.bad_period",
            "",
        ));
    };
    if let Some(run) = settlement::by_period(&s.db, period).await?
        && run.status != RunStatus::Draft
    {
        return Ok(web::redirect_with_flash(
            "/finance/settlements",
            "error",
            "settlement.already_settled",
            "",
        ));
    }
    let id = start_compute(&s, &who, period).await?;
    Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
}

/// Computes a draft on a background task (a big brand's month takes longer
/// than a request may); the job page shows the stages and links the run.
async fn start_compute(
    s: &AppState,
    who: &crate::identity::Principal,
    period: Period,
) -> Result<i64> {
    let db = s.db.clone();
    let actor = who.actor();
    crate::jobs::spawn(&s.db, "settlement.compute", Some(who.user_id), move |progress| async move {
        let c = settlement::compute_with_progress(&db, &actor, period, &*progress).await?;
        Ok(serde_json::json!({"run_id": c.run.id, "period": c.run.period, "earners": c.run.earners}))
    })
    .await
}

#[derive(Template)]
#[template(path = "rewards/settlement.html")]
struct RunPage {
    ctx: PageCtx,
    params: ListParams,
    d: RunDetail,
    results: Vec<ResultRow>,
    pager: Pager,
    held: Vec<ResultRow>,
    /// Whether the signed-in user created or computed the run.
    own: bool,
    level_names: Vec<(i64, String)>,
    /// Display names of the usernames the run recorded (computed, approved,
    /// paid by).
    people: std::collections::HashMap<String, String>,
}

impl RunPage {
    /// Who acted, by the name people know, where the username is known.
    fn person(&self, username: &str) -> String {
        self.people
            .get(username)
            .cloned()
            .unwrap_or_else(|| username.to_string())
    }

    fn level_name(&self, level: impl Borrow<i64>) -> String {
        let level = *level.borrow();
        self.level_names
            .iter()
            .find(|(l, _)| *l == level)
            .map_or_else(|| level.to_string(), |(_, n)| n.clone())
    }

    fn change(&self, now: impl Borrow<i64>, before: impl Borrow<i64>) -> String {
        signed(now.borrow() - before.borrow())
    }

    /// `较上月 +3` / `较上月 +¥12.00`, or that there is no previous run.
    fn vs_previous(&self, now: impl Borrow<i64>, before: impl Borrow<i64>, money: bool) -> String {
        if self.d.previous.is_none() {
            return self.ctx.t("settlement.no_previous");
        }
        let d = now.borrow() - before.borrow();
        let shown = if money {
            signed(d)
        } else if d > 0 {
            format!("+{d}")
        } else {
            d.to_string()
        };
        format!("{} {shown}", self.ctx.t("settlement.vs_previous"))
    }

    /// Why a running month's draft is only a preview, and when it ends.
    fn preview_hint(&self) -> String {
        let r = &self.d.run;
        self.ctx.tf(
            "settlement.preview_hint",
            &[
                ("period", &r.period),
                ("end", &weiops_core::time::format_minute(r.period_end)),
            ],
        )
    }

    fn prev_total(&self) -> i64 {
        self.d.previous.as_ref().map_or(0, |p| p.net_fen())
    }

    fn prev_orders(&self) -> i64 {
        self.d.previous.as_ref().map_or(0, |p| p.orders_count)
    }

    fn prev_earners(&self) -> i64 {
        self.d.previous.as_ref().map_or(0, |p| p.earners)
    }
}

async fn run_page(
    State(s): State<AppState>,
    who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
    Path(id): Path<i64>,
) -> Result<Response> {
    let d = super::api::detail(&s.db, id).await?;
    let page = params.page();
    let (results, total) = settlement::results(&s.db, id, params.get("q"), false, page).await?;
    let pager = params.pager(weiops_core::paging::PageInfo {
        page: page.page,
        per_page: page.per_page,
        total,
        capped: false,
    });
    let (held, _) = settlement::results(
        &s.db,
        id,
        None,
        true,
        weiops_core::paging::PageRequest::new(Some(1), Some(100)),
    )
    .await?;
    let own = d.run.is_author(who.user_id);
    let title = format!("{} {}", d.run.period, ctx.t("menu.settlements"));
    let level_names = crate::agents::levels::all(&s.db)
        .await?
        .into_iter()
        .map(|l| (l.level, l.name))
        .collect();
    let r = &d.run;
    let usernames: Vec<&str> = [
        Some(r.computed_by_name.as_str()),
        r.approved_by_name.as_deref(),
        r.paid_by_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let people = crate::users::store::display_names(&s.db, &usernames).await?;
    Ok(web::page(RunPage {
        ctx: ctx.titled_text(
            title,
            &[FINANCE, ("menu.settlements", Some("/finance/settlements"))],
        ),
        params,
        d,
        results,
        pager,
        held,
        own,
        level_names,
        people,
    }))
}

/// Runs an action after the confirmation page; errors come back as flash.
async fn act<F, Fut>(
    ctx: PageCtx,
    form: &FormPairs,
    id: i64,
    what: &str,
    message_key: &str,
    f: F,
) -> Result<Response>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String>>,
{
    let back = format!("/finance/settlements/{id}");
    if !form.confirmed() {
        let message = ctx.t(message_key);
        return Ok(web::confirm(
            ctx,
            message,
            &format!("{back}/{what}"),
            vec![],
            &back,
            &format!("settlement.{what}"),
        ));
    }
    match f().await {
        Ok(flash) => Ok(web::redirect_with_flash(&back, "success", &flash, "")),
        Err(
            Error::Conflict(key)
            | Error::Refused(key)
            | Error::Denied(key)
            | Error::BadRequest(key),
        ) => Ok(web::redirect_with_flash(&back, "error", key, "")),
        Err(e) => Err(e),
    }
}

async fn recompute(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let run = settlement::get(&s.db, id).await?;
    let period = Period::parse(&run.period).ok_or_else(|| anyhow::anyhow!("bad period"))?;
    act(
        ctx,
        &form,
        id,
        "recompute",
        "settlement.confirm_recompute",
        || async {
            settlement::compute(&s.db, &who.actor(), period).await?;
            Ok("settlement.recomputed_flash".to_string())
        },
    )
    .await
}

async fn approve(
    State(s): State<AppState>,
    who: Need<FinanceApprove>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    act(
        ctx,
        &form,
        id,
        "approve",
        "settlement.confirm_approve",
        || async {
            settlement::approve(&s.db, &who.actor(), id).await?;
            Ok("settlement.approved_flash".to_string())
        },
    )
    .await
}

async fn pay(
    State(s): State<AppState>,
    who: Need<FinancePay>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    act(ctx, &form, id, "pay", "settlement.confirm_pay", || async {
        settlement::pay(&s.db, &who.actor(), id).await?;
        Ok("settlement.paid_flash".to_string())
    })
    .await
}

async fn release(
    State(s): State<AppState>,
    who: Need<FinancePay>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    act(
        ctx,
        &form,
        id,
        "release",
        "settlement.confirm_release",
        || async {
            settlement::release_held(&s.db, &who.actor(), id).await?;
            Ok("settlement.released_flash".to_string())
        },
    )
    .await
}

async fn export(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
    Path(id): Path<i64>,
) -> Result<Response> {
    super::api::export(&s.db, ctx.locale, id, params.get("format")).await
}

// ---------------------------------------------------------------- plan

#[derive(Template)]
#[template(path = "rewards/plan.html")]
struct PlanPage {
    ctx: PageCtx,
    current: PlanVersion,
    input: PlanInput,
    history: Vec<VersionSummary>,
    errors: FieldErrors,
    /// The save needs the team-bonus confirmation ticked.
    needs_confirmation: bool,
    levels: Vec<crate::agents::levels::Level>,
}

impl PlanPage {
    fn percent(&self, bp: impl Borrow<u32>) -> String {
        Bp(*bp.borrow())
            .to_string()
            .trim_end_matches('%')
            .to_string()
    }

    fn yuan(&self, fen: impl Borrow<i64>) -> String {
        Fen(*fen.borrow())
            .to_string()
            .trim_start_matches('¥')
            .replace(',', "")
    }

    fn referral(&self, g: usize) -> String {
        self.input
            .referral_bp
            .get(g)
            .map(|b| self.percent(*b))
            .unwrap_or_default()
    }

    fn tier(&self, i: impl Borrow<usize>) -> (String, String) {
        let i = *i.borrow();
        self.input
            .team_tiers
            .get(i)
            .map(|(t, r)| (self.yuan(*t), self.percent(*r)))
            .unwrap_or_default()
    }
}

async fn plan_page(
    State(s): State<AppState>,
    _who: Need<RewardsRead>,
    ctx: PageCtx,
) -> Result<Response> {
    let current = plan::current(&s.db).await?;
    Ok(web::page(PlanPage {
        ctx: ctx.titled("menu.reward_plan", &[FINANCE]),
        input: PlanInput::from_plan(&current),
        current,
        history: plan::history(&s.db).await?,
        errors: FieldErrors::default(),
        needs_confirmation: false,
        levels: crate::agents::levels::all(&s.db).await?,
    }))
}

/// A percentage typed on the form (`3`, `2.5`) as basis points.
fn percent_bp(s: &str) -> std::result::Result<u32, ()> {
    let s = s.trim().trim_end_matches('%');
    if s.is_empty() {
        return Ok(0);
    }
    Fen::parse_yuan(s)
        .ok()
        .and_then(|f| u32::try_from(f.0).ok())
        .ok_or(())
}

fn yuan_fen(s: &str) -> std::result::Result<i64, ()> {
    Fen::parse_yuan(s.trim()).map(|f| f.0).map_err(|_| ())
}

async fn plan_save(
    State(s): State<AppState>,
    who: Need<RewardsWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let mut errors = FieldErrors::default();
    let mut referral_bp = Vec::new();
    for (g, raw) in form.all("referral").iter().enumerate() {
        match percent_bp(raw) {
            Ok(bp) => referral_bp.push(bp),
            Err(()) => errors.add(&format!("referral.{g}"), "rewards.bad_percent"),
        }
    }
    while referral_bp.last() == Some(&0) {
        referral_bp.pop();
    }
    let mut team_tiers = Vec::new();
    let thresholds = form.all("tier_threshold");
    let rates = form.all("tier_rate");
    for (i, t) in thresholds.iter().enumerate() {
        let r = rates.get(i).copied().unwrap_or("");
        if t.trim().is_empty() && r.trim().is_empty() {
            continue;
        }
        match (yuan_fen(t), percent_bp(r)) {
            (Ok(t), Ok(r)) => team_tiers.push((t, r)),
            _ => errors.add(&format!("tier.{i}"), "rewards.bad_tier"),
        }
    }
    let team_max_level = form.get("team_max_level").trim().parse::<u8>().unwrap_or(0);
    let withdrawal = match (
        yuan_fen(form.get("withdraw_min")),
        percent_bp(form.get("withdraw_fee")),
        yuan_fen(form.get("withdraw_fee_min")),
    ) {
        (Ok(min_fen), Ok(fee_bp), Ok(fee_min_fen)) => WithdrawalRules {
            min_fen,
            fee_bp,
            fee_min_fen,
        },
        _ => {
            errors.add("withdrawal", "rewards.bad_withdrawal");
            WithdrawalRules::default()
        }
    };
    let input = PlanInput {
        level_difference: form.get("level_difference") == "on",
        referral_bp,
        team_bonus: form.get("team_bonus") == "on",
        team_max_level,
        team_tiers,
        max_generations: 2,
        team_generations: 2,
        recruitment_reward_fen: 0,
        entry_purchase_reward_bp: 0,
        withdrawal,
        confirm_team_bonus: form.get("confirm_team_bonus") == "on",
        note: form.get("note").to_string(),
    };
    if !errors.is_empty() {
        return show_plan(&s, ctx, errors, false, input).await;
    }
    match plan::save(&s.db, &who.actor(), &input).await {
        Ok(v) => Ok(web::redirect_with_flash(
            "/rewards/plan",
            "success",
            "rewards.plan_saved_flash",
            &v.to_string(),
        )),
        Err(plan::SaveError::NeedsConfirmation) => {
            show_plan(&s, ctx, FieldErrors::default(), true, input).await
        }
        Err(e) => match save_error(e) {
            Error::Validation(f) => show_plan(&s, ctx, f, false, input).await,
            other => Err(other),
        },
    }
}

/// The plan form shown again with what was typed and why it was refused.
async fn show_plan(
    s: &AppState,
    ctx: PageCtx,
    errors: FieldErrors,
    needs_confirmation: bool,
    input: PlanInput,
) -> Result<Response> {
    Ok(web::page_with_status(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        PlanPage {
            ctx: ctx.titled("menu.reward_plan", &[FINANCE]),
            input,
            current: plan::current(&s.db).await?,
            history: plan::history(&s.db).await?,
            errors,
            needs_confirmation,
            levels: crate::agents::levels::all(&s.db).await?,
        },
    ))
}

// ---------------------------------------------------------------- compliance

#[derive(Template)]
#[template(path = "rewards/compliance.html")]
struct CompliancePage {
    ctx: PageCtx,
    version: i64,
    report: ComplianceReport,
}

async fn compliance_page(
    State(s): State<AppState>,
    _who: Need<RewardsRead>,
    ctx: PageCtx,
) -> Result<Response> {
    let current = plan::current(&s.db).await?;
    Ok(web::page(CompliancePage {
        ctx: ctx.titled("menu.compliance", &[FINANCE]),
        version: current.version,
        report: compliance(&current.plan),
    }))
}

// ---------------------------------------------------------------- lines

#[derive(Template)]
#[template(path = "rewards/lines.html")]
struct LinesPage {
    ctx: PageCtx,
    params: ListParams,
    period: String,
    rewards: Option<AgentRewards>,
    not_found: bool,
}

async fn lines_page(
    State(s): State<AppState>,
    _who: Need<RewardsRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let period = match period_or_now(params.get("period")) {
        Ok(p) => p,
        Err(_) => {
            return Ok(Redirect::to("/rewards/lines").into_response());
        }
    };
    let agent = params.value("agent").trim().to_string();
    let (rewards, not_found) = if agent.is_empty() {
        (None, false)
    } else {
        match lines::for_agent(&s.db, ctx.locale, &agent, period).await {
            Ok(r) => (Some(r), false),
            Err(Error::NotFound) => (None, true),
            Err(e) => return Err(e),
        }
    };
    Ok(web::page(LinesPage {
        ctx: ctx.titled("menu.reward_lines", &[FINANCE]),
        params,
        period: period.to_string(),
        rewards,
        not_found,
    }))
}
