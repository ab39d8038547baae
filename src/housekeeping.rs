//! Housekeeping: deletes rows that have served their purpose, so tables
//! that grow with every sign-in or import stay small over the years.
//!
//! What goes (each kept [`KEEP_MS`] after it stopped mattering):
//! - staff and agent-portal sessions that ended (signed out, idle or too
//!   old); staff sign-ins stay in the audit log;
//! - finished background jobs (done or failed);
//! - rate-limit windows long past.
//!
//! Every server runs this at start and then hourly. The deletes are
//! idempotent, so several app servers running it at once is harmless.

use std::time::Duration;

use serde::Serialize;
use weiops_core::accounts::SessionPolicy;

use crate::Result;
use crate::db::{Db, now_ms};

/// How long ended rows are kept: 30 days.
pub const KEEP_MS: i64 = 30 * 24 * 3_600_000;

/// Rate-limit windows are at most minutes long; a day-old one is dead.
const RATE_LIMIT_KEEP_MS: i64 = 24 * 3_600_000;

/// How often a running server cleans up.
const EVERY: Duration = Duration::from_secs(3_600);

/// Rows deleted by one run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub sessions: u64,
    pub agent_sessions: u64,
    pub jobs: u64,
    pub rate_limits: u64,
}

/// One clean-up at `now` (epoch ms). `staff` is the staff session policy
/// the server runs with; agent-portal sessions use the default policy, as
/// the portal does.
pub async fn run(db: &Db, staff: SessionPolicy, now: i64) -> Result<Pruned> {
    let mut pruned = Pruned::default();
    for (table, policy, count) in [
        ("sessions", staff, &mut pruned.sessions),
        (
            "agent_sessions",
            SessionPolicy::default(),
            &mut pruned.agent_sessions,
        ),
    ] {
        let cut = policy.prune_before(now, KEEP_MS);
        *count = crate::db::dynamic(format!(
            "DELETE FROM {table} WHERE revoked_at < $1 OR last_seen_at < $2 OR created_at < $3"
        ))
        .bind(cut.revoked_before)
        .bind(cut.last_seen_before)
        .bind(cut.created_before)
        .execute(&db.pool)
        .await?
        .rows_affected();
    }
    pruned.jobs =
        sqlx::query("DELETE FROM jobs WHERE status IN ('done', 'failed') AND updated_at < $1")
            .bind(now.saturating_sub(KEEP_MS))
            .execute(&db.pool)
            .await?
            .rows_affected();
    pruned.rate_limits = sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
        .bind(now.saturating_sub(RATE_LIMIT_KEEP_MS))
        .execute(&db.pool)
        .await?
        .rows_affected();
    Ok(pruned)
}

/// Runs [`run`] now and then every hour for as long as the server lives.
/// A failed run is logged and retried at the next tick.
pub fn spawn(db: Db, staff: SessionPolicy) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run(&db, staff, now_ms()).await {
                Ok(p) if p == Pruned::default() => {}
                Ok(p) => tracing::info!(
                    sessions = p.sessions,
                    agent_sessions = p.agent_sessions,
                    jobs = p.jobs,
                    rate_limits = p.rate_limits,
                    "housekeeping deleted ended rows"
                ),
                Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
            }
        }
    });
}

/// How often unpaid orders past their reservation are closed.
const RESERVATIONS_EVERY: Duration = Duration::from_secs(60);

/// Every minute: closes unpaid orders whose reservation ended and releases
/// their stock (weiops::orders::purchase::close_expired). Several servers
/// may run it at once; each order is closed once (its status is the lock).
pub fn spawn_reservations(db: Db) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RESERVATIONS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match crate::orders::purchase::close_expired(&db, now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(closed = n, "unpaid orders past their reservation closed"),
                Err(e) => tracing::warn!(error = %e, "closing expired orders failed"),
            }
        }
    });
}
