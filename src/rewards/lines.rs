//! Reward lines explained (奖励明细): for one agent and one month, every
//! counted order of the agent's first and second generation with what it
//! paid the agent and why, the team bonus, and clawbacks landing in the
//! month. The lines are computed by the same pure engine as the settlement
//! (`order_rewards`), on the tree and plan the month was settled with when
//! it is approved, else on the tree and plan as they stand now (what the
//! draft computes).

use serde::Serialize;
use sqlx::Row;
use weiops_core::agents::AgentStatus;
use weiops_core::money::Fen;
use weiops_core::purchase::parse_level_prices;
use weiops_core::rewards::{
    Line, Member, Plan, Pricing, RewardKind, order_rewards_priced, paid_priced, team_bonus,
};
use weiops_core::time::Period;

use super::settlement::{self, RunStatus};
use crate::db::Db;
use crate::i18n::Locale;
use crate::{Error, Result};

/// Orders explained at most per request (a month of a top agent's two
/// generations); the totals say when there were more.
const MAX_ORDERS: i64 = 200_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RewardLine {
    pub order_no: String,
    pub buyer_code: String,
    pub buyer_name: String,
    pub buyer_level: i64,
    pub retail_fen: i64,
    pub paid_fen: i64,
    pub paid_at: i64,
    /// `level_diff` or `referral`.
    pub rule: String,
    /// 1 = the buyer's sponsor, 2 = the sponsor's sponsor.
    pub generation: i64,
    /// Level difference: the price level paid from and the agent's level.
    pub from_level: i64,
    pub to_level: i64,
    /// Referral: the rate in bp.
    pub rate_bp: i64,
    pub amount_fen: i64,
    /// The sentence shown to people, in the request's language.
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamLine {
    pub volume_fen: i64,
    pub rate_bp: i64,
    pub amount_fen: i64,
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClawbackLine {
    pub order_no: String,
    pub rule: String,
    pub origin_period: String,
    pub amount_fen: i64,
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentRewards {
    pub agent_code: String,
    pub agent_name: String,
    pub period: String,
    /// `open` (no run), `draft`, `approved` or `paid`.
    pub settlement: String,
    pub level_diff_fen: i64,
    pub referral_fen: i64,
    pub team_fen: i64,
    pub adjust_fen: i64,
    pub total_fen: i64,
    /// Of an approved or paid month, what the settlement fixed for this
    /// agent (the figures above are then the settlement's): total after
    /// clawbacks.
    pub net_fen: i64,
    /// What reached the wallet for this month: the net once the month is
    /// paid and not held, else 0.
    pub paid_fen: i64,
    /// The month is paid but this agent's net is held (not active when
    /// it was paid) until finance releases it.
    pub held: bool,
    pub lines: Vec<RewardLine>,
    pub team: Option<TeamLine>,
    pub clawbacks: Vec<ClawbackLine>,
    /// More downline orders exist than were explained.
    pub truncated: bool,
}

#[derive(Debug, Clone)]
struct Node {
    sponsor: Option<i64>,
    level: i64,
    status: AgentStatus,
}

fn member(n: &Node) -> Member {
    Member {
        level: u8::try_from(n.level).unwrap_or(0),
        status: n.status,
    }
}

fn status_of(s: &str) -> AgentStatus {
    if s == "active" {
        AgentStatus::Active
    } else {
        AgentStatus::Frozen
    }
}

/// The tree to read: the run's snapshot or the live table.
fn tree(run: Option<i64>) -> String {
    match run {
        Some(id) => format!(
            "(SELECT agent_id AS id, sponsor_id, level, status FROM settlement_agents WHERE run_id = {id})"
        ),
        None => "agents".into(),
    }
}

async fn node(db: &Db, t: &str, id: i64) -> Result<Option<Node>> {
    let row = crate::db::dynamic(format!(
        "SELECT sponsor_id, level, status FROM {t} AS t WHERE t.id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(Node {
            sponsor: r.try_get("sponsor_id")?,
            level: r.try_get("level")?,
            status: status_of(&r.try_get::<String, _>("status")?),
        })
    })
    .transpose()
}

fn level_name(locale: Locale, level: i64) -> String {
    locale.tf("rewards.level_n", &[("n", &level.to_string())])
}

/// The order side of a reward line's sentence.
struct Sale<'a> {
    buyer: &'a str,
    order_no: &'a str,
    retail: i64,
    buyer_level: i64,
    paid: i64,
    pricing: Pricing<'a>,
}

/// An order's price list as stored (`orders.level_prices`), if it has one.
fn stored_prices(r: &sqlx::any::AnyRow) -> Result<Option<Vec<Fen>>> {
    Ok(r.try_get::<Option<String>, _>("level_prices")?
        .as_deref()
        .and_then(parse_level_prices))
}

/// The sentence of one Rule 1 or Rule 2 line, the same in every view:
/// `from` and `to` are the levels of a level difference.
fn explain(
    locale: Locale,
    sale: &Sale<'_>,
    line: &Line,
    plan: &Plan,
    from: i64,
    to: i64,
) -> String {
    let amount = line.amount.to_string();
    // The order at a level's prices: labelled with the level, never 实付.
    let at = |level: i64| {
        let p = u8::try_from(level)
            .ok()
            .and_then(|l| sale.pricing.at(plan, l))
            .unwrap_or(0);
        Fen(i64::try_from(p).unwrap_or(i64::MAX)).to_string()
    };
    match line.kind {
        RewardKind::LevelDifference => locale.tf(
            "rewards.explain_level_diff",
            &[
                ("buyer", sale.buyer),
                ("order", sale.order_no),
                ("retail", &Fen(sale.retail).to_string()),
                ("level", &level_name(locale, sale.buyer_level)),
                ("from", &from.to_string()),
                ("to", &to.to_string()),
                ("from_price", &at(from)),
                ("to_price", &at(to)),
                ("amount", &amount),
            ],
        ),
        _ => locale.tf(
            "rewards.explain_referral",
            &[
                ("buyer", sale.buyer),
                ("order", sale.order_no),
                ("paid", &Fen(sale.paid).to_string()),
                ("g", &line.generation.to_string()),
                (
                    "rate",
                    &plan
                        .referral_bp
                        .get(usize::from(line.generation) - 1)
                        .copied()
                        .unwrap_or_default()
                        .to_string(),
                ),
                ("amount", &amount),
            ],
        ),
    }
}

/// The sentence of a clawback.
fn explain_clawback(
    locale: Locale,
    order_no: &str,
    origin: &str,
    rule: &str,
    amount: i64,
) -> String {
    locale.tf(
        "rewards.explain_clawback",
        &[
            ("order", order_no),
            ("origin", origin),
            ("rule", &locale.t(&format!("rewards.rule.{rule}"))),
            ("amount", &Fen(amount).to_string()),
        ],
    )
}

/// The explanation of one agent's month.
#[tracing::instrument(skip(db))]
pub async fn for_agent(
    db: &Db,
    locale: Locale,
    agent_code: &str,
    period: Period,
) -> Result<AgentRewards> {
    let me = sqlx::query("SELECT id, code, name FROM agents WHERE code = $1")
        .bind(agent_code)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    let me_id: i64 = me.try_get("id")?;
    let run = settlement::by_period(db, period).await?;
    let settled = run.as_ref().filter(|r| r.status != RunStatus::Draft);
    let plan: Plan = match settled {
        Some(r) => r.plan()?.plan,
        None => super::plan::current(db).await?.plan,
    };
    let t = tree(settled.map(|r| r.id));
    let my_node = node(db, &t, me_id).await?.ok_or(Error::NotFound)?;
    let my_sponsor = match my_node.sponsor {
        Some(s) => node(db, &t, s).await?,
        None => None,
    };
    let (start, end) = period.bounds_ms();
    // A settled month is explained as it was settled: orders refunded
    // after approval still count here (their reversal is a clawback in a
    // later month).
    let counted = match settled.and_then(|r| r.approved_at) {
        Some(at) => format!("(o.counted = 1 OR (o.status = 'refunded' AND o.refunded_at > {at}))"),
        None => "o.counted = 1".to_string(),
    };

    // Orders of generation 1 (buyer's sponsor is me) and 2 (buyer's
    // sponsor's sponsor is me), with the middle agent for generation 2.
    let sql = format!(
        "SELECT o.order_no, o.buyer_level, o.retail_fen, o.level_prices, o.paid_fen, o.paid_at, a.code, a.name, 1 AS g, \
           0 AS mid_level, '' AS mid_status FROM {t} AS t JOIN orders o ON o.agent_id = t.id JOIN agents a ON a.id = t.id \
         WHERE t.sponsor_id = $1 AND {counted} AND o.paid_at >= $2 AND o.paid_at < $3 \
         UNION ALL \
         SELECT o.order_no, o.buyer_level, o.retail_fen, o.level_prices, o.paid_fen, o.paid_at, a.code, a.name, 2 AS g, \
           m.level AS mid_level, m.status AS mid_status FROM {t} AS m JOIN {t} AS t ON t.sponsor_id = m.id \
           JOIN orders o ON o.agent_id = t.id JOIN agents a ON a.id = t.id \
         WHERE m.sponsor_id = $1 AND {counted} AND o.paid_at >= $2 AND o.paid_at < $3 \
         ORDER BY 6 DESC LIMIT $4"
    );
    let rows = crate::db::dynamic(sql)
        .bind(me_id)
        .bind(start)
        .bind(end)
        .bind(MAX_ORDERS + 1)
        .fetch_all(&db.pool)
        .await?;
    let truncated = rows.len() as i64 > MAX_ORDERS;
    let me_member = member(&my_node);
    let mut lines = Vec::new();
    let mut volume: i128 = 0;
    for r in rows.iter().take(MAX_ORDERS as usize) {
        let g: i64 = r.try_get("g")?;
        let buyer_level: i64 = r.try_get("buyer_level")?;
        let retail: i64 = r.try_get("retail_fen")?;
        let list = stored_prices(r)?;
        let pricing = Pricing::of(Fen(retail), list.as_deref());
        let level_u8 = u8::try_from(buyer_level).unwrap_or(0);
        let paid = paid_priced(&plan, pricing, level_u8).0;
        if g <= i64::from(plan.team_generations) {
            volume += i128::from(paid);
        }
        let ancestors: Vec<Member> = if g == 1 {
            let mut v = vec![me_member];
            if let Some(s) = &my_sponsor {
                v.push(member(s));
            }
            v
        } else {
            let mid = Node {
                sponsor: Some(me_id),
                level: r.try_get("mid_level")?,
                status: status_of(&r.try_get::<String, _>("mid_status")?),
            };
            vec![member(&mid), me_member]
        };
        // Level difference "from": the best level below me on the chain.
        let mut best = buyer_level;
        if g == 2
            && ancestors[0].status == AgentStatus::Active
            && i64::from(ancestors[0].level) < best
        {
            best = i64::from(ancestors[0].level);
        }
        for l in order_rewards_priced(&plan, pricing, level_u8, &ancestors) {
            if i64::from(l.generation) != g {
                continue;
            }
            let (rule, rate_bp) = match l.kind {
                RewardKind::LevelDifference => ("level_diff", 0i64),
                RewardKind::Referral => (
                    "referral",
                    plan.referral_bp
                        .get(usize::from(l.generation) - 1)
                        .map_or(0, |b| i64::from(b.0)),
                ),
                RewardKind::Team => continue,
            };
            let buyer_name: String = r.try_get("name")?;
            let order_no: String = r.try_get("order_no")?;
            let sale = Sale {
                buyer: &buyer_name,
                order_no: &order_no,
                retail,
                buyer_level,
                paid,
                pricing,
            };
            let explanation = explain(locale, &sale, &l, &plan, best, my_node.level);
            lines.push(RewardLine {
                order_no,
                buyer_code: r.try_get("code")?,
                buyer_name,
                buyer_level,
                retail_fen: retail,
                paid_fen: paid,
                paid_at: r.try_get("paid_at")?,
                rule: rule.into(),
                generation: g,
                from_level: best,
                to_level: my_node.level,
                rate_bp,
                amount_fen: l.amount.0,
                explanation,
            });
        }
    }

    // Rule 3 on the whole volume: my own orders plus generations 1..=2.
    let own: i64 = {
        let rows = crate::db::dynamic(format!(
            "SELECT o.buyer_level, o.retail_fen, o.level_prices FROM orders o WHERE o.agent_id = $1 AND {counted} AND o.paid_at >= $2 AND o.paid_at < $3"
        ))
        .bind(me_id)
        .bind(start)
        .bind(end)
        .fetch_all(&db.pool)
        .await?;
        let mut s = 0i64;
        for r in rows {
            let level = u8::try_from(r.try_get::<i64, _>("buyer_level")?).unwrap_or(0);
            let list = stored_prices(&r)?;
            let pricing = Pricing::of(Fen(r.try_get("retail_fen")?), list.as_deref());
            s = s.saturating_add(paid_priced(&plan, pricing, level).0);
        }
        s
    };
    volume += i128::from(own);
    let volume = Fen(i64::try_from(volume).unwrap_or(i64::MAX));
    let team = if plan.team_bonus && !truncated {
        let amount = team_bonus(&plan, me_member, volume);
        let rate = plan
            .team_tiers
            .iter()
            .filter(|(t, _)| volume >= *t)
            .max_by_key(|(t, _)| *t)
            .map_or(0, |(_, r)| i64::from(r.0));
        let explanation = locale.tf(
            "rewards.explain_team",
            &[
                ("volume", &volume.to_string()),
                ("rate", &weiops_core::money::Bp(rate as u32).to_string()),
                ("amount", &amount.to_string()),
            ],
        );
        Some(TeamLine {
            volume_fen: volume.0,
            rate_bp: if amount.0 > 0 { rate } else { 0 },
            amount_fen: amount.0,
            explanation,
        })
    } else {
        None
    };

    let claw_rows = sqlx::query(
        "SELECT o.order_no, c.rule, c.origin_period, c.amount_fen FROM reward_adjustments c JOIN orders o ON o.id = c.order_id \
         WHERE c.agent_id = $1 AND c.period = $2 AND c.amount_fen <> 0 ORDER BY c.id",
    )
    .bind(me_id)
    .bind(period.to_string())
    .fetch_all(&db.pool)
    .await?;
    let mut clawbacks = Vec::new();
    for r in claw_rows {
        let order_no: String = r.try_get("order_no")?;
        let origin: String = r.try_get("origin_period")?;
        let amount: i64 = r.try_get("amount_fen")?;
        let rule: String = r.try_get("rule")?;
        clawbacks.push(ClawbackLine {
            explanation: explain_clawback(locale, &order_no, &origin, &rule, amount),
            order_no,
            rule,
            origin_period: origin,
            amount_fen: amount,
        });
    }

    let ld: i64 = lines
        .iter()
        .filter(|l| l.rule == "level_diff")
        .map(|l| l.amount_fen)
        .sum();
    let rf: i64 = lines
        .iter()
        .filter(|l| l.rule == "referral")
        .map(|l| l.amount_fen)
        .sum();
    let tm = team.as_ref().map_or(0, |t| t.amount_fen);
    let adj: i64 = clawbacks.iter().map(|c| c.amount_fen).sum();
    let mut figures = [ld, rf, tm, adj, ld + rf + tm];
    let (mut paid, mut held) = (0i64, false);
    // A settled month shows what the settlement fixed and, once paid,
    // what reached the wallet: never a figure computed again.
    if let Some(run) = settled {
        let row = sqlx::query(
            "SELECT level_diff_fen, referral_fen, team_fen, adjust_fen, total_fen, net_fen, held \
             FROM settlement_results WHERE run_id = $1 AND agent_id = $2",
        )
        .bind(run.id)
        .bind(me_id)
        .fetch_optional(&db.pool)
        .await?;
        figures = match &row {
            Some(r) => [
                r.try_get("level_diff_fen")?,
                r.try_get("referral_fen")?,
                r.try_get("team_fen")?,
                r.try_get("adjust_fen")?,
                r.try_get("total_fen")?,
            ],
            None => [0; 5],
        };
        if let Some(r) = &row
            && run.status == RunStatus::Paid
        {
            held = r.try_get::<i64, _>("held")? == 1;
            if !held {
                paid = r.try_get("net_fen")?;
            }
        }
    }
    let [ld, rf, tm, adj, total] = figures;
    Ok(AgentRewards {
        agent_code: me.try_get("code")?,
        agent_name: me.try_get("name")?,
        period: period.to_string(),
        settlement: run
            .as_ref()
            .map_or("open", |r| r.status.as_str())
            .to_string(),
        level_diff_fen: ld,
        referral_fen: rf,
        team_fen: tm,
        adjust_fen: adj,
        total_fen: total,
        net_fen: total.saturating_add(adj),
        paid_fen: paid,
        held,
        lines,
        team,
        clawbacks,
        truncated,
    })
}

/// One beneficiary's line of one order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderLine {
    pub agent_code: String,
    pub agent_name: String,
    /// `level_diff` or `referral`.
    pub rule: String,
    pub generation: i64,
    pub amount_fen: i64,
    pub explanation: String,
}

/// Every reward line an order produces, explained.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderRewards {
    pub order_no: String,
    pub buyer_code: String,
    pub buyer_name: String,
    pub buyer_level: i64,
    pub retail_fen: i64,
    pub paid_fen: i64,
    pub paid_at: Option<i64>,
    pub status: String,
    /// The order's month, and its settlement state (`open`, `draft`, …).
    pub period: Option<String>,
    pub settlement: String,
    /// Whether the order counts (paid, not refunded).
    pub counted: bool,
    pub lines: Vec<OrderLine>,
    pub clawbacks: Vec<OrderLine>,
}

/// The reward lines of one order: on the tree its month was settled with
/// when approved, else on the tree as it stands (what a draft computes).
/// An order that does not count shows what it paid or would pay when it
/// was settled, and its clawbacks.
#[tracing::instrument(skip(db))]
pub async fn for_order(db: &Db, locale: Locale, order_no: &str) -> Result<OrderRewards> {
    let o = sqlx::query(
        "SELECT o.id, o.order_no, o.agent_id, o.buyer_level, o.retail_fen, o.level_prices, o.paid_fen, o.paid_at, o.status, o.counted, \
         a.code, a.name FROM orders o JOIN agents a ON a.id = o.agent_id WHERE o.order_no = $1",
    )
    .bind(order_no)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(Error::NotFound)?;
    let order_id: i64 = o.try_get("id")?;
    let buyer: i64 = o.try_get("agent_id")?;
    let buyer_level: i64 = o.try_get("buyer_level")?;
    let retail: i64 = o.try_get("retail_fen")?;
    let paid_at: Option<i64> = o.try_get("paid_at")?;
    let buyer_name: String = o.try_get("name")?;
    let period = paid_at.and_then(Period::containing);
    let run = match period {
        Some(p) => settlement::by_period(db, p).await?,
        None => None,
    };
    let settled = run.as_ref().filter(|r| r.status != RunStatus::Draft);
    let plan: Plan = match settled {
        Some(r) => r.plan()?.plan,
        None => super::plan::current(db).await?.plan,
    };
    let t = tree(settled.map(|r| r.id));
    // The chain above the buyer, as far as the plan pays.
    let mut chain: Vec<(i64, Node)> = Vec::new();
    let mut cur = node(db, &t, buyer).await?.and_then(|n| n.sponsor);
    while let Some(id) = cur {
        if chain.len() >= usize::from(plan.max_generations) {
            break;
        }
        let Some(n) = node(db, &t, id).await? else {
            break;
        };
        cur = n.sponsor;
        chain.push((id, n));
    }
    let ancestors: Vec<Member> = chain.iter().map(|(_, n)| member(n)).collect();
    let level_u8 = u8::try_from(buyer_level).unwrap_or(0);
    let list = stored_prices(&o)?;
    let pricing = Pricing::of(Fen(retail), list.as_deref());
    let paid = paid_priced(&plan, pricing, level_u8).0;
    let mut lines = Vec::new();
    let mut best = buyer_level;
    for l in order_rewards_priced(&plan, pricing, level_u8, &ancestors) {
        let (id, n) = &chain[usize::from(l.generation) - 1];
        let who = sqlx::query("SELECT code, name FROM agents WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await?;
        let sale = Sale {
            buyer: &buyer_name,
            order_no,
            retail,
            buyer_level,
            paid,
            pricing,
        };
        let explanation = explain(locale, &sale, &l, &plan, best, n.level);
        if l.kind == RewardKind::LevelDifference {
            best = n.level;
        }
        lines.push(OrderLine {
            agent_code: who.try_get("code")?,
            agent_name: who.try_get("name")?,
            rule: match l.kind {
                RewardKind::LevelDifference => "level_diff",
                _ => "referral",
            }
            .into(),
            generation: i64::from(l.generation),
            amount_fen: l.amount.0,
            explanation,
        });
    }
    let claws = sqlx::query(
        "SELECT a.code, a.name, c.rule, c.generation, c.amount_fen, c.origin_period, c.period FROM reward_adjustments c \
         JOIN agents a ON a.id = c.agent_id WHERE c.order_id = $1 AND c.amount_fen <> 0 ORDER BY c.id",
    )
    .bind(order_id)
    .fetch_all(&db.pool)
    .await?;
    let mut clawbacks = Vec::new();
    for c in claws {
        let rule: String = c.try_get("rule")?;
        let amount: i64 = c.try_get("amount_fen")?;
        let origin: String = c.try_get("origin_period")?;
        clawbacks.push(OrderLine {
            agent_code: c.try_get("code")?,
            agent_name: c.try_get("name")?,
            explanation: explain_clawback(locale, order_no, &origin, &rule, amount),
            rule,
            generation: c.try_get("generation")?,
            amount_fen: amount,
        });
    }
    Ok(OrderRewards {
        order_no: order_no.to_string(),
        buyer_code: o.try_get("code")?,
        buyer_name,
        buyer_level,
        retail_fen: retail,
        paid_fen: o.try_get("paid_fen")?,
        paid_at,
        status: o.try_get("status")?,
        period: period.map(|p| p.to_string()),
        settlement: run
            .as_ref()
            .map_or("open", |r| r.status.as_str())
            .to_string(),
        counted: o.try_get::<i64, _>("counted")? == 1,
        lines,
        clawbacks,
    })
}
