//! The left menu, grouped by domain. An item shows only to users holding its
//! permission; a group with no visible item is hidden. Later domains add
//! their group here.

use crate::access::Principal;
use crate::db::Db;
use crate::i18n::Locale;

pub struct MenuItem {
    pub key: &'static str,
    pub href: &'static str,
    pub permission: Option<&'static str>,
}

pub struct MenuGroup {
    pub key: &'static str,
    /// A glyph drawn by CSS (see assets/app.css `.icon-*`).
    pub icon: &'static str,
    pub items: &'static [MenuItem],
}

pub const MENU: &[MenuGroup] = &[
    MenuGroup {
        key: "menu.home",
        icon: "home",
        items: &[MenuItem {
            key: "menu.dashboard",
            href: "/",
            permission: None,
        }],
    },
    MenuGroup {
        key: "menu.agents",
        icon: "agents",
        items: &[
            MenuItem {
                key: "menu.agent_list",
                href: "/agents",
                permission: Some("agents.read"),
            },
            MenuItem {
                key: "menu.agent_levels",
                href: "/agents/levels",
                permission: Some("agents.read"),
            },
            MenuItem {
                key: "menu.agent_import",
                href: "/agents/import",
                permission: Some("agents.import"),
            },
            MenuItem {
                key: "menu.applications",
                href: "/agents/applications",
                permission: Some("agents.read"),
            },
            MenuItem {
                key: "menu.invite",
                href: "/agents/invite",
                permission: None,
            },
            MenuItem {
                key: "menu.verify",
                href: "/verify",
                permission: None,
            },
        ],
    },
    MenuGroup {
        key: "menu.finance",
        icon: "finance",
        items: &[
            MenuItem {
                key: "menu.settlements",
                href: "/finance/settlements",
                permission: Some("finance.read"),
            },
            MenuItem {
                key: "menu.reward_lines",
                href: "/rewards/lines",
                permission: Some("rewards.read"),
            },
            MenuItem {
                key: "menu.reward_plan",
                href: "/rewards/plan",
                permission: Some("rewards.read"),
            },
            MenuItem {
                key: "menu.compliance",
                href: "/rewards/compliance",
                permission: Some("rewards.read"),
            },
            MenuItem {
                key: "menu.payments",
                href: "/finance/payments",
                permission: Some("finance.read"),
            },
            MenuItem {
                key: "menu.withdrawals",
                href: "/finance/withdrawals",
                permission: Some("finance.read"),
            },
            MenuItem {
                key: "menu.journal",
                href: "/finance/journal",
                permission: Some("finance.read"),
            },
            MenuItem {
                key: "menu.balances",
                href: "/finance/balances",
                permission: Some("finance.read"),
            },
            MenuItem {
                key: "menu.trial_balance",
                href: "/finance/trial-balance",
                permission: Some("finance.read"),
            },
            MenuItem {
                key: "menu.statements",
                href: "/finance/statements",
                permission: Some("finance.read"),
            },
        ],
    },
    MenuGroup {
        key: "menu.goods",
        icon: "goods",
        items: &[
            MenuItem {
                key: "menu.orders",
                href: "/orders",
                permission: Some("orders.read"),
            },
            MenuItem {
                key: "menu.shipping",
                href: "/shipping",
                permission: Some("orders.read"),
            },
            MenuItem {
                key: "menu.aftersales",
                href: "/aftersales",
                permission: Some("orders.read"),
            },
            MenuItem {
                key: "menu.order_lookup",
                href: "/service/lookup",
                permission: Some("service.read"),
            },
            MenuItem {
                key: "menu.products",
                href: "/products",
                permission: Some("products.read"),
            },
            MenuItem {
                key: "menu.stock",
                href: "/stock",
                permission: Some("stock.read"),
            },
            MenuItem {
                key: "menu.cloud_stock",
                href: "/stock/cloud",
                permission: Some("stock.read"),
            },
            MenuItem {
                key: "menu.cloud_requests",
                href: "/stock/cloud/requests",
                permission: Some("stock.read"),
            },
            MenuItem {
                key: "menu.stock_movements",
                href: "/stock/movements",
                permission: Some("stock.read"),
            },
            MenuItem {
                key: "menu.stock_counts",
                href: "/stock/counts",
                permission: Some("stock.read"),
            },
            MenuItem {
                key: "menu.warehouses",
                href: "/stock/warehouses",
                permission: Some("stock.read"),
            },
        ],
    },
    MenuGroup {
        key: "menu.org",
        icon: "org",
        items: &[
            MenuItem {
                key: "menu.chart",
                href: "/org/chart",
                permission: Some("org.read"),
            },
            MenuItem {
                key: "menu.departments",
                href: "/org/departments",
                permission: Some("org.read"),
            },
            MenuItem {
                key: "menu.positions",
                href: "/org/positions",
                permission: Some("org.read"),
            },
            MenuItem {
                key: "menu.staff",
                href: "/org/staff",
                permission: Some("org.read"),
            },
            MenuItem {
                key: "menu.templates",
                href: "/org/templates",
                permission: Some("org.read"),
            },
        ],
    },
    MenuGroup {
        key: "menu.system",
        icon: "system",
        items: &[
            MenuItem {
                key: "menu.users",
                href: "/users",
                permission: Some("users.read"),
            },
            MenuItem {
                key: "menu.roles",
                href: "/roles",
                permission: Some("roles.read"),
            },
            MenuItem {
                key: "menu.audit",
                href: "/audit",
                permission: Some("audit.read"),
            },
            MenuItem {
                key: "menu.brand",
                href: "/settings/brand",
                permission: Some("settings.write"),
            },
        ],
    },
    MenuGroup {
        key: "menu.account",
        icon: "account",
        items: &[
            MenuItem {
                key: "menu.password",
                href: "/account/password",
                permission: None,
            },
            MenuItem {
                key: "menu.sessions",
                href: "/account/sessions",
                permission: None,
            },
            MenuItem {
                key: "menu.tokens",
                href: "/account/tokens",
                permission: None,
            },
            MenuItem {
                key: "menu.api_docs",
                href: "/api/docs",
                permission: None,
            },
        ],
    },
];

/// A count shown beside a menu item (work waiting), to users holding
/// `permission`: one indexed `COUNT` per page view for those users only.
pub struct Badge {
    pub href: &'static str,
    pub permission: &'static str,
    pub count_sql: &'static str,
}

pub const BADGES: &[Badge] = &[Badge {
    // Counted through the index agent_applications_status (status, created_at).
    href: "/agents/applications",
    permission: "agents.approve",
    count_sql: "SELECT COUNT(*) FROM agent_applications WHERE status = 'pending'",
}];

#[derive(Debug, Clone)]
pub struct ItemView {
    pub label: String,
    pub href: &'static str,
    pub active: bool,
    /// Work waiting behind the item; `None` when the user may not act on it.
    pub badge: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct GroupView {
    pub label: String,
    pub icon: &'static str,
    pub items: Vec<ItemView>,
    pub open: bool,
}

/// The menu as `principal` sees it, with the item for `path` marked active
/// (the longest matching prefix, so /users/7/edit lights up "Users").
pub fn visible(principal: &Principal, locale: Locale, path: &str) -> Vec<GroupView> {
    let active_href = MENU
        .iter()
        .flat_map(|g| g.items.iter())
        .filter(|i| i.href == path || (i.href != "/" && path.starts_with(i.href)))
        .max_by_key(|i| i.href.len())
        .map(|i| i.href);
    MENU.iter()
        .filter_map(|g| {
            let items: Vec<ItemView> = g
                .items
                .iter()
                .filter(|i| i.permission.is_none_or(|p| principal.can(p)))
                .map(|i| ItemView {
                    label: locale.t(i.key),
                    href: i.href,
                    active: Some(i.href) == active_href,
                    badge: None,
                })
                .collect();
            if items.is_empty() {
                return None;
            }
            let open = items.iter().any(|i| i.active);
            Some(GroupView {
                label: locale.t(g.key),
                icon: g.icon,
                items,
                open,
            })
        })
        .collect()
}

/// Fills in the badges of the visible items `principal` may act on.
pub async fn count_badges(
    db: &Db,
    principal: &Principal,
    menu: &mut [GroupView],
) -> crate::Result<()> {
    for badge in BADGES.iter().filter(|b| principal.can(b.permission)) {
        let Some(item) = menu
            .iter_mut()
            .flat_map(|g| g.items.iter_mut())
            .find(|i| i.href == badge.href)
        else {
            continue;
        };
        let n: i64 = sqlx::query_scalar(badge.count_sql)
            .fetch_one(&db.pool)
            .await?;
        item.badge = Some(n);
    }
    Ok(())
}
