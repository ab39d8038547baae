//! Rules of the agent network (代理体系): agents.csv rows, the sponsor
//! forest, masking of personal data. See shared/spec/settlement.md.
//!
//! An import is checked as a whole before anything is stored: every row's
//! values ([`AgentColumns::parse`]), then the batch as a forest
//! ([`plan_forest`]: duplicate and existing ids, sponsors, cycles, depth).
//! Every problem is collected, not just the first, because a brand fixing a
//! million-row file wants one complete list, not one round trip per mistake.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::csv::header_index_any;
use crate::time::{parse_rfc3339_ms, parse_typed_ms};

/// An agent's status. The file format (agents.csv) only knows active/frozen;
/// `Terminated` exists in the system (清退) but is never read from a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentStatus {
    /// Earns rewards.
    Active,
    /// Earns nothing but still counts as a link in every chain.
    Frozen,
    /// 清退: removed from the network by the brand.
    Terminated,
}

impl std::fmt::Display for AgentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AgentStatus {
    pub const ALL: [AgentStatus; 3] = [
        AgentStatus::Active,
        AgentStatus::Frozen,
        AgentStatus::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Active => "active",
            AgentStatus::Frozen => "frozen",
            AgentStatus::Terminated => "terminated",
        }
    }

    /// Exactly `active`, `frozen` or `terminated`. No trimming and no case
    /// folding: like the spec's integers and timestamps, file values are
    /// exact, so what is stored is what was written.
    pub fn parse(s: &str) -> Option<AgentStatus> {
        AgentStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The statuses a file may carry: `active` or `frozen`. Termination is
    /// a decision taken in the system (it revokes the 授权书), never imported.
    pub fn parse_file_status(s: &str) -> Option<AgentStatus> {
        AgentStatus::parse(s).filter(|st| *st != AgentStatus::Terminated)
    }

    /// A status cell of an import: the spec's `active` / `frozen` (exact),
    /// or the words the staff export (`/agents/export`) writes in either
    /// language, so that every export imports back: 正常 / Active,
    /// 冻结 / Frozen. That export also lists terminated agents (已清退 /
    /// Terminated); they come back frozen, as the exchange-format export
    /// writes them: a frozen agent earns nothing and keeps its place in
    /// every chain, while termination itself (which revokes the 授权书)
    /// stays a decision taken in the system.
    pub fn parse_import_cell(s: &str) -> Option<AgentStatus> {
        if let Some(st) = AgentStatus::parse_file_status(s) {
            return Some(st);
        }
        match s.trim() {
            "正常" | "Active" => Some(AgentStatus::Active),
            "冻结" | "Frozen" | "已清退" | "Terminated" => Some(AgentStatus::Frozen),
            _ => None,
        }
    }
}

/// The columns of agents.csv, in the order exports write them.
pub const AGENT_COLUMNS: [&str; 8] = [
    "id",
    "name",
    "phone",
    "wechat",
    "level",
    "sponsor_id",
    "status",
    "joined_at",
];

/// The header names an import accepts for each of [`AGENT_COLUMNS`] (same
/// order): the spec's name first, then the headers the staff export
/// (`/agents/export`) writes in zh-CN and en (the `agents.*` labels in
/// locales/*.json; a test in tests/api/agents.rs keeps the two in step),
/// then a few names people commonly give these columns in a Chinese
/// spreadsheet. Exact after trimming, like the spec's names.
pub const AGENT_HEADERS: [&[&str]; 8] = [
    &["id", "代理编号", "Agent id", "编号"],
    &["name", "姓名", "Name"],
    &["phone", "手机号", "Phone", "手机", "手机号码"],
    &["wechat", "微信号", "WeChat id", "微信"],
    &["level", "等级", "Level", "代理等级"],
    &[
        "sponsor_id",
        "上级",
        "Sponsor",
        "推荐人",
        "上级编号",
        "推荐人编号",
    ],
    &["status", "状态", "Status"],
    &["joined_at", "加入时间", "Joined", "加入日期"],
];

/// Limits in characters (not bytes: a Chinese name is 3 bytes a character).
pub const MAX_ID_CHARS: usize = 64;
pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_PHONE_CHARS: usize = 32;
pub const MAX_WECHAT_CHARS: usize = 64;
/// Offending values are cut to this many characters in a [`Problem`], so a
/// stray megabyte in one cell cannot blow up the error report.
pub const MAX_VALUE_CHARS: usize = 100;

/// The deepest an agent may sit in the forest (a root has depth 0).
///
/// Every agent stores its materialised path, so a chain of n agents costs
/// O(n²) bytes: a million-deep chain would need terabytes of paths. Real
/// networks are a few dozen generations deep; anything near this limit is a
/// broken file (e.g. each row's sponsor set to the row above), which is
/// better refused than stored.
pub const MAX_DEPTH: i64 = 1000;

/// How many ids a cycle's description lists before it abbreviates: every
/// member gets its own [`Problem`] anyway, and repeating a million-member
/// listing on each of them would be quadratic.
const CYCLE_LISTED: usize = 10;

/// One valid row of agents.csv (or an .xlsx with the same columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRow {
    /// File line, header = 1.
    pub line: usize,
    /// External id, trimmed, non-empty.
    pub id: String,
    pub name: String,
    /// A mainland mobile number as [`crate::accounts::normalize_phone`]
    /// stores it (11 digits), or empty.
    pub phone: String,
    pub wechat: String,
    /// `1..=max_level`, 1 is the highest.
    pub level: u8,
    /// `None` when the cell is empty.
    pub sponsor_id: Option<String>,
    /// `Active` or `Frozen`.
    pub status: AgentStatus,
    /// Epoch milliseconds, UTC.
    pub joined_at_ms: i64,
}

/// What is wrong, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1 for header problems, 0 when not tied to one line.
    pub line: usize,
    /// The row's agent id when known, else "".
    pub id: String,
    /// Header name of the column ("level", "joined_at", ...), "" for the
    /// whole row.
    pub column: String,
    pub kind: ProblemKind,
    /// The offending raw value (cut to [`MAX_VALUE_CHARS`]); for
    /// `DuplicateId`, `Cycle` and `TooDeep` an explanation instead.
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A required header is absent (column = its name).
    MissingColumn,
    /// A required value is empty (id, name, level, status, joined_at).
    Empty,
    /// Second and later occurrences in the file; value names the first
    /// line ("first at line 3").
    DuplicateId,
    /// The id exists in the database already.
    AlreadyExists,
    /// Not ASCII digits, or outside `1..=max_level`.
    BadLevel,
    /// Not `active` / `frozen` (or 正常 / 冻结 …, see
    /// [`AgentStatus::parse_import_cell`]).
    BadStatus,
    /// Neither strict RFC 3339 nor a date as typed in Excel (see
    /// [`parse_joined_at_ms`]).
    BadTimestamp,
    /// Not a mainland mobile number (see
    /// [`crate::accounts::normalize_phone`]).
    BadPhone,
    /// A masked value (`张*`, `138****0001`): the file is an export made
    /// without the permission to see personal data.
    Masked,
    SelfSponsor,
    /// sponsor_id in neither the file nor the database.
    UnknownSponsor,
    /// One problem per agent on the cycle; value lists the cycle
    /// ("a → b → c → a", each arrow pointing to the sponsor).
    Cycle,
    /// A value longer than its limit (id 64 chars, name 64, phone 32,
    /// wechat 64).
    TooLong,
    /// The row would sit deeper than [`MAX_DEPTH`]. Reported on the first
    /// row of each branch that crosses the limit; the rows below it are not
    /// listed again.
    TooDeep,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 14] = [
        ProblemKind::MissingColumn,
        ProblemKind::Empty,
        ProblemKind::DuplicateId,
        ProblemKind::AlreadyExists,
        ProblemKind::BadLevel,
        ProblemKind::BadStatus,
        ProblemKind::BadTimestamp,
        ProblemKind::SelfSponsor,
        ProblemKind::UnknownSponsor,
        ProblemKind::Cycle,
        ProblemKind::TooLong,
        ProblemKind::TooDeep,
        ProblemKind::BadPhone,
        ProblemKind::Masked,
    ];

    /// The i18n key of the localised message.
    pub fn key(&self) -> &'static str {
        match self {
            ProblemKind::MissingColumn => "agents.import.missing_column",
            ProblemKind::Empty => "agents.import.empty",
            ProblemKind::DuplicateId => "agents.import.duplicate_id",
            ProblemKind::AlreadyExists => "agents.import.already_exists",
            ProblemKind::BadLevel => "agents.import.bad_level",
            ProblemKind::BadStatus => "agents.import.bad_status",
            ProblemKind::BadTimestamp => "agents.import.bad_timestamp",
            ProblemKind::SelfSponsor => "agents.import.self_sponsor",
            ProblemKind::UnknownSponsor => "agents.import.unknown_sponsor",
            ProblemKind::Cycle => "agents.import.cycle",
            ProblemKind::TooLong => "agents.import.too_long",
            ProblemKind::TooDeep => "agents.import.too_deep",
            ProblemKind::BadPhone => "agents.import.bad_phone",
            ProblemKind::Masked => "agents.import.masked",
        }
    }

    /// English wording for logs, the CLI and tests.
    fn english(self) -> &'static str {
        match self {
            ProblemKind::MissingColumn => "missing column",
            ProblemKind::Empty => "empty value",
            ProblemKind::DuplicateId => "duplicate id",
            ProblemKind::AlreadyExists => "already exists",
            ProblemKind::BadLevel => "bad level",
            ProblemKind::BadStatus => "bad status",
            ProblemKind::BadTimestamp => "bad timestamp",
            ProblemKind::SelfSponsor => "agent sponsors itself",
            ProblemKind::UnknownSponsor => "unknown sponsor",
            ProblemKind::Cycle => "sponsor cycle",
            ProblemKind::TooLong => "too long",
            ProblemKind::TooDeep => "too deep",
            ProblemKind::BadPhone => "not a mainland mobile number",
            ProblemKind::Masked => "masked value",
        }
    }

    /// Whether `value` explains (rather than quotes the offending cell).
    fn value_is_explanation(self) -> bool {
        matches!(
            self,
            ProblemKind::DuplicateId
                | ProblemKind::Cycle
                | ProblemKind::TooDeep
                | ProblemKind::MissingColumn
        )
    }
}

impl Problem {
    fn new(line: usize, id: &str, column: &str, kind: ProblemKind, value: &str) -> Problem {
        Problem {
            line,
            id: clip(id),
            column: column.to_string(),
            kind,
            value: clip(value),
        }
    }
}

/// `line 7 (id A12): level: bad level "0"`.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}", self.line)?;
        } else {
            f.write_str("file")?;
        }
        if !self.id.is_empty() {
            write!(f, " (id {})", self.id)?;
        }
        f.write_str(": ")?;
        if !self.column.is_empty() {
            write!(f, "{}: ", self.column)?;
        }
        f.write_str(self.kind.english())?;
        if self.kind == ProblemKind::TooLong
            && let Some(limit) = max_chars(&self.column)
        {
            write!(f, " (max {limit} characters)")?;
        }
        if !self.value.is_empty() {
            if self.kind.value_is_explanation() {
                write!(f, " ({})", self.value)?;
            } else {
                write!(f, " {:?}", self.value)?;
            }
        }
        Ok(())
    }
}

/// The first [`MAX_VALUE_CHARS`] characters of `s`.
fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => s[..cut].to_string(),
        None => s.to_string(),
    }
}

/// The spec's name of a column known by any of its [`AGENT_HEADERS`].
fn canonical(column: &str) -> Option<&'static str> {
    AGENT_HEADERS
        .iter()
        .position(|names| names.contains(&column))
        .map(|k| AGENT_COLUMNS[k])
}

/// The length limit of a text column (by any of its names), if it has one.
fn max_chars(column: &str) -> Option<usize> {
    match canonical(column)? {
        "id" | "sponsor_id" => Some(MAX_ID_CHARS),
        "name" => Some(MAX_NAME_CHARS),
        "phone" => Some(MAX_PHONE_CHARS),
        "wechat" => Some(MAX_WECHAT_CHARS),
        _ => None,
    }
}

/// A level as the spec writes integers: ASCII digits only (no sign, no
/// spaces, no decimal point; leading zeros allowed), within `1..=max_level`.
pub fn parse_level(raw: &str, max_level: u8) -> Option<u8> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Leading zeros are allowed, so "0003" is 3; after them, more than three
    // digits cannot be a u8 and must not overflow the parse either.
    let significant = raw.trim_start_matches('0');
    if significant.len() > 3 {
        return None;
    }
    let value: u16 = if significant.is_empty() {
        0
    } else {
        significant.parse().ok()?
    };
    let value = u8::try_from(value).ok()?;
    (1..=max_level).contains(&value).then_some(value)
}

/// The column layout of an agents file, found by header name (any of
/// [`AGENT_HEADERS`]; extra columns ignored, order free, an optional UTF-8
/// BOM on the first header cell stripped, names matched exactly after
/// trimming).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentColumns {
    /// Cell index of each of [`AGENT_COLUMNS`], in that order.
    index: [usize; 8],
    /// The header of each column as the file writes it: problems name the
    /// column the way the person who made the file sees it.
    names: [String; 8],
}

/// Positions within [`AgentColumns::index`].
const ID: usize = 0;
const NAME: usize = 1;
const PHONE: usize = 2;
const WECHAT: usize = 3;
const LEVEL: usize = 4;
const SPONSOR: usize = 5;
const STATUS: usize = 6;
const JOINED: usize = 7;

/// The levels an import may name: numbers `1..=max`, or a level's name as
/// the staff export writes it (`等级` holds the name there, e.g. 联创).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportLevels {
    pub max: u8,
    /// (name, level) of every configured level.
    pub names: Vec<(String, u8)>,
}

impl ImportLevels {
    /// Levels `1..=max` known by number only.
    pub fn numbered(max: u8) -> ImportLevels {
        ImportLevels {
            max,
            names: Vec::new(),
        }
    }

    /// A level cell: the spec's digits ([`parse_level`]) or, failing that,
    /// a configured level's name (trimmed).
    pub fn parse(&self, raw: &str) -> Option<u8> {
        parse_level(raw, self.max).or_else(|| {
            let raw = raw.trim();
            self.names
                .iter()
                .find(|(name, level)| !name.is_empty() && name == raw && *level <= self.max)
                .map(|(_, level)| *level)
        })
    }
}

impl AgentColumns {
    /// Err with one MissingColumn problem per missing header (its value
    /// lists the names it may have). When a column appears twice, the
    /// first (leftmost) is used.
    pub fn from_header(header: &[&str]) -> Result<AgentColumns, Vec<Problem>> {
        let index = header_index_any(header, &AGENT_HEADERS);
        let problems: Vec<Problem> = AGENT_COLUMNS
            .iter()
            .zip(index)
            .zip(AGENT_HEADERS)
            .filter(|((_, i), _)| *i == usize::MAX)
            .map(|((name, _), names)| {
                Problem::new(1, "", name, ProblemKind::MissingColumn, &names.join(" / "))
            })
            .collect();
        if !problems.is_empty() {
            return Err(problems);
        }
        let names = std::array::from_fn(|k| {
            let cell = header[index[k]];
            let cell = cell.strip_prefix('\u{feff}').unwrap_or(cell);
            cell.trim().to_string()
        });
        Ok(AgentColumns { index, names })
    }

    /// The header this file gives the column the spec calls `column`
    /// (`id` → `代理编号` in a Chinese file); `column` itself when unknown.
    pub fn header_of<'a>(&'a self, column: &'a str) -> &'a str {
        AGENT_COLUMNS
            .iter()
            .position(|c| *c == column)
            .map_or(column, |k| self.names[k].as_str())
    }

    /// The cell index of the `joined_at` column (an .xlsx reader turns
    /// date cells there into text [`parse_joined_at_ms`] reads).
    pub fn joined_at_index(&self) -> usize {
        self.index[JOINED]
    }

    /// [`AgentColumns::parse_with`] for levels known by number only.
    pub fn parse(
        &self,
        line: usize,
        cells: &[&str],
        max_level: u8,
    ) -> Result<AgentRow, Vec<Problem>> {
        self.parse_with(line, cells, &ImportLevels::numbered(max_level))
    }

    /// Parse one record (cells as &str). Returns every problem of the row
    /// (not just the first). A short record (fewer cells than the header)
    /// reads the missing cells as empty.
    ///
    /// Text values (id, name, wechat, sponsor_id) are trimmed; a phone is
    /// normalised to its 11 digits. The spec's level digits, status words
    /// and RFC 3339 timestamps are exact, so a stray space there is
    /// reported rather than guessed away; beside them a level's name, the
    /// status words of the staff export and dates as typed in Excel are
    /// read too (see [`ImportLevels::parse`],
    /// [`AgentStatus::parse_import_cell`], [`parse_joined_at_ms`]), so a
    /// Chinese spreadsheet and every export import back.
    pub fn parse_with(
        &self,
        line: usize,
        cells: &[&str],
        levels: &ImportLevels,
    ) -> Result<AgentRow, Vec<Problem>> {
        let cell = |k: usize| cells.get(self.index[k]).copied().unwrap_or("");
        let id = cell(ID).trim();
        let mut problems = Vec::new();
        let mut problem = |k: usize, kind: ProblemKind, value: &str| {
            problems.push(Problem::new(line, id, &self.names[k], kind, value));
        };

        // A text value: trimmed, within its limit, present when required,
        // and not masked (`张*`, `138****0001`, `zh******wx`: an export
        // made without the permission to see personal data).
        let mut text = |k: usize, required: bool| -> String {
            let value = cell(k).trim();
            let limit = max_chars(AGENT_COLUMNS[k]).expect("text columns have limits");
            if required && value.is_empty() {
                problem(k, ProblemKind::Empty, "");
            } else if value.chars().count() > limit {
                problem(k, ProblemKind::TooLong, value);
            } else if matches!(k, NAME | PHONE | WECHAT) && value.contains('*') {
                problem(k, ProblemKind::Masked, value);
            } else if k == PHONE
                && !value.is_empty()
                && crate::accounts::normalize_phone(value).is_err()
            {
                problem(k, ProblemKind::BadPhone, value);
            }
            value.to_string()
        };
        let id_owned = text(ID, true);
        let name = text(NAME, true);
        let phone = text(PHONE, false);
        let wechat = text(WECHAT, false);
        let sponsor = text(SPONSOR, false);
        let phone = crate::accounts::normalize_phone(&phone)
            .ok()
            .flatten()
            .unwrap_or_default();

        // A value that is parsed: empty (even if only spaces) or read.
        let mut exact = |k: usize, parsed: bool, bad: ProblemKind| {
            let raw = cell(k);
            if raw.trim().is_empty() {
                problem(k, ProblemKind::Empty, "");
            } else if !parsed {
                problem(k, bad, raw);
            }
        };
        let level = levels.parse(cell(LEVEL));
        exact(LEVEL, level.is_some(), ProblemKind::BadLevel);
        let status = AgentStatus::parse_import_cell(cell(STATUS));
        exact(STATUS, status.is_some(), ProblemKind::BadStatus);
        let joined_at_ms = parse_joined_at_ms(cell(JOINED));
        exact(JOINED, joined_at_ms.is_some(), ProblemKind::BadTimestamp);

        match (level, status, joined_at_ms) {
            (Some(level), Some(status), Some(joined_at_ms)) if problems.is_empty() => {
                Ok(AgentRow {
                    line,
                    id: id_owned,
                    name,
                    phone,
                    wechat,
                    level,
                    sponsor_id: (!sponsor.is_empty()).then_some(sponsor),
                    status,
                    joined_at_ms,
                })
            }
            _ => Err(problems),
        }
    }
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

/// `joined_at` of an agents import, in epoch ms.
///
/// Strict RFC 3339 as the spec writes it ([`parse_rfc3339_ms`]): any text
/// with a `T`, a `Z` or an offset is read that way and nothing else, so
/// `2026-11-30 14:05:09+08:00` stays refused. Besides that, a date as
/// people type it in Excel, read as Beijing time (Asia/Shanghai), the
/// company's clock: `2026-11-06`, `2026/11/6`, `2026.11.6` or
/// `2026年11月6日`, optionally followed by a time `10:00` or `10:00:05`
/// (after a space). Surrounding spaces are ignored on this path. A date
/// alone is Beijing midnight.
///
/// Only the agents import is this lenient: `joined_at` is a fact about a
/// person that a brand types by hand, and a day is all it usually knows.
/// orders.csv keeps strict RFC 3339 (`paid_at` with an offset), as the spec
/// requires: it is written by shop systems, and the instant decides which
/// settlement month an order falls in, where a guessed zone or a missing
/// time would move money between months.
pub fn parse_joined_at_ms(s: &str) -> Option<i64> {
    if s.contains(['T', 't', 'Z', 'z', '+']) {
        return parse_rfc3339_ms(s);
    }
    parse_typed_ms(s)
}

// ---------------------------------------------------------------------------
// The sponsor forest
// ---------------------------------------------------------------------------

/// An agent already in the database, as the import sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingAgent {
    pub id: i64,
    /// Materialised path as [`plan_forest`] writes it: `/12/40/`, own id
    /// last, with the trailing slash.
    pub path: String,
    pub depth: i64,
}

/// Where a new agent goes in the forest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Index into the rows slice.
    pub row: usize,
    /// The database id assigned (next_id, next_id+1, ... in row order).
    pub id: i64,
    /// Database id of the sponsor (new or existing).
    pub sponsor: Option<i64>,
    /// Materialised path of ids from the root down to and including itself:
    /// `/12/40/41/`.
    pub path: String,
    /// 0 for a root.
    pub depth: i64,
    /// Number of descendants among the new rows (all generations).
    pub team_size: i64,
    /// Number of direct children among the new rows.
    pub direct_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForestPlan {
    /// In an order where every sponsor comes before its children (parents
    /// first), so rows can be inserted in this order under a foreign key.
    pub placed: Vec<Placed>,
    /// Existing agents gaining descendants: (existing id, added team
    /// members, added direct children), sorted by id. Every existing
    /// ancestor of an attach point gains team members; only the attach
    /// point itself gains direct children.
    pub existing_growth: Vec<(i64, i64, i64)>,
}

/// How a row hangs in the forest while it is being checked.
#[derive(Clone, Copy)]
enum Link<'a> {
    /// No sponsor.
    Root,
    /// Sponsored by another row of the batch (its first occurrence).
    Row(usize),
    /// Sponsored by an agent already stored.
    Existing(&'a ExistingAgent),
    /// Sponsor is itself or unknown: already reported, not in the forest.
    Broken,
}

/// The ids on an existing path other than the agent's own: its ancestors.
fn existing_ancestors(agent: &ExistingAgent) -> impl Iterator<Item = i64> + '_ {
    // Paths are written by this module, so an unparsable part means a
    // corrupt row; skipping it keeps the import from failing on
    // something the file did not cause.
    agent
        .path
        .split('/')
        .filter_map(|part| part.parse::<i64>().ok())
        .filter(move |id| *id != agent.id)
}

/// "a → b → c → a", starting from the member earliest in the file, each
/// arrow pointing to the sponsor. Long cycles are abbreviated (see
/// [`CYCLE_LISTED`]).
fn describe_cycle(rows: &[AgentRow], cycle: &[usize]) -> String {
    let mut out = String::new();
    for &m in cycle.iter().take(CYCLE_LISTED) {
        out.push_str(&clip(&rows[m].id));
        out.push_str(" → ");
    }
    if cycle.len() <= CYCLE_LISTED {
        out.push_str(&clip(&rows[cycle[0]].id));
    } else {
        let _ = write!(out, "… ({} agents)", cycle.len());
    }
    out
}

/// Validates and places a batch of new agents: duplicate ids within the
/// batch, ids already existing (`existing` holds every agent already in the
/// database keyed by external id), self-sponsoring, unknown sponsors, cycles
/// (every agent on each cycle, naming the cycle) and depth beyond
/// [`MAX_DEPTH`]. All problems found are returned, sorted by line.
///
/// New agents get the ids `next_id + row index`. Everything is iterative
/// and linear (hash maps, an array-based child list, one breadth-first
/// pass), because files hold a million rows and a broken file may chain
/// them all: recursion would overflow the stack.
pub fn plan_forest(
    rows: &[AgentRow],
    existing: &HashMap<String, ExistingAgent>,
    next_id: i64,
) -> Result<ForestPlan, Vec<Problem>> {
    let n = rows.len();
    let mut problems = Vec::new();

    // Ids: the first occurrence is the agent; later ones are the mistakes.
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(n);
    for (i, row) in rows.iter().enumerate() {
        match first.entry(row.id.as_str()) {
            Entry::Occupied(e) => problems.push(Problem::new(
                row.line,
                &row.id,
                "id",
                ProblemKind::DuplicateId,
                &format!("first at line {}", rows[*e.get()].line),
            )),
            Entry::Vacant(e) => {
                e.insert(i);
            }
        }
        if existing.contains_key(&row.id) {
            problems.push(Problem::new(
                row.line,
                &row.id,
                "id",
                ProblemKind::AlreadyExists,
                &row.id,
            ));
        }
    }

    // Sponsors. A sponsor id found in the file wins over the database: if
    // it is in both, the row is already reported as AlreadyExists.
    let links: Vec<Link> = rows
        .iter()
        .map(|row| {
            let Some(sponsor) = row.sponsor_id.as_deref() else {
                return Link::Root;
            };
            let broken = |kind| Problem::new(row.line, &row.id, "sponsor_id", kind, sponsor);
            if sponsor == row.id {
                problems.push(broken(ProblemKind::SelfSponsor));
                Link::Broken
            } else if let Some(&p) = first.get(sponsor) {
                Link::Row(p)
            } else if let Some(agent) = existing.get(sponsor) {
                Link::Existing(agent)
            } else {
                problems.push(broken(ProblemKind::UnknownSponsor));
                Link::Broken
            }
        })
        .collect();
    drop(first);

    // Cycles. Every row has at most one sponsor, so following sponsors from
    // any row either ends (a root, an existing agent, a checked row) or
    // comes back to a row of the same walk: that part of the walk is a
    // cycle. Each row is walked once: O(n).
    const NEW: u8 = 0;
    const WALKING: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; n];
    let mut walk: Vec<usize> = Vec::new();
    for start in 0..n {
        let mut v = start;
        while state[v] == NEW {
            state[v] = WALKING;
            walk.push(v);
            let Link::Row(p) = links[v] else { break };
            if state[p] == WALKING {
                let from = walk
                    .iter()
                    .rposition(|&w| w == p)
                    .expect("p is on the walk");
                let cycle = &walk[from..];
                let earliest = (0..cycle.len())
                    .min_by_key(|&k| cycle[k])
                    .expect("a cycle has members");
                let mut ordered = cycle[earliest..].to_vec();
                ordered.extend_from_slice(&cycle[..earliest]);
                let description = describe_cycle(rows, &ordered);
                for &m in &ordered {
                    problems.push(Problem {
                        line: rows[m].line,
                        id: clip(&rows[m].id),
                        column: "sponsor_id".into(),
                        kind: ProblemKind::Cycle,
                        value: description.clone(),
                    });
                }
                break;
            }
            v = p;
        }
        for &w in &walk {
            state[w] = DONE;
        }
        walk.clear();
    }
    drop(state);

    // Children as one flat array (compressed sparse rows): one allocation
    // instead of a million small vectors.
    let mut child_start = vec![0usize; n + 1];
    for link in &links {
        if let Link::Row(p) = *link {
            child_start[p + 1] += 1;
        }
    }
    for i in 0..n {
        child_start[i + 1] += child_start[i];
    }
    let mut fill = child_start.clone();
    let mut children = vec![0usize; child_start[n]];
    for (i, link) in links.iter().enumerate() {
        if let Link::Row(p) = *link {
            children[fill[p]] = i;
            fill[p] += 1;
        }
    }
    drop(fill);

    // Breadth first from the roots (no sponsor, or an existing one): the
    // visiting order is parents-first, and depths come out on the way.
    // Rows on a cycle or below a broken link are never reached.
    const UNREACHED: i64 = -1;
    let mut depth = vec![UNREACHED; n];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for (i, link) in links.iter().enumerate() {
        match *link {
            Link::Root => depth[i] = 0,
            Link::Existing(agent) => depth[i] = agent.depth.saturating_add(1),
            Link::Row(_) | Link::Broken => continue,
        }
        order.push(i);
    }
    let mut head = 0;
    while head < order.len() {
        let v = order[head];
        head += 1;
        for &c in &children[child_start[v]..child_start[v + 1]] {
            depth[c] = depth[v] + 1;
            order.push(c);
        }
    }
    for &v in &order {
        // Only where a branch of the batch crosses the limit: the rows below
        // it are too deep for the same reason and would only bury the real
        // cause. Below a stored agent that is already too deep (older data),
        // the first new row is the one reported.
        let parent_reported = matches!(links[v], Link::Row(p) if depth[p] > MAX_DEPTH);
        if depth[v] > MAX_DEPTH && !parent_reported {
            problems.push(Problem::new(
                rows[v].line,
                &rows[v].id,
                "sponsor_id",
                ProblemKind::TooDeep,
                &format!("depth {}, limit {MAX_DEPTH}", depth[v]),
            ));
        }
    }

    if !problems.is_empty() {
        // Stable: within a line, id problems come before sponsor problems.
        problems.sort_by_key(|p| p.line);
        return Err(problems);
    }
    debug_assert_eq!(order.len(), n, "without problems every row is reached");

    let db_id = |row: usize| next_id + row as i64;

    // Team sizes bottom-up: children come after parents in `order`.
    let mut team = vec![0i64; n];
    let mut direct = vec![0i64; n];
    let mut attach: HashMap<i64, (i64, i64, &ExistingAgent)> = HashMap::new();
    for &v in order.iter().rev() {
        match links[v] {
            Link::Row(p) => {
                team[p] += team[v] + 1;
                direct[p] += 1;
            }
            Link::Existing(agent) => {
                let e = attach.entry(agent.id).or_insert((0, 0, agent));
                e.0 += team[v] + 1;
                e.1 += 1;
            }
            Link::Root | Link::Broken => {}
        }
    }
    // Up the existing paths once per attach point, not once per row.
    let mut growth: HashMap<i64, (i64, i64)> = HashMap::new();
    for (&id, &(added, direct_added, agent)) in &attach {
        let g = growth.entry(id).or_default();
        g.0 += added;
        g.1 += direct_added;
        for ancestor in existing_ancestors(agent) {
            growth.entry(ancestor).or_default().0 += added;
        }
    }
    let mut existing_growth: Vec<(i64, i64, i64)> =
        growth.into_iter().map(|(id, (t, d))| (id, t, d)).collect();
    existing_growth.sort_unstable();

    // Paths top-down, each built from its parent's finished path.
    let mut paths = vec![String::new(); n];
    for &v in &order {
        let parent_path: &str = match links[v] {
            Link::Row(p) => &paths[p],
            Link::Existing(agent) => &agent.path,
            Link::Root | Link::Broken => "/",
        };
        let mut path = String::with_capacity(parent_path.len() + 21);
        path.push_str(parent_path);
        let _ = write!(path, "{}/", db_id(v));
        paths[v] = path;
    }

    let placed = order
        .iter()
        .map(|&v| Placed {
            row: v,
            id: db_id(v),
            sponsor: match links[v] {
                Link::Row(p) => Some(db_id(p)),
                Link::Existing(agent) => Some(agent.id),
                Link::Root | Link::Broken => None,
            },
            path: std::mem::take(&mut paths[v]),
            depth: depth[v],
            team_size: team[v],
            direct_count: direct[v],
        })
        .collect();
    Ok(ForestPlan {
        placed,
        existing_growth,
    })
}

// ---------------------------------------------------------------------------
// Masking
// ---------------------------------------------------------------------------

/// `keep_start` characters, `stars` stars, `keep_end` characters.
fn masked(chars: &[char], keep_start: usize, stars: usize, keep_end: usize) -> String {
    let mut out: String = chars[..keep_start].iter().collect();
    out.extend(std::iter::repeat_n('*', stars));
    out.extend(&chars[chars.len() - keep_end..]);
    out
}

/// 张三 → 张*, 欧阳娜娜 → 欧***, A → *, "" → "". Masks personal names for
/// staff without PII rights and the public. A one-character name is masked
/// entirely: showing its only character would show the whole name.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        n => masked(&chars, 1, n - 1, 0),
    }
}

/// 13812345678 → 138****5678; other strings: the first 3 and last 4
/// characters kept if at least 8 long, else all but the first masked.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    match chars.len() {
        0 => String::new(),
        n if n >= 8 => masked(&chars, 3, n - 7, 4),
        n => masked(&chars, 1, n - 1, 0),
    }
}

/// wxid_abc123 → wx******23: from 8 characters on, the first 2 and last 2
/// are kept around always 6 stars, so the mask does not tell the length and
/// at least 4 characters stay hidden. Shorter ids keep only the first
/// character (abc → a**).
pub fn mask_wechat(wechat: &str) -> String {
    let chars: Vec<char> = wechat.chars().collect();
    match chars.len() {
        0 => String::new(),
        n if n >= 8 => masked(&chars, 2, 6, 2),
        n => masked(&chars, 1, n - 1, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::excel_serial_text;
    use std::time::Instant;

    // -- helpers ----------------------------------------------------------

    fn row(line: usize, id: &str, sponsor: Option<&str>) -> AgentRow {
        AgentRow {
            line,
            id: id.into(),
            name: format!("Agent {id}"),
            phone: String::new(),
            wechat: String::new(),
            level: 3,
            sponsor_id: sponsor.map(Into::into),
            status: AgentStatus::Active,
            joined_at_ms: 0,
        }
    }

    /// Rows from (id, sponsor) pairs, lines 2, 3, ...
    fn rows(spec: &[(&str, Option<&str>)]) -> Vec<AgentRow> {
        spec.iter()
            .enumerate()
            .map(|(i, (id, s))| row(i + 2, id, *s))
            .collect()
    }

    fn existing(spec: &[(&str, i64, &str, i64)]) -> HashMap<String, ExistingAgent> {
        spec.iter()
            .map(|(code, id, path, depth)| {
                (
                    code.to_string(),
                    ExistingAgent {
                        id: *id,
                        path: path.to_string(),
                        depth: *depth,
                    },
                )
            })
            .collect()
    }

    fn placed_by_row(plan: &ForestPlan) -> HashMap<usize, &Placed> {
        plan.placed.iter().map(|p| (p.row, p)).collect()
    }

    fn kinds(problems: &[Problem]) -> Vec<(usize, ProblemKind)> {
        problems.iter().map(|p| (p.line, p.kind)).collect()
    }

    fn columns() -> AgentColumns {
        AgentColumns::from_header(&AGENT_COLUMNS).unwrap()
    }

    const GOOD: [&str; 8] = [
        "A1",
        "张三",
        "13812345678",
        "wxid_abc123",
        "2",
        "",
        "active",
        "2026-11-30T14:05:09+08:00",
    ];

    /// SplitMix64: deterministic test data without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// A chain: row i is sponsored by row i - 1. With `reversed`, the file
    /// lists the deepest agent first, so walks run against file order.
    fn chain(n: usize, reversed: bool) -> Vec<AgentRow> {
        let mut out: Vec<AgentRow> = (0..n)
            .map(|i| {
                let sponsor = (i > 0).then(|| format!("C{}", i - 1));
                row(0, &format!("C{i}"), sponsor.as_deref())
            })
            .collect();
        if reversed {
            out.reverse();
        }
        for (i, r) in out.iter_mut().enumerate() {
            r.line = i + 2;
        }
        out
    }

    /// A random tree in shuffled file order, at least `spine` deep: a chain
    /// of `spine` agents, then each agent sponsored by a uniformly random
    /// earlier one.
    fn random_tree(n: usize, spine: usize, seed: u64) -> Vec<AgentRow> {
        let mut rng = Rng(seed);
        let parent: Vec<Option<usize>> = (0..n)
            .map(|i| match i {
                0 => None,
                i if i < spine => Some(i - 1),
                i => Some(rng.below(i)),
            })
            .collect();
        let mut position: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            position.swap(i, rng.below(i + 1));
        }
        let mut out = vec![row(0, "", None); n];
        for (agent, &pos) in position.iter().enumerate() {
            let sponsor = parent[agent].map(|p| format!("T{p}"));
            out[pos] = row(pos + 2, &format!("T{agent}"), sponsor.as_deref());
        }
        out
    }

    /// Every new sponsor (ids from `next_id` on) is placed before its
    /// children; ids are `next_id + row`.
    fn assert_parents_first(plan: &ForestPlan, n: usize, next_id: i64) {
        assert_eq!(plan.placed.len(), n);
        let mut seen = std::collections::HashSet::with_capacity(n);
        for p in &plan.placed {
            assert_eq!(p.id, next_id + p.row as i64);
            if let Some(s) = p.sponsor
                && s >= next_id
            {
                assert!(seen.contains(&s), "sponsor {s} placed before {}", p.id);
            }
            seen.insert(p.id);
        }
    }

    // -- status, columns, rows --------------------------------------------

    #[test]
    fn status_round_trips_and_files_know_two() {
        for s in AgentStatus::ALL {
            assert_eq!(AgentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            AgentStatus::parse_file_status("frozen"),
            Some(AgentStatus::Frozen)
        );
        assert_eq!(AgentStatus::parse_file_status("terminated"), None);
        assert_eq!(AgentStatus::parse("Active"), None);
        assert_eq!(AgentStatus::parse(" active"), None);
    }

    #[test]
    fn header_found_by_name_in_any_order_with_bom_and_extras() {
        let header = [
            "\u{feff}joined_at",
            "note",
            " status ",
            "sponsor_id",
            "level",
            "wechat",
            "phone",
            "name",
            "id",
        ];
        let cols = AgentColumns::from_header(&header).unwrap();
        let cells = [
            "2026-01-01T00:00:00Z",
            "ignored",
            "frozen",
            " A0 ",
            "1",
            "wx",
            "",
            " 李四 ",
            " B7 ",
        ];
        let r = cols.parse(5, &cells, 5).unwrap();
        assert_eq!(r.line, 5);
        assert_eq!(r.id, "B7");
        assert_eq!(r.name, "李四");
        assert_eq!(r.sponsor_id.as_deref(), Some("A0"));
        assert_eq!(r.status, AgentStatus::Frozen);
        assert_eq!(r.level, 1);
        assert_eq!(r.joined_at_ms, 1_767_225_600_000);
    }

    #[test]
    fn every_missing_header_is_reported() {
        let problems = AgentColumns::from_header(&["id", "NAME", "level", "status"]).unwrap_err();
        let missing: Vec<&str> = problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(
            missing,
            ["name", "phone", "wechat", "sponsor_id", "joined_at"]
        );
        assert!(
            problems
                .iter()
                .all(|p| p.line == 1 && p.kind == ProblemKind::MissingColumn)
        );
        assert_eq!(AgentColumns::from_header(&[]).unwrap_err().len(), 8);
        // A BOM is stripped only where a file starts.
        assert!(AgentColumns::from_header(&["name", "\u{feff}id"]).is_err());
    }

    #[test]
    fn a_good_row_parses() {
        let r = columns().parse(2, &GOOD, 5).unwrap();
        assert_eq!(
            r,
            AgentRow {
                line: 2,
                id: "A1".into(),
                name: "张三".into(),
                phone: "13812345678".into(),
                wechat: "wxid_abc123".into(),
                level: 2,
                sponsor_id: None,
                status: AgentStatus::Active,
                joined_at_ms: 1_796_018_709_000,
            }
        );
    }

    #[test]
    fn a_short_record_reads_missing_cells_as_empty() {
        let problems = columns().parse(4, &["A1", "张三"], 5).unwrap_err();
        let columns: Vec<&str> = problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(columns, ["level", "status", "joined_at"]);
        assert!(problems.iter().all(|p| p.kind == ProblemKind::Empty));
    }

    #[test]
    fn every_problem_of_a_row_is_reported() {
        let long_name = "名".repeat(65);
        let cells = [
            "A12",
            long_name.as_str(),
            "123456789012345678901234567890123",
            "",
            "0",
            "",
            "paused",
            "2026-11-30 14:05:09+08:00",
        ];
        let problems = columns().parse(7, &cells, 5).unwrap_err();
        assert_eq!(
            problems
                .iter()
                .map(|p| (p.column.as_str(), p.kind))
                .collect::<Vec<_>>(),
            [
                ("name", ProblemKind::TooLong),
                ("phone", ProblemKind::TooLong),
                ("level", ProblemKind::BadLevel),
                ("status", ProblemKind::BadStatus),
                ("joined_at", ProblemKind::BadTimestamp),
            ]
        );
        assert!(problems.iter().all(|p| p.line == 7 && p.id == "A12"));
        assert_eq!(
            problems[2].to_string(),
            r#"line 7 (id A12): level: bad level "0""#
        );
    }

    #[test]
    fn required_values_must_not_be_empty() {
        let cells = ["  ", " ", "", "", " ", "", "", "\t"];
        let problems = columns().parse(3, &cells, 5).unwrap_err();
        assert_eq!(
            problems
                .iter()
                .map(|p| (p.column.as_str(), p.kind))
                .collect::<Vec<_>>(),
            [
                ("id", ProblemKind::Empty),
                ("name", ProblemKind::Empty),
                ("level", ProblemKind::Empty),
                ("status", ProblemKind::Empty),
                ("joined_at", ProblemKind::Empty),
            ]
        );
        assert!(
            problems
                .iter()
                .all(|p| p.id.is_empty() && p.value.is_empty())
        );
        assert_eq!(problems[0].to_string(), "line 3: id: empty value");
    }

    #[test]
    fn levels_are_plain_digits_within_range() {
        for (raw, max, want) in [
            ("1", 5, Some(1)),
            ("5", 5, Some(5)),
            ("005", 5, Some(5)),
            ("0000000000000000000003", 9, Some(3)),
            ("9", 9, Some(9)),
            ("0", 5, None),
            ("6", 5, None),
            ("256", 9, None),
            ("99999999999999999999999", 9, None),
            ("+1", 5, None),
            ("-1", 5, None),
            (" 1", 5, None),
            ("1 ", 5, None),
            ("1.0", 5, None),
            ("１", 5, None), // full-width digit
            ("", 5, None),
            ("1", 0, None),
        ] {
            assert_eq!(parse_level(raw, max), want, "{raw:?} max {max}");
        }
    }

    #[test]
    fn text_limits_count_characters() {
        let id64 = "i".repeat(64);
        let name64 = "名".repeat(64);
        // 32 characters that still make a mobile number once the dashes go.
        let phone32 = format!("+86{}1-3-9-1-2-3-4-5-6-7-8", "-".repeat(8));
        assert_eq!(phone32.chars().count(), 32);
        let wechat64 = "w".repeat(64);
        let mut cells = GOOD;
        cells[0] = &id64;
        cells[1] = &name64;
        cells[2] = &phone32;
        cells[3] = &wechat64;
        cells[5] = &id64; // sponsor ids share the id limit
        assert!(columns().parse(2, &cells, 5).is_ok());

        let id65 = "i".repeat(65);
        let name65 = "名".repeat(65);
        let phone33 = "1".repeat(33);
        let wechat65 = "w".repeat(65);
        let sponsor500 = "s".repeat(500);
        cells[0] = &id65;
        cells[1] = &name65;
        cells[2] = &phone33;
        cells[3] = &wechat65;
        cells[5] = &sponsor500;
        let problems = columns().parse(2, &cells, 5).unwrap_err();
        assert_eq!(
            problems
                .iter()
                .map(|p| (p.column.as_str(), p.kind))
                .collect::<Vec<_>>(),
            [
                ("id", ProblemKind::TooLong),
                ("name", ProblemKind::TooLong),
                ("phone", ProblemKind::TooLong),
                ("wechat", ProblemKind::TooLong),
                ("sponsor_id", ProblemKind::TooLong),
            ]
        );
        // Values are cut to 100 characters, not bytes.
        assert_eq!(problems[4].value.chars().count(), MAX_VALUE_CHARS);
        assert_eq!(problems[1].value, name65);
        assert!(
            problems[2]
                .to_string()
                .contains("phone: too long (max 32 characters)")
        );
    }

    fn header(names: &[&str]) -> AgentColumns {
        AgentColumns::from_header(names).unwrap()
    }

    #[test]
    fn headers_in_chinese_and_as_the_staff_export_writes_them() {
        let zh = [
            "\u{feff}代理编号",
            "姓名",
            "手机号",
            "微信号",
            "等级",
            "上级",
            "地区",
            "状态",
            "团队人数",
            "加入时间",
        ];
        let en = [
            "Agent id",
            "Name",
            "Phone",
            "WeChat id",
            "Level",
            "Sponsor",
            "Region",
            "Status",
            "Team size",
            "Joined",
        ];
        let levels = ImportLevels {
            max: 5,
            names: vec![("联创".into(), 1), ("总代".into(), 2)],
        };
        for (names, status) in [(zh, "冻结"), (en, "Frozen")] {
            let cols = header(&names);
            let cells = [
                "B7",
                "李四",
                "139-1234-5678",
                "lisi",
                "总代",
                "A1",
                "广东深圳",
                status,
                "3",
                "2026-11-06 10:00",
            ];
            let r = cols.parse_with(4, &cells, &levels).unwrap();
            assert_eq!(
                (r.id.as_str(), r.name.as_str(), r.phone.as_str(), r.level),
                ("B7", "李四", "13912345678", 2)
            );
            assert_eq!(r.sponsor_id.as_deref(), Some("A1"));
            assert_eq!(r.status, AgentStatus::Frozen);
            // 2026-11-06 10:00 Beijing = 02:00 UTC.
            assert_eq!(
                r.joined_at_ms,
                parse_rfc3339_ms("2026-11-06T02:00:00Z").unwrap()
            );
        }
        // Problems name the column as the file does.
        let cols = header(&zh);
        assert_eq!(cols.header_of("sponsor_id"), "上级");
        assert_eq!(cols.header_of(""), "");
        let mut cells = ["B7", "李四", "1391111", "", "7", "", "", "休眠", "", "昨天"];
        let problems = cols.parse_with(3, &cells, &levels).unwrap_err();
        assert_eq!(
            problems
                .iter()
                .map(|p| (p.column.as_str(), p.kind))
                .collect::<Vec<_>>(),
            [
                ("手机号", ProblemKind::BadPhone),
                ("等级", ProblemKind::BadLevel),
                ("状态", ProblemKind::BadStatus),
                ("加入时间", ProblemKind::BadTimestamp),
            ]
        );
        // A masked export (no permission to see personal data) is named so.
        cells = [
            "B7",
            "李*",
            "139****5678",
            "li******si",
            "1",
            "",
            "",
            "正常",
            "",
            "2026-01-01",
        ];
        let problems = cols.parse_with(3, &cells, &levels).unwrap_err();
        assert!(problems.iter().all(|p| p.kind == ProblemKind::Masked));
        assert_eq!(problems.len(), 3);
        // A missing column lists the names it may have.
        let problems = AgentColumns::from_header(&zh[..9]).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].column, "joined_at");
        assert!(problems[0].value.contains("加入时间"));
    }

    #[test]
    fn statuses_as_the_spec_and_the_staff_export_write_them() {
        for (cell, want) in [
            ("active", Some(AgentStatus::Active)),
            ("frozen", Some(AgentStatus::Frozen)),
            ("正常", Some(AgentStatus::Active)),
            ("冻结", Some(AgentStatus::Frozen)),
            ("Active", Some(AgentStatus::Active)),
            ("Frozen", Some(AgentStatus::Frozen)),
            // Terminated agents come back frozen, as the exchange export writes them.
            ("已清退", Some(AgentStatus::Frozen)),
            ("Terminated", Some(AgentStatus::Frozen)),
            ("terminated", None),
            ("sleeping", None),
            ("", None),
        ] {
            assert_eq!(AgentStatus::parse_import_cell(cell), want, "{cell:?}");
        }
    }

    #[test]
    fn levels_by_number_or_by_name() {
        let levels = ImportLevels {
            max: 3,
            names: vec![("联创".into(), 1), ("特约".into(), 3), ("废弃".into(), 7)],
        };
        assert_eq!(levels.parse("2"), Some(2));
        assert_eq!(levels.parse(" 联创 "), Some(1));
        assert_eq!(levels.parse("特约"), Some(3));
        assert_eq!(levels.parse("废弃"), None, "beyond the highest level");
        assert_eq!(levels.parse("4"), None);
        assert_eq!(levels.parse("总代"), None);
    }

    #[test]
    fn joined_at_as_typed_in_excel_is_beijing_time() {
        let utc = |s: &str| parse_rfc3339_ms(s).unwrap();
        for (typed, want) in [
            ("2026-11-06", utc("2026-11-05T16:00:00Z")),
            ("2026/11/6", utc("2026-11-05T16:00:00Z")),
            ("2026/11/6 10:00", utc("2026-11-06T02:00:00Z")),
            ("2026-11-06 10:00:05", utc("2026-11-06T02:00:05Z")),
            ("2026-1-5 9:30", utc("2026-01-05T01:30:00Z")),
            ("2026.11.06", utc("2026-11-05T16:00:00Z")),
            ("2026年11月6日", utc("2026-11-05T16:00:00Z")),
            ("2026年11月6日 23:59:59", utc("2026-11-06T15:59:59Z")),
            (" 2026/11/6  10:00 ", utc("2026-11-06T02:00:00Z")),
            ("2028/2/29", utc("2028-02-28T16:00:00Z")),
            // Beijing kept summer time 1986-1991: the tz database knows.
            ("1988-07-01 12:00", utc("1988-07-01T03:00:00Z")),
            // RFC 3339 as before, strict.
            ("2026-11-30T14:05:09+08:00", utc("2026-11-30T06:05:09Z")),
            ("2026-11-30T06:05:09.5Z", utc("2026-11-30T06:05:09.5Z")),
        ] {
            assert_eq!(parse_joined_at_ms(typed), Some(want), "{typed:?}");
        }
        for typed in [
            "2026-11-30 14:05:09+08:00", // an offset means RFC 3339: no space
            "2026-11-30T14:05:09",       // RFC 3339 without offset
            "2026-11-30 14:05:09-07:00",
            "2026-02-29",
            "2026/13/1",
            "2026/11/31",
            "2026-11/06",
            "26/11/6",
            "6/11/2026",
            "2026/11/6 24:00",
            "2026/11/6 10",
            "2026/11/6 10:0",
            "2026/11/6 10:00:60",
            "2026/11/6 10:00:00.5",
            "2026/11/6T10:00",
            "2026/11/6 上午10:00",
            "1899-12-31",
            "2026年11月6",
            "２０２６/11/6",
            "46332",
            "",
            "昨天",
        ] {
            assert_eq!(parse_joined_at_ms(typed), None, "{typed:?}");
        }
    }

    #[test]
    fn typed_times_agree_with_jiff_in_beijing() {
        let mut rng = Rng(7);
        for _ in 0..20_000 {
            // Any second from 1900 to 2100, written as Beijing wall time.
            let secs = -2_208_988_800 + (rng.next() % 6_311_433_600) as i64;
            let zoned = jiff::Timestamp::from_second(secs)
                .unwrap()
                .to_zoned(crate::time::beijing().clone());
            for (format, whole) in [("%Y-%m-%d %H:%M:%S", 1), ("%Y/%-m/%-d %H:%M", 60)] {
                let typed = zoned.strftime(format).to_string();
                // The wall time typed (to the minute in the second format),
                // back to an instant through jiff; a wall time the summer
                // times of 1986-1991 repeat is the earlier instant.
                let civil = zoned.datetime();
                let civil = if whole == 60 {
                    civil.with().second(0).build().unwrap()
                } else {
                    civil
                };
                let want = civil
                    .to_zoned(crate::time::beijing().clone())
                    .unwrap()
                    .timestamp()
                    .as_second();
                assert_eq!(parse_joined_at_ms(&typed), Some(want * 1000), "{typed}");
            }
        }
    }

    #[test]
    fn excel_serials_become_typed_dates() {
        // 46332 is 2026-11-06 in Excel's 1900 date system.
        assert_eq!(
            excel_serial_text(46332.0).as_deref(),
            Some("2026-11-06 00:00:00")
        );
        assert_eq!(
            excel_serial_text(46_332.416_666_666_7).as_deref(),
            Some("2026-11-06 10:00:00")
        );
        assert_eq!(
            excel_serial_text(61.0).as_deref(),
            Some("1900-03-01 00:00:00")
        );
        assert_eq!(
            excel_serial_text(25569.0).as_deref(),
            Some("1970-01-01 00:00:00")
        );
        for bad in [60.0, 0.0, -1.0, f64::NAN, f64::INFINITY, 3e6] {
            assert_eq!(excel_serial_text(bad), None, "{bad}");
        }
        let text = excel_serial_text(46332.5).unwrap();
        assert_eq!(
            parse_joined_at_ms(&text),
            parse_rfc3339_ms("2026-11-06T04:00:00Z")
        );
    }

    #[test]
    fn problem_keys_are_distinct_i18n_keys() {
        let keys: std::collections::HashSet<&str> =
            ProblemKind::ALL.iter().map(|k| k.key()).collect();
        assert_eq!(keys.len(), ProblemKind::ALL.len());
        assert!(keys.iter().all(|k| k.starts_with("agents.import.")));
        assert_eq!(ProblemKind::BadLevel.key(), "agents.import.bad_level");
    }

    #[test]
    fn problems_read_well_in_english() {
        let p = Problem::new(1, "", "joined_at", ProblemKind::MissingColumn, "");
        assert_eq!(p.to_string(), "line 1: joined_at: missing column");
        let p = Problem::new(9, "B2", "id", ProblemKind::DuplicateId, "first at line 3");
        assert_eq!(
            p.to_string(),
            "line 9 (id B2): id: duplicate id (first at line 3)"
        );
        let p = Problem::new(0, "", "", ProblemKind::Empty, "");
        assert_eq!(p.to_string(), "file: empty value");
    }

    // -- the forest -----------------------------------------------------------

    #[test]
    fn a_new_tree_is_placed_parents_first_with_team_sizes() {
        // Children listed before their sponsors on purpose.
        //   R ← A ← A1, A ← A2 ← A21; R ← B; S alone
        let rows = rows(&[
            ("A21", Some("A2")),
            ("A1", Some("A")),
            ("A", Some("R")),
            ("R", None),
            ("A2", Some("A")),
            ("B", Some("R")),
            ("S", None),
        ]);
        let plan = plan_forest(&rows, &HashMap::new(), 100).unwrap();
        assert_parents_first(&plan, rows.len(), 100);
        let by_row = placed_by_row(&plan);
        let get = |i: usize| {
            let p = by_row[&i];
            (
                p.id,
                p.sponsor,
                p.path.as_str(),
                p.depth,
                p.team_size,
                p.direct_count,
            )
        };
        assert_eq!(get(3), (103, None, "/103/", 0, 5, 2));
        assert_eq!(get(2), (102, Some(103), "/103/102/", 1, 3, 2));
        assert_eq!(get(1), (101, Some(102), "/103/102/101/", 2, 0, 0));
        assert_eq!(get(4), (104, Some(102), "/103/102/104/", 2, 1, 1));
        assert_eq!(get(0), (100, Some(104), "/103/102/104/100/", 3, 0, 0));
        assert_eq!(get(5), (105, Some(103), "/103/105/", 1, 0, 0));
        assert_eq!(get(6), (106, None, "/106/", 0, 0, 0));
        assert!(plan.existing_growth.is_empty());
    }

    #[test]
    fn an_existing_sponsor_continues_its_path_and_grows() {
        // Stored: 1 ← 4 ← 7 (paths /1/, /1/4/, /1/4/7/), 9 alone.
        let known = existing(&[
            ("E1", 1, "/1/", 0),
            ("E4", 4, "/1/4/", 1),
            ("E7", 7, "/1/4/7/", 2),
            ("E9", 9, "/9/", 0),
        ]);
        // E7 ← N1 ← N2 ← N3 and E7 ← N4: 4 new agents, 2 direct.
        // E9 ← M1 ← M2: 2 new agents over 2 generations, 1 direct.
        let rows = rows(&[
            ("N1", Some("E7")),
            ("N2", Some("N1")),
            ("N3", Some("N2")),
            ("M1", Some("E9")),
            ("M2", Some("M1")),
            ("N4", Some("E7")),
        ]);
        let plan = plan_forest(&rows, &known, 100).unwrap();
        assert_parents_first(&plan, rows.len(), 100);
        let by_row = placed_by_row(&plan);
        assert_eq!(by_row[&0].path, "/1/4/7/100/");
        assert_eq!(by_row[&0].depth, 3);
        assert_eq!(by_row[&0].sponsor, Some(7));
        assert_eq!(by_row[&2].path, "/1/4/7/100/101/102/");
        assert_eq!(by_row[&2].depth, 5);
        assert_eq!(by_row[&3].path, "/9/103/");
        assert_eq!(by_row[&3].depth, 1);
        assert_eq!(by_row[&3].team_size, 1);
        assert_eq!(by_row[&4].path, "/9/103/104/");
        assert_eq!(
            plan.existing_growth,
            [(1, 4, 0), (4, 4, 0), (7, 4, 2), (9, 2, 1)]
        );
    }

    #[test]
    fn a_child_of_an_existing_root_has_depth_one() {
        let known = existing(&[("E", 7, "/7/", 0)]);
        let rows = rows(&[("X", Some("E")), ("Y", Some("X")), ("Z", Some("X"))]);
        let plan = plan_forest(&rows, &known, 100).unwrap();
        let by_row = placed_by_row(&plan);
        assert_eq!(by_row[&0].path, "/7/100/");
        assert_eq!(by_row[&0].depth, 1);
        assert_eq!(by_row[&0].team_size, 2);
        assert_eq!(by_row[&0].direct_count, 2);
        // 3 agents over 2 generations, 1 of them direct.
        assert_eq!(plan.existing_growth, [(7, 3, 1)]);
    }

    #[test]
    fn duplicate_ids_report_the_later_lines() {
        let rows = rows(&[("A", None), ("B", None), ("A", None), ("A", Some("B"))]);
        let problems = plan_forest(&rows, &HashMap::new(), 1).unwrap_err();
        assert_eq!(
            kinds(&problems),
            [(4, ProblemKind::DuplicateId), (5, ProblemKind::DuplicateId)]
        );
        assert!(problems.iter().all(|p| p.value == "first at line 2"));
    }

    #[test]
    fn ids_already_stored_are_refused() {
        let known = existing(&[("A", 1, "/1/", 0)]);
        let rows = rows(&[("B", Some("A")), ("A", None)]);
        let problems = plan_forest(&rows, &known, 10).unwrap_err();
        assert_eq!(kinds(&problems), [(3, ProblemKind::AlreadyExists)]);
        assert_eq!(problems[0].id, "A");
        assert_eq!(
            problems[0].to_string(),
            r#"line 3 (id A): id: already exists "A""#
        );
    }

    #[test]
    fn self_and_unknown_sponsors_are_refused() {
        let rows = rows(&[("A", Some("A")), ("B", Some("nobody")), ("C", Some("B"))]);
        let problems = plan_forest(&rows, &HashMap::new(), 1).unwrap_err();
        assert_eq!(
            kinds(&problems),
            [
                (2, ProblemKind::SelfSponsor),
                (3, ProblemKind::UnknownSponsor)
            ]
        );
        assert_eq!(problems[1].value, "nobody");
        assert_eq!(problems[1].column, "sponsor_id");
        assert_eq!(
            problems[1].to_string(),
            r#"line 3 (id B): sponsor_id: unknown sponsor "nobody""#
        );
    }

    #[test]
    fn each_cycle_is_named_on_every_member() {
        // a → b → c → a and x → y → x; t hangs below the first cycle but is
        // not on it, r is fine.
        let rows = rows(&[
            ("r", None),
            ("b", Some("c")),
            ("x", Some("y")),
            ("t", Some("a")),
            ("a", Some("b")),
            ("c", Some("a")),
            ("y", Some("x")),
        ]);
        let problems = plan_forest(&rows, &HashMap::new(), 1).unwrap_err();
        assert_eq!(
            problems
                .iter()
                .map(|p| (p.line, p.id.as_str(), p.kind, p.value.as_str()))
                .collect::<Vec<_>>(),
            [
                (3, "b", ProblemKind::Cycle, "b → c → a → b"),
                (4, "x", ProblemKind::Cycle, "x → y → x"),
                (6, "a", ProblemKind::Cycle, "b → c → a → b"),
                (7, "c", ProblemKind::Cycle, "b → c → a → b"),
                (8, "y", ProblemKind::Cycle, "x → y → x"),
            ]
        );
        assert_eq!(
            problems[1].to_string(),
            "line 4 (id x): sponsor_id: sponsor cycle (x → y → x)"
        );
    }

    #[test]
    fn all_problems_of_a_batch_come_sorted_by_line() {
        let known = existing(&[("K", 1, "/1/", 0)]);
        let rows = rows(&[
            ("p", Some("q")),  // 2: cycle
            ("K", Some("zz")), // 3: exists, unknown sponsor
            ("q", Some("p")),  // 4: cycle
            ("s", Some("s")),  // 5: self
            ("K", None),       // 6: duplicate, exists
            ("ok", Some("K")), // 7: fine (K is in the file and stored)
        ]);
        let problems = plan_forest(&rows, &known, 10).unwrap_err();
        assert_eq!(
            kinds(&problems),
            [
                (2, ProblemKind::Cycle),
                (3, ProblemKind::AlreadyExists),
                (3, ProblemKind::UnknownSponsor),
                (4, ProblemKind::Cycle),
                (5, ProblemKind::SelfSponsor),
                (6, ProblemKind::DuplicateId),
                (6, ProblemKind::AlreadyExists),
            ]
        );
    }

    #[test]
    fn an_empty_batch_places_nothing() {
        let plan = plan_forest(&[], &HashMap::new(), 1).unwrap();
        assert!(plan.placed.is_empty() && plan.existing_growth.is_empty());
    }

    #[test]
    fn depth_is_capped_where_a_branch_crosses_the_limit() {
        let limit = MAX_DEPTH as usize;
        // Exactly at the limit: placed.
        let rows_ok = chain(limit + 1, false);
        let plan = plan_forest(&rows_ok, &HashMap::new(), 1).unwrap();
        assert_eq!(plan.placed.last().unwrap().depth, MAX_DEPTH);
        assert_eq!(plan.placed[0].team_size, MAX_DEPTH);

        // One more: only the first row beyond is reported.
        let rows_deep = chain(limit + 5, false);
        let problems = plan_forest(&rows_deep, &HashMap::new(), 1).unwrap_err();
        assert_eq!(kinds(&problems), [(limit + 3, ProblemKind::TooDeep)]);
        assert_eq!(
            problems[0].value,
            format!("depth {}, limit {MAX_DEPTH}", MAX_DEPTH + 1)
        );

        // Depth counts from the stored root; below a stored agent that is
        // already too deep, the first new row is reported.
        for stored_depth in [MAX_DEPTH, MAX_DEPTH + 7] {
            let known = existing(&[("E", 5, "/5/", stored_depth)]);
            let batch = rows(&[("N", Some("E")), ("M", Some("N"))]);
            let problems = plan_forest(&batch, &known, 10).unwrap_err();
            assert_eq!(kinds(&problems), [(2, ProblemKind::TooDeep)]);
        }
    }

    #[test]
    fn deep_chains_and_rings_need_no_stack_100k() {
        let n = 100_000;
        for reversed in [false, true] {
            let problems = plan_forest(&chain(n, reversed), &HashMap::new(), 1).unwrap_err();
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].kind, ProblemKind::TooDeep);
        }
        let mut ring = chain(n, true);
        ring[n - 1].sponsor_id = Some(format!("C{}", n - 1));
        let problems = plan_forest(&ring, &HashMap::new(), 1).unwrap_err();
        assert_eq!(problems.len(), n);
        assert!(problems.iter().all(|p| p.kind == ProblemKind::Cycle));
        assert_eq!(
            problems[0].value,
            "C99999 → C99998 → C99997 → C99996 → C99995 → C99994 → C99993 → \
             C99992 → C99991 → C99990 → … (100000 agents)"
        );
    }

    #[test]
    fn a_random_deep_tree_of_100k() {
        let rows = random_tree(100_000, 40, 7);
        let plan = plan_forest(&rows, &HashMap::new(), 1).unwrap();
        assert_parents_first(&plan, rows.len(), 1);
        assert!(plan.placed.iter().map(|p| p.depth).max().unwrap() >= 39);
        let root = plan.placed.iter().find(|p| p.depth == 0).unwrap();
        assert_eq!(root.team_size, 99_999);
    }

    #[test]
    #[ignore = "a million rows: slow in debug builds"]
    fn a_million_rows_chain_ring_and_random_tree() {
        let n = 1_000_000;
        for reversed in [false, true] {
            let problems = plan_forest(&chain(n, reversed), &HashMap::new(), 1).unwrap_err();
            assert_eq!(
                kinds(&problems),
                [(
                    if reversed { n + 1 - 1001 } else { 1003 },
                    ProblemKind::TooDeep
                )]
            );
        }
        let mut ring = chain(n, false);
        ring[0].sponsor_id = Some(format!("C{}", n - 1));
        assert_eq!(plan_forest(&ring, &HashMap::new(), 1).unwrap_err().len(), n);
        let rows = random_tree(n, 40, 11);
        let plan = plan_forest(&rows, &HashMap::new(), 1).unwrap();
        assert_parents_first(&plan, n, 1);
        assert!(plan.placed.iter().map(|p| p.depth).max().unwrap() >= 39);
    }

    /// `cargo test -p weiops-core --release -- --ignored --nocapture timing`
    #[test]
    #[ignore = "timing: run in release mode"]
    fn timing_plan_forest_one_million() {
        let n = 1_000_000;
        let rows = random_tree(n, 40, 3);
        // A few stored agents to attach to, like a second import.
        let known = existing(&[("E1", 1, "/1/", 0), ("E2", 2, "/1/2/", 1)]);
        let mut with_existing = rows.clone();
        with_existing[0].sponsor_id = Some("E2".into());
        for (label, rows, known) in [
            ("random tree", &rows, &HashMap::new()),
            ("random tree under stored agents", &with_existing, &known),
        ] {
            let start = Instant::now();
            let plan = plan_forest(rows, known, 1).unwrap();
            let elapsed = start.elapsed();
            let max_depth = plan.placed.iter().map(|p| p.depth).max().unwrap();
            let path_mb = plan.placed.iter().map(|p| p.path.len()).sum::<usize>() >> 20;
            println!(
                "plan_forest, {n} rows, {label} (max depth {max_depth}, {path_mb} MiB of paths): {elapsed:?}"
            );
        }
        let chain_rows = chain(n, true);
        let start = Instant::now();
        let _ = plan_forest(&chain_rows, &HashMap::new(), 1).unwrap_err();
        println!(
            "plan_forest, {n} rows, chain (refused, too deep): {:?}",
            start.elapsed()
        );
        let mut ring = chain(n, false);
        ring[0].sponsor_id = Some(format!("C{}", n - 1));
        let start = Instant::now();
        let problems = plan_forest(&ring, &HashMap::new(), 1).unwrap_err();
        println!(
            "plan_forest, {n} rows, one ring ({} cycle problems): {:?}",
            problems.len(),
            start.elapsed()
        );
    }

    // -- masking ------------------------------------------------------------

    #[test]
    fn names_are_masked_after_the_first_character() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("A"), "*");
        assert_eq!(mask_name("李"), "*");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("Anna"), "A***");
    }

    #[test]
    fn phones_keep_three_and_four() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("+8613812345678"), "+86*******5678");
        assert_eq!(mask_phone("12345678"), "123*5678");
        assert_eq!(mask_phone("1234567"), "1******");
        assert_eq!(mask_phone("1"), "1");
        assert_eq!(mask_phone(""), "");
    }

    #[test]
    fn wechat_ids_keep_two_and_two_around_six_stars() {
        assert_eq!(mask_wechat("wxid_abc123"), "wx******23");
        assert_eq!(mask_wechat("abcdefgh"), "ab******gh");
        assert_eq!(mask_wechat("a_very_long_wechat_id_2026"), "a_******26");
        assert_eq!(mask_wechat("abcdefg"), "a******");
        assert_eq!(mask_wechat("微信号"), "微**");
        assert_eq!(mask_wechat("a"), "a");
        assert_eq!(mask_wechat(""), "");
    }
}
