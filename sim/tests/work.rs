//! The work counters, pinned on one small story under every design: a
//! parent writes 4 MiB (1024 pages, three page-table leaves at this
//! address), forks, writes one page, the child reads two and exits. Each
//! design's fork is priced as its kernel does it: Linux copies the PTEs
//! into the child and write-protects the parent's; the Mach family and
//! the BSDs only write-protect the parent's (the child faults its pages
//! in); Plan 9 flushes the parent's MMU; `eager` copies the pages.

use sim::report::{Report, Work};
use sim::{Config, Op, PolicyKind, Sim, TaskId};

use crate::support::P;

const PAGES: u64 = 1024;
const BASE: u64 = 0x100000;

fn story(policy: PolicyKind) -> Report {
    let mut sim = Sim::new(policy, Config::default().check_invariants(true));
    let access = |task: u32, access: sim::Access, len: u64| {
        Op::Access(sim::AccessOp {
            task: TaskId(task),
            access,
            addr: BASE,
            len,
            value: None,
            expect_value: None,
            recorded: None,
        })
    };
    let ops = [
        Op::TaskCreate { task: TaskId(1) },
        Op::VmAllocate { task: TaskId(1), addr: Some(BASE), size: PAGES * P, anywhere: false },
        access(1, sim::Access::Write, PAGES * P),
        Op::Fork { parent: TaskId(1), child: TaskId(2) },
        access(1, sim::Access::Write, P),
        access(2, sim::Access::Read, 2 * P),
        Op::Exit { task: TaskId(2) },
    ];
    for op in &ops {
        assert!(sim.apply(op).is_ok(), "{policy}: {op:?}");
    }
    sim.finish("work")
}

fn op_work(report: &Report, op: &str) -> Work {
    report.work_by_op.get(op).map(|w| w.work.clone()).unwrap_or_default()
}

/// Fork: what each design does to page tables and map entries.
#[test]
fn fork_is_priced_as_each_kernel_does_it() {
    for policy in PolicyKind::ALL {
        let report = story(policy);
        let fork = op_work(&report, "fork");
        assert_eq!(report.work_by_op["fork"].ops, 1, "{policy}");
        assert_eq!(fork.map_entries_copied, 1, "{policy}: one map entry");
        let (copied, protected, removed, leaves, bytes) = match policy {
            PolicyKind::Linux => (PAGES, PAGES, 0, 3, 0),
            PolicyKind::LinuxOdf => (0, 0, 0, 0, 0),
            PolicyKind::Plan9 => (0, 0, PAGES, 0, 0),
            PolicyKind::Eager => (0, 0, 0, 0, PAGES * P),
            _ => (0, PAGES, 0, 0, 0),
        };
        assert_eq!(
            (fork.ptes_copied, fork.ptes_write_protected, fork.ptes_removed, fork.page_table_pages, fork.bytes_copied),
            (copied, protected, removed, leaves, bytes),
            "{policy}: PTEs copied, write-protected, removed; leaves; bytes copied"
        );
        let shared = if policy == PolicyKind::LinuxOdf { 3 } else { 0 };
        assert_eq!(fork.page_tables_shared, shared, "{policy}: tables shared instead of copied");
        let flushes = u64::from(protected + removed + shared > 0);
        assert_eq!(fork.tlb_flushes, flushes, "{policy}: one flush of the parent's range");
    }
}

/// The writes: 1024 zero-filled pages and, after the fork, one copied
/// (none under `eager`, whose fork copied already); the run's totals are
/// the sums of the ops'.
#[test]
fn writes_zero_fill_and_copy_bytes() {
    for policy in PolicyKind::ALL {
        let report = story(policy);
        let write = op_work(&report, "write");
        assert_eq!(write.bytes_zeroed, PAGES * P, "{policy}");
        let copied_after_fork = if policy == PolicyKind::Eager { 0 } else { P };
        assert_eq!(write.bytes_copied, copied_after_fork, "{policy}");
        assert_eq!(report.work.bytes_copied, op_work(&report, "fork").bytes_copied + copied_after_fork, "{policy}");
        let leaves: u64 = report.work_by_op.values().map(|w| w.work.page_table_pages).sum();
        assert_eq!(report.work.page_table_pages, leaves, "{policy}");
        let faults: u64 = report.work_by_op.values().map(|w| w.faults.total).sum();
        assert_eq!(report.faults.total, faults, "{policy}: every fault belongs to an op");
    }
}

/// Reverse-map entries: a pv entry per new mapping of a page in the
/// designs whose pmaps keep them (1024 zero fills, the copied page, the
/// child's two reads); in Linux, `anon_vma_chain`s, per VMA: one when the
/// heap's first fault gives it an `anon_vma`, two at the fork (the child
/// linked to the parent's, and to its own); none in Plan 9 or `eager`.
#[test]
fn reverse_map_entries_follow_each_design() {
    for policy in PolicyKind::ALL {
        let report = story(policy);
        let want = match policy {
            _ if policy.keeps_pv_entries() => PAGES + 1 + 2,
            PolicyKind::Linux | PolicyKind::LinuxOdf => 1 + 2,
            _ => 0,
        };
        assert_eq!(report.work.rmap_entries, want, "{policy}");
    }
}

/// Exit removes the child's PTEs: all 1024 under Linux (fork copied them
/// in); under On-demand-fork only the 256 of the first table, which the
/// parent's write left to the child alone (the other two tables the parent
/// still shares just lose a reference); the two it faulted in elsewhere.
#[test]
fn exit_removes_what_the_child_had_mapped() {
    for policy in PolicyKind::ALL {
        let report = story(policy);
        let exit = op_work(&report, "exit");
        let want = match policy {
            PolicyKind::Linux => PAGES,
            PolicyKind::LinuxOdf => 256,
            _ => 2,
        };
        assert_eq!((exit.ptes_removed, exit.tlb_flushes), (want, 1), "{policy}");
    }
}

/// On-demand-fork copies a shared table at the first fault that changes
/// it: the parent's write at 0x100000 copies its first table (the 256
/// entries from 0x100000 to the 2 MiB line) into a new table page; the
/// child's reads of pages it has hit, not faulted. Everything a fault
/// does is as under `linux`.
#[test]
fn on_demand_fork_copies_a_table_at_its_first_fault() {
    let odf = story(PolicyKind::LinuxOdf);
    let linux = story(PolicyKind::Linux);
    let write = op_work(&odf, "write");
    assert_eq!((write.ptes_copied, write.page_table_pages), (256, 3 + 1));
    assert_eq!(odf.faults, linux.faults, "the same faults as linux");
    assert_eq!(odf.read_digest, linux.read_digest);
    assert_eq!(odf.pages, linux.pages);
}

/// Transparent huge pages (`thp.rs`): 2 MiB of a 4 MiB aligned heap is
/// made by one write; a fork shares it; the child's write then copies 4
/// KiB (`split`, Linux 5.8+) or all 2 MiB (`copy`, before 5.8); the
/// parent's next write reuses its huge page whole once the child has its
/// own copy (`copy`), or copies again page by page (`split`: the parent
/// still shares the huge page with the child's remaining 511 pages).
mod huge_pages {
    use sim::{Access, AccessOp, Config, Op, PolicyKind, Sim, TaskId, Thp};

    use super::{BASE, P};

    const HEAP: u64 = 0x40_0000;
    const HUGE: u64 = 512;

    fn write(task: u32, page: u64, pages: u64) -> Op {
        let addr = HEAP + page * P;
        Op::Access(AccessOp {
            task: TaskId(task),
            access: Access::Write,
            addr,
            len: pages * P,
            value: None,
            expect_value: None,
            recorded: None,
        })
    }

    fn run(policy: PolicyKind, thp: Thp, ops: &[Op]) -> sim::report::Report {
        let mut sim = Sim::new(policy, Config::default().check_invariants(true).thp(thp));
        for op in ops {
            assert!(sim.apply(op).is_ok(), "{policy} {thp:?}: {op:?}");
        }
        sim.finish("thp")
    }

    fn heap() -> Vec<Op> {
        vec![
            Op::TaskCreate { task: TaskId(1) },
            Op::VmAllocate { task: TaskId(1), addr: Some(HEAP), size: 2 * HUGE * P, anywhere: false },
        ]
    }

    #[test]
    fn one_write_makes_a_huge_page_and_the_rest_hit() {
        let mut ops = heap();
        ops.push(write(1, 3, 1));
        ops.push(write(1, 0, HUGE));
        for policy in [PolicyKind::Linux, PolicyKind::LinuxOdf] {
            let report = run(policy, Thp::Split, &ops);
            assert_eq!((report.faults.total, report.faults.zero_fill), (1, 1), "{policy}");
            assert_eq!((report.pages.zero_filled, report.work.huge_pages_made), (HUGE, 1), "{policy}");
            let without = run(policy, Thp::Never, &ops);
            assert_eq!((without.faults.total, without.pages.zero_filled), (HUGE, HUGE), "{policy}");
        }
        // The other designs do not model huge pages: the setting changes nothing.
        assert_eq!(run(PolicyKind::GnuMach, Thp::Copy, &ops).faults.total, HUGE);
    }

    #[test]
    fn a_write_to_a_shared_huge_page_splits_or_copies() {
        let mut ops = heap();
        ops.push(write(1, 0, 1));
        ops.push(Op::Fork { parent: TaskId(1), child: TaskId(2) });
        ops.push(write(2, 7, 1));
        ops.push(write(1, 9, 1));
        let split = run(PolicyKind::Linux, Thp::Split, &ops);
        assert_eq!(split.work.bytes_copied, 2 * P, "split: the child and the parent each copy 4 KiB");
        assert_eq!((split.work.huge_pages_split, split.work.huge_pages_copied), (2, 0));
        let copy = run(PolicyKind::Linux, Thp::Copy, &ops);
        assert_eq!(copy.work.bytes_copied, HUGE * P, "copy: the child copies 2 MiB");
        assert_eq!((copy.work.huge_pages_copied, copy.faults.reuse), (1, 1), "the parent then reuses its own");
        let never = run(PolicyKind::Linux, Thp::Never, &ops);
        assert_eq!(never.read_digest, copy.read_digest);
        assert_eq!(never.read_digest, split.read_digest);
    }

    /// A fork copies and write-protects a huge page's one PMD, with no
    /// page-table page: the work counters count it as one entry, where a
    /// heap of 4 KiB pages costs 512 entries and a table page.
    #[test]
    fn a_fork_copies_one_entry_per_huge_page() {
        let mut ops = heap();
        ops.push(write(1, 0, 1));
        ops.push(Op::Fork { parent: TaskId(1), child: TaskId(2) });
        let fork_work = |thp| {
            let report = run(PolicyKind::Linux, thp, &ops);
            let w = &report.work_by_op["fork"].work;
            (w.ptes_copied, w.ptes_write_protected, w.page_table_pages)
        };
        assert_eq!(fork_work(Thp::Copy), (1, 1, 0));
        assert_eq!(fork_work(Thp::Never), (1, 1, 1), "one 4 KiB page written, one entry in one table");
        let mut whole = heap();
        whole.push(write(1, 0, HUGE));
        whole.push(Op::Fork { parent: TaskId(1), child: TaskId(2) });
        whole.push(Op::Fork { parent: TaskId(1), child: TaskId(3) });
        let report = run(PolicyKind::Linux, Thp::Split, &whole);
        let w = &report.work_by_op["fork"].work;
        assert_eq!(
            (w.ptes_copied, w.ptes_write_protected, w.page_table_pages),
            (2, 1, 0),
            "the second fork finds it read-only"
        );
        let report = run(PolicyKind::Linux, Thp::Never, &whole);
        let w = &report.work_by_op["fork"].work;
        assert_eq!((w.ptes_copied, w.ptes_write_protected, w.page_table_pages), (2 * HUGE, HUGE, 2));
    }

    #[test]
    fn no_huge_page_where_2_mib_does_not_fit() {
        // From BASE (1 MiB), 4 MiB: one whole aligned block, [2 MiB, 4 MiB).
        let ops = vec![
            Op::TaskCreate { task: TaskId(1) },
            Op::VmAllocate { task: TaskId(1), addr: Some(BASE), size: 1024 * P, anywhere: false },
            Op::Access(AccessOp {
                task: TaskId(1),
                access: Access::Write,
                addr: BASE,
                len: 1024 * P,
                value: None,
                expect_value: None,
                recorded: None,
            }),
        ];
        let report = run(PolicyKind::Linux, Thp::Copy, &ops);
        assert_eq!(report.work.huge_pages_made, 1, "only [2 MiB, 4 MiB) is a whole aligned block");
        assert_eq!(report.faults.zero_fill, 256 + 1 + 256, "the unaligned head and tail fault page by page");
    }
}

/// Linux's `anon_vma` chains over generations of forks: each process
/// forks a child and exits, and the child does the same. Without reuse
/// (Linux before 3.19) the fork of generation `g` links the child to every
/// ancestor's `anon_vma` and one of its own: `g + 1` chain entries, growing
/// without bound. With reuse the child takes over an idle `anon_vma` of
/// its chain, and every fork from the third on makes three.
#[test]
fn anon_vma_chains_grow_over_generations_unless_reused() {
    const GENERATIONS: u32 = 12;
    for reuse in [false, true] {
        let mut sim = Sim::new(PolicyKind::Linux, Config::default().check_invariants(true).anon_vma_reuse(reuse));
        sim.keep_events(true);
        let write = |task: u32| {
            Op::Access(sim::AccessOp {
                task: TaskId(task),
                access: sim::Access::Write,
                addr: BASE,
                len: P,
                value: None,
                expect_value: None,
                recorded: None,
            })
        };
        for op in [
            Op::TaskCreate { task: TaskId(1) },
            Op::VmAllocate { task: TaskId(1), addr: Some(BASE), size: 4 * P, anywhere: false },
            write(1),
        ] {
            assert!(sim.apply(&op).is_ok());
        }
        let mut per_fork = Vec::new();
        for parent in 1..=GENERATIONS {
            let _ = sim.take_events();
            assert!(sim.apply(&Op::Fork { parent: TaskId(parent), child: TaskId(parent + 1) }).is_ok());
            let chains: u64 = sim
                .take_events()
                .iter()
                .filter_map(|e| match e {
                    sim::Event::Work { kind: sim::WorkKind::RmapEntry, count } => Some(*count),
                    _ => None,
                })
                .sum();
            per_fork.push(chains);
            assert!(sim.apply(&write(parent + 1)).is_ok());
            assert!(sim.apply(&Op::Exit { task: TaskId(parent) }).is_ok());
        }
        let want: Vec<u64> = if reuse {
            (1..=u64::from(GENERATIONS)).map(|g| (g + 1).min(3)).collect()
        } else {
            (1..=u64::from(GENERATIONS)).map(|g| g + 1).collect()
        };
        assert_eq!(per_fork, want, "reuse {reuse}: anon_vma_chains made by each generation's fork");
    }
}

/// A Linux fork flushes the parent's TLB once, after it has copied every
/// mapping (`flush_tlb_mm` at the end of `dup_mmap`); the Mach family and
/// the BSDs write-protect each map entry with a `pmap_protect` of its own.
#[test]
fn linux_flushes_once_per_fork_the_mach_family_once_per_entry() {
    for policy in [PolicyKind::Linux, PolicyKind::GnuMach, PolicyKind::FreeBsd] {
        let mut sim = Sim::new(policy, Config::default().check_invariants(true));
        let mut ops = vec![Op::TaskCreate { task: TaskId(1) }];
        for region in 0..3 {
            let addr = BASE + region * 0x10_0000;
            ops.push(Op::VmAllocate { task: TaskId(1), addr: Some(addr), size: 4 * P, anywhere: false });
            ops.push(Op::Access(sim::AccessOp {
                task: TaskId(1),
                access: sim::Access::Write,
                addr,
                len: 4 * P,
                value: None,
                expect_value: None,
                recorded: None,
            }));
        }
        ops.push(Op::Fork { parent: TaskId(1), child: TaskId(2) });
        for op in &ops {
            assert!(sim.apply(op).is_ok(), "{policy}: {op:?}");
        }
        let report = sim.finish("flushes");
        let fork = &report.work_by_op["fork"].work;
        let want = if policy == PolicyKind::Linux { 1 } else { 3 };
        assert_eq!((fork.tlb_flushes, fork.ptes_write_protected), (want, 12), "{policy}");
    }
}
