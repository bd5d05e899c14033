//! Floods through the `keepwatch` binary, with its peak memory measured
//! (see `hostile_support::run_measured`): a million SYNs against a
//! connection cap, and out-of-order data that never fills its holes against
//! the buffer caps. The caps must hold, their hits must be counted in
//! `capture.limits_hit`, and memory must not grow with the flood.

mod hostile_support;

use hostile_support::{ndjson_tail, run_measured, tcp_frame, temp_path, Capture, Conn, ACK, SYN};
use std::io::Write;
use std::path::Path;

/// Writes a pcap of `n` SYNs, each from its own (address, port), to 10.0.0.2:80.
/// Frames are patched from one template (the decoder does not check
/// checksums, as a capture with checksum offload would fail them anyway).
fn write_syn_flood(path: &Path, n: u32) {
    let template = tcp_frame(([10, 1, 0, 0], 1024), ([10, 0, 0, 2], 80), 7, 0, SYN, b"");
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("creating"));
    out.write_all(&Capture::new().bytes).expect("writing");
    let mut frame = template.clone();
    for i in 0..n {
        // 60,000 ports per source address: 17 addresses for a million.
        let (ip, port) = (i / 60_000, 1024 + (i % 60_000) as u16);
        frame[28..30].copy_from_slice(&(ip as u16).to_be_bytes());
        frame[34..36].copy_from_slice(&port.to_be_bytes());
        let us = 1_700_000_000_000_000i64 + i as i64 * 10;
        let rec = [
            (us / 1_000_000) as u32,
            (us % 1_000_000) as u32,
            frame.len() as u32,
            frame.len() as u32,
        ];
        for v in rec {
            out.write_all(&v.to_le_bytes()).expect("writing");
        }
        out.write_all(&frame).expect("writing");
    }
    out.flush().expect("writing");
}

/// Runs a SYN flood of `n` with `--max-connections 10000`; returns the
/// peak RSS (KiB) and the capture and summary lines.
fn syn_flood(n: u32) -> (u64, serde_json::Value, serde_json::Value) {
    let pcap = temp_path(&format!("syn-flood-{n}.pcap"));
    let report = temp_path(&format!("syn-flood-{n}.ndjson"));
    write_syn_flood(&pcap, n);
    // `--only keepalive_race` keeps no connection in the output (a million
    // connection lines would be a gigabyte); every connection still goes
    // through the table, the report builder and the aggregator.
    let run = run_measured(&[
        "-F",
        "ndjson",
        "--max-connections",
        "10000",
        "--only",
        "keepalive_race",
        "-o",
        report.to_str().expect("a UTF-8 path"),
        pcap.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let (capture, summary) = ndjson_tail(&report);
    let _ = std::fs::remove_file(&pcap);
    let _ = std::fs::remove_file(&report);
    (run.peak_rss_kib, capture, summary)
}

#[test]
fn a_million_syns_hold_the_connection_cap_in_bounded_memory() {
    let (small_kib, _, _) = syn_flood(100_000);
    let (big_kib, capture, summary) = syn_flood(1_000_000);
    assert_eq!(capture["packets"], 1_000_000);
    assert_eq!(capture["tcp_packets"], 1_000_000);
    // Every SYN beyond the cap evicts the least recently active connection.
    assert_eq!(capture["limits_hit"]["max_connections"], 990_000);
    assert_eq!(summary["filtered_out"], 1_000_000);
    eprintln!("peak RSS: 100k SYNs {small_kib} KiB, 1M SYNs {big_kib} KiB");
    // Ten times the flood, the same memory: the table holds 10,000
    // connections either way. The slack allows for allocator noise.
    assert!(
        big_kib < small_kib + 16 * 1024,
        "memory grows with the flood: {small_kib} KiB for 100k SYNs, {big_kib} KiB for 1M"
    );
    assert!(big_kib < 256 * 1024, "{big_kib} KiB");
}

/// Writes `conns` connections that each send `bytes` of data behind a
/// 1000-byte hole that never fills (and that the server never
/// acknowledges past).
fn write_hole_flood(path: &Path, conns: u16, bytes: usize) {
    let mut cap = Capture::new();
    let mut flows: Vec<Conn> = (0..conns)
        .map(|i| Conn::new(20_000 + i, 80, 1_700_000_000_000_000 + i as i64 * 10))
        .collect();
    for c in &mut flows {
        c.handshake(&mut cap);
        c.cseq = c.cseq.wrapping_add(1000);
    }
    let seg = vec![b'x'; hostile_support::MSS];
    let mut sent = 0;
    while sent < bytes {
        for c in &mut flows {
            c.client(&mut cap, &seg);
        }
        sent += seg.len();
    }
    // The server acknowledges only what it received in order: nothing.
    for c in &mut flows {
        let f = tcp_frame(c.server, c.client, c.sseq, 1_001, ACK, b"");
        cap.frame(c.us, &f);
    }
    std::fs::write(path, &cap.bytes).expect("writing");
}

fn hole_flood(caps: &[&str]) -> (u64, serde_json::Value) {
    let pcap = temp_path(&format!("hole-flood-{}.pcap", caps.len()));
    let report = temp_path(&format!("hole-flood-{}.ndjson", caps.len()));
    write_hole_flood(&pcap, 64, 1 << 20);
    let mut args = vec!["-F", "ndjson", "--exchanges", "none", "-o"];
    args.push(report.to_str().expect("a UTF-8 path"));
    args.extend_from_slice(caps);
    args.push(pcap.to_str().expect("a UTF-8 path"));
    let run = run_measured(&args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let (capture, _) = ndjson_tail(&report);
    let _ = std::fs::remove_file(&pcap);
    let _ = std::fs::remove_file(&report);
    (run.peak_rss_kib, capture)
}

#[test]
fn out_of_order_data_that_never_fills_holds_the_buffer_caps() {
    // 64 connections x 1 MiB behind a hole: 64 MiB that could be buffered.
    let (capped_kib, capture) =
        hole_flood(&["--max-buffer", "65536", "--max-buffer-total", "1048576"]);
    let hits = capture["limits_hit"]["max_buffer"].as_u64().unwrap_or(0);
    assert!(hits > 0, "{}", capture["limits_hit"]);
    let (uncapped_kib, capture) = hole_flood(&["--max-buffer", "2097152"]);
    assert_eq!(capture["limits_hit"].get("max_buffer"), None);
    eprintln!("peak RSS: capped {capped_kib} KiB, uncapped {uncapped_kib} KiB");
    // The uncapped run holds the 64 MiB; the capped one at most 1 MiB of it.
    assert!(
        capped_kib + 48 * 1024 < uncapped_kib,
        "capped {capped_kib} KiB, uncapped {uncapped_kib} KiB"
    );
}
