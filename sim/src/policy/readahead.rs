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
//! cached (up to the end of the file) and marks the page `start + size -
//! async_size` if that page was read now and lies inside the file: when
//! the program reaches the mark, the next window is read before it is needed. `ra_pages` is the
//! device's `read_ahead_kb` in pages (the `read_ahead` of `page_cache`).
//! Sources: `mm/readahead.c` (`page_cache_sync_ra`, `page_cache_async_ra`,
//! `get_init_ra_size`, `get_next_ra_size`, `page_cache_ra_unbounded`,
//! `do_page_cache_ra`) and `mm/filemap.c` (`filemap_fault`,
//! `do_sync_mmap_readahead`, `do_async_mmap_readahead`,
//! `filemap_map_pages`).
//!
//! Simplified, and said in docs/fidelity.md: one readahead state per file
//! (Linux keeps one per open file, `struct file_ra_state`); no
//! `mmap_miss` (Linux stops reading around in a file that misses much
//! more than it hits), no `MADV_SEQUENTIAL`/`MADV_RANDOM`, no large folios
//! (Linux maps and marks a whole folio at once); I/O completes at once,
//! so a page read is up to date for the next fault; nothing is evicted.
//! Files the trace says nothing about keep the `--page-cache` setting.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::ids::{ObjectId, Pindex};

/// The page cache of the files a trace described, and their readahead.
#[derive(Clone, Debug, Default)]
pub struct PageCacheModel {
    files: BTreeMap<ObjectId, FileCache>,
}

/// One file's page cache.
#[derive(Clone, Debug)]
struct FileCache {
    /// Pages in the file: no page at or past it is read or mapped.
    end: u64,
    cached: BTreeSet<u64>,
    /// Cached pages carrying `PG_readahead`.
    marked: BTreeSet<u64>,
    /// The largest window, in pages (`ra_pages`).
    max_pages: u64,
    /// The last window read (`file_ra_state`: `start`, `size`,
    /// `async_size`).
    window: Window,
    /// The page holding the end of the last `read(2)` (`prev_pos`), none
    /// before the first.
    last_read: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Window {
    start: u64,
    size: u64,
    async_size: u64,
}

/// Pages readahead brought into one file's page cache at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadAhead {
    pub file: ObjectId,
    /// The window: its pages that were not cached are read now.
    pub start: Pindex,
    pub pages: u64,
    /// The page that took the readahead mark, if one did.
    pub marked: Option<Pindex>,
}

impl PageCacheModel {
    /// What a capture saw of `file` before the program touched it: `end`
    /// pages long, `cached` (runs of first page and count) in the page
    /// cache, windows of at most `max_pages`. Pages `already` holds (the
    /// run's own, from before) count as cached too.
    pub fn learn(&mut self, file: ObjectId, end: u64, cached: &[(u64, u64)], max_pages: u64, already: &[Pindex]) {
        let mut pages: BTreeSet<u64> = cached.iter().flat_map(|&(first, count)| first..first + count).collect();
        pages.extend(already.iter().map(|p| p.0));
        let state = FileCache {
            end,
            cached: pages,
            marked: BTreeSet::new(),
            max_pages,
            window: Window::default(),
            last_read: None,
        };
        self.files.insert(file, state);
    }

    /// Would `filemap_map_pages` map page `index` of `file` now? `None`
    /// when the trace never described the file.
    pub fn ready_to_map(&self, file: ObjectId, index: Pindex) -> Option<bool> {
        let f = self.files.get(&file)?;
        Some(index.0 < f.end && f.cached.contains(&index.0) && !f.marked.contains(&index.0))
    }

    /// `filemap_fault` on page `index` of `file`, after fault-around: a
    /// miss reads around the page, a marked page starts the next window.
    /// The page is cached afterwards. What was read, if anything.
    ///
    /// `executable` is the file pages of the mapping when it may be
    /// executed: since Linux 6.16 a miss there reads forward from the page
    /// to the mapping's end, `ra_pages` at most, with no mark ("executable
    /// memory rarely benefits from readahead"; `exec_folio_order` is 0 on
    /// x86).
    pub fn fault(&mut self, file: ObjectId, index: Pindex, executable: Option<Range<u64>>) -> Option<ReadAhead> {
        let f = self.files.get_mut(&file)?;
        let index = index.0;
        let read = if !f.cached.contains(&index) {
            f.window = match executable {
                Some(mapping) => {
                    let end = (index + f.max_pages).min(mapping.end);
                    Window { start: index, size: end.saturating_sub(index), async_size: 0 }
                }
                None => {
                    let half = f.max_pages / 2;
                    Window { start: index.saturating_sub(half), size: f.max_pages, async_size: f.max_pages / 4 }
                }
            };
            f.read_window(file)
        } else if f.marked.contains(&index) {
            f.async_readahead(file, index, f.max_pages)
        } else {
            None
        };
        // Without readahead (`ra_pages` 0, or past the end of the file)
        // the fault still reads its own page.
        f.cached.insert(index);
        read
    }

    /// `read(2)` of `pages` of `file` (`filemap_read`): each page not cached
    /// starts a synchronous readahead, each marked one an asynchronous one.
    pub fn read(&mut self, file: ObjectId, pages: Range<u64>) -> Vec<ReadAhead> {
        let Some(f) = self.files.get_mut(&file) else { return Vec::new() };
        let mut done = Vec::new();
        let last = pages.end.min(f.end);
        for index in pages.start..last {
            let wanted = last - index;
            let read = if !f.cached.contains(&index) {
                f.sync_readahead(file, index, wanted)
            } else if f.marked.contains(&index) {
                f.async_readahead(file, index, wanted)
            } else {
                None
            };
            done.extend(read);
            f.cached.insert(index);
        }
        if pages.end > pages.start {
            f.last_read = Some(pages.end - 1);
        }
        done
    }
}

impl FileCache {
    /// `page_cache_sync_ra`: a read(2) missed at `index`, wanting `wanted`
    /// pages from there.
    fn sync_readahead(&mut self, file: ObjectId, index: u64, wanted: u64) -> Option<ReadAhead> {
        let max = self.max_pages;
        let sequential = self.last_read.is_some_and(|last| index.wrapping_sub(last) <= 1);
        if index == 0 || wanted > max || sequential {
            let size = initial_window(wanted, max);
            let async_size = if size > wanted { size - wanted } else { size / 2 };
            self.window = Window { start: index, size, async_size };
            return self.read_window(file);
        }
        // How many pages just before `index` are cached: the trace a
        // sequential reader would have left.
        let history = (1..=max.min(index)).take_while(|back| self.cached.contains(&(index - back))).count() as u64;
        if history <= wanted {
            // A small random read: only what was asked, no mark.
            return self.read_pages(file, Window { start: index, size: wanted, async_size: 0 });
        }
        // Cached all the way from the file's start: a long stream.
        let history = if history == index { history * 2 } else { history };
        self.window = Window { start: index, size: (history + wanted).min(max), async_size: 1 };
        self.read_window(file)
    }

    /// `page_cache_async_ra`: a read or fault reached the marked page
    /// `index`. The mark goes; the next window is read, marked at its start.
    fn async_readahead(&mut self, file: ObjectId, index: u64, wanted: u64) -> Option<ReadAhead> {
        self.marked.remove(&index);
        let max = self.max_pages;
        let expected = self.window.start + self.window.size - self.window.async_size;
        if index == expected {
            let size = next_window(self.window.size, max);
            self.window = Window { start: self.window.start + self.window.size, size, async_size: size };
            return self.read_window(file);
        }
        // A mark without the window that made it (another reader's): start
        // after the cached run that follows.
        let start = (index + 1..index + 1 + max).find(|p| !self.cached.contains(p))?;
        let size = next_window(start - index + wanted, max);
        self.window = Window { start, size, async_size: size };
        self.read_window(file)
    }

    fn read_window(&mut self, file: ObjectId) -> Option<ReadAhead> {
        self.read_pages(file, self.window)
    }

    /// `page_cache_ra_order`: reads the pages of `window` that are not
    /// cached, up to the end of the file, and marks `start + size -
    /// async_size` if it was read now.
    fn read_pages(&mut self, file: ObjectId, window: Window) -> Option<ReadAhead> {
        if window.start >= self.end || window.size == 0 {
            return None;
        }
        let size = window.size.min(self.end - window.start);
        // The mark is placed in the whole window, as `page_cache_ra_order`
        // places it: one that falls past the end of the file is not set.
        let mark = (window.async_size > 0 && window.async_size <= window.size)
            .then(|| window.start + window.size - window.async_size)
            .filter(|mark| *mark < self.end);
        let mut marked = None;
        for page in window.start..window.start + size {
            if self.cached.insert(page) && Some(page) == mark {
                self.marked.insert(page);
                marked = Some(Pindex(page));
            }
        }
        Some(ReadAhead { file, start: Pindex(window.start), pages: size, marked })
    }
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

    fn model(end: u64, cached: &[(u64, u64)], max: u64) -> PageCacheModel {
        let mut m = PageCacheModel::default();
        m.learn(FILE, end, cached, max, &[]);
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
        let read = m.read(FILE, 0..1);
        assert_eq!(read, vec![ReadAhead { file: FILE, start: Pindex(0), pages: 4, marked: Some(Pindex(1)) }]);
        assert!(ready(&m, 0) && ready(&m, 2) && ready(&m, 3));
        assert!(!ready(&m, 1), "marked");
        assert!(!ready(&m, 4), "not read");
        // The fault on the mark: the next window is 4 × 4 pages from page 4,
        // marked at its start.
        let next = m.fault(FILE, Pindex(1), None);
        assert_eq!(next, Some(ReadAhead { file: FILE, start: Pindex(4), pages: 16, marked: Some(Pindex(4)) }));
        assert!(ready(&m, 1) && ready(&m, 19) && !ready(&m, 4) && !ready(&m, 20));
    }

    /// A fault that misses reads a window of `ra_pages` around itself,
    /// marked a quarter before its end, cut at the end of the file.
    #[test]
    fn a_fault_that_misses_reads_around() {
        let mut m = model(1000, &[], 32);
        let read = m.fault(FILE, Pindex(100), None).expect("read");
        assert_eq!(read, ReadAhead { file: FILE, start: Pindex(84), pages: 32, marked: Some(Pindex(108)) });
        assert!(!ready(&m, 83) && ready(&m, 84) && ready(&m, 115) && !ready(&m, 116) && !ready(&m, 108));
        let mut short = model(10, &[], 32);
        let read = short.fault(FILE, Pindex(3), None).expect("read");
        assert_eq!((read.start, read.pages, read.marked), (Pindex(0), 10, None));
        assert!(ready(&short, 9) && !ready(&short, 10));
    }

    /// In an executable mapping a miss reads forward to the mapping's end,
    /// with no mark, so the pages before it stay out.
    #[test]
    fn an_executable_miss_reads_forward_only() {
        let mut m = model(100, &[], 2048);
        let read = m.fault(FILE, Pindex(13), Some(4..29)).expect("read");
        assert_eq!(read, ReadAhead { file: FILE, start: Pindex(13), pages: 16, marked: None });
        assert!(!ready(&m, 12) && ready(&m, 13) && ready(&m, 28) && !ready(&m, 29));
        let mut small = model(100, &[], 8);
        assert_eq!(small.fault(FILE, Pindex(13), Some(4..29)).map(|r| r.pages), Some(8));
    }

    /// Pages past the end of the file are never ready, cached or not; a
    /// page cached before stays unmarked when a window covers it.
    #[test]
    fn the_end_of_the_file_and_pages_cached_before() {
        let mut m = model(8, &[(0, 12)], 32);
        assert!(ready(&m, 7) && !ready(&m, 8));
        assert_eq!(m.fault(FILE, Pindex(5), None), None, "a hit reads nothing");
        let mut m = model(100, &[(24, 1)], 32);
        let read = m.fault(FILE, Pindex(16), None).expect("read");
        assert_eq!(read.marked, None, "the page to mark was cached already");
        assert!(ready(&m, 24));
    }

    /// A random small read far from anything cached reads only itself; a
    /// read just after cached pages reads that much again.
    #[test]
    fn random_and_sequential_reads() {
        let mut m = model(10_000, &[], 2048);
        assert_eq!(m.read(FILE, 0..1)[0].pages, 4);
        let random = m.read(FILE, 5000..5002);
        assert_eq!(random, vec![ReadAhead { file: FILE, start: Pindex(5000), pages: 2, marked: None }]);
        let mut stream = model(10_000, &[(0, 40)], 2048);
        let read = stream.read(FILE, 40..41);
        assert_eq!(read[0].start, Pindex(40));
        assert_eq!(read[0].pages, 81, "cached from the start: twice the history, plus the page asked for");
    }

    #[test]
    fn unknown_files_are_not_answered() {
        let mut m = PageCacheModel::default();
        assert_eq!(m.ready_to_map(FILE, Pindex(0)), None);
        assert_eq!(m.fault(FILE, Pindex(0), None), None);
        assert!(m.read(FILE, 0..4).is_empty());
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
