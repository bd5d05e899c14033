//! Real captures of every supported link type and tunnel kind
//! (testdata/linktypes, see its README): the decoder finds exactly as many
//! TCP segments as `tshark -Y tcp`, and the same segments whatever the
//! encapsulation.

use keepwatch::capture::{Frame, LinkType};
use keepwatch::decode::{decode, NetTag, Segment};
use keepwatch::time::Timestamp;
use std::path::PathBuf;

/// A classic pcap file, whole in memory: just enough of a reader for these
/// tests (the real one lives in `capture`).
struct Pcap {
    data: Vec<u8>,
    big: bool,
    link: LinkType,
}

impl Pcap {
    fn open(name: &str) -> Pcap {
        let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "testdata", "linktypes", name]
            .iter()
            .collect();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let magic = u32::from_le_bytes(data[0..4].try_into().unwrap());
        let big = match magic {
            0xa1b2_c3d4 | 0xa1b2_3c4d => false,
            0xd4c3_b2a1 | 0x4d3c_b2a1 => true,
            m => panic!("{name}: not a classic pcap (magic {m:#x})"),
        };
        let mut p = Pcap {
            data,
            big,
            link: LinkType(0),
        };
        p.link = LinkType(p.u32_at(20));
        p
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b: [u8; 4] = self.data[at..at + 4].try_into().unwrap();
        if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    /// Every record as a frame.
    fn frames(&self) -> Vec<Frame<'_>> {
        let mut out = Vec::new();
        let mut at = 24;
        while at + 16 <= self.data.len() {
            let caplen = self.u32_at(at + 8);
            let orig_len = self.u32_at(at + 12);
            let start = at + 16;
            let end = start + caplen as usize;
            out.push(Frame {
                ts: Timestamp::from_parts(
                    self.u32_at(at) as i64,
                    self.u32_at(at + 4) as u64,
                    1_000_000,
                ),
                caplen,
                orig_len,
                link: self.link,
                data: &self.data[start..end],
            });
            at = end;
        }
        assert_eq!(at, self.data.len(), "records end with the file");
        out
    }
}

/// `(file, link type, tshark -r F | wc -l, tshark -r F -Y tcp | wc -l,
/// expected tag of every segment)`, from testdata/linktypes/README.md.
const CASES: &[(&str, u32, usize, usize, NetTag)] = &[
    (
        "ethernet.pcap",
        1,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "ethernet_snaplen96.pcap",
        1,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "sll.pcap",
        113,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "sll2.pcap",
        276,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "raw.pcap",
        101,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "raw12.pcap",
        12,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "raw14.pcap",
        14,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "ipv4.pcap",
        228,
        18,
        17,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "ipv6.pcap",
        229,
        17,
        17,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "null.pcap",
        0,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "loop.pcap",
        108,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "nflog.pcap",
        239,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "nflog_real.pcap",
        239,
        29,
        29,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "chdlc.pcap",
        104,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "ppp.pcap",
        9,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
    (
        "qinq.pcap",
        1,
        35,
        34,
        NetTag {
            vlan: Some(200),
            tunnel_id: None,
        },
    ),
    (
        "vxlan.pcap",
        1,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: Some(4242),
        },
    ),
    (
        "gre_key.pcap",
        1,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: Some(7),
        },
    ),
    (
        "erspan2.pcap",
        1,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: Some(99),
        },
    ),
    (
        "erspan3.pcap",
        1,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: Some(77),
        },
    ),
    (
        "ipip.pcap",
        1,
        35,
        34,
        NetTag {
            vlan: None,
            tunnel_id: None,
        },
    ),
];

/// What identifies a segment apart from its encapsulation.
fn key(s: &Segment<'_>) -> (String, String, u32, u32, u16, Vec<u8>, u32) {
    (
        format!("{:?}", s.src),
        format!("{:?}", s.dst),
        s.seq,
        s.ack,
        s.flags.0,
        s.payload.to_vec(),
        s.payload_missing,
    )
}

#[test]
fn tcp_segment_counts_equal_tshark() {
    for &(name, link, packets, tcp, tag) in CASES {
        let pcap = Pcap::open(name);
        assert_eq!(pcap.link, LinkType(link), "{name}: link type");
        let frames = pcap.frames();
        assert_eq!(frames.len(), packets, "{name}: packets");
        let segments: Vec<_> = frames.iter().filter_map(|f| decode(f).ok()).collect();
        assert_eq!(segments.len(), tcp, "{name}: TCP segments vs tshark -Y tcp");
        for s in &segments {
            assert_eq!(s.tag, tag, "{name}: tag");
        }
    }
}

#[test]
fn every_encapsulation_yields_the_same_segments() {
    let base = Pcap::open("ethernet.pcap");
    let want: Vec<_> = base
        .frames()
        .iter()
        .filter_map(|f| decode(f).ok())
        .map(|s| key(&s))
        .collect();
    // Both address families and some payload are in there.
    assert!(want.iter().any(|k| k.0.starts_with("Endpoint { ip: 127.")));
    assert!(want.iter().any(|k| k.0.starts_with("Endpoint { ip: ::1")));
    assert!(want.iter().any(|k| k.5.starts_with(b"GET /a HTTP/1.1")));
    for &(name, ..) in CASES {
        if matches!(
            name,
            "ethernet_snaplen96.pcap"
                | "ipv4.pcap"
                | "ipv6.pcap"
                | "nflog_real.pcap"
                | "vxlan_real.pcap"
        ) || name.starts_with("sll")
        {
            continue;
        }
        let p = Pcap::open(name);
        let got: Vec<_> = p
            .frames()
            .iter()
            .filter_map(|f| decode(f).ok())
            .map(|s| key(&s))
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn snaplen_cut_capture_accounts_for_every_payload_byte() {
    let sum = |name: &str| {
        let p = Pcap::open(name);
        let mut present = 0u64;
        let mut missing = 0u64;
        for f in p.frames() {
            if let Ok(s) = decode(&f) {
                present += s.payload.len() as u64;
                missing += u64::from(s.payload_missing);
            }
        }
        (present, missing)
    };
    let (full, none) = sum("ethernet.pcap");
    assert_eq!(none, 0);
    let (present, missing) = sum("ethernet_snaplen96.pcap");
    assert!(missing > 0, "the 96-byte snaplen cut some payload");
    assert_eq!(present + missing, full);
}

#[test]
fn real_vxlan_capture_skips_by_kind() {
    use keepwatch::decode::SkipReason;
    let p = Pcap::open("vxlan_real.pcap");
    let mut non_ip = 0;
    let mut non_tcp = 0;
    for f in p.frames() {
        match decode(&f) {
            Err(SkipReason::NonIp) => non_ip += 1,
            Err(SkipReason::NonTcp) => non_tcp += 1,
            Err(other) => panic!("unexpected {other:?}"),
            Ok(_) => {}
        }
    }
    // tshark -Y arp: 2 (inside the tunnel); tshark -Y icmpv6: 14 (8 of
    // them inside the tunnel).
    assert_eq!((non_ip, non_tcp), (2, 14));
}
