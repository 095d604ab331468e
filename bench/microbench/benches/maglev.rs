//! Maglev: building the table (off the fast path, at every configuration change) and looking up a flow.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgelb_engine::maglev::{hash_5tuple, MaglevBackend, MaglevTable, DEFAULT_SIZE};
use edgelb_microbench::{backend_keys, client_flow, lcg};

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("maglev_build_m65537");
    group.sample_size(20);
    for n in [10u32, 100, 1000] {
        let keys = backend_keys(n);
        let backends: Vec<MaglevBackend<'_>> = keys
            .iter()
            .map(|k| MaglevBackend { key: k, weight: 1 })
            .collect();
        group.bench_with_input(BenchmarkId::from_parameter(n), &backends, |b, backends| {
            b.iter(|| MaglevTable::build(backends, DEFAULT_SIZE, 7))
        });
    }
    group.finish();
}

fn lookup(c: &mut Criterion) {
    let keys = backend_keys(100);
    let backends: Vec<MaglevBackend<'_>> = keys
        .iter()
        .map(|k| MaglevBackend { key: k, weight: 1 })
        .collect();
    let Ok(table) = MaglevTable::build(&backends, DEFAULT_SIZE, 7) else {
        return;
    };
    let flows: Vec<_> = (0..4096).map(client_flow).collect();
    let mut group = c.benchmark_group("maglev_lookup");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hash_5tuple_and_lookup", |b| {
        let mut x = 1;
        b.iter(|| {
            let key = &flows[(lcg(&mut x) as usize) & 4095];
            table.lookup(hash_5tuple(7, key))
        })
    });
    group.finish();
}

criterion_group!(benches, build, lookup);
criterion_main!(benches);
