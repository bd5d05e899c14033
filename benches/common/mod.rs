//! A small in-memory HTTP keep-alive capture for the benches: a few
//! interleaved connections, each a handshake, requests answered by
//! responses of 200 B to 64 KB sent as 1460-byte segments with the client's
//! ACKs, and a FIN close. Deterministic (a fixed LCG), no files.
#![allow(dead_code)]

const ACK: u8 = 0x10;
const SYN: u8 = 0x02;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;
const SERVER: [u8; 4] = [192, 0, 2, 10];

/// One Ethernet/IPv4/TCP frame.
pub fn frame(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(54 + payload.len());
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&((40 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.1.to_be_bytes());
    f.extend_from_slice(&dst.1.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags]);
    f.extend_from_slice(&65535u16.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

struct Conn {
    c: ([u8; 4], u16),
    c_seq: u32,
    s_seq: u32,
    left: u32,
    closed: bool,
    resp: Vec<u8>,
    off: usize,
}

/// Frames (in capture order) of `conns` connections carrying `requests`
/// exchanges each.
pub fn keepalive_frames(conns: u32, requests: u32) -> Vec<Vec<u8>> {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        rng >> 33
    };
    let mut out = Vec::new();
    let mut cs: Vec<Conn> = (0..conns)
        .map(|i| Conn {
            c: ([10, 0, (i >> 8) as u8, i as u8], 30_000 + i as u16),
            c_seq: next() as u32,
            s_seq: next() as u32,
            left: requests,
            closed: false,
            resp: Vec::new(),
            off: 0,
        })
        .collect();
    let s = |_: &Conn| (SERVER, 80u16);
    for c in cs.iter_mut() {
        out.push(frame(c.c, s(c), c.c_seq, 0, SYN, b""));
        c.c_seq = c.c_seq.wrapping_add(1);
        out.push(frame(s(c), c.c, c.s_seq, c.c_seq, SYN | ACK, b""));
        c.s_seq = c.s_seq.wrapping_add(1);
        out.push(frame(c.c, s(c), c.c_seq, c.s_seq, ACK, b""));
    }
    let body = vec![b'a'; 65_536];
    loop {
        let mut active = false;
        for c in cs.iter_mut() {
            if c.off < c.resp.len() {
                // Up to 4 segments, then the client's ACK.
                for _ in 0..4 {
                    let end = (c.off + 1460).min(c.resp.len());
                    let flags = if end == c.resp.len() { PSH | ACK } else { ACK };
                    out.push(frame(
                        s(c),
                        c.c,
                        c.s_seq,
                        c.c_seq,
                        flags,
                        &c.resp[c.off..end],
                    ));
                    c.s_seq = c.s_seq.wrapping_add((end - c.off) as u32);
                    c.off = end;
                    if end == c.resp.len() {
                        break;
                    }
                }
                out.push(frame(c.c, s(c), c.c_seq, c.s_seq, ACK, b""));
                active = true;
            } else if c.left > 0 {
                c.left -= 1;
                let req = format!(
                    "GET /item/{} HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n",
                    next() % 10_000
                );
                out.push(frame(
                    c.c,
                    s(c),
                    c.c_seq,
                    c.s_seq,
                    PSH | ACK,
                    req.as_bytes(),
                ));
                c.c_seq = c.c_seq.wrapping_add(req.len() as u32);
                let size = 200 + (next() % 65_000) as usize;
                c.resp.clear();
                c.off = 0;
                if next() % 5 == 0 {
                    c.resp.extend_from_slice(
                        b"HTTP/1.1 200 OK\r\nServer: nginx\r\nTransfer-Encoding: chunked\r\n\r\n",
                    );
                    for chunk in body[..size].chunks(8000) {
                        c.resp
                            .extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                        c.resp.extend_from_slice(chunk);
                        c.resp.extend_from_slice(b"\r\n");
                    }
                    c.resp.extend_from_slice(b"0\r\n\r\n");
                } else {
                    c.resp.extend_from_slice(
                        format!(
                            "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: {size}\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    c.resp.extend_from_slice(&body[..size]);
                }
                active = true;
            } else if !c.closed {
                c.closed = true;
                out.push(frame(c.c, s(c), c.c_seq, c.s_seq, FIN | ACK, b""));
                c.c_seq = c.c_seq.wrapping_add(1);
                out.push(frame(s(c), c.c, c.s_seq, c.c_seq, FIN | ACK, b""));
                c.s_seq = c.s_seq.wrapping_add(1);
                out.push(frame(c.c, s(c), c.c_seq, c.s_seq, ACK, b""));
                active = true;
            }
        }
        if !active {
            return out;
        }
    }
}

/// The frames as a classic pcap file (microsecond timestamps, 10 µs apart).
pub fn pcap_bytes(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut p = Vec::new();
    for v in [
        0xa1b2_c3d4u32.to_le_bytes(),
        [2, 0, 4, 0],
        [0; 4],
        [0; 4],
        262_144u32.to_le_bytes(),
        1u32.to_le_bytes(),
    ] {
        p.extend_from_slice(&v);
    }
    for (i, f) in frames.iter().enumerate() {
        let us = 10 * i as u64;
        p.extend_from_slice(&(1_700_000_000 + (us / 1_000_000) as u32).to_le_bytes());
        p.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        p.extend_from_slice(&(f.len() as u32).to_le_bytes());
        p.extend_from_slice(&(f.len() as u32).to_le_bytes());
        p.extend_from_slice(f);
    }
    p
}
