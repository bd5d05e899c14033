//! Classic pcap (libpcap's savefile format): a 24-byte file header, then
//! records of a 16-byte header and the packet bytes. Both byte orders,
//! microsecond and nanosecond timestamps, and the "modified" (Kuznetzov)
//! variant whose record headers carry 8 more bytes, as libpcap reads them.

use super::input::{arr, truncated, Endian, Input, Meta, Problem};
use super::{CaptureErrorKind, LinkType, MAX_RECORD_BYTES};
use crate::time::Timestamp;

const FILE_HEADER_BYTES: usize = 24;
const RECORD_HEADER_BYTES: usize = 16;
/// Kuznetzov's patched libpcap appends ifindex, protocol, pkt_type and
/// padding to every record header.
const KUZNETZOV_RECORD_HEADER_BYTES: usize = 24;

/// The low 26 bits of the header's link type field are the link type; the
/// top bits say whether frames carry an FCS (libpcap's `LT_LINKTYPE`).
const LINKTYPE_MASK: u32 = 0x03FF_FFFF;

/// What the magic number says about the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Magic {
    endian: Endian,
    units_per_sec: u64,
    record_header: usize,
}

/// Recognizes the four bytes a classic pcap file starts with.
pub(super) fn magic(b: [u8; 4]) -> Option<Magic> {
    let (endian, units_per_sec, record_header) = match b {
        [0xd4, 0xc3, 0xb2, 0xa1] => (Endian::Little, 1_000_000, RECORD_HEADER_BYTES),
        [0xa1, 0xb2, 0xc3, 0xd4] => (Endian::Big, 1_000_000, RECORD_HEADER_BYTES),
        [0x4d, 0x3c, 0xb2, 0xa1] => (Endian::Little, 1_000_000_000, RECORD_HEADER_BYTES),
        [0xa1, 0xb2, 0x3c, 0x4d] => (Endian::Big, 1_000_000_000, RECORD_HEADER_BYTES),
        [0x34, 0xcd, 0xb2, 0xa1] => (Endian::Little, 1_000_000, KUZNETZOV_RECORD_HEADER_BYTES),
        [0xa1, 0xb2, 0xcd, 0x34] => (Endian::Big, 1_000_000, KUZNETZOV_RECORD_HEADER_BYTES),
        _ => return None,
    };
    Some(Magic {
        endian,
        units_per_sec,
        record_header,
    })
}

/// State of a classic pcap reader after its file header.
#[derive(Debug)]
pub(super) struct Pcap {
    magic: Magic,
    /// Largest caplen a record may claim: the snaplen (0 meaning
    /// unlimited), never more than [`MAX_RECORD_BYTES`].
    limit: u32,
    link: LinkType,
}

impl Pcap {
    /// Reads the file header; `input` must be at offset 0.
    pub fn read_header(input: &mut Input) -> Result<Pcap, Problem> {
        let mut h = [0u8; FILE_HEADER_BYTES];
        let got = input.fill(&mut h)?;
        if got < FILE_HEADER_BYTES {
            return Err(truncated(0, FILE_HEADER_BYTES as u64, got as u64));
        }
        let Some(magic) = magic([h[0], h[1], h[2], h[3]]) else {
            // Callers check the magic first; keep this total anyway.
            return Err((
                0,
                CaptureErrorKind::NotACapture {
                    first: h[..4].to_vec(),
                },
            ));
        };
        let e = magic.endian;
        // Version (4..8), thiszone (8..12) and sigfigs (12..16) are unused
        // by every writer that matters; libpcap ignores them too.
        let snaplen = e.u32([h[16], h[17], h[18], h[19]]);
        let network = e.u32([h[20], h[21], h[22], h[23]]);
        Ok(Pcap {
            magic,
            limit: record_limit(snaplen),
            link: LinkType(network & LINKTYPE_MASK),
        })
    }

    /// The next record, its bytes at `input.window()[meta.start..][..meta.caplen]`.
    pub fn next(&mut self, input: &mut Input) -> Result<Option<Meta>, Problem> {
        let start = input.pos();
        let hlen = self.magic.record_header;
        let (got, h) = {
            let h = input.peek(hlen)?;
            (h.len(), arr::<RECORD_HEADER_BYTES>(h, 0))
        };
        if got == 0 && !input.cut_short() {
            return Ok(None);
        }
        let Some(h) = h.filter(|_| got >= hlen) else {
            return Err(truncated(start, hlen as u64, got as u64));
        };
        let e = self.magic.endian;
        let secs = e.u32([h[0], h[1], h[2], h[3]]);
        let frac = e.u32([h[4], h[5], h[6], h[7]]);
        let caplen = e.u32([h[8], h[9], h[10], h[11]]);
        let orig_len = e.u32([h[12], h[13], h[14], h[15]]);
        if caplen > self.limit {
            return Err((
                start,
                CaptureErrorKind::AbsurdLength {
                    length: caplen.into(),
                    limit: self.limit.into(),
                },
            ));
        }
        let total = hlen + caplen as usize;
        let got = input.peek(total)?.len();
        if got < total {
            return Err(truncated(start, total as u64, got as u64));
        }
        let at = input.cursor() + hlen;
        input.consume(total);
        input.prefetch_next(total);
        // A fraction at or above one second (seen in broken writers) is
        // carried into the seconds by from_parts, not rejected.
        let ts = Timestamp::from_parts(secs.into(), frac.into(), self.magic.units_per_sec);
        Ok(Some(Meta {
            ts,
            start: at,
            caplen,
            orig_len,
            link: self.link,
        }))
    }
}

/// Records in a row that must look right for [`Pcap::find_record`] to take
/// an offset for a record boundary.
const RESYNC_CHAIN: usize = 8;
/// Wire lengths above this are taken for bytes that are not a record
/// header (segmentation offload makes frames up to 64 KiB, BIG TCP more).
const RESYNC_MAX_WIRE: u32 = 4 << 20;
/// Seconds the timestamps of a chain may spread over.
const RESYNC_SPAN_SECS: u32 = 86_400;

impl Pcap {
    /// The first offset below `search` in `bytes` where [`RESYNC_CHAIN`]
    /// records in a row look like records of this file: each with a
    /// caplen of at least one and at most the file's limit, a wire length
    /// no smaller and no absurdly larger, a fraction below one second, all
    /// within a day of each other. A shorter chain counts when it ends
    /// exactly where `bytes` does and `bytes` reach the end of the file
    /// (`at_end`). Used to start reading in the middle of a file; the
    /// caller checks the guess against the records read up to it, so a
    /// wrong guess (a capture carried in a payload) costs time, never
    /// correctness.
    pub(super) fn find_record(&self, bytes: &[u8], search: usize, at_end: bool) -> Option<usize> {
        let e = self.magic.endian;
        let hlen = self.magic.record_header;
        let units = self.magic.units_per_sec;
        let header = |at: usize| -> Option<(u32, usize)> {
            let h = arr::<RECORD_HEADER_BYTES>(bytes, at)?;
            let secs = e.u32([h[0], h[1], h[2], h[3]]);
            let frac = e.u32([h[4], h[5], h[6], h[7]]);
            let caplen = e.u32([h[8], h[9], h[10], h[11]]);
            let orig_len = e.u32([h[12], h[13], h[14], h[15]]);
            let ok = caplen >= 1
                && caplen <= self.limit
                && orig_len >= caplen
                && orig_len <= RESYNC_MAX_WIRE
                && u64::from(frac) < units;
            ok.then_some((secs, at.checked_add(hlen + caplen as usize)?))
        };
        (0..search.min(bytes.len())).find(|&start| {
            let mut at = start;
            let mut first = None;
            for _ in 0..RESYNC_CHAIN {
                if at_end && at == bytes.len() && at > start {
                    return true;
                }
                let Some((secs, next)) = header(at) else {
                    return false;
                };
                let first = *first.get_or_insert(secs);
                if secs.abs_diff(first) > RESYNC_SPAN_SECS || next > bytes.len() {
                    return false;
                }
                at = next;
            }
            true
        })
    }
}

/// Largest caplen allowed under a snaplen (0 means no limit of its own).
pub(super) fn record_limit(snaplen: u32) -> u32 {
    if snaplen == 0 {
        MAX_RECORD_BYTES
    } else {
        snaplen.min(MAX_RECORD_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        let m = magic([0xd4, 0xc3, 0xb2, 0xa1]).map(|m| (m.endian, m.units_per_sec));
        assert_eq!(m, Some((Endian::Little, 1_000_000)));
        let m = magic([0xa1, 0xb2, 0x3c, 0x4d]).map(|m| (m.endian, m.units_per_sec));
        assert_eq!(m, Some((Endian::Big, 1_000_000_000)));
        let m = magic([0x34, 0xcd, 0xb2, 0xa1]).map(|m| m.record_header);
        assert_eq!(m, Some(24));
        assert_eq!(magic([0x0a, 0x0d, 0x0d, 0x0a]), None);
    }

    #[test]
    fn snaplen_limits() {
        assert_eq!(record_limit(0), MAX_RECORD_BYTES);
        assert_eq!(record_limit(65_535), 65_535);
        assert_eq!(record_limit(u32::MAX), MAX_RECORD_BYTES);
    }
}
