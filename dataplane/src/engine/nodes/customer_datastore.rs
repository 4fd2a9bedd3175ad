//! Customer Datastore (n8n training) v1: a dummy source of five fixed customer records
//! that n8n's courses and many shared example workflows start from.
//!
//! Per input item: `getOnePerson` (the default) emits the first record; `getAllPeople`
//! emits every record with `returnAll`, else the first `limit` (default 5; the editor
//! allows 1..=10, and a limit past the table simply yields all five). Records are plain
//! JSON with `country: null` for the fourth, exactly as n8n's node holds them.

use crate::engine::item::Item;
use crate::engine::node::{NodeCtx, NodeResult};
use crate::engine::value::Value;

/// (id, name, email, notes, country, created) of each record, in n8n's order.
const RECORDS: [[Option<&str>; 6]; 5] = [
    [
        Some("23423532"),
        Some("Jay Gatsby"),
        Some("gatsby@west-egg.com"),
        Some("Keeps asking about a green light??"),
        Some("US"),
        Some("1925-04-10"),
    ],
    [
        Some("23423533"),
        Some("José Arcadio Buendía"),
        Some("jab@macondo.co"),
        Some("Lots of people named after him. Very confusing"),
        Some("CO"),
        Some("1967-05-05"),
    ],
    [
        Some("23423534"),
        Some("Max Sendak"),
        Some("info@in-and-out-of-weeks.org"),
        Some("Keeps rolling his terrible eyes"),
        Some("US"),
        Some("1963-04-09"),
    ],
    [
        Some("23423535"),
        Some("Zaphod Beeblebrox"),
        Some("captain@heartofgold.com"),
        Some("Felt like I was talking to more than one person"),
        None,
        Some("1979-10-12"),
    ],
    [
        Some("23423536"),
        Some("Edmund Pevensie"),
        Some("edmund@narnia.gov"),
        Some("Passionate sailor"),
        Some("UK"),
        Some("1950-10-16"),
    ],
];

const FIELDS: [&str; 6] = ["id", "name", "email", "notes", "country", "created"];

/// Record `index` as a json value.
fn record(index: usize) -> Value<'static> {
    debug_assert!(index < RECORDS.len());
    // Built once per call from static data; the members live in static memory through
    // a match on the index so no arena is needed.
    macro_rules! members {
        ($i:expr) => {{
            const R: [Option<&str>; 6] = RECORDS[$i];
            const M: [(&str, Value<'static>); 6] = [
                (FIELDS[0], opt(R[0])),
                (FIELDS[1], opt(R[1])),
                (FIELDS[2], opt(R[2])),
                (FIELDS[3], opt(R[3])),
                (FIELDS[4], opt(R[4])),
                (FIELDS[5], opt(R[5])),
            ];
            Value::Object(&M)
        }};
    }
    match index {
        0 => members!(0),
        1 => members!(1),
        2 => members!(2),
        3 => members!(3),
        _ => members!(4),
    }
}

const fn opt(value: Option<&'static str>) -> Value<'static> {
    match value {
        Some(s) => Value::String(s),
        None => Value::Null,
    }
}

/// Runs a Customer Datastore node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let operation = ctx.param_str("operation", 0, "getOnePerson")?;
    let mut out = ctx.items_with_capacity(input.len());
    for i in 0..input.len() {
        let count = match operation {
            "getAllPeople" => {
                if ctx.param_bool("returnAll", i, false)? {
                    RECORDS.len()
                } else {
                    record_count(ctx.param_f64("limit", i, 5.0)?)
                }
            }
            "getOnePerson" => 1,
            // n8n's node emits nothing for an operation it does not know.
            _ => 0,
        };
        for index in 0..count {
            out.push(Item {
                json: record(index),
                binary: Value::Undefined,
                paired: ctx.paired(i),
            });
        }
    }
    Ok(ctx.single_output(out.into_bump_slice()))
}

/// JavaScript's `data.slice(0, limit)` length for a numeric limit (a negative end counts
/// from the end of the table).
fn record_count(limit: f64) -> usize {
    let total = RECORDS.len() as f64;
    if limit.is_nan() {
        return 0;
    }
    let end = if limit < 0.0 {
        (total + limit.trunc()).max(0.0)
    } else {
        limit.trunc().min(total)
    };
    end as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_hold_n8ns_fields_in_order_with_a_null_country() {
        let fourth = record(3);
        let keys: Vec<&str> = fourth
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(keys, FIELDS);
        assert!(matches!(fourth.get("country"), Value::Null));
        assert_eq!(record(1).get("name").as_str(), Some("José Arcadio Buendía"));
        assert_eq!(record(4).get("created").as_str(), Some("1950-10-16"));
    }

    #[test]
    fn limit_behaves_like_array_slice() {
        assert_eq!(record_count(5.0), 5);
        assert_eq!(record_count(2.7), 2);
        assert_eq!(record_count(10.0), 5);
        assert_eq!(record_count(0.0), 0);
        assert_eq!(record_count(-3.0), 2);
        assert_eq!(record_count(-9.0), 0);
        assert_eq!(record_count(f64::NAN), 0);
    }
}
