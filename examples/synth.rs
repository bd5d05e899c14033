//! Deterministic generator of benchmark captures: classic pcap, Ethernet /
//! IPv4 / TCP, as a server-side tap would record HTTP/1.x traffic.
//!
//! ```text
//! cargo run --release --example synth -- --kind keepalive|short|idle \
//!     --seed N --size BYTES -o FILE
//! ```
//!
//! - `keepalive`: a few hundred concurrent HTTP/1.1 keep-alive connections,
//!   each carrying 100 to 400 requests; responses of 200 B to 200 KB
//!   (log-uniform), a fifth chunked, one in twenty a 404; MTU-sized
//!   segments sent in congestion-window bursts and acknowledged; closes by
//!   either side with a FIN exchange.
//! - `short`: one request per connection (HTTP/1.0, or HTTP/1.1 with
//!   `Connection: close`), small responses, the server closing first: the
//!   traffic is handshakes and closes.
//! - `idle`: tens of thousands of long-lived connections, a few requests
//!   each with idle gaps of seconds to minutes, during which the client's
//!   Linux-style keepalive probes (0 bytes, seq = next - 1) are answered by
//!   the server's ACK.
//!
//! The same seed and size give the same bytes. Connections are interleaved
//! by a scheduler on simulated time, so the file looks like one busy server
//! seen from its interface: timestamps never go backwards, sequence and
//! acknowledgment numbers are consistent, checksums are correct.
//!
//! No dependencies: the PRNG is splitmix64, written out below.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, BufWriter, Write};

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, good enough for
/// traffic shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Log-uniform in `lo..=hi`.
    fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        ((a + (b - a) * self.unit()).exp() as u64).clamp(lo, hi)
    }
    /// Exponential with the given mean, in ns.
    fn exp_ns(&mut self, mean_ns: u64) -> u64 {
        let u = self.unit().max(1e-12);
        (-(u.ln()) * mean_ns as f64) as u64
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Keepalive,
    Short,
    Idle,
}

/// Traffic shape per kind.
struct Profile {
    concurrency: usize,
    requests: (u64, u64),
    resp_size: (u64, u64),
    /// Mean think time between a response and the next request.
    think_ns: u64,
    /// Idle gaps (idle kind): uniform range, ns.
    idle_gap_ns: Option<(u64, u64)>,
    /// Keepalive probe interval while idle.
    probe_every_ns: u64,
}

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
const MSS: usize = 1460;
/// Segments sent per burst before the client's ACK (a congestion window).
const CWND: usize = 10;

fn profile(kind: Kind) -> Profile {
    match kind {
        Kind::Keepalive => Profile {
            concurrency: 256,
            requests: (100, 400),
            resp_size: (200, 200_000),
            think_ns: 20 * MS,
            idle_gap_ns: None,
            probe_every_ns: 0,
        },
        Kind::Short => Profile {
            concurrency: 256,
            requests: (1, 1),
            resp_size: (100, 3_000),
            think_ns: MS,
            idle_gap_ns: None,
            probe_every_ns: 0,
        },
        Kind::Idle => Profile {
            concurrency: 20_000,
            requests: (3, 30),
            resp_size: (200, 20_000),
            think_ns: 50 * MS,
            idle_gap_ns: Some((SEC, 400 * SEC)),
            probe_every_ns: 45 * SEC,
        },
    }
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// The pcap writer: one reusable frame buffer, checksums computed in place.
struct Pcap<W: Write> {
    out: W,
    frame: Vec<u8>,
    written: u64,
    packets: u64,
    last_ts: u64,
}

struct Pkt<'a> {
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    ipid: u16,
    payload: &'a [u8],
    syn_options: bool,
}

fn csum_add(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum = sum.wrapping_add(u16::from_be_bytes([c[0], c[1]]) as u32);
    }
    if let [b] = chunks.remainder() {
        sum = sum.wrapping_add((*b as u32) << 8);
    }
    sum
}

fn csum_fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl<W: Write> Pcap<W> {
    fn new(mut out: W) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&262_144u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        out.write_all(&h)?;
        Ok(Pcap {
            out,
            frame: Vec::with_capacity(2048),
            written: 24,
            packets: 0,
            last_ts: 0,
        })
    }

    fn write(&mut self, ts_ns: u64, p: &Pkt<'_>) -> io::Result<()> {
        let ts = ts_ns.max(self.last_ts);
        self.last_ts = ts;
        let f = &mut self.frame;
        f.clear();
        // Ethernet: server MAC 02:00:00:00:00:01, gateway 02:00:00:00:00:02.
        let server_is_src = p.src[0] == 192;
        let (dmac, smac) = if server_is_src {
            ([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
        } else {
            ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        };
        f.extend_from_slice(&dmac);
        f.extend_from_slice(&smac);
        f.extend_from_slice(&[0x08, 0x00]);
        let opt_len = if p.syn_options { 12 } else { 0 };
        let tcp_len = 20 + opt_len + p.payload.len();
        let ip_len = 20 + tcp_len;
        let ip_start = f.len();
        f.extend_from_slice(&[0x45, 0x00]);
        f.extend_from_slice(&(ip_len as u16).to_be_bytes());
        f.extend_from_slice(&p.ipid.to_be_bytes());
        f.extend_from_slice(&[0x40, 0x00, 64, 6, 0, 0]);
        f.extend_from_slice(&p.src);
        f.extend_from_slice(&p.dst);
        let ipc = csum_fold(csum_add(0, &f[ip_start..ip_start + 20]));
        f[ip_start + 10..ip_start + 12].copy_from_slice(&ipc.to_be_bytes());
        let tcp_start = f.len();
        f.extend_from_slice(&p.sport.to_be_bytes());
        f.extend_from_slice(&p.dport.to_be_bytes());
        f.extend_from_slice(&p.seq.to_be_bytes());
        f.extend_from_slice(&p.ack.to_be_bytes());
        f.push((((20 + opt_len) / 4) as u8) << 4);
        f.push(p.flags);
        f.extend_from_slice(&64_240u16.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0]);
        if p.syn_options {
            // MSS 1460, NOP, window scale 7, SACK permitted, NOP NOP.
            f.extend_from_slice(&[2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 1, 1]);
        }
        f.extend_from_slice(p.payload);
        let mut sum = csum_add(0, &p.src);
        sum = csum_add(sum, &p.dst);
        sum = sum.wrapping_add(6).wrapping_add(tcp_len as u32);
        sum = csum_add(sum, &f[tcp_start..]);
        let tc = csum_fold(sum);
        f[tcp_start + 16..tcp_start + 18].copy_from_slice(&tc.to_be_bytes());

        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&((ts / SEC) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&(((ts % SEC) / 1000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(f.len() as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&(f.len() as u32).to_le_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(f)?;
        self.written += 16 + f.len() as u64;
        self.packets += 1;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Syn,
    SynAck,
    Request,
    Response,
    /// Client acknowledges a burst of response segments.
    ClientAck,
    /// Between exchanges: waiting until `until`; probes fire on the way.
    Idle,
    /// The server's ACK of a keepalive probe.
    ProbeAck,
    /// The client's FIN, after its think time.
    ClientFin,
    /// The closer's FIN has been sent; the peer answers with FIN+ACK.
    PeerFin,
    /// The closer's last ACK.
    LastAck,
    Done,
}

struct Conn {
    cip: [u8; 4],
    sip: [u8; 4],
    cport: u16,
    sport: u16,
    /// Next sequence number each side will send.
    c_nxt: u32,
    s_nxt: u32,
    c_ipid: u16,
    s_ipid: u16,
    st: St,
    requests_left: u64,
    req: Vec<u8>,
    resp: Vec<u8>,
    resp_off: usize,
    /// The server closes after the current response.
    server_closes: bool,
    /// Who sent the first FIN.
    closer_is_client: bool,
    idle_until: u64,
    next_probe: u64,
    req_no: u64,
}

impl Conn {
    fn empty() -> Conn {
        Conn {
            cip: [0; 4],
            sip: [0; 4],
            cport: 0,
            sport: 0,
            c_nxt: 0,
            s_nxt: 0,
            c_ipid: 0,
            s_ipid: 0,
            st: St::Done,
            requests_left: 0,
            req: Vec::new(),
            resp: Vec::new(),
            resp_off: 0,
            server_closes: false,
            closer_is_client: true,
            idle_until: 0,
            next_probe: 0,
            req_no: 0,
        }
    }
}

const FILLER: &[u8] = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ";

struct Gen<W: Write> {
    kind: Kind,
    prof: Profile,
    rng: Rng,
    pcap: Pcap<W>,
    size: u64,
    stopping: bool,
    /// Client address/port allocator.
    next_client: u64,
    body: Vec<u8>,
}

impl<W: Write> Gen<W> {
    fn client_ep(&mut self) -> ([u8; 4], u16) {
        // 4096 client addresses, ports 10000..60000 each in turn: no
        // 4-tuple repeats for 200 million connections.
        let n = self.next_client;
        self.next_client += 1;
        let host = (n % 4096) as u16;
        let port = 10_000 + ((n / 4096) % 50_000) as u16;
        ([10, 1 + (host >> 8) as u8, (host & 0xff) as u8, 2], port)
    }

    fn open(&mut self, c: &mut Conn) {
        let (cip, cport) = self.client_ep();
        c.cip = cip;
        c.cport = cport;
        c.sip = [192, 0, 2, 10];
        c.sport = 80;
        c.c_nxt = self.rng.next() as u32;
        c.s_nxt = self.rng.next() as u32;
        c.c_ipid = self.rng.next() as u16;
        c.s_ipid = self.rng.next() as u16;
        c.st = St::Syn;
        c.requests_left = self.rng.range(self.prof.requests.0, self.prof.requests.1);
        c.resp_off = 0;
        c.server_closes = false;
        c.closer_is_client = true;
        c.req_no = 0;
    }

    fn send_client(
        &mut self,
        c: &mut Conn,
        ts: u64,
        flags: u8,
        payload_range: Option<(usize, usize)>,
    ) -> io::Result<()> {
        c.c_ipid = c.c_ipid.wrapping_add(1);
        let payload: &[u8] = match payload_range {
            Some((a, b)) => &c.req[a..b],
            None => &[],
        };
        let p = Pkt {
            src: c.cip,
            dst: c.sip,
            sport: c.cport,
            dport: c.sport,
            seq: c.c_nxt,
            ack: if flags & ACK != 0 { c.s_nxt } else { 0 },
            flags,
            ipid: c.c_ipid,
            payload,
            syn_options: flags & SYN != 0,
        };
        self.pcap.write(ts, &p)?;
        c.c_nxt = c
            .c_nxt
            .wrapping_add(payload.len() as u32)
            .wrapping_add((flags & (SYN | FIN) != 0) as u32);
        Ok(())
    }

    fn send_server(
        &mut self,
        c: &mut Conn,
        ts: u64,
        flags: u8,
        payload_range: Option<(usize, usize)>,
    ) -> io::Result<()> {
        c.s_ipid = c.s_ipid.wrapping_add(1);
        let payload: &[u8] = match payload_range {
            Some((a, b)) => &c.resp[a..b],
            None => &[],
        };
        let p = Pkt {
            src: c.sip,
            dst: c.cip,
            sport: c.sport,
            dport: c.cport,
            seq: c.s_nxt,
            ack: c.c_nxt,
            flags,
            ipid: c.s_ipid,
            payload,
            syn_options: flags & SYN != 0,
        };
        self.pcap.write(ts, &p)?;
        c.s_nxt = c
            .s_nxt
            .wrapping_add(payload.len() as u32)
            .wrapping_add((flags & (SYN | FIN) != 0) as u32);
        Ok(())
    }

    fn build_request(&mut self, c: &mut Conn) {
        c.req.clear();
        c.req_no += 1;
        let http10 = self.kind == Kind::Short && self.rng.chance(0.5);
        let n = self.rng.range(1, 5000);
        let _ = write!(
            c.req,
            "GET /static/{}/item-{}.html HTTP/1.{}\r\nHost: www.example.com\r\nUser-Agent: synth/1.0\r\nAccept: */*\r\nAccept-Encoding: gzip\r\n",
            n % 97,
            n,
            if http10 { 0 } else { 1 }
        );
        let last = c.requests_left <= 1 || self.stopping;
        if self.kind == Kind::Short && !http10 {
            c.req.extend_from_slice(b"Connection: close\r\n");
        }
        c.req.extend_from_slice(b"\r\n");
        c.server_closes = self.kind == Kind::Short || (last && self.rng.chance(0.5));
        c.closer_is_client = !c.server_closes;
    }

    fn build_response(&mut self, c: &mut Conn) {
        c.resp.clear();
        c.resp_off = 0;
        let not_found = self.rng.chance(0.05);
        let chunked = !not_found && self.kind != Kind::Short && self.rng.chance(0.2);
        let size = if not_found {
            self.rng.range(150, 600)
        } else {
            self.rng
                .log_uniform(self.prof.resp_size.0, self.prof.resp_size.1)
        } as usize;
        // The body: filler text, reused.
        while self.body.len() < size {
            self.body.extend_from_slice(FILLER);
        }
        let status = if not_found { "404 Not Found" } else { "200 OK" };
        let _ = write!(
            c.resp,
            "HTTP/1.1 {status}\r\nServer: nginx/1.24.0\r\nDate: Sun, 22 Nov 2026 03:00:00 GMT\r\nContent-Type: text/html\r\n"
        );
        if c.server_closes {
            c.resp.extend_from_slice(b"Connection: close\r\n");
        } else {
            c.resp.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        if chunked {
            c.resp
                .extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            let mut left = size;
            while left > 0 {
                let n = left.min(self.rng.range(1000, 16_000) as usize);
                let _ = write!(c.resp, "{n:x}\r\n");
                c.resp.extend_from_slice(&self.body[..n]);
                c.resp.extend_from_slice(b"\r\n");
                left -= n;
            }
            c.resp.extend_from_slice(b"0\r\n\r\n");
        } else {
            let _ = write!(c.resp, "Content-Length: {size}\r\n\r\n");
            c.resp.extend_from_slice(&self.body[..size]);
        }
    }

    /// Runs one step of `c` at time `t`; returns when to run the next, or
    /// `None` when the connection is over.
    fn step(&mut self, c: &mut Conn, t: u64) -> io::Result<Option<u64>> {
        let wire = 12_000; // 1500 bytes at 1 Gbit/s
        let rtt = 200_000 + (c.cport as u64 % 8) * 150_000;
        Ok(match c.st {
            St::Syn => {
                self.send_client(c, t, SYN, None)?;
                c.st = St::SynAck;
                Some(t + 20_000)
            }
            St::SynAck => {
                self.send_server(c, t, SYN | ACK, None)?;
                c.st = St::Request;
                Some(t + rtt)
            }
            St::Request => {
                self.build_request(c);
                if c.req_no == 1 {
                    // The handshake's last ACK, then the request.
                    self.send_client(c, t, ACK, None)?;
                }
                let len = c.req.len();
                self.send_client(c, t + 5_000, PSH | ACK, Some((0, len)))?;
                self.build_response(c);
                c.st = St::Response;
                Some(t + 50_000 + self.rng.exp_ns(500_000))
            }
            St::Response => {
                let mut ts = t;
                for _ in 0..CWND {
                    let a = c.resp_off;
                    let b = (a + MSS).min(c.resp.len());
                    let last = b == c.resp.len();
                    let fin = last && c.server_closes;
                    let flags = ACK | if last { PSH } else { 0 } | if fin { FIN } else { 0 };
                    self.send_server(c, ts, flags, Some((a, b)))?;
                    c.resp_off = b;
                    ts += wire;
                    if last {
                        break;
                    }
                }
                c.st = St::ClientAck;
                Some(ts + rtt)
            }
            St::ClientAck => {
                self.send_client(c, t, ACK, None)?;
                if c.resp_off < c.resp.len() {
                    c.st = St::Response;
                    return Ok(Some(t + 10_000));
                }
                c.requests_left = c.requests_left.saturating_sub(1);
                if c.server_closes {
                    // The server's FIN rode on the last segment; the client
                    // answers with its own FIN (the ACK above covered it).
                    self.send_client(c, t + 30_000, FIN | ACK, None)?;
                    c.st = St::LastAck;
                    return Ok(Some(t + 30_000 + rtt));
                }
                if c.requests_left == 0 || self.stopping {
                    // The FIN is written when its time comes, never ahead of
                    // the other connections' packets.
                    c.st = St::ClientFin;
                    return Ok(Some(t + self.rng.exp_ns(self.prof.think_ns)));
                }
                let gap = match self.prof.idle_gap_ns {
                    Some((lo, hi)) => self.rng.range(lo, hi),
                    None => self.rng.exp_ns(self.prof.think_ns),
                };
                if self.prof.probe_every_ns > 0 && gap > self.prof.probe_every_ns {
                    c.idle_until = t + gap;
                    c.next_probe = t + self.prof.probe_every_ns;
                    c.st = St::Idle;
                    Some(c.next_probe)
                } else {
                    c.st = St::Request;
                    Some(t + gap)
                }
            }
            St::Idle => {
                if t >= c.idle_until || self.stopping {
                    c.st = St::Request;
                    return Ok(Some(t));
                }
                // Linux keepalive probe: no data, seq one below next.
                c.c_ipid = c.c_ipid.wrapping_add(1);
                let probe = Pkt {
                    src: c.cip,
                    dst: c.sip,
                    sport: c.cport,
                    dport: c.sport,
                    seq: c.c_nxt.wrapping_sub(1),
                    ack: c.s_nxt,
                    flags: ACK,
                    ipid: c.c_ipid,
                    payload: &[],
                    syn_options: false,
                };
                self.pcap.write(t, &probe)?;
                c.next_probe = t + self.prof.probe_every_ns;
                c.st = St::ProbeAck;
                Some(t + rtt)
            }
            St::ProbeAck => {
                self.send_server(c, t, ACK, None)?;
                c.st = St::Idle;
                Some(c.next_probe.min(c.idle_until))
            }
            St::ClientFin => {
                self.send_client(c, t, FIN | ACK, None)?;
                c.st = St::PeerFin;
                Some(t + 30_000)
            }
            St::PeerFin => {
                // Client closed: the server answers FIN+ACK.
                self.send_server(c, t, FIN | ACK, None)?;
                c.st = St::LastAck;
                Some(t + rtt)
            }
            St::LastAck => {
                if c.closer_is_client {
                    self.send_client(c, t, ACK, None)?;
                } else {
                    self.send_server(c, t, ACK, None)?;
                }
                c.st = St::Done;
                None
            }
            St::Done => None,
        })
    }

    fn run(&mut self) -> io::Result<()> {
        let n = self.prof.concurrency;
        let mut conns: Vec<Conn> = (0..n).map(|_| Conn::empty()).collect();
        let mut heap: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::with_capacity(n);
        let start = 1_795_000_000 * SEC;
        for (i, c) in conns.iter_mut().enumerate() {
            self.open(c);
            // Stagger the first connections over a second (idle: a minute).
            let spread = if self.kind == Kind::Idle {
                60 * SEC
            } else {
                SEC
            };
            heap.push(Reverse((start + self.rng.range(0, spread), i as u32)));
        }
        while let Some(Reverse((t, i))) = heap.pop() {
            let Some(c) = conns.get_mut(i as usize) else {
                continue;
            };
            let mut c = std::mem::replace(c, Conn::empty());
            if !self.stopping && self.pcap.written >= self.size {
                self.stopping = true;
            }
            let next = self.step(&mut c, t)?;
            match next {
                Some(at) => heap.push(Reverse((at, i))),
                None if !self.stopping => {
                    self.open(&mut c);
                    let delay = if self.kind == Kind::Idle {
                        self.rng.range(0, 10 * SEC)
                    } else {
                        self.rng.exp_ns(self.prof.think_ns)
                    };
                    heap.push(Reverse((t + delay, i)));
                }
                None => {}
            }
            conns[i as usize] = c;
        }
        self.pcap.out.flush()
    }
}

fn usage() -> ! {
    eprintln!("usage: synth --kind keepalive|short|idle [--seed N] [--size BYTES] -o FILE");
    std::process::exit(2)
}

fn parse_size(s: &str) -> Option<u64> {
    let (num, mult) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1u64 << 10),
        b'M' | b'm' => (&s[..s.len() - 1], 1 << 20),
        b'G' | b'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

fn main() -> io::Result<()> {
    let mut kind = None;
    let mut seed = 1u64;
    let mut size = 100u64 << 20;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--kind" => {
                kind = Some(match val().as_str() {
                    "keepalive" => Kind::Keepalive,
                    "short" => Kind::Short,
                    "idle" => Kind::Idle,
                    _ => usage(),
                })
            }
            "--seed" => seed = val().parse().unwrap_or_else(|_| usage()),
            "--size" => size = parse_size(&val()).unwrap_or_else(|| usage()),
            "-o" | "--output" => out = Some(val()),
            _ => usage(),
        }
    }
    let (Some(kind), Some(out)) = (kind, out) else {
        usage()
    };
    let file = std::fs::File::create(&out)?;
    let mut g = Gen {
        kind,
        prof: profile(kind),
        rng: Rng(seed ^ 0x6b65_6570_7761_7463),
        pcap: Pcap::new(BufWriter::with_capacity(1 << 20, file))?,
        size,
        stopping: false,
        next_client: 0,
        body: Vec::new(),
    };
    g.run()?;
    eprintln!(
        "synth: {out}: {} packets, {} bytes",
        g.pcap.packets, g.pcap.written
    );
    Ok(())
}
