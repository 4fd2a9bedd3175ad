//! The Luxon subset n8n expressions use (`DateTime`, `Duration`), written on chrono and
//! chrono-tz, plus the little of JavaScript's `Date` that expressions touch.
//!
//! A [`DateTime`] is an instant (epoch milliseconds) seen in a zone, as in Luxon: calendar
//! fields, formatting and calendar arithmetic (`plus({months: 1})`, `startOf('day')`) use
//! the zone's local time; comparisons and `toMillis()` use the instant.

mod duration;
mod format;

/// English month and weekday names (Luxon's `en-US`).
pub mod format_names {
    pub use super::format::{MONTHS, WEEKDAYS};
}
mod parse;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike};

pub use duration::{Duration, Unit};
pub use parse::{parse_format, parse_iso, parse_loose};

/// Milliseconds per unit of fixed length.
pub const MS_PER_SECOND: i64 = 1_000;
/// Milliseconds per minute.
pub const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
/// Milliseconds per hour.
pub const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
/// Milliseconds per day (of 24 hours).
pub const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// Largest instant representable, as JavaScript's `Date` (±8.64e15 ms).
pub const EPOCH_MS_MAX: i64 = 8_640_000_000_000_000;

/// A time zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// UTC (Luxon prints its offset as `Z`).
    Utc,
    /// A fixed offset east of UTC, in seconds.
    Fixed(i32),
    /// An IANA zone.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// Parses a zone name as Luxon accepts it: IANA names, `UTC`, `UTC+3`, `UTC-05:30`.
    /// `""`, `local` and `system` mean the process zone, UTC here.
    pub fn from_name(name: &str) -> Option<Zone> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "" | "utc" | "gmt" | "z" | "local" | "system" | "default" => return Some(Zone::Utc),
            _ => {}
        }
        if let Some(rest) = lower
            .strip_prefix("utc")
            .or_else(|| lower.strip_prefix("gmt"))
        {
            return parse::offset_seconds(rest).map(|s| {
                if s == 0 {
                    Zone::Utc
                } else {
                    Zone::Fixed(s)
                }
            });
        }
        name.parse::<chrono_tz::Tz>().ok().map(Zone::Named)
    }

    /// Offset from UTC in seconds at instant `ms`.
    pub fn offset_at(&self, ms: i64) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(s) => *s,
            Zone::Named(tz) => match chrono::DateTime::from_timestamp_millis(ms) {
                Some(utc) => tz
                    .offset_from_utc_datetime(&utc.naive_utc())
                    .fix()
                    .local_minus_utc(),
                None => 0,
            },
        }
    }

    /// The instant whose local time in this zone is `local`. In a DST gap the time moves
    /// forward by the gap; an ambiguous time takes the earlier instant (as Luxon).
    pub fn instant_of(&self, local: NaiveDateTime) -> i64 {
        let naive_ms = local.and_utc().timestamp_millis();
        match self {
            Zone::Utc => naive_ms,
            Zone::Fixed(s) => naive_ms - *s as i64 * MS_PER_SECOND,
            Zone::Named(tz) => {
                use chrono::LocalResult;
                match tz.from_local_datetime(&local) {
                    LocalResult::Single(d) => d.timestamp_millis(),
                    LocalResult::Ambiguous(a, _) => a.timestamp_millis(),
                    LocalResult::None => {
                        // Guess with the offset before the gap, as Luxon does.
                        naive_ms - self.offset_at(naive_ms - MS_PER_DAY) as i64 * MS_PER_SECOND
                    }
                }
            }
        }
    }

    /// The zone's name as Luxon reports it (`zoneName`, token `z`).
    pub fn name(&self) -> String {
        match self {
            Zone::Utc => "UTC".to_owned(),
            Zone::Fixed(s) => format!("UTC{}", format::offset_short(*s)),
            Zone::Named(tz) => tz.name().to_owned(),
        }
    }
}

/// A Luxon `DateTime`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DateTime {
    /// The instant, Unix epoch milliseconds.
    pub ms: i64,
    /// The zone it is seen in.
    pub zone: Zone,
    /// False for Luxon's invalid DateTime (unparseable input).
    pub valid: bool,
}

/// Calendar fields of a DateTime in its zone.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// Local date and time.
    pub local: NaiveDateTime,
    /// Offset in seconds.
    pub offset: i32,
}

impl DateTime {
    /// A valid DateTime at `ms` in `zone` (clamped to JavaScript's date range).
    pub fn new(ms: i64, zone: Zone) -> DateTime {
        DateTime {
            ms,
            zone,
            valid: (-EPOCH_MS_MAX..=EPOCH_MS_MAX).contains(&ms),
        }
    }

    /// Luxon's invalid DateTime.
    pub fn invalid() -> DateTime {
        DateTime {
            ms: 0,
            zone: Zone::Utc,
            valid: false,
        }
    }

    /// The DateTime whose local time in `zone` is `local`.
    pub fn from_local(local: NaiveDateTime, zone: Zone) -> DateTime {
        DateTime::new(zone.instant_of(local), zone)
    }

    /// Local calendar fields.
    pub fn fields(&self) -> Fields {
        let offset = self.zone.offset_at(self.ms);
        let local =
            chrono::DateTime::from_timestamp_millis(self.ms + offset as i64 * MS_PER_SECOND)
                .map(|d| d.naive_utc())
                .unwrap_or_default();
        Fields { local, offset }
    }

    /// `valueOf()`: epoch milliseconds, NaN when invalid.
    pub fn value_of(&self) -> f64 {
        if self.valid {
            self.ms as f64
        } else {
            f64::NAN
        }
    }

    /// The same instant in another zone.
    pub fn set_zone(&self, zone: Zone) -> DateTime {
        DateTime { zone, ..*self }
    }

    /// `toISO()`: `2024-01-02T03:04:05.000Z` in UTC, `...+02:00` elsewhere.
    pub fn to_iso(&self) -> Option<String> {
        if !self.valid {
            return None;
        }
        let f = self.fields();
        let mut out = self.to_iso_date()?;
        out.push('T');
        out.push_str(&format!(
            "{:02}:{:02}:{:02}.{:03}",
            f.local.hour(),
            f.local.minute(),
            f.local.second(),
            f.local.and_utc().timestamp_subsec_millis()
        ));
        match self.zone {
            Zone::Utc => out.push('Z'),
            Zone::Fixed(0) => out.push('Z'),
            _ => out.push_str(&format::offset_long(f.offset, true)),
        }
        Some(out)
    }

    /// `toISODate()`: `2024-01-02`.
    pub fn to_iso_date(&self) -> Option<String> {
        if !self.valid {
            return None;
        }
        let d = self.fields().local.date();
        Some(format::iso_year_month_day(d))
    }

    /// `toString()`: the ISO form, or `Invalid DateTime`.
    pub fn to_string_js(&self) -> String {
        self.to_iso()
            .unwrap_or_else(|| "Invalid DateTime".to_owned())
    }

    /// `toFormat(pattern)` with Luxon's tokens (English names).
    pub fn to_format(&self, pattern: &str) -> String {
        if !self.valid {
            return "Invalid DateTime".to_owned();
        }
        format::format(self, pattern)
    }

    /// Adds a duration (negated by `sign = -1`): calendar units move the local date (the
    /// day clamps to the month's end: Jan 31 + 1 month = Feb 29), days keep the wall-clock
    /// time, time units add exact milliseconds.
    pub fn plus(&self, d: &Duration, sign: f64) -> DateTime {
        if !self.valid {
            return *self;
        }
        let months =
            sign * (d.get(Unit::Years) * 12.0 + d.get(Unit::Quarters) * 3.0 + d.get(Unit::Months));
        let days = sign * (d.get(Unit::Weeks) * 7.0 + d.get(Unit::Days));
        let mut local = self.fields().local;
        if months != 0.0 {
            local = add_months(local, months.trunc() as i64);
        }
        let mut result = if months != 0.0 || days != 0.0 {
            let whole_days = days.trunc();
            let day_ms = ((days - whole_days) * MS_PER_DAY as f64) as i64;
            let moved = local + chrono::Duration::days(whole_days as i64);
            self.zone.instant_of(moved) + day_ms
        } else {
            self.ms
        };
        let time_ms = sign
            * (d.get(Unit::Hours) * MS_PER_HOUR as f64
                + d.get(Unit::Minutes) * MS_PER_MINUTE as f64
                + d.get(Unit::Seconds) * MS_PER_SECOND as f64
                + d.get(Unit::Milliseconds));
        result += time_ms.round() as i64;
        DateTime::new(result, self.zone)
    }

    /// `startOf(unit)` in local time.
    pub fn start_of(&self, unit: Unit) -> DateTime {
        if !self.valid {
            return *self;
        }
        let local = self.fields().local;
        let date = local.date();
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default();
        let truncated = match unit {
            Unit::Years => midnight(NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date)),
            Unit::Quarters => {
                let month = (date.month() - 1) / 3 * 3 + 1;
                midnight(NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date))
            }
            Unit::Months => midnight(date.with_day(1).unwrap_or(date)),
            Unit::Weeks => {
                let back = date.weekday().num_days_from_monday() as i64;
                midnight(date - chrono::Duration::days(back))
            }
            Unit::Days => midnight(date),
            Unit::Hours => local
                .with_minute(0)
                .and_then(|l| l.with_second(0))
                .and_then(|l| l.with_nanosecond(0))
                .unwrap_or(local),
            Unit::Minutes => local
                .with_second(0)
                .and_then(|l| l.with_nanosecond(0))
                .unwrap_or(local),
            Unit::Seconds => local.with_nanosecond(0).unwrap_or(local),
            Unit::Milliseconds => local,
        };
        DateTime::from_local(truncated, self.zone)
    }

    /// `endOf(unit)`: the last millisecond of the unit.
    pub fn end_of(&self, unit: Unit) -> DateTime {
        if !self.valid {
            return *self;
        }
        let start = self.start_of(unit);
        let next = start.plus(&Duration::of(unit, 1.0), 1.0);
        DateTime::new(next.ms - 1, self.zone)
    }

    /// `diff(other, units)`: `self - other` expressed in `units` (largest first); the
    /// smallest unit keeps the fraction, as Luxon does.
    pub fn diff(&self, other: &DateTime, units: &[Unit]) -> Duration {
        let mut units: Vec<Unit> = if units.is_empty() {
            vec![Unit::Milliseconds]
        } else {
            units.to_vec()
        };
        units.sort_by_key(|u| *u as u8);
        units.dedup();
        let mut out = Duration::default();
        if !self.valid || !other.valid {
            return out;
        }
        let (later, earlier, sign) = if self.ms >= other.ms {
            (self, other, 1.0)
        } else {
            (other, self, -1.0)
        };
        let mut cursor = *earlier;
        for (i, unit) in units.iter().enumerate() {
            let last = i + 1 == units.len();
            let value = match unit {
                Unit::Years | Unit::Quarters | Unit::Months => {
                    let per = match unit {
                        Unit::Years => 12,
                        Unit::Quarters => 3,
                        _ => 1,
                    };
                    let (whole, fraction) = calendar_months(&cursor, later, per);
                    cursor = cursor.plus(&Duration::of(Unit::Months, (whole * per) as f64), 1.0);
                    if last {
                        whole as f64 + fraction
                    } else {
                        whole as f64
                    }
                }
                fixed => {
                    let unit_ms = fixed.fixed_ms();
                    let remaining = (later.ms - cursor.ms) as f64;
                    let value = if last {
                        remaining / unit_ms
                    } else {
                        (remaining / unit_ms).trunc()
                    };
                    cursor = DateTime::new(cursor.ms + (value * unit_ms) as i64, cursor.zone);
                    value
                }
            };
            out.set(*unit, if value == 0.0 { 0.0 } else { sign * value });
        }
        out
    }

    /// Luxon `weekday`: 1 = Monday ... 7 = Sunday.
    pub fn weekday(&self) -> u32 {
        self.fields().local.weekday().number_from_monday()
    }
}

/// Adds calendar months, clamping the day to the target month's length.
fn add_months(local: NaiveDateTime, months: i64) -> NaiveDateTime {
    let total = local.year() as i64 * 12 + local.month0() as i64 + months;
    let (year, month0) = (total.div_euclid(12) as i32, total.rem_euclid(12) as u32);
    let mut day = local.day();
    loop {
        if let Some(date) = NaiveDate::from_ymd_opt(year, month0 + 1, day) {
            return date.and_time(local.time());
        }
        if day <= 28 {
            return local;
        }
        day -= 1;
    }
}

/// Whole periods of `per` months from `start` to `end` (end ≥ start) and the fraction of
/// the next period.
fn calendar_months(start: &DateTime, end: &DateTime, per: i64) -> (i64, f64) {
    let (s, e) = (start.fields().local, end.fields().local);
    let months = (e.year() as i64 - s.year() as i64) * 12 + e.month() as i64 - s.month() as i64;
    let mut whole = months.div_euclid(per);
    while whole > 0
        && start
            .plus(&Duration::of(Unit::Months, (whole * per) as f64), 1.0)
            .ms
            > end.ms
    {
        whole -= 1;
    }
    let base = start.plus(&Duration::of(Unit::Months, (whole * per) as f64), 1.0);
    let next = start.plus(&Duration::of(Unit::Months, ((whole + 1) * per) as f64), 1.0);
    let span = (next.ms - base.ms) as f64;
    let fraction = if span > 0.0 {
        (end.ms - base.ms) as f64 / span
    } else {
        0.0
    };
    (whole, fraction)
}

/// JavaScript `Date.prototype.toISOString()`; `None` for an invalid date.
pub fn js_date_iso(ms: f64) -> Option<String> {
    if !ms.is_finite() || ms.abs() > EPOCH_MS_MAX as f64 {
        return None;
    }
    DateTime::new(ms as i64, Zone::Utc).to_iso()
}

/// JavaScript `String(new Date(ms))` in the process zone (UTC).
pub fn js_date_string(ms: f64) -> String {
    if !ms.is_finite() || ms.abs() > EPOCH_MS_MAX as f64 {
        return "Invalid Date".to_owned();
    }
    DateTime::new(ms as i64, Zone::Utc)
        .to_format("EEE MMM dd yyyy HH:mm:ss 'GMT+0000 (Coordinated Universal Time)'")
}

#[cfg(test)]
mod tests;
