//! The one database pool, on SQLite or PostgreSQL, through sqlx's `Any`
//! driver so that every query is written once for both engines.
//!
//! This module holds the pool ([`Db`]), its write transactions, connecting
//! and migrating; the rest sits beside it, each re-exported here so that
//! callers write `crate::db::Where` whatever file it lives in:
//! - `sqlite`: what SQLite alone needs (its URL, the pragmas of every
//!   connection, who copies the WAL back and when);
//! - `query`: queries assembled at run time (`Where`, `fetch_page*`,
//!   `LIKE` patterns, multi-row `VALUES`, bulk inserts);
//! - `script`: several statements run as one (`Script`, `ScriptTx`);
//! - `group_commit`: writes that wait together, written in one batch.
//!
//! The bottom layer: nothing here names a business domain. A domain that
//! needs state per database (the queue of orders being placed) keeps it
//! in a typed slot, [`Db::slot`].

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use sqlx::AnyPool;
use sqlx::ConnectOptions;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

mod group_commit;
mod query;
mod script;
mod sqlite;

pub use group_commit::GroupCommit;
pub use query::{
    AnyQuery, BindValue, COUNT_CAP, Where, dynamic, fetch_page, fetch_page_capped, insert_rows,
    like_pattern, like_prefix, padded, param, value_rows,
};
pub use script::{Script, ScriptTx, Value};
pub use sqlite::Checkpoints;

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
    /// State that lives once per database, see [`Db::slot`].
    slots: Slots,
}

/// The typed slots of one database, shared by every clone of its [`Db`]:
/// one value per type, made on first use.
#[derive(Clone, Default)]
struct Slots(Arc<Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>>);

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots").finish_non_exhaustive()
    }
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
            slots: Slots::default(),
        }
    }

    /// The one `T` of this database, made with `T::default()` on first
    /// use: every clone of this `Db` (each request's state, the CLI's
    /// commands, a test's app) gets the same `Arc`, a second [`Db::new`]
    /// its own. A domain keeps here what must be one per database rather
    /// than one per clone, such as the queue of orders being placed
    /// together (`orders::placing`): this layer knows no domain, so the
    /// domain names the type and `Db` only holds it. The key is the type:
    /// use one of the domain's own, not a general one such as `Vec<i64>`
    /// that two domains could both pick.
    pub fn slot<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        // A panic while the map was locked left it whole (one insert).
        let mut slots = self.slots.0.lock().unwrap_or_else(|e| e.into_inner());
        let slot = slots
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()))
            .clone();
        drop(slots);
        slot.downcast::<T>()
            .unwrap_or_else(|_| unreachable!("each slot holds the type of its key"))
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
        Engine::Sqlite => sqlite::prepare_url(url)?,
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
                        sqlite::configure(conn, cache_kib, checkpoints).await?;
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
        tokio::spawn(sqlite::background_checkpoints(
            db.clone(),
            Path::new(sqlite::path(&url)).to_path_buf(),
        ));
    }
    Ok(db)
}

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

    #[derive(Default)]
    struct Counter(std::sync::atomic::AtomicU32);

    #[tokio::test]
    async fn slots_are_one_per_database_shared_by_its_clones() {
        use std::sync::atomic::Ordering;
        sqlx::any::install_default_drivers();
        // Lazy: no connection is ever opened, the slots need none.
        let pool = AnyPool::connect_lazy("sqlite://slots-test.db").unwrap();
        let db = Db::new(pool.clone(), Engine::Sqlite);
        let clone = db.clone();
        db.slot::<Counter>().0.fetch_add(1, Ordering::Relaxed);
        assert!(Arc::ptr_eq(&db.slot::<Counter>(), &clone.slot::<Counter>()));
        assert_eq!(clone.slot::<Counter>().0.load(Ordering::Relaxed), 1);
        let other = Db::new(pool, Engine::Sqlite);
        assert_eq!(other.slot::<Counter>().0.load(Ordering::Relaxed), 0);
    }
}
