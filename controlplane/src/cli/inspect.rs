//! `linkflow inspect PLAN.lfp`: a readable dump of a sealed plan.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use linkflow_codec::envelope;
use linkflow_codec::plan::{ArchivedPlan, ArchivedTrigger};

/// Arguments of `linkflow inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// A sealed plan written by `linkflow compile -o`.
    pub plan: PathBuf,
}

/// Validates the plan and prints it.
pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    let raw =
        std::fs::read(&args.plan).with_context(|| format!("reading {}", args.plan.display()))?;
    let bytes = envelope::aligned(&raw);
    let plan =
        envelope::open(&bytes).with_context(|| format!("opening {}", args.plan.display()))?;
    let id = envelope::plan_id(&bytes)?;
    print!("{}", dump(&id, bytes.len(), plan));
    Ok(())
}

/// The text `inspect` prints.
pub fn dump(id: &str, size: usize, plan: &ArchivedPlan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "plan {id} ({size} bytes)");
    let _ = writeln!(
        out,
        "workflow {:?} id {:?}",
        plan.workflow_name.as_str(),
        plan.workflow_id.as_str()
    );
    let s = &plan.settings;
    let _ = writeln!(
        out,
        "settings: order {:?}, timeout {} ms, latency budget {} ms, timezone {:?}, error workflow {:?}",
        s.execution_order,
        s.timeout_ms,
        s.latency_budget_ms,
        s.timezone.as_str(),
        s.error_workflow.as_str()
    );
    let _ = writeln!(out, "nodes ({}):", plan.nodes.len());
    for (i, node) in plan.nodes.iter().enumerate() {
        let _ = writeln!(
            out,
            "  #{i} {:?} {} v{} {:?} in={} out={}{}",
            node.name.as_str(),
            node.type_name.as_str(),
            node.type_version,
            node.kind,
            node.input_count,
            node.output_count,
            if node.disabled { " disabled" } else { "" }
        );
        let start = node_slots(&plan.outgoing.slot_start, i);
        for (port, slot) in start.enumerate() {
            let links = link_range(&plan.outgoing.link_start, slot);
            let targets: Vec<String> = plan.outgoing.links[links]
                .iter()
                .map(|l| format!("#{}:{}", l.node, l.port))
                .collect();
            if !targets.is_empty() {
                let _ = writeln!(out, "      out {port} -> {}", targets.join(", "));
            }
        }
    }
    let _ = writeln!(out, "triggers ({}):", plan.triggers.len());
    for trigger in plan.triggers.iter() {
        let line = match trigger {
            ArchivedTrigger::Webhook(w) => format!(
                "webhook #{} {:?} /{} {:?} {:?} {}",
                w.node,
                w.methods.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                w.path.as_str(),
                w.response_mode,
                w.response_data,
                w.response_code
            ),
            ArchivedTrigger::Schedule(t) => format!(
                "schedule #{} {:?}",
                t.node,
                t.cron.iter().map(|c| c.as_str()).collect::<Vec<_>>()
            ),
            ArchivedTrigger::Manual { node } => format!("manual #{node}"),
            ArchivedTrigger::SubWorkflow { node } => format!("sub-workflow #{node}"),
        };
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "expressions ({}):", plan.expressions.len());
    for (i, e) in plan.expressions.iter().enumerate() {
        let _ = writeln!(
            out,
            "  ${i} {} {:?}",
            if e.fast { "fast" } else { "js  " },
            e.source.as_str()
        );
    }
    let _ = writeln!(out, "pinned nodes: {}", plan.pin_data.len());
    out
}

fn node_slots(slot_start: &[rkyv::rend::u32_le], node: usize) -> std::ops::Range<usize> {
    let at = |i: usize| slot_start.get(i).map_or(0, |v| v.to_native() as usize);
    at(node)..at(node + 1)
}

fn link_range(link_start: &[rkyv::rend::u32_le], slot: usize) -> std::ops::Range<usize> {
    let at = |i: usize| link_start.get(i).map_or(0, |v| v.to_native() as usize);
    at(slot)..at(slot + 1)
}
