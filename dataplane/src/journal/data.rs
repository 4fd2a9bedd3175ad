//! The per-node output data of a record: n8n's `runData` object, written as JSON straight
//! from the execution's arena (`{"Node":[{"data":{"main":[[{"json":...}]]}}]}`), so a
//! query can return it as n8n's execution API would without re-shaping it.

use linkflow_codec::plan::ArchivedPlan;

use crate::engine::item::Item;
use crate::engine::run_data::TaskRun;
use crate::engine::value::write_json_string;

/// Appends the `runData` JSON object of an execution. `runs(i)` are the recorded runs of
/// node `i`; nodes that did not run are left out, as in n8n.
pub fn write_run_data<'a, 'r>(
    plan: &ArchivedPlan,
    runs: impl Fn(u32) -> &'r [TaskRun<'a>],
    out: &mut Vec<u8>,
) where
    'a: 'r,
{
    out.push(b'{');
    let mut first_node = true;
    for (index, node) in plan.nodes.iter().enumerate() {
        let node_runs = runs(index as u32);
        if node_runs.is_empty() {
            continue;
        }
        if !first_node {
            out.push(b',');
        }
        first_node = false;
        write_json_string(node.name.as_str(), out);
        out.extend_from_slice(b":[");
        for (r, run) in node_runs.iter().enumerate() {
            if r > 0 {
                out.push(b',');
            }
            write_task(run, out);
        }
        out.push(b']');
    }
    out.push(b'}');
}

fn write_task(run: &TaskRun<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"data\":{\"main\":[");
    for (o, output) in run.outputs.iter().enumerate() {
        if o > 0 {
            out.push(b',');
        }
        match output {
            Some(items) => write_items(items, out),
            None => out.extend_from_slice(b"null"),
        }
    }
    out.extend_from_slice(b"]}");
    if let Some(error) = &run.error {
        out.extend_from_slice(b",\"error\":{\"code\":");
        write_json_string(error.code, out);
        out.extend_from_slice(b",\"message\":");
        write_json_string(error.message, out);
        out.push(b'}');
    }
    out.push(b'}');
}

fn write_items(items: &[Item<'_>], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"json\":");
        let before = out.len();
        item.json.write_json(out);
        if out.len() == before {
            out.extend_from_slice(b"{}");
        }
        if !matches!(item.binary, crate::engine::value::Value::Undefined) {
            out.extend_from_slice(b",\"binary\":");
            item.binary.write_json(out);
        }
        out.push(b'}');
    }
    out.push(b']');
}
