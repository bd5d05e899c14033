//! Packet sources. This module owns reading capture files (pcap, pcapng,
//! gzip-compressed either way, standard input) into [`Frame`]s, and later
//! live interfaces behind the `live` feature.
//!
//! Invariants: a [`Frame`] borrows the reader's buffer and is valid until the
//! next call to [`FrameSource::next_frame`]; memory does not grow with the
//! file size (it is bounded by [`MAX_BLOCK_BYTES`] plus fixed buffers);
//! `frame.orig_len >= frame.caplen`; every error names the file and the byte
//! offset (in the decompressed stream) where reading stopped, and frames read
//! before it stay valid results. Timestamps are passed through as recorded,
//! even when they go backwards.

use crate::time::Timestamp;
use std::fmt;

/// Largest packet record accepted, in captured bytes: libpcap's and
/// Wireshark's maximum snapshot length (256 KiB). A record claiming more is
/// corrupt ([`CaptureErrorKind::AbsurdLength`]), not a huge packet.
pub const MAX_RECORD_BYTES: u32 = 262_144;

/// Largest pcapng block accepted, of any type. Packet blocks are further
/// held to [`MAX_RECORD_BYTES`] of packet data; this bounds the options and
/// the blocks read whole (section and interface descriptions), and so the
/// reader's buffer.
pub const MAX_BLOCK_BYTES: u32 = 16 << 20;

/// Most interfaces one pcapng section may describe (the obsolete packet
/// block numbers them in 16 bits). Bounds the per-section interface table.
pub const MAX_INTERFACES: usize = 65_536;

/// A link-layer header type, as numbered by tcpdump.org (`LINKTYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const PPP: LinkType = LinkType(9);
    pub const RAW_LEGACY_12: LinkType = LinkType(12);
    pub const RAW_LEGACY_14: LinkType = LinkType(14);
    pub const RAW: LinkType = LinkType(101);
    pub const C_HDLC: LinkType = LinkType(104);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const NFLOG: LinkType = LinkType(239);
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// One captured packet, borrowed from the reader.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub ts: Timestamp,
    /// Bytes present in the capture (`data.len()`).
    pub caplen: u32,
    /// Bytes the packet had on the wire; larger than `caplen` when the
    /// snaplen cut it.
    pub orig_len: u32,
    pub link: LinkType,
    pub data: &'a [u8],
}

/// How bad a read problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The file ends in the middle of a record: what was read is complete
    /// and the run still succeeds (exit 0).
    Warning,
    /// The file is not a capture, or is corrupt: reading this file stops,
    /// what was read is kept, and the run exits 1.
    Error,
}

/// What went wrong while reading a capture. Kept apart so tests can match
/// kinds; [`fmt::Display`] of [`CaptureError`] gives the exact message users
/// see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureErrorKind {
    /// `first` holds up to the first 4 bytes of the file (of the
    /// decompressed stream for gzip); empty for an empty file.
    NotACapture { first: Vec<u8> },
    /// The file ended inside a record or block.
    Truncated { needed: u64, available: u64 },
    /// A record or block length beyond what the format or our cap allows.
    AbsurdLength { length: u64, limit: u64 },
    /// Any other corrupt structure, described in words.
    Corrupt { what: String },
    /// An I/O error from the operating system (including a broken gzip
    /// stream).
    Io { message: String },
    /// The file could not be opened at all (missing, no permission).
    Open { message: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureError {
    /// The file as the user named it (`-` for standard input).
    pub path: String,
    /// Byte offset in the (decompressed) capture where the problem starts.
    pub offset: u64,
    pub kind: CaptureErrorKind,
}

impl CaptureError {
    pub fn severity(&self) -> Severity {
        match self.kind {
            CaptureErrorKind::Truncated { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            CaptureErrorKind::NotACapture { first } if first.is_empty() => {
                write!(f, "{}: empty file, not a pcap or pcapng file", self.path)
            }
            CaptureErrorKind::NotACapture { first } => {
                write!(f, "{}: not a pcap or pcapng file (first bytes 0x", self.path)?;
                for b in first {
                    write!(f, "{b:02x}")?;
                }
                write!(f, ")")
            }
            CaptureErrorKind::Truncated { needed, available } => write!(
                f,
                "{}: truncated at byte offset {}: record needs {} bytes, {} present; results up to there kept",
                self.path, self.offset, needed, available
            ),
            CaptureErrorKind::AbsurdLength { length, limit } => write!(
                f,
                "{}: corrupt at byte offset {}: record length {} exceeds the limit of {}; reading of this file stopped",
                self.path, self.offset, length, limit
            ),
            CaptureErrorKind::Corrupt { what } => write!(
                f,
                "{}: corrupt at byte offset {}: {}; reading of this file stopped",
                self.path, self.offset, what
            ),
            CaptureErrorKind::Io { message } => write!(
                f,
                "{}: read error at byte offset {}: {}",
                self.path, self.offset, message
            ),
            CaptureErrorKind::Open { message } => {
                write!(f, "{}: cannot open: {}", self.path, message)
            }
        }
    }
}

impl std::error::Error for CaptureError {}

/// Anything that yields frames one at a time, reusing its buffer.
pub trait FrameSource {
    /// The next frame, `Ok(None)` at the clean end of the input, or the
    /// problem that ended it. After an error, further calls return
    /// `Ok(None)`.
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError>;
}

mod file;
mod input;
#[cfg(feature = "live")]
pub mod live;
mod mapped;
mod pcap;
mod pcapng;

pub use file::{open, open_windowed, FileFormat, FileReader};
pub use input::{
    LARGE_MAP_WINDOW_BYTES, MAP_WINDOW_BYTES, READ_AHEAD_BYTES, SMALL_MAP_WINDOW_BYTES,
};
pub use mapped::Window;
pub(crate) use mapped::{prefetch, prefetch_value};
