//! The invariant checker: checks the whole world and names the first
//! violation. Tests and debug builds run it after every operation
//! (`Config::check_invariants`), so it keeps its scratch space from one
//! check to the next ([`Checker`]) and allocates nothing per entry, page or
//! object once warmed up.
//!
//! The invariants, in plain words:
//! 1. An object's reference count equals its referrers: map entries, the
//!    objects that shadow it, and the file table.
//! 2. Chains never loop.
//! 3. A page's count of holders equals the object slots that hold it, and
//!    every page is held by at least one slot (no leaked frames).
//! 4. Every map entry is well formed: a non-empty range inside the map's
//!    bounds `[map_min, map_max)`, a protection within its maximum, a live
//!    object, and `needs_copy` only on a private (copy-on-write) entry. The
//!    bounds are checked here as well as by the operations because every
//!    policy shares the operations' checks: a range check that wraps would
//!    fool the differential oracle, never this walk.
//! 5. Every pmap entry that is not stale agrees with what a fault would
//!    resolve now, grants no more than the map entry, and is writable only
//!    when a write could go to that page in place: a writable pmap entry
//!    never points at a page another mapping must still see unchanged.
//! 6. A copy object link goes both ways: `source.copy == c` only if `c` is a
//!    copy object that shadows `source`.
//! 7. The event-fold counters agree with the arenas (resident pages,
//!    objects alive).
//!
//! Then come the invariants of the bookkeeping the world keeps so that
//! measures cost nothing to read, each compared with a fresh count:
//!
//! 8. Chain lengths (`chains.rs`): every object's count of entries is
//!    right; the histogram of entries by length counts every entry once, at
//!    its object's kept length; every object whose length is unsettled is
//!    listed; and where nothing on a chain is unsettled, every length is
//!    one more than its shadow's. (The simulator settles lengths before it
//!    checks, so the last is checked for every object there.)
//! 9. Bypass counts (`shows_through.rs`): every object's count of backing
//!    pages showing through is what a scan of the backing object finds.
//! 10. Reach (`reach.rs`): every object's `direct` is its entries'
//!     coverage and `reached` follows its definition; anonymous memory is
//!     reached only inside its size; every page's count of reached slots is
//!     right; and the count of hidden pages is the count of pages with no
//!     reached slot. At every sample point of a checked run, where the
//!     report reads it, the count is also compared with what a walk of every
//!     entry's chain finds (`measure.rs`), the report's own definition
//!     ([`Checker::check_hidden_walk`]).
//!
//! Last, a policy adds its own through `Policy::check`, which may rely on
//! the bookkeeping (which entries cover which slots) checked before it.

use std::ops::Range;

use crate::chains::ChainLengths;
use crate::ids::{ObjectId, Pindex};
use crate::map::{MapBounds, MapEntry};
use crate::measure::HiddenWalk;
use crate::policy::Policy;
pub use crate::violation::{Bound, Violation};
use crate::world::World;

/// Checks every invariant of a world whose maps live in `bounds` (see
/// [`MapBounds::of`]); returns the first violation. A one-off check: a
/// caller that checks again and again keeps a [`Checker`].
#[cfg(test)]
pub fn check_world(w: &World, policy: &dyn Policy, bounds: MapBounds) -> Result<(), Violation> {
    Checker::default().check(w, policy, bounds)
}

/// The invariant checker and the scratch space it reuses between checks.
#[derive(Debug, Default)]
pub struct Checker {
    /// A count per object, by arena slot.
    per_object: Vec<u32>,
    /// A count per page, by arena slot.
    per_page: Vec<u32>,
    /// The reached slots holding each page, by arena slot.
    reached_per_page: Vec<u32>,
    /// Objects, longest chain first (shadowers before what they shadow).
    by_length: Vec<(u32, ObjectId)>,
    /// The edges of every entry's window, `(index, +1 or -1)`, grouped by
    /// object.
    edges: Vec<(u64, i32)>,
    /// Where the next edge of each object goes, while grouping them.
    next_edge: Vec<u32>,
    /// Column ranges being assembled.
    ranges: Vec<Range<u64>>,
    /// A stretch of a chain being walked.
    path: Vec<ObjectId>,
    /// The walk of every entry's chain that counts hidden pages afresh.
    walk: HiddenWalk,
    /// The entries' chain lengths, counted afresh.
    lengths: ChainLengths,
}

impl Checker {
    /// Checks every invariant (see the module docs), in the order listed;
    /// returns the first violation.
    pub fn check(&mut self, w: &World, policy: &dyn Policy, bounds: MapBounds) -> Result<(), Violation> {
        check_entries(w, bounds)?;
        self.check_references(w)?;
        check_chains(w)?;
        self.check_page_holders(w)?;
        check_copy_links(w)?;
        check_pmaps(w, policy)?;
        check_counters(w)?;
        self.check_chain_lengths(w)?;
        check_shows_through(w)?;
        self.check_direct(w)?;
        self.check_reached(w)?;
        check_reached_inside(w)?;
        self.check_page_reach(w)?;
        policy.check(w)
    }
}

fn check_entries(w: &World, bounds: MapBounds) -> Result<(), Violation> {
    for task in w.tasks.values() {
        for e in task.map.entries() {
            let bad = |problem| Err(Violation::BadEntry { task: task.id, start: e.start, problem });
            if e.start >= e.end {
                return bad("empty range");
            }
            if let Some(bound) = crossed_bound(e, bounds) {
                return Err(Violation::EntryOutOfBounds { task: task.id, start: e.start, end: e.end, bound });
            }
            if !e.max_prot.allows(e.prot) {
                return bad("protection above the maximum");
            }
            if e.needs_copy && e.shared {
                return bad("needs_copy on a shared entry");
            }
            if !w.objects.contains(e.object) {
                return bad("backing object is not alive");
            }
        }
    }
    Ok(())
}

/// The bound a non-empty entry crosses, if any. Compares page numbers
/// only, so an entry near 2^64 cannot wrap its way inside.
fn crossed_bound(e: &MapEntry, bounds: MapBounds) -> Option<Bound> {
    if e.start < bounds.min {
        Some(Bound::Min(bounds.min))
    } else if e.end > bounds.max {
        Some(Bound::Max(bounds.max))
    } else {
        None
    }
}

/// A zeroed scratch count for every slot below `slots`.
fn zeroed(counts: &mut Vec<u32>, slots: usize) -> &mut Vec<u32> {
    counts.clear();
    counts.resize(slots, 0);
    counts
}

impl Checker {
    fn check_references(&mut self, w: &World) -> Result<(), Violation> {
        let referrers = zeroed(&mut self.per_object, w.objects.slots());
        // Only live objects are counted: a stale id must not count for the
        // object that reuses its slot.
        let mut count = |id: ObjectId| {
            if w.objects.contains(id) {
                referrers[id.slot as usize] += 1;
            }
        };
        for task in w.tasks.values() {
            for e in task.map.entries() {
                count(e.object);
            }
        }
        for object in w.objects.iter() {
            if let Some((below, _)) = object.shadow {
                count(below);
            }
        }
        for (_, object) in w.files.values() {
            count(*object);
        }
        for object in w.objects.iter() {
            let counted = referrers[object.id.slot as usize];
            if counted != object.ref_count {
                return Err(Violation::RefCount { object: object.id, ref_count: object.ref_count, referrers: counted });
            }
        }
        Ok(())
    }

    /// Invariant 3; counts, on the way, the reached slots holding each page
    /// for [`Checker::check_page_reach`], which compares them later.
    fn check_page_holders(&mut self, w: &World) -> Result<(), Violation> {
        let slots = zeroed(&mut self.per_page, w.pages.slots());
        let reached = zeroed(&mut self.reached_per_page, w.pages.slots());
        for object in w.objects.iter() {
            let mut reached_here = object.reach.reached.ascending();
            for (index, page) in object.pages.iter() {
                if !w.pages.contains(page) {
                    return Err(Violation::PageHolders { page, refs: 0, slots: 1 });
                }
                slots[page.index() as usize] += 1;
                if object.is_file() || reached_here.contains(index.0) {
                    reached[page.index() as usize] += 1;
                }
            }
        }
        for (id, page) in w.pages.iter() {
            let held = slots[id.index() as usize];
            if held != page.refs || held == 0 {
                return Err(Violation::PageHolders { page: id, refs: page.refs, slots: held });
            }
        }
        Ok(())
    }
}

fn check_chains(w: &World) -> Result<(), Violation> {
    let limit = w.objects.len();
    for object in w.objects.iter() {
        let listed = |below: ObjectId| w.object(below).shadowers.iter().filter(|s| **s == object.id).count();
        if let Some((below, _)) = object.shadow
            && listed(below) != 1
        {
            return Err(Violation::ShadowList { object: object.id, backing: below });
        }
        for shadower in &object.shadowers {
            if !w.objects.contains(*shadower) || w.object(*shadower).shadow.map(|(b, _)| b) != Some(object.id) {
                return Err(Violation::ShadowList { object: *shadower, backing: object.id });
            }
        }
        let mut steps = 0;
        let mut current = object.shadow;
        while let Some((below, _)) = current {
            steps += 1;
            if steps > limit {
                return Err(Violation::ChainLoop { object: object.id });
            }
            current = w.object(below).shadow;
        }
    }
    Ok(())
}

fn check_copy_links(w: &World) -> Result<(), Violation> {
    for object in w.objects.iter() {
        if let Some(copy) = object.copy {
            let ok = w.objects.contains(copy) && {
                let c = w.object(copy);
                c.is_copy() && c.shadow.map(|(s, _)| s) == Some(object.id)
            };
            if !ok {
                return Err(Violation::CopyLink { source: object.id, copy });
            }
        }
    }
    Ok(())
}

/// Invariant 5, task by task. A task's pmap is walked leaf by leaf in no
/// particular order, and the violation at the lowest vpn is the one
/// reported, as a walk in vpn order would find it first.
fn check_pmaps(w: &World, policy: &dyn Policy) -> Result<(), Violation> {
    for task in w.tasks.values() {
        let mut first: Option<Violation> = None;
        for (vpn, pte) in task.pmap.entries_unordered() {
            if first.as_ref().is_some_and(|v| matches!(v, Violation::PmapDisagrees { vpn: at, .. } if *at < vpn)) {
                continue;
            }
            if w.pages.mapping_valid(pte.page, pte.made, false).is_none() {
                continue; // stale: the next access refaults
            }
            let problem = pmap_problem(w, policy, task.map.lookup(vpn), vpn, &pte);
            if let Some(problem) = problem {
                first = Some(Violation::PmapDisagrees { task: task.id, vpn, problem });
            }
        }
        if let Some(violation) = first {
            return Err(violation);
        }
    }
    Ok(())
}

/// What is wrong with a valid pmap entry, if anything (invariant 5).
fn pmap_problem(
    w: &World,
    policy: &dyn Policy,
    entry: Option<&MapEntry>,
    vpn: crate::ids::Vpn,
    pte: &crate::pmap::PmapEntry,
) -> Option<String> {
    let Some(entry) = entry else {
        return Some(format!("maps {:?} but no map entry covers it", pte.page));
    };
    if !entry.prot.allows(pte.prot) {
        return Some(format!("grants {:?} but the entry allows {:?}", pte.prot, entry.prot));
    }
    let resolved = policy.resolve(w, entry, vpn);
    if resolved.page != Some(pte.page) {
        return Some(format!("maps {:?} but a fault would find {:?}", pte.page, resolved.page));
    }
    let write_valid = w.pages.mapping_valid(pte.page, pte.made, true).is_some();
    if pte.prot.allows(crate::types::Prot::WRITE) && write_valid && !resolved.writable_in_place {
        return Some(format!("maps {:?} writable but a write must not go to it in place", pte.page));
    }
    None
}

fn check_counters(w: &World) -> Result<(), Violation> {
    let s = &w.recorder.stats;
    if s.resident != w.pages.len() as u64 {
        return Err(Violation::Counter { name: "resident", counted: s.resident, actual: w.pages.len() as u64 });
    }
    if s.objects_alive != w.objects.len() as u64 {
        return Err(Violation::Counter {
            name: "objects_alive",
            counted: s.objects_alive,
            actual: w.objects.len() as u64,
        });
    }
    Ok(())
}

// ----- 8. chain lengths -----

impl Checker {
    fn check_chain_lengths(&mut self, w: &World) -> Result<(), Violation> {
        // One pass over the entries counts them per object and per length.
        let mapped = zeroed(&mut self.per_object, w.objects.slots());
        let entries = w.tasks.values().flat_map(|t| t.map.entries());
        self.lengths.recount(entries.map(|e| {
            mapped[e.object.slot as usize] += 1;
            w.object(e.object).chain_length
        }));
        for object in w.objects.iter() {
            let counted = mapped[object.id.slot as usize];
            if object.mapped_by() != counted {
                return Err(Violation::MappedBy { object: object.id, kept: object.mapped_by(), counted });
            }
        }
        // Each listed mapping is an entry of that task, starting there, on
        // this object (with the counts equal, the lists are then exact).
        for object in w.objects.iter() {
            for &(task, start) in &object.mappers {
                let listed = w.tasks.get(&task).and_then(|t| t.map.lookup(start));
                if !listed.is_some_and(|e| e.start == start && e.object == object.id) {
                    return Err(Violation::MappedBy { object: object.id, kept: object.mapped_by(), counted: 0 });
                }
            }
        }
        if w.unsettled_count > 0 || w.objects.iter().any(|o| o.length_unsettled) {
            self.check_unsettled(w)?;
        }
        // Where nothing on the chain is unsettled, the kept length is right:
        // everywhere, once settled (the simulator settles before checking).
        let settled: &[u32] = if w.unsettled_count == 0 { &[] } else { self.settled_chains(w) };
        let is_settled = |o: &crate::object::VmObject| settled.is_empty() || settled[o.id.slot as usize] == SETTLED;
        for object in w.objects.iter().filter(|o| is_settled(o)) {
            let walked = object.shadow.map_or(1, |(below, _)| w.object(below).chain_length + 1);
            if object.chain_length != walked {
                return Err(Violation::ChainLength { object: object.id, kept: object.chain_length, walked });
            }
        }
        let kept = w.kept_chain_lengths();
        if !kept.same_counts_as(&self.lengths) {
            return Err(Violation::ChainHistogram {
                kept_longest: kept.longest(),
                counted_longest: self.lengths.longest(),
            });
        }
        Ok(())
    }

    /// Every unsettled object is listed for settling, and counted.
    fn check_unsettled(&mut self, w: &World) -> Result<(), Violation> {
        let listed = zeroed(&mut self.per_object, w.objects.slots());
        for &id in &w.unsettled_lengths {
            if w.objects.contains(id) {
                listed[id.slot as usize] = 1;
            }
        }
        if let Some(o) = w.objects.iter().find(|o| o.length_unsettled && listed[o.id.slot as usize] == 0) {
            return Err(Violation::ChainLength { object: o.id, kept: o.chain_length, walked: 0 });
        }
        let unsettled = w.objects.iter().filter(|o| o.length_unsettled).count();
        if unsettled != w.unsettled_count {
            return Err(Violation::Counter {
                name: "unsettled chain lengths",
                counted: w.unsettled_count as u64,
                actual: unsettled as u64,
            });
        }
        Ok(())
    }

    /// By object slot: [`SETTLED`] when no object of its chain (itself
    /// included) has an unsettled length, [`UNSETTLED`] otherwise. Each
    /// object is walked once: a chain is followed down only to the first
    /// object already known.
    fn settled_chains(&mut self, w: &World) -> &[u32] {
        let state = zeroed(&mut self.per_object, w.objects.slots());
        let path = &mut self.path;
        for object in w.objects.iter() {
            path.clear();
            let mut next = Some(object.id);
            let mut below_state = SETTLED;
            while let Some(id) = next {
                let known = state[id.slot as usize];
                if known != UNKNOWN {
                    below_state = known;
                    break;
                }
                path.push(id);
                next = w.object(id).shadow.map(|(below, _)| below);
            }
            // Assign from the bottom of the path up.
            for &id in path.iter().rev() {
                if w.object(id).length_unsettled {
                    below_state = UNSETTLED;
                }
                state[id.slot as usize] = below_state;
            }
        }
        &self.per_object
    }
}

/// States of [`Checker::settled_chains`].
const UNKNOWN: u32 = 0;
const SETTLED: u32 = 1;
const UNSETTLED: u32 = 2;

// ----- 9. bypass counts -----

fn check_shows_through(w: &World) -> Result<(), Violation> {
    for top in w.objects.iter() {
        let counted = match top.shadow {
            Some((backing, offset)) if w.object(backing).is_anonymous() => {
                let b = w.object(backing);
                let window = offset..Pindex(offset.0.saturating_add(top.size));
                b.pages.range(window).filter(|(i, _)| top.page(Pindex(i.0 - offset.0)).is_none()).count() as u64
            }
            _ => 0,
        };
        if u64::from(top.shows_through) != counted {
            return Err(Violation::ShowsThrough { object: top.id, kept: u64::from(top.shows_through), counted });
        }
    }
    Ok(())
}

// ----- 10. reach -----

/// What merging a backing object into the object above it assumes
/// (`World::merge_backing_into`): anonymous memory is reached only inside
/// its own size, so a backing page outside the window of the object above
/// is reached by nobody. (Not so for a copy object of a file, which a
/// mapping at a file offset past the file's nominal size reaches past its
/// end; such an object is never merged.)
fn check_reached_inside(w: &World) -> Result<(), Violation> {
    for o in w.objects.iter().filter(|o| o.is_anonymous()) {
        if let Some(end) = o.reach.reached.iter().last().map(|r| r.end)
            && end > o.size
        {
            return Err(Violation::ReachedOutside { object: o.id, end });
        }
    }
    Ok(())
}

impl Checker {
    /// Every object's `direct` is the coverage of its entries' windows: the
    /// windows' edges, grouped by object (a counting sort by arena slot,
    /// then a sort of each object's few edges) and swept in order, give
    /// back the kept runs one for one. A file keeps nothing.
    fn check_direct(&mut self, w: &World) -> Result<(), Violation> {
        // Where each object's edges start in `edges`: two per entry.
        let starts = zeroed(&mut self.per_object, w.objects.slots() + 1);
        for task in w.tasks.values() {
            for e in task.map.entries() {
                starts[e.object.slot as usize + 1] += 2;
            }
        }
        for slot in 1..starts.len() {
            starts[slot] += starts[slot - 1];
        }
        let total = starts[starts.len() - 1] as usize;
        self.edges.clear();
        self.edges.resize(total, (0, 0));
        let mut next = std::mem::take(&mut self.next_edge);
        next.clear();
        next.extend_from_slice(&self.per_object);
        for task in w.tasks.values() {
            for e in task.map.entries() {
                let at = &mut next[e.object.slot as usize];
                self.edges[*at as usize] = (e.offset.0, 1);
                self.edges[*at as usize + 1] = (e.offset.0 + e.pages(), -1);
                *at += 2;
            }
        }
        self.next_edge = next;
        for object in w.objects.iter() {
            let bad = Err(Violation::Coverage { object: object.id });
            if object.is_file() {
                if !object.reach.direct.is_empty() || !object.reach.reached.is_empty() {
                    return bad;
                }
                continue;
            }
            let slot = object.id.slot as usize;
            let edges = &mut self.edges[self.per_object[slot] as usize..self.per_object[slot + 1] as usize];
            edges.sort_unstable();
            let mut kept = object.reach.direct.runs();
            let (mut count, mut previous) = (0i64, 0i64);
            let mut at = 0;
            while at < edges.len() {
                let index = edges[at].0;
                while at < edges.len() && edges[at].0 == index {
                    count += i64::from(edges[at].1);
                    at += 1;
                }
                if count != previous {
                    if kept.next() != Some((index, count as u32)) {
                        return bad;
                    }
                    previous = count;
                }
            }
            if kept.next().is_some() {
                return bad;
            }
        }
        Ok(())
    }

    /// Every object's `reached` follows its definition: what its entries
    /// cover, plus what each shadower passes down. Objects are taken
    /// longest chain first, so a shadower (whose chain is one longer) has
    /// been checked before the object it shadows, and its kept set can be
    /// trusted to build the next.
    fn check_reached(&mut self, w: &World) -> Result<(), Violation> {
        self.by_length.clear();
        self.by_length.extend(w.objects.iter().filter(|o| !o.is_file()).map(|o| (o.chain_length, o.id)));
        self.by_length.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.serial().cmp(&b.1.serial())));
        for &(_, id) in &self.by_length {
            let o = w.object(id);
            let fresh = &mut self.ranges;
            fresh.clear();
            let bounds = 0..u64::MAX;
            fresh.extend(o.reach.direct.covered_within(bounds));
            for &shadower in &o.shadowers {
                let s = w.object(shadower);
                let Some((_, offset)) = s.shadow else { continue };
                for r in s.reach.reached.iter() {
                    let mut cursor = r.start;
                    for (index, _) in s.pages.range(Pindex(r.start)..Pindex(r.end)) {
                        push_shifted(fresh, cursor..index.0, offset.0);
                        cursor = index.0 + 1;
                    }
                    push_shifted(fresh, cursor..r.end, offset.0);
                }
            }
            if !o.shadowers.is_empty() {
                fresh.sort_unstable_by_key(|r| r.start);
            }
            let mut merged = fresh.iter().cloned().peekable();
            let mut kept = o.reach.reached.iter();
            while let Some(mut run) = merged.next() {
                while let Some(next) = merged.peek()
                    && next.start <= run.end
                {
                    run.end = run.end.max(next.end);
                    merged.next();
                }
                if kept.next() != Some(run) {
                    return Err(Violation::Reached { object: id });
                }
            }
            if kept.next().is_some() {
                return Err(Violation::Reached { object: id });
            }
        }
        Ok(())
    }

    /// Every page's count of reached slots (recounted slot by slot while
    /// checking invariant 3), and the count of hidden pages: held by no
    /// reached slot.
    fn check_page_reach(&mut self, w: &World) -> Result<(), Violation> {
        let mut hidden = 0;
        for (id, page) in w.pages.iter() {
            let counted = self.reached_per_page[id.index() as usize];
            if page.reached != counted {
                return Err(Violation::PageReached { page: id, kept: page.reached, counted });
            }
            hidden += u64::from(counted == 0);
        }
        if hidden != w.hidden_pages() {
            return Err(Violation::HiddenPages { kept: w.hidden_pages(), counted: hidden, walked: None });
        }
        Ok(())
    }

    /// The kept count of hidden pages is what the report defines: the walk
    /// of every entry's chain (`measure.rs`) finds as many. The checks above
    /// hold the bookkeeping to its own definition after every operation;
    /// this one holds that definition to the report's. It walks every chain,
    /// so the simulator runs it where the report reads the count: at every
    /// sample point of a checked run.
    pub(crate) fn check_hidden_walk(&mut self, w: &World) -> Result<(), Violation> {
        let walked = self.walk.count(w);
        if walked != w.hidden_pages() {
            return Err(Violation::HiddenPages { kept: w.hidden_pages(), counted: walked, walked: Some(walked) });
        }
        Ok(())
    }
}

/// Appends `range` shifted `by` columns higher (a range past the last
/// column is cut there).
fn push_shifted(ranges: &mut Vec<Range<u64>>, range: Range<u64>, by: u64) {
    if range.is_empty() {
        return;
    }
    if let Some(start) = range.start.checked_add(by) {
        ranges.push(start..range.end.saturating_add(by));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{TaskId, Vpn};
    use crate::op::Op;
    use crate::policy::PolicyKind;
    use crate::sim::{Config, Sim};

    /// A sim whose task 1 has one untouched page just below the map's
    /// maximum, so moving that entry disturbs no pmap or object.
    fn sim_with_top_page(policy: PolicyKind) -> (Sim, Vpn) {
        let config = Config::default().check_invariants(true);
        let top = MapBounds::of(&config).max;
        let mut sim = Sim::new(policy, config);
        sim.apply(&Op::TaskCreate { task: TaskId(1) }).unwrap();
        let addr = Some(top.0 * sim.config.page_size - sim.config.page_size);
        sim.apply(&Op::VmAllocate { task: TaskId(1), addr, size: sim.config.page_size, anywhere: false }).unwrap();
        (sim, Vpn(top.0 - 1))
    }

    /// Moves task 1's entry at `from` to start at `to`, keeping its size.
    fn move_entry(sim: &mut Sim, from: Vpn, to: Vpn) {
        let map = &mut sim.world.task_mut(TaskId(1)).map;
        let mut entry = map.remove(from).expect("entry to move");
        let pages = entry.pages();
        entry.start = to;
        entry.end = to.plus(pages);
        map.insert(entry);
    }

    fn check(sim: &Sim) -> Result<(), Violation> {
        check_world(&sim.world, sim.policy.as_ref(), MapBounds::of(&sim.config))
    }

    /// Does the checker see an entry past the map's maximum, as a wrapped
    /// range check would have left it (the page of 0xfffffffffffff000)?
    /// Under every policy, so no policy's own check hides it.
    #[test]
    fn an_entry_past_the_maximum_is_a_violation() {
        for policy in PolicyKind::ALL {
            let (mut sim, top) = sim_with_top_page(policy);
            assert_eq!(check(&sim), Ok(()), "{policy}: an entry ending exactly at the maximum is fine");
            let wrapped = Vpn(0xfffffffffffff);
            move_entry(&mut sim, top, wrapped);
            let max = MapBounds::of(&sim.config).max;
            let want = Violation::EntryOutOfBounds {
                task: TaskId(1),
                start: wrapped,
                end: Vpn(0x10000000000000),
                bound: Bound::Max(max),
            };
            assert_eq!(check(&sim), Err(want), "{policy}");
        }
    }

    /// And below the minimum: page 0, which the default `map_min` keeps
    /// unmapped so that a null access is a segv.
    #[test]
    fn an_entry_below_the_minimum_is_a_violation() {
        let (mut sim, top) = sim_with_top_page(PolicyKind::GnuMach);
        move_entry(&mut sim, top, Vpn(0));
        let violation = check(&sim).unwrap_err();
        assert_eq!(
            violation.to_string(),
            "task#1 entry vpn:0x0..vpn:0x1 starts below the map's minimum vpn:0x1 (map_min)"
        );
    }

    /// The message names the task, the entry and the bound.
    #[test]
    fn the_message_names_task_entry_and_bound() {
        let violation = Violation::EntryOutOfBounds {
            task: TaskId(3),
            start: Vpn(0x7ffffffff),
            end: Vpn(0x800000001),
            bound: Bound::Max(Vpn(0x800000000)),
        };
        assert_eq!(
            violation.to_string(),
            "task#3 entry vpn:0x7ffffffff..vpn:0x800000001 ends past the map's maximum vpn:0x800000000 (map_max)"
        );
    }

    /// Bounds are exact in pages: `map_min` rounds up, `map_max` down, and
    /// a `map_max` of `u64::MAX` does not overflow.
    #[test]
    fn bounds_round_inward() {
        let bounds = MapBounds::new(0x1001, u64::MAX, 0x1000);
        assert_eq!((bounds.min, bounds.max), (Vpn(2), Vpn(0xfffffffffffff)));
        assert!(bounds.contains(Vpn(2), Vpn(0xfffffffffffff)));
        assert!(!bounds.contains(Vpn(1), Vpn(3)));
        assert!(!bounds.contains(Vpn(0xffffffffffffe), Vpn(0x10000000000000)));
    }
}
