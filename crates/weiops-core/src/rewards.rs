//! The reward rules of shared/spec/settlement.md (级差, 推荐奖, 团队业绩奖)
//! and the compliance guard, as pure functions.
//!
//! Everything here is integer arithmetic on fen and basis points; the only
//! rounding is the spec's `floor(a * bp / 10000)` ([`Fen::apply_rate`],
//! computed in `i128`).
//!
//! Choices where the spec is silent (also listed in the closing note):
//!
//! - **Overflow.** With a plan that passes [`check_plan`] (every rate at most
//!   10000 bp) and a non-negative retail value, no per-order amount can
//!   overflow: `floor(retail * bp / 10000) <= retail`. Sums (team volumes,
//!   totals) are accumulated in `i128`. Where a result still does not fit an
//!   `i64` (only possible with more than `i64::MAX` fen in one month, or with
//!   an unchecked plan whose rates exceed 100 %), it **saturates** at
//!   `i64::MAX`. Nothing panics and nothing wraps.
//! - **Out-of-domain input.** A negative retail value is treated as 0 (the
//!   spec's numerator is non-negative and the file format has no sign). A
//!   level outside `1..=K` earns nothing (like a frozen agent it still counts
//!   as a link); an order whose `buyer_level` is outside `1..=K` has
//!   `paid = 0` and pays no Rule 1 or Rule 2 reward.
//! - **Status.** `Terminated` is treated like `Frozen`: earns nothing, still
//!   a link in every chain.
//! - **Levels.** Rules 1 and 2 use the order's `buyer_level` (the level when
//!   the order was placed) and the uplines' levels and statuses as they stand
//!   at settlement. Rule 3 uses the agent's level and status at settlement and
//!   each order's own `paid`.

use serde::{Deserialize, Serialize};

use crate::agents::AgentStatus;
use crate::money::{Bp, Fen};

/// The compliance cap: no rule pays more than this many generations.
pub const MAX_GENERATIONS: u8 = 2;
/// The most levels a plan may have (K <= 9).
pub const MAX_LEVELS: usize = 9;

/// The brand's reward plan (the spec's configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Purchase price rate per level: index 0 = level 1 …; K = len (1..=9).
    pub price_bp: Vec<Bp>,
    /// Rule 1 (级差) on/off.
    pub level_difference: bool,
    /// Rule 2 (推荐奖) per generation, index 0 = g1; empty = off.
    pub referral_bp: Vec<Bp>,
    /// Rule 3 (团队业绩奖) on/off.
    pub team_bonus: bool,
    /// Agents with `level <= team_max_level` earn Rule 3.
    pub team_max_level: u8,
    /// `(threshold, rate)`, ascending thresholds.
    pub team_tiers: Vec<(Fen, Bp)>,
    /// How far down V(x) looks (spec: 2).
    pub team_generations: u8,
    /// How far up Rules 1 and 2 pay (spec: 2).
    pub max_generations: u8,
    /// A reward for recruiting an agent (拉人头). Always refused by
    /// [`check_plan`]; present so a plan asking for it is answered with the
    /// rule it breaks instead of being silently dropped.
    #[serde(default)]
    pub recruitment_reward: Fen,
    /// A reward on an agent's entry purchase (入门费). Always refused.
    #[serde(default)]
    pub entry_purchase_reward_bp: Bp,
}

impl Plan {
    /// The spec's reference configuration with all three rules on.
    pub fn reference() -> Plan {
        Plan {
            price_bp: vec![Bp(4000), Bp(5000), Bp(6000), Bp(7000), Bp(8000)],
            level_difference: true,
            referral_bp: vec![Bp(300), Bp(200)],
            team_bonus: true,
            team_max_level: 2,
            team_tiers: vec![
                (Fen(10_000_000), Bp(200)),
                (Fen(50_000_000), Bp(400)),
                (Fen(200_000_000), Bp(600)),
            ],
            team_generations: 2,
            max_generations: 2,
            recruitment_reward: Fen::ZERO,
            entry_purchase_reward_bp: Bp(0),
        }
    }

    /// What a new installation starts from: reference with Rule 3 off.
    pub fn initial() -> Plan {
        Plan {
            team_bonus: false,
            ..Plan::reference()
        }
    }

    /// K, the number of levels.
    pub fn levels(&self) -> usize {
        self.price_bp.len()
    }

    /// `price_bp[level]` for a level in `1..=K`, else `None`.
    pub fn price(&self, level: u8) -> Option<Bp> {
        usize::from(level)
            .checked_sub(1)
            .and_then(|i| self.price_bp.get(i))
            .copied()
    }
}

/// Why a plan is refused (the compliance guard). Each variant names the rule
/// it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PlanViolation {
    /// `max_generations`, `referral_bp.len()` or `team_generations` above 2;
    /// `asked` is the largest of them (saturated at 255).
    #[error("a rule pays {asked} generations; at most 2 are allowed (多级分销 / 传销)")]
    TooManyGenerations { asked: u8 },
    #[error("the plan has no levels")]
    NoLevels,
    #[error("the plan has more than 9 levels")]
    TooManyLevels,
    #[error("a rate is above 100% (10000 bp)")]
    RateAbove100,
    #[error("a higher level (lower number) must pay a lower-or-equal price rate")]
    LevelsNotOrdered,
    #[error("team bonus tier thresholds must be strictly ascending")]
    TiersNotAscending,
    #[error("team_max_level must be a level of the plan (1..=K)")]
    TeamMaxLevelOutOfRange,
    #[error("a reward for recruiting itself is not allowed (拉人头)")]
    RecruitmentReward,
    #[error("a reward on an entry purchase is not allowed (入门费)")]
    EntryPurchaseReward,
}

impl PlanViolation {
    /// The i18n key of the message: `rewards.violation.<snake_case_name>`.
    pub fn key(&self) -> &'static str {
        match self {
            PlanViolation::TooManyGenerations { .. } => "rewards.violation.too_many_generations",
            PlanViolation::NoLevels => "rewards.violation.no_levels",
            PlanViolation::TooManyLevels => "rewards.violation.too_many_levels",
            PlanViolation::RateAbove100 => "rewards.violation.rate_above100",
            PlanViolation::LevelsNotOrdered => "rewards.violation.levels_not_ordered",
            PlanViolation::TiersNotAscending => "rewards.violation.tiers_not_ascending",
            PlanViolation::TeamMaxLevelOutOfRange => {
                "rewards.violation.team_max_level_out_of_range"
            }
            PlanViolation::RecruitmentReward => "rewards.violation.recruitment_reward",
            PlanViolation::EntryPurchaseReward => "rewards.violation.entry_purchase_reward",
        }
    }

    /// A short citation of the rule the plan breaks.
    pub fn rule(&self) -> &'static str {
        match self {
            PlanViolation::TooManyGenerations { .. } => {
                "微信平台规则（禁止多级分销）; 《禁止传销条例》第七条; 刑法第224条之一; 公通字〔2013〕37号"
            }
            PlanViolation::NoLevels | PlanViolation::TooManyLevels => {
                "settlement.md: agent levels are 1..=K, 1 <= K <= 9"
            }
            PlanViolation::RateAbove100 => "settlement.md: rates are basis points, at most 10000",
            PlanViolation::LevelsNotOrdered => {
                "settlement.md Rule 1 (级差): level 1 is the highest and pays the lowest price"
            }
            PlanViolation::TiersNotAscending => {
                "settlement.md Rule 3 (团队业绩奖): the highest tier with V(x) >= threshold"
            }
            PlanViolation::TeamMaxLevelOutOfRange => {
                "settlement.md Rule 3 (团队业绩奖): team_max_level is a level 1..=K"
            }
            PlanViolation::RecruitmentReward | PlanViolation::EntryPurchaseReward => {
                "《禁止传销条例》第七条（拉人头、收取入门费）; 刑法第224条之一; 公通字〔2013〕37号"
            }
        }
    }
}

fn generations_u8(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// The compliance guard: every violation of the plan, or `Ok`.
pub fn check_plan(plan: &Plan) -> Result<(), Vec<PlanViolation>> {
    let mut out = Vec::new();

    let asked = plan
        .max_generations
        .max(plan.team_generations)
        .max(generations_u8(plan.referral_bp.len()));
    if asked > MAX_GENERATIONS {
        out.push(PlanViolation::TooManyGenerations { asked });
    }

    let k = plan.levels();
    if k == 0 {
        out.push(PlanViolation::NoLevels);
    } else if k > MAX_LEVELS {
        out.push(PlanViolation::TooManyLevels);
    }

    let rates = plan
        .price_bp
        .iter()
        .chain(plan.referral_bp.iter())
        .chain(plan.team_tiers.iter().map(|(_, r)| r));
    if rates.into_iter().any(|r| *r > Bp::FULL) {
        out.push(PlanViolation::RateAbove100);
    }

    if plan.price_bp.windows(2).any(|w| w[0] > w[1]) {
        out.push(PlanViolation::LevelsNotOrdered);
    }

    if plan.team_tiers.windows(2).any(|w| w[0].0 >= w[1].0) {
        out.push(PlanViolation::TiersNotAscending);
    }

    if plan.recruitment_reward.0 != 0 {
        out.push(PlanViolation::RecruitmentReward);
    }
    if plan.entry_purchase_reward_bp.0 != 0 {
        out.push(PlanViolation::EntryPurchaseReward);
    }

    if k > 0 && (plan.team_max_level == 0 || usize::from(plan.team_max_level) > k) {
        out.push(PlanViolation::TeamMaxLevelOutOfRange);
    }

    if out.is_empty() { Ok(()) } else { Err(out) }
}

/// How a reward rule is classified by the compliance report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleClass {
    /// 经销差价: margin between purchase prices, paid on goods sold.
    ResellerMargin,
    /// Reward computed on purchases of the downline (推荐奖).
    RewardOnPurchases,
    /// 团队计酬: pay computed on a team's sales volume. High risk.
    TeamBasedPay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

/// One active rule of the plan as the compliance page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleReport {
    /// `level_difference`, `referral` or `team_bonus`.
    pub rule: &'static str,
    pub class: RuleClass,
    pub risk: Risk,
    /// Generations between the earner and the furthest buyer it is paid for.
    pub generations: u8,
}

/// The compliance report of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplianceReport {
    pub rules: Vec<RuleReport>,
    /// The deepest chain any active rule pays across (generations).
    pub deepest: u8,
    /// Tiers of people in that chain (earner … buyer) = deepest + 1.
    pub tiers: u8,
    /// The team bonus (团队计酬) is on: warn.
    pub team_bonus_warning: bool,
    /// Violations of the guard (empty for a saved plan).
    pub violations: Vec<PlanViolation>,
}

/// Classifies every active rule of `plan` (pure; the page renders it).
pub fn compliance(plan: &Plan) -> ComplianceReport {
    let mut rules = Vec::new();
    if plan.level_difference && plan.max_generations > 0 {
        rules.push(RuleReport {
            rule: "level_difference",
            class: RuleClass::ResellerMargin,
            risk: Risk::Low,
            generations: plan.max_generations,
        });
    }
    let referral_reach = plan
        .referral_bp
        .iter()
        .take(usize::from(plan.max_generations))
        .rposition(|b| b.0 > 0)
        .map(|i| generations_u8(i + 1));
    if let Some(g) = referral_reach {
        rules.push(RuleReport {
            rule: "referral",
            class: RuleClass::RewardOnPurchases,
            risk: Risk::Medium,
            generations: g,
        });
    }
    if plan.team_bonus && !plan.team_tiers.is_empty() {
        rules.push(RuleReport {
            rule: "team_bonus",
            class: RuleClass::TeamBasedPay,
            risk: Risk::High,
            generations: plan.team_generations,
        });
    }
    let deepest = rules.iter().map(|r| r.generations).max().unwrap_or(0);
    ComplianceReport {
        team_bonus_warning: rules.iter().any(|r| r.class == RuleClass::TeamBasedPay),
        rules,
        deepest,
        tiers: deepest.saturating_add(1),
        violations: check_plan(plan).err().unwrap_or_default(),
    }
}

/// A member of the sponsor chain as a settlement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub level: u8,
    pub status: AgentStatus,
}

impl Member {
    /// Active and at a level of the plan: the only members that earn.
    fn earns(&self, plan: &Plan) -> bool {
        self.status == AgentStatus::Active && plan.price(self.level).is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewardKind {
    LevelDifference,
    Referral,
    Team,
}

/// One reward line: `ancestors[generation - 1]` earns `amount` under `kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub generation: u8,
    pub kind: RewardKind,
    pub amount: Fen,
}

/// `floor(max(a, 0) * bp / 10000)` in `i128`, saturated at `i64::MAX`.
fn rate_of(a: i128, bp: Bp) -> i128 {
    (a.max(0) * i128::from(bp.0)).div_euclid(10_000)
}

fn saturate(v: i128) -> Fen {
    Fen(i64::try_from(v.clamp(0, i128::from(i64::MAX))).unwrap_or(i64::MAX))
}

fn rate_fen(a: Fen, bp: Bp) -> i128 {
    rate_of(i128::from(a.0), bp)
}

/// What an order is worth at each level's purchase prices: the spec's
/// `floor(retail * price_bp[L] / 10000)` for an imported order, or
/// `price_at(L)` for an order placed in weiops, whose SKUs may have prices
/// of their own for some levels (spec, "Orders placed in weiops").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pricing<'a> {
    /// An imported order (orders.csv): its retail value and the level rates.
    Rate(Fen),
    /// An order placed in weiops: `price_at(L)` for `L = 1..=n` at index
    /// `L - 1`, as it stood when the order was placed.
    Listed(&'a [Fen]),
}

impl<'a> Pricing<'a> {
    /// An order's pricing: by its own list when it has one (placed in
    /// weiops), else by its retail value and the level rates.
    pub fn of(retail: Fen, list: Option<&'a [Fen]>) -> Pricing<'a> {
        match list {
            Some(l) => Pricing::Listed(l),
            None => Pricing::Rate(retail),
        }
    }

    /// The order at `level`'s prices; `None` for a level outside the plan
    /// (and, for a listed order, outside its list: a level added after the
    /// order was placed has no price for it, and earns nothing from it).
    /// Never negative.
    pub fn at(&self, plan: &Plan, level: u8) -> Option<i128> {
        let bp = plan.price(level)?;
        match self {
            Pricing::Rate(retail) => Some(rate_fen(*retail, bp)),
            Pricing::Listed(prices) => prices
                .get(usize::from(level) - 1)
                .map(|p| i128::from(p.0.max(0))),
        }
    }
}

/// The buyer paid: `floor(retail * price_bp[buyer_level] / 10000)`.
/// 0 for a level outside `1..=K` or a negative retail value.
pub fn paid(plan: &Plan, retail: Fen, buyer_level: u8) -> Fen {
    paid_priced(plan, Pricing::Rate(retail), buyer_level)
}

/// The buyer paid: the order at the buyer's level's prices ([`Pricing::at`]);
/// 0 where that has no price.
pub fn paid_priced(plan: &Plan, pricing: Pricing<'_>, buyer_level: u8) -> Fen {
    pricing.at(plan, buyer_level).map_or(Fen::ZERO, saturate)
}

/// Rules 1 and 2 for one counted order. `ancestors[0]` is sponsor^1(buyer),
/// `ancestors[1]` sponsor^2, … Only the first `plan.max_generations` are
/// looked at. Returns lines with `amount > 0` only: Rule 1 lines first, then
/// Rule 2 lines, each in generation order.
pub fn order_rewards(plan: &Plan, retail: Fen, buyer_level: u8, ancestors: &[Member]) -> Vec<Line> {
    order_rewards_priced(plan, Pricing::Rate(retail), buyer_level, ancestors)
}

/// [`order_rewards`] for an order priced by `pricing`: Rule 1 pays
/// `price_at(best) - price_at(level(u))`, Rule 2 a share of
/// `paid = price_at(buyer_level)`.
pub fn order_rewards_priced(
    plan: &Plan,
    pricing: Pricing<'_>,
    buyer_level: u8,
    ancestors: &[Member],
) -> Vec<Line> {
    let mut lines = Vec::new();
    for_each_order_reward(
        plan,
        pricing,
        buyer_level,
        ancestors,
        |generation, kind, amount| {
            lines.push(Line {
                generation,
                kind,
                amount: saturate(amount),
            });
        },
    );
    lines
}

/// [`order_rewards`] without allocating: `emit(generation, kind, amount)`
/// for each line with `amount > 0`, in the same order (the settlement's hot
/// loop calls this ten million times).
fn for_each_order_reward(
    plan: &Plan,
    pricing: Pricing<'_>,
    buyer_level: u8,
    ancestors: &[Member],
    mut emit: impl FnMut(u8, RewardKind, i128),
) {
    let Some(paid) = pricing.at(plan, buyer_level) else {
        return;
    };
    let reach = ancestors.len().min(usize::from(plan.max_generations));
    let chain = ancestors.iter().take(reach).zip(1u8..);

    if plan.level_difference {
        let mut best = buyer_level;
        let mut best_price = paid;
        for (u, g) in chain.clone() {
            if best == 1 {
                break;
            }
            if !u.earns(plan) || u.level >= best {
                continue;
            }
            let Some(own) = pricing.at(plan, u.level) else {
                continue;
            };
            let amount = best_price - own;
            if amount > 0 {
                emit(g, RewardKind::LevelDifference, amount);
            }
            best = u.level;
            best_price = own;
        }
    }

    for ((u, g), bp) in chain.zip(plan.referral_bp.iter()) {
        if u.earns(plan) && u.level <= buyer_level {
            let amount = rate_of(paid, *bp);
            if amount > 0 {
                emit(g, RewardKind::Referral, amount);
            }
        }
    }
}

/// The rate of the highest tier with `volume >= threshold`, if any.
fn tier_rate(plan: &Plan, volume: i128) -> Option<Bp> {
    plan.team_tiers
        .iter()
        .filter(|(t, _)| volume >= i128::from(t.0))
        .max_by_key(|(t, _)| *t)
        .map(|(_, r)| *r)
}

fn team_bonus_i128(plan: &Plan, member: Member, volume: i128) -> i128 {
    if !plan.team_bonus || !member.earns(plan) || member.level > plan.team_max_level || volume <= 0
    {
        return 0;
    }
    tier_rate(plan, volume).map_or(0, |r| rate_of(volume, r))
}

/// Rule 3 for one agent with team volume `volume` = V(x): the bonus (0 when
/// below the first tier, when the rule is off, when the level is above
/// `team_max_level` or the agent is not active).
pub fn team_bonus(plan: &Plan, member: Member, volume: Fen) -> Fen {
    saturate(team_bonus_i128(plan, member, i128::from(volume.0)))
}

/// An agent of a month's settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleAgent {
    pub id: String,
    pub level: u8,
    /// Index into the agents slice. An index out of range ends the chain
    /// (the import rejects such data long before a settlement sees it).
    pub sponsor: Option<usize>,
    pub status: AgentStatus,
}

/// An order of a month's settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleOrder {
    /// Index into the agents slice; an order whose buyer is out of range is
    /// ignored.
    pub buyer: usize,
    pub buyer_level: u8,
    pub retail: Fen,
    /// Paid within the period and not refunded.
    pub counted: bool,
    /// The order's own prices per level in the run's [`PriceLists`] (an
    /// order placed in weiops), or [`PriceList::RATE`] (an imported order,
    /// priced by `retail` and the level rates). An index, not the prices:
    /// ten million imported orders carry no list, and the order stays 24
    /// bytes.
    pub prices: PriceList,
}

/// Where an order's prices per level are in a [`PriceLists`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceList(u32);

impl PriceList {
    /// No list: the order is priced by its retail value and the level rates.
    pub const RATE: PriceList = PriceList(u32::MAX);
}

/// The price lists of a run's orders placed in weiops, one after another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceLists {
    /// Start of each list in `fen`, plus the end of the last.
    starts: Vec<usize>,
    fen: Vec<Fen>,
}

impl PriceLists {
    /// Adds a list (`price_at(L)` for `L = 1..`) and returns where it is;
    /// [`PriceList::RATE`] once more than `u32::MAX - 1` lists were added.
    pub fn push(&mut self, prices: &[Fen]) -> PriceList {
        if self.starts.is_empty() {
            self.starts.push(0);
        }
        let Ok(at) = u32::try_from(self.starts.len() - 1) else {
            return PriceList::RATE;
        };
        if at == u32::MAX {
            return PriceList::RATE;
        }
        self.fen.extend_from_slice(prices);
        self.starts.push(self.fen.len());
        PriceList(at)
    }

    /// The pricing of an order with `retail` and `list`.
    pub fn pricing(&self, retail: Fen, list: PriceList) -> Pricing<'_> {
        let i = list.0 as usize;
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(a), Some(b)) if list != PriceList::RATE => Pricing::Listed(&self.fen[*a..*b]),
            _ => Pricing::Rate(retail),
        }
    }
}

/// An agent's rewards for the period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Totals {
    pub level_diff: Fen,
    pub referral: Fen,
    pub team: Fen,
    pub total: Fen,
}

fn sponsor_of(agents: &[SettleAgent], i: usize) -> Option<usize> {
    agents[i].sponsor.filter(|s| *s < agents.len())
}

/// Per-agent totals of the period (index = agent index), the spec's reference
/// algorithm. Sums are kept in `i128` and saturate at `i64::MAX`; they never
/// wrap.
pub fn settle(plan: &Plan, agents: &[SettleAgent], orders: &[SettleOrder]) -> Vec<Totals> {
    settle_with_volumes(plan, agents, orders, &PriceLists::default()).0
}

/// [`settle`] and, per agent, the Rule 3 team volume V(x) it used (0 when
/// the rule is off), saturated at `i64::MAX`. A settlement run stores V(x)
/// so a later refund can take back exactly the bonus it no longer earns.
pub fn settle_with_volumes(
    plan: &Plan,
    agents: &[SettleAgent],
    orders: &[SettleOrder],
    lists: &PriceLists,
) -> (Vec<Totals>, Vec<Fen>) {
    let n = agents.len();
    let mut level_diff = vec![0i128; n];
    let mut referral = vec![0i128; n];
    let mut volume = vec![0i128; n];
    let up = usize::from(plan.max_generations);
    let down = usize::from(plan.team_generations);

    // The tree as compact arrays: the walks below touch a few bytes per
    // agent instead of a whole `SettleAgent` (millions of random reads).
    const NONE: u32 = u32::MAX;
    let sponsor: Vec<u32> = (0..n)
        .map(|i| {
            sponsor_of(agents, i)
                .and_then(|s| u32::try_from(s).ok())
                .unwrap_or(NONE)
        })
        .collect();
    let member: Vec<Member> = agents
        .iter()
        .map(|a| Member {
            level: a.level,
            status: a.status,
        })
        .collect();
    let parent = |i: usize| -> Option<usize> {
        match sponsor[i] {
            NONE => None,
            s => Some(s as usize),
        }
    };

    // Buffers reused for every order: no allocation in the loop.
    let mut idx: Vec<usize> = Vec::with_capacity(up);
    let mut members: Vec<Member> = Vec::with_capacity(up);
    let mut seen: Vec<usize> = Vec::with_capacity(down + 1);
    for o in orders.iter().filter(|o| o.counted && o.buyer < n) {
        // Ancestors for Rules 1 and 2 (indices and members).
        idx.clear();
        members.clear();
        let mut cur = o.buyer;
        while idx.len() < up {
            match parent(cur) {
                Some(s) => {
                    idx.push(s);
                    members.push(member[s]);
                    cur = s;
                }
                None => break,
            }
        }
        let pricing = lists.pricing(o.retail, o.prices);
        for_each_order_reward(plan, pricing, o.buyer_level, &members, |g, kind, amount| {
            let who = idx[usize::from(g) - 1];
            match kind {
                RewardKind::LevelDifference => level_diff[who] += amount,
                RewardKind::Referral => referral[who] += amount,
                RewardKind::Team => {} // never an order line
            }
        });

        // Rule 3 volume: the buyer and its ancestors up to `down` generations,
        // each counted once (a cycle, invalid input, cannot count twice).
        if plan.team_bonus {
            let p = pricing.at(plan, o.buyer_level).unwrap_or(0);
            seen.clear();
            let mut cur = Some(o.buyer);
            for _ in 0..=down {
                let Some(c) = cur else { break };
                if !seen.contains(&c) {
                    seen.push(c);
                    volume[c] += p;
                }
                cur = parent(c);
            }
        }
    }

    let totals = (0..n)
        .map(|i| {
            let a = &agents[i];
            let member = Member {
                level: a.level,
                status: a.status,
            };
            let team = team_bonus_i128(plan, member, volume[i]);
            let total = level_diff[i] + referral[i] + team;
            Totals {
                level_diff: saturate(level_diff[i]),
                referral: saturate(referral[i]),
                team: saturate(team),
                total: saturate(total),
            }
        })
        .collect();
    (totals, volume.iter().map(|v| saturate(*v)).collect())
}

/// RFC 4180 quoting of one field.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The body of payouts.csv: header
/// `agent_id,level_diff_fen,referral_fen,team_fen,total_fen`, one row per
/// agent with `total > 0`, sorted by agent id in UTF-8 byte order, LF line
/// ends, trailing LF.
pub fn payouts_csv(agents: &[SettleAgent], totals: &[Totals]) -> String {
    let mut rows: Vec<(&str, &Totals)> = agents
        .iter()
        .zip(totals)
        .filter(|(_, t)| t.total.0 > 0)
        .map(|(a, t)| (a.id.as_str(), t))
        .collect();
    rows.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::from("agent_id,level_diff_fen,referral_fen,team_fen,total_fen\n");
    for (id, t) in rows {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            csv_field(id),
            t.level_diff.0,
            t.referral.0,
            t.team.0,
            t.total.0
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use AgentStatus::{Active, Frozen, Terminated};

    fn agent(id: &str, level: u8, sponsor: Option<usize>, status: AgentStatus) -> SettleAgent {
        SettleAgent {
            id: id.to_string(),
            level,
            sponsor,
            status,
        }
    }

    fn order(buyer: usize, buyer_level: u8, retail: i64) -> SettleOrder {
        SettleOrder {
            buyer,
            buyer_level,
            retail: Fen(retail),
            counted: true,
            prices: PriceList::RATE,
        }
    }

    /// A (1) ← B (2) ← C (4) ← D (5).
    fn chain(b_status: AgentStatus) -> Vec<SettleAgent> {
        vec![
            agent("A", 1, None, Active),
            agent("B", 2, Some(0), b_status),
            agent("C", 4, Some(1), Active),
            agent("D", 5, Some(2), Active),
        ]
    }

    fn example_orders() -> Vec<SettleOrder> {
        vec![order(2, 4, 10_000), order(3, 5, 10_000)]
    }

    fn totals(ld: i64, rf: i64, team: i64) -> Totals {
        Totals {
            level_diff: Fen(ld),
            referral: Fen(rf),
            team: Fen(team),
            total: Fen(ld + rf + team),
        }
    }

    fn m(level: u8, status: AgentStatus) -> Member {
        Member { level, status }
    }

    #[test]
    fn reference_and_initial_plans_pass_the_guard() {
        assert_eq!(check_plan(&Plan::reference()), Ok(()));
        assert_eq!(check_plan(&Plan::initial()), Ok(()));
        assert!(Plan::reference().team_bonus);
        assert!(!Plan::initial().team_bonus);
        assert_eq!(
            Plan {
                team_bonus: true,
                ..Plan::initial()
            },
            Plan::reference()
        );
    }

    #[test]
    fn worked_example_per_order() {
        let plan = Plan::reference();
        assert_eq!(paid(&plan, Fen(10_000), 4), Fen(7_000));
        assert_eq!(paid(&plan, Fen(10_000), 5), Fen(8_000));
        // C buys: ancestors B, A.
        let c = order_rewards(&plan, Fen(10_000), 4, &[m(2, Active), m(1, Active)]);
        assert_eq!(
            c,
            vec![
                Line {
                    generation: 1,
                    kind: RewardKind::LevelDifference,
                    amount: Fen(2_000)
                },
                Line {
                    generation: 2,
                    kind: RewardKind::LevelDifference,
                    amount: Fen(1_000)
                },
                Line {
                    generation: 1,
                    kind: RewardKind::Referral,
                    amount: Fen(210)
                },
                Line {
                    generation: 2,
                    kind: RewardKind::Referral,
                    amount: Fen(140)
                },
            ]
        );
        // D buys: ancestors C, B, A — A is 3 generations up and gets nothing.
        let d = order_rewards(
            &plan,
            Fen(10_000),
            5,
            &[m(4, Active), m(2, Active), m(1, Active)],
        );
        assert!(d.iter().all(|l| l.generation <= 2));
        let amounts: Vec<(u8, RewardKind, i64)> = d
            .iter()
            .map(|l| (l.generation, l.kind, l.amount.0))
            .collect();
        assert_eq!(
            amounts,
            vec![
                (1, RewardKind::LevelDifference, 1_000),
                (2, RewardKind::LevelDifference, 2_000),
                (1, RewardKind::Referral, 240),
                (2, RewardKind::Referral, 160),
            ]
        );
    }

    #[test]
    fn worked_example_month() {
        let t = settle(&Plan::reference(), &chain(Active), &example_orders());
        assert_eq!(t[0], totals(1_000, 140, 0)); // A 1,140
        assert_eq!(t[1], totals(4_000, 370, 0)); // B 4,370
        assert_eq!(t[2], totals(1_000, 240, 0)); // C 1,240
        assert_eq!(t[3], Totals::default()); // D
        assert_eq!(
            payouts_csv(&chain(Active), &t),
            "agent_id,level_diff_fen,referral_fen,team_fen,total_fen\n\
             A,1000,140,0,1140\n\
             B,4000,370,0,4370\n\
             C,1000,240,0,1240\n"
        );
        // The initial plan (Rule 3 off) gives the same here.
        assert_eq!(
            settle(&Plan::initial(), &chain(Active), &example_orders()),
            t
        );
    }

    #[test]
    fn worked_example_with_b_frozen_or_terminated() {
        for status in [Frozen, Terminated] {
            let t = settle(&Plan::reference(), &chain(status), &example_orders());
            assert_eq!(t[0], totals(3_000, 140, 0)); // A 3,140
            assert_eq!(t[1], Totals::default());
            // C is unaffected: D's order pays C 1,000 + 240.
            assert_eq!(t[2], totals(1_000, 240, 0));
        }
    }

    #[test]
    fn payouts_csv_sorts_by_bytes_quotes_and_skips_zero() {
        let agents = vec![
            agent("b", 1, None, Active),
            agent("B", 1, None, Active),
            agent("张三", 1, None, Active),
            agent("a,\"x\"", 1, None, Active),
            agent("zero", 1, None, Active),
        ];
        let t = vec![
            totals(1, 0, 0),
            totals(0, 2, 0),
            totals(0, 0, 3),
            totals(4, 0, 0),
            Totals::default(),
        ];
        assert_eq!(
            payouts_csv(&agents, &t),
            "agent_id,level_diff_fen,referral_fen,team_fen,total_fen\n\
             B,0,2,0,2\n\
             \"a,\"\"x\"\"\",4,0,0,4\n\
             b,1,0,0,1\n\
             张三,0,0,3,3\n"
        );
        assert_eq!(
            payouts_csv(&[], &[]),
            "agent_id,level_diff_fen,referral_fen,team_fen,total_fen\n"
        );
    }

    #[test]
    fn guard_refuses_three_generations_with_the_citation() {
        let three = Plan {
            max_generations: 3,
            ..Plan::reference()
        };
        let err = check_plan(&three).unwrap_err();
        assert_eq!(err, vec![PlanViolation::TooManyGenerations { asked: 3 }]);
        assert_eq!(err[0].key(), "rewards.violation.too_many_generations");
        for cite in [
            "多级分销",
            "禁止传销条例",
            "第七条",
            "第224条之一",
            "公通字〔2013〕37号",
        ] {
            assert!(err[0].rule().contains(cite), "{cite}");
        }

        let referral = Plan {
            referral_bp: vec![Bp(300), Bp(200), Bp(100)],
            ..Plan::reference()
        };
        assert_eq!(
            check_plan(&referral),
            Err(vec![PlanViolation::TooManyGenerations { asked: 3 }])
        );
        let team = Plan {
            team_generations: 4,
            ..Plan::reference()
        };
        assert_eq!(
            check_plan(&team),
            Err(vec![PlanViolation::TooManyGenerations { asked: 4 }])
        );
    }

    #[test]
    fn guard_lists_every_violation() {
        assert_eq!(
            check_plan(&Plan {
                price_bp: vec![],
                ..Plan::reference()
            }),
            Err(vec![PlanViolation::NoLevels])
        );
        assert_eq!(
            check_plan(&Plan {
                price_bp: vec![Bp(5000); 10],
                ..Plan::reference()
            }),
            Err(vec![PlanViolation::TooManyLevels])
        );
        let bad = Plan {
            price_bp: vec![Bp(6000), Bp(5000), Bp(10_001)],
            referral_bp: vec![Bp(300), Bp(200), Bp(100)],
            team_tiers: vec![(Fen(10), Bp(200)), (Fen(10), Bp(300))],
            team_max_level: 4,
            ..Plan::reference()
        };
        assert_eq!(
            check_plan(&bad),
            Err(vec![
                PlanViolation::TooManyGenerations { asked: 3 },
                PlanViolation::RateAbove100,
                PlanViolation::LevelsNotOrdered,
                PlanViolation::TiersNotAscending,
                PlanViolation::TeamMaxLevelOutOfRange,
            ])
        );
        assert_eq!(
            check_plan(&Plan {
                team_max_level: 0,
                ..Plan::reference()
            }),
            Err(vec![PlanViolation::TeamMaxLevelOutOfRange])
        );
        assert_eq!(
            check_plan(&Plan {
                referral_bp: vec![Bp(10_001)],
                ..Plan::reference()
            }),
            Err(vec![PlanViolation::RateAbove100])
        );
        // Every variant has its own key and a citation.
        let all = [
            PlanViolation::TooManyGenerations { asked: 3 },
            PlanViolation::NoLevels,
            PlanViolation::TooManyLevels,
            PlanViolation::RateAbove100,
            PlanViolation::LevelsNotOrdered,
            PlanViolation::TiersNotAscending,
            PlanViolation::TeamMaxLevelOutOfRange,
        ];
        let mut keys: Vec<&str> = all.iter().map(|v| v.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
        assert!(keys.iter().all(|k| k.starts_with("rewards.violation.")));
        assert!(all.iter().all(|v| !v.rule().is_empty()));
    }

    #[test]
    fn team_tiers_at_the_thresholds() {
        let plan = Plan::reference();
        let bonus = |level, status, v| team_bonus(&plan, m(level, status), Fen(v)).0;
        assert_eq!(bonus(1, Active, 9_999_999), 0);
        assert_eq!(bonus(1, Active, 10_000_000), 200_000); // exactly → 200 bp
        assert_eq!(bonus(2, Active, 10_000_001), 200_000); // floor
        assert_eq!(bonus(2, Active, 49_999_999), 999_999); // floor(49,999,999 × 2%)
        assert_eq!(bonus(1, Active, 50_000_000), 2_000_000);
        assert_eq!(bonus(1, Active, 199_999_999), 7_999_999);
        assert_eq!(bonus(1, Active, 200_000_000), 12_000_000);
        assert_eq!(bonus(3, Active, 200_000_000), 0); // level above team_max_level
        assert_eq!(bonus(1, Frozen, 200_000_000), 0);
        assert_eq!(bonus(1, Terminated, 200_000_000), 0);
        assert_eq!(bonus(1, Active, 0), 0);
        assert_eq!(bonus(1, Active, -50_000_000), 0);
        assert_eq!(
            team_bonus(&Plan::initial(), m(1, Active), Fen(200_000_000)),
            Fen(0)
        );
    }

    #[test]
    fn team_volume_looks_two_generations_down_and_counts_own_orders() {
        // A ← B ← C ← D; each buys at level 5 with paid 8,000,000 → 4 × ¥80,000.
        let agents = vec![
            agent("A", 1, None, Active),
            agent("B", 2, Some(0), Active),
            agent("C", 5, Some(1), Frozen),
            agent("D", 5, Some(2), Active),
        ];
        let orders: Vec<SettleOrder> = (0..4).map(|b| order(b, 5, 10_000_000)).collect();
        let t = settle(&Plan::reference(), &agents, &orders);
        // V(A) = A + B + C = 24,000,000 → 2 %; V(B) = B + C + D = 24,000,000 → 2 %.
        assert_eq!(t[0].team, Fen(480_000));
        assert_eq!(t[1].team, Fen(480_000));
        assert_eq!(t[2].team, Fen(0));
        // A frozen buyer's own purchase counts (C's order is in both volumes).
        let only_c = settle(
            &Plan::reference(),
            &agents,
            &[order(2, 5, 25_000_000)], // paid 20,000,000
        );
        assert_eq!(only_c[0].team, Fen(400_000));
        assert_eq!(only_c[1].team, Fen(400_000));
    }

    /// The issue-13 order: 3 × a SKU with its own level-4 price (¥159.00,
    /// retail ¥239.00) and 1 × a SKU priced by the rate (retail ¥199.00).
    /// At level 4 (70 %) the rate alone would say 3 × 167.30 + 139.30 =
    /// ¥641.20; the buyer paid 3 × 159.00 + 139.30 = ¥616.30, and that is
    /// what Rules 1 and 2 start from.
    #[test]
    fn listed_prices_are_what_the_buyer_paid_and_what_rule_1_spreads() {
        let plan = Plan::reference();
        let retail = 3 * 23_900 + 19_900;
        // price_at(L) per level: the SKU's own level-4 price, rates elsewhere.
        let at = |bp: i64, own: Option<i64>| {
            3 * own.unwrap_or(23_900 * bp / 10_000) + 19_900 * bp / 10_000
        };
        let list: Vec<Fen> = [4000, 5000, 6000, 7000, 8000]
            .iter()
            .map(|bp| Fen(at(*bp, (*bp == 7000).then_some(15_900))))
            .collect();
        let pricing = Pricing::Listed(&list);
        assert_eq!(paid_priced(&plan, pricing, 4), Fen(61_630));
        assert_eq!(paid(&plan, Fen(retail), 4), Fen(64_120));
        let lines = order_rewards_priced(&plan, pricing, 4, &[m(2, Active), m(1, Active)]);
        let two = at(5000, None);
        let one = at(4000, None);
        assert_eq!(
            lines,
            vec![
                Line {
                    generation: 1,
                    kind: RewardKind::LevelDifference,
                    amount: Fen(61_630 - two)
                },
                Line {
                    generation: 2,
                    kind: RewardKind::LevelDifference,
                    amount: Fen(two - one)
                },
                Line {
                    generation: 1,
                    kind: RewardKind::Referral,
                    amount: Fen(61_630 * 300 / 10_000)
                },
                Line {
                    generation: 2,
                    kind: RewardKind::Referral,
                    amount: Fen(61_630 * 200 / 10_000)
                },
            ]
        );
        // The settlement of that order alone gives the same figures.
        let mut lists = PriceLists::default();
        let at_list = lists.push(&list);
        let agents = vec![
            agent("A", 1, None, Active),
            agent("B", 2, Some(0), Active),
            agent("C", 4, Some(1), Active),
        ];
        let o = SettleOrder {
            prices: at_list,
            ..order(2, 4, retail)
        };
        let (t, v) = settle_with_volumes(&plan, &agents, &[o], &lists);
        assert_eq!(t[1].total.0, 61_630 - two + 61_630 * 300 / 10_000);
        assert_eq!(t[0].total.0, two - one + 61_630 * 200 / 10_000);
        assert_eq!(v[2], Fen(61_630));
    }

    #[test]
    fn a_level_beyond_an_order_list_earns_nothing_from_it() {
        let plan = Plan::reference();
        let list = [Fen(4_000), Fen(5_000), Fen(6_000)];
        assert_eq!(paid_priced(&plan, Pricing::Listed(&list), 4), Fen::ZERO);
        assert!(order_rewards_priced(&plan, Pricing::Listed(&list), 4, &[m(1, Active)]).is_empty());
        // Level 3 buys; level 1 above earns the list's spread.
        let lines = order_rewards_priced(&plan, Pricing::Listed(&list), 3, &[m(1, Active)]);
        assert_eq!(lines[0].amount, Fen(2_000));
        assert_eq!(
            PriceLists::default().pricing(Fen(7), PriceList::RATE),
            Pricing::Rate(Fen(7))
        );
    }

    #[test]
    fn uncounted_orders_are_ignored() {
        let mut orders = example_orders();
        let before = settle(&Plan::reference(), &chain(Active), &orders);
        orders.push(SettleOrder {
            counted: false,
            ..order(3, 5, 1_000_000_000)
        });
        orders.push(SettleOrder {
            counted: false,
            ..order(2, 4, 900_000_000)
        });
        assert_eq!(settle(&Plan::reference(), &chain(Active), &orders), before);
        let none: Vec<SettleOrder> = orders
            .iter()
            .map(|o| SettleOrder {
                counted: false,
                ..o.clone()
            })
            .collect();
        let t = settle(&Plan::reference(), &chain(Active), &none);
        assert!(t.iter().all(|t| *t == Totals::default()));
    }

    #[test]
    fn frozen_upline_does_not_change_best_and_the_walk_stops_at_level_1() {
        let plan = Plan::reference();
        // Buyer 5; g1 frozen level 1; g2 active level 3: best is still 5.
        let lines = order_rewards(&plan, Fen(10_000), 5, &[m(1, Frozen), m(3, Active)]);
        assert_eq!(
            lines[0],
            Line {
                generation: 2,
                kind: RewardKind::LevelDifference,
                amount: Fen(2_000)
            }
        );
        // Buyer 3; g1 level 1 reaches best = 1: g2 (level 1) gets no level difference.
        let lines = order_rewards(&plan, Fen(10_000), 3, &[m(1, Active), m(1, Active)]);
        let ld: Vec<_> = lines
            .iter()
            .filter(|l| l.kind == RewardKind::LevelDifference)
            .collect();
        assert_eq!(ld.len(), 1);
        assert_eq!(ld[0].amount, Fen(2_000));
        // Referral needs level(u) <= buyer_level.
        let lines = order_rewards(&plan, Fen(10_000), 3, &[m(4, Active), m(3, Active)]);
        assert_eq!(
            lines,
            vec![Line {
                generation: 2,
                kind: RewardKind::Referral,
                amount: Fen(120)
            }]
        );
    }

    #[test]
    fn rules_switch_off() {
        let ancestors = [m(2, Active), m(1, Active)];
        let no_rule1 = Plan {
            level_difference: false,
            ..Plan::reference()
        };
        assert!(
            order_rewards(&no_rule1, Fen(10_000), 4, &ancestors)
                .iter()
                .all(|l| l.kind == RewardKind::Referral)
        );
        let no_rule2 = Plan {
            referral_bp: vec![],
            ..Plan::reference()
        };
        assert!(
            order_rewards(&no_rule2, Fen(10_000), 4, &ancestors)
                .iter()
                .all(|l| l.kind == RewardKind::LevelDifference)
        );
        let one_gen = Plan {
            max_generations: 1,
            ..Plan::reference()
        };
        assert!(
            order_rewards(&one_gen, Fen(10_000), 4, &ancestors)
                .iter()
                .all(|l| l.generation == 1)
        );
    }

    #[test]
    fn out_of_domain_input_pays_nothing() {
        let plan = Plan::reference();
        assert_eq!(paid(&plan, Fen(10_000), 0), Fen(0));
        assert_eq!(paid(&plan, Fen(10_000), 6), Fen(0));
        assert_eq!(paid(&plan, Fen(-10_000), 5), Fen(0));
        assert!(order_rewards(&plan, Fen(10_000), 6, &[m(1, Active)]).is_empty());
        assert!(order_rewards(&plan, Fen(-10_000), 5, &[m(1, Active)]).is_empty());
        // An upline with level 0 (not a level of the plan) earns nothing.
        assert!(order_rewards(&plan, Fen(10_000), 5, &[m(0, Active)]).is_empty());
        // Bad indices neither panic nor pay.
        let agents = vec![
            agent("A", 1, Some(99), Active),
            agent("B", 5, Some(0), Active),
        ];
        let t = settle(&plan, &agents, &[order(7, 5, 10_000), order(1, 5, 10_000)]);
        assert_eq!(t[0], totals(4_000, 240, 0));
        // A cycle (invalid input) terminates and counts a volume once.
        let cycle = vec![
            agent("A", 1, Some(1), Active),
            agent("B", 2, Some(0), Active),
        ];
        let t = settle(&plan, &cycle, &[order(0, 1, 12_500_000)]); // paid 5,000,000
        assert_eq!(t[0].team, Fen(0)); // 5,000,000 < 10,000,000, counted once
    }

    #[test]
    fn huge_values_neither_panic_nor_wrap() {
        let plan = Plan::reference();
        let max = Fen(i64::MAX);
        let floor = |bp: i128| i64::try_from(i128::from(i64::MAX) * bp / 10_000).unwrap();
        assert_eq!(paid(&plan, max, 5), Fen(floor(8_000)));
        let lines = order_rewards(&plan, max, 5, &[m(4, Active), m(1, Active)]);
        let ld: i128 = lines
            .iter()
            .filter(|l| l.kind == RewardKind::LevelDifference)
            .map(|l| i128::from(l.amount.0))
            .sum();
        let expected =
            (i128::from(i64::MAX) * 8_000) / 10_000 - (i128::from(i64::MAX) * 4_000) / 10_000;
        assert_eq!(ld, expected);
        assert_eq!(team_bonus(&plan, m(1, Active), max), Fen(floor(600)));

        // Many maximal orders: volumes and totals exceed i64 and saturate.
        let agents = vec![agent("A", 1, None, Active), agent("B", 5, Some(0), Active)];
        let orders: Vec<SettleOrder> = (0..40).map(|_| order(1, 5, i64::MAX)).collect();
        let t = settle(&plan, &agents, &orders);
        assert_eq!(t[0].level_diff, Fen(i64::MAX));
        assert_eq!(t[0].team, Fen(i64::MAX)); // V = 32 × MAX, 6 % of it
        assert_eq!(t[0].total, Fen(i64::MAX));
        assert_eq!(t[1].total, Fen(0)); // level 5: no team bonus, nobody below

        // An unchecked plan with rates above 100 % saturates too.
        let wild = Plan {
            price_bp: vec![Bp(u32::MAX); 2],
            referral_bp: vec![Bp(u32::MAX)],
            ..Plan::reference()
        };
        assert_eq!(paid(&wild, max, 2), Fen(i64::MAX));
        let _ = order_rewards(&wild, max, 2, &[m(1, Active), m(1, Active)]);
        let _ = settle(&wild, &agents, &orders);
    }

    #[test]
    fn compliance_classifies_the_rules() {
        let r = compliance(&Plan::initial());
        assert_eq!(r.rules.len(), 2);
        assert_eq!(r.deepest, 2);
        assert_eq!(r.tiers, 3);
        assert!(!r.team_bonus_warning);
        let r = compliance(&Plan::reference());
        assert!(r.team_bonus_warning);
        assert_eq!(r.rules[2].class, RuleClass::TeamBasedPay);
        assert_eq!(r.rules[2].risk, Risk::High);
        let mut p = Plan::initial();
        p.referral_bp = vec![Bp(300), Bp(0)];
        p.level_difference = false;
        let r = compliance(&p);
        assert_eq!(r.deepest, 1);
        p.recruitment_reward = Fen(100);
        assert_eq!(
            compliance(&p).violations,
            vec![PlanViolation::RecruitmentReward]
        );
    }
}
