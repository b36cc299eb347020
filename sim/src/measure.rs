//! Measures that are not counts of events: they need a walk of the world,
//! so the simulator takes them at sample points (every `sample_every`
//! operations and at the end).
//!
//! - *Hidden pages*: resident pages of anonymous memory that no mapping can
//!   reach: every entry whose chain contains them has a page of its own in
//!   front of them, or they lie outside every entry's window. This is the
//!   memory a shadow chain wastes until a collapse frees it. File pages are
//!   page cache and never count as hidden.
//! - *Chain length* of an entry: the number of objects from its object down
//!   to the end of the chain (1 for an entry whose object has no shadow).

use std::collections::BTreeSet;

use rustc_hash::FxHashSet;

use crate::ids::{ObjectId, PageId, Pindex, TaskId};
use crate::world::World;

/// One sample of the walked measures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Measures {
    pub hidden: u64,
    pub max_chain: u64,
    pub mean_chain: f64,
}

impl Measures {
    /// The larger of each measure (for peaks).
    pub fn max(&self, other: &Measures) -> Measures {
        Measures {
            hidden: self.hidden.max(other.hidden),
            max_chain: self.max_chain.max(other.max_chain),
            mean_chain: self.mean_chain.max(other.mean_chain),
        }
    }
}

/// Walks the world once and takes every measure.
pub fn measure(w: &World) -> Measures {
    let (max_chain, mean_chain) = chain_lengths(w);
    Measures { hidden: hidden_pages(w), max_chain, mean_chain }
}

/// The longest and the mean chain over every map entry of every task.
pub fn chain_lengths(w: &World) -> (u64, f64) {
    let mut longest = 0u64;
    let mut total = 0u64;
    let mut entries = 0u64;
    for task in w.tasks.values() {
        for entry in task.map.entries() {
            let length = u64::from(w.chain_length(entry.object));
            longest = longest.max(length);
            total += length;
            entries += 1;
        }
    }
    let mean = if entries == 0 { 0.0 } else { total as f64 / entries as f64 };
    (longest, mean)
}

/// Resident anonymous pages no mapping can reach (see the module docs).
pub fn hidden_pages(w: &World) -> u64 {
    let visible = visible_pages(w);
    let mut hidden = 0;
    let mut counted = vec![false; visible.len()];
    for object in w.objects.iter() {
        if object.is_file() {
            continue;
        }
        for page in object.pages.values() {
            let slot = page.index() as usize;
            if !visible.get(slot).copied().unwrap_or(false) && !counted[slot] {
                counted[slot] = true;
                hidden += 1;
            }
        }
    }
    hidden
}

/// The hidden pages of every object that has some, as `(object, indices)`
/// in object serial order: the pages [`hidden_pages`] counts, told where
/// they sit (for object graphs and narrations). A page that several slots
/// hold is listed under each of them, so the lengths may add up to more
/// than [`hidden_pages`] for designs that share pages between slots.
pub fn hidden_pages_by_object(w: &World) -> Vec<(ObjectId, Vec<Pindex>)> {
    let visible = visible_pages(w);
    let is_visible = |page: &PageId| visible.get(page.index() as usize).copied().unwrap_or(false);
    w.objects
        .iter()
        .filter(|object| !object.is_file())
        .filter_map(|object| {
            let hidden: Vec<Pindex> =
                object.pages.iter().filter(|(_, page)| !is_visible(page)).map(|(index, _)| index).collect();
            (!hidden.is_empty()).then_some((object.id, hidden))
        })
        .collect()
}

/// Marks, by page slot, every page some map entry can reach.
fn visible_pages(w: &World) -> Vec<bool> {
    let slots = w.pages.iter().map(|(p, _)| p.index() as usize + 1).max().unwrap_or(0);
    let mut visible = vec![false; slots];
    // Entries that map the same window of the same object see the same
    // pages: after many forks most entries do, so walk each window once.
    let windows: BTreeSet<(ObjectId, Pindex, u64)> =
        w.tasks.values().flat_map(|t| t.map.entries()).map(|e| (e.object, e.offset, e.pages())).collect();
    // Indices (relative to the window) some object above already holds: a
    // page below them is hidden from this window. One set per window walk,
    // so a walk costs the pages in the chain, not pages times depth.
    let mut covered: FxHashSet<u64> = FxHashSet::default();
    for (top, offset, pages) in windows {
        covered.clear();
        let mut level = Some((top, offset));
        while let Some((object, base)) = level {
            let o = w.object(object);
            for (index, page) in o.pages.range(base..Pindex(base.0 + pages)) {
                if covered.insert(index.0 - base.0) {
                    mark(&mut visible, page);
                }
            }
            level = o.shadow.map(|(below, shift)| (below, Pindex(base.0 + shift.0)));
        }
    }
    visible
}

fn mark(visible: &mut [bool], page: PageId) {
    if let Some(v) = visible.get_mut(page.index() as usize) {
        *v = true;
    }
}

/// Pages each task has mapped in its pmap right now (its resident set).
pub fn task_resident(w: &World) -> Vec<(TaskId, u64)> {
    w.tasks
        .values()
        .map(|t| {
            let live =
                t.pmap.sorted().iter().filter(|(_, e)| w.pages.mapping_valid(e.page, e.made, false).is_some()).count();
            (t.id, live as u64)
        })
        .collect()
}
