//! Who is making a request, and what they may do.

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sqlx::Row;
use weiops_core::access::{DataScope, Viewer};
use weiops_core::accounts::UserStatus;

use super::credentials::{self, SESSION_COOKIE};
use crate::audit::Actor;
use crate::db::now_ms;
use crate::i18n::Locale;
use crate::registry::Permission;
use crate::state::{AppState, RequestMeta};
use crate::{Error, Result};

/// How the request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVia {
    Session(i64),
    Token(i64),
}

/// A signed-in staff member, with their effective permissions and scope.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    pub permissions: BTreeSet<String>,
    pub scope: DataScope,
    pub department_path: Option<String>,
    pub locale: Option<Locale>,
    pub via: AuthVia,
    pub meta: RequestMeta,
}

impl Principal {
    /// Whether any grant (an exact code or a pattern such as `finance.*`)
    /// covers `permission`.
    pub fn can(&self, permission: &str) -> bool {
        self.is_admin
            || self
                .permissions
                .iter()
                .any(|g| weiops_core::org::permission_matches(g, permission))
    }

    /// Whether the principal holds permission `P`: the typed form of
    /// [`Principal::can`], so that a renamed permission breaks the build.
    pub fn has<P: Permission>(&self) -> bool {
        self.can(P::CODE)
    }

    pub fn require(&self, permission: &'static str) -> Result<()> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(Error::MissingPermission(permission))
        }
    }

    pub fn viewer(&self) -> Viewer<'_> {
        Viewer {
            user_id: self.user_id,
            scope: self.scope,
            department_path: self.department_path.as_deref(),
        }
    }

    /// The audit trail's "who", with this request's id and address.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user_id),
            name: self.username.clone(),
            request_id: self.meta.request_id.clone(),
            ip: self.meta.ip.clone(),
        }
    }
}

/// Paths a user who must change their password may still open.
fn allowed_before_password_change(path: &str) -> bool {
    matches!(
        path,
        "/account/password" | "/logout" | "/lang" | "/api/v1/me"
    )
}

/// The user row behind a session or token, as the lookups return it.
pub struct UserAuthRow {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub status: UserStatus,
    pub must_change_password: bool,
    pub department_path: Option<String>,
    pub locale: Option<String>,
}

impl UserAuthRow {
    pub fn from_row(row: &sqlx::any::AnyRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(UserAuthRow {
            user_id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            status: crate::db::parsed(row, "status", UserStatus::parse)?,
            must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
            department_path: row.try_get("department_path")?,
            locale: row.try_get("locale")?,
        })
    }
}

/// The roles of a user, given directly or by an active position held,
/// with their permissions: `roles r` and `role_permissions rp` joined to
/// the user `u` (a row with `r` NULL when there are none). A move to
/// another post changes permissions on the next request.
pub(crate) const ROLES_JOIN: &str = "LEFT JOIN roles r ON r.id IN (\
     SELECT ur.role_id FROM user_roles ur WHERE ur.user_id = u.id \
     UNION SELECT p.role_id FROM staff_positions sp JOIN positions p ON p.id = sp.position_id \
     WHERE sp.user_id = u.id AND p.role_id IS NOT NULL AND p.status = 'active') \
     LEFT JOIN role_permissions rp ON rp.role_id = r.id";

/// The columns of [`ROLES_JOIN`] that [`principal_from`] reads.
pub(crate) const ROLES_COLUMNS: &str =
    "r.code AS role_code, r.data_scope, r.builtin, rp.permission";

async fn load(
    state: &AppState,
    user: UserAuthRow,
    via: AuthVia,
    meta: RequestMeta,
) -> Result<Principal> {
    let rows = crate::db::dynamic(format!(
        "SELECT {ROLES_COLUMNS} FROM users u {ROLES_JOIN} WHERE u.id = $1"
    ))
    .bind(user.user_id)
    .fetch_all(&state.db.pool)
    .await?;
    principal_from(user, &rows, via, meta)
}

/// The principal of `user` from the rows of [`ROLES_COLUMNS`].
fn principal_from(
    user: UserAuthRow,
    rows: &[sqlx::any::AnyRow],
    via: AuthVia,
    meta: RequestMeta,
) -> Result<Principal> {
    let mut permissions = BTreeSet::new();
    let mut scopes = Vec::new();
    let mut is_admin = false;
    for row in rows {
        let Some(code) = row.try_get::<Option<String>, _>("role_code")? else {
            continue;
        };
        let builtin: i64 = row.try_get("builtin")?;
        if builtin != 0 && code == super::ADMIN_ROLE {
            is_admin = true;
        }
        let scope: String = row.try_get("data_scope")?;
        scopes.push(DataScope::parse(&scope).unwrap_or(DataScope::Own));
        if let Some(p) = row.try_get::<Option<String>, _>("permission")? {
            permissions.insert(p);
        }
    }
    Ok(Principal {
        user_id: user.user_id,
        username: user.username,
        display_name: user.display_name,
        is_admin,
        permissions,
        scope: if is_admin {
            DataScope::All
        } else {
            DataScope::widest(scopes)
        },
        department_path: user.department_path,
        locale: user.locale.as_deref().and_then(Locale::parse),
        via,
        meta,
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let meta = RequestMeta::from_parts(parts, state);
        let now = now_ms();
        let principal = if let Some(token) = bearer_token(parts) {
            // The user and their roles in one read: API clients pay it on
            // every request.
            let (token_id, user, roles) = credentials::token_user(&state.db, &token, now)
                .await?
                .ok_or(Error::BadToken)?;
            principal_from(user, &roles, AuthVia::Token(token_id), meta)?
        } else if let Some(token) = crate::cookies::cookie(&parts.headers, SESSION_COOKIE) {
            let (session_id, user) =
                credentials::session_user(&state.db, &state.options.session_policy, &token, now)
                    .await?
                    .ok_or(Error::SessionExpired)?;
            if user.must_change_password && !allowed_before_password_change(parts.uri.path()) {
                return Err(Error::PasswordChangeRequired);
            }
            load(state, user, AuthVia::Session(session_id), meta).await?
        } else {
            return Err(Error::Unauthenticated);
        };
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

fn bearer_token(parts: &Parts) -> Option<String> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// A principal holding permission `P`; anything else is refused with 403
/// naming the missing permission. Pages and API handlers use the same type.
pub struct Need<P: Permission>(pub Principal, PhantomData<P>);

impl<P: Permission> Deref for Need<P> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<P: Permission> FromRequestParts<AppState> for Need<P> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let principal = Principal::from_request_parts(parts, state).await?;
        principal.require(P::CODE)?;
        Ok(Need(principal, PhantomData))
    }
}

/// `Option<Principal>`: signed in or not, for pages anyone may use.
impl axum::extract::OptionalFromRequestParts<AppState> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>> {
        match <Principal as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(p) => Ok(Some(p)),
            Err(
                Error::Unauthenticated
                | Error::SessionExpired
                | Error::BadToken
                | Error::PasswordChangeRequired,
            ) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
