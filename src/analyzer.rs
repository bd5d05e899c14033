//! The pipeline as a library: frames in, connection records out.

use crate::capture::Frame;
use crate::decode::{self, SkipReason};
use crate::http::{self, HttpConfig, HttpConn};
use crate::report::{self, Aggregator, CaptureInfo, ConnectionRecord, ServerRecord, Summary};
use crate::tcp::{FlowTable, StreamHandler, TcpConfig};
use crate::time::Timestamp;
use std::sync::Arc;

/// Everything the engine can be told. Built by the CLI from its options, or
/// by library users directly.
#[derive(Clone, Debug)]
pub struct Config {
    pub tcp: TcpConfig,
    pub http: HttpConfig,
    /// Which connections the report keeps (`--server`, `--client`,
    /// `--only`); per-server records and the summary cover the same ones.
    pub filter: report::ReportFilter,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tcp: TcpConfig {
                classify: http::classify_start,
                ..TcpConfig::default()
            },
            http: HttpConfig::default(),
            filter: report::ReportFilter::default(),
        }
    }
}

/// Frames in, [`ConnectionRecord`]s out, with the per-server records and
/// the summary at the end.
///
/// ```
/// use keepwatch::{Analyzer, Config};
/// let mut a = Analyzer::new(Config::default());
/// // for each frame: a.process(&frame); while let Some(r) = a.next_record() { ... }
/// let (capture, servers, summary) = a.finish();
/// assert_eq!(capture.packets, 0);
/// ```
pub struct Analyzer {
    table: FlowTable<HttpConn>,
    capture: CaptureInfo,
    skipped: [u64; SkipReason::ALL.len()],
    aggregator: Aggregator,
    last_ts: Timestamp,
    /// HTTP limits hit, summed over finished connections, by their name in
    /// `capture.limits_hit`.
    http_limits: [(&'static str, u64); 5],
}

/// Folds one connection's HTTP facts into the per-limit counts.
fn count_http_limits(counts: &mut [(&'static str, u64); 5], h: &http::HttpFacts) {
    let hits = [
        h.errors.head_too_large,
        h.errors.too_many_headers,
        h.uris_cut,
        h.exchanges_dropped,
        h.errors.pending_overflow,
    ];
    for (c, n) in counts.iter_mut().zip(hits) {
        c.1 = c.1.saturating_add(n);
    }
}

impl Analyzer {
    pub fn new(cfg: Config) -> Self {
        let http_cfg = Arc::new(cfg.http.clone());
        let table = FlowTable::new(
            cfg.tcp,
            Box::new(move || HttpConn::new(Arc::clone(&http_cfg))),
        );
        Analyzer {
            table,
            capture: CaptureInfo::default(),
            skipped: [0; SkipReason::ALL.len()],
            aggregator: Aggregator::with_filter(cfg.filter),
            last_ts: Timestamp::ZERO,
            http_limits: [
                ("max_head", 0),
                ("max_headers", 0),
                ("max_uri_len", 0),
                ("max_exchanges_kept", 0),
                ("max_pending_requests", 0),
            ],
        }
    }

    /// What was read so far (files are recorded by the caller).
    pub fn capture_mut(&mut self) -> &mut CaptureInfo {
        &mut self.capture
    }

    /// Feed one frame.
    pub fn process(&mut self, frame: &Frame<'_>) {
        let c = &mut self.capture;
        c.packets += 1;
        c.bytes += frame.caplen as u64;
        if c.first_ts.is_none_or(|t| frame.ts < t) {
            c.first_ts = Some(frame.ts);
        }
        if c.last_ts.is_none_or(|t| frame.ts > t) {
            c.last_ts = Some(frame.ts);
        }
        if frame.orig_len > frame.caplen {
            c.truncated_packets += 1;
        }
        *c.link_types.entry(frame.link.0).or_insert(0) += 1;
        self.last_ts = self.last_ts.max(frame.ts);
        match decode::decode(frame) {
            Ok(seg) => {
                self.capture.tcp_packets += 1;
                self.table.handle(&seg);
            }
            Err(reason) => {
                self.skipped[reason as usize] += 1;
                self.table.advance(frame.ts);
            }
        }
    }

    /// The next connection that ended, as a report record.
    /// Connections the filter drops are still folded into the aggregator
    /// (its missed-reuse sweep needs every id) but not returned.
    pub fn next_record(&mut self) -> Option<ConnectionRecord> {
        loop {
            let mut f = self.table.pop_finished()?;
            f.handler.on_end(f.facts.end);
            count_http_limits(&mut self.http_limits, f.handler.facts());
            let mut rec = report::build_connection(&f.facts, f.handler.facts());
            self.aggregator.refine(&mut rec);
            if self.aggregator.add(&rec) {
                return Some(rec);
            }
        }
    }

    /// End of input: finish every open connection. Drain them with
    /// [`Analyzer::next_record`] before calling [`Analyzer::finish`].
    pub fn end_of_capture(&mut self) {
        self.table.finish_all(self.last_ts);
    }

    /// The capture description, per-server records and summary. Finishes
    /// (and folds in) any connection not yet drained.
    pub fn finish(mut self) -> (CaptureInfo, Vec<ServerRecord>, Summary) {
        self.end_of_capture();
        while self.next_record().is_some() {}
        let mut capture = self.capture;
        for (i, r) in SkipReason::ALL.iter().enumerate() {
            if self.skipped[i] > 0 {
                capture
                    .skipped
                    .insert(r.as_str().to_string(), self.skipped[i]);
            }
        }
        let limits = self.table.limits_hit();
        if limits.max_connections > 0 {
            capture
                .limits_hit
                .insert("max_connections".into(), limits.max_connections);
        }
        if limits.max_buffer > 0 {
            capture
                .limits_hit
                .insert("max_buffer".into(), limits.max_buffer);
        }
        for (name, n) in self.http_limits {
            if n > 0 {
                capture.limits_hit.insert(name.into(), n);
            }
        }
        let (servers, summary) = self.aggregator.finish();
        (capture, servers, summary)
    }
}

/// What [`analyze_files`] ran into.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// Read problems, in the order met: warnings (truncated files) and
    /// errors (not a capture, corrupt). Results before each are kept.
    pub problems: Vec<crate::capture::CaptureError>,
}

/// Read capture files in order as one capture and write the report.
/// Read problems end the file they occur in, not the run; only an output
/// error is returned as `Err`.
pub fn analyze_files<W: std::io::Write>(
    paths: &[String],
    cfg: Config,
    mut writer: report::ReportWriter<W>,
) -> std::io::Result<RunOutcome> {
    use crate::capture::FrameSource;
    let mut analyzer = Analyzer::new(cfg);
    let mut outcome = RunOutcome::default();
    for path in paths {
        let mut info = report::FileInfo {
            path: path.clone(),
            ..Default::default()
        };
        match crate::capture::open(path) {
            Err(e) => {
                info.error = Some(e.to_string());
                outcome.problems.push(e);
            }
            Ok(mut reader) => {
                info.format = Some(reader.format().as_str().to_string());
                info.gzip = reader.is_gzip();
                loop {
                    match reader.next_frame() {
                        Ok(Some(frame)) => {
                            info.packets += 1;
                            analyzer.process(&frame);
                            while let Some(rec) = analyzer.next_record() {
                                writer.connection(rec)?;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            info.error = Some(e.to_string());
                            outcome.problems.push(e);
                            break;
                        }
                    }
                }
            }
        }
        analyzer.capture_mut().files.push(info);
    }
    analyzer.end_of_capture();
    while let Some(rec) = analyzer.next_record() {
        writer.connection(rec)?;
    }
    let (capture, servers, summary) = analyzer.finish();
    writer.finish(capture, servers, summary)?;
    Ok(outcome)
}
