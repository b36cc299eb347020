//! Opening a trace: a file or standard input, plain or gzip compressed.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;

use super::errors::TraceError;
use super::reader::TraceReader;

/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens a trace file for reading: `-` is standard input, and gzip
/// compressed input (recognised by its magic bytes, not by its name) is
/// decompressed as it is read. Concatenated gzip members are read as one
/// stream, as `zcat` does.
pub fn open_trace(path: &Path) -> Result<TraceReader<Box<dyn BufRead>>, TraceError> {
    let (input, name) = open_input(path)?;
    Ok(TraceReader::new(input, name))
}

/// Opens any text input the way [`open_trace`] does (`-` for stdin, plain
/// or gzip) and returns it with the name errors should give it (`<stdin>`
/// for `-`). The importers of real captures read their input through this.
pub fn open_input(path: &Path) -> Result<(Box<dyn BufRead>, String), TraceError> {
    let from_stdin = path.as_os_str() == "-";
    let name = if from_stdin { "<stdin>".to_owned() } else { path.display().to_string() };
    let io_error = |source| TraceError::Io { file: name.clone(), source };
    let raw: Box<dyn BufRead> = if from_stdin {
        Box::new(io::stdin().lock())
    } else {
        let file = File::open(path).map_err(io_error)?;
        Box::new(BufReader::with_capacity(64 * 1024, file))
    };
    let input = decompress_if_gzip(raw).map_err(io_error)?;
    Ok((input, name))
}

/// Looks at the first two bytes of `input` and, if they are the gzip magic,
/// puts a streaming gzip decoder in front of it. The peeked bytes are put
/// back in front of the stream either way.
pub fn decompress_if_gzip(mut input: Box<dyn BufRead>) -> io::Result<Box<dyn BufRead>> {
    let mut head = Vec::with_capacity(GZIP_MAGIC.len());
    // `take(..).read_to_end` keeps reading until it has both bytes or the
    // input ends: a pipe may hand them over one at a time.
    input.by_ref().take(GZIP_MAGIC.len() as u64).read_to_end(&mut head)?;
    let is_gzip = head == GZIP_MAGIC;
    let whole = Cursor::new(head).chain(input);
    if is_gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(whole);
        Ok(Box::new(BufReader::with_capacity(64 * 1024, decoder)))
    } else {
        Ok(Box::new(whole))
    }
}
