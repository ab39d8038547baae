//! The brand's reward plan (奖励方案), versioned. Each save writes a new
//! version after the compliance guard accepted it; settlements record the
//! version and the whole plan they used. Level price rates are owned by the
//! agent levels (代理等级) and copied into the plan when it is read.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::money::{Bp, Fen};
use weiops_core::rewards::{Plan, PlanViolation, check_plan};

use crate::audit::{self, Actor, Change};
use crate::db::{Db, now_ms};
use crate::{Error, Result};

/// Withdrawal rules of the plan (提现规则).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WithdrawalRules {
    /// Smallest amount an agent may withdraw, fen.
    pub min_fen: i64,
    /// Fee in basis points of the amount.
    pub fee_bp: u32,
    /// Smallest fee, fen.
    pub fee_min_fen: i64,
}

impl Default for WithdrawalRules {
    fn default() -> Self {
        WithdrawalRules {
            min_fen: 10_000,
            fee_bp: 0,
            fee_min_fen: 0,
        }
    }
}

impl WithdrawalRules {
    pub fn fee(&self, amount: Fen) -> Fen {
        weiops_core::ledger::withdrawal_fee(amount, Bp(self.fee_bp), Fen(self.fee_min_fen))
    }
}

/// What a version stores: the spec's plan and the withdrawal rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPlan {
    #[serde(flatten)]
    pub plan: Plan,
    #[serde(default)]
    pub withdrawal: WithdrawalRules,
}

/// The plan in force.
#[derive(Debug, Clone)]
pub struct PlanVersion {
    /// 0 when nothing was saved yet (the initial plan of a new installation).
    pub version: i64,
    pub plan: Plan,
    pub withdrawal: WithdrawalRules,
    pub note: String,
    pub created_at: i64,
    pub created_by: Option<String>,
}

async fn price_rates(db: &Db) -> Result<Vec<Bp>> {
    Ok(crate::agents::levels::all(db)
        .await?
        .iter()
        .map(|l| Bp(l.price_bp.clamp(0, 10_000) as u32))
        .collect())
}

/// The plan in force, with the current level price rates.
pub async fn current(db: &Db) -> Result<PlanVersion> {
    let row = sqlx::query(
        "SELECT p.version, p.plan, p.note, p.created_at, u.username FROM reward_plans p \
         LEFT JOIN users u ON u.id = p.created_by ORDER BY p.version DESC LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?;
    let mut out = match row {
        Some(r) => {
            let stored: StoredPlan = serde_json::from_str(&r.try_get::<String, _>("plan")?)
                .map_err(anyhow::Error::from)?;
            PlanVersion {
                version: r.try_get("version")?,
                plan: stored.plan,
                withdrawal: stored.withdrawal,
                note: r.try_get("note")?,
                created_at: r.try_get("created_at")?,
                created_by: r.try_get("username")?,
            }
        }
        None => PlanVersion {
            version: 0,
            plan: Plan::initial(),
            withdrawal: WithdrawalRules::default(),
            note: String::new(),
            created_at: 0,
            created_by: None,
        },
    };
    out.plan.price_bp = price_rates(db).await?;
    Ok(out)
}

/// One saved version, for the history list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub version: i64,
    pub note: String,
    pub created_at: i64,
    pub created_by: Option<String>,
    #[schema(value_type = Object)]
    pub plan: serde_json::Value,
}

pub async fn history(db: &Db) -> Result<Vec<VersionSummary>> {
    let rows = sqlx::query(
        "SELECT p.version, p.plan, p.note, p.created_at, u.username FROM reward_plans p \
         LEFT JOIN users u ON u.id = p.created_by ORDER BY p.version DESC LIMIT 100",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(VersionSummary {
                version: r.try_get("version")?,
                note: r.try_get("note")?,
                created_at: r.try_get("created_at")?,
                created_by: r.try_get("username")?,
                plan: serde_json::from_str(&r.try_get::<String, _>("plan")?)
                    .map_err(anyhow::Error::from)?,
            })
        })
        .collect()
}

/// A plan as the page or the API sends it (rates in bp, money in fen).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct PlanInput {
    pub level_difference: bool,
    /// Referral rates per generation, g1 first (at most 2).
    pub referral_bp: Vec<u32>,
    pub team_bonus: bool,
    pub team_max_level: u8,
    /// `[threshold_fen, rate_bp]` pairs, ascending thresholds.
    pub team_tiers: Vec<(i64, u32)>,
    /// How many generations up Rules 1 and 2 pay (at most 2).
    #[serde(default = "two")]
    pub max_generations: u8,
    /// How many generations down Rule 3 looks (at most 2).
    #[serde(default = "two")]
    pub team_generations: u8,
    /// Must be 0: rewards for recruiting are refused (拉人头).
    #[serde(default)]
    pub recruitment_reward_fen: i64,
    /// Must be 0: rewards on an entry purchase are refused (入门费).
    #[serde(default)]
    pub entry_purchase_reward_bp: u32,
    #[serde(default)]
    pub withdrawal: WithdrawalRules,
    /// Required (true) when this save switches the team bonus on: 团队计酬
    /// is a deliberate, audited decision of the brand.
    #[serde(default)]
    pub confirm_team_bonus: bool,
    #[serde(default)]
    pub note: String,
}

fn two() -> u8 {
    2
}

impl PlanInput {
    pub fn from_plan(p: &PlanVersion) -> PlanInput {
        PlanInput {
            level_difference: p.plan.level_difference,
            referral_bp: p.plan.referral_bp.iter().map(|b| b.0).collect(),
            team_bonus: p.plan.team_bonus,
            team_max_level: p.plan.team_max_level,
            team_tiers: p.plan.team_tiers.iter().map(|(t, r)| (t.0, r.0)).collect(),
            max_generations: p.plan.max_generations,
            team_generations: p.plan.team_generations,
            recruitment_reward_fen: 0,
            entry_purchase_reward_bp: 0,
            withdrawal: p.withdrawal,
            confirm_team_bonus: false,
            note: String::new(),
        }
    }

    fn to_plan(&self, price_bp: Vec<Bp>) -> Plan {
        Plan {
            price_bp,
            level_difference: self.level_difference,
            referral_bp: self.referral_bp.iter().map(|b| Bp(*b)).collect(),
            team_bonus: self.team_bonus,
            team_max_level: self.team_max_level,
            team_tiers: self
                .team_tiers
                .iter()
                .map(|(t, r)| (Fen(*t), Bp(*r)))
                .collect(),
            team_generations: self.team_generations,
            max_generations: self.max_generations,
            recruitment_reward: Fen(self.recruitment_reward_fen),
            entry_purchase_reward_bp: Bp(self.entry_purchase_reward_bp),
        }
    }
}

/// A refused plan: every violation with its message key and the rule.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Violation {
    pub key: String,
    pub rule: String,
}

pub fn violations(v: &[PlanViolation]) -> Vec<Violation> {
    v.iter()
        .map(|v| Violation {
            key: v.key().to_string(),
            rule: v.rule().to_string(),
        })
        .collect()
}

/// Why a save did not happen.
#[derive(Debug)]
pub enum SaveError {
    /// The compliance guard refused the plan.
    Refused(Vec<PlanViolation>),
    /// Other invalid values (field → key).
    Invalid(crate::error::FieldErrors),
    /// The team bonus is being switched on without the confirmation.
    NeedsConfirmation,
    Other(Error),
}

impl From<Error> for SaveError {
    fn from(e: Error) -> Self {
        SaveError::Other(e)
    }
}

impl From<anyhow::Error> for SaveError {
    fn from(e: anyhow::Error) -> Self {
        SaveError::Other(e.into())
    }
}

impl From<sqlx::Error> for SaveError {
    fn from(e: sqlx::Error) -> Self {
        SaveError::Other(e.into())
    }
}

/// Checks and saves a new version; returns its number.
#[tracing::instrument(skip_all)]
pub async fn save(
    db: &Db,
    actor: &Actor,
    input: &PlanInput,
) -> std::result::Result<i64, SaveError> {
    let before = current(db).await?;
    let plan = input.to_plan(before.plan.price_bp.clone());
    if let Err(v) = check_plan(&plan) {
        return Err(SaveError::Refused(v));
    }
    let mut errors = crate::error::FieldErrors::default();
    if input.withdrawal.min_fen < 0 {
        errors.add("withdrawal.min_fen", "rewards.withdraw_min_invalid");
    }
    if input.withdrawal.fee_bp > 10_000 {
        errors.add("withdrawal.fee_bp", "rewards.withdraw_fee_invalid");
    }
    if input.withdrawal.fee_min_fen < 0 {
        errors.add("withdrawal.fee_min_fen", "rewards.withdraw_fee_invalid");
    }
    if input.team_tiers.iter().any(|(t, _)| *t <= 0) {
        errors.add("team_tiers", "rewards.tier_threshold_invalid");
    }
    if input.note.chars().count() > 200 {
        errors.add("note", "field.too_long");
    }
    if !errors.is_empty() {
        return Err(SaveError::Invalid(errors));
    }
    let switching_on = plan.team_bonus && !before.plan.team_bonus;
    if switching_on && !input.confirm_team_bonus {
        return Err(SaveError::NeedsConfirmation);
    }
    let stored = StoredPlan {
        plan,
        withdrawal: input.withdrawal,
    };
    let json = serde_json::to_value(&stored).map_err(anyhow::Error::from)?;
    let mut tx = db.begin_write().await?;
    let next: i64 =
        sqlx::query("SELECT CAST(COALESCE(MAX(version), 0) + 1 AS BIGINT) AS v FROM reward_plans")
            .fetch_one(&mut **tx)
            .await?
            .try_get("v")?;
    sqlx::query(
        "INSERT INTO reward_plans (version, plan, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(next)
    .bind(json.to_string())
    .bind(input.note.trim())
    .bind(actor.user_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            SaveError::Other(Error::Conflict("rewards.plan_changed"))
        }
        _ => SaveError::Other(e.into()),
    })?;
    let before_json = serde_json::to_value(StoredPlan {
        plan: before.plan.clone(),
        withdrawal: before.withdrawal,
    })
    .map_err(anyhow::Error::from)?;
    audit::record(
        &mut tx,
        actor,
        Change::new("reward_plan.save", "reward_plan", next)
            .summary(format!("reward plan version {next}"))
            .before(before_json)
            .after(json),
    )
    .await?;
    if switching_on {
        // The brand's explicit decision to pay team-based rewards (团队计酬),
        // recorded on its own so it can be found.
        audit::record(
            &mut tx,
            actor,
            Change::new("reward_plan.team_bonus_on", "reward_plan", next).summary(
                "团队业绩奖 (team-based pay) switched on after the compliance warning was confirmed",
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(next)
}

/// The stored plan of a version (for settlement runs that recorded it).
pub async fn version(db: &Db, version: i64) -> Result<StoredPlan> {
    let row = sqlx::query("SELECT plan FROM reward_plans WHERE version = $1")
        .bind(version)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(serde_json::from_str(&row.try_get::<String, _>("plan")?).map_err(anyhow::Error::from)?)
}
