//! [`EngineCompiler`]: compiles with the data plane's direct n8n -> plan translation
//! (`linkflow_dataplane::engine::quick_plan`) until the codec's validating compiler lands;
//! then only this file changes. Plans are identified by the BLAKE3 hash of their bytes.

use std::sync::Arc;

use linkflow_dataplane::engine::quick_plan::{archive, plan_from_workflow};

use super::{CompileIssue, CompiledPlan, Compiler, NodeType};

/// Error code: the workflow JSON is not an object with a `nodes` array.
pub const CODE_SHAPE: &str = "LF-CP-COMPILE-001";
/// Error code: a node type has no engine implementation.
pub const CODE_UNKNOWN_TYPE: &str = "LF-CP-COMPILE-002";

/// n8n node types the translation maps to an engine node kind (package prefix included).
const NODE_TYPES: &[&str] = &[
    "n8n-nodes-base.manualTrigger",
    "n8n-nodes-base.webhook",
    "n8n-nodes-base.scheduleTrigger",
    "n8n-nodes-base.cron",
    "n8n-nodes-base.executeWorkflowTrigger",
    "n8n-nodes-base.set",
    "n8n-nodes-base.if",
    "n8n-nodes-base.switch",
    "n8n-nodes-base.filter",
    "n8n-nodes-base.merge",
    "n8n-nodes-base.splitOut",
    "n8n-nodes-base.splitInBatches",
    "n8n-nodes-base.respondToWebhook",
    "n8n-nodes-base.stopAndError",
    "n8n-nodes-base.code",
    "n8n-nodes-base.function",
    "n8n-nodes-base.functionItem",
    "n8n-nodes-base.noOp",
    "n8n-nodes-base.limit",
    "n8n-nodes-base.aggregate",
    "n8n-nodes-base.sort",
    "n8n-nodes-base.removeDuplicates",
    "n8n-nodes-base.summarize",
    "n8n-nodes-base.renameKeys",
    "n8n-nodes-base.dateTime",
    "n8n-nodes-base.crypto",
    "n8n-nodes-base.httpRequest",
    "n8n-nodes-base.wait",
    "n8n-nodes-base.executeWorkflow",
    "n8n-nodes-base.stickyNote",
];

/// Compiler backed by the engine's translation.
#[derive(Debug, Default, Clone, Copy)]
pub struct EngineCompiler;

impl EngineCompiler {
    /// The compiler as the trait object the API holds.
    pub fn shared() -> Arc<dyn Compiler> {
        Arc::new(EngineCompiler)
    }
}

fn known(type_name: &str) -> bool {
    NODE_TYPES.contains(&type_name)
}

impl Compiler for EngineCompiler {
    fn compile(
        &self,
        workflow_json: &str,
        workflow_id: &str,
        version: u64,
    ) -> Result<CompiledPlan, Vec<CompileIssue>> {
        let issue = |code: &str, node: Option<String>, message: String| CompileIssue {
            code: code.into(),
            node,
            parameter: None,
            message,
        };
        let workflow: serde_json::Value = serde_json::from_str(workflow_json)
            .map_err(|e| vec![issue(CODE_SHAPE, None, format!("not JSON: {e}"))])?;
        let Some(nodes) = workflow["nodes"].as_array() else {
            return Err(vec![issue(CODE_SHAPE, None, "no \"nodes\" array".into())]);
        };
        let unknown: Vec<CompileIssue> = nodes
            .iter()
            .filter(|n| !known(n["type"].as_str().unwrap_or("")))
            .map(|n| {
                let name = n["name"].as_str().map(str::to_owned);
                let kind = n["type"].as_str().unwrap_or("");
                issue(
                    CODE_UNKNOWN_TYPE,
                    name,
                    format!("node type {kind:?} is not supported"),
                )
            })
            .collect();
        if !unknown.is_empty() {
            return Err(unknown);
        }
        let mut plan = plan_from_workflow(&workflow);
        plan.workflow_id = workflow_id.to_owned();
        plan.workflow_version = version;
        let names = plan.nodes.iter().map(|n| n.name.clone()).collect();
        let bytes = archive(&plan);
        Ok(CompiledPlan {
            plan_id: blake3::hash(&bytes).to_hex().to_string(),
            bytes: Arc::from(bytes.as_slice()),
            nodes: names,
        })
    }

    fn catalog(&self) -> Vec<NodeType> {
        NODE_TYPES
            .iter()
            .map(|n| NodeType {
                name: (*n).into(),
                versions: Vec::new(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkflow_codec::plan::NodeKind;
    use linkflow_dataplane::engine::quick_plan::kind_of;

    #[test]
    fn every_catalogued_type_maps_to_an_engine_kind() {
        for name in NODE_TYPES {
            let is_note = name.ends_with(".stickyNote");
            assert_eq!(kind_of(name) == NodeKind::StickyNote, is_note, "{name}");
        }
    }

    #[test]
    fn same_workflow_same_plan_id_and_version_changes_it() {
        let wf = r#"{"name":"w","nodes":[{"name":"W","type":"n8n-nodes-base.webhook",
            "parameters":{"path":"p","httpMethod":"POST"}}],"connections":{}}"#;
        let a = EngineCompiler.compile(wf, "id", 1).unwrap();
        assert_eq!(
            a.plan_id,
            EngineCompiler.compile(wf, "id", 1).unwrap().plan_id
        );
        assert_ne!(
            a.plan_id,
            EngineCompiler.compile(wf, "id", 2).unwrap().plan_id
        );
        assert_eq!(a.nodes, vec!["W".to_string()]);
    }

    #[test]
    fn unknown_types_are_each_reported_by_node() {
        let wf = r#"{"nodes":[{"name":"A","type":"acme.a"},{"name":"B","type":"acme.b"}]}"#;
        let issues = EngineCompiler.compile(wf, "id", 1).unwrap_err();
        let nodes: Vec<_> = issues.iter().map(|i| i.node.as_deref()).collect();
        assert_eq!(nodes, vec![Some("A"), Some("B")]);
        assert!(issues.iter().all(|i| i.code == CODE_UNKNOWN_TYPE));
    }
}
