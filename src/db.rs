//! The one database pool, on SQLite or PostgreSQL, through sqlx's `Any`
//! driver so that every query is written once for both engines.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

/// A transaction on the shared pool.
pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a connection talks to.
    pub fn of(conn: &sqlx::AnyConnection) -> Engine {
        match conn.backend_name() {
            "SQLite" => Engine::Sqlite,
            _ => Engine::Postgres,
        }
    }

    /// The aggregate joining the text `expr` of a group's rows with `sep`
    /// (`group_concat` / `string_agg`); the order of the rows is the
    /// engine's.
    pub fn string_agg(self, expr: &str, sep: &str) -> String {
        match self {
            Engine::Sqlite => format!("group_concat({expr}, '{sep}')"),
            Engine::Postgres => format!("string_agg({expr}, '{sep}')"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub engine: Engine,
    /// SQLite only: taken by [`Db::begin_write`] for the whole of a write
    /// transaction. SQLite runs one writer at a time; without the gate,
    /// concurrent writers wait for its lock in the busy handler, which
    /// sleeps (1, 2, 5 … 100 ms) and polls, so under load they queue
    /// slowly and out of order. Behind the gate they queue in the process,
    /// first come first served, and each finds the lock free. PostgreSQL
    /// locks rows and needs none.
    write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
    /// SQLite only: the one connection that every write behind the gate
    /// uses. SQLite empties a connection's page cache whenever another
    /// connection has changed the database since its last transaction;
    /// were the gate's holder any connection of `pool`, each batch of
    /// orders would start cold and read again the ~1,500 index pages it
    /// touches. The dedicated connection made the changes itself and finds
    /// them cached.
    writer: Option<AnyPool>,
    /// Orders being placed, written in batches (`orders::placing`).
    pub(crate) placing: Arc<crate::orders::placing::Queue>,
}

/// A write transaction from [`Db::begin_write`]: a [`Tx`] that holds the
/// SQLite write gate until it is committed or dropped (rolled back).
pub struct WriteTx {
    // Dropped in this order: the transaction (rollback) before the gate.
    tx: Tx<'static>,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, _gate } = self;
        tx.commit().await
    }

    /// Rolls back now, before the gate opens (dropping a transaction only
    /// queues its rollback on the connection).
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, _gate } = self;
        tx.rollback().await
    }
}

impl Deref for WriteTx {
    type Target = Tx<'static>;

    fn deref(&self) -> &Tx<'static> {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Tx<'static> {
        &mut self.tx
    }
}

impl Db {
    pub fn new(pool: AnyPool, engine: Engine) -> Db {
        Db {
            pool,
            engine,
            write_gate: (engine == Engine::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(()))),
            writer: None,
            placing: Arc::default(),
        }
    }

    /// The pool whose connections write behind the gate: the dedicated
    /// writer when there is one, else the shared pool.
    fn write_pool(&self) -> &AnyPool {
        self.writer.as_ref().unwrap_or(&self.pool)
    }

    /// Closes the pools: their connections end (on SQLite the last one
    /// copies the WAL back and removes it).
    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }

    /// Waits for the SQLite write gate (`None` on PostgreSQL, which has none).
    async fn lock_gate(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_gate {
            Some(g) => Some(g.clone().lock_owned().await),
            None => None,
        }
    }

    /// Begins a transaction that writes, behind the SQLite write gate (the
    /// `write_gate` field); on PostgreSQL the same as `pool.begin()`.
    /// Read what can be read before calling it, and hold no pool connection
    /// while calling it: the gate's holder may need one to go on.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let gate = self.lock_gate().await;
        // SQLite: IMMEDIATE takes the write lock at once (waiting in the
        // busy handler if a writer outside the gate has it). A deferred
        // transaction that reads first would fail at its first write,
        // without waiting, if another connection had written meanwhile.
        let tx = match self.engine {
            Engine::Sqlite => self.write_pool().begin_with("BEGIN IMMEDIATE").await?,
            Engine::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, _gate: gate })
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub fn engine_of(url: &str) -> anyhow::Result<Engine> {
    if url.starts_with("sqlite:") {
        Ok(Engine::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Engine::Postgres)
    } else {
        anyhow::bail!("unsupported database URL {url:?}: use sqlite://… or postgres://…")
    }
}

/// The file of a SQLite URL.
fn sqlite_path(url: &str) -> &str {
    url.trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or("")
}

/// Adds `mode=rwc` to a SQLite URL (create the file when missing) and makes
/// sure its folder exists.
fn prepare_sqlite_url(url: &str) -> anyhow::Result<String> {
    let path = sqlite_path(url);
    if path.is_empty() || path == ":memory:" {
        anyhow::bail!(
            "SQLite needs a file path (an in-memory database is one per connection): {url:?}"
        );
    }
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the data folder {}", parent.display()))?;
    }
    if url.contains("mode=") {
        Ok(url.to_string())
    } else if url.contains('?') {
        Ok(format!("{url}&mode=rwc"))
    } else {
        Ok(format!("{url}?mode=rwc"))
    }
}

/// Who copies SQLite's WAL back into the database file (a checkpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoints {
    /// The writer whose commit takes the WAL past 10,000 pages: commands
    /// that run once and exit (the WAL is removed when their pool closes).
    OnCommit,
    /// A background task every 100 ms, never a writer: a long-running
    /// server. A checkpoint at commit copied ~40 MB while holding the write
    /// gate (a 60 ms commit every second or two under load); in the
    /// background it runs beside the writers.
    Background,
}

/// Connects, checking the database answers within a few seconds so that a
/// wrong URL is a clear error at start rather than a hang.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
    connect_with(url, max_connections, Checkpoints::OnCommit).await
}

/// [`connect`], saying who checkpoints a SQLite database.
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    checkpoints: Checkpoints,
) -> anyhow::Result<Db> {
    sqlx::any::install_default_drivers();
    let engine = engine_of(url)?;
    let url = match engine {
        Engine::Sqlite => prepare_sqlite_url(url)?,
        Engine::Postgres => url.to_string(),
    };
    let options = AnyConnectOptions::from_str(&url)
        .with_context(|| format!("invalid database URL {}", redact(&url)))?
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
    // Pages cached per connection: the writer keeps more, see `Db::writer`.
    let pool_of = |size: u32, cache_kib: u32| {
        AnyPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if Engine::of(conn) == Engine::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "PRAGMA cache_size = -{cache_kib}"
                        )))
                        .await?;
                        conn.execute(match checkpoints {
                            Checkpoints::OnCommit => "PRAGMA wal_autocheckpoint = 10000",
                            Checkpoints::Background => "PRAGMA wal_autocheckpoint = 0",
                        })
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options.clone())
    };
    // A 32 MiB page cache per connection (SQLite's default is 2 MiB) keeps
    // the upper levels of the indexes of 10M orders in memory; the writer's
    // 128 MiB also keeps the index pages that orders being placed touch.
    let pool = pool_of(
        match engine {
            // SQLite has one writer; a few readers beside it are plenty.
            Engine::Sqlite => max_connections.clamp(1, 8),
            Engine::Postgres => max_connections.max(1),
        },
        32 * 1024,
    )
    .await
    .with_context(|| format!("cannot connect to the database at {}", redact(&url)))?;
    let mut db = Db::new(pool, engine);
    if engine == Engine::Sqlite {
        db.writer = Some(
            pool_of(1, 128 * 1024)
                .await
                .with_context(|| format!("cannot connect to the database at {}", redact(&url)))?,
        );
    }
    if engine == Engine::Sqlite && checkpoints == Checkpoints::Background {
        tokio::spawn(background_checkpoints(
            db.clone(),
            Path::new(sqlite_path(&url)).to_path_buf(),
        ));
    }
    Ok(db)
}

/// WAL pages past which the WAL is started again from its beginning when
/// writes are few (fewer than `QUIET_PAGES` new pages in 100 ms), and past
/// which it is in any case (`WAL_MAX_PAGES`, 1 GiB, about 6 s of orders
/// placed at 3,000 a second). Restarting holds the writers for 10–42 ms
/// (measured under load).
const WAL_RESTART_PAGES: i64 = 20_000;
const QUIET_PAGES: i64 = 2_000;
const WAL_MAX_PAGES: i64 = 262_144;

/// SQLite: copies the WAL back into the database file every 100 ms
/// (PASSIVE: beside the writers and readers, never blocking them).
///
/// The WAL starts again from its beginning only when a writer begins
/// after a copy caught up with all of it and no read that began before is
/// still going on; under a steady stream of writes that moment never
/// comes, and the WAL grows. So when it is long it is restarted behind the
/// write gate, where no write can come between the copy and the restart:
/// a RESTART checkpoint, which waits a few milliseconds for the reads in
/// progress (new ones read the database file alone).
///
/// A copy that catches up with the whole WAL ends with an fsync of the
/// database file, and only such a copy does: the copies made while writers
/// go on leave their pages to the OS. Behind the gate that fsync would
/// flush seconds of copies (140–160 ms measured under load, every writer
/// waiting); the file is flushed first, outside the gate, and the copy
/// behind it flushes only its own pages. Ends when the pool closes.
async fn background_checkpoints(db: Db, path: std::path::PathBuf) {
    use sqlx::Row;
    async fn passive(pool: &AnyPool) -> Option<(i64, i64)> {
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await
        {
            // (busy, pages in the WAL, pages copied)
            Ok(row) => Some((
                row.try_get::<i64, _>(1).unwrap_or(0),
                row.try_get::<i64, _>(2).unwrap_or(0),
            )),
            Err(e) => {
                if !pool.is_closed() {
                    tracing::warn!("WAL checkpoint failed: {e}");
                }
                None
            }
        }
    }
    // Opened once and never closed: closing a descriptor of the database
    // file would release the POSIX locks SQLite's own descriptors hold on
    // it (such locks belong to the process, not to the descriptor).
    let file: Option<&'static std::fs::File> = match std::fs::File::open(&path) {
        Ok(f) => Some(Box::leak(Box::new(f))),
        Err(e) => {
            tracing::warn!("cannot open {} to flush it: {e}", path.display());
            None
        }
    };
    let pool = db.pool.clone();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut before = 0;
    while !pool.is_closed() {
        tick.tick().await;
        let Some((pages, _)) = passive(&pool).await else {
            continue;
        };
        let quiet = pages < before + QUIET_PAGES;
        before = pages;
        if pages > WAL_MAX_PAGES || (pages > WAL_RESTART_PAGES && quiet) {
            // Flushed until a flush is quick (little was copied since the
            // one before), copying what came meanwhile.
            for _ in 0..3 {
                if flush(file, &path).await < Duration::from_millis(20) {
                    break;
                }
                passive(&pool).await;
            }
            let started = std::time::Instant::now();
            let _gate = db.lock_gate().await;
            let restarted = restart(&pool).await;
            tracing::debug!(
                pages,
                restarted,
                ms = started.elapsed().as_secs_f64() * 1e3,
                "WAL restarted behind the write gate"
            );
        }
    }
}

/// Flushes the database file to disk (fsync); how long it took.
async fn flush(file: Option<&'static std::fs::File>, path: &Path) -> Duration {
    let started = std::time::Instant::now();
    if let Some(file) = file {
        match tokio::task::spawn_blocking(move || file.sync_data()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("cannot flush {}: {e}", path.display()),
            Err(e) => tracing::warn!("flushing {} failed: {e}", path.display()),
        }
    }
    started.elapsed()
}

/// Copies the rest of the WAL and starts it again from its beginning
/// (RESTART checkpoint), waiting at most `RESTART_WAIT` for the reads
/// that began before the copy ended; whether it did. Call it behind the
/// write gate.
async fn restart(pool: &AnyPool) -> bool {
    use sqlx::Row;
    let Ok(mut conn) = pool.acquire().await else {
        return false;
    };
    let done = async {
        conn.execute(RESTART_WAIT).await?;
        let row = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
            .fetch_one(&mut *conn)
            .await;
        conn.execute("PRAGMA busy_timeout = 5000").await?;
        // (busy, pages in the WAL, pages copied)
        Ok::<bool, sqlx::Error>(row?.try_get::<i64, _>(0)? == 0)
    }
    .await;
    match done {
        Ok(restarted) => restarted,
        Err(e) => {
            // Its busy timeout may still be the short one.
            conn.close_on_drop();
            tracing::warn!("WAL restart failed: {e}");
            false
        }
    }
}

/// How long a WAL restart waits for reads in progress (SQLite's busy
/// handler sleeps 1, 2, 5, 10 … ms): a long read (an export) is not waited
/// for, the writers queued behind the gate would wait with it.
const RESTART_WAIT: &str = "PRAGMA busy_timeout = 20";

/// Brings the schema up to date.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    let migrator = match db.engine {
        Engine::Sqlite => &SQLITE_MIGRATIONS,
        Engine::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator
        .run(&db.pool)
        .await
        .context("database migration failed")?;
    Ok(())
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The number a document carries (`PO`, `TH`, `SH` …): the prefix, the
/// Beijing date and 8 random digits. Readable on a waybill, not guessable;
/// uniqueness is the table's index (callers retry or refuse a clash).
pub fn document_no(prefix: &str, now: i64) -> String {
    let day = weiops_core::time::beijing_date(now)
        .map(|d| d.strftime("%Y%m%d").to_string())
        .unwrap_or_default();
    let mut n = [0u8; 8];
    let _ = getrandom::fill(&mut n);
    format!("{prefix}{day}{:08}", u64::from_le_bytes(n) % 100_000_000)
}

/// A text column read into a domain type (a status enum) through its
/// parser; a value the parser refuses is a decoding error, not a default.
pub fn parsed<T>(
    row: &sqlx::any::AnyRow,
    column: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    use sqlx::Row;
    let text: String = row.try_get(column)?;
    parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("unexpected value {text:?}").into(),
    })
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Turns a unique-constraint violation into a user-facing error. SQLite
/// reports no constraint name through the `Any` driver, so callers say what
/// the conflict means in their context.
pub trait UniqueViolation<T> {
    fn on_unique(self, err: crate::Error) -> crate::Result<T>;
}

impl<T> UniqueViolation<T> for Result<T, sqlx::Error> {
    fn on_unique(self, err: crate::Error) -> crate::Result<T> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => err,
            _ => crate::Error::from(e),
        })
    }
}

fn escape_like(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `LIKE ... ESCAPE '\'` pattern matching `q` anywhere, wildcards in it escaped.
pub fn like_pattern(q: &str) -> String {
    format!("%{}%", escape_like(q))
}

/// `LIKE ... ESCAPE '\'` pattern matching values that start with `q`.
pub fn like_prefix(q: &str) -> String {
    format!("{}%", escape_like(q))
}

/// A value bound to a dynamically built query.
#[derive(Debug, Clone, PartialEq)]
pub enum BindValue {
    Int(i64),
    Text(String),
}

/// A query whose text is assembled at run time. Every caller builds the
/// text only from constants, whitelisted ORDER BY expressions
/// (`ListParams::order_by`) and `Where` placeholders: user input is always
/// bound, never spliced in. That is the audit sqlx asks for.
pub fn dynamic(sql: String) -> AnyQuery<'static> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
}

pub type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// SQLite bulk writes: `rows` as prepared multi-row INSERTs of `per` rows
/// each, one bound value per cell (unpacking a JSON batch with `json_each`
/// cost the single writer thread a fifth of its time). The statement is
/// `head` (`INSERT INTO t (…) VALUES`), `row` once per row (`(?,?,…)`;
/// constants made by weiops may be written in), then `tail` (an `ON
/// CONFLICT` clause, or empty). `bind` binds one row's values in order.
/// Keep `per` × parameters per row below SQLite's 32,766.
pub async fn insert_rows<T>(
    tx: &mut Tx<'_>,
    (head, row, tail): (&str, &str, &str),
    per: usize,
    rows: impl IntoIterator<Item = T>,
    bind: impl Fn(AnyQuery<'static>, T) -> AnyQuery<'static>,
) -> crate::Result<()> {
    let sql = |n: usize| {
        let mut sql = String::with_capacity(head.len() + tail.len() + n * (row.len() + 1) + 2);
        sql.push_str(head);
        sql.push(' ');
        for i in 0..n {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(row);
        }
        sql.push(' ');
        sql.push_str(tail);
        sql
    };
    let full = sql(per);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<T> = rows.by_ref().take(per).collect();
        let text = if chunk.len() == per {
            full.clone()
        } else {
            sql(chunk.len())
        };
        let mut q = dynamic(text);
        for r in chunk {
            q = bind(q, r);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Group commit: writes that arrive while another is being written wait,
/// and are then written together, in one transaction, as one batch. With
/// SQLite's single writer, a transaction per write spends most of its time
/// handing statements between threads while every other writer queues;
/// one transaction for many writes pays that once per batch.
///
/// There is no writer task: each caller queues its job and waits for
/// either its result or the turn. Whoever gets the turn takes the queued
/// jobs (its own or other callers'), starts writing them and keeps the
/// turn until they are written. The writing runs in a task of its own, so
/// a caller that goes away (a closed connection) never cuts off the other
/// jobs of its batch. A job whose caller has gone away before its batch
/// starts is dropped unwritten.
pub struct GroupCommit<J, R> {
    queue: std::sync::Mutex<Vec<(J, tokio::sync::oneshot::Sender<R>)>>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl<J, R> Default for GroupCommit<J, R> {
    fn default() -> Self {
        GroupCommit {
            queue: std::sync::Mutex::new(Vec::new()),
            turn: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

impl<J, R> std::fmt::Debug for GroupCommit<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl<J: Send + 'static, R: Send + 'static> GroupCommit<J, R> {
    /// Queues `job` and waits for its result. A batch takes queued jobs in
    /// order of arrival while their `weight`s add up to at most `max_weight`
    /// (always at least one job); `write` returns one result per job, in
    /// the order given. `None`: the write was lost (the writing panicked).
    pub async fn submit<W, Fut>(
        &self,
        job: J,
        weight: fn(&J) -> usize,
        max_weight: usize,
        write: W,
    ) -> Option<R>
    where
        W: Fn(Vec<J>) -> Fut,
        Fut: std::future::Future<Output = Vec<R>> + Send + 'static,
    {
        let (sender, mut result) = tokio::sync::oneshot::channel();
        self.lock_queue().push((job, sender));
        loop {
            tokio::select! {
                biased;
                r = &mut result => return r.ok(),
                turn = self.turn.clone().lock_owned() => {
                    let (jobs, senders): (Vec<J>, Vec<_>) = self.take(weight, max_weight).into_iter().unzip();
                    if jobs.is_empty() {
                        // Our job was in the batch that just ended: its
                        // result is in `result`.
                        continue;
                    }
                    let writing = write(jobs);
                    tokio::spawn(async move {
                        let results = writing.await;
                        for (sender, r) in senders.into_iter().zip(results) {
                            let _ = sender.send(r);
                        }
                        drop(turn);
                    });
                }
            }
        }
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<(J, tokio::sync::oneshot::Sender<R>)>> {
        // A panic while the queue was locked left it whole (push and drain
        // do not panic halfway): go on with it.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(
        &self,
        weight: fn(&J) -> usize,
        max_weight: usize,
    ) -> Vec<(J, tokio::sync::oneshot::Sender<R>)> {
        let mut queue = self.lock_queue();
        queue.retain(|(_, sender)| !sender.is_closed());
        let mut total = 0;
        let n = queue
            .iter()
            .take_while(|(job, _)| {
                total += weight(job);
                total <= max_weight
            })
            .count()
            .max(1)
            .min(queue.len());
        queue.drain(..n).collect()
    }
}

/// `items` padded to a power of two by repeating the last one, for an
/// `IN (…)` list of bound values: a handful of statement texts, each kept
/// prepared by every connection, instead of one per length. `items` must
/// not be empty.
pub fn padded<T: Clone>(items: &[T]) -> Vec<T> {
    let n = items.len().next_power_of_two();
    (0..n)
        .map(|i| items[i.min(items.len() - 1)].clone())
        .collect()
}

/// `($1, $2, $3), ($4, $5, $6), …`: the VALUES of a multi-row statement of
/// `rows` rows of `columns` bound values each, numbered from `$first`. On
/// SQLite every placeholder is a plain `?` (bound in the order written):
/// binding a `$n` makes sqlx ask SQLite for its name, a scan of all the
/// statement's names, so a statement of n values cost n² to bind.
pub fn value_rows(engine: Engine, rows: usize, columns: usize, first: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&param(engine, first + r * columns + c));
        }
        sql.push(')');
    }
    sql
}

/// The `n`th bound value of a statement: `$n`, or `?` on SQLite (see
/// `value_rows`; a statement written with `?` binds in textual order).
pub fn param(engine: Engine, n: usize) -> String {
    match engine {
        Engine::Sqlite => "?".to_string(),
        Engine::Postgres => format!("${n}"),
    }
}

/// A value of a [`Script`], typed also when NULL (PostgreSQL types every
/// bound value).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_string()))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}

/// Several statements run as one: on SQLite in a single call, so the
/// connection's thread runs them all before the caller's task is woken
/// again (each statement apart is two thread hand-offs, and under load
/// each hand-off waits for a core); on PostgreSQL, which takes no bound
/// values in a multi-statement query, one after the other. Write each
/// statement's placeholders with [`value_rows`] and [`param`], numbered
/// from 1 in each statement.
#[derive(Debug)]
pub struct Script {
    engine: Engine,
    statements: Vec<(String, Vec<Value>)>,
}

impl Script {
    pub fn new(engine: Engine) -> Script {
        Script {
            engine,
            statements: Vec::new(),
        }
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub fn push(&mut self, sql: String, values: Vec<Value>) {
        self.statements.push((sql, values));
    }

    /// Runs the statements in order; the rows they return, in order.
    pub async fn run(
        self,
        conn: &mut sqlx::AnyConnection,
    ) -> crate::Result<Vec<sqlx::any::AnyRow>> {
        fn bind(q: AnyQuery<'static>, v: Value) -> AnyQuery<'static> {
            match v {
                Value::Int(v) => q.bind(v),
                Value::Text(v) => q.bind(v),
            }
        }
        match self.engine {
            Engine::Sqlite => {
                let sql = self
                    .statements
                    .iter()
                    .map(|(sql, _)| sql.as_str())
                    .collect::<Vec<_>>()
                    .join(";\n");
                let mut q = dynamic(sql);
                for v in self.statements.into_iter().flat_map(|(_, values)| values) {
                    q = bind(q, v);
                }
                Ok(q.fetch_all(&mut *conn).await?)
            }
            Engine::Postgres => {
                let mut rows = Vec::new();
                for (sql, values) in self.statements {
                    let mut q = dynamic(sql);
                    for v in values {
                        q = bind(q, v);
                    }
                    rows.extend(q.fetch_all(&mut *conn).await?);
                }
                Ok(rows)
            }
        }
    }
}

/// A write transaction made of [`Script`]s, for the busiest writer (orders
/// being placed). On SQLite, behind the write gate, the first script runs
/// with `BEGIN IMMEDIATE` before it and the last with `COMMIT` after it, in
/// the same call: two hand-offs to the connection's thread for the whole
/// transaction instead of four (under load each waits for a core while
/// every other writer waits for the gate). On PostgreSQL a [`WriteTx`].
pub struct ScriptTx {
    inner: ScriptTxInner,
}

enum ScriptTxInner {
    Sqlite {
        conn: sqlx::pool::PoolConnection<sqlx::Any>,
        /// BEGIN has run and neither COMMIT nor ROLLBACK since.
        open: bool,
        _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    },
    /// `None` once committed or rolled back.
    Postgres(Option<WriteTx>),
}

impl Db {
    /// Begins a [`ScriptTx`]; the same rules as [`Db::begin_write`].
    pub async fn begin_scripts(&self) -> crate::Result<ScriptTx> {
        let inner = match self.engine {
            Engine::Sqlite => {
                let gate = self.lock_gate().await;
                ScriptTxInner::Sqlite {
                    conn: self.write_pool().acquire().await?,
                    open: false,
                    _gate: gate,
                }
            }
            Engine::Postgres => ScriptTxInner::Postgres(Some(self.begin_write().await?)),
        };
        Ok(ScriptTx { inner })
    }
}

impl ScriptTx {
    /// Runs `script` in the transaction; the rows it returns.
    pub async fn run(&mut self, script: Script) -> crate::Result<Vec<sqlx::any::AnyRow>> {
        self.run_ending(script, false).await
    }

    /// Runs `script` and commits; the rows it returns.
    pub async fn commit_with(mut self, script: Script) -> crate::Result<Vec<sqlx::any::AnyRow>> {
        let rows = self.run_ending(script, true).await?;
        if let ScriptTxInner::Postgres(tx) = &mut self.inner
            && let Some(tx) = tx.take()
        {
            tx.commit().await?;
        }
        Ok(rows)
    }

    async fn run_ending(
        &mut self,
        mut script: Script,
        commit: bool,
    ) -> crate::Result<Vec<sqlx::any::AnyRow>> {
        match &mut self.inner {
            ScriptTxInner::Postgres(tx) => match tx {
                Some(tx) => script.run(tx).await,
                None => Err(anyhow::anyhow!("the transaction has ended").into()),
            },
            ScriptTxInner::Sqlite { conn, open, .. } => {
                if !*open {
                    script
                        .statements
                        .insert(0, ("BEGIN IMMEDIATE".into(), Vec::new()));
                }
                if commit {
                    script.statements.push(("COMMIT".into(), Vec::new()));
                }
                // From here the transaction may be open whatever happens.
                *open = true;
                match script.run(conn).await {
                    Ok(rows) => {
                        *open = !commit;
                        Ok(rows)
                    }
                    Err(e) => {
                        Self::roll_back(conn, open).await;
                        Err(e)
                    }
                }
            }
        }
    }

    /// SQLite: ends the transaction, if one is open, before the connection
    /// goes back to the pool; a connection in an unknown state is closed.
    async fn roll_back(conn: &mut sqlx::pool::PoolConnection<sqlx::Any>, open: &mut bool) {
        if !*open {
            return;
        }
        match sqlx::query("ROLLBACK").execute(&mut **conn).await {
            Ok(_) => *open = false,
            // SQLite rolled back by itself (e.g. a full disk).
            Err(sqlx::Error::Database(e)) if e.message().contains("no transaction is active") => {
                *open = false
            }
            Err(_) => {}
        }
    }

    /// Rolls back now, before the gate opens.
    pub async fn rollback(mut self) {
        match &mut self.inner {
            ScriptTxInner::Sqlite { conn, open, .. } => Self::roll_back(conn, open).await,
            ScriptTxInner::Postgres(tx) => {
                if let Some(tx) = tx.take() {
                    let _ = tx.rollback().await;
                }
            }
        }
    }
}

impl Drop for ScriptTx {
    fn drop(&mut self) {
        // Never hand the pool a connection inside a transaction.
        if let ScriptTxInner::Sqlite {
            conn, open: true, ..
        } = &mut self.inner
        {
            conn.close_on_drop();
        }
    }
}

/// A WHERE clause assembled from optional filters, numbering `$n`
/// placeholders so the same text runs on SQLite and PostgreSQL.
#[derive(Debug, Clone, Default)]
pub struct Where {
    clauses: Vec<String>,
    binds: Vec<BindValue>,
}

impl Where {
    pub fn new() -> Where {
        Where::default()
    }

    /// Adds a condition; each `?` in `sql` takes the next placeholder and
    /// the values in order.
    pub fn and(&mut self, sql: &str, values: impl IntoIterator<Item = BindValue>) -> &mut Where {
        let mut out = String::with_capacity(sql.len() + 4);
        let mut values = values.into_iter();
        for c in sql.chars() {
            if c == '?' {
                self.binds
                    .push(values.next().expect("one value per placeholder"));
                out.push_str(&format!("${}", self.binds.len()));
            } else {
                out.push(c);
            }
        }
        self.clauses.push(out);
        self
    }

    /// ` WHERE a AND b`, or nothing.
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The placeholder after the filter's own, for LIMIT/OFFSET.
    pub fn next(&self, n: usize) -> String {
        format!("${}", self.binds.len() + n)
    }

    pub fn bind<'q>(&'q self, mut q: AnyQuery<'q>) -> AnyQuery<'q> {
        for b in &self.binds {
            q = match b {
                BindValue::Int(i) => q.bind(*i),
                BindValue::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }
}

/// One page of a filtered list and the total count, the shape of every
/// list page and list API: `select` is the column list (`SELECT a, b`),
/// `from` the FROM clause with its joins, `order` a whitelisted ORDER BY
/// (ending in a unique column so pages never overlap).
pub async fn fetch_page(
    db: &Db,
    select: &str,
    from: &str,
    w: &Where,
    order: &str,
    page: weiops_core::paging::PageRequest,
) -> crate::Result<(Vec<sqlx::any::AnyRow>, weiops_core::paging::PageInfo)> {
    fetch_page_counted(db, select, from, from, w, order, page, None, None).await
}

/// How far past the start of the page a capped count goes (see
/// [`fetch_page_capped`]).
pub const COUNT_CAP: i64 = 10_000;

/// [`fetch_page`] for lists of millions of rows: the count stops
/// [`COUNT_CAP`] rows past the start of the page (`PageInfo::capped`, the
/// pager shows "10,000+"), since an exact COUNT(*) reads every matching
/// row. `count_from` is the FROM clause the count needs (no join the
/// filter does not use), which with `key` (the table's primary key, e.g.
/// `o.id`) also finds the page's rows before they are joined.
#[allow(clippy::too_many_arguments)]
pub async fn fetch_page_capped(
    db: &Db,
    select: &str,
    from: &str,
    count_from: &str,
    key: &str,
    w: &Where,
    order: &str,
    page: weiops_core::paging::PageRequest,
) -> crate::Result<(Vec<sqlx::any::AnyRow>, weiops_core::paging::PageInfo)> {
    let cap = page.offset().saturating_add(COUNT_CAP);
    fetch_page_counted(
        db,
        select,
        from,
        count_from,
        w,
        order,
        page,
        Some(cap),
        Some(key),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn fetch_page_counted(
    db: &Db,
    select: &str,
    from: &str,
    count_from: &str,
    w: &Where,
    order: &str,
    page: weiops_core::paging::PageRequest,
    cap: Option<i64>,
    key: Option<&str>,
) -> crate::Result<(Vec<sqlx::any::AnyRow>, weiops_core::paging::PageInfo)> {
    use sqlx::Row;
    let counted: i64 = match cap {
        None => w
            .bind(dynamic(format!(
                "SELECT COUNT(*) AS n {count_from}{}",
                w.sql()
            )))
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?,
        // One row past the cap tells whether there are more.
        Some(cap) => w
            .bind(dynamic(format!(
                "SELECT COUNT(*) AS n FROM (SELECT 1 AS one {count_from}{} LIMIT {}) AS c",
                w.sql(),
                w.next(1)
            )))
            .bind(cap + 1)
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?,
    };
    let capped = cap.is_some_and(|cap| counted > cap);
    let total = if capped { counted - 1 } else { counted };
    // Capped lists are the big ones (10M orders): the page's keys are
    // found first from the filtered table alone, and only its rows are
    // joined. SQLite would otherwise join every row skipped by OFFSET.
    let sql = match (cap, key) {
        (Some(_), Some(key)) => format!(
            "{select} {from} WHERE {key} IN (SELECT {key} {count_from}{} ORDER BY {order} LIMIT {} OFFSET {}) \
             ORDER BY {order}",
            w.sql(),
            w.next(1),
            w.next(2)
        ),
        _ => format!(
            "{select} {from}{} ORDER BY {order} LIMIT {} OFFSET {}",
            w.sql(),
            w.next(1),
            w.next(2)
        ),
    };
    let rows = w
        .bind(dynamic(sql))
        .bind(page.per_page)
        .bind(page.offset())
        .fetch_all(&db.pool)
        .await?;
    Ok((
        rows,
        weiops_core::paging::PageInfo {
            page: page.page,
            per_page: page.per_page,
            total,
            capped,
        },
    ))
}

impl From<i64> for BindValue {
    fn from(v: i64) -> Self {
        BindValue::Int(v)
    }
}

impl From<String> for BindValue {
    fn from(v: String) -> Self {
        BindValue::Text(v)
    }
}

impl From<&str> for BindValue {
    fn from(v: &str) -> Self {
        BindValue::Text(v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn engines() {
        assert_eq!(engine_of("sqlite://x.db").unwrap(), Engine::Sqlite);
        assert_eq!(engine_of("postgresql://h/db").unwrap(), Engine::Postgres);
        assert!(engine_of("mysql://h/db").is_err());
    }

    #[test]
    fn where_numbers_placeholders() {
        let mut w = Where::new();
        w.and("a = ?", [BindValue::from(1)])
            .and("(b LIKE ? OR c LIKE ?)", ["x".into(), "y".into()]);
        assert_eq!(w.sql(), " WHERE a = $1 AND (b LIKE $2 OR c LIKE $3)");
        assert_eq!(w.next(1), "$4");
        assert_eq!(Where::new().sql(), "");
    }

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_pattern("a%b_"), "%a\\%b\\_%");
    }

    #[test]
    fn value_rows_numbers_placeholders() {
        assert_eq!(
            value_rows(Engine::Postgres, 2, 3, 1),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(value_rows(Engine::Postgres, 1, 2, 5), "($5, $6)");
        assert_eq!(value_rows(Engine::Sqlite, 2, 2, 5), "(?, ?), (?, ?)");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_writes_every_job_once_in_batches() {
        let queue: Arc<GroupCommit<u32, u32>> = Arc::new(GroupCommit::default());
        let batches = Arc::new(std::sync::Mutex::new(Vec::<Vec<u32>>::new()));
        let mut callers = Vec::new();
        for n in 0..200u32 {
            let (queue, batches) = (queue.clone(), batches.clone());
            callers.push(tokio::spawn(async move {
                queue
                    .submit(
                        n,
                        |_| 1,
                        16,
                        move |jobs: Vec<u32>| {
                            let batches = batches.clone();
                            async move {
                                tokio::time::sleep(Duration::from_millis(2)).await;
                                batches.lock().unwrap().push(jobs.clone());
                                jobs.iter().map(|j| j * 10).collect()
                            }
                        },
                    )
                    .await
            }));
        }
        for (n, caller) in callers.into_iter().enumerate() {
            assert_eq!(caller.await.unwrap(), Some(n as u32 * 10));
        }
        let batches = batches.lock().unwrap();
        let mut written: Vec<u32> = batches.iter().flatten().copied().collect();
        written.sort();
        assert_eq!(written, (0..200).collect::<Vec<_>>());
        assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 16));
        assert!(
            batches.len() < 200,
            "jobs that waited were written together"
        );
    }
}
