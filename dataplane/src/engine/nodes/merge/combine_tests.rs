//! Tests of the Merge combining algorithms.

use super::*;
use crate::engine::nodes::coerce::{json_string, parse_json};

fn items<'a>(arena: &'a Bump, json: &str) -> Vec<Item<'a>> {
    parse_json(arena, json)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Item::new(*v))
        .collect()
}

fn jsons(items: &[Item<'_>]) -> String {
    let values: Vec<String> = items.iter().map(|i| json_string(i.json)).collect();
    format!("[{}]", values.join(","))
}

fn spec<'p>(fields: Vec<(&'p str, &'p str)>, join: JoinMode, output: OutputFrom) -> FieldMatch<'p> {
    FieldMatch {
        fields,
        join,
        output,
        fuzzy: false,
        dot: true,
        first_match_only: false,
        merge: MergeOptions::default(),
    }
}

#[test]
fn enrich_input1_puts_matches_first_and_input2_wins_clashes() {
    let arena = Bump::new();
    let one = items(
        &arena,
        r#"[{"order":"o1","userId":1},{"order":"o2","userId":9},{"order":"o3","userId":2}]"#,
    );
    let two = items(
        &arena,
        r#"[{"id":1,"user":"ann"},{"id":2,"user":"bob","order":"clash"}]"#,
    );
    let out = combine_by_fields(
        &arena,
        &one,
        &two,
        &spec(
            vec![("userId", "id")],
            JoinMode::EnrichInput1,
            OutputFrom::Both,
        ),
    );
    assert_eq!(
        jsons(&out),
        r#"[{"order":"o1","userId":1,"id":1,"user":"ann"},{"order":"clash","userId":2,"id":2,"user":"bob"},{"order":"o2","userId":9}]"#
    );
}

#[test]
fn keep_everything_orders_matches_then_unmatched_of_each_input() {
    let arena = Bump::new();
    let one = items(&arena, r#"[{"sku":"A","qty":1},{"sku":"B","qty":2}]"#);
    let two = items(&arena, r#"[{"sku":"B","price":5},{"sku":"C","price":7}]"#);
    let out = combine_by_fields(
        &arena,
        &one,
        &two,
        &spec(
            vec![("sku", "sku")],
            JoinMode::KeepEverything,
            OutputFrom::Both,
        ),
    );
    assert_eq!(
        jsons(&out),
        r#"[{"sku":"B","qty":2,"price":5},{"sku":"A","qty":1},{"sku":"C","price":7}]"#
    );
}

#[test]
fn keep_non_matches_from_both_tags_the_source() {
    let arena = Bump::new();
    let one = items(&arena, r#"[{"k":"é"},{"k":2}]"#);
    let two = items(&arena, r#"[{"k":2},{"k":"😀"}]"#);
    let out = combine_by_fields(
        &arena,
        &one,
        &two,
        &spec(vec![("k", "k")], JoinMode::KeepNonMatches, OutputFrom::Both),
    );
    assert_eq!(
        jsons(&out),
        r#"[{"k":"é","_source":"input1"},{"k":"😀","_source":"input2"}]"#
    );
}

#[test]
fn types_must_match_unless_fuzzy_and_missing_fields_never_match() {
    let arena = Bump::new();
    let one = items(&arena, r#"[{"k":1},{}]"#);
    let two = items(&arena, r#"[{"k":"1"},{}]"#);
    let mut s = spec(vec![("k", "k")], JoinMode::KeepMatches, OutputFrom::Both);
    assert!(combine_by_fields(&arena, &one, &two, &s).is_empty());
    s.fuzzy = true;
    assert_eq!(
        jsons(&combine_by_fields(&arena, &one, &two, &s)),
        r#"[{"k":"1"}]"#
    );
}

#[test]
fn position_and_all_pairs_merge_with_input2_winning() {
    let arena = Bump::new();
    let one = items(
        &arena,
        r#"[{"k":"a1","same":"A"},{"k":"a2","same":"A"},{"k":"a3"}]"#,
    );
    let two = items(&arena, r#"[{"v":"b1","same":"B"},{"v":"b2"}]"#);
    let out = combine_by_position(&arena, &[&one, &two], 1, false, MergeOptions::default());
    assert_eq!(
        jsons(&out),
        r#"[{"k":"a1","same":"B","v":"b1"},{"k":"a2","same":"A","v":"b2"}]"#
    );
    let out = combine_by_position(&arena, &[&one, &two], 1, true, MergeOptions::default());
    assert_eq!(out.len(), 3);
    let three = items(&arena, r#"[{"same":"C","w":1}]"#);
    let out = combine_by_position(
        &arena,
        &[&one, &two, &three],
        0,
        false,
        MergeOptions::default(),
    );
    assert_eq!(jsons(&out), r#"[{"k":"a1","same":"A","v":"b1","w":1}]"#);
    let one = items(&arena, r#"[{"k":1,"a":true}]"#);
    let two = items(&arena, r#"[{"k":2},{"k":3,"b":true}]"#);
    let out = combine_all(&arena, &one, &two, MergeOptions::default());
    assert_eq!(
        jsons(&out),
        r#"[{"k":2,"a":true},{"k":3,"a":true,"b":true}]"#
    );
    assert!(combine_all(&arena, &one, &[], MergeOptions::default()).is_empty());
    let first = MergeOptions {
        clash: Clash::PreferInput1,
        deep: true,
    };
    let out = combine_all(&arena, &one, &two, first);
    assert_eq!(
        jsons(&out),
        r#"[{"k":1,"a":true},{"k":1,"b":true,"a":true}]"#
    );
}

#[test]
fn clash_options_choose_the_winner_and_depth() {
    let arena = Bump::new();
    let a = parse_json(&arena, r#"{"n":{"x":1,"y":1},"s":"a"}"#).unwrap();
    let b = parse_json(&arena, r#"{"n":{"y":2},"s":"b"}"#).unwrap();
    let deep = MergeOptions {
        clash: Clash::PreferInput2,
        deep: true,
    };
    assert_eq!(
        json_string(merge_pair(&arena, a, b, deep)),
        r#"{"n":{"x":1,"y":2},"s":"b"}"#
    );
    let shallow = MergeOptions {
        clash: Clash::PreferInput2,
        deep: false,
    };
    assert_eq!(
        json_string(merge_pair(&arena, a, b, shallow)),
        r#"{"n":{"y":2},"s":"b"}"#
    );
    let first = MergeOptions {
        clash: Clash::PreferInput1,
        deep: true,
    };
    assert_eq!(
        json_string(merge_pair(&arena, a, b, first)),
        r#"{"n":{"x":1,"y":1},"s":"a"}"#
    );
    let suffix = MergeOptions {
        clash: Clash::AddSuffix,
        deep: true,
    };
    assert_eq!(
        json_string(merge_pair(&arena, a, b, suffix)),
        r#"{"n_1":{"x":1,"y":1},"s_1":"a","n_2":{"y":2},"s_2":"b"}"#
    );
}

#[test]
fn field_matches_preferring_input1_start_from_input2() {
    let arena = Bump::new();
    let one = items(&arena, r#"[{"id":1,"v":"a"}]"#);
    let two = items(&arena, r#"[{"w":2,"id":1,"v":"b"}]"#);
    let mut s = spec(vec![("id", "id")], JoinMode::KeepMatches, OutputFrom::Both);
    s.merge.clash = Clash::PreferInput1;
    assert_eq!(
        jsons(&combine_by_fields(&arena, &one, &two, &s)),
        r#"[{"w":2,"id":1,"v":"a"}]"#
    );
}
