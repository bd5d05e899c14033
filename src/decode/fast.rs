//! The common case in one straight function: Ethernet, Linux cooked (SLL,
//! SLL2) or raw IP, at most one 802.1Q tag, IPv4 (options allowed) or IPv6 without extension headers, TCP.
//!
//! Why: the general walk in [`super::decode`] passes each layer through an
//! enum and costs about twice as much per packet; most packets on the wire
//! are this shape. The fast path only ever says "here is the segment" or
//! "not mine" (`None`); anything unusual (other link types, tunnels,
//! fragments, extension headers, any length or value problem) goes to the
//! general walk, which decides the skip reason. It must give the same
//! segment the general walk gives; a test checks that on every frame of the
//! test corpus and on mutations of it.

use super::{be16, Endpoint, NetTag, Segment, TcpFlags};
use crate::capture::{Frame, LinkType};
use etherparse::{IpNumber, Ipv4HeaderSlice, Ipv6HeaderSlice, TcpSlice};
use std::net::IpAddr;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const IPV6_HEADER_LEN: usize = 40;
const ARPHRD_NETLINK: u16 = 824;

#[inline(always)]
pub(super) fn decode<'a>(frame: &Frame<'a>) -> Option<Segment<'a>> {
    let d = frame.data;
    let (mut t, mut rest) = match frame.link {
        LinkType::ETHERNET => (be16(d, 12)?, d.get(14..)?),
        LinkType::LINUX_SLL2 if be16(d, 8)? != ARPHRD_NETLINK => (be16(d, 0)?, d.get(20..)?),
        LinkType::LINUX_SLL if be16(d, 2)? != ARPHRD_NETLINK => (be16(d, 14)?, d.get(16..)?),
        LinkType::RAW => match d.first()? >> 4 {
            4 => (ETHERTYPE_IPV4, d),
            6 => (ETHERTYPE_IPV6, d),
            _ => return None,
        },
        _ => return None,
    };
    let mut tag = NetTag::default();
    if t == ETHERTYPE_VLAN {
        let vid = be16(rest, 0)? & 0x0fff;
        if vid != 0 {
            tag.vlan = Some(vid);
        }
        t = be16(rest, 2)?;
        rest = rest.get(4..)?;
    }
    let lost = (frame.orig_len as usize).saturating_sub(d.len());
    let (src, dst, claimed, ip_payload) = if t == ETHERTYPE_IPV4 {
        let h = Ipv4HeaderSlice::from_slice(rest).ok()?;
        if h.protocol() != IpNumber::TCP || h.is_fragmenting_payload() {
            return None;
        }
        let hl = h.slice().len();
        let total = usize::from(h.total_len());
        // Total length 0 (TSO) and bogus lengths take the long way.
        if total < hl {
            return None;
        }
        let end = total.min(rest.len());
        (
            IpAddr::V4(h.source_addr()),
            IpAddr::V4(h.destination_addr()),
            total,
            rest.get(hl..end)?,
        )
    } else if t == ETHERTYPE_IPV6 {
        let h = Ipv6HeaderSlice::from_slice(rest).ok()?;
        let plen = usize::from(h.payload_length());
        if h.next_header() != IpNumber::TCP || plen == 0 {
            return None;
        }
        let total = plen + IPV6_HEADER_LEN;
        let end = total.min(rest.len());
        (
            IpAddr::V6(h.source_addr()),
            IpAddr::V6(h.destination_addr()),
            total,
            rest.get(IPV6_HEADER_LEN..end)?,
        )
    } else {
        return None;
    };
    let missing = claimed.saturating_sub(rest.len()).min(lost);
    let tcp = TcpSlice::from_slice(ip_payload).ok()?;
    let flags = match tcp.header_slice().get(12..14)? {
        &[a, b] => TcpFlags(u16::from_be_bytes([a, b]) & 0x01ff),
        _ => return None,
    };
    let window_scale = if flags.syn() {
        super::ip::window_scale(tcp.options())
    } else {
        None
    };
    Some(Segment {
        ts: frame.ts,
        src: Endpoint {
            ip: src,
            port: tcp.source_port(),
        },
        dst: Endpoint {
            ip: dst,
            port: tcp.destination_port(),
        },
        tag,
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags,
        window: tcp.window_size(),
        window_scale,
        payload: tcp.payload(),
        payload_missing: u32::try_from(missing).unwrap_or(u32::MAX),
    })
}
