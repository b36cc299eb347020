//! `cowsim import perf|lackey FILE [-o FILE]`: the command-line side of the
//! importers in `workloads::import` — opening the input (a file or `-`,
//! plain or gzip) and the output (a file or `-`), and nothing else.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use workloads::import::{IMPORTERS, ImportError, ImportSettings, ImportSummary, Importer};
use workloads::trace::{TraceWriter, open_input};

use crate::output::{AtomicFile, OutputError, is_stdout};

/// The names of the importers, for the command line's list of choices.
pub fn importer_names() -> Vec<&'static str> {
    IMPORTERS.iter().map(|i| i.name()).collect()
}

/// Why `cowsim import` (or the import step of `cowsim record`) failed.
/// Both are exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ImportCommandError {
    /// The output path cannot be written (checked before reading a line).
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The capture is bad, or writing the trace failed.
    #[error(transparent)]
    Import(#[from] ImportError),
}

impl ImportCommandError {
    /// Did the import stop because the reader of stdout went away
    /// (`cowsim import ... | head`)? That is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ImportCommandError::Import(ImportError::Output { source, .. })
            if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Imports `input` (`-` for stdin) into a trace at `output` (`-` for
/// stdout). A perf import repairs event order within `window` events.
/// `preamble`, if any, opens the trace as a comment (where the capture came
/// from).
///
/// The output is checked before the input is read (not a folder, not a
/// device, not the input itself) and written beside its final place: only a
/// finished import replaces it, so a failure leaves any existing file as it
/// was.
pub fn import_file(
    importer: &dyn Importer,
    input: &Path,
    output: &Path,
    settings: &ImportSettings,
    preamble: Option<&str>,
) -> Result<ImportSummary, ImportCommandError> {
    if is_stdout(output) {
        let stdout = BufWriter::with_capacity(256 * 1024, io::stdout().lock());
        let (summary, _) = import_into(importer, input, stdout, "<stdout>", settings, preamble)?;
        return Ok(summary);
    }
    let file = AtomicFile::create(output, &[input])?;
    let (summary, file) = import_into(importer, input, file, &output.display().to_string(), settings, preamble)?;
    file.commit()?;
    Ok(summary)
}

/// Imports `input` into `sink`, named `output_name` in errors, and hands
/// the sink back flushed.
fn import_into<W: Write>(
    importer: &dyn Importer,
    input: &Path,
    sink: W,
    output_name: &str,
    settings: &ImportSettings,
    preamble: Option<&str>,
) -> Result<(ImportSummary, W), ImportError> {
    let (mut reader, input_name) = open_input(input)?;
    let output_error = |source| ImportError::Output { file: output_name.to_owned(), source };
    let mut writer = TraceWriter::new(sink);
    if let Some(text) = preamble {
        writer.write_comment(text).map_err(output_error)?;
    }
    let summary = importer.import(&mut reader, &input_name, &mut writer, output_name, settings)?;
    writer.flush().map_err(output_error)?;
    Ok((summary, writer.into_inner()))
}
