//! pcapng (draft-ietf-opsawg-pcapng): a sequence of sections, each a
//! Section Header Block with its own byte order followed by Interface
//! Description Blocks and packet blocks that refer to those interfaces.
//!
//! Packets come from Enhanced (type 6), Simple (type 3) and obsolete Packet
//! Blocks (type 2). A Simple Packet Block has no timestamp of its own: it
//! gets the last one seen (zero before any), so time never jumps to 1970 in
//! the middle of a capture. Every other block type is streamed past without
//! being buffered. Every block's length is checked before it is read: a multiple
//! of 4, at least the type's minimum, at most [`MAX_BLOCK_BYTES`], and equal
//! to the trailing copy.

use super::input::{arr, corrupt, truncated, Endian, Input, Meta, Problem};
use super::pcap::record_limit;
use super::{CaptureErrorKind, LinkType, MAX_BLOCK_BYTES, MAX_INTERFACES};
use crate::time::Timestamp;

const SECTION_HEADER: u32 = 0x0A0D_0D0A;
const INTERFACE_DESCRIPTION: u32 = 1;
const PACKET_OBSOLETE: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;

/// Type, length and trailing length: the smallest block there is.
const MIN_BLOCK_BYTES: u32 = 12;

const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// Default `if_tsresol`: microseconds.
const DEFAULT_UNITS_PER_SEC: u64 = 1_000_000;

/// One Interface Description Block, as the packets of its section need it.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    /// Largest caplen its packets may claim: the snaplen (0 meaning
    /// unlimited), never more than [`super::MAX_RECORD_BYTES`].
    limit: u32,
    units_per_sec: u64,
    /// `if_tsoffset`: seconds added to every timestamp.
    offset_secs: i64,
}

#[derive(Debug)]
pub(super) struct PcapNg {
    endian: Endian,
    interfaces: Vec<Interface>,
    /// Simple Packet Blocks carry no time: they get the last one seen.
    last_ts: Timestamp,
}

fn block_name(t: u32) -> &'static str {
    match t {
        SECTION_HEADER => "section header block",
        INTERFACE_DESCRIPTION => "interface description block",
        PACKET_OBSOLETE => "packet block",
        SIMPLE_PACKET => "simple packet block",
        ENHANCED_PACKET => "enhanced packet block",
        _ => "block",
    }
}

/// Smallest total length of the block types read whole.
fn min_len(t: u32) -> Option<u32> {
    match t {
        SECTION_HEADER => Some(28),
        INTERFACE_DESCRIPTION => Some(20),
        PACKET_OBSOLETE | ENHANCED_PACKET => Some(32),
        SIMPLE_PACKET => Some(16),
        _ => None,
    }
}

impl PcapNg {
    pub fn new() -> Self {
        PcapNg {
            endian: Endian::Little,
            interfaces: Vec::new(),
            last_ts: Timestamp::ZERO,
        }
    }

    /// The next packet, its bytes at `input.window()[meta.start..][..meta.caplen]`.
    pub fn next(&mut self, input: &mut Input) -> Result<Option<Meta>, Problem> {
        loop {
            let start = input.pos();
            let (got, h) = {
                let h = input.peek(8)?;
                (h.len(), arr::<8>(h, 0))
            };
            if got == 0 && !input.cut_short() {
                return Ok(None);
            }
            let Some(h) = h else {
                return Err(truncated(start, 8, got as u64));
            };
            // The section header's type reads the same in both byte orders;
            // its byte-order magic, right after the length, says how to read
            // the length and everything up to the next section.
            if h[..4] == SECTION_HEADER.to_be_bytes() {
                let b = input.peek(12)?;
                let Some(magic) = arr::<4>(b, 8) else {
                    return Err(truncated(start, 12, b.len() as u64));
                };
                self.endian = match magic {
                    [0x4d, 0x3c, 0x2b, 0x1a] => Endian::Little,
                    [0x1a, 0x2b, 0x3c, 0x4d] => Endian::Big,
                    b => {
                        return Err(corrupt(
                            start,
                            format!(
                                "section header block byte-order magic 0x{:02x}{:02x}{:02x}{:02x} is not 0x1a2b3c4d in either byte order",
                                b[0], b[1], b[2], b[3]
                            ),
                        ));
                    }
                };
            }
            let e = self.endian;
            let btype = e.u32([h[0], h[1], h[2], h[3]]);
            let len = e.u32([h[4], h[5], h[6], h[7]]);
            check_length(btype, len, start)?;
            // 12 <= len <= MAX_BLOCK_BYTES.
            let len = len as usize;
            if min_len(btype).is_none() {
                input.consume(8);
                let body = (len - 12) as u64;
                let skipped = input.skip(body)?;
                if skipped < body {
                    return Err(truncated(start, len as u64, 8 + skipped));
                }
                let mut t = [0u8; 4];
                let got = input.fill(&mut t)?;
                if got < 4 {
                    return Err(truncated(start, len as u64, 8 + skipped + got as u64));
                }
                check_trailer(btype, len as u32, e.u32(t), start)?;
                continue;
            }
            let got = input.peek(len)?.len();
            if got < len {
                return Err(truncated(start, len as u64, got as u64));
            }
            let at = input.cursor();
            input.consume(len);
            input.prefetch_next(len);
            let block = input.window().get(at..at + len).unwrap_or_default();
            let trailer = arr::<4>(block, len - 4).unwrap_or_default();
            check_trailer(btype, len as u32, e.u32(trailer), start)?;
            let body = block.get(8..len - 4).unwrap_or_default();
            match btype {
                SECTION_HEADER => self.section(body, start)?,
                INTERFACE_DESCRIPTION => self.interface(body, start)?,
                _ => {
                    return self.packet(btype, body, start).map(|mut m| {
                        m.start += at + 8;
                        Some(m)
                    })
                }
            }
        }
    }

    /// A new section: byte order (already set), version, and no interfaces
    /// until its own descriptions come.
    fn section(&mut self, body: &[u8], start: u64) -> Result<(), Problem> {
        let e = self.endian;
        let major = arr::<2>(body, 4).map(|b| e.u16(b)).unwrap_or(0);
        let minor = arr::<2>(body, 6).map(|b| e.u16(b)).unwrap_or(0);
        if major != 1 {
            return Err(corrupt(
                start,
                format!("unsupported pcapng version {major}.{minor}"),
            ));
        }
        self.interfaces.clear();
        Ok(())
    }

    fn interface(&mut self, body: &[u8], start: u64) -> Result<(), Problem> {
        let e = self.endian;
        let id = self.interfaces.len();
        if id >= MAX_INTERFACES {
            return Err(corrupt(
                start,
                format!("more than {MAX_INTERFACES} interfaces in one section"),
            ));
        }
        let link = arr::<2>(body, 0).map(|b| e.u16(b)).unwrap_or(0);
        let snaplen = arr::<4>(body, 4).map(|b| e.u32(b)).unwrap_or(0);
        let mut iface = Interface {
            link: LinkType(link.into()),
            limit: record_limit(snaplen),
            units_per_sec: DEFAULT_UNITS_PER_SEC,
            offset_secs: 0,
        };
        let mut bad_resol = None;
        for_each_option(body.get(8..).unwrap_or_default(), e, |code, value| {
            match (code, value) {
                (OPT_IF_TSRESOL, &[r]) => match units_per_sec(r) {
                    Some(u) => iface.units_per_sec = u,
                    None => bad_resol = Some(r),
                },
                (OPT_IF_TSOFFSET, v) => {
                    if let Some(b) = arr::<8>(v, 0) {
                        iface.offset_secs = e.u64(b) as i64;
                    }
                }
                _ => {}
            }
        });
        if let Some(r) = bad_resol {
            return Err(corrupt(
                start,
                format!("interface {id}: if_tsresol 0x{r:02x} is finer than a 64-bit timestamp can count"),
            ));
        }
        self.interfaces.push(iface);
        Ok(())
    }

    fn packet(&mut self, btype: u32, body: &[u8], start: u64) -> Result<Meta, Problem> {
        let e = self.endian;
        let u32_at = |at| arr::<4>(body, at).map(|b| e.u32(b)).unwrap_or(0);
        if btype == SIMPLE_PACKET {
            let Some(iface) = self.interfaces.first() else {
                return Err(corrupt(
                    start,
                    "simple packet block, but the section defines no interface".into(),
                ));
            };
            let orig_len = u32_at(0);
            let present = u32::try_from(body.len().saturating_sub(4)).unwrap_or(u32::MAX);
            let caplen = orig_len.min(iface.limit).min(present);
            return Ok(Meta {
                ts: self.last_ts,
                start: 4,
                caplen,
                orig_len,
                link: iface.link,
            });
        }
        // Enhanced and obsolete packet blocks share a layout after the
        // interface id (32 bits in one, 16 plus a drop count in the other).
        let id = if btype == ENHANCED_PACKET {
            u32_at(0)
        } else {
            arr::<2>(body, 0).map(|b| e.u16(b)).unwrap_or(0).into()
        };
        let Some(iface) = self.interfaces.get(id as usize) else {
            return Err(corrupt(
                start,
                format!(
                    "{} refers to interface {id}, but the section defines {} interface{}",
                    block_name(btype),
                    self.interfaces.len(),
                    if self.interfaces.len() == 1 { "" } else { "s" }
                ),
            ));
        };
        let ts_units = (u64::from(u32_at(4)) << 32) | u64::from(u32_at(8));
        let caplen = u32_at(12);
        let orig_len = u32_at(16);
        if caplen > iface.limit {
            return Err((
                start,
                CaptureErrorKind::AbsurdLength {
                    length: caplen.into(),
                    limit: iface.limit.into(),
                },
            ));
        }
        if 20 + caplen as usize > body.len() {
            return Err(corrupt(
                start,
                format!(
                    "{} captured length {caplen} runs past the end of the block",
                    block_name(btype)
                ),
            ));
        }
        let units = iface.units_per_sec;
        let secs = i64::try_from(ts_units / units)
            .unwrap_or(i64::MAX)
            .saturating_add(iface.offset_secs);
        let ts = Timestamp::from_parts(secs, ts_units % units, units);
        self.last_ts = ts;
        Ok(Meta {
            ts,
            start: 20,
            caplen,
            orig_len,
            link: iface.link,
        })
    }
}

/// The generic checks every block's length must pass before a byte of its
/// body is read.
fn check_length(btype: u32, len: u32, start: u64) -> Result<(), Problem> {
    let name = block_name(btype);
    if len % 4 != 0 {
        return Err(corrupt(
            start,
            format!("{name} (type 0x{btype:08x}) length {len} is not a multiple of 4"),
        ));
    }
    let min = min_len(btype).unwrap_or(MIN_BLOCK_BYTES);
    if len < min {
        return Err(corrupt(
            start,
            format!("{name} (type 0x{btype:08x}) length {len} is less than the minimum of {min}"),
        ));
    }
    if len > MAX_BLOCK_BYTES {
        return Err((
            start,
            CaptureErrorKind::AbsurdLength {
                length: len.into(),
                limit: MAX_BLOCK_BYTES.into(),
            },
        ));
    }
    Ok(())
}

fn check_trailer(btype: u32, len: u32, trailer: u32, start: u64) -> Result<(), Problem> {
    if trailer != len {
        return Err(corrupt(
            start,
            format!(
                "{} (type 0x{btype:08x}) trailing length {trailer} differs from its leading length {len}",
                block_name(btype)
            ),
        ));
    }
    Ok(())
}

/// Units per second of an `if_tsresol` value: a power of 10, or of 2 when
/// the high bit is set; `None` beyond what a u64 holds.
fn units_per_sec(r: u8) -> Option<u64> {
    if r & 0x80 == 0 {
        10u64.checked_pow(r.into())
    } else {
        1u64.checked_shl(u32::from(r & 0x7f))
    }
}

/// Calls `f(code, value)` for each option up to `opt_endofopt`. An option
/// running past the block ends the list: the options before it still count,
/// as in Wireshark.
fn for_each_option(mut opts: &[u8], e: Endian, mut f: impl FnMut(u16, &[u8])) {
    while let (Some(code), Some(len)) = (arr::<2>(opts, 0), arr::<2>(opts, 2)) {
        let code = e.u16(code);
        let len = usize::from(e.u16(len));
        if code == OPT_ENDOFOPT {
            return;
        }
        let Some(value) = opts.get(4..4 + len) else {
            return;
        };
        f(code, value);
        let padded = 4 + len.next_multiple_of(4);
        opts = opts.get(padded..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_powers_of_ten_and_two() {
        assert_eq!(units_per_sec(6), Some(1_000_000));
        assert_eq!(units_per_sec(9), Some(1_000_000_000));
        assert_eq!(units_per_sec(19), Some(10_000_000_000_000_000_000));
        assert_eq!(units_per_sec(20), None);
        assert_eq!(units_per_sec(0x80 | 10), Some(1024));
        assert_eq!(units_per_sec(0x80 | 63), Some(1 << 63));
        assert_eq!(units_per_sec(0x80 | 64), None);
    }

    #[test]
    fn options_stop_at_end_or_overrun() {
        let e = Endian::Little;
        // if_tsresol=9, then end of options, then junk that must be ignored.
        let opts = [9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 14, 0, 8, 0];
        let mut seen = Vec::new();
        for_each_option(&opts, e, |c, v| seen.push((c, v.to_vec())));
        assert_eq!(seen, vec![(9, vec![9])]);
        // An option claiming 200 bytes in a 12-byte list ends the list.
        let opts = [9, 0, 1, 0, 6, 0, 0, 0, 2, 0, 200, 0];
        seen.clear();
        for_each_option(&opts, e, |c, v| seen.push((c, v.to_vec())));
        assert_eq!(seen, vec![(9, vec![6])]);
    }

    #[test]
    fn length_checks() {
        assert!(check_length(6, 32, 0).is_ok());
        let (off, kind) = check_length(6, 34, 7).unwrap_err();
        assert_eq!(off, 7);
        assert_eq!(
            kind,
            CaptureErrorKind::Corrupt {
                what: "enhanced packet block (type 0x00000006) length 34 is not a multiple of 4"
                    .into()
            }
        );
        assert!(matches!(
            check_length(0x99, 8, 0),
            Err((0, CaptureErrorKind::Corrupt { .. }))
        ));
        assert!(matches!(
            check_length(0x99, MAX_BLOCK_BYTES + 4, 0),
            Err((0, CaptureErrorKind::AbsurdLength { .. }))
        ));
    }
}
