//! Agents in the database: the list, one agent, its team, and the changes
//! staff make (profile, level, sponsor, status), each audited.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::agents::{AgentStatus, mask_name, mask_phone, mask_wechat};
use weiops_core::paging::{PageInfo, PageRequest};

use super::certificates;
use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, Where, now_ms};
use crate::error::FieldErrors;
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: i64,
    /// External id (agents.csv `id`).
    pub code: String,
    pub name: String,
    pub phone: String,
    pub wechat: String,
    pub province: String,
    pub city: String,
    pub level: i64,
    pub level_name: String,
    pub sponsor_id: Option<i64>,
    pub sponsor_code: Option<String>,
    pub sponsor_name: Option<String>,
    /// `/12/40/41/`: ids from the root down to this agent.
    pub path: String,
    pub depth: i64,
    /// `active`, `frozen` or `terminated`.
    #[schema(value_type = String)]
    pub status: AgentStatus,
    /// Epoch ms.
    pub joined_at: i64,
    pub notes: String,
    /// Every agent below (all generations).
    pub team_size: i64,
    pub direct_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Agent {
    /// Hides personal data from staff without `agents.pii`.
    pub fn masked(mut self) -> Agent {
        self.name = mask_name(&self.name);
        self.phone = mask_phone(&self.phone);
        self.wechat = mask_wechat(&self.wechat);
        self.sponsor_name = self.sponsor_name.map(|n| mask_name(&n));
        self
    }

    pub fn region(&self) -> String {
        format!("{}{}", self.province, self.city)
    }

    /// Ancestor ids, root first, without the agent itself.
    pub fn ancestor_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .path
            .split('/')
            .filter_map(|s| s.parse().ok())
            .collect();
        ids.pop();
        ids
    }

    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code, "level": self.level, "sponsor_id": self.sponsor_id, "status": self.status,
            "province": self.province, "city": self.city,
        })
    }
}

const COLUMNS: &str = "SELECT a.id, a.code, a.name, a.phone, a.wechat, a.province, a.city, a.level, l.name AS level_name, \
     a.sponsor_id, s.code AS sponsor_code, s.name AS sponsor_name, a.path, a.depth, a.status, a.joined_at, a.notes, \
     a.team_size, a.direct_count, a.created_at, a.updated_at";
const FROM: &str = "FROM agents a LEFT JOIN agent_levels l ON l.level = a.level LEFT JOIN agents s ON s.id = a.sponsor_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Agent, sqlx::Error> {
    Ok(Agent {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        phone: r.try_get("phone")?,
        wechat: r.try_get("wechat")?,
        province: r.try_get("province")?,
        city: r.try_get("city")?,
        level: r.try_get("level")?,
        level_name: r
            .try_get::<Option<String>, _>("level_name")?
            .unwrap_or_default(),
        sponsor_id: r.try_get("sponsor_id")?,
        sponsor_code: r.try_get("sponsor_code")?,
        sponsor_name: r.try_get("sponsor_name")?,
        path: r.try_get("path")?,
        depth: r.try_get("depth")?,
        status: crate::db::parsed(r, "status", AgentStatus::parse)?,
        joined_at: r.try_get("joined_at")?,
        notes: r.try_get("notes")?,
        team_size: r.try_get("team_size")?,
        direct_count: r.try_get("direct_count")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// `[lo, hi)` bounds of the paths of an agent and its whole team: every
/// path starting with '/12/' sorts at or after '/12/' and before '/120'
/// ('/' is the byte just before '0'), and paths always end in '/', so
/// '/120/…' falls outside. Byte order on both engines (PostgreSQL: the
/// column is COLLATE "C").
pub fn subtree_range(path: &str) -> (String, String) {
    let hi = format!("{}0", &path[..path.len() - 1]);
    (path.to_string(), hi)
}

#[derive(Debug, Clone, Default)]
pub struct AgentFilter {
    /// Name, phone or WeChat id (prefix), or the exact code.
    pub q: Option<String>,
    pub level: Option<i64>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub status: Option<String>,
    /// Direct downline of this agent id.
    pub sponsor_id: Option<i64>,
    pub joined_from: Option<i64>,
    pub joined_to: Option<i64>,
}

pub const SORTS: &[(&str, &str)] = &[
    ("joined", "a.joined_at"),
    ("level", "a.level"),
    ("team", "a.team_size"),
    ("code", "a.code"),
    ("name", "a.name"),
];

fn filter_where(f: &AgentFilter) -> Where {
    let mut w = Where::new();
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        // Prefix matches as byte ranges keep the search on the indexes of a
        // million rows (LIKE would scan them): every string starting with q
        // sorts in [q, q + U+10FFFF) in byte order, which both engines use
        // for these columns.
        let hi = format!("{q}\u{10FFFF}");
        w.and(
            "(a.code = ? OR (a.name >= ? AND a.name < ?) OR (a.phone >= ? AND a.phone < ?) OR (a.wechat >= ? AND a.wechat < ?))",
            [q.into(), q.into(), hi.clone().into(), q.into(), hi.clone().into(), q.into(), hi.into()],
        );
    }
    if let Some(l) = f.level {
        w.and("a.level = ?", [l.into()]);
    }
    if let Some(p) = f.province.as_deref().filter(|s| !s.is_empty()) {
        w.and("a.province = ?", [p.into()]);
    }
    if let Some(c) = f.city.as_deref().filter(|s| !s.is_empty()) {
        w.and("a.city = ?", [c.into()]);
    }
    if let Some(s) = f.status.as_deref().and_then(AgentStatus::parse) {
        w.and("a.status = ?", [s.as_str().into()]);
    }
    if let Some(s) = f.sponsor_id {
        w.and("a.sponsor_id = ?", [s.into()]);
    }
    if let Some(from) = f.joined_from {
        w.and("a.joined_at >= ?", [BindValue::Int(from)]);
    }
    if let Some(to) = f.joined_to {
        w.and("a.joined_at < ?", [BindValue::Int(to)]);
    }
    w
}

#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    f: &AgentFilter,
    order: &str,
    page: PageRequest,
) -> Result<(Vec<Agent>, PageInfo)> {
    let w = filter_where(f);
    // The count needs no joins.
    let total: i64 = w
        .bind(crate::db::dynamic(format!(
            "SELECT COUNT(*) AS n FROM agents a{}",
            w.sql()
        )))
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    let sql = format!(
        "{COLUMNS} {FROM}{} ORDER BY {order}, a.id DESC LIMIT {} OFFSET {}",
        w.sql(),
        w.next(1),
        w.next(2)
    );
    let rows = w
        .bind(crate::db::dynamic(sql))
        .bind(page.per_page)
        .bind(page.offset())
        .fetch_all(&db.pool)
        .await?;
    let list = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok((
        list,
        PageInfo {
            page: page.page,
            per_page: page.per_page,
            total,
            capped: false,
        },
    ))
}

pub async fn list_all(db: &Db, f: &AgentFilter, limit: i64) -> Result<Vec<Agent>> {
    let w = filter_where(f);
    let sql = format!(
        "{COLUMNS} {FROM}{} ORDER BY a.depth, a.id LIMIT {}",
        w.sql(),
        w.next(1)
    );
    let rows = w
        .bind(crate::db::dynamic(sql))
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?)
}

pub async fn get(db: &Db, id: i64) -> Result<Agent> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(from_row(&row)?)
}

pub async fn find_by_code(db: &Db, code: &str) -> Result<Option<Agent>> {
    let row = crate::db::dynamic(format!("{COLUMNS} {FROM} WHERE a.code = $1"))
        .bind(code.trim())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// The chain up to the root, root first.
pub async fn upline(db: &Db, agent: &Agent) -> Result<Vec<Agent>> {
    let ids = agent.ancestor_ids();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    // Ids parsed from the stored path, never user input.
    let rows = crate::db::dynamic(format!(
        "{COLUMNS} {FROM} WHERE a.id IN ({list}) ORDER BY a.depth"
    ))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?)
}

/// Team figures of one agent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Team {
    pub agent_id: i64,
    pub team_size: i64,
    pub direct_count: i64,
    /// Members per generation below the agent: `[(1, n1), (2, n2), …]`.
    pub generations: Vec<(i64, i64)>,
    /// Only the first two generations were counted (a large team; ask with
    /// `all` for every generation, which scans the whole team).
    pub generations_partial: bool,
    /// The Beijing month of the figures, `YYYY-MM`.
    pub period: String,
    /// The agent's own purchases this month, fen.
    pub own_purchases_fen: i64,
    /// The whole team's purchases this month (agent included), fen.
    pub team_purchases_fen: i64,
}

/// Team size and this month's team purchases: two indexed row reads,
/// whatever the size of the team (the counters are kept along the path).
pub async fn team_figures(db: &Db, agent: &Agent, period: &str) -> Result<(i64, i64, i64)> {
    let row = sqlx::query(
        "SELECT own_fen, team_fen FROM agent_team_sales WHERE agent_id = $1 AND period = $2",
    )
    .bind(agent.id)
    .bind(period)
    .fetch_optional(&db.pool)
    .await?;
    let (own, team) = match row {
        Some(r) => (r.try_get("own_fen")?, r.try_get("team_fen")?),
        None => (0, 0),
    };
    let size: i64 = sqlx::query("SELECT team_size FROM agents WHERE id = $1")
        .bind(agent.id)
        .fetch_one(&db.pool)
        .await?
        .try_get("team_size")?;
    Ok((size, own, team))
}

/// Teams larger than this get their per-generation counts for the first two
/// generations only, unless every generation is asked for: counting all of
/// them reads every member's row.
pub const FULL_GENERATIONS_UP_TO: i64 = 50_000;

/// The team view. Size and purchases come from the counters; members per
/// generation scan the team once (the first two generations come from the
/// direct downline's counters when the team is large).
pub async fn team(db: &Db, agent: &Agent, all_generations: bool) -> Result<Team> {
    let period = weiops_core::time::Period::containing(now_ms())
        .map(|p| p.to_string())
        .unwrap_or_default();
    let (size, own, team) = team_figures(db, agent, &period).await?;
    let partial = size > FULL_GENERATIONS_UP_TO && !all_generations;
    let mut generations = Vec::new();
    if partial {
        let second: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(direct_count), 0) AS BIGINT) AS n FROM agents WHERE sponsor_id = $1")
            .bind(agent.id)
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?;
        generations.push((1, agent.direct_count));
        if second > 0 {
            generations.push((2, second));
        }
    } else {
        let (lo, hi) = subtree_range(&agent.path);
        let rows = sqlx::query("SELECT depth, COUNT(*) AS n FROM agents WHERE path > $1 AND path < $2 GROUP BY depth ORDER BY depth")
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&db.pool)
            .await?;
        for r in rows {
            let d: i64 = r.try_get("depth")?;
            generations.push((d - agent.depth, r.try_get("n")?));
        }
    }
    Ok(Team {
        agent_id: agent.id,
        team_size: size,
        direct_count: agent.direct_count,
        generations,
        generations_partial: partial,
        period,
        own_purchases_fen: own,
        team_purchases_fen: team,
    })
}

/// Direct downline, a page at a time (the browsable tree expands on demand).
pub async fn children(db: &Db, id: i64, page: PageRequest) -> Result<(Vec<Agent>, PageInfo)> {
    let f = AgentFilter {
        sponsor_id: Some(id),
        ..Default::default()
    };
    list(db, &f, "a.team_size DESC", page).await
}

/// Profile fields staff may edit.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AgentProfile {
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub wechat: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub notes: String,
}

fn check_profile(p: &AgentProfile, errors: &mut FieldErrors) -> AgentProfile {
    let name = crate::org::check_name(errors, "name", &p.name, 64);
    let phone = match weiops_core::accounts::normalize_phone(&p.phone) {
        Ok(ph) => ph.unwrap_or_default(),
        Err(e) => {
            errors.invalid("phone", e);
            String::new()
        }
    };
    let wechat = p.wechat.trim().to_string();
    if wechat.chars().count() > 64 {
        errors.add("wechat", "field.too_long");
    }
    let (province, city) = (p.province.trim().to_string(), p.city.trim().to_string());
    if province.chars().count() > 32 || city.chars().count() > 32 {
        errors.add("city", "field.too_long");
    }
    if p.notes.chars().count() > 1000 {
        errors.add("notes", "field.too_long");
    }
    AgentProfile {
        name,
        phone,
        wechat,
        province,
        city,
        notes: p.notes.trim().to_string(),
    }
}

/// A new agent created by staff (imports and approvals have their own paths).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewAgent {
    /// External id; generated (`A` + next number) when empty.
    #[serde(default)]
    pub code: String,
    #[serde(flatten)]
    pub profile: AgentProfile,
    pub level: i64,
    #[serde(default)]
    pub sponsor_id: Option<i64>,
}

/// Inserts one agent under `sponsor` (or as a root), updating the team
/// counters of every ancestor, and issues its certificate.
pub(crate) async fn insert_one(
    tx: &mut crate::db::Tx<'_>,
    code: &str,
    p: &AgentProfile,
    level: i64,
    sponsor: Option<&Agent>,
    recruited_by: Option<i64>,
) -> Result<i64> {
    let now = now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO agents (code, name, phone, wechat, province, city, level, sponsor_id, path, depth, status, joined_at, notes, \
         recruited_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '/', $9, 'active', $10, $11, $12, $10, $10) RETURNING id",
    )
    .bind(code)
    .bind(&p.name)
    .bind(&p.phone)
    .bind(&p.wechat)
    .bind(&p.province)
    .bind(&p.city)
    .bind(level)
    .bind(sponsor.map(|s| s.id))
    .bind(sponsor.map(|s| s.depth + 1).unwrap_or(0))
    .bind(now)
    .bind(&p.notes)
    .bind(recruited_by)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            let mut f = FieldErrors::default();
            f.add("code", "agents.code_taken");
            Error::Validation(f)
        }
        _ => Error::from(e),
    })?
    .try_get("id")?;
    let path = format!("{}{id}/", sponsor.map(|s| s.path.as_str()).unwrap_or("/"));
    sqlx::query("UPDATE agents SET path = $1 WHERE id = $2")
        .bind(&path)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if let Some(s) = sponsor {
        grow(tx, s, 1, 1).await?;
    }
    certificates::reissue(tx, id, "issued").await?;
    Ok(id)
}

/// Adds `team` members to `sponsor` and all its ancestors, `direct` to the sponsor itself.
async fn grow(tx: &mut crate::db::Tx<'_>, sponsor: &Agent, team: i64, direct: i64) -> Result<()> {
    let ids: Vec<String> = sponsor
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let now = now_ms();
    // Ids parsed from the stored path, never user input.
    crate::db::dynamic(format!(
        "UPDATE agents SET team_size = team_size + $1, updated_at = $2 WHERE id IN ({})",
        ids.join(",")
    ))
    .bind(team)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE agents SET direct_count = direct_count + $1 WHERE id = $2")
        .bind(direct)
        .bind(sponsor.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn create(db: &Db, actor: &Actor, input: &NewAgent) -> Result<i64> {
    let mut errors = FieldErrors::default();
    let profile = check_profile(&input.profile, &mut errors);
    let max = super::levels::max_level(db).await?;
    if !(1..=i64::from(max)).contains(&input.level) {
        errors.add("level", "agents.bad_level");
    }
    let sponsor = match input.sponsor_id {
        Some(s) => match get(db, s).await {
            Ok(a) if a.status == AgentStatus::Terminated => {
                errors.add("sponsor_id", "agents.sponsor_terminated");
                None
            }
            Ok(a) => Some(a),
            Err(Error::NotFound) => {
                errors.add("sponsor_id", "agents.no_such_agent");
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    let code = input.code.trim().to_string();
    if code.chars().count() > 64 {
        errors.add("code", "field.too_long");
    }
    errors.into_result()?;
    let mut tx = db.begin_write().await?;
    let code = if code.is_empty() {
        let next: i64 =
            sqlx::query("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) + 1 AS n FROM agents")
                .fetch_one(&mut **tx)
                .await?
                .try_get("n")?;
        format!("A{next:07}")
    } else {
        code
    };
    let id = insert_one(
        &mut tx,
        &code,
        &profile,
        input.level,
        sponsor.as_ref(),
        actor.user_id,
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("agent.create", "agent", id)
            .summary(format!("{} ({code})", profile.name))
            .after(serde_json::json!({
                "code": code, "level": input.level, "sponsor_id": input.sponsor_id,
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update_profile(db: &Db, actor: &Actor, id: i64, input: &AgentProfile) -> Result<()> {
    let before = get(db, id).await?;
    let mut errors = FieldErrors::default();
    let p = check_profile(input, &mut errors);
    errors.into_result()?;
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE agents SET name = $1, phone = $2, wechat = $3, province = $4, city = $5, notes = $6, updated_at = $7 WHERE id = $8")
        .bind(&p.name)
        .bind(&p.phone)
        .bind(&p.wechat)
        .bind(&p.province)
        .bind(&p.city)
        .bind(&p.notes)
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    // Personal data is not copied into the audit log, only that it changed.
    audit::record(
        &mut tx,
        actor,
        Change::new("agent.update", "agent", id).summary(before.code.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Upgrades or downgrades an agent with a reason; the certificate is
/// re-issued at the new level. Future orders use the new price; orders
/// already placed keep theirs.
pub async fn change_level(db: &Db, actor: &Actor, id: i64, level: i64, reason: &str) -> Result<()> {
    let before = get(db, id).await?;
    let mut errors = FieldErrors::default();
    let max = super::levels::max_level(db).await?;
    if !(1..=i64::from(max)).contains(&level) {
        errors.add("level", "agents.bad_level");
    } else if level == before.level {
        errors.add("level", "agents.same_level");
    }
    let reason = reason.trim();
    if reason.is_empty() {
        errors.add("reason", "field.required");
    } else if reason.chars().count() > 200 {
        errors.add("reason", "field.too_long");
    }
    if before.status == AgentStatus::Terminated {
        errors.add("level", "agents.terminated");
    }
    errors.into_result()?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE agents SET level = $1, updated_at = $2 WHERE id = $3")
        .bind(level)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO agent_level_changes (agent_id, from_level, to_level, reason, actor_id, actor_name, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(before.level)
    .bind(level)
    .bind(reason)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let cert = certificates::reissue(&mut tx, id, "level change").await?;
    let action = if level < before.level {
        "agent.upgrade"
    } else {
        "agent.downgrade"
    };
    audit::record(
        &mut tx,
        actor,
        Change::new(action, "agent", id)
            .summary(format!(
                "{}: {} → {} ({reason}); {cert}",
                before.code, before.level, level
            ))
            .before(serde_json::json!({"level": before.level}))
            .after(serde_json::json!({"level": level, "reason": reason, "certificate": cert})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// How many agents move with `id` (itself and its whole team).
pub async fn moving_count(db: &Db, id: i64) -> Result<i64> {
    Ok(get(db, id).await?.team_size + 1)
}

/// Moves an agent (with its whole team) under another sponsor, or to the
/// top. Refused when the new sponsor is the agent or one of its team.
pub async fn move_to(
    db: &Db,
    actor: &Actor,
    id: i64,
    new_sponsor: Option<i64>,
    reason: &str,
) -> Result<()> {
    let me = get(db, id).await?;
    let mut errors = FieldErrors::default();
    let target = match new_sponsor {
        Some(s) => match get(db, s).await {
            Ok(t) if t.path.starts_with(&me.path) => {
                errors.add("sponsor_id", "agents.move_cycle");
                None
            }
            Ok(t) if t.status == AgentStatus::Terminated => {
                errors.add("sponsor_id", "agents.sponsor_terminated");
                None
            }
            Ok(t) => Some(t),
            Err(Error::NotFound) => {
                errors.add("sponsor_id", "agents.no_such_agent");
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    if me.sponsor_id == new_sponsor {
        errors.add("sponsor_id", "agents.same_sponsor");
    }
    if reason.trim().is_empty() {
        errors.add("reason", "field.required");
    }
    errors.into_result()?;
    let moving = me.team_size + 1;
    let mut tx = db.begin_write().await?;
    // Old ancestors lose the team, new ones gain it.
    if let Some(old) = me.sponsor_id {
        let old = get(db, old).await?;
        grow(&mut tx, &old, -moving, -1).await?;
    }
    if let Some(t) = &target {
        grow(&mut tx, t, moving, 1).await?;
    }
    let new_path = format!(
        "{}{}/",
        target.as_ref().map(|t| t.path.as_str()).unwrap_or("/"),
        me.id
    );
    let new_depth = target.as_ref().map(|t| t.depth + 1).unwrap_or(0);
    let (lo, hi) = subtree_range(&me.path);
    sqlx::query(
        "UPDATE agents SET path = $1 || SUBSTR(path, CAST($2 AS INTEGER)), depth = depth + $3, updated_at = $4 \
         WHERE path >= $5 AND path < $6",
    )
    .bind(&new_path)
    .bind(me.path.len() as i64 + 1)
    .bind(new_depth - me.depth)
    .bind(now_ms())
    .bind(&lo)
    .bind(&hi)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE agents SET sponsor_id = $1 WHERE id = $2")
        .bind(new_sponsor)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("agent.move", "agent", id)
            .summary(format!("{}: {} → {} ({moving} agents; {})", me.code, me.sponsor_code.clone().unwrap_or("-".into()),
                target.as_ref().map(|t| t.code.clone()).unwrap_or("-".into()), reason.trim()))
            .before(me.audit_json())
            .after(serde_json::json!({"sponsor_id": new_sponsor, "moved": moving, "reason": reason.trim()})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Freezes, unfreezes or terminates (清退) an agent. Terminating revokes
/// the certificate at once.
pub async fn set_status(
    db: &Db,
    actor: &Actor,
    id: i64,
    status: AgentStatus,
    reason: &str,
) -> Result<()> {
    let before = get(db, id).await?;
    if before.status == status {
        return Ok(());
    }
    if before.status == AgentStatus::Terminated {
        return Err(Error::Refused("agents.terminated"));
    }
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE agents SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if status == AgentStatus::Terminated {
        certificates::revoke(&mut tx, id, "terminated").await?;
    }
    let action = match status {
        AgentStatus::Active => "agent.unfreeze",
        AgentStatus::Frozen => "agent.freeze",
        AgentStatus::Terminated => "agent.terminate",
    };
    audit::record(
        &mut tx,
        actor,
        Change::new(action, "agent", id)
            .summary(format!("{} ({})", before.code, reason.trim()))
            .before(serde_json::json!({"status": before.status}))
            .after(serde_json::json!({"status": status.as_str(), "reason": reason.trim()})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records that someone saw an agent's unmasked personal data.
pub async fn record_reveal(db: &Db, actor: &Actor, agent: &Agent, what: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    audit::record(
        &mut tx,
        actor,
        Change::new("agent.reveal_pii", "agent", agent.id)
            .summary(format!("{} {what}", agent.code)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_range_is_exact() {
        let (lo, hi) = subtree_range("/12/");
        assert!("/12/" >= lo.as_str() && "/12/" < hi.as_str());
        assert!("/12/99/3/" >= lo.as_str() && "/12/99/3/" < hi.as_str());
        assert!("/120/" >= hi.as_str(), "/120/ is not below /12/");
        assert!("/13/" >= hi.as_str());
        assert!("/11/" < lo.as_str());
    }
}
