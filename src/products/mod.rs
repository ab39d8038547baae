//! Products (商品): categories, products and their SKUs with retail prices,
//! prices per agent level (the level's rate unless a SKU sets its own), and
//! the history of every price change. `store::prices_for` and
//! `store::catalogue_for_level` are what orders use to price a line.

pub mod api;
pub mod pages;
pub mod portal;
pub mod store;

use crate::registry::{MenuItem, Permission, groups, permissions};
use crate::state::AppState;

permissions! {
    ProductsRead = "products.read" in "products";
    ProductsWrite = "products.write" in "products";
}

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[MenuItem {
    group: &groups::GOODS,
    rank: 50,
    key: "menu.products",
    href: "/products",
    permission: Some(ProductsRead::CODE),
}];

pub fn router() -> axum::Router<AppState> {
    pages::router().merge(portal::router())
}
