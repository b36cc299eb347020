//! What happened at each op of a quiz's trace, read from the simulator:
//! the source of every answer `cowsim quiz -c` prints.
//!
//! Answers are never worked out by hand here. The trace is replayed once
//! under the chosen policy with the events kept; after each op we keep the
//! op's code, the report as it stands (the same `Report` that `cowsim run`
//! prints, so "pages copied" means what it means everywhere), the faults
//! with what each found, and the reference count of every page a task can
//! see. A question is then a lookup.
//!
//! Where a fault found its page is the one thing the events do not say
//! outright: a `Fault` gives the depth, not the object. So, as `cowsim
//! explain` does, we keep a small mirror of the chains, taken from the
//! world before the op and moved along by the events that change chains
//! (`ShadowSet`, `EntryRetargeted`), and read the object at that depth at
//! the moment the fault searched: after the entry got a shadow of its own,
//! before the page was copied and anything collapsed.

use std::collections::BTreeMap;

use sim::event::{Event, FaultKind};
use sim::ids::{ObjectId, TaskId, Vpn};
use sim::report::Report;
use sim::view::{MapEntryView, WorldView};
use sim::{Access, Config, KernReturn, PolicyKind, Sim, SimError, TraceOp};

use super::problem::{WINDOW, WINDOW_PAGES};
use crate::narrate::{is_page_resolution, is_pre_walk};
use workloads::generators::script::PAGE;

/// One fault, told in the simulator's own terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultFacts {
    pub task: TaskId,
    /// The faulting page's address.
    pub addr: u64,
    pub access: Access,
    pub kind: FaultKind,
    /// How many objects below the first the page was found (the `Fault`
    /// event's depth).
    pub depth: u32,
    /// The object at that depth when the fault searched, by serial, for
    /// the faults that found a page there (map, copy, move, reuse).
    pub found: Option<u32>,
    /// Where the page was put: zero-filled, paged in, copied or moved into.
    pub into: Option<u32>,
    /// A shadow made for the faulting entry first: (shadow, in front of).
    pub shadow: Option<(u32, u32)>,
    /// The copy object the original was pushed into (delayed copy).
    pub pushed: Option<u32>,
    /// Collapses after the copy: (object, the backing object merged into it).
    pub collapsed: Vec<(u32, u32)>,
    /// Whether the task's pmap lets it write the page after the op (an
    /// op touches a page once, so this is what the fault left).
    pub writable_after: bool,
}

/// The world after one op, as far as the questions need it.
#[derive(Clone, Debug)]
pub struct OpFacts {
    pub code: KernReturn,
    /// The report of the run up to and including this op.
    pub report: Report,
    /// The op's faults, in order.
    pub faults: Vec<FaultFacts>,
    /// For every live task and every page of the window it sees a resident
    /// page at: that page's holders (`PageView::holders`).
    pub holders: BTreeMap<(TaskId, u64), u32>,
    /// The tasks alive after the op.
    pub live: Vec<TaskId>,
}

impl OpFacts {
    /// The longest chain now (the report's last sample, taken at this op).
    pub fn longest_chain(&self) -> u64 {
        self.report.series.last().map_or(0, |point| point.max_chain)
    }
}

/// Replays `trace` under `policy` and keeps the facts of every op. A trace
/// the simulator refuses is a bug of the problem generator, reported as
/// the op and the simulator's error.
pub fn replay(trace: &[TraceOp], policy: PolicyKind) -> Result<Vec<OpFacts>, (usize, SimError)> {
    // A sample at every op, so the report's hidden pages and chain lengths
    // are those after this op, not after the last sample.
    let config = Config::default().sample_every(1).check_invariants(cfg!(debug_assertions));
    let mut sim = Sim::new(policy, config);
    sim.keep_events(true);
    let mut facts = Vec::with_capacity(trace.len());
    for (index, op) in trace.iter().enumerate() {
        let mut mirror = Mirror::take(sim.view());
        let code = sim.apply_traced(op).map_err(|error| (index + 1, error))?;
        let events = sim.take_events();
        let mut faults = read_faults(&events, &mut mirror);
        let report = sim.finish("quiz");
        let view = sim.view();
        for fault in &mut faults {
            let vpn = Vpn(fault.addr / PAGE);
            fault.writable_after = view.pmap_finding(fault.task, vpn, Access::Write).is_none();
        }
        let live: Vec<TaskId> = view.tasks().map(|t| t.id()).collect();
        let mut holders = BTreeMap::new();
        for &task in &live {
            for page in 0..WINDOW_PAGES {
                let addr = WINDOW + page * PAGE;
                if let Some(count) = holders_at(view, task, Vpn(addr / PAGE)) {
                    holders.insert((task, addr), count);
                }
            }
        }
        facts.push(OpFacts { code, report, faults, holders, live });
    }
    Ok(facts)
}

/// The holders of the page `task` sees at `vpn`: the first resident page
/// down its entry's chain. `None` where nothing is mapped or resident yet.
pub fn holders_at(view: WorldView<'_>, task: TaskId, vpn: Vpn) -> Option<u32> {
    let entry = view.entry(task, vpn)?;
    let mut object = view.object(entry.object)?;
    let mut index = entry.object_page(vpn);
    loop {
        if let Some(page) = object.page_at(index) {
            return view.page(page).map(|p| p.holders);
        }
        let link = object.shadow()?;
        index = sim::Pindex(link.offset.0 + index.0);
        object = view.object(link.object)?;
    }
}

/// The chains as one op's events move them (see the module doc).
struct Mirror {
    entries: BTreeMap<(TaskId, Vpn), MapEntryView>,
    links: BTreeMap<ObjectId, Option<ObjectId>>,
    tops: BTreeMap<(TaskId, Vpn), ObjectId>,
}

impl Mirror {
    fn take(view: WorldView<'_>) -> Mirror {
        let mut entries = BTreeMap::new();
        for task in view.tasks() {
            for entry in task.entries() {
                entries.insert((task.id(), entry.start), entry);
            }
        }
        let links = view.objects().map(|o| (o.id(), o.shadow().map(|link| link.object))).collect();
        Mirror { entries, links, tops: BTreeMap::new() }
    }

    fn apply(&mut self, event: &Event) {
        match *event {
            Event::ObjectCreated { object, .. } => {
                self.links.insert(object, None);
            }
            Event::ShadowSet { object, shadow } => {
                self.links.insert(object, shadow);
            }
            Event::EntryRetargeted { task, start, object } => {
                self.tops.insert((task, start), object);
            }
            Event::ObjectFreed { object } => {
                self.links.remove(&object);
            }
            _ => {}
        }
    }

    /// The object `depth` levels below the top of the entry mapping `vpn`.
    fn at_depth(&self, task: TaskId, vpn: Vpn, depth: u32) -> Option<ObjectId> {
        let (&(owner, start), entry) = self.entries.range(..=(task, vpn)).next_back()?;
        if owner != task || !entry.contains(vpn) {
            return None;
        }
        let mut object = self.tops.get(&(task, start)).copied().unwrap_or(entry.object);
        for _ in 0..depth {
            object = (*self.links.get(&object)?)?;
        }
        Some(object)
    }
}

/// The faults of one op. Every change a fault makes is emitted before its
/// `Fault` event, so the events since the previous fault are its story.
fn read_faults(events: &[Event], mirror: &mut Mirror) -> Vec<FaultFacts> {
    let mut faults = Vec::new();
    let mut story: Vec<&Event> = Vec::new();
    for event in events {
        match *event {
            Event::Fault { task, vpn, access, kind, depth } => {
                let search = story
                    .iter()
                    .position(|e| is_page_resolution(e))
                    .unwrap_or_else(|| story.iter().position(|e| !is_pre_walk(e)).unwrap_or(story.len()));
                for e in &story[..search] {
                    mirror.apply(e);
                }
                // Only these faults found a page; the others made one, or
                // had no entry to search.
                let searched =
                    matches!(kind, FaultKind::Map | FaultKind::CowCopy | FaultKind::CowMove | FaultKind::Reuse);
                let found = if searched { mirror.at_depth(task, vpn, depth).map(|o| o.serial()) } else { None };
                let mut facts = FaultFacts {
                    task,
                    addr: vpn.0 * PAGE,
                    access,
                    kind,
                    depth,
                    found,
                    into: None,
                    shadow: None,
                    pushed: None,
                    collapsed: Vec::new(),
                    writable_after: false,
                };
                for e in &story {
                    match **e {
                        Event::PageZeroFilled { object, .. }
                        | Event::PagePagedIn { object, .. }
                        | Event::PageCopied { object, .. } => facts.into = Some(object.serial()),
                        Event::PageMoved { to, .. } => facts.into = Some(to.serial()),
                        Event::ShadowCreated { shadow, backing, .. } => {
                            facts.shadow = Some((shadow.serial(), backing.serial()));
                        }
                        Event::PagePushed { copy, .. } => facts.pushed = Some(copy.serial()),
                        Event::Collapsed { object, backing, .. } => {
                            facts.collapsed.push((object.serial(), backing.serial()));
                        }
                        _ => {}
                    }
                }
                for e in &story[search..] {
                    mirror.apply(e);
                }
                story.clear();
                faults.push(facts);
            }
            Event::Access { .. } | Event::OpFinished { .. } | Event::TaskCreated { .. } | Event::TaskExited { .. } => {}
            _ => story.push(event),
        }
    }
    faults
}
