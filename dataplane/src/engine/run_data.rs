//! What an execution remembers of each node run: n8n's `runData`. Expressions read it
//! (`$('Name')`, `$input`, paired-item lineage) and the trace is built from it.

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use linkflow_codec::plan::ArchivedPlan;

use super::item::Item;
use super::node::Outputs;

/// Where the items of one input came from (n8n `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Node index of the producer.
    pub node: u32,
    /// Output index on the producer.
    pub output: u32,
    /// Run index of the producer.
    pub run: u32,
}

/// A node run's error as recorded (message copied into the arena, so recorded runs need
/// no drop and can live in arena vectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunError<'a> {
    /// Stable code of the node error.
    pub code: &'static str,
    /// n8n's message.
    pub message: &'a str,
}

/// Recorded runs of every node, by node index (arena-backed).
pub type RunTable<'a> = BumpVec<'a, BumpVec<'a, TaskRun<'a>>>;

/// One recorded run of a node (n8n `ITaskData`).
#[derive(Debug, Clone, Copy)]
pub struct TaskRun<'a> {
    /// Items per output (`None` slot = no data on that output).
    pub outputs: Outputs<'a>,
    /// Items per input, as the node saw them (lineage stamped).
    pub inputs: &'a [Option<&'a [Item<'a>]>],
    /// Producer of each input.
    pub sources: &'a [Option<Source>],
    /// The node's error when it failed (also when it continued on fail). In the arena:
    /// a pointer keeps the record of every successful run small.
    pub error: Option<&'a RunError<'a>>,
    /// Position of this run in the execution's run order (0 for the first node run
    /// recorded): the order in which the runs of different nodes happened.
    pub seq: u32,
}

/// One line of an execution trace (n8n execution record, per node run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// Node name.
    pub node: String,
    /// Run index.
    pub run: u32,
    /// Item count per output (`None` = no data on that output).
    pub outputs: Vec<Option<usize>>,
    /// n8n's error message when the run failed.
    pub error: Option<String>,
}

/// Read-only view of an execution's data for expressions and JavaScript: the running
/// node, its input, and every earlier run.
pub struct ExecView<'a, 'x> {
    /// The execution's arena.
    pub arena: &'a Bump,
    /// The plan.
    pub plan: &'a ArchivedPlan,
    /// Runs per node index.
    pub runs: &'x [BumpVec<'a, TaskRun<'a>>],
    /// The running node.
    pub node: u32,
    /// Its inputs (lineage stamped).
    pub inputs: &'a [Option<&'a [Item<'a>]>],
    /// Producer of each input.
    pub sources: &'a [Option<Source>],
    /// Its run index.
    pub run_index: u32,
    /// The clock (Unix epoch milliseconds).
    pub now_ms: i64,
    /// The execution id.
    pub execution_id: &'a str,
    /// n8n's execution mode (`webhook`, `manual`, `trigger`, `integrated`).
    pub mode: &'a str,
}

/// Errors of `$('Name')` look-ups, with n8n's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// No node of that name in the workflow.
    NoSuchNode(String),
    /// The node exists but has not run (yet) in this execution.
    NotExecuted(String),
    /// Paired-item lineage does not lead to the node.
    NoPairedItem(String),
}

impl LookupError {
    /// n8n's message.
    pub fn message(&self) -> String {
        match self {
            LookupError::NoSuchNode(name) => format!("Referenced node doesn't exist: {name}"),
            LookupError::NotExecuted(name) => {
                format!("Node '{name}' hasn't been executed")
            }
            LookupError::NoPairedItem(name) => {
                format!("Paired item data for item from node '{name}' is unavailable")
            }
        }
    }
}

impl<'a> ExecView<'a, '_> {
    /// Items of the running node's main input (the first input with data, as n8n's v1).
    pub fn input_items(&self) -> &'a [Item<'a>] {
        self.inputs
            .iter()
            .flatten()
            .find(|items| !items.is_empty())
            .copied()
            .unwrap_or(&[])
    }

    /// Node index by name.
    pub fn node_index(&self, name: &str) -> Option<u32> {
        self.plan
            .nodes
            .iter()
            .position(|n| n.name.as_str() == name)
            .map(|i| i as u32)
    }

    /// Name of the running node.
    pub fn node_name(&self) -> &'a str {
        self.plan.nodes[self.node as usize].name.as_str()
    }

    /// The runs of node `name`, or why there are none.
    pub fn runs_of(&self, name: &str) -> Result<&[TaskRun<'a>], LookupError> {
        let index = self
            .node_index(name)
            .ok_or_else(|| LookupError::NoSuchNode(name.to_owned()))?;
        let runs = &self.runs[index as usize];
        if runs.is_empty() {
            return Err(LookupError::NotExecuted(name.to_owned()));
        }
        Ok(runs)
    }

    /// Items on output `output` of run `run` (last run when `None`) of node `name`:
    /// `$('Name').all(output, run)`.
    pub fn node_items(
        &self,
        name: &str,
        output: usize,
        run: Option<usize>,
    ) -> Result<&'a [Item<'a>], LookupError> {
        let runs = self.runs_of(name)?;
        let task = match run {
            Some(r) => runs.get(r),
            // `$('Name')` in n8n reads the run that fed the current run, which is the
            // latest one for every acyclic workflow.
            None => runs.last(),
        };
        Ok(task
            .and_then(|t| t.outputs.get(output).copied().flatten())
            .unwrap_or(&[]))
    }

    /// `$('Name').item` for input item `item` of the running node: follows paired-item
    /// lineage back through the producers until it reaches `name`.
    pub fn paired_item(&self, name: &str, item: usize) -> Result<Item<'a>, LookupError> {
        let target = self
            .node_index(name)
            .ok_or_else(|| LookupError::NoSuchNode(name.to_owned()))?;
        if self.runs[target as usize].is_empty() && target != self.node {
            return Err(LookupError::NotExecuted(name.to_owned()));
        }
        let no_pair = || LookupError::NoPairedItem(name.to_owned());
        // Start from the running node's input item and its producer.
        let input_index = self
            .inputs
            .iter()
            .position(|items| items.is_some_and(|i| !i.is_empty()))
            .unwrap_or(0);
        let mut source = self
            .sources
            .get(input_index)
            .copied()
            .flatten()
            .ok_or_else(no_pair)?;
        let mut index = item;
        // Each hop moves one node up; a workflow has at most `nodes.len()` distinct nodes
        // on a path, but loops may revisit, so bound by the number of recorded runs.
        let hops_max: usize = self.runs.iter().map(|r| r.len()).sum::<usize>() + 1;
        for _ in 0..hops_max {
            let task = self.runs[source.node as usize]
                .get(source.run as usize)
                .ok_or_else(no_pair)?;
            let items = task
                .outputs
                .get(source.output as usize)
                .copied()
                .flatten()
                .ok_or_else(no_pair)?;
            let found = *items.get(index).ok_or_else(no_pair)?;
            if source.node == target {
                return Ok(found);
            }
            let paired = found.paired.first().ok_or_else(no_pair)?;
            source = task
                .sources
                .get(paired.input as usize)
                .copied()
                .flatten()
                .ok_or_else(no_pair)?;
            index = paired.item as usize;
        }
        Err(no_pair())
    }
}
