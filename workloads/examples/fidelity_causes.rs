//! Why a policy disagrees with the real kernel on a perf capture (see
//! docs/fidelity.md): replays an imported capture under one policy and sorts
//! every recorded fault the simulator did not match by the situation it
//! happened in. Run with
//!
//! ```text
//! cargo run --release -p workloads --example fidelity_causes -- CAPTURE.perf.txt[.gz] [POLICY] [cold|warm]
//! ```
//!
//! The page cache is cold unless `warm` is given (docs/fidelity.md says
//! what each means).
//!
//! The situations are read off the trace and the simulated world just
//! before the access: is the page file-backed or anonymous, has this task
//! touched it before, was the task forked and had its parent touched it,
//! and what kind of access it is. They point at the Linux behaviours the
//! Mach-style policies do not have (fault-around of file pages, page table
//! entries copied at fork, the shared zero page). `FIDELITY_SHOW=N` also
//! prints the first N disagreements with their op number in the imported
//! trace (`cowsim import perf CAPTURE` writes the same trace), the file
//! page behind each, and, at each `resident` op, the pages present in one
//! picture only.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use sim::{Access, Config, ObjectRole, Op, PageCache, Pindex, PolicyKind, Recorded, Sim, TaskId, Vpn, WorldView};
use workloads::import::perf::PerfImport;
use workloads::trace::{TraceReader, TraceWriter, open_input};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: fidelity_causes CAPTURE [POLICY]");
    let policy = args.next().map_or(PolicyKind::GnuMach, |p| PolicyKind::parse(&p).expect("a known policy"));
    let page_cache = match args.next().as_deref() {
        None | Some("cold") => PageCache::Cold,
        Some("warm") => PageCache::Warm,
        Some(other) => panic!("the page cache is cold or warm, not {other}"),
    };
    let (input, name) = open_input(Path::new(&path)).expect("the capture opens");
    let mut writer = TraceWriter::new(Vec::new());
    PerfImport::default().run(input, &name, &mut writer, "memory").expect("the capture imports");
    let bytes = writer.into_inner();
    let ops: Vec<_> = TraceReader::new(bytes.as_slice(), "memory").map(|r| r.expect("reads back").value).collect();

    // Output errors (a closed pipe) end the report quietly.
    let mut out = std::io::stdout().lock();
    let mut sim = Sim::new(policy, Config::default().check_invariants(false).page_cache(page_cache));
    // Pages each task has touched since its exec (and those it wrote);
    // what a forked child inherited its parent's set as.
    let mut touched: BTreeMap<TaskId, BTreeSet<u64>> = BTreeMap::new();
    let mut written: BTreeMap<TaskId, BTreeSet<u64>> = BTreeMap::new();
    let mut from_parent: BTreeMap<TaskId, BTreeSet<u64>> = BTreeMap::new();
    let mut causes: BTreeMap<String, u64> = BTreeMap::new();
    let mut recorded = 0u64;
    let mut agreed = 0u64;
    // FIDELITY_SHOW=N prints the first N disagreements with their op.
    let show: usize = std::env::var("FIDELITY_SHOW").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut shown = 0;
    for (index, op) in ops.iter().enumerate() {
        if let Op::Access(a) = &op.op
            && let Some(real) = a.recorded
        {
            recorded += 1;
            let vpn = Vpn(a.addr / 4096);
            let view = sim.view();
            let found = view.pmap_finding(a.task, vpn, a.access);
            if found == Some(real) {
                agreed += 1;
            } else {
                // What the bottom of the entry's chain is.
                let backing = view.entry(a.task, vpn).map_or("unmapped", |e| {
                    match view.chain(e.object).last().map(|bottom| bottom.role()) {
                        Some(ObjectRole::File) => "file",
                        _ => "anon",
                    }
                });
                let history = if written.get(&a.task).is_some_and(|t| t.contains(&vpn.0)) {
                    "written before by this task"
                } else if touched.get(&a.task).is_some_and(|t| t.contains(&vpn.0)) {
                    "only read before by this task"
                } else if from_parent.get(&a.task).is_some_and(|t| t.contains(&vpn.0)) {
                    "touched by the parent before the fork"
                } else {
                    "first touch in the capture"
                };
                let access = match a.access {
                    Access::Read => "read",
                    Access::Write => "write",
                    Access::ExecFetch => "fetch",
                };
                let verdict = match found {
                    None => "simulator hit".to_owned(),
                    Some(f) => format!("simulator {}", f.name()),
                };
                let key = format!("Linux {:<11} {verdict:<22} {access:<5} {backing:<4} {history}", real.name());
                if shown < show {
                    shown += 1;
                    let page = file_page(view, a.task, vpn);
                    let _ = writeln!(out, "op {index}: task {} {access} {:#x}{page}: {key}", a.task.0, a.addr);
                }
                *causes.entry(key).or_default() += 1;
            }
            touched.entry(a.task).or_default().insert(vpn.0);
            if a.access == Access::Write {
                written.entry(a.task).or_default().insert(vpn.0);
            }
        }
        if let Op::Resident { task, addr, size, present } = &op.op
            && shown < show
        {
            let view = sim.view();
            let first = addr / 4096;
            for offset in 0..size / 4096 {
                let vpn = Vpn(first + offset);
                let in_kernel = present.iter().any(|(start, count)| (*start..start + count).contains(&offset));
                let in_simulator = view.pmap_finding(*task, vpn, Access::Read) != Some(Recorded::NotPresent);
                if in_kernel != in_simulator && shown < show {
                    shown += 1;
                    let side = if in_kernel { "kernel only" } else { "simulator only" };
                    let page = file_page(view, *task, vpn);
                    let _ = writeln!(out, "op {index}: task {} at exit {:#x}{page}: {side}", task.0, vpn.0 * 4096);
                }
            }
        }
        match &op.op {
            Op::Fork { parent, child } => {
                let mut seen = touched.get(parent).cloned().unwrap_or_default();
                seen.extend(from_parent.get(parent).cloned().unwrap_or_default());
                from_parent.insert(*child, seen);
                touched.insert(*child, BTreeSet::new());
                written.insert(*child, BTreeSet::new());
            }
            Op::Exec { task } | Op::TaskCreate { task } => {
                touched.insert(*task, BTreeSet::new());
                written.insert(*task, BTreeSet::new());
                from_parent.remove(task);
            }
            _ => {}
        }
        sim.apply_traced(op).expect("the imported trace replays");
    }
    let _ = writeln!(
        out,
        "{name} under {policy}: {agreed} of {recorded} recorded faults agree ({:.3})",
        agreed as f64 / recorded as f64
    );
    let mut sorted: Vec<_> = causes.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (cause, count) in sorted {
        let _ = writeln!(out, "{count:>6}  {cause}");
    }
}

/// " FILE page N" when the page at `vpn` comes from a file, else "".
fn file_page(view: WorldView, task: TaskId, vpn: Vpn) -> String {
    let Some(entry) = view.entry(task, vpn) else { return String::new() };
    let mut index = entry.object_page(vpn);
    for object in view.chain(entry.object) {
        if let Some(name) = view.file_name(object.id()) {
            return format!(" {name} page {}", index.0);
        }
        match object.shadow() {
            Some(link) => index = Pindex(link.offset.0 + index.0),
            None => break,
        }
    }
    String::new()
}
