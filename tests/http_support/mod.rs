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
    Data(Direction, i64, Vec<u8>),
    Gap(Direction, i64, u64),
    Fin(Direction, i64),
    Rst(Direction, i64),
}

/// Client bytes at `ms` milliseconds.
pub fn c(ms: i64, bytes: impl AsRef<[u8]>) -> Ev {
    Ev::Data(ToServer, ms, bytes.as_ref().to_vec())
}
/// Server bytes at `ms` milliseconds.
pub fn s(ms: i64, bytes: impl AsRef<[u8]>) -> Ev {
    Ev::Data(ToClient, ms, bytes.as_ref().to_vec())
}
pub fn gap(dir: Direction, ms: i64, len: u64) -> Ev {
    Ev::Gap(dir, ms, len)
}
pub fn fin(dir: Direction, ms: i64) -> Ev {
    Ev::Fin(dir, ms)
}
pub fn rst(dir: Direction, ms: i64) -> Ev {
    Ev::Rst(dir, ms)
}

pub fn t(ms: i64) -> Timestamp {
    Timestamp(ms * 1_000_000)
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
                        h.on_data(*d, t(*ms), a);
                        h.on_data(*d, t(*ms), b);
                    }
                    Cut::Bytes => {
                        for b in bytes.chunks(1) {
                            h.on_data(*d, t(*ms), b);
                        }
                    }
                    _ => h.on_data(*d, t(*ms), bytes),
                }
            }
            Ev::Gap(d, ms, len) => {
                last = last.max(*ms);
                h.on_gap(*d, t(*ms), *len);
            }
            Ev::Fin(d, ms) => {
                last = last.max(*ms);
                h.on_fin(*d, t(*ms));
            }
            Ev::Rst(d, ms) => {
                last = last.max(*ms);
                h.on_rst(*d, t(*ms));
            }
        }
    }
    let caps = [
        h.head_buffer_capacity(ToServer),
        h.head_buffer_capacity(ToClient),
    ];
    h.on_end(t(last + 1));
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
