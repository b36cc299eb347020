//! `cowsim import perf|lackey FILE [-o FILE]`: the command-line side of the
//! importers in `workloads::import` — opening the input (a file or `-`,
//! plain or gzip) and the output (a file or `-`), and nothing else.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use workloads::import::lackey::LackeyImport;
use workloads::import::perf::PerfImport;
use workloads::import::{ImportError, ImportSummary};
use workloads::trace::{TraceWriter, open_input};

/// The capture formats `cowsim import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `perf script --show-mmap-events --show-task-events` text of a capture
    /// recorded as in DESIGN.md §6.
    Perf,
    /// A `valgrind --tool=lackey --trace-mem=yes` log.
    Lackey,
}

impl Format {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Perf => "perf",
            Format::Lackey => "lackey",
        }
    }
}

/// Imports `input` (`-` for stdin) into a trace at `output` (`-` for
/// stdout). A perf import repairs event order within `window` events.
/// `preamble`, if any, opens the trace as a comment (where the capture came
/// from). On failure a partly written output file is removed.
pub fn import_file(
    format: Format,
    input: &Path,
    output: &Path,
    window: usize,
    preamble: Option<&str>,
) -> Result<ImportSummary, ImportError> {
    let (reader, input_name) = open_input(input)?;
    let to_stdout = output.as_os_str() == "-";
    let output_name = if to_stdout { "<stdout>".to_owned() } else { output.display().to_string() };
    let output_error = |source| ImportError::Output { file: output_name.clone(), source };
    let sink: Box<dyn Write> =
        if to_stdout { Box::new(io::stdout().lock()) } else { Box::new(File::create(output).map_err(output_error)?) };
    let mut writer = TraceWriter::new(BufWriter::with_capacity(256 * 1024, sink));
    if let Some(text) = preamble {
        writer.write_comment(text).map_err(output_error)?;
    }
    let result = match format {
        Format::Perf => PerfImport { window }.run(reader, &input_name, &mut writer, &output_name),
        Format::Lackey => LackeyImport.run(reader, &input_name, &mut writer, &output_name),
    };
    if result.is_err() && !to_stdout {
        drop(writer);
        let _ = std::fs::remove_file(output);
    }
    result
}
