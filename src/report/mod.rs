//! The report: the public data model (serde types, the JSON contract
//! documented in `docs/schema.md`), the inference of close reasons and
//! flags from the TCP and HTTP facts, the per-server and summary
//! aggregation, and the writers (text, JSON, NDJSON).
//!
//! The model is separate from the layers' internal state: records are built
//! once, when a connection ends.

mod build;
mod model;
mod writer;

pub use build::{build_connection, Aggregator};
pub use model::*;
pub use writer::{Format, ReportWriter, WriterOptions};
