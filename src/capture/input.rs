//! The byte stream under a capture reader: counts the offset of every byte
//! it hands out (in the decompressed stream), reads into the reader's one
//! reusable buffer, and streams past bytes nobody needs without buffering
//! them.

use super::mapped::Window;
use super::{CaptureErrorKind, LinkType};
use crate::time::Timestamp;
use std::io::{self, Read};

/// Size of the read buffer for streams (pipes, standard input, gzip): reads
/// of this size amortize the system calls while the buffer stays in the L2
/// cache (256 KiB and 1 MiB buffers measured slower).
pub const READ_AHEAD_BYTES: usize = 64 * 1024;

/// Bytes of a regular file mapped at once (more when one record or block
/// is larger), from the 2 MiB boundary at or before the next record to
/// one after (see `MAP_ALIGN`). Mapped pages count toward the process's RSS
/// while mapped, so the window is small; remapping costs one `mmap` and
/// `munmap` per window (measured on the 1 GB `keepalive` benchmark, its
/// file written and never read back: 0.27 s with 1 MiB windows, 0.26 s
/// with 4 MiB, 0.32 s through `read()`).
pub const MAP_WINDOW_BYTES: usize = 2 << 20;

/// Windows of at least this size start and end on multiples of it (but at
/// the end of the file): the size of a huge page. A file read from disk
/// sits in the page cache in 2 MiB folios, and the kernel maps an aligned
/// one with one page-table entry, and unmaps it with one, where a window
/// starting anywhere costs it 512 of each. Measured on `keepalive` read
/// back from disk, single-threaded, median of 9 alternated runs: 0.259 s
/// with 1 MiB windows at record boundaries, 0.233 s with aligned ones (the
/// kernel's part of the samples from 31 % to 10 %).
const MAP_ALIGN: u64 = 2 << 20;

/// The window for `--threads` over captures of small frames
/// ([`crate::capture::open_windowed`]): smaller than an aligned one,
/// because a shard's batches in flight keep several windows mapped, and
/// with many connections open (`idle`) aligned windows took peak RSS from
/// 61 to 70 MiB.
pub const SMALL_MAP_WINDOW_BYTES: usize = 1 << 20;

/// The window for `--threads` over captures of large frames
/// ([`crate::capture::open_windowed`]): an unmap in a multi-threaded
/// process interrupts the other core to flush its TLB, a virtual machine's
/// exit on each side, and a window per megabyte of large frames made those
/// a tenth of the run (BENCHMARKS.md).
pub const LARGE_MAP_WINDOW_BYTES: usize = 8 << 20;

/// How many records of the same length past the next one
/// [`Input::prefetch_next`] asks for by default (1 to 4 measured on
/// `keepalive`: 2 and 3 alike, 1 and 4 slower).
const STRIDES_AHEAD: usize = 2;

/// The most [`Input::set_strides_ahead`] accepts: each stride is two
/// prefetches a record, and a walk of `keepalive`'s headers took longer
/// with ten than with six (thirteenth session).
const MAX_STRIDES_AHEAD: usize = 8;

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

/// The capture's bytes: a regular file mapped window by window, or any
/// other stream (a pipe, standard input, a gzip decoder) read into one
/// reusable buffer. Either way a parser looks at the next bytes in place
/// ([`Input::peek`]) and frames borrow them: no byte is copied between the
/// page cache and the decoder when the file is mapped, and one copy (the
/// `read()`) when it is not.
pub(super) struct Input {
    src: Src,
    pos: u64,
    /// The gzip decoder reported that the compressed stream ended early.
    cut_short: bool,
    /// See [`Input::set_strides_ahead`].
    strides_ahead: usize,
}

enum Src {
    Stream(Stream),
    Mapped(Mapped),
}

struct Stream {
    r: Box<dyn Read + Send>,
    /// Bytes `lo..hi` are read and not yet consumed; the buffer grows to
    /// the largest record or block asked for at once, never shrinks.
    buf: Vec<u8>,
    lo: usize,
    hi: usize,
}

struct Mapped {
    file: std::fs::File,
    /// File size when it was opened: bytes appended later are not read.
    len: u64,
    win: Option<Window>,
    /// File offset of the window's first byte.
    base: u64,
    /// Bytes mapped at once (more when a record or block is larger).
    window_bytes: usize,
}

impl Input {
    pub fn new(r: Box<dyn Read + Send>) -> Self {
        Input {
            src: Src::Stream(Stream {
                r,
                buf: Vec::new(),
                lo: 0,
                hi: 0,
            }),
            pos: 0,
            cut_short: false,
            strides_ahead: STRIDES_AHEAD,
        }
    }

    /// A regular file of `len` bytes, read through windows of
    /// `window_bytes` mapped on demand.
    pub fn mapped(file: std::fs::File, len: u64, window_bytes: usize) -> Self {
        Input {
            src: Src::Mapped(Mapped {
                file,
                len,
                win: None,
                base: 0,
                window_bytes: window_bytes.max(1),
            }),
            pos: 0,
            cut_short: false,
            strides_ahead: STRIDES_AHEAD,
        }
    }

    /// Offset of the next byte to be read.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Moves a mapped input to byte `pos` (at most its length), so that
    /// the next read starts there: `--threads` readers each walk their own
    /// stretches of one file. Streams cannot seek: false, nothing moved.
    pub fn seek(&mut self, pos: u64) -> bool {
        match &self.src {
            Src::Mapped(m) => {
                self.pos = pos.min(m.len);
                true
            }
            Src::Stream(_) => false,
        }
    }

    /// Reads a mapped input only up to byte `len` (if it is shorter), as if
    /// the file had had that size when opened.
    pub fn limit(&mut self, len: u64) {
        if let Src::Mapped(m) = &mut self.src {
            m.len = m.len.min(len);
            m.win = None;
        }
    }

    /// Size of a mapped input (0 for a stream).
    pub fn mapped_len(&self) -> u64 {
        match &self.src {
            Src::Mapped(m) => m.len,
            Src::Stream(_) => 0,
        }
    }

    /// True when the input ended because a compressed stream was cut short,
    /// so an end at a record boundary is still a truncation.
    pub fn cut_short(&self) -> bool {
        self.cut_short
    }

    /// The next `n` bytes, not consumed: fewer only where the input ends.
    /// The slice stays valid, at [`Input::window`]`[`[`Input::cursor`]`..]`,
    /// until the next `peek`, `fill` or `skip`, even across `consume`.
    pub fn peek(&mut self, n: usize) -> Result<&[u8], Problem> {
        match &mut self.src {
            Src::Stream(s) => {
                if s.hi - s.lo < n {
                    s.refill(n, self.pos, &mut self.cut_short)?;
                }
                let end = s.hi.min(s.lo.saturating_add(n));
                Ok(s.buf.get(s.lo..end).unwrap_or_default())
            }
            Src::Mapped(m) => m.peek(self.pos, n),
        }
    }

    /// Marks `n` peeked bytes as read.
    pub fn consume(&mut self, n: usize) {
        if let Src::Stream(s) = &mut self.src {
            s.lo = s.hi.min(s.lo.saturating_add(n));
        }
        self.pos = self.pos.saturating_add(n as u64);
    }

    /// Called by a parser once it has consumed a record or block of `stride`
    /// bytes: prefetches the next one's header at [`Input::pos`], and those
    /// of the [`STRIDES_AHEAD`] after it if they are as long, when they lie in
    /// the current window ([`super::mapped::prefetch`]). The next header
    /// alone leaves one miss per record in flight, which a reader doing
    /// little per record (the `--threads` reader) waits out; bulk transfers
    /// repeat one frame size for long runs. Measured on `keepalive`, `short`
    /// unchanged: 0.276 -> 0.261 s single-threaded, 0.253 -> 0.224 s with
    /// `--threads 2` (the reader's walk of the records from 16 % of the
    /// samples to 6 %).
    #[inline]
    pub fn prefetch_next(&self, stride: usize) {
        let (w, at) = (self.window(), self.cursor());
        for k in 0..=self.strides_ahead {
            let p = at.saturating_add(stride.saturating_mul(k));
            // A header and the link, IP and TCP headers behind it can
            // straddle two lines.
            super::mapped::prefetch(w, p);
            super::mapped::prefetch(w, p.saturating_add(64));
        }
    }

    /// How many records of the same length past the next one
    /// [`Input::prefetch_next`] asks for (at most [`MAX_STRIDES_AHEAD`]).
    /// A walk that does little with each record (the `--threads` walk of
    /// a stretch) gains from guessing further ahead; a reader that analyses
    /// each record as it goes was measured slower with it (BENCHMARKS.md,
    /// thirteenth session).
    pub fn set_strides_ahead(&mut self, n: usize) {
        self.strides_ahead = n.min(MAX_STRIDES_AHEAD);
    }

    /// The bytes the last `peek` looked into; see [`Input::cursor`].
    pub fn window(&self) -> &[u8] {
        match &self.src {
            Src::Stream(s) => s.buf.get(..s.hi).unwrap_or_default(),
            Src::Mapped(m) => m.win.as_deref().unwrap_or_default(),
        }
    }

    /// Index in [`Input::window`] of the byte at [`Input::pos`].
    pub fn cursor(&self) -> usize {
        match &self.src {
            Src::Stream(s) => s.lo,
            Src::Mapped(m) => self.pos.saturating_sub(m.base) as usize,
        }
    }

    /// The mapping [`Input::window`] is part of, when the file is mapped.
    pub fn mapping(&self) -> Option<&Window> {
        match &self.src {
            Src::Stream(_) => None,
            Src::Mapped(m) => m.win.as_ref(),
        }
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self.src, Src::Mapped(_))
    }

    /// Size of the read buffer (0 when the file is mapped).
    pub fn buffer_bytes(&self) -> usize {
        match &self.src {
            Src::Stream(s) => s.buf.len(),
            Src::Mapped(_) => 0,
        }
    }

    /// Reads until `dst` is full or the input ends; returns the bytes read.
    /// A gzip stream that ends early (`UnexpectedEof`) counts as the end of
    /// the input, so a cut `.pcap.gz` is a truncation like a cut `.pcap`.
    pub fn fill(&mut self, dst: &mut [u8]) -> Result<usize, Problem> {
        let got = self.peek(dst.len())?;
        let n = got.len();
        if let Some(d) = dst.get_mut(..n) {
            d.copy_from_slice(got);
        }
        self.consume(n);
        Ok(n)
    }

    /// Streams past `n` bytes without buffering them; returns the bytes
    /// skipped, fewer at the end of the input.
    pub fn skip(&mut self, n: u64) -> Result<u64, Problem> {
        let mut left = n;
        match &mut self.src {
            Src::Mapped(m) => {
                let k = left.min(m.len.saturating_sub(self.pos));
                left -= k;
                self.pos += k;
            }
            Src::Stream(s) => {
                while left > 0 {
                    if s.lo == s.hi {
                        s.refill(1, self.pos, &mut self.cut_short)?;
                        if s.lo == s.hi {
                            break;
                        }
                    }
                    let k = left.min((s.hi - s.lo) as u64);
                    s.lo += k as usize;
                    left -= k;
                    self.pos = self.pos.saturating_add(k);
                }
            }
        }
        Ok(n - left)
    }
}

impl Stream {
    /// Moves the unread bytes to the front and reads until `n` of them are
    /// buffered or the input ends. `pos` is the offset of the first unread
    /// byte, for error messages.
    fn refill(&mut self, n: usize, pos: u64, cut_short: &mut bool) -> Result<(), Problem> {
        if self.lo > 0 {
            self.buf.copy_within(self.lo..self.hi, 0);
            self.hi -= self.lo;
            self.lo = 0;
        }
        let want = n.max(READ_AHEAD_BYTES);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        while self.hi < n {
            let Some(dst) = self.buf.get_mut(self.hi..).filter(|d| !d.is_empty()) else {
                break;
            };
            match self.r.read(dst) {
                Ok(0) => break,
                Ok(k) => self.hi += k.min(dst.len()),
                Err(e) => match e.kind() {
                    io::ErrorKind::Interrupted => {}
                    io::ErrorKind::UnexpectedEof => {
                        *cut_short = true;
                        break;
                    }
                    _ => {
                        return Err((
                            pos.saturating_add(self.hi as u64),
                            CaptureErrorKind::Io {
                                message: e.to_string(),
                            },
                        ))
                    }
                },
            }
        }
        Ok(())
    }
}

impl Mapped {
    fn peek(&mut self, pos: u64, n: usize) -> Result<&[u8], Problem> {
        let at = pos.saturating_sub(self.base);
        let fits = self
            .win
            .as_ref()
            .is_some_and(|w| pos >= self.base && at.saturating_add(n as u64) <= w.len() as u64);
        if !fits {
            self.win = None;
            let left = self.len.saturating_sub(pos);
            if left == 0 {
                return Ok(&[]);
            }
            let window = self.window_bytes as u64;
            let align = if window >= MAP_ALIGN { MAP_ALIGN } else { 1 };
            let base = pos - pos % align;
            let want = (pos - base).saturating_add((n as u64).max(window));
            let end = base
                .saturating_add(want.div_ceil(align).saturating_mul(align))
                .min(self.len);
            let len = end - base;
            let win = Window::map(&self.file, base, len as usize).map_err(|e| {
                (
                    pos,
                    CaptureErrorKind::Io {
                        message: format!("cannot map the file: {e}"),
                    },
                )
            })?;
            self.win = Some(win);
            self.base = base;
        }
        let at = pos.saturating_sub(self.base) as usize;
        let w = self.win.as_deref().unwrap_or_default();
        let end = w.len().min(at.saturating_add(n));
        Ok(w.get(at..end).unwrap_or_default())
    }
}
