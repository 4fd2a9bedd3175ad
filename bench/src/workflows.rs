//! Workflows the scenarios generate (deterministically, so every run measures the same
//! plan): the 20-node transform chain and the schedule-triggered workflow.

use serde_json::{json, Map, Value};

/// Webhook path of [`transform20`].
pub const TRANSFORM20_PATH: &str = "t20";

/// Webhook (`POST /webhook/t20`) -> 18 transform nodes (Set v3.4 arithmetic and strings,
/// If v2.2, Filter v2.2, NoOp, in rotation) -> Respond to Webhook (all incoming items):
/// the same shape as the engine micro benchmark's 20-node workflow, fast-path expressions only.
pub fn transform20() -> Value {
    let mut nodes = vec![
        json!({"id": "t20-webhook", "name": "Webhook", "type": "n8n-nodes-base.webhook",
        "typeVersion": 2, "position": [0, 0], "webhookId": "00000000-0000-4000-8000-000000000020",
        "parameters": {"httpMethod": "POST", "path": TRANSFORM20_PATH, "responseMode": "responseNode", "options": {}}}),
    ];
    let mut connections = Map::new();
    let mut previous = "Webhook".to_owned();
    for i in 0..18 {
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
        node["id"] = json!(format!("t20-{i}"));
        node["position"] = json!([200 * (i + 1), 0]);
        nodes.push(node);
        connections.insert(
            previous,
            json!({"main": [[{"node": name, "type": "main", "index": 0}]]}),
        );
        previous = name;
    }
    nodes.push(json!({"id": "t20-respond", "name": "Respond", "type": "n8n-nodes-base.respondToWebhook",
        "typeVersion": 1.1, "position": [4000, 0], "parameters": {"respondWith": "allIncomingItems", "options": {}}}));
    connections.insert(
        previous,
        json!({"main": [[{"node": "Respond", "type": "main", "index": 0}]]}),
    );
    json!({"id": "transform20", "name": "transform-20", "settings": {"executionOrder": "v1"},
        "nodes": nodes, "connections": connections})
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_workflows_compile_with_the_codec() {
        for (workflow, nodes) in [(transform20(), 20), (every_seconds(1), 3)] {
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
        assert_eq!(transform20(), transform20());
        assert_eq!(every_seconds(5), every_seconds(5));
    }
}
