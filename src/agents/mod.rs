//! The agent network (代理体系): levels, agents on the sponsor tree, team
//! views, certificates (授权书) with public verification, imports of the
//! whole network.

pub mod api;
pub mod certificates;
pub mod import;
pub mod levels;
pub mod notices;
pub mod pages;
pub mod portal;
pub mod portal_store;
pub mod recruit;
pub mod store;
pub mod transfer;
pub mod tree;

use crate::http::AppState;

pub fn router() -> axum::Router<AppState> {
    pages::router()
        .merge(recruit::router())
        .merge(portal::router())
}
