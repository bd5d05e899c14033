//! The byte stream under a capture reader: counts the offset of every byte
//! it hands out (in the decompressed stream), reads into the reader's one
//! reusable buffer, and streams past bytes nobody needs without buffering
//! them.

use super::{CaptureErrorKind, LinkType};
use crate::time::Timestamp;
use std::io::{self, BufRead, BufReader, Read};

/// Size of the read-ahead buffer between the file (or gzip decoder) and the
/// record parsers.
const READ_AHEAD_BYTES: usize = 64 * 1024;

/// A read problem before the file's name is attached: the byte offset where
/// it starts, and what it is.
pub(super) type Problem = (u64, CaptureErrorKind);

/// Where a parsed packet lies in the reader's buffer, and what the record
/// header said about it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Meta {
    pub ts: Timestamp,
    /// Index of the first packet byte in the buffer.
    pub start: usize,
    pub caplen: u32,
    pub orig_len: u32,
    pub link: LinkType,
}

/// Byte order of a pcap file or a pcapng section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Endian {
    Little,
    Big,
}

impl Endian {
    pub fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }
    pub fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
    pub fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        }
    }
}

/// `N` bytes of `b` from `at`, or `None` if `b` is too short.
pub(super) fn arr<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

pub(super) fn truncated(offset: u64, needed: u64, available: u64) -> Problem {
    (offset, CaptureErrorKind::Truncated { needed, available })
}

pub(super) fn corrupt(offset: u64, what: String) -> Problem {
    (offset, CaptureErrorKind::Corrupt { what })
}

pub(super) struct Input {
    inner: BufReader<Box<dyn Read + Send>>,
    pos: u64,
    /// The gzip decoder reported that the compressed stream ended early.
    cut_short: bool,
}

impl Input {
    pub fn new(r: Box<dyn Read + Send>) -> Self {
        Input {
            inner: BufReader::with_capacity(READ_AHEAD_BYTES, r),
            pos: 0,
            cut_short: false,
        }
    }

    /// Offset of the next byte to be read.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// True when the input ended because a compressed stream was cut short,
    /// so an end at a record boundary is still a truncation.
    pub fn cut_short(&self) -> bool {
        self.cut_short
    }

    /// Reads until `dst` is full or the input ends; returns the bytes read.
    /// A gzip stream that ends early (`UnexpectedEof`) counts as the end of
    /// the input, so a cut `.pcap.gz` is a truncation like a cut `.pcap`.
    pub fn fill(&mut self, dst: &mut [u8]) -> Result<usize, Problem> {
        let mut got = 0;
        while let Some(rest) = dst.get_mut(got..).filter(|r| !r.is_empty()) {
            match self.inner.read(rest) {
                Ok(0) => break,
                Ok(n) => {
                    let n = n.min(rest.len());
                    got += n;
                    self.pos = self.pos.saturating_add(n as u64);
                }
                Err(e) => match self.read_error(e) {
                    ReadError::Retry => continue,
                    ReadError::End => break,
                    ReadError::Fail(p) => return Err(p),
                },
            }
        }
        Ok(got)
    }

    /// Reads `len` bytes into `buf[at..at + len]`, growing `buf` (never
    /// shrinking it, so steady state allocates nothing); returns the bytes
    /// read, fewer at the end of the input.
    pub fn read_into(
        &mut self,
        buf: &mut Vec<u8>,
        at: usize,
        len: usize,
    ) -> Result<usize, Problem> {
        let end = at.saturating_add(len);
        if buf.len() < end {
            buf.resize(end, 0);
        }
        match buf.get_mut(at..end) {
            Some(dst) => self.fill(dst),
            None => Ok(0),
        }
    }

    /// Streams past `n` bytes without buffering them; returns the bytes
    /// skipped, fewer at the end of the input.
    pub fn skip(&mut self, n: u64) -> Result<u64, Problem> {
        let mut left = n;
        while left > 0 {
            let avail = match self.inner.fill_buf() {
                Ok(b) => b.len(),
                Err(e) => match self.read_error(e) {
                    ReadError::Retry => continue,
                    ReadError::End => break,
                    ReadError::Fail(p) => return Err(p),
                },
            };
            if avail == 0 {
                break;
            }
            let k = left.min(avail as u64);
            self.inner.consume(k as usize);
            left -= k;
            self.pos = self.pos.saturating_add(k);
        }
        Ok(n - left)
    }

    fn read_error(&mut self, e: io::Error) -> ReadError {
        match e.kind() {
            io::ErrorKind::Interrupted => ReadError::Retry,
            io::ErrorKind::UnexpectedEof => {
                self.cut_short = true;
                ReadError::End
            }
            _ => ReadError::Fail((
                self.pos,
                CaptureErrorKind::Io {
                    message: e.to_string(),
                },
            )),
        }
    }
}

enum ReadError {
    Retry,
    End,
    Fail(Problem),
}
