//! The pipeline as a library: frames in, connection records out.

use crate::capture::Frame;
use crate::decode::{self, SkipReason};
use crate::http::{self, HttpConfig, HttpConn};
use crate::report::{self, Aggregator, CaptureInfo, ConnectionRecord, ServerRecord, Summary};
use crate::tcp::{FinishOrder, FlowTable, StreamHandler, TcpConfig};
use crate::time::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// Everything the engine can be told. Built by the CLI from its options, or
/// by library users directly.
#[derive(Clone, Debug)]
pub struct Config {
    pub tcp: TcpConfig,
    pub http: HttpConfig,
    /// Which connections the report keeps (`--server`, `--client`,
    /// `--only`); per-server records and the summary cover the same ones.
    pub filter: report::ReportFilter,
    /// Threads for [`analyze_files`] (`--threads`), the calling one
    /// included; 1 runs everything on the calling thread. The output is
    /// the same whatever the count (see `parallel/mod.rs`).
    pub threads: usize,
    /// Called as files are read (`--progress` bars in the CLI); never by
    /// the engine itself.
    pub progress: Option<ProgressHook>,
}

/// Where reading stands: the `index`-th file of the run (from 0), named
/// `path`, has been read up to byte `offset` of its (decompressed) content.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    pub index: usize,
    pub path: &'a str,
    pub offset: u64,
    /// Reading of this file ended.
    pub done: bool,
}

/// A progress callback, shared by the reading threads.
#[derive(Clone)]
pub struct ProgressHook(pub std::sync::Arc<dyn Fn(&Progress<'_>) + Send + Sync>);

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressHook")
    }
}

/// Calls the progress hook every [`PROGRESS_STEP`] bytes of a file, so the
/// per-frame cost is one comparison.
pub(crate) struct ProgressTicker<'a> {
    hook: Option<&'a ProgressHook>,
    index: usize,
    path: &'a str,
    next: u64,
}

/// Bytes read between two progress calls.
pub const PROGRESS_STEP: u64 = 8 << 20;

impl<'a> ProgressTicker<'a> {
    pub(crate) fn new(hook: Option<&'a ProgressHook>, index: usize, path: &'a str) -> Self {
        ProgressTicker {
            hook,
            index,
            path,
            next: PROGRESS_STEP,
        }
    }

    #[inline]
    pub(crate) fn tick(&mut self, offset: u64) {
        if offset >= self.next {
            self.next = offset.saturating_add(PROGRESS_STEP);
            self.call(offset, false);
        }
    }

    pub(crate) fn done(&mut self, offset: u64) {
        self.call(offset, true);
    }

    fn call(&self, offset: u64, done: bool) {
        if let Some(h) = self.hook {
            (h.0)(&Progress {
                index: self.index,
                path: self.path,
                offset,
                done,
            });
        }
    }
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
            threads: 1,
            progress: None,
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
    /// HTTP limits hit, summed over finished connections, in the order of
    /// [`HTTP_LIMIT_NAMES`].
    http_limits: [u64; HTTP_LIMIT_NAMES.len()],
}

/// The HTTP limits' names in `capture.limits_hit`.
const HTTP_LIMIT_NAMES: [&str; 5] = [
    "max_head",
    "max_headers",
    "max_uri_len",
    "max_exchanges_kept",
    "max_pending_requests",
];

/// Folds one connection's HTTP facts into the per-limit counts.
/// The final record of a connection the table finished: its handler told
/// the connection ended, its HTTP limits hit counted. Every path that takes
/// finished connections builds their records so.
fn final_record(
    limits: &mut [u64; HTTP_LIMIT_NAMES.len()],
    facts: &crate::tcp::TcpFacts,
    handler: &mut HttpConn,
) -> ConnectionRecord {
    handler.on_end(facts.end);
    count_http_limits(limits, handler.facts());
    report::build_final(facts, handler.facts_mut())
}

/// Finished connections taken at once ([`Session::set_drain_batch`],
/// `parallel`): the exchanges a record is built from were written when
/// the request and response went by, and are out of the cache by the
/// close; with a few queued, those of the one after are fetched while the
/// one before is built (`short` 0.963 to 0.946 s, one thread, thirteenth
/// session).
pub(crate) const DRAIN_BATCH: usize = 8;

/// Starts loading the first kept exchange of the finished connection after
/// the one [`FlowTable::take_finished`] takes next.
fn prefetch_second_finished(table: &FlowTable<HttpConn>) {
    if let Some(ex) = table
        .peek_finished(1)
        .and_then(|h| h.facts().exchanges.first())
    {
        crate::capture::prefetch_value(ex, 2);
    }
}

/// Refines `rec` from the connections before it and folds it into the
/// aggregator; whether the report filter keeps it.
fn fold(aggregator: &mut Aggregator, rec: &mut ConnectionRecord) -> bool {
    aggregator.refine(rec);
    aggregator.add(rec)
}

fn count_http_limits(counts: &mut [u64; HTTP_LIMIT_NAMES.len()], h: &http::HttpFacts) {
    let hits = [
        h.errors.head_too_large,
        h.errors.too_many_headers,
        h.uris_cut,
        h.exchanges_dropped,
        h.errors.pending_overflow,
    ];
    for (c, n) in counts.iter_mut().zip(hits) {
        *c = c.saturating_add(n);
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
            http_limits: [0; HTTP_LIMIT_NAMES.len()],
        }
    }

    /// What was read so far.
    pub fn capture(&self) -> &CaptureInfo {
        &self.capture
    }

    /// Connections tracked now (open, or closed and lingering).
    pub fn open_connections(&self) -> usize {
        self.table.len()
    }

    /// Connections finished and not yet taken as records.
    pub(crate) fn finished_waiting(&self) -> usize {
        self.table.finished_len()
    }

    /// What was read so far (files are recorded by the caller).
    pub fn capture_mut(&mut self) -> &mut CaptureInfo {
        &mut self.capture
    }

    /// Feed one frame.
    pub fn process(&mut self, frame: &Frame<'_>) {
        self.process_decoded(frame, decode::decode(frame));
    }

    /// [`Analyzer::process`] for a frame decoded already: `--threads`
    /// decodes each frame once, in the reader, and hands workers the
    /// segment (`frame.data` is not read).
    pub(crate) fn process_decoded(
        &mut self,
        frame: &Frame<'_>,
        decoded: Result<decode::Segment<'_>, SkipReason>,
    ) {
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
        match decoded {
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

    /// Before a frame of a `--threads` worker's shard (see `parallel/mod.rs`):
    /// it is global frame number `event`, and `now` is the latest timestamp
    /// of all the frames before it, so lingering connections expire exactly
    /// when they would have in a single analyzer.
    pub(crate) fn sync(&mut self, event: u64, now: Timestamp) {
        self.last_ts = self.last_ts.max(now);
        self.table.sync(event, now);
    }

    /// Asks the CPU for the flow-table slot of `seg`'s connection, ahead of
    /// [`Analyzer::process_decoded`] of it.
    pub(crate) fn prefetch_flow(&self, seg: &crate::decode::Segment<'_>) {
        self.table.prefetch(seg);
    }

    /// A `--threads` shard's part of the table limits (`max_connections`,
    /// `max_buffer_total`), set before its first frame.
    pub(crate) fn set_table_limits(&mut self, max_connections: usize, max_buffer_total: usize) {
        self.table.set_limits(max_connections, max_buffer_total);
    }

    /// Connections started so far (the last TCP id given out).
    pub(crate) fn connections_started(&self) -> u64 {
        self.table.connections_started()
    }

    /// The next connection that ended, as a record not yet given to the
    /// aggregator, with when it ended (see `parallel/mod.rs`).
    /// Its HTTP limits hit are counted here, for both paths.
    pub(crate) fn next_unaggregated(&mut self) -> Option<(ConnectionRecord, FinishOrder)> {
        prefetch_second_finished(&self.table);
        let limits = &mut self.http_limits;
        self.table
            .take_finished(|facts, handler, order| (final_record(limits, facts, handler), order))
    }

    /// [`Analyzer::next_record`] for every connection that ended, each
    /// handed to `f` where it was built instead of returned; the number
    /// handed.
    pub(crate) fn drain_records(
        &mut self,
        mut f: impl FnMut(&ConnectionRecord) -> std::io::Result<()>,
    ) -> std::io::Result<usize> {
        let (table, aggregator, limits) =
            (&mut self.table, &mut self.aggregator, &mut self.http_limits);
        let mut n = 0;
        loop {
            prefetch_second_finished(table);
            let done = table.take_finished(|facts, handler, _| {
                let mut rec = final_record(limits, facts, handler);
                if fold(aggregator, &mut rec) {
                    f(&rec).map(|()| 1)
                } else {
                    Ok(0)
                }
            });
            match done {
                Some(r) => n += r?,
                None => return Ok(n),
            }
        }
    }

    /// The next connection that ended, as a report record.
    /// Connections the filter drops are still folded into the aggregator
    /// (its missed-reuse sweep needs every id) but not returned.
    pub fn next_record(&mut self) -> Option<ConnectionRecord> {
        loop {
            let (mut rec, _) = self.next_unaggregated()?;
            if fold(&mut self.aggregator, &mut rec) {
                return Some(rec);
            }
        }
    }

    /// Interim records (`final: false`) of the connections still open that
    /// have had no segment either way for longer than `idle`, as of the
    /// latest packet's capture time (never the wall clock), each once per
    /// idle period: see [`FlowTable::idle_since`]. The connections are not
    /// ended or split, and the records are not folded into the per-server
    /// records or the summary, which count each connection once, from its
    /// final record. Records the report filter drops are not returned.
    pub fn interim_records(&mut self, idle: Duration) -> Vec<ConnectionRecord> {
        let ns = i64::try_from(idle.as_nanos()).unwrap_or(i64::MAX);
        let cutoff = Timestamp::from_nanos(self.last_ts.nanos().saturating_sub(ns));
        let aggregator = &self.aggregator;
        let mut out = Vec::new();
        self.table.idle_since(cutoff, |tcp, http| {
            let mut rec = report::build_connection(tcp, http.facts());
            rec.final_ = false;
            aggregator.refine(&mut rec);
            if aggregator.keeps(&rec) {
                out.push(rec);
            }
        });
        out
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
        let (capture, aggregator) = self.into_parts();
        let (servers, summary) = aggregator.finish();
        (capture, servers, summary)
    }

    /// The capture description (with skip and limit counters) and the
    /// aggregator, once every record has been drained.
    pub(crate) fn into_parts(self) -> (CaptureInfo, Aggregator) {
        let mut capture = self.capture;
        for (i, r) in SkipReason::ALL.iter().enumerate() {
            if self.skipped[i] > 0 {
                capture
                    .skipped
                    .insert(r.as_str().to_string(), self.skipped[i]);
            }
        }
        capture.late_segments = self.table.late_segments();
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
        for (name, n) in HTTP_LIMIT_NAMES.into_iter().zip(self.http_limits) {
            if n > 0 {
                capture.limits_hit.insert(name.into(), n);
            }
        }
        (capture, self.aggregator)
    }
}

/// What [`analyze_files`] ran into.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// Read problems, in the order met: warnings (truncated files) and
    /// errors (not a capture, corrupt). Results before each are kept.
    pub problems: Vec<crate::capture::CaptureError>,
    /// Why the frame filter stopped the run (it cannot apply to a link type
    /// met in the input), if it did. Results before it are kept.
    pub filter_error: Option<String>,
}

/// One run of the engine, writing connection records as they end: the part
/// file and live modes share. The caller only feeds frames (in any order of
/// sources) and ends it; the report it writes depends on nothing but the
/// frames.
pub struct Session<W: std::io::Write> {
    analyzer: Analyzer,
    writer: report::ReportWriter<W>,
    /// See [`Session::set_drain_batch`].
    drain_batch: usize,
}

impl<W: std::io::Write> Session<W> {
    pub fn new(cfg: Config, writer: report::ReportWriter<W>) -> Self {
        Session {
            analyzer: Analyzer::new(cfg),
            writer,
            drain_batch: 1,
        }
    }

    /// Write records only once `n` connections have finished (and at the
    /// end), not after every frame that finishes one: the same records in
    /// the same order, built a few at a time, so the exchanges of the next
    /// are fetched while one is built. File runs use 8; live capture keeps
    /// 1, so a record is written as its connection ends.
    pub fn set_drain_batch(&mut self, n: usize) {
        self.drain_batch = n.max(1);
    }

    /// Feed one frame and write the records of the connections it ended.
    /// Returns how many were written.
    pub fn process(&mut self, frame: &Frame<'_>) -> std::io::Result<usize> {
        self.analyzer.process(frame);
        if self.analyzer.finished_waiting() < self.drain_batch {
            return Ok(0);
        }
        self.drain()
    }

    fn drain(&mut self) -> std::io::Result<usize> {
        if self.writer.format() == report::Format::Ndjson {
            let writer = &mut self.writer;
            return self
                .analyzer
                .drain_records(|rec| writer.connection_line(rec));
        }
        let mut n = 0;
        while let Some(rec) = self.analyzer.next_record() {
            self.writer.connection(rec)?;
            n += 1;
        }
        Ok(n)
    }

    /// Write the interim records of connections idle for longer than
    /// `idle` ([`Analyzer::interim_records`]; NDJSON only, see
    /// [`report::ReportWriter::connection`]). Returns how many were written.
    pub fn interim(&mut self, idle: std::time::Duration) -> std::io::Result<usize> {
        if self.writer.format() != report::Format::Ndjson {
            return Ok(0);
        }
        let recs = self.analyzer.interim_records(idle);
        let n = recs.len();
        for rec in recs {
            self.writer.connection(rec)?;
        }
        Ok(n)
    }

    /// The report writer, to add lines of other types
    /// ([`report::ReportWriter::typed_line`]) in order with the records.
    pub fn writer_mut(&mut self) -> &mut report::ReportWriter<W> {
        &mut self.writer
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// What was read so far, to record files or capture counters in.
    pub fn capture_mut(&mut self) -> &mut CaptureInfo {
        self.analyzer.capture_mut()
    }

    /// End of input: every open connection is finished and written, then
    /// the per-server records, capture description and summary.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.analyzer.end_of_capture();
        self.drain()?;
        let (capture, servers, summary) = self.analyzer.finish();
        self.writer.finish(capture, servers, summary)
    }
}

/// Read capture files in order as one capture and write the report.
/// Read problems end the file they occur in, not the run; only an output
/// error is returned as `Err`.
pub fn analyze_files<W: std::io::Write>(
    paths: &[String],
    cfg: Config,
    writer: report::ReportWriter<W>,
) -> std::io::Result<RunOutcome> {
    if cfg.threads > 1 {
        return crate::parallel::analyze_files(paths, cfg, writer, None);
    }
    analyze_files_filtered(paths, cfg, writer, &mut |_| Ok(true))
}

/// [`analyze_files`] seeing only the frames `filter` accepts (a BPF
/// expression in the CLI): the others are not counted anywhere, as if a
/// kernel filter had dropped them. A filter error (`Err(reason)`) ends the
/// run; the report of what was read is still written.
pub fn analyze_files_filtered<W: std::io::Write>(
    paths: &[String],
    cfg: Config,
    writer: report::ReportWriter<W>,
    filter: &mut dyn FnMut(&Frame<'_>) -> Result<bool, String>,
) -> std::io::Result<RunOutcome> {
    if cfg.threads > 1 {
        return crate::parallel::analyze_files(paths, cfg, writer, Some(filter));
    }
    let progress = cfg.progress.clone();
    let mut session = Session::new(cfg, writer);
    session.set_drain_batch(DRAIN_BATCH);
    let mut outcome = RunOutcome::default();
    let files = read_files(
        paths,
        crate::capture::MAP_WINDOW_BYTES,
        progress.as_ref(),
        filter,
        &mut outcome,
        &mut |frame, _| session.process(frame).map(drop),
    )?;
    session.capture_mut().files.extend(files);
    session.finish()?;
    Ok(outcome)
}

/// Reads capture files in order as one capture, handing every frame the
/// filter accepts to `on_frame`; shared by the single- and multi-threaded
/// runs. A read problem ends the file it occurs in (it goes to `outcome`
/// and to the file's [`report::FileInfo`]); a filter error ends the run.
/// `on_frame` also gets the mapping the frame lies in, for a mapped file,
/// mapped `window_bytes` at a time. Only an error from `on_frame` (the
/// output) is returned as `Err`.
pub(crate) fn read_files(
    paths: &[String],
    window_bytes: usize,
    progress: Option<&ProgressHook>,
    filter: &mut dyn FnMut(&Frame<'_>) -> Result<bool, String>,
    outcome: &mut RunOutcome,
    on_frame: &mut dyn FnMut(&Frame<'_>, Option<&crate::capture::Window>) -> std::io::Result<()>,
) -> std::io::Result<Vec<report::FileInfo>> {
    let mut files = Vec::with_capacity(paths.len());
    for (index, path) in paths.iter().enumerate() {
        if outcome.filter_error.is_some() {
            break;
        }
        let mut info = report::FileInfo {
            path: path.clone(),
            ..Default::default()
        };
        match crate::capture::open_windowed(path, window_bytes) {
            Err(e) => {
                info.error = Some(e.to_string());
                outcome.problems.push(e);
            }
            Ok(mut reader) => {
                info.format = Some(reader.format().as_str().to_string());
                info.gzip = reader.is_gzip();
                let mut ticker = ProgressTicker::new(progress, index, path);
                loop {
                    ticker.tick(reader.offset());
                    match reader.next_frame_mapped() {
                        Ok(Some((frame, window))) => match filter(&frame) {
                            Ok(true) => {
                                info.packets += 1;
                                on_frame(&frame, window)?;
                            }
                            Ok(false) => {}
                            Err(reason) => {
                                info.error = Some(reason.clone());
                                outcome.filter_error = Some(reason);
                                break;
                            }
                        },
                        Ok(None) => break,
                        Err(e) => {
                            info.error = Some(e.to_string());
                            outcome.problems.push(e);
                            break;
                        }
                    }
                }
                ticker.done(reader.offset());
            }
        }
        files.push(info);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;

    #[test]
    fn frames_are_counted_per_link_type() {
        let mut an = Analyzer::new(Config::default());
        let kinds = 24u32;
        for i in 0..kinds * 5 {
            an.process(&Frame {
                ts: Timestamp::from_nanos(i as i64),
                caplen: 1,
                orig_len: 1,
                link: LinkType(1000 + i % kinds),
                data: &[0],
            });
        }
        let (capture, _) = an.into_parts();
        assert_eq!(capture.link_types.len(), kinds as usize);
        assert!(capture.link_types.values().all(|&n| n == 5));
        assert_eq!(capture.link_types.keys().next(), Some(&1000));
    }
}
