//! Staff (员工): a user account plus a profile, holding one primary
//! position and optionally others. Their permissions are the union of their
//! positions' roles and any role given directly (see access::principal).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::org::StaffStatus;
use weiops_core::paging::{PageInfo, PageRequest};

use crate::audit::{self, Actor, Change};
use crate::db::{Db, Tx, UniqueViolation, Where, like_pattern, now_ms};
use crate::error::FieldErrors;
use crate::identity::Principal;
use crate::identity::authority;
use crate::users::store::{self as users, NewUser, RoleRef};
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PositionRef {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub department_id: i64,
    pub department_name: String,
    pub is_primary: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Staff {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    /// The account: `active` or `disabled`.
    pub account_status: String,
    pub employee_no: Option<String>,
    pub wechat_id: String,
    /// `YYYY-MM-DD`.
    pub hire_date: Option<String>,
    /// `on_job`, `on_leave` or `left`.
    #[schema(value_type = String)]
    pub status: StaffStatus,
    pub left_date: Option<String>,
    pub notes: String,
    /// Primary first.
    pub positions: Vec<PositionRef>,
    /// Roles given directly (besides those of the positions).
    pub roles: Vec<RoleRef>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Staff {
    pub fn primary(&self) -> Option<&PositionRef> {
        self.positions.iter().find(|p| p.is_primary)
    }

    pub fn others(&self) -> Vec<&PositionRef> {
        self.positions.iter().filter(|p| !p.is_primary).collect()
    }

    pub fn has_position(&self, id: &i64) -> bool {
        self.positions.iter().any(|p| p.id == *id)
    }

    pub fn has_role(&self, id: &i64) -> bool {
        self.roles.iter().any(|r| r.id == *id)
    }

    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({
            "display_name": self.display_name, "phone": self.phone, "employee_no": self.employee_no,
            "wechat_id": self.wechat_id, "hire_date": self.hire_date, "status": self.status,
            "positions": self.positions.iter().map(|p| (&p.code, p.is_primary)).collect::<Vec<_>>(),
            "roles": self.roles.iter().map(|r| &r.code).collect::<Vec<_>>(),
        })
    }
}

/// What a staff form, API request or import row sets.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct StaffInput {
    /// Make an existing account a staff member; otherwise `username` creates one.
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub username: String,
    /// For a new account; empty: generated, to be changed at first sign-in.
    #[serde(default)]
    pub password: Option<String>,
    pub display_name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub wechat_id: String,
    #[serde(default)]
    pub employee_no: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub hire_date: Option<String>,
    /// `on_job` (default), `on_leave` or `left`.
    #[serde(default)]
    pub status: Option<String>,
    pub primary_position_id: Option<i64>,
    #[serde(default)]
    pub other_position_ids: Vec<i64>,
    /// Roles given directly, besides those of the positions.
    #[serde(default)]
    pub role_ids: Vec<i64>,
    #[serde(default)]
    pub notes: String,
}

const COLUMNS: &str = "SELECT s.user_id, u.username, u.display_name, u.phone, u.status AS account_status, s.employee_no, \
     s.wechat_id, s.hire_date, s.status, s.left_date, s.notes, s.created_at, s.updated_at";
/// The department join serves the data-scope and department filters.
const FROM: &str = "FROM staff s JOIN users u ON u.id = s.user_id LEFT JOIN departments d ON d.id = u.department_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Staff, sqlx::Error> {
    Ok(Staff {
        user_id: r.try_get("user_id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        phone: r.try_get("phone")?,
        account_status: r.try_get("account_status")?,
        employee_no: r.try_get("employee_no")?,
        wechat_id: r.try_get("wechat_id")?,
        hire_date: r.try_get("hire_date")?,
        status: crate::db::parsed(r, "status", StaffStatus::parse)?,
        left_date: r.try_get("left_date")?,
        notes: r.try_get("notes")?,
        positions: Vec::new(),
        roles: Vec::new(),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

async fn attach(db: &Db, list: &mut [Staff]) -> Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    // The ids are integers read from the database, never user input.
    let ids = list
        .iter()
        .map(|s| s.user_id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let rows = crate::db::dynamic(format!(
        "SELECT sp.user_id, sp.is_primary, p.id, p.code, p.name, p.department_id, d.name AS department_name \
         FROM staff_positions sp JOIN positions p ON p.id = sp.position_id JOIN departments d ON d.id = p.department_id \
         WHERE sp.user_id IN ({ids}) ORDER BY sp.is_primary DESC, p.name"
    ))
    .fetch_all(&db.pool)
    .await?;
    for r in rows {
        let uid: i64 = r.try_get("user_id")?;
        if let Some(s) = list.iter_mut().find(|s| s.user_id == uid) {
            s.positions.push(PositionRef {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                department_id: r.try_get("department_id")?,
                department_name: r.try_get("department_name")?,
                is_primary: r.try_get::<i64, _>("is_primary")? != 0,
            });
        }
    }
    let rows = crate::db::dynamic(format!(
        "SELECT ur.user_id, r.id, r.code, r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
         WHERE ur.user_id IN ({ids}) ORDER BY r.name"
    ))
    .fetch_all(&db.pool)
    .await?;
    for r in rows {
        let uid: i64 = r.try_get("user_id")?;
        if let Some(s) = list.iter_mut().find(|s| s.user_id == uid) {
            s.roles.push(RoleRef {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                name: r.try_get("name")?,
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct StaffFilter {
    /// Username, name, phone, WeChat id or employee number.
    pub q: Option<String>,
    /// This department and below (by primary post).
    pub department_id: Option<i64>,
    pub position_id: Option<i64>,
    pub status: Option<String>,
}

pub const SORTS: &[(&str, &str)] = &[
    ("name", "u.display_name"),
    ("username", "u.username"),
    ("employee_no", "s.employee_no"),
    ("hire_date", "s.hire_date"),
    ("department", "d.path"),
];

async fn filter_where(db: &Db, viewer: &Principal, f: &StaffFilter) -> Result<Where> {
    let mut w = Where::new();
    users::scope_filter(&mut w, viewer);
    if let Some(q) = f.q.as_deref().filter(|s| !s.is_empty()) {
        let p = like_pattern(q);
        w.and(
            "(LOWER(u.username) LIKE LOWER(?) ESCAPE '\\' OR LOWER(u.display_name) LIKE LOWER(?) ESCAPE '\\' \
             OR u.phone LIKE ? ESCAPE '\\' OR LOWER(s.wechat_id) LIKE LOWER(?) ESCAPE '\\' OR s.employee_no LIKE ? ESCAPE '\\')",
            [p.clone().into(), p.clone().into(), p.clone().into(), p.clone().into(), p.into()],
        );
    }
    if let Some(dept) = f.department_id {
        let d = super::departments::get(db, dept).await?;
        w.and(
            "d.path LIKE ? ESCAPE '\\'",
            [crate::db::like_prefix(&d.path).into()],
        );
    }
    if let Some(pos) = f.position_id {
        w.and("EXISTS (SELECT 1 FROM staff_positions x WHERE x.user_id = s.user_id AND x.position_id = ?)", [pos.into()]);
    }
    if let Some(st) = f.status.as_deref().and_then(StaffStatus::parse) {
        w.and("s.status = ?", [st.as_str().into()]);
    }
    Ok(w)
}

/// A page of the staff `viewer` may see (their data scope applies).
pub async fn list(
    db: &Db,
    viewer: &Principal,
    f: &StaffFilter,
    order: &str,
    page: PageRequest,
) -> Result<(Vec<Staff>, PageInfo)> {
    let w = filter_where(db, viewer, f).await?;
    let order = format!("{order}, s.user_id");
    let (rows, info) = crate::db::fetch_page(db, COLUMNS, FROM, &w, &order, page).await?;
    let mut list = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    attach(db, &mut list).await?;
    Ok((list, info))
}

/// Every staff member matching the filter (exports), up to `limit`.
pub async fn list_all(
    db: &Db,
    viewer: &Principal,
    f: &StaffFilter,
    limit: i64,
) -> Result<Vec<Staff>> {
    let w = filter_where(db, viewer, f).await?;
    let sql = format!(
        "{COLUMNS} {FROM}{} ORDER BY d.path, u.display_name, s.user_id LIMIT {}",
        w.sql(),
        w.next(1)
    );
    let rows = w
        .bind(crate::db::dynamic(sql))
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    let mut list = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    attach(db, &mut list).await?;
    Ok(list)
}

/// One staff member, if `viewer` may see them (otherwise: not found).
pub async fn get_visible(db: &Db, viewer: &Principal, user_id: i64) -> Result<Staff> {
    let mut w = Where::new();
    users::scope_filter(&mut w, viewer);
    w.and("s.user_id = ?", [user_id.into()]);
    let sql = format!("{COLUMNS} {FROM}{}", w.sql());
    let row = w
        .bind(crate::db::dynamic(sql))
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    let mut list = vec![from_row(&row)?];
    attach(db, &mut list).await?;
    Ok(list.remove(0))
}

pub async fn get(db: &Db, user_id: i64) -> Result<Staff> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE s.user_id = $1"))
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    let mut list = vec![from_row(&row)?];
    attach(db, &mut list).await?;
    Ok(list.remove(0))
}

/// The profile part of an input, checked.
pub(crate) struct ValidProfile {
    pub employee_no: Option<String>,
    pub wechat_id: String,
    pub hire_date: Option<String>,
    pub status: StaffStatus,
    pub primary: i64,
    pub primary_department: i64,
    pub others: Vec<i64>,
    pub notes: String,
}

/// Checks the profile and positions; errors are added to `errors`.
pub(crate) async fn validate_profile(
    db: &Db,
    input: &StaffInput,
    errors: &mut FieldErrors,
) -> Result<Option<ValidProfile>> {
    let employee_no = input
        .employee_no
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if employee_no.as_ref().is_some_and(|n| n.chars().count() > 32) {
        errors.add("employee_no", "field.too_long");
    }
    let wechat_id = input.wechat_id.trim().to_string();
    if wechat_id.chars().count() > 64 {
        errors.add("wechat_id", "field.too_long");
    }
    let hire_date = match input
        .hire_date
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(d) => match d.parse::<jiff::civil::Date>() {
            Ok(date) => Some(date.to_string()),
            Err(_) => {
                errors.add("hire_date", "org.bad_date");
                None
            }
        },
        None => None,
    };
    let status = match input
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => StaffStatus::OnJob,
        Some(s) => StaffStatus::parse(s).unwrap_or_else(|| {
            errors.add("status", "field.invalid_choice");
            StaffStatus::OnJob
        }),
    };
    let notes = input.notes.trim().to_string();
    if notes.chars().count() > 1000 {
        errors.add("notes", "field.too_long");
    }
    let mut primary = None;
    match input.primary_position_id {
        None => errors.add("primary_position_id", "org.primary_required"),
        Some(pid) => match super::positions::get(db, pid).await {
            Ok(p) if p.is_active() => primary = Some((p.id, p.department_id)),
            Ok(_) | Err(Error::NotFound) => {
                errors.add("primary_position_id", "org.no_such_position")
            }
            Err(e) => return Err(e),
        },
    }
    let mut others = Vec::new();
    for pid in &input.other_position_ids {
        if Some(*pid) == input.primary_position_id || others.contains(pid) {
            continue;
        }
        match super::positions::get(db, *pid).await {
            Ok(p) if p.is_active() => others.push(p.id),
            Ok(_) | Err(Error::NotFound) => {
                errors.add("other_position_ids", "org.no_such_position")
            }
            Err(e) => return Err(e),
        }
    }
    Ok(primary.map(|(primary, primary_department)| ValidProfile {
        employee_no,
        wechat_id,
        hire_date,
        status,
        primary,
        primary_department,
        others,
        notes,
    }))
}

fn employee_no_taken() -> Error {
    let mut f = FieldErrors::default();
    f.add("employee_no", "org.employee_no_taken");
    Error::Validation(f)
}

/// The roles the given posts carry (active posts with a role).
async fn roles_of_posts(tx: &mut Tx<'_>, posts: &[i64]) -> Result<Vec<i64>> {
    let mut roles = Vec::new();
    for p in posts {
        let role: Option<i64> = sqlx::query_scalar(
            "SELECT role_id FROM positions WHERE id = $1 AND role_id IS NOT NULL AND status = 'active'",
        )
        .bind(p)
        .fetch_optional(&mut **tx)
        .await?
        .flatten();
        roles.extend(role);
    }
    Ok(roles)
}

/// Nobody gives, directly or through a post, a role holding more than
/// they hold, changes their own roles, or changes the roles or posts of
/// someone who holds more than they do (`authority::check_role_change`).
pub(crate) async fn check_grants(
    tx: &mut Tx<'_>,
    actor: &Actor,
    before: Option<(i64, &[i64], &[i64])>,
    roles: &[i64],
    profile: &ValidProfile,
) -> Result<()> {
    let posts: Vec<i64> = std::iter::once(profile.primary)
        .chain(profile.others.iter().copied())
        .collect();
    let (held_roles, held_posts) = before.map_or((&[][..], &[][..]), |(_, r, p)| (r, p));
    let same = |a: &[i64], b: &[i64]| a.len() == b.len() && a.iter().all(|x| b.contains(x));
    if same(roles, held_roles) && same(&posts, held_posts) {
        return Ok(());
    }
    let new_posts: Vec<i64> = posts
        .iter()
        .copied()
        .filter(|p| !held_posts.contains(p))
        .collect();
    let through_posts = roles_of_posts(tx, &new_posts).await?;
    let user = before.map(|(id, _, _)| id);
    authority::check_role_change(tx, actor, user, held_roles, roles, &through_posts).await
}

/// Writes the staff row, positions and the account's department and status.
pub(crate) async fn write_profile(
    tx: &mut Tx<'_>,
    user_id: i64,
    v: &ValidProfile,
    insert: bool,
) -> Result<()> {
    let now = now_ms();
    let left_date = (v.status == StaffStatus::Left).then(|| {
        weiops_core::time::beijing_date(now)
            .map(|d| d.to_string())
            .unwrap_or_default()
    });
    if insert {
        sqlx::query(
            "INSERT INTO staff (user_id, employee_no, wechat_id, hire_date, status, left_date, notes, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(user_id)
        .bind(&v.employee_no)
        .bind(&v.wechat_id)
        .bind(&v.hire_date)
        .bind(v.status.as_str())
        .bind(&left_date)
        .bind(&v.notes)
        .bind(now)
        .execute(&mut **tx)
        .await
        .on_unique(employee_no_taken())?;
    } else {
        sqlx::query(
            "UPDATE staff SET employee_no = $1, wechat_id = $2, hire_date = $3, status = $4, \
             left_date = CASE WHEN $4 = 'left' THEN COALESCE(left_date, $5) ELSE NULL END, notes = $6, updated_at = $7 \
             WHERE user_id = $8",
        )
        .bind(&v.employee_no)
        .bind(&v.wechat_id)
        .bind(&v.hire_date)
        .bind(v.status.as_str())
        .bind(&left_date)
        .bind(&v.notes)
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await
        .on_unique(employee_no_taken())?;
    }
    sqlx::query("DELETE FROM staff_positions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO staff_positions (user_id, position_id, is_primary) VALUES ($1, $2, 1)",
    )
    .bind(user_id)
    .bind(v.primary)
    .execute(&mut **tx)
    .await?;
    for p in &v.others {
        sqlx::query(
            "INSERT INTO staff_positions (user_id, position_id, is_primary) VALUES ($1, $2, 0)",
        )
        .bind(user_id)
        .bind(p)
        .execute(&mut **tx)
        .await?;
    }
    // Leaving disables the account at once and ends its sessions; coming
    // back enables it again.
    let account = weiops_core::accounts::UserStatus::active_if(v.status.account_active()).as_str();
    sqlx::query("UPDATE users SET department_id = $1, status = $2, updated_at = $3 WHERE id = $4")
        .bind(v.primary_department)
        .bind(account)
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    if !v.status.account_active() {
        sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Creates a staff member (and, unless `user_id` names an existing account,
/// their account). Returns the user id and a generated password, if any.
#[tracing::instrument(skip(db, actor, input))]
pub async fn create(db: &Db, actor: &Actor, input: &StaffInput) -> Result<(i64, Option<String>)> {
    let mut errors = FieldErrors::default();
    let existing = match input.user_id {
        Some(uid) => match users::get(db, uid).await {
            Ok(u) => {
                if sqlx::query("SELECT user_id FROM staff WHERE user_id = $1")
                    .bind(uid)
                    .fetch_optional(&db.pool)
                    .await?
                    .is_some()
                {
                    errors.add("user_id", "org.already_staff");
                }
                Some(u)
            }
            Err(Error::NotFound) => {
                errors.add("user_id", "org.no_such_user");
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    let profile = validate_profile(db, input, &mut errors).await?;
    let prepared = if input.user_id.is_none() {
        let new = NewUser {
            username: input.username.clone(),
            display_name: input.display_name.clone(),
            phone: input.phone.clone(),
            password: input.password.clone(),
            role_ids: input.role_ids.clone(),
        };
        Some(users::prepare(db, &new, &mut errors).await?)
    } else {
        errors.into_result()?;
        None
    };
    let profile = profile.ok_or_else(|| {
        let mut f = FieldErrors::default();
        f.add("primary_position_id", "org.primary_required");
        Error::Validation(f)
    })?;
    let mut tx = db.begin_write().await?;
    let user_id = match (&prepared, &existing) {
        (Some(p), _) => users::insert(&mut tx, actor, p).await?,
        (None, Some(u)) => u.id,
        (None, None) => return Err(Error::NotFound),
    };
    check_grants(&mut tx, actor, None, &input.role_ids, &profile).await?;
    write_profile(&mut tx, user_id, &profile, true).await?;
    let name = prepared
        .as_ref()
        .map(|p| p.display_name.clone())
        .or(existing.map(|u| u.display_name))
        .unwrap_or_default();
    audit::record(
        &mut tx,
        actor,
        Change::new("staff.create", "staff", user_id).summary(name).after(serde_json::json!({
            "employee_no": profile.employee_no, "wechat_id": profile.wechat_id, "hire_date": profile.hire_date,
            "status": profile.status.as_str(), "primary_position_id": profile.primary, "other_position_ids": profile.others,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok((user_id, prepared.and_then(|p| p.generated)))
}

/// Updates the account's name and phone, the profile, the positions and
/// the directly given roles.
#[tracing::instrument(skip(db, actor, input))]
pub async fn update(db: &Db, actor: &Actor, user_id: i64, input: &StaffInput) -> Result<()> {
    let before = get(db, user_id).await?;
    let mut errors = FieldErrors::default();
    let display_name = weiops_core::accounts::normalize_display_name(&input.display_name)
        .map_err(|e| errors.invalid("display_name", e))
        .ok();
    let phone = weiops_core::accounts::normalize_phone(input.phone.as_deref().unwrap_or(""))
        .map_err(|e| errors.invalid("phone", e))
        .ok()
        .flatten();
    if phone.is_some() && !users::unique_phone(db, &phone, Some(user_id)).await? {
        errors.add("phone", "user.phone_taken");
    }
    for r in &input.role_ids {
        if sqlx::query("SELECT id FROM roles WHERE id = $1")
            .bind(r)
            .fetch_optional(&db.pool)
            .await?
            .is_none()
        {
            errors.add("role_ids", "user.unknown_role");
        }
    }
    let profile = validate_profile(db, input, &mut errors).await?;
    if !profile.as_ref().is_some_and(|p| p.status.account_active())
        && actor.user_id == Some(user_id)
    {
        errors.add("status", "user.cannot_disable_self");
    }
    errors.into_result()?;
    let Some(profile) = profile else {
        return Err(Error::NotFound);
    };
    let mut tx = db.begin_write().await?;
    let was_admin = before
        .roles
        .iter()
        .any(|r| r.code == crate::identity::ADMIN_ROLE);
    let keeps_admin = input.role_ids.iter().any(|id| {
        before
            .roles
            .iter()
            .any(|r| r.id == *id && r.code == crate::identity::ADMIN_ROLE)
    });
    if was_admin
        && (!keeps_admin || !profile.status.account_active())
        && users::is_last_active_admin(&mut tx, user_id).await?
    {
        return Err(Error::Refused("user.last_admin"));
    }
    sqlx::query("UPDATE users SET display_name = $1, phone = $2 WHERE id = $3")
        .bind(display_name.unwrap_or_default())
        .bind(&phone)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    let held_roles: Vec<i64> = before.roles.iter().map(|r| r.id).collect();
    let held_posts: Vec<i64> = before.positions.iter().map(|p| p.id).collect();
    check_grants(
        &mut tx,
        actor,
        Some((user_id, &held_roles, &held_posts)),
        &input.role_ids,
        &profile,
    )
    .await?;
    users::write_roles(&mut tx, user_id, &input.role_ids).await?;
    write_profile(&mut tx, user_id, &profile, false).await?;
    let after = serde_json::json!({
        "display_name": input.display_name.trim(), "phone": phone, "employee_no": profile.employee_no,
        "wechat_id": profile.wechat_id, "hire_date": profile.hire_date, "status": profile.status.as_str(),
        "primary_position_id": profile.primary, "other_position_ids": profile.others, "role_ids": input.role_ids,
    });
    let action = if before.status != profile.status && profile.status == StaffStatus::Left {
        "staff.leave"
    } else {
        "staff.update"
    };
    audit::record(
        &mut tx,
        actor,
        Change::new(action, "staff", user_id)
            .summary(before.display_name.clone())
            .before(before.audit_json())
            .after(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Marks a staff member as having left: the account is disabled at once,
/// sessions and tokens end, positions and history are kept.
pub async fn leave(db: &Db, actor: &Actor, user_id: i64) -> Result<()> {
    let s = get(db, user_id).await?;
    let input = input_of(&s, Some(StaffStatus::Left));
    update(db, actor, user_id, &input).await
}

/// The input that reproduces a staff member as stored (for partial changes).
pub fn input_of(s: &Staff, status: Option<StaffStatus>) -> StaffInput {
    StaffInput {
        user_id: Some(s.user_id),
        username: s.username.clone(),
        password: None,
        display_name: s.display_name.clone(),
        phone: s.phone.clone(),
        wechat_id: s.wechat_id.clone(),
        employee_no: s.employee_no.clone(),
        hire_date: s.hire_date.clone(),
        status: Some(
            status
                .map(|st| st.as_str().to_string())
                .unwrap_or_else(|| s.status.as_str().to_string()),
        ),
        primary_position_id: s.primary().map(|p| p.id),
        other_position_ids: s.others().iter().map(|p| p.id).collect(),
        role_ids: s.roles.iter().map(|r| r.id).collect(),
        notes: s.notes.clone(),
    }
}

/// Staff counts by status (dashboard, charts).
pub async fn counts(db: &Db) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM staff GROUP BY status")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect()
}
