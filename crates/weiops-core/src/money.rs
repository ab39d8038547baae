//! Money and rates.
//!
//! Money is an integer count of fen (分, 1/100 yuan). Rates are basis points
//! (1/10000). The only rounding is `floor(amount * bp / 10000)` computed in
//! `i128` (shared/spec/settlement.md), so no float ever touches money.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of money in fen. Negative amounts are allowed (refunds,
/// clawbacks); arithmetic is checked and never wraps.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

/// A rate in basis points: 10000 bp = 100 %.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Bp(pub u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflows")]
    Overflow,
    #[error("not an amount of money: {0:?}")]
    Malformed(String),
    #[error("more than two decimal places: {0:?}")]
    TooPrecise(String),
    #[error("rate above 100%: {0} bp")]
    RateTooHigh(u32),
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn checked_add(self, other: Fen) -> Result<Fen, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Fen)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Fen) -> Result<Fen, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Fen)
            .ok_or(MoneyError::Overflow)
    }

    /// `floor(self * rate / 10000)`, the one rounding rule of the settlement
    /// spec. For a negative amount the floor goes toward negative infinity,
    /// so a reversal of `x` is exactly `-x` only when computed from the
    /// positive amount and negated; callers reverse by negating results.
    pub fn apply_rate(self, rate: Bp) -> Result<Fen, MoneyError> {
        let product = i128::from(self.0) * i128::from(rate.0);
        let floored = product.div_euclid(10_000);
        i64::try_from(floored)
            .map(Fen)
            .map_err(|_| MoneyError::Overflow)
    }

    /// Parses a yuan amount as typed by a person: `1234.5`, `¥1,234.56`,
    /// `-3`. At most two decimal places; anything else is an error, never a
    /// silent rounding.
    pub fn parse_yuan(input: &str) -> Result<Fen, MoneyError> {
        let malformed = || MoneyError::Malformed(input.to_string());
        // `-¥1.00` (as Display writes it) and `¥-1.00` (as people type it).
        let trimmed = input.trim();
        let (negative, rest) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let rest = rest.trim_start_matches(['¥', '￥']);
        let (negative, rest) = match rest.strip_prefix('-') {
            Some(r) if !negative => (true, r),
            Some(_) => return Err(malformed()),
            None => (negative, rest),
        };
        let cleaned: String = rest
            .chars()
            .filter(|c| *c != ',' && !c.is_whitespace())
            .collect();
        let digits = cleaned.as_str();
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return Err(malformed());
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
            return Err(malformed());
        }
        if frac.len() > 2 {
            return Err(MoneyError::TooPrecise(input.to_string()));
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| MoneyError::Overflow)?
        };
        let frac_fen: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| malformed())? * 10,
            _ => frac.parse::<i64>().map_err(|_| malformed())?,
        };
        let fen = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac_fen))
            .ok_or(MoneyError::Overflow)?;
        Ok(Fen(if negative { -fen } else { fen }))
    }
}

/// `¥1,234.56`, `-¥0.05`: the format every page and export uses.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = self.0.unsigned_abs();
        let yuan = abs / 100;
        let fen = abs % 100;
        let digits = yuan.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}¥{grouped}.{fen:02}")
    }
}

impl Bp {
    pub const FULL: Bp = Bp(10_000);

    pub fn new(value: u32) -> Result<Bp, MoneyError> {
        if value > 10_000 {
            Err(MoneyError::RateTooHigh(value))
        } else {
            Ok(Bp(value))
        }
    }
}

/// `12.5%` for 1250 bp.
impl fmt::Display for Bp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        let frac = self.0 % 100;
        if frac == 0 {
            write!(f, "{whole}%")
        } else if frac.is_multiple_of(10) {
            write!(f, "{whole}.{}%", frac / 10)
        } else {
            write!(f, "{whole}.{frac:02}%")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_grouping_and_two_decimals() {
        assert_eq!(Fen(123_456).to_string(), "¥1,234.56");
        assert_eq!(Fen(0).to_string(), "¥0.00");
        assert_eq!(Fen(-5).to_string(), "-¥0.05");
        assert_eq!(Fen(10_000_000_000).to_string(), "¥100,000,000.00");
        assert_eq!(Fen(i64::MIN).to_string(), "-¥92,233,720,368,547,758.08");
    }

    #[test]
    fn parses_what_people_type() {
        assert_eq!(Fen::parse_yuan("1234.5"), Ok(Fen(123_450)));
        assert_eq!(Fen::parse_yuan("¥1,234.56"), Ok(Fen(123_456)));
        assert_eq!(Fen::parse_yuan(" -3 "), Ok(Fen(-300)));
        assert_eq!(Fen::parse_yuan("¥-3"), Ok(Fen(-300)));
        assert!(Fen::parse_yuan("--3").is_err());
        assert_eq!(Fen::parse_yuan(".5"), Ok(Fen(50)));
        assert!(matches!(
            Fen::parse_yuan("1.234"),
            Err(MoneyError::TooPrecise(_))
        ));
        assert!(matches!(
            Fen::parse_yuan("abc"),
            Err(MoneyError::Malformed(_))
        ));
        assert!(matches!(Fen::parse_yuan(""), Err(MoneyError::Malformed(_))));
        assert!(matches!(
            Fen::parse_yuan("1e5"),
            Err(MoneyError::Malformed(_))
        ));
        assert_eq!(
            Fen::parse_yuan("99999999999999999999"),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn display_and_parse_round_trip() {
        for v in [0, 1, 99, 100, 123_456_789, -42, i64::MAX / 1000] {
            assert_eq!(Fen::parse_yuan(&Fen(v).to_string()), Ok(Fen(v)));
        }
    }

    #[test]
    fn rate_floors_in_i128() {
        assert_eq!(Fen(10_000).apply_rate(Bp(7_000)), Ok(Fen(7_000)));
        assert_eq!(Fen(333).apply_rate(Bp(300)), Ok(Fen(9))); // 9.99 floors to 9
        assert_eq!(Fen(i64::MAX).apply_rate(Bp(10_000)), Ok(Fen(i64::MAX)));
        assert_eq!(Fen(-333).apply_rate(Bp(300)), Ok(Fen(-10)));
    }

    #[test]
    fn checked_arithmetic_never_wraps() {
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), Err(MoneyError::Overflow));
        assert_eq!(Fen(5).checked_sub(Fen(7)), Ok(Fen(-2)));
    }

    #[test]
    fn rates() {
        assert_eq!(Bp(1250).to_string(), "12.5%");
        assert_eq!(Bp(300).to_string(), "3%");
        assert_eq!(Bp(1).to_string(), "0.01%");
        assert!(Bp::new(10_001).is_err());
    }
}
