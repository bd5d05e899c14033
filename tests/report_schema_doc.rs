//! docs/schema.md names every field the writers emit and every enum value:
//! a guard against adding a field or a value without documenting it.

mod report_support;

use keepwatch::report::*;
use keepwatch::tcp::Side;
use report_support::*;
use serde_json::Value;

/// Fields whose JSON value is a map keyed by data (numbers, enum values,
/// reasons), not by field names.
const MAP_FIELDS: &[&str] = &[
    "link_types",
    "skipped",
    "limits_hit",
    "status_classes",
    "close_initiators",
    "close_reasons",
    "time_wait",
    "flags",
    "protocols",
];

fn documented(doc: &str, word: &str) -> bool {
    doc.match_indices(word).any(|(i, _)| {
        let before = doc[..i].chars().next_back();
        let after = doc[i + word.len()..].chars().next();
        let boundary = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        boundary(before) && boundary(after)
    })
}

fn walk(v: &Value, path: &str, keys: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                keys.push((k.clone(), format!("{path}.{k}")));
                if MAP_FIELDS.contains(&k.as_str()) && child.is_object() {
                    continue;
                }
                walk(child, &format!("{path}.{k}"), keys);
            }
        }
        Value::Array(a) => {
            for child in a {
                walk(child, &format!("{path}[]"), keys);
            }
        }
        _ => {}
    }
}

/// A report in which every optional object is present somewhere.
fn rich_report() -> String {
    let mut recs = Vec::new();
    for i in 0..4u64 {
        let s = i as f64 * 10_000.0;
        recs.push(
            conn(i + 1, &format!("10.0.0.1:{}", 40000 + i), s)
                .exchange(s + 2.0, s + 5.0)
                .keep_alive(Some(5), Some(3))
                .exchange(s + 100.0, s + 105.0)
                .tcp(|t| {
                    for side in &mut t.sides {
                        side.keepalive.probes = 2;
                        side.keepalive.acks = 2;
                        side.keepalive.first_after_idle_ns = Some(1_000_000_000);
                        side.keepalive.intervals_ns = vec![1_000_000_000];
                    }
                })
                .fin(Side::Server, s + 2105.0)
                .build(),
        );
        recs.push(
            conn(10 + i, &format!("10.0.0.1:{}", 50000 + i), s + 1.0)
                .exchange(s + 3.0, s + 4.0)
                .exchange(s + 5.0, s + 6.0)
                .exchange(s + 7.0, s + 8.0)
                .close_token(false, true)
                .fin(Side::Server, s + 8.1)
                .build(),
        );
    }
    let mut agg = Aggregator::default();
    let mut w = ReportWriter::new(Vec::new(), Format::Json, WriterOptions::default());
    recs.sort_by_key(|r| r.end);
    for r in recs {
        agg.add(&r);
        w.connection(r).unwrap();
    }
    let (servers, summary) = agg.finish();
    assert!(servers[0].idle_timeout.is_some() && servers[0].request_cap.is_some());
    assert!(!summary.findings.is_empty());
    let capture = CaptureInfo {
        files: vec![FileInfo::default()],
        first_ts: Some(t(0.0)),
        pcap_stats: Some(PcapStats {
            received: 10,
            dropped: 1,
            if_dropped: 2,
        }),
        ..CaptureInfo::default()
    };
    String::from_utf8(w.finish(capture, servers, summary).unwrap()).unwrap()
}

#[test]
fn every_field_written_is_documented() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema.md")).unwrap();
    let v: Value = serde_json::from_str(&rich_report()).unwrap();
    let mut keys = Vec::new();
    walk(&v, "", &mut keys);
    assert!(keys.len() > 150, "{}", keys.len());
    let missing: Vec<&String> = keys
        .iter()
        .filter(|(k, _)| !documented(&doc, k))
        .map(|(_, path)| path)
        .collect();
    assert!(missing.is_empty(), "undocumented: {missing:#?}");
    // The NDJSON envelope.
    for word in [
        "header",
        "connection",
        "server",
        "capture",
        "summary",
        "type",
    ] {
        assert!(documented(&doc, &format!("\"{word}\"")) || documented(&doc, word));
    }
}

/// The lines only live capture writes: interim records and stats lines.
#[test]
fn live_ndjson_lines_are_documented() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema.md")).unwrap();
    let mut w = ReportWriter::new(Vec::new(), Format::Ndjson, WriterOptions::default());
    let stats = StatsLine {
        final_: false,
        elapsed_ms: 1000.0,
        last_ts: Some(t(1.0)),
        packets: 3,
        tcp_packets: 3,
        connections_open: 1,
        pcap: Some(PcapStats {
            received: 3,
            dropped: 0,
            if_dropped: 0,
        }),
        rss_bytes: Some(1 << 20),
    };
    w.typed_line("stats", &stats).unwrap();
    let mut interim = conn(1, "10.0.0.1:40000", 0.0).exchange(1.0, 2.0).build();
    interim.final_ = false;
    w.connection(interim).unwrap();
    let out = w
        .finish(CaptureInfo::default(), Vec::new(), Summary::default())
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[1]["type"], "stats");
    assert_eq!(lines[2]["final"], false);
    let mut keys = Vec::new();
    walk(&lines[1], "stats", &mut keys);
    walk(&lines[2], "connection", &mut keys);
    assert!(keys.iter().any(|(k, _)| k == "rss_bytes"));
    assert!(keys.iter().any(|(k, _)| k == "if_dropped"));
    let missing: Vec<&String> = keys
        .iter()
        .filter(|(k, _)| !documented(&doc, k))
        .map(|(_, path)| path)
        .collect();
    assert!(missing.is_empty(), "undocumented: {missing:#?}");
    for word in ["\"type\":\"stats\"", "\"final\":false", "pcap_stats"] {
        assert!(doc.contains(word), "{word} not in docs/schema.md");
    }
}

#[test]
fn every_enum_value_is_documented() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema.md")).unwrap();
    let name = |v: Value| v.as_str().unwrap().to_string();
    let mut values: Vec<String> = Vec::new();
    values.extend(
        CloseReason::ALL
            .iter()
            .map(|r| name(serde_json::to_value(r).unwrap())),
    );
    values.extend(
        Flag::ALL
            .iter()
            .map(|f| name(serde_json::to_value(f).unwrap())),
    );
    for v in [
        serde_json::to_value(DirectionBy::Syn),
        serde_json::to_value(DirectionBy::SynAck),
        serde_json::to_value(DirectionBy::Payload),
        serde_json::to_value(DirectionBy::Port),
        serde_json::to_value(Sides::None),
        serde_json::to_value(Sides::Client),
        serde_json::to_value(Sides::Server),
        serde_json::to_value(Sides::Both),
        serde_json::to_value(CloseBy::Fin),
        serde_json::to_value(CloseBy::Rst),
        serde_json::to_value(EndState::Open),
        serde_json::to_value(EndState::Closing),
        serde_json::to_value(EndState::Closed),
        serde_json::to_value(EndState::Reset),
        serde_json::to_value(EndState::Evicted),
        serde_json::to_value(Protocol::None),
        serde_json::to_value(Protocol::Http1),
        serde_json::to_value(Protocol::Tls),
        serde_json::to_value(Protocol::Http2),
        serde_json::to_value(Protocol::Other),
        serde_json::to_value(Framing::None),
        serde_json::to_value(Framing::ContentLength),
        serde_json::to_value(Framing::Chunked),
        serde_json::to_value(Framing::Close),
        serde_json::to_value(FindingKind::IdleTimeout),
        serde_json::to_value(FindingKind::DeclaredTimeoutMismatch),
        serde_json::to_value(FindingKind::KeepaliveRace),
        serde_json::to_value(FindingKind::MissedReuse),
        serde_json::to_value(FindingKind::TimeWait),
        serde_json::to_value(FindingKind::RequestCap),
        serde_json::to_value(FindingKind::DeadPeer),
        serde_json::to_value(FindingKind::TcpKeepalive),
        serde_json::to_value(FindingKind::ReuseAfterClose),
        serde_json::to_value(FindingKind::PrematureClose),
        serde_json::to_value(FindingKind::CaptureLoss),
    ] {
        values.push(name(v.unwrap()));
    }
    for v in &values {
        assert!(
            doc.contains(&format!("`{v}`")),
            "enum value {v:?} not in docs/schema.md"
        );
    }
    // Every close reason has its numbered rule.
    for r in CloseReason::ALL {
        assert!(
            doc.contains(&format!("**`{}`**", r.as_str())),
            "no rule for {r:?}"
        );
    }
}
