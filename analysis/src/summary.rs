//! Human-readable summaries of reports: one policy as a short paragraph,
//! several side by side as a table.

use std::fmt::Write;

use sim::report::Report;

use crate::compare::table::fraction_text;
use crate::costs::Prediction;
use crate::costs::predict::duration_text;

/// The rows of the side-by-side table: a label and how to read it off a
/// report.
type Row = (&'static str, fn(&Report) -> String);

const ROWS: &[Row] = &[
    ("ops", |r| r.ops.to_string()),
    ("page accesses", |r| r.accesses.to_string()),
    ("faults", |r| r.faults.total.to_string()),
    ("  zero_fill", |r| r.faults.zero_fill.to_string()),
    ("  zero_page", |r| r.faults.zero_page.to_string()),
    ("  page_in", |r| r.faults.page_in.to_string()),
    ("  map", |r| r.faults.map.to_string()),
    ("  cow_copy", |r| r.faults.cow_copy.to_string()),
    ("  cow_move", |r| r.faults.cow_move.to_string()),
    ("  reuse", |r| r.faults.reuse.to_string()),
    ("  segv", |r| r.faults.segv.to_string()),
    ("  protection", |r| r.faults.protection.to_string()),
    ("push_copy", |r| r.work.push_copy.to_string()),
    ("amap_copy", |r| r.work.amap_copy.to_string()),
    ("shadows created", |r| r.work.shadows_created.to_string()),
    ("collapses", |r| r.work.collapses.to_string()),
    ("bypasses", |r| r.work.bypasses.to_string()),
    ("chain steps", |r| r.work.chain_steps.to_string()),
    ("fault-around pages", |r| r.work.fault_around.to_string()),
    ("pages resident", |r| r.pages.resident.to_string()),
    ("  peak", |r| r.pages.resident_peak.to_string()),
    ("pages zero-filled", |r| r.pages.zero_filled.to_string()),
    ("pages paged in", |r| r.pages.paged_in.to_string()),
    ("pages copied", |r| r.pages.copied.to_string()),
    ("pages moved", |r| r.pages.moved.to_string()),
    ("pages freed", |r| r.pages.freed.to_string()),
    ("pages hidden", |r| r.pages.hidden.to_string()),
    ("  peak", |r| r.pages.hidden_peak.to_string()),
    ("objects created", |r| r.objects.created.to_string()),
    ("objects alive", |r| r.objects.alive.to_string()),
    ("  peak", |r| r.objects.alive_peak.to_string()),
    ("longest chain", |r| r.objects.max_chain.to_string()),
    ("mean chain", |r| format!("{:.2}", r.objects.mean_chain)),
    ("read digest", |r| r.read_digest.clone()),
];

/// `zero_fill 4, cow_copy 1`: the kinds with faults, in report order.
fn fault_kinds_text(f: &sim::report::Faults) -> String {
    let kinds = [
        ("zero_fill", f.zero_fill),
        ("zero_page", f.zero_page),
        ("page_in", f.page_in),
        ("map", f.map),
        ("cow_copy", f.cow_copy),
        ("cow_move", f.cow_move),
        ("reuse", f.reuse),
        ("segv", f.segv),
        ("protection", f.protection),
    ];
    let kinds: Vec<String> = kinds.iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k} {n}")).collect();
    kinds.join(", ")
}

/// Rows `faults of task N` for each task that faulted under some policy,
/// when there are few enough to read (a task absent from a report took no
/// fault there); for more, the first task and the others together.
fn faults_by_task_rows(reports: &[Report]) -> Vec<(String, Vec<String>)> {
    let tasks: std::collections::BTreeSet<u32> =
        reports.iter().flat_map(|r| r.tasks.iter().filter(|t| t.faults.total > 0).map(|t| t.task)).collect();
    let faults_of = |task: u32, r: &Report| r.tasks.iter().find(|t| t.task == task).map_or(0, |t| t.faults.total);
    let row = |task: u32| {
        (format!("faults of task {task}"), reports.iter().map(|r| faults_of(task, r).to_string()).collect())
    };
    let Some(&first) = tasks.first() else { return Vec::new() };
    if tasks.len() <= TASKS_LISTED {
        return tasks.into_iter().map(row).collect();
    }
    // Many tasks (a workload's children): the first, usually the parent,
    // against all the others together.
    let others = |r: &Report| r.tasks.iter().filter(|t| t.task != first).map(|t| t.faults.total).sum::<u64>();
    let label = format!("faults of the {} others", tasks.len() - 1);
    vec![row(first), (label, reports.iter().map(|r| others(r).to_string()).collect())]
}

/// The most tasks `faults_by_task_line` lists one by one.
const TASKS_LISTED: usize = 6;

/// `by task: task 1 4 (zero_fill 4), task 2 1 (cow_copy 1)`: which task
/// faulted how, for a run of a few tasks; the ones that faulted most for
/// more. `None` when no task faulted.
pub fn faults_by_task_line(r: &Report) -> Option<String> {
    let mut faulted: Vec<_> = r.tasks.iter().filter(|t| t.faults.total > 0).collect();
    if faulted.is_empty() {
        return None;
    }
    let more = faulted.len() > TASKS_LISTED;
    if more {
        // Most faults first; task order among equals.
        faulted.sort_by(|a, b| b.faults.total.cmp(&a.faults.total).then(a.task.cmp(&b.task)));
    }
    let listed: Vec<String> = faulted
        .iter()
        .take(TASKS_LISTED)
        .map(|t| format!("task {} {} ({})", t.task, t.faults.total, fault_kinds_text(&t.faults)))
        .collect();
    Some(if more {
        format!("by task: {} tasks faulted; most: {}", faulted.len(), listed.join(", "))
    } else {
        format!("by task: {}", listed.join(", "))
    })
}

/// One report as a few lines of prose-like text; with its predicted
/// time when a cost profile priced it.
pub fn single(r: &Report, prediction: Option<&Prediction>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} under {}: {} ops, {} page accesses", r.trace, r.policy, r.ops, r.accesses);
    let codes: Vec<String> = r.kern_returns.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{n} {k}")).collect();
    let _ = writeln!(out, "  returns: {}", if codes.is_empty() { "none".to_string() } else { codes.join(", ") });
    let f = &r.faults;
    let kinds = fault_kinds_text(f);
    let _ = writeln!(out, "  faults:  {} total{}{kinds}", f.total, if kinds.is_empty() { "" } else { ": " });
    if let Some(line) = faults_by_task_line(r) {
        let _ = writeln!(out, "  {line}");
    }
    let w = &r.work;
    // Only Linux maps pages around a fault: the others' lines stay as they were.
    let around =
        if w.fault_around > 0 { format!(", {} pages mapped by fault-around", w.fault_around) } else { String::new() };
    let _ = writeln!(
        out,
        "  work:    {} shadows created, {} collapses, {} bypasses, {} push_copy, {} amap_copy, {} chain steps{around}",
        w.shadows_created, w.collapses, w.bypasses, w.push_copy, w.amap_copy, w.chain_steps
    );
    let p = &r.pages;
    let _ = writeln!(
        out,
        "  pages:   {} resident (peak {}), {} zero-filled, {} paged in, {} copied, {} moved, {} freed, {} hidden (peak {})",
        p.resident, p.resident_peak, p.zero_filled, p.paged_in, p.copied, p.moved, p.freed, p.hidden, p.hidden_peak
    );
    let o = &r.objects;
    let _ = writeln!(
        out,
        "  objects: {} created, {} alive (peak {}), longest chain {}, mean chain {:.2}",
        o.created, o.alive, o.alive_peak, o.max_chain, o.mean_chain
    );
    if let Some(line) = fidelity_line(r) {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(line) = exit_residency_line(r) {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(import) = r.import.as_ref().filter(|i| i.lost_events > 0) {
        let _ = writeln!(
            out,
            "  import: perf lost {} of {} events; the trace has gaps where they were",
            import.lost_events, import.recorded_or_lost_events
        );
    }
    if let Some(prediction) = prediction {
        let _ = writeln!(out, "  {}", prediction.line());
    }
    let _ = writeln!(out, "  read digest {}", r.read_digest);
    out
}

/// The fidelity of a run against the real kernel's recorded faults
/// (see docs/fidelity.md), when the trace carried any.
pub fn fidelity_line(r: &Report) -> Option<String> {
    let f = r.fidelity.as_ref()?;
    // A capture's machine had its libraries cached already; say how to
    // model that when the run started cold (it moves linux's fault-around),
    // unless the capture recorded its page cache, which the run follows.
    let hint = if r.page_cache == "cold" && r.page_cache_files == 0 {
        "; --page-cache warm models the capture's cached files"
    } else {
        ""
    };
    Some(format!(
        "fidelity: agreement {} over {} recorded faults ({} agreed, {} not faulted, {} class mismatch{hint})",
        fraction_text(f.agreement),
        f.recorded,
        f.agreed,
        f.not_faulted,
        f.class_mismatch
    ))
}

/// The pages present at processes' exits, against the real kernel's (see
/// docs/fidelity.md), when the trace carried them.
pub fn exit_residency_line(r: &Report) -> Option<String> {
    let e = r.exit_residency.as_ref()?;
    Some(format!(
        "at exit: {} of the pages present on either side are present on both ({} both, {} kernel only, {} simulator only)",
        fraction_text(e.agreement),
        e.both,
        e.kernel_only,
        e.simulator_only
    ))
}

/// Rows `predicted time`, `  in faults`, `  fork latency` (the last only
/// when a run forked); none without predictions.
fn predicted_rows(predictions: &[Prediction]) -> Vec<(String, Vec<String>)> {
    if predictions.is_empty() {
        return Vec::new();
    }
    let mut rows = vec![
        ("predicted time".to_string(), predictions.iter().map(|p| duration_text(p.total_ns)).collect()),
        ("  in faults".to_string(), predictions.iter().map(|p| duration_text(p.faults_ns)).collect()),
    ];
    if predictions.iter().any(|p| p.fork_latency_ns.is_some()) {
        let fork = |p: &Prediction| p.fork_latency_ns.map_or_else(|| "-".to_string(), duration_text);
        rows.push(("  fork latency".to_string(), predictions.iter().map(fork).collect()));
    }
    rows
}

/// How a report agrees with a real capture, when it was compared with one.
type Agreement = fn(&Report) -> Option<f64>;

/// Several reports of one trace side by side, a column per policy; with
/// their predicted times when a cost profile priced them (one prediction
/// per report, or none).
pub fn side_by_side(reports: &[Report], predictions: &[Prediction]) -> String {
    let Some(first) = reports.first() else { return String::new() };
    let mut rows: Vec<(String, Vec<String>)> =
        ROWS.iter().map(|(label, get)| (label.to_string(), reports.iter().map(get).collect())).collect();
    rows.extend(faults_by_task_rows(reports));
    rows.extend(predicted_rows(predictions));
    let label_width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let widths: Vec<usize> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| rows.iter().map(|(_, cells)| cells[i].len()).chain([r.policy.len()]).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} ops", first.trace, first.ops);
    let _ = write!(out, "{:label_width$}", "");
    for (r, w) in reports.iter().zip(&widths) {
        let _ = write!(out, "  {:>w$}", r.policy);
    }
    out.push('\n');
    for (label, cells) in &rows {
        let _ = write!(out, "{label:label_width$}");
        for (cell, w) in cells.iter().zip(&widths) {
            let _ = write!(out, "  {cell:>w$}");
        }
        out.push('\n');
    }
    let agreements: [(&str, Agreement); 2] = [
        ("fidelity", |r| r.fidelity.as_ref().map(|f| f.agreement)),
        ("at exit", |r| r.exit_residency.as_ref().map(|e| e.agreement)),
    ];
    for (label, agreement) in agreements {
        if reports.iter().all(|r| agreement(r).is_none()) {
            continue;
        }
        let _ = write!(out, "{label:label_width$}");
        for (r, w) in reports.iter().zip(&widths) {
            let cell = agreement(r).map_or_else(|| "-".to_owned(), fraction_text);
            let _ = write!(out, "  {cell:>w$}");
        }
        out.push('\n');
    }
    if let Some(prediction) = predictions.first() {
        let _ = writeln!(
            out,
            "predicted times: the cost profile {}, measured on {}",
            prediction.profile, prediction.machine
        );
    }
    let digests: std::collections::BTreeSet<&str> = reports.iter().map(|r| r.read_digest.as_str()).collect();
    if digests.len() > 1 {
        let _ = writeln!(out, "WARNING: the policies read different data; this is a simulator bug, please report it");
    }
    out
}
