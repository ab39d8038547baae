//! Reading the audit log: the list with its filters and export, one
//! entry's before and after, the API, and entries shown as names (who,
//! which record) wherever a page shows history. The recorder that writes
//! the log is `crate::audit`, below every domain.

pub mod api;
pub mod pages;
pub mod store;
pub mod view;

use crate::registry::{MenuItem, Permission, groups, permissions};
use crate::state::AppState;

permissions! {
    AuditRead = "audit.read" in "audit";
}

pub const MENU: &[MenuItem] = &[MenuItem {
    group: &groups::SYSTEM,
    rank: 30,
    key: "menu.audit",
    href: "/audit",
    permission: Some(AuditRead::CODE),
}];

pub fn router() -> axum::Router<AppState> {
    pages::router()
}
