//! HTTP/1.x over reassembled streams. This module owns message framing
//! (heads with httparse, bodies by RFC 9112 section 6.3, chunked decoding),
//! request/response pairing (FIFO, pipelining), interim responses, the
//! connection semantics of RFC 9112 section 9, per-exchange timing, the gap
//! policy, and the classification of non-HTTP streams.
//!
//! Invariants: bodies are counted, never stored; a head is buffered only up
//! to [`HttpConfig::max_head_bytes`]; no input panics.

mod facts;

pub use facts::*;

use crate::tcp::{Direction, PayloadHint, StreamHandler};
use crate::time::Timestamp;

/// Limits of the HTTP layer. Every limit is named here.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Largest message head (start line + headers) buffered.
    pub max_head_bytes: usize,
    /// Most header fields parsed in one head.
    pub max_headers: usize,
    /// Longest URI kept in a report (longer ones are cut at a char
    /// boundary).
    pub max_uri_len: usize,
    /// Exchanges kept per connection; beyond it exchanges are counted and
    /// summarized but their details dropped.
    pub max_exchanges_kept: usize,
    /// Requests waiting for a response before the queue stops growing.
    pub max_pending_requests: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_head_bytes: 64 * 1024,
            max_headers: 128,
            max_uri_len: 512,
            max_exchanges_kept: 10_000,
            max_pending_requests: 1_000,
        }
    }
}

/// How the start of a stream looks, for the TCP layer's mid-stream direction
/// decision.
pub fn classify_start(data: &[u8]) -> PayloadHint {
    let _ = data;
    PayloadHint::Unknown
}

/// The HTTP state of one connection.
pub struct HttpConn {
    cfg: std::sync::Arc<HttpConfig>,
    facts: HttpFacts,
}

impl HttpConn {
    pub fn new(cfg: std::sync::Arc<HttpConfig>) -> Self {
        HttpConn {
            cfg,
            facts: HttpFacts::default(),
        }
    }

    pub fn facts(&self) -> &HttpFacts {
        &self.facts
    }

    pub fn into_facts(self) -> HttpFacts {
        self.facts
    }
}

impl StreamHandler for HttpConn {
    fn on_data(&mut self, dir: Direction, ts: Timestamp, data: &[u8]) {
        let _ = (dir, ts, data, &self.cfg);
    }
    fn on_gap(&mut self, dir: Direction, ts: Timestamp, len: u64) {
        let _ = (dir, ts, len);
    }
    fn on_fin(&mut self, dir: Direction, ts: Timestamp) {
        let _ = (dir, ts);
    }
    fn on_rst(&mut self, dir: Direction, ts: Timestamp) {
        let _ = (dir, ts);
    }
    fn on_end(&mut self, ts: Timestamp) {
        let _ = ts;
    }
}
