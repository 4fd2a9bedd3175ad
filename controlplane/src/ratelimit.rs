//! Per-identity request budgets by tier (fixed one-hour windows), answered with 429 and
//! `Retry-After` when spent.
//!
//! Tiers: `anonymous` (unauthenticated routes, keyed by client IP), `authenticated`,
//! `premium`, `enterprise` (keyed by user). Limits are configurable; `None` is unlimited.
//! State is in memory, per control-plane process: with several control planes behind a
//! load balancer each enforces its own share.

use std::collections::HashMap;

use parking_lot::Mutex;
use serde::Deserialize;

/// Length of a rate-limit window, in milliseconds.
pub const WINDOW_MS: i64 = 3_600_000;
/// Identities tracked at once; bounds memory against floods of distinct client addresses.
pub const IDENTITIES_TRACKED_MAX: usize = 100_000;

/// Requests per window for each tier (`None` = unlimited).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TierLimits {
    /// Unauthenticated callers (setup, login, refresh), per client address.
    pub anonymous: Option<u32>,
    /// Ordinary users and API keys.
    pub authenticated: Option<u32>,
    /// Users with tier `premium`.
    pub premium: Option<u32>,
    /// Users with tier `enterprise`.
    pub enterprise: Option<u32>,
}

impl Default for TierLimits {
    fn default() -> TierLimits {
        TierLimits {
            anonymous: Some(100),
            authenticated: Some(1_000),
            premium: Some(10_000),
            enterprise: None,
        }
    }
}

impl TierLimits {
    /// The limit of a tier by name; unknown tiers get the `authenticated` budget.
    pub fn of(&self, tier: &str) -> Option<u32> {
        match tier {
            "anonymous" => self.anonymous,
            "premium" => self.premium,
            "enterprise" => self.enterprise,
            _ => self.authenticated,
        }
    }
}

/// Counts requests per identity.
#[derive(Debug)]
pub struct RateLimiter {
    limits: TierLimits,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: i64,
    count: u32,
}

impl RateLimiter {
    /// A limiter enforcing `limits`.
    pub fn new(limits: TierLimits) -> RateLimiter {
        RateLimiter {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `key` in `tier` at `now_ms`. `Err(seconds)` when the budget
    /// is spent: the seconds until the window resets (for `Retry-After`).
    pub fn check(&self, key: &str, tier: &str, now_ms: i64) -> Result<(), u64> {
        let Some(limit) = self.limits.of(tier) else {
            return Ok(());
        };
        let mut windows = self.windows.lock();
        if !windows.contains_key(key) && windows.len() >= IDENTITIES_TRACKED_MAX {
            windows.retain(|_, w| now_ms - w.start_ms < WINDOW_MS);
            if windows.len() >= IDENTITIES_TRACKED_MAX {
                // Still full of live windows: refuse newcomers rather than grow unbounded.
                return Err(1);
            }
        }
        let window = windows.entry(key.to_owned()).or_insert(Window {
            start_ms: now_ms,
            count: 0,
        });
        if now_ms - window.start_ms >= WINDOW_MS {
            *window = Window {
                start_ms: now_ms,
                count: 0,
            };
        }
        if window.count >= limit {
            let reset_ms = window.start_ms + WINDOW_MS - now_ms;
            return Err(u64::try_from(reset_ms.max(1000) / 1000).unwrap_or(1));
        }
        window.count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(authenticated: u32) -> RateLimiter {
        RateLimiter::new(TierLimits {
            authenticated: Some(authenticated),
            ..TierLimits::default()
        })
    }

    #[test]
    fn budget_is_spent_then_refused_with_time_to_reset() {
        let rl = limiter(2);
        assert!(rl.check("u", "authenticated", 0).is_ok());
        assert!(rl.check("u", "authenticated", 1).is_ok());
        assert_eq!(rl.check("u", "authenticated", 1_000), Err(3_599));
    }

    #[test]
    fn budget_returns_in_the_next_window() {
        let rl = limiter(1);
        assert!(rl.check("u", "authenticated", 0).is_ok());
        assert!(rl.check("u", "authenticated", 10).is_err());
        assert!(rl.check("u", "authenticated", WINDOW_MS).is_ok());
    }

    #[test]
    fn identities_have_separate_budgets() {
        let rl = limiter(1);
        assert!(rl.check("a", "authenticated", 0).is_ok());
        assert!(rl.check("b", "authenticated", 0).is_ok());
        assert!(rl.check("a", "authenticated", 0).is_err());
    }

    #[test]
    fn enterprise_is_unlimited_by_default() {
        let rl = limiter(0);
        for i in 0..1_000 {
            assert!(rl.check("e", "enterprise", i).is_ok());
        }
        assert!(rl.check("m", "authenticated", 0).is_err());
    }
}
