#!/usr/bin/env python3
"""Derives the other link types and encapsulations in this directory from
ethernet.pcap (see README.md). Deterministic: same input, same output.

Only link-layer/tunnel headers are rewritten; the IP packets are the ones
tcpdump recorded. tcpdump cannot record these link types on Linux
loopback, and editcap -T only relabels (it cannot add or replace headers).
"""
import struct
import sys

SRC = "ethernet.pcap"


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    assert magic == 0xA1B2C3D4, "little-endian microsecond pcap expected"
    _, _, _, _, snaplen, link = struct.unpack_from("<HHiIII", data, 4)
    assert link == 1
    off = 24
    while off < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        off += 16
        yield sec, usec, data[off : off + incl], orig
        off += incl


def write(path, link, records, big_endian=False):
    e = ">" if big_endian else "<"
    out = [struct.pack(e + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link)]
    n = 0
    for sec, usec, pkt, orig in records:
        out.append(struct.pack(e + "IIII", sec, usec, len(pkt), orig) + pkt)
        n += 1
    with open(path, "wb") as f:
        f.write(b"".join(out))
    print(f"{path}: {n} packets, link type {link}")


def ip_of(frame):
    """The IP packet and its version from an untagged Ethernet frame."""
    etype = struct.unpack_from(">H", frame, 12)[0]
    return frame[14:], {0x0800: 4, 0x86DD: 6}.get(etype)


def relink(fn, only=None):
    """Records with the Ethernet header replaced by fn(ip, version)."""
    for sec, usec, frame, orig in read(SRC):
        ip, ver = ip_of(frame)
        if only is not None and ver != only:
            continue
        new = fn(ip, ver)
        yield sec, usec, new, orig - len(frame) + len(new)


def ipv4(proto, payload, src=b"\xc0\x00\x02\x01", dst=b"\xc0\x00\x02\x02"):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0, src, dst)
    csum = sum(struct.unpack(">10H", h))
    csum = (csum & 0xFFFF) + (csum >> 16)
    csum = (csum & 0xFFFF) + (csum >> 16)
    h = h[:10] + struct.pack(">H", ~csum & 0xFFFF) + h[12:]
    return h + payload


def eth(etype, payload):
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01" + struct.pack(">H", etype) + payload


ETYPE = {4: 0x0800, 6: 0x86DD}


def nflog(ip, ver):
    fam = 2 if ver == 4 else 10
    tlvs = b""
    # NFULA_PACKET_HDR (1): hw protocol, hook, pad
    tlvs += struct.pack("<HH", 8, 1) + struct.pack(">HBB", ETYPE[ver], 3, 0)
    # NFULA_PREFIX (10): "kw\0", padded
    tlvs += struct.pack("<HH", 7, 10) + b"kw\0" + b"\0"
    # NFULA_PAYLOAD (9)
    t = struct.pack("<HH", 4 + len(ip), 9) + ip
    t += b"\0" * (-len(t) % 4)
    return struct.pack(">BBH", fam, 0, 0) + tlvs + t


def main():
    write("raw.pcap", 101, relink(lambda ip, v: ip))
    # The legacy DLT_RAW numbers (12 on most systems, 14 on OpenBSD).
    write("raw12.pcap", 12, relink(lambda ip, v: ip))
    write("raw14.pcap", 14, relink(lambda ip, v: ip))
    write("ipv4.pcap", 228, relink(lambda ip, v: ip, only=4))
    write("ipv6.pcap", 229, relink(lambda ip, v: ip, only=6))
    # BSD null: AF in host byte order (a little-endian host; Darwin's 30).
    write("null.pcap", 0, relink(lambda ip, v: struct.pack("<I", 2 if v == 4 else 30) + ip))
    # OpenBSD loop: AF in network byte order (OpenBSD's 24), in a
    # big-endian file for good measure.
    write("loop.pcap", 108, relink(lambda ip, v: struct.pack(">I", 2 if v == 4 else 24) + ip), big_endian=True)
    write("nflog.pcap", 239, relink(nflog))
    write("chdlc.pcap", 104, relink(lambda ip, v: struct.pack(">BBH", 0x0F, 0, ETYPE[v]) + ip))
    write("ppp.pcap", 9, relink(lambda ip, v: b"\xff\x03" + struct.pack(">H", 0x21 if v == 4 else 0x57) + ip))
    # Ethernet with 802.1ad outer tag 100 and 802.1Q inner tag 200.
    write(
        "qinq.pcap",
        1,
        relink(lambda ip, v: eth(0x88A8, struct.pack(">HHHH", 100, 0x8100, 200, ETYPE[v]) + ip)),
    )
    # VXLAN VNI 4242 over IPv4/UDP 4789, the inner frame as recorded.
    def vxlan(ip, v):
        inner = eth(ETYPE[v], ip)
        body = struct.pack(">II", 0x08000000, 4242 << 8) + inner
        udp = struct.pack(">HHHH", 49152, 4789, 8 + len(body), 0) + body
        return eth(0x0800, ipv4(17, udp))

    write("vxlan.pcap", 1, relink(vxlan))
    # GRE with key 7 carrying the IP packet directly.
    write(
        "gre_key.pcap",
        1,
        relink(lambda ip, v: eth(0x0800, ipv4(47, struct.pack(">HHI", 0x2000, ETYPE[v], 7) + ip))),
    )
    # ERSPAN type II, session 99, mirroring the Ethernet frame.
    def erspan2(ip, v):
        inner = eth(ETYPE[v], ip)
        gre = struct.pack(">HHI", 0x1000, 0x88BE, 1)
        hdr = struct.pack(">HHI", 0x1000, 99, 0)
        return eth(0x0800, ipv4(47, gre + hdr + inner))

    write("erspan2.pcap", 1, relink(erspan2))
    # ERSPAN type III, session 77, with the platform subheader.
    def erspan3(ip, v):
        inner = eth(ETYPE[v], ip)
        gre = struct.pack(">HHI", 0x1000, 0x22EB, 1)
        hdr = struct.pack(">HHIHH", 0x2000, 77, 0, 0, 0x0001) + b"\0" * 8
        return eth(0x0800, ipv4(47, gre + hdr + inner))

    write("erspan3.pcap", 1, relink(erspan3))
    # IP-in-IP (IPv4 inside) and 6in4 (IPv6 inside), outer IPv4.
    write(
        "ipip.pcap",
        1,
        relink(lambda ip, v: eth(0x0800, ipv4(4 if v == 4 else 41, ip))),
    )


if __name__ == "__main__":
    sys.exit(main())
