//! Workflows the benchmarks generate (deterministically, so every run measures the same
//! plan): the transform chain (criterion benches, the `transform-20` scenario, plan-deploy
//! load), the schedule-triggered workflow and the HTTP Request workflow calling an echo
//! server.
//!
//! The public API is plain functions returning n8n workflow JSON (`serde_json::Value`);
//! callers compile it with `linkflow_codec::compile_export` when they need a plan.

use serde_json::{json, Map, Value};

/// Fewest nodes of [`transform_workflow`]: the webhook, one step and the response.
pub const TRANSFORM_NODES_MIN: usize = 3;
/// Most nodes of [`transform_workflow`]. Why: bounds generation time and plan size; the
/// largest plan measured has 500 nodes.
pub const TRANSFORM_NODES_MAX: usize = 10_000;

/// Webhook path of [`transform_workflow`] with `nodes` nodes (`t20` for 20 nodes).
pub fn transform_path(nodes: usize) -> String {
    format!("t{nodes}")
}

/// `nodes` nodes in total: Webhook (`POST /webhook/t<nodes>`, response node mode) ->
/// `nodes - 2` transform nodes (Set v3.4 arithmetic and strings, If v2.2, Filter v2.2,
/// NoOp, in rotation; fast-path expressions only) -> Respond to Webhook (all incoming
/// items).
///
/// `version` goes into the workflow name only: each version compiles to a different plan
/// (the plan id is the content hash) that executes the same way, which is what a
/// deploy benchmark needs to make a node really install every deploy. Version 0 is the
/// plain name `transform-<nodes>`.
///
/// Panics when `nodes` is outside `TRANSFORM_NODES_MIN..=TRANSFORM_NODES_MAX`
/// (a benchmark configuration error).
pub fn transform_workflow(nodes: usize, version: u64) -> Value {
    assert!(
        (TRANSFORM_NODES_MIN..=TRANSFORM_NODES_MAX).contains(&nodes),
        "a transform chain has {TRANSFORM_NODES_MIN}..={TRANSFORM_NODES_MAX} nodes, not {nodes}"
    );
    let path = transform_path(nodes);
    let mut list = vec![
        json!({"id": format!("t{nodes}-webhook"), "name": "Webhook", "type": "n8n-nodes-base.webhook",
        "typeVersion": 2, "position": [0, 0], "webhookId": format!("00000000-0000-4000-8000-{nodes:012}"),
        "parameters": {"httpMethod": "POST", "path": path, "responseMode": "responseNode", "options": {}}}),
    ];
    let mut connections = Map::new();
    let mut previous = "Webhook".to_owned();
    for i in 0..nodes - 2 {
        let mut node = match i % 4 {
            0 => {
                json!({"type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {"mode": "manual",
                "includeOtherFields": true, "options": {}, "assignments": {"assignments": [
                {"id": format!("n{i}"), "name": format!("n{i}"), "value": format!("={{{{ ($json.body.a || 0) + {i} }}}}"), "type": "number"},
                {"id": format!("s{i}"), "name": format!("s{i}"), "value": "={{ $json.body.name }}", "type": "string"}]}}})
            }
            1 => {
                json!({"type": "n8n-nodes-base.if", "typeVersion": 2.2, "parameters": {"options": {}, "conditions": {
                "options": {"caseSensitive": true, "leftValue": "", "typeValidation": "strict", "version": 2}, "combinator": "and",
                "conditions": [{"id": format!("c{i}"), "leftValue": format!("={{{{ $json.n{} }}}}", i - 1), "rightValue": 0,
                    "operator": {"type": "number", "operation": "gte"}}]}}})
            }
            2 => {
                json!({"type": "n8n-nodes-base.filter", "typeVersion": 2.2, "parameters": {"options": {}, "conditions": {
                "options": {"caseSensitive": true, "leftValue": "", "typeValidation": "strict", "version": 2}, "combinator": "and",
                "conditions": [{"id": format!("f{i}"), "leftValue": "={{ $json.body.name }}", "rightValue": "",
                    "operator": {"type": "string", "operation": "notEmpty", "singleValue": true}}]}}})
            }
            _ => json!({"type": "n8n-nodes-base.noOp", "typeVersion": 1, "parameters": {}}),
        };
        let name = format!("Step {i}");
        node["name"] = json!(name);
        node["id"] = json!(format!("t{nodes}-{i}"));
        node["position"] = json!([200 * (i + 1), 0]);
        list.push(node);
        connections.insert(
            previous,
            json!({"main": [[{"node": name, "type": "main", "index": 0}]]}),
        );
        previous = name;
    }
    list.push(json!({"id": format!("t{nodes}-respond"), "name": "Respond", "type": "n8n-nodes-base.respondToWebhook",
        "typeVersion": 1.1, "position": [200 * nodes, 0], "parameters": {"respondWith": "allIncomingItems", "options": {}}}));
    connections.insert(
        previous,
        json!({"main": [[{"node": "Respond", "type": "main", "index": 0}]]}),
    );
    let name = if version == 0 {
        format!("transform-{nodes}")
    } else {
        format!("transform-{nodes} v{version}")
    };
    json!({"id": format!("transform{nodes}"), "name": name, "settings": {"executionOrder": "v1"},
        "nodes": list, "connections": connections})
}

/// Schedule Trigger every `seconds` -> Set (two expressions) -> NoOp: a typical
/// housekeeping workflow, cheap per fire so the scenario measures the scheduler.
pub fn every_seconds(seconds: u32) -> Value {
    assert!(seconds >= 1, "a schedule needs an interval of at least 1 s");
    json!({"id": "sched", "name": "schedule", "settings": {"executionOrder": "v1"}, "nodes": [
        {"id": "s-trigger", "name": "Schedule Trigger", "type": "n8n-nodes-base.scheduleTrigger", "typeVersion": 1.2,
         "position": [0, 0], "parameters": {"rule": {"interval": [{"field": "seconds", "secondsInterval": seconds}]}}},
        {"id": "s-set", "name": "Stamp", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [200, 0],
         "parameters": {"mode": "manual", "includeOtherFields": true, "options": {}, "assignments": {"assignments": [
            {"id": "a", "name": "fired", "value": "={{ $json.timestamp }}", "type": "string"},
            {"id": "b", "name": "n", "value": "={{ 40 + 2 }}", "type": "number"}]}}},
        {"id": "s-noop", "name": "Done", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [400, 0], "parameters": {}}],
        "connections": {
            "Schedule Trigger": {"main": [[{"node": "Stamp", "type": "main", "index": 0}]]},
            "Stamp": {"main": [[{"node": "Done", "type": "main", "index": 0}]]}}})
}

/// Webhook path of [`http_echo_workflow`].
pub const HTTP_ECHO_PATH: &str = "call-echo";

/// Webhook (`POST /webhook/call-echo`, response node mode) -> HTTP Request v4.2 (`POST
/// echo_url`, the webhook's JSON body as the JSON body) -> Respond to Webhook (first
/// incoming item): with an echo server at `echo_url`, the answer is the request's body.
pub fn http_echo_workflow(echo_url: &str) -> Value {
    json!({"id": "http-echo", "name": "http-request-echo", "settings": {"executionOrder": "v1"}, "nodes": [
        {"id": "e-webhook", "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
         "position": [0, 0], "webhookId": "00000000-0000-4000-8000-0000000000ec",
         "parameters": {"httpMethod": "POST", "path": HTTP_ECHO_PATH, "responseMode": "responseNode", "options": {}}},
        {"id": "e-call", "name": "Call echo", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
         "position": [200, 0], "parameters": {"method": "POST", "url": echo_url, "sendBody": true,
            "contentType": "json", "specifyBody": "json", "jsonBody": "={{ $json.body }}", "options": {}}},
        {"id": "e-respond", "name": "Respond", "type": "n8n-nodes-base.respondToWebhook", "typeVersion": 1.1,
         "position": [400, 0], "parameters": {"respondWith": "firstIncomingItem", "options": {}}}],
        "connections": {
            "Webhook": {"main": [[{"node": "Call echo", "type": "main", "index": 0}]]},
            "Call echo": {"main": [[{"node": "Respond", "type": "main", "index": 0}]]}}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_workflows_compile_with_the_codec() {
        for (workflow, nodes) in [
            (transform_workflow(20, 0), 20),
            (
                transform_workflow(TRANSFORM_NODES_MIN, 1),
                TRANSFORM_NODES_MIN,
            ),
            (every_seconds(1), 3),
            (http_echo_workflow("http://127.0.0.1:9/echo"), 3),
        ] {
            let bytes = serde_json::to_vec(&workflow).unwrap();
            let sealed = linkflow_codec::compile_export(&bytes)
                .unwrap_or_else(|e| panic!("{} compiles: {e:?}", workflow["name"]));
            let plan = linkflow_codec::envelope::open(&sealed.bytes).unwrap();
            assert_eq!(plan.nodes.len(), nodes);
            assert_eq!(plan.triggers.len(), 1);
        }
    }

    #[test]
    fn generation_is_deterministic() {
        assert_eq!(transform_workflow(20, 3), transform_workflow(20, 3));
        assert_eq!(every_seconds(5), every_seconds(5));
    }

    #[test]
    fn each_version_compiles_to_a_different_plan_with_the_same_route() {
        let plan_id = |version| {
            let bytes = serde_json::to_vec(&transform_workflow(20, version)).unwrap();
            linkflow_codec::compile_export(&bytes).unwrap().plan_id
        };
        assert_ne!(plan_id(1), plan_id(2));
        assert_eq!(plan_id(2), plan_id(2));
        assert_eq!(
            transform_workflow(20, 1)["nodes"][0]["parameters"]["path"],
            transform_workflow(20, 2)["nodes"][0]["parameters"]["path"]
        );
        assert_eq!(transform_path(20), "t20");
    }
}
