//! The journal as finance reads it (记账凭证): the chart of accounts, entry
//! lists with filters, one entry with its lines, and manual entries (手工记账).
//! Writing goes through [`crate::ledger::post`], like every other posting.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::ledger::{AccountKind, EntryLine, accounts, check_entry};
use weiops_core::money::Fen;
use weiops_core::paging::{PageInfo, PageRequest};

use crate::audit::{self, Actor, Change};
use crate::db::{Db, Where, like_pattern, now_ms};
use crate::error::FieldErrors;
use crate::i18n::Locale;
use crate::ledger::{self, NewEntry};
use crate::{Error, Result};

/// Lines a manual entry may have.
pub const MANUAL_LINES: std::ops::RangeInclusive<usize> = 2..=20;

/// An account of the chart (会计科目).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LedgerAccount {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// `asset`, `liability`, `equity`, `revenue` or `expense`.
    pub kind: String,
    /// Lines on this account name the agent (a sub-ledger per agent).
    pub per_agent: bool,
}

impl LedgerAccount {
    pub fn name(&self, locale: impl std::borrow::Borrow<Locale>) -> &str {
        match locale.borrow() {
            Locale::ZhCn => &self.name_zh,
            Locale::En => &self.name_en,
        }
    }

    pub fn kind(&self) -> AccountKind {
        AccountKind::parse(&self.kind).unwrap_or(AccountKind::Asset)
    }

    /// Only withdrawals move 2243 (提现在途): its balance must stay the
    /// sum of the pending requests.
    pub fn manual_allowed(&self) -> bool {
        self.code != accounts::WITHDRAWALS_IN_PROCESS
    }
}

pub async fn accounts(db: &Db) -> Result<Vec<LedgerAccount>> {
    let rows = sqlx::query(
        "SELECT code, name_zh, name_en, kind, per_agent FROM ledger_accounts ORDER BY code",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LedgerAccount {
                code: r.try_get("code")?,
                name_zh: r.try_get("name_zh")?,
                name_en: r.try_get("name_en")?,
                kind: r.try_get("kind")?,
                per_agent: r.try_get::<i64, _>("per_agent")? != 0,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// The number people quote for an entry.
pub fn entry_no(id: i64) -> String {
    format!("JZ{id:06}")
}

/// An entry as the list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntrySummary {
    pub id: i64,
    /// `JZ000123`.
    pub entry_no: String,
    /// Business time, epoch ms.
    pub posted_at: i64,
    pub memo: String,
    /// `manual`, `withdrawal`, `settlement`, `order`, …
    pub source: String,
    pub source_id: String,
    /// Debits = credits.
    pub total_fen: i64,
    pub line_count: i64,
    pub created_by_name: String,
    pub created_at: i64,
}

/// One line of an entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JournalLine {
    pub account: String,
    pub account_name_zh: String,
    pub account_name_en: String,
    pub agent_id: Option<i64>,
    pub agent_code: Option<String>,
    pub agent_name: Option<String>,
    pub debit_fen: i64,
    pub credit_fen: i64,
}

impl JournalLine {
    pub fn account_name(&self, locale: impl std::borrow::Borrow<Locale>) -> &str {
        match locale.borrow() {
            Locale::ZhCn => &self.account_name_zh,
            Locale::En => &self.account_name_en,
        }
    }

    pub fn mask(mut self) -> JournalLine {
        self.agent_name = self.agent_name.map(|n| weiops_core::agents::mask_name(&n));
        self
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryDetail {
    #[serde(flatten)]
    pub entry: EntrySummary,
    pub lines: Vec<JournalLine>,
}

/// Filters of the journal page and API.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub account: Option<String>,
    pub source: Option<String>,
    /// Resolved from the agent code; `Some(-1)` for an unknown code.
    pub agent_id: Option<i64>,
    /// Part of the memo.
    pub q: Option<String>,
}

fn where_clause(f: &EntryFilter) -> Where {
    let mut w = Where::new();
    w.and("je.posted = 1", []);
    if let Some(from) = f.from_ms {
        w.and("je.posted_at >= ?", [from.into()]);
    }
    if let Some(to) = f.to_ms {
        w.and("je.posted_at < ?", [to.into()]);
    }
    if let Some(a) = &f.account {
        w.and(
            "EXISTS (SELECT 1 FROM journal_lines jl WHERE jl.entry_id = je.id AND jl.account = ?)",
            [a.as_str().into()],
        );
    }
    if let Some(s) = &f.source {
        w.and("je.source = ?", [s.as_str().into()]);
    }
    if let Some(id) = f.agent_id {
        w.and(
            "EXISTS (SELECT 1 FROM journal_lines jl WHERE jl.entry_id = je.id AND jl.agent_id = ?)",
            [id.into()],
        );
    }
    if let Some(q) = &f.q {
        w.and(
            "LOWER(je.memo) LIKE LOWER(?) ESCAPE '\\'",
            [like_pattern(q).into()],
        );
    }
    w
}

const COLUMNS: &str = "SELECT je.id, je.posted_at, je.memo, je.source, je.source_id, je.debit_fen, \
                       je.line_count, je.created_by_name, je.created_at";

fn summary(r: &sqlx::any::AnyRow) -> std::result::Result<EntrySummary, sqlx::Error> {
    let id: i64 = r.try_get("id")?;
    Ok(EntrySummary {
        id,
        entry_no: entry_no(id),
        posted_at: r.try_get("posted_at")?,
        memo: r.try_get("memo")?,
        source: r.try_get("source")?,
        source_id: r.try_get("source_id")?,
        total_fen: r.try_get("debit_fen")?,
        line_count: r.try_get("line_count")?,
        created_by_name: r.try_get("created_by_name")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A page of posted entries, newest first.
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    f: &EntryFilter,
    page: PageRequest,
) -> Result<(Vec<EntrySummary>, PageInfo)> {
    let w = where_clause(f);
    let (rows, info) = crate::db::fetch_page(
        db,
        COLUMNS,
        "FROM journal_entries je",
        &w,
        "je.posted_at DESC, je.id DESC",
        page,
    )
    .await?;
    Ok((
        rows.iter()
            .map(summary)
            .collect::<std::result::Result<_, _>>()?,
        info,
    ))
}

/// The lines of the matching entries, newest entry first, for exports.
pub async fn export_lines(
    db: &Db,
    f: &EntryFilter,
    limit: i64,
) -> Result<Vec<(EntrySummary, JournalLine)>> {
    let w = where_clause(f);
    let sql = format!(
        "{COLUMNS}, {LINE_COLUMNS} FROM journal_entries je JOIN journal_lines jl ON jl.entry_id = je.id \
         JOIN ledger_accounts la ON la.code = jl.account LEFT JOIN agents a ON a.id = jl.agent_id{} \
         ORDER BY je.posted_at DESC, je.id DESC, jl.id LIMIT {}",
        w.sql(),
        w.next(1)
    );
    let rows = w
        .bind(crate::db::dynamic(sql))
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((summary(r)?, line(r)?)))
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

const LINE_COLUMNS: &str = "jl.account, la.name_zh AS account_name_zh, la.name_en AS account_name_en, \
     jl.agent_id, a.code AS agent_code, a.name AS agent_name, jl.debit_fen AS line_debit, jl.credit_fen AS line_credit";

fn line(r: &sqlx::any::AnyRow) -> std::result::Result<JournalLine, sqlx::Error> {
    Ok(JournalLine {
        account: r.try_get("account")?,
        account_name_zh: r.try_get("account_name_zh")?,
        account_name_en: r.try_get("account_name_en")?,
        agent_id: r.try_get("agent_id")?,
        agent_code: r.try_get("agent_code")?,
        agent_name: r.try_get("agent_name")?,
        debit_fen: r.try_get("line_debit")?,
        credit_fen: r.try_get("line_credit")?,
    })
}

/// One posted entry.
pub async fn get(db: &Db, id: i64) -> Result<EntrySummary> {
    let row = sqlx::query(
        "SELECT je.id, je.posted_at, je.memo, je.source, je.source_id, je.debit_fen, je.line_count, \
         je.created_by_name, je.created_at FROM journal_entries je WHERE je.id = $1 AND je.posted = 1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(Error::NotFound)?;
    Ok(summary(&row)?)
}

/// Lines of an entry in the order written; a page of them (settlement
/// entries have a line per agent).
pub async fn lines(
    db: &Db,
    entry_id: i64,
    page: PageRequest,
) -> Result<(Vec<JournalLine>, PageInfo)> {
    let mut w = Where::new();
    w.and("jl.entry_id = ?", [entry_id.into()]);
    let (rows, info) = crate::db::fetch_page(
        db,
        &format!("SELECT {LINE_COLUMNS}"),
        "FROM journal_lines jl JOIN ledger_accounts la ON la.code = jl.account LEFT JOIN agents a ON a.id = jl.agent_id",
        &w,
        "jl.id",
        page,
    )
    .await?;
    Ok((
        rows.iter()
            .map(line)
            .collect::<std::result::Result<_, _>>()?,
        info,
    ))
}

pub async fn all_lines(db: &Db, entry_id: i64) -> Result<Vec<JournalLine>> {
    let rows = crate::db::dynamic(format!(
        "SELECT {LINE_COLUMNS} FROM journal_lines jl JOIN ledger_accounts la ON la.code = jl.account \
         LEFT JOIN agents a ON a.id = jl.agent_id WHERE jl.entry_id = $1 ORDER BY jl.id"
    ))
    .bind(entry_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(line)
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Sources seen, for the filter drop-down.
pub async fn sources(db: &Db) -> Result<Vec<String>> {
    sqlx::query("SELECT DISTINCT source FROM journal_entries ORDER BY source")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.try_get("source"))
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

// ---------------------------------------------------------------- manual entries

/// A manual entry as the form or the API sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ManualEntry {
    /// `YYYY-MM-DD`, Beijing time; today or earlier.
    pub date: String,
    pub memo: String,
    pub lines: Vec<ManualLine>,
}

/// One line: an account, the agent for per-agent accounts, and either a
/// debit or a credit (fen).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ManualLine {
    pub account: String,
    #[serde(default)]
    pub agent_code: Option<String>,
    #[serde(default)]
    pub debit_fen: Option<i64>,
    #[serde(default)]
    pub credit_fen: Option<i64>,
}

/// Why a manual entry was not written.
#[derive(Debug)]
pub enum ManualRefusal {
    /// Field errors (`date`, `memo`, `lines`, `lines.N`).
    Invalid(FieldErrors),
    /// The lines do not balance: debit and credit totals.
    Unbalanced { debit: Fen, credit: Fen },
}

/// Checks a manual entry and turns it into lines. `errors` may already hold
/// problems the form found (amounts that are not numbers); `rows` numbers
/// the lines as the form showed them (1-based).
pub async fn check_manual(
    db: &Db,
    input: &ManualEntry,
    rows: &[usize],
    mut errors: FieldErrors,
) -> Result<std::result::Result<(i64, Vec<EntryLine>), ManualRefusal>> {
    let now = now_ms();
    let today = weiops_core::time::parse_day_start(&weiops_core::time::format_date(now));
    let at = match weiops_core::time::parse_day_start(&input.date) {
        None => {
            errors.add("date", "finance.date_invalid");
            0
        }
        Some(start) if Some(start) > today => {
            errors.add("date", "finance.date_future");
            0
        }
        // Today's entries carry the time they were made; earlier ones
        // Beijing midnight of their day.
        Some(start) if Some(start) == today => now,
        Some(start) => start,
    };
    let memo = input.memo.trim();
    if memo.is_empty() {
        errors.add("memo", "field.required");
    } else if memo.chars().count() > 200 {
        errors.add("memo", "field.too_long");
    }
    if !MANUAL_LINES.contains(&input.lines.len()) {
        errors.add("lines", "finance.lines_count");
    }
    let chart = accounts(db).await?;
    let mut lines = Vec::new();
    for (i, l) in input.lines.iter().enumerate() {
        let field = format!("lines.{}", rows.get(i).copied().unwrap_or(i + 1));
        if errors.has(&field) {
            continue;
        }
        let Some(account) = chart.iter().find(|a| a.code == l.account.trim()) else {
            errors.add(&field, "finance.account_unknown");
            continue;
        };
        if !account.manual_allowed() {
            errors.add(&field, "finance.account_reserved");
            continue;
        }
        let code = l.agent_code.as_deref().map(str::trim).unwrap_or("");
        let agent_id = match (account.per_agent, code.is_empty()) {
            (true, true) => {
                errors.add(&field, "finance.agent_required");
                continue;
            }
            (false, false) => {
                errors.add(&field, "finance.agent_not_allowed");
                continue;
            }
            (false, true) => None,
            (true, false) => match crate::agents::store::find_by_code(db, code).await? {
                Some(a) => Some(a.id),
                None => {
                    errors.add(&field, "finance.agent_unknown");
                    continue;
                }
            },
        };
        let line = match (
            l.debit_fen.filter(|d| *d != 0),
            l.credit_fen.filter(|c| *c != 0),
        ) {
            (Some(d), None) if d > 0 => EntryLine::debit(&account.code, agent_id, Fen(d)),
            (None, Some(c)) if c > 0 => EntryLine::credit(&account.code, agent_id, Fen(c)),
            (Some(_), Some(_)) | (None, None) => {
                errors.add(&field, "finance.one_side");
                continue;
            }
            _ => {
                errors.add(&field, "finance.amount_invalid");
                continue;
            }
        };
        lines.push(line);
    }
    if !errors.is_empty() {
        return Ok(Err(ManualRefusal::Invalid(errors)));
    }
    match check_entry(&lines) {
        Ok(_) => Ok(Ok((at, lines))),
        Err(weiops_core::ledger::EntryError::Unbalanced { debit, credit }) => {
            Ok(Err(ManualRefusal::Unbalanced { debit, credit }))
        }
        Err(e) => Err(Error::BadRequest(e.key())),
    }
}

/// Writes a checked manual entry with its audit record, in one transaction.
/// A manual entry may not take an agent's wallet below zero.
#[tracing::instrument(skip_all)]
pub async fn post_manual(
    db: &Db,
    actor: &Actor,
    at: i64,
    memo: &str,
    lines: Vec<EntryLine>,
) -> Result<i64> {
    let after = serde_json::json!({
        "memo": memo.trim(),
        "lines": lines.iter().map(|l| serde_json::json!({
            "account": l.account, "agent_id": l.agent_id, "side": l.side, "fen": l.amount.0,
        })).collect::<Vec<_>>(),
    });
    let total = check_entry(&lines).map_err(|e| Error::BadRequest(e.key()))?;
    let mut tx = db.begin_write().await?;
    let id = ledger::post(
        &mut tx,
        db.engine,
        actor,
        NewEntry {
            at,
            memo: memo.trim().to_string(),
            source: "manual",
            source_id: String::new(),
            lines,
            guard_wallets: true,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("ledger.manual_entry", "journal_entry", id)
            .summary(format!("{} {} {}", entry_no(id), memo.trim(), total))
            .after(after),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}
