//! Organisation templates: the structures described in the source
//! documents (shared/seed), kept as data files in src/org/templates/*.toml
//! and compiled in. A brand adds its own by dropping a file of the same
//! shape into `<data-dir>/org-templates/`.
//!
//! Applying a template creates its departments, positions (with duties and
//! KPIs) and roles in one transaction. Everything is matched by code: what
//! already exists is reused, never created twice, so applying a template
//! again (or two templates that share a role) is safe.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::access::DataScope;

use super::positions::{self, Kpi};
use crate::audit::{self, Actor, Change};
use crate::db::{Db, now_ms};
use crate::error::FieldErrors;
use crate::{Error, Result};

const BUILT_IN: &[(&str, &str)] = &[
    (
        "weishang-core",
        include_str!("templates/weishang-core.toml"),
    ),
    (
        "business-operations-company",
        include_str!("templates/business-operations-company.toml"),
    ),
    (
        "weishang-team-plan",
        include_str!("templates/weishang-team-plan.toml"),
    ),
    (
        "company-structure-duties",
        include_str!("templates/company-structure-duties.toml"),
    ),
    (
        "weishang-ops-seven-posts",
        include_str!("templates/weishang-ops-seven-posts.toml"),
    ),
    (
        "weishang-ops-five-parts",
        include_str!("templates/weishang-ops-five-parts.toml"),
    ),
    (
        "ecommerce-operations-center",
        include_str!("templates/ecommerce-operations-center.toml"),
    ),
    (
        "enterprise-admin-ops-market",
        include_str!("templates/enterprise-admin-ops-market.toml"),
    ),
    (
        "business-company-structure",
        include_str!("templates/business-company-structure.toml"),
    ),
];

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRole {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub data_scope: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateDepartment {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub parent: String,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePosition {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub department: String,
    #[serde(default)]
    pub reports_to: String,
    #[serde(default)]
    pub role: String,
    #[serde(default = "one")]
    pub headcount: i64,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub duties: Vec<String>,
    #[serde(default)]
    pub kpis: Vec<Kpi>,
}

fn one() -> i64 {
    1
}

/// One template file.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgTemplate {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub description_en: String,
    #[serde(default)]
    pub roles: Vec<TemplateRole>,
    #[serde(default)]
    pub departments: Vec<TemplateDepartment>,
    #[serde(default)]
    pub positions: Vec<TemplatePosition>,
}

impl OrgTemplate {
    pub fn display_name(&self, locale: &crate::i18n::Locale) -> &str {
        match locale {
            crate::i18n::Locale::En if !self.name_en.is_empty() => &self.name_en,
            _ => &self.name,
        }
    }

    pub fn display_description(&self, locale: &crate::i18n::Locale) -> &str {
        match locale {
            crate::i18n::Locale::En if !self.description_en.is_empty() => &self.description_en,
            _ => &self.description,
        }
    }

    /// The department's ancestors' codes, nearest first (cycle-safe).
    fn ancestors(&self, code: &str) -> Vec<String> {
        let parents: HashMap<&str, &str> = self
            .departments
            .iter()
            .map(|d| (d.code.as_str(), d.parent.as_str()))
            .collect();
        let mut out = Vec::new();
        let mut cur = parents.get(code).copied().unwrap_or("");
        while !cur.is_empty()
            && !out.iter().any(|c: &String| c == cur)
            && out.len() <= parents.len()
        {
            out.push(cur.to_string());
            cur = parents.get(cur).copied().unwrap_or("");
        }
        out
    }

    /// Departments in an order where parents come first.
    fn departments_parent_first(&self) -> Vec<&TemplateDepartment> {
        let mut out: Vec<&TemplateDepartment> = Vec::new();
        let mut placed: HashSet<&str> = HashSet::new();
        while out.len() < self.departments.len() {
            let before = out.len();
            for d in &self.departments {
                if !placed.contains(d.code.as_str())
                    && (d.parent.is_empty() || placed.contains(d.parent.as_str()))
                {
                    placed.insert(&d.code);
                    out.push(d);
                }
            }
            if out.len() == before {
                break; // a cycle; validation reports it
            }
        }
        out
    }
}

/// Everything wrong with a template, as readable lines (empty when valid).
pub fn problems(t: &OrgTemplate) -> Vec<String> {
    let mut out = Vec::new();
    let code_ok = |c: &str| {
        let mut e = FieldErrors::default();
        super::check_code(&mut e, "code", c);
        e.is_empty() && c == c.to_ascii_lowercase()
    };
    let mut seen = HashSet::new();
    for r in &t.roles {
        if !code_ok(&r.code) || !seen.insert(format!("role:{}", r.code)) {
            out.push(format!("role {:?}: bad or duplicate code", r.code));
        }
        if DataScope::parse(&r.data_scope).is_none() {
            out.push(format!("role {}: data_scope {:?}", r.code, r.data_scope));
        }
        for p in &r.permissions {
            if !crate::registry::is_grantable(p) {
                out.push(format!(
                    "role {}: permission {p:?} is not grantable",
                    r.code
                ));
            }
        }
    }
    let dept_codes: HashSet<&str> = t.departments.iter().map(|d| d.code.as_str()).collect();
    for d in &t.departments {
        if !code_ok(&d.code) || !seen.insert(format!("dept:{}", d.code)) {
            out.push(format!("department {:?}: bad or duplicate code", d.code));
        }
        if !d.parent.is_empty() && !dept_codes.contains(d.parent.as_str()) {
            out.push(format!(
                "department {}: unknown parent {:?}",
                d.code, d.parent
            ));
        }
        if d.name.trim().is_empty() {
            out.push(format!("department {}: empty name", d.code));
        }
    }
    if t.departments_parent_first().len() != t.departments.len() {
        out.push("departments: the parent links form a cycle".into());
    }
    let pos_codes: HashSet<&str> = t.positions.iter().map(|p| p.code.as_str()).collect();
    let role_codes: HashSet<&str> = t.roles.iter().map(|r| r.code.as_str()).collect();
    let up: HashMap<&str, &str> = t
        .positions
        .iter()
        .map(|p| (p.code.as_str(), p.reports_to.as_str()))
        .collect();
    for p in &t.positions {
        if !code_ok(&p.code) || !seen.insert(format!("pos:{}", p.code)) {
            out.push(format!("position {:?}: bad or duplicate code", p.code));
        }
        if !dept_codes.contains(p.department.as_str()) {
            out.push(format!(
                "position {}: unknown department {:?}",
                p.code, p.department
            ));
        }
        if !p.reports_to.is_empty() && !pos_codes.contains(p.reports_to.as_str()) {
            out.push(format!(
                "position {}: reports to unknown {:?}",
                p.code, p.reports_to
            ));
        }
        if !p.role.is_empty() && !role_codes.contains(p.role.as_str()) {
            out.push(format!("position {}: unknown role {:?}", p.code, p.role));
        }
        let mut cur = p.reports_to.as_str();
        let mut steps = 0;
        while !cur.is_empty() && steps <= up.len() {
            if cur == p.code {
                out.push(format!("position {}: reporting lines form a cycle", p.code));
                break;
            }
            cur = up.get(cur).copied().unwrap_or("");
            steps += 1;
        }
        let mut errors = FieldErrors::default();
        positions::validate_kpis(&mut errors, &p.kpis);
        if !errors.is_empty() || !(0..=100_000).contains(&p.headcount) {
            out.push(format!("position {}: invalid KPI or headcount", p.code));
        }
    }
    out
}

/// A template and whether it can be used.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub template: OrgTemplate,
    pub built_in: bool,
    pub problems: Vec<String>,
}

fn parse(id_hint: &str, text: &str) -> std::result::Result<OrgTemplate, String> {
    toml::from_str::<OrgTemplate>(text).map_err(|e| format!("{id_hint}: {e}"))
}

/// Built-in templates, then those in `<data-dir>/org-templates` (a file
/// there with a built-in id replaces the built-in one).
pub fn load(data_dir: Option<&Path>) -> Vec<Loaded> {
    let mut out: Vec<Loaded> = BUILT_IN
        .iter()
        .map(|(id, text)| match parse(id, text) {
            Ok(t) => Loaded {
                problems: problems(&t),
                template: t,
                built_in: true,
            },
            Err(e) => Loaded {
                template: empty(id),
                built_in: true,
                problems: vec![e],
            },
        })
        .collect();
    let Some(dir) = data_dir.map(|d| d.join("org-templates")) else {
        return out;
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return out;
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for path in files {
        let hint = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let loaded = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| parse(&hint, &t))
        {
            Ok(t) => Loaded {
                problems: problems(&t),
                template: t,
                built_in: false,
            },
            Err(e) => Loaded {
                template: empty(&hint),
                built_in: false,
                problems: vec![e],
            },
        };
        out.retain(|l| l.template.id != loaded.template.id);
        out.push(loaded);
    }
    out
}

fn empty(id: &str) -> OrgTemplate {
    OrgTemplate {
        id: id.to_string(),
        name: id.to_string(),
        name_en: String::new(),
        source: String::new(),
        description: String::new(),
        description_en: String::new(),
        roles: vec![],
        departments: vec![],
        positions: vec![],
    }
}

pub fn find(data_dir: Option<&Path>, id: &str) -> Result<OrgTemplate> {
    let loaded = load(data_dir)
        .into_iter()
        .find(|l| l.template.id == id)
        .ok_or(Error::NotFound)?;
    if !loaded.problems.is_empty() {
        return Err(Error::BadRequest("org.template_invalid"));
    }
    Ok(loaded.template)
}

/// What applying a template would do with one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanAction {
    /// Will be created.
    Create,
    /// Exists already (same code): reused, not changed.
    Exists,
    /// Not selected: left out.
    Skip,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanItem {
    pub code: String,
    pub name: String,
    /// Department: parent code; position: department code; role: empty.
    pub parent: String,
    pub optional: bool,
    pub action: PlanAction,
    /// Positions: their duties; departments and roles: empty.
    pub duties: Vec<String>,
    /// Positions: the role code; roles: the permission patterns.
    pub detail: Vec<String>,
}

/// The preview of applying a template with a selection of departments.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub template_id: String,
    pub departments: Vec<PlanItem>,
    pub positions: Vec<PlanItem>,
    pub roles: Vec<PlanItem>,
}

impl Plan {
    pub fn count(&self, action: PlanAction) -> usize {
        self.departments
            .iter()
            .chain(&self.positions)
            .chain(&self.roles)
            .filter(|i| i.action == action)
            .count()
    }
}

/// The departments chosen: `None` means every non-optional one. A chosen
/// department brings its ancestors along; an unknown code is an error.
fn selection(t: &OrgTemplate, only: Option<&[String]>) -> Result<HashSet<String>> {
    let mut chosen: HashSet<String> = match only {
        None => t
            .departments
            .iter()
            .filter(|d| !d.optional)
            .map(|d| d.code.clone())
            .collect(),
        Some(codes) => {
            let known: HashSet<&str> = t.departments.iter().map(|d| d.code.as_str()).collect();
            if let Some(bad) = codes.iter().find(|c| !known.contains(c.as_str())) {
                tracing::debug!(code = %bad, "unknown department in template selection");
                return Err(Error::BadRequest("org.template_unknown_part"));
            }
            codes.iter().cloned().collect()
        }
    };
    let with_ancestors: Vec<String> = chosen.iter().flat_map(|c| t.ancestors(c)).collect();
    chosen.extend(with_ancestors);
    Ok(chosen)
}

async fn existing_codes(db: &Db, table: &str) -> Result<HashSet<String>> {
    // `table` is one of three literals below, never input.
    let rows = crate::db::dynamic(format!("SELECT code FROM {table} WHERE code IS NOT NULL"))
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>("code")?))
        .collect()
}

/// What applying `t` with `only` would create, reuse and leave out.
pub async fn plan(db: &Db, t: &OrgTemplate, only: Option<&[String]>) -> Result<Plan> {
    let chosen = selection(t, only)?;
    let depts = existing_codes(db, "departments").await?;
    let poss = existing_codes(db, "positions").await?;
    let roles = existing_codes(db, "roles").await?;
    let action = |selected: bool, exists: bool| match (selected, exists) {
        (false, _) => PlanAction::Skip,
        (true, true) => PlanAction::Exists,
        (true, false) => PlanAction::Create,
    };
    let departments: Vec<PlanItem> = t
        .departments_parent_first()
        .into_iter()
        .map(|d| PlanItem {
            code: d.code.clone(),
            name: d.name.clone(),
            parent: d.parent.clone(),
            optional: d.optional,
            action: action(chosen.contains(&d.code), depts.contains(&d.code)),
            duties: vec![],
            detail: vec![d.summary.clone()],
        })
        .collect();
    let positions: Vec<PlanItem> = t
        .positions
        .iter()
        .map(|p| PlanItem {
            code: p.code.clone(),
            name: p.name.clone(),
            parent: p.department.clone(),
            optional: p.optional,
            action: action(chosen.contains(&p.department), poss.contains(&p.code)),
            duties: p.duties.clone(),
            detail: vec![p.role.clone()],
        })
        .collect();
    let used_roles: HashSet<&str> = t
        .positions
        .iter()
        .filter(|p| chosen.contains(&p.department))
        .map(|p| p.role.as_str())
        .collect();
    let roles_plan = t
        .roles
        .iter()
        .map(|r| PlanItem {
            code: r.code.clone(),
            name: r.name.clone(),
            parent: String::new(),
            optional: false,
            action: action(
                used_roles.contains(r.code.as_str()),
                roles.contains(&r.code),
            ),
            duties: vec![],
            detail: r.permissions.clone(),
        })
        .collect();
    Ok(Plan {
        template_id: t.id.clone(),
        departments,
        positions,
        roles: roles_plan,
    })
}

/// Applies `t` in one transaction; returns the plan it carried out.
#[tracing::instrument(skip(db, actor, t), fields(template = %t.id))]
pub async fn apply(
    db: &Db,
    actor: &Actor,
    t: &OrgTemplate,
    only: Option<&[String]>,
) -> Result<Plan> {
    let plan = plan(db, t, only).await?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    // Roles: created when missing; ids by code for the positions.
    let mut role_ids: HashMap<String, i64> = HashMap::new();
    for item in &plan.roles {
        if item.action == PlanAction::Skip {
            continue;
        }
        let Some(r) = t.roles.iter().find(|r| r.code == item.code) else {
            continue;
        };
        let existing = sqlx::query("SELECT id FROM roles WHERE code = $1")
            .bind(&r.code)
            .fetch_optional(&mut **tx)
            .await?;
        let id = match existing {
            Some(row) => row.try_get("id")?,
            None => {
                let id: i64 = sqlx::query(
                    "INSERT INTO roles (code, name, description, data_scope, builtin, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id",
                )
                .bind(&r.code)
                .bind(&r.name)
                .bind(&r.description)
                .bind(&r.data_scope)
                .bind(now)
                .fetch_one(&mut **tx)
                .await?
                .try_get("id")?;
                for p in &r.permissions {
                    sqlx::query(
                        "INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)",
                    )
                    .bind(id)
                    .bind(p)
                    .execute(&mut **tx)
                    .await?;
                }
                audit::record(
                    &mut tx,
                    actor,
                    Change::new("role.create", "role", id).summary(format!("{} ({}) ← {}", r.name, r.code, t.id)).after(
                        serde_json::json!({"code": r.code, "name": r.name, "data_scope": r.data_scope, "permissions": r.permissions}),
                    ),
                )
                .await?;
                id
            }
        };
        role_ids.insert(r.code.clone(), id);
    }
    // Departments, parents first.
    let mut dept_ids: HashMap<String, (i64, String)> = HashMap::new();
    for (order, item) in plan.departments.iter().enumerate() {
        if item.action == PlanAction::Skip {
            continue;
        }
        let Some(d) = t.departments.iter().find(|d| d.code == item.code) else {
            continue;
        };
        let existing = sqlx::query("SELECT id, path FROM departments WHERE code = $1")
            .bind(&d.code)
            .fetch_optional(&mut **tx)
            .await?;
        let (id, path) = match existing {
            Some(row) => (row.try_get("id")?, row.try_get("path")?),
            None => {
                let parent = dept_ids
                    .get(&d.parent)
                    .map(|(id, path)| (*id, path.as_str()));
                let (id, path) = super::departments::insert(
                    &mut tx,
                    Some(&d.code),
                    &d.name,
                    parent,
                    &d.summary,
                    order as i64,
                    Some(&t.id),
                )
                .await?;
                audit::record(
                    &mut tx,
                    actor,
                    Change::new("department.create", "department", id)
                        .summary(format!("{} ← {}", d.name, t.id))
                        .after(
                            serde_json::json!({"code": d.code, "name": d.name, "parent": d.parent}),
                        ),
                )
                .await?;
                (id, path)
            }
        };
        dept_ids.insert(d.code.clone(), (id, path));
    }
    // Positions, then their reporting lines once every id is known.
    let mut pos_ids: HashMap<String, i64> = HashMap::new();
    let mut created: Vec<&TemplatePosition> = Vec::new();
    for (order, item) in plan.positions.iter().enumerate() {
        if item.action == PlanAction::Skip {
            continue;
        }
        let Some(p) = t.positions.iter().find(|p| p.code == item.code) else {
            continue;
        };
        if item.action == PlanAction::Exists {
            if let Some(row) = sqlx::query("SELECT id FROM positions WHERE code = $1")
                .bind(&p.code)
                .fetch_optional(&mut **tx)
                .await?
            {
                pos_ids.insert(p.code.clone(), row.try_get("id")?);
            }
            continue;
        }
        let Some((dept_id, _)) = dept_ids.get(&p.department) else {
            continue;
        };
        let id = positions::insert(
            &mut tx,
            &p.code,
            &p.name,
            &p.name_en,
            *dept_id,
            &p.summary,
            p.headcount,
            role_ids.get(&p.role).copied(),
            None,
            order as i64,
            Some(&t.id),
        )
        .await?;
        let mut errors = FieldErrors::default();
        let kpis = positions::validate_kpis(&mut errors, &p.kpis);
        let duties = positions::clean_duties(&mut errors, &p.duties);
        positions::write_details(&mut tx, id, &duties, &kpis).await?;
        audit::record(
            &mut tx,
            actor,
            Change::new("position.create", "position", id)
                .summary(format!("{} ({}) ← {}", p.name, p.code, t.id))
                .after(serde_json::json!({"code": p.code, "name": p.name, "department": p.department, "role": p.role, "duties": duties})),
        )
        .await?;
        pos_ids.insert(p.code.clone(), id);
        created.push(p);
    }
    for p in created {
        if let (Some(id), Some(boss)) = (pos_ids.get(&p.code), pos_ids.get(&p.reports_to)) {
            sqlx::query("UPDATE positions SET reports_to_id = $1 WHERE id = $2")
                .bind(boss)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
    }
    let counts: BTreeMap<&str, usize> = [
        ("create", plan.count(PlanAction::Create)),
        ("exists", plan.count(PlanAction::Exists)),
    ]
    .into_iter()
    .collect();
    audit::record(
        &mut tx,
        actor,
        Change::new("org_template.apply", "org_template", &t.id)
            .summary(format!("{}: {} created, {} existed", t.name, counts["create"], counts["exists"]))
            .after(serde_json::json!({"template": t.id, "only": only, "created": counts["create"], "existed": counts["exists"]})),
    )
    .await?;
    tx.commit().await?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_template_is_valid() {
        let all = load(None);
        assert_eq!(all.len(), BUILT_IN.len());
        for l in &all {
            assert!(
                l.problems.is_empty(),
                "{}: {:#?}",
                l.template.id,
                l.problems
            );
            assert!(!l.template.positions.is_empty(), "{}", l.template.id);
        }
    }

    #[test]
    fn shared_role_codes_mean_the_same_role() {
        let mut by_code: HashMap<String, (String, Vec<String>, String)> = HashMap::new();
        for l in load(None) {
            for r in l.template.roles {
                let value = (r.name.clone(), r.permissions.clone(), r.data_scope.clone());
                if let Some(prev) = by_code.insert(r.code.clone(), value.clone()) {
                    assert_eq!(prev, value, "role {} differs between templates", r.code);
                }
            }
        }
    }

    #[test]
    fn problems_are_reported() {
        let mut t = parse("x", BUILT_IN[0].1).unwrap();
        t.departments[0].parent = "nope".into();
        t.positions[0].role = "ghost".into();
        t.roles[0].permissions.push("spaceship.*".into());
        let p = problems(&t);
        assert!(p.iter().any(|l| l.contains("unknown parent")));
        assert!(p.iter().any(|l| l.contains("unknown role")));
        assert!(p.iter().any(|l| l.contains("not grantable")));
    }
}
