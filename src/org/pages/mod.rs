//! The organisation pages (组织架构 in the left menu), one file per part of
//! the menu: `departments`, `positions`, `staff` (with its import),
//! `charts` and `templates`. Their routes are listed here, in one place.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::state::AppState;
use crate::{Error, Result};

mod charts;
mod departments;
mod positions;
mod staff;
mod templates;

use charts::{chart_page, chart_svg};
use departments::{
    department_archive, department_create, department_edit, department_list, department_new,
    department_restore, department_update,
};
use positions::{
    position_archive, position_create, position_detail, position_edit, position_export,
    position_list, position_new, position_update,
};
use staff::{
    import_page, import_template, import_upload, staff_create, staff_detail, staff_edit,
    staff_export, staff_leave, staff_list, staff_new, staff_update,
};
use templates::{template_apply, template_list, template_preview};

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

/// The menu group every org page highlights.
const ORG: (&str, Option<&str>) = ("menu.org", None);

/// An optional id from a form field: empty is none.
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
