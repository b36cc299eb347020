//! Physical pages and the arena that holds them.
//!
//! A page carries a content token instead of 4 KiB of data, a count of the
//! object slots that hold it, and two *stamps* that let the model take
//! mappings away from a page without a reverse map (see [`Pages::revoke`]).

use slab::Slab;

use crate::ids::{PageId, Token};

/// A moment on the pages' clock. Pmap entries remember when they were made;
/// a page remembers when its mappings were last taken away.
///
/// 32 bits keep a page and a pmap entry small. The clock would wrap after
/// four billion ticks, so the simulator restamps before that, at an
/// operation boundary: every pmap is emptied (they are caches) and the clock
/// starts again ([`Pages::needs_restamp`]).
pub type Stamp = u32;

/// The clock value past which the next operation boundary restamps. The
/// margin (2^30 ticks) is far more than one operation can use: a tick is a
/// page made or a page's mappings taken away.
pub(crate) const RESTAMP_AT: Stamp = Stamp::MAX - (1 << 30);

/// One physical frame.
#[derive(Clone, Debug)]
pub struct Page {
    /// What the page holds.
    pub token: Token,
    /// How many object slots hold this page. The Mach family keeps it at 1
    /// ("a page lives in exactly one object"); UVM anons, Linux and Plan 9
    /// pages are shared by several slots and copied when a writer finds
    /// `refs > 1`.
    pub refs: u32,
    /// How many of the slots holding this page some map entry can reach
    /// (a slot of a file counts always: file pages are page cache). A page
    /// held by slots none of which is reached is *hidden* (`reach.rs`). It
    /// fills what would be padding, so a page stays a 32-byte slab slot.
    pub reached: u32,
    /// Mappings made at or before this stamp are stale for any access.
    revoked_at: Stamp,
    /// Mappings made at or before this stamp are stale for writes.
    write_revoked_at: Stamp,
}

/// The arena of physical pages plus the clock that orders mappings.
#[derive(Debug)]
pub struct Pages {
    slab: Slab<Page>,
    clock: Stamp,
}

impl Default for Pages {
    fn default() -> Self {
        Pages { slab: Slab::new(), clock: 1 }
    }
}

impl Pages {
    /// Allocates a frame holding `token`, held by no slot yet (`refs == 0`).
    /// Any pmap entry left over from an earlier page in the same slot is
    /// stale, because the new page is stamped now.
    pub(crate) fn alloc(&mut self, token: Token) -> PageId {
        let now = self.tick();
        let slot = self.slab.insert(Page { token, refs: 0, reached: 0, revoked_at: now, write_revoked_at: now });
        PageId(slot as u32)
    }

    /// Frees a frame. The caller guarantees no object slot holds it.
    pub(crate) fn free(&mut self, page: PageId) {
        let freed = self.slab.remove(page.0 as usize);
        debug_assert_eq!(freed.refs, 0, "free: {page:?} still held by {} slots", freed.refs);
    }

    /// The page behind an id. Panics on a stale id: that is a model bug.
    pub fn get(&self, page: PageId) -> &Page {
        match self.slab.get(page.0 as usize) {
            Some(p) => p,
            None => panic!("pages: {page:?} is not allocated"),
        }
    }

    pub(crate) fn get_mut(&mut self, page: PageId) -> &mut Page {
        match self.slab.get_mut(page.0 as usize) {
            Some(p) => p,
            None => panic!("pages: {page:?} is not allocated"),
        }
    }

    /// Does this page exist? (Pmap entries may name freed slots.)
    pub fn contains(&self, page: PageId) -> bool {
        self.slab.contains(page.0 as usize)
    }

    /// Number of allocated frames.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// An upper bound on the arena slots in use: every page's index is
    /// below it (for scratch tables indexed by page).
    pub fn slots(&self) -> usize {
        self.slab.capacity()
    }

    /// Every allocated frame, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (PageId, &Page)> {
        self.slab.iter().map(|(slot, p)| (PageId(slot as u32), p))
    }

    /// The current time, for a pmap entry being made now.
    pub(crate) fn now(&self) -> Stamp {
        self.clock
    }

    /// Takes every mapping of `page` away (`pmap_page_protect(page,
    /// VM_PROT_NONE)`): pmap entries made before now no longer hit.
    pub(crate) fn revoke(&mut self, page: PageId) {
        let now = self.tick();
        let p = self.get_mut(page);
        p.revoked_at = now;
        p.write_revoked_at = now;
    }

    /// Takes write permission away from every mapping of `page`
    /// (`pmap_page_protect(page, VM_PROT_READ)`).
    pub(crate) fn write_protect(&mut self, page: PageId) {
        let now = self.tick();
        self.get_mut(page).write_revoked_at = now;
    }

    /// Is a mapping made at `made` still good for this kind of access?
    #[inline]
    pub(crate) fn mapping_valid(&self, page: PageId, made: Stamp, write: bool) -> Option<&Page> {
        let p = self.slab.get(page.0 as usize)?;
        let since = if write { p.write_revoked_at } else { p.revoked_at };
        (made > since).then_some(p)
    }

    /// Has the clock come close enough to wrapping that the world must
    /// restamp at this operation boundary?
    pub(crate) fn needs_restamp(&self) -> bool {
        self.clock >= RESTAMP_AT
    }

    /// Starts the clock again. The caller guarantees every pmap is empty:
    /// an old entry would otherwise look newer than every page's stamps.
    pub(crate) fn restamp(&mut self) {
        for (_, page) in self.slab.iter_mut() {
            page.revoked_at = 0;
            page.write_revoked_at = 0;
        }
        self.clock = 1;
    }

    #[cfg(test)]
    pub(crate) fn set_clock(&mut self, clock: Stamp) {
        self.clock = clock;
    }

    fn tick(&mut self) -> Stamp {
        let now = self.clock;
        self.clock += 1;
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a page costs, as the module claims: 24 bytes, so that with the
    /// slab's tag a frame is a 32-byte slot.
    #[test]
    fn a_page_is_twenty_four_bytes() {
        assert_eq!(std::mem::size_of::<Page>(), 24);
    }
}
