//! The org chart page and its SVG (folded branches kept in the URL); the
//! drawing itself is `org::chart`.

use std::collections::HashSet;

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::ORG;
use crate::Result;
use crate::identity::Need;
use crate::org::OrgRead;
use crate::org::chart::{self, ChartDepartment, ChartLabels, ChartPosition};
use crate::org::departments::{self, Department};
use crate::org::positions::{self, PositionFilter};
use crate::state::AppState;
use crate::web::list::ListParams;
use crate::web::{self, PageCtx};

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

pub(super) async fn chart_page(
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

pub(super) async fn chart_svg(
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
