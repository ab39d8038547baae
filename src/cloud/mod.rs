//! 云库存 (cloud stock): goods an agent paid for and keeps in head office's
//! warehouse until they ask for them to be shipped (提货/代发). The balances
//! themselves are the ledger in `crate::stock::cloud` (written when a cloud
//! order is paid or refunded); here are the shipment requests that take
//! from them (`store`), the staff pages under `/stock/cloud` (`pages`), the
//! agent's page in the portal (`portal`, `/m/cloud`) and the API (`api`,
//! `/api/v1/cloud-stock`).
//!
//! Above orders, stock and agents: a request follows an order's line and
//! receiver rules (`orders::model`), and nothing below imports this folder
//! except shipping, which ships requests with its parcels.

pub mod api;
pub mod pages;
pub mod portal;
pub mod store;

use crate::registry::{MenuItem, Permission, groups};
use crate::state::AppState;
use crate::stock::StockRead;

/// Cloud stock's entries in the left menu (beside stock's).
pub const MENU: &[MenuItem] = &[
    MenuItem {
        group: &groups::GOODS,
        rank: 70,
        key: "menu.cloud_stock",
        href: "/stock/cloud",
        permission: Some(StockRead::CODE),
    },
    MenuItem {
        group: &groups::GOODS,
        rank: 80,
        key: "menu.cloud_requests",
        href: "/stock/cloud/requests",
        permission: Some(StockRead::CODE),
    },
];

pub fn router() -> axum::Router<AppState> {
    pages::router().merge(portal::router())
}
