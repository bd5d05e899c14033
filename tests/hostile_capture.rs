//! Hostile captures beyond the reader's own battery
//! (`tests/capture_hostile.rs`: truncation at every byte offset, bad magic,
//! zero-length files, 4 GiB records, pcapng block lengths, unknown
//! interface ids): here, timestamps that go backwards in a real capture,
//! through the whole pipeline.

mod hostile_support;

use hostile_support::analyze;
use keepwatch::report::Report;
use keepwatch::Config;

/// The records of a little-endian microsecond pcap: (offset of the record
/// header, captured length).
fn records(pcap: &[u8]) -> Vec<(usize, usize)> {
    assert_eq!(
        pcap[..4],
        0xa1b2_c3d4u32.to_le_bytes(),
        "a little-endian pcap"
    );
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let len = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push((at, len));
        at += 16 + len;
    }
    out
}

fn set_secs(pcap: &mut [u8], rec: usize, secs: u32) {
    pcap[rec..rec + 4].copy_from_slice(&secs.to_le_bytes());
}

fn secs(pcap: &[u8], rec: usize) -> u32 {
    u32::from_le_bytes(pcap[rec..rec + 4].try_into().unwrap())
}

/// Every duration, idle time and gap in the report is a finite,
/// non-negative number.
fn assert_sane(r: &Report, what: &str) {
    for c in &r.connections {
        assert!(c.duration_ms >= 0.0, "{what}: duration {}", c.duration_ms);
        assert!(
            c.tcp_idle_max_ms >= 0.0,
            "{what}: tcp idle {}",
            c.tcp_idle_max_ms
        );
        assert!(c.end >= c.start, "{what}: end before start");
        for g in &c.idle_gaps_ms {
            assert!(g.is_finite() && *g >= 0.0, "{what}: idle gap {g}");
        }
        if let Some(m) = c.idle_max_ms {
            assert!(m >= 0.0, "{what}: idle max {m}");
        }
    }
    let (first, last) = (r.capture.first_ts, r.capture.last_ts);
    assert!(first <= last, "{what}: capture span backwards");
}

#[test]
fn timestamps_going_backwards_in_a_real_capture() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/http11-reuse.pcap");
    let original = std::fs::read(path).expect("testdata");
    let (base, problem) = analyze(original.clone(), Config::default());
    assert!(problem.is_none());
    assert_sane(&base, "original");
    let recs = records(&original);
    assert!(recs.len() > 10);

    // One packet an hour early, in the middle of the connection.
    let mut one_back = original.clone();
    let mid = recs[recs.len() / 2].0;
    set_secs(&mut one_back, mid, secs(&original, mid) - 3600);
    // Every packet in reverse time order.
    let mut reversed = original.clone();
    let n = recs.len() as u32;
    let t0 = secs(&original, recs[0].0);
    for (i, (at, _)) in recs.iter().enumerate() {
        set_secs(&mut reversed, *at, t0 + n - i as u32);
    }
    // The clock jumps back a day after the first exchange and stays there.
    let mut jump = original.clone();
    for (at, _) in &recs[recs.len() / 3..] {
        set_secs(&mut jump, *at, secs(&original, *at) - 86_400);
    }

    for (what, bytes) in [
        ("one back", one_back),
        ("reversed", reversed),
        ("jump", jump),
    ] {
        let (r, problem) = analyze(bytes, Config::default());
        assert!(problem.is_none(), "{what}: {problem:?}");
        assert_sane(&r, what);
        assert_eq!(r.capture.packets, base.capture.packets, "{what}");
        assert_eq!(r.connections.len(), base.connections.len(), "{what}");
        // The bytes are the same, so the HTTP content is too.
        for (a, b) in r.connections.iter().zip(&base.connections) {
            assert_eq!(a.requests, b.requests, "{what}");
            assert_eq!(a.responses, b.responses, "{what}");
            assert_eq!(a.stream_bytes, b.stream_bytes, "{what}");
        }
        assert_eq!(r.summary.exchanges, base.summary.exchanges, "{what}");
    }
}
