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

use crate::registry::{Badge, MenuItem, Permission, groups, permissions};
use crate::state::AppState;

permissions! {
    AgentsRead = "agents.read" in "agents";
    AgentsWrite = "agents.write" in "agents";
    AgentsPii = "agents.pii" in "agents";
    AgentsApprove = "agents.approve" in "agents";
    AgentLevelsWrite = "agents.levels" in "agents";
    AgentsImport = "agents.import" in "agents";
}

/// This domain's entries in the left menu.
pub const MENU: &[MenuItem] = &[
    MenuItem {
        group: &groups::AGENTS,
        rank: 10,
        key: "menu.agent_list",
        href: "/agents",
        permission: Some(AgentsRead::CODE),
    },
    MenuItem {
        group: &groups::AGENTS,
        rank: 20,
        key: "menu.agent_levels",
        href: "/agents/levels",
        permission: Some(AgentsRead::CODE),
    },
    MenuItem {
        group: &groups::AGENTS,
        rank: 30,
        key: "menu.agent_import",
        href: "/agents/import",
        permission: Some(AgentsImport::CODE),
    },
    MenuItem {
        group: &groups::AGENTS,
        rank: 40,
        key: "menu.applications",
        href: "/agents/applications",
        permission: Some(AgentsRead::CODE),
    },
    MenuItem {
        group: &groups::AGENTS,
        rank: 50,
        key: "menu.invite",
        href: "/agents/invite",
        permission: None,
    },
    MenuItem {
        group: &groups::AGENTS,
        rank: 60,
        key: "menu.verify",
        href: "/verify",
        permission: None,
    },
];

/// Work waiting behind the agents' menu items.
pub const BADGES: &[Badge] = &[Badge {
    // Counted through the index agent_applications_status (status, created_at).
    href: "/agents/applications",
    permission: AgentsApprove::CODE,
    count_sql: "SELECT COUNT(*) FROM agent_applications WHERE status = 'pending'",
}];

pub fn router() -> axum::Router<AppState> {
    pages::router()
        .merge(recruit::router())
        .merge(portal::router())
}
