//! IPv4 and IPv6 (with options and extension headers, by etherparse's lax
//! slicing), the choice of transport, and TCP.
//!
//! Lengths: the IP header's own length field bounds everything after it
//! (etherparse clamps the payload to it, so Ethernet padding is dropped);
//! when the capture holds less than it says, the shortfall, bounded by what
//! the snaplen actually cut, becomes `payload_missing`.

use super::{tunnel, Cx, Endpoint, Layer, SkipReason, Tcp, TcpFlags};
use etherparse::{err, IpNumber, LaxIpv4Slice, LaxIpv6Slice, TcpSlice};
use std::net::IpAddr;

/// TCP option kinds we read.
const TCPOPT_EOL: u8 = 0;
const TCPOPT_NOP: u8 = 1;
const TCPOPT_WINDOW_SCALE: u8 = 3;
/// RFC 7323 section 2.3: a larger shift is used as 14.
const MAX_WINDOW_SCALE: u8 = 14;

/// Raw IP: the version nibble says which.
pub(super) fn by_version<'a>(d: &'a [u8], cx: &Cx) -> Result<Layer<'a>, SkipReason> {
    match d.first().map(|b| b >> 4) {
        Some(4) => Ok(Layer::Ipv4(d)),
        Some(6) => Ok(Layer::Ipv6(d)),
        Some(_) => Err(SkipReason::Malformed),
        None => Err(cx.short()),
    }
}

#[inline]
pub(super) fn ipv4<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let (ip, auth_err) = match LaxIpv4Slice::from_slice(d) {
        Ok(v) => v,
        Err(err::ipv4::HeaderSliceError::Len(_)) => return Err(cx.short()),
        Err(err::ipv4::HeaderSliceError::Content(_)) => return Err(SkipReason::Malformed),
    };
    let h = ip.header();
    let total = usize::from(h.total_len());
    // Zero is TCP segmentation offload on the capturing host: the captured
    // length stands in (etherparse already did that). Anything else below
    // the header length is a bogus length, as Wireshark calls it.
    if total != 0 && total < h.slice().len() {
        return Err(SkipReason::Malformed);
    }
    let p = ip.payload();
    if p.fragmented {
        return Err(SkipReason::IpFragment);
    }
    if let Some(e) = auth_err {
        return Err(match e {
            err::ip_auth::HeaderSliceError::Len(_) => cx.short(),
            err::ip_auth::HeaderSliceError::Content(_) => SkipReason::Malformed,
        });
    }
    let missing = if p.incomplete {
        total.saturating_sub(d.len())
    } else {
        0
    };
    transport(
        p.ip_number,
        p.payload,
        missing,
        IpAddr::V4(h.source_addr()),
        IpAddr::V4(h.destination_addr()),
        cx,
    )
}

pub(super) fn ipv6<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let (ip, ext_err) = match LaxIpv6Slice::from_slice(d) {
        Ok(v) => v,
        Err(err::ipv6::HeaderSliceError::Len(_)) => return Err(cx.short()),
        Err(err::ipv6::HeaderSliceError::Content(_)) => return Err(SkipReason::Malformed),
    };
    let p = ip.payload();
    if p.fragmented {
        return Err(SkipReason::IpFragment);
    }
    if let Some((e, _)) = ext_err {
        return Err(match e {
            err::ipv6_exts::HeaderSliceError::Len(_) => cx.short(),
            err::ipv6_exts::HeaderSliceError::Content(_) => SkipReason::Malformed,
        });
    }
    let h = ip.header();
    let missing = if p.incomplete {
        (usize::from(h.payload_length()) + etherparse::Ipv6Header::LEN).saturating_sub(d.len())
    } else {
        0
    };
    transport(
        p.ip_number,
        p.payload,
        missing,
        IpAddr::V6(h.source_addr()),
        IpAddr::V6(h.destination_addr()),
        cx,
    )
}

/// The IP payload `d` (of protocol `proto`), which lacks `missing` bytes the
/// IP length says exist.
#[inline]
fn transport<'a>(
    proto: IpNumber,
    d: &'a [u8],
    missing: usize,
    src: IpAddr,
    dst: IpAddr,
    cx: &mut Cx,
) -> Result<Layer<'a>, SkipReason> {
    match proto {
        IpNumber::TCP => tcp(d, missing, src, dst, cx),
        IpNumber::UDP => tunnel::udp(d, cx),
        IpNumber::GRE => tunnel::gre(d, cx),
        IpNumber::IPV4 => {
            cx.enter_tunnel()?;
            Ok(Layer::Ipv4(d))
        }
        IpNumber::IPV6 => {
            cx.enter_tunnel()?;
            Ok(Layer::Ipv6(d))
        }
        _ => Err(SkipReason::NonTcp),
    }
}

#[inline]
fn tcp<'a>(
    d: &'a [u8],
    missing: usize,
    src: IpAddr,
    dst: IpAddr,
    cx: &Cx,
) -> Result<Layer<'a>, SkipReason> {
    let t = match TcpSlice::from_slice(d) {
        Ok(t) => t,
        Err(err::tcp::HeaderSliceError::Len(_)) => return Err(cx.short()),
        Err(err::tcp::HeaderSliceError::Content(_)) => return Err(SkipReason::Malformed),
    };
    let h = t.header_slice();
    let flags = match h.get(12..14) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]) & 0x01ff,
        _ => return Err(SkipReason::Malformed),
    };
    let flags = TcpFlags(flags);
    let window_scale = if flags.syn() {
        window_scale(t.options())
    } else {
        None
    };
    Ok(Layer::Tcp(Tcp {
        src: Endpoint {
            ip: src,
            port: t.source_port(),
        },
        dst: Endpoint {
            ip: dst,
            port: t.destination_port(),
        },
        seq: t.sequence_number(),
        ack: t.acknowledgment_number(),
        flags,
        window: t.window_size(),
        window_scale,
        payload: t.payload(),
        // The capture cannot have lost more than the snaplen cut.
        payload_missing: u32::try_from(missing.min(cx.lost)).unwrap_or(u32::MAX),
    }))
}

/// The window scale option (RFC 7323), if the options hold a well-formed
/// one before any malformed option.
pub(super) fn window_scale(mut opts: &[u8]) -> Option<u8> {
    loop {
        match opts {
            [] | [TCPOPT_EOL, ..] => return None,
            [TCPOPT_NOP, rest @ ..] => opts = rest,
            [TCPOPT_WINDOW_SCALE, 3, shift, ..] => return Some((*shift).min(MAX_WINDOW_SCALE)),
            [_, len, ..] if *len >= 2 => opts = opts.get(usize::from(*len)..)?,
            _ => return None,
        }
    }
}
