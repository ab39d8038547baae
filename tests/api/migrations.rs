//! The two migration folders (`migrations/sqlite/`, `migrations/postgres/`)
//! are kept in step by hand. This test migrates a fresh database, reads back
//! its schema in a normalised text form and compares it with the committed
//! snapshot `tests/api/schema.txt`. The suite runs once on each engine, so
//! both must produce the snapshot exactly: a column or index added to one
//! folder only fails the run of the other engine (or of both, until the
//! snapshot is regenerated).
//!
//! After a deliberate schema change, regenerate the snapshot with
//! `WEIOPS_UPDATE_SCHEMA=1 cargo test --test api schema`, then run the test
//! on the other engine without the variable and read the diff in review.
//!
//! What is compared, and how it is normalised:
//! - tables (not sqlx's `_sqlx_migrations`), in name order;
//! - columns in declaration order: name, a type class (`integer` for
//!   SQLite's INTEGER and PostgreSQL's BIGINT/INTEGER/SMALLINT, `text`,
//!   `real`, `blob`, else the engine's type name) and nullability. A primary
//!   key column counts as NOT NULL: PostgreSQL enforces it, and SQLite's
//!   `INTEGER PRIMARY KEY` is the rowid, which is never NULL;
//! - the primary key's columns;
//! - unique constraints written in a column or table definition (their
//!   index names are engine-made: `sqlite_autoindex_*` vs `*_key`), by
//!   columns;
//! - indexes made by `CREATE INDEX`: name, columns, unique, and whether
//!   the index is partial (the predicate text is engine-formatted, so only
//!   its presence is compared);
//! - whether a table has triggers (the append-only and posting guards are
//!   written differently on each engine: a function per guard on
//!   PostgreSQL, one trigger per event on SQLite).
//!
//! - column defaults (PostgreSQL's casts taken off) and foreign keys.
//!
//! CHECK constraints are not compared: PostgreSQL rewrites them
//! (`x IN (..)` becomes `x = ANY (ARRAY[..])`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use sqlx::Row;
use weiops::db::Engine;

use crate::common::spawn_app;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/schema.txt");

/// One table as the comparison sees it.
#[derive(Default)]
struct Table {
    /// (name, type class, not null, default), in declaration order.
    columns: Vec<(String, String, bool, Option<String>)>,
    /// `FOREIGN KEY (..) REFERENCES t(..) [ON DELETE ..]`, sorted.
    foreign_keys: BTreeSet<String>,
    primary_key: Vec<String>,
    unique: BTreeSet<Vec<String>>,
    /// name → (columns, unique, partial).
    indexes: BTreeMap<String, (Vec<String>, bool, bool)>,
    triggers: bool,
}

/// The type class of a declared type, by SQLite's affinity rules (which
/// PostgreSQL's type names also fit): anything else is kept as written.
fn type_class(declared: &str) -> String {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        "integer".into()
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "text".into()
    } else if t.contains("BLOB") || t == "BYTEA" {
        "blob".into()
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "real".into()
    } else {
        t.to_ascii_lowercase()
    }
}

async fn sqlite_schema(pool: &sqlx::AnyPool) -> BTreeMap<String, Table> {
    let mut tables = BTreeMap::new();
    let names = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in names {
        let name: String = row.get("name");
        let mut table = Table::default();
        let mut pk = Vec::new();
        for c in sqlx::query(
            "SELECT name, type, \"notnull\" AS nn, pk, dflt_value FROM pragma_table_info($1) \
             ORDER BY cid",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap()
        {
            let col: String = c.get("name");
            let in_pk: i64 = c.get("pk");
            let not_null = c.get::<i64, _>("nn") == 1 || in_pk > 0;
            if in_pk > 0 {
                pk.push((in_pk, col.clone()));
            }
            let default = c
                .get::<Option<String>, _>("dflt_value")
                .map(|d| normal_default(&d));
            table.columns.push((
                col,
                type_class(&c.get::<String, _>("type")),
                not_null,
                default,
            ));
        }
        // One row per column of each key; `to` is NULL when the key names
        // only the table (its primary key).
        let mut keys: BTreeMap<i64, (Vec<String>, String, Vec<String>, String)> = BTreeMap::new();
        for f in sqlx::query(
            "SELECT id, \"from\" AS col, \"table\" AS tbl, \"to\" AS target, on_delete \
             FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap()
        {
            let k = keys
                .entry(f.get("id"))
                .or_insert_with(|| (Vec::new(), f.get("tbl"), Vec::new(), f.get("on_delete")));
            k.0.push(f.get("col"));
            k.2.push(f.get::<Option<String>, _>("target").unwrap_or_default());
        }
        for (_, (from, tbl, to, on_delete)) in keys {
            table
                .foreign_keys
                .insert(foreign_key(&from, &tbl, &to, &on_delete));
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        for i in
            sqlx::query("SELECT name, \"unique\" AS uq, origin, partial FROM pragma_index_list($1)")
                .bind(&name)
                .fetch_all(pool)
                .await
                .unwrap()
        {
            let index: String = i.get("name");
            let origin: String = i.get("origin");
            let columns: Vec<String> =
                sqlx::query("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&index)
                    .fetch_all(pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| {
                        r.try_get::<String, _>("name")
                            .unwrap_or_else(|_| "<expr>".into())
                    })
                    .collect();
            match origin.as_str() {
                // A composite or non-integer primary key: already listed.
                "pk" => {}
                "u" => {
                    table.unique.insert(columns);
                }
                _ => {
                    table.indexes.insert(
                        index,
                        (
                            columns,
                            i.get::<i64, _>("uq") == 1,
                            i.get::<i64, _>("partial") == 1,
                        ),
                    );
                }
            }
        }
        tables.insert(name, table);
    }
    for row in sqlx::query("SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger'")
        .fetch_all(pool)
        .await
        .unwrap()
    {
        if let Some(t) = tables.get_mut(&row.get::<String, _>("tbl_name")) {
            t.triggers = true;
        }
    }
    tables
}

async fn postgres_schema(pool: &sqlx::AnyPool) -> BTreeMap<String, Table> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    // The Any driver decodes neither information_schema's domains nor
    // `name`, so everything is cast to TEXT or BIGINT.
    for row in sqlx::query(
        "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        tables.insert(row.get("name"), Table::default());
    }
    for c in sqlx::query(
        "SELECT CAST(table_name AS TEXT) AS tbl, CAST(column_name AS TEXT) AS name, \
                CAST(data_type AS TEXT) AS type, CAST(is_nullable AS TEXT) AS nullable, \
                CAST(column_default AS TEXT) AS dflt \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        if let Some(t) = tables.get_mut(&c.get::<String, _>("tbl")) {
            t.columns.push((
                c.get("name"),
                type_class(&c.get::<String, _>("type")),
                c.get::<String, _>("nullable") == "NO",
                c.get::<Option<String>, _>("dflt")
                    .map(|d| normal_default(&d)),
            ));
        }
    }
    // `pg_get_constraintdef` prints `FOREIGN KEY (a) REFERENCES t(id) ON
    // DELETE CASCADE`, the form `foreign_key` gives SQLite's keys.
    for f in sqlx::query(
        "SELECT CAST(t.relname AS TEXT) AS tbl, pg_get_constraintdef(c.oid) AS def \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = current_schema() AND c.contype = 'f'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        if let Some(t) = tables.get_mut(&f.get::<String, _>("tbl")) {
            t.foreign_keys.insert(f.get("def"));
        }
    }
    // One row per index column; `pg_get_indexdef(oid, k, true)` names the
    // column without its operator class (`text_pattern_ops`).
    let rows = sqlx::query(
        "SELECT CAST(i.relname AS TEXT) AS name, CAST(t.relname AS TEXT) AS tbl, \
                CAST(CASE WHEN ix.indisprimary THEN 1 ELSE 0 END AS BIGINT) AS pk, \
                CAST(CASE WHEN ix.indisunique THEN 1 ELSE 0 END AS BIGINT) AS uq, \
                CAST(CASE WHEN ix.indpred IS NOT NULL THEN 1 ELSE 0 END AS BIGINT) AS partial, \
                CAST(CASE WHEN EXISTS (SELECT 1 FROM pg_constraint c \
                     WHERE c.conindid = ix.indexrelid AND c.contype = 'u') \
                     THEN 1 ELSE 0 END AS BIGINT) AS constraint_unique, \
                pg_get_indexdef(ix.indexrelid, k, true) AS col \
         FROM pg_index ix \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL generate_series(1, ix.indnatts) AS k \
         WHERE n.nspname = current_schema() \
         ORDER BY t.relname, i.relname, k",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    /// One index of the catalogue, its columns gathered from its rows.
    struct PgIndex {
        columns: Vec<String>,
        primary: bool,
        unique: bool,
        partial: bool,
        constraint: bool,
    }
    let mut indexes: BTreeMap<(String, String), PgIndex> = BTreeMap::new();
    for r in rows {
        let e = indexes
            .entry((r.get("tbl"), r.get("name")))
            .or_insert_with(|| PgIndex {
                columns: Vec::new(),
                primary: r.get::<i64, _>("pk") == 1,
                unique: r.get::<i64, _>("uq") == 1,
                partial: r.get::<i64, _>("partial") == 1,
                constraint: r.get::<i64, _>("constraint_unique") == 1,
            });
        e.columns.push(r.get("col"));
    }
    for ((tbl, name), i) in indexes {
        let Some(t) = tables.get_mut(&tbl) else {
            continue;
        };
        if i.primary {
            t.primary_key = i.columns;
        } else if i.constraint {
            t.unique.insert(i.columns);
        } else {
            t.indexes.insert(name, (i.columns, i.unique, i.partial));
        }
    }
    for row in sqlx::query(
        "SELECT DISTINCT CAST(c.relname AS TEXT) AS tbl FROM pg_trigger g \
         JOIN pg_class c ON c.oid = g.tgrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND NOT g.tgisinternal",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        if let Some(t) = tables.get_mut(&row.get::<String, _>("tbl")) {
            t.triggers = true;
        }
    }
    tables
}

/// A default as both engines agree to print it: PostgreSQL adds a cast
/// (`'active'::text`) and brackets negative numbers (`'-1'::integer`).
fn normal_default(d: &str) -> String {
    let mut d = d.trim();
    if let Some(i) = d.find("::") {
        d = &d[..i];
    }
    let d = d.trim_start_matches('(').trim_end_matches(')');
    // `'-1'` (a cast literal) and `-1` are the same number.
    match d.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        Some(inner) if inner.parse::<i64>().is_ok() => inner.to_string(),
        _ => d.to_string(),
    }
}

/// A foreign key in PostgreSQL's `pg_get_constraintdef` form.
fn foreign_key(from: &[String], table: &str, to: &[String], on_delete: &str) -> String {
    let to = if to.iter().all(String::is_empty) {
        String::new()
    } else {
        format!("({})", to.join(", "))
    };
    let action = match on_delete {
        "NO ACTION" | "" => String::new(),
        a => format!(" ON DELETE {a}"),
    };
    format!(
        "FOREIGN KEY ({}) REFERENCES {table}{to}{action}",
        from.join(", ")
    )
}

/// The snapshot text: one block a table, easy to diff line by line.
fn render(tables: &BTreeMap<String, Table>) -> String {
    let mut out = String::from(
        "# The schema that migrations/sqlite and migrations/postgres both build,\n\
         # read back by tests/api/migrations.rs. Regenerate after a deliberate change:\n\
         # WEIOPS_UPDATE_SCHEMA=1 cargo test --test api schema\n",
    );
    for (name, t) in tables {
        let _ = writeln!(out, "table {name}");
        for (col, class, not_null, default) in &t.columns {
            let null = if *not_null { "not null" } else { "null" };
            let default = default
                .as_ref()
                .map(|d| format!(" default {d}"))
                .unwrap_or_default();
            let _ = writeln!(out, "  column {col} {class} {null}{default}");
        }
        if !t.primary_key.is_empty() {
            let _ = writeln!(out, "  primary key ({})", t.primary_key.join(", "));
        }
        for cols in &t.unique {
            let _ = writeln!(out, "  unique ({})", cols.join(", "));
        }
        for key in &t.foreign_keys {
            let _ = writeln!(out, "  {key}");
        }
        for (index, (cols, unique, partial)) in &t.indexes {
            let kind = if *unique { "unique index" } else { "index" };
            let partial = if *partial { " partial" } else { "" };
            let _ = writeln!(out, "  {kind} {index} ({}){partial}", cols.join(", "));
        }
        if t.triggers {
            let _ = writeln!(out, "  triggers");
        }
    }
    out
}

/// The lines only one side has, marked `-` (snapshot) and `+` (database),
/// under the table they belong to.
fn diff(expected: &str, actual: &str) -> String {
    fn keyed(text: &str) -> Vec<String> {
        let mut table = "";
        text.lines()
            .map(|l| {
                if let Some(t) = l.strip_prefix("table ") {
                    table = t;
                    l.to_string()
                } else {
                    format!("table {table}: {}", l.trim())
                }
            })
            .collect()
    }
    let (e, a) = (keyed(expected), keyed(actual));
    let (es, as_): (BTreeSet<_>, BTreeSet<_>) = (e.iter().collect(), a.iter().collect());
    let mut out = String::new();
    for l in e.iter().filter(|l| !as_.contains(l)) {
        let _ = writeln!(out, "- {l}");
    }
    for l in a.iter().filter(|l| !es.contains(l)) {
        let _ = writeln!(out, "+ {l}");
    }
    if out.is_empty() {
        // Same lines, other order: the columns are declared in another order.
        out = "the same lines in another order (column order?)".into();
    }
    out
}

#[tokio::test]
async fn both_migration_folders_build_the_committed_schema() {
    let app = spawn_app().await;
    let (folder, tables) = match app.db.engine {
        Engine::Sqlite => ("sqlite", sqlite_schema(&app.db.pool).await),
        Engine::Postgres => ("postgres", postgres_schema(&app.db.pool).await),
    };
    let actual = render(&tables);
    if std::env::var("WEIOPS_UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(SNAPSHOT, &actual).expect("write tests/api/schema.txt");
        return;
    }
    let expected = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        expected == actual,
        "the schema that migrations/{} builds differs from tests/api/schema.txt \
         (- snapshot, + database):\n{}\n\
         Change the migrations of both engines alike; after a deliberate change \
         regenerate the snapshot with WEIOPS_UPDATE_SCHEMA=1 cargo test --test api schema",
        folder,
        diff(&expected, &actual)
    );
}
