//! HTTP layer: limits, gaps, resynchronization, protocol classification
//! and bad input. Every script is also run split at every byte (large
//! inputs at sampled positions, said where).

mod http_support;

use http_support::*;
use keepwatch::http::{HttpConfig, HttpConn, HttpErrors, Protocol};
use keepwatch::tcp::StreamHandler;
use std::sync::Arc;

fn small_heads() -> HttpConfig {
    HttpConfig {
        max_head_bytes: 256,
        ..HttpConfig::default()
    }
}

#[test]
fn head_over_the_size_limit_is_counted_and_resynced() {
    let cfg = small_heads();
    let big = format!("GET /big HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "p".repeat(300));
    let f = check_cfg(
        &cfg,
        &[
            c(0, format!("{big}GET /next HTTP/1.1\r\n\r\n")),
            s(
                1,
                "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n",
            ),
            s(2, OK5),
        ],
    );
    assert_eq!(f.errors.head_too_large, 1);
    assert_eq!(f.errors.out_of_sync, 1);
    // The 256 head bytes kept, then the rest of the X-Pad line and the
    // empty line skipped while seeking.
    assert_eq!(f.errors.resync_skipped_bytes, big.len() as u64);
    assert_eq!(f.requests, 2);
    let e0 = &f.exchanges[0];
    assert!(e0.request_incomplete && e0.method.is_none());
    assert_eq!(
        e0.status,
        Some(431),
        "the 431 pairs with the oversized request"
    );
    assert_eq!(f.exchanges[1].uri.as_deref(), Some("/next"));
    assert_eq!(f.exchanges[1].status, Some(200));
}

#[test]
fn too_many_headers() {
    let cfg = HttpConfig {
        max_headers: 4,
        ..HttpConfig::default()
    };
    let heads: String = (0..5).map(|i| format!("H{i}: v\r\n")).collect();
    let f = check_cfg(
        &cfg,
        &[
            c(0, GET),
            s(
                1,
                format!("HTTP/1.1 200 OK\r\n{heads}Content-Length: 1\r\n\r\nx"),
            ),
            c(2, GET),
            s(3, OK5),
        ],
    );
    assert_eq!(f.errors.too_many_headers, 1);
    assert_eq!(f.errors.out_of_sync, 1);
    assert!(f.exchanges[0].response_incomplete);
    assert_eq!(f.exchanges[1].response_body_bytes, 5);
}

#[test]
fn one_megabyte_header_stays_bounded() {
    let cfg = HttpConfig::default();
    let big = format!(
        "GET /huge HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let events = [
        c(0, big.as_bytes()),
        c(1, GET),
        s(2, "HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\n"),
        s(3, OK5),
    ];
    let expect = |f: &keepwatch::http::HttpFacts| {
        assert_eq!(f.errors.head_too_large, 1);
        assert_eq!(f.errors.resync_skipped_bytes, big.len() as u64);
        assert_eq!(f.exchanges.len(), 2);
        assert_eq!(f.exchanges[0].status, Some(431));
        assert_eq!(f.exchanges[1].status, Some(200));
    };
    let (whole, caps) = run_with(&cfg, &events, Cut::Whole);
    assert_bounded(&cfg, caps);
    expect(&whole);
    // Splitting 1 MB at every byte is a trillion steps; split around the
    // limit and at a stride instead, and feed it in 1-byte pieces.
    let limit = cfg.max_head_bytes;
    let mut cuts: Vec<usize> = (0..big.len()).step_by(4093).collect();
    cuts.extend(limit.saturating_sub(4)..limit + 4);
    cuts.extend(big.len() - 8..=big.len());
    for at in cuts {
        let (f, caps) = run_with(&cfg, &events, Cut::Split { event: 0, at });
        assert_bounded(&cfg, caps);
        assert_eq!(f, whole, "split at {at}");
    }
    let (f, caps) = run_with(&cfg, &events, Cut::Bytes);
    assert_bounded(&cfg, caps);
    assert_eq!(f, whole);
}

#[test]
fn hundred_kilobyte_request_line() {
    let cfg = HttpConfig::default();
    let line = format!("GET /{} HTTP/1.1\r\n\r\n", "u".repeat(100 * 1024));
    for first in [true, false] {
        // As the first request of the stream (found while seeking) and
        // after a normal exchange (in the head parser).
        let mut events = Vec::new();
        if !first {
            events.push(c(0, GET));
            events.push(s(1, OK5));
        }
        events.push(c(2, line.as_bytes()));
        events.push(c(3, GET));
        events.push(s(
            4,
            "HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\n\r\n",
        ));
        events.push(s(5, OK5));
        let (whole, caps) = run_with(&cfg, &events, Cut::Whole);
        assert_bounded(&cfg, caps);
        assert_eq!(whole.protocol, Protocol::Http1);
        assert_eq!(whole.errors.head_too_large, 1, "first={first}");
        assert_eq!(whole.errors.resync_skipped_bytes, line.len() as u64);
        assert_eq!(whole.pickup_skipped_bytes, 0);
        let st: Vec<_> = whole.exchanges.iter().map(|e| e.status).collect();
        let mut want = vec![Some(414), Some(200)];
        if !first {
            want.insert(0, Some(200));
        }
        assert_eq!(st, want);
        let i = events.len() - 4;
        let mut cuts: Vec<usize> = (0..line.len()).step_by(1021).collect();
        cuts.extend(cfg.max_head_bytes - 4..cfg.max_head_bytes + 4);
        for at in cuts {
            let (f, _) = run_with(&cfg, &events, Cut::Split { event: i, at });
            assert_eq!(f, whole, "first={first} split at {at}");
        }
        let (f, _) = run_with(&cfg, &events, Cut::Bytes);
        assert_eq!(f, whole);
    }
}

#[test]
fn absurd_chunk_size_is_a_bad_chunk() {
    let f = check(&[
        c(0, GET),
        s(
            1,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nxx\r\n",
        ),
        c(2, GET),
        s(3, OK5),
    ]);
    assert_eq!(f.errors.bad_chunk, 1);
    assert_eq!(f.errors.out_of_sync, 1);
    assert!(f.exchanges[0].response_incomplete);
    assert_eq!(f.exchanges[1].response_body_bytes, 5);
}

#[test]
fn gap_inside_a_content_length_body_is_survivable() {
    let f = check(&[
        c(0, GET),
        s(
            1,
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
        ),
        gap(ToClient, 2, 80),
        s(3, "0123456789"),
        c(4, GET),
        s(5, OK5),
    ]);
    assert_eq!(f.errors, HttpErrors::default());
    let e = &f.exchanges[0];
    assert_eq!(e.missing_bytes, 80);
    assert_eq!(e.response_body_bytes, 20);
    assert_eq!(e.response_last, Some(t(3)));
    assert!(!e.response_incomplete);
    assert_eq!(f.exchanges[1].response_body_bytes, 5);
}

#[test]
fn gap_ending_a_content_length_body_then_resync() {
    // The gap covers the body's end and the start of the next response.
    let f = check(&[
        c(0, GET),
        c(1, GET),
        s(2, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234"),
        gap(ToClient, 3, 20),
        s(4, format!("Length: 5\r\n\r\nhello{OK5}")),
        c(5, GET),
    ]);
    let e = &f.exchanges[0];
    assert_eq!((e.missing_bytes, e.response_last), (5, Some(t(3))));
    assert_eq!(f.errors.out_of_sync, 1);
    // "Length: 5\r\n", "\r\n" and "hello" are skipped...
    assert_eq!(f.errors.resync_skipped_bytes, 11 + 2 + 5);
    // ... and the response found is paired with the oldest waiting request
    // (the one whose response the gap swallowed is not guessed).
    assert_eq!(f.responses, 2);
    assert_eq!(f.unanswered_requests, 1);
}

#[test]
fn gap_inside_a_head_loses_sync_and_resyncs() {
    let f = check(&[
        c(0, "GET /first HTTP/1.1\r\nHo"),
        gap(ToServer, 1, 10),
        c(2, "ader: x\r\n\r\nGET /second HTTP/1.1\r\n\r\n"),
        s(3, format!("{OK5}{OK5}")),
    ]);
    assert_eq!(f.errors.out_of_sync, 1);
    // The 23 head bytes seen, then "ader: x\r\n" and "\r\n".
    assert_eq!(f.errors.resync_skipped_bytes, 23 + 9 + 2);
    assert_eq!(f.requests, 2);
    assert!(f.exchanges[0].request_incomplete);
    assert_eq!(f.exchanges[0].status, Some(200));
    assert_eq!(f.exchanges[1].uri.as_deref(), Some("/second"));
    assert_eq!(f.exchanges[1].status, Some(200));
}

#[test]
fn gap_at_a_message_boundary_resyncs_at_once() {
    let f = check(&[
        c(0, GET),
        s(1, OK5),
        gap(ToClient, 2, 40),
        c(3, GET),
        s(4, OK5),
    ]);
    assert_eq!(f.errors.out_of_sync, 1);
    assert_eq!(f.errors.resync_skipped_bytes, 0);
    assert_eq!(f.exchanges.len(), 2);
    assert_eq!(f.exchanges[1].status, Some(200));
}

#[test]
fn gaps_in_chunked_and_close_delimited_bodies() {
    // Inside one chunk's data: survivable.
    let f = check(&[
        c(0, GET),
        s(
            1,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n0123",
        ),
        gap(ToClient, 2, 20),
        s(3, "01234567\r\n0\r\n\r\n"),
    ]);
    assert_eq!(f.errors, HttpErrors::default());
    assert_eq!(f.exchanges[0].missing_bytes, 20);
    assert_eq!(f.exchanges[0].response_body_bytes, 12);
    assert!(!f.exchanges[0].response_incomplete);
    // Past the chunk: out of sync, the response is lost.
    let f = check(&[
        c(0, GET),
        s(
            1,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01",
        ),
        gap(ToClient, 2, 20),
        s(3, "xx\r\n0\r\n\r\n"),
    ]);
    assert_eq!(f.errors.out_of_sync, 1);
    assert!(f.exchanges[0].response_incomplete);
    // Close-delimited: survivable.
    let f = check(&[
        c(0, "GET / HTTP/1.0\r\n\r\n"),
        s(1, "HTTP/1.0 200 OK\r\n\r\nabc"),
        gap(ToClient, 2, 1000),
        s(3, "def"),
        fin(ToClient, 4),
    ]);
    assert_eq!(f.errors, HttpErrors::default());
    assert_eq!(f.exchanges[0].missing_bytes, 1000);
    assert_eq!(f.exchanges[0].response_body_bytes, 6);
    assert!(!f.exchanges[0].response_incomplete);
}

#[test]
fn tls_and_http2_are_classified_and_not_parsed() {
    let f = check(&[
        c(
            0,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03GET / HTTP/1.1\r\n\r\n".as_slice(),
        ),
        s(
            1,
            b"\x16\x03\x03\x00\x7a\x02HTTP/1.1 200 OK\r\n\r\n".as_slice(),
        ),
    ]);
    assert_eq!(f.protocol, Protocol::Tls);
    assert_eq!((f.requests, f.responses), (0, 0));
    assert_eq!(f.errors, HttpErrors::default());

    let f = check(&[
        c(
            0,
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00".as_slice(),
        ),
        s(1, b"\x00\x00\x06\x04\x00\x00\x00\x00\x00".as_slice()),
    ]);
    assert_eq!(f.protocol, Protocol::Http2);
    assert_eq!(f.errors, HttpErrors::default());
    assert_eq!(f.pickup_skipped_bytes, 0);

    // The server speaks first with a TLS record (the client's first bytes
    // lost): still TLS.
    let f = check(&[s(0, b"\x16\x03\x03\x00\x10abcdefgh".as_slice())]);
    assert_eq!(f.protocol, Protocol::Tls);
}

#[test]
fn other_protocols_raise_no_errors() {
    let f = check(&[
        s(0, "SSH-2.0-OpenSSH_9.6\r\n"),
        c(1, "SSH-2.0-Go\r\n"),
        c(2, b"\x00\x00\x05\xdc\x06\x14binary\n\n\r\n\x00".as_slice()),
    ]);
    assert_eq!(f.protocol, Protocol::Other);
    assert_eq!(f.errors, HttpErrors::default());
    assert_eq!(f.exchanges.len(), 0);

    // Nothing at all: no protocol.
    let f = check(&[fin(ToClient, 0)]);
    assert_eq!(f.protocol, Protocol::None);
}

#[test]
fn pickup_gives_up_on_long_non_http_streams() {
    let cfg = HttpConfig {
        max_pickup_scan_bytes: 100,
        ..HttpConfig::default()
    };
    let f = check_cfg(
        &cfg,
        &[
            c(0, "x\n".repeat(60)),
            c(1, "GET / HTTP/1.1\r\n\r\n"),
            s(2, "y\n".repeat(10)),
        ],
    );
    assert_eq!(f.protocol, Protocol::Other);
    assert_eq!(f.requests, 0);
}

#[test]
fn binary_garbage_after_http_is_counted() {
    let garbage: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let f = check(&[
        c(0, GET),
        s(1, OK5),
        c(2, garbage.as_slice()),
        s(3, garbage.as_slice()),
    ]);
    assert_eq!(f.protocol, Protocol::Http1);
    let e = &f.errors;
    assert!(e.malformed_head + e.head_too_large >= 2, "{e:#?}");
    assert!(e.out_of_sync >= 2);
}

#[test]
fn truncated_heads_at_the_end() {
    let f = check(&[c(0, GET), s(1, "HTTP/1.1 200 OK\r\nContent-")]);
    assert_eq!(f.exchanges.len(), 1);
    assert!(f.exchanges[0].response_incomplete);
    assert_eq!(f.exchanges[0].response_first, Some(t(1)));
    let f = check(&[c(0, "GET /x HTTP/1.1\r\nHost")]);
    assert_eq!(f.requests, 1);
    assert_eq!(f.unanswered_requests, 1);
    assert!(f.exchanges[0].request_incomplete);
}

#[test]
fn kept_exchanges_and_pending_queue_are_bounded() {
    let cfg = HttpConfig {
        max_exchanges_kept: 3,
        max_pending_requests: 4,
        ..HttpConfig::default()
    };
    let mut events = Vec::new();
    for i in 0..6 {
        events.push(c(i * 2, GET));
        events.push(s(i * 2 + 1, OK5));
    }
    let f = check_cfg(&cfg, &events);
    assert_eq!(f.exchanges.len(), 3);
    assert_eq!(f.exchanges_dropped, 3);
    assert_eq!(f.idle_gaps_ns.len(), 3);
    assert_eq!(f.idle_max_ns, Some(ms(1)));

    let f = check_cfg(&cfg, &[c(0, GET.repeat(10))]);
    assert_eq!(f.requests, 10);
    assert_eq!(f.errors.pending_overflow, 6);
    assert_eq!(f.unanswered_requests, 3 + 1);
    assert_eq!(f.exchanges_dropped, 1);
}

/// A deterministic xorshift generator, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_mutations_never_panic_and_stay_bounded() {
    let configs = [
        HttpConfig {
            max_head_bytes: 128,
            max_headers: 8,
            ..HttpConfig::default()
        },
        // Degenerate limits must not panic or hang either.
        HttpConfig {
            max_head_bytes: 0,
            max_headers: 0,
            max_uri_len: 0,
            max_exchanges_kept: 0,
            max_pending_requests: 0,
            max_connection_tokens: 0,
            max_token_len: 0,
            max_chunk_line_bytes: 0,
            max_pickup_scan_bytes: 0,
            ..HttpConfig::default()
        },
        HttpConfig {
            max_head_bytes: 1,
            max_pending_requests: 1,
            max_exchanges_kept: 1,
            ..HttpConfig::default()
        },
    ];
    for cfg in &configs {
        random_rounds(cfg);
    }
}

fn random_rounds(cfg: &HttpConfig) {
    let seeds: [&[u8]; 4] = [
        b"GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No\r\n\r\n",
        b"HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\n\r\n\x81\x00",
        b"CONNECT a:1 HTTP/1.1\r\n\r\nHEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let mut h = HttpConn::new(Arc::new(cfg.clone()));
        for step in 0..8 {
            let seed = seeds[(rng.next() % seeds.len() as u64) as usize];
            let mut bytes = seed.to_vec();
            for _ in 0..(rng.next() % 6) {
                let i = (rng.next() % bytes.len() as u64) as usize;
                bytes[i] = rng.next() as u8;
            }
            let cut = (rng.next() % (bytes.len() as u64 + 1)) as usize;
            let dir = if rng.next() % 2 == 0 {
                ToServer
            } else {
                ToClient
            };
            let ts = t(round * 10 + step);
            h.on_data(dir, ts, &bytes[..cut]);
            match rng.next() % 10 {
                0 => h.on_gap(dir, ts, rng.next() % 300),
                1 => h.on_fin(dir, ts),
                2 => h.on_rst(dir, ts),
                _ => {}
            }
            h.on_data(dir, ts, &bytes[cut..]);
            assert!(h.head_buffer_capacity(ToServer) <= cfg.max_head_bytes);
            assert!(h.head_buffer_capacity(ToClient) <= cfg.max_head_bytes);
        }
        h.on_end(t(round * 10 + 9));
        let f = h.into_facts();
        assert!(f.exchanges.len() as u64 <= f.requests + f.responses);
    }
}

#[test]
fn tls_picked_up_mid_stream() {
    let f = check(&[
        c(0, b"\x17\x03\x03\x00\x20encrypted".as_slice()),
        s(1, b"\x17\x03\x03\x01\x00more".as_slice()),
    ]);
    assert_eq!(f.protocol, Protocol::Tls);
    assert_eq!(f.errors, HttpErrors::default());
}
