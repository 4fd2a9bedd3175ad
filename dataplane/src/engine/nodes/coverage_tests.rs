//! Engine-level tests of the node kinds added for corpus coverage (Item Lists, Customer
//! Datastore, XML, HTML, Markdown ...): parameters as n8n exports them, input pinned on a
//! manual trigger, the outputs or the error of node `N`. Edge cases per kind: empty input,
//! missing fields, type mismatch, unicode.

use serde_json::json;

use super::transform_tests::{main_to, node, out0, run_flow_edited, run_single, Script};
use crate::engine::test_support::set_param;

// ---- Item Lists ----

#[test]
fn item_lists_defaults_to_split_out_items() {
    let out = out0(run_single(
        "itemLists",
        1.0,
        json!({"fieldToSplitOut": "tags", "options": {}}),
        json!([{"tags": ["é", "☃"]}]),
    ));
    assert_eq!(out, vec![json!({"tags": "é"}), json!({"tags": "☃"})]);
}

#[test]
fn item_lists_split_out_of_a_missing_field_gives_no_items() {
    let out = out0(run_single(
        "itemLists",
        3.0,
        json!({"operation": "splitOutItems", "fieldToSplitOut": "nope", "options": {}}),
        json!([{"a": 1}]),
    ));
    assert!(out.is_empty());
}

#[test]
fn item_lists_v1_aggregate_items_collects_a_field() {
    let params = json!({"operation": "aggregateItems",
        "fieldsToAggregate": {"fieldToAggregate": [{"fieldToAggregate": "n"}]}, "options": {}});
    let out = out0(run_single(
        "itemLists",
        1.0,
        params,
        json!([{"n": 1}, {"m": 2}, {"n": "ü"}, {"n": null}]),
    ));
    assert_eq!(out, vec![json!({"n": [1, "ü"]})]);
}

#[test]
fn item_lists_v1_all_item_data_reads_fixed_collection_field_lists() {
    let params = json!({"operation": "aggregateItems", "aggregate": "aggregateAllItemData",
        "destinationFieldName": "rows",
        "fieldsToExclude": {"fields": [{"fieldName": "secret"}]}});
    let out = out0(run_single(
        "itemLists",
        2.2,
        params,
        json!([{"a": 1, "secret": "x"}, {"secret": "y"}]),
    ));
    assert_eq!(out, vec![json!({"rows": [{"a": 1}]})]);
}

#[test]
fn item_lists_v3_concatenate_all_item_data_reads_comma_lists() {
    let params = json!({"operation": "concatenateItems", "aggregate": "aggregateAllItemData",
        "fieldsToInclude": "a, b", "include": "specifiedFields"});
    let out = out0(run_single(
        "itemLists",
        3.0,
        params,
        json!([{"a": 1, "c": 3}, {"b": "ß"}]),
    ));
    assert_eq!(out, vec![json!({"data": [{"a": 1}, {"b": "ß"}]})]);
}

#[test]
fn item_lists_concatenate_without_fields_fails_like_n8n() {
    let params = json!({"operation": "concatenateItems",
        "fieldsToAggregate": {"fieldToAggregate": []}, "options": {}});
    let error = run_single("itemLists", 3.1, params, json!([{"a": 1}])).unwrap_err();
    assert_eq!(error, "No fields specified");
}

#[test]
fn item_lists_v3_remove_duplicates_ignores_remove_duplicates_v2_operations() {
    // Item Lists 3.x is not Remove Duplicates 2: no "across executions" branch.
    let params = json!({"operation": "removeDuplicates", "compare": "allFields", "options": {}});
    let out = out0(run_single(
        "itemLists",
        3.1,
        params,
        json!([{"a": "ä"}, {"a": "ä"}, {"a": "b"}]),
    ));
    assert_eq!(out, vec![json!({"a": "ä"}), json!({"a": "b"})]);
}

#[test]
fn item_lists_remove_duplicates_type_mismatch_is_an_error() {
    let params = json!({"operation": "removeDuplicates", "compare": "selectedFields",
        "fieldsToCompare": {"fields": [{"fieldName": "a"}]}, "options": {}});
    let error = run_single("itemLists", 1.0, params, json!([{"a": "1"}, {"a": 1}])).unwrap_err();
    assert!(error.contains("isn't always the same type"), "{error}");
}

#[test]
fn item_lists_sort_and_limit() {
    let sort = json!({"operation": "sort",
        "sortFieldsUi": {"sortField": [{"fieldName": "n", "order": "descending"}]}, "options": {}});
    let out = out0(run_single(
        "itemLists",
        3.0,
        sort,
        json!([{"n": 1}, {"n": 3}, {"n": 2}]),
    ));
    assert_eq!(out, vec![json!({"n": 3}), json!({"n": 2}), json!({"n": 1})]);
    let limit = json!({"operation": "limit", "maxItems": 2, "keep": "lastItems"});
    let out = out0(run_single(
        "itemLists",
        1.0,
        limit,
        json!([{"n": 1}, {"n": 2}, {"n": 3}]),
    ));
    assert_eq!(out, vec![json!({"n": 2}), json!({"n": 3})]);
}

#[test]
fn item_lists_summarize_counts_per_group() {
    let params = json!({"operation": "summarize", "fieldsToSplitBy": "k",
        "fieldsToSummarize": {"values": [{"aggregation": "count", "field": "v"}]}, "options": {}});
    let out = out0(run_single(
        "itemLists",
        2.2,
        params,
        json!([{"k": "x", "v": 1}, {"k": "y", "v": 2}, {"k": "x", "v": 3}]),
    ));
    assert_eq!(
        out,
        vec![
            json!({"count_v": 2, "k": "x"}),
            json!({"count_v": 1, "k": "y"})
        ]
    );
}

#[test]
fn item_lists_empty_input_does_not_run_and_unknown_operation_fails() {
    // As in n8n, a node whose input has no items is not run at all.
    let run = run_single(
        "itemLists",
        3.0,
        json!({"operation": "limit", "maxItems": 1}),
        json!([]),
    );
    assert_eq!(run.unwrap_err(), "N did not run");
    let error = run_single(
        "itemLists",
        3.0,
        json!({"operation": "pivot"}),
        json!([{"a": 1}]),
    )
    .unwrap_err();
    assert_eq!(error, "Operation 'pivot' is not recognized");
}

// ---- Customer Datastore (n8n training) ----

#[test]
fn customer_datastore_get_one_person_per_input_item() {
    let out = out0(run_single(
        "n8nTrainingCustomerDatastore",
        1.0,
        json!({}),
        json!([{}, {}]),
    ));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["name"], "Jay Gatsby");
    assert_eq!(out[1]["id"], "23423532");
}

#[test]
fn customer_datastore_get_all_people_honours_limit_and_return_all() {
    let all = out0(run_single(
        "n8nTrainingCustomerDatastore",
        1.0,
        json!({"operation": "getAllPeople", "returnAll": true}),
        json!([{}]),
    ));
    assert_eq!(all.len(), 5);
    assert_eq!(all[3]["country"], json!(null));
    assert_eq!(all[1]["name"], "José Arcadio Buendía");
    let limited = out0(run_single(
        "n8nTrainingCustomerDatastore",
        1.0,
        json!({"operation": "getAllPeople", "limit": 2}),
        json!([{}]),
    ));
    assert_eq!(limited.len(), 2);
    let default_limit = out0(run_single(
        "n8nTrainingCustomerDatastore",
        1.0,
        json!({"operation": "getAllPeople"}),
        json!([{}]),
    ));
    assert_eq!(default_limit.len(), 5);
}

// ---- XML ----

#[test]
fn xml_to_json_replaces_the_item_with_the_parsed_document() {
    let out = out0(run_single(
        "xml",
        1.0,
        json!({"options": {}}),
        json!([{"data": "<r a=\"1\"><x>é</x><x>☃</x></r>", "other": 1}]),
    ));
    assert_eq!(out, vec![json!({"r": {"a": "1", "x": ["é", "☃"]}})]);
}

#[test]
fn xml_to_json_missing_property_and_bad_xml_fail() {
    let error = run_single("xml", 1.0, json!({}), json!([{"x": 1}])).unwrap_err();
    assert_eq!(error, "No json property \"data\" does not exists on item!");
    let error = run_single("xml", 1.0, json!({}), json!([{"data": 42}])).unwrap_err();
    assert!(
        error.starts_with("Non-whitespace before first tag."),
        "{error}"
    );
}

#[test]
fn xml_to_json_with_continue_on_fail_drops_the_failing_item() {
    let mut n = super::transform_tests::node("N", "xml", 1.0, json!({}));
    n["continueOnFail"] = json!(true);
    let out = out0(super::transform_tests::run_flow(
        vec![n],
        json!({"Start": super::transform_tests::main_to("N")}),
        json!([{"data": "<a>1</a>"}, {"data": "<a>"}]),
        super::transform_tests::Script::None,
    ));
    assert_eq!(out, vec![json!({"a": "1"})]);
}

#[test]
fn json_to_xml_writes_the_item_under_the_property() {
    let out = out0(run_single(
        "xml",
        1.0,
        json!({"mode": "jsonToxml", "dataPropertyName": "xml", "options": {"headless": true}}),
        json!([{"person": {"name": "Zoë", "age": 3}}, {}]),
    ));
    assert_eq!(
        out,
        vec![
            json!({"xml": "<person>\n  <name>Zoë</name>\n  <age>3</age>\n</person>"}),
            json!({"xml": "<root/>"})
        ]
    );
}

// ---- HTML ----

#[test]
fn html_table_of_no_items_is_no_output_and_default_styles_apply() {
    let params = json!({"operation": "convertToHtmlTable", "options": {}});
    let run = run_single("html", 1.2, params.clone(), json!([]));
    assert_eq!(run.unwrap_err(), "N did not run");
    let out = out0(run_single(
        "html",
        1.2,
        params,
        json!([{"a": null}, {"b": "ü"}]),
    ));
    let table = out[0]["table"].as_str().unwrap();
    assert!(
        table.starts_with("<table style='border-spacing:0;"),
        "{table}"
    );
    assert!(table.contains("<th>a</th><th>b</th>"), "{table}");
    // Missing keys print as JavaScript's `undefined`, null as `null`.
    assert!(table.contains(">null</td>"), "{table}");
    assert!(table.contains(">undefined</td>"), "{table}");
    assert!(table.contains(">ü</td>"), "{table}");
}

#[test]
fn html_template_without_segments_and_unknown_operation() {
    let out = out0(run_single(
        "html",
        1.0,
        json!({"html": "<p>é</p>"}),
        json!([{}, {}]),
    ));
    assert_eq!(
        out,
        vec![json!({"html": "<p>é</p>"}), json!({"html": "<p>é</p>"})]
    );
    let out = out0(run_single("html", 1.0, json!({}), json!([{}])));
    assert_eq!(out, vec![json!({"html": ""})]);
    // The codec refuses `extractHtmlContent`; a plan that holds it anyway fails cleanly.
    let error = run_flow_edited(
        vec![node(
            "N",
            "html",
            1.2,
            json!({"operation": "generateHtmlTemplate"}),
        )],
        json!({"Start": main_to("N")}),
        json!([{}]),
        Script::None,
        |plan| set_param(plan, "N", "operation", "extractHtmlContent"),
    )
    .unwrap_err();
    assert!(error.contains("not supported"), "{error}");
}
