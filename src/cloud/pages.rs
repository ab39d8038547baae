//! The staff pages of cloud stock (`/stock/cloud`): balances per agent, SKU
//! and warehouse with what head office owes per SKU (and their export),
//! and the shipment requests to ship or cancel.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing;
use weiops_core::paging::PageRequest;

use super::store::{
    BalanceFilter, CloudRequest, CloudRow, OwedTotal, RequestFilter, STATUSES, balances, cancel,
    get, owed_totals, requests, ship,
};
use crate::export::{self, ExportFormat, Table};
use crate::identity::Need;
use crate::orders::ShippingWrite;
use crate::state::AppState;
use crate::stock::store::{self as stock_store, Warehouse};
use crate::stock::{StockRead, StockWrite};
use crate::web::list::{ListParams, Pager};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

const GOODS: (&str, Option<&str>) = ("menu.goods", None);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stock/cloud", routing::get(cloud_list))
        .route("/stock/cloud/export", routing::get(cloud_export))
        .route("/stock/cloud/requests", routing::get(request_list))
        .route(
            "/stock/cloud/requests/{id}/ship",
            routing::post(request_ship),
        )
        .route(
            "/stock/cloud/requests/{id}/cancel",
            routing::post(request_cancel),
        )
}

#[derive(Template)]
#[template(path = "cloud/balances.html")]
struct CloudPage {
    ctx: PageCtx,
    params: ListParams,
    warehouses: Vec<Warehouse>,
    rows: Vec<CloudRow>,
    totals: Vec<OwedTotal>,
    pager: Pager,
}

impl CloudPage {
    fn selected(&self, id: &i64) -> bool {
        self.params.get_i64("warehouse") == Some(*id)
    }
}

async fn cloud_list(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let filter = BalanceFilter::of(&params);
    let (rows, info) = balances(&s.db, &filter, params.page()).await?;
    Ok(web::page(CloudPage {
        ctx: ctx.titled("menu.cloud_stock", &[GOODS]),
        warehouses: stock_store::warehouses(&s.db).await?,
        totals: owed_totals(&s.db, &filter).await?,
        pager: params.pager(info),
        params,
        rows,
    }))
}

async fn cloud_export(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let page = PageRequest {
        page: 1,
        per_page: export::MAX_EXPORT_ROWS,
    };
    let (rows, _) = balances(&s.db, &BalanceFilter::of(&params), page).await?;
    let t = |k: &str| ctx.t(k);
    let table = Table {
        sheet: t("menu.cloud_stock"),
        headers: vec![
            t("cloud.agent_code"),
            t("cloud.agent_name"),
            t("stock.sku_code"),
            t("stock.product"),
            t("stock.spec"),
            t("warehouse.code"),
            t("warehouse.name"),
            t("cloud.balance"),
            t("cloud.updated_at"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.agent_code.clone(),
                    r.agent_name.clone(),
                    r.sku_code.clone(),
                    r.product_name.clone(),
                    r.spec.clone(),
                    r.warehouse_code.clone(),
                    r.warehouse_name.clone(),
                    r.qty.to_string(),
                    ctx.time(r.updated_at),
                ]
            })
            .collect(),
    };
    export::respond(&table, format, "cloud-stock")
}

#[derive(Template)]
#[template(path = "cloud/requests.html")]
struct RequestsPage {
    ctx: PageCtx,
    params: ListParams,
    statuses: &'static [&'static str],
    requests: Vec<CloudRequest>,
    pager: Pager,
    back: String,
}

async fn request_list(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let (requests, info) = requests(&s.db, &RequestFilter::of(&params), params.page()).await?;
    Ok(web::page(RequestsPage {
        ctx: ctx.titled("menu.cloud_requests", &[GOODS]),
        statuses: STATUSES,
        pager: params.pager(info),
        back: params.href_with(&[]),
        params,
        requests,
    }))
}

/// A `back` link from a form, only if it stays on the request list.
fn back_of(form: &FormPairs) -> String {
    let b = form.get("back");
    if b.starts_with("/stock/cloud/requests") && !b.contains("//") {
        b.to_string()
    } else {
        "/stock/cloud/requests".to_string()
    }
}

async fn request_ship(
    State(s): State<AppState>,
    who: Need<ShippingWrite>,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let back = back_of(&form);
    match ship(
        &s.db,
        &who.actor(),
        id,
        form.get("carrier"),
        form.get("tracking_no"),
    )
    .await
    {
        Ok(()) => Ok(web::redirect_with_flash(
            &back,
            "success",
            "cloud.shipped_flash",
            "",
        )),
        Err(Error::Validation(e)) => {
            let key = e.0.first().map(|x| x.1.clone()).unwrap_or_default();
            Ok(web::redirect_with_flash(&back, "error", &key, ""))
        }
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(&back, "error", key, "")),
        Err(e) => Err(e),
    }
}

async fn request_cancel(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let back = back_of(&form);
    if !form.confirmed() {
        let r = get(&s.db, id).await?;
        let msg = ctx.tf(
            "cloud.confirm_cancel",
            &[("request", &r.request_no), ("agent", &r.agent_name)],
        );
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/stock/cloud/requests/{id}/cancel"),
            form.carry(),
            &back,
            "cloud.cancel",
        ));
    }
    match cancel(&s.db, &who.actor(), id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &back,
            "success",
            "cloud.cancelled_flash",
            "",
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(&back, "error", key, "")),
        Err(e) => Err(e),
    }
}
