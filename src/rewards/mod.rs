//! Agent rewards (奖励): the versioned reward plan with its compliance guard,
//! reward lines explained per order, and monthly settlement runs. The rules
//! themselves are pure functions in `weiops_core::rewards`
//! (shared/spec/settlement.md).

pub mod api;
pub mod clawback;
pub mod lines;
pub mod pages;
pub mod plan;
pub mod portal;
pub mod settlement;

use crate::ledger::FinanceRead;
use crate::registry::{MenuItem, Permission, groups, permissions};
use crate::state::AppState;

permissions! {
    RewardsRead = "rewards.read" in "rewards";
    RewardsWrite = "rewards.write" in "rewards";
}

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[
    MenuItem {
        group: &groups::FINANCE,
        rank: 10,
        key: "menu.settlements",
        href: "/finance/settlements",
        permission: Some(FinanceRead::CODE),
    },
    MenuItem {
        group: &groups::FINANCE,
        rank: 20,
        key: "menu.reward_lines",
        href: "/rewards/lines",
        permission: Some(RewardsRead::CODE),
    },
    MenuItem {
        group: &groups::FINANCE,
        rank: 30,
        key: "menu.reward_plan",
        href: "/rewards/plan",
        permission: Some(RewardsRead::CODE),
    },
    MenuItem {
        group: &groups::FINANCE,
        rank: 40,
        key: "menu.compliance",
        href: "/rewards/compliance",
        permission: Some(RewardsRead::CODE),
    },
];

pub fn router() -> axum::Router<AppState> {
    pages::router().merge(portal::router())
}
