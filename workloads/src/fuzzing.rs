//! The bodies of the fuzz targets.
//!
//! `fuzz/` (a cargo-fuzz project, built with nightly Rust) has one
//! `fuzz_target!` per function here, and `workloads/tests/fuzz_corpus.rs`
//! calls the same functions on every input the campaign kept, so a plain
//! `cargo test` re-checks the whole corpus on stable Rust. Keeping the
//! bodies in the library is what lets the two share them.
//!
//! Every function takes arbitrary bytes and panics only on a real bug: a
//! parser that panics, a trace line that does not read back as the op it was
//! written from, an importer whose trace does not replay as it predicted, an
//! invariant the checker finds broken, a policy that disagrees with `eager`.
//! Input that is merely wrong (not a trace, not a capture, a parameter out of
//! range) is an error the code under test reports, and the functions accept
//! that silently.
//!
//! | function | what it checks |
//! |---|---|
//! | [`trace_jsonl`] | the trace reader never panics; `format_op` then `parse_line` gives back every op it reads |
//! | [`perf_script`] | the perf importer never panics; a trace it writes reads back and replays with every `expect` met |
//! | [`lackey_log`] | the same for the lackey importer |
//! | [`gen_params`] | `NAME=VALUE` settings never make a generator panic, in parsing or in its first ops |
//! | [`policies`] | a small valid trace decoded from the bytes: every policy agrees with `eager`, invariants checked |

use std::panic::AssertUnwindSafe;

use sim::op::AccessOp;
use sim::{Access, Config, Inheritance, KernReturn, Op, PolicyKind, Prot, Report, Sim, SimError, TaskId, TraceOp};
use sim::{PageCache, Thp};

use crate::generators::{DEFAULT_SEED, WORKLOADS};
use crate::import::lackey::LackeyImport;
use crate::import::perf::PerfImport;
use crate::import::{ImportError, ImportSummary};
use crate::trace::{TraceReader, TraceWriter, format_op, parse_line};

// ---------------------------------------------------------------------------
// trace_jsonl
// ---------------------------------------------------------------------------

/// Reads `data` as a JSON Lines trace. The reader must not panic, whatever
/// the bytes; every op it reads must be written by [`format_op`] as one line
/// that [`parse_line`] reads back as the same op.
///
/// (Lines the reader rejects are fine: they are errors it reports.)
pub fn trace_jsonl(data: &[u8]) {
    for item in TraceReader::new(data, "fuzz.jsonl") {
        let Ok(located) = item else { continue };
        let op = located.value;
        let line = format_op(&op);
        assert!(!line.contains('\n'), "format_op wrote more than one line for {op:?}: {line}");
        match parse_line(&line) {
            Ok(again) => assert_eq!(again, op, "line {} does not read back as the op written: {line}", located.line),
            Err(problem) => panic!("the reader rejects what the writer wrote for {op:?}: {line}: {problem}"),
        }
    }
}

// ---------------------------------------------------------------------------
// perf_script and lackey_log
// ---------------------------------------------------------------------------

/// Imports `data` as `perf script` text. The importer must not panic;
/// when it succeeds, its trace must read back and replay with every
/// `expect` met, as the importers promise (`workloads::import`).
///
/// The import runs twice: with the default reordering window and with a
/// window of 2 events, so that small inputs also reach the path for events
/// that come later than the window can repair.
pub fn perf_script(data: &[u8]) {
    for importer in [PerfImport::default(), PerfImport { window: 2, ..PerfImport::default() }] {
        let imported = import(|writer| importer.run(data, "fuzz.perf.txt", writer, "fuzz.jsonl"));
        if let Some(trace) = imported {
            check_imported_trace("perf", &trace);
        }
    }
}

/// Imports `data` as a Valgrind lackey log, with the same checks as
/// [`perf_script`].
pub fn lackey_log(data: &[u8]) {
    let imported = import(|writer| LackeyImport.run(data, "fuzz.lackey.txt", writer, "fuzz.jsonl"));
    if let Some(trace) = imported {
        check_imported_trace("lackey", &trace);
    }
}

/// Runs an importer into an in-memory trace. `None` when the importer
/// rejected its input (an error is a fine answer to bad input).
fn import(run: impl FnOnce(&mut TraceWriter<Vec<u8>>) -> Result<ImportSummary, ImportError>) -> Option<Vec<u8>> {
    let mut writer = TraceWriter::new(Vec::new());
    run(&mut writer).ok()?;
    Some(writer.into_inner())
}

/// The policies an imported trace is replayed under: the oracle and the
/// design the captures come from.
const IMPORT_REPLAY_POLICIES: [PolicyKind; 2] = [PolicyKind::Eager, PolicyKind::Linux];

/// What an importer promises about the trace it wrote (see
/// `workloads::import`): every line reads back, and every op replays with
/// its `expect` met, since the importer writes only ops its own picture of
/// the address spaces predicts. A replay error of any kind (an unknown
/// task, an unexpected code) is the importer and the simulator disagreeing.
fn check_imported_trace(importer: &str, trace: &[u8]) {
    let ops: Vec<TraceOp> = TraceReader::new(trace, "imported.jsonl")
        .map(|item| match item {
            Ok(located) => located.value,
            Err(error) => panic!("the {importer} importer wrote a line the trace reader rejects: {error}"),
        })
        .collect();
    for policy in IMPORT_REPLAY_POLICIES {
        let mut sim = Sim::new(policy, Config::default().check_invariants(true));
        for (index, op) in ops.iter().enumerate() {
            if let Err(error) = sim.apply_traced(op) {
                panic!("{importer} import, op {index} under {policy}: {error}\n  op: {}", format_op(op));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// gen_params
// ---------------------------------------------------------------------------

/// How many ops of a generated trace [`gen_params`] asks for: enough to
/// run every generator's set-up and first steps, few enough that a
/// generator asked for a billion rounds still answers at once.
const GENERATED_OPS: usize = 2000;

/// Splits `data` into lines and gives them, as `NAME=VALUE` settings, to
/// every generator. Parsing must not panic, whatever the text; when a
/// generator accepts the settings, making its first 2000 ops
/// must not panic either.
pub fn gen_params(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let settings: Vec<&str> = text.lines().collect();
    for workload in &WORKLOADS {
        if let Ok(params) = workload.parse_params(&settings) {
            workload.generate(DEFAULT_SEED, &params).take(GENERATED_OPS).for_each(drop);
        }
    }
}

// ---------------------------------------------------------------------------
// policies
// ---------------------------------------------------------------------------

/// Decodes `data` into a small valid trace (see [`decode_trace`]) and runs
/// it under every policy, and under `linux` with a warm page cache, with the
/// invariant checker on after every op. Each must return the same
/// `kern_return_t` for every op, and read the same data (the read digest),
/// as `eager`, which copies everything at once and is the oracle.
pub fn policies(data: &[u8]) {
    let trace = decode_trace(data);
    // A panic deep in a policy or in the checker names the op but not the
    // trace, so it is caught to print the trace first. (Under libFuzzer a
    // panic aborts before anything can catch it: replay the input with
    // `cargo test` to see the trace, as fuzz/README.md explains.)
    match std::panic::catch_unwind(AssertUnwindSafe(|| compare_with_eager(&trace))) {
        Ok(Ok(())) => {}
        Ok(Err(difference)) => panic!("{difference}; the trace:\n{}", listing(&trace)),
        Err(panic) => {
            eprintln!("the trace that panicked:\n{}", listing(&trace));
            std::panic::resume_unwind(panic);
        }
    }
}

/// Runs `trace` under `eager` and then every other design; the first
/// difference from `eager`, if any, in words.
fn compare_with_eager(trace: &[TraceOp]) -> Result<(), String> {
    let (want, want_digest) = replay(Design::Policy(PolicyKind::Eager), trace);
    if let Some((index, error)) = want.iter().enumerate().find_map(|(i, r)| Some((i, r.as_ref().err()?))) {
        return Err(format!("the decoder made an invalid trace: op {index}: {error}"));
    }
    for design in Design::lazy() {
        let (got, got_digest) = replay(design, trace);
        if let Some(index) = got.iter().zip(&want).position(|(got, want)| got != want) {
            let (got, want) = (&got[index], &want[index]);
            return Err(format!("{design} disagrees with eager at op {index}: {got:?} instead of {want:?}"));
        }
        if got_digest != want_digest {
            return Err(format!("{design} read other data than eager: digest {got_digest} instead of {want_digest}"));
        }
    }
    Ok(())
}

/// A design a random trace runs under: a registered policy, or `linux`
/// with a warm page cache (its fault-around maps cached file pages, a path
/// the cold cache takes only once a file's pages are in). Shared with the
/// differential oracle test (`workloads/tests/oracle.rs`).
#[derive(Clone, Copy, Debug)]
pub enum Design {
    Policy(PolicyKind),
    LinuxWarmPageCache,
    /// A design that models transparent huge pages, with them on.
    HugePages(PolicyKind, Thp),
}

impl Design {
    /// Every design compared with `eager`.
    pub fn lazy() -> impl Iterator<Item = Design> {
        let lazy_policies = PolicyKind::ALL.into_iter().filter(|policy| *policy != PolicyKind::Eager);
        lazy_policies.map(Design::Policy).chain([
            Design::LinuxWarmPageCache,
            Design::HugePages(PolicyKind::Linux, Thp::Split),
            Design::HugePages(PolicyKind::Linux, Thp::Copy),
            Design::HugePages(PolicyKind::LinuxOdf, Thp::Copy),
        ])
    }

    /// A simulator of this design, with the invariant checker on.
    pub fn sim(self) -> Sim {
        let checked = Config::default().check_invariants(true);
        match self {
            Design::Policy(policy) => Sim::new(policy, checked),
            Design::LinuxWarmPageCache => Sim::new(PolicyKind::Linux, checked.page_cache(PageCache::Warm)),
            Design::HugePages(policy, thp) => Sim::new(policy, checked.thp(thp)),
        }
    }
}

impl std::fmt::Display for Design {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Design::Policy(policy) => write!(f, "{policy}"),
            Design::LinuxWarmPageCache => f.write_str("linux (warm page cache)"),
            Design::HugePages(policy, thp) => write!(f, "{policy} (thp {})", thp.name()),
        }
    }
}

/// Runs `trace` under `design` with the checker on: every op's result and
/// the report. Panics (in the checker) if an invariant breaks.
pub fn replay_under(design: Design, trace: &[TraceOp]) -> (Vec<Result<KernReturn, SimError>>, Report) {
    let mut sim = design.sim();
    let results = trace.iter().map(|op| sim.apply_traced(op)).collect();
    (results, sim.finish("random"))
}

/// Every op's result and the read digest.
fn replay(design: Design, trace: &[TraceOp]) -> (Vec<Result<KernReturn, SimError>>, String) {
    let (results, report) = replay_under(design, trace);
    (results, report.read_digest)
}

/// The trace as JSON Lines, for a failure message: paste it into a file
/// and `cowsim run FILE --policy all` replays it.
fn listing(trace: &[TraceOp]) -> String {
    trace.iter().map(|op| format_op(op) + "\n").collect()
}

/// Bytes per page (the simulator's default).
const PAGE: u64 = 4096;

/// The most ops decoded from one input. Every op runs under nine designs
/// with a walk of the whole world after it, so longer traces cost more
/// speed than they find bugs.
const MAX_DECODED_OPS: usize = 100;

/// The most tasks alive at once: a handful, so ops often land on the same
/// ones and on memory they share.
const MAX_LIVE_TASKS: usize = 6;

/// Where the decoded ops play: three windows of [`WINDOW_PAGES`] pages,
/// the first two back to back so that ranges straddle them.
const WINDOWS: [u64; 3] = [0x10000, 0x10000 + WINDOW_PAGES * PAGE, 0x40000];
const WINDOW_PAGES: u64 = 8;

/// One past the highest address the simulator maps by default (128 TiB).
const MAP_MAX: u64 = 1 << 47;

/// Addresses at the edges of the address space, drawn now and then: the
/// null page, the top of the map and the top of the 64-bit range, where
/// rounding and `addr + size` can overflow.
const EXTREME_ADDRESSES: [u64; 7] =
    [0, PAGE - 1, MAP_MAX - 2 * PAGE, MAP_MAX - 1, MAP_MAX, u64::MAX - 2 * PAGE + 1, u64::MAX];

/// Sizes: none, one page, several, misaligned by a byte, and a few whose
/// end lies past the map or wraps past 2^64.
const SIZES: [u64; 16] = [
    PAGE,
    PAGE,
    2 * PAGE,
    3 * PAGE,
    4 * PAGE,
    8 * PAGE,
    16 * PAGE,
    0,
    1,
    PAGE - 1,
    PAGE + 1,
    2 * PAGE,
    PAGE,
    MAP_MAX,
    u64::MAX - PAGE + 1,
    u64::MAX,
];

/// Every protection, as the trace format spells them.
const PROTECTIONS: [&str; 8] = ["", "r", "w", "x", "rw", "rx", "wx", "rwx"];

const INHERITANCES: [Inheritance; 3] = [Inheritance::Share, Inheritance::Copy, Inheritance::None];

/// Two files, so mappings of one file meet and of two do not.
const FILES: [&str; 2] = ["libc.so.6", "data.db"];

/// File offsets: aligned, and one misaligned (`KERN_INVALID_ARGUMENT`) and
/// one so large that the page index nears the top of the 64-bit range.
const FILE_OFFSETS: [u64; 5] = [0, PAGE, 3 * PAGE, 8, u64::MAX - PAGE + 1];

/// The input bytes as a source of small choices. A draw past the end of the
/// input gives 0, so every input decodes to something.
struct ByteSource<'d> {
    rest: &'d [u8],
}

impl ByteSource<'_> {
    /// The next byte, or `None` once the input is used up.
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(first)
    }

    /// The next byte, 0 past the end.
    fn byte(&mut self) -> u8 {
        self.next().unwrap_or(0)
    }

    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// True for one byte value in four: for options that should stay rare.
    fn one_in_four(&mut self) -> bool {
        self.byte().is_multiple_of(4)
    }

    /// One of `choices` (not empty), picked by the next byte.
    fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[usize::from(self.byte()) % choices.len()]
    }

    /// An address: usually a page in one of the [`WINDOWS`], one time in
    /// eight off its page boundary, one in sixteen one of the
    /// [`EXTREME_ADDRESSES`].
    fn address(&mut self) -> u64 {
        let place = self.byte();
        let offset = self.byte();
        if place % 16 == 15 {
            return EXTREME_ADDRESSES[usize::from(offset) % EXTREME_ADDRESSES.len()];
        }
        let window = WINDOWS[usize::from(place) % WINDOWS.len()];
        let page = window + u64::from(offset) % WINDOW_PAGES * PAGE;
        match offset >> 4 {
            14 => page + 1,
            15 => page + PAGE / 2,
            _ => page,
        }
    }

    fn size(&mut self) -> u64 {
        self.pick(&SIZES)
    }

    fn prot(&mut self) -> Prot {
        Prot::parse(self.pick(&PROTECTIONS)).unwrap_or(Prot::NONE)
    }
}

/// Turns the input into ops, keeping track of which tasks are alive so that
/// every op names a live task (the trace is valid: a bad-input error from
/// the simulator would be the decoder's bug).
struct TraceDecoder<'d> {
    input: ByteSource<'d>,
    live: Vec<TaskId>,
    next_task: u32,
}

/// Decodes `data` into a trace: a prologue that gives task 1 memory in
/// every window, partly written (so most ops find something to work on),
/// then one op per few bytes, at most 100. The first byte
/// of each op picks its kind, the next ones its task, addresses and sizes.
pub fn decode_trace(data: &[u8]) -> Vec<TraceOp> {
    let first = TaskId(1);
    let window_bytes = WINDOW_PAGES * PAGE;
    let mut ops = vec![
        Op::TaskCreate { task: first },
        // The first two windows, back to back, as one entry.
        Op::VmAllocate { task: first, addr: Some(WINDOWS[0]), size: 2 * window_bytes, anywhere: false },
        Op::VmAllocate { task: first, addr: Some(WINDOWS[2]), size: window_bytes, anywhere: false },
        access(first, Access::Write, WINDOWS[0], window_bytes + window_bytes / 2),
        access(first, Access::Write, WINDOWS[2], window_bytes / 2),
    ];
    let mut decoder = TraceDecoder { input: ByteSource { rest: data }, live: vec![first], next_task: 2 };
    while ops.len() < MAX_DECODED_OPS {
        let Some(kind) = decoder.input.next() else { break };
        ops.extend(decoder.op(kind));
    }
    ops.into_iter().map(|op| TraceOp { op, expect: None }).collect()
}

/// A read, write or fetch with no value given or expected.
fn access(task: TaskId, access: Access, addr: u64, len: u64) -> Op {
    Op::Access(AccessOp { task, access, addr, len, value: None, expect_value: None, recorded: None })
}

impl TraceDecoder<'_> {
    /// The op of kind `kind` (its number modulo the kinds), or `None` when
    /// it cannot be made valid now: no live task to name, or too many
    /// tasks alive to make another. Accesses come most often, as in a real
    /// trace; forks next.
    fn op(&mut self, kind: u8) -> Option<Op> {
        match kind % 32 {
            0..=2 => self.fork(),
            3 => self.exit(),
            4 => Some(Op::Exec { task: self.live_task()? }),
            5 => self.create(),
            6..=8 => self.allocate(),
            9 => self.deallocate(),
            10 | 11 => self.protect(),
            12 | 13 => self.inherit(),
            14 | 15 => self.copy(),
            16 => self.move_range(),
            17 | 18 => self.vm_read(),
            19 | 20 => self.vm_write(),
            21 | 22 => self.map_file(),
            23 => self.page_cache_op(),
            _ => self.touch(),
        }
    }

    /// One of the live tasks, picked by the next byte.
    fn live_task(&mut self) -> Option<TaskId> {
        let pick = usize::from(self.input.byte());
        (!self.live.is_empty()).then(|| self.live[pick % self.live.len()])
    }

    /// A fresh task id, if there is room for another live task.
    fn new_task(&mut self) -> Option<TaskId> {
        if self.live.len() >= MAX_LIVE_TASKS {
            return None;
        }
        let task = TaskId(self.next_task);
        self.next_task += 1;
        self.live.push(task);
        Some(task)
    }

    fn create(&mut self) -> Option<Op> {
        Some(Op::TaskCreate { task: self.new_task()? })
    }

    fn fork(&mut self) -> Option<Op> {
        let parent = self.live_task()?;
        Some(Op::Fork { parent, child: self.new_task()? })
    }

    fn exit(&mut self) -> Option<Op> {
        let task = self.live_task()?;
        self.live.retain(|live| *live != task);
        Some(Op::Exit { task })
    }

    fn allocate(&mut self) -> Option<Op> {
        let task = self.live_task()?;
        let (addr, size, anywhere) = (self.input.address(), self.input.size(), self.input.one_in_four());
        Some(Op::VmAllocate { task, addr: Some(addr), size, anywhere })
    }

    fn deallocate(&mut self) -> Option<Op> {
        let task = self.live_task()?;
        Some(Op::VmDeallocate { task, addr: self.input.address(), size: self.input.size() })
    }

    fn protect(&mut self) -> Option<Op> {
        let task = self.live_task()?;
        let (addr, size, prot) = (self.input.address(), self.input.size(), self.input.prot());
        Some(Op::VmProtect { task, addr, size, prot, set_max: self.input.one_in_four() })
    }

    fn inherit(&mut self) -> Option<Op> {
        let task = self.live_task()?;
        let (addr, size, inherit) = (self.input.address(), self.input.size(), self.input.pick(&INHERITANCES));
        Some(Op::VmInherit { task, addr, size, inherit })
    }

    fn copy(&mut self) -> Option<Op> {
        let task = self.live_task()?;
        Some(Op::VmCopy { task, src: self.input.address(), size: self.input.size(), dst: self.input.address() })
    }

    fn move_range(&mut self) -> Option<Op> {
        let task = self.live_task()?;
        Some(Op::VmMove { task, src: self.input.address(), size: self.input.size(), dst: self.input.address() })
    }

    fn vm_read(&mut self) -> Option<Op> {
        let (caller, task) = (self.live_task()?, self.live_task()?);
        let (addr, size) = (self.input.address(), self.input.size());
        let dst = if self.input.flag() { Some(self.input.address()) } else { None };
        Some(Op::VmRead { task, addr, size, caller, dst })
    }

    fn vm_write(&mut self) -> Option<Op> {
        let (caller, task) = (self.live_task()?, self.live_task()?);
        Some(Op::VmWrite {
            task,
            addr: self.input.address(),
            size: self.input.size(),
            caller,
            src: self.input.address(),
        })
    }

    fn map_file(&mut self) -> Option<Op> {
        let task = self.live_task()?;
        let (addr, size) = (self.input.address(), self.input.size());
        let (file, offset) = (self.input.pick(&FILES).to_owned(), self.input.pick(&FILE_OFFSETS));
        let (private, prot) = (self.input.flag(), self.input.prot());
        let anywhere = self.input.one_in_four();
        Some(Op::VmMap { task, addr: Some(addr), size, anywhere, file, offset, private, prot })
    }

    /// A `page_cache` (what a capture saw of a file's page cache) or a
    /// `file_read` of one of the files; a run may fall past the file's end
    /// (`KERN_INVALID_ARGUMENT`).
    fn page_cache_op(&mut self) -> Option<Op> {
        let file = self.input.pick(&FILES).to_owned();
        if self.input.flag() {
            let (offset, len) = (self.input.address() % (64 * PAGE), self.input.size());
            let task = if self.input.flag() { self.live_task() } else { None };
            return Some(Op::FileRead { task, file, offset, len });
        }
        let size = self.input.size();
        let (first, count) = (u64::from(self.input.byte() % 16), u64::from(self.input.byte() % 8));
        let cached = if count == 0 { Vec::new() } else { vec![(first, count)] };
        let read_ahead = u64::from(self.input.byte() % 64) * PAGE;
        // Powers of two up to 2 MiB, and now and then one that is not.
        let largest_folio = match self.input.byte() % 12 {
            11 => 3 * PAGE,
            shift => PAGE << shift,
        };
        Some(Op::PageCache { file, size, cached, read_ahead, largest_folio })
    }

    /// A read, write or fetch; writes twice as often as the others, since
    /// they are what copy-on-write is about.
    fn touch(&mut self) -> Option<Op> {
        let task = self.live_task()?;
        let kind = self.input.pick(&[Access::Read, Access::Write, Access::Write, Access::ExecFetch]);
        Some(access(task, kind, self.input.address(), self.input.size()))
    }
}
