//! # Which pages a mapping can reach
//!
//! A resident page is *hidden* when no map entry can reach it: every entry
//! whose chain holds it has a page of its own in front of it, or it lies
//! outside every entry's window (docs/report.md). Counting them by walking
//! every entry's chain costs the whole world, and the report needs the
//! count every `sample_every` operations. So the world keeps the answer up
//! to date as it changes, here.
//!
//! An index of an object is a *column*: page `i` of an entry is column
//! `offset + i` of its object, and column `c` of an object that shadows
//! another at `offset` is column `c + offset` of the backing object. For
//! every object that is not a file the world keeps
//!
//! - `direct`: how many map entries' windows cover each column;
//! - `reached`: the columns at which some map entry reaches the object:
//!   those `direct` covers, and, for each object shadowing it, the columns
//!   at which that shadower is reached and has no page of its own (it
//!   *passes* them down), shifted by the shadower's offset;
//!
//! and every page keeps `reached`, how many of the slots holding it lie at
//! a reached column. A slot of a file always counts: file pages are the
//! page cache and are never hidden. A page none of whose slots is reached
//! is hidden, and the world counts those pages in `hidden_pages`.
//!
//! ```text
//!   entry ──▶ shadow     [a][ ][c][ ]    reached at 0 1 2 3, passes down 1 3
//!               │ offset 0
//!               ▼
//!             anonymous  [A][B][C][D]    reached at 1 3: B and D are seen,
//!                                        A and C are hidden behind a and c
//! ```
//!
//! What changes the bookkeeping, and how (the world's primitives call these
//! functions, and nothing else touches it):
//!
//! - an entry's window comes or goes: `direct` changes, and the columns
//!   that became reached ([`World::gain`]) or are reached no more
//!   ([`World::lose`]) are followed down the chain;
//! - a page enters or leaves a slot at a reached column: the column stops
//!   (or starts) passing down, which may change the object below, and so
//!   on down ([`World::close_column`], [`World::open_column`]);
//! - an object gets another shadow: what it passes down moves from the old
//!   backing object to the new one ([`World::reach_relinked`]).
//!
//! A column is followed down only while something changes: a level that an
//! entry or another shadower reaches anyway, or that has a page at the
//! column, ends it. So a fault costs at most the depth of its chain, and an
//! unmap or an exit costs the columns that really stop being reached.
//!
//! Invariants, checked after every operation against a fresh computation
//! (`check.rs`): `direct` is the coverage of the entries' windows;
//! `reached` follows the definition above; each page's `reached` counts its
//! reached slots; `hidden_pages` counts the pages with none, and equals
//! what the walk of every entry's chain finds (`measure.rs`).

use std::ops::Range;

use crate::columns::{Columns, Coverage};
use crate::ids::{ObjectId, PageId, Pindex};
use crate::page::Pages;
use crate::world::World;

/// What map entries reach of one object (see the module docs). Both sets
/// stay empty for a file.
#[derive(Clone, Debug, Default)]
pub struct Reach {
    /// The windows of the map entries that point at the object.
    pub direct: Coverage,
    /// The columns at which some map entry reaches the object.
    pub reached: Columns,
}

/// Sorted, disjoint column ranges.
type Ranges = Vec<Range<u64>>;

/// Appends `range` to sorted ranges, merging it with the last if they touch.
fn push_range(ranges: &mut Ranges, range: Range<u64>) {
    if range.is_empty() {
        return;
    }
    match ranges.last_mut() {
        Some(last) if last.end >= range.start => last.end = last.end.max(range.end),
        _ => ranges.push(range),
    }
}

/// The same ranges `by` columns higher (a shadow link's offset); a range
/// that would pass the last column is cut there.
fn shifted(ranges: Ranges, by: Pindex) -> Ranges {
    ranges
        .into_iter()
        .filter_map(|r| {
            let start = r.start.checked_add(by.0)?;
            Some(start..r.end.saturating_add(by.0))
        })
        .collect()
}

/// The parts of `ranges` not in `set`.
fn minus(ranges: &[Range<u64>], set: &Columns) -> Ranges {
    let mut left = Ranges::new();
    for r in ranges {
        let mut cursor = r.start;
        for part in set.within(r.clone()) {
            push_range(&mut left, cursor..part.start);
            cursor = part.end;
        }
        push_range(&mut left, cursor..r.end);
    }
    left
}

/// The parts of `ranges` in `set`.
fn within(ranges: &[Range<u64>], set: &Columns) -> Ranges {
    let mut kept = Ranges::new();
    for r in ranges {
        for part in set.within(r.clone()) {
            push_range(&mut kept, part);
        }
    }
    kept
}

/// One more or one fewer reached slot holds `page`; keeps the count of
/// hidden pages (held, and by no reached slot) in step.
fn count_reached_slot(pages: &mut Pages, hidden: &mut u64, page: PageId, reached: bool) {
    let p = pages.get_mut(page);
    let was_hidden = p.reached == 0;
    if reached {
        p.reached += 1;
    } else {
        p.reached -= 1;
    }
    match (was_hidden, p.reached == 0) {
        (true, false) => *hidden -= 1,
        (false, true) => *hidden += 1,
        _ => {}
    }
}

impl World {
    /// Hidden pages now: resident pages no map entry can reach.
    pub fn hidden_pages(&self) -> u64 {
        self.hidden_pages
    }

    /// Is `object[index]` a slot some map entry reaches (a file's always)?
    pub(crate) fn slot_reached(&self, object: ObjectId, index: Pindex) -> bool {
        let o = self.object(object);
        o.is_file() || o.reach.reached.contains(index.0)
    }

    /// One more slot, reached or not, holds `page`.
    pub(crate) fn count_slot_added(&mut self, page: PageId, reached: bool) {
        let p = self.pages.get_mut(page);
        let was_hidden = p.refs > 0 && p.reached == 0;
        p.refs += 1;
        if reached {
            p.reached += 1;
        }
        let is_hidden = p.reached == 0;
        match (was_hidden, is_hidden) {
            (true, false) => self.hidden_pages -= 1,
            (false, true) => self.hidden_pages += 1,
            _ => {}
        }
    }

    /// One slot fewer holds `page`; returns whether none is left (the
    /// caller frees it).
    pub(crate) fn count_slot_removed(&mut self, page: PageId, reached: bool) -> bool {
        let p = self.pages.get_mut(page);
        let was_hidden = p.reached == 0;
        p.refs -= 1;
        if reached {
            p.reached -= 1;
        }
        let is_hidden = p.refs > 0 && p.reached == 0;
        match (was_hidden, is_hidden) {
            (true, false) => self.hidden_pages -= 1,
            (false, true) => self.hidden_pages += 1,
            _ => {}
        }
        p.refs == 0
    }

    // ----- entries' windows -----

    /// A map entry now maps `window` of `object`.
    pub(crate) fn reach_window_added(&mut self, object: ObjectId, window: Range<u64>) {
        if self.object(object).is_file() {
            return;
        }
        let o = self.objects.get_mut(object);
        o.reach.direct.add(window.clone());
        let newly = minus(&[window], &o.reach.reached);
        self.gain(object, newly);
    }

    /// A map entry no longer maps `window` of `object`.
    pub(crate) fn reach_window_removed(&mut self, object: ObjectId, window: Range<u64>) {
        if self.object(object).is_file() {
            return;
        }
        let uncovered = self.objects.get_mut(object).reach.direct.remove(window);
        let lost = self.not_reached_otherwise(object, uncovered);
        self.lose(object, lost);
    }

    // ----- page slots -----

    /// `object` now holds a page at `index`, a column where it is reached:
    /// the column no longer passes down, so the objects below may stop
    /// being reached there, one after the other, until a level something
    /// else reaches or a level with a page.
    pub(crate) fn close_column(&mut self, object: ObjectId, index: Pindex) {
        if let Some((below, at)) = self.column_below(object, index.0)
            && self.object(below).reach.reached.contains(at)
            && !self.reached_otherwise(below, at)
        {
            self.lose_column(below, at);
        }
    }

    /// `object` no longer holds a page at `index`, a column where it is
    /// reached: the column passes down again, and the objects below are
    /// reached there, down to the first that was already or has a page.
    pub(crate) fn open_column(&mut self, object: ObjectId, index: Pindex) {
        if let Some((below, at)) = self.column_below(object, index.0)
            && !self.object(below).reach.reached.contains(at)
        {
            self.gain_column(below, at);
        }
    }

    /// Where `column` of `object` falls in the object below it, if that is
    /// not a file.
    fn column_below(&self, object: ObjectId, column: u64) -> Option<(ObjectId, u64)> {
        let (below, offset) = self.object(object).shadow?;
        let at = column.checked_add(offset.0)?;
        (!self.object(below).is_file()).then_some((below, at))
    }

    /// One column of [`World::lose`], followed down without allocating:
    /// `column` of `object`, reached until now, is reached by nothing any
    /// more.
    fn lose_column(&mut self, object: ObjectId, column: u64) {
        let (mut id, mut column) = (object, column);
        loop {
            let o = self.objects.get_mut(id);
            o.reach.reached.remove_one(column);
            if let Some(page) = o.page(Pindex(column)) {
                count_reached_slot(&mut self.pages, &mut self.hidden_pages, page, false);
                return;
            }
            match self.column_below(id, column) {
                Some((below, at))
                    if self.object(below).reach.reached.contains(at) && !self.reached_otherwise(below, at) =>
                {
                    (id, column) = (below, at);
                }
                _ => return,
            }
        }
    }

    /// One column of [`World::gain`], followed down without allocating:
    /// `column` of `object`, not reached until now, is reached.
    fn gain_column(&mut self, object: ObjectId, column: u64) {
        let (mut id, mut column) = (object, column);
        loop {
            let o = self.objects.get_mut(id);
            o.reach.reached.insert_one(column);
            if let Some(page) = o.page(Pindex(column)) {
                count_reached_slot(&mut self.pages, &mut self.hidden_pages, page, true);
                return;
            }
            match self.column_below(id, column) {
                Some((below, at)) if !self.object(below).reach.reached.contains(at) => (id, column) = (below, at),
                _ => return,
            }
        }
    }

    // ----- shadow links -----

    /// `object`'s shadow changed from `old` to `new` (pointers and
    /// shadower lists already updated): what it passes down now reaches the
    /// new backing object instead of the old one. The new link is followed
    /// first, so that columns both chains share are never lost on the way.
    pub(crate) fn reach_relinked(
        &mut self,
        object: ObjectId,
        old: Option<(ObjectId, Pindex)>,
        new: Option<(ObjectId, Pindex)>,
    ) {
        let tracked = |link: Option<(ObjectId, Pindex)>| link.filter(|(b, _)| !self.object(*b).is_file());
        let (old, new) = (tracked(old), tracked(new));
        if (old.is_none() && new.is_none()) || self.object(object).reach.reached.is_empty() {
            return;
        }
        let passed = self.passed_down(object);
        if let Some((below, offset)) = new {
            let newly = minus(&shifted(passed.clone(), offset), &self.object(below).reach.reached);
            self.gain(below, newly);
        }
        if let Some((below, offset)) = old {
            let lost = self.not_reached_otherwise(below, shifted(passed, offset));
            self.lose(below, lost);
        }
    }

    /// The columns `object` passes down: reached, and no page of its own.
    fn passed_down(&self, object: ObjectId) -> Ranges {
        let o = self.object(object);
        let mut passed = Ranges::new();
        for r in o.reach.reached.iter() {
            let mut cursor = r.start;
            for (index, _) in o.pages.range(Pindex(r.start)..Pindex(r.end)) {
                push_range(&mut passed, cursor..index.0);
                cursor = index.0 + 1;
            }
            push_range(&mut passed, cursor..r.end);
        }
        passed
    }

    // ----- the two moves -----

    /// `columns` of `object` (none of them reached yet) are reached now:
    /// the pages there gain a reached slot, and the columns it passes down
    /// are followed into the object below, as far as they change anything.
    fn gain(&mut self, object: ObjectId, columns: Ranges) {
        let mut work = vec![(object, columns)];
        while let Some((id, columns)) = work.pop() {
            if let [only] = &columns[..]
                && only.end - only.start == 1
            {
                self.gain_column(id, only.start);
                continue;
            }
            if columns.is_empty() {
                continue;
            }
            let World { objects, pages, hidden_pages, .. } = self;
            let o = objects.get_mut(id);
            let mut passed = Ranges::new();
            for r in &columns {
                o.reach.reached.insert(r.clone());
                let mut cursor = r.start;
                for (index, page) in o.pages.range(Pindex(r.start)..Pindex(r.end)) {
                    count_reached_slot(pages, hidden_pages, page, true);
                    push_range(&mut passed, cursor..index.0);
                    cursor = index.0 + 1;
                }
                push_range(&mut passed, cursor..r.end);
            }
            let Some((below, offset)) = o.shadow else { continue };
            let b = objects.get(below);
            if b.is_file() {
                continue;
            }
            let newly = minus(&shifted(passed, offset), &b.reach.reached);
            work.push((below, newly));
        }
    }

    /// `columns` of `object` (all reached, and by nothing any more) are not
    /// reached now: the pages there lose a reached slot, and the columns it
    /// passed down are followed into the object below, as far as nothing
    /// else reaches them there.
    fn lose(&mut self, object: ObjectId, columns: Ranges) {
        let mut work = vec![(object, columns)];
        while let Some((id, columns)) = work.pop() {
            if let [only] = &columns[..]
                && only.end - only.start == 1
            {
                self.lose_column(id, only.start);
                continue;
            }
            if columns.is_empty() {
                continue;
            }
            let World { objects, pages, hidden_pages, .. } = self;
            let o = objects.get_mut(id);
            let mut passed = Ranges::new();
            for r in &columns {
                o.reach.reached.remove(r.clone());
                let mut cursor = r.start;
                for (index, page) in o.pages.range(Pindex(r.start)..Pindex(r.end)) {
                    count_reached_slot(pages, hidden_pages, page, false);
                    push_range(&mut passed, cursor..index.0);
                    cursor = index.0 + 1;
                }
                push_range(&mut passed, cursor..r.end);
            }
            let Some((below, offset)) = o.shadow else { continue };
            if objects.get(below).is_file() {
                continue;
            }
            let lost = self.not_reached_otherwise(below, shifted(passed, offset));
            work.push((below, lost));
        }
    }

    // ----- sources -----

    /// The columns of `candidates` at which `object` is reached now but by
    /// nothing any more: no entry's window, no shadower passing them down.
    /// Shadowers are asked newest first: a shadow just made in front of the
    /// object passes everything down and settles the question at once.
    fn not_reached_otherwise(&self, object: ObjectId, candidates: Ranges) -> Ranges {
        let o = self.object(object);
        let mut left = within(&candidates, &o.reach.reached);
        if !left.is_empty() && !o.reach.direct.is_empty() {
            let mut uncovered = Ranges::new();
            for r in &left {
                let mut cursor = r.start;
                for part in o.reach.direct.covered_within(r.clone()) {
                    push_range(&mut uncovered, cursor..part.start);
                    cursor = part.end;
                }
                push_range(&mut uncovered, cursor..r.end);
            }
            left = uncovered;
        }
        for &shadower in o.shadowers.iter().rev() {
            if left.is_empty() {
                break;
            }
            left = self.not_passed_by(shadower, left);
        }
        left
    }

    /// The columns of `candidates` (in its backing object's columns) that
    /// `shadower` does not pass down: outside what it reaches, or where it
    /// has a page.
    fn not_passed_by(&self, shadower: ObjectId, candidates: Ranges) -> Ranges {
        let s = self.object(shadower);
        let Some((_, offset)) = s.shadow else { return candidates };
        let mut left = Ranges::new();
        for r in candidates {
            // Columns below the shadower's offset are none of its business.
            push_range(&mut left, r.start..r.end.min(offset.0));
            if r.end <= offset.0 {
                continue;
            }
            let own = (r.start.max(offset.0) - offset.0)..(r.end - offset.0);
            let mut cursor = own.start;
            for part in s.reach.reached.within(own.clone()) {
                push_range(&mut left, cursor + offset.0..part.start + offset.0);
                for (index, _) in s.pages.range(Pindex(part.start)..Pindex(part.end)) {
                    push_range(&mut left, index.0 + offset.0..index.0 + offset.0 + 1);
                }
                cursor = part.end;
            }
            push_range(&mut left, cursor + offset.0..own.end + offset.0);
        }
        left
    }

    /// Is column `at` of `object` reached by an entry's window or by a
    /// shadower that passes it down? (The one-column case of
    /// [`World::not_reached_otherwise`], without allocating.)
    fn reached_otherwise(&self, object: ObjectId, at: u64) -> bool {
        let o = self.object(object);
        o.reach.direct.count(at) > 0
            || o.shadowers.iter().rev().any(|&shadower| {
                let s = self.object(shadower);
                let Some((_, offset)) = s.shadow else { return false };
                at.checked_sub(offset.0).is_some_and(|q| s.reach.reached.contains(q) && s.page(Pindex(q)).is_none())
            })
    }
}
