//! Narrations: what each operation and each fault did, in plain sentences
//! (`cowsim explain`).
//!
//! ```text
//! op 4: task 1 forks task 2
//!   task 1 now maps 0x100000-0x104000 rw → object 1 (2 refs), needs copy
//!   task 2 maps 0x100000-0x104000 rw → object 1 (2 refs), needs copy
//! op 5: task 2 writes 0x101000 → not in the pmap; the entry needs a copy, so it
//!       gets new shadow object 2 in front of object 1; found in object 1 at
//!       depth 1 and copied into object 2 (chain 2 → 1)
//! ```
//!
//! (The second line is one line in the real output.)
//!
//! How it is made. The simulator keeps its events (`Sim::keep_events`);
//! after each op the narrator takes them (`Sim::take_events`) and reads
//! them in order. Every state change inside a fault is emitted before the
//! fault's own `Fault` event, so the events since the previous fault are
//! that fault's story: a shadow made, a page zero-filled or copied, a push,
//! a collapse, objects and pages freed. A page access with no fault before
//! it was a pmap hit; hits are only counted ("3 pages hit the pmap").
//! Consecutive pages whose faults read the same are told once, as a range.
//!
//! Two things a student wants to see are not in the events: *where* a page
//! was found (the object at the depth the fault reports) and the chain
//! afterwards, both of which can change in the middle of an op (a write to
//! four pages makes a shadow at the first). So the narrator keeps a small
//! mirror of the chains, read from the world (`Sim::view`) before each op
//! and moved along by the events that change chains (every shadow pointer
//! and every faulting entry's object that changes says so: `ShadowSet`,
//! `EntryRetargeted`). The events cannot carry the chains themselves: that
//! would cost every run, narrated or not, a list per fault. A test checks,
//! for every example under every policy, that the mirror ends each op where
//! the world is.
//!
//! After an op that changes maps (fork, vm_allocate, vm_copy...), the
//! entries that are new or changed are described from the world itself.
//!
//! Addresses are bytes; a range `0x100000-0x104000` ends just before its
//! second address, as in `/proc/PID/maps`. Ops are numbered from 1 (see
//! `stepper.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use sim::event::{Event, FaultKind};
use sim::ids::{ObjectId, PageId, TaskId, Vpn};
use sim::op::{AccessOp, Op, Recorded};
use sim::types::{Access, KernReturn, Prot};
use sim::view::{MapEntryView, WorldView};
use sim::{Config, ObjectRole, PolicyKind};

use crate::object_graph::{count, prot_text};
use crate::replay::ReplayError;
use crate::stepper::{Stepper, trace_label};

/// What `cowsim explain` could not do.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The replay failed: bad input (exit 2) or an unmet `expect` (exit 1).
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// `--from`/`--to` make no sense (bad usage: exit 2).
    #[error("{0}")]
    BadRange(String),
    /// `--from` names an op the trace does not have (bad usage: exit 2).
    #[error("{trace}: --from {from} is past the end of the trace, which has {ops} ops (ops are numbered from 1)")]
    PastEnd { trace: String, from: u64, ops: u64 },
    /// Writing the narration failed.
    #[error("writing the narration: {0}")]
    Io(#[from] std::io::Error),
}

/// Narrates ops `from..=to` (1-based; `to` defaults to the end) of `trace`
/// replayed under `policy`, one op after another, to `out`. Ops before
/// `from` are replayed silently. A broken pipe (`| head`) ends the
/// narration quietly.
pub fn explain(
    trace: &Path,
    policy: PolicyKind,
    config: &Config,
    from: Option<u64>,
    to: Option<u64>,
    out: &mut dyn Write,
) -> Result<(), ExplainError> {
    match explain_inner(trace, policy, config, from, to, out) {
        Err(ExplainError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn explain_inner(
    trace: &Path,
    policy: PolicyKind,
    config: &Config,
    from: Option<u64>,
    to: Option<u64>,
    out: &mut dyn Write,
) -> Result<(), ExplainError> {
    let from = from.unwrap_or(1);
    if from == 0 {
        return Err(ExplainError::BadRange("--from 0: ops are numbered from 1".into()));
    }
    if let Some(to) = to
        && to < from
    {
        return Err(ExplainError::BadRange(format!("--to {to} comes before --from {from}")));
    }
    let mut stepper = Stepper::open(trace, policy, config)?;
    let page_size = config.page_size;
    writeln!(out, "{} under {}:", trace_label(stepper.trace_name()), policy.name())?;
    if !stepper.run_to(from - 1)? {
        let (trace, ops) = (stepper.trace_name().to_string(), stepper.applied());
        return Err(ExplainError::PastEnd { trace, from, ops });
    }
    stepper.sim_mut().keep_events(true);
    let mut chain_explained = false;
    while to.is_none_or(|to| stepper.applied() < to) {
        let Some(op) = stepper.next_op()? else { break };
        let before = Before::take(stepper.sim().view(), &op.value.op, page_size);
        let result = stepper.apply(&op);
        let events = stepper.sim_mut().take_events();
        let story = OpStory { number: stepper.applied(), op: &op.value.op, page_size, before: &before };
        let mut text = story.tell(&events, stepper.sim().view()).0;
        if !chain_explained {
            chain_explained = explain_chain_notation(&mut text);
        }
        out.write_all(text.as_bytes())?;
        result?;
    }
    if stepper.applied() < from {
        let (trace, ops) = (stepper.trace_name().to_string(), stepper.applied());
        return Err(ExplainError::PastEnd { trace, from, ops });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The world before an op, and the mirror of its chains
// ---------------------------------------------------------------------------

/// What the narrator needs of the world as it was before an op.
pub(crate) struct Before {
    /// Every map entry, by task and start page.
    entries: BTreeMap<(TaskId, Vpn), MapEntryView>,
    /// The object every live object shadows (`None` at the bottom of a
    /// chain): where the mirror starts.
    links: BTreeMap<ObjectId, Option<ObjectId>>,
    /// Every live object's reference count.
    refs: BTreeMap<ObjectId, u32>,
    /// The protection of every pmap entry, stale ones included, over the
    /// pages the op may fault on, and whether it was stale (its page's
    /// mappings taken away since it was made).
    pmap: BTreeMap<(TaskId, Vpn), (Prot, bool)>,
    /// Every valid pmap entry of every task: the page it maps and whether
    /// a write would go through. What the op takes away is told after it.
    mappings: BTreeMap<(TaskId, Vpn), (PageId, bool)>,
    /// The hidden pages (resident, unreachable by any mapping) by object.
    hidden: BTreeSet<(ObjectId, u64)>,
}

impl Before {
    /// Copies out what is needed to tell `op`'s story.
    pub(crate) fn take(view: WorldView<'_>, op: &Op, page_size: u64) -> Before {
        let mut entries = BTreeMap::new();
        for task in view.tasks() {
            for entry in task.entries() {
                entries.insert((task.id(), entry.start), entry);
            }
        }
        let links = view.objects().map(|o| (o.id(), o.shadow().map(|link| link.object))).collect();
        let refs = view.objects().map(|o| (o.id(), o.ref_count())).collect();
        let mut pmap = BTreeMap::new();
        if let Some((task, start, end)) = fault_window(op, page_size)
            && let Some(t) = view.task(task)
        {
            for (vpn, e) in t.pmap_entries(start..end) {
                let stale = view.pmap_finding(task, vpn, Access::Read) == Some(Recorded::NotPresent);
                pmap.insert((task, vpn), (e.protection, stale));
            }
        }
        let mut mappings = BTreeMap::new();
        for t in view.tasks() {
            for (vpn, e) in t.pmap_entries(Vpn(0)..Vpn(u64::MAX)) {
                if view.pmap_finding(t.id(), vpn, Access::Read).is_none() {
                    let writable = view.pmap_finding(t.id(), vpn, Access::Write).is_none();
                    mappings.insert((t.id(), vpn), (e.page, writable));
                }
            }
        }
        Before { entries, links, refs, pmap, mappings, hidden: hidden_set(view) }
    }
}

/// The task and pages an op may fault on: the range of an access, or the
/// destination of a `vm_write`/`vm_copy` (written page by page when it is
/// shared memory).
fn fault_window(op: &Op, page_size: u64) -> Option<(TaskId, Vpn, Vpn)> {
    let (task, addr, len) = match op {
        Op::Access(a) => (a.task, a.addr, a.len),
        Op::VmWrite { task, addr, size, .. } => (*task, *addr, *size),
        Op::VmCopy { task, dst, size, .. } => (*task, *dst, *size),
        _ => return None,
    };
    let (start, end) = page_span(addr, len, page_size)?;
    Some((task, start, end))
}

/// The pages `[addr, addr + len)` touches; `None` if it wraps.
fn page_span(addr: u64, len: u64, page_size: u64) -> Option<(Vpn, Vpn)> {
    let end = addr.checked_add(len)?.checked_next_multiple_of(page_size)?;
    Some((Vpn(addr / page_size), Vpn(end / page_size)))
}

/// The chains as the events of one op move them (see the module docs).
pub(crate) struct Mirror<'b> {
    before: &'b Before,
    links: BTreeMap<ObjectId, Option<ObjectId>>,
    /// Entries that got a new top object during the op, by task and start.
    tops: BTreeMap<(TaskId, Vpn), ObjectId>,
    /// The last chain walked, from its top object (see `chain`).
    walked: Option<(ObjectId, Vec<ObjectId>)>,
}

/// Can this event change a chain the mirror walks?
fn changes_chains(event: &Event) -> bool {
    matches!(
        event,
        Event::ObjectCreated { .. }
            | Event::ShadowSet { .. }
            | Event::EntryRetargeted { .. }
            | Event::ObjectFreed { .. }
    )
}

/// Is this event bookkeeping for viewers (a shadow pointer or an entry's
/// object changing), followed by the mirror but never told on its own?
fn is_bookkeeping(event: &Event) -> bool {
    matches!(event, Event::ShadowSet { .. } | Event::EntryRetargeted { .. })
}

impl<'b> Mirror<'b> {
    pub(crate) fn new(before: &'b Before) -> Mirror<'b> {
        Mirror { before, links: before.links.clone(), tops: BTreeMap::new(), walked: None }
    }

    /// The entry (as it was before the op) that maps `vpn` in `task`.
    fn entry(&self, task: TaskId, vpn: Vpn) -> Option<&MapEntryView> {
        let (&(key_task, _), entry) = self.before.entries.range(..=(task, vpn)).next_back()?;
        (key_task == task && entry.contains(vpn)).then_some(entry)
    }

    /// The object the entry mapping `vpn` points at now.
    fn top(&self, task: TaskId, vpn: Vpn) -> Option<ObjectId> {
        let entry = self.entry(task, vpn)?;
        Some(self.tops.get(&(task, entry.start)).copied().unwrap_or(entry.object))
    }

    /// The chain from `top` down, as the mirror has it. Kept until the
    /// links change, so the faults of a long read walk a deep chain once.
    fn chain(&mut self, top: ObjectId) -> &[ObjectId] {
        if self.walked.as_ref().is_none_or(|(t, _)| *t != top) {
            let mut chain = vec![top];
            let mut current = top;
            while let Some(Some(below)) = self.links.get(&current) {
                if chain.len() > self.links.len() {
                    break; // a loop: never in a sound world, but never hang
                }
                chain.push(*below);
                current = *below;
            }
            self.walked = Some((top, chain));
        }
        self.walked.as_ref().map_or(&[], |(_, chain)| chain.as_slice())
    }

    /// The chain of the entry that maps `vpn` in `task` (empty if none).
    fn entry_chain(&mut self, task: TaskId, vpn: Vpn) -> &[ObjectId] {
        match self.top(task, vpn) {
            Some(top) => self.chain(top),
            None => &[],
        }
    }

    /// Moves the mirror along one event: an object made or freed, a shadow
    /// pointer set, or the faulting entry given a new object (a shadow, an
    /// amap, a takeover).
    fn apply(&mut self, event: &Event) {
        if changes_chains(event) {
            self.walked = None;
        }
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

    /// Does the mirror agree with the world after the op? Every live
    /// object's shadow and, when `entries` is set (after an access, where
    /// only faults change entries), the object of every entry that kept its
    /// range. Returns the first disagreement.
    #[cfg(test)]
    pub(crate) fn disagreement(&self, view: WorldView<'_>, entries: bool) -> Option<String> {
        for object in view.objects() {
            let real = object.shadow().map(|link| link.object);
            let mirrored = self.links.get(&object.id()).copied().flatten();
            if real != mirrored {
                return Some(format!("{:?} shadows {real:?}, mirror says {mirrored:?}", object.id()));
            }
        }
        if !entries {
            return None;
        }
        for (&(task, start), old) in &self.before.entries {
            let Some(now) = view.entry(task, start) else { continue };
            if now.start != old.start || now.end != old.end {
                continue;
            }
            let mirrored = self.tops.get(&(task, start)).copied().unwrap_or(old.object);
            if now.object != mirrored {
                return Some(format!("{task:?} entry {start:?} maps {:?}, mirror says {mirrored:?}", now.object));
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------
// Telling one op
// ---------------------------------------------------------------------------

/// One op to narrate.
struct OpStory<'a> {
    number: u64,
    op: &'a Op,
    page_size: u64,
    before: &'a Before,
}

/// Consecutive faults of one task that read the same, told once.
struct FaultRun {
    task: TaskId,
    first: Vpn,
    last: Vpn,
    text: String,
}

/// A line of an op's story.
enum Line {
    Faults(FaultRun),
    /// Pages that hit the pmap (counted, not told one by one).
    Hits(u64),
    Text(String),
}

impl<'a> OpStory<'a> {
    /// The op's narration: a header line and, indented, what happened.
    /// Also returns the chain mirror as the events left it (for tests).
    fn tell(&self, events: &[Event], view: WorldView<'_>) -> (String, Mirror<'a>) {
        let mut mirror = Mirror::new(self.before);
        let mut lines: Vec<Line> = Vec::new();
        let mut pending: Vec<&Event> = Vec::new();
        let mut hits = 0u64;
        let mut code = KernReturn::Success;
        let mut previous: Option<&Event> = None;
        for event in events {
            match event {
                Event::Fault { task, vpn, access, kind, depth } => {
                    let fault = FaultFacts { task: *task, vpn: *vpn, access: *access, kind: *kind, depth: *depth };
                    let text = self.fault_text(&fault, &pending, &mut mirror, view);
                    push_fault(&mut lines, fault.task, fault.vpn, text);
                    pending.clear();
                }
                Event::Access { task, vpn, .. } => {
                    let after_its_fault = matches!(previous,
                        Some(Event::Fault { task: t, vpn: v, .. }) if t == task && v == vpn);
                    if !after_its_fault {
                        hits += 1;
                    }
                }
                Event::OpFinished { kern_return } => code = *kern_return,
                Event::TaskCreated { .. } | Event::TaskExited { .. } => {}
                other => pending.push(other),
            }
            previous = Some(event);
        }
        for event in &pending {
            mirror.apply(event);
        }
        for text in happenings(&pending, view, false) {
            lines.push(Line::Text(text));
        }
        if hits > 0 {
            lines.push(Line::Hits(hits));
        }
        if !matches!(self.op, Op::Access(_)) {
            lines.extend(self.fewer_references(view).into_iter().map(Line::Text));
        }
        if !matches!(self.op, Op::Access(_) | Op::Exit { .. } | Op::Exec { .. }) {
            lines.extend(self.map_changes(view).into_iter().map(Line::Text));
        }
        lines.extend(self.pmap_changes(events, view).into_iter().map(Line::Text));
        lines.extend(self.hidden_changes(view).into_iter().map(Line::Text));
        (self.assemble(lines, code), mirror)
    }

    /// The header and lines, joined. An access whose whole story is one
    /// run of faults (or all hits) is told on one line.
    fn assemble(&self, lines: Vec<Line>, code: KernReturn) -> String {
        let header = format!("op {}: {}", self.number, self.op_sentence());
        let is_access = matches!(self.op, Op::Access(_));
        if code != KernReturn::Success && !is_access {
            return format!("{header} → {}: nothing changes\n", code.name());
        }
        let whole = self.access_span();
        let mut text = String::new();
        match lines.as_slice() {
            [Line::Faults(run)] if whole == Some((run.first, Vpn(run.last.0 + 1))) && code == KernReturn::Success => {
                text = format!("{header} → {}\n", run.text);
            }
            [Line::Hits(hits)] if whole.is_some_and(|(s, e)| e.0 - s.0 == *hits) && code == KernReturn::Success => {
                let all = if *hits == 1 { "a pmap hit".to_string() } else { format!("all {hits} pages hit the pmap") };
                text = format!("{header} → {all}\n");
            }
            _ => {
                text.push_str(&header);
                text.push('\n');
                for line in &lines {
                    let body = match line {
                        Line::Faults(run) => format!("{} → {}", self.run_span(run), run.text),
                        Line::Hits(hits) => format!("{} the pmap", hit_text(*hits)),
                        Line::Text(t) => t.clone(),
                    };
                    text.push_str("  ");
                    text.push_str(&body);
                    text.push('\n');
                }
                if code != KernReturn::Success {
                    text.push_str(&format!("  the access stops there and returns {}\n", code.name()));
                }
            }
        }
        text
    }

    /// The pages an access op covers.
    fn access_span(&self) -> Option<(Vpn, Vpn)> {
        match self.op {
            Op::Access(a) if a.len > 0 => page_span(a.addr, a.len, self.page_size),
            _ => None,
        }
    }

    /// `0x101000` or `0x100000-0x104000 (4 pages)`, with the task when the
    /// op is not an access of that task.
    fn run_span(&self, run: &FaultRun) -> String {
        let span = self.pages_text(run.first, Vpn(run.last.0 + 1));
        match self.op {
            Op::Access(a) if a.task == run.task => span,
            _ => format!("task {} at {span}", run.task.0),
        }
    }

    /// A page range as bytes: one page by its address, more as a range.
    fn pages_text(&self, start: Vpn, end: Vpn) -> String {
        let pages = end.0 - start.0;
        if pages == 1 {
            format!("{:#x}", start.0 * self.page_size)
        } else {
            format!("{} ({})", self.byte_range(start, end), count(pages, "page"))
        }
    }

    fn byte_range(&self, start: Vpn, end: Vpn) -> String {
        format!("{:#x}-{:#x}", start.0 * self.page_size, end.0 * self.page_size)
    }

    /// The header sentence: who does what.
    fn op_sentence(&self) -> String {
        // Exactly as the trace gives it: a misaligned size is often the
        // point of the question (`KERN_INVALID_ARGUMENT`).
        let range = |addr: u64, size: u64| match addr.checked_add(size) {
            Some(end) if size > 0 => format!("{addr:#x}-{end:#x}"),
            _ => format!("{addr:#x} (+{})", bytes_text(size)),
        };
        match self.op {
            Op::TaskCreate { task } => format!("task {} is created with an empty map", task.0),
            Op::Fork { parent, child } => format!("task {} forks task {}", parent.0, child.0),
            Op::Exec { task } => format!("task {} execs: its map is emptied", task.0),
            Op::Exit { task } => format!("task {} exits: its map is released", task.0),
            Op::VmAllocate { task, addr, size, anywhere } => {
                let place = match (addr, anywhere) {
                    (Some(a), false) => format!("at {a:#x}"),
                    (Some(a), true) => format!("anywhere from {a:#x}"),
                    (None, _) => "anywhere".to_string(),
                };
                format!("task {} allocates {} {place}", task.0, bytes_text(*size))
            }
            Op::VmDeallocate { task, addr, size } => format!("task {} deallocates {}", task.0, range(*addr, *size)),
            Op::VmProtect { task, addr, size, prot, set_max } => {
                let which = if *set_max { "maximum protection" } else { "protection" };
                format!("task {} sets the {which} of {} to {}", task.0, range(*addr, *size), prot_text(*prot))
            }
            Op::VmInherit { task, addr, size, inherit } => {
                format!("task {} sets the inheritance of {} to {}", task.0, range(*addr, *size), inherit.name())
            }
            Op::VmRead { task, addr, size, caller, dst } => {
                let into = dst.map_or("anywhere".to_string(), |d| format!("at {d:#x}"));
                format!(
                    "task {} maps a copy of task {}'s {} into its own map {into} (vm_read)",
                    caller.0,
                    task.0,
                    range(*addr, *size)
                )
            }
            Op::VmWrite { task, addr, size, caller, src } => format!(
                "task {} writes its {} over task {}'s {} (vm_write)",
                caller.0,
                range(*src, *size),
                task.0,
                range(*addr, *size)
            ),
            Op::VmCopy { task, src, size, dst } => {
                format!("task {} copies {} to {:#x} (vm_copy, {})", task.0, range(*src, *size), dst, bytes_text(*size))
            }
            Op::VmMove { task, src, size, dst } => {
                format!("task {} moves its {} to {:#x}, memory and all (vm_move)", task.0, range(*src, *size), dst)
            }
            Op::VmMap { task, addr, size, anywhere, file, offset, private, prot } => {
                let place = match (addr, anywhere) {
                    (Some(a), false) => format!("at {a:#x}"),
                    _ => "anywhere".to_string(),
                };
                let how = if *private { "privately (copy-on-write)" } else { "shared" };
                let from = if *offset == 0 { String::new() } else { format!(" from byte {offset:#x}") };
                format!(
                    "task {} maps {} of file {file}{from} {place}, {how}, {}",
                    task.0,
                    bytes_text(*size),
                    prot_text(*prot)
                )
            }
            Op::Access(a) => self.access_sentence(a),
            Op::Mark { label } => format!("mark \"{label}\""),
            Op::Resident { task, addr, size, present } => {
                let pages: u64 = present.iter().map(|(_, count)| count).sum();
                format!(
                    "the real process {} had {pages} of the pages of its {} present at its exit (resident)",
                    task.0,
                    range(*addr, *size)
                )
            }
            Op::PageCache { file, size, cached, read_ahead, .. } => {
                let pages: u64 = cached.iter().map(|(_, count)| count).sum();
                format!(
                    "before the program touched file {file} ({}), {pages} of its pages were in the real page cache; \
                     its device reads ahead up to {} (page_cache)",
                    bytes_text(*size),
                    bytes_text(*read_ahead)
                )
            }
            Op::FileRead { task, file, offset, len } => {
                let from = if *offset == 0 { String::new() } else { format!(" from byte {offset:#x}") };
                let who = task.map_or("the program".to_owned(), |t| format!("task {}", t.0));
                format!("{who} reads {} of file {file}{from} with read(2) (file_read)", bytes_text(*len))
            }
        }
    }

    fn access_sentence(&self, a: &AccessOp) -> String {
        let verb = match a.access {
            Access::Read => "reads",
            Access::Write => "writes",
            Access::ExecFetch => "fetches instructions from",
        };
        let aligned = a.addr.is_multiple_of(self.page_size) && a.len.is_multiple_of(self.page_size);
        match page_span(a.addr, a.len, self.page_size) {
            Some((s, e)) if a.len > 0 && aligned => format!("task {} {verb} {}", a.task.0, self.pages_text(s, e)),
            // Not whole pages: the bytes as given, then the pages they touch.
            Some((s, e)) if a.len > 0 => format!(
                "task {} {verb} {} at {:#x} (pages {})",
                a.task.0,
                bytes_text(a.len),
                a.addr,
                self.byte_range(s, e)
            ),
            _ => format!("task {} {verb} {} at {:#x}", a.task.0, bytes_text(a.len), a.addr),
        }
    }

    /// One fault's sentence, without its address. Moves the mirror along
    /// the fault's events.
    fn fault_text(&self, fault: &FaultFacts, events: &[&Event], mirror: &mut Mirror, view: WorldView<'_>) -> String {
        let mut clauses: Vec<String> = Vec::new();
        if let Some(why) = self.why_it_faulted(fault) {
            clauses.push(why);
        }
        match fault.kind {
            FaultKind::Segv => {
                clauses.push("no map entry covers it: segmentation fault".into());
                return clauses.join("; ");
            }
            FaultKind::Protection => {
                let allowed =
                    mirror.entry(fault.task, fault.vpn).map_or("none".to_string(), |e| prot_text(e.protection));
                clauses.push(format!("the entry allows only {allowed}: protection fault"));
                return clauses.join("; ");
            }
            _ => {}
        }
        // The chain walk happens just before the first event that resolves
        // the page; everything before it (a new shadow) is already applied.
        let first_resolving = events.iter().position(|e| is_page_resolution(e));
        let walk_point =
            first_resolving.unwrap_or_else(|| events.iter().position(|e| !is_pre_walk(e)).unwrap_or(events.len()));
        for event in &events[..walk_point] {
            mirror.apply(event);
        }
        let walked = mirror.entry_chain(fault.task, fault.vpn);
        let walked = Walked { found: walked.get(fault.depth as usize).copied(), length: walked.len() };
        let mut told = happenings(&events[..walk_point], view, true);
        // The page events that put the page in place: one, or a page-in at
        // the bottom followed by the copy up.
        let acts = events[walk_point..].iter().take_while(|e| is_page_resolution(e)).count();
        let resolution: Vec<&Event> = events[walk_point..walk_point + acts].to_vec();
        told.push(lookup_clause(fault, &walked, &resolution, view));
        let rest = &events[walk_point + acts..];
        for event in rest {
            mirror.apply(event);
        }
        told.extend(happenings(rest, view, true));
        clauses.extend(told);
        let mut text = clauses.join("; ");
        let after = mirror.entry_chain(fault.task, fault.vpn);
        if !after.is_empty() {
            text.push_str(&format!(" ({})", chain_text(after)));
        }
        text
    }

    /// Why the access was not a pmap hit, from the pmap before the op. A
    /// stale entry faults whatever it allows, so staleness is told first.
    fn why_it_faulted(&self, fault: &FaultFacts) -> Option<String> {
        fault_window(self.op, self.page_size)?;
        Some(match self.before.pmap.get(&(fault.task, fault.vpn)) {
            None => "not in the pmap".to_string(),
            Some((_, true)) => "its pmap entry was revoked since it was made".to_string(),
            Some((prot, false)) if !prot.allows(fault.access.needs()) => {
                if *prot == Prot::NONE {
                    "the pmap maps it with no access".to_string()
                } else if *prot == Prot::READ {
                    "the pmap maps it read-only".to_string()
                } else {
                    format!("the pmap maps it {} only", prot_text(*prot))
                }
            }
            Some(_) => "its pmap entry was revoked since it was made".to_string(),
        })
    }

    /// Does `task` map `vpn` from another object page than before the op?
    fn entry_replaced(&self, task: TaskId, vpn: Vpn, view: WorldView<'_>) -> bool {
        let was = self.before.entries.range(..=(task, vpn)).next_back().map(|(_, e)| *e).filter(|e| e.contains(vpn));
        let now = view.task(task).and_then(|t| t.entry_at(vpn));
        match (was, now) {
            (Some(was), Some(now)) => (was.object, was.object_page(vpn)) != (now.object, now.object_page(vpn)),
            _ => false,
        }
    }

    /// Pages that became hidden in the op (resident, but no mapping can
    /// reach them: memory nobody can use until a collapse or a free), and
    /// hidden pages that stopped being so, object by object.
    fn hidden_changes(&self, view: WorldView<'_>) -> Vec<String> {
        let now = hidden_set(view);
        let mut lines = Vec::new();
        for (set, was) in [(&now, &self.before.hidden), (&self.before.hidden, &now)] {
            let mut by_object: BTreeMap<ObjectId, Vec<u64>> = BTreeMap::new();
            for &(object, page) in set.difference(was) {
                by_object.entry(object).or_default().push(page);
            }
            let newly = std::ptr::eq(set, &now);
            for (object, pages) in by_object {
                let list = pages.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
                let (which, are, them) = if pages.len() == 1 { ("page", "is", "it") } else { ("pages", "are", "them") };
                let object_name = object.serial();
                lines.push(if newly {
                    format!("{which} {list} of object {object_name} {are} now hidden: resident, but no mapping can reach {them}")
                } else if view.object(object).is_none() {
                    format!("hidden {which} {list} of object {object_name} {are} gone with the object")
                } else {
                    format!("{which} {list} of object {object_name} {are} no longer hidden")
                });
            }
        }
        lines
    }

    /// What the op took away from pmaps other than by unmapping: entries
    /// revoked (their page copied, pushed, moved or freed: the simulated
    /// `pmap_page_protect` takes every mapping of a page away), entries
    /// write-protected (copy-on-write after a fork or a copy), and entries
    /// dropped while the memory stays mapped (a pmap flush). One line per
    /// task and kind, with the pages as ranges and the reason.
    fn pmap_changes(&self, events: &[Event], view: WorldView<'_>) -> Vec<String> {
        let mut changes: BTreeMap<(TaskId, &'static str, String), Vec<Vpn>> = BTreeMap::new();
        for (&(task, vpn), &(page, was_writable)) in &self.before.mappings {
            let Some(t) = view.task(task) else { continue };
            if t.entry_at(vpn).is_none() {
                continue; // unmapped: the op's own sentence says so
            }
            let kind = match t.pmap_entry(vpn) {
                None if self.entry_replaced(task, vpn, view) => {
                    Some(("dropped", "the mapping there was replaced by the op".to_string()))
                }
                None => Some(("dropped", String::new())),
                Some(now) if view.pmap_finding(task, vpn, Access::Read).is_some() => Some((
                    "revoked",
                    if now.page == page { revocation_reason(page, events, view) } else { String::new() },
                )),
                Some(now)
                    if now.page == page && was_writable && view.pmap_finding(task, vpn, Access::Write).is_some() =>
                {
                    Some(("write-protected", String::new()))
                }
                Some(_) => None,
            };
            if let Some((kind, why)) = kind {
                changes.entry((task, kind, why)).or_default().push(vpn);
            }
        }
        let forking = matches!(self.op, Op::Fork { .. });
        let mut lines = Vec::new();
        if let Op::Fork { child, .. } = self.op
            && let Some(t) = view.task(*child)
        {
            let valid: Vec<Vpn> = t
                .pmap_entries(Vpn(0)..Vpn(u64::MAX))
                .map(|(vpn, _)| vpn)
                .filter(|vpn| view.pmap_finding(*child, *vpn, Access::Read).is_none())
                .collect();
            if !valid.is_empty() {
                let pages = vpn_runs(&valid).into_iter().map(|(s, e)| self.pages_text(s, e)).collect::<Vec<_>>();
                lines.push(format!(
                    "task {}'s pmap starts with read-only entries for {}, copied from its parent's page table",
                    child.0,
                    pages.join(", ")
                ));
            }
        }
        changes
            .into_iter()
            .map(|((task, kind, why), vpns)| {
                let pages = vpn_runs(&vpns).into_iter().map(|(s, e)| self.pages_text(s, e)).collect::<Vec<_>>();
                let (entries, are, each) =
                    if vpns.len() == 1 { ("entry", "is", "it") } else { ("entries", "are", "each page") };
                let what = match (kind, forking) {
                    ("dropped", true) => format!(
                        "dropped: the fork flushes the parent's hardware mappings (Plan 9 `flushmmu`), so its next \
                         access to {each} faults"
                    ),
                    ("dropped", false) if !why.is_empty() => "dropped; the next access refaults".to_string(),
                    ("dropped", false) => "dropped (the pmap is flushed); the next access refaults".to_string(),
                    ("write-protected", true) => {
                        format!("write-protected: copy-on-write, so the parent's next write to {each} faults")
                    }
                    ("write-protected", false) => "write-protected; a write will fault".to_string(),
                    _ => "revoked; the next access faults".to_string(),
                };
                let why = if why.is_empty() { String::new() } else { format!(" ({why})") };
                format!("task {}'s pmap {entries} for {} {are} {what}{why}", task.0, pages.join(", "))
            })
            .for_each(|line| lines.push(line));
        lines
    }

    /// Objects that lost references in the op and are still alive: what
    /// makes a later collapse possible.
    fn fewer_references(&self, view: WorldView<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        for object in view.objects() {
            let Some(&was) = self.before.refs.get(&object.id()) else { continue };
            if object.ref_count() < was {
                lines.push(format!(
                    "object {} is down to {} (from {was})",
                    object.id().serial(),
                    count(u64::from(object.ref_count()), "ref")
                ));
            }
        }
        lines
    }

    /// The entries that are new or changed since before the op (and those
    /// gone, for a task that is still there), from the world after it.
    fn map_changes(&self, view: WorldView<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        let mut now: BTreeSet<(TaskId, Vpn)> = BTreeSet::new();
        for task in view.tasks() {
            for entry in task.entries() {
                now.insert((task.id(), entry.start));
                let old = self.before.entries.get(&(task.id(), entry.start));
                if old == Some(&entry) {
                    continue;
                }
                let verb = if old.is_some() { "now maps" } else { "maps" };
                lines.push(format!("task {} {verb} {}", task.id().0, self.entry_text(&entry, view)));
            }
        }
        for (&(task, start), old) in &self.before.entries {
            if !now.contains(&(task, start)) && view.task(task).is_some() {
                let covered = view.entry(task, start).is_some();
                if !covered {
                    lines.push(format!("task {} unmaps {}", task.0, self.byte_range(old.start, old.end)));
                }
            }
        }
        lines
    }

    /// `0x100000-0x104000 rw → object 3 (2 refs, chain 3 → 1), needs copy`.
    fn entry_text(&self, entry: &MapEntryView, view: WorldView<'_>) -> String {
        let refs = view.object(entry.object).map_or(0, |o| o.ref_count());
        let chain = chain_ids(view, entry.object);
        let mut notes = vec![format!("{refs} ref{}", if refs == 1 { "" } else { "s" })];
        if chain.len() > 1 {
            notes.push(chain_text(&chain));
        }
        let from = if entry.offset.0 == 0 { String::new() } else { format!(" from page {}", entry.offset.0) };
        let mut text = format!(
            "{} {} → object {}{from} ({})",
            self.byte_range(entry.start, entry.end),
            prot_text(entry.protection),
            entry.object.serial(),
            notes.join(", ")
        );
        if entry.needs_copy {
            text.push_str(", needs copy");
        }
        if entry.shared {
            text.push_str(", shared");
        }
        if entry.inheritance != sim::Inheritance::Copy {
            text.push_str(&format!(", inherit {}", entry.inheritance.name()));
        }
        text
    }
}

/// What the chain a fault searched says about it.
struct Walked {
    /// The object at the fault's depth.
    found: Option<ObjectId>,
    /// How many objects the chain had.
    length: usize,
}

/// The facts of one `Fault` event.
struct FaultFacts {
    task: TaskId,
    vpn: Vpn,
    access: Access,
    kind: FaultKind,
    depth: u32,
}

/// Every hidden page, as (object, page index).
fn hidden_set(view: WorldView<'_>) -> BTreeSet<(ObjectId, u64)> {
    view.hidden_pages_by_object().into_iter().flat_map(|(o, pages)| pages.into_iter().map(move |p| (o, p.0))).collect()
}

/// What the first `(chain 3 → 1)` of a narration means, said once, after
/// it. True when the text had one.
fn explain_chain_notation(text: &mut String) -> bool {
    let Some(start) = text.find("(chain ") else { return false };
    let Some(close) = text[start..].find(')') else { return false };
    let at = start + close;
    text.insert_str(at, ": the entry's own object first, then each object it shadows, down to the bottom");
    true
}

/// Why a page's mappings were taken away in this op, from its events.
fn revocation_reason(page: PageId, events: &[Event], view: WorldView<'_>) -> String {
    for event in events {
        match *event {
            Event::PageCopied { from, object, .. } if from == page => {
                return format!(
                    "its page was copied into {} for a write, and every mapping of the old page is taken away",
                    object_name(object, view)
                );
            }
            Event::PagePushed { from, copy, .. } if from == page => {
                return format!(
                    "its page's original was pushed into copy object {} before a write changed it",
                    copy.serial()
                );
            }
            Event::PageMoved { page: moved, to, .. } if moved == page => {
                return format!("its page moved to {}", object_name(to, view));
            }
            Event::PageFreed { page: freed } if freed == page => return "its page was freed".to_string(),
            _ => {}
        }
    }
    String::new()
}

/// Sorted pages as runs `[start, end)`.
fn vpn_runs(vpns: &[Vpn]) -> Vec<(Vpn, Vpn)> {
    let mut runs: Vec<(Vpn, Vpn)> = Vec::new();
    for &vpn in vpns {
        match runs.last_mut() {
            Some((_, end)) if *end == vpn => *end = Vpn(vpn.0 + 1),
            _ => runs.push((vpn, Vpn(vpn.0 + 1))),
        }
    }
    runs
}

/// Adds a fault to the lines, extending the last run when this page
/// follows it and reads the same.
fn push_fault(lines: &mut Vec<Line>, task: TaskId, vpn: Vpn, text: String) {
    if let Some(Line::Faults(run)) = lines.last_mut()
        && run.task == task
        && run.last.0 + 1 == vpn.0
        && run.text == text
    {
        run.last = vpn;
        return;
    }
    lines.push(Line::Faults(FaultRun { task, first: vpn, last: vpn, text }));
}

/// Does this event put the faulting page in place (the fault's main act)?
pub(crate) fn is_page_resolution(event: &Event) -> bool {
    matches!(
        event,
        Event::PageZeroFilled { .. } | Event::PagePagedIn { .. } | Event::PageCopied { .. } | Event::PageMoved { .. }
    )
}

/// Does this event happen before a fault searches for its page (the entry
/// getting an object of its own)?
pub(crate) fn is_pre_walk(event: &Event) -> bool {
    matches!(
        event,
        Event::ObjectCreated { .. }
            | Event::ShadowCreated { .. }
            | Event::AmapCopied { .. }
            | Event::ShadowSet { .. }
            | Event::EntryRetargeted { .. }
    )
}

/// How the fault found or made its page. `acts` are the page events that
/// put it in place, in order (none when an existing page was just mapped).
fn lookup_clause(fault: &FaultFacts, walked: &Walked, acts: &[&Event], view: WorldView<'_>) -> String {
    let depth = fault.depth;
    let found = walked.found;
    let found_text = match found {
        Some(o) if depth == 0 => format!("found in object {}", o.serial()),
        Some(o) => format!("found in object {} at depth {depth}", o.serial()),
        None => format!("found at depth {depth}"),
    };
    let read_in = |object: ObjectId| {
        let at = if depth == 0 { String::new() } else { format!(" at depth {depth}") };
        format!("no object holds it yet, so it is read in from {}{at}", object_name(object, view))
    };
    match (fault.kind, acts) {
        (FaultKind::ZeroFill, [Event::PageZeroFilled { object, .. }]) => {
            if walked.length > 1 {
                format!(
                    "no object in the chain has the page, so a zero-filled one is made in object {}",
                    object.serial()
                )
            } else {
                format!("object {} has no page there yet, so a zero-filled one is made", object.serial())
            }
        }
        (FaultKind::PageIn, [Event::PagePagedIn { object, .. }]) => read_in(*object),
        (FaultKind::CowCopy, [Event::PageCopied { object, .. }]) => {
            format!("{found_text} and copied into object {}", object.serial())
        }
        (FaultKind::CowCopy, [Event::PagePagedIn { object: file, .. }, Event::PageCopied { object, .. }]) => {
            format!("{}, then copied into object {}", read_in(*file), object.serial())
        }
        (FaultKind::CowMove, [Event::PageMoved { to, .. }]) => {
            format!("{found_text}; nobody else can reach it, so it moves up into object {}", to.serial())
        }
        (FaultKind::Map, []) if depth > 0 && !fault.access.is_write() => {
            format!("{found_text} and mapped read-only (a write would copy it)")
        }
        (FaultKind::Map, []) => found_text,
        (FaultKind::Reuse, []) => format!("{found_text}; nobody else shares it, so the write goes to it in place"),
        (FaultKind::ZeroPage, []) => "the shared zero page is mapped read-only".to_string(),
        (kind, acts) => {
            // A combination no design made when this was written: say what
            // is known, plainly.
            let mut text = format!("{} ({found_text})", kind.name());
            for line in happenings(acts, view, true) {
                text.push_str("; ");
                text.push_str(&line);
            }
            text
        }
    }
}

/// Sentences for events that are not a fault's main act, in order. Frees
/// are grouped: the pages freed just before an object is freed went with
/// it, and a collapse says its own frees. `in_fault` words a new shadow as
/// the faulting entry's.
fn happenings(events: &[&Event], view: WorldView<'_>, in_fault: bool) -> Vec<String> {
    let events: Vec<&Event> = events.iter().copied().filter(|e| !is_bookkeeping(e)).collect();
    let mut told = Vec::new();
    let mut freed_pages = 0u32;
    let mut i = 0;
    while i < events.len() {
        let event = events[i];
        let next = events.get(i + 1).copied();
        match *event {
            Event::PageFreed { .. } => {
                freed_pages += 1;
                i += 1;
                continue;
            }
            Event::ObjectFreed { object } => {
                if let Some(Event::Collapsed { object: top, backing, pages_moved, pages_freed }) = next
                    && *backing == object
                {
                    told.push(collapse_text(*top, object, *pages_moved, *pages_freed));
                    freed_pages = 0;
                    i += 2;
                    continue;
                }
                let with = match freed_pages {
                    0 => String::new(),
                    n => format!(" with its {}", count(u64::from(n), "page")),
                };
                told.push(format!("object {} is freed{with}", object.serial()));
                freed_pages = 0;
                i += 1;
                continue;
            }
            _ => {}
        }
        if freed_pages > 0 {
            told.push(format!("{} freed", were(freed_pages)));
            freed_pages = 0;
        }
        match *event {
            Event::ObjectCreated { object, role } => {
                let told_later = events[i + 1..].iter().any(|e| {
                    matches!(**e, Event::ShadowCreated { shadow, .. } if shadow == object)
                        || matches!(**e, Event::CopyObjectCreated { copy, .. } if copy == object)
                        || matches!(**e, Event::AmapCopied { to, .. } if to == object)
                });
                // A shadow, copy or amap made here is told by its own event.
                if !told_later {
                    told.push(if role == ObjectRole::File {
                        format!("{} is opened", object_name(object, view))
                    } else {
                        format!("new {} object {}", role.name(), object.serial())
                    });
                }
            }
            Event::ShadowCreated { shadow, backing, .. } => told.push(if in_fault {
                format!(
                    "the entry needs a copy, so it gets new shadow object {} in front of object {}",
                    shadow.serial(),
                    backing.serial()
                )
            } else {
                format!("new shadow object {} goes in front of object {}", shadow.serial(), backing.serial())
            }),
            Event::CopyObjectCreated { copy, source } => told.push(format!(
                "new copy object {} will keep the originals of object {}'s pages (delayed copy)",
                copy.serial(),
                source.serial()
            )),
            Event::CopyObjectReused { copy, source } => told.push(format!(
                "copy object {} of object {} is still untouched, so it serves this copy too",
                copy.serial(),
                source.serial()
            )),
            Event::AmapCopied { from, to, slots } => told.push(format!(
                "{} is copied into new {} ({})",
                object_name(from, view),
                object_name(to, view),
                count(u64::from(slots), "slot")
            )),
            Event::PagePushed { copy, .. } => {
                told.push(format!("before the write, the original page is pushed into copy object {}", copy.serial()))
            }
            Event::Collapsed { object, backing, pages_moved, pages_freed } => {
                told.push(collapse_text(object, backing, pages_moved, pages_freed))
            }
            Event::ShadowSkipped { object } => told.push(format!(
                "the entry holds the only reference to object {}, so it takes the object over instead of shadowing it",
                object.serial()
            )),
            Event::ObjectSplit { from, to, pages_moved } => told.push(format!(
                "object {} was mapped by this entry alone, so its {} move into new object {} (split)",
                from.serial(),
                count(u64::from(pages_moved), "page"),
                to.serial()
            )),
            Event::RangeFreed { object, start, end, pages_freed } => told.push(format!(
                "nobody else maps pages {:#x}..{:#x} of object {}, so {} freed at once",
                start.0,
                end.0,
                object.serial(),
                were(pages_freed)
            )),
            Event::PageTableCopied { from, to, slots } => told.push(format!(
                "page table {} is copied into new page table {}: {} gain a reference, none is copied",
                from.serial(),
                to.serial(),
                count(u64::from(slots), "page")
            )),
            Event::FaultAround { start, end, mapped, .. } => told.push(format!(
                "fault-around: {} of pages {:#x}..{:#x} in the page cache {} mapped read-only too",
                count(u64::from(mapped), "neighbour"),
                start.0,
                end.0,
                if mapped == 1 { "is" } else { "are" }
            )),
            // The op's own sentence says it.
            Event::PageCacheDescribed { .. } => {}
            // Page-table and TLB bookkeeping: counted for the cost model,
            // too fine-grained to tell at every fault.
            Event::Work { .. } => {}
            Event::ReadAhead { start, pages, marked, .. } => told.push(format!(
                "readahead brings the file's pages {:#x}..{:#x} into the page cache{}",
                start.0,
                start.0 + pages,
                marked.map_or(String::new(), |m| format!(", marking page {:#x} to read on when it is reached", m.0))
            )),
            Event::ResidencyCompared { task, both, kernel_only, simulator_only } => told.push(format!(
                "task {}'s page table, compared: {} present in both, {} only in the real kernel, {} only here",
                task.0,
                count(both, "page"),
                kernel_only,
                simulator_only
            )),
            Event::Bypassed { object, backing } => told.push(format!(
                "object {} has its own copy of every page of object {} it can see, so it now skips past it (bypass)",
                object.serial(),
                backing.serial()
            )),
            Event::PageCopied { object, .. }
            | Event::PageZeroFilled { object, .. }
            | Event::PagePagedIn { object, .. }
            | Event::PageMoved { to: object, .. } => {
                // Outside a fault's main act (an eager copy): count the run.
                let run = events[i..].iter().take_while(|e| same_page_act(e, event)).count();
                let act = match event {
                    Event::PageCopied { .. } => "copied into",
                    Event::PageZeroFilled { .. } => "zero-filled in",
                    Event::PagePagedIn { .. } => "read in from a file into",
                    _ => "moved into",
                };
                told.push(format!("{} {act} object {}", were(run as u32), object.serial()));
                i += run;
                continue;
            }
            Event::Fidelity { recorded, found, .. } => told.push(match found {
                None => format!("the real kernel faulted here ({}); this page table would not have", recorded.name()),
                Some(class) if class == recorded => format!("the real kernel faulted here too ({})", recorded.name()),
                Some(class) => {
                    format!(
                        "the real kernel faulted here ({}); this page table finds {}",
                        recorded.name(),
                        class.name()
                    )
                }
            }),
            ref other => told.push(format!("{other:?}")),
        }
        i += 1;
    }
    if freed_pages > 0 {
        told.push(format!("{} freed", were(freed_pages)));
    }
    told
}

/// Is `e` the same kind of page event into the same object as `first`?
fn same_page_act(e: &Event, first: &Event) -> bool {
    match (e, first) {
        (Event::PageCopied { object: a, .. }, Event::PageCopied { object: b, .. })
        | (Event::PageZeroFilled { object: a, .. }, Event::PageZeroFilled { object: b, .. })
        | (Event::PagePagedIn { object: a, .. }, Event::PagePagedIn { object: b, .. })
        | (Event::PageMoved { to: a, .. }, Event::PageMoved { to: b, .. }) => a == b,
        _ => false,
    }
}

fn collapse_text(object: ObjectId, backing: ObjectId, moved: u32, freed: u32) -> String {
    format!(
        "object {} was the only user of object {}, so it absorbs it (collapse): {} up, {} freed, and object {} is freed",
        object.serial(),
        backing.serial(),
        were_moved(moved),
        count(u64::from(freed), "page"),
        backing.serial()
    )
}

fn were_moved(n: u32) -> String {
    format!("{} moved", count(u64::from(n), "page"))
}

/// `1 page was`, `3 pages were`.
fn were(n: u32) -> String {
    if n == 1 { "1 page was".to_string() } else { format!("{n} pages were") }
}

/// `1 page hits`, `4 pages hit`.
fn hit_text(n: u64) -> String {
    if n == 1 { "1 page hits".to_string() } else { format!("{n} pages hit") }
}

/// `object 3`, or `file libc.so.6 (object 1)` for a file's object.
fn object_name(object: ObjectId, view: WorldView<'_>) -> String {
    match view.file_name(object) {
        Some(name) => format!("file {name} (object {})", object.serial()),
        None => format!("object {}", object.serial()),
    }
}

/// `chain 3 → 1`. A chain longer than a reader can take in shows its top
/// and its bottom: `chain 90 → 88 → 86 → 84 → … → 3 → 1 (45 objects)`.
fn chain_text(chain: &[ObjectId]) -> String {
    const TOP: usize = 4;
    const BOTTOM: usize = 2;
    let ids = |part: &[ObjectId]| part.iter().map(|o| o.serial().to_string()).collect::<Vec<_>>().join(" → ");
    if chain.len() <= TOP + BOTTOM + 1 {
        return format!("chain {}", ids(chain));
    }
    let (top, bottom) = (&chain[..TOP], &chain[chain.len() - BOTTOM..]);
    format!("chain {} → … → {} ({} objects)", ids(top), ids(bottom), chain.len())
}

/// The ids of the chain from `top` down, in the world as it is now.
fn chain_ids(view: WorldView<'_>, top: ObjectId) -> Vec<ObjectId> {
    view.chain(top).map(|object| object.id()).collect()
}

/// `16 KiB`, `1 MiB`, `0x1800 bytes`.
fn bytes_text(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    match UNITS.iter().find(|(unit, _)| n != 0 && n.is_multiple_of(*unit)) {
        Some((unit, name)) => format!("{} {name}", n / unit),
        None => format!("{n:#x} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::Sim;
    use workloads::trace::open_trace;

    fn examples() -> Vec<std::path::PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let mut all: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        all.sort();
        all
    }

    /// A trace that touches every op and every way a chain changes: file
    /// mappings private and shared, protection faults, a segv, shadows,
    /// collapses and bypasses, copy objects replaced by newer ones.
    const KITCHEN_SINK: &str = r#"
{"op":"task_create","task":1}
{"op":"vm_allocate","task":1,"size":"16K","anywhere":true}
{"op":"vm_map","task":1,"addr":"0x400000","size":"16K","file":"libc.so.6","offset":0,"private":true,"prot":"rx"}
{"op":"vm_map","task":1,"addr":"0x500000","size":"8K","file":"data.bin","offset":"4K","private":false,"prot":"rw"}
{"op":"exec_fetch","task":1,"addr":"0x400000","len":"8K"}
{"op":"write","task":1,"addr":"0x400000","len":"4K"}
{"op":"vm_protect","task":1,"addr":"0x400000","size":"16K","prot":"rwx","set_max":false}
{"op":"write","task":1,"addr":"0x400000","len":"8K"}
{"op":"write","task":1,"addr":"0x500000","len":"8K"}
{"op":"read","task":1,"addr":"0x900000","len":"4K"}
{"op":"vm_protect","task":1,"addr":"0x1000","size":"4K","prot":"r","set_max":false}
{"op":"write","task":1,"addr":"0x1000","len":"8K"}
{"op":"mark","label":"phase 2"}
{"op":"fork","parent":1,"child":2}
{"op":"task_create","task":3}
{"op":"vm_read","task":1,"addr":"0x400000","size":"8K","caller":3}
{"op":"vm_allocate","task":3,"addr":"0x300000","size":"8K"}
{"op":"write","task":3,"addr":"0x300000","len":"8K"}
{"op":"vm_write","task":1,"addr":"0x500000","size":"8K","caller":3,"src":"0x300000"}
{"op":"vm_read","task":1,"addr":"0x500000","size":"8K","caller":3}
{"op":"write","task":1,"addr":"0x500000","len":"4K"}
{"op":"vm_read","task":1,"addr":"0x500000","size":"8K","caller":3}
{"op":"write","task":1,"addr":"0x501000","len":"4K"}
{"op":"vm_copy","task":1,"src":"0x500000","size":"4K","dst":"0x501000"}
{"op":"write","task":2,"addr":"0x400000","len":"16K"}
{"op":"vm_deallocate","task":1,"addr":"0x401000","size":"4K"}
{"op":"fork","parent":2,"child":4}
{"op":"write","task":4,"addr":"0x2000","len":"12K"}
{"op":"exit","task":2}
{"op":"write","task":4,"addr":"0x2000","len":"4K"}
{"op":"exec","task":4}
{"op":"exit","task":1}
{"op":"read","task":3,"addr":"0x1000","len":"8K"}
"#;

    /// Does the chain mirror end every op where the world is, for every
    /// example and the kitchen-sink trace under every policy? If a design
    /// changes chains without an event that says so, narrations would name
    /// the wrong objects.
    #[test]
    fn mirror_follows_the_world() {
        let mut traces: Vec<(String, Vec<sim::TraceOp>)> = examples()
            .iter()
            .map(|path| (path.display().to_string(), open_trace(path).unwrap().map(|op| op.unwrap().value).collect()))
            .collect();
        let sink = workloads::trace::TraceReader::new(KITCHEN_SINK.as_bytes(), "kitchen sink");
        traces.push(("kitchen sink".into(), sink.map(|op| op.unwrap().value).collect()));
        for (name, ops) in &traces {
            for policy in PolicyKind::ALL {
                let mut sim = Sim::new(policy, Config::default());
                sim.keep_events(true);
                for (number, op) in ops.iter().enumerate() {
                    let before = Before::take(sim.view(), &op.op, 4096);
                    let _ = sim.apply_traced(op);
                    let events = sim.take_events();
                    let story = OpStory { number: number as u64 + 1, op: &op.op, page_size: 4096, before: &before };
                    let (_, mirror) = story.tell(&events, sim.view());
                    // The mirror is only read by faults, so only ops that
                    // can fault must leave it exact.
                    if fault_window(&op.op, 4096).is_none() {
                        continue;
                    }
                    if let Some(problem) = mirror.disagreement(sim.view(), matches!(op.op, Op::Access(_))) {
                        panic!("{name} op {} under {policy}: {problem}", number + 1);
                    }
                }
            }
        }
    }

    /// Does a Linux read fault that maps its cached neighbours say so? Task
    /// 2's read of one page of a file task 1 has read maps the other three
    /// pages too (fault-around); its later write to one of them finds the
    /// read-only mapping and copies.
    #[test]
    fn fault_around_is_told() {
        const TRACE: &str = r#"
{"op":"task_create","task":1}
{"op":"vm_map","task":1,"addr":"0x100000","size":"16K","file":"libc.so.6","offset":0,"private":true,"prot":"rw"}
{"op":"read","task":1,"addr":"0x100000","len":"16K"}
{"op":"task_create","task":2}
{"op":"vm_map","task":2,"addr":"0x200000","size":"16K","file":"libc.so.6","offset":0,"private":true,"prot":"rw"}
{"op":"read","task":2,"addr":"0x201000","len":"4K"}
{"op":"write","task":2,"addr":"0x203000","len":"4K"}
"#;
        let ops: Vec<sim::TraceOp> =
            workloads::trace::TraceReader::new(TRACE.as_bytes(), "fault-around").map(|op| op.unwrap().value).collect();
        let mut sim = Sim::new(PolicyKind::Linux, Config::default());
        sim.keep_events(true);
        let mut told = Vec::new();
        for (number, op) in ops.iter().enumerate() {
            let before = Before::take(sim.view(), &op.op, 4096);
            sim.apply_traced(op).unwrap();
            let events = sim.take_events();
            let story = OpStory { number: number as u64 + 1, op: &op.op, page_size: 4096, before: &before };
            told.push(story.tell(&events, sim.view()).0);
        }
        assert!(
            told[5].contains(
                "found in object 1 at depth 1 and mapped read-only (a write would copy it); \
                 fault-around: 3 neighbours of pages 0x200..0x204 in the page cache are mapped read-only too"
            ),
            "{}",
            told[5]
        );
        assert!(
            told[6].contains("the pmap maps it read-only; found in object 3 and copied into object 3"),
            "{}",
            told[6]
        );
    }

    /// Are long chains cut to their top and bottom?
    #[test]
    fn long_chains_are_shortened() {
        let ids = chain_of(9);
        assert_eq!(chain_text(&ids[..3]), "chain 9 → 8 → 7");
        assert_eq!(chain_text(&ids), "chain 9 → 8 → 7 → 6 → … → 2 → 1 (9 objects)");
    }

    /// The ids of a chain of `length` objects, top first: a parent that
    /// forks and writes again and again while its children live.
    fn chain_of(length: u32) -> Vec<ObjectId> {
        use sim::op::AccessOp;
        let mut sim = Sim::new(PolicyKind::MachNoCollapse, Config::default());
        let parent = TaskId(1);
        let write = Op::Access(AccessOp {
            task: parent,
            access: Access::Write,
            addr: 0x10000,
            len: 0x1000,
            value: None,
            expect_value: None,
            recorded: None,
        });
        sim.apply(&Op::TaskCreate { task: parent }).unwrap();
        sim.apply(&Op::VmAllocate { task: parent, addr: Some(0x10000), size: 0x1000, anywhere: false }).unwrap();
        sim.apply(&write).unwrap();
        for child in 2..=length {
            sim.apply(&Op::Fork { parent, child: TaskId(child) }).unwrap();
            sim.apply(&write).unwrap();
        }
        let top = sim.view().entry(parent, Vpn(0x10)).unwrap().object;
        chain_ids(sim.view(), top)
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(bytes_text(16 * 1024), "16 KiB");
        assert_eq!(bytes_text(2 << 20), "2 MiB");
        assert_eq!(bytes_text(0x1800), "6 KiB");
        assert_eq!(bytes_text(0x1234), "0x1234 bytes");
        assert_eq!(were(1), "1 page was");
        assert_eq!(hit_text(4), "4 pages hit");
    }
}
