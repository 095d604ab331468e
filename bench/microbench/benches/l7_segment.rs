//! What one L7 TCP data segment (and its ACK) costs as the number of established connections grows: the same
//! exchange over 1 to 16,000 connections, visited in a random order.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgelb_microbench::l7pair::TcpPair;

fn segments(c: &mut Criterion) {
    let mut group = c.benchmark_group("l7_segment_exchange");
    group.throughput(Throughput::Elements(1));
    for n in [1usize, 1_000, 5_000, 16_000] {
        let Ok(mut pair) = TcpPair::new(n) else {
            eprintln!("l7_segment: could not set up {n} connections");
            continue;
        };
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                pair.exchange((x % n as u64) as usize)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, segments);
criterion_main!(benches);
