//! The writers: JSON and NDJSON parse back into the model types (the schema
//! check), `--exchanges` detail levels, and the text report's sections,
//! findings and truncation.

mod report_support;

use keepwatch::report::*;
use keepwatch::tcp::Side;
use report_support::*;

fn records() -> Vec<ConnectionRecord> {
    let mut recs: Vec<ConnectionRecord> = (0..5u64)
        .map(|i| {
            let s = i as f64 * 10_000.0;
            conn(i + 1, &format!("10.0.0.1:{}", 40000 + i), s)
                .exchange(s + 2.0, s + 5.0)
                .keep_alive(Some(5), Some(100))
                .exchange(s + 500.0, s + 505.5)
                .keep_alive(Some(5), Some(99))
                .fin(Side::Server, s + 2505.5)
                .build()
        })
        .collect();
    recs.push(
        conn(6, "[2001:db8::1]:50000", 60_000.0)
            .server("[2001:db8::2]:8080")
            .exchange(60_002.0, 60_003.0)
            .fin(Side::Server, 62_003.0)
            .unanswered(62_003.2)
            .rst(Side::Server, 62_003.4)
            .build(),
    );
    recs
}

fn capture() -> CaptureInfo {
    let mut c = CaptureInfo {
        files: vec![FileInfo {
            path: "a.pcap".into(),
            format: Some("pcap".into()),
            gzip: false,
            packets: 120,
            error: None,
        }],
        packets: 120,
        bytes: 9000,
        tcp_packets: 118,
        first_ts: Some(t(0.0)),
        last_ts: Some(t(62_003.4)),
        truncated_packets: 1,
        ..CaptureInfo::default()
    };
    c.link_types.insert(1, 120);
    c.skipped.insert("not_tcp".into(), 2);
    c
}

fn run(
    format: Format,
    opts: WriterOptions,
) -> (String, Vec<ConnectionRecord>, Vec<ServerRecord>, Summary) {
    let recs = records();
    let mut agg = Aggregator::default();
    let mut w = ReportWriter::new(Vec::new(), format, opts);
    for r in &recs {
        agg.add(r);
        w.connection(r.clone()).unwrap();
    }
    let (servers, summary) = agg.finish();
    let out = w
        .finish(capture(), servers.clone(), summary.clone())
        .unwrap();
    (String::from_utf8(out).unwrap(), recs, servers, summary)
}

#[test]
fn json_parses_back_into_the_report_type() {
    let (out, recs, servers, summary) = run(Format::Json, WriterOptions::default());
    let report: Report = serde_json::from_str(&out).unwrap();
    assert_eq!(report.schema_version, SCHEMA_VERSION);
    assert_eq!(report.tool.name, "keepwatch");
    assert_eq!(report.capture, capture());
    assert_eq!(report.connections, recs);
    assert_eq!(report.servers, servers);
    assert_eq!(report.summary, summary);
    // Field names and enum strings as documented.
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let c0 = &v["connections"][0];
    assert_eq!(c0["close"]["reason"], "server_idle_timeout");
    assert_eq!(c0["close"]["initiator"], "server");
    assert_eq!(c0["close"]["time_wait"], "server");
    assert_eq!(c0["end_state"], "closed");
    assert_eq!(c0["direction_by"], "syn");
    assert_eq!(c0["protocol"], "http1");
    assert_eq!(c0["exchanges"][0]["framing"], "content-length");
    assert_eq!(c0["exchanges"][0]["request_version"], "1.1");
    assert_eq!(c0["exchanges"][1]["keep_alive"]["max"], 99);
    assert_eq!(c0["flags"][0], "reused");
    assert_eq!(c0["start"], "2026-11-22T00:00:00.000000Z");
    assert_eq!(v["capture"]["link_types"]["1"], 120);
    assert_eq!(v["summary"]["close_reasons"]["keepalive_race"], 1);
    assert_eq!(v["servers"][1]["server"]["ip"], "2001:db8::2");
    assert_eq!(c0["community_id"].as_str().unwrap().len(), 30);
}

#[test]
fn ndjson_lines_come_in_order_and_parse_into_typed_lines() {
    let (out, recs, servers, summary) = run(Format::Ndjson, WriterOptions::default());
    let lines: Vec<NdjsonLine> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 1 + recs.len() + servers.len() + 2);
    match &lines[0] {
        NdjsonLine::Header(h) => assert_eq!(h.schema_version, SCHEMA_VERSION),
        other => panic!("first line {other:?}"),
    }
    for (line, rec) in lines[1..].iter().zip(&recs) {
        assert_eq!(line, &NdjsonLine::Connection(Box::new(rec.clone())));
    }
    let rest = &lines[1 + recs.len()..];
    for (line, s) in rest.iter().zip(&servers) {
        assert_eq!(line, &NdjsonLine::Server(Box::new(s.clone())));
    }
    assert_eq!(rest[servers.len()], NdjsonLine::Capture(capture()));
    assert_eq!(
        rest[servers.len() + 1],
        NdjsonLine::Summary(Box::new(summary))
    );
    for l in out.lines() {
        assert!(l.starts_with("{\"type\":\""), "{l}");
    }
}

#[test]
fn exchange_detail_levels() {
    let opts = |exchanges| WriterOptions {
        exchanges,
        ..WriterOptions::default()
    };
    let (out, ..) = run(Format::Ndjson, opts(ExchangeDetail::Summary));
    let first: serde_json::Value = serde_json::from_str(out.lines().nth(1).unwrap()).unwrap();
    assert!(first.get("exchanges").is_none());
    assert_eq!(first["exchange_summary"]["kept"], 2);
    assert_eq!(first["requests"], 2);

    let (out, ..) = run(Format::Json, opts(ExchangeDetail::None));
    let report: Report = serde_json::from_str(&out).unwrap();
    assert!(report
        .connections
        .iter()
        .all(|c| c.exchanges.is_none() && c.exchange_summary.is_none()));
    // The aggregates were computed from the full records all the same.
    assert_eq!(report.summary.exchanges, 12);
}

#[test]
fn text_report_has_header_table_findings_and_a_bounded_list() {
    let (out, ..) = run(
        Format::Text,
        WriterOptions {
            text_max_connections: 4,
            ..WriterOptions::default()
        },
    );
    assert!(out.starts_with("keepwatch report\n"), "{out}");
    assert!(
        out.contains(
            "capture      2026-11-22T00:00:00.000000Z to 2026-11-22T00:01:02.003400Z (62.00 s)"
        ),
        "{out}"
    );
    assert!(
        out.contains("120 packets (118 TCP), 9000 bytes, 1 file"),
        "{out}"
    );
    assert!(
        out.contains("connections  6, 12 exchanges (2.0 per connection, max 2), 100% reused"),
        "{out}"
    );
    assert!(
        out.contains("reasons      server_idle_timeout 5, keepalive_race 1"),
        "{out}"
    );
    // The server table.
    let row = out
        .lines()
        .find(|l| l.trim_start().starts_with("10.0.0.2:80 "))
        .unwrap_or_else(|| panic!("{out}"));
    for cell in ["5", "10", "2.0", "100%", "2.00 s (5)", "timeout=5 max=100"] {
        assert!(row.contains(cell), "{cell:?} not in {row:?}");
    }
    // Findings as sentences with numbers and advice.
    assert!(out.contains("  * 10.0.0.2:80 closes idle connections after 2.0 s (5 closes, 2.00 to 2.00 s) but advertises timeout=5: clients that trust the header will race it"), "{out}");
    assert!(
        out.contains(
            "  * 1 request to [2001:db8::2]:8080 hit a closing connection (keep-alive race): "
        ),
        "{out}"
    );
    assert!(
        out.contains("races        1 connection (1 request lost); missed reuse 0"),
        "{out}"
    );
    // Truncated list.
    assert!(
        out.contains("connections (first 4 of 6; --verbose for all)"),
        "{out}"
    );
    assert!(out.contains("  #1      10.0.0.1:40000 -> 10.0.0.2:80  2 exch  idle max 0.49 s  server fin after 2.00 s idle  server_idle_timeout  reused,declared_timeout_mismatch,time_wait_server"), "{out}");
    assert!(!out.contains("#5 "), "{out}");
    assert!(!out.contains('\x1b'));
}

#[test]
fn text_verbose_lists_everything_and_colour_is_optional() {
    let (out, ..) = run(
        Format::Text,
        WriterOptions {
            verbose: true,
            color: true,
            text_max_connections: 1,
            ..WriterOptions::default()
        },
    );
    assert!(out.contains("connections (6)"), "{out}");
    assert!(
        out.contains("#6      [2001:db8::1]:50000 -> [2001:db8::2]:8080"),
        "{out}"
    );
    assert!(out.contains("\x1b[1mkeepwatch report\x1b[0m"));
}

#[test]
fn empty_report_in_every_format() {
    for format in [Format::Text, Format::Json, Format::Ndjson] {
        let w = ReportWriter::new(Vec::new(), format, WriterOptions::default());
        let (servers, summary) = Aggregator::default().finish();
        let out =
            String::from_utf8(w.finish(CaptureInfo::default(), servers, summary).unwrap()).unwrap();
        match format {
            Format::Json => {
                let r: Report = serde_json::from_str(&out).unwrap();
                assert!(r.connections.is_empty() && r.servers.is_empty());
            }
            Format::Ndjson => {
                let kinds: Vec<String> = out
                    .lines()
                    .map(|l| {
                        serde_json::from_str::<serde_json::Value>(l).unwrap()["type"]
                            .as_str()
                            .unwrap()
                            .to_string()
                    })
                    .collect();
                assert_eq!(kinds, ["header", "capture", "summary"]);
            }
            Format::Text => {
                assert!(out.contains("capture      empty"));
                assert!(out.contains("nothing to report"));
            }
        }
    }
}

#[test]
fn text_server_table_is_bounded_unless_verbose() {
    let recs: Vec<ConnectionRecord> = (0..5u64)
        .map(|i| {
            conn(i + 1, "10.0.0.1:40000", i as f64)
                .server(&format!("10.0.9.{i}:80"))
                .capture_end(100.0)
                .build()
        })
        .collect();
    let render = |verbose: bool| {
        let mut agg = Aggregator::default();
        let mut w = ReportWriter::new(
            Vec::new(),
            Format::Text,
            WriterOptions {
                verbose,
                text_max_servers: 2,
                ..WriterOptions::default()
            },
        );
        for r in &recs {
            agg.add(r);
            w.connection(r.clone()).unwrap();
        }
        let (servers, summary) = agg.finish();
        String::from_utf8(w.finish(capture(), servers, summary).unwrap()).unwrap()
    };
    let short = render(false);
    assert!(
        short.contains("  ... 3 more servers (--verbose for all)"),
        "{short}"
    );
    assert_eq!(short.matches("  10.0.9.").count(), 2, "{short}");
    let long = render(true);
    assert_eq!(long.matches("  10.0.9.").count(), 5, "{long}");
}

fn stats_line(final_: bool) -> StatsLine {
    StatsLine {
        final_,
        elapsed_ms: 1500.0,
        last_ts: Some(t(1.0)),
        packets: 7,
        tcp_packets: 6,
        connections_open: 2,
        pcap: Some(PcapStats {
            received: 7,
            dropped: 1,
            if_dropped: 0,
        }),
        rss_bytes: None,
    }
}

/// Live capture may have a stats line due before any connection ended: the
/// header still comes first, and the typed lines parse back.
#[test]
fn ndjson_typed_line_before_any_record_comes_after_the_header() {
    let recs = records();
    let mut w = ReportWriter::new(Vec::new(), Format::Ndjson, WriterOptions::default());
    w.typed_line("stats", &stats_line(false)).unwrap();
    w.connection(recs[0].clone()).unwrap();
    let mut interim = recs[1].clone();
    interim.final_ = false;
    w.connection(interim.clone()).unwrap();
    w.typed_line("stats", &stats_line(true)).unwrap();
    let out = w
        .finish(CaptureInfo::default(), Vec::new(), Summary::default())
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<NdjsonLine> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 7, "{out}");
    assert!(matches!(lines[0], NdjsonLine::Header(_)), "{out}");
    assert_eq!(lines[1], NdjsonLine::Stats(stats_line(false)));
    assert_eq!(lines[2], NdjsonLine::Connection(Box::new(recs[0].clone())));
    assert_eq!(lines[3], NdjsonLine::Connection(Box::new(interim)));
    assert_eq!(lines[4], NdjsonLine::Stats(stats_line(true)));
    assert_eq!(out.matches("\"type\":\"header\"").count(), 1);
    let third: serde_json::Value = serde_json::from_str(out.lines().nth(3).unwrap()).unwrap();
    assert_eq!(third["final"], false);
    let second: serde_json::Value = serde_json::from_str(out.lines().nth(2).unwrap()).unwrap();
    assert_eq!(second["final"], true);
}

/// Only NDJSON has lines: the other formats refuse typed lines and keep
/// interim records out (the JSON document holds final records only).
#[test]
fn other_formats_take_no_typed_lines_and_no_interim_records() {
    let recs = records();
    for format in [Format::Json, Format::Text] {
        let mut w = ReportWriter::new(Vec::new(), format, WriterOptions::default());
        let err = w.typed_line("stats", &stats_line(false)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let mut interim = recs[0].clone();
        interim.final_ = false;
        w.connection(interim).unwrap();
        w.connection(recs[1].clone()).unwrap();
        let out = w
            .finish(CaptureInfo::default(), Vec::new(), Summary::default())
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("stats"), "{out}");
        if format == Format::Json {
            let report: Report = serde_json::from_str(&out).unwrap();
            assert_eq!(report.connections, vec![recs[1].clone()]);
        }
    }
}

/// Records written before `final` existed read back as final.
#[test]
fn a_record_without_final_reads_as_final() {
    let rec = records().remove(0);
    let mut v = serde_json::to_value(&rec).unwrap();
    v.as_object_mut().unwrap().remove("final");
    let back: ConnectionRecord = serde_json::from_value(v).unwrap();
    assert!(back.final_);
    assert_eq!(back, rec);
}
