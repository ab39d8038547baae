//! Access control: the permission catalogue, roles, and the one mechanism
//! that enforces them for pages and API alike (the [`Need`] extractor).

pub mod api;
pub mod catalog;
pub mod pages;
pub mod principal;
pub mod roles;

pub use catalog::{PERMISSIONS, Permission, PermissionDef};
pub use principal::{Need, Principal};

use crate::http::AppState;

pub fn router() -> axum::Router<AppState> {
    pages::router()
}
