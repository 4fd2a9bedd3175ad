//! Node implementations, dispatched on the plan's [`NodeKind`].
//!
//! One module per node type. Each exposes `pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) ->
//! NodeResult<'a>` and branches on `ctx.version()` where versions differ. A kind without a
//! module answers a clean `LF-ENGINE-020` error, never a panic.

use linkflow_codec::plan::ArchivedNodeKind;

use super::node::{not_implemented, NodeCtx, NodeOutcome, NodeResult};

pub mod aggregate;
pub mod code;
pub mod coerce;
pub mod conditions;
pub mod crypto;
pub mod customer_datastore;
pub mod date_time;
pub mod execute_workflow;
pub mod filter;
pub mod html;
pub mod http_request;
pub mod if_node;
pub mod item_lists;
pub mod limit;
pub mod merge;
pub mod remove_duplicates;
pub mod rename_keys;
pub mod respond;
pub mod set;
pub mod sort;
pub mod split_in_batches;
pub mod split_out;
pub mod stop_and_error;
pub mod summarize;
pub mod switch;
pub mod trigger;
pub mod wait;
pub mod xml;

/// Runs the node in `ctx` once.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    match ctx.node.kind {
        ArchivedNodeKind::ManualTrigger
        | ArchivedNodeKind::Webhook
        | ArchivedNodeKind::ScheduleTrigger
        | ArchivedNodeKind::Cron
        | ArchivedNodeKind::ExecuteWorkflowTrigger
        | ArchivedNodeKind::Interval => trigger::run(ctx),
        ArchivedNodeKind::NoOp => Ok(pass_through(ctx)),
        ArchivedNodeKind::Set => set::run(ctx),
        ArchivedNodeKind::If => if_node::run(ctx),
        ArchivedNodeKind::Switch => switch::run(ctx),
        ArchivedNodeKind::Filter => filter::run(ctx),
        ArchivedNodeKind::RespondToWebhook => respond::run(ctx),
        ArchivedNodeKind::StopAndError => stop_and_error::run(ctx),
        ArchivedNodeKind::Code | ArchivedNodeKind::Function | ArchivedNodeKind::FunctionItem => {
            code::run(ctx)
        }
        ArchivedNodeKind::Merge => merge::run(ctx),
        ArchivedNodeKind::SplitOut => split_out::run(ctx),
        ArchivedNodeKind::Aggregate => aggregate::run(ctx),
        ArchivedNodeKind::Limit => limit::run(ctx),
        ArchivedNodeKind::Sort => sort::run(ctx),
        ArchivedNodeKind::RemoveDuplicates => remove_duplicates::run(ctx),
        ArchivedNodeKind::Summarize => summarize::run(ctx),
        ArchivedNodeKind::RenameKeys => rename_keys::run(ctx),
        ArchivedNodeKind::SplitInBatches => split_in_batches::run(ctx),
        ArchivedNodeKind::Crypto => crypto::run(ctx),
        ArchivedNodeKind::DateTime => date_time::run(ctx),
        ArchivedNodeKind::Wait => wait::run(ctx),
        ArchivedNodeKind::HttpRequest => http_request::run(ctx),
        ArchivedNodeKind::ExecuteWorkflow => execute_workflow::run(ctx),
        ArchivedNodeKind::ItemLists => item_lists::run(ctx),
        ArchivedNodeKind::CustomerDatastore => customer_datastore::run(ctx),
        ArchivedNodeKind::Xml => xml::run(ctx),
        ArchivedNodeKind::Html => html::run(ctx),
        _ => Err(not_implemented(ctx.node)),
    }
}

/// Input 0 unchanged on output 0 (NoOp, disabled nodes).
pub fn pass_through<'a>(ctx: &NodeCtx<'a, '_>) -> NodeOutcome<'a> {
    ctx.single_output(ctx.input(0))
}

#[cfg(test)]
mod coverage_tests;
#[cfg(test)]
mod node_tests;
#[cfg(test)]
mod transform_tests;
