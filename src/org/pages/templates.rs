//! Org templates from the source documents: the list, a preview of what
//! applying one would add, and applying it.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::ORG;
use crate::identity::Need;
use crate::org::templates::{self, Plan, PlanAction};
use crate::org::{OrgRead, OrgWrite};
use crate::state::AppState;
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

#[derive(Template)]
#[template(path = "org/templates.html")]
struct TemplatesPage {
    ctx: PageCtx,
    templates: Vec<templates::Loaded>,
}

pub(super) async fn template_list(
    State(s): State<AppState>,
    _who: Need<OrgRead>,
    ctx: PageCtx,
) -> Response {
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

pub(super) async fn template_preview(
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

pub(super) async fn template_apply(
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
