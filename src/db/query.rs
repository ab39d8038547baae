//! Queries whose text is assembled at run time, the same text on both
//! engines: filters (`Where`) numbering their `$n` placeholders, one page
//! of a list with its count (`fetch_page*`), `LIKE` patterns, the `VALUES`
//! of multi-row statements and SQLite's bulk inserts. User input is always
//! bound, never spliced into the text (see [`dynamic`]).

use super::{Db, Engine, Tx};

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
}
