//! Golden reports: every capture in `testdata/` (top level) has a
//! `NAME.expected.json` beside it, and the JSON report of the capture must
//! equal it, apart from the fields documented as volatile in
//! docs/schema.md (`tool.version`).
//!
//! When output changes on purpose, rewrite the goldens with
//! `KEEPWATCH_BLESS=1 cargo test --test golden` and review the diff in the
//! commit.

use keepwatch::report::{Format, ReportWriter, WriterOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("testdata")
        .expect("testdata/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            p.is_file()
                && (n.ends_with(".pcap")
                    || n.ends_with(".pcapng")
                    || n.ends_with(".pcap.gz")
                    || n.ends_with(".pcapng.gz"))
        })
        .collect();
    v.sort();
    v
}

fn golden_path(capture: &Path) -> PathBuf {
    let name = capture.file_name().unwrap().to_str().unwrap();
    let stem = name
        .trim_end_matches(".gz")
        .trim_end_matches(".pcapng")
        .trim_end_matches(".pcap");
    capture.with_file_name(format!("{stem}.expected.json"))
}

/// Runs the library exactly as `keepwatch -F json FILE` does.
fn report_of(capture: &Path) -> Value {
    let mut out = Vec::new();
    let writer = ReportWriter::new(&mut out, Format::Json, WriterOptions::default());
    let path = capture.to_str().unwrap().to_string();
    keepwatch::analyze_files(&[path], keepwatch::Config::default(), writer).unwrap();
    let mut v: Value = serde_json::from_slice(&out).expect("the JSON report parses");
    strip_volatile(&mut v);
    v
}

fn strip_volatile(v: &mut Value) {
    if let Some(tool) = v.get_mut("tool").and_then(Value::as_object_mut) {
        tool.remove("version");
    }
}

#[test]
fn every_capture_matches_its_golden_report() {
    let bless = std::env::var_os("KEEPWATCH_BLESS").is_some();
    let caps = captures();
    assert!(!caps.is_empty(), "no captures in testdata/");
    let mut failures = Vec::new();
    for cap in &caps {
        let got = report_of(cap);
        let golden = golden_path(cap);
        if bless {
            let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
            std::fs::write(&golden, text).unwrap();
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Err(_) => failures.push(format!(
                "{}: no golden report {} (write it with KEEPWATCH_BLESS=1 cargo test --test golden)",
                cap.display(),
                golden.display()
            )),
            Ok(text) => {
                let want: Value = serde_json::from_str(&text).unwrap();
                if want != got {
                    failures.push(format!(
                        "{}: report differs from {}; first difference at {}",
                        cap.display(),
                        golden.display(),
                        first_difference(&want, &got, String::new())
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// JSON pointer-like path of the first difference, for a readable failure.
fn first_difference(a: &Value, b: &Value, at: String) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    None => return format!("{at}/{k} (missing in output)"),
                    Some(vb) if va != vb => return first_difference(va, vb, format!("{at}/{k}")),
                    _ => {}
                }
            }
            for k in y.keys() {
                if !x.contains_key(k) {
                    return format!("{at}/{k} (new in output)");
                }
            }
            at
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                if va != vb {
                    return first_difference(va, vb, format!("{at}/{i}"));
                }
            }
            format!("{at} (lengths {} vs {})", x.len(), y.len())
        }
        _ => format!("{at}: expected {a}, got {b}"),
    }
}
