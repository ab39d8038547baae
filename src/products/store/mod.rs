//! Storage of categories, products and SKUs; the price an agent of a level
//! pays for a SKU; and the history of every price change.
//!
//! A SKU's price for a level is its own override when set, else the level's
//! rate applied to retail (`weiops_core::purchase::unit_price`). Every change
//! of a retail price or an override writes one `sku_price_history` row and
//! the audit entry in the same transaction as the change.
//!
//! One file per section (`categories`, `products`, `skus`, `prices` for
//! orders), re-exported here so callers write `products::store::get_sku`;
//! the checks every section uses stay in this file.

use weiops_core::money::Bp;

use crate::agents::levels::Level;
use crate::error::FieldErrors;

mod categories;
mod prices;
mod products;
mod skus;

pub use categories::*;
pub use prices::*;
pub use products::*;
pub use skus::*;

/// The highest price or retail price accepted: ¥10,000,000.00.
pub const MAX_PRICE_FEN: i64 = 1_000_000_000;
/// The heaviest SKU accepted: 1 t.
pub const MAX_WEIGHT_G: i64 = 1_000_000;

// ---------------------------------------------------------------- rules

/// Product and SKU codes: 1–32 of `A-Z 0-9 - _ .`, stored uppercase so that
/// `a01` and `A01` cannot both exist (codes are read aloud and printed on
/// waybills).
pub fn check_code(errors: &mut FieldErrors, field: &str, code: &str) -> String {
    let code = code.trim().to_ascii_uppercase();
    if code.is_empty() {
        errors.add(field, "field.required");
    } else if code.len() > 32 {
        errors.add(field, "field.too_long");
    } else if !code
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
    {
        errors.add(field, "products.code_chars");
    }
    code
}

/// Free text of at most `max` characters, trimmed; `required` refuses empty.
fn check_text(
    errors: &mut FieldErrors,
    field: &str,
    text: &str,
    max: usize,
    required: bool,
) -> String {
    let text = text.trim().to_string();
    if required && text.is_empty() {
        errors.add(field, "field.required");
    } else if text.chars().count() > max {
        errors.add(field, "field.too_long");
    } else if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        errors.add(field, "field.bad_characters");
    }
    text
}

fn check_price(errors: &mut FieldErrors, field: &str, fen: i64) {
    if !(0..=MAX_PRICE_FEN).contains(&fen) {
        errors.add(field, "sku.price_range");
    }
}

fn rate_of(level: &Level) -> Bp {
    Bp(level.price_bp.clamp(0, 10_000) as u32)
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Serde's default of flags that are on unless a form says otherwise.
fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_uppercased_and_checked() {
        let mut e = FieldErrors::default();
        assert_eq!(check_code(&mut e, "code", " wx-a01.5 "), "WX-A01.5");
        assert!(e.is_empty());
        check_code(&mut e, "a", "");
        check_code(&mut e, "b", "中文");
        check_code(&mut e, "c", &"x".repeat(33));
        assert_eq!(e.get("a"), Some("field.required"));
        assert_eq!(e.get("b"), Some("products.code_chars"));
        assert_eq!(e.get("c"), Some("field.too_long"));
    }
}
