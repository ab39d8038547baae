//! 打单发货 pages: what waits to ship, printing waybills and packing lists,
//! typing or scanning tracking numbers, importing them from a sheet.
//!
//! Everyone who may read orders sees the queue; everything that prints,
//! picks or ships takes `shipping.write`, and the page shows those buttons
//! only to its holders. Receivers' phones are shown in full to those who
//! ship (the courier needs them) and to holders of `agents.pii`; anyone
//! else sees them masked as agents' phones are.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use super::code128;
use super::store::{self, Carrier, NewCarrier, Parcel, Shipment};
use crate::agents::AgentsPii;
use crate::error::RowProblem;
use crate::identity::Need;
use crate::orders::{OrdersRead, ShippingWrite};
use crate::registry::Permission;
use crate::state::AppState;
use crate::web::{self, FormPairs, PageCtx};
use crate::{Error, Result};

const GOODS: (&str, Option<&str>) = ("menu.goods", None);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shipping", get(list))
        .route("/shipping/waybills", get(waybills))
        .route("/shipping/packing", get(packing))
        .route("/shipping/ship", post(ship))
        .route("/shipping/allocate", post(allocate))
        .route("/shipping/carriers", post(add_carrier))
        .route(
            "/shipping/import",
            post(import).layer(DefaultBodyLimit::max(16 * 1024 * 1024)),
        )
}

#[derive(Template)]
#[template(path = "shipping/list.html")]
struct ListPage {
    ctx: PageCtx,
    parcels: Vec<Parcel>,
    carriers: Vec<Carrier>,
    recent: Vec<Shipment>,
    problems: Vec<RowProblem>,
}

impl ListPage {
    fn may_ship(&self) -> bool {
        self.ctx.can(ShippingWrite::CODE)
    }

    /// Waiting to be picked (paid), picked, or a cloud-stock request.
    fn stage_key(&self, p: &Parcel) -> String {
        format!("shipping.stage.{}", p.status)
    }
}

/// The receiver's phone as `ctx`'s viewer may see it: in full for those
/// who ship or hold `agents.pii`, else masked like an agent's phone.
fn phone_for(ctx: &PageCtx, phone: &str) -> String {
    if ctx.can(ShippingWrite::CODE) || ctx.can(AgentsPii::CODE) {
        phone.to_string()
    } else {
        weiops_core::agents::mask_phone(phone)
    }
}

async fn render_list(
    s: &AppState,
    ctx: PageCtx,
    problems: Vec<RowProblem>,
    status: StatusCode,
) -> Result<Response> {
    let mut parcels = store::to_ship(&s.db).await?;
    for p in &mut parcels {
        p.receiver_phone = phone_for(&ctx, &p.receiver_phone);
    }
    Ok(web::page_with_status(
        status,
        ListPage {
            ctx: ctx.titled("shipping.title", &[GOODS]),
            parcels,
            carriers: store::carriers(&s.db).await?,
            recent: store::shipments(&s.db, 20, 0).await?.0,
            problems,
        },
    ))
}

async fn list(State(s): State<AppState>, _who: Need<OrdersRead>, ctx: PageCtx) -> Result<Response> {
    render_list(&s, ctx, Vec::new(), StatusCode::OK).await
}

/// The parcels picked on the page (`no` repeated), in that order.
async fn picked(s: &AppState, form: &FormPairs) -> Result<Vec<Parcel>> {
    let nos = form.all("no");
    if nos.is_empty() || nos.len() > store::MAX_BATCH {
        return Err(Error::BadRequest("shipping.pick_some"));
    }
    let mut out = Vec::with_capacity(nos.len());
    for no in nos {
        out.push(store::waiting(&s.db, no).await?);
    }
    Ok(out)
}

struct Waybill {
    parcel: Parcel,
    phone: String,
    carrier: String,
    barcode: String,
}

#[derive(Template)]
#[template(path = "shipping/waybills.html")]
struct WaybillsPage {
    lang: &'static str,
    version: &'static str,
    title: String,
    print_label: String,
    to_label: String,
    from_label: String,
    waybills: Vec<Waybill>,
}

/// One 100×180 mm page per parcel; `privacy=1` masks the receiver's phone.
async fn waybills(
    State(s): State<AppState>,
    _who: Need<ShippingWrite>,
    ctx: PageCtx,
    axum::extract::Query(pairs): axum::extract::Query<Vec<(String, String)>>,
) -> Result<Response> {
    let form = FormPairs(pairs);
    let parcels = picked(&s, &form).await?;
    let privacy = form.get("privacy") == "1";
    let carriers = store::carriers(&s.db).await?;
    let waybills = parcels
        .into_iter()
        .map(|p| {
            let chosen = form.get(&format!("carrier_{}", p.no));
            let carrier = carriers
                .iter()
                .find(|c| c.code == chosen)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            Waybill {
                phone: if privacy {
                    store::mask_phone(&p.receiver_phone)
                } else {
                    p.receiver_phone.clone()
                },
                barcode: code128::svg(&p.no, 2, 70).unwrap_or_default(),
                carrier,
                parcel: p,
            }
        })
        .collect();
    Ok(web::page(WaybillsPage {
        lang: ctx.locale.html_lang(),
        version: ctx.version,
        title: ctx.t("shipping.waybills"),
        print_label: ctx.t("shipping.print"),
        to_label: ctx.t("shipping.to"),
        from_label: ctx.t("shipping.from"),
        waybills,
    }))
}

#[derive(Template)]
#[template(path = "shipping/packing.html")]
struct PackingPage {
    lang: &'static str,
    version: &'static str,
    title: String,
    print_label: String,
    sku_label: String,
    product_label: String,
    spec_label: String,
    qty_label: String,
    receiver_label: String,
    phone_label: String,
    address_label: String,
    parcels: Vec<Parcel>,
}

/// The 配货单: what to pick for each parcel and where it goes. It may
/// travel in the parcel, so the phone follows the PII rule of the order
/// pages (masked without `agents.pii`).
async fn packing(
    State(s): State<AppState>,
    _who: Need<ShippingWrite>,
    ctx: PageCtx,
    axum::extract::Query(pairs): axum::extract::Query<Vec<(String, String)>>,
) -> Result<Response> {
    let mut parcels = picked(&s, &FormPairs(pairs)).await?;
    if !ctx.can(AgentsPii::CODE) {
        for p in &mut parcels {
            p.receiver_phone = weiops_core::agents::mask_phone(&p.receiver_phone);
        }
    }
    Ok(web::page(PackingPage {
        lang: ctx.locale.html_lang(),
        version: ctx.version,
        title: ctx.t("shipping.packing_list"),
        print_label: ctx.t("shipping.print"),
        sku_label: ctx.t("stock.sku_code"),
        product_label: ctx.t("stock.product"),
        spec_label: ctx.t("stock.spec"),
        qty_label: ctx.t("shipping.qty"),
        receiver_label: ctx.t("shop.receiver_name"),
        phone_label: ctx.t("shop.receiver_phone"),
        address_label: ctx.t("shop.receiver_address"),
        parcels,
    }))
}

/// The flash of a refused parcel: which one, then why.
fn refused(ctx: &PageCtx, no: &str, reason: &str) -> Response {
    web::redirect_with_flash(
        "/shipping",
        "error",
        "shipping.parcel_refused",
        &format!("{no} {}", ctx.t(reason)),
    )
}

/// Ships every row with a tracking number typed (only the ticked rows when
/// some are ticked). Stops at the first refusal and says which parcel.
async fn ship(
    State(s): State<AppState>,
    who: Need<ShippingWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let ticked = form.all("no");
    let rows: Vec<(String, String, String)> = form
        .0
        .iter()
        .filter_map(|(k, v)| {
            let no = k.strip_prefix("tracking_")?;
            let v = v.trim();
            (!v.is_empty() && (ticked.is_empty() || ticked.contains(&no))).then(|| {
                (
                    no.to_string(),
                    form.get(&format!("carrier_{no}")).to_string(),
                    v.to_string(),
                )
            })
        })
        .collect();
    if rows.is_empty() {
        return Ok(web::redirect_with_flash(
            "/shipping",
            "error",
            "shipping.no_tracking",
            "",
        ));
    }
    let actor = who.actor();
    let mut done = 0usize;
    for (no, carrier, tracking) in &rows {
        match store::ship(&s.db, &actor, no, carrier, tracking).await {
            Ok(_) => done += 1,
            Err(Error::Conflict(key) | Error::Refused(key) | Error::BadRequest(key)) => {
                return Ok(refused(&ctx, no, key));
            }
            Err(Error::Validation(_)) => return Ok(refused(&ctx, no, "shipping.bad_tracking")),
            Err(e) => return Err(e),
        }
    }
    Ok(web::redirect_with_flash(
        "/shipping",
        "success",
        "shipping.shipped_flash",
        &done.to_string(),
    ))
}

/// 开始配货 for the ticked orders: each waiting paid order moves to
/// 配货中. Stops at the first refusal and says which one.
async fn allocate(
    State(s): State<AppState>,
    who: Need<ShippingWrite>,
    ctx: PageCtx,
    form: FormPairs,
) -> Result<Response> {
    let nos = form.all("no");
    if nos.is_empty() || nos.len() > store::MAX_BATCH {
        return Ok(web::redirect_with_flash(
            "/shipping",
            "error",
            "shipping.pick_some",
            "",
        ));
    }
    let actor = who.actor();
    let mut done = 0usize;
    for no in nos {
        match store::allocate(&s.db, &actor, no).await {
            Ok(moved) => done += usize::from(moved),
            Err(Error::Conflict(key) | Error::Refused(key)) => {
                return Ok(refused(&ctx, no, key));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(web::redirect_with_flash(
        "/shipping",
        "success",
        "shipping.allocated_flash",
        &done.to_string(),
    ))
}

async fn import(
    State(s): State<AppState>,
    who: Need<ShippingWrite>,
    ctx: PageCtx,
    multipart: Multipart,
) -> Result<Response> {
    let Some(bytes) = web::uploaded_file(multipart, "file").await? else {
        return Ok(web::redirect_with_flash(
            "/shipping",
            "error",
            "import.no_file",
            "",
        ));
    };
    match store::import(&s.db, &who.actor(), &bytes).await {
        Ok(n) => Ok(web::redirect_with_flash(
            "/shipping",
            "success",
            "shipping.shipped_flash",
            &n.to_string(),
        )),
        Err(Error::ImportRejected(problems)) => {
            render_list(&s, ctx, problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(Error::BadRequest(key)) => Ok(web::redirect_with_flash("/shipping", "error", key, "")),
        Err(e) => Err(e),
    }
}

async fn add_carrier(
    State(s): State<AppState>,
    who: Need<ShippingWrite>,
    form: FormPairs,
) -> Result<Response> {
    let input = NewCarrier {
        code: form.get("code").to_string(),
        name: form.get("name").to_string(),
    };
    match store::add_carrier(&s.db, &who.actor(), &input).await {
        Ok(c) => Ok(web::redirect_with_flash(
            "/shipping",
            "success",
            "carrier.added_flash",
            &c.name,
        )),
        Err(Error::Conflict(key)) => Ok(web::redirect_with_flash("/shipping", "error", key, "")),
        Err(Error::Validation(_)) => Ok(web::redirect_with_flash(
            "/shipping",
            "error",
            "carrier.bad_code",
            "",
        )),
        Err(e) => Err(e),
    }
}
