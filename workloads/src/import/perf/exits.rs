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

use crate::trace::ParseProblem;

/// The prefix of every line this module reads.
pub(crate) const PREFIX: &str = "# cowsim ";

/// One line of the recorder's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Directive {
    Tracer(u32),
    Exit(u32),
    Resident(ResidentRange),
}

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
    let words: Vec<&str> = rest.split(' ').collect();
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
        other => Err(problem(0, format!("unknown cowsim line {other:?} (known: tracer, exit, resident)"))),
    };
    Some(directive)
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
        let p = problem("# cowsim exit many");
        assert_eq!(p.column, 15, "{}", p.message);
        let p = problem("# cowsim bogus 1");
        assert_eq!(p.column, 10, "{}", p.message);
        assert!(problem("# cowsim exit 1 2").message.contains("expected 2 words"));
    }
}
