//! The per-page-refcount policies, `linux` and `plan9`: what the canonical
//! fork situations (the `fork-exit` and `live-children` workloads in
//! miniature, a page written on both sides) cost under them, pinned to what
//! the model does. Every test runs
//! with the invariant checker on after each op.

use sim::report::Report;
use sim::{Access, AccessOp, Config, Event, Inheritance, Op, PageCache, PolicyKind, Recorded, Sim, TaskId, Vpn};

use crate::support::{P, Run};

const BOTH: [PolicyKind; 2] = [PolicyKind::Linux, PolicyKind::Plan9];

/// A task with `pages` pages at 0x100, all written with 7.
fn written(policy: PolicyKind, pages: u64) -> Run {
    let mut run = Run::new(policy);
    run.task(1);
    run.alloc(1, 0x100, pages);
    run.write_value(1, 0x100, pages, 7);
    run
}

/// How many page-table slots hold the page task `t` maps at `page`.
fn refs(run: &Run, t: u32, page: u64) -> u32 {
    run.page_holders(t, page)
}

/// The counters that changed between two reports: (objects created, pages
/// copied, faults by kind [zero_fill, zero_page, page_in, map, cow_copy,
/// reuse]).
fn delta(before: &Report, after: &Report) -> (u64, u64, [u64; 6]) {
    let kinds = |r: &Report| {
        [r.faults.zero_fill, r.faults.zero_page, r.faults.page_in, r.faults.map, r.faults.cow_copy, r.faults.reuse]
    };
    let (b, a) = (kinds(before), kinds(after));
    (
        after.objects.created - before.objects.created,
        after.pages.copied - before.pages.copied,
        std::array::from_fn(|i| a[i] - b[i]),
    )
}

/// The fork-exit workload: a fork whose child exits at once, then a write of
/// one page by the parent, five times. What does a round cost? No page copy:
/// once the child is gone the parent's page is exclusive again, so its write
/// reuses it (one fault, `reuse`). Linux and Plan 9 have no VM objects in the
/// Mach sense, so a round makes none; the model makes one object per round
/// all the same, the child's page table (Linux and Plan 9 both build page
/// tables for a child), and frees it when the child exits.
#[test]
fn fork_child_exits_parent_writes() {
    for policy in BOTH {
        let mut run = written(policy, 4);
        for child in 2..7 {
            let before = run.report();
            run.fork(1, child);
            run.exit(child);
            run.write_value(1, 0x100, 1, child.into());
            let after = run.report();
            assert_eq!(delta(&before, &after), (1, 0, [0, 0, 0, 0, 0, 1]), "{policy} round {child}");
        }
        run.read_expect(1, 0x101, 3, 7);
        let r = run.report();
        assert_eq!((r.objects.created, r.objects.alive, r.objects.max_chain), (6, 1, 1), "{policy}");
        assert_eq!((r.pages.resident, r.pages.copied, r.pages.freed, r.pages.hidden), (4, 0, 0, 0), "{policy}");
        assert_eq!(r.work.shadows_created, 0, "{policy}");
    }
}

/// The fork-exit workload with the parent touching every page: which of its
/// touches fault again after the fork? Under Linux none but the write: fork
/// only made its PTEs read-only. Under Plan 9 every page it touches faults
/// once more, because `flushmmu` emptied its MMU; the page it reads and then
/// writes faults twice (map read-only, then reuse).
#[test]
fn every_touch_after_fork_faults_under_plan9() {
    for (policy, want) in [(PolicyKind::Linux, [0, 0, 0, 0, 0, 1]), (PolicyKind::Plan9, [0, 0, 0, 4, 0, 1])] {
        let mut run = written(policy, 4);
        for child in 2..7 {
            let before = run.report();
            run.fork(1, child);
            run.exit(child);
            run.read_expect(1, 0x100, 4, 7);
            run.write_value(1, 0x100, 1, 7);
            let after = run.report();
            assert_eq!(delta(&before, &after), (1, 0, want), "{policy} round {child}");
        }
    }
}

/// The live-children workload: four children stay alive while the parent
/// writes page 0 after each fork. Does anything grow deeper? No: every entry
/// is one page table long; the reference counts of the pages nobody writes
/// rise instead (parent and four children hold them). Each write copies,
/// because the newest child holds the page too.
#[test]
fn live_children_raise_refcounts_not_chains() {
    for policy in BOTH {
        let mut run = written(policy, 4);
        for child in 2..6 {
            run.fork(1, child);
            run.write_value(1, 0x100, 1, child.into());
        }
        for t in 1..6 {
            assert_eq!(run.chain(t, 0x100), 1, "{policy} task {t}");
        }
        assert_eq!([refs(&run, 1, 0x100), refs(&run, 1, 0x101), refs(&run, 5, 0x100)], [1, 5, 1], "{policy}");
        assert_eq!(refs(&run, 2, 0x100), 1, "{policy}: child 2 alone keeps the original of page 0");
        for (t, value) in [(1, 5), (2, 7), (3, 2), (4, 3), (5, 4)] {
            run.read_expect(t, 0x100, 1, value);
        }
        let r = run.report();
        assert_eq!((r.objects.max_chain, r.work.shadows_created, r.work.chain_steps), (1, 0, 0), "{policy}");
        assert_eq!((r.faults.cow_copy, r.pages.copied, r.pages.resident), (4, 4, 8), "{policy}");
        assert_eq!((r.objects.created, r.objects.alive), (5, 5), "{policy}: one page table per task");
    }
}

/// A page written by both parent and child after a fork: how many physical
/// pages are left? Two: the first writer copies, and the
/// last writer finds the original exclusive and reuses it — whichever side
/// writes last.
#[test]
fn page_written_by_both_sides_leaves_two_pages() {
    for policy in BOTH {
        for (first, last) in [(2, 1), (1, 2)] {
            let mut run = written(policy, 1);
            run.fork(1, 2);
            run.write_value(first, 0x100, 1, 8);
            run.write_value(last, 0x100, 1, 9);
            run.read_expect(first, 0x100, 1, 8);
            run.read_expect(last, 0x100, 1, 9);
            let r = run.report();
            assert_eq!((r.pages.resident, r.pages.copied), (2, 1), "{policy}, task {last} last");
            assert_eq!((r.faults.cow_copy, r.faults.reuse), (1, 1), "{policy}, task {last} last");
        }
    }
}

/// After a fork, who faults on a read? Linux copies the PTEs read-only into
/// the child, so the child's reads hit; Plan 9 flushes the parent's MMU and
/// gives the child none, so both sides fault on every page they read.
#[test]
fn reads_after_fork() {
    for (policy, parent_maps, child_maps) in [(PolicyKind::Linux, 0, 0), (PolicyKind::Plan9, 4, 4)] {
        let mut run = written(policy, 4);
        run.fork(1, 2);
        let before = run.report();
        run.read_expect(1, 0x100, 4, 7);
        let parent = run.report();
        run.read_expect(2, 0x100, 4, 7);
        let child = run.report();
        assert_eq!(parent.faults.map - before.faults.map, parent_maps, "{policy} parent");
        assert_eq!(child.faults.map - parent.faults.map, child_maps, "{policy} child");
        assert_eq!(child.faults.total - before.faults.total, parent_maps + child_maps, "{policy}");
    }
}

/// What does a read of never-touched memory map, and what does the write
/// after it cost? Linux maps the shared zero page (no allocation), and the
/// write faults again and allocates. Plan 9 zero-fills a page at once but
/// maps it read-only, so its write faults again too and reuses that page.
/// The zero page is one frame for the whole world, held by a page table no
/// entry refers to.
#[test]
fn read_then_write_of_untouched_memory() {
    let mut run = Run::new(PolicyKind::Linux);
    run.task(1);
    run.alloc(1, 0x100, 2);
    run.read_expect(1, 0x100, 2, 0);
    let r = run.report();
    assert_eq!((r.faults.zero_page, r.pages.resident), (2, 1), "two reads, one zero page");
    assert_eq!(r.objects.created, 2, "the entry's page table and the zero page's holder");
    run.write_value(1, 0x100, 1, 5);
    run.read_expect(1, 0x101, 1, 0);
    run.read_expect(1, 0x100, 1, 5);
    let r = run.report();
    assert_eq!((r.faults.zero_page, r.faults.zero_fill, r.faults.total), (2, 1, 3));
    assert_eq!((r.pages.resident, r.pages.zero_filled), (2, 2), "the zero page and one real page");

    let mut run = Run::new(PolicyKind::Plan9);
    run.task(1);
    run.alloc(1, 0x100, 2);
    run.read_expect(1, 0x100, 2, 0);
    run.write_value(1, 0x100, 1, 5);
    run.read_expect(1, 0x101, 1, 0);
    let r = run.report();
    assert_eq!((r.faults.zero_page, r.faults.zero_fill, r.faults.reuse, r.faults.total), (0, 2, 1, 3));
    assert_eq!((r.pages.resident, r.objects.created), (2, 1));
}

/// Linux `vma_needs_copy`: does fork copy the page table of an entry with
/// no anonymous page? No: the child of a task that only read (zero pages,
/// file pages) gets an empty page table and refaults (its first file fault
/// maps the second file page too: fault-around); once the parent has
/// written, the table is copied and the child's reads hit.
#[test]
fn linux_copies_only_tables_with_anonymous_pages() {
    let mut run = Run::new(PolicyKind::Linux);
    run.task(1);
    run.alloc(1, 0x100, 2);
    run.map_file(1, 0x200, 2, "libc.so.6", true);
    run.read(1, 0x100, 2);
    run.read(1, 0x200, 2);
    run.sim.keep_events(true);
    run.fork(1, 2);
    let copied_tables = run.sim.take_events().iter().filter(|e| matches!(e, Event::PageTableCopied { .. })).count();
    assert_eq!(copied_tables, 0, "neither table holds an anonymous page");
    let before = run.report();
    run.read(2, 0x100, 2);
    run.read(2, 0x200, 2);
    let after = run.report();
    assert_eq!(delta(&before, &after).2, [0, 2, 0, 1, 0, 0], "the child refaults: zero page twice, file page once");
    assert_eq!(after.work.fault_around - before.work.fault_around, 1, "the cached second file page came with it");
    assert_eq!(after.work.chain_steps - before.work.chain_steps, 1, "the file page is found one object down");

    run.write(1, 0x100, 1);
    run.fork(1, 3);
    let copied_tables = run.sim.take_events().iter().filter(|e| matches!(e, Event::PageTableCopied { .. })).count();
    assert_eq!(copied_tables, 1, "only the anonymous entry's table, which now holds a written page");
    let before = run.report();
    run.read(3, 0x100, 2);
    let after = run.report();
    assert_eq!(after.faults.total, before.faults.total, "the child's PTEs were copied at fork");
}

/// How does a private file mapping share and copy file pages? A read puts
/// the file's page itself in the page table (paged in once, then mapped by
/// every other reader), so the mapping sees later writes to the file until
/// it writes the page; that write copies, because the file holds the page
/// too. A shared mapping writes the file's page in place.
#[test]
fn private_file_mapping_reads_through_and_copies_on_write() {
    for policy in BOTH {
        let mut run = Run::new(policy);
        run.task(1);
        run.task(2);
        run.map_file(1, 0x200, 2, "data.db", true);
        run.map_file(2, 0x300, 2, "data.db", false);
        run.read(1, 0x200, 2);
        assert_eq!(refs(&run, 1, 0x200), 2, "{policy}: the file and task 1's table");
        run.write_value(2, 0x300, 1, 4);
        run.read_expect(1, 0x200, 1, 4);
        run.write_value(1, 0x201, 1, 6);
        run.write_value(2, 0x301, 1, 5);
        run.read_expect(1, 0x201, 1, 6);
        run.read_expect(2, 0x301, 1, 5);
        assert_eq!(run.chain(1, 0x200), 2, "{policy}: page table over the file");
        assert_eq!(run.chain(2, 0x300), 1, "{policy}: the file itself");
        let r = run.report();
        assert_eq!((r.faults.page_in, r.faults.cow_copy, r.pages.copied, r.pages.paged_in), (2, 1, 1, 2), "{policy}");
        assert_eq!(r.work.chain_steps, 2, "{policy}: the two reads found the file's pages one object down");
    }
}

/// A shared file mapping never copies; but how often does it fault? Linux
/// maps a shared file page read-only on a read so that the first write
/// faults (dirty tracking); Plan 9 maps a shared segment's page writable on
/// any fault.
#[test]
fn shared_file_writes_in_place() {
    for (policy, faults) in [(PolicyKind::Linux, 3), (PolicyKind::Plan9, 2)] {
        let mut run = Run::new(policy);
        run.task(1);
        run.map_file(1, 0x300, 1, "data.db", false);
        run.inherit(1, 0x300, 1, Inheritance::Share);
        run.fork(1, 2);
        run.write_value(2, 0x300, 1, 5);
        run.read_expect(1, 0x300, 1, 5);
        run.write_value(1, 0x300, 1, 6);
        run.read_expect(2, 0x300, 1, 6);
        let r = run.report();
        assert_eq!((r.faults.page_in, r.faults.total, r.pages.copied, r.pages.resident), (1, faults, 0, 1), "{policy}");
    }
}

/// Is a copy of shared memory a true snapshot? The sharers keep writing in
/// place, so `vm_copy` copies the pages they may write physically, at copy
/// time; after that nobody copies again, and the copy keeps the old values.
#[test]
fn copy_of_shared_memory_is_a_snapshot() {
    for policy in BOTH {
        let mut run = written(policy, 2);
        run.inherit(1, 0x100, 2, Inheritance::Share);
        run.fork(1, 2);
        run.alloc(2, 0x200, 2);
        let before = run.report().pages.copied;
        assert_eq!(run.copy(2, 0x100, 2, 0x200), sim::KernReturn::Success);
        assert_eq!(run.report().pages.copied - before, 2, "{policy}: both pages copied at vm_copy");
        run.write_value(1, 0x100, 2, 3);
        run.read_expect(2, 0x100, 2, 3);
        run.read_expect(2, 0x200, 2, 7);
        let r = run.report();
        assert_eq!((r.pages.copied, r.faults.cow_copy, r.pages.resident), (2, 0, 4), "{policy}");
    }
}

/// In memory shared by share inheritance, what happens to a page another
/// page table also holds (from an earlier private fork)? It is still copied
/// before it changes, into the shared table, so every sharer sees the copy.
/// Plan 9 copies at the first *reference*, even a read, because a shared
/// segment's pages are always mapped writable; Linux copies at the write
/// and takes the other sharer's mapping away.
#[test]
fn shared_memory_copies_a_page_another_table_holds() {
    for (policy, copy_on_read) in [(PolicyKind::Linux, 0), (PolicyKind::Plan9, 1)] {
        let mut run = written(policy, 1);
        run.fork(1, 2);
        run.inherit(1, 0x100, 1, Inheritance::Share);
        run.fork(1, 3);
        run.read_expect(3, 0x100, 1, 7);
        assert_eq!(run.report().faults.cow_copy, copy_on_read, "{policy}: after task 3's read");
        run.write_value(1, 0x100, 1, 8);
        run.read_expect(3, 0x100, 1, 8);
        run.read_expect(2, 0x100, 1, 7);
        let r = run.report();
        assert_eq!((r.faults.cow_copy, r.pages.resident), (1, 2), "{policy}");
        assert_eq!(refs(&run, 2, 0x100), 1, "{policy}: child 2 keeps the original alone");
    }
}

/// Does unmapping part of an entry free its pages at once? Yes when no other
/// entry maps them; pages of a table shared with another task stay until the
/// last task that maps them lets go.
#[test]
fn partial_unmap_frees_what_no_entry_maps() {
    for policy in BOTH {
        let mut run = written(policy, 4);
        run.protect(1, 0x103, 1, "r");
        run.dealloc(1, 0x101, 2);
        run.read_expect(1, 0x100, 1, 7);
        run.read_expect(1, 0x103, 1, 7);
        let r = run.report();
        assert_eq!((r.pages.freed, r.pages.resident, r.pages.hidden), (2, 2, 0), "{policy}");
        assert_eq!(r.objects.alive, 1, "{policy}: three pieces of one page table, then two");

        let mut run = written(policy, 4);
        run.inherit(1, 0x100, 4, Inheritance::Share);
        run.fork(1, 2);
        run.dealloc(1, 0x101, 2);
        assert_eq!(run.report().pages.freed, 0, "{policy}: the child still maps them");
        run.read_expect(2, 0x101, 2, 7);
        run.dealloc(2, 0x101, 2);
        let r = run.report();
        assert_eq!((r.pages.freed, r.pages.resident), (2, 2), "{policy}");
        run.exit(2);
        run.read_expect(1, 0x103, 1, 7);
    }
}

/// Which fault kinds and work counters do these policies produce? Every
/// kind but `cow_move` (a page is never moved), and of the work counters
/// only `chain_steps` (a file page found below a private mapping's table):
/// no shadows, copy objects, collapses, bypasses or amaps.
#[test]
fn fault_kinds_and_work() {
    for (policy, kinds) in [
        // zero_fill, zero_page, page_in, map, cow_copy, reuse, segv, protection
        (PolicyKind::Linux, [2, 1, 1, 1, 2, 1, 1, 1]),
        (PolicyKind::Plan9, [2, 0, 1, 3, 2, 2, 1, 1]),
    ] {
        let mut run = Run::new(policy);
        run.task(1);
        run.alloc(1, 0x100, 2);
        run.read(1, 0x100, 1); // linux zero_page, plan9 zero_fill (read-only)
        run.write(1, 0x100, 1); // linux zero_fill, plan9 reuse
        run.map_file(1, 0x200, 1, "libc.so.6", true);
        run.read(1, 0x200, 1); // page_in
        run.write(1, 0x200, 1); // cow_copy (the file holds the page)
        run.fork(1, 2);
        run.read(2, 0x100, 1); // linux hit, plan9 map
        run.write(2, 0x100, 1); // cow_copy
        run.write(1, 0x100, 1); // reuse
        run.read(1, 0x200, 1); // linux hit, plan9 map
        run.write(1, 0x101, 1); // zero_fill
        run.read(1, 0x300, 1); // segv
        run.protect(1, 0x101, 1, "r");
        run.write(1, 0x101, 1); // protection
        run.task(3);
        run.map_file(3, 0x200, 1, "libc.so.6", true);
        run.read(3, 0x200, 1); // map: the file page is resident
        let r = run.report();
        let f = &r.faults;
        assert_eq!(
            [f.zero_fill, f.zero_page, f.page_in, f.map, f.cow_copy, f.reuse, f.segv, f.protection],
            kinds,
            "{policy}"
        );
        assert_eq!(f.cow_move, 0, "{policy}");
        let work = &r.work;
        assert_eq!([work.push_copy, work.amap_copy, work.shadows_created, work.collapses, work.bypasses], [0; 5]);
        assert_eq!(work.chain_steps, 2, "{policy}: the file page found below the table, by tasks 1 and 3");
    }
}

// ---------------------------------------------------------------------------
// Linux fault-around of file pages
// ---------------------------------------------------------------------------

/// An access of task `t` to one page that a real capture recorded as a
/// fault of class `recorded` (see docs/fidelity.md).
fn recorded_access(run: &mut Run, t: u32, access: Access, page: u64, recorded: Recorded) {
    let op = Op::Access(AccessOp {
        task: TaskId(t),
        access,
        addr: page * P,
        len: P,
        value: None,
        expect_value: None,
        recorded: Some(recorded),
    });
    assert_eq!(run.op(op), sim::KernReturn::Success);
}

/// The pages task `t` has a valid pmap entry for in `[start, end)`.
fn mapped_pages(run: &Run, t: u32, start: u64, end: u64) -> Vec<u64> {
    let view = run.sim.view();
    (start..end).filter(|v| view.pmap_finding(TaskId(t), Vpn(*v), Access::Read).is_none()).collect()
}

/// Does a read of a file page map its cached neighbours, so the first
/// write to one is a present fault? Under Linux, yes. Task 1 reads 32 pages
/// of a file: each is a `page_in`, and nothing is mapped around, because
/// the page cache (the file object's pages) starts empty. Task 2 maps the
/// same file and reads one page: that one fault also maps the 15 other
/// pages of its aligned 16-page window, read-only, each the file's own page
/// (one more reference, no new frame), so its reads of the window hit. Its
/// first write to a neighbour then finds a read-only PTE — the `present`
/// fault Linux records — and copies; a write just past the window finds
/// no PTE (`not_present`). Plan 9 maps the page read and nothing else, so
/// it disagrees with Linux on the first write.
#[test]
fn read_of_a_file_page_maps_its_cached_neighbours() {
    for (policy, around, agreed) in [(PolicyKind::Linux, 15, 2), (PolicyKind::Plan9, 0, 1)] {
        let mut run = Run::new(policy);
        run.task(1);
        run.task(2);
        run.map_file(1, 0x200, 32, "libc.so.6", true);
        run.read(1, 0x200, 32);
        let r = run.report();
        assert_eq!((r.faults.page_in, r.work.fault_around), (32, 0), "{policy}: a cold page cache maps nothing around");

        run.map_file(2, 0x400, 32, "libc.so.6", true);
        let before = run.report();
        run.read(2, 0x405, 1);
        let after = run.report();
        assert_eq!(delta(&before, &after), (0, 0, [0, 0, 0, 1, 0, 0]), "{policy}: one fault, nothing made");
        assert_eq!(after.work.fault_around, around, "{policy}");
        assert_eq!(after.pages.resident, 32, "{policy}: the neighbours are the file's own pages");
        let window: Vec<u64> = if around > 0 { (0x400..0x410).collect() } else { vec![0x405] };
        assert_eq!(mapped_pages(&run, 2, 0x400, 0x420), window, "{policy}");
        if around > 0 {
            assert_eq!(refs(&run, 2, 0x40a), 3, "{policy}: the file, task 1's table and task 2's table");
        }

        recorded_access(&mut run, 2, Access::Write, 0x40a, Recorded::Present);
        recorded_access(&mut run, 2, Access::Write, 0x410, Recorded::NotPresent);
        let r = run.report();
        let fidelity = r.fidelity.expect("recorded accesses");
        assert_eq!((fidelity.recorded, fidelity.agreed, fidelity.not_faulted), (2, agreed, 0), "{policy}");
        assert_eq!((r.faults.cow_copy, r.pages.copied, r.pages.resident), (2, 2, 34), "{policy}: both writes copy");
    }
}

/// Which pages does fault-around map, seen through the policy? The
/// 16-page block holding the fault, shifted to start at the entry when the
/// entry starts inside the block, and cut at the end of the 512-entry page
/// table holding the fault (the window's own rules are unit-tested in
/// `sim/src/policy/pagetable.rs`).
#[test]
fn fault_around_window_is_aligned_and_clipped() {
    let mut run = Run::new(PolicyKind::Linux);
    run.task(1);
    run.task(2);
    run.map_file(1, 0x1000, 64, "libc.so.6", true);
    run.read(1, 0x1000, 64);
    for (start, pages, fault, want) in [(0x2003, 40, 0x2005, 0x2003..0x2013), (0x21f8, 16, 0x21fa, 0x21f8..0x2200)] {
        run.map_file(2, start, pages, "libc.so.6", true);
        run.read(2, fault, 1);
        assert_eq!(mapped_pages(&run, 2, start, start + pages), want.collect::<Vec<_>>());
    }
    assert_eq!(run.report().work.fault_around, 15 + 7);
}

/// What does not fault around? A write fault (Linux `do_cow_fault` and
/// `do_shared_fault` map the faulting page only), anonymous memory, and a
/// neighbour whose PTE is not empty: a page the mapping has written keeps
/// its own copy. Through a shared file mapping the neighbours are mapped
/// read-only too, so the first write to one is a present fault that makes
/// it writable in place (dirty tracking), with nothing copied.
#[test]
fn what_fault_around_leaves_alone() {
    let mut run = Run::new(PolicyKind::Linux);
    run.task(1);
    run.task(2);
    run.map_file(1, 0x200, 16, "data.db", true);
    run.read(1, 0x200, 16);
    run.map_file(2, 0x300, 16, "data.db", true);
    run.write_value(2, 0x303, 1, 9);
    assert_eq!(run.report().work.fault_around, 0, "a write fault maps one page");
    run.alloc(2, 0x500, 16);
    run.read(2, 0x505, 1);
    assert_eq!(run.report().work.fault_around, 0, "anonymous memory has no page cache");
    run.read(2, 0x305, 1);
    assert_eq!(run.report().work.fault_around, 14, "all but the faulting page and the written one");
    run.read_expect(2, 0x303, 1, 9);

    run.map_file(2, 0x400, 16, "data.db", false);
    run.read(2, 0x400, 1);
    assert_eq!(run.report().work.fault_around, 14 + 15);
    let finding = run.sim.view().pmap_finding(TaskId(2), Vpn(0x40c), Access::Write);
    assert_eq!(finding, Some(Recorded::Present), "mapped read-only, so the first write faults");
    let before = run.report();
    run.write_value(2, 0x40c, 1, 4);
    let after = run.report();
    assert_eq!(delta(&before, &after), (0, 0, [0, 0, 0, 1, 0, 0]), "the page cache page, made writable");
    run.read_expect(1, 0x20c, 1, 4);
}

/// With a warm page cache (the machine a capture was recorded on had run
/// the program before), what does the first read of a file bring? Its
/// whole window: the faulting page is paged in, and its 15 neighbours are
/// brought into the file object without a fault and mapped read-only. The
/// registered `linux` keeps the page cache cold instead (the test above).
#[test]
fn warm_page_cache_maps_the_whole_window() {
    let config = Config::default().check_invariants(true).sample_every(1).page_cache(PageCache::Warm);
    let mut run = Run { sim: Sim::new(PolicyKind::Linux, config) };
    run.task(1);
    run.map_file(1, 0x200, 32, "libc.so.6", true);
    run.read(1, 0x207, 1);
    let r = run.report();
    assert_eq!((r.faults.total, r.faults.page_in, r.work.fault_around), (1, 1, 15));
    assert_eq!((r.pages.paged_in, r.pages.resident), (16, 16));
    assert_eq!(mapped_pages(&run, 1, 0x200, 0x220), (0x200..0x210).collect::<Vec<_>>());
    run.read(1, 0x200, 16);
    assert_eq!(run.report().faults.total, 1, "the window's reads hit");
}
