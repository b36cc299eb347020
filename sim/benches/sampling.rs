//! What sampling the time series costs: one run, the same ops, with
//! `Config::sample_every` 1 (every op), 100 (the default) and never (only
//! the end of the run). Each sample walks the whole world to measure hidden
//! pages and chain lengths, so the gap between the three is the price of a
//! fine-grained series.
//!
//! Run with `cargo bench -p sim --bench sampling`; see benches/README.md.

mod support;

use std::fmt;

use divan::Bencher;
use divan::counter::ItemsCount;
use sim::{Op, PolicyKind};
use support::{PARENT, apply_all, child, parent_with_touched_region_under, quiet_config, read, write};

fn main() {
    divan::main();
}

/// How often a run samples, named for the bench's output.
#[derive(Clone, Copy, Debug)]
struct SampleEvery(u64);

impl SampleEvery {
    const EVERY_OP: SampleEvery = SampleEvery(1);
    const DEFAULT: SampleEvery = SampleEvery(100);
    const NEVER: SampleEvery = SampleEvery(u64::MAX);
}

impl fmt::Display for SampleEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            u64::MAX => write!(f, "never"),
            ops => write!(f, "{ops} ops"),
        }
    }
}

const INTERVALS: [SampleEvery; 3] = [SampleEvery::EVERY_OP, SampleEvery::DEFAULT, SampleEvery::NEVER];

const HEAP_PAGES: u64 = 256;
const CHILDREN: u64 = 64;
const WRITES_AFTER_FORK: u64 = 4;

/// The shape of the `live-children` workload, built by hand (sim cannot
/// depend on the workloads crate): after each fork the parent and the new
/// child write a few pages each; then every child reads part of the heap
/// and exits. The world grows to 65 tasks, and under the Mach family to a
/// chain 65 objects deep, so a sample has plenty to walk.
fn live_children_ops() -> Vec<Op> {
    let mut ops = Vec::new();
    for n in 0..CHILDREN {
        ops.push(Op::Fork { parent: PARENT, child: child(n) });
        for w in 0..WRITES_AFTER_FORK {
            let page = (n * WRITES_AFTER_FORK + w) % HEAP_PAGES;
            ops.push(write(PARENT, page, 1));
            ops.push(write(child(n), (page + HEAP_PAGES / 2) % HEAP_PAGES, 1));
        }
    }
    for n in (0..CHILDREN).rev() {
        ops.push(read(child(n), 0, HEAP_PAGES / 4));
        ops.push(Op::Exit { task: child(n) });
    }
    ops
}

fn run_sampled(bencher: Bencher, policy: PolicyKind, every: SampleEvery) {
    let ops = live_children_ops();
    bencher
        .counter(ItemsCount::new(ops.len()))
        .with_inputs(|| {
            let config = quiet_config().sample_every(every.0);
            parent_with_touched_region_under(policy, config, HEAP_PAGES)
        })
        .bench_local_values(|mut sim| {
            apply_all(&mut sim, &ops);
            // The report's end-of-run sample and its building are part of
            // what sampling costs a run.
            let report = sim.finish("sampling");
            (sim, report)
        });
}

/// Under `gnumach`: chains grow with the live children, so a sample walks them.
#[divan::bench(args = INTERVALS)]
fn gnumach(bencher: Bencher, every: SampleEvery) {
    run_sampled(bencher, PolicyKind::GnuMach, every);
}

/// Under `linux`: one level per region, so a sample is a walk of the tasks
/// and pages only.
#[divan::bench(args = INTERVALS)]
fn linux(bencher: Bencher, every: SampleEvery) {
    run_sampled(bencher, PolicyKind::Linux, every);
}
