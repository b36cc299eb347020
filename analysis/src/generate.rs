//! `cowsim gen` and `cowsim workloads`: the seeded generators of
//! `workloads::generators` on the command line.
//!
//! `cowsim gen NAME --seed S --param k=v -o FILE` checks the name and every
//! parameter before it opens the output (so a typo never truncates a file),
//! then streams the trace straight to the file or stdout, one op at a time.
//! The trace opens with `#` lines giving the exact command that remakes it.

use std::io::{self, BufWriter};
use std::path::Path;

use workloads::generators::{self, DEFAULT_SEED, GenError, WORKLOADS};

use crate::output::{AtomicFile, OutputError, is_stdout};

/// Why `cowsim gen` failed. Both are exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum GenCommandError {
    /// An unknown workload or a bad `--param`.
    #[error("{0}")]
    Setup(#[from] GenError),
    /// The output path cannot be written (checked before generating).
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The output could not be created or written.
    #[error("{path}: {source}")]
    Write { path: String, source: io::Error },
}

/// Generates workload `name` with `seed` and `settings` (`NAME=VALUE`) and
/// writes it to `output` (`None` or `-`: stdout). Returns the number of ops
/// written. A reader that closes stdout early (`cowsim gen ... | head`) is
/// not an error: writing just stops. A file is written beside its place and
/// renamed into it when complete (see [`crate::output`]).
pub fn generate(name: &str, seed: u64, settings: &[String], output: Option<&Path>) -> Result<u64, GenCommandError> {
    let workload = generators::find(name)?;
    let params = workload.parse_params(settings)?;
    let Some(path) = output.filter(|p| !is_stdout(p)) else {
        return match generators::write_trace(workload, seed, &params, BufWriter::new(io::stdout().lock())) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
            result => result.map_err(|source| GenCommandError::Write { path: "stdout".to_owned(), source }),
        };
    };
    let failed = |source: io::Error| GenCommandError::Write { path: path.display().to_string(), source };
    let mut file = AtomicFile::create(path, &[])?;
    let ops = generators::write_trace(workload, seed, &params, &mut file).map_err(failed)?;
    file.commit()?;
    Ok(ops)
}

/// The text of `cowsim workloads`: each generator on one line with what it
/// demonstrates, then one line per parameter with its default and meaning.
pub fn list() -> String {
    let name_width = WORKLOADS.iter().map(|w| w.name.len()).max().unwrap_or(0);
    let setting_width =
        WORKLOADS.iter().flat_map(|w| w.params).map(|p| p.name.len() + 1 + p.show(p.default).len()).max().unwrap_or(0);
    let mut text = String::new();
    for workload in &WORKLOADS {
        text.push_str(&format!("{:<name_width$}  {}\n", workload.name, workload.summary));
        for p in workload.params {
            let setting = format!("{}={}", p.name, p.show(p.default));
            text.push_str(&format!("    {setting:<setting_width$}  {}\n", p.meaning));
        }
    }
    text.push_str(&format!(
        "Every workload takes --seed S (default {DEFAULT_SEED}) and --param NAME=VALUE to change a default; \
         e.g. cowsim gen fork-exit --seed 3 --param rounds=100 -o fork-exit.jsonl\n"
    ));
    text
}
