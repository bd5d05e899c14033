//! Hostile input for the capture reader: truncation at every byte offset,
//! bad magic, empty files, absurd lengths, corrupt pcapng blocks. Each case
//! asserts the frames kept, the severity, the offset and the exact message.

mod capture_support;

use capture_support::{gzip, payload, read_all, Pcap, PcapNg, EPB};
use keepwatch::capture::{CaptureErrorKind, Severity, MAX_BLOCK_BYTES, MAX_RECORD_BYTES};

fn message(name: &str, bytes: Vec<u8>) -> (usize, String, Severity, u64) {
    let (frames, err) = read_all(name, bytes);
    let err = err.expect("an error");
    (frames.len(), err.to_string(), err.severity(), err.offset)
}

fn small_pcap() -> Pcap {
    Pcap::new(false, false, 0, 1)
        .record(1, 1, &payload(1, 42), 42)
        .record(2, 2, &payload(2, 7), 7)
        .record(3, 3, &[], 0)
        .record(4, 4, &payload(4, 13), 13)
}

fn small_pcapng() -> PcapNg {
    PcapNg::new()
        .section(false)
        .interface(1, 0, &[PcapNg::tsresol(9)])
        .epb(0, 10, &payload(1, 33), 33)
        .block(0x0BAD_CAFE, &payload(9, 20))
        .spb(8, &payload(2, 8))
        .section(true)
        .interface(101, 0, &[])
        .pb(0, 20, &payload(3, 5), 5)
        .epb(0, 30, &payload(4, 64), 64)
}

#[test]
fn pcap_truncated_at_every_byte_offset() {
    let cap = small_pcap();
    let full = cap.bytes.len();
    for cut in 0..=full {
        let (frames, err) = read_all("t.pcap", cap.bytes[..cut].to_vec());
        // Frames are exactly the records that lie wholly before the cut.
        let whole = cap.records.iter().filter(|r| r.1 <= cut).count();
        assert_eq!(frames.len(), whole, "cut at {cut}");
        for (i, f) in frames.iter().enumerate() {
            let want = [42, 7, 0, 13][i];
            assert_eq!(f.data, payload([1, 2, 3, 4][i], want), "cut at {cut}");
        }
        let at_boundary = cut == full || cut == 24 || cap.records.iter().any(|r| r.1 == cut);
        match (cut, err) {
            (0, Some(e)) => assert_eq!(
                e.to_string(),
                "t.pcap: empty file, not a pcap or pcapng file"
            ),
            (1..=3, Some(e)) => {
                assert!(matches!(e.kind, CaptureErrorKind::NotACapture { .. }));
                assert_eq!(e.severity(), Severity::Error);
            }
            (_, None) => assert!(at_boundary && cut >= 24, "cut at {cut}: no error"),
            (_, Some(e)) => {
                assert!(!at_boundary || cut < 24, "cut at {cut}: {e}");
                assert_eq!(e.severity(), Severity::Warning, "cut at {cut}: {e}");
                let start = cap
                    .records
                    .iter()
                    .find(|r| r.0 < cut && cut < r.1)
                    .map_or(0, |r| r.0);
                assert_eq!(e.offset, start as u64, "cut at {cut}");
                match e.kind {
                    CaptureErrorKind::Truncated { needed, available } => {
                        assert_eq!(available, (cut - start) as u64, "cut at {cut}");
                        assert!(needed > available, "cut at {cut}");
                    }
                    k => panic!("cut at {cut}: {k:?}"),
                }
            }
        }
    }
}

#[test]
fn pcapng_truncated_at_every_byte_offset() {
    let cap = small_pcapng();
    let full = cap.bytes.len();
    let packets: Vec<(usize, usize)> = cap
        .blocks
        .iter()
        .filter(|b| b.2)
        .map(|b| (b.0, b.1))
        .collect();
    assert_eq!(packets.len(), 4);
    for cut in 0..=full {
        let (frames, err) = read_all("t.pcapng", cap.bytes[..cut].to_vec());
        let whole = packets.iter().filter(|p| p.1 <= cut).count();
        assert_eq!(frames.len(), whole, "cut at {cut}");
        let at_boundary = cut == full || cap.blocks.iter().any(|b| b.1 == cut);
        match (cut, err) {
            (0..=3, Some(e)) => {
                assert!(matches!(e.kind, CaptureErrorKind::NotACapture { .. }));
            }
            (_, None) => assert!(at_boundary, "cut at {cut}: no error"),
            (_, Some(e)) => {
                assert!(!at_boundary, "cut at {cut}: {e}");
                assert_eq!(e.severity(), Severity::Warning, "cut at {cut}: {e}");
                let start = cap
                    .blocks
                    .iter()
                    .find(|b| b.0 < cut && cut < b.1)
                    .map(|b| b.0)
                    .expect("cut inside a block");
                assert_eq!(e.offset, start as u64, "cut at {cut}");
                match e.kind {
                    CaptureErrorKind::Truncated { needed, available } => {
                        assert_eq!(available, (cut - start) as u64, "cut at {cut}");
                        assert!(needed > available, "cut at {cut}");
                    }
                    k => panic!("cut at {cut}: {k:?}"),
                }
            }
        }
    }
}

#[test]
fn gzip_truncated_at_every_byte_offset() {
    for (name, bytes, total) in [
        ("t.pcap.gz", small_pcap().bytes, 4),
        ("t.pcapng.gz", small_pcapng().bytes, 4),
    ] {
        let gz = gzip(&bytes);
        let (frames, err) = read_all(name, gz.clone());
        assert_eq!((frames.len(), err), (total, None));
        for cut in 0..gz.len() {
            let (frames, err) = read_all(name, gz[..cut].to_vec());
            assert!(frames.len() <= total, "{name} cut at {cut}");
            // Even a cut in the gzip trailer (CRC and length) is reported:
            // the decoder says the stream ended early.
            let e = err.unwrap_or_else(|| panic!("{name} cut at {cut}: no problem"));
            assert!(
                matches!(
                    e.kind,
                    CaptureErrorKind::Truncated { .. } | CaptureErrorKind::NotACapture { .. }
                ),
                "{name} cut at {cut}: {e}"
            );
            if cut >= gz.len() - 8 {
                assert_eq!(frames.len(), total, "{name} cut at {cut}");
                assert_eq!(e.severity(), Severity::Warning);
            }
        }
    }
}

#[test]
fn zero_length_file() {
    let (n, msg, sev, off) = message("empty.pcap", Vec::new());
    assert_eq!(
        (n, msg.as_str(), sev, off),
        (
            0,
            "empty.pcap: empty file, not a pcap or pcapng file",
            Severity::Error,
            0
        )
    );
}

#[test]
fn empty_gzip_member_is_an_empty_capture() {
    let (_, msg, _, _) = message("e.gz", gzip(&[]));
    assert_eq!(msg, "e.gz: empty file, not a pcap or pcapng file");
}

#[test]
fn bad_magic() {
    let (n, msg, sev, _) = message("notes.txt", b"GET / HTTP/1.1\r\n".to_vec());
    assert_eq!(n, 0);
    assert_eq!(
        msg,
        "notes.txt: not a pcap or pcapng file (first bytes 0x47455420)"
    );
    assert_eq!(sev, Severity::Error);
    let (_, msg, _, _) = message("short", vec![0xd4, 0xc3]);
    assert_eq!(msg, "short: not a pcap or pcapng file (first bytes 0xd4c3)");
    let (_, msg, _, _) = message("x.gz", gzip(b"\x7fELF...."));
    assert_eq!(
        msg,
        "x.gz: not a pcap or pcapng file (first bytes 0x7f454c46)"
    );
}

#[test]
fn pcap_record_length_of_4_gib() {
    let bytes = small_pcap()
        .raw_record(5, 0, u32::MAX, u32::MAX, &payload(5, 100))
        .bytes;
    let offset = small_pcap().bytes.len();
    let (n, msg, sev, off) = message("big.pcap", bytes);
    assert_eq!((n, sev, off), (4, Severity::Error, offset as u64));
    assert_eq!(
        msg,
        format!(
            "big.pcap: corrupt at byte offset {offset}: record length 4294967295 exceeds the limit of 262144; reading of this file stopped"
        )
    );
}

#[test]
fn pcap_record_longer_than_snaplen() {
    let bytes = Pcap::new(true, false, 64, 1)
        .record(1, 0, &payload(1, 64), 1500)
        .record(2, 0, &payload(2, 65), 1500)
        .bytes;
    let (n, msg, _, _) = message("s.pcap", bytes);
    assert_eq!(n, 1);
    assert_eq!(
        msg,
        "s.pcap: corrupt at byte offset 104: record length 65 exceeds the limit of 64; reading of this file stopped"
    );
}

#[test]
fn pcap_record_one_byte_over_the_cap() {
    let over = MAX_RECORD_BYTES + 1;
    let bytes = Pcap::new(false, false, u32::MAX, 1)
        .raw_record(0, 0, over, over, &[])
        .bytes;
    let (_, msg, _, off) = message("c.pcap", bytes);
    assert_eq!(off, 24);
    assert_eq!(
        msg,
        "c.pcap: corrupt at byte offset 24: record length 262145 exceeds the limit of 262144; reading of this file stopped"
    );
}

#[test]
fn pcapng_packet_length_of_4_gib() {
    let base = PcapNg::new().section(false).interface(1, 0, &[]);
    let offset = base.bytes.len();
    let bytes = base.epb_raw(0, 0, u32::MAX, u32::MAX, &payload(0, 8)).bytes;
    let (_, msg, sev, _) = message("big.pcapng", bytes);
    assert_eq!(sev, Severity::Error);
    assert_eq!(
        msg,
        format!("big.pcapng: corrupt at byte offset {offset}: record length 4294967295 exceeds the limit of 262144; reading of this file stopped")
    );
}

#[test]
fn pcapng_captured_length_past_the_block() {
    let base = PcapNg::new().section(false).interface(1, 0, &[]);
    let offset = base.bytes.len();
    let bytes = base.epb_raw(0, 0, 100, 100, &payload(0, 8)).bytes;
    let (_, msg, _, _) = message("p.pcapng", bytes);
    assert_eq!(
        msg,
        format!("p.pcapng: corrupt at byte offset {offset}: enhanced packet block captured length 100 runs past the end of the block; reading of this file stopped")
    );
}

#[test]
fn pcapng_block_length_not_a_multiple_of_4() {
    let base = PcapNg::new().section(false).interface(1, 0, &[]);
    let offset = base.bytes.len();
    let bytes = base
        .block_with_lengths(EPB, 46, &payload(0, 32), 46)
        .epb(0, 0, &[1], 1)
        .bytes;
    let (n, msg, sev, off) = message("m.pcapng", bytes);
    assert_eq!((n, sev, off), (0, Severity::Error, offset as u64));
    assert_eq!(
        msg,
        format!("m.pcapng: corrupt at byte offset {offset}: enhanced packet block (type 0x00000006) length 46 is not a multiple of 4; reading of this file stopped")
    );
}

#[test]
fn pcapng_block_length_below_the_minimum() {
    let base = PcapNg::new().section(false).interface(1, 0, &[]);
    let offset = base.bytes.len();
    let (_, msg, _, _) = message(
        "m.pcapng",
        base.clone_bytes_with(|b| b.block_with_lengths(0x99, 8, &[], 8)),
    );
    assert_eq!(
        msg,
        format!("m.pcapng: corrupt at byte offset {offset}: block (type 0x00000099) length 8 is less than the minimum of 12; reading of this file stopped")
    );
    let (_, msg, _, _) = message(
        "m.pcapng",
        base.clone_bytes_with(|b| b.block_with_lengths(EPB, 28, &[0; 16], 28)),
    );
    assert_eq!(
        msg,
        format!("m.pcapng: corrupt at byte offset {offset}: enhanced packet block (type 0x00000006) length 28 is less than the minimum of 32; reading of this file stopped")
    );
}

#[test]
fn pcapng_block_length_pointing_past_the_end() {
    let base = PcapNg::new().section(false).interface(1, 0, &[]);
    let offset = base.bytes.len();
    let bytes = base
        .block_with_lengths(EPB, 4096, &payload(0, 40), 4096)
        .bytes;
    let present = bytes.len() - offset;
    let (n, msg, sev, off) = message("p.pcapng", bytes);
    assert_eq!((n, sev, off), (0, Severity::Warning, offset as u64));
    assert_eq!(
        msg,
        format!("p.pcapng: truncated at byte offset {offset}: record needs 4096 bytes, {present} present; results up to there kept")
    );
    // An unknown block pointing past the end is streamed, and truncated the
    // same way.
    let base = PcapNg::new().section(false);
    let offset = base.bytes.len();
    let bytes = base.block_with_lengths(0x77, 0x00F0_0000, &[0; 8], 0).bytes;
    let (_, msg, sev, _) = message("u.pcapng", bytes);
    assert_eq!(sev, Severity::Warning);
    assert_eq!(
        msg,
        format!("u.pcapng: truncated at byte offset {offset}: record needs 15728640 bytes, 20 present; results up to there kept")
    );
}

#[test]
fn pcapng_block_length_over_the_cap() {
    let base = PcapNg::new().section(false);
    let offset = base.bytes.len();
    let bytes = base
        .block_with_lengths(0x77, MAX_BLOCK_BYTES + 4, &[0; 8], 0)
        .bytes;
    let (_, msg, sev, _) = message("c.pcapng", bytes);
    assert_eq!(sev, Severity::Error);
    assert_eq!(
        msg,
        format!("c.pcapng: corrupt at byte offset {offset}: record length 16777220 exceeds the limit of 16777216; reading of this file stopped")
    );
}

#[test]
fn pcapng_trailing_length_differs() {
    let base = PcapNg::new()
        .section(false)
        .interface(1, 0, &[])
        .epb(0, 0, &[1, 2, 3], 3);
    let offset = base.bytes.len();
    let bytes = base
        .block_with_lengths(0x0BAD, 16, &[0; 4], 20)
        .epb(0, 0, &[4], 1)
        .bytes;
    let (n, msg, _, _) = message("t.pcapng", bytes);
    assert_eq!(n, 1);
    assert_eq!(
        msg,
        format!("t.pcapng: corrupt at byte offset {offset}: block (type 0x00000bad) trailing length 20 differs from its leading length 16; reading of this file stopped")
    );
}

#[test]
fn pcapng_unknown_interface_id() {
    let base = PcapNg::new()
        .section(false)
        .interface(1, 0, &[])
        .interface(1, 0, &[])
        .epb(1, 0, &[1], 1);
    let offset = base.bytes.len();
    let (n, msg, sev, _) = message("i.pcapng", base.epb(2, 0, &[2], 1).bytes);
    assert_eq!((n, sev), (1, Severity::Error));
    assert_eq!(
        msg,
        format!("i.pcapng: corrupt at byte offset {offset}: enhanced packet block refers to interface 2, but the section defines 2 interfaces; reading of this file stopped")
    );
    // A new section forgets the interfaces of the one before.
    let base = PcapNg::new()
        .section(false)
        .interface(1, 0, &[])
        .section(false);
    let offset = base.bytes.len();
    let (_, msg, _, _) = message("i.pcapng", base.pb(0, 0, &[2], 1).bytes);
    assert_eq!(
        msg,
        format!("i.pcapng: corrupt at byte offset {offset}: packet block refers to interface 0, but the section defines 0 interfaces; reading of this file stopped")
    );
    let (_, msg, _, _) = message(
        "i.pcapng",
        PcapNg::new().section(true).spb(4, &[1, 2, 3, 4]).bytes,
    );
    assert_eq!(
        msg,
        "i.pcapng: corrupt at byte offset 28: simple packet block, but the section defines no interface; reading of this file stopped"
    );
}

#[test]
fn pcapng_bad_byte_order_magic_and_version() {
    let mut bytes = PcapNg::new().section(false).bytes;
    bytes[8..12].copy_from_slice(&[1, 2, 3, 4]);
    let (_, msg, _, _) = message("b.pcapng", bytes);
    assert_eq!(
        msg,
        "b.pcapng: corrupt at byte offset 0: section header block byte-order magic 0x01020304 is not 0x1a2b3c4d in either byte order; reading of this file stopped"
    );
    let mut bytes = PcapNg::new().section(true).bytes;
    bytes[12..14].copy_from_slice(&[0, 2]);
    let (_, msg, _, _) = message("b.pcapng", bytes);
    assert_eq!(
        msg,
        "b.pcapng: corrupt at byte offset 0: unsupported pcapng version 2.0; reading of this file stopped"
    );
}

#[test]
fn pcapng_unusable_tsresol() {
    let base = PcapNg::new().section(false).interface(1, 0, &[]);
    let offset = base.bytes.len();
    let (_, msg, _, _) = message(
        "r.pcapng",
        base.interface(1, 0, &[PcapNg::tsresol(0x80 | 64)]).bytes,
    );
    assert_eq!(
        msg,
        format!("r.pcapng: corrupt at byte offset {offset}: interface 1: if_tsresol 0xc0 is finer than a 64-bit timestamp can count; reading of this file stopped")
    );
}

#[test]
fn missing_file_cannot_be_opened() {
    let e = keepwatch::capture::open("/nonexistent/keepwatch-test.pcap")
        .err()
        .expect("an error");
    assert_eq!(e.severity(), Severity::Error);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/keepwatch-test.pcap: cannot open: "),
        "{e}"
    );
}

#[test]
fn pcap_truncated_inside_the_file_header() {
    let bytes = Pcap::new(false, false, 0, 1).bytes[..10].to_vec();
    let (_, msg, sev, _) = message("h.pcap", bytes);
    assert_eq!(sev, Severity::Warning);
    assert_eq!(
        msg,
        "h.pcap: truncated at byte offset 0: record needs 24 bytes, 10 present; results up to there kept"
    );
}

/// Cheap clone for building variants of one prefix.
trait CloneWith {
    fn clone_bytes_with(&self, f: impl FnOnce(PcapNg) -> PcapNg) -> Vec<u8>;
}

impl CloneWith for PcapNg {
    fn clone_bytes_with(&self, f: impl FnOnce(PcapNg) -> PcapNg) -> Vec<u8> {
        let mut copy = PcapNg::new();
        copy.bytes = self.bytes.clone();
        f(copy).bytes
    }
}

#[test]
fn every_byte_mutated_never_panics() {
    // Each byte of a small capture of each format set to values that turn
    // lengths, magics and ids hostile; reading must end cleanly each time.
    for (name, bytes) in [
        ("m.pcap", small_pcap().bytes),
        ("m.pcapng", small_pcapng().bytes),
    ] {
        for at in 0..bytes.len() {
            for v in [0x00, 0xff, 0x80, 0x7f, bytes[at].wrapping_add(1)] {
                let mut b = bytes.clone();
                b[at] = v;
                let (frames, err) = read_all(name, b);
                assert!(
                    frames.len() <= bytes.len() / 16,
                    "{name} byte {at} = {v:#x}"
                );
                if let Some(e) = err {
                    assert!(
                        e.offset <= bytes.len() as u64,
                        "{name} byte {at} = {v:#x}: {e}"
                    );
                }
            }
        }
    }
}

#[test]
fn broken_gzip_stream_is_a_read_error_at_its_offset() {
    let mut b = Pcap::new(false, false, 0, 1);
    for i in 0..50u8 {
        b = b.record(1, 1, &payload(i, 200), 200);
    }
    let len = b.bytes.len();
    let mut gz = gzip(&b.bytes);
    // The CRC-32 in the gzip trailer: every packet decompresses, then the
    // check fails where the stream ends.
    let crc_at = gz.len() - 6;
    gz[crc_at] ^= 0x55;
    let (frames, err) = read_all("x.gz", gz);
    let e = err.expect("an error");
    assert_eq!(frames.len(), 50);
    assert_eq!(e.severity(), Severity::Error);
    assert_eq!(e.offset, len as u64);
    assert!(matches!(e.kind, CaptureErrorKind::Io { .. }));
    assert!(
        e.to_string()
            .starts_with(&format!("x.gz: read error at byte offset {len}: ")),
        "{e}"
    );
}
