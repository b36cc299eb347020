//! One line into an op: the steps, the checks on the line as a whole
//! (its keys, its op), and placing a problem at a column. Reading one
//! field's value is in `fields.rs`; what each op takes, in `ops.rs`.

use sim::op::TraceOp;

use super::columns::{MemberSpan, char_column, member_spans};
use super::errors::{ParseProblem, QUOTED_CHARS, excerpt, quoted};
use super::json::{Entry, JsonValue, read_entries};
use super::ops::{OP_NAMES, OpSpec, op_spec};
use crate::suggest::did_you_mean;

/// Parses one trace line into an op.
///
/// `text` is the line without its newline. Blank and comment lines are not
/// ops: [`TraceReader`](super::TraceReader) skips them before calling this,
/// and given one this returns an error. Columns in the returned problem
/// count characters from the start of `text`, from 1.
pub fn parse_line(text: &str) -> Result<TraceOp, ParseProblem> {
    expect_object_start(text)?;
    let entries = read_entries(text)?;
    let line = Line { text, entries };
    line.reject_duplicate_keys()?;
    let spec = line.op_spec()?;
    line.reject_unknown_keys(spec)?;
    let op = spec.build(&line)?;
    let expect = line.expect()?;
    Ok(TraceOp { op, expect })
}

/// Fails unless the first non-blank character of `text` opens a JSON object,
/// so that `[1,2]` or `42` get a message about trace lines instead of
/// serde_json's generic one.
fn expect_object_start(text: &str) -> Result<(), ParseProblem> {
    let start = text.len() - text.trim_start_matches(is_json_space).len();
    let found = match text.get(start..).and_then(|rest| rest.chars().next()) {
        Some('{') => return Ok(()),
        None => "an empty line".to_owned(),
        Some('[') => "an array".to_owned(),
        Some('"') => "a string".to_owned(),
        Some('t' | 'f') => "true or false".to_owned(),
        Some('n') => "null".to_owned(),
        Some(c) if c == '-' || c.is_ascii_digit() => "a number".to_owned(),
        Some(c) => format!("{c:?}"),
    };
    Err(ParseProblem {
        column: char_column(text, start),
        message: format!("expected a JSON object like {{\"op\":\"fork\",...}}, found {found}"),
    })
}

/// JSON's four whitespace characters (serde_json skips exactly these).
fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// A line read as a JSON object: its raw text (for error positions) and its
/// entries. The builders of the op table read its fields.
pub(super) struct Line<'t> {
    text: &'t str,
    entries: Vec<Entry<'t>>,
}

impl<'t> Line<'t> {
    /// The value of `key`, if the line has it.
    pub(super) fn get(&self, key: &str) -> Option<&JsonValue<'t>> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, value)| value)
    }

    /// Where the `occurrence`-th (from 0) member named `key` is written.
    fn span_of(&self, key: &str, occurrence: usize) -> Option<MemberSpan<'t>> {
        member_spans(self.text).into_iter().filter(|span| span.key == key).nth(occurrence)
    }

    /// A problem pointing at the start of the `occurrence`-th `key`.
    fn at_key(&self, key: &str, occurrence: usize, message: String) -> ParseProblem {
        let span = self.span_of(key, occurrence);
        ParseProblem { column: span.map_or(1, |span| char_column(self.text, span.key_start)), message }
    }

    /// A problem pointing at the start of the value of `key`.
    pub(super) fn at_value(&self, key: &str, message: String) -> ParseProblem {
        let span = self.span_of(key, 0);
        ParseProblem { column: span.map_or(1, |span| char_column(self.text, span.value_start)), message }
    }

    /// The raw text of the value of `key`, for quoting in messages (cut
    /// short like [`quoted`] text).
    pub(super) fn raw_value(&self, key: &str) -> String {
        let raw = self.span_of(key, 0).and_then(|span| self.text.get(span.value_start..span.value_end));
        raw.map_or_else(|| "the value".to_owned(), |raw| excerpt(raw, QUOTED_CHARS))
    }

    /// Fails on the second occurrence of any key, pointing at that key.
    fn reject_duplicate_keys(&self) -> Result<(), ParseProblem> {
        for (index, (key, _)) in self.entries.iter().enumerate() {
            let earlier = self.entries.iter().take(index).filter(|(k, _)| k == key).count();
            if earlier > 0 {
                return Err(self.at_key(key, earlier, format!("duplicate field {}", quoted(key))));
            }
        }
        Ok(())
    }

    /// The op table's entry for the line's `"op"`.
    fn op_spec(&self) -> Result<&'static OpSpec, ParseProblem> {
        let name = match self.get("op") {
            None => {
                return Err(ParseProblem {
                    column: 1,
                    message: "missing field \"op\" (every line names its op, like \"op\":\"fork\")".to_owned(),
                });
            }
            Some(JsonValue::Str(name)) => name,
            Some(_) => {
                return Err(self.at_value("op", "expected the op name as a string for \"op\"".into()));
            }
        };
        if let Some(spec) = op_spec(name) {
            return Ok(spec);
        }
        let hint = did_you_mean(name, OP_NAMES).unwrap_or_else(|| format!("known ops: {}", OP_NAMES.join(", ")));
        Err(self.at_value("op", format!("unknown op {} ({hint})", quoted(name))))
    }

    /// Fails on the first key that the op of `spec` does not take, pointing
    /// at it.
    fn reject_unknown_keys(&self, spec: &OpSpec) -> Result<(), ParseProblem> {
        let is_known = |key: &str| key == "op" || key == "expect" || spec.takes(key);
        let Some((key, _)) = self.entries.iter().find(|(key, _)| !is_known(key)) else {
            return Ok(());
        };
        let op_name = spec.name;
        let candidates = spec.field_names().chain(["expect"]);
        let hint = did_you_mean(key, candidates).unwrap_or_else(|| {
            let fields: Vec<&str> = spec.field_names().collect();
            format!("{op_name} takes {}, expect", fields.join(", "))
        });
        Err(self.at_key(key, 0, format!("unknown field {} for {op_name} ({hint})", quoted(key))))
    }
}
