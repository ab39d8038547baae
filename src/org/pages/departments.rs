//! Department pages: the list, the form (new and edit), archive and
//! restore.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{ORG, opt_id};
use crate::error::FieldErrors;
use crate::identity::{Need, Principal};
use crate::org::departments::{self, Department, DepartmentInput};
use crate::org::staff;
use crate::org::{OrgRead, OrgWrite};
use crate::state::AppState;
use crate::web::list::ListParams;
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};
use weiops_core::org::StaffStatus;

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

pub(super) async fn department_list(
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
        .filter(|x| x.status != StaffStatus::Left)
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

pub(super) async fn department_new(
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

pub(super) async fn department_create(
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

pub(super) async fn department_edit(
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

pub(super) async fn department_update(
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

pub(super) async fn department_archive(
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

pub(super) async fn department_restore(
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
