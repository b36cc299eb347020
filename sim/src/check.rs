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
//! 4. Every map entry is well formed: a non-empty range, a protection within
//!    its maximum, a live object, and `needs_copy` only on a private
//!    (copy-on-write) entry.
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
use crate::policy::Policy;
pub use crate::violation::Violation;
use crate::world::World;

/// Checks every invariant; returns the first violation.
pub fn check_world(w: &World, policy: &dyn Policy) -> Result<(), Violation> {
    check_entries(w)?;
    check_references(w)?;
    check_chains(w)?;
    check_page_holders(w)?;
    check_copy_links(w)?;
    check_pmaps(w, policy)?;
    check_counters(w)?;
    policy.check(w)
}

fn check_entries(w: &World) -> Result<(), Violation> {
    for task in w.tasks.values() {
        for e in task.map.entries() {
            let bad = |problem| Err(Violation::BadEntry { task: task.id, start: e.start, problem });
            if e.start >= e.end {
                return bad("empty range");
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
