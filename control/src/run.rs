//! The control loop: load the source, plan, show and push the desired state, hand the outcome to the
//! write-back; then wait for the source to change, let the change settle, and do it again. VIP allocations carry
//! from one plan to the next, and every plan gets the next generation number. The write-back hears again
//! whenever the dataplane's progress changes (it applied a generation, refused one).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;
use edgelb_config::ApplianceConfig;

use crate::cli::Cli;
use crate::model::ClusterState;
use crate::planner::{self, Allocations, EventType, Plan, PlannerSettings};
use crate::push::{Pusher, Syncer};
use crate::source::{Source, SourceError};
use crate::summary::summary;
use crate::writeback::{Delivery, Outcome, WriteBack};

/// How long `--plan-once` waits for the kube source's first full lists.
const FIRST_LIST_WAIT: Duration = Duration::from_secs(60);

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
    let opened = crate::cluster::open(cli)?;
    let mut source = opened.source;
    let mut writeback = opened.writeback;
    let mut controller = Controller::new(cli.settings(), source.describe());
    let mut syncer = cli
        .dataplane_socket
        .as_ref()
        .map(|s| Syncer::new(Pusher::new(s)));
    tracing::info!(source = %source.describe(), "starting");
    let poll = Duration::from_millis(cli.poll_ms.max(10));
    let mut last: Option<Outcome> = None;
    let planned = |state: ClusterState,
                   controller: &mut Controller,
                   syncer: &mut Option<Syncer>,
                   writeback: &mut dyn WriteBack|
     -> anyhow::Result<Outcome> {
        let plan = controller.plan(&state);
        show(&plan, cli.print, base.as_ref())?;
        let not_pushed = match syncer.as_mut() {
            Some(syncer) => offer(syncer, &plan),
            None => None,
        };
        let outcome = Outcome {
            state: Arc::new(state),
            plan: Arc::new(plan),
            not_pushed,
            delivery: delivery(syncer.as_ref()),
        };
        writeback.write(&outcome);
        Ok(outcome)
    };
    let first = load_first(source.as_mut(), cli.plan_once, poll);
    if cli.plan_once {
        let state = first.context("loading the source")?;
        let outcome = planned(state, &mut controller, &mut syncer, writeback.as_mut())?;
        let generation = outcome.plan.desired.generation;
        if let Some(syncer) = &syncer {
            anyhow::ensure!(
                syncer.accepted_generation() == Some(generation),
                "the dataplane did not apply generation {generation} (the log above says why)"
            );
        }
        return Ok(());
    }
    match first {
        Ok(state) => {
            last = Some(planned(
                state,
                &mut controller,
                &mut syncer,
                writeback.as_mut(),
            )?)
        }
        Err(e) if e.is_starting() => tracing::info!("{e}"),
        Err(e) => tracing::error!("{e}; waiting for a change"),
    }
    let resync = Duration::from_millis(cli.resync_ms.max(10));
    let settle = Duration::from_millis(cli.debounce_ms);
    let mut next_poll = Instant::now() + poll;
    loop {
        thread::sleep(poll.min(resync));
        if let Some(syncer) = syncer.as_mut() {
            syncer.tick();
        }
        if let Some(outcome) = last.as_mut() {
            let now = delivery(syncer.as_ref());
            if outcome.delivery != now {
                outcome.delivery = now;
                writeback.write(outcome);
            }
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
            Ok(state) => {
                last = Some(planned(
                    state,
                    &mut controller,
                    &mut syncer,
                    writeback.as_mut(),
                )?)
            }
            Err(e) if e.is_starting() => tracing::info!("{e}"),
            Err(e) => tracing::error!("{e}; keeping the previous plan until the next change"),
        }
    }
}

/// The first load; with `--plan-once`, a source still starting (kube) is waited for.
fn load_first(
    source: &mut dyn Source,
    wait: bool,
    poll: Duration,
) -> Result<ClusterState, SourceError> {
    let deadline = Instant::now() + FIRST_LIST_WAIT;
    loop {
        match source.load() {
            Err(e) if wait && e.is_starting() && Instant::now() < deadline => thread::sleep(poll),
            other => return other,
        }
    }
}

fn delivery(syncer: Option<&Syncer>) -> Delivery {
    syncer.map_or(Delivery::Unconfigured, Syncer::delivery)
}

/// Hands a plan to the syncer unless it is known to be invalid: a plan whose L7 part does not hold together is
/// never pushed (the dataplane keeps the last good one). Returns why it was not pushed.
fn offer(syncer: &mut Syncer, plan: &Plan) -> Option<String> {
    let problems = plan.desired.validate_l7();
    if problems.is_empty() {
        syncer.offer(plan.desired.clone());
        return None;
    }
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let why = list.join("; ");
    tracing::error!(generation = plan.desired.generation, "not pushed: {why}");
    Some(why)
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
    plan_dirs(&[dir.to_path_buf()], settings)
}

/// Loads `dirs` as one manifests source and plans it once with `settings` (for tests and tools).
pub fn plan_dirs(dirs: &[std::path::PathBuf], settings: &PlannerSettings) -> anyhow::Result<Plan> {
    let state = crate::source::manifests::load_dirs(dirs)?;
    let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let mut controller =
        Controller::new(settings.clone(), format!("manifests:{}", shown.join(",")));
    Ok(controller.plan(&state))
}
