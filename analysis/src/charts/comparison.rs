//! The charts of a comparison: which charts there are, and which numbers of
//! which reports each one shows. `compare` only renders what [`plan`]
//! lists, so adding a chart touches this file alone.
//!
//! ```text
//! charts/INPUT/{faults,copies,pages,objects}.{svg,png}    one set per input
//! charts/summary-{copies,faults,hidden-peak,max-chain}     one row per input
//! charts/summary-fidelity                                  when inputs recorded faults
//! ```

use std::path::{Path, PathBuf};

use sim::PolicyKind;
use sim::report::{Report, SeriesPoint};

use super::bars::{FaultBars, PolicyBars};
use super::heat::HeatTable;
use super::lines::{Panel, SeriesPanels, from_zero};
use super::{Chart, ChartError, render_png, render_svg};

/// One input of a comparison, with its runs in policy order.
pub struct InputRuns<'r> {
    pub label: &'r str,
    pub runs: Vec<PolicyRun<'r>>,
}

/// One run's report, and whether the run failed (its numbers then stop
/// early and are left out of the cross-input tables).
pub struct PolicyRun<'r> {
    pub policy: PolicyKind,
    pub report: &'r Report,
    pub failed: bool,
}

/// One row of the agreement table: an input with recorded faults, and
/// each policy's share of them (in policy order).
pub struct AgreementRow<'r> {
    pub label: &'r str,
    pub recorded: u64,
    pub agreement: &'r [Option<f64>],
    /// Pages present at the processes' exits on either side, and each
    /// policy's share present on both (empty when not recorded).
    pub pages_at_exit: u64,
    pub at_exit: &'r [Option<f64>],
}

/// Every chart of a comparison, each with its path under the output folder
/// (without the `.svg`/`.png` extension).
pub fn plan(inputs: &[InputRuns], policies: &[PolicyKind], fidelity: &[AgreementRow]) -> Vec<(PathBuf, AnyChart)> {
    let mut charts: Vec<(PathBuf, AnyChart)> = Vec::new();
    for input in inputs {
        let folder = Path::new("charts").join(input.label);
        charts.extend(input_charts(input).into_iter().map(|(stem, chart)| (folder.join(stem), chart)));
    }
    for (stem, title, note, measure) in SUMMARY_CHARTS {
        let rows = inputs
            .iter()
            .map(|input| {
                let values = input.runs.iter().map(|r| if r.failed { None } else { Some(measure(r.report)) }).collect();
                (input.label.to_string(), values)
            })
            .collect();
        let note = vec![note.to_string(), COUNT_SHADING.to_string()];
        let chart = HeatTable::counts(title.to_string(), note, policies.to_vec(), rows);
        charts.push((Path::new("charts").join(stem), AnyChart::Heat(chart)));
    }
    if let Some(chart) = fidelity_chart(policies, fidelity) {
        charts.push((Path::new("charts").join("summary-fidelity"), AnyChart::Heat(chart)));
    }
    if let Some(chart) = exit_residency_chart(policies, fidelity) {
        charts.push((Path::new("charts").join("summary-at-exit"), AnyChart::Heat(chart)));
    }
    charts
}

/// Any of the charts a comparison draws.
pub enum AnyChart {
    Faults(FaultBars),
    Bars(PolicyBars),
    Series(SeriesPanels),
    Heat(HeatTable),
}

impl AnyChart {
    /// The chart as SVG text and PNG bytes.
    pub fn render(&self) -> Result<(String, Vec<u8>), ChartError> {
        fn both(chart: &impl Chart) -> Result<(String, Vec<u8>), ChartError> {
            Ok((render_svg(chart)?, render_png(chart)?))
        }
        match self {
            AnyChart::Faults(c) => both(c),
            AnyChart::Bars(c) => both(c),
            AnyChart::Series(c) => both(c),
            AnyChart::Heat(c) => both(c),
        }
    }
}

/// How the count tables are shaded, under each one's title.
const COUNT_SHADING: &str = "shade: log scale within the row, from the smallest (palest) to the largest (darkest) \
     value of the copy-on-write designs; 0 white; (N×): eager, N times that largest value";

/// How the fraction tables are shaded, under each one's title.
const FRACTION_SHADING: &str =
    "shade: by how far short of 1, log scale: 0 white, 0.9 a third, 0.99 two thirds, 0.999 or more darkest";

/// The cross-input heat tables: file stem, title, what the number is, and
/// how to read it off a report.
type SummaryChart = (&'static str, &'static str, &'static str, fn(&Report) -> u64);

const SUMMARY_CHARTS: [SummaryChart; 4] = [
    ("summary-copies", "Pages copied", "pages copied by copy-on-write and eager copies", |r| r.pages.copied),
    ("summary-faults", "Faults", "page faults of every kind", |r| r.faults.total),
    ("summary-hidden-peak", "Hidden pages at the peak", "resident pages no mapping can reach, at their peak", |r| {
        r.pages.hidden_peak
    }),
    ("summary-max-chain", "Longest shadow chain", "VM objects in the longest chain seen", |r| r.objects.max_chain),
];

/// The agreement table as a heat table (see docs/fidelity.md), or `None` when
/// no input recorded faults.
fn fidelity_chart(policies: &[PolicyKind], fidelity: &[AgreementRow]) -> Option<HeatTable> {
    if fidelity.is_empty() {
        return None;
    }
    let rows =
        fidelity.iter().map(|a| (format!("{} ({} faults)", a.label, a.recorded), a.agreement.to_vec())).collect();
    Some(HeatTable::fractions(
        "Agreement with the real kernel".to_string(),
        vec![
            "share of the recorded page faults each policy also took, with the same class".to_string(),
            FRACTION_SHADING.to_string(),
        ],
        policies.to_vec(),
        rows,
    ))
}

/// The pages present at exit as a heat table, or `None` when no capture
/// recorded them: the other half of fidelity (see docs/fidelity.md).
fn exit_residency_chart(policies: &[PolicyKind], fidelity: &[AgreementRow]) -> Option<HeatTable> {
    let rows: Vec<(String, Vec<Option<f64>>)> = fidelity
        .iter()
        .filter(|a| !a.at_exit.is_empty())
        .map(|a| (format!("{} ({} pages)", a.label, a.pages_at_exit), a.at_exit.to_vec()))
        .collect();
    if rows.is_empty() {
        return None;
    }
    Some(HeatTable::fractions(
        "Pages present at exit, as in the real kernel".to_string(),
        vec![
            "of the pages present at the processes' exits in the kernel or the simulator, the share present in both"
                .to_string(),
            FRACTION_SHADING.to_string(),
        ],
        policies.to_vec(),
        rows,
    ))
}

/// The four charts of one input, from its runs in policy order.
fn input_charts(input: &InputRuns) -> Vec<(&'static str, AnyChart)> {
    let (label, runs) = (input.label, &input.runs);
    let policies: Vec<PolicyKind> = runs.iter().map(|r| r.policy).collect();
    let series = |measure: fn(&SeriesPoint) -> u64| -> Vec<Vec<(u64, u64)>> {
        runs.iter().map(|r| from_zero(r.report.series.iter().map(|p| (p.op, measure(p))))).collect()
    };
    let faults = FaultBars {
        title: format!("{label}: faults by kind"),
        bars: runs.iter().map(|r| (r.policy, r.report.faults.clone())).collect(),
    };
    let copies = PolicyBars {
        title: format!("{label}: pages copied"),
        y_desc: "pages copied (count)".to_string(),
        bars: runs.iter().map(|r| (r.policy, r.report.pages.copied)).collect(),
    };
    let pages = SeriesPanels {
        title: format!("{label}: resident and hidden pages"),
        policies: policies.clone(),
        panels: [
            Panel { title: "resident pages".into(), y_desc: "pages".into(), lines: series(|p| p.resident) },
            Panel {
                title: "hidden pages (resident, but no mapping can reach them)".into(),
                y_desc: "pages".into(),
                lines: series(|p| p.hidden),
            },
        ],
    };
    let objects = SeriesPanels {
        title: format!("{label}: VM objects and shadow chains"),
        policies,
        panels: [
            Panel { title: "VM objects alive".into(), y_desc: "objects".into(), lines: series(|p| p.objects) },
            Panel {
                title: "longest shadow chain".into(),
                y_desc: "objects in the chain".into(),
                lines: series(|p| p.max_chain),
            },
        ],
    };
    vec![
        ("faults", AnyChart::Faults(faults)),
        ("copies", AnyChart::Bars(copies)),
        ("pages", AnyChart::Series(pages)),
        ("objects", AnyChart::Series(objects)),
    ]
}
