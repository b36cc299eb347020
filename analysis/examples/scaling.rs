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
//! to run only those. The axes:
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
//! A single run is stopped after [`CAP`]; that size and the larger ones are
//! reported as "> cap", and the exponent is fitted to the sizes that
//! finished (a lower bound, marked `≥`).

use std::time::{Duration, Instant};

use sim::{Access, AccessOp, Config, Op, PolicyKind, Sim, TaskId, TraceOp};
use workloads::generators::{self, DEFAULT_SEED};

/// The longest a single run may take before it is abandoned.
const CAP: Duration = Duration::from_secs(10);
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
    /// The ops of the workload at `size` units.
    ops: fn(u64) -> Vec<TraceOp>,
    /// Whether `mach-nocollapse` is meant to grow faster than linearly here.
    nocollapse_grows_by_design: bool,
}

const AXES: [Axis; 4] = [
    Axis {
        name: "trace-length",
        unit: "fork-exit rounds",
        base: 4000,
        ops: fork_exit_rounds,
        nocollapse_grows_by_design: true,
    },
    Axis {
        name: "live-tasks",
        unit: "live-children children",
        base: 128,
        ops: live_children,
        nocollapse_grows_by_design: false,
    },
    Axis {
        name: "region-size",
        unit: "pages written after a fork",
        base: 2048,
        ops: region_written_after_fork,
        nocollapse_grows_by_design: false,
    },
    Axis {
        name: "chain-depth",
        unit: "forks with live children",
        base: 128,
        ops: faults_below_chain,
        nocollapse_grows_by_design: true,
    },
];

fn generated(workload: &str, settings: &[String]) -> Vec<TraceOp> {
    let workload = generators::find(workload).unwrap_or_else(|error| panic!("{error}"));
    let params = workload.parse_params(settings).unwrap_or_else(|error| panic!("{error}"));
    workload.generate(DEFAULT_SEED, &params).collect()
}

fn fork_exit_rounds(rounds: u64) -> Vec<TraceOp> {
    generated("fork-exit", &[format!("rounds={rounds}")])
}

fn live_children(children: u64) -> Vec<TraceOp> {
    generated("live-children", &["generations=1".to_owned(), format!("children={children}")])
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

fn region_written_after_fork(pages: u64) -> Vec<TraceOp> {
    let mut ops = touched_region(pages);
    ops.push(untraced(Op::Fork { parent: PARENT, child: child(0) }));
    // One op per page, as a program takes one fault per page.
    ops.extend((0..pages).map(|page| write(child(0), page, 1)));
    ops
}

/// Pages written at the bottom of the chain, whatever its depth.
const PAGES_BELOW_CHAIN: u64 = 256;
/// The deepest chain the axis builds; every depth gets a region this deep
/// plus the pages below, so the region's size does not change with depth.
const DEEPEST_CHAIN: u64 = 8 * AXES[3].base;

fn faults_below_chain(depth: u64) -> Vec<TraceOp> {
    let mut ops = touched_region(DEEPEST_CHAIN + PAGES_BELOW_CHAIN);
    for level in 0..depth {
        ops.push(untraced(Op::Fork { parent: PARENT, child: child(level) }));
        // A page of this level's own, so no level can be bypassed.
        ops.push(write(PARENT, level, 1));
    }
    ops.extend((0..PAGES_BELOW_CHAIN).map(|page| write(PARENT, DEEPEST_CHAIN + page, 1)));
    ops
}

/// How one size went.
#[derive(Clone, Copy)]
enum Timing {
    Finished(Duration),
    OverCap,
}

/// Replays `ops` under `policy`; `None` once it has run past [`CAP`].
fn replay_once(policy: PolicyKind, ops: &[TraceOp]) -> Option<Duration> {
    // No invariant checker and no time series: the model's own cost.
    let config = Config::default().check_invariants(false).sample_every(u64::MAX);
    let mut sim = Sim::new(policy, config);
    let started = Instant::now();
    for (index, op) in ops.iter().enumerate() {
        if let Err(error) = sim.apply_traced(op) {
            panic!("{policy}: op {} failed: {error}", index + 1);
        }
        // Reading the clock costs little, but not nothing: every 256 ops.
        if index % 256 == 0 && started.elapsed() > CAP {
            return None;
        }
    }
    let elapsed = started.elapsed();
    // Freeing the world is not part of the replay.
    drop(sim);
    Some(elapsed)
}

fn best_of_runs(policy: PolicyKind, ops: &[TraceOp]) -> Timing {
    let mut best = Duration::MAX;
    for _ in 0..RUNS {
        match replay_once(policy, ops) {
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

fn main() {
    let chosen: Vec<String> = std::env::args().skip(1).collect();
    let axes: Vec<&Axis> =
        AXES.iter().filter(|axis| chosen.is_empty() || chosen.iter().any(|c| c == axis.name)).collect();
    if axes.is_empty() {
        let names: Vec<&str> = AXES.iter().map(|axis| axis.name).collect();
        eprintln!("no such axis; the axes are {}", names.join(", "));
        std::process::exit(2);
    }
    println!(
        "Replay time at 1x, 2x, 4x, 8x the base size; best of {RUNS}; a run is stopped after {} s.",
        CAP.as_secs()
    );
    for axis in &axes {
        let sizes: Vec<String> = MULTIPLES.iter().map(|m| (m * axis.base).to_string()).collect();
        println!("  {}: {} = {}", axis.name, axis.unit, sizes.join(", "));
    }
    println!();
    println!(
        "{:<16} {:<13} {:>10} {:>10} {:>10} {:>10}  {:>8}  note",
        "design", "axis", "1x", "2x", "4x", "8x", "exponent"
    );
    let mut flagged = Vec::new();
    for axis in &axes {
        let workloads: Vec<(u64, Vec<TraceOp>)> =
            MULTIPLES.iter().map(|m| m * axis.base).map(|size| (size, (axis.ops)(size))).collect();
        for policy in PolicyKind::ALL {
            let mut timings = Vec::new();
            for (_, ops) in &workloads {
                // Once a size is over the cap the larger ones would be too.
                let timing = match timings.last() {
                    Some(Timing::OverCap) => Timing::OverCap,
                    _ => best_of_runs(policy, ops),
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
                } else if policy == PolicyKind::MachNoCollapse && axis.nocollapse_grows_by_design {
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
