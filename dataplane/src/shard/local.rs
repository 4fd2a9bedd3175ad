//! `linkflow run` on a shard of its own: one execution in-process, its effects performed by
//! the data plane's own effect code ([`super::effects`]) on a glommio executor on the
//! calling thread. HTTP Request nodes call out through the shard's client (rustls, per-host
//! pools, timeouts, retries, the circuit breaker, the 16 MiB response limit); Execute
//! Workflow nodes run the workflows the caller gives, by id, with the data plane's depth
//! limit; credentials are installed with every plan, as a deploy installs them. Timers fire
//! at once on a virtual clock unless the caller asks for real waits ([`super::clock`]).
//!
//! The shard has no listener, journal, schedules or admission queue: it holds only what
//! effects use. The golden tests run through here too, with outbound HTTP off and a fixed
//! clock, so they stay deterministic and make no connection.

use bumpalo::Bump;
use linkflow_codec::plan::ArchivedPlan;

use linkflow_codec::{compile_workflow, Export};

use super::clock::{Clock, TimeBase, Timers};
use super::effects::{drive, drive_responding, EffectEnv, Shared};
use super::{Installed, PlanBytes, PlanTable, ShardConfig, ShardState};
use crate::engine::credentials::CredentialMap;
use crate::engine::execution::{Config, Execution, Start};
use crate::engine::runner::{
    items_json, manual_start, route_request, ManualRun, RunOutput, RunRequest,
};
use crate::engine::services::EngineServices;
use crate::engine::webhook::{trigger_item, webhook_url, PendingResponse, WebhookRun};
use crate::outbound::{self, OutboundConfig};
use crate::router::Router;

/// Most workflows one run may be given for Execute Workflow nodes to call.
pub const WORKFLOWS_MAX: usize = 1024;

/// Error code: the run's glommio executor could not start (io_uring, locked memory).
pub const CODE_EXECUTOR: &str = "LF-ENGINE-054";
/// Error code: the workflows given to a run are more than [`WORKFLOWS_MAX`], or two of
/// them share an id.
pub const CODE_WORKFLOWS: &str = "LF-ENGINE-055";

/// How a local run meets the world.
#[derive(Debug)]
pub struct LocalRun {
    /// Base URL webhooks are reachable at (`webhookUrl` in the trigger item), ending in `/`.
    pub base_url: String,
    /// Outbound HTTP settings; `None` turns outbound HTTP off (HTTP Request nodes fail
    /// with `LF-ENGINE-040`): deterministic runs without network.
    pub outbound: Option<OutboundConfig>,
    /// The clock executions read.
    pub time: TimeBase,
    /// What timers do.
    pub timers: Timers,
    /// Credentials nodes may use, installed with every plan of the run.
    pub credentials: CredentialMap,
    /// Workflows Execute Workflow nodes may call, keyed by their id (their name without
    /// one), compiled with [`compile`]. The run's own workflow is callable too.
    pub workflows: Vec<PlanBytes>,
}

impl LocalRun {
    /// What `linkflow run` does by default: wall clock, real outbound HTTP with the data
    /// plane's defaults, timers skipped, no credentials, no other workflows.
    pub fn new(base_url: &str) -> Self {
        LocalRun {
            base_url: base_url.to_owned(),
            outbound: Some(OutboundConfig::default()),
            time: TimeBase::Wall,
            timers: Timers::Skip,
            credentials: CredentialMap::default(),
            workflows: Vec::new(),
        }
    }
}

/// Compiles an n8n workflow export into plan bytes with the codec's validating compiler
/// (errors one per line, each with its stable code, as `linkflow run` reports them).
pub fn compile(workflow: &serde_json::Value) -> Result<PlanBytes, String> {
    let compiled = compile_workflow(Export::Json(workflow)).map_err(|e| e.one_per_line())?;
    PlanBytes::from_compiled(&compiled).map_err(|e| e.to_string())
}

/// `linkflow run`: compiles `workflow` and executes it once, for `request` or from the
/// manual trigger, on a glommio executor made on (and dropped before returning to) the
/// calling thread, which must not run one already. `services` evaluates expressions and
/// JavaScript; credentials come from `options`, never from `services`.
pub fn run(
    workflow: &serde_json::Value,
    request: Option<&RunRequest>,
    services: EngineServices<'static>,
    options: LocalRun,
) -> Result<RunOutput, String> {
    let main = compile(workflow)?;
    check_workflows(&options.workflows)?;
    let executor = glommio::LocalExecutorBuilder::default()
        .name("lf-run")
        .make()
        .map_err(|e| format!("{CODE_EXECUTOR}: starting the run's executor failed: {e}"))?;
    executor.run(run_on_shard(main, request, services, options))
}

fn check_workflows(workflows: &[PlanBytes]) -> Result<(), String> {
    if workflows.len() > WORKFLOWS_MAX {
        return Err(format!(
            "{CODE_WORKFLOWS}: {} workflows given, a run takes at most {WORKFLOWS_MAX}",
            workflows.len()
        ));
    }
    for (i, workflow) in workflows.iter().enumerate() {
        let id = workflow.workflow_id();
        if workflows[..i].iter().any(|w| w.workflow_id() == id) {
            return Err(format!(
                "{CODE_WORKFLOWS}: two of the workflows given have the id '{id}'"
            ));
        }
    }
    Ok(())
}

async fn run_on_shard(
    main: PlanBytes,
    request: Option<&RunRequest>,
    services: EngineServices<'static>,
    options: LocalRun,
) -> Result<RunOutput, String> {
    let config = ShardConfig::new(0, 1, std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    let state = ShardState {
        outbound: options.outbound.map(outbound::Client::new),
        clock: Clock::new(options.time, options.timers),
        local_run: true,
        ..ShardState::new(config, services, None, options.base_url)
    };
    // The run's own workflow first: it answers its own id even when a given one shares it.
    let plans: Vec<Installed> = std::iter::once(main)
        .chain(options.workflows)
        .map(|bytes| {
            let stats = state
                .metrics
                .borrow_mut()
                .workflow_index(bytes.workflow_id());
            let bytes = bytes.with_credentials(options.credentials.clone(), [0; 32]);
            Installed {
                bytes: std::sync::Arc::new(bytes),
                stats,
            }
        })
        .collect();
    let table = PlanTable {
        // The run routes its one request itself (`route_request`, as the sync runner).
        router: Router::default(),
        plans,
        generation: 1,
    };
    let main = &table.plans[0].bytes;
    let arena = Bump::new();
    let env = EffectEnv {
        state: &state,
        table: &table,
        arena: &arena,
        depth: 0,
        // As the synchronous runner: a run is execution "1" (sub-workflows get `0-<n>`).
        execution_id: "1",
    };
    match request {
        Some(request) => Ok(RunOutput::Webhook(run_webhook(env, main, request).await)),
        None => run_manual(env, main).await.map(RunOutput::Manual),
    }
}

fn execution<'a>(
    env: EffectEnv<'a>,
    bytes: &'a PlanBytes,
    start: Start<'a>,
    mode: &'a str,
) -> Execution<'a, Shared<'a>> {
    let config = Config::new(mode, env.execution_id, env.state.clock.now_ms());
    Execution::new(
        env.arena,
        bytes.plan(),
        start,
        Shared::new(env.state, bytes),
        config,
    )
}

async fn run_webhook<'a>(
    env: EffectEnv<'a>,
    bytes: &'a PlanBytes,
    request: &RunRequest,
) -> WebhookRun {
    let plan: &'a ArchivedPlan = bytes.plan();
    let routed = match route_request(env.arena, plan, request) {
        Ok(routed) => routed,
        Err(not_found) => return *not_found,
    };
    // One execution per run: the URL is built for it, where a shard's router keeps one
    // per route.
    let url = webhook_url(&env.state.base_url, routed.webhook.path.as_str());
    let item = trigger_item(
        env.arena,
        &routed.request,
        &routed.params,
        env.arena.alloc_str(&url),
    );
    let start = Start {
        node: routed.webhook.node.to_native(),
        items: std::slice::from_ref(item),
    };
    let mut execution = execution(env, bytes, start, "webhook");
    let mut response = PendingResponse::new(routed.webhook);
    let outcome = drive_responding(env, &mut execution, &mut |r| response.respond(r)).await;
    WebhookRun {
        response: response.finish(&outcome, &execution),
        outcome,
        last_node: execution
            .last_node()
            .map(|n| plan.nodes[n as usize].name.as_str().to_owned()),
        trace: execution.trace(),
    }
}

async fn run_manual<'a>(env: EffectEnv<'a>, bytes: &'a PlanBytes) -> Result<ManualRun, String> {
    let start = manual_start(env.arena, bytes.plan())?;
    let mut execution = execution(env, bytes, start, "manual");
    let outcome = drive(env, &mut execution).await;
    Ok(ManualRun {
        items_json: items_json(execution.last_node_items()),
        outcome,
        trace: execution.trace(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::execution::Outcome;
    use serde_json::{json, Value};

    const NOW_MS: i64 = 1_735_689_600_000;

    fn chain(id: &str, nodes: Vec<Value>) -> Value {
        let mut connections = serde_json::Map::new();
        for pair in nodes.windows(2) {
            connections.insert(
                pair[0]["name"].as_str().unwrap().to_owned(),
                json!({"main": [[{"node": pair[1]["name"], "type": "main", "index": 0}]]}),
            );
        }
        json!({"id": id, "name": id, "nodes": nodes, "connections": connections,
               "settings": {"executionOrder": "v1"}})
    }

    fn manual() -> Value {
        json!({"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
               "position": [0, 0], "parameters": {}})
    }

    fn offline() -> LocalRun {
        LocalRun {
            outbound: None,
            time: TimeBase::Fixed(NOW_MS),
            ..LocalRun::new("http://127.0.0.1:5678/")
        }
    }

    fn manual_run(workflow: &Value, options: LocalRun) -> ManualRun {
        let services = EngineServices::fast_only(NOW_MS);
        match run(workflow, None, services, options).expect("runs") {
            RunOutput::Manual(run) => run,
            RunOutput::Webhook(_) => panic!("a manual run"),
        }
    }

    #[test]
    fn a_skipped_wait_moves_now_past_it() {
        let workflow = chain(
            "waiting",
            vec![
                manual(),
                json!({"name": "Wait", "type": "n8n-nodes-base.wait", "typeVersion": 1.1,
                       "position": [200, 0],
                       "parameters": {"resume": "timeInterval", "amount": 2, "unit": "hours"}}),
                json!({"name": "Now", "type": "n8n-nodes-base.set", "typeVersion": 3.4,
                       "position": [400, 0],
                       "parameters": {"mode": "manual", "options": {}, "assignments": {
                           "assignments": [{"id": "1", "name": "t",
                                            "value": "={{ $now.toMillis() }}", "type": "number"}]}}}),
            ],
        );
        let run = manual_run(&workflow, offline());
        assert_eq!(run.outcome, Outcome::Success);
        let items: Value = serde_json::from_slice(&run.items_json).unwrap();
        assert_eq!(items, json!([{"t": NOW_MS + 2 * 3_600_000}]));
    }

    #[test]
    fn a_workflow_calling_itself_stops_at_the_depth_limit() {
        let workflow = json!({
            "id": "loop", "name": "loop",
            "nodes": [
                manual(),
                {"name": "Again", "type": "n8n-nodes-base.executeWorkflowTrigger",
                 "typeVersion": 1, "position": [0, 200], "parameters": {}},
                {"name": "Call", "type": "n8n-nodes-base.executeWorkflow", "typeVersion": 1.1,
                 "position": [200, 0],
                 "parameters": {"source": "database", "workflowId": "loop", "options": {}}}],
            "connections": {
                "Start": {"main": [[{"node": "Call", "type": "main", "index": 0}]]},
                "Again": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}},
            "settings": {"executionOrder": "v1"}});
        let run = manual_run(&workflow, offline());
        let Outcome::Failed(error) = run.outcome else {
            panic!("the recursion must fail");
        };
        assert!(
            error
                .message
                .contains(super::super::effects::CODE_SUBWORKFLOW_DEPTH),
            "{}",
            error.message
        );
    }

    #[test]
    fn workflows_sharing_an_id_are_refused() {
        let workflow = chain("same", vec![manual()]);
        let options = LocalRun {
            workflows: vec![compile(&workflow).unwrap(), compile(&workflow).unwrap()],
            ..offline()
        };
        let services = EngineServices::fast_only(NOW_MS);
        let error = run(&workflow, None, services, options).unwrap_err();
        assert!(error.starts_with(CODE_WORKFLOWS), "{error}");
    }
}
