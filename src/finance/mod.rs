//! The finance workspace (财务): the journal pages, account balances,
//! the trial balance, per-agent statements, agent wallets and withdrawals.
//! Entries are posted through `crate::ledger`, by settlement runs
//! (`crate::rewards::settlement`), orders and the pages here alike.

pub mod api;
pub mod journal;
pub mod pages;
pub mod payment_pages;
pub mod portal;
pub mod reports;
pub mod withdrawals;

use crate::http::AppState;

pub fn router() -> axum::Router<AppState> {
    pages::router().merge(payment_pages::router())
}
