//! The binary's side of `cowsim graph` and `cowsim explain`: files, stdout
//! and the mapping of failures to exit codes (the views themselves live in
//! the library: `object_graph.rs`, `narrate.rs`).
//!
//! A replay failure keeps its own type inside the `anyhow::Error`, so
//! `main` gives it its exit code (1 for an unmet `expect`, 2 for bad
//! input); every other failure here is bad usage or input (exit 2).

use std::io::Write;
use std::path::Path;

use analysis::narrate::{self, ExplainError};
use analysis::object_graph::{self, GraphError};
use analysis::output;
use anyhow::Context;
use sim::{Config, PolicyKind};

/// What `-o` asks for.
enum GraphOutput<'p> {
    DotToStdout,
    Dot(&'p Path),
    Svg(&'p Path),
}

/// `cowsim graph`: replays to op `at` and writes the world's graph.
pub fn graph(
    trace: &Path,
    policy: PolicyKind,
    config: &Config,
    at: Option<u64>,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let target = graph_output(output)?;
    if let GraphOutput::Dot(path) | GraphOutput::Svg(path) = target {
        output::check_file_target(path, &[trace])?;
    }
    let (graph, caption) = object_graph::graph_at(trace, policy, config, at).map_err(graph_error)?;
    let dot = object_graph::to_dot(&graph, &caption);
    match target {
        GraphOutput::DotToStdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(dot.as_bytes()).or_else(ignore_broken_pipe).context("writing to stdout")?;
        }
        GraphOutput::Dot(path) => output::write_file(path, dot.as_bytes(), &[trace])?,
        GraphOutput::Svg(path) => {
            object_graph::check_svg_size(&graph)?;
            let svg = object_graph::to_svg(&graph, &caption);
            output::write_file(path, svg.as_bytes(), &[trace])?;
        }
    }
    Ok(())
}

/// Reads `-o`: by the file's extension, `.dot` or `.svg`; `-` or nothing
/// is DOT on stdout.
fn graph_output(output: Option<&Path>) -> anyhow::Result<GraphOutput<'_>> {
    let Some(path) = output.filter(|p| *p != Path::new("-")) else { return Ok(GraphOutput::DotToStdout) };
    match path.extension().and_then(|e| e.to_str()) {
        Some("dot" | "gv") => Ok(GraphOutput::Dot(path)),
        Some("svg") => Ok(GraphOutput::Svg(path)),
        _ => {
            anyhow::bail!("-o {}: the file name must end in .dot or .svg (or use - for DOT on stdout)", path.display())
        }
    }
}

fn graph_error(error: GraphError) -> anyhow::Error {
    match error {
        GraphError::Replay(replay) => replay.into(),
        other => other.into(),
    }
}

/// `cowsim explain`: narrates ops `from..=to` to `out`.
pub fn explain(
    trace: &Path,
    policy: PolicyKind,
    config: &Config,
    from: Option<u64>,
    to: Option<u64>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    narrate::explain(trace, policy, config, from, to, out).map_err(|error| match error {
        ExplainError::Replay(replay) => replay.into(),
        other => other.into(),
    })
}

/// A reader that went away (`cowsim explain ... | head`) is not an error.
/// Every command that writes to stdout passes its write errors through
/// this (or asks [`is_broken_pipe`]), so `cowsim ... | head` ends quietly
/// with exit 0.
pub fn ignore_broken_pipe(error: std::io::Error) -> std::io::Result<()> {
    if is_broken_pipe(&error) { Ok(()) } else { Err(error) }
}

/// Did a write fail because its reader closed the pipe?
pub fn is_broken_pipe(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::BrokenPipe
}
