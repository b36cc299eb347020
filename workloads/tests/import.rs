//! The importers of real captures: every committed fixture (fixtures/README.md)
//! imported and replayed under every policy, the rules of the perf importer
//! on small hand-written captures, error messages, and fuzzing.
//!
//! None of these tests needs perf or Valgrind: the fixtures are the text
//! those tools printed. `COWSIM_IMPORT_FUZZ_CASES=5000` fuzzes harder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sim::PageCache;
use sim::op::Recorded;
use sim::{Config, KernReturn, Op, PolicyKind, Sim, TaskId, TraceOp};
use workloads::import::lackey::LackeyImport;
use workloads::import::perf::PerfImport;
use workloads::import::{ImportError, ImportSummary};
use workloads::trace::{TraceReader, TraceWriter, open_input};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

const PERF_FIXTURES: [&str; 7] = [
    "shell-pipeline.perf.txt.gz",
    "forkwrite.perf.txt.gz",
    "python.perf.txt.gz",
    "gcc-compile.perf.txt.gz",
    "vfork.perf.txt.gz",
    "mremap.perf.txt.gz",
    "cold-start.perf.txt.gz",
];
const LACKEY_FIXTURES: [&str; 1] = ["touch.lackey.txt.gz"];

/// An import's trace, read back through the trace reader, and its summary.
struct Imported {
    ops: Vec<TraceOp>,
    text: String,
    summary: ImportSummary,
}

fn import_perf_text(text: &str) -> Result<Imported, ImportError> {
    import_with(|w| PerfImport::default().run(text.as_bytes(), "capture.perf.txt", w, "out"))
}

fn import_with(
    run: impl FnOnce(&mut TraceWriter<Vec<u8>>) -> Result<ImportSummary, ImportError>,
) -> Result<Imported, ImportError> {
    let mut writer = TraceWriter::new(Vec::new());
    let summary = run(&mut writer)?;
    let text = String::from_utf8(writer.into_inner()).expect("traces are UTF-8");
    let ops = TraceReader::new(text.as_bytes(), "out")
        .map(|r| r.unwrap_or_else(|e| panic!("the importer wrote a line the reader rejects: {e}")).value)
        .collect();
    Ok(Imported { ops, text, summary })
}

fn import_fixture(name: &str) -> Imported {
    let (input, input_name) = open_input(&fixture(name)).expect("fixture opens");
    let result = if name.contains(".perf.") {
        import_with(|w| PerfImport::default().run(input, &input_name, w, "out"))
    } else {
        import_with(|w| LackeyImport.run(input, &input_name, w, "out"))
    };
    result.unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Replays `ops` under `policy`; every op's `expect` must be met. Returns
/// the codes and the report. The invariant checker runs after each of the
/// first 500 ops, then after every 64th and at the end: it walks the whole
/// world, and the larger captures would take minutes in a debug build.
fn replay(policy: PolicyKind, ops: &[TraceOp]) -> (Vec<KernReturn>, sim::Report) {
    replay_on(Sim::new(policy, Config::default().check_invariants(false)), ops)
}

/// [`replay`] on a simulator already made (a policy not in `PolicyKind`).
fn replay_on(mut sim: Sim, ops: &[TraceOp]) -> (Vec<KernReturn>, sim::Report) {
    let policy = sim.policy_name().to_string();
    let mut codes = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        codes.push(sim.apply_traced(op).unwrap_or_else(|e| panic!("op {i} {op:?} under {policy}: {e}")));
        if i < 500 || i % 64 == 0 {
            sim.check();
        }
    }
    sim.check();
    (codes, sim.finish("fixture"))
}

fn op_counts(ops: &[TraceOp]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for op in ops {
        *counts.entry(op.op.name()).or_default() += 1;
    }
    counts
}

fn recorded_count(ops: &[TraceOp]) -> u64 {
    ops.iter().filter(|t| matches!(&t.op, Op::Access(a) if a.recorded.is_some())).count() as u64
}

// ---------------------------------------------------------------------------
// The fixtures
// ---------------------------------------------------------------------------

/// Does every fixture import cleanly and replay under every policy with the
/// same codes and read digest as eager, every `expect` met?
#[test]
fn every_fixture_replays_under_every_policy() {
    for name in PERF_FIXTURES.iter().chain(&LACKEY_FIXTURES) {
        let imported = import_fixture(name);
        assert!(imported.summary.skipped.is_empty(), "{name}: skipped {}", imported.summary.skipped);
        assert!(imported.text.starts_with("# imported by `cowsim import"), "{name} opens with its provenance");
        let (eager_codes, eager) = replay(PolicyKind::Eager, &imported.ops);
        let failures = eager_codes.iter().filter(|c| **c != KernReturn::Success).count() as u64;
        assert_eq!(failures, imported.summary.expected_failures, "{name}: only predicted failures");
        for policy in PolicyKind::ALL {
            let (codes, report) = replay(policy, &imported.ops);
            assert_eq!(codes, eager_codes, "{name} under {policy}: codes differ from eager");
            assert_eq!(report.read_digest, eager.read_digest, "{name} under {policy}: read digest");
            if name.contains(".perf.") {
                let fidelity = report.fidelity.as_ref().unwrap_or_else(|| panic!("{name}: no fidelity"));
                assert_eq!(fidelity.recorded, recorded_count(&imported.ops));
                assert_eq!(fidelity.agreed + fidelity.not_faulted + fidelity.class_mismatch, fidelity.recorded);
            } else {
                assert_eq!(report.fidelity, None, "{name}: lackey records no faults");
            }
        }
    }
}

/// The lines of a capture that are the recorded program's: without those
/// of `cowsim record`'s tracer, and of its child before it execs the
/// program (see `workloads/src/import/perf/exits.rs`).
fn program_lines(text: &str) -> Vec<&str> {
    let thread_of = |line: &str| -> Option<u32> {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let cpu = tokens.iter().position(|t| t.starts_with('[') && t.ends_with(']'))?;
        tokens.get(cpu.checked_sub(1)?)?.parse().ok()
    };
    let tracer: Option<u32> =
        text.lines().find_map(|l| l.strip_prefix("# cowsim tracer ")).and_then(|pid| pid.parse().ok());
    let mut left_out: std::collections::BTreeSet<u32> = tracer.into_iter().collect();
    let mut kept = Vec::new();
    for line in text.lines() {
        let thread = thread_of(line);
        if let Some(fork) = line.split("PERF_RECORD_FORK(").nth(1) {
            let child: u32 = fork.split(':').next().unwrap().parse().unwrap();
            if thread.is_some_and(|t| left_out.contains(&t)) {
                left_out.insert(child);
            }
        }
        if line.contains("PERF_RECORD_COMM exec:") && thread != tracer {
            thread.map(|t| left_out.remove(&t));
        }
        if !thread.is_some_and(|t| left_out.contains(&t)) {
            kept.push(line);
        }
    }
    kept
}

/// Does every page fault of a perf fixture become exactly one access op,
/// with the class its error code says?
#[test]
fn every_fault_of_a_capture_is_one_recorded_access() {
    for name in PERF_FIXTURES {
        let (input, _) = open_input(&fixture(name)).unwrap();
        let text = std::io::read_to_string(input).unwrap();
        let faults: Vec<u64> = program_lines(&text)
            .into_iter()
            .filter(|l| l.contains("exceptions:page_fault_"))
            .filter_map(|l| l.split("error_code=").nth(1)?.trim().strip_prefix("0x"))
            .map(|code| u64::from_str_radix(code, 16).unwrap())
            .collect();
        let imported = import_fixture(name);
        let recorded: Vec<Recorded> = imported
            .ops
            .iter()
            .filter_map(|t| match &t.op {
                Op::Access(a) => a.recorded,
                _ => None,
            })
            .collect();
        let expected: Vec<Recorded> =
            faults.iter().map(|code| if code & 1 == 1 { Recorded::Present } else { Recorded::NotPresent }).collect();
        assert_eq!(recorded, expected, "{name}");
    }
}

/// Does the fork-and-write fixture become the trace its program implies?
/// Pinned: a change in the importer shows up here.
#[test]
fn forkwrite_fixture_is_pinned() {
    let imported = import_fixture("forkwrite.perf.txt.gz");
    let counts = op_counts(&imported.ops);
    let expected: BTreeMap<&str, usize> = [
        ("exec_fetch", 44),
        ("exit", 4),
        ("fork", 3),
        ("mark", 1),
        ("read", 26),
        ("task_create", 1),
        // Stack, heap, thread stack and its guard, the two private pages
        // madvise(MADV_DONTNEED) renews, the thread stack renewed as the
        // thread exits, the growth at the mremap's destination...
        ("vm_allocate", 12),
        ("vm_deallocate", 16),
        // The shared anonymous mapping.
        ("vm_inherit", 1),
        ("vm_map", 17),
        // ...and the mremap: the mapping moves with its pages.
        ("vm_move", 1),
        ("vm_protect", 7),
        // 118 recorded, and the stack page the kernel wrote at exec.
        ("write", 119),
    ]
    .into();
    assert_eq!(counts, expected);
    // The thread made no task: one parent and three children.
    let tasks: std::collections::BTreeSet<u32> = imported
        .ops
        .iter()
        .filter_map(|t| match t.op {
            Op::TaskCreate { task } | Op::Fork { child: task, .. } => Some(task.0),
            _ => None,
        })
        .collect();
    assert_eq!(tasks.len(), 4);
    // The shared anonymous mapping is shared with the children.
    assert!(imported.text.contains(r#""file":"/dev/zero (deleted) (shared memory 0:1 inode "#));
    assert!(imported.text.contains(r#""inherit":"share""#));
    let (_, report) = replay(PolicyKind::GnuMach, &imported.ops);
    assert_eq!(report.faults.segv + report.faults.protection, 0);
}

/// The target: the share of a capture's recorded faults that `linux` must
/// fault on with the same class.
const FIDELITY_TARGET: f64 = 0.95;

/// Measured agreement with the real kernel, per perf fixture: the faults
/// it recorded, how many `linux` agrees on, and how many `linux` with a warm
/// page cache agrees on and holds a page for (a hit) where Linux faulted.
struct Agreement {
    fixture: &'static str,
    recorded: u64,
    linux: u64,
    warm: u64,
    warm_not_faulted: u64,
}

const AGREEMENT: [Agreement; 7] = [
    Agreement { fixture: "shell-pipeline.perf.txt.gz", recorded: 299, linux: 294, warm: 298, warm_not_faulted: 1 },
    Agreement { fixture: "forkwrite.perf.txt.gz", recorded: 188, linux: 186, warm: 188, warm_not_faulted: 0 },
    Agreement { fixture: "python.perf.txt.gz", recorded: 4686, linux: 4421, warm: 4684, warm_not_faulted: 2 },
    Agreement { fixture: "gcc-compile.perf.txt.gz", recorded: 1677, linux: 1644, warm: 1672, warm_not_faulted: 4 },
    Agreement { fixture: "vfork.perf.txt.gz", recorded: 216, linux: 215, warm: 216, warm_not_faulted: 0 },
    Agreement { fixture: "mremap.perf.txt.gz", recorded: 70, linux: 66, warm: 70, warm_not_faulted: 0 },
    // Its page cache was recorded: cold and warm follow the recording.
    Agreement { fixture: "cold-start.perf.txt.gz", recorded: 111, linux: 111, warm: 111, warm_not_faulted: 0 },
];

/// How often does `linux` fault where the real kernel did, with the same
/// class? Pinned per fixture. What `linux` misses is one
/// thing only: a first write to a page of a private file mapping that Linux
/// had mapped read-only by fault-around (so it recorded `present`) while
/// the simulator has no entry there (`not_present`), because the page was
/// in the real page cache before the capture began, and the simulator's
/// page cache (the file objects) starts empty. For python that is 265
/// writes, 261 of them to `python3.11`'s own data segment, and it leaves
/// python below the target (0.943). `linux` never holds a page Linux
/// faulted on.
///
/// The same captures under `linux` with a warm page cache (every file page
/// cached, `Config::page_cache(PageCache::Warm)`, which is how `cowsim
/// compare` runs imported captures) agree on all but 8 of 6850 faults, every
/// fixture above the target: what is left are 7 pages Linux did not map
/// around (not cached after all, or marked for readahead) but the warm
/// model did, so that the simulator hits where Linux faulted
/// (`not_faulted`), and one write that found no entry on Linux but a
/// read-only one in the simulator.
#[test]
fn fidelity_of_the_fixtures() {
    for want in &AGREEMENT {
        let name = want.fixture;
        let imported = import_fixture(name);
        let (_, report) = replay(PolicyKind::Linux, &imported.ops);
        let linux = report.fidelity.expect("perf fixtures carry recorded faults");
        assert_eq!((linux.recorded, linux.agreed), (want.recorded, want.linux), "{name} under linux");
        assert_eq!(linux.not_faulted, 0, "{name}: linux never holds a page Linux faulted on");
        // Cold, these two fall short by their first writes to libraries'
        // data pages, which Linux had mapped around earlier faults.
        if ["python.perf.txt.gz", "mremap.perf.txt.gz"].contains(&name) {
            assert!(linux.agreement < FIDELITY_TARGET, "{name} reaches the target cold now: update the docs");
        } else {
            assert!(linux.agreement >= FIDELITY_TARGET, "{name}: linux agrees on {:.3}", linux.agreement);
        }

        let warm = Sim::new(PolicyKind::Linux, Config::default().check_invariants(false).page_cache(PageCache::Warm));
        let (_, report) = replay_on(warm, &imported.ops);
        let warm = report.fidelity.expect("perf fixtures carry recorded faults");
        assert_eq!((warm.agreed, warm.not_faulted), (want.warm, want.warm_not_faulted), "{name} warm");
        assert!(warm.agreement >= FIDELITY_TARGET, "{name} warm: {:.3}", warm.agreement);
    }
}

/// The vfork fixture was recorded by `cowsim record`, so it carries the
/// pages every process had present at its exit. Pinned both ways: warm,
/// `linux` holds every page the kernel held (fault-around of cached file
/// pages included) and no other (the `[vdso]` page it once mapped around a
/// fault, and the `[vvar]` pages pagemap cannot see, are gone from the
/// comparison since special mappings stopped faulting around and `[vvar]`
/// was left out); cold, it lacks the file pages the
/// kernel mapped around its faults; a Mach design, which maps one page per
/// fault, lacks them warm too.
#[test]
fn the_pages_present_at_exit_are_scored_both_ways() {
    let imported = import_fixture("vfork.perf.txt.gz");
    let residency = |sim: Sim| {
        let e = replay_on(sim, &imported.ops).1.exit_residency.expect("recorded by cowsim record");
        (e.both, e.kernel_only, e.simulator_only)
    };
    let config = || Config::default().check_invariants(false);
    assert_eq!(residency(Sim::new(PolicyKind::Linux, config().page_cache(PageCache::Warm))), (947, 0, 0));
    assert_eq!(residency(Sim::new(PolicyKind::Linux, config())), (208, 739, 0));
    let (both, kernel_only, _) = residency(Sim::new(PolicyKind::GnuMach, config().page_cache(PageCache::Warm)));
    assert!(both < 300 && kernel_only > 600, "gnumach: {both} both, {kernel_only} kernel only");
}

/// The mremap fixture moves a written anonymous mapping, a private file
/// mapping and a shared one, and reads them at their new place: Linux took
/// no fault there (it moved the page-table entries), so only the pages
/// present at exit can show whether the moves were modelled. Warm `linux`
/// holds every page the kernel held, and no other.
#[test]
fn moved_pages_are_present_at_exit() {
    let imported = import_fixture("mremap.perf.txt.gz");
    let moves = imported.ops.iter().filter(|t| matches!(t.op, Op::VmMove { .. })).count();
    assert_eq!(moves, 3);
    let warm = Sim::new(PolicyKind::Linux, Config::default().check_invariants(false).page_cache(PageCache::Warm));
    let e = replay_on(warm, &imported.ops).1.exit_residency.expect("recorded by cowsim record");
    assert_eq!((e.both, e.kernel_only, e.simulator_only), (292, 0, 0));
}

/// The cold-start fixture ran right after the page cache was dropped, and
/// `cowsim record` noted what each file had cached before the program
/// touched it (`page_cache`, and the first `file_read`). With that,
/// `linux` agrees with the kernel on every fault and every page present at
/// exit, whatever `--page-cache` says. Without it, both guesses are wrong:
/// warm maps pages Linux had not read yet (one hit where Linux faulted,
/// five pages Linux never mapped), cold lacks most file pages at exit.
#[test]
fn the_recorded_page_cache_decides_fault_around() {
    let imported = import_fixture("cold-start.perf.txt.gz");
    let described = imported.ops.iter().filter(|t| matches!(t.op, Op::PageCache { .. })).count();
    let reads = imported.ops.iter().filter(|t| matches!(t.op, Op::FileRead { .. })).count();
    assert!(described >= 5 && reads >= 3, "{described} page_cache, {reads} file_read");
    let guessed: Vec<TraceOp> =
        imported.ops.iter().filter(|t| !matches!(t.op, Op::PageCache { .. } | Op::FileRead { .. })).cloned().collect();
    let both_ways = |cache: PageCache, ops: &[TraceOp]| {
        let sim = Sim::new(PolicyKind::Linux, Config::default().check_invariants(true).page_cache(cache));
        let report = replay_on(sim, ops).1;
        let (f, e) = (report.fidelity.expect("faults"), report.exit_residency.expect("residency"));
        (f.agreed, f.not_faulted, e.both, e.kernel_only, e.simulator_only)
    };
    for cache in [PageCache::Cold, PageCache::Warm] {
        assert_eq!(both_ways(cache, &imported.ops), (111, 0, 624, 0, 0), "{cache:?}, recorded");
    }
    assert_eq!(both_ways(PageCache::Warm, &guessed), (110, 1, 624, 0, 5), "warm guess");
    assert_eq!(both_ways(PageCache::Cold, &guessed), (106, 0, 104, 520, 0), "cold guess");
}

/// The recorder's page cache lines (see `import/perf/exits.rs`): a file's
/// first description and the read that first touched it go just before
/// its first mapping, by the mapping task; what an exec found later goes
/// at that exec, for files described by then (a file not yet mapped keeps
/// the state before its first touch).
#[test]
fn page_cache_lines_become_page_cache_ops() {
    let mut text = [
        "# cowsim tracer 50",
        "# cowsim pagecache read:0+832 16384 8388608 2097152 - /lib/libx.so",
        "# cowsim pagecache map 8192 8388608 4096 0+1 /data/later",
        "# cowsim exec 100",
        "# cowsim exec 100",
        "# cowsim pagecache-now 16384 0+2 /lib/libx.so",
        "# cowsim pagecache-now 8192 0+2 /data/later",
    ]
    .join("\n")
        + "\n";
    text += &line(100, 1, "PERF_RECORD_COMM exec: prog:100/100");
    text += &line(100, 2, &mmap(100, 100, 0x40_0000, 0x4000, "r--p", "/lib/libx.so"));
    text += &line(100, 3, &fault(0x40_0000, 0x4));
    text += &line(100, 4, "PERF_RECORD_COMM exec: prog2:100/100");
    text += &line(100, 5, &mmap(100, 100, 0x50_0000, 0x2000, "r--p", "/data/later"));
    let ops: Vec<String> = import_perf_text(&text).unwrap().ops.iter().map(compact).collect();
    let page_cache_ops: Vec<&String> =
        ops.iter().filter(|op| op.starts_with("PageCache") || op.starts_with("FileRead")).collect();
    assert_eq!(
        page_cache_ops,
        [
            r#"PageCache { file: "/lib/libx.so", size: 16384, cached: [], read_ahead: 8388608, largest_folio: 2097152 }"#,
            r#"FileRead { task: Some(task#100), file: "/lib/libx.so", offset: 0, len: 832 }"#,
            r#"PageCache { file: "/lib/libx.so", size: 16384, cached: [(0, 2)], read_ahead: 8388608, largest_folio: 2097152 }"#,
            r#"PageCache { file: "/data/later", size: 8192, cached: [(0, 1)], read_ahead: 8388608, largest_folio: 4096 }"#,
        ],
        "{ops:?}"
    );
    let at =
        |prefix: &str| ops.iter().position(|op| op.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}: {ops:?}"));
    assert!(at("FileRead") < at("vm_map 100 0x400000"), "{ops:?}");
    assert!(at("exec 100") < ops.iter().rposition(|op| op.contains("cached: [(0, 2)]")).unwrap(), "{ops:?}");
}

// ---------------------------------------------------------------------------
// The perf importer's rules, on hand-written captures
// ---------------------------------------------------------------------------

/// A capture line of thread `tid` at `time` microseconds.
fn line(tid: u32, micros: u64, event: &str) -> String {
    format!("            prog {tid:>5} [000] {}.{:06}: {event}\n", micros / 1_000_000, micros % 1_000_000)
}

fn mmap(pid: u32, tid: u32, start: u64, len: u64, flags: &str, path: &str) -> String {
    format!("PERF_RECORD_MMAP2 {pid}/{tid}: [{start:#x}({len:#x}) @ 0 00:00 0 0]: {flags} {path}")
}

fn fault(address: u64, code: u64) -> String {
    format!("exceptions:page_fault_user: address={address:#x} ip=0x401000 error_code={code:#x}")
}

/// Lines and ops in compact form: `name task addr` for what the tests check.
fn ops_of(text: &str) -> Vec<String> {
    import_perf_text(text).unwrap_or_else(|e| panic!("{e}")).ops.iter().map(compact).collect()
}

fn compact(t: &TraceOp) -> String {
    match &t.op {
        Op::TaskCreate { task } | Op::Exec { task } | Op::Exit { task } => format!("{} {}", t.op.name(), task.0),
        Op::Fork { parent, child } => format!("fork {} {}", parent.0, child.0),
        Op::VmAllocate { task, addr, size, .. } => format!("vm_allocate {} {:#x} {size:#x}", task.0, addr.unwrap_or(0)),
        Op::VmDeallocate { task, addr, size } => format!("vm_deallocate {} {addr:#x} {size:#x}", task.0),
        Op::VmProtect { task, addr, size, prot, .. } => format!("vm_protect {} {addr:#x} {size:#x} {prot}", task.0),
        Op::VmInherit { task, addr, size, inherit } => {
            format!("vm_inherit {} {addr:#x} {size:#x} {}", task.0, inherit.name())
        }
        Op::VmMap { task, addr, size, file, private, prot, .. } => {
            format!(
                "vm_map {} {:#x} {size:#x} {file} {} {prot}",
                task.0,
                addr.unwrap_or(0),
                if *private { "p" } else { "s" }
            )
        }
        Op::VmCopy { task, src, size, dst } => format!("vm_copy {} {src:#x} {size:#x} {dst:#x}", task.0),
        Op::VmMove { task, src, size, dst } => format!("vm_move {} {src:#x} {size:#x} {dst:#x}", task.0),
        Op::Access(a) => {
            let expect = t.expect.map_or(String::new(), |e| format!(" {e}"));
            let recorded = a.recorded.map_or("", |r| r.name());
            format!("{} {} {:#x} {recorded}{expect}", t.op.name(), a.task.0, a.addr)
        }
        Op::Mark { label } => format!("mark {label}"),
        other => format!("{other:?}"),
    }
}

/// The opening every hand-written capture shares: process 100 execs and
/// maps a stack and a data page.
fn exec_100() -> String {
    [
        line(100, 1, "PERF_RECORD_COMM exec: prog:100/100"),
        line(100, 2, &mmap(100, 100, 0x7ff0_0000_0000, 0x21000, "rw-p", "[stack]")),
        line(100, 3, &mmap(100, 100, 0x40_0000, 0x4000, "rw-p", "//anon")),
    ]
    .concat()
}

/// Are a fault's access kind and class read from the x86 error code, on
/// the page of the fault address?
#[test]
fn faults_become_accesses_by_error_code() {
    let text = exec_100()
        + &line(100, 10, &fault(0x40_0123, 0x6))
        + &line(100, 11, &fault(0x40_1123, 0x4))
        + &line(100, 12, &fault(0x40_2000, 0x7))
        + &line(
            100,
            13,
            &format!("exceptions:page_fault_kernel: address={:#x} ip=_copy_to_user error_code=0x2", 0x40_3008),
        );
    let ops = ops_of(&text);
    assert_eq!(
        ops[ops.len() - 4..],
        [
            "write 100 0x400000 not_present",
            "read 100 0x401000 not_present",
            "write 100 0x402000 present",
            "write 100 0x403000 not_present"
        ]
    );
    let text = exec_100() + &line(100, 10, &fault(0x40_0000, 0x14)) + &line(100, 11, &fault(0x40_0000, 0x15));
    // The data page is not executable: the program would get a segfault.
    let ops = ops_of(&text);
    assert_eq!(
        ops[ops.len() - 2..],
        [
            "exec_fetch 100 0x400000 not_present KERN_PROTECTION_FAILURE",
            "exec_fetch 100 0x400000 present KERN_PROTECTION_FAILURE"
        ]
    );
}

/// Is a fork whose child has the parent's pid a thread (no task), are the
/// thread's faults its process's, and does the process exit with its last
/// thread?
#[test]
fn threads_share_their_process() {
    let text = exec_100()
        + &line(100, 10, "PERF_RECORD_FORK(100:101):(100:100)")
        + &line(101, 11, &fault(0x40_0000, 0x6))
        + &line(100, 12, "PERF_RECORD_EXIT(100:100):(1:1)")
        + &line(101, 13, &fault(0x40_1000, 0x6))
        + &line(101, 14, "PERF_RECORD_EXIT(100:101):(1:1)");
    let ops = ops_of(&text);
    assert_eq!(ops[ops.len() - 3..], ["write 100 0x400000 not_present", "write 100 0x401000 not_present", "exit 100"]);
    assert_eq!(ops.iter().filter(|o| o.starts_with("task_create")).count(), 1);
}

/// Does a process fork give the child the parent's map, and exec and exit
/// do what they say?
#[test]
fn fork_exec_exit() {
    let text = exec_100()
        + &line(100, 10, "PERF_RECORD_FORK(200:200):(100:100)")
        + &line(200, 11, &fault(0x40_0000, 0x7))
        + &line(200, 12, "PERF_RECORD_COMM exec: other:200/200")
        + &line(200, 13, &fault(0x40_0000, 0x6))
        + &line(200, 14, "PERF_RECORD_EXIT(200:200):(100:100)");
    let ops = ops_of(&text);
    assert_eq!(
        ops[ops.len() - 6..],
        [
            "fork 100 200",
            "write 200 0x400000 present",
            "exec 200",
            "mark 200 exec other",
            // After exec the child's map is empty and known to be: a segfault.
            "write 200 0x400000 not_present KERN_INVALID_ADDRESS",
            "exit 200"
        ]
    );
}

/// A vfork (`task:task_newtask` with `CLONE_VM`): the child runs in its
/// parent's memory until exec, so its accesses are the parent's, and the
/// parent's pages are never made copy-on-write.
fn vfork_of_100(clone_flags: Option<&str>) -> String {
    let newtask = clone_flags.map(|flags| {
        line(100, 21, &format!("task:task_newtask: pid=101 comm=prog clone_flags={flags} oom_score_adj=0"))
    });
    exec_100()
        + &(0..4).map(|page| line(100, 10 + page, &fault(0x40_0000 + page * 0x1000, 0x6))).collect::<String>()
        + &line(100, 20, "PERF_RECORD_FORK(101:101):(100:100)")
        + &newtask.unwrap_or_default()
        + &line(101, 22, &fault(0x7ff0_0002_0000, 0x7))
        + &line(101, 23, "PERF_RECORD_COMM exec: true:101/101")
        + &line(101, 24, "PERF_RECORD_EXIT(101:101):(100:100)")
}

#[test]
fn a_vfork_child_shares_its_parents_memory_until_exec() {
    let ops = ops_of(&vfork_of_100(Some("4100")));
    assert_eq!(
        ops[ops.len() - 5..],
        [
            "write 100 0x403000 not_present",
            // No fork: the child's stack write is a write to the parent's stack.
            "write 100 0x7ff000020000 present",
            "task_create 101",
            "mark 101 exec true",
            "exit 101"
        ]
    );
    // The real capture: a vfork and a posix_spawn, neither a fork.
    let imported = import_fixture("vfork.perf.txt.gz");
    let counts = op_counts(&imported.ops);
    // The parent is first seen at its exec; each child gets its task at its own.
    assert_eq!(
        (counts.get("fork"), counts.get("task_create"), counts.get("exec")),
        (None, Some(&3), None),
        "{counts:?}"
    );
    let note = "note: 2 children sharing their parent's memory until exec or exit (vfork, posix_spawn, CLONE_VM)";
    assert!(imported.summary.report_lines().iter().any(|l| l == note), "{:?}", imported.summary.report_lines());
    // Without the flags (an older capture) it is a fork, as it always was;
    // with the flags of a plain fork, too.
    for flags in [None, Some("1200011")] {
        let ops = ops_of(&vfork_of_100(flags));
        assert!(ops.contains(&"fork 100 101".to_owned()), "{flags:?}: {ops:?}");
        assert!(ops.contains(&"write 101 0x7ff000020000 present".to_owned()), "{flags:?}: {ops:?}");
    }
}

/// A vfork child that exits without exec leaves its memory (the parent's)
/// and the tracer's snapshot of it behind: the snapshot is not given to a
/// later process that gets the same id.
#[test]
fn a_vfork_childs_exit_snapshot_is_not_reused() {
    let text = "# cowsim exit 101\n# cowsim resident 101 0x400000 4 0+4\n".to_owned()
        + &exec_100()
        + &line(100, 20, "PERF_RECORD_FORK(101:101):(100:100)")
        + &line(100, 21, "task:task_newtask: pid=101 comm=prog clone_flags=4100 oom_score_adj=0")
        + &line(101, 22, "PERF_RECORD_EXIT(101:101):(100:100)")
        + &line(100, 23, "PERF_RECORD_FORK(101:101):(100:100)")
        + &line(100, 24, "task:task_newtask: pid=101 comm=prog clone_flags=1200011 oom_score_adj=0")
        + &line(101, 25, "PERF_RECORD_EXIT(101:101):(100:100)");
    let ops = ops_of(&text);
    assert!(!ops.iter().any(|op| op.starts_with("Resident")), "{ops:?}");
    assert_eq!(ops[ops.len() - 2..], ["fork 100 101", "exit 101"]);
}

/// What the vfork changes in the simulator: the parent writes its pages
/// again after the child is gone. The kernel takes no fault (it never
/// write-protected them); replayed as a fork, `linux` took one a page.
#[test]
fn after_a_vfork_the_parent_writes_without_faults() {
    let rewrite = |task| TraceOp {
        op: Op::Access(sim::op::AccessOp {
            task,
            access: sim::types::Access::Write,
            addr: 0x40_0000,
            len: 0x4000,
            value: None,
            expect_value: None,
            recorded: None,
        }),
        expect: None,
    };
    let faults_of_rewrite = |flags: Option<&str>| {
        let mut ops = import_perf_text(&vfork_of_100(flags)).unwrap().ops;
        let before = replay(PolicyKind::Linux, &ops).1.faults.total;
        ops.push(rewrite(TaskId(100)));
        replay(PolicyKind::Linux, &ops).1.faults.total - before
    };
    assert_eq!(faults_of_rewrite(Some("4100")), 0);
    assert_eq!(faults_of_rewrite(None), 4);
}

/// The kernel writes the arguments and environment at the top of a new
/// stack at exec, with no fault: those pages (the `[stack]` mapping's size
/// beyond the 128 KiB `setup_arg_pages` adds) are written at once, so a
/// copy-on-write fault on one after a fork finds the page, as in Linux.
#[test]
fn the_stack_pages_written_at_exec_are_present() {
    // 0x22000: 128 KiB and two pages of arguments.
    let text = line(100, 1, "PERF_RECORD_COMM exec: prog:100/100")
        + &line(100, 2, &mmap(100, 100, 0x7ff0_0000_0000, 0x22000, "rw-p", "[stack]"))
        + &line(100, 3, "PERF_RECORD_FORK(101:101):(100:100)")
        + &line(100, 4, &fault(0x7ff0_0002_1008, 0x7));
    let imported = import_perf_text(&text).unwrap();
    let ops: Vec<String> = imported.ops.iter().map(compact).collect();
    assert_eq!(ops[ops.len() - 3..], ["write 100 0x7ff000020000 ", "fork 100 101", "write 100 0x7ff000021000 present"]);
    let Op::Access(filled) = &imported.ops[imported.ops.len() - 3].op else { panic!("{ops:?}") };
    assert_eq!((filled.len, filled.recorded), (0x2000, None));
    let (_, report) = replay(PolicyKind::Linux, &imported.ops);
    let fidelity = report.fidelity.unwrap();
    assert_eq!((fidelity.recorded, fidelity.agreed), (1, 1));
    // A stack of exactly 128 KiB (no arguments seen), or a second [stack]
    // record (mprotect, growth), writes nothing.
    let text = line(100, 1, "PERF_RECORD_COMM exec: prog:100/100")
        + &line(100, 2, &mmap(100, 100, 0x7ff0_0000_0000, 0x20000, "rw-p", "[stack]"))
        + &line(100, 3, &mmap(100, 100, 0x7fe0_0000_0000, 0x22000, "rw-p", "[stack]"));
    assert!(!ops_of(&text).iter().any(|op| op.starts_with("write")), "{:?}", ops_of(&text));
}

/// A capture from `cowsim record` opens with the pages each process had
/// present at its exit (see `import/perf/exits.rs`): they become
/// `resident` ops just before the process's `exit`, and the tracer's own
/// events (and its child's, until the program's exec) are left out.
#[test]
fn residency_at_exit_is_written_before_the_exit() {
    let text = "# cowsim tracer 50\n# cowsim exit 100\n# cowsim resident 100 0x400000 4 0+2,3+1\n".to_owned()
        + &line(50, 1, "PERF_RECORD_COMM exec: cowsim:50/50")
        + &line(50, 2, &mmap(50, 50, 0x10_0000, 0x1000, "rw-p", "//anon"))
        + &line(50, 3, &fault(0x10_0000, 0x6))
        + &line(50, 4, "PERF_RECORD_FORK(100:100):(50:50)")
        + &line(100, 5, &fault(0x10_0000, 0x6))
        + &exec_100().replace("0.000001", "0.000006").replace("0.000002", "0.000007").replace("0.000003", "0.000008")
        + &line(100, 10, &fault(0x40_0000, 0x6))
        + &line(100, 11, &fault(0x40_1000, 0x6))
        + &line(100, 12, "PERF_RECORD_EXIT(100:100):(50:50)");
    let imported = import_perf_text(&text).unwrap();
    let ops: Vec<String> = imported.ops.iter().map(compact).collect();
    assert!(!ops.iter().any(|op| op.contains(" 50 ")), "the tracer is left out: {ops:?}");
    assert_eq!(ops[0], "task_create 100", "{ops:?}");
    assert_eq!(
        ops[ops.len() - 2..],
        ["Resident { task: task#100, addr: 4194304, size: 16384, present: [(0, 2), (3, 1)] }", "exit 100"]
    );
    assert!(
        imported.text.contains(r#"{"op":"resident","task":100,"addr":"0x400000","size":"16K","present":"0+2,3+1""#),
        "{}",
        imported.text
    );

    // The simulator has pages 0 and 1 (written); the kernel had 0, 1 and 3.
    let (_, report) = replay(PolicyKind::Linux, &imported.ops);
    let residency = report.exit_residency.expect("the trace carried resident ops");
    assert_eq!((residency.both, residency.kernel_only, residency.simulator_only), (2, 1, 0));
    let per_task: Vec<(u32, u64, u64, u64)> =
        residency.tasks.iter().map(|t| (t.task, t.both, t.kernel_only, t.simulator_only)).collect();
    assert_eq!(per_task, [(100, 2, 1, 0)]);
    assert!((residency.agreement - 2.0 / 3.0).abs() < 1e-9);
    // A trace without them has no such section.
    assert!(replay(PolicyKind::Linux, &import_perf_text(&exec_100()).unwrap().ops).1.exit_residency.is_none());
}

/// Does an mprotect apply at its successful exit, the MMAP2 perf prints for
/// it being ignored, and a failed one change nothing?
#[test]
fn mprotect_applies_at_a_successful_exit() {
    let text = exec_100()
        + &line(100, 10, "syscalls:sys_enter_mprotect: start: 0x00401000, len: 0x00002000, prot: 0x00000001")
        + &line(100, 11, &mmap(100, 100, 0x40_1000, 0x2000, "r--p", "//anon"))
        + &line(100, 12, "syscalls:sys_exit_mprotect: 0x0")
        + &line(100, 13, "syscalls:sys_enter_mprotect: start: 0x00400000, len: 0x00001000, prot: 0x00000000")
        + &line(100, 14, "syscalls:sys_exit_mprotect: 0xfffffffffffffff4");
    let imported = import_perf_text(&text).unwrap();
    let ops: Vec<String> = imported.ops.iter().map(compact).collect();
    assert_eq!(ops.last().map(String::as_str), Some("vm_protect 100 0x401000 0x2000 r"));
    assert_eq!(imported.summary.ignored.get("PERF_RECORD_MMAP2 describing an mprotect (applied at its exit)"), 1);
    assert_eq!(imported.summary.ignored.get("memory syscalls that failed (no effect)"), 1);
}

/// Is an munmap over holes split into one vm_deallocate per mapped stretch
/// (the simulator, like the Mach manual, refuses holes)?
#[test]
fn munmap_skips_holes() {
    let text = exec_100()
        + &line(100, 5, &mmap(100, 100, 0x40_6000, 0x2000, "r--p", "/lib/x.so"))
        + &line(100, 10, "syscalls:sys_enter_munmap: addr: 0x00400000, len: 0x00010000")
        + &line(100, 11, "syscalls:sys_exit_munmap: 0x0");
    let ops = ops_of(&text);
    assert_eq!(ops[ops.len() - 2..], ["vm_deallocate 100 0x400000 0x4000", "vm_deallocate 100 0x406000 0x2000"]);
}

/// Does brk grow the heap by the MMAP2 inside the call (or the returned
/// value alone) and shrink it by the returned value?
#[test]
fn brk_grows_and_shrinks_the_heap() {
    let text = exec_100()
        + &line(100, 10, "syscalls:sys_enter_brk: brk: 0x00000000")
        + &line(100, 11, "syscalls:sys_exit_brk: 0x600000")
        + &line(100, 12, "syscalls:sys_enter_brk: brk: 0x00621000")
        + &line(100, 13, &mmap(100, 100, 0x60_0000, 0x21000, "rw-p", "//anon"))
        + &line(100, 14, "syscalls:sys_exit_brk: 0x621000")
        + &line(100, 15, "syscalls:sys_enter_brk: brk: 0x00625000")
        + &line(100, 16, "syscalls:sys_exit_brk: 0x625000")
        + &line(100, 17, "syscalls:sys_enter_brk: brk: 0x00610800")
        + &line(100, 18, "syscalls:sys_exit_brk: 0x610800");
    let ops = ops_of(&text);
    assert_eq!(
        ops[ops.len() - 3..],
        ["vm_allocate 100 0x600000 0x21000", "vm_allocate 100 0x621000 0x4000", "vm_deallocate 100 0x611000 0x14000"]
    );
}

/// Does mremap shrink, grow in place, and move (the mapping goes with its
/// pages: one `vm_move`, then the growth at the new place)?
#[test]
fn mremap_moves_with_its_contents() {
    let enter = |addr: u64, old: u64, new: u64, flags: u64| {
        format!(
            "syscalls:sys_enter_mremap: addr: {addr:#x}, old_len: {old:#x}, new_len: {new:#x}, flags: {flags:#010x}, new_addr: 0x00000000"
        )
    };
    let text = exec_100()
        + &line(100, 10, &enter(0x40_0000, 0x4000, 0x2000, 1))
        + &line(100, 11, "syscalls:sys_exit_mremap: 0x400000")
        + &line(100, 12, &enter(0x40_0000, 0x2000, 0x3000, 1))
        + &line(100, 13, "syscalls:sys_exit_mremap: 0x400000")
        + &line(100, 14, &enter(0x40_0000, 0x3000, 0x5000, 1))
        + &line(100, 15, "syscalls:sys_exit_mremap: 0x7000000");
    let imported = import_perf_text(&text).unwrap();
    let ops: Vec<String> = imported.ops.iter().map(compact).collect();
    assert_eq!(
        ops[ops.len() - 4..],
        [
            "vm_deallocate 100 0x402000 0x2000",
            "vm_allocate 100 0x402000 0x1000",
            "vm_move 100 0x400000 0x3000 0x7000000",
            "vm_allocate 100 0x7003000 0x2000",
        ]
    );
    assert_eq!(imported.summary.notes.total(), 1, "only the exec's stack page: {:?}", imported.summary.notes);

    // Written pages keep their data at the new place, and under linux
    // (which moves its page-table entries) are read there without a fault.
    let written = exec_100()
        + &line(100, 10, &fault(0x40_0000, 0x6))
        + &line(100, 11, &enter(0x40_0000, 0x4000, 0x4000, 1))
        + &line(100, 12, "syscalls:sys_exit_mremap: 0x7000000");
    let mut ops = import_perf_text(&written).unwrap().ops;
    let before = replay(PolicyKind::Linux, &ops).1.faults.total;
    ops.push(TraceOp {
        op: Op::Access(sim::op::AccessOp {
            task: TaskId(100),
            access: sim::types::Access::Read,
            addr: 0x700_0000,
            len: 0x1000,
            value: None,
            expect_value: None,
            recorded: None,
        }),
        expect: None,
    });
    assert_eq!(replay(PolicyKind::Linux, &ops).1.faults.total, before);

    // MREMAP_DONTUNMAP (flag 4): the old range stays, emptied.
    let kept = exec_100()
        + &line(100, 10, &enter(0x40_0000, 0x4000, 0x4000, 1 | 2 | 4))
        + &line(100, 11, "syscalls:sys_exit_mremap: 0x7000000");
    let ops = ops_of(&kept);
    assert_eq!(ops[ops.len() - 2..], ["vm_move 100 0x400000 0x4000 0x7000000", "vm_allocate 100 0x400000 0x4000"]);
}

/// Does madvise(MADV_DONTNEED) renew private memory, and DONTFORK keep a
/// range out of children?
#[test]
fn madvise_dontneed_and_dontfork() {
    let text = exec_100()
        + &line(100, 10, "syscalls:sys_enter_madvise: start: 0x00401000, len_in: 0x00001000, behavior: 0x00000004")
        + &line(100, 11, "syscalls:sys_enter_madvise: start: 0x00402000, len_in: 0x00002000, behavior: 0x0000000a")
        + &line(100, 12, "syscalls:sys_enter_madvise: start: 0x00400000, len_in: 0x00001000, behavior: 0x00000008");
    let imported = import_perf_text(&text).unwrap();
    let ops: Vec<String> = imported.ops.iter().map(compact).collect();
    assert_eq!(
        ops[ops.len() - 3..],
        ["vm_deallocate 100 0x401000 0x1000", "vm_allocate 100 0x401000 0x1000", "vm_inherit 100 0x402000 0x2000 none"]
    );
    let not_followed = "madvise(MADV_FREE) (not followed: whether pages go depends on memory pressure)";
    assert_eq!(imported.summary.notes.get(not_followed), 1, "{:?}", imported.summary.notes);
}

/// Do file mappings map files (shared ones shared with children), does a
/// new mapping replace what it covers (MAP_FIXED), are special mappings
/// files of their own, and is a writable page readable (x86)?
#[test]
fn mappings() {
    let text = exec_100()
        + &line(
            100,
            10,
            "PERF_RECORD_MMAP2 100/100: [0x7f0000000000(0x3000) @ 0x1000 fe:00 42 0]: r-xp /lib/libc.so.6",
        )
        + &line(
            100,
            11,
            "PERF_RECORD_MMAP2 100/100: [0x7f0000001000(0x1000) @ 0 00:01 24 7]: rw-s /dev/zero (deleted)",
        )
        + &line(100, 12, &mmap(100, 100, 0x7f00_0001_0000, 0x1000, "-w-p", "//anon"))
        + &line(100, 13, &mmap(100, 100, 0x7f00_0002_0000, 0x2000, "r-xp", "[vdso]"));
    let ops = ops_of(&text);
    assert_eq!(
        ops[ops.len() - 6..],
        [
            "vm_map 100 0x7f0000000000 0x3000 /lib/libc.so.6 p rx",
            "vm_deallocate 100 0x7f0000001000 0x1000",
            "vm_map 100 0x7f0000001000 0x1000 /dev/zero (deleted) (shared memory 0:1 inode 24) s rw",
            "vm_inherit 100 0x7f0000001000 0x1000 share",
            "vm_allocate 100 0x7f0000010000 0x1000",
            "vm_map 100 0x7f0000020000 0x2000 [vdso] p rx",
        ]
    );
}

/// Linux merges a new mapping with compatible neighbours and perf reports
/// the merged VMA: are the neighbours kept (their pages too), and is a
/// range wholly covered by compatible regions a MAP_FIXED replacement?
#[test]
fn merged_neighbours_are_kept() {
    let file = |start: u64, len: u64, offset: u64, flags: &str| {
        format!("PERF_RECORD_MMAP2 100/100: [{start:#x}({len:#x}) @ {offset:#x} fe:00 42 0]: {flags} /lib/libx.so")
    };
    let text = exec_100()
        // Below the data pages, merged with them.
        + &line(100, 10, &mmap(100, 100, 0x3f_e000, 0x6000, "rw-p", "//anon"))
        // Over all of them: MAP_FIXED, everything new.
        + &line(100, 11, &mmap(100, 100, 0x40_0000, 0x4000, "rw-p", "//anon"))
        // A file, then the same file at the next offset right after it.
        + &line(100, 12, &file(0x50_0000, 0x2000, 0x1000, "r--p"))
        + &line(100, 13, &file(0x50_0000, 0x3000, 0x1000, "r--p"))
        // The same file at another offset is not a neighbour: replaced.
        + &line(100, 14, &file(0x50_0000, 0x3000, 0x5000, "r--p"));
    let ops = ops_of(&text);
    assert_eq!(
        ops[ops.len() - 7..],
        [
            "vm_allocate 100 0x3fe000 0x2000",
            "vm_deallocate 100 0x400000 0x4000",
            "vm_allocate 100 0x400000 0x4000",
            "vm_map 100 0x500000 0x2000 /lib/libx.so p r",
            "vm_map 100 0x502000 0x1000 /lib/libx.so p r",
            "vm_deallocate 100 0x500000 0x3000",
            "vm_map 100 0x500000 0x3000 /lib/libx.so p r",
        ]
    );
}

/// A process first seen in the middle of its life: is it created on first
/// sight, and does a fault on memory it mapped before the capture get a
/// one-page region, widened when a later fault needs more?
#[test]
fn memory_from_before_the_capture_is_guessed() {
    let text = line(300, 10, &fault(0x50_0000, 0x4))
        + &line(300, 11, &fault(0x50_0000, 0x7))
        + &line(300, 12, &fault(0x50_0000, 0x15));
    let imported = import_perf_text(&text).unwrap();
    let ops: Vec<String> = imported.ops.iter().map(compact).collect();
    assert_eq!(
        ops,
        [
            "task_create 300",
            "vm_allocate 300 0x500000 0x1000",
            "read 300 0x500000 not_present",
            "write 300 0x500000 present",
            "vm_protect 300 0x500000 0x1000 rwx",
            "exec_fetch 300 0x500000 present"
        ]
    );
    assert_eq!(imported.summary.expected_failures, 0);
}

/// Does the stack grow down on a fault below it, and only within Linux's
/// limits (not into the guard gap above another mapping)?
#[test]
fn the_stack_grows_down() {
    let stack = 0x7ff0_0000_0000u64;
    let text = exec_100()
        + &line(100, 10, &fault(stack - 0x2ff8, 0x6))
        + &line(100, 11, &mmap(100, 100, stack - 0x200_0000, 0x1000, "rw-p", "//anon"))
        + &line(100, 12, &fault(stack - 0x1f0_0000, 0x6));
    let ops = ops_of(&text);
    assert_eq!(
        ops[ops.len() - 4..],
        [
            format!("vm_allocate 100 {:#x} 0x3000", stack - 0x3000),
            format!("write 100 {:#x} not_present", stack - 0x3000),
            format!("vm_allocate 100 {:#x} 0x1000", stack - 0x200_0000),
            format!("write 100 {:#x} not_present KERN_INVALID_ADDRESS", stack - 0x1f0_0000),
        ]
    );
}

/// Are events put back in time order within the window, and is an event
/// too late for the window counted?
#[test]
fn out_of_order_events_are_repaired() {
    let text = exec_100() + &line(100, 20, &fault(0x40_1000, 0x6)) + &line(100, 10, &fault(0x40_0000, 0x6));
    let ops = ops_of(&text);
    assert_eq!(ops[ops.len() - 2..], ["write 100 0x400000 not_present", "write 100 0x401000 not_present"]);
    let text = exec_100()
        + &line(100, 20, &fault(0x40_1000, 0x6))
        + &line(100, 30, &fault(0x40_2000, 0x6))
        + &line(100, 10, &fault(0x40_0000, 0x6));
    let mut writer = TraceWriter::new(Vec::new());
    let summary =
        PerfImport { window: 1, ..PerfImport::default() }.run(text.as_bytes(), "t", &mut writer, "out").unwrap();
    assert_eq!(summary.notes.get("events later than the reordering window could repair (applied in input order)"), 1);
}

/// Are unknown kinds skipped and counted, and the summary worded as the
/// command line prints it?
#[test]
fn unknown_kinds_are_skipped_and_counted() {
    let text = exec_100()
        + "# a comment\n\n"
        + &line(100, 4, "sched:sched_switch: prev_comm=prog prev_pid=100")
        + &line(100, 5, "sched:sched_switch: prev_comm=prog prev_pid=100")
        + &line(100, 6, "ftrace:function: nothing we know");
    let imported = import_perf_text(&text).unwrap();
    let lines = imported.summary.report_lines();
    assert_eq!(lines[1], "skipped 3 lines: 2 sched:sched_switch, 1 ftrace:function");
    let footer: String = lines.iter().map(|l| format!("# import summary: {l}\n")).collect();
    assert!(imported.text.ends_with(&footer), "{}", imported.text);
}

/// `n` faults of thread 100, each on its own page of the anonymous mapping
/// of [`exec_100`], from time 10 µs on.
fn faults_of_100(n: u64) -> String {
    (0..n).map(|i| line(100, 10 + i, &fault(0x40_0000 + (i % 4) * 0x1000, 0x6))).collect()
}

/// Are the events perf lost counted, said in the summary, and a capture
/// that lost more than the limit refused with the way to fix it?
#[test]
fn lost_events_are_counted_and_too_many_refused() {
    // exec_100 is 3 events; with 96 faults and 1 lost that is 1 of 100.
    let text = exec_100() + &faults_of_100(96) + &line(100, 200, "PERF_RECORD_LOST lost 1");
    let imported = import_perf_text(&text).unwrap();
    assert_eq!((imported.summary.lost, imported.summary.recorded_or_lost), (1, 100));
    let lines = imported.summary.report_lines();
    assert_eq!(lines[1], "perf lost 1 of 100 events (1%): the trace has gaps where they were", "{lines:?}");
    assert!(imported.text.contains("# import summary: perf lost 1 of 100 events (1%)"), "{}", imported.text);

    // One more lost event is over the 1 % default.
    let text = exec_100() + &faults_of_100(96) + &line(100, 200, "PERF_RECORD_LOST lost 2");
    let error = import_perf_text(&text).err().expect("2 of 101 lost is over 1 %");
    assert!(matches!(error, ImportError::TooManyLost { lost: 2, total: 101, max_lost_ppm: 10_000, .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "capture.perf.txt: perf lost 2 of the capture's 101 events (1.9801%), more than the 1% allowed"
        ),
        "{message}"
    );
    assert!(message.contains("perf record -m") && message.contains("--max-lost"), "{message}");

    // A higher limit accepts it; a limit of 0 refuses any loss at all.
    let lenient = PerfImport { max_lost_ppm: 20_000, ..PerfImport::default() };
    assert!(import_with(|w| lenient.run(text.as_bytes(), "c", w, "out")).is_ok());
    let strict = PerfImport { max_lost_ppm: 0, ..PerfImport::default() };
    let one_lost = exec_100() + &line(100, 200, "PERF_RECORD_LOST lost 1");
    assert!(import_with(|w| strict.run(one_lost.as_bytes(), "c", w, "out")).is_err());
    assert!(import_with(|w| strict.run(exec_100().as_bytes(), "c", w, "out")).is_ok());
}

/// Does a malformed line of a known kind stop the import with its file,
/// line and column?
#[test]
fn malformed_lines_name_file_line_and_column() {
    let text = exec_100()
        + "            prog   100 [000] 0.000010: exceptions:page_fault_user: address=0x40zz00 error_code=0x6\n";
    let error = import_perf_text(&text).err().expect("a malformed fault line is an error").to_string();
    assert_eq!(error, "capture.perf.txt:4:80: unexpected 'z' after address in exceptions:page_fault_user");
    let error = import_perf_text("not perf output at all\n").err().unwrap().to_string();
    assert!(error.starts_with("capture.perf.txt:1:1: expected a perf script line"), "{error}");
}

// ---------------------------------------------------------------------------
// Fuzzing: garbage never panics
// ---------------------------------------------------------------------------

/// The lines of a fixture, to mangle.
fn fixture_lines(name: &str) -> Vec<String> {
    let (input, _) = open_input(&fixture(name)).unwrap();
    std::io::read_to_string(input).unwrap().lines().map(str::to_owned).collect()
}

/// One way to damage a line.
#[derive(Clone, Debug)]
enum Damage {
    Truncate(usize),
    Delete(usize),
    Insert(usize, char),
    Replace(usize, char),
    Duplicate,
}

fn damage() -> impl Strategy<Value = Damage> {
    let any_char = prop_oneof![
        Just('x'),
        Just(':'),
        Just('('),
        Just('['),
        Just(' '),
        Just('0'),
        Just('\t'),
        Just('é'),
        any::<char>()
    ];
    prop_oneof![
        any::<usize>().prop_map(Damage::Truncate),
        any::<usize>().prop_map(Damage::Delete),
        (any::<usize>(), any_char.clone()).prop_map(|(at, c)| Damage::Insert(at, c)),
        (any::<usize>(), any_char).prop_map(|(at, c)| Damage::Replace(at, c)),
        Just(Damage::Duplicate),
    ]
}

fn apply(line: &str, damage: &Damage) -> String {
    let chars: Vec<char> = line.chars().collect();
    let at = |i: usize| if chars.is_empty() { 0 } else { i % chars.len() };
    let mut out = chars.clone();
    match *damage {
        Damage::Truncate(i) => out.truncate(at(i)),
        Damage::Delete(i) => {
            if !out.is_empty() {
                out.remove(at(i));
            }
        }
        Damage::Insert(i, c) => out.insert(at(i), c),
        Damage::Replace(i, c) => {
            if !out.is_empty() {
                let i = at(i);
                out[i] = c;
            }
        }
        Damage::Duplicate => return format!("{line}\n{line}"),
    }
    out.into_iter().collect()
}

/// Replays whatever an import produced under two policies. However odd
/// the capture, the importer only writes ops its own picture of the address
/// spaces predicts, so every `expect` must still be met.
fn replay_leniently(ops: &[TraceOp]) -> Result<(), TestCaseError> {
    for policy in [PolicyKind::Eager, PolicyKind::GnuMach] {
        let mut sim = Sim::new(policy, Config::default().check_invariants(true));
        for (i, op) in ops.iter().enumerate() {
            if let Err(error) = sim.apply_traced(op) {
                return Err(TestCaseError::fail(format!("op {i} {op:?} under {policy}: {error}")));
            }
        }
    }
    Ok(())
}

/// Cases per fuzz test: 64, or `COWSIM_IMPORT_FUZZ_CASES`.
fn fuzz_cases() -> u32 {
    std::env::var("COWSIM_IMPORT_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), ..ProptestConfig::default() })]

    /// Random bytes: an error or a trace, never a panic.
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = import_with(|w| PerfImport::default().run(bytes.as_slice(), "fuzz", w, "out"));
        let _ = import_with(|w| LackeyImport.run(bytes.as_slice(), "fuzz", w, "out"));
    }

    /// A real capture with damaged lines: the import fails naming a line,
    /// or it succeeds and its trace replays as the importer predicted.
    #[test]
    fn mangled_captures_never_panic(damages in prop::collection::vec((any::<prop::sample::Index>(), damage()), 1..6)) {
        let mut lines = fixture_lines("forkwrite.perf.txt.gz");
        for (index, damage) in &damages {
            let i = index.index(lines.len());
            lines[i] = apply(&lines[i], damage);
        }
        let text = lines.join("\n");
        match import_perf_text(&text) {
            Ok(imported) => replay_leniently(&imported.ops)?,
            Err(error) => prop_assert!(error.to_string().starts_with("capture.perf.txt:"), "{}", error),
        }
    }

    /// A real capture with lines swapped far out of order (further than
    /// the window can repair, with a window of 8): never a panic, and the
    /// import still succeeds (every line is well formed).
    #[test]
    fn shuffled_captures_never_panic(swaps in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..20)) {
        let mut lines = fixture_lines("shell-pipeline.perf.txt.gz");
        for (a, b) in &swaps {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
        }
        let text = lines.join("\n");
        let imported = import_with(|w| PerfImport { window: 8, ..PerfImport::default() }.run(text.as_bytes(), "capture.perf.txt", w, "out"));
        let imported = imported.map_err(|e| TestCaseError::fail(e.to_string()))?;
        replay_leniently(&imported.ops)?;
    }

    /// Lackey lines with damage: never a panic.
    #[test]
    fn mangled_lackey_logs_never_panic(damages in prop::collection::vec(damage(), 1..8)) {
        let mut log = String::from("==1== header\nI  00401000,3\n L 1fff000770,8\n S 00402000,4\n M 00403ffe,4\n");
        let lines: Vec<String> = log.lines().map(str::to_owned).collect();
        for (i, damage) in damages.iter().enumerate() {
            log.push_str(&apply(&lines[i % lines.len()], damage));
            log.push('\n');
        }
        if let Ok(imported) = import_with(|w| LackeyImport.run(log.as_bytes(), "fuzz", w, "out")) {
            replay_leniently(&imported.ops)?;
        }
    }
}

// ---------------------------------------------------------------------------
// Hostile input: bounded memory, bounded messages, wrong files refused
// ---------------------------------------------------------------------------

/// The longest line an importer may write into a trace: summaries and
/// comments must stay far below the trace reader's 1 MiB limit.
const SHORT_LINE_BYTES: usize = 4096;

fn import_lackey_text(text: &str) -> Result<Imported, ImportError> {
    import_with(|w| LackeyImport.run(text.as_bytes(), "t.lackey", w, "out"))
}

fn error_of(result: Result<Imported, ImportError>) -> String {
    match result {
        Ok(imported) => panic!("expected an error, got a trace:\n{}", imported.text),
        Err(error) => error.to_string(),
    }
}

/// Every line of `text` is short.
fn assert_lines_short(what: &str, lines: impl IntoIterator<Item = impl AsRef<str>>) {
    for line in lines {
        let line = line.as_ref();
        assert!(line.len() <= SHORT_LINE_BYTES, "{what}: a line of {} bytes: {:.200}", line.len(), line);
    }
}

/// A capture naming 200 000 kinds the importer does not know: the import
/// succeeds, its summary (on stderr and in the trace) stays a few lines of
/// a few hundred bytes, and the trace reads back and replays.
#[test]
fn many_unknown_kinds_make_a_short_summary() {
    let mut text = exec_100();
    for i in 0..200_000u64 {
        text += &line(100, 10 + i, &format!("custom:event_{i}: value=1"));
    }
    let imported = import_perf_text(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imported.summary.skipped.total(), 200_000);
    assert_lines_short("trace", imported.text.lines());
    let report = imported.summary.report_lines();
    assert_lines_short("report", &report);
    assert!(report[1].starts_with("skipped 200000 lines: 1 custom:event_0, 1 custom:event_1, "), "{}", report[1]);
    assert!(report[1].ends_with("and at least 991 more kinds (199990 lines)"), "{}", report[1]);
    replay(PolicyKind::Eager, &imported.ops);
}

/// Does an error or a summary quote at most a short excerpt of a long
/// token, never the whole of it?
#[test]
fn long_input_is_quoted_as_an_excerpt() {
    let long = "x".repeat(500_000);
    let error = error_of(import_perf_text(&format!("prog {long} [000] 1.0: PERF_RECORD_EXIT(1:1):(0:0)\n")));
    assert!(error.len() < 300, "{:.300}", error);
    assert!(error.contains("\"xxxxxxxx") && error.contains("…\""), "{error}");

    let text = exec_100() + &line(100, 5, &format!("{long}: value=1"));
    let imported = import_perf_text(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_lines_short("report", imported.summary.report_lines());
    assert_lines_short("trace", imported.text.lines());

    let error = error_of(import_lackey_text(&format!("{long}\n")));
    assert!(error.len() < 300, "{:.300}", error);
}

/// A mapping's path and a command's name become fields of ops: one longer
/// than Linux allows is a damaged line, refused with its line and column,
/// rather than an op line the trace reader would refuse.
#[test]
fn over_long_names_are_refused() {
    let path = "\u{1}".repeat(300_000);
    let text = exec_100() + &line(100, 5, &mmap(100, 100, 0x50_0000, 0x1000, "rw-s", &path));
    let error = error_of(import_perf_text(&text));
    assert!(error.starts_with("capture.perf.txt:4:"), "{:.300}", error);
    assert!(error.len() < 300, "{:.300}", error);
    let text = line(100, 1, &format!("PERF_RECORD_COMM exec: {}:100/100", "\u{1}".repeat(300_000)));
    let error = error_of(import_perf_text(&text));
    assert!(error.starts_with("capture.perf.txt:1:"), "{:.300}", error);
}

/// Input that is not lackey's log at all (binary junk, a text file, an
/// empty input, valgrind run without `--trace-mem=yes`) is an error
/// naming the file, as it is for perf.
#[test]
fn input_that_is_not_the_tools_output_is_refused() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let junk: Vec<u8> = (0..20_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let perf = import_with(|w| PerfImport::default().run(junk.as_slice(), "junk", w, "out"));
    assert!(perf.is_err(), "perf refuses junk");
    let lackey = import_with(|w| LackeyImport.run(junk.as_slice(), "junk", w, "out"));
    assert!(error_of(lackey).starts_with("junk:1:1: not a lackey log"));

    let passwd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";
    assert_eq!(
        error_of(import_lackey_text(passwd)),
        "t.lackey:1:1: not a lackey log: expected valgrind's banner (==PID==) or lackey's first access \
         (\"I  ADDRESS,SIZE\"), found \"root:x:0:0:root:/root:/bin/bash\""
    );

    assert_eq!(error_of(import_lackey_text("")), "t.lackey is not a lackey log: it is empty");
    assert_eq!(error_of(import_lackey_text("\n\n")), "t.lackey is not a lackey log: it has only blank lines");
    assert_eq!(error_of(import_perf_text("")), "capture.perf.txt is not a perf script capture: it is empty");
    assert_eq!(
        error_of(import_perf_text("# ========\n# captured on: x\n\n")),
        "capture.perf.txt is not a perf script capture: no line looks like perf script's output \
         (first line: \"# ========\")"
    );
    assert_eq!(
        error_of(import_lackey_text("==7== Lackey, an example Valgrind tool\n==7== \n==7== Exit code: 0\n")),
        "t.lackey is not a lackey log: no line looks like lackey's output (first line: \"==7== Lackey, an \
         example Valgrind tool\"); lackey logs accesses only when run with --trace-mem=yes"
    );
    // perf indents only the callchain lines that follow an event.
    let error = error_of(import_perf_text("\t    7fde2009c8ea memset+0x1 (/usr/lib/libc.so.6)\n"));
    assert!(error.starts_with("capture.perf.txt:1:1: expected a perf script line"), "{error}");

    // After the first access, other lines are the program's own output.
    let imported = import_lackey_text("==1== Lackey\nI  00401000,3\nhello\n L 00402000,8\n").unwrap();
    assert_eq!(imported.summary.skipped.total(), 1);
}

/// Does a lackey access line with other spacing than lackey's own get a
/// message that says so, at the column where it differs?
#[test]
fn lackey_spacing_mistakes_are_explained() {
    assert_eq!(
        error_of(import_lackey_text(" L  0400aef0,8\n")),
        "t.lackey:1:4: unexpected space: lackey writes \" L \" and the address right after it"
    );
    assert_eq!(
        error_of(import_lackey_text("I   04000a9d,3\n")),
        "t.lackey:1:4: unexpected space: lackey writes \"I  \" and the address right after it"
    );
    assert_eq!(
        error_of(import_lackey_text("I 04000a9d,3\n")),
        "t.lackey:1:3: expected \"I  \" (I and two spaces) before the address, as lackey writes a fetch"
    );
    assert_eq!(
        error_of(import_lackey_text("I  00401000,3\nL 0400aef0,8\n")),
        "t.lackey:2:1: expected \" L \" (a space, L and a space) before the address, as lackey writes a load"
    );
    assert_eq!(
        error_of(import_lackey_text("I  00401000,3\n  S\t0400aef0,8\n")),
        "t.lackey:2:2: expected \" S \" (a space, S and a space) before the address, as lackey writes a store"
    );
}

/// A line longer than the limit fails as soon as the limit is passed,
/// naming its line, even when the input never ends (`/dev/zero`) or the
/// whole line arrived in one buffer.
#[test]
fn over_long_lines_fail_at_the_limit() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let zeros = || std::io::BufReader::new(std::io::repeat(0));
        let perf = import_with(|w| PerfImport::default().run(zeros(), "/dev/zero", w, "out")).err();
        let lackey = import_with(|w| LackeyImport.run(zeros(), "/dev/zero", w, "out")).err();
        let _ = done.send((perf.map(|e| e.to_string()), lackey.map(|e| e.to_string())));
    });
    let (perf, lackey) =
        finished.recv_timeout(std::time::Duration::from_secs(120)).expect("reading /dev/zero stops at the limit");
    assert_eq!(perf.as_deref(), Some("/dev/zero:1:1: line is longer than 1048576 bytes"));
    assert_eq!(lackey.as_deref(), Some("/dev/zero:1:1: line is longer than 1048576 bytes"));

    let text = format!("I  00401000,3\n{}\n L 00402000,8\n", "x".repeat(2 << 20));
    assert_eq!(error_of(import_lackey_text(&text)), "t.lackey:2:1: line is longer than 1048576 bytes");
}

/// The reordering window is bounded: 0 and anything above `MAX_WINDOW`
/// are errors (`u64::MAX` used to wrap around to a window of nothing).
#[test]
fn the_reordering_window_is_bounded() {
    let run = |window: usize| {
        import_with(|w| {
            PerfImport { window, ..PerfImport::default() }.run(exec_100().as_bytes(), "capture.perf.txt", w, "out")
        })
        .map(|_| ())
    };
    for window in [0, 1 << 21, 1_000_000_000_000, usize::MAX] {
        let error = run(window).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(error, format!("the reordering window must hold 1 to 1048576 events, not {window}"));
    }
    run(1 << 20).expect("the largest window");
    run(1).expect("the smallest window");
}
