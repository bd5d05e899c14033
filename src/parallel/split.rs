//! `--threads N` over one mapped pcap file of large frames: every thread
//! reads its own stretches of the file, not one reader for all.
//!
//! Why: on keep-alive traffic (bodies skipped by length) walking the
//! records is most of the work, a chain of dependent loads, one cache miss
//! per frame, that one reader cannot share out; handing its frames to a
//! worker cost about what the worker saved (BENCHMARKS.md, "`--threads
//! N`"). Here the file is cut into stretches of [`SEGMENT_BYTES`]; the
//! first thread free walks the next stretch, decodes each frame and sorts
//! it into the shards' batches, as the reader of `mod.rs` does for a
//! round; then every
//! thread analyses its shard's batch of every stretch, in order, and the
//! calling thread merges the stretches' results as rounds.
//!
//! Where a stretch starts: the first offset at or after its nominal start
//! where records seem to begin ([`FileReader::resync`]), a guess, checked
//! before a frame of it is analysed: the walk of the stretch before, from
//! a checked start, must end exactly there. When it does not (the guess
//! fell inside a payload that looks like records), the first thread to
//! need the stretch walks it again from where the one before ended. So a
//! stretch's frames are exactly those one reader would read from it, and
//! a read error ends the file where it would: at the first bad record
//! after a checked start. The frames are numbered and clocked per stretch
//! and rebased by the stretches before it, so each shard sees what it sees
//! behind one reader, and the merge is that of `mod.rs`.
//!
//! Memory: stretches are walked at most [`LOOKAHEAD`] rounds of N ahead of
//! the one a thread analyses, and a stretch (its batches and the mappings they borrow)
//! is dropped once every shard has analysed its part.

use super::{
    recv_round, send_end, shard_limit, shard_of, Batch, FromWorker, Merge, Shard, PIPELINE_DEPTH,
};
use crate::analyzer::{Config, ProgressTicker, RunOutcome};
use crate::capture::{self, CaptureError, FileReader};
use crate::decode;
use crate::report::{self, CaptureInfo, ExchangeDetail};
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard};

/// Nominal bytes of a stretch: 1, 2, 4 and 8 MiB measured within the
/// noise of each other on `keepalive` with two threads (0.188, 0.174,
/// 0.181 s; 8 MiB in another set), at peak RSS 39, 45, 52 and 66 MiB.
/// Smaller stretches mean more mappings made and unmapped.
pub(super) const SEGMENT_BYTES: u64 = 2 << 20;
/// How far a thread walks ahead of the stretch it analyses next, in rounds
/// of N stretches (one of each thread): with two threads, stretches up to
/// four ahead. 1, 2 and 3 measured within the noise of each other on
/// `keepalive`; more costs memory for nothing.
const LOOKAHEAD: u64 = 2;
/// How many records past the next one a walk prefetches the headers of
/// (`FileReader::set_strides_ahead`), guessing each is as long as the
/// last. A walk only decodes each frame and deals it out, so a wrong guess
/// leaves a miss it waits out alone; more guesses cover more of the runs
/// of equal frames. A loop walking only `keepalive`'s headers took 65 ns a
/// frame with 2, 47 to 52 ns with 6, 51 to 55 ns with 10 (141 ns with no
/// prefetch); `keepalive` `--threads 2` 0.128 to 0.123 s with 6
/// (thirteenth session, 9 alternated runs; 4: 0.124 s). One thread, which
/// analyses each frame between headers, keeps 2: 6 was 2 to 6 % slower.
const WALK_STRIDES_AHEAD: usize = 6;
/// The calling thread's parts of the shard hash: a worker's (every thread
/// reads the same share here).
const PARTS: u64 = 2;

/// One stretch, walked.
struct Walked {
    /// The offset the walk started from; `None` when no record seemed to
    /// start in the stretch.
    start: Option<u64>,
    /// The offset of the first record not in the stretch (or where the
    /// error is, or the end of the file).
    end: u64,
    frames: u64,
    /// The latest timestamp of its frames.
    latest: Timestamp,
    /// One per shard, taken by the shard's thread.
    batches: Vec<Option<Batch>>,
    taken: usize,
    /// The read error that ends the file in it.
    error: Option<CaptureError>,
    /// The file ends in it (end of file, or an error).
    last: bool,
    /// The global number of its first frame and the latest timestamp
    /// before it, once its start is checked.
    base: Option<(u64, Timestamp)>,
}

enum Slot {
    /// Being walked (or walked again).
    Walking,
    Walked(Box<Walked>),
}

#[derive(Default)]
struct State {
    slots: BTreeMap<u64, Slot>,
    /// The stretches `0..checked` have checked starts; after them the file
    /// is read to `end`, `events` frames, the latest at `latest`.
    checked: u64,
    end: u64,
    events: u64,
    latest: Timestamp,
    /// The stretch the file ends in, once checked, and the read error that
    /// ends it.
    last: Option<u64>,
    error: Option<CaptureError>,
    /// A thread gave up (an output error, a lost thread): the others stop.
    stop: bool,
    /// The first stretch no thread has started walking.
    unclaimed: u64,
    /// Stretches walked again because their guessed start was wrong.
    rewalks: u64,
}

/// What a run did beyond its output, for tests.
#[derive(Debug, Default)]
pub(super) struct Stats {
    #[cfg_attr(not(test), allow(dead_code))]
    pub rewalks: u64,
}

struct Shared<'a> {
    path: &'a str,
    len: u64,
    /// Where the first record starts.
    first: u64,
    segment: u64,
    n: usize,
    state: Mutex<State>,
    cv: Condvar,
    /// Emptied batches, their capacity kept, so a stretch's batches do not
    /// grow from empty (copies, freshly zeroed pages) every time:
    /// `keepalive` 0.152 to 0.148 s with two threads.
    pool: Mutex<Vec<Batch>>,
}

/// Sets the stop flag when a thread leaves before it has analysed every
/// stretch, however it leaves, so no other waits for a stretch it would
/// have walked.
struct StopOnDrop<'a, 'b> {
    shared: &'b Shared<'a>,
    armed: bool,
}

impl Drop for StopOnDrop<'_, '_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.lock().stop = true;
            self.shared.cv.notify_all();
        }
    }
}

impl Shared<'_> {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A thread that panicked holding the lock left nothing half-done
        // that the others could misread: every update is one assignment.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'g>(&self, g: MutexGuard<'g, State>) -> MutexGuard<'g, State> {
        self.cv.wait(g).unwrap_or_else(|e| e.into_inner())
    }

    fn stretches(&self) -> u64 {
        self.len.div_ceil(self.segment).max(1)
    }

    /// Walks stretch `k` from `start` (to its nominal end), sorting its
    /// frames into the shards' batches.
    fn walk(&self, r: &mut FileReader, k: u64, start: Option<u64>) -> Walked {
        let mut w = Walked {
            start,
            end: start.unwrap_or(0),
            frames: 0,
            latest: Timestamp::MIN,
            batches: {
                let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
                (0..self.n)
                    .map(|_| Some(pool.pop().unwrap_or_default()))
                    .collect()
            },
            taken: 0,
            error: None,
            last: false,
            base: None,
        };
        let Some(start) = start else {
            return w;
        };
        if !r.seek(start) {
            // `fits` saw a reader that can seek: not reached, but a stretch
            // is never taken for empty when it was not read.
            w.error = Some(CaptureError {
                path: self.path.to_string(),
                offset: start,
                kind: capture::CaptureErrorKind::Io {
                    message: "cannot move to this offset of the mapped file".into(),
                },
            });
            w.last = true;
            return w;
        }
        let stop = k.saturating_add(1).saturating_mul(self.segment);
        let mut now = Timestamp::MIN;
        let mut frames = 0u64;
        while r.offset() < stop {
            match r.next_frame_mapped() {
                Ok(Some((frame, window))) => {
                    now = now.max(frame.ts);
                    let decoded = decode::decode(&frame);
                    let shard = shard_of(&decoded, self.n, PARTS) as usize;
                    if let Some(Some(b)) = w.batches.get_mut(shard) {
                        b.push(&frame, window, decoded, frames, now);
                    }
                    frames += 1;
                }
                Ok(None) => {
                    w.last = true;
                    break;
                }
                Err(e) => {
                    w.error = Some(e);
                    w.last = true;
                    break;
                }
            }
        }
        w.end = r.offset().max(start);
        w.last |= w.end >= self.len;
        w.frames = frames;
        w.latest = now;
        w
    }

    /// Walks the stretches no thread has taken yet, up to `limit`
    /// (exclusive). Whichever thread gets there first walks a stretch (any
    /// can: the walk depends only on the file), so the thread whose shard
    /// has less to analyse walks more: connections are dealt out by hash,
    /// and on a capture of a few hundred the shards' frames differ by a
    /// tenth or more.
    fn walk_ahead(&self, r: &mut FileReader, limit: u64) -> io::Result<()> {
        loop {
            let k = {
                let mut g = self.lock();
                if g.stop {
                    return Err(io::Error::other("analysis thread stopped"));
                }
                let k = g.unclaimed;
                if k >= limit.min(self.stretches()) || g.last.is_some_and(|l| k > l) {
                    return Ok(());
                }
                g.unclaimed += 1;
                g.slots.insert(k, Slot::Walking);
                k
            };
            let start = if k == 0 {
                Some(self.first)
            } else {
                r.resync(k * self.segment, self.segment as usize)
            };
            let w = self.walk(r, k, start);
            self.lock().slots.insert(k, Slot::Walked(Box::new(w)));
            self.cv.notify_all();
        }
    }

    /// Shard `me`'s batch of stretch `k` and its base, once the stretch is
    /// walked and checked (walking it again first if its guessed start was
    /// wrong); `None` after the stretch the file ends in.
    fn take(
        &self,
        r: &mut FileReader,
        k: u64,
        me: usize,
    ) -> io::Result<Option<(Batch, (u64, Timestamp))>> {
        let mut g = self.lock();
        loop {
            if g.stop {
                return Err(io::Error::other("analysis thread stopped"));
            }
            if g.last.is_some_and(|l| k > l) || k >= self.stretches() {
                return Ok(None);
            }
            let checked = g.checked;
            let (end, events, latest) = (g.end, g.events, g.latest);
            let Some(Slot::Walked(w)) = g.slots.get_mut(&k) else {
                g = self.wait(g);
                continue;
            };
            if w.base.is_none() {
                // Stretches are checked in order, and this thread took
                // every one before this.
                if checked != k {
                    return Err(io::Error::other("stretches checked out of order"));
                }
                if k > 0 && w.start != Some(end) {
                    g.rewalks += 1;
                    g.slots.insert(k, Slot::Walking);
                    drop(g);
                    let w = self.walk(r, k, Some(end));
                    g = self.lock();
                    g.slots.insert(k, Slot::Walked(Box::new(w)));
                    self.cv.notify_all();
                    continue;
                }
                w.base = Some((events, latest));
                let (w_end, frames, w_latest, last) = (w.end, w.frames, w.latest, w.last);
                let error = w.error.take();
                g.checked += 1;
                g.end = w_end;
                g.events += frames;
                g.latest = latest.max(w_latest);
                if last {
                    g.last = Some(k);
                    g.error = error;
                }
                self.cv.notify_all();
                continue;
            }
            let base = w.base.unwrap_or((0, Timestamp::MIN));
            let batch = w.batches.get_mut(me).and_then(Option::take);
            w.taken += 1;
            if w.taken >= self.n {
                g.slots.remove(&k);
            }
            return Ok(Some((batch.unwrap_or_default(), base)));
        }
    }

    /// Gives back a batch once analysed (its mappings released now).
    fn recycle(&self, mut b: Batch) {
        b.clear();
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < 4 * self.n * (LOOKAHEAD as usize + 2) {
            pool.push(b);
        }
    }

    /// The frames read and the latest timestamp, once every stretch is
    /// checked.
    fn totals(&self) -> (u64, Timestamp) {
        let g = self.lock();
        (g.events, g.latest)
    }
}

/// Whether `paths` are read this way: one regular pcap file that can be
/// mapped and seeked, of large frames (its first round, [`super::first_round`]),
/// at least two stretches long, no frame filter, two threads or more.
pub(super) fn fits(
    paths: &[String],
    n: usize,
    filtered: bool,
    first: Option<(usize, usize)>,
) -> bool {
    let [path] = paths else {
        return false;
    };
    n >= 2
        && !filtered
        && first.is_some_and(|(f, b)| super::large_frames(f, b))
        && capture::open(path).is_ok_and(|r| r.can_seek() && r.mapped_len() >= 2 * SEGMENT_BYTES)
}

/// The window a thread maps its stretches with: one stretch and the
/// largest record straddling its end, in one mapping.
fn window_bytes(segment: u64) -> usize {
    usize::try_from(segment)
        .unwrap_or(usize::MAX)
        .saturating_add(2 << 20)
}

/// A thread other than the calling one: walks its stretches, analyses
/// shard `me` of every stretch, sends each stretch's results, then the
/// connections open at the end.
fn worker(
    me: usize,
    shared: &Shared<'_>,
    cfg: Config,
    ndjson: Option<ExchangeDetail>,
    tx: mpsc::SyncSender<FromWorker>,
    back: mpsc::Receiver<Box<FromWorker>>,
) {
    let mut stop = StopOnDrop {
        shared,
        armed: true,
    };
    let tcp = cfg.tcp.clone();
    let mut shard = Shard::new(cfg, ndjson);
    shard.an.set_table_limits(
        shard_limit(tcp.max_connections, me, shared.n, PARTS),
        shard_limit(tcp.max_buffer_total, me, shared.n, PARTS),
    );
    let Ok(mut r) = capture::open_windowed(shared.path, window_bytes(shared.segment)) else {
        return;
    };
    r.limit(shared.len);
    r.set_strides_ahead(WALK_STRIDES_AHEAD);
    let mut k = 0u64;
    loop {
        if shared
            .walk_ahead(&mut r, k + LOOKAHEAD * shared.n as u64)
            .is_err()
        {
            return;
        }
        match shared.take(&mut r, k, me) {
            Ok(Some((batch, base))) => {
                let mut out = back.try_recv().map(|b| *b).unwrap_or_default();
                out.spent = None;
                shard.round(&batch, &mut out, base);
                shared.recycle(batch);
                if tx.send(out).is_err() {
                    return;
                }
            }
            Ok(None) => break,
            Err(_) => return,
        }
        k += 1;
    }
    stop.armed = false;
    let (events, latest) = shared.totals();
    shard.end(latest, events);
    send_end(shard, &tx);
    drop(tx);
    // The merge sends this thread's messages back until it has merged the
    // last of them: freed here, in parallel with the rest of the merge,
    // not on the merge's thread once the channel is gone (their buffers
    // hold megabytes of lines: 2 ms of a 0.14 s `keepalive` run).
    while let Ok(m) = back.recv() {
        drop(m);
    }
}

/// [`super::analyze_files`] for a file that [`fits`].
pub(super) fn analyze<W: Write>(
    path: &str,
    cfg: Config,
    writer: report::ReportWriter<W>,
    segment: u64,
) -> io::Result<(RunOutcome, Stats)> {
    let n = cfg.threads.clamp(2, 256);
    let ndjson = writer.ndjson_detail();
    let mut outcome = RunOutcome::default();
    let mut info = report::FileInfo {
        path: path.to_string(),
        ..Default::default()
    };
    let mut r = match capture::open_windowed(path, window_bytes(segment)) {
        Ok(mut r) => {
            r.set_strides_ahead(WALK_STRIDES_AHEAD);
            r
        }
        Err(e) => {
            // Checked by `fits` a moment ago: only a file removed since.
            info.error = Some(e.to_string());
            outcome.problems.push(e);
            Merge::new(n, &cfg.filter, writer).finish(Vec::new(), vec![info])?;
            return Ok((outcome, Stats::default()));
        }
    };
    info.format = Some(r.format().as_str().to_string());
    let shared = Shared {
        path,
        len: r.mapped_len(),
        first: r.offset(),
        segment: segment.max(1),
        n,
        state: Mutex::new(State {
            latest: Timestamp::MIN,
            ..State::default()
        }),
        cv: Condvar::new(),
        pool: Mutex::new(Vec::new()),
    };
    let mut merge = Merge::new(n, &cfg.filter, writer);
    let mut captures: Vec<CaptureInfo> = Vec::new();
    std::thread::scope(|s| -> io::Result<()> {
        let mut stop = StopOnDrop {
            shared: &shared,
            armed: true,
        };
        let mut from = Vec::with_capacity(n - 1);
        let mut back = Vec::with_capacity(n - 1);
        for me in 1..n {
            let (tx, rx) = mpsc::sync_channel::<FromWorker>(PIPELINE_DEPTH + 2);
            let (btx, brx) = mpsc::channel::<Box<FromWorker>>();
            let c = cfg.clone();
            let shared = &shared;
            s.spawn(move || worker(me, shared, c, ndjson, tx, brx));
            from.push(rx);
            back.push(btx);
        }
        let mut local = Shard::new(cfg.clone(), ndjson);
        local.an.set_table_limits(
            shard_limit(cfg.tcp.max_connections, 0, n, PARTS),
            shard_limit(cfg.tcp.max_buffer_total, 0, n, PARTS),
        );
        let mut local_parts: std::collections::VecDeque<FromWorker> = Default::default();
        let fold = |merge: &mut Merge<W>,
                    local_parts: &mut std::collections::VecDeque<FromWorker>|
         -> io::Result<()> {
            merge.batch(recv_round(local_parts.pop_front(), &from)?)?;
            for (w, b) in back.iter().enumerate() {
                if let Some(m) = merge.recycled.get_mut(w + 1).and_then(Option::take) {
                    // A worker that has stopped needs none.
                    let _ = b.send(m);
                }
            }
            Ok(())
        };
        let mut ticker = ProgressTicker::new(cfg.progress.as_ref(), 0, path);
        let mut k = 0u64;
        let mut in_flight = 0usize;
        loop {
            shared.walk_ahead(&mut r, k + LOOKAHEAD * n as u64)?;
            let Some((batch, base)) = shared.take(&mut r, k, 0)? else {
                break;
            };
            let mut part = merge.local_part();
            local.round(&batch, &mut part, base);
            shared.recycle(batch);
            local_parts.push_back(part);
            in_flight += 1;
            if in_flight > PIPELINE_DEPTH {
                fold(&mut merge, &mut local_parts)?;
                in_flight -= 1;
            }
            ticker.tick(shared.lock().end);
            k += 1;
        }
        stop.armed = false;
        while in_flight > 0 {
            fold(&mut merge, &mut local_parts)?;
            in_flight -= 1;
        }
        let (events, latest, end, error) = {
            let mut g = shared.lock();
            (g.events, g.latest, g.end, g.error.take())
        };
        ticker.done(end);
        info.packets = events;
        if let Some(e) = error {
            info.error = Some(e.to_string());
            outcome.problems.push(e);
        }
        local.end(latest, events);
        captures = merge.end_shards(local, &from)?;
        Ok(())
    })?;
    merge.finish(captures, vec![info])?;
    let stats = Stats {
        rewalks: shared.lock().rewalks,
    };
    Ok((outcome, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Format, ReportWriter, WriterOptions};

    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const FIN: u8 = 0x01;
    const PSH: u8 = 0x08;

    /// Ethernet/IPv4/TCP frame of connection `c` (client port 40000 + c).
    fn frame(c: u16, to_server: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let client = [10, 0, (c >> 8) as u8, c as u8];
        let server = [192, 0, 2, 10];
        let (src, dst, sport, dport) = if to_server {
            (client, server, 40_000 + c, 80u16)
        } else {
            (server, client, 80, 40_000 + c)
        };
        let mut b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .tcp(sport, dport, seq, 65_535);
        if flags & SYN != 0 {
            b = b.syn();
        }
        if flags & FIN != 0 {
            b = b.fin();
        }
        if flags & PSH != 0 {
            b = b.psh();
        }
        if flags & ACK != 0 {
            b = b.ack(ack);
        }
        let mut f = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut f, payload).expect("writing to a Vec");
        f
    }

    /// A UDP datagram, not part of any connection.
    fn udp() -> Vec<u8> {
        let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [192, 0, 2, 10], 64)
            .udp(5000, 5000);
        let mut f = Vec::with_capacity(b.size(0));
        b.write(&mut f, &[]).expect("writing to a Vec");
        f
    }

    /// A pcap record header (little-endian, microseconds).
    fn record(b: &mut Vec<u8>, us: u64, len: usize) {
        b.extend_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
        b.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        b.extend_from_slice(&(len as u32).to_le_bytes());
        b.extend_from_slice(&(len as u32).to_le_bytes());
    }

    /// A body segment of 1400 bytes: `x`s, or, with `fake`, bytes that
    /// read as a chain of small pcap records of the same time, so a guess
    /// at a record boundary inside it goes wrong.
    fn body(fake: bool, us: u64) -> Vec<u8> {
        let mut b = Vec::with_capacity(1400);
        if fake {
            while b.len() + 16 + 60 <= 1400 {
                record(&mut b, us, 60);
                b.resize(b.len() + 60, b'y');
            }
        }
        b.resize(1400, b'x');
        b
    }

    /// Keep-alive connections, `open` at a time, each with 3 exchanges of
    /// 20 full body segments (frames of about 1.4 KB), written as a pcap
    /// file; about 90 KB a connection.
    /// Every connection gets a stray ACK after its close; with `jump`,
    /// those of the second half come after a UDP frame a second ahead of
    /// the clock (the latest timestamp so far), which expires the
    /// tombstones the ACKs would have found.
    fn capture(name: &str, conns: u16, open: u16, fake: bool) -> String {
        capture_with(name, conns, open, fake, false)
    }

    fn capture_with(name: &str, conns: u16, open: u16, fake: bool, jump: bool) -> String {
        let mut b = Vec::new();
        b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&65_535u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        let us = std::cell::Cell::new(1_700_000_000_000_000u64);
        let put = |b: &mut Vec<u8>, f: Vec<u8>| {
            us.set(us.get() + 37);
            record(b, us.get(), f.len());
            b.extend_from_slice(&f);
        };
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 20 * 1400);
        for group in (0..conns).step_by(open as usize) {
            let cs: Vec<u16> = (group..(group + open).min(conns)).collect();
            let mut seq: Vec<(u32, u32)> =
                cs.iter().map(|&c| (1000 * c as u32, 7_000_000)).collect();
            for (i, &c) in cs.iter().enumerate() {
                let (cl, sv) = &mut seq[i];
                put(&mut b, frame(c, true, *cl, 0, SYN, b""));
                *cl += 1;
                put(&mut b, frame(c, false, *sv, *cl, SYN | ACK, b""));
                *sv += 1;
                put(&mut b, frame(c, true, *cl, *sv, ACK, b""));
            }
            for _ in 0..3 {
                for (i, &c) in cs.iter().enumerate() {
                    let (cl, sv) = &mut seq[i];
                    let req: &[u8] = b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
                    put(&mut b, frame(c, true, *cl, *sv, PSH | ACK, req));
                    *cl += req.len() as u32;
                    put(
                        &mut b,
                        frame(c, false, *sv, *cl, PSH | ACK, head.as_bytes()),
                    );
                    *sv += head.len() as u32;
                }
                for _ in 0..20 {
                    for (i, &c) in cs.iter().enumerate() {
                        let (cl, sv) = &mut seq[i];
                        let p = body(fake, 1_700_000_000_000_000);
                        put(&mut b, frame(c, false, *sv, *cl, ACK, &p));
                        *sv += p.len() as u32;
                    }
                }
            }
            for (i, &c) in cs.iter().enumerate() {
                let (cl, sv) = &mut seq[i];
                put(&mut b, frame(c, true, *cl, *sv, FIN | ACK, b""));
                *cl += 1;
                put(&mut b, frame(c, false, *sv, *cl, FIN | ACK, b""));
                *sv += 1;
                put(&mut b, frame(c, true, *cl, *sv, ACK, b""));
            }
            if jump && group >= conns / 2 {
                // Each jump a second past the one before.
                let ahead = u64::from(group - conns / 2) / u64::from(open) + 1;
                let udp = udp();
                record(&mut b, us.get() + ahead * 1_000_000, udp.len());
                b.extend_from_slice(&udp);
            }
            for (i, &c) in cs.iter().enumerate() {
                let (cl, sv) = seq[i];
                put(&mut b, frame(c, true, cl, sv, ACK, b""));
            }
        }
        let path = std::env::temp_dir().join(format!(
            "keepwatch-split-{name}-{}.pcap",
            std::process::id()
        ));
        std::fs::write(&path, b).expect("writing a temporary capture");
        path.to_string_lossy().into_owned()
    }

    fn options() -> WriterOptions {
        WriterOptions {
            exchanges: report::ExchangeDetail::All,
            ..WriterOptions::default()
        }
    }

    /// The default configuration, or one whose closed connections linger
    /// for a tenth of the time between two frames of a connection, so
    /// they expire between other connections' frames (the clock a shard
    /// gets from the stretches before matters).
    fn config(threads: usize, short_linger: bool) -> Config {
        let mut cfg = Config {
            threads,
            ..Config::default()
        };
        if short_linger {
            cfg.tcp.close_linger = std::time::Duration::from_micros(20);
        }
        cfg
    }

    /// One thread's output with `cfg`, against that of stretches with
    /// 2 and 3 threads.
    fn assert_same_with(path: &str, cfg: &Config) {
        let (want, problems) = one_thread(path, Format::Ndjson, cfg.clone());
        for n in [2, 3] {
            for segment in [40_000, 100_003] {
                let c = Config {
                    threads: n,
                    ..cfg.clone()
                };
                let (got, p, _) = stretches(path, Format::Ndjson, c, segment);
                assert!(got == want, "{n} threads, stretches of {segment} B");
                assert_eq!(p, problems);
            }
        }
    }

    /// The output of one thread reading `path`, and its read problems.
    fn one_thread(path: &str, format: Format, cfg: Config) -> (Vec<u8>, Vec<CaptureError>) {
        let mut out = Vec::new();
        let w = ReportWriter::new(&mut out, format, options());
        let o = crate::analyze_files(&[path.to_string()], cfg, w).expect("writing to memory");
        (out, o.problems)
    }

    /// The output of `cfg.threads` threads reading `path` in stretches of
    /// `segment`.
    fn stretches(
        path: &str,
        format: Format,
        cfg: Config,
        segment: u64,
    ) -> (Vec<u8>, Vec<CaptureError>, Stats) {
        let mut out = Vec::new();
        let w = ReportWriter::new(&mut out, format, options());
        let (o, stats) = analyze(path, cfg, w, segment).expect("writing to memory");
        (out, o.problems, stats)
    }

    /// Every thread count and a few stretch sizes (some not dividing the
    /// record sizes or each other) give one thread's output, with the
    /// default linger and a short one; returns the stretches walked again.
    fn assert_same(path: &str) -> u64 {
        let mut rewalks = 0;
        for (format, short) in [
            (Format::Ndjson, false),
            (Format::Ndjson, true),
            (Format::Json, true),
        ] {
            let (want, problems) = one_thread(path, format, config(1, short));
            for n in [2, 3] {
                for segment in [40_000, 65_536, 100_003] {
                    let (got, p, stats) = stretches(path, format, config(n, short), segment);
                    let what =
                        format!("{n} threads, stretches of {segment} B, short linger {short}");
                    assert!(got == want, "{what}");
                    assert_eq!(p, problems, "{what}");
                    rewalks += stats.rewalks;
                }
            }
        }
        rewalks
    }

    #[test]
    fn stretches_give_the_output_of_one_thread() {
        let path = capture("plain", 24, 3, false);
        assert!(std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) > 1 << 21);
        // Bodies of `x`s: every guessed start is right.
        assert_eq!(assert_same(&path), 0);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn clock_jumps_give_the_output_of_one_thread() {
        // Closed connections linger half a second: in the first half the
        // stray ACK after each close finds its connection's tombstone; in
        // the second a jump of the clock has expired it, so the ACK starts
        // a connection of its own. Which ACKs do depends on the clock each
        // shard has when it reaches them.
        let path = capture_with("jump", 24, 3, false, true);
        let mut cfg = config(1, false);
        cfg.tcp.close_linger = std::time::Duration::from_millis(500);
        let (out, _) = one_thread(&path, Format::Ndjson, cfg.clone());
        let mid_stream = String::from_utf8_lossy(&out)
            .matches("\"mid_stream\":true")
            .count();
        assert!(
            (1..24).contains(&mid_stream),
            "{mid_stream} stray ACKs after the jump"
        );
        assert_same_with(&path, &cfg);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_capture_inside_a_payload_is_walked_again() {
        let path = capture("fake", 12, 4, true);
        // Guesses fall on the records inside the bodies, and are caught.
        assert!(assert_same(&path) > 0);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_cut_or_corrupt_file_ends_where_one_reader_ends_it() {
        let path = capture("cut", 12, 3, false);
        let bytes = std::fs::read(&path).expect("reading the capture back");
        // Cut inside a record, two thirds in.
        std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).expect("cutting the capture");
        let (_, problems) = one_thread(&path, Format::Ndjson, config(1, false));
        assert_eq!(problems.len(), 1);
        assert_same(&path);
        // An absurd caplen in the record that starts after the middle.
        let mut corrupt = bytes.clone();
        let mut at = 24;
        while at < bytes.len() / 2 {
            let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
            at += 16 + len as usize;
        }
        corrupt[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&path, &corrupt).expect("corrupting the capture");
        let (_, problems) = one_thread(&path, Format::Ndjson, config(1, false));
        assert!(matches!(
            problems.first().map(|p| &p.kind),
            Some(capture::CaptureErrorKind::AbsurdLength { .. })
        ));
        assert_same(&path);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn only_one_large_mapped_pcap_without_a_filter_is_read_in_stretches() {
        let path = capture("fits", 120, 4, false);
        let big = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) >= 2 * SEGMENT_BYTES;
        assert!(big, "the capture must span two stretches");
        let paths = [path.clone()];
        let first = super::super::first_round(&paths);
        assert!(fits(&paths, 2, false, first));
        assert!(!fits(&paths, 1, false, first), "one thread");
        assert!(!fits(&paths, 2, true, first), "a frame filter");
        assert!(
            !fits(&[path.clone(), path.clone()], 2, false, first),
            "two files"
        );
        assert!(
            !fits(&paths, 2, false, Some((2048, 2048 * 200))),
            "small frames"
        );
        assert!(!fits(&["-".to_string()], 2, false, first), "standard input");
        let small = capture("fits-small", 4, 4, false);
        let small_paths = [small.clone()];
        let small_first = super::super::first_round(&small_paths);
        assert!(!fits(&small_paths, 2, false, small_first), "one stretch");
        for p in [path, small] {
            let _ = std::fs::remove_file(p);
        }
    }
}
