#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from testdata/ and
from hand-written scenarios in each harness's input layout (see
fuzz/src/harness.rs). Run from the repository root; the output is
committed, so this only needs re-running when the layouts change."""

import gzip
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
TESTDATA = os.path.join(ROOT, "testdata")

# Small real captures: every format and the interesting shapes.
CAPTURES = [
    "http11-reuse.pcap",
    "pipelined.pcap",
    "chunked-trailers.pcap",
    "keepalive-race.pcap",
    "retransmission.pcap",
    "tcp-keepalive-answered.pcap",
    "mid-connection.pcap",
    "snaplen-96.pcap",
    "nanosecond.pcap",
    "pcapng-two-interfaces.pcapng",
    "sll2-any.pcap",
    "ipv6.pcap",
    "upgrade-101.pcap",
    "head-204-304-continue.pcap",
]

LINKS = [0, 1, 9, 12, 14, 101, 104, 108, 113, 228, 229, 239, 276, 147]


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pcap_frames(data):
    """(link, [frame bytes]) of a classic pcap."""
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    link = struct.unpack(e + "I", data[20:24])[0]
    at, frames = 24, []
    while at + 16 <= len(data):
        caplen = struct.unpack(e + "I", data[at + 8 : at + 12])[0]
        frames.append(data[at + 16 : at + 16 + caplen])
        at += 16 + caplen
    return link, frames


def captures():
    for name in CAPTURES:
        with open(os.path.join(TESTDATA, name), "rb") as f:
            data = f.read()
        for target in ("capture_reader", "pipeline"):
            out(target, name, data)
    with open(os.path.join(TESTDATA, "http11-reuse.pcap"), "rb") as f:
        out("capture_reader", "http11-reuse.pcap.gz", gzip.compress(f.read(), mtime=0))
    with open(os.path.join(TESTDATA, "keepalive-race.pcap"), "rb") as f:
        out("pipeline", "keepalive-race.pcap.gz", gzip.compress(f.read(), mtime=0))


def decode_seeds():
    lt = os.path.join(TESTDATA, "linktypes")
    for name in sorted(os.listdir(lt)):
        if not name.endswith(".pcap"):
            continue
        with open(os.path.join(lt, name), "rb") as f:
            link, frames = pcap_frames(f.read())
        if link not in LINKS:
            continue
        sel = LINKS.index(link)
        # The SYN, a data segment, and the last frame.
        picks = {0: frames[0], 1: frames[min(3, len(frames) - 1)], 2: frames[-1]}
        for i, fr in picks.items():
            out("decode", "%s-%d" % (name[:-5], i), bytes([sel]) + fr)


# --- tcp_reassembly: 5 config bytes, then 8-byte segments -----------------
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def seg(server=False, port=0, flags=ACK, seq=0, ack=0, length=0, step=1, cut=False,
        conflict=False, secs=False, far=False, zero_window=False):
    ctl = port & 3
    ctl |= 4 if server else 0
    ctl |= 8 if far else 0
    ctl |= 0x10 if cut else 0
    ctl |= 0x20 if conflict else 0
    ctl |= 0x40 if zero_window else 0
    ctl |= 0x80 if secs else 0
    return struct.pack("<BBhhBb", ctl, flags, seq, ack, length, step)


def handshake(port=0):
    # SYN at ISN (offset -1), SYN-ACK likewise, then the ACK.
    return (seg(port=port, flags=SYN, seq=-1, ack=-1)
            + seg(server=True, port=port, flags=SYN | ACK, seq=-1, ack=0)
            + seg(port=port, flags=ACK, seq=0, ack=0))


def tcp_seeds():
    cfg = bytes([7, 255, 255, 2, 6])
    # Request, response, client closes.
    s = handshake()
    s += seg(flags=PSH | ACK, seq=0, ack=0, length=100)
    s += seg(server=True, flags=PSH | ACK, seq=0, ack=100, length=200)
    s += seg(flags=FIN | ACK, seq=100, ack=200)
    s += seg(server=True, flags=FIN | ACK, seq=200, ack=101)
    s += seg(flags=ACK, seq=101, ack=201)
    out("tcp_reassembly", "close", cfg + s)
    # Out of order, duplicated and overlapping.
    s = handshake()
    s += seg(flags=ACK, seq=100, length=100)
    s += seg(flags=ACK, seq=50, length=100)
    s += seg(flags=ACK, seq=0, length=60)
    s += seg(flags=ACK, seq=0, length=200)
    s += seg(server=True, flags=ACK, seq=0, ack=200)
    out("tcp_reassembly", "reorder", cfg + s)
    # Loss (a gap the peer's ACK declares), snaplen cut, keepalive probes.
    s = handshake(1)
    s += seg(port=1, flags=ACK, seq=0, length=50, cut=True)
    s += seg(port=1, flags=ACK, seq=100, length=50)
    s += seg(port=1, server=True, flags=ACK, seq=0, ack=150)
    s += seg(port=1, flags=ACK, seq=149, ack=0, step=75, secs=True)
    s += seg(port=1, server=True, flags=ACK, seq=0, ack=150, step=0)
    s += seg(port=1, server=True, flags=RST, seq=0, step=120, secs=True)
    out("tcp_reassembly", "loss-keepalive", cfg + s)
    # Mid-stream pickups on several ports, tight caps.
    small = bytes([1, 4, 4, 0, 7])
    s = b"".join(seg(port=p, flags=PSH | ACK, seq=p * 10, ack=0, length=40) for p in range(4))
    s += b"".join(seg(port=p, server=True, flags=ACK, seq=0, ack=p * 10 + 40) for p in range(4))
    s += seg(port=2, flags=ACK, seq=200, length=100)
    out("tcp_reassembly", "midstream-caps", small + s)
    # Port reuse after TIME_WAIT, conflicting retransmission.
    s = handshake(3)
    s += seg(port=3, flags=ACK, seq=0, length=30)
    s += seg(port=3, flags=ACK, seq=0, length=30, conflict=True)
    s += seg(port=3, flags=FIN | ACK, seq=30)
    s += seg(port=3, server=True, flags=FIN | ACK, seq=0, ack=31)
    s += seg(port=3, flags=ACK, seq=31, ack=1)
    s += seg(port=3, flags=SYN, seq=1000, step=3, secs=True)
    out("tcp_reassembly", "reuse-conflict", bytes([3, 255, 255, 1, 3]) + s)


# --- http_streams: 5 config bytes, then operations ------------------------
def data(server, payload, step=1):
    assert len(payload) <= 255
    return bytes([(1 if server else 0) | ((step + 2) << 4), len(payload)]) + payload


def gap(server, n, big=False, step=1):
    return bytes([(1 if server else 0) | 4 | (8 if big else 0) | ((step + 2) << 4), n])


def fin(server, step=1):
    return bytes([(1 if server else 0) | 6 | ((step + 2) << 4)])


def http_seeds():
    cfg = bytes([255, 15, 63, 7, 7])
    req = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5, max=100\r\n\r\nhello"
    out("http_streams", "reuse", cfg + data(False, req) + data(True, resp)
        + data(False, req) + data(True, resp, step=10) + fin(True) + fin(False))
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n")
    out("http_streams", "chunked", cfg + data(False, req) + data(True, chunked[:40])
        + data(True, chunked[40:]) + fin(False))
    out("http_streams", "pipelined", cfg + data(False, req + req + b"HEAD / HTTP/1.1\r\n\r\n")
        + data(True, resp + resp) + data(True, b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"))
    body = b"POST /up HTTP/1.1\r\nContent-Length: 300\r\nExpect: 100-continue\r\n\r\n"
    out("http_streams", "gap-in-body", cfg + data(False, body)
        + data(True, b"HTTP/1.1 100 Continue\r\n\r\n") + data(False, b"x" * 100)
        + gap(False, 100) + data(False, b"y" * 100)
        + data(True, b"HTTP/1.0 204 No Content\r\nConnection: close\r\n\r\n") + fin(True))
    out("http_streams", "gap-in-head-resync", cfg + data(False, req[:10]) + gap(False, 7)
        + data(False, req) + data(True, resp) + gap(True, 3, big=True)
        + data(True, b"junk\r\n" + resp))
    out("http_streams", "close-delimited-upgrade", cfg
        + data(False, b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        + data(True, b"HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\n\r\n\x81\x00")
        + data(False, b"HTTP/1.0 200 OK\r\n\r\nbody") + fin(True))


if __name__ == "__main__":
    for t in ("capture_reader", "decode", "tcp_reassembly", "http_streams", "pipeline"):
        shutil.rmtree(os.path.join(CORPUS, t), ignore_errors=True)
    captures()
    decode_seeds()
    tcp_seeds()
    http_seeds()
