//! Property: any valid config written with `to_yaml` parses back to an equal config, and arbitrary text
//! never panics the parser.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use edgelb_config::{
    AdminConfig, Affinity, ApplianceConfig, BackendConfig, BackendState, Device, EalConfig,
    FlowTimeouts, IpCidr, Ipv4Cidr, Ipv6Cidr, L4Config, L7Buffers, L7Config, L7Timeouts,
    ListenerConfig, LogLevel, MbufConfig, NeighbourConfig, PciAddress, PoolConfig, PortConfig,
    PortRange, Protocol, RemovedBackendPolicy, Route, SnatConfig, WorkersConfig,
};
use proptest::prelude::*;

/// Port `index` lives in 10.index.0.0/16 and 2001:db8:index::/48, so ports never overlap.
fn port(index: u8) -> impl Strategy<Value = PortConfig> {
    let v4 = (16u8..=29, any::<u16>()).prop_map(move |(len, host)| {
        let base = u32::from(Ipv4Addr::new(10, index, 0, 0)) | u32::from(host);
        let net = Ipv4Cidr::new(Ipv4Addr::from(base), len).unwrap().network();
        Ipv4Cidr::new(Ipv4Addr::from(u32::from(net.addr()) + 1), len).unwrap()
    });
    let v6 = (48u8..=120, any::<u64>()).prop_map(move |(len, host)| {
        let base = (0x2001_0db8_u128 << 96) | (u128::from(index) << 80) | u128::from(host);
        let net = Ipv6Cidr::new(Ipv6Addr::from(base), len).unwrap().network();
        Ipv6Cidr::new(Ipv6Addr::from(u128::from(net.addr()) + 1), len).unwrap()
    });
    let device = prop_oneof![
        Just(Device::Vdev(format!("net_af_packet{index},iface=p{index}"))),
        (any::<u16>(), 0u8..=0x1f, 0u8..=7).prop_map(move |(domain, device, function)| {
            Device::Pci(PciAddress {
                domain,
                bus: index,
                device,
                function,
            })
        }),
    ];
    (
        device,
        proptest::option::of(v4),
        proptest::option::of(v6),
        proptest::option::of(1u16..=4094),
        1280u16..=9216,
        6u32..=12,
        6u32..=12,
        any::<bool>(),
    )
        .prop_map(move |(device, v4, v6, vlan, mtu, rx, tx, promiscuous)| {
            // At least one address: IPv4 when neither was drawn.
            let v4 = if v4.is_none() && v6.is_none() {
                Some(Ipv4Cidr::new(Ipv4Addr::new(10, index, 0, 1), 24).unwrap())
            } else {
                v4
            };
            PortConfig {
                name: format!("port-{index}"),
                device,
                ipv4: v4.into_iter().collect(),
                ipv6: v6.into_iter().collect(),
                vlan,
                mtu,
                rx_desc: 1 << rx,
                tx_desc: 1 << tx,
                promiscuous,
            }
        })
}

/// Routes through the second host of each port's first prefix, to distinct 172.16.k.0/24 destinations.
fn routes(ports: &[PortConfig], count: usize) -> Vec<Route> {
    let mut routes = Vec::new();
    for (k, port) in ports.iter().cycle().take(count).enumerate() {
        let k = u8::try_from(k).unwrap();
        if let Some(v4) = port.ipv4.first() {
            let via = IpAddr::V4(Ipv4Addr::from(u32::from(v4.network().addr()) + 2));
            let to = IpCidr::V4(Ipv4Cidr::new(Ipv4Addr::new(172, 16, k, 0), 24).unwrap());
            routes.push(Route {
                to,
                via,
                port: port.name.clone(),
            });
        } else if let Some(v6) = port.ipv6.first() {
            let via = IpAddr::V6(Ipv6Addr::from(u128::from(v6.network().addr()) + 2));
            let to = IpCidr::V6(
                Ipv6Cidr::new(
                    Ipv6Addr::new(0x2001, 0xdb8, 0xffff, u16::from(k), 0, 0, 0, 0),
                    64,
                )
                .unwrap(),
            );
            routes.push(Route {
                to,
                via,
                port: port.name.clone(),
            });
        }
    }
    routes
}

/// The `l4` section without SNAT addresses (those depend on the ports); the port range leaves at least
/// five ports, enough for the at most three workers.
fn l4() -> impl Strategy<Value = L4Config> {
    let timeouts = (
        1u64..=3600,
        1u64..=604_800,
        1u64..=3600,
        1u64..=3600,
        1u64..=86_400,
    )
        .prop_map(|(syn, established, fin, closed, udp)| FlowTimeouts {
            tcp_syn: Duration::from_secs(syn),
            tcp_established: Duration::from_secs(established),
            tcp_fin: Duration::from_secs(fin),
            tcp_closed: Duration::from_secs(closed),
            udp: Duration::from_secs(udp),
        });
    (
        proptest::sample::select(vec![251u32, 257, 4093, 65_537, 1_000_003]),
        any::<u64>(),
        1024u32..=16_777_216,
        any::<u32>(),
        timeouts,
        prop_oneof![
            Just(RemovedBackendPolicy::Reset),
            Just(RemovedBackendPolicy::Drop)
        ],
        proptest::option::of(536u16..=9000),
        (1u16..=60_000, 4u16..=5535),
    )
        .prop_map(
            |(maglev_size, maglev_seed, flows, max_new, timeouts, removed, mss, (lo, extra))| {
                L4Config {
                    maglev_size,
                    maglev_seed,
                    flows_per_core: flows,
                    max_new_flows_per_core_per_sec: max_new,
                    timeouts,
                    on_backend_removed: removed,
                    mss_clamp: mss,
                    snat: SnatConfig {
                        ipv4: Vec::new(),
                        ipv6: Vec::new(),
                        ports: PortRange { lo, hi: lo + extra },
                    },
                }
            },
        )
}

/// The `l7` section over its whole ranges; header and keep-alive timeouts below the idle one.
fn l7() -> impl Strategy<Value = L7Config> {
    let buffers =
        (1024u32..=16_777_216, 1024u32..=16_777_216).prop_map(|(rx, tx)| L7Buffers { rx, tx });
    let timeouts = (2u64..=86_400, any::<u64>(), any::<u64>(), 1u64..=300).prop_map(
        |(idle, header, keepalive, connect)| L7Timeouts {
            header: Duration::from_secs(1 + header % (idle - 1).min(3600)),
            keepalive: Duration::from_secs(1 + keepalive % (idle - 1)),
            connect: Duration::from_secs(connect),
            idle: Duration::from_secs(idle),
        },
    );
    (
        16u32..=1_000_000,
        0u32..=4096,
        1024u32..=65_536,
        0u64..=1 << 40,
        buffers.clone(),
        buffers,
        timeouts,
    )
        .prop_map(
            |(connections, idle, head, body, client, upstream, timeouts)| L7Config {
                max_connections_per_core: connections,
                idle_upstreams_per_backend: idle,
                max_request_head: head,
                max_request_body: body,
                client_buffers: client,
                upstream_buffers: upstream,
                timeouts,
            },
        )
}

/// Raw material for one pool: which of four hosts are backends, and each host's port, weight and state.
type PoolSeed = (std::collections::BTreeSet<u8>, Vec<(u16, u32, bool)>);

fn pool_seeds() -> impl Strategy<Value = Vec<PoolSeed>> {
    let backend = (1u16..=65_535, 0u32..=65_535, any::<bool>());
    let pool = (
        proptest::collection::btree_set(0u8..4, 0..=4),
        proptest::collection::vec(backend, 4),
    );
    proptest::collection::vec(pool, 8)
}

/// One pool per port and family, its backends the 2nd to 5th hosts of the port's first prefix (never a
/// port address: those are the 1st); whether each pool is IPv4.
fn pools(ports: &[PortConfig], seeds: &[PoolSeed]) -> Vec<(PoolConfig, bool)> {
    let mut prefixes = Vec::new();
    for port in ports {
        prefixes.extend(port.ipv4.first().map(|&c| IpCidr::V4(c)));
        prefixes.extend(port.ipv6.first().map(|&c| IpCidr::V6(c)));
    }
    let mut pools = Vec::new();
    for (i, (prefix, (hosts, params))) in prefixes.iter().zip(seeds).enumerate() {
        let host = |k: u8| match prefix.network().addr() {
            IpAddr::V4(net) => IpAddr::V4(Ipv4Addr::from(u32::from(net) + 2 + u32::from(k))),
            IpAddr::V6(net) => IpAddr::V6(Ipv6Addr::from(u128::from(net) + 2 + u128::from(k))),
        };
        let backends = hosts
            .iter()
            .zip(params)
            .map(|(&k, &(port, weight, draining))| BackendConfig {
                address: host(k),
                port,
                weight,
                state: if draining {
                    BackendState::Draining
                } else {
                    BackendState::Active
                },
            })
            .collect();
        pools.push((
            PoolConfig {
                name: format!("pool-{i}.b"),
                backends,
            },
            prefix.is_ipv4(),
        ));
    }
    pools
}

/// Raw material for one listener: which pool, port, TCP or UDP, affinity timeout if client-ip.
type ListenerSeed = (usize, u16, bool, Option<u64>);

fn listener_seeds() -> impl Strategy<Value = Vec<ListenerSeed>> {
    let seed = (
        any::<usize>(),
        1u16..=65_535,
        any::<bool>(),
        proptest::option::of(1u64..=86_400),
    );
    proptest::collection::vec(seed, 0..5)
}

/// Listener `j` has its own VIP in 203.0.113.0/24 or 2001:db8:ee::/48, of its pool's family.
fn listeners(pools: &[(PoolConfig, bool)], seeds: &[ListenerSeed]) -> Vec<ListenerConfig> {
    let mut listeners = Vec::new();
    for (j, &(pick, port, tcp, affinity)) in seeds.iter().enumerate() {
        let Some((pool, v4)) = pools.get(pick % pools.len().max(1)) else {
            continue;
        };
        let k = u8::try_from(j).unwrap() + 1;
        let vip = if *v4 {
            IpAddr::V4(Ipv4Addr::new(203, 0, 113, k))
        } else {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xee, 0, 0, 0, 0, u16::from(k)))
        };
        listeners.push(ListenerConfig {
            name: format!("listener-{j}"),
            vip,
            port,
            protocol: if tcp { Protocol::Tcp } else { Protocol::Udp },
            pool: pool.name.clone(),
            affinity: affinity.map_or(Affinity::None, |secs| Affinity::ClientIp {
                timeout: Duration::from_secs(secs),
            }),
        });
    }
    listeners
}

fn config() -> impl Strategy<Value = ApplianceConfig> {
    let ports = (1u8..=4).prop_flat_map(|n| (0..n).map(port).collect::<Vec<_>>());
    let log_level = prop_oneof![
        Just(LogLevel::Emerg),
        Just(LogLevel::Alert),
        Just(LogLevel::Crit),
        Just(LogLevel::Error),
        Just(LogLevel::Warning),
        Just(LogLevel::Notice),
        Just(LogLevel::Info),
        Just(LogLevel::Debug),
    ];
    let eal = (
        "[a-zA-Z0-9_-]{1,32}",
        0u32..4,
        any::<bool>(),
        64u32..=65536,
        any::<bool>(),
        log_level,
        proptest::collection::vec("--x-[a-z]{3,10}(=[a-z0-9]{1,5})?", 0..3),
    )
        .prop_map(
            |(file_prefix, main_lcore, hugepages, memory_mb, in_memory, log_level, extra_args)| {
                EalConfig {
                    file_prefix,
                    main_lcore,
                    hugepages,
                    memory_mb,
                    in_memory,
                    log_level,
                    extra_args,
                }
            },
        );
    let workers = (
        proptest::collection::btree_set(4u32..128, 1..4),
        proptest::collection::vec(0u32..1024, 0..3),
        1u16..=64,
        0u64..=100_000,
    )
        .prop_map(|(lcores, cpus, burst, idle_us)| {
            let lcores: Vec<u32> = lcores.into_iter().collect();
            let cpus: BTreeMap<u32, u32> = lcores.iter().copied().zip(cpus).collect();
            WorkersConfig {
                lcores,
                cpus,
                burst,
                idle_sleep: Duration::from_micros(idle_us),
            }
        });
    let neighbours = (
        1u64..=3600,
        0u64..=1000,
        10u64..=60_000,
        1u8..=20,
        0usize..=64,
        0usize..=1000,
    )
        .prop_map(
            |(reachable, gc_extra, retransmit, max_probes, per, total_extra)| NeighbourConfig {
                reachable: Duration::from_secs(reachable),
                stale_gc: Duration::from_secs(reachable + gc_extra),
                retransmit: Duration::from_millis(retransmit),
                max_probes,
                queue_per_neighbour: per,
                queue_total: per + total_extra,
            },
        );
    let vips = proptest::collection::btree_set(any::<u8>(), 0..4);
    (
        eal,
        workers,
        ports,
        0usize..4,
        vips,
        neighbours,
        "/[a-z]{1,20}\\.sock",
        0u32..=512,
        (l4(), pool_seeds(), listener_seeds(), any::<u8>()),
        l7(),
    )
        .prop_map(
            |(eal, workers, ports, route_count, vips, neighbours, socket, cache, balancing, l7)| {
                let (mut l4, pool_seeds, listener_seeds, snat_pick) = balancing;
                // SNAT addresses: some of the ports' own addresses (always on a connected prefix).
                for (i, port) in ports.iter().enumerate() {
                    if snat_pick & (1 << i) != 0 {
                        l4.snat.ipv4.extend(port.ipv4.iter().map(|c| c.addr()));
                        l4.snat.ipv6.extend(port.ipv6.iter().map(|c| c.addr()));
                    }
                }
                let pools = pools(&ports, &pool_seeds);
                let listeners = listeners(&pools, &listener_seeds);
                let pools = pools.into_iter().map(|(pool, _)| pool).collect();
                let routes = routes(&ports, route_count);
                let vips = vips
                    .into_iter()
                    .flat_map(|k| {
                        [
                            IpAddr::V4(Ipv4Addr::new(198, 51, 100, k)),
                            IpAddr::V6(Ipv6Addr::new(
                                0x2001,
                                0xdb8,
                                0xff,
                                0,
                                0,
                                0,
                                0,
                                u16::from(k) + 1,
                            )),
                        ]
                    })
                    .collect();
                // Enough mbufs for the largest rings: 4 workers × (4096 + 4096) + 5 × 512.
                let mbufs = MbufConfig {
                    per_port: 65_536,
                    cache,
                };
                ApplianceConfig {
                    eal,
                    workers,
                    mbufs,
                    ports,
                    routes,
                    vips,
                    neighbours,
                    admin: AdminConfig {
                        socket: PathBuf::from(socket),
                    },
                    l4,
                    l7,
                    pools,
                    listeners,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn to_yaml_parses_back_to_the_same_config(config in config()) {
        let yaml = config.to_yaml();
        let parsed = edgelb_config::parse(&yaml, "generated.yaml");
        prop_assert!(parsed.is_ok(), "{}\n---\n{}", parsed.unwrap_err(), yaml);
        let parsed = parsed.unwrap();
        prop_assert_eq!(&parsed, &config);
        prop_assert_eq!(parsed.to_yaml(), yaml);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = edgelb_config::parse(&text, "arbitrary.yaml");
    }

    #[test]
    fn arbitrary_yaml_shaped_text_never_panics(text in "([a-z_]{1,8}: ?(\\[|\\{|-|[0-9a-f.:/]{0,12}|'|\")?\n {0,4}){0,20}") {
        let _ = edgelb_config::parse(&text, "arbitrary.yaml");
    }
}
