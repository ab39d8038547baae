//! Rate limits kept in the database: a fixed window per key.

use sqlx::Row;

use crate::db::Db;

/// At most `max` events per `window_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: i64,
    pub window_ms: i64,
}

/// Failed sign-ins from one address: beyond this, the address waits even
/// for accounts it has not tried yet (password spraying).
pub const FAILED_LOGINS_PER_IP: Limit = Limit {
    max: 20,
    window_ms: 10 * 60 * 1000,
};

/// Whether `key` has used up its window.
pub async fn exhausted(db: &Db, key: &str, limit: Limit, now: i64) -> crate::Result<bool> {
    let row = sqlx::query("SELECT window_start, count FROM rate_limits WHERE key = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(r) => {
            let start: i64 = r.try_get("window_start")?;
            let count: i64 = r.try_get("count")?;
            start > now - limit.window_ms && count >= limit.max
        }
        None => false,
    })
}

/// Counts one event for `key` in one atomic statement (several servers may
/// count at once): a window older than `window_ms` starts over. Both
/// engines evaluate the SET expressions against the old row.
pub async fn hit(db: &Db, key: &str, limit: Limit, now: i64) -> crate::Result<i64> {
    let count: i64 = sqlx::query(
        "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END, \
           window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END \
         RETURNING count",
    )
    .bind(key)
    .bind(now)
    .bind(now - limit.window_ms)
    .fetch_one(&db.pool)
    .await?
    .try_get("count")?;
    Ok(count)
}
