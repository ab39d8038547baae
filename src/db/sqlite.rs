//! What SQLite alone needs: the file of its URL, the pragmas every
//! connection runs, and the background task that copies the WAL back into
//! the database file (and restarts it behind the write gate). The
//! dedicated writer connection itself is a field of [`Db`], made in
//! `connect_with`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sqlx::{AnyPool, Executor};

use super::Db;

/// The file of a SQLite URL.
pub(super) fn path(url: &str) -> &str {
    url.trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or("")
}

/// Adds `mode=rwc` to a SQLite URL (create the file when missing) and makes
/// sure its folder exists.
pub(super) fn prepare_url(url: &str) -> anyhow::Result<String> {
    let path = path(url);
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

/// The pragmas of every SQLite connection, run once when it opens: WAL
/// (readers beside the writer), foreign keys, a busy timeout, a page cache
/// of `cache_kib` (the pool's readers and the writer keep different
/// amounts, see `Db::writer`), and whether its commits copy the WAL back.
pub(super) async fn configure(
    conn: &mut sqlx::AnyConnection,
    cache_kib: u32,
    checkpoints: Checkpoints,
) -> Result<(), sqlx::Error> {
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
    Ok(())
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
pub(super) async fn background_checkpoints(db: Db, path: std::path::PathBuf) {
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
