//! The flow table and reassembler. This module owns TCP connections: who is
//! client and server, the handshake, the 64-bit stream offsets of each
//! direction, reassembly (in-order, retransmitted, out-of-order, gaps), FIN,
//! RST, TIME_WAIT, keepalive and zero-window probes, and port reuse.
//!
//! It is sans-IO and knows nothing of HTTP: it is fed [`Segment`]s with
//! their capture timestamps and hands ordered bytes, gaps and closes per
//! direction to a [`StreamHandler`] owned by each connection. When a
//! connection ends (closed and lingered, reset, evicted, or the capture
//! ended) it is handed out as a [`Finished`] with its [`TcpFacts`].

mod conn;
mod facts;
mod hash;
mod keepalive;
mod reassembly;
mod seq;
mod state;
mod table;

pub use conn::{MAX_ACK_GAP, MAX_UNDECIDED_SEGMENTS};
pub use facts::*;
pub use keepalive::MAX_KEEPALIVE_INTERVALS;
pub use state::TcpState;
pub use table::FlowTable;

use crate::decode::Segment;
use crate::time::Timestamp;

/// Which way bytes travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    ToServer,
    ToClient,
}

impl Direction {
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// What the first payload of a mid-stream connection looks like, as told by
/// the layer above (the TCP layer itself does not know HTTP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadHint {
    /// Looks like the start of a request: the sender is the client.
    Request,
    /// Looks like the start of a response: the sender is the server.
    Response,
    Unknown,
}

/// The consumer of one connection's reassembled streams.
///
/// Calls for one direction come in stream order. The direction is fixed
/// before the first byte is delivered.
pub trait StreamHandler {
    /// In-order bytes of one direction; `ts` is the capture time of the
    /// segment that completed them.
    fn on_data(&mut self, dir: Direction, ts: Timestamp, data: &[u8]);
    /// `len` bytes of this direction were never seen by the capture.
    fn on_gap(&mut self, dir: Direction, ts: Timestamp, len: u64);
    /// The sender of `dir` closed its side (FIN, in stream order).
    fn on_fin(&mut self, dir: Direction, ts: Timestamp);
    /// The sender of `dir` reset the connection.
    fn on_rst(&mut self, dir: Direction, ts: Timestamp);
    /// The connection ends for the TCP layer (closed, reset, evicted or end
    /// of capture); no more calls follow.
    fn on_end(&mut self, ts: Timestamp);
}

/// Limits and knobs of the TCP layer. Every limit is named here.
#[derive(Clone, Debug)]
pub struct TcpConfig {
    /// Connections tracked at once; when full the least recently active one
    /// is finished with end state `evicted`.
    pub max_connections: usize,
    /// Out-of-order bytes buffered per connection (both directions).
    pub max_buffer_per_connection: usize,
    /// Out-of-order bytes buffered across all connections.
    pub max_buffer_total: usize,
    /// Ports that are servers, for connections picked up mid-stream.
    pub server_ports: Vec<u16>,
    /// How a mid-stream connection's first payload is classified.
    pub classify: fn(&[u8]) -> PayloadHint,
    /// Capture time a closed connection stays in the table (to absorb late
    /// ACKs and retransmitted FINs) before it is finished.
    pub close_linger: std::time::Duration,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            max_connections: 1_000_000,
            max_buffer_per_connection: 1 << 20,
            max_buffer_total: 256 << 20,
            server_ports: Vec::new(),
            classify: |_| PayloadHint::Unknown,
            close_linger: std::time::Duration::from_secs(60),
        }
    }
}

/// A connection the TCP layer is done with. Its handler has not been told
/// [`StreamHandler::on_end`]: whoever takes it does that.
pub struct Finished<H> {
    pub facts: TcpFacts,
    pub handler: H,
}
