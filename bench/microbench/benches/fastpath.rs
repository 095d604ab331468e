//! The engine's established-flow fast path, per packet: `Worker::handle_frame` for an ACK with data
//! of an established TCP flow, forward (client → VIP: flow lookup, FullNAT rewrite, incremental
//! checksums, route, neighbour, VLAN tag, send) and reverse (backend → SNAT address, back to the
//! client), over 1, 10,000 and 100,000 flows visited in a random order.
//!
//! Each iteration copies the packet's input frame (60 bytes forward, 64 reverse) into the buffer the
//! engine sent on the previous iteration and hands it to the engine: no allocation per packet, as
//! with mbufs. That copy is part of every figure; `restore_copy_only` measures it alone. The
//! clock is fixed, so no flow or neighbour ages. Setup is in `edgelb_microbench::fastpath`.

use std::hint::black_box;
use std::process::exit;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgelb_engine::flow::Direction;
use edgelb_microbench::fastpath::{FastPath, FlowOrder, SetupError};

/// Builds the setup and checks that both directions' output is right before measuring.
fn ready(flows: u32) -> FastPath {
    let checked = FastPath::new(flows).and_then(|mut fp| {
        for flow in [0, flows - 1] {
            fp.check(Direction::Forward, flow)?;
            fp.check(Direction::Reverse, flow)?;
        }
        Ok(fp)
    });
    match checked {
        Ok(fp) => fp,
        Err(e) => give_up(&e),
    }
}

/// A bench that measured something else than it claims must not print figures.
fn give_up(e: &SetupError) -> ! {
    eprintln!("fastpath bench: {e}");
    exit(1)
}

fn after_run(fp: &FastPath, allocations: u64) {
    if let Err(e) = fp.verify_clean() {
        give_up(&e);
    }
    if fp.io().allocations != allocations {
        give_up(&SetupError(format!(
            "{} buffers allocated while measuring",
            fp.io().allocations - allocations
        )));
    }
}

fn fast_path(c: &mut Criterion) {
    for (name, dir) in [
        ("fastpath_forward", Direction::Forward),
        ("fastpath_reverse", Direction::Reverse),
    ] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(1));
        for flows in [1u32, 10_000, 100_000] {
            let mut fp = ready(flows);
            let allocations = fp.io().allocations;
            group.bench_with_input(BenchmarkId::new("flows", flows), &flows, |b, &flows| {
                let mut order = FlowOrder::new(flows);
                b.iter(|| fp.packet(dir, black_box(order.next_flow())))
            });
            after_run(&fp, allocations);
        }
        group.finish();
    }
}

fn restore_copy(c: &mut Criterion) {
    let mut group = c.benchmark_group("fastpath_driver");
    group.throughput(Throughput::Elements(1));
    let mut fp = ready(100_000);
    group.bench_function("restore_copy_only/flows/100000", |b| {
        let mut order = FlowOrder::new(100_000);
        b.iter(|| fp.restore_only(Direction::Forward, black_box(order.next_flow())))
    });
    group.finish();
}

criterion_group!(benches, fast_path, restore_copy);
criterion_main!(benches);
