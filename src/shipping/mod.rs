//! 打单发货 (issue 6 item 6): parcels from picked orders and cloud-stock
//! requests, carriers, tracking numbers typed, scanned or imported, printed
//! waybills (Code 128 of the order number) and packing lists, and the
//! portal notice that tells the agent a parcel left (written into the
//! agent's inbox, `crate::agents::notices`).
//!
//! The queue holds every paid order that ships from the warehouse (发给我,
//! 代发) from the moment it is paid, and every pending cloud-stock request
//! (issue 13 item 5). A clerk works from this list, not from each order:
//! picking is optional as a step of its own (开始配货, a batch action here,
//! shows the agent 配货中), and shipping an order not picked yet picks it in
//! the same transaction, so its timeline still reads 已付款 → 配货中 →
//! 已发货. Orders kept in cloud stock never appear: they ship only as the
//! agent's shipment requests. Everything that picks, prints or ships takes
//! `shipping.write`, which the templates' warehouse and logistics roles
//! hold.

pub mod api;
pub mod code128;
pub mod pages;
pub mod store;

use crate::orders::OrdersRead;
use crate::registry::{MenuItem, Permission, groups};
use crate::state::AppState;

/// Declared by orders, which owns an order's fulfilment (allocate, ship),
/// and used by the shipping and cloud-stock pages above it.
pub use crate::orders::ShippingWrite;

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[MenuItem {
    group: &groups::GOODS,
    rank: 20,
    key: "menu.shipping",
    href: "/shipping",
    permission: Some(OrdersRead::CODE),
}];

pub fn router() -> axum::Router<AppState> {
    pages::router()
}
