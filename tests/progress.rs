//! The progress hook (`Config::progress`) that drives the CLI's progress
//! bar: called as a file is read, with offsets that only grow, and once at
//! the end of each file; the same with worker threads.

use keepwatch::report::{Format, ReportWriter, WriterOptions};
use keepwatch::{Config, ProgressHook};
use std::sync::{Arc, Mutex};

fn calls(threads: usize, paths: &[&str]) -> Vec<(usize, u64, bool)> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let cfg = Config {
        threads,
        progress: Some(ProgressHook(Arc::new(move |p| {
            sink.lock().unwrap().push((p.index, p.offset, p.done));
        }))),
        ..Config::default()
    };
    let writer = ReportWriter::new(std::io::sink(), Format::Ndjson, WriterOptions::default());
    let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    keepwatch::analyze_files(&paths, cfg, writer).unwrap();
    let v = seen.lock().unwrap().clone();
    v
}

#[test]
fn progress_ends_each_file_at_its_size() {
    let files = [
        "testdata/many-connections.pcap",
        "testdata/http11-reuse.pcap",
    ];
    for threads in [1, 2] {
        let got = calls(threads, &files);
        let done: Vec<(usize, u64)> = got.iter().filter(|c| c.2).map(|c| (c.0, c.1)).collect();
        let sizes: Vec<(usize, u64)> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (i, std::fs::metadata(f).unwrap().len()))
            .collect();
        assert_eq!(done, sizes, "threads {threads}");
        for w in got.windows(2) {
            if w[0].0 == w[1].0 {
                assert!(w[0].1 <= w[1].1, "offsets only grow: {w:?}");
            }
        }
    }
}
