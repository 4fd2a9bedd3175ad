//! Luxon's `toFormat` tokens, English locale.

use chrono::{Datelike, NaiveDate, Timelike};

use super::{DateTime, Zone};

/// Month names, January first.
pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Weekday names, Monday first.
pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Narrow no-break space: what current ICU (Node 20+) puts before AM/PM in `en-US`.
const NNBSP: &str = "\u{202f}";

/// `+5`, `+5:30`, `-3`.
pub(crate) fn offset_short(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let (h, m) = (seconds.abs() / 3600, seconds.abs() / 60 % 60);
    if m == 0 {
        format!("{sign}{h}")
    } else {
        format!("{sign}{h}:{m:02}")
    }
}

/// `+05:00` (with colon) or `+0500`.
pub(crate) fn offset_long(seconds: i32, colon: bool) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let (h, m) = (seconds.abs() / 3600, seconds.abs() / 60 % 60);
    if colon {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// `2024-01-02` (years beyond 9999 get a sign and six digits, as ISO 8601 extended).
pub(crate) fn iso_year_month_day(d: NaiveDate) -> String {
    let year = d.year();
    if (0..=9999).contains(&year) {
        format!("{year:04}-{:02}-{:02}", d.month(), d.day())
    } else {
        let sign = if year < 0 { '-' } else { '+' };
        format!("{sign}{:06}-{:02}-{:02}", year.abs(), d.month(), d.day())
    }
}

/// Formats `dt` with a Luxon pattern: runs of one letter are a token, `'...'` is literal.
pub(crate) fn format(dt: &DateTime, pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal; `''` inside is one quote.
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        out.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut run = 1;
        while chars.get(i + run) == Some(&c) {
            run += 1;
        }
        if c.is_ascii_alphabetic() {
            token(dt, c, run, &mut out);
        } else {
            for _ in 0..run {
                out.push(c);
            }
        }
        i += run;
    }
    out
}

fn pad(n: i64, width: usize) -> String {
    if n < 0 {
        format!("-{:0width$}", -n, width = width)
    } else {
        format!("{n:0width$}")
    }
}

fn token(dt: &DateTime, c: char, run: usize, out: &mut String) {
    let f = dt.fields();
    let l = f.local;
    let hour12 = match l.hour() % 12 {
        0 => 12,
        h => h,
    };
    let meridiem = if l.hour() < 12 { "AM" } else { "PM" };
    let month = l.month() as usize;
    let weekday = l.weekday().num_days_from_monday() as usize;
    let millis = (l.nanosecond() / 1_000_000) as i64;
    let text = match (c, run) {
        ('S', 1) => millis.to_string(),
        ('S', 3) => pad(millis, 3),
        ('u', _) => pad(millis, 3),
        ('s', 1) => l.second().to_string(),
        ('s', 2) => pad(l.second() as i64, 2),
        ('m', 1) => l.minute().to_string(),
        ('m', 2) => pad(l.minute() as i64, 2),
        ('h', 1) => hour12.to_string(),
        ('h', 2) => pad(hour12 as i64, 2),
        ('H', 1) => l.hour().to_string(),
        ('H', 2) => pad(l.hour() as i64, 2),
        ('Z', 1) => offset_short(f.offset),
        ('Z', 2) => offset_long(f.offset, true),
        ('Z', 3) => offset_long(f.offset, false),
        ('Z', _) | ('z', _) => match dt.zone {
            Zone::Utc => "UTC".to_owned(),
            _ => dt.zone.name(),
        },
        ('a', _) => meridiem.to_owned(),
        ('d', 1) => l.day().to_string(),
        ('d', 2) => pad(l.day() as i64, 2),
        ('c' | 'E', 1) => (weekday + 1).to_string(),
        ('c' | 'E', 3) => WEEKDAYS[weekday][..3].to_owned(),
        ('c' | 'E', 4) => WEEKDAYS[weekday].to_owned(),
        ('c' | 'E', 5) => WEEKDAYS[weekday][..1].to_owned(),
        ('L' | 'M', 1) => month.to_string(),
        ('L' | 'M', 2) => pad(month as i64, 2),
        ('L' | 'M', 3) => MONTHS[month - 1][..3].to_owned(),
        ('L' | 'M', 4) => MONTHS[month - 1].to_owned(),
        ('L' | 'M', 5) => MONTHS[month - 1][..1].to_owned(),
        ('y', 1) => l.year().to_string(),
        ('y', 2) => pad((l.year() % 100) as i64, 2),
        ('y', 4) => pad(l.year() as i64, 4),
        ('y', 6) => pad(l.year() as i64, 6),
        ('G', 1) => "AD".to_owned(),
        ('G', 2) => "Anno Domini".to_owned(),
        ('k', 2) => pad((l.iso_week().year() % 100) as i64, 2),
        ('k', 4) => pad(l.iso_week().year() as i64, 4),
        ('W', 1) => l.iso_week().week().to_string(),
        ('W', 2) => pad(l.iso_week().week() as i64, 2),
        ('o', 1) => l.ordinal().to_string(),
        ('o', 3) => pad(l.ordinal() as i64, 3),
        ('q', 1) => ((month - 1) / 3 + 1).to_string(),
        ('q', 2) => pad(((month - 1) / 3 + 1) as i64, 2),
        ('X', 1) => dt.ms.div_euclid(1000).to_string(),
        ('x', 1) => dt.ms.to_string(),
        ('D', 1) => format!("{}/{}/{}", month, l.day(), l.year()),
        ('D', 2) => format!("{} {}, {}", &MONTHS[month - 1][..3], l.day(), l.year()),
        ('D', 3) => format!("{} {}, {}", MONTHS[month - 1], l.day(), l.year()),
        ('D', 4) => format!(
            "{}, {} {}, {}",
            WEEKDAYS[weekday],
            MONTHS[month - 1],
            l.day(),
            l.year()
        ),
        ('t', 1) => format!("{}:{:02}{NNBSP}{meridiem}", hour12, l.minute()),
        ('t', 2) => format!(
            "{}:{:02}:{:02}{NNBSP}{meridiem}",
            hour12,
            l.minute(),
            l.second()
        ),
        ('T', 1) => format!("{:02}:{:02}", l.hour(), l.minute()),
        ('T', 2) => format!("{:02}:{:02}:{:02}", l.hour(), l.minute(), l.second()),
        ('f', 1) => format!(
            "{}/{}/{}, {}:{:02}{NNBSP}{meridiem}",
            month,
            l.day(),
            l.year(),
            hour12,
            l.minute()
        ),
        ('f', 2) => format!(
            "{} {}, {}, {}:{:02}{NNBSP}{meridiem}",
            &MONTHS[month - 1][..3],
            l.day(),
            l.year(),
            hour12,
            l.minute()
        ),
        ('F', 1) => format!(
            "{}/{}/{}, {}:{:02}:{:02}{NNBSP}{meridiem}",
            month,
            l.day(),
            l.year(),
            hour12,
            l.minute(),
            l.second()
        ),
        _ => {
            // Luxon prints a run it does not know as the letters themselves.
            for _ in 0..run {
                out.push(c);
            }
            return;
        }
    };
    out.push_str(&text);
}
