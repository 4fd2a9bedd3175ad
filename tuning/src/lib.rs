//! linkflow-tuning: host checks and capacity plans from measured load-test sweeps.

#![warn(missing_docs)]

use std::path::PathBuf;

use anyhow::Context;
use linkflow_loadtest::Sweep;

pub mod check;
pub mod plan;
pub mod render;

/// Reads sweep JSON files, named by file stem.
pub fn load_sweeps(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, Sweep)>> {
    paths
        .iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let s: Sweep = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a linkflow-loadtest sweep", p.display()))?;
            Ok((
                p.file_stem()
                    .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
                s,
            ))
        })
        .collect()
}

/// The plan's Markdown and HTML. Wire bytes and memory come from the sweeps when they
/// recorded them ([`plan::Assumptions::with_measurements`]); `a` supplies the rest.
pub fn report(
    sweeps: &[(String, Sweep)],
    a: plan::Assumptions,
) -> anyhow::Result<(String, String)> {
    let only: Vec<Sweep> = sweeps.iter().map(|(_, s)| s.clone()).collect();
    let a = a.with_measurements(&only);
    let p = plan::plan(&only, a).map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let md = render::markdown(&p, sweeps);
    let html = render::html(&md, &p, sweeps).map_err(|e| anyhow::anyhow!("plot: {e}"))?;
    Ok((md, html))
}
