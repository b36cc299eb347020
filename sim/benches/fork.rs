//! Forks, per design: of a large touched region, followed by the child
//! writing all of it (the shape benches/fork-cost/ times on the real
//! kernel), and ten thousand at once with every child alive.
//!
//! Run with `cargo bench -p sim --bench fork`; see benches/README.md.

mod support;

use divan::Bencher;
use divan::counter::ItemsCount;
use sim::{Op, PolicyKind};
use support::{PARENT, apply, apply_all, child, page_by_page_writes, parent_with_touched_region, write};

fn main() {
    divan::main();
}

/// A fork of a task whose region of `PAGES` pages is all resident and
/// written (16 MiB, 64 MiB, 256 MiB and 1 GiB): what the real kernel's
/// fork copies (page tables) and what a lazy design avoids copying.
#[divan::bench(consts = [4096, 16384, 65536, 262144], args = PolicyKind::ALL, sample_count = 10, sample_size = 1)]
fn touched_region<const PAGES: u64>(bencher: Bencher, policy: PolicyKind) {
    let fork = Op::Fork { parent: PARENT, child: child(0) };
    bencher.with_inputs(|| parent_with_touched_region(policy, PAGES)).bench_local_values(|mut sim| {
        apply(&mut sim, &fork);
        // Returned so that freeing the world is not timed.
        sim
    });
}

/// After the fork of a touched region of `PAGES` pages, the child writes
/// every page, one copy-on-write fault each; counted per fault. The same
/// shape as the C program in benches/fork-cost/. Every design's fault costs
/// the same however large the region, so the four sizes should give four
/// equal rates.
#[divan::bench(consts = [4096, 16384, 65536, 262144], args = PolicyKind::ALL, sample_count = 5, sample_size = 1)]
fn child_writes_every_page<const PAGES: u64>(bencher: Bencher, policy: PolicyKind) {
    child_writes_every_page_of(bencher, policy, PAGES);
}

fn child_writes_every_page_of(bencher: Bencher, policy: PolicyKind, pages: u64) {
    let fork = Op::Fork { parent: PARENT, child: child(0) };
    let child_writes = page_by_page_writes(child(0), 0, pages);
    bencher
        .counter(ItemsCount::new(pages))
        .with_inputs(|| {
            let mut sim = parent_with_touched_region(policy, pages);
            apply(&mut sim, &fork);
            sim
        })
        .bench_local_values(|mut sim| {
            apply_all(&mut sim, &child_writes);
            sim
        });
}

/// Children alive at once in [`live_children`].
const LIVE_CHILDREN: u64 = 10_000;

/// Ten thousand forks of a parent with 64 written pages, each child writing
/// one page and staying alive: how a design's cost grows with the number
/// of tasks sharing memory (a server's workers, a zygote's apps).
#[divan::bench(args = PolicyKind::ALL, sample_count = 5, sample_size = 1)]
fn live_children(bencher: Bencher, policy: PolicyKind) {
    const PARENT_PAGES: u64 = 64;
    let forks_and_writes: Vec<Op> = (0..LIVE_CHILDREN)
        .flat_map(|n| [Op::Fork { parent: PARENT, child: child(n) }, write(child(n), n % PARENT_PAGES, 1)])
        .collect();
    bencher.with_inputs(|| parent_with_touched_region(policy, PARENT_PAGES)).bench_local_values(|mut sim| {
        apply_all(&mut sim, &forks_and_writes);
        sim
    });
}
