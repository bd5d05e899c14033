//! `Session::set_drain_batch`: file runs take finished connections a few
//! at a time; live capture takes each as it ends. Both must write the same
//! bytes, and only the moment a record is written may differ.

use keepwatch::capture::{self, FrameSource};
use keepwatch::report::{Format, ReportWriter, WriterOptions};
use keepwatch::{Config, Session};

/// Every testdata capture (pcap and pcapng, not gzip), in name order.
fn captures() -> Vec<String> {
    let mut paths: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"))
            .expect("testdata")
            .filter_map(|e| e.ok().map(|e| e.path().to_string_lossy().into_owned()))
            .filter(|p| p.ends_with(".pcap") || p.ends_with(".pcapng"))
            .collect();
    paths.sort();
    paths
}

/// The report of `path` with a drain batch of `n`, and the number of
/// frames after which `process` wrote at least one record.
fn run(path: &str, n: usize) -> (Vec<u8>, usize) {
    let writer = ReportWriter::new(Vec::new(), Format::Ndjson, WriterOptions::default());
    let mut session = Session::new(Config::default(), writer);
    session.set_drain_batch(n);
    let mut r = capture::open(path).expect("a testdata capture opens");
    let mut writes = 0;
    while let Some(frame) = r.next_frame().expect("a testdata capture reads") {
        if session.process(&frame).expect("writing to a Vec") > 0 {
            writes += 1;
        }
    }
    (session.finish().expect("writing to a Vec"), writes)
}

#[test]
fn batched_and_immediate_drains_write_the_same_bytes() {
    let paths = captures();
    assert!(paths.len() > 10, "testdata captures found: {}", paths.len());
    let mut immediate_writes = 0;
    for path in &paths {
        let (one, w1) = run(path, 1);
        let (eight, w8) = run(path, 8);
        assert!(one.len() > 100, "{path}: a report was written");
        assert!(one == eight, "{path}: batched drain changed the output");
        assert!(w8 <= w1, "{path}: batched drain wrote more often");
        immediate_writes += w1;
    }
    // Records written as their connections end (what live capture needs)
    // happen with a batch of one; the testdata captures end connections
    // before their last frame.
    assert!(immediate_writes > 0);
}

#[test]
fn a_batch_waits_for_its_connections_or_the_end() {
    // A capture of one connection: batch 1 writes its record on a frame
    // (the close), a batch of 8 only at the end.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/client-close.pcap");
    let (one, w1) = run(path, 1);
    let (eight, w8) = run(path, 8);
    assert_eq!(w1, 1, "one record written as its connection ended");
    assert_eq!(w8, 0, "nothing written before the end with a batch of 8");
    assert_eq!(one, eight);
}
