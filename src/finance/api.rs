//! `/api/v1/ledger/...` and `/api/v1/withdrawals`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weiops_core::money::Fen;

use super::journal::{self, EntryDetail, EntrySummary, LedgerAccount, ManualEntry, ManualRefusal};
use super::pages::{entry_filter, withdrawal_filter};
use super::reports::{self, AccountBalance, AgentStatement, TrialBalance};
use super::withdrawals::{self, NewWithdrawal, Withdrawal};
use crate::agents::AgentsPii;
use crate::error::FieldErrors;
use crate::identity::{Need, Principal};
use crate::ledger::{FinancePay, FinanceRead, FinanceWrite};
use crate::paged::Paged;
use crate::state::AppState;
use crate::web::list::ListParams;
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts))
        .routes(routes!(list_entries, create_entry))
        .routes(routes!(get_entry))
        .routes(routes!(balances))
        .routes(routes!(trial_balance))
        .routes(routes!(statement))
        .routes(routes!(list_withdrawals, create_withdrawal))
        .routes(routes!(pay_withdrawal))
        .routes(routes!(reject_withdrawal))
        .merge(super::payment_pages::api_router())
}

fn pii(who: &Principal) -> bool {
    who.has::<AgentsPii>()
}

/// The chart of accounts (会计科目).
#[utoipa::path(get, path = "/api/v1/ledger/accounts", tag = "finance", responses((status = 200, body = Vec<LedgerAccount>)))]
async fn list_accounts(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
) -> Result<Json<Vec<LedgerAccount>>> {
    Ok(Json(journal::accounts(&s.db).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct EntryQuery {
    /// `YYYY-MM-DD`, Beijing time, inclusive.
    from: Option<String>,
    to: Option<String>,
    /// Entries with a line on this account code.
    account: Option<String>,
    /// `manual`, `withdrawal`, `settlement`, …
    source: Option<String>,
    /// Entries with a line for this agent code.
    agent: Option<String>,
    /// Part of the memo.
    q: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Posted journal entries (记账凭证), newest first.
#[utoipa::path(get, path = "/api/v1/ledger/entries", tag = "finance", params(EntryQuery), responses((status = 200, body = Paged<EntrySummary>)))]
async fn list_entries(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    params: ListParams,
) -> Result<Json<Paged<EntrySummary>>> {
    let filter = entry_filter(&s, &params).await?;
    let (items, info) = journal::list(&s.db, &filter, params.page()).await?;
    Ok(Json(Paged::new(items, info)))
}

async fn detail(s: &AppState, who: &Principal, id: i64) -> Result<EntryDetail> {
    let entry = journal::get(&s.db, id).await?;
    let lines = journal::all_lines(&s.db, id)
        .await?
        .into_iter()
        .map(|l| if pii(who) { l } else { l.mask() })
        .collect();
    Ok(EntryDetail { entry, lines })
}

/// One entry with its lines.
#[utoipa::path(get, path = "/api/v1/ledger/entries/{id}", tag = "finance", params(("id" = i64, Path)),
    responses((status = 200, body = EntryDetail), (status = 404)))]
async fn get_entry(
    State(s): State<AppState>,
    who: Need<FinanceRead>,
    Path(id): Path<i64>,
) -> Result<Json<EntryDetail>> {
    Ok(Json(detail(&s, &who, id).await?))
}

/// A manual entry (手工记账): 2 to 20 lines, each a debit or a credit;
/// per-agent accounts need the agent's code, others refuse one. Field
/// problems are a 422 with the fields (`lines.N` is the N-th line); an
/// entry whose debits and credits differ is a 400 and nothing is written.
#[utoipa::path(post, path = "/api/v1/ledger/entries", tag = "finance", request_body = ManualEntry,
    responses((status = 201, body = EntryDetail), (status = 400, description = "Unbalanced"), (status = 422),
              (status = 409, description = "Would take a wallet below zero")))]
async fn create_entry(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Json(body): Json<ManualEntry>,
) -> Result<(StatusCode, Json<EntryDetail>)> {
    let rows: Vec<usize> = (1..=body.lines.len()).collect();
    let (at, lines) =
        match journal::check_manual(&s.db, &body, &rows, FieldErrors::default()).await? {
            Ok(ok) => ok,
            Err(ManualRefusal::Invalid(errors)) => return Err(Error::Validation(errors)),
            Err(ManualRefusal::Unbalanced { .. }) => {
                return Err(Error::BadRequest("finance.unbalanced"));
            }
        };
    let id = journal::post_manual(&s.db, &who.actor(), at, &body.memo, lines).await?;
    Ok((StatusCode::CREATED, Json(detail(&s, &who, id).await?)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct DateQuery {
    /// `YYYY-MM-DD`, Beijing time, inclusive; today when absent.
    date: Option<String>,
}

/// Every account's debit and credit totals and balance up to a day.
#[utoipa::path(get, path = "/api/v1/ledger/balances", tag = "finance", params(DateQuery),
    responses((status = 200, body = Vec<AccountBalance>), (status = 400)))]
async fn balances(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    params: ListParams,
) -> Result<Json<Vec<AccountBalance>>> {
    let (_, end) = reports::as_of(params.get("date"))?;
    Ok(Json(reports::balances(&s.db, end).await?))
}

/// The trial balance (试算平衡表) at the end of a day.
#[utoipa::path(get, path = "/api/v1/ledger/trial-balance", tag = "finance", params(DateQuery),
    responses((status = 200, body = TrialBalance), (status = 400)))]
async fn trial_balance(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    params: ListParams,
) -> Result<Json<TrialBalance>> {
    Ok(Json(
        reports::trial_balance(&s.db, params.get("date")).await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct PeriodQuery {
    /// `YYYY-MM-DD`, Beijing time; the first of this month when absent.
    from: Option<String>,
    /// `YYYY-MM-DD`, inclusive; today when absent.
    to: Option<String>,
}

/// An agent's statement (代理对账单): lines on the per-agent accounts with
/// opening, running and closing balances.
#[utoipa::path(get, path = "/api/v1/ledger/statements/{agent_code}", tag = "finance",
    params(("agent_code" = String, Path), PeriodQuery),
    responses((status = 200, body = AgentStatement), (status = 404)))]
async fn statement(
    State(s): State<AppState>,
    who: Need<FinanceRead>,
    Path(code): Path<String>,
    params: ListParams,
) -> Result<Json<AgentStatement>> {
    let agent = crate::agents::store::find_by_code(&s.db, &code)
        .await?
        .ok_or(Error::NotFound)?;
    let mut st = reports::statement(&s.db, &agent, params.get("from"), params.get("to")).await?;
    if !pii(&who) {
        st.agent_name = weiops_core::agents::mask_name(&st.agent_name);
    }
    Ok(Json(st))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct WithdrawalQuery {
    /// `pending`, `paid` or `rejected`.
    status: Option<String>,
    /// Agent code.
    agent: Option<String>,
    /// Requested on or after `YYYY-MM-DD` (Beijing time).
    from: Option<String>,
    /// Requested on or before `YYYY-MM-DD`.
    to: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

fn shown(who: &Principal, w: Withdrawal) -> Withdrawal {
    if pii(who) { w } else { w.masked() }
}

/// Withdrawal requests, newest first.
#[utoipa::path(get, path = "/api/v1/withdrawals", tag = "finance", params(WithdrawalQuery),
    responses((status = 200, body = Paged<Withdrawal>)))]
async fn list_withdrawals(
    State(s): State<AppState>,
    who: Need<FinanceRead>,
    params: ListParams,
) -> Result<Json<Paged<Withdrawal>>> {
    let filter = withdrawal_filter(&s, &params).await?;
    let (items, info) = withdrawals::list(&s.db, &filter, params.page()).await?;
    Ok(Json(Paged::new(
        items.into_iter().map(|w| shown(&who, w)).collect(),
        info,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WithdrawalRequest {
    pub agent_code: String,
    pub amount_fen: i64,
    /// Where to send it: bank and holder, or WeChat / Alipay.
    pub account_name: String,
    pub account_no: String,
}

/// Requests a withdrawal on an agent's behalf. The plan's minimum and fee
/// apply; the agent must be active (403 otherwise); an amount above the
/// wallet is a 422, or a 409 when another request took the money first.
#[utoipa::path(post, path = "/api/v1/withdrawals", tag = "finance", request_body = WithdrawalRequest,
    responses((status = 201, body = Withdrawal), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn create_withdrawal(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Json(body): Json<WithdrawalRequest>,
) -> Result<(StatusCode, Json<Withdrawal>)> {
    let agent = crate::agents::store::find_by_code(&s.db, &body.agent_code)
        .await?
        .ok_or(Error::NotFound)?;
    let input = NewWithdrawal {
        amount: Fen(body.amount_fen),
        account_name: body.account_name,
        account_no: body.account_no,
    };
    let id = withdrawals::request(
        &s.db,
        &who.actor(),
        agent.id,
        &input,
        FieldErrors::default(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(shown(&who, withdrawals::get(&s.db, id).await?)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WithdrawalPayment {
    /// The bank transfer's reference.
    pub reference: String,
}

/// Marks a pending request paid (Dr 2243 / Cr 1002, Cr 6051 for the fee).
#[utoipa::path(post, path = "/api/v1/withdrawals/{id}/pay", tag = "finance", params(("id" = i64, Path)), request_body = WithdrawalPayment,
    responses((status = 200, body = Withdrawal), (status = 404), (status = 409, description = "Not pending"), (status = 422)))]
async fn pay_withdrawal(
    State(s): State<AppState>,
    who: Need<FinancePay>,
    Path(id): Path<i64>,
    Json(body): Json<WithdrawalPayment>,
) -> Result<Json<Withdrawal>> {
    withdrawals::pay(&s.db, &who.actor(), id, &body.reference).await?;
    Ok(Json(shown(&who, withdrawals::get(&s.db, id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WithdrawalRejection {
    pub reason: String,
}

/// Rejects a pending request; the amount goes back to the wallet.
#[utoipa::path(post, path = "/api/v1/withdrawals/{id}/reject", tag = "finance", params(("id" = i64, Path)), request_body = WithdrawalRejection,
    responses((status = 200, body = Withdrawal), (status = 404), (status = 409, description = "Not pending"), (status = 422)))]
async fn reject_withdrawal(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    Path(id): Path<i64>,
    Json(body): Json<WithdrawalRejection>,
) -> Result<Json<Withdrawal>> {
    withdrawals::reject(&s.db, &who.actor(), id, &body.reason).await?;
    Ok(Json(shown(&who, withdrawals::get(&s.db, id).await?)))
}
