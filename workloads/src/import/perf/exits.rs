//! What `cowsim record` adds to a capture: which pages each process had
//! present when it exited.
//!
//! perf's tracepoints say when the kernel faulted, never when it did not,
//! so a capture alone cannot show a simulator that faults too often. The
//! recorder therefore runs the program under a small ptrace tracer that
//! stops every process at its exit, while its memory is still intact, and
//! reads which of its pages are present (`/proc/PID/pagemap`). It writes
//! what it saw as comment lines at the top of the capture, which perf's own
//! tools would ignore:
//!
//! ```text
//! # cowsim tracer 4567
//! # cowsim exit 4568
//! # cowsim resident 4568 0x55d0c4a00000 16 0+3,10+2
//! ```
//!
//! `tracer` names the tracer's own process, whose events the importer
//! leaves out (with those of its children until they exec the program).
//! `exit` starts the snapshot of one exit of a process; each `resident`
//! line that follows gives one range of its mappings: start address, pages,
//! and the runs of present pages (`FIRST+COUNT`, in pages from the start;
//! `-` for none). A process id seen exiting twice (ids are reused) has two
//! snapshots, used in order.
//!
//! The tracer also notes what the page cache held of each file before the
//! program first touched it (`analysis/src/page_cache_watch.rs`):
//!
//! ```text
//! # cowsim pagecache read:0+832 174312 8388608 2097152 0+43 /usr/lib/x86_64-linux-gnu/libselinux.so.1
//! ```
//!
//! How it was first touched (`exec`, `map`, `mapped`, or `read:OFFSET+LENGTH`),
//! its size, its device's readahead window and the largest folio its file
//! system caches in, in bytes, the runs of cached pages, and its path (the
//! rest of the line). The importer writes them as
//! `page_cache` and `file_read` ops just before the file's first mapping.
//!
//! At each exec the tracer notes the exec and, for every file it described
//! before whose cached pages have changed since, what they are now (the
//! machine may evict pages, which no other record shows):
//!
//! ```text
//! # cowsim exec 4570
//! # cowsim pagecache-now 2139864 0+20,32+491 /usr/lib/x86_64-linux-gnu/libisl.so.23.2.0
//! ```
//!
//! The importer writes those as `page_cache` ops at that exec of the
//! process (execs of one process id are matched in order).

use crate::trace::ParseProblem;

/// The prefix of every line this module reads.
pub(crate) const PREFIX: &str = "# cowsim ";

/// One line of the recorder's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Directive {
    Tracer(u32),
    Exit(u32),
    Resident(ResidentRange),
    PageCache(PageCacheNote),
    /// An exec of the process: the `pagecache-now` lines that follow
    /// belong to it.
    Exec(u32),
    /// At the last exec: what a file described before has cached now.
    PageCacheNow(PageCacheNow),
}

/// What a file described before had cached at an exec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PageCacheNow {
    pub size: u64,
    pub cached: Vec<(u64, u64)>,
    pub path: String,
}

/// What the recorder saw of one file's page cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PageCacheNote {
    pub touch: FirstTouch,
    pub size: u64,
    pub read_ahead: u64,
    pub largest_folio: u64,
    /// Runs of cached pages: first page of the file, count.
    pub cached: Vec<(u64, u64)>,
    pub path: String,
}

/// How the program first touched a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FirstTouch {
    /// Its `execve`: the kernel reads the program's header.
    Exec,
    /// An `mmap`.
    Map,
    /// Found mapped after an exec (the program interpreter), already read.
    Mapped,
    /// A `read` or `pread64` of `len` bytes at byte `offset`.
    Read { offset: u64, len: u64 },
}

/// The largest readahead window a line may give: 1 GiB, far above any
/// device's `read_ahead_kb`.
const LARGEST_READ_AHEAD: u64 = 1 << 30;

/// The largest folio a line may give, in pages (2 MiB).
const LARGEST_FOLIO_PAGES: u64 = sim::LARGEST_FOLIO_PAGES;

/// A range of one process's memory at its exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResidentRange {
    pub pid: u32,
    /// First page (address / 4096).
    pub start: u64,
    pub pages: u64,
    /// Runs of present pages: first page counted from `start`, count.
    pub present: Vec<(u64, u64)>,
}

/// The directive on `text`, `None` if the line is not one (any other
/// comment), or a problem at a column.
pub(crate) fn parse(text: &str) -> Option<Result<Directive, ParseProblem>> {
    let rest = text.strip_prefix(PREFIX)?;
    // The path, last, may hold spaces.
    let words: Vec<&str> = if rest.starts_with("pagecache ") {
        rest.splitn(7, ' ').collect()
    } else if rest.starts_with("pagecache-now ") {
        rest.splitn(4, ' ').collect()
    } else {
        rest.split(' ').collect()
    };
    let column_of = |index: usize| PREFIX.len() + words[..index].iter().map(|w| w.len() + 1).sum::<usize>() + 1;
    let problem = |index: usize, message: String| ParseProblem { column: column_of(index.min(words.len())), message };
    let pid = |index: usize| -> Result<u32, ParseProblem> {
        let word = words.get(index).copied().unwrap_or("");
        word.parse::<u32>().map_err(|_| problem(index, format!("expected a process id, found {word:?}")))
    };
    let count = |index: usize, what: &str| -> Result<u64, ParseProblem> {
        let word = words.get(index).copied().unwrap_or("");
        let value = match word.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => word.parse::<u64>().ok(),
        };
        value.ok_or_else(|| problem(index, format!("expected {what}, found {word:?}")))
    };
    let expect_words = |n: usize| -> Result<(), ParseProblem> {
        if words.len() == n {
            Ok(())
        } else {
            Err(problem(n.min(words.len()), format!("expected {n} words after \"# cowsim\", found {}", words.len())))
        }
    };
    let directive = match words[0] {
        "tracer" => expect_words(2).and_then(|()| pid(1).map(Directive::Tracer)),
        "exit" => expect_words(2).and_then(|()| pid(1).map(Directive::Exit)),
        "resident" => expect_words(5).and_then(|()| {
            let (pid, start, pages) = (pid(1)?, count(2, "a page-aligned address")?, count(3, "a page count")?);
            if start % 4096 != 0 {
                return Err(problem(2, format!("the address {start:#x} is not page-aligned")));
            }
            let present = runs(words[4]).filter(|runs| sim::op::page_runs_fit(runs, pages)).ok_or_else(|| {
                let why = "runs FIRST+COUNT of at least one page, in order, apart and inside the range, or -";
                problem(4, format!("expected {why}, found {:?}", words[4]))
            })?;
            Ok(Directive::Resident(ResidentRange { pid, start: start / 4096, pages, present }))
        }),
        "pagecache" => expect_words(7).and_then(|()| {
            let touch = first_touch(words[1]).ok_or_else(|| {
                problem(1, format!("expected exec, map, mapped or read:OFFSET+LENGTH, found {:?}", words[1]))
            })?;
            let size = count(2, "a size in bytes")?;
            let read_ahead = count(3, "a readahead window in bytes")?;
            if read_ahead % 4096 != 0 || read_ahead > LARGEST_READ_AHEAD {
                return Err(problem(3, format!("the readahead window {read_ahead} is not whole pages up to 1 GiB")));
            }
            let largest_folio = count(4, "the largest folio in bytes")?;
            let folio_pages = largest_folio / 4096;
            if largest_folio % 4096 != 0 || !folio_pages.is_power_of_two() || folio_pages > LARGEST_FOLIO_PAGES {
                let why = "a power-of-two number of pages up to 2 MiB";
                return Err(problem(4, format!("the largest folio {largest_folio} is not {why}")));
            }
            let cached =
                runs(words[5]).filter(|runs| sim::op::page_runs_fit(runs, size.div_ceil(4096))).ok_or_else(|| {
                    let why = "runs FIRST+COUNT of at least one page, in order, apart and inside the file, or -";
                    problem(5, format!("expected {why}, found {:?}", words[5]))
                })?;
            let path = words[6].to_owned();
            Ok(Directive::PageCache(PageCacheNote { touch, size, read_ahead, largest_folio, cached, path }))
        }),
        "exec" => expect_words(2).and_then(|()| pid(1).map(Directive::Exec)),
        "pagecache-now" => expect_words(4).and_then(|()| {
            let size = count(1, "a size in bytes")?;
            let cached =
                runs(words[2]).filter(|runs| sim::op::page_runs_fit(runs, size.div_ceil(4096))).ok_or_else(|| {
                    let why = "runs FIRST+COUNT of at least one page, in order, apart and inside the file, or -";
                    problem(2, format!("expected {why}, found {:?}", words[2]))
                })?;
            Ok(Directive::PageCacheNow(PageCacheNow { size, cached, path: words[3].to_owned() }))
        }),
        other => {
            let known = "tracer, exit, resident, pagecache, exec, pagecache-now";
            Err(problem(0, format!("unknown cowsim line {other:?} (known: {known})")))
        }
    };
    Some(directive)
}

/// `exec`, `map`, `mapped` or `read:OFFSET+LENGTH`.
fn first_touch(word: &str) -> Option<FirstTouch> {
    match word {
        "exec" => Some(FirstTouch::Exec),
        "map" => Some(FirstTouch::Map),
        "mapped" => Some(FirstTouch::Mapped),
        _ => {
            let (offset, len) = word.strip_prefix("read:")?.split_once('+')?;
            Some(FirstTouch::Read { offset: offset.parse().ok()?, len: len.parse().ok()? })
        }
    }
}

/// `0+3,10+2` (or `-` for none) as runs.
fn runs(text: &str) -> Option<Vec<(u64, u64)>> {
    if text == "-" {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|run| {
            let (first, count) = run.split_once('+')?;
            Some((first.parse().ok()?, count.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives() {
        assert_eq!(parse("# cowsim tracer 7"), Some(Ok(Directive::Tracer(7))));
        assert_eq!(parse("# cowsim exit 8"), Some(Ok(Directive::Exit(8))));
        assert_eq!(
            parse("# cowsim resident 8 0x400000 16 0+3,10+2"),
            Some(Ok(Directive::Resident(ResidentRange {
                pid: 8,
                start: 0x400,
                pages: 16,
                present: vec![(0, 3), (10, 2)]
            })))
        );
        assert_eq!(
            parse("# cowsim resident 8 0x400000 16 -"),
            Some(Ok(Directive::Resident(ResidentRange { pid: 8, start: 0x400, pages: 16, present: vec![] })))
        );
        assert_eq!(
            parse("# cowsim pagecache read:0+832 12298 8388608 2097152 0+1,3+1 /lib/my lib.so"),
            Some(Ok(Directive::PageCache(PageCacheNote {
                touch: FirstTouch::Read { offset: 0, len: 832 },
                size: 12298,
                read_ahead: 8 << 20,
                largest_folio: 2 << 20,
                cached: vec![(0, 1), (3, 1)],
                path: "/lib/my lib.so".into()
            })))
        );
        for (word, touch) in [("exec", FirstTouch::Exec), ("map", FirstTouch::Map), ("mapped", FirstTouch::Mapped)] {
            let line = format!("# cowsim pagecache {word} 0 131072 4096 - /bin/x");
            assert!(matches!(parse(&line), Some(Ok(Directive::PageCache(note))) if note.touch == touch), "{line}");
        }
        assert_eq!(parse("# cowsim exec 9"), Some(Ok(Directive::Exec(9))));
        assert_eq!(
            parse("# cowsim pagecache-now 8192 1+1 /lib/my lib.so"),
            Some(Ok(Directive::PageCacheNow(PageCacheNow {
                size: 8192,
                cached: vec![(1, 1)],
                path: "/lib/my lib.so".into()
            })))
        );
        assert_eq!(parse("# cowsim pagecache-now 4096 1+1 /a").unwrap().unwrap_err().column, 29);
        assert_eq!(parse("# ========"), None);
        assert_eq!(parse("# cowsimulator"), None);
    }

    #[test]
    fn damaged_directives_point_at_the_word() {
        let problem = |line: &str| parse(line).unwrap().unwrap_err();
        let p = problem("# cowsim resident 8 0x400001 16 -");
        assert_eq!(p.column, 21, "{}", p.message);
        assert!(p.message.contains("page-aligned"));
        let p = problem("# cowsim resident 8 0x400000 16 0+3,x");
        assert_eq!(p.column, 33, "{}", p.message);
        for bad in ["3+1,0+2", "0+2,1+1", "15+2", "0+0"] {
            let p = problem(&format!("# cowsim resident 8 0x400000 16 {bad}"));
            assert_eq!(p.column, 33, "{bad}: {}", p.message);
        }
        let p = problem("# cowsim pagecache read:0+x 100 4096 4096 - /lib/a.so");
        assert_eq!(p.column, 20, "{}", p.message);
        let p = problem("# cowsim pagecache map 100 4097 4096 - /lib/a.so");
        assert_eq!(p.column, 28, "{}", p.message);
        let p = problem("# cowsim pagecache map 100 4096 12288 - /lib/a.so");
        assert_eq!(p.column, 33, "{}", p.message);
        let p = problem("# cowsim pagecache map 4096 4096 4096 0+2 /lib/a.so");
        assert_eq!(p.column, 39, "{}", p.message);
        let p = problem("# cowsim exit many");
        assert_eq!(p.column, 15, "{}", p.message);
        let p = problem("# cowsim bogus 1");
        assert_eq!(p.column, 10, "{}", p.message);
        assert!(problem("# cowsim exit 1 2").message.contains("expected 2 words"));
    }
}
