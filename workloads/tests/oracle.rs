//! The differential oracle: random traces must give the same
//! `kern_return_t` sequence and the same read digest under every policy as
//! under `eager`, with the invariant checker on after every op.
//!
//! The random traces are built from abstract steps that pick tasks among
//! the live ones, so most ops are valid and tasks fork, exec and exit
//! freely. Addresses fall in a small window so that allocations, copies and
//! protections collide often; some are deliberately misaligned or out of
//! range to exercise the error codes, and now and then an address (or a
//! file offset) lies at an edge of the address space: around the map's
//! maximum or just below 2^64, so that a range of a few pages ends there,
//! runs one page past it, or wraps. Every policy shares the range checks,
//! so the oracle alone cannot judge those codes (`sim/tests/address_bounds.rs`
//! pins them); it makes sure every policy survives what they let through,
//! with the invariant checker (which bounds every entry) on.
//!
//! Besides every registered policy, the oracle checks `linux` with a warm
//! page cache (`PageCache::Warm`), where every read fault on a file maps
//! its neighbours: the fault-around path `linux` with a cold page cache
//! takes only when a file's pages are already in. Traces also describe
//! files' page caches (`page_cache`, with large folios or not) and read
//! them (`file_read`), which sends `linux` through its readahead model.
//!
//! On failure the test prints the seed and writes the shrunk trace to
//! `target/oracle-failure.jsonl`, replayable with
//! `cargo run --release -- run target/oracle-failure.jsonl --policy all`.
//! Set `COWSIM_ORACLE_SEED` to run with another seed, and
//! `COWSIM_ORACLE_CASES` for more cases.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use sim::op::AccessOp;
use sim::{Access, Config, Inheritance, KernReturn, Op, PolicyKind, Prot, SimError, TaskId, TraceOp};
use workloads::fuzzing::{Design, replay_under};

const P: u64 = 4096;
/// The window of pages the random ops play in.
const BASE: u64 = 0x40;
const SPAN: u64 = 24;

/// One abstract step; `who` and `other` pick among the live tasks.
#[derive(Clone, Debug)]
enum Step {
    Fork {
        who: u8,
    },
    Exit {
        who: u8,
    },
    Exec {
        who: u8,
    },
    Create,
    Allocate {
        who: u8,
        page: u64,
        pages: u64,
        anywhere: bool,
    },
    Deallocate {
        who: u8,
        page: u64,
        pages: u64,
    },
    Protect {
        who: u8,
        page: u64,
        pages: u64,
        prot: u8,
        set_max: bool,
    },
    Inherit {
        who: u8,
        page: u64,
        pages: u64,
        inherit: u8,
    },
    Copy {
        who: u8,
        src: u64,
        pages: u64,
        dst: u64,
        misalign: u8,
    },
    Move {
        who: u8,
        src: u64,
        pages: u64,
        dst: u64,
        misalign: u8,
    },
    Read {
        who: u8,
        other: u8,
        page: u64,
        pages: u64,
        dst: Option<u64>,
    },
    Write {
        who: u8,
        other: u8,
        page: u64,
        pages: u64,
        src: u64,
    },
    Map {
        who: u8,
        page: u64,
        pages: u64,
        file: u8,
        offset: u64,
        private: bool,
        prot: u8,
    },
    Touch {
        who: u8,
        page: u64,
        pages: u64,
        access: u8,
    },
    /// A `page_cache` op: file `file` is `pages` long (in pages, plus
    /// `tail` bytes), with `cached` pages cached from `first`, and a
    /// readahead window of `window` pages.
    PageCache {
        file: u8,
        pages: u64,
        tail: u64,
        first: u64,
        cached: u64,
        window: u64,
        folio: u8,
    },
    FileRead {
        who: Option<u8>,
        file: u8,
        page: u64,
        pages: u64,
    },
    /// An access in the huge region (two aligned 2 MiB blocks task 1
    /// allocates at the start), where `linux` with huge pages on makes,
    /// copies, splits and reuses them.
    HugeTouch {
        who: u8,
        page: u64,
        pages: u64,
        access: u8,
    },
    /// A deallocation or a `vm_copy` inside the huge region: a huge page
    /// cut in part, or copied.
    HugeCut {
        who: u8,
        page: u64,
        pages: u64,
        copy_to: Option<u64>,
    },
}

/// The huge region: two 2 MiB blocks from 4 MiB, in pages.
const HUGE_BASE: u64 = 0x400;
const HUGE_SPAN: u64 = 1024;

/// The first page past the map (`Config::default().map_max`).
fn top() -> u64 {
    Config::default().map_max / P
}

/// 2^64 in pages.
const END: u64 = 1 << 52;

/// A page of the window, or one time in 25 a page near an edge: the last
/// pages below the map's maximum, the maximum and just past it, or the last
/// pages below 2^64.
fn page() -> impl Strategy<Value = u64> {
    prop_oneof![
        24 => BASE..BASE + SPAN,
        1 => prop_oneof![top() - 4..top() + 2, END - 4..END],
    ]
}

/// A file offset in pages: the first few pages of the file, or one time in
/// five its last pages below 2^64 bytes, where `offset + size` may wrap.
fn file_offset() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0..4u64, 1 => END - 3..END]
}

fn step() -> impl Strategy<Value = Step> {
    let who = any::<u8>();
    prop_oneof![
        3 => who.prop_map(|who| Step::Fork { who }),
        2 => who.prop_map(|who| Step::Exit { who }),
        1 => who.prop_map(|who| Step::Exec { who }),
        1 => Just(Step::Create),
        3 => (who, page(), 1..8u64, prop::bool::weighted(0.2))
            .prop_map(|(who, page, pages, anywhere)| Step::Allocate { who, page, pages, anywhere }),
        1 => (who, page(), 1..6u64).prop_map(|(who, page, pages)| Step::Deallocate { who, page, pages }),
        2 => (who, page(), 1..6u64, 0..8u8, any::<bool>())
            .prop_map(|(who, page, pages, prot, set_max)| Step::Protect { who, page, pages, prot, set_max }),
        2 => (who, page(), 1..8u64, 0..3u8).prop_map(|(who, page, pages, inherit)| Step::Inherit { who, page, pages, inherit }),
        4 => (who, page(), 0..6u64, page(), 0..12u8)
            .prop_map(|(who, src, pages, dst, misalign)| Step::Copy { who, src, pages, dst, misalign }),
        // Into the window's holes, or just past it, where it is usually free
        // (accesses reach the first pages past it).
        2 => (who, page(), 0..6u64, prop_oneof![page(), BASE + SPAN..BASE + SPAN + 4], 0..12u8)
            .prop_map(|(who, src, pages, dst, misalign)| Step::Move { who, src, pages, dst, misalign }),
        2 => (who, any::<u8>(), page(), 1..5u64, prop::option::of(page()))
            .prop_map(|(who, other, page, pages, dst)| Step::Read { who, other, page, pages, dst }),
        2 => (who, any::<u8>(), page(), 1..5u64, page())
            .prop_map(|(who, other, page, pages, src)| Step::Write { who, other, page, pages, src }),
        2 => (who, page(), 1..6u64, 0..2u8, file_offset(), any::<bool>(), 0..8u8)
            .prop_map(|(who, page, pages, file, offset, private, prot)| Step::Map { who, page, pages, file, offset, private, prot }),
        10 => (who, page(), 1..5u64, 0..3u8).prop_map(|(who, page, pages, access)| Step::Touch { who, page, pages, access }),
        1 => (0..2u8, 0..12u64, 0..P, 0..8u64, 0..6u64, prop_oneof![Just(0u64), 1..40u64], 0..4u8)
            .prop_map(|(file, pages, tail, first, cached, window, folio)| Step::PageCache { file, pages, tail, first, cached, window, folio }),
        1 => (prop::option::of(any::<u8>()), 0..2u8, 0..10u64, 0..4u64)
            .prop_map(|(who, file, page, pages)| Step::FileRead { who, file, page, pages }),
        4 => (who, 0..HUGE_SPAN, 1..4u64, 0..3u8).prop_map(|(who, page, pages, access)| Step::HugeTouch { who, page, pages, access }),
        1 => (who, 0..HUGE_SPAN, 1..600u64, prop::option::of(0..HUGE_SPAN))
            .prop_map(|(who, page, pages, copy_to)| Step::HugeCut { who, page, pages, copy_to }),
    ]
}

const FILES: [&str; 2] = ["libc.so.6", "data.db"];

const PROTS: [&str; 8] = ["", "r", "w", "x", "rw", "rx", "wx", "rwx"];

/// Turns abstract steps into a concrete trace. Which tasks are alive does
/// not depend on the policy, so every policy replays the same trace.
fn concretize(steps: &[Step]) -> Vec<TraceOp> {
    let mut live: BTreeSet<u32> = BTreeSet::new();
    let mut next = 2;
    // Task 1 starts with the whole window allocated and written, so most
    // ops find memory to work on.
    let mut ops = vec![
        Op::TaskCreate { task: TaskId(1) },
        Op::VmAllocate { task: TaskId(1), addr: Some(BASE * P), size: SPAN * P, anywhere: false },
        Op::Access(AccessOp {
            task: TaskId(1),
            access: Access::Write,
            addr: BASE * P,
            len: SPAN / 2 * P,
            value: None,
            expect_value: None,
            recorded: None,
        }),
        Op::VmAllocate { task: TaskId(1), addr: Some(HUGE_BASE * P), size: HUGE_SPAN * P, anywhere: false },
    ];
    live.insert(1);
    let pick = |live: &BTreeSet<u32>, n: u8| -> Option<TaskId> {
        (!live.is_empty()).then(|| TaskId(*live.iter().nth(n as usize % live.len()).unwrap()))
    };
    for s in steps {
        let op = match *s {
            Step::Create => {
                live.insert(next);
                next += 1;
                Op::TaskCreate { task: TaskId(next - 1) }
            }
            Step::Fork { who } => {
                let Some(parent) = pick(&live, who) else { continue };
                live.insert(next);
                next += 1;
                Op::Fork { parent, child: TaskId(next - 1) }
            }
            Step::Exit { who } => {
                let Some(task) = pick(&live, who) else { continue };
                live.remove(&task.0);
                Op::Exit { task }
            }
            Step::Exec { who } => {
                let Some(task) = pick(&live, who) else { continue };
                Op::Exec { task }
            }
            Step::Allocate { who, page, pages, anywhere } => {
                let Some(task) = pick(&live, who) else { continue };
                Op::VmAllocate { task, addr: Some(page * P), size: pages * P, anywhere }
            }
            Step::Deallocate { who, page, pages } => {
                let Some(task) = pick(&live, who) else { continue };
                Op::VmDeallocate { task, addr: page * P, size: pages * P }
            }
            Step::Protect { who, page, pages, prot, set_max } => {
                let Some(task) = pick(&live, who) else { continue };
                let prot = Prot::parse(PROTS[prot as usize]).unwrap();
                Op::VmProtect { task, addr: page * P, size: pages * P, prot, set_max }
            }
            Step::Inherit { who, page, pages, inherit } => {
                let Some(task) = pick(&live, who) else { continue };
                let inherit = [Inheritance::Share, Inheritance::Copy, Inheritance::None][inherit as usize];
                Op::VmInherit { task, addr: page * P, size: pages * P, inherit }
            }
            Step::Copy { who, src, pages, dst, misalign } => {
                let Some(task) = pick(&live, who) else { continue };
                let (mut s, n, d) = in_bytes(src, pages, dst, misalign);
                if misalign == 3 {
                    s = 0x7fff_ffff_f000 * 4; // outside the map: INVALID_ADDRESS
                }
                Op::VmCopy { task, src: s, size: n, dst: d }
            }
            Step::Move { who, src, pages, dst, misalign } => {
                let Some(task) = pick(&live, who) else { continue };
                let (s, n, d) = in_bytes(src, pages, dst, misalign);
                Op::VmMove { task, src: s, size: n, dst: d }
            }
            Step::Read { who, other, page, pages, dst } => {
                let (Some(caller), Some(task)) = (pick(&live, who), pick(&live, other)) else { continue };
                Op::VmRead { task, addr: page * P, size: pages * P, caller, dst: dst.map(|d| d * P) }
            }
            Step::Write { who, other, page, pages, src } => {
                let (Some(caller), Some(task)) = (pick(&live, who), pick(&live, other)) else { continue };
                Op::VmWrite { task, addr: page * P, size: pages * P, caller, src: src * P }
            }
            Step::Map { who, page, pages, file, offset, private, prot } => {
                let Some(task) = pick(&live, who) else { continue };
                let prot = Prot::parse(PROTS[prot as usize]).unwrap();
                let file = FILES[file as usize].to_string();
                Op::VmMap {
                    task,
                    addr: Some(page * P),
                    size: pages * P,
                    anywhere: false,
                    file,
                    offset: offset * P,
                    private,
                    prot,
                }
            }
            Step::PageCache { file, pages, tail, first, cached, window, folio } => {
                let size = pages * P + tail;
                let runs = if cached == 0 { vec![] } else { vec![(first, cached)] };
                let (file, read_ahead) = (FILES[file as usize].to_string(), window * P);
                // One page, four, sixteen, or a PMD's 512.
                let largest_folio = P << [0, 2, 4, 9][folio as usize];
                Op::PageCache { file, size, cached: runs, read_ahead, largest_folio }
            }
            Step::FileRead { who, file, page, pages } => {
                let task = who.and_then(|who| pick(&live, who));
                Op::FileRead { task, file: FILES[file as usize].to_string(), offset: page * P + 100, len: pages * P }
            }
            Step::HugeTouch { who, page, pages, access } => {
                let Some(task) = pick(&live, who) else { continue };
                let access = [Access::Read, Access::Write, Access::Write][access as usize];
                Op::Access(AccessOp {
                    task,
                    access,
                    addr: (HUGE_BASE + page) * P,
                    len: pages * P,
                    value: None,
                    expect_value: None,
                    recorded: None,
                })
            }
            Step::HugeCut { who, page, pages, copy_to } => {
                let Some(task) = pick(&live, who) else { continue };
                let (addr, size) = ((HUGE_BASE + page) * P, pages.min(HUGE_SPAN - page) * P);
                match copy_to {
                    Some(to) => Op::VmCopy { task, src: addr, size, dst: (HUGE_BASE + to) * P },
                    None => Op::VmDeallocate { task, addr, size },
                }
            }
            Step::Touch { who, page, pages, access } => {
                let Some(task) = pick(&live, who) else { continue };
                let access = [Access::Read, Access::Write, Access::ExecFetch][access as usize];
                Op::Access(AccessOp {
                    task,
                    access,
                    addr: page * P,
                    len: pages * P,
                    value: None,
                    expect_value: None,
                    recorded: None,
                })
            }
        };
        ops.push(op);
    }
    ops.into_iter().map(|op| TraceOp { op, expect: None }).collect()
}

/// A copy's or move's source, size and destination in bytes, from pages;
/// `misalign` 0, 1 or 2 puts the source, the size or the destination off a
/// page boundary (one case in four of the 12 values).
fn in_bytes(src: u64, pages: u64, dst: u64, misalign: u8) -> (u64, u64, u64) {
    let (mut s, mut n, mut d) = (src * P, pages * P, dst * P);
    match misalign {
        0 => s += 8,
        1 => n += 8,
        2 => d += 8,
        _ => {}
    }
    (s, n, d)
}

/// What the random traces exercised, summed over every case and policy, so
/// the test can insist that the interesting paths were really taken.
static EXERCISED: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());

/// Ops replayed under each design, checker on, for the run's last line.
static REPLAYED: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// Replays a trace; returns every op's result and the read digest, and
/// counts what it exercised and how many ops each design replayed.
fn replay(design: Design, trace: &[TraceOp]) -> (Vec<Result<KernReturn, SimError>>, String) {
    let (results, report) = replay_under(design, trace);
    *REPLAYED.lock().unwrap_or_else(|e| e.into_inner()).entry(design.to_string()).or_default() += trace.len() as u64;
    let mut seen = EXERCISED.lock().unwrap_or_else(|e| e.into_inner());
    for (name, n) in [
        ("success", results.iter().filter(|r| matches!(r, Ok(KernReturn::Success))).count() as u64),
        ("invalid_argument", results.iter().filter(|r| matches!(r, Ok(KernReturn::InvalidArgument))).count() as u64),
        (
            "protection_failure",
            results.iter().filter(|r| matches!(r, Ok(KernReturn::ProtectionFailure))).count() as u64,
        ),
        ("success_at_an_edge", edge_ops(trace, &results, |code| code == KernReturn::Success)),
        (
            "moves",
            trace
                .iter()
                .zip(&results)
                .filter(|(t, r)| {
                    matches!(t.op, Op::VmMove { size, .. } if size > 0) && matches!(r, Ok(KernReturn::Success))
                })
                .count() as u64,
        ),
        ("refused_at_an_edge", edge_ops(trace, &results, |code| code != KernReturn::Success)),
        ("cow_copy", report.faults.cow_copy),
        ("page_in", report.faults.page_in),
        ("push_copy", report.work.push_copy),
        ("amap_copy", report.work.amap_copy),
        ("reuse", report.faults.reuse),
        ("zero_page", report.faults.zero_page),
        ("fault_around", report.work.fault_around),
        ("page_cache_files", report.page_cache_files),
        ("collapses", report.work.collapses),
        ("bypasses", report.work.bypasses),
        ("shadows", report.work.shadows_created),
        ("huge_pages_made", report.work.huge_pages_made),
        ("huge_pages_copied", report.work.huge_pages_copied),
        ("huge_pages_split", report.work.huge_pages_split),
    ] {
        *seen.entry(name).or_default() += n;
    }
    (results, report.read_digest)
}

/// Does the op name an address (or file offset) at an edge, as `page()` and
/// `file_offset()` pick them?
fn at_an_edge(op: &Op) -> bool {
    let edge = |bytes: u64| bytes >= (top() - 4) * P;
    match op {
        Op::VmAllocate { addr, .. } => addr.is_some_and(edge),
        Op::VmDeallocate { addr, .. } | Op::VmProtect { addr, .. } | Op::VmInherit { addr, .. } => edge(*addr),
        Op::VmRead { addr, dst, .. } => edge(*addr) || dst.is_some_and(edge),
        Op::VmWrite { addr, src, .. } => edge(*addr) || edge(*src),
        Op::VmCopy { src, dst, .. } | Op::VmMove { src, dst, .. } => edge(*src) || edge(*dst),
        Op::VmMap { addr, offset, .. } => addr.is_some_and(edge) || edge(*offset),
        Op::Access(a) => edge(a.addr),
        _ => false,
    }
}

/// How many ops at an edge gave a code `counts`.
fn edge_ops(trace: &[TraceOp], results: &[Result<KernReturn, SimError>], counts: impl Fn(KernReturn) -> bool) -> u64 {
    let hits = trace.iter().zip(results).filter(|(t, r)| at_an_edge(&t.op) && r.as_ref().is_ok_and(|c| counts(*c)));
    hits.count() as u64
}

fn seed() -> u64 {
    std::env::var("COWSIM_ORACLE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_c0de)
}

fn cases() -> u32 {
    std::env::var("COWSIM_ORACLE_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1000)
}

fn save_failure(trace: &[TraceOp]) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/oracle-failure.jsonl");
    let text: String = trace.iter().map(|op| format!("{}\n", workloads::trace::format_op(op))).collect();
    let _ = std::fs::write(path, text);
    path.to_string()
}

/// Every lazy policy agrees with `eager` on codes and read digest.
#[test]
fn every_policy_matches_eager() {
    let seed = seed();
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let result = runner.run(&prop::collection::vec(step(), 1..80), |steps| {
        let trace = concretize(&steps);
        let (want, want_digest) = replay(Design::Policy(PolicyKind::Eager), &trace);
        for policy in Design::lazy() {
            let outcome = std::panic::catch_unwind(|| replay(policy, &trace));
            let (got, got_digest) = match outcome {
                Ok(r) => r,
                Err(_) => {
                    let path = save_failure(&trace);
                    return Err(TestCaseError::fail(format!("{policy} panicked (invariant?); trace saved to {path}")));
                }
            };
            if got != want || got_digest != want_digest {
                let path = save_failure(&trace);
                let at = got.iter().zip(&want).position(|(g, w)| g != w);
                return Err(TestCaseError::fail(format!(
                    "{policy} disagrees with eager (first differing op: {at:?}, digests {got_digest} vs {want_digest}); trace saved to {path}"
                )));
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("oracle failed with COWSIM_ORACLE_SEED={seed}: {e}");
    }
    let seen = EXERCISED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for (path, n) in &seen {
        assert!(*n > 0, "the random traces never exercised {path}: {seen:?}");
    }
    eprintln!("oracle exercised: {seen:?}");
    let replayed = REPLAYED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    eprintln!("oracle replayed, with the invariant checker on after every op: {replayed:?}");
}
