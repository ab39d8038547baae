//! 进货 in the agent portal (phone-first): the catalogue at the agent's
//! level price, placing an order (ship to me, ship to my customer 代发, or
//! keep in cloud stock), my orders with their timeline, paying from the
//! prepaid balance or by a transfer with a proof image, cancelling,
//! confirming receipt, and topping up the balance.

use std::borrow::Borrow;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use weiops_core::money::Fen;
use weiops_core::purchase::{OrderAction, OrderState};

use super::model::{self, Fulfilment, NewLine, NewOrder};
use super::payments::{self, NewPayment, Payment};
use super::purchase::{self, LineView, TimelineEvent};
use super::store::{self, Order, OrderFilter};
use crate::agents::portal::AgentSession;
use crate::audit::Actor;
use crate::error::FieldErrors;
use crate::products::store::SkuPrice;
use crate::state::AppState;
use crate::web::{self, FormPairs, PublicCtx};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/m/shop", get(shop).post(place))
        .route("/m/orders", get(my_orders))
        .route("/m/orders/{no}", get(my_order))
        .route("/m/orders/{no}/pay", post(pay_balance))
        .route(
            "/m/orders/{no}/transfer",
            post(pay_transfer).layer(DefaultBodyLimit::max(6 * 1024 * 1024)),
        )
        .route("/m/orders/{no}/cancel", post(cancel))
        .route("/m/orders/{no}/receive", post(receive))
        .route(
            "/m/topup",
            get(topup_page)
                .post(topup)
                .layer(DefaultBodyLimit::max(6 * 1024 * 1024)),
        )
}

fn actor_of(me: &AgentSession) -> Actor {
    Actor::system(&format!("agent:{}", me.agent.code))
}

fn money(fen: impl Borrow<i64>) -> String {
    Fen(*fen.borrow()).to_string()
}

// ---------------------------------------------------------------- shop

#[derive(Template)]
#[template(path = "orders/portal_shop.html")]
struct ShopPage {
    ctx: PublicCtx,
    items: Vec<SkuPrice>,
    form: FormPairs,
    errors: FieldErrors,
    message: Option<String>,
    balance: i64,
}

impl ShopPage {
    fn money(&self, fen: impl Borrow<i64>) -> String {
        money(fen)
    }

    fn qty(&self, sku: impl Borrow<i64>) -> String {
        self.form.get(&format!("qty_{}", sku.borrow())).to_string()
    }

    fn value(&self, name: &str) -> String {
        self.form.get(name).to_string()
    }

    fn fulfilment(&self) -> String {
        match self.form.get("fulfilment") {
            "" => "ship_to_me".to_string(),
            f => f.to_string(),
        }
    }

    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|k| self.ctx.t(k))
    }

    /// The cart as typed: (units, quantity × the level price in fen).
    /// Quantities that are not whole numbers ≥ 0 count as none, as the
    /// page's script does; placing the order checks them and prices every
    /// line again, so this figure only guides.
    fn cart(&self) -> (i64, i64) {
        let mut units: i64 = 0;
        let mut fen: i64 = 0;
        for i in &self.items {
            let Ok(qty) = self.qty(i.sku_id).trim().parse::<i64>() else {
                continue;
            };
            if qty <= 0 {
                continue;
            }
            units = units.saturating_add(qty);
            fen = fen.saturating_add(qty.saturating_mul(i.unit_price_fen));
        }
        (units, fen)
    }

    /// The first letter of a product without a picture, in its place.
    fn initial(&self, name: &str) -> String {
        name.chars().next().map(String::from).unwrap_or_default()
    }

    fn cart_units(&self) -> i64 {
        self.cart().0
    }

    fn cart_total(&self) -> String {
        money(self.cart().1)
    }
}

async fn render_shop(
    s: &AppState,
    ctx: PublicCtx,
    me: &AgentSession,
    form: FormPairs,
    errors: FieldErrors,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    let items = crate::products::store::catalogue_for_level(&s.db, me.agent.level).await?;
    let balance = crate::ledger::prepaid_balance(&s.db.pool, me.agent.id)
        .await?
        .0;
    Ok(web::page_with_status(
        status,
        ShopPage {
            ctx,
            items,
            form,
            errors,
            message,
            balance,
        },
    ))
}

async fn shop(State(s): State<AppState>, ctx: PublicCtx, me: AgentSession) -> Result<Response> {
    // Ship-to-me orders default to the agent's own name and phone.
    let form = FormPairs(vec![
        ("receiver_name".into(), me.agent.name.clone()),
        ("receiver_phone".into(), me.agent.phone.clone()),
    ]);
    render_shop(
        &s,
        ctx,
        &me,
        form,
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn place(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    form: FormPairs,
) -> Result<Response> {
    let mut lines = Vec::new();
    let mut errors = FieldErrors::default();
    for (k, v) in &form.0 {
        let Some(id) = k.strip_prefix("qty_").and_then(|id| id.parse::<i64>().ok()) else {
            continue;
        };
        match model::form_qty(v) {
            None => {}
            Some(Ok(qty)) => lines.push(NewLine { sku_id: id, qty }),
            Some(Err(_)) => errors.add(&format!("qty_{id}"), "orders.bad_qty"),
        }
    }
    let Some(fulfilment) = Fulfilment::parse(form.get("fulfilment")) else {
        errors.add("fulfilment", "orders.bad_fulfilment");
        return render_shop(
            &s,
            ctx,
            &me,
            form,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    if !errors.is_empty() {
        return render_shop(
            &s,
            ctx,
            &me,
            form,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let input = NewOrder {
        agent_id: me.agent.id,
        lines,
        fulfilment,
        receiver_name: form.get("receiver_name").to_string(),
        receiver_phone: form.get("receiver_phone").to_string(),
        receiver_address: form.get("receiver_address").to_string(),
        note: form.get("note").to_string(),
        warehouse_id: None,
    };
    match purchase::place(&s.db, &actor_of(&me), None, &input).await {
        Ok(o) => Ok(web::redirect_with_flash(
            &format!("/m/orders/{}", o.order_no),
            "success",
            "orders.placed_flash",
            "",
        )),
        Err(Error::Validation(f)) => {
            render_shop(
                &s,
                ctx,
                &me,
                form,
                f,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e @ (Error::Shortage { .. } | Error::Conflict(_) | Error::Refused(_))) => {
            let message = Some(e.report().message(ctx.locale));
            render_shop(
                &s,
                ctx,
                &me,
                form,
                FieldErrors::default(),
                message,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- my orders

#[derive(Template)]
#[template(path = "orders/portal_orders.html")]
struct OrdersPage {
    ctx: PublicCtx,
    orders: Vec<Order>,
    balance: i64,
}

impl OrdersPage {
    fn money(&self, fen: impl Borrow<i64>) -> String {
        money(fen)
    }

    fn status(&self, o: &Order) -> String {
        self.ctx.t(&format!("orders.status.{}", o.status))
    }

    fn time(&self, ms: impl Borrow<i64>) -> String {
        weiops_core::time::format_minute(*ms.borrow())
    }
}

async fn my_orders(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
) -> Result<Response> {
    let filter = OrderFilter {
        agent_id: Some(me.agent.id),
        ..OrderFilter::default()
    };
    let (orders, _) = store::list(
        &s.db,
        &filter,
        weiops_core::paging::PageRequest::new(Some(1), Some(50)),
    )
    .await?;
    let balance = crate::ledger::prepaid_balance(&s.db.pool, me.agent.id)
        .await?
        .0;
    Ok(web::page(OrdersPage {
        ctx,
        orders,
        balance,
    }))
}

#[derive(Template)]
#[template(path = "orders/portal_order.html")]
struct OrderPage {
    ctx: PublicCtx,
    o: Order,
    lines: Vec<LineView>,
    timeline: Vec<TimelineEvent>,
    payments: Vec<Payment>,
    balance: i64,
    message: Option<String>,
    /// Where it ships (the agent's own order: in full).
    delivery: Option<store::Delivery>,
}

impl OrderPage {
    /// The prepaid balance pays the whole order: then paying from it is
    /// the first offer; otherwise the transfer is, and the balance option
    /// shows how much is missing.
    fn balance_covers(&self) -> bool {
        self.balance >= self.o.amount_fen
    }

    fn balance_short(&self) -> String {
        self.ctx.locale.tf(
            "shop.balance_short",
            &[
                ("balance", &money(self.balance)),
                (
                    "missing",
                    &money(self.o.amount_fen.saturating_sub(self.balance)),
                ),
            ],
        )
    }

    fn money(&self, fen: impl Borrow<i64>) -> String {
        money(fen)
    }

    fn time(&self, ms: impl Borrow<i64>) -> String {
        weiops_core::time::format_minute(*ms.borrow())
    }

    fn status_of(&self, s: impl std::fmt::Display) -> String {
        self.ctx.t(&format!("orders.status.{s}"))
    }

    fn fulfilment(&self) -> String {
        self.ctx.t(&format!(
            "orders.fulfilment.{}",
            self.o.fulfilment.as_deref().unwrap_or("ship_to_me")
        ))
    }

    fn pending(&self) -> bool {
        self.o.status == OrderState::PendingPayment
    }

    fn can_request_aftersales(&self) -> bool {
        self.o.counted
    }

    /// Kept in cloud stock: only a refund (nothing to send back).
    fn cloud(&self) -> bool {
        self.o.fulfilment.as_deref() == Some("cloud")
    }

    fn can_receive(&self) -> bool {
        self.o.status == OrderState::Shipped
    }

    fn transfer_pending(&self) -> bool {
        self.payments.iter().any(|p| p.status == "pending")
    }

    /// Note keys of automatic events are shown translated.
    fn note(&self, n: &str) -> String {
        if n.starts_with("orders.") {
            self.ctx.t(n)
        } else {
            n.to_string()
        }
    }
}

async fn render_order(
    s: &AppState,
    ctx: PublicCtx,
    me: &AgentSession,
    no: &str,
    message: Option<String>,
) -> Result<Response> {
    let o = store::get(&s.db, no).await?;
    if o.agent_id != me.agent.id {
        return Err(Error::NotFound);
    }
    let (all, _) = payments::list(
        &s.db,
        None,
        Some(me.agent.id),
        weiops_core::paging::PageRequest::new(Some(1), Some(100)),
    )
    .await?;
    let payments = all
        .into_iter()
        .filter(|p| p.order_no.as_deref() == Some(no))
        .collect();
    let page = OrderPage {
        delivery: store::delivery(&s.db, o.id).await?,
        lines: purchase::lines(&s.db, o.id).await?,
        timeline: purchase::timeline(&s.db, o.id).await?,
        balance: crate::ledger::prepaid_balance(&s.db.pool, me.agent.id)
            .await?
            .0,
        o,
        payments,
        message,
        ctx,
    };
    let status = if page.message.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok(web::page_with_status(status, page))
}

async fn my_order(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    Path(no): Path<String>,
) -> Result<Response> {
    render_order(&s, ctx, &me, &no, None).await
}

/// Runs an agent action on an order; a refusal shows the order again with
/// the reason.
async fn order_action(
    s: &AppState,
    ctx: PublicCtx,
    me: &AgentSession,
    no: &str,
    done_key: &str,
    result: Result<()>,
) -> Result<Response> {
    match result {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/m/orders/{no}"),
            "success",
            done_key,
            "",
        )),
        Err(e @ (Error::Conflict(_) | Error::Refused(_) | Error::Validation(_))) => {
            let message = Some(match &e {
                Error::Validation(f) => {
                    f.0.iter()
                        .map(|(_, k)| ctx.t(k))
                        .collect::<Vec<_>>()
                        .join("；")
                }
                other => other.report().message(ctx.locale),
            });
            render_order(s, ctx, me, no, message).await
        }
        Err(e) => Err(e),
    }
}

async fn pay_balance(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    Path(no): Path<String>,
) -> Result<Response> {
    let r = purchase::pay_from_balance(&s.db, &actor_of(&me), &no, Some(me.agent.id)).await;
    order_action(&s, ctx, &me, &no, "orders.paid_flash", r).await
}

async fn cancel(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    Path(no): Path<String>,
) -> Result<Response> {
    let r = purchase::cancel(&s.db, &actor_of(&me), &no, Some(me.agent.id), "").await;
    order_action(&s, ctx, &me, &no, "orders.cancelled_flash", r).await
}

async fn receive(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    Path(no): Path<String>,
) -> Result<Response> {
    let o = store::get(&s.db, &no).await?;
    if o.agent_id != me.agent.id {
        return Err(Error::NotFound);
    }
    let r = purchase::advance(&s.db, &actor_of(&me), &no, OrderAction::Receive, "")
        .await
        .map(|_: OrderState| ());
    order_action(&s, ctx, &me, &no, "orders.received_flash", r).await
}

/// The text fields and the one image of a multipart form.
async fn transfer_form(mut multipart: Multipart) -> Result<(FormPairs, Option<Vec<u8>>)> {
    let mut fields = Vec::new();
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| Error::BadRequest("error.bad_request"))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "proof" {
            let bytes = field
                .bytes()
                .await
                .map_err(|_| Error::BadRequest("error.payload_too_large"))?;
            if !bytes.is_empty() {
                file = Some(bytes.to_vec());
            }
        } else {
            let text = field
                .text()
                .await
                .map_err(|_| Error::BadRequest("error.bad_request"))?;
            fields.push((name, text));
        }
    }
    Ok((FormPairs(fields), file))
}

async fn pay_transfer(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    Path(no): Path<String>,
    multipart: Multipart,
) -> Result<Response> {
    let (form, proof) = transfer_form(multipart).await?;
    let input = NewPayment {
        agent_id: me.agent.id,
        order_no: Some(no.clone()),
        amount_fen: 0,
        reference: form.get("reference").to_string(),
    };
    let r = payments::submit(&s.db, &actor_of(&me), &input, proof.as_deref())
        .await
        .map(|_| ());
    order_action(&s, ctx, &me, &no, "payments.submitted_flash", r).await
}

// ---------------------------------------------------------------- top-up

#[derive(Template)]
#[template(path = "orders/portal_topup.html")]
struct TopupPage {
    ctx: PublicCtx,
    /// What the agent writes as the transfer's note.
    agent_code: String,
    balance: i64,
    payments: Vec<Payment>,
    message: Option<String>,
}

impl TopupPage {
    fn money(&self, fen: impl Borrow<i64>) -> String {
        money(fen)
    }

    fn time(&self, ms: impl Borrow<i64>) -> String {
        weiops_core::time::format_minute(*ms.borrow())
    }

    fn status(&self, p: &Payment) -> String {
        self.ctx.t(&format!("payments.status.{}", p.status))
    }
}

async fn render_topup(
    s: &AppState,
    ctx: PublicCtx,
    me: &AgentSession,
    message: Option<String>,
) -> Result<Response> {
    let (payments, _) = payments::list(
        &s.db,
        None,
        Some(me.agent.id),
        weiops_core::paging::PageRequest::new(Some(1), Some(20)),
    )
    .await?;
    let status = if message.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(web::page_with_status(
        status,
        TopupPage {
            balance: crate::ledger::prepaid_balance(&s.db.pool, me.agent.id)
                .await?
                .0,
            payments,
            message,
            agent_code: me.agent.code.clone(),
            ctx,
        },
    ))
}

async fn topup_page(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
) -> Result<Response> {
    render_topup(&s, ctx, &me, None).await
}

async fn topup(
    State(s): State<AppState>,
    ctx: PublicCtx,
    me: AgentSession,
    multipart: Multipart,
) -> Result<Response> {
    let (form, proof) = transfer_form(multipart).await?;
    let amount = Fen::parse_yuan(form.get("amount"))
        .map(|f| f.0)
        .unwrap_or(0);
    let input = NewPayment {
        agent_id: me.agent.id,
        order_no: None,
        amount_fen: amount,
        reference: form.get("reference").to_string(),
    };
    match payments::submit(&s.db, &actor_of(&me), &input, proof.as_deref()).await {
        Ok(_) => Ok(web::redirect_with_flash(
            "/m/topup",
            "success",
            "payments.submitted_flash",
            "",
        )),
        Err(Error::Validation(f)) => {
            let message = Some(
                f.0.iter()
                    .map(|(_, k)| ctx.t(k))
                    .collect::<Vec<_>>()
                    .join("；"),
            );
            render_topup(&s, ctx, &me, message).await
        }
        Err(e) => Err(e),
    }
}
