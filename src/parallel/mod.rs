//! `--threads N`: N shards, one of them analysed by the reader, N - 1 by
//! worker threads, one merge, and output identical byte for byte to a
//! single-threaded run.
//!
//! The calling thread reads frames, decodes each once to find its shard (a
//! symmetric hash of the tag and the unordered endpoint pair, so both
//! directions of a connection go to the same shard; frames that do not
//! decode go to shard 0) and gives each worker a batch of its own frames
//! each round, decoded: the segment, with its payload as an offset into the
//! shared mapping of the file (copied when the input is a stream), so a
//! worker never reads the headers again. Shard 0 is the calling thread's
//! own, analysed as each round is sent, at half a worker's share (it also
//! reads and merges), or none when frames are large ([`reader_parts`]):
//! N threads in all, and its frames and records never cross a core. Each
//! frame carries its global number and the latest timestamp of any frame
//! up to it, so a shard's [`Analyzer`] sees only its frames yet numbers
//! events and lets closed connections stop lingering exactly as one
//! analyzer fed every frame. Shards build, serialize and digest the
//! records (what the aggregator reads of them) and drop them; the merge
//! writes the lines from the shards' buffers and sends each consumed
//! message back with the worker's next batch, so buffers are reused and
//! freed on the thread that allocated them.
//!
//! Invariants that make the merge exact:
//! - events are global frame numbers, in every worker ([`Analyzer::sync`]);
//! - a connection starts at one frame, in one worker: sorting the workers'
//!   starts by event gives the single-threaded ids (sequential by first
//!   packet), which replace the workers' local ids;
//! - one table finishes connections at an event only in the worker that
//!   handled the event's frame (eviction, port reuse, a close or reset), in
//!   its order; at the end of the capture the rest by id. [`FinishOrder`]
//!   gives each record that position, and the merge sorts each round's
//!   records by it before the one [`Aggregator`](crate::report::Aggregator)
//!   and the writer see them.
//!
//! Where the output can differ from one thread: the per-table limits
//! (`max_connections`, `max_buffer_total`) are divided among the shards in
//! proportion to their parts of the hash ([`shard_limit`]), so
//! when a limit is hit, which connection is evicted or which data dropped
//! may differ. The capture counters are summed and do not.
//!
//! One pcap file of large frames is read differently ([`split`]): every
//! thread walks its own stretches of it, and the stretches stand for the
//! rounds; the shards, their invariants and the merge are the same.
//!
//! Memory: the reader keeps at most [`PIPELINE_DEPTH`] rounds in flight
//! (and the mappings their frames lie in); the merge keeps one id per open
//! connection per shard.

use crate::analyzer::{Analyzer, Config, RunOutcome};
use crate::capture::{self, LinkType, Window};
use crate::decode::{self, SkipReason};
use crate::report::{self, CaptureInfo, ConnectionRecord, ExchangeDetail};
use crate::tcp::FinishOrder;
use crate::time::Timestamp;
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::mpsc;

mod split;

/// Frames per round (all shards' batches together). Small frames fill a
/// round by count before 2 MiB. Each halving lowered peak RSS with
/// `--threads 2` at the same speed (median of 5 to 9 runs): 8192 to 4096,
/// `short` 54 to 44 MiB and `idle` 79 to 76 MiB; 4096 to 2048, `short` 44
/// to 39 MiB and `idle` 76 to 71 MiB. 1024 was slower on `short`. A round's
/// NDJSON lines wait for the merge, and connections close in bursts: an
/// adaptive round (halved while a shard's lines passed 512 KiB) gained
/// under 1 MiB, and at 128 KiB cost `short` a quarter of its speed.
pub const BATCH_FRAMES: usize = 2048;
/// Captured bytes per batch (a batch is sent when either is reached). Also
/// bounds the mapped file kept alive by batches in flight (about
/// `(PIPELINE_DEPTH + 1) * BATCH_BYTES` plus a window).
pub const BATCH_BYTES: usize = 2 << 20;
/// Batches read ahead of the merge.
pub const PIPELINE_DEPTH: usize = 2;
/// Records per message when the workers finish the connections still open
/// at the end of the capture.
pub const END_CHUNK: usize = 1024;

#[derive(Clone, Copy)]
struct FrameMeta {
    /// Global frame number.
    event: u64,
    /// The latest timestamp of this and every earlier frame.
    now: Timestamp,
    ts: Timestamp,
    caplen: u32,
    orig_len: u32,
    link: LinkType,
    /// The frame decoded by the reader, its payload empty: the payload
    /// lies at `start..start + len` of the mapping `window` indexes in
    /// `Batch::windows`, or of `Batch::data` when `window` is [`COPIED`].
    /// Workers never read the frame's headers again.
    seg: Result<decode::Segment<'static>, SkipReason>,
    window: u32,
    start: usize,
    len: usize,
}

/// How many frames ahead of the one it analyses a worker prefetches the
/// payload of (2, 4 and 8 measured; 4 was best on `short`).
const PREFETCH_AHEAD: usize = 4;

/// [`FrameMeta::window`] of a payload copied into the batch.
const COPIED: u32 = u32::MAX;

/// One worker's frames for one round.
#[derive(Default)]
struct Batch {
    /// Payloads of frames from streams (pipes, gzip) copied here; those of
    /// mapped files stay in their mapping.
    data: Vec<u8>,
    windows: Vec<Window>,
    frames: Vec<FrameMeta>,
}

impl Batch {
    fn payload(&self, m: &FrameMeta) -> Option<&[u8]> {
        let end = m.start.checked_add(m.len)?;
        if m.window == COPIED {
            self.data.get(m.start..end)
        } else {
            self.windows.get(m.window as usize)?.get(m.start..end)
        }
    }

    /// Adds a decoded frame: its payload by reference when it lies in
    /// `window`, else copied.
    fn push(
        &mut self,
        frame: &capture::Frame<'_>,
        window: Option<&Window>,
        decoded: Result<decode::Segment<'_>, SkipReason>,
        event: u64,
        now: Timestamp,
    ) {
        let payload = decoded.as_ref().map_or(&[][..], |s| s.payload);
        let len = payload.len();
        // Where the payload lies in its mapping, from the addresses: the
        // reader hands out slices of the window it names, and decoding
        // borrows the payload from the frame.
        let mapped = window.and_then(|w| {
            let start = (payload.as_ptr() as usize).checked_sub(w.as_ptr() as usize)?;
            (start.checked_add(len)? <= w.len()).then_some((w, start))
        });
        let (index, start) = match mapped {
            Some((w, start)) => {
                if !self.windows.last().is_some_and(|l| l.same(w)) {
                    self.windows.push(w.clone());
                }
                (self.windows.len() as u32 - 1, start)
            }
            None => {
                let start = self.data.len();
                self.data.extend_from_slice(payload);
                (COPIED, start)
            }
        };
        let seg = decoded.map(|s| decode::Segment { payload: &[], ..s });
        self.frames.push(FrameMeta {
            event,
            now,
            ts: frame.ts,
            caplen: frame.caplen,
            orig_len: frame.orig_len,
            link: frame.link,
            seg,
            window: index,
            start,
            len,
        });
    }

    /// Adds frame `m` of batch `from`.
    fn push_from(&mut self, from: &Batch, m: &FrameMeta) {
        let (window, start) = match from.windows.get(m.window as usize) {
            Some(w) => {
                if !self.windows.last().is_some_and(|l| l.same(w)) {
                    self.windows.push(w.clone());
                }
                (self.windows.len() as u32 - 1, m.start)
            }
            None => {
                let start = self.data.len();
                self.data
                    .extend_from_slice(from.payload(m).unwrap_or_default());
                (COPIED, start)
            }
        };
        self.frames.push(FrameMeta {
            window,
            start,
            ..*m
        });
    }

    fn clear(&mut self) {
        self.data.clear();
        self.windows.clear();
        self.frames.clear();
    }
}

enum ToWorker {
    /// A round's frames, and the worker's message from an earlier round,
    /// its records consumed, to be dropped and its buffers reused by the
    /// worker: records are allocated there, and freeing them on the
    /// merge's thread cost more than sending them back.
    Batch(Batch, Option<Box<FromWorker>>),
    /// The shard's part of the table limits (`max_connections`,
    /// `max_buffer_total`), before its first batch.
    Limits(usize, usize),
    /// The end of the capture: its latest timestamp, and the number of
    /// frames.
    End(Timestamp, u64),
}

/// A record finished by a worker, with its place in the merged order.
struct Done {
    order: FinishOrder,
    /// The worker's id, until the merge gives the global one.
    id: u64,
    /// The record, when the merge needs it whole: for a writer other than
    /// NDJSON, or when [`report::Aggregator::refine`] may change it and
    /// its line does not show where its reason is (see
    /// [`Done::refinable`]). Taken
    /// by the merge only when it hands the record to the writer.
    rec: Option<Box<ConnectionRecord>>,
    /// Else the record's index in `FromWorker::digests`: the worker
    /// dropped it once serialized and digested.
    digest: Option<usize>,
    /// NDJSON: where the line the worker serialized lies in
    /// `FromWorker::lines`, and where in it the id goes.
    line: Option<(std::ops::Range<usize>, usize)>,
    /// A digested record that [`report::Aggregator::refine`] may change:
    /// where its close reason lies in its line, for the merge to splice
    /// the refined one in.
    refinable: Option<usize>,
}

#[derive(Default)]
struct FromWorker {
    /// (event, local id) of connections started in the batch, in order.
    starts: Vec<(u64, u64)>,
    done: Vec<Done>,
    /// The NDJSON lines of `done`, one after the other: one buffer per
    /// message rather than one per record.
    lines: Vec<u8>,
    /// What the aggregator needs of the records the worker dropped.
    digests: report::Digests,
    /// The batch, emptied, for the reader to fill again.
    spent: Option<Batch>,
    /// With the final message only.
    capture: Option<CaptureInfo>,
}

/// One endpoint's part of the shard hash.
fn end_word(e: &decode::Endpoint) -> u64 {
    (ip_word(e.ip) ^ (u64::from(e.port) << 40)).wrapping_mul(0x517c_c1b7_2722_0a95)
}

fn ip_word(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(a) => u32::from(a) as u64,
        IpAddr::V6(a) => {
            let v = u128::from(a);
            (v as u64) ^ ((v >> 64) as u64)
        }
    }
}

/// The shard of a decoded frame, of `n`: the same for both directions of a
/// connection. Shard 0 is the reader's own: of the hash's parts, each
/// worker has two and the reader `reader_parts` (see [`reader_parts`]);
/// frames that do not decode go to it.
fn shard_of(decoded: &Result<decode::Segment<'_>, SkipReason>, n: usize, reader_parts: u64) -> u32 {
    let Ok(seg) = decoded else {
        return 0;
    };
    if n < 2 {
        return 0;
    }
    // Each endpoint is mixed alone and the two summed, so both directions
    // give the same word without comparing the endpoints (which, with the
    // chain of five mixes it replaced, was 5 % of a `keepalive` run with
    // two threads).
    let tag = u64::from(seg.tag.vlan.map_or(0x1_0000, u32::from))
        | (seg.tag.tunnel_id.map_or(1 << 32, u64::from) << 17);
    let mut h = end_word(&seg.src)
        .wrapping_add(end_word(&seg.dst))
        .wrapping_add(tag.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    // The high bits are the best mixed; scaled into the parts by a
    // multiply rather than a division (a fifth of this function's time).
    let parts = 2 * (n as u64 - 1) + reader_parts;
    let part = ((u128::from(h >> 32) * u128::from(parts)) >> 32) as u64;
    match part.checked_sub(reader_parts) {
        None => 0,
        Some(p) => (1 + p / 2) as u32,
    }
}

/// Frames at least this large on average (captured bytes) make a capture
/// whose reading costs more than its analysis: large segments of bodies,
/// skipped by length, while the reader walks and maps every byte.
pub const LARGE_FRAME_BYTES: usize = 1024;

/// Shard `shard`'s part of a limit of the whole table (`max_connections`,
/// `max_buffer_total`), in proportion to its part of the hash, so the
/// shards together hold what one table would, however the connections are
/// dealt out (at least 1).
fn shard_limit(total: usize, shard: usize, n: usize, reader_parts: u64) -> usize {
    if n < 2 {
        return total.max(1);
    }
    let parts = 2 * (n as u128 - 1) + reader_parts as u128;
    let mine = if shard == 0 { reader_parts as u128 } else { 2 };
    let share = (total as u128 * mine).div_ceil(parts);
    usize::try_from(share).unwrap_or(usize::MAX).max(1)
}

/// The reader's parts of the shard hash (a worker has two), decided once,
/// from the first round: none when frames are large (reading is then much
/// of the work), one (half a worker's share) otherwise. Measured with
/// `--threads 2`, median of 5: on `keepalive` (1257 B a frame) 0.36 s with
/// none against 0.42 s with one; on `short` (191 B) 1.22 s with one
/// against 1.57 s with none and 1.39 s with two; on `idle` (440 B) 0.69 s
/// with one, 0.79 s with none, 0.80 s with two. Again after the reader's
/// strided prefetch, with a fifth of the hash against a worker's four
/// fifths: `keepalive` no faster than with none, 9 % more CPU.
fn reader_parts(frames: usize, bytes: usize) -> u64 {
    if large_frames(frames, bytes) {
        0
    } else {
        1
    }
}

/// Whether a round of `frames` frames and `bytes` captured bytes is of
/// large frames ([`LARGE_FRAME_BYTES`] on average).
fn large_frames(frames: usize, bytes: usize) -> bool {
    frames > 0 && bytes / frames >= LARGE_FRAME_BYTES
}

/// The frames and captured bytes of the first round of the first file, read
/// ahead once, when that file is a regular one (a pipe's bytes cannot be
/// looked at twice), counted as the reader cuts rounds; `None` when it is
/// not, or holds no frame. The run's mapping window and the reader's parts
/// of the hash are decided from it, before the reader starts; otherwise
/// the parts are decided from the run's first round as it is read.
fn first_round(paths: &[String]) -> Option<(usize, usize)> {
    let path = paths
        .first()
        .filter(|p| *p != "-" && std::fs::metadata(p).is_ok_and(|m| m.is_file()))?;
    let mut r = capture::open(path).ok()?;
    let (mut frames, mut bytes) = (0usize, 0usize);
    while let Ok(Some((f, _))) = r.next_frame_mapped() {
        frames += 1;
        bytes += f.data.len();
        if frames >= BATCH_FRAMES || bytes >= BATCH_BYTES {
            break;
        }
    }
    (frames > 0).then_some((frames, bytes))
}

/// The mapping window for the run: [`capture::LARGE_MAP_WINDOW_BYTES`]
/// when the first round ([`first_round`]) is of large frames, else
/// [`capture::SMALL_MAP_WINDOW_BYTES`]. Measured on `keepalive` (its file
/// written, never read back) with `--threads 2`, median of 15 alternated
/// runs: 1 MiB windows 0.228 s, 4 MiB 0.212 s, 8 MiB 0.202 s
/// (single-threaded: 0.306 s, and no faster with larger windows); on
/// `idle` (440 B a frame), 8 MiB windows took peak RSS from 61 to 68 MiB.
fn window_for(first: Option<(usize, usize)>) -> usize {
    match first {
        Some((frames, bytes)) if large_frames(frames, bytes) => capture::LARGE_MAP_WINDOW_BYTES,
        _ => capture::SMALL_MAP_WINDOW_BYTES,
    }
}

/// One shard's analysis: a worker thread's, or the reader's own.
struct Shard {
    an: Analyzer,
    json: report::ConnectionJson,
    ndjson: Option<ExchangeDetail>,
    filter: report::ReportFilter,
}

impl Shard {
    fn new(cfg: Config, ndjson: Option<ExchangeDetail>) -> Shard {
        Shard {
            filter: cfg.filter.clone(),
            an: Analyzer::new(cfg),
            json: report::ConnectionJson::new(),
            ndjson,
        }
    }

    /// Serializing is most of the work per short connection: done here, in
    /// parallel, with the id patched in by the merge. The record is then
    /// digested and dropped here, where it was allocated and is still in
    /// cache.
    fn push(&mut self, out: &mut FromWorker, rec: ConnectionRecord, order: FinishOrder) {
        let json = &mut self.json;
        let line = self.ndjson.and_then(|detail| {
            let start = out.lines.len();
            let at = report::connection_line(json, &rec, detail, &mut out.lines).ok()?;
            Some((start..out.lines.len(), at))
        });
        // A record `refine` may change (its reason, to `max_requests`) is
        // digested too when its line says where the reason is: the merge
        // refines the digest and splices the line, and the record (on
        // keep-alive traffic, half of them, a hundred exchanges each) need
        // not cross to it to be serialized again there.
        // (`refine` only ever sets `max_requests`: a record that has it
        // already cannot change.)
        let may_change = report::Aggregator::may_refine(&rec)
            && rec.close.reason != report::CloseReason::MaxRequests;
        let refinable = match &line {
            Some((r, _)) if may_change => report::refinable_at(json, &out.lines, r.start),
            _ => None,
        };
        let digest = (line.is_some() && (!may_change || refinable.is_some()))
            .then(|| out.digests.push(&rec, &self.filter));
        out.done.push(Done {
            order,
            id: rec.id,
            rec: digest.is_none().then(|| Box::new(rec)),
            digest,
            line,
            refinable,
        });
    }

    /// Analyses a round's frames of this shard into `out` (emptied first).
    /// Their events and clocks count from `base` (`split` numbers a
    /// stretch's frames from 0 and learns where it starts only once the
    /// stretches before it are read).
    fn round(&mut self, b: &Batch, out: &mut FromWorker, base: (u64, Timestamp)) {
        out.starts.clear();
        out.done.clear();
        out.lines.clear();
        out.digests.clear();
        for (i, m) in b.frames.iter().enumerate() {
            // The reader touched the frames last, on another core (for a
            // worker): fetch the payload a few frames ahead so that miss
            // overlaps the analysis of the frames before.
            if let Some(next) = b.frames.get(i + PREFETCH_AHEAD) {
                let p = b.payload(next).unwrap_or_default();
                capture::prefetch(p, 0);
                capture::prefetch(p, 64);
                if let Ok(seg) = &next.seg {
                    self.an.prefetch_flow(seg);
                }
            }
            let frame = capture::Frame {
                ts: m.ts,
                caplen: m.caplen,
                orig_len: m.orig_len,
                link: m.link,
                data: &[],
            };
            let decoded = m.seg.map(|seg| decode::Segment {
                payload: b.payload(m).unwrap_or_default(),
                ..seg
            });
            self.an.sync(m.event + base.0, m.now.max(base.1));
            let before = self.an.connections_started();
            self.an.process_decoded(&frame, decoded);
            let after = self.an.connections_started();
            if after > before {
                out.starts.push((m.event, after));
            }
            if self.an.finished_waiting() >= crate::analyzer::DRAIN_BATCH {
                self.take_finished(out);
            }
        }
        self.take_finished(out);
    }

    fn take_finished(&mut self, out: &mut FromWorker) {
        while let Some((rec, order)) = self.an.next_unaggregated() {
            self.push(out, rec, order);
        }
    }

    /// The end of the capture: its latest timestamp, and the number of
    /// frames. The connections still open are then taken with
    /// [`Shard::end_chunk`].
    fn end(&mut self, last: Timestamp, events: u64) {
        self.an.sync(events, last);
        self.an.end_of_capture();
    }

    /// Up to [`END_CHUNK`] records of the connections open at the end;
    /// whether they were the last. Connections open at the end are many
    /// (all those still lingering), and never all held as records at once.
    fn end_chunk(&mut self) -> (FromWorker, bool) {
        let mut chunk = FromWorker::default();
        while chunk.done.len() < END_CHUNK {
            let Some((rec, order)) = self.an.next_unaggregated() else {
                return (chunk, true);
            };
            self.push(&mut chunk, rec, order);
        }
        (chunk, false)
    }

    fn into_capture(self) -> CaptureInfo {
        self.an.into_parts().0
    }
}

fn worker(
    cfg: Config,
    ndjson: Option<ExchangeDetail>,
    rx: mpsc::Receiver<ToWorker>,
    tx: mpsc::SyncSender<FromWorker>,
) {
    let mut shard = Shard::new(cfg, ndjson);
    while let Ok(msg) = rx.recv() {
        match msg {
            ToWorker::Batch(mut b, recycled) => {
                let mut out = recycled.map(|b| *b).unwrap_or_default();
                shard.round(&b, &mut out, (0, Timestamp::MIN));
                b.clear();
                out.spent = Some(b);
                if tx.send(out).is_err() {
                    return;
                }
            }
            ToWorker::Limits(connections, buffer) => {
                shard.an.set_table_limits(connections, buffer);
            }
            ToWorker::End(last, events) => {
                shard.end(last, events);
                send_end(shard, &tx);
                return;
            }
        }
    }
}

/// Sends the records of the connections a worker's shard still held at the
/// end of the capture (after [`Shard::end`]), in chunks, each waiting for
/// room in the bounded channel, its capture counters with the last.
fn send_end(mut shard: Shard, tx: &mpsc::SyncSender<FromWorker>) {
    loop {
        let (mut chunk, last) = shard.end_chunk();
        if last {
            chunk.capture = Some(shard.into_capture());
            let _ = tx.send(chunk);
            return;
        }
        if tx.send(chunk).is_err() {
            return;
        }
    }
}

/// Where the merge takes each shard's results from at the end of the
/// capture.
enum Source<'a> {
    /// The reader's own shard, finished on the merge's thread.
    Local(Option<Box<Shard>>),
    Worker(&'a mpsc::Receiver<FromWorker>),
}

impl Source<'_> {
    fn next(&mut self) -> io::Result<FromWorker> {
        match self {
            Source::Local(shard) => {
                let Some(s) = shard.as_mut() else {
                    return Err(io::Error::other("analysis shard ended twice"));
                };
                let (mut chunk, last) = s.end_chunk();
                if last {
                    chunk.capture = shard.take().map(|s| s.into_capture());
                }
                Ok(chunk)
            }
            Source::Worker(r) => r
                .recv()
                .map_err(|_| io::Error::other("analysis worker stopped")),
        }
    }
}

/// The merge: global ids, single-threaded order, one aggregator, the writer.
struct Merge<W: Write> {
    ids: Vec<HashMap<u64, u64>>,
    next_id: u64,
    aggregator: report::Aggregator,
    writer: report::ReportWriter<W>,
    /// (event, sub-order, worker, index in its message) of a round's
    /// records, sorted into the merged order.
    scratch: Vec<(u64, u64, usize, usize)>,
    /// Emptied batches, back from the workers.
    spent: Vec<Batch>,
    /// Each worker's last message, consumed, to send back with its next
    /// batch.
    recycled: Vec<Option<Box<FromWorker>>>,
}

impl<W: Write> Merge<W> {
    fn new(n: usize, filter: &report::ReportFilter, writer: report::ReportWriter<W>) -> Self {
        Merge {
            ids: vec![HashMap::new(); n],
            next_id: 1,
            aggregator: report::Aggregator::with_filter(filter.clone()),
            writer,
            scratch: Vec::new(),
            spent: Vec::new(),
            recycled: (0..n).map(|_| None).collect(),
        }
    }

    /// The calling thread's message for its next round: its last one,
    /// consumed, or a new one.
    fn local_part(&mut self) -> FromWorker {
        self.recycled
            .first_mut()
            .and_then(Option::take)
            .map(|p| *p)
            .unwrap_or_default()
    }

    /// The end of the capture, once every round is merged: the calling
    /// thread's shard (its table already ended) and the workers' remaining
    /// records, merged ([`Merge::end`]); their capture parts.
    fn end_shards(
        &mut self,
        local: Shard,
        from: &[mpsc::Receiver<FromWorker>],
    ) -> io::Result<Vec<CaptureInfo>> {
        let mut sources = vec![Source::Local(Some(Box::new(local)))];
        sources.extend(from.iter().map(Source::Worker));
        self.end(&mut sources)
    }

    /// Writes the capture (the shards' parts summed, with `files`), the
    /// servers and the summary.
    fn finish(self, captures: Vec<CaptureInfo>, files: Vec<report::FileInfo>) -> io::Result<()> {
        let mut capture = CaptureInfo::default();
        for c in captures {
            sum_capture(&mut capture, c);
        }
        capture.files = files;
        let (servers, summary) = self.aggregator.finish();
        self.writer.finish(capture, servers, summary).map(drop)
    }

    /// Folds one batch's results (one per worker, in worker order).
    fn batch(&mut self, parts: Vec<FromWorker>) -> io::Result<()> {
        let mut starts: Vec<(u64, usize, u64)> = Vec::new();
        for (w, p) in parts.iter().enumerate() {
            starts.extend(p.starts.iter().map(|&(e, l)| (e, w, l)));
        }
        starts.sort_unstable();
        for (_, w, local) in starts {
            if let Some(m) = self.ids.get_mut(w) {
                m.insert(local, self.next_id);
            }
            self.next_id += 1;
        }
        let mut parts = parts;
        for (w, p) in parts.iter_mut().enumerate() {
            for (i, d) in p.done.iter_mut().enumerate() {
                let (event, sub) = self.keyed(w, d, &mut p.digests);
                self.scratch.push((event, sub, w, i));
            }
            if let Some(b) = p.spent.take() {
                self.spent.push(b);
            }
        }
        // Stable: records of one worker at one position keep their order.
        self.scratch.sort_by_key(|&(e, s, _, _)| (e, s));
        let mut scratch = std::mem::take(&mut self.scratch);
        // The lines the aggregator kept are written from the workers'
        // buffers, not copied: one vectored write per run of them.
        let lines: Vec<Vec<u8>> = parts
            .iter_mut()
            .map(|p| std::mem::take(&mut p.lines))
            .collect();
        let mut kept: Vec<report::RawLine<'_>> = Vec::new();
        for (_, _, w, i) in scratch.drain(..) {
            let (Some(p), Some(l)) = (parts.get_mut(w), lines.get(w)) else {
                continue;
            };
            let FromWorker { done, digests, .. } = p;
            let Some(d) = done.get_mut(i) else {
                continue;
            };
            match (d.digest, d.line.clone()) {
                (Some(di), Some((r, at))) => {
                    let refined_at = self.refine(d, digests, di);
                    if let (true, Some(line)) = (self.aggregator.add_digest(digests, di), l.get(r))
                    {
                        kept.push(report::RawLine {
                            line,
                            id_at: at,
                            id: d.id,
                            refined_at,
                        });
                    }
                }
                _ => {
                    self.writer.connection_lines_raw(&kept)?;
                    kept.clear();
                    self.emit(d, l, digests)?;
                }
            }
        }
        self.writer.connection_lines_raw(&kept)?;
        drop(kept);
        for (p, l) in parts.iter_mut().zip(lines) {
            p.lines = l;
        }
        self.scratch = scratch;
        for (w, p) in parts.into_iter().enumerate() {
            if let Some(slot) = self.recycled.get_mut(w) {
                *slot = Some(Box::new(p));
            }
        }
        Ok(())
    }

    /// [`report::Aggregator::refine`] of digested record `i` (done `d`),
    /// in merged order like the rest of the aggregator: where its line's
    /// reason is to be replaced, when it was refined.
    fn refine(&self, d: &Done, digests: &mut report::Digests, i: usize) -> Option<usize> {
        d.refinable
            .filter(|_| self.aggregator.refine_digest(digests, i))
    }

    /// The global id put in, and the record's place in the merged order.
    fn keyed(&mut self, w: usize, d: &mut Done, digests: &mut report::Digests) -> (u64, u64) {
        let global = self
            .ids
            .get_mut(w)
            .and_then(|m| m.remove(&d.id))
            .unwrap_or(d.id);
        d.id = global;
        if let Some(rec) = &mut d.rec {
            rec.id = global;
        }
        if let Some(i) = d.digest {
            digests.set_id(i, global);
        }
        // At the end of the capture connections finish by id; within any
        // other event only the worker that handled its frame finishes
        // connections, and the stable sort keeps its order.
        let sub = if d.order.event == u64::MAX { global } else { 0 };
        (d.order.event, sub)
    }

    /// The end of the capture: each worker's remaining records arrive in
    /// chunks, each worker's in merged order already; a k-way merge keeps
    /// one chunk per worker in memory. Returns the workers' capture parts.
    fn end(&mut self, from: &mut [Source<'_>]) -> io::Result<Vec<CaptureInfo>> {
        let n = from.len();
        let mut heads: Vec<std::collections::VecDeque<(u64, u64, Done)>> =
            (0..n).map(|_| Default::default()).collect();
        // The lines and digests of the message each worker's queued records
        // came from (a worker's next message is read only once its queue
        // is empty).
        let mut lines: Vec<Vec<u8>> = vec![Vec::new(); n];
        let mut digests: Vec<report::Digests> = (0..n).map(|_| Default::default()).collect();
        let mut ended = vec![false; n];
        let mut captures = Vec::new();
        loop {
            for (w, r) in from.iter_mut().enumerate() {
                while heads[w].is_empty() && !ended[w] {
                    let mut msg = r.next()?;
                    for mut d in msg.done {
                        let (e, s) = self.keyed(w, &mut d, &mut msg.digests);
                        heads[w].push_back((e, s, d));
                    }
                    lines[w] = msg.lines;
                    digests[w] = msg.digests;
                    if let Some(c) = msg.capture {
                        captures.push(c);
                        ended[w] = true;
                    }
                }
            }
            let next = heads
                .iter()
                .enumerate()
                .filter_map(|(w, h)| h.front().map(|&(e, s, _)| ((e, s), w)))
                .min();
            let Some((_, w)) = next else {
                return Ok(captures);
            };
            if let Some((_, _, mut d)) = heads[w].pop_front() {
                self.emit(&mut d, &lines[w], &mut digests[w])?;
            }
        }
    }

    /// Folds in one record and writes it; `lines` holds its NDJSON line,
    /// `digests` its digest when the worker dropped it.
    fn emit(
        &mut self,
        d: &mut Done,
        lines: &[u8],
        digests: &mut report::Digests,
    ) -> io::Result<()> {
        if let Some(i) = d.digest {
            let refined_at = self.refine(d, digests, i);
            let line = d.line.clone().and_then(|(r, at)| Some((lines.get(r)?, at)));
            if let (true, Some((line, id_at))) = (self.aggregator.add_digest(digests, i), line) {
                self.writer.connection_lines_raw(&[report::RawLine {
                    line,
                    id_at,
                    id: d.id,
                    refined_at,
                }])?;
            }
            return Ok(());
        }
        let Some(rec) = &mut d.rec else {
            return Ok(());
        };
        // `refine` reads what earlier connections did, so it runs here, in
        // order; a line serialized before it changed anything is
        // serialized again.
        let reason = rec.close.reason;
        self.aggregator.refine(rec);
        if rec.close.reason != reason {
            d.line = None;
        }
        if self.aggregator.add(rec) {
            match d.line.clone().and_then(|(r, at)| Some((lines.get(r)?, at))) {
                Some((line, id_at)) => self.writer.connection_lines_raw(&[report::RawLine {
                    line,
                    id_at,
                    id: rec.id,
                    refined_at: None,
                }])?,
                None => {
                    if let Some(rec) = d.rec.take() {
                        self.writer.connection(*rec)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A round's messages, in shard order: the calling thread's `local` and
/// one from each worker.
fn recv_round(
    local: Option<FromWorker>,
    from: &[mpsc::Receiver<FromWorker>],
) -> io::Result<Vec<FromWorker>> {
    let mut parts = vec![local.unwrap_or_default()];
    for r in from {
        parts.push(
            r.recv()
                .map_err(|_| io::Error::other("analysis worker stopped"))?,
        );
    }
    Ok(parts)
}

fn sum_capture(into: &mut CaptureInfo, c: CaptureInfo) {
    into.packets += c.packets;
    into.bytes += c.bytes;
    into.tcp_packets += c.tcp_packets;
    into.truncated_packets += c.truncated_packets;
    into.late_segments += c.late_segments;
    into.first_ts = match (into.first_ts, c.first_ts) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    into.last_ts = match (into.last_ts, c.last_ts) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    for (k, v) in c.link_types {
        *into.link_types.entry(k).or_insert(0) += v;
    }
    for (k, v) in c.skipped {
        *into.skipped.entry(k).or_insert(0) += v;
    }
    for (k, v) in c.limits_hit {
        *into.limits_hit.entry(k).or_insert(0) += v;
    }
}

/// A frame filter, as [`crate::analyze_files_filtered`] takes it.
type FrameFilter<'a> = dyn FnMut(&capture::Frame<'_>) -> Result<bool, String> + 'a;

/// [`crate::analyze_files`] with `cfg.threads` workers; `filter` is `None`
/// when every frame is taken.
pub(crate) fn analyze_files<W: Write>(
    paths: &[String],
    cfg: Config,
    writer: report::ReportWriter<W>,
    filter: Option<&mut FrameFilter<'_>>,
) -> io::Result<RunOutcome> {
    let n = cfg.threads.clamp(1, 256);
    let first = first_round(paths);
    if let (true, [path]) = (split::fits(paths, n, filter.is_some(), first), paths) {
        return split::analyze(path, cfg, writer, split::SEGMENT_BYTES).map(|(o, _)| o);
    }
    let mut pass = |_: &capture::Frame<'_>| Ok(true);
    let filter = match filter {
        Some(f) => f,
        None => &mut pass,
    };
    let ndjson = writer.ndjson_detail();
    let mut merge = Merge::new(n, &cfg.filter, writer);
    let mut outcome = RunOutcome::default();
    let mut files = Vec::new();
    let mut captures: Vec<CaptureInfo> = Vec::new();
    std::thread::scope(|s| -> io::Result<()> {
        let mut to = Vec::with_capacity(n - 1);
        let mut from = Vec::with_capacity(n - 1);
        for _ in 1..n {
            let (tx, rx) = mpsc::sync_channel::<ToWorker>(PIPELINE_DEPTH);
            // Room for every result the reader can leave unreceived
            // (PIPELINE_DEPTH + 1), so a worker blocks on it only in the
            // end phase, when the reader does nothing but receive.
            let (rtx, rrx) = mpsc::sync_channel::<FromWorker>(PIPELINE_DEPTH + 2);
            let c = cfg.clone();
            s.spawn(move || worker(c, ndjson, rx, rtx));
            to.push(tx);
            from.push(rrx);
        }
        // Shard 0 is analysed here, as each round is sent: one thread
        // fewer than shards, and no core crossed for its frames and records.
        let mut local = Shard::new(cfg.clone(), ndjson);
        // Its results of the rounds in flight, oldest first.
        let mut local_parts: std::collections::VecDeque<FromWorker> = Default::default();
        let mut in_flight = 0usize;
        let mut events = 0u64;
        let mut now = Timestamp::MIN;
        let mut batches: Vec<Batch> = (0..n).map(|_| Batch::default()).collect();
        // Frames and bytes in the round being filled.
        let (mut round_frames, mut round_bytes) = (0usize, 0usize);
        // The reader's parts of the hash: decided from the first round read
        // ahead, or once the run's first round is read, its frames waiting
        // in `staging` until then. `unsent`: decided, not yet sent with
        // the shards' part of the limits.
        let mut parts: Option<u64> = first.map(|(f, b)| reader_parts(f, b));
        let mut unsent = parts;
        let mut staging = Batch::default();
        let tcp = &cfg.tcp;
        let limits = |shard, r| {
            (
                shard_limit(tcp.max_connections, shard, n, r),
                shard_limit(tcp.max_buffer_total, shard, n, r),
            )
        };
        let decide = |staging: &mut Batch, batches: &mut Vec<Batch>, frames, bytes| {
            let r = reader_parts(frames, bytes);
            for m in &staging.frames {
                if let Some(b) = batches.get_mut(shard_of(&m.seg, n, r) as usize) {
                    b.push_from(staging, m);
                }
            }
            staging.clear();
            r
        };
        // `decided`: the reader's parts of the hash, with the first round sent,
        // when the shards get their part of the limits.
        let mut send = |batches: &mut Vec<Batch>,
                        merge: &mut Merge<W>,
                        decided: Option<u64>|
         -> io::Result<()> {
            if let Some(r) = decided {
                for (w, t) in to.iter().enumerate() {
                    let (c, b) = limits(w + 1, r);
                    t.send(ToWorker::Limits(c, b))
                        .map_err(|_| io::Error::other("analysis worker stopped"))?;
                }
                let (c, b) = limits(0, r);
                local.an.set_table_limits(c, b);
            }
            // The workers' batches first, so they start while this thread
            // analyses its own.
            for (w, (t, b)) in to.iter().zip(batches.iter_mut().skip(1)).enumerate() {
                let fresh = merge.spent.pop().unwrap_or_default();
                let recycled = merge.recycled.get_mut(w + 1).and_then(Option::take);
                t.send(ToWorker::Batch(std::mem::replace(b, fresh), recycled))
                    .map_err(|_| io::Error::other("analysis worker stopped"))?;
            }
            if let Some(b) = batches.first_mut() {
                let mut part = merge.local_part();
                local.round(b, &mut part, (0, Timestamp::MIN));
                b.clear();
                local_parts.push_back(part);
            }
            in_flight += 1;
            if in_flight > PIPELINE_DEPTH {
                merge.batch(recv_round(local_parts.pop_front(), &from)?)?;
                in_flight -= 1;
            }
            Ok(())
        };
        files = crate::analyzer::read_files(
            paths,
            window_for(first),
            cfg.progress.as_ref(),
            filter,
            &mut outcome,
            &mut |frame, window| {
                now = now.max(frame.ts);
                let decoded = decode::decode(frame);
                match parts {
                    Some(r) => {
                        let shard = shard_of(&decoded, n, r) as usize;
                        if let Some(b) = batches.get_mut(shard) {
                            b.push(frame, window, decoded, events, now);
                        }
                    }
                    None => staging.push(frame, window, decoded, events, now),
                }
                events += 1;
                round_frames += 1;
                round_bytes += frame.data.len();
                if round_frames >= BATCH_FRAMES || round_bytes >= BATCH_BYTES {
                    if parts.is_none() {
                        let r = decide(&mut staging, &mut batches, round_frames, round_bytes);
                        (parts, unsent) = (Some(r), Some(r));
                    }
                    send(&mut batches, &mut merge, unsent.take())?;
                    (round_frames, round_bytes) = (0, 0);
                }
                Ok(())
            },
        )?;
        if round_frames > 0 {
            if parts.is_none() {
                unsent = Some(decide(
                    &mut staging,
                    &mut batches,
                    round_frames,
                    round_bytes,
                ));
            }
            send(&mut batches, &mut merge, unsent.take())?;
        }
        for t in &to {
            t.send(ToWorker::End(now, events))
                .map_err(|_| io::Error::other("analysis worker stopped"))?;
        }
        while in_flight > 0 {
            merge.batch(recv_round(local_parts.pop_front(), &from)?)?;
            in_flight -= 1;
        }
        local.end(now, events);
        captures = merge.end_shards(local, &from)?;
        Ok(())
    })?;
    merge.finish(captures, files)?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet/IPv4/TCP SYN from 10.0.c.d:port to 192.0.2.10:80.
    fn syn(c: u8, d: u8, port: u16) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, c, d], [192, 0, 2, 10], 64)
            .tcp(port, 80, 1, 65_535)
            .syn();
        let mut f = Vec::with_capacity(b.size(0));
        b.write(&mut f, &[]).expect("writing to a Vec");
        f
    }

    fn shards(n: usize, reader_parts: u64) -> Vec<usize> {
        let mut count = vec![0; n];
        for i in 0..3000u32 {
            let data = syn((i / 250) as u8, (i % 250) as u8, 1024 + i as u16);
            let frame = capture::Frame {
                ts: Timestamp::from_nanos(0),
                caplen: data.len() as u32,
                orig_len: data.len() as u32,
                link: LinkType::ETHERNET,
                data: &data,
            };
            let decoded = decode::decode(&frame);
            assert!(decoded.is_ok());
            count[shard_of(&decoded, n, reader_parts) as usize] += 1;
        }
        count
    }

    #[test]
    fn the_reader_gets_its_parts_of_the_hash() {
        // None: every connection goes to a worker.
        let none = shards(3, 0);
        assert_eq!(none[0], 0);
        assert!(none[1] > 1200 && none[2] > 1200, "{none:?}");
        // One part against a worker's two: a fifth of 3000 with two
        // workers, a third with one.
        let one = shards(3, 1);
        assert!((450..750).contains(&one[0]), "{one:?}");
        let two_threads = shards(2, 1);
        assert!((800..1200).contains(&two_threads[0]), "{two_threads:?}");
        // Large frames: none; small ones, or no frame at all: one.
        assert_eq!(reader_parts(10, 10 * LARGE_FRAME_BYTES), 0);
        assert_eq!(reader_parts(10, 10 * LARGE_FRAME_BYTES - 1), 1);
        assert_eq!(reader_parts(0, 0), 1);
    }

    /// A little-endian pcap file of `frames` Ethernet frames of `len` bytes.
    fn pcap_file(name: &str, frames: usize, len: usize) -> String {
        let mut b = Vec::new();
        b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&65_535u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        for i in 0..frames as u32 {
            b.extend_from_slice(&i.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(&(len as u32).to_le_bytes());
            b.extend_from_slice(&(len as u32).to_le_bytes());
            b.resize(b.len() + len, 0);
        }
        let path =
            std::env::temp_dir().join(format!("keepwatch-{name}-{}.pcap", std::process::id()));
        std::fs::write(&path, b).expect("writing a temporary capture");
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn large_frames_get_large_windows() {
        let window_bytes = |p: &[String]| window_for(first_round(p));
        let large = pcap_file("large-frames", 20, LARGE_FRAME_BYTES);
        let small = pcap_file("small-frames", 20, LARGE_FRAME_BYTES - 1);
        assert_eq!(
            window_bytes(std::slice::from_ref(&large)),
            capture::LARGE_MAP_WINDOW_BYTES
        );
        // The first file decides.
        assert_eq!(
            window_bytes(&[small.clone(), large.clone()]),
            capture::SMALL_MAP_WINDOW_BYTES
        );
        assert_eq!(
            window_bytes(&[large.clone(), small.clone()]),
            capture::LARGE_MAP_WINDOW_BYTES
        );
        // Standard input and paths that do not open are never scanned.
        assert_eq!(
            window_bytes(&["-".to_string()]),
            capture::SMALL_MAP_WINDOW_BYTES
        );
        assert_eq!(
            window_bytes(&["/nonexistent/x.pcap".to_string()]),
            capture::SMALL_MAP_WINDOW_BYTES
        );
        assert_eq!(window_bytes(&[]), capture::SMALL_MAP_WINDOW_BYTES);
        for p in [large, small] {
            let _ = std::fs::remove_file(p);
        }
    }

    #[test]
    fn limits_are_shared_as_the_hash_is() {
        // The reader keeps no shard: the one worker gets all of it.
        assert_eq!(shard_limit(1000, 1, 2, 0), 1000);
        assert_eq!(shard_limit(1000, 0, 2, 0), 1);
        // One part against a worker's two, with one and with two workers.
        assert_eq!(
            (shard_limit(999, 0, 2, 1), shard_limit(999, 1, 2, 1)),
            (333, 666)
        );
        let three: Vec<usize> = (0..3).map(|s| shard_limit(1000, s, 3, 1)).collect();
        assert_eq!(three, [200, 400, 400]);
        // Rounded up, never below one, never overflowing.
        assert_eq!(shard_limit(1, 1, 4, 1), 1);
        assert_eq!(shard_limit(usize::MAX, 1, 2, 0), usize::MAX);
    }
}
