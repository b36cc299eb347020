//! The comparison's summary: one row per input × policy with the headline
//! numbers, the read-digest check, and the three files that show them
//! (`summary.json`, `summary.csv`, `summary.md`).
//!
//! Inputs imported from a perf capture also get a line in the *agreement
//! table* (see docs/fidelity.md): for each policy, the share of the faults
//! the real kernel recorded that the simulator took too, with the same class.
//! It is in `summary.json` (`fidelity`), in `summary.md`, and printed by the
//! command after a comparison ([`agreement_text`]).
//!
//! The digest check is the differential oracle (`eager`, which copies
//! everything at once, reads what every design must read) applied to a
//! whole comparison: under every policy an input must read exactly the data
//! it reads under `eager`. A policy that reads something else has a bug, so
//! its row says `MISMATCH` and the command exits 1. When `eager` is not among
//! the policies, the first policy compared stands in as the reference.
//!
//! Every column is defined once, in [`COLUMNS`]; the CSV header, the CSV
//! cells and the JSON rows' keys all come from that list, so they cannot
//! drift apart.

use std::fmt::Write;

use serde::Serialize;
use sim::PolicyKind;
use sim::report::Report;

use crate::costs::{NamedProfile, Prediction};

/// One finished (or failed) run: an input under a policy.
#[derive(Debug)]
pub struct Run {
    /// Index of the input in the comparison's input list.
    pub input: usize,
    pub policy: PolicyKind,
    /// The report; for a failed run, of the ops up to and including the
    /// one that failed.
    pub report: Report,
    /// Why the run failed (an `expect` or `expect_value` not met).
    pub failure: Option<String>,
}

/// How a run's read digest compares with its reference run's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestCheck {
    /// This run is the reference the others are compared with.
    Reference,
    /// Same digest as the reference.
    Match,
    /// A different digest: the policy read other data. A simulator bug.
    Mismatch,
    /// This run or the reference failed, so there is nothing to compare.
    NotChecked,
}

impl DigestCheck {
    /// The word every output uses; a mismatch shouts.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestCheck::Reference => "reference",
            DigestCheck::Match => "match",
            DigestCheck::Mismatch => "MISMATCH",
            DigestCheck::NotChecked => "not_checked",
        }
    }
}

impl Serialize for DigestCheck {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The reference policy of a comparison: `eager` when it is compared,
/// otherwise the first policy.
pub fn reference_policy(policies: &[PolicyKind]) -> Option<PolicyKind> {
    policies.iter().copied().find(|p| *p == PolicyKind::Eager).or_else(|| policies.first().copied())
}

/// Checks every run's read digest against its input's reference run.
/// Returns one verdict per run, in the order of `runs`.
pub fn check_digests(runs: &[Run], reference: PolicyKind) -> Vec<DigestCheck> {
    runs.iter()
        .map(|run| {
            let Some(oracle) = runs.iter().find(|r| r.input == run.input && r.policy == reference) else {
                return DigestCheck::NotChecked;
            };
            if run.policy == reference {
                DigestCheck::Reference
            } else if run.failure.is_some() || oracle.failure.is_some() {
                DigestCheck::NotChecked
            } else if run.report.read_digest == oracle.report.read_digest {
                DigestCheck::Match
            } else {
                DigestCheck::Mismatch
            }
        })
        .collect()
}

/// One row of the summary: the headline numbers of one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub input: String,
    pub policy: String,
    pub ops: u64,
    pub accesses: u64,
    pub faults: u64,
    pub zero_fill: u64,
    pub zero_page: u64,
    pub page_in: u64,
    pub map: u64,
    pub cow_copy: u64,
    pub cow_move: u64,
    pub reuse: u64,
    pub segv: u64,
    pub protection: u64,
    pub pages_copied: u64,
    pub pages_moved: u64,
    pub resident_peak: u64,
    pub hidden_peak: u64,
    pub objects_created: u64,
    pub objects_alive_peak: u64,
    pub max_chain: u64,
    pub mean_chain: f64,
    pub shadows_created: u64,
    pub collapses: u64,
    pub bypasses: u64,
    pub push_copy: u64,
    pub amap_copy: u64,
    pub chain_steps: u64,
    /// The report's `fidelity.agreement` (as [`fraction_text`] writes it);
    /// `None` (an empty CSV cell, `null` in JSON) when the input recorded
    /// no faults.
    pub fidelity_agreement: Option<f64>,
    /// The report's `exit_residency.agreement` (as [`fraction_text`] writes
    /// it); `None` when the capture did not record the pages present at
    /// exit.
    pub at_exit_agreement: Option<f64>,
    pub read_digest: String,
    pub digest_check: DigestCheck,
    /// `ok` or `failed`.
    pub status: &'static str,
    /// The predicted times, when the comparison was given a cost profile
    /// (`--costs`); without one the row has none of these keys.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub predicted: Option<RowTimes>,
}

/// A run's predicted times (docs/costs.md), in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RowTimes {
    /// The whole run.
    pub predicted_ns: u64,
    /// The part in page faults.
    pub predicted_faults_ns: u64,
    /// The mean fork; `None` (`null`, an empty cell) for a run without a fork.
    pub predicted_fork_ns: Option<u64>,
}

impl RowTimes {
    pub fn of(prediction: &Prediction) -> RowTimes {
        RowTimes {
            predicted_ns: prediction.total_ns,
            predicted_faults_ns: prediction.faults_ns,
            predicted_fork_ns: prediction.fork_latency_ns,
        }
    }
}

impl Row {
    /// The row of `run`, labelled with its input's label.
    pub fn new(input: &str, run: &Run, digest_check: DigestCheck) -> Row {
        let r = &run.report;
        Row {
            input: input.to_string(),
            policy: run.policy.name().to_string(),
            ops: r.ops,
            accesses: r.accesses,
            faults: r.faults.total,
            zero_fill: r.faults.zero_fill,
            zero_page: r.faults.zero_page,
            page_in: r.faults.page_in,
            map: r.faults.map,
            cow_copy: r.faults.cow_copy,
            cow_move: r.faults.cow_move,
            reuse: r.faults.reuse,
            segv: r.faults.segv,
            protection: r.faults.protection,
            pages_copied: r.pages.copied,
            pages_moved: r.pages.moved,
            resident_peak: r.pages.resident_peak,
            hidden_peak: r.pages.hidden_peak,
            objects_created: r.objects.created,
            objects_alive_peak: r.objects.alive_peak,
            max_chain: r.objects.max_chain,
            mean_chain: three_decimals(r.objects.mean_chain),
            shadows_created: r.work.shadows_created,
            collapses: r.work.collapses,
            bypasses: r.work.bypasses,
            push_copy: r.work.push_copy,
            amap_copy: r.work.amap_copy,
            chain_steps: r.work.chain_steps,
            fidelity_agreement: r.fidelity.as_ref().map(|f| shown_fraction(f.agreement)),
            at_exit_agreement: r.exit_residency.as_ref().map(|e| shown_fraction(e.agreement)),
            read_digest: r.read_digest.clone(),
            digest_check,
            status: if run.failure.is_some() { "failed" } else { "ok" },
            predicted: None,
        }
    }
}

/// Decimal numbers are shown with three decimals in every output, so JSON
/// and CSV agree.
fn three_decimals(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// The most decimals [`fraction_text`] writes: a share of two counts below
/// 2^40 differs from 0 and from 1 by more than that.
const MOST_DECIMALS: usize = 12;

/// A fraction from 0 to 1 as every output writes it: three decimals, or as
/// many more as it takes not to write a value that is not exactly 1 (or 0)
/// as `1.000` (or `0.000`). 4684 of 4686 recorded faults is `0.9996`:
/// close, but a fault missed is worth seeing.
pub fn fraction_text(value: f64) -> String {
    let mut text = String::new();
    for decimals in 3..=MOST_DECIMALS {
        text = format!("{value:.decimals$}");
        let rounded: f64 = text.parse().unwrap_or(value);
        let lost = (rounded == 1.0 && value != 1.0) || (rounded == 0.0 && value != 0.0);
        if !lost {
            break;
        }
    }
    text
}

/// A fraction rounded as [`fraction_text`] writes it, for JSON, so that
/// JSON, CSV and Markdown show the same number.
fn shown_fraction(value: f64) -> f64 {
    fraction_text(value).parse().unwrap_or(value)
}

/// A column: its name (CSV header and JSON key) and its cell text.
type Column = (&'static str, fn(&Row) -> String);

/// Every column of `summary.csv`, in order. Names equal the JSON keys.
pub const COLUMNS: &[Column] = &[
    ("input", |r| r.input.clone()),
    ("policy", |r| r.policy.clone()),
    ("ops", |r| r.ops.to_string()),
    ("accesses", |r| r.accesses.to_string()),
    ("faults", |r| r.faults.to_string()),
    ("zero_fill", |r| r.zero_fill.to_string()),
    ("zero_page", |r| r.zero_page.to_string()),
    ("page_in", |r| r.page_in.to_string()),
    ("map", |r| r.map.to_string()),
    ("cow_copy", |r| r.cow_copy.to_string()),
    ("cow_move", |r| r.cow_move.to_string()),
    ("reuse", |r| r.reuse.to_string()),
    ("segv", |r| r.segv.to_string()),
    ("protection", |r| r.protection.to_string()),
    ("pages_copied", |r| r.pages_copied.to_string()),
    ("pages_moved", |r| r.pages_moved.to_string()),
    ("resident_peak", |r| r.resident_peak.to_string()),
    ("hidden_peak", |r| r.hidden_peak.to_string()),
    ("objects_created", |r| r.objects_created.to_string()),
    ("objects_alive_peak", |r| r.objects_alive_peak.to_string()),
    ("max_chain", |r| r.max_chain.to_string()),
    ("mean_chain", |r| format!("{:.3}", r.mean_chain)),
    ("shadows_created", |r| r.shadows_created.to_string()),
    ("collapses", |r| r.collapses.to_string()),
    ("bypasses", |r| r.bypasses.to_string()),
    ("push_copy", |r| r.push_copy.to_string()),
    ("amap_copy", |r| r.amap_copy.to_string()),
    ("chain_steps", |r| r.chain_steps.to_string()),
    ("fidelity_agreement", |r| r.fidelity_agreement.map_or_else(String::new, fraction_text)),
    ("at_exit_agreement", |r| r.at_exit_agreement.map_or_else(String::new, fraction_text)),
    ("read_digest", |r| r.read_digest.clone()),
    ("digest_check", |r| r.digest_check.as_str().to_string()),
    ("status", |r| r.status.to_string()),
];

/// The columns a comparison with a cost profile adds after [`COLUMNS`].
pub const PREDICTED_COLUMNS: &[Column] = &[
    ("predicted_ns", |r| r.predicted.as_ref().map_or_else(String::new, |p| p.predicted_ns.to_string())),
    ("predicted_faults_ns", |r| r.predicted.as_ref().map_or_else(String::new, |p| p.predicted_faults_ns.to_string())),
    ("predicted_fork_ns", |r| {
        r.predicted.as_ref().and_then(|p| p.predicted_fork_ns).map_or_else(String::new, |ns| ns.to_string())
    }),
];

/// The columns of these rows: [`COLUMNS`], and [`PREDICTED_COLUMNS`] when
/// the rows were priced.
fn columns_of(rows: &[Row]) -> Vec<Column> {
    let priced = rows.iter().any(|row| row.predicted.is_some());
    COLUMNS.iter().chain(if priced { PREDICTED_COLUMNS } else { &[] }).copied().collect()
}

/// `summary.csv`: a header line and one line per row (RFC 4180 quoting
/// where a cell needs it).
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::new();
    let columns = columns_of(rows);
    let header: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = columns.iter().map(|(_, cell)| csv_cell(&cell(row))).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// An input as `summary.json` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct InputInfo {
    pub label: String,
    /// `trace`, `workload`, or the capture format it was imported from:
    /// `perf` or `lackey`.
    pub kind: &'static str,
    /// The `trace` field of its reports.
    pub trace: String,
    /// The number of ops replayed (for a capture, of the imported trace).
    pub ops: usize,
    /// The time series' sampling interval used for it.
    pub sample_every: u64,
}

/// Everything `summary.json` holds (schema `cowsim.compare/1`).
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub schema: &'static str,
    pub policies: Vec<&'static str>,
    /// The policy every digest is compared with.
    pub digest_reference: &'static str,
    /// True when no run has a digest mismatch and no run failed.
    pub all_agree: bool,
    pub inputs: Vec<InputInfo>,
    pub runs: Vec<Row>,
    /// The agreement table: one entry per input with recorded faults, in
    /// input order; empty when no input has any.
    pub fidelity: Vec<Agreement>,
    /// One line per failed run or mismatch, in input then policy order.
    pub problems: Vec<String>,
    /// The inputs left out as bad input, each with its error; absent from
    /// `summary.json` when every input was good.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<String>,
    /// The cost profile the rows' predicted times come from; absent
    /// without `--costs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub costs: Option<CostsInfo>,
}

/// Which profile priced a comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CostsInfo {
    /// The profile's file name.
    pub profile: String,
    /// The machine it was measured on.
    pub machine: String,
}

/// Prices every row with `profile`: each run's prediction, in the order of
/// `runs` (the rows' order), and the summary's `costs`.
pub fn price_rows(summary: &mut Summary, predictions: &[Prediction], profile: &NamedProfile) {
    for (row, prediction) in summary.runs.iter_mut().zip(predictions) {
        row.predicted = Some(RowTimes::of(prediction));
    }
    summary.costs = Some(CostsInfo { profile: profile.name.clone(), machine: profile.profile.machine.to_string() });
}

/// How well each policy faulted where the real kernel did, on one input
/// (see docs/fidelity.md).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Agreement {
    /// The input's label.
    pub input: String,
    /// Accesses carrying a recorded fault (the most any run replayed: a
    /// failed run stops early).
    pub recorded: u64,
    /// One entry per policy, in the order of [`Summary::policies`]: the
    /// share of recorded faults the policy took too, with the same class
    /// (as [`fraction_text`] writes it); `None` for a run that replayed no
    /// recorded fault.
    pub agreement: Vec<Option<f64>>,
    /// Pages present at the processes' exits in the real kernel or in a
    /// run (the most any run compared); 0 when the capture did not record
    /// them (see docs/fidelity.md).
    #[serde(skip_serializing_if = "is_zero")]
    pub pages_at_exit: u64,
    /// Per policy, the share of those pages present on both sides (as
    /// [`fraction_text`] writes it); empty when the capture did not record
    /// them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub at_exit: Vec<Option<f64>>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The agreement table of one input's runs (in policy order), or `None`
/// when none of them saw a recorded fault.
pub fn agreement(input: &str, runs: &[&Run]) -> Option<Agreement> {
    let recorded = runs.iter().filter_map(|r| r.report.fidelity.as_ref()).map(|f| f.recorded).max()?;
    let agreement = runs.iter().map(|r| r.report.fidelity.as_ref().map(|f| shown_fraction(f.agreement))).collect();
    let exits = || runs.iter().map(|r| r.report.exit_residency.as_ref());
    let pages_at_exit = exits().flatten().map(|e| e.both + e.kernel_only + e.simulator_only).max().unwrap_or(0);
    let at_exit =
        if pages_at_exit == 0 { Vec::new() } else { exits().map(|e| e.map(|e| shown_fraction(e.agreement))).collect() };
    Some(Agreement { input: input.to_string(), recorded, agreement, pages_at_exit, at_exit })
}

/// The agreement table as aligned text for a terminal, or `None` when no
/// input recorded faults.
pub fn agreement_text(summary: &Summary) -> Option<String> {
    if summary.fidelity.is_empty() {
        return None;
    }
    let mut header = vec!["input".to_string(), "recorded".to_string()];
    header.extend(summary.policies.iter().map(|p| p.to_string()));
    let mut lines = vec![header];
    for row in &summary.fidelity {
        let mut cells = vec![row.input.clone(), row.recorded.to_string()];
        cells.extend(row.agreement.iter().map(|a| a.map_or_else(|| "-".to_string(), fraction_text)));
        lines.push(cells);
    }
    let mut out = String::from("agreement with the real kernel's recorded page faults (see docs/fidelity.md):\n");
    push_aligned(&mut out, &lines);
    let with_exits: Vec<&Agreement> = summary.fidelity.iter().filter(|row| !row.at_exit.is_empty()).collect();
    if !with_exits.is_empty() {
        let mut header = vec!["input".to_string(), "pages".to_string()];
        header.extend(summary.policies.iter().map(|p| p.to_string()));
        let mut lines = vec![header];
        for row in with_exits {
            let mut cells = vec![row.input.clone(), row.pages_at_exit.to_string()];
            cells.extend(row.at_exit.iter().map(|a| a.map_or_else(|| "-".to_string(), fraction_text)));
            lines.push(cells);
        }
        out.push_str("pages present at the processes' exits, the share present on both sides:\n");
        push_aligned(&mut out, &lines);
    }
    Some(out)
}

/// Appends `lines` as a table: the first column left-aligned, the others
/// right-aligned, each as wide as its widest cell.
fn push_aligned(out: &mut String, lines: &[Vec<String>]) {
    let widths: Vec<usize> =
        (0..lines[0].len()).map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0)).collect();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, width))| if c == 0 { format!("{cell:<width$}") } else { format!("{cell:>width$}") })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
}

/// What the agreement table shows, in one sentence.
pub const AGREEMENT_CAPTION: &str = "The share of the page faults a perf capture recorded that each policy also \
     took, finding the same thing in its page table (no entry, or an entry without the permission); \
     see docs/fidelity.md";

/// The schema name of `summary.json`.
pub const SUMMARY_SCHEMA: &str = "cowsim.compare/1";

/// `summary.md`: a short verdict and one table with the headline columns.
pub fn markdown(summary: &Summary) -> String {
    const HEADLINE: &[(&str, &str)] = &[
        ("input", "input"),
        ("policy", "policy"),
        ("faults", "faults"),
        ("zero_fill", "zero_fill"),
        ("zero_page", "zero_page"),
        ("page_in", "page_in"),
        ("map", "map"),
        ("cow_copy", "cow_copy"),
        ("cow_move", "cow_move"),
        ("reuse", "reuse"),
        ("segv", "segv"),
        ("protection", "protection"),
        ("pages_copied", "pages copied"),
        ("resident_peak", "resident peak"),
        ("hidden_peak", "hidden peak"),
        ("objects_created", "objects created"),
        ("objects_alive_peak", "objects alive peak"),
        ("max_chain", "longest chain"),
        ("fidelity_agreement", "agreement"),
        ("read_digest", "read digest"),
        ("digest_check", "digest check"),
    ];
    const PREDICTED: &[(&str, &str)] =
        &[("predicted_ns", "predicted ns"), ("predicted_faults_ns", "in faults ns"), ("predicted_fork_ns", "fork ns")];
    let every_column = columns_of(&summary.runs);
    let priced = summary.costs.is_some();
    let columns: Vec<Column> = HEADLINE
        .iter()
        .chain(if priced { PREDICTED } else { &[] })
        .map(|(key, title)| {
            let cell = every_column.iter().find(|(name, _)| name == key).expect("headline columns are CSV columns").1;
            (*title, cell)
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(out, "# cowsim compare\n");
    let _ = writeln!(
        out,
        "{} inputs under {} policies ({}). Read digests are checked against `{}`.\n",
        summary.inputs.len(),
        summary.policies.len(),
        summary.policies.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "),
        summary.digest_reference
    );
    if summary.all_agree {
        let _ = writeln!(out, "Every run finished and every policy read the same data as the reference.\n");
    } else {
        let _ = writeln!(out, "**Problems:**\n");
        for problem in &summary.problems {
            let _ = writeln!(out, "- {problem}");
        }
        out.push('\n');
    }
    if !summary.rejected.is_empty() {
        let _ = writeln!(out, "**Left out as bad input:**\n");
        for rejected in &summary.rejected {
            let _ = writeln!(out, "- {rejected}");
        }
        out.push('\n');
    }
    markdown_agreement(summary, &mut out);
    if let Some(costs) = &summary.costs {
        let _ = writeln!(
            out,
            "Predicted times are priced with the cost profile `{}`, measured on {} (docs/costs.md).\n",
            costs.profile, costs.machine
        );
    }
    let _ = writeln!(out, "## Every run\n");
    let titles: Vec<&str> = columns.iter().map(|(title, _)| *title).collect();
    let _ = writeln!(out, "| {} |", titles.join(" | "));
    let rule: Vec<&str> = columns.iter().map(|(title, _)| if is_text_column(title) { "---" } else { "---:" }).collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
    for row in &summary.runs {
        let cells: Vec<String> = columns.iter().map(|(_, cell)| markdown_cell(&cell(row))).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// The agreement table as a Markdown section, when there is one.
fn markdown_agreement(summary: &Summary, out: &mut String) {
    if summary.fidelity.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Agreement with the real kernel\n");
    let _ = writeln!(out, "{AGREEMENT_CAPTION}.\n");
    let _ = writeln!(out, "| input | recorded | {} |", summary.policies.join(" | "));
    let _ = writeln!(out, "|---|---:|{}", "---:|".repeat(summary.policies.len()));
    for row in &summary.fidelity {
        let cells: Vec<String> = row.agreement.iter().map(|a| a.map_or_else(String::new, fraction_text)).collect();
        let _ = writeln!(out, "| {} | {} | {} |", markdown_cell(&row.input), row.recorded, cells.join(" | "));
    }
    out.push('\n');
    let with_exits: Vec<&Agreement> = summary.fidelity.iter().filter(|row| !row.at_exit.is_empty()).collect();
    if with_exits.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Pages present at exit\n");
    let _ = writeln!(out, "{AT_EXIT_CAPTION}.\n");
    let _ = writeln!(out, "| input | pages | {} |", summary.policies.join(" | "));
    let _ = writeln!(out, "|---|---:|{}", "---:|".repeat(summary.policies.len()));
    for row in with_exits {
        let cells: Vec<String> = row.at_exit.iter().map(|a| a.map_or_else(String::new, fraction_text)).collect();
        let _ = writeln!(out, "| {} | {} | {} |", markdown_cell(&row.input), row.pages_at_exit, cells.join(" | "));
    }
    out.push('\n');
}

/// What the table of pages present at exit shows, in one sentence.
pub const AT_EXIT_CAPTION: &str = "Of the pages the recorded processes had present when they exited, in the \
     real kernel or in the simulator, the share present in both; a policy that faults where the kernel did \
     not shows here and not in the agreement above; see docs/fidelity.md";

fn is_text_column(title: &str) -> bool {
    matches!(title, "input" | "policy" | "read digest" | "digest check")
}

fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_with_commas_are_quoted() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("plain"), "plain");
    }

    #[test]
    fn fractions_keep_the_decimals_that_tell_them_from_zero_and_one() {
        assert_eq!(fraction_text(4684.0 / 4686.0), "0.9996");
        assert_eq!(fraction_text(1.0), "1.000");
        assert_eq!(fraction_text(0.0), "0.000");
        assert_eq!(fraction_text(0.25), "0.250");
        assert_eq!(fraction_text(1672.0 / 1677.0), "0.997");
        assert_eq!(fraction_text(99_999.0 / 100_000.0), "0.99999");
        assert_eq!(fraction_text(1.0 / 4686.0), "0.0002");
        assert_eq!(shown_fraction(4684.0 / 4686.0), 0.9996);
    }

    /// 4684 of 4686 recorded faults reads 0.9996, not 1.000, in the
    /// summary's Markdown, CSV and printed agreement table alike.
    #[test]
    fn near_one_agreement_is_not_printed_as_one() {
        let near = shown_fraction(4684.0 / 4686.0);
        let summary = Summary {
            schema: SUMMARY_SCHEMA,
            policies: vec!["eager", "linux"],
            digest_reference: "eager",
            all_agree: true,
            inputs: Vec::new(),
            runs: Vec::new(),
            fidelity: vec![Agreement {
                input: "python.perf".into(),
                recorded: 4686,
                agreement: vec![Some(0.342), Some(near)],
                pages_at_exit: 0,
                at_exit: Vec::new(),
            }],
            problems: Vec::new(),
            rejected: Vec::new(),
            costs: None,
        };
        assert!(markdown(&summary).contains("| python.perf | 4686 | 0.342 | 0.9996 |"), "{}", markdown(&summary));
        let text = agreement_text(&summary).unwrap();
        assert!(text.lines().any(|l| l.split_whitespace().eq(["python.perf", "4686", "0.342", "0.9996"])), "{text}");
        let cell = COLUMNS.iter().find(|(name, _)| *name == "fidelity_agreement").unwrap().1;
        let row = Row { fidelity_agreement: Some(near), ..row_for_test() };
        assert_eq!(cell(&row), "0.9996");
    }

    fn row_for_test() -> Row {
        Row {
            input: String::new(),
            policy: String::new(),
            ops: 0,
            accesses: 0,
            faults: 0,
            zero_fill: 0,
            zero_page: 0,
            page_in: 0,
            map: 0,
            cow_copy: 0,
            cow_move: 0,
            reuse: 0,
            segv: 0,
            protection: 0,
            pages_copied: 0,
            pages_moved: 0,
            resident_peak: 0,
            hidden_peak: 0,
            objects_created: 0,
            objects_alive_peak: 0,
            max_chain: 0,
            mean_chain: 0.0,
            shadows_created: 0,
            collapses: 0,
            bypasses: 0,
            push_copy: 0,
            amap_copy: 0,
            chain_steps: 0,
            fidelity_agreement: None,
            at_exit_agreement: None,
            read_digest: String::new(),
            digest_check: DigestCheck::Reference,
            status: "ok",
            predicted: None,
        }
    }

    /// Priced rows add three columns (a run without a fork leaves its
    /// fork cell empty, `null` in JSON); unpriced rows keep the pinned
    /// header.
    #[test]
    fn predicted_columns_only_with_a_profile() {
        let plain = csv(&[row_for_test()]);
        assert!(!plain.contains("predicted"), "{plain}");
        let times = RowTimes { predicted_ns: 1500, predicted_faults_ns: 500, predicted_fork_ns: None };
        let priced = csv(&[Row { predicted: Some(times), ..row_for_test() }]);
        let (header, line) = priced.split_once('\n').unwrap();
        assert!(header.ends_with(",status,predicted_ns,predicted_faults_ns,predicted_fork_ns"), "{header}");
        assert!(line.ends_with(",ok,1500,500,\n"), "{line}");
        let json = serde_json::to_value(Row {
            predicted: Some(RowTimes { predicted_fork_ns: Some(7), ..times }),
            ..row_for_test()
        });
        let json = json.unwrap();
        assert_eq!((json["predicted_ns"].as_u64(), json["predicted_fork_ns"].as_u64()), (Some(1500), Some(7)));
        assert!(serde_json::to_value(row_for_test()).unwrap().get("predicted_ns").is_none());
    }

    #[test]
    fn the_reference_is_eager_when_present() {
        use PolicyKind::*;
        assert_eq!(reference_policy(&[GnuMach, Eager]), Some(Eager));
        assert_eq!(reference_policy(&[MachNoCollapse, GnuMach]), Some(MachNoCollapse));
        assert_eq!(reference_policy(&[]), None);
    }
}
