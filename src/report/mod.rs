//! The report: the public data model (serde types, the JSON contract
//! documented in `docs/schema.md`), the inference of close reasons and
//! flags from the TCP and HTTP facts, the per-server and summary
//! aggregation, the report filter, and the writers (text, JSON, NDJSON).
//!
//! The model is separate from the layers' internal state: records are built
//! once, when a connection ends, and never change afterwards. Findings that
//! need several connections (a server's idle timeout, a request cap that
//! recurs, missed reuse) live in the server records and the summary.

mod aggregate;
mod build;
mod community_id;
mod filter;
mod json_fast;
mod model;
mod text;
mod writer;

pub(crate) use aggregate::Digests;
pub use aggregate::{
    Aggregator, MAX_CLIENTS_LISTED, MAX_DISTINCT_VALUES, MAX_FINDINGS, MAX_PAIR_FINDINGS,
    MAX_PAIR_PENDING_EVENTS, MAX_SAMPLES, MAX_WATERMARK_PENDING, MIN_IDLE_CLOSES,
    MISSED_REUSE_MIN_EXCESS, REQUEST_CAP_MIN_CONNECTIONS, REQUEST_CAP_MIN_SHARE,
    TIME_WAIT_MIN_CONNECTIONS, TIME_WAIT_MIN_SHARE, WATERMARK_SLACK_NS,
};
pub(crate) use build::build_final;
pub use build::{
    build_connection, timeout_mismatch, DEAD_PEER_MIN_UNANSWERED, TIMEOUT_TOLERANCE_ABS_MS,
    TIMEOUT_TOLERANCE_REL,
};
pub use community_id::{community_id_tcp, community_id_v1};
pub use filter::{HostPort, ReportFilter};
pub(crate) use json_fast::ConnectionJson;
pub use model::*;
pub(crate) use writer::{connection_line, refinable_at, RawLine};
pub use writer::{ExchangeDetail, Format, ReportWriter, WriterOptions};
