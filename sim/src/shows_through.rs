//! How many pages of its backing object an object leaves showing through,
//! kept as pages come and go, so that the Mach family's bypass test is one
//! comparison instead of a scan of the backing object.
//!
//! A collapse may *bypass* a backing object (point past it) only when the
//! object above has its own page in front of every backing page it can see
//! (`policy/mach.rs`). GNU Mach decides it by scanning the backing object's
//! pages (`vm_object_collapse` in `vm/vm_object.c`); XNU first compares
//! resident page counts and scans only when the counts allow it
//! (`vm_object_collapse` in `osfmk/vm/vm_object.c`: if the backing object
//! has more resident pages inside the window than the object has, one of
//! them must show through). Either scan stops at the first backing page
//! that shows through, so a child writing a large region in ascending order
//! rescans everything it already copied after every fault: quadratic. The
//! count here makes the test exact and O(1) whatever the order.
//!
//! Invariant (checked after every operation against a scan): for an object
//! `top` whose shadow is `(backing, offset)` and whose backing is anonymous
//! memory (zero-fill or a shadow: the only objects a collapse may bypass),
//! `top.shows_through` is the number of pages of `backing` at an index
//! `offset + q` with `q < top.size` for which `top` has no page at `q`. For
//! any other object it is 0.
//!
//! It changes when a page enters or leaves `top` (one look-up in the
//! backing object), when a page enters or leaves an anonymous object (one
//! look-up in each of its shadowers), and is counted afresh when an
//! object's shadow or size changes.

use crate::ids::{ObjectId, Pindex};
use crate::world::World;

impl World {
    /// Does `top` have its own page in front of every page of its
    /// (anonymous) backing object that it can see? O(1).
    pub(crate) fn hides_all_backing_pages(&self, top: ObjectId) -> bool {
        let t = self.object(top);
        debug_assert!(t.shadow.is_some_and(|(b, _)| self.object(b).is_anonymous()), "bypass test on {top:?}");
        t.shows_through == 0
    }

    /// Is `top`'s count kept: has it a shadow that is anonymous memory?
    fn counts_shows_through(&self, top: ObjectId) -> Option<(ObjectId, Pindex)> {
        self.object(top).shadow.filter(|(backing, _)| self.object(*backing).is_anonymous())
    }

    /// Counts `top`'s backing pages that show through, afresh: after its
    /// shadow or its size changed. Walks whichever is smaller, `top`'s
    /// pages or the backing's pages inside `top`'s window.
    pub(crate) fn recount_shows_through(&mut self, top: ObjectId) {
        let count: u32 = match self.counts_shows_through(top) {
            None => 0,
            Some((backing, offset)) => {
                let t = self.object(top);
                let b = self.object(backing);
                let window = offset..Pindex(offset.0.saturating_add(t.size));
                let visible = b.pages.count_within(window.clone());
                let hidden = if t.pages.len() <= visible {
                    t.pages.range(Pindex(0)..Pindex(t.size)).filter(|(q, _)| b.page(offset.plus(q.0)).is_some()).count()
                } else {
                    b.pages.range(window).filter(|(i, _)| t.page(Pindex(i.0 - offset.0)).is_some()).count()
                };
                u32::try_from(visible - hidden).expect("shows_through: more than 2^32 pages")
            }
        };
        self.objects.get_mut(top).shows_through = count;
    }

    /// A page entered (`+1`) or left (`-1`) `object` at `index`: updates
    /// `object`'s own count against its backing, and the counts of the
    /// objects that shadow it.
    pub(crate) fn note_shows_through(&mut self, object: ObjectId, index: Pindex, change: i64) {
        // As the top: a page of its own now hides (or no longer hides) the
        // backing page behind it.
        if let Some((backing, offset)) = self.counts_shows_through(object)
            && index.0 < self.object(object).size
            && self.object(backing).page(offset.plus(index.0)).is_some()
        {
            adjust(&mut self.objects.get_mut(object).shows_through, -change);
        }
        // As a backing object: each shadower that has no page in front of
        // this index now sees one more (or one fewer) page showing through.
        if !self.object(object).is_anonymous() {
            return;
        }
        for k in 0..self.object(object).shadowers.len() {
            let shadower = self.object(object).shadowers[k];
            let s = self.object(shadower);
            let Some((_, offset)) = s.shadow else { continue };
            let Some(q) = index.0.checked_sub(offset.0) else { continue };
            if q < s.size && s.page(Pindex(q)).is_none() {
                adjust(&mut self.objects.get_mut(shadower).shows_through, change);
            }
        }
    }
}

fn adjust(count: &mut u32, change: i64) {
    *count = u32::try_from(i64::from(*count) + change).expect("shows_through: a count left 0..2^32");
}
