//! Positions (岗位): code, name, department, summary, duties, KPIs, planned
//! headcount, the role a holder gets, and the post it reports to.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::org::{KpiDirection, KpiPeriod, Milli};
use weiops_core::paging::{PageInfo, PageRequest};

use super::{check_code, check_name};
use crate::audit::{self, Actor, Change};
use crate::db::{Db, Tx, UniqueViolation, Where, like_pattern, now_ms};
use crate::error::FieldErrors;
use crate::identity::authority;
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Kpi {
    pub name: String,
    /// 元, %, 个 …
    #[serde(default)]
    pub unit: String,
    /// A decimal with at most three places, as text: `500000`, `95.5`.
    pub target: String,
    /// `higher` or `lower` is better.
    pub direction: String,
    /// `week`, `month`, `quarter` or `year`.
    pub period: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Position {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub department_id: i64,
    pub department_name: String,
    pub summary: String,
    /// Planned headcount (编制).
    pub headcount: i64,
    /// Staff (not left) holding the post now.
    pub filled: i64,
    pub role_id: Option<i64>,
    pub role_name: Option<String>,
    pub reports_to_id: Option<i64>,
    pub reports_to_name: Option<String>,
    /// `active` or `archived`.
    pub status: String,
    pub sort_order: i64,
    pub template_id: Option<String>,
    pub duties: Vec<String>,
    pub kpis: Vec<Kpi>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Position {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code, "name": self.name, "department_id": self.department_id, "headcount": self.headcount,
            "role_id": self.role_id, "reports_to_id": self.reports_to_id, "duties": self.duties, "kpis": self.kpis,
            "status": self.status,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PositionInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub department_id: i64,
    #[serde(default)]
    pub summary: String,
    #[serde(default = "one")]
    pub headcount: i64,
    #[serde(default)]
    pub role_id: Option<i64>,
    #[serde(default)]
    pub reports_to_id: Option<i64>,
    #[serde(default)]
    pub duties: Vec<String>,
    #[serde(default)]
    pub kpis: Vec<Kpi>,
    #[serde(default)]
    pub sort_order: i64,
}

fn one() -> i64 {
    1
}

const COLUMNS: &str = "SELECT p.id, p.code, p.name, p.name_en, p.department_id, d.name AS department_name, p.summary, \
     p.headcount, p.role_id, r.name AS role_name, p.reports_to_id, rp.name AS reports_to_name, p.status, p.sort_order, \
     p.template_id, p.created_at, p.updated_at, \
     (SELECT COUNT(*) FROM staff_positions sp JOIN staff s ON s.user_id = sp.user_id \
      WHERE sp.position_id = p.id AND s.status <> 'left') AS filled";
const FROM: &str = "FROM positions p JOIN departments d ON d.id = p.department_id \
     LEFT JOIN roles r ON r.id = p.role_id LEFT JOIN positions rp ON rp.id = p.reports_to_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Position, sqlx::Error> {
    Ok(Position {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        name_en: r.try_get("name_en")?,
        department_id: r.try_get("department_id")?,
        department_name: r.try_get("department_name")?,
        summary: r.try_get("summary")?,
        headcount: r.try_get("headcount")?,
        filled: r.try_get("filled")?,
        role_id: r.try_get("role_id")?,
        role_name: r.try_get("role_name")?,
        reports_to_id: r.try_get("reports_to_id")?,
        reports_to_name: r.try_get("reports_to_name")?,
        status: r.try_get("status")?,
        sort_order: r.try_get("sort_order")?,
        template_id: r.try_get("template_id")?,
        duties: Vec::new(),
        kpis: Vec::new(),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Loads duties and KPIs for the given positions in two queries.
async fn attach_details(db: &Db, list: &mut [Position]) -> Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    let ids = list
        .iter()
        .map(|p| p.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let index: HashMap<i64, usize> = list.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    // The ids are integers read from the database, never user input.
    let duties = crate::db::dynamic(format!(
        "SELECT position_id, text FROM position_duties WHERE position_id IN ({ids}) ORDER BY position_id, sort_order"
    ))
    .fetch_all(&db.pool)
    .await?;
    for r in duties {
        let pid: i64 = r.try_get("position_id")?;
        if let Some(i) = index.get(&pid) {
            list[*i].duties.push(r.try_get("text")?);
        }
    }
    let kpis = crate::db::dynamic(format!(
        "SELECT position_id, name, unit, target_milli, direction, period FROM position_kpis \
         WHERE position_id IN ({ids}) ORDER BY position_id, sort_order"
    ))
    .fetch_all(&db.pool)
    .await?;
    for r in kpis {
        let pid: i64 = r.try_get("position_id")?;
        if let Some(i) = index.get(&pid) {
            list[*i].kpis.push(Kpi {
                name: r.try_get("name")?,
                unit: r.try_get("unit")?,
                target: Milli(r.try_get("target_milli")?).to_string(),
                direction: r.try_get("direction")?,
                period: r.try_get("period")?,
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct PositionFilter {
    pub q: Option<String>,
    /// This department and every department below it.
    pub department_id: Option<i64>,
    /// `active` (default), `archived` or `all`.
    pub status: Option<String>,
}

pub const SORTS: &[(&str, &str)] = &[
    ("code", "p.code"),
    ("name", "p.name"),
    ("department", "d.path"),
    ("headcount", "p.headcount"),
];

async fn filter_where(db: &Db, f: &PositionFilter) -> Result<Where> {
    let mut w = Where::new();
    if let Some(q) = f.q.as_deref().filter(|s| !s.is_empty()) {
        let p = like_pattern(q);
        w.and(
            "(LOWER(p.code) LIKE LOWER(?) ESCAPE '\\' OR LOWER(p.name) LIKE LOWER(?) ESCAPE '\\')",
            [p.clone().into(), p.into()],
        );
    }
    if let Some(dept) = f.department_id {
        let d = super::departments::get(db, dept).await?;
        w.and(
            "d.path LIKE ? ESCAPE '\\'",
            [crate::db::like_prefix(&d.path).into()],
        );
    }
    match f.status.as_deref().unwrap_or("active") {
        "all" => {}
        "archived" => {
            w.and("p.status = ?", ["archived".into()]);
        }
        _ => {
            w.and("p.status = ?", ["active".into()]);
        }
    }
    Ok(w)
}

pub async fn list(
    db: &Db,
    f: &PositionFilter,
    order: &str,
    page: PageRequest,
) -> Result<(Vec<Position>, PageInfo)> {
    let w = filter_where(db, f).await?;
    let order = format!("{order}, p.id");
    let (rows, info) = crate::db::fetch_page(db, COLUMNS, FROM, &w, &order, page).await?;
    let mut list = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    attach_details(db, &mut list).await?;
    Ok((list, info))
}

/// Every position matching the filter, in department order (exports, charts).
pub async fn all(db: &Db, f: &PositionFilter) -> Result<Vec<Position>> {
    let w = filter_where(db, f).await?;
    let sql = format!(
        "{COLUMNS} {FROM}{} ORDER BY d.path, p.sort_order, p.name, p.id",
        w.sql()
    );
    let rows = w.bind(crate::db::dynamic(sql)).fetch_all(&db.pool).await?;
    let mut list = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    attach_details(db, &mut list).await?;
    Ok(list)
}

pub async fn get(db: &Db, id: i64) -> Result<Position> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    let mut list = vec![from_row(&row)?];
    attach_details(db, &mut list).await?;
    Ok(list.remove(0))
}

pub async fn find_by_code(db: &Db, code: &str) -> Result<Option<Position>> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE p.code = $1"))
        .bind(code.trim().to_ascii_lowercase())
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(r) => {
            let mut list = vec![from_row(&r)?];
            attach_details(db, &mut list).await?;
            Ok(Some(list.remove(0)))
        }
        None => Ok(None),
    }
}

/// A KPI checked and converted for storage.
pub struct ValidKpi {
    pub name: String,
    pub unit: String,
    pub target: Milli,
    pub direction: KpiDirection,
    pub period: KpiPeriod,
}

/// Checks KPI rows; errors go under `kpis.<n>` (1-based).
pub fn validate_kpis(errors: &mut FieldErrors, kpis: &[Kpi]) -> Vec<ValidKpi> {
    let mut out = Vec::new();
    for (i, k) in kpis.iter().enumerate() {
        let field = format!("kpis.{}", i + 1);
        let name = k.name.trim();
        let target = Milli::parse(&k.target);
        let direction = KpiDirection::parse(&k.direction);
        let period = KpiPeriod::parse(&k.period);
        if name.is_empty() || name.chars().count() > 64 {
            errors.add(&field, "org.kpi_name_invalid");
        } else if target.is_none() {
            errors.add(&field, "org.kpi_target_invalid");
        } else if direction.is_none() || period.is_none() {
            errors.add(&field, "field.invalid_choice");
        } else if let (Some(target), Some(direction), Some(period)) = (target, direction, period) {
            out.push(ValidKpi {
                name: name.to_string(),
                unit: k.unit.trim().chars().take(16).collect(),
                target,
                direction,
                period,
            });
        }
    }
    out
}

/// Duties: trimmed, empty lines dropped, at most 50 of at most 500 characters.
pub fn clean_duties(errors: &mut FieldErrors, duties: &[String]) -> Vec<String> {
    let out: Vec<String> = duties
        .iter()
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    if out.len() > 50 || out.iter().any(|d| d.chars().count() > 500) {
        errors.add("duties", "field.too_long");
    }
    out
}

/// Writes duties and KPIs of a position, replacing what it had.
pub(crate) async fn write_details(
    tx: &mut Tx<'_>,
    id: i64,
    duties: &[String],
    kpis: &[ValidKpi],
) -> Result<()> {
    sqlx::query("DELETE FROM position_duties WHERE position_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM position_kpis WHERE position_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (i, d) in duties.iter().enumerate() {
        sqlx::query(
            "INSERT INTO position_duties (position_id, sort_order, text) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(i as i64)
        .bind(d)
        .execute(&mut **tx)
        .await?;
    }
    for (i, k) in kpis.iter().enumerate() {
        sqlx::query(
            "INSERT INTO position_kpis (position_id, sort_order, name, unit, target_milli, direction, period) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(i as i64)
        .bind(&k.name)
        .bind(&k.unit)
        .bind(k.target.0)
        .bind(k.direction.as_str())
        .bind(k.period.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Whether making `id` report to `new_boss` would close a loop.
async fn reporting_cycle(db: &Db, id: Option<i64>, new_boss: i64) -> Result<bool> {
    let rows = sqlx::query("SELECT id, reports_to_id FROM positions")
        .fetch_all(&db.pool)
        .await?;
    let mut up: HashMap<i64, Option<i64>> = HashMap::new();
    for r in rows {
        up.insert(r.try_get("id")?, r.try_get("reports_to_id")?);
    }
    let Some(id) = id else { return Ok(false) };
    let mut cur = Some(new_boss);
    let mut steps = 0;
    while let Some(c) = cur {
        if c == id || steps > up.len() {
            return Ok(true);
        }
        cur = up.get(&c).copied().flatten();
        steps += 1;
    }
    Ok(false)
}

struct Valid {
    code: String,
    name: String,
    name_en: String,
    summary: String,
    headcount: i64,
    duties: Vec<String>,
    kpis: Vec<ValidKpi>,
}

async fn validate(db: &Db, input: &PositionInput, id: Option<i64>) -> Result<Valid> {
    let mut errors = FieldErrors::default();
    let code = check_code(&mut errors, "code", &input.code);
    let name = check_name(&mut errors, "name", &input.name, 64);
    let name_en = input.name_en.trim().chars().take(128).collect();
    let summary = input.summary.trim().to_string();
    if summary.chars().count() > 1000 {
        errors.add("summary", "field.too_long");
    }
    if !(0..=100_000).contains(&input.headcount) {
        errors.add("headcount", "org.bad_headcount");
    }
    match super::departments::get(db, input.department_id).await {
        Ok(d) if !d.is_active() => errors.add("department_id", "org.parent_archived"),
        Ok(_) => {}
        Err(Error::NotFound) => errors.add("department_id", "org.no_such_department"),
        Err(e) => return Err(e),
    }
    if let Some(role) = input.role_id
        && sqlx::query("SELECT id FROM roles WHERE id = $1")
            .bind(role)
            .fetch_optional(&db.pool)
            .await?
            .is_none()
    {
        errors.add("role_id", "user.unknown_role");
    }
    if let Some(boss) = input.reports_to_id {
        match get(db, boss).await {
            Ok(_) if reporting_cycle(db, id, boss).await? => {
                errors.add("reports_to_id", "org.reporting_cycle")
            }
            Ok(_) => {}
            Err(Error::NotFound) => errors.add("reports_to_id", "org.no_such_position"),
            Err(e) => return Err(e),
        }
    }
    let duties = clean_duties(&mut errors, &input.duties);
    let kpis = validate_kpis(&mut errors, &input.kpis);
    errors.into_result()?;
    Ok(Valid {
        code,
        name,
        name_en,
        summary,
        headcount: input.headcount,
        duties,
        kpis,
    })
}

fn code_taken() -> Error {
    let mut f = FieldErrors::default();
    f.add("code", "org.code_taken");
    Error::Validation(f)
}

/// Nobody puts on a post a role holding more than they hold: whoever is
/// then put on the post would get it.
async fn grant_check(tx: &mut Tx<'_>, actor: &Actor, role_id: Option<i64>) -> Result<()> {
    let roles: Vec<i64> = role_id.into_iter().collect();
    authority::check_role_change(tx, actor, None, &[], &roles, &[]).await
}

/// Inserts a position inside `tx` (templates use this too).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert(
    tx: &mut Tx<'_>,
    code: &str,
    name: &str,
    name_en: &str,
    department_id: i64,
    summary: &str,
    headcount: i64,
    role_id: Option<i64>,
    reports_to_id: Option<i64>,
    sort_order: i64,
    template_id: Option<&str>,
) -> Result<i64> {
    let now = now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO positions (code, name, name_en, department_id, summary, headcount, role_id, reports_to_id, status, \
         sort_order, template_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $11, $11) \
         RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(name_en)
    .bind(department_id)
    .bind(summary)
    .bind(headcount)
    .bind(role_id)
    .bind(reports_to_id)
    .bind(sort_order)
    .bind(template_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .on_unique(code_taken())?
    .try_get("id")?;
    Ok(id)
}

#[tracing::instrument(skip(db, actor, input))]
pub async fn create(db: &Db, actor: &Actor, input: &PositionInput) -> Result<i64> {
    let v = validate(db, input, None).await?;
    let mut tx = db.begin_write().await?;
    grant_check(&mut tx, actor, input.role_id).await?;
    let id = insert(
        &mut tx,
        &v.code,
        &v.name,
        &v.name_en,
        input.department_id,
        &v.summary,
        v.headcount,
        input.role_id,
        input.reports_to_id,
        input.sort_order,
        None,
    )
    .await?;
    write_details(&mut tx, id, &v.duties, &v.kpis).await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("position.create", "position", id).summary(format!("{} ({})", v.name, v.code)).after(
            serde_json::json!({"code": v.code, "name": v.name, "department_id": input.department_id,
                "headcount": v.headcount, "role_id": input.role_id, "reports_to_id": input.reports_to_id,
                "duties": v.duties}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[tracing::instrument(skip(db, actor, input))]
pub async fn update(db: &Db, actor: &Actor, id: i64, input: &PositionInput) -> Result<()> {
    let before = get(db, id).await?;
    let v = validate(db, input, Some(id)).await?;
    let mut tx = db.begin_write().await?;
    if input.role_id != before.role_id {
        grant_check(&mut tx, actor, input.role_id).await?;
    }
    sqlx::query(
        "UPDATE positions SET code = $1, name = $2, name_en = $3, department_id = $4, summary = $5, headcount = $6, \
         role_id = $7, reports_to_id = $8, sort_order = $9, updated_at = $10 WHERE id = $11",
    )
    .bind(&v.code)
    .bind(&v.name)
    .bind(&v.name_en)
    .bind(input.department_id)
    .bind(&v.summary)
    .bind(v.headcount)
    .bind(input.role_id)
    .bind(input.reports_to_id)
    .bind(input.sort_order)
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await
    .on_unique(code_taken())?;
    write_details(&mut tx, id, &v.duties, &v.kpis).await?;
    if before.department_id != input.department_id {
        // Holders whose primary post this is move department with it
        // (their data scope follows).
        sqlx::query(
            "UPDATE users SET department_id = $1 WHERE id IN \
             (SELECT user_id FROM staff_positions WHERE position_id = $2 AND is_primary = 1)",
        )
        .bind(input.department_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    let after = serde_json::json!({"code": v.code, "name": v.name, "department_id": input.department_id,
        "headcount": v.headcount, "role_id": input.role_id, "reports_to_id": input.reports_to_id,
        "duties": v.duties, "status": before.status});
    audit::record(
        &mut tx,
        actor,
        Change::new("position.update", "position", id)
            .summary(format!("{} ({})", v.name, v.code))
            .before(before.audit_json())
            .after(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Archives a post nobody holds; posts reporting to it then report to nobody.
#[tracing::instrument(skip(db, actor))]
pub async fn archive(db: &Db, actor: &Actor, id: i64) -> Result<()> {
    let before = get(db, id).await?;
    if !before.is_active() {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM staff_positions WHERE position_id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    if held > 0 {
        return Err(Error::Conflict("org.position_in_use"));
    }
    let now = now_ms();
    sqlx::query("UPDATE positions SET status = 'archived', updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE positions SET reports_to_id = NULL, updated_at = $1 WHERE reports_to_id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("position.archive", "position", id)
            .summary(format!("{} ({})", before.name, before.code)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
