//! Schedule trigger rules (`scheduleTrigger` and legacy `cron`) as 6-field cron strings
//! (`sec min hour dom mon dow`).

use serde_json::{Map, Value};

/// Why a schedule rule cannot be expressed as cron.
pub type RuleError = String;

fn number(rule: &Map<String, Value>, key: &str, default: u64) -> Result<u64, RuleError> {
    match rule.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("`{key}` must be a whole number ≥ 0")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("`{key}` must be a whole number, got {s:?}")),
        Some(_) => Err(format!("`{key}` must be a number")),
    }
}

fn interval(rule: &Map<String, Value>, key: &str, default: u64) -> Result<u64, RuleError> {
    let n = number(rule, key, default)?;
    if n == 0 {
        return Err(format!("`{key}` must be at least 1"));
    }
    Ok(n)
}

/// Normalises a cron expression written by a user to 6 fields.
pub fn normalize_cron(expression: &str) -> Result<String, RuleError> {
    if expression.starts_with('=') {
        return Err("a cron expression cannot be an n8n expression".to_owned());
    }
    let fields: Vec<&str> = expression.split_whitespace().collect();
    match fields.len() {
        5 => Ok(format!("0 {}", fields.join(" "))),
        6 => Ok(fields.join(" ")),
        n => Err(format!(
            "cron expression {expression:?} has {n} fields, expected 5 or 6"
        )),
    }
}

fn step(n: u64) -> String {
    if n == 1 {
        "*".to_owned()
    } else {
        format!("*/{n}")
    }
}

/// One `scheduleTrigger` rule (`parameters.rule.interval[i]`) as cron.
pub fn schedule_rule(rule: &Map<String, Value>) -> Result<String, RuleError> {
    let field = rule.get("field").and_then(Value::as_str).unwrap_or("days");
    let minute = number(rule, "triggerAtMinute", 0)?;
    let hour = number(rule, "triggerAtHour", 0)?;
    match field {
        "seconds" => Ok(format!(
            "{} * * * * *",
            step(interval(rule, "secondsInterval", 30)?)
        )),
        "minutes" => Ok(format!(
            "0 {} * * * *",
            step(interval(rule, "minutesInterval", 5)?)
        )),
        "hours" => Ok(format!(
            "0 {minute} {} * * *",
            step(interval(rule, "hoursInterval", 1)?)
        )),
        "days" => Ok(format!(
            "0 {minute} {hour} {} * *",
            step(interval(rule, "daysInterval", 1)?)
        )),
        "weeks" => {
            if interval(rule, "weeksInterval", 1)? != 1 {
                return Err("a schedule every N > 1 weeks is not supported".to_owned());
            }
            let days = match rule.get("triggerAtDay") {
                None | Some(Value::Null) => vec![0],
                Some(Value::Array(days)) if days.is_empty() => vec![0],
                Some(Value::Array(days)) => days
                    .iter()
                    .map(|d| {
                        d.as_u64()
                            .filter(|d| *d <= 6)
                            .ok_or("`triggerAtDay` holds weekdays 0..6")
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Some(_) => return Err("`triggerAtDay` must be an array of weekdays".to_owned()),
            };
            let days: Vec<String> = days.iter().map(u64::to_string).collect();
            Ok(format!("0 {minute} {hour} * * {}", days.join(",")))
        }
        "months" => {
            let day = number(rule, "triggerAtDayOfMonth", 1)?;
            Ok(format!(
                "0 {minute} {hour} {day} {} *",
                step(interval(rule, "monthsInterval", 1)?)
            ))
        }
        "cronExpression" => {
            let expression = rule.get("expression").and_then(Value::as_str).unwrap_or("");
            normalize_cron(expression)
        }
        other => Err(format!("unknown schedule field {other:?}")),
    }
}

/// Every rule of a `scheduleTrigger` node (a missing list means n8n's default: daily at midnight).
pub fn schedule_trigger(params: Option<&Map<String, Value>>) -> Result<Vec<String>, RuleError> {
    let rules = params
        .and_then(|p| p.get("rule"))
        .and_then(|r| r.get("interval"))
        .and_then(Value::as_array);
    match rules {
        None => Ok(vec!["0 0 0 * * *".to_owned()]),
        Some(rules) if rules.is_empty() => Ok(vec!["0 0 0 * * *".to_owned()]),
        Some(rules) => rules
            .iter()
            .map(|rule| {
                rule.as_object()
                    .ok_or_else(|| "a rule must be an object".to_owned())
                    .and_then(schedule_rule)
            })
            .collect(),
    }
}

/// Every time of a legacy `cron` node (`parameters.triggerTimes.item`).
pub fn cron_trigger(params: Option<&Map<String, Value>>) -> Result<Vec<String>, RuleError> {
    let items = params
        .and_then(|p| p.get("triggerTimes"))
        .and_then(|t| t.get("item"))
        .and_then(Value::as_array);
    let Some(items) = items else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|item| {
            let item = item
                .as_object()
                .ok_or_else(|| "a trigger time must be an object".to_owned())?;
            let minute = number(item, "minute", 0)?;
            let hour = number(item, "hour", 14)?;
            match item
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("everyDay")
            {
                "everyMinute" => Ok("0 * * * * *".to_owned()),
                "everyHour" => Ok(format!("0 {minute} * * * *")),
                "everyDay" => Ok(format!("0 {minute} {hour} * * *")),
                "everyWeek" => Ok(format!(
                    "0 {minute} {hour} * * {}",
                    number(item, "weekday", 1)?
                )),
                "everyMonth" => Ok(format!(
                    "0 {minute} {hour} {} * *",
                    number(item, "dayOfMonth", 1)?
                )),
                "everyX" => {
                    let value = interval(item, "value", 2)?;
                    match item.get("unit").and_then(Value::as_str).unwrap_or("hours") {
                        "minutes" => Ok(format!("0 {} * * * *", step(value))),
                        "hours" => Ok(format!("0 0 {} * * *", step(value))),
                        other => Err(format!("unknown everyX unit {other:?}")),
                    }
                }
                "custom" => normalize_cron(
                    item.get("cronExpression")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                ),
                other => Err(format!("unknown cron mode {other:?}")),
            }
        })
        .collect()
}

/// The legacy `interval` trigger (`parameters.interval`, `parameters.unit`) as one cron
/// expression. n8n runs it with `setInterval` from activation; cron fires on wall-clock
/// multiples instead, which is the same cadence when the period divides the next larger
/// unit (every 15 s, 10 min, 6 h, 1 day ...). Other periods (every 45 s, 7 h) would drift
/// at each boundary, so they are rejected rather than run at a different rate.
pub fn interval_trigger(params: Option<&Map<String, Value>>) -> Result<String, RuleError> {
    const SECONDS_PER_MINUTE: u64 = 60;
    const SECONDS_PER_HOUR: u64 = 3_600;
    const SECONDS_PER_DAY: u64 = 86_400;
    let empty = Map::new();
    let params = params.unwrap_or(&empty);
    let value = interval(params, "interval", 1)?;
    let unit_seconds = match params
        .get("unit")
        .and_then(Value::as_str)
        .unwrap_or("seconds")
    {
        "seconds" => 1,
        "minutes" => SECONDS_PER_MINUTE,
        "hours" => SECONDS_PER_HOUR,
        other => return Err(format!("unknown interval unit {other:?}")),
    };
    let period = value
        .checked_mul(unit_seconds)
        .ok_or_else(|| "`interval` is too large".to_owned())?;
    let divides =
        |unit: u64, next: u64| period.is_multiple_of(unit) && next.is_multiple_of(period / unit);
    if period < SECONDS_PER_MINUTE && divides(1, SECONDS_PER_MINUTE) {
        Ok(format!("{} * * * * *", step(period)))
    } else if period < SECONDS_PER_HOUR && divides(SECONDS_PER_MINUTE, 60) {
        Ok(format!("0 {} * * * *", step(period / SECONDS_PER_MINUTE)))
    } else if period < SECONDS_PER_DAY && divides(SECONDS_PER_HOUR, 24) {
        Ok(format!("0 0 {} * * *", step(period / SECONDS_PER_HOUR)))
    } else if period == SECONDS_PER_DAY {
        Ok("0 0 0 * * *".to_owned())
    } else {
        Err(format!(
            "an interval of {period} s does not divide a minute, an hour or a day, so no schedule fires at that exact rate"
        ))
    }
}

#[cfg(test)]
mod interval_tests {
    use super::*;
    use serde_json::json;

    fn cron(params: serde_json::Value) -> Result<String, RuleError> {
        interval_trigger(params.as_object())
    }

    #[test]
    fn periods_that_divide_the_next_unit_become_cron_steps() {
        assert_eq!(cron(json!({})).unwrap(), "* * * * * *");
        assert_eq!(cron(json!({"interval": 15})).unwrap(), "*/15 * * * * *");
        assert_eq!(cron(json!({"interval": 120})).unwrap(), "0 */2 * * * *");
        assert_eq!(
            cron(json!({"interval": 10, "unit": "minutes"})).unwrap(),
            "0 */10 * * * *"
        );
        assert_eq!(
            cron(json!({"interval": 90, "unit": "minutes"})).unwrap_err(),
            "an interval of 5400 s does not divide a minute, an hour or a day, so no schedule fires at that exact rate"
        );
        assert_eq!(
            cron(json!({"interval": 6, "unit": "hours"})).unwrap(),
            "0 0 */6 * * *"
        );
        assert_eq!(
            cron(json!({"interval": 24, "unit": "hours"})).unwrap(),
            "0 0 0 * * *"
        );
    }

    #[test]
    fn bad_intervals_are_errors() {
        assert!(cron(json!({"interval": 45})).is_err());
        assert!(cron(json!({"interval": 0})).is_err());
        assert!(cron(json!({"interval": "x"})).is_err());
        assert!(cron(json!({"unit": "weeks"})).is_err());
        assert!(cron(json!({"interval": u64::MAX, "unit": "hours"})).is_err());
    }
}
