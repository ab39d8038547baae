//! Rules of orders.csv (shared/spec/settlement.md, "Exchange formats"):
//! reading one row, then checking the file as a whole (duplicate order ids,
//! buyers that are not known agents). Nothing here does I/O; the import
//! command feeds cells in and stores the rows only when no problem was found.
//!
//! Choices where the spec is silent:
//!
//! - `retail_fen` must fit an `i64` (up to about 9.2 × 10^18 fen); a larger
//!   number is reported as a bad amount rather than clamped.
//! - `buyer_level` is checked against the brand's number of levels, like the
//!   agent import's `level`.
//! - Order ids and agent ids are trimmed like the agent import's ids; amounts,
//!   levels, statuses and timestamps must be exact (a stray space is
//!   reported, not guessed away).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use serde::Serialize;

use crate::agents::parse_level;
use crate::csv::header_index;
use crate::money::Fen;
use crate::time::parse_rfc3339_ms;

/// The columns of orders.csv, in the spec's order.
pub const ORDER_COLUMNS: [&str; 6] = [
    "id",
    "agent_id",
    "buyer_level",
    "retail_fen",
    "paid_at",
    "status",
];

/// Longest order id or agent id accepted (characters).
pub const MAX_ID_CHARS: usize = 64;
/// Offending values are quoted in problems up to this many characters.
const MAX_VALUE_CHARS: usize = 80;

/// The status of an order in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Counted in the period its `paid_at` falls in.
    Paid,
    /// Never counted.
    Refunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Paid => "paid",
            OrderStatus::Refunded => "refunded",
        }
    }

    /// Exactly `paid` or `refunded`, as the file writes them.
    pub fn parse(s: &str) -> Option<OrderStatus> {
        match s {
            "paid" => Some(OrderStatus::Paid),
            "refunded" => Some(OrderStatus::Refunded),
            _ => None,
        }
    }
}

/// One valid row of orders.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    /// File line, header = 1.
    pub line: usize,
    pub id: String,
    pub agent_id: String,
    pub buyer_level: u8,
    pub retail: Fen,
    /// Epoch milliseconds, UTC (fraction truncated).
    pub paid_at_ms: i64,
    pub status: OrderStatus,
}

/// What is wrong, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderProblem {
    /// 1 for header problems.
    pub line: usize,
    /// The row's order id when known, else "".
    pub id: String,
    /// Header name of the column, "" for the whole row.
    pub column: String,
    pub kind: OrderProblemKind,
    /// The offending raw value (clipped); for `DuplicateId` the line of the
    /// first occurrence.
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderProblemKind {
    MissingColumn,
    Empty,
    /// Second and later occurrences; value names the first line.
    DuplicateId,
    /// The order id is stored already (imports add orders).
    AlreadyExists,
    TooLong,
    /// Not ASCII digits, or outside `1..=levels`.
    BadLevel,
    /// Not ASCII digits, or more than an i64 holds.
    BadAmount,
    BadTimestamp,
    /// Not `paid` / `refunded`.
    BadStatus,
    /// `agent_id` names no known agent.
    UnknownAgent,
    /// `paid_at` falls in a month whose settlement is approved or paid
    /// (value: the month): its rewards are fixed, nothing may join it.
    SettledPeriod,
}

impl OrderProblemKind {
    pub const ALL: [OrderProblemKind; 11] = [
        OrderProblemKind::MissingColumn,
        OrderProblemKind::Empty,
        OrderProblemKind::DuplicateId,
        OrderProblemKind::AlreadyExists,
        OrderProblemKind::TooLong,
        OrderProblemKind::BadLevel,
        OrderProblemKind::BadAmount,
        OrderProblemKind::BadTimestamp,
        OrderProblemKind::BadStatus,
        OrderProblemKind::UnknownAgent,
        OrderProblemKind::SettledPeriod,
    ];

    /// The i18n key of the localised message.
    pub fn key(self) -> &'static str {
        match self {
            OrderProblemKind::MissingColumn => "orders.import.missing_column",
            OrderProblemKind::Empty => "orders.import.empty",
            OrderProblemKind::DuplicateId => "orders.import.duplicate_id",
            OrderProblemKind::AlreadyExists => "orders.import.already_exists",
            OrderProblemKind::TooLong => "orders.import.too_long",
            OrderProblemKind::BadLevel => "orders.import.bad_level",
            OrderProblemKind::BadAmount => "orders.import.bad_amount",
            OrderProblemKind::BadTimestamp => "orders.import.bad_timestamp",
            OrderProblemKind::BadStatus => "orders.import.bad_status",
            OrderProblemKind::UnknownAgent => "orders.import.unknown_agent",
            OrderProblemKind::SettledPeriod => "orders.import.settled_period",
        }
    }

    fn english(self) -> &'static str {
        match self {
            OrderProblemKind::MissingColumn => "missing column",
            OrderProblemKind::Empty => "empty value",
            OrderProblemKind::DuplicateId => "duplicate order id",
            OrderProblemKind::AlreadyExists => "order already imported",
            OrderProblemKind::TooLong => "too long",
            OrderProblemKind::BadLevel => "bad level",
            OrderProblemKind::BadAmount => "bad amount",
            OrderProblemKind::BadTimestamp => "bad timestamp",
            OrderProblemKind::BadStatus => "bad status",
            OrderProblemKind::UnknownAgent => "unknown agent",
            OrderProblemKind::SettledPeriod => "month already settled",
        }
    }
}

impl OrderProblem {
    pub fn new(
        line: usize,
        id: &str,
        column: &str,
        kind: OrderProblemKind,
        value: &str,
    ) -> OrderProblem {
        OrderProblem {
            line,
            id: clip(id),
            column: column.to_string(),
            kind,
            value: clip(value),
        }
    }
}

/// `line 7 (id O12): retail_fen: bad amount "-5"`.
impl fmt::Display for OrderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if !self.id.is_empty() {
            write!(f, " (id {})", self.id)?;
        }
        f.write_str(": ")?;
        if !self.column.is_empty() {
            write!(f, "{}: ", self.column)?;
        }
        f.write_str(self.kind.english())?;
        if !self.value.is_empty() {
            if self.kind == OrderProblemKind::DuplicateId {
                write!(f, " ({})", self.value)?;
            } else {
                write!(f, " {:?}", self.value)?;
            }
        }
        Ok(())
    }
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => s[..cut].to_string(),
        None => s.to_string(),
    }
}

/// A fen amount as the spec writes integers: ASCII digits only, leading
/// zeros allowed, within `i64`.
pub fn parse_fen(raw: &str) -> Option<Fen> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = raw.trim_start_matches('0');
    if significant.is_empty() {
        return Some(Fen(0));
    }
    // At most 19 digits can fit; `parse` rejects the rest of the overflow.
    if significant.len() > 19 {
        return None;
    }
    significant.parse::<i64>().ok().map(Fen)
}

/// The column layout of an orders file, found by header name (extra columns
/// ignored, order free, optional UTF-8 BOM, the leftmost of a repeated name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderColumns {
    index: [usize; 6],
}

const ID: usize = 0;
const AGENT: usize = 1;
const LEVEL: usize = 2;
const RETAIL: usize = 3;
const PAID_AT: usize = 4;
const STATUS: usize = 5;

impl OrderColumns {
    pub fn from_header(header: &[&str]) -> Result<OrderColumns, Vec<OrderProblem>> {
        let index = header_index(header, &ORDER_COLUMNS);
        let problems: Vec<OrderProblem> = ORDER_COLUMNS
            .iter()
            .zip(index)
            .filter(|(_, i)| *i == usize::MAX)
            .map(|(name, _)| OrderProblem::new(1, "", name, OrderProblemKind::MissingColumn, ""))
            .collect();
        if problems.is_empty() {
            Ok(OrderColumns { index })
        } else {
            Err(problems)
        }
    }

    /// The (trimmed) order id of a record, if the cell is there.
    pub fn id_of<'a>(&self, cells: &[&'a str]) -> Option<&'a str> {
        cells.get(self.index[ID]).map(|c| c.trim())
    }

    /// The (trimmed) buyer id of a record, if the cell is there.
    pub fn agent_of<'a>(&self, cells: &[&'a str]) -> Option<&'a str> {
        cells.get(self.index[AGENT]).map(|c| c.trim())
    }

    /// Parse one record; every problem of the row is returned. Missing
    /// trailing cells read as empty.
    pub fn parse(
        &self,
        line: usize,
        cells: &[&str],
        levels: u8,
    ) -> Result<OrderRow, Vec<OrderProblem>> {
        let cell = |k: usize| cells.get(self.index[k]).copied().unwrap_or("");
        let id = cell(ID).trim();
        let mut problems = Vec::new();
        let mut problem = |k: usize, kind: OrderProblemKind, value: &str| {
            problems.push(OrderProblem::new(line, id, ORDER_COLUMNS[k], kind, value));
        };

        for k in [ID, AGENT] {
            let value = cell(k).trim();
            if value.is_empty() {
                problem(k, OrderProblemKind::Empty, "");
            } else if value.chars().count() > MAX_ID_CHARS {
                problem(k, OrderProblemKind::TooLong, value);
            }
        }
        let mut exact = |k: usize, parsed: bool, bad: OrderProblemKind| {
            let raw = cell(k);
            if raw.trim().is_empty() {
                problem(k, OrderProblemKind::Empty, "");
            } else if !parsed {
                problem(k, bad, raw);
            }
        };
        let level = parse_level(cell(LEVEL), levels);
        exact(LEVEL, level.is_some(), OrderProblemKind::BadLevel);
        let retail = parse_fen(cell(RETAIL));
        exact(RETAIL, retail.is_some(), OrderProblemKind::BadAmount);
        // Strict RFC 3339 with an offset, unlike an agent's joined_at
        // (agents::parse_joined_at_ms says why).
        let paid_at_ms = parse_rfc3339_ms(cell(PAID_AT));
        exact(
            PAID_AT,
            paid_at_ms.is_some(),
            OrderProblemKind::BadTimestamp,
        );
        let status = OrderStatus::parse(cell(STATUS));
        exact(STATUS, status.is_some(), OrderProblemKind::BadStatus);

        match (level, retail, paid_at_ms, status) {
            (Some(buyer_level), Some(retail), Some(paid_at_ms), Some(status))
                if problems.is_empty() =>
            {
                Ok(OrderRow {
                    line,
                    id: id.to_string(),
                    agent_id: cell(AGENT).trim().to_string(),
                    buyer_level,
                    retail,
                    paid_at_ms,
                    status,
                })
            }
            _ => Err(problems),
        }
    }
}

/// The whole-file checks once every row parsed: duplicate order ids (the
/// second and later occurrences), ids already stored, buyers that are not
/// known agents. Problems come in file order.
pub fn check_orders(
    rows: &[OrderRow],
    already_stored: impl Fn(&str) -> bool,
    known_agent: impl Fn(&str) -> bool,
) -> Vec<OrderProblem> {
    let mut first_line: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    let mut problems = Vec::new();
    for row in rows {
        match first_line.entry(row.id.as_str()) {
            Entry::Occupied(first) => problems.push(OrderProblem::new(
                row.line,
                &row.id,
                "id",
                OrderProblemKind::DuplicateId,
                &format!("first at line {}", first.get()),
            )),
            Entry::Vacant(slot) => {
                slot.insert(row.line);
                if already_stored(&row.id) {
                    problems.push(OrderProblem::new(
                        row.line,
                        &row.id,
                        "id",
                        OrderProblemKind::AlreadyExists,
                        &row.id,
                    ));
                }
            }
        }
        if !known_agent(&row.agent_id) {
            problems.push(OrderProblem::new(
                row.line,
                &row.id,
                "agent_id",
                OrderProblemKind::UnknownAgent,
                &row.agent_id,
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> OrderColumns {
        OrderColumns::from_header(&ORDER_COLUMNS).unwrap()
    }

    #[test]
    fn parses_a_valid_row() {
        let row = columns()
            .parse(
                2,
                &[
                    "O1",
                    "C",
                    "4",
                    "10000",
                    "2026-11-30T23:59:59.999+08:00",
                    "paid",
                ],
                5,
            )
            .unwrap();
        assert_eq!(row.retail, Fen(10_000));
        assert_eq!(row.buyer_level, 4);
        assert_eq!(row.status, OrderStatus::Paid);
        assert_eq!(
            row.paid_at_ms,
            parse_rfc3339_ms("2026-11-30T15:59:59.999Z").unwrap()
        );
    }

    #[test]
    fn header_by_name_with_bom_and_extra_columns() {
        let cols = OrderColumns::from_header(&[
            "\u{feff}status",
            "note",
            "paid_at",
            "retail_fen",
            "buyer_level",
            "agent_id",
            "id",
        ])
        .unwrap();
        let row = cols
            .parse(
                3,
                &[
                    "refunded",
                    "x",
                    "2026-01-01T00:00:00Z",
                    "007",
                    "1",
                    "A",
                    "O9",
                ],
                5,
            )
            .unwrap();
        assert_eq!(row.retail, Fen(7));
        assert_eq!(row.status, OrderStatus::Refunded);
        let missing = OrderColumns::from_header(&["id", "agent_id"]).unwrap_err();
        assert_eq!(missing.len(), 4);
        assert!(
            missing
                .iter()
                .all(|p| p.kind == OrderProblemKind::MissingColumn)
        );
    }

    #[test]
    fn every_bad_value_is_reported() {
        let problems = columns()
            .parse(
                5,
                &["O1", "", "0", "-5", "2026-11-30 10:00:00+08:00", "Paid"],
                5,
            )
            .unwrap_err();
        let kinds: Vec<_> = problems.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            vec![
                OrderProblemKind::Empty,
                OrderProblemKind::BadLevel,
                OrderProblemKind::BadAmount,
                OrderProblemKind::BadTimestamp,
                OrderProblemKind::BadStatus,
            ]
        );
        assert_eq!(
            problems[2].to_string(),
            "line 5 (id O1): retail_fen: bad amount \"-5\""
        );
    }

    #[test]
    fn amounts_are_strict_integers_within_i64() {
        assert_eq!(parse_fen("0"), Some(Fen(0)));
        assert_eq!(parse_fen("000"), Some(Fen(0)));
        assert_eq!(parse_fen("1000000000000"), Some(Fen(1_000_000_000_000)));
        assert_eq!(parse_fen("9223372036854775807"), Some(Fen(i64::MAX)));
        assert_eq!(parse_fen("00009223372036854775807"), Some(Fen(i64::MAX)));
        for bad in [
            "",
            " 1",
            "1 ",
            "+1",
            "-1",
            "1.0",
            "1e3",
            "9223372036854775808",
            "１２",
        ] {
            assert_eq!(parse_fen(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn file_checks_duplicates_stored_and_unknown_agents() {
        let cols = columns();
        let rows: Vec<OrderRow> = [
            ["O1", "A", "1", "1", "2026-01-01T00:00:00Z", "paid"],
            ["O2", "Z", "1", "1", "2026-01-01T00:00:00Z", "paid"],
            ["O1", "A", "1", "1", "2026-01-01T00:00:00Z", "paid"],
            ["OLD", "A", "1", "1", "2026-01-01T00:00:00Z", "paid"],
        ]
        .iter()
        .enumerate()
        .map(|(i, cells)| cols.parse(i + 2, cells, 5).unwrap())
        .collect();
        let problems = check_orders(&rows, |id| id == "OLD", |agent| agent == "A");
        let found: Vec<_> = problems.iter().map(|p| (p.line, p.kind)).collect();
        assert_eq!(
            found,
            vec![
                (3, OrderProblemKind::UnknownAgent),
                (4, OrderProblemKind::DuplicateId),
                (5, OrderProblemKind::AlreadyExists),
            ]
        );
        assert_eq!(
            problems[1].to_string(),
            "line 4 (id O1): id: duplicate order id (first at line 2)"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_non_negative_i64_round_trips(v in 0i64..=i64::MAX, zeros in 0usize..4) {
            let written = format!("{}{v}", "0".repeat(zeros));
            proptest::prop_assert_eq!(parse_fen(&written), Some(Fen(v)));
        }

        #[test]
        fn no_string_panics_or_goes_negative(s in "\\PC{0,24}") {
            if let Some(Fen(v)) = parse_fen(&s) {
                proptest::prop_assert!(v >= 0);
            }
        }
    }
}
