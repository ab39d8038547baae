//! The left menu as a user sees it. The domains declare their items (see
//! `crate::registry`) and `app.rs` collects them; here an item shows only to
//! users holding its permission, and a group with no visible item is hidden.

use crate::db::Db;
use crate::i18n::Locale;
use crate::identity::Principal;
use crate::registry::Registry;

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
pub fn visible(
    registry: &Registry,
    principal: &Principal,
    locale: Locale,
    path: &str,
) -> Vec<GroupView> {
    let active_href = registry
        .menu
        .iter()
        .flat_map(|(_, items)| items.iter())
        .filter(|i| i.href == path || (i.href != "/" && path.starts_with(i.href)))
        .max_by_key(|i| i.href.len())
        .map(|i| i.href);
    registry
        .menu
        .iter()
        .filter_map(|(g, items)| {
            let items: Vec<ItemView> = items
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
    registry: &Registry,
    principal: &Principal,
    menu: &mut [GroupView],
) -> crate::Result<()> {
    for badge in registry
        .badges
        .iter()
        .filter(|b| principal.can(b.permission))
    {
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
