//! The pure rules of stock: what a valid quantity and warehouse code are,
//! when a SKU is low, and what a count changes. No I/O, unit-tested here.

use weiops_core::accounts::Invalid;

/// The most units one movement, threshold or counted line may name: a typo
/// with three extra zeros should be refused, not booked.
pub const MAX_QTY: i64 = 10_000_000;

/// A quantity to move: a whole number of units, 1..=[`MAX_QTY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Qty(i64);

impl Qty {
    pub fn new(n: i64) -> Option<Qty> {
        (1..=MAX_QTY).contains(&n).then_some(Qty(n))
    }

    /// A quantity as typed in a form (`" 12 "`); anything else is `None`.
    pub fn parse(s: &str) -> Option<Qty> {
        s.trim().parse().ok().and_then(Qty::new)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A count or a threshold: 0..=[`MAX_QTY`].
pub fn valid_level(n: i64) -> bool {
    (0..=MAX_QTY).contains(&n)
}

/// What can be sold or moved: on hand minus reserved (never below zero).
pub fn available(on_hand: i64, reserved: i64) -> i64 {
    (on_hand - reserved).max(0)
}

/// A SKU is low in a warehouse when what is available is at or under its
/// threshold (threshold 0: out of stock is low).
pub fn is_low(on_hand: i64, reserved: i64, low_alert: i64) -> bool {
    available(on_hand, reserved) <= low_alert
}

/// The adjustment a counted line makes when the count is finished:
/// counted minus expected. Adjusting by the difference (not by setting
/// on-hand to the counted figure) keeps any movement booked while the
/// count was open. `None`: not counted, or no difference.
pub fn count_delta(expected: i64, counted: Option<i64>) -> Option<i64> {
    counted.map(|c| c - expected).filter(|d| *d != 0)
}

/// Warehouse codes: 1–32 ASCII letters, digits, `-` or `_` (they appear in
/// exports and on waybills).
pub fn check_warehouse_code(code: &str) -> Result<(), Invalid> {
    let code = code.trim();
    if code.is_empty() {
        Err(Invalid::Required)
    } else if code.chars().count() > 32 {
        Err(Invalid::TooLong)
    } else if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Err(Invalid::BadCharacters)
    } else {
        Ok(())
    }
}

/// Free text (names, reasons, addresses): required or not, at most `max`
/// characters once trimmed.
pub fn check_text(s: &str, required: bool, max: usize) -> Result<(), Invalid> {
    let s = s.trim();
    if required && s.is_empty() {
        Err(Invalid::Required)
    } else if s.chars().count() > max {
        Err(Invalid::TooLong)
    } else {
        Ok(())
    }
}

/// Which of several orders waiting together the stock covers, decided in
/// their order of arrival: an order takes every line it asks for or none
/// (the whole order is refused), so a refused order leaves its units to
/// the orders after it. `available` is what each key (a warehouse and SKU)
/// has before these orders; a key missing from it has nothing. A refusal
/// names the first key the order cannot have and what was still available
/// of it when the order's turn came. Each order names a key once.
pub fn allocate<K: Ord + Copy>(
    available: &std::collections::BTreeMap<K, i64>,
    orders: &[Vec<(K, i64)>],
) -> Vec<Result<(), (K, i64)>> {
    let mut left = available.clone();
    orders
        .iter()
        .map(|lines| {
            for &(key, qty) in lines {
                let has = left.get(&key).copied().unwrap_or(0).max(0);
                if qty > has {
                    return Err((key, has));
                }
            }
            for &(key, qty) in lines {
                if let Some(n) = left.get_mut(&key) {
                    *n -= qty;
                }
            }
            Ok(())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(Qty::parse(" 12 ").map(Qty::get), Some(12));
        assert_eq!(Qty::parse("0"), None);
        assert_eq!(Qty::parse("-3"), None);
        assert_eq!(Qty::parse("1.5"), None);
        assert_eq!(Qty::parse("十"), None);
        assert_eq!(Qty::new(MAX_QTY).map(Qty::get), Some(MAX_QTY));
        assert_eq!(Qty::new(MAX_QTY + 1), None);
        assert!(valid_level(0) && !valid_level(-1) && !valid_level(MAX_QTY + 1));
    }

    #[test]
    fn low_when_available_at_or_under_threshold() {
        assert!(is_low(10, 5, 5));
        assert!(!is_low(10, 4, 5));
        assert!(is_low(0, 0, 0));
        assert!(!is_low(1, 0, 0));
        assert_eq!(available(3, 5), 0);
    }

    #[test]
    fn count_differences() {
        assert_eq!(count_delta(10, Some(7)), Some(-3));
        assert_eq!(count_delta(10, Some(12)), Some(2));
        assert_eq!(count_delta(10, Some(10)), None);
        assert_eq!(count_delta(10, None), None);
    }

    #[test]
    fn warehouse_codes() {
        assert!(check_warehouse_code("WH-01").is_ok());
        assert_eq!(check_warehouse_code(" "), Err(Invalid::Required));
        assert_eq!(check_warehouse_code("仓1"), Err(Invalid::BadCharacters));
        assert_eq!(check_warehouse_code(&"a".repeat(33)), Err(Invalid::TooLong));
        assert_eq!(check_text("", true, 5), Err(Invalid::Required));
        assert_eq!(check_text("六个字的名字", false, 5), Err(Invalid::TooLong));
    }

    #[test]
    fn allocation_in_arrival_order_all_lines_or_none() {
        let available = std::collections::BTreeMap::from([(1, 10), (2, 3)]);
        let orders = vec![
            vec![(1, 4), (2, 2)],
            // SKU 2 has 1 left: refused whole, its 4 of SKU 1 stay free.
            vec![(1, 4), (2, 2)],
            vec![(1, 6)],
            vec![(1, 1)],
            // Never stocked: nothing available.
            vec![(3, 1)],
            vec![(2, 1)],
        ];
        assert_eq!(
            allocate(&available, &orders),
            vec![
                Ok(()),
                Err((2, 1)),
                Ok(()),
                Err((1, 0)),
                Err((3, 0)),
                Ok(())
            ]
        );
    }

    #[test]
    fn allocation_never_oversells() {
        let available = std::collections::BTreeMap::from([(7, 10)]);
        let orders = vec![vec![(7, 1)]; 200];
        let taken = allocate(&available, &orders)
            .iter()
            .filter(|r| r.is_ok())
            .count();
        assert_eq!(taken, 10);
        // Negative levels (never stored) count as nothing.
        let short = std::collections::BTreeMap::from([(7, -2)]);
        assert_eq!(allocate(&short, &[vec![(7, 1)]]), vec![Err((7, 0))]);
    }
}
