//! The management thread once the workers run: the admin socket, periodic counters, reloads, the stop signal.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use edgelb_config::desired::DesiredState;
use edgelb_config::ApplianceConfig;
use edgelb_engine::l7::tls::TlsShared;

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
    /// The config file as last loaded.
    pub file: ApplianceConfig,
    /// The last desired state pushed over the admin socket (kept across reloads of the file).
    pub desired: Option<DesiredState>,
    /// What the workers run: the file with the desired state applied.
    pub config: ApplianceConfig,
    pub ports: Vec<OpenPort>,
    pub shared: Arc<Shared>,
    pub path: PathBuf,
    /// The TLS ticket key and session cache every snapshot's TLS configs share (tickets survive reloads).
    pub tls: TlsShared,
}

impl Running {
    pub fn status(&self) -> crate::status::StatusDoc {
        let mut doc = report::status(&self.id, &self.ports, &self.config, &self.shared);
        doc.desired_generation = self.desired.as_ref().map(|d| d.generation);
        doc.l7_listeners = self
            .desired
            .iter()
            .flat_map(|d| &d.l7)
            .map(|l| crate::status::L7ListenerStatus {
                name: l.name.clone(),
                vip: l.vip.to_string(),
                port: l.port,
                tls: l.tls,
                hosts: l
                    .hosts
                    .iter()
                    .map(|h| {
                        let host = if h.host.is_empty() { "*" } else { &h.host };
                        format!("{host} ({} routes)", h.routes.len())
                    })
                    .collect(),
                default_pool: l.default_pool.clone(),
                default_certificate: l.default_certificate.clone(),
            })
            .collect();
        doc.desired_source = self.desired.as_ref().map(|d| d.source.clone());
        doc
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
                Request::Put { state } => match self.put(state) {
                    Ok(generation) => serde_json::json!({
                        "generation": generation,
                        "desired_generation": state.generation,
                        "boot_id": self.id.boot_id,
                    }),
                    Err(e) => serde_json::json!({ "error": format!("desired state refused: {e}") }),
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
        let file = edgelb_config::load(&self.path).map_err(|e| e.to_string())?;
        if let Some(what) = needs_restart(&self.file, &file) {
            return Err(format!("{what} changed, which needs a restart"));
        }
        let desired = self.desired.clone();
        self.install(file, desired)
    }

    /// A desired state from the control process: applied on top of the file, atomically, or refused whole.
    fn put(&mut self, state: &DesiredState) -> Result<u64, String> {
        let result = self.install(self.file.clone(), Some(state.clone()));
        match &result {
            Ok(generation) => tracing::info!(generation, "applied {}", state.origin()),
            Err(e) => tracing::warn!("refused {}: {e}", state.origin()),
        }
        result
    }

    /// Validates `file` with `desired` on top, builds the snapshot and publishes it; nothing changes on error.
    fn install(
        &mut self,
        file: ApplianceConfig,
        desired: Option<DesiredState>,
    ) -> Result<u64, String> {
        let config = match &desired {
            Some(d) => edgelb_config::desired::apply(&file, d).map_err(|e| e.to_string())?,
            None => file.clone(),
        };
        let snapshot = crate::snapshot::build(&config, desired.as_ref(), &self.ports, &self.tls)
            .map_err(|e| format!("{e:#}"))?;
        let generation = self.shared.publish(snapshot);
        self.file = file;
        self.desired = desired;
        self.config = config;
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
    if old.l7 != new.l7 {
        return Some("the l7 section (the per-core L7 tables are sized at start)");
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
