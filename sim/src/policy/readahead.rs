//! Linux's page cache as a real capture saw it, and the readahead that
//! fills it: what `linux`'s fault-around may map when the trace says what
//! the page cache held (the `page_cache` op) instead of assuming it empty
//! (`--page-cache cold`) or full (`warm`).
//!
//! # Why fault-around needs this
//!
//! A read fault on a file mapping makes Linux map the faulting page's
//! neighbours too, but only those that are *ready*: in the page cache, up
//! to date, not locked, inside the file, and not carrying the readahead
//! mark (`filemap_map_pages` → `next_uptodate_folio` in `mm/filemap.c`
//! skips a folio with `PG_readahead`, so the fault on it comes, and starts
//! the next readahead). So which neighbours Linux maps depends on which
//! pages were cached before the program ran and on where readahead left
//! its marks since. A capture can record the first (the `page_cache` op:
//! a snapshot with `mincore(2)` taken before the program first touched the
//! file); the marks it cannot see, so this module makes them the way Linux
//! makes them, from the reads and faults the trace holds.
//!
//! # What Linux does, and what is modelled
//!
//! Every read of the page cache, by `read(2)` (`filemap_get_pages`) or by a
//! page fault (`filemap_fault`), looks its page up first:
//!
//! ```text
//!                       the page is ...
//!          not cached                       cached, marked            cached
//!              |                                  |                      |
//!   synchronous readahead              asynchronous readahead         nothing
//!   read(2): page_cache_sync_ra        page_cache_async_ra: clear
//!     first page, or sequential:       the mark; the window that
//!       a new window from here,        follows the last one, grown
//!       get_init_ra_size               (get_next_ra_size), marked at
//!     else, with cached history        its first page
//!       behind it: that much again
//!     else: only the pages asked for
//!   fault: read-around, a window of
//!     ra_pages centred on the page
//!     (do_sync_mmap_readahead); in
//!     an executable mapping, forward
//!     to its end, unmarked (6.16+)
//! ```
//!
//! A window of `size` pages from `start` reads the pages of it that are not
//! cached (up to the end of the file) and marks the folio at `start + size
//! - async_size` if it was read now and lies inside the file: when the
//! program reaches the mark, the next window is read before it is needed.
//! `ra_pages` is the device's `read_ahead_kb` in pages (the `read_ahead`
//! of `page_cache`). On a file system with large folios each window pushed
//! on is read in folios four times larger than the last (`ra->order += 2`,
//! up to the file's largest folio), which fault-around maps whole
//! (`pagetable.rs`); a folio that would overlap a cached page ends that,
//! and the rest of the window is read page by page. Each fault that reads,
//! or reaches a mark, is retried by Linux after the I/O, which runs
//! fault-around again (`FaultReadahead::retried`). Sources:
//! `mm/readahead.c` (`page_cache_sync_ra`, `page_cache_async_ra`,
//! `get_init_ra_size`, `get_next_ra_size`, `page_cache_ra_order`,
//! `ra_alloc_folio`, `page_cache_ra_unbounded`, `do_page_cache_ra`) and
//! `mm/filemap.c` (`filemap_fault`, `do_sync_mmap_readahead`,
//! `do_async_mmap_readahead`, `filemap_map_pages`,
//! `filemap_map_folio_range`).
//!
//! Simplified, and said in docs/fidelity.md: a forked child gets a copy of
//! its parent's readahead state (Linux shares the open file); no
//! `mmap_miss` (Linux stops reading around in a file that misses much
//! more than it hits), no `MADV_SEQUENTIAL`/`MADV_RANDOM`; I/O completes at
//! once, so a page read is up to date for the next fault; nothing is
//! evicted but what a later `page_cache` says. Files the trace says nothing
//! about keep the `--page-cache` setting.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::columns::Columns;
use crate::ids::{ObjectId, Pindex, TaskId};

/// Whose open file a read or fault goes through: Linux keeps the readahead
/// state in the open file (`struct file`'s `f_ra`), which a process opens
/// for itself and a forked child shares. Here one state per task (a child
/// starts with a copy of its parent's; an exec or exit drops them), and
/// one for reads that name no task.
pub type Reader = Option<TaskId>;

/// The page cache of the files a trace described, and their readahead.
#[derive(Clone, Debug, Default)]
pub struct PageCacheModel {
    files: BTreeMap<ObjectId, FileCache>,
}

/// What a capture said of a file, besides its cached pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileShape {
    /// Pages in the file: no page at or past it is read or mapped.
    pub end: u64,
    /// The largest readahead window, in pages (`ra_pages`).
    pub max_pages: u64,
    /// The largest folio the file's page cache may hold, in pages (a power
    /// of two): 1 where the file system has no large folios.
    pub largest_folio: u64,
}

/// One file's page cache, shared by every reader, and each reader's
/// readahead state.
#[derive(Clone, Debug)]
struct FileCache {
    shape: FileShape,
    /// Kept as runs: a capture may describe a file of terabytes, cached
    /// whole, and a window may be a gigabyte.
    cached: Columns,
    /// The folios of more than one page readahead made: first page → pages.
    /// Every other cached page is a folio of its own.
    folios: BTreeMap<u64, u64>,
    /// The first pages of the folios carrying `PG_readahead`.
    marked: BTreeSet<u64>,
    readers: BTreeMap<Reader, ReadState>,
}

/// One open file's readahead state (`file_ra_state`).
#[derive(Clone, Copy, Debug, Default)]
struct ReadState {
    /// The last window read.
    window: Window,
    /// The page holding the end of the last `read(2)` (`prev_pos`), none
    /// before the first.
    last_read: Option<u64>,
}

/// `file_ra_state`'s window: `start`, `size`, `async_size`, and the folio
/// order readahead asks for (`order`, which grows by two each time the
/// window is pushed on).
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    start: u64,
    size: u64,
    async_size: u64,
    order: u32,
}

/// What a fault's own page lookup did (`PageCacheModel::fault`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultReadahead {
    pub read: Option<ReadAhead>,
    /// Linux retries the fault from the top (a readahead dropped the lock).
    pub retried: bool,
}

/// Pages readahead brought into one file's page cache at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadAhead {
    pub file: ObjectId,
    /// The window: its pages that were not cached are read now.
    pub start: Pindex,
    pub pages: u64,
    /// The first page of the folio that took the readahead mark, if one did.
    pub marked: Option<Pindex>,
}

impl PageCacheModel {
    /// What a capture saw of `file` before the program touched it: its
    /// shape, and `cached` (runs of first page and count) in the page
    /// cache, each a folio of one page (the capture cannot see folios).
    /// Pages `already` holds (the run's own, from before) count as cached
    /// too.
    ///
    /// For a file described before, what the capture saw later (at an
    /// exec): exactly `cached` is in the page cache now, whatever readahead
    /// brought in meanwhile (the machine may have evicted pages); the
    /// folios and marks of the pages still cached, and every reader's
    /// window, stay.
    pub fn learn(&mut self, file: ObjectId, shape: FileShape, cached: &[(u64, u64)], already: &[Pindex]) {
        let mut pages = Columns::default();
        for &(first, count) in cached {
            pages.insert(first..first.saturating_add(count));
        }
        if let Some(f) = self.files.get_mut(&file) {
            f.folios.retain(|first, count| pages.contains_all(*first..*first + *count));
            f.marked.retain(|first| pages.contains(*first));
            f.shape = shape;
            f.cached = pages;
            return;
        }
        for page in already {
            pages.insert_one(page.0);
        }
        let state = FileCache {
            shape,
            cached: pages,
            folios: BTreeMap::new(),
            marked: BTreeSet::new(),
            readers: BTreeMap::new(),
        };
        self.files.insert(file, state);
    }

    /// A fork: the child shares its parent's open files, so it reads on
    /// from where the parent's readahead stands.
    pub fn fork(&mut self, parent: TaskId, child: TaskId) {
        for f in self.files.values_mut() {
            if let Some(state) = f.readers.get(&Some(parent)).copied() {
                f.readers.insert(Some(child), state);
            }
        }
    }

    /// An exec or exit: the task's open files are closed.
    pub fn forget(&mut self, task: TaskId) {
        for f in self.files.values_mut() {
            f.readers.remove(&Some(task));
        }
    }

    /// Would `filemap_map_pages` map page `index` of `file` now? `None`
    /// when the trace never described the file.
    pub fn ready_to_map(&self, file: ObjectId, index: Pindex) -> Option<bool> {
        let f = self.files.get(&file)?;
        Some(f.ready(index.0))
    }

    /// The pages of the folio holding page `index` of `file`, when it is a
    /// large one: fault-around maps such a folio whole when it fits the
    /// mapping and one page table. `None` for a folio of one page or an
    /// undescribed file.
    pub fn large_folio(&self, file: ObjectId, index: Pindex) -> Option<Range<u64>> {
        let folio = self.files.get(&file)?.folio(index.0);
        (folio.end - folio.start > 1).then_some(folio)
    }

    /// `filemap_fault` on page `index` of `file`, after fault-around: a
    /// miss reads around the page, a marked folio starts the next window.
    /// The page is cached afterwards. What was read, if anything, and
    /// whether the fault is retried: both paths drop the mmap lock for
    /// their I/O (`maybe_unlock_mmap_for_io`) and return `VM_FAULT_RETRY`,
    /// even when the window lies past the end of the file.
    ///
    /// `executable` is the file pages of the mapping when it may be
    /// executed: since Linux 6.16 a miss there reads forward from the page
    /// to the mapping's end, `ra_pages` at most, with no mark ("executable
    /// memory rarely benefits from readahead"; `exec_folio_order` is 0 on
    /// x86).
    pub fn fault(
        &mut self,
        file: ObjectId,
        index: Pindex,
        executable: Option<Range<u64>>,
        reader: Reader,
    ) -> FaultReadahead {
        let Some(f) = self.files.get_mut(&file) else { return FaultReadahead::default() };
        let mut state = f.readers.remove(&reader).unwrap_or_default();
        let index = index.0;
        let max = f.shape.max_pages;
        let retried = !f.cached.contains(index) || f.is_marked(index);
        let read = if !f.cached.contains(index) {
            state.window = match executable {
                Some(mapping) => {
                    let end = (index + max).min(mapping.end);
                    Window { start: index, size: end.saturating_sub(index), async_size: 0, order: 0 }
                }
                None => Window { start: index.saturating_sub(max / 2), size: max, async_size: max / 4, order: 0 },
            };
            f.read_window(file, &mut state)
        } else if f.is_marked(index) {
            f.async_readahead(file, &mut state, index, max)
        } else {
            None
        };
        // Without readahead (`ra_pages` 0, or past the end of the file)
        // the fault still reads its own page.
        f.cached.insert_one(index);
        f.readers.insert(reader, state);
        FaultReadahead { read, retried }
    }

    /// `read(2)` of `pages` of `file` (`filemap_read`): each page not cached
    /// starts a synchronous readahead, each marked folio an asynchronous one.
    pub fn read(&mut self, file: ObjectId, pages: Range<u64>, reader: Reader) -> Vec<ReadAhead> {
        let Some(f) = self.files.get_mut(&file) else { return Vec::new() };
        let mut state = f.readers.remove(&reader).unwrap_or_default();
        let mut done = Vec::new();
        let last = pages.end.min(f.shape.end);
        let mut index = pages.start;
        while index < last {
            let wanted = last - index;
            let read = if !f.cached.contains(index) {
                f.sync_readahead(file, &mut state, index, wanted)
            } else if f.is_marked(index) {
                f.async_readahead(file, &mut state, index, wanted)
            } else {
                None
            };
            done.extend(read);
            f.cached.insert_one(index);
            index = f.next_page_to_look_at(index + 1, last);
        }
        if pages.end > pages.start {
            state.last_read = Some(pages.end - 1);
        }
        f.readers.insert(reader, state);
        done
    }
}

impl FileCache {
    /// The pages of the folio holding `index`.
    fn folio(&self, index: u64) -> Range<u64> {
        match self.folios.range(..=index).next_back() {
            Some((&first, &pages)) if index < first + pages => first..first + pages,
            _ => index..index + 1,
        }
    }

    /// Where a read that has dealt with every page before `from` looks
    /// next: `from` itself if it is missing or in a marked folio, else the
    /// first page after `from` that is missing or starts a marked folio
    /// (the pages between are cached and unmarked, so a read passes them
    /// by), `last` at most. A gigabyte read of a cached file costs a few
    /// tree searches, not one per page.
    fn next_page_to_look_at(&self, from: u64, last: u64) -> u64 {
        if from >= last || self.is_marked(from) {
            return from.min(last);
        }
        let Some(cached) = self.cached.run_containing(from) else { return from };
        let next_mark = self.marked.range(from + 1..).next().copied().unwrap_or(u64::MAX);
        cached.end.min(next_mark).min(last)
    }

    fn is_marked(&self, index: u64) -> bool {
        self.marked.contains(&self.folio(index).start)
    }

    fn ready(&self, index: u64) -> bool {
        index < self.shape.end && self.cached.contains(index) && !self.is_marked(index)
    }

    /// `page_cache_sync_ra`: a read(2) missed at `index`, wanting `wanted`
    /// pages from there.
    fn sync_readahead(&mut self, file: ObjectId, state: &mut ReadState, index: u64, wanted: u64) -> Option<ReadAhead> {
        let max = self.shape.max_pages;
        let sequential = state.last_read.is_some_and(|last| index.wrapping_sub(last) <= 1);
        if index == 0 || wanted > max || sequential {
            let size = initial_window(wanted, max);
            let async_size = if size > wanted { size - wanted } else { size / 2 };
            state.window = Window { start: index, size, async_size, order: 0 };
            return self.read_window(file, state);
        }
        // How many pages just before `index` are cached: the trace a
        // sequential reader would have left.
        let history = match index.checked_sub(1).and_then(|before| self.cached.run_containing(before)) {
            Some(run) => (index - run.start).min(max),
            None => 0,
        };
        if history <= wanted {
            // A small random read: only what was asked, no mark.
            return self.read_pages(file, index, wanted, 0);
        }
        // Cached all the way from the file's start: a long stream.
        let history = if history == index { history * 2 } else { history };
        state.window = Window { start: index, size: (history + wanted).min(max), async_size: 1, order: 0 };
        self.read_window(file, state)
    }

    /// `page_cache_async_ra`: a read or fault reached page `index` of a
    /// marked folio. The mark goes; the next window is read, marked at its
    /// start, in folios four times larger than the last.
    fn async_readahead(&mut self, file: ObjectId, state: &mut ReadState, index: u64, wanted: u64) -> Option<ReadAhead> {
        let folio = self.folio(index);
        self.marked.remove(&folio.start);
        let max = self.shape.max_pages;
        let w = state.window;
        let expected = round_down(w.start + w.size - w.async_size, folio.end - folio.start);
        let order = w.order + 2;
        if index == expected {
            let size = next_window(w.size, max);
            state.window = Window { start: w.start + w.size, size, async_size: size, order };
            return self.read_window(file, state);
        }
        // A mark without the window that made it (another reader's): start
        // after the cached run that follows.
        let after = index + 1;
        let start = self.cached.run_containing(after).map_or(after, |run| run.end);
        if start >= after + max {
            return None;
        }
        let size = next_window(start - index + wanted, max);
        state.window = Window { start, size, async_size: size, order };
        self.read_window(file, state)
    }

    /// `page_cache_ra_order`: reads the window's pages that are not cached,
    /// up to the end of the file, in folios of the window's order (smaller
    /// where the start is not aligned or the end is near), and marks the
    /// folio at `start + size - async_size`. Where a folio would overlap a
    /// cached page, the rest is read page by page (`do_page_cache_ra`).
    /// A file system without large folios reads page by page throughout.
    fn read_window(&mut self, file: ObjectId, state: &mut ReadState) -> Option<ReadAhead> {
        let w = state.window;
        if w.start >= self.shape.end || w.size == 0 {
            return None;
        }
        let largest_order = self.shape.largest_folio.max(1).ilog2();
        if largest_order == 0 {
            state.window.order = 0;
            return self.read_pages(file, w.start, w.size, w.async_size);
        }
        let order = w.order.min(largest_order).min(w.size.ilog2());
        state.window.order = order;
        let limit = (self.shape.end - 1).min(w.start + w.size - 1);
        let mark = w.start + w.size - w.async_size;
        let mut marked = None;
        let mut index = w.start;
        while index <= limit {
            let mut folio_order = order.min(index.trailing_zeros());
            while folio_order > 0 && index + (1 << folio_order) - 1 > limit {
                folio_order -= 1;
            }
            let pages = 1u64 << folio_order;
            if self.cached.within(index..index + pages).next().is_some() {
                // `filemap_add_folio` refused: the rest page by page.
                let rest = self.read_pages(file, index, w.size - (index - w.start), w.async_size);
                marked = marked.or(rest.and_then(|r| r.marked));
                break;
            }
            self.cached.insert(index..index + pages);
            if pages > 1 {
                self.folios.insert(index, pages);
            }
            if w.async_size > 0 && index == round_down(mark, pages) {
                self.marked.insert(index);
                marked = Some(Pindex(index));
            }
            index += pages;
        }
        Some(ReadAhead { file, start: Pindex(w.start), pages: limit + 1 - w.start, marked })
    }

    /// `do_page_cache_ra`: `count` pages from `start`, cut at the end of the
    /// file, page by page, skipping cached ones; the page `lookahead`
    /// before the (cut) end is marked if it is read now.
    fn read_pages(&mut self, file: ObjectId, start: u64, count: u64, lookahead: u64) -> Option<ReadAhead> {
        if start >= self.shape.end || count == 0 {
            return None;
        }
        let count = count.min(self.shape.end - start);
        let mark = (lookahead > 0 && lookahead <= count).then(|| start + count - lookahead);
        let marked = mark.filter(|page| !self.cached.contains(*page));
        if let Some(page) = marked {
            self.marked.insert(page);
        }
        self.cached.insert(start..start + count);
        let marked = marked.map(Pindex);
        Some(ReadAhead { file, start: Pindex(start), pages: count, marked })
    }
}

fn round_down(value: u64, to: u64) -> u64 {
    value - value % to.max(1)
}

/// `get_init_ra_size`: the first window for a read of `wanted` pages.
fn initial_window(wanted: u64, max: u64) -> u64 {
    let size = wanted.max(1).next_power_of_two();
    if size <= max / 32 {
        size * 4
    } else if size <= max / 4 {
        size * 2
    } else {
        max
    }
}

/// `get_next_ra_size`: the window after one of `size` pages.
fn next_window(size: u64, max: u64) -> u64 {
    if size < max / 16 {
        4 * size
    } else if size <= max / 2 {
        2 * size
    } else {
        max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: ObjectId = ObjectId { slot: 7, serial: 1 };

    /// A file on a file system with large folios up to 2 MiB (ext4 since
    /// Linux 6.16).
    fn model(end: u64, cached: &[(u64, u64)], max: u64) -> PageCacheModel {
        shaped(end, cached, max, 512)
    }

    fn shaped(end: u64, cached: &[(u64, u64)], max: u64, largest_folio: u64) -> PageCacheModel {
        let mut m = PageCacheModel::default();
        m.learn(FILE, FileShape { end, max_pages: max, largest_folio }, cached, &[]);
        m
    }

    fn ready(m: &PageCacheModel, index: u64) -> bool {
        m.ready_to_map(FILE, Pindex(index)).expect("a known file")
    }

    /// A loader's read of a cold file's first page (an ELF header) reads
    /// four pages and marks the second: the fault-around of the first
    /// page's fault skips it, and the fault that comes on it reads on.
    #[test]
    fn a_first_small_read_marks_the_second_page() {
        let mut m = model(100, &[], 2048);
        let read = m.read(FILE, 0..1, None);
        assert_eq!(read, vec![ReadAhead { file: FILE, start: Pindex(0), pages: 4, marked: Some(Pindex(1)) }]);
        assert!(ready(&m, 0) && ready(&m, 2) && ready(&m, 3));
        assert!(!ready(&m, 1), "marked");
        assert!(!ready(&m, 4), "not read");
        // The fault on the mark: the next window is 4 × 4 pages from page 4,
        // marked at its start.
        let next = m.fault(FILE, Pindex(1), None, None).read;
        assert_eq!(next, Some(ReadAhead { file: FILE, start: Pindex(4), pages: 16, marked: Some(Pindex(4)) }));
        assert!(ready(&m, 1) && ready(&m, 19) && !ready(&m, 4) && !ready(&m, 20));
    }

    /// A fault that misses reads a window of `ra_pages` around itself,
    /// marked a quarter before its end, cut at the end of the file.
    #[test]
    fn a_fault_that_misses_reads_around() {
        let mut m = model(1000, &[], 32);
        let read = m.fault(FILE, Pindex(100), None, None).read.expect("read");
        assert_eq!(read, ReadAhead { file: FILE, start: Pindex(84), pages: 32, marked: Some(Pindex(108)) });
        assert!(!ready(&m, 83) && ready(&m, 84) && ready(&m, 115) && !ready(&m, 116) && !ready(&m, 108));
        let mut short = model(10, &[], 32);
        let read = short.fault(FILE, Pindex(3), None, None).read.expect("read");
        assert_eq!((read.start, read.pages, read.marked), (Pindex(0), 10, None));
        assert!(ready(&short, 9) && !ready(&short, 10));
    }

    /// In an executable mapping a miss reads forward to the mapping's end,
    /// with no mark, so the pages before it stay out.
    #[test]
    fn an_executable_miss_reads_forward_only() {
        let mut m = model(100, &[], 2048);
        let read = m.fault(FILE, Pindex(13), Some(4..29), None).read.expect("read");
        assert_eq!(read, ReadAhead { file: FILE, start: Pindex(13), pages: 16, marked: None });
        assert!(!ready(&m, 12) && ready(&m, 13) && ready(&m, 28) && !ready(&m, 29));
        let mut small = model(100, &[], 8);
        assert_eq!(small.fault(FILE, Pindex(13), Some(4..29), None).read.map(|r| r.pages), Some(8));
    }

    /// Each window pushed on is read in folios four times larger, marked
    /// as a whole; fault-around is told the folio so it can map it whole.
    #[test]
    fn folios_grow_as_the_window_moves_on() {
        let mut m = model(1000, &[], 32);
        assert_eq!(m.fault(FILE, Pindex(0), None, None).read.and_then(|r| r.marked), Some(Pindex(24)));
        assert_eq!(m.large_folio(FILE, Pindex(5)), None, "the first window is read page by page");
        let next = m.fault(FILE, Pindex(24), None, None).read.expect("the mark reads on");
        assert_eq!((next.start, next.pages, next.marked), (Pindex(32), 32, Some(Pindex(32))));
        assert_eq!(m.large_folio(FILE, Pindex(33)), Some(32..36));
        assert!(!ready(&m, 35) && ready(&m, 36), "the marked folio is skipped whole");
        let next = m.fault(FILE, Pindex(32), None, None).read.expect("the mark reads on");
        assert_eq!((next.start, next.marked), (Pindex(64), Some(Pindex(64))));
        assert_eq!(m.large_folio(FILE, Pindex(70)), Some(64..80));
    }

    /// Without large folios a window cut at the end of the file is marked
    /// `async_size` before the cut (`do_page_cache_ra`); with them, where
    /// the whole window would put it, here past the end.
    #[test]
    fn a_cut_window_is_marked_by_the_file_system() {
        let mut small = shaped(10, &[], 32, 1);
        assert_eq!(small.fault(FILE, Pindex(3), None, None).read.and_then(|r| r.marked), Some(Pindex(2)));
        let mut large = shaped(10, &[], 32, 512);
        assert_eq!(large.fault(FILE, Pindex(3), None, None).read.and_then(|r| r.marked), None);
    }

    /// A fault that reads, or reaches a mark, is retried, even when the
    /// window the mark starts lies past the end of the file; a hit is not.
    #[test]
    fn readahead_retries_the_fault() {
        let mut m = model(40, &[], 32);
        assert!(m.fault(FILE, Pindex(0), None, None).retried, "a miss");
        assert!(!m.fault(FILE, Pindex(1), None, None).retried, "a hit");
        let at_the_mark = m.fault(FILE, Pindex(24), None, None);
        assert!(at_the_mark.retried && at_the_mark.read.is_some());
        let past_the_end = m.fault(FILE, Pindex(32), None, None);
        assert_eq!(past_the_end, FaultReadahead { read: None, retried: true }, "the next window starts at 64");
    }

    /// Pages past the end of the file are never ready, cached or not; a
    /// page cached before stays unmarked when a window covers it.
    #[test]
    fn the_end_of_the_file_and_pages_cached_before() {
        let mut m = model(8, &[(0, 12)], 32);
        assert!(ready(&m, 7) && !ready(&m, 8));
        assert_eq!(m.fault(FILE, Pindex(5), None, None).read, None, "a hit reads nothing");
        let mut m = model(100, &[(24, 1)], 32);
        let read = m.fault(FILE, Pindex(16), None, None).read.expect("read");
        assert_eq!(read.marked, None, "the page to mark was cached already");
        assert!(ready(&m, 24));
    }

    /// A random small read far from anything cached reads only itself; a
    /// read just after cached pages reads that much again.
    #[test]
    fn random_and_sequential_reads() {
        let mut m = model(10_000, &[], 2048);
        assert_eq!(m.read(FILE, 0..1, None)[0].pages, 4);
        let random = m.read(FILE, 5000..5002, None);
        assert_eq!(random, vec![ReadAhead { file: FILE, start: Pindex(5000), pages: 2, marked: None }]);
        let mut stream = model(10_000, &[(0, 40)], 2048);
        let read = stream.read(FILE, 40..41, None);
        assert_eq!(read[0].start, Pindex(40));
        assert_eq!(read[0].pages, 81, "cached from the start: twice the history, plus the page asked for");
    }

    /// Each task reads through its own open file: a second reader reaching
    /// the first one's mark has no window of its own, so it reads on from
    /// the cached run's end; a forked child carries its parent's window.
    #[test]
    fn each_reader_has_its_own_window() {
        let (one, two, child) = (Some(TaskId(1)), Some(TaskId(2)), Some(TaskId(3)));
        let mut m = model(1000, &[], 32);
        let _ = m.fault(FILE, Pindex(0), None, one);
        let foreign = m.fault(FILE, Pindex(24), None, two).read.expect("the mark reads on");
        assert_eq!((foreign.start, foreign.pages), (Pindex(32), 32), "after the cached run, 4 × 8 pages");
        let mut m = model(1000, &[], 32);
        let _ = m.fault(FILE, Pindex(0), None, one);
        m.fork(TaskId(1), TaskId(3));
        let inherited = m.fault(FILE, Pindex(24), None, child).read.expect("the mark reads on");
        assert_eq!(inherited.marked, Some(Pindex(32)), "the parent's window, pushed on");
        m.forget(TaskId(3));
        assert!(m.files[&FILE].readers.contains_key(&one) && !m.files[&FILE].readers.contains_key(&child));
    }

    /// A file described again has exactly the pages described (some were
    /// evicted), keeping the marks of those still cached.
    #[test]
    fn a_second_description_replaces_the_cached_pages() {
        let mut m = model(1000, &[], 32);
        let _ = m.fault(FILE, Pindex(0), None, None);
        assert!(ready(&m, 5) && !ready(&m, 24), "read around, page 24 marked");
        let shape = FileShape { end: 1000, max_pages: 32, largest_folio: 512 };
        m.learn(FILE, shape, &[(0, 4), (20, 10)], &[Pindex(5)]);
        assert!(ready(&m, 3) && !ready(&m, 5) && !ready(&m, 24) && ready(&m, 25));
        assert!(m.fault(FILE, Pindex(24), None, None).read.is_some(), "the mark stayed");
    }

    #[test]
    fn unknown_files_are_not_answered() {
        let mut m = PageCacheModel::default();
        assert_eq!(m.ready_to_map(FILE, Pindex(0)), None);
        assert_eq!(m.fault(FILE, Pindex(0), None, None).read, None);
        assert!(m.read(FILE, 0..4, None).is_empty());
    }

    #[test]
    fn window_sizes_follow_linux() {
        assert_eq!(initial_window(1, 32), 4);
        assert_eq!(initial_window(1, 2048), 4);
        assert_eq!(initial_window(3, 32), 8);
        assert_eq!(initial_window(16, 32), 32);
        assert_eq!(next_window(4, 2048), 16);
        assert_eq!(next_window(256, 2048), 512);
        assert_eq!(next_window(2048, 2048), 2048);
    }
}
