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

use crate::http::AppState;

pub fn router() -> axum::Router<AppState> {
    pages::router().merge(portal::router())
}
