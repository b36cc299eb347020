//! `cowsim record -o FILE -- COMMAND ...`: capture a real program with perf
//! and import the capture (docs/fidelity.md, "Recording a capture").
//!
//! Three steps, in a scratch folder that is removed afterwards:
//!
//! 1. `perf record` with the tracepoints of [`PERF_EVENTS`] runs the command
//!    (its output goes to the terminal as usual) under the exit tracer
//!    (`exit_tracer.rs`), which notes the pages every process has present
//!    when it exits;
//! 2. `perf script --show-mmap-events --show-task-events --show-lost-events`
//!    prints the capture as text, with a line wherever perf's buffer was
//!    full and events were dropped;
//! 3. `cowsim import perf` turns the text, the tracer's notes at its top,
//!    into a trace, and refuses it if more than `--max-lost` of its events
//!    were lost.
//!
//! When perf is not installed, or the kernel does not let this user record
//! tracepoints, the error says which and how to fix it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use workloads::import::{ImportSettings, ImportSummary};

use crate::import::{ImportCommandError, import_file};
use crate::output::{self, OutputError, is_stdout};

/// The events a capture records (page faults, process events, the system
/// calls that change mappings), as `perf record` arguments.
pub const PERF_EVENTS: [&str; 15] = [
    "exceptions:page_fault_user",
    "exceptions:page_fault_kernel",
    "sched:sched_process_fork",
    // The clone flags: whether a child shares its parent's memory (vfork).
    "task:task_newtask",
    "sched:sched_process_exec",
    "sched:sched_process_exit",
    "syscalls:sys_enter_munmap",
    "syscalls:sys_exit_munmap",
    "syscalls:sys_enter_mprotect",
    "syscalls:sys_exit_mprotect",
    "syscalls:sys_enter_brk",
    "syscalls:sys_exit_brk",
    "syscalls:sys_enter_mremap",
    "syscalls:sys_exit_mremap",
    "syscalls:sys_enter_madvise",
];

/// Where perf keeps the setting that decides who may record.
const PARANOID: &str = "/proc/sys/kernel/perf_event_paranoid";

/// Why recording failed. Every variant is the user's to fix (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "perf is not installed: there is no `perf` program on PATH. Install it and try again: \
         on Debian and Ubuntu it is the package linux-perf (`sudo apt-get install linux-perf`), \
         on Fedora the package perf. Recording tracepoints then needs root, or \
         /proc/sys/kernel/perf_event_paranoid set to -1 (`sudo sysctl kernel.perf_event_paranoid=-1`)"
    )]
    PerfMissing,
    #[error("the command to record, {0:?}, was not found")]
    CommandMissing(String),
    #[error("perf could not record (perf record exited with status {status}). {advice}")]
    NotPermitted { status: String, advice: String },
    #[error("perf script failed ({status}): {stderr}")]
    ScriptFailed { status: String, stderr: String },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Import(#[from] ImportCommandError),
}

/// What a recording produced.
#[derive(Debug)]
pub struct Recorded {
    pub summary: ImportSummary,
    /// The command's exit status as perf reported it, when not 0.
    pub command_status: Option<i32>,
}

/// How to record, beyond the command.
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordOptions {
    /// perf's ring buffer in pages a CPU (`perf record -m`); perf's own
    /// default when `None`.
    pub mmap_pages: Option<u32>,
    /// The share of lost events above which the import refuses the
    /// capture, in parts per million.
    pub max_lost_ppm: u32,
}

/// Records `command` with perf and writes the imported trace to `output`;
/// with `perf_text`, the `perf script` text is kept there too.
///
/// Both outputs are checked before perf runs and written beside their
/// places (see [`crate::output`]): a failed recording leaves existing files
/// as they were.
pub fn record(
    command: &[String],
    output: &Path,
    perf_text: Option<&Path>,
    options: &RecordOptions,
) -> Result<Recorded, RecordError> {
    if !is_stdout(output) {
        output::check_file_target(output, &[])?;
    }
    if let Some(keep) = perf_text {
        output::check_file_target(keep, &[])?;
    }
    let perf = find_program("perf").ok_or(RecordError::PerfMissing)?;
    let program = command.first().ok_or_else(|| RecordError::CommandMissing(String::new()))?;
    if !program.contains('/') && find_program(program).is_none()
        || program.contains('/') && !Path::new(program).exists()
    {
        return Err(RecordError::CommandMissing(program.clone()));
    }
    let scratch = Scratch::new()?;
    let data = scratch.path.join("capture.data");
    let mut record = Command::new(&perf);
    record.arg("record").arg("-d");
    if let Some(pages) = options.mmap_pages {
        record.arg("-m").arg(pages.to_string());
    }
    for event in PERF_EVENTS {
        record.arg("-e").arg(event);
    }
    // The program runs under the exit tracer (`exit_tracer.rs`), which
    // notes the pages each process has present when it exits; the importer
    // leaves the tracer's own events out.
    let exits = scratch.path.join("exits.txt");
    let me = std::env::current_exe()
        .map_err(|source| RecordError::Io { what: "finding the cowsim program".to_owned(), source })?;
    record.arg("-o").arg(&data).arg("--").arg(me).arg("__trace-exits").arg("--out").arg(&exits).arg("--");
    record.args(command);
    if output.as_os_str() == "-" {
        // The trace goes to stdout: keep the command's own output out of it.
        record.stdout(std::io::stderr());
    }
    let status =
        record.status().map_err(|source| RecordError::Io { what: format!("running {}", perf.display()), source })?;
    let status_text = status.code().map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string());
    let recorded_something = std::fs::metadata(&data).is_ok_and(|m| m.len() > 0);
    if !recorded_something {
        return Err(RecordError::NotPermitted { status: status_text, advice: permission_advice() });
    }
    let text = scratch.path.join("capture.perf.txt");
    // The exits' residency first, so the importer knows it before the
    // exits come; then perf's text after it, in the same file.
    std::fs::copy(&exits, &text)
        .map_err(|source| RecordError::Io { what: format!("reading {}", exits.display()), source })?;
    let text_file = std::fs::OpenOptions::new()
        .append(true)
        .open(&text)
        .map_err(|source| RecordError::Io { what: format!("opening {}", text.display()), source })?;
    let script = Command::new(&perf)
        .arg("script")
        .arg("-i")
        .arg(&data)
        // Without --show-lost-events, perf script says nothing of the
        // events its buffer dropped, and the trace's gaps would go unseen.
        .args(["--show-mmap-events", "--show-task-events", "--show-lost-events"])
        .stdout(text_file)
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| RecordError::Io { what: format!("running {} script", perf.display()), source })?;
    if !script.status.success() {
        let stderr = String::from_utf8_lossy(&script.stderr).trim().to_owned();
        return Err(RecordError::ScriptFailed { status: script.status.to_string(), stderr });
    }
    if let Some(keep) = perf_text {
        let mut copy = output::AtomicFile::create(keep, &[])?;
        let mut source = File::open(&text)
            .map_err(|source| RecordError::Io { what: format!("reading {}", text.display()), source })?;
        std::io::copy(&mut source, &mut copy)
            .map_err(|source| RecordError::Io { what: format!("writing {}", keep.display()), source })?;
        copy.commit()?;
    }
    let preamble = provenance(&perf, command);
    let perf = workloads::import::perf::PerfImport::default();
    let settings = ImportSettings { max_lost_ppm: options.max_lost_ppm, ..ImportSettings::default() };
    let summary = import_file(&perf, &text, output, &settings, Some(&preamble))?;
    if summary.events == 0 {
        return Err(RecordError::NotPermitted { status: status_text, advice: permission_advice() });
    }
    Ok(Recorded { summary, command_status: status.code().filter(|c| *c != 0) })
}

/// The trace's first comment: the command, perf's version and the kernel.
fn provenance(perf: &Path, command: &[String]) -> String {
    let version = Command::new(perf)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "perf (version unknown)".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_owned(), |k| k.trim().to_owned());
    let words: Vec<String> = command.iter().map(|w| shell_quote(w)).collect();
    format!("recorded by `cowsim record -- {}` with {version}, Linux {kernel}", words.join(" "))
}

/// A word as a POSIX shell would need it written: bare when it is plain,
/// in single quotes otherwise.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// Says why perf may have been refused, from the paranoia setting and
/// whether we are root.
fn permission_advice() -> String {
    let paranoid = std::fs::read_to_string(PARANOID).ok().map(|s| s.trim().to_owned());
    let root = is_root();
    let setting =
        paranoid.as_deref().map_or_else(|| format!("{PARANOID} could not be read"), |v| format!("{PARANOID} is {v}"));
    if root {
        format!(
            "Recording tracepoints needs tracefs (/sys/kernel/tracing) and perf support in the kernel; {setting}. \
             Check that `perf list tracepoint` shows exceptions:page_fault_user."
        )
    } else {
        format!(
            "The kernel does not let this user record tracepoints: {setting}, and tracepoints need root \
             or a setting of -1 plus read access to /sys/kernel/tracing. Run cowsim record as root \
             (sudo), or as root allow it with `sysctl kernel.perf_event_paranoid=-1`."
        )
    }
}

/// Are we root? (The effective uid in /proc/self/status.)
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").ok().is_some_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .is_some_and(|effective| effective == "0")
    })
}

/// The first executable called `name` on PATH.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// A scratch folder, removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new() -> Result<Scratch, RecordError> {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("cowsim-record-{}-{stamp}", std::process::id()));
        std::fs::create_dir(&path)
            .map_err(|source| RecordError::Io { what: format!("creating {}", path.display()), source })?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_quoted_for_a_shell() {
        assert_eq!(super::shell_quote("ls"), "ls");
        assert_eq!(super::shell_quote("/usr/bin/x"), "/usr/bin/x");
        assert_eq!(super::shell_quote("ls /usr | wc -l"), "'ls /usr | wc -l'");
        assert_eq!(super::shell_quote("it's"), r"'it'\''s'");
        assert_eq!(super::shell_quote(""), "''");
    }
}
