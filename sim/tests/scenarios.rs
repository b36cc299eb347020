use sim::KernReturn::{self, Success};
use sim::event::{Event, FaultKind};
use sim::{Op, PolicyKind, TaskId};

use crate::support::{P, Run};

/// A parent with four written pages, forked into child 2.
fn forked(policy: PolicyKind) -> Run {
    let mut run = Run::new(policy);
    run.task(1);
    run.alloc(1, 0x100, 4);
    run.write_value(1, 0x100, 4, 7);
    run.fork(1, 2);
    run
}

/// After a fork and a child write, what does the chain look like?
/// The child's entry has a shadow holding its one copied page, in front of
/// the object it still shares with the parent; the parent's chain is one
/// object long.
#[test]
fn fork_then_child_write() {
    let mut run = forked(PolicyKind::GnuMach);
    run.write_value(2, 0x100, 1, 9);
    run.read_expect(1, 0x100, 4, 7);
    run.read_expect(2, 0x101, 3, 7);
    run.read_expect(2, 0x100, 1, 9);
    assert_eq!(run.chain(2, 0x100), 2);
    assert_eq!(run.chain(1, 0x100), 1);
    let r = run.report();
    assert_eq!(r.objects.created, 2, "the anonymous object and the child's shadow");
    assert_eq!(r.work.shadows_created, 1);
    assert_eq!(r.faults.zero_fill, 4);
    assert_eq!(r.faults.cow_copy, 1, "only the written page is copied");
    // The child faults on its first read of each of the three shared pages
    // (no pmap_copy at fork). The copy-up took every mapping of the original
    // page away (pmap_page_protect to none), the parent's included, so the
    // parent's read of that page faults once too.
    assert_eq!(r.faults.map, 4);
    assert_eq!(r.faults.total, 9);
    assert_eq!(r.pages.resident, 5);
    assert_eq!(r.objects.max_chain, 2);
}

/// After the child exits and the parent writes, what is left? GNU Mach makes
/// a shadow anyway (no ref-count-1 shortcut) and copies the page, then
/// collapses: the old object has one reference left, so its other pages
/// move up and it is freed. Without collapse both objects stay and the
/// original of the written page is hidden.
#[test]
fn child_exits_then_parent_writes() {
    let mut run = forked(PolicyKind::GnuMach);
    run.exit(2);
    run.write_value(1, 0x100, 1, 9);
    run.read_expect(1, 0x101, 3, 7);
    assert_eq!(run.chain(1, 0x100), 1);
    let r = run.report();
    assert_eq!((r.objects.created, r.objects.alive), (2, 1));
    assert_eq!((r.faults.cow_copy, r.work.collapses, r.work.bypasses), (1, 1, 0));
    assert_eq!((r.pages.resident, r.pages.copied, r.pages.freed, r.pages.hidden), (4, 1, 1, 0));

    let mut run = forked(PolicyKind::MachNoCollapse);
    run.exit(2);
    run.write_value(1, 0x100, 1, 9);
    assert_eq!(run.chain(1, 0x100), 2);
    let r = run.report();
    assert_eq!((r.objects.created, r.objects.alive), (2, 2));
    assert_eq!((r.pages.resident, r.pages.hidden, r.work.collapses), (5, 1, 0));
}

/// After three forks, with the parent writing a new page after each and
/// every child alive, how long are the chains? N + 1 for the parent, and
/// child k sees the chain as it was when it was forked.
#[test]
fn chain_after_three_forks() {
    for policy in [PolicyKind::GnuMach, PolicyKind::MachNoCollapse] {
        let mut run = Run::new(policy);
        run.task(1);
        run.alloc(1, 0x100, 4);
        run.write(1, 0x100, 4);
        for (child, page) in [(2, 0x100), (3, 0x101), (4, 0x102)] {
            run.fork(1, child);
            run.write(1, page, 1);
        }
        assert_eq!(
            [run.chain(1, 0x100), run.chain(2, 0x100), run.chain(3, 0x100), run.chain(4, 0x100)],
            [4, 1, 2, 3],
            "{policy}"
        );
        let r = run.report();
        assert_eq!((r.objects.created, r.work.shadows_created, r.faults.cow_copy), (4, 3, 3), "{policy}");
        assert_eq!((r.work.collapses, r.work.bypasses), (0, 0), "{policy}: every level is needed");
        assert_eq!(r.objects.max_chain, 4, "{policy}");
    }
}

/// Had the parent written the same page after every fork, could GNU Mach
/// keep its chain short? Yes: each new shadow holds every page of the level
/// below that the parent can see, so collapse bypasses that level.
#[test]
fn same_page_after_each_fork_is_bypassed() {
    let mut run = Run::new(PolicyKind::GnuMach);
    run.task(1);
    run.alloc(1, 0x100, 4);
    run.write(1, 0x100, 4);
    for child in 2..5 {
        run.fork(1, child);
        run.write(1, 0x100, 1);
    }
    assert_eq!(run.chain(1, 0x100), 2);
    let r = run.report();
    assert_eq!((r.work.bypasses, r.work.collapses), (2, 0));
    assert_eq!(r.objects.max_chain, 2, "no chain is longer than two at any operation boundary");
}

/// What does vm_copy onto an overlapping range read back? The source as it
/// was before the call; and nothing is copied until a write.
#[test]
fn vm_copy_overlapping_reads_the_snapshot() {
    for policy in PolicyKind::ALL {
        let mut run = Run::new(policy);
        run.task(1);
        run.alloc(1, 0x100, 8);
        for (i, value) in [0xa, 0xb, 0xc, 0xd].into_iter().enumerate() {
            run.write_value(1, 0x100 + i as u64, 1, value);
        }
        let before = run.report().pages.copied;
        assert_eq!(run.copy(1, 0x100, 4, 0x102), sim::KernReturn::Success);
        let after = run.report().pages.copied;
        for (page, value) in [(0x100, 0xa), (0x101, 0xb), (0x102, 0xa), (0x103, 0xb), (0x104, 0xc), (0x105, 0xd)] {
            run.read_expect(1, page, 1, value);
        }
        run.write_value(1, 0x104, 1, 0xe);
        run.read_expect(1, 0x104, 1, 0xe);
        run.read_expect(1, 0x102, 1, 0xa);
        if policy == PolicyKind::GnuMach {
            assert_eq!(after - before, 0, "vm_copy is lazy");
            let r = run.report();
            assert_eq!((r.objects.created, r.faults.cow_copy, r.pages.copied), (2, 1, 1));
        }
        if policy == PolicyKind::Eager {
            assert_eq!(after - before, 4, "eager copies the four source pages at once");
        }
    }
}

/// Does mach-nocollapse really show the growth gnumach prevents? A shell-like
/// loop (fork, child exits, parent writes) keeps gnumach at one object and
/// grows mach-nocollapse's chain by one object per round.
#[test]
fn nocollapse_grows_where_gnumach_does_not() {
    let rounds = 6;
    let mut reports = Vec::new();
    for policy in [PolicyKind::GnuMach, PolicyKind::MachNoCollapse] {
        let mut run = Run::new(policy);
        run.task(1);
        run.alloc(1, 0x100, 4);
        run.write(1, 0x100, 4);
        for child in 2..2 + rounds {
            run.fork(1, child);
            run.exit(child);
            run.write(1, 0x100, 1);
        }
        reports.push((run.chain(1, 0x100), run.report()));
    }
    let (gnumach_chain, gnumach) = &reports[0];
    let (plain_chain, plain) = &reports[1];
    assert_eq!((*gnumach_chain, gnumach.objects.alive, gnumach.objects.max_chain), (1, 1, 1));
    assert_eq!(gnumach.work.collapses, rounds as u64);
    assert_eq!((*plain_chain, plain.objects.alive, plain.objects.max_chain), (7, 7, 7));
    assert_eq!(plain.pages.hidden, rounds as u64, "one stale original per round");
    assert_eq!(gnumach.read_digest, plain.read_digest);
}

/// What does a moving `mremap` (`vm_move`) do? The memory goes with the
/// mapping under every design: the data is at the new address, the old one
/// is unmapped, and nothing is copied. Linux moves its page-table entries
/// too, so the moved pages are read without a fault; the other designs
/// start the new range with no hardware entries, and each page's next
/// access is a soft fault that maps the same page.
#[test]
fn a_move_carries_the_memory() {
    for policy in PolicyKind::ALL {
        let mut run = Run::new(policy);
        run.task(1);
        assert_eq!(run.alloc(1, 0x100, 4), Success);
        assert_eq!(run.write_value(1, 0x100, 4, 7), Success);
        run.sim.keep_events(true);
        let moved = Op::VmMove { task: TaskId(1), src: 0x100 * P, size: 4 * P, dst: 0x500 * P };
        assert_eq!(run.op(moved), Success, "{policy}");
        assert_eq!(run.read_expect(1, 0x500, 4, 7), Success, "{policy}: the data moved");
        assert_eq!(run.read(1, 0x100, 1), KernReturn::InvalidAddress, "{policy}: the old range is gone");
        let events = run.sim.take_events();
        let faults: Vec<FaultKind> = events
            .iter()
            .filter_map(|e| match e {
                Event::Fault { kind, .. } => Some(*kind),
                _ => None,
            })
            .collect();
        let copied = events.iter().filter(|e| matches!(e, Event::PageCopied { .. })).count();
        assert_eq!(copied, 0, "{policy}: nothing is copied");
        let expected = match policy {
            // Linux moves its page-table entries with the mapping.
            PolicyKind::Linux | PolicyKind::LinuxOdf => vec![FaultKind::Segv],
            _ => [vec![FaultKind::Map; 4], vec![FaultKind::Segv]].concat(),
        };
        assert_eq!(faults, expected, "{policy}");
    }
}

/// What does a `resident` op count? The pages of its range the real kernel
/// had present against those with a valid entry in the simulated task's
/// page table: written pages are present under every design, untouched
/// ones under none, and nothing changes.
#[test]
fn resident_compares_the_page_table_with_the_kernel() {
    for policy in PolicyKind::ALL {
        let mut run = Run::new(policy);
        run.task(1);
        assert_eq!(run.alloc(1, 0x100, 4), Success);
        assert_eq!(run.write(1, 0x100, 2), Success);
        run.sim.keep_events(true);
        let resident =
            |present: Vec<(u64, u64)>| Op::Resident { task: TaskId(1), addr: 0x100 * P, size: 4 * P, present };
        assert_eq!(run.op(resident(vec![(0, 2), (3, 1)])), Success, "{policy}");
        assert_eq!(run.op(resident(vec![(1, 3)])), Success, "{policy}");
        let counts: Vec<(u64, u64, u64)> = run
            .sim
            .take_events()
            .iter()
            .filter_map(|e| match e {
                Event::ResidencyCompared { both, kernel_only, simulator_only, .. } => {
                    Some((*both, *kernel_only, *simulator_only))
                }
                _ => None,
            })
            .collect();
        assert_eq!(counts, [(2, 1, 0), (1, 2, 1)], "{policy}");
        for bad in [vec![(3, 1), (0, 2)], vec![(0, 2), (1, 1)], vec![(2, 3)], vec![(0, 0)]] {
            assert_eq!(run.op(resident(bad.clone())), KernReturn::InvalidArgument, "{policy}: {bad:?}");
        }
        let wraps = Op::Resident { task: TaskId(1), addr: u64::MAX - P + 1, size: 2 * P, present: vec![] };
        assert_eq!(run.op(wraps), KernReturn::InvalidAddress, "{policy}");
        let misaligned = Op::Resident { task: TaskId(1), addr: 0x100 * P + 8, size: P, present: vec![] };
        assert_eq!(run.op(misaligned), KernReturn::InvalidArgument, "{policy}");
        let report = run.report();
        let e = report.exit_residency.expect("compared pages");
        assert_eq!((e.both, e.kernel_only, e.simulator_only), (3, 3, 1), "{policy}");
    }
}
