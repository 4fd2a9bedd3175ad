//! Limit v1: keeps the first (or last) `maxItems` input items.

use crate::engine::node::{NodeCtx, NodeResult};

/// Runs a Limit node.
pub fn run<'a>(ctx: &mut NodeCtx<'a, '_>) -> NodeResult<'a> {
    let input = ctx.main_input();
    // n8n reads the parameters once, for item 0.
    let max = ctx.param_f64("maxItems", 0, 1.0)?;
    let keep_last = ctx.param_str("keep", 0, "firstItems")? == "lastItems";
    Ok(ctx.single_output(limit(input, max, keep_last)))
}

/// The first (or last) `max` items; a negative or NaN `max` keeps none, as `slice` would
/// with a non-positive count in n8n's node.
pub fn limit<T>(items: &[T], max: f64, keep_last: bool) -> &[T] {
    let count = if max.is_nan() || max <= 0.0 {
        0
    } else {
        (max.floor() as usize).min(items.len())
    };
    if keep_last {
        &items[items.len() - count..]
    } else {
        &items[..count]
    }
}

#[cfg(test)]
mod tests {
    use super::limit;

    #[test]
    fn first_items_are_kept_by_default() {
        assert_eq!(limit(&[1, 2, 3], 2.0, false), &[1, 2]);
    }

    #[test]
    fn last_items_are_kept_from_the_end() {
        assert_eq!(limit(&[1, 2, 3], 2.0, true), &[2, 3]);
    }

    #[test]
    fn a_limit_above_the_count_keeps_everything() {
        assert_eq!(limit(&[1], 5.0, false), &[1]);
        assert_eq!(limit::<i32>(&[], 5.0, true), &[] as &[i32]);
    }

    #[test]
    fn non_positive_or_nan_limits_keep_nothing() {
        assert!(limit(&[1, 2], 0.0, false).is_empty());
        assert!(limit(&[1, 2], -3.0, true).is_empty());
        assert!(limit(&[1, 2], f64::NAN, false).is_empty());
    }
}
