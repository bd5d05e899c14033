//! Link layer to IP to TCP, zero-copy. This module owns turning a
//! [`Frame`] into a TCP [`Segment`] that borrows the
//! frame's bytes, or into the reason it is not one.
//!
//! Invariants: never panics on any bytes; never allocates; the payload is
//! clamped to the IP length (Ethernet padding never becomes payload); a
//! snaplen-cut packet keeps its headers and says how many payload bytes the
//! capture lost.
//!
//! # How a frame is walked
//!
//! [`decode`] turns the frame into a `Layer` by its link type
//! (`link.rs`), then steps layer by layer until it reaches TCP or a reason to
//! stop. Every step consumes at least one byte or moves to a step that does,
//! so the walk ends; [`MAX_LAYERS`] and [`MAX_TUNNEL_DEPTH`] bound it anyway.
//!
//! - Link types: Ethernet (1), raw IP (101, 12, 14, 228, 229), Linux cooked
//!   SLL (113) and SLL2 (276), BSD loopback/null (0, either byte order) and
//!   OpenBSD loop (108), Linux NFLOG (239), Cisco HDLC (104), PPP (9).
//! - Inside Ethernet: 802.1Q/802.1ad/QinQ tag stacks of any depth (up to
//!   [`MAX_VLAN_TAGS`]; the innermost VLAN id with a non-zero VID is
//!   `tag.vlan`, a priority tag (VID 0) does not replace it), 802.3 frames
//!   with LLC/SNAP, PPPoE sessions, MPLS label stacks.
//! - IPv4 with options and AH, IPv6 with hop-by-hop, routing, destination
//!   options, fragment and AH extension headers ([`etherparse`] lax
//!   slicing).
//! - Tunnels, decapsulated so that connections are keyed on the innermost
//!   headers (`tunnel.rs`): VXLAN (UDP 4789) and Geneve (UDP 6081), the VNI
//!   being `tag.tunnel_id`; GRE (checksum, key, sequence, routing; the key
//!   is `tag.tunnel_id`) carrying IP, transparent Ethernet bridging, ERSPAN
//!   type I, II and III (the session id is `tag.tunnel_id`) or PPP (PPTP);
//!   IP-in-IP, 6in4, IPv4-in-IPv6 and IPv6-in-IPv6. The tag keeps the
//!   innermost values seen: a tunnel without an id (IP-in-IP) leaves an outer
//!   VNI in place.
//!
//! The common shapes (Ethernet, SLL, SLL2 or raw IP; at most one 802.1Q
//! tag; IPv4, or IPv6 without extension headers; TCP) first try a straight
//! fast path (`fast.rs`) that gives the same segment in about half the time
//! (about 10 ns a frame on the development machine) and hands everything
//! else to the general walk.
//!
//! # Skip reasons, and where we differ from `tshark -Y tcp`
//!
//! "Not enough bytes" is [`SkipReason::TruncatedHeaders`] when the snaplen
//! cut the frame (`orig_len > data.len()`) and [`SkipReason::Malformed`]
//! when it did not (the packet itself is too short for what its headers
//! say). An IPv4 total length of 0 is accepted (TCP segmentation offload on
//! the capturing host) and the captured length is used, as Wireshark does.
//!
//! - ICMP and ICMPv6 errors quote the start of the offending packet, often a
//!   TCP header. tshark dissects the quote and so counts those frames under
//!   `-Y tcp`; they are not segments of any connection and we count them as
//!   [`SkipReason::NonTcp`].
//! - IP fragments (IPv4 MF set or offset non-zero, an IPv6 fragment header
//!   with MF set or offset non-zero) are [`SkipReason::IpFragment`]. tshark
//!   reassembles them and counts the frame that completes the datagram as
//!   TCP. An IPv6 "atomic fragment" (fragment header with offset 0 and MF
//!   clear, RFC 6946) is a whole packet and is decoded.
//! - A frame whose TCP header is cut, or whose TCP data offset is below 5,
//!   is still "tcp" to tshark (the dissector starts before it fails); to us
//!   it is [`SkipReason::TruncatedHeaders`] or [`SkipReason::Malformed`].

use crate::capture::Frame;
use crate::time::Timestamp;
use std::net::IpAddr;

/// One end of a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

/// What separates copies of one flow seen on different VLANs or tunnels:
/// part of the connection key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetTag {
    /// Innermost 802.1Q VLAN id, if any.
    pub vlan: Option<u16>,
    /// VXLAN VNI, GRE key or ERSPAN session id of the innermost tunnel.
    pub tunnel_id: Option<u32>,
}

/// TCP header flag bits, as on the wire (byte 13 of the header, plus NS).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    pub const NS: u16 = 0x100;

    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
}

/// A decoded TCP segment borrowing its payload from the frame.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    pub ts: Timestamp,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub tag: NetTag,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// Raw window field (unscaled).
    pub window: u16,
    /// Window scale option, present on SYN and SYN-ACK only.
    pub window_scale: Option<u8>,
    /// Payload bytes present in the capture, clamped to the IP length.
    pub payload: &'a [u8],
    /// Payload bytes the segment carried on the wire but the snaplen cut off.
    pub payload_missing: u32,
}

impl Segment<'_> {
    /// Sequence-space length on the wire: payload (including cut bytes) plus
    /// one for SYN and one for FIN.
    pub fn seq_len(&self) -> u64 {
        self.payload.len() as u64
            + self.payload_missing as u64
            + self.flags.syn() as u64
            + self.flags.fin() as u64
    }
}

/// Why a frame did not yield a TCP segment. Counted in the report's
/// `capture.skipped` under [`SkipReason::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// The link type is not one we decode.
    UnsupportedLinkType,
    /// A link-layer protocol (ARP, LLDP, ...) that is not IP.
    NonIp,
    /// IP, but not TCP (UDP that is not a tunnel, ICMP, ...).
    NonTcp,
    /// An IP fragment: TCP is not reassembled from fragments.
    IpFragment,
    /// Headers that are inconsistent or invalid, a packet (not cut by the
    /// snaplen) shorter than its headers, or tunnels nested deeper than
    /// [`MAX_TUNNEL_DEPTH`].
    Malformed,
    /// The snaplen cut the packet before the end of the TCP header (or of a
    /// header before it).
    TruncatedHeaders,
}

impl SkipReason {
    pub const ALL: [SkipReason; 6] = [
        SkipReason::UnsupportedLinkType,
        SkipReason::NonIp,
        SkipReason::NonTcp,
        SkipReason::IpFragment,
        SkipReason::Malformed,
        SkipReason::TruncatedHeaders,
    ];

    /// The stable name used in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::UnsupportedLinkType => "unsupported_link_type",
            SkipReason::NonIp => "non_ip",
            SkipReason::NonTcp => "non_tcp",
            SkipReason::IpFragment => "ip_fragment",
            SkipReason::Malformed => "malformed",
            SkipReason::TruncatedHeaders => "truncated_headers",
        }
    }
}

mod fast;
mod ip;
mod link;
mod tunnel;

/// Most tunnel encapsulations (VXLAN, Geneve, GRE, ERSPAN, IP-in-IP) peeled
/// off one frame before it is given up as [`SkipReason::Malformed`].
pub const MAX_TUNNEL_DEPTH: u8 = 8;

/// Most VLAN tags (802.1Q, 802.1ad, QinQ) in one stack.
pub const MAX_VLAN_TAGS: u8 = 16;

/// Most MPLS labels in one stack.
pub const MAX_MPLS_LABELS: u8 = 16;

/// Most decoding steps for one frame; a backstop, since every step consumes
/// bytes and the limits above bound each kind of repetition.
pub const MAX_LAYERS: u8 = 64;

/// The state carried down the layers of one frame.
#[derive(Clone, Copy, Debug)]
struct Cx {
    tag: NetTag,
    /// Bytes of the frame the snaplen cut off (0 if the frame is whole).
    lost: usize,
    /// Tunnels entered so far.
    tunnels: u8,
}

impl Cx {
    /// The reason for "the bytes end before the header does".
    #[inline]
    fn short(&self) -> SkipReason {
        if self.lost > 0 {
            SkipReason::TruncatedHeaders
        } else {
            SkipReason::Malformed
        }
    }

    /// Count one more tunnel level, refusing beyond [`MAX_TUNNEL_DEPTH`].
    #[inline]
    fn enter_tunnel(&mut self) -> Result<(), SkipReason> {
        self.tunnels = self.tunnels.saturating_add(1);
        if self.tunnels > MAX_TUNNEL_DEPTH {
            Err(SkipReason::Malformed)
        } else {
            Ok(())
        }
    }
}

/// Where the walk is: the bytes that start with the named header.
#[derive(Clone, Copy, Debug)]
enum Layer<'a> {
    /// An Ethernet II / 802.3 frame, from the destination MAC.
    Ethernet(&'a [u8]),
    /// A PPP frame, optionally starting with the FF 03 address/control.
    Ppp(&'a [u8]),
    /// An IP packet whose version is read from its first nibble.
    Ip(&'a [u8]),
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
    /// The end: a TCP segment.
    Tcp(Tcp<'a>),
}

/// A TCP segment before the frame's timestamp and tag are attached.
#[derive(Clone, Copy, Debug)]
struct Tcp<'a> {
    src: Endpoint,
    dst: Endpoint,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    window_scale: Option<u8>,
    payload: &'a [u8],
    payload_missing: u32,
}

/// Decode one frame. Never panics, never allocates.
#[inline]
pub fn decode<'a>(frame: &Frame<'a>) -> Result<Segment<'a>, SkipReason> {
    match fast::decode(frame) {
        Some(segment) => Ok(segment),
        None => general(frame),
    }
}

/// The walk through any stack of layers; also decides every skip reason.
#[inline(never)]
fn general<'a>(frame: &Frame<'a>) -> Result<Segment<'a>, SkipReason> {
    let data = frame.data;
    let mut cx = Cx {
        tag: NetTag::default(),
        lost: (frame.orig_len as usize).saturating_sub(data.len()),
        tunnels: 0,
    };
    let mut layer = link::first(frame.link, data, &mut cx)?;
    let mut steps = 0u8;
    loop {
        layer = match layer {
            Layer::Ipv4(d) => ip::ipv4(d, &mut cx)?,
            Layer::Tcp(t) => {
                return Ok(Segment {
                    ts: frame.ts,
                    src: t.src,
                    dst: t.dst,
                    tag: cx.tag,
                    seq: t.seq,
                    ack: t.ack,
                    flags: t.flags,
                    window: t.window,
                    window_scale: t.window_scale,
                    payload: t.payload,
                    payload_missing: t.payload_missing,
                })
            }
            Layer::Ipv6(d) => ip::ipv6(d, &mut cx)?,
            Layer::Ethernet(d) => link::ethernet(d, &mut cx)?,
            Layer::Ip(d) => ip::by_version(d, &cx)?,
            Layer::Ppp(d) => link::ppp(d, &cx)?,
        };
        steps += 1;
        if steps >= MAX_LAYERS {
            return Err(SkipReason::Malformed);
        }
    }
}

/// Big-endian u16 at `at`, if the bytes are there.
#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    match d.get(at..at.checked_add(2)?) {
        Some(&[a, b]) => Some(u16::from_be_bytes([a, b])),
        _ => None,
    }
}

/// Big-endian u32 at `at`, if the bytes are there.
#[inline]
fn be32(d: &[u8], at: usize) -> Option<u32> {
    match d.get(at..at.checked_add(4)?) {
        Some(&[a, b, c, e]) => Some(u32::from_be_bytes([a, b, c, e])),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
