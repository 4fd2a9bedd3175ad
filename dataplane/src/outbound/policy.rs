//! Retry and circuit-breaker policy for outbound calls, sans IO: time and randomness are
//! inputs, decisions are outputs, so tests drive them with a fake clock.
//!
//! Retries (DESIGN.md, Resilience): exponential backoff from 100 ms, at most 10 s per
//! pause, 3 attempts in all, ±10 % jitter, on 429/502/503/504 and on connect errors; a
//! `Retry-After` the server sends replaces the backoff (a pause longer than the maximum
//! gives up instead of holding the execution). The breaker (one per host): 5 consecutive
//! failures open it, it refuses calls for 30 s, then lets 3 probes through; 3 successful
//! probes close it, a failed probe opens it again.

/// Retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Pause before the second attempt, milliseconds.
    pub initial_backoff_ms: u64,
    /// Longest pause, milliseconds.
    pub max_backoff_ms: u64,
    /// Attempts in all (1 = no retry).
    pub attempts_max: u32,
    /// Jitter, percent of the pause either way.
    pub jitter_percent: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff_ms: 100,
            max_backoff_ms: 10_000,
            attempts_max: 3,
            jitter_percent: 10,
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// A response arrived with this status; `retry_after_ms` from its `Retry-After`.
    Status {
        /// Status code.
        status: u16,
        /// Pause the server asked for, if any.
        retry_after_ms: Option<u64>,
    },
    /// The connection could not be made (refused, unreachable, DNS, TLS handshake): the
    /// request was never sent, so retrying cannot repeat it.
    ConnectFailed,
    /// The request was (maybe) sent and then failed: timeout, reset, bad response.
    Failed,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Pause this long, then try again.
    Retry {
        /// Pause, milliseconds.
        wait_ms: u64,
    },
    /// Keep this attempt's result.
    Stop,
}

/// Whether a status is worth retrying (rate limited or a gateway/availability failure).
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

impl RetryPolicy {
    /// Decides after attempt number `attempt` (1-based) ended as `outcome`; `random` is
    /// any 64-bit random value (it only places the jitter).
    pub fn decide(&self, attempt: u32, outcome: Attempt, random: u64) -> Decision {
        debug_assert!(attempt >= 1, "attempts count from 1");
        if attempt >= self.attempts_max {
            return Decision::Stop;
        }
        let retry_after_ms = match outcome {
            Attempt::Status {
                status,
                retry_after_ms,
            } if retryable_status(status) => retry_after_ms,
            Attempt::ConnectFailed => None,
            Attempt::Status { .. } | Attempt::Failed => return Decision::Stop,
        };
        if let Some(wait_ms) = retry_after_ms {
            return if wait_ms > self.max_backoff_ms {
                Decision::Stop
            } else {
                Decision::Retry { wait_ms }
            };
        }
        Decision::Retry {
            wait_ms: self.backoff_ms(attempt, random),
        }
    }

    /// The jittered pause after attempt `attempt`: `initial × 2^(attempt-1)`, capped, then
    /// moved by up to ±`jitter_percent` %.
    pub fn backoff_ms(&self, attempt: u32, random: u64) -> u64 {
        let doublings = attempt.saturating_sub(1).min(32);
        let base = self
            .initial_backoff_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_backoff_ms);
        let spread = base * self.jitter_percent / 100;
        if spread == 0 {
            return base;
        }
        // random in [0, 2·spread] shifted to [-spread, +spread].
        let offset = random % (2 * spread + 1);
        (base + offset).saturating_sub(spread)
    }
}

/// Parses a `Retry-After` value (delay seconds or an HTTP date) into milliseconds from
/// `now_ms`; `None` when it is neither.
pub fn retry_after_ms(value: &str, now_ms: i64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(at.timestamp_millis().saturating_sub(now_ms).max(0) as u64)
}

/// Breaker settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker.
    pub failures_to_open: u32,
    /// How long an open breaker refuses calls, milliseconds.
    pub open_ms: i64,
    /// Probes let through (and successes needed) when half open.
    pub half_open_probes: u32,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failures_to_open: 5,
            open_ms: 30_000,
            half_open_probes: 3,
        }
    }
}

/// The state a breaker is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass; consecutive failures are counted.
    Closed {
        /// Consecutive failures so far.
        failures: u32,
    },
    /// Calls are refused until `until_ms`.
    Open {
        /// When probing may start.
        until_ms: i64,
    },
    /// A few probes pass.
    HalfOpen {
        /// Probes let through and not yet answered.
        in_flight: u32,
        /// Probes that succeeded.
        succeeded: u32,
    },
}

/// A call the breaker let through; hand it back to [`Breaker::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "the breaker must hear how the call ended"]
pub struct Permit {
    probe: bool,
}

/// One host's circuit breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    policy: BreakerPolicy,
    state: BreakerState,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(policy: BreakerPolicy) -> Self {
        assert!(policy.failures_to_open > 0 && policy.half_open_probes > 0);
        Breaker {
            policy,
            state: BreakerState::Closed { failures: 0 },
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Lets a call through, or refuses it (`Err` carries when it may be tried again).
    pub fn admit(&mut self, now_ms: i64) -> Result<Permit, i64> {
        match self.state {
            BreakerState::Closed { .. } => Ok(Permit { probe: false }),
            BreakerState::Open { until_ms } if now_ms < until_ms => Err(until_ms),
            BreakerState::Open { .. } => {
                self.state = BreakerState::HalfOpen {
                    in_flight: 1,
                    succeeded: 0,
                };
                Ok(Permit { probe: true })
            }
            BreakerState::HalfOpen {
                in_flight,
                succeeded,
            } => {
                if in_flight + succeeded >= self.policy.half_open_probes {
                    return Err(now_ms);
                }
                self.state = BreakerState::HalfOpen {
                    in_flight: in_flight + 1,
                    succeeded,
                };
                Ok(Permit { probe: true })
            }
        }
    }

    /// Records how a permitted call ended.
    pub fn record(&mut self, permit: Permit, success: bool, now_ms: i64) {
        let open = BreakerState::Open {
            until_ms: now_ms.saturating_add(self.policy.open_ms),
        };
        self.state = match (self.state, permit.probe) {
            (BreakerState::HalfOpen { .. }, true) if !success => open,
            (
                BreakerState::HalfOpen {
                    in_flight,
                    succeeded,
                },
                true,
            ) => {
                let succeeded = succeeded + 1;
                if succeeded >= self.policy.half_open_probes {
                    BreakerState::Closed { failures: 0 }
                } else {
                    BreakerState::HalfOpen {
                        in_flight: in_flight.saturating_sub(1),
                        succeeded,
                    }
                }
            }
            (BreakerState::Closed { .. }, _) if success => BreakerState::Closed { failures: 0 },
            (BreakerState::Closed { failures }, _) => {
                let failures = failures + 1;
                if failures >= self.policy.failures_to_open {
                    open
                } else {
                    BreakerState::Closed { failures }
                }
            }
            // A call admitted before the breaker changed state (e.g. closed-era calls
            // ending while it is open or probing) does not move it.
            (state, _) => state,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_100ms_with_bounded_jitter() {
        let policy = RetryPolicy::default();
        for random in [0u64, 7, 20, 1 << 40, u64::MAX] {
            let first = policy.backoff_ms(1, random);
            assert!((90..=110).contains(&first), "{first}");
            let second = policy.backoff_ms(2, random);
            assert!((180..=220).contains(&second), "{second}");
        }
        assert_eq!(policy.backoff_ms(1, 0), 90);
        assert_eq!(policy.backoff_ms(1, 20), 110);
        // Capped at 10 s (±10 %) however many attempts.
        let late = policy.backoff_ms(30, 5);
        assert!((9_000..=11_000).contains(&late), "{late}");
    }

    #[test]
    fn retries_on_gateway_statuses_and_connect_errors_then_stops_at_three_attempts() {
        let policy = RetryPolicy::default();
        let status = |status| Attempt::Status {
            status,
            retry_after_ms: None,
        };
        for code in [429, 502, 503, 504] {
            assert!(matches!(
                policy.decide(1, status(code), 0),
                Decision::Retry { .. }
            ));
        }
        assert!(matches!(
            policy.decide(2, Attempt::ConnectFailed, 0),
            Decision::Retry { .. }
        ));
        assert_eq!(policy.decide(3, status(503), 0), Decision::Stop);
        for code in [200, 400, 404, 500, 501] {
            assert_eq!(policy.decide(1, status(code), 0), Decision::Stop);
        }
        assert_eq!(policy.decide(1, Attempt::Failed, 0), Decision::Stop);
    }

    #[test]
    fn retry_after_replaces_backoff_and_too_long_gives_up() {
        let policy = RetryPolicy::default();
        let answer = |ms| Attempt::Status {
            status: 503,
            retry_after_ms: Some(ms),
        };
        assert_eq!(
            policy.decide(1, answer(2_000), 0),
            Decision::Retry { wait_ms: 2_000 }
        );
        assert_eq!(policy.decide(1, answer(60_000), 0), Decision::Stop);
        assert_eq!(retry_after_ms("3", 0), Some(3_000));
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            retry_after_ms("Wed, 21 Oct 2015 07:28:05 GMT", now),
            Some(5_000)
        );
        assert_eq!(
            retry_after_ms("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(0)
        );
        assert_eq!(retry_after_ms("soon", now), None);
    }

    #[test]
    fn breaker_opens_after_five_failures_and_refuses_for_thirty_seconds() {
        let mut breaker = Breaker::new(BreakerPolicy::default());
        for i in 0..4 {
            let permit = breaker.admit(i).expect("closed");
            breaker.record(permit, false, i);
        }
        assert_eq!(breaker.state(), BreakerState::Closed { failures: 4 });
        let permit = breaker.admit(10).expect("still closed");
        breaker.record(permit, false, 10);
        assert_eq!(breaker.state(), BreakerState::Open { until_ms: 30_010 });
        assert_eq!(breaker.admit(30_009), Err(30_010));
        assert!(breaker.admit(30_010).is_ok(), "first probe after 30 s");
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let mut breaker = Breaker::new(BreakerPolicy::default());
        for _ in 0..4 {
            let permit = breaker.admit(0).unwrap();
            breaker.record(permit, false, 0);
        }
        let permit = breaker.admit(0).unwrap();
        breaker.record(permit, true, 0);
        assert_eq!(breaker.state(), BreakerState::Closed { failures: 0 });
    }

    #[test]
    fn half_open_lets_three_probes_through_and_closes_after_three_successes() {
        let mut breaker = Breaker::new(BreakerPolicy {
            failures_to_open: 1,
            ..BreakerPolicy::default()
        });
        let permit = breaker.admit(0).unwrap();
        breaker.record(permit, false, 0);
        let probes: Vec<Permit> = (0..3).map(|_| breaker.admit(30_000).unwrap()).collect();
        assert!(breaker.admit(30_000).is_err(), "only three probes");
        for (i, probe) in probes.into_iter().enumerate() {
            breaker.record(probe, true, 30_001);
            if i < 2 {
                assert!(matches!(breaker.state(), BreakerState::HalfOpen { .. }));
            }
        }
        assert_eq!(breaker.state(), BreakerState::Closed { failures: 0 });
    }

    #[test]
    fn a_failed_probe_opens_the_breaker_again() {
        let mut breaker = Breaker::new(BreakerPolicy {
            failures_to_open: 1,
            ..BreakerPolicy::default()
        });
        let permit = breaker.admit(0).unwrap();
        breaker.record(permit, false, 0);
        let probe = breaker.admit(31_000).unwrap();
        breaker.record(probe, false, 31_500);
        assert_eq!(breaker.state(), BreakerState::Open { until_ms: 61_500 });
        assert!(breaker.admit(61_499).is_err());
    }
}
