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

/// (year, month, day) to days since 1970-01-01 (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` for the UTC day containing unix seconds `unix`.
pub fn format_day(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Unix seconds of the UTC midnight of `YYYY-MM-DD`, or `None` when it is not a real date.
pub fn parse_day(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let days = days_from_civil(y, m, d);
    (civil_from_days(days) == (y, m, d)).then_some(days * 86_400)
}

/// Whole UTC days `from..=to` (unix seconds of their midnights), as dashboards show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DayRange {
    /// First day.
    pub from: i64,
    /// Last day, inclusive.
    pub to: i64,
}

impl DayRange {
    /// The longest range a dashboard reads.
    pub const MAX_DAYS: i64 = 400;

    /// The last `days` days up to and including today (`now` in unix seconds).
    pub fn last(days: i64, now: i64) -> Self {
        let to = now - now.rem_euclid(86_400);
        Self {
            from: to - (days.clamp(1, Self::MAX_DAYS) - 1) * 86_400,
            to,
        }
    }

    /// From a period (`7`, `30`, `90` days, the default 30) or, when both are given, the
    /// custom dates `from` and `to` (`YYYY-MM-DD`). A custom range must be in order and at
    /// most [`Self::MAX_DAYS`] long.
    pub fn parse(days: Option<i64>, from: Option<&str>, to: Option<&str>, now: i64) -> Result<Self, String> {
        let (from, to) = (
            from.filter(|s| !s.trim().is_empty()),
            to.filter(|s| !s.trim().is_empty()),
        );
        match (from, to) {
            (None, None) => Ok(Self::last(days.unwrap_or(30), now)),
            (Some(f), Some(t)) => {
                let from = parse_day(f).ok_or_else(|| format!("'{f}' is not a date (YYYY-MM-DD)"))?;
                let to = parse_day(t).ok_or_else(|| format!("'{t}' is not a date (YYYY-MM-DD)"))?;
                if to < from {
                    return Err("the end date is before the start date".into());
                }
                let range = Self { from, to };
                if range.days() > Self::MAX_DAYS {
                    return Err(format!("a range can be at most {} days long", Self::MAX_DAYS));
                }
                Ok(range)
            }
            _ => Err("give both a start and an end date".into()),
        }
    }

    /// Number of days in the range.
    pub fn days(&self) -> i64 {
        (self.to - self.from) / 86_400 + 1
    }

    /// Each day's midnight, in order.
    pub fn each_day(&self) -> impl Iterator<Item = i64> + use<> {
        let (from, to) = (self.from, self.to);
        (0..)
            .map(move |i| from + i * 86_400)
            .take_while(move |d| *d <= to)
    }
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

    #[test]
    fn days_parse_and_round_trip() {
        assert_eq!(super::parse_day("2026-11-26"), Some(1_795_651_200));
        assert_eq!(super::parse_day("2000-02-29"), Some(951_782_400));
        assert_eq!(super::parse_day("2001-02-29"), None);
        assert_eq!(super::parse_day("2026-13-01"), None);
        assert_eq!(super::parse_day("2026-1-01"), None);
        assert_eq!(super::parse_day("2026-11-2x"), None);
        for day in [-400, -1, 0, 1, 11_000, 20_418, 30_000] {
            let unix = day * 86_400;
            assert_eq!(super::parse_day(&super::format_day(unix)), Some(unix));
        }
    }

    #[test]
    fn day_ranges() {
        use super::DayRange;
        let now = 1_795_651_200 + 5_000;
        let r = DayRange::last(7, now);
        assert_eq!((r.to, r.days()), (1_795_651_200, 7));
        assert_eq!(r.each_day().count(), 7);
        assert_eq!(DayRange::parse(None, None, None, now).unwrap().days(), 30);
        assert_eq!(DayRange::parse(Some(90), Some(""), None, now).unwrap().days(), 90);
        let c = DayRange::parse(None, Some("2026-11-01"), Some("2026-11-26"), now).unwrap();
        assert_eq!((c.days(), c.to), (26, 1_795_651_200));
        assert!(DayRange::parse(None, Some("2026-11-26"), Some("2026-11-01"), now).is_err());
        assert!(DayRange::parse(None, Some("2026-11-26"), None, now).is_err());
        assert!(DayRange::parse(None, Some("2020-01-01"), Some("2026-01-01"), now).is_err());
        assert!(DayRange::parse(None, Some("yesterday"), Some("2026-01-01"), now).is_err());
    }
}
