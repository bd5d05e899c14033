//! The per-packet path makes no heap allocation in the steady state,
//! counted by a global allocator that wraps the system one.
//!
//! Steady state: connections established and their first exchange under
//! way; then in-order body segments of large responses on interleaved
//! connections, the client's ACKs, and TCP keepalive probes with their
//! ACKs on an idle connection (once its capped list of probe intervals is
//! full). Per-exchange work (a new request head: its URI is kept for the
//! report, the queue of open exchanges is allocated again on a connection
//! that had none open, and the exchange list grows) is measured separately
//! and bounded.
//!
//! (`unsafe impl GlobalAlloc` is needed for the counter; the library crate
//! denies unsafe code but for mapping files, a test crate may do this.)

use keepwatch::capture::{Frame, LinkType};
use keepwatch::time::Timestamp;
use keepwatch::{Analyzer, Config};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Only the measuring thread counts: the test harness allocates on
    /// its own threads meanwhile.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while running `f` (tests in this file
/// also run one at a time: see `LOCK`).
fn count<F: FnOnce()>(f: F) -> u64 {
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.load(Ordering::SeqCst)
}

static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

const ACK: u8 = 0x10;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;

struct Flow {
    client: [u8; 4],
    cport: u16,
    c_seq: u32,
    s_seq: u32,
}

/// Ethernet + IPv4 + TCP, as a server-side capture holds them.
#[allow(clippy::too_many_arguments)]
fn frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(54 + payload.len());
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
    let ip_len = (40 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&ip_len.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags]);
    f.extend_from_slice(&65535u16.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

const SERVER: [u8; 4] = [192, 0, 2, 10];

impl Flow {
    fn new(i: u8) -> Flow {
        Flow {
            client: [10, 0, 0, i],
            cport: 40_000 + i as u16,
            c_seq: 1000 * i as u32,
            s_seq: 7_000_000 * i as u32,
        }
    }
    fn client_sends(&mut self, flags: u8, payload: &[u8]) -> Vec<u8> {
        let f = frame(
            self.client,
            SERVER,
            self.cport,
            80,
            self.c_seq,
            self.s_seq,
            flags,
            payload,
        );
        self.c_seq = self
            .c_seq
            .wrapping_add(payload.len() as u32 + (flags & SYN != 0) as u32);
        f
    }
    fn server_sends(&mut self, flags: u8, payload: &[u8]) -> Vec<u8> {
        let f = frame(
            SERVER,
            self.client,
            80,
            self.cport,
            self.s_seq,
            self.c_seq,
            flags,
            payload,
        );
        self.s_seq = self
            .s_seq
            .wrapping_add(payload.len() as u32 + (flags & SYN != 0) as u32);
        f
    }
    fn handshake(&mut self, out: &mut Vec<Vec<u8>>) {
        out.push(self.client_sends(SYN, b""));
        out.push(self.server_sends(SYN | ACK, b""));
        out.push(self.client_sends(ACK, b""));
    }
    /// Sends the client's keepalive probe (seq = next - 1, no data) and the
    /// server's ACK.
    fn probe(&mut self, out: &mut Vec<Vec<u8>>) {
        out.push(frame(
            self.client,
            SERVER,
            self.cport,
            80,
            self.c_seq.wrapping_sub(1),
            self.s_seq,
            ACK,
            b"",
        ));
        out.push(self.server_sends(ACK, b""));
    }
}

fn analyze(frames: &[Vec<u8>], warm: usize) -> (u64, usize) {
    let mut a = Analyzer::new(Config::default());
    let mut t = 1_700_000_000_000_000_000i64;
    let mut feed = |a: &mut Analyzer, f: &Vec<u8>| {
        t += 10_000;
        let fr = Frame {
            ts: Timestamp::from_nanos(t),
            caplen: f.len() as u32,
            orig_len: f.len() as u32,
            link: LinkType::ETHERNET,
            data: f,
        };
        a.process(&fr);
        a.next_record().is_some()
    };
    let mut records = 0;
    for f in &frames[..warm] {
        records += feed(&mut a, f) as usize;
    }
    let n = count(|| {
        for f in &frames[warm..] {
            records += feed(&mut a, f) as usize;
        }
    });
    let (capture, _, _) = a.finish();
    assert_eq!(capture.tcp_packets, frames.len() as u64);
    (n, records)
}

fn steady_state(probes_per_round: usize) -> Vec<Vec<u8>> {
    let mut flows: Vec<Flow> = (1..=3).map(Flow::new).collect();
    let mut frames = Vec::new();
    for f in flows.iter_mut() {
        f.handshake(&mut frames);
        frames.push(f.client_sends(PSH | ACK, b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    let body = vec![b'x'; 1460];
    // Two long responses in flight on flows 1 and 2; flow 3 answered and
    // idle, probed by the client's keepalive.
    for f in flows.iter_mut().take(2) {
        frames.push(f.server_sends(ACK, b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n"));
    }
    frames.push(flows[2].server_sends(PSH | ACK, b"HTTP/1.1 204 No Content\r\n\r\n"));
    frames.push(flows[2].client_sends(ACK, b""));
    for _ in 0..1000 {
        for f in flows.iter_mut().take(2) {
            frames.push(f.server_sends(ACK, &body));
            frames.push(f.server_sends(ACK, &body));
            frames.push(f.client_sends(ACK, b""));
        }
        for _ in 0..probes_per_round {
            flows[2].probe(&mut frames);
        }
    }
    frames
}

#[test]
fn body_segments_and_acks_allocate_nothing() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let frames = steady_state(0);
    let warm = frames.len() / 2;
    let (allocs, records) = analyze(&frames, warm);
    assert_eq!(records, 0, "no connection may end inside the window");
    assert_eq!(
        allocs,
        0,
        "{allocs} allocations over {} steady-state packets",
        frames.len() - warm
    );
}

/// Probe intervals are kept up to `MAX_KEEPALIVE_INTERVALS`, in a list that
/// grows by doubling: once it is full (here: 3 probes a round, 500 rounds
/// warmed), probes, their ACKs and the body traffic allocate nothing.
#[test]
fn keepalive_probes_allocate_nothing_once_the_interval_list_is_full() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    const { assert!(keepwatch::tcp::MAX_KEEPALIVE_INTERVALS < 1400) };
    let frames = steady_state(3);
    let warm = frames.len() / 2;
    let (allocs, records) = analyze(&frames, warm);
    assert_eq!(records, 0);
    assert_eq!(allocs, 0, "{allocs} allocations in the steady state");
}

/// Per exchange (not per packet) the HTTP layer keeps the URI, makes room
/// for the open exchange and grows the exchange list; bounded here so a
/// regression shows.
#[test]
fn small_exchanges_allocate_a_bounded_amount_per_exchange() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut f = Flow::new(9);
    let mut frames = Vec::new();
    f.handshake(&mut frames);
    let exchanges = 2000;
    for i in 0..exchanges {
        let req = format!("GET /item/{i} HTTP/1.1\r\nHost: example.com\r\n\r\n");
        frames.push(f.client_sends(PSH | ACK, req.as_bytes()));
        frames.push(f.server_sends(
            PSH | ACK,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        ));
        frames.push(f.client_sends(ACK, b""));
    }
    let warm = frames.len() / 2;
    let (allocs, _) = analyze(&frames, warm);
    let per = allocs as f64 / (exchanges / 2) as f64;
    eprintln!(
        "{allocs} allocations for {} exchanges ({per:.2} per exchange)",
        exchanges / 2
    );
    // The URI, kept for the report, and the open-exchange queue (freed
    // while no exchange is open); the method (GET) is a constant.
    assert!(per <= 2.05, "{per} allocations per exchange");
}
