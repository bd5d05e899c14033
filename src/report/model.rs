//! The JSON contract. Every field here is described in `docs/schema.md`;
//! names are stable, and [`SCHEMA_VERSION`] changes when they change.

use crate::time::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Version of the JSON/NDJSON schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report (the `json` format writes exactly this).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub capture: CaptureInfo,
    pub connections: Vec<ConnectionRecord>,
    pub servers: Vec<ServerRecord>,
    pub summary: Summary,
}

#[derive(Clone, Debug, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    /// Volatile: ignored by golden comparisons.
    pub version: &'static str,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: "keepwatch",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// What was read.
#[derive(Clone, Debug, Default, Serialize)]
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
    /// Frames per link type number.
    pub link_types: BTreeMap<u32, u64>,
    /// Frames that yielded no TCP segment, per reason.
    pub skipped: BTreeMap<String, u64>,
    /// Frames cut short by the snaplen.
    pub truncated_packets: u64,
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

#[derive(Clone, Debug, Default, Serialize)]
pub struct FileInfo {
    pub path: String,
    /// `pcap`, `pcapng`, or null when the file could not be recognized.
    pub format: Option<String>,
    pub gzip: bool,
    pub packets: u64,
    /// The warning or error that ended reading, if any.
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EndpointRecord {
    pub ip: IpAddr,
    pub port: u16,
}

/// One TCP connection.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionRecord {
    pub id: u64,
    pub client: EndpointRecord,
    pub server: EndpointRecord,
    pub start: Timestamp,
    pub end: Timestamp,
    pub duration_ms: f64,
}

/// One server (ip:port).
#[derive(Clone, Debug, Serialize)]
pub struct ServerRecord {
    pub server: EndpointRecord,
    pub connections: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub connections: u64,
}
