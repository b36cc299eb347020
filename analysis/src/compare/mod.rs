//! `cowsim compare`: every input under every policy, with a summary and
//! charts (docs/report.md describes every file it writes).
//!
//! A comparison goes in five steps:
//!
//! 1. **Resolve** the inputs ([`input`]): trace files, real captures and
//!    workload names from the command line, or the built-in suite.
//! 2. **Load** each input's ops into memory once (importing captures), so
//!    every policy replays exactly the same sequence.
//! 3. **Run** every input × policy pair. Runs are independent, so rayon
//!    spreads them over the cores; a run itself is one sequential replay.
//!    Results are collected in input-then-policy order whatever order the
//!    threads finish in.
//! 4. **Check** every run's read digest against the reference (`eager`)
//!    run of the same input ([`table`]): the differential oracle. Inputs
//!    that carry the real kernel's faults also get each policy's agreement
//!    with them (docs/fidelity.md).
//! 5. **Write** the output folder:
//!
//! ```text
//! DIR/summary.json  summary.csv  summary.md      one row per input × policy
//! DIR/runs/INPUT/POLICY.json                     each run's cowsim.report/1
//! DIR/charts/INPUT/{faults,copies,pages,objects}.{svg,png}
//! DIR/charts/summary-{copies,faults,hidden-peak,max-chain}.{svg,png}
//! DIR/charts/summary-fidelity.{svg,png}              only with recorded faults
//! ```
//!
//! Output is a pure function of the inputs and options: no timestamps, no
//! absolute paths, nothing ordered by a hash map, so regenerating gives
//! byte-identical files. When DIR already holds an earlier comparison (its
//! `summary.json` says so), files under `runs/` and `charts/` that this
//! comparison did not write are removed, so DIR never shows stale runs.
//!
//! A failed run (an `expect` not met) or a digest mismatch does not stop
//! the comparison: everything is written, the summary names the problem,
//! and [`Outcome::exit_code`] is 1. Bad input does not stop it either: an
//! input that cannot be resolved, read or replayed (an unknown task) is
//! left out, the others are compared and written, `summary.json` lists the
//! rejected ones with their errors, and the exit code is 2. Only when no
//! input is good is nothing written.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sim::PageCache;
use sim::{Config, PolicyKind, Sim};
use workloads::import::ImportError;
use workloads::trace::TraceError;

use crate::charts::ChartError;
use crate::charts::comparison::{self, AgreementRow, InputRuns, PolicyRun};
use crate::costs::{NamedProfile, Prediction, PricedReport, predict};
use crate::exit;
use crate::output::{self, OutputError};
use crate::replay::{self, ReplayError};
use workloads::import::ImportSettings;

pub mod input;
pub mod table;

use input::{PreparedInput, builtin_suite, prepare, resolve_input};
use table::{
    Agreement, DigestCheck, InputInfo, Row, Run, SUMMARY_SCHEMA, Summary, agreement, check_digests, reference_policy,
};

/// About this many points of time series per run when the sampling
/// interval is chosen automatically: plenty for a 1000-pixel chart, and
/// few enough that sampling (which walks the whole world to count hidden
/// pages and chain lengths) stays a small part of a long run.
pub const TARGET_SAMPLES: u64 = 200;

/// What to compare and where to put it.
#[derive(Clone, Debug)]
pub struct Options {
    /// Trace paths, capture paths or workload names; empty means the
    /// built-in suite.
    pub inputs: Vec<String>,
    /// The policies, in any order (they are run and shown in
    /// `PolicyKind::ALL` order).
    pub policies: Vec<PolicyKind>,
    /// The output folder.
    pub out: PathBuf,
    /// Sample the time series every this many ops; `None` picks
    /// [`auto_sample_every`] per input.
    pub sample_every: Option<u64>,
    /// Run the invariant checker after every op.
    pub check_invariants: bool,
    /// Show a progress bar (the caller decides: only on a terminal).
    pub progress: bool,
    /// Price every run with this cost profile (`--costs`, docs/costs.md).
    pub costs: Option<NamedProfile>,
}

impl Options {
    /// Every policy, the built-in suite, into `out`; no checks, no progress.
    pub fn suite(out: impl Into<PathBuf>) -> Options {
        Options {
            inputs: Vec::new(),
            policies: PolicyKind::ALL.to_vec(),
            out: out.into(),
            sample_every: None,
            check_invariants: false,
            progress: false,
            costs: None,
        }
    }
}

/// Why a comparison could not be made. Every one of these is bad input or
/// an unusable output folder: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("{}: is a folder; name the trace files in it", .path.display())]
    InputIsFolder { path: PathBuf },
    #[error("{argument:?} is neither a trace file nor a workload{}", known_workloads(.workloads))]
    UnknownInput { argument: String, workloads: Vec<&'static str> },
    #[error("no policies to compare")]
    NoPolicies,
    #[error("two inputs are both called {label:?} (output folders are named by input); rename one")]
    DuplicateLabel { label: String },
    #[error("{0}")]
    Trace(#[from] TraceError),
    #[error("{0}")]
    Import(#[from] ImportError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Chart(#[from] ChartError),
    #[error("--out {0}")]
    Output(OutputError),
    #[error("{}", nothing_to_compare(.errors))]
    NothingToCompare { errors: Vec<CompareError> },
}

/// Every bad input's error, one a line, after a first line saying so.
fn nothing_to_compare(errors: &[CompareError]) -> String {
    let mut text = String::from("no input could be compared:");
    for error in errors {
        text.push_str(&format!("\n  {error}"));
    }
    text
}

fn known_workloads(names: &[&str]) -> String {
    format!("; known workloads: {}", names.join(", "))
}

/// What a comparison produced.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    /// Every file written, relative to the output folder, sorted.
    pub files: Vec<PathBuf>,
    /// The inputs set aside as bad input, with why, in command-line order
    /// (those that failed to resolve or load come before those whose
    /// replay met a bad op).
    pub rejected: Vec<CompareError>,
}

impl Outcome {
    /// The process exit code (see [`crate::exit::of_comparison`]).
    pub fn exit_code(&self) -> u8 {
        exit::of_comparison(&self.summary, self.rejected.len())
    }
}

/// The sampling interval that gives about [`TARGET_SAMPLES`] points for
/// `ops` operations (every op for short traces).
pub fn auto_sample_every(ops: usize) -> u64 {
    (ops as u64).div_ceil(TARGET_SAMPLES).max(1)
}

/// Runs the comparison and writes the output folder.
///
/// Bad inputs do not stop the others: every input that cannot be resolved,
/// read or replayed is set aside with its error ([`Outcome::rejected`]),
/// the good ones are compared and written as usual, and the exit code is 2.
/// When no input is good there is nothing to write and the errors are
/// returned.
pub fn compare(options: &Options) -> Result<Outcome, CompareError> {
    output::check_folder_target(&options.out).map_err(CompareError::Output)?;
    let policies = in_canonical_order(&options.policies);
    let reference = reference_policy(&policies).ok_or(CompareError::NoPolicies)?;
    let mut rejected = Vec::new();
    let inputs = if options.inputs.is_empty() {
        builtin_suite()
    } else {
        options.inputs.iter().filter_map(|a| keep_good(resolve_input(a), &mut rejected)).collect()
    };
    let settings = ImportSettings::default();
    let prepared: Vec<Result<PreparedInput, CompareError>> =
        inputs.into_par_iter().map(|feed| prepare(feed, &settings)).collect();
    let prepared: Vec<PreparedInput> = prepared.into_iter().filter_map(|p| keep_good(p, &mut rejected)).collect();
    let inputs = unique_labels(prepared, &mut rejected);
    let sample_every: Vec<u64> =
        inputs.iter().map(|i| options.sample_every.unwrap_or_else(|| auto_sample_every(i.ops))).collect();

    let progress = progress_bar(options.progress, (inputs.len() * policies.len()) as u64);
    let runs: Vec<Result<Vec<Run>, CompareError>> = (0..inputs.len())
        .into_par_iter()
        .map(|i| {
            let runs = run_input(i, &inputs[i], &policies, &run_config(options, &inputs[i], sample_every[i]));
            progress.inc(policies.len() as u64);
            runs
        })
        .collect();
    let (inputs, sample_every, runs) = drop_inputs_with_bad_ops(inputs, sample_every, runs, &mut rejected);
    if inputs.is_empty() {
        progress.finish_and_clear();
        return Err(CompareError::NothingToCompare { errors: rejected });
    }

    let infos = inputs.iter().zip(&sample_every).map(|(input, every)| input_info(input, *every)).collect();
    let mut summary = summarise(infos, &policies, reference, &runs);
    summary.rejected = rejected.iter().map(ToString::to_string).collect();
    let predictions: Option<Vec<Prediction>> =
        options.costs.as_ref().map(|profile| runs.iter().map(|run| predict(&run.report, profile)).collect());
    if let (Some(profile), Some(predictions)) = (&options.costs, &predictions) {
        table::price_rows(&mut summary, predictions, profile);
    }

    let mut files = report_files(&inputs, &runs, predictions.as_deref());
    files.extend(summary_files(&summary));
    files.extend(chart_files(&inputs, &policies, &runs, &summary.fidelity, &progress)?);
    if options.inputs.is_empty() {
        // The built-in suite (the main job) also writes the studies.
        files.extend(crate::studies::files()?);
    }
    progress.finish_and_clear();

    let had_earlier_comparison = holds_a_comparison(&options.out);
    output::write_files(&options.out, &files).map_err(CompareError::Output)?;
    let written: BTreeSet<PathBuf> = files.iter().map(|(path, _)| path.clone()).collect();
    if had_earlier_comparison {
        remove_stale(&options.out, &written)?;
    }
    Ok(Outcome { summary, files: written.into_iter().collect(), rejected })
}

/// The settings of one run: a real capture comes from a machine whose page
/// cache already held the program's files; anything else starts cold.
fn run_config(options: &Options, input: &PreparedInput, sample_every: u64) -> Config {
    let cache = if input.feed.importer().is_some() { PageCache::Warm } else { PageCache::Cold };
    Config::default().sample_every(sample_every).check_invariants(options.check_invariants).page_cache(cache)
}

/// The value of a good result; a bad one's error is kept in `rejected`.
fn keep_good<T>(result: Result<T, CompareError>, rejected: &mut Vec<CompareError>) -> Option<T> {
    result.map_err(|error| rejected.push(error)).ok()
}

/// The inputs with their labels unique: output folders are named by label,
/// so a later input with a label already taken is rejected.
fn unique_labels(inputs: Vec<PreparedInput>, rejected: &mut Vec<CompareError>) -> Vec<PreparedInput> {
    let mut seen = BTreeSet::new();
    let mut unique = Vec::new();
    for input in inputs {
        if seen.insert(input.label.clone()) {
            unique.push(input);
        } else {
            rejected.push(CompareError::DuplicateLabel { label: input.label });
        }
    }
    unique
}

/// Sets aside every input whose replay met bad input (a line that does not
/// parse, an unknown task: wrong under every policy), and renumbers the
/// runs of the inputs that remain.
fn drop_inputs_with_bad_ops(
    inputs: Vec<PreparedInput>,
    sample_every: Vec<u64>,
    runs: Vec<Result<Vec<Run>, CompareError>>,
    rejected: &mut Vec<CompareError>,
) -> (Vec<PreparedInput>, Vec<u64>, Vec<Run>) {
    let mut kept_inputs = Vec::new();
    let mut kept_every = Vec::new();
    let mut kept_runs = Vec::new();
    for ((input, every), result) in inputs.into_iter().zip(sample_every).zip(runs) {
        match result {
            Ok(runs) => {
                let index = kept_inputs.len();
                kept_runs.extend(runs.into_iter().map(|run| Run { input: index, ..run }));
                kept_inputs.push(input);
                kept_every.push(every);
            }
            Err(error) => rejected.push(error),
        }
    }
    (kept_inputs, kept_every, kept_runs)
}

/// The policies deduplicated, in `PolicyKind::ALL` order.
fn in_canonical_order(policies: &[PolicyKind]) -> Vec<PolicyKind> {
    PolicyKind::ALL.into_iter().filter(|p| policies.contains(p)).collect()
}

fn progress_bar(visible: bool, length: u64) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs and charts")
        .expect("the progress template is valid")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix("comparing");
    bar
}

/// Replays one input under every policy in lockstep, streaming, through
/// the one replay driver. Bad input is an error; a run whose `expect` is not
/// met stops there and is reported as failed.
fn run_input(
    index: usize,
    input: &PreparedInput,
    policies: &[PolicyKind],
    config: &Config,
) -> Result<Vec<Run>, CompareError> {
    let sims = policies.iter().map(|p| Sim::new(*p, config.clone())).collect();
    let runs = replay::replay_feed(&input.feed, sims, &ImportSettings::default())?;
    let runs = runs.into_iter().zip(policies).map(|(run, policy)| Run {
        input: index,
        policy: *policy,
        report: run.report,
        failure: run.failure.map(|failure| failure.to_string()),
    });
    Ok(runs.collect())
}

/// The summary of a comparison: a row per run with its digest verdict,
/// and one line per problem (a failed run, a digest mismatch). `runs` must
/// be in input-then-policy order, each `Run::input` an index into `inputs`.
pub fn summarise(inputs: Vec<InputInfo>, policies: &[PolicyKind], reference: PolicyKind, runs: &[Run]) -> Summary {
    let checks = check_digests(runs, reference);
    let rows: Vec<Row> =
        runs.iter().zip(&checks).map(|(run, check)| Row::new(&inputs[run.input].label, run, *check)).collect();
    let fidelity: Vec<Agreement> = inputs
        .iter()
        .enumerate()
        .filter_map(|(index, info)| {
            let of_input: Vec<&Run> = runs.iter().filter(|r| r.input == index).collect();
            agreement(&info.label, &of_input)
        })
        .collect();
    let mut problems = Vec::new();
    for (run, check) in runs.iter().zip(&checks) {
        let label = &inputs[run.input].label;
        if let Some(failure) = &run.failure {
            problems.push(format!("{label}: {} failed: {failure}", run.policy));
        }
        if *check == DigestCheck::Mismatch {
            let oracle = runs
                .iter()
                .find(|r| r.input == run.input && r.policy == reference)
                .expect("a mismatch has a reference");
            problems.push(format!(
                "{label}: {} read digest {}, but {reference} read {}: the policies read different data (a simulator bug)",
                run.policy, run.report.read_digest, oracle.report.read_digest
            ));
        }
    }
    Summary {
        schema: SUMMARY_SCHEMA,
        policies: policies.iter().map(|p| p.name()).collect(),
        digest_reference: reference.name(),
        all_agree: problems.is_empty(),
        inputs,
        runs: rows,
        fidelity,
        problems,
        rejected: Vec::new(),
        costs: None,
    }
}

/// How `summary.json` lists a loaded input.
fn input_info(input: &PreparedInput, sample_every: u64) -> InputInfo {
    InputInfo {
        label: input.label.clone(),
        kind: input.kind(),
        trace: input.trace.clone(),
        ops: input.ops,
        sample_every,
    }
}

/// A file to write: its path relative to the output folder, and its bytes.
type OutputFile = (PathBuf, Vec<u8>);

fn pretty_json(value: &impl serde::Serialize) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(value).expect("reports and summaries serialise");
    text.push('\n');
    text.into_bytes()
}

/// Each run's report; with a cost profile, with its `predicted` section.
fn report_files(inputs: &[PreparedInput], runs: &[Run], predictions: Option<&[Prediction]>) -> Vec<OutputFile> {
    runs.iter()
        .enumerate()
        .map(|(index, run)| {
            let path = Path::new("runs").join(&inputs[run.input].label).join(format!("{}.json", run.policy.name()));
            let bytes = match predictions {
                Some(predictions) => pretty_json(&PricedReport::new(&run.report, &predictions[index])),
                None => pretty_json(&run.report),
            };
            (path, bytes)
        })
        .collect()
}

fn summary_files(summary: &Summary) -> Vec<OutputFile> {
    vec![
        (PathBuf::from("summary.json"), pretty_json(summary)),
        (PathBuf::from("summary.csv"), table::csv(&summary.runs).into_bytes()),
        (PathBuf::from("summary.md"), table::markdown(summary).into_bytes()),
    ]
}

/// Every chart of [`comparison::plan`], rendered in parallel, as SVG and
/// PNG files.
fn chart_files(
    inputs: &[PreparedInput],
    policies: &[PolicyKind],
    runs: &[Run],
    fidelity: &[Agreement],
    progress: &ProgressBar,
) -> Result<Vec<OutputFile>, CompareError> {
    let inputs: Vec<InputRuns> = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| InputRuns {
            label: &input.label,
            runs: runs
                .iter()
                .filter(|r| r.input == index)
                .map(|r| PolicyRun { policy: r.policy, report: &r.report, failed: r.failure.is_some() })
                .collect(),
        })
        .collect();
    let fidelity: Vec<AgreementRow> = fidelity
        .iter()
        .map(|a| AgreementRow {
            label: &a.input,
            recorded: a.recorded,
            agreement: &a.agreement,
            pages_at_exit: a.pages_at_exit,
            at_exit: &a.at_exit,
        })
        .collect();
    let planned = comparison::plan(&inputs, policies, &fidelity);
    progress.inc_length(planned.len() as u64);
    let rendered: Vec<Vec<OutputFile>> = planned
        .par_iter()
        .map(|(stem, chart)| {
            let (svg, png) = chart.render()?;
            progress.inc(1);
            Ok(vec![(stem.with_extension("svg"), svg.into_bytes()), (stem.with_extension("png"), png)])
        })
        .collect::<Result<_, CompareError>>()?;
    Ok(rendered.into_iter().flatten().collect())
}

/// Does `out` hold the output of an earlier comparison?
fn holds_a_comparison(out: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(out.join("summary.json")) else { return false };
    serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v["schema"] == SUMMARY_SCHEMA)
}

/// Removes files under `out/runs` and `out/charts` that are not in
/// `written` (relative paths), then the folders left empty.
fn remove_stale(out: &Path, written: &BTreeSet<PathBuf>) -> Result<(), CompareError> {
    for owned in ["runs", "charts"] {
        let mut found = Vec::new();
        list_tree(&out.join(owned), &mut found)?;
        for path in found.iter().rev() {
            let relative = path.strip_prefix(out).unwrap_or(path);
            let io = |source| CompareError::Io { path: path.clone(), source };
            if path.is_dir() {
                // Only succeeds when empty, which is the point.
                let _ = std::fs::remove_dir(path);
            } else if !written.contains(relative) {
                std::fs::remove_file(path).map_err(io)?;
            }
        }
    }
    Ok(())
}

/// Every file and folder under `folder`, parents before children.
fn list_tree(folder: &Path, found: &mut Vec<PathBuf>) -> Result<(), CompareError> {
    let Ok(listing) = std::fs::read_dir(folder) else { return Ok(()) };
    let mut entries: Vec<PathBuf> = listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        found.push(path.clone());
        if path.is_dir() {
            list_tree(&path, found)?;
        }
    }
    Ok(())
}
