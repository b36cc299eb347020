//! What can go wrong reading a trace, and how messages quote the input.

use std::io;

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The trace could not be opened, or reading it failed part way (a disk
    /// error, a truncated or corrupt gzip stream). Reading stops here.
    #[error("{file}: {source}")]
    Io {
        /// The trace's name as given to the reader (`<stdin>` for `-`).
        file: String,
        source: io::Error,
    },
    /// One line is not a valid operation. The reader goes on with the next
    /// line if asked, so a caller may collect several of these.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// The trace's name as given to the reader.
        file: String,
        /// 1-based line number, counting blank and comment lines.
        line: usize,
        /// 1-based character column of the offending token in that line.
        column: usize,
        /// What was expected, e.g. `unknown field "szie" for vm_copy`.
        message: String,
    },
}

impl TraceError {
    /// The 1-based line the error is about; `None` for I/O errors.
    pub fn line(&self) -> Option<usize> {
        match self {
            TraceError::Io { .. } => None,
            TraceError::Parse { line, .. } => Some(*line),
        }
    }

    /// The name of the trace the error is about.
    pub fn file(&self) -> &str {
        match self {
            TraceError::Io { file, .. } | TraceError::Parse { file, .. } => file,
        }
    }
}

/// What is wrong with one line, before it is known which file and line it
/// came from: [`parse_line`](super::parse_line) returns this and
/// [`TraceReader`](super::TraceReader) turns it into a [`TraceError::Parse`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseProblem {
    /// 1-based character column of the offending token.
    pub column: usize,
    /// What was expected.
    pub message: String,
}

impl ParseProblem {
    /// The same problem, placed in a file at a 1-based line.
    pub fn at(self, file: &str, line: usize) -> TraceError {
        TraceError::Parse { file: file.to_owned(), line, column: self.column, message: self.message }
    }
}

/// A value together with the 1-based line it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub line: usize,
    pub value: T,
}

/// The most characters of the input a message quotes: enough to recognise
/// a typo, never a whole megabyte of junk.
pub const QUOTED_CHARS: usize = 64;

/// `text` as a message quotes it: in double quotes with Rust-style escapes,
/// cut after [`QUOTED_CHARS`] characters with an ellipsis and the full
/// length, so a 500 KB key costs one short line.
pub fn quoted(text: &str) -> String {
    let total = text.chars().count();
    if total <= QUOTED_CHARS {
        format!("{text:?}")
    } else {
        let start: String = text.chars().take(QUOTED_CHARS).collect();
        format!("{start:?}… ({total} characters)")
    }
}

/// The first `limit` characters of `text`, with `…` when it was longer.
pub(super) fn excerpt(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
