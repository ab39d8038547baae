//! Position pages: the list and its export, the form with duties and KPIs,
//! the detail page, archive.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use weiops_core::org::KpiPeriod;

use super::{ORG, opt_id};
use crate::access::roles::{self, Role};
use crate::error::FieldErrors;
use crate::export::{self, ExportFormat};
use crate::identity::Need;
use crate::org::departments::{self, Department};
use crate::org::positions::{self, Kpi, Position, PositionFilter, PositionInput};
use crate::org::staff::{self, Staff};
use crate::org::transfer;
use crate::org::{OrgRead, OrgWrite};
use crate::state::AppState;
use crate::web::list::{ListParams, Pager, SortHeader};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};
use weiops_core::org::StaffStatus;

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

pub(super) async fn position_list(
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

pub(super) async fn position_export(
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

pub(super) async fn position_new(
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

pub(super) async fn position_create(
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

pub(super) async fn position_edit(
    State(s): State<AppState>,
    _who: Need<OrgWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let p = positions::get(&s.db, id).await?;
    let input = input_of_position(&p);
    position_form(&s, ctx, Some(p), input, FieldErrors::default()).await
}

pub(super) async fn position_update(
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

pub(super) async fn position_detail(
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
        .filter(|h| h.status != StaffStatus::Left)
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

pub(super) async fn position_archive(
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
