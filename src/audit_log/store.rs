//! Reading the audit log.

use serde::Serialize;
use sqlx::Row;
use weiops_core::paging::{PageInfo, PageRequest};

use crate::db::{Db, Where, like_pattern, like_prefix};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// Epoch milliseconds (UTC).
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub summary: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub request_id: String,
    pub ip: String,
}

/// Filters of the audit log page and API.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Matches the actor's username (substring).
    pub actor: Option<String>,
    pub actor_id: Option<i64>,
    /// Exact action, e.g. `user.create`, or a prefix ending in `.`: `user.`.
    pub action: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

fn where_clause(f: &AuditFilter) -> Where {
    let mut w = Where::new();
    if let Some(a) = f.actor.as_deref().filter(|s| !s.is_empty()) {
        w.and(
            "LOWER(actor_name) LIKE LOWER(?) ESCAPE '\\'",
            [like_pattern(a).into()],
        );
    }
    if let Some(id) = f.actor_id {
        w.and("actor_id = ?", [id.into()]);
    }
    if let Some(a) = f.action.as_deref().filter(|s| !s.is_empty()) {
        if a.ends_with('.') {
            w.and("action LIKE ? ESCAPE '\\'", [like_prefix(a).into()]);
        } else {
            w.and("action = ?", [a.into()]);
        }
    }
    if let Some(t) = f.entity_type.as_deref().filter(|s| !s.is_empty()) {
        w.and("entity_type = ?", [t.into()]);
    }
    if let Some(e) = f.entity_id.as_deref().filter(|s| !s.is_empty()) {
        w.and("entity_id = ?", [e.into()]);
    }
    if let Some(from) = f.from_ms {
        w.and("at >= ?", [from.into()]);
    }
    if let Some(to) = f.to_ms {
        w.and("at < ?", [to.into()]);
    }
    w
}

fn entry(row: &sqlx::any::AnyRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor_id: row.try_get("actor_id")?,
        actor_name: row.try_get("actor_name")?,
        action: row.try_get("action")?,
        entity_type: row.try_get("entity_type")?,
        entity_id: row.try_get("entity_id")?,
        summary: row.try_get("summary")?,
        before: row.try_get("before_json")?,
        after: row.try_get("after_json")?,
        request_id: row.try_get("request_id")?,
        ip: row.try_get("ip")?,
    })
}

const COLUMNS: &str = "SELECT id, at, actor_id, actor_name, action, entity_type, entity_id, summary, before_json, after_json, request_id, ip";

/// A page of entries, newest first.
#[tracing::instrument(skip(db))]
pub async fn query(
    db: &Db,
    filter: &AuditFilter,
    page: PageRequest,
) -> crate::Result<(Vec<AuditEntry>, PageInfo)> {
    let w = where_clause(filter);
    let (rows, info) =
        crate::db::fetch_page(db, COLUMNS, "FROM audit_log", &w, "at DESC, id DESC", page).await?;
    let entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    Ok((entries, info))
}

pub async fn get(db: &Db, id: i64) -> crate::Result<AuditEntry> {
    let row = crate::db::dynamic(format!("{COLUMNS} FROM audit_log WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(crate::Error::NotFound)?;
    Ok(entry(&row)?)
}

/// Every matching entry, newest first, up to `limit` (exports).
pub async fn query_all(
    db: &Db,
    filter: &AuditFilter,
    limit: i64,
) -> crate::Result<Vec<AuditEntry>> {
    let w = where_clause(filter);
    let sql = format!(
        "{COLUMNS} FROM audit_log{} ORDER BY at DESC, id DESC LIMIT {}",
        w.sql(),
        w.next(1)
    );
    let rows = w
        .bind(crate::db::dynamic(sql))
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?)
}

/// Distinct actions and entity types seen, for the filter drop-downs.
pub async fn facets(db: &Db) -> crate::Result<(Vec<String>, Vec<String>)> {
    let actions = sqlx::query("SELECT DISTINCT action FROM audit_log ORDER BY action")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.try_get("action"))
        .collect::<Result<Vec<String>, _>>()?;
    let types = sqlx::query("SELECT DISTINCT entity_type FROM audit_log ORDER BY entity_type")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.try_get("entity_type"))
        .collect::<Result<Vec<String>, _>>()?;
    Ok((actions, types))
}

/// Entries per Beijing day for the last `days` days, oldest first
/// (dashboard chart). Beijing has kept UTC+8 without daylight saving since
/// 1991, so a day is `(at + 8h) / 24h` and the grouping runs in SQL.
pub async fn per_day(db: &Db, days: i64, now_ms: i64) -> crate::Result<Vec<(String, i64)>> {
    const OFFSET: i64 = 8 * 3_600_000;
    const DAY: i64 = 86_400_000;
    let today = (now_ms + OFFSET).div_euclid(DAY);
    let first = today - days + 1;
    let rows = sqlx::query(
        "SELECT CAST((at + 28800000) / 86400000 AS BIGINT) AS d, COUNT(*) AS n FROM audit_log \
         WHERE at >= $1 GROUP BY CAST((at + 28800000) / 86400000 AS BIGINT)",
    )
    .bind(first * DAY - OFFSET)
    .fetch_all(&db.pool)
    .await?;
    let mut counts = vec![0i64; days.max(0) as usize];
    for row in rows {
        let d: i64 = row.try_get("d")?;
        let n: i64 = row.try_get("n")?;
        if let Some(slot) = usize::try_from(d - first)
            .ok()
            .and_then(|i| counts.get_mut(i))
        {
            *slot = n;
        }
    }
    Ok(counts
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let label = weiops_core::time::format_date((first + i as i64) * DAY - OFFSET);
            (label.get(5..).unwrap_or(&label).to_string(), n)
        })
        .collect())
}
