//! keepwatch: a passive analyzer of HTTP/1.x keep-alive and TCP keepalive
//! behaviour in packet captures.
//!
//! # The pipeline
//!
//! Data flows one way through five stages, each a module:
//!
//! 1. [`capture`]: packet sources. Capture files (pcap, pcapng, gzip, stdin)
//!    yield borrowed [`capture::Frame`]s.
//! 2. [`decode`]: link layer to IP to TCP, zero-copy, giving a
//!    [`decode::Segment`] that borrows the frame, or a skip reason.
//! 3. [`tcp`]: the flow table and reassembler. Sans-IO: segments and their
//!    capture timestamps go in; ordered bytes, gaps and closes per direction
//!    go to a [`tcp::StreamHandler`]; finished connections come out with
//!    their [`tcp::TcpFacts`].
//! 4. [`http`]: HTTP/1.x framing and pairing over the reassembled streams,
//!    as the [`tcp::StreamHandler`] of every connection, giving
//!    [`http::HttpFacts`].
//! 5. [`report`]: the JSON model, inference of close reasons and flags,
//!    per-server aggregation and the writers.
//!
//! [`Analyzer`] ties them together: frames in, records out. Nothing in the
//! engine reads the wall clock, prints, or exits the process.
//!
//! Unsafe code is denied everywhere but two functions of one module
//! (`capture/mapped.rs`): mapping a capture file into memory, which saves
//! the copy from the page cache that was the largest cost of reading
//! keep-alive traffic, and prefetching the next record's header, so that
//! the cache miss each large frame costs overlaps the analysis of the frame
//! before (BENCHMARKS.md).

#![deny(unsafe_code)]

mod analyzer;
pub mod capture;
pub mod decode;
pub mod http;
mod parallel;
pub mod report;
pub mod tcp;
pub mod time;

pub use analyzer::{
    analyze_files, analyze_files_filtered, Analyzer, Config, Progress, ProgressHook, RunOutcome,
    Session,
};
