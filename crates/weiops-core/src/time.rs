//! Time as the company sees it: Beijing time (Asia/Shanghai).
//!
//! The database stores instants as BIGINT milliseconds since the Unix epoch
//! (UTC); pages show them as `2026-11-30 14:05`; periods (days, months) are
//! cut at Beijing midnight.
//!
//! Import and export files carry instants as text: strict RFC 3339 for what
//! machines write (orders.csv, every export), and dates as people type them
//! in Excel (or Excel's date serials) where a person fills the file in.

use std::fmt::Write as _;
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

// ---------------------------------------------------------------------------
// Dates as people type them
// ---------------------------------------------------------------------------

/// The earliest year a typed date may have (Excel's calendar starts 1900).
const TYPED_MIN_YEAR: i64 = 1900;

/// A date as people type it in Excel, read as Beijing time (Asia/Shanghai),
/// the company's clock, in epoch ms: `2026-11-06`, `2026/11/6`,
/// `2026.11.6` or `2026年11月6日`, optionally followed by a time `10:00` or
/// `10:00:05` (after a space). Surrounding spaces are ignored. A date alone
/// is Beijing midnight. Lenient on purpose, for facts a person types by
/// hand (`agents::parse_joined_at_ms` says where it is used and why
/// instants written by machines stay strict RFC 3339).
pub fn parse_typed_ms(s: &str) -> Option<i64> {
    let (year, month, day, rest) = typed_date(s.trim())?;
    let (hour, minute, second) = match rest {
        "" => (0, 0, 0),
        rest => {
            let time = rest.strip_prefix(' ')?.trim_start();
            typed_time(time)?
        }
    };
    beijing_ms(year, month, day, hour, minute, second)
}

/// `YYYY-M-D`, `YYYY/M/D`, `YYYY.M.D` (one or two digits for month and
/// day, the same separator twice) or `YYYY年M月D日`: (y, m, d, the rest).
fn typed_date(s: &str) -> Option<(i64, i64, i64, &str)> {
    fn number(s: &str, max_len: usize) -> Option<(i64, &str)> {
        let len = s.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 || len > max_len {
            return None;
        }
        Some((s[..len].parse().ok()?, &s[len..]))
    }
    let year_len = s.bytes().take_while(u8::is_ascii_digit).count();
    if year_len != 4 {
        return None;
    }
    let (year, rest) = number(s, 4)?;
    let (month, day, rest) = if let Some(rest) = rest.strip_prefix('年') {
        let (month, rest) = number(rest, 2)?;
        let (day, rest) = number(rest.strip_prefix('月')?, 2)?;
        (month, day, rest.strip_prefix('日')?)
    } else {
        let sep = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '-' | '/' | '.'))?;
        let (month, rest) = number(&rest[1..], 2)?;
        let (day, rest) = number(rest.strip_prefix(sep)?, 2)?;
        (month, day, rest)
    };
    let valid = (TYPED_MIN_YEAR..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day);
    valid.then_some((year, month, day, rest))
}

/// `H:MM` or `H:MM:SS` (hour one or two digits), nothing after it.
fn typed_time(s: &str) -> Option<(i64, i64, i64)> {
    let mut parts = s.split(':');
    let hour = parts.next()?;
    let minute = parts.next()?;
    let second = parts.next();
    if parts.next().is_some()
        || !(1..=2).contains(&hour.len())
        || minute.len() != 2
        || second.is_some_and(|s| s.len() != 2)
    {
        return None;
    }
    let number = |t: &str| {
        t.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| t.parse::<i64>().ok())
            .flatten()
    };
    let (hour, minute) = (number(hour)?, number(minute)?);
    let second = second.map_or(Some(0), number)?;
    (hour <= 23 && minute <= 59 && second <= 59).then_some((hour, minute, second))
}

/// A wall-clock time in Beijing as epoch ms (through the tz database, so
/// the summer times of 1986–1991 are right too).
fn beijing_ms(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Option<i64> {
    let civil = jiff::civil::DateTime::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        0,
    )
    .ok()?;
    let zoned = civil.to_zoned(beijing().clone()).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// An Excel date serial (days since 1899-12-30, the time of day as the
/// fraction; what a date cell holds, or a date column formatted as a
/// number) as the text [`parse_typed_ms`] reads, to the second:
/// `2026-11-06 10:00:00`. Serials before 1900-03-01 (61) are refused: Excel
/// counts a 29 February 1900 that never was. Float only because that is
/// how the workbook stores it; nothing is computed with it beyond rounding
/// to the nearest second.
pub fn excel_serial_text(serial: f64) -> Option<String> {
    if !serial.is_finite() || !(61.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let seconds = (serial * 86_400.0).round() as i64;
    // 1899-12-30 is day -25,569 of the Unix epoch.
    let days = seconds.div_euclid(86_400) - 25_569;
    let in_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Some(format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    ))
}

// ---------------------------------------------------------------------------
// RFC 3339
// ---------------------------------------------------------------------------

/// 0000-01-01T00:00:00Z: the earliest instant [`format_rfc3339_ms`] writes
/// as a four-digit year.
pub const RFC3339_MIN_MS: i64 = -62_167_219_200_000;
/// 9999-12-31T23:59:59.999Z: the latest.
pub const RFC3339_MAX_MS: i64 = 253_402_300_799_999;

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`): exact integer arithmetic, no table, no time zone.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12; // March = 0, so the leap day ends the year
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `len` ASCII digits at `at` as a number.
fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let field = b.get(at..at + len)?;
    field.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// Strict RFC 3339 as the spec defines it:
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, T and Z in either case, no
/// space for T, offset required, no hour 24, no second 60, fraction
/// truncated (never rounded) to milliseconds, real calendar dates only
/// (2026-02-30 is invalid), offset within ±23:59. Returns epoch ms.
///
/// Hand-written rather than delegated to jiff because the spec is stricter
/// than general-purpose parsers (which accept a space for `T`, or round).
/// Truncating the written fraction floors the instant, before 1970 too.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let punct = |at: usize, c: u8| b.get(at) == Some(&c);
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if !(punct(4, b'-')
        && punct(7, b'-')
        && matches!(b[10], b'T' | b't')
        && punct(13, b':')
        && punct(16, b':'))
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    let mut at = 19;
    let mut millis = 0;
    if punct(at, b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 3 {
                millis = millis * 10 + i64::from(b[at] - b'0');
            }
            at += 1;
        }
        let written = at - start;
        if written == 0 {
            return None;
        }
        for _ in written..3 {
            millis *= 10;
        }
    }

    let offset_minutes = match *b.get(at)? {
        b'Z' | b'z' => {
            at += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            let oh = digits(b, at + 1, 2)?;
            let om = digits(b, at + 4, 2)?;
            if !punct(at + 3, b':') || oh > 23 || om > 59 {
                return None;
            }
            at += 6;
            let minutes = oh * 60 + om;
            if sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    if at != b.len() {
        return None;
    }

    let local_seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some((local_seconds - offset_minutes * 60) * 1000 + millis)
}

/// The inverse for exports: `2026-11-30T06:05:09.123Z` style, always UTC
/// with `Z`, milliseconds only when non-zero (`2026-11-30T06:05:09Z`
/// otherwise). `parse(format(x)) == x` for every x in
/// [`RFC3339_MIN_MS`]`..=`[`RFC3339_MAX_MS`]; outside it the year does not
/// fit four digits and the text is not valid RFC 3339.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (secs, millis) = (in_day / 1000, in_day % 1000);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if millis != 0 {
        let _ = write!(out, ".{millis:03}");
    }
    out.push('Z');
    out
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

    // -- RFC 3339 -----------------------------------------------------------
    // -- RFC 3339 -----------------------------------------------------------

    #[test]
    fn rfc3339_accepts_what_the_spec_allows() {
        let base = 1_796_018_709_000; // 2026-11-30T06:05:09Z
        for (text, want) in [
            ("2026-11-30T06:05:09Z", base),
            ("2026-11-30t06:05:09z", base),
            ("2026-11-30T14:05:09+08:00", base),
            ("2026-11-29T23:05:09-07:00", base),
            ("2026-11-30T06:05:09+00:00", base),
            ("2026-11-30T06:05:09-00:00", base),
            ("2026-11-30T06:05:09.1Z", base + 100),
            ("2026-11-30T06:05:09.12Z", base + 120),
            ("2026-11-30T06:05:09.123Z", base + 123),
            ("2026-11-30T06:05:09.9999Z", base + 999),
            ("2026-11-30T06:05:09.999999999999Z", base + 999),
            ("2026-11-30T06:05:09.0005Z", base),
            ("2026-12-01T06:04:09+23:59", base),
            ("2026-11-29T06:06:09-23:59", base),
            ("2028-02-29T00:00:00Z", 1_835_395_200_000),
            ("2000-02-29T00:00:00Z", 951_782_400_000),
            ("1970-01-01T00:00:00Z", 0),
            ("1969-12-31T23:59:59.9999Z", -1),
            ("0000-01-01T00:00:00Z", RFC3339_MIN_MS),
            ("9999-12-31T23:59:59.999Z", RFC3339_MAX_MS),
            ("2026-12-31T23:59:59Z", 1_798_761_599_000),
        ] {
            assert_eq!(parse_rfc3339_ms(text), Some(want), "{text}");
        }
    }

    #[test]
    fn rfc3339_rejects_everything_else() {
        for text in [
            "2026-11-30 06:05:09Z",      // space for T
            "2026-11-30T06:05:09",       // no offset
            "2026-11-30T24:00:00Z",      // hour 24
            "2026-12-31T23:59:60Z",      // leap second
            "2026-02-29T00:00:00Z",      // not a leap year
            "1900-02-29T00:00:00Z",      // century, not a leap year
            "2026-02-30T00:00:00Z",      // no such day
            "2026-04-31T00:00:00Z",      // April has 30
            "2026-13-01T00:00:00Z",      // month 13
            "2026-00-10T00:00:00Z",      // month 0
            "2026-01-00T00:00:00Z",      // day 0
            "2026-01-01T00:60:00Z",      // minute 60
            "2026-01-01T00:00:00+24:00", // offset hour 24
            "2026-01-01T00:00:00+08:60", // offset minute 60
            "2026-01-01T00:00:00+0800",  // offset without colon
            "2026-01-01T00:00:00+08",    // offset without minutes
            "2026-01-01T00:00:00.Z",     // empty fraction
            "2026-01-01T00:00:00,5Z",    // comma fraction
            "2026-01-01T00:00Z",         // no seconds
            "2026-1-01T00:00:00Z",       // one-digit month
            "26-01-01T00:00:00Z",        // two-digit year
            "+2026-01-01T00:00:00Z",     // signed year
            "2026-01-01T00:00:00ZZ",     // trailing text
            " 2026-01-01T00:00:00Z",     // leading space
            "2026-01-01T00:00:00Z ",     // trailing space
            "2026-01-01",                // date only
            "2026/01/01T00:00:00Z",      // slashes
            "２026-01-01T00:00:00Z",     // full-width digit
            "2026-01-01T00:00:00 +08:00",
            "",
        ] {
            assert_eq!(parse_rfc3339_ms(text), None, "{text:?}");
        }
    }

    #[test]
    fn rfc3339_formats_utc_with_millis_only_when_needed() {
        assert_eq!(format_rfc3339_ms(1_796_018_709_000), "2026-11-30T06:05:09Z");
        assert_eq!(
            format_rfc3339_ms(1_796_018_709_123),
            "2026-11-30T06:05:09.123Z"
        );
        assert_eq!(
            format_rfc3339_ms(1_796_018_709_050),
            "2026-11-30T06:05:09.050Z"
        );
        assert_eq!(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_rfc3339_ms(RFC3339_MIN_MS), "0000-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339_ms(RFC3339_MAX_MS),
            "9999-12-31T23:59:59.999Z"
        );
        for ms in [
            0,
            -1,
            1,
            951_782_400_000,
            RFC3339_MIN_MS,
            RFC3339_MAX_MS,
            -86_400_001,
        ] {
            assert_eq!(parse_rfc3339_ms(&format_rfc3339_ms(ms)), Some(ms));
        }
        // Outside four-digit years the text is not RFC 3339 (no panic).
        assert_eq!(
            parse_rfc3339_ms(&format_rfc3339_ms(RFC3339_MIN_MS - 1)),
            None
        );
        assert_eq!(
            parse_rfc3339_ms(&format_rfc3339_ms(RFC3339_MAX_MS + 1)),
            None
        );
        let _ = format_rfc3339_ms(i64::MIN);
        let _ = format_rfc3339_ms(i64::MAX);
    }

    #[test]
    fn rfc3339_agrees_with_jiff() {
        for text in [
            "2026-11-30T14:05:09.123+08:00",
            "1969-07-20T20:17:40Z",
            "2000-02-29T12:00:00-05:30",
            "1600-03-01T00:00:00Z",
        ] {
            let ts: jiff::Timestamp = text.parse().unwrap();
            assert_eq!(parse_rfc3339_ms(text), Some(ts.as_millisecond()), "{text}");
        }
    }
}
