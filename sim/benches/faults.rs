//! The two paths every access takes, per design: a pmap hit (the page is
//! already mapped as the access needs, so no fault) and a copy-on-write
//! fault at the bottom of a chain of a given depth.
//!
//! Run with `cargo bench -p sim --bench faults`; see benches/README.md.

mod support;

use divan::Bencher;
use divan::counter::ItemsCount;
use sim::PolicyKind;
use support::{PARENT, apply, apply_all, page_by_page_writes, parent_at_chain_depth, parent_with_touched_region};

fn main() {
    divan::main();
}

/// An access to memory already mapped: the path most accesses of a real
/// program take, which must stay far cheaper than a fault.
#[divan::bench_group]
mod pmap_hit {
    use super::*;

    /// One write to a page the task has already written.
    #[divan::bench(args = PolicyKind::ALL)]
    fn write_one_page(bencher: Bencher, policy: PolicyKind) {
        let mut sim = parent_with_touched_region(policy, 1);
        let write_again = support::write(PARENT, 0, 1);
        bencher.bench_local(|| apply(&mut sim, &write_again));
    }

    /// One read of 64 pages the task has already written, counted per page.
    #[divan::bench(args = PolicyKind::ALL)]
    fn read_64_pages(bencher: Bencher, policy: PolicyKind) {
        const PAGES: u64 = 64;
        let mut sim = parent_with_touched_region(policy, PAGES);
        let read_all = support::read(PARENT, 0, PAGES);
        bencher.counter(ItemsCount::new(PAGES)).bench_local(|| apply(&mut sim, &read_all));
    }
}

/// Pages the top task faults on in each iteration. Enough for a stable
/// figure per fault, few enough that setting up a fresh chain for every
/// iteration stays cheap.
const FAULTED_PAGES: u64 = 64;

/// A write by the task at the top of a chain `DEPTH` forks deep, to pages
/// that live only at the bottom, counted per fault. Under the Mach family
/// each fault walks past `DEPTH` objects (their children are alive, so
/// nothing collapses) and copies the page up; under the other designs the
/// page is shared by `DEPTH + 1` tasks and the fault copies it.
#[divan::bench(consts = [1, 4, 16], args = PolicyKind::ALL)]
fn cow_fault<const DEPTH: u64>(bencher: Bencher, policy: PolicyKind) {
    let faults = page_by_page_writes(PARENT, DEPTH, FAULTED_PAGES);
    bencher
        .counter(ItemsCount::new(FAULTED_PAGES))
        .with_inputs(|| parent_at_chain_depth(policy, DEPTH, FAULTED_PAGES))
        .bench_local_values(|mut sim| {
            apply_all(&mut sim, &faults);
            // Returned so that freeing the world is not timed.
            sim
        });
}
