//! Users in the database. Every change is audited in its own transaction.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::access::DataScope;
use weiops_core::accounts::{
    LoginGuard, UserStatus, check_password, normalize_display_name, normalize_phone,
    normalize_username,
};
use weiops_core::paging::{PageInfo, PageRequest};

use crate::audit::{self, Actor, Change};
use crate::db::{Db, Tx, UniqueViolation, Where, like_pattern, now_ms};
use crate::error::FieldErrors;
use crate::identity::{
    ADMIN_ROLE, Principal, authority, password, random_password, sessions, throttle,
};
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    /// `active` or `disabled`.
    #[schema(value_type = String)]
    pub status: UserStatus,
    pub must_change_password: bool,
    pub locale: Option<String>,
    pub department_id: Option<i64>,
    /// Locked after repeated wrong passwords, until this instant.
    pub locked_until: Option<i64>,
    pub last_login_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub roles: Vec<RoleRef>,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }

    pub fn is_locked(&self, now: &i64) -> bool {
        self.locked_until.is_some_and(|t| t > *now)
    }

    pub fn role_names(&self) -> String {
        self.roles
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn has_role(&self, id: &i64) -> bool {
        self.roles.iter().any(|r| r.id == *id)
    }

    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({
            "username": self.username, "display_name": self.display_name, "phone": self.phone,
            "status": self.status, "roles": self.roles.iter().map(|r| &r.code).collect::<Vec<_>>(),
        })
    }
}

const COLUMNS: &str = "SELECT u.id, u.username, u.display_name, u.phone, u.status, u.must_change_password, u.locale, \
     u.department_id, u.locked_until, u.last_login_at, u.created_at, u.updated_at";
/// The department join is there for the data-scope filter.
const FROM: &str = "FROM users u LEFT JOIN departments d ON d.id = u.department_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        phone: r.try_get("phone")?,
        status: crate::db::parsed(r, "status", UserStatus::parse)?,
        must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
        locale: r.try_get("locale")?,
        department_id: r.try_get("department_id")?,
        locked_until: r.try_get("locked_until")?,
        last_login_at: r.try_get("last_login_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        roles: Vec::new(),
    })
}

async fn attach_roles(db: &Db, users: &mut [User]) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    // The ids are integers we read ourselves, never user input.
    let sql = format!(
        "SELECT ur.user_id, r.id, r.code, r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
         WHERE ur.user_id IN ({}) ORDER BY r.builtin DESC, r.name",
        ids.join(",")
    );
    for row in crate::db::dynamic(sql).fetch_all(&db.pool).await? {
        let user_id: i64 = row.try_get("user_id")?;
        let role = RoleRef {
            id: row.try_get("id")?,
            code: row.try_get("code")?,
            name: row.try_get("name")?,
        };
        if let Some(u) = users.iter_mut().find(|u| u.id == user_id) {
            u.roles.push(role);
        }
    }
    Ok(())
}

/// Restricts a user query to what `viewer` may see (see weiops_core::access).
pub(crate) fn scope_filter(w: &mut Where, viewer: &Principal) {
    match viewer.scope {
        DataScope::All => {}
        DataScope::Own => {
            w.and("u.id = ?", [viewer.user_id.into()]);
        }
        DataScope::DepartmentTree => match &viewer.department_path {
            Some(path) => {
                w.and(
                    "(u.id = ? OR d.path LIKE ?)",
                    [viewer.user_id.into(), format!("{path}%").into()],
                );
            }
            None => {
                w.and("u.id = ?", [viewer.user_id.into()]);
            }
        },
    }
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Username, name or phone (substring).
    pub q: Option<String>,
    pub status: Option<String>,
    pub role_id: Option<i64>,
}

pub const SORTS: &[(&str, &str)] = &[
    ("username", "u.username"),
    ("name", "u.display_name"),
    ("status", "u.status"),
    ("last_login", "u.last_login_at"),
    ("created", "u.created_at"),
];

fn filter_where(viewer: &Principal, f: &UserFilter) -> Where {
    let mut w = Where::new();
    scope_filter(&mut w, viewer);
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        let p = like_pattern(q);
        w.and(
            "(LOWER(u.username) LIKE LOWER(?) ESCAPE '\\' OR LOWER(u.display_name) LIKE LOWER(?) ESCAPE '\\' \
             OR u.phone LIKE ? ESCAPE '\\')",
            [p.clone().into(), p.clone().into(), p.into()],
        );
    }
    if let Some(s) = f.status.as_deref().and_then(UserStatus::parse) {
        w.and("u.status = ?", [s.as_str().into()]);
    }
    if let Some(r) = f.role_id {
        // Holders directly or through an active post, as the role list
        // counts them (principal::ROLES_JOIN).
        w.and(
            "(EXISTS (SELECT 1 FROM user_roles x WHERE x.user_id = u.id AND x.role_id = ?) \
             OR EXISTS (SELECT 1 FROM staff_positions xs JOIN positions xp ON xp.id = xs.position_id \
             WHERE xs.user_id = u.id AND xp.role_id = ? AND xp.status = 'active'))",
            [r.into(), r.into()],
        );
    }
    w
}

#[tracing::instrument(skip(db, viewer))]
pub async fn list(
    db: &Db,
    viewer: &Principal,
    f: &UserFilter,
    order: &str,
    page: PageRequest,
) -> Result<(Vec<User>, PageInfo)> {
    let w = filter_where(viewer, f);
    let order = format!("{order}, u.id");
    let (rows, info) = crate::db::fetch_page(db, COLUMNS, FROM, &w, &order, page).await?;
    let mut users = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    attach_roles(db, &mut users).await?;
    Ok((users, info))
}

/// Every user matching the filter (exports), up to `limit`.
pub async fn list_all(
    db: &Db,
    viewer: &Principal,
    f: &UserFilter,
    order: &str,
    limit: i64,
) -> Result<Vec<User>> {
    let w = filter_where(viewer, f);
    let sql = format!(
        "{COLUMNS} {FROM}{} ORDER BY {order}, u.id LIMIT {}",
        w.sql(),
        w.next(1)
    );
    let rows = w
        .bind(crate::db::dynamic(sql))
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    let mut users = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    attach_roles(db, &mut users).await?;
    Ok(users)
}

/// One user, if `viewer` may see them (otherwise: not found).
pub async fn get_visible(db: &Db, viewer: &Principal, id: i64) -> Result<User> {
    let mut w = Where::new();
    scope_filter(&mut w, viewer);
    w.and("u.id = ?", [id.into()]);
    let sql = format!("{COLUMNS} {FROM}{}", w.sql());
    let row = w
        .bind(crate::db::dynamic(sql))
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    let mut users = vec![from_row(&row)?];
    attach_roles(db, &mut users).await?;
    Ok(users.remove(0))
}

pub async fn get(db: &Db, id: i64) -> Result<User> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    let mut users = vec![from_row(&row)?];
    attach_roles(db, &mut users).await?;
    Ok(users.remove(0))
}

pub async fn find_by_username(db: &Db, username: &str) -> Result<Option<User>> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE u.username = $1"))
        .bind(username.trim().to_ascii_lowercase())
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(r) => {
            let mut users = vec![from_row(&r)?];
            attach_roles(db, &mut users).await?;
            Ok(Some(users.remove(0)))
        }
        None => Ok(None),
    }
}

pub async fn count(db: &Db) -> Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS total, CAST(COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) AS BIGINT) AS active FROM users",
    )
    .fetch_one(&db.pool)
    .await?;
    Ok((row.try_get("total")?, row.try_get("active")?))
}

/// A new account as a form or API request describes it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// Leave empty to generate one. Either way the user must change it at
    /// first sign-in: it was not chosen by them.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub role_ids: Vec<i64>,
}

/// Changes to an existing account's profile.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct UserUpdate {
    pub display_name: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// Replaces the user's roles when given.
    #[serde(default)]
    pub role_ids: Option<Vec<i64>>,
}

async fn check_roles_exist(db: &Db, role_ids: &[i64], errors: &mut FieldErrors) -> Result<()> {
    for id in role_ids {
        let found = sqlx::query("SELECT id FROM roles WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?;
        if found.is_none() {
            errors.add("role_ids", "user.unknown_role");
        }
    }
    Ok(())
}

fn taken(field: &str, key: &str) -> Error {
    let mut f = FieldErrors::default();
    f.add(field, key);
    Error::Validation(f)
}

pub(crate) async fn unique_phone(
    db: &Db,
    phone: &Option<String>,
    except: Option<i64>,
) -> Result<bool> {
    let Some(phone) = phone else { return Ok(true) };
    let row = sqlx::query("SELECT id FROM users WHERE phone = $1 AND id <> $2")
        .bind(phone)
        .bind(except.unwrap_or(-1))
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_none())
}

pub(crate) async fn write_roles(tx: &mut Tx<'_>, user_id: i64, role_ids: &[i64]) -> Result<()> {
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    let mut ids = role_ids.to_vec();
    ids.sort();
    ids.dedup();
    for r in ids {
        sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
            .bind(user_id)
            .bind(r)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Creates an account for someone else (an administrator's form, the API,
/// first start). Returns its id and, when none was given, the generated
/// password (shown once).
///
/// One rule for every password: one set by anybody but the account holder
/// (typed by an administrator, generated, reset, set by a staff import or
/// when staff are added to the organisation) must be changed at first
/// sign-in; only the holder's own change clears the mark.
#[tracing::instrument(skip(db, actor, input), fields(username = %input.username))]
pub async fn create(db: &Db, actor: &Actor, input: &NewUser) -> Result<(i64, Option<String>)> {
    let prepared = prepare(db, input, &mut FieldErrors::default()).await?;
    insert_alone(db, actor, prepared).await
}

/// Creates an account whose password its holder typed themself: the
/// command line's `user create --password-stdin` (an operator making their
/// own account at the server) and test fixtures. A generated password must
/// still be changed.
#[tracing::instrument(skip(db, actor, input), fields(username = %input.username))]
pub async fn create_own(db: &Db, actor: &Actor, input: &NewUser) -> Result<(i64, Option<String>)> {
    let mut prepared = prepare(db, input, &mut FieldErrors::default()).await?;
    prepared.must_change = prepared.generated.is_some();
    insert_alone(db, actor, prepared).await
}

async fn insert_alone(
    db: &Db,
    actor: &Actor,
    prepared: PreparedUser,
) -> Result<(i64, Option<String>)> {
    let mut tx = db.begin_write().await?;
    let id = insert(&mut tx, actor, &prepared).await?;
    tx.commit().await?;
    Ok((id, prepared.generated))
}

/// A new account checked and with its password hashed, ready to insert in
/// a caller's transaction (the staff module creates account and profile
/// together).
pub struct PreparedUser {
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    hash: String,
    /// The generated password (shown once), when none was given.
    pub generated: Option<String>,
    pub role_ids: Vec<i64>,
    /// Set unless the holder chose the password (see `create`).
    must_change: bool,
}

/// Validates `input`, adding to `errors` (which may already hold the
/// caller's own field errors); fails if any error was recorded.
pub async fn prepare(db: &Db, input: &NewUser, errors: &mut FieldErrors) -> Result<PreparedUser> {
    let checked = check_new(db, input, errors).await?;
    hash_new(checked).await
}

/// A new account that passed validation, before its password is hashed.
pub struct CheckedUser {
    username: String,
    display_name: String,
    phone: Option<String>,
    password: String,
    generated: Option<String>,
    role_ids: Vec<i64>,
}

/// Validation of a new account without the (deliberately slow) hashing,
/// so that an import checks every row before hashing any.
pub async fn check_new(db: &Db, input: &NewUser, errors: &mut FieldErrors) -> Result<CheckedUser> {
    let username = normalize_username(&input.username)
        .map_err(|e| errors.invalid("username", e))
        .ok();
    let display_name = normalize_display_name(&input.display_name)
        .map_err(|e| errors.invalid("display_name", e))
        .ok();
    let phone = normalize_phone(input.phone.as_deref().unwrap_or(""))
        .map_err(|e| errors.invalid("phone", e))
        .ok();
    let given = input.password.as_deref().filter(|p| !p.is_empty());
    if let (Some(p), Some(u)) = (given, username.as_deref())
        && let Err(e) = check_password(p, u)
    {
        errors.invalid("password", e);
    }
    check_roles_exist(db, &input.role_ids, errors).await?;
    if let Some(phone) = &phone
        && !unique_phone(db, phone, None).await?
    {
        errors.add("phone", "user.phone_taken");
    }
    if let Some(u) = &username
        && find_by_username(db, u).await?.is_some()
    {
        errors.add("username", "user.username_taken");
    }
    std::mem::take(errors).into_result()?;
    let generated = given.is_none().then(random_password);
    Ok(CheckedUser {
        username: username.unwrap_or_default(),
        display_name: display_name.unwrap_or_default(),
        phone: phone.flatten(),
        password: given
            .map(str::to_string)
            .or_else(|| generated.clone())
            .unwrap_or_default(),
        generated,
        role_ids: input.role_ids.clone(),
    })
}

pub async fn hash_new(c: CheckedUser) -> Result<PreparedUser> {
    Ok(PreparedUser {
        hash: password::hash(c.password).await?,
        username: c.username,
        display_name: c.display_name,
        phone: c.phone,
        generated: c.generated,
        role_ids: c.role_ids,
        must_change: true,
    })
}

/// Inserts a prepared account with its roles and the audit entry.
pub async fn insert(tx: &mut Tx<'_>, actor: &Actor, p: &PreparedUser) -> Result<i64> {
    let now = now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO users (username, display_name, phone, password_hash, must_change_password, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $6) RETURNING id",
    )
    .bind(&p.username)
    .bind(&p.display_name)
    .bind(&p.phone)
    .bind(&p.hash)
    .bind(i64::from(p.must_change))
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .on_unique(taken("username", "user.username_taken"))?
    .try_get("id")?;
    // Nobody gives a new account more than they hold themselves.
    authority::check_role_change(tx, actor, None, &[], &p.role_ids, &[]).await?;
    write_roles(tx, id, &p.role_ids).await?;
    let created = serde_json::json!({
        "username": p.username, "display_name": p.display_name, "phone": p.phone, "role_ids": p.role_ids,
        "must_change_password": p.must_change,
    });
    audit::record(
        tx,
        actor,
        Change::new("user.create", "user", id)
            .summary(format!("{} ({})", p.display_name, p.username))
            .after(created),
    )
    .await?;
    Ok(id)
}

/// Would removing admin from `user_id` (or disabling them) leave no active
/// administrator? weiops must always keep one.
pub(crate) async fn is_last_active_admin(tx: &mut Tx<'_>, user_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id \
         WHERE r.code = $1 AND r.builtin = 1 AND u.status = 'active' AND u.id <> $2",
    )
    .bind(ADMIN_ROLE)
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")?;
    Ok(n == 0)
}

#[tracing::instrument(skip(db, actor, input))]
pub async fn update(db: &Db, actor: &Actor, id: i64, input: &UserUpdate) -> Result<()> {
    let before = get(db, id).await?;
    let mut errors = FieldErrors::default();
    let display_name = normalize_display_name(&input.display_name)
        .map_err(|e| errors.invalid("display_name", e))
        .ok();
    let phone = normalize_phone(input.phone.as_deref().unwrap_or(""))
        .map_err(|e| errors.invalid("phone", e))
        .ok();
    if let Some(roles) = &input.role_ids {
        check_roles_exist(db, roles, &mut errors).await?;
    }
    if let Some(Some(p)) = &phone
        && !unique_phone(db, &Some(p.clone()), Some(id)).await?
    {
        errors.add("phone", "user.phone_taken");
    }
    errors.into_result()?;
    let (display_name, phone) = (display_name.unwrap_or_default(), phone.flatten());

    let mut tx = db.begin_write().await?;
    if let Some(roles) = &input.role_ids {
        let admin_id: Option<i64> =
            sqlx::query("SELECT id FROM roles WHERE code = $1 AND builtin = 1")
                .bind(ADMIN_ROLE)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| r.try_get("id"))
                .transpose()?;
        let loses_admin = admin_id.is_some_and(|a| before.has_role(&a) && !roles.contains(&a));
        if loses_admin && before.is_active() && is_last_active_admin(&mut tx, id).await? {
            return Err(Error::Refused("user.last_admin"));
        }
        let held: Vec<i64> = before.roles.iter().map(|r| r.id).collect();
        let changes = roles.len() != held.len() || roles.iter().any(|r| !held.contains(r));
        if changes {
            authority::check_role_change(&mut tx, actor, Some(id), &held, roles, &[]).await?;
        }
        write_roles(&mut tx, id, roles).await?;
    }
    sqlx::query("UPDATE users SET display_name = $1, phone = $2, updated_at = $3 WHERE id = $4")
        .bind(&display_name)
        .bind(&phone)
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await
        .on_unique(taken("phone", "user.phone_taken"))?;
    let after = serde_json::json!({
        "username": before.username, "display_name": display_name, "phone": phone, "status": before.status,
        "role_ids": input.role_ids.clone().unwrap_or_else(|| before.roles.iter().map(|r| r.id).collect()),
    });
    audit::record(
        &mut tx,
        actor,
        Change::new(
            if input.role_ids.is_some() {
                "user.update_roles"
            } else {
                "user.update"
            },
            "user",
            id,
        )
        .summary(format!("{display_name} ({})", before.username))
        .before(before.audit_json())
        .after(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Disables or re-enables an account. Disabling ends its sessions at once;
/// nobody disables themself or the last active administrator.
#[tracing::instrument(skip(db, actor))]
pub async fn set_active(db: &Db, actor: &Actor, id: i64, active: bool) -> Result<()> {
    let before = get(db, id).await?;
    if !active && actor.user_id == Some(id) {
        return Err(Error::Refused("user.cannot_disable_self"));
    }
    if before.is_active() == active {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    let target = authority::of_user(&mut tx, id).await?;
    authority::require_cover(&mut tx, actor, &target, "user.outranks_you").await?;
    let is_admin = before.roles.iter().any(|r| r.code == ADMIN_ROLE);
    if !active && is_admin && is_last_active_admin(&mut tx, id).await? {
        return Err(Error::Refused("user.last_admin"));
    }
    let status = UserStatus::active_if(active).as_str();
    let now = now_ms();
    sqlx::query("UPDATE users SET status = $1, failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if !active {
        sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change::new(
            if active {
                "user.enable"
            } else {
                "user.disable"
            },
            "user",
            id,
        )
        .summary(format!("{} ({})", before.display_name, before.username))
        .before(serde_json::json!({"status": before.status}))
        .after(serde_json::json!({"status": status})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Gives the user a new password, ends their sessions and lifts a lock.
/// Without `chosen`, the password is random and must be changed at next
/// sign-in (see `create`). `chosen` is only the command line's
/// `--password-stdin`, an operator at the server setting their own
/// password (a locked-out administrator): it stands. Returns the password
/// (shown once).
#[tracing::instrument(skip(db, actor, chosen))]
pub async fn reset_password(
    db: &Db,
    actor: &Actor,
    id: i64,
    chosen: Option<String>,
) -> Result<String> {
    let user = get(db, id).await?;
    if let Some(p) = &chosen
        && let Err(e) = check_password(p, &user.username)
    {
        let mut f = FieldErrors::default();
        f.invalid("password", e);
        return Err(Error::Validation(f));
    }
    let must_change = i64::from(chosen.is_none());
    let new_password = chosen.unwrap_or_else(random_password);
    let hash = password::hash(new_password.clone()).await?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    // Nobody takes over an account that holds more than they do.
    let target = authority::of_user(&mut tx, id).await?;
    authority::require_cover(&mut tx, actor, &target, "user.outranks_you").await?;
    sqlx::query(
        "UPDATE users SET password_hash = $1, must_change_password = $2, failed_logins = 0, locked_until = NULL, \
         updated_at = $3 WHERE id = $4",
    )
    .bind(&hash)
    .bind(must_change)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("user.reset_password", "user", id)
            .summary(format!("{} ({})", user.display_name, user.username)),
    )
    .await?;
    tx.commit().await?;
    Ok(new_password)
}

/// Sets a password chosen by the user themself, after checking the current
/// one. Other sessions end; the current one (if any) stays.
#[tracing::instrument(skip_all)]
pub async fn change_own_password(
    db: &Db,
    actor: &Actor,
    user_id: i64,
    current: &str,
    new: &str,
    confirm: &str,
    keep_session: Option<i64>,
) -> Result<()> {
    let row = sqlx::query("SELECT username, password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    let username: String = row.try_get("username")?;
    let stored: String = row.try_get("password_hash")?;
    let mut errors = FieldErrors::default();
    if current.is_empty() {
        errors.add("current", "field.required");
    } else if !password::verify(current.to_string(), stored).await? {
        errors.add("current", "account.current_wrong");
    }
    if let Err(e) = check_password(new, &username) {
        errors.invalid("new", e);
    } else if new == current {
        errors.add("new", "account.same_password");
    }
    if new != confirm {
        errors.add("confirm", "account.mismatch");
    }
    errors.into_result()?;
    let hash = password::hash(new.to_string()).await?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0, updated_at = $2 WHERE id = $3")
        .bind(&hash)
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3")
        .bind(now)
        .bind(user_id)
        .bind(keep_session.unwrap_or(-1))
        .execute(&mut **tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("user.change_password", "user", user_id).summary(username),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Saves the user's language preference.
pub async fn set_locale(db: &Db, user_id: i64, locale: &str) -> Result<()> {
    sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
        .bind(locale)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A successful sign-in.
pub struct SignedIn {
    pub user_id: i64,
    pub session_token: String,
    pub locale: Option<String>,
    pub must_change_password: bool,
}

/// Checks a username-or-phone and password, applying the lockout rule, and
/// opens a session. Every outcome that changes an account is audited.
#[tracing::instrument(skip(db, password_given, ip, user_agent))]
pub async fn sign_in(
    db: &Db,
    login: &str,
    password_given: &str,
    ip: &str,
    user_agent: &str,
    request_id: &str,
) -> Result<SignedIn> {
    let login = login.trim();
    let now = now_ms();
    let ip_key = format!("login:{ip}");
    if throttle::exhausted(db, &ip_key, throttle::FAILED_LOGINS_PER_IP, now).await? {
        return Err(Error::TooManyAttempts);
    }
    let by_phone = normalize_phone(login).ok().flatten();
    let row = sqlx::query(
        "SELECT id, username, password_hash, status, failed_logins, locked_until, locale, must_change_password \
         FROM users WHERE username = $1 OR (phone IS NOT NULL AND phone = $2)",
    )
    .bind(login.to_ascii_lowercase())
    .bind(by_phone.unwrap_or_default())
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        // Same work as for a real account: no timing hint that it exists.
        let _ = password::verify(password_given.to_string(), password::DUMMY_HASH.clone()).await?;
        throttle::hit(db, &ip_key, throttle::FAILED_LOGINS_PER_IP, now).await?;
        return Err(Error::InvalidCredentials);
    };
    let id: i64 = row.try_get("id")?;
    let username: String = row.try_get("username")?;
    let actor = Actor {
        user_id: Some(id),
        name: username.clone(),
        request_id: request_id.to_string(),
        ip: ip.to_string(),
    };
    let now = now_ms();
    let guard = LoginGuard {
        failed_logins: row.try_get("failed_logins")?,
        locked_until_ms: row.try_get("locked_until")?,
    };
    if guard.is_locked(now) {
        return Err(Error::AccountLocked);
    }
    let stored: String = row.try_get("password_hash")?;
    if !password::verify(password_given.to_string(), stored).await? {
        throttle::hit(db, &ip_key, throttle::FAILED_LOGINS_PER_IP, now).await?;
        let next = guard.after_failure(now);
        let mut tx = db.begin_write().await?;
        sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
            .bind(next.failed_logins)
            .bind(next.locked_until_ms)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        if next.is_locked(now) {
            audit::record(
                &mut tx,
                &actor,
                Change::new("user.lock", "user", id)
                    .summary(format!("{username}: 5 wrong passwords, locked 15 min")),
            )
            .await?;
        }
        tx.commit().await?;
        return Err(if next.is_locked(now) {
            Error::AccountLocked
        } else {
            Error::InvalidCredentials
        });
    }
    if crate::db::parsed(&row, "status", UserStatus::parse)? != UserStatus::Active {
        return Err(Error::AccountDisabled);
    }
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    audit::record(
        &mut tx,
        &actor,
        Change::new("session.login", "user", id).summary(username),
    )
    .await?;
    tx.commit().await?;
    let session_token = sessions::create(db, id, ip, user_agent).await?;
    Ok(SignedIn {
        user_id: id,
        session_token,
        locale: row.try_get("locale")?,
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
    })
}

/// On first start: when there is no user at all, creates `admin` with the
/// built-in admin role and a random password that must be changed at first
/// sign-in. Returns that password so the caller can print it once.
pub async fn bootstrap_admin(db: &Db) -> Result<Option<String>> {
    let any: Option<sqlx::any::AnyRow> = sqlx::query("SELECT id FROM users LIMIT 1")
        .fetch_optional(&db.pool)
        .await?;
    if any.is_some() {
        return Ok(None);
    }
    let admin_role: i64 = sqlx::query("SELECT id FROM roles WHERE code = $1 AND builtin = 1")
        .bind(ADMIN_ROLE)
        .fetch_one(&db.pool)
        .await?
        .try_get("id")?;
    let input = NewUser {
        username: "admin".into(),
        display_name: "系统管理员".into(),
        phone: None,
        password: None,
        role_ids: vec![admin_role],
    };
    match create(db, &Actor::system("weiops"), &input).await {
        Ok((_, password)) => Ok(password),
        // Another server created it at the same moment.
        Err(Error::Validation(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Display names of the given usernames (lists that recorded who acted by
/// username show the name people know); unknown usernames are left out.
pub async fn display_names(
    db: &Db,
    usernames: &[&str],
) -> Result<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    if usernames.is_empty() {
        return Ok(out);
    }
    let marks = (1..=usernames.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut q = crate::db::dynamic(format!(
        "SELECT username, display_name FROM users WHERE username IN ({marks})"
    ));
    for u in usernames {
        q = q.bind(u.to_string());
    }
    for r in q.fetch_all(&db.pool).await? {
        out.insert(r.try_get("username")?, r.try_get("display_name")?);
    }
    Ok(out)
}
