//! Named scenarios and what each needs.

/// A benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// Name on the command line.
    pub name: &'static str,
    /// What it measures.
    pub about: &'static str,
    /// Why it cannot run yet, if so.
    pub blocked_on: Option<&'static str>,
}

/// Every scenario, `reference` first.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "reference",
        about: "reference webhook workflow (webhook-bench.json): LinkFlow vs bare server vs Node-RED/n8n",
        blocked_on: None,
    },
    Scenario {
        name: "transform-20",
        about: "20-node transform chain (Set/If/Filter/NoOp) vs the 5-node reference workflow, one data plane",
        blocked_on: None,
    },
    Scenario {
        name: "reference-journal",
        about: "reference webhook without a journal vs journal none/batch/sync (and batch at level summary): server CPU per request",
        blocked_on: None,
    },
    Scenario {
        name: "http-request-echo",
        about: "HTTP Request node calling a local echo server",
        blocked_on: Some("the data plane's outbound HTTP client on the shard event loop (issue #4)"),
    },
    Scenario {
        name: "schedules-1000",
        about: "reference webhook alone vs beside 1,000 schedules firing every second; idle CPU of the schedules",
        blocked_on: None,
    },
    Scenario {
        name: "deployed-10000",
        about: "1 vs 10,000 deployed workflows, each request to a random one; start-up time and memory",
        blocked_on: None,
    },
];

/// Looks a scenario up by name.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runnable_scenarios_and_the_blocked_one_says_what_it_needs() {
        for name in [
            "reference",
            "transform-20",
            "schedules-1000",
            "deployed-10000",
            "reference-journal",
        ] {
            assert_eq!(find(name).map(|s| s.blocked_on), Some(None), "{name}");
        }
        assert!(find("http-request-echo")
            .and_then(|s| s.blocked_on)
            .is_some_and(|b| !b.is_empty()));
        assert!(find("nope").is_none());
    }
}
