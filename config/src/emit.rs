//! The validated config written back as YAML in the file's own schema, so that `parse(to_yaml(c)) == c`.

use crate::balancing::{Affinity, L4Config, ListenerConfig, PoolConfig};
use crate::l7::{L7Buffers, L7Config, L7Timeouts};
use crate::model::{ApplianceConfig, Device};
use crate::schema::{
    FileAdmin, FileAffinity, FileBackend, FileBuffers, FileConfig, FileDevice, FileEal, FileL4,
    FileL7, FileL7Timeouts, FileListener, FileMbufs, FileNeighbours, FilePool, FilePort, FileRoute,
    FileSnat, FileTimeouts, FileWorkers,
};

impl ApplianceConfig {
    /// The config as YAML that [`crate::parse`] reads back to an equal config (every field explicit, each
    /// route with its port).
    pub fn to_yaml(&self) -> String {
        // Serializing plain structs of strings, numbers and sequences cannot fail.
        serde_yaml::to_string(&to_file(self)).unwrap_or_default()
    }
}

fn to_file(config: &ApplianceConfig) -> FileConfig {
    let eal = &config.eal;
    let workers = &config.workers;
    let neighbours = &config.neighbours;
    FileConfig {
        eal: FileEal {
            file_prefix: eal.file_prefix.clone(),
            main_lcore: eal.main_lcore.into(),
            hugepages: eal.hugepages,
            memory_mb: eal.memory_mb.into(),
            in_memory: eal.in_memory,
            log_level: eal.log_level,
            extra_args: eal.extra_args.clone(),
        },
        workers: FileWorkers {
            lcores: workers.lcores.iter().map(|&l| l.into()).collect(),
            cpus: (!workers.cpus.is_empty()).then(|| {
                workers
                    .cpus
                    .iter()
                    .map(|(&l, &c)| (l.into(), c.into()))
                    .collect()
            }),
            burst: workers.burst.into(),
            idle_sleep_us: saturating_u64(workers.idle_sleep.as_micros()),
        },
        mbufs: FileMbufs {
            per_port: config.mbufs.per_port.into(),
            cache: config.mbufs.cache.into(),
        },
        ports: config.ports.iter().map(to_file_port).collect(),
        routes: config
            .routes
            .iter()
            .map(|r| FileRoute {
                to: r.to.to_string(),
                via: r.via.to_string(),
                port: Some(r.port.clone()),
            })
            .collect(),
        vips: config.vips.iter().map(ToString::to_string).collect(),
        neighbours: FileNeighbours {
            reachable_s: neighbours.reachable.as_secs(),
            stale_gc_s: neighbours.stale_gc.as_secs(),
            retransmit_ms: saturating_u64(neighbours.retransmit.as_millis()),
            max_probes: neighbours.max_probes.into(),
            queue_per_neighbour: count(neighbours.queue_per_neighbour),
            queue_total: count(neighbours.queue_total),
        },
        admin: FileAdmin {
            socket: config.admin.socket.to_string_lossy().into_owned(),
        },
        l4: to_file_l4(&config.l4),
        l7: FileL7::from(&config.l7),
        pools: config.pools.iter().map(to_file_pool).collect(),
        listeners: config.listeners.iter().map(to_file_listener).collect(),
    }
}

fn to_file_l4(l4: &L4Config) -> FileL4 {
    let timeouts = &l4.timeouts;
    FileL4 {
        maglev_size: l4.maglev_size.into(),
        maglev_seed: l4.maglev_seed,
        flows_per_core: l4.flows_per_core.into(),
        max_new_flows_per_core_per_sec: l4.max_new_flows_per_core_per_sec.into(),
        timeouts: FileTimeouts {
            tcp_syn: timeouts.tcp_syn.as_secs(),
            tcp_established: timeouts.tcp_established.as_secs(),
            tcp_fin: timeouts.tcp_fin.as_secs(),
            tcp_closed: timeouts.tcp_closed.as_secs(),
            udp: timeouts.udp.as_secs(),
        },
        on_backend_removed: l4.on_backend_removed,
        mss_clamp: l4.mss_clamp.map(u64::from),
        snat: FileSnat {
            ipv4: l4.snat.ipv4.iter().map(ToString::to_string).collect(),
            ipv6: l4.snat.ipv6.iter().map(ToString::to_string).collect(),
            ports: l4.snat.ports.to_string(),
        },
    }
}

impl From<&L7Config> for FileL7 {
    fn from(l7: &L7Config) -> Self {
        Self {
            max_connections_per_core: l7.max_connections_per_core.into(),
            idle_upstreams_per_backend: l7.idle_upstreams_per_backend.into(),
            max_request_head: l7.max_request_head.into(),
            max_request_body: l7.max_request_body,
            client_buffers: l7.client_buffers.into(),
            upstream_buffers: l7.upstream_buffers.into(),
            timeouts: l7.timeouts.into(),
        }
    }
}

impl From<L7Buffers> for FileBuffers {
    fn from(buffers: L7Buffers) -> Self {
        Self {
            rx: Some(buffers.rx.into()),
            tx: Some(buffers.tx.into()),
        }
    }
}

impl From<L7Timeouts> for FileL7Timeouts {
    fn from(timeouts: L7Timeouts) -> Self {
        Self {
            header: timeouts.header.as_secs(),
            keepalive: timeouts.keepalive.as_secs(),
            connect: timeouts.connect.as_secs(),
            idle: timeouts.idle.as_secs(),
        }
    }
}

fn to_file_pool(pool: &PoolConfig) -> FilePool {
    FilePool {
        name: pool.name.clone(),
        backends: pool
            .backends
            .iter()
            .map(|b| FileBackend {
                address: b.address.to_string(),
                port: b.port.into(),
                weight: b.weight.into(),
                state: b.state,
            })
            .collect(),
    }
}

fn to_file_listener(listener: &ListenerConfig) -> FileListener {
    let (affinity, affinity_timeout) = match listener.affinity {
        Affinity::None => (FileAffinity::None, None),
        Affinity::ClientIp { timeout } => (FileAffinity::ClientIp, Some(timeout.as_secs())),
    };
    FileListener {
        name: listener.name.clone(),
        vip: listener.vip.to_string(),
        port: listener.port.into(),
        protocol: listener.protocol,
        pool: listener.pool.clone(),
        affinity,
        affinity_timeout,
    }
}

fn to_file_port(port: &crate::model::PortConfig) -> FilePort {
    let device = match &port.device {
        Device::Vdev(spec) => FileDevice {
            vdev: Some(spec.clone()),
            pci: None,
        },
        Device::Pci(address) => FileDevice {
            vdev: None,
            pci: Some(address.to_string()),
        },
    };
    FilePort {
        name: port.name.clone(),
        device,
        ipv4: port.ipv4.iter().map(ToString::to_string).collect(),
        ipv6: port.ipv6.iter().map(ToString::to_string).collect(),
        vlan: port.vlan.map(u64::from),
        mtu: port.mtu.into(),
        rx_desc: port.rx_desc.into(),
        tx_desc: port.tx_desc.into(),
        promiscuous: port.promiscuous,
    }
}

fn count(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

fn saturating_u64(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}
