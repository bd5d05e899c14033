//! The flow table and reassembler. This module owns TCP connections: who is
//! client and server, the handshake, the 64-bit stream offsets of each
//! direction, reassembly (in-order, retransmitted, out-of-order, gaps), FIN,
//! RST, TIME_WAIT, keepalive and zero-window probes, and port reuse.
//!
//! It is sans-IO and knows nothing of HTTP: it is fed [`Segment`]s with
//! their capture timestamps and hands ordered bytes, gaps and closes per
//! direction to a [`StreamHandler`] owned by each connection. When a
//! connection ends (closed both ways, reset, evicted, or the capture
//! ended) it is handed out as a [`Finished`] with its [`TcpFacts`].
//!
//! # Files
//!
//! - `table.rs`: the [`FlowTable`]: lookup by (tag, unordered endpoint
//!   pair) with a seeded FxHash (`hash.rs`), least-recently-active eviction
//!   in O(1) through an intrusive list, tombstones of closed connections,
//!   finish order.
//! - `conn.rs`: one connection: direction, sequence bases, handshake,
//!   per-side counters, probe tracking, and the glue between the parts.
//! - `seq.rs`: 32-bit sequence numbers to 64-bit offsets (wraparound once).
//! - `reassembly.rs`: one direction's byte stream; overlap and gap policy.
//! - `state.rs`: RFC 9293 states of both endpoints, one transition function.
//! - `keepalive.rs`: keepalive and zero-window probe classification.
//!
//! # Policies (what a user comparing with tshark, Zeek or Suricata sees)
//!
//! - **Direction.** The sender of a SYN is the client. Without one (the
//!   capture began mid-connection, `mid_stream`), in this order: a SYN-ACK
//!   (its sender is the server), the first payload as classified by
//!   [`TcpConfig::classify`], then ports ([`TcpConfig::server_ports`], a
//!   well-known port below 1024, the lower port). Up to
//!   [`MAX_UNDECIDED_SEGMENTS`] segments without payload wait for a payload
//!   and are then replayed; the direction is fixed before any byte is
//!   handed up.
//! - **Connections.** No inactivity timeout: an idle connection stays one
//!   connection until it closes, the capture ends, or the table is full
//!   ([`TcpConfig::max_connections`]; the least recently active is then
//!   finished as `evicted`, unless it had already closed, which loses
//!   nothing and keeps its own end state). A SYN without ACK whose ISN is
//!   not the client's known ISN starts a new connection on the 4-tuple
//!   (`port_reuse`), finishing the old one with the state it reached; like
//!   tshark's `tcp.stream`. Reuse is recognised while the old connection is
//!   still in the table, or within [`TcpConfig::close_linger`] of its close
//!   (its tombstone).
//!   Copies of a flow on different VLANs/tunnels are different connections
//!   (unlike tshark, which merges VLANs).
//! - **Linger.** A connection closed both ways (both FINs acknowledged) or
//!   reset is finished at once, so its record is written when it ends; a
//!   tombstone of its key (a few dozen bytes, not its state) stays for
//!   `close_linger` of capture time (default 5 s, `--close-linger`) and
//!   absorbs late ACKs, retransmitted FINs, an RST after the close and data
//!   in flight behind an RST: those are counted in
//!   [`FlowTable::late_segments`] (the report's `capture.late_segments`),
//!   not in the connection, and start no new one. Nothing is delivered to
//!   the handler after an RST.
//! - **Overlaps.** The first copy of a byte wins; see `reassembly.rs`.
//!   `overlap_conflicts` counts differing bytes, compared against copies
//!   still held out of order; bytes already handed up are not kept, so a
//!   conflicting retransmission of delivered data is counted as a
//!   retransmission only.
//! - **Gaps.** Bytes the capture missed are always handed up as
//!   [`StreamHandler::on_gap`]: when the peer acknowledged past them (up to
//!   [`MAX_ACK_GAP`]) and they did not show up within
//!   [`ACK_REORDER_WINDOW_NS`] of capture time (multi-queue captures can
//!   write a segment after its ACK), when the snaplen cut them, when a buffer cap forces a
//!   flush (counted in [`LimitsHit::max_buffer`]), and at RST or the end of
//!   the connection.
//! - **Counting.** `retransmissions` counts segments (and repeated SYNs and
//!   FINs) carrying something already seen; `out_of_order` counts segments
//!   that had to be buffered behind a hole (tshark's `out_of_order` flags
//!   the late segment that fills a hole instead).
//! - **Probes.** Keepalive and zero-window probes follow Suricata's stricter
//!   test (see `keepalive.rs`): a Linux zero-window probe, which tshark
//!   flags as keep-alive, counts as a zero-window probe here. On a
//!   connection picked up mid-stream, the first probe cannot be told from a
//!   pure ACK (nothing shows the sender's next sequence number yet).
//! - **Time.** Each connection clamps its timestamps to the latest it has
//!   seen, so durations and silences are never negative; the table's clock
//!   is the latest timestamp of any segment.

mod conn;
mod facts;
pub(crate) mod hash;
mod keepalive;
mod reassembly;
mod seq;
mod state;
mod table;

pub use conn::{MAX_ACK_GAP, MAX_UNDECIDED_SEGMENTS};
pub use facts::*;
pub use keepalive::MAX_KEEPALIVE_INTERVALS;
pub use reassembly::ACK_REORDER_WINDOW_NS;
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
    /// Out-of-order bytes buffered per connection (both directions). When
    /// a segment would exceed it, the connection's buffered bytes are handed
    /// up with their holes as gaps (counted in [`LimitsHit::max_buffer`]).
    pub max_buffer_per_connection: usize,
    /// Out-of-order bytes buffered across all connections; hitting it
    /// flushes the connection that needs room, as above.
    pub max_buffer_total: usize,
    /// Ports that are servers, for connections picked up mid-stream.
    pub server_ports: Vec<u16>,
    /// How a mid-stream connection's first payload is classified.
    pub classify: fn(&[u8]) -> PayloadHint,
    /// Capture time the tombstone of a closed connection absorbs late
    /// segments (late ACKs, retransmitted FINs) and recognises port reuse.
    /// 5 s, as Zeek's `tcp_close_delay`: long enough for anything in flight
    /// at the close.
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
            close_linger: std::time::Duration::from_secs(5),
        }
    }
}

/// A connection the TCP layer is done with. Its handler has not been told
/// [`StreamHandler::on_end`]: whoever takes it does that.
pub struct Finished<H> {
    pub facts: TcpFacts,
    pub handler: H,
    /// Where in the table's input this connection ended, so that tables
    /// fed disjoint shards of one capture can be merged back into the
    /// order one table would have finished them in (see
    /// [`FinishOrder`]).
    pub order: FinishOrder,
}

/// When a connection was finished, counted in calls of
/// [`FlowTable::handle`] and [`FlowTable::advance`] ("events": one per
/// frame when every frame is fed to one of them, as the analyzer does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinishOrder {
    /// The event that finished it (0-based); `u64::MAX` for
    /// [`FlowTable::finish_all`].
    pub event: u64,
}
