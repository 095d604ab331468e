//! The control loop: load the source, plan, show and push the desired state; then wait for the source to
//! change, let the change settle, and do it again. VIP allocations carry from one plan to the next, and every
//! plan gets the next generation number.

use std::io::Write;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;
use edgelb_config::ApplianceConfig;

use crate::cli::Cli;
use crate::model::ClusterState;
use crate::planner::{self, Allocations, EventType, Plan, PlannerSettings};
use crate::push::{Pusher, Syncer};
use crate::source::Source;
use crate::summary::summary;

/// Plans one state after another, keeping allocations and the generation.
#[derive(Debug)]
pub struct Controller {
    settings: PlannerSettings,
    source: String,
    generation: u64,
    allocations: Allocations,
}

impl Controller {
    pub fn new(settings: PlannerSettings, source: impl Into<String>) -> Self {
        Self {
            settings,
            source: source.into(),
            generation: 0,
            allocations: Allocations::default(),
        }
    }

    /// The next plan: generation and source filled in, allocations remembered for the one after.
    pub fn plan(&mut self, state: &ClusterState) -> Plan {
        let mut plan = planner::plan(state, &self.settings, &self.allocations);
        self.generation += 1;
        plan.desired.generation = self.generation;
        plan.desired.source = format!("edgelb-control {}", self.source);
        self.allocations = plan.allocations.clone();
        plan
    }
}

/// Runs what the command line asks for.
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    let base = match &cli.dataplane_config {
        Some(path) => Some(
            edgelb_config::load(path)
                .with_context(|| format!("--dataplane-config {}", path.display()))?,
        ),
        None => None,
    };
    let mut source = cli.source.open();
    let mut controller = Controller::new(cli.settings(), source.describe());
    let mut syncer = cli
        .dataplane_socket
        .as_ref()
        .map(|s| Syncer::new(Pusher::new(s)));
    tracing::info!(source = %source.describe(), "starting");
    let planned = |plan: Plan, syncer: &mut Option<Syncer>| -> anyhow::Result<()> {
        show(&plan, cli.print, base.as_ref())?;
        if let Some(syncer) = syncer.as_mut() {
            offer(syncer, &plan);
        }
        Ok(())
    };
    let first = source.load();
    if cli.plan_once {
        let state = first.context("loading the source")?;
        let plan = controller.plan(&state);
        let generation = plan.desired.generation;
        planned(plan, &mut syncer)?;
        if let Some(syncer) = &syncer {
            anyhow::ensure!(
                syncer.accepted_generation() == Some(generation),
                "the dataplane did not apply generation {generation} (the log above says why)"
            );
        }
        return Ok(());
    }
    match first {
        Ok(state) => planned(controller.plan(&state), &mut syncer)?,
        Err(e) => tracing::error!("{e}; waiting for a change"),
    }
    let poll = Duration::from_millis(cli.poll_ms.max(10));
    let resync = Duration::from_millis(cli.resync_ms.max(10));
    let settle = Duration::from_millis(cli.debounce_ms);
    let mut next_poll = Instant::now() + poll;
    loop {
        thread::sleep(poll.min(resync));
        if let Some(syncer) = syncer.as_mut() {
            syncer.tick();
        }
        if Instant::now() < next_poll {
            continue;
        }
        next_poll = Instant::now() + poll;
        if !changed(source.as_mut()) {
            continue;
        }
        loop {
            thread::sleep(settle);
            if !changed(source.as_mut()) {
                break;
            }
        }
        match source.load() {
            Ok(state) => planned(controller.plan(&state), &mut syncer)?,
            Err(e) => tracing::error!("{e}; keeping the previous plan until the next change"),
        }
    }
}

/// Hands a plan to the syncer unless it is known to be invalid: a plan whose L7 part does not hold together is
/// never pushed (the dataplane keeps the last good one).
fn offer(syncer: &mut Syncer, plan: &Plan) {
    let problems = plan.desired.validate_l7();
    if problems.is_empty() {
        syncer.offer(plan.desired.clone());
    } else {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        tracing::error!(
            generation = plan.desired.generation,
            "not pushed: {}",
            list.join("; ")
        );
    }
}

fn changed(source: &mut dyn Source) -> bool {
    source.changed().unwrap_or_else(|e| {
        tracing::error!("{e}");
        false
    })
}

/// Logs the plan's events, checks it against the appliance config if given, and prints it.
fn show(plan: &Plan, json: bool, base: Option<&ApplianceConfig>) -> anyhow::Result<()> {
    for event in &plan.events {
        match event.event_type {
            EventType::Warning => {
                tracing::warn!(object = %event.object, reason = event.reason, "{}", event.message)
            }
            EventType::Normal => {
                tracing::info!(object = %event.object, reason = event.reason, "{}", event.message)
            }
        }
    }
    if let Some(base) = base {
        match edgelb_config::desired::apply(base, &plan.desired) {
            Ok(_) => tracing::info!(
                generation = plan.desired.generation,
                "the dataplane config accepts this plan"
            ),
            Err(e) => tracing::error!("the dataplane config refuses this plan: {e}"),
        }
    }
    let text = if json {
        let mut text =
            serde_json::to_string_pretty(&plan.desired).context("writing the desired state")?;
        text.push('\n');
        text
    } else {
        summary(plan)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to stdout")?;
    Ok(())
}

/// Loads `dir` as a manifests source and plans it once with `settings` (for tests and tools).
pub fn plan_dir(dir: &Path, settings: &PlannerSettings) -> anyhow::Result<Plan> {
    let state = crate::source::manifests::load_dir(dir)?;
    let mut controller = Controller::new(settings.clone(), format!("manifests:{}", dir.display()));
    Ok(controller.plan(&state))
}
