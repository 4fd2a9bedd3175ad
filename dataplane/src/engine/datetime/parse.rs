//! Reading dates: ISO 8601 (`DateTime.fromISO`), Luxon format patterns
//! (`DateTime.fromFormat`) and the looser forms n8n's `toDateTime()` accepts.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::format::{MONTHS, WEEKDAYS};
use super::{DateTime, Zone, MS_PER_SECOND};

/// Parses an offset written after `UTC` or in an ISO string: `""`, `+3`, `-05:30`, `+0530`.
pub(crate) fn offset_seconds(text: &str) -> Option<i32> {
    if text.is_empty() {
        return Some(0);
    }
    // Byte positions below assume ASCII; anything else is not an offset anyway.
    if !text.is_ascii() {
        return None;
    }
    let (sign, rest) = match text.as_bytes()[0] {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 23 || m > 59 || rest.is_empty() {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

fn digits(s: &str, at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

/// Parses an ISO 8601 date-time. Without an offset the local time is read in `zone`. With
/// one, the instant is kept and shown in `zone`, or in the written offset when
/// `keep_offset` (Luxon's `setZone: true`). Invalid input gives an invalid DateTime.
pub fn parse_iso(text: &str, zone: Zone, keep_offset: bool) -> DateTime {
    parse_iso_opt(text, zone, keep_offset, 'T').unwrap_or_else(DateTime::invalid)
}

fn parse_iso_opt(text: &str, zone: Zone, keep_offset: bool, separator: char) -> Option<DateTime> {
    let s = text.trim();
    let (date_part, time_part) = match s.find(separator) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let date = parse_date(date_part)?;
    let (time, offset) = match time_part {
        None => (NaiveTime::MIN, None),
        Some(t) => parse_time_and_offset(t)?,
    };
    let local = NaiveDateTime::new(date, time);
    Some(match offset {
        None => DateTime::from_local(local, zone),
        Some(offset) => {
            let ms = local.and_utc().timestamp_millis() - offset as i64 * MS_PER_SECOND;
            let shown = if keep_offset {
                if offset == 0 {
                    Zone::Utc
                } else {
                    Zone::Fixed(offset)
                }
            } else {
                zone
            };
            DateTime::new(ms, shown)
        }
    })
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    if !s.is_ascii() {
        return None;
    }
    let (y, m, d) = match s.len() {
        4 => (digits(s, 0, 4)?, 1, 1),
        7 if &s[4..5] == "-" => (digits(s, 0, 4)?, digits(s, 5, 2)?, 1),
        8 => (digits(s, 0, 4)?, digits(s, 4, 2)?, digits(s, 6, 2)?),
        10 if &s[4..5] == "-" && &s[7..8] == "-" => {
            (digits(s, 0, 4)?, digits(s, 5, 2)?, digits(s, 8, 2)?)
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

fn parse_time_and_offset(t: &str) -> Option<(NaiveTime, Option<i32>)> {
    let split = t.find(['Z', 'z', '+', '-']).unwrap_or(t.len());
    let (clock, zone) = t.split_at(split);
    let offset = match zone {
        "" => None,
        "Z" | "z" => Some(0),
        z => Some(offset_seconds(z)?),
    };
    let (hms, fraction) = match clock.find(['.', ',']) {
        Some(i) => (&clock[..i], &clock[i + 1..]),
        None => (clock, ""),
    };
    let compact: String = hms.chars().filter(|c| *c != ':').collect();
    if hms.contains(':') && hms.len() != compact.len() + compact.len() / 2 - 1 {
        return None;
    }
    let (h, m, s) = match compact.len() {
        2 => (digits(&compact, 0, 2)?, 0, 0),
        4 => (digits(&compact, 0, 2)?, digits(&compact, 2, 2)?, 0),
        6 => (
            digits(&compact, 0, 2)?,
            digits(&compact, 2, 2)?,
            digits(&compact, 4, 2)?,
        ),
        _ => return None,
    };
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis = format!("{fraction:0<3}")[..3].parse::<u32>().ok()?;
    // Luxon accepts 24:00 as the end of the day only in some forms; keep it invalid.
    let time = NaiveTime::from_hms_milli_opt(h, m, s, millis)?;
    Some((time, offset))
}

/// Parses what n8n's `toDateTime()` accepts: ISO, `yyyy-MM-dd HH:mm:ss` (SQL), RFC 2822 /
/// HTTP dates, and epoch milliseconds given as digits.
pub fn parse_loose(text: &str, zone: Zone) -> DateTime {
    if let Some(dt) = parse_iso_opt(text, zone, true, 'T') {
        return dt;
    }
    if let Some(dt) = parse_iso_opt(text, zone, true, ' ') {
        return dt;
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc2822(text.trim()) {
        let offset = d.offset().local_minus_utc();
        return DateTime::new(
            d.timestamp_millis(),
            if offset == 0 {
                Zone::Utc
            } else {
                Zone::Fixed(offset)
            },
        );
    }
    DateTime::invalid()
}

/// Parses `text` with a Luxon format pattern (`DateTime.fromFormat`).
pub fn parse_format(text: &str, pattern: &str, zone: Zone) -> DateTime {
    parse_format_opt(text, pattern, zone).unwrap_or_else(DateTime::invalid)
}

#[derive(Default)]
struct Parts {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    hour: Option<u32>,
    minute: u32,
    second: u32,
    millis: u32,
    pm: Option<bool>,
    offset: Option<i32>,
    epoch_ms: Option<i64>,
}

fn take_number(text: &str, pos: &mut usize, min: usize, max: usize) -> Option<i64> {
    let rest = &text[*pos..];
    let sign = usize::from(rest.starts_with('-'));
    let len = rest[sign..]
        .bytes()
        .take(max)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if len < min {
        return None;
    }
    let value = rest[..sign + len].parse().ok()?;
    *pos += sign + len;
    Some(value)
}

fn take_name(text: &str, pos: &mut usize, names: &[&str], short: bool) -> Option<u32> {
    let rest = text[*pos..].to_ascii_lowercase();
    for (i, name) in names.iter().enumerate() {
        let candidate = if short { &name[..3] } else { name };
        if rest.starts_with(&candidate.to_ascii_lowercase()) {
            *pos += candidate.len();
            return Some(i as u32 + 1);
        }
    }
    None
}

fn parse_format_opt(text: &str, pattern: &str, zone: Zone) -> Option<DateTime> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut parts = Parts::default();
    let mut pos = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                let mut buf = [0; 4];
                let lit = chars[i].encode_utf8(&mut buf);
                text[pos..].starts_with(&*lit).then_some(())?;
                pos += lit.len();
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut run = 1;
        while chars.get(i + run) == Some(&c) {
            run += 1;
        }
        i += run;
        if !c.is_ascii_alphabetic() {
            for _ in 0..run {
                let mut buf = [0; 4];
                let lit = c.encode_utf8(&mut buf);
                text[pos..].starts_with(&*lit).then_some(())?;
                pos += lit.len();
            }
            continue;
        }
        let (min, max) = if run == 1 { (1, 2) } else { (run, run) };
        match (c, run) {
            ('y', 1) => parts.year = Some(take_number(text, &mut pos, 1, 6)? as i32),
            ('y', 2) => parts.year = Some(2000 + take_number(text, &mut pos, 2, 2)? as i32),
            ('y', _) => parts.year = Some(take_number(text, &mut pos, run, run)? as i32),
            ('L' | 'M', 1 | 2) => parts.month = Some(take_number(text, &mut pos, min, max)? as u32),
            ('L' | 'M', 3) => parts.month = Some(take_name(text, &mut pos, &MONTHS, true)?),
            ('L' | 'M', 4) => parts.month = Some(take_name(text, &mut pos, &MONTHS, false)?),
            ('d', 1 | 2) => parts.day = Some(take_number(text, &mut pos, min, max)? as u32),
            ('c' | 'E', 3) => drop(take_name(text, &mut pos, &WEEKDAYS, true)?),
            ('c' | 'E', 4) => drop(take_name(text, &mut pos, &WEEKDAYS, false)?),
            ('H' | 'h', 1 | 2) => parts.hour = Some(take_number(text, &mut pos, min, max)? as u32),
            ('m', 1 | 2) => parts.minute = take_number(text, &mut pos, min, max)? as u32,
            ('s', 1 | 2) => parts.second = take_number(text, &mut pos, min, max)? as u32,
            ('S', 1) => parts.millis = take_number(text, &mut pos, 1, 3)? as u32,
            ('S', 3) => parts.millis = take_number(text, &mut pos, 3, 3)? as u32,
            ('a', 1) => {
                let rest = text[pos..].to_ascii_uppercase();
                parts.pm = Some(if rest.starts_with("PM") {
                    true
                } else if rest.starts_with("AM") {
                    false
                } else {
                    return None;
                });
                pos += 2;
            }
            ('Z', 1..=3) => {
                let rest = &text[pos..];
                if rest.starts_with('Z') {
                    parts.offset = Some(0);
                    pos += 1;
                } else {
                    let len = rest
                        .char_indices()
                        .skip(1)
                        .find(|(_, ch)| !(ch.is_ascii_digit() || *ch == ':'))
                        .map(|(i, _)| i)
                        .unwrap_or(rest.len());
                    parts.offset = Some(offset_seconds(&rest[..len])?);
                    pos += len;
                }
            }
            ('X', 1) => parts.epoch_ms = Some(take_number(text, &mut pos, 1, 16)? * MS_PER_SECOND),
            ('x', 1) => parts.epoch_ms = Some(take_number(text, &mut pos, 1, 19)?),
            _ => return None,
        }
    }
    if pos != text.len() {
        return None;
    }
    if let Some(ms) = parts.epoch_ms {
        return Some(DateTime::new(ms, zone));
    }
    let mut hour = parts.hour.unwrap_or(0);
    match parts.pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let date = NaiveDate::from_ymd_opt(
        parts.year.unwrap_or(2000),
        parts.month.unwrap_or(1),
        parts.day.unwrap_or(1),
    )?;
    let time = NaiveTime::from_hms_milli_opt(hour, parts.minute, parts.second, parts.millis)?;
    let local = NaiveDateTime::new(date, time);
    Some(match parts.offset {
        None => DateTime::from_local(local, zone),
        Some(offset) => DateTime::new(
            local.and_utc().timestamp_millis() - offset as i64 * MS_PER_SECOND,
            zone,
        ),
    })
}
