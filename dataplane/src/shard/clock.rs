//! Where a shard's executions read the time and how their timers fire.
//!
//! A data-plane shard reads the wall clock and sleeps on glommio's timer until a Wait node
//! (or a retry pause) is due. `linkflow run` runs the same effect code on a shard of its
//! own (`local`), but by default with a virtual clock: a timer fires at once and the
//! clock jumps past it, so a workflow with a one-hour Wait runs in milliseconds and
//! `$now` after the wait reads one hour later, as it would on the data plane.

use std::cell::Cell;

/// What a timer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timers {
    /// Sleep until it is due (at most `effects::TIMER_WAIT_MS_MAX`): the data plane.
    Sleep,
    /// Fire at once and move the virtual clock past it: `linkflow run` by default.
    Skip,
}

/// The time base of a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBase {
    /// The wall clock.
    Wall,
    /// Always this instant, Unix epoch milliseconds (deterministic runs: the golden tests).
    Fixed(i64),
}

/// A shard's clock: a time base plus the waits skipped so far.
#[derive(Debug)]
pub(crate) struct Clock {
    base: TimeBase,
    timers: Timers,
    /// Milliseconds of timers fired ahead of time ([`Timers::Skip`]); never negative.
    skipped_ms: Cell<i64>,
}

impl Clock {
    /// The data plane's clock: wall time, timers sleep.
    pub(crate) fn wall() -> Self {
        Self::new(TimeBase::Wall, Timers::Sleep)
    }

    /// A clock on `base` whose timers behave as `timers` say.
    pub(crate) fn new(base: TimeBase, timers: Timers) -> Self {
        Clock {
            base,
            timers,
            skipped_ms: Cell::new(0),
        }
    }

    /// The execution's time (what `poll` and `$now` see): the base plus skipped waits.
    pub(crate) fn now_ms(&self) -> i64 {
        self.base_ms().saturating_add(self.skipped_ms.get())
    }

    /// The time base without skipped waits: what the wall-time limit of an execution
    /// reads, so a skipped one-hour wait does not count against it.
    pub(crate) fn base_ms(&self) -> i64 {
        match self.base {
            TimeBase::Wall => super::now_ms(),
            TimeBase::Fixed(ms) => ms,
        }
    }

    /// How timers behave.
    pub(crate) fn timers(&self) -> Timers {
        self.timers
    }

    /// Fires a timer due at `at_ms` ahead of time: the clock moves to it (never back).
    pub(crate) fn skip_to(&self, at_ms: i64) {
        debug_assert_eq!(self.timers, Timers::Skip, "only a virtual clock skips");
        let ahead_ms = at_ms.saturating_sub(self.now_ms());
        if ahead_ms > 0 {
            self.skipped_ms
                .set(self.skipped_ms.get().saturating_add(ahead_ms));
        }
        debug_assert!(self.skipped_ms.get() >= 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipping_a_timer_moves_the_clock_to_it_and_never_back() {
        let clock = Clock::new(TimeBase::Fixed(1_000), Timers::Skip);
        clock.skip_to(61_000);
        assert_eq!(clock.now_ms(), 61_000);
        assert_eq!(
            clock.base_ms(),
            1_000,
            "the wall-time limit does not see skips"
        );
        clock.skip_to(5_000);
        assert_eq!(clock.now_ms(), 61_000, "a timer already due moves nothing");
    }
}
