//! Staff user accounts: the list, creating and editing, roles, disabling,
//! password resets, signing in.

pub mod api;
pub mod pages;
pub mod store;

use crate::http::AppState;

pub fn router() -> axum::Router<AppState> {
    pages::router()
}
