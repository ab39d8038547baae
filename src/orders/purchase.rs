//! Agent purchase orders (进货单) placed in weiops: placing (stock
//! reserved), paying (from the prepaid balance or by a transfer finance
//! confirms), the moves of the state machine (`weiops_core::purchase`),
//! cancelling and the release of unpaid orders' stock when their time is up.
//! Every transition writes the order's timeline and the audit log in the
//! same transaction.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use weiops_core::ledger::{EntryLine, accounts};
use weiops_core::money::{Bp, Fen};
use weiops_core::purchase::{
    OrderAction, OrderState, PricedLine, level_prices, level_prices_text, line_amount, next,
};
use weiops_core::time::Period;

use crate::audit::{self, Actor, Change};
use crate::db::{Db, Engine, Tx, now_ms};
use crate::error::FieldErrors;
use crate::ledger::{self, NewEntry};
use crate::orders::model::{Fulfilment, NewOrder, PlacedOrder, check};
use crate::orders::placing::{self, Job, JobLine};
use crate::stock::moves::{self, Ref};
use crate::{Error, Result};

/// Minutes an unpaid order holds its stock: the app setting
/// `orders.reservation_minutes` (1 to 7 days), else 30.
fn reservation_minutes(setting: Option<String>) -> i64 {
    setting
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|m| RESERVATION_MINUTES.contains(m))
        .unwrap_or(DEFAULT_RESERVATION_MINUTES)
}

pub const DEFAULT_RESERVATION_MINUTES: i64 = 30;
/// From one minute to seven days.
pub const RESERVATION_MINUTES: std::ops::RangeInclusive<i64> = 1..=7 * 24 * 60;
const RESERVATION_SETTING: &str = "orders.reservation_minutes";

/// The order rules head office sets (orders page, `/api/v1/orders/settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderSettings {
    /// Minutes an unpaid order holds its stock before it is closed and the
    /// stock released: 1 to 10,080 (7 days); 30 unless set.
    pub reservation_minutes: i64,
}

/// The order rules in force.
pub async fn settings(db: &Db) -> Result<OrderSettings> {
    Ok(OrderSettings {
        reservation_minutes: reservation_minutes(
            crate::settings::get(db, RESERVATION_SETTING).await?,
        ),
    })
}

/// Checks and saves the order rules (audited); orders placed from now on
/// follow them, orders already placed keep the time they were given.
pub async fn save_settings(db: &Db, actor: &Actor, new: &OrderSettings) -> Result<OrderSettings> {
    if !RESERVATION_MINUTES.contains(&new.reservation_minutes) {
        let mut errors = FieldErrors::default();
        errors.add("reservation_minutes", "orders.reservation_minutes_range");
        return Err(Error::Validation(errors));
    }
    let before = settings(db).await?;
    crate::settings::set(
        db,
        actor,
        RESERVATION_SETTING,
        &before.reservation_minutes.to_string(),
        &new.reservation_minutes.to_string(),
    )
    .await?;
    Ok(new.clone())
}

async fn event(
    tx: &mut Tx<'_>,
    order_id: i64,
    from: Option<OrderState>,
    to: OrderState,
    note: &str,
    actor: &Actor,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO order_events (order_id, from_status, to_status, note, actor_id, actor_name, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(order_id)
    .bind(from.map(|s| s.as_str()))
    .bind(to.as_str())
    .bind(note)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `level:value,level:value,…` as `string_agg` gives it (any order; NULL
/// for none) into pairs; anything malformed is skipped (the values come
/// from integer columns).
fn pairs(text: Option<String>) -> Vec<(i64, i64)> {
    text.unwrap_or_default()
        .split(',')
        .filter_map(|p| {
            let (l, v) = p.split_once(':')?;
            Some((l.parse().ok()?, v.parse().ok()?))
        })
        .collect()
}

/// Places an order: prices at the agent's level, stock reserved in one
/// transaction (a shortage refuses the whole order with the SKU and what is
/// available), the order waiting for payment until its reservation ends.
#[tracing::instrument(skip_all, fields(agent = input.agent_id))]
pub async fn place(
    db: &Db,
    actor: &Actor,
    placed_by: Option<i64>,
    input: &NewOrder,
) -> Result<PlacedOrder> {
    let qty = check(input).map_err(Error::Validation)?;
    // The agent, their level's rate, the default warehouse (the first
    // active one when none is marked), the reservation minutes and the
    // SKUs at the agent's level in one read: each query is a round trip
    // (two thread hand-offs on SQLite), paid by every order. One row per
    // SKU found (one with no SKU when none is).
    let ids: Vec<i64> = qty.keys().copied().collect();
    let padded = crate::db::padded(&ids);
    let list = (2..padded.len() + 2)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Also every level's rate and each SKU's own prices: the order keeps
    // what it costs at every level (Rule 1 pays their differences).
    let rates = db.engine.string_agg("level || ':' || price_bp", ",");
    let own = db.engine.string_agg("o.level || ':' || o.price_fen", ",");
    let mut q = crate::db::dynamic(format!(
        "SELECT a.level, a.status, l.price_bp, \
         (SELECT id FROM warehouses WHERE active = 1 ORDER BY is_default DESC, id LIMIT 1) AS warehouse, \
         (SELECT value FROM app_settings WHERE name = '{RESERVATION_SETTING}') AS minutes, \
         (SELECT {rates} FROM agent_levels) AS rates, \
         (SELECT {own} FROM sku_level_prices o WHERE o.sku_id = s.id) AS own, {} \
         FROM agents a JOIN agent_levels l ON l.level = a.level \
         LEFT JOIN skus s ON s.id IN ({list}) \
         LEFT JOIN products p ON p.id = s.product_id \
         LEFT JOIN sku_level_prices lp ON lp.sku_id = s.id AND lp.level = a.level \
         WHERE a.id = $1",
        crate::products::store::PRICE_COLUMNS
    ))
    .bind(input.agent_id);
    for id in padded {
        q = q.bind(id);
    }
    let rows = q.fetch_all(&db.pool).await?;
    let agent = rows.first().ok_or(Error::NotFound)?;
    let level: i64 = agent.try_get("level")?;
    if agent.try_get::<String, _>("status")? == "terminated" {
        return Err(Error::Refused("orders.agent_terminated"));
    }
    let rate = Bp(agent.try_get::<i64, _>("price_bp")?.clamp(0, 10_000) as u32);
    let mut prices = Vec::with_capacity(rows.len());
    let mut own_prices: HashMap<i64, Vec<(i64, Fen)>> = HashMap::with_capacity(rows.len());
    for r in &rows {
        if let Some(id) = r.try_get::<Option<i64>, _>("id")? {
            prices.push(crate::products::store::price_from_row(r, rate)?);
            let own = pairs(r.try_get("own")?);
            own_prices.insert(id, own.into_iter().map(|(l, p)| (l, Fen(p))).collect());
        }
    }
    let rates: Vec<(i64, Bp)> = pairs(agent.try_get("rates")?)
        .into_iter()
        .map(|(l, bp)| (l, Bp(bp.clamp(0, 10_000) as u32)))
        .collect();
    let mut priced = Vec::with_capacity(qty.len());
    let mut lines = Vec::with_capacity(ids.len());
    let (mut amount, mut retail) = (0i64, 0i64);
    // `qty` is a BTreeMap: the lines come out one per SKU, ascending.
    for (sku, q) in &qty {
        let Some(p) = prices.iter().find(|p| p.sku_id == *sku && p.on_sale) else {
            return Err(Error::Conflict("orders.sku_not_on_sale"));
        };
        let a =
            line_amount(Fen(p.unit_price_fen), *q).ok_or(Error::BadRequest("orders.bad_qty"))?;
        let r = line_amount(Fen(p.retail_fen), *q).ok_or(Error::BadRequest("orders.bad_qty"))?;
        amount = amount
            .checked_add(a.0)
            .ok_or(Error::BadRequest("orders.bad_qty"))?;
        retail = retail
            .checked_add(r.0)
            .ok_or(Error::BadRequest("orders.bad_qty"))?;
        priced.push(PricedLine {
            qty: *q,
            retail: Fen(p.retail_fen),
            own: own_prices.remove(sku).unwrap_or_default(),
        });
        lines.push(JobLine {
            sku_id: *sku,
            sku_code: p.sku_code.clone(),
            qty: *q,
            retail_fen: p.retail_fen,
            unit_price_fen: p.unit_price_fen,
            amount_fen: a.0,
        });
    }
    // The buyer's entry is the order's amount, computed the same way.
    let level_prices = level_prices(&priced, &rates).ok_or(Error::BadRequest("orders.bad_qty"))?;
    debug_assert_eq!(
        level_prices
            .iter()
            .find(|(l, _)| *l == level)
            .map(|(_, p)| p.0),
        Some(amount)
    );
    let warehouse = input
        .warehouse_id
        .or(agent.try_get("warehouse")?)
        .ok_or(Error::Conflict("orders.no_warehouse"))?;
    let now = now_ms();
    let minutes = reservation_minutes(agent.try_get("minutes")?);
    let (receiver_name, receiver_phone, receiver_address) = if input.fulfilment == Fulfilment::Cloud
    {
        (None, None, None)
    } else {
        (
            Some(input.receiver_name.trim().to_string()),
            weiops_core::accounts::normalize_phone(&input.receiver_phone)
                .ok()
                .flatten(),
            Some(input.receiver_address.trim().to_string()),
        )
    };
    // Written together with the orders placed at the same moment.
    placing::submit(
        db,
        Job {
            actor: actor.clone(),
            agent_id: input.agent_id,
            level,
            warehouse,
            fulfilment: input.fulfilment,
            receiver_name,
            receiver_phone,
            receiver_address,
            note: input.note.trim().to_string(),
            placed_by,
            lines,
            amount_fen: amount,
            retail_fen: retail,
            level_prices: level_prices_text(&level_prices),
            placed_at: now,
            reserved_until: now + minutes * 60_000,
        },
    )
    .await
}

/// The parts of an order a transition needs.
#[derive(Debug, Clone)]
pub struct OrderHead {
    pub id: i64,
    pub order_no: String,
    pub agent_id: i64,
    pub status: OrderState,
    pub amount_fen: i64,
    pub warehouse_id: Option<i64>,
    pub fulfilment: Option<String>,
}

pub async fn head(db: &Db, order_no: &str) -> Result<OrderHead> {
    let r = sqlx::query(
        "SELECT id, order_no, agent_id, status, amount_fen, warehouse_id, fulfilment, source FROM orders WHERE order_no = $1",
    )
    .bind(order_no)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(Error::NotFound)?;
    if r.try_get::<String, _>("source")? != "app" {
        return Err(Error::Conflict("orders.imported_order"));
    }
    Ok(OrderHead {
        id: r.try_get("id")?,
        order_no: r.try_get("order_no")?,
        agent_id: r.try_get("agent_id")?,
        status: OrderState::parse(&r.try_get::<String, _>("status")?)
            .ok_or_else(|| anyhow::anyhow!("bad order status"))?,
        amount_fen: r.try_get::<Option<i64>, _>("amount_fen")?.unwrap_or(0),
        warehouse_id: r.try_get("warehouse_id")?,
        fulfilment: r.try_get("fulfilment")?,
    })
}

/// Moves the order from the state read to `to` only if nobody moved it in
/// between (the row's status is the lock).
async fn transition(
    tx: &mut Tx<'_>,
    order: &OrderHead,
    action: OrderAction,
    note: &str,
    actor: &Actor,
) -> Result<OrderState> {
    let to =
        next(order.status, action).map_err(|_| Error::Conflict("orders.transition_refused"))?;
    let now = now_ms();
    let res = sqlx::query("UPDATE orders SET status = $1, counted = $2, updated_at = $3 WHERE id = $4 AND status = $5")
        .bind(to.as_str())
        .bind(i64::from(to.counts()))
        .bind(now)
        .bind(order.id)
        .bind(order.status.as_str())
        .execute(&mut **tx)
        .await?;
    if res.rows_affected() != 1 {
        return Err(Error::Conflict("orders.transition_refused"));
    }
    event(tx, order.id, Some(order.status), to, note, actor).await?;
    audit::record(
        tx,
        actor,
        Change::new("order.transition", "order", &order.order_no)
            .summary(format!(
                "{} → {} ({})",
                order.status.as_str(),
                to.as_str(),
                action.as_str()
            ))
            .before(serde_json::json!({"status": order.status.as_str()}))
            .after(serde_json::json!({"status": to.as_str(), "note": note})),
    )
    .await?;
    Ok(to)
}

async fn order_lines(tx: &mut Tx<'_>, order_id: i64) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query("SELECT sku_id, qty FROM order_lines WHERE order_id = $1 ORDER BY id")
        .bind(order_id)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("sku_id")?, r.try_get("qty")?)))
        .collect()
}

/// Adds a paid order to the agent pages' monthly purchases: the buyer's
/// own and the team figure of the buyer and every ancestor.
async fn add_team_sales(
    tx: &mut Tx<'_>,
    engine: Engine,
    agent_id: i64,
    at: i64,
    amount: i64,
) -> Result<()> {
    let Some(period) = Period::containing(at) else {
        return Ok(());
    };
    let path: String = sqlx::query("SELECT path FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("path")?;
    let ids: Vec<i64> = path.split('/').filter_map(|s| s.parse().ok()).collect();
    let sql = match engine {
        Engine::Sqlite => {
            "INSERT INTO agent_team_sales (agent_id, period, own_fen, team_fen) \
             SELECT value, $1, CASE WHEN value = $2 THEN $3 ELSE 0 END, $3 FROM json_each($4) WHERE true \
             ON CONFLICT (agent_id, period) DO UPDATE SET own_fen = agent_team_sales.own_fen + excluded.own_fen, \
             team_fen = agent_team_sales.team_fen + excluded.team_fen"
        }
        Engine::Postgres => {
            "INSERT INTO agent_team_sales (agent_id, period, own_fen, team_fen) \
             SELECT e::bigint, $1, CASE WHEN e::bigint = $2 THEN $3 ELSE 0 END, $3 FROM jsonb_array_elements_text($4::jsonb) AS e \
             ON CONFLICT (agent_id, period) DO UPDATE SET own_fen = agent_team_sales.own_fen + excluded.own_fen, \
             team_fen = agent_team_sales.team_fen + excluded.team_fen"
        }
    };
    sqlx::query(sql)
        .bind(period.to_string())
        .bind(agent_id)
        .bind(amount)
        .bind(serde_json::to_string(&ids).map_err(anyhow::Error::from)?)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// How an order was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaidWith {
    /// The agent's prepaid balance (Dr 2203 / Cr 6001).
    Balance,
    /// A transfer finance confirmed (Dr 1002 / Cr 6001).
    Transfer,
}

/// Marks an order paid inside `tx`: it now counts for rewards (and team
/// purchases), and the money is booked.
pub async fn mark_paid(
    tx: &mut Tx<'_>,
    engine: Engine,
    actor: &Actor,
    order: &OrderHead,
    with: PaidWith,
) -> Result<()> {
    let paid = transition(tx, order, OrderAction::Pay, "", actor).await?;
    let now = now_ms();
    sqlx::query("UPDATE orders SET paid_at = $1, payment_method = $2 WHERE id = $3")
        .bind(now)
        .bind(match with {
            PaidWith::Balance => "balance",
            PaidWith::Transfer => "transfer",
        })
        .bind(order.id)
        .execute(&mut **tx)
        .await?;
    let amount = Fen(order.amount_fen);
    if amount.0 > 0 {
        let debit = match with {
            PaidWith::Balance => {
                EntryLine::debit(accounts::AGENT_PREPAYMENTS, Some(order.agent_id), amount)
            }
            PaidWith::Transfer => EntryLine::debit(accounts::BANK, None, amount),
        };
        ledger::post(
            tx,
            engine,
            actor,
            NewEntry {
                at: now,
                memo: format!("进货单 {} 付款", order.order_no),
                source: "order",
                source_id: order.order_no.clone(),
                lines: vec![
                    debit,
                    EntryLine::credit(accounts::SALES_REVENUE, None, amount),
                ],
                guard_wallets: true,
            },
        )
        .await?;
    }
    add_team_sales(tx, engine, order.agent_id, now, order.amount_fen).await?;
    if order.fulfilment.as_deref() == Some(Fulfilment::Cloud.as_str()) {
        store_in_cloud(tx, actor, order, paid).await?;
    }
    Ok(())
}

/// A paid cloud order (存入云库存): its reserved units stay reserved, now
/// owed to the agent on their cloud-stock ledger, and the order is done.
async fn store_in_cloud(
    tx: &mut Tx<'_>,
    actor: &Actor,
    order: &OrderHead,
    paid: OrderState,
) -> Result<()> {
    let warehouse = order
        .warehouse_id
        .ok_or_else(|| anyhow::anyhow!("cloud order {} has no warehouse", order.order_no))?;
    let lines = order_lines(tx, order.id).await?;
    crate::stock::cloud::credit_order(
        tx,
        actor,
        order.agent_id,
        warehouse,
        &order.order_no,
        &lines,
    )
    .await?;
    let paid = OrderHead {
        status: paid,
        ..order.clone()
    };
    transition(tx, &paid, OrderAction::Complete, "", actor).await?;
    Ok(())
}

/// Pays an unpaid order from the agent's prepaid balance; refused (409)
/// when the balance is short, nothing changed.
#[tracing::instrument(skip(db, actor))]
pub async fn pay_from_balance(
    db: &Db,
    actor: &Actor,
    order_no: &str,
    agent_id: Option<i64>,
) -> Result<()> {
    let order = head(db, order_no).await?;
    if agent_id.is_some_and(|a| a != order.agent_id) {
        return Err(Error::NotFound);
    }
    let mut tx = db.begin_write().await?;
    mark_paid(&mut tx, db.engine, actor, &order, PaidWith::Balance).await?;
    tx.commit().await?;
    Ok(())
}

/// Cancels an unpaid order (by its agent or staff) and releases its stock.
#[tracing::instrument(skip(db, actor))]
pub async fn cancel(
    db: &Db,
    actor: &Actor,
    order_no: &str,
    agent_id: Option<i64>,
    reason: &str,
) -> Result<()> {
    let order = head(db, order_no).await?;
    if agent_id.is_some_and(|a| a != order.agent_id) {
        return Err(Error::NotFound);
    }
    let mut tx = db.begin_write().await?;
    end_unpaid(&mut tx, actor, &order, OrderAction::Cancel, reason).await?;
    tx.commit().await?;
    Ok(())
}

async fn end_unpaid(
    tx: &mut Tx<'_>,
    actor: &Actor,
    order: &OrderHead,
    action: OrderAction,
    note: &str,
) -> Result<()> {
    transition(tx, order, action, note, actor).await?;
    if let Some(w) = order.warehouse_id {
        for (sku, qty) in order_lines(tx, order.id).await? {
            moves::release(
                tx,
                actor,
                w,
                sku,
                qty,
                Ref {
                    kind: "order",
                    id: &order.order_no,
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// Closes every unpaid order whose reservation ended before `now` and
/// releases its stock; returns how many. Run every minute by each server
/// (an order closed by another server is skipped: the status is the lock).
pub async fn close_expired(db: &Db, now: i64) -> Result<usize> {
    let rows = sqlx::query(
        "SELECT order_no FROM orders WHERE status = 'pending_payment' AND reserved_until < $1 ORDER BY reserved_until LIMIT 500",
    )
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    let actor = Actor::system("weiops");
    let mut closed = 0;
    for r in rows {
        let no: String = r.try_get("order_no")?;
        let Ok(order) = head(db, &no).await else {
            continue;
        };
        let mut tx = db.begin_write().await?;
        match end_unpaid(
            &mut tx,
            &actor,
            &order,
            OrderAction::Close,
            "orders.reservation_expired",
        )
        .await
        {
            Ok(()) => {
                tx.commit().await?;
                closed += 1;
            }
            Err(Error::Conflict(_)) => {} // paid or cancelled meanwhile
            Err(e) => return Err(e),
        }
    }
    Ok(closed)
}

/// A staff move of a paid order: allocate (配货), ship (the reserved goods
/// leave the warehouse), mark received, complete.
#[tracing::instrument(skip(db, actor))]
pub async fn advance(
    db: &Db,
    actor: &Actor,
    order_no: &str,
    action: OrderAction,
    note: &str,
) -> Result<OrderState> {
    let order = head(db, order_no).await?;
    let mut tx = db.begin_write().await?;
    let to = advance_in(&mut tx, actor, &order, action, note).await?;
    tx.commit().await?;
    Ok(to)
}

/// The move of [`advance`] inside the caller's transaction (打单 records
/// the shipment in the same one). `order` must be read by [`head`].
pub async fn advance_in(
    tx: &mut Tx<'_>,
    actor: &Actor,
    order: &OrderHead,
    action: OrderAction,
    note: &str,
) -> Result<OrderState> {
    if matches!(
        action,
        OrderAction::Pay | OrderAction::Cancel | OrderAction::Close | OrderAction::Refund
    ) {
        return Err(Error::Conflict("orders.transition_refused"));
    }
    // Goods kept in the agent's cloud stock complete at payment; shipping
    // them is a cloud-stock request, not a move of this order.
    let cloud = order.fulfilment.as_deref() == Some("cloud");
    if cloud && matches!(action, OrderAction::Allocate | OrderAction::Ship) {
        return Err(Error::Conflict("orders.transition_refused"));
    }
    let to = transition(tx, order, action, note, actor).await?;
    if action == OrderAction::Ship
        && let Some(w) = order.warehouse_id
    {
        for (sku, qty) in order_lines(tx, order.id).await? {
            moves::ship_reserved(
                tx,
                actor,
                w,
                sku,
                qty,
                Ref {
                    kind: "order",
                    id: &order.order_no,
                },
            )
            .await?;
        }
    }
    Ok(to)
}

/// One entry of an order's timeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEvent {
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: String,
    /// As stored: a staff member's username, or `agent:<code>` for the agent.
    pub actor_name: String,
    /// The staff member who acted (none for the agent or weiops itself).
    pub actor_id: Option<i64>,
    /// The agent who acted in the portal.
    pub agent_id: Option<i64>,
    /// Who acted, as people read it: the staff member's display name or the
    /// agent's name.
    pub actor_display: String,
    pub at: i64,
}

pub async fn timeline(db: &Db, order_id: i64) -> Result<Vec<TimelineEvent>> {
    let rows = sqlx::query(
        "SELECT e.from_status, e.to_status, e.note, e.actor_name, e.actor_id, e.at, u.display_name, \
         a.id AS agent_id, a.name AS agent_name FROM order_events e LEFT JOIN users u ON u.id = e.actor_id \
         LEFT JOIN agents a ON e.actor_id IS NULL AND 'agent:' || a.code = e.actor_name \
         WHERE e.order_id = $1 ORDER BY e.at, e.id",
    )
    .bind(order_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let actor_name: String = r.try_get("actor_name")?;
            Ok(TimelineEvent {
                from_status: r.try_get("from_status")?,
                to_status: r.try_get("to_status")?,
                note: r.try_get("note")?,
                actor_display: r
                    .try_get::<Option<String>, _>("display_name")?
                    .or(r.try_get::<Option<String>, _>("agent_name")?)
                    .unwrap_or_else(|| actor_name.clone()),
                actor_name,
                actor_id: r.try_get("actor_id")?,
                agent_id: r.try_get("agent_id")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

/// A line of an order with its SKU, for pages and the API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineView {
    pub sku_id: i64,
    pub sku_code: String,
    pub product_name: String,
    pub spec: String,
    pub qty: i64,
    pub retail_fen: i64,
    pub unit_price_fen: i64,
    pub amount_fen: i64,
}

pub async fn lines(db: &Db, order_id: i64) -> Result<Vec<LineView>> {
    let rows = sqlx::query(
        "SELECT l.sku_id, s.code, p.name, s.spec, l.qty, l.retail_fen, l.unit_price_fen, l.amount_fen \
         FROM order_lines l JOIN skus s ON s.id = l.sku_id JOIN products p ON p.id = s.product_id \
         WHERE l.order_id = $1 ORDER BY l.id",
    )
    .bind(order_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LineView {
                sku_id: r.try_get("sku_id")?,
                sku_code: r.try_get("code")?,
                product_name: r.try_get("name")?,
                spec: r.try_get("spec")?,
                qty: r.try_get("qty")?,
                retail_fen: r.try_get("retail_fen")?,
                unit_price_fen: r.try_get("unit_price_fen")?,
                amount_fen: r.try_get("amount_fen")?,
            })
        })
        .collect()
}

/// Refunds a paid order inside `tx` (after-sales): the order stops
/// counting; goods that never left the warehouse (paid, picking) are
/// released. Returns the state it was in.
pub async fn refund_in(
    tx: &mut Tx<'_>,
    actor: &Actor,
    order: &OrderHead,
    note: &str,
) -> Result<OrderState> {
    transition(tx, order, OrderAction::Refund, note, actor).await?;
    sqlx::query("UPDATE orders SET refunded_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(order.id)
        .execute(&mut **tx)
        .await?;
    if matches!(order.status, OrderState::Paid | OrderState::Picking)
        && let Some(w) = order.warehouse_id
    {
        for (sku, qty) in order_lines(tx, order.id).await? {
            moves::release(
                tx,
                actor,
                w,
                sku,
                qty,
                Ref {
                    kind: "order",
                    id: &order.order_no,
                },
            )
            .await?;
        }
    }
    Ok(order.status)
}

/// The lines of an order as (sku, qty), inside a transaction.
pub async fn line_quantities(tx: &mut Tx<'_>, order_id: i64) -> Result<Vec<(i64, i64)>> {
    order_lines(tx, order_id).await
}
