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
        about: "HTTP Request node calling a local echo server: bare vs echo alone vs LinkFlow calling the echo",
        blocked_on: None,
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
    Scenario {
        name: "stall",
        about: "server stalling 100 ms every 1 s: loadtest closed loop vs wrk vs loadtest open loop (coordinated omission)",
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
    fn every_named_scenario_is_runnable_and_unknown_names_are_not_found() {
        for name in [
            "reference",
            "transform-20",
            "http-request-echo",
            "schedules-1000",
            "deployed-10000",
            "stall",
            "reference-journal",
        ] {
            assert_eq!(find(name).map(|s| s.blocked_on), Some(None), "{name}");
        }
        assert!(find("nope").is_none());
    }
}
