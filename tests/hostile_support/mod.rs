//! Synthetic captures for the hostile-input battery (built with etherparse's
//! `PacketBuilder` into a classic pcap), and two ways to run them: the
//! library in-process (JSON report parsed back), or the `keepwatch` binary
//! with its peak memory measured.
#![allow(dead_code)]

use etherparse::PacketBuilder;
use keepwatch::capture::{CaptureError, FileReader, FrameSource};
use keepwatch::report::{Format, Report, ReportWriter, WriterOptions};
use keepwatch::{Analyzer, Config};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const CLIENT: [u8; 4] = [10, 0, 0, 1];
pub const SERVER: [u8; 4] = [10, 0, 0, 2];
pub const MSS: usize = 1460;

/// A classic pcap (microsecond, Ethernet) being written.
pub struct Capture {
    pub bytes: Vec<u8>,
    pub packets: usize,
}

impl Default for Capture {
    fn default() -> Self {
        Self::new()
    }
}

impl Capture {
    pub fn new() -> Self {
        let mut bytes = Vec::with_capacity(1 << 16);
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        for v in [0u32, 0, 262_144, 1] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        Capture { bytes, packets: 0 }
    }

    /// One record at `us` microseconds after the epoch.
    pub fn frame(&mut self, us: i64, frame: &[u8]) {
        let secs = us.div_euclid(1_000_000) as u32;
        let frac = us.rem_euclid(1_000_000) as u32;
        let len = frame.len() as u32;
        for v in [secs, frac, len, len] {
            self.bytes.extend_from_slice(&v.to_le_bytes());
        }
        self.bytes.extend_from_slice(frame);
        self.packets += 1;
    }
}

/// TCP flags for [`tcp_frame`].
#[derive(Clone, Copy, Default)]
pub struct Flags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
}

pub const SYN: Flags = Flags {
    syn: true,
    ack: false,
    fin: false,
    rst: false,
    psh: false,
};
pub const SYN_ACK: Flags = Flags {
    syn: true,
    ack: true,
    fin: false,
    rst: false,
    psh: false,
};
pub const ACK: Flags = Flags {
    syn: false,
    ack: true,
    fin: false,
    rst: false,
    psh: false,
};
pub const PSH_ACK: Flags = Flags {
    syn: false,
    ack: true,
    fin: false,
    rst: false,
    psh: true,
};
pub const FIN_ACK: Flags = Flags {
    syn: false,
    ack: true,
    fin: true,
    rst: false,
    psh: false,
};

/// An Ethernet/IPv4/TCP frame.
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    f: Flags,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src.0, dst.0, 64)
        .tcp(src.1, dst.1, seq, 65_535);
    if f.syn {
        b = b.syn();
    }
    if f.ack {
        b = b.ack(ack);
    }
    if f.fin {
        b = b.fin();
    }
    if f.rst {
        b = b.rst();
    }
    if f.psh {
        b = b.psh();
    }
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).expect("writing to a Vec");
    out
}

/// One TCP connection being written into a [`Capture`]: keeps both
/// sequence numbers and a clock (1 ms per segment unless moved).
pub struct Conn {
    pub client: ([u8; 4], u16),
    pub server: ([u8; 4], u16),
    pub cseq: u32,
    pub sseq: u32,
    pub us: i64,
}

impl Conn {
    pub fn new(client_port: u16, server_port: u16, us: i64) -> Conn {
        Conn {
            client: (CLIENT, client_port),
            server: (SERVER, server_port),
            cseq: 1_000,
            sseq: 5_000_000,
            us,
        }
    }

    /// One segment, acknowledging everything the peer sent.
    pub fn send(&mut self, cap: &mut Capture, from_client: bool, f: Flags, payload: &[u8]) {
        let (src, dst, seq, ack) = if from_client {
            (self.client, self.server, self.cseq, self.sseq)
        } else {
            (self.server, self.client, self.sseq, self.cseq)
        };
        cap.frame(self.us, &tcp_frame(src, dst, seq, ack, f, payload));
        self.us += 1_000;
        let used = payload.len() as u32 + f.syn as u32 + f.fin as u32;
        if from_client {
            self.cseq = self.cseq.wrapping_add(used);
        } else {
            self.sseq = self.sseq.wrapping_add(used);
        }
    }

    pub fn handshake(&mut self, cap: &mut Capture) {
        self.send(cap, true, SYN, b"");
        self.send(cap, false, SYN_ACK, b"");
        self.send(cap, true, ACK, b"");
    }

    /// Client data in segments of at most [`MSS`] bytes.
    pub fn client(&mut self, cap: &mut Capture, data: &[u8]) {
        for chunk in data.chunks(MSS) {
            self.send(cap, true, PSH_ACK, chunk);
        }
    }

    /// Server data in segments of at most [`MSS`] bytes, then the client's
    /// ACK.
    pub fn server(&mut self, cap: &mut Capture, data: &[u8]) {
        for chunk in data.chunks(MSS) {
            self.send(cap, false, PSH_ACK, chunk);
        }
        self.send(cap, true, ACK, b"");
    }

    /// The client closes, the server answers, the client acknowledges.
    pub fn close(&mut self, cap: &mut Capture) {
        self.send(cap, true, FIN_ACK, b"");
        self.send(cap, false, FIN_ACK, b"");
        self.send(cap, true, ACK, b"");
    }

    /// The server closes, the client answers, the server acknowledges.
    pub fn server_close(&mut self, cap: &mut Capture) {
        self.send(cap, false, FIN_ACK, b"");
        self.send(cap, true, FIN_ACK, b"");
        self.send(cap, false, ACK, b"");
    }
}

/// A whole connection: handshake, the request, the response, close.
pub fn exchange(cap: &mut Capture, port: u16, request: &[u8], response: &[u8]) {
    let mut c = Conn::new(port, 80, 1_700_000_000_000_000 + port as i64 * 1_000_000);
    c.handshake(cap);
    c.client(cap, request);
    c.server(cap, response);
    c.close(cap);
}

/// Runs the library over an in-memory capture and returns the JSON report
/// parsed back into the model, with the read problems.
pub fn analyze(bytes: Vec<u8>, cfg: Config) -> (Report, Option<CaptureError>) {
    let mut reader =
        FileReader::from_reader("test.pcap", std::io::Cursor::new(bytes)).expect("a capture");
    let mut analyzer = Analyzer::new(cfg);
    let mut writer = ReportWriter::new(Vec::new(), Format::Json, WriterOptions::default());
    let problem = loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                analyzer.process(&frame);
                while let Some(r) = analyzer.next_record() {
                    writer.connection(r).expect("writing to a Vec");
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    analyzer.end_of_capture();
    while let Some(r) = analyzer.next_record() {
        writer.connection(r).expect("writing to a Vec");
    }
    let (capture, servers, summary) = analyzer.finish();
    let out = writer
        .finish(capture, servers, summary)
        .expect("writing to a Vec");
    let report = serde_json::from_slice(&out).expect("the JSON report parses back");
    (report, problem)
}

/// A file under the target directory's temporary area, unique per test.
pub fn temp_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    std::fs::create_dir_all(&dir).expect("creating the temporary directory");
    dir.join(format!("{}-{name}", std::process::id()))
}

/// What a run of the binary gave.
pub struct Run {
    pub code: Option<i32>,
    pub stderr: String,
    /// Peak resident memory of the child, KiB.
    pub peak_rss_kib: u64,
}

/// The largest `VmHWM` (peak resident set) in `/proc/<pid>/status`.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `keepwatch ARGS` and measures its peak resident memory.
///
/// The peak is the kernel's own high-water mark (`VmHWM` in
/// `/proc/<pid>/status`), read every 2 ms while the child runs; being a
/// high-water mark it never goes down, so the last reading before the
/// child exits misses at most the growth of its last 2 ms. Linux only (no
/// libc dependency for `wait4`'s rusage).
pub fn run_measured(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keepwatch"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running keepwatch");
    let pid = child.id();
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
        }
        match child.try_wait().expect("waiting for keepwatch") {
            Some(s) => break s,
            None => std::thread::sleep(std::time::Duration::from_millis(2)),
        }
    };
    Run {
        code: status.code(),
        stderr: reader.join().unwrap_or_default(),
        peak_rss_kib: peak,
    }
}

/// Reads an NDJSON report and returns its `capture` and `summary` lines.
pub fn ndjson_tail(path: &Path) -> (serde_json::Value, serde_json::Value) {
    let text = std::fs::read_to_string(path).expect("reading the report");
    let mut capture = None;
    let mut summary = None;
    for line in text.lines().rev() {
        let v: serde_json::Value = serde_json::from_str(line).expect("an NDJSON line");
        match v["type"].as_str() {
            Some("capture") => capture = Some(v),
            Some("summary") => summary = Some(v),
            _ => {}
        }
        if capture.is_some() && summary.is_some() {
            break;
        }
    }
    (
        capture.expect("a capture line"),
        summary.expect("a summary line"),
    )
}
