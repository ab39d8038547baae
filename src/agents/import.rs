//! Importing agents.csv (or an .xlsx with the same columns) at the scale of
//! a brand's whole network: a million rows in one go.
//!
//! The whole file is read and checked first (weiops_core::agents: every
//! row's values, duplicate and existing ids, sponsors, cycles). Any problem
//! refuses the file with every problem listed by line; nothing is stored.
//! A clean file is placed on the forest in memory (ids, paths, depths, team
//! sizes) and written in one transaction with multi-row INSERTs, together
//! with a 授权书 for every active agent.

use std::collections::HashMap;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use serde::Serialize;
use sqlx::Row;
use weiops_core::agents::{
    AgentColumns, AgentRow, ExistingAgent, ImportLevels, Problem, ProblemKind, plan_forest,
};
use weiops_core::time::excel_serial_text;

use super::certificates;
use crate::audit::{self, Actor, Change};
use crate::db::{Db, Engine, Tx, now_ms};
use crate::error::RowProblem;
use crate::{Error, Result};

/// Rows written per INSERT statement (as one JSON value, about 1 MB).
const BATCH: usize = 5_000;

/// From this many rows on, secondary indexes are dropped and rebuilt.
const BULK_ROWS: usize = 20_000;

/// The secondary indexes of the tables an import fills, as the migrations
/// create them (name, table and columns); same text on both engines.
const SECONDARY_INDEXES: &[(&str, &str)] = &[
    ("agents_sponsor", "agents(sponsor_id)"),
    ("agents_path", "agents(path)"),
    ("agents_level_joined", "agents(level, joined_at)"),
    ("agents_status_joined", "agents(status, joined_at)"),
    ("agents_joined", "agents(joined_at)"),
    ("agents_region", "agents(province, city)"),
    ("agents_name", "agents(name)"),
    ("agents_phone", "agents(phone)"),
    ("agents_wechat", "agents(wechat)"),
    (
        "agent_certificates_agent",
        "agent_certificates(agent_id, issued_at)",
    ),
];

/// Progress callback: (stage message key, done, total).
pub type Progress<'a> = &'a (dyn Fn(&'static str, usize, usize) + Send + Sync);

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub agents: usize,
    pub certificates: usize,
}

fn to_row_problem(p: Problem) -> RowProblem {
    RowProblem {
        row: p.line,
        id: p.id.clone(),
        column: p.column.clone(),
        key: p.kind.key().to_string(),
        value: p.value.clone(),
    }
}

/// Decodes a CSV as UTF-8 (BOM allowed) or, failing that, GBK.
fn csv_text(bytes: &[u8]) -> Result<String> {
    match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
        Ok(t) => Ok(t.to_string()),
        Err(_) => {
            let (decoded, _, had_errors) = encoding_rs::GBK.decode(bytes);
            if had_errors {
                Err(Error::BadRequest("import.bad_encoding"))
            } else {
                Ok(decoded.into_owned())
            }
        }
    }
}

/// The text of a `joined_at` cell of an .xlsx. Excel stores a date as a
/// serial number (a date-formatted cell, or a float where the column is
/// formatted as a number): both become `2026-11-06 10:00:00`, the wall
/// clock the sheet shows, which the parser reads as Beijing time. Other
/// cells read as every importer reads them.
fn joined_cell_text(cell: &Data) -> String {
    match cell {
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
        }
        Data::Float(f) => excel_serial_text(*f).unwrap_or_else(|| f.to_string()),
        Data::Int(i) => excel_serial_text(*i as f64).unwrap_or_else(|| i.to_string()),
        // An ISO cell (`t="d"`) without an offset is a wall-clock time too.
        Data::DateTimeIso(s) if !s.contains(['Z', 'z', '+']) && s.len() >= 19 => {
            s[..19].replacen('T', " ", 1)
        }
        other => crate::org::transfer::cell_text(other),
    }
}

/// The first sheet of an agents .xlsx as rows of text, the `joined_at`
/// column (found from the header) read as dates.
fn xlsx_sheet(bytes: &[u8]) -> Result<Vec<Vec<String>>> {
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|_| Error::BadRequest("import.bad_file"))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or(Error::BadRequest("import.bad_file"))?
        .map_err(|_| Error::BadRequest("import.bad_file"))?;
    let mut rows = range.rows();
    let Some(header) = rows.next() else {
        return Ok(Vec::new());
    };
    let header: Vec<String> = header.iter().map(crate::org::transfer::cell_text).collect();
    let refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let joined = AgentColumns::from_header(&refs)
        .ok()
        .map(|c| c.joined_at_index());
    let mut out = vec![header];
    for r in rows {
        out.push(
            r.iter()
                .enumerate()
                .map(|(i, c)| {
                    if Some(i) == joined {
                        joined_cell_text(c)
                    } else {
                        crate::org::transfer::cell_text(c)
                    }
                })
                .collect(),
        );
    }
    Ok(out)
}

/// What [`parse_file`] read: the good rows, every problem of the others,
/// and the columns (to name them as the file does in later problems).
pub type Parsed = (Vec<AgentRow>, Vec<Problem>, Option<AgentColumns>);

/// Parses every row: the good rows and every problem of the others.
pub fn parse_file(bytes: &[u8], levels: &ImportLevels) -> Result<Parsed> {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let columns = if bytes.starts_with(b"PK") {
        let sheet = xlsx_sheet(bytes)?;
        let mut it = sheet.into_iter();
        let Some(header) = it.next() else {
            return Err(Error::BadRequest("import.empty"));
        };
        let refs: Vec<&str> = header.iter().map(String::as_str).collect();
        let columns = match AgentColumns::from_header(&refs) {
            Ok(c) => c,
            Err(p) => return Ok((Vec::new(), p, None)),
        };
        for (i, cells) in it.enumerate() {
            if cells.iter().all(|c| c.is_empty()) {
                continue;
            }
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            match columns.parse_with(i + 2, &refs, levels) {
                Ok(row) => rows.push(row),
                Err(p) => problems.extend(p),
            }
        }
        columns
    } else {
        let text = csv_text(bytes)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut records = reader.records();
        let header = match records.next() {
            Some(Ok(h)) => h,
            Some(Err(_)) => return Err(Error::BadRequest("import.bad_file")),
            None => return Err(Error::BadRequest("import.empty")),
        };
        let refs: Vec<&str> = header.iter().collect();
        let columns = match AgentColumns::from_header(&refs) {
            Ok(c) => c,
            Err(p) => return Ok((Vec::new(), p, None)),
        };
        for record in records {
            let record = record.map_err(|_| Error::BadRequest("import.bad_file"))?;
            let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let cells: Vec<&str> = record.iter().collect();
            match columns.parse_with(line, &cells, levels) {
                Ok(row) => rows.push(row),
                Err(p) => problems.extend(p),
            }
        }
        columns
    };
    if rows.is_empty() && problems.is_empty() {
        return Err(Error::BadRequest("import.empty"));
    }
    Ok((rows, problems, Some(columns)))
}

/// The levels a file may name: by number up to the highest configured, or
/// by name (the staff export writes names).
pub async fn import_levels(db: &Db) -> Result<ImportLevels> {
    let max = super::levels::max_level(db).await?;
    let names = super::levels::all(db)
        .await?
        .into_iter()
        .filter_map(|l| Some((l.name, u8::try_from(l.level).ok()?)))
        .collect();
    Ok(ImportLevels { max, names })
}

/// Every agent already stored, by external code.
async fn existing(db: &Db) -> Result<HashMap<String, ExistingAgent>> {
    let rows = sqlx::query("SELECT id, code, path, depth FROM agents")
        .fetch_all(&db.pool)
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        out.insert(
            r.try_get("code")?,
            ExistingAgent {
                id: r.try_get("id")?,
                path: r.try_get("path")?,
                depth: r.try_get("depth")?,
            },
        );
    }
    Ok(out)
}

/// Checks and imports a file; nothing is stored unless every row is right.
#[tracing::instrument(skip_all, fields(bytes = bytes.len()))]
pub async fn import(
    db: &Db,
    actor: &Actor,
    bytes: &[u8],
    progress: Progress<'_>,
) -> Result<ImportReport> {
    progress("agents.import.stage_reading", 0, 0);
    let levels = import_levels(db).await?;
    let (rows, parse_problems, columns) = parse_file(bytes, &levels)?;
    progress("agents.import.stage_checking", 0, rows.len());
    let known = existing(db).await?;
    let next_id: i64 = sqlx::query("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) AS m FROM agents")
        .fetch_one(&db.pool)
        .await?
        .try_get("m")?;
    // The tree is checked even when some rows are malformed, so one run
    // lists every problem; a sponsor that is only "unknown" because its own
    // row was malformed is not reported twice.
    let plan = match (
        parse_problems.is_empty(),
        plan_forest(&rows, &known, next_id + 1),
    ) {
        (true, Ok(plan)) => plan,
        (_, result) => {
            let failed: std::collections::HashSet<&str> = parse_problems
                .iter()
                .map(|p| p.id.as_str())
                .filter(|id| !id.is_empty())
                .collect();
            let mut problems: Vec<Problem> = result
                .err()
                .unwrap_or_default()
                .into_iter()
                .filter(|p| {
                    !(p.kind == ProblemKind::UnknownSponsor && failed.contains(p.value.as_str()))
                })
                .map(|mut p| {
                    // The forest names columns as the spec does; say them
                    // as the file does (代理编号, 上级 …).
                    if let Some(c) = &columns {
                        p.column = c.header_of(&p.column).to_string();
                    }
                    p
                })
                .collect();
            problems.extend(parse_problems);
            problems.sort_by_key(|p| p.line);
            return Err(Error::ImportRejected(
                problems.into_iter().map(to_row_problem).collect(),
            ));
        }
    };
    drop(known);
    let now = now_ms();
    let total = plan.placed.len();
    let mut tx = db.begin_write().await?;
    // A big file is written fastest without the secondary indexes, which
    // are then rebuilt in one sorted pass each (inside the transaction:
    // a failure leaves the table as it was). SQLite also gets a larger page
    // cache for this connection while it works.
    let bulk = total >= BULK_ROWS;
    if db.engine == Engine::Sqlite {
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(&mut **tx)
            .await?;
    }
    if bulk {
        for (name, _) in SECONDARY_INDEXES {
            crate::db::dynamic(format!("DROP INDEX IF EXISTS {name}"))
                .execute(&mut **tx)
                .await?;
        }
    }
    for (i, chunk) in plan.placed.chunks(BATCH).enumerate() {
        insert_agents(&mut tx, db.engine, &rows, chunk, now).await?;
        progress(
            "agents.import.stage_writing",
            (i * BATCH + chunk.len()).min(total),
            total,
        );
    }
    for (id, team, direct) in &plan.existing_growth {
        sqlx::query("UPDATE agents SET team_size = team_size + $1, direct_count = direct_count + $2, updated_at = $3 WHERE id = $4")
            .bind(team)
            .bind(direct)
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    // Certificates for the active agents just written, straight from the
    // agents table in one statement: number, level, name and contacts as
    // they stand, valid for a year from now.
    let first_id = next_id + 1;
    let last_id = next_id + total as i64;
    progress("agents.import.stage_certificates", 0, total);
    let issued = certificates::issue_range(&mut tx, first_id, last_id, now).await?;
    if bulk {
        for (i, (name, on)) in SECONDARY_INDEXES.iter().enumerate() {
            crate::db::dynamic(format!("CREATE INDEX {name} ON {on}"))
                .execute(&mut **tx)
                .await?;
            progress(
                "agents.import.stage_indexing",
                i + 1,
                SECONDARY_INDEXES.len(),
            );
        }
    }
    if db.engine == Engine::Sqlite {
        sqlx::query("PRAGMA cache_size = -2000")
            .execute(&mut **tx)
            .await?;
    }
    if db.engine == Engine::Postgres {
        // Ids were chosen here, not by the sequence: move it past them.
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('agents', 'id'), (SELECT MAX(id) FROM agents))",
        )
        .execute(&mut **tx)
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("agent.import", "agent", "")
            .summary(format!(
                "{total} agents imported, {issued} certificates issued"
            ))
            .after(serde_json::json!({"agents": total, "certificates": issued})),
    )
    .await?;
    tx.commit().await?;
    progress("agents.import.stage_done", total, total);
    Ok(ImportReport {
        agents: total,
        certificates: issued,
    })
}

/// Writes a chunk of agents with ONE bound value: the rows as a JSON
/// array that the database unpacks itself. Per-statement costs dominate a
/// million small inserts through the driver (and many bound parameters in
/// one statement cost more than linearly), so this is the bulk path; the
/// SQL differs per engine only in how JSON is read.
async fn insert_agents(
    tx: &mut Tx<'_>,
    engine: Engine,
    rows: &[AgentRow],
    chunk: &[weiops_core::agents::Placed],
    now: i64,
) -> Result<()> {
    let data: Vec<serde_json::Value> = chunk
        .iter()
        .map(|p| {
            let r = &rows[p.row];
            serde_json::json!([
                p.id,
                r.id,
                r.name,
                r.phone,
                r.wechat,
                r.level,
                p.sponsor,
                p.path,
                p.depth,
                r.status.as_str(),
                r.joined_at_ms,
                p.team_size,
                p.direct_count
            ])
        })
        .collect();
    let sql = match engine {
        Engine::Sqlite => {
            "INSERT INTO agents (id, code, name, phone, wechat, level, sponsor_id, path, depth, status, joined_at, \
             team_size, direct_count, created_at, updated_at) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, \
             value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12, $2, $2 FROM json_each($1)"
        }
        Engine::Postgres => {
            "INSERT INTO agents (id, code, name, phone, wechat, level, sponsor_id, path, depth, status, joined_at, \
             team_size, direct_count, created_at, updated_at) \
             SELECT (e ->> 0)::bigint, e ->> 1, e ->> 2, e ->> 3, e ->> 4, (e ->> 5)::bigint, (e ->> 6)::bigint, e ->> 7, \
             (e ->> 8)::bigint, e ->> 9, (e ->> 10)::bigint, (e ->> 11)::bigint, (e ->> 12)::bigint, $2, $2 \
             FROM jsonb_array_elements($1::jsonb) AS e"
        }
    };
    sqlx::query(sql)
        .bind(serde_json::Value::Array(data).to_string())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
