//! Time as the company sees it: Beijing time (Asia/Shanghai).
//!
//! The database stores instants as BIGINT milliseconds since the Unix epoch
//! (UTC); pages show them as `2026-11-30 14:05`; periods (days, months) are
//! cut at Beijing midnight.

use std::sync::OnceLock;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// The zone every period and every displayed time uses.
pub fn beijing() -> &'static TimeZone {
    static TZ: OnceLock<TimeZone> = OnceLock::new();
    TZ.get_or_init(|| {
        TimeZone::get("Asia/Shanghai").expect("the bundled tz database has Asia/Shanghai")
    })
}

fn zoned(ms: i64) -> Option<Zoned> {
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| t.to_zoned(beijing().clone()))
}

/// `2026-11-30 14:05` in Beijing time; an out-of-range instant shows as `-`.
pub fn format_minute(ms: i64) -> String {
    zoned(ms)
        .map(|z| z.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

/// `2026-11-30 14:05:09` in Beijing time, for audit trails and exports.
pub fn format_second(ms: i64) -> String {
    zoned(ms)
        .map(|z| z.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

/// `2026-11-30` in Beijing time.
pub fn format_date(ms: i64) -> String {
    zoned(ms)
        .map(|z| z.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "-".into())
}

/// The Beijing calendar date an instant falls on.
pub fn beijing_date(ms: i64) -> Option<Date> {
    zoned(ms).map(|z| z.date())
}

/// Milliseconds at Beijing midnight starting `date`.
pub fn start_of_day_ms(date: Date) -> i64 {
    DateTime::from(date)
        .to_zoned(beijing().clone())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(i64::MIN)
}

/// Parses `YYYY-MM-DD` (as a date input sends it) into the Beijing midnight
/// that starts that day. `None` for anything else.
pub fn parse_day_start(input: &str) -> Option<i64> {
    let date: Date = input.trim().parse().ok()?;
    Some(start_of_day_ms(date))
}

/// Parses `YYYY-MM-DD` into the Beijing midnight that ends that day, so that a
/// filter "to 2026-11-30" includes the whole 30th.
pub fn parse_day_end(input: &str) -> Option<i64> {
    let date: Date = input.trim().parse().ok()?;
    let next = date.tomorrow().ok()?;
    Some(start_of_day_ms(next))
}

/// A settlement month in Beijing time, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: i16,
    month: i8,
}

impl Period {
    pub fn parse(input: &str) -> Option<Period> {
        let (y, m) = input.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year: i16 = y.parse().ok()?;
        let month: i8 = m.parse().ok()?;
        // Months whose next month jiff can represent (bounds_ms needs it).
        if !(1900..=9998).contains(&year) {
            return None;
        }
        Date::new(year, month, 1).ok()?;
        Some(Period { year, month })
    }

    /// The period an instant falls in.
    pub fn containing(ms: i64) -> Option<Period> {
        let d = beijing_date(ms)?;
        Some(Period {
            year: d.year(),
            month: d.month(),
        })
    }

    fn first_day(self) -> Date {
        Date::new(self.year, self.month, 1).expect("validated on construction")
    }

    /// `[start, end)` in epoch milliseconds.
    pub fn bounds_ms(self) -> (i64, i64) {
        let first = self.first_day();
        let next = first
            .checked_add(jiff::Span::new().months(1))
            .expect("in range");
        (start_of_day_ms(first), start_of_day_ms(next))
    }

    pub fn next(self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn previous(self) -> Period {
        if self.month == 1 {
            Period {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Period {
                year: self.year,
                month: self.month - 1,
            }
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-30 06:05:09 UTC is 14:05:09 in Beijing.
    const SAMPLE: i64 = 1_796_018_709_000;

    #[test]
    fn formats_in_beijing_time() {
        assert_eq!(format_minute(SAMPLE), "2026-11-30 14:05");
        assert_eq!(format_second(SAMPLE), "2026-11-30 14:05:09");
        assert_eq!(format_date(SAMPLE), "2026-11-30");
        assert_eq!(format_minute(i64::MAX), "-");
    }

    #[test]
    fn days_are_cut_at_beijing_midnight() {
        let start = parse_day_start("2026-11-30").unwrap();
        let end = parse_day_end("2026-11-30").unwrap();
        assert_eq!(end - start, 86_400_000);
        // Beijing midnight is 16:00 UTC the day before.
        assert_eq!(format_second(start), "2026-11-30 00:00:00");
        assert_eq!(start % 86_400_000, 16 * 3_600_000);
        assert!(parse_day_start("2026-13-01").is_none());
        assert!(parse_day_start("yesterday").is_none());
    }

    #[test]
    fn periods() {
        let p = Period::parse("2026-12").unwrap();
        let (start, end) = p.bounds_ms();
        assert_eq!(format_second(start), "2026-12-01 00:00:00");
        assert_eq!(format_second(end), "2027-01-01 00:00:00");
        assert_eq!(p.previous().to_string(), "2026-11");
        assert_eq!(
            Period::parse("2027-01").unwrap().previous().to_string(),
            "2026-12"
        );
        assert_eq!(Period::containing(SAMPLE).unwrap().to_string(), "2026-11");
        assert!(Period::parse("2026-1").is_none());
        assert!(Period::parse("2026-00").is_none());
    }
}
