//! Exporting agents in the agents.csv format (or .xlsx with the same
//! columns): importing the export gives the same network back.

use sqlx::Row;
use weiops_core::agents::AGENT_COLUMNS;
use weiops_core::time::format_rfc3339_ms;

use crate::Result;
use crate::db::Db;
use crate::export::Table;

/// Every agent, parents before children, in the exchange format. The file
/// format knows `active` and `frozen` only: a terminated agent (清退) is
/// written as `frozen`, which earns nothing either.
pub async fn export_table(db: &Db) -> Result<Table> {
    let rows = sqlx::query(
        "SELECT a.code, a.name, a.phone, a.wechat, a.level, s.code AS sponsor_code, a.status, a.joined_at \
         FROM agents a LEFT JOIN agents s ON s.id = a.sponsor_id ORDER BY a.depth, a.id",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let status: String = r.try_get("status")?;
        out.push(vec![
            r.try_get::<String, _>("code")?,
            r.try_get::<String, _>("name")?,
            r.try_get::<String, _>("phone")?,
            r.try_get::<String, _>("wechat")?,
            r.try_get::<i64, _>("level")?.to_string(),
            r.try_get::<Option<String>, _>("sponsor_code")?
                .unwrap_or_default(),
            if status == "active" {
                "active".to_string()
            } else {
                "frozen".to_string()
            },
            format_rfc3339_ms(r.try_get("joined_at")?),
        ]);
    }
    Ok(Table {
        sheet: "agents".into(),
        headers: AGENT_COLUMNS.iter().map(|s| s.to_string()).collect(),
        rows: out,
    })
}

/// The spec's CSV: UTF-8 without a BOM, LF line ends, RFC 4180 quoting.
pub fn to_spec_csv(t: &Table) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(&mut out);
        w.write_record(&t.headers).map_err(anyhow::Error::from)?;
        for r in &t.rows {
            w.write_record(r).map_err(anyhow::Error::from)?;
        }
        w.flush().map_err(anyhow::Error::from)?;
    }
    Ok(out)
}
