//! A valid base config for the validation tests, and helpers that break one line of it and find the
//! resulting problem.

use crate::error::ConfigError;
use crate::model::ApplianceConfig;

/// A valid config; tests replace one piece of it, and the line numbers in their assertions refer to it.
pub(crate) const BASE: &str = r#"# base config for the validation tests
eal:
  file_prefix: edgelb-lab
  main_lcore: 0
  hugepages: false
  memory_mb: 1024
  in_memory: false
  log_level: notice
  extra_args: []
workers:
  lcores: [1]
  cpus: null
  burst: 32
  idle_sleep_us: 100
mbufs:
  per_port: 8192
  cache: 256
ports:
  - name: client
    device: { vdev: "net_af_packet0,iface=p0,qpairs=1" }
    ipv4: [198.18.0.1/24]
    ipv6: ["2001:2::1/64"]
    vlan: null
    mtu: 1500
    rx_desc: 1024
    tx_desc: 1024
    promiscuous: false
  - name: nodes
    device: { vdev: "net_af_packet1,iface=p1,qpairs=1" }
    ipv4: [198.19.0.1/24]
    ipv6: ["2001:2:0:1::1/64"]
routes:
  - { to: 10.0.0.0/8, via: 198.19.0.254 }
vips:
  - 198.18.10.10
  - 2001:2:0:10::10
neighbours:
  reachable_s: 30
  stale_gc_s: 300
  retransmit_ms: 1000
  max_probes: 3
  queue_per_neighbour: 8
  queue_total: 256
admin:
  socket: /run/edgelb/test.sock
l4:
  maglev_size: 65537
  maglev_seed: 0
  flows_per_core: 262144
  max_new_flows_per_core_per_sec: 500000
  timeouts:
    tcp_syn: 30
    tcp_established: 900
    tcp_fin: 120
    tcp_closed: 10
    udp: 300
  on_backend_removed: reset
  mss_clamp: null
  snat:
    ipv4: [198.19.0.2]
    ipv6: []
    ports: "1024-65535"
pools:
  - name: pool-http
    backends:
      - { address: 198.19.0.11, port: 80, weight: 1, state: active }
      - { address: 198.19.0.12, port: 80, weight: 2, state: draining }
  - name: pool-dns
    backends:
      - { address: 198.19.0.11, port: 30053 }
  - name: pool-http6
    backends:
      - { address: "2001:2:0:1::11", port: 80 }
listeners:
  - name: web
    vip: 198.18.10.10
    port: 80
    protocol: tcp
    pool: pool-http
    affinity: none
  - name: dns
    vip: 198.18.10.11
    port: 53
    protocol: udp
    pool: pool-dns
    affinity: client-ip
    affinity_timeout: 600
  - name: web-v6
    vip: "2001:2:0:10::10"
    port: 80
    protocol: tcp
    pool: pool-http6
l7:
  max_connections_per_core: 16384
  idle_upstreams_per_backend: 128
  max_request_head: 16384
  max_request_body: 67108864
  client_buffers: {rx: 16384, tx: 32768}
  upstream_buffers: {rx: 65536, tx: 16384}
  timeouts:
    header: 20
    keepalive: 60
    connect: 5
    idle: 90
"#;

/// Parses a config that must be valid.
#[track_caller]
pub(crate) fn base_config(text: &str) -> ApplianceConfig {
    match crate::parse(text, "base.yaml") {
        Ok(config) => config,
        Err(error) => panic!("{error}"),
    }
}

/// Parses [`BASE`] with its only occurrence of `old` replaced by `new`; the error, or an error without
/// problems when the changed config is valid.
pub(crate) fn base_with(old: &str, new: &str) -> ConfigError {
    assert_eq!(
        BASE.matches(old).count(),
        1,
        "{old:?} must occur once in BASE"
    );
    match crate::parse(&BASE.replacen(old, new, 1), "base.yaml") {
        Ok(_) => ConfigError::Invalid(Vec::new()),
        Err(error) => error,
    }
}

/// Asserts that `error` has a problem with `field` on `line` whose text contains `message`, and that its
/// display reads `base.yaml:LINE:COL: FIELD: MESSAGE`.
#[track_caller]
pub(crate) fn assert_problem(error: &ConfigError, field: &str, line: usize, message: &str) {
    let found = error
        .problems()
        .iter()
        .find(|p| p.field == field && p.message.contains(message));
    let Some(problem) = found else {
        panic!("no problem {field:?} containing {message:?} in:\n{error}");
    };
    assert_eq!(problem.line, line, "wrong line for {problem}");
    let prefix = format!("base.yaml:{}:{}: {field}: ", problem.line, problem.column);
    assert!(problem.to_string().starts_with(&prefix), "{problem}");
    assert!(error.to_string().contains(&problem.to_string()), "{error}");
}
