//! What each domain contributes to the whole, as data: its menu items, the
//! badges beside them, and its permissions. Each domain declares these next
//! to its code (`MENU`, `PERMISSIONS`, the permission types from
//! [`permissions!`]); `app.rs` collects them into one [`Registry`] that the
//! shell (menu), the role editor and `/api/v1/me` read from the state.
//!
//! This module sits at the bottom: it names no domain. Menu groups shared by
//! several domains are declared here ([`groups`]); a domain with a group of
//! its own declares it in its folder.

use crate::i18n::Locale;

/// A permission as a type, so a handler states what it needs in its
/// signature (`Need<UsersWrite>`) and code that names a permission uses
/// `UsersWrite::CODE`: a renamed permission breaks the build, not a page.
pub trait Permission: Send + Sync + 'static {
    const CODE: &'static str;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionDef {
    pub code: &'static str,
    pub group: &'static str,
}

/// Declares a domain's permissions: a type per permission and the
/// domain's `PERMISSIONS` list, in display order. Names are localised
/// under `perm.<code>`, groups under `perm_group.<group>`.
macro_rules! permissions {
    ($( $ty:ident = $code:literal in $group:literal; )*) => {
        $(
            #[doc = concat!("The `", $code, "` permission.")]
            pub struct $ty;
            impl $crate::registry::Permission for $ty {
                const CODE: &'static str = $code;
            }
        )*
        /// This domain's permissions, in display order.
        pub const PERMISSIONS: &[$crate::registry::PermissionDef] =
            &[$($crate::registry::PermissionDef { code: $code, group: $group }),*];
    };
}
pub(crate) use permissions;

/// Every business domain, in menu order: the first segment of a permission
/// code. Domains listed here before they have permissions can already be
/// granted as a whole (`finance.*`), so roles made from templates today gain
/// the permissions those domains bring later.
pub const DOMAINS: &[&str] = &[
    "org",
    "users",
    "roles",
    "audit",
    "agents",
    "rewards",
    "finance",
    "products",
    "orders",
    "stock",
    "shipping",
    "service",
    "promotion",
    "content",
    "training",
    "sales",
    "reports",
    "settings",
];

/// Actions a `*.<action>` pattern may name.
pub const ACTIONS: &[&str] = &["read", "write", "approve", "export", "import", "pii"];

/// A group of the left menu. Items of several domains may share a group;
/// groups show in `rank` order.
#[derive(Debug, PartialEq, Eq)]
pub struct MenuGroup {
    pub key: &'static str,
    /// A glyph drawn by CSS (see assets/app.css `.icon-*`).
    pub icon: &'static str,
    pub rank: u16,
}

/// One entry of the left menu, shown only to users holding `permission`.
#[derive(Debug)]
pub struct MenuItem {
    pub group: &'static MenuGroup,
    /// Position inside the group (items of several domains interleave).
    pub rank: u16,
    pub key: &'static str,
    pub href: &'static str,
    pub permission: Option<&'static str>,
}

/// A count shown beside a menu item (work waiting), to users holding
/// `permission`: one indexed `COUNT` per page view for those users only.
#[derive(Debug)]
pub struct Badge {
    pub href: &'static str,
    pub permission: &'static str,
    pub count_sql: &'static str,
}

/// The menu groups several domains share. A domain with a group of its own
/// declares its `MenuGroup` in its folder.
pub mod groups {
    use super::MenuGroup;

    pub const HOME: MenuGroup = MenuGroup {
        key: "menu.home",
        icon: "home",
        rank: 0,
    };
    pub const AGENTS: MenuGroup = MenuGroup {
        key: "menu.agents",
        icon: "agents",
        rank: 10,
    };
    pub const FINANCE: MenuGroup = MenuGroup {
        key: "menu.finance",
        icon: "finance",
        rank: 20,
    };
    pub const GOODS: MenuGroup = MenuGroup {
        key: "menu.goods",
        icon: "goods",
        rank: 30,
    };
    pub const ORG: MenuGroup = MenuGroup {
        key: "menu.org",
        icon: "org",
        rank: 80,
    };
    pub const SYSTEM: MenuGroup = MenuGroup {
        key: "menu.system",
        icon: "system",
        rank: 90,
    };
    pub const ACCOUNT: MenuGroup = MenuGroup {
        key: "menu.account",
        icon: "account",
        rank: 100,
    };
}

/// The menu, badges and permission catalogue the domains declared.
#[derive(Debug, Default)]
pub struct Registry {
    /// Groups in rank order, each with its items in rank order.
    pub menu: Vec<(&'static MenuGroup, Vec<&'static MenuItem>)>,
    pub badges: Vec<&'static Badge>,
    /// Every permission, in display order.
    pub permissions: Vec<PermissionDef>,
}

impl Registry {
    pub fn new(
        menus: &[&'static [MenuItem]],
        badges: &[&'static [Badge]],
        permissions: &[&[PermissionDef]],
    ) -> Registry {
        let mut items: Vec<&'static MenuItem> = menus.iter().flat_map(|m| m.iter()).collect();
        items.sort_by_key(|i| (i.group.rank, i.group.key, i.rank));
        let mut menu: Vec<(&'static MenuGroup, Vec<&'static MenuItem>)> = Vec::new();
        for item in items {
            match menu.last_mut() {
                Some((group, list)) if group.key == item.group.key => list.push(item),
                _ => menu.push((item.group, vec![item])),
            }
        }
        Registry {
            menu,
            badges: badges.iter().flat_map(|b| b.iter()).collect(),
            permissions: permissions.iter().flat_map(|p| p.iter().copied()).collect(),
        }
    }

    /// Every permission code, in display order.
    pub fn codes(&self) -> Vec<&'static str> {
        self.permissions.iter().map(|p| p.code).collect()
    }

    pub fn is_known(&self, code: &str) -> bool {
        self.permissions.iter().any(|p| p.code == code)
    }

    /// The catalogue codes a set of grants covers.
    pub fn covered<'a>(
        &self,
        grants: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Vec<&'static str> {
        self.permissions
            .iter()
            .filter(|p| {
                grants
                    .clone()
                    .into_iter()
                    .any(|g| weiops_core::org::permission_matches(g, p.code))
            })
            .map(|p| p.code)
            .collect()
    }

    /// Every domain in order with its permissions (empty for domains whose
    /// module has not arrived yet).
    pub fn grouped(&self) -> Vec<(&'static str, Vec<PermissionDef>)> {
        DOMAINS
            .iter()
            .map(|d| {
                let defs = self.permissions.iter().filter(|p| p.group == *d);
                (*d, defs.copied().collect())
            })
            .collect()
    }
}

/// Whether `pattern` may be granted: `*`, `<domain>.*`, `*.<action>`, or a
/// code of a known domain (`orders.read`, also before the module that
/// defines it exists).
pub fn is_grantable(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let Some((domain, action)) = pattern.split_once('.') else {
        return false;
    };
    let action_ok =
        |a: &str| !a.is_empty() && a.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    match (domain, action) {
        ("*", a) => ACTIONS.contains(&a),
        (d, "*") => DOMAINS.contains(&d),
        (d, a) => DOMAINS.contains(&d) && action_ok(a),
    }
}

/// A grant pattern in words for people: `*` is "全部权限", `promotion.*`
/// "推广（全部权限）", `*.read` "所有模块：查看", a catalogue code its own
/// name, and a code a later module will define (`reports.read`) its domain
/// and action. Anything else (a stale code in a custom template) shows as it
/// is, so nothing is hidden.
pub fn pattern_label(pattern: &str, locale: Locale) -> String {
    if pattern == "*" {
        return locale.t("perm_pattern.all");
    }
    // Every catalogue code has its name under `perm.<code>` (the i18n test
    // checks that), so a name found there is a catalogue code's.
    if let Some(name) = locale.try_t(&format!("perm.{pattern}")) {
        return name;
    }
    let Some((domain, action)) = pattern.split_once('.') else {
        return pattern.to_string();
    };
    let action_name = |a: &str| locale.try_t(&format!("perm_action.{a}"));
    let domain_name = |d: &str| {
        DOMAINS
            .contains(&d)
            .then(|| locale.t(&format!("perm_group.{d}")))
    };
    match (domain, action) {
        ("*", a) => {
            action_name(a).map(|a| locale.tf("perm_pattern.every_domain", &[("action", &a)]))
        }
        (d, "*") => domain_name(d).map(|d| locale.tf("perm_pattern.domain_all", &[("domain", &d)])),
        (d, a) => domain_name(d).zip(action_name(a)).map(|(d, a)| {
            locale.tf(
                "perm_pattern.domain_action",
                &[("domain", &d), ("action", &a)],
            )
        }),
    }
    .unwrap_or_else(|| pattern.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grantable_patterns() {
        for ok in [
            "*",
            "finance.*",
            "*.read",
            "users.read",
            "orders.read",
            "stock.write",
        ] {
            assert!(is_grantable(ok), "{ok}");
        }
        for bad in [
            "",
            "finance",
            "nope.*",
            "*.fly",
            "users.READ",
            "**",
            "users.read.x",
            "*.*",
        ] {
            assert!(!is_grantable(bad), "{bad}");
        }
    }

    #[test]
    fn patterns_in_words() {
        assert_eq!(pattern_label("*", Locale::ZhCn), "全部权限");
        assert_eq!(
            pattern_label("promotion.*", Locale::ZhCn),
            "推广（全部权限）"
        );
        assert_eq!(pattern_label("users.read", Locale::ZhCn), "查看用户");
        assert_eq!(
            pattern_label("reports.read", Locale::ZhCn),
            "数据报表：查看"
        );
        assert_eq!(pattern_label("*.read", Locale::ZhCn), "所有模块：查看");
        assert_eq!(
            pattern_label("promotion.*", Locale::En),
            "Promotion (all permissions)"
        );
        assert_eq!(pattern_label("nope.fly", Locale::ZhCn), "nope.fly");
        // Every action a `*.<action>` pattern may name has a name.
        for a in ACTIONS {
            assert_ne!(
                pattern_label(&format!("*.{a}"), Locale::En),
                format!("*.{a}")
            );
        }
    }

    #[test]
    fn menu_groups_sort_and_items_interleave() {
        const A: &[MenuItem] = &[
            MenuItem {
                group: &groups::GOODS,
                rank: 20,
                key: "b",
                href: "/b",
                permission: None,
            },
            MenuItem {
                group: &groups::HOME,
                rank: 10,
                key: "h",
                href: "/",
                permission: None,
            },
        ];
        const B: &[MenuItem] = &[MenuItem {
            group: &groups::GOODS,
            rank: 10,
            key: "a",
            href: "/a",
            permission: None,
        }];
        let r = Registry::new(&[A, B], &[], &[]);
        let keys: Vec<(&str, Vec<&str>)> = r
            .menu
            .iter()
            .map(|(g, items)| (g.key, items.iter().map(|i| i.key).collect()))
            .collect();
        assert_eq!(
            keys,
            [("menu.home", vec!["h"]), ("menu.goods", vec!["a", "b"])]
        );
    }
}
