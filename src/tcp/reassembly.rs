//! Reassembly of one direction's byte stream over 64-bit offsets.
//!
//! Invariants:
//! - Every byte offset is handed to the handler at most once, either as data
//!   or as part of a gap, in increasing order; `next` is the first offset
//!   not yet handed up.
//! - In-order bytes are handed up straight from the segment (borrowed); only
//!   bytes that arrive ahead of a hole are copied, into `chunks`.
//! - `chunks` is sorted, non-overlapping, and every chunk starts after
//!   `next`. Buffered bytes are counted against a per-connection and a
//!   global budget; when either would be exceeded the buffer is flushed
//!   (holes become gaps) rather than grown.
//!
//! Overlap policy: the first copy of a byte wins. A later copy that
//! overlaps bytes already seen is a retransmission and is never delivered
//! again. Its bytes are compared with the first copy where the first copy
//! is still held, i.e. while it sits in the out-of-order buffer; bytes
//! already handed up are not kept (that would cost memory per connection
//! for every in-order byte), so a retransmission of delivered data is
//! counted but cannot be checked for conflicts.
//!
//! Gap policy: a hole becomes a gap (never silence) when the peer
//! acknowledges bytes beyond it, when the snaplen cut a segment's payload,
//! when a buffer cap is hit, and when the stream ends (FIN reached, RST, end
//! of connection) with the hole unfilled.

use super::{Anomalies, Direction, StreamHandler};
use crate::time::Timestamp;
use std::collections::VecDeque;
use std::ops::RangeFrom;

/// Where delivered bytes, gaps and the FIN go, with the counters they feed.
pub(crate) struct Out<'a, H> {
    pub handler: &'a mut H,
    pub dir: Direction,
    pub ts: Timestamp,
    pub stream_bytes: &'a mut u64,
    pub anomalies: &'a mut Anomalies,
}

impl<H: StreamHandler> Out<'_, H> {
    fn data(&mut self, d: &[u8]) {
        if !d.is_empty() {
            *self.stream_bytes = self.stream_bytes.saturating_add(d.len() as u64);
            self.handler.on_data(self.dir, self.ts, d);
        }
    }
    fn gap(&mut self, n: u64) {
        if n > 0 {
            self.anomalies.gaps += 1;
            self.anomalies.gap_bytes = self.anomalies.gap_bytes.saturating_add(n);
            self.handler.on_gap(self.dir, self.ts, n);
        }
    }
}

/// The buffer budget a segment may draw on.
pub(crate) struct Budget<'a> {
    /// Out-of-order bytes this connection holds (both directions).
    pub conn: &'a mut usize,
    /// Out-of-order bytes all connections hold.
    pub total: &'a mut usize,
    pub max_conn: usize,
    pub max_total: usize,
    /// Incremented each time a cap forces a flush.
    pub hits: &'a mut u64,
}

impl Budget<'_> {
    fn fits(&self, n: usize) -> bool {
        self.conn.saturating_add(n) <= self.max_conn
            && self.total.saturating_add(n) <= self.max_total
    }
    fn take(&mut self, n: usize) {
        *self.conn = self.conn.saturating_add(n);
        *self.total = self.total.saturating_add(n);
    }
    fn give(&mut self, n: usize) {
        *self.conn = self.conn.saturating_sub(n);
        *self.total = self.total.saturating_sub(n);
    }
}

/// What one segment turned out to be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// It carried bytes beyond any seen before in this direction.
    pub new_data: bool,
    /// Some of its bytes (or its FIN) had been seen before.
    pub retransmission: bool,
    /// Some of its bytes had to be buffered behind a hole.
    pub out_of_order: bool,
}

struct Chunk {
    start: u64,
    data: Vec<u8>,
}

impl Chunk {
    fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

/// The out-of-order chunks, sorted; allocated only while some are held
/// (most streams never have a hole, and an empty `VecDeque` inline would
/// cost every connection 24 bytes more per direction).
#[derive(Default)]
// The box is the point: 8 bytes inline instead of the deque's 32.
#[allow(clippy::box_collection)]
struct Chunks(Option<Box<VecDeque<Chunk>>>);

impl Chunks {
    fn partition_point(&self, pred: impl FnMut(&Chunk) -> bool) -> usize {
        self.0.as_ref().map_or(0, |d| d.partition_point(pred))
    }

    fn range(&self, from: RangeFrom<usize>) -> impl Iterator<Item = &Chunk> {
        self.0.iter().flat_map(move |d| d.range(from.clone()))
    }

    fn get(&self, i: usize) -> Option<&Chunk> {
        self.0.as_ref()?.get(i)
    }

    fn front(&self) -> Option<&Chunk> {
        self.0.as_ref()?.front()
    }

    fn insert(&mut self, i: usize, c: Chunk) {
        self.0.get_or_insert_with(Box::default).insert(i, c);
    }

    fn pop_front(&mut self) -> Option<Chunk> {
        let d = self.0.as_mut()?;
        let c = d.pop_front();
        if d.is_empty() {
            self.0 = None;
        }
        c
    }
}

#[derive(Default)]
pub(crate) struct Reassembler {
    /// First offset not yet handed up.
    next: u64,
    /// One past the highest offset seen (data, including snaplen-cut bytes).
    high: u64,
    /// Offset of the FIN (one past the last data byte), first FIN wins.
    fin: Option<u64>,
    fin_delivered: bool,
    /// After an RST or the end of the connection nothing more is delivered.
    stopped: bool,
    chunks: Chunks,
    buffered: usize,
    /// The peer acknowledged bytes up to `.0`, beyond `next`, first at
    /// `.1`: a hole the capture missed, declared once the reorder window
    /// has passed without the bytes showing up.
    acked_hole: Option<(u64, Timestamp)>,
}

/// How long (capture time) bytes acknowledged by the peer may still show
/// up before they are declared a gap. A capture from a multi-queue NIC can
/// write a segment after the ACK that answers it; the ACK alone does not
/// prove the capture lost the bytes.
pub const ACK_REORDER_WINDOW_NS: i64 = 5_000_000;

impl Reassembler {
    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    pub(crate) fn fin(&self) -> Option<u64> {
        self.fin
    }

    /// One segment of this direction: data at offset `start` (negative
    /// means it begins before the stream), `missing` more bytes the snaplen
    /// cut, and whether it carries a FIN.
    pub(crate) fn segment<H: StreamHandler>(
        &mut self,
        start: i64,
        payload: &[u8],
        missing: u64,
        fin: bool,
        out: &mut Out<'_, H>,
        budget: &mut Budget<'_>,
    ) -> Outcome {
        let mut res = Outcome::default();
        let plen = payload.len() as u64;
        let total = plen.saturating_add(missing);
        let end_i = start.saturating_add(i64::try_from(total).unwrap_or(i64::MAX));
        let end = u64::try_from(end_i).unwrap_or(0);
        if total > 0 && end > self.high {
            res.new_data = self.fin.is_none_or(|f| self.high < f);
            self.high = end;
        }
        if fin {
            match self.fin {
                None => self.fin = Some(end.max(self.next)),
                Some(_) if total == 0 => res.retransmission = true,
                Some(_) => {}
            }
        }
        if total > 0 && start < 0 {
            res.retransmission = true;
        }
        if self.stopped {
            return res;
        }
        // Payload bytes to skip (those before offset 0), then the data range
        // [s, data_end) and the cut range [data_end, cut_end), all clipped to
        // the FIN.
        let skip = start.min(0).unsigned_abs();
        let s = u64::try_from(start.max(0)).unwrap_or(0);
        let limit = self.fin.unwrap_or(u64::MAX);
        let data_end = s.saturating_add(plen.saturating_sub(skip)).min(limit);
        let cut_end = end.min(limit).max(data_end);
        if total > 0 && s < self.next {
            res.retransmission = true;
        }
        let at = |off: u64| -> &[u8] {
            // Offset `off` of the stream within `payload`.
            let i = off.saturating_sub(s).saturating_add(skip);
            payload
                .get(usize::try_from(i).unwrap_or(usize::MAX)..)
                .unwrap_or(&[])
        };

        // Compare with buffered first copies before anything moves.
        let first = s.max(self.next);
        if first < data_end {
            let mut conflicts = 0u64;
            let mut overlapped = false;
            let from = self.chunks.partition_point(|c| c.end() <= first);
            for c in self.chunks.range(from..) {
                if c.start >= data_end {
                    break;
                }
                let a = c.start.max(first);
                let b = c.end().min(data_end);
                overlapped = true;
                let mine = at(a);
                let theirs = c.data.get((a - c.start) as usize..).unwrap_or(&[]);
                let n = (b - a) as usize;
                conflicts += mine
                    .iter()
                    .zip(theirs)
                    .take(n)
                    .filter(|(x, y)| x != y)
                    .count() as u64;
            }
            if overlapped {
                res.retransmission = true;
            }
            out.anomalies.overlap_conflicts =
                out.anomalies.overlap_conflicts.saturating_add(conflicts);
        }

        // Walk the data range: uncovered pieces at `next` are handed up
        // directly, uncovered pieces beyond it are buffered, covered pieces
        // are dropped (first copy wins).
        let mut pos = first;
        loop {
            pos = pos.max(self.next);
            if pos >= data_end {
                break;
            }
            let i = self.chunks.partition_point(|c| c.end() <= pos);
            let covering = self.chunks.get(i).map(|c| (c.start, c.end()));
            match covering {
                Some((cs, ce)) if cs <= pos => {
                    pos = ce.min(data_end);
                }
                _ => {
                    let piece_end = covering.map_or(data_end, |(cs, _)| cs.min(data_end));
                    let n = (piece_end - pos) as usize;
                    let bytes = at(pos).get(..n).unwrap_or(&[]);
                    if pos == self.next {
                        out.data(bytes);
                        self.next = piece_end;
                        self.drain(out, budget);
                    } else if budget.fits(n) {
                        res.out_of_order = true;
                        budget.take(n);
                        self.buffered += n;
                        self.chunks.insert(
                            i,
                            Chunk {
                                start: pos,
                                data: bytes.to_vec(),
                            },
                        );
                    } else {
                        // A cap is hit: hand up what is held and the holes as
                        // gaps, then this piece after its own gap.
                        res.out_of_order = true;
                        *budget.hits += 1;
                        self.flush_chunks(u64::MAX, out, budget);
                        if pos >= self.next {
                            out.gap(pos - self.next);
                            out.data(bytes);
                            self.next = piece_end;
                        }
                    }
                    pos = piece_end;
                }
            }
        }

        // Bytes the snaplen cut: they were on the wire, the capture lost
        // them; once everything before them is handed up they are a gap.
        if cut_end > data_end && self.next >= data_end && self.next < cut_end {
            let stop = self
                .chunks
                .front()
                .map_or(cut_end, |c| c.start.min(cut_end));
            if stop > self.next {
                out.gap(stop - self.next);
                self.next = stop;
                self.drain(out, budget);
            }
        }
        self.deliver_fin(out);
        res
    }

    /// The peer acknowledged everything before offset `acked` (at `ts`):
    /// bytes the capture has not seen by then are a hole to settle later.
    pub(crate) fn peer_acked(&mut self, acked: u64, ts: Timestamp) {
        if self.stopped {
            return;
        }
        // The FIN takes one sequence number: data ends at the FIN offset.
        let limit = match self.fin {
            Some(f) => acked.min(f),
            None => acked,
        };
        if limit <= self.next {
            return;
        }
        self.acked_hole = Some(match self.acked_hole {
            Some((l, at)) => (l.max(limit), at),
            None => (limit, ts),
        });
    }

    /// At capture time `now`: bytes the peer acknowledged more than
    /// [`ACK_REORDER_WINDOW_NS`] ago and that never showed up are a gap.
    pub(crate) fn settle<H: StreamHandler>(
        &mut self,
        now: Timestamp,
        out: &mut Out<'_, H>,
        budget: &mut Budget<'_>,
    ) {
        let Some((limit, at)) = self.acked_hole else {
            return;
        };
        if limit <= self.next {
            self.acked_hole = None;
        } else if now.nanos().saturating_sub(at.nanos()) >= ACK_REORDER_WINDOW_NS {
            self.acked_hole = None;
            self.flush_to(limit, out, budget);
        }
    }

    pub(crate) fn has_acked_hole(&self) -> bool {
        self.acked_hole.is_some()
    }

    /// Everything before `limit` was sent: hand up what is held, the rest
    /// as gaps.
    fn flush_to<H: StreamHandler>(
        &mut self,
        limit: u64,
        out: &mut Out<'_, H>,
        budget: &mut Budget<'_>,
    ) {
        // An ACK recorded before the FIN was seen may reach past it.
        let limit = limit.min(self.fin.unwrap_or(u64::MAX));
        if self.stopped || limit <= self.next {
            return;
        }
        self.flush_chunks(limit, out, budget);
        if limit > self.next {
            out.gap(limit - self.next);
            self.next = limit;
            self.drain(out, budget);
        }
        self.high = self.high.max(self.next);
        self.deliver_fin(out);
    }

    /// End of this stream (RST, end of the connection): hand up whatever is
    /// held with its holes as gaps, the FIN if it was seen, and stop.
    pub(crate) fn finish<H: StreamHandler>(
        &mut self,
        out: &mut Out<'_, H>,
        budget: &mut Budget<'_>,
    ) {
        if self.stopped {
            return;
        }
        if let Some((limit, _)) = self.acked_hole.take() {
            self.flush_to(limit, out, budget);
        }
        self.flush_chunks(u64::MAX, out, budget);
        // Bytes past the FIN are not part of the stream: drop them.
        while let Some(c) = self.chunks.pop_front() {
            self.release(&c, budget);
        }
        let target = self.fin.unwrap_or(self.high);
        if target > self.next {
            out.gap(target - self.next);
            self.next = target;
        }
        self.deliver_fin(out);
        self.stopped = true;
    }

    /// Hand up buffered chunks that start before `limit`, holes as gaps.
    fn flush_chunks<H: StreamHandler>(
        &mut self,
        limit: u64,
        out: &mut Out<'_, H>,
        budget: &mut Budget<'_>,
    ) {
        let limit = limit.min(self.fin.unwrap_or(u64::MAX));
        while self.chunks.front().is_some_and(|c| c.start < limit) {
            let Some(c) = self.chunks.pop_front() else {
                break;
            };
            self.release(&c, budget);
            if c.start > self.next {
                out.gap(c.start - self.next);
                self.next = c.start;
            }
            self.emit_chunk(&c, out);
        }
    }

    /// Hand up buffered chunks that continue the stream at `next`.
    fn drain<H: StreamHandler>(&mut self, out: &mut Out<'_, H>, budget: &mut Budget<'_>) {
        while self.chunks.front().is_some_and(|c| c.start <= self.next) {
            let Some(c) = self.chunks.pop_front() else {
                break;
            };
            self.release(&c, budget);
            self.emit_chunk(&c, out);
        }
    }

    fn release(&mut self, c: &Chunk, budget: &mut Budget<'_>) {
        self.buffered = self.buffered.saturating_sub(c.data.len());
        budget.give(c.data.len());
    }

    /// Hand up the part of `c` at or after `next` and before the FIN.
    fn emit_chunk<H: StreamHandler>(&mut self, c: &Chunk, out: &mut Out<'_, H>) {
        let limit = self.fin.unwrap_or(u64::MAX);
        let end = c.end().min(limit);
        if end > self.next {
            let from = (self.next - c.start) as usize;
            let to = (end - c.start) as usize;
            out.data(c.data.get(from..to).unwrap_or(&[]));
            self.next = end;
        }
    }

    fn deliver_fin<H: StreamHandler>(&mut self, out: &mut Out<'_, H>) {
        if let Some(f) = self.fin {
            if !self.fin_delivered && self.next >= f {
                self.fin_delivered = true;
                out.handler.on_fin(out.dir, out.ts);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events as text, and the raw bytes delivered.
    #[derive(Default)]
    struct Log(Vec<String>, Vec<u8>);

    impl StreamHandler for Log {
        fn on_data(&mut self, _: Direction, _: Timestamp, d: &[u8]) {
            self.0.push(String::from_utf8_lossy(d).into_owned());
            self.1.extend_from_slice(d);
        }
        fn on_gap(&mut self, _: Direction, _: Timestamp, n: u64) {
            self.0.push(format!("<gap {n}>"));
        }
        fn on_fin(&mut self, _: Direction, _: Timestamp) {
            self.0.push("<fin>".into());
        }
        fn on_rst(&mut self, _: Direction, _: Timestamp) {}
        fn on_end(&mut self, _: Timestamp) {}
    }

    struct Rig {
        r: Reassembler,
        log: Log,
        bytes: u64,
        an: Anomalies,
        conn: usize,
        total: usize,
        hits: u64,
        max_conn: usize,
    }

    impl Rig {
        fn new() -> Rig {
            Rig {
                r: Reassembler::default(),
                log: Log::default(),
                bytes: 0,
                an: Anomalies::default(),
                conn: 0,
                total: 0,
                hits: 0,
                max_conn: usize::MAX,
            }
        }
        fn parts(&mut self) -> (&mut Reassembler, Out<'_, Log>, Budget<'_>) {
            let out = Out {
                handler: &mut self.log,
                dir: Direction::ToServer,
                ts: Timestamp::from_nanos(0),
                stream_bytes: &mut self.bytes,
                anomalies: &mut self.an,
            };
            let budget = Budget {
                conn: &mut self.conn,
                total: &mut self.total,
                max_conn: self.max_conn,
                max_total: usize::MAX,
                hits: &mut self.hits,
            };
            (&mut self.r, out, budget)
        }
        fn seg(&mut self, at: i64, d: &[u8]) -> Outcome {
            let (r, mut o, mut b) = self.parts();
            r.segment(at, d, 0, false, &mut o, &mut b)
        }
        fn fin(&mut self, at: i64) -> Outcome {
            let (r, mut o, mut b) = self.parts();
            r.segment(at, b"", 0, true, &mut o, &mut b)
        }
        /// The peer acknowledges `a`, and the reorder window passes.
        fn ack(&mut self, a: u64) {
            self.r.peer_acked(a, Timestamp::from_nanos(0));
            let (r, mut o, mut b) = self.parts();
            r.settle(Timestamp::from_nanos(ACK_REORDER_WINDOW_NS), &mut o, &mut b)
        }
        fn finish(&mut self) {
            let (r, mut o, mut b) = self.parts();
            r.finish(&mut o, &mut b)
        }
        fn text(&self) -> String {
            self.log.0.concat()
        }
    }

    #[test]
    fn in_order_pieces_are_handed_up_as_they_come() {
        let mut g = Rig::new();
        assert!(g.seg(0, b"abc").new_data);
        g.seg(3, b"de");
        assert_eq!(g.log.0, ["abc", "de"]);
        assert_eq!(g.conn, 0, "nothing buffered");
    }

    #[test]
    fn hole_filled_drains_the_buffer() {
        let mut g = Rig::new();
        let o = g.seg(3, b"def");
        assert!(o.out_of_order && !o.retransmission);
        assert_eq!(g.conn, 3);
        g.seg(0, b"abc");
        assert_eq!(g.text(), "abcdef");
        assert_eq!(g.conn, 0);
        assert_eq!(g.total, 0);
    }

    #[test]
    fn fin_waits_for_the_data_before_it() {
        let mut g = Rig::new();
        g.fin(6);
        g.seg(3, b"def");
        assert_eq!(g.text(), "");
        g.seg(0, b"abc");
        assert_eq!(g.text(), "abcdef<fin>");
        // A retransmitted FIN is a retransmission and nothing more.
        assert!(g.fin(6).retransmission);
        assert_eq!(g.text(), "abcdef<fin>");
    }

    #[test]
    fn data_past_the_fin_is_dropped_and_released() {
        let mut g = Rig::new();
        g.seg(10, b"late");
        g.fin(5);
        g.seg(0, b"abcdefgh");
        assert_eq!(g.text(), "abcde<fin>");
        g.finish();
        assert_eq!(g.text(), "abcde<fin>");
        assert_eq!((g.conn, g.total), (0, 0));
    }

    #[test]
    fn ack_past_a_hole_declares_the_gap_and_delivers_behind_it() {
        let mut g = Rig::new();
        g.seg(0, b"ab");
        g.seg(5, b"fg");
        g.ack(4); // inside the hole: only the part before it
        assert_eq!(g.text(), "ab<gap 2>");
        g.ack(9);
        assert_eq!(g.text(), "ab<gap 2><gap 1>fg<gap 2>");
        assert_eq!(g.an.gaps, 3);
        assert_eq!(g.an.gap_bytes, 5);
        // Old ACKs change nothing.
        g.ack(3);
        assert_eq!(g.an.gaps, 3);
    }

    #[test]
    fn bytes_acknowledged_before_they_are_seen_are_not_a_gap_yet() {
        let mut g = Rig::new();
        g.seg(0, b"ab");
        g.r.peer_acked(6, Timestamp::from_nanos(0));
        {
            let (r, mut o, mut b) = g.parts();
            r.settle(
                Timestamp::from_nanos(ACK_REORDER_WINDOW_NS - 1),
                &mut o,
                &mut b,
            );
        }
        g.seg(2, b"cdef"); // written after the ACK by another queue
        {
            let (r, mut o, mut b) = g.parts();
            r.settle(
                Timestamp::from_nanos(ACK_REORDER_WINDOW_NS * 10),
                &mut o,
                &mut b,
            );
        }
        assert_eq!(g.text(), "abcdef");
        assert_eq!(g.an.gaps, 0);
        assert!(!g.r.has_acked_hole());
    }

    #[test]
    fn an_acked_hole_is_settled_at_the_end() {
        let mut g = Rig::new();
        g.seg(0, b"ab");
        g.r.peer_acked(5, Timestamp::from_nanos(0));
        g.finish();
        assert_eq!(g.text(), "ab<gap 3>");
    }

    #[test]
    fn an_ack_past_a_later_fin_declares_no_gap_beyond_it() {
        // Found by fuzzing: the ACK came before the FIN, which then put the
        // end of the stream below the acknowledged offset.
        let mut g = Rig::new();
        g.seg(0, b"ab");
        g.r.peer_acked(100, Timestamp::from_nanos(0));
        g.fin(2);
        g.finish();
        assert_eq!(g.text(), "ab<fin>");
        let mut g = Rig::new();
        g.r.peer_acked(100, Timestamp::from_nanos(0));
        g.fin(0);
        g.ack(100);
        assert_eq!(g.text(), "<fin>");
    }

    #[test]
    fn negative_offsets_are_before_the_stream() {
        let mut g = Rig::new();
        let o = g.seg(-2, b"xxab");
        assert!(o.retransmission);
        assert_eq!(g.text(), "ab");
    }

    #[test]
    fn snaplen_cut_out_of_order_stays_a_hole_until_acked() {
        let mut g = Rig::new();
        {
            let (r, mut o, mut b) = g.parts();
            r.segment(4, b"ef", 3, false, &mut o, &mut b);
        }
        g.seg(0, b"abcd");
        assert_eq!(g.text(), "abcdef");
        g.ack(9);
        assert_eq!(g.text(), "abcdef<gap 3>");
    }

    /// A deterministic shuffle of overlapping, duplicated segments always
    /// gives back the original stream, with no gap.
    #[test]
    fn random_segmentation_order_and_duplicates() {
        let stream: Vec<u8> = (0..500u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n.max(1)
        };
        for _ in 0..300 {
            let mut segs = Vec::new();
            let mut at = 0u64;
            while at < stream.len() as u64 {
                let len = 1 + rnd(40);
                let end = (at + len).min(stream.len() as u64);
                segs.push((at, end));
                // Sometimes an overlapping copy too.
                if rnd(3) == 0 {
                    let s = at.saturating_sub(rnd(10));
                    let e = (end + rnd(10)).min(stream.len() as u64);
                    segs.push((s, e));
                }
                at = end;
            }
            for i in (1..segs.len()).rev() {
                let j = rnd(i as u64 + 1) as usize;
                segs.swap(i, j);
            }
            let mut g = Rig::new();
            for (s, e) in segs {
                g.seg(s as i64, &stream[s as usize..e as usize]);
            }
            assert_eq!(g.log.1, stream);
            assert_eq!(g.an.gaps, 0);
            assert_eq!(g.an.overlap_conflicts, 0);
            assert_eq!(g.conn, 0);
        }
    }

    #[test]
    fn cap_flushes_with_gaps() {
        let mut g = Rig::new();
        g.max_conn = 4;
        g.seg(2, b"cd");
        g.seg(6, b"gh");
        assert_eq!(g.hits, 0);
        g.seg(10, b"kl");
        assert_eq!(g.hits, 1);
        assert_eq!(g.text(), "<gap 2>cd<gap 2>gh<gap 2>kl");
        assert_eq!(g.conn, 0);
    }
}
