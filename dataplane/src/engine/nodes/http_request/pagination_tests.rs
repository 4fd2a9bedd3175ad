//! Pagination driven by a fake effect performer (a closure answering by URL) and the real
//! expression services (the pagination expressions run in JavaScript).

use bumpalo::Bump;
use serde_json::{json, Value as Json};

use crate::engine::execution::{Config, Effect, Execution, Outcome, Start};
use crate::engine::item::Item;
use crate::engine::node::{EffectResult, HttpResponse};
use crate::engine::nodes::trigger::manual_item;
use crate::engine::services::EngineServices;
use crate::engine::test_support::{access, archive, plan_from_workflow};

/// One request as the performer saw it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Seen {
    pub method: String,
    pub url: String,
    /// The URL messages and logs show.
    pub shown_url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What a run produced: node N's items (or its error code and message), the requests,
/// and the timers asked for.
pub(super) struct Paged {
    pub result: Result<Vec<Json>, (String, String)>,
    pub seen: Vec<Seen>,
    pub timers: Vec<i64>,
}

/// A page: status, content type, body.
pub(super) type Page = (u16, &'static str, String);

fn run(version: f64, params: Json, answer: impl Fn(usize, &Seen) -> Page) -> Paged {
    run_items(version, params, json!({}), json!([{"id": 1}]), answer)
}

/// `run` with node settings (merged into the node) and the trigger's items.
fn run_items(
    version: f64,
    params: Json,
    settings: Json,
    items: Json,
    answer: impl Fn(usize, &Seen) -> Page,
) -> Paged {
    run_full(version, params, settings, items, None, answer)
}

/// The harness: node N (HTTP Request `version`) after a pinned trigger holding `items`,
/// real expression services with `credentials`, and `answer` as the effect performer.
pub(super) fn run_full(
    version: f64,
    params: Json,
    settings: Json,
    items: Json,
    credentials: Option<crate::engine::credentials::CredentialMap>,
    answer: impl Fn(usize, &Seen) -> Page,
) -> Paged {
    let mut node = json!({"name": "N", "type": "n8n-nodes-base.httpRequest",
        "typeVersion": version, "position": [200, 0], "parameters": params});
    for (key, value) in settings.as_object().expect("object") {
        node[key] = value.clone();
    }
    let pinned: Vec<Json> = items
        .as_array()
        .expect("array")
        .iter()
        .map(|j| json!({"json": j}))
        .collect();
    let wf = json!({"settings": {"executionOrder": "v1"},
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
             "position": [0, 0], "parameters": {}},
            node],
        "pinData": {"Start": pinned},
        "connections": {"Start": {"main": [[{"node": "N", "type": "main", "index": 0}]]}}});
    let bytes = archive(&plan_from_workflow(&wf));
    let plan = access(&bytes);
    let arena = Bump::new();
    // Manual mode: default limits, pinData applies.
    let config = Config::new("manual", "1", 0);
    let start = Start {
        node: 0,
        items: manual_item(&arena),
    };
    let mut services = EngineServices::with_js(1_000).expect("js");
    if let Some(credentials) = credentials {
        services = services.with_credentials(Box::new(credentials));
    }
    let mut exec = Execution::new(&arena, plan, start, services, config);
    let mut seen = Vec::new();
    let mut timers = Vec::new();
    let outcome = loop {
        match exec.poll(1_000) {
            Effect::Done(outcome) => break outcome,
            Effect::HttpCall { node, request } => {
                let request = Seen {
                    method: request.method.to_owned(),
                    url: request.url.to_owned(),
                    shown_url: request.shown_url().to_owned(),
                    headers: request
                        .headers
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    body: String::from_utf8_lossy(request.body).into_owned(),
                };
                let (status, content_type, body) = answer(seen.len(), &request);
                seen.push(request);
                let headers = arena.alloc_slice_copy(&[("content-type", content_type)]);
                let body = arena.alloc_slice_copy(body.as_bytes());
                let response = HttpResponse {
                    status,
                    headers,
                    body,
                };
                exec.complete(node, EffectResult::Http(response));
            }
            Effect::Timer { node, at_ms } => {
                timers.push(at_ms);
                exec.complete(node, EffectResult::TimerFired);
            }
            other => panic!("unexpected effect {other:?}"),
        }
    };
    let result = match outcome {
        Outcome::Failed(e) => Err((e.code.to_owned(), e.message)),
        _ => {
            let run = exec.runs(1).last().expect("N ran");
            Ok(run.outputs[0]
                .unwrap_or(&[])
                .iter()
                .map(|i: &Item<'_>| i.json.to_json())
                .collect())
        }
    };
    Paged {
        result,
        seen,
        timers,
    }
}

pub(super) fn json_page(body: Json) -> Page {
    (200, "application/json", body.to_string())
}

fn urls(paged: &Paged) -> Vec<&str> {
    paged.seen.iter().map(|s| s.url.as_str()).collect()
}

fn with_pagination(pagination: Json) -> Json {
    json!({"method": "GET", "url": "https://api.test/items", "sendQuery": true,
        "queryParameters": {"parameters": [{"name": "limit", "value": "2"}]},
        "options": {"pagination": {"pagination": pagination}}})
}

#[test]
fn next_url_mode_follows_links_until_the_complete_expression_holds() {
    let params = with_pagination(json!({
        "paginationMode": "responseContainsNextURL",
        "nextURL": "={{ $response.body.links.next }}",
        "paginationCompleteWhen": "other",
        "completeExpression": "={{ $response.body.links.next === null }}"}));
    let paged = run(4.2, params, |n, _| {
        let next = if n < 2 {
            json!(format!("https://api.test/items?page={}", n + 2))
        } else {
            Json::Null
        };
        json_page(json!({"page": n + 1, "links": {"next": next}}))
    });
    // The query of the first request stays on every page (n8n merges it in).
    assert_eq!(
        urls(&paged),
        [
            "https://api.test/items?limit=2",
            "https://api.test/items?page=2&limit=2",
            "https://api.test/items?page=3&limit=2"
        ]
    );
    let items = paged.result.expect("ok");
    assert_eq!(
        items.iter().map(|i| i["page"].clone()).collect::<Vec<_>>(),
        [json!(1), json!(2), json!(3)]
    );
}

#[test]
fn parameter_mode_updates_the_query_and_stops_on_an_empty_response() {
    let params = with_pagination(json!({
        "parameters": {"parameters": [{"name": "page", "value": "={{ $pageCount + 1 }}"}]}}));
    let paged = run(4.2, params, |n, _| {
        json_page(if n < 2 {
            json!([{"n": n * 2}, {"n": n * 2 + 1}])
        } else {
            json!([])
        })
    });
    assert_eq!(
        urls(&paged),
        [
            "https://api.test/items?limit=2&page=1",
            "https://api.test/items?limit=2&page=2",
            "https://api.test/items?limit=2&page=3"
        ]
    );
    assert_eq!(
        paged.result.expect("ok"),
        [
            json!({"n": 0}),
            json!({"n": 1}),
            json!({"n": 2}),
            json!({"n": 3})
        ]
    );
}

#[test]
fn response_is_empty_counts_an_empty_object_as_not_empty() {
    // n8n's test is `Array.isArray(body) ? body.length : !!body`: `{}` is truthy, so only
    // the page limit ends this one.
    let params = with_pagination(json!({
        "parameters": {"parameters": [{"name": "page", "value": "={{ $pageCount }}"}]},
        "limitPagesFetched": true, "maxRequests": 3}));
    let paged = run(4.2, params, |n, _| json_page(json!({"n": n})));
    assert_eq!(paged.seen.len(), 3);
    assert_eq!(paged.result.expect("ok").len(), 3);
}

#[test]
fn specific_status_codes_end_the_loop_and_that_page_is_kept() {
    let params = with_pagination(json!({
        "parameters": {"parameters": [{"name": "page", "value": "={{ $pageCount + 1 }}"}]},
        "paginationCompleteWhen": "receiveSpecificStatusCodes",
        "statusCodesWhenComplete": "404, 410"}));
    let paged = run(4.2, params, |n, _| {
        if n < 2 {
            json_page(json!({"n": n}))
        } else {
            (404, "application/json", r#"{"error":"gone"}"#.to_owned())
        }
    });
    assert_eq!(paged.seen.len(), 3);
    assert_eq!(
        paged.result.expect("ok"),
        [json!({"n": 0}), json!({"n": 1}), json!({"error": "gone"})]
    );
}

#[test]
fn a_failing_page_with_more_to_come_fails_the_node() {
    let params = with_pagination(json!({
        "parameters": {"parameters": [{"name": "page", "value": "={{ $pageCount + 1 }}"}]},
        "paginationCompleteWhen": "receiveSpecificStatusCodes",
        "statusCodesWhenComplete": "404"}));
    let paged = run(4.2, params, |n, _| {
        if n == 0 {
            json_page(json!({"n": 0}))
        } else {
            (500, "text/plain", "boom".to_owned())
        }
    });
    let (code, message) = paged.result.expect_err("fails");
    assert_eq!(code, super::pagination::CODE_PAGE_STATUS);
    assert_eq!(message, "500 - \"boom\"");
}

#[test]
fn identical_responses_stop_the_loop_like_n8n() {
    let params = with_pagination(json!({
        "parameters": {"parameters": [{"name": "page", "value": "={{ $pageCount + 1 }}"}]}}));
    let paged = run(4.2, params, |_, _| json_page(json!({"same": true})));
    let (code, message) = paged.result.expect_err("fails");
    assert_eq!(code, super::pagination::CODE_IDENTICAL);
    assert!(message.contains("identical 5x"), "{message}");
    assert_eq!(paged.seen.len(), 4);
}

#[test]
fn the_page_limit_is_a_clean_error() {
    let params = with_pagination(json!({
        "parameters": {"parameters": [{"name": "page", "value": "={{ $pageCount + 1 }}"}]}}));
    let paged = run(4.2, params, |n, _| json_page(json!({"n": n})));
    let (code, _) = paged.result.expect_err("fails");
    assert_eq!(code, super::pagination::CODE_PAGES);
    assert_eq!(paged.seen.len(), super::pagination::PAGES_MAX as usize);
}

#[test]
fn request_interval_waits_between_pages_and_body_and_header_parameters_apply() {
    let params = json!({"method": "POST", "url": "https://api.test/search", "sendBody": true,
        "bodyParameters": {"parameters": [{"name": "q", "value": "x"}]},
        "options": {"pagination": {"pagination": {
            "parameters": {"parameters": [
                {"type": "body", "name": "offset", "value": "={{ $pageCount * 10 }}"},
                {"type": "headers", "name": "x-page", "value": "={{ $pageCount }}"}]},
            "requestInterval": 250,
            "limitPagesFetched": true, "maxRequests": "={{ 2 }}"}}}});
    let paged = run(4.2, params, |n, _| json_page(json!([{"n": n}])));
    assert_eq!(
        paged
            .seen
            .iter()
            .map(|s| s.body.as_str())
            .collect::<Vec<_>>(),
        [r#"{"q":"x","offset":0}"#, r#"{"q":"x","offset":10}"#]
    );
    assert!(paged.seen[1]
        .headers
        .contains(&("x-page".to_owned(), "1".to_owned())));
    // One wait between the two pages, none after the last.
    assert_eq!(paged.timers, [1_250]);
}

#[test]
fn bad_settings_are_clear_errors() {
    let empty_complete = with_pagination(json!({"paginationCompleteWhen": "other",
        "completeExpression": "", "parameters": {"parameters": [{"name": "p", "value": "1"}]}}));
    let paged = run(4.2, empty_complete, |_, _| json_page(json!([])));
    let (code, message) = paged.result.expect_err("fails");
    assert_eq!(code, super::pagination::CODE_SETTINGS);
    assert_eq!(message, "Invalid or empty Complete Expression");
    assert!(paged.seen.is_empty());
    let unnamed = with_pagination(json!({"parameters": {"parameters": [
        {"name": "p", "value": "1"}, {"name": "", "value": "2"}]}}));
    let (code, message) = run(4.2, unnamed, |_, _| json_page(json!([])))
        .result
        .expect_err("fails");
    assert_eq!(code, super::pagination::CODE_SETTINGS);
    assert!(message.contains("parameter [2]"), "{message}");
    let bad_url = with_pagination(json!({"paginationMode": "responseContainsNextURL",
        "nextURL": "={{ 'not a url' }}"}));
    let (code, _) = run(4.2, bad_url, |_, _| json_page(json!([])))
        .result
        .expect_err("fails");
    assert_eq!(code, super::pagination::CODE_SETTINGS);
}

#[test]
fn pagination_off_and_older_versions_make_one_request() {
    let off = with_pagination(json!({"paginationMode": "off"}));
    let paged = run(4.2, off, |_, _| json_page(json!([{"a": 1}])));
    assert_eq!(paged.seen.len(), 1);
    assert_eq!(paged.result.expect("ok"), [json!({"a": 1})]);
    // v1/v2 have no such option: one request.
    let old = json!({"requestMethod": "GET", "url": "https://api.test/items",
        "options": {"pagination": {"pagination": {"paginationMode": "responseContainsNextURL"}}}});
    let paged = run(1.0, old, |_, _| json_page(json!({"a": 2})));
    assert_eq!(paged.seen.len(), 1);
    assert_eq!(paged.result.expect("ok"), [json!({"a": 2})]);
}

#[test]
fn each_input_item_paginates_on_its_own_with_continue_on_fail() {
    // Two input items; the first item's pages fail on page 2, continue-on-fail keeps an
    // error item for it and the second item paginates from page 1 again.
    let params = json!({"method": "GET", "url": "https://api.test/items", "sendQuery": true,
        "queryParameters": {"parameters": [{"name": "id", "value": "={{ $json.id }}"}]},
        "options": {"pagination": {"pagination": {
            "parameters": {"parameters": [{"name": "page", "value": "={{ $pageCount + 1 }}"}]},
            "paginationCompleteWhen": "receiveSpecificStatusCodes",
            "statusCodesWhenComplete": "204"}}}});
    let paged = run_items(
        4.2,
        params,
        json!({"onError": "continueRegularOutput"}),
        json!([{"id": 1}, {"id": 2}]),
        |_, seen| {
            let page = seen.url.rsplit('=').next().unwrap_or("").to_owned();
            match (seen.url.contains("id=1"), page.as_str()) {
                (true, "2") => (500, "text/plain", "boom".to_owned()),
                (_, "3") => (204, "application/json", String::new()),
                (_, page) => json_page(json!({"id": seen.url.contains("id=1"), "page": page})),
            }
        },
    );
    assert_eq!(
        urls(&paged),
        [
            "https://api.test/items?id=1&page=1",
            "https://api.test/items?id=1&page=2",
            "https://api.test/items?id=2&page=1",
            "https://api.test/items?id=2&page=2",
            "https://api.test/items?id=2&page=3"
        ]
    );
    let items = paged.result.expect("continues");
    assert_eq!(items.len(), 4, "{items:?}");
    assert_eq!(items[0]["error"]["message"], json!("500 - \"boom\""));
    assert_eq!(items[1], json!({"id": false, "page": "1"}));
    assert_eq!(items[2], json!({"id": false, "page": "2"}));
    // The 204 page (empty body) ends item 2 and adds its (empty) response.
    assert_eq!(items[3], json!({}));
}
