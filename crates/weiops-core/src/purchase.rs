//! Agent purchase orders (进货单): the states an order moves through and
//! what each SKU costs an agent of a level. Pure rules; the orders module
//! stores and audits the moves.
//!
//! ```text
//! 待付款 ──pay──▶ 已付款 ──allocate──▶ 配货中 ──ship──▶ 已发货 ──receive──▶ 已签收 ──complete──▶ 已完成
//!   │  └─cancel─▶ 已取消      │ └─to cloud stock (complete)─────────────────────────────────▲
//!   └─expire/close─▶ 已关闭    └─refund─▶ 已退款 (also from 配货中, 已发货, 已签收, 已完成)
//! ```

use serde::{Deserialize, Serialize};

use crate::money::{Bp, Fen};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// 待付款: stock reserved until paid, cancelled or expired.
    PendingPayment,
    /// 已付款: counts for rewards.
    Paid,
    /// 配货中
    Picking,
    /// 已发货
    Shipped,
    /// 已签收
    Received,
    /// 已完成
    Completed,
    /// 已取消 (by the agent or staff before payment)
    Cancelled,
    /// 已关闭 (unpaid past the reservation time)
    Closed,
    /// 已退款
    Refunded,
}

impl std::fmt::Display for OrderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl OrderState {
    pub const ALL: [OrderState; 9] = [
        OrderState::PendingPayment,
        OrderState::Paid,
        OrderState::Picking,
        OrderState::Shipped,
        OrderState::Received,
        OrderState::Completed,
        OrderState::Cancelled,
        OrderState::Closed,
        OrderState::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::PendingPayment => "pending_payment",
            OrderState::Paid => "paid",
            OrderState::Picking => "picking",
            OrderState::Shipped => "shipped",
            OrderState::Received => "received",
            OrderState::Completed => "completed",
            OrderState::Cancelled => "cancelled",
            OrderState::Closed => "closed",
            OrderState::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Paid and not refunded: the order counts for rewards.
    pub fn counts(self) -> bool {
        matches!(
            self,
            OrderState::Paid
                | OrderState::Picking
                | OrderState::Shipped
                | OrderState::Received
                | OrderState::Completed
        )
    }

    /// No move leaves this state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderState::Cancelled | OrderState::Closed | OrderState::Refunded
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    Pay,
    Allocate,
    Ship,
    Receive,
    Complete,
    Cancel,
    /// Unpaid past the reservation time (or closed by staff).
    Close,
    Refund,
}

impl OrderAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderAction::Pay => "pay",
            OrderAction::Allocate => "allocate",
            OrderAction::Ship => "ship",
            OrderAction::Receive => "receive",
            OrderAction::Complete => "complete",
            OrderAction::Cancel => "cancel",
            OrderAction::Close => "close",
            OrderAction::Refund => "refund",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from:?} cannot {action:?}")]
pub struct TransitionRefused {
    pub from: OrderState,
    pub action: OrderAction,
}

/// Where `action` takes an order in `from`, or why not.
pub fn next(from: OrderState, action: OrderAction) -> Result<OrderState, TransitionRefused> {
    use OrderAction as A;
    use OrderState as S;
    let to = match (from, action) {
        (S::PendingPayment, A::Pay) => S::Paid,
        (S::PendingPayment, A::Cancel) => S::Cancelled,
        (S::PendingPayment, A::Close) => S::Closed,
        (S::Paid, A::Allocate) => S::Picking,
        // Goods kept in the agent's cloud stock complete at once.
        (S::Paid, A::Complete) => S::Completed,
        (S::Picking, A::Ship) => S::Shipped,
        (S::Shipped, A::Receive) => S::Received,
        (S::Received, A::Complete) => S::Completed,
        (S::Paid | S::Picking | S::Shipped | S::Received | S::Completed, A::Refund) => S::Refunded,
        _ => return Err(TransitionRefused { from, action }),
    };
    Ok(to)
}

/// What an agent of a level pays for one unit: the SKU's own price for the
/// level when set, else `floor(retail * level_rate / 10000)`.
pub fn unit_price(retail: Fen, level_rate: Bp, level_override: Option<Fen>) -> Fen {
    match level_override {
        Some(p) => p,
        None => Fen(i64::try_from(
            (i128::from(retail.0.max(0)) * i128::from(level_rate.0)).div_euclid(10_000),
        )
        .unwrap_or(i64::MAX)),
    }
}

/// `unit * qty`, or `None` when it does not fit.
pub fn line_amount(unit: Fen, qty: i64) -> Option<Fen> {
    if qty <= 0 {
        return None;
    }
    unit.0.checked_mul(qty).map(Fen)
}

/// One line of an order as [`level_prices`] prices it: quantity, retail
/// per unit, and the SKU's own prices as `(level, price per unit)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub qty: i64,
    pub retail: Fen,
    pub own: Vec<(i64, Fen)>,
}

/// `price_at(L)` of an order for every level of `rates` (`(level, rate)`,
/// any order): the sum over its lines of `qty × unit price for L`, each unit
/// price by [`unit_price`]. Levels ascending; `None` when a sum does not fit
/// an `i64`. The order's amount is the entry of the buyer's level.
pub fn level_prices(lines: &[PricedLine], rates: &[(i64, Bp)]) -> Option<Vec<(i64, Fen)>> {
    let mut rates = rates.to_vec();
    rates.sort_by_key(|(l, _)| *l);
    rates.dedup_by_key(|(l, _)| *l);
    rates
        .iter()
        .map(|(level, rate)| {
            let mut sum = Fen::ZERO;
            for l in lines {
                let own = l.own.iter().find(|(ol, _)| ol == level).map(|(_, p)| *p);
                let amount = line_amount(unit_price(l.retail, *rate, own), l.qty)?;
                sum = Fen(sum.0.checked_add(amount.0)?);
            }
            Some((*level, sum))
        })
        .collect()
}

/// The text kept in `orders.level_prices`: `price_at(1):…:price_at(K)`
/// for the levels `1..=K` (a gap in the levels ends the list: a level with
/// no price earns nothing from the order).
pub fn level_prices_text(prices: &[(i64, Fen)]) -> String {
    let mut out = String::new();
    for (i, (level, p)) in prices.iter().enumerate() {
        if *level != i as i64 + 1 {
            break;
        }
        if i > 0 {
            out.push(':');
        }
        out.push_str(&p.0.to_string());
    }
    out
}

/// Reads [`level_prices_text`]; `None` for an empty or malformed text (the
/// order is then priced by its retail value and the level rates).
pub fn parse_level_prices(text: &str) -> Option<Vec<Fen>> {
    if text.is_empty() {
        return None;
    }
    text.split(':')
        .map(|p| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<i64>().ok().map(Fen))
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_prices_use_a_skus_own_price_where_set_and_round_trip_as_text() {
        let lines = [
            PricedLine {
                qty: 3,
                retail: Fen(23_900),
                own: vec![(4, Fen(15_900))],
            },
            PricedLine {
                qty: 1,
                retail: Fen(19_900),
                own: vec![],
            },
        ];
        let rates = [
            (5, Bp(8000)),
            (1, Bp(4000)),
            (4, Bp(7000)),
            (2, Bp(5000)),
            (3, Bp(6000)),
        ];
        let p = level_prices(&lines, &rates).unwrap();
        assert_eq!(p[3], (4, Fen(3 * 15_900 + 13_930)));
        assert_eq!(p[0], (1, Fen(3 * 9_560 + 7_960)));
        let text = level_prices_text(&p);
        assert_eq!(text.split(':').count(), 5);
        assert_eq!(
            parse_level_prices(&text).unwrap(),
            p.iter().map(|(_, f)| *f).collect::<Vec<_>>()
        );
        assert_eq!(parse_level_prices(""), None);
        assert_eq!(parse_level_prices("1::2"), None);
        assert_eq!(parse_level_prices("-1"), None);
        let huge = [PricedLine {
            qty: i64::MAX,
            retail: Fen(100),
            own: vec![],
        }];
        assert_eq!(level_prices(&huge, &rates), None);
        // A gap in the levels ends the list.
        assert_eq!(level_prices_text(&[(1, Fen(5)), (3, Fen(7))]), "5");
    }

    #[test]
    fn the_happy_path_and_its_refusals() {
        use OrderAction as A;
        use OrderState as S;
        let mut s = S::PendingPayment;
        for (a, want) in [
            (A::Pay, S::Paid),
            (A::Allocate, S::Picking),
            (A::Ship, S::Shipped),
            (A::Receive, S::Received),
            (A::Complete, S::Completed),
            (A::Refund, S::Refunded),
        ] {
            s = next(s, a).unwrap();
            assert_eq!(s, want);
        }
        assert!(next(S::Refunded, A::Refund).is_err());
        assert!(next(S::PendingPayment, A::Ship).is_err());
        assert!(next(S::Paid, A::Cancel).is_err());
        assert!(next(S::Closed, A::Pay).is_err());
        assert_eq!(next(S::PendingPayment, A::Close), Ok(S::Closed));
        assert_eq!(next(S::Paid, A::Complete), Ok(S::Completed));
    }

    #[test]
    fn every_pair_is_decided_and_finals_stay_final() {
        let actions = [
            OrderAction::Pay,
            OrderAction::Allocate,
            OrderAction::Ship,
            OrderAction::Receive,
            OrderAction::Complete,
            OrderAction::Cancel,
            OrderAction::Close,
            OrderAction::Refund,
        ];
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.as_str()), Some(s));
            for a in actions {
                if s.is_final() {
                    assert!(next(s, a).is_err(), "{s:?} {a:?}");
                }
                if let Ok(to) = next(s, a) {
                    // Counting starts with payment and ends with a refund.
                    if a == OrderAction::Pay {
                        assert!(to.counts());
                    }
                    if a == OrderAction::Refund {
                        assert!(!to.counts());
                    }
                }
            }
        }
    }

    #[test]
    fn prices() {
        assert_eq!(unit_price(Fen(9_999), Bp(7000), None), Fen(6_999));
        assert_eq!(
            unit_price(Fen(9_999), Bp(7000), Some(Fen(5_000))),
            Fen(5_000)
        );
        assert_eq!(line_amount(Fen(100), 3), Some(Fen(300)));
        assert_eq!(line_amount(Fen(i64::MAX), 2), None);
        assert_eq!(line_amount(Fen(100), 0), None);
    }
}
