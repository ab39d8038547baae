//! Stock pages (库存 in the 商品与订单 menu): stock per SKU per warehouse
//! with thresholds, the movement forms (采购入库, 调拨, 报损) and log,
//! counts (盘点), and warehouses.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::api::{movement_filter, shortage_message, stock_filter};
use super::store::{
    self, CountDetail, CountFilter, CountLine, CountLineInput, MoveInput, Movement, SkuTotal,
    StockCount, StockRow, Warehouse, WarehouseInput,
};
use crate::error::FieldErrors;
use crate::export::{self, ExportFormat, Table};
use crate::identity::Need;
use crate::state::AppState;
use crate::stock::{StockRead, StockWrite};
use crate::web::list::{ListParams, Pager};
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stock", get(stock_list))
        .route("/stock/export", get(stock_export))
        .route("/stock/low-alert", post(low_alert))
        .route("/stock/in", get(purchase_form).post(purchase_post))
        .route("/stock/transfer", get(transfer_form).post(transfer_post))
        .route("/stock/write-off", get(write_off_form).post(write_off_post))
        .route("/stock/movements", get(movement_list))
        .route("/stock/movements/export", get(movement_export))
        .route("/stock/counts", get(count_list).post(count_start))
        .route("/stock/counts/{id}", get(count_page))
        .route("/stock/counts/{id}/lines", post(count_save))
        .route(
            "/stock/counts/{id}/finish",
            get(finish_page).post(finish_post),
        )
        .route("/stock/counts/{id}/cancel", post(count_cancel))
        .route(
            "/stock/warehouses",
            get(warehouse_list).post(warehouse_create),
        )
        .route("/stock/warehouses/new", get(warehouse_new))
        .route("/stock/warehouses/{id}", post(warehouse_update))
        .route("/stock/warehouses/{id}/edit", get(warehouse_edit))
        .route("/stock/warehouses/{id}/default", post(warehouse_default))
        .route("/stock/warehouses/{id}/active", post(warehouse_active))
}

const GOODS: (&str, Option<&str>) = ("menu.goods", None);

/// The first message of a refused form, for a flash banner.
fn first_key(e: &FieldErrors) -> &str {
    e.0.first()
        .map(|x| x.1.as_str())
        .unwrap_or("error.validation")
}

/// A `back` link from a form, only if it stays on the stock pages.
fn back_to(form: &FormPairs, default: &str) -> String {
    let b = form.get("back");
    if b.starts_with("/stock") && !b.contains("//") {
        b.to_string()
    } else {
        default.to_string()
    }
}

// ---------------------------------------------------------------- stock

/// One SKU on the stock page: its warehouses and the total across all.
pub struct SkuGroup {
    pub sku_code: String,
    pub product_name: String,
    pub spec: String,
    pub rows: Vec<StockRow>,
    pub total: SkuTotal,
}

#[derive(Template)]
#[template(path = "stock/stock.html")]
struct StockPage {
    ctx: PageCtx,
    params: ListParams,
    warehouses: Vec<Warehouse>,
    groups: Vec<SkuGroup>,
    pager: Pager,
    back: String,
}

impl StockPage {
    fn selected(&self, id: &i64) -> bool {
        self.params.get_i64("warehouse") == Some(*id)
    }
}

async fn stock_list(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let (rows, info) = store::stock(&s.db, &stock_filter(&params), params.page()).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.sku_id).collect();
    let totals = store::sku_totals(&s.db, &ids).await?;
    // Rows come by SKU code, so each SKU's rows are consecutive.
    let mut groups: Vec<SkuGroup> = Vec::new();
    for r in rows {
        match groups.last_mut() {
            Some(g) if g.sku_code == r.sku_code => g.rows.push(r),
            _ => groups.push(SkuGroup {
                sku_code: r.sku_code.clone(),
                product_name: r.product_name.clone(),
                spec: r.spec.clone(),
                total: totals.get(&r.sku_id).cloned().unwrap_or_default(),
                rows: vec![r],
            }),
        }
    }
    Ok(web::page(StockPage {
        ctx: ctx.titled("menu.stock", &[GOODS]),
        warehouses: store::warehouses(&s.db).await?,
        pager: params.pager(info),
        back: params.href_with(&[]),
        params,
        groups,
    }))
}

async fn stock_export(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let page = weiops_core::paging::PageRequest {
        page: 1,
        per_page: export::MAX_EXPORT_ROWS,
    };
    let (rows, _) = store::stock(&s.db, &stock_filter(&params), page).await?;
    let t = |k: &str| ctx.t(k);
    let table = Table {
        sheet: t("menu.stock"),
        headers: vec![
            t("stock.sku_code"),
            t("stock.product"),
            t("stock.spec"),
            t("warehouse.code"),
            t("warehouse.name"),
            t("stock.on_hand"),
            t("stock.reserved"),
            t("stock.available"),
            t("stock.low_alert"),
            t("stock.low"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.sku_code.clone(),
                    r.product_name.clone(),
                    r.spec.clone(),
                    r.warehouse_code.clone(),
                    r.warehouse_name.clone(),
                    r.on_hand.to_string(),
                    r.reserved.to_string(),
                    r.available.to_string(),
                    r.low_alert.to_string(),
                    if r.low {
                        t("common.yes")
                    } else {
                        String::new()
                    },
                ]
            })
            .collect(),
    };
    export::respond(&table, format, "stock")
}

async fn low_alert(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    form: FormPairs,
) -> Result<Response> {
    let back = back_to(&form, "/stock");
    let parse = |k: &str| form.get(k).trim().parse::<i64>().ok();
    let (Some(warehouse), Some(sku)) = (parse("warehouse_id"), parse("sku_id")) else {
        return Err(Error::BadRequest("error.bad_form"));
    };
    let level = parse("low_alert").unwrap_or(-1);
    match store::set_low_alert(&s.db, &who.actor(), warehouse, sku, level).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &back,
            "success",
            "common.saved",
            "",
        )),
        Err(Error::Validation(e)) => {
            Ok(web::redirect_with_flash(&back, "error", first_key(&e), ""))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- movement forms

#[derive(Template)]
#[template(path = "stock/move_form.html")]
struct MoveForm {
    ctx: PageCtx,
    /// `purchase_in`, `transfer` or `write_off`.
    kind: &'static str,
    action: &'static str,
    warehouses: Vec<Warehouse>,
    input: MoveInput,
    qty: String,
    errors: FieldErrors,
    /// Why it was refused (a shortage), in words.
    problem: Option<String>,
}

impl MoveForm {
    fn is(&self, field: &str, id: &i64) -> bool {
        let v = match field {
            "from" => self.input.from_warehouse_id,
            "to" => self.input.to_warehouse_id,
            _ => self.input.warehouse_id,
        };
        v == Some(*id)
    }
}

fn move_meta(kind: &str) -> (&'static str, &'static str, &'static str) {
    match kind {
        "transfer" => ("transfer", "/stock/transfer", "stock.transfer_title"),
        "write_off" => ("write_off", "/stock/write-off", "stock.write_off_title"),
        _ => ("purchase_in", "/stock/in", "stock.purchase_title"),
    }
}

async fn move_form(
    s: &AppState,
    ctx: PageCtx,
    kind: &str,
    params: &ListParams,
) -> Result<Response> {
    let (kind, action, title) = move_meta(kind);
    let warehouses: Vec<Warehouse> = store::warehouses(&s.db)
        .await?
        .into_iter()
        .filter(|w| w.active)
        .collect();
    let default = warehouses.iter().find(|w| w.is_default).map(|w| w.id);
    let chosen = params.get_i64("warehouse").or(default);
    let input = MoveInput {
        kind: kind.to_string(),
        warehouse_id: chosen,
        from_warehouse_id: chosen,
        to_warehouse_id: None,
        sku_code: params.value("sku"),
        qty: 0,
        reason: String::new(),
    };
    Ok(web::page(MoveForm {
        ctx: ctx.titled(title, &[GOODS, ("menu.stock", Some("/stock"))]),
        kind,
        action,
        warehouses,
        input,
        qty: String::new(),
        errors: FieldErrors::default(),
        problem: None,
    }))
}

async fn move_post(
    s: &AppState,
    who: &Need<StockWrite>,
    ctx: PageCtx,
    kind: &str,
    form: FormPairs,
) -> Result<Response> {
    let (kind, action, title) = move_meta(kind);
    let id = |k: &str| form.get(k).trim().parse::<i64>().ok();
    let input = MoveInput {
        kind: kind.to_string(),
        warehouse_id: id("warehouse_id"),
        from_warehouse_id: id("from_warehouse_id"),
        to_warehouse_id: id("to_warehouse_id"),
        sku_code: form.get("sku_code").trim().to_string(),
        qty: form.get("qty").trim().parse().unwrap_or(0),
        reason: form.get("reason").to_string(),
    };
    let (errors, problem, status) = match store::apply_move(&s.db, &who.actor(), &input).await {
        Ok(Ok(made)) => {
            let Some(first) = made.first() else {
                return Ok(Redirect::to("/stock/movements").into_response());
            };
            let to = format!(
                "/stock/movements?ref_type={}&ref_id={}",
                web::url_encode(&first.ref_type),
                web::url_encode(&first.ref_id)
            );
            return Ok(web::redirect_with_flash(
                &to,
                "success",
                "stock.moved_flash",
                &first.sku_code,
            ));
        }
        Ok(Err(short)) => (
            FieldErrors::default(),
            Some(shortage_message(ctx.locale, "stock.short", &short)),
            StatusCode::CONFLICT,
        ),
        Err(Error::Validation(e)) => (e, None, StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => return Err(e),
    };
    let warehouses = store::warehouses(&s.db)
        .await?
        .into_iter()
        .filter(|w| w.active)
        .collect();
    Ok(web::page_with_status(
        status,
        MoveForm {
            ctx: ctx.titled(title, &[GOODS, ("menu.stock", Some("/stock"))]),
            kind,
            action,
            warehouses,
            qty: form.get("qty").trim().to_string(),
            input,
            errors,
            problem,
        },
    ))
}

async fn purchase_form(
    State(s): State<AppState>,
    _who: Need<StockWrite>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    move_form(&s, ctx, "purchase_in", &params).await
}

async fn purchase_post(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    move_post(&s, &who, ctx, "purchase_in", form).await
}

async fn transfer_form(
    State(s): State<AppState>,
    _who: Need<StockWrite>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    move_form(&s, ctx, "transfer", &params).await
}

async fn transfer_post(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    move_post(&s, &who, ctx, "transfer", form).await
}

async fn write_off_form(
    State(s): State<AppState>,
    _who: Need<StockWrite>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    move_form(&s, ctx, "write_off", &params).await
}

async fn write_off_post(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    move_post(&s, &who, ctx, "write_off", form).await
}

// ---------------------------------------------------------------- movement log

#[derive(Template)]
#[template(path = "stock/movements.html")]
struct MovementsPage {
    ctx: PageCtx,
    params: ListParams,
    warehouses: Vec<Warehouse>,
    kinds: &'static [&'static str],
    movements: Vec<Movement>,
    pager: Pager,
}

impl MovementsPage {
    fn selected(&self, id: &i64) -> bool {
        self.params.get_i64("warehouse") == Some(*id)
    }
}

async fn movement_list(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let (movements, info) =
        store::movements(&s.db, &movement_filter(&params), params.page()).await?;
    Ok(web::page(MovementsPage {
        ctx: ctx.titled("menu.stock_movements", &[GOODS]),
        warehouses: store::warehouses(&s.db).await?,
        kinds: store::KINDS,
        pager: params.pager(info),
        params,
        movements,
    }))
}

async fn movement_export(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let format = ExportFormat::parse(params.get("format"))?;
    let page = weiops_core::paging::PageRequest {
        page: 1,
        per_page: export::MAX_EXPORT_ROWS,
    };
    let (rows, _) = store::movements(&s.db, &movement_filter(&params), page).await?;
    let t = |k: &str| ctx.t(k);
    let table = Table {
        sheet: t("menu.stock_movements"),
        headers: vec![
            t("stock.at"),
            t("warehouse.code"),
            t("warehouse.name"),
            t("stock.sku_code"),
            t("stock.product"),
            t("stock.kind"),
            t("stock.qty"),
            t("stock.on_hand_after"),
            t("stock.reason"),
            t("stock.reference"),
            t("stock.actor"),
        ],
        rows: rows
            .iter()
            .map(|m| {
                vec![
                    ctx.time(m.at),
                    m.warehouse_code.clone(),
                    m.warehouse_name.clone(),
                    m.sku_code.clone(),
                    m.product_name.clone(),
                    ctx.tk(format!("stock.kinds.{}", m.kind)),
                    m.signed_qty(),
                    m.on_hand_after.to_string(),
                    m.reason.clone(),
                    format!("{} {}", m.ref_type, m.ref_id).trim().to_string(),
                    m.actor_name.clone(),
                ]
            })
            .collect(),
    };
    export::respond(&table, format, "stock-movements")
}

// ---------------------------------------------------------------- counts

#[derive(Template)]
#[template(path = "stock/counts.html")]
struct CountsPage {
    ctx: PageCtx,
    params: ListParams,
    warehouses: Vec<Warehouse>,
    counts: Vec<StockCount>,
    pager: Pager,
}

impl CountsPage {
    fn selected(&self, id: &i64) -> bool {
        self.params.get_i64("warehouse") == Some(*id)
    }
}

async fn count_list(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    params: ListParams,
) -> Result<Response> {
    let filter = CountFilter {
        warehouse: params.get_i64("warehouse"),
        status: params.get("status").map(str::to_string),
    };
    let (counts, info) = store::counts(&s.db, &filter, params.page()).await?;
    Ok(web::page(CountsPage {
        ctx: ctx.titled("menu.stock_counts", &[GOODS]),
        warehouses: store::warehouses(&s.db).await?,
        pager: params.pager(info),
        params,
        counts,
    }))
}

async fn count_start(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    form: FormPairs,
) -> Result<Response> {
    let Ok(warehouse) = form.get("warehouse_id").trim().parse::<i64>() else {
        return Ok(web::redirect_with_flash(
            "/stock/counts",
            "error",
            "warehouse.not_found",
            "",
        ));
    };
    match store::start_count(&s.db, &who.actor(), warehouse, form.get("note")).await {
        Ok(id) => Ok(web::redirect_with_flash(
            &format!("/stock/counts/{id}"),
            "success",
            "count.started_flash",
            "",
        )),
        Err(Error::Conflict(key)) => {
            Ok(web::redirect_with_flash("/stock/counts", "error", key, ""))
        }
        Err(Error::Validation(e)) => Ok(web::redirect_with_flash(
            "/stock/counts",
            "error",
            first_key(&e),
            "",
        )),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "stock/count.html")]
struct CountPage {
    ctx: PageCtx,
    d: CountDetail,
}

async fn count_page(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let d = store::count(&s.db, id).await?;
    let title = ctx.tn("count.title_n", d.count.id);
    Ok(web::page(CountPage {
        ctx: ctx.titled_text(
            title,
            &[GOODS, ("menu.stock_counts", Some("/stock/counts"))],
        ),
        d,
    }))
}

/// The counted figures of the count form: `c_<sku id>` per line (empty:
/// not counted) and one optional new line (`add_sku`, `add_counted`).
fn count_lines_of(form: &FormPairs) -> Result<Vec<CountLineInput>> {
    let counted = |v: &str| -> Result<Option<i64>> {
        let v = v.trim();
        if v.is_empty() {
            Ok(None)
        } else {
            v.parse()
                .map(Some)
                .map_err(|_| Error::Validation(bad_counted()))
        }
    };
    let mut out = Vec::new();
    for (k, v) in &form.0 {
        if let Some(id) = k.strip_prefix("c_") {
            let sku_id = id
                .parse()
                .map_err(|_| Error::BadRequest("error.bad_form"))?;
            out.push(CountLineInput {
                sku_id: Some(sku_id),
                sku_code: None,
                counted: counted(v)?,
            });
        }
    }
    let add = form.get("add_sku").trim();
    if !add.is_empty() {
        out.push(CountLineInput {
            sku_id: None,
            sku_code: Some(add.to_string()),
            counted: counted(form.get("add_counted"))?,
        });
    }
    Ok(out)
}

fn bad_counted() -> FieldErrors {
    let mut e = FieldErrors::default();
    e.add("counted", "count.bad_counted");
    e
}

async fn count_save(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let back = format!("/stock/counts/{id}");
    let result = match count_lines_of(&form) {
        Ok(lines) => store::save_lines(&s.db, &who.actor(), id, &lines).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) if form.get("then") == "review" => {
            Ok(Redirect::to(&format!("/stock/counts/{id}/finish")).into_response())
        }
        Ok(()) => Ok(web::redirect_with_flash(
            &back,
            "success",
            "common.saved",
            "",
        )),
        Err(Error::Validation(e)) => {
            Ok(web::redirect_with_flash(&back, "error", first_key(&e), ""))
        }
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(&back, "error", key, "")),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "stock/count_finish.html")]
struct FinishPage {
    ctx: PageCtx,
    d: CountDetail,
    /// Lines that change stock.
    changes: Vec<CountLine>,
    uncounted: i64,
    gain: i64,
    loss: i64,
    message: String,
    problem: Option<String>,
}

impl FinishPage {
    /// Whether finishing would take this line below what is reserved now.
    fn below_reserved(&self, l: &CountLine) -> bool {
        l.delta.is_some_and(|d| d < 0 && l.on_hand + d < l.reserved)
    }
}

fn finish_view(ctx: PageCtx, d: CountDetail, problem: Option<String>) -> FinishPage {
    let changes: Vec<CountLine> = d
        .lines
        .iter()
        .filter(|l| l.delta.is_some())
        .cloned()
        .collect();
    let uncounted = d.lines.iter().filter(|l| l.counted.is_none()).count() as i64;
    let gain = changes
        .iter()
        .filter_map(|l| l.delta)
        .filter(|x| *x > 0)
        .sum();
    let loss = changes
        .iter()
        .filter_map(|l| l.delta)
        .filter(|x| *x < 0)
        .sum();
    let id = d.count.id;
    let title = ctx.t("count.review_title");
    let message = ctx.tf(
        "count.review_message",
        &[
            ("warehouse", &d.count.warehouse_name),
            ("n", &changes.len().to_string()),
        ],
    );
    let count_crumb = ctx.tn("count.title_n", id);
    let mut ctx = ctx.titled_text(
        title,
        &[GOODS, ("menu.stock_counts", Some("/stock/counts"))],
    );
    let at = ctx.crumbs.len() - 1;
    ctx.crumbs
        .insert(at, (count_crumb, Some(format!("/stock/counts/{id}"))));
    FinishPage {
        ctx,
        d,
        changes,
        uncounted,
        gain,
        loss,
        message,
        problem,
    }
}

async fn finish_page(
    State(s): State<AppState>,
    _who: Need<StockWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let d = store::count(&s.db, id).await?;
    if !d.count.is_open() {
        return Ok(Redirect::to(&format!("/stock/counts/{id}")).into_response());
    }
    Ok(web::page(finish_view(ctx, d, None)))
}

async fn finish_post(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    if !form.confirmed() {
        return Ok(Redirect::to(&format!("/stock/counts/{id}/finish")).into_response());
    }
    match store::finish_count(&s.db, &who.actor(), id).await {
        Ok(Ok(_)) => Ok(web::redirect_with_flash(
            &format!("/stock/counts/{id}"),
            "success",
            "count.finished_flash",
            "",
        )),
        Ok(Err(short)) => {
            let problem = shortage_message(ctx.locale, "count.below_reserved", &short);
            let d = store::count(&s.db, id).await?;
            Ok(web::page_with_status(
                StatusCode::CONFLICT,
                finish_view(ctx, d, Some(problem)),
            ))
        }
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(
            &format!("/stock/counts/{id}"),
            "error",
            key,
            "",
        )),
        Err(e) => Err(e),
    }
}

async fn count_cancel(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let back = format!("/stock/counts/{id}");
    if !form.confirmed() {
        let msg = ctx.tn("count.confirm_cancel", id);
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/stock/counts/{id}/cancel"),
            form.carry(),
            &back,
            "count.cancel",
        ));
    }
    match store::cancel_count(&s.db, &who.actor(), id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &back,
            "success",
            "count.cancelled_flash",
            "",
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(&back, "error", key, "")),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- warehouses

#[derive(Template)]
#[template(path = "stock/warehouses.html")]
struct WarehousesPage {
    ctx: PageCtx,
    warehouses: Vec<Warehouse>,
}

async fn warehouse_list(
    State(s): State<AppState>,
    _who: Need<StockRead>,
    ctx: PageCtx,
) -> Result<Response> {
    Ok(web::page(WarehousesPage {
        ctx: ctx.titled("menu.warehouses", &[GOODS]),
        warehouses: store::warehouses(&s.db).await?,
    }))
}

#[derive(Template)]
#[template(path = "stock/warehouse_form.html")]
struct WarehouseForm {
    ctx: PageCtx,
    /// The warehouse being edited; `None` for a new one.
    id: Option<i64>,
    /// Whether the warehouse is the default already.
    was_default: bool,
    input: WarehouseInput,
    errors: FieldErrors,
}

fn warehouse_form(
    ctx: PageCtx,
    id: Option<i64>,
    was_default: bool,
    input: WarehouseInput,
    errors: FieldErrors,
) -> WarehouseForm {
    let title = if id.is_some() {
        "warehouse.edit"
    } else {
        "warehouse.new"
    };
    WarehouseForm {
        ctx: ctx.titled(
            title,
            &[GOODS, ("menu.warehouses", Some("/stock/warehouses"))],
        ),
        id,
        was_default,
        input,
        errors,
    }
}

async fn warehouse_new(_who: Need<StockWrite>, ctx: PageCtx) -> Response {
    web::page(warehouse_form(
        ctx,
        None,
        false,
        WarehouseInput {
            active: true,
            ..Default::default()
        },
        FieldErrors::default(),
    ))
}

fn warehouse_input_of(form: &FormPairs, active: bool, is_default: bool) -> WarehouseInput {
    WarehouseInput {
        code: form.get("code").to_string(),
        name: form.get("name").to_string(),
        address: form.get("address").to_string(),
        active,
        is_default: is_default || form.get("is_default") == "1",
    }
}

async fn warehouse_create(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let input = warehouse_input_of(&form, true, false);
    match store::create_warehouse(&s.db, &who.actor(), &input).await {
        Ok(_) => Ok(web::redirect_with_flash(
            "/stock/warehouses",
            "success",
            "warehouse.created_flash",
            input.code.trim(),
        )),
        Err(Error::Validation(errors)) => Ok(web::page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            warehouse_form(ctx, None, false, input, errors),
        )),
        Err(e) => Err(e),
    }
}

async fn warehouse_edit(
    State(s): State<AppState>,
    _who: Need<StockWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let w = store::warehouse(&s.db, id).await?;
    Ok(web::page(warehouse_form(
        ctx,
        Some(id),
        w.is_default,
        w.input(),
        FieldErrors::default(),
    )))
}

async fn warehouse_update(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let w = store::warehouse(&s.db, id).await?;
    let input = warehouse_input_of(&form, w.active, w.is_default);
    match store::update_warehouse(&s.db, &who.actor(), id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/stock/warehouses",
            "success",
            "common.saved",
            "",
        )),
        Err(Error::Validation(errors)) => Ok(web::page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            warehouse_form(ctx, Some(id), w.is_default, input, errors),
        )),
        Err(e) => Err(e),
    }
}

async fn warehouse_default(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    Path(id): Path<i64>,
) -> Result<Response> {
    let w = store::warehouse(&s.db, id).await?;
    let input = WarehouseInput {
        is_default: true,
        ..w.input()
    };
    match store::update_warehouse(&s.db, &who.actor(), id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/stock/warehouses",
            "success",
            "warehouse.default_flash",
            &w.code,
        )),
        Err(Error::Validation(e)) => Ok(web::redirect_with_flash(
            "/stock/warehouses",
            "error",
            first_key(&e),
            "",
        )),
        Err(e) => Err(e),
    }
}

async fn warehouse_active(
    State(s): State<AppState>,
    who: Need<StockWrite>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    form: FormPairs,
) -> Result<Response> {
    let w = store::warehouse(&s.db, id).await?;
    let active = form.get("active") == "1";
    if !active && !form.confirmed() {
        let msg = ctx.tf(
            "warehouse.confirm_deactivate",
            &[("code", &w.code), ("name", &w.name)],
        );
        return Ok(web::confirm(
            ctx,
            msg,
            &format!("/stock/warehouses/{id}/active"),
            form.carry(),
            "/stock/warehouses",
            "warehouse.deactivate",
        ));
    }
    let input = WarehouseInput {
        active,
        ..w.input()
    };
    match store::update_warehouse(&s.db, &who.actor(), id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/stock/warehouses",
            "success",
            "common.saved",
            "",
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash(
            "/stock/warehouses",
            "error",
            key,
            &w.code,
        )),
        Err(Error::Validation(e)) => Ok(web::redirect_with_flash(
            "/stock/warehouses",
            "error",
            first_key(&e),
            &w.code,
        )),
        Err(e) => Err(e),
    }
}
