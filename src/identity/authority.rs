//! What a user may hand out: the grants they hold, compared with what a
//! change would give (a role, a post with a role) or touch (a user who
//! holds more). The rule itself is `weiops_core::access::grants_cover`;
//! here the grants are read from the database, in the transaction of the
//! change, so that every path (page, API, command line) meets the same
//! check inside the store.

use sqlx::Row;
use weiops_core::access::{Grants, grants_cover};

use super::ADMIN_ROLE;
use super::principal::{ROLES_COLUMNS, ROLES_JOIN};
use crate::audit::Actor;
use crate::{Error, Result};

/// The grants of a user, of a set of roles, or of the system itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authority {
    /// Holds the built-in administrator role.
    pub admin: bool,
    pub grants: Vec<String>,
}

impl Authority {
    /// The command line and the server's own jobs: whoever runs them runs
    /// the server, so they may do anything.
    pub fn system() -> Authority {
        Authority {
            admin: true,
            grants: Vec::new(),
        }
    }

    fn grants(&self) -> Grants<'_> {
        Grants {
            admin: self.admin,
            grants: &self.grants,
        }
    }

    /// Whether this authority holds everything `other` holds.
    pub fn covers(&self, other: &Authority) -> bool {
        grants_cover(&self.grants(), &other.grants())
    }

    fn from_rows(rows: &[sqlx::any::AnyRow]) -> Result<Authority> {
        let mut a = Authority::default();
        for row in rows {
            let Some(code) = row.try_get::<Option<String>, _>("role_code")? else {
                continue;
            };
            if row.try_get::<i64, _>("builtin")? != 0 && code == ADMIN_ROLE {
                a.admin = true;
            }
            if let Some(p) = row.try_get::<Option<String>, _>("permission")?
                && !a.grants.contains(&p)
            {
                a.grants.push(p);
            }
        }
        Ok(a)
    }
}

/// The grants `user_id` holds, directly and through active posts.
pub async fn of_user(conn: &mut sqlx::AnyConnection, user_id: i64) -> Result<Authority> {
    let rows = crate::db::dynamic(format!(
        "SELECT {ROLES_COLUMNS} FROM users u {ROLES_JOIN} WHERE u.id = $1"
    ))
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    Authority::from_rows(&rows)
}

/// The grants of the person behind `actor`; the system's for the command
/// line and jobs (no user).
pub async fn of_actor(conn: &mut sqlx::AnyConnection, actor: &Actor) -> Result<Authority> {
    match actor.user_id {
        Some(id) => of_user(conn, id).await,
        None => Ok(Authority::system()),
    }
}

/// The grants a set of roles gives.
pub async fn of_roles(conn: &mut sqlx::AnyConnection, role_ids: &[i64]) -> Result<Authority> {
    if role_ids.is_empty() {
        return Ok(Authority::default());
    }
    let marks: Vec<String> = (1..=role_ids.len()).map(|i| format!("${i}")).collect();
    let mut q = crate::db::dynamic(format!(
        "SELECT r.code AS role_code, r.builtin, rp.permission FROM roles r \
         LEFT JOIN role_permissions rp ON rp.role_id = r.id WHERE r.id IN ({})",
        marks.join(", ")
    ));
    for id in role_ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    Authority::from_rows(&rows)
}

/// The rule for a change of who holds which roles: `user` (None for a new
/// account) goes from the roles `held` to `roles`, and gets
/// `through_posts` (the roles of posts newly given). Nobody changes their
/// own roles, touches the roles of someone holding more than they do, or
/// gives a role holding more.
pub async fn check_role_change(
    conn: &mut sqlx::AnyConnection,
    actor: &Actor,
    user: Option<i64>,
    held: &[i64],
    roles: &[i64],
    through_posts: &[i64],
) -> Result<()> {
    if let Some(id) = user {
        let roles_change = roles.len() != held.len() || roles.iter().any(|r| !held.contains(r));
        if actor.user_id == Some(id) && roles_change {
            return Err(Error::Denied("user.cannot_change_own_roles"));
        }
        let target = of_user(conn, id).await?;
        require_cover(conn, actor, &target, "user.outranks_you").await?;
    }
    let mut given: Vec<i64> = roles
        .iter()
        .copied()
        .filter(|r| !held.contains(r))
        .collect();
    given.extend_from_slice(through_posts);
    let given = of_roles(conn, &given).await?;
    require_cover(conn, actor, &given, "role.grant_beyond_own").await
}

/// Refuses (403, `key`) unless `actor` holds everything in `wanted`.
pub async fn require_cover(
    conn: &mut sqlx::AnyConnection,
    actor: &Actor,
    wanted: &Authority,
    key: &'static str,
) -> Result<()> {
    if of_actor(conn, actor).await?.covers(wanted) {
        Ok(())
    } else {
        Err(Error::Denied(key))
    }
}
