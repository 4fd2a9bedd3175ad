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
        about: "20-node transform chain (Set/If/Code) behind one webhook",
        blocked_on: Some("a 20-node transform workflow fixture and `bare_server --workflow` support for its nodes (issue #4)"),
    },
    Scenario {
        name: "http-request-echo",
        about: "HTTP Request node calling a local echo server",
        blocked_on: Some("the data plane's outbound HTTP client on the shard event loop (issue #4)"),
    },
    Scenario {
        name: "schedules-1000",
        about: "1,000 schedule-triggered plans firing on one node",
        blocked_on: Some("plan-set deployment of schedule triggers over QUIC (issue #5)"),
    },
    Scenario {
        name: "deployed-10000",
        about: "10,000 deployed workflows, webhook routed to one of them",
        blocked_on: Some("bulk plan deployment to a data plane (issue #5)"),
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
    fn reference_runs_and_every_other_scenario_says_what_it_needs() {
        assert_eq!(find("reference").and_then(|s| s.blocked_on), None);
        assert!(SCENARIOS
            .iter()
            .filter(|s| s.name != "reference")
            .all(|s| s.blocked_on.is_some_and(|b| !b.is_empty())));
        assert!(find("nope").is_none());
    }
}
