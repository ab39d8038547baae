//! Several statements run as one call ([`Script`]), and the write
//! transaction made of them ([`ScriptTx`]) that the busiest writer (orders
//! being placed) uses to cross to SQLite's thread as seldom as possible.

use super::{AnyQuery, Db, Engine, WriteTx, dynamic};

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
