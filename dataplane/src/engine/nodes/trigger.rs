//! Trigger nodes: manualTrigger (and legacy start), webhook, scheduleTrigger, cron, interval,
//! executeWorkflowTrigger.
//!
//! The engine starts an execution by feeding the trigger item(s) as the trigger node's
//! input (as n8n does for non-manual modes: "pass the data through"), so a trigger's run
//! is its input on output 0. The items themselves are built by the runtime side:
//! [`crate::engine::webhook`] for webhooks, [`trigger_items`] for the others.

use bumpalo::Bump;
use linkflow_codec::plan::ArchivedNodeKind;

use crate::engine::item::Item;
use crate::engine::node::{NodeCtx, NodeOutcome, NodeResult};
use crate::engine::value::Value;

/// Runs a trigger node: its input passes through on output 0. The legacy Interval
/// trigger always emits one empty item (n8n's node emits `[{}]` on every tick), whatever
/// item the runtime started it with.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    if matches!(ctx.node.kind, ArchivedNodeKind::Interval) {
        return Ok(ctx.single_output(manual_item(ctx.arena)));
    }
    Ok(pass_input(ctx.arena, ctx.inputs))
}

/// Whether a trigger of `kind` passes its input through ([`pass_input`]): every trigger
/// but the legacy Interval.
pub fn passes_input(kind: &ArchivedNodeKind) -> bool {
    matches!(
        kind,
        ArchivedNodeKind::ManualTrigger
            | ArchivedNodeKind::Webhook
            | ArchivedNodeKind::ScheduleTrigger
            | ArchivedNodeKind::Cron
            | ArchivedNodeKind::ExecuteWorkflowTrigger
    )
}

/// A trigger's run: its input 0 (the trigger items) on output 0. Needs nothing of a node
/// context, so the execution's short path calls it without building one.
pub fn pass_input<'a>(arena: &'a Bump, inputs: &'a [Option<&'a [Item<'a>]>]) -> NodeOutcome<'a> {
    // One input with data (every trigger start) already is the output's shape.
    if let [Some(_)] = inputs {
        return NodeOutcome::Output(inputs);
    }
    let items: &'a [Item<'a>] = inputs.first().copied().flatten().unwrap_or(&[]);
    NodeOutcome::Output(arena.alloc_slice_copy(&[Some(items)]))
}

/// The item a manual trigger emits (`{}`), as n8n's manual trigger does.
pub fn manual_item<'a>(arena: &'a Bump) -> &'a [Item<'a>] {
    arena.alloc_slice_copy(&[Item::new(Value::EMPTY_OBJECT)])
}

/// The item a schedule trigger (or legacy cron) emits when it fires at `now_ms` in
/// time zone UTC: n8n's `{timestamp, "Readable date", "Readable time", "Day of week",
/// Year, Month, "Day of month", Hour, Minute, Second, Timezone}`. Legacy cron emits `{}`.
pub fn schedule_item<'a>(arena: &'a Bump, now_ms: i64, legacy_cron: bool) -> &'a [Item<'a>] {
    if legacy_cron {
        return manual_item(arena);
    }
    let t = civil_from_ms(now_ms);
    let timestamp = arena.alloc_str(&format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+00:00",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis
    ));
    let (hour12, meridiem) = match t.hour {
        0 => (12, "am"),
        1..=11 => (t.hour, "am"),
        12 => (12, "pm"),
        h => (h - 12, "pm"),
    };
    let readable_date = arena.alloc_str(&format!(
        "{} {}{}, {} {}:{:02}:{:02} {}",
        MONTHS[t.month as usize - 1],
        t.day,
        ordinal_suffix(t.day),
        t.year,
        hour12,
        t.minute,
        t.second,
        meridiem
    ));
    let readable_time = arena.alloc_str(&format!(
        "{}:{:02}:{:02} {}",
        hour12, t.minute, t.second, meridiem
    ));
    let members = arena.alloc_slice_copy(&[
        ("timestamp", Value::String(timestamp)),
        ("Readable date", Value::String(readable_date)),
        ("Readable time", Value::String(readable_time)),
        ("Day of week", Value::String(WEEKDAYS[t.weekday as usize])),
        ("Year", Value::String(arena.alloc_str(&t.year.to_string()))),
        ("Month", Value::String(MONTHS[t.month as usize - 1])),
        (
            "Day of month",
            Value::String(arena.alloc_str(&format!("{:02}", t.day))),
        ),
        (
            "Hour",
            Value::String(arena.alloc_str(&format!("{:02}", t.hour))),
        ),
        (
            "Minute",
            Value::String(arena.alloc_str(&format!("{:02}", t.minute))),
        ),
        (
            "Second",
            Value::String(arena.alloc_str(&format!("{:02}", t.second))),
        ),
        ("Timezone", Value::String("UTC (UTC+00:00)")),
    ]);
    arena.alloc_slice_copy(&[Item::new(Value::Object(members))])
}

const MONTHS: [&str; 12] = [
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
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn ordinal_suffix(day: u32) -> &'static str {
    match (day % 10, day % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// A UTC calendar time.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    millis: u32,
    /// 0 = Sunday.
    weekday: u32,
}

/// Converts epoch milliseconds to a UTC civil time (Howard Hinnant's days-from-civil
/// inverse), so triggers need no date crate.
fn civil_from_ms(ms: i64) -> Civil {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (rem / 3_600_000) as u32,
        minute: (rem / 60_000 % 60) as u32,
        second: (rem / 1000 % 60) as u32,
        millis: (rem % 1000) as u32,
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_item_names_the_fire_time_in_utc() {
        let arena = Bump::new();
        // 2024-02-29T13:05:09.007Z, a Thursday.
        let items = schedule_item(&arena, 1_709_211_909_007, false);
        let json = items[0].json;
        assert_eq!(
            json.get("timestamp").as_str(),
            Some("2024-02-29T13:05:09.007+00:00")
        );
        assert_eq!(
            json.get("Readable date").as_str(),
            Some("February 29th, 2024 1:05:09 pm")
        );
        assert_eq!(json.get("Day of week").as_str(), Some("Thursday"));
        assert_eq!(json.get("Hour").as_str(), Some("13"));
    }

    #[test]
    fn pass_input_puts_input_zero_on_output_zero_for_every_input_shape() {
        let arena = Bump::new();
        let one: &[Item<'_>] = arena.alloc_slice_copy(&[Item::new(Value::EMPTY_OBJECT)]);
        let shapes: [&[Option<&[Item<'_>]>]; 5] = [
            &[Some(one)],
            &[Some(&[])],
            &[None],
            &[],
            &[Some(one), Some(one)],
        ];
        for inputs in shapes {
            let NodeOutcome::Output(outputs) = pass_input(&arena, inputs) else {
                panic!("a trigger always has output");
            };
            let expected = inputs.first().copied().flatten().unwrap_or(&[]);
            assert_eq!(outputs.len(), 1, "{inputs:?}");
            let items = outputs[0].expect("output 0 has data");
            assert_eq!(items.len(), expected.len(), "{inputs:?}");
            assert!(std::ptr::eq(items, expected) || expected.is_empty());
        }
    }

    #[test]
    fn legacy_cron_emits_an_empty_item() {
        let arena = Bump::new();
        let items = schedule_item(&arena, 0, true);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].json.as_object().map(|m| m.len()), Some(0));
    }
}
