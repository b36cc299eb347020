//! The streaming reader: a trace, one line at a time, into ops.

use std::io::{self, BufRead, Read};

use sim::op::TraceOp;

use super::errors::{Located, ParseProblem, TraceError};
use super::parse::parse_line;

/// The longest line the reader accepts, newline included. Real lines are
/// about a hundred bytes; the limit keeps memory constant on a file that is
/// not a trace at all (say, a binary with no newline in a gigabyte).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// A streaming trace reader: yields one op per non-blank, non-comment line.
///
/// It holds one line in memory at a time, in a buffer reused from line to
/// line. A line that does not parse is yielded as an `Err` and reading can
/// go on with the next line; the caller decides whether to stop. An I/O
/// error ends the iteration (a failing stream would otherwise fail forever),
/// and so does a line longer than [`MAX_LINE_BYTES`]: its end may never
/// come (`/dev/zero` has no newline), so the reader reports it as soon as
/// the limit is passed instead of reading on to find the next line.
pub struct TraceReader<R: BufRead> {
    input: R,
    name: String,
    /// The current line's bytes, reused so reading does not allocate per line.
    buffer: Vec<u8>,
    /// How many lines have been read so far, blank and comment lines included.
    lines_read: usize,
    /// Set at end of input and after an I/O error.
    finished: bool,
}

impl<R: BufRead> TraceReader<R> {
    /// A reader of `input`; `name` (usually the file name) starts every error
    /// message.
    pub fn new(input: R, name: impl Into<String>) -> Self {
        TraceReader { input, name: name.into(), buffer: Vec::with_capacity(256), lines_read: 0, finished: false }
    }

    /// The name given to [`TraceReader::new`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses the line now in `self.buffer`. `None` for a blank or comment
    /// line, which the caller skips.
    fn parse_buffered_line(&self, line_end: LineEnd) -> Option<Result<TraceOp, ParseProblem>> {
        if line_end == LineEnd::TooLong {
            return Some(Err(ParseProblem {
                column: 1,
                message: format!("line is longer than {MAX_LINE_BYTES} bytes"),
            }));
        }
        let bytes = strip_line_ending(&self.buffer);
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => return Some(Err(invalid_utf8(bytes, error.valid_up_to()))),
        };
        // Editors on some systems start a file with a byte order mark.
        let text = if self.lines_read == 1 { text.trim_start_matches('\u{feff}') } else { text };
        let content = text.trim_start();
        if content.is_empty() || content.starts_with('#') {
            return None;
        }
        Some(parse_line(text))
    }
}

impl<R: BufRead> Iterator for TraceReader<R> {
    type Item = Result<Located<TraceOp>, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            self.buffer.clear();
            let line_end = match read_line_limited(&mut self.input, &mut self.buffer) {
                Ok(LineEnd::EndOfInput) => {
                    self.finished = true;
                    return None;
                }
                Ok(line_end) => line_end,
                Err(source) => {
                    self.finished = true;
                    return Some(Err(TraceError::Io { file: self.name.clone(), source }));
                }
            };
            self.lines_read += 1;
            self.finished = line_end == LineEnd::TooLong;
            if let Some(parsed) = self.parse_buffered_line(line_end) {
                let line = self.lines_read;
                return Some(
                    parsed.map(|value| Located { line, value }).map_err(|problem| problem.at(&self.name, line)),
                );
            }
        }
        None
    }
}

/// How [`read_line_limited`] found the line it read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineEnd {
    /// A whole line is in the buffer (the last line may lack its newline).
    Complete,
    /// The line is longer than [`MAX_LINE_BYTES`]; the buffer holds its
    /// start and the rest is left unread.
    TooLong,
    /// Nothing was left to read.
    EndOfInput,
}

/// Appends the next line of `input`, newline included, to `buffer`, reading
/// at most [`MAX_LINE_BYTES`]; the rest of a longer line is left unread.
fn read_line_limited<R: BufRead>(input: &mut R, buffer: &mut Vec<u8>) -> io::Result<LineEnd> {
    let limit = MAX_LINE_BYTES as u64;
    let read = input.by_ref().take(limit).read_until(b'\n', buffer)?;
    if read == 0 {
        Ok(LineEnd::EndOfInput)
    } else if buffer.last() == Some(&b'\n') || read < MAX_LINE_BYTES {
        Ok(LineEnd::Complete)
    } else {
        Ok(LineEnd::TooLong)
    }
}

/// The line without its `\n` or `\r\n`.
fn strip_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The problem for a line that is not UTF-8, pointing just after its last
/// good character.
fn invalid_utf8(bytes: &[u8], valid_up_to: usize) -> ParseProblem {
    let good = bytes.get(..valid_up_to).unwrap_or_default();
    let column = String::from_utf8_lossy(good).chars().count() + 1;
    ParseProblem { column, message: "the line is not valid UTF-8 text".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An over-long line ends the reading: its end may never come, so the
    /// lines after it are not read.
    #[test]
    fn a_long_line_is_reported_and_ends_the_reading() {
        let long = format!("{{\"op\":\"mark\",\"label\":\"{}\"}}\n", "x".repeat(MAX_LINE_BYTES));
        let text = format!("{long}{{\"op\":\"exit\",\"task\":1}}\n");
        let mut reader = TraceReader::new(text.as_bytes(), "t");
        let error = reader.next().and_then(Result::err).map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("t:1:1: line is longer than 1048576 bytes"));
        assert!(reader.next().is_none());
    }
}
