//! The built binary reading captures: standard input as `-`, and the exit
//! code and message for a file that is not a capture or is truncated.

mod capture_support;

use capture_support::{gzip, payload, Pcap, PcapNg};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn keepwatch(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keepwatch"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the keepwatch binary runs");
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    // Written from a thread so a child that stops reading cannot block us.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("keepwatch finishes");
    writer.join().expect("stdin writer");
    out
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("keepwatch-capture-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("temp file");
    path
}

fn three_packets() -> Vec<u8> {
    Pcap::new(false, false, 0, 1)
        .record(1_700_000_000, 0, &payload(1, 60), 60)
        .record(1_700_000_001, 0, &payload(2, 60), 60)
        .record(1_700_000_002, 500_000, &payload(3, 60), 60)
        .bytes
}

#[test]
fn reads_a_pcap_from_standard_input() {
    let out = keepwatch(&["-F", "json", "-"], &three_packets());
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["capture"]["packets"], 3);
    assert_eq!(v["capture"]["bytes"], 180);
    assert_eq!(v["capture"]["files"][0]["path"], "-");
    assert_eq!(v["capture"]["files"][0]["format"], "pcap");
    assert_eq!(v["capture"]["files"][0]["packets"], 3);
    assert_eq!(v["capture"]["first_ts"], "2023-11-14T22:13:20.000000Z");
    assert_eq!(v["capture"]["last_ts"], "2023-11-14T22:13:22.500000Z");
}

#[test]
fn reads_gzipped_pcapng_from_standard_input() {
    let bytes = PcapNg::new()
        .section(false)
        .interface(1, 0, &[])
        .interface(101, 0, &[])
        .epb(0, 1, &payload(1, 60), 60)
        .epb(1, 2, &payload(2, 40), 40)
        .bytes;
    let out = keepwatch(&["-F", "json", "-"], &gzip(&bytes));
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["capture"]["packets"], 2);
    assert_eq!(v["capture"]["files"][0]["format"], "pcapng");
    assert_eq!(v["capture"]["files"][0]["gzip"], true);
    assert_eq!(v["capture"]["link_types"]["1"], 1);
    assert_eq!(v["capture"]["link_types"]["101"], 1);
}

#[test]
fn several_files_are_one_capture() {
    let a = temp_file("a.pcap", &three_packets());
    let b = temp_file("b.pcap.gz", &gzip(&three_packets()));
    let out = keepwatch(
        &["-F", "json", a.to_str().unwrap(), b.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["capture"]["packets"], 6);
    assert_eq!(v["capture"]["files"][1]["gzip"], true);
    let _ = std::fs::remove_file(a);
    let _ = std::fs::remove_file(b);
}

#[test]
fn a_file_that_is_not_a_capture_exits_1_with_the_exact_message() {
    let path = temp_file("notes.txt", b"hello, world\n");
    let p = path.to_str().unwrap();
    let out = keepwatch(&["-F", "json", p], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("keepwatch: error: {p}: not a pcap or pcapng file (first bytes 0x68656c6c)\n")
    );
    // The report of what was read is still written.
    assert_eq!(json(&out)["capture"]["packets"], 0);
    let _ = std::fs::remove_file(path);
}

#[test]
fn an_empty_file_exits_1_with_the_exact_message() {
    let path = temp_file("empty.pcap", &[]);
    let p = path.to_str().unwrap();
    let out = keepwatch(&["-F", "json", p], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("keepwatch: error: {p}: empty file, not a pcap or pcapng file\n")
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_truncated_capture_warns_and_exits_0() {
    let bytes = three_packets();
    let cut = bytes.len() - 10;
    let out = keepwatch(&["-F", "json", "-"], &bytes[..cut]);
    assert_eq!(out.status.code(), Some(0));
    let start = 24 + 2 * 76;
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("keepwatch: warning: -: truncated at byte offset {start}: record needs 76 bytes, 66 present; results up to there kept\n")
    );
    assert_eq!(json(&out)["capture"]["packets"], 2);
}
