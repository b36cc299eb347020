//! The cowsim trace format: JSON Lines, one operation a line (the full
//! reference is docs/trace-format.md).
//!
//! ```text
//! # a comment; blank lines are ignored too
//! {"op":"task_create","task":1}
//! {"op":"vm_allocate","task":1,"addr":"0x100000","size":"64K"}
//! {"op":"write","task":1,"addr":"0x100000","len":"64K","expect":"KERN_SUCCESS"}
//! {"op":"fork","parent":1,"child":2}
//! ```
//!
//! Every line is one JSON object with an `"op"` naming the operation and the
//! fields that operation takes. The writer puts `"op"` first; the reader
//! accepts it anywhere in the object, but it must be there.
//!
//! **Numbers** (addresses, sizes, offsets, page tokens, task ids) may be JSON
//! integers or strings. A string is decimal (`"4096"`), hexadecimal with a
//! `0x` or `0X` prefix (`"0x7f0000"`, digits in either case), or decimal with
//! a size suffix `K`, `M` or `G` (powers of 1024, either case: `"64K"`,
//! `"2M"`). Negative numbers, fractions and values past the field's width are
//! errors, never silently wrapped.
//!
//! **Strings with a fixed vocabulary**: `prot` is made of the letters `r`, `w`,
//! `x` (`""` for none); `inherit` is `share`, `copy` or `none`; `recorded` is
//! `not_present` or `present`; `expect` is a Mach name such as
//! `KERN_INVALID_ADDRESS`. Any op may carry `expect`.
//!
//! **Strictness.** A field the op does not take is an error (a typo such as
//! `"szie"` would otherwise be silently ignored and the op would run with a
//! default), so is a field given twice, a missing required field, and a value
//! of the wrong type. Every error names the line and the 1-based character
//! column of the offending token, `trace.jsonl:7:23: message`, and the reader
//! never panics, whatever bytes it is given.
//!
//! **What the writer writes.** `"op"` first, then the fields in the order
//! the op's entry in [`OPS`] lists them (the order of the operations table
//! in docs/trace-format.md), then `expect`. Task ids are JSON integers.
//! Addresses, offsets and page tokens are hex strings (`"0x100000"`). Sizes
//! and lengths use the largest size suffix that divides them exactly
//! (`"64K"`, `"2M"`) and hex otherwise (`"0x1800"`), the way a person writes
//! them. Optional fields holding their default (`None`, a `false` flag) are
//! left out, except that `vm_map` always spells out `offset`, `private` and
//! `prot`, whose defaults are not obvious. [`parse_line`] of [`format_op`]
//! gives back the same op for every op the reader can produce (see
//! [`format_op`] for the few in-memory values no trace line can express).
//!
//! **How parsing works.** serde_json reads a line into a short list of
//! `(key, value)` pairs without building a `serde_json::Value` tree and
//! borrowing strings from the line where it can. The `"op"` value picks the
//! op's entry in the op table [`OPS`]: the entry lists the fields the op
//! takes (any other key is an error) and builds the op from the pairs. Only
//! when something is wrong does the reader scan the raw line again to find
//! where the offending key or value starts, so the common path pays nothing
//! for good error messages.
//!
//! **Where things are**, one job a file:
//!
//! - `ops.rs` — the op table: each op's name, fields, builder and writer;
//! - `input.rs` — opening a file or standard input, plain or gzip;
//! - `reader.rs` — [`TraceReader`]: a stream, one line at a time, into ops;
//! - `parse.rs` — [`parse_line`]: one line into an op, and the checks on the
//!   line as a whole (duplicate, unknown and missing keys);
//! - `json.rs` — serde_json reading a line's object into its pairs;
//! - `fields.rs` — one field's value as a task id, number, flag...;
//! - `numbers.rs` — the number syntax ([`parse_number_text`]);
//! - `columns.rs` — where keys and values sit in the raw line (error path);
//! - `writer.rs` — [`TraceWriter`] and [`format_op`];
//! - `errors.rs` — [`TraceError`], [`ParseProblem`] and how messages quote
//!   the input.

mod columns;
mod errors;
mod fields;
mod input;
mod json;
mod numbers;
mod ops;
mod parse;
mod reader;
mod writer;

pub use errors::{Located, ParseProblem, QUOTED_CHARS, TraceError, quoted};
pub use input::{decompress_if_gzip, open_input, open_trace};
pub use numbers::{NumberProblem, parse_number_text};
pub use ops::{FieldKind, FieldSpec, OP_NAMES, OPS, OpSpec, field_names, op_spec, spec_of};
pub use parse::parse_line;
pub use reader::{MAX_LINE_BYTES, TraceReader};
pub use writer::{TraceWriter, format_op, format_size};
