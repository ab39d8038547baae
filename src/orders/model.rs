//! What an order asks for, before it is priced or written: its lines (SKU
//! and quantity), how it is fulfilled, the receiver, and the checks every
//! way of ordering shares. The portal's shop, staff and the API place
//! orders through `purchase::place`; cloud-stock shipment requests
//! (`crate::cloud`) follow the same line and receiver rules. `placing`
//! writes what `purchase` priced and answers with a [`PlacedOrder`]: with
//! the types here, neither of the two imports the other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;

/// Most lines and units per line one order takes.
pub const MAX_LINES: usize = 100;
pub const MAX_QTY: i64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fulfilment {
    /// 发给我
    ShipToMe,
    /// 代发: to the agent's customer
    ShipToCustomer,
    /// 存入云库存
    Cloud,
}

impl Fulfilment {
    pub fn as_str(self) -> &'static str {
        match self {
            Fulfilment::ShipToMe => "ship_to_me",
            Fulfilment::ShipToCustomer => "ship_to_customer",
            Fulfilment::Cloud => "cloud",
        }
    }

    pub fn parse(s: &str) -> Option<Fulfilment> {
        Some(match s {
            "ship_to_me" => Fulfilment::ShipToMe,
            "ship_to_customer" => Fulfilment::ShipToCustomer,
            "cloud" => Fulfilment::Cloud,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewLine {
    pub sku_id: i64,
    pub qty: i64,
}

/// An order as the portal, a staff member or the API places it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewOrder {
    pub agent_id: i64,
    pub lines: Vec<NewLine>,
    pub fulfilment: Fulfilment,
    #[serde(default)]
    pub receiver_name: String,
    #[serde(default)]
    pub receiver_phone: String,
    #[serde(default)]
    pub receiver_address: String,
    #[serde(default)]
    pub note: String,
    /// Default: the default warehouse.
    #[serde(default)]
    pub warehouse_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlacedOrder {
    pub id: i64,
    pub order_no: String,
    pub status: String,
    pub amount_fen: i64,
    pub retail_fen: i64,
    pub reserved_until: i64,
}

/// The quantities per SKU of a valid order (receiver required unless the
/// goods stay in cloud stock); shared with cloud-stock shipment requests.
pub(crate) fn check(input: &NewOrder) -> std::result::Result<BTreeMap<i64, i64>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut qty: BTreeMap<i64, i64> = BTreeMap::new();
    if input.lines.is_empty() {
        errors.add("lines", "orders.no_lines");
    }
    if input.lines.len() > MAX_LINES {
        errors.add("lines", "orders.too_many_lines");
    }
    for (i, l) in input.lines.iter().enumerate() {
        if !(1..=MAX_QTY).contains(&l.qty) {
            errors.add(&format!("lines.{i}.qty"), "orders.bad_qty");
            continue;
        }
        let q = qty.entry(l.sku_id).or_default();
        *q = q.saturating_add(l.qty);
        if *q > MAX_QTY {
            errors.add(&format!("lines.{i}.qty"), "orders.bad_qty");
        }
    }
    if input.fulfilment != Fulfilment::Cloud {
        let name = input.receiver_name.trim();
        if name.is_empty() || name.chars().count() > 50 {
            errors.add("receiver_name", "orders.receiver_name_required");
        }
        if !matches!(
            weiops_core::accounts::normalize_phone(&input.receiver_phone),
            Ok(Some(_))
        ) {
            errors.add("receiver_phone", "field.bad_phone");
        }
        let address = input.receiver_address.trim();
        if address.chars().count() < 5 || address.chars().count() > 200 {
            errors.add("receiver_address", "orders.receiver_address_required");
        }
    }
    if input.note.chars().count() > 200 {
        errors.add("note", "field.too_long");
    }
    if errors.is_empty() {
        Ok(qty)
    } else {
        Err(errors)
    }
}

/// A quantity typed in a portal form (`qty_…` fields): `None` when left
/// empty or 0 (that SKU is not asked for), else the number, or an error
/// when it is not one (the caller names the field: `orders.bad_qty`).
pub fn form_qty(value: &str) -> Option<std::result::Result<i64, std::num::ParseIntError>> {
    let v = value.trim();
    if v.is_empty() || v == "0" {
        return None;
    }
    Some(v.parse::<i64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(lines: &[(i64, i64)], fulfilment: Fulfilment) -> NewOrder {
        NewOrder {
            agent_id: 1,
            lines: lines
                .iter()
                .map(|&(sku_id, qty)| NewLine { sku_id, qty })
                .collect(),
            fulfilment,
            receiver_name: String::new(),
            receiver_phone: String::new(),
            receiver_address: String::new(),
            note: String::new(),
            warehouse_id: None,
        }
    }

    #[test]
    fn lines_of_one_sku_add_up_and_cloud_needs_no_receiver() {
        let qty = check(&order(&[(2, 3), (1, 1), (2, 4)], Fulfilment::Cloud)).unwrap();
        assert_eq!(qty.into_iter().collect::<Vec<_>>(), vec![(1, 1), (2, 7)]);
    }

    #[test]
    fn shipping_needs_a_receiver_and_quantities_stay_in_range() {
        // Field names, not message keys: the i18n test reads `get("…")`
        // calls as keys.
        let has = |e: &FieldErrors, field: &str| e.get(field).is_some();
        let e = check(&order(&[(1, 0)], Fulfilment::ShipToMe)).unwrap_err();
        for field in [
            "lines.0.qty",
            "receiver_name",
            "receiver_phone",
            "receiver_address",
        ] {
            assert!(has(&e, field), "{field}");
        }
        let e = check(&order(&[(1, MAX_QTY), (1, 1)], Fulfilment::Cloud)).unwrap_err();
        assert!(has(&e, "lines.1.qty"));
        let e = check(&order(&[], Fulfilment::Cloud)).unwrap_err();
        assert!(has(&e, "lines"));
    }

    #[test]
    fn form_quantities() {
        assert!(form_qty(" ").is_none());
        assert!(form_qty("0").is_none());
        assert_eq!(form_qty(" 12 ").unwrap().unwrap(), 12);
        assert!(form_qty("x").unwrap().is_err());
    }
}
