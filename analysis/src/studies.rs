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
//!   without reuse.
//!
//! Every run is deterministic (fixed seeds, no clock), so the files are
//! byte-identical from one run to the next.

use std::path::PathBuf;

use plotters::style::RGBColor;
use sim::{Config, Event, Op, PolicyKind, Sim, Thp, TraceOp, WorkKind};
use workloads::generators;

use crate::charts::xy::{XyChart, XySeries};
use crate::charts::{ChartError, render_png, render_svg};

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
    vec![huge_pages(), anon_vma_chains()]
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

const COLOURS: [RGBColor; 3] = [RGBColor(0x00, 0x72, 0xB2), RGBColor(0x00, 0x9E, 0x73), RGBColor(0xD5, 0x5E, 0x00)];

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
