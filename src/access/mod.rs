//! Roles: which permissions and data scope each holds, edited on pages and
//! through the API. The permission catalogue is what the domains declared
//! (`state.registry`); the check on every request is `crate::identity`.

pub mod api;
pub mod pages;
pub mod roles;

use crate::registry::{MenuItem, Permission, groups, permissions};
use crate::state::AppState;

permissions! {
    RolesRead = "roles.read" in "roles";
    RolesWrite = "roles.write" in "roles";
}

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[MenuItem {
    group: &groups::SYSTEM,
    rank: 20,
    key: "menu.roles",
    href: "/roles",
    permission: Some(RolesRead::CODE),
}];

pub fn router() -> axum::Router<AppState> {
    pages::router()
}
