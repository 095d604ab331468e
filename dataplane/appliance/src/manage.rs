//! The management thread once the workers run: the admin socket, periodic counters, reloads, the stop signal.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use edgelb_config::ApplianceConfig;

use crate::admin::{AdminServer, Request};
use crate::ports::OpenPort;
use crate::report::{self, Identity};
use crate::run::Signals;
use crate::shared::Shared;

/// How often the management thread wakes up to serve the admin socket and look at signals.
const MANAGEMENT_TICK: Duration = Duration::from_millis(20);

/// The management thread's view of the running appliance.
pub struct Running {
    pub id: Identity,
    pub config: ApplianceConfig,
    pub ports: Vec<OpenPort>,
    pub shared: Arc<Shared>,
    pub path: PathBuf,
}

impl Running {
    pub fn status(&self) -> crate::status::StatusDoc {
        report::status(&self.id, &self.ports, &self.config, &self.shared)
    }

    /// Serves the admin socket, prints counters, reloads on SIGHUP, until a stop signal.
    pub fn manage(&mut self, admin: &AdminServer, signals: &Signals, stats_interval: u64) {
        let interval = (stats_interval > 0).then(|| Duration::from_secs(stats_interval));
        let mut next_stats = interval.map(|i| Instant::now() + i);
        while !signals.stop.load(Ordering::Relaxed) {
            admin.serve_pending(|req| match req {
                Request::Status => serde_json::to_value(self.status()).unwrap_or_default(),
                Request::Reload => match self.reload() {
                    Ok(generation) => serde_json::json!({ "generation": generation }),
                    Err(e) => serde_json::json!({ "error": format!("reload refused: {e}") }),
                },
            });
            if signals.reload.swap(false, Ordering::Relaxed) {
                let _ = self.reload();
            }
            if let (Some(at), Some(every)) = (next_stats, interval) {
                if Instant::now() >= at {
                    println!("{}", crate::status::render(&self.status()));
                    next_stats = Some(at + every);
                }
            }
            std::thread::sleep(MANAGEMENT_TICK);
        }
        tracing::info!("stop signal: stopping the workers");
    }

    /// SIGHUP: re-reads the config; what can change without a restart (addresses, routes, VIPs, neighbour
    /// timers) is published as a new snapshot; a change of EAL, devices or workers is refused with a reason.
    fn reload(&mut self) -> Result<u64, String> {
        let result = self.try_reload();
        match &result {
            Ok(generation) => tracing::info!(generation, "reloaded {}", self.path.display()),
            Err(e) => tracing::error!("reload refused, keeping the running config: {e}"),
        }
        result
    }

    fn try_reload(&mut self) -> Result<u64, String> {
        let new = edgelb_config::load(&self.path).map_err(|e| e.to_string())?;
        if let Some(what) = needs_restart(&self.config, &new) {
            return Err(format!("{what} changed, which needs a restart"));
        }
        let snapshot = crate::snapshot::build(&new, &self.ports).map_err(|e| format!("{e:#}"))?;
        let generation = self.shared.publish(snapshot);
        self.config = new;
        Ok(generation)
    }
}

/// What differs between two configs that a running dataplane cannot apply.
fn needs_restart(old: &ApplianceConfig, new: &ApplianceConfig) -> Option<&'static str> {
    if old.eal != new.eal {
        return Some("the eal section");
    }
    if old.workers != new.workers {
        return Some("the workers section");
    }
    if old.mbufs != new.mbufs {
        return Some("the mbufs section");
    }
    if old.l4.flows_per_core != new.l4.flows_per_core {
        return Some("l4.flows_per_core (the flow tables are sized at start)");
    }
    let devices = |c: &ApplianceConfig| -> Vec<_> {
        c.ports
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.device.clone(),
                    p.rx_desc,
                    p.tx_desc,
                    p.mtu,
                    p.promiscuous,
                )
            })
            .collect()
    };
    if devices(old) != devices(new) {
        return Some("a port's name, device, descriptors, MTU or promiscuity");
    }
    None
}
