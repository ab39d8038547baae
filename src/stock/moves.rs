//! Changing stock: each function one conditional UPDATE plus its
//! `stock_movements` row, inside the caller's transaction. The one other
//! writer of `stock` is `orders::placing`, which reserves for a batch of
//! orders at once (decided by `rules::allocate`). Stock can never go negative, also under concurrent orders:
//! the database row is the lock and the CHECKs are the last word.

use serde::Serialize;
use sqlx::Row;

use crate::audit::Actor;
use crate::db::{Tx, now_ms};
use crate::{Error, Result};

/// Why a change did not happen: not enough stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Shortage {
    pub sku_id: i64,
    pub sku_code: String,
    pub requested: i64,
    /// On hand minus reserved, when refused.
    pub available: i64,
}

/// What a movement refers to.
#[derive(Debug, Clone, Copy)]
pub struct Ref<'a> {
    pub kind: &'a str,
    pub id: &'a str,
}

/// The kinds of `stock_movements`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 采购入库
    PurchaseIn,
    /// 销售出库 (reserved goods leave)
    SaleOut,
    /// 调拨 out of / into a warehouse
    TransferOut,
    TransferIn,
    /// 盘点 adjustment (signed)
    CountAdjust,
    /// 退货入库
    ReturnIn,
    /// 报损
    WriteOff,
    /// Reserved for an unpaid order / released again
    Reserve,
    Release,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PurchaseIn => "purchase_in",
            Kind::SaleOut => "sale_out",
            Kind::TransferOut => "transfer_out",
            Kind::TransferIn => "transfer_in",
            Kind::CountAdjust => "count_adjust",
            Kind::ReturnIn => "return_in",
            Kind::WriteOff => "write_off",
            Kind::Reserve => "reserve",
            Kind::Release => "release",
        }
    }
}

async fn sku_code(tx: &mut Tx<'_>, sku: i64) -> Result<String> {
    Ok(sqlx::query("SELECT code FROM skus WHERE id = $1")
        .bind(sku)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get::<String, _>("code"))
        .transpose()?
        .unwrap_or_default())
}

async fn level(tx: &mut Tx<'_>, warehouse: i64, sku: i64) -> Result<(i64, i64)> {
    let row =
        sqlx::query("SELECT on_hand, reserved FROM stock WHERE warehouse_id = $1 AND sku_id = $2")
            .bind(warehouse)
            .bind(sku)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(match row {
        Some(r) => (r.try_get("on_hand")?, r.try_get("reserved")?),
        None => (0, 0),
    })
}

#[allow(clippy::too_many_arguments)]
async fn record(
    tx: &mut Tx<'_>,
    actor: &Actor,
    warehouse: i64,
    sku: i64,
    kind: Kind,
    qty: i64,
    reason: &str,
    r: Ref<'_>,
) -> Result<()> {
    let (on_hand, _) = level(tx, warehouse, sku).await?;
    sqlx::query(
        "INSERT INTO stock_movements (warehouse_id, sku_id, kind, qty, on_hand_after, reason, ref_type, ref_id, actor_id, actor_name, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(warehouse)
    .bind(sku)
    .bind(kind.as_str())
    .bind(qty)
    .bind(on_hand)
    .bind(reason)
    .bind(r.kind)
    .bind(r.id)
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Releases a reservation (order cancelled, closed or expired).
pub async fn release(
    tx: &mut Tx<'_>,
    actor: &Actor,
    warehouse: i64,
    sku: i64,
    qty: i64,
    r: Ref<'_>,
) -> Result<()> {
    let res = sqlx::query(
        "UPDATE stock SET reserved = reserved - $1, updated_at = $2 WHERE warehouse_id = $3 AND sku_id = $4 AND reserved >= $1",
    )
    .bind(qty)
    .bind(now_ms())
    .bind(warehouse)
    .bind(sku)
    .execute(&mut **tx)
    .await?;
    if res.rows_affected() != 1 {
        return Err(anyhow::anyhow!("releasing {qty} of sku {sku} that were not reserved").into());
    }
    record(tx, actor, warehouse, sku, Kind::Release, -qty, "", r).await
}

/// Reserved goods leave the warehouse (销售出库): on hand and reserved
/// both go down.
pub async fn ship_reserved(
    tx: &mut Tx<'_>,
    actor: &Actor,
    warehouse: i64,
    sku: i64,
    qty: i64,
    r: Ref<'_>,
) -> Result<()> {
    let res = sqlx::query(
        "UPDATE stock SET on_hand = on_hand - $1, reserved = reserved - $1, updated_at = $2 \
         WHERE warehouse_id = $3 AND sku_id = $4 AND reserved >= $1",
    )
    .bind(qty)
    .bind(now_ms())
    .bind(warehouse)
    .bind(sku)
    .execute(&mut **tx)
    .await?;
    if res.rows_affected() != 1 {
        return Err(anyhow::anyhow!("shipping {qty} of sku {sku} that were not reserved").into());
    }
    record(tx, actor, warehouse, sku, Kind::SaleOut, -qty, "", r).await
}

/// Adds to or takes from on-hand stock (purchase in, return in, transfer,
/// count adjustment, write-off). Taking more than is available (on hand
/// minus reserved) is refused with the shortage.
#[allow(clippy::too_many_arguments)]
pub async fn adjust(
    tx: &mut Tx<'_>,
    actor: &Actor,
    warehouse: i64,
    sku: i64,
    kind: Kind,
    delta: i64,
    reason: &str,
    r: Ref<'_>,
) -> Result<std::result::Result<(), Shortage>> {
    if delta == 0 {
        return Ok(Ok(()));
    }
    let now = now_ms();
    if delta > 0 {
        let sql = "INSERT INTO stock (warehouse_id, sku_id, on_hand, reserved, low_alert, updated_at) VALUES ($1, $2, $3, 0, 0, $4) \
                   ON CONFLICT (warehouse_id, sku_id) DO UPDATE SET on_hand = stock.on_hand + excluded.on_hand, updated_at = excluded.updated_at";
        sqlx::query(sql)
            .bind(warehouse)
            .bind(sku)
            .bind(delta)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    } else {
        let take = delta
            .checked_neg()
            .ok_or(Error::BadRequest("stock.bad_quantity"))?;
        let res = sqlx::query(
            "UPDATE stock SET on_hand = on_hand - $1, updated_at = $2 \
             WHERE warehouse_id = $3 AND sku_id = $4 AND on_hand - reserved >= $1",
        )
        .bind(take)
        .bind(now)
        .bind(warehouse)
        .bind(sku)
        .execute(&mut **tx)
        .await?;
        if res.rows_affected() != 1 {
            let (on_hand, reserved) = level(tx, warehouse, sku).await?;
            return Ok(Err(Shortage {
                sku_id: sku,
                sku_code: sku_code(tx, sku).await?,
                requested: take,
                available: (on_hand - reserved).max(0),
            }));
        }
    }
    record(tx, actor, warehouse, sku, kind, delta, reason, r).await?;
    Ok(Ok(()))
}

/// Sets the low-stock threshold (预警值) of a SKU in a warehouse, creating
/// its stock row at zero so a threshold can be set before goods arrive.
/// Quantities do not change, so there is no movement row: the caller
/// audits the change.
pub async fn set_low_alert(
    tx: &mut Tx<'_>,
    warehouse: i64,
    sku: i64,
    low_alert: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO stock (warehouse_id, sku_id, on_hand, reserved, low_alert, updated_at) VALUES ($1, $2, 0, 0, $3, $4) \
         ON CONFLICT (warehouse_id, sku_id) DO UPDATE SET low_alert = excluded.low_alert, updated_at = excluded.updated_at",
    )
    .bind(warehouse)
    .bind(sku)
    .bind(low_alert)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
