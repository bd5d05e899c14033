//! The capture reader on every supported layout: pcap in both byte orders
//! and resolutions, pcapng with several sections and interfaces, each packet
//! block type, unknown blocks, gzip of both formats.

mod capture_support;

use capture_support::{gzip, payload, read_all, Owned, Pcap, PcapNg};
use keepwatch::capture::{FileFormat, FileReader, FrameSource};

const S: i64 = 1_000_000_000;

fn pcap_sample(big: bool, nanos: bool) -> Vec<u8> {
    let frac = if nanos { 123_456_789 } else { 123_456 };
    Pcap::new(big, nanos, 65_535, 1)
        .record(1_700_000_000, frac, &payload(1, 60), 60)
        .record(1_700_000_001, 0, &payload(2, 54), 1514)
        .record(1_700_000_002, 999, &[], 0)
        .bytes
}

fn check_pcap_sample(frames: &[Owned], nanos: bool) {
    assert_eq!(frames.len(), 3);
    let sub = if nanos { 123_456_789 } else { 123_456_000 };
    assert_eq!(frames[0].ts, 1_700_000_000 * S + sub);
    assert_eq!(frames[0].data, payload(1, 60));
    assert_eq!((frames[0].caplen, frames[0].orig_len), (60, 60));
    assert_eq!(frames[0].link, 1);
    // Cut by the snaplen: the wire length is kept.
    assert_eq!((frames[1].caplen, frames[1].orig_len), (54, 1514));
    assert_eq!(frames[1].data, payload(2, 54));
    let last = if nanos { 999 } else { 999_000 };
    assert_eq!(frames[2].ts, 1_700_000_002 * S + last);
    assert!(frames[2].data.is_empty());
}

#[test]
fn pcap_both_byte_orders_and_resolutions() {
    for big in [false, true] {
        for nanos in [false, true] {
            let (frames, err) = read_all("t.pcap", pcap_sample(big, nanos));
            assert_eq!(err, None, "big={big} nanos={nanos}");
            check_pcap_sample(&frames, nanos);
        }
    }
}

#[test]
fn pcap_reports_format_and_masks_fcs_bits_of_link_type() {
    // Ethernet with "FCS present, 4 bytes" in the top bits, as libpcap
    // writes for some capture cards.
    let bytes = Pcap::new(false, false, 0, 0x1400_0001)
        .record(1, 0, &payload(0, 20), 20)
        .bytes;
    let r = FileReader::from_reader("t.pcap", std::io::Cursor::new(bytes.clone())).unwrap();
    assert_eq!(r.format(), FileFormat::Pcap);
    assert!(!r.is_gzip());
    let (frames, err) = read_all("t.pcap", bytes);
    assert_eq!(err, None);
    assert_eq!(frames[0].link, 1);
}

#[test]
fn pcap_snaplen_zero_means_unlimited_up_to_the_cap() {
    let big = payload(7, 200_000);
    let (frames, err) = read_all(
        "t.pcap",
        Pcap::new(false, false, 0, 101)
            .record(0, 0, &big, 200_000)
            .bytes,
    );
    assert_eq!(err, None);
    assert_eq!(frames[0].data, big);
    assert_eq!(frames[0].link, 101);
}

#[test]
fn pcap_modified_kuznetzov_format() {
    // 0xa1b2cd34: record headers carry 8 more bytes (ifindex, protocol,
    // pkt_type, padding) that the reader skips.
    let mut b = Pcap::new(false, false, 0, 1).bytes;
    b[..4].copy_from_slice(&0xa1b2_cd34u32.to_le_bytes());
    for (i, len) in [(1u8, 40u32), (2, 10)] {
        b.extend_from_slice(&5u32.to_le_bytes());
        b.extend_from_slice(&6u32.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&[0xee; 8]);
        b.extend_from_slice(&payload(i, len as usize));
    }
    let (frames, err) = read_all("t.pcap", b);
    assert_eq!(err, None);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].ts, 5 * S + 6_000);
    assert_eq!(frames[1].data, payload(2, 10));
}

#[test]
fn orig_len_below_caplen_is_raised_to_caplen() {
    let (frames, err) = read_all(
        "t.pcap",
        Pcap::new(false, false, 0, 1)
            .record(0, 0, &payload(0, 30), 10)
            .bytes,
    );
    assert_eq!(err, None);
    assert_eq!((frames[0].caplen, frames[0].orig_len), (30, 30));
}

/// Two sections of opposite byte orders; the first with three interfaces
/// of different link types and time resolutions, an unknown block, a
/// simple and an obsolete packet block.
pub fn pcapng_sample() -> Vec<u8> {
    let b = PcapNg::new().section(false);
    let off = b.tsoffset(100);
    b.interface(1, 0, &[]) // Ethernet, microseconds by default
        .interface(113, 65_535, &[PcapNg::tsresol(9)]) // SLL, nanoseconds
        .interface(101, 0, &[PcapNg::tsresol(0x80 | 10), off]) // raw IP, 2^-10 s, +100 s
        .epb(0, 1_700_000_000_000_001, &payload(1, 60), 60)
        .block(0x0BAD_CAFE, &payload(9, 37)) // unknown: skipped
        .epb(1, 1_700_000_000_123_456_789, &payload(2, 41), 1000)
        .epb(2, 5 * 1024 + 512, &payload(3, 20), 20)
        .spb(100, &payload(4, 100))
        .pb(1, 2_000_000_000_000_000_007, &payload(5, 12), 12)
        .block(5, &payload(8, 16)) // interface statistics: skipped
        .section(true)
        .interface(228, 0, &[])
        .epb(0, 3_000_000, &payload(6, 28), 28)
        .bytes
}

fn check_pcapng_sample(frames: &[Owned]) {
    let got: Vec<(i64, u32, u32, u32)> = frames
        .iter()
        .map(|f| (f.ts, f.link, f.caplen, f.orig_len))
        .collect();
    assert_eq!(
        got,
        vec![
            (1_700_000_000 * S + 1_000, 1, 60, 60),
            (1_700_000_000 * S + 123_456_789, 113, 41, 1000),
            ((100 + 5) * S + S / 2, 101, 20, 20),
            // The simple packet block has no time: it repeats the last one.
            ((100 + 5) * S + S / 2, 1, 100, 100),
            (2_000_000_000 * S + 7, 113, 12, 12),
            // The second section is big-endian; interfaces restart at 0.
            (3 * S, 228, 28, 28),
        ]
    );
    for (i, f) in frames.iter().enumerate() {
        let len = f.caplen as usize;
        assert_eq!(f.data, payload(i as u8 + 1, len), "frame {i}");
    }
}

#[test]
fn pcapng_sections_interfaces_resolutions_and_block_types() {
    let bytes = pcapng_sample();
    let r = FileReader::from_reader("t.pcapng", std::io::Cursor::new(bytes.clone())).unwrap();
    assert_eq!(r.format(), FileFormat::PcapNg);
    let (frames, err) = read_all("t.pcapng", bytes);
    assert_eq!(err, None);
    check_pcapng_sample(&frames);
}

#[test]
fn pcapng_big_endian_first_section() {
    let bytes = PcapNg::new()
        .section(true)
        .interface(1, 0, &[PcapNg::tsresol(3)])
        .epb(0, 1_500, &payload(1, 10), 10)
        .bytes;
    let (frames, err) = read_all("t.pcapng", bytes);
    assert_eq!(err, None);
    assert_eq!(frames[0].ts, S + S / 2);
    assert_eq!(frames[0].data, payload(1, 10));
}

#[test]
fn simple_packet_block_is_cut_by_snaplen_and_bytes_present() {
    let bytes = PcapNg::new()
        .section(false)
        .interface(1, 64, &[])
        .spb(1500, &payload(1, 64))
        // A writer that stored fewer bytes than orig and snaplen allow.
        .spb(1500, &payload(2, 40))
        .spb(10, &payload(3, 12)) // 10 real bytes, 2 bytes of padding
        .bytes;
    let (frames, err) = read_all("t.pcapng", bytes);
    assert_eq!(err, None);
    let lens: Vec<(u32, u32)> = frames.iter().map(|f| (f.caplen, f.orig_len)).collect();
    assert_eq!(lens, vec![(64, 1500), (40, 1500), (10, 10)]);
    assert_eq!(frames[2].data, payload(3, 10));
}

#[test]
fn large_unknown_block_is_streamed_past_not_buffered() {
    let bytes = PcapNg::new()
        .section(false)
        .interface(1, 0, &[])
        .block(0x4000_0BAD, &vec![0x55; 8 << 20])
        .epb(0, 1, &payload(1, 100), 100)
        .bytes;
    let mut r = FileReader::from_reader("t.pcapng", std::io::Cursor::new(bytes)).unwrap();
    let f = r.next_frame().unwrap().unwrap();
    assert_eq!(f.data, payload(1, 100).as_slice());
    assert!(matches!(r.next_frame(), Ok(None)));
    assert_eq!(r.buffer_bytes(), keepwatch::capture::READ_AHEAD_BYTES);
}

#[test]
fn buffer_does_not_grow_with_the_number_of_packets() {
    let mut b = Pcap::new(false, false, 0, 1);
    for i in 0..10_000u32 {
        b = b.record(i, 0, &payload(i as u8, 60 + (i % 40) as usize), 100);
    }
    let mut r = FileReader::from_reader("t.pcap", std::io::Cursor::new(b.bytes)).unwrap();
    let mut n = 0;
    while let Some(f) = r.next_frame().unwrap() {
        assert_eq!(f.data.len(), 60 + (n % 40) as usize);
        n += 1;
    }
    assert_eq!(n, 10_000);
    assert_eq!(r.buffer_bytes(), keepwatch::capture::READ_AHEAD_BYTES);
}

#[test]
fn gzip_is_detected_by_magic_for_both_formats() {
    let r = FileReader::from_reader(
        "no-gz-suffix",
        std::io::Cursor::new(gzip(&pcap_sample(true, true))),
    )
    .unwrap();
    assert!(r.is_gzip());
    assert_eq!(r.format(), FileFormat::Pcap);
    let (frames, err) = read_all("x", gzip(&pcap_sample(true, true)));
    assert_eq!(err, None);
    check_pcap_sample(&frames, true);

    let (frames, err) = read_all("x", gzip(&pcapng_sample()));
    assert_eq!(err, None);
    check_pcapng_sample(&frames);
}

#[test]
fn concatenated_gzip_members_are_one_stream() {
    // `cat a.gz b.gz` style: the second member continues the capture.
    let bytes = pcap_sample(false, false);
    let (a, b) = bytes.split_at(50);
    let mut joined = gzip(a);
    joined.extend_from_slice(&gzip(b));
    let (frames, err) = read_all("x", joined);
    assert_eq!(err, None);
    check_pcap_sample(&frames, false);
}

#[test]
fn backwards_timestamps_pass_through_unchanged() {
    let (frames, err) = read_all(
        "t.pcap",
        Pcap::new(false, false, 0, 1)
            .record(100, 5, &[1], 1)
            .record(50, 0, &[2], 1)
            .record(100, 4, &[3], 1)
            .bytes,
    );
    assert_eq!(err, None);
    let ts: Vec<i64> = frames.iter().map(|f| f.ts).collect();
    assert_eq!(ts, vec![100 * S + 5_000, 50 * S, 100 * S + 4_000]);

    let (frames, err) = read_all(
        "t.pcapng",
        PcapNg::new()
            .section(false)
            .interface(1, 0, &[])
            .epb(0, 9_000_000, &[1], 1)
            .epb(0, 1_000_000, &[2], 1)
            .bytes,
    );
    assert_eq!(err, None);
    let ts: Vec<i64> = frames.iter().map(|f| f.ts).collect();
    assert_eq!(ts, vec![9 * S, S]);
}

#[test]
fn negative_tsoffset_and_huge_timestamps_do_not_overflow() {
    let b = PcapNg::new().section(false);
    let off = b.tsoffset(-2_000_000_000);
    let (frames, err) = read_all(
        "t.pcapng",
        b.interface(1, 0, &[PcapNg::tsresol(0), off])
            .epb(0, u64::MAX, &[1], 1)
            .epb(0, 1_000_000_000, &[2], 1)
            .bytes,
    );
    assert_eq!(err, None);
    assert_eq!(frames[0].ts, i64::MAX);
    assert_eq!(frames[1].ts, -1_000_000_000 * S);
}

#[test]
fn records_straddling_map_windows_are_read_whole() {
    // Enough records of awkward sizes that several cross each window
    // boundary, one of the largest allowed size among them.
    let window = keepwatch::capture::MAP_WINDOW_BYTES;
    let mut b = Pcap::new(false, false, 0, 1);
    let mut i = 0u32;
    while b.bytes.len() < 3 * window {
        let len = if i == 7 {
            keepwatch::capture::MAX_RECORD_BYTES as usize
        } else {
            1 + (i as usize * 7919) % 9000
        };
        b = b.record(i, 0, &payload(i as u8, len), len as u32);
        i += 1;
    }
    let crossing = b
        .records
        .iter()
        .filter(|(s, e)| s / window != (e - 1) / window)
        .count();
    assert!(crossing >= 2, "{crossing} records cross a window boundary");
    let path = capture_support::temp_file(&b.bytes);
    let mut r = keepwatch::capture::open(&path).unwrap();
    assert!(r.is_mapped());
    let mut n = 0u32;
    while let Some(f) = r.next_frame().unwrap() {
        let len = b.records[n as usize].1 - b.records[n as usize].0 - 16;
        assert_eq!(f.data, payload(n as u8, len).as_slice(), "record {n}");
        n += 1;
    }
    let _ = std::fs::remove_file(&path);
    assert_eq!(n, i);
}

#[test]
fn unknown_blocks_larger_than_a_window_are_skipped_in_a_mapped_file() {
    let window = keepwatch::capture::MAP_WINDOW_BYTES;
    let bytes = PcapNg::new()
        .section(false)
        .interface(1, 0, &[])
        .epb(0, 1, &payload(1, 100), 100)
        .block(0x4000_0BAD, &vec![0x55; window + 4096])
        .epb(0, 2, &payload(2, 100), 100)
        .bytes;
    let (frames, err) = read_all("t.pcapng", bytes);
    assert!(err.is_none());
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].data, payload(2, 100));
}

#[test]
fn gzip_files_and_pipes_are_streamed_regular_files_mapped() {
    let path = capture_support::temp_file(&gzip(&pcap_sample(false, false)));
    assert!(!keepwatch::capture::open(&path).unwrap().is_mapped());
    std::fs::write(&path, pcap_sample(false, false)).unwrap();
    assert!(keepwatch::capture::open(&path).unwrap().is_mapped());
    let _ = std::fs::remove_file(&path);
}
