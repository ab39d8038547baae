//! `/api/v1/org/...`: departments, positions, staff, templates.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weiops_core::paging::PageRequest;

use super::departments::{self, Department, DepartmentInput};
use super::positions::{self, Position, PositionFilter, PositionInput};
use super::staff::{self, Staff, StaffFilter, StaffInput};
use super::templates::{self, OrgTemplate, Plan};
use super::transfer::{self, ImportedAccount};
use crate::Result;
use crate::identity::Need;
use crate::org::{OrgRead, OrgWrite};
use crate::paged::Paged;
use crate::state::AppState;
use crate::web::list::ListParams;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_departments, create_department))
        .routes(routes!(get_department, update_department))
        .routes(routes!(archive_department))
        .routes(routes!(list_positions, create_position))
        .routes(routes!(get_position, update_position))
        .routes(routes!(archive_position))
        .routes(routes!(list_staff, create_staff))
        .routes(routes!(get_staff, update_staff))
        .routes(routes!(staff_leaves))
        .routes(routes!(import_staff))
        .routes(routes!(list_templates))
        .routes(routes!(get_template))
        .routes(routes!(apply_template))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct DepartmentQuery {
    /// Include archived departments.
    archived: Option<bool>,
}

/// Every department in tree order.
#[utoipa::path(get, path = "/api/v1/org/departments", tag = "org", params(DepartmentQuery),
    responses((status = 200, body = Vec<Department>)))]
async fn list_departments(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    Query(q): Query<DepartmentQuery>,
) -> Result<Json<Vec<Department>>> {
    Ok(Json(
        departments::all(&s.db, q.archived.unwrap_or(false)).await?,
    ))
}

/// Creates a department.
#[utoipa::path(post, path = "/api/v1/org/departments", tag = "org", request_body = DepartmentInput,
    responses((status = 201, body = Department), (status = 422)))]
async fn create_department(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    Json(body): Json<DepartmentInput>,
) -> Result<(StatusCode, Json<Department>)> {
    let id = departments::create(&s.db, &who.actor(), &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(departments::get(&s.db, id).await?),
    ))
}

/// One department.
#[utoipa::path(get, path = "/api/v1/org/departments/{id}", tag = "org", params(("id" = i64, Path)),
    responses((status = 200, body = Department), (status = 404)))]
async fn get_department(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    Path(id): Path<i64>,
) -> Result<Json<Department>> {
    Ok(Json(departments::get(&s.db, id).await?))
}

/// Renames, re-heads or moves a department (with its subtree); moving it
/// under itself is refused.
#[utoipa::path(put, path = "/api/v1/org/departments/{id}", tag = "org", params(("id" = i64, Path)), request_body = DepartmentInput,
    responses((status = 200, body = Department), (status = 422, description = "E.g. a cycle")))]
async fn update_department(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    Path(id): Path<i64>,
    Json(body): Json<DepartmentInput>,
) -> Result<Json<Department>> {
    departments::update(&s.db, &who.actor(), id, &body).await?;
    Ok(Json(departments::get(&s.db, id).await?))
}

/// Archives an empty department.
#[utoipa::path(post, path = "/api/v1/org/departments/{id}/archive", tag = "org", params(("id" = i64, Path)),
    responses((status = 200, body = Department), (status = 409, description = "Not empty")))]
async fn archive_department(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    Path(id): Path<i64>,
) -> Result<Json<Department>> {
    departments::archive(&s.db, &who.actor(), id).await?;
    Ok(Json(departments::get(&s.db, id).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PositionQuery {
    q: Option<String>,
    /// This department and below.
    department: Option<i64>,
    /// `active` (default), `archived` or `all`.
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Positions with their duties and KPIs.
#[utoipa::path(get, path = "/api/v1/org/positions", tag = "org", params(PositionQuery), responses((status = 200, body = Paged<Position>)))]
async fn list_positions(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    Query(q): Query<PositionQuery>,
) -> Result<Json<Paged<Position>>> {
    let f = PositionFilter {
        q: q.q,
        department_id: q.department,
        status: q.status,
    };
    let (items, info) = positions::list(
        &s.db,
        &f,
        "d.path, p.sort_order, p.name",
        PageRequest::new(q.page, q.per_page),
    )
    .await?;
    Ok(Json(Paged::new(items, info)))
}

/// Creates a position.
#[utoipa::path(post, path = "/api/v1/org/positions", tag = "org", request_body = PositionInput,
    responses((status = 201, body = Position), (status = 422)))]
async fn create_position(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    Json(body): Json<PositionInput>,
) -> Result<(StatusCode, Json<Position>)> {
    let id = positions::create(&s.db, &who.actor(), &body).await?;
    Ok((StatusCode::CREATED, Json(positions::get(&s.db, id).await?)))
}

/// One position.
#[utoipa::path(get, path = "/api/v1/org/positions/{id}", tag = "org", params(("id" = i64, Path)),
    responses((status = 200, body = Position), (status = 404)))]
async fn get_position(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    Path(id): Path<i64>,
) -> Result<Json<Position>> {
    Ok(Json(positions::get(&s.db, id).await?))
}

/// Replaces a position's fields, duties and KPIs.
#[utoipa::path(put, path = "/api/v1/org/positions/{id}", tag = "org", params(("id" = i64, Path)), request_body = PositionInput,
    responses((status = 200, body = Position), (status = 422)))]
async fn update_position(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    Path(id): Path<i64>,
    Json(body): Json<PositionInput>,
) -> Result<Json<Position>> {
    positions::update(&s.db, &who.actor(), id, &body).await?;
    Ok(Json(positions::get(&s.db, id).await?))
}

/// Archives a position nobody holds.
#[utoipa::path(post, path = "/api/v1/org/positions/{id}/archive", tag = "org", params(("id" = i64, Path)),
    responses((status = 200, body = Position), (status = 409, description = "Held by staff")))]
async fn archive_position(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    Path(id): Path<i64>,
) -> Result<Json<Position>> {
    positions::archive(&s.db, &who.actor(), id).await?;
    Ok(Json(positions::get(&s.db, id).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[allow(dead_code)] // documents the query string; parsed through ListParams
pub struct StaffQuery {
    /// Name, username, phone, WeChat id or employee number.
    q: Option<String>,
    /// This department and below.
    department: Option<i64>,
    position: Option<i64>,
    /// `on_job`, `on_leave` or `left`.
    status: Option<String>,
    /// `name`, `username`, `employee_no`, `hire_date` or `department`.
    sort: Option<String>,
    dir: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

pub(crate) fn staff_filter(p: &ListParams) -> StaffFilter {
    StaffFilter {
        q: p.get("q").map(str::to_string),
        department_id: p.get_i64("department"),
        position_id: p.get_i64("position"),
        status: p.get("status").map(str::to_string),
    }
}

/// Staff the caller may see (their data scope applies).
#[utoipa::path(get, path = "/api/v1/org/staff", tag = "org", params(StaffQuery), responses((status = 200, body = Paged<Staff>)))]
async fn list_staff(
    State(s): State<AppState>,
    who: Need<OrgRead>,
    params: ListParams,
) -> Result<Json<Paged<Staff>>> {
    let order = params.order_by(staff::SORTS, "u.display_name ASC");
    let (items, info) =
        staff::list(&s.db, &who, &staff_filter(&params), &order, params.page()).await?;
    Ok(Json(Paged::new(items, info)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedStaff {
    pub staff: Staff,
    /// The generated password of a new account (shown only here).
    pub password: Option<String>,
}

/// Creates a staff member (and their account, unless `user_id` is given).
#[utoipa::path(post, path = "/api/v1/org/staff", tag = "org", request_body = StaffInput,
    responses((status = 201, body = CreatedStaff), (status = 422)))]
async fn create_staff(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    Json(body): Json<StaffInput>,
) -> Result<(StatusCode, Json<CreatedStaff>)> {
    let (id, password) = staff::create(&s.db, &who.actor(), &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedStaff {
            staff: staff::get(&s.db, id).await?,
            password,
        }),
    ))
}

/// One staff member.
#[utoipa::path(get, path = "/api/v1/org/staff/{id}", tag = "org", params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = Staff), (status = 404)))]
async fn get_staff(
    State(s): State<AppState>,
    who: Need<OrgRead>,
    Path(id): Path<i64>,
) -> Result<Json<Staff>> {
    Ok(Json(staff::get_visible(&s.db, &who, id).await?))
}

/// Replaces a staff member's profile, positions and direct roles.
#[utoipa::path(put, path = "/api/v1/org/staff/{id}", tag = "org", params(("id" = i64, Path)), request_body = StaffInput,
    responses((status = 200, body = Staff), (status = 422)))]
async fn update_staff(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    Path(id): Path<i64>,
    Json(body): Json<StaffInput>,
) -> Result<Json<Staff>> {
    staff::get_visible(&s.db, &who, id).await?;
    staff::update(&s.db, &who.actor(), id, &body).await?;
    Ok(Json(staff::get(&s.db, id).await?))
}

/// Records that a staff member left: the account is disabled at once.
#[utoipa::path(post, path = "/api/v1/org/staff/{id}/leave", tag = "org", params(("id" = i64, Path)),
    responses((status = 200, body = Staff)))]
async fn staff_leaves(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    Path(id): Path<i64>,
) -> Result<Json<Staff>> {
    staff::get_visible(&s.db, &who, id).await?;
    staff::leave(&s.db, &who.actor(), id).await?;
    Ok(Json(staff::get(&s.db, id).await?))
}

/// Imports staff from an .xlsx or CSV file sent as the request body. All or
/// nothing: any problem answers 422 with `error.rows` and stores nothing.
#[utoipa::path(post, path = "/api/v1/org/staff/import", tag = "org",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "An .xlsx or CSV (UTF-8 or GBK) file"),
    responses((status = 201, body = Vec<ImportedAccount>), (status = 422, description = "Row-numbered problems; nothing stored")))]
async fn import_staff(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    body: Bytes,
) -> Result<(StatusCode, Json<Vec<ImportedAccount>>)> {
    let created = transfer::import_staff(&s.db, &who.actor(), &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateInfo {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub source: String,
    pub description: String,
    pub built_in: bool,
    pub departments: usize,
    pub positions: usize,
    pub roles: usize,
    /// Why the template cannot be used (empty when it can).
    pub problems: Vec<String>,
}

/// Organisation templates: built in and from `<data-dir>/org-templates`.
#[utoipa::path(get, path = "/api/v1/org/templates", tag = "org", responses((status = 200, body = Vec<TemplateInfo>)))]
async fn list_templates(State(s): State<AppState>, _who: Need<OrgRead>) -> Json<Vec<TemplateInfo>> {
    Json(
        templates::load(s.options.data_dir.as_deref())
            .into_iter()
            .map(|l| TemplateInfo {
                departments: l.template.departments.len(),
                positions: l.template.positions.len(),
                roles: l.template.roles.len(),
                id: l.template.id,
                name: l.template.name,
                name_en: l.template.name_en,
                source: l.template.source,
                description: l.template.description,
                built_in: l.built_in,
                problems: l.problems,
            })
            .collect(),
    )
}

/// One template in full.
#[utoipa::path(get, path = "/api/v1/org/templates/{id}", tag = "org", params(("id" = String, Path)),
    responses((status = 200, body = OrgTemplate), (status = 404)))]
async fn get_template(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    Path(id): Path<String>,
) -> Result<Json<OrgTemplate>> {
    Ok(Json(templates::find(s.options.data_dir.as_deref(), &id)?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ApplyRequest {
    /// Only preview: nothing is written.
    #[serde(default)]
    pub dry_run: bool,
    /// Department codes to apply (their ancestors come along); default:
    /// every non-optional department.
    #[serde(default)]
    pub departments: Option<Vec<String>>,
}

/// Applies a template (or previews it with `dry_run`). Items that exist
/// already (same code) are reused: applying twice creates nothing twice.
#[utoipa::path(post, path = "/api/v1/org/templates/{id}/apply", tag = "org", params(("id" = String, Path)), request_body = ApplyRequest,
    responses((status = 200, body = Plan)))]
async fn apply_template(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    Path(id): Path<String>,
    Json(body): Json<ApplyRequest>,
) -> Result<Json<Plan>> {
    let t = templates::find(s.options.data_dir.as_deref(), &id)?;
    let plan = if body.dry_run {
        templates::plan(&s.db, &t, body.departments.as_deref()).await?
    } else {
        templates::apply(&s.db, &who.actor(), &t, body.departments.as_deref()).await?
    };
    Ok(Json(plan))
}
