//! Staff user accounts: the list, creating and editing, roles, disabling,
//! password resets, signing in.

pub mod api;
pub mod pages;
pub mod store;

use crate::registry::{MenuItem, Permission, groups, permissions};
use crate::state::AppState;

permissions! {
    UsersRead = "users.read" in "users";
    UsersWrite = "users.write" in "users";
}

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[MenuItem {
    group: &groups::SYSTEM,
    rank: 10,
    key: "menu.users",
    href: "/users",
    permission: Some(UsersRead::CODE),
}];

pub fn router() -> axum::Router<AppState> {
    pages::router()
}
