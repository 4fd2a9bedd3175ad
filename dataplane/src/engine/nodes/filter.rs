//! Filter v1/v2: keeps the items whose conditions pass; v2 (and v1 with
//! `options.allowFallthrough`) puts the others on a second "discarded" output.

use super::conditions::evaluate;
use crate::engine::node::{NodeCtx, NodeResult};

/// Runs a Filter node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    let mut kept = ctx.items_with_capacity(input.len());
    let mut discarded = ctx.items_with_capacity(0);
    for (i, item) in input.iter().enumerate() {
        match evaluate(ctx, "conditions", i) {
            Ok(true) => kept.push(*item),
            Ok(false) => discarded.push(*item),
            Err(_) if ctx.continue_on_fail() => discarded.push(*item),
            Err(error) => return Err(error.at_item(i)),
        }
    }
    // Filter v2 always returns both lists (the trace records two outputs); v1 has one.
    if ctx.version() >= 2.0 || ctx.param_bool("options.allowFallthrough", 0, false)? {
        Ok(ctx.outputs(&[kept.into_bump_slice(), discarded.into_bump_slice()]))
    } else {
        Ok(ctx.single_output(kept.into_bump_slice()))
    }
}
