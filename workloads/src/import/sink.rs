//! Where an importer puts what it makes: an [`OpSink`].
//!
//! An importer produces ops and a few comment lines (where the trace came
//! from, what was skipped). It does not care where they go: the
//! [`TraceWriter`] writes them as a trace file (`cowsim import`), an
//! [`OpList`] keeps them in memory for a replay (`cowsim compare` of a
//! capture), and a replay could take them one at a time.

use std::io::{self, Write};

use sim::TraceOp;

use crate::trace::{Located, TraceWriter};

/// Takes an importer's output, in order.
pub trait OpSink {
    /// Takes one op (by value: a sink that keeps it needs no copy).
    fn op(&mut self, op: TraceOp) -> io::Result<()>;
    /// Takes a comment; `text` may hold several lines.
    fn comment(&mut self, text: &str) -> io::Result<()>;
    /// Called once the importer has nothing more to give.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> OpSink for TraceWriter<W> {
    fn op(&mut self, op: TraceOp) -> io::Result<()> {
        self.write_op(&op)
    }

    fn comment(&mut self, text: &str) -> io::Result<()> {
        self.write_comment(text)
    }

    fn flush(&mut self) -> io::Result<()> {
        TraceWriter::flush(self)
    }
}

/// Ops kept in memory, each with the line it would have in the trace file
/// the same import writes (comment lines counted), so a failure in a
/// replay of the list names the same line as a replay of the file.
#[derive(Debug, Default)]
pub struct OpList {
    pub ops: Vec<Located<TraceOp>>,
    /// Lines the written trace would have so far.
    lines: usize,
}

impl OpSink for OpList {
    fn op(&mut self, op: TraceOp) -> io::Result<()> {
        self.lines += 1;
        self.ops.push(Located { line: self.lines, value: op });
        Ok(())
    }

    fn comment(&mut self, text: &str) -> io::Result<()> {
        // As TraceWriter writes it: one `#` line per line of the text.
        self.lines += text.split('\n').count();
        Ok(())
    }
}
