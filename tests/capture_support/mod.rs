//! Byte-by-byte builders for pcap and pcapng files, and a helper that reads
//! a capture back into owned frames. Shared by the `capture_*` tests.
#![allow(dead_code)]

use keepwatch::capture::{CaptureError, FileReader, FrameSource};
use std::io::Write;

fn put16(out: &mut Vec<u8>, big: bool, v: u16) {
    out.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}
fn put32(out: &mut Vec<u8>, big: bool, v: u32) {
    out.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}
fn put64(out: &mut Vec<u8>, big: bool, v: u64) {
    out.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}

/// A classic pcap file.
pub struct Pcap {
    pub bytes: Vec<u8>,
    big: bool,
    /// Where each record starts and ends.
    pub records: Vec<(usize, usize)>,
}

impl Pcap {
    pub fn new(big: bool, nanos: bool, snaplen: u32, link: u32) -> Self {
        let mut b = Vec::new();
        put32(&mut b, big, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        put16(&mut b, big, 2);
        put16(&mut b, big, 4);
        put32(&mut b, big, 0);
        put32(&mut b, big, 0);
        put32(&mut b, big, snaplen);
        put32(&mut b, big, link);
        Pcap {
            bytes: b,
            big,
            records: Vec::new(),
        }
    }

    /// A record whose caplen field says `caplen` whatever `data` holds.
    pub fn raw_record(mut self, secs: u32, frac: u32, caplen: u32, orig: u32, data: &[u8]) -> Self {
        let start = self.bytes.len();
        let b = &mut self.bytes;
        put32(b, self.big, secs);
        put32(b, self.big, frac);
        put32(b, self.big, caplen);
        put32(b, self.big, orig);
        b.extend_from_slice(data);
        self.records.push((start, self.bytes.len()));
        self
    }

    pub fn record(self, secs: u32, frac: u32, data: &[u8], orig: u32) -> Self {
        self.raw_record(secs, frac, data.len() as u32, orig, data)
    }
}

/// A pcapng file, block by block; each section sets the byte order of the
/// blocks after it.
pub struct PcapNg {
    pub bytes: Vec<u8>,
    big: bool,
    /// Where each block starts and ends, and whether it holds a packet.
    pub blocks: Vec<(usize, usize, bool)>,
}

pub const SHB: u32 = 0x0A0D_0D0A;
pub const IDB: u32 = 1;
pub const PB: u32 = 2;
pub const SPB: u32 = 3;
pub const EPB: u32 = 6;

impl PcapNg {
    pub fn new() -> Self {
        PcapNg {
            bytes: Vec::new(),
            big: false,
            blocks: Vec::new(),
        }
    }

    /// A block with `body` padded to 32 bits and correct lengths.
    pub fn block(self, btype: u32, body: &[u8]) -> Self {
        let len = 12 + body.len().next_multiple_of(4) as u32;
        self.block_with_lengths(btype, len, body, len)
    }

    /// A block whose leading and trailing lengths say what the test wants.
    pub fn block_with_lengths(mut self, btype: u32, len: u32, body: &[u8], trailer: u32) -> Self {
        let start = self.bytes.len();
        let big = self.big;
        let b = &mut self.bytes;
        put32(b, big, btype);
        put32(b, big, len);
        b.extend_from_slice(body);
        while (b.len() - start) % 4 != 0 {
            b.push(0);
        }
        put32(b, big, trailer);
        let packet = matches!(btype, PB | SPB | EPB);
        self.blocks.push((start, self.bytes.len(), packet));
        self
    }

    pub fn section(mut self, big: bool) -> Self {
        self.big = big;
        let mut body = Vec::new();
        put32(&mut body, big, 0x1A2B_3C4D);
        put16(&mut body, big, 1);
        put16(&mut body, big, 0);
        put64(&mut body, big, u64::MAX);
        self.block(SHB, &body)
    }

    /// An interface; `options` are (code, value) pairs, end-of-options added.
    pub fn interface(self, link: u16, snaplen: u32, options: &[(u16, Vec<u8>)]) -> Self {
        let big = self.big;
        let mut body = Vec::new();
        put16(&mut body, big, link);
        put16(&mut body, big, 0);
        put32(&mut body, big, snaplen);
        if !options.is_empty() {
            for (code, value) in options {
                put16(&mut body, big, *code);
                put16(&mut body, big, value.len() as u16);
                body.extend_from_slice(value);
                while body.len() % 4 != 0 {
                    body.push(0);
                }
            }
            put32(&mut body, big, 0);
        }
        self.block(IDB, &body)
    }

    pub fn tsresol(r: u8) -> (u16, Vec<u8>) {
        (9, vec![r])
    }

    pub fn tsoffset(&self, secs: i64) -> (u16, Vec<u8>) {
        let mut v = Vec::new();
        put64(&mut v, self.big, secs as u64);
        (14, v)
    }

    pub fn epb_raw(self, iface: u32, ts: u64, caplen: u32, orig: u32, data: &[u8]) -> Self {
        let big = self.big;
        let mut body = Vec::new();
        put32(&mut body, big, iface);
        put32(&mut body, big, (ts >> 32) as u32);
        put32(&mut body, big, ts as u32);
        put32(&mut body, big, caplen);
        put32(&mut body, big, orig);
        body.extend_from_slice(data);
        self.block(EPB, &body)
    }

    pub fn epb(self, iface: u32, ts: u64, data: &[u8], orig: u32) -> Self {
        self.epb_raw(iface, ts, data.len() as u32, orig, data)
    }

    pub fn spb(self, orig: u32, data: &[u8]) -> Self {
        let mut body = Vec::new();
        put32(&mut body, self.big, orig);
        body.extend_from_slice(data);
        self.block(SPB, &body)
    }

    pub fn pb(self, iface: u16, ts: u64, data: &[u8], orig: u32) -> Self {
        let big = self.big;
        let mut body = Vec::new();
        put16(&mut body, big, iface);
        put16(&mut body, big, 0);
        put32(&mut body, big, (ts >> 32) as u32);
        put32(&mut body, big, ts as u32);
        put32(&mut body, big, data.len() as u32);
        put32(&mut body, big, orig);
        body.extend_from_slice(data);
        self.block(PB, &body)
    }
}

impl Default for PcapNg {
    fn default() -> Self {
        Self::new()
    }
}

/// A frame copied out of the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owned {
    pub ts: i64,
    pub caplen: u32,
    pub orig_len: u32,
    pub link: u32,
    pub data: Vec<u8>,
}

/// Everything a reader yields for `bytes`: the frames, then the problem that
/// ended them (an `open` error included). Also checks that a reader stays
/// finished after an error, and that reading the same bytes from a file
/// (memory-mapped, unless gzip) gives the same frames and the same error at
/// the same offset as reading them as a stream.
pub fn read_all(name: &str, bytes: Vec<u8>) -> (Vec<Owned>, Option<CaptureError>) {
    let file = temp_file(&bytes);
    let streamed = read_from(FileReader::from_reader(name, std::io::Cursor::new(bytes)));
    let opened = read_from(keepwatch::capture::open(&file));
    let _ = std::fs::remove_file(&file);
    assert_eq!(
        streamed.0, opened.0,
        "{name}: frames differ when read from a file"
    );
    let kind = |e: &Option<CaptureError>| e.as_ref().map(|e| (e.offset, e.kind.clone()));
    assert_eq!(
        kind(&streamed.1),
        kind(&opened.1),
        "{name}: the error differs when read from a file"
    );
    streamed
}

/// A file holding `bytes`, unique to this call.
pub fn temp_file(bytes: &[u8]) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("keepwatch-capture-{}-{n}", std::process::id()));
    std::fs::write(&path, bytes).expect("write a temporary file");
    path.to_string_lossy().into_owned()
}

fn read_from(r: Result<FileReader, CaptureError>) -> (Vec<Owned>, Option<CaptureError>) {
    let mut r = match r {
        Ok(r) => r,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut frames = Vec::new();
    loop {
        match r.next_frame() {
            Ok(Some(f)) => {
                assert_eq!(f.caplen as usize, f.data.len());
                assert!(f.orig_len >= f.caplen);
                frames.push(Owned {
                    ts: f.ts.nanos(),
                    caplen: f.caplen,
                    orig_len: f.orig_len,
                    link: f.link.0,
                    data: f.data.to_vec(),
                })
            }
            Ok(None) => return (frames, None),
            Err(e) => {
                assert!(
                    matches!(r.next_frame(), Ok(None)),
                    "a reader returns Ok(None) after an error"
                );
                return (frames, Some(e));
            }
        }
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("writing to a Vec");
    enc.finish().expect("writing to a Vec")
}

/// A distinct packet payload per index, so tests can tell frames apart.
pub fn payload(i: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|k| i.wrapping_mul(31).wrapping_add(k as u8))
        .collect()
}
