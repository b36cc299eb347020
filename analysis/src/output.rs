//! Writing a user's files without ever destroying one.
//!
//! Every command that writes a file (`import`, `gen`, `record`, `graph -o`,
//! `compare --out`) goes through this module, which keeps three promises:
//!
//! 1. **Checked before any work.** An output path that is a folder, that
//!    exists but is not a regular file (a device, a FIFO, a socket), or that
//!    is one of the command's own inputs is refused at once, before a single
//!    op is read: `cowsim import perf cap.txt -o cap.txt` must not trade a
//!    capture for half a trace. A symbolic link is followed: the file it
//!    points at is the target, and the link stays a link.
//! 2. **Written beside the target, renamed into place on success.** The
//!    bytes go to a hidden temporary file in the target's own folder (so the
//!    rename cannot cross file systems), and only a finished file is renamed
//!    over the target. A reader never sees a half-written output, and a
//!    failure — bad input found halfway, a full disk, a panic — leaves the
//!    target exactly as it was, existing or not.
//! 3. **Nothing left behind.** A temporary file that was not committed is
//!    removed when its [`AtomicFile`] is dropped.
//!
//! `-` (standard output) is not a file and none of this applies to it.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why an output path cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{}: is a folder; name a file to write", .path.display())]
    IsFolder { path: PathBuf },
    #[error("{}: is not a regular file (a device, FIFO or socket); cowsim only replaces regular files", .path.display())]
    NotRegular { path: PathBuf },
    #[error("{}: is also an input of this command; writing it would destroy the input", .path.display())]
    IsInput { path: PathBuf },
    #[error("{}: is a file; --out names a folder", .path.display())]
    NotAFolder { path: PathBuf },
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl OutputError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
        move |source| OutputError::Io { path: path.to_path_buf(), source }
    }
}

/// Is `path` the conventional "standard output"?
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Checks that `path` may be written as a file and returns the path to
/// replace: `path` itself, or the file a symbolic link at `path` points at.
/// Refuses folders, non-regular files and any of `inputs` (compared by
/// device and inode, so `./cap.txt` and `cap.txt` are the same file).
/// Nothing is created.
pub fn check_file_target(path: &Path, inputs: &[&Path]) -> Result<PathBuf, OutputError> {
    let target = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => resolve_link(path)?,
        _ => path.to_path_buf(),
    };
    match fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => return Err(OutputError::IsFolder { path: path.to_path_buf() }),
        Ok(meta) if !meta.is_file() => return Err(OutputError::NotRegular { path: path.to_path_buf() }),
        Ok(_) if inputs.iter().any(|input| same_file(&target, input)) => {
            return Err(OutputError::IsInput { path: path.to_path_buf() });
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(OutputError::Io { path: path.to_path_buf(), source }),
    }
    Ok(target)
}

/// Checks that `path` may hold a folder of outputs: it is a folder or does
/// not exist yet (it is created when the outputs are written).
pub fn check_folder_target(path: &Path) -> Result<(), OutputError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(OutputError::NotAFolder { path: path.to_path_buf() }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(OutputError::Io { path: path.to_path_buf(), source }),
    }
}

/// The file a symbolic link points at, with a relative target read from
/// the link's own folder. A dangling link names a file to create.
fn resolve_link(link: &Path) -> Result<PathBuf, OutputError> {
    let pointed = fs::read_link(link).map_err(OutputError::io(link))?;
    let target = link.parent().map_or_else(|| pointed.clone(), |folder| folder.join(&pointed));
    // A link to a link: follow it all the way, as opening the path would.
    match fs::canonicalize(&target) {
        Ok(real) => Ok(real),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(target),
        Err(source) => Err(OutputError::Io { path: link.to_path_buf(), source }),
    }
}

/// Do `a` and `b` name the same existing file?
#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

/// A file being written beside its target: [`AtomicFile::commit`] renames
/// it into place; dropping it uncommitted removes it and leaves the target
/// untouched.
pub struct AtomicFile {
    writer: Option<BufWriter<File>>,
    temporary: PathBuf,
    target: PathBuf,
}

/// Makes temporary names unique within this process (the process id makes
/// them unique across processes).
static TEMPORARY_SERIAL: AtomicU64 = AtomicU64::new(0);

impl AtomicFile {
    /// Checks `path` with [`check_file_target`] (against `inputs`), then
    /// creates the temporary file beside the target.
    pub fn create(path: &Path, inputs: &[&Path]) -> Result<AtomicFile, OutputError> {
        let target = check_file_target(path, inputs)?;
        AtomicFile::create_checked(target)
    }

    /// Creates the temporary file for `target`, a path already checked.
    fn create_checked(target: PathBuf) -> Result<AtomicFile, OutputError> {
        let temporary = temporary_beside(&target);
        let file = fs::OpenOptions::new().write(true).create_new(true).open(&temporary).map_err(|source| {
            // The error names the file the user asked for, not our temporary.
            OutputError::Io { path: target.clone(), source }
        })?;
        Ok(AtomicFile { writer: Some(BufWriter::with_capacity(256 * 1024, file)), temporary, target })
    }

    /// The file that [`AtomicFile::commit`] will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes the bytes and renames the file over the target. An existing
    /// target keeps its permissions.
    pub fn commit(self) -> Result<(), OutputError> {
        self.close()?.commit()
    }

    /// Flushes and closes the file without renaming it yet: the first half
    /// of a commit, for writing a set of files that land together.
    fn close(mut self) -> Result<Staged, OutputError> {
        let writer = self.writer.take().expect("an uncommitted file has its writer");
        let staged =
            Staged { temporary: std::mem::take(&mut self.temporary), target: std::mem::take(&mut self.target) };
        let file =
            writer.into_inner().map_err(|e| OutputError::Io { path: staged.target.clone(), source: e.into_error() })?;
        if let Ok(existing) = fs::metadata(&staged.target) {
            file.set_permissions(existing.permissions()).map_err(OutputError::io(&staged.target))?;
        }
        Ok(staged)
    }
}

/// A finished temporary file waiting to be renamed over its target;
/// removed if dropped first.
struct Staged {
    temporary: PathBuf,
    target: PathBuf,
}

impl Staged {
    fn commit(mut self) -> Result<(), OutputError> {
        let temporary = std::mem::take(&mut self.temporary);
        fs::rename(&temporary, &self.target).map_err(|source| {
            let _ = fs::remove_file(&temporary);
            OutputError::Io { path: self.target.clone(), source }
        })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.temporary.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.temporary);
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().expect("an uncommitted file has its writer").write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("an uncommitted file has its writer").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // After `close` the temporary belongs to its `Staged`.
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.temporary);
        }
    }
}

/// A hidden name in `target`'s folder that no other writer uses.
fn temporary_beside(target: &Path) -> PathBuf {
    let name = target.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let serial = TEMPORARY_SERIAL.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.cowsim-{}-{serial}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` atomically (see [`AtomicFile`]).
pub fn write_file(path: &Path, bytes: &[u8], inputs: &[&Path]) -> Result<(), OutputError> {
    let mut file = AtomicFile::create(path, inputs)?;
    file.write_all(bytes).map_err(OutputError::io(path))?;
    file.commit()
}

/// Writes a set of files under `folder` (paths relative to it) so that a
/// failure while writing changes none of them: every file is first written
/// to its temporary and closed, and only when all are written are they
/// renamed into place (a rename in one folder does not fail for want of
/// space). Folders are created as needed.
pub fn write_files(folder: &Path, files: &[(PathBuf, Vec<u8>)]) -> Result<(), OutputError> {
    check_folder_target(folder)?;
    let mut staged = Vec::with_capacity(files.len());
    for (relative, bytes) in files {
        let path = folder.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(OutputError::io(parent))?;
        }
        let target = check_file_target(&path, &[])?;
        let mut file = AtomicFile::create_checked(target)?;
        file.write_all(bytes).map_err(OutputError::io(&path))?;
        staged.push(file.close()?);
    }
    staged.into_iter().try_for_each(Staged::commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary folder, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let path = std::env::temp_dir().join(format!("cowsim-output-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            Scratch(path)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn entries(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn an_uncommitted_file_leaves_the_target_and_no_temporary() {
        let scratch = Scratch::new("uncommitted");
        let target = scratch.0.join("trace.jsonl");
        fs::write(&target, "precious\n").unwrap();
        let mut file = AtomicFile::create(&target, &[]).unwrap();
        file.write_all(b"half a trace").unwrap();
        drop(file);
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
        assert_eq!(entries(&scratch.0), ["trace.jsonl"]);
    }

    #[test]
    fn a_committed_file_replaces_the_target_and_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = Scratch::new("committed");
        let target = scratch.0.join("trace.jsonl");
        fs::write(&target, "old\n").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        write_file(&target, b"new\n", &[]).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new\n");
        assert_eq!(fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(entries(&scratch.0), ["trace.jsonl"]);
    }

    #[test]
    fn folders_devices_and_inputs_are_refused() {
        let scratch = Scratch::new("refused");
        assert!(matches!(check_file_target(&scratch.0, &[]), Err(OutputError::IsFolder { .. })));
        assert!(matches!(check_file_target(Path::new("/dev/null"), &[]), Err(OutputError::NotRegular { .. })));
        let input = scratch.0.join("cap.txt");
        fs::write(&input, "capture").unwrap();
        let same = scratch.0.join(".").join("cap.txt");
        assert!(matches!(check_file_target(&same, &[&input]), Err(OutputError::IsInput { .. })));
        assert!(matches!(check_folder_target(&input), Err(OutputError::NotAFolder { .. })));
    }

    #[test]
    fn a_link_is_followed_and_stays_a_link() {
        let scratch = Scratch::new("link");
        let real = scratch.0.join("real.jsonl");
        fs::write(&real, "old\n").unwrap();
        let link = scratch.0.join("link.jsonl");
        std::os::unix::fs::symlink("real.jsonl", &link).unwrap();
        write_file(&link, b"new\n", &[]).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new\n");
        let input_behind_link = check_file_target(&link, &[&real]);
        assert!(matches!(input_behind_link, Err(OutputError::IsInput { .. })));
    }

    #[test]
    fn a_set_of_files_is_all_or_nothing() {
        let scratch = Scratch::new("set");
        fs::write(scratch.0.join("a.json"), "old a").unwrap();
        fs::create_dir(scratch.0.join("b.json")).unwrap();
        let files = vec![(PathBuf::from("a.json"), b"new a".to_vec()), (PathBuf::from("b.json"), b"new b".to_vec())];
        assert!(write_files(&scratch.0, &files).is_err(), "b.json is a folder");
        assert_eq!(fs::read_to_string(scratch.0.join("a.json")).unwrap(), "old a");
        assert_eq!(entries(&scratch.0), ["a.json", "b.json"]);
    }
}
