//! Property tests of the reward rules (shared/spec/settlement.md): they hold
//! for any plan that passes the compliance guard, any forest and any orders.

use proptest::prelude::*;
use weiops_core::agents::AgentStatus;
use weiops_core::money::{Bp, Fen};
use weiops_core::rewards::{
    Member, Plan, PlanViolation, PriceList, PriceLists, Pricing, RewardKind, SettleAgent,
    SettleOrder, Totals, check_plan, order_rewards, order_rewards_priced, paid, paid_priced,
    settle, settle_with_volumes,
};

fn status() -> impl Strategy<Value = AgentStatus> {
    prop_oneof![
        3 => Just(AgentStatus::Active),
        1 => Just(AgentStatus::Frozen),
        1 => Just(AgentStatus::Terminated),
    ]
}

/// A retail value: mostly ordinary, sometimes near `i64::MAX`.
fn retail() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => 0i64..=100_000_000,
        1 => 0i64..=i64::MAX,
        1 => (i64::MAX - 1_000)..=i64::MAX,
    ]
}

/// Any plan that passes the guard (and sometimes the reference plan).
fn plan() -> impl Strategy<Value = Plan> {
    let random = (1usize..=9)
        .prop_flat_map(|k| {
            (
                proptest::collection::vec(0u32..=10_000, k),
                any::<bool>(),
                proptest::collection::vec(0u32..=10_000, 0..=2),
                any::<bool>(),
                1..=k as u8,
                proptest::collection::btree_map(0i64..=2_000_000, 0u32..=10_000, 0..=3),
                0u8..=2,
                0u8..=2,
            )
        })
        .prop_map(
            |(mut price, ld, referral, team, team_max, tiers, team_gen, max_gen)| {
                price.sort_unstable();
                Plan {
                    price_bp: price.into_iter().map(Bp).collect(),
                    level_difference: ld,
                    referral_bp: referral.into_iter().map(Bp).collect(),
                    team_bonus: team,
                    team_max_level: team_max,
                    team_tiers: tiers.into_iter().map(|(t, r)| (Fen(t), Bp(r))).collect(),
                    team_generations: team_gen,
                    max_generations: max_gen,
                    recruitment_reward: Fen::ZERO,
                    entry_purchase_reward_bp: Bp(0),
                }
            },
        );
    prop_oneof![1 => Just(Plan::reference()), 1 => Just(Plan::initial()), 4 => random]
}

#[derive(Debug, Clone)]
struct Month {
    plan: Plan,
    agents: Vec<SettleAgent>,
    orders: Vec<SettleOrder>,
}

/// A plan, a forest (a sponsor always has a lower index) and a month of orders.
fn month() -> impl Strategy<Value = Month> {
    (plan(), 1usize..=12)
        .prop_flat_map(|(plan, n)| {
            let k = plan.price_bp.len() as u8;
            let agent = |i: usize| {
                (
                    1..=k,
                    if i == 0 {
                        Just(None).boxed()
                    } else {
                        proptest::option::weighted(0.8, 0..i).boxed()
                    },
                    status(),
                )
            };
            let agents: Vec<_> = (0..n).map(agent).collect();
            let order = (0..n, 1..=k, retail(), proptest::bool::weighted(0.85));
            (Just(plan), agents, proptest::collection::vec(order, 0..=20))
        })
        .prop_map(|(plan, agents, orders)| Month {
            plan,
            agents: agents
                .into_iter()
                .enumerate()
                .map(|(i, (level, sponsor, status))| SettleAgent {
                    id: format!("a{i:02}"),
                    level,
                    sponsor,
                    status,
                })
                .collect(),
            orders: orders
                .into_iter()
                .map(|(buyer, buyer_level, retail, counted)| SettleOrder {
                    buyer,
                    buyer_level,
                    retail: Fen(retail),
                    counted,
                    prices: PriceList::RATE,
                })
                .collect(),
        })
}

fn floor_rate(a: i128, bp: Bp) -> i128 {
    a * i128::from(bp.0) / 10_000
}

fn price(plan: &Plan, level: u8) -> Bp {
    plan.price_bp[usize::from(level) - 1]
}

fn sat(v: i128) -> Fen {
    Fen(v.min(i128::from(i64::MAX)) as i64)
}

/// `g` with `sponsor^g(from) == to`, if any (0 when `from == to`).
fn distance(agents: &[SettleAgent], from: usize, to: usize) -> Option<usize> {
    let mut cur = Some(from);
    let mut g = 0;
    while let Some(c) = cur {
        if c == to {
            return Some(g);
        }
        cur = agents[c].sponsor;
        g += 1;
    }
    None
}

/// `sponsor^g(from)`.
fn ancestor(agents: &[SettleAgent], from: usize, g: usize) -> usize {
    (0..g).fold(from, |c, _| agents[c].sponsor.unwrap())
}

/// The spec read agent by agent, written independently of `settle`: Rule 1 as
/// a closed form (`best` before generation g is the minimum of the buyer's
/// level and the levels of the active uplines below g), not as a walk.
fn brute_force(plan: &Plan, agents: &[SettleAgent], orders: &[SettleOrder]) -> Vec<Totals> {
    let active = |i: usize| agents[i].status == AgentStatus::Active;
    (0..agents.len())
        .map(|x| {
            let (mut ld, mut rf, mut volume) = (0i128, 0i128, 0i128);
            for o in orders.iter().filter(|o| o.counted) {
                let retail = i128::from(o.retail.0);
                let paid = floor_rate(retail, price(plan, o.buyer_level));
                let Some(g) = distance(agents, o.buyer, x) else {
                    continue;
                };
                if g <= usize::from(plan.team_generations) {
                    volume += paid;
                }
                if g == 0 || !active(x) || g > usize::from(plan.max_generations) {
                    continue;
                }
                let level = agents[x].level;
                if plan.level_difference {
                    let best = (1..g)
                        .map(|h| ancestor(agents, o.buyer, h))
                        .filter(|&u| active(u))
                        .map(|u| agents[u].level)
                        .fold(o.buyer_level, u8::min);
                    if level < best {
                        ld += floor_rate(retail, price(plan, best))
                            - floor_rate(retail, price(plan, level));
                    }
                }
                if let Some(bp) = plan.referral_bp.get(g - 1)
                    && level <= o.buyer_level
                {
                    rf += floor_rate(paid, *bp);
                }
            }
            let mut team = 0;
            if plan.team_bonus && active(x) && agents[x].level <= plan.team_max_level {
                let mut rate = None;
                for (threshold, r) in &plan.team_tiers {
                    if volume >= i128::from(threshold.0) {
                        rate = Some(*r);
                    }
                }
                if let Some(r) = rate {
                    team = floor_rate(volume, r);
                }
            }
            Totals {
                level_diff: sat(ld),
                referral: sat(rf),
                team: sat(team),
                total: sat(ld + rf + team),
            }
        })
        .collect()
}

fn chain() -> impl Strategy<Value = (Plan, u8, i64, Vec<Member>)> {
    plan().prop_flat_map(|plan| {
        let k = plan.price_bp.len() as u8;
        let member = (1..=k, status()).prop_map(|(level, status)| Member { level, status });
        (
            Just(plan),
            1..=k,
            retail(),
            proptest::collection::vec(member, 0..=6),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn generated_plans_pass_the_guard(plan in plan()) {
        prop_assert_eq!(check_plan(&plan), Ok(()));
    }

    #[test]
    fn more_than_two_generations_is_always_refused(
        plan in plan(),
        max_gen in 0u8..=20,
        team_gen in 0u8..=20,
        extra in 0usize..=4,
    ) {
        let plan = Plan {
            max_generations: max_gen,
            team_generations: team_gen,
            referral_bp: vec![Bp(100); extra],
            ..plan
        };
        let asked = max_gen.max(team_gen).max(extra as u8);
        let result = check_plan(&plan);
        if asked > 2 {
            let errs = result.unwrap_err();
            let expected = PlanViolation::TooManyGenerations { asked };
            prop_assert!(errs.contains(&expected));
        } else {
            prop_assert_eq!(result, Ok(()));
        }
    }

    /// (1) Rule 1 pays at most the spread between the buyer's price and the
    /// top price, and every line is positive.
    #[test]
    fn level_difference_never_exceeds_the_spread((plan, level, retail, ancestors) in chain()) {
        let lines = order_rewards(&plan, Fen(retail), level, &ancestors);
        prop_assert!(lines.iter().all(|l| l.amount.0 > 0));
        let rule1: i128 = lines
            .iter()
            .filter(|l| l.kind == RewardKind::LevelDifference)
            .map(|l| i128::from(l.amount.0))
            .sum();
        let spread = i128::from(paid(&plan, Fen(retail), level).0)
            - floor_rate(i128::from(retail), plan.price_bp[0]);
        prop_assert!(rule1 <= spread, "{} > {}", rule1, spread);
    }

    /// (1b) An order placed in weiops whose SKUs have no prices of their own
    /// (each level's price is the level rate applied to retail) pays exactly
    /// what the same order imported pays.
    #[test]
    fn listed_prices_at_the_level_rates_pay_like_retail((plan, level, retail, ancestors) in chain()) {
        let list: Vec<Fen> = plan.price_bp.iter().map(|bp| Fen(floor_rate(i128::from(retail), *bp) as i64)).collect();
        prop_assert_eq!(
            order_rewards_priced(&plan, Pricing::Listed(&list), level, &ancestors),
            order_rewards(&plan, Fen(retail), level, &ancestors)
        );
        prop_assert_eq!(paid_priced(&plan, Pricing::Listed(&list), level), paid(&plan, Fen(retail), level));
    }

    /// (1c) With any price lists (SKU prices of their own, even a lower level
    /// paying less than a higher one), Rule 1 pays the list's differences
    /// along the chain, never a negative line, and the settlement of a month
    /// equals the sum of the orders' lines.
    #[test]
    fn listed_prices_settle_as_the_sum_of_order_lines(
        m in month(),
        lists in prop::collection::vec(prop::collection::vec(0i64..5_000_000, 9), 1..8),
    ) {
        let mut store = PriceLists::default();
        let refs: Vec<PriceList> = lists.iter().map(|l| store.push(&l.iter().map(|v| Fen(*v)).collect::<Vec<_>>())).collect();
        let orders: Vec<SettleOrder> = m.orders.iter().enumerate().map(|(i, o)| SettleOrder {
            prices: if i % 2 == 0 { refs[i % refs.len()] } else { PriceList::RATE },
            ..o.clone()
        }).collect();
        let plan = Plan { team_bonus: false, ..m.plan.clone() };
        let (totals, _) = settle_with_volumes(&plan, &m.agents, &orders, &store);
        let mut expected = vec![0i128; m.agents.len()];
        for o in orders.iter().filter(|o| o.counted && o.buyer < m.agents.len()) {
            let mut chain = Vec::new();
            let mut cur = m.agents[o.buyer].sponsor;
            while let Some(s) = cur.filter(|s| *s < m.agents.len()) {
                if chain.len() >= usize::from(plan.max_generations) { break; }
                chain.push(s);
                cur = m.agents[s].sponsor;
            }
            let members: Vec<Member> = chain.iter().map(|i| Member { level: m.agents[*i].level, status: m.agents[*i].status }).collect();
            let pricing = store.pricing(o.retail, o.prices);
            for l in order_rewards_priced(&plan, pricing, o.buyer_level, &members) {
                prop_assert!(l.amount.0 > 0);
                expected[chain[usize::from(l.generation) - 1]] += i128::from(l.amount.0);
            }
        }
        // Totals saturate at i64::MAX (huge generated retail values).
        for (t, e) in totals.iter().zip(&expected) {
            prop_assert_eq!(i128::from(t.total.0), (*e).min(i128::from(i64::MAX)));
        }
    }

    /// (2) Nobody more than max_generations (and so never more than 2) above
    /// the buyer gets an order line.
    #[test]
    fn no_line_beyond_max_generations((plan, level, retail, ancestors) in chain()) {
        let lines = order_rewards(&plan, Fen(retail), level, &ancestors);
        let reach = ancestors.len().min(usize::from(plan.max_generations));
        for l in &lines {
            prop_assert!(l.generation >= 1 && usize::from(l.generation) <= reach);
            prop_assert!(l.generation <= 2);
            let earner = ancestors[usize::from(l.generation) - 1];
            prop_assert_eq!(earner.status, AgentStatus::Active);
        }
        // Adding uplines beyond the reach changes nothing.
        let cut = &ancestors[..reach];
        prop_assert_eq!(order_rewards(&plan, Fen(retail), level, cut), lines);
    }

    /// (3) Freezing an agent: it then earns nothing (so never more than
    /// before); everyone else's Rule 1 earnings never go down (a frozen link
    /// no longer lowers `best` for those above it), and their Rule 2 and 3
    /// earnings are unchanged.
    #[test]
    fn freezing_never_hurts_anyone_else(m in month(), pick in any::<prop::sample::Index>()) {
        let k = pick.index(m.agents.len());
        let before = settle(&m.plan, &m.agents, &m.orders);
        let mut frozen = m.agents.clone();
        frozen[k].status = AgentStatus::Frozen;
        let after = settle(&m.plan, &frozen, &m.orders);
        prop_assert_eq!(&after[k], &Totals::default());
        prop_assert!(after[k].total <= before[k].total);
        for j in (0..m.agents.len()).filter(|&j| j != k) {
            prop_assert!(after[j].level_diff >= before[j].level_diff, "agent {}", j);
            prop_assert_eq!(after[j].referral, before[j].referral);
            prop_assert_eq!(after[j].team, before[j].team);
        }
    }

    /// (4) settle() equals the brute-force reading of the spec.
    #[test]
    fn settle_equals_brute_force(m in month()) {
        let fast = settle(&m.plan, &m.agents, &m.orders);
        prop_assert_eq!(fast, brute_force(&m.plan, &m.agents, &m.orders));
    }

    /// Uncounted (refunded or out-of-period) orders change nothing.
    #[test]
    fn uncounted_orders_change_nothing(m in month()) {
        let counted: Vec<SettleOrder> = m.orders.iter().filter(|o| o.counted).cloned().collect();
        prop_assert_eq!(
            settle(&m.plan, &m.agents, &m.orders),
            settle(&m.plan, &m.agents, &counted)
        );
    }

    /// Totals add up (unless saturated) and nothing is negative.
    #[test]
    fn totals_add_up(m in month()) {
        for t in settle(&m.plan, &m.agents, &m.orders) {
            prop_assert!(t.level_diff.0 >= 0 && t.referral.0 >= 0 && t.team.0 >= 0);
            let sum = i128::from(t.level_diff.0) + i128::from(t.referral.0) + i128::from(t.team.0);
            prop_assert_eq!(i128::from(t.total.0), sum.min(i128::from(i64::MAX)));
        }
    }
}
