//! Finance pages: journal, balances, trial balance, statements, withdrawals.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use weiops_core::money::Fen;
use weiops_core::time::{format_minute, parse_day_end, parse_day_start};

use super::journal::{
    self, EntryFilter, EntrySummary, JournalLine, LedgerAccount, ManualEntry, ManualLine,
    ManualRefusal,
};
use super::reports::{self, AccountBalance, AgentStatement, KINDS, TrialBalance};
use super::withdrawals::{self, STATUSES, Withdrawal, WithdrawalFilter};
use crate::agents::AgentsPii;
use crate::error::FieldErrors;
use crate::export::{self, ExportFormat, Table};
use crate::identity::{Need, Principal};
use crate::ledger::{FinancePay, FinanceRead, FinanceWrite};
use crate::state::AppState;
use crate::web::list::{ListParams, Pager};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/finance/journal", get(journal_list).post(journal_post))
        .route("/finance/journal/export", get(journal_export))
        .route("/finance/journal/{id}", get(entry_detail))
        .route("/finance/balances", get(balances_page))
        .route("/finance/trial-balance", get(trial_balance_page))
        .route("/finance/trial-balance/export", get(trial_balance_export))
        .route("/finance/statements", get(statement_page))
        .route("/finance/statements/export", get(statement_export))
        .route("/finance/withdrawals", get(withdrawals_page))
        .route("/finance/withdrawals/export", get(withdrawals_export))
        .route("/finance/withdrawals/{id}/pay", post(pay))
        .route("/finance/withdrawals/{id}/reject", post(reject))
        .merge(super::portal::router())
}

const FINANCE: (&str, Option<&str>) = ("menu.finance", None);

/// A day filter: absent is `None`, malformed is an error.
fn day(params: &ListParams, key: &str, end: bool) -> Result<Option<i64>> {
    match params.get(key) {
        None => Ok(None),
        Some(s) => {
            let v = if end {
                parse_day_end(s)
            } else {
                parse_day_start(s)
            };
            v.map(Some).ok_or(Error::BadRequest("finance.bad_date"))
        }
    }
}

/// An agent code filter as an id; an unknown code matches nothing.
async fn agent_filter(s: &AppState, params: &ListParams) -> Result<Option<i64>> {
    match params.get("agent") {
        None => Ok(None),
        Some(code) => Ok(Some(
            crate::agents::store::find_by_code(&s.db, code)
                .await?
                .map(|a| a.id)
                .unwrap_or(-1),
        )),
    }
}

/// The journal filter from a query string (pages and API share it).
pub async fn entry_filter(s: &AppState, params: &ListParams) -> Result<EntryFilter> {
    Ok(EntryFilter {
        from_ms: day(params, "from", false)?,
        to_ms: day(params, "to", true)?,
        account: params.get("account").map(str::to_string),
        source: params.get("source").map(str::to_string),
        agent_id: agent_filter(s, params).await?,
        q: params.get("q").map(str::to_string),
    })
}

/// The withdrawal filter from a query string (pages and API share it).
pub async fn withdrawal_filter(s: &AppState, params: &ListParams) -> Result<WithdrawalFilter> {
    let status = params.get("status").map(str::to_string);
    if status.as_deref().is_some_and(|st| !STATUSES.contains(&st)) {
        return Err(Error::BadRequest("withdrawal.bad_status"));
    }
    Ok(WithdrawalFilter {
        status,
        agent_id: agent_filter(s, params).await?,
        from_ms: day(params, "from", false)?,
        to_ms: day(params, "to", true)?,
    })
}

fn source_label(ctx: &PageCtx, source: &str) -> String {
    ctx.locale
        .try_t(&format!("finance.source_{source}"))
        .unwrap_or_else(|| source.to_string())
}

/// Masks agent names unless the viewer holds `agents.pii`.
fn shown_line(who: &Principal, l: JournalLine) -> JournalLine {
    if who.has::<AgentsPii>() { l } else { l.mask() }
}

fn shown_withdrawal(who: &Principal, w: Withdrawal) -> Withdrawal {
    if who.has::<AgentsPii>() {
        w
    } else {
        w.masked()
    }
}

// ---------------------------------------------------------------- journal

/// One line of the manual entry form as typed.
#[derive(Debug, Clone, Default)]
struct FormRow {
    account: String,
    agent: String,
    debit: String,
    credit: String,
}

impl FormRow {
    fn is_blank(&self) -> bool {
        [&self.account, &self.agent, &self.debit, &self.credit]
            .iter()
            .all(|v| v.trim().is_empty())
    }
}

/// The manual entry form (手工记账).
#[derive(Debug, Clone, Default)]
struct ManualForm {
    date: String,
    memo: String,
    rows: Vec<FormRow>,
    errors: FieldErrors,
    /// A message for the whole entry (unbalanced, wallet too small).
    message: Option<String>,
    open: bool,
}

const DEFAULT_ROWS: usize = 4;

impl ManualForm {
    fn blank(rows: usize) -> ManualForm {
        ManualForm {
            date: weiops_core::time::format_date(crate::db::now_ms()),
            rows: vec![FormRow::default(); rows.clamp(2, *journal::MANUAL_LINES.end())],
            ..Default::default()
        }
    }
}

#[derive(Template)]
#[template(path = "finance/journal.html")]
struct JournalPage {
    ctx: PageCtx,
    params: ListParams,
    entries: Vec<EntrySummary>,
    pager: Pager,
    accounts: Vec<LedgerAccount>,
    sources: Vec<String>,
    form: ManualForm,
    more_rows_href: String,
}

impl JournalPage {
    fn source_label(&self, s: &str) -> String {
        source_label(&self.ctx, s)
    }

    fn row_error(&self, i: &usize) -> Option<&str> {
        self.form.errors.get(&format!("lines.{}", i + 1))
    }
}

async fn render_journal(
    s: &AppState,
    ctx: PageCtx,
    params: ListParams,
    form: ManualForm,
    status: StatusCode,
) -> Result<Response> {
    let filter = entry_filter(s, &params).await?;
    let (entries, info) = journal::list(&s.db, &filter, params.page()).await?;
    let ctx = ctx.titled("menu.journal", &[FINANCE]);
    let more = (form.rows.len() + 4).min(*journal::MANUAL_LINES.end());
    Ok(web::page_with_status(
        status,
        JournalPage {
            ctx,
            pager: params.pager(info),
            more_rows_href: params.href_with(&[("lines", &more.to_string()), ("new", "1")]),
            params,
            entries,
            accounts: journal::accounts(&s.db).await?,
            sources: journal::sources(&s.db).await?,
            form,
        },
    ))
}

async fn journal_list(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let rows = params
        .get("lines")
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_ROWS);
    let mut form = ManualForm::blank(rows);
    form.open = params.get("new").is_some();
    render_journal(&s, ctx, params, form, StatusCode::OK).await
}

/// A typed yuan amount: empty is `None`; anything unparsable, negative or
/// zero is an error.
fn yuan(text: &str) -> std::result::Result<Option<i64>, ()> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match Fen::parse_yuan(t) {
        Ok(f) if f.0 > 0 => Ok(Some(f.0)),
        _ => Err(()),
    }
}

async fn journal_post(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    ctx: PageCtx,
    params: ListParams,
    form: FormPairs,
) -> Result<Response> {
    let (accounts, agents, debits, credits) = (
        form.all("account"),
        form.all("agent"),
        form.all("debit"),
        form.all("credit"),
    );
    let n = accounts
        .len()
        .max(debits.len())
        .max(credits.len())
        .max(agents.len());
    let cell = |v: &Vec<&str>, i: usize| v.get(i).map(|s| s.to_string()).unwrap_or_default();
    let all_rows: Vec<FormRow> = (0..n)
        .map(|i| FormRow {
            account: cell(&accounts, i),
            agent: cell(&agents, i),
            debit: cell(&debits, i),
            credit: cell(&credits, i),
        })
        .collect();
    let mut errors = FieldErrors::default();
    let mut numbers = Vec::new();
    let mut lines = Vec::new();
    for (i, r) in all_rows.iter().enumerate().filter(|(_, r)| !r.is_blank()) {
        let field = format!("lines.{}", i + 1);
        let (debit, credit) = match (yuan(&r.debit), yuan(&r.credit)) {
            (Ok(d), Ok(c)) => (d, c),
            _ => {
                errors.add(&field, "finance.amount_invalid");
                (None, None)
            }
        };
        numbers.push(i + 1);
        lines.push(ManualLine {
            account: r.account.trim().to_string(),
            agent_code: Some(r.agent.trim().to_string()).filter(|a| !a.is_empty()),
            debit_fen: debit,
            credit_fen: credit,
        });
    }
    let input = ManualEntry {
        date: form.get("date").to_string(),
        memo: form.get("memo").to_string(),
        lines,
    };
    let mut shown = ManualForm {
        date: input.date.clone(),
        memo: input.memo.clone(),
        rows: all_rows,
        open: true,
        ..Default::default()
    };
    while shown.rows.len() < 2 {
        shown.rows.push(FormRow::default());
    }
    let (status, key_args) = match journal::check_manual(&s.db, &input, &numbers, errors).await? {
        Ok((at, lines)) => {
            match journal::post_manual(&s.db, &who.actor(), at, &input.memo, lines).await {
                Ok(id) => {
                    return Ok(web::redirect_with_flash(
                        &format!("/finance/journal/{id}"),
                        "success",
                        "finance.entry_posted",
                        &journal::entry_no(id),
                    ));
                }
                Err(Error::Conflict(key)) => (StatusCode::CONFLICT, ctx.t(key)),
                Err(e) => return Err(e),
            }
        }
        Err(ManualRefusal::Invalid(errors)) => {
            shown.errors = errors;
            (StatusCode::UNPROCESSABLE_ENTITY, ctx.t("error.validation"))
        }
        Err(ManualRefusal::Unbalanced { debit, credit }) => (
            StatusCode::BAD_REQUEST,
            ctx.tf(
                "finance.unbalanced_totals",
                &[
                    ("debit", &debit.to_string()),
                    ("credit", &credit.to_string()),
                    ("diff", &Fen((debit.0 - credit.0).abs()).to_string()),
                ],
            ),
        ),
    };
    shown.message = Some(key_args);
    render_journal(&s, ctx, params, shown, status).await
}

async fn journal_export(
    State(s): State<AppState>,
    who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let filter = entry_filter(&s, &params).await?;
    let rows = journal::export_lines(&s.db, &filter, export::MAX_EXPORT_ROWS).await?;
    let t = |k: &str| ctx.t(k);
    let table = Table {
        sheet: t("menu.journal"),
        headers: vec![
            t("finance.entry_no"),
            t("finance.posted_at"),
            t("finance.memo"),
            t("finance.source"),
            t("finance.account_code"),
            t("finance.account"),
            t("finance.agent"),
            t("finance.debit"),
            t("finance.credit"),
            t("finance.created_by"),
        ],
        rows: rows
            .into_iter()
            .map(|(e, l)| {
                let l = shown_line(&who, l);
                vec![
                    e.entry_no.clone(),
                    format_minute(e.posted_at),
                    e.memo.clone(),
                    source_label(&ctx, &e.source),
                    l.account.clone(),
                    l.account_name(ctx.locale).to_string(),
                    agent_text(&l),
                    money_cell(l.debit_fen),
                    money_cell(l.credit_fen),
                    e.created_by_name.clone(),
                ]
            })
            .collect(),
    };
    export::respond(&table, format, "journal")
}

fn agent_text(l: &JournalLine) -> String {
    match (&l.agent_code, &l.agent_name) {
        (Some(c), Some(n)) => format!("{c} {n}"),
        (Some(c), None) => c.clone(),
        _ => String::new(),
    }
}

/// An amount in an export: `1234.56` (a number Excel can sum), empty for 0.
fn money_cell(fen: i64) -> String {
    if fen == 0 { String::new() } else { plain(fen) }
}

/// `-1234.56`: yuan without the sign or thousands separators.
fn plain(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[derive(Template)]
#[template(path = "finance/entry.html")]
struct EntryPage {
    ctx: PageCtx,
    entry: EntrySummary,
    lines: Vec<JournalLine>,
    pager: Pager,
}

impl EntryPage {
    fn source_label(&self, s: &str) -> String {
        source_label(&self.ctx, s)
    }
}

async fn entry_detail(
    State(s): State<AppState>,
    who: Need<FinanceRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    params: ListParams,
) -> Result<Response> {
    let entry = journal::get(&s.db, id).await?;
    let (lines, info) = journal::lines(&s.db, id, params.page()).await?;
    let lines = lines.into_iter().map(|l| shown_line(&who, l)).collect();
    let title = format!("{} {}", ctx.t("finance.entry"), entry.entry_no);
    let ctx = ctx.titled_text(
        title,
        &[FINANCE, ("menu.journal", Some("/finance/journal"))],
    );
    Ok(web::page(EntryPage {
        ctx,
        entry,
        lines,
        pager: params.pager(info),
    }))
}

// ---------------------------------------------------------------- balances

#[derive(Template)]
#[template(path = "finance/balances.html")]
struct BalancesPage {
    ctx: PageCtx,
    date: String,
    /// Kind and its accounts, with the kind's total balance.
    groups: Vec<(&'static str, Vec<AccountBalance>, i64)>,
}

async fn balances_page(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let (date, end) = reports::as_of(params.get("date"))?;
    let all = reports::balances(&s.db, end).await?;
    let groups = KINDS
        .iter()
        .map(|k| {
            let rows: Vec<AccountBalance> = all
                .iter()
                .filter(|r| r.account.kind == *k)
                .cloned()
                .collect();
            let total = rows.iter().map(|r| r.balance_fen).sum();
            (*k, rows, total)
        })
        .collect();
    let ctx = ctx.titled("menu.balances", &[FINANCE]);
    Ok(web::page(BalancesPage { ctx, date, groups }))
}

// ---------------------------------------------------------------- trial balance

#[derive(Template)]
#[template(path = "finance/trial_balance.html")]
struct TrialBalancePage {
    ctx: PageCtx,
    params: ListParams,
    tb: TrialBalance,
}

async fn trial_balance_page(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let tb = reports::trial_balance(&s.db, params.get("date")).await?;
    let ctx = ctx.titled("menu.trial_balance", &[FINANCE]);
    Ok(web::page(TrialBalancePage { ctx, params, tb }))
}

async fn trial_balance_export(
    State(s): State<AppState>,
    _who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let tb = reports::trial_balance(&s.db, params.get("date")).await?;
    let t = |k: &str| ctx.t(k);
    let mut rows: Vec<Vec<String>> = tb
        .rows
        .iter()
        .map(|r| {
            vec![
                r.account.code.clone(),
                r.account.name(ctx.locale).to_string(),
                plain(r.debit_fen),
                plain(r.credit_fen),
                plain(r.debit_balance_fen),
                plain(r.credit_balance_fen),
            ]
        })
        .collect();
    rows.push(vec![
        String::new(),
        t("finance.total"),
        plain(tb.debit_total_fen),
        plain(tb.credit_total_fen),
        plain(tb.debit_balance_total_fen),
        plain(tb.credit_balance_total_fen),
    ]);
    let table = Table {
        sheet: t("menu.trial_balance"),
        headers: vec![
            t("finance.account_code"),
            t("finance.account"),
            t("finance.debit_total"),
            t("finance.credit_total"),
            t("finance.debit_balance"),
            t("finance.credit_balance"),
        ],
        rows,
    };
    export::respond(&table, format, &format!("trial-balance-{}", tb.date))
}

// ---------------------------------------------------------------- statements

#[derive(Template)]
#[template(path = "finance/statement.html")]
struct StatementPage {
    ctx: PageCtx,
    params: ListParams,
    from: String,
    to: String,
    statement: Option<AgentStatement>,
    not_found: bool,
}

impl StatementPage {
    fn source_label(&self, s: &str) -> String {
        source_label(&self.ctx, s)
    }
}

/// The statement for the query's agent, if one was asked for and exists.
async fn statement_of(
    s: &AppState,
    who: &Principal,
    params: &ListParams,
) -> Result<Option<AgentStatement>> {
    let Some(code) = params.get("agent") else {
        return Ok(None);
    };
    let Some(agent) = crate::agents::store::find_by_code(&s.db, code).await? else {
        return Ok(None);
    };
    let mut st = reports::statement(&s.db, &agent, params.get("from"), params.get("to")).await?;
    if !who.has::<AgentsPii>() {
        st.agent_name = weiops_core::agents::mask_name(&st.agent_name);
    }
    Ok(Some(st))
}

async fn statement_page(
    State(s): State<AppState>,
    who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let statement = statement_of(&s, &who, &params).await?;
    let not_found = params.get("agent").is_some() && statement.is_none();
    let (dfrom, dto) = reports::default_period();
    let (from, to) = match &statement {
        Some(st) => (st.from.clone(), st.to.clone()),
        None => (
            params.get("from").map(str::to_string).unwrap_or(dfrom),
            params.get("to").map(str::to_string).unwrap_or(dto),
        ),
    };
    let ctx = ctx.titled("menu.statements", &[FINANCE]);
    Ok(web::page(StatementPage {
        ctx,
        params,
        from,
        to,
        statement,
        not_found,
    }))
}

async fn statement_export(
    State(s): State<AppState>,
    who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let st = statement_of(&s, &who, &params)
        .await?
        .ok_or(Error::NotFound)?;
    let t = |k: &str| ctx.t(k);
    let mut rows = Vec::new();
    for a in &st.accounts {
        let name = format!("{} {}", a.account.code, a.account.name(ctx.locale));
        let edge = |label: &str, at: &str, fen: i64| {
            vec![
                name.clone(),
                at.to_string(),
                String::new(),
                label.to_string(),
                String::new(),
                String::new(),
                plain(fen),
            ]
        };
        rows.push(edge(&t("finance.opening"), &st.from, a.opening_fen));
        for l in &a.lines {
            rows.push(vec![
                name.clone(),
                format_minute(l.posted_at),
                l.entry_no.clone(),
                l.memo.clone(),
                money_cell(l.debit_fen),
                money_cell(l.credit_fen),
                plain(l.balance_fen),
            ]);
        }
        rows.push(edge(&t("finance.closing"), &st.to, a.closing_fen));
    }
    let table = Table {
        sheet: t("menu.statements"),
        headers: vec![
            t("finance.account"),
            t("finance.posted_at"),
            t("finance.entry_no"),
            t("finance.memo"),
            t("finance.debit"),
            t("finance.credit"),
            t("finance.balance"),
        ],
        rows,
    };
    export::respond(&table, format, &format!("statement-{}", st.agent_code))
}

// ---------------------------------------------------------------- withdrawals

#[derive(Template)]
#[template(path = "finance/withdrawals.html")]
struct WithdrawalsPage {
    ctx: PageCtx,
    params: ListParams,
    items: Vec<Withdrawal>,
    pager: Pager,
    statuses: [&'static str; 3],
}

async fn withdrawals_page(
    State(s): State<AppState>,
    who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let filter = withdrawal_filter(&s, &params).await?;
    let (items, info) = withdrawals::list(&s.db, &filter, params.page()).await?;
    let items = items
        .into_iter()
        .map(|w| shown_withdrawal(&who, w))
        .collect();
    let ctx = ctx.titled("menu.withdrawals", &[FINANCE]);
    Ok(web::page(WithdrawalsPage {
        ctx,
        pager: params.pager(info),
        params,
        items,
        statuses: STATUSES,
    }))
}

async fn withdrawals_export(
    State(s): State<AppState>,
    who: Need<FinanceRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let filter = withdrawal_filter(&s, &params).await?;
    let items = withdrawals::list_all(&s.db, &filter, export::MAX_EXPORT_ROWS).await?;
    let t = |k: &str| ctx.t(k);
    let table = Table {
        sheet: t("menu.withdrawals"),
        headers: vec![
            "ID".into(),
            t("withdrawal.requested_at"),
            t("finance.agent_code"),
            t("finance.agent_name"),
            t("withdrawal.amount"),
            t("withdrawal.fee"),
            t("withdrawal.net"),
            t("withdrawal.account_name"),
            t("withdrawal.account_no"),
            t("common.status"),
            t("withdrawal.reference"),
            t("withdrawal.reason"),
            t("withdrawal.decided_by"),
            t("withdrawal.decided_at"),
        ],
        rows: items
            .into_iter()
            .map(|w| shown_withdrawal(&who, w))
            .map(|w| {
                vec![
                    w.id.to_string(),
                    format_minute(w.requested_at),
                    w.agent_code.clone(),
                    w.agent_name.clone(),
                    plain(w.amount_fen),
                    plain(w.fee_fen),
                    plain(w.net_fen),
                    w.account_name.clone(),
                    w.account_no.clone(),
                    t(&format!("withdrawal.status_{}", w.status)),
                    w.reference.clone().unwrap_or_default(),
                    w.reason.clone().unwrap_or_default(),
                    w.decided_by_name.clone().unwrap_or_default(),
                    w.decided_at.map(format_minute).unwrap_or_default(),
                ]
            })
            .collect(),
    };
    export::respond(&table, format, "withdrawals")
}

const WITHDRAWALS: &str = "/finance/withdrawals";

/// The outcome of a decision as a flash on the list.
fn decided(result: Result<()>, ok_key: &str, id: i64) -> Result<Response> {
    match result {
        Ok(()) => Ok(web::redirect_with_flash(
            WITHDRAWALS,
            "success",
            ok_key,
            &format!("#{id}"),
        )),
        Err(Error::Validation(f)) => Ok(web::redirect_with_flash(
            WITHDRAWALS,
            "error",
            f.0.first()
                .map(|(field, _)| match field.as_str() {
                    "reference" => "withdrawal.reference_required",
                    _ => "withdrawal.reason_required",
                })
                .unwrap_or("error.validation"),
            "",
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(WITHDRAWALS, "error", key, "")),
        Err(e) => Err(e),
    }
}

async fn pay(
    State(s): State<AppState>,
    who: Need<FinancePay>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let w = withdrawals::get(&s.db, id).await?;
    let reference = form.get("reference").trim().to_string();
    if !reference.is_empty() && !form.confirmed() {
        let msg = ctx.tf(
            "withdrawal.confirm_pay",
            &[
                ("id", &id.to_string()),
                ("code", &w.agent_code),
                ("net", &Fen(w.net_fen).to_string()),
                ("account", &format!("{} {}", w.account_name, w.account_no)),
                ("reference", &reference),
            ],
        );
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("{WITHDRAWALS}/{id}/pay"),
            form.carry(),
            WITHDRAWALS,
            "withdrawal.pay",
        ));
    }
    decided(
        withdrawals::pay(&s.db, &who.actor(), id, &reference).await,
        "withdrawal.paid_flash",
        id,
    )
}

async fn reject(
    State(s): State<AppState>,
    who: Need<FinanceWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let w = withdrawals::get(&s.db, id).await?;
    let reason = form.get("reason").trim().to_string();
    if !reason.is_empty() && !form.confirmed() {
        let msg = ctx.tf(
            "withdrawal.confirm_reject",
            &[
                ("id", &id.to_string()),
                ("code", &w.agent_code),
                ("amount", &Fen(w.amount_fen).to_string()),
                ("reason", &reason),
            ],
        );
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("{WITHDRAWALS}/{id}/reject"),
            form.carry(),
            WITHDRAWALS,
            "withdrawal.reject",
        ));
    }
    decided(
        withdrawals::reject(&s.db, &who.actor(), id, &reason).await,
        "withdrawal.rejected_flash",
        id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_amounts_are_plain_numbers() {
        assert_eq!(plain(123_456), "1234.56");
        assert_eq!(plain(-5), "-0.05");
        assert_eq!(money_cell(0), "");
        assert_eq!(journal::entry_no(42), "JZ000042");
    }

    #[test]
    fn typed_yuan_amounts() {
        assert_eq!(yuan(""), Ok(None));
        assert_eq!(yuan(" 1,000.5 "), Ok(Some(100_050)));
        assert!(yuan("0").is_err());
        assert!(yuan("-3").is_err());
        assert!(yuan("1.005").is_err());
    }
}
