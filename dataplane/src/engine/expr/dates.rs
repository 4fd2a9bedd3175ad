//! Luxon `DateTime` and `Duration` methods and properties.

use super::eval::{type_error, Eval, Res};
use super::scope::Scope;
use super::val::Val;
use crate::engine::datetime::{format_names, DateTime, Duration, Unit, Zone};
use crate::engine::value::Value;

fn arg<'a>(args: &[Val<'a>], i: usize) -> Val<'a> {
    args.get(i).copied().unwrap_or(Val::Undefined)
}

/// A duration from `{days: 1}` or `(1, 'days')` arguments (n8n accepts both) or a Duration.
pub(crate) fn duration_arg<'a, S: Scope<'a> + ?Sized>(
    ev: &Eval<'a, '_, S>,
    args: &[Val<'a>],
) -> Result<Duration, String> {
    match (arg(args, 0), arg(args, 1)) {
        (Val::Duration(d), _) => Ok(*d),
        (Val::Object(members), _) => {
            let mut d = Duration::default();
            for (k, v) in members {
                let unit = Unit::from_name(k).ok_or_else(|| format!("Invalid unit {k}"))?;
                d.set(unit, ev.num_of(Val::from(*v)));
            }
            Ok(d)
        }
        (Val::Number(n), unit) => {
            let unit = match unit {
                Val::Undefined => Unit::Milliseconds,
                u => Unit::from_name(ev.str_of(u)).ok_or("Invalid unit")?,
            };
            Ok(Duration::of(unit, n))
        }
        _ => Err("Invalid duration".to_owned()),
    }
}

fn units_arg<'a, S: Scope<'a> + ?Sized>(
    ev: &Eval<'a, '_, S>,
    v: Val<'a>,
) -> Result<Vec<Unit>, String> {
    match v {
        Val::Undefined => Ok(vec![Unit::Milliseconds]),
        Val::Array(items) => items
            .iter()
            .map(|u| {
                Unit::from_name(ev.str_of(Val::from(*u))).ok_or_else(|| "Invalid unit".to_owned())
            })
            .collect(),
        u => Ok(vec![Unit::from_name(ev.str_of(u)).ok_or("Invalid unit")?]),
    }
}

/// A DateTime from a DateTime, JavaScript Date, ISO string or epoch milliseconds argument.
pub(crate) fn date_arg<'a, S: Scope<'a> + ?Sized>(
    ev: &Eval<'a, '_, S>,
    v: Val<'a>,
) -> Option<DateTime> {
    match v {
        Val::DateTime(d) => Some(d),
        Val::JsDate(ms) if ms.is_finite() => Some(DateTime::new(ms as i64, ev.zone())),
        Val::String(s) => Some(crate::engine::datetime::parse_iso(s, ev.zone(), false)),
        Val::Number(ms) if ms.is_finite() => Some(DateTime::new(ms as i64, ev.zone())),
        _ => None,
    }
}

/// `dateTime.name`.
pub(crate) fn date_property<'a, S: Scope<'a> + ?Sized>(
    ev: &Eval<'a, '_, S>,
    d: DateTime,
    name: &str,
) -> Val<'a> {
    use chrono::{Datelike, Timelike};
    if name == "isValid" {
        return Val::Bool(d.valid);
    }
    if !d.valid {
        return match name {
            "invalidReason" => Val::String("unparsable"),
            _ => Val::Null,
        };
    }
    let f = d.fields();
    let l = f.local;
    let n = |x: u32| Val::Number(x as f64);
    match name {
        "year" => Val::Number(l.year() as f64),
        "month" => n(l.month()),
        "day" => n(l.day()),
        "hour" => n(l.hour()),
        "minute" => n(l.minute()),
        "second" => n(l.second()),
        "millisecond" => n(l.nanosecond() / 1_000_000),
        "weekday" => n(d.weekday()),
        "weekdayLong" => Val::String(format_names::WEEKDAYS[d.weekday() as usize - 1]),
        "weekdayShort" => Val::String(&format_names::WEEKDAYS[d.weekday() as usize - 1][..3]),
        "monthLong" => Val::String(format_names::MONTHS[l.month0() as usize]),
        "monthShort" => Val::String(&format_names::MONTHS[l.month0() as usize][..3]),
        "weekNumber" => n(l.iso_week().week()),
        "weekYear" => Val::Number(l.iso_week().year() as f64),
        "ordinal" => n(l.ordinal()),
        "quarter" => n(l.month0() / 3 + 1),
        "daysInMonth" => n(days_in_month(l.year(), l.month())),
        "daysInYear" => n(
            if chrono::NaiveDate::from_ymd_opt(l.year(), 2, 29).is_some() {
                366
            } else {
                365
            },
        ),
        "isInLeapYear" => Val::Bool(chrono::NaiveDate::from_ymd_opt(l.year(), 2, 29).is_some()),
        "offset" => Val::Number((f.offset / 60) as f64),
        "zoneName" => Val::String(ev.alloc_str(&d.zone.name())),
        "ts" => Val::Number(d.ms as f64),
        "isOffsetFixed" => Val::Bool(!matches!(d.zone, Zone::Named(_))),
        _ => Val::Undefined,
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    (28..=31)
        .rev()
        .find(|d| chrono::NaiveDate::from_ymd_opt(year, month, *d).is_some())
        .unwrap_or(28)
}

/// `dateTime.name(args)`.
pub(crate) fn call<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    d: DateTime,
    name: &str,
    args: &'a [Val<'a>],
) -> Option<Res<'a>> {
    let string = |ev: &Eval<'a, '_, S>, s: Option<String>| match s {
        Some(s) => Val::String(ev.alloc_str(&s)),
        None => Val::Null,
    };
    Some(Ok(match name {
        "toISO" | "toJSON" => string(ev, d.to_iso()),
        "toISODate" => string(ev, d.to_iso_date()),
        "toString" => Val::String(ev.alloc_str(&d.to_string_js())),
        "toFormat" | "format" => {
            let pattern = ev.str_of(arg(args, 0));
            Val::String(ev.alloc_str(&d.to_format(pattern)))
        }
        "toMillis" | "valueOf" => Val::Number(d.value_of()),
        "toSeconds" => Val::Number(d.value_of() / 1000.0),
        "toUnixInteger" => Val::Number((d.value_of() / 1000.0).floor()),
        "toUTC" => Val::DateTime(d.set_zone(Zone::Utc)),
        "setZone" => match Zone::from_name(ev.str_of(arg(args, 0))) {
            Some(zone) => Val::DateTime(d.set_zone(zone)),
            None => Val::DateTime(DateTime::invalid()),
        },
        "plus" | "minus" => match duration_arg(ev, args) {
            Ok(duration) => {
                Val::DateTime(d.plus(&duration, if name == "plus" { 1.0 } else { -1.0 }))
            }
            Err(e) => return Some(type_error(e)),
        },
        "startOf" | "endOf" => match Unit::from_name(ev.str_of(arg(args, 0))) {
            Some(unit) => Val::DateTime(if name == "startOf" {
                d.start_of(unit)
            } else {
                d.end_of(unit)
            }),
            None => return Some(type_error("Invalid unit")),
        },
        "diff" => {
            let Some(other) = date_arg(ev, arg(args, 0)) else {
                return Some(type_error("diff() needs a DateTime"));
            };
            match units_arg(ev, arg(args, 1)) {
                Ok(units) => Val::Duration(ev.arena.alloc(d.diff(&other, &units))),
                Err(e) => return Some(type_error(e)),
            }
        }
        _ => return None,
    }))
}

/// `duration.name(args)`.
pub(crate) fn call_duration<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    d: &'a Duration,
    name: &str,
    args: &'a [Val<'a>],
) -> Option<Res<'a>> {
    Some(Ok(match name {
        "as" => match Unit::from_name(ev.str_of(arg(args, 0))) {
            Some(unit) => Val::Number(d.as_unit(unit)),
            None => return Some(type_error("Invalid unit")),
        },
        "toObject" => Val::Object(
            bumpalo::collections::Vec::from_iter_in(
                d.entries().map(|(u, v)| (u.name(), Value::Number(v))),
                ev.arena,
            )
            .into_bump_slice(),
        ),
        "toMillis" | "valueOf" => Val::Number(d.to_millis()),
        "toISO" | "toString" | "toJSON" => Val::String(ev.alloc_str(&d.to_iso())),
        _ => return None,
    }))
}
