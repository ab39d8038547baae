//! The whole sponsor tree in memory, for the jobs that walk all of it (the
//! settlement, the order import's team sales).
//!
//! A million agents read as a million driver rows cost about 3 s, most of
//! it building one `AnyRow` per agent; the database packs each chunk of
//! 100,000 agents into one JSON array instead (quoting any code, whatever
//! characters it holds), and serde reads it back in a fraction of that.

use serde::Deserialize;
use sqlx::Row;

use crate::Result;
use crate::db::{Db, Engine};

/// Agents per round trip.
const CHUNK: i64 = 100_000;

/// One agent as the tree walkers need it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TreeRow {
    pub id: i64,
    pub code: String,
    pub sponsor_id: Option<i64>,
    pub level: i64,
    pub status: String,
}

/// Every agent, in id order.
pub async fn load(db: &Db) -> Result<Vec<TreeRow>> {
    let sql = match db.engine {
        Engine::Sqlite => {
            "SELECT json_group_array(json_array(id, code, sponsor_id, level, status)) AS packed, \
             CAST(COUNT(*) AS BIGINT) AS n, CAST(MAX(id) AS BIGINT) AS last \
             FROM (SELECT id, code, sponsor_id, level, status FROM agents WHERE id > $1 ORDER BY id LIMIT $2) AS chunk"
        }
        Engine::Postgres => {
            "SELECT CAST(COALESCE(json_agg(json_build_array(id, code, sponsor_id, level, status) ORDER BY id), '[]') AS TEXT) \
             AS packed, CAST(COUNT(*) AS BIGINT) AS n, CAST(MAX(id) AS BIGINT) AS last \
             FROM (SELECT id, code, sponsor_id, level, status FROM agents WHERE id > $1 ORDER BY id LIMIT $2) AS chunk"
        }
    };
    let mut out = Vec::new();
    let mut after = 0i64;
    loop {
        let row = sqlx::query(sql)
            .bind(after)
            .bind(CHUNK)
            .fetch_one(&db.pool)
            .await?;
        let n: i64 = row.try_get("n")?;
        if n == 0 {
            break;
        }
        after = row.try_get("last")?;
        let packed: String = row.try_get("packed")?;
        let rows: Vec<(i64, String, Option<i64>, i64, String)> =
            serde_json::from_str(&packed).map_err(anyhow::Error::from)?;
        out.extend(
            rows.into_iter()
                .map(|(id, code, sponsor_id, level, status)| TreeRow {
                    id,
                    code,
                    sponsor_id,
                    level,
                    status,
                }),
        );
        if n < CHUNK {
            break;
        }
    }
    Ok(out)
}
