//! Staff pages: the list and its export, the form, the detail page,
//! leaving, and the import from a spreadsheet (with the accounts it
//! created shown once).

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use weiops_core::org::StaffStatus;

use super::{ORG, opt_id};
use crate::access::roles::{self, Role};
use crate::error::{FieldErrors, RowProblem};
use crate::export::{self, ExportFormat};
use crate::identity::Need;
use crate::org::departments::{self, Department};
use crate::org::positions::{self, Position, PositionFilter};
use crate::org::staff::{self, Staff, StaffInput};
use crate::org::transfer::{self, ImportedAccount};
use crate::org::{OrgRead, OrgWrite};
use crate::state::AppState;
use crate::web::list::{ListParams, Pager, SortHeader};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

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

pub(super) async fn staff_list(
    State(s): State<AppState>,
    who: Need<OrgRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let order = params.order_by(staff::SORTS, "d.path ASC, u.display_name ASC");
    let (list, info) = staff::list(
        &s.db,
        &who,
        &crate::org::api::staff_filter(&params),
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

pub(super) async fn staff_export(
    State(s): State<AppState>,
    who: Need<OrgRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let list = staff::list_all(
        &s.db,
        &who,
        &crate::org::api::staff_filter(&params),
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

pub(super) async fn staff_new(
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

pub(super) async fn staff_create(
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

pub(super) async fn staff_detail(
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

pub(super) async fn staff_edit(
    State(s): State<AppState>,
    who: Need<OrgWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let member = staff::get_visible(&s.db, &who, id).await?;
    let input = staff::input_of(&member, None);
    staff_form(&s, ctx, Some(member), input, FieldErrors::default()).await
}

pub(super) async fn staff_update(
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

pub(super) async fn staff_leave(
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

pub(super) async fn import_page(_who: Need<OrgWrite>, ctx: PageCtx) -> Response {
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

pub(super) async fn import_template(
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

pub(super) async fn import_upload(
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
