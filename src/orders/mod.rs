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

use crate::http::AppState;

pub fn router() -> axum::Router<AppState> {
    pages::router()
        .merge(portal::router())
        .merge(aftersales_pages::router())
}
