//! HTTP/1.x over reassembled streams. This module owns message framing
//! (heads with httparse, bodies by RFC 9112 section 6.3, chunked decoding),
//! request/response pairing (FIFO, pipelining), interim responses, the
//! connection semantics of RFC 9112 section 9, per-exchange timing, the gap
//! policy, and the classification of non-HTTP streams.
//!
//! Invariants: bodies are counted, never stored; a head is buffered only up
//! to [`HttpConfig::max_head_bytes`] (the buffer's capacity never exceeds
//! it); no input panics or hangs; the facts do not depend on how the TCP
//! layer cut the stream into `on_data` calls.
//!
//! # Files
//! - `classify.rs`: start-line checks (an incremental automaton), TLS and
//!   HTTP/2 recognition, [`classify_start`].
//! - `head.rs`: finding a head's end, parsing it into the facts we keep.
//! - `framing.rs`: the one body-length decision (RFC 9112 section 6.3).
//! - `chunked.rs`: the byte-level chunked decoder.
//! - `conn.rs`: [`HttpConn`], the per-direction parsers and the exchange
//!   queue.
//!
//! # Protocol classification
//! A stream whose first three bytes are a TLS record header (`16 03
//! 00..04` for a handshake; content types 20 to 23 are accepted too, for
//! connections picked up mid-stream) is `tls`; one starting with the
//! HTTP/2 preface line `PRI * HTTP/2.0` is `http2`; both stop all parsing
//! of the connection.
//! Otherwise each direction starts *seeking*: the first valid request line
//! (client) or status line (server) found makes the connection `http1`.
//! Bytes before it (a capture that began mid-message) are counted in
//! `pickup_skipped_bytes`, not as errors. A direction that finds nothing in
//! its first [`HttpConfig::max_pickup_scan_bytes`] while the connection is
//! not known to be HTTP stops looking; a connection with payload and no
//! HTTP is `other`, with no HTTP errors.
//!
//! # Gap policy
//! A gap (bytes the capture lost, `on_gap`) is survivable where the framing
//! says how many bytes it covers:
//! - inside a `Content-Length` body, when it ends within the body: the
//!   bytes are counted as the exchange's `missing_bytes`;
//! - inside a close-delimited body: counted as `missing_bytes`;
//! - inside the data of one chunk, when it ends within that chunk:
//!   counted as `missing_bytes`.
//!
//! Anywhere else (a head, a chunk-size line, trailers, a gap running past
//! the end of a body, or between messages) the direction is *out of sync*
//! (`http_errors.out_of_sync`). A partial head lost that way still counts:
//! a request becomes an exchange with `request_incomplete` (so responses
//! stay paired), a response marks the exchange it answered
//! `response_incomplete`. The direction then *resynchronizes*: the client
//! side skips to the next line that is a whole valid request line (a
//! method token, a space, a target, a space and `HTTP/1.x`), the server
//! side to the next `HTTP/1.x` followed by a space and a 3-digit status,
//! at a line start or not (a response may follow a body directly). The
//! bytes skipped are counted in `http_errors.resync_skipped_bytes` (which
//! also counts the bytes of heads that failed to parse). The same happens
//! after a head that is too large, has too many headers or is malformed,
//! after an invalid `Content-Length` or request `Transfer-Encoding`, and
//! after a malformed chunk. Where a message must start but the first line
//! is not a start line, the head fails at once as malformed (no exchange
//! is made for it). Gaps in a tunnel or a non-HTTP stream are ignored.

mod chunked;
mod classify;
mod conn;
mod facts;
mod framing;
mod head;

pub use classify::classify_start;
pub use conn::HttpConn;
pub use facts::*;

use std::time::Duration;

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
    /// `Connection` tokens kept per message (all are still acted on).
    pub max_connection_tokens: usize,
    /// Longest `Connection` token or `Upgrade` protocol kept, in bytes.
    pub max_token_len: usize,
    /// Longest chunk-extension or trailer line before the chunked body is
    /// judged malformed.
    pub max_chunk_line_bytes: usize,
    /// Bytes a direction of a connection not (yet) known to be HTTP is
    /// scanned for a message start before it is ignored.
    pub max_pickup_scan_bytes: u64,
    /// A server close this soon after a response that promised persistence
    /// is premature (see [`HttpFacts::premature_close`]).
    pub premature_close_window: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_head_bytes: 64 * 1024,
            max_headers: 128,
            max_uri_len: 512,
            max_exchanges_kept: 10_000,
            max_pending_requests: 1_000,
            max_connection_tokens: 16,
            max_token_len: 64,
            max_chunk_line_bytes: 8 * 1024,
            max_pickup_scan_bytes: 1 << 20,
            premature_close_window: Duration::from_millis(1),
        }
    }
}
