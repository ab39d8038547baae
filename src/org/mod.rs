//! The organisation (组织架构): departments, positions with duties and KPIs,
//! staff, templates from the source documents, and org charts. Every staff
//! member's permissions come from here: the roles of the posts they hold.

pub mod api;
pub mod chart;
pub mod departments;
pub mod pages;
pub mod positions;
pub mod staff;
pub mod templates;
pub mod transfer;

use crate::error::FieldErrors;
use crate::registry::{MenuItem, Permission, groups, permissions};
use crate::state::AppState;

permissions! {
    OrgRead = "org.read" in "org";
    OrgWrite = "org.write" in "org";
}

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[
    MenuItem {
        group: &groups::ORG,
        rank: 10,
        key: "menu.chart",
        href: "/org/chart",
        permission: Some(OrgRead::CODE),
    },
    MenuItem {
        group: &groups::ORG,
        rank: 20,
        key: "menu.departments",
        href: "/org/departments",
        permission: Some(OrgRead::CODE),
    },
    MenuItem {
        group: &groups::ORG,
        rank: 30,
        key: "menu.positions",
        href: "/org/positions",
        permission: Some(OrgRead::CODE),
    },
    MenuItem {
        group: &groups::ORG,
        rank: 40,
        key: "menu.staff",
        href: "/org/staff",
        permission: Some(OrgRead::CODE),
    },
    MenuItem {
        group: &groups::ORG,
        rank: 50,
        key: "menu.templates",
        href: "/org/templates",
        permission: Some(OrgRead::CODE),
    },
];

pub fn router() -> axum::Router<AppState> {
    pages::router()
}

/// Codes of departments and positions: 2–32 of `a-z 0-9 _ -`, starting
/// with a letter; stored lowercase.
pub fn check_code(errors: &mut FieldErrors, field: &str, code: &str) -> String {
    let code = code.trim().to_ascii_lowercase();
    if code.is_empty() {
        errors.add(field, "field.required");
    } else if code.len() < 2 || code.len() > 32 {
        errors.add(field, "field.length_2_32");
    } else if !code.starts_with(|c: char| c.is_ascii_lowercase())
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        errors.add(field, "field.code_chars");
    }
    code
}

/// A required name of at most `max` characters.
pub fn check_name(errors: &mut FieldErrors, field: &str, name: &str, max: usize) -> String {
    let name = name.trim().to_string();
    if name.is_empty() {
        errors.add(field, "field.required");
    } else if name.chars().count() > max {
        errors.add(field, "field.too_long");
    } else if name.chars().any(char::is_control) {
        errors.add(field, "field.bad_characters");
    }
    name
}
