//! # linkflow-codec
//!
//! The codec turns n8n workflow exports into sealed execution plans. It is pure: no I/O,
//! no runtime, no clock. Everything it does is a function of its input bytes, so the same
//! workflow always yields the same plan bytes and plan id.
//!
//! Pipeline: [`model::import`] (JSON -> [`model::Workflow`]) -> [`validate::validate`]
//! -> [`plan::compiler::compile`] (-> [`plan::Plan`]) -> [`envelope::seal`] (-> bytes).
//! [`envelope::open`] validates received bytes once; [`compile_export`] runs the whole chain.
#![warn(missing_docs)]

pub mod catalog;
pub mod envelope;
pub mod expr;
pub mod model;
pub mod plan;
pub mod validate;
pub mod wire;

use validate::Diagnostic;

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

/// Import, validate, compile and seal an export in one call.
pub fn compile_export(bytes: &[u8]) -> Result<SealedPlan, CompileExportError> {
    let document = model::import(bytes)?;
    let compiled =
        plan::compiler::compile(&document.workflow).map_err(CompileExportError::Invalid)?;
    let (bytes, plan_id) = envelope::seal(&compiled.plan);
    Ok(SealedPlan {
        bytes,
        plan_id,
        warnings: compiled.warnings,
    })
}
