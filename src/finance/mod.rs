//! The finance workspace (财务): the double-entry ledger, account balances,
//! the trial balance, per-agent statements, agent wallets and withdrawals.
//! Settlement runs live in `crate::rewards::settlement`; they post here.

pub mod api;
pub mod journal;
pub mod ledger;
pub mod pages;
pub mod payment_pages;
pub mod payments;
pub mod portal;
pub mod reports;
pub mod withdrawals;

use crate::http::AppState;

pub fn router() -> axum::Router<AppState> {
    pages::router().merge(payment_pages::router())
}
