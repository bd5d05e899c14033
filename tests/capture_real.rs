//! Captures written by dumpcap and tcpdump read exactly as tshark reads
//! them: same frames, timestamps to the nanosecond, captured and wire
//! lengths, link types. How the files were made: tests/capture_data/README.md.

mod capture_support;

use capture_support::{gzip, read_all, Owned};
use keepwatch::capture::{open, FrameSource};

fn data(name: &str) -> String {
    format!("{}/tests/capture_data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// tshark's `time_epoch cap_len len encap_type` lines, as our frames.
fn expected(name: &str) -> Vec<(i64, u32, u32, u32)> {
    let text = std::fs::read_to_string(data(&format!("{name}.tshark.txt"))).expect("tshark output");
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let (secs, frac) = f[0].split_once('.').expect("epoch with fraction");
            let ns = secs.parse::<i64>().unwrap() * 1_000_000_000 + frac.parse::<i64>().unwrap();
            // Wireshark's encapsulation numbers to LINKTYPE_* numbers.
            let link = match f[3] {
                "1" => 1,
                "25" => 113,
                "210" => 276,
                other => panic!("unexpected encapsulation {other}"),
            };
            (ns, f[1].parse().unwrap(), f[2].parse().unwrap(), link)
        })
        .collect()
}

fn summary(frames: &[Owned]) -> Vec<(i64, u32, u32, u32)> {
    frames
        .iter()
        .map(|f| (f.ts, f.caplen, f.orig_len, f.link))
        .collect()
}

#[test]
fn dumpcap_pcapng_with_two_interfaces() {
    let bytes = std::fs::read(data("real-dumpcap.pcapng")).unwrap();
    let want = expected("real-dumpcap.pcapng");
    assert_eq!(want.len(), 24);
    let (frames, err) = read_all("real-dumpcap.pcapng", bytes.clone());
    assert_eq!(err, None);
    assert_eq!(summary(&frames), want);
    let (frames, err) = read_all("real-dumpcap.pcapng.gz", gzip(&bytes));
    assert_eq!(err, None);
    assert_eq!(summary(&frames), want);
}

#[test]
fn tcpdump_nanosecond_pcap_sll2() {
    let want = expected("real-tcpdump-any-ns.pcap");
    assert_eq!(want.len(), 12);
    let mut r = open(&data("real-tcpdump-any-ns.pcap")).unwrap();
    let mut got = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        got.push((f.ts.nanos(), f.caplen, f.orig_len, f.link.0));
    }
    assert_eq!(got, want);
}
