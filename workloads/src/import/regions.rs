//! The importer's picture of one process's address space.
//!
//! The simulator follows the Mach manual: `vm_deallocate`, `vm_protect` and
//! `vm_inherit` over a range with a hole fail with `KERN_INVALID_ADDRESS`
//! and change nothing. Linux's `munmap` and `madvise` skip holes instead.
//! So an importer must know where the holes are, and split each Linux call
//! into one Mach op per mapped stretch. It also needs to know what backs a
//! stretch (to remap it the same way after `madvise(MADV_DONTNEED)` or
//! `mremap`), its protection (to predict the code an access gets) and which
//! region is the stack (which grows down on a fault below it).
//!
//! [`Regions`] keeps that: sorted, non-overlapping regions in **pages**,
//! clipped exactly like the simulator's map entries, so that the ops the
//! importer writes and the map the simulator builds stay the same shape.
//! Memory is proportional to the number of mappings, never to the length of
//! the capture.

use std::collections::BTreeMap;
use std::rc::Rc;

use sim::types::{Inheritance, Prot};

/// The page size of the captures read (x86-64 Linux, Valgrind on it).
pub const PAGE_SIZE: u64 = 4096;

/// What backs a region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Zero-fill memory (`vm_allocate`).
    Anonymous,
    /// A file (`vm_map`), from page `offset` of the file at the region's
    /// first page; shared mappings write through to it.
    File { name: Rc<str>, offset: u64, shared: bool },
}

/// One mapped stretch of pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// One past the last page.
    pub end: u64,
    pub prot: Prot,
    pub backing: Backing,
    pub inherit: Inheritance,
    /// The main thread's stack: grows down when a fault lands below it.
    pub stack: bool,
    /// Made up by the importer to cover memory it never saw mapped; its
    /// protection is a guess that later faults may widen.
    pub guessed: bool,
}

impl Region {
    /// A region with the usual inheritance for its backing: shared
    /// mappings are shared with a forked child, everything else copied.
    pub fn new(end: u64, prot: Prot, backing: Backing) -> Region {
        let inherit = match backing {
            Backing::File { shared: true, .. } => Inheritance::Share,
            _ => Inheritance::Copy,
        };
        Region { end, prot, backing, inherit, stack: false, guessed: false }
    }

    /// The same region seen from page `at` onwards, when it starts at
    /// `start` (a file region's offset moves with it).
    fn clipped_at(&self, start: u64, at: u64) -> Region {
        let mut tail = self.clone();
        if let Backing::File { offset, .. } = &mut tail.backing {
            *offset += at - start;
        }
        tail
    }
}

/// A clipped piece of a region: `[start, region.end)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub start: u64,
    pub region: Region,
}

/// Sorted, non-overlapping regions, keyed by their first page.
#[derive(Clone, Debug, Default)]
pub struct Regions {
    map: BTreeMap<u64, Region>,
}

impl Regions {
    /// The region holding `page`, with its first page.
    pub fn lookup(&self, page: u64) -> Option<(u64, &Region)> {
        let (start, region) = self.map.range(..=page).next_back()?;
        (page < region.end).then_some((*start, region))
    }

    /// The region holding `page`, to change it in place (its range must
    /// stay the same).
    pub fn lookup_mut(&mut self, page: u64) -> Option<&mut Region> {
        let (_, region) = self.map.range_mut(..=page).next_back()?;
        (page < region.end).then_some(region)
    }

    /// The first region starting above `page`.
    pub fn next_above(&self, page: u64) -> Option<(u64, &Region)> {
        self.map.range(page + 1..).next().map(|(s, r)| (*s, r))
    }

    /// The end of the last region that ends at or below `page`, if any.
    pub fn end_below(&self, page: u64) -> Option<u64> {
        self.map.range(..page).map(|(_, r)| r.end).rfind(|end| *end <= page)
    }

    /// Is every page of `[start, end)` free?
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        self.pieces(start, end).is_empty()
    }

    /// The regions overlapping `[start, end)`, clipped to it, in order.
    pub fn pieces(&self, start: u64, end: u64) -> Vec<Piece> {
        let mut pieces = Vec::new();
        if start >= end {
            return pieces;
        }
        let first = self.lookup(start).map_or(start, |(s, _)| s);
        for (s, region) in self.map.range(first..end) {
            let piece_start = (*s).max(start);
            let mut clipped = region.clipped_at(*s, piece_start);
            clipped.end = region.end.min(end);
            if piece_start < clipped.end {
                pieces.push(Piece { start: piece_start, region: clipped });
            }
        }
        pieces
    }

    /// The mapped stretches of `[start, end)`, adjacent regions merged:
    /// the ranges one `vm_deallocate` each can cover without a hole.
    pub fn mapped(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut stretches: Vec<(u64, u64)> = Vec::new();
        for piece in self.pieces(start, end) {
            match stretches.last_mut() {
                Some(last) if last.1 == piece.start => last.1 = piece.region.end,
                _ => stretches.push((piece.start, piece.region.end)),
            }
        }
        stretches
    }

    /// The unmapped stretches of `[start, end)`.
    pub fn holes(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut holes = Vec::new();
        let mut cursor = start;
        for (s, e) in self.mapped(start, end) {
            if s > cursor {
                holes.push((cursor, s));
            }
            cursor = e;
        }
        if cursor < end {
            holes.push((cursor, end));
        }
        holes
    }

    /// Makes `page` a region boundary (splits the region holding it).
    fn split(&mut self, page: u64) {
        let Some((start, region)) = self.lookup(page) else { return };
        if start == page {
            return;
        }
        let tail = region.clipped_at(start, page);
        if let Some(head) = self.map.get_mut(&start) {
            head.end = page;
        }
        self.map.insert(page, tail);
    }

    /// Removes every page of `[start, end)`.
    pub fn remove(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        self.split(start);
        self.split(end);
        let doomed: Vec<u64> = self.map.range(start..end).map(|(s, _)| *s).collect();
        for s in doomed {
            self.map.remove(&s);
        }
    }

    /// Adds a region at `start`. The caller guarantees the range is free.
    pub fn insert(&mut self, start: u64, region: Region) {
        debug_assert!(self.is_free(start, region.end), "regions: insert over a mapped range at page {start:#x}");
        if start < region.end {
            self.map.insert(start, region);
        }
    }

    /// Applies `change` to every region piece in `[start, end)`, splitting
    /// at the ends first.
    pub fn update(&mut self, start: u64, end: u64, mut change: impl FnMut(&mut Region)) {
        if start >= end {
            return;
        }
        self.split(start);
        self.split(end);
        for (_, region) in self.map.range_mut(start..end) {
            change(region);
        }
    }

    /// Forgets everything (exec).
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// The regions a forked child receives: all but those inherited as
    /// `none`.
    pub fn for_child(&self) -> Regions {
        let map = self.map.iter().filter(|(_, r)| r.inherit != Inheritance::None).map(|(s, r)| (*s, r.clone()));
        Regions { map: map.collect() }
    }

    /// Number of regions.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(end: u64) -> Region {
        Region::new(end, Prot::DEFAULT, Backing::Anonymous)
    }

    fn file(end: u64, offset: u64) -> Region {
        Region::new(end, Prot::READ, Backing::File { name: "f".into(), offset, shared: false })
    }

    fn spaces() -> Regions {
        let mut r = Regions::default();
        r.insert(10, anon(20));
        r.insert(20, file(30, 5));
        r.insert(40, anon(50));
        r
    }

    #[test]
    fn mapped_stretches_merge_neighbours_and_skip_holes() {
        let r = spaces();
        assert_eq!(r.mapped(0, 100), [(10, 30), (40, 50)]);
        assert_eq!(r.mapped(15, 45), [(15, 30), (40, 45)]);
        assert_eq!(r.holes(0, 100), [(0, 10), (30, 40), (50, 100)]);
        assert_eq!(r.holes(12, 28), []);
        assert!(r.is_free(30, 40));
        assert!(!r.is_free(29, 31));
    }

    #[test]
    fn pieces_carry_the_file_offset_of_their_first_page() {
        let r = spaces();
        let pieces = r.pieces(25, 45);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].start, 25);
        assert_eq!(pieces[0].region, file(30, 10));
        assert_eq!((pieces[1].start, pieces[1].region.end), (40, 45));
    }

    #[test]
    fn remove_and_update_clip_like_map_entries() {
        let mut r = spaces();
        r.remove(15, 25);
        assert_eq!(r.mapped(0, 100), [(10, 15), (25, 30), (40, 50)]);
        assert_eq!(r.lookup(27).map(|(s, reg)| (s, reg.clone())), Some((25, file(30, 10))));
        r.update(42, 44, |reg| reg.prot = Prot::READ);
        assert_eq!(r.len(), 5);
        assert_eq!(r.lookup(43).map(|(s, reg)| (s, reg.end, reg.prot)), Some((42, 44, Prot::READ)));
        assert_eq!(r.lookup(44).map(|(_, reg)| reg.prot), Some(Prot::DEFAULT));
    }

    #[test]
    fn neighbours() {
        let r = spaces();
        assert_eq!(r.next_above(31).map(|(s, _)| s), Some(40));
        assert_eq!(r.next_above(40).map(|(s, _)| s), None);
        assert_eq!(r.end_below(35), Some(30));
        assert_eq!(r.end_below(10), None);
        assert!(r.lookup(30).is_none());
    }

    #[test]
    fn children_do_not_get_regions_inherited_as_none() {
        let mut r = spaces();
        r.update(40, 50, |reg| reg.inherit = Inheritance::None);
        assert_eq!(r.for_child().mapped(0, 100), [(10, 30)]);
    }
}
