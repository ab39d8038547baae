//! 品牌信息 (系统设置): the pages and API that edit the brand weiops runs
//! for, and the public logo. The values and their checks live in
//! crate::settings::brand, below the page layer, because every page's
//! title and header read them.

pub mod api;
mod pages;

use axum::Router;

use crate::registry::{MenuItem, Permission, groups, permissions};
use crate::state::AppState;

permissions! {
    SettingsWrite = "settings.write" in "settings";
}

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[MenuItem {
    group: &groups::SYSTEM,
    rank: 40,
    key: "menu.brand",
    href: "/settings/brand",
    permission: Some(SettingsWrite::CODE),
}];

pub fn router() -> Router<AppState> {
    pages::router()
}
