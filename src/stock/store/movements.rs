//! Movements: the movement log with its filters, and the changes people
//! make by hand (采购入库, 调拨, 报损), each through `moves` with its audit
//! entry.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use weiops_core::paging::{PageInfo, PageRequest};
use weiops_core::time::{parse_day_end, parse_day_start};

use super::{Outcome, lock_warehouse, sku_by_code};
use crate::audit::{self, Actor, Change};
use crate::db::{BindValue, Db, Tx, Where, dynamic, fetch_page, like_pattern, like_prefix};
use crate::error::FieldErrors;
use crate::stock::moves::{self, Kind, Ref};
use crate::stock::rules::{self, Qty};
use crate::{Error, Result};

/// One line of the movement log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Movement {
    pub id: i64,
    pub at: i64,
    pub warehouse_id: i64,
    pub warehouse_code: String,
    pub warehouse_name: String,
    pub sku_id: i64,
    pub sku_code: String,
    pub spec: String,
    pub product_name: String,
    /// `purchase_in`, `sale_out`, `transfer_in`, `transfer_out`,
    /// `count_adjust`, `return_in`, `write_off`, `reserve`, `release`.
    pub kind: String,
    /// Signed change of on-hand (reserve/release: of reserved).
    pub qty: i64,
    pub on_hand_after: i64,
    pub reason: String,
    /// What the movement belongs to: `purchase`, `transfer`, `write_off`,
    /// `count`, `order`.
    pub ref_type: String,
    pub ref_id: String,
    pub actor_name: String,
}

impl Movement {
    /// Tag colour of the kind: goods in green, goods out red.
    pub fn tag(&self) -> &'static str {
        match self.kind.as_str() {
            "purchase_in" | "transfer_in" | "return_in" => "success",
            "sale_out" | "transfer_out" | "write_off" => "danger",
            "reserve" | "release" => "info",
            _ => "warning",
        }
    }

    /// `+5` / `-3`.
    pub fn signed_qty(&self) -> String {
        if self.qty > 0 {
            format!("+{}", self.qty)
        } else {
            self.qty.to_string()
        }
    }
}

/// Every kind, in the order the filter lists them.
pub const KINDS: &[&str] = &[
    "purchase_in",
    "transfer_in",
    "transfer_out",
    "sale_out",
    "return_in",
    "write_off",
    "count_adjust",
    "reserve",
    "release",
];

#[derive(Debug, Clone, Default)]
pub struct MovementFilter {
    pub warehouse: Option<i64>,
    /// The start of a SKU code, or part of a product name.
    pub sku: Option<String>,
    pub kind: Option<String>,
    /// From this Beijing day (`YYYY-MM-DD`), inclusive.
    pub from: Option<String>,
    /// To this Beijing day, inclusive.
    pub to: Option<String>,
    pub ref_type: Option<String>,
    pub ref_id: Option<String>,
}

const MOVEMENT_SELECT: &str = "SELECT m.id, m.at, m.warehouse_id, w.code AS warehouse_code, w.name AS warehouse_name, \
     m.sku_id, k.code AS sku_code, k.spec, p.name AS product_name, m.kind, m.qty, m.on_hand_after, m.reason, \
     m.ref_type, m.ref_id, m.actor_name";
const MOVEMENT_FROM: &str = "FROM stock_movements m JOIN warehouses w ON w.id = m.warehouse_id \
     JOIN skus k ON k.id = m.sku_id JOIN products p ON p.id = k.product_id";

impl MovementFilter {
    fn clause(&self) -> Result<Where> {
        let mut w = Where::new();
        let some = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        if let Some(id) = self.warehouse {
            w.and("m.warehouse_id = ?", [BindValue::Int(id)]);
        }
        if let Some(q) = some(&self.sku) {
            w.and(
                "(k.code LIKE ? ESCAPE '\\' OR p.name LIKE ? ESCAPE '\\')",
                [like_prefix(&q).into(), like_pattern(&q).into()],
            );
        }
        if let Some(k) = some(&self.kind) {
            if !KINDS.contains(&k.as_str()) {
                return Err(Error::BadRequest("stock.bad_kind"));
            }
            w.and("m.kind = ?", [BindValue::Text(k)]);
        }
        if let Some(d) = some(&self.from) {
            let ms = parse_day_start(&d).ok_or(Error::BadRequest("audit.bad_date"))?;
            w.and("m.at >= ?", [BindValue::Int(ms)]);
        }
        if let Some(d) = some(&self.to) {
            let ms = parse_day_end(&d).ok_or(Error::BadRequest("audit.bad_date"))?;
            w.and("m.at < ?", [BindValue::Int(ms)]);
        }
        if let Some(t) = some(&self.ref_type) {
            w.and("m.ref_type = ?", [BindValue::Text(t)]);
        }
        if let Some(r) = some(&self.ref_id) {
            w.and("m.ref_id = ?", [BindValue::Text(r)]);
        }
        Ok(w)
    }
}

fn movement_of(r: &AnyRow) -> Result<Movement> {
    Ok(Movement {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        warehouse_id: r.try_get("warehouse_id")?,
        warehouse_code: r.try_get("warehouse_code")?,
        warehouse_name: r.try_get("warehouse_name")?,
        sku_id: r.try_get("sku_id")?,
        sku_code: r.try_get("sku_code")?,
        spec: r.try_get("spec")?,
        product_name: r.try_get("product_name")?,
        kind: r.try_get("kind")?,
        qty: r.try_get("qty")?,
        on_hand_after: r.try_get("on_hand_after")?,
        reason: r.try_get("reason")?,
        ref_type: r.try_get("ref_type")?,
        ref_id: r.try_get("ref_id")?,
        actor_name: r.try_get("actor_name")?,
    })
}

/// A page of movements, newest first.
#[tracing::instrument(skip(db))]
pub async fn movements(
    db: &Db,
    filter: &MovementFilter,
    page: PageRequest,
) -> Result<(Vec<Movement>, PageInfo)> {
    let w = filter.clause()?;
    let (rows, info) = fetch_page(
        db,
        MOVEMENT_SELECT,
        MOVEMENT_FROM,
        &w,
        "m.at DESC, m.id DESC",
        page,
    )
    .await?;
    Ok((rows.iter().map(movement_of).collect::<Result<_>>()?, info))
}

async fn movements_of_ref(tx: &mut Tx<'_>, ref_type: &str, ref_id: &str) -> Result<Vec<Movement>> {
    let sql = format!(
        "{MOVEMENT_SELECT} {MOVEMENT_FROM} WHERE m.ref_type = $1 AND m.ref_id = $2 ORDER BY m.id"
    );
    dynamic(sql)
        .bind(ref_type)
        .bind(ref_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(movement_of)
        .collect()
}

/// A stock change people make by hand (采购入库, 调拨, 报损).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MoveInput {
    /// `purchase_in`, `transfer` or `write_off`.
    pub kind: String,
    /// The warehouse of a purchase in or a write-off.
    #[serde(default)]
    pub warehouse_id: Option<i64>,
    /// A transfer's source.
    #[serde(default)]
    pub from_warehouse_id: Option<i64>,
    /// A transfer's destination.
    #[serde(default)]
    pub to_warehouse_id: Option<i64>,
    pub sku_code: String,
    /// Units, 1..=10,000,000.
    pub qty: i64,
    /// Required for a write-off.
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MoveKind {
    PurchaseIn,
    Transfer,
    WriteOff,
}

impl MoveKind {
    fn parse(s: &str) -> Option<MoveKind> {
        match s {
            "purchase_in" => Some(MoveKind::PurchaseIn),
            "transfer" => Some(MoveKind::Transfer),
            "write_off" => Some(MoveKind::WriteOff),
            _ => None,
        }
    }

    fn ref_type(self) -> &'static str {
        match self {
            MoveKind::PurchaseIn => "purchase",
            MoveKind::Transfer => "transfer",
            MoveKind::WriteOff => "write_off",
        }
    }
}

/// The warehouses a move touches, source first, each with its form field.
type Sides = Vec<(&'static str, i64)>;

/// Checks the shape of a move; the warehouses (source first) and quantity.
fn check_move(input: &MoveInput) -> Result<(MoveKind, Sides, Qty)> {
    let mut e = FieldErrors::default();
    let kind = MoveKind::parse(input.kind.trim());
    if kind.is_none() {
        e.add("kind", "stock.bad_kind");
    }
    let qty = Qty::new(input.qty);
    if qty.is_none() {
        e.add("qty", "stock.bad_quantity");
    }
    if input.sku_code.trim().is_empty() {
        e.add("sku_code", "field.required");
    }
    let reason_required = kind == Some(MoveKind::WriteOff);
    if let Err(why) = rules::check_text(&input.reason, reason_required, 200) {
        e.invalid("reason", why);
    }
    let mut warehouses = Vec::new();
    match kind {
        Some(MoveKind::Transfer) => {
            match input.from_warehouse_id {
                Some(id) => warehouses.push(("from_warehouse_id", id)),
                None => e.add("from_warehouse_id", "field.required"),
            }
            match input.to_warehouse_id {
                Some(id) => warehouses.push(("to_warehouse_id", id)),
                None => e.add("to_warehouse_id", "field.required"),
            }
            if input.from_warehouse_id.is_some() && input.from_warehouse_id == input.to_warehouse_id
            {
                e.add("to_warehouse_id", "stock.same_warehouse");
            }
        }
        Some(_) => match input.warehouse_id {
            Some(id) => warehouses.push(("warehouse_id", id)),
            None => e.add("warehouse_id", "field.required"),
        },
        None => {}
    }
    e.into_result()?;
    match (kind, qty) {
        (Some(k), Some(q)) => Ok((k, warehouses, q)),
        _ => Err(Error::BadRequest("error.bad_request")),
    }
}

/// Books a purchase in, a transfer or a write-off, all or nothing: the
/// movements it made, or the shortage that stopped it (nothing written).
#[tracing::instrument(skip(db, actor))]
pub async fn apply_move(
    db: &Db,
    actor: &Actor,
    input: &MoveInput,
) -> Result<Outcome<Vec<Movement>>> {
    let (kind, warehouses, qty) = check_move(input)?;
    let mut tx = db.begin_write().await?;
    // Lock in id order so two opposite transfers cannot deadlock.
    let mut order = warehouses.clone();
    order.sort_by_key(|(_, id)| *id);
    let mut e = FieldErrors::default();
    for (field, id) in &order {
        match lock_warehouse(&mut tx, *id).await? {
            None => e.add(field, "warehouse.not_found"),
            Some(false) => e.add(field, "warehouse.inactive"),
            Some(true) => {}
        }
    }
    let sku = sku_by_code(&mut tx, &input.sku_code).await?;
    if sku.is_none() {
        e.add("sku_code", "stock.no_such_sku");
    }
    e.into_result()?;
    let sku = sku.ok_or(Error::NotFound)?;
    let ref_id = crate::identity::random_hex(6);
    let r = Ref {
        kind: kind.ref_type(),
        id: &ref_id,
    };
    let reason = input.reason.trim();
    let q = qty.get();
    let steps: Vec<(i64, Kind, i64)> = match kind {
        MoveKind::PurchaseIn => vec![(warehouses[0].1, Kind::PurchaseIn, q)],
        MoveKind::WriteOff => vec![(warehouses[0].1, Kind::WriteOff, -q)],
        MoveKind::Transfer => vec![
            (warehouses[0].1, Kind::TransferOut, -q),
            (warehouses[1].1, Kind::TransferIn, q),
        ],
    };
    for (wh, k, delta) in steps {
        if let Err(short) = moves::adjust(&mut tx, actor, wh, sku.id, k, delta, reason, r).await? {
            return Ok(Err(short));
        }
    }
    let made = movements_of_ref(&mut tx, r.kind, r.id).await?;
    let summary = made
        .iter()
        .map(|m| format!("{} {} {}", m.warehouse_code, m.sku_code, m.signed_qty()))
        .collect::<Vec<_>>()
        .join(" → ");
    let action = match kind {
        MoveKind::PurchaseIn => "stock.purchase_in",
        MoveKind::Transfer => "stock.transfer",
        MoveKind::WriteOff => "stock.write_off",
    };
    audit::record(
        &mut tx,
        actor,
        Change::new(action, "stock", &ref_id)
            .summary(if reason.is_empty() {
                summary
            } else {
                format!("{summary} ({reason})")
            })
            .after(serde_json::json!({
                "sku": sku.code, "qty": q, "reason": reason,
                "warehouses": warehouses.iter().map(|(_, id)| id).collect::<Vec<_>>(),
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(made))
}
