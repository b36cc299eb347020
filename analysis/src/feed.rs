//! Feeds: where a replay's ops come from, streamed.
//!
//! A [`Feed`] is an input that can be read from the start as often as
//! needed: a trace (JSON Lines), a real capture imported on the fly, or a
//! generated workload. [`Feed::stream`] reads it on a thread of its own and
//! hands the ops over in batches through a bounded channel, so that parsing
//! or importing on one core overlaps simulating on the other, and memory
//! holds a few batches, never the whole input: a capture of twenty million
//! lines replays in the memory of a small one.
//!
//! ```text
//!   producer thread                          caller's thread
//!   read / import / generate ──batches──►  consume(op) for each op
//!          ▲                                     │
//!          └──── stops when the consumer ◄───────┘ returns an error
//! ```
//!
//! Standard input and FIFOs can be read only once, so [`Source::read_once`]
//! turns them into bytes in memory when an input must be read twice (a
//! comparison counts an input's ops before it replays them).

use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use sim::TraceOp;
use workloads::generators;
use workloads::import::{ImportSettings, ImportSummary, Importer, OpList, OpSink};
use workloads::trace::{Located, MAX_LINE_BYTES, TraceError, TraceReader, decompress_if_gzip, open_input};

use crate::replay::{Origin, ReplayError};

/// The argument that names standard input.
pub const STDIN: &str = "-";

/// The name reports and output folders give a trace read from stdin.
const STDIN_LABEL: &str = "stdin";

/// Ops handed over at once: large enough that the channel costs nothing
/// per op, small enough that a few batches in flight are a few megabytes.
const BATCH_OPS: usize = 4096;

/// Batches in flight between the producer and the consumer.
const BATCHES_IN_FLIGHT: usize = 4;

/// Where a trace's or capture's bytes come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A file, or `-` for standard input (read once).
    File(PathBuf),
    /// A built-in suite file: its path in the repository, and its bytes.
    Embedded { path: &'static str, bytes: &'static [u8] },
    /// Bytes read from something that cannot be read twice (stdin, a FIFO),
    /// with the name it was given.
    Bytes { name: String, bytes: Arc<[u8]> },
}

impl Source {
    /// The name error messages start with: the path as given, `<stdin>`,
    /// or the suite file's path in the repository.
    pub fn name(&self) -> String {
        match self {
            Source::File(path) if path.as_os_str() == STDIN => "<stdin>".to_owned(),
            Source::File(path) => path.display().to_string(),
            Source::Embedded { path, .. } => (*path).to_owned(),
            Source::Bytes { name, .. } => name.clone(),
        }
    }

    /// The file's name without folders, as reports show it (`stdin` for
    /// standard input).
    pub fn file_name(&self) -> String {
        let name = self.name();
        if name == "<stdin>" {
            return STDIN_LABEL.to_owned();
        }
        Path::new(&name).file_name().map_or_else(|| name.clone(), |f| f.to_string_lossy().into_owned())
    }

    /// This source as one that can be read again: stdin and anything that
    /// is not a regular file (a FIFO, a device) are read into memory now.
    /// A line that passes the line limit stops the reading at once, as the
    /// trace reader would (`/dev/zero` has no end to wait for).
    pub fn read_once(self) -> Result<Source, TraceError> {
        let Source::File(path) = &self else { return Ok(self) };
        let rereadable = path.as_os_str() != STDIN && std::fs::metadata(path).is_ok_and(|m| m.is_file());
        if rereadable {
            return Ok(self);
        }
        let name = self.name();
        let io_error = |source| TraceError::Io { file: name.clone(), source };
        let bytes = if path.as_os_str() == STDIN {
            read_lines_into_memory(io::stdin().lock(), &name)?
        } else {
            read_lines_into_memory(std::fs::File::open(path).map_err(io_error)?, &name)?
        };
        Ok(Source::Bytes { name, bytes: bytes.into() })
    }

    /// Opens the bytes (decompressing gzip), with the name errors give them.
    fn open(&self) -> Result<(Box<dyn BufRead>, String), TraceError> {
        let in_memory = |name: String, bytes: Box<dyn BufRead>| {
            let input = decompress_if_gzip(bytes).map_err(|source| TraceError::Io { file: name.clone(), source })?;
            Ok((input, name))
        };
        match self {
            Source::File(path) => open_input(path),
            Source::Embedded { path, bytes } => in_memory((*path).to_owned(), Box::new(*bytes)),
            Source::Bytes { name, bytes } => in_memory(name.clone(), Box::new(io::Cursor::new(Arc::clone(bytes)))),
        }
    }
}

/// Reads `input` to its end, failing as soon as a line passes
/// [`MAX_LINE_BYTES`] (unless the input is gzip, whose bytes are not lines).
fn read_lines_into_memory(mut input: impl Read, name: &str) -> Result<Vec<u8>, TraceError> {
    let io_error = |source| TraceError::Io { file: name.to_owned(), source };
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let (mut line, mut line_length) = (1usize, 0usize);
    loop {
        let read = match input.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(io_error(error)),
        };
        bytes.extend_from_slice(&chunk[..read]);
        if bytes.starts_with(&GZIP_MAGIC) {
            continue;
        }
        for &byte in &chunk[..read] {
            line_length += 1;
            if byte == b'\n' {
                (line, line_length) = (line + 1, 0);
            } else if line_length >= MAX_LINE_BYTES {
                let message = format!("line is longer than {MAX_LINE_BYTES} bytes");
                return Err(TraceError::Parse { file: name.to_owned(), line, column: 1, message });
            }
        }
    }
}

/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An input whose ops can be streamed, from the start, as often as needed.
#[derive(Clone, Debug)]
pub enum Feed {
    /// A trace (JSON Lines, plain or gzip).
    Trace(Source),
    /// A real capture, imported as it is read.
    Capture { source: Source, importer: &'static dyn Importer },
    /// A generated workload, with its default seed and parameters (the
    /// trace `cowsim gen NAME` writes).
    Workload(&'static str),
}

impl Feed {
    /// A trace or a capture, told apart by the file's name
    /// (`NAME.perf.txt[.gz]`, `NAME.lackey.txt[.gz]` are captures).
    pub fn of_source(source: Source) -> Feed {
        match workloads::import::for_file(&source.file_name()) {
            Some(importer) => Feed::Capture { source, importer },
            None => Feed::Trace(source),
        }
    }

    /// The generated workload called `name`, if a generator has that name.
    pub fn workload(name: &str) -> Option<Feed> {
        generators::find(name).ok().map(|w| Feed::Workload(w.name))
    }

    /// How positions in this input are named in messages.
    pub fn origin(&self) -> Origin {
        match self {
            Feed::Trace(source) => Origin::Trace(source.name()),
            Feed::Capture { source, .. } => Origin::Capture(source.name()),
            Feed::Workload(name) => Origin::Workload((*name).to_owned()),
        }
    }

    /// What reports show in their `trace` field: the file's name without
    /// folders, or the workload's name.
    pub fn report_name(&self) -> String {
        match self {
            Feed::Trace(source) | Feed::Capture { source, .. } => source.file_name(),
            Feed::Workload(name) => (*name).to_owned(),
        }
    }

    /// The importer, when this input is a real capture.
    pub fn importer(&self) -> Option<&'static dyn Importer> {
        match self {
            Feed::Capture { importer, .. } => Some(*importer),
            Feed::Trace(_) | Feed::Workload(_) => None,
        }
    }

    /// This feed as one that can be read again (see [`Source::read_once`]).
    pub fn read_once(self) -> Result<Feed, ReplayError> {
        Ok(match self {
            Feed::Trace(source) => Feed::Trace(source.read_once()?),
            Feed::Capture { source, importer } => Feed::Capture { source: source.read_once()?, importer },
            Feed::Workload(name) => Feed::Workload(name),
        })
    }

    /// The ops one at a time, on the caller's thread, for the views that
    /// stop between ops. A trace is read as it goes; a capture is imported
    /// into memory first (a narration or a graph is for captures of a
    /// size a person reads).
    pub fn ops(&self, settings: &ImportSettings) -> Result<OpsIter, ReplayError> {
        match self {
            Feed::Trace(source) => {
                let (input, name) = source.open()?;
                Ok(OpsIter::Reading(TraceReader::new(input, name)))
            }
            Feed::Capture { source, importer } => {
                let (mut input, name) = source.open()?;
                let mut list = OpList::default();
                importer.import(&mut input, &name, &mut list, &format!("{name} (imported)"), settings)?;
                Ok(OpsIter::Imported(list.ops.into_iter()))
            }
            Feed::Workload(name) => {
                let workload = generators::find(name).expect("a workload feed names a generator");
                let ops = workload.generate(generators::DEFAULT_SEED, &workload.default_params());
                Ok(OpsIter::Generated(Box::new(ops.enumerate().map(|(i, value)| Located { line: i + 1, value }))))
            }
        }
    }

    /// Streams the ops, in order, to `consume`, each with its line (for a
    /// capture, its line in the trace `cowsim import` would write; for a
    /// workload, its position). The input is read on a thread of its own;
    /// the first error `consume` returns stops the reading and is returned.
    /// For a capture, returns the importer's summary.
    pub fn stream(
        &self,
        settings: &ImportSettings,
        mut consume: impl FnMut(&Located<TraceOp>) -> Result<(), ReplayError>,
    ) -> Result<Option<ImportSummary>, ReplayError> {
        let (sender, batches) = sync_channel(BATCHES_IN_FLIGHT);
        std::thread::scope(|scope| {
            let producer = scope.spawn(|| self.produce(Batcher::new(sender), settings));
            let consumed = consume_batches(&batches, &mut consume);
            // Dropping the receiver stops a producer still writing.
            drop(batches);
            let produced = producer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            consumed?;
            match produced {
                Err(Produce::Failed(error)) => Err(error),
                Err(Produce::ConsumerGone) => Ok(None),
                Ok(summary) => Ok(summary),
            }
        })
    }

    /// Counts the ops, without keeping them: a streaming pass.
    pub fn count_ops(&self, settings: &ImportSettings) -> Result<usize, ReplayError> {
        let mut ops = 0;
        self.stream(settings, |_| {
            ops += 1;
            Ok(())
        })?;
        Ok(ops)
    }

    /// Reads the input and hands every op to `out`, on the producer thread;
    /// a capture's import summary at the end.
    fn produce(&self, mut out: Batcher, settings: &ImportSettings) -> Result<Option<ImportSummary>, Produce> {
        let mut summary = None;
        match self {
            Feed::Trace(source) => {
                let (input, name) = source.open().map_err(ReplayError::from)?;
                for op in TraceReader::new(input, name) {
                    out.push(op.map_err(ReplayError::from)?)?;
                }
            }
            Feed::Capture { source, importer } => {
                let (mut input, name) = source.open().map_err(ReplayError::from)?;
                let sink_name = format!("{name} (imported)");
                let imported = importer.import(&mut input, &name, &mut out, &sink_name, settings);
                if out.consumer_gone {
                    return Err(Produce::ConsumerGone);
                }
                summary = Some(imported.map_err(ReplayError::from)?);
            }
            Feed::Workload(name) => {
                let workload = generators::find(name).expect("a workload feed names a generator");
                let ops = workload.generate(generators::DEFAULT_SEED, &workload.default_params());
                for (index, value) in ops.enumerate() {
                    out.push(Located { line: index + 1, value })?;
                }
            }
        }
        out.finish()?;
        Ok(summary)
    }
}

/// The ops of a feed, one at a time (see [`Feed::ops`]).
pub enum OpsIter {
    Reading(TraceReader<Box<dyn BufRead>>),
    Imported(std::vec::IntoIter<Located<TraceOp>>),
    Generated(Box<dyn Iterator<Item = Located<TraceOp>>>),
}

impl Iterator for OpsIter {
    type Item = Result<Located<TraceOp>, ReplayError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            OpsIter::Reading(reader) => reader.next().map(|op| op.map_err(ReplayError::from)),
            OpsIter::Imported(ops) => ops.next().map(Ok),
            OpsIter::Generated(ops) => ops.next().map(Ok),
        }
    }
}

/// Why the producer stopped early.
enum Produce {
    /// The input is bad: the error goes to the caller.
    Failed(ReplayError),
    /// The consumer stopped taking ops; its own error says why.
    ConsumerGone,
}

impl From<ReplayError> for Produce {
    fn from(error: ReplayError) -> Self {
        Produce::Failed(error)
    }
}

fn consume_batches(
    batches: &Receiver<Vec<Located<TraceOp>>>,
    consume: &mut impl FnMut(&Located<TraceOp>) -> Result<(), ReplayError>,
) -> Result<(), ReplayError> {
    for batch in batches {
        batch.iter().try_for_each(&mut *consume)?;
    }
    Ok(())
}

/// The producer's end of the channel: collects ops into batches. It is an
/// [`OpSink`] too, numbering an importer's ops by the line each would have
/// in the written trace (comment lines counted), as `OpList` does.
struct Batcher {
    batch: Vec<Located<TraceOp>>,
    sender: SyncSender<Vec<Located<TraceOp>>>,
    /// Lines an importer's written trace would have so far.
    lines: usize,
    consumer_gone: bool,
}

impl Batcher {
    fn new(sender: SyncSender<Vec<Located<TraceOp>>>) -> Batcher {
        Batcher { batch: Vec::with_capacity(BATCH_OPS), sender, lines: 0, consumer_gone: false }
    }

    fn push(&mut self, op: Located<TraceOp>) -> Result<(), Produce> {
        self.batch.push(op);
        if self.batch.len() == BATCH_OPS { self.send() } else { Ok(()) }
    }

    fn send(&mut self) -> Result<(), Produce> {
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_OPS));
        self.sender.send(full).map_err(|_| {
            self.consumer_gone = true;
            Produce::ConsumerGone
        })
    }

    fn finish(mut self) -> Result<(), Produce> {
        if self.batch.is_empty() { Ok(()) } else { self.send() }
    }
}

impl OpSink for Batcher {
    fn op(&mut self, op: TraceOp) -> io::Result<()> {
        self.lines += 1;
        let located = Located { line: self.lines, value: op };
        self.push(located).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the replay stopped"))
    }

    fn comment(&mut self, text: &str) -> io::Result<()> {
        self.lines += text.split('\n').count();
        Ok(())
    }
}
