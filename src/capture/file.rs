//! Capture files: pcap and pcapng, plain or gzip-compressed, from a path or
//! standard input (`-`).
//!
//! The readers are our own rather than pcap-parser's: the formats are small,
//! and owning the loop makes the contract simple to keep. Every offset in an
//! error is exact in the decompressed stream, every length is checked against
//! a named limit before a byte is buffered ([`MAX_RECORD_BYTES`],
//! [`MAX_BLOCK_BYTES`]), unknown pcapng blocks are streamed past instead of
//! buffered, and one `Vec` is reused for every packet. pcap-parser's
//! streaming API would need a refill loop around it that re-derives offsets
//! and its own limits, with more code than the readers themselves.
//!
//! [`MAX_RECORD_BYTES`]: super::MAX_RECORD_BYTES
//! [`MAX_BLOCK_BYTES`]: super::MAX_BLOCK_BYTES

use super::input::{Input, Problem};
use super::pcap::{self, Pcap};
use super::pcapng::PcapNg;
use super::{CaptureError, CaptureErrorKind, Frame, FrameSource, Window};
use flate2::read::MultiGzDecoder;
use std::io::{self, Read};

/// Bytes examined to recognize gzip and the capture format.
const MAGIC_BYTES: usize = 4;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Pcap,
    PcapNg,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Pcap => "pcap",
            FileFormat::PcapNg => "pcapng",
        }
    }
}

enum Parser {
    Pcap(Pcap),
    PcapNg(PcapNg),
}

/// A streaming reader over one capture file.
pub struct FileReader {
    path: String,
    format: FileFormat,
    gzip: bool,
    input: Input,
    parser: Parser,
    done: bool,
}

impl FileReader {
    /// Reads a capture from any byte stream (a file, standard input, a
    /// buffer in a test), detecting gzip and the format by magic number.
    /// `name` is what errors call the input.
    pub fn from_reader(
        name: &str,
        reader: impl Read + Send + 'static,
    ) -> Result<Self, CaptureError> {
        let err = |(offset, kind): Problem| CaptureError {
            path: name.to_string(),
            offset,
            kind,
        };
        let io_err = |e: io::Error| {
            err((
                0,
                CaptureErrorKind::Io {
                    message: e.to_string(),
                },
            ))
        };
        let (head, raw) = peek(Box::new(reader)).map_err(io_err)?;
        let gzip = head.starts_with(&GZIP_MAGIC);
        let (head, stream) = if gzip {
            peek(Box::new(MultiGzDecoder::new(raw))).map_err(io_err)?
        } else {
            (head, raw)
        };
        Self::with_input(name, Input::new(stream), &head, gzip)
    }

    /// The reader over `input`, whose first bytes are `head`.
    fn with_input(
        name: &str,
        mut input: Input,
        head: &[u8],
        gzip: bool,
    ) -> Result<Self, CaptureError> {
        let err = |(offset, kind): Problem| CaptureError {
            path: name.to_string(),
            offset,
            kind,
        };
        let magic: Option<[u8; MAGIC_BYTES]> = head.try_into().ok();
        let (format, parser) = match magic {
            Some(m) if m == PCAPNG_MAGIC => (FileFormat::PcapNg, Parser::PcapNg(PcapNg::new())),
            Some(m) if pcap::magic(m).is_some() => (
                FileFormat::Pcap,
                Parser::Pcap(Pcap::read_header(&mut input).map_err(err)?),
            ),
            _ => {
                return Err(err((
                    0,
                    CaptureErrorKind::NotACapture {
                        first: head.to_vec(),
                    },
                )));
            }
        };
        Ok(FileReader {
            path: name.to_string(),
            format,
            gzip,
            input,
            parser,
            done: false,
        })
    }

    /// A regular file of `len` bytes, read through memory mappings; gzip
    /// files, and files that cannot be mapped, are read as streams.
    fn from_file(
        name: &str,
        file: std::fs::File,
        len: u64,
        window_bytes: usize,
    ) -> Result<Self, CaptureError> {
        let Ok(dup) = file.try_clone() else {
            return Self::from_reader(name, file);
        };
        let mut input = Input::mapped(dup, len, window_bytes);
        let head = match input.peek(MAGIC_BYTES) {
            Ok(h) => h.to_vec(),
            Err(_) => return Self::from_reader(name, file),
        };
        if head.starts_with(&GZIP_MAGIC) {
            return Self::from_reader(name, file);
        }
        Self::with_input(name, input, &head, false)
    }

    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn format(&self) -> FileFormat {
        self.format
    }
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }
    /// Bytes of the (decompressed) capture consumed so far.
    pub fn offset(&self) -> u64 {
        self.input.pos()
    }
    /// Size of the read buffer: [`READ_AHEAD_BYTES`](super::READ_AHEAD_BYTES),
    /// or the largest record or block read whole if larger, whatever the
    /// file size; 0 for a mapped file (for tests and diagnostics).
    pub fn buffer_bytes(&self) -> usize {
        self.input.buffer_bytes()
    }

    /// True when the file is read through memory mappings.
    pub fn is_mapped(&self) -> bool {
        self.input.is_mapped()
    }

    /// Whether [`FileReader::seek`] and [`FileReader::resync`] work: a
    /// mapped classic pcap file (pcapng and streams are read from the start
    /// only).
    pub fn can_seek(&self) -> bool {
        self.input.is_mapped() && matches!(self.parser, Parser::Pcap(_))
    }

    /// Size of the file, when it is mapped (0 otherwise).
    pub fn mapped_len(&self) -> u64 {
        self.input.mapped_len()
    }

    /// How many records past the next one the reader prefetches the headers
    /// of, guessing they are as long as the last (2 unless set; at most 8).
    /// For a walk that does little with each record; see
    /// `parallel::split`.
    pub fn set_strides_ahead(&mut self, n: usize) {
        self.input.set_strides_ahead(n);
    }

    /// Reads a mapped file only up to byte `len`: threads that opened one
    /// file at different moments read the same bytes of it even while it
    /// grows.
    pub fn limit(&mut self, len: u64) {
        self.input.limit(len);
    }

    /// Moves to byte `offset`, which must be where a record starts (the
    /// start of the first one, where this reader was opened, or an offset
    /// [`FileReader::resync`] found), and reads on from there, as if the
    /// file had been read up to it. False (nothing moved) unless
    /// [`FileReader::can_seek`].
    pub fn seek(&mut self, offset: u64) -> bool {
        if !self.can_seek() || !self.input.seek(offset) {
            return false;
        }
        self.done = false;
        true
    }

    /// The first offset in `from..from + search` where records seem to
    /// start (`Pcap::find_record`): a guess, to be checked by reading up
    /// to it from a known record. `None` for a reader that cannot seek, or
    /// when nothing there looks like a record. Leaves the reader anywhere:
    /// [`FileReader::seek`] before reading on.
    pub fn resync(&mut self, from: u64, search: usize) -> Option<u64> {
        let Parser::Pcap(p) = &self.parser else {
            return None;
        };
        if !self.input.is_mapped() || !self.input.seek(from) {
            return None;
        }
        let len = self.input.mapped_len();
        // Room for a chain of the largest records after the last offset
        // looked at.
        let want = search.saturating_add(1 << 21);
        let at_end = from.saturating_add(want as u64) >= len;
        let bytes = self.input.peek(want).ok()?;
        let found = p.find_record(bytes, search, at_end)?;
        Some(from + found as u64)
    }

    /// [`FrameSource::next_frame`], with the mapping the frame's bytes lie
    /// in when the file is mapped: `--threads` hands workers the mapping
    /// and offsets into it instead of copying frames.
    pub fn next_frame_mapped(
        &mut self,
    ) -> Result<Option<(Frame<'_>, Option<&Window>)>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let next = match &mut self.parser {
            Parser::Pcap(p) => p.next(&mut self.input),
            Parser::PcapNg(p) => p.next(&mut self.input),
        };
        let problem = match next {
            Ok(Some(m)) => {
                let end = m.start.saturating_add(m.caplen as usize);
                if let Some(data) = self.input.window().get(m.start..end) {
                    let frame = Frame {
                        ts: m.ts,
                        caplen: m.caplen,
                        // Some writers record a wire length below the
                        // captured one; downstream relies on orig >= cap.
                        orig_len: m.orig_len.max(m.caplen),
                        link: m.link,
                        data,
                    };
                    return Ok(Some((frame, self.input.mapping())));
                }
                // Unreachable by construction (the parsers peek whole
                // records); reported rather than panicking all the same.
                (
                    self.input.pos(),
                    CaptureErrorKind::Corrupt {
                        what: "internal error: packet outside the read buffer".into(),
                    },
                )
            }
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Err(p) => p,
        };
        self.done = true;
        Err(CaptureError {
            path: self.path.clone(),
            offset: problem.0,
            kind: problem.1,
        })
    }
}

/// Reads up to [`MAGIC_BYTES`] from `r` and gives back a reader that
/// replays them, so offsets still count from the first byte.
fn peek(mut r: Box<dyn Read + Send>) -> io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = [0u8; MAGIC_BYTES];
    let mut n = 0;
    while let Some(rest) = head.get_mut(n..).filter(|r| !r.is_empty()) {
        match r.read(rest) {
            Ok(0) => break,
            Ok(k) => n += k.min(rest.len()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A gzip stream cut inside its first bytes: what came out is
            // all there is.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
    }
    let head = head.get(..n).unwrap_or_default().to_vec();
    let replay = io::Cursor::new(head.clone()).chain(r);
    Ok((head, Box::new(replay)))
}

/// The size of `f` when it is worth mapping: a regular, non-empty file.
/// Pipes, devices and files whose size the kernel does not know (`/proc`)
/// are read as streams.
fn mappable(f: &std::fs::File) -> Option<u64> {
    let m = f.metadata().ok()?;
    (m.is_file() && m.len() > 0).then_some(m.len())
}

/// Open a capture by path (`-` is standard input), detecting gzip and the
/// format by magic number.
pub fn open(path: &str) -> Result<FileReader, CaptureError> {
    open_windowed(path, super::MAP_WINDOW_BYTES)
}

/// [`open`], a regular file being mapped `window_bytes` at a time.
pub fn open_windowed(path: &str, window_bytes: usize) -> Result<FileReader, CaptureError> {
    if path == "-" {
        return FileReader::from_reader(path, io::stdin());
    }
    match std::fs::File::open(path) {
        Ok(f) => match mappable(&f) {
            Some(len) => FileReader::from_file(path, f, len, window_bytes),
            None => FileReader::from_reader(path, f),
        },
        Err(e) => Err(CaptureError {
            path: path.to_string(),
            offset: 0,
            kind: CaptureErrorKind::Open {
                message: e.to_string(),
            },
        }),
    }
}

impl FrameSource for FileReader {
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        Ok(self.next_frame_mapped()?.map(|(f, _)| f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(bytes: &'static [u8]) -> Vec<(i64, u32, Vec<u8>)> {
        let mut r = FileReader::from_reader("t", bytes).expect("a capture");
        let mut out = Vec::new();
        while let Some(f) = r.next_frame().expect("no error") {
            out.push((f.ts.nanos(), f.link.0, f.data.to_vec()));
        }
        out
    }

    #[test]
    fn pcap_literal() {
        let bytes: &[u8] = &[
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, // magic, 2.4
            0xff, 0xff, 0, 0, 1, 0, 0, 0, // snaplen 65535, Ethernet
            1, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, // 1 s + 2 us, 4 bytes
            0xde, 0xad, 0xbe, 0xef,
        ];
        assert_eq!(
            frames(bytes),
            vec![(1_000_002_000, 1, vec![0xde, 0xad, 0xbe, 0xef])]
        );
    }

    #[test]
    fn pcapng_literal() {
        let bytes: &[u8] = &[
            // Section header, little-endian, version 1.0, length unknown.
            0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, //
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0, //
            // Interface 0: Ethernet, no snaplen, microseconds.
            1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, //
            // Enhanced packet: interface 0, 1_000_000 us, 4 of 4 bytes.
            6, 0, 0, 0, 36, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x42, 0x0f, 0, //
            4, 0, 0, 0, 4, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 36, 0, 0, 0,
        ];
        assert_eq!(
            frames(bytes),
            vec![(1_000_000_000, 1, vec![0xde, 0xad, 0xbe, 0xef])]
        );
    }

    #[test]
    fn not_a_capture_keeps_the_first_bytes() {
        let e = FileReader::from_reader("t", &b"\x00\x01\x02\x03\x04"[..])
            .err()
            .expect("an error");
        assert_eq!(
            e.kind,
            CaptureErrorKind::NotACapture {
                first: vec![0, 1, 2, 3]
            }
        );
        assert_eq!(e.offset, 0);
    }
}
