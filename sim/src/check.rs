//! The invariant checker: one function that checks the whole world and
//! names the first violation. Tests and debug builds run it after every
//! operation (`Config::check_invariants`).
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
//! A policy adds its own through `Policy::check`.

use std::collections::BTreeMap;

use crate::ids::{ObjectId, PageId};
use crate::map::{MapBounds, MapEntry};
use crate::policy::Policy;
pub use crate::violation::{Bound, Violation};
use crate::world::World;

/// Checks every invariant of a world whose maps live in `bounds` (see
/// [`MapBounds::of`]); returns the first violation.
pub fn check_world(w: &World, policy: &dyn Policy, bounds: MapBounds) -> Result<(), Violation> {
    check_entries(w, bounds)?;
    check_references(w)?;
    check_chains(w)?;
    check_page_holders(w)?;
    check_copy_links(w)?;
    check_pmaps(w, policy)?;
    check_counters(w)?;
    policy.check(w)
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

fn check_references(w: &World) -> Result<(), Violation> {
    let mut referrers: BTreeMap<ObjectId, u32> = BTreeMap::new();
    for task in w.tasks.values() {
        for e in task.map.entries() {
            *referrers.entry(e.object).or_default() += 1;
        }
    }
    for object in w.objects.iter() {
        if let Some((below, _)) = object.shadow {
            *referrers.entry(below).or_default() += 1;
        }
    }
    for (_, object) in w.files.values() {
        *referrers.entry(*object).or_default() += 1;
    }
    for object in w.objects.iter() {
        let counted = referrers.get(&object.id).copied().unwrap_or(0);
        if counted != object.ref_count {
            return Err(Violation::RefCount { object: object.id, ref_count: object.ref_count, referrers: counted });
        }
    }
    Ok(())
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

fn check_page_holders(w: &World) -> Result<(), Violation> {
    let mut slots: BTreeMap<PageId, u32> = BTreeMap::new();
    for object in w.objects.iter() {
        for page in object.pages.values() {
            let page = &page;
            if !w.pages.contains(*page) {
                return Err(Violation::PageHolders { page: *page, refs: 0, slots: 1 });
            }
            *slots.entry(*page).or_default() += 1;
        }
    }
    for (id, page) in w.pages.iter() {
        let held = slots.get(&id).copied().unwrap_or(0);
        if held != page.refs || held == 0 {
            return Err(Violation::PageHolders { page: id, refs: page.refs, slots: held });
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

fn check_pmaps(w: &World, policy: &dyn Policy) -> Result<(), Violation> {
    for task in w.tasks.values() {
        for (vpn, pte) in task.pmap.sorted() {
            if w.pages.mapping_valid(pte.page, pte.made, false).is_none() {
                continue; // stale: the next access refaults
            }
            let disagree = |problem: String| Err(Violation::PmapDisagrees { task: task.id, vpn, problem });
            let Some(entry) = task.map.lookup(vpn) else {
                return disagree(format!("maps {:?} but no map entry covers it", pte.page));
            };
            if !entry.prot.allows(pte.prot) {
                return disagree(format!("grants {:?} but the entry allows {:?}", pte.prot, entry.prot));
            }
            let resolved = policy.resolve(w, entry, vpn);
            if resolved.page != Some(pte.page) {
                return disagree(format!("maps {:?} but a fault would find {:?}", pte.page, resolved.page));
            }
            let write_valid = w.pages.mapping_valid(pte.page, pte.made, true).is_some();
            if pte.prot.allows(crate::types::Prot::WRITE) && write_valid && !resolved.writable_in_place {
                return disagree(format!("maps {:?} writable but a write must not go to it in place", pte.page));
            }
        }
    }
    Ok(())
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
