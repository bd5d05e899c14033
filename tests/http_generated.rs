//! HTTP layer: randomly generated but valid conversations, cut into random
//! segments, must be framed and paired exactly as generated.

mod http_support;

use http_support::*;
use keepwatch::http::{Framing, HttpConfig, HttpErrors};
use keepwatch::tcp::Direction;

/// A deterministic xorshift generator, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug, PartialEq)]
struct Truth {
    method: String,
    uri: String,
    status: u16,
    req_body: u64,
    resp_body: u64,
    req_framing: Framing,
    resp_framing: Framing,
    interim: u32,
}

fn chunked(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut left = len;
    while left > 0 {
        let n = 1 + rng.below(left as u64) as usize;
        let ext = if rng.below(3) == 0 { ";a=b;c" } else { "" };
        out.extend_from_slice(format!("{n:x}{ext}\r\n").as_bytes());
        out.extend(std::iter::repeat_n(b'z', n));
        out.extend_from_slice(b"\r\n");
        left -= n;
    }
    out.extend_from_slice(b"0\r\n");
    if rng.below(2) == 0 {
        out.extend_from_slice(b"X-Trailer: 1\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Cuts `bytes` into 1 to 4 random segments, all at time `ms`.
fn segments(rng: &mut Rng, dir: Direction, ms: i64, bytes: &[u8], out: &mut Vec<Ev>) {
    let mut cuts: Vec<usize> = (0..rng.below(4))
        .map(|_| rng.below(bytes.len() as u64 + 1) as usize)
        .collect();
    cuts.push(0);
    cuts.push(bytes.len());
    cuts.sort();
    for w in cuts.windows(2) {
        if w[0] < w[1] {
            let piece = bytes[w[0]..w[1]].to_vec();
            out.push(if dir == ToServer {
                c(ms, piece)
            } else {
                s(ms, piece)
            });
        }
    }
}

/// One connection's conversation: sequential, or (`pipelined`) all
/// requests first and then all responses.
fn conversation(rng: &mut Rng, pipelined: bool) -> (Vec<Ev>, Vec<Truth>, bool) {
    let mut events = Vec::new();
    let mut responses = Vec::new();
    let mut truth = Vec::new();
    let mut ms = 0;
    let n = 1 + rng.below(6);
    let mut closed = false;
    for i in 0..n {
        let last = i + 1 == n;
        let uri = format!("/r{i}");
        let (method, req_body, req_framing) = match rng.below(4) {
            0 => ("GET", 0, Framing::None),
            1 => ("HEAD", 0, Framing::None),
            2 => ("POST", rng.below(300), Framing::ContentLength),
            _ => ("PUT", 1 + rng.below(300), Framing::Chunked),
        };
        let expect = !pipelined && method == "POST" && rng.below(2) == 0;
        let mut head = format!("{method} {uri} HTTP/1.1\r\nHost: h\r\n");
        match req_framing {
            Framing::ContentLength => head += &format!("Content-Length: {req_body}\r\n"),
            Framing::Chunked => head += "Transfer-Encoding: chunked\r\n",
            _ => {}
        }
        if expect {
            head += "Expect: 100-continue\r\n";
        }
        head += "\r\n";
        let body = match req_framing {
            Framing::Chunked => chunked(rng, req_body as usize),
            _ => vec![b'q'; req_body as usize],
        };
        ms += 1;
        segments(rng, ToServer, ms, head.as_bytes(), &mut events);
        let mut interim = 0;
        if expect {
            ms += 1;
            segments(
                rng,
                ToClient,
                ms,
                b"HTTP/1.1 100 Continue\r\n\r\n",
                &mut events,
            );
            interim = 1;
        }
        ms += 1;
        segments(rng, ToServer, ms, &body, &mut events);
        let kind = rng.below(if last { 5 } else { 4 });
        let size = rng.below(400);
        let (status, mut resp, resp_body, mut resp_framing) = match kind {
            0 => (
                204,
                "HTTP/1.1 204 No Content\r\n\r\n".to_string(),
                0,
                Framing::None,
            ),
            1 => (
                200,
                format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n"),
                size,
                Framing::ContentLength,
            ),
            2 => (
                404,
                "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n".to_string(),
                size.max(1),
                Framing::Chunked,
            ),
            3 => (
                304,
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n".to_string(),
                0,
                Framing::None,
            ),
            _ => (
                200,
                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_string(),
                size,
                Framing::Close,
            ),
        };
        let mut resp_body = if status == 204 || status == 304 {
            0
        } else {
            resp_body
        };
        let body: Vec<u8> = match resp_framing {
            Framing::Chunked => chunked(rng, resp_body as usize),
            _ => vec![b'r'; resp_body as usize],
        };
        if method == "HEAD" && status != 204 && status != 304 {
            // Same head as for GET, no body.
            resp_body = 0;
            resp_framing = Framing::None;
            if kind == 4 {
                resp = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n".into();
            }
        }
        let mut bytes = resp.into_bytes();
        if resp_body > 0 {
            bytes.extend_from_slice(&body);
        }
        ms += 1;
        let out = if pipelined {
            &mut responses
        } else {
            &mut events
        };
        segments(rng, ToClient, ms, &bytes, out);
        if resp_framing == Framing::Close {
            out.push(fin(ToClient, ms));
            closed = true;
        }
        truth.push(Truth {
            method: method.into(),
            uri,
            status,
            req_body,
            resp_body,
            req_framing,
            resp_framing,
            interim,
        });
    }
    events.extend(responses);
    (events, truth, closed)
}

#[test]
fn generated_conversations_are_framed_and_paired_exactly() {
    let cfg = HttpConfig::default();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..600 {
        let pipelined = round % 2 == 1;
        let (events, truth, closed) = conversation(&mut rng, pipelined);
        let (f, caps) = run_with(&cfg, &events, Cut::Whole);
        assert_bounded(&cfg, caps);
        assert_eq!(f.errors, HttpErrors::default(), "round {round}: {events:?}");
        let got: Vec<Truth> = f
            .exchanges
            .iter()
            .map(|e| Truth {
                method: e.method.clone().unwrap_or_default().into_owned(),
                uri: e.uri.as_deref().unwrap_or_default().to_owned(),
                status: e.status.unwrap_or(0),
                req_body: e.request_body_bytes,
                resp_body: e.response_body_bytes,
                req_framing: e.request_framing,
                resp_framing: e.response_framing,
                interim: e.interim_responses,
            })
            .collect();
        assert_eq!(got, truth, "round {round}");
        assert_eq!(f.unanswered_requests + f.unmatched_responses, 0);
        assert!(f.exchanges.iter().all(|e| !e.response_incomplete));
        assert_eq!(f.close_delimited_on_http11, closed);
        let n = truth.len();
        let want_depth = if pipelined { n } else { 1 };
        assert_eq!(f.pipeline_depth_max as usize, want_depth, "round {round}");
        let piped = f.exchanges.iter().filter(|e| e.pipelined).count();
        assert_eq!(piped, if pipelined { n - 1 } else { 0 });
        assert_eq!(f.idle_gaps_ns.len(), if pipelined { 0 } else { n - 1 });
        let (bytes, _) = run_with(&cfg, &events, Cut::Bytes);
        assert_eq!(bytes, f, "round {round} in 1-byte pieces");
    }
}
