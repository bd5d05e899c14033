//! `--threads N` writes the same bytes as one thread: on every testdata
//! capture, in NDJSON and JSON, with the default linger and with lingers
//! short enough that closed connections expire between other connections'
//! packets (the hardest ordering to reproduce), and on all captures read as
//! one (timestamps jumping back and forth, many connections).

use keepwatch::report::{Format, ReportWriter, WriterOptions};
use keepwatch::Config;
use std::path::PathBuf;
use std::time::Duration;

fn captures() -> Vec<String> {
    let mut v = Vec::new();
    for dir in ["testdata", "testdata/linktypes", "tests/capture_data"] {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p: PathBuf = e.path();
            let n = p.to_string_lossy().into_owned();
            if p.is_file()
                && (n.ends_with(".pcap")
                    || n.ends_with(".pcapng")
                    || n.ends_with(".pcap.gz")
                    || n.ends_with(".pcapng.gz"))
            {
                v.push(n);
            }
        }
    }
    v.sort();
    v
}

fn run(paths: &[String], threads: usize, linger: Option<Duration>, format: Format) -> Vec<u8> {
    let mut cfg = Config {
        threads,
        ..Config::default()
    };
    if let Some(l) = linger {
        cfg.tcp.close_linger = l;
    }
    let mut out = Vec::new();
    let w = ReportWriter::new(&mut out, format, WriterOptions::default());
    keepwatch::analyze_files(paths, cfg, w).expect("writing to memory");
    out
}

fn assert_same(paths: &[String], linger: Option<Duration>, format: Format) {
    let one = run(paths, 1, linger, format);
    for threads in [2, 3, 5] {
        let many = run(paths, threads, linger, format);
        if many != one {
            let a = String::from_utf8_lossy(&one);
            let b = String::from_utf8_lossy(&many);
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            panic!(
                "{paths:?} linger {linger:?} {format:?}: --threads {threads} differs from one thread at line {line}:\n  1: {}\n  {threads}: {}",
                a.lines().nth(line).unwrap_or(""),
                b.lines().nth(line).unwrap_or("")
            );
        }
    }
}

#[test]
fn every_capture_is_identical_across_thread_counts() {
    let caps = captures();
    assert!(caps.len() >= 20, "found only {caps:?}");
    let mut with_records = 0;
    for c in &caps {
        let paths = std::slice::from_ref(c);
        assert_same(paths, None, Format::Ndjson);
        assert_same(paths, None, Format::Json);
        assert_same(paths, Some(Duration::ZERO), Format::Ndjson);
        assert_same(paths, Some(Duration::from_millis(1)), Format::Ndjson);
        let out = run(paths, 1, None, Format::Ndjson);
        if String::from_utf8_lossy(&out).contains("\"type\":\"connection\"") {
            with_records += 1;
        }
    }
    // The test means something only if captures produce connections.
    assert!(
        with_records >= 20,
        "{with_records} captures with connections"
    );
}

#[test]
fn all_captures_read_as_one_are_identical_across_thread_counts() {
    let caps = captures();
    for linger in [None, Some(Duration::ZERO), Some(Duration::from_millis(5))] {
        assert_same(&caps, linger, Format::Ndjson);
    }
    // Renumbering is exercised: the one-capture run has many connections.
    let out = String::from_utf8(run(&caps, 2, None, Format::Ndjson)).unwrap();
    let n = out
        .lines()
        .filter(|l| l.contains("\"type\":\"connection\""))
        .count();
    assert!(n > 100, "only {n} connections");
}

#[test]
fn a_missing_file_is_reported_the_same() {
    let mut caps = captures();
    caps.truncate(3);
    caps.insert(1, "testdata/does-not-exist.pcap".into());
    assert_same(&caps, None, Format::Ndjson);
}
