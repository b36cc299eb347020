//! The workload generators: their output pinned for seed 1, their traces
//! run under every policy against the `eager` oracle, and their streams
//! checked to stay in constant memory.
//!
//! When a generator changes on purpose, the pinned test prints the new
//! golden entries to paste below; a change nobody meant (a dependency bump
//! that alters the random stream, say) fails here first.

use std::io::{self, Write};

use sim::{Config, KernReturn, PolicyKind, Sim, TraceOp};
use workloads::generators::{self, DEFAULT_SEED, WORKLOADS, Workload};

/// A writer that keeps only what the golden test compares: the first
/// lines, the number of lines, and an FNV-1a 64 hash of every byte.
struct Fingerprint {
    head: String,
    head_lines: usize,
    lines: usize,
    hash: u64,
}

const HEAD_LINES: usize = 20;

impl Fingerprint {
    fn new() -> Fingerprint {
        Fingerprint { head: String::new(), head_lines: 0, lines: 0, hash: 0xcbf2_9ce4_8422_2325 }
    }
}

impl Write for Fingerprint {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        for &byte in bytes {
            self.hash = (self.hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            if self.head_lines < HEAD_LINES {
                self.head.push(char::from(byte));
            }
            if byte == b'\n' {
                self.lines += 1;
                self.head_lines = self.lines.min(HEAD_LINES);
            }
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn fingerprint(workload: &Workload) -> Fingerprint {
    let mut print = Fingerprint::new();
    generators::write_trace(workload, DEFAULT_SEED, &workload.default_params(), &mut print).unwrap();
    print
}

/// What `cowsim gen NAME` writes (seed 1, default parameters): the first
/// lines verbatim, the line count and the FNV-1a 64 hash of the whole.
struct Golden {
    name: &'static str,
    head: &'static str,
    lines: usize,
    fnv: u64,
}

include!("golden/generators.rs");

/// Is every generator's default output exactly what it was when pinned?
#[test]
fn default_output_is_pinned() {
    let mut wrong = Vec::new();
    for workload in &WORKLOADS {
        let print = fingerprint(workload);
        let golden = GOLDEN.iter().find(|g| g.name == workload.name);
        let same = golden.is_some_and(|g| g.head == print.head && g.lines == print.lines && g.fnv == print.hash);
        if !same {
            wrong.push(format!(
                "    Golden {{\n        name: {:?},\n        head: r#\"{}\"#,\n        lines: {},\n        fnv: {:#018x},\n    }},",
                workload.name, print.head, print.lines, print.hash
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "generated traces changed; if on purpose, update workloads/tests/golden/generators.rs with:\n{}",
        wrong.join("\n")
    );
    assert_eq!(GOLDEN.len(), WORKLOADS.len(), "a golden entry for every generator, no more");
}

/// The generators that make no random choice (their module docs say so):
/// every seed gives the same trace.
const SEEDLESS: [&str; 1] = ["fork-exec"];

/// Does the same seed give the same trace, and another seed another one
/// (unless the generator makes no random choice)?
#[test]
fn seeds_decide_the_trace() {
    for workload in &WORKLOADS {
        let params = workload.default_params();
        let a: Vec<TraceOp> = workload.generate(7, &params).take(3000).collect();
        let b: Vec<TraceOp> = workload.generate(7, &params).take(3000).collect();
        let c: Vec<TraceOp> = workload.generate(8, &params).take(3000).collect();
        assert_eq!(a, b, "{}", workload.name);
        if SEEDLESS.contains(&workload.name) {
            assert_eq!(a, c, "{}: makes no random choice, yet the seed changed it", workload.name);
        } else {
            assert_ne!(a, c, "{}: seed 8 gave seed 7's trace", workload.name);
        }
    }
}

/// Does every generated trace replay under every policy with the codes and
/// the read digest of `eager`, with the invariant checker on? Codes are
/// all `KERN_SUCCESS` except in `random`, whose deliberate errors carry
/// their `expect` (checked by `apply_traced`) and which must exercise
/// every error code it can.
///
/// The parameters are scaled down from the defaults so the checker, which
/// walks the whole world after every op, keeps the test quick; the
/// default traces run without the checker in `default_traces_match_eager`.
#[test]
fn small_traces_match_eager_with_invariants_checked() {
    let small: [(&str, &[&str]); 9] = [
        ("fork-exit", &["rounds=200", "pages=16"]),
        ("live-children", &["generations=3", "children=12", "pages=16"]),
        ("stranding", &["rounds=150", "pages=16", "lifetime=1"]),
        ("bgsave", &["pages=256", "writes=300", "snapshots=2"]),
        ("zygote", &["children=12", "concurrent=4", "code=64", "data=16", "heap=128"]),
        ("shell", &["pipelines=40", "heap=32", "work=4"]),
        ("build", &["jobs=12", "make_heap=64", "cc1_heap=32", "cc1_steps=10"]),
        ("mach-ipc", &["messages=300", "region=16"]),
        ("random", &["ops=3000"]),
    ];
    for (name, settings) in small {
        let workload = generators::find(name).unwrap();
        let params = workload.parse_params(settings).unwrap();
        oracle(workload, &params, true);
    }
}

/// The default traces, as `cowsim gen` writes them, under every policy.
#[test]
fn default_traces_match_eager() {
    for workload in &WORKLOADS {
        oracle(workload, &workload.default_params(), false);
    }
}

/// Replays the trace under every policy in lockstep, comparing each op's
/// code with eager's, and the read digests at the end.
fn oracle(workload: &Workload, params: &generators::Params, check: bool) {
    let name = workload.name;
    let config = Config::default().check_invariants(check).sample_every(1000);
    let mut sims: Vec<Sim> = PolicyKind::ALL.iter().map(|p| Sim::new(*p, config.clone())).collect();
    let mut codes = std::collections::BTreeMap::<KernReturn, u64>::new();
    let mut ops = 0u64;
    for op in workload.generate(DEFAULT_SEED, params) {
        ops += 1;
        let mut want = None;
        for sim in &mut sims {
            let got = match sim.apply_traced(&op) {
                Ok(code) => code,
                Err(e) => panic!("{name}: op {ops} {op:?} under {}: {e}", sim.policy_name()),
            };
            let want = *want.get_or_insert(got);
            assert_eq!(got, want, "{name}: op {ops} {op:?}: {} disagrees with eager", sim.policy_name());
        }
        *codes.entry(want.unwrap()).or_default() += 1;
    }
    let reports: Vec<_> = sims.iter_mut().map(|s| s.finish(name)).collect();
    for r in &reports {
        assert_eq!(r.read_digest, reports[0].read_digest, "{name}: {} read other data than eager", r.policy);
        assert!(r.accesses > 0, "{name}: no page was accessed");
    }
    if name == "random" {
        for code in KernReturn::ALL {
            assert!(codes.get(&code).is_some_and(|n| *n > 0), "random never returned {code}: {codes:?}");
        }
    } else {
        assert_eq!(codes.keys().collect::<Vec<_>>(), [&KernReturn::Success], "{name}: {codes:?}");
    }
}

/// Do the generators stream in constant memory? Each is run to a few
/// hundred thousand ops with parameters that make the trace ten or a
/// hundred times longer than the default, and the most ops ever buffered
/// must be no more than with the default length: a step's size depends on
/// the parameters, never on how far into the trace it is.
#[test]
fn streams_buffer_one_step_at_a_time() {
    let long: [(&str, &[&str], &[&str]); 9] = [
        ("fork-exit", &["rounds=100"], &["rounds=1000000"]),
        ("live-children", &["generations=1"], &["generations=1000"]),
        ("stranding", &["rounds=100", "lifetime=3"], &["rounds=1000000", "lifetime=3"]),
        ("bgsave", &["snapshots=1"], &["snapshots=1000"]),
        ("zygote", &["children=10"], &["children=100000"]),
        ("shell", &["pipelines=10"], &["pipelines=1000000"]),
        ("build", &["jobs=10"], &["jobs=100000"]),
        ("mach-ipc", &["messages=10"], &["messages=1000000"]),
        ("random", &["ops=1000"], &["ops=1000000"]),
    ];
    const TAKE: usize = 300_000;
    for (name, short, long) in long {
        let workload = generators::find(name).unwrap();
        let mut small = workload.generate(1, &workload.parse_params(short).unwrap());
        assert!(small.by_ref().count() < TAKE, "{name}: the short trace should be short");
        let mut big = workload.generate(1, &workload.parse_params(long).unwrap());
        assert_eq!(big.by_ref().take(TAKE).count(), TAKE, "{name}: the long trace should be long");
        assert!(
            big.high_water() <= small.high_water().max(1),
            "{name}: buffered {} ops at once in a long trace, {} in a short one",
            big.high_water(),
            small.high_water()
        );
        assert!(small.high_water() <= 1000, "{name}: a step of {} ops", small.high_water());
    }
}
