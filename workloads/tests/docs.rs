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
//! least once, so a new op cannot be added without documenting it.
//!
//! A failure names the document and the line of the offending example.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use sim::{Config, PolicyKind, Sim, TraceOp};
use workloads::trace::{OP_NAMES, parse_line};

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
