//! Refunds and clawbacks (退款冲回).
//!
//! A refunded order stops counting (`counted = 0`). While its month is not
//! approved, that is all: the next computation of the draft leaves it out.
//! Once the month is approved, the rewards it produced were paid; they are
//! reversed as negative `reward_adjustments` that land in the next month
//! without an approved run, computed on the tree and the plan that month
//! was settled with (Rules 1 and 2 per order; Rule 3 by recomputing each
//! qualifying upline's bonus with the order's `paid` taken out of V(x)).

use sqlx::Row;
use weiops_core::agents::AgentStatus;
use weiops_core::ledger::{EntryLine, accounts};
use weiops_core::money::Fen;
use weiops_core::purchase::parse_level_prices;
use weiops_core::rewards::{
    Member, Pricing, RewardKind, order_rewards_priced, paid_priced, team_bonus,
};
use weiops_core::time::Period;

use super::settlement::{self, RunStatus};
use crate::audit::{self, Actor, Change};
use crate::db::{Db, Tx, now_ms};
use crate::ledger::{self, NewEntry};
use crate::{Error, Result};

/// What a refund did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RefundOutcome {
    pub order_no: String,
    /// Clawback lines written (0 when the month was not settled yet).
    pub clawbacks: usize,
    /// Their sum (negative or 0), fen.
    pub clawback_fen: i64,
    /// The month they land in.
    pub clawback_period: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct TreeRow {
    id: i64,
    sponsor: Option<i64>,
    level: i64,
    status: AgentStatus,
}

async fn snapshot_row(tx: &mut Tx<'_>, run_id: i64, agent: i64) -> Result<Option<TreeRow>> {
    let row = sqlx::query(
        "SELECT agent_id, sponsor_id, level, status FROM settlement_agents WHERE run_id = $1 AND agent_id = $2",
    )
    .bind(run_id)
    .bind(agent)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| {
        Ok(TreeRow {
            id: r.try_get("agent_id")?,
            sponsor: r.try_get("sponsor_id")?,
            level: r.try_get("level")?,
            status: if r.try_get::<String, _>("status")? == "active" {
                AgentStatus::Active
            } else {
                AgentStatus::Frozen
            },
        })
    })
    .transpose()
}

fn member(r: &TreeRow) -> Member {
    Member {
        level: u8::try_from(r.level).unwrap_or(0),
        status: r.status,
    }
}

/// The first month from `from` on without an approved or paid run.
async fn next_open_period(tx: &mut Tx<'_>, from: Period) -> Result<Period> {
    let mut p = from;
    for _ in 0..1200 {
        let status: Option<String> =
            sqlx::query("SELECT status FROM settlement_runs WHERE period = $1")
                .bind(p.to_string())
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| r.try_get("status"))
                .transpose()?;
        if status.is_none_or(|s| s == "draft") {
            return Ok(p);
        }
        p = p.next();
    }
    Err(anyhow::anyhow!("no open period within 100 years").into())
}

/// Refunds a counted order (by its number). Refused for an order that is
/// not paid.
#[tracing::instrument(skip(db, actor))]
pub async fn refund_order(db: &Db, actor: &Actor, order_no: &str) -> Result<RefundOutcome> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "SELECT id, agent_id, buyer_level, retail_fen, paid_fen, paid_at, counted, source FROM orders WHERE order_no = $1",
    )
    .bind(order_no)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    let order_id: i64 = row.try_get("id")?;
    let buyer: i64 = row.try_get("agent_id")?;
    let buyer_level: i64 = row.try_get("buyer_level")?;
    let retail: i64 = row.try_get("retail_fen")?;
    let paid_fen: i64 = row.try_get("paid_fen")?;
    let paid_at: Option<i64> = row.try_get("paid_at")?;
    if row.try_get::<i64, _>("counted")? != 1 {
        return Err(Error::Conflict("orders.not_refundable"));
    }
    // Orders placed in weiops are refunded through after-sales, which also
    // handles their goods and the money's way back.
    if row.try_get::<String, _>("source")? != "import" {
        return Err(Error::Conflict("orders.use_after_sales"));
    }
    let now = now_ms();
    let res = sqlx::query(
        "UPDATE orders SET status = 'refunded', counted = 0, refunded_at = $1, updated_at = $1 WHERE id = $2 AND counted = 1",
    )
    .bind(now)
    .bind(order_id)
    .execute(&mut **tx)
    .await?;
    if res.rows_affected() != 1 {
        return Err(Error::Conflict("orders.not_refundable"));
    }
    let outcome = reverse_rewards(
        &mut tx,
        db,
        Reversal {
            order_id,
            order_no,
            buyer,
            buyer_level,
            retail,
            paid_fen,
            paid_at,
            now,
        },
    )
    .await?;

    if paid_fen > 0 {
        ledger::post(
            &mut tx,
            db.engine,
            actor,
            NewEntry {
                at: now,
                memo: format!("订单 {order_no} 退款"),
                source: "order",
                source_id: order_no.to_string(),
                lines: vec![
                    EntryLine::debit(accounts::REFUNDS, None, Fen(paid_fen)),
                    EntryLine::credit(accounts::BANK, None, Fen(paid_fen)),
                ],
                guard_wallets: false,
            },
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("order.refund", "order", order_no).summary(format!(
            "refunded {}; clawback {} in {}",
            Fen(paid_fen),
            Fen(outcome.clawback_fen),
            outcome.clawback_period.as_deref().unwrap_or("-")
        )),
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// What [`reverse_rewards`] needs of the order being refunded.
#[derive(Debug, Clone, Copy)]
pub struct Reversal<'a> {
    pub order_id: i64,
    pub order_no: &'a str,
    pub buyer: i64,
    pub buyer_level: i64,
    pub retail: i64,
    /// What counted as the order's purchases for team sales.
    pub paid_fen: i64,
    pub paid_at: Option<i64>,
    pub now: i64,
}

/// Takes a refunded order out of the rewards: out of the agent pages' team
/// purchases, and, when its month is already approved, its settled
/// rewards clawed back in the next open month. The caller has already
/// stopped the order counting (`counted = 0`) in `tx`.
pub async fn reverse_rewards(tx: &mut Tx<'_>, db: &Db, r: Reversal<'_>) -> Result<RefundOutcome> {
    let Reversal {
        order_id,
        order_no,
        buyer,
        buyer_level,
        retail,
        paid_fen,
        paid_at,
        now,
    } = r;
    let origin = paid_at.and_then(Period::containing);
    // Team purchases shown on agent pages: take the order out again.
    if let Some(p) = origin {
        let path: String = sqlx::query("SELECT path FROM agents WHERE id = $1")
            .bind(buyer)
            .fetch_one(&mut **tx)
            .await?
            .try_get("path")?;
        let ids: Vec<i64> = path.split('/').filter_map(|s| s.parse().ok()).collect();
        for id in &ids {
            let own = if *id == buyer { paid_fen } else { 0 };
            sqlx::query(
                "UPDATE agent_team_sales SET own_fen = own_fen - $1, team_fen = team_fen - $2 WHERE agent_id = $3 AND period = $4",
            )
            .bind(own)
            .bind(paid_fen)
            .bind(id)
            .bind(p.to_string())
            .execute(&mut **tx)
            .await?;
        }
    }

    let mut outcome = RefundOutcome {
        order_no: order_no.to_string(),
        clawbacks: 0,
        clawback_fen: 0,
        clawback_period: None,
    };
    let settled = match origin {
        Some(p) => settlement::by_period(db, p)
            .await?
            .filter(|r| r.status != RunStatus::Draft)
            .map(|r| (p, r)),
        None => None,
    };
    if let Some((origin, run)) = settled {
        let plan = run.plan()?.plan;
        let target = next_open_period(tx, origin.next()).await?;
        let mut lines: Vec<(i64, &'static str, u8, i64, i64)> = Vec::new(); // agent, rule, g, amount, volume
        // The buyer and two ancestors as the run saw them.
        let mut chain: Vec<TreeRow> = Vec::new();
        let mut cur = snapshot_row(tx, run.id, buyer).await?;
        let buyer_row = cur;
        while let Some(r) = cur {
            if chain.len() > usize::from(plan.max_generations.max(plan.team_generations)) {
                break;
            }
            chain.push(r);
            cur = match r.sponsor {
                Some(s) => snapshot_row(tx, run.id, s).await?,
                None => None,
            };
        }
        if buyer_row.is_some() {
            let ancestors: Vec<Member> = chain.iter().skip(1).map(member).collect();
            let level = u8::try_from(buyer_level).unwrap_or(0);
            // Taken back as it was paid: by the order's own prices when the
            // settlement used them.
            let list: Option<Vec<Fen>> =
                sqlx::query("SELECT level_prices FROM orders WHERE id = $1")
                    .bind(order_id)
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get::<Option<String>, _>("level_prices")?
                    .as_deref()
                    .and_then(parse_level_prices);
            let pricing = Pricing::of(Fen(retail), list.as_deref());
            for l in order_rewards_priced(&plan, pricing, level, &ancestors) {
                let who = chain[usize::from(l.generation)].id;
                let rule = match l.kind {
                    RewardKind::LevelDifference => "level_diff",
                    RewardKind::Referral => "referral",
                    RewardKind::Team => "team",
                };
                lines.push((who, rule, l.generation, -l.amount.0, 0));
            }
            if plan.team_bonus {
                let paid = paid_priced(&plan, pricing, level).0;
                for (g, x) in chain
                    .iter()
                    .enumerate()
                    .take(usize::from(plan.team_generations) + 1)
                {
                    let m = member(x);
                    let stored: Option<i64> = sqlx::query(
                        "SELECT team_volume_fen FROM settlement_results WHERE run_id = $1 AND agent_id = $2",
                    )
                    .bind(run.id)
                    .bind(x.id)
                    .fetch_optional(&mut **tx)
                    .await?
                    .map(|r| r.try_get("team_volume_fen"))
                    .transpose()?;
                    let Some(volume) = stored else { continue };
                    let removed: i64 = sqlx::query(
                        "SELECT CAST(COALESCE(SUM(volume_fen), 0) AS BIGINT) AS s FROM reward_adjustments \
                         WHERE agent_id = $1 AND origin_run_id = $2 AND rule = 'team'",
                    )
                    .bind(x.id)
                    .bind(run.id)
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get("s")?;
                    let before = team_bonus(&plan, m, Fen(volume - removed)).0;
                    let after = team_bonus(&plan, m, Fen((volume - removed - paid).max(0))).0;
                    lines.push((x.id, "team", g as u8, after - before, paid));
                }
            }
        }
        for (agent, rule, g, amount, volume) in &lines {
            sqlx::query(
                "INSERT INTO reward_adjustments (agent_id, order_id, rule, generation, amount_fen, volume_fen, origin_run_id, \
                 origin_period, period, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(agent)
            .bind(order_id)
            .bind(*rule)
            .bind(i64::from(*g))
            .bind(amount)
            .bind(volume)
            .bind(run.id)
            .bind(origin.to_string())
            .bind(target.to_string())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        outcome.clawbacks = lines.iter().filter(|l| l.3 != 0).count();
        outcome.clawback_fen = lines.iter().map(|l| l.3).sum();
        outcome.clawback_period = Some(target.to_string());
    }

    Ok(outcome)
}
