//! Link layers: from the start of a frame, by its link type, to the first
//! network-layer header; and everything that an EtherType can announce
//! before IP (VLAN tags, LLC/SNAP, PPPoE, MPLS).
//!
//! Hand-written: etherparse knows Ethernet II, VLAN and SLL, but none of the
//! other link types, and its link slicing stops at two VLAN tags.

use super::{be16, Cx, Layer, SkipReason, MAX_MPLS_LABELS, MAX_VLAN_TAGS};
use crate::capture::LinkType;

pub(super) const ETHERTYPE_IPV4: u16 = 0x0800;
pub(super) const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ outer tags some switches still send.
const ETHERTYPE_QINQ_OLD: [u16; 3] = [0x9100, 0x9200, 0x9300];
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS_UNICAST: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
/// Values up to this are an 802.3 length, not an EtherType.
const MAX_8023_LENGTH: u16 = 1500;

const ETHERNET_HEADER_LEN: usize = 14;
const SLL_HEADER_LEN: usize = 16;
const SLL2_HEADER_LEN: usize = 20;
/// `ARPHRD_NETLINK`: an SLL frame carrying netlink messages, not packets.
const ARPHRD_NETLINK: u16 = 824;

/// BSD `AF_INET`, the same on every BSD.
const BSD_AF_INET: u32 = 2;
/// `AF_INET6` on NetBSD/OpenBSD, FreeBSD/DragonFly and Darwin.
const BSD_AF_INET6: [u32; 3] = [24, 28, 30];

/// Linux `AF_INET` and `AF_INET6`, as NFLOG writes the family.
const LINUX_AF_INET: u8 = 2;
const LINUX_AF_INET6: u8 = 10;
const NFLOG_HEADER_LEN: usize = 4;
/// `NFULA_PAYLOAD`: the TLV holding the packet.
const NFULA_PAYLOAD: u16 = 9;
/// The TLV type bits; the top two are the nested/byte-order flags.
const NFLOG_TLV_TYPE_MASK: u16 = 0x3fff;

const PPP_ADDRESS: u8 = 0xff;
const PPP_CONTROL: u8 = 0x03;
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
const CHDLC_UNICAST: u8 = 0x0f;
const CHDLC_MULTICAST: u8 = 0x8f;

/// The first layer of a frame of link type `link`.
#[inline]
pub(super) fn first<'a>(link: LinkType, d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    match link {
        LinkType::ETHERNET => ethernet(d, cx),
        LinkType::RAW | LinkType::RAW_LEGACY_12 | LinkType::RAW_LEGACY_14 => Ok(Layer::Ip(d)),
        LinkType::IPV4 => Ok(Layer::Ipv4(d)),
        LinkType::IPV6 => Ok(Layer::Ipv6(d)),
        LinkType::LINUX_SLL => sll(d, cx),
        LinkType::LINUX_SLL2 => sll2(d, cx),
        LinkType::NULL | LinkType::LOOP => null(d, cx),
        LinkType::NFLOG => nflog(d, cx),
        LinkType::C_HDLC => chdlc(d, cx),
        LinkType::PPP => ppp_link(d, cx),
        _ => Err(SkipReason::UnsupportedLinkType),
    }
}

/// Ethernet II, or 802.3 with LLC/SNAP.
#[inline]
pub(super) fn ethernet<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    match d.split_at_checked(ETHERNET_HEADER_LEN) {
        Some((h, rest)) => match h {
            [.., a, b] => ethertype(u16::from_be_bytes([*a, *b]), rest, cx),
            _ => Err(SkipReason::Malformed),
        },
        None => Err(cx.short()),
    }
}

/// What follows an EtherType field: IP, or tags to peel first.
#[inline]
pub(super) fn ethertype<'a>(
    mut t: u16,
    mut d: &'a [u8],
    cx: &mut Cx,
) -> Result<Layer<'a>, SkipReason> {
    let mut tags = 0u8;
    loop {
        match t {
            ETHERTYPE_IPV4 => return Ok(Layer::Ipv4(d)),
            ETHERTYPE_IPV6 => return Ok(Layer::Ipv6(d)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ => {}
            _ if ETHERTYPE_QINQ_OLD.contains(&t) => {}
            ETHERTYPE_PPPOE_SESSION => return pppoe(d, cx),
            ETHERTYPE_MPLS_UNICAST | ETHERTYPE_MPLS_MULTICAST => return mpls(d, cx),
            _ if t <= MAX_8023_LENGTH => return llc(d, cx),
            _ => return Err(SkipReason::NonIp),
        }
        // A VLAN tag: TCI then the next EtherType.
        let [c0, c1, t0, t1, rest @ ..] = d else {
            return Err(cx.short());
        };
        let vid = u16::from_be_bytes([*c0, *c1]) & 0x0fff;
        if vid != 0 {
            cx.tag.vlan = Some(vid);
        }
        t = u16::from_be_bytes([*t0, *t1]);
        d = rest;
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(SkipReason::Malformed);
        }
    }
}

/// 802.2 LLC after an 802.3 length: only SNAP with an EtherType (OUI 0)
/// can carry IP.
fn llc<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    match d {
        [0xaa, 0xaa, 0x03, 0, 0, 0, t0, t1, rest @ ..] => {
            let t = u16::from_be_bytes([*t0, *t1]);
            if t <= MAX_8023_LENGTH {
                // SNAP inside SNAP is nonsense; stop rather than recurse.
                Err(SkipReason::NonIp)
            } else {
                ethertype(t, rest, cx)
            }
        }
        [0xaa, 0xaa, 0x03, ..] if d.len() < 8 => Err(cx.short()),
        [_, _, _, ..] => Err(SkipReason::NonIp),
        _ => Err(cx.short()),
    }
}

/// PPPoE session stage (RFC 2516): a 6-byte header, then PPP without the
/// address/control bytes.
fn pppoe<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    match d.split_at_checked(6) {
        Some((_, rest)) => ppp(rest, cx),
        None => Err(cx.short()),
    }
}

/// An MPLS label stack; after the bottom label, IP by its version nibble,
/// or (nibble 0) a pseudowire control word and Ethernet, as Wireshark
/// guesses.
fn mpls<'a>(mut d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    for _ in 0..MAX_MPLS_LABELS {
        let [_, _, l2, _, rest @ ..] = d else {
            return Err(cx.short());
        };
        d = rest;
        if l2 & 0x01 != 0 {
            return match d.first().map(|b| b >> 4) {
                Some(4) => Ok(Layer::Ipv4(d)),
                Some(6) => Ok(Layer::Ipv6(d)),
                Some(0) => match d.split_at_checked(4) {
                    Some((_, eth)) => Ok(Layer::Ethernet(eth)),
                    None => Err(cx.short()),
                },
                Some(_) => Err(SkipReason::NonIp),
                None => Err(cx.short()),
            };
        }
    }
    Err(SkipReason::Malformed)
}

/// Linux cooked capture v1: protocol at offset 14.
fn sll<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let (Some(hatype), Some(proto), Some((_, rest))) =
        (be16(d, 2), be16(d, 14), d.split_at_checked(SLL_HEADER_LEN))
    else {
        return Err(cx.short());
    };
    cooked(hatype, proto, rest, cx)
}

/// Linux cooked capture v2: protocol at offset 0, ARPHRD type at 8.
fn sll2<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let (Some(proto), Some(hatype), Some((_, rest))) =
        (be16(d, 0), be16(d, 8), d.split_at_checked(SLL2_HEADER_LEN))
    else {
        return Err(cx.short());
    };
    cooked(hatype, proto, rest, cx)
}

/// The protocol field of SLL/SLL2 is an EtherType, or below 0x600 one of
/// Linux's `ETH_P_*` pseudo-types (4 = 802.2 LLC, handled by the LLC path;
/// the others carry no IP).
fn cooked<'a>(hatype: u16, proto: u16, d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    if hatype == ARPHRD_NETLINK {
        return Err(SkipReason::NonIp);
    }
    ethertype(proto, d, cx)
}

/// BSD loopback (null): a 4-byte address family in the capturing host's
/// byte order; OpenBSD loop: the same in network byte order. We accept
/// either order for both, since files move between hosts.
fn null<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let [a, b, c, e, rest @ ..] = d else {
        return Err(cx.short());
    };
    let le = u32::from_le_bytes([*a, *b, *c, *e]);
    let be = u32::from_be_bytes([*a, *b, *c, *e]);
    if le == BSD_AF_INET || be == BSD_AF_INET {
        Ok(Layer::Ipv4(rest))
    } else if BSD_AF_INET6.contains(&le) || BSD_AF_INET6.contains(&be) {
        Ok(Layer::Ipv6(rest))
    } else {
        Err(SkipReason::NonIp)
    }
}

/// Linux NFLOG: family, version, resource id, then TLVs whose length and
/// type are in the capturing host's byte order, each padded to 4 bytes.
/// The packet is the payload TLV.
fn nflog<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let Some((hdr, mut tlvs)) = d.split_at_checked(NFLOG_HEADER_LEN) else {
        return Err(cx.short());
    };
    let family = hdr.first().copied().unwrap_or(0);
    // The byte order is the one that makes the first TLV's length fit; on
    // a tie, little-endian (x86 and most ARM hosts).
    let little = match tlvs {
        [a, b, ..] => {
            let le = usize::from(u16::from_le_bytes([*a, *b]));
            (4..=tlvs.len()).contains(&le)
                || !(4..=tlvs.len()).contains(&usize::from(u16::from_be_bytes([*a, *b])))
        }
        _ => true,
    };
    loop {
        let [l0, l1, t0, t1, ..] = tlvs else {
            // No payload TLV: NFLOG also logs packets by other attributes
            // only, or the snaplen cut it off.
            return Err(if tlvs.is_empty() && cx.lost == 0 {
                SkipReason::NonIp
            } else {
                cx.short()
            });
        };
        let (len, typ) = if little {
            (
                u16::from_le_bytes([*l0, *l1]),
                u16::from_le_bytes([*t0, *t1]),
            )
        } else {
            (
                u16::from_be_bytes([*l0, *l1]),
                u16::from_be_bytes([*t0, *t1]),
            )
        };
        let len = usize::from(len);
        if len < 4 {
            return Err(SkipReason::Malformed);
        }
        if typ & NFLOG_TLV_TYPE_MASK == NFULA_PAYLOAD {
            // A cut payload TLV keeps what is present.
            let end = len.min(tlvs.len());
            let payload = tlvs.get(4..end).unwrap_or(&[]);
            return match family {
                LINUX_AF_INET => Ok(Layer::Ipv4(payload)),
                LINUX_AF_INET6 => Ok(Layer::Ipv6(payload)),
                _ => Ok(Layer::Ip(payload)),
            };
        }
        let padded = len.saturating_add(3) & !3;
        tlvs = match tlvs.get(padded..) {
            Some(rest) => rest,
            None if len <= tlvs.len() => &[],
            None => return Err(cx.short()),
        };
    }
}

/// Cisco HDLC: address, control, EtherType.
fn chdlc<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    let [_, _, t0, t1, rest @ ..] = d else {
        return Err(cx.short());
    };
    ethertype(u16::from_be_bytes([*t0, *t1]), rest, cx)
}

/// Link type PPP: PPP in HDLC-like framing, with or without FF 03; BSD/OS
/// wrote Cisco HDLC frames under this link type too (recognised by their
/// address byte, as Wireshark does).
fn ppp_link<'a>(d: &'a [u8], cx: &mut Cx) -> Result<Layer<'a>, SkipReason> {
    match d.first() {
        Some(&CHDLC_UNICAST | &CHDLC_MULTICAST) => chdlc(d, cx),
        _ => ppp(d, cx),
    }
}

/// A PPP frame: optional FF 03, then a 1- or 2-byte protocol (protocol
/// field compression: an odd first byte is the whole field).
pub(super) fn ppp<'a>(d: &'a [u8], cx: &Cx) -> Result<Layer<'a>, SkipReason> {
    let d = match d {
        [PPP_ADDRESS, PPP_CONTROL, rest @ ..] => rest,
        [PPP_ADDRESS] => return Err(cx.short()),
        _ => d,
    };
    let (proto, rest) = match d {
        [p, rest @ ..] if p & 1 == 1 => (u16::from(*p), rest),
        [p0, p1, rest @ ..] => (u16::from_be_bytes([*p0, *p1]), rest),
        _ => return Err(cx.short()),
    };
    match proto {
        PPP_IPV4 => Ok(Layer::Ipv4(rest)),
        PPP_IPV6 => Ok(Layer::Ipv6(rest)),
        _ => Err(SkipReason::NonIp),
    }
}
