//! Byte-level tests of the decoder: every link type, tag stacks, IPv6
//! extension headers, every tunnel kind, lengths (padding, snaplen cuts,
//! cuts at every byte), and random bytes.

use super::*;
use crate::capture::LinkType;
use etherparse::{PacketBuilder, TcpOptionElement};
use std::net::{Ipv4Addr, Ipv6Addr};

const SRC4: [u8; 4] = [10, 0, 0, 1];
const DST4: [u8; 4] = [10, 0, 0, 2];
const SRC6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const DST6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const PAYLOAD: &[u8] = b"GET / HTTP/1.1\r\n\r\n";

/// IPv4 + TCP 10.0.0.1:40000 -> 10.0.0.2:80, PSH|ACK.
fn tcp4(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv4(SRC4, DST4, 64)
        .tcp(40000, 80, 1000, 512)
        .ack(2000)
        .psh();
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

/// IPv6 + TCP [2001:db8::1]:40000 -> [2001:db8::2]:80, PSH|ACK.
fn tcp6(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv6(SRC6, DST6, 64)
        .tcp(40000, 80, 1000, 512)
        .ack(2000)
        .psh();
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

/// A bare TCP header (no IP), PSH|ACK, ports 40000 -> 80.
fn tcp_header_and(payload: &[u8]) -> Vec<u8> {
    tcp4(payload)[20..].to_vec()
}

/// An outer IPv4 header 192.0.2.1 -> 192.0.2.2 with protocol `proto`.
fn ip4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let [t0, t1] = total.to_be_bytes();
    let mut v = vec![
        0x45, 0, t0, t1, 0, 0, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
    ];
    v.extend_from_slice(payload);
    v
}

/// An IPv6 header 2001:db8:ffff::1 -> ::2 with next header `next`.
fn ip6(next: u8, payload: &[u8]) -> Vec<u8> {
    let [l0, l1] = (payload.len() as u16).to_be_bytes();
    let mut v = vec![0x60, 0, 0, 0, l0, l1, next, 64];
    let mut a = [
        0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ];
    v.extend_from_slice(&a);
    a[15] = 2;
    v.extend_from_slice(&a);
    v.extend_from_slice(payload);
    v
}

fn eth(ethertype: u16, inner: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(inner);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn frame(link: LinkType, data: &[u8]) -> Frame<'_> {
    Frame {
        ts: Timestamp::from_nanos(7),
        caplen: data.len() as u32,
        orig_len: data.len() as u32,
        link,
        data,
    }
}

fn dec(link: LinkType, data: &[u8]) -> Result<Segment<'_>, SkipReason> {
    decode(&frame(link, data))
}

fn v4(seg: &Segment<'_>) {
    assert_eq!(seg.src.ip, IpAddr::V4(Ipv4Addr::from(SRC4)));
    assert_eq!(seg.dst.ip, IpAddr::V4(Ipv4Addr::from(DST4)));
    assert_eq!((seg.src.port, seg.dst.port), (40000, 80));
    assert_eq!(seg.payload, PAYLOAD);
    assert_eq!(seg.payload_missing, 0);
}

fn v6(seg: &Segment<'_>) {
    assert_eq!(seg.src.ip, IpAddr::V6(Ipv6Addr::from(SRC6)));
    assert_eq!(seg.dst.ip, IpAddr::V6(Ipv6Addr::from(DST6)));
    assert_eq!((seg.src.port, seg.dst.port), (40000, 80));
    assert_eq!(seg.payload, PAYLOAD);
}

#[test]
fn ethernet_ipv4_tcp_fields() {
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(SRC4, DST4, 64)
        .tcp(40000, 80, 0xdead_beef, 4321)
        .ack(0x0102_0304)
        .psh()
        .fin();
    let mut d = Vec::new();
    b.write(&mut d, PAYLOAD).unwrap();
    let s = dec(LinkType::ETHERNET, &d).unwrap();
    v4(&s);
    assert_eq!(s.ts, Timestamp::from_nanos(7));
    assert_eq!(s.seq, 0xdead_beef);
    assert_eq!(s.ack, 0x0102_0304);
    assert_eq!(s.window, 4321);
    assert_eq!(
        s.flags.0,
        TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK,
        "flags as on the wire"
    );
    assert_eq!(s.window_scale, None);
    assert_eq!(s.tag, NetTag::default());
    // Zero-copy: the payload lies inside the frame's bytes.
    let range = d.as_ptr_range();
    assert!(range.contains(&s.payload.as_ptr()));
}

#[test]
fn ethernet_ipv6_tcp() {
    let d = eth(0x86dd, &tcp6(PAYLOAD));
    v6(&dec(LinkType::ETHERNET, &d).unwrap());
}

#[test]
fn ethernet_padding_never_becomes_payload() {
    // A pure ACK is 54 bytes; Ethernet pads it to 60 with junk.
    let mut d = eth(0x0800, &tcp4(b""));
    d.extend_from_slice(&[0xee; 6]);
    let s = dec(LinkType::ETHERNET, &d).unwrap();
    assert_eq!(s.payload, b"");
    assert_eq!(s.payload_missing, 0);
    // The same over IPv6, and with a payload.
    let mut d = eth(0x86dd, &tcp6(b"x"));
    d.extend_from_slice(&[0xee; 9]);
    assert_eq!(dec(LinkType::ETHERNET, &d).unwrap().payload, b"x");
}

#[test]
fn ipv4_with_options() {
    let mut ip = tcp4(PAYLOAD);
    // IHL 7: 8 bytes of options (NOPs, then end of list).
    ip.splice(20..20, [1, 1, 1, 1, 1, 1, 1, 0]);
    ip[0] = 0x47;
    let total = u16::from_be_bytes([ip[2], ip[3]]) + 8;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    v4(&dec(LinkType::ETHERNET, &eth(0x0800, &ip)).unwrap());
}

#[test]
fn ipv4_total_length_zero_is_tso() {
    let mut ip = tcp4(PAYLOAD);
    ip[2] = 0;
    ip[3] = 0;
    v4(&dec(LinkType::RAW, &ip).unwrap());
}

#[test]
fn ipv4_total_length_below_header_is_malformed() {
    let mut ip = tcp4(PAYLOAD);
    ip[2] = 0;
    ip[3] = 19;
    assert_eq!(dec(LinkType::RAW, &ip).unwrap_err(), SkipReason::Malformed);
}

#[test]
fn wrong_ip_version_is_malformed() {
    let mut ip = tcp4(PAYLOAD);
    ip[0] = 0x65;
    assert_eq!(
        dec(LinkType::ETHERNET, &eth(0x0800, &ip)).unwrap_err(),
        SkipReason::Malformed
    );
    ip[0] = 0x15;
    assert_eq!(dec(LinkType::RAW, &ip).unwrap_err(), SkipReason::Malformed);
    assert_eq!(dec(LinkType::IPV4, &ip).unwrap_err(), SkipReason::Malformed);
    assert_eq!(
        dec(LinkType::IPV6, &tcp4(PAYLOAD)).unwrap_err(),
        SkipReason::Malformed
    );
}

#[test]
fn tcp_data_offset_below_five_is_malformed() {
    let mut ip = tcp4(PAYLOAD);
    ip[20 + 12] = 0x40;
    assert_eq!(dec(LinkType::RAW, &ip).unwrap_err(), SkipReason::Malformed);
}

#[test]
fn ipv6_extension_headers() {
    let tcp = tcp_header_and(PAYLOAD);
    // Checksums are not verified, so the IPv4 one in this header is fine.
    let hop_by_hop = [43u8, 0, 1, 4, 0, 0, 0, 0]; // -> routing; PadN
    let routing = [60u8, 0, 0, 0, 0, 0, 0, 0]; // -> dest opts; type 0, 0 left
    let dest_opts = [51u8, 0, 1, 4, 0, 0, 0, 0]; // -> AH
    let mut ah = vec![6u8, 4, 0, 0]; // -> TCP; (4+2)*4 = 24 bytes
    ah.extend_from_slice(&[0x11; 20]);
    let d = ip6(0, &cat(&[&hop_by_hop, &routing, &dest_opts, &ah, &tcp]));
    let mut d = d;
    // ip6() addresses differ from tcp6()'s; check ports and payload.
    d.extend_from_slice(&[0xee; 4]); // trailing junk past payload length
    let s = dec(LinkType::IPV6, &d).unwrap();
    assert_eq!((s.src.port, s.dst.port), (40000, 80));
    assert_eq!(s.payload, PAYLOAD);
    assert!(matches!(s.src.ip, IpAddr::V6(_)));
}

#[test]
fn ipv6_hop_by_hop_not_first_is_malformed() {
    let hop_by_hop = [6u8, 0, 1, 4, 0, 0, 0, 0];
    let d = ip6(60, &cat(&[&[0u8, 0, 0, 0, 0, 0, 0, 0], &hop_by_hop]));
    assert_eq!(dec(LinkType::IPV6, &d).unwrap_err(), SkipReason::Malformed);
}

#[test]
fn ipv4_fragments_are_skipped() {
    let mut ip = tcp4(PAYLOAD);
    ip[6] = 0x20; // MF
    assert_eq!(dec(LinkType::RAW, &ip).unwrap_err(), SkipReason::IpFragment);
    ip[6] = 0x00;
    ip[7] = 0x10; // offset 16*8
    assert_eq!(dec(LinkType::RAW, &ip).unwrap_err(), SkipReason::IpFragment);
    ip[6] = 0x40; // DF only: a whole packet
    ip[7] = 0;
    v4(&dec(LinkType::RAW, &ip).unwrap());
}

#[test]
fn ipv6_fragments_are_skipped_atomic_fragments_are_not() {
    let tcp = tcp_header_and(PAYLOAD);
    let first = [6u8, 0, 0x00, 0x01, 0, 0, 0, 9]; // offset 0, MF
    let d = ip6(44, &cat(&[&first, &tcp]));
    assert_eq!(dec(LinkType::IPV6, &d).unwrap_err(), SkipReason::IpFragment);
    let later = [6u8, 0, 0x00, 0x08, 0, 0, 0, 9]; // offset 1, no MF
    let d = ip6(44, &cat(&[&later, &tcp]));
    assert_eq!(dec(LinkType::IPV6, &d).unwrap_err(), SkipReason::IpFragment);
    let atomic = [6u8, 0, 0, 0, 0, 0, 0, 9];
    let d = ip6(44, &cat(&[&atomic, &tcp]));
    assert_eq!(dec(LinkType::IPV6, &d).unwrap().payload, PAYLOAD);
}

#[test]
fn vlan_stacks_keep_the_innermost_id() {
    let ip = tcp4(PAYLOAD);
    // 802.1Q
    let d = eth(0x8100, &cat(&[&[0x20, 0x0a, 0x08, 0x00], &ip]));
    let s = dec(LinkType::ETHERNET, &d).unwrap();
    v4(&s);
    assert_eq!(s.tag.vlan, Some(10));
    // QinQ 802.1ad outer 100, inner 200
    let d = eth(
        0x88a8,
        &cat(&[&[0x00, 100, 0x81, 0x00], &[0x00, 200, 0x08, 0x00], &ip]),
    );
    assert_eq!(dec(LinkType::ETHERNET, &d).unwrap().tag.vlan, Some(200));
    // Triple tag with the old 0x9100 outer type, IPv6 inside
    let d = eth(
        0x9100,
        &cat(&[
            &[0x00, 1, 0x88, 0xa8],
            &[0x00, 2, 0x81, 0x00],
            &[0x0f, 0xff, 0x86, 0xdd],
            &tcp6(PAYLOAD),
        ]),
    );
    let s = dec(LinkType::ETHERNET, &d).unwrap();
    v6(&s);
    assert_eq!(s.tag.vlan, Some(4095));
    // A priority tag (VID 0) inside keeps the outer id.
    let d = eth(
        0x88a8,
        &cat(&[&[0x00, 7, 0x81, 0x00], &[0xe0, 0x00, 0x08, 0x00], &ip]),
    );
    assert_eq!(dec(LinkType::ETHERNET, &d).unwrap().tag.vlan, Some(7));
    // etherparse's own builder agrees on the wire format.
    let b = PacketBuilder::ethernet2([2; 6], [4; 6])
        .double_vlan(
            etherparse::VlanId::try_new(300).unwrap(),
            etherparse::VlanId::try_new(301).unwrap(),
        )
        .ipv4(SRC4, DST4, 64)
        .tcp(40000, 80, 1, 1);
    let mut d = Vec::new();
    b.write(&mut d, PAYLOAD).unwrap();
    assert_eq!(dec(LinkType::ETHERNET, &d).unwrap().tag.vlan, Some(301));
}

#[test]
fn too_many_vlan_tags_is_malformed() {
    let mut inner = Vec::new();
    for _ in 0..MAX_VLAN_TAGS {
        inner.extend_from_slice(&[0, 5, 0x81, 0x00]);
    }
    inner.extend_from_slice(&[0, 5, 0x08, 0x00]);
    inner.extend_from_slice(&tcp4(PAYLOAD));
    // MAX_VLAN_TAGS + 1 tags in all.
    assert_eq!(
        dec(LinkType::ETHERNET, &eth(0x8100, &inner)).unwrap_err(),
        SkipReason::Malformed
    );
    // Exactly MAX_VLAN_TAGS is fine.
    assert!(dec(LinkType::ETHERNET, &eth(0x8100, &inner[4..])).is_ok());
}

#[test]
fn ethernet_8023_llc_snap() {
    let ip = tcp4(PAYLOAD);
    let llc = cat(&[&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00], &ip]);
    v4(&dec(LinkType::ETHERNET, &eth(llc.len() as u16, &llc)).unwrap());
    // Spanning tree (LLC 42 42 03) is not IP.
    let stp = [0x42u8, 0x42, 0x03, 0, 0, 0, 0, 0];
    assert_eq!(
        dec(LinkType::ETHERNET, &eth(38, &stp)).unwrap_err(),
        SkipReason::NonIp
    );
}

#[test]
fn pppoe_and_mpls_on_ethernet() {
    let ip = tcp4(PAYLOAD);
    let pppoe = cat(&[&[0x11, 0, 0x12, 0x34, 0, 0], &[0x00, 0x21], &ip]);
    v4(&dec(LinkType::ETHERNET, &eth(0x8864, &pppoe)).unwrap());
    // Two labels, the second with bottom of stack.
    let mpls = cat(&[&[0, 0x10, 0x00, 64], &[0, 0x20, 0x01, 64], &ip]);
    v4(&dec(LinkType::ETHERNET, &eth(0x8847, &mpls)).unwrap());
    // Pseudowire: control word, then Ethernet.
    let pw = cat(&[
        &[0, 0x20, 0x01, 64],
        &[0, 0, 0, 0],
        &eth(0x86dd, &tcp6(PAYLOAD)),
    ]);
    v6(&dec(LinkType::ETHERNET, &eth(0x8847, &pw)).unwrap());
}

#[test]
fn non_ip_and_non_tcp() {
    let arp = [0u8; 28];
    assert_eq!(
        dec(LinkType::ETHERNET, &eth(0x0806, &arp)).unwrap_err(),
        SkipReason::NonIp
    );
    let b = PacketBuilder::ipv4(SRC4, DST4, 64).udp(5353, 53);
    let mut udp = Vec::new();
    b.write(&mut udp, b"query").unwrap();
    assert_eq!(dec(LinkType::RAW, &udp).unwrap_err(), SkipReason::NonTcp);
    let b = PacketBuilder::ipv6(SRC6, DST6, 64).icmpv6_echo_request(1, 2);
    let mut icmp = Vec::new();
    b.write(&mut icmp, b"ping").unwrap();
    assert_eq!(dec(LinkType::RAW, &icmp).unwrap_err(), SkipReason::NonTcp);
}

#[test]
fn icmp_error_quoting_tcp_is_non_tcp() {
    // Destination unreachable, port unreachable, quoting the IP header and
    // the first 8 bytes of a TCP header: tshark counts this under `-Y tcp`,
    // we do not (module docs).
    let quoted = &tcp4(PAYLOAD)[..28];
    let icmp = cat(&[&[3u8, 3, 0, 0, 0, 0, 0, 0], quoted]);
    assert_eq!(
        dec(LinkType::IPV4, &ip4(1, &icmp)).unwrap_err(),
        SkipReason::NonTcp
    );
}

#[test]
fn unsupported_link_type() {
    assert_eq!(
        dec(LinkType(147), &tcp4(PAYLOAD)).unwrap_err(),
        SkipReason::UnsupportedLinkType
    );
}

#[test]
fn raw_ip_link_types() {
    for lt in [
        LinkType::RAW,
        LinkType::RAW_LEGACY_12,
        LinkType::RAW_LEGACY_14,
    ] {
        v4(&dec(lt, &tcp4(PAYLOAD)).unwrap());
        v6(&dec(lt, &tcp6(PAYLOAD)).unwrap());
    }
    v4(&dec(LinkType::IPV4, &tcp4(PAYLOAD)).unwrap());
    v6(&dec(LinkType::IPV6, &tcp6(PAYLOAD)).unwrap());
}

#[test]
fn linux_sll_and_sll2() {
    // SLL: packet type 0 (to us), ARPHRD_ETHER, 6-byte address, protocol.
    let sll = |proto: u16, hatype: u16| {
        let mut h = vec![0, 0];
        h.extend_from_slice(&hatype.to_be_bytes());
        h.extend_from_slice(&[0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        h.extend_from_slice(&proto.to_be_bytes());
        h
    };
    let d = cat(&[&sll(0x0800, 1), &tcp4(PAYLOAD)]);
    v4(&dec(LinkType::LINUX_SLL, &d).unwrap());
    let d = cat(&[&sll(0x86dd, 772), &tcp6(PAYLOAD)]);
    v6(&dec(LinkType::LINUX_SLL, &d).unwrap());
    // A VLAN tag libpcap put back after the cooked header.
    let d = cat(&[&sll(0x8100, 1), &[0, 42, 0x08, 0x00], &tcp4(PAYLOAD)]);
    assert_eq!(dec(LinkType::LINUX_SLL, &d).unwrap().tag.vlan, Some(42));
    // Netlink is not IP even if the protocol field looks like it.
    let d = cat(&[&sll(0x0800, 824), &tcp4(PAYLOAD)]);
    assert_eq!(dec(LinkType::LINUX_SLL, &d).unwrap_err(), SkipReason::NonIp);

    // SLL2: protocol, reserved, ifindex, ARPHRD, packet type, addr len, addr.
    let sll2 = |proto: u16| {
        let mut h = proto.to_be_bytes().to_vec();
        h.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        h
    };
    let d = cat(&[&sll2(0x0800), &tcp4(PAYLOAD)]);
    v4(&dec(LinkType::LINUX_SLL2, &d).unwrap());
    let d = cat(&[&sll2(0x86dd), &tcp6(PAYLOAD)]);
    v6(&dec(LinkType::LINUX_SLL2, &d).unwrap());
    let d = cat(&[&sll2(0x0806), &[0u8; 28]]);
    assert_eq!(
        dec(LinkType::LINUX_SLL2, &d).unwrap_err(),
        SkipReason::NonIp
    );
}

#[test]
fn bsd_null_and_openbsd_loop_in_both_byte_orders() {
    for lt in [LinkType::NULL, LinkType::LOOP] {
        v4(&dec(lt, &cat(&[&2u32.to_le_bytes(), &tcp4(PAYLOAD)])).unwrap());
        v4(&dec(lt, &cat(&[&2u32.to_be_bytes(), &tcp4(PAYLOAD)])).unwrap());
        for af in [24u32, 28, 30] {
            v6(&dec(lt, &cat(&[&af.to_le_bytes(), &tcp6(PAYLOAD)])).unwrap());
            v6(&dec(lt, &cat(&[&af.to_be_bytes(), &tcp6(PAYLOAD)])).unwrap());
        }
        assert_eq!(
            dec(lt, &cat(&[&7u32.to_le_bytes(), &tcp4(PAYLOAD)])).unwrap_err(),
            SkipReason::NonIp
        );
    }
}

/// An NFLOG frame: header, a prefix TLV, a timestamp-like TLV, then the
/// payload TLV, all in the given byte order.
fn nflog(family: u8, ip: &[u8], little: bool) -> Vec<u8> {
    let enc = |v: u16| {
        if little {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    };
    let mut d = vec![family, 0, 0, 1];
    // NFULA_PREFIX (10), 5 bytes of value: padded to 12.
    d.extend_from_slice(&enc(9));
    d.extend_from_slice(&enc(10));
    d.extend_from_slice(b"drop\0\0\0\0");
    // NFULA_PACKET_HDR (1): hw protocol, hook, pad.
    d.extend_from_slice(&enc(8));
    d.extend_from_slice(&enc(1));
    d.extend_from_slice(&[0x08, 0x00, 3, 0]);
    // NFULA_PAYLOAD (9)
    d.extend_from_slice(&enc(4 + ip.len() as u16));
    d.extend_from_slice(&enc(9));
    d.extend_from_slice(ip);
    while d.len() % 4 != 0 {
        d.push(0);
    }
    d
}

#[test]
fn linux_nflog() {
    for little in [true, false] {
        v4(&dec(LinkType::NFLOG, &nflog(2, &tcp4(PAYLOAD), little)).unwrap());
        v6(&dec(LinkType::NFLOG, &nflog(10, &tcp6(PAYLOAD), little)).unwrap());
        // Unspecified family: by version nibble.
        v6(&dec(LinkType::NFLOG, &nflog(0, &tcp6(PAYLOAD), little)).unwrap());
    }
    // No payload TLV at all.
    let d = [2u8, 0, 0, 1, 8, 0, 1, 0, 8, 0, 3, 0];
    assert_eq!(dec(LinkType::NFLOG, &d).unwrap_err(), SkipReason::NonIp);
    // A TLV shorter than its own header.
    let d = [2u8, 0, 0, 1, 2, 0, 1, 0, 8, 0, 3, 0];
    assert_eq!(dec(LinkType::NFLOG, &d).unwrap_err(), SkipReason::Malformed);
}

#[test]
fn cisco_hdlc_and_ppp() {
    let chdlc = |t: u16, ip: &[u8]| cat(&[&[0x0f, 0x00], &t.to_be_bytes(), ip]);
    v4(&dec(LinkType::C_HDLC, &chdlc(0x0800, &tcp4(PAYLOAD))).unwrap());
    v6(&dec(LinkType::C_HDLC, &chdlc(0x86dd, &tcp6(PAYLOAD))).unwrap());
    assert_eq!(
        dec(LinkType::C_HDLC, &chdlc(0x8035, &[0; 20])).unwrap_err(),
        SkipReason::NonIp
    );
    // PPP with address/control, without, and with a compressed protocol.
    let ip = tcp4(PAYLOAD);
    v4(&dec(LinkType::PPP, &cat(&[&[0xff, 0x03, 0x00, 0x21], &ip])).unwrap());
    v4(&dec(LinkType::PPP, &cat(&[&[0x00, 0x21], &ip])).unwrap());
    v4(&dec(LinkType::PPP, &cat(&[&[0xff, 0x03, 0x21], &ip])).unwrap());
    v6(&dec(
        LinkType::PPP,
        &cat(&[&[0xff, 0x03, 0x00, 0x57], &tcp6(PAYLOAD)]),
    )
    .unwrap());
    // LCP is not IP.
    assert_eq!(
        dec(LinkType::PPP, &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]).unwrap_err(),
        SkipReason::NonIp
    );
    // BSD/OS wrote Cisco HDLC under the PPP link type.
    v4(&dec(LinkType::PPP, &chdlc(0x0800, &ip)).unwrap());
}

/// A VXLAN datagram (outer IPv4/UDP to 4789) around an inner frame.
fn vxlan(vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut body = vec![0x08, 0, 0, 0];
    body.extend_from_slice(&(vni << 8).to_be_bytes());
    body.extend_from_slice(inner);
    let b = PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64).udp(51234, 4789);
    let mut v = Vec::new();
    b.write(&mut v, &body).unwrap();
    v
}

#[test]
fn vxlan_is_decapsulated_and_keyed_by_vni() {
    let inner = eth(0x0800, &tcp4(PAYLOAD));
    let d = eth(0x0800, &vxlan(0x00ab_cdef, &inner));
    let s = dec(LinkType::ETHERNET, &d).unwrap();
    v4(&s);
    assert_eq!(s.tag.tunnel_id, Some(0x00ab_cdef));
    assert_eq!(s.tag.vlan, None);
    // Inner VLAN, outer VLAN: the inner one is the flow's.
    let inner = eth(0x8100, &cat(&[&[0, 33, 0x86, 0xdd], &tcp6(PAYLOAD)]));
    let outer = eth(0x8100, &cat(&[&[0, 5, 0x08, 0x00], &vxlan(7, &inner)]));
    let s = dec(LinkType::ETHERNET, &outer).unwrap();
    v6(&s);
    assert_eq!(
        s.tag,
        NetTag {
            vlan: Some(33),
            tunnel_id: Some(7)
        }
    );
    // Without the I flag there is no VNI.
    let mut d = vxlan(9, &eth(0x0800, &tcp4(PAYLOAD)));
    d[28] = 0;
    assert_eq!(dec(LinkType::RAW, &d).unwrap().tag.tunnel_id, None);
    // Other UDP ports are just UDP.
    let mut d = vxlan(9, &eth(0x0800, &tcp4(PAYLOAD)));
    d[22..24].copy_from_slice(&4790u16.to_be_bytes());
    assert_eq!(dec(LinkType::RAW, &d).unwrap_err(), SkipReason::NonTcp);
}

#[test]
fn geneve_is_decapsulated() {
    // Version 0, 1 option word, protocol 0x6558, VNI 0x123456.
    let mut body = vec![0x01, 0, 0x65, 0x58, 0x12, 0x34, 0x56, 0];
    body.extend_from_slice(&[0x01, 0x02, 0x03, 0x00]); // an empty option
    body.extend_from_slice(&eth(0x0800, &tcp4(PAYLOAD)));
    let b = PacketBuilder::ipv6(SRC6, DST6, 64).udp(40000, 6081);
    let mut d = Vec::new();
    b.write(&mut d, &body).unwrap();
    let s = dec(LinkType::RAW, &d).unwrap();
    v4(&s);
    assert_eq!(s.tag.tunnel_id, Some(0x12_3456));
}

/// A GRE header with the given flags, protocol and optional fields.
fn gre(flags: u8, version: u8, proto: u16, fields: &[u8], inner: &[u8]) -> Vec<u8> {
    cat(&[&[flags, version], &proto.to_be_bytes(), fields, inner])
}

#[test]
fn gre_carrying_ip() {
    // Plain GRE, IPv4 inside, no id.
    let d = ip4(47, &gre(0, 0, 0x0800, &[], &tcp4(PAYLOAD)));
    let s = dec(LinkType::RAW, &d).unwrap();
    v4(&s);
    assert_eq!(s.tag.tunnel_id, None);
    // Checksum + key + sequence, IPv6 inside: the key is the id.
    let fields = [0xaa, 0xbb, 0, 0, 0, 0, 0x30, 0x39, 0, 0, 0, 1];
    let d = ip4(47, &gre(0xb0, 0, 0x86dd, &fields, &tcp6(PAYLOAD)));
    let s = dec(LinkType::RAW, &d).unwrap();
    v6(&s);
    assert_eq!(s.tag.tunnel_id, Some(12345));
    // Routing present (RFC 1701): offset/checksum word, then one SRE and
    // the terminating null SRE.
    let fields = [0, 0, 0, 0, 0x08, 0x00, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0];
    let d = ip6(47, &gre(0x40, 0, 0x0800, &fields, &tcp4(PAYLOAD)));
    v4(&dec(LinkType::RAW, &d).unwrap());
    // Transparent Ethernet bridging with a VLAN inside.
    let inner = eth(0x8100, &cat(&[&[0, 12, 0x08, 0x00], &tcp4(PAYLOAD)]));
    let d = ip4(47, &gre(0x20, 0, 0x6558, &[0, 0, 0, 5], &inner));
    let s = dec(LinkType::RAW, &d).unwrap();
    v4(&s);
    assert_eq!(
        s.tag,
        NetTag {
            vlan: Some(12),
            tunnel_id: Some(5)
        }
    );
    // Unknown GRE version.
    let d = ip4(47, &gre(0, 3, 0x0800, &[], &tcp4(PAYLOAD)));
    assert_eq!(dec(LinkType::RAW, &d).unwrap_err(), SkipReason::Malformed);
}

#[test]
fn gre_erspan_types() {
    let mirrored = eth(0x0800, &tcp4(PAYLOAD));
    // Type I: 0x88be without the sequence bit, no ERSPAN header.
    let d = ip4(47, &gre(0, 0, 0x88be, &[], &mirrored));
    let s = dec(LinkType::RAW, &d).unwrap();
    v4(&s);
    assert_eq!(s.tag.tunnel_id, None);
    // Type II: sequence bit, 8-byte header, session 0x2a5.
    let erspan2 = [0x10, 0x00, 0x0a, 0xa5, 0, 0, 0, 0];
    let d = ip4(
        47,
        &gre(0x10, 0, 0x88be, &[0, 0, 0, 1], &cat(&[&erspan2, &mirrored])),
    );
    let s = dec(LinkType::RAW, &d).unwrap();
    v4(&s);
    assert_eq!(s.tag.tunnel_id, Some(0x2a5));
    // Type III without the subheader, session 3.
    let erspan3 = [0x20, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0];
    let d = ip4(
        47,
        &gre(0x10, 0, 0x22eb, &[0, 0, 0, 1], &cat(&[&erspan3, &mirrored])),
    );
    let s = dec(LinkType::RAW, &d).unwrap();
    v4(&s);
    assert_eq!(s.tag.tunnel_id, Some(3));
    // Type III with the O bit and its 8-byte platform subheader.
    let erspan3o = [0x20, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1];
    let sub = [0xffu8; 8];
    let d = ip4(
        47,
        &gre(
            0x10,
            0,
            0x22eb,
            &[0, 0, 0, 1],
            &cat(&[&erspan3o, &sub, &mirrored]),
        ),
    );
    let s = dec(LinkType::RAW, &d).unwrap();
    v4(&s);
    assert_eq!(s.tag.tunnel_id, Some(4));
    // Type III, frame type 2: an IP packet without its Ethernet header.
    let erspan3ip = [0x20, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0x08, 0];
    let d = ip4(
        47,
        &gre(0, 0, 0x22eb, &[], &cat(&[&erspan3ip, &tcp6(PAYLOAD)])),
    );
    let s = dec(LinkType::RAW, &d).unwrap();
    v6(&s);
    assert_eq!(s.tag.tunnel_id, Some(5));
}

#[test]
fn gre_key_then_erspan_session_innermost_wins() {
    let erspan2 = [0x10, 0x00, 0x00, 0x09, 0, 0, 0, 0];
    let inner = cat(&[&erspan2, &eth(0x0800, &tcp4(PAYLOAD))]);
    let d = ip4(47, &gre(0x30, 0, 0x88be, &[0, 0, 1, 0, 0, 0, 0, 1], &inner));
    assert_eq!(dec(LinkType::RAW, &d).unwrap().tag.tunnel_id, Some(9));
}

#[test]
fn pptp_enhanced_gre() {
    // Version 1, key (payload length, call id 77), sequence, PPP inside.
    let ppp = cat(&[&[0xff, 0x03, 0x00, 0x21], &tcp4(PAYLOAD)]);
    let mut fields = (ppp.len() as u16).to_be_bytes().to_vec();
    fields.extend_from_slice(&[0, 77, 0, 0, 0, 1]);
    let d = ip4(47, &gre(0x30, 0x01, 0x880b, &fields, &ppp));
    let s = dec(LinkType::RAW, &d).unwrap();
    v4(&s);
    assert_eq!(s.tag.tunnel_id, Some(77));
    // An acknowledgment-only packet.
    let d = ip4(
        47,
        &gre(0x20, 0x81, 0x880b, &[0, 0, 0, 77, 0, 0, 0, 1], &[]),
    );
    assert_eq!(dec(LinkType::RAW, &d).unwrap_err(), SkipReason::NonIp);
}

#[test]
fn ip_in_ip_6in4_4in6() {
    let d = ip4(4, &tcp4(PAYLOAD));
    let s = dec(LinkType::RAW, &d).unwrap();
    v4(&s);
    assert_eq!(s.tag, NetTag::default());
    v6(&dec(LinkType::RAW, &ip4(41, &tcp6(PAYLOAD))).unwrap());
    v4(&dec(LinkType::RAW, &ip6(4, &tcp4(PAYLOAD))).unwrap());
    v6(&dec(LinkType::RAW, &ip6(41, &tcp6(PAYLOAD))).unwrap());
    // A VNI from an outer VXLAN survives an inner IP-in-IP.
    let d = vxlan(21, &eth(0x0800, &ip4(4, &tcp4(PAYLOAD))));
    assert_eq!(dec(LinkType::RAW, &d).unwrap().tag.tunnel_id, Some(21));
}

#[test]
fn tunnel_depth_is_bounded() {
    let mut d = tcp4(PAYLOAD);
    for _ in 0..MAX_TUNNEL_DEPTH {
        d = ip4(4, &d);
    }
    v4(&dec(LinkType::RAW, &d).unwrap());
    let d = ip4(4, &d);
    assert_eq!(dec(LinkType::RAW, &d).unwrap_err(), SkipReason::Malformed);
}

#[test]
fn window_scale_on_syn_only() {
    let syn = |flags_syn: bool, shift: u8| {
        let mut b = PacketBuilder::ipv4(SRC4, DST4, 64).tcp(40000, 80, 1, 65535);
        if flags_syn {
            b = b.syn();
        }
        let b = b
            .options(&[
                TcpOptionElement::MaximumSegmentSize(1460),
                TcpOptionElement::SelectiveAcknowledgementPermitted,
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(shift),
            ])
            .unwrap();
        let mut v = Vec::new();
        b.write(&mut v, &[]).unwrap();
        v
    };
    let d = syn(true, 7);
    let s = dec(LinkType::RAW, &d).unwrap();
    assert!(s.flags.syn());
    assert_eq!(s.window_scale, Some(7));
    assert_eq!(s.seq_len(), 1);
    let d = syn(true, 20);
    assert_eq!(dec(LinkType::RAW, &d).unwrap().window_scale, Some(14));
    let d = syn(false, 7);
    assert_eq!(dec(LinkType::RAW, &d).unwrap().window_scale, None);
}

#[test]
fn window_scale_option_walk() {
    use super::ip::window_scale as ws;
    assert_eq!(ws(&[1, 1, 3, 3, 5]), Some(5));
    assert_eq!(ws(&[2, 4, 5, 0xb4, 3, 3, 2]), Some(2));
    assert_eq!(ws(&[0, 3, 3, 5]), None, "after end of list");
    assert_eq!(ws(&[2, 0, 3, 3, 5]), None, "length 0 stops the walk");
    assert_eq!(ws(&[2, 40, 3, 3, 5]), None, "length beyond the options");
    assert_eq!(ws(&[3, 3]), None, "cut option");
    assert_eq!(ws(&[]), None);
}

#[test]
fn snaplen_cut_keeps_headers_and_counts_missing_payload() {
    let body = [b'x'; 100];
    let d = eth(0x0800, &tcp4(&body));
    let full = d.len() as u32;
    let cut = &d[..14 + 20 + 20 + 30];
    let f = Frame {
        ts: Timestamp::from_nanos(0),
        caplen: cut.len() as u32,
        orig_len: full,
        link: LinkType::ETHERNET,
        data: cut,
    };
    let s = decode(&f).unwrap();
    assert_eq!(s.payload, &body[..30]);
    assert_eq!(s.payload_missing, 70);
    assert_eq!(s.seq_len(), 100);
    // Cut right after the TCP header: all payload missing.
    let cut = &d[..54];
    let f = Frame {
        caplen: 54,
        data: cut,
        ..f
    };
    let s = decode(&f).unwrap();
    assert_eq!((s.payload.len(), s.payload_missing), (0, 100));
    // Inside a tunnel, the inner IP length tells.
    let d = eth(0x0800, &vxlan(1, &eth(0x86dd, &tcp6(&body))));
    let cut = &d[..d.len() - 60];
    let f = Frame {
        ts: Timestamp::from_nanos(0),
        caplen: cut.len() as u32,
        orig_len: d.len() as u32,
        link: LinkType::ETHERNET,
        data: cut,
    };
    let s = decode(&f).unwrap();
    assert_eq!((s.payload.len(), s.payload_missing), (40, 60));
}

#[test]
fn ip_length_beyond_an_uncut_frame_is_not_missing_payload() {
    // The IP header claims 10 more bytes than the frame holds, but the
    // capture did not cut it: nothing was lost, the packet lies.
    let mut ip = tcp4(PAYLOAD);
    let total = u16::from_be_bytes([ip[2], ip[3]]) + 10;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    let s = dec(LinkType::RAW, &ip).unwrap();
    assert_eq!(s.payload, PAYLOAD);
    assert_eq!(s.payload_missing, 0);
}

/// Frames of every kind, each with the offset where its TCP header ends.
fn corpus() -> Vec<(LinkType, Vec<u8>)> {
    let ip = tcp4(PAYLOAD);
    let ip6 = tcp6(PAYLOAD);
    let mut v = vec![
        (LinkType::ETHERNET, eth(0x0800, &ip)),
        (LinkType::ETHERNET, eth(0x86dd, &ip6)),
        (
            LinkType::ETHERNET,
            eth(
                0x88a8,
                &cat(&[&[0, 1, 0x81, 0x00], &[0, 2, 0x08, 0x00], &ip]),
            ),
        ),
        (
            LinkType::ETHERNET,
            eth(
                0x0800,
                &vxlan(3, &eth(0x8100, &cat(&[&[0, 4, 0x86, 0xdd], &ip6]))),
            ),
        ),
        (
            LinkType::ETHERNET,
            eth(0x8847, &cat(&[&[0, 0x20, 0x01, 64], &ip])),
        ),
        (
            LinkType::ETHERNET,
            eth(
                0x8864,
                &cat(&[&[0x11, 0, 0x12, 0x34, 0, 0], &[0x00, 0x21], &ip]),
            ),
        ),
        (
            LinkType::ETHERNET,
            eth(20, &cat(&[&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00], &ip])),
        ),
        (LinkType::RAW, ip.clone()),
        (LinkType::IPV6, ip6.clone()),
        (LinkType::IPV6, ip6_ext_chain()),
        (
            LinkType::LINUX_SLL,
            cat(&[&[0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00], &ip]),
        ),
        (
            LinkType::LINUX_SLL2,
            cat(&[
                &[
                    0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
                ],
                &ip6,
            ]),
        ),
        (LinkType::NULL, cat(&[&2u32.to_le_bytes(), &ip])),
        (LinkType::LOOP, cat(&[&24u32.to_be_bytes(), &ip6])),
        (LinkType::NFLOG, nflog(2, &ip, true)),
        (LinkType::NFLOG, nflog(10, &ip6, false)),
        (LinkType::C_HDLC, cat(&[&[0x0f, 0, 0x08, 0x00], &ip])),
        (LinkType::PPP, cat(&[&[0xff, 0x03, 0x00, 0x21], &ip])),
        (LinkType::PPP, cat(&[&[0x57], &ip6])),
        (
            LinkType::RAW,
            ip4(47, &gre(0xb0, 0, 0x86dd, &[0; 12], &ip6)),
        ),
        (
            LinkType::RAW,
            ip4(
                47,
                &gre(
                    0x10,
                    0,
                    0x22eb,
                    &[0, 0, 0, 1],
                    &cat(&[
                        &[0x20, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1],
                        &[0; 8],
                        &eth(0x0800, &ip),
                    ]),
                ),
            ),
        ),
        (LinkType::RAW, ip4(41, &ip6)),
        (LinkType::RAW, ip6_outer_4in6(&ip)),
    ];
    v.push((
        LinkType::RAW,
        ip4(
            47,
            &gre(
                0x10,
                0,
                0x88be,
                &[0, 0, 0, 1],
                &cat(&[&[0x10, 0, 0, 1, 0, 0, 0, 0], &eth(0x0800, &ip)]),
            ),
        ),
    ));
    v
}

fn ip6_ext_chain() -> Vec<u8> {
    let tcp = tcp_header_and(PAYLOAD);
    let hop_by_hop = [60u8, 0, 1, 4, 0, 0, 0, 0];
    let dest_opts = [44u8, 0, 1, 4, 0, 0, 0, 0];
    let atomic_frag = [51u8, 0, 0, 0, 0, 0, 0, 1];
    let mut ah = vec![6u8, 1, 0, 0];
    ah.extend_from_slice(&[0; 8]);
    ip6(0, &cat(&[&hop_by_hop, &dest_opts, &atomic_frag, &ah, &tcp]))
}

fn ip6_outer_4in6(inner: &[u8]) -> Vec<u8> {
    ip6(4, inner)
}

#[test]
fn corpus_decodes_whole() {
    for (i, (lt, d)) in corpus().iter().enumerate() {
        let s = dec(*lt, d).unwrap_or_else(|e| panic!("corpus frame {i}: {e:?}"));
        assert_eq!(s.payload, PAYLOAD, "corpus frame {i}");
        assert_eq!((s.src.port, s.dst.port), (40000, 80), "corpus frame {i}");
    }
}

#[test]
fn cut_at_every_byte_gives_the_right_reason() {
    for (i, (lt, d)) in corpus().iter().enumerate() {
        // NFLOG pads its payload TLV, so the payload is not always last.
        let header_end = d
            .windows(PAYLOAD.len())
            .rposition(|w| w == PAYLOAD)
            .expect("payload in frame");
        for n in 0..d.len() {
            let cut = &d[..n];
            // Cut by the snaplen.
            let snap = Frame {
                ts: Timestamp::from_nanos(0),
                caplen: n as u32,
                orig_len: d.len() as u32,
                link: *lt,
                data: cut,
            };
            // The same bytes, but that is all the packet had.
            let runt = Frame {
                orig_len: n as u32,
                ..snap
            };
            check_fast_matches_general(&snap);
            check_fast_matches_general(&runt);
            if n < header_end {
                assert_eq!(
                    decode(&snap).unwrap_err(),
                    SkipReason::TruncatedHeaders,
                    "corpus frame {i} cut at {n}"
                );
                // An NFLOG frame that ends at a TLV boundary is a valid
                // log record without a packet.
                let runt_reason = decode(&runt)
                    .map(|_| ())
                    .expect_err(&format!("corpus frame {i} runt of {n}"));
                assert!(
                    runt_reason == SkipReason::Malformed
                        || (*lt == LinkType::NFLOG && runt_reason == SkipReason::NonIp),
                    "corpus frame {i} runt of {n}: {runt_reason:?}"
                );
            } else {
                let s = decode(&snap).unwrap();
                let present = (n - header_end).min(PAYLOAD.len());
                assert_eq!(s.payload, &PAYLOAD[..present], "frame {i} at {n}");
                assert_eq!(
                    s.payload_missing as usize,
                    PAYLOAD.len() - present,
                    "corpus frame {i} cut at {n}"
                );
                assert_eq!(s.seq_len(), PAYLOAD.len() as u64);
                let s = decode(&runt).unwrap();
                assert_eq!(s.payload_missing, 0);
            }
        }
    }
}

/// xorshift64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// The fast path, when it answers, answers as the general walk does.
fn check_fast_matches_general(f: &Frame<'_>) {
    if let Some(fast) = super::fast::decode(f) {
        let general = general(f).expect("general walk decodes what the fast path does");
        assert_eq!(format!("{fast:?}"), format!("{general:?}"));
    }
}

fn check_invariants(f: &Frame<'_>) {
    check_fast_matches_general(f);
    if let Ok(s) = decode(f) {
        let range = f.data.as_ptr_range();
        assert!(s.payload.is_empty() || range.contains(&s.payload.as_ptr()));
        assert!(s.payload.len() <= f.data.len());
        assert!(
            s.payload_missing as u64 <= (f.orig_len as u64).saturating_sub(f.data.len() as u64)
        );
    }
}

#[test]
fn random_bytes_never_panic() {
    let links = [
        0u32, 1, 9, 12, 14, 101, 104, 108, 113, 228, 229, 239, 276, 147,
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut buf = [0u8; 256];
    for round in 0..40_000 {
        let len = (rng.next() % 257) as usize;
        for b in buf.iter_mut().take(len) {
            *b = rng.next() as u8;
        }
        let data = &buf[..len];
        let link = LinkType(links[round % links.len()]);
        let orig = if rng.next() % 2 == 0 {
            len as u32
        } else {
            rng.next() as u32
        };
        check_invariants(&Frame {
            ts: Timestamp::from_nanos(0),
            caplen: len as u32,
            orig_len: orig,
            link,
            data,
        });
    }
}

#[test]
fn mutated_frames_never_panic() {
    // Random bytes rarely get past the first header; flipping bytes of
    // valid frames reaches every layer.
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let corpus = corpus();
    for _ in 0..400 {
        for (lt, d) in &corpus {
            let mut m = d.clone();
            let flips = 1 + rng.next() % 4;
            for _ in 0..flips {
                let at = (rng.next() % m.len() as u64) as usize;
                m[at] = rng.next() as u8;
            }
            let n = (rng.next() % (m.len() as u64 + 1)) as usize;
            check_invariants(&Frame {
                ts: Timestamp::from_nanos(0),
                caplen: n as u32,
                orig_len: m.len() as u32,
                link: *lt,
                data: &m[..n],
            });
        }
    }
}

#[test]
fn fast_path_takes_the_common_shapes() {
    let ip = tcp4(PAYLOAD);
    let frames = [
        (LinkType::ETHERNET, eth(0x0800, &ip)),
        (LinkType::ETHERNET, eth(0x86dd, &tcp6(PAYLOAD))),
        (
            LinkType::ETHERNET,
            eth(0x8100, &cat(&[&[0, 9, 0x08, 0x00], &ip])),
        ),
        (LinkType::RAW, ip.clone()),
        (
            LinkType::LINUX_SLL2,
            cat(&[
                &[
                    0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
                ],
                &ip,
            ]),
        ),
        (
            LinkType::LINUX_SLL,
            cat(&[&[0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00], &ip]),
        ),
    ];
    for (lt, d) in &frames {
        let f = frame(*lt, d);
        assert!(super::fast::decode(&f).is_some(), "{lt:?}");
        check_fast_matches_general(&f);
    }
    // Padding, a snaplen cut and a SYN with options, through both paths.
    let mut padded = eth(0x0800, &tcp4(b""));
    padded.extend_from_slice(&[0xee; 6]);
    check_fast_matches_general(&frame(LinkType::ETHERNET, &padded));
    let big = eth(0x0800, &tcp4(&[b'y'; 300]));
    let cut = Frame {
        ts: Timestamp::from_nanos(0),
        caplen: 100,
        orig_len: big.len() as u32,
        link: LinkType::ETHERNET,
        data: &big[..100],
    };
    assert!(super::fast::decode(&cut).is_some());
    check_fast_matches_general(&cut);
}
