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

use crate::registry::{MenuItem, Permission, groups};
use crate::state::AppState;

/// The finance permissions are declared with the ledger, below every
/// domain that moves money; re-exported here where people look for them.
pub use crate::ledger::{FinanceApprove, FinancePay, FinanceRead, FinanceWrite};

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[
    MenuItem {
        group: &groups::FINANCE,
        rank: 50,
        key: "menu.payments",
        href: "/finance/payments",
        permission: Some(FinanceRead::CODE),
    },
    MenuItem {
        group: &groups::FINANCE,
        rank: 60,
        key: "menu.withdrawals",
        href: "/finance/withdrawals",
        permission: Some(FinanceRead::CODE),
    },
    MenuItem {
        group: &groups::FINANCE,
        rank: 70,
        key: "menu.journal",
        href: "/finance/journal",
        permission: Some(FinanceRead::CODE),
    },
    MenuItem {
        group: &groups::FINANCE,
        rank: 80,
        key: "menu.balances",
        href: "/finance/balances",
        permission: Some(FinanceRead::CODE),
    },
    MenuItem {
        group: &groups::FINANCE,
        rank: 90,
        key: "menu.trial_balance",
        href: "/finance/trial-balance",
        permission: Some(FinanceRead::CODE),
    },
    MenuItem {
        group: &groups::FINANCE,
        rank: 100,
        key: "menu.statements",
        href: "/finance/statements",
        permission: Some(FinanceRead::CODE),
    },
];

pub fn router() -> axum::Router<AppState> {
    pages::router().merge(payment_pages::router())
}
