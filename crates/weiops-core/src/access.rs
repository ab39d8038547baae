//! Who may see which rows: data scope.
//!
//! A role grants permissions (what one may do) and a data scope (over which
//! records). A user's scope is the widest of their roles' scopes. Records
//! carry an owner (a user) and a department; departments are a tree stored
//! with a materialised path such as `/1/4/9/`, so "my department and below"
//! is a prefix test.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataScope {
    /// Only records the user owns (created, or is assigned to).
    Own,
    /// Records of the user's department and every department below it.
    DepartmentTree,
    /// Every record.
    All,
}

impl DataScope {
    pub const ALL_SCOPES: [DataScope; 3] =
        [DataScope::All, DataScope::DepartmentTree, DataScope::Own];

    pub fn as_str(self) -> &'static str {
        match self {
            DataScope::Own => "own",
            DataScope::DepartmentTree => "department_tree",
            DataScope::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<DataScope> {
        match s {
            "own" => Some(DataScope::Own),
            "department_tree" => Some(DataScope::DepartmentTree),
            "all" => Some(DataScope::All),
            _ => None,
        }
    }

    /// The widest scope among a user's roles; a user with no role sees only
    /// their own records.
    pub fn widest(scopes: impl IntoIterator<Item = DataScope>) -> DataScope {
        scopes.into_iter().max().unwrap_or(DataScope::Own)
    }
}

/// The person looking at data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer<'a> {
    pub user_id: i64,
    pub scope: DataScope,
    /// Materialised path of the viewer's department, e.g. `/1/4/`.
    pub department_path: Option<&'a str>,
}

/// Whose a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordOwner<'a> {
    pub user_id: Option<i64>,
    pub department_path: Option<&'a str>,
}

/// Whether `viewer` may see a record owned by `owner`. List queries apply the
/// same rule as an SQL filter; this function is the definition both follow.
pub fn may_see(viewer: &Viewer<'_>, owner: RecordOwner<'_>) -> bool {
    let own = owner.user_id == Some(viewer.user_id);
    match viewer.scope {
        DataScope::All => true,
        DataScope::Own => own,
        DataScope::DepartmentTree => {
            own || match (viewer.department_path, owner.department_path) {
                (Some(mine), Some(theirs)) => theirs.starts_with(mine),
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(scope: DataScope, path: Option<&str>) -> Viewer<'_> {
        Viewer {
            user_id: 7,
            scope,
            department_path: path,
        }
    }

    #[test]
    fn widest_scope_wins_and_no_role_means_own() {
        assert_eq!(
            DataScope::widest([DataScope::Own, DataScope::All]),
            DataScope::All
        );
        assert_eq!(
            DataScope::widest([DataScope::Own, DataScope::DepartmentTree]),
            DataScope::DepartmentTree
        );
        assert_eq!(DataScope::widest([]), DataScope::Own);
    }

    #[test]
    fn department_tree_is_a_path_prefix() {
        let v = viewer(DataScope::DepartmentTree, Some("/1/4/"));
        let below = RecordOwner {
            user_id: Some(9),
            department_path: Some("/1/4/9/"),
        };
        let same = RecordOwner {
            user_id: Some(9),
            department_path: Some("/1/4/"),
        };
        let sibling = RecordOwner {
            user_id: Some(9),
            department_path: Some("/1/44/"),
        };
        let above = RecordOwner {
            user_id: Some(9),
            department_path: Some("/1/"),
        };
        assert!(may_see(&v, below));
        assert!(may_see(&v, same));
        assert!(!may_see(&v, sibling), "/1/44/ is not below /1/4/");
        assert!(!may_see(&v, above));
    }

    #[test]
    fn own_records_are_always_visible() {
        let mine = RecordOwner {
            user_id: Some(7),
            department_path: None,
        };
        let theirs = RecordOwner {
            user_id: Some(8),
            department_path: None,
        };
        for scope in DataScope::ALL_SCOPES {
            assert!(may_see(&viewer(scope, None), mine));
        }
        assert!(!may_see(&viewer(DataScope::Own, Some("/1/")), theirs));
        assert!(may_see(&viewer(DataScope::All, None), theirs));
        assert!(!may_see(&viewer(DataScope::DepartmentTree, None), theirs));
    }

    #[test]
    fn scope_names_round_trip() {
        for s in DataScope::ALL_SCOPES {
            assert_eq!(DataScope::parse(s.as_str()), Some(s));
        }
        assert_eq!(DataScope::parse("everything"), None);
    }
}

/// Whether a holder of `holder` grants covers every grant in `wanted`:
/// the rule that stops anyone from handing out more than they hold
/// (giving a role, putting a role on a post, or acting on a user who holds
/// more). A grant is covered by an equal grant, by `*`, and a code
/// (`orders.read`) also by `orders.*` or `*.read`; a pattern (`orders.*`,
/// `*.read`) only by itself or `*`, since it reaches codes that modules
/// add later. Administrators are covered only by administrators.
pub fn grants_cover(holder: &Grants<'_>, wanted: &Grants<'_>) -> bool {
    if holder.admin {
        return true;
    }
    if wanted.admin {
        return false;
    }
    wanted.grants.iter().all(|w| {
        holder.grants.iter().any(|h| {
            *h == "*" || h == w || (!w.contains('*') && crate::org::permission_matches(h, w))
        })
    })
}

/// A set of grants as held by a user or a set of roles.
#[derive(Debug, Clone, Copy)]
pub struct Grants<'a> {
    /// Holds the built-in administrator role.
    pub admin: bool,
    pub grants: &'a [String],
}

#[cfg(test)]
mod cover_tests {
    use super::*;

    fn g(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn h(v: &[String]) -> Grants<'_> {
        Grants {
            admin: false,
            grants: v,
        }
    }

    #[test]
    fn nobody_hands_out_more_than_they_hold() {
        let users_write = g(&["users.read", "users.write"]);
        let admin_like = g(&["*"]);
        let finance = g(&["finance.*"]);
        // A user manager cannot give out the admin role or finance.
        assert!(!grants_cover(
            &h(&users_write),
            &Grants {
                admin: true,
                grants: &[]
            }
        ));
        assert!(!grants_cover(&h(&users_write), &h(&finance)));
        // Equal or narrower grants are fine; patterns cover codes.
        assert!(grants_cover(&h(&users_write), &h(&g(&["users.read"]))));
        assert!(grants_cover(&h(&finance), &h(&g(&["finance.pay"]))));
        // A pattern is covered only by itself or `*`: `*.read` reaches
        // modules added later.
        assert!(!grants_cover(&h(&finance), &h(&g(&["*.read"]))));
        assert!(grants_cover(&h(&admin_like), &h(&g(&["*.read"]))));
        // `*` is not the admin role.
        assert!(!grants_cover(
            &h(&admin_like),
            &Grants {
                admin: true,
                grants: &[]
            }
        ));
        // The admin role covers everything.
        assert!(grants_cover(
            &Grants {
                admin: true,
                grants: &[]
            },
            &Grants {
                admin: true,
                grants: &[]
            }
        ));
    }
}
