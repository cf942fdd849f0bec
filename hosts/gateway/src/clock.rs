//! The wall clock, and the two time formats the gateway speaks: RFC 3339 with
//! milliseconds (`2026-01-26T17:30:00.000Z`, as in the webhook payload of the product
//! docs) and milliseconds since the Unix epoch (what the audit table stores, so range
//! queries are integer comparisons).
//!
//! Formatting is hand-written (days → civil date) because it runs on every decision and
//! needs nothing a general date library offers.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, rem) = (rem / 3_600_000, rem % 3_600_000);
    let (min, rem) = (rem / 60_000, rem % 60_000);
    let (s, milli) = (rem / 1000, rem % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// Reads a time filter: an RFC 3339 instant, a date `YYYY-MM-DD` (its start, or with
/// `end_of_day` the start of the next day, so `to=2026-01-31` includes the 31st), or
/// milliseconds since the epoch.
pub fn parse_filter(s: &str, end_of_day: bool) -> Option<i64> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    if let Ok(ms) = meshguard_core::parse_instant_ms(s) {
        return Some(ms);
    }
    let mut parts = s.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let days = days_from_civil(y, m, d) + i64::from(end_of_day);
    Some(days * 86_400_000)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The inverse: (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        let ms = meshguard_core::parse_instant_ms("2026-01-26T17:30:00.123Z").unwrap();
        assert_eq!(rfc3339_ms(ms), "2026-01-26T17:30:00.123Z");
        let leap = meshguard_core::parse_instant_ms("2024-02-29T23:59:59.999Z").unwrap();
        assert_eq!(rfc3339_ms(leap), "2024-02-29T23:59:59.999Z");
        assert_eq!(
            parse_filter("2026-01-26", false),
            meshguard_core::parse_instant_ms("2026-01-26T00:00:00Z").ok()
        );
        assert_eq!(
            parse_filter("2026-01-31", true),
            meshguard_core::parse_instant_ms("2026-02-01T00:00:00Z").ok()
        );
        assert_eq!(parse_filter("2026-02-30", false), None);
        assert_eq!(parse_filter("12345", false), Some(12345));
        assert_eq!(parse_filter("soon", false), None);
        for days in [-800_000, -1, 0, 1, 19_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            let back = days_from_civil(y, m as u32, d as u32);
            assert_eq!(back, days);
        }
    }
}
