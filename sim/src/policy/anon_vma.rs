//! Linux's reverse map for anonymous memory: `anon_vma`s and the
//! `anon_vma_chain`s that link each VMA to them (`mm/rmap.c`), for
//! `linux` and `linux-odf`.
//!
//! In plain words: to find every mapping of an anonymous page (to unmap it
//! for swap or migration), Linux does not keep a list per page, as the BSD
//! and Mach pmaps do with pv entries. A page points at one `anon_vma`, and
//! the `anon_vma` knows every VMA that might map the page. A VMA gets its
//! own `anon_vma` at its first anonymous fault (`__anon_vma_prepare`).
//! At fork the child's VMA is linked, by one `anon_vma_chain` each, to
//! every `anon_vma` its parent's VMA is linked to — its pages may come from
//! any of them — and gets a new `anon_vma` of its own, a child of the
//! parent's (`anon_vma_fork`, `anon_vma_clone`). So a VMA's chain is as long
//! as its line of ancestors: a process that forks, exits, and whose child
//! forks again grows the chain by one every generation, without bound.
//!
//! Since Linux 3.19 (commit 7a3ef208e662, "mm: prevent endless growth of
//! anon_vma hierarchy") a forking child *reuses* an `anon_vma` of its chain
//! that no VMA uses as its own any more and that has fewer than two
//! children, instead of making a new one, which bounds the chain. The
//! `anon_vma_reuse` setting turns that off, to show the growth.
//!
//! Each `anon_vma_chain` made counts one reverse-map entry (`rmap_entries`).
//! Here a VMA is a map entry's page table (pieces of a split entry share
//! theirs, where Linux copies the chain into each piece), and an
//! `anon_vma` lives while some VMA is linked to it (Linux keeps it a little
//! longer, while its pages are still being freed).
//!
//! Follows: Linux `mm/rmap.c` (`__anon_vma_prepare`, `anon_vma_fork`,
//! `anon_vma_clone`, `unlink_anon_vmas`), commits 5beb49305251 (2010, the
//! chains) and 7a3ef208e662 (2015, reuse).

use rustc_hash::FxHashMap;

use crate::event::WorkKind;
use crate::ids::ObjectId;
use crate::world::World;

/// Every `anon_vma` and every VMA's chain.
#[derive(Clone, Debug, Default)]
pub struct AnonVmas {
    /// Reuse an idle `anon_vma` at fork (Linux 3.19 and later).
    reuse: bool,
    /// A VMA (its page table) → its chain. Looked up at every anonymous
    /// fault and never iterated, so a hash map (no order can leak out).
    chains: FxHashMap<ObjectId, Chain>,
    /// The `anon_vma`s by number; a freed number is reused.
    anon_vmas: Vec<Option<AnonVma>>,
    free: Vec<u32>,
}

/// One VMA's links: its own `anon_vma` (where its new pages go) and every
/// `anon_vma` it is chained to, oldest first.
#[derive(Clone, Debug)]
struct Chain {
    own: u32,
    linked: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
struct AnonVma {
    parent: Option<u32>,
    /// `num_children`: child `anon_vma`s, and 1 for a root's link to itself.
    children: u32,
    /// `num_active_vmas`: VMAs that have it as their own.
    active: u32,
    /// Chains linked to it.
    links: u32,
}

impl AnonVmas {
    /// No `anon_vma` yet; forks reuse idle ones if `reuse`.
    pub fn new(reuse: bool) -> AnonVmas {
        AnonVmas { reuse, ..AnonVmas::default() }
    }

    /// A fault is about to put an anonymous page in `table`: its VMA needs
    /// an `anon_vma` (`__anon_vma_prepare`), made now if it has none.
    pub fn prepare(&mut self, w: &mut World, table: ObjectId) {
        if self.chains.contains_key(&table) {
            return;
        }
        let own = self.make(AnonVma { parent: None, children: 1, active: 1, links: 1 });
        self.chains.insert(table, Chain { own, linked: vec![own] });
        w.work(WorkKind::RmapEntry, 1);
    }

    /// A fork made `child_table` from `parent_table` (`anon_vma_fork`):
    /// the child is chained to everything the parent is, and gets an
    /// `anon_vma` of its own — an idle one of the chain if reuse is on and
    /// one qualifies, else a new child of the parent's.
    pub fn fork(&mut self, w: &mut World, parent_table: ObjectId, child_table: ObjectId) {
        let Some(parent) = self.chains.get(&parent_table) else { return };
        let (parent_own, mut linked) = (parent.own, parent.linked.clone());
        let reuse = self.reuse;
        let mut own = None;
        for &each in &linked {
            let a = self.get(each);
            a.links += 1;
            if reuse && own.is_none() && a.children < 2 && a.active == 0 {
                own = Some(each);
            }
        }
        let own = match own {
            Some(reused) => {
                self.get(reused).active += 1;
                reused
            }
            None => {
                let made = self.make(AnonVma { parent: Some(parent_own), children: 0, active: 1, links: 1 });
                self.get(parent_own).children += 1;
                linked.push(made);
                made
            }
        };
        w.work(WorkKind::RmapEntry, linked.len() as u64);
        self.chains.insert(child_table, Chain { own, linked });
    }

    /// `table`'s VMA is gone (`unlink_anon_vmas`): its links go, and every
    /// `anon_vma` no VMA links to any more is freed.
    pub fn unlink(&mut self, table: ObjectId) {
        let Some(chain) = self.chains.remove(&table) else { return };
        self.get(chain.own).active -= 1;
        for linked in chain.linked {
            let a = self.get(linked);
            a.links -= 1;
            if a.links > 0 {
                continue;
            }
            let parent = a.parent;
            self.anon_vmas[linked as usize] = None;
            self.free.push(linked);
            if let Some(Some(parent)) = parent.and_then(|p| self.anon_vmas.get_mut(p as usize)) {
                parent.children -= 1;
            }
        }
    }

    fn make(&mut self, anon_vma: AnonVma) -> u32 {
        match self.free.pop() {
            Some(id) => {
                self.anon_vmas[id as usize] = Some(anon_vma);
                id
            }
            None => {
                self.anon_vmas.push(Some(anon_vma));
                (self.anon_vmas.len() - 1) as u32
            }
        }
    }

    fn get(&mut self, id: u32) -> &mut AnonVma {
        match self.anon_vmas.get_mut(id as usize) {
            Some(Some(anon_vma)) => anon_vma,
            _ => panic!("anon_vma: {id} is chained but was freed"),
        }
    }
}
