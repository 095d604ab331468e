//! Real DPDK, end to end in one process: EAL on two lcores with `--no-huge --in-memory`, a mempool,
//! mbufs under the engine's PacketBuffer contract, `net_ring` (its tx ring is its rx ring: frames
//! sent come back), `net_null` (rx makes packets; it also has RSS and a RETA), a worker lcore fed
//! through an mbuf ring, and cleanup. EAL can be initialised once per process, so this is one test.

#![allow(clippy::unwrap_used, clippy::panic)] // a test: failing loudly is the point

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use arrayvec::ArrayVec;
use edgelb_dpdk::{
    mbuf_ring, remove_runtime_dir, runtime_dir, tsc_hz, DpdkError, Eal, EalArgs, Lcore, Mbuf,
    Mempool, Port, PortConfig, DEFAULT_BUF_SIZE, DEFAULT_RSS_KEY, LAUNCH_PANICKED, SOCKET_ANY,
};
use edgelb_engine::buffer::{
    NoRoom, PacketBuffer, TestBuffer, DEFAULT_DATA_ROOM, DEFAULT_HEADROOM,
};

const PREFIX: &str = "edgelb-test-eal-ring";

#[test]
fn eal_ports_mbufs_lcores_and_cleanup() {
    remove_runtime_dir(Some(PREFIX)).unwrap();
    assert_eq!(
        Mempool::pktmbuf("early", 63, 0, DEFAULT_BUF_SIZE, SOCKET_ANY).unwrap_err(),
        DpdkError::EalNotRunning
    );

    let args = EalArgs::new("eal_ring")
        .lcore_list("0-1")
        .no_huge(256)
        .in_memory()
        .file_prefix(PREFIX)
        .vdev("net_ring0")
        .vdev("net_null0")
        .build();
    let eal = Eal::init(&args).unwrap();
    assert_eq!(Eal::init(&args).unwrap_err().errno(), Some(libc::EALREADY));

    check_lcores(&eal);
    let pool = Mempool::pktmbuf("test_pool", 2047, 32, DEFAULT_BUF_SIZE, SOCKET_ANY).unwrap();
    assert_eq!((pool.available(), pool.in_use()), (2047, 0));
    check_packet_buffer_matches_test_buffer(&pool);
    check_ring_port(&pool);
    check_null_port_rss(&pool);
    check_worker_launch(&eal, &pool);
    assert_eq!(pool.in_use(), 0);

    drop(pool);
    assert_eq!(eal.runtime_dir(), runtime_dir(Some(PREFIX)));
    eal.cleanup().unwrap();
    assert_eq!(
        Mempool::pktmbuf("late", 63, 0, DEFAULT_BUF_SIZE, SOCKET_ANY).unwrap_err(),
        DpdkError::EalNotRunning
    );
    remove_runtime_dir(Some(PREFIX)).unwrap();
    assert!(!runtime_dir(Some(PREFIX)).exists());
}

fn check_lcores(eal: &Eal) {
    assert_eq!(eal.main_lcore(), Lcore::from_id(0));
    assert_eq!(eal.worker_lcores(), vec![Lcore::from_id(1)]);
    assert_eq!(eal.lcore_count(), 2);
    assert_eq!(Lcore::current(), Some(Lcore::from_id(0)));
    assert_eq!(eal.socket_of(Lcore::from_id(1)), 0);
    assert!(tsc_hz() > 1_000_000, "tsc_hz {}", tsc_hz());
}

/// Applies the same edits to an mbuf and to the engine's TestBuffer; they must agree at every step.
fn check_packet_buffer_matches_test_buffer(pool: &Mempool) {
    let mut m = pool.alloc().unwrap();
    let mut t = TestBuffer::new();
    assert_eq!(pool.in_use(), 1);
    assert_eq!(
        (m.headroom(), m.tailroom(), m.len()),
        (DEFAULT_HEADROOM, DEFAULT_DATA_ROOM, 0)
    );

    type Op = fn(&mut dyn PacketBuffer) -> Result<(), NoRoom>;
    let ops: [(&str, Op); 10] = [
        ("append 6", |b| b.append(6)),
        ("prepend 14", |b| b.prepend(14)),
        ("trim_front 4", |b| b.trim_front(4)),
        ("trim_back 2", |b| b.trim_back(2)),
        ("prepend past headroom", |b| b.prepend(DEFAULT_HEADROOM)),
        ("append past tailroom", |b| b.append(DEFAULT_DATA_ROOM)),
        ("trim_back past len", |b| b.trim_back(15)),
        ("trim_front past len", |b| b.trim_front(15)),
        ("prepend over u16", |b| b.prepend(70_000)),
        ("set_len 40", |b| b.set_len(40)),
    ];
    for (name, op) in ops {
        let (rm, rt) = (op(&mut m), op(&mut t));
        assert_eq!(rm, rt, "{name}");
        // Fresh bytes differ between the two (pool memory vs zeroes): give both the same content.
        for (i, (a, b)) in m
            .data_mut()
            .iter_mut()
            .zip(t.data_mut().iter_mut())
            .enumerate()
        {
            *a = i as u8;
            *b = i as u8;
        }
        assert_eq!(
            (m.headroom(), m.tailroom(), m.len()),
            (t.headroom(), t.tailroom(), t.len()),
            "{name}"
        );
        assert_eq!(m.data(), t.data(), "{name}");
    }
    assert_eq!(m.len(), 40);
    assert_eq!(m.pkt_len(), 40);
    assert_eq!(m.nb_segs(), 1);
    assert_eq!(m.rss_hash(), None);

    let raw = m.into_raw();
    assert_eq!(pool.in_use(), 1);
    // SAFETY: `raw` came from into_raw just above and has no other owner.
    let m = unsafe { Mbuf::from_raw(raw) };
    assert_eq!(m.data()[39], 39);
    drop(m);
    assert_eq!(pool.in_use(), 0);
}

fn frame(pool: &Mempool, tag: u8, len: usize) -> Mbuf {
    let mut m = pool.alloc().unwrap();
    m.append(len).unwrap();
    m.data_mut().fill(tag);
    m
}

fn check_ring_port(pool: &Mempool) {
    let mut port = Port::by_name("net_ring0").unwrap();
    let missing = Port::by_name("net_nope0").unwrap_err().to_string();
    assert!(
        missing.contains("net_ring0") && missing.contains("net_null0"),
        "{missing}"
    );

    let info = port.dev_info().unwrap();
    assert_eq!(info.driver_name, "net_ring");
    let cfg = PortConfig {
        rx_descriptors: 256,
        tx_descriptors: 256,
        ..PortConfig::default()
    };
    let setup = port.configure(&cfg, pool).unwrap();
    assert_eq!(
        (setup.rx_queues, setup.tx_queues, setup.rss_hf),
        (1, 1, None)
    );
    let again = port.configure(&cfg, pool).unwrap_err().to_string();
    assert!(
        again.starts_with(&format!(
            "port {} (net_ring0): already configured",
            port.id()
        )),
        "{again}"
    );
    port.set_promiscuous(true).unwrap();
    port.start().unwrap();
    assert_eq!(port.rss(), None);
    assert!(port.link().unwrap().up);
    assert_eq!(port.mac_addr().unwrap().len(), 6);

    let mut rx = port.rx_queue(0).unwrap();
    let mut tx = port.tx_queue(0).unwrap();
    assert!(port
        .rx_queue(0)
        .unwrap_err()
        .to_string()
        .contains("rx queue 0 was already taken"));
    assert!(port
        .tx_queue(1)
        .unwrap_err()
        .to_string()
        .contains("tx queue 1 is not configured"));

    // Loop four frames through the ring.
    let mut out: ArrayVec<Mbuf, 32> = (1..=4u8)
        .map(|tag| frame(pool, tag, 60 + usize::from(tag)))
        .collect();
    assert_eq!(tx.tx_burst(&mut out), 0);
    assert!(out.is_empty());
    let mut got: ArrayVec<Mbuf, 32> = ArrayVec::new();
    assert_eq!(rx.rx_burst(&mut got), 4);
    for (i, m) in got.iter().enumerate() {
        let tag = i as u8 + 1;
        assert_eq!(m.len(), 60 + usize::from(tag));
        assert!(m.data().iter().all(|b| *b == tag));
    }
    got.clear();
    let stats = port.stats().unwrap();
    assert_eq!((stats.ipackets, stats.opackets), (4, 4));
    let xstats = port.xstats().unwrap();
    assert!(
        xstats.contains(&("rx_good_packets".to_owned(), 4)),
        "{xstats:?}"
    );

    // Fill the ring (1023 slots): tx_burst frees and counts what does not fit, try_tx_burst keeps it.
    let mut dropped = 0;
    for _ in 0..17 {
        let mut burst: ArrayVec<Mbuf, 64> = (0..64).map(|_| frame(pool, 7, 60)).collect();
        dropped += tx.tx_burst(&mut burst);
    }
    assert_eq!(dropped, 17 * 64 - 1023);
    assert_eq!(pool.in_use(), 1023);
    let mut keep: ArrayVec<Mbuf, 8> = (0..3).map(|i| frame(pool, 100 + i, 60)).collect();
    assert_eq!(tx.try_tx_burst(&mut keep), 0);
    assert_eq!(keep.len(), 3);
    let mut drained = 0;
    let mut buf: ArrayVec<Mbuf, 64> = ArrayVec::new();
    while rx.rx_burst(&mut buf) > 0 {
        drained += buf.len();
        buf.clear();
    }
    assert_eq!(drained, 1023);
    assert_eq!(tx.try_tx_burst(&mut keep), 3);
    assert_eq!(rx.rx_burst(&mut buf), 3);
    assert_eq!(
        buf.iter().map(|m| m.data()[0]).collect::<Vec<_>>(),
        vec![100, 101, 102]
    );
    buf.clear();

    port.close().unwrap();
    assert_eq!(
        rx.rx_burst(&mut buf),
        0,
        "a handle that outlives its port receives nothing"
    );
    assert_eq!(pool.in_use(), 0);
}

fn check_null_port_rss(pool: &Mempool) {
    let mut port = Port::by_name("net_null0").unwrap();
    let info = port.dev_info().unwrap();
    assert_eq!(info.driver_name, "net_null");
    assert!(
        info.flow_type_rss_offloads != 0 && info.reta_size > 0,
        "{info:?}"
    );
    let cfg = PortConfig {
        rx_queues: 2,
        tx_queues: 2,
        ..PortConfig::default()
    };
    let setup = port.configure(&cfg, pool).unwrap();
    assert_eq!(setup.rss_hf, Some(cfg.rss_hf & info.flow_type_rss_offloads));
    port.start().unwrap();
    let rss = port.rss().unwrap().clone();
    assert_eq!(
        rss.key,
        DEFAULT_RSS_KEY[..usize::from(info.hash_key_size.max(40))].to_vec()
    );
    assert_eq!(rss.reta.len(), usize::from(info.reta_size));
    assert!(
        rss.reta
            .iter()
            .enumerate()
            .all(|(i, q)| usize::from(*q) == i % 2),
        "{:?}",
        rss.reta
    );

    let mut rx = port.rx_queue(1).unwrap();
    let mut got: ArrayVec<Mbuf, 16> = ArrayVec::new();
    assert_eq!(rx.rx_burst(&mut got), 16);
    assert!(got.iter().all(|m| m.len() == 64 && m.port() == port.id()));
    assert_eq!(pool.in_use(), 16);
    got.clear();
    let mut tx = port.tx_queue(1).unwrap();
    let mut out: ArrayVec<Mbuf, 4> = (0..4).map(|_| frame(pool, 1, 60)).collect();
    assert_eq!(
        tx.tx_burst(&mut out),
        0,
        "net_null takes (and frees) everything"
    );
    assert_eq!(pool.in_use(), 0);
    drop(port); // stops and closes
}

fn check_worker_launch(eal: &Eal, pool: &Mempool) {
    let worker = Lcore::from_id(1);
    let (producer, mut consumer) = mbuf_ring("to_worker", 64, SOCKET_ANY).unwrap();
    let mut out: ArrayVec<Mbuf, 8> = (1..=5u8).map(|tag| frame(pool, tag, 10)).collect();
    assert_eq!(producer.enqueue_burst(&mut out), 5);
    assert!(out.is_empty());
    assert_eq!(consumer.len(), 5);

    let ran_on = Arc::new(AtomicU32::new(u32::MAX));
    let seen = Arc::clone(&ran_on);
    eal.launch(worker, move || {
        seen.store(
            Lcore::current().map_or(u32::MAX, Lcore::id),
            Ordering::SeqCst,
        );
        let mut got: ArrayVec<Mbuf, 8> = ArrayVec::new();
        consumer.dequeue_burst(&mut got);
        got.iter()
            .map(|m| i32::from(m.data()[0]) * m.len() as i32)
            .sum()
    })
    .unwrap();
    assert_eq!(eal.wait(worker), (1 + 2 + 3 + 4 + 5) * 10);
    assert_eq!(ran_on.load(Ordering::SeqCst), 1);

    // The panic is on purpose: keep its message out of the test output.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    eal.launch(worker, || panic!("worker panics on purpose"))
        .unwrap();
    assert_eq!(eal.wait(worker), LAUNCH_PANICKED);
    std::panic::set_hook(hook);
    let err = eal.launch(Lcore::from_id(0), || 0).unwrap_err().to_string();
    assert_eq!(err, "lcore 0: not an enabled worker lcore");
    assert!(eal.launch(Lcore::from_id(5), || 0).is_err());

    // Mbufs left in a ring are freed with it.
    let mut out: ArrayVec<Mbuf, 8> = (0..3).map(|_| frame(pool, 9, 10)).collect();
    assert_eq!(producer.enqueue_burst(&mut out), 3);
    assert_eq!(pool.in_use(), 3);
    drop(producer);
    assert_eq!(pool.in_use(), 0);
}
