//! `cowsim view`: one HTML page that steps through a trace op by op.
//!
//! A student opens the page in a browser (straight from the disk: it needs
//! no network and no other file) and walks the run forward and back with
//! buttons, the arrow keys, a slider or a box to type an op number into.
//! Each step shows what `cowsim explain` says about that op, every task's
//! map entries with the shadow chain each one reads through, every object
//! with its resident pages (how many holders each page has, and which
//! pages are hidden: resident but reachable by no mapping), and the
//! counters of the run so far. With two policies the two worlds stand side
//! by side, in lockstep.
//!
//! How it is made. The trace is replayed once per policy; after every op a
//! small JSON snapshot of the world is taken, holding only what the page
//! draws, read from `sim`'s `WorldView` and the run's report so far. All
//! snapshots go into the page as one JSON blob, and a short hand-written
//! script (`view_page.js`) draws whichever step is asked for. Moving
//! between steps therefore costs the browser nothing but drawing, and the
//! page is the same byte for byte every time it is made from the same
//! trace, because nothing in it depends on a hash order or the clock.
//!
//! The narration is not written here: it is `cowsim explain`'s own text
//! (`narrate::explain`), cut at its `op N:` lines, so the page and the
//! command always say the same thing.
//!
//! The page opens at `#op=N` (or `?op=N`) when the address asks for it, so
//! a link can point at one step, and a headless browser can be asked for
//! the page as it looks at op N (`analysis/tests/view_browser.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use sim::report::{Faults, Report};
use sim::view::WorldView;
use sim::{Config, PolicyKind};

use crate::narrate::{self, ExplainError};
use crate::object_graph::escape_markup;
use crate::replay::ReplayError;
use crate::stepper::{Stepper, trace_label};

/// The most ops one page shows. A snapshot of a small world is a kilobyte
/// or two, so two policies over this many ops stay well under
/// [`MAX_DATA_BYTES`]; a longer trace is viewed a window at a time with
/// `--from` and `--to`.
pub const MAX_OPS: u64 = 5000;

/// The most bytes of snapshots one page carries. Past about this size a
/// browser takes seconds to open the file, and a big world (thousands of
/// pages) reaches it long before [`MAX_OPS`], so the size is checked as
/// the snapshots are made, not guessed from the op count.
pub const MAX_DATA_BYTES: usize = 20 << 20;

/// The most policies side by side: two columns fit a laptop screen, and
/// "what does B do differently from A" is the question the page answers.
pub const MAX_POLICIES: usize = 2;

/// The version of the snapshot format, so a reader can tell it apart from
/// a later one.
pub const SCHEMA: &str = "cowsim.view/1";

const SCRIPT: &str = include_str!("view_page.js");
const STYLE: &str = include_str!("view_page.css");

/// What `cowsim view` could not do.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The replay failed: bad input (exit 2) or an unmet `expect` (exit 1).
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The narration could not be made (a bad `--from`), or a snapshot
    /// could not be written as JSON.
    #[error("{0}")]
    Narration(String),
    /// `--from`/`--to` or `--policy` make no sense (bad usage: exit 2).
    #[error("{0}")]
    BadUsage(String),
    /// The trace cannot be read more than once (stdin, a pipe).
    #[error(
        "{trace}: cowsim view reads its trace once for the pictures and once for the narration of each policy, \
         so it needs a regular file, not standard input or a pipe (save the trace to a file first)"
    )]
    NotAFile { trace: String },
    /// `--from` names an op the trace does not have (bad usage: exit 2).
    #[error("{trace}: --from {from} is past the end of the trace, which has {ops} ops (ops are numbered from 1)")]
    PastEnd { trace: String, from: u64, ops: u64 },
    /// More ops than one page shows (exit 2).
    #[error(
        "{trace}: ops {from} to {to} are more than the {MAX_OPS} one page shows; pick a window of at most \
         {MAX_OPS} ops with --from and --to (for example --from {from} --to {suggested})"
    )]
    TooManyOps { trace: String, from: u64, to: String, suggested: u64 },
    /// The snapshots outgrew the page (exit 2).
    #[error(
        "{trace}: under {policy}, the pictures up to op {op} already take more than {} MiB, the most one page \
         carries (the world is large); view fewer ops with --from and --to (for example --to {suggested})",
        limit.div_ceil(1 << 20)
    )]
    TooLarge { trace: String, policy: &'static str, op: u64, suggested: u64, limit: usize },
}

impl From<ExplainError> for ViewError {
    fn from(error: ExplainError) -> ViewError {
        match error {
            ExplainError::Replay(replay) => ViewError::Replay(replay),
            other => ViewError::Narration(other.to_string()),
        }
    }
}

/// Which ops a page shows: `from..=to`, numbered from 1 as everywhere
/// (`stepper.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: u64,
    /// The last op; the end of the trace when `None`.
    pub to: Option<u64>,
}

impl Window {
    /// Checks `--from`/`--to` as given on the command line.
    pub fn new(from: Option<u64>, to: Option<u64>) -> Result<Window, ViewError> {
        let from = from.unwrap_or(1);
        if from == 0 {
            return Err(ViewError::BadUsage("--from 0: ops are numbered from 1".into()));
        }
        if let Some(to) = to
            && to < from
        {
            return Err(ViewError::BadUsage(format!("--to {to} comes before --from {from}")));
        }
        Ok(Window { from, to })
    }
}

impl Default for Window {
    fn default() -> Window {
        Window { from: 1, to: None }
    }
}

// ---------------------------------------------------------------------------
// The snapshots
// ---------------------------------------------------------------------------

/// The world right after one op, as the page draws it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    /// The op's number (from 1).
    pub op: u64,
    /// `cowsim explain`'s text for the op: its `op N:` line and the lines
    /// under it.
    pub narration: String,
    /// Live tasks, by id.
    pub tasks: Vec<TaskSnapshot>,
    /// Live objects, in the order they were made.
    pub objects: Vec<ObjectSnapshot>,
    /// The run's counters after this op.
    pub counters: Counters,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskSnapshot {
    pub id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<u32>,
    /// Pages its pmap maps now (valid entries only).
    pub mapped: u64,
    /// Its map entries, by address.
    pub entries: Vec<EntrySnapshot>,
}

/// One map entry. Addresses are hexadecimal strings: a JavaScript number
/// cannot hold every 64-bit address exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntrySnapshot {
    pub start: String,
    pub end: String,
    pub pages: u64,
    pub prot: String,
    pub max_prot: String,
    pub inherit: &'static str,
    pub needs_copy: bool,
    pub shared: bool,
    /// The object it maps (its serial, as narrations name objects).
    pub object: u32,
    /// The object page that backs `start`.
    pub offset: u64,
    /// The shadow chain it reads through, top first, as
    /// `WorldView::chain` walks it.
    pub chain: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectSnapshot {
    /// Its serial, as narrations name objects.
    pub id: u32,
    /// `anonymous`, `shadow`, `copy`, `file`, `amap` or `page_table`.
    pub role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub size: u64,
    pub refs: u32,
    /// The object it shadows and at which page offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<(u32, u64)>,
    /// Its copy object (Mach's delayed copy; not a reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<u32>,
    /// How many pages are resident in it.
    pub resident: u64,
    /// Its resident pages as runs `[first index, count, holders]`: pages
    /// next to each other with the same number of holders share a run, so
    /// a big object costs a few numbers, not one per page.
    pub pages: Vec<[u64; 3]>,
    /// Its hidden pages (resident, reachable by no mapping) as runs
    /// `[first index, count]`.
    pub hidden: Vec<[u64; 2]>,
}

/// The counters shown beside the world: taken from the run's report at
/// the op, so they are the numbers `cowsim run` would print had the trace
/// stopped there.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Counters {
    /// Faults by kind, in report order, with their total.
    pub faults: Faults,
    pub pages: PageCounters,
    pub objects: ObjectCounters,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PageCounters {
    pub resident: u64,
    pub hidden: u64,
    pub zero_filled: u64,
    pub paged_in: u64,
    pub copied: u64,
    pub moved: u64,
    pub freed: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectCounters {
    pub alive: u64,
    pub created: u64,
    pub shadows_created: u64,
    pub collapses: u64,
    pub bypasses: u64,
    pub push_copy: u64,
    pub amap_copy: u64,
    pub chain_steps: u64,
}

impl Counters {
    fn of(report: &Report) -> Counters {
        let (p, o, w) = (&report.pages, &report.objects, &report.work);
        Counters {
            faults: report.faults.clone(),
            pages: PageCounters {
                resident: p.resident,
                hidden: p.hidden,
                zero_filled: p.zero_filled,
                paged_in: p.paged_in,
                copied: p.copied,
                moved: p.moved,
                freed: p.freed,
            },
            objects: ObjectCounters {
                alive: o.alive,
                created: o.created,
                shadows_created: w.shadows_created,
                collapses: w.collapses,
                bypasses: w.bypasses,
                push_copy: w.push_copy,
                amap_copy: w.amap_copy,
                chain_steps: w.chain_steps,
            },
        }
    }
}

/// The world `view` shows, as the page draws it (without the narration
/// and counters, which come from elsewhere).
pub fn world_snapshot(view: WorldView<'_>, page_size: u64) -> (Vec<TaskSnapshot>, Vec<ObjectSnapshot>) {
    let mapped: BTreeMap<u32, u64> = view.resident_pages_by_task().into_iter().map(|(t, n)| (t.0, n)).collect();
    let tasks = view
        .tasks()
        .map(|task| TaskSnapshot {
            id: task.id().0,
            parent: task.parent().map(|p| p.0),
            mapped: mapped.get(&task.id().0).copied().unwrap_or(0),
            entries: task
                .entries()
                .map(|e| EntrySnapshot {
                    start: address(e.start.0, page_size),
                    end: address(e.end.0, page_size),
                    pages: e.pages(),
                    prot: crate::object_graph::prot_text(e.protection),
                    max_prot: crate::object_graph::prot_text(e.max_protection),
                    inherit: e.inheritance.name(),
                    needs_copy: e.needs_copy,
                    shared: e.shared,
                    object: e.object.serial(),
                    offset: e.offset.0,
                    chain: view.chain(e.object).map(|o| o.id().serial()).collect(),
                })
                .collect(),
        })
        .collect();
    let hidden: BTreeMap<u32, Vec<u64>> = view
        .hidden_pages_by_object()
        .into_iter()
        .map(|(object, pages)| (object.serial(), pages.into_iter().map(|p| p.0).collect()))
        .collect();
    let objects = view
        .objects()
        .map(|object| {
            let pages = object.resident_pages().map(|(index, page)| {
                // A page id from the object's own slots is always live; 0
                // would only show a broken world, never panic on one.
                let holders = view.page(page).map_or(0, |p| u64::from(p.holders));
                (index.0, holders)
            });
            ObjectSnapshot {
                id: object.id().serial(),
                role: object.role().name(),
                file: view.file_name(object.id()).map(str::to_owned),
                size: object.size(),
                refs: object.ref_count(),
                shadow: object.shadow().map(|link| (link.object.serial(), link.offset.0)),
                copy: object.copy_object().map(|c| c.serial()),
                resident: object.resident_count() as u64,
                pages: page_runs(pages),
                hidden: hidden_runs(hidden.get(&object.id().serial()).map_or(&[], Vec::as_slice)),
            }
        })
        .collect();
    (tasks, objects)
}

fn address(vpn: u64, page_size: u64) -> String {
    format!("{:#x}", vpn.wrapping_mul(page_size))
}

/// `(index, holders)` in index order as `[first, count, holders]` runs.
fn page_runs(pages: impl Iterator<Item = (u64, u64)>) -> Vec<[u64; 3]> {
    let mut runs: Vec<[u64; 3]> = Vec::new();
    for (index, holders) in pages {
        match runs.last_mut() {
            Some([first, count, h]) if *h == holders && first.checked_add(*count) == Some(index) => *count += 1,
            _ => runs.push([index, 1, holders]),
        }
    }
    runs
}

/// Indices in order as `[first, count]` runs.
fn hidden_runs(indices: &[u64]) -> Vec<[u64; 2]> {
    let mut runs: Vec<[u64; 2]> = Vec::new();
    for &index in indices {
        match runs.last_mut() {
            Some([first, count]) if first.checked_add(*count) == Some(index) => *count += 1,
            _ => runs.push([index, 1]),
        }
    }
    runs
}

// ---------------------------------------------------------------------------
// Replays
// ---------------------------------------------------------------------------

/// One policy's steps, each already JSON, so the size can be watched as
/// they are made and nothing is serialised twice.
struct Run {
    policy: PolicyKind,
    steps: Vec<String>,
}

/// Replays `trace` under `policy` and returns the snapshots of the ops in
/// `window`, each with its narration, with no limit on their size. For
/// tests, which compare snapshots with the world; the page is made by
/// [`page`].
pub fn snapshots(
    trace: &Path,
    policy: PolicyKind,
    config: &Config,
    window: Window,
) -> Result<Vec<Snapshot>, ViewError> {
    let mut out = Vec::new();
    replay(trace, policy, config, window, |snapshot| {
        out.push(snapshot);
        Ok(())
    })?;
    Ok(out)
}

/// The one replay behind [`snapshots`] and [`page`]: narrates the window,
/// applies the ops up to its end and hands the snapshot of each op in it
/// to `take`, which may refuse it (the page is full). Returns the number
/// of the last op shown.
fn replay(
    trace: &Path,
    policy: PolicyKind,
    config: &Config,
    window: Window,
    mut take: impl FnMut(Snapshot) -> Result<(), ViewError>,
) -> Result<u64, ViewError> {
    let cap = window.from.saturating_add(MAX_OPS - 1);
    let last = window.to.map_or(cap, |to| to.min(cap));
    // Narrated first, by explain's own replay: a world cannot step back,
    // so the narration must be ready before the snapshots are taken.
    let narrations = narrations(trace, policy, config, window.from, last)?;
    let mut stepper = Stepper::open(trace, policy, config)?;
    let name = stepper.trace_name().to_owned();
    let past_end = |stepper: &Stepper| ViewError::PastEnd {
        trace: stepper.trace_name().to_owned(),
        from: window.from,
        ops: stepper.applied(),
    };
    if !stepper.run_to(window.from - 1)? {
        return Err(past_end(&stepper));
    }
    let label = trace_label(&name);
    let page_size = config.page_size;
    while stepper.applied() < last {
        let Some(op) = stepper.next_op()? else { break };
        stepper.apply(&op)?;
        let number = stepper.applied();
        let (tasks, objects) = world_snapshot(stepper.sim().view(), page_size);
        // The report so far. Finishing samples the run's measures, which
        // changes no page, object or counter, only the run's time series,
        // which the page does not show.
        let counters = Counters::of(&stepper.sim_mut().finish(&label));
        let narration = narrations.get(&number).cloned().unwrap_or_default();
        take(Snapshot { op: number, narration, tasks, objects, counters })?;
    }
    if stepper.applied() < window.from {
        return Err(past_end(&stepper));
    }
    // One op past the cap is read to tell a trace that ends at the cap
    // from one that goes on.
    if window.to.is_none_or(|to| to > cap) && stepper.applied() == cap && stepper.next_op()?.is_some() {
        let to = window.to.map_or_else(|| "the end".to_owned(), |to| to.to_string());
        return Err(ViewError::TooManyOps { trace: name, from: window.from, to, suggested: cap });
    }
    Ok(stepper.applied())
}

/// `cowsim explain`'s narration of ops `from..=to`, by op number: the text
/// is cut before every line that starts `op N:` for the next N expected,
/// so a line inside a story can never start a new one by accident.
fn narrations(
    trace: &Path,
    policy: PolicyKind,
    config: &Config,
    from: u64,
    to: u64,
) -> Result<BTreeMap<u64, String>, ViewError> {
    let mut text = Vec::new();
    narrate::explain(trace, policy, config, Some(from), Some(to), &mut text)?;
    let text = String::from_utf8_lossy(&text);
    let mut stories: BTreeMap<u64, String> = BTreeMap::new();
    let mut current: Option<u64> = None;
    // The first line names the trace and the policy; the page shows both
    // elsewhere.
    for line in text.lines().skip(1) {
        let next = current.map_or(from, |n| n + 1);
        if line.starts_with(&format!("op {next}:")) {
            current = Some(next);
        }
        if let Some(n) = current {
            let story = stories.entry(n).or_default();
            story.push_str(line);
            story.push('\n');
        }
    }
    Ok(stories)
}

// ---------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------

/// Makes the page for `trace` under `policies` (one, or two side by
/// side), showing the ops of `window`. Refuses a trace that cannot be read
/// twice, more than [`MAX_OPS`] ops and more than [`MAX_DATA_BYTES`] of
/// snapshots.
pub fn page(trace: &Path, policies: &[PolicyKind], config: &Config, window: Window) -> Result<String, ViewError> {
    page_within(trace, policies, config, window, MAX_DATA_BYTES)
}

/// [`page`] with another limit on the bytes of snapshots, so tests can
/// reach the limit without a 20 MiB world.
pub fn page_within(
    trace: &Path,
    policies: &[PolicyKind],
    config: &Config,
    window: Window,
    max_data_bytes: usize,
) -> Result<String, ViewError> {
    if policies.is_empty() || policies.len() > MAX_POLICIES {
        return Err(ViewError::BadUsage(format!(
            "--policy: cowsim view shows one policy, or two side by side (such as gnumach,linux); {} were named",
            policies.len()
        )));
    }
    // A missing file is left to the replay, which names it as every
    // command does.
    let is_stdin = trace.as_os_str() == crate::feed::STDIN;
    if is_stdin || std::fs::metadata(trace).is_ok_and(|m| !m.is_file()) {
        return Err(ViewError::NotAFile { trace: trace.display().to_string() });
    }
    let mut budget = max_data_bytes;
    let mut runs = Vec::new();
    let mut last = None;
    for &policy in policies {
        let mut steps = Vec::new();
        let end = replay(trace, policy, config, window, |snapshot| {
            let json = serde_json::to_string(&snapshot).map_err(|e| ViewError::Narration(e.to_string()))?;
            let op = snapshot.op;
            budget = budget.checked_sub(json.len()).ok_or_else(|| ViewError::TooLarge {
                trace: trace.display().to_string(),
                policy: policy.name(),
                op,
                suggested: op.saturating_sub(1).max(window.from),
                limit: max_data_bytes,
            })?;
            steps.push(json);
            Ok(())
        })?;
        last = Some(end);
        runs.push(Run { policy, steps });
    }
    let name = trace_label(&trace.display().to_string());
    let data = data_blob(&name, config.page_size, window.from, last.unwrap_or(window.from), &runs);
    Ok(html(&name, &runs, &data))
}

/// All the snapshots as one JSON text, made safe to sit inside a
/// `<script>` element: no `<` is left in it (a trace's file name or mark
/// could otherwise hold `</script>`), since `\u003c` means the same to
/// JSON.
fn data_blob(trace: &str, page_size: u64, first: u64, last: u64, runs: &[Run]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{{\"schema\":{},\"trace\":{},\"page_size\":{page_size},\"first\":{first},\"last\":{last},\"runs\":[",
        json(SCHEMA),
        json(trace)
    );
    for (i, run) in runs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"policy\":{},\"steps\":[", json(run.policy.name()));
        out.push_str(&run.steps.join(","));
        out.push_str("]}");
    }
    out.push_str("]}");
    out.replace('<', "\\u003c")
}

/// A string as JSON.
fn json(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The page around the blob. Everything the reader sees is drawn by the
/// script; the static part is a frame and a note for a browser that runs
/// no script.
fn html(trace: &str, runs: &[Run], data: &str) -> String {
    let policies: Vec<&str> = runs.iter().map(|r| r.policy.name()).collect();
    let title = escape_markup(&format!("{trace} under {} — cowsim view", policies.join(" and ")));
    let mut out = String::with_capacity(data.len() + SCRIPT.len() + STYLE.len() + 4096);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{title}</title>");
    out.push_str("<style>\n");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n");
    let _ = writeln!(out, "<header><h1>{title}</h1>");
    out.push_str(concat!(
        "<nav id=\"controls\">",
        "<button id=\"first\" title=\"first op (Home)\">|◀</button>",
        "<button id=\"prev\" title=\"previous op (←)\">◀</button>",
        "<span class=\"where\">op <span id=\"op-number\">?</span> of <span id=\"op-last\">?</span></span>",
        "<button id=\"next\" title=\"next op (→)\">▶</button>",
        "<button id=\"last\" title=\"last op (End)\">▶|</button>",
        "<input id=\"slider\" type=\"range\" aria-label=\"op\">",
        "<label>go to op <input id=\"jump\" type=\"number\" size=\"6\"></label>",
        "</nav></header>\n",
    ));
    out.push_str("<noscript><p>This page draws the run with JavaScript; allow scripts for this file.</p></noscript>\n");
    out.push_str("<main id=\"worlds\"></main>\n");
    out.push_str("<script type=\"application/json\" id=\"cowsim-data\">");
    out.push_str(data);
    out.push_str("</script>\n<script>\n");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Do page runs split on a gap and on a change of holders, and only
    /// there?
    #[test]
    fn pages_are_kept_as_runs() {
        let pages = [(0, 1), (1, 1), (2, 2), (3, 2), (5, 2), (6, 1)];
        assert_eq!(page_runs(pages.into_iter()), [[0, 2, 1], [2, 2, 2], [5, 1, 2], [6, 1, 1]]);
        assert_eq!(hidden_runs(&[1, 2, 3, 7, 9, 10]), [[1, 3], [7, 1], [9, 2]]);
        assert!(page_runs(std::iter::empty()).is_empty());
    }

    /// Can nothing in a trace's name or narration end the data's script
    /// element, or break the title?
    #[test]
    fn the_blob_and_title_are_escaped() {
        let blob = data_blob("a</script><b>.jsonl", 4096, 1, 1, &[]);
        assert!(!blob.contains('<'), "{blob}");
        let back: serde_json::Value = serde_json::from_str(&blob).unwrap();
        assert_eq!(back["trace"], "a</script><b>.jsonl");
        assert_eq!(escape_markup("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    /// Are nonsense windows refused with the flags' names?
    #[test]
    fn windows_are_checked() {
        assert!(Window::new(Some(0), None).unwrap_err().to_string().contains("--from 0"));
        assert!(Window::new(Some(5), Some(4)).unwrap_err().to_string().contains("--to 4 comes before --from 5"));
        assert_eq!(Window::new(None, Some(3)).unwrap(), Window { from: 1, to: Some(3) });
    }
}
