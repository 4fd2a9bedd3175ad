//! Reading an execution back: its recorded runs, the node-run trace and the outcome.

use super::{ExecError, Execution, Outcome, Services};
use crate::engine::item::Item;
use crate::engine::run_data::{TaskRun, TraceEntry};

impl<'a, S: Services<'a>> Execution<'a, S> {
    /// The node `resultData.lastNodeExecuted` names.
    pub fn last_node(&self) -> Option<u32> {
        self.last_node
    }

    /// All recorded runs of node `index`.
    pub fn runs(&self, index: u32) -> &[TaskRun<'a>] {
        &self.runs[index as usize]
    }

    /// Output 0 of the last run of the last executed node (what `lastNode` webhooks send).
    pub fn last_node_items(&self) -> &'a [Item<'a>] {
        self.last_node
            .and_then(|n| self.runs[n as usize].last())
            .and_then(|run| run.outputs.first().copied().flatten())
            .unwrap_or(&[])
    }

    /// Whether a response was already handed out.
    pub fn responded(&self) -> bool {
        self.responded
    }

    /// Every node run in execution order.
    pub fn trace(&self) -> Vec<TraceEntry> {
        // The runs are kept by node; their sequence numbers give the order back.
        let mut order: Vec<(u32, u32, &TaskRun<'a>)> = self
            .runs
            .iter()
            .enumerate()
            .flat_map(|(node, runs)| {
                runs.iter()
                    .enumerate()
                    .map(move |(run, task)| (node as u32, run as u32, task))
            })
            .collect();
        order.sort_unstable_by_key(|&(_, _, task)| task.seq);
        order
            .into_iter()
            .map(|(node, run, task)| TraceEntry {
                node: self.plan.nodes[node as usize].name.as_str().to_owned(),
                run,
                outputs: task.outputs.iter().map(|o| o.map(<[Item]>::len)).collect(),
                error: task.error.map(|e| e.message.to_owned()),
            })
            .collect()
    }

    /// The execution's outcome so far.
    pub fn outcome(&self) -> Outcome {
        if let Some(error) = &self.error {
            return Outcome::Failed(error.clone());
        }
        if let Some(node) = self.last_node {
            if let Some(error) = self.runs[node as usize].last().and_then(|r| r.error) {
                return Outcome::Failed(ExecError {
                    code: error.code,
                    message: error.message.to_owned(),
                    node: Some(self.plan.nodes[node as usize].name.as_str().to_owned()),
                });
            }
        }
        Outcome::Success
    }
}
