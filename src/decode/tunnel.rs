//! Tunnels that traffic mirroring delivers: VXLAN and Geneve over UDP, GRE
//! (plain, transparent Ethernet bridging, ERSPAN types I to III, PPTP's
//! enhanced GRE). Hand-written: etherparse has none of them.
//!
//! Each decapsulation counts against [`super::MAX_TUNNEL_DEPTH`] and sets
//! `tag.tunnel_id` when the tunnel has an id (VNI, GRE key, ERSPAN session),
//! so the innermost id wins.

use super::link::{ethertype, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use super::{be16, be32, Cx, Layer, SkipReason};

/// IANA UDP port of VXLAN (RFC 7348); AWS and GCP packet mirroring use it.
pub const VXLAN_PORT: u16 = 4789;
/// IANA UDP port of Geneve (RFC 8926); AWS Gateway Load Balancer uses it.
pub const GENEVE_PORT: u16 = 6081;

const UDP_HEADER_LEN: usize = 8;
const VXLAN_HEADER_LEN: usize = 8;
/// VXLAN flag: the VNI field is valid.
const VXLAN_FLAG_I: u8 = 0x08;
const GENEVE_HEADER_LEN: usize = 8;

const GRE_FLAG_CHECKSUM: u8 = 0x80;
const GRE_FLAG_ROUTING: u8 = 0x40;
const GRE_FLAG_KEY: u8 = 0x20;
const GRE_FLAG_SEQUENCE: u8 = 0x10;
/// Enhanced GRE (RFC 2637, PPTP): acknowledgment number present.
const GRE_FLAG_ACK: u8 = 0x80;
const GRE_VERSION_MASK: u8 = 0x07;
const GRE_VERSION_PPTP: u8 = 1;

const GRE_PROTO_TEB: u16 = 0x6558;
const GRE_PROTO_ERSPAN_I_II: u16 = 0x88be;
const GRE_PROTO_ERSPAN_III: u16 = 0x22eb;
const GRE_PROTO_PPP: u16 = 0x880b;

const ERSPAN_II_HEADER_LEN: usize = 8;
const ERSPAN_III_HEADER_LEN: usize = 12;
const ERSPAN_III_SUBHEADER_LEN: usize = 8;
/// ERSPAN III frame types: Ethernet, or an IP packet without its link
/// header.
const ERSPAN_FT_ETHERNET: u16 = 0;
const ERSPAN_FT_IP: u16 = 2;

/// UDP: only VXLAN and Geneve carry anything we decode.
pub(super) fn udp<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let (Some(sport), Some(dport), Some(len)) = (be16(d, 0), be16(d, 2), be16(d, 4)) else {
        return Err(cx.short());
    };
    let tunnel_port = |p: u16| dport == p || sport == p;
    if !tunnel_port(VXLAN_PORT) && !tunnel_port(GENEVE_PORT) {
        return Err(SkipReason::NonTcp);
    }
    // The UDP length bounds the datagram when it is sane; 0 (jumbograms)
    // or a length beyond the capture leaves the IP-clamped bytes.
    let len = usize::from(len);
    let end = if len >= UDP_HEADER_LEN {
        len.min(d.len())
    } else {
        d.len()
    };
    let body = d.get(UDP_HEADER_LEN..end).unwrap_or(&[]);
    cx.enter_tunnel()?;
    if tunnel_port(VXLAN_PORT) {
        vxlan(body, cx)
    } else {
        geneve(body, cx)
    }
}

/// VXLAN (RFC 7348): flags, 24-bit VNI, then an Ethernet frame.
fn vxlan<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let (Some((h, inner)), Some(word)) = (d.split_at_checked(VXLAN_HEADER_LEN), be32(d, 4)) else {
        return Err(cx.short());
    };
    if h.first().is_some_and(|f| f & VXLAN_FLAG_I != 0) {
        cx.tag.tunnel_id = Some(word >> 8);
    }
    Ok(Layer::Ethernet(inner))
}

/// Geneve (RFC 8926): version and option length, protocol type, VNI,
/// options, then the protocol's payload.
fn geneve<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let (Some(&b0), Some(proto), Some(word)) = (d.first(), be16(d, 2), be32(d, 4)) else {
        return Err(cx.short());
    };
    if b0 >> 6 != 0 {
        // Only version 0 exists.
        return Err(SkipReason::Malformed);
    }
    let hlen = GENEVE_HEADER_LEN + usize::from(b0 & 0x3f) * 4;
    let Some((_, inner)) = d.split_at_checked(hlen) else {
        return Err(cx.short());
    };
    cx.tag.tunnel_id = Some(word >> 8);
    gre_payload(proto, inner, cx)
}

/// GRE (RFC 2784, RFC 2890; RFC 1701 routing; RFC 2637 enhanced GRE).
pub(super) fn gre<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let [f0, f1, p0, p1, rest @ ..] = d else {
        return Err(cx.short());
    };
    let mut rest: &[u8] = rest;
    let (f0, f1) = (*f0, *f1);
    let proto = u16::from_be_bytes([*p0, *p1]);
    cx.enter_tunnel()?;
    if f1 & GRE_VERSION_MASK == GRE_VERSION_PPTP {
        // Key (payload length, call id) always; sequence and ack optional.
        let Some(call_id) = be16(rest, 2) else {
            return Err(cx.short());
        };
        let hlen = 4
            + if f0 & GRE_FLAG_SEQUENCE != 0 { 4 } else { 0 }
            + if f1 & GRE_FLAG_ACK != 0 { 4 } else { 0 };
        let Some((_, inner)) = rest.split_at_checked(hlen) else {
            return Err(cx.short());
        };
        cx.tag.tunnel_id = Some(u32::from(call_id));
        return if proto == GRE_PROTO_PPP && !inner.is_empty() {
            Ok(Layer::Ppp(inner))
        } else {
            // Acknowledgment-only packets carry nothing.
            Err(SkipReason::NonIp)
        };
    }
    if f1 & GRE_VERSION_MASK != 0 {
        return Err(SkipReason::Malformed);
    }
    let mut skip = 0usize;
    if f0 & (GRE_FLAG_CHECKSUM | GRE_FLAG_ROUTING) != 0 {
        skip += 4;
    }
    if f0 & GRE_FLAG_KEY != 0 {
        let Some(key) = be32(rest, skip) else {
            return Err(cx.short());
        };
        cx.tag.tunnel_id = Some(key);
        skip += 4;
    }
    let sequenced = f0 & GRE_FLAG_SEQUENCE != 0;
    if sequenced {
        skip += 4;
    }
    rest = match rest.split_at_checked(skip) {
        Some((_, r)) => r,
        None => return Err(cx.short()),
    };
    if f0 & GRE_FLAG_ROUTING != 0 {
        // Source route entries (RFC 1701): family, offset, length, data;
        // a family-0, length-0 entry ends the list. Each consumes at least
        // 4 bytes, so the walk ends.
        loop {
            let [a0, a1, _, len, r @ ..] = rest else {
                return Err(cx.short());
            };
            if *a0 == 0 && *a1 == 0 && *len == 0 {
                rest = r;
                break;
            }
            rest = match r.split_at_checked(usize::from(*len)) {
                Some((_, r)) => r,
                None => return Err(cx.short()),
            };
        }
    }
    match proto {
        GRE_PROTO_ERSPAN_I_II if sequenced => erspan_ii(rest, cx),
        // ERSPAN type I: no ERSPAN header, the mirrored frame follows.
        GRE_PROTO_ERSPAN_I_II => Ok(Layer::Ethernet(rest)),
        GRE_PROTO_ERSPAN_III => erspan_iii(rest, cx),
        _ => gre_payload(proto, rest, cx),
    }
}

/// A payload named by an EtherType-space protocol (GRE, Geneve).
fn gre_payload<'a>(proto: u16, d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    match proto {
        ETHERTYPE_IPV4 => Ok(Layer::Ipv4(d)),
        ETHERTYPE_IPV6 => Ok(Layer::Ipv6(d)),
        GRE_PROTO_TEB => Ok(Layer::Ethernet(d)),
        _ => ethertype(proto, d, cx),
    }
}

/// The 10-bit ERSPAN session id, at the same place in types II and III.
fn erspan_session(d: &[u8]) -> Option<u32> {
    be16(d, 2).map(|w| u32::from(w & 0x03ff))
}

/// ERSPAN type II: an 8-byte header, then the mirrored Ethernet frame.
fn erspan_ii<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let (Some(session), Some((_, inner))) =
        (erspan_session(d), d.split_at_checked(ERSPAN_II_HEADER_LEN))
    else {
        return Err(cx.short());
    };
    cx.tag.tunnel_id = Some(session);
    Ok(Layer::Ethernet(inner))
}

/// ERSPAN type III: a 12-byte header, an optional 8-byte platform
/// subheader (O bit), then an Ethernet frame or an IP packet (frame type).
fn erspan_iii<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let (Some(session), Some(word), Some((_, rest))) = (
        erspan_session(d),
        be16(d, 10),
        d.split_at_checked(ERSPAN_III_HEADER_LEN),
    ) else {
        return Err(cx.short());
    };
    let rest = if word & 0x0001 != 0 {
        match rest.split_at_checked(ERSPAN_III_SUBHEADER_LEN) {
            Some((_, r)) => r,
            None => return Err(cx.short()),
        }
    } else {
        rest
    };
    cx.tag.tunnel_id = Some(session);
    match (word >> 10) & 0x1f {
        ERSPAN_FT_ETHERNET => Ok(Layer::Ethernet(rest)),
        ERSPAN_FT_IP => Ok(Layer::Ip(rest)),
        _ => Err(SkipReason::NonIp),
    }
}
