//! Running the appliance: EAL, mempool, ports, workers on their lcores, the management loop, a clean stop.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use edgelb_config::ApplianceConfig;
use edgelb_dpdk::{Eal, Lcore, Mempool, RuntimeDirState, DEFAULT_BUF_SIZE, SOCKET_ANY};
use edgelb_engine::l7::http::Limits;
use edgelb_engine::l7::proxy::ProxyConfig;
use edgelb_engine::l7::tcp::BufferSizes;
use edgelb_engine::l7::tls::TlsShared;
use edgelb_engine::{Capacity, CoreId};

use crate::admin::AdminServer;
use crate::cli::RunArgs;
use crate::manage::Running;
use crate::ports;
use crate::report::Identity;
use crate::shared::Shared;
use crate::worker::WorkerSetup;

/// Frames a worker's hand-off ring holds (a power of two).
const HANDOFF_RING: u32 = 4096;
/// TLS 1.2 sessions remembered for resumption by session id, all cores together (TLS 1.3 uses tickets).
const TLS_SESSION_CACHE: usize = 16_384;

/// Signals the management thread reacts to.
pub struct Signals {
    pub stop: Arc<AtomicBool>,
    pub reload: Arc<AtomicBool>,
}

impl Signals {
    fn register() -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let reload = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, Arc::clone(&stop))
                .context("installing the SIGINT/SIGTERM handler")?;
        }
        signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload))
            .context("installing the SIGHUP handler")?;
        Ok(Self { stop, reload })
    }
}

/// The EAL command line for `config`, program name first. The telemetry socket is off unless asked for: it would
/// be one more file in the runtime directory, and the admin socket serves our status.
pub fn eal_args(config: &ApplianceConfig) -> Vec<String> {
    let mut args = vec!["edgelb-dataplane".to_string()];
    args.extend(config.eal_args());
    if !args
        .iter()
        .any(|a| a.starts_with("--telemetry") || a == "--no-telemetry")
    {
        args.push("--no-telemetry".to_string());
    }
    args
}

/// Loads and validates the config named on the command line.
pub fn load_config(args: &RunArgs) -> Result<(PathBuf, ApplianceConfig)> {
    let Some(path) = args.config.clone() else {
        bail!("no config: pass --config FILE (for the lab: config/examples/lab.yaml); see --help");
    };
    let config = edgelb_config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((path, config))
}

/// `--check`: what would be started, without starting it.
pub fn check(path: &Path, config: &ApplianceConfig) {
    println!("{}: valid", path.display());
    println!("EAL arguments: {}", eal_args(config).join(" "));
    println!(
        "main lcore {}, worker lcores {:?}",
        config.eal.main_lcore, config.workers.lcores
    );
    for p in &config.ports {
        let addrs: Vec<String> = p
            .ipv4
            .iter()
            .map(|a| a.to_string())
            .chain(p.ipv6.iter().map(|a| a.to_string()))
            .collect();
        println!(
            "port {:<10} {:<40} {}",
            p.name,
            ports::device_spec(&p.device),
            addrs.join(" ")
        );
    }
    let vips: Vec<String> = config.vips.iter().map(|v| v.to_string()).collect();
    println!("vips: {}", vips.join(" "));
}

/// Removes the DPDK runtime files of a previous instance that died without cleaning up (they would make EAL init
/// fail). An instance still exiting holds them for a moment: wait for it, briefly. A live instance keeps them,
/// and EAL init then says that another primary process runs.
fn clear_stale_runtime_files(prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match edgelb_dpdk::remove_stale_runtime_dir(Some(prefix)) {
            Ok(RuntimeDirState::RemovedStale) => {
                tracing::warn!(prefix, "removed the DPDK runtime files of a previous instance that did not exit cleanly");
                return;
            }
            Ok(RuntimeDirState::InUse) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(prefix, "checking for stale DPDK runtime files: {e}");
                return;
            }
        }
    }
}

/// Runs the appliance until SIGINT/SIGTERM.
pub fn run(args: &RunArgs) -> Result<()> {
    let (path, config) = load_config(args)?;
    if args.check {
        check(&path, &config);
        return Ok(());
    }
    let signals = Signals::register()?;
    clear_stale_runtime_files(&config.eal.file_prefix);
    let eal_args = eal_args(&config);
    tracing::info!(args = %eal_args.join(" "), "starting EAL");
    let eal = Eal::init(&eal_args)
        .with_context(|| format!("EAL init failed (arguments: {})", eal_args.join(" ")))?;
    let prefix = config.eal.file_prefix.clone();
    let result = run_with_eal(&eal, args, &path, config, &signals);
    // Ports and the mempool are gone by now (dropped inside run_with_eal); release EAL's memory, then the files
    // that rte_eal_cleanup leaves in the runtime directory.
    if let Err(e) = eal.cleanup() {
        tracing::warn!("EAL cleanup: {e}");
    }
    if let Err(e) = edgelb_dpdk::remove_runtime_dir(Some(&prefix)) {
        tracing::warn!(
            "removing {}: {e}",
            edgelb_dpdk::runtime_dir(Some(&prefix)).display()
        );
    }
    result
}

fn run_with_eal(
    eal: &Eal,
    args: &RunArgs,
    path: &Path,
    config: ApplianceConfig,
    signals: &Signals,
) -> Result<()> {
    let workers = config.workers.lcores.clone();
    let queues = u16::try_from(workers.len()).context("too many workers")?;
    let mbufs = config
        .mbufs
        .per_port
        .saturating_mul(u32::try_from(config.ports.len()).unwrap_or(u32::MAX));
    let pool = Arc::new(
        Mempool::pktmbuf(
            "edgelb_pkt",
            mbufs,
            config.mbufs.cache,
            DEFAULT_BUF_SIZE,
            SOCKET_ANY,
        )
        .with_context(|| {
            format!("creating the mbuf pool ({mbufs} mbufs of {DEFAULT_BUF_SIZE} bytes)")
        })?,
    );
    let mut open = ports::open_all(&config, &pool, queues)?;
    let tls = TlsShared::new(TLS_SESSION_CACHE).context("setting up TLS")?;
    let snapshot = crate::snapshot::build(&config, None, &open, &tls)?;
    let shared = Arc::new(Shared::new(snapshot, &workers));

    // One inbox ring per worker for frames another core received but this one owns (software steering).
    let mut inboxes = Vec::new();
    let mut producers = Vec::new();
    for index in 0..workers.len() {
        let (producer, consumer) =
            edgelb_dpdk::mbuf_ring(&format!("edgelb_inbox{index}"), HANDOFF_RING, SOCKET_ANY)
                .with_context(|| format!("creating the hand-off ring of worker {index}"))?;
        producers.push(producer);
        inboxes.push(consumer);
    }
    let l7 = proxy_config(&config);
    let capacity = Capacity {
        flows: config.l4.flows_per_core as usize,
        l7,
        ..Capacity::default()
    };
    for (index, (&lcore, inbox)) in workers.iter().zip(inboxes).enumerate() {
        let core = CoreId {
            index: u16::try_from(index)?,
            count: queues,
        };
        let (rx, tx) = open
            .iter_mut()
            .map(|p| p.queues_for(core.index))
            .collect::<Result<(Vec<_>, Vec<_>)>>()?;
        let peers = producers
            .iter()
            .enumerate()
            .map(|(i, p)| (i != index).then(|| p.clone()))
            .collect();
        let setup = WorkerSetup {
            core,
            rx,
            tx,
            inbox,
            peers,
            pool: Arc::clone(&pool),
            shared: Arc::clone(&shared),
            capacity,
            burst: usize::from(config.workers.burst),
            idle_sleep: config.workers.idle_sleep,
        };
        if let Err(e) = eal.launch(Lcore::from_id(lcore), move || setup.run()) {
            shared.request_stop();
            eal.wait_all();
            return Err(e).with_context(|| format!("launching worker {index} on lcore {lcore}"));
        }
        tracing::info!(worker = index, lcore, "worker started");
    }
    drop(producers);

    let id = Identity::new(path.display().to_string());
    let mut state = Running {
        id,
        file: config.clone(),
        desired: None,
        config,
        ports: open,
        shared,
        path: path.to_path_buf(),
        tls,
    };
    let admin_path = args
        .admin_socket
        .clone()
        .unwrap_or_else(|| state.config.admin.socket.clone());
    let served = AdminServer::bind(&admin_path)
        .inspect(|_| tracing::info!(socket = %admin_path.display(), "admin socket ready"));
    let result = match served {
        Ok(admin) => {
            state.manage(&admin, signals, args.stats_interval);
            Ok(())
        }
        Err(e) => Err(e),
    };

    state.shared.request_stop();
    eal.wait_all();
    println!("{}", crate::status::render(&state.status()));
    for p in state.ports.drain(..) {
        if let Err(e) = p.port.close() {
            tracing::warn!(port = %p.name, "closing: {e}");
        }
    }
    tracing::info!("stopped");
    result
}

/// The L7 proxy's settings from the `l7` section; segments fit the smallest port MTU.
fn proxy_config(config: &ApplianceConfig) -> ProxyConfig {
    let c = &config.l7;
    let buffers = |b: edgelb_config::L7Buffers| BufferSizes {
        rx: b.rx as usize,
        tx: b.tx as usize,
    };
    let mut l7 = ProxyConfig::default();
    l7.tcp.max_connections = c.max_connections_per_core as usize;
    l7.tcp.client_buffers = buffers(c.client_buffers);
    l7.tcp.upstream_buffers = buffers(c.upstream_buffers);
    l7.tcp.connect_timeout = c.timeouts.connect;
    l7.tcp.idle_timeout = c.timeouts.idle;
    // Initial sequence numbers differ per start (and per core: the worker mixes in its index).
    l7.tcp.random_seed =
        std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8);
    if let Some(mtu) = config.ports.iter().map(|p| usize::from(p.mtu)).min() {
        l7.tcp.mtu = mtu.max(1280);
    }
    l7.limits = Limits {
        max_head: c.max_request_head as usize,
        max_body: c.max_request_body,
    };
    l7.idle_per_backend = c.idle_upstreams_per_backend as usize;
    l7.header_timeout = c.timeouts.header;
    l7.keepalive_timeout = c.timeouts.keepalive;
    l7
}
