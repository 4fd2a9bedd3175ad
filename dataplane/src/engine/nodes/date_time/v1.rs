//! Date & Time v1 (moment.js based): "format" converts a date with a moment format (and
//! optional time zones), "calculate" adds or subtracts a duration and writes an ISO string.
//! moment format tokens are translated to the Luxon tokens of the engine's date module.

use crate::engine::datetime::{parse_loose, DateTime, Duration, Unit, Zone};
use crate::engine::node::NodeError;
use crate::engine::value::Value;

const CODE_DATE: &str = "LF-NODE-DATETIME-003";

/// n8n's message when v1 cannot read the input date.
pub const UNRECOGNISED: &str =
    "The date input format could not be recognized. Please set the \"From Format\" field";

/// Parses v1's input: digits are Unix seconds (moment.unix), with `from_format` a moment
/// pattern, otherwise ISO / RFC 2822 forms read in `zone`.
pub fn parse(value: Value<'_>, from_format: &str, zone: Zone) -> Result<DateTime, NodeError> {
    let date = match value {
        Value::Number(seconds) if seconds.is_finite() => {
            DateTime::new((seconds * 1000.0) as i64, zone)
        }
        Value::String(s)
            if !s.trim().is_empty()
                && s.trim().parse::<f64>().is_ok()
                && from_format.is_empty() =>
        {
            let seconds: f64 = s.trim().parse().unwrap_or(f64::NAN);
            DateTime::new((seconds * 1000.0) as i64, zone)
        }
        Value::String(s) if !from_format.is_empty() => {
            crate::engine::datetime::parse_format(s, &luxon_pattern(from_format), zone)
        }
        Value::String(s) => parse_loose(s, zone).set_zone(zone),
        _ => DateTime::invalid(),
    };
    if date.valid {
        Ok(date)
    } else {
        Err(NodeError::new(CODE_DATE, UNRECOGNISED))
    }
}

/// Adds (`sign` 1) or subtracts (-1) `amount` of a moment unit name.
pub fn calculate(
    date: &DateTime,
    amount: f64,
    unit: &str,
    sign: f64,
) -> Result<DateTime, NodeError> {
    let unit = Unit::from_name(unit)
        .ok_or_else(|| NodeError::new(CODE_DATE, format!("Invalid time unit '{unit}'")))?;
    Ok(date.plus(&Duration::of(unit, amount), sign))
}

/// moment's `toISOString()`: UTC with milliseconds and `Z`.
pub fn iso_utc(date: &DateTime) -> Option<String> {
    date.set_zone(Zone::Utc).to_iso()
}

/// Translates a moment.js format pattern to Luxon's tokens.
pub fn luxon_pattern(moment: &str) -> String {
    // Longest tokens first so `YYYY` wins over `YY`.
    const TOKENS: &[(&str, &str)] = &[
        ("YYYY", "yyyy"),
        ("YY", "yy"),
        ("MMMM", "MMMM"),
        ("MMM", "MMM"),
        ("MM", "MM"),
        ("M", "M"),
        ("DDDD", "ooo"),
        ("DDD", "o"),
        ("Do", "d"),
        ("DD", "dd"),
        ("D", "d"),
        ("dddd", "cccc"),
        ("ddd", "ccc"),
        ("dd", "ccc"),
        ("HH", "HH"),
        ("H", "H"),
        ("hh", "hh"),
        ("h", "h"),
        ("mm", "mm"),
        ("m", "m"),
        ("ss", "ss"),
        ("s", "s"),
        ("SSS", "SSS"),
        ("A", "a"),
        ("a", "a"),
        ("ZZ", "ZZZ"),
        ("Z", "ZZ"),
        ("X", "X"),
        ("x", "x"),
        ("WW", "WW"),
        ("W", "W"),
    ];
    let mut out = String::with_capacity(moment.len() + 4);
    let mut rest = moment;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            // moment's escaped text becomes Luxon's quoted literal.
            let end = inner.find(']').unwrap_or(inner.len());
            out.push('\'');
            out.push_str(&inner[..end].replace('\'', "''"));
            out.push('\'');
            rest = inner.get(end + 1..).unwrap_or("");
            continue;
        }
        if let Some((token, luxon)) = TOKENS.iter().find(|(t, _)| rest.starts_with(t)) {
            out.push_str(luxon);
            rest = &rest[token.len()..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c.is_ascii_alphabetic() {
            // Letters that are no token are literal in moment; quote them for Luxon.
            out.push('\'');
            out.push(c);
            out.push('\'');
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moment_patterns_translate_to_luxon() {
        assert_eq!(luxon_pattern("YYYY-MM-DD HH:mm:ss"), "yyyy-MM-dd HH:mm:ss");
        assert_eq!(luxon_pattern("MMMM DD YYYY"), "MMMM dd yyyy");
        assert_eq!(luxon_pattern("[Day] D"), "'Day' d");
        assert_eq!(luxon_pattern("X"), "X");
    }

    #[test]
    fn formats_and_unix_seconds() {
        let date = parse(Value::String("2024-01-02T03:04:05Z"), "", Zone::Utc).unwrap();
        assert_eq!(date.to_format(&luxon_pattern("MM/DD/YYYY")), "01/02/2024");
        let date = parse(Value::String("86400"), "", Zone::Utc).unwrap();
        assert_eq!(iso_utc(&date).unwrap(), "1970-01-02T00:00:00.000Z");
        let date = parse(Value::String("02.01.2024"), "DD.MM.YYYY", Zone::Utc).unwrap();
        assert_eq!(iso_utc(&date).unwrap(), "2024-01-02T00:00:00.000Z");
    }

    #[test]
    fn calculate_and_errors() {
        let date = parse(Value::String("2024-01-31T00:00:00Z"), "", Zone::Utc).unwrap();
        let later = calculate(&date, 1.0, "months", 1.0).unwrap();
        assert_eq!(iso_utc(&later).unwrap(), "2024-02-29T00:00:00.000Z");
        assert!(calculate(&date, 1.0, "fortnights", 1.0).is_err());
        assert_eq!(
            parse(Value::String("nope"), "", Zone::Utc)
                .unwrap_err()
                .message,
            UNRECOGNISED
        );
        assert!(parse(Value::Null, "", Zone::Utc).is_err());
    }
}
