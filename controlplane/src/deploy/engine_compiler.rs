//! [`EngineCompiler`]: the codec's validating compiler behind the [`Compiler`] seam.
//!
//! A stored workflow version goes through the same chain as `linkflow compile`
//! (`model::import` -> `plan::compiler::compile` -> `envelope::seal`); the only difference
//! is that the control plane stamps its own workflow id and version into the plan, so the
//! data plane keys swaps and metrics by the id the API knows and every version yields its
//! own plan id. The catalogue comes from `codec::catalog`, so what the API accepts and what
//! the compiler compiles never drift apart.

use std::sync::Arc;

use linkflow_codec::validate::Severity;
use linkflow_codec::{catalog, envelope, model, plan};

use super::credentials::CredentialUse;
use super::{CompileIssue, CompiledPlan, Compiler, NodeType};

/// Compiler backed by `linkflow_codec`.
#[derive(Debug, Default, Clone, Copy)]
pub struct EngineCompiler;

impl EngineCompiler {
    /// The compiler as the trait object the API holds.
    pub fn shared() -> Arc<dyn Compiler> {
        Arc::new(EngineCompiler)
    }
}

fn empty_to_none(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

impl Compiler for EngineCompiler {
    fn compile(
        &self,
        workflow_json: &str,
        workflow_id: &str,
        version: u64,
    ) -> Result<CompiledPlan, Vec<CompileIssue>> {
        let document = model::import(workflow_json.as_bytes()).map_err(|e| {
            vec![CompileIssue {
                code: e.code.into(),
                node: None,
                parameter: empty_to_none(&e.path),
                message: e.message,
            }]
        })?;
        let compiled = plan::compiler::compile(&document.workflow).map_err(|diagnostics| {
            diagnostics
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| CompileIssue {
                    code: d.code.into(),
                    node: d.node,
                    parameter: empty_to_none(&d.path),
                    message: d.message,
                })
                .collect::<Vec<_>>()
        })?;
        let mut plan = compiled.plan;
        plan.workflow_id = workflow_id.to_owned();
        plan.workflow_version = version;
        let names = plan.nodes.iter().map(|n| n.name.clone()).collect();
        let mut credential_uses: Vec<CredentialUse> = Vec::new();
        for reference in plan.nodes.iter().flat_map(|n| &n.credentials) {
            let used = CredentialUse {
                kind: reference.credential_type.clone(),
                id: reference.id.clone(),
                name: reference.name.clone(),
            };
            if !credential_uses.contains(&used) {
                credential_uses.push(used);
            }
        }
        let (bytes, plan_id) = envelope::seal(&plan);
        Ok(CompiledPlan {
            plan_id,
            bytes: Arc::from(&bytes[..]),
            nodes: names,
            credential_uses,
            credentials: Arc::default(),
        })
    }

    fn catalog(&self) -> Vec<NodeType> {
        catalog::ENTRIES
            .iter()
            .map(|entry| NodeType {
                name: entry.type_name.into(),
                versions: entry.versions.to_vec(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEBHOOK: &str = r#"{"name":"w","nodes":[{"name":"W","type":"n8n-nodes-base.webhook",
        "typeVersion":2,"position":[0,0],"parameters":{"path":"p","httpMethod":"POST"}}],
        "connections":{}}"#;

    #[test]
    fn same_workflow_same_plan_id_and_version_changes_it() {
        let a = EngineCompiler.compile(WEBHOOK, "id", 1).unwrap();
        let again = EngineCompiler.compile(WEBHOOK, "id", 1).unwrap();
        assert_eq!(a.plan_id, again.plan_id);
        assert_eq!(a.bytes, again.bytes);
        assert_ne!(
            a.plan_id,
            EngineCompiler.compile(WEBHOOK, "id", 2).unwrap().plan_id
        );
        assert_eq!(a.nodes, vec!["W".to_string()]);
    }

    #[test]
    fn sealed_plan_carries_the_control_plane_id_and_version() {
        let compiled = EngineCompiler.compile(WEBHOOK, "wf-42", 7).unwrap();
        let bytes = envelope::aligned(&compiled.bytes);
        let plan = envelope::open(&bytes).unwrap();
        assert_eq!(plan.workflow_id.as_str(), "wf-42");
        assert_eq!(plan.workflow_version.to_native(), 7);
        assert_eq!(envelope::plan_id(&bytes).unwrap(), compiled.plan_id);
    }

    #[test]
    fn unknown_types_are_each_reported_by_node() {
        let wf = r#"{"name":"w","nodes":[
            {"name":"W","type":"n8n-nodes-base.webhook","typeVersion":2,"parameters":{"path":"p"}},
            {"name":"A","type":"acme.a","typeVersion":1,"parameters":{}},
            {"name":"B","type":"acme.b","typeVersion":1,"parameters":{}}],
            "connections":{}}"#;
        let issues = EngineCompiler.compile(wf, "id", 1).unwrap_err();
        let mut nodes: Vec<_> = issues.iter().filter_map(|i| i.node.as_deref()).collect();
        nodes.sort_unstable();
        assert_eq!(nodes, vec!["A", "B"]);
        assert!(
            issues.iter().all(|i| i.code.starts_with("LF-")),
            "{issues:?}"
        );
    }

    #[test]
    fn not_a_workflow_is_one_import_issue() {
        let issues = EngineCompiler.compile("[1,2", "id", 1).unwrap_err();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].code, model::CODE_NOT_JSON);
    }

    #[test]
    fn catalog_lists_codec_types_with_versions() {
        let catalog = EngineCompiler.catalog();
        let webhook = catalog
            .iter()
            .find(|t| t.name == "n8n-nodes-base.webhook")
            .unwrap();
        assert!(webhook.versions.contains(&2.0));
        assert_eq!(catalog.len(), catalog::ENTRIES.len());
    }
}
