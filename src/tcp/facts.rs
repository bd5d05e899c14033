//! What the TCP layer knows about a finished connection: the contract with
//! the report layer. Times are capture timestamps; the report turns them
//! into `*_ms` numbers. Fields may be added, never renamed or removed
//! without changing the report.

use crate::decode::{Endpoint, NetTag};
use crate::time::Timestamp;

/// How the client and server of a connection were told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectionEvidence {
    /// The client sent the SYN.
    Syn,
    /// A SYN-ACK was seen (its sender is the server).
    SynAck,
    /// The first payload looked like a request or a response.
    Payload,
    /// The well-known / lower / `--server-port` port.
    Port,
}

/// RFC 9293 state at the end of the capture, as the report names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndState {
    /// Established (or half-open) and no close seen.
    Open,
    /// A FIN was seen but the close did not complete.
    Closing,
    /// Both FINs were seen and acknowledged.
    Closed,
    /// Ended by an RST.
    Reset,
    /// Dropped from the table because it was full.
    Evicted,
}

/// Which side(s) of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sides {
    None,
    Client,
    Server,
    Both,
}

/// Which single side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    pub syn: Option<Timestamp>,
    pub syn_ack: Option<Timestamp>,
    /// The client's ACK completing the handshake.
    pub ack: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseEvent {
    pub by: Side,
    pub at: Timestamp,
}

/// TCP keepalive probes sent by one side and the peer's answers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeepaliveFacts {
    pub probes: u64,
    pub acks: u64,
    pub unanswered: u64,
    /// Silence (no segment either way other than probes) before the first
    /// probe: estimates `tcp_keepalive_time`.
    pub first_after_idle_ns: Option<u64>,
    /// Intervals between consecutive probes (capped in length; estimates
    /// `tcp_keepalive_intvl`).
    pub intervals_ns: Vec<u64>,
    /// The connection ended with an RST after unanswered probes.
    pub ended_in_rst: bool,
}

/// Per-direction counts, by sender.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SideFacts {
    pub packets: u64,
    /// Payload bytes on the wire (including retransmissions and bytes cut by
    /// the snaplen).
    pub bytes: u64,
    /// Payload bytes delivered in order (each byte once).
    pub stream_bytes: u64,
    pub first_data: Option<Timestamp>,
    pub last_data: Option<Timestamp>,
    pub keepalive: KeepaliveFacts,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Anomalies {
    pub retransmissions: u64,
    pub out_of_order: u64,
    /// Retransmitted bytes that differ from what was delivered first (the
    /// first copy wins).
    pub overlap_conflicts: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub zero_window_probes: u64,
}

/// Limits of the TCP layer that were hit, for `capture.limits_hit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitsHit {
    /// Connections evicted because the table was full.
    pub max_connections: u64,
    /// Times out-of-order data was dropped (and turned into a gap) because
    /// a buffer cap was reached.
    pub max_buffer: u64,
}

/// Everything the TCP layer states about one connection.
#[derive(Clone, Debug, PartialEq)]
pub struct TcpFacts {
    /// Sequential, in order of the connection's first packet, from 1.
    pub id: u64,
    pub client: Endpoint,
    pub server: Endpoint,
    pub tag: NetTag,
    pub start: Timestamp,
    pub end: Timestamp,
    pub mid_stream: bool,
    pub direction_by: DirectionEvidence,
    /// A SYN reused the 4-tuple of an earlier connection that had closed.
    pub port_reuse: bool,
    pub handshake: Handshake,
    /// Indexed by [`super::Direction::index`]: `[0]` is what the client
    /// sent, `[1]` what the server sent.
    pub sides: [SideFacts; 2],
    pub first_fin: Option<CloseEvent>,
    pub first_rst: Option<CloseEvent>,
    /// Both sides sent FIN before seeing the other's.
    pub simultaneous_close: bool,
    /// One side closed while data still flowed the other way.
    pub half_close: bool,
    pub time_wait: Sides,
    pub end_state: EndState,
    /// Longest silence with no segment either way other than keepalive
    /// probes and their ACKs.
    pub idle_max_ns: u64,
    pub anomalies: Anomalies,
}
