//! Warehouses and stock (仓库与库存): stock per SKU per warehouse,
//! movements, counts (盘点), low-stock alerts, and the ledger of agents'
//! cloud stock (云库存, `cloud`; its requests and pages are `crate::cloud`).
//! Every change of `stock` goes through `moves`, which keeps stock from
//! ever going negative.

pub mod api;
pub mod cloud;
pub mod moves;
pub mod pages;
pub mod rules;
pub mod store;

use crate::http::AppState;

pub fn router() -> axum::Router<AppState> {
    pages::router()
}
