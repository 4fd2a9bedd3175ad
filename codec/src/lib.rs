//! # linkflow-codec
//!
//! The codec turns n8n workflow exports into sealed execution plans. It is pure: no I/O,
//! no runtime, no clock. Everything it does is a function of its input bytes, so the same
//! workflow always yields the same plan bytes and plan id.
//!
//! Pipeline: [`model::import`] (JSON -> [`model::Workflow`]) -> [`validate::validate`]
//! -> [`plan::compiler::compile`] (-> [`plan::Plan`]) -> [`envelope::seal`] (-> bytes).
//! [`envelope::open`] validates received bytes once. [`compile_workflow`] is the one function
//! that runs import, validation and compilation; [`compile_export`] adds the seal.
#![warn(missing_docs)]

pub mod catalog;
pub mod envelope;
pub mod expr;
pub mod model;
pub mod plan;
pub mod validate;
pub mod wire;

pub use plan::compiler::Compiled;
use validate::{Diagnostic, Severity};

/// A workflow export to compile: its bytes (a file, a request body) or its JSON already
/// parsed. Both go through the same import ([`model::import`] parses the bytes, then does
/// what [`model::import_value`] does), so they compile to the same plan.
#[derive(Debug, Clone, Copy)]
pub enum Export<'a> {
    /// The export's bytes (size-checked, then parsed as JSON).
    Bytes(&'a [u8]),
    /// The export as parsed JSON.
    Json(&'a serde_json::Value),
}

/// A workflow export compiled and sealed.
#[derive(Debug)]
pub struct SealedPlan {
    /// The sealed bytes (aligned for [`envelope::open`]).
    pub bytes: envelope::SealedBytes,
    /// The plan id (hex of the content hash prefix).
    pub plan_id: String,
    /// Non-blocking findings.
    pub warnings: Vec<Diagnostic>,
}

/// Why an export did not compile.
#[derive(Debug, thiserror::Error)]
pub enum CompileExportError {
    /// The bytes are not a workflow export.
    #[error(transparent)]
    Import(#[from] model::ImportError),
    /// The workflow is invalid or uses what the engine does not support: every finding.
    #[error("{} error(s)", .0.iter().filter(|d| d.severity == validate::Severity::Error).count())]
    Invalid(Vec<Diagnostic>),
}

impl CompileExportError {
    /// The findings that blocked compilation (none for an import error), in the order the
    /// codec reported them; the warnings found alongside are left out.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        let diagnostics = match self {
            CompileExportError::Import(_) => &[][..],
            CompileExportError::Invalid(diagnostics) => &diagnostics[..],
        };
        diagnostics.iter().filter(|d| d.severity == Severity::Error)
    }

    /// The import error, or every blocking finding (code, node, path, reason), one per
    /// line: the form `linkflow run` reports.
    pub fn one_per_line(&self) -> String {
        match self {
            CompileExportError::Import(error) => error.to_string(),
            CompileExportError::Invalid(_) => self
                .errors()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// The one path from an n8n workflow export to a plan: import (JSON -> [`model::Workflow`]),
/// validate and compile. Serialize the result with [`Compiled::archive`] (the bare rkyv
/// archive the data plane installs) or [`Compiled::seal`] (the envelope `linkflow compile`
/// writes and QUIC delivers); both hold the same archive bytes.
pub fn compile_workflow(export: Export<'_>) -> Result<Compiled, CompileExportError> {
    let document = match export {
        Export::Bytes(bytes) => model::import(bytes)?,
        Export::Json(value) => model::import_value(value.clone())?,
    };
    plan::compiler::compile(&document.workflow).map_err(CompileExportError::Invalid)
}

impl Compiled {
    /// The plan as an rkyv archive (no envelope), aligned for `rkyv::access`.
    pub fn archive(&self) -> rkyv::util::AlignedVec {
        envelope::archive(&self.plan)
    }

    /// The plan sealed ([`envelope::seal`]), with its plan id and the warnings.
    pub fn seal(self) -> SealedPlan {
        let (bytes, plan_id) = envelope::seal(&self.plan);
        SealedPlan {
            bytes,
            plan_id,
            warnings: self.warnings,
        }
    }
}

/// Import, validate, compile and seal an export's bytes in one call.
pub fn compile_export(bytes: &[u8]) -> Result<SealedPlan, CompileExportError> {
    compile_workflow(Export::Bytes(bytes)).map(Compiled::seal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow(target: &str) -> serde_json::Value {
        serde_json::json!({
            "id": "w1", "name": "w",
            "nodes": [
                {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
                 "position": [0, 0], "parameters": {}},
                {"name": "Pass", "type": "n8n-nodes-base.noOp", "typeVersion": 1,
                 "position": [200, 0], "parameters": {}}
            ],
            "connections": {"Start": {"main": [[{"node": target, "type": "main", "index": 0}]]}}
        })
    }

    #[test]
    fn bytes_and_json_compile_to_the_archive_the_seal_carries() {
        let json = workflow("Pass");
        let text = json.to_string();
        let from_json = compile_workflow(Export::Json(&json)).unwrap().archive();
        let from_bytes = compile_workflow(Export::Bytes(text.as_bytes()))
            .unwrap()
            .archive();
        assert_eq!(from_json[..], from_bytes[..]);
        let sealed = compile_export(text.as_bytes()).unwrap();
        assert_eq!(sealed.bytes[envelope::HEADER_BYTES..], from_json[..]);
        assert!(envelope::open(&sealed.bytes).is_ok());
    }

    #[test]
    fn a_refused_export_lists_its_errors_one_per_line_with_codes() {
        let import = compile_workflow(Export::Bytes(b"{not json")).unwrap_err();
        assert_eq!(import.errors().count(), 0);
        assert!(
            import.one_per_line().contains(model::CODE_NOT_JSON),
            "{import}"
        );
        let refused = compile_workflow(Export::Json(&workflow("Gone"))).unwrap_err();
        let lines = refused.one_per_line();
        assert_eq!(lines.lines().count(), refused.errors().count(), "{lines}");
        assert!(lines.contains(validate::UNKNOWN_TARGET), "{lines}");
    }
}
