//! Calendar arithmetic on unix seconds, without a date library (this crate builds for wasm
//! and the same output is needed on the server and in the browser, so hydration matches).

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD HH:MM UTC` for unix seconds.
pub fn format_utc(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn unix_seconds_format_as_utc_dates() {
        for (unix, text) in [
            (0, "1970-01-01 00:00 UTC"),
            (1_795_651_200, "2026-11-26 00:00 UTC"),
            (951_827_696, "2000-02-29 12:34 UTC"),
            (-1, "1969-12-31 23:59 UTC"),
        ] {
            assert_eq!(super::format_utc(unix), text);
        }
    }
}
