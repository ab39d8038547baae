//! Signing in and staying signed in: passwords, sessions, API tokens, and
//! the account pages (password, sessions, tokens, language).

pub mod api;
pub mod pages;
pub mod tokens;

use crate::registry::{MenuItem, groups};
use crate::state::AppState;

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[
    MenuItem {
        group: &groups::ACCOUNT,
        rank: 10,
        key: "menu.password",
        href: "/account/password",
        permission: None,
    },
    MenuItem {
        group: &groups::ACCOUNT,
        rank: 20,
        key: "menu.sessions",
        href: "/account/sessions",
        permission: None,
    },
    MenuItem {
        group: &groups::ACCOUNT,
        rank: 30,
        key: "menu.tokens",
        href: "/account/tokens",
        permission: None,
    },
];

pub fn router() -> axum::Router<AppState> {
    pages::router()
}
