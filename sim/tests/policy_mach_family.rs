//! The Mach family side by side: `gnumach`, `mach-nocollapse`, `xnu` and
//! `freebsd` on the three canonical fork situations (the `fork-exit`,
//! `live-children` and `stranding` workloads in miniature), then the
//! mechanisms that set `xnu` (copy objects and their push, collapse on
//! deallocate, whole-chain collapse) and `freebsd` (no shadow for a sole
//! reference, `cow_move`, collapse at exit, fork and unmap, ONEMAPPING)
//! apart. Every number below was read off the model and is pinned, so a
//! change in any policy's behaviour shows up as a one-line failure.
//!
//! Pages are numbered from `BASE`; every test runs with the invariant
//! checker on after each operation (see `support::Run`).

use sim::event::Event;
use sim::report::Report;
use sim::{FaultKind, Inheritance, PolicyKind};

use crate::support::Run;

/// Where every test maps its memory (in pages).
const BASE: u64 = 0x100;

const GNUMACH: PolicyKind = PolicyKind::GnuMach;
const NOCOLLAPSE: PolicyKind = PolicyKind::MachNoCollapse;
const XNU: PolicyKind = PolicyKind::Xnu;
const FREEBSD: PolicyKind = PolicyKind::FreeBsd;

/// The counters so far.
fn stats(run: &mut Run) -> Report {
    run.report()
}

/// Task 1 with `pages` pages at `BASE`, the first `written` of them written.
fn parent(policy: PolicyKind, pages: u64, written: u64) -> Run {
    let mut run = Run::new(policy);
    run.task(1);
    run.alloc(1, BASE, pages);
    if written > 0 {
        run.write(1, BASE, written);
    }
    run
}

/// The object behind task `t`'s entry at `page`.
fn object_of(run: &Run, t: u32, page: u64) -> sim::ObjectId {
    run.entry(t, page).object
}

/// Is the object FreeBSD's `OBJ_ONEMAPPING`?
fn one_mapping(run: &Run, object: sim::ObjectId) -> bool {
    run.sim.view().object(object).expect("a live object").one_mapping()
}

/// What one round of a workload cost: objects made, pages copied, shadows
/// made, collapses, and faults by kind.
#[derive(Debug, PartialEq, Eq)]
struct Round {
    objects: u64,
    copies: u64,
    shadows: u64,
    collapses: u64,
    kinds: Vec<(FaultKind, u64)>,
}

fn round(before: &Report, after: &Report) -> Round {
    let kinds = FaultKind::ALL
        .into_iter()
        .map(|k| (k, after.faults.count(k) - before.faults.count(k)))
        .filter(|(_, n)| *n > 0)
        .collect();
    Round {
        objects: after.objects.created - before.objects.created,
        copies: after.pages.copied - before.pages.copied,
        shadows: after.work.shadows_created - before.work.shadows_created,
        collapses: after.work.collapses - before.work.collapses,
        kinds,
    }
}

/// The fork-exit workload: a task forks, the child exits at once, the parent
/// writes one page; five rounds. What does a round cost, and how long is the
/// parent's chain afterwards?
///
/// GNU Mach and XNU make a shadow and copy the page although nobody else can
/// see it, then collapse the old object into the shadow: one object and one
/// copy a round, chain 1. FreeBSD's parent holds the only reference when it
/// writes, so it takes its object over: nothing made, nothing copied, a
/// `reuse`. Without collapse the chain grows by one a round.
#[test]
fn fork_exit_write_costs_per_round() {
    let copy_up =
        |collapses| Round { objects: 1, copies: 1, shadows: 1, collapses, kinds: vec![(FaultKind::CowCopy, 1)] };
    let take_over = Round { objects: 0, copies: 0, shadows: 0, collapses: 0, kinds: vec![(FaultKind::Reuse, 1)] };
    let expected = [
        (GNUMACH, copy_up(1), [1, 1, 1, 1, 1], 4),
        (XNU, copy_up(1), [1, 1, 1, 1, 1], 4),
        (FREEBSD, take_over, [1, 1, 1, 1, 1], 4),
        (NOCOLLAPSE, copy_up(0), [2, 3, 4, 5, 6], 9),
    ];
    for (policy, cost, chains, resident) in expected {
        let mut run = parent(policy, 4, 4);
        for (k, chain) in chains.into_iter().enumerate() {
            let child = 10 + k as u32;
            let before = stats(&mut run);
            run.fork(1, child);
            run.exit(child);
            run.write(1, BASE, 1);
            assert_eq!(round(&before, &stats(&mut run)), cost, "{policy} round {k}");
            assert_eq!(run.chain(1, BASE), chain, "{policy} chain after round {k}");
        }
        assert_eq!(run.report().pages.resident, resident, "{policy}");
    }
}

/// The live-children workload: four children stay alive while the parent
/// writes a different page after each fork. How deep is the parent's chain,
/// and how far does a fault on an untouched page search?
///
/// Every child still needs its level, so every Mach-family policy ends with
/// N + 1 = 5 objects, and the parent's fault on a page nobody wrote walks
/// past all four backing objects before zero-filling.
#[test]
fn live_children_need_a_deep_chain() {
    for policy in [GNUMACH, NOCOLLAPSE, XNU, FREEBSD] {
        let mut run = parent(policy, 8, 4);
        for k in 0..4 {
            run.fork(1, 10 + k as u32);
            run.write(1, BASE + k, 1);
        }
        assert_eq!(run.chain(1, BASE), 5, "{policy}");
        let before = stats(&mut run);
        run.read(1, BASE + 7, 1);
        let after = stats(&mut run);
        assert_eq!(after.work.chain_steps - before.work.chain_steps, 4, "{policy}");
        assert_eq!(after.faults.zero_fill - before.faults.zero_fill, 1);
        let r = run.report();
        assert_eq!((r.work.shadows_created, r.pages.copied, r.work.collapses), (4, 4, 0), "{policy}");
    }
}

/// The stranding workload: each round the parent forks, writes a new page,
/// and the child exits, so the parent makes no copy-up between a child's exit
/// and the next fork. Does the chain keep growing?
///
/// Under GNU Mach the object the child leaves with one reference sits below
/// a level the next child holds; collapse stops at that level and
/// deallocate never collapses, so the chain grows by one a round (and the
/// stranded objects' overwritten pages stay hidden). XNU walks the whole
/// chain at the next copy-up and merges the stranded object: chain 2, the
/// live child's level and the parent's. FreeBSD collapses the parent's
/// shadow onto the object the moment the child exits: chain 1.
#[test]
fn stranding_grows_only_under_gnumach() {
    let expected = [
        (GNUMACH, [2, 3, 4, 5, 6], 0, 5),
        (NOCOLLAPSE, [2, 3, 4, 5, 6], 0, 5),
        (XNU, [2, 2, 2, 2, 2], 4, 1),
        (FREEBSD, [1, 1, 1, 1, 1], 5, 0),
    ];
    for (policy, chains, collapses, hidden) in expected {
        let mut run = parent(policy, 8, 8);
        for (k, chain) in chains.into_iter().enumerate() {
            let child = 10 + k as u32;
            run.fork(1, child);
            run.write(1, BASE + k as u64, 1);
            run.exit(child);
            assert_eq!(run.chain(1, BASE), chain, "{policy} round {k}");
        }
        let r = run.report();
        assert_eq!((r.work.collapses, r.work.bypasses, r.pages.hidden), (collapses, 0, hidden), "{policy}");
    }
}

/// A child writes every page of a region it shares with its parent, in
/// ascending order, one page per op. When may its shadow bypass the
/// parent's object? Only once it holds its own copy of every page of it:
/// after the last copy-up, never before (the test a GNU Mach or XNU
/// collapse makes after every copy-up; the world keeps it as a count,
/// `shows_through.rs`, where the kernels scan the backing object). Pages
/// the child zero-fills first, beyond what the parent wrote, must not fool
/// the test into counting them.
#[test]
fn bypass_comes_with_the_last_copy_up() {
    const PAGES: u64 = 96;
    for policy in [GNUMACH, XNU] {
        let mut run = parent(policy, 2 * PAGES, PAGES);
        run.fork(1, 2);
        // As many pages of the child's own as the parent wrote: a count of
        // pages alone would allow the bypass far too early.
        run.write(2, BASE + PAGES, PAGES);
        for page in 0..PAGES {
            run.write(2, BASE + page, 1);
            let bypassed = stats(&mut run).work.bypasses;
            let last = page + 1 == PAGES;
            assert_eq!(bypassed, u64::from(last), "{policy}: after page {page}");
            assert_eq!(run.chain(2, BASE), if last { 1 } else { 2 }, "{policy}: after page {page}");
        }
        let r = stats(&mut run);
        assert_eq!((r.faults.cow_copy, r.faults.zero_fill), (PAGES, 2 * PAGES), "{policy}");
        // The parent's pages are all the child no longer sees: none hidden,
        // the parent still maps them.
        assert_eq!(r.pages.hidden, 0, "{policy}");
    }
}

/// After a fork both parent and child write the same page. How many
/// physical copies of it exist, and when does the original go?
///
/// Three in the whole Mach family (the original in the shared object plus
/// one copy per writer), so 4 + 2 = 6 resident pages for a 4-page region.
/// FreeBSD frees the original when the child exits (its exit collapses the
/// parent's shadow onto the object); GNU Mach and XNU keep it, hidden, until
/// the parent's next copy-up collapses; without collapse it stays for good.
#[test]
fn page_written_by_both_sides_has_three_copies_until_collapse() {
    let expected = [(GNUMACH, 5, 4), (XNU, 5, 4), (FREEBSD, 4, 4), (NOCOLLAPSE, 5, 6)];
    for (policy, after_exit, after_next_write) in expected {
        let mut run = parent(policy, 4, 4);
        run.fork(1, 2);
        run.write_value(1, BASE, 1, 11);
        run.write_value(2, BASE, 1, 22);
        assert_eq!(stats(&mut run).pages.resident, 6, "{policy}: both writes");
        run.read_expect(1, BASE, 1, 11);
        run.read_expect(2, BASE, 1, 22);
        run.exit(2);
        assert_eq!(stats(&mut run).pages.resident, after_exit, "{policy}: child gone");
        run.write(1, BASE + 1, 1);
        assert_eq!(stats(&mut run).pages.resident, after_next_write, "{policy}: parent's next write");
    }
}

/// A child's exit leaves the object it shared with the parent with one
/// reference while a second child still holds the level above it. Who
/// collapses it, and when?
///
/// FreeBSD at once: the released object's single remaining reference is its
/// one shadow, which collapses onto it (`vm_object_deallocate_anon`). XNU
/// when the second child exits: the level above is then left with one
/// reference and a shadow, so it collapses its own chain
/// (`vm_object_deallocate` → `vm_object_collapse(object, 0, FALSE)`). GNU
/// Mach never does at deallocate.
#[test]
fn collapse_on_deallocate() {
    let expected = [(GNUMACH, 2, 2, 0), (XNU, 2, 1, 1), (FREEBSD, 1, 1, 1)];
    for (policy, after_first_exit, after_second_exit, collapses) in expected {
        let mut run = parent(policy, 4, 4);
        run.fork(1, 2);
        run.write(1, BASE, 1);
        run.fork(1, 3);
        run.exit(2);
        assert_eq!(run.chain(1, BASE), after_first_exit, "{policy}");
        run.exit(3);
        assert_eq!(run.chain(1, BASE), after_second_exit, "{policy}");
        let r = run.report();
        assert_eq!((r.work.collapses, r.faults.cow_copy), (collapses, 1), "{policy}");
    }
}

/// Memory shared with a child by `VM_INHERIT_SHARE` is then copied by the
/// parent (`vm_copy`) and by a fork that copies it. When the sharers write,
/// who pays?
///
/// The sharers keep writing in place, and before a page changes its
/// original is pushed into the copy object (XNU `COPY_DELAY`): one push per
/// page the first time either sharer changes it, none the second time. The
/// copies still read the old content. `freebsd` copies shared memory the
/// same way (see its module documentation for why).
#[test]
fn xnu_pushes_the_original_before_a_sharer_writes() {
    for policy in [XNU, FREEBSD] {
        let mut run = parent(policy, 4, 0);
        run.write_value(1, BASE, 4, 1);
        run.inherit(1, BASE, 4, Inheritance::Share);
        run.fork(1, 2);
        run.alloc(1, 0x200, 4);
        run.copy(1, BASE, 4, 0x200);
        run.write_value(2, BASE, 1, 2); // the child changes page 0: push
        run.write_value(1, BASE, 1, 3); // the parent changes it again: no push
        run.write_value(1, BASE + 1, 1, 3); // page 1: push
        assert_eq!(stats(&mut run).work.push_copy, 2, "{policy}");
        run.read_expect(1, 0x200, 4, 1);
        run.read_expect(2, BASE + 1, 1, 3);
        // A fork that copies the shared region gets a copy object too.
        run.inherit(1, BASE, 4, Inheritance::Copy);
        run.fork(1, 3);
        run.write_value(2, BASE + 2, 1, 4);
        run.write_value(2, BASE + 3, 1, 4);
        run.read_expect(3, BASE, 2, 3);
        run.read_expect(3, BASE + 2, 2, 1);
        let r = run.report();
        assert_eq!((r.work.push_copy, r.faults.cow_copy, r.pages.copied), (4, 0, 4), "{policy}");
    }
}

/// The same shared object is copied twice with no write in between, then
/// once more after a write. How many copy objects are made?
///
/// An unmodified copy object (no pages pushed yet) is still an exact
/// snapshot, so the second copy reuses it; after a push it is not, and the
/// third copy gets a new one, placed between the source and the old copy.
#[test]
fn xnu_reuses_an_unmodified_copy_object() {
    let mut run = parent(XNU, 4, 4);
    run.inherit(1, BASE, 4, Inheritance::Share);
    run.fork(1, 2);
    for dst in [0x200, 0x300, 0x400] {
        run.alloc(1, dst, 4);
    }
    run.sim.keep_events(true);
    run.copy(1, BASE, 4, 0x200);
    run.copy(1, BASE, 4, 0x300);
    run.write(2, BASE, 1);
    run.copy(1, BASE, 4, 0x400);
    let events = run.sim.take_events();
    let made = events.iter().filter(|e| matches!(e, Event::CopyObjectCreated { .. })).count();
    let reused = events.iter().filter(|e| matches!(e, Event::CopyObjectReused { .. })).count();
    assert_eq!((made, reused), (2, 1));
    assert_eq!(object_of(&run, 1, 0x200), object_of(&run, 1, 0x300));
    assert_ne!(object_of(&run, 1, 0x300), object_of(&run, 1, 0x400));
    assert_eq!(run.report().work.push_copy, 1);
}

/// A child exits after the parent made its shadow. Does FreeBSD's next
/// parent write move the original up (`cow_move`)?
///
/// No: the exit already collapsed the parent's shadow onto the object the
/// child left (`vm_object_deallocate_anon`), so the page is the parent's
/// own and is written in place (`map`). GNU Mach has no such collapse and
/// copies the page up, collapsing afterwards.
#[test]
fn freebsd_child_exit_collapses_before_any_move() {
    for (policy, kind, copies) in [(GNUMACH, FaultKind::CowCopy, 2), (FREEBSD, FaultKind::Map, 1)] {
        let mut run = parent(policy, 4, 4);
        run.fork(1, 2);
        run.write(1, BASE, 1);
        run.exit(2);
        let before = stats(&mut run);
        run.write(1, BASE + 1, 1);
        let last = round(&before, &stats(&mut run));
        assert_eq!(last.kinds, vec![(kind, 1)], "{policy}");
        let r = run.report();
        assert_eq!((r.faults.cow_move, r.pages.copied, r.work.collapses), (0, copies, 1), "{policy}");
    }
}

/// When does FreeBSD move a page up instead of copying it, then?
///
/// When the object holding it sits directly below the faulting object and
/// nothing else references it, and no deallocate has collapsed it away. A
/// fork-time collapse gets there: the parent, which has rewritten its whole
/// region, bypasses the original object at its next fork, leaving it to
/// the first child's shadow alone; the child's writes to pages it has not
/// written yet then move them up. GNU Mach and XNU copy (their bypass comes
/// at the parent's copy-up, and the child's first copy-up merges the
/// object). FreeBSD leaves the child's overwritten original hidden: it
/// never collapses in the fault path.
#[test]
fn freebsd_moves_a_page_nobody_else_can_see() {
    let expected = [(GNUMACH, (0, 5, 0), (1, 1, 5)), (XNU, (0, 5, 0), (1, 1, 5)), (FREEBSD, (3, 5, 1), (1, 0, 8))];
    for (policy, (moves, copies, hidden), (bypasses, collapses, chain_steps)) in expected {
        let mut run = parent(policy, 4, 0);
        run.write_value(1, BASE, 4, 5);
        run.fork(1, 2);
        run.write_value(1, BASE, 4, 6); // the parent's shadow covers the object
        run.write_value(2, BASE, 1, 7); // the child's shadow, one copy
        run.fork(1, 3); // FreeBSD: collapse at fork bypasses the object
        run.write_value(2, BASE + 1, 3, 8); // three pages only the child can see
        run.read_expect(2, BASE, 1, 7);
        run.read_expect(2, BASE + 1, 3, 8);
        run.read_expect(1, BASE, 4, 6);
        run.read_expect(3, BASE, 4, 6);
        let r = run.report();
        assert_eq!((r.faults.cow_move, r.pages.moved, r.pages.copied), (moves, moves, copies), "{policy}");
        assert_eq!(r.pages.hidden, hidden, "{policy}");
        assert_eq!(
            (r.work.bypasses, r.work.collapses, r.work.chain_steps),
            (bypasses, collapses, chain_steps),
            "{policy}"
        );
    }
}

/// A task unmaps the middle of a region it wrote. Are the pages freed now?
///
/// FreeBSD: yes. The region's object is one-mapping (clipping the entry
/// does not change that: the pieces map disjoint ranges), so the unmapped
/// piece's pages are freed at once (`vm_map_entry_delete`). The Mach
/// kernels keep them, hidden, until the whole object dies.
#[test]
fn freebsd_frees_an_unmapped_range_at_once() {
    for (policy, resident, hidden) in [(GNUMACH, 8, 2), (XNU, 8, 2), (FREEBSD, 6, 0)] {
        let mut run = parent(policy, 8, 8);
        run.dealloc(1, BASE + 2, 2);
        run.read(1, BASE, 2);
        run.read(1, BASE + 4, 4);
        let r = run.report();
        assert_eq!((r.pages.resident, r.pages.hidden, r.pages.freed), (resident, hidden, 8 - resident), "{policy}");
        if policy == FREEBSD {
            assert!(one_mapping(&run, object_of(&run, 1, BASE)), "clipping kept ONEMAPPING");
        }
    }
}

/// Half of a region is inherited by a fork, the other half not; then the
/// parent unmaps the other half. Does the child keep those pages alive?
///
/// Under FreeBSD no: at fork the inherited half's pages are split off into
/// an object of their own (`vm_object_split`), so the child shares only
/// that, and the rest is freed with the parent's unmap. Under GNU Mach the
/// child shares the whole object and the unmapped half stays hidden.
#[test]
fn freebsd_splits_an_entry_off_at_fork() {
    for (policy, objects, resident, hidden) in [(GNUMACH, 1u64, 8, 4), (XNU, 1, 8, 4), (FREEBSD, 2, 4, 0)] {
        let mut run = parent(policy, 8, 8);
        run.inherit(1, BASE + 4, 4, Inheritance::None);
        run.sim.keep_events(true);
        run.fork(1, 2);
        let splits = run.sim.take_events().iter().filter(|e| matches!(e, Event::ObjectSplit { .. })).count();
        assert_eq!(splits as u64, objects - 1, "{policy}");
        run.dealloc(1, BASE + 4, 4);
        run.read(2, BASE, 4);
        let r = run.report();
        assert_eq!((r.objects.created, r.pages.resident, r.pages.hidden), (objects, resident, hidden), "{policy}");
    }
}

/// When is a FreeBSD object one-mapping?
///
/// When made; not once a fork copies it; again once the child has gone and
/// the parent's entry is its only reference (which is what lets the
/// parent's next write take the object over); not once it is shared.
#[test]
fn freebsd_one_mapping_comes_and_goes() {
    let mut run = parent(FREEBSD, 4, 4);
    let object = object_of(&run, 1, BASE);
    assert!(one_mapping(&run, object));
    run.fork(1, 2);
    assert!(!one_mapping(&run, object));
    run.exit(2);
    assert!(one_mapping(&run, object));
    run.write(1, BASE, 1);
    assert_eq!(object_of(&run, 1, BASE), object, "taken over, not shadowed");
    run.inherit(1, BASE, 4, Inheritance::Share);
    run.fork(1, 3);
    assert!(!one_mapping(&run, object));
    run.exit(3);
    assert!(one_mapping(&run, object));
}

/// Files and bad accesses under the two new policies: which fault kinds do
/// they produce, and how much does each take?
///
/// A private file mapping reads its pages in (`page_in`) and copies a page
/// up on write (`cow_copy`: the file is not anonymous, so neither the
/// FreeBSD shortcut nor the move applies); a shared mapping of the same file
/// writes a page already in (`map`), and the private mapping, which has not
/// written that page, sees the write through its still-valid read-only
/// mapping without faulting. An access outside any entry is a `segv`, a
/// write to a read-only entry a `protection` fault.
#[test]
fn file_mappings_and_failed_accesses() {
    for policy in [XNU, FREEBSD] {
        let mut run = Run::new(policy);
        run.task(1);
        let map = |run: &mut Run, page: u64, private: bool| {
            run.op(sim::Op::VmMap {
                task: sim::TaskId(1),
                addr: Some(page * crate::support::P),
                size: 4 * crate::support::P,
                anywhere: false,
                file: "libc.so.6".into(),
                offset: 0,
                private,
                prot: sim::Prot::DEFAULT,
            })
        };
        map(&mut run, BASE, true);
        map(&mut run, 0x200, false);
        run.read(1, BASE, 4);
        run.write_value(1, BASE, 1, 9);
        run.write_value(1, 0x201, 1, 10);
        run.read_expect(1, BASE + 1, 1, 10);
        run.protect(1, BASE + 2, 1, "r");
        assert_eq!(run.write(1, BASE + 2, 1), sim::KernReturn::ProtectionFailure);
        assert_eq!(run.read(1, 0x300, 1), sim::KernReturn::InvalidAddress);
        let f = run.report().faults;
        assert_eq!(
            (f.page_in, f.map, f.cow_copy, f.zero_fill, f.segv, f.protection, f.total),
            (4, 1, 1, 0, 1, 1, 8),
            "{policy}"
        );
    }
}

mod differential {
    //! The oracle's random traces seldom reach the paths only `freebsd` and
    //! `xnu` have (a `cow_move` needs a fork-time bypass), so this test aims
    //! at them: a few tasks forking, exiting, writing, unmapping, clipping,
    //! sharing and copying inside one small region. `COWSIM_FAMILY_SEED`
    //! and `COWSIM_FAMILY_CASES` run it with another seed or more cases.

    use std::cell::RefCell;
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
    use sim::event::Event;
    use sim::{Access, AccessOp, Config, FaultKind, Inheritance, KernReturn, Op, PolicyKind, Prot, Sim, TaskId};

    const P: u64 = 4096;
    const BASE: u64 = 0x40;
    const SPAN: u64 = 6;

    #[derive(Clone, Debug)]
    enum Step {
        Fork(u8),
        Exit(u8),
        Write(u8, u64, u64),
        WriteAll(u8),
        Read(u8, u64, u64),
        Unmap(u8, u64, u64),
        Allocate(u8, u64, u64),
        Protect(u8, u64, u64, bool),
        Inherit(u8, u64, u64, u8),
        Copy(u8, u64, u64, u64),
    }

    fn step() -> impl Strategy<Value = Step> {
        let page = || 0..SPAN;
        let len = || 1..4u64;
        prop_oneof![
            4 => any::<u8>().prop_map(Step::Fork),
            3 => any::<u8>().prop_map(Step::Exit),
            8 => (any::<u8>(), page(), len()).prop_map(|(w, p, n)| Step::Write(w, p, n)),
            2 => any::<u8>().prop_map(Step::WriteAll),
            3 => (any::<u8>(), page(), len()).prop_map(|(w, p, n)| Step::Read(w, p, n)),
            2 => (any::<u8>(), page(), len()).prop_map(|(w, p, n)| Step::Unmap(w, p, n)),
            2 => (any::<u8>(), page(), len()).prop_map(|(w, p, n)| Step::Allocate(w, p, n)),
            1 => (any::<u8>(), page(), len(), any::<bool>()).prop_map(|(w, p, n, rw)| Step::Protect(w, p, n, rw)),
            2 => (any::<u8>(), page(), len(), 0..3u8).prop_map(|(w, p, n, i)| Step::Inherit(w, p, n, i)),
            2 => (any::<u8>(), page(), len(), page()).prop_map(|(w, s, n, d)| Step::Copy(w, s, n, d)),
        ]
    }

    /// The steps as ops; which tasks live does not depend on the policy.
    fn concretize(steps: &[Step]) -> Vec<Op> {
        let access = |task, access, page: u64, pages: u64| {
            Op::Access(AccessOp {
                task,
                access,
                addr: (BASE + page) * P,
                len: pages * P,
                value: None,
                expect_value: None,
                recorded: None,
            })
        };
        let mut ops = vec![
            Op::TaskCreate { task: TaskId(1) },
            Op::VmAllocate { task: TaskId(1), addr: Some(BASE * P), size: SPAN * P, anywhere: false },
            access(TaskId(1), Access::Write, 0, SPAN),
        ];
        let mut live = BTreeSet::from([1u32]);
        let mut next = 2;
        let pick = |live: &BTreeSet<u32>, n: u8| live.iter().nth(n as usize % live.len().max(1)).map(|t| TaskId(*t));
        for s in steps {
            let op = match *s {
                Step::Fork(w) => {
                    let Some(parent) = pick(&live, w) else { continue };
                    live.insert(next);
                    next += 1;
                    Op::Fork { parent, child: TaskId(next - 1) }
                }
                Step::Exit(w) => {
                    let Some(task) = pick(&live, w) else { continue };
                    live.remove(&task.0);
                    Op::Exit { task }
                }
                Step::Write(w, p, n) | Step::Read(w, p, n) => {
                    let Some(task) = pick(&live, w) else { continue };
                    let kind = if matches!(s, Step::Write(..)) { Access::Write } else { Access::Read };
                    access(task, kind, p, n)
                }
                Step::WriteAll(w) => {
                    let Some(task) = pick(&live, w) else { continue };
                    access(task, Access::Write, 0, SPAN)
                }
                Step::Unmap(w, p, n) => {
                    let Some(task) = pick(&live, w) else { continue };
                    Op::VmDeallocate { task, addr: (BASE + p) * P, size: n * P }
                }
                Step::Allocate(w, p, n) => {
                    let Some(task) = pick(&live, w) else { continue };
                    Op::VmAllocate { task, addr: Some((BASE + p) * P), size: n * P, anywhere: false }
                }
                Step::Protect(w, p, n, rw) => {
                    let Some(task) = pick(&live, w) else { continue };
                    let prot = if rw { Prot::DEFAULT } else { Prot::READ };
                    Op::VmProtect { task, addr: (BASE + p) * P, size: n * P, prot, set_max: false }
                }
                Step::Inherit(w, p, n, i) => {
                    let Some(task) = pick(&live, w) else { continue };
                    let inherit = [Inheritance::Share, Inheritance::Copy, Inheritance::None][i as usize];
                    Op::VmInherit { task, addr: (BASE + p) * P, size: n * P, inherit }
                }
                Step::Copy(w, src, n, dst) => {
                    let Some(task) = pick(&live, w) else { continue };
                    Op::VmCopy { task, src: (BASE + src) * P, size: n * P, dst: (BASE + dst) * P }
                }
            };
            ops.push(op);
        }
        // Every task left reads the whole region, so the digest sees what
        // the last steps did.
        for task in live {
            ops.push(access(TaskId(task), Access::Read, 0, SPAN));
        }
        ops
    }

    /// How often each policy-specific path was taken, over all cases.
    #[derive(Debug, Default)]
    struct Reached {
        taken_over: u64,
        moved: u64,
        split: u64,
        range_freed: u64,
        collapses: u64,
        pushes: u64,
    }

    fn replay(policy: PolicyKind, ops: &[Op], reached: &mut Reached) -> (Vec<KernReturn>, String) {
        let mut sim = Sim::new(policy, Config::default().check_invariants(true));
        sim.keep_events(true);
        let codes = ops.iter().map(|op| sim.apply(op).expect("no bad input")).collect();
        for event in sim.take_events() {
            match event {
                Event::ShadowSkipped { .. } => reached.taken_over += 1,
                Event::Fault { kind: FaultKind::CowMove, .. } => reached.moved += 1,
                Event::ObjectSplit { .. } => reached.split += 1,
                Event::RangeFreed { .. } => reached.range_freed += 1,
                Event::Collapsed { .. } => reached.collapses += 1,
                Event::PagePushed { .. } => reached.pushes += 1,
                _ => {}
            }
        }
        (codes, sim.finish("differential").read_digest)
    }

    /// Do `xnu` and `freebsd` (and the rest of the family) give the codes and
    /// reads of `eager` when the traces keep reaching their own paths?
    #[test]
    fn mach_family_matches_eager_where_chains_change() {
        let reached = RefCell::new([(PolicyKind::Xnu, Reached::default()), (PolicyKind::FreeBsd, Reached::default())]);
        let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&env("COWSIM_FAMILY_SEED", 7).to_le_bytes());
        let cases = env("COWSIM_FAMILY_CASES", 1000) as u32;
        let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        runner
            .run(&prop::collection::vec(step(), 1..60), |steps| {
                let ops = concretize(&steps);
                let want = replay(PolicyKind::Eager, &ops, &mut Reached::default());
                for policy in [PolicyKind::GnuMach, PolicyKind::MachNoCollapse, PolicyKind::Xnu, PolicyKind::FreeBsd] {
                    let mut scratch = Reached::default();
                    let got = replay(policy, &ops, &mut scratch);
                    prop_assert_eq!(&got, &want, "{} disagrees with eager on {:?}", policy, ops);
                    if let Some((_, r)) = reached.borrow_mut().iter_mut().find(|(p, _)| *p == policy) {
                        r.taken_over += scratch.taken_over;
                        r.moved += scratch.moved;
                        r.split += scratch.split;
                        r.range_freed += scratch.range_freed;
                        r.collapses += scratch.collapses;
                        r.pushes += scratch.pushes;
                    }
                }
                Ok(())
            })
            .unwrap();
        let [(_, xnu), (_, freebsd)] = reached.into_inner();
        eprintln!("reached: xnu {xnu:?}, freebsd {freebsd:?}");
        assert!(xnu.collapses > 0 && xnu.pushes > 0, "xnu paths not reached: {xnu:?}");
        assert!(
            freebsd.taken_over > 0
                && freebsd.moved > 0
                && freebsd.split > 0
                && freebsd.range_freed > 0
                && freebsd.collapses > 0,
            "freebsd paths not reached: {freebsd:?}"
        );
    }
}
