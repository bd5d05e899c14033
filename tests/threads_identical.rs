//! `--threads N` writes the same bytes as one thread: on every testdata
//! capture, in NDJSON and JSON, with the default linger and with lingers
//! short enough that closed connections expire between other connections'
//! packets (the hardest ordering to reproduce), and on all captures read as
//! one (timestamps jumping back and forth, many connections).

use keepwatch::report::{ExchangeDetail, Flag, Format, ReportFilter, ReportWriter, WriterOptions};
use keepwatch::Config;
mod hostile_support;
use hostile_support::{temp_path, Capture, Conn, ACK, PSH_ACK};
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
    run_with(paths, threads, linger, format, ExchangeDetail::All)
}

fn run_with(
    paths: &[String],
    threads: usize,
    linger: Option<Duration>,
    format: Format,
    exchanges: ExchangeDetail,
) -> Vec<u8> {
    run_filtered(
        paths,
        threads,
        linger,
        format,
        exchanges,
        ReportFilter::default(),
    )
}

fn run_filtered(
    paths: &[String],
    threads: usize,
    linger: Option<Duration>,
    format: Format,
    exchanges: ExchangeDetail,
    filter: ReportFilter,
) -> Vec<u8> {
    let mut cfg = Config {
        threads,
        filter,
        ..Config::default()
    };
    if let Some(l) = linger {
        cfg.tcp.close_linger = l;
    }
    let mut out = Vec::new();
    let opts = WriterOptions {
        exchanges,
        ..WriterOptions::default()
    };
    let w = ReportWriter::new(&mut out, format, opts);
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
fn every_exchange_detail_is_identical_across_thread_counts() {
    // Worker threads serialize NDJSON lines themselves: the exchange
    // detail must be applied there as the writer does.
    let caps = captures();
    for detail in [
        ExchangeDetail::None,
        ExchangeDetail::Summary,
        ExchangeDetail::All,
    ] {
        let one = run_with(&caps, 1, None, Format::Ndjson, detail);
        let two = run_with(&caps, 2, None, Format::Ndjson, detail);
        assert!(one == two, "{detail:?} differs");
    }
    let none = run_with(&caps, 2, None, Format::Ndjson, ExchangeDetail::None);
    let all = run_with(&caps, 2, None, Format::Ndjson, ExchangeDetail::All);
    assert!(none.len() < all.len());
}

#[test]
fn a_missing_file_is_reported_the_same() {
    let mut caps = captures();
    caps.truncate(3);
    caps.insert(1, "testdata/does-not-exist.pcap".into());
    assert_same(&caps, None, Format::Ndjson);
}

/// Ethernet/IPv4/TCP frame.
fn frame(c: u8, to_server: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (client, server) = ([10, 0, 0, c], [192, 0, 2, 10]);
    let (src, dst, sport, dport) = if to_server {
        (client, server, 40_000 + c as u16, 80u16)
    } else {
        (server, client, 80, 40_000 + c as u16)
    };
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0];
    f.extend_from_slice(&((40 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

/// Connections the server closes with `Connection: close` after two
/// exchanges each (nginx's `keepalive_requests`): from the second on, the
/// report's `refine` (which depends on earlier connections) says
/// `max_requests`.
fn max_requests_capture() -> String {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const FIN: u8 = 0x01;
    const PSH: u8 = 0x08;
    let mut frames = Vec::new();
    for c in 1..=6u8 {
        let (mut cs, mut ss) = (1000u32 * c as u32, 9_000_000u32 * c as u32);
        frames.push(frame(c, true, cs, 0, SYN, b""));
        cs += 1;
        frames.push(frame(c, false, ss, cs, SYN | ACK, b""));
        ss += 1;
        frames.push(frame(c, true, cs, ss, ACK, b""));
        for last in [false, true] {
            let req: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
            frames.push(frame(c, true, cs, ss, PSH | ACK, req));
            cs += req.len() as u32;
            let resp: &[u8] = if last {
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            };
            let flags = if last { PSH | ACK | FIN } else { PSH | ACK };
            frames.push(frame(c, false, ss, cs, flags, resp));
            ss += resp.len() as u32 + last as u32;
            frames.push(frame(c, true, cs, ss, ACK, b""));
        }
        frames.push(frame(c, true, cs, ss, FIN | ACK, b""));
        cs += 1;
        frames.push(frame(c, false, ss, cs, ACK, b""));
    }
    write_pcap(&frames, "max-requests")
}

/// Writes `frames` as a pcap file in the temporary folder, 1 ms apart.
fn write_pcap(frames: &[Vec<u8>], name: &str) -> String {
    let mut cap = Capture::new();
    for (i, f) in frames.iter().enumerate() {
        cap.frame(1_700_000_000_000_000 + 1000 * i as i64, f);
    }
    save(&cap, name)
}

fn save(cap: &Capture, name: &str) -> String {
    let path = temp_path(&format!("threads-{name}.pcap"));
    std::fs::write(&path, &cap.bytes).expect("temp file");
    path.to_string_lossy().into_owned()
}

/// Keep-alive connections, two at a time, whose responses come in full
/// segments: frames of more than 1 KiB on average, for which the reader
/// keeps no shard of its own (`parallel::LARGE_FRAME_BYTES`). `name` makes
/// the file each test's own.
fn large_frames_capture(name: &str) -> String {
    large_frames_capture_of(name, 40)
}

/// [`large_frames_capture`] with `pairs` pairs of connections (about
/// 67 KB a pair).
fn large_frames_capture_of(name: &str, pairs: u16) -> String {
    let body = vec![b'x'; 1400];
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 12 * 1400);
    let mut cap = Capture::new();
    // One clock for both connections of a pair, so the capture's
    // timestamps never go back.
    let mut clock = 1_700_000_000_000_000i64;
    let mut step = |c: &mut Conn, cap: &mut Capture, f: &dyn Fn(&mut Conn, &mut Capture)| {
        c.us = clock;
        f(c, cap);
        clock = c.us;
    };
    for pair in 0..pairs {
        let mut conns = [
            Conn::new(40_000 + 2 * pair, 80, 0),
            Conn::new(40_001 + 2 * pair, 80, 0),
        ];
        for c in &mut conns {
            step(c, &mut cap, &|c, cap| c.handshake(cap));
        }
        for _ in 0..2 {
            for c in &mut conns {
                step(c, &mut cap, &|c, cap| {
                    c.send(cap, true, PSH_ACK, b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
                    c.send(cap, false, PSH_ACK, head.as_bytes());
                });
            }
            for _ in 0..12 {
                for c in &mut conns {
                    step(c, &mut cap, &|c, cap| c.send(cap, false, ACK, &body));
                }
            }
        }
        for c in &mut conns {
            step(c, &mut cap, &|c, cap| c.close(cap));
        }
    }
    // Captured bytes a frame: less the file header and the record headers.
    let mean = (cap.bytes.len() - 24 - 16 * cap.packets) / cap.packets;
    assert!(mean >= 1024, "{mean} B a frame");
    save(&cap, name)
}

#[test]
fn table_limits_follow_the_shards_parts() {
    // Two connections open at a time, and room for two: one thread evicts
    // none. With two threads and large frames the worker holds every
    // connection (the reader keeps no shard), so it must get the whole
    // limit, not half of it.
    let path = large_frames_capture("limits");
    let run = |threads| {
        let mut cfg = Config {
            threads,
            ..Config::default()
        };
        cfg.tcp.max_connections = 2;
        let mut out = Vec::new();
        let w = ReportWriter::new(&mut out, Format::Ndjson, WriterOptions::default());
        keepwatch::analyze_files(std::slice::from_ref(&path), cfg, w).expect("writing to memory");
        String::from_utf8(out).unwrap()
    };
    let (one, two) = (run(1), run(2));
    let _ = std::fs::remove_file(&path);
    assert!(!one.contains("\"evicted\""), "{one}");
    assert_eq!(one.matches("\"type\":\"connection\"").count(), 80);
    assert!(one == two, "--threads 2 evicted what one thread kept");
}

#[test]
fn large_frames_are_identical_across_thread_counts() {
    let path = large_frames_capture("large-frames");
    let paths = std::slice::from_ref(&path);
    let out = String::from_utf8(run(paths, 1, None, Format::Ndjson)).unwrap();
    let connections = out.matches("\"type\":\"connection\"").count();
    assert_eq!(connections, 80, "{out}");
    assert!(out.contains("\"requests\":2"), "{out}");
    for linger in [None, Some(Duration::ZERO)] {
        assert_same(paths, linger, Format::Ndjson);
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_large_capture_read_in_stretches_is_identical_across_thread_counts() {
    // Over 8 MiB (four stretches) of large frames in one pcap file: with two threads or
    // more each thread walks its own stretches of it (`parallel/split.rs`).
    let path = large_frames_capture_of("stretches", 160);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(size > 8 << 20, "{size} bytes");
    let paths = std::slice::from_ref(&path);
    let out = String::from_utf8(run(paths, 1, None, Format::Ndjson)).unwrap();
    assert_eq!(out.matches("\"type\":\"connection\"").count(), 320);
    for linger in [None, Some(Duration::ZERO)] {
        assert_same(paths, linger, Format::Ndjson);
    }
    assert_same(paths, None, Format::Json);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn report_filters_apply_the_same_across_thread_counts() {
    // Workers judge the records they digest by the filter themselves; the
    // summary's `filtered_out` and the per-server records depend on it.
    let caps = captures();
    let one_unfiltered = run(&caps, 1, None, Format::Ndjson);
    let lines = |out: &[u8]| {
        String::from_utf8_lossy(out)
            .lines()
            .filter(|l| l.contains("\"type\":\"connection\""))
            .count()
    };
    let text = String::from_utf8_lossy(&one_unfiltered);
    let first_client = text
        .split("\"client\":{\"ip\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a connection with a client");
    let filters = [
        ReportFilter {
            only: vec![Flag::Reused, Flag::TimeWaitServer],
            ..ReportFilter::default()
        },
        ReportFilter {
            client: Some(first_client.parse().unwrap()),
            ..ReportFilter::default()
        },
    ];
    let mut narrowed = 0;
    for filter in filters {
        let one = run_filtered(
            &caps,
            1,
            None,
            Format::Ndjson,
            ExchangeDetail::All,
            filter.clone(),
        );
        if (1..lines(&one_unfiltered)).contains(&lines(&one)) {
            narrowed += 1;
        }
        for threads in [2, 3] {
            let many = run_filtered(
                &caps,
                threads,
                None,
                Format::Ndjson,
                ExchangeDetail::All,
                filter.clone(),
            );
            assert!(one == many, "{filter:?}: --threads {threads} differs");
        }
        // The JSON document takes whole records, not digests, from the
        // workers: the filter applies on that path too.
        let json = |threads| {
            run_filtered(
                &caps,
                threads,
                None,
                Format::Json,
                ExchangeDetail::All,
                filter.clone(),
            )
        };
        assert!(
            json(1) == json(2),
            "{filter:?}: JSON with --threads 2 differs"
        );
    }
    // Each filter kept some connections and dropped others.
    assert_eq!(narrowed, 2);
}

#[test]
fn reasons_refined_from_earlier_connections_are_identical_across_thread_counts() {
    let path = max_requests_capture();
    let paths = std::slice::from_ref(&path);
    let out = String::from_utf8(run(paths, 1, None, Format::Ndjson)).unwrap();
    let _ = std::fs::remove_file(&path);
    let path = max_requests_capture();
    let paths = std::slice::from_ref(&path);
    assert!(out.contains("\"max_requests\""), "{out}");
    for linger in [None, Some(Duration::ZERO)] {
        assert_same(paths, linger, Format::Ndjson);
        for detail in [ExchangeDetail::None, ExchangeDetail::All] {
            let one = run_with(paths, 1, linger, Format::Ndjson, detail);
            let two = run_with(paths, 2, linger, Format::Ndjson, detail);
            assert!(one == two, "{linger:?} {detail:?}");
        }
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn frame_filters_apply_the_same_across_thread_counts() {
    let caps = captures();
    let run_filtered = |threads: usize, stop_after: Option<usize>| {
        let cfg = Config {
            threads,
            ..Config::default()
        };
        let mut out = Vec::new();
        let w = ReportWriter::new(&mut out, Format::Ndjson, WriterOptions::default());
        let mut seen = 0usize;
        // Drops every third frame; optionally fails like a BPF filter on
        // an unsupported link type.
        let mut filter = |_: &keepwatch::capture::Frame<'_>| {
            seen += 1;
            if stop_after.is_some_and(|n| seen > n) {
                return Err("filter gave up".to_string());
            }
            Ok(seen % 3 != 0)
        };
        let outcome = keepwatch::analyze_files_filtered(&caps, cfg, w, &mut filter).unwrap();
        (out, outcome.filter_error)
    };
    for stop in [None, Some(500)] {
        let (one, e1) = run_filtered(1, stop);
        let (two, e2) = run_filtered(2, stop);
        assert_eq!(e1, e2);
        assert!(one == two, "filter {stop:?} differs");
    }
}

#[test]
fn http_limits_hit_are_counted_the_same_across_thread_counts() {
    let paths = captures();
    let run_limited = |threads| {
        let mut cfg = Config {
            threads,
            ..Config::default()
        };
        // Small enough that the testdata captures hit them.
        cfg.http.max_uri_len = 4;
        cfg.http.max_exchanges_kept = 2;
        let mut out = Vec::new();
        let w = ReportWriter::new(&mut out, Format::Ndjson, WriterOptions::default());
        keepwatch::analyze_files(&paths, cfg, w).expect("writing to memory");
        out
    };
    let one = run_limited(1);
    let text = String::from_utf8_lossy(&one);
    assert!(text.contains("\"max_uri_len\":"), "the URI limit is hit");
    assert!(
        text.contains("\"max_exchanges_kept\":"),
        "the exchange limit is hit"
    );
    assert!(one == run_limited(2), "2 threads differ from 1");
}

/// Mapped files hand workers offsets into the shared mapping, streams
/// (gzip here) copies of the payloads: both must give one thread's bytes,
/// and so must a mix of the two in one run (no testdata capture is
/// gzipped, so the streamed path is made here).
#[test]
fn gzip_streams_and_mapped_files_are_identical_across_thread_counts() {
    use std::io::Write;
    let caps = captures();
    let dir = std::env::temp_dir().join(format!("keepwatch-threads-gz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut gz = Vec::new();
    for (i, c) in caps.iter().enumerate().take(12) {
        let bytes = std::fs::read(c).unwrap();
        let p = dir.join(format!("{i}.pcap.gz"));
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&bytes).unwrap();
        std::fs::write(&p, e.finish().unwrap()).unwrap();
        gz.push(p.to_string_lossy().into_owned());
    }
    let plain: Vec<String> = caps.iter().take(12).cloned().collect();
    let mixed: Vec<String> = plain
        .iter()
        .zip(&gz)
        .enumerate()
        .map(|(i, (p, g))| if i % 2 == 0 { p.clone() } else { g.clone() })
        .collect();
    let reference = run(&plain, 1, None, Format::Ndjson);
    assert!(String::from_utf8_lossy(&reference).contains("\"type\":\"connection\""));
    assert_same(&gz, None, Format::Ndjson);
    assert_same(&mixed, None, Format::Ndjson);
    // The same frames whichever way they were read, but for the files'
    // own lines (paths, gzip).
    let connections = |out: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(out)
            .lines()
            .filter(|l| l.contains("\"type\":\"connection\""))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        connections(&run(&gz, 2, None, Format::Ndjson)),
        connections(&reference)
    );
    std::fs::remove_dir_all(&dir).ok();
}
