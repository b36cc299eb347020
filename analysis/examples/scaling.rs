//! Does any design's cost grow faster than its input? For each design and
//! each of four axes, runs a workload at 1×, 2×, 4× and 8× its base size,
//! times the replay (best of three, wall clock, ops already in memory),
//! fits the exponent k of time ∝ size^k by least squares over
//! (log size, log time), and flags every k above 1.1. Run with
//!
//! ```text
//! cargo run --release -p analysis --example scaling [AXIS...]
//! ```
//!
//! naming axes (`trace-length`, `live-tasks`, `region-size`, `chain-depth`)
//! to run only those, `--scale N` to multiply every base size by N (small
//! sizes run in milliseconds, where caches and noise can bend the fit; a
//! larger scale tells a real trend from that), `--cap SECONDS` to change
//! how long one run may take (10 s unless told), and `--policy A,B` to run
//! only those designs. The axes:
//!
//! - **trace length**: `fork-exit` rounds. Every round does the same work,
//!   so the time should grow linearly, except under `mach-nocollapse`,
//!   whose chain grows by a level a round: its superlinear growth is what
//!   that design exists to show.
//! - **live tasks**: `live-children` children alive at once (one
//!   generation). Under the Mach family the parent's chain is as deep as
//!   the children are many, so its faults walk further as the axis grows.
//! - **region size**: pages a child writes after the fork of a touched
//!   region, one copy-on-write fault each.
//! - **chain depth**: forks whose children stay alive, each followed by a
//!   write that gives the Mach family a new level, then writes to pages at
//!   the bottom of the chain. The region has the same size at every depth,
//!   so only the depth changes. Deep chains are `mach-nocollapse`'s point.
//!
//! A single run is stopped after the cap; that size and the larger ones are
//! reported as "> cap", and the exponent is fitted to the sizes that
//! finished (a lower bound, marked `≥`).

use std::time::{Duration, Instant};

use sim::{Access, AccessOp, Config, Op, PolicyKind, Sim, TaskId, TraceOp};
use workloads::generators::{self, DEFAULT_SEED};

/// The longest a single run may take before it is abandoned, unless
/// `--cap` says otherwise.
const DEFAULT_CAP: Duration = Duration::from_secs(10);
/// The sizes of each axis, as multiples of its base.
const MULTIPLES: [u64; 4] = [1, 2, 4, 8];
/// Runs of each size; the fastest counts (the others only met more noise).
const RUNS: usize = 3;
/// A run longer than this is not repeated: its noise is small beside it,
/// and repeating it would only make the whole check slow.
const LONG_ENOUGH: Duration = Duration::from_secs(1);
/// An exponent above this is flagged: linear with room for noise.
const FLAG_ABOVE: f64 = 1.1;

struct Axis {
    /// The name on the command line and in the table.
    name: &'static str,
    /// What one unit of the axis is.
    unit: &'static str,
    base: u64,
    /// The workload at `size` units, for an axis whose largest size is the
    /// second argument.
    workload: fn(u64, u64) -> Workload,
    /// The designs meant to grow faster than linearly here: their files say
    /// why.
    superlinear_by_design: &'static [PolicyKind],
}

/// The ops of one size of an axis, and where the timed part begins: the
/// ops before it build the state the axis is about, and only what follows
/// is what the axis measures.
struct Workload {
    ops: Vec<TraceOp>,
    timed_from: usize,
}

impl Workload {
    fn all_timed(ops: Vec<TraceOp>) -> Self {
        Workload { ops, timed_from: 0 }
    }
}

const AXES: [Axis; 4] = [
    Axis {
        name: "trace-length",
        unit: "fork-exit rounds",
        base: 4000,
        workload: fork_exit_rounds,
        // Its chain grows by a level a round: what the design shows.
        superlinear_by_design: &[PolicyKind::MachNoCollapse],
    },
    Axis {
        name: "live-tasks",
        unit: "live-children children",
        base: 128,
        workload: live_children,
        // The collapse after every copy-up walks the whole chain, which is
        // as deep as the children are many (`sim/src/policy/xnu.rs`).
        superlinear_by_design: &[PolicyKind::Xnu],
    },
    Axis {
        name: "region-size",
        unit: "pages written after a fork",
        base: 2048,
        workload: region_written_after_fork,
        superlinear_by_design: &[],
    },
    Axis {
        name: "chain-depth",
        unit: "forks with live children",
        base: 128,
        workload: faults_below_chain,
        // Only the faults below the finished chain are timed, and each
        // walks the chain once: linear in depth under the Mach family.
        superlinear_by_design: &[],
    },
];

fn generated(workload: &str, settings: &[String]) -> Vec<TraceOp> {
    let workload = generators::find(workload).unwrap_or_else(|error| panic!("{error}"));
    let params = workload.parse_params(settings).unwrap_or_else(|error| panic!("{error}"));
    workload.generate(DEFAULT_SEED, &params).collect()
}

fn fork_exit_rounds(rounds: u64, _largest: u64) -> Workload {
    Workload::all_timed(generated("fork-exit", &[format!("rounds={rounds}")]))
}

fn live_children(children: u64, _largest: u64) -> Workload {
    Workload::all_timed(generated("live-children", &["generations=1".to_owned(), format!("children={children}")]))
}

const PAGE_SIZE: u64 = 4096;
const REGION: u64 = 0x1000_0000;
const PARENT: TaskId = TaskId(1);

fn child(n: u64) -> TaskId {
    TaskId(2 + u32::try_from(n).expect("fewer than 2^32 children"))
}

fn untraced(op: Op) -> TraceOp {
    TraceOp { op, expect: None }
}

fn write(task: TaskId, first_page: u64, pages: u64) -> TraceOp {
    untraced(Op::Access(AccessOp {
        task,
        access: Access::Write,
        addr: REGION + first_page * PAGE_SIZE,
        len: pages * PAGE_SIZE,
        value: None,
        expect_value: None,
        recorded: None,
    }))
}

/// The parent creates a region of `pages` pages and writes all of it.
fn touched_region(pages: u64) -> Vec<TraceOp> {
    vec![
        untraced(Op::TaskCreate { task: PARENT }),
        untraced(Op::VmAllocate { task: PARENT, addr: Some(REGION), size: pages * PAGE_SIZE, anywhere: false }),
        write(PARENT, 0, pages),
    ]
}

fn region_written_after_fork(pages: u64, _largest: u64) -> Workload {
    let mut ops = touched_region(pages);
    ops.push(untraced(Op::Fork { parent: PARENT, child: child(0) }));
    // One op per page, as a program takes one fault per page.
    ops.extend((0..pages).map(|page| write(child(0), page, 1)));
    Workload::all_timed(ops)
}

/// Pages written at the bottom of the chain, whatever its depth.
const PAGES_BELOW_CHAIN: u64 = 2048;

/// Every depth gets a region as deep as the deepest chain of the axis plus
/// the pages below, so the region's size does not change with depth.
///
/// Building the chain is not timed: under the Mach family each level's own
/// write walks the levels already there, so building a chain of depth D
/// costs D^2/2 levels visited, in the kernels too. The timed part is the
/// writes below the finished chain.
fn faults_below_chain(depth: u64, deepest: u64) -> Workload {
    let mut ops = touched_region(deepest + PAGES_BELOW_CHAIN);
    for level in 0..depth {
        ops.push(untraced(Op::Fork { parent: PARENT, child: child(level) }));
        // A page of this level's own, so no level can be bypassed.
        ops.push(write(PARENT, level, 1));
    }
    let timed_from = ops.len();
    ops.extend((0..PAGES_BELOW_CHAIN).map(|page| write(PARENT, deepest + page, 1)));
    Workload { ops, timed_from }
}

/// How one size went.
#[derive(Clone, Copy)]
enum Timing {
    Finished(Duration),
    OverCap,
}

/// Replays `workload` under `policy` and times its timed part; `None` once
/// the whole replay has run past `cap`.
fn replay_once(policy: PolicyKind, workload: &Workload, cap: Duration) -> Option<Duration> {
    // No invariant checker and no time series: the model's own cost.
    let config = Config::default().check_invariants(false).sample_every(u64::MAX);
    let mut sim = Sim::new(policy, config);
    let started = Instant::now();
    let mut timed_start = started;
    for (index, op) in workload.ops.iter().enumerate() {
        if index == workload.timed_from {
            timed_start = Instant::now();
        }
        if let Err(error) = sim.apply_traced(op) {
            panic!("{policy}: op {} failed: {error}", index + 1);
        }
        // Reading the clock costs little, but not nothing: every 256 ops.
        if index % 256 == 0 && started.elapsed() > cap {
            return None;
        }
    }
    let elapsed = timed_start.elapsed();
    // Freeing the world is not part of the replay.
    drop(sim);
    Some(elapsed)
}

fn best_of_runs(policy: PolicyKind, workload: &Workload, cap: Duration) -> Timing {
    let mut best = Duration::MAX;
    for _ in 0..RUNS {
        match replay_once(policy, workload, cap) {
            None => return Timing::OverCap,
            Some(elapsed) => best = best.min(elapsed),
        }
        if best > LONG_ENOUGH {
            break;
        }
    }
    Timing::Finished(best)
}

/// The slope of the least-squares line through `(ln x, ln y)`.
fn fitted_exponent(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let logs: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (x.ln(), y.ln())).collect();
    let mean_x = logs.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = logs.iter().map(|p| p.1).sum::<f64>() / n;
    let covariance: f64 = logs.iter().map(|&(x, y)| (x - mean_x) * (y - mean_y)).sum();
    let variance: f64 = logs.iter().map(|&(x, _)| (x - mean_x).powi(2)).sum();
    covariance / variance
}

fn show(timing: Timing) -> String {
    match timing {
        Timing::Finished(elapsed) if elapsed < Duration::from_secs(1) => {
            format!("{:.2} ms", elapsed.as_secs_f64() * 1e3)
        }
        Timing::Finished(elapsed) => format!("{:.2} s", elapsed.as_secs_f64()),
        Timing::OverCap => "> cap".to_owned(),
    }
}

/// The command line.
struct Options {
    /// The axes named; all when none is.
    chosen: Vec<String>,
    scale: u64,
    cap: Duration,
    policies: Vec<PolicyKind>,
}

/// Says what is wrong with the command line and exits with 2.
fn refuse(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2);
}

/// The value after a flag, a whole number in `range`.
fn number_after(flag: &str, value: Option<String>, range: std::ops::RangeInclusive<u64>) -> u64 {
    match value.and_then(|n| n.parse::<u64>().ok()) {
        Some(n) if range.contains(&n) => n,
        _ => refuse(&format!("{flag} takes a whole number from {} to {}", range.start(), range.end())),
    }
}

fn parse_args() -> Options {
    let mut options = Options { chosen: Vec::new(), scale: 1, cap: DEFAULT_CAP, policies: PolicyKind::ALL.to_vec() };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--scale" => options.scale = number_after("--scale", args.next(), 1..=1024),
            "--cap" => options.cap = Duration::from_secs(number_after("--cap", args.next(), 1..=86_400)),
            "--policy" => {
                let names = args.next().unwrap_or_default();
                options.policies = names
                    .split(',')
                    .map(|name| {
                        PolicyKind::parse(name).unwrap_or_else(|| refuse(&format!("no policy is called {name:?}")))
                    })
                    .collect();
            }
            _ => options.chosen.push(arg),
        }
    }
    options
}

fn main() {
    let Options { chosen, scale, cap, policies } = parse_args();
    let axes: Vec<&Axis> =
        AXES.iter().filter(|axis| chosen.is_empty() || chosen.iter().any(|c| c == axis.name)).collect();
    if axes.is_empty() {
        let names: Vec<&str> = AXES.iter().map(|axis| axis.name).collect();
        eprintln!("no such axis; the axes are {}", names.join(", "));
        std::process::exit(2);
    }
    println!(
        "Replay time at 1x, 2x, 4x, 8x the base size; best of {RUNS}; a run is stopped after {} s.",
        cap.as_secs()
    );
    for axis in &axes {
        let sizes: Vec<String> = MULTIPLES.iter().map(|m| (m * axis.base * scale).to_string()).collect();
        println!("  {}: {} = {}", axis.name, axis.unit, sizes.join(", "));
    }
    println!();
    println!(
        "{:<16} {:<13} {:>10} {:>10} {:>10} {:>10}  {:>8}  note",
        "design", "axis", "1x", "2x", "4x", "8x", "exponent"
    );
    let mut flagged = Vec::new();
    for axis in &axes {
        let largest = MULTIPLES[MULTIPLES.len() - 1] * axis.base * scale;
        let workloads: Vec<(u64, Workload)> = MULTIPLES
            .iter()
            .map(|m| m * axis.base * scale)
            .map(|size| (size, (axis.workload)(size, largest)))
            .collect();
        for &policy in &policies {
            let mut timings = Vec::new();
            for (_, workload) in &workloads {
                // Once a size is over the cap the larger ones would be too.
                let timing = match timings.last() {
                    Some(Timing::OverCap) => Timing::OverCap,
                    _ => best_of_runs(policy, workload, cap),
                };
                timings.push(timing);
            }
            let finished: Vec<(f64, f64)> = workloads
                .iter()
                .zip(&timings)
                .filter_map(|((size, _), timing)| match timing {
                    Timing::Finished(elapsed) => Some((*size as f64, elapsed.as_secs_f64())),
                    Timing::OverCap => None,
                })
                .collect();
            let capped = finished.len() < timings.len();
            let (exponent, note) = if finished.len() < 2 {
                ("-".to_owned(), "too slow to fit".to_owned())
            } else {
                // Judged as printed, so a "1.10" is never flagged.
                let k = (fitted_exponent(&finished) * 100.0).round() / 100.0;
                let shown = if capped { format!(">={k:.2}") } else { format!("{k:.2}") };
                let note = if k <= FLAG_ABOVE && !capped {
                    String::new()
                } else if axis.superlinear_by_design.contains(&policy) {
                    "by design".to_owned()
                } else {
                    flagged.push(format!("{policy} on {} (k = {shown})", axis.name));
                    "SUPERLINEAR".to_owned()
                };
                (shown, note)
            };
            let shown: Vec<String> = timings.iter().map(|&t| show(t)).collect();
            println!(
                "{:<16} {:<13} {:>10} {:>10} {:>10} {:>10}  {:>8}  {note}",
                policy.name(),
                axis.name,
                shown[0],
                shown[1],
                shown[2],
                shown[3],
                exponent
            );
        }
    }
    println!();
    if flagged.is_empty() {
        println!("No exponent above {FLAG_ABOVE} but those by design.");
    } else {
        println!("Exponent above {FLAG_ABOVE}: {}.", flagged.join("; "));
    }
}
