//! Studies: small experiments the main job runs besides the comparison,
//! each a chart and a paragraph in `results/studies/`. Where the
//! comparison runs every input under every design, a study varies one
//! parameter or setting and plots a measure against it, to reproduce a
//! published effect from the model:
//!
//! - `huge-pages`: the Redis BGSAVE warning about transparent huge pages —
//!   bytes copied against the writes made during a snapshot, under `linux`
//!   without huge pages, with Linux 5.8's split, and with the older copy;
//! - `anon-vma-chains`: the `anon_vma` chain growth Linux 3.19 fixed —
//!   chain entries each fork makes, generation after generation, with and
//!   without reuse;
//! - `fork-latency`: figure 1 of "A fork() in the road" (HotOS 2019) —
//!   the time to start a child by fork + exec against the parent's size,
//!   under `linux` and `linux-odf`, and by `posix_spawn`, predicted from
//!   the counted work with this machine's cost profile and set beside what
//!   `cowsim calibrate` measured on the real kernel.
//!
//! Every run is deterministic (fixed seeds, no clock), so the files are
//! byte-identical from one run to the next.

use std::path::PathBuf;

use plotters::style::RGBColor;
use sim::{Config, Event, Op, PolicyKind, Sim, Thp, TraceOp, WorkKind};
use workloads::generators;

use crate::charts::scale::grouped;
use crate::charts::xy::{XyChart, XySeries};
use crate::charts::{ChartError, POLICY_PALETTE, render_png, render_svg};
use crate::costs;

/// The folder of the studies inside a comparison's output.
pub const FOLDER: &str = "studies";

/// One study: its file name, chart, and what it shows in words (Markdown).
pub struct Study {
    pub name: &'static str,
    pub chart: XyChart,
    pub text: String,
}

/// Every study, in the order the README lists them.
pub fn all() -> Vec<Study> {
    vec![huge_pages(), anon_vma_chains(), fork_latency()]
}

/// Every study's files: `NAME.svg`, `NAME.png`, and a README.md with the
/// paragraphs, paths relative to the comparison's output folder.
pub fn files() -> Result<Vec<(PathBuf, Vec<u8>)>, ChartError> {
    let studies = all();
    let mut files = Vec::new();
    let mut readme = String::from(
        "# Studies\n\nSmall experiments the main job runs besides the comparison (`analysis/src/studies.rs`): each varies one parameter and plots a measure against it, to reproduce a published effect from the model. Regenerated with `cargo run --release`.\n",
    );
    for study in &studies {
        let folder = PathBuf::from(FOLDER);
        files.push((folder.join(format!("{}.svg", study.name)), render_svg(&study.chart)?.into_bytes()));
        files.push((folder.join(format!("{}.png", study.name)), render_png(&study.chart)?));
        readme.push_str(&format!(
            "\n## {}\n\n![{}]({}.png)\n\n{}\n",
            study.chart.title, study.chart.title, study.name, study.text
        ));
    }
    files.push((PathBuf::from(FOLDER).join("README.md"), readme.into_bytes()));
    Ok(files)
}

/// The ops of a generated workload with its defaults changed by `params`.
fn generated(workload: &str, params: &[&str]) -> Vec<TraceOp> {
    let w = generators::find(workload).expect("studies: a built-in workload");
    let params = w.parse_params(params).expect("studies: valid parameters");
    w.generate(generators::DEFAULT_SEED, &params).collect()
}

/// Runs `trace` under `policy` with `config`; the report. A study's traces
/// are built-in workloads, so an op that fails is a bug.
fn report(policy: PolicyKind, config: Config, trace: &[TraceOp]) -> sim::report::Report {
    let mut sim = Sim::new(policy, config);
    for op in trace {
        if let Err(e) = sim.apply_traced(op) {
            panic!("studies: {policy} failed on a built-in workload: {e}");
        }
    }
    sim.finish("study")
}

/// The studies' line colours, from the charts' palette: blue, green,
/// orange, pink, and the grey the charts keep for a reference (here the
/// real kernel's measurements).
const COLOURS: [RGBColor; 5] =
    [POLICY_PALETTE[1], POLICY_PALETTE[3], POLICY_PALETTE[2], POLICY_PALETTE[4], POLICY_PALETTE[0]];

/// The cost profile of the machine this project is developed on, built in
/// so that the studies do not depend on where the command runs.
const PROFILE: &str = include_str!("../../profiles/this-machine.json");

/// BGSAVE of a 16 MiB heap: KiB the server's writes copy during one
/// snapshot, for 125 to 8000 writes, under each THP setting.
fn huge_pages() -> Study {
    const WRITES: [u64; 7] = [125, 250, 500, 1000, 2000, 4000, 8000];
    let settings =
        [(Thp::Never, "no huge pages"), (Thp::Split, "THP, split (Linux 5.8+)"), (Thp::Copy, "THP, copy (before 5.8)")];
    let mut series = Vec::new();
    let mut rows = Vec::new();
    for (i, (thp, label)) in settings.into_iter().enumerate() {
        let points: Vec<(u64, u64)> = WRITES
            .iter()
            .map(|&writes| {
                let trace = generated("bgsave", &["snapshots=1", &format!("writes={writes}")]);
                let run = report(PolicyKind::Linux, Config::default().check_invariants(false).thp(thp), &trace);
                (writes, run.work.bytes_copied / 1024)
            })
            .collect();
        rows.push(format!(
            "| {label} | {} |",
            points.iter().map(|(_, kib)| format!("{:.1}", *kib as f64 / 1024.0)).collect::<Vec<_>>().join(" | ")
        ));
        series.push(XySeries { label: label.to_string(), colour: COLOURS[i], points });
    }
    let header = WRITES.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(" | ");
    let text = format!(
        "`cowsim gen bgsave -p snapshots=1 -p writes=N` (a 16 MiB heap; the server writes N single pages, skewed to a hot fifth, while the child reads the heap), run under `linux` with `--thp never`, `split` and `copy`. MiB copied by the server's writes:\n\n| writes during the snapshot | {header} |\n|---|{}\n{}\n\nWithout huge pages each first write to a page copies 4 KiB, so the copies grow with the distinct pages written: {never_most:.1} MiB after {most_writes} writes. With huge pages copied whole (Linux before 5.8) the first write to each 2 MiB copies all of it: {copy_least:.1} MiB after {least_writes} writes, and {copy_most:.1} MiB of the 16 MiB heap from {saturated} writes on, every huge page this skewed writer ever touches. That is the Redis documentation's warning about BGSAVE with transparent huge pages. Since Linux 5.8 a write splits the writer's mapping of a shared huge page and copies 4 KiB, so the copies are those without huge pages again (and the heap was made by 8 faults instead of 4096).\n",
        "---|".repeat(WRITES.len()),
        rows.join("\n"),
        never_most = mib(series[0].points.last()),
        most_writes = WRITES[WRITES.len() - 1],
        copy_least = mib(series[2].points.first()),
        least_writes = WRITES[0],
        copy_most = mib(series[2].points.last()),
        saturated = first_at_most(&series[2].points),
    );
    Study {
        name: "huge-pages",
        chart: XyChart {
            title: "BGSAVE: copies with and without transparent huge pages (linux)".to_string(),
            x_desc: "writes by the server during one snapshot".to_string(),
            y_desc: "KiB copied".to_string(),
            legend: "huge pages".to_string(),
            series,
        },
        text,
    }
}

/// A point's KiB in MiB (0 for none).
fn mib(point: Option<&(u64, u64)>) -> f64 {
    point.map_or(0.0, |(_, kib)| *kib as f64 / 1024.0)
}

/// The first x at which a series reaches its largest y.
fn first_at_most(points: &[(u64, u64)]) -> u64 {
    let most = points.iter().map(|p| p.1).max().unwrap_or(0);
    points.iter().find(|p| p.1 == most).map_or(0, |p| p.0)
}

/// `fork-chain`: the `anon_vma_chain`s each generation's fork makes under
/// `linux`, with and without reuse of idle `anon_vma`s.
fn anon_vma_chains() -> Study {
    const GENERATIONS: u64 = 64;
    let trace = generated("fork-chain", &[&format!("generations={GENERATIONS}")]);
    let settings = [(false, "no reuse (Linux before 3.19)"), (true, "reuse (Linux 3.19+)")];
    let mut series = Vec::new();
    for (i, (reuse, label)) in settings.into_iter().enumerate() {
        let config = Config::default().check_invariants(false).anon_vma_reuse(reuse);
        series.push(XySeries { label: label.to_string(), colour: COLOURS[i], points: chains_per_fork(config, &trace) });
    }
    let last = |s: &XySeries| s.points.last().map_or(0, |p| p.1);
    let total = |s: &XySeries| s.points.iter().map(|p| p.1).sum::<u64>();
    let text = format!(
        "`cowsim gen fork-chain` ({GENERATIONS} generations: each process forks its successor, which writes a page, and exits), run under `linux` with and without the reuse of idle `anon_vma`s. Each fork links the child's heap to every `anon_vma` of its parent's chain and to one of its own. Without reuse the chain grows by one each generation: the last fork made {} chain entries, {} in all. With reuse (commit 7a3ef208e662, Linux 3.19) a child takes over an `anon_vma` whose process has exited and which has fewer than two children: every fork from the third makes {} entries, {} in all. The reverse-map entries are `work.rmap_entries`; without reuse they grow with the square of the generations, and so does the work of every reverse-map walk.\n",
        last(&series[0]),
        total(&series[0]),
        last(&series[1]),
        total(&series[1]),
    );
    Study {
        name: "anon-vma-chains",
        chart: XyChart {
            title: "Linux anon_vma chains over generations of forks".to_string(),
            x_desc: "generation (the fork of the n-th process)".to_string(),
            y_desc: "anon_vma_chains the fork made".to_string(),
            legend: "anon_vma".to_string(),
            series,
        },
        text,
    }
}

/// `fork-exec` with a parent of 16 MiB to 1 GiB: the predicted time to
/// start one child (fork, the child's exec and exit, or `posix_spawn`'s
/// task creation and exit) in µs, under `linux`, `linux-odf` and spawn,
/// beside the fork + exec and `posix_spawn` the profile measured.
fn fork_latency() -> Study {
    let profile = costs::NamedProfile {
        name: "this-machine.json".to_string(),
        profile: costs::parse(PROFILE).expect("studies: the built-in cost profile parses"),
    };
    let curve = &profile.profile.measured.fork_curve;
    let predicted = |policy: PolicyKind, spawn: bool| -> Vec<(u64, u64)> {
        curve
            .iter()
            .map(|point| {
                let params =
                    [format!("heap_mib={}", point.mib), "rounds=1".to_string(), format!("spawn={}", u8::from(spawn))];
                let params: Vec<&str> = params.iter().map(String::as_str).collect();
                let trace = generated("fork-exec", &params);
                let run = report(policy, Config::default().check_invariants(false), &trace);
                (point.mib, costs::child_start_ns(&costs::predict(&run, &profile), 1) / 1000)
            })
            .collect()
    };
    let measured = |pick: fn(&costs::CurvePoint) -> u64| -> Vec<(u64, u64)> {
        curve.iter().map(|point| (point.mib, pick(point) / 1000)).collect()
    };
    let series = vec![
        XySeries {
            label: "fork + exec, measured".to_string(),
            colour: COLOURS[4],
            points: measured(|p| p.fork_exec_wait_ns),
        },
        XySeries {
            label: "fork + exec, linux".to_string(),
            colour: COLOURS[0],
            points: predicted(PolicyKind::Linux, false),
        },
        XySeries {
            label: "fork + exec, linux-odf".to_string(),
            colour: COLOURS[1],
            points: predicted(PolicyKind::LinuxOdf, false),
        },
        XySeries {
            label: "posix_spawn, measured".to_string(),
            colour: COLOURS[3],
            points: measured(|p| p.spawn_wait_ns),
        },
        XySeries {
            label: "posix_spawn, predicted".to_string(),
            colour: COLOURS[2],
            points: predicted(PolicyKind::Linux, true),
        },
    ];
    let row = |s: &XySeries| {
        format!("| {} | {} |", s.label, s.points.iter().map(|(_, us)| grouped(*us)).collect::<Vec<_>>().join(" | "))
    };
    let header = curve.iter().map(|p| format!("{} MiB", p.mib)).collect::<Vec<_>>().join(" | ");
    let at = |s: &XySeries, i: usize| s.points.get(i).map_or(0, |p| p.1);
    let last = curve.len().saturating_sub(1);
    let text = format!(
        "`cowsim gen fork-exec -p heap_mib=N -p rounds=1` (a parent writes N MiB, then starts one child by fork + exec, or with `-p spawn=1` by `posix_spawn`), priced with `profiles/this-machine.json` (`--costs`, docs/costs.md), beside what `cowsim calibrate` measured on this machine's kernel for the same sizes (fork, exec of `/bin/true`, wait; `posix_spawn`, wait). Time to start one child, µs:\n\n| | {header} |\n|---|{}\n{}\n\nThe shape of the paper's figure 1: starting a program by fork + exec costs more the more memory the parent has touched — here {} µs at {} MiB and {} µs at {} MiB measured, because Linux's fork copies and write-protects a page-table entry for every page — while `posix_spawn` stays flat ({} µs measured at {} MiB). On-demand-fork (`linux-odf`) shares the page tables instead, one reference per 2 MiB, so fork + exec costs {} µs at {} MiB in the model, about what `posix_spawn` costs (a little less at small sizes only because the fit on 16 to 256 MiB leaves the fork no fixed cost, docs/costs.md). The predictions of `linux` are fitted on the measured forks of 16 to 256 MiB; at 512 MiB and 1 GiB they fall about 20 % short, where the real fork runs out of cache (docs/costs.md). `linux-odf` has no real kernel to measure here: its line prices the work the paper's design does with this machine's prices.\n",
        "---|".repeat(curve.len()),
        series.iter().map(row).collect::<Vec<_>>().join("\n"),
        grouped(at(&series[0], 0)),
        curve.first().map_or(0, |p| p.mib),
        grouped(at(&series[0], last)),
        curve.get(last).map_or(0, |p| p.mib),
        grouped(at(&series[3], last)),
        curve.get(last).map_or(0, |p| p.mib),
        grouped(at(&series[2], last)),
        curve.get(last).map_or(0, |p| p.mib),
    );
    Study {
        name: "fork-latency",
        chart: XyChart {
            title: "Starting a child: fork + exec against posix_spawn".to_string(),
            x_desc: "parent's written memory (MiB)".to_string(),
            y_desc: "µs to start one child".to_string(),
            legend: "how, and where from".to_string(),
            series,
        },
        text,
    }
}

/// For each fork in `trace`, in order: (its number from 1, the
/// reverse-map entries it made).
fn chains_per_fork(config: Config, trace: &[TraceOp]) -> Vec<(u64, u64)> {
    let mut sim = Sim::new(PolicyKind::Linux, config);
    sim.keep_events(true);
    let mut points = Vec::new();
    for op in trace {
        let _ = sim.take_events();
        if let Err(e) = sim.apply_traced(op) {
            panic!("studies: fork-chain failed: {e}");
        }
        if matches!(op.op, Op::Fork { .. }) {
            let made: u64 = sim
                .take_events()
                .iter()
                .filter_map(|e| match e {
                    Event::Work { kind: WorkKind::RmapEntry, count } => Some(*count),
                    _ => None,
                })
                .sum();
            points.push((points.len() as u64 + 1, made));
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ys(series: &XySeries) -> Vec<u64> {
        series.points.iter().map(|p| p.1).collect()
    }

    /// Huge pages copied whole copy far more than 4 KiB pages at every
    /// point; split huge pages copy exactly what no huge pages copy.
    #[test]
    fn huge_pages_copied_whole_copy_the_heap() {
        let study = huge_pages();
        let [never, split, copy] = &study.chart.series[..] else { panic!("three settings") };
        assert_eq!(ys(never), ys(split));
        assert!(ys(copy).iter().zip(ys(never)).all(|(c, n)| *c >= 4 * n), "{:?} vs {:?}", ys(copy), ys(never));
        assert_eq!(ys(copy).last(), Some(&(12 * 1024)), "six of the eight huge pages written, whole");
    }

    /// Without reuse fork `g` makes `g + 1` chain entries; with reuse at
    /// most three.
    #[test]
    fn anon_vma_chains_grow_only_without_reuse() {
        let study = anon_vma_chains();
        let [grows, reused] = &study.chart.series[..] else { panic!("two settings") };
        assert!(grows.points.iter().all(|&(g, made)| made == g + 1), "{:?}", grows.points);
        assert!(reused.points.iter().all(|&(_, made)| made <= 3), "{:?}", reused.points);
        assert!(study.text.contains("65 chain entries"));
    }
}

#[cfg(test)]
mod fork_latency_tests {
    use super::*;

    /// The figure's shape: fork + exec under `linux` grows with the parent
    /// and follows the measurement within 25 % at every size; `linux-odf`
    /// and `posix_spawn` stay flat, within a few per cent of the measured
    /// `posix_spawn`.
    #[test]
    fn fork_exec_grows_and_on_demand_fork_and_spawn_stay_flat() {
        let study = fork_latency();
        let [measured, linux, odf, spawn_measured, spawn] = &study.chart.series[..] else { panic!("five lines") };
        for ((mib, real), (_, model)) in measured.points.iter().zip(&linux.points) {
            let ratio = *model as f64 / *real as f64;
            assert!((0.75..=1.25).contains(&ratio), "{mib} MiB: {model} µs predicted, {real} µs measured");
        }
        let grows = |s: &XySeries| s.points.last().unwrap().1 as f64 / s.points.first().unwrap().1 as f64;
        assert!(grows(linux) > 20.0 && grows(measured) > 20.0, "fork + exec grows with the parent");
        for flat in [odf, spawn_measured, spawn] {
            assert!(grows(flat) < 1.1, "{}: {:?}", flat.label, flat.points);
            let ratio = flat.points.last().unwrap().1 as f64 / spawn_measured.points.last().unwrap().1 as f64;
            assert!((0.9..=1.1).contains(&ratio), "{}: {:?}", flat.label, flat.points);
        }
    }
}
