//! Writing placed orders, many at a time (group commit, see
//! [`crate::db::GroupCommit`]). `purchase::place` checks an order, prices
//! it and queues it here; orders that wait together are written in one
//! transaction of a few statements whatever their number: the stock they
//! ask for is read once, [`rules::allocate`] decides in their order of
//! arrival which of them it covers, and the orders, their lines, timeline
//! events, audit entries, reservation movements and the new reserved
//! figures are each written with one statement.
//!
//! An order is refused (409 naming the SKU and what is available) exactly
//! when it would have been placed alone after the orders before it; stock
//! never goes negative, the CHECKs of `stock` being the last word. If a
//! batch fails as a whole (a database error), each of its orders is
//! written again on its own, so one order's problem is never another's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sqlx::Row;
use weiops_core::money::Fen;
use weiops_core::purchase::OrderState;

use crate::audit::{self, Actor, Change};
use crate::db::{
    Db, Engine, GroupCommit, Script, ScriptTx, Value, now_ms, padded, param, value_rows,
};
use crate::orders::model::{Fulfilment, PlacedOrder};
use crate::stock::moves::Kind;
use crate::stock::rules;
use crate::{Error, Result};

/// The orders waiting to be written.
pub type Queue = GroupCommit<Job, Result<PlacedOrder>>;

/// Lines written per batch at most (a batch always takes one order, of up
/// to `model::MAX_LINES` lines): keeps the bound values of the largest
/// statement (11 per movement) well under either engine's limit.
const MAX_BATCH_LINES: usize = 1_000;

/// An order checked and priced, ready to be written.
#[derive(Debug, Clone)]
pub struct Job {
    pub actor: Actor,
    pub agent_id: i64,
    pub level: i64,
    pub warehouse: i64,
    pub fulfilment: Fulfilment,
    pub receiver_name: Option<String>,
    pub receiver_phone: Option<String>,
    pub receiver_address: Option<String>,
    pub note: String,
    pub placed_by: Option<i64>,
    /// One per SKU, SKUs ascending.
    pub lines: Vec<JobLine>,
    pub amount_fen: i64,
    pub retail_fen: i64,
    /// `orders.level_prices`: what the order costs at every level.
    pub level_prices: String,
    /// When it was placed (ms), and until when its stock is held.
    pub placed_at: i64,
    pub reserved_until: i64,
}

#[derive(Debug, Clone)]
pub struct JobLine {
    pub sku_id: i64,
    pub sku_code: String,
    pub qty: i64,
    pub retail_fen: i64,
    pub unit_price_fen: i64,
    pub amount_fen: i64,
}

/// Queues `job` and waits until it is written or refused.
pub async fn submit(db: &Db, job: Job) -> Result<PlacedOrder> {
    let writer = db.clone();
    // One queue per database, shared by every clone of `db` (each request
    // holds one): orders wait together only if they wait in the same queue.
    db.slot::<Queue>()
        .submit(
            job,
            |job| job.lines.len(),
            MAX_BATCH_LINES,
            move |jobs| {
                let db = writer.clone();
                async move { write(&db, jobs).await }
            },
        )
        .await
        .unwrap_or_else(|| Err(anyhow::anyhow!("the batch writing this order was lost").into()))
}

/// One result per job, in order.
async fn write(db: &Db, jobs: Vec<Job>) -> Vec<Result<PlacedOrder>> {
    if jobs.len() > 1 {
        let started = std::time::Instant::now();
        match write_batch(db, &jobs).await {
            Ok(results) => {
                tracing::debug!(
                    orders = jobs.len(),
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "orders written together"
                );
                return results;
            }
            Err(e) => tracing::warn!(
                orders = jobs.len(),
                "writing orders together failed, writing each alone: {e:#}"
            ),
        }
    }
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        results.push(write_alone(db, job).await);
    }
    results
}

/// A batch of one.
async fn write_alone(db: &Db, job: Job) -> Result<PlacedOrder> {
    write_batch(db, std::slice::from_ref(&job))
        .await?
        .pop()
        .unwrap_or_else(|| Err(anyhow::anyhow!("no result for the order").into()))
}

/// What a batch reads before it decides: the stock levels as (on hand,
/// reserved) per (warehouse, SKU) of `keys`, and which of the drawn order
/// `numbers` are already taken. One script: on SQLite one statement, run
/// with the BEGIN of the transaction; on PostgreSQL the stock rows are
/// locked as they are read, in key order as every batch locks them.
fn read_script(engine: Engine, keys: &BTreeSet<(i64, i64)>, numbers: &[String]) -> Script {
    let mut by_warehouse: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for &(w, sku) in keys {
        by_warehouse.entry(w).or_default().push(sku);
    }
    let list = |from: usize, n: usize| {
        (from..from + n)
            .map(|i| param(engine, i))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let lock = match engine {
        Engine::Postgres => " ORDER BY sku_id FOR UPDATE",
        Engine::Sqlite => "",
    };
    // (statement, values); one UNION ALL on SQLite, apart on PostgreSQL
    // (FOR UPDATE takes no UNION).
    let mut parts: Vec<(String, Vec<Value>)> = Vec::new();
    for (w, skus) in &by_warehouse {
        let skus = padded(skus);
        let first = match engine {
            Engine::Sqlite => parts.iter().map(|(_, v)| v.len()).sum::<usize>() + 1,
            Engine::Postgres => 1,
        };
        let mut values: Vec<Value> = vec![(*w).into()];
        values.extend(skus.iter().map(|&sku| Value::from(sku)));
        parts.push((
            format!(
                "SELECT warehouse_id, sku_id, on_hand, reserved, NULL AS order_no FROM stock \
                 WHERE warehouse_id = {} AND sku_id IN ({}){lock}",
                param(engine, first),
                list(first + 1, skus.len())
            ),
            values,
        ));
    }
    if !numbers.is_empty() {
        let numbers = padded(numbers);
        let first = match engine {
            Engine::Sqlite => parts.iter().map(|(_, v)| v.len()).sum::<usize>() + 1,
            Engine::Postgres => 1,
        };
        parts.push((
            format!(
                "SELECT 0, 0, 0, 0, order_no FROM orders WHERE order_no IN ({})",
                list(first, numbers.len())
            ),
            numbers.into_iter().map(Value::from).collect(),
        ));
    }
    let mut script = Script::new(engine);
    match engine {
        Engine::Sqlite => {
            let sql = parts
                .iter()
                .map(|(sql, _)| sql.as_str())
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            script.push(sql, parts.into_iter().flat_map(|(_, v)| v).collect());
        }
        Engine::Postgres => {
            for (sql, values) in parts {
                script.push(sql, values);
            }
        }
    }
    script
}

/// The rows of [`read_script`]: the levels and the numbers taken.
type State = (BTreeMap<(i64, i64), (i64, i64)>, BTreeSet<String>);

fn state_of(rows: &[sqlx::any::AnyRow]) -> Result<State> {
    let mut levels = BTreeMap::new();
    let mut taken = BTreeSet::new();
    for r in rows {
        if let Some(no) = r.try_get::<Option<String>, _>(4)? {
            taken.insert(no);
        } else {
            levels.insert(
                (r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?),
                (r.try_get::<i64, _>(2)?, r.try_get::<i64, _>(3)?),
            );
        }
    }
    Ok((levels, taken))
}

/// Writes `jobs` in one transaction; one result per job (placed, or
/// refused for want of stock). An error means nothing was written.
async fn write_batch(db: &Db, jobs: &[Job]) -> Result<Vec<Result<PlacedOrder>>> {
    let started = std::time::Instant::now();
    let mut tx = db.begin_scripts().await?;
    let gate = started.elapsed();
    let (decisions, numbers, writes) = match decide(db, &mut tx, jobs).await {
        Ok(d) => d,
        Err(e) => {
            // Rolled back before the write gate opens for the next writer.
            tx.rollback().await;
            return Err(e);
        }
    };
    let decided = started.elapsed();
    let mut ids = HashMap::with_capacity(jobs.len());
    for r in tx.commit_with(writes).await? {
        ids.insert(
            r.try_get::<String, _>("order_no")?,
            r.try_get::<i64, _>("id")?,
        );
    }
    let total = started.elapsed();
    if total > std::time::Duration::from_millis(30) {
        tracing::debug!(orders = jobs.len(), ?gate, read = ?(decided - gate), write = ?(total - decided), "slow batch");
    }

    let mut results = Vec::with_capacity(jobs.len());
    for ((job, decision), no) in jobs.iter().zip(decisions).zip(numbers) {
        results.push(match decision {
            Err(((_, sku), available)) => Err(Error::Shortage {
                sku: job
                    .lines
                    .iter()
                    .find(|l| l.sku_id == sku)
                    .map(|l| l.sku_code.clone())
                    .unwrap_or_default(),
                available,
            }),
            Ok(()) => match ids.get(&no) {
                Some(&id) => Ok(PlacedOrder {
                    id,
                    order_no: no,
                    status: OrderState::PendingPayment.as_str().into(),
                    amount_fen: job.amount_fen,
                    retail_fen: job.retail_fen,
                    reserved_until: job.reserved_until,
                }),
                None => Err(anyhow::anyhow!("order {no} was not written").into()),
            },
        });
    }
    Ok(results)
}

/// Which stock refusal, if any, each job meets.
type Decision = std::result::Result<(), ((i64, i64), i64)>;

/// Reads, decides, and returns the decisions, the order numbers (one per
/// job, used by those placed) and the script that writes the placed ones.
async fn decide(
    db: &Db,
    tx: &mut ScriptTx,
    jobs: &[Job],
) -> Result<(Vec<Decision>, Vec<String>, Script)> {
    let keys: BTreeSet<(i64, i64)> = jobs
        .iter()
        .flat_map(|j| j.lines.iter().map(|l| (j.warehouse, l.sku_id)))
        .collect();
    // Numbers are drawn at random (`document_no`): one already taken (a few
    // in ten thousand once a day has tens of thousands of orders) is drawn
    // again. Under the write gate nobody else can take a number between
    // this check and the insert; on PostgreSQL another server could, and
    // the batch then fails and its orders are written one by one.
    let mut drawn: BTreeSet<String> = BTreeSet::new();
    let mut draw = |job: &Job| loop {
        let no = crate::db::document_no("PO", job.placed_at);
        if drawn.insert(no.clone()) {
            return no;
        }
    };
    let mut numbers: Vec<String> = jobs.iter().map(&mut draw).collect();
    let (levels, mut taken) = state_of(&tx.run(read_script(db.engine, &keys, &numbers)).await?)?;
    for _ in 0..3 {
        if taken.is_empty() {
            break;
        }
        for (job, no) in jobs.iter().zip(numbers.iter_mut()) {
            if taken.contains(no) {
                *no = draw(job);
            }
        }
        let rows = tx
            .run(read_script(db.engine, &BTreeSet::new(), &numbers))
            .await?;
        taken = state_of(&rows)?.1;
    }
    if !taken.is_empty() {
        return Err(anyhow::anyhow!("could not find free order numbers").into());
    }

    let available: BTreeMap<(i64, i64), i64> = levels
        .iter()
        .map(|(k, &(on_hand, reserved))| (*k, rules::available(on_hand, reserved)))
        .collect();
    let wants: Vec<Vec<((i64, i64), i64)>> = jobs
        .iter()
        .map(|j| {
            j.lines
                .iter()
                .map(|l| ((j.warehouse, l.sku_id), l.qty))
                .collect()
        })
        .collect();
    let decisions = rules::allocate(&available, &wants);
    let placed: Vec<(&Job, &str)> = jobs
        .iter()
        .zip(&numbers)
        .zip(&decisions)
        .filter(|(_, d)| d.is_ok())
        .map(|((j, no), _)| (j, no.as_str()))
        .collect();
    let writes = if placed.is_empty() {
        Script::new(db.engine)
    } else {
        write_script(db.engine, &placed, &levels)
    };
    Ok((decisions, numbers, writes))
}

/// The placed orders (numbers checked free) with their lines, timeline
/// events, reservation movements, new reserved figures and audit entries:
/// one statement each, one [`Script`], whose only rows are the orders'
/// `id` and `order_no`.
fn write_script(
    engine: Engine,
    placed: &[(&Job, &str)],
    levels: &BTreeMap<(i64, i64), (i64, i64)>,
) -> Script {
    let at = now_ms();
    let mut script = Script::new(engine);

    // Orders, 15 values each; the only statement returning rows.
    let mut values: Vec<Value> = Vec::with_capacity(placed.len() * 15);
    for (job, no) in placed {
        values.extend([
            (*no).into(),
            job.agent_id.into(),
            job.level.into(),
            job.retail_fen.into(),
            job.amount_fen.into(),
            job.placed_at.into(),
            job.warehouse.into(),
            job.fulfilment.as_str().into(),
            job.receiver_name.clone().into(),
            job.receiver_phone.clone().into(),
            job.receiver_address.clone().into(),
            job.reserved_until.into(),
            job.placed_by.into(),
            job.note.as_str().into(),
            job.level_prices.as_str().into(),
        ]);
    }
    script.push(
        format!(
            "INSERT INTO orders (order_no, agent_id, buyer_level, retail_fen, paid_fen, amount_fen, status, counted, source, \
             created_at, updated_at, warehouse_id, fulfilment, receiver_name, receiver_phone, receiver_address, \
             reserved_until, placed_by, note, level_prices) \
             SELECT column1, column2, column3, column4, column5, column5, 'pending_payment', 0, 'app', column6, column6, \
             column7, column8, column9, column10, column11, column12, column13, column14, column15 FROM (VALUES {}) AS v \
             RETURNING id, order_no",
            value_rows(engine, placed.len(), 15, 1)
        ),
        values,
    );

    // Lines, 6 values each, joined to their order by its number.
    let lines: Vec<(&str, &JobLine)> = placed
        .iter()
        .flat_map(|(job, no)| job.lines.iter().map(move |l| (*no, l)))
        .collect();
    let mut values: Vec<Value> = Vec::with_capacity(lines.len() * 6);
    for (no, l) in &lines {
        values.extend([
            (*no).into(),
            l.sku_id.into(),
            l.qty.into(),
            l.retail_fen.into(),
            l.unit_price_fen.into(),
            l.amount_fen.into(),
        ]);
    }
    script.push(
        format!(
            "INSERT INTO order_lines (order_id, sku_id, qty, retail_fen, unit_price_fen, amount_fen) \
             SELECT o.id, v.column2, v.column3, v.column4, v.column5, v.column6 \
             FROM (VALUES {}) AS v JOIN orders o ON o.order_no = v.column1",
            value_rows(engine, lines.len(), 6, 1)
        ),
        values,
    );

    // Timeline: placed, waiting for payment. 4 values each.
    let mut values: Vec<Value> = Vec::with_capacity(placed.len() * 4);
    for (job, no) in placed {
        values.extend([
            (*no).into(),
            job.actor.user_id.into(),
            job.actor.name.as_str().into(),
            at.into(),
        ]);
    }
    script.push(
        format!(
            "INSERT INTO order_events (order_id, from_status, to_status, note, actor_id, actor_name, at) \
             SELECT o.id, NULL, '{}', '', v.column2, v.column3, v.column4 \
             FROM (VALUES {}) AS v JOIN orders o ON o.order_no = v.column1",
            OrderState::PendingPayment.as_str(),
            value_rows(engine, placed.len(), 4, 1)
        ),
        values,
    );

    // Reservation movements, 8 values each (reservations leave on hand
    // as it is: `on_hand_after` is the level read).
    let mut values: Vec<Value> = Vec::with_capacity(lines.len() * 8);
    for (job, no) in placed {
        for l in &job.lines {
            let (on_hand, _) = levels
                .get(&(job.warehouse, l.sku_id))
                .copied()
                .unwrap_or_default();
            values.extend([
                job.warehouse.into(),
                l.sku_id.into(),
                l.qty.into(),
                on_hand.into(),
                (*no).into(),
                job.actor.user_id.into(),
                job.actor.name.as_str().into(),
                at.into(),
            ]);
        }
    }
    script.push(
        format!(
            "INSERT INTO stock_movements (warehouse_id, sku_id, kind, qty, on_hand_after, reason, ref_type, ref_id, actor_id, actor_name, at) \
             SELECT column1, column2, '{}', column3, column4, '', 'order', column5, column6, column7, column8 FROM (VALUES {}) AS v",
            Kind::Reserve.as_str(),
            value_rows(engine, lines.len(), 8, 1)
        ),
        values,
    );

    // The new reserved figures, one row per (warehouse, SKU); the CHECKs
    // of `stock` refuse the whole batch should a figure go wrong.
    let mut reserve: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for (job, _) in placed {
        for l in &job.lines {
            *reserve.entry((job.warehouse, l.sku_id)).or_default() += l.qty;
        }
    }
    let mut values: Vec<Value> = Vec::with_capacity(reserve.len() * 3 + 1);
    for (&(w, sku), &qty) in &reserve {
        values.extend([w.into(), sku.into(), qty.into()]);
    }
    values.push(at.into());
    script.push(
        format!(
            "WITH v (w, s, q) AS (VALUES {}) \
             UPDATE stock SET reserved = stock.reserved + v.q, updated_at = {} \
             FROM v WHERE stock.warehouse_id = v.w AND stock.sku_id = v.s",
            value_rows(engine, reserve.len(), 3, 1),
            param(engine, reserve.len() * 3 + 1)
        ),
        values,
    );

    let changes: Vec<(&Actor, Change)> = placed
        .iter()
        .map(|(job, no)| {
            (
                &job.actor,
                Change::new("order.place", "order", no)
                    .summary(format!("{} lines, {}", job.lines.len(), Fen(job.amount_fen)))
                    .after(serde_json::json!({
                        "agent_id": job.agent_id, "amount_fen": job.amount_fen, "retail_fen": job.retail_fen,
                        "fulfilment": job.fulfilment.as_str(), "warehouse_id": job.warehouse,
                        "lines": job.lines.iter().map(|l| serde_json::json!({
                            "sku_id": l.sku_id, "qty": l.qty, "unit_price_fen": l.unit_price_fen, "amount_fen": l.amount_fen,
                        })).collect::<Vec<_>>(),
                    })),
            )
        })
        .collect();
    audit::record_all(&mut script, &changes);
    script
}
