//! The per-page-refcount policies, `linux` and `plan9`: what kernels.md
//! §8.2 predicts for them, pinned to what the model does. Every test runs
//! with the invariant checker on after each op.

use sim::report::Report;
use sim::{Event, Inheritance, Op, PolicyKind, Prot, TaskId, Vpn};

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

/// `vm_map` of `file` (from its first page) at `page`, private or shared.
fn map_file(run: &mut Run, t: u32, page: u64, pages: u64, file: &str, private: bool) {
    let op = Op::VmMap {
        task: TaskId(t),
        addr: Some(page * P),
        size: pages * P,
        anywhere: false,
        file: file.to_string(),
        offset: 0,
        private,
        prot: Prot::DEFAULT,
    };
    assert_eq!(run.op(op), sim::KernReturn::Success);
}

/// How many page-table slots hold the page task `t` maps at `page`.
fn refs(run: &Run, t: u32, page: u64) -> u32 {
    let w = run.sim.world();
    let entry = w.entry(TaskId(t), Vpn(page)).expect("no entry");
    let held = w.object(entry.object).page(entry.pindex(Vpn(page))).expect("no page in the slot");
    w.pages.get(held).refs
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

/// W1 (kernels.md §8.2): a fork whose child exits at once, then a write of
/// one page by the parent, five times. What does a round cost? No page copy:
/// once the child is gone the parent's page is exclusive again, so its write
/// reuses it (one fault, `reuse`). kernels.md's "0 objects" counts VM
/// objects; the model makes one object per round all the same, the child's
/// page table (Linux and Plan 9 both build page tables for a child), and
/// frees it when the child exits.
#[test]
fn w1_fork_child_exits_parent_writes() {
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

/// W1 with the parent touching every page: which of its touches fault
/// again after the fork? Under Linux none but the write: fork only made its
/// PTEs read-only. Under Plan 9 every page it touches faults once more,
/// because `flushmmu` emptied its MMU; the page it reads and then writes
/// faults twice (map read-only, then reuse).
#[test]
fn w1_every_touch_after_fork_faults_under_plan9() {
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

/// W2 (kernels.md §8.2): four children stay alive while the parent writes
/// page 0 after each fork. Does anything grow deeper? No: every entry is one
/// page table long; the reference counts of the pages nobody writes rise
/// instead (parent and four children hold them). Each write copies, because
/// the newest child holds the page too.
#[test]
fn w2_live_children_raise_refcounts_not_chains() {
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
/// pages are left? Two (kernels.md §8.2): the first writer copies, and the
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
/// file pages) gets an empty page table and refaults; once the parent has
/// written, the table is copied and the child's reads hit.
#[test]
fn linux_copies_only_tables_with_anonymous_pages() {
    let mut run = Run::new(PolicyKind::Linux);
    run.task(1);
    run.alloc(1, 0x100, 2);
    map_file(&mut run, 1, 0x200, 2, "libc.so.6", true);
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
    assert_eq!(delta(&before, &after).2, [0, 2, 0, 2, 0, 0], "the child refaults: zero page twice, file pages mapped");
    assert_eq!(after.work.chain_steps - before.work.chain_steps, 2, "the file pages are found one object down");

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
        map_file(&mut run, 1, 0x200, 2, "data.db", true);
        map_file(&mut run, 2, 0x300, 2, "data.db", false);
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
        map_file(&mut run, 1, 0x300, 1, "data.db", false);
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
        map_file(&mut run, 1, 0x200, 1, "libc.so.6", true);
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
        map_file(&mut run, 3, 0x200, 1, "libc.so.6", true);
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
