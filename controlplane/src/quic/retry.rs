//! Retry timing (sans-IO): the caller sleeps, this only says how long.

use std::time::Duration;

/// Exponential backoff with jitter, the platform's outbound policy: 100 ms initial, doubling,
/// at most 10 s, 3 attempts in all, ±10 % jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the second attempt.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Jitter as a fraction of the delay (0.1 = ±10 %).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            attempts: 3,
            jitter: 0.1,
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The delay after failed attempt `failed` (1-based), or `None` when no attempt is left.
    /// `unit` in `[0, 1)` picks the jitter (0.5 = none).
    pub fn delay(&self, failed: u32, unit: f64) -> Option<Duration> {
        if failed == 0 || failed >= self.attempts {
            return None;
        }
        let doublings = (failed - 1).min(30);
        let base = self.initial.saturating_mul(1u32 << doublings).min(self.max);
        let factor = 1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        Some(base.mul_f64(factor.max(0.0)))
    }
}

/// A uniform number in `[0, 1)` for jitter (OS randomness; 0.5 if unavailable).
pub fn jitter_unit() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_100ms_doubling_three_attempts() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1, 0.5), Some(Duration::from_millis(100)));
        assert_eq!(policy.delay(2, 0.5), Some(Duration::from_millis(200)));
        assert_eq!(policy.delay(3, 0.5), None);
        assert_eq!(RetryPolicy::none().delay(1, 0.5), None);
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_max_caps() {
        let policy = RetryPolicy::default();
        let low = policy.delay(1, 0.0).unwrap();
        let high = policy.delay(1, 0.999_999).unwrap();
        assert_eq!(low, Duration::from_millis(90));
        assert!(high <= Duration::from_millis(110) && high > Duration::from_millis(109));
        let long = RetryPolicy {
            attempts: 50,
            ..policy
        };
        assert_eq!(long.delay(40, 0.5), Some(Duration::from_secs(10)));
        let unit = jitter_unit();
        assert!((0.0..1.0).contains(&unit));
    }
}
