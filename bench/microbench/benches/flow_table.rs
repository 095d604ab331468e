//! The per-core flow table: the established-flow lookup + touch every packet pays, and the insert of a new flow.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgelb_engine::flow::{Direction, FlowConfig, FlowData, FlowTable, PacketInfo, TcpFlags};
use edgelb_engine::Instant;
use edgelb_microbench::{client_flow, lcg, return_flow};

fn filled(capacity: usize, flows: u32) -> FlowTable {
    let mut table = FlowTable::with_capacity(capacity, FlowConfig::default());
    let now = Instant::from_nanos(1);
    for i in 0..flows {
        let data = FlowData {
            listener: 0,
            backend: i % 3,
        };
        let _ = table.insert(
            now,
            client_flow(i),
            return_flow(i),
            data,
            PacketInfo::default(),
        );
    }
    table
}

fn established(c: &mut Criterion) {
    let mut group = c.benchmark_group("flow_established_lookup_touch");
    group.throughput(Throughput::Elements(1));
    for flows in [1_000u32, 100_000] {
        let mut table = filled(262_144, flows);
        let now = Instant::from_nanos(2);
        let info = PacketInfo {
            flags: TcpFlags::ACK,
            ack: 1,
            bytes: 64,
        };
        group.bench_with_input(BenchmarkId::from_parameter(flows), &flows, |b, &flows| {
            let mut x = 1;
            b.iter(|| {
                let key = client_flow(lcg(&mut x) % flows);
                let handle = table.lookup_forward(&key, now)?;
                table
                    .touch(handle, now, Direction::Forward, info)
                    .map(|e| e.rev.dport)
            })
        });
    }
    group.finish();
}

fn insert(c: &mut Criterion) {
    let mut group = c.benchmark_group("flow_insert_new");
    group.throughput(Throughput::Elements(1));
    group.bench_function("into_a_full_table_evicting", |b| {
        let mut table = filled(65_536, 65_536);
        let mut i = 65_536u32;
        let now = Instant::from_nanos(2);
        b.iter(|| {
            i = i.wrapping_add(1);
            let data = FlowData {
                listener: 0,
                backend: i % 3,
            };
            table
                .insert(
                    now,
                    client_flow(i),
                    return_flow(i),
                    data,
                    PacketInfo::default(),
                )
                .is_ok()
        })
    });
    group.finish();
}

criterion_group!(benches, established, insert);
criterion_main!(benches);
