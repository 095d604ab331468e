//! A run: EAL, the mbuf pool, the ports, then sending and receiving until the send window is over
//! and the stragglers have arrived (or the drain time is up), then the summary.
//!
//! With one lcore, one loop on it sends a burst when one is due and polls the receiver in between.
//! With two, the sender runs on the second lcore and the receiver on the main one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use edgelb_dpdk::{tsc_cycles, tsc_hz, Eal, EalArgs, Mempool, DEFAULT_BUF_SIZE, SOCKET_ANY};

use crate::cli::Cli;
use crate::frame::{FrameSpec, FrameTemplate};
use crate::latency::LatencyRecorder;
use crate::ports::{self, OpenPorts};
use crate::rx::Receiver;
use crate::spec::MacAddr;
use crate::stamp::flush_frame;
use crate::summary::{RunSetup, Summary};
use crate::tx::{Sender, TxPlan, TxProgress};

/// Mbufs in the pool: a few bursts in flight, af_packet copies frames in and out of its rings.
const POOL_MBUFS: u32 = 8191;
const POOL_CACHE: u32 = 256;
/// Time for the ports' links to come up before the first frame.
const SETTLE: Duration = Duration::from_millis(200);
/// Grace on top of the duration and drain before the receiving loop gives up on the sender.
const SENDER_GRACE_NS: u64 = 2_000_000_000;
/// How often the sender pushes its tx ring with a flush frame after the run.
const FLUSH_EVERY_NS: u64 = 200_000;

/// The EAL command line for `cli`, program name first.
pub fn eal_args(cli: &Cli) -> Vec<String> {
    let args = EalArgs::new("edgelb-trafficgen")
        .lcore_map(cli.lcores.clone())
        .no_huge(cli.memory_mb)
        .file_prefix(cli.file_prefix.clone())
        .in_memory()
        .log_level(cli.eal_log_level.clone())
        .arg("--no-telemetry");
    ports::with_devices(args, &cli.tx, &cli.rx).build()
}

fn default_tag() -> u16 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (std::process::id() ^ nanos ^ (nanos >> 16)) as u16
}

/// Runs the generator as `cli` says and returns its summary.
pub fn run(cli: &Cli) -> Result<Summary> {
    let flows = cli.validate().map_err(|e| anyhow!(e))?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing the signal handlers")?;
    }
    let args = eal_args(cli);
    let eal = Eal::init(&args)
        .with_context(|| format!("EAL init failed (arguments: {})", args.join(" ")))?;
    let result = run_with_eal(&eal, cli, flows, &stop);
    if let Err(e) = eal.cleanup() {
        eprintln!("edgelb-trafficgen: warning: EAL cleanup: {e}");
    }
    if let Err(e) = edgelb_dpdk::remove_runtime_dir(Some(&cli.file_prefix)) {
        eprintln!("edgelb-trafficgen: warning: removing the EAL runtime directory: {e}");
    }
    result
}

fn run_with_eal(
    eal: &Eal,
    cli: &Cli,
    flows: crate::flows::FlowSet,
    stop: &Arc<AtomicBool>,
) -> Result<Summary> {
    let hz = tsc_hz();
    let pool = Arc::new(
        Mempool::pktmbuf(
            "gen_pkt",
            POOL_MBUFS,
            POOL_CACHE,
            DEFAULT_BUF_SIZE,
            SOCKET_ANY,
        )
        .context("creating the mbuf pool")?,
    );
    let mut ports = OpenPorts::open(&cli.tx, &cli.rx, &pool)?;
    let result = drive(eal, cli, flows, stop, hz, &pool, &mut ports);
    // The sender and receiver (and their queue handles) are gone by now; the lcores have returned.
    ports.close();
    result
}

fn drive(
    eal: &Eal,
    cli: &Cli,
    flows: crate::flows::FlowSet,
    stop: &Arc<AtomicBool>,
    hz: u64,
    pool: &Arc<Mempool>,
    ports: &mut OpenPorts,
) -> Result<Summary> {
    let src_mac = match cli.src_mac {
        Some(mac) => mac,
        None => MacAddr(
            ports
                .tx
                .mac_addr()
                .context("reading the sending port's MAC")?,
        ),
    };
    let tag = cli.tag.unwrap_or_else(default_tag);
    let spec = FrameSpec {
        dst_mac: cli.dst_mac,
        src_mac,
        dst_ip: cli.dst_ip,
        dst_port: cli.dst_port,
        frame_size: cli.frame_size,
        tag,
    };
    let template = FrameTemplate::new(&spec, flows).map_err(|e| anyhow!(e))?;
    let (txq, rxq) = ports.queues()?;
    let plan = TxPlan {
        tsc_hz: hz,
        duration_ns: cli.duration_ns(),
        pps: cli.pps,
        limit: cli.count.map_or(u64::MAX, u64::from),
        burst: cli.burst,
    };
    let flush = flush_frame(cli.dst_mac.0, src_mac.0);
    let sender = Sender::new(txq, Arc::clone(pool), template, flush, plan);
    let mut receiver = Receiver::new(rxq, tag, LatencyRecorder::new(hz).map_err(|e| anyhow!(e))?);

    std::thread::sleep(SETTLE);
    receiver.discard_pending(1024);
    let before = ports.stats()?;
    let drain = u128::from(cli.drain_ms) * u128::from(hz) / 1000;
    let drain = u64::try_from(drain).unwrap_or(u64::MAX);
    let every = u64::try_from(u128::from(FLUSH_EVERY_NS) * u128::from(hz) / 1_000_000_000)
        .unwrap_or(u64::MAX);
    let progress = match eal.worker_lcores().first() {
        None => one_loop(sender, &mut receiver, stop, drain, every),
        Some(&lcore) => {
            let progress = sender.progress();
            let sender_stop = Arc::clone(stop);
            let mut sender = sender;
            let flush_limit = drain.saturating_add(every);
            eal.launch(lcore, move || {
                while sender.poll(tsc_cycles(), sender_stop.load(Ordering::Relaxed)) {}
                let progress = sender.progress();
                let give_up = tsc_cycles().saturating_add(flush_limit);
                while !progress.drained() && tsc_cycles() < give_up {
                    sender.flush(tsc_cycles(), every);
                }
                0
            })
            .context("launching the sender")?;
            let limit = cli.duration_ns().saturating_add(SENDER_GRACE_NS);
            let limit = u64::try_from(u128::from(limit) * u128::from(hz) / 1_000_000_000)
                .unwrap_or(u64::MAX);
            receive_beside(&progress, &mut receiver, stop, drain, limit);
            progress.set_drained();
            eal.wait_all();
            progress
        }
    };
    let after = ports.stats()?;
    let (rx_tally, latency) = receiver.finish();
    let setup = RunSetup {
        tag,
        flows: flows.count(),
        frame_size: cli.frame_size,
        target_pps: cli.pps,
        tx_device: cli.tx.clone(),
        rx_device: cli.rx.clone(),
    };
    let counters = (
        ports::counters_between(&before.0, &after.0),
        ports::counters_between(&before.1, &after.1),
    );
    Ok(Summary::new(
        setup,
        hz,
        progress.tally(),
        rx_tally,
        latency.summary(),
        counters,
    ))
}

/// Sends and receives in one loop on this lcore.
fn one_loop(
    mut sender: Sender,
    receiver: &mut Receiver,
    stop: &AtomicBool,
    drain: u64,
    every: u64,
) -> Arc<TxProgress> {
    let progress = sender.progress();
    while sender.poll(tsc_cycles(), stop.load(Ordering::Relaxed)) {
        receiver.poll();
    }
    drain_until(
        receiver,
        &progress,
        tsc_cycles().saturating_add(drain),
        |now| sender.flush(now, every),
    );
    progress
}

/// Receives while the sender runs on another lcore; gives up on it (and tells it to stop) after
/// `limit` TSC ticks.
fn receive_beside(
    progress: &TxProgress,
    receiver: &mut Receiver,
    stop: &Arc<AtomicBool>,
    drain: u64,
    limit: u64,
) {
    let give_up = tsc_cycles().saturating_add(limit);
    while !progress.done() {
        receiver.poll();
        if tsc_cycles() >= give_up {
            eprintln!("edgelb-trafficgen: warning: the sender did not finish in time; stopping it");
            stop.store(true, Ordering::Relaxed);
            break;
        }
    }
    // The sender flushes its tx ring itself, on its own lcore.
    drain_until(
        receiver,
        progress,
        tsc_cycles().saturating_add(drain),
        |_| {},
    );
}

/// Keeps receiving, and calling `flush` with the TSC, until every sent frame is in or the TSC
/// reaches `deadline`.
fn drain_until(
    receiver: &mut Receiver,
    progress: &TxProgress,
    deadline: u64,
    mut flush: impl FnMut(u64),
) {
    loop {
        let now = tsc_cycles();
        if receiver.distinct() >= progress.sent() || now >= deadline {
            break;
        }
        flush(now);
        receiver.poll();
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn eal_arguments_for_the_bench() {
        let cli = Cli::try_parse_from([
            "edgelb-trafficgen",
            "--tx",
            "net_af_packet0,iface=gen0",
            "--rx",
            "net_af_packet1,iface=eth0",
            "--dst-mac",
            "02:00:c6:12:00:01",
            "--dst-ip",
            "198.18.10.20",
        ])
        .unwrap();
        assert_eq!(
            eal_args(&cli),
            [
                "edgelb-trafficgen",
                "--lcores",
                "0@0",
                "--no-huge",
                "-m",
                "512",
                "--file-prefix",
                "elb-gen",
                "--no-shconf",
                "--no-pci",
                "--vdev",
                "net_af_packet0,iface=gen0",
                "--vdev",
                "net_af_packet1,iface=eth0",
                "--log-level",
                "notice",
                "--no-telemetry",
            ]
        );
    }
}
