//! Long jobs (imports of a million rows). A job runs in the server that
//! received it, on a background task, and writes its progress to the `jobs`
//! table, so that any server behind the load balancer can show it.

use serde::Serialize;
use sqlx::Row;

use crate::db::{Db, now_ms};
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// Message key of the current step.
    pub stage: String,
    pub done: i64,
    pub total: i64,
    /// JSON: the outcome (counts) or the error (with row problems).
    pub result: Option<serde_json::Value>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Job {
    /// 0–100.
    pub fn percent(&self) -> i64 {
        match self.status.as_str() {
            "done" => 100,
            _ if self.total > 0 => (self.done * 100 / self.total).clamp(0, 99),
            _ => 0,
        }
    }

    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "done" | "failed")
    }
}

pub async fn create(db: &Db, kind: &str, created_by: Option<i64>) -> Result<i64> {
    let now = now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO jobs (kind, status, stage, done, total, created_by, created_at, updated_at) \
         VALUES ($1, 'queued', '', 0, 0, $2, $3, $3) RETURNING id",
    )
    .bind(kind)
    .bind(created_by)
    .bind(now)
    .fetch_one(&db.pool)
    .await?
    .try_get("id")?;
    Ok(id)
}

/// Reports progress from inside a job: (stage message key, done, total).
pub type ProgressFn = std::sync::Arc<dyn Fn(&'static str, usize, usize) + Send + Sync>;

/// Creates a job of `kind` and runs `work` on a background task. `work`
/// gets a progress callback (written to the table at most ~3 times a
/// second) and returns the counts to record; a refused import records its
/// row problems, any other error its message key.
pub async fn spawn<F, Fut>(db: &Db, kind: &str, created_by: Option<i64>, work: F) -> Result<i64>
where
    F: FnOnce(ProgressFn) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value>> + Send + 'static,
{
    let job_id = create(db, kind, created_by).await?;
    let db = db.clone();
    tokio::spawn(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(&'static str, usize, usize)>();
        let last =
            std::sync::Mutex::new(std::time::Instant::now() - std::time::Duration::from_secs(1));
        let report: ProgressFn = std::sync::Arc::new(move |stage, done, total| {
            let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
            if l.elapsed() >= std::time::Duration::from_millis(300) || done == total {
                *l = std::time::Instant::now();
                let _ = tx.send((stage, done, total));
            }
        });
        let writer = {
            let db = db.clone();
            tokio::spawn(async move {
                while let Some((stage, done, total)) = rx.recv().await {
                    let _ = progress(&db, job_id, stage, done as i64, total as i64).await;
                }
            })
        };
        // `work` owns the only sender: when it finishes, the writer ends.
        let outcome = work(report).await;
        let _ = writer.await;
        let (ok, result) = match outcome {
            Ok(r) => (true, r),
            Err(Error::ImportRejected(rows)) => (
                false,
                serde_json::json!({"error": "error.import_rejected", "rows": rows}),
            ),
            Err(e) => (false, serde_json::json!({"error": e.report().key})),
        };
        if let Err(e) = finish(&db, job_id, ok, &result).await {
            tracing::error!(error = ?e, job_id, "could not record the end of a job");
        }
    });
    Ok(job_id)
}

pub async fn progress(db: &Db, id: i64, stage: &str, done: i64, total: i64) -> Result<()> {
    sqlx::query("UPDATE jobs SET status = 'running', stage = $1, done = $2, total = $3, updated_at = $4 WHERE id = $5")
        .bind(stage)
        .bind(done)
        .bind(total)
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn finish(db: &Db, id: i64, ok: bool, result: &serde_json::Value) -> Result<()> {
    sqlx::query("UPDATE jobs SET status = $1, result = $2, updated_at = $3 WHERE id = $4")
        .bind(if ok { "done" } else { "failed" })
        .bind(result.to_string())
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn get(db: &Db, id: i64) -> Result<Job> {
    let r = sqlx::query("SELECT id, kind, status, stage, done, total, result, created_by, created_at, updated_at FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        status: r.try_get("status")?,
        stage: r.try_get("stage")?,
        done: r.try_get("done")?,
        total: r.try_get("total")?,
        result: r
            .try_get::<Option<String>, _>("result")?
            .and_then(|s| serde_json::from_str(&s).ok()),
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Marks jobs that a stopped server left running as failed (called at
/// start). A job that has not reported for ten minutes is considered dead.
pub async fn reap_stale(db: &Db) -> Result<u64> {
    let res = sqlx::query(
        "UPDATE jobs SET status = 'failed', result = '{\"error\":\"jobs.interrupted\"}', updated_at = $1 \
         WHERE status IN ('queued', 'running') AND updated_at < $2",
    )
    .bind(now_ms())
    .bind(now_ms() - 10 * 60_000)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected())
}
