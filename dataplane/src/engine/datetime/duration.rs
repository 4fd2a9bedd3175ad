//! Luxon `Duration`: values per unit, converted with Luxon's "casual" matrix (a month is
//! 30 days, a year 365 days).

use super::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND};

/// A duration unit, largest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    /// years
    Years = 0,
    /// quarters
    Quarters = 1,
    /// months
    Months = 2,
    /// weeks
    Weeks = 3,
    /// days
    Days = 4,
    /// hours
    Hours = 5,
    /// minutes
    Minutes = 6,
    /// seconds
    Seconds = 7,
    /// milliseconds
    Milliseconds = 8,
}

/// Number of units.
const UNITS: usize = 9;

/// Every unit, largest first.
pub const ALL_UNITS: [Unit; UNITS] = [
    Unit::Years,
    Unit::Quarters,
    Unit::Months,
    Unit::Weeks,
    Unit::Days,
    Unit::Hours,
    Unit::Minutes,
    Unit::Seconds,
    Unit::Milliseconds,
];

impl Unit {
    /// Parses `day`, `days`, `Days`... as Luxon does (singular and plural).
    pub fn from_name(name: &str) -> Option<Unit> {
        let lower = name.to_ascii_lowercase();
        let singular = lower.strip_suffix('s').unwrap_or(&lower);
        Some(match singular {
            "year" => Unit::Years,
            "quarter" => Unit::Quarters,
            "month" => Unit::Months,
            "week" => Unit::Weeks,
            "day" => Unit::Days,
            "hour" => Unit::Hours,
            "minute" => Unit::Minutes,
            "second" => Unit::Seconds,
            "millisecond" => Unit::Milliseconds,
            _ => return None,
        })
    }

    /// The plural name Luxon uses as object key.
    pub fn name(self) -> &'static str {
        [
            "years",
            "quarters",
            "months",
            "weeks",
            "days",
            "hours",
            "minutes",
            "seconds",
            "milliseconds",
        ][self as usize]
    }

    /// Milliseconds per unit under the casual conversion matrix.
    pub fn fixed_ms(self) -> f64 {
        (match self {
            Unit::Years => 365 * MS_PER_DAY,
            Unit::Quarters => 91 * MS_PER_DAY,
            Unit::Months => 30 * MS_PER_DAY,
            Unit::Weeks => 7 * MS_PER_DAY,
            Unit::Days => MS_PER_DAY,
            Unit::Hours => MS_PER_HOUR,
            Unit::Minutes => MS_PER_MINUTE,
            Unit::Seconds => MS_PER_SECOND,
            Unit::Milliseconds => 1,
        }) as f64
    }
}

/// A Luxon Duration: a value for each unit that was set.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Duration {
    values: [f64; UNITS],
    present: [bool; UNITS],
}

impl Duration {
    /// A duration of `value` `unit`s.
    pub fn of(unit: Unit, value: f64) -> Duration {
        let mut d = Duration::default();
        d.set(unit, value);
        d
    }

    /// Sets a unit's value.
    pub fn set(&mut self, unit: Unit, value: f64) {
        self.values[unit as usize] = value;
        self.present[unit as usize] = true;
    }

    /// The value of a unit (0 when not set), as Luxon's `duration.days`.
    pub fn get(&self, unit: Unit) -> f64 {
        self.values[unit as usize]
    }

    /// The units that are set, largest first, with their values (`toObject()`).
    /// Exact-size so that callers can allocate the result in one piece.
    pub fn entries(&self) -> std::vec::IntoIter<(Unit, f64)> {
        ALL_UNITS
            .into_iter()
            .filter(|u| self.present[*u as usize])
            .map(|u| (u, self.get(u)))
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// `toMillis()`.
    pub fn to_millis(&self) -> f64 {
        self.entries().map(|(u, v)| v * u.fixed_ms()).sum()
    }

    /// `as(unit)`.
    pub fn as_unit(&self, unit: Unit) -> f64 {
        self.to_millis() / unit.fixed_ms()
    }

    /// `toISO()`: `P1Y2M3DT4H5M6.007S`; `PT0S` when empty.
    pub fn to_iso(&self) -> String {
        let mut out = String::from("P");
        let num = |v: f64| {
            let mut b = ryu_js::Buffer::new();
            b.format(v).to_owned()
        };
        for (unit, suffix) in [
            (Unit::Years, 'Y'),
            (Unit::Quarters, 'Q'),
            (Unit::Months, 'M'),
            (Unit::Weeks, 'W'),
            (Unit::Days, 'D'),
        ] {
            let v = if unit == Unit::Quarters {
                0.0
            } else {
                self.get(unit)
            };
            let v = if unit == Unit::Months {
                v + self.get(Unit::Quarters) * 3.0
            } else {
                v
            };
            if v != 0.0 {
                out.push_str(&num(v));
                out.push(suffix);
            }
        }
        let seconds = self.get(Unit::Seconds) + self.get(Unit::Milliseconds) / 1000.0;
        if self.get(Unit::Hours) != 0.0 || self.get(Unit::Minutes) != 0.0 || seconds != 0.0 {
            out.push('T');
        }
        for (v, suffix) in [
            (self.get(Unit::Hours), 'H'),
            (self.get(Unit::Minutes), 'M'),
            (seconds, 'S'),
        ] {
            if v != 0.0 {
                out.push_str(&num(v));
                out.push(suffix);
            }
        }
        if out == "P" {
            out.push_str("T0S");
        }
        out
    }
}
