//! The `uvm` policy (NetBSD `sys/uvm/uvm_amap.c`, `uvm_fault.c`): pinned
//! numbers for the canonical fork situations (the `fork-exit` and
//! `live-children` workloads in miniature, a page written on both sides),
//! and one test for each path UVM takes.

use sim::report::Report;
use sim::{Inheritance, Pindex, PolicyKind, Token};

use crate::support::Run;

fn uvm() -> Run {
    Run::new(PolicyKind::Uvm)
}

/// `an_ref` of the anon task `t` has at `page`: how many amap slots hold it.
fn anon_refs(run: &Run, t: u32, page: u64) -> u32 {
    run.page_holders(t, page)
}

fn needs_copy(run: &Run, t: u32, page: u64) -> bool {
    run.entry(t, page).needs_copy
}

/// What page `index` of `file` held before anyone wrote it.
fn original(run: &Run, file: &str, index: u64) -> Token {
    run.sim.view().file_original_token(file, Pindex(index)).expect("the file was opened")
}

/// Counters that change between two reports.
struct Delta {
    objects: u64,
    copied: u64,
    amap_copy: u64,
    reuse: u64,
    cow_copy: u64,
}

fn delta(before: &Report, after: &Report) -> Delta {
    Delta {
        objects: after.objects.created - before.objects.created,
        copied: after.pages.copied - before.pages.copied,
        amap_copy: after.work.amap_copy - before.work.amap_copy,
        reuse: after.faults.reuse - before.faults.reuse,
        cow_copy: after.faults.cow_copy - before.faults.cow_copy,
    }
}

/// The fork-exit workload: a child forked and exiting at once, then the
/// parent writing one page, five rounds. What does a round cost? Nothing: the
/// amap is taken over (am_ref is 1 again) and the anon is written in place
/// (an_ref is 1): no object, no copy, one `reuse` fault.
#[test]
fn fork_exit_write_makes_no_object_and_no_copy() {
    let mut run = uvm();
    run.task(1);
    run.alloc(1, 0x100, 4);
    run.write_value(1, 0x100, 4, 100);
    for round in 0..5 {
        let before = run.report();
        let child = 10 + round;
        run.fork(1, child);
        run.exit(child);
        run.write_value(1, 0x100, 1, round as u64);
        let d = delta(&before, &run.report());
        assert_eq!((d.objects, d.copied, d.amap_copy, d.reuse, d.cow_copy), (0, 0, 0, 1, 0), "round {round}");
        assert_eq!(anon_refs(&run, 1, 0x100), 1);
        assert!(!needs_copy(&run, 1, 0x100), "the parent took its amap over");
    }
    let r = run.report();
    assert_eq!((r.objects.created, r.objects.alive, r.objects.max_chain), (1, 1, 1));
    assert_eq!((r.pages.resident, r.pages.zero_filled, r.faults.zero_fill), (4, 4, 4));
    assert_eq!(r.faults.reuse, 5);
    run.read_expect(1, 0x100, 1, 4);
    run.read_expect(1, 0x101, 3, 100);
}

/// The live-children workload: four children stay alive while the parent
/// writes one page between forks. Does anything grow deeper than one level?
/// No: every entry's chain stays 1. Each round costs one `amap_copy` (the
/// parent's first write finds am_ref 2), one new amap and one page copy; the
/// anon refcounts rise instead: an untouched page is held by all 5 amaps.
#[test]
fn live_children_keep_one_level() {
    let mut run = uvm();
    run.task(1);
    run.alloc(1, 0x100, 4);
    run.write_value(1, 0x100, 4, 100);
    for k in 1..=4u32 {
        let before = run.report();
        run.fork(1, 10 + k);
        run.write_value(1, 0x100, 1, u64::from(k));
        let d = delta(&before, &run.report());
        assert_eq!((d.amap_copy, d.objects, d.copied, d.cow_copy, d.reuse), (1, 1, 1, 1, 0), "round {k}");
    }
    for t in [1, 11, 12, 13, 14] {
        assert_eq!(run.chain(t, 0x100), 1, "task {t}");
    }
    assert_eq!(anon_refs(&run, 1, 0x101), 5);
    assert_eq!(anon_refs(&run, 1, 0x100), 1);
    // Each child sees the page as it was when it was forked. Their amaps
    // have one reference each now, so these reads copy no amap.
    run.read_expect(11, 0x100, 1, 100);
    for k in 2..=4u32 {
        run.read_expect(10 + k, 0x100, 1, u64::from(k - 1));
    }
    run.read_expect(1, 0x100, 1, 4);
    let r = run.report();
    assert_eq!(r.work.amap_copy, 4);
    assert_eq!((r.objects.created, r.objects.alive, r.objects.max_chain), (5, 5, 1));
    assert_eq!((r.pages.resident, r.pages.copied, r.pages.hidden), (8, 4, 0));
}

/// A page written by both parent and child after a fork: how many physical
/// pages? Two: the first writer copies (an_ref 2), the
/// last writer finds an_ref 1 and reuses the original.
#[test]
fn page_written_by_both_sides_costs_two_pages() {
    let mut run = uvm();
    run.task(1);
    run.alloc(1, 0x100, 1);
    run.write_value(1, 0x100, 1, 1);
    run.fork(1, 2);
    run.write_value(1, 0x100, 1, 2);
    let first = run.report();
    assert_eq!((first.faults.cow_copy, first.work.amap_copy), (1, 1));
    run.write_value(2, 0x100, 1, 3);
    let r = run.report();
    assert_eq!((r.pages.resident, r.pages.copied), (2, 1));
    assert_eq!((r.faults.cow_copy, r.faults.reuse), (1, 1), "the child, last writer, reuses the original");
    assert_eq!(r.work.amap_copy, 1, "the child took the old amap over");
    run.read_expect(1, 0x100, 1, 2);
    run.read_expect(2, 0x100, 1, 3);
}

/// Does the first fault after fork run `amap_copy` even for a read? For
/// pure anonymous memory, yes (there is no lower object to map from, so
/// UVM copies the amap at once); for a private file mapping, no: the read
/// maps the file's page read-only and the entry stays needs-copy.
#[test]
fn first_read_after_fork_copies_the_amap_of_anonymous_memory_only() {
    let mut run = uvm();
    run.task(1);
    run.alloc(1, 0x100, 2);
    run.write_value(1, 0x100, 2, 7);
    run.map_file(1, 0x200, 2, "lib.so", true);
    run.read(1, 0x200, 2);
    assert_eq!(run.report().faults.page_in, 2);
    run.fork(1, 2);

    run.read(2, 0x200, 1);
    let r = run.report();
    assert_eq!((r.work.amap_copy, r.faults.map), (0, 1), "a private file mapping read maps the file page");
    assert!(needs_copy(&run, 2, 0x200));

    run.read_expect(2, 0x100, 1, 7);
    let r = run.report();
    assert_eq!((r.work.amap_copy, r.faults.map), (1, 2), "a read of anonymous memory copies the amap");
    assert!(!needs_copy(&run, 2, 0x100));
    assert_eq!(anon_refs(&run, 2, 0x100), 2, "parent and child amaps hold the anon");
    // The child mapped the shared anon read-only: its write faults and copies.
    run.write_value(2, 0x100, 1, 8);
    assert_eq!(run.report().faults.cow_copy, 1);
    run.read_expect(1, 0x100, 2, 7);
}

/// Are the anons of a partially unmapped range freed at once (UVM's
/// `am_ppref` and `amap_wiperange`), rather than left hidden in the amap?
/// Yes: when no entry covers them any more. A child still covering them
/// keeps them until it exits.
#[test]
fn partial_unmaps_free_anons() {
    let mut run = uvm();
    run.task(1);
    run.alloc(1, 0x100, 8);
    run.write(1, 0x100, 8);
    run.dealloc(1, 0x102, 4);
    let r = run.report();
    assert_eq!((r.pages.resident, r.pages.freed, r.pages.hidden), (4, 4, 0));
    assert_eq!(r.objects.alive, 1, "the two pieces left share the amap");

    run.task(2);
    run.alloc(2, 0x100, 8);
    run.write(2, 0x100, 8);
    run.fork(2, 3);
    run.dealloc(2, 0x102, 4);
    let r = run.report();
    assert_eq!((r.pages.resident, r.pages.freed, r.pages.hidden), (12, 4, 0), "the child still sees them");
    run.exit(3);
    let r = run.report();
    assert_eq!((r.pages.resident, r.pages.freed, r.pages.hidden), (8, 8, 0));
    run.read(2, 0x100, 2);
    run.read(2, 0x106, 2);
}

/// Is a copy of memory shared through `VM_INHERIT_SHARE` a true snapshot,
/// and who pays for it? The shared amap (UVM's `AMAP_SHARED`) is copied at
/// the fork itself; the sharers then find their anons held twice and copy
/// the page they write into the shared amap, where every sharer sees it.
#[test]
fn copy_of_shared_amap_is_made_at_fork() {
    let mut run = uvm();
    run.task(1);
    run.alloc(1, 0x100, 2);
    run.write_value(1, 0x100, 2, 1);
    run.inherit(1, 0x100, 2, Inheritance::Share);
    run.fork(1, 2);
    run.inherit(1, 0x100, 2, Inheritance::Copy);
    run.fork(1, 3);
    let r = run.report();
    assert_eq!(r.work.amap_copy, 1, "the copy is made at the fork");
    assert!(!needs_copy(&run, 1, 0x100) && !needs_copy(&run, 3, 0x100));
    assert_eq!(anon_refs(&run, 1, 0x100), 2);

    run.write_value(2, 0x100, 1, 2);
    let r = run.report();
    assert_eq!((r.faults.cow_copy, r.pages.copied), (1, 1));
    run.read_expect(1, 0x100, 1, 2);
    run.read_expect(3, 0x100, 2, 1);
    // The sharers' page is theirs alone again: the next write goes in place.
    run.write_value(1, 0x100, 1, 4);
    run.read_expect(2, 0x100, 1, 4);
    run.read_expect(3, 0x100, 1, 1);
    assert_eq!(run.report().pages.copied, 1);
}

/// Is a `vm_copy` of a shared file mapping a snapshot, even of file pages
/// that were not resident? Yes: the copy borrows the file's resident pages
/// (a UVM object-to-anon loan, counted as one `amap_copy`), a later write
/// through the shared mapping breaks the loan by copying the page for the
/// file (`cow_copy`), and absent pages keep the file's original content.
#[test]
fn vm_copy_of_shared_file_mapping_loans_its_pages() {
    let mut run = uvm();
    run.task(1);
    run.map_file(1, 0x200, 2, "data.db", false);
    run.write_value(1, 0x200, 1, 5);
    run.alloc(1, 0x300, 2);
    run.copy(1, 0x200, 2, 0x300);
    let r = run.report();
    assert_eq!((r.work.amap_copy, r.pages.copied), (1, 0));

    run.write_value(1, 0x200, 1, 6);
    run.write_value(1, 0x201, 1, 7);
    let r = run.report();
    assert_eq!((r.faults.cow_copy, r.pages.copied, r.faults.page_in), (1, 1, 2));
    run.read_expect(1, 0x300, 1, 5);
    run.read_expect(1, 0x301, 1, original(&run, "data.db", 1).0);
    assert_eq!(run.report().faults.page_in, 3, "the absent page comes from the file's original content");
    run.task(2);
    run.map_file(2, 0x200, 2, "data.db", false);
    run.read_expect(2, 0x200, 1, 6);
    run.read_expect(2, 0x201, 1, 7);
}

/// A private file mapping: how deep does a fault look, and does it see the
/// file's later changes to pages it has not written? The first write gives
/// the entry an amap over the file (two levels, never more); a read of a
/// page it has not written goes one level down to the file (`chain_steps`)
/// and sees what a shared mapping wrote there.
#[test]
fn private_file_mapping_is_an_amap_over_the_file() {
    let mut run = uvm();
    run.task(1);
    run.task(2);
    run.map_file(1, 0x400, 2, "lib.so", true);
    run.map_file(2, 0x400, 2, "lib.so", false);
    assert_eq!(run.chain(1, 0x400), 1, "no amap before the first write");
    run.write_value(1, 0x400, 1, 1);
    let r = run.report();
    assert_eq!((r.objects.created, r.faults.cow_copy, r.faults.page_in, r.pages.paged_in), (2, 1, 0, 1));
    assert_eq!(run.chain(1, 0x400), 2);
    run.write_value(2, 0x401, 1, 9);
    run.read_expect(1, 0x401, 1, 9);
    run.read_expect(1, 0x400, 1, 1);
    run.read_expect(2, 0x400, 1, original(&run, "lib.so", 0).0);
    let r = run.report();
    assert_eq!(r.work.chain_steps, 2, "the first write and the read of page 1 went down to the file");
    assert_eq!(r.objects.max_chain, 2);
}

/// Does UVM give segv and protection faults as values, like every policy,
/// and does it never build the Mach machinery (shadows, copy objects,
/// collapses)?
#[test]
fn uvm_faults_and_the_counters_it_never_moves() {
    let mut run = uvm();
    run.task(1);
    assert_eq!(run.read(1, 0x100, 1), sim::KernReturn::InvalidAddress);
    run.alloc(1, 0x100, 2);
    run.protect(1, 0x100, 2, "r");
    assert_eq!(run.write(1, 0x100, 1), sim::KernReturn::ProtectionFailure);
    run.protect(1, 0x100, 2, "rw");
    run.write(1, 0x100, 2);
    run.fork(1, 2);
    run.write(2, 0x100, 2);
    run.copy(1, 0x100, 1, 0x101);
    run.write(1, 0x100, 2);
    let r = run.report();
    assert_eq!((r.faults.segv, r.faults.protection), (1, 1));
    assert_eq!((r.faults.zero_page, r.faults.cow_move), (0, 0));
    assert_eq!((r.work.shadows_created, r.work.collapses, r.work.bypasses, r.work.push_copy), (0, 0, 0, 0));
    assert_eq!(r.objects.max_chain, 1);
}
