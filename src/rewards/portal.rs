//! 我的收益 in the agent portal (`/m/earnings`): the agent's rewards of a
//! month, each explained, with the month's settlement state and clawbacks.
//! The same computation finance sees on /rewards/lines.

use std::borrow::Borrow;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use weiops_core::money::Fen;
use weiops_core::time::Period;

use super::lines::{self, AgentRewards};
use crate::Result;
use crate::agents::portal::AgentSession;
use crate::state::AppState;
use crate::web::{self, PublicCtx};

pub fn router() -> Router<AppState> {
    Router::new().route("/m/earnings", get(earnings))
}

#[derive(Template)]
#[template(path = "rewards/portal_earnings.html")]
struct EarningsPage {
    ctx: PublicCtx,
    r: AgentRewards,
    prev: String,
    next: Option<String>,
}

impl EarningsPage {
    fn money(&self, fen: impl Borrow<i64>) -> String {
        Fen(*fen.borrow()).to_string()
    }

    fn time(&self, ms: impl Borrow<i64>) -> String {
        weiops_core::time::format_minute(*ms.borrow())
    }

    fn state_key(&self) -> String {
        if self.r.held {
            "earnings.state_held".into()
        } else {
            format!("earnings.state_{}", self.r.settlement)
        }
    }

    /// What became of a paid month's net: in the wallet, or held.
    fn paid_line(&self) -> String {
        if self.r.held {
            let amount = self.money(self.r.net_fen);
            self.ctx
                .locale
                .tf("earnings.held_amount", &[("amount", &amount)])
        } else {
            let amount = self.money(self.r.paid_fen);
            self.ctx
                .locale
                .tf("earnings.paid_amount", &[("amount", &amount)])
        }
    }

    /// The heading over the month's net: estimated until the month is
    /// settled, then settled, then paid.
    fn net_key(&self) -> &'static str {
        match self.r.settlement.as_str() {
            "paid" if !self.r.held => "earnings.net_paid",
            "approved" | "paid" => "earnings.net_settled",
            _ => "earnings.net",
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct EarningsQuery {
    period: Option<String>,
}

async fn earnings(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    Query(q): Query<EarningsQuery>,
) -> Result<Response> {
    let now = Period::containing(crate::db::now_ms());
    // A malformed month shows this month rather than an error page.
    let period = q
        .period
        .as_deref()
        .and_then(Period::parse)
        .or(now)
        .ok_or_else(|| anyhow::anyhow!("no current period"))?;
    let r = lines::for_agent(&s.db, ctx.locale, &me.agent.code, period).await?;
    let next = Some(period.next()).filter(|n| now.is_some_and(|now| *n <= now));
    Ok(web::page(EarningsPage {
        ctx,
        r,
        prev: period.previous().to_string(),
        next: next.map(|n| n.to_string()),
    }))
}
