//! Measures that are not counts of events: hidden pages and chain lengths
//! (docs/report.md defines both).
//!
//! - *Hidden pages*: resident pages of anonymous memory that no mapping can
//!   reach: every entry whose chain contains them has a page of its own in
//!   front of them, or they lie outside every entry's window. This is the
//!   memory a shadow chain wastes until a collapse frees it. File pages are
//!   page cache and never count as hidden.
//! - *Chain length* of an entry: the number of objects from its object down
//!   to the end of the chain (1 for an entry whose object has no shadow).
//!
//! The world keeps both up to date as it changes (`reach.rs`,
//! `chains.rs`), so taking a sample costs nothing however large the world:
//! [`measure`] only reads them. [`HiddenWalk`] counts hidden pages the
//! direct way, by walking every entry's chain; the invariant checker
//! compares the two after every operation.

use rustc_hash::FxHashSet;

use crate::ids::{ObjectId, Pindex, TaskId};
use crate::world::World;

/// One sample of the measures.
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

/// Every measure, as the world keeps them: O(1) once the chain lengths are
/// settled (`chains.rs`).
pub fn measure(w: &mut World) -> Measures {
    let hidden = w.hidden_pages();
    let chains = w.chain_lengths();
    Measures { hidden, max_chain: chains.longest(), mean_chain: chains.mean() }
}

/// The hidden pages of every object that has some, as `(object, indices)`
/// in object serial order: the pages [`World::hidden_pages`] counts, told
/// where they sit (for object graphs and narrations). A page that several
/// slots hold is listed under each of them, so the lengths may add up to
/// more than the count for designs that share pages between slots.
pub fn hidden_pages_by_object(w: &World) -> Vec<(ObjectId, Vec<Pindex>)> {
    w.objects
        .iter()
        .filter(|object| !object.is_file())
        .filter_map(|object| {
            let hidden: Vec<Pindex> = object
                .pages
                .iter()
                .filter(|(_, page)| w.pages.get(*page).reached == 0)
                .map(|(index, _)| index)
                .collect();
            (!hidden.is_empty()).then_some((object.id, hidden))
        })
        .collect()
}

/// Pages each task has mapped in its pmap right now (its resident set).
pub fn task_resident(w: &World) -> Vec<(TaskId, u64)> {
    w.tasks
        .values()
        .map(|t| {
            let valid = |page, made| w.pages.mapping_valid(page, made, false).is_some();
            let live = t.pmap.entries_unordered().filter(|(_, e)| valid(e.page, e.made)).count();
            (t.id, live as u64)
        })
        .collect()
}

/// Counts hidden pages by walking every entry's chain, the definition
/// itself; keeps its buffers from one count to the next.
#[derive(Debug, Default)]
pub struct HiddenWalk {
    /// Every entry's window, once: `(object, offset, pages)`.
    windows: Vec<(ObjectId, Pindex, u64)>,
    /// Indices (relative to the window) some object above already holds.
    covered: FxHashSet<u64>,
    /// By page slot: some entry reaches the page.
    visible: Vec<bool>,
    /// By page slot: the page was counted hidden already.
    counted: Vec<bool>,
}

impl HiddenWalk {
    /// Resident anonymous pages no mapping can reach (see the module docs).
    pub fn count(&mut self, w: &World) -> u64 {
        self.mark_visible(w);
        self.counted.clear();
        self.counted.resize(self.visible.len(), false);
        let mut hidden = 0;
        for object in w.objects.iter().filter(|o| !o.is_file()) {
            for page in object.pages.values() {
                let slot = page.index() as usize;
                if !self.visible[slot] && !self.counted[slot] {
                    self.counted[slot] = true;
                    hidden += 1;
                }
            }
        }
        hidden
    }

    /// Marks, by page slot, every page some map entry can reach.
    fn mark_visible(&mut self, w: &World) {
        self.visible.clear();
        self.visible.resize(w.pages.slots(), false);
        // Entries that map the same window of the same object see the same
        // pages: after many forks most entries do, so walk each window once.
        self.windows.clear();
        self.windows.extend(w.tasks.values().flat_map(|t| t.map.entries()).map(|e| (e.object, e.offset, e.pages())));
        self.windows.sort_unstable();
        self.windows.dedup();
        for &(top, offset, pages) in &self.windows {
            // One set per window walk, so a walk costs the pages in the
            // chain, not pages times depth.
            self.covered.clear();
            let mut level = Some((top, offset));
            while let Some((object, base)) = level {
                let o = w.object(object);
                for (index, page) in o.pages.range(base..Pindex(base.0 + pages)) {
                    if self.covered.insert(index.0 - base.0) {
                        self.visible[page.index() as usize] = true;
                    }
                }
                level = o.shadow.map(|(below, shift)| (below, Pindex(base.0 + shift.0)));
            }
        }
    }
}
