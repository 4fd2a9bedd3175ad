//! Node implementations, dispatched on the plan's [`NodeKind`].
//!
//! One module per node type. Each exposes `pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) ->
//! NodeResult<'a>` and branches on `ctx.version()` where versions differ. A kind without a
//! module answers a clean `LF-ENGINE-020` error, never a panic.

use linkflow_codec::plan::ArchivedNodeKind;

use super::node::{not_implemented, NodeCtx, NodeOutcome, NodeResult};

pub mod code;
pub mod coerce;
pub mod conditions;
pub mod filter;
pub mod if_node;
pub mod respond;
pub mod set;
pub mod stop_and_error;
pub mod switch;
pub mod trigger;

/// Runs the node in `ctx` once.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    match ctx.node.kind {
        ArchivedNodeKind::ManualTrigger
        | ArchivedNodeKind::Webhook
        | ArchivedNodeKind::ScheduleTrigger
        | ArchivedNodeKind::Cron
        | ArchivedNodeKind::ExecuteWorkflowTrigger => trigger::run(ctx),
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
        _ => Err(not_implemented(ctx.node)),
    }
}

/// Input 0 unchanged on output 0 (NoOp, disabled nodes).
pub fn pass_through<'a>(ctx: &NodeCtx<'a, '_>) -> NodeOutcome<'a> {
    ctx.single_output(ctx.input(0))
}

#[cfg(test)]
mod node_tests;
