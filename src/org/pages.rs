//! The organisation pages (组织架构 in the left menu).

use std::collections::HashSet;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use weiops_core::org::{KpiPeriod, StaffStatus};

use super::chart::{self, ChartDepartment, ChartLabels, ChartPosition};
use super::departments::{self, Department, DepartmentInput};
use super::positions::{self, Kpi, Position, PositionFilter, PositionInput};
use super::staff::{self, Staff, StaffInput};
use super::templates::{self, Plan, PlanAction};
use super::transfer::{self, ImportedAccount};
use crate::access::roles::{self, Role};
use crate::error::{FieldErrors, RowProblem};
use crate::export::{self, ExportFormat};
use crate::identity::{Need, Principal};
use crate::org::{OrgRead, OrgWrite};
use crate::state::AppState;
use crate::web::list::{ListParams, Pager, SortHeader};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/org", get(|| async { Redirect::to("/org/chart") }))
        .route(
            "/org/departments",
            get(department_list).post(department_create),
        )
        .route("/org/departments/new", get(department_new))
        .route(
            "/org/departments/{id}",
            get(department_edit).post(department_update),
        )
        .route("/org/departments/{id}/archive", post(department_archive))
        .route("/org/departments/{id}/restore", post(department_restore))
        .route("/org/positions", get(position_list).post(position_create))
        .route("/org/positions/new", get(position_new))
        .route("/org/positions/export", get(position_export))
        .route(
            "/org/positions/{id}",
            get(position_detail).post(position_update),
        )
        .route("/org/positions/{id}/edit", get(position_edit))
        .route("/org/positions/{id}/archive", post(position_archive))
        .route("/org/staff", get(staff_list).post(staff_create))
        .route("/org/staff/new", get(staff_new))
        .route("/org/staff/export", get(staff_export))
        .route(
            "/org/staff/import",
            get(import_page)
                .post(import_upload)
                .layer(DefaultBodyLimit::max(16 * 1024 * 1024)),
        )
        .route("/org/staff/import-template", get(import_template))
        .route("/org/staff/{id}", get(staff_detail).post(staff_update))
        .route("/org/staff/{id}/edit", get(staff_edit))
        .route("/org/staff/{id}/leave", post(staff_leave))
        .route("/org/chart", get(chart_page))
        .route("/org/chart.svg", get(chart_svg))
        .route("/org/templates", get(template_list))
        .route(
            "/org/templates/{id}",
            get(template_preview).post(template_apply),
        )
}

const ORG: (&str, Option<&str>) = ("menu.org", None);

// ---------------------------------------------------------------- departments

#[derive(Template)]
#[template(path = "org/departments.html")]
struct DepartmentsPage {
    ctx: PageCtx,
    params: ListParams,
    departments: Vec<Department>,
    show_archived: bool,
    /// `tree` (indented, tree order) or `list` (flat, by name).
    view: &'static str,
}

async fn department_list(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let show_archived = params.get("archived") == Some("1");
    let mut list = departments::all(&s.db, show_archived).await?;
    if let Some(q) = params.get("q") {
        let q = q.to_lowercase();
        list.retain(|d| {
            d.name.to_lowercase().contains(&q) || d.code.as_deref().is_some_and(|c| c.contains(&q))
        });
    }
    // A search result is a flat list: indentation without the parents
    // around it would mislead.
    let view = if params.get("view") == Some("list") || params.get("q").is_some() {
        "list"
    } else {
        "tree"
    };
    if view == "list" {
        list.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    }
    let ctx = ctx.titled("menu.departments", &[ORG]);
    Ok(web::page(DepartmentsPage {
        ctx,
        params,
        departments: list,
        show_archived,
        view,
    }))
}

#[derive(Template)]
#[template(path = "org/department_form.html")]
struct DepartmentForm {
    ctx: PageCtx,
    department: Option<Department>,
    input: DepartmentInput,
    parents: Vec<Department>,
    staff: Vec<(i64, String)>,
    errors: FieldErrors,
}

impl DepartmentForm {
    fn code(&self) -> String {
        self.input.code.clone().unwrap_or_default()
    }

    fn is_parent(&self, id: &i64) -> bool {
        self.input.parent_id == Some(*id)
    }

    fn is_head(&self, id: &i64) -> bool {
        self.input.head_user_id == Some(*id)
    }
}

/// Staff members (for head pickers): user id and "name (username)".
async fn staff_choices(s: &AppState, who: &Principal) -> Result<Vec<(i64, String)>> {
    let list = staff::list_all(&s.db, who, &Default::default(), 5_000).await?;
    Ok(list
        .into_iter()
        .filter(|x| x.status != "left")
        .map(|x| (x.user_id, format!("{} ({})", x.display_name, x.username)))
        .collect())
}

async fn department_form(
    s: &AppState,
    who: &Principal,
    ctx: PageCtx,
    department: Option<Department>,
    input: DepartmentInput,
    errors: FieldErrors,
) -> Result<Response> {
    let mut parents = departments::all(&s.db, false).await?;
    if let Some(me) = &department {
        // Not under itself or its own subtree.
        parents.retain(|p| !weiops_core::org::is_within(&p.path, &me.path));
    }
    let title = if department.is_some() {
        "org.edit_department"
    } else {
        "org.new_department"
    };
    let ctx = ctx.titled(
        title,
        &[ORG, ("menu.departments", Some("/org/departments"))],
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(web::page_with_status(
        status,
        DepartmentForm {
            ctx,
            department,
            input,
            parents,
            staff: staff_choices(s, who).await?,
            errors,
        },
    ))
}

async fn department_new(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let input = DepartmentInput {
        parent_id: params.get_i64("parent"),
        ..Default::default()
    };
    department_form(&s, &who, ctx, None, input, FieldErrors::default()).await
}

fn opt_id(s: &str) -> Result<Option<i64>> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        s.trim()
            .parse()
            .map(Some)
            .map_err(|_| Error::BadRequest("error.bad_form"))
    }
}

fn department_input(form: &FormPairs) -> Result<DepartmentInput> {
    Ok(DepartmentInput {
        code: Some(form.get("code").to_string()),
        name: form.get("name").to_string(),
        parent_id: opt_id(form.get("parent_id"))?,
        summary: form.get("summary").to_string(),
        head_user_id: opt_id(form.get("head_user_id"))?,
        sort_order: if form.get("sort_order").trim().is_empty() {
            0
        } else {
            form.get("sort_order")
                .trim()
                .parse()
                .map_err(|_| Error::BadRequest("error.bad_form"))?
        },
    })
}

async fn department_create(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let input = department_input(&form)?;
    match departments::create(&s.db, &who.actor(), &input).await {
        Ok(_) => Ok(web::redirect_with_flash(
            "/org/departments",
            "success",
            "org.department_saved",
            input.name.trim(),
        )),
        Err(Error::Validation(errors)) => department_form(&s, &who, ctx, None, input, errors).await,
        Err(e) => Err(e),
    }
}

async fn department_edit(
    State(s): State<AppState>,
    who: Need<OrgRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let d = departments::get(&s.db, id).await?;
    let input = DepartmentInput {
        code: d.code.clone(),
        name: d.name.clone(),
        parent_id: d.parent_id,
        summary: d.summary.clone(),
        head_user_id: d.head_user_id,
        sort_order: d.sort_order,
    };
    department_form(&s, &who, ctx, Some(d), input, FieldErrors::default()).await
}

async fn department_update(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let before = departments::get(&s.db, id).await?;
    let input = department_input(&form)?;
    // A move takes the whole subtree along: say how much before doing it.
    if input.parent_id != before.parent_id && !form.confirmed() {
        let n = departments::subtree_size(&s.db, id).await?;
        let msg = ctx.tf(
            "org.confirm_move",
            &[("name", &before.name), ("n", &n.to_string())],
        );
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/org/departments/{id}"),
            form.carry(),
            &format!("/org/departments/{id}"),
            "org.move",
        ));
    }
    match departments::update(&s.db, &who.actor(), id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/org/departments",
            "success",
            "org.department_saved",
            input.name.trim(),
        )),
        Err(Error::Validation(errors)) => {
            department_form(&s, &who, ctx, Some(before), input, errors).await
        }
        Err(e) => Err(e),
    }
}

async fn department_archive(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let d = departments::get(&s.db, id).await?;
    if !form.confirmed() {
        let msg = ctx.tf("org.confirm_archive_department", &[("name", &d.name)]);
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/org/departments/{id}/archive"),
            vec![],
            "/org/departments",
            "org.archive",
        ));
    }
    match departments::archive(&s.db, &who.actor(), id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/org/departments",
            "success",
            "org.archived_flash",
            &d.name,
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(
            "/org/departments",
            "error",
            key,
            &d.name,
        )),
        Err(e) => Err(e),
    }
}

async fn department_restore(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    Path(id): Path<i64>,
) -> Result<Response> {
    let d = departments::get(&s.db, id).await?;
    match departments::restore(&s.db, &who.actor(), id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/org/departments?archived=1",
            "success",
            "org.restored_flash",
            &d.name,
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(
            "/org/departments?archived=1",
            "error",
            key,
            &d.name,
        )),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- positions

fn position_filter(p: &ListParams) -> PositionFilter {
    PositionFilter {
        q: p.get("q").map(str::to_string),
        department_id: p.get_i64("department"),
        status: p.get("status").map(str::to_string),
    }
}

#[derive(Template)]
#[template(path = "org/positions.html")]
struct PositionsPage {
    ctx: PageCtx,
    params: ListParams,
    positions: Vec<Position>,
    departments: Vec<Department>,
    pager: Pager,
    headers: Vec<SortHeader>,
}

async fn position_list(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let order = params.order_by(positions::SORTS, "d.path ASC, p.sort_order ASC, p.name ASC");
    let (list, info) =
        positions::list(&s.db, &position_filter(&params), &order, params.page()).await?;
    let headers = vec![
        params.sort_header("code", ctx.t("org.code")),
        params.sort_header("name", ctx.t("org.position_name")),
        params.sort_header("department", ctx.t("org.department")),
        params.sort_header("headcount", ctx.t("org.headcount_short")),
    ];
    let ctx = ctx.titled("menu.positions", &[ORG]);
    Ok(web::page(PositionsPage {
        ctx,
        pager: params.pager(info),
        params,
        positions: list,
        departments: departments::all(&s.db, false).await?,
        headers,
    }))
}

async fn position_export(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format").or(Some("xlsx")))?;
    let list = positions::all(&s.db, &position_filter(&params)).await?;
    let t = |k: &str| ctx.t(k);
    export::respond(&transfer::positions_table(&list, &t), format, "positions")
}

#[derive(Template)]
#[template(path = "org/position_form.html")]
struct PositionForm {
    ctx: PageCtx,
    position: Option<Position>,
    input: PositionInput,
    departments: Vec<Department>,
    roles: Vec<Role>,
    bosses: Vec<Position>,
    kpi_rows: Vec<Kpi>,
    periods: [KpiPeriod; 4],
    errors: FieldErrors,
}

impl PositionForm {
    fn in_department(&self, id: &i64) -> bool {
        self.input.department_id == *id
    }

    fn is_role(&self, id: &i64) -> bool {
        self.input.role_id == Some(*id)
    }

    fn is_boss(&self, id: &i64) -> bool {
        self.input.reports_to_id == Some(*id)
    }

    fn duties_text(&self) -> String {
        self.input.duties.join("\n")
    }

    fn kpi_error(&self, i: &usize) -> Option<&str> {
        self.errors.get(&format!("kpis.{}", i + 1))
    }
}

async fn position_form(
    s: &AppState,
    ctx: PageCtx,
    position: Option<Position>,
    input: PositionInput,
    errors: FieldErrors,
) -> Result<Response> {
    let mut bosses = positions::all(&s.db, &PositionFilter::default()).await?;
    if let Some(me) = &position {
        bosses.retain(|b| b.id != me.id);
    }
    let mut kpi_rows = input.kpis.clone();
    // Room for three more KPIs on every form.
    for _ in 0..3 {
        kpi_rows.push(Kpi {
            name: String::new(),
            unit: String::new(),
            target: String::new(),
            direction: "higher".into(),
            period: "month".into(),
        });
    }
    let title = if position.is_some() {
        "org.edit_position"
    } else {
        "org.new_position"
    };
    let ctx = ctx.titled(title, &[ORG, ("menu.positions", Some("/org/positions"))]);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(web::page_with_status(
        status,
        PositionForm {
            ctx,
            position,
            input,
            departments: departments::all(&s.db, false).await?,
            roles: roles::all(&s.db).await?,
            bosses,
            kpi_rows,
            periods: KpiPeriod::ALL,
            errors,
        },
    ))
}

async fn position_new(
    State(s): State<AppState>,
    _who: Need<OrgWrite>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let input = PositionInput {
        department_id: params.get_i64("department").unwrap_or(0),
        headcount: 1,
        ..Default::default()
    };
    position_form(&s, ctx, None, input, FieldErrors::default()).await
}

fn position_input(form: &FormPairs) -> Result<PositionInput> {
    let names = form.all("kpi_name");
    let units = form.all("kpi_unit");
    let targets = form.all("kpi_target");
    let directions = form.all("kpi_direction");
    let periods = form.all("kpi_period");
    let kpis = names
        .iter()
        .enumerate()
        .filter(|(i, n)| !n.trim().is_empty() || !targets.get(*i).unwrap_or(&"").trim().is_empty())
        .map(|(i, n)| Kpi {
            name: n.to_string(),
            unit: units.get(i).unwrap_or(&"").to_string(),
            target: targets.get(i).unwrap_or(&"").to_string(),
            direction: directions.get(i).unwrap_or(&"higher").to_string(),
            period: periods.get(i).unwrap_or(&"month").to_string(),
        })
        .collect();
    let int = |name: &str, default: i64| -> Result<i64> {
        let v = form.get(name).trim();
        if v.is_empty() {
            Ok(default)
        } else {
            v.parse().map_err(|_| Error::BadRequest("error.bad_form"))
        }
    };
    Ok(PositionInput {
        code: form.get("code").to_string(),
        name: form.get("name").to_string(),
        name_en: form.get("name_en").to_string(),
        department_id: int("department_id", 0)?,
        summary: form.get("summary").to_string(),
        headcount: int("headcount", 1)?,
        role_id: opt_id(form.get("role_id"))?,
        reports_to_id: opt_id(form.get("reports_to_id"))?,
        duties: form.get("duties").lines().map(str::to_string).collect(),
        kpis,
        sort_order: int("sort_order", 0)?,
    })
}

async fn position_create(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let input = position_input(&form)?;
    match positions::create(&s.db, &who.actor(), &input).await {
        Ok(id) => Ok(web::redirect_with_flash(
            &format!("/org/positions/{id}"),
            "success",
            "org.position_saved",
            input.name.trim(),
        )),
        Err(Error::Validation(errors)) => position_form(&s, ctx, None, input, errors).await,
        Err(e) => Err(e),
    }
}

fn input_of_position(p: &Position) -> PositionInput {
    PositionInput {
        code: p.code.clone(),
        name: p.name.clone(),
        name_en: p.name_en.clone(),
        department_id: p.department_id,
        summary: p.summary.clone(),
        headcount: p.headcount,
        role_id: p.role_id,
        reports_to_id: p.reports_to_id,
        duties: p.duties.clone(),
        kpis: p.kpis.clone(),
        sort_order: p.sort_order,
    }
}

async fn position_edit(
    State(s): State<AppState>,
    _who: Need<OrgWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let p = positions::get(&s.db, id).await?;
    let input = input_of_position(&p);
    position_form(&s, ctx, Some(p), input, FieldErrors::default()).await
}

async fn position_update(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let before = positions::get(&s.db, id).await?;
    let input = position_input(&form)?;
    match positions::update(&s.db, &who.actor(), id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/positions/{id}"),
            "success",
            "org.position_saved",
            input.name.trim(),
        )),
        Err(Error::Validation(errors)) => position_form(&s, ctx, Some(before), input, errors).await,
        Err(e) => Err(e),
    }
}

/// The position description (岗位说明书): printable on A4.
#[derive(Template)]
#[template(path = "org/position_detail.html")]
struct PositionDetail {
    ctx: PageCtx,
    position: Position,
    department: Department,
    holders: Vec<Staff>,
    subordinates: Vec<Position>,
    role: Option<Role>,
    today: String,
}

async fn position_detail(
    State(s): State<AppState>,
    who: Need<OrgRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let position = positions::get(&s.db, id).await?;
    let department = departments::get(&s.db, position.department_id).await?;
    let filter = staff::StaffFilter {
        position_id: Some(id),
        ..Default::default()
    };
    let holders = staff::list_all(&s.db, &who, &filter, 500)
        .await?
        .into_iter()
        .filter(|h| h.status != "left")
        .collect();
    let subordinates = positions::all(&s.db, &PositionFilter::default())
        .await?
        .into_iter()
        .filter(|p| p.reports_to_id == Some(id))
        .collect();
    let role = match position.role_id {
        Some(r) => Some(roles::get(&s.db, r).await?),
        None => None,
    };
    let today = weiops_core::time::format_date(crate::db::now_ms());
    let ctx = ctx.titled_text(
        position.name.clone(),
        &[ORG, ("menu.positions", Some("/org/positions"))],
    );
    Ok(web::page(PositionDetail {
        ctx,
        position,
        department,
        holders,
        subordinates,
        role,
        today,
    }))
}

async fn position_archive(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let p = positions::get(&s.db, id).await?;
    if !form.confirmed() {
        let msg = ctx.tf("org.confirm_archive_position", &[("name", &p.name)]);
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/org/positions/{id}/archive"),
            vec![],
            &format!("/org/positions/{id}"),
            "org.archive",
        ));
    }
    match positions::archive(&s.db, &who.actor(), id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/org/positions",
            "success",
            "org.archived_flash",
            &p.name,
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(
            &format!("/org/positions/{id}"),
            "error",
            key,
            &p.name,
        )),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- staff

#[derive(Template)]
#[template(path = "org/staff.html")]
struct StaffPage {
    ctx: PageCtx,
    params: ListParams,
    staff: Vec<Staff>,
    departments: Vec<Department>,
    pager: Pager,
    headers: Vec<SortHeader>,
    statuses: [StaffStatus; 3],
}

async fn staff_list(
    State(s): State<AppState>,
    who: Need<OrgRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let order = params.order_by(staff::SORTS, "d.path ASC, u.display_name ASC");
    let (list, info) = staff::list(
        &s.db,
        &who,
        &super::api::staff_filter(&params),
        &order,
        params.page(),
    )
    .await?;
    let headers = vec![
        params.sort_header("name", ctx.t("user.display_name")),
        params.sort_header("employee_no", ctx.t("org.employee_no")),
        params.sort_header("department", ctx.t("org.primary_position")),
        params.sort_header("hire_date", ctx.t("org.hire_date")),
    ];
    let ctx = ctx.titled("menu.staff", &[ORG]);
    Ok(web::page(StaffPage {
        ctx,
        pager: params.pager(info),
        params,
        staff: list,
        departments: departments::all(&s.db, false).await?,
        headers,
        statuses: StaffStatus::ALL,
    }))
}

async fn staff_export(
    State(s): State<AppState>,
    who: Need<OrgRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let list = staff::list_all(
        &s.db,
        &who,
        &super::api::staff_filter(&params),
        export::MAX_EXPORT_ROWS,
    )
    .await?;
    let t = |k: &str| ctx.t(k);
    export::respond(&transfer::staff_table(&list, &t), format, "staff")
}

#[derive(Template)]
#[template(path = "org/staff_form.html")]
struct StaffForm {
    ctx: PageCtx,
    member: Option<Staff>,
    input: StaffInput,
    positions: Vec<Position>,
    roles: Vec<Role>,
    statuses: [StaffStatus; 3],
    errors: FieldErrors,
}

impl StaffForm {
    fn is_primary(&self, id: &i64) -> bool {
        self.input.primary_position_id == Some(*id)
    }

    fn is_other(&self, id: &i64) -> bool {
        self.input.other_position_ids.contains(id)
    }

    fn has_role(&self, id: &i64) -> bool {
        self.input.role_ids.contains(id)
    }

    fn status(&self) -> &str {
        self.input.status.as_deref().unwrap_or("on_job")
    }

    fn text(v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
}

async fn staff_form(
    s: &AppState,
    ctx: PageCtx,
    member: Option<Staff>,
    input: StaffInput,
    errors: FieldErrors,
) -> Result<Response> {
    let title = if member.is_some() {
        "org.edit_staff"
    } else {
        "org.new_staff"
    };
    let ctx = ctx.titled(title, &[ORG, ("menu.staff", Some("/org/staff"))]);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(web::page_with_status(
        status,
        StaffForm {
            ctx,
            member,
            input,
            positions: positions::all(&s.db, &PositionFilter::default()).await?,
            roles: roles::all(&s.db).await?,
            statuses: StaffStatus::ALL,
            errors,
        },
    ))
}

async fn staff_new(
    State(s): State<AppState>,
    _who: Need<OrgWrite>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let input = StaffInput {
        primary_position_id: params.get_i64("position"),
        ..Default::default()
    };
    staff_form(&s, ctx, None, input, FieldErrors::default()).await
}

fn staff_input(form: &FormPairs) -> Result<StaffInput> {
    Ok(StaffInput {
        user_id: None,
        username: form.get("username").to_string(),
        password: Some(form.get("password").to_string()).filter(|p| !p.is_empty()),
        display_name: form.get("display_name").to_string(),
        phone: Some(form.get("phone").to_string()),
        wechat_id: form.get("wechat_id").to_string(),
        employee_no: Some(form.get("employee_no").to_string()),
        hire_date: Some(form.get("hire_date").to_string()),
        status: Some(form.get("status").to_string()),
        primary_position_id: opt_id(form.get("primary_position_id"))?,
        other_position_ids: form.ids("other_position_ids")?,
        role_ids: form.ids("role_ids")?,
        notes: form.get("notes").to_string(),
    })
}

#[derive(Template)]
#[template(path = "org/accounts_created.html")]
struct AccountsCreated {
    ctx: PageCtx,
    accounts: Vec<ImportedAccount>,
}

fn accounts_page(ctx: PageCtx, accounts: Vec<ImportedAccount>) -> Response {
    let ctx = ctx.titled(
        "org.accounts_created",
        &[ORG, ("menu.staff", Some("/org/staff"))],
    );
    let mut res = web::page(AccountsCreated { ctx, accounts });
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

async fn staff_create(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let input = staff_input(&form)?;
    match staff::create(&s.db, &who.actor(), &input).await {
        Ok((id, Some(password))) => {
            let m = staff::get(&s.db, id).await?;
            Ok(accounts_page(
                ctx,
                vec![ImportedAccount {
                    user_id: id,
                    username: m.username,
                    display_name: m.display_name,
                    password,
                }],
            ))
        }
        Ok((id, None)) => Ok(web::redirect_with_flash(
            &format!("/org/staff/{id}"),
            "success",
            "org.staff_saved",
            input.display_name.trim(),
        )),
        Err(Error::Validation(errors)) => staff_form(&s, ctx, None, input, errors).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "org/staff_detail.html")]
struct StaffDetail {
    ctx: PageCtx,
    member: Staff,
    /// Effective catalogue permissions through positions and direct roles.
    permissions: Vec<&'static str>,
    /// The grants behind them as held (codes and patterns such as `finance.*`).
    grants: Vec<String>,
    /// Holds everything (`*` or the built-in admin role).
    everything: bool,
}

async fn staff_detail(
    State(s): State<AppState>,
    who: Need<OrgRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let member = staff::get_visible(&s.db, &who, id).await?;
    let mut grants: Vec<String> = {
        use sqlx::Row;
        sqlx::query(
            "SELECT DISTINCT rp.permission FROM role_permissions rp WHERE rp.role_id IN \
             (SELECT role_id FROM user_roles WHERE user_id = $1 UNION \
              SELECT p.role_id FROM staff_positions sp JOIN positions p ON p.id = sp.position_id \
              WHERE sp.user_id = $1 AND p.role_id IS NOT NULL AND p.status = 'active')",
        )
        .bind(id)
        .fetch_all(&s.db.pool)
        .await?
        .iter()
        .map(|r| r.try_get("permission"))
        .collect::<std::result::Result<_, _>>()?
    };
    grants.sort();
    let everything = grants.iter().any(|g| g == "*")
        || member
            .roles
            .iter()
            .any(|r| r.code == crate::identity::ADMIN_ROLE);
    let permissions = if everything {
        s.registry.codes()
    } else {
        s.registry.covered(grants.iter().map(String::as_str))
    };
    let ctx = ctx.titled_text(
        member.display_name.clone(),
        &[ORG, ("menu.staff", Some("/org/staff"))],
    );
    Ok(web::page(StaffDetail {
        ctx,
        member,
        permissions,
        grants,
        everything,
    }))
}

async fn staff_edit(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let member = staff::get_visible(&s.db, &who, id).await?;
    let input = staff::input_of(&member, None);
    staff_form(&s, ctx, Some(member), input, FieldErrors::default()).await
}

async fn staff_update(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let member = staff::get_visible(&s.db, &who, id).await?;
    let mut input = staff_input(&form)?;
    input.user_id = Some(id);
    match staff::update(&s.db, &who.actor(), id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/staff/{id}"),
            "success",
            "org.staff_saved",
            input.display_name.trim(),
        )),
        Err(Error::Validation(errors)) => staff_form(&s, ctx, Some(member), input, errors).await,
        Err(Error::Refused(key)) => Ok(web::redirect_with_flash(
            &format!("/org/staff/{id}"),
            "error",
            key,
            "",
        )),
        Err(e) => Err(e),
    }
}

async fn staff_leave(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let member = staff::get_visible(&s.db, &who, id).await?;
    if !form.confirmed() {
        let msg = ctx.tf("org.confirm_leave", &[("name", &member.display_name)]);
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/org/staff/{id}/leave"),
            vec![],
            &format!("/org/staff/{id}"),
            "org.mark_left",
        ));
    }
    match staff::leave(&s.db, &who.actor(), id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/staff/{id}"),
            "success",
            "org.left_flash",
            &member.display_name,
        )),
        Err(Error::Validation(f)) => Ok(web::redirect_with_flash(
            &format!("/org/staff/{id}"),
            "error",
            f.0.first()
                .map(|x| x.1.as_str())
                .unwrap_or("error.validation"),
            "",
        )),
        Err(Error::Refused(key)) => Ok(web::redirect_with_flash(
            &format!("/org/staff/{id}"),
            "error",
            key,
            "",
        )),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "org/import.html")]
struct ImportPage {
    ctx: PageCtx,
    problems: Vec<RowProblem>,
    message: Option<String>,
}

async fn import_page(_who: Need<OrgWrite>, ctx: PageCtx) -> Response {
    let ctx = ctx.titled(
        "org.import_staff",
        &[ORG, ("menu.staff", Some("/org/staff"))],
    );
    web::page(ImportPage {
        ctx,
        problems: vec![],
        message: None,
    })
}

async fn import_template(
    _who: Need<OrgWrite>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format").or(Some("xlsx")))?;
    export::respond(
        &transfer::staff_template(ctx.locale),
        format,
        "staff-import-template",
    )
}

async fn import_upload(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    multipart: Multipart,
) -> Result<Response> {
    let bytes = web::uploaded_file(multipart, "file")
        .await?
        .ok_or(Error::BadRequest("import.no_file"))?;
    let again = |ctx: PageCtx, problems: Vec<RowProblem>, message: Option<String>| {
        let ctx = ctx.titled(
            "org.import_staff",
            &[ORG, ("menu.staff", Some("/org/staff"))],
        );
        web::page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportPage {
                ctx,
                problems,
                message,
            },
        )
    };
    match transfer::import_staff(&s.db, &who.actor(), &bytes).await {
        Ok(accounts) => Ok(accounts_page(ctx, accounts)),
        Err(Error::ImportRejected(problems)) => {
            let msg = ctx.tn("error.import_rejected", problems.len() as i64);
            Ok(again(ctx, problems, Some(msg)))
        }
        Err(Error::BadRequest(key)) => {
            let msg = ctx.t(key);
            Ok(again(ctx, vec![], Some(msg)))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- charts

fn labels(ctx: &PageCtx) -> ChartLabels {
    ChartLabels {
        title: ctx.t("org.chart_title"),
        head: ctx.t("org.head"),
        no_head: ctx.t("org.no_head"),
        headcount: ctx.t("org.filled_planned"),
        folded: ctx.t("org.folded"),
        empty: ctx.t("org.chart_empty"),
    }
}

/// Department ids folded on the page, from `?fold=1,4`.
fn folded(params: &ListParams) -> HashSet<i64> {
    params
        .get("fold")
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default()
}

async fn chart_data(
    s: &AppState,
    fold: &HashSet<i64>,
    company_name: &str,
) -> Result<(Vec<ChartDepartment>, Vec<ChartPosition>)> {
    let depts = departments::all(&s.db, false).await?;
    let posts = positions::all(&s.db, &PositionFilter::default()).await?;
    let chart_posts: Vec<ChartPosition> = posts
        .iter()
        .map(|p| ChartPosition {
            id: p.id,
            name: p.name.clone(),
            department_id: p.department_id,
            department_name: p.department_name.clone(),
            filled: p.filled,
            planned: p.headcount,
            reports_to: p.reports_to_id,
        })
        .collect();
    // Several top-level departments hang under one company box, so the
    // chart reads as one tree (id 0 is never a department id).
    let roots = depts.iter().filter(|d| d.parent_id.is_none()).count();
    let company = (roots > 1).then_some(0i64);
    let mut chart_depts: Vec<ChartDepartment> = depts
        .iter()
        .map(|d| ChartDepartment {
            id: d.id,
            parent_id: d.parent_id.or(company),
            name: d.name.clone(),
            head: d.head_name.clone(),
            positions: chart_posts
                .iter()
                .filter(|p| p.department_id == d.id)
                .map(|p| ChartPosition {
                    name: p.name.clone(),
                    department_name: p.department_name.clone(),
                    ..*p
                })
                .collect(),
            collapsed: fold.contains(&d.id),
        })
        .collect();
    if company.is_some() {
        chart_depts.insert(
            0,
            ChartDepartment {
                id: 0,
                parent_id: None,
                name: company_name.to_string(),
                head: None,
                positions: vec![],
                collapsed: false,
            },
        );
    }
    Ok((chart_depts, chart_posts))
}

fn fold_link(fold: &HashSet<i64>, id: i64, view: &str) -> String {
    let mut next: Vec<i64> = fold.iter().copied().filter(|x| *x != id).collect();
    if !fold.contains(&id) {
        next.push(id);
    }
    next.sort();
    let list = next
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    if list.is_empty() {
        format!("/org/chart?view={view}")
    } else {
        format!("/org/chart?view={view}&fold={list}")
    }
}

#[derive(Template)]
#[template(path = "org/chart.html")]
struct ChartPage {
    ctx: PageCtx,
    svg: String,
    view: String,
    fold: String,
    departments: Vec<Department>,
}

async fn chart_page(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let fold = folded(&params);
    let view = if params.get("view") == Some("reporting") {
        "reporting"
    } else {
        "departments"
    }
    .to_string();
    let (depts, posts) = chart_data(&s, &fold, &ctx.t("org.company")).await?;
    let l = labels(&ctx);
    let svg = if view == "reporting" {
        chart::reporting_chart_svg(&posts, &l)
    } else {
        // Only departments with sub-departments fold.
        let parents: HashSet<i64> = depts
            .iter()
            .filter_map(|d| d.parent_id)
            .filter(|p| *p != 0)
            .collect();
        let link = |id: i64| {
            parents
                .contains(&id)
                .then(|| fold_link(&fold, id, "departments"))
        };
        chart::org_chart_svg(&depts, &l, &link)
    };
    let ctx = ctx.titled("menu.chart", &[ORG]);
    let fold_text = params.value("fold");
    Ok(web::page(ChartPage {
        ctx,
        svg,
        view,
        fold: fold_text,
        departments: departments::all(&s.db, false).await?,
    }))
}

async fn chart_svg(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let fold = folded(&params);
    let (depts, posts) = chart_data(&s, &fold, &ctx.t("org.company")).await?;
    let l = labels(&ctx);
    let (svg, name) = if params.get("view") == Some("reporting") {
        (
            chart::reporting_chart_svg(&posts, &l),
            "reporting-lines.svg",
        )
    } else {
        (chart::org_chart_svg(&depts, &l, &|_| None), "org-chart.svg")
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "image/svg+xml; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        svg,
    )
        .into_response())
}

// ---------------------------------------------------------------- templates

#[derive(Template)]
#[template(path = "org/templates.html")]
struct TemplatesPage {
    ctx: PageCtx,
    templates: Vec<templates::Loaded>,
}

async fn template_list(State(s): State<AppState>, _who: Need<OrgRead>, ctx: PageCtx) -> Response {
    let list = templates::load(s.options.data_dir.as_deref());
    let ctx = ctx.titled("menu.templates", &[ORG]);
    web::page(TemplatesPage {
        ctx,
        templates: list,
    })
}

#[derive(Template)]
#[template(path = "org/template_preview.html")]
struct TemplatePreview {
    ctx: PageCtx,
    template: templates::OrgTemplate,
    plan: Plan,
    description: String,
}

impl TemplatePreview {
    fn action_class(&self, a: &PlanAction) -> &'static str {
        match a {
            PlanAction::Create => "tag-success",
            PlanAction::Exists => "tag-info",
            PlanAction::Skip => "tag-warning",
        }
    }

    fn action_key(&self, a: &PlanAction) -> &'static str {
        match a {
            PlanAction::Create => "org.plan_create",
            PlanAction::Exists => "org.plan_exists",
            PlanAction::Skip => "org.plan_skip",
        }
    }

    fn created(&self) -> i64 {
        self.plan.count(PlanAction::Create) as i64
    }

    fn existing(&self) -> i64 {
        self.plan.count(PlanAction::Exists) as i64
    }

    /// A department of the template by name (the code when unknown).
    fn department_name(&self, code: &str) -> String {
        self.template
            .departments
            .iter()
            .find(|d| d.code == code)
            .map_or_else(|| code.to_string(), |d| d.name.clone())
    }

    /// A role of the template by name (the code when unknown).
    fn role_name(&self, code: &str) -> String {
        self.template
            .roles
            .iter()
            .find(|r| r.code == code)
            .map_or_else(|| code.to_string(), |r| r.name.clone())
    }

    /// A grant pattern in the reader's words.
    fn permission_label(&self, pattern: &str) -> String {
        crate::registry::pattern_label(pattern, self.ctx.locale)
    }

    fn depth(&self, code: &str) -> usize {
        let mut depth = 0;
        let mut cur = self
            .template
            .departments
            .iter()
            .find(|d| d.code == code)
            .map(|d| d.parent.clone())
            .unwrap_or_default();
        while !cur.is_empty() && depth < 20 {
            depth += 1;
            cur = self
                .template
                .departments
                .iter()
                .find(|d| d.code == cur)
                .map(|d| d.parent.clone())
                .unwrap_or_default();
        }
        depth
    }
}

/// `?part=a&part=b` or `part` form fields: the departments chosen; none
/// given on a first visit means the default selection.
fn parts(pairs: &[&str], chosen: bool) -> Option<Vec<String>> {
    chosen.then(|| pairs.iter().map(|s| s.to_string()).collect())
}

async fn template_preview(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    ctx: PageCtx,
    uri: axum::http::Uri,
) -> Result<Response> {
    let id = uri.path().trim_start_matches("/org/templates/").to_string();
    let t = templates::find(s.options.data_dir.as_deref(), &id)?;
    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| Error::BadRequest("error.bad_query"))?;
    let chosen: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "part")
        .map(|(_, v)| v.as_str())
        .collect();
    let selected = parts(&chosen, query.iter().any(|(k, _)| k == "chosen"));
    let plan = templates::plan(&s.db, &t, selected.as_deref()).await?;
    let description = t.display_description(&ctx.locale).to_string();
    let name = t.display_name(&ctx.locale).to_string();
    let ctx = ctx.titled_text(name, &[ORG, ("menu.templates", Some("/org/templates"))]);
    Ok(web::page(TemplatePreview {
        ctx,
        template: t,
        plan,
        description,
    }))
}

async fn template_apply(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    Path(id): Path<String>,
    form: FormPairs,
) -> Result<Response> {
    let t = templates::find(s.options.data_dir.as_deref(), &id)?;
    let selected = parts(&form.all("part"), true);
    if !form.confirmed() {
        let plan = templates::plan(&s.db, &t, selected.as_deref()).await?;
        let msg = ctx.tf(
            "org.confirm_apply",
            &[
                ("name", &t.name),
                ("n", &plan.count(PlanAction::Create).to_string()),
                ("m", &plan.count(PlanAction::Exists).to_string()),
            ],
        );
        // Applying only adds (what exists is reused, nothing is changed or
        // removed): a normal confirmation, not a red one.
        return Ok(web::confirm_safe(
            ctx,
            msg,
            &format!("/org/templates/{id}"),
            form.carry(),
            &format!("/org/templates/{id}"),
            "org.apply",
        ));
    }
    let plan = templates::apply(&s.db, &who.actor(), &t, selected.as_deref()).await?;
    Ok(web::redirect_with_flash(
        "/org/chart",
        "success",
        "org.applied_flash",
        &plan.count(PlanAction::Create).to_string(),
    ))
}
