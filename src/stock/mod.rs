//! Warehouses and stock (仓库与库存): stock per SKU per warehouse,
//! movements, counts (盘点), low-stock alerts. Every change goes through
//! `moves`, which keeps stock from ever going negative.

pub mod api;
pub mod moves;
pub mod pages;
pub mod rules;
pub mod store;

use crate::http::AppState;

pub fn router() -> axum::Router<AppState> {
    pages::router()
}
