//! A small scenario language for the TCP layer: segments are built
//! directly (no capture, no decode), fed to a `FlowTable` whose handlers
//! record every event.
#![allow(dead_code)]

use keepwatch::decode::{Endpoint, NetTag, Segment, TcpFlags};
use keepwatch::tcp::{Direction, Finished, FlowTable, StreamHandler, TcpConfig, TcpFacts};
use keepwatch::time::Timestamp;

pub const SYN: u16 = TcpFlags::SYN;
pub const ACK: u16 = TcpFlags::ACK;
pub const FIN: u16 = TcpFlags::FIN;
pub const RST: u16 = TcpFlags::RST;
pub const PSH: u16 = TcpFlags::PSH;

pub const MS: i64 = 1_000_000;
pub const SEC: i64 = 1_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    Data(Direction, Vec<u8>),
    Gap(Direction, u64),
    Fin(Direction),
    Rst(Direction),
    End,
}

/// A handler that records everything it is told.
#[derive(Default, Debug)]
pub struct Rec {
    pub events: Vec<Ev>,
    pub times: Vec<i64>,
}

impl StreamHandler for Rec {
    fn on_data(&mut self, dir: Direction, ts: Timestamp, data: &[u8]) {
        assert!(!data.is_empty(), "empty on_data");
        self.events.push(Ev::Data(dir, data.to_vec()));
        self.times.push(ts.nanos());
    }
    fn on_gap(&mut self, dir: Direction, ts: Timestamp, len: u64) {
        assert!(len > 0, "empty gap");
        self.events.push(Ev::Gap(dir, len));
        self.times.push(ts.nanos());
    }
    fn on_fin(&mut self, dir: Direction, ts: Timestamp) {
        self.events.push(Ev::Fin(dir));
        self.times.push(ts.nanos());
    }
    fn on_rst(&mut self, dir: Direction, ts: Timestamp) {
        self.events.push(Ev::Rst(dir));
        self.times.push(ts.nanos());
    }
    fn on_end(&mut self, ts: Timestamp) {
        self.events.push(Ev::End);
        self.times.push(ts.nanos());
    }
}

impl Rec {
    /// The bytes delivered in one direction, concatenated.
    pub fn stream(&self, dir: Direction) -> Vec<u8> {
        let mut v = Vec::new();
        for e in &self.events {
            if let Ev::Data(d, b) = e {
                if *d == dir {
                    v.extend_from_slice(b);
                }
            }
        }
        v
    }
    /// The stream of one direction with gaps written as `<gap N>`.
    pub fn text(&self, dir: Direction) -> String {
        let mut s = String::new();
        for e in &self.events {
            match e {
                Ev::Data(d, b) if *d == dir => s.push_str(&String::from_utf8_lossy(b)),
                Ev::Gap(d, n) if *d == dir => s.push_str(&format!("<gap {n}>")),
                Ev::Fin(d) if *d == dir => s.push_str("<fin>"),
                Ev::Rst(d) => s.push_str(&format!("<rst {d:?}>")),
                _ => {}
            }
        }
        s
    }
    pub fn gaps(&self, dir: Direction) -> Vec<u64> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::Gap(d, n) if *d == dir => Some(*n),
                _ => None,
            })
            .collect()
    }
}

pub fn ep(ip: &str, port: u16) -> Endpoint {
    Endpoint {
        ip: ip.parse().unwrap(),
        port,
    }
}

/// An owned segment; `seg()` borrows it as the decoder would.
#[derive(Clone, Debug)]
pub struct Pkt {
    pub ts: i64,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub tag: NetTag,
    pub seq: u32,
    pub ack: u32,
    pub flags: u16,
    pub window: u16,
    pub payload: Vec<u8>,
    pub missing: u32,
}

impl Pkt {
    pub fn new(src: Endpoint, dst: Endpoint) -> Pkt {
        Pkt {
            ts: 0,
            src,
            dst,
            tag: NetTag::default(),
            seq: 0,
            ack: 0,
            flags: ACK,
            window: 1000,
            payload: Vec::new(),
            missing: 0,
        }
    }
    pub fn seg(&self) -> Segment<'_> {
        Segment {
            ts: Timestamp::from_nanos(self.ts),
            src: self.src,
            dst: self.dst,
            tag: self.tag,
            seq: self.seq,
            ack: self.ack,
            flags: TcpFlags(self.flags),
            window: self.window,
            window_scale: None,
            payload: &self.payload,
            payload_missing: self.missing,
        }
    }
    pub fn at(mut self, ts: i64) -> Pkt {
        self.ts = ts;
        self
    }
    pub fn seq(mut self, seq: u32) -> Pkt {
        self.seq = seq;
        self
    }
    pub fn window(mut self, w: u16) -> Pkt {
        self.window = w;
        self
    }
    pub fn missing(mut self, n: u32) -> Pkt {
        self.missing = n;
        self
    }
}

/// A two-sided conversation that keeps each side's next sequence number
/// and a clock that moves 1 ms per segment unless set with `at`.
pub struct Flow {
    pub c: Endpoint,
    pub s: Endpoint,
    pub cisn: u32,
    pub sisn: u32,
    /// Next sequence number of each side.
    pub cnxt: u32,
    pub snxt: u32,
    pub t: i64,
}

impl Flow {
    pub fn new(cisn: u32, sisn: u32) -> Flow {
        Flow::between(ep("10.0.0.1", 40000), ep("10.0.0.2", 80), cisn, sisn)
    }
    pub fn between(c: Endpoint, s: Endpoint, cisn: u32, sisn: u32) -> Flow {
        Flow {
            c,
            s,
            cisn,
            sisn,
            cnxt: cisn.wrapping_add(1),
            snxt: sisn.wrapping_add(1),
            t: 1_000 * SEC,
        }
    }
    /// Set the clock (ns).
    pub fn at(&mut self, t: i64) -> &mut Flow {
        self.t = t;
        self
    }
    fn tick(&mut self) -> i64 {
        let t = self.t;
        self.t += MS;
        t
    }
    fn pkt(&mut self, from_client: bool, flags: u16, seq: u32, data: &[u8]) -> Pkt {
        let ts = self.tick();
        let (src, dst, ack) = if from_client {
            (self.c, self.s, self.snxt)
        } else {
            (self.s, self.c, self.cnxt)
        };
        Pkt {
            ts,
            src,
            dst,
            tag: NetTag::default(),
            seq,
            ack,
            flags,
            window: 1000,
            payload: data.to_vec(),
            missing: 0,
        }
    }
    pub fn syn(&mut self) -> Pkt {
        let mut p = self.pkt(true, SYN, self.cisn, b"");
        p.ack = 0;
        p
    }
    pub fn syn_data(&mut self, data: &[u8]) -> Pkt {
        let mut p = self.pkt(true, SYN, self.cisn, data);
        p.ack = 0;
        self.cnxt = self.cnxt.wrapping_add(data.len() as u32);
        p
    }
    pub fn syn_ack(&mut self) -> Pkt {
        self.pkt(false, SYN | ACK, self.sisn, b"")
    }
    pub fn c_ack(&mut self) -> Pkt {
        self.pkt(true, ACK, self.cnxt, b"")
    }
    pub fn s_ack(&mut self) -> Pkt {
        self.pkt(false, ACK, self.snxt, b"")
    }
    pub fn handshake(&mut self) -> [Pkt; 3] {
        [self.syn(), self.syn_ack(), self.c_ack()]
    }
    pub fn c_data(&mut self, d: &[u8]) -> Pkt {
        let p = self.pkt(true, ACK | PSH, self.cnxt, d);
        self.cnxt = self.cnxt.wrapping_add(d.len() as u32);
        p
    }
    pub fn s_data(&mut self, d: &[u8]) -> Pkt {
        let p = self.pkt(false, ACK | PSH, self.snxt, d);
        self.snxt = self.snxt.wrapping_add(d.len() as u32);
        p
    }
    pub fn c_fin(&mut self) -> Pkt {
        let p = self.pkt(true, FIN | ACK, self.cnxt, b"");
        self.cnxt = self.cnxt.wrapping_add(1);
        p
    }
    pub fn s_fin(&mut self) -> Pkt {
        let p = self.pkt(false, FIN | ACK, self.snxt, b"");
        self.snxt = self.snxt.wrapping_add(1);
        p
    }
    pub fn c_rst(&mut self) -> Pkt {
        self.pkt(true, RST | ACK, self.cnxt, b"")
    }
    pub fn s_rst(&mut self) -> Pkt {
        self.pkt(false, RST | ACK, self.snxt, b"")
    }
    /// Client data at an explicit offset from the client's first data byte
    /// (does not move `cnxt`).
    pub fn c_data_at(&mut self, off: u32, d: &[u8]) -> Pkt {
        let seq = self.cisn.wrapping_add(1).wrapping_add(off);
        self.pkt(true, ACK | PSH, seq, d)
    }
    /// A client keepalive probe: `len` (0 or 1) bytes at next - 1.
    pub fn c_keepalive(&mut self, len: usize) -> Pkt {
        let seq = self.cnxt.wrapping_sub(1);
        self.pkt(true, ACK, seq, &vec![0u8; len])
    }
    pub fn s_keepalive(&mut self, len: usize) -> Pkt {
        let seq = self.snxt.wrapping_sub(1);
        self.pkt(false, ACK, seq, &vec![0u8; len])
    }
}

/// A table with recording handlers, collecting finished connections.
pub struct Sim {
    pub table: FlowTable<Rec>,
    pub done: Vec<Finished<Rec>>,
}

impl Sim {
    pub fn new(cfg: TcpConfig) -> Sim {
        Sim {
            table: FlowTable::new(cfg, Box::new(Rec::default)),
            done: Vec::new(),
        }
    }
    pub fn default_cfg() -> TcpConfig {
        TcpConfig {
            close_linger: std::time::Duration::from_secs(2),
            ..TcpConfig::default()
        }
    }
    pub fn feed(&mut self, p: &Pkt) {
        self.table.handle(&p.seg());
        self.collect();
    }
    pub fn feed_all<'a>(&mut self, ps: impl IntoIterator<Item = &'a Pkt>) {
        for p in ps {
            self.feed(p);
        }
    }
    pub fn collect(&mut self) {
        while let Some(f) = self.table.pop_finished() {
            self.done.push(f);
        }
    }
    /// End of capture at `ts`.
    pub fn end(&mut self, ts: i64) {
        self.table.finish_all(Timestamp::from_nanos(ts));
        self.collect();
    }
    /// Feed packets, end the capture, and return the one connection.
    pub fn run_one(pkts: &[Pkt]) -> Finished<Rec> {
        let mut sim = Sim::new(Sim::default_cfg());
        sim.feed_all(pkts);
        sim.end(i64::MAX / 2);
        assert_eq!(sim.done.len(), 1, "expected one connection");
        sim.done.pop().unwrap()
    }
}

pub fn facts(f: &Finished<Rec>) -> &TcpFacts {
    &f.facts
}

pub const TO_S: Direction = Direction::ToServer;
pub const TO_C: Direction = Direction::ToClient;
