//! A direct translation of an n8n workflow export into a [`Plan`], without validation.
//!
//! Why it exists: the engine, `linkflow run`, the golden tests and the benchmarks need
//! plans while the codec's validating compiler (`linkflow_codec::plan`) is being built.
//! It maps node types to kinds, keeps nodes in file order, resolves connections into the
//! CSR arrays, compiles every `=...` string with [`linkflow_codec::expr::compile`] (a
//! malformed expression fails its node at run time, as in n8n) and derives webhook and
//! manual triggers. It does not check node versions or parameters; workflows with node
//! types the engine does not know get [`NodeKind::StickyNote`] nodes that fail when run.

use linkflow_codec::plan::{
    ArchivedPlan, Csr, ExecutionOrder, Link, NodeKind, NodeSettings, OnError, PValue, PinnedData,
    Plan, PlanNode, PlanSettings, ResponseData, ResponseMode, Trigger, WebhookTrigger,
};
use serde_json::Value as Json;

/// n8n type name -> node kind.
pub fn kind_of(type_name: &str) -> NodeKind {
    match type_name.rsplit('.').next().unwrap_or("") {
        "manualTrigger" => NodeKind::ManualTrigger,
        "webhook" => NodeKind::Webhook,
        "scheduleTrigger" => NodeKind::ScheduleTrigger,
        "cron" => NodeKind::Cron,
        "executeWorkflowTrigger" => NodeKind::ExecuteWorkflowTrigger,
        "set" => NodeKind::Set,
        "if" => NodeKind::If,
        "switch" => NodeKind::Switch,
        "filter" => NodeKind::Filter,
        "merge" => NodeKind::Merge,
        "splitOut" => NodeKind::SplitOut,
        "splitInBatches" => NodeKind::SplitInBatches,
        "respondToWebhook" => NodeKind::RespondToWebhook,
        "stopAndError" => NodeKind::StopAndError,
        "code" => NodeKind::Code,
        "function" => NodeKind::Function,
        "functionItem" => NodeKind::FunctionItem,
        "noOp" => NodeKind::NoOp,
        "limit" => NodeKind::Limit,
        "aggregate" => NodeKind::Aggregate,
        "sort" => NodeKind::Sort,
        "removeDuplicates" => NodeKind::RemoveDuplicates,
        "summarize" => NodeKind::Summarize,
        "renameKeys" => NodeKind::RenameKeys,
        "dateTime" => NodeKind::DateTime,
        "crypto" => NodeKind::Crypto,
        "httpRequest" => NodeKind::HttpRequest,
        "wait" => NodeKind::Wait,
        "executeWorkflow" => NodeKind::ExecuteWorkflow,
        // Kinds added later come from the codec's catalogue.
        _ => linkflow_codec::catalog::lookup(type_name).map_or(NodeKind::StickyNote, |e| e.kind),
    }
}

fn pvalue(json: &Json, expressions: &mut Vec<linkflow_codec::expr::CompiledExpression>) -> PValue {
    match json {
        Json::Null => PValue::Null,
        Json::Bool(b) => PValue::Bool(*b),
        Json::Number(n) => PValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) if s.starts_with('=') => {
            // As the codec does: a malformed expression fails its node at run time (n8n's
            // behaviour), not the whole plan.
            let compiled = linkflow_codec::expr::compile(s).unwrap_or_else(|error| {
                linkflow_codec::expr::CompiledExpression::invalid(s, &error)
            });
            expressions.push(compiled);
            PValue::Expr(expressions.len() as u32 - 1)
        }
        Json::String(s) => PValue::String(s.clone()),
        Json::Array(items) => PValue::Array(items.iter().map(|v| pvalue(v, expressions)).collect()),
        Json::Object(members) => PValue::Object {
            keys: members.keys().cloned().collect(),
            values: members.values().map(|v| pvalue(v, expressions)).collect(),
        },
    }
}

fn csr(node_count: usize, slots: &[usize], links_of: impl Fn(usize, usize) -> Vec<Link>) -> Csr {
    let mut csr = Csr::default();
    let mut slot = 0u32;
    for (node, &slot_count) in slots.iter().enumerate().take(node_count) {
        csr.slot_start.push(slot);
        for port in 0..slot_count {
            csr.link_start.push(csr.links.len() as u32);
            csr.links.extend(links_of(node, port));
            slot += 1;
        }
    }
    csr.slot_start.push(slot);
    csr.link_start.push(csr.links.len() as u32);
    csr
}

/// Builds a plan from an n8n workflow export (nodes keep their order in the file).
pub fn plan_from_workflow(workflow: &Json) -> Plan {
    let nodes_json = workflow["nodes"].as_array().cloned().unwrap_or_default();
    let names: Vec<String> = nodes_json
        .iter()
        .map(|n| n["name"].as_str().unwrap_or("").to_owned())
        .collect();
    let index_of = |name: &str| names.iter().position(|n| n == name).map(|i| i as u32);
    let mut expressions = Vec::new();
    // (source, output, target, input)
    let mut edges: Vec<(u32, u32, u32, u32)> = Vec::new();
    if let Some(connections) = workflow["connections"].as_object() {
        for (source, by_type) in connections {
            let Some(source_index) = index_of(source) else {
                continue;
            };
            for (output, targets) in by_type["main"].as_array().into_iter().flatten().enumerate() {
                for target in targets.as_array().into_iter().flatten() {
                    if let Some(t) = index_of(target["node"].as_str().unwrap_or("")) {
                        edges.push((
                            source_index,
                            output as u32,
                            t,
                            target["index"].as_u64().unwrap_or(0) as u32,
                        ));
                    }
                }
            }
        }
    }
    let mut nodes = Vec::new();
    let mut triggers = Vec::new();
    for (i, n) in nodes_json.iter().enumerate() {
        let type_name = n["type"].as_str().unwrap_or("").to_owned();
        let kind = kind_of(&type_name);
        let params = &n["parameters"];
        let on_error = match (n["onError"].as_str(), n["continueOnFail"].as_bool()) {
            (Some("continueRegularOutput"), _) | (None, Some(true)) => {
                OnError::ContinueRegularOutput
            }
            (Some("continueErrorOutput"), _) => OnError::ContinueErrorOutput,
            _ => OnError::StopWorkflow,
        };
        let max_output = edges
            .iter()
            .filter(|e| e.0 == i as u32)
            .map(|e| e.1 + 1)
            .max()
            .unwrap_or(1);
        let input_count = match kind {
            NodeKind::Merge => params["numberInputs"].as_u64().unwrap_or(2) as u32,
            NodeKind::ManualTrigger | NodeKind::Webhook => 0,
            _ => 1,
        };
        let base_outputs = match kind {
            NodeKind::If => 2,
            NodeKind::SplitInBatches if n["typeVersion"].as_f64().unwrap_or(1.0) >= 3.0 => 2,
            _ => 1,
        };
        let mut output_count = max_output.max(base_outputs);
        if on_error == OnError::ContinueErrorOutput {
            output_count = output_count.max(base_outputs + 1);
        }
        let converted = pvalue(params, &mut expressions);
        let fast = linkflow_codec::plan::typed::fast_params(
            kind,
            n["typeVersion"].as_f64().unwrap_or(1.0),
            &converted,
        );
        let position = n["position"].as_array().map_or([0.0, 0.0], |p| {
            [
                p.first().and_then(Json::as_f64).unwrap_or(0.0),
                p.get(1).and_then(Json::as_f64).unwrap_or(0.0),
            ]
        });
        if kind == NodeKind::Webhook {
            let response_mode = match params["responseMode"].as_str() {
                Some("responseNode") => ResponseMode::ResponseNode,
                Some("onReceived") => ResponseMode::OnReceived,
                _ => ResponseMode::LastNode,
            };
            let response_data = match params["responseData"].as_str() {
                Some("allEntries") => ResponseData::AllEntries,
                Some("noData") => ResponseData::NoData,
                Some("firstEntryBinary") => ResponseData::FirstEntryBinary,
                _ => ResponseData::FirstEntryJson,
            };
            triggers.push(Trigger::Webhook(WebhookTrigger {
                node: i as u32,
                methods: vec![params["httpMethod"].as_str().unwrap_or("GET").to_owned()],
                path: params["path"].as_str().unwrap_or("").to_owned(),
                response_mode,
                response_data,
                response_code: params["options"]["responseCode"].as_u64().unwrap_or(200) as u16,
            }));
        } else if kind == NodeKind::ManualTrigger {
            triggers.push(Trigger::Manual { node: i as u32 });
        }
        nodes.push(PlanNode {
            name: names[i].clone(),
            id: n["id"].as_str().unwrap_or("").to_owned(),
            type_name,
            type_version: n["typeVersion"].as_f64().unwrap_or(1.0),
            kind,
            disabled: n["disabled"].as_bool().unwrap_or(false),
            settings: NodeSettings {
                on_error,
                retry_on_fail: n["retryOnFail"].as_bool().unwrap_or(false),
                max_tries: n["maxTries"].as_u64().unwrap_or(3) as u32,
                wait_between_tries_ms: n["waitBetweenTries"].as_u64().unwrap_or(1000) as u32,
                always_output_data: n["alwaysOutputData"].as_bool().unwrap_or(false),
                execute_once: n["executeOnce"].as_bool().unwrap_or(false),
            },
            params: converted,
            fast,
            input_count,
            output_count,
            webhook_id: n["webhookId"].as_str().unwrap_or("").to_owned(),
            credentials: n["credentials"]
                .as_object()
                .map(|map| {
                    map.iter()
                        .map(|(kind, reference)| {
                            let field = |key: &str| match &reference[key] {
                                Json::String(s) => s.clone(),
                                Json::Number(n) => n.to_string(),
                                _ => String::new(),
                            };
                            linkflow_codec::plan::CredentialRef {
                                credential_type: kind.clone(),
                                id: field("id"),
                                name: field("name"),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
            position,
        });
    }
    let count = nodes.len();
    let out_slots: Vec<usize> = nodes.iter().map(|n| n.output_count as usize).collect();
    let in_slots: Vec<usize> = (0..count)
        .map(|n| {
            let connected = edges
                .iter()
                .filter(|e| e.2 == n as u32)
                .map(|e| e.3 as usize + 1)
                .max()
                .unwrap_or(0);
            connected.max(nodes[n].input_count as usize)
        })
        .collect();
    let outgoing = csr(count, &out_slots, |node, port| {
        edges
            .iter()
            .filter(|e| e.0 == node as u32 && e.1 == port as u32)
            .map(|e| Link {
                node: e.2,
                port: e.3,
            })
            .collect()
    });
    let incoming = csr(count, &in_slots, |node, port| {
        edges
            .iter()
            .filter(|e| e.2 == node as u32 && e.3 == port as u32)
            .map(|e| Link {
                node: e.0,
                port: e.1,
            })
            .collect()
    });
    let pin_data = workflow["pinData"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, items)| {
            let node = index_of(name)?;
            let items = items
                .as_array()?
                .iter()
                .map(|item| pvalue(item.get("json").unwrap_or(item), &mut Vec::new()))
                .collect();
            Some(PinnedData { node, items })
        })
        .collect();
    let execution_order = match workflow["settings"]["executionOrder"].as_str() {
        Some("v1") => ExecutionOrder::V1,
        _ => ExecutionOrder::V0,
    };
    Plan {
        workflow_id: workflow["id"].as_str().unwrap_or("").to_owned(),
        workflow_name: workflow["name"].as_str().unwrap_or("").to_owned(),
        workflow_version: 0,
        settings: PlanSettings {
            execution_order,
            timeout_ms: 0,
            latency_budget_ms: 0,
            // The workflow's own save settings, read by the codec's rules (diagnostics
            // are the compiler's business; `--workflow` plans take the levels only).
            persistence: linkflow_codec::plan::persistence::persistence(
                workflow["settings"].as_object(),
                &mut Vec::new(),
            ),
            timezone: String::new(),
            error_workflow: String::new(),
        },
        nodes,
        outgoing,
        incoming,
        triggers,
        expressions,
        pin_data,
        static_data: PValue::Null,
    }
}

/// Serialises a plan into aligned bytes that can be accessed as an [`ArchivedPlan`].
pub fn archive(plan: &Plan) -> rkyv::util::AlignedVec {
    rkyv::to_bytes::<rkyv::rancor::Error>(plan).expect("plan serialises")
}

/// Accesses archived plan bytes.
pub fn access(bytes: &[u8]) -> &ArchivedPlan {
    rkyv::access::<ArchivedPlan, rkyv::rancor::Error>(bytes).expect("plan bytes are valid")
}
