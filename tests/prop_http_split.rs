//! Property: cutting the two streams of a connection at any points gives
//! the same facts as delivering each message whole, and the exchanges are
//! the ones generated (FIFO pairing, statuses, body sizes).

use keepwatch::http::{Framing, HttpConfig, HttpConn, HttpErrors, HttpFacts};
use keepwatch::tcp::{Direction, StreamHandler};
use keepwatch::time::Timestamp;
use proptest::prelude::*;
use std::sync::Arc;

#[derive(Clone, Debug)]
struct Ex {
    method: &'static str,
    request_body: usize,
    status: u16,
    /// `None`: Content-Length; `Some(sizes)`: chunked with these chunks.
    chunks: Option<Vec<usize>>,
    response_body: usize,
}

fn exchange() -> impl Strategy<Value = Ex> {
    (
        prop_oneof![Just("GET"), Just("HEAD"), Just("POST")],
        0usize..300,
        prop_oneof![Just(200u16), Just(204), Just(304), Just(404), Just(500)],
        proptest::option::of(proptest::collection::vec(1usize..100, 0..5)),
        0usize..400,
    )
        .prop_map(|(method, rb, status, chunks, body)| Ex {
            method,
            request_body: if method == "POST" { rb } else { 0 },
            status,
            chunks,
            response_body: body,
        })
}

impl Ex {
    fn request(&self) -> Vec<u8> {
        let mut r = format!("{} /x HTTP/1.1\r\nHost: h\r\n", self.method).into_bytes();
        if self.method == "POST" {
            r.extend(format!("Content-Length: {}\r\n", self.request_body).bytes());
        }
        r.extend(b"\r\n");
        r.extend(std::iter::repeat_n(b'q', self.request_body));
        r
    }
    /// Body bytes the response carries on the wire (none for HEAD, 204, 304).
    fn has_body(&self) -> bool {
        self.method != "HEAD" && self.status != 204 && self.status != 304
    }
    fn response(&self) -> Vec<u8> {
        let mut r = format!("HTTP/1.1 {} X\r\n", self.status).into_bytes();
        match &self.chunks {
            None => {
                r.extend(format!("Content-Length: {}\r\n\r\n", self.response_body).bytes());
                if self.has_body() {
                    r.extend(std::iter::repeat_n(b'b', self.response_body));
                }
            }
            Some(chunks) => {
                r.extend(b"Transfer-Encoding: chunked\r\n\r\n");
                if self.has_body() {
                    for &c in chunks {
                        r.extend(format!("{c:x}\r\n").bytes());
                        r.extend(std::iter::repeat_n(b'c', c));
                        r.extend(b"\r\n");
                    }
                    r.extend(b"0\r\n\r\n");
                }
            }
        }
        r
    }
    fn body_len(&self) -> u64 {
        if !self.has_body() {
            return 0;
        }
        match &self.chunks {
            None => self.response_body as u64,
            Some(c) => c.iter().sum::<usize>() as u64,
        }
    }
}

/// Feeds request i, then response i, each cut at `cuts` (positions taken
/// modulo the message length), with one timestamp per message.
fn feed(exs: &[Ex], cuts: &[usize]) -> HttpFacts {
    let mut c = HttpConn::new(Arc::new(HttpConfig::default()));
    let mut k = 0;
    for (i, ex) in exs.iter().enumerate() {
        for (j, (dir, msg)) in [
            (Direction::ToServer, ex.request()),
            (Direction::ToClient, ex.response()),
        ]
        .into_iter()
        .enumerate()
        {
            let ts = Timestamp::from_nanos(1_000_000 * (2 * i + j + 1) as i64);
            let mut points: Vec<usize> = cuts
                .iter()
                .skip(k)
                .take(3)
                .map(|p| p % (msg.len() + 1))
                .collect();
            k += 3;
            points.push(0);
            points.push(msg.len());
            points.sort_unstable();
            for w in points.windows(2) {
                if w[0] < w[1] {
                    c.on_data(dir, ts, &msg[w[0]..w[1]]);
                }
            }
        }
    }
    c.on_end(Timestamp::from_nanos(1_000_000_000));
    c.into_facts()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cutting_the_streams_anywhere_gives_the_same_exchanges(
        exs in proptest::collection::vec(exchange(), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 60),
    ) {
        let whole = feed(&exs, &[]);
        let cut = feed(&exs, &cuts);
        prop_assert_eq!(&whole, &cut);
        prop_assert_eq!(whole.requests, exs.len() as u64);
        prop_assert_eq!(whole.exchanges.len(), exs.len());
        prop_assert_eq!(&*whole.errors, &HttpErrors::default());
        for (e, g) in whole.exchanges.iter().zip(&exs) {
            prop_assert_eq!(e.method.as_deref(), Some(g.method));
            prop_assert_eq!(e.status, Some(g.status));
            prop_assert_eq!(e.response_body_bytes, g.body_len());
            prop_assert_eq!(e.request_body_bytes, g.request_body as u64);
            let framing = match (&g.chunks, g.has_body()) {
                (_, false) => Framing::None,
                (None, true) => Framing::ContentLength,
                (Some(_), true) => Framing::Chunked,
            };
            prop_assert_eq!(e.response_framing, framing);
            prop_assert!(!e.response_incomplete);
        }
    }
}
