//! Roles: named sets of permissions with a data scope.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::access::DataScope;
use weiops_core::paging::{PageInfo, PageRequest};

use crate::audit::{self, Actor, Change};
use crate::db::{Db, UniqueViolation, Where, like_pattern, now_ms};
use crate::error::FieldErrors;
use crate::identity::authority;
use crate::{Error, Result};

pub use crate::identity::ADMIN_ROLE;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Role {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub description: String,
    /// `all`, `department_tree` or `own`.
    pub data_scope: String,
    pub builtin: bool,
    /// Empty for the built-in admin role, which holds every permission.
    pub permissions: Vec<String>,
    pub user_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a role form or API request sets.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RoleInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub data_scope: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// A validated [`RoleInput`].
struct ValidRole {
    code: String,
    name: String,
    description: String,
    scope: DataScope,
    permissions: Vec<String>,
}

fn validate(input: &RoleInput) -> Result<ValidRole> {
    let mut errors = FieldErrors::default();
    let code = input.code.trim().to_ascii_lowercase();
    if code.is_empty() {
        errors.add("code", "field.required");
    } else if code.len() < 2 || code.len() > 32 {
        errors.add("code", "field.length_2_32");
    } else if !code.starts_with(|c: char| c.is_ascii_lowercase())
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        errors.add("code", "field.code_chars");
    }
    let name = input.name.trim().to_string();
    if name.is_empty() {
        errors.add("name", "field.required");
    } else if name.chars().count() > 64 {
        errors.add("name", "field.too_long");
    }
    let description = input.description.trim().to_string();
    if description.chars().count() > 500 {
        errors.add("description", "field.too_long");
    }
    let scope = DataScope::parse(input.data_scope.trim());
    if scope.is_none() {
        errors.add("data_scope", "field.invalid_choice");
    }
    let mut permissions: Vec<String> = input
        .permissions
        .iter()
        .map(|p| p.trim().to_string())
        .collect();
    permissions.sort();
    permissions.dedup();
    if permissions
        .iter()
        .any(|p| !crate::registry::is_grantable(p))
    {
        errors.add("permissions", "role.unknown_permission");
    }
    errors.into_result()?;
    Ok(ValidRole {
        code,
        name,
        description,
        scope: scope.unwrap_or(DataScope::Own),
        permissions,
    })
}

fn role_json(r: &ValidRole) -> serde_json::Value {
    serde_json::json!({
        "code": r.code, "name": r.name, "description": r.description,
        "data_scope": r.scope.as_str(), "permissions": r.permissions,
    })
}

fn existing_json(r: &Role) -> serde_json::Value {
    serde_json::json!({
        "code": r.code, "name": r.name, "description": r.description,
        "data_scope": r.data_scope, "permissions": r.permissions,
    })
}

async fn permissions_of(db: &Db, role_id: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT permission FROM role_permissions WHERE role_id = $1 ORDER BY permission",
    )
    .bind(role_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("permission"))
        .collect::<Result<Vec<String>, _>>()?)
}

/// `user_count` counts each person holding the role once, whether it was
/// given to them directly or comes with an active post they hold (the same
/// sources as `principal::ROLES_JOIN`).
const COLUMNS: &str = "SELECT r.id, r.code, r.name, r.description, r.data_scope, r.builtin, r.created_at, r.updated_at, \
     (SELECT COUNT(*) FROM users hu WHERE hu.id IN (SELECT ur.user_id FROM user_roles ur WHERE ur.role_id = r.id) \
      OR hu.id IN (SELECT sp.user_id FROM staff_positions sp JOIN positions p ON p.id = sp.position_id \
      WHERE p.role_id = r.id AND p.status = 'active')) AS user_count";
const FROM: &str = "FROM roles r";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Role, sqlx::Error> {
    Ok(Role {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        data_scope: r.try_get("data_scope")?,
        builtin: r.try_get::<i64, _>("builtin")? != 0,
        permissions: Vec::new(),
        user_count: r.try_get("user_count")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn get(db: &Db, id: i64) -> Result<Role> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    let mut role = from_row(&row)?;
    role.permissions = permissions_of(db, id).await?;
    Ok(role)
}

pub async fn find_by_code(db: &Db, code: &str) -> Result<Option<Role>> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE r.code = $1"))
        .bind(code.trim().to_ascii_lowercase())
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(row) => {
            let mut role = from_row(&row)?;
            role.permissions = permissions_of(db, role.id).await?;
            Ok(Some(role))
        }
        None => Ok(None),
    }
}

/// A page of roles matching `q` (code or name).
pub async fn list(
    db: &Db,
    q: Option<&str>,
    order: &str,
    page: PageRequest,
) -> Result<(Vec<Role>, PageInfo)> {
    let mut w = Where::new();
    if let Some(q) = q {
        w.and(
            "(LOWER(r.code) LIKE LOWER(?) ESCAPE '\\' OR LOWER(r.name) LIKE LOWER(?) ESCAPE '\\')",
            [like_pattern(q).into(), like_pattern(q).into()],
        );
    }
    let order = format!("{order}, r.id");
    let (rows, info) = crate::db::fetch_page(db, COLUMNS, FROM, &w, &order, page).await?;
    let mut roles = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    for r in &mut roles {
        r.permissions = permissions_of(db, r.id).await?;
    }
    Ok((roles, info))
}

/// Every role, by name (for pickers).
pub async fn all(db: &Db) -> Result<Vec<Role>> {
    let rows = crate::db::dynamic(format!("{COLUMNS} {FROM} ORDER BY r.builtin DESC, r.name"))
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?)
}

fn duplicate_code() -> Error {
    let mut f = FieldErrors::default();
    f.add("code", "role.code_taken");
    Error::Validation(f)
}

async fn write_permissions(
    tx: &mut crate::db::Tx<'_>,
    role_id: i64,
    permissions: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM role_permissions WHERE role_id = $1")
        .bind(role_id)
        .execute(&mut **tx)
        .await?;
    for p in permissions {
        sqlx::query("INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)")
            .bind(role_id)
            .bind(p)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Nobody adds to a role a grant they do not hold themselves: whoever
/// holds the role, now or later, would get it.
async fn grant_check(
    tx: &mut crate::db::Tx<'_>,
    actor: &Actor,
    permissions: &[String],
    held: &[String],
) -> Result<()> {
    let added = permissions
        .iter()
        .filter(|p| !held.contains(p))
        .cloned()
        .collect();
    let given = authority::Authority {
        admin: false,
        grants: added,
    };
    authority::require_cover(tx, actor, &given, "role.grant_beyond_own").await
}

#[tracing::instrument(skip(db, actor))]
pub async fn create(db: &Db, actor: &Actor, input: &RoleInput) -> Result<i64> {
    let v = validate(input)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO roles (code, name, description, data_scope, builtin, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id",
    )
    .bind(&v.code)
    .bind(&v.name)
    .bind(&v.description)
    .bind(v.scope.as_str())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .on_unique(duplicate_code())?
    .try_get("id")?;
    grant_check(&mut tx, actor, &v.permissions, &[]).await?;
    write_permissions(&mut tx, id, &v.permissions).await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("role.create", "role", id)
            .summary(format!("{} ({})", v.name, v.code))
            .after(role_json(&v)),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[tracing::instrument(skip(db, actor))]
pub async fn update(db: &Db, actor: &Actor, id: i64, input: &RoleInput) -> Result<()> {
    let before = get(db, id).await?;
    if before.builtin {
        return Err(Error::Refused("role.builtin_locked"));
    }
    let v = validate(input)?;
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE roles SET code = $1, name = $2, description = $3, data_scope = $4, updated_at = $5 WHERE id = $6")
        .bind(&v.code)
        .bind(&v.name)
        .bind(&v.description)
        .bind(v.scope.as_str())
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await
        .on_unique(duplicate_code())?;
    grant_check(&mut tx, actor, &v.permissions, &before.permissions).await?;
    write_permissions(&mut tx, id, &v.permissions).await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("role.update", "role", id)
            .summary(format!("{} ({})", v.name, v.code))
            .before(existing_json(&before))
            .after(role_json(&v)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a role nobody holds. The built-in role, roles in use and roles
/// a post grants are kept.
#[tracing::instrument(skip(db, actor))]
pub async fn delete(db: &Db, actor: &Actor, id: i64) -> Result<()> {
    let before = get(db, id).await?;
    if before.builtin {
        return Err(Error::Refused("role.builtin_locked"));
    }
    let mut tx = db.begin_write().await?;
    let in_use: i64 = sqlx::query("SELECT COUNT(*) AS n FROM user_roles WHERE role_id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    if in_use > 0 {
        return Err(Error::Conflict("role.in_use"));
    }
    // A post that grants the role (archived ones too: they may be restored)
    // would be left pointing at nothing.
    let posts: i64 = sqlx::query("SELECT COUNT(*) AS n FROM positions WHERE role_id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    if posts > 0 {
        return Err(Error::Conflict("role.granted_by_post"));
    }
    sqlx::query("DELETE FROM role_permissions WHERE role_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM roles WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("role.delete", "role", id)
            .summary(format!("{} ({})", before.name, before.code))
            .before(existing_json(&before)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
