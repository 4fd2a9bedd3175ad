//! `linkflow compat DIR [--json]`: how much of a directory of n8n exports the engine takes.
//!
//! Every `*.json` under DIR (recursively, in path order) is imported (or rejected, with the
//! reason) and compiled (or not, with the node types and expression features missing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use linkflow_codec::model::{self, Workflow};
use linkflow_codec::plan::compiler;
use linkflow_codec::validate::{self, Severity};
use serde_json::{json, Value};

/// How many missing node types the text summary lists.
const TOP_MISSING_TYPES: usize = 20;

/// Arguments of `linkflow compat`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompatArgs {
    /// Directory to scan for `*.json` workflow exports.
    pub dir: PathBuf,
    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The outcome for one file.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Not a workflow export (unreadable, not JSON, wrong shape).
    Rejected(String),
    /// Imported and compiled into a plan.
    Compiled,
    /// Imported but not compiled.
    NotCompiled {
        /// Unsupported node types (`type` or `type@version`).
        missing_node_types: Vec<String>,
        /// Expression features neither evaluator supports.
        missing_features: Vec<String>,
        /// Every other error, rendered.
        errors: Vec<String>,
    },
}

/// Checks one export.
pub fn check_file(path: &Path) -> Outcome {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => return Outcome::Rejected(format!("unreadable: {error}")),
    };
    let document = match model::import(&bytes) {
        Ok(document) => document,
        Err(error) => return Outcome::Rejected(error.to_string()),
    };
    match compiler::compile(&document.workflow) {
        Ok(_) => Outcome::Compiled,
        Err(diagnostics) => not_compiled(&document.workflow, &diagnostics),
    }
}

fn not_compiled(workflow: &Workflow, diagnostics: &[validate::Diagnostic]) -> Outcome {
    let mut missing_node_types = Vec::new();
    let mut errors = Vec::new();
    for d in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
        let node = d
            .node
            .as_deref()
            .and_then(|name| workflow.nodes.iter().find(|n| n.name == name));
        match (d.code, node) {
            (validate::UNKNOWN_TYPE, Some(node)) => missing_node_types.push(node.type_name.clone()),
            (validate::UNKNOWN_VERSION, Some(node)) => {
                missing_node_types.push(format!("{}@{}", node.type_name, node.version()))
            }
            (compiler::UNSUPPORTED_EXPRESSION, _) => {}
            _ => errors.push(d.to_string()),
        }
    }
    missing_node_types.sort();
    missing_node_types.dedup();
    let mut missing_features = Vec::new();
    for node in &workflow.nodes {
        for (key, value) in node.parameters.iter().flatten() {
            validate::walk_expressions(value, &mut key.clone(), &mut |_, source| {
                if let Ok(compiled) = linkflow_codec::expr::compile(source) {
                    missing_features.extend(compiled.unsupported_features());
                }
            });
        }
    }
    missing_features.sort();
    missing_features.dedup();
    Outcome::NotCompiled {
        missing_node_types,
        missing_features,
        errors,
    }
}

/// Every `*.json` under `dir`, sorted; unreadable directories are skipped.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(path),
                Ok(_) if path.extension().is_some_and(|e| e == "json") => files.push(path),
                _ => {}
            }
        }
    }
    files.sort();
    files
}

/// Runs the scan and prints the report.
pub fn run(args: &CompatArgs) -> anyhow::Result<()> {
    if !args.dir.is_dir() {
        anyhow::bail!("{} is not a directory", args.dir.display());
    }
    let files = json_files(&args.dir);
    let results: Vec<(PathBuf, Outcome)> = files
        .into_iter()
        .map(|f| (f.clone(), check_file(&f)))
        .collect();
    let report = report(&args.dir, &results);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

/// The JSON report: summary counts, missing node types and features (files using each),
/// and one entry per file.
pub fn report(dir: &Path, results: &[(PathBuf, Outcome)]) -> Value {
    let mut missing_types: BTreeMap<String, u64> = BTreeMap::new();
    let mut missing_features: BTreeMap<String, u64> = BTreeMap::new();
    let (mut rejected, mut compiled) = (0u64, 0u64);
    let mut details = Vec::new();
    for (path, outcome) in results {
        let file = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        details.push(match outcome {
            Outcome::Rejected(reason) => {
                rejected += 1;
                json!({"file": file, "status": "rejected", "reason": reason})
            }
            Outcome::Compiled => {
                compiled += 1;
                json!({"file": file, "status": "compiled"})
            }
            Outcome::NotCompiled {
                missing_node_types,
                missing_features: features,
                errors,
            } => {
                for t in missing_node_types {
                    *missing_types.entry(t.clone()).or_default() += 1;
                }
                for f in features {
                    *missing_features.entry(f.clone()).or_default() += 1;
                }
                json!({"file": file, "status": "not_compiled", "missing_node_types": missing_node_types,
                       "missing_expression_features": features, "errors": errors})
            }
        });
    }
    let files = results.len() as u64;
    let mut top: Vec<(&String, &u64)> = missing_types.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    json!({
        "files": files,
        "imported": files - rejected,
        "rejected": rejected,
        "compiled": compiled,
        "not_compiled": files - rejected - compiled,
        "missing_node_types": missing_types,
        "top_missing_node_types": top.iter().take(TOP_MISSING_TYPES).map(|(t, n)| json!([t, n])).collect::<Vec<_>>(),
        "missing_expression_features": missing_features,
        "details": details,
    })
}

fn print_text(report: &Value) {
    for entry in report["details"].as_array().into_iter().flatten() {
        let file = entry["file"].as_str().unwrap_or("");
        match entry["status"].as_str() {
            Some("rejected") => println!(
                "rejected      {file}: {}",
                entry["reason"].as_str().unwrap_or("")
            ),
            Some("not_compiled") => println!(
                "not compiled  {file}: types {} features {} errors {}",
                entry["missing_node_types"], entry["missing_expression_features"], entry["errors"]
            ),
            _ => println!("compiled      {file}"),
        }
    }
    println!();
    for key in ["files", "imported", "rejected", "compiled", "not_compiled"] {
        println!("{key:>13}: {}", report[key]);
    }
    println!("top missing node types (files):");
    for pair in report["top_missing_node_types"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!("  {:>5}  {}", pair[1], pair[0].as_str().unwrap_or(""));
    }
}
