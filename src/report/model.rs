//! The JSON contract. Every field here is described in `docs/schema.md`;
//! names are stable, and [`SCHEMA_VERSION`] changes when they change.
//!
//! Every type is `Serialize` and `Deserialize`, so consumers (and our own
//! tests) can parse a report back into these types. Enums serialize as the
//! snake_case strings the schema names (the one exception is [`Framing`],
//! whose values are the header-style `content-length` the issue names).
//! Timestamps are RFC 3339 UTC strings; durations are `*_ms` numbers.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Version of the JSON/NDJSON schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report (the `json` format writes exactly this).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub capture: CaptureInfo,
    pub connections: Vec<ConnectionRecord>,
    pub servers: Vec<ServerRecord>,
    pub summary: Summary,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    /// Volatile: ignored by golden comparisons.
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: "keepwatch".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// What was read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CaptureInfo {
    pub files: Vec<FileInfo>,
    /// Frames read, all link types.
    pub packets: u64,
    /// Captured bytes of those frames.
    pub bytes: u64,
    /// Frames that decoded to a TCP segment (tunnelled ones included).
    pub tcp_packets: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Frames per link type number (JSON object keys are strings).
    #[serde(deserialize_with = "de_u32_keys")]
    pub link_types: BTreeMap<u32, u64>,
    /// Frames that yielded no TCP segment, per reason.
    pub skipped: BTreeMap<String, u64>,
    /// Frames cut short by the snaplen.
    pub truncated_packets: u64,
    /// TCP segments that arrived after their connection had finished (late
    /// ACKs, retransmitted FINs, an RST after a completed close, data in
    /// flight behind an RST), within the close linger: absorbed, not
    /// counted in any connection.
    #[serde(default)]
    pub late_segments: u64,
    /// Named limits that were hit, with how often.
    pub limits_hit: BTreeMap<String, u64>,
    /// Live capture only: libpcap's counters at the end (absent for files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcap_stats: Option<PcapStats>,
}

/// libpcap's counters for a live capture, since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PcapStats {
    /// Packets that passed the filter (on Linux, counted before drops).
    pub received: u64,
    /// Dropped because the kernel buffer was full (read too slowly).
    pub dropped: u64,
    /// Dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// A `{"type":"stats"}` NDJSON line, written by live capture every
/// `--stats-interval` and once more when it stops. Volatile by nature: it
/// describes the process, not the traffic, so it is the one line that reads
/// the wall clock, and the one a replay of the `-w` file does not reproduce.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct StatsLine {
    /// The last stats line, written when the capture stops.
    #[serde(rename = "final")]
    pub final_: bool,
    /// Wall-clock time since the capture started.
    pub elapsed_ms: f64,
    /// Capture time of the newest packet.
    pub last_ts: Option<Timestamp>,
    pub packets: u64,
    pub tcp_packets: u64,
    /// Connections tracked now (open, or closed and lingering).
    pub connections_open: u64,
    /// libpcap's counters so far (null if the platform has none).
    pub pcap: Option<PcapStats>,
    /// Resident memory of the process (Linux), null where unknown.
    pub rss_bytes: Option<u64>,
}

/// Integer map keys arrive as strings; parse them here so the map also
/// deserializes inside a buffered (`type`-tagged NDJSON) line, where serde
/// does not convert string keys to numbers by itself.
fn de_u32_keys<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<u32, u64>, D::Error> {
    let raw = BTreeMap::<String, u64>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            k.parse::<u32>()
                .map(|k| (k, v))
                .map_err(|_| serde::de::Error::custom(format_args!("bad link type key {k:?}")))
        })
        .collect()
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileInfo {
    pub path: String,
    /// `pcap`, `pcapng`, or null when the file could not be recognized.
    pub format: Option<String>,
    pub gzip: bool,
    pub packets: u64,
    /// The warning or error that ended reading, if any.
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub ip: IpAddr,
    pub port: u16,
}

impl fmt::Display for EndpointRecord {
    /// `ip:port`, with IPv6 addresses in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// How client and server were told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectionBy {
    Syn,
    SynAck,
    Payload,
    Port,
}

/// A set of sides: who initiated a close, who holds TIME_WAIT, who asked
/// for the close.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Sides {
    #[default]
    None,
    Client,
    Server,
    Both,
}

impl Sides {
    pub const ALL: [Sides; 4] = [Sides::None, Sides::Client, Sides::Server, Sides::Both];

    pub fn as_str(self) -> &'static str {
        match self {
            Sides::None => "none",
            Sides::Client => "client",
            Sides::Server => "server",
            Sides::Both => "both",
        }
    }
    pub fn has_client(self) -> bool {
        matches!(self, Sides::Client | Sides::Both)
    }
    pub fn has_server(self) -> bool {
        matches!(self, Sides::Server | Sides::Both)
    }
    pub fn from_flags(client: bool, server: bool) -> Sides {
        match (client, server) {
            (false, false) => Sides::None,
            (true, false) => Sides::Client,
            (false, true) => Sides::Server,
            (true, true) => Sides::Both,
        }
    }
}

/// What ended the connection first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseBy {
    Fin,
    Rst,
    #[default]
    None,
}

/// Why the connection ended: the first of the ordered rules in
/// `docs/schema.md` (implemented in `report/build.rs`) that matches.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    ClientClosedAfterResponse,
    ConnectionCloseRequested,
    CloseDelimitedBody,
    ServerIdleTimeout,
    MaxRequests,
    KeepaliveRace,
    DeadPeer,
    ResetByClient,
    ResetByServer,
    OpenAtCaptureEnd,
    Evicted,
    #[default]
    Unknown,
}

impl CloseReason {
    pub const ALL: [CloseReason; 12] = [
        CloseReason::ClientClosedAfterResponse,
        CloseReason::ConnectionCloseRequested,
        CloseReason::CloseDelimitedBody,
        CloseReason::ServerIdleTimeout,
        CloseReason::MaxRequests,
        CloseReason::KeepaliveRace,
        CloseReason::DeadPeer,
        CloseReason::ResetByClient,
        CloseReason::ResetByServer,
        CloseReason::OpenAtCaptureEnd,
        CloseReason::Evicted,
        CloseReason::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ClientClosedAfterResponse => "client_closed_after_response",
            CloseReason::ConnectionCloseRequested => "connection_close_requested",
            CloseReason::CloseDelimitedBody => "close_delimited_body",
            CloseReason::ServerIdleTimeout => "server_idle_timeout",
            CloseReason::MaxRequests => "max_requests",
            CloseReason::KeepaliveRace => "keepalive_race",
            CloseReason::DeadPeer => "dead_peer",
            CloseReason::ResetByClient => "reset_by_client",
            CloseReason::ResetByServer => "reset_by_server",
            CloseReason::OpenAtCaptureEnd => "open_at_capture_end",
            CloseReason::Evicted => "evicted",
            CloseReason::Unknown => "unknown",
        }
    }
}

/// RFC 9293 state at the end of the capture, as the report names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndState {
    Open,
    Closing,
    Closed,
    Reset,
    Evicted,
}

/// What a connection's byte streams carry.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    #[default]
    None,
    Http1,
    Tls,
    Http2,
    Other,
}

impl Protocol {
    pub const ALL: [Protocol; 5] = [
        Protocol::None,
        Protocol::Http1,
        Protocol::Tls,
        Protocol::Http2,
        Protocol::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::None => "none",
            Protocol::Http1 => "http1",
            Protocol::Tls => "tls",
            Protocol::Http2 => "http2",
            Protocol::Other => "other",
        }
    }
}

/// How a message body was delimited (RFC 9112 section 6.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    #[default]
    None,
    ContentLength,
    Chunked,
    Close,
}

/// Stable per-connection flags (`flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Reused,
    SingleExchange,
    Pipelined,
    KeepaliveRace,
    PrematureClose,
    ReuseAfterClose,
    DeclaredTimeoutMismatch,
    TcpKeepalive,
    DeadPeer,
    MidStream,
    CaptureLoss,
    TimeWaitClient,
    TimeWaitServer,
    CloseDelimitedHttp11,
    PortReuse,
}

impl Flag {
    pub const ALL: [Flag; 15] = [
        Flag::Reused,
        Flag::SingleExchange,
        Flag::Pipelined,
        Flag::KeepaliveRace,
        Flag::PrematureClose,
        Flag::ReuseAfterClose,
        Flag::DeclaredTimeoutMismatch,
        Flag::TcpKeepalive,
        Flag::DeadPeer,
        Flag::MidStream,
        Flag::CaptureLoss,
        Flag::TimeWaitClient,
        Flag::TimeWaitServer,
        Flag::CloseDelimitedHttp11,
        Flag::PortReuse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Reused => "reused",
            Flag::SingleExchange => "single_exchange",
            Flag::Pipelined => "pipelined",
            Flag::KeepaliveRace => "keepalive_race",
            Flag::PrematureClose => "premature_close",
            Flag::ReuseAfterClose => "reuse_after_close",
            Flag::DeclaredTimeoutMismatch => "declared_timeout_mismatch",
            Flag::TcpKeepalive => "tcp_keepalive",
            Flag::DeadPeer => "dead_peer",
            Flag::MidStream => "mid_stream",
            Flag::CaptureLoss => "capture_loss",
            Flag::TimeWaitClient => "time_wait_client",
            Flag::TimeWaitServer => "time_wait_server",
            Flag::CloseDelimitedHttp11 => "close_delimited_http11",
            Flag::PortReuse => "port_reuse",
        }
    }
}

impl std::str::FromStr for Flag {
    type Err = String;
    fn from_str(s: &str) -> Result<Flag, String> {
        Flag::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Flag::ALL.iter().map(|f| f.as_str()).collect();
                format!("unknown flag {s:?} (one of: {})", names.join(", "))
            })
    }
}

/// min / median / max of a set of durations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Stats {
    /// Of `values` (any order); `None` when empty. Sorts in place. The
    /// median of an even count is the mean of the middle two.
    pub fn of(values: &mut [f64]) -> Option<Stats> {
        values.sort_by(|a, b| a.total_cmp(b));
        let n = values.len();
        let min = *values.first()?;
        let max = *values.last()?;
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            // Rounded to the nanosecond so halving two millisecond values
            // does not print binary noise (1023.9939999999999).
            ((values[n / 2 - 1] + values[n / 2]) / 2.0 * 1e6).round() / 1e6
        };
        Some(Stats { min, median, max })
    }
}

/// Handshake times and round trips, as seen from the capture point.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HandshakeRecord {
    pub syn: Option<Timestamp>,
    pub syn_ack: Option<Timestamp>,
    pub ack: Option<Timestamp>,
    /// SYN to final ACK.
    pub rtt_ms: Option<f64>,
    /// SYN to SYN-ACK: the path from the capture point to the server and back.
    pub server_rtt_ms: Option<f64>,
    /// SYN-ACK to ACK: the path from the capture point to the client and back.
    pub client_rtt_ms: Option<f64>,
}

/// A count per direction, by sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerDirection {
    /// Sent by the client.
    pub to_server: u64,
    /// Sent by the server.
    pub to_client: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CloseRecord {
    /// Who closed first (first FIN or RST); `both` for a simultaneous close.
    pub initiator: Sides,
    /// What the initiator sent first.
    pub by: CloseBy,
    /// Who ends in TIME_WAIT.
    pub time_wait: Sides,
    /// Time of the first FIN or RST.
    pub at: Option<Timestamp>,
    pub reason: CloseReason,
    /// Who sent `Connection: close` (or an HTTP/1.0 message without
    /// keep-alive) on the last exchange; `none` if nobody did.
    pub requested_by: Sides,
    /// From the last data before the close (normally the last response's
    /// last byte) to `at`.
    pub idle_before_ms: Option<f64>,
    pub simultaneous: bool,
    pub half_close: bool,
}

/// TCP keepalive probes sent by one side and the peer's answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeepaliveSide {
    pub probes: u64,
    pub acks: u64,
    pub unanswered: u64,
    /// Estimates the sender's `tcp_keepalive_time`.
    pub first_after_idle_ms: Option<f64>,
    /// Estimates the sender's `tcp_keepalive_intvl`.
    pub interval_ms: Option<Stats>,
    pub ended_in_rst: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TcpKeepaliveRecord {
    /// Probes the client sent.
    pub client: KeepaliveSide,
    /// Probes the server sent.
    pub server: KeepaliveSide,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnomaliesRecord {
    pub retransmissions: u64,
    pub out_of_order: u64,
    pub overlap_conflicts: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub zero_window_probes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpErrorsRecord {
    pub head_too_large: u64,
    pub too_many_headers: u64,
    pub malformed_head: u64,
    pub bad_content_length: u64,
    pub bad_chunk: u64,
    pub resync_skipped_bytes: u64,
    pub out_of_sync: u64,
    pub pending_overflow: u64,
}

/// `Connection` header tokens of one exchange, lower-cased, in order.
/// The common tokens (`close`, `keep-alive`, `upgrade`) borrow, as the
/// standard methods, versions and status classes below do: building a
/// record of a short connection allocated once per such string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionHeaders {
    pub request: Vec<Cow<'static, str>>,
    pub response: Vec<Cow<'static, str>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepAliveRecord {
    pub timeout: Option<u64>,
    pub max: Option<u64>,
}

/// One request and its response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRecord {
    pub method: Option<Cow<'static, str>>,
    pub uri: Option<String>,
    pub status: Option<u16>,
    /// `"1.0"`, `"1.1"`.
    pub request_version: Option<Cow<'static, str>>,
    pub response_version: Option<Cow<'static, str>>,
    pub request_first: Option<Timestamp>,
    pub request_last: Option<Timestamp>,
    pub response_first: Option<Timestamp>,
    pub response_last: Option<Timestamp>,
    /// Request last byte to response first byte.
    pub wait_ms: Option<f64>,
    /// Request first byte to response last byte.
    pub duration_ms: Option<f64>,
    /// Time the finished request waited behind an earlier response.
    pub hol_wait_ms: f64,
    pub request_body_bytes: u64,
    pub response_body_bytes: u64,
    /// The response's body framing.
    pub framing: Framing,
    pub request_framing: Framing,
    pub connection: ConnectionHeaders,
    /// The response's `Keep-Alive` parameters.
    pub keep_alive: KeepAliveRecord,
    pub persistent: bool,
    pub pipelined: bool,
    pub expect_continue: bool,
    pub interim_responses: u32,
    pub missing_bytes: u64,
    pub request_after_server_fin: bool,
    pub request_after_close: bool,
    pub response_incomplete: bool,
    /// The request was lost to a keep-alive race (no response; see
    /// `close.reason`).
    pub lost: bool,
}

/// Per-connection exchange totals, written whatever `--exchanges` says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExchangeSummary {
    /// Exchanges whose details the HTTP layer kept.
    pub kept: u64,
    /// Exchanges beyond the HTTP layer's per-connection limit.
    pub dropped: u64,
    /// Final responses per status class: `1xx` .. `5xx`, `other`.
    pub status_classes: BTreeMap<Cow<'static, str>, u64>,
    pub wait_ms: Option<Stats>,
    pub duration_ms: Option<Stats>,
    pub request_body_bytes: u64,
    pub response_body_bytes: u64,
}

/// One TCP connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub id: u64,
    pub client: EndpointRecord,
    pub server: EndpointRecord,
    /// Innermost 802.1Q VLAN id.
    pub vlan: Option<u16>,
    /// VXLAN VNI, GRE key or ERSPAN session of the innermost tunnel.
    pub tunnel_id: Option<u32>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub duration_ms: f64,
    pub mid_stream: bool,
    pub direction_by: DirectionBy,
    pub port_reuse: bool,
    pub handshake: HandshakeRecord,
    /// Segments per direction.
    pub packets: PerDirection,
    /// Payload bytes on the wire per direction (retransmissions included).
    pub bytes: PerDirection,
    /// Payload bytes delivered in order per direction (each byte once).
    pub stream_bytes: PerDirection,
    pub close: CloseRecord,
    pub end_state: EndState,
    pub tcp_keepalive: TcpKeepaliveRecord,
    pub tcp_idle_max_ms: f64,
    pub anomalies: AnomaliesRecord,
    pub community_id: String,
    pub protocol: Protocol,
    pub requests: u64,
    pub responses: u64,
    /// Per-exchange details; absent when written with `--exchanges summary`
    /// or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchanges: Option<Vec<ExchangeRecord>>,
    /// Absent when written with `--exchanges none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_summary: Option<ExchangeSummary>,
    pub idle_gaps_ms: Vec<f64>,
    pub idle_max_ms: Option<f64>,
    pub pipeline_depth_max: u32,
    pub unanswered_requests: u64,
    pub unmatched_responses: u64,
    pub http_errors: HttpErrorsRecord,
    pub upgrade: Option<String>,
    /// Requests lost to a keep-alive race.
    pub lost_requests: u64,
    pub flags: Vec<Flag>,
    /// `false` in an interim record of a connection still open (live
    /// capture's `--idle-report`): the connection's final record comes
    /// later. Records written before the field existed are final.
    #[serde(rename = "final", default = "final_default")]
    pub final_: bool,
}

fn final_default() -> bool {
    true
}

impl ConnectionRecord {
    pub fn has_flag(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }
}

/// The server's observed idle timeout, from its `server_idle_timeout`
/// closes after at least one exchange.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IdleTimeoutRecord {
    /// Closes the statistics are taken from.
    pub closes: u64,
    /// Of `close.idle_before_ms` (median over at most the first
    /// `MAX_SAMPLES` closes).
    pub idle_before_ms: Stats,
    /// The inferred timeout: the median.
    pub inferred_ms: f64,
}

/// The `Keep-Alive` header values the server sent most often.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdvertisedKeepAlive {
    /// Responses that carried a `Keep-Alive` header.
    pub responses: u64,
    pub timeout: Option<u64>,
    /// The largest `max` seen (servers count it down).
    pub max: Option<u64>,
}

/// Exchanges after which the server closes with `Connection: close`, when
/// one number recurs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestCapRecord {
    pub requests: u64,
    /// Server-requested closes that ended after exactly `requests` exchanges.
    pub connections: u64,
    /// All server-requested closes.
    pub of: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeepaliveEstimate {
    /// Connections on which this side sent probes.
    pub connections: u64,
    pub probes: u64,
    pub unanswered: u64,
    /// Of the per-connection `first_after_idle_ms`.
    pub first_after_idle_ms: Option<Stats>,
    /// Of the per-connection median probe interval.
    pub interval_ms: Option<Stats>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeepaliveEstimates {
    pub client: KeepaliveEstimate,
    pub server: KeepaliveEstimate,
    pub dead_peers: u64,
}

/// Connection reuse between one client and one server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientReuse {
    pub client: IpAddr,
    pub connections: u64,
    /// Connections that carried at least one request.
    pub http_connections: u64,
    /// Of `http_connections`, those the client closed itself (first FIN
    /// after a complete response, or its own `Connection: close`).
    pub client_closed: u64,
    /// Connections opened while the client had an idle reusable connection
    /// to this server.
    pub missed_reuse: u64,
    /// The most connections busy at once: how many a pool that reuses idle
    /// connections would have needed.
    pub min_pool: u64,
    /// The computation hit a memory limit or a record came too late; the
    /// numbers may be off.
    pub approximate: bool,
}

/// One server (ip:port).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerRecord {
    pub server: EndpointRecord,
    pub connections: u64,
    pub exchanges: u64,
    pub exchanges_per_connection: PerConnection,
    pub reused_connections: u64,
    pub reuse_share: f64,
    pub close_initiators: BTreeMap<Sides, u64>,
    pub close_reasons: BTreeMap<CloseReason, u64>,
    pub time_wait: BTreeMap<Sides, u64>,
    pub flags: BTreeMap<Flag, u64>,
    pub idle_timeout: Option<IdleTimeoutRecord>,
    pub advertised_keep_alive: AdvertisedKeepAlive,
    /// The observed idle timeout differs from the advertised one by more
    /// than the tolerance (see `docs/schema.md`).
    pub declared_timeout_mismatch: bool,
    pub request_cap: Option<RequestCapRecord>,
    pub keepalive_races: u64,
    pub lost_requests: u64,
    pub tcp_keepalive: KeepaliveEstimates,
    pub missed_reuse: u64,
    /// Sum over clients of `min_pool`.
    pub connections_needed: u64,
    /// Per client, most connections first; at most `MAX_CLIENTS_LISTED`.
    pub clients: Vec<ClientReuse>,
    pub clients_omitted: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PerConnection {
    pub mean: f64,
    pub max: u64,
}

/// Why a finding was raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    IdleTimeout,
    DeclaredTimeoutMismatch,
    KeepaliveRace,
    MissedReuse,
    TimeWait,
    RequestCap,
    DeadPeer,
    TcpKeepalive,
    ReuseAfterClose,
    PrematureClose,
    CaptureLoss,
}

/// One plain-language finding with the numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub server: Option<EndpointRecord>,
    pub client: Option<IpAddr>,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CaptureLossSummary {
    pub connections: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub connections: u64,
    pub exchanges: u64,
    pub exchanges_per_connection: PerConnection,
    pub reused_connections: u64,
    pub reuse_share: f64,
    pub close_initiators: BTreeMap<Sides, u64>,
    pub close_reasons: BTreeMap<CloseReason, u64>,
    pub time_wait: BTreeMap<Sides, u64>,
    pub flags: BTreeMap<Flag, u64>,
    pub keepalive_races: u64,
    pub lost_requests: u64,
    pub missed_reuse: u64,
    pub protocols: BTreeMap<Protocol, u64>,
    pub capture_loss: CaptureLossSummary,
    /// Connections the filter (`--server`, `--client`, `--only`) left out;
    /// everything else here counts only the connections kept.
    pub filtered_out: u64,
    /// At most `MAX_FINDINGS`, ordered by kind.
    pub findings: Vec<Finding>,
    /// Findings beyond `MAX_FINDINGS`.
    pub findings_omitted: u64,
}

/// The first NDJSON line: what wrote the stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeaderLine {
    pub schema_version: u32,
    pub tool: ToolInfo,
}

/// One NDJSON line, by its `type` field. The writer emits one `header`,
/// then `connection` lines as connections end, then `server` lines, one
/// `capture` line and a final `summary` line. Live capture adds `stats`
/// lines and interim `connection` lines (`final: false`) after the header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NdjsonLine {
    Header(HeaderLine),
    Connection(Box<ConnectionRecord>),
    Server(Box<ServerRecord>),
    Capture(CaptureInfo),
    Summary(Box<Summary>),
    /// Live capture only.
    Stats(StatsLine),
}
