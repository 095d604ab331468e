//! Tests of the flow table: keys, capacity and eviction, timeouts per state, the sweeps, the insert
//! cap.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use super::*;
use crate::time::Instant;

const SYN: TcpFlags = TcpFlags::SYN;
const SYN_ACK: TcpFlags = TcpFlags(0x12);
const ACK: TcpFlags = TcpFlags::ACK;
const FIN_ACK: TcpFlags = TcpFlags(0x11);
const RST: TcpFlags = TcpFlags::RST;

fn secs(s: u64) -> Instant {
    Instant::from_nanos(s * 1_000_000_000)
}

fn fwd(i: u16, proto: Proto) -> FlowKey {
    FlowKey {
        src: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1 + (i % 200) as u8)),
        dst: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 1)),
        sport: 10_000 + i,
        dport: 443,
        proto,
    }
}

fn rev(i: u16, proto: Proto) -> FlowKey {
    FlowKey {
        src: IpAddr::V4(Ipv4Addr::new(198, 18, 1, 2)),
        dst: IpAddr::V4(Ipv4Addr::new(198, 18, 1, 254)),
        sport: 8443,
        dport: 20_000 + i,
        proto,
    }
}

fn packet(flags: TcpFlags) -> PacketInfo {
    PacketInfo {
        flags,
        ack: 0,
        bytes: 100,
    }
}

fn data(backend: u32) -> FlowData {
    FlowData {
        listener: 7,
        backend,
    }
}

fn table(capacity: usize) -> FlowTable {
    FlowTable::with_capacity(capacity, FlowConfig::default())
}

/// Inserts flow `i` (TCP, starting with `flags`) at `now`.
fn add(t: &mut FlowTable, i: u16, now: Instant, flags: TcpFlags) -> FlowHandle {
    t.insert(
        now,
        fwd(i, Proto::Tcp),
        rev(i, Proto::Tcp),
        data(u32::from(i % 3)),
        packet(flags),
    )
    .unwrap()
}

/// Inserts flow `i` with a SYN at `now` and has the backend answer: an assured flow.
fn established(t: &mut FlowTable, i: u16, now: Instant) -> FlowHandle {
    let h = add(t, i, now, SYN);
    t.touch(h, now, Direction::Reverse, packet(SYN_ACK))
        .unwrap();
    assert!(t.entry(h).unwrap().is_assured());
    h
}

fn present(t: &mut FlowTable, i: u16, now: Instant) -> bool {
    let f = t.lookup_forward(&fwd(i, Proto::Tcp), now);
    let r = t.lookup_reverse(&rev(i, Proto::Tcp), now);
    assert_eq!(f, r, "both keys find the same flow");
    f.is_some()
}

#[test]
fn insert_then_find_by_either_key() {
    let mut t = table(16);
    let h = t
        .insert(
            secs(1),
            fwd(1, Proto::Tcp),
            rev(1, Proto::Tcp),
            data(2),
            packet(SYN),
        )
        .unwrap();
    assert_eq!(t.lookup_forward(&fwd(1, Proto::Tcp), secs(2)), Some(h));
    assert_eq!(t.lookup_reverse(&rev(1, Proto::Tcp), secs(2)), Some(h));
    assert_eq!(
        t.lookup_forward(&rev(1, Proto::Tcp), secs(2)),
        None,
        "indexes are separate"
    );
    assert_eq!(
        t.lookup_forward(&fwd(1, Proto::Udp), secs(2)),
        None,
        "protocol is part of the key"
    );
    let e = t.entry(h).unwrap();
    assert_eq!((e.listener, e.backend), (7, 2));
    assert_eq!(e.state, FlowState::Tcp(TcpState::SynSent));
    assert_eq!(
        (e.created, e.last_seen, e.expires_at),
        (secs(1), secs(1), secs(31))
    );
    assert_eq!((e.packets, e.bytes), ([1, 0], [100, 0]));
    let c = t.counters();
    assert_eq!(
        (c.inserts, c.lookups_hit, c.lookups_miss, c.active),
        (1, 2, 2, 1)
    );
}

#[test]
fn ipv6_and_mixed_families_are_keys_too() {
    let mut t = table(4);
    let six = FlowKey {
        src: IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 9)),
        dst: IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 1, 0, 0, 0, 1)),
        sport: 5000,
        dport: 53,
        proto: Proto::Udp,
    };
    let h = t
        .insert(
            secs(0),
            six,
            rev(1, Proto::Udp),
            data(0),
            PacketInfo::default(),
        )
        .unwrap();
    assert_eq!(t.lookup_forward(&six, secs(1)), Some(h));
    assert_eq!(t.lookup_reverse(&rev(1, Proto::Udp), secs(1)), Some(h));
}

#[test]
fn a_key_in_use_is_refused_and_counted() {
    let mut t = table(8);
    add(&mut t, 1, secs(0), SYN);
    let clash_fwd = t.insert(
        secs(0),
        fwd(1, Proto::Tcp),
        rev(2, Proto::Tcp),
        data(0),
        packet(SYN),
    );
    assert_eq!(clash_fwd, Err(InsertError::ForwardKeyInUse));
    let clash_rev = t.insert(
        secs(0),
        fwd(2, Proto::Tcp),
        rev(1, Proto::Tcp),
        data(0),
        packet(SYN),
    );
    assert_eq!(clash_rev, Err(InsertError::ReverseKeyInUse));
    assert!(t.reverse_in_use(&rev(1, Proto::Tcp), secs(29)));
    assert!(
        !t.reverse_in_use(&rev(1, Proto::Tcp), secs(30)),
        "expired at the SYN timeout"
    );
    assert_eq!((t.counters().insert_conflicts, t.len()), (2, 1));
    // Once the old flow has expired its keys are free again.
    assert!(t
        .insert(
            secs(30),
            fwd(2, Proto::Tcp),
            rev(1, Proto::Tcp),
            data(0),
            packet(SYN)
        )
        .is_ok());
    assert_eq!((t.counters().expirations, t.len()), (1, 1));
}

#[test]
fn full_table_evicts_the_least_recently_used_and_counts_it() {
    let mut t = table(4);
    let handles: Vec<_> = (0..4)
        .map(|i| add(&mut t, i, secs(u64::from(i)), ACK))
        .collect();
    assert_eq!(t.len(), 4);
    // Flow 0 sees a packet, so flow 1 becomes the least recently used.
    t.touch(handles[0], secs(10), Direction::Forward, packet(ACK))
        .unwrap();
    add(&mut t, 4, secs(11), ACK);
    assert!(!present(&mut t, 1, secs(12)));
    for i in [0, 2, 3, 4] {
        assert!(present(&mut t, i, secs(12)), "flow {i}");
    }
    assert_eq!(
        t.entry(handles[1]),
        None,
        "the evicted flow's handle is dead"
    );
    add(&mut t, 5, secs(13), ACK);
    assert!(!present(&mut t, 2, secs(14)), "then the next oldest");
    let c = t.counters();
    assert_eq!((c.evictions, c.expirations, c.active), (2, 0, 4));
}

#[test]
fn eviction_takes_unassured_flows_before_established_ones() {
    let mut t = table(4);
    established(&mut t, 0, secs(0)); // oldest of all
    add(&mut t, 1, secs(1), SYN);
    established(&mut t, 2, secs(2));
    add(&mut t, 3, secs(3), ACK); // picked up mid-stream, the backend has not answered
    add(&mut t, 4, secs(4), SYN); // evicts 1, the oldest half-open flow
    add(&mut t, 5, secs(5), SYN); // evicts 3
    add(&mut t, 6, secs(6), SYN); // evicts 4
    for (i, live) in [
        (0, true),
        (1, false),
        (2, true),
        (3, false),
        (4, false),
        (5, true),
        (6, true),
    ] {
        assert_eq!(present(&mut t, i, secs(7)), live, "flow {i}");
    }
    // With no unassured flow left, the oldest assured one goes.
    let mut t = table(2);
    established(&mut t, 0, secs(0));
    established(&mut t, 1, secs(1));
    add(&mut t, 2, secs(2), SYN);
    assert!(!present(&mut t, 0, secs(3)));
    assert!(present(&mut t, 1, secs(3)));
}

#[test]
fn an_expired_established_flow_goes_before_a_live_half_open_one() {
    let mut t = table(2);
    established(&mut t, 0, secs(0)); // expires at 900 s
    add(&mut t, 1, secs(890), SYN); // expires at 920 s
    add(&mut t, 2, secs(905), SYN);
    assert!(present(&mut t, 1, secs(906)));
    let c = t.counters();
    assert_eq!((c.evictions, c.expirations), (0, 1));
}

/// Drives one flow into a state, then checks it lives until exactly its timeout after its last
/// packet.
#[test]
fn every_state_expires_after_its_own_timeout() {
    use Direction::{Forward, Reverse};
    let timeouts = FlowTimeouts {
        syn_sent: Duration::from_secs(3),
        established: Duration::from_secs(50),
        fin_wait: Duration::from_secs(20),
        closed: Duration::from_secs(2),
        udp: Duration::from_secs(7),
    };
    type Case = (
        Proto,
        TcpFlags,
        &'static [(Direction, TcpFlags)],
        FlowState,
        u64,
    );
    let cases: [Case; 6] = [
        (Proto::Tcp, SYN, &[], FlowState::Tcp(TcpState::SynSent), 3),
        (
            Proto::Tcp,
            SYN,
            &[(Reverse, SYN_ACK)],
            FlowState::Tcp(TcpState::Established),
            50,
        ),
        (
            Proto::Tcp,
            ACK,
            &[(Reverse, FIN_ACK)],
            FlowState::Tcp(TcpState::FinWait { by: Reverse }),
            20,
        ),
        (
            Proto::Tcp,
            ACK,
            &[(Forward, FIN_ACK), (Reverse, FIN_ACK)],
            FlowState::Tcp(TcpState::Closed),
            2,
        ),
        (
            Proto::Tcp,
            SYN,
            &[(Reverse, RST)],
            FlowState::Tcp(TcpState::Closed),
            2,
        ),
        (
            Proto::Udp,
            TcpFlags::EMPTY,
            &[(Reverse, TcpFlags::EMPTY)],
            FlowState::Udp,
            7,
        ),
    ];
    for (n, (proto, first, packets, state, timeout)) in cases.into_iter().enumerate() {
        let config = FlowConfig {
            timeouts,
            ..FlowConfig::default()
        };
        let mut t = FlowTable::with_capacity(8, config);
        let h = t
            .insert(
                secs(100),
                fwd(1, proto),
                rev(1, proto),
                data(0),
                packet(first),
            )
            .unwrap();
        for (k, &(dir, flags)) in packets.iter().enumerate() {
            t.touch(h, secs(101 + k as u64), dir, packet(flags))
                .unwrap();
        }
        let last = if packets.is_empty() {
            100
        } else {
            100 + packets.len() as u64
        };
        assert_eq!(t.entry(h).unwrap().state, state, "case {n}");
        let due = secs(last + timeout);
        let just_before = Instant::from_nanos(due.as_nanos() - 1);
        assert_eq!(
            t.lookup_forward(&fwd(1, proto), just_before),
            Some(h),
            "case {n}"
        );
        assert_eq!(t.lookup_reverse(&rev(1, proto), due), None, "case {n}");
        assert_eq!(t.lookup_forward(&fwd(1, proto), due), None, "case {n}");
        assert_eq!((t.counters().expirations, t.len()), (1, 0), "case {n}");
    }
}

#[test]
fn touch_extends_the_timeout_and_counts() {
    let mut t = table(4);
    let h = add(&mut t, 1, secs(0), ACK);
    assert_eq!(
        t.entry(h).unwrap().expires_at,
        secs(30),
        "unanswered pickup: the SYN timeout"
    );
    let ack = PacketInfo {
        flags: ACK,
        ack: 77,
        bytes: 1500,
    };
    let e = *t.touch(h, secs(20), Direction::Reverse, ack).unwrap();
    assert_eq!(
        (e.last_seen, e.expires_at, e.packets, e.bytes),
        (secs(20), secs(920), [1, 1], [100, 1500])
    );
    assert_eq!(
        e.last_ack,
        [Some(0), Some(77)],
        "the first packet's ACK number counts too"
    );
    let e = *t
        .touch(h, secs(800), Direction::Forward, packet(ACK))
        .unwrap();
    assert_eq!((e.expires_at, e.packets), (secs(1700), [2, 1]));
    assert!(present(&mut t, 1, secs(1699)));
    assert!(!present(&mut t, 1, secs(1700)));
}

#[test]
fn stale_handles_are_refused() {
    let mut t = table(2);
    let h = add(&mut t, 1, secs(0), SYN);
    let removed = t.remove(h).unwrap();
    assert_eq!(removed.fwd, fwd(1, Proto::Tcp));
    assert_eq!(t.remove(h), None);
    let h2 = add(&mut t, 2, secs(0), SYN); // reuses the slot
    assert_eq!(t.entry(h), None);
    assert!(t
        .touch(h, secs(1), Direction::Forward, packet(ACK))
        .is_none());
    assert_eq!(t.entry(h2).unwrap().fwd, fwd(2, Proto::Tcp));
    assert_eq!(t.counters().removals, 1);
}

#[test]
fn expire_does_bounded_work_per_call() {
    let mut t = table(64);
    for i in 0..40 {
        if i % 2 == 0 {
            add(&mut t, i, secs(0), SYN); // 30 s
        } else {
            established(&mut t, i, secs(0)); // 900 s
        }
    }
    assert_eq!(t.expire(secs(29), 64), 0);
    let first = t.expire(secs(30), 16);
    assert!(first <= 16);
    let mut total = first;
    for _ in 0..3 {
        total += t.expire(secs(30), 16);
    }
    assert_eq!(total, 20, "one full pass finds every expired flow");
    assert_eq!((t.len(), t.counters().expirations), (20, 20));
    assert!((0..40).all(|i| present(&mut t, i, secs(30)) == (i % 2 == 1)));
}

#[test]
fn drain_backend_removes_and_shows_its_flows_only() {
    let mut t = table(32);
    for i in 0..12 {
        add(&mut t, i, secs(0), ACK); // backend i % 3
    }
    let other_listener = FlowData {
        listener: 8,
        backend: 1,
    };
    t.insert(
        secs(0),
        fwd(99, Proto::Tcp),
        rev(99, Proto::Tcp),
        other_listener,
        packet(ACK),
    )
    .unwrap();
    let mut shown = Vec::new();
    assert_eq!(t.drain_backend(7, 1, |e| shown.push(e.fwd.sport)), 4);
    shown.sort_unstable();
    assert_eq!(shown, [10_001, 10_004, 10_007, 10_010]);
    assert!((0..12).all(|i| present(&mut t, i, secs(1)) == (i % 3 != 1)));
    assert!(present(&mut t, 99, secs(1)));
    assert_eq!((t.len(), t.counters().removals), (9, 4));
    assert_eq!(t.iter().filter(|e| e.backend == 1).count(), 1);
}

#[test]
fn sweep_spreads_over_calls() {
    let mut t = table(10);
    for i in 0..10 {
        add(&mut t, i, secs(0), ACK);
    }
    let mut cursor = SweepCursor::default();
    let mut seen = 0;
    let mut calls = 0;
    while !t.sweep(&mut cursor, 3, |_| {
        seen += 1;
        SweepVerdict::Remove
    }) {
        calls += 1;
    }
    assert_eq!((seen, calls + 1, t.len()), (10, 4, 0));
}

#[test]
fn insert_cap_refuses_and_counts_then_refills() {
    let config = FlowConfig {
        insert_rate: Some(InsertRate {
            per_sec: 10,
            burst: 3,
        }),
        ..FlowConfig::default()
    };
    let mut t = FlowTable::with_capacity(64, config);
    let now = secs(5);
    let results: Vec<_> = (0..5)
        .map(|i| {
            t.insert(
                now,
                fwd(i, Proto::Tcp),
                rev(i, Proto::Tcp),
                data(0),
                packet(SYN),
            )
            .err()
        })
        .collect();
    assert_eq!(
        results,
        [
            None,
            None,
            None,
            Some(InsertError::RateLimited),
            Some(InsertError::RateLimited)
        ]
    );
    assert_eq!((t.counters().rate_limited, t.len()), (2, 3));
    let later = Instant::from_nanos(now.as_nanos() + 100_000_000); // 0.1 s at 10/s: one more
    assert!(t
        .insert(
            later,
            fwd(5, Proto::Tcp),
            rev(5, Proto::Tcp),
            data(0),
            packet(SYN)
        )
        .is_ok());
    assert_eq!(
        t.insert(
            later,
            fwd(6, Proto::Tcp),
            rev(6, Proto::Tcp),
            data(0),
            packet(SYN)
        ),
        Err(InsertError::RateLimited)
    );
    t.set_insert_rate(None, later);
    assert!(t
        .insert(
            later,
            fwd(6, Proto::Tcp),
            rev(6, Proto::Tcp),
            data(0),
            packet(SYN)
        )
        .is_ok());
}

#[test]
fn capacity_is_clamped_to_at_least_one() {
    let mut t = table(0);
    assert_eq!(t.capacity(), 1);
    add(&mut t, 1, secs(0), SYN);
    add(&mut t, 2, secs(0), SYN);
    assert!(!present(&mut t, 1, secs(0)));
    assert!(present(&mut t, 2, secs(0)));
}
