//! Runs the golden n8n cases (`../shared/reference/golden`) through the engine with the
//! test plan builder and the fake expression evaluator, and prints which cases match.
//! It asserts nothing about the pass rate (the workspace-level `tests/tests/golden.rs`
//! does that with the real compiler and evaluators); it checks only that every case runs
//! without a panic, and gives engine work a quick signal.

use std::path::PathBuf;

use bumpalo::Bump;
use serde_json::Value as Json;

use super::execution::Outcome;
use super::limits::Limits;
use super::runner::{run_request, RunRequest};
use super::test_support::{access, archive, plan_from_workflow, FakeServices};
use super::webhook::WebhookEnv;

fn golden_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/golden");
    dir.is_dir().then_some(dir)
}

#[test]
fn golden_cases_run_without_panicking() {
    let Some(dir) = golden_dir() else {
        println!("golden cases not found; skipped");
        return;
    };
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let (mut passed, mut total) = (0, 0);
    for path in paths {
        let case: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let bytes = archive(&plan_from_workflow(&case["workflow"]));
        let plan = access(&bytes);
        for (request, expected) in case["requests"]
            .as_array()
            .unwrap()
            .iter()
            .zip(case["expected"].as_array().unwrap())
        {
            total += 1;
            let request: RunRequest = serde_json::from_value(request.clone()).unwrap();
            let arena = Bump::new();
            let env = WebhookEnv {
                base_url: "http://127.0.0.1:5690/",
                webhook_url: None,
                config: super::execution::Config {
                    limits: Limits::default(),
                    execution_id: "1",
                    mode: "webhook",
                    started_ms: 0,
                    use_pin_data: false,
                },
            };
            let run = run_request(&arena, plan, &request, FakeServices { now_ms: 0 }, &env);
            let body: Json = if run.response.body.is_empty() {
                Json::String(String::new())
            } else {
                serde_json::from_slice(&run.response.body).unwrap_or(Json::Null)
            };
            let mut expected_body = expected["body"].clone();
            let mut body = body;
            for field in expected["ignore_body_fields"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let field = field.as_str().unwrap();
                expected_body.as_object_mut().map(|o| o.remove(field));
                body.as_object_mut().map(|o| o.remove(field));
            }
            let ok = run.response.status as u64 == expected["status"].as_u64().unwrap()
                && body == expected_body;
            if ok {
                passed += 1;
            }
            let name = path.file_stem().unwrap().to_string_lossy();
            let error = match &run.outcome {
                Outcome::Failed(e) => e.message.clone(),
                Outcome::Success => String::new(),
            };
            println!(
                "{} {name} {} {}",
                if ok { "PASS" } else { "FAIL" },
                run.response.status,
                error
            );
        }
    }
    println!("golden probe: {passed}/{total} requests match");
}
