//! Date & Time v2: current date, add/subtract, format, round, time between dates and
//! extract a part, on the engine's Luxon-like [`datetime`](crate::engine::datetime).
//!
//! Zones follow n8n (workflow zone UTC here): `formatDate` keeps the offset written in the
//! input string unless a zone option is set, every other operation reads dates in the
//! workflow zone, and dates written into items are ISO strings (`...000Z` in UTC), which is
//! how n8n serialises the Luxon `DateTime` it stores.

pub mod v1;

use chrono::{Datelike, Timelike};

use crate::engine::datetime::{
    parse_format, parse_iso, parse_loose, DateTime, Duration, Unit, Zone,
};
use crate::engine::item::Item;
use crate::engine::node::{NodeCtx, NodeError, NodeResult};
use crate::engine::value::Value;

const CODE_DATE: &str = "LF-NODE-DATETIME-001";
const CODE_OPTION: &str = "LF-NODE-DATETIME-002";

/// Runs a Date & Time node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let mut out = ctx.items_with_capacity(input.len());
    for (i, item) in input.iter().enumerate() {
        let result = if ctx.version() < 2.0 {
            v1_item(ctx, i, item)
        } else {
            item_result(ctx, i, item)
        };
        match result {
            Ok(json) => out.push(Item {
                json,
                binary: item.binary,
                paired: ctx.paired(i),
            }),
            Err(error) if ctx.continue_on_fail() => {
                let message = Value::String(ctx.alloc_str(&error.message));
                let json = Value::Object(ctx.arena.alloc_slice_copy(&[("error", message)]));
                out.push(Item {
                    json,
                    binary: Value::Undefined,
                    paired: ctx.paired(i),
                });
            }
            Err(error) => return Err(error.at_item(i)),
        }
    }
    Ok(ctx.single_output(out.into_bump_slice()))
}

fn item_result<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    i: usize,
    item: &Item<'a>,
) -> Result<Value<'a>, NodeError> {
    let operation = ctx.param_str("operation", i, "getCurrentDate")?;
    let zone_name = ctx.param_str("options.timezone", i, "")?;
    let zone = if zone_name.is_empty() {
        None
    } else {
        Some(Zone::from_name(zone_name).ok_or_else(|| {
            NodeError::new(CODE_OPTION, format!("Invalid timezone '{zone_name}'"))
        })?)
    };
    let workflow_zone = Zone::Utc;
    let (default_name, value): (&str, Value<'a>) = match operation {
        "getCurrentDate" => {
            let now = DateTime::new(ctx.now_ms, zone.unwrap_or(workflow_zone));
            let now = if ctx.param_bool("includeTime", i, true)? {
                now
            } else {
                now.start_of(Unit::Days)
            };
            ("currentDate", iso(ctx, &now))
        }
        "addToDate" | "subtractFromDate" => {
            let date = parse_date(ctx.param("magnitude", i)?, workflow_zone, false, "")?;
            let unit_name = ctx.param_str("timeUnit", i, "days")?;
            let unit = Unit::from_name(unit_name).ok_or_else(|| {
                NodeError::new(CODE_OPTION, format!("Invalid time unit '{unit_name}'"))
            })?;
            let amount = ctx.param_f64("duration", i, 0.0)?;
            let sign = if operation == "addToDate" { 1.0 } else { -1.0 };
            (
                "newDate",
                iso(ctx, &date.plus(&Duration::of(unit, amount), sign)),
            )
        }
        "formatDate" => {
            let from_format = ctx.param_str("options.fromFormat", i, "")?;
            let date = parse_date(
                ctx.param("date", i)?,
                workflow_zone,
                zone.is_none(),
                from_format,
            )?;
            let date = zone.map_or(date, |z| date.set_zone(z));
            let format = match ctx.param_str("format", i, "MM/dd/yyyy")? {
                "custom" => ctx.param_str("customFormat", i, "")?,
                preset => preset,
            };
            (
                "formattedDate",
                Value::String(ctx.alloc_str(&date.to_format(format))),
            )
        }
        "roundDate" => {
            let date = parse_date(ctx.param("date", i)?, workflow_zone, false, "")?;
            let rounded = if ctx.param_str("mode", i, "roundDown")? == "roundUp" {
                let to = ctx.param_str("to", i, "month")?;
                let unit = Unit::from_name(to.trim_start_matches("endOf")).unwrap_or(Unit::Months);
                date.end_of(unit)
            } else {
                let to = ctx.param_str("toNearest", i, "day")?;
                let unit = Unit::from_name(to)
                    .ok_or_else(|| NodeError::new(CODE_OPTION, format!("Invalid unit '{to}'")))?;
                date.start_of(unit)
            };
            ("roundedDate", iso(ctx, &rounded))
        }
        "getTimeBetweenDates" => {
            let start = parse_date(ctx.param("startDate", i)?, workflow_zone, false, "")?;
            let end = parse_date(ctx.param("endDate", i)?, workflow_zone, false, "")?;
            let units_value = ctx.param("units", i)?;
            let mut units: Vec<Unit> = units_value
                .as_array()
                .unwrap_or(&[])
                .iter()
                .filter_map(|u| u.as_str().and_then(Unit::from_name))
                .collect();
            if units.is_empty() {
                units.push(Unit::Days);
            }
            units.sort();
            let duration = end.diff(&start, &units);
            let value = if ctx.param_bool("options.isoString", i, false)? {
                Value::String(ctx.alloc_str(&duration.to_iso()))
            } else {
                let members = ctx.arena.alloc_slice_fill_iter(
                    duration
                        .entries()
                        .map(|(unit, n)| (unit.name(), Value::Number(n))),
                );
                Value::Object(members)
            };
            ("timeDifference", value)
        }
        "extractDate" => {
            let date = parse_date(ctx.param("date", i)?, workflow_zone, false, "")?;
            let date = date.set_zone(zone.unwrap_or(workflow_zone));
            let part = ctx.param_str("part", i, "month")?;
            ("datePart", Value::Number(extract(&date, part)?))
        }
        other => {
            return Err(NodeError::new(
                CODE_OPTION,
                format!("Unknown operation '{other}'"),
            ))
        }
    };
    let name = ctx.param_str("outputFieldName", i, default_name)?;
    let name = if name.is_empty() { default_name } else { name };
    let base = if ctx.param_bool("options.includeInputFields", i, false)? {
        item.json
    } else {
        Value::EMPTY_OBJECT
    };
    Ok(ctx.with_member(base, name, value))
}

/// Date & Time v1 for one item: the item with `dataPropertyName` set.
fn v1_item<'a>(
    ctx: &mut NodeCtx<'a, '_>,
    i: usize,
    item: &Item<'a>,
) -> Result<Value<'a>, NodeError> {
    let action = ctx.param_str("action", i, "format")?;
    let value = ctx.param("value", i)?;
    let property = ctx.param_str("dataPropertyName", i, "data")?;
    let from_format = ctx.param_str("options.fromFormat", i, "")?;
    let zone_option = |ctx: &mut NodeCtx<'a, '_>, path: &str| -> Result<Zone, NodeError> {
        let name = ctx.param_str(path, i, "")?;
        Zone::from_name(name)
            .ok_or_else(|| NodeError::new(CODE_OPTION, format!("Invalid timezone '{name}'")))
    };
    let from_zone = zone_option(ctx, "options.fromTimezone")?;
    let date = v1::parse(value, from_format, from_zone)?;
    let output = if action == "calculate" {
        let sign = if ctx.param_str("operation", i, "add")? == "subtract" {
            -1.0
        } else {
            1.0
        };
        let amount = ctx.param_f64("duration", i, 0.0)?;
        let unit = ctx.param_str("timeUnit", i, "days")?;
        v1::iso_utc(&v1::calculate(&date, amount, unit, sign)?).unwrap_or_default()
    } else {
        let to_zone = zone_option(ctx, "options.toTimezone")?;
        let format = ctx.param_str("toFormat", i, "MM/DD/YYYY")?;
        date.set_zone(to_zone).to_format(&v1::luxon_pattern(format))
    };
    let value = Value::String(ctx.alloc_str(&output));
    Ok(super::split_out::write_field(
        ctx.arena, item.json, property, value, true,
    ))
}

fn iso<'a>(ctx: &NodeCtx<'a, '_>, date: &DateTime) -> Value<'a> {
    match date.to_iso() {
        Some(s) => Value::String(ctx.alloc_str(&s)),
        None => Value::Null,
    }
}

/// n8n's date parsing: ISO (offset kept when `keep_offset`), then SQL/RFC 2822 forms,
/// epoch milliseconds for numbers, or `from_format` when given.
pub fn parse_date(
    value: Value<'_>,
    zone: Zone,
    keep_offset: bool,
    from_format: &str,
) -> Result<DateTime, NodeError> {
    let date = match value {
        Value::String(s) if !from_format.is_empty() => parse_format(s, from_format, zone),
        Value::String(s) => {
            let iso = parse_iso(s, zone, keep_offset);
            if iso.valid {
                iso
            } else {
                let loose = parse_loose(s, zone);
                if keep_offset {
                    loose
                } else {
                    loose.set_zone(zone)
                }
            }
        }
        Value::Number(ms) if ms.is_finite() => DateTime::new(ms as i64, zone),
        _ => DateTime::invalid(),
    };
    if date.valid {
        Ok(date)
    } else {
        Err(NodeError::new(CODE_DATE, "Invalid date format"))
    }
}

/// A calendar part of a date, in its zone (`week` is the ISO week number).
pub fn extract(date: &DateTime, part: &str) -> Result<f64, NodeError> {
    let local = date.fields().local;
    Ok(f64::from(match part {
        "year" => return Ok(f64::from(local.year())),
        "month" => local.month(),
        "week" => local.iso_week().week(),
        "day" => local.day(),
        "hour" => local.hour(),
        "minute" => local.minute(),
        "second" => local.second(),
        other => {
            return Err(NodeError::new(
                CODE_OPTION,
                format!("Unknown date part '{other}'"),
            ))
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_converts_to_the_workflow_zone_first() {
        let date = parse_date(
            Value::String("2024-12-31T23:00:00-05:00"),
            Zone::Utc,
            false,
            "",
        )
        .unwrap();
        assert_eq!(extract(&date, "month").unwrap(), 1.0);
        assert_eq!(extract(&date, "year").unwrap(), 2025.0);
        assert_eq!(extract(&date, "hour").unwrap(), 4.0);
    }

    #[test]
    fn format_keeps_the_written_offset() {
        let date = parse_date(
            Value::String("2024-07-15T23:30:00+02:00"),
            Zone::Utc,
            true,
            "",
        )
        .unwrap();
        assert_eq!(date.to_format("yyyy-MM-dd HH:mm"), "2024-07-15 23:30");
        let date = parse_date(Value::String("2024-02-29"), Zone::Utc, true, "").unwrap();
        assert_eq!(date.to_format("yyyy-MM-dd HH:mm"), "2024-02-29 00:00");
    }

    #[test]
    fn invalid_inputs_are_errors() {
        for value in [
            Value::String("not a date"),
            Value::Null,
            Value::Undefined,
            Value::Bool(true),
        ] {
            assert_eq!(
                parse_date(value, Zone::Utc, false, "").unwrap_err().message,
                "Invalid date format"
            );
        }
        let date = parse_date(Value::String("2024-01-02"), Zone::Utc, false, "").unwrap();
        assert!(extract(&date, "fortnight").is_err());
    }

    #[test]
    fn numbers_are_epoch_milliseconds_and_adding_gives_utc_iso() {
        let date = parse_date(Value::Number(0.0), Zone::Utc, false, "").unwrap();
        let later = date.plus(&Duration::of(Unit::Days, 1.5), 1.0);
        assert_eq!(later.to_iso().unwrap(), "1970-01-02T12:00:00.000Z");
    }
}
