//! Every permission weiops knows, grouped by domain. A later module adds its
//! permissions here; the admin role holds them all automatically, and the
//! role editor lists them by group. Names are localised under `perm.<code>`
//! and groups under `perm_group.<group>`.

/// A permission as a type, so a handler states what it needs in its
/// signature: `Need<UsersWrite>`.
pub trait Permission: Send + Sync + 'static {
    const CODE: &'static str;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionDef {
    pub code: &'static str,
    pub group: &'static str,
}

macro_rules! permissions {
    ($( $ty:ident = $code:literal in $group:literal; )*) => {
        $(
            #[doc = concat!("The `", $code, "` permission.")]
            pub struct $ty;
            impl Permission for $ty {
                const CODE: &'static str = $code;
            }
        )*
        /// The whole catalogue, in display order.
        pub const PERMISSIONS: &[PermissionDef] = &[$(PermissionDef { code: $code, group: $group }),*];
    };
}

permissions! {
    UsersRead = "users.read" in "users";
    UsersWrite = "users.write" in "users";
    RolesRead = "roles.read" in "roles";
    RolesWrite = "roles.write" in "roles";
    AuditRead = "audit.read" in "audit";
    OrgRead = "org.read" in "org";
    OrgWrite = "org.write" in "org";
    AgentsRead = "agents.read" in "agents";
    AgentsWrite = "agents.write" in "agents";
    AgentsPii = "agents.pii" in "agents";
    AgentsApprove = "agents.approve" in "agents";
    AgentLevelsWrite = "agents.levels" in "agents";
    AgentsImport = "agents.import" in "agents";
    RewardsRead = "rewards.read" in "rewards";
    RewardsWrite = "rewards.write" in "rewards";
    FinanceRead = "finance.read" in "finance";
    FinanceWrite = "finance.write" in "finance";
    FinanceApprove = "finance.approve" in "finance";
    FinancePay = "finance.pay" in "finance";
    OrdersRead = "orders.read" in "orders";
    OrdersImport = "orders.import" in "orders";
    OrdersWrite = "orders.write" in "orders";
    ProductsRead = "products.read" in "products";
    ProductsWrite = "products.write" in "products";
    StockRead = "stock.read" in "stock";
    StockWrite = "stock.write" in "stock";
    ShippingWrite = "shipping.write" in "shipping";
    ServiceRead = "service.read" in "service";
    SettingsWrite = "settings.write" in "settings";
}

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

/// Whether `pattern` may be granted: `*`, `<domain>.*`, `*.<action>`, a
/// catalogue code, or a code of a known domain that a later module will
/// define (`orders.read` before the orders module exists).
pub fn is_grantable(pattern: &str) -> bool {
    if pattern == "*" || is_known(pattern) {
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

/// The catalogue codes a set of grants covers.
pub fn covered<'a>(grants: impl IntoIterator<Item = &'a str> + Clone) -> Vec<&'static str> {
    PERMISSIONS
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

pub fn is_known(code: &str) -> bool {
    PERMISSIONS.iter().any(|p| p.code == code)
}

/// Every domain in order with its permissions (empty for domains whose
/// module has not arrived yet).
pub fn grouped() -> Vec<(&'static str, Vec<&'static PermissionDef>)> {
    DOMAINS
        .iter()
        .map(|d| (*d, PERMISSIONS.iter().filter(|p| p.group == *d).collect()))
        .collect()
}

/// A grant pattern in words for people: `*` is "全部权限", `promotion.*`
/// "推广（全部权限）", `*.read` "所有模块：查看", a catalogue code its own
/// name, and a code a later module will define (`reports.read`) its domain
/// and action. Anything else (a stale code in a custom template) shows as it
/// is, so nothing is hidden.
pub fn pattern_label(pattern: &str, locale: crate::i18n::Locale) -> String {
    if pattern == "*" {
        return locale.t("perm_pattern.all");
    }
    if is_known(pattern) {
        return locale.t(&format!("perm.{pattern}"));
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
    fn codes_are_unique_and_dotted() {
        let mut codes: Vec<_> = PERMISSIONS.iter().map(|p| p.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), PERMISSIONS.len());
        assert!(PERMISSIONS.iter().all(|p| p.code.contains('.')));
        // The group is the domain: the code's first segment, a known domain.
        assert!(
            PERMISSIONS
                .iter()
                .all(|p| p.code.split('.').next() == Some(p.group) && DOMAINS.contains(&p.group))
        );
    }

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
    fn coverage_of_patterns() {
        assert_eq!(covered(["users.*"]), ["users.read", "users.write"]);
        assert_eq!(
            covered(["*.read"]).len(),
            PERMISSIONS
                .iter()
                .filter(|p| p.code.ends_with(".read"))
                .count()
        );
        assert_eq!(covered(["*"]).len(), PERMISSIONS.len());
    }

    #[test]
    fn patterns_in_words() {
        use crate::i18n::Locale;
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
}
