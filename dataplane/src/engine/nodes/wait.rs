//! Wait v1/v1.1: resumes after a time interval or at a specific time, through a timer
//! effect the runtime performs; the input items then pass through unchanged. Resuming on
//! a webhook call or a form submission is not supported.

use crate::engine::datetime::{parse_loose, Zone};
use crate::engine::node::{
    EffectRequest, EffectResult, NodeCtx, NodeError, NodeOutcome, NodeResult,
};
use crate::engine::value::Value;

const CODE_RESUME: &str = "LF-NODE-WAIT-001";
const CODE_TIME: &str = "LF-NODE-WAIT-002";

/// Runs a Wait node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    if let Some(EffectResult::TimerFired) = ctx.resume {
        return Ok(ctx.pass_main_input());
    }
    let resume = ctx.param_str("resume", 0, "timeInterval")?;
    let at_ms = match resume {
        "timeInterval" => {
            let amount = ctx.param_f64("amount", 0, 1.0)?;
            let unit = ctx.param_str("unit", 0, "hours")?;
            interval_end(ctx.now_ms, amount, unit)?
        }
        "specificTime" => {
            let when = ctx.param("dateTime", 0)?;
            specific_time(when)?
        }
        other => {
            return Err(NodeError::new(
                CODE_RESUME,
                format!("Wait resume mode '{other}' is not supported"),
            ))
        }
    };
    Ok(NodeOutcome::Effect(
        ctx.arena.alloc(EffectRequest::Timer { at_ms }),
    ))
}

/// `now + amount unit` in epoch milliseconds.
pub fn interval_end(now_ms: i64, amount: f64, unit: &str) -> Result<i64, NodeError> {
    let unit_ms = match unit {
        "seconds" => 1_000.0,
        "minutes" => 60_000.0,
        "hours" => 3_600_000.0,
        "days" => 86_400_000.0,
        other => {
            return Err(NodeError::new(
                CODE_TIME,
                format!("Invalid wait unit '{other}'"),
            ))
        }
    };
    if !amount.is_finite() || amount < 0.0 {
        return Err(NodeError::new(
            CODE_TIME,
            "The wait amount must be a non-negative number",
        ));
    }
    Ok(now_ms.saturating_add((amount * unit_ms) as i64))
}

/// The instant of the "specific time" parameter (ISO string or epoch milliseconds).
pub fn specific_time(when: Value<'_>) -> Result<i64, NodeError> {
    let date = match when {
        Value::String(s) => parse_loose(s, Zone::Utc),
        Value::Number(ms) if ms.is_finite() => return Ok(ms as i64),
        _ => crate::engine::datetime::DateTime::invalid(),
    };
    if date.valid {
        Ok(date.ms)
    } else {
        Err(NodeError::new(CODE_TIME, "Invalid date format"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_add_to_the_clock() {
        assert_eq!(interval_end(1_000, 2.0, "seconds").unwrap(), 3_000);
        assert_eq!(interval_end(0, 1.5, "hours").unwrap(), 5_400_000);
        assert_eq!(interval_end(0, 0.0, "days").unwrap(), 0);
    }

    #[test]
    fn bad_units_and_amounts_are_errors() {
        assert!(interval_end(0, 1.0, "weeks").is_err());
        assert!(interval_end(0, -1.0, "seconds").is_err());
        assert!(interval_end(0, f64::NAN, "seconds").is_err());
    }

    #[test]
    fn specific_times_parse_iso_and_numbers() {
        assert_eq!(
            specific_time(Value::String("1970-01-01T00:00:01Z")).unwrap(),
            1_000
        );
        assert_eq!(specific_time(Value::Number(5.0)).unwrap(), 5);
        assert!(specific_time(Value::String("soon")).is_err());
        assert!(specific_time(Value::Undefined).is_err());
    }
}
