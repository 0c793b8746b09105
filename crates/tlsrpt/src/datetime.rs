//! Lenient parsing of `start-datetime` / `end-datetime` (RFC 8460 §4.4,
//! which asks for RFC 3339 date-times).

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::warning::WarningCode;

/// Latest accepted instant: 9999-12-31T23:59:59Z.
pub(crate) const MAX_UNIX: i64 = 253_402_300_799;

/// A successfully read date-time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedDate {
    /// UTC Unix seconds.
    pub unix: i64,
    /// The original text.
    pub raw: String,
    /// Set when the value was not plain RFC 3339.
    pub quirk: Option<WarningCode>,
}

/// Read a date-time value. Returns `None` when it cannot be interpreted;
/// the caller turns that into an error (we never invent a date).
pub(crate) fn parse_value(value: &Value) -> Option<ParsedDate> {
    match value {
        Value::String(s) => parse_str(s),
        Value::Number(n) => {
            let unix = n.as_i64().filter(|v| (0..=MAX_UNIX).contains(v))?;
            Some(ParsedDate {
                unix,
                raw: n.to_string(),
                quirk: Some(WarningCode::DateNotRfc3339),
            })
        }
        _ => None,
    }
}

/// Read a date-time string: RFC 3339 first, then common deviations.
pub(crate) fn parse_str(raw: &str) -> Option<ParsedDate> {
    let text = raw.trim();
    let found = |unix, quirk| {
        Some(ParsedDate {
            unix,
            raw: raw.to_owned(),
            quirk,
        })
    };
    if let Ok(dt) = OffsetDateTime::parse(text, &Rfc3339) {
        return in_range(dt).and_then(|unix| found(unix, None));
    }
    let normalised = normalise(text);
    if let Ok(dt) = OffsetDateTime::parse(&normalised, &Rfc3339) {
        return in_range(dt).and_then(|unix| found(unix, Some(WarningCode::DateNotRfc3339)));
    }
    let with_compact_offset = format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute][optional [:[second]]][optional [.[subsecond]]][offset_hour sign:mandatory][optional [:]][offset_minute]"
    );
    if let Ok(dt) = OffsetDateTime::parse(&normalised, &with_compact_offset) {
        return in_range(dt).and_then(|unix| found(unix, Some(WarningCode::DateNotRfc3339)));
    }
    let local = format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute][optional [:[second]]][optional [.[subsecond]]]"
    );
    if let Ok(dt) = PrimitiveDateTime::parse(&normalised, &local) {
        return in_range(dt.assume_offset(UtcOffset::UTC))
            .and_then(|unix| found(unix, Some(WarningCode::DateWithoutTimezone)));
    }
    let date_only = format_description!(version = 2, "[year]-[month]-[day]");
    if let Ok(date) = Date::parse(&normalised, &date_only) {
        let dt = date.midnight().assume_offset(UtcOffset::UTC);
        return in_range(dt).and_then(|unix| found(unix, Some(WarningCode::DateWithoutTimezone)));
    }
    None
}

/// Upper-case the `T`/`Z` markers, use `T` between date and time, and drop
/// a trailing ` UTC` / ` GMT`, so the stricter formats above can match.
fn normalise(text: &str) -> String {
    let mut s = text.to_owned();
    for suffix in [" UTC", " GMT", " utc", " gmt"] {
        if let Some(stripped) = s.strip_suffix(suffix) {
            s = format!("{stripped}Z");
            break;
        }
    }
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        let c = match c {
            ' ' | 't' if i == 10 => 'T',
            'z' => 'Z',
            other => other,
        };
        out.push(c);
    }
    out
}

fn in_range(dt: OffsetDateTime) -> Option<i64> {
    let unix = dt.unix_timestamp();
    (0..=MAX_UNIX).contains(&unix).then_some(unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(s: &str) -> Option<(i64, Option<WarningCode>)> {
        parse_str(s).map(|d| (d.unix, d.quirk))
    }

    #[test]
    fn rfc3339_is_clean() {
        assert_eq!(unix("2016-04-01T00:00:00Z"), Some((1_459_468_800, None)));
        assert_eq!(unix("2016-04-01T02:00:00+02:00"), Some((1_459_468_800, None)));
        assert_eq!(unix("2016-04-01T00:00:00.5Z"), Some((1_459_468_800, None)));
    }

    #[test]
    fn deviations_are_flagged() {
        let no_tz = Some((1_459_468_800, Some(WarningCode::DateWithoutTimezone)));
        assert_eq!(unix("2016-04-01T00:00:00"), no_tz);
        assert_eq!(unix("2016-04-01 00:00:00"), no_tz);
        assert_eq!(unix("2016-04-01"), no_tz);
        let odd = Some((1_459_468_800, Some(WarningCode::DateNotRfc3339)));
        // RFC 3339 §5.6 allows a space instead of "T"; `time` accepts it.
        assert_eq!(unix("2016-04-01 00:00:00Z"), Some((1_459_468_800, None)));
        assert_eq!(unix("2016-04-01T00:00:00+0000"), odd);
        assert_eq!(unix("2016-04-01 00:00:00 UTC"), odd);
    }

    #[test]
    fn garbage_is_rejected() {
        for s in ["", "yesterday", "2016-13-01T00:00:00Z", "0000-01-01", "1"] {
            assert_eq!(unix(s), None, "{s}");
        }
        assert!(parse_value(&Value::Bool(true)).is_none());
        assert!(parse_value(&serde_json::json!(-5)).is_none());
        assert_eq!(
            parse_value(&serde_json::json!(1_459_468_800)).map(|d| d.unix),
            Some(1_459_468_800)
        );
    }
}
