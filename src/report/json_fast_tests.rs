//! The hand-written connection lines against serde's, byte for byte: every
//! record of every capture in `testdata/`, randomized records covering
//! every variant, `None`, odd string and extreme number, and a record with
//! every field populated (which fails if a field is added to the model and
//! not to the writer, or written out of serde's order).

use super::*;
use crate::report::writer::{connection_line, connection_line_serde};
use crate::report::{Format, ReportWriter, WriterOptions};
use proptest::prelude::*;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

const DETAILS: [ExchangeDetail; 3] = [
    ExchangeDetail::All,
    ExchangeDetail::Summary,
    ExchangeDetail::None,
];

/// Compares both paths for `rec` under every exchange detail, `final` both
/// ways, through `ReportWriter::connection` (fast, id written) against the
/// serde line writer (`typed_line`, what `connection` called before), and
/// through `connection_line` (placeholder id) against its serde original.
/// The fast writers are reused across calls, as in a run, so their
/// timestamp cache carries over from record to record.
struct Checker {
    fast: Vec<ReportWriter<Vec<u8>>>,
    /// What a worker thread reuses for `connection_line`.
    line_json: ConnectionJson,
    checked: usize,
}

impl Checker {
    fn new() -> Self {
        let fast = DETAILS
            .iter()
            .map(|&d| {
                let opts = WriterOptions {
                    exchanges: d,
                    ..Default::default()
                };
                ReportWriter::new(Vec::new(), Format::Ndjson, opts)
            })
            .collect();
        Checker {
            fast,
            line_json: ConnectionJson::new(),
            checked: 0,
        }
    }

    fn check(&mut self, rec: &ConnectionRecord) {
        for final_ in [rec.final_, !rec.final_] {
            let mut rec = rec.clone();
            rec.final_ = final_;
            for (i, &detail) in DETAILS.iter().enumerate() {
                let fast = fast_line(&mut self.fast[i], &rec);
                let want = serde_line(&rec, detail);
                assert_lines_eq(&fast, &want, &rec, detail);

                // Lines are appended, as a worker does, one after another.
                let mut got = b"{\"earlier\":1}\n".to_vec();
                let before = got.len();
                let at = connection_line(&mut self.line_json, &rec, detail, &mut got).unwrap();
                assert_eq!(
                    &got[..before],
                    b"{\"earlier\":1}\n",
                    "earlier lines are kept"
                );
                let got = got.split_off(before);
                let mut want = Vec::new();
                let mut copy = rec.clone();
                let want_at = connection_line_serde(&mut copy, detail, &mut want).unwrap();
                // Debug text, not `==`: NaN fields are not equal to themselves.
                assert_eq!(
                    format!("{copy:?}"),
                    format!("{rec:?}"),
                    "the serde path restores the record"
                );
                assert_lines_eq(&got, &want, &rec, detail);
                assert_eq!(at, want_at);
                self.checked += 1;
            }
        }
    }
}

/// The line `ReportWriter::connection` writes for `rec`.
fn fast_line(w: &mut ReportWriter<Vec<u8>>, rec: &ConnectionRecord) -> Vec<u8> {
    w.flush().unwrap();
    let before = w.get_mut().len();
    w.connection(rec.clone()).unwrap();
    w.flush().unwrap();
    let out = w.get_mut();
    let line = out.split_off(before);
    // Past the header line, which the first call writes.
    match before {
        0 => {
            let nl = line.iter().position(|&b| b == b'\n').unwrap();
            let (header, rest) = line.split_at(nl + 1);
            out.extend_from_slice(header);
            rest.to_vec()
        }
        _ => line,
    }
}

/// The line the serde path writes: `typed_line` is the generic line writer
/// `connection` used, after `connection`'s own detail handling.
fn serde_line(rec: &ConnectionRecord, detail: ExchangeDetail) -> Vec<u8> {
    let mut rec = rec.clone();
    match detail {
        ExchangeDetail::All => {}
        ExchangeDetail::Summary => rec.exchanges = None,
        ExchangeDetail::None => {
            rec.exchanges = None;
            rec.exchange_summary = None;
        }
    }
    let mut w = ReportWriter::new(Vec::new(), Format::Ndjson, WriterOptions::default());
    w.typed_line("connection", &rec).unwrap();
    w.flush().unwrap();
    let out = w.get_mut();
    let nl = out.iter().position(|&b| b == b'\n').unwrap();
    out.split_off(nl + 1)
}

fn assert_lines_eq(got: &[u8], want: &[u8], rec: &ConnectionRecord, detail: ExchangeDetail) {
    if got != want {
        let at = got
            .iter()
            .zip(want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        let from = at.saturating_sub(60);
        panic!(
            "lines differ at byte {at} ({detail:?}, final {}):\n fast:  {}\n serde: {}\nrecord: {rec:?}",
            rec.final_,
            String::from_utf8_lossy(got.get(from..).unwrap_or_default()),
            String::from_utf8_lossy(want.get(from..).unwrap_or_default()),
        );
    }
}

#[test]
fn every_record_of_every_testdata_capture() {
    use crate::capture::FrameSource;
    let mut paths: Vec<_> = std::fs::read_dir("testdata")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.to_string_lossy();
            p.is_file()
                && [".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz"]
                    .iter()
                    .any(|ext| n.ends_with(ext))
        })
        .collect();
    paths.sort();
    assert!(paths.len() > 20, "captures found: {}", paths.len());
    let mut checker = Checker::new();
    let mut records = 0;
    for path in &paths {
        let mut reader = crate::capture::open(path.to_str().unwrap()).unwrap();
        let mut an = crate::Analyzer::new(crate::Config::default());
        let mut recs = Vec::new();
        while let Ok(Some(frame)) = reader.next_frame() {
            an.process(&frame);
            while let Some(r) = an.next_record() {
                recs.push(r);
            }
            // Interim records too (live capture's `--idle-report`).
            recs.extend(an.interim_records(std::time::Duration::from_millis(1)));
        }
        an.end_of_capture();
        while let Some(r) = an.next_record() {
            recs.push(r);
        }
        for r in &recs {
            checker.check(r);
        }
        records += recs.len();
    }
    assert!(records > 50, "records checked: {records}");
}

/// A record with every `Option` set and every list non-empty, with strings
/// that need escaping: serde writes every field of the model, so a field
/// the fast writer misses or misorders fails here.
fn full_record() -> ConnectionRecord {
    let ts = |n: i64| Timestamp::from_nanos(1_795_000_000_123_456_789 + n * 1_000_017);
    let stats = Stats {
        min: 0.001,
        median: 1.5,
        max: 12345.678901,
    };
    let side = |p: u64| KeepaliveSide {
        probes: p,
        acks: p + 1,
        unanswered: p + 2,
        first_after_idle_ms: Some(7200000.0),
        interval_ms: Some(stats),
        ended_in_rst: true,
    };
    let exchange = ExchangeRecord {
        method: Some("GET".into()),
        uri: Some("/a\"b\\c\u{1}\n\té€😀".into()),
        status: Some(200),
        request_version: Some("1.1".into()),
        response_version: Some("1.0".into()),
        request_first: Some(ts(1)),
        request_last: Some(ts(2)),
        response_first: Some(ts(3)),
        response_last: Some(ts(4)),
        wait_ms: Some(0.2),
        duration_ms: Some(1.0),
        hol_wait_ms: 0.5,
        request_body_bytes: 1,
        response_body_bytes: u64::MAX,
        framing: Framing::ContentLength,
        request_framing: Framing::Chunked,
        connection: ConnectionHeaders {
            request: vec!["keep-alive".into(), "upgrade".into()],
            response: vec!["close".into()],
        },
        keep_alive: KeepAliveRecord {
            timeout: Some(5),
            max: Some(100),
        },
        persistent: true,
        pipelined: true,
        expect_continue: true,
        interim_responses: 2,
        missing_bytes: 3,
        request_after_server_fin: true,
        request_after_close: true,
        response_incomplete: true,
        lost: true,
    };
    ConnectionRecord {
        id: 42,
        client: EndpointRecord {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port: 51234,
        },
        server: EndpointRecord {
            ip: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            port: 443,
        },
        vlan: Some(100),
        tunnel_id: Some(u32::MAX),
        start: ts(0),
        end: ts(5000),
        duration_ms: 5000.085,
        mid_stream: true,
        direction_by: DirectionBy::SynAck,
        port_reuse: true,
        handshake: HandshakeRecord {
            syn: Some(ts(0)),
            syn_ack: Some(ts(1)),
            ack: Some(ts(2)),
            rtt_ms: Some(0.22),
            server_rtt_ms: Some(0.02),
            client_rtt_ms: Some(0.2),
        },
        packets: PerDirection {
            to_server: 5,
            to_client: 3,
        },
        bytes: PerDirection {
            to_server: 143,
            to_client: 267,
        },
        stream_bytes: PerDirection {
            to_server: 140,
            to_client: 260,
        },
        close: CloseRecord {
            initiator: Sides::Both,
            by: CloseBy::Rst,
            time_wait: Sides::Client,
            at: Some(ts(4999)),
            reason: CloseReason::KeepaliveRace,
            requested_by: Sides::Server,
            idle_before_ms: Some(4000.5),
            simultaneous: true,
            half_close: true,
        },
        end_state: EndState::Closing,
        tcp_keepalive: TcpKeepaliveRecord {
            client: side(1),
            server: side(10),
        },
        tcp_idle_max_ms: 4000.5,
        anomalies: AnomaliesRecord {
            retransmissions: 1,
            out_of_order: 2,
            overlap_conflicts: 3,
            gaps: 4,
            gap_bytes: 5,
            zero_window_probes: 6,
        },
        community_id: "1:G6gPAQtqkOa/rSl3cr2ZTQCsFqQ=".into(),
        protocol: Protocol::Http1,
        requests: 2,
        responses: 1,
        exchanges: Some(vec![exchange.clone(), ExchangeRecord::default()]),
        exchange_summary: Some(ExchangeSummary {
            kept: 2,
            dropped: 1,
            status_classes: BTreeMap::from([("2xx".into(), 1), ("\"odd\\".into(), 2)]),
            wait_ms: Some(stats),
            duration_ms: Some(stats),
            request_body_bytes: 9,
            response_body_bytes: 10,
        }),
        idle_gaps_ms: vec![1.0, 2.5, 0.000001, 1e300],
        idle_max_ms: Some(2.5),
        pipeline_depth_max: 3,
        unanswered_requests: 1,
        unmatched_responses: 2,
        http_errors: HttpErrorsRecord {
            head_too_large: 1,
            too_many_headers: 2,
            malformed_head: 3,
            bad_content_length: 4,
            bad_chunk: 5,
            resync_skipped_bytes: 6,
            out_of_sync: 7,
            pending_overflow: 8,
        },
        upgrade: Some("websocket".into()),
        lost_requests: 1,
        flags: Flag::ALL.to_vec(),
        final_: false,
    }
}

#[test]
fn a_record_with_every_field_set() {
    let rec = full_record();
    let mut checker = Checker::new();
    checker.check(&rec);
    // Every key serde writes appears in the fast line, in serde's order
    // (checked above byte for byte); guard that the record really does
    // populate the nested objects the schema has.
    let line = serde_line(&rec, ExchangeDetail::All);
    let text = String::from_utf8(line).unwrap();
    for key in [
        "\"exchanges\":[{",
        "\"exchange_summary\":{",
        "\"interval_ms\":{",
        "\"upgrade\":\"websocket\"",
        "\"vlan\":100",
        "\"status\":200",
    ] {
        assert!(text.contains(key), "{key} in {text}");
    }
}

#[test]
fn a_refined_reason_spliced_into_the_line_equals_the_refined_record_line() {
    // What the `--threads` merge does with a digested record that
    // `Aggregator::refine` turned into `max_requests`: the worker's line,
    // written before the refinement, with the reason replaced as it goes
    // out, must be the line of the refined record.
    let mut rec = full_record();
    rec.close.reason = CloseReason::ConnectionCloseRequested;
    let mut json = ConnectionJson::new();
    let mut buf = b"an earlier line\n".to_vec();
    let start = buf.len();
    let id_at = connection_line(&mut json, &rec, ExchangeDetail::All, &mut buf).unwrap();
    let at = crate::report::refinable_at(&json, &buf, start).expect("the reason's position");
    let write = |refined_at| {
        let mut w = ReportWriter::new(Vec::new(), Format::Ndjson, WriterOptions::default());
        w.connection_lines_raw(&[crate::report::RawLine {
            line: &buf[start..],
            id_at,
            id: rec.id,
            refined_at,
        }])
        .unwrap();
        w.flush().unwrap();
        std::mem::take(w.get_mut())
    };
    let mut refined = rec.clone();
    refined.close.reason = CloseReason::MaxRequests;
    let mut want = ReportWriter::new(Vec::new(), Format::Ndjson, WriterOptions::default());
    want.connection(refined).unwrap();
    want.flush().unwrap();
    assert_eq!(write(Some(at)), *want.get_mut());
    let mut unrefined = ReportWriter::new(Vec::new(), Format::Ndjson, WriterOptions::default());
    unrefined.connection(rec.clone()).unwrap();
    unrefined.flush().unwrap();
    assert_eq!(write(None), *unrefined.get_mut());
    // Any other reason is not refinable.
    rec.close.reason = CloseReason::MaxRequests;
    let start = buf.len();
    connection_line(&mut json, &rec, ExchangeDetail::All, &mut buf).unwrap();
    assert_eq!(crate::report::refinable_at(&json, &buf, start), None);
}

/// SplitMix64: a record per seed, reproducible from the seed alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
    fn opt<T>(&mut self, f: impl FnOnce(&mut Rng) -> T) -> Option<T> {
        if self.below(4) == 0 {
            None
        } else {
            Some(f(self))
        }
    }
    fn u64(&mut self) -> u64 {
        match self.below(6) {
            0 => 0,
            1 => u64::MAX,
            2 => self.below(1000),
            3 => self.next() >> self.below(64),
            4 => 10u64.saturating_pow(self.below(20) as u32),
            _ => self.next(),
        }
    }
    /// Millisecond values as the report builds them, and every other kind
    /// of double: negative, zero of both signs, tiny, huge, non-finite.
    fn f64(&mut self) -> f64 {
        match self.below(12) {
            0..=4 => (self.next() >> self.below(64)) as f64 / 1e6,
            5 => (self.below(1_000_000) * 10u64.pow(self.below(6) as u32)) as f64 / 1e6,
            6 => f64::from_bits(self.next()),
            7 => self.pick(&[
                0.0,
                -0.0,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MAX,
                f64::MIN,
                f64::MIN_POSITIVE,
                f64::EPSILON,
                1e-5,
                9.999999e-6,
                1e-6,
                1e9,
                999_999_999.999999,
                1e15,
                1e16,
                9_007_199_254_740_993.0,
                0.1 + 0.2,
            ]),
            8 => -((self.next() >> self.below(64)) as f64 / 1e6),
            9 => (self.next() >> 11) as f64 / (self.next() >> 11).max(1) as f64,
            10 => {
                // Stats medians: halves rounded to the nanosecond.
                let a = (self.next() >> self.below(64)) as f64 / 1e6;
                let b = (self.next() >> self.below(64)) as f64 / 1e6;
                ((a + b) / 2.0 * 1e6).round() / 1e6
            }
            _ => self.below(100_000) as f64,
        }
    }
    fn ts(&mut self, base: i64) -> Timestamp {
        Timestamp::from_nanos(match self.below(8) {
            0 => self.pick(&[i64::MIN, i64::MAX, 0, -1, 1, -1_000_000_000, 999_999_999]),
            1 => self.next() as i64,
            // Near the record's base: same second or the next few, so the
            // timestamp cache is hit and refreshed.
            _ => base.saturating_add(self.below(3_000_000_000) as i64),
        })
    }
    fn string(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "0",
            " ",
            "/",
            "\"",
            "\\",
            "\u{0}",
            "\u{1}",
            "\u{8}",
            "\t",
            "\n",
            "\u{b}",
            "\u{c}",
            "\r",
            "\u{1f}",
            "\u{7f}",
            "é",
            "€",
            "😀",
            "\u{80}",
            "\u{2028}",
            "\u{feff}",
            "GET",
            "/index.html?q=1&r=\"x\"",
            "keep-alive",
        ];
        let n = self.below(12);
        (0..n).map(|_| self.pick(PIECES)).collect()
    }
    fn stats(&mut self) -> Stats {
        Stats {
            min: self.f64(),
            median: self.f64(),
            max: self.f64(),
        }
    }
    fn ip(&mut self) -> IpAddr {
        match self.below(4) {
            0 => IpAddr::V6(Ipv6Addr::from(
                u128::from(self.next()) << 64 | u128::from(self.next()),
            )),
            1 => IpAddr::V6(self.pick(&[
                Ipv6Addr::UNSPECIFIED,
                Ipv6Addr::LOCALHOST,
                Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001),
                Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1),
            ])),
            2 => IpAddr::V4(self.pick(&[Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST])),
            _ => IpAddr::V4(Ipv4Addr::from(self.next() as u32)),
        }
    }
    fn sides(&mut self) -> Sides {
        self.pick(&[Sides::None, Sides::Client, Sides::Server, Sides::Both])
    }
    fn framing(&mut self) -> Framing {
        self.pick(&[
            Framing::None,
            Framing::ContentLength,
            Framing::Chunked,
            Framing::Close,
        ])
    }
    /// Owned or borrowed, as the record holds either.
    fn cow(&mut self) -> Cow<'static, str> {
        const STATIC: &[&str] = &["GET", "1.1", "close", "keep-alive", "2xx", "\"\\\u{1}"];
        if self.bool() {
            Cow::Borrowed(self.pick(STATIC))
        } else {
            Cow::Owned(self.string())
        }
    }
    fn cows(&mut self) -> Vec<Cow<'static, str>> {
        (0..self.below(4)).map(|_| self.cow()).collect()
    }
    fn keepalive_side(&mut self) -> KeepaliveSide {
        KeepaliveSide {
            probes: self.u64(),
            acks: self.u64(),
            unanswered: self.u64(),
            first_after_idle_ms: self.opt(Rng::f64),
            interval_ms: self.opt(Rng::stats),
            ended_in_rst: self.bool(),
        }
    }
    fn exchange(&mut self, base: i64) -> ExchangeRecord {
        ExchangeRecord {
            method: self.opt(Rng::cow),
            uri: self.opt(Rng::string),
            status: self.opt(|r| r.next() as u16),
            request_version: self.opt(Rng::cow),
            response_version: self.opt(Rng::cow),
            request_first: self.opt(|r| r.ts(base)),
            request_last: self.opt(|r| r.ts(base)),
            response_first: self.opt(|r| r.ts(base)),
            response_last: self.opt(|r| r.ts(base)),
            wait_ms: self.opt(Rng::f64),
            duration_ms: self.opt(Rng::f64),
            hol_wait_ms: self.f64(),
            request_body_bytes: self.u64(),
            response_body_bytes: self.u64(),
            framing: self.framing(),
            request_framing: self.framing(),
            connection: ConnectionHeaders {
                request: self.cows(),
                response: self.cows(),
            },
            keep_alive: KeepAliveRecord {
                timeout: self.opt(Rng::u64),
                max: self.opt(Rng::u64),
            },
            persistent: self.bool(),
            pipelined: self.bool(),
            expect_continue: self.bool(),
            interim_responses: self.next() as u32 >> self.below(32),
            missing_bytes: self.u64(),
            request_after_server_fin: self.bool(),
            request_after_close: self.bool(),
            response_incomplete: self.bool(),
            lost: self.bool(),
        }
    }
    fn record(&mut self) -> ConnectionRecord {
        let base = self.ts(1_795_000_000_000_000_000).nanos();
        ConnectionRecord {
            id: self.u64(),
            client: EndpointRecord {
                ip: self.ip(),
                port: self.next() as u16,
            },
            server: EndpointRecord {
                ip: self.ip(),
                port: self.next() as u16,
            },
            vlan: self.opt(|r| r.next() as u16),
            tunnel_id: self.opt(|r| r.next() as u32),
            start: self.ts(base),
            end: self.ts(base),
            duration_ms: self.f64(),
            mid_stream: self.bool(),
            direction_by: self.pick(&[
                DirectionBy::Syn,
                DirectionBy::SynAck,
                DirectionBy::Payload,
                DirectionBy::Port,
            ]),
            port_reuse: self.bool(),
            handshake: HandshakeRecord {
                syn: self.opt(|r| r.ts(base)),
                syn_ack: self.opt(|r| r.ts(base)),
                ack: self.opt(|r| r.ts(base)),
                rtt_ms: self.opt(Rng::f64),
                server_rtt_ms: self.opt(Rng::f64),
                client_rtt_ms: self.opt(Rng::f64),
            },
            packets: PerDirection {
                to_server: self.u64(),
                to_client: self.u64(),
            },
            bytes: PerDirection {
                to_server: self.u64(),
                to_client: self.u64(),
            },
            stream_bytes: PerDirection {
                to_server: self.u64(),
                to_client: self.u64(),
            },
            close: CloseRecord {
                initiator: self.sides(),
                by: self.pick(&[CloseBy::Fin, CloseBy::Rst, CloseBy::None]),
                time_wait: self.sides(),
                at: self.opt(|r| r.ts(base)),
                reason: self.pick(&CloseReason::ALL),
                requested_by: self.sides(),
                idle_before_ms: self.opt(Rng::f64),
                simultaneous: self.bool(),
                half_close: self.bool(),
            },
            end_state: self.pick(&[
                EndState::Open,
                EndState::Closing,
                EndState::Closed,
                EndState::Reset,
                EndState::Evicted,
            ]),
            tcp_keepalive: TcpKeepaliveRecord {
                client: self.keepalive_side(),
                server: self.keepalive_side(),
            },
            tcp_idle_max_ms: self.f64(),
            anomalies: AnomaliesRecord {
                retransmissions: self.u64(),
                out_of_order: self.u64(),
                overlap_conflicts: self.u64(),
                gaps: self.u64(),
                gap_bytes: self.u64(),
                zero_window_probes: self.u64(),
            },
            community_id: self.string(),
            protocol: self.pick(&[
                Protocol::None,
                Protocol::Http1,
                Protocol::Tls,
                Protocol::Http2,
                Protocol::Other,
            ]),
            requests: self.u64(),
            responses: self.u64(),
            exchanges: self.opt(|r| (0..r.below(4)).map(|_| r.exchange(base)).collect()),
            exchange_summary: self.opt(|r| ExchangeSummary {
                kept: r.u64(),
                dropped: r.u64(),
                status_classes: (0..r.below(4)).map(|_| (r.cow(), r.u64())).collect(),
                wait_ms: r.opt(Rng::stats),
                duration_ms: r.opt(Rng::stats),
                request_body_bytes: r.u64(),
                response_body_bytes: r.u64(),
            }),
            idle_gaps_ms: (0..self.below(5)).map(|_| self.f64()).collect(),
            idle_max_ms: self.opt(Rng::f64),
            pipeline_depth_max: self.next() as u32 >> self.below(32),
            unanswered_requests: self.u64(),
            unmatched_responses: self.u64(),
            http_errors: HttpErrorsRecord {
                head_too_large: self.u64(),
                too_many_headers: self.u64(),
                malformed_head: self.u64(),
                bad_content_length: self.u64(),
                bad_chunk: self.u64(),
                resync_skipped_bytes: self.u64(),
                out_of_sync: self.u64(),
                pending_overflow: self.u64(),
            },
            upgrade: self.opt(Rng::string),
            lost_requests: self.u64(),
            flags: (0..self.below(6)).map(|_| self.pick(&Flag::ALL)).collect(),
            final_: self.bool(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_records_serialize_like_serde(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let mut checker = Checker::new();
        for _ in 0..4 {
            checker.check(&rng.record());
        }
    }

    #[test]
    fn strings_escape_like_serde(s in any::<String>()) {
        let mut got = Vec::new();
        put_str(&mut got, &s);
        prop_assert_eq!(got, serde_json::to_vec(&s).unwrap());
    }

    #[test]
    fn doubles_print_like_serde(bits in any::<u64>(), n in any::<u64>(), shift in 0u32..64) {
        for v in [f64::from_bits(bits), (n >> shift) as f64 / 1e6] {
            let mut got = Vec::new();
            put_f64(&mut got, v);
            prop_assert_eq!(got, serde_json::to_vec(&v).unwrap(), "{:?}", v);
        }
    }
}

/// The fast path of [`put_f64`] over dense ranges of nanosecond counts,
/// where most report values are, and around the edges of the fast range.
#[test]
fn millisecond_values_print_like_serde() {
    let check = |v: f64| {
        let mut got = Vec::new();
        put_f64(&mut got, v);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            serde_json::to_string(&v).unwrap(),
            "{v:?}"
        );
    };
    for n in 0..200_000u64 {
        check(n as f64 / 1e6);
    }
    let mut rng = Rng(7);
    for _ in 0..200_000 {
        let n = rng.next() >> rng.below(64);
        check(n as f64 / 1e6);
        check(((n as f64 / 1e6 + 0.0005) * 1e6).round() / 1e6);
    }
    for e in 0..20 {
        let p = 10u64.pow(e);
        for n in [p - 1, p, p + 1, 999_999_999_999_999, 1_000_000_000_000_001] {
            check(n as f64 / 1e6);
            check(n as f64);
        }
    }
}

#[test]
fn control_characters_escape_like_serde() {
    for b in 0u8..=0x7f {
        let s = String::from(char::from(b));
        let mut got = Vec::new();
        put_str(&mut got, &s);
        assert_eq!(got, serde_json::to_vec(&s).unwrap(), "byte {b:#x}");
    }
}

#[test]
fn checks_run_on_many_records() {
    let mut rng = Rng(1);
    let mut checker = Checker::new();
    for _ in 0..500 {
        checker.check(&rng.record());
    }
    assert_eq!(checker.checked, 500 * 2 * DETAILS.len());
}

#[test]
fn integers_print_like_serde() {
    let mut rng = Rng(3);
    let mut values: Vec<u64> = (0..=1000).collect();
    for e in 1..20 {
        let p = 10u64.pow(e);
        values.extend([p - 1, p, p + 1]);
    }
    values.push(u64::MAX);
    values.extend((0..100_000).map(|_| rng.next() >> rng.below(64)));
    for v in values {
        let mut got = b"x".to_vec();
        put_u64(&mut got, v);
        assert_eq!(got, format!("x{v}").into_bytes());
    }
}

#[test]
fn escaping_detects_every_position_in_a_word() {
    // The word-at-a-time test must see an escaped byte anywhere in the
    // string, whatever its neighbours (and bytes >= 0x80 must not hide it).
    for len in 1..20 {
        for at in 0..len {
            for special in [b'"', b'\\', 0u8, 0x1f, b'\n'] {
                for filler in [b'a', 0xc3u8] {
                    let mut bytes = vec![filler; len];
                    bytes[at] = special;
                    // Keep the text valid UTF-8: Latin-1 letters as é pairs.
                    let s: String = bytes
                        .iter()
                        .map(|&b| if b == 0xc3 { 'é' } else { char::from(b) })
                        .collect();
                    let mut got = Vec::new();
                    put_str(&mut got, &s);
                    assert_eq!(got, serde_json::to_vec(&s).unwrap(), "{s:?}");
                }
            }
        }
    }
}

/// Not a check: times both paths over the records of a real capture,
/// record by record as the analyzer yields them, in alternating order so
/// neither always finds the record in cache (`cargo test --release --lib
/// serialization_time -- --ignored --nocapture` with
/// `KEEPWATCH_BENCH_PCAP=/tmp/keepwatch-bench/short.pcap`). The fast side
/// is what `ReportWriter::connection` does minus dropping the record.
#[test]
#[ignore]
fn serialization_time() {
    use crate::capture::FrameSource;
    use std::time::{Duration, Instant};
    let Some(path) = std::env::var_os("KEEPWATCH_BENCH_PCAP") else {
        return;
    };
    let mut reader = crate::capture::open(path.to_str().unwrap()).unwrap();
    let mut an = crate::Analyzer::new(crate::Config::default());
    let mut json = ConnectionJson::new();
    let (mut line, mut fast) = (Vec::new(), Vec::new());
    let mut serde = ReportWriter::new(Vec::new(), Format::Ndjson, WriterOptions::default());
    serde.typed_line("header", &()).unwrap();
    serde.flush().unwrap();
    let (mut t_fast, mut t_serde, mut bytes, mut n) = (Duration::ZERO, Duration::ZERO, 0, 0);
    let mut each = |rec: ConnectionRecord| {
        serde.get_mut().clear();
        fast.clear();
        let mut run_fast = || {
            let t = Instant::now();
            line.clear();
            json.write(&mut line, &rec, Some(rec.id), ExchangeDetail::All);
            line.push(b'\n');
            fast.extend_from_slice(&line);
            t_fast += t.elapsed();
        };
        if n % 2 == 0 {
            run_fast();
        }
        let t = Instant::now();
        serde.typed_line("connection", &rec).unwrap();
        serde.flush().unwrap();
        t_serde += t.elapsed();
        if n % 2 == 1 {
            run_fast();
        }
        bytes += fast.len();
        n += 1;
        assert_eq!(&fast, serde.get_mut());
    };
    while let Ok(Some(frame)) = reader.next_frame() {
        an.process(&frame);
        while let Some(r) = an.next_record() {
            each(r);
        }
    }
    an.end_of_capture();
    while let Some(r) = an.next_record() {
        each(r);
    }
    eprintln!("{n} records, {bytes} bytes: serde {t_serde:?}, hand-written {t_fast:?}");
}
