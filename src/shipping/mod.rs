//! 打单发货 (issue 6 item 6): parcels from picked orders and cloud-stock
//! requests, carriers, tracking numbers typed, scanned or imported, printed
//! waybills (Code 128 of the order number) and packing lists, and the
//! portal notice that tells the agent a parcel left.

pub mod api;
pub mod code128;
pub mod pages;
pub mod store;

use crate::http::AppState;

pub fn router() -> axum::Router<AppState> {
    pages::router()
}
