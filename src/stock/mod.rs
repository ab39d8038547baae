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

use crate::registry::{MenuItem, Permission, groups, permissions};
use crate::state::AppState;

permissions! {
    StockRead = "stock.read" in "stock";
    StockWrite = "stock.write" in "stock";
}

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[
    MenuItem {
        group: &groups::GOODS,
        rank: 60,
        key: "menu.stock",
        href: "/stock",
        permission: Some(StockRead::CODE),
    },
    MenuItem {
        group: &groups::GOODS,
        rank: 90,
        key: "menu.stock_movements",
        href: "/stock/movements",
        permission: Some(StockRead::CODE),
    },
    MenuItem {
        group: &groups::GOODS,
        rank: 100,
        key: "menu.stock_counts",
        href: "/stock/counts",
        permission: Some(StockRead::CODE),
    },
    MenuItem {
        group: &groups::GOODS,
        rank: 110,
        key: "menu.warehouses",
        href: "/stock/warehouses",
        permission: Some(StockRead::CODE),
    },
];

pub fn router() -> axum::Router<AppState> {
    pages::router()
}
