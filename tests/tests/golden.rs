//! The golden n8n cases (`../shared/reference/golden`): every request of every case runs
//! through `linkflow run`'s code path ([`local::run`], a library call: the data plane's
//! effect code on a shard of its own, here without network and on a fixed clock, so the
//! cases stay deterministic) and must give
//! n8n 1.123.81's status and body (JSON equality, minus `ignore_body_fields`). Where a
//! case records a trace, the node runs (order, run index, items per output, error
//! message), `lastNodeExecuted` and the execution status must match too.
//!
//! Prints one line per request and asserts the bar: at least 95 % of the requests
//! match. Requests listed in [`EXPECTED_FAILURES`] are reported, not hidden.

use std::path::PathBuf;

use linkflow_dataplane::engine::execution::Outcome;
use linkflow_dataplane::engine::runner::{body_json, RunOutput, RunRequest};
use linkflow_dataplane::engine::services::EngineServices;
use linkflow_dataplane::engine::webhook::WebhookRun;
use linkflow_dataplane::shard::clock::TimeBase;
use linkflow_dataplane::shard::local::{self, LocalRun};
use serde_json::Value as Json;

/// The bar of issue #3.
const PASS_RATE_MIN: f64 = 0.95;
/// `WEBHOOK_URL` of the recording.
const BASE_URL: &str = "http://127.0.0.1:5690/";
/// A fixed clock: no golden output depends on it (the README says so).
const NOW_MS: i64 = 1_735_689_600_000;

/// Cases known to differ, with the reason (case name, request index, why).
const EXPECTED_FAILURES: &[(&str, usize, &str)] = &[];

fn golden_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/golden");
    dir.is_dir().then_some(dir)
}

/// Removes the top-level keys n8n's stack traces put in bodies.
fn strip(mut body: Json, fields: &Json) -> Json {
    for field in fields
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
    {
        if let Some(object) = body.as_object_mut() {
            object.remove(field);
        }
    }
    body
}

/// Compares `run` with one `expected` entry; returns the first difference.
fn compare(run: &WebhookRun, expected: &Json) -> Result<(), String> {
    let status = u64::from(run.response.status);
    if Some(status) != expected["status"].as_u64() {
        return Err(format!("status {status} != {}", expected["status"]));
    }
    let ignore = &expected["ignore_body_fields"];
    let body = strip(body_json(&run.response.body), ignore);
    let want = strip(expected["body"].clone(), ignore);
    if body != want {
        return Err(format!("body {} != {}", short(&body), short(&want)));
    }
    let Some(trace) = expected.get("trace") else {
        return Ok(());
    };
    let failed = matches!(run.outcome, Outcome::Failed(_));
    let want_status = trace["status"].as_str().unwrap_or("success");
    if failed != (want_status == "error") {
        return Err(format!(
            "execution status {} != {want_status}",
            if failed { "error" } else { "success" }
        ));
    }
    if let Some(last) = trace["lastNodeExecuted"].as_str() {
        if run.last_node.as_deref() != Some(last) {
            return Err(format!("lastNodeExecuted {:?} != {last}", run.last_node));
        }
    }
    let nodes = trace["nodes"].as_array().cloned().unwrap_or_default();
    if nodes.len() != run.trace.len() {
        let got: Vec<String> = run
            .trace
            .iter()
            .map(|t| format!("{}#{}", t.node, t.run))
            .collect();
        return Err(format!(
            "{} node runs {:?} != {}",
            run.trace.len(),
            got,
            nodes.len()
        ));
    }
    for (got, want) in run.trace.iter().zip(&nodes) {
        let outputs: Vec<Json> = got
            .outputs
            .iter()
            .map(|o| o.map_or(Json::Null, |n| Json::from(n as u64)))
            .collect();
        let same = want["node"].as_str() == Some(got.node.as_str())
            && want["run"].as_u64() == Some(u64::from(got.run))
            && want["outputs"].as_array().is_some_and(|w| *w == outputs)
            && want["error"].as_str() == got.error.as_deref();
        if !same {
            return Err(format!(
                "trace {}#{} {:?} {:?} != {}",
                got.node,
                got.run,
                got.outputs,
                got.error,
                short(want)
            ));
        }
    }
    Ok(())
}

fn short(value: &Json) -> String {
    let text = value.to_string();
    if text.len() > 160 {
        format!(
            "{}…",
            &text[..text.char_indices().nth(160).map_or(text.len(), |(i, _)| i)]
        )
    } else {
        text
    }
}

#[test]
fn golden_cases_match_n8n() {
    let Some(dir) = golden_dir() else {
        println!("skipped: ../shared/reference/golden not found");
        return;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let (mut passed, mut total) = (0usize, 0usize);
    let mut unexpected = Vec::new();
    println!("{:<48} {:>3}  result", "case", "req");
    for path in &paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let case: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let requests = case["requests"].as_array().cloned().unwrap_or_default();
        let expected = case["expected"].as_array().cloned().unwrap_or_default();
        for (index, (request, want)) in requests.iter().zip(&expected).enumerate() {
            total += 1;
            let request: RunRequest =
                serde_json::from_value(request.clone()).expect("request shape");
            let services = EngineServices::with_js(NOW_MS).expect("JavaScript runtime");
            let options = LocalRun {
                outbound: None,
                time: TimeBase::Fixed(NOW_MS),
                ..LocalRun::new(BASE_URL)
            };
            let result = match local::run(&case["workflow"], Some(&request), services, options) {
                Ok(RunOutput::Webhook(run)) => compare(&run, want),
                Ok(RunOutput::Manual(_)) => Err("manual run for a webhook case".to_owned()),
                Err(error) => Err(error),
            };
            let known = EXPECTED_FAILURES
                .iter()
                .find(|(n, i, _)| *n == name && *i == index);
            match (&result, known) {
                (Ok(()), _) => {
                    passed += 1;
                    println!("{name:<48} {index:>3}  pass");
                }
                (Err(why), Some((_, _, reason))) => {
                    println!("{name:<48} {index:>3}  FAIL (expected: {reason}) {why}")
                }
                (Err(why), None) => {
                    println!("{name:<48} {index:>3}  FAIL {why}");
                    unexpected.push(format!("{name}[{index}]"));
                }
            }
        }
    }
    let rate = passed as f64 / total.max(1) as f64;
    println!(
        "golden: {passed}/{total} requests match ({:.1} %)",
        rate * 100.0
    );
    println!("unexpected failures: {unexpected:?}");
    assert!(total > 0, "no golden requests found in {}", dir.display());
    assert!(
        rate >= PASS_RATE_MIN,
        "golden pass rate {:.1} % is below {:.0} %",
        rate * 100.0,
        PASS_RATE_MIN * 100.0
    );
}
