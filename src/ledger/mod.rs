//! The ledger (总账): posting double-entry journal entries and the per-agent
//! balances cached beside them. Every money event calls [`post`] inside its
//! own transaction: the entry is checked in code ([`check_entry`]), written
//! unposted with its totals, its lines are added in bulk, and the posting
//! UPDATE lets the database check once more that the stored lines balance
//! and match the header (triggers in the migration). The wallet balances of
//! account 2242 are kept in `agent_wallets` in the same transaction.
//!
//! A domain of its own below every domain that moves money (orders,
//! after-sales, rewards, finance) so that they all post here without
//! importing each other; it imports no business domain. The pages that read
//! the journal (entries, balances, statements) stay in `crate::finance`.

use std::collections::BTreeMap;

use sqlx::Row;
use weiops_core::ledger::{EntryLine, Side, accounts, check_entry};
use weiops_core::money::Fen;

use crate::audit::Actor;
use crate::db::{Engine, Tx, now_ms};
use crate::registry::permissions;
use crate::{Error, Result};

// Who may read and move money. Declared here, at the bottom of the money
// domains, because orders (payments, refunds), rewards (settlement) and
// finance (journal, withdrawals) all guard their handlers with them.
permissions! {
    FinanceRead = "finance.read" in "finance";
    FinanceWrite = "finance.write" in "finance";
    FinanceApprove = "finance.approve" in "finance";
    FinancePay = "finance.pay" in "finance";
}

/// Lines per INSERT (one JSON value each).
const BATCH: usize = 5_000;

/// An entry to post.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// Business time of the entry (ms); usually now.
    pub at: i64,
    pub memo: String,
    /// What produced it: `settlement`, `withdrawal`, `order`, `manual`, …
    pub source: &'static str,
    pub source_id: String,
    pub lines: Vec<EntryLine>,
    /// Refuse the entry when it would take an agent's wallet (2242) below
    /// zero (withdrawals). Clawbacks leave it off: they may drive a wallet
    /// negative, and that debt is settled by later rewards.
    pub guard_wallets: bool,
}

/// Posts a balanced entry; returns its id. An unbalanced entry is refused
/// before anything is written.
#[tracing::instrument(skip_all, fields(source = entry.source, lines = entry.lines.len()))]
pub async fn post(tx: &mut Tx<'_>, engine: Engine, actor: &Actor, entry: NewEntry) -> Result<i64> {
    let total = check_entry(&entry.lines).map_err(|e| Error::BadRequest(e.key()))?;
    let id: i64 = sqlx::query(
        "INSERT INTO journal_entries (posted_at, memo, source, source_id, debit_fen, credit_fen, line_count, posted, \
         created_by, created_by_name, created_at) VALUES ($1, $2, $3, $4, $5, $5, $6, 0, $7, $8, $9) RETURNING id",
    )
    .bind(entry.at)
    .bind(&entry.memo)
    .bind(entry.source)
    .bind(&entry.source_id)
    .bind(total.0)
    .bind(entry.lines.len() as i64)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;

    let sql = match engine {
        Engine::Sqlite => {
            "INSERT INTO journal_lines (entry_id, account, agent_id, debit_fen, credit_fen, posted_at) \
             SELECT $1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, $2 FROM json_each($3)"
        }
        Engine::Postgres => {
            "INSERT INTO journal_lines (entry_id, account, agent_id, debit_fen, credit_fen, posted_at) \
             SELECT $1, e ->> 0, (e ->> 1)::bigint, (e ->> 2)::bigint, (e ->> 3)::bigint, $2 \
             FROM jsonb_array_elements($3::jsonb) AS e"
        }
    };
    for chunk in entry.lines.chunks(BATCH) {
        let data: Vec<serde_json::Value> = chunk
            .iter()
            .map(|l| {
                let (d, c) = match l.side {
                    Side::Debit => (l.amount.0, 0),
                    Side::Credit => (0, l.amount.0),
                };
                serde_json::json!([l.account, l.agent_id, d, c])
            })
            .collect();
        sqlx::query(sql)
            .bind(id)
            .bind(entry.at)
            .bind(serde_json::Value::Array(data).to_string())
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("UPDATE journal_entries SET posted = 1 WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;

    // Per-agent balance caches, in the same transaction as the entry.
    apply_balances(
        tx,
        engine,
        &entry.lines,
        Cache::WALLETS,
        entry.guard_wallets,
    )
    .await?;
    // A prepaid balance can never go below zero (the table CHECKs it too).
    apply_balances(tx, engine, &entry.lines, Cache::PREPAYMENTS, true).await?;
    Ok(id)
}

/// A table that caches one per-agent account's balance (credit − debit).
struct Cache {
    account: &'static str,
    table: &'static str,
    /// The message when a guarded change would go below zero.
    insufficient: &'static str,
}

impl Cache {
    const WALLETS: Cache = Cache {
        account: accounts::AGENT_WALLETS,
        table: "agent_wallets",
        insufficient: "wallet.insufficient",
    };
    const PREPAYMENTS: Cache = Cache {
        account: accounts::AGENT_PREPAYMENTS,
        table: "agent_prepayments",
        insufficient: "orders.balance_insufficient",
    };
}

async fn apply_balances(
    tx: &mut Tx<'_>,
    engine: Engine,
    lines: &[EntryLine],
    cache: Cache,
    guard: bool,
) -> Result<()> {
    let mut delta: BTreeMap<i64, i64> = BTreeMap::new();
    for l in lines.iter().filter(|l| l.account == cache.account) {
        let Some(agent) = l.agent_id else { continue };
        let signed = match l.side {
            Side::Credit => l.amount.0,
            Side::Debit => -l.amount.0,
        };
        *delta.entry(agent).or_default() += signed;
    }
    if guard {
        // One conditional UPDATE per agent taking money: concurrent
        // requests are serialised by the row, and none can overdraw.
        for (agent, d) in delta.iter().filter(|(_, d)| **d < 0) {
            let res = crate::db::dynamic(format!(
                "UPDATE {} SET balance_fen = balance_fen + $1, updated_at = $2                  WHERE agent_id = $3 AND balance_fen + $1 >= 0",
                cache.table
            ))
            .bind(*d)
            .bind(now_ms())
            .bind(*agent)
            .execute(&mut **tx)
            .await?;
            if res.rows_affected() != 1 {
                return Err(Error::Conflict(cache.insufficient));
            }
        }
        delta.retain(|_, d| *d > 0);
    }
    let changes: Vec<serde_json::Value> = delta
        .into_iter()
        .filter(|(_, d)| *d != 0)
        .map(|(a, d)| serde_json::json!([a, d]))
        .collect();
    for chunk in changes.chunks(BATCH) {
        let t = cache.table;
        let sql = match engine {
            Engine::Sqlite => format!(
                "INSERT INTO {t} (agent_id, balance_fen, updated_at) \
                 SELECT value ->> 0, value ->> 1, $1 FROM json_each($2) WHERE true \
                 ON CONFLICT (agent_id) DO UPDATE SET balance_fen = {t}.balance_fen + excluded.balance_fen, \
                 updated_at = excluded.updated_at"
            ),
            Engine::Postgres => format!(
                "INSERT INTO {t} (agent_id, balance_fen, updated_at) \
                 SELECT (e ->> 0)::bigint, (e ->> 1)::bigint, $1 FROM jsonb_array_elements($2::jsonb) AS e \
                 ON CONFLICT (agent_id) DO UPDATE SET balance_fen = {t}.balance_fen + excluded.balance_fen, \
                 updated_at = excluded.updated_at"
            ),
        };
        crate::db::dynamic(sql)
            .bind(now_ms())
            .bind(serde_json::Value::Array(chunk.to_vec()).to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// An agent's wallet balance (released rewards minus withdrawals).
pub async fn wallet_balance(pool: &sqlx::AnyPool, agent_id: i64) -> Result<Fen> {
    cached_balance(pool, Cache::WALLETS, agent_id).await
}

/// An agent's prepaid balance (货款余额, account 2203).
pub async fn prepaid_balance(pool: &sqlx::AnyPool, agent_id: i64) -> Result<Fen> {
    cached_balance(pool, Cache::PREPAYMENTS, agent_id).await
}

/// The balance a cache table holds for an agent (0 when it has no row).
async fn cached_balance(pool: &sqlx::AnyPool, cache: Cache, agent_id: i64) -> Result<Fen> {
    let row = crate::db::dynamic(format!(
        "SELECT balance_fen FROM {} WHERE agent_id = $1",
        cache.table
    ))
    .bind(agent_id)
    .fetch_optional(pool)
    .await?;
    Ok(Fen(match row {
        Some(r) => r.try_get("balance_fen")?,
        None => 0,
    }))
}
