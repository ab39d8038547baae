//! Orders (订单): imported historical orders today; orders placed in weiops
//! (the goods side) share the same table and reward path.

pub mod aftersales;
pub mod aftersales_pages;
pub mod api;
pub mod import;
pub mod model;
pub mod pages;
pub mod payments;
pub mod placing;
pub mod portal;
pub mod pricing;
pub mod purchase;
pub mod store;

use crate::registry::{MenuItem, Permission, groups, permissions};
use crate::state::AppState;

permissions! {
    OrdersRead = "orders.read" in "orders";
    OrdersImport = "orders.import" in "orders";
    OrdersWrite = "orders.write" in "orders";
    // Allocating stock to an order and shipping it: the order's fulfilment,
    // so declared here; the shipping and cloud pages above use it too.
    ShippingWrite = "shipping.write" in "shipping";
}

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[
    MenuItem {
        group: &groups::GOODS,
        rank: 10,
        key: "menu.orders",
        href: "/orders",
        permission: Some(OrdersRead::CODE),
    },
    MenuItem {
        group: &groups::GOODS,
        rank: 30,
        key: "menu.aftersales",
        href: "/aftersales",
        permission: Some(OrdersRead::CODE),
    },
];

pub fn router() -> axum::Router<AppState> {
    pages::router()
        .merge(portal::router())
        .merge(aftersales_pages::router())
}
