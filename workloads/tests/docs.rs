//! The documentation's example traces are real traces.
//!
//! Every fenced block with the info string `jsonl` in `docs/*.md` is read
//! as a whole trace: each of its lines that is not blank or a comment must
//! parse with [`parse_line`], and the block must replay without an error
//! under every policy with the invariant checker on, so an `expect` or an
//! `expect_value` written in an example is checked too. Fragments that are
//! not meant to run go in `text` blocks.
//!
//! `docs/trace-format.md` must moreover show every op of [`OP_NAMES`] at
//! least once, so a new op cannot be added without documenting it, and
//! document every field of the op table ([`OPS`]) as the table has it: its
//! operations table lists each op's fields in the table's order, required
//! ones in bold, and each op's `###` section has a row for each of its
//! fields with the table's type, unit and required-ness (and no row for a
//! field its ops do not take).
//!
//! A failure names the document and the line of the offending example or
//! table row.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use sim::{Config, PolicyKind, Sim, TraceOp};
use workloads::trace::{FieldSpec, OP_NAMES, OPS, OpSpec, parse_line};

/// The page that must show an example of every op.
const TRACE_FORMAT: &str = "trace-format.md";

/// The fence info string that marks a runnable trace.
const TRACE_INFO: &str = "jsonl";

/// The folder of the documentation, beside the crates.
fn docs_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("docs")
}

/// One line of a fenced block: its 1-based line in the document, its text.
struct BlockLine<'d> {
    line: usize,
    text: &'d str,
}

/// A fenced `jsonl` block: the line its opening fence is on, its lines.
struct Block<'d> {
    opens_at: usize,
    lines: Vec<BlockLine<'d>>,
}

/// Where the scan of a document stands.
enum Fence<'d> {
    /// Outside any fenced block.
    Outside,
    /// Inside a fenced block of another kind (`text`, `sh`...).
    Other,
    /// Inside a `jsonl` block whose opening fence is indented by `indent`.
    Trace { block: Block<'d>, indent: usize },
}

/// Every `jsonl` block of `text`, in order. The content of a block whose
/// opening fence is indented loses that indentation. Fails on a `jsonl`
/// block that is never closed.
fn jsonl_blocks<'d>(doc: &str, text: &'d str) -> Vec<Block<'d>> {
    let mut blocks = Vec::new();
    let mut fence = Fence::Outside;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim_start();
        let is_fence = trimmed.starts_with("```");
        fence = match fence {
            Fence::Outside if is_fence => {
                if trimmed.trim_start_matches('`').trim() == TRACE_INFO {
                    let indent = raw.len() - trimmed.len();
                    Fence::Trace { block: Block { opens_at: line, lines: Vec::new() }, indent }
                } else {
                    Fence::Other
                }
            }
            Fence::Outside => Fence::Outside,
            Fence::Other if is_fence => Fence::Outside,
            Fence::Other => Fence::Other,
            Fence::Trace { block, .. } if is_fence => {
                blocks.push(block);
                Fence::Outside
            }
            Fence::Trace { mut block, indent } => {
                let content = raw.get(indent.min(raw.len())..).unwrap_or(raw);
                block.lines.push(BlockLine { line, text: content });
                Fence::Trace { block, indent }
            }
        };
    }
    if let Fence::Trace { block, .. } = fence {
        panic!("docs/{doc}:{}: a ```{TRACE_INFO} block is never closed", block.opens_at);
    }
    blocks
}

/// Is this line skipped by the trace reader (blank, or a `#` comment)?
fn is_blank_or_comment(text: &str) -> bool {
    let content = text.trim_start_matches('\u{feff}').trim_start();
    content.is_empty() || content.starts_with('#')
}

/// One parsed example line.
struct Example {
    line: usize,
    op: TraceOp,
}

/// A `jsonl` block, parsed: the line of its opening fence, its ops, and
/// whether every line of it parsed.
struct ParsedBlock {
    opens_at: usize,
    examples: Vec<Example>,
    all_parsed: bool,
}

/// The blocks of one document, parsed. Parse failures are appended to
/// `failures`, each naming its line.
fn parse_blocks(doc: &str, text: &str, failures: &mut Vec<String>) -> Vec<ParsedBlock> {
    jsonl_blocks(doc, text)
        .into_iter()
        .map(|block| {
            let mut examples = Vec::new();
            let mut all_parsed = true;
            for BlockLine { line, text } in block.lines {
                if is_blank_or_comment(text) {
                    continue;
                }
                match parse_line(text) {
                    Ok(op) => examples.push(Example { line, op }),
                    Err(problem) => {
                        all_parsed = false;
                        failures.push(format!(
                            "docs/{doc}:{line}: column {}: {}\n    {text}",
                            problem.column, problem.message
                        ));
                    }
                }
            }
            ParsedBlock { opens_at: block.opens_at, examples, all_parsed }
        })
        .collect()
}

/// Replays one block under `policy` with the invariant checker on; the
/// first failure (an error or a broken invariant) names its line.
fn replay_block(doc: &str, opens_at: usize, examples: &[Example], policy: PolicyKind) -> Result<(), String> {
    let mut sim = Sim::new(policy, Config::default().check_invariants(true));
    for example in examples {
        let applied = catch_unwind(AssertUnwindSafe(|| sim.apply_traced(&example.op)));
        match applied {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                return Err(format!("docs/{doc}:{}: under {policy}: {error}", example.line));
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "a panic".to_owned());
                return Err(format!("docs/{doc}:{}: under {policy}: {message}", example.line));
            }
        }
    }
    let report = sim.finish(&format!("docs/{doc} block at line {opens_at}"));
    assert_eq!(report.ops, examples.len() as u64, "docs/{doc}:{opens_at}: every op of the block was applied");
    Ok(())
}

/// The Markdown files of `docs/`, sorted by name.
fn documents() -> Vec<(String, String)> {
    let folder = docs_folder();
    let listing = std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("reading {}: {e}", folder.display()));
    let mut names: Vec<String> = listing
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let path = folder.join(&name);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            (name, text)
        })
        .collect()
}

#[test]
fn every_example_line_parses_and_every_op_has_one() {
    let mut failures = Vec::new();
    let mut shown: BTreeSet<&'static str> = BTreeSet::new();
    let mut found_trace_format = false;
    for (doc, text) in documents() {
        let blocks = parse_blocks(&doc, &text, &mut failures);
        if doc == TRACE_FORMAT {
            found_trace_format = true;
            assert!(!blocks.is_empty(), "docs/{doc} has no ```{TRACE_INFO} block");
            shown.extend(blocks.iter().flat_map(|block| block.examples.iter().map(|e| e.op.op.name())));
        }
    }
    assert!(found_trace_format, "docs/{TRACE_FORMAT} is missing");
    assert!(failures.is_empty(), "example lines that do not parse:\n{}", failures.join("\n"));
    let missing: Vec<&str> = OP_NAMES.iter().copied().filter(|name| !shown.contains(name)).collect();
    assert!(
        missing.is_empty(),
        "docs/{TRACE_FORMAT} has no ```{TRACE_INFO} example of: {} (document every op)",
        missing.join(", ")
    );
}

#[test]
fn every_example_block_replays_under_every_policy() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (doc, text) in documents() {
        // Lines that do not parse are the other test's to report; the
        // blocks that hold them are not replayed.
        let blocks = parse_blocks(&doc, &text, &mut Vec::new());
        for block in blocks.iter().filter(|block| block.all_parsed) {
            for policy in PolicyKind::ALL {
                if let Err(failure) = replay_block(&doc, block.opens_at, &block.examples, policy) {
                    failures.push(format!("the block opening at line {}: {failure}", block.opens_at));
                }
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no ```{TRACE_INFO} block found in docs/");
    assert!(failures.is_empty(), "example traces that do not replay:\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// The fields of every op, against the op table
// ---------------------------------------------------------------------------

/// The chapter of `TRACE_FORMAT` that documents each op: an overview table,
/// then one `###` section per op (or per group of ops).
const OPERATIONS_CHAPTER: &str = "## The operations";

/// A line of a document with its 1-based number.
type NumberedLine<'d> = (usize, &'d str);

/// The text of docs/trace-format.md.
fn trace_format_text() -> String {
    let path = docs_folder().join(TRACE_FORMAT);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The lines under the `## ` heading `heading`, up to the next `## `
/// heading. Fails when there is no such heading.
fn chapter<'d>(text: &'d str, heading: &str) -> Vec<NumberedLine<'d>> {
    let mut lines = text.lines().enumerate().map(|(index, line)| (index + 1, line));
    assert!(lines.any(|(_, line)| line.trim_end() == heading), "docs/{TRACE_FORMAT} has no {heading:?} chapter");
    lines.take_while(|(_, line)| !line.starts_with("## ")).collect()
}

/// The cells of a Markdown table row, trimmed; `None` for a line that is
/// not a row.
fn table_cells(line: &str) -> Option<Vec<&str>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(str::trim).collect())
}

/// `text` without Markdown backticks: "`not_present` / `present`" is the
/// type "not_present / present".
fn without_backticks(text: &str) -> String {
    text.replace('`', "")
}

/// One `###` section of the operations chapter.
struct OpSection<'d> {
    /// The line of its heading.
    line: usize,
    /// The ops its heading names: `### read, write, exec_fetch` names three.
    ops: Vec<String>,
    /// Its lines, heading excluded.
    lines: Vec<NumberedLine<'d>>,
}

/// The `###` sections of the operations chapter, in order.
fn op_sections<'d>(operations: &[NumberedLine<'d>]) -> Vec<OpSection<'d>> {
    let mut sections: Vec<OpSection<'d>> = Vec::new();
    for &(number, line) in operations {
        if let Some(heading) = line.strip_prefix("### ") {
            let ops = heading.split(',').map(|op| without_backticks(op).trim().to_owned()).collect();
            sections.push(OpSection { line: number, ops, lines: Vec::new() });
        } else if let Some(section) = sections.last_mut() {
            section.lines.push((number, line));
        }
    }
    sections
}

/// One row of a section's field table, by the header's column names.
struct FieldRow {
    line: usize,
    name: String,
    type_name: String,
    unit: String,
    required: String,
}

/// The rows of the field tables in `lines`: the tables whose header starts
/// with a `field` column, read by the header's `type`, `unit` and
/// `required` columns.
fn field_rows(lines: &[NumberedLine]) -> Vec<FieldRow> {
    let mut rows = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    for &(line, text) in lines {
        let Some(cells) = table_cells(text) else {
            columns = None;
            continue;
        };
        if cells.first() == Some(&"field") {
            columns = Some(cells.iter().map(|cell| (*cell).to_owned()).collect());
            continue;
        }
        let Some(header) = &columns else { continue };
        let cell = |column: &str| {
            let index = header.iter().position(|name| name == column);
            let cell = index
                .and_then(|index| cells.get(index))
                .unwrap_or_else(|| panic!("docs/{TRACE_FORMAT}:{line}: a field table row without a {column:?} cell"));
            without_backticks(cell)
        };
        if cells.first().is_some_and(|first| first.starts_with('`')) {
            rows.push(FieldRow {
                line,
                name: cell("field"),
                type_name: cell("type"),
                unit: cell("unit"),
                required: cell("required"),
            });
        }
    }
    rows
}

/// How the operations table writes an op's fields: names in table order,
/// the required ones in bold (`**task**, addr, **size**`).
fn overview_fields(spec: &OpSpec) -> String {
    let shown = spec
        .fields
        .iter()
        .map(|field| if field.required { format!("**{}**", field.name) } else { field.name.to_owned() });
    shown.collect::<Vec<_>>().join(", ")
}

/// The fields cell of the operations table's row for `op`, without the
/// note in parentheses that may follow the list; with its line. (The table
/// comes before the chapter's first `###` section.)
fn overview_row<'d>(operations: &[NumberedLine<'d>], op: &str) -> Option<(usize, &'d str)> {
    let mut overview = operations.iter().take_while(|(_, text)| !text.starts_with("### "));
    overview.find_map(|&(line, text)| {
        let cells = table_cells(text)?;
        let named = cells.first()?.split('`').nth(1)?;
        let fields = cells.get(1)?;
        let list = fields.split(" (").next().unwrap_or(fields);
        (named == op).then_some((line, list))
    })
}

#[test]
fn the_operations_table_lists_each_ops_fields_in_order() {
    let text = trace_format_text();
    let operations = chapter(&text, OPERATIONS_CHAPTER);
    let mut failures = Vec::new();
    for spec in OPS {
        let expected = overview_fields(spec);
        match overview_row(&operations, spec.name) {
            None => failures.push(format!("docs/{TRACE_FORMAT}: no row for {} ({expected})", spec.name)),
            Some((_, listed)) if listed == expected => {}
            Some((line, listed)) => failures.push(format!(
                "docs/{TRACE_FORMAT}:{line}: {} is listed with {listed:?}, the op table has {expected:?}",
                spec.name
            )),
        }
    }
    assert!(failures.is_empty(), "the table in {OPERATIONS_CHAPTER:?}:\n{}", failures.join("\n"));
}

/// Does `row` say what the op table says of `field`?
fn row_problem(row: &FieldRow, field: &FieldSpec) -> Option<String> {
    let required_agrees = if field.required { row.required == "yes" } else { row.required.starts_with("no") };
    let expected_required = if field.required { "yes" } else { "no..." };
    if row.type_name != field.kind.type_name() {
        Some(format!("type {:?}, the op table has {:?}", row.type_name, field.kind.type_name()))
    } else if row.unit != field.kind.unit() {
        Some(format!("unit {:?}, the op table has {:?}", row.unit, field.kind.unit()))
    } else if !required_agrees {
        Some(format!("required {:?}, the op table has {expected_required:?}", row.required))
    } else {
        None
    }
}

#[test]
fn every_field_of_every_op_is_documented_in_its_section() {
    let text = trace_format_text();
    let operations = chapter(&text, OPERATIONS_CHAPTER);
    let sections = op_sections(&operations);
    let mut failures = Vec::new();
    for spec in OPS {
        let Some(section) = sections.iter().find(|section| section.ops.iter().any(|op| op == spec.name)) else {
            failures.push(format!("no \"### {}\" section in {OPERATIONS_CHAPTER:?}", spec.name));
            continue;
        };
        let rows = field_rows(&section.lines);
        let mut previous: Option<&FieldRow> = None;
        for field in spec.fields {
            let Some(row) = rows.iter().find(|row| row.name == field.name) else {
                failures.push(format!(
                    "docs/{TRACE_FORMAT}:{}: the section has no row for {}'s field {:?}",
                    section.line, spec.name, field.name
                ));
                continue;
            };
            if let Some(problem) = row_problem(row, field) {
                failures.push(format!("docs/{TRACE_FORMAT}:{}: {}'s {:?}: {problem}", row.line, spec.name, field.name));
            }
            if previous.is_some_and(|previous| previous.line > row.line) {
                failures.push(format!(
                    "docs/{TRACE_FORMAT}:{}: {}'s {:?} comes before a field the op table puts first",
                    row.line, spec.name, field.name
                ));
            }
            previous = Some(row);
        }
    }
    for section in &sections {
        for row in field_rows(&section.lines) {
            let taken = OPS.iter().any(|spec| section.ops.contains(&spec.name.to_owned()) && spec.takes(&row.name));
            if !taken {
                failures.push(format!(
                    "docs/{TRACE_FORMAT}:{}: {:?} is not a field of {}",
                    row.line,
                    row.name,
                    section.ops.join(", ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "fields that docs/{TRACE_FORMAT} does not document as the op table has them:\n{}",
        failures.join("\n")
    );
}
