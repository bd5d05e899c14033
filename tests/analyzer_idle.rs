//! `--idle-report` through the library: interim records (`final: false`)
//! of idle open connections, once per idle period, never counted in the
//! per-server records or the summary.

use etherparse::PacketBuilder;
use keepwatch::capture::{Frame, LinkType};
use keepwatch::report::{
    ConnectionRecord, EndState, Format, NdjsonLine, ReportFilter, ReportWriter, WriterOptions,
};
use keepwatch::time::Timestamp;
use keepwatch::{Analyzer, Config, Session};
use std::time::Duration;

const SERVER: [u8; 4] = [10, 0, 0, 2];
const CLIENT: [u8; 4] = [10, 0, 0, 1];
const REQ: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
const IDLE: Duration = Duration::from_secs(60);

/// One TCP connection's packets as raw IPv4 frames.
struct Conn {
    port: u16,
    cnxt: u32,
    snxt: u32,
}

struct Pkt {
    ts: Timestamp,
    data: Vec<u8>,
}

impl Pkt {
    fn frame(&self) -> Frame<'_> {
        Frame {
            ts: self.ts,
            caplen: self.data.len() as u32,
            orig_len: self.data.len() as u32,
            link: LinkType::RAW,
            data: &self.data,
        }
    }
}

const SYN: u8 = 1;
const ACK: u8 = 2;
const FIN: u8 = 4;

impl Conn {
    fn new(port: u16) -> Conn {
        Conn {
            port,
            cnxt: 1000,
            snxt: 5000,
        }
    }

    fn pkt(&mut self, secs: f64, from_client: bool, flags: u8, payload: &[u8]) -> Pkt {
        let (src, dst, sp, dp, seq, ack) = if from_client {
            (CLIENT, SERVER, self.port, 80, self.cnxt, self.snxt)
        } else {
            (SERVER, CLIENT, 80, self.port, self.snxt, self.cnxt)
        };
        let mut b = PacketBuilder::ipv4(src, dst, 64).tcp(sp, dp, seq, 65535);
        if flags & SYN != 0 {
            b = b.syn();
        }
        if flags & ACK != 0 {
            b = b.ack(ack);
        }
        if flags & FIN != 0 {
            b = b.fin();
        }
        let mut data = Vec::new();
        b.write(&mut data, payload).unwrap();
        let used = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        if from_client {
            self.cnxt = self.cnxt.wrapping_add(used);
        } else {
            self.snxt = self.snxt.wrapping_add(used);
        }
        Pkt {
            ts: Timestamp::from_nanos((secs * 1e9) as i64),
            data,
        }
    }

    fn handshake(&mut self, at: f64) -> Vec<Pkt> {
        vec![
            self.pkt(at, true, SYN, b""),
            self.pkt(at + 0.001, false, SYN | ACK, b""),
            self.pkt(at + 0.002, true, ACK, b""),
        ]
    }

    fn exchange(&mut self, at: f64) -> Vec<Pkt> {
        vec![
            self.pkt(at, true, ACK, REQ),
            self.pkt(at + 0.01, false, ACK, RESP),
            self.pkt(at + 0.011, true, ACK, b""),
        ]
    }

    /// The client closes, the server answers with its FIN.
    fn close(&mut self, at: f64) -> Vec<Pkt> {
        vec![
            self.pkt(at, true, FIN | ACK, b""),
            self.pkt(at + 0.001, false, FIN | ACK, b""),
            self.pkt(at + 0.002, true, ACK, b""),
        ]
    }
}

/// Feed packets (any order of connections, sorted by time here) to a
/// session, asking for interim records after each, as the live loop does.
fn run(pkts: Vec<Pkt>, session: &mut Session<Vec<u8>>) {
    let mut pkts = pkts;
    pkts.sort_by_key(|p| p.ts);
    for p in &pkts {
        session.process(&p.frame()).unwrap();
        session.interim(IDLE).unwrap();
    }
}

/// Conn 1 idles 100 s, is active again at 200 s, idles again, and closes at
/// 400 s. Conn 2 closes at once. Conn 3 keeps time moving.
fn scenario() -> Vec<Pkt> {
    let mut c1 = Conn::new(40001);
    let mut c2 = Conn::new(40002);
    let mut c3 = Conn::new(40003);
    let mut p = Vec::new();
    p.extend(c1.handshake(0.0));
    p.extend(c1.exchange(0.1));
    p.extend(c2.handshake(1.0));
    p.extend(c2.exchange(1.1));
    p.extend(c2.close(1.2));
    p.extend(c3.handshake(2.0));
    for s in (10..=400).step_by(10) {
        p.extend(c3.exchange(f64::from(s)));
    }
    p.extend(c1.exchange(200.0));
    p.extend(c1.close(400.5));
    p
}

fn lines(out: &[u8]) -> Vec<NdjsonLine> {
    std::str::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn records(lines: &[NdjsonLine]) -> Vec<&ConnectionRecord> {
    lines
        .iter()
        .filter_map(|l| match l {
            NdjsonLine::Connection(r) => Some(&**r),
            _ => None,
        })
        .collect()
}

#[test]
fn idle_connections_get_one_interim_record_per_idle_period() {
    let writer = ReportWriter::new(Vec::new(), Format::Ndjson, WriterOptions::default());
    let mut session = Session::new(Config::default(), writer);
    run(scenario(), &mut session);
    let out = session.finish().unwrap();
    let lines = lines(&out);
    let recs = records(&lines);

    let interim: Vec<&&ConnectionRecord> = recs.iter().filter(|r| !r.final_).collect();
    assert_eq!(interim.len(), 2, "{recs:#?}");
    assert!(interim.iter().all(|r| r.id == 1));
    // First idle period: after the first exchange, reported once the
    // capture is 60 s past it, not split, still open.
    let first = interim[0];
    assert_eq!(first.requests, 1);
    assert_eq!(first.end, Timestamp::from_nanos(111_000_000));
    assert_eq!(first.end_state, EndState::Open);
    assert!(first.tcp_idle_max_ms < 1000.0);
    // Second idle period, after the exchange at 200 s.
    let second = interim[1];
    assert_eq!(second.requests, 2);
    assert_eq!(second.end, Timestamp::from_nanos(200_011_000_000));
    assert!(second.tcp_idle_max_ms > 99_000.0);
    let pos = |id: u64, fin: bool| {
        recs.iter()
            .position(|r| r.id == id && r.final_ == fin)
            .unwrap()
    };

    // Each connection has exactly one final record, conn 1's last.
    for id in 1..=3 {
        assert_eq!(
            recs.iter().filter(|r| r.id == id && r.final_).count(),
            1,
            "conn {id}"
        );
    }
    let fin = recs.iter().find(|r| r.id == 1 && r.final_).unwrap();
    assert_eq!(fin.requests, 2);
    assert_eq!(fin.end_state, EndState::Closed);
    assert!(pos(1, true) > pos(1, false));

    // Per-server records and the summary count each connection once.
    let summary = lines
        .iter()
        .find_map(|l| match l {
            NdjsonLine::Summary(s) => Some(s),
            _ => None,
        })
        .unwrap();
    assert_eq!(summary.connections, 3);
    assert_eq!(summary.exchanges, 2 + 1 + 40);
    let servers: Vec<_> = lines
        .iter()
        .filter_map(|l| match l {
            NdjsonLine::Server(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].connections, 3);
}

/// The same capture without interim records gives the same final records
/// and summary: asking for them changes nothing else.
#[test]
fn interim_records_change_nothing_else() {
    let plain = {
        let writer = ReportWriter::new(Vec::new(), Format::Ndjson, WriterOptions::default());
        let mut session = Session::new(Config::default(), writer);
        let mut pkts = scenario();
        pkts.sort_by_key(|p| p.ts);
        for p in &pkts {
            session.process(&p.frame()).unwrap();
        }
        lines(&session.finish().unwrap())
    };
    let with = {
        let writer = ReportWriter::new(Vec::new(), Format::Ndjson, WriterOptions::default());
        let mut session = Session::new(Config::default(), writer);
        run(scenario(), &mut session);
        lines(&session.finish().unwrap())
    };
    let finals: Vec<&NdjsonLine> = with
        .iter()
        .filter(|l| !matches!(l, NdjsonLine::Connection(r) if !r.final_))
        .collect();
    assert_eq!(finals.len(), plain.len());
    for (a, b) in finals.iter().zip(&plain) {
        assert_eq!(*a, b);
    }
}

/// "Now" is the latest packet's capture time; the report filter applies.
#[test]
fn analyzer_interim_records_use_capture_time_and_the_filter() {
    let mut c1 = Conn::new(40001);
    let mut c3 = Conn::new(40003);
    let mut pkts = c1.handshake(0.0);
    pkts.extend(c1.exchange(0.1));
    pkts.extend(c3.handshake(30.0));
    let mut a = Analyzer::new(Config::default());
    for p in &pkts {
        a.process(&p.frame());
    }
    // 30 s of capture time have passed, however long the test took.
    assert!(a.interim_records(IDLE).is_empty());
    let got = a.interim_records(Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    assert!(!got[0].final_);
    assert!(a.interim_records(Duration::from_secs(20)).is_empty());

    let filter: ReportFilter = ReportFilter {
        only: vec![keepwatch::report::Flag::KeepaliveRace],
        ..ReportFilter::default()
    };
    let mut a = Analyzer::new(Config {
        filter,
        ..Config::default()
    });
    for p in &pkts {
        a.process(&p.frame());
    }
    assert!(a.interim_records(Duration::from_secs(20)).is_empty());
}
