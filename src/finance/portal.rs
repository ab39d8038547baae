//! The agent's wallet in the portal (`/m/wallet`, 我的钱包): the balance,
//! the withdrawal rules, a request form with a fee preview before the
//! request is made, and the agent's own requests.

use std::borrow::Borrow;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use weiops_core::money::Fen;

use super::withdrawals::{self, NewWithdrawal, Withdrawal};
use crate::agents::portal::AgentSession;
use crate::agents::store::Agent;
use crate::audit::Actor;
use crate::error::FieldErrors;
use crate::ledger;
use crate::rewards::plan::WithdrawalRules;
use crate::state::{AppState, RequestMeta};
use crate::web::{self, FormPairs, PublicCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new().route("/m/wallet", get(wallet).post(request))
}

/// A request shown for confirmation: amount, fee, what arrives.
struct Preview {
    amount: i64,
    fee: i64,
    net: i64,
}

#[derive(Template)]
#[template(path = "finance/wallet.html")]
struct WalletPage {
    ctx: PublicCtx,
    me: Agent,
    balance: i64,
    rules: WithdrawalRules,
    requests: Vec<Withdrawal>,
    amount: String,
    account_name: String,
    account_no: String,
    errors: FieldErrors,
    message: Option<String>,
    preview: Option<Preview>,
}

impl WalletPage {
    fn money(&self, fen: impl Borrow<i64>) -> String {
        Fen(*fen.borrow()).to_string()
    }

    fn time(&self, ms: impl Borrow<i64>) -> String {
        weiops_core::time::format_minute(*ms.borrow())
    }

    /// `0.60%`, the fee rate as people read it.
    fn fee_rate(&self) -> String {
        let bp = self.rules.fee_bp;
        format!("{}.{:02}%", bp / 100, bp % 100)
    }

    fn can_withdraw(&self) -> bool {
        self.me.status == weiops_core::agents::AgentStatus::Active
    }
}

/// What a submitted form shows again.
#[derive(Default)]
struct Shown<'a> {
    form: Option<&'a FormPairs>,
    errors: FieldErrors,
    message: Option<String>,
    preview: Option<Preview>,
}

async fn render(
    s: &AppState,
    ctx: PublicCtx,
    me: Agent,
    shown: Shown<'_>,
    status: StatusCode,
) -> Result<Response> {
    let Shown {
        form,
        errors,
        message,
        preview,
    } = shown;
    let balance = ledger::wallet_balance(&s.db.pool, me.id).await?.0;
    let rules = crate::rewards::plan::current(&s.db).await?.withdrawal;
    let requests = withdrawals::for_agent(&s.db, me.id, 50).await?;
    // The last account used, so a regular withdrawal is one amount away.
    let last = requests.first();
    let value = |name: &str, fallback: Option<&String>| match form {
        Some(f) => f.get(name).to_string(),
        None => fallback.cloned().unwrap_or_default(),
    };
    let mut res = web::page_with_status(
        status,
        WalletPage {
            amount: value("amount", None),
            account_name: value("account_name", last.map(|w| &w.account_name)),
            account_no: value("account_no", last.map(|w| &w.account_no)),
            ctx,
            me,
            balance,
            rules,
            requests,
            errors,
            message,
            preview,
        },
    );
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

async fn wallet(State(s): State<AppState>, ctx: PublicCtx, me: AgentSession) -> Result<Response> {
    render(&s, ctx, me.agent, Shown::default(), StatusCode::OK).await
}

/// The typed request; an amount that is not money is a field error.
fn parse(form: &FormPairs) -> (NewWithdrawal, FieldErrors) {
    let mut errors = FieldErrors::default();
    let amount = match Fen::parse_yuan(form.get("amount")) {
        Ok(f) if f.0 > 0 => f,
        _ => {
            errors.add("amount", "withdrawal.amount_invalid");
            Fen(0)
        }
    };
    (
        NewWithdrawal {
            amount,
            account_name: form.get("account_name").to_string(),
            account_no: form.get("account_no").to_string(),
        },
        errors,
    )
}

/// First the preview (amount, fee, what arrives), then, confirmed, the
/// request itself.
async fn request(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    meta: RequestMeta,
    form: FormPairs,
) -> Result<Response> {
    let (input, errors) = parse(&form);
    let outcome = if form.confirmed() {
        let actor = Actor {
            user_id: None,
            name: format!("agent:{}", me.agent.code),
            request_id: meta.request_id,
            ip: meta.ip,
        };
        match withdrawals::request(&s.db, &actor, me.agent.id, &input, errors).await {
            Ok(_) => {
                return Ok(web::redirect_with_flash(
                    "/m/wallet",
                    "success",
                    "wallet.requested_flash",
                    &input.amount.to_string(),
                ));
            }
            Err(e) => Err(e),
        }
    } else {
        withdrawals::check(&s.db, &me.agent, &input, errors).await
    };
    let agent = me.agent;
    match outcome {
        Ok(fee) => {
            let preview = Preview {
                amount: input.amount.0,
                fee: fee.0,
                net: input.amount.0 - fee.0,
            };
            let shown = Shown {
                form: Some(&form),
                preview: Some(preview),
                ..Default::default()
            };
            render(&s, ctx, agent, shown, StatusCode::OK).await
        }
        Err(Error::Validation(errors)) => {
            let shown = Shown {
                form: Some(&form),
                errors,
                ..Default::default()
            };
            render(&s, ctx, agent, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e @ (Error::Conflict(_) | Error::Refused(_))) => {
            let report = e.report();
            let message = Some(report.message(ctx.locale));
            let shown = Shown {
                form: Some(&form),
                message,
                ..Default::default()
            };
            render(&s, ctx, agent, shown, report.status).await
        }
        Err(e) => Err(e),
    }
}
