//! Monthly settlement runs (月度结算): draft → approved → paid.
//!
//! A draft is computed by the pure engine (`weiops_core::rewards::settle`)
//! from the period's counted orders and the sponsor tree, levels and
//! statuses as they stand when it runs (the spec's moment), plus the
//! clawbacks that landed in the period. It may be recomputed freely.
//! Approval is by a second person holding `finance.approve` (not the one who
//! created or last computed it) and only while the draft is current: the
//! data it was computed from (agents, the period's orders, the plan, the
//! clawbacks) must not have changed since, else it must be recomputed first.
//! Approval keeps the tree used (`settlement_agents`) and posts the reward
//! expense (Dr 6601 / Cr 2241 per agent). Paying releases each agent's net
//! amount to the wallet (Dr 2241 / Cr 2242); agents frozen or terminated at
//! that moment are held (left on 2241) and listed, to be released once
//! active again. A period has at most one run (UNIQUE): a second create is
//! refused, so nothing is ever paid twice.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;
use weiops_core::agents::AgentStatus;
use weiops_core::ledger::{EntryLine, accounts};
use weiops_core::money::Fen;
use weiops_core::rewards::{
    MAX_LEVELS, Plan, PriceList, PriceLists, SettleAgent, SettleOrder, Totals, paid_priced,
    settle_with_volumes,
};
use weiops_core::time::Period;

use super::plan::{self, StoredPlan};
use crate::audit::{self, Actor, Change};
use crate::db::{Db, Engine, Tx, now_ms};
use crate::ledger::{self, NewEntry};
use crate::{Error, Result};

/// Orders fetched per round trip, packed as text by the database.
const FETCH_CHUNK: i64 = 200_000;
/// Result rows per INSERT.
const BATCH: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Draft,
    Approved,
    Paid,
}

impl RunStatus {
    pub fn parse(s: &str) -> Option<RunStatus> {
        Some(match s {
            "draft" => RunStatus::Draft,
            "approved" => RunStatus::Approved,
            "paid" => RunStatus::Paid,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Draft => "draft",
            RunStatus::Approved => "approved",
            RunStatus::Paid => "paid",
        }
    }

    /// Tag colour on pages.
    pub fn tag(self) -> &'static str {
        match self {
            RunStatus::Draft => "warning",
            RunStatus::Approved => "info",
            RunStatus::Paid => "success",
        }
    }
}

/// A settlement run as lists and the API show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Run {
    pub id: i64,
    pub period: String,
    pub status: RunStatus,
    pub plan_version: i64,
    pub orders_count: i64,
    pub orders_paid_fen: i64,
    pub level_diff_fen: i64,
    pub referral_fen: i64,
    pub team_fen: i64,
    pub adjust_fen: i64,
    pub total_fen: i64,
    pub earners: i64,
    pub held_fen: i64,
    pub created_by_name: String,
    pub created_at: i64,
    pub computed_at: i64,
    pub computed_by_name: String,
    pub approved_by_name: Option<String>,
    pub approved_at: Option<i64>,
    pub paid_by_name: Option<String>,
    pub paid_at: Option<i64>,
    /// A draft of a month that has not ended (Beijing time): a preview,
    /// which cannot be approved or paid before the month is over.
    pub preview: bool,
    /// When the month ends (ms, 00:00 +08:00 of the next month).
    pub period_end: i64,
    #[serde(skip)]
    created_by: Option<i64>,
    #[serde(skip)]
    computed_by: Option<i64>,
    #[serde(skip)]
    fingerprint: String,
    #[serde(skip)]
    plan_json: String,
}

impl Run {
    /// Net amount: rule totals plus clawbacks.
    pub fn net_fen(&self) -> i64 {
        self.total_fen.saturating_add(self.adjust_fen)
    }

    /// Whether `user` created or last computed the run (and so may not
    /// approve it).
    pub fn is_author(&self, user: i64) -> bool {
        self.created_by == Some(user) || self.computed_by == Some(user)
    }

    pub fn plan(&self) -> Result<StoredPlan> {
        Ok(serde_json::from_str(&self.plan_json).map_err(anyhow::Error::from)?)
    }
}

const RUN_COLUMNS: &str = "id, period, status, plan_version, plan, orders_count, orders_paid_fen, level_diff_fen, \
     referral_fen, team_fen, adjust_fen, total_fen, earners, held_fen, fingerprint, created_by, created_by_name, \
     created_at, computed_at, computed_by, computed_by_name, approved_by_name, approved_at, paid_by_name, paid_at";

fn run_from(r: &sqlx::any::AnyRow) -> Result<Run> {
    let period: String = r.try_get("period")?;
    let status = RunStatus::parse(&r.try_get::<String, _>("status")?)
        .ok_or_else(|| anyhow::anyhow!("bad run status"))?;
    let period_end = Period::parse(&period)
        .ok_or_else(|| anyhow::anyhow!("bad period {period}"))?
        .bounds_ms()
        .1;
    Ok(Run {
        id: r.try_get("id")?,
        period,
        status,
        plan_version: r.try_get("plan_version")?,
        orders_count: r.try_get("orders_count")?,
        orders_paid_fen: r.try_get("orders_paid_fen")?,
        level_diff_fen: r.try_get("level_diff_fen")?,
        referral_fen: r.try_get("referral_fen")?,
        team_fen: r.try_get("team_fen")?,
        adjust_fen: r.try_get("adjust_fen")?,
        total_fen: r.try_get("total_fen")?,
        earners: r.try_get("earners")?,
        held_fen: r.try_get("held_fen")?,
        created_by_name: r.try_get("created_by_name")?,
        created_at: r.try_get("created_at")?,
        computed_at: r.try_get("computed_at")?,
        computed_by_name: r.try_get("computed_by_name")?,
        approved_by_name: r.try_get("approved_by_name")?,
        approved_at: r.try_get("approved_at")?,
        paid_by_name: r.try_get("paid_by_name")?,
        paid_at: r.try_get("paid_at")?,
        preview: status == RunStatus::Draft && now_ms() < period_end,
        period_end,
        created_by: r.try_get("created_by")?,
        computed_by: r.try_get("computed_by")?,
        fingerprint: r.try_get("fingerprint")?,
        plan_json: r.try_get("plan")?,
    })
}

pub async fn get(db: &Db, id: i64) -> Result<Run> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM settlement_runs WHERE id = $1");
    let row = crate::db::dynamic(sql)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    run_from(&row)
}

pub async fn by_period(db: &Db, period: Period) -> Result<Option<Run>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM settlement_runs WHERE period = $1");
    let row = crate::db::dynamic(sql)
        .bind(period.to_string())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(run_from).transpose()
}

/// Every run, newest period first.
pub async fn list(
    db: &Db,
    status: Option<RunStatus>,
    page: weiops_core::paging::PageRequest,
) -> Result<(Vec<Run>, i64)> {
    let (filter, bind) = match status {
        Some(s) => ("WHERE status = $1", Some(s.as_str())),
        None => ("", None),
    };
    let count_sql = format!("SELECT COUNT(*) AS n FROM settlement_runs {filter}");
    let mut q = crate::db::dynamic(count_sql);
    if let Some(b) = bind {
        q = q.bind(b);
    }
    let total: i64 = q.fetch_one(&db.pool).await?.try_get("n")?;
    let n = if bind.is_some() { 2 } else { 1 };
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM settlement_runs {filter} ORDER BY period DESC LIMIT ${n} OFFSET ${}",
        n + 1
    );
    let mut q = crate::db::dynamic(sql);
    if let Some(b) = bind {
        q = q.bind(b);
    }
    let rows = q
        .bind(page.per_page)
        .bind(page.offset())
        .fetch_all(&db.pool)
        .await?;
    Ok((rows.iter().map(run_from).collect::<Result<_>>()?, total))
}

/// The network as the engine sees it, with database ids beside.
pub struct Network {
    pub agents: Vec<SettleAgent>,
    pub ids: Vec<i64>,
    pub index: IdIndex,
}

/// Agent id → position in `Network::agents`. Ids are the table's
/// autoincrement, nearly dense: a plain vector indexed by id is looked up
/// ten million times per settlement at a fraction of a hash map's cost.
/// A table with ids spread far apart (more than 4 slots per agent) falls
/// back to a map.
pub enum IdIndex {
    Dense(Vec<u32>),
    Sparse(HashMap<i64, usize>),
}

impl IdIndex {
    const NONE: u32 = u32::MAX;

    pub fn new(ids: &[i64]) -> IdIndex {
        let max = ids.iter().copied().max().unwrap_or(0);
        let dense_ok = ids.iter().all(|id| *id >= 0)
            && ids.len() < Self::NONE as usize
            && usize::try_from(max).is_ok_and(|m| m <= ids.len().saturating_mul(4) + 1024);
        if dense_ok {
            let mut slots = vec![Self::NONE; max as usize + 1];
            for (i, id) in ids.iter().enumerate() {
                slots[*id as usize] = i as u32;
            }
            IdIndex::Dense(slots)
        } else {
            IdIndex::Sparse(ids.iter().enumerate().map(|(i, id)| (*id, i)).collect())
        }
    }

    pub fn get(&self, id: i64) -> Option<usize> {
        match self {
            IdIndex::Dense(slots) => usize::try_from(id)
                .ok()
                .and_then(|i| slots.get(i))
                .filter(|s| **s != Self::NONE)
                .map(|s| *s as usize),
            IdIndex::Sparse(map) => map.get(&id).copied(),
        }
    }
}

pub async fn load_network(db: &Db) -> Result<Network> {
    let rows = crate::agents::tree::load(db).await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut sponsors = Vec::with_capacity(rows.len());
    let mut agents = Vec::with_capacity(rows.len());
    for r in rows {
        ids.push(r.id);
        sponsors.push(r.sponsor_id);
        let status = match r.status.as_str() {
            "active" => AgentStatus::Active,
            _ => AgentStatus::Frozen,
        };
        agents.push(SettleAgent {
            id: r.code,
            level: u8::try_from(r.level).unwrap_or(0),
            sponsor: None,
            status,
        });
    }
    let index = IdIndex::new(&ids);
    for (a, s) in agents.iter_mut().zip(sponsors) {
        a.sponsor = s.and_then(|s| index.get(s));
    }
    Ok(Network { agents, ids, index })
}

/// A period's counted orders as the engine takes them.
pub struct LoadedOrders {
    pub orders: Vec<SettleOrder>,
    /// The price lists of the orders placed in weiops.
    pub lists: PriceLists,
    pub print: OrdersPrint,
}

/// The period's counted orders (buyer index, buyer level, retail), fetched
/// in chunks that the database packs into one text value each: a row per
/// order through the driver costs more than the engine itself.
///
/// The same pass counts every order paid in the period, counted or not,
/// for the draft's fingerprint ([`OrdersPrint`]): one scan of the table
/// instead of two (1.2 s of a settlement of ten million orders).
pub async fn load_orders(db: &Db, period: Period, index: &IdIndex) -> Result<LoadedOrders> {
    let (start, end) = period.bounds_ms();
    // An order placed in weiops adds its prices per level as a fourth
    // field (`p1:p2:…`); imported orders (NULL) pay no extra concatenation.
    let counted = "CASE WHEN counted = 0 THEN NULL \
         WHEN level_prices IS NULL OR level_prices = '' THEN agent_id || ',' || buyer_level || ',' || retail_fen \
         ELSE agent_id || ',' || buyer_level || ',' || retail_fen || ',' || level_prices END";
    let pack = db.engine.string_agg(counted, ";");
    // `+paid_at`: in id order through the table, never through the
    // paid_at index (see `fingerprint`).
    let sql = format!(
        "SELECT {pack} AS packed, CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(counted), 0) AS BIGINT) AS c, \
         CAST(COALESCE(MAX(updated_at), 0) AS BIGINT) AS u, CAST(MAX(id) AS BIGINT) AS last FROM \
         (SELECT id, agent_id, buyer_level, retail_fen, level_prices, counted, updated_at FROM orders \
          WHERE +paid_at >= $1 AND +paid_at < $2 AND id > $3 ORDER BY id LIMIT $4) AS chunk"
    );
    let mut out = Vec::new();
    let mut lists = PriceLists::default();
    let mut list: Vec<Fen> = Vec::with_capacity(MAX_LEVELS);
    let mut print = OrdersPrint::default();
    let mut after = 0i64;
    loop {
        let row = crate::db::dynamic(sql.clone())
            .bind(start)
            .bind(end)
            .bind(after)
            .bind(FETCH_CHUNK)
            .fetch_one(&db.pool)
            .await?;
        let n: i64 = row.try_get("n")?;
        if n == 0 {
            break;
        }
        after = row.try_get("last")?;
        print.orders += n;
        print.counted += row.try_get::<i64, _>("c")?;
        print.updated = print.updated.max(row.try_get("u")?);
        let packed: String = row
            .try_get::<Option<String>, _>("packed")?
            .unwrap_or_default();
        for_each_packed(&packed, |a, l, r, p| {
            let Some(buyer) = index.get(a) else { return };
            let prices = if p.is_empty() {
                PriceList::RATE
            } else {
                list.clear();
                list.extend(p.iter().map(|v| Fen(*v)));
                lists.push(&list)
            };
            out.push(SettleOrder {
                buyer,
                buyer_level: u8::try_from(l).unwrap_or(0),
                retail: Fen(r),
                counted: true,
                prices,
            });
        })
        .map_err(|at| anyhow::anyhow!("malformed packed order at byte {at}"))?;
        if n < FETCH_CHUNK {
            break;
        }
    }
    Ok(LoadedOrders {
        orders: out,
        lists,
        print,
    })
}

/// Reads `agent,level,retail[,p1:p2:…];…` (non-negative integers, as
/// `load_orders` packs them; the optional fourth field is an order's price
/// per level, at most [`MAX_LEVELS`] of them) without allocating: this
/// runs ten million times per settlement. `each(agent, level, retail,
/// prices)` gets an empty `prices` for an order without them. Err(byte
/// offset) on anything else.
fn for_each_packed(
    packed: &str,
    mut each: impl FnMut(i64, i64, i64, &[i64]),
) -> std::result::Result<(), usize> {
    let bytes = packed.as_bytes();
    if bytes.is_empty() {
        return Ok(());
    }
    let mut fields = [0i64; 3];
    let mut prices = [0i64; MAX_LEVELS];
    let (mut field, mut digits, mut n) = (0usize, 0usize, 0usize);
    // Fields 0..=2, then the prices (field 3), `n` of them begun.
    let ends = |field: usize, digits: usize| field >= 2 && digits > 0;
    for (at, b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                let slot = if field < 3 {
                    &mut fields[field]
                } else {
                    &mut prices[n - 1]
                };
                *slot = slot
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i64::from(b - b'0')))
                    .ok_or(at)?;
                digits += 1;
            }
            b',' if field < 3 && digits > 0 => {
                field += 1;
                digits = 0;
                if field == 3 {
                    n = 1;
                }
            }
            b':' if field == 3 && digits > 0 && n < MAX_LEVELS => {
                n += 1;
                prices[n - 1] = 0;
                digits = 0;
            }
            b';' if ends(field, digits) => {
                each(
                    fields[0],
                    fields[1],
                    fields[2],
                    &prices[..if field == 3 { n } else { 0 }],
                );
                fields = [0; 3];
                prices[0] = 0;
                (field, digits, n) = (0, 0, 0);
            }
            _ => return Err(at),
        }
    }
    if !ends(field, digits) {
        return Err(bytes.len());
    }
    each(
        fields[0],
        fields[1],
        fields[2],
        &prices[..if field == 3 { n } else { 0 }],
    );
    Ok(())
}

/// The period's orders as the fingerprint sees them: how many were paid in
/// it, how many of those count, and the last change to any of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrdersPrint {
    pub orders: i64,
    pub counted: i64,
    pub updated: i64,
}

/// What a draft was computed from besides the period's orders: the
/// agents, the period's adjustments, the plan version and level rates.
/// Read before the network, so a change after it shows at approval.
struct OtherPrint {
    agents: i64,
    agents_updated: i64,
    adjustments: i64,
    adjusted_fen: i64,
    plan_version: i64,
    levels: String,
}

async fn other_print(db: &Db, period: Period, plan_version: i64) -> Result<OtherPrint> {
    let a = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(MAX(updated_at), 0) AS BIGINT) AS u FROM agents",
    )
    .fetch_one(&db.pool)
    .await?;
    let adj = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) AS s FROM reward_adjustments WHERE period = $1",
    )
    .bind(period.to_string())
    .fetch_one(&db.pool)
    .await?;
    let levels = crate::agents::levels::all(db)
        .await?
        .iter()
        .map(|l| l.price_bp.to_string())
        .collect::<Vec<_>>()
        .join("/");
    Ok(OtherPrint {
        agents: a.try_get("n")?,
        agents_updated: a.try_get("u")?,
        adjustments: adj.try_get("n")?,
        adjusted_fen: adj.try_get("s")?,
        plan_version,
        levels,
    })
}

fn compose_print(other: &OtherPrint, o: OrdersPrint) -> String {
    format!(
        "a{}:{};o{}:{}:{};j{}:{};p{};l{}",
        other.agents,
        other.agents_updated,
        o.orders,
        o.counted,
        o.updated,
        other.adjustments,
        other.adjusted_fen,
        other.plan_version,
        other.levels
    )
}

/// The fingerprint as it stands now (approval compares it with the
/// draft's). The orders part scans the table in order (`+paid_at` keeps
/// the planner off the `paid_at` index): a month of ten million orders
/// through the index is ten million random reads (35 s measured), a
/// sequential scan 1.6 s.
async fn fingerprint(db: &Db, period: Period, plan_version: i64) -> Result<String> {
    let other = other_print(db, period, plan_version).await?;
    let (start, end) = period.bounds_ms();
    let r = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(counted), 0) AS BIGINT) AS c, \
         CAST(COALESCE(MAX(updated_at), 0) AS BIGINT) AS u FROM orders WHERE +paid_at >= $1 AND +paid_at < $2",
    )
    .bind(start)
    .bind(end)
    .fetch_one(&db.pool)
    .await?;
    let orders = OrdersPrint {
        orders: r.try_get("n")?,
        counted: r.try_get("c")?,
        updated: r.try_get("u")?,
    };
    Ok(compose_print(&other, orders))
}

/// The result of computing a period in memory (the CLI writes payouts.csv
/// straight from it).
pub struct Computed {
    pub run: Run,
    pub network: Network,
    pub totals: Vec<Totals>,
}

/// Creates the draft of `period`, or recomputes it when a draft exists.
/// Refused for a period already approved or paid.
#[tracing::instrument(skip(db, actor))]
pub async fn compute(db: &Db, actor: &Actor, period: Period) -> Result<Computed> {
    compute_with_progress(db, actor, period, &|_, _, _| {}).await
}

/// [`compute`] reporting its stages (message key, done, total) for the
/// job page.
pub async fn compute_with_progress(
    db: &Db,
    actor: &Actor,
    period: Period,
    progress: &(dyn Fn(&'static str, usize, usize) + Send + Sync),
) -> Result<Computed> {
    progress("settlement.stage_loading", 0, 4);
    if let Some(run) = by_period(db, period).await?
        && run.status != RunStatus::Draft
    {
        return Err(Error::Conflict("settlement.already_settled"));
    }
    let current = plan::current(db).await?;
    let stored = StoredPlan {
        plan: current.plan.clone(),
        withdrawal: current.withdrawal,
    };
    let started = std::time::Instant::now();
    let other = other_print(db, period, current.version).await?;
    let network = load_network(db).await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        agents = network.agents.len(),
        "settlement: network loaded"
    );
    progress("settlement.stage_orders", 1, 4);
    let LoadedOrders {
        orders,
        lists,
        print: orders_print,
    } = load_orders(db, period, &network.index).await?;
    let print = compose_print(&other, orders_print);
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        orders = orders.len(),
        "settlement: orders loaded"
    );
    progress("settlement.stage_computing", 2, 4);
    let paid_sum: i128 = orders
        .iter()
        .map(|o| {
            i128::from(
                paid_priced(
                    &current.plan,
                    lists.pricing(o.retail, o.prices),
                    o.buyer_level,
                )
                .0,
            )
        })
        .sum();
    let plan_ref: &Plan = &current.plan;
    let (totals, volumes) = settle_with_volumes(plan_ref, &network.agents, &orders, &lists);
    let orders_count = orders.len() as i64;
    drop(orders);

    let adjustments: HashMap<i64, i64> = sqlx::query(
        "SELECT agent_id, CAST(SUM(amount_fen) AS BIGINT) AS s FROM reward_adjustments WHERE period = $1 GROUP BY agent_id",
    )
    .bind(period.to_string())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get::<i64, _>("agent_id")?, r.try_get::<i64, _>("s")?)))
    .collect::<Result<_>>()?;

    let clamp = |v: i128| i64::try_from(v).unwrap_or(i64::MAX);
    let mut sums = [0i128; 5]; // level_diff, referral, team, adjust, total
    let mut earners = 0i64;
    let mut rows: Vec<[i64; 9]> = Vec::new();
    for (i, t) in totals.iter().enumerate() {
        let id = network.ids[i];
        let adjust = adjustments.get(&id).copied().unwrap_or(0);
        if t.total.0 == 0 && adjust == 0 {
            continue;
        }
        if t.total.0 > 0 {
            earners += 1;
        }
        sums[0] += i128::from(t.level_diff.0);
        sums[1] += i128::from(t.referral.0);
        sums[2] += i128::from(t.team.0);
        sums[3] += i128::from(adjust);
        sums[4] += i128::from(t.total.0);
        let a = &network.agents[i];
        rows.push([
            id,
            i64::from(a.level),
            t.level_diff.0,
            t.referral.0,
            t.team.0,
            volumes[i].0,
            t.total.0,
            adjust,
            t.total.0.saturating_add(adjust),
        ]);
    }

    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "settlement: computed"
    );
    progress("settlement.stage_writing", 3, 4);
    let now = now_ms();
    let plan_json = serde_json::to_string(&stored).map_err(anyhow::Error::from)?;
    let mut tx = db.begin_write().await?;
    let existing: Option<(i64, String)> =
        sqlx::query("SELECT id, status FROM settlement_runs WHERE period = $1")
            .bind(period.to_string())
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("id")?, r.try_get("status")?)))
            .transpose()?;
    let (run_id, created) = match existing {
        Some((_, status)) if status != "draft" => {
            return Err(Error::Conflict("settlement.already_settled"));
        }
        Some((id, _)) => {
            sqlx::query("DELETE FROM settlement_results WHERE run_id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            (id, false)
        }
        None => {
            let id: i64 = sqlx::query(
                "INSERT INTO settlement_runs (period, status, plan_version, plan, fingerprint, created_by, created_by_name, \
                 created_at, computed_at, computed_by, computed_by_name) \
                 VALUES ($1, 'draft', $2, $3, '', $4, $5, $6, $6, $4, $5) RETURNING id",
            )
            .bind(period.to_string())
            .bind(current.version)
            .bind(&plan_json)
            .bind(actor.user_id)
            .bind(&actor.name)
            .bind(now)
            .fetch_one(&mut **tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => Error::Conflict("settlement.exists"),
                _ => e.into(),
            })?
            .try_get("id")?;
            (id, true)
        }
    };
    insert_results(&mut tx, db.engine, run_id, &rows).await?;
    sqlx::query(
        "UPDATE settlement_runs SET plan_version = $1, plan = $2, orders_count = $3, orders_paid_fen = $4, \
         level_diff_fen = $5, referral_fen = $6, team_fen = $7, adjust_fen = $8, total_fen = $9, earners = $10, \
         fingerprint = $11, computed_at = $12, computed_by = $13, computed_by_name = $14 WHERE id = $15",
    )
    .bind(current.version)
    .bind(&plan_json)
    .bind(orders_count)
    .bind(clamp(paid_sum))
    .bind(clamp(sums[0]))
    .bind(clamp(sums[1]))
    .bind(clamp(sums[2]))
    .bind(clamp(sums[3]))
    .bind(clamp(sums[4]))
    .bind(earners)
    .bind(&print)
    .bind(now)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(run_id)
    .execute(&mut **tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new(
            if created { "settlement.create" } else { "settlement.recompute" },
            "settlement",
            run_id,
        )
        .summary(format!(
            "{period}: {} orders, {} earners, total {}",
            orders_count,
            earners,
            Fen(clamp(sums[4]))
        ))
        .after(serde_json::json!({
            "period": period.to_string(), "plan_version": current.version, "orders": orders_count,
            "level_diff_fen": clamp(sums[0]), "referral_fen": clamp(sums[1]), "team_fen": clamp(sums[2]),
            "adjust_fen": clamp(sums[3]), "total_fen": clamp(sums[4]), "earners": earners,
        })),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "settlement: written"
    );
    let run = get(db, run_id).await?;
    Ok(Computed {
        run,
        network,
        totals,
    })
}

/// Writes a run's result rows: on SQLite as prepared multi-row INSERTs
/// with one bound value per cell (unpacking JSON cost the single writer a
/// second per 500,000 rows), on PostgreSQL as JSON batches.
async fn insert_results(
    tx: &mut crate::db::Tx<'_>,
    engine: Engine,
    run_id: i64,
    rows: &[[i64; 9]],
) -> Result<()> {
    const COLUMNS: &str = "INSERT INTO settlement_results (run_id, agent_id, level, level_diff_fen, referral_fen, \
         team_fen, team_volume_fen, total_fen, adjust_fen, net_fen)";
    match engine {
        Engine::Sqlite => {
            // 9 parameters a row; `run_id` is a number, written in.
            let row = format!("({run_id},?,?,?,?,?,?,?,?,?)");
            crate::db::insert_rows(
                tx,
                (&format!("{COLUMNS} VALUES"), &row, ""),
                500,
                rows,
                |q, r| r.iter().fold(q, |q, v| q.bind(*v)),
            )
            .await?;
        }
        Engine::Postgres => {
            let sql = format!(
                "{COLUMNS} SELECT $1, (e ->> 0)::bigint, (e ->> 1)::bigint, (e ->> 2)::bigint, \
                 (e ->> 3)::bigint, (e ->> 4)::bigint, (e ->> 5)::bigint, (e ->> 6)::bigint, (e ->> 7)::bigint, \
                 (e ->> 8)::bigint FROM jsonb_array_elements($2::jsonb) AS e"
            );
            for chunk in rows.chunks(BATCH) {
                crate::db::dynamic(sql.clone())
                    .bind(run_id)
                    .bind(serde_json::to_string(chunk).map_err(anyhow::Error::from)?)
                    .execute(&mut **tx)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Approves a current draft (second person, `finance.approve`).
#[tracing::instrument(skip(db, actor))]
pub async fn approve(db: &Db, actor: &Actor, run_id: i64) -> Result<Run> {
    let run = get(db, run_id).await?;
    if run.status != RunStatus::Draft {
        return Err(Error::Conflict("settlement.not_draft"));
    }
    // Orders paid later in a running month would be in no settlement.
    if run.preview {
        return Err(Error::Conflict("settlement.running_month"));
    }
    if actor.user_id.is_some()
        && (actor.user_id == run.created_by || actor.user_id == run.computed_by)
    {
        return Err(Error::Denied("settlement.own_run"));
    }
    let period = Period::parse(&run.period).ok_or_else(|| anyhow::anyhow!("bad period"))?;
    let current = plan::current(db).await?;
    if fingerprint(db, period, current.version).await? != run.fingerprint {
        return Err(Error::Conflict("settlement.stale"));
    }
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "UPDATE settlement_runs SET status = 'approved', approved_by = $1, approved_by_name = $2, approved_at = $3 \
         WHERE id = $4 AND status = 'draft' AND fingerprint = $5",
    )
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now)
    .bind(run_id)
    .bind(&run.fingerprint)
    .execute(&mut **tx)
    .await?;
    if res.rows_affected() != 1 {
        return Err(Error::Conflict("settlement.not_draft"));
    }
    sqlx::query(
        "INSERT INTO settlement_agents (run_id, agent_id, sponsor_id, level, status) \
         SELECT $1, id, sponsor_id, level, status FROM agents",
    )
    .bind(run_id)
    .execute(&mut **tx)
    .await?;
    // Reward expense per agent on 2241 (a negative net is a debit: the
    // agent owes a clawback), balanced on 6601.
    let lines = result_lines(&mut tx, run_id, false).await?;
    let mut entry: Vec<EntryLine> = Vec::with_capacity(lines.len() + 1);
    let mut sum = 0i128;
    for (agent, net) in &lines {
        sum += i128::from(*net);
        entry.push(if *net > 0 {
            EntryLine::credit(accounts::REWARDS_PAYABLE, Some(*agent), Fen(*net))
        } else {
            EntryLine::debit(accounts::REWARDS_PAYABLE, Some(*agent), Fen(-*net))
        });
    }
    let sum = i64::try_from(sum).map_err(|_| anyhow::anyhow!("settlement total overflows"))?;
    if sum > 0 {
        entry.push(EntryLine::debit(accounts::REWARD_EXPENSE, None, Fen(sum)));
    } else if sum < 0 {
        entry.push(EntryLine::credit(accounts::REWARD_EXPENSE, None, Fen(-sum)));
    }
    if entry.len() >= 2 {
        ledger::post(
            &mut tx,
            db.engine,
            actor,
            NewEntry {
                at: now,
                memo: format!("{} 代理奖励结算（审批）", run.period),
                source: "settlement",
                source_id: run_id.to_string(),
                lines: entry,
                guard_wallets: false,
            },
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("settlement.approve", "settlement", run_id).summary(format!(
            "{} approved: net {}",
            run.period,
            Fen(run.net_fen())
        )),
    )
    .await?;
    tx.commit().await?;
    get(db, run_id).await
}

/// (agent id, net) of a run's results with a non-zero net; `payable_only`
/// keeps the agents active now and not held.
async fn result_lines(tx: &mut Tx<'_>, run_id: i64, payable_only: bool) -> Result<Vec<(i64, i64)>> {
    let sql = if payable_only {
        "SELECT r.agent_id, r.net_fen FROM settlement_results r JOIN agents a ON a.id = r.agent_id \
         WHERE r.run_id = $1 AND r.net_fen <> 0 AND r.held = 0 AND a.status = 'active' ORDER BY r.agent_id"
    } else {
        "SELECT agent_id, net_fen FROM settlement_results WHERE run_id = $1 AND net_fen <> 0 ORDER BY agent_id"
    };
    let rows = sqlx::query(sql).bind(run_id).fetch_all(&mut **tx).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("agent_id")?, r.try_get("net_fen")?)))
        .collect()
}

fn release_entry(lines: &[(i64, i64)]) -> Vec<EntryLine> {
    let mut entry = Vec::with_capacity(lines.len() * 2);
    for (agent, net) in lines {
        if *net > 0 {
            entry.push(EntryLine::debit(
                accounts::REWARDS_PAYABLE,
                Some(*agent),
                Fen(*net),
            ));
            entry.push(EntryLine::credit(
                accounts::AGENT_WALLETS,
                Some(*agent),
                Fen(*net),
            ));
        } else {
            entry.push(EntryLine::debit(
                accounts::AGENT_WALLETS,
                Some(*agent),
                Fen(-*net),
            ));
            entry.push(EntryLine::credit(
                accounts::REWARDS_PAYABLE,
                Some(*agent),
                Fen(-*net),
            ));
        }
    }
    entry
}

/// Marks an approved run paid: each active agent's net goes to the wallet;
/// agents not active now are held.
#[tracing::instrument(skip(db, actor))]
pub async fn pay(db: &Db, actor: &Actor, run_id: i64) -> Result<Run> {
    let run = get(db, run_id).await?;
    if run.status != RunStatus::Approved {
        return Err(Error::Conflict("settlement.not_approved"));
    }
    if now_ms() < run.period_end {
        return Err(Error::Conflict("settlement.running_month"));
    }
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "UPDATE settlement_runs SET status = 'paid', paid_by = $1, paid_by_name = $2, paid_at = $3 \
         WHERE id = $4 AND status = 'approved'",
    )
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now)
    .bind(run_id)
    .execute(&mut **tx)
    .await?;
    if res.rows_affected() != 1 {
        return Err(Error::Conflict("settlement.not_approved"));
    }
    sqlx::query(
        "UPDATE settlement_results SET held = 1 WHERE run_id = $1 AND net_fen <> 0 \
         AND agent_id IN (SELECT id FROM agents WHERE status <> 'active')",
    )
    .bind(run_id)
    .execute(&mut **tx)
    .await?;
    let held: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(net_fen), 0) AS BIGINT) AS s FROM settlement_results WHERE run_id = $1 AND held = 1",
    )
    .bind(run_id)
    .fetch_one(&mut **tx)
    .await?
    .try_get("s")?;
    sqlx::query("UPDATE settlement_runs SET held_fen = $1 WHERE id = $2")
        .bind(held)
        .bind(run_id)
        .execute(&mut **tx)
        .await?;
    let lines = result_lines(&mut tx, run_id, true).await?;
    if !lines.is_empty() {
        ledger::post(
            &mut tx,
            db.engine,
            actor,
            NewEntry {
                at: now,
                memo: format!("{} 代理奖励发放到钱包", run.period),
                source: "settlement",
                source_id: run_id.to_string(),
                lines: release_entry(&lines),
                guard_wallets: false,
            },
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("settlement.pay", "settlement", run_id).summary(format!(
            "{} paid to {} wallets; held {}",
            run.period,
            lines.len(),
            Fen(held)
        )),
    )
    .await?;
    tx.commit().await?;
    get(db, run_id).await
}

/// Releases the held amounts of a paid run whose agents are active again.
#[tracing::instrument(skip(db, actor))]
pub async fn release_held(db: &Db, actor: &Actor, run_id: i64) -> Result<usize> {
    let run = get(db, run_id).await?;
    if run.status != RunStatus::Paid {
        return Err(Error::Conflict("settlement.not_paid"));
    }
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let rows = sqlx::query(
        "SELECT r.agent_id, r.net_fen FROM settlement_results r JOIN agents a ON a.id = r.agent_id \
         WHERE r.run_id = $1 AND r.held = 1 AND a.status = 'active' ORDER BY r.agent_id",
    )
    .bind(run_id)
    .fetch_all(&mut **tx)
    .await?;
    let lines: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| Ok((r.try_get("agent_id")?, r.try_get("net_fen")?)))
        .collect::<Result<_>>()?;
    if lines.is_empty() {
        return Ok(0);
    }
    for (agent, _) in &lines {
        sqlx::query("UPDATE settlement_results SET held = 0, released_at = $1 WHERE run_id = $2 AND agent_id = $3")
            .bind(now)
            .bind(run_id)
            .bind(agent)
            .execute(&mut **tx)
            .await?;
    }
    let released: i64 = lines.iter().map(|(_, n)| *n).sum();
    sqlx::query("UPDATE settlement_runs SET held_fen = held_fen - $1 WHERE id = $2")
        .bind(released)
        .bind(run_id)
        .execute(&mut **tx)
        .await?;
    ledger::post(
        &mut tx,
        db.engine,
        actor,
        NewEntry {
            at: now,
            memo: format!("{} 暂扣奖励解除发放", run.period),
            source: "settlement",
            source_id: run_id.to_string(),
            lines: release_entry(&lines),
            guard_wallets: false,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("settlement.release", "settlement", run_id).summary(format!(
            "{}: released {} to {} agents",
            run.period,
            Fen(released),
            lines.len()
        )),
    )
    .await?;
    tx.commit().await?;
    Ok(lines.len())
}

/// One agent's result row, for pages, the API and exports.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResultRow {
    pub agent_id: i64,
    pub agent_code: String,
    pub agent_name: String,
    pub level: i64,
    pub level_diff_fen: i64,
    pub referral_fen: i64,
    pub team_fen: i64,
    pub team_volume_fen: i64,
    pub total_fen: i64,
    pub adjust_fen: i64,
    pub net_fen: i64,
    pub held: bool,
    pub agent_status: String,
}

fn result_from(r: &sqlx::any::AnyRow) -> Result<ResultRow> {
    Ok(ResultRow {
        agent_id: r.try_get("agent_id")?,
        agent_code: r.try_get("code")?,
        agent_name: r.try_get("name")?,
        level: r.try_get("level")?,
        level_diff_fen: r.try_get("level_diff_fen")?,
        referral_fen: r.try_get("referral_fen")?,
        team_fen: r.try_get("team_fen")?,
        team_volume_fen: r.try_get("team_volume_fen")?,
        total_fen: r.try_get("total_fen")?,
        adjust_fen: r.try_get("adjust_fen")?,
        net_fen: r.try_get("net_fen")?,
        held: r.try_get::<i64, _>("held")? == 1,
        agent_status: r.try_get("status")?,
    })
}

const RESULT_SELECT: &str = "SELECT r.agent_id, a.code, a.name, a.status, r.level, r.level_diff_fen, r.referral_fen, \
     r.team_fen, r.team_volume_fen, r.total_fen, r.adjust_fen, r.net_fen, r.held \
     FROM settlement_results r JOIN agents a ON a.id = r.agent_id";

/// Results of a run, paged: `sort` is `total` (largest first) or `agent`.
pub async fn results(
    db: &Db,
    run_id: i64,
    q: Option<&str>,
    held_only: bool,
    page: weiops_core::paging::PageRequest,
) -> Result<(Vec<ResultRow>, i64)> {
    let mut w = crate::db::Where::new();
    w.and("r.run_id = ?", [crate::db::BindValue::Int(run_id)]);
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        w.and(
            "(a.code = ? OR a.name LIKE ? ESCAPE '\\')",
            [
                crate::db::BindValue::Text(q.to_string()),
                crate::db::BindValue::Text(crate::db::like_prefix(q)),
            ],
        );
    }
    if held_only {
        w.and("r.held = 1", []);
    }
    let count = w
        .bind(crate::db::dynamic(format!(
            "SELECT COUNT(*) AS n FROM settlement_results r JOIN agents a ON a.id = r.agent_id {}",
            w.sql()
        )))
        .fetch_one(&db.pool)
        .await?
        .try_get::<i64, _>("n")?;
    let sql = format!(
        "{RESULT_SELECT} {} ORDER BY r.net_fen DESC, a.code LIMIT {} OFFSET {}",
        w.sql(),
        page.per_page,
        page.offset()
    );
    let rows = w.bind(crate::db::dynamic(sql)).fetch_all(&db.pool).await?;
    Ok((rows.iter().map(result_from).collect::<Result<_>>()?, count))
}

/// Totals of a run per level.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LevelTotals {
    pub level: i64,
    pub earners: i64,
    pub level_diff_fen: i64,
    pub referral_fen: i64,
    pub team_fen: i64,
    pub net_fen: i64,
}

pub async fn per_level(db: &Db, run_id: i64) -> Result<Vec<LevelTotals>> {
    let rows = sqlx::query(
        "SELECT level, CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(level_diff_fen) AS BIGINT) AS ld, \
         CAST(SUM(referral_fen) AS BIGINT) AS rf, CAST(SUM(team_fen) AS BIGINT) AS tm, CAST(SUM(net_fen) AS BIGINT) AS net \
         FROM settlement_results WHERE run_id = $1 GROUP BY level ORDER BY level",
    )
    .bind(run_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LevelTotals {
                level: r.try_get("level")?,
                earners: r.try_get("n")?,
                level_diff_fen: r.try_get("ld")?,
                referral_fen: r.try_get("rf")?,
                team_fen: r.try_get("tm")?,
                net_fen: r.try_get("net")?,
            })
        })
        .collect()
}

/// payouts.csv of a stored run, exactly as the spec defines it (rule
/// totals; clawbacks are settled through the wallet and shown in the
/// workbook, not in this file).
pub async fn payouts_csv(db: &Db, run_id: i64) -> Result<String> {
    let rows = sqlx::query(
        "SELECT a.code, r.level_diff_fen, r.referral_fen, r.team_fen, r.total_fen FROM settlement_results r \
         JOIN agents a ON a.id = r.agent_id WHERE r.run_id = $1 AND r.total_fen > 0",
    )
    .bind(run_id)
    .fetch_all(&db.pool)
    .await?;
    let mut agents = Vec::with_capacity(rows.len());
    let mut totals = Vec::with_capacity(rows.len());
    for r in rows {
        agents.push(SettleAgent {
            id: r.try_get("code")?,
            level: 0,
            sponsor: None,
            status: AgentStatus::Active,
        });
        totals.push(Totals {
            level_diff: Fen(r.try_get("level_diff_fen")?),
            referral: Fen(r.try_get("referral_fen")?),
            team: Fen(r.try_get("team_fen")?),
            total: Fen(r.try_get("total_fen")?),
        });
    }
    Ok(weiops_core::rewards::payouts_csv(&agents, &totals))
}

/// Every result row of a run (for the workbook), largest first.
pub async fn all_results(db: &Db, run_id: i64) -> Result<Vec<ResultRow>> {
    let rows = crate::db::dynamic(format!(
        "{RESULT_SELECT} WHERE r.run_id = $1 ORDER BY r.net_fen DESC, a.code"
    ))
    .bind(run_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(result_from).collect()
}

#[cfg(test)]
mod tests {
    use super::{IdIndex, for_each_packed};

    #[test]
    fn packed_orders_are_read_exactly() {
        let mut seen = Vec::new();
        for_each_packed(
            "12,4,10000;7,1,0,4000:5000:6000;1,9,1000000000000;3,2,10,1",
            |a, l, r, p| seen.push((a, l, r, p.to_vec())),
        )
        .unwrap();
        assert_eq!(
            seen,
            [
                (12, 4, 10_000, vec![]),
                (7, 1, 0, vec![4_000, 5_000, 6_000]),
                (1, 9, 1_000_000_000_000, vec![]),
                (3, 2, 10, vec![1]),
            ]
        );
        for_each_packed("", |_, _, _, _| panic!("no record")).unwrap();
        for bad in [
            "1,2",
            "1,2,3;",
            "1,,3",
            "1,2,3,",
            "1,2,3,4:",
            "1,2,3,4::5",
            "1,2,3,4,5",
            "1,2,3,1:2:3:4:5:6:7:8:9:10",
            "-1,2,3",
            "1,2,x",
            "99999999999999999999,1,1",
        ] {
            assert!(for_each_packed(bad, |_, _, _, _| {}).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn id_index_is_dense_for_autoincrement_ids_and_sparse_otherwise() {
        let dense = IdIndex::new(&[1, 2, 5, 3]);
        assert!(matches!(dense, IdIndex::Dense(_)));
        assert_eq!(dense.get(5), Some(2));
        assert_eq!(dense.get(4), None);
        assert_eq!(dense.get(-1), None);
        assert_eq!(dense.get(1 << 40), None);
        let sparse = IdIndex::new(&[1, 1 << 40]);
        assert!(matches!(sparse, IdIndex::Sparse(_)));
        assert_eq!(sparse.get(1 << 40), Some(1));
        assert_eq!(sparse.get(2), None);
    }
}
