//! Reports read from posted lines: account balances (科目余额), the trial
//! balance (试算平衡) and per-agent statements (代理对账单). Dates are
//! Beijing days; "as of 2026-11-30" includes the whole 30th.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;
use weiops_core::ledger::{AccountKind, Side};
use weiops_core::money::Fen;

use super::journal::{self, LedgerAccount, entry_no};
use crate::db::{Db, now_ms};
use crate::{Error, Result};

/// The most statement lines one page or export shows.
pub const MAX_STATEMENT_LINES: i64 = 20_000;

/// `YYYY-MM-DD` (default today) and the instant that ends that day.
pub fn as_of(date: Option<&str>) -> Result<(String, i64)> {
    let date = date
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| weiops_core::time::format_date(now_ms()));
    let end =
        weiops_core::time::parse_day_end(&date).ok_or(Error::BadRequest("finance.bad_date"))?;
    Ok((date, end))
}

/// The balance of `debit` and `credit` on the normal side of `kind`,
/// negative when it sits on the other side.
pub fn signed_balance(kind: AccountKind, debit: i64, credit: i64) -> i64 {
    match kind.normal_side() {
        Side::Debit => debit - credit,
        Side::Credit => credit - debit,
    }
}

/// One account's totals up to a date.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountBalance {
    #[serde(flatten)]
    pub account: LedgerAccount,
    /// Sum of debits.
    pub debit_fen: i64,
    /// Sum of credits.
    pub credit_fen: i64,
    /// On the account's normal side (debit for assets and expenses);
    /// negative when the balance sits on the other side.
    pub balance_fen: i64,
    /// The balance as a trial balance shows it: in the debit column…
    pub debit_balance_fen: i64,
    /// …or in the credit column.
    pub credit_balance_fen: i64,
}

impl AccountBalance {
    pub fn is_zero(&self) -> bool {
        self.debit_fen == 0 && self.credit_fen == 0
    }
}

/// Every account's totals up to `end_ms` (exclusive), in chart order.
#[tracing::instrument(skip(db))]
pub async fn balances(db: &Db, end_ms: i64) -> Result<Vec<AccountBalance>> {
    let rows = sqlx::query(
        "SELECT jl.account, CAST(COALESCE(SUM(jl.debit_fen), 0) AS BIGINT) AS d, \
         CAST(COALESCE(SUM(jl.credit_fen), 0) AS BIGINT) AS c \
         FROM journal_lines jl JOIN journal_entries je ON je.id = jl.entry_id \
         WHERE je.posted = 1 AND jl.posted_at < $1 GROUP BY jl.account",
    )
    .bind(end_ms)
    .fetch_all(&db.pool)
    .await?;
    let mut sums: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in rows {
        sums.insert(r.try_get("account")?, (r.try_get("d")?, r.try_get("c")?));
    }
    Ok(journal::accounts(db)
        .await?
        .into_iter()
        .map(|account| {
            let (d, c) = sums.get(&account.code).copied().unwrap_or((0, 0));
            AccountBalance {
                balance_fen: signed_balance(account.kind(), d, c),
                debit_balance_fen: (d - c).max(0),
                credit_balance_fen: (c - d).max(0),
                debit_fen: d,
                credit_fen: c,
                account,
            }
        })
        .collect())
}

/// Kinds in the order the balance sheet lists them.
pub const KINDS: [&str; 5] = ["asset", "liability", "equity", "revenue", "expense"];

/// The trial balance (试算平衡表) at the end of a day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrialBalance {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub rows: Vec<AccountBalance>,
    pub debit_total_fen: i64,
    pub credit_total_fen: i64,
    pub debit_balance_total_fen: i64,
    pub credit_balance_total_fen: i64,
    /// Debit balances equal credit balances (and debits equal credits).
    pub balanced: bool,
}

pub async fn trial_balance(db: &Db, date: Option<&str>) -> Result<TrialBalance> {
    let (date, end) = as_of(date)?;
    let rows = balances(db, end).await?;
    let sum = |f: fn(&AccountBalance) -> i64| rows.iter().map(f).sum::<i64>();
    let (d, c) = (sum(|r| r.debit_fen), sum(|r| r.credit_fen));
    let (db_, cb) = (sum(|r| r.debit_balance_fen), sum(|r| r.credit_balance_fen));
    Ok(TrialBalance {
        date,
        debit_total_fen: d,
        credit_total_fen: c,
        debit_balance_total_fen: db_,
        credit_balance_total_fen: cb,
        balanced: d == c && db_ == cb,
        rows,
    })
}

// ---------------------------------------------------------------- statements

/// One line of an agent's statement.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatementLine {
    pub entry_id: i64,
    pub entry_no: String,
    pub posted_at: i64,
    pub memo: String,
    pub source: String,
    pub debit_fen: i64,
    pub credit_fen: i64,
    /// Running balance of the account after this line (normal side).
    pub balance_fen: i64,
}

/// One per-agent account on a statement.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatementAccount {
    #[serde(flatten)]
    pub account: LedgerAccount,
    pub opening_fen: i64,
    pub debit_fen: i64,
    pub credit_fen: i64,
    pub closing_fen: i64,
    pub lines: Vec<StatementLine>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentStatement {
    pub agent_id: i64,
    pub agent_code: String,
    pub agent_name: String,
    /// `YYYY-MM-DD`, inclusive.
    pub from: String,
    pub to: String,
    /// Accounts with an opening balance or lines in the period.
    pub accounts: Vec<StatementAccount>,
    /// More lines than one statement shows: narrow the dates.
    pub truncated: bool,
}

/// The default period: the first of this month to today.
pub fn default_period() -> (String, String) {
    let today = weiops_core::time::format_date(now_ms());
    (format!("{}-01", &today[..7]), today)
}

/// An agent's lines on the per-agent accounts between two days, with
/// opening and closing balances and a running balance per account.
#[tracing::instrument(skip(db, agent), fields(agent = agent.id))]
pub async fn statement(
    db: &Db,
    agent: &crate::agents::store::Agent,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<AgentStatement> {
    let (dfrom, dto) = default_period();
    let from = from
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&dfrom)
        .to_string();
    let to = to
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&dto)
        .to_string();
    let start =
        weiops_core::time::parse_day_start(&from).ok_or(Error::BadRequest("finance.bad_date"))?;
    let end = weiops_core::time::parse_day_end(&to).ok_or(Error::BadRequest("finance.bad_date"))?;
    if end <= start {
        return Err(Error::BadRequest("finance.bad_period"));
    }
    let chart: Vec<LedgerAccount> = journal::accounts(db)
        .await?
        .into_iter()
        .filter(|a| a.per_agent)
        .collect();
    let opening = agent_sums(db, agent.id, start).await?;
    let closing = agent_sums(db, agent.id, end).await?;
    let rows = sqlx::query(
        "SELECT jl.account, je.id, je.posted_at, je.memo, je.source, jl.debit_fen, jl.credit_fen \
         FROM journal_lines jl JOIN journal_entries je ON je.id = jl.entry_id \
         WHERE je.posted = 1 AND jl.agent_id = $1 AND jl.posted_at >= $2 AND jl.posted_at < $3 \
         ORDER BY jl.posted_at, jl.id LIMIT $4",
    )
    .bind(agent.id)
    .bind(start)
    .bind(end)
    .bind(MAX_STATEMENT_LINES + 1)
    .fetch_all(&db.pool)
    .await?;
    let truncated = rows.len() as i64 > MAX_STATEMENT_LINES;
    let mut out: Vec<StatementAccount> = chart
        .into_iter()
        .map(|account| {
            let (od, oc) = opening.get(&account.code).copied().unwrap_or((0, 0));
            let (cd, cc) = closing.get(&account.code).copied().unwrap_or((0, 0));
            StatementAccount {
                opening_fen: signed_balance(account.kind(), od, oc),
                debit_fen: cd - od,
                credit_fen: cc - oc,
                closing_fen: signed_balance(account.kind(), cd, cc),
                lines: Vec::new(),
                account,
            }
        })
        .collect();
    let mut running: BTreeMap<String, i64> = out
        .iter()
        .map(|a| (a.account.code.clone(), a.opening_fen))
        .collect();
    for r in rows.iter().take(MAX_STATEMENT_LINES as usize) {
        let code: String = r.try_get("account")?;
        let Some(acc) = out.iter_mut().find(|a| a.account.code == code) else {
            continue;
        };
        let (d, c): (i64, i64) = (r.try_get("debit_fen")?, r.try_get("credit_fen")?);
        let balance = running.entry(code).or_default();
        *balance += signed_balance(acc.account.kind(), d, c);
        let id: i64 = r.try_get("id")?;
        acc.lines.push(StatementLine {
            entry_id: id,
            entry_no: entry_no(id),
            posted_at: r.try_get("posted_at")?,
            memo: r.try_get("memo")?,
            source: r.try_get("source")?,
            debit_fen: d,
            credit_fen: c,
            balance_fen: *balance,
        });
    }
    out.retain(|a| a.opening_fen != 0 || a.closing_fen != 0 || !a.lines.is_empty());
    Ok(AgentStatement {
        agent_id: agent.id,
        agent_code: agent.code.clone(),
        agent_name: agent.name.clone(),
        from,
        to,
        accounts: out,
        truncated,
    })
}

/// Debit and credit totals per account of one agent's lines before `end`.
async fn agent_sums(db: &Db, agent_id: i64, end: i64) -> Result<BTreeMap<String, (i64, i64)>> {
    let rows = sqlx::query(
        "SELECT jl.account, CAST(COALESCE(SUM(jl.debit_fen), 0) AS BIGINT) AS d, \
         CAST(COALESCE(SUM(jl.credit_fen), 0) AS BIGINT) AS c \
         FROM journal_lines jl JOIN journal_entries je ON je.id = jl.entry_id \
         WHERE je.posted = 1 AND jl.agent_id = $1 AND jl.posted_at < $2 GROUP BY jl.account",
    )
    .bind(agent_id)
    .bind(end)
    .fetch_all(&db.pool)
    .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        out.insert(r.try_get("account")?, (r.try_get("d")?, r.try_get("c")?));
    }
    Ok(out)
}

/// `¥1,234.56` for exports.
pub fn yuan(fen: i64) -> String {
    Fen(fen).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balances_sit_on_the_normal_side_and_may_go_negative() {
        assert_eq!(signed_balance(AccountKind::Asset, 500, 200), 300);
        assert_eq!(signed_balance(AccountKind::Expense, 0, 100), -100);
        assert_eq!(signed_balance(AccountKind::Liability, 200, 500), 300);
        assert_eq!(signed_balance(AccountKind::Revenue, 100, 0), -100);
    }

    #[test]
    fn as_of_covers_the_whole_beijing_day() {
        let (date, end) = as_of(Some("2026-11-30")).unwrap();
        assert_eq!(date, "2026-11-30");
        assert_eq!(
            weiops_core::time::format_second(end - 1),
            "2026-11-30 23:59:59"
        );
        assert!(as_of(Some("2026-11-31")).is_err());
        assert_eq!(
            as_of(None).unwrap().0,
            weiops_core::time::format_date(now_ms())
        );
    }
}
