//! Admission control of one shard: a bounded queue of admitted requests and a recent
//! service time, so a request whose wait would break its plan's latency budget is refused
//! at once (503 + Retry-After) instead of being served late.
//!
//! Single-threaded (the shard owns it): plain `Cell`s, no atomics.

use std::cell::Cell;
use std::time::Instant;

/// Default bound of requests admitted but not yet executed on one shard.
pub const QUEUE_DEPTH_MAX_DEFAULT: usize = 1024;
/// Weight of the newest sample in the service-time moving average (1/8, like TCP's SRTT).
const EWMA_WEIGHT: f64 = 0.125;
/// Weight of the newest sample in the mean deviation (1/4, like TCP's RTTVAR).
const DEVIATION_WEIGHT: f64 = 0.25;
/// Deviations added to the mean service time when predicting a wait: a budget is a p99
/// promise, so admission plans for slower-than-average executions, not the average.
const DEVIATIONS_OF_HEADROOM: f64 = 2.0;
/// `Retry-After` seconds sent with a 503.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Queue depth × recent service time exceeds the plan's budget.
    Budget,
    /// The shard's queue bound is reached.
    QueueFull,
}

/// A shard's admission state.
#[derive(Debug)]
pub struct Admission {
    queue_depth_max: usize,
    queued: Cell<usize>,
    service_us: Cell<f64>,
    deviation_us: Cell<f64>,
    last_completion: Cell<Option<Instant>>,
}

impl Admission {
    /// Admission with a queue bound of `queue_depth_max` requests.
    pub fn new(queue_depth_max: usize) -> Self {
        Admission {
            queue_depth_max,
            queued: Cell::new(0),
            service_us: Cell::new(0.0),
            deviation_us: Cell::new(0.0),
            last_completion: Cell::new(None),
        }
    }

    /// Decides for a request of a plan with `budget_ms` (0 = no budget). On success the
    /// request counts as queued until [`Admission::leave`].
    pub fn enter(&self, budget_ms: u32) -> Result<(), Refusal> {
        let queued = self.queued.get();
        if queued >= self.queue_depth_max {
            return Err(Refusal::QueueFull);
        }
        // An empty queue always admits. Why: the service-time estimate only changes when an
        // admitted request completes, so refusing the lone request too would refuse the
        // workflow forever after one slow period (a loaded machine, a slow dependency):
        // the estimate could never come back down. A lone request waits for nothing; if
        // it still runs past the budget, that is counted as a budget violation.
        if budget_ms > 0 && queued > 0 {
            // The request waits for everything queued ahead of it, then runs itself.
            let per_request_us =
                self.service_us.get() + DEVIATIONS_OF_HEADROOM * self.deviation_us.get();
            let predicted_us = (queued as f64 + 1.0) * per_request_us;
            if predicted_us > f64::from(budget_ms) * 1000.0 {
                return Err(Refusal::Budget);
            }
        }
        self.queued.set(queued + 1);
        Ok(())
    }

    /// The admitted request starts executing.
    pub fn leave(&self) {
        self.queued.set(self.queued.get().saturating_sub(1));
    }

    /// Records that a request received at `received` completed at `now`. The cost fed to
    /// the average is the time since the previous completion (what the shard really spent
    /// per executed request: the execution plus reading, refusing and writing everything
    /// else meanwhile), but never more than this request's own latency, so idle gaps
    /// between requests do not count.
    pub fn record_completion(&self, received: Instant, now: Instant) {
        let own = now.saturating_duration_since(received);
        let since_previous = self
            .last_completion
            .get()
            .map_or(own, |previous| now.saturating_duration_since(previous));
        self.last_completion.set(Some(now));
        self.record_service(own.min(since_previous).as_secs_f64() * 1e6);
    }

    /// Feeds one execution's service time into the moving average.
    pub fn record_service(&self, service_us: f64) {
        let previous = self.service_us.get();
        if previous == 0.0 {
            self.service_us.set(service_us);
            return;
        }
        let deviation = self.deviation_us.get();
        self.deviation_us
            .set(deviation + DEVIATION_WEIGHT * ((service_us - previous).abs() - deviation));
        self.service_us
            .set(previous + EWMA_WEIGHT * (service_us - previous));
    }

    /// Requests admitted and not yet executing.
    pub fn queued(&self) -> usize {
        self.queued.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_refuses_when_queue_times_service_exceeds_it() {
        let admission = Admission::new(100);
        admission.record_service(4_000.0); // 4 ms per execution
        assert_eq!(admission.enter(10), Ok(())); // 1 × 4 ms
        assert_eq!(admission.enter(10), Ok(())); // 2 × 4 ms
        assert_eq!(admission.enter(10), Err(Refusal::Budget)); // 3 × 4 ms > 10 ms
        assert_eq!(admission.enter(0), Ok(())); // no budget: only the bound applies
        admission.leave();
        admission.leave();
        admission.leave();
        assert_eq!(admission.queued(), 0);
    }

    #[test]
    fn an_empty_queue_admits_so_a_slow_estimate_can_recover() {
        let admission = Admission::new(100);
        admission.record_service(100_000.0); // one slow period: 100 ms per execution
                                             // Nothing queued: admitted although 100 ms > 10 ms; a second one waits: refused.
        assert_eq!(admission.enter(10), Ok(()));
        assert_eq!(admission.enter(10), Err(Refusal::Budget));
        admission.leave();
        // The lone requests complete fast again and bring the estimate down ...
        for _ in 0..64 {
            assert_eq!(admission.enter(10), Ok(()));
            admission.leave();
            admission.record_service(1_000.0);
        }
        // ... until queued requests are admitted again.
        assert_eq!(admission.enter(10), Ok(()));
        assert_eq!(admission.enter(10), Ok(()));
        assert_eq!(admission.queued(), 2);
    }

    #[test]
    fn queue_bound_refuses_even_without_budget() {
        let admission = Admission::new(1);
        assert_eq!(admission.enter(0), Ok(()));
        assert_eq!(admission.enter(0), Err(Refusal::QueueFull));
    }
}
