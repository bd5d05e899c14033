//! A small script language for feeding one connection's streams to
//! [`HttpConn`], and the split-at-every-byte harness: every script is run
//! whole, with each data event cut in two at every position, and with all
//! data in 1-byte pieces, and must give the same facts each time.

#![allow(dead_code)]

use keepwatch::http::{HttpConfig, HttpConn, HttpFacts};
use keepwatch::tcp::{Direction, StreamHandler};
use keepwatch::time::Timestamp;
use std::sync::Arc;

pub use Direction::{ToClient, ToServer};

#[derive(Clone, Debug)]
pub enum Ev {
    /// Times in nanoseconds.
    Data(Direction, i64, Vec<u8>),
    Gap(Direction, i64, u64),
    Fin(Direction, i64),
    Rst(Direction, i64),
}

// Event times are kept in nanoseconds; the helpers take milliseconds.

/// Client bytes at `ms` milliseconds.
pub fn c(ms: i64, bytes: impl AsRef<[u8]>) -> Ev {
    Ev::Data(ToServer, ms * 1_000_000, bytes.as_ref().to_vec())
}
/// Server bytes at `ms` milliseconds.
pub fn s(ms: i64, bytes: impl AsRef<[u8]>) -> Ev {
    Ev::Data(ToClient, ms * 1_000_000, bytes.as_ref().to_vec())
}
/// Bytes at `us` microseconds, from hex (as tshark prints `tcp.payload`).
pub fn hex_at(dir: Direction, us: i64, hex: &str) -> Ev {
    let bytes = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    Ev::Data(dir, us * 1_000, bytes)
}
pub fn gap(dir: Direction, ms: i64, len: u64) -> Ev {
    Ev::Gap(dir, ms * 1_000_000, len)
}
pub fn fin(dir: Direction, ms: i64) -> Ev {
    Ev::Fin(dir, ms * 1_000_000)
}
pub fn fin_us(dir: Direction, us: i64) -> Ev {
    Ev::Fin(dir, us * 1_000)
}
pub fn rst(dir: Direction, ms: i64) -> Ev {
    Ev::Rst(dir, ms * 1_000_000)
}
pub fn rst_us(dir: Direction, us: i64) -> Ev {
    Ev::Rst(dir, us * 1_000)
}

pub fn t(ms: i64) -> Timestamp {
    Timestamp::from_nanos(ms * 1_000_000)
}
pub fn t_us(us: i64) -> Timestamp {
    Timestamp::from_nanos(us * 1_000)
}

pub fn ms(n: i64) -> u64 {
    (n * 1_000_000) as u64
}

/// How data events are cut into `on_data` calls.
#[derive(Clone, Copy, Debug)]
pub enum Cut {
    Whole,
    /// Event `event` is cut in two at `at`.
    Split {
        event: usize,
        at: usize,
    },
    /// Every data event in 1-byte pieces.
    Bytes,
}

/// Runs the script, then `on_end` at the last time + 1 ms.
pub fn run_with(cfg: &HttpConfig, events: &[Ev], cut: Cut) -> (HttpFacts, [usize; 2]) {
    let mut h = HttpConn::new(Arc::new(cfg.clone()));
    let mut last = 0;
    for (i, ev) in events.iter().enumerate() {
        match ev {
            Ev::Data(d, ms, bytes) => {
                last = last.max(*ms);
                match cut {
                    Cut::Split { event, at } if event == i => {
                        let (a, b) = bytes.split_at(at.min(bytes.len()));
                        h.on_data(*d, Timestamp::from_nanos(*ms), a);
                        h.on_data(*d, Timestamp::from_nanos(*ms), b);
                    }
                    Cut::Bytes => {
                        for b in bytes.chunks(1) {
                            h.on_data(*d, Timestamp::from_nanos(*ms), b);
                        }
                    }
                    _ => h.on_data(*d, Timestamp::from_nanos(*ms), bytes),
                }
            }
            Ev::Gap(d, ms, len) => {
                last = last.max(*ms);
                h.on_gap(*d, Timestamp::from_nanos(*ms), *len);
            }
            Ev::Fin(d, ms) => {
                last = last.max(*ms);
                h.on_fin(*d, Timestamp::from_nanos(*ms));
            }
            Ev::Rst(d, ms) => {
                last = last.max(*ms);
                h.on_rst(*d, Timestamp::from_nanos(*ms));
            }
        }
    }
    let caps = [
        h.head_buffer_capacity(ToServer),
        h.head_buffer_capacity(ToClient),
    ];
    h.on_end(Timestamp::from_nanos(last + 1_000_000));
    (h.into_facts(), caps)
}

/// Runs `events` whole, split at every byte of every data event, and in
/// 1-byte pieces; asserts the facts are the same and the head buffers
/// stayed within the limit; returns the facts.
pub fn check_cfg(cfg: &HttpConfig, events: &[Ev]) -> HttpFacts {
    let (whole, caps) = run_with(cfg, events, Cut::Whole);
    assert_bounded(cfg, caps);
    for (i, ev) in events.iter().enumerate() {
        if let Ev::Data(_, _, bytes) = ev {
            for at in 0..=bytes.len() {
                let (f, caps) = run_with(cfg, events, Cut::Split { event: i, at });
                assert_bounded(cfg, caps);
                if f != whole {
                    panic!(
                        "facts differ when event {i} is split at {at}\nwhole: {whole:#?}\nsplit: {f:#?}"
                    );
                }
            }
        }
    }
    let (f, caps) = run_with(cfg, events, Cut::Bytes);
    assert_bounded(cfg, caps);
    if f != whole {
        panic!("facts differ in 1-byte pieces\nwhole: {whole:#?}\nbytes: {f:#?}");
    }
    whole
}

pub fn check(events: &[Ev]) -> HttpFacts {
    check_cfg(&HttpConfig::default(), events)
}

pub fn assert_bounded(cfg: &HttpConfig, caps: [usize; 2]) {
    for cap in caps {
        assert!(
            cap <= cfg.max_head_bytes,
            "head buffer capacity {cap} over the limit {}",
            cfg.max_head_bytes
        );
    }
}

pub const GET: &str = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
pub const OK5: &str = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
