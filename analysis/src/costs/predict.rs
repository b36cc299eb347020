//! A run's counts priced by a profile: the `predicted` section of
//! `cowsim run --costs` (docs/costs.md, docs/report.md).
//!
//! Each kind of op costs, over the run,
//!
//! ```text
//! ops × ops.NAME  +  Σ its faults of each kind × faults.KIND  +  Σ its work × work.KEY
//! ```
//!
//! from the report's `work_by_op`; the pages accessed and freed, which the
//! report counts for the run only, are priced once for the run. The total
//! is the sum of all of it. A fork's latency is what the forks cost over
//! how many there were: the fixed cost of a fork and its page-table,
//! map-entry and TLB work.

use std::collections::BTreeMap;

use serde::Serialize;
use sim::report::{OpWork, Report};

use super::{Costs, NamedProfile, Quantities};

/// Ops that are not kernel calls: an access costs its faults and the
/// pages it touches (`pages.accessed`); `mark`, `resident` and
/// `page_cache` only annotate a trace. A profile gives them no fixed
/// cost, and a prediction does not list them as unpriced.
pub const NOT_CALLS: [&str; 6] = ["read", "write", "exec_fetch", "mark", "resident", "page_cache"];

/// What a run is predicted to cost on the profile's machine. Times are
/// whole nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Prediction {
    /// The profile's file name.
    pub profile: String,
    /// The machine it was measured on.
    pub machine: String,
    /// Everything: every op kind's time, the pages accessed and freed.
    pub total_ns: u64,
    /// The part spent in page faults (all kinds, all ops).
    pub faults_ns: u64,
    /// The mean time of a fork, when the run forked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fork_latency_ns: Option<u64>,
    /// Each kind of op the run applied.
    pub by_op: BTreeMap<String, OpTime>,
    /// Pages accessed × `pages.accessed`.
    pub accesses_ns: u64,
    /// Pages freed × `pages.freed`.
    pub freed_ns: u64,
    /// Work the report counts for the run but not by op (`fault_around`
    /// and the Mach family's counters, which `work_by_op` leaves out).
    pub unattributed_ns: u64,
    /// Counted items the profile has no price for (`work.chain_steps`,
    /// say), which therefore cost nothing here; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
}

/// A report with its `predicted` section, as `--json` and `compare`'s
/// `runs/` write it with a cost profile: the report's keys, then
/// `predicted`.
#[derive(Serialize)]
pub struct PricedReport<'a> {
    #[serde(flatten)]
    pub report: &'a Report,
    pub predicted: &'a Prediction,
}

impl<'a> PricedReport<'a> {
    pub fn new(report: &'a Report, predicted: &'a Prediction) -> PricedReport<'a> {
        PricedReport { report, predicted }
    }
}

/// The predicted time of one kind of op over the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpTime {
    pub ops: u64,
    /// All of them together.
    pub ns: u64,
    /// The part spent in their faults.
    pub faults_ns: u64,
    /// `ns / ops`.
    pub mean_ns: u64,
}

/// Prices `report` with `profile`.
pub fn predict(report: &Report, profile: &NamedProfile) -> Prediction {
    let costs = &profile.profile.costs;
    let by_op: BTreeMap<String, OpTime> =
        report.work_by_op.iter().map(|(name, work)| (name.clone(), op_time(name, work, costs))).collect();
    let run = run_quantities(report);
    let mut unattributed = run.clone();
    for (name, work) in &report.work_by_op {
        add(&mut unattributed, &op_quantities(name, work), -1.0);
    }
    let faults: Quantities =
        run.iter().filter(|(item, _)| item.starts_with("faults.")).map(|(i, n)| (i.clone(), *n)).collect();
    Prediction {
        profile: profile.name.clone(),
        machine: profile.profile.machine.to_string(),
        total_ns: whole(costs.price(&run)),
        faults_ns: whole(costs.price(&faults)),
        fork_latency_ns: by_op.get("fork").filter(|fork| fork.ops > 0).map(|fork| fork.mean_ns),
        accesses_ns: whole(costs.get("pages.accessed") * report.accesses as f64),
        freed_ns: whole(costs.get("pages.freed") * report.pages.freed as f64),
        unattributed_ns: whole(costs.price(&only_work(&unattributed))),
        unpriced: unpriced(&run, costs),
        by_op,
    }
}

/// The `work.` items of `quantities`.
fn only_work(quantities: &Quantities) -> Quantities {
    quantities.iter().filter(|(item, _)| item.starts_with("work.")).map(|(i, n)| (i.clone(), *n)).collect()
}

fn op_time(name: &str, work: &OpWork, costs: &Costs) -> OpTime {
    let ns = costs.price(&op_quantities(name, work));
    OpTime {
        ops: work.ops,
        ns: whole(ns),
        faults_ns: whole(costs.price(&fault_quantities(work))),
        mean_ns: if work.ops == 0 { 0 } else { whole(ns / work.ops as f64) },
    }
}

/// Nanoseconds rounded to a whole number (never below 0).
fn whole(ns: f64) -> u64 {
    ns.max(0.0).round() as u64
}

/// Everything one kind of op counted over a run: how many, their faults
/// by kind, their work by counter.
pub fn op_quantities(name: &str, work: &OpWork) -> Quantities {
    let mut quantities = counted(work);
    quantities.insert(format!("ops.{name}"), work.ops as f64);
    quantities
}

/// Faults by kind and work by counter (the zero ones left out).
fn counted(work: &OpWork) -> Quantities {
    let mut quantities = fault_quantities(work);
    let counters = serde_json::to_value(&work.work).expect("work serialises");
    for (key, count) in counters.as_object().into_iter().flatten() {
        let count = count.as_u64().unwrap_or(0);
        if count > 0 {
            quantities.insert(format!("work.{key}"), count as f64);
        }
    }
    quantities
}

/// The faults of one kind of op, by kind.
fn fault_quantities(work: &OpWork) -> Quantities {
    sim::FaultKind::ALL
        .iter()
        .filter(|kind| work.faults.count(**kind) > 0)
        .map(|kind| (format!("faults.{}", kind.name()), work.faults.count(*kind) as f64))
        .collect()
}

/// Everything a run counted that a profile can price: the ops of each
/// kind, the faults and work of the whole run (`work_by_op` leaves some
/// work out), and the pages accessed and freed.
pub fn run_quantities(report: &Report) -> Quantities {
    let mut total: Quantities =
        report.work_by_op.iter().map(|(name, work)| (format!("ops.{name}"), work.ops as f64)).collect();
    let whole_run = OpWork { ops: 0, faults: report.faults.clone(), work: report.work.clone() };
    add(&mut total, &counted(&whole_run), 1.0);
    total.insert("pages.accessed".into(), report.accesses as f64);
    total.insert("pages.freed".into(), report.pages.freed as f64);
    total
}

/// `into += factor × quantities`.
pub fn add(into: &mut Quantities, quantities: &Quantities, factor: f64) {
    for (item, count) in quantities {
        *into.entry(item.clone()).or_insert(0.0) += factor * count;
    }
}

/// The items counted in `quantities` that `costs` does not price, except
/// the ops that are not kernel calls.
fn unpriced(quantities: &Quantities, costs: &Costs) -> Vec<String> {
    let not_a_call = |item: &str| item.strip_prefix("ops.").is_some_and(|name| NOT_CALLS.contains(&name));
    quantities
        .iter()
        .filter(|(item, count)| **count != 0.0 && !costs.has(item) && !not_a_call(item))
        .map(|(item, _)| item.clone())
        .collect()
}

/// A duration for people: `850 ns`, `12.3 µs`, `4.56 ms`, `1.23 s` (three
/// significant figures).
pub fn duration_text(ns: u64) -> String {
    let ns = ns as f64;
    let (value, unit) = if ns < 1e3 {
        return format!("{ns:.0} ns");
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.decimals$} {unit}")
}

impl Prediction {
    /// `time: 14.6 ms predicted on CPU, 2 cores, Linux 6.1 (PROFILE): 1.20
    /// ms in faults, fork latency 14.5 ms (1 fork)`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "time:    {} predicted on {} ({}): {} in faults",
            duration_text(self.total_ns),
            self.machine,
            self.profile,
            duration_text(self.faults_ns)
        );
        if let (Some(latency), Some(fork)) = (self.fork_latency_ns, self.by_op.get("fork")) {
            let forks = if fork.ops == 1 { "1 fork".to_string() } else { format!("mean of {} forks", fork.ops) };
            line.push_str(&format!(", fork latency {} ({forks})", duration_text(latency)));
        }
        line
    }
}

/// What starting children cost in a prediction of a fork-exec run: the
/// forks, execs and exits, and the task creations after the first
/// `task_creates_before` (the parent's own), which are `posix_spawn`'s.
pub fn child_start_ns(prediction: &Prediction, task_creates_before: u64) -> u64 {
    let op = |name: &str| prediction.by_op.get(name);
    let mut ns: u64 = ["fork", "exec", "exit"].iter().filter_map(|name| op(name)).map(|t| t.ns).sum();
    if let Some(create) = op("task_create") {
        ns += create.mean_ns * create.ops.saturating_sub(task_creates_before);
    }
    ns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_three_figures() {
        assert_eq!(duration_text(850), "850 ns");
        assert_eq!(duration_text(12_345), "12.3 µs");
        assert_eq!(duration_text(4_560_000), "4.56 ms");
        assert_eq!(duration_text(123_400_000), "123 ms");
        assert_eq!(duration_text(1_230_000_000), "1.23 s");
    }
}
