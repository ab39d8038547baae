//! Importing orders.csv (or an .xlsx with the same columns): a brand's
//! historical paid and refunded orders, up to tens of millions of rows.
//!
//! The file is read as a stream, each row checked by
//! `weiops_core::orders` as it comes and written in batches inside ONE
//! transaction; any problem anywhere (a malformed value, an unknown buyer,
//! an id repeated in the file or already stored) rolls everything back and
//! the whole list of problems is reported by line. Memory stays small: the
//! file is never held as rows, ids are remembered as 64-bit hashes (a hash
//! seen twice is confirmed by a second read of the file before it is
//! reported as a duplicate).
//!
//! What an import changes besides the orders:
//! - `agent_team_sales` (the agent pages' "team purchases this month"): the
//!   buyer's own purchases and every ancestor's team purchases, per Beijing
//!   month, for the counted (paid) orders;
//! - the ledger: ONE entry per import for the counted orders' money,
//!   Dr 1002 bank / Cr 6001 sales revenue (historical orders were paid
//!   outside weiops; refunded ones netted out). Per-order entries would be
//!   ten million journal lines for nothing a report needs.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use sqlx::Row;
use weiops_core::ledger::{EntryLine, accounts};
use weiops_core::money::Fen;
use weiops_core::orders::{OrderColumns, OrderProblem, OrderProblemKind, OrderStatus};
use weiops_core::time::Period;

use crate::audit::{self, Actor, Change};
use crate::db::{Db, Engine, Tx, now_ms};
use crate::error::RowProblem;
use crate::ledger::{self, NewEntry};
use crate::{Error, Result};

/// Rows written per INSERT (as one JSON value).
const BATCH: usize = 10_000;
/// Problems listed at most; the rest are counted.
const MAX_PROBLEMS: usize = 1_000;
/// Bulk mode (indexes dropped and rebuilt) from this file size on.
const BULK_BYTES: u64 = 2_000_000;

/// Indexes dropped before a bulk import and built again after it (one
/// sort each instead of ten million scattered updates). Every index on
/// `orders` besides the unique order number and the partial indexes
/// belongs here: `orders_unpaid` never holds an imported order and
/// `orders_status_open` only the refunded few, kept up to date row by row.
const SECONDARY_INDEXES: &[(&str, &str)] = &[
    ("orders_paid_at", "orders(paid_at)"),
    ("orders_agent_paid", "orders(agent_id, paid_at)"),
];

/// Where the file comes from: an upload in memory or a path (read as a
/// stream, twice at most).
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

impl Source<'_> {
    fn is_xlsx(&self) -> Result<bool> {
        let mut head = [0u8; 2];
        match self {
            Source::Bytes(b) => Ok(b.starts_with(b"PK")),
            Source::File(p) => {
                let mut f =
                    std::fs::File::open(p).map_err(|_| Error::BadRequest("import.bad_file"))?;
                let n = f
                    .read(&mut head)
                    .map_err(|_| Error::BadRequest("import.bad_file"))?;
                Ok(n == 2 && &head == b"PK")
            }
        }
    }

    fn reader(&self) -> Result<Box<dyn Read + Send + '_>> {
        Ok(match self {
            Source::Bytes(b) => Box::new(Cursor::new(*b)),
            Source::File(p) => Box::new(BufReader::with_capacity(
                1 << 20,
                std::fs::File::open(p).map_err(|_| Error::BadRequest("import.bad_file"))?,
            )),
        })
    }

    fn size(&self) -> u64 {
        match self {
            Source::Bytes(b) => b.len() as u64,
            Source::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct OrdersReport {
    pub orders: usize,
    pub paid: usize,
    pub refunded: usize,
    /// Sum of `paid` over the counted orders, fen.
    pub paid_fen: i64,
}

/// Progress callback: (stage message key, done, total).
pub type Progress<'a> = &'a (dyn Fn(&'static str, usize, usize) + Send + Sync);

fn row_problem(p: OrderProblem) -> RowProblem {
    RowProblem {
        row: p.line,
        id: p.id,
        column: p.column,
        key: p.kind.key().to_string(),
        value: p.value,
    }
}

/// The cells of every data row, with its line number (header = line 1),
/// handed to `each`. UTF-8 (BOM allowed) or, per field, GBK.
/// A header without a required column ends the read with its problems.
fn for_each_row(
    source: Source<'_>,
    each: &mut dyn FnMut(&OrderColumns, usize, &[&str]),
) -> Result<std::result::Result<(), Vec<OrderProblem>>> {
    let mut columns: Option<OrderColumns> = None;
    if source.is_xlsx()? {
        let mut bytes = Vec::new();
        source
            .reader()?
            .read_to_end(&mut bytes)
            .map_err(|_| Error::BadRequest("import.bad_file"))?;
        let sheet = crate::org::transfer::xlsx_rows(&bytes)?;
        let mut rows = sheet.into_iter();
        let Some(h) = rows.next() else {
            return Err(Error::BadRequest("import.empty"));
        };
        let cols =
            match OrderColumns::from_header(&h.iter().map(String::as_str).collect::<Vec<_>>()) {
                Ok(c) => c,
                Err(p) => return Ok(Err(p)),
            };
        for (i, cells) in rows.enumerate() {
            if cells.iter().all(|c| c.is_empty()) {
                continue;
            }
            each(
                &cols,
                i + 2,
                &cells.iter().map(String::as_str).collect::<Vec<_>>(),
            );
        }
        return Ok(Ok(()));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(source.reader()?);
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    let mut texts: Vec<String> = Vec::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => return Err(Error::BadRequest("import.bad_file")),
        }
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        texts.clear();
        for (i, field) in record.iter().enumerate() {
            let field = if first && i == 0 {
                field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
            } else {
                field
            };
            match std::str::from_utf8(field) {
                Ok(t) => texts.push(t.to_string()),
                Err(_) => {
                    let (decoded, _, bad) = encoding_rs::GBK.decode(field);
                    if bad {
                        return Err(Error::BadRequest("import.bad_encoding"));
                    }
                    texts.push(decoded.into_owned());
                }
            }
        }
        let cells: Vec<&str> = texts.iter().map(String::as_str).collect();
        if first {
            first = false;
            match OrderColumns::from_header(&cells) {
                Ok(c) => columns = Some(c),
                Err(p) => return Ok(Err(p)),
            }
            continue;
        }
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if let Some(cols) = columns.as_ref() {
            each(cols, line, &cells);
        }
    }
    if first {
        return Err(Error::BadRequest("import.empty"));
    }
    Ok(Ok(()))
}

fn id_hash(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// A checked row waiting to be written.
struct Pending {
    line: usize,
    order_no: String,
    agent_id: i64,
    buyer_level: u8,
    retail: i64,
    paid: i64,
    status: OrderStatus,
    paid_at: i64,
}

/// Checks and imports a file of orders; nothing is stored unless every row
/// is right.
#[tracing::instrument(skip_all)]
pub async fn import(
    db: &Db,
    actor: &Actor,
    source: Source<'_>,
    progress: Progress<'_>,
) -> Result<OrdersReport> {
    progress("orders.import.stage_reading", 0, 0);
    let plan = crate::rewards::plan::current(db).await?.plan;
    let levels = u8::try_from(plan.levels()).unwrap_or(9).clamp(1, 9);

    // Every agent: code → (id, index); sponsor indexes for team sales.
    let rows = crate::agents::tree::load(db).await?;
    let mut by_code: HashMap<String, u32> = HashMap::with_capacity(rows.len());
    let mut ids: Vec<i64> = Vec::with_capacity(rows.len());
    let mut sponsor_ids: Vec<Option<i64>> = Vec::with_capacity(rows.len());
    for (i, r) in rows.into_iter().enumerate() {
        by_code.insert(r.code, i as u32);
        ids.push(r.id);
        sponsor_ids.push(r.sponsor_id);
    }
    let index_of: HashMap<i64, u32> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u32))
        .collect();
    let sponsor: Vec<Option<u32>> = sponsor_ids
        .iter()
        .map(|s| s.and_then(|s| index_of.get(&s).copied()))
        .collect();
    drop(index_of);
    drop(sponsor_ids);

    // A settled month's rewards are fixed: its orders are refused by row.
    let settled: std::collections::HashSet<Period> =
        sqlx::query("SELECT period FROM settlement_runs WHERE status <> 'draft'")
            .fetch_all(&db.pool)
            .await?
            .iter()
            .filter_map(|r| r.try_get::<String, _>("period").ok())
            .filter_map(|p| Period::parse(&p))
            .collect();
    let stored_before: i64 = sqlx::query("SELECT COUNT(*) AS n FROM orders")
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    let bulk = source.size() >= BULK_BYTES;

    // On SQLite the import runs on a connection of its own, closed (not
    // returned to the pool) when the import ends, whatever happens: its
    // pragmas never reach another request.
    //
    // `foreign_keys = OFF` (only possible outside a transaction): checking
    // `agent_id REFERENCES agents` costs a B-tree search per row, which
    // doubled the insert time of ten million rows (34 s → 72 s measured).
    // Nothing is lost: the reader resolves every buyer against the agents
    // loaded above and refuses the whole file on an unknown one, and agents
    // are never deleted (terminated is a status).
    let mut conn = db.pool.acquire().await?;
    if db.engine == Engine::Sqlite {
        conn.close_on_drop();
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(&mut *conn)
            .await?;
    }
    let started = std::time::Instant::now();
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if bulk {
        for (name, _) in SECONDARY_INDEXES {
            crate::db::dynamic(format!("DROP INDEX IF EXISTS {name}"))
                .execute(&mut *tx)
                .await?;
        }
        if stored_before == 0 {
            sqlx::query("DROP INDEX IF EXISTS orders_order_no")
                .execute(&mut *tx)
                .await?;
        }
    }

    // Reading is synchronous; batches are handed to the async writer
    // through a small channel so parsing and writing overlap.
    let (send, mut recv) = tokio::sync::mpsc::channel::<Vec<Pending>>(2);
    let reader_state = std::sync::Arc::new(std::sync::Mutex::new(ReadState::default()));
    let state = reader_state.clone();
    let path: Option<PathBuf> = match source {
        Source::File(p) => Some(p.to_path_buf()),
        Source::Bytes(_) => None,
    };
    let bytes: Option<Vec<u8>> = match source {
        Source::Bytes(b) => Some(b.to_vec()),
        Source::File(_) => None,
    };
    let plan_for_reader = plan.clone();
    let ids = std::sync::Arc::new(ids);
    let ids_for_reader = ids.clone();
    let failed = std::sync::Arc::new(AtomicBool::new(false));
    let failed_for_reader = failed.clone();
    let reader = tokio::task::spawn_blocking(move || -> Result<()> {
        let source = match (&path, &bytes) {
            (Some(p), _) => Source::File(p),
            (None, Some(b)) => Source::Bytes(b),
            (None, None) => return Ok(()),
        };
        read_rows(
            source,
            RowReader {
                levels,
                settled: &settled,
                plan: &plan_for_reader,
                by_code: &by_code,
                ids: &ids_for_reader,
                state: &state,
                failed: &failed_for_reader,
                send: &send,
            },
        )
    });

    let now = now_ms();
    let mut written = 0usize;
    while let Some(batch) = recv.recv().await {
        if stored_before > 0 {
            let existing = already_stored(&mut tx, db.engine, &batch).await?;
            if !existing.is_empty() {
                let mut st = reader_state
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?;
                for (no, line) in existing {
                    st.problem(OrderProblem::new(
                        line,
                        &no,
                        "id",
                        OrderProblemKind::AlreadyExists,
                        &no,
                    ));
                }
                failed.store(true, Ordering::Relaxed);
                continue;
            }
        }
        if failed.load(Ordering::Relaxed) {
            continue;
        }
        written += batch.len();
        insert_orders(&mut tx, db.engine, batch, now).await?;
        progress("orders.import.stage_writing", written, 0);
    }
    reader
        .await
        .map_err(|e| anyhow::anyhow!("reader task: {e}"))??;

    let mut st = std::mem::take(
        &mut *reader_state
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?,
    );
    if stored_before > 0 && !st.unparsed_ids.is_empty() {
        let probes: Vec<Pending> = std::mem::take(&mut st.unparsed_ids)
            .into_iter()
            .map(|(line, order_no)| Pending {
                line,
                order_no,
                agent_id: 0,
                buyer_level: 0,
                retail: 0,
                paid: 0,
                status: OrderStatus::Paid,
                paid_at: 0,
            })
            .collect();
        for (no, line) in already_stored(&mut tx, db.engine, &probes).await? {
            st.problem(OrderProblem::new(
                line,
                &no,
                "id",
                OrderProblemKind::AlreadyExists,
                &no,
            ));
        }
    }
    if !st.duplicate_candidates.is_empty() {
        confirm_duplicates(source, &mut st)?;
    }
    if st.problems_total > 0 {
        drop(tx); // rolls back
        let mut problems = st.problems;
        problems.sort_by_key(|p| p.line);
        let mut rows: Vec<RowProblem> = problems.into_iter().map(row_problem).collect();
        if st.problems_total > rows.len() {
            rows.push(RowProblem {
                row: 0,
                id: String::new(),
                column: String::new(),
                key: "import.more_problems".into(),
                value: (st.problems_total - rows.len()).to_string(),
            });
        }
        return Err(Error::ImportRejected(rows));
    }
    if st.rows == 0 {
        return Err(Error::BadRequest("import.empty"));
    }

    tracing::info!(
        rows = st.rows,
        seconds = started.elapsed().as_secs_f64(),
        "orders read and written"
    );
    if bulk {
        if db.engine == Engine::Sqlite {
            // Measured on ten million rows: SQLite's sorter is fastest with
            // small runs merged by a second thread (paid_at: 14.5 s with the
            // 256 MiB cache, 8.8 s like this).
            sqlx::query("PRAGMA cache_size = -8000")
                .execute(&mut *tx)
                .await?;
            sqlx::query("PRAGMA threads = 2").execute(&mut *tx).await?;
        }
        if stored_before == 0 {
            progress(
                "orders.import.stage_indexing",
                0,
                SECONDARY_INDEXES.len() + 1,
            );
            sqlx::query("CREATE UNIQUE INDEX orders_order_no ON orders(order_no)")
                .execute(&mut *tx)
                .await?;
        }
        for (i, (name, on)) in SECONDARY_INDEXES.iter().enumerate() {
            crate::db::dynamic(format!("CREATE INDEX {name} ON {on}"))
                .execute(&mut *tx)
                .await?;
            progress(
                "orders.import.stage_indexing",
                i + 2,
                SECONDARY_INDEXES.len() + 1,
            );
        }
    }

    tracing::info!(seconds = started.elapsed().as_secs_f64(), "orders indexed");
    progress("orders.import.stage_team_sales", 0, 0);
    add_team_sales(&mut tx, db.engine, &ids, &sponsor, &st.own_sales).await?;

    let report = OrdersReport {
        orders: st.rows,
        paid: st.paid_rows,
        refunded: st.rows - st.paid_rows,
        paid_fen: st.paid_fen,
    };
    if report.paid_fen > 0 {
        ledger::post(
            &mut tx,
            db.engine,
            actor,
            NewEntry {
                at: now,
                memo: format!(
                    "导入历史订单 {} 笔（已付款 {} 笔）",
                    report.orders, report.paid
                ),
                source: "order_import",
                source_id: String::new(),
                lines: vec![
                    EntryLine::debit(accounts::BANK, None, Fen(report.paid_fen)),
                    EntryLine::credit(accounts::SALES_REVENUE, None, Fen(report.paid_fen)),
                ],
                guard_wallets: false,
            },
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("order.import", "order", "")
            .summary(format!(
                "{} orders imported ({} paid, {} refunded), paid {}",
                report.orders,
                report.paid,
                report.refunded,
                Fen(report.paid_fen)
            ))
            .after(serde_json::to_value(&report).map_err(anyhow::Error::from)?),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "orders import committed"
    );
    progress("orders.import.stage_done", report.orders, report.orders);
    Ok(report)
}

#[derive(Default)]
struct ReadState {
    rows: usize,
    paid_rows: usize,
    paid_fen: i64,
    problems: Vec<OrderProblem>,
    problems_total: usize,
    /// (line, first line with the same id hash, id)
    duplicate_candidates: Vec<(usize, usize, String)>,
    /// Ids of rows that did not parse, to check against stored orders too.
    unparsed_ids: Vec<(usize, String)>,
    /// Own counted purchases per (agent index, period) in fen.
    own_sales: HashMap<(u32, Period), i64>,
}

impl ReadState {
    fn problem(&mut self, p: OrderProblem) {
        self.problems_total += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        }
    }
}

/// What the reading thread needs: how to check a row, and where to hand
/// batches and problems.
struct RowReader<'a> {
    levels: u8,
    /// Months whose settlement is approved or paid.
    settled: &'a std::collections::HashSet<Period>,
    plan: &'a weiops_core::rewards::Plan,
    by_code: &'a HashMap<String, u32>,
    ids: &'a [i64],
    state: &'a std::sync::Mutex<ReadState>,
    failed: &'a AtomicBool,
    send: &'a tokio::sync::mpsc::Sender<Vec<Pending>>,
}

fn read_rows(source: Source<'_>, r: RowReader<'_>) -> Result<()> {
    let RowReader {
        levels,
        settled,
        plan,
        by_code,
        ids,
        state,
        failed,
        send,
    } = r;
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
    let mut local = ReadState::default();
    let mut closed = false;
    let header = for_each_row(source, &mut |cols, line, cells| {
        local.rows += 1;
        // The id and the buyer are checked even on a malformed row, so
        // one run lists every problem of the file.
        let id = cols.id_of(cells).unwrap_or("");
        if !id.is_empty() {
            match seen.entry(id_hash(id)) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    local
                        .duplicate_candidates
                        .push((line, *first.get() as usize, id.to_string()));
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(line as u32);
                }
            }
        }
        let agent_code = cols.agent_of(cells).unwrap_or("");
        let agent = by_code.get(agent_code).copied();
        if agent.is_none()
            && !agent_code.is_empty()
            && agent_code.chars().count() <= weiops_core::orders::MAX_ID_CHARS
        {
            local.problem(OrderProblem::new(
                line,
                id,
                "agent_id",
                OrderProblemKind::UnknownAgent,
                agent_code,
            ));
        }
        let row = match cols.parse(line, cells, levels) {
            Ok(r) => r,
            Err(ps) => {
                for p in ps {
                    local.problem(p);
                }
                if !id.is_empty() && local.unparsed_ids.len() < MAX_PROBLEMS {
                    local.unparsed_ids.push((line, id.to_string()));
                }
                return;
            }
        };
        if let Some(period) = Period::containing(row.paid_at_ms).filter(|p| settled.contains(p)) {
            local.problem(OrderProblem::new(
                line,
                id,
                "paid_at",
                OrderProblemKind::SettledPeriod,
                &period.to_string(),
            ));
        }
        if local.problems_total > 0 {
            failed.store(true, Ordering::Relaxed);
        }
        let Some(agent) = agent else { return };
        let paid = weiops_core::rewards::paid(plan, row.retail, row.buyer_level).0;
        if row.status == OrderStatus::Paid {
            local.paid_rows += 1;
            local.paid_fen = local.paid_fen.saturating_add(paid);
            if let Some(period) = Period::containing(row.paid_at_ms) {
                let e = local.own_sales.entry((agent, period)).or_default();
                *e = e.saturating_add(paid);
            }
        }
        batch.push(Pending {
            line,
            order_no: row.id,
            agent_id: ids[agent as usize],
            buyer_level: row.buyer_level,
            retail: row.retail.0,
            paid,
            status: row.status,
            paid_at: row.paid_at_ms,
        });
        if batch.len() >= BATCH && !closed {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            // Batches go on after a problem: the writer still checks
            // them for stored ids, it only stops writing.
            if send.blocking_send(full).is_err() {
                closed = true;
            }
        }
    })?;
    if let Err(header_problems) = header {
        for p in header_problems {
            local.problem(p);
        }
    }
    if local.problems_total > 0 {
        failed.store(true, Ordering::Relaxed);
    }
    if !batch.is_empty() && !closed {
        let _ = send.blocking_send(batch);
    }
    let mut st = state.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    // Problems found by the writer (stored ids) come first in `st`.
    let writer_problems = std::mem::take(&mut st.problems);
    let writer_total = st.problems_total;
    *st = local;
    for p in writer_problems {
        st.problems.push(p);
    }
    st.problems_total += writer_total;
    Ok(())
}

/// A second read of the file for the ids whose hashes repeated: report the
/// real duplicates (second and later occurrences, naming the first line).
fn confirm_duplicates(source: Source<'_>, st: &mut ReadState) -> Result<()> {
    let mut wanted: HashMap<usize, Option<String>> = HashMap::new();
    for (_, first, _) in &st.duplicate_candidates {
        wanted.insert(*first, None);
    }
    let _ = for_each_row(source, &mut |cols, line, cells| {
        if let Some(slot) = wanted.get_mut(&line) {
            *slot = cols.id_of(cells).map(str::to_string);
        }
    })?;
    let candidates = std::mem::take(&mut st.duplicate_candidates);
    for (line, first, id) in candidates {
        if wanted.get(&first).and_then(|v| v.as_deref()) == Some(id.as_str()) {
            st.problem(OrderProblem::new(
                line,
                &id,
                "id",
                OrderProblemKind::DuplicateId,
                &format!("first at line {first}"),
            ));
        }
    }
    Ok(())
}

/// Order numbers of the batch that are stored already, with their lines.
async fn already_stored(
    tx: &mut Tx<'_>,
    engine: Engine,
    batch: &[Pending],
) -> Result<Vec<(String, usize)>> {
    let nos: Vec<&str> = batch.iter().map(|p| p.order_no.as_str()).collect();
    let sql = match engine {
        Engine::Sqlite => {
            "SELECT order_no FROM orders WHERE order_no IN (SELECT value FROM json_each($1))"
        }
        Engine::Postgres => {
            "SELECT order_no FROM orders WHERE order_no IN (SELECT jsonb_array_elements_text($1::jsonb))"
        }
    };
    let rows = sqlx::query(sql)
        .bind(serde_json::to_string(&nos).map_err(anyhow::Error::from)?)
        .fetch_all(&mut **tx)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let no: String = r.try_get("order_no")?;
        let line = batch
            .iter()
            .find(|p| p.order_no == no)
            .map_or(0, |p| p.line);
        out.push((no, line));
    }
    Ok(out)
}

async fn insert_orders(
    tx: &mut Tx<'_>,
    engine: Engine,
    batch: Vec<Pending>,
    now: i64,
) -> Result<()> {
    match engine {
        Engine::Sqlite => insert_orders_sqlite(tx, batch, now).await,
        Engine::Postgres => insert_orders_postgres(tx, &batch, now).await,
    }
}

/// SQLite: prepared multi-row INSERTs (`db::insert_rows`), 500 rows of 8
/// parameters each.
async fn insert_orders_sqlite(tx: &mut Tx<'_>, batch: Vec<Pending>, now: i64) -> Result<()> {
    // `now` is a number weiops made, written into the text.
    let row = format!("(?,?,?,?,?,?,?,?,'import',{now},{now})");
    crate::db::insert_rows(
        tx,
        (
            "INSERT INTO orders (order_no, agent_id, buyer_level, retail_fen, paid_fen, status, counted, paid_at, \
             source, created_at, updated_at) VALUES",
            &row,
            "",
        ),
        500,
        batch,
        |q, p| {
            // A refunded order of the file was paid and then refunded; when
            // is not known, so `refunded_at` stays empty.
            q.bind(p.order_no)
                .bind(p.agent_id)
                .bind(i64::from(p.buyer_level))
                .bind(p.retail)
                .bind(p.paid)
                .bind(p.status.as_str())
                .bind(i64::from(p.status == OrderStatus::Paid))
                .bind(p.paid_at)
        },
    )
    .await
}

async fn insert_orders_postgres(tx: &mut Tx<'_>, batch: &[Pending], now: i64) -> Result<()> {
    let data: Vec<serde_json::Value> = batch
        .iter()
        .map(|p| {
            let counted = i64::from(p.status == OrderStatus::Paid);
            serde_json::json!([
                p.order_no,
                p.agent_id,
                p.buyer_level,
                p.retail,
                p.paid,
                p.status.as_str(),
                counted,
                p.paid_at
            ])
        })
        .collect();
    // A refunded order of the file was paid and then refunded; when is not
    // known, so `refunded_at` stays empty.
    sqlx::query(
        "INSERT INTO orders (order_no, agent_id, buyer_level, retail_fen, paid_fen, status, counted, source, paid_at, \
         created_at, updated_at) \
         SELECT e ->> 0, (e ->> 1)::bigint, (e ->> 2)::bigint, (e ->> 3)::bigint, (e ->> 4)::bigint, e ->> 5, \
         (e ->> 6)::bigint, 'import', (e ->> 7)::bigint, $2, $2 FROM jsonb_array_elements($1::jsonb) AS e",
    )
    .bind(serde_json::Value::Array(data).to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds counted purchases to `agent_team_sales`: the buyer's own, and the
/// team figure of the buyer and every ancestor, per month.
pub async fn add_team_sales(
    tx: &mut Tx<'_>,
    engine: Engine,
    ids: &[i64],
    sponsor: &[Option<u32>],
    own: &HashMap<(u32, Period), i64>,
) -> Result<()> {
    let mut periods: Vec<Period> = own.keys().map(|(_, p)| *p).collect();
    periods.sort();
    periods.dedup();
    for period in periods {
        let mut team = vec![0i64; sponsor.len()];
        let mut own_of = vec![0i64; sponsor.len()];
        for ((agent, p), amount) in own {
            if *p != period {
                continue;
            }
            own_of[*agent as usize] = *amount;
            let mut cur = Some(*agent);
            let mut steps = 0usize;
            while let Some(c) = cur {
                team[c as usize] = team[c as usize].saturating_add(*amount);
                cur = sponsor[c as usize];
                steps += 1;
                if steps > sponsor.len() {
                    break; // a cycle cannot exist; never loop forever
                }
            }
        }
        let rows: Vec<[i64; 3]> = team
            .iter()
            .enumerate()
            .filter(|(_, t)| **t != 0)
            .map(|(i, t)| [ids[i], own_of[i], *t])
            .collect();
        drop(team);
        upsert_team_sales(tx, engine, period, &rows).await?;
    }
    Ok(())
}

/// Adds (agent id, own, team) amounts to one month of `agent_team_sales`:
/// on SQLite as prepared multi-row upserts with bound values, on
/// PostgreSQL as JSON batches.
async fn upsert_team_sales(
    tx: &mut Tx<'_>,
    engine: Engine,
    period: Period,
    rows: &[[i64; 3]],
) -> Result<()> {
    const UPSERT: &str = " ON CONFLICT (agent_id, period) DO UPDATE SET own_fen = agent_team_sales.own_fen + excluded.own_fen, \
         team_fen = agent_team_sales.team_fen + excluded.team_fen";
    match engine {
        Engine::Sqlite => {
            // The period is a `Period` written as YYYY-MM, digits and a
            // dash: safe in the statement's text.
            let row = format!("(?,'{period}',?,?)");
            crate::db::insert_rows(
                tx,
                (
                    "INSERT INTO agent_team_sales (agent_id, period, own_fen, team_fen) VALUES",
                    &row,
                    UPSERT,
                ),
                1_000,
                rows,
                |q, [agent, own, team]| q.bind(*agent).bind(*own).bind(*team),
            )
            .await?;
        }
        Engine::Postgres => {
            for chunk in rows.chunks(BATCH) {
                crate::db::dynamic(format!(
                    "INSERT INTO agent_team_sales (agent_id, period, own_fen, team_fen) \
                     SELECT (e ->> 0)::bigint, $2, (e ->> 1)::bigint, (e ->> 2)::bigint FROM jsonb_array_elements($1::jsonb) AS e{UPSERT}"
                ))
                .bind(serde_json::to_string(chunk).map_err(anyhow::Error::from)?)
                .bind(period.to_string())
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}
