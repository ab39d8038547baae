//! Departments: a tree with materialised paths, a head, a sort order.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::org::{department_path, is_within};

use super::{check_code, check_name};
use crate::audit::{self, Actor, Change};
use crate::db::{Db, Tx, UniqueViolation, now_ms};
use crate::error::FieldErrors;
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Department {
    pub id: i64,
    pub code: Option<String>,
    pub name: String,
    pub parent_id: Option<i64>,
    /// Materialised path, e.g. `/1/4/`.
    pub path: String,
    pub summary: String,
    pub head_user_id: Option<i64>,
    pub head_name: Option<String>,
    /// `active` or `archived`.
    pub status: String,
    pub sort_order: i64,
    pub template_id: Option<String>,
    /// Active positions in this department (not below it).
    pub position_count: i64,
    /// Staff whose primary post is in this department.
    pub staff_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Department {
    /// Nesting depth, 0 for a top-level department.
    pub fn depth(&self) -> usize {
        self.path.matches('/').count().saturating_sub(2)
    }

    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code, "name": self.name, "parent_id": self.parent_id, "summary": self.summary,
            "head_user_id": self.head_user_id, "sort_order": self.sort_order, "status": self.status,
        })
    }
}

/// What a department form or API request sets.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DepartmentInput {
    /// Optional stable code (templates use it to recognise their departments).
    #[serde(default)]
    pub code: Option<String>,
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<i64>,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub head_user_id: Option<i64>,
    #[serde(default)]
    pub sort_order: i64,
}

const COLUMNS: &str = "SELECT d.id, d.code, d.name, d.parent_id, d.path, d.summary, d.head_user_id, u.display_name AS head_name, \
     d.status, d.sort_order, d.template_id, d.created_at, d.updated_at, \
     (SELECT COUNT(*) FROM positions p WHERE p.department_id = d.id AND p.status = 'active') AS position_count, \
     (SELECT COUNT(*) FROM staff_positions sp JOIN positions p ON p.id = sp.position_id JOIN staff s ON s.user_id = sp.user_id \
      WHERE p.department_id = d.id AND sp.is_primary = 1 AND s.status <> 'left') AS staff_count \
     FROM departments d LEFT JOIN users u ON u.id = d.head_user_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Department, sqlx::Error> {
    Ok(Department {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        parent_id: r.try_get("parent_id")?,
        path: r.try_get("path")?,
        summary: r.try_get("summary")?,
        head_user_id: r.try_get("head_user_id")?,
        head_name: r.try_get("head_name")?,
        status: r.try_get("status")?,
        sort_order: r.try_get("sort_order")?,
        template_id: r.try_get("template_id")?,
        position_count: r.try_get("position_count")?,
        staff_count: r.try_get("staff_count")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Every department in tree order (parents before children, siblings by
/// sort order then name). Archived ones only when asked for.
pub async fn all(db: &Db, include_archived: bool) -> Result<Vec<Department>> {
    let filter = if include_archived {
        ""
    } else {
        " WHERE d.status = 'active'"
    };
    let rows = crate::db::dynamic(format!("{COLUMNS}{filter}"))
        .fetch_all(&db.pool)
        .await?;
    let list = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(tree_order(list))
}

/// Sorts into depth-first order: each department followed by its subtree.
pub fn tree_order(mut list: Vec<Department>) -> Vec<Department> {
    list.sort_by(|a, b| (a.sort_order, &a.name, a.id).cmp(&(b.sort_order, &b.name, b.id)));
    let ids: std::collections::HashSet<i64> = list.iter().map(|d| d.id).collect();
    let mut out = Vec::with_capacity(list.len());
    let mut taken = vec![false; list.len()];
    fn visit(
        parent: Option<i64>,
        list: &[Department],
        taken: &mut [bool],
        out: &mut Vec<Department>,
        roots: bool,
        ids: &std::collections::HashSet<i64>,
    ) {
        for i in 0..list.len() {
            let d = &list[i];
            let is_child = if roots {
                d.parent_id.is_none_or(|p| !ids.contains(&p))
            } else {
                d.parent_id == parent
            };
            if !taken[i] && is_child {
                taken[i] = true;
                out.push(d.clone());
                visit(Some(d.id), list, taken, out, false, ids);
            }
        }
    }
    visit(None, &list, &mut taken, &mut out, true, &ids);
    out
}

pub async fn get(db: &Db, id: i64) -> Result<Department> {
    let row = crate::db::dynamic(format!("{COLUMNS} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(from_row(&row)?)
}

pub async fn find_by_code(db: &Db, code: &str) -> Result<Option<Department>> {
    let row = crate::db::dynamic(format!("{COLUMNS} WHERE d.code = $1"))
        .bind(code)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

struct Valid {
    code: Option<String>,
    name: String,
    summary: String,
    parent: Option<Department>,
    head_user_id: Option<i64>,
    sort_order: i64,
}

async fn validate(db: &Db, input: &DepartmentInput, moving: Option<&Department>) -> Result<Valid> {
    let mut errors = FieldErrors::default();
    let code = input
        .code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| check_code(&mut errors, "code", c));
    let name = check_name(&mut errors, "name", &input.name, 64);
    let summary = input.summary.trim().to_string();
    if summary.chars().count() > 500 {
        errors.add("summary", "field.too_long");
    }
    let parent = match input.parent_id {
        Some(pid) => match get(db, pid).await {
            Ok(p) if !p.is_active() => {
                errors.add("parent_id", "org.parent_archived");
                None
            }
            Ok(p) => {
                if let Some(me) = moving
                    && is_within(&p.path, &me.path)
                {
                    errors.add("parent_id", "org.dept_cycle");
                }
                Some(p)
            }
            Err(Error::NotFound) => {
                errors.add("parent_id", "org.no_such_department");
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    if let Some(head) = input.head_user_id {
        let found = sqlx::query("SELECT id FROM users WHERE id = $1")
            .bind(head)
            .fetch_optional(&db.pool)
            .await?;
        if found.is_none() {
            errors.add("head_user_id", "org.no_such_user");
        }
    }
    errors.into_result()?;
    Ok(Valid {
        code,
        name,
        summary,
        parent,
        head_user_id: input.head_user_id,
        sort_order: input.sort_order,
    })
}

fn code_taken() -> Error {
    let mut f = FieldErrors::default();
    f.add("code", "org.code_taken");
    Error::Validation(f)
}

/// Inserts a validated department inside `tx` (templates use this too).
pub(crate) async fn insert(
    tx: &mut Tx<'_>,
    code: Option<&str>,
    name: &str,
    parent: Option<(i64, &str)>,
    summary: &str,
    sort_order: i64,
    template_id: Option<&str>,
) -> Result<(i64, String)> {
    let now = now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO departments (code, name, parent_id, path, summary, sort_order, template_id, status, created_at, updated_at) \
         VALUES ($1, $2, $3, '/', $4, $5, $6, 'active', $7, $7) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(parent.map(|p| p.0))
    .bind(summary)
    .bind(sort_order)
    .bind(template_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .on_unique(code_taken())?
    .try_get("id")?;
    let path = department_path(parent.map(|p| p.1), id);
    sqlx::query("UPDATE departments SET path = $1 WHERE id = $2")
        .bind(&path)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok((id, path))
}

#[tracing::instrument(skip(db, actor))]
pub async fn create(db: &Db, actor: &Actor, input: &DepartmentInput) -> Result<i64> {
    let v = validate(db, input, None).await?;
    let mut tx = db.begin_write().await?;
    let parent = v.parent.as_ref().map(|p| (p.id, p.path.as_str()));
    let (id, _) = insert(
        &mut tx,
        v.code.as_deref(),
        &v.name,
        parent,
        &v.summary,
        v.sort_order,
        None,
    )
    .await?;
    if v.head_user_id.is_some() {
        sqlx::query("UPDATE departments SET head_user_id = $1 WHERE id = $2")
            .bind(v.head_user_id)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change::new("department.create", "department", id).summary(v.name.clone()).after(serde_json::json!({
            "code": v.code, "name": v.name, "parent_id": input.parent_id, "head_user_id": v.head_user_id,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Renames, re-heads, re-sorts and (when the parent changes) moves a
/// department with its whole subtree. A move under itself or its own
/// subtree is refused.
#[tracing::instrument(skip(db, actor))]
pub async fn update(db: &Db, actor: &Actor, id: i64, input: &DepartmentInput) -> Result<()> {
    let before = get(db, id).await?;
    let v = validate(db, input, Some(&before)).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE departments SET code = $1, name = $2, summary = $3, head_user_id = $4, sort_order = $5, parent_id = $6, \
         updated_at = $7 WHERE id = $8",
    )
    .bind(&v.code)
    .bind(&v.name)
    .bind(&v.summary)
    .bind(v.head_user_id)
    .bind(v.sort_order)
    .bind(v.parent.as_ref().map(|p| p.id))
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await
    .on_unique(code_taken())?;
    let moved = before.parent_id != v.parent.as_ref().map(|p| p.id);
    if moved {
        let new_path = department_path(v.parent.as_ref().map(|p| p.path.as_str()), id);
        // Rewrite the prefix of the department's own path and of every path below it.
        sqlx::query(
            "UPDATE departments SET path = $1 || SUBSTR(path, CAST($2 AS INTEGER)) WHERE path LIKE $3 ESCAPE '\\'",
        )
        .bind(&new_path)
        .bind(i64::try_from(before.path.len()).unwrap_or(0) + 1)
        .bind(crate::db::like_prefix(&before.path))
        .execute(&mut **tx)
        .await?;
    }
    let after = serde_json::json!({
        "code": v.code, "name": v.name, "parent_id": v.parent.as_ref().map(|p| p.id), "summary": v.summary,
        "head_user_id": v.head_user_id, "sort_order": v.sort_order, "status": before.status,
    });
    audit::record(
        &mut tx,
        actor,
        Change::new(
            if moved {
                "department.move"
            } else {
                "department.update"
            },
            "department",
            id,
        )
        .summary(v.name.clone())
        .before(before.audit_json())
        .after(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// How many departments move along when `id` moves (itself included).
pub async fn subtree_size(db: &Db, id: i64) -> Result<i64> {
    let d = get(db, id).await?;
    let n: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM departments WHERE path LIKE $1 ESCAPE '\\'")
            .bind(crate::db::like_prefix(&d.path))
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?;
    Ok(n)
}

/// Archives an empty department: no active sub-department, no active
/// position, nobody holding a post there.
#[tracing::instrument(skip(db, actor))]
pub async fn archive(db: &Db, actor: &Actor, id: i64) -> Result<()> {
    let before = get(db, id).await?;
    if !before.is_active() {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    let busy: i64 = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM departments WHERE parent_id = $1 AND status = 'active') \
              + (SELECT COUNT(*) FROM positions WHERE department_id = $1 AND status = 'active') \
              + (SELECT COUNT(*) FROM staff_positions sp JOIN positions p ON p.id = sp.position_id WHERE p.department_id = $1) AS n",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")?;
    if busy > 0 {
        return Err(Error::Conflict("org.dept_not_empty"));
    }
    sqlx::query("UPDATE departments SET status = 'archived', updated_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("department.archive", "department", id).summary(before.name.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Brings an archived department back (its parent must be active).
pub async fn restore(db: &Db, actor: &Actor, id: i64) -> Result<()> {
    let before = get(db, id).await?;
    if before.is_active() {
        return Ok(());
    }
    if let Some(pid) = before.parent_id
        && !get(db, pid).await?.is_active()
    {
        return Err(Error::Conflict("org.parent_archived"));
    }
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE departments SET status = 'active', updated_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("department.restore", "department", id).summary(before.name.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
