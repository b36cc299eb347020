//! Address ranges at the edges of the address space. Every op that takes
//! an address range is tried on ranges that end exactly at the map's
//! maximum (which must work as anywhere else), one page past it, exactly
//! at 2^64, and wrapping past 2^64, under every policy with the invariant
//! checker on. Past the maximum a fixed range is `KERN_INVALID_ADDRESS` and
//! an anywhere placement is `KERN_NO_SPACE`; never a panic, never a
//! success, and no map entry ever leaves `[map_min, map_max)`.
//!
//! The codes come from the generic layer, which every policy shares, so
//! the differential oracle cannot catch a wrong one: these tests pin them.

use sim::KernReturn::{self, InvalidAddress, InvalidArgument, NoSpace, Success};
use sim::{Access, AccessOp, Config, Inheritance, Op, PolicyKind, Prot, TaskId, Vpn};

use crate::support::{P, Run};

/// The map's maximum in bytes (`Config::map_max`).
fn max() -> u64 {
    Config::default().map_max
}

/// The first page past the map.
fn top() -> u64 {
    max() / P
}

/// Where a range ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Edge {
    /// Exactly at `map_max`: a legal range.
    AtMax,
    /// One page past `map_max`.
    PastMax,
    /// Exactly at 2^64: the last byte is `u64::MAX`.
    At2To64,
    /// `addr + size` is more than 2^64.
    Wraps,
}

/// A byte range `[addr, addr + size)`.
#[derive(Clone, Copy, Debug)]
struct Span {
    edge: Edge,
    addr: u64,
    size: u64,
}

/// The ranges every op is tried on: from the top two pages of the map to
/// each edge, and from two pages below 2^64 (where the hostile report's
/// `0xfffffffffffff000` lies) to 2^64 and past it.
fn spans() -> [Span; 7] {
    let inside = max() - 2 * P;
    let near_2_to_64 = (2 * P).wrapping_neg();
    [
        Span { edge: Edge::AtMax, addr: inside, size: 2 * P },
        Span { edge: Edge::PastMax, addr: inside, size: 3 * P },
        Span { edge: Edge::At2To64, addr: inside, size: inside.wrapping_neg() },
        Span { edge: Edge::Wraps, addr: inside, size: inside.wrapping_neg() + P },
        Span { edge: Edge::Wraps, addr: inside, size: u64::MAX },
        Span { edge: Edge::At2To64, addr: near_2_to_64, size: 2 * P },
        Span { edge: Edge::Wraps, addr: near_2_to_64, size: 3 * P },
    ]
}

/// The code of an op that names its range by address.
fn fixed(span: Span) -> KernReturn {
    if span.edge == Edge::AtMax { Success } else { InvalidAddress }
}

/// The code of an op that places its range anywhere, searching up from
/// `span.addr`: there is room only when the range ends at the maximum.
fn anywhere(span: Span) -> KernReturn {
    if span.edge == Edge::AtMax { Success } else { NoSpace }
}

/// Task 1 with the top two pages of the map (read, write, execute) and
/// pages 0x100..0x104; task 2 with pages 0x200..0x204 and its top free.
fn world(policy: PolicyKind) -> Run {
    let mut run = Run::new(policy);
    run.task(1);
    run.task(2);
    assert_eq!(run.alloc(1, top() - 2, 2), Success, "{policy}: the top pages");
    assert_eq!(run.protect(1, top() - 2, 2, "rwx"), Success, "{policy}");
    assert_eq!(run.alloc(1, 0x100, 4), Success, "{policy}");
    assert_eq!(run.alloc(2, 0x200, 4), Success, "{policy}");
    run
}

/// Applies `op` and requires every entry of every map to lie inside the
/// map's bounds, `[map_min, map_max)` in whole pages (the checker also
/// runs, after every op).
fn apply(run: &mut Run, op: &Op) -> KernReturn {
    let code = run.op(op.clone());
    let config = run.sim.config();
    let bounds = Vpn(config.map_min.div_ceil(P))..Vpn(config.map_max / P);
    for task in run.sim.view().tasks() {
        for e in task.entries() {
            let inside = bounds.start <= e.start && e.start < e.end && e.end <= bounds.end;
            assert!(inside, "after {op:?}: {:?} entry {e:?} is outside {bounds:?}", task.id());
        }
    }
    code
}

/// Runs `op(span)` on a fresh world for every policy and span, and
/// requires `want(span)`. Returns nothing; panics with the op and span.
fn every_edge(op: impl Fn(Span) -> Op, want: impl Fn(Span) -> KernReturn) {
    for policy in PolicyKind::ALL {
        for span in spans() {
            let mut run = world(policy);
            let op = op(span);
            assert_eq!(apply(&mut run, &op), want(span), "{policy}: {op:?} on {span:?}");
        }
    }
}

#[test]
fn vm_allocate_fixed() {
    every_edge(|s| Op::VmAllocate { task: TaskId(2), addr: Some(s.addr), size: s.size, anywhere: false }, fixed);
}

/// Anywhere, from a start hint: the search starts at the hint, so the only
/// room is a range that ends at the maximum, and that is where it goes.
#[test]
fn vm_allocate_anywhere_from_a_hint() {
    every_edge(|s| Op::VmAllocate { task: TaskId(2), addr: Some(s.addr), size: s.size, anywhere: true }, anywhere);
    for policy in PolicyKind::ALL {
        let mut run = world(policy);
        let op = Op::VmAllocate { task: TaskId(2), addr: Some(max() - 2 * P), size: 2 * P, anywhere: true };
        assert_eq!(apply(&mut run, &op), Success);
        let entry = run.sim.view().entry(TaskId(2), Vpn(top() - 2));
        assert_eq!(entry.map(|e| (e.start, e.end)), Some((Vpn(top() - 2), Vpn(top()))), "{policy}: at the hint");
    }
}

#[test]
fn vm_deallocate() {
    every_edge(|s| Op::VmDeallocate { task: TaskId(1), addr: s.addr, size: s.size }, fixed);
}

#[test]
fn vm_protect() {
    let prot = Prot::parse("r").unwrap();
    every_edge(|s| Op::VmProtect { task: TaskId(1), addr: s.addr, size: s.size, prot, set_max: false }, fixed);
    every_edge(|s| Op::VmProtect { task: TaskId(1), addr: s.addr, size: s.size, prot, set_max: true }, fixed);
}

#[test]
fn vm_inherit() {
    every_edge(|s| Op::VmInherit { task: TaskId(1), addr: s.addr, size: s.size, inherit: Inheritance::Share }, fixed);
}

/// The source of a vm_read, copied anywhere into task 2.
#[test]
fn vm_read_source() {
    every_edge(|s| Op::VmRead { task: TaskId(1), addr: s.addr, size: s.size, caller: TaskId(2), dst: None }, fixed);
}

/// The destination of a vm_read, from task 1's pages 0x100.. (a range
/// whose size alone already leaves task 1's map fails at the source, with
/// the same code).
#[test]
fn vm_read_destination() {
    every_edge(
        |s| Op::VmRead { task: TaskId(1), addr: 0x100 * P, size: s.size, caller: TaskId(2), dst: Some(s.addr) },
        fixed,
    );
}

/// The source of a vm_write: the caller's memory.
#[test]
fn vm_write_source() {
    every_edge(
        |s| Op::VmWrite { task: TaskId(2), addr: 0x200 * P, size: s.size, caller: TaskId(1), src: s.addr },
        fixed,
    );
}

/// The target of a vm_write.
#[test]
fn vm_write_destination() {
    every_edge(
        |s| Op::VmWrite { task: TaskId(1), addr: s.addr, size: s.size, caller: TaskId(2), src: 0x200 * P },
        fixed,
    );
}

#[test]
fn vm_copy_source() {
    every_edge(|s| Op::VmCopy { task: TaskId(1), src: s.addr, size: s.size, dst: 0x100 * P }, fixed);
}

#[test]
fn vm_copy_destination() {
    every_edge(|s| Op::VmCopy { task: TaskId(1), src: 0x100 * P, size: s.size, dst: s.addr }, fixed);
}

#[test]
fn vm_move_source() {
    every_edge(|s| Op::VmMove { task: TaskId(1), src: s.addr, size: s.size, dst: 0x300 * P }, fixed);
}

/// Task 2 moves its pages 0x200.. to the edge (its top is free).
#[test]
fn vm_move_destination() {
    every_edge(|s| Op::VmMove { task: TaskId(2), src: 0x200 * P, size: s.size, dst: s.addr }, fixed);
}

fn map_file(addr: u64, size: u64, anywhere: bool, offset: u64) -> Op {
    Op::VmMap {
        task: TaskId(2),
        addr: Some(addr),
        size,
        anywhere,
        file: "libc.so.6".into(),
        offset,
        private: true,
        prot: Prot::DEFAULT,
    }
}

#[test]
fn vm_map_fixed() {
    every_edge(|s| map_file(s.addr, s.size, false, 0), fixed);
}

#[test]
fn vm_map_anywhere_from_a_hint() {
    every_edge(|s| map_file(s.addr, s.size, true, 0), anywhere);
}

/// vm_map rounds its start up: to the maximum's last page, to the maximum,
/// or, from the last byte of the address space, to 2^64 itself, which is
/// past every map rather than a wrap to page 0.
#[test]
fn vm_map_rounds_its_start_up_to_the_edges() {
    for policy in PolicyKind::ALL {
        let mut run = world(policy);
        let cases = [
            (max() - 2 * P + 1, P, false, Success),
            (max() - 2 * P + 1, 2 * P, false, InvalidAddress),
            (max() - P + 1, P, false, InvalidAddress),
            (u64::MAX, P, false, InvalidAddress),
            (u64::MAX, P, true, NoSpace),
        ];
        for (addr, size, anywhere, want) in cases {
            let op = map_file(addr, size, anywhere, 0);
            assert_eq!(apply(&mut run, &op), want, "{policy}: {op:?}");
        }
    }
}

/// The file range `[offset, offset + size)`: ending exactly at 2^64 is a
/// file range like any other; wrapping past it names no bytes of any file,
/// a bad argument, checked before the address.
#[test]
fn vm_map_file_offsets_near_2_to_64() {
    let offset = (2 * P).wrapping_neg();
    for policy in PolicyKind::ALL {
        let mut run = world(policy);
        assert_eq!(apply(&mut run, &map_file(0x300 * P, 2 * P, false, offset)), Success, "{policy}");
        assert_eq!(run.read(2, 0x300, 2), Success, "{policy}: the file's last pages read");
        assert_eq!(run.write(2, 0x300, 2), Success, "{policy}: and are copied on write");
        assert_eq!(apply(&mut run, &map_file(0x310 * P, 3 * P, false, offset)), InvalidArgument, "{policy}");
        assert_eq!(apply(&mut run, &map_file(0x310 * P, u64::MAX, false, offset)), InvalidArgument, "{policy}");
        assert_eq!(apply(&mut run, &map_file(u64::MAX, 3 * P, false, offset)), InvalidArgument, "{policy}: first");
    }
}

/// vm_allocate truncates a fixed start and rounds the end: a misaligned
/// range inside the last page of the map fits; one that reaches into the
/// next page does not, and neither does one whose rounded end would be
/// 2^64.
#[test]
fn vm_allocate_rounds_a_fixed_range_outward() {
    for policy in PolicyKind::ALL {
        let mut run = world(policy);
        let allocate = |addr, size| Op::VmAllocate { task: TaskId(2), addr: Some(addr), size, anywhere: false };
        assert_eq!(apply(&mut run, &allocate(max() - P + 1, P)), InvalidAddress, "{policy}: rounds past max");
        assert_eq!(apply(&mut run, &allocate(u64::MAX, 1)), InvalidAddress, "{policy}: rounds to 2^64");
        assert_eq!(apply(&mut run, &allocate(max() - P + 1, P - 1)), Success, "{policy}: rounds to max");
    }
}

/// The ranges of the hostile-input report: a vm_read into, and a vm_map at,
/// `0xfffffffffffff000` once returned success and made an entry past the
/// map, whose end wrapped to 0x1000 in `cowsim graph`.
#[test]
fn the_reported_ranges_are_invalid_addresses() {
    for policy in PolicyKind::ALL {
        let mut run = world(policy);
        let read =
            Op::VmRead { task: TaskId(1), addr: 0x100 * P, size: P, caller: TaskId(2), dst: Some(0xfffffffffffff000) };
        assert_eq!(apply(&mut run, &read), InvalidAddress, "{policy}");
        assert_eq!(apply(&mut run, &map_file(0xfffffffffffff000, P, false, 0)), InvalidAddress, "{policy}");
    }
}

/// The pages an access touches before it stops, and whether it stops at a
/// segv: it walks up from its start through the mapped top pages and
/// faults at the first page past the map, unless its range wraps past
/// 2^64, which names no bytes and touches nothing.
fn walk(span: Span) -> (u64, u64) {
    let first = span.addr / P;
    let wraps = span.addr.checked_add(span.size - 1).is_none();
    let end = if wraps { first } else { (span.addr + (span.size - 1)) / P + 1 };
    let mapped = end.min(top()).saturating_sub(first);
    let segv = u64::from(!wraps && end > top());
    (mapped, segv)
}

#[test]
fn read_write_and_exec_fetch() {
    for access in [Access::Read, Access::Write, Access::ExecFetch] {
        for policy in PolicyKind::ALL {
            for span in spans() {
                let mut run = world(policy);
                let op = Op::Access(AccessOp {
                    task: TaskId(1),
                    access,
                    addr: span.addr,
                    len: span.size,
                    value: None,
                    expect_value: None,
                    recorded: None,
                });
                assert_eq!(apply(&mut run, &op), fixed(span), "{policy}: {op:?} on {span:?}");
                let report = run.report();
                let (mapped, segv) = walk(span);
                assert_eq!((report.accesses, report.faults.segv), (mapped, segv), "{policy}: {access:?} on {span:?}");
            }
        }
    }
}

/// A `page_cache` op may describe a file as large as 2^64 bytes, cached
/// whole, and a `file_read` may ask for most of it: the page cache model
/// keeps runs, a read is cut at Linux's `MAX_RW_COUNT`, and a readahead
/// window is bounded, so neither allocates per page nor walks every page.
/// (The fuzzer found both: a 128 TiB read hung, a cached run of 2^52 pages
/// aborted allocating 36 PB.)
#[test]
fn page_cache_ops_on_files_as_large_as_the_address_space() {
    let huge_file = (P).wrapping_neg();
    let whole = huge_file / P;
    for policy in PolicyKind::ALL {
        let mut run = world(policy);
        let describe = |file: &str, cached: Vec<(u64, u64)>, read_ahead: u64| Op::PageCache {
            file: file.into(),
            size: huge_file,
            cached,
            read_ahead,
            largest_folio: P,
        };
        assert_eq!(apply(&mut run, &describe("cached.db", vec![(0, whole)], 128 << 10)), Success, "{policy}");
        assert_eq!(apply(&mut run, &describe("cold.db", vec![], P)), Success, "{policy}");
        assert_eq!(apply(&mut run, &describe("cold.db", vec![], 2 << 30)), InvalidArgument, "{policy}");
        assert_eq!(apply(&mut run, &describe("cold.db", vec![(0, whole + 1)], P)), InvalidArgument, "{policy}");
        for file in ["cached.db", "cold.db"] {
            for (offset, len) in [(0, 1 << 62), (P, u64::MAX - P), (huge_file - P, P)] {
                let read = Op::FileRead { task: Some(TaskId(1)), file: file.into(), offset, len };
                assert_eq!(apply(&mut run, &read), Success, "{policy}: {read:?}");
            }
        }
        run.map_file(1, 0x300, 16, "cached.db", true);
        assert_eq!(run.read(1, 0x300, 16), Success, "{policy}");
    }
}
