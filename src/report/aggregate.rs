//! Folding connection records, as they come, into per-server records, the
//! summary and the findings.
//!
//! State is bounded: per server and per client-server pair accumulators
//! (counters, capped samples), never the records themselves.
//!
//! # Missed reuse and the minimum pool
//!
//! Per (client address, server) pair, from the connections that carried at
//! least one request:
//! - a connection is *busy* from a request's first byte to its response's
//!   last byte (to the close, or the connection's end, when unanswered);
//!   overlapping busy intervals of one connection (pipelining) merge;
//! - a connection is *idle and reusable* from the last byte of a complete
//!   response that let it persist until the next request's first byte, or,
//!   after the last exchange, until the first FIN/RST (or the end of the
//!   capture) when nothing was pending and no side asked to close. The time
//!   between the handshake and the first request does not count: a client
//!   dials a connection for a request it is about to send;
//! - `missed_reuse` counts connections whose SYN (start) fell inside another
//!   connection's idle and reusable interval;
//! - `min_pool` is the most connections busy at the same instant: a pool
//!   that always reuses an idle connection needs exactly that many (a lower
//!   bound: it ignores connect time and server-side caps).
//!
//! Records arrive in the order connections *end*, but the sweep over the
//! intervals must run in time order. The TCP layer numbers connections in
//! order of their first packet, so once every id below `n` has arrived, no
//! later record can start before the start of connection `n - 1` (less a
//! slack for timestamps that step back): everything before that watermark
//! is final and is swept, and only the events after it are kept. A
//! connection open for the whole capture holds the watermark back; the
//! number of waiting ids and of pending events per pair are then capped
//! ([`MAX_WATERMARK_PENDING`], [`MAX_PAIR_PENDING_EVENTS`]), the oldest
//! events are swept early, and a pair that later receives an event before
//! its swept point is marked `approximate`.

use super::build::timeout_mismatch;
use super::filter::ReportFilter;
use super::model::*;
use crate::tcp::hash::SeededFx;
use crate::time::Timestamp;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::IpAddr;

/// Samples kept per server for a median (idle closes, keepalive
/// estimates); min and max stay exact beyond it.
pub const MAX_SAMPLES: usize = 10_000;
/// Distinct values counted per server for the advertised timeout and the
/// request cap.
pub const MAX_DISTINCT_VALUES: usize = 64;
/// Clients listed per server record (most connections first).
pub const MAX_CLIENTS_LISTED: usize = 100;
/// Out-of-order ids remembered for the watermark before it is forced on.
pub const MAX_WATERMARK_PENDING: usize = 100_000;
/// Unswept interval events per client-server pair before the oldest are
/// swept early.
pub const MAX_PAIR_PENDING_EVENTS: usize = 65_536;
/// How far capture timestamps may step back between connections numbered
/// in order (multi-queue NICs).
pub const WATERMARK_SLACK_NS: i64 = 1_000_000_000;

/// Findings thresholds (see `docs/schema.md`, "Findings").
pub const MIN_IDLE_CLOSES: u64 = 1;
pub const REQUEST_CAP_MIN_CONNECTIONS: u64 = 2;
pub const REQUEST_CAP_MIN_SHARE: f64 = 0.8;
pub const TIME_WAIT_MIN_CONNECTIONS: u64 = 10;
pub const TIME_WAIT_MIN_SHARE: f64 = 0.5;
pub const MISSED_REUSE_MIN_EXCESS: u64 = 2;
/// Findings kept in the summary (the first by kind); the rest are counted
/// in `findings_omitted`.
pub const MAX_FINDINGS: usize = 1_000;
/// Missed-reuse findings written per server, one per client (the clients
/// with most connections); the rest are summed in one more sentence.
pub const MAX_PAIR_FINDINGS: usize = 5;

fn bump<K: Ord>(m: &mut BTreeMap<K, u64>, k: K) {
    *m.entry(k).or_insert(0) += 1;
}

/// The report's small enums, counted in [`Tally`] arrays.
trait Tallied: Copy + Ord + 'static {
    const ALL: &'static [Self];
    fn index(self) -> usize;
}

macro_rules! tallied {
    ($($t:ty),*) => {$(
        impl Tallied for $t {
            const ALL: &'static [Self] = &<$t>::ALL;
            fn index(self) -> usize {
                self as usize
            }
        }
    )*};
}
tallied!(Sides, CloseReason, Flag, Protocol);

/// Counts per value of a small enum. Every connection bumps several of
/// these twice (summary and server): an array index where a B-tree
/// lookup per bump was a tenth of the aggregator's time on short
/// connections. Read out as the map the report holds, with the values
/// seen (counted at least once) only, as a map of bumps would.
struct Tally<K> {
    n: [u64; 16],
    kind: std::marker::PhantomData<K>,
}

impl<K> Default for Tally<K> {
    fn default() -> Self {
        Tally {
            n: [0; 16],
            kind: std::marker::PhantomData,
        }
    }
}

impl<K: Tallied> Tally<K> {
    fn bump(&mut self, k: K) {
        // A variant missing from `ALL` would be counted and never read.
        debug_assert!(K::ALL.get(k.index()) == Some(&k));
        if let Some(c) = self.n.get_mut(k.index()) {
            *c += 1;
        }
    }
    fn to_map(&self) -> BTreeMap<K, u64> {
        K::ALL
            .iter()
            .filter_map(|&k| {
                let c = self.n.get(k.index()).copied().unwrap_or(0);
                (c > 0).then_some((k, c))
            })
            .collect()
    }
}

/// Counts a value unless the map already holds `MAX_DISTINCT_VALUES`
/// other ones.
fn bump_capped(m: &mut BTreeMap<u64, u64>, k: u64) {
    if m.len() < MAX_DISTINCT_VALUES || m.contains_key(&k) {
        bump(m, k);
    }
}

/// The most frequent key (the smallest on a tie).
fn mode(m: &BTreeMap<u64, u64>) -> Option<(u64, u64)> {
    m.iter()
        .fold(None, |best: Option<(u64, u64)>, (&k, &n)| match best {
            Some((_, bn)) if bn >= n => best,
            _ => Some((k, n)),
        })
}

/// min/max exact, median over the first `MAX_SAMPLES` values.
#[derive(Default)]
struct Samples {
    n: u64,
    min: f64,
    max: f64,
    kept: Vec<f64>,
}

impl Samples {
    fn add(&mut self, v: f64) {
        if self.n == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.n += 1;
        if self.kept.len() < MAX_SAMPLES {
            self.kept.push(v);
        }
    }
    fn stats(&mut self) -> Option<Stats> {
        let mut s = Stats::of(&mut self.kept)?;
        s.min = self.min;
        s.max = self.max;
        Some(s)
    }
}

#[derive(Default)]
struct KeepaliveAcc {
    connections: u64,
    probes: u64,
    unanswered: u64,
    first_after_idle: Samples,
    interval: Samples,
}

impl KeepaliveAcc {
    fn add(&mut self, k: &KeepaliveSide) {
        if k.probes == 0 {
            return;
        }
        self.connections += 1;
        self.probes = self.probes.saturating_add(k.probes);
        self.unanswered = self.unanswered.saturating_add(k.unanswered);
        if let Some(f) = k.first_after_idle_ms {
            self.first_after_idle.add(f);
        }
        if let Some(i) = k.interval_ms {
            self.interval.add(i.median);
        }
    }
    fn finish(&mut self) -> KeepaliveEstimate {
        KeepaliveEstimate {
            connections: self.connections,
            probes: self.probes,
            unanswered: self.unanswered,
            first_after_idle_ms: self.first_after_idle.stats(),
            interval_ms: self.interval.stats(),
        }
    }
}

/// Counters shared by a server record and the summary.
#[derive(Default)]
struct Counts {
    connections: u64,
    exchanges: u64,
    max_exchanges: u64,
    reused: u64,
    initiators: Tally<Sides>,
    reasons: Tally<CloseReason>,
    time_wait: Tally<Sides>,
    flags: Tally<Flag>,
    races: u64,
    lost: u64,
}

impl Counts {
    fn add(&mut self, d: Digest<'_>) {
        let ex = d.head.exchanges;
        self.connections += 1;
        self.exchanges = self.exchanges.saturating_add(ex);
        self.max_exchanges = self.max_exchanges.max(ex);
        if ex > 1 {
            self.reused += 1;
        }
        self.initiators.bump(d.head.close.initiator);
        self.reasons.bump(d.head.close.reason);
        self.time_wait.bump(d.head.close.time_wait);
        for f in d.flags() {
            self.flags.bump(*f);
        }
        if d.has_flag(Flag::KeepaliveRace) {
            self.races += 1;
        }
        self.lost = self.lost.saturating_add(d.head.lost_requests);
    }
    fn per_connection(&self) -> PerConnection {
        PerConnection {
            mean: ratio(self.exchanges, self.connections),
            max: self.max_exchanges,
        }
    }
    fn reuse_share(&self) -> f64 {
        ratio(self.reused, self.connections)
    }
}

/// N, when the server ended this connection with its own `Connection:
/// close` after N >= 2 exchanges (the client did not ask for the close).
fn server_close_count(rec: &ConnectionRecord) -> Option<u64> {
    let asked = matches!(
        rec.close.reason,
        CloseReason::ConnectionCloseRequested | CloseReason::MaxRequests
    ) && rec.close.requested_by == Sides::Server;
    let n = exchanges_of(rec);
    (asked && n >= 2).then_some(n)
}

fn exchanges_of(rec: &ConnectionRecord) -> u64 {
    let kept = rec.exchanges.as_ref().map_or(0, |e| e.len() as u64);
    rec.requests.max(kept)
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[derive(Default)]
struct ServerAcc {
    counts: Counts,
    idle: Samples,
    ka_responses: u64,
    ka_timeouts: BTreeMap<u64, u64>,
    ka_max: Option<u64>,
    /// Exchanges on connections the server asked to close, by count.
    server_closes: BTreeMap<u64, u64>,
    server_closes_total: u64,
    client_ka: KeepaliveAcc,
    server_ka: KeepaliveAcc,
    dead_peers: u64,
}

impl ServerAcc {
    fn add(&mut self, d: Digest<'_>) {
        self.counts.add(d);
        let (h, close) = (d.head, &d.head.close);
        let ex = h.exchanges;
        // A keep-alive race that began with the server's FIN is an idle
        // timeout too: the request only crossed it on the wire.
        let idle_close = close.reason == CloseReason::ServerIdleTimeout
            || (close.reason == CloseReason::KeepaliveRace
                && close.initiator == Sides::Server
                && close.by == CloseBy::Fin);
        if idle_close && ex > 0 {
            if let Some(idle) = close.idle_before_ms {
                self.idle.add(idle);
            }
        }
        self.ka_responses += h.ka_responses;
        for &t in d.timeouts() {
            bump_capped(&mut self.ka_timeouts, t);
        }
        if let Some(m) = h.ka_max {
            self.ka_max = Some(self.ka_max.map_or(m, |x| x.max(m)));
        }
        let server_asked = close.reason == CloseReason::MaxRequests
            || (close.reason == CloseReason::ConnectionCloseRequested
                && close.requested_by == Sides::Server);
        if server_asked && ex > 0 {
            self.server_closes_total += 1;
            bump_capped(&mut self.server_closes, ex);
        }
        self.client_ka.add(&h.tcp_keepalive.client);
        self.server_ka.add(&h.tcp_keepalive.server);
        if close.reason == CloseReason::DeadPeer {
            self.dead_peers += 1;
        }
    }
}

// Sweep event kinds, in the order they apply at one instant: an interval
// ending at t does not overlap one starting at t, and a connection opened at
// the instant another went idle or was reused did not miss it.
const IDLE_END: u8 = 0;
const BUSY_END: u8 = 1;
const OPEN: u8 = 2;
const BUSY_START: u8 = 3;
const IDLE_START: u8 = 4;

/// An event as one integer ordered as `(t, kind)`: the heap compares one
/// word instead of calling the tuple comparison.
fn event_key(t: i64, kind: u8) -> i128 {
    ((t as i128) << 8) | kind as i128
}

fn event_of(key: i128) -> (i64, u8) {
    ((key >> 8) as i64, (key & 0xff) as u8)
}

/// A pair's pending events, taken earliest first. Most arrive in time
/// order (connections end about in the order they start): those go to
/// the back of a queue, touching one cache line; the others to a heap.
/// Thousands of pairs each hold up to a second of events, more than the
/// cache: sifting through a heap for every event was most of the
/// aggregator's time.
///
/// The two ends of the queue are also kept inline, beside the pair's
/// counters: the queue's buffer is cold by the time the pair's next
/// connection ends, and reading its back for every push and its front for
/// every sweep missed the cache twice per connection.
#[derive(Default)]
struct Pending {
    ordered: VecDeque<i128>,
    /// `ordered`'s first and last keys, when it is not empty.
    front: i128,
    back: i128,
    late: BinaryHeap<Reverse<i128>>,
}

impl Pending {
    fn push(&mut self, key: i128) {
        if self.ordered.is_empty() {
            self.front = key;
            self.back = key;
            self.ordered.push_back(key);
        } else if key >= self.back {
            self.back = key;
            self.ordered.push_back(key);
        } else {
            self.late.push(Reverse(key));
        }
    }

    fn front(&self) -> Option<i128> {
        (!self.ordered.is_empty()).then_some(self.front)
    }

    fn peek(&self) -> Option<i128> {
        match (self.front(), self.late.peek()) {
            (Some(a), Some(&Reverse(b))) => Some(a.min(b)),
            (a, b) => a.or(b.map(|r| r.0)),
        }
    }

    fn pop(&mut self) -> Option<i128> {
        let key = self.peek()?;
        if self.front() == Some(key) {
            self.ordered.pop_front();
            if let Some(&next) = self.ordered.front() {
                self.front = next;
            }
        } else {
            self.late.pop();
        }
        Some(key)
    }

    fn len(&self) -> usize {
        self.ordered.len() + self.late.len()
    }

    /// Every key, in order, emptying it: the late ones sorted at once
    /// rather than popped from the heap one at a time.
    fn drain_sorted(&mut self) -> impl Iterator<Item = i128> {
        let mut late = std::mem::take(&mut self.late).into_vec();
        late.sort_unstable_by_key(|&Reverse(k)| k);
        let mut ordered = std::mem::take(&mut self.ordered).into_iter().peekable();
        let mut late = late.into_iter().map(|Reverse(k)| k).peekable();
        std::iter::from_fn(move || match (ordered.peek(), late.peek()) {
            (Some(a), Some(b)) if b < a => late.next(),
            (Some(_), _) => ordered.next(),
            (None, _) => late.next(),
        })
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Default)]
struct PairAcc {
    connections: u64,
    http_connections: u64,
    client_closed: u64,
    missed_reuse: u64,
    max_busy: u64,
    busy: u64,
    idle: u64,
    /// Events before this time have been swept.
    swept_to: Option<i64>,
    /// Pending events as [`event_key`]s.
    events: Pending,
    approximate: bool,
}

impl PairAcc {
    fn push(&mut self, t: Timestamp, kind: u8) {
        let mut t = t.nanos();
        if let Some(s) = self.swept_to.filter(|&s| t < s) {
            // Came after its time was swept: clip, and say so.
            self.approximate = true;
            t = s;
        }
        self.events.push(event_key(t, kind));
    }

    fn add(&mut self, d: Digest<'_>) {
        self.connections += 1;
        let (h, close) = (d.head, &d.head.close);
        if !h.http {
            return;
        }
        self.http_connections += 1;
        if matches!(
            close.reason,
            CloseReason::ClientClosedAfterResponse | CloseReason::ConnectionCloseRequested
        ) && close.initiator == Sides::Client
            || close.requested_by == Sides::Client
        {
            self.client_closed += 1;
        }
        self.push(h.start, OPEN);
        for sp in d.spans() {
            self.interval(sp.s, sp.e, sp.start, sp.end);
        }
    }

    /// Pushes `[s, e)` as two events. An interval that ended before the
    /// swept point is dropped whole (clipping both ends to one instant
    /// would apply its end before its start and leave it open forever).
    fn interval(&mut self, s: Timestamp, e: Timestamp, start: u8, end: u8) {
        if s >= e {
            return;
        }
        if self.swept_to.is_some_and(|swept| e.nanos() <= swept) {
            self.approximate = true;
            return;
        }
        self.push(s, start);
        self.push(e, end);
    }

    /// Applies every event before `upto`.
    fn sweep(&mut self, upto: i64) {
        while let Some(key) = self.events.peek() {
            let (t, kind) = event_of(key);
            if t >= upto {
                break;
            }
            self.events.pop();
            self.apply(t, kind);
        }
    }

    fn apply(&mut self, t: i64, kind: u8) {
        self.swept_to = Some(self.swept_to.map_or(t, |s| s.max(t)));
        match kind {
            IDLE_END => self.idle = self.idle.saturating_sub(1),
            BUSY_END => self.busy = self.busy.saturating_sub(1),
            OPEN => {
                if self.idle > 0 {
                    self.missed_reuse += 1;
                }
            }
            BUSY_START => {
                self.busy += 1;
                self.max_busy = self.max_busy.max(self.busy);
            }
            _ => self.idle += 1,
        }
    }

    /// Applies every event left, at the end.
    fn sweep_all(&mut self) {
        let mut events = std::mem::take(&mut self.events);
        for key in events.drain_sorted() {
            let (t, kind) = event_of(key);
            self.apply(t, kind);
        }
    }

    /// Bounds the pending events: sweeps the oldest half early.
    fn bound(&mut self) {
        if self.events.len() > MAX_PAIR_PENDING_EVENTS {
            while self.events.len() > MAX_PAIR_PENDING_EVENTS / 2 {
                let Some(key) = self.events.pop() else {
                    break;
                };
                let (t, kind) = event_of(key);
                self.apply(t, kind);
            }
        }
    }
}

/// The connection may be reused after this exchange: a complete response
/// that let it persist.
fn reusable_after(e: &ExchangeRecord) -> bool {
    e.status.is_some() && !e.response_incomplete && e.persistent && e.response_last.is_some()
}

/// One interval of a record for the pair sweep: `[s, e)`, with the event
/// kinds of its two ends.
#[derive(Clone, Copy)]
struct Span {
    s: Timestamp,
    e: Timestamp,
    start: u8,
    end: u8,
}

/// The part of a record the aggregator reads, without its heap parts.
#[derive(Clone)]
struct Head {
    id: u64,
    start: Timestamp,
    server: EndpointRecord,
    client: IpAddr,
    /// What the filter said.
    kept: bool,
    server_close_count: Option<u64>,
    exchanges: u64,
    close: CloseRecord,
    tcp_keepalive: TcpKeepaliveRecord,
    protocol: Protocol,
    lost_requests: u64,
    gaps: u64,
    gap_bytes: u64,
    /// Some exchange carried a request.
    http: bool,
    /// Exchanges whose response advertised `Keep-Alive` parameters.
    ka_responses: u64,
    ka_max: Option<u64>,
    flags: std::ops::Range<usize>,
    /// The advertised timeouts, one per exchange that had one, in order.
    timeouts: std::ops::Range<usize>,
    spans: std::ops::Range<usize>,
}

/// What the aggregator reads of records, one after the other, in flat
/// buffers. A `--threads` worker digests each record it builds and drops
/// the record on its own thread: the merge folds the digest in, and never
/// touches, nor frees, memory allocated on another core. The
/// single-threaded path digests each record too, into one reused buffer,
/// so both fold exactly the same thing.
#[derive(Default)]
pub(crate) struct Digests {
    heads: Vec<Head>,
    flags: Vec<Flag>,
    timeouts: Vec<u64>,
    spans: Vec<Span>,
}

impl Digests {
    pub(crate) fn clear(&mut self) {
        self.heads.clear();
        self.flags.clear();
        self.timeouts.clear();
        self.spans.clear();
    }

    /// Digests `rec`, with `filter`'s verdict on it; returns its index.
    pub(crate) fn push(&mut self, rec: &ConnectionRecord, filter: &ReportFilter) -> usize {
        let exchanges = rec.exchanges.as_deref().unwrap_or(&[]);
        let flags = self.flags.len()..self.flags.len() + rec.flags.len();
        self.flags.extend_from_slice(&rec.flags);
        let t0 = self.timeouts.len();
        let (mut ka_responses, mut ka_max) = (0, None::<u64>);
        for e in exchanges {
            if e.keep_alive.timeout.is_some() || e.keep_alive.max.is_some() {
                ka_responses += 1;
            }
            if let Some(t) = e.keep_alive.timeout {
                self.timeouts.push(t);
            }
            if let Some(m) = e.keep_alive.max {
                ka_max = Some(ka_max.map_or(m, |x| x.max(m)));
            }
        }
        let timeouts = t0..self.timeouts.len();
        let s0 = self.spans.len();
        let http = exchanges.iter().any(|e| e.request_first.is_some());
        if http {
            self.push_spans(rec, exchanges);
        }
        let spans = s0..self.spans.len();
        self.heads.push(Head {
            id: rec.id,
            start: rec.start,
            server: rec.server.clone(),
            client: rec.client.ip,
            kept: filter.keep(rec),
            server_close_count: server_close_count(rec),
            exchanges: exchanges_of(rec),
            close: rec.close.clone(),
            tcp_keepalive: rec.tcp_keepalive.clone(),
            protocol: rec.protocol,
            lost_requests: rec.lost_requests,
            gaps: rec.anomalies.gaps,
            gap_bytes: rec.anomalies.gap_bytes,
            http,
            ka_responses,
            ka_max,
            flags,
            timeouts,
            spans,
        });
        self.heads.len() - 1
    }

    /// The busy intervals (merged per connection), then the idle and
    /// reusable ones.
    fn push_spans(&mut self, rec: &ConnectionRecord, exchanges: &[ExchangeRecord]) {
        let close = rec.close.at.unwrap_or(rec.end);
        let mut span = |s, e, start, end| self.spans.push(Span { s, e, start, end });
        let mut cur: Option<(Timestamp, Timestamp)> = None;
        for e in exchanges {
            let Some(s) = e.request_first else { continue };
            let end = e.response_last.unwrap_or(close.max(s)).max(s);
            cur = match cur {
                Some((cs, ce)) if s <= ce => Some((cs, ce.max(end))),
                Some((cs, ce)) => {
                    span(cs, ce, BUSY_START, BUSY_END);
                    Some((s, end))
                }
                None => Some((s, end)),
            };
        }
        if let Some((cs, ce)) = cur {
            span(cs, ce, BUSY_START, BUSY_END);
        }
        for w in exchanges.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if let (true, true, Some(done), Some(next)) = (
                reusable_after(a),
                !b.pipelined,
                a.response_last,
                b.request_first,
            ) {
                span(done, next, IDLE_START, IDLE_END);
            }
        }
        if let Some(last) = exchanges.last() {
            if reusable_after(last)
                && rec.close.requested_by == Sides::None
                && rec.unanswered_requests == 0
            {
                if let Some(done) = last.response_last {
                    span(done, close, IDLE_START, IDLE_END);
                }
            }
        }
    }

    /// Gives digest `i` its final id (the merge renumbers).
    pub(crate) fn set_id(&mut self, i: usize, id: u64) {
        if let Some(h) = self.heads.get_mut(i) {
            h.id = id;
        }
    }
}

/// One digest and the buffers its ranges index.
#[derive(Clone, Copy)]
struct Digest<'a> {
    head: &'a Head,
    all: &'a Digests,
}

impl<'a> Digest<'a> {
    fn flags(self) -> &'a [Flag] {
        self.all
            .flags
            .get(self.head.flags.clone())
            .unwrap_or_default()
    }
    fn has_flag(self, f: Flag) -> bool {
        self.flags().contains(&f)
    }
    fn timeouts(self) -> &'a [u64] {
        self.all
            .timeouts
            .get(self.head.timeouts.clone())
            .unwrap_or_default()
    }
    fn spans(self) -> &'a [Span] {
        self.all
            .spans
            .get(self.head.spans.clone())
            .unwrap_or_default()
    }
}

/// Which connection starts are final (see the module docs).
struct Watermark {
    /// Every id below this has arrived.
    next: u64,
    pending: BTreeMap<u64, Timestamp>,
    /// Latest start among the ids below `next`.
    low: Option<Timestamp>,
}

impl Default for Watermark {
    fn default() -> Self {
        Watermark {
            next: 1,
            pending: BTreeMap::new(),
            low: None,
        }
    }
}

impl Watermark {
    fn see(&mut self, id: u64, start: Timestamp) {
        if id < self.next {
            return;
        }
        if id == self.next {
            // The common case, the id the watermark waits for: no trip
            // through the map.
            self.low = Some(self.low.map_or(start, |l| l.max(start)));
            self.next = self.next.saturating_add(1);
        } else {
            self.pending.insert(id, start);
        }
        if self.pending.len() > MAX_WATERMARK_PENDING {
            // Give up on the oldest missing ids.
            if let Some((&first, _)) = self.pending.first_key_value() {
                self.next = first;
            }
        }
        while let Some(s) = self.pending.remove(&self.next) {
            self.low = Some(self.low.map_or(s, |l| l.max(s)));
            self.next = self.next.saturating_add(1);
        }
    }

    /// No record still to come has an event before this time.
    fn frontier(&self) -> i64 {
        self.low
            .map_or(i64::MIN, |l| l.nanos().saturating_sub(WATERMARK_SLACK_NS))
    }
}

/// Folds connection records (or their digests), as they are produced,
/// into per-server records and the summary. Keeps per-server and per-pair
/// state only, never the records.
#[derive(Default)]
pub struct Aggregator {
    filter: ReportFilter,
    watermark: Watermark,
    servers: BTreeMap<EndpointRecord, ServerAcc>,
    /// Hashed, not ordered: thousands of pairs are looked up once per
    /// connection, and a B-tree walk missed the cache on every level.
    /// [`Aggregator::finish`] sorts them.
    pairs: HashMap<(EndpointRecord, IpAddr), PairAcc, SeededFx>,
    counts: Counts,
    protocols: Tally<Protocol>,
    loss: CaptureLossSummary,
    filtered_out: u64,
    /// Per server, connections it closed with its own `Connection: close`,
    /// by their number of exchanges (all records, filtered or not, so a
    /// filter never changes a reason): the memory behind [`Aggregator::refine`].
    close_counts: BTreeMap<EndpointRecord, BTreeMap<u64, u64>>,
    /// The digest of the record being added.
    one: Digests,
}

impl Aggregator {
    /// An aggregator that keeps only the records `filter` keeps.
    pub fn with_filter(filter: ReportFilter) -> Self {
        Aggregator {
            filter,
            ..Aggregator::default()
        }
    }

    /// Folds in one record; returns whether the filter kept it (the caller
    /// writes only kept records). Every finished connection must be passed
    /// here, kept or not: the missed-reuse sweep relies on seeing every id.
    /// The second half of the `max_requests` rule, which needs earlier
    /// connections: a connection the server ended with its own
    /// `Connection: close` after N >= 2 exchanges is `max_requests` when an
    /// earlier connection to the same server ended the same way after the
    /// same N (nginx's `keepalive_requests` sends no `Keep-Alive: max`, so
    /// a recurring N is the only trace of the cap). The first such
    /// connection keeps `connection_close_requested`: records are written
    /// as connections end, so nothing is revised afterwards. Call before
    /// [`Aggregator::add`].
    pub fn refine(&self, rec: &mut ConnectionRecord) {
        if self.recurring_close_count(&rec.server, server_close_count(rec)) {
            rec.close.reason = CloseReason::MaxRequests;
        }
    }

    /// [`Aggregator::refine`] of a digested record, before
    /// [`Aggregator::add_digest`]: whether it changed the reason.
    pub(crate) fn refine_digest(&self, all: &mut Digests, i: usize) -> bool {
        let Some(head) = all.heads.get_mut(i) else {
            return false;
        };
        let refined = self.recurring_close_count(&head.server, head.server_close_count)
            && head.close.reason != CloseReason::MaxRequests;
        if refined {
            head.close.reason = CloseReason::MaxRequests;
        }
        refined
    }

    /// Whether an earlier connection to `server` ended after the server's
    /// own close after `n` exchanges too.
    fn recurring_close_count(&self, server: &EndpointRecord, n: Option<u64>) -> bool {
        n.and_then(|n| self.close_counts.get(server)?.get(&n).copied())
            .is_some_and(|seen| seen > 0)
    }

    /// Whether [`Aggregator::refine`] may change `rec`.
    pub(crate) fn may_refine(rec: &ConnectionRecord) -> bool {
        server_close_count(rec).is_some()
    }

    /// Whether the filter keeps `rec`, without folding it in (for interim
    /// records, which the aggregator never sees).
    pub fn keeps(&self, rec: &ConnectionRecord) -> bool {
        self.filter.keep(rec)
    }

    pub fn add(&mut self, rec: &ConnectionRecord) -> bool {
        let mut one = std::mem::take(&mut self.one);
        one.clear();
        let i = one.push(rec, &self.filter);
        let kept = self.add_digest(&one, i);
        self.one = one;
        kept
    }

    /// [`Aggregator::add`] of a record digested by [`Digests::push`] with
    /// this aggregator's filter.
    pub(crate) fn add_digest(&mut self, all: &Digests, i: usize) -> bool {
        let Some(head) = all.heads.get(i) else {
            return false;
        };
        let d = Digest { head, all };
        self.watermark.see(head.id, head.start);
        if let Some(n) = head.server_close_count {
            let m = self.close_counts.entry(head.server.clone()).or_default();
            bump_capped(m, n);
        }
        if !head.kept {
            self.filtered_out += 1;
            return false;
        }
        self.counts.add(d);
        self.protocols.bump(head.protocol);
        if d.has_flag(Flag::CaptureLoss) {
            self.loss.connections += 1;
            self.loss.gaps = self.loss.gaps.saturating_add(head.gaps);
            self.loss.gap_bytes = self.loss.gap_bytes.saturating_add(head.gap_bytes);
        }
        self.servers.entry(head.server.clone()).or_default().add(d);
        let frontier = self.watermark.frontier();
        let pair = self
            .pairs
            .entry((head.server.clone(), head.client))
            .or_default();
        pair.add(d);
        pair.sweep(frontier);
        pair.bound();
        true
    }

    pub fn finish(self) -> (Vec<ServerRecord>, Summary) {
        let mut pairs: Vec<((EndpointRecord, IpAddr), PairAcc)> = self.pairs.into_iter().collect();
        pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut pairs = pairs.into_iter().peekable();
        let mut servers = Vec::with_capacity(self.servers.len());
        let mut findings = Vec::new();
        let mut missed_total = 0u64;
        for (endpoint, mut acc) in self.servers {
            // Every pair's server is in `servers` (both are filled from
            // the same records), so the sorted pairs line up with it.
            let mut clients: Vec<ClientReuse> =
                std::iter::from_fn(|| pairs.next_if(|((s, _), _)| *s == endpoint))
                    .map(|((_, client), mut p)| {
                        p.sweep_all();
                        ClientReuse {
                            client,
                            connections: p.connections,
                            http_connections: p.http_connections,
                            client_closed: p.client_closed,
                            missed_reuse: p.missed_reuse,
                            min_pool: p.max_busy,
                            approximate: p.approximate,
                        }
                    })
                    .collect();
            clients.sort_by(|a, b| {
                b.connections
                    .cmp(&a.connections)
                    .then(a.client.cmp(&b.client))
            });
            let missed_reuse = clients.iter().map(|c| c.missed_reuse).sum();
            missed_total += missed_reuse;
            let connections_needed = clients.iter().map(|c| c.min_pool).sum();
            let idle_timeout = acc.idle.stats().map(|s| IdleTimeoutRecord {
                closes: acc.idle.n,
                idle_before_ms: s,
                inferred_ms: s.median,
            });
            let advertised = AdvertisedKeepAlive {
                responses: acc.ka_responses,
                timeout: mode(&acc.ka_timeouts).map(|(t, _)| t),
                max: acc.ka_max,
            };
            let declared_timeout_mismatch = match (&idle_timeout, advertised.timeout) {
                (Some(it), Some(t)) => {
                    it.closes >= MIN_IDLE_CLOSES && timeout_mismatch(it.inferred_ms, t)
                }
                _ => false,
            };
            // N = 1 is keep-alive switched off, not a request cap.
            let capped: BTreeMap<u64, u64> = acc
                .server_closes
                .range(2..)
                .map(|(&n, &c)| (n, c))
                .collect();
            let request_cap = mode(&capped).and_then(|(n, c)| {
                (c >= REQUEST_CAP_MIN_CONNECTIONS
                    && c as f64 >= REQUEST_CAP_MIN_SHARE * acc.server_closes_total as f64)
                    .then_some(RequestCapRecord {
                        requests: n,
                        connections: c,
                        of: acc.server_closes_total,
                    })
            });
            let clients_omitted = clients.len().saturating_sub(MAX_CLIENTS_LISTED) as u64;
            let rec = ServerRecord {
                server: endpoint,
                connections: acc.counts.connections,
                exchanges: acc.counts.exchanges,
                exchanges_per_connection: acc.counts.per_connection(),
                reused_connections: acc.counts.reused,
                reuse_share: acc.counts.reuse_share(),
                close_initiators: acc.counts.initiators.to_map(),
                close_reasons: acc.counts.reasons.to_map(),
                time_wait: acc.counts.time_wait.to_map(),
                flags: acc.counts.flags.to_map(),
                idle_timeout,
                advertised_keep_alive: advertised,
                declared_timeout_mismatch,
                request_cap,
                keepalive_races: acc.counts.races,
                lost_requests: acc.counts.lost,
                tcp_keepalive: KeepaliveEstimates {
                    client: acc.client_ka.finish(),
                    server: acc.server_ka.finish(),
                    dead_peers: acc.dead_peers,
                },
                missed_reuse,
                connections_needed,
                clients,
                clients_omitted,
            };
            server_findings(&rec, &mut findings);
            let mut rec = rec;
            rec.clients.truncate(MAX_CLIENTS_LISTED);
            servers.push(rec);
        }
        let c = &self.counts;
        let mut summary = Summary {
            connections: c.connections,
            exchanges: c.exchanges,
            exchanges_per_connection: c.per_connection(),
            reused_connections: c.reused,
            reuse_share: c.reuse_share(),
            close_initiators: c.initiators.to_map(),
            close_reasons: c.reasons.to_map(),
            time_wait: c.time_wait.to_map(),
            flags: c.flags.to_map(),
            keepalive_races: c.races,
            lost_requests: c.lost,
            missed_reuse: missed_total,
            protocols: self.protocols.to_map(),
            capture_loss: self.loss,
            filtered_out: self.filtered_out,
            findings: Vec::new(),
            findings_omitted: 0,
        };
        summary_findings(&summary, &mut findings);
        findings.sort_by_key(|f| f.kind);
        summary.findings_omitted = findings.len().saturating_sub(MAX_FINDINGS) as u64;
        findings.truncate(MAX_FINDINGS);
        summary.findings = findings;
        (servers, summary)
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Seconds with one decimal.
fn secs(ms: f64) -> String {
    format!("{:.1} s", ms / 1000.0)
}

fn server_findings(s: &ServerRecord, out: &mut Vec<Finding>) {
    let srv = s.server.to_string();
    let mut push = |kind: FindingKind, client: Option<IpAddr>, message: String| {
        out.push(Finding {
            kind,
            server: Some(s.server.clone()),
            client,
            message,
        })
    };
    if let Some(it) = s
        .idle_timeout
        .as_ref()
        .filter(|it| it.closes >= MIN_IDLE_CLOSES)
    {
        let observed = format!(
            "{srv} closes idle connections after {} ({} close{}, {:.2} to {:.2} s)",
            secs(it.inferred_ms),
            it.closes,
            if it.closes == 1 { "" } else { "s" },
            it.idle_before_ms.min / 1000.0,
            it.idle_before_ms.max / 1000.0
        );
        match s.advertised_keep_alive.timeout {
            Some(t) if s.declared_timeout_mismatch && it.inferred_ms < t as f64 * 1000.0 => push(
                FindingKind::DeclaredTimeoutMismatch,
                None,
                format!("{observed} but advertises timeout={t}: clients that trust the header will race it"),
            ),
            Some(t) if s.declared_timeout_mismatch => push(
                FindingKind::DeclaredTimeoutMismatch,
                None,
                format!("{observed} but advertises timeout={t}: clients that trust the header give up connections it would keep"),
            ),
            _ => push(
                FindingKind::IdleTimeout,
                None,
                format!("{observed}: keep client idle pool timeouts below that"),
            ),
        }
    }
    if s.keepalive_races > 0 {
        let (n, what) = if s.lost_requests > 0 {
            (s.lost_requests, "requests")
        } else {
            (s.keepalive_races, "connections")
        };
        let what = if n == 1 {
            &what[..what.len() - 1]
        } else {
            what
        };
        let advice = match &s.idle_timeout {
            Some(it) => format!(
                "the client's idle pool timeout is longer than the server's {}; keep it below",
                secs(it.inferred_ms)
            ),
            None => "the server closed connections the client was about to reuse; make the client's idle pool timeout shorter than the server's, or retry idempotent requests on a new connection".to_string(),
        };
        push(
            FindingKind::KeepaliveRace,
            None,
            format!("{n} {what} to {srv} hit a closing connection (keep-alive race): {advice}"),
        );
    }
    let churning: Vec<&ClientReuse> = s
        .clients
        .iter()
        .filter(|c| {
            // Churn the client chose: it opened connections while idle ones
            // were there, or closed them itself. Connections the server
            // closed had to be redialled; that is no missed reuse.
            c.min_pool > 0
                && c.http_connections.saturating_sub(c.min_pool) >= MISSED_REUSE_MIN_EXCESS
                && c.http_connections >= c.min_pool.saturating_mul(2)
                && (c.missed_reuse > 0 || c.client_closed >= MISSED_REUSE_MIN_EXCESS)
        })
        .collect();
    for c in churning.iter().take(MAX_PAIR_FINDINGS) {
        {
            let mut m = format!(
                "client {} opened {} connections to {srv} where {} would have served",
                c.client, c.http_connections, c.min_pool
            );
            if c.missed_reuse > 0 {
                let _ = write!(
                    m,
                    " ({} opened while an idle one was available)",
                    c.missed_reuse
                );
            }
            m.push_str(": responses not read to the end, or pool size");
            if c.approximate {
                m.push_str(" (approximate)");
            }
            push(FindingKind::MissedReuse, Some(c.client), m);
        }
    }
    if churning.len() > MAX_PAIR_FINDINGS {
        let rest = &churning[MAX_PAIR_FINDINGS..];
        let excess: u64 = rest
            .iter()
            .map(|c| c.http_connections.saturating_sub(c.min_pool))
            .sum();
        push(
            FindingKind::MissedReuse,
            None,
            format!(
                "{} more clients opened {excess} more connections to {srv} than they needed (see servers[].clients)",
                rest.len()
            ),
        );
    }
    let tw_server = s
        .time_wait
        .iter()
        .filter(|(k, _)| k.has_server())
        .map(|(_, n)| n)
        .sum::<u64>();
    if s.connections >= TIME_WAIT_MIN_CONNECTIONS
        && tw_server as f64 >= TIME_WAIT_MIN_SHARE * s.connections as f64
    {
        push(
            FindingKind::TimeWait,
            None,
            format!(
                "server {srv} holds TIME_WAIT for {:.0}% of its connections: it closes first; a server idle timeout longer than the clients' moves TIME_WAIT to them",
                100.0 * tw_server as f64 / s.connections as f64
            ),
        );
    }
    let tw_client = s
        .time_wait
        .iter()
        .filter(|(k, _)| matches!(k, Sides::Client | Sides::Both))
        .map(|(_, n)| n)
        .sum::<u64>();
    if s.connections >= TIME_WAIT_MIN_CONNECTIONS
        && tw_client as f64 >= TIME_WAIT_MIN_SHARE * s.connections as f64
        && s.reuse_share < 1.0 - TIME_WAIT_MIN_SHARE
    {
        // Clients closing first is healthy on long-lived connections; it
        // only matters when they churn (few exchanges per connection).
        push(
            FindingKind::TimeWait,
            None,
            format!(
                "clients of {srv} hold TIME_WAIT for {:.0}% of their connections ({tw_client}) while reusing only {:.0}%: at high connection rates this exhausts ephemeral ports; keep connections open and reuse them",
                100.0 * tw_client as f64 / s.connections as f64,
                100.0 * s.reuse_share
            ),
        );
    }
    if let Some(cap) = &s.request_cap {
        let adv = s
            .advertised_keep_alive
            .max
            .map(|m| format!(", advertises max={m}"))
            .unwrap_or_default();
        push(
            FindingKind::RequestCap,
            None,
            format!(
                "{srv} closes connections after {} requests ({} of {} closes it asked for{adv}): raise its per-connection request limit if reconnecting costs",
                cap.requests, cap.connections, cap.of
            ),
        );
    }
    let ka = &s.tcp_keepalive;
    if ka.dead_peers > 0 {
        push(
            FindingKind::DeadPeer,
            None,
            format!(
                "{} to {srv} ended after unanswered TCP keepalive probes (dead peer)",
                plural(ka.dead_peers, "connection")
            ),
        );
    }
    for (side, est) in [("client", &ka.client), ("server", &ka.server)] {
        if est.connections == 0 {
            continue;
        }
        let mut m = format!(
            "{side} TCP keepalive probes on {} to {srv}",
            plural(est.connections, "connection")
        );
        if let Some(f) = est.first_after_idle_ms {
            let _ = write!(m, ", first after {} idle", secs(f.median));
        }
        if let Some(i) = est.interval_ms {
            let _ = write!(m, ", every {}", secs(i.median));
        }
        m.push_str(": probes carry no data and do not reset HTTP or load-balancer idle timers");
        push(FindingKind::TcpKeepalive, None, m);
    }
}

fn summary_findings(s: &Summary, out: &mut Vec<Finding>) {
    let mut push = |kind: FindingKind, message: String| {
        out.push(Finding {
            kind,
            server: None,
            client: None,
            message,
        })
    };
    if let Some(&n) = s.flags.get(&Flag::ReuseAfterClose) {
        push(
            FindingKind::ReuseAfterClose,
            format!("{} carried a request after a response that said Connection: close: the client ignores close", plural(n, "connection")),
        );
    }
    if let Some(&n) = s.flags.get(&Flag::PrematureClose) {
        push(
            FindingKind::PrematureClose,
            format!("{} closed by the server without an idle period after it promised to keep them open (premature close)", plural(n, "connection")),
        );
    }
    if s.capture_loss.connections > 0 {
        push(
            FindingKind::CaptureLoss,
            format!(
                "the capture lost {} bytes in {} ({}): results for those are less certain; capture with a larger buffer",
                s.capture_loss.gap_bytes,
                plural(s.capture_loss.connections, "connection"),
                plural(s.capture_loss.gaps, "gap")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::build_connection;

    /// Connection `id` from 10.0.0.1 to 10.0.0.2:80: one exchange at
    /// `start`, closed by the client at `close`.
    fn rec(id: u64, start_ms: i64, close_ms: i64) -> ConnectionRecord {
        let (tcp, http) = crate::report::build::sample_facts(id, start_ms, close_ms);
        build_connection(&tcp, &http)
    }

    #[test]
    fn tallies_read_out_as_maps_of_the_values_seen() {
        fn in_order<K: Tallied + std::fmt::Debug>() {
            assert!(K::ALL.len() <= 16);
            for (i, k) in K::ALL.iter().enumerate() {
                assert_eq!(k.index(), i, "{k:?}");
            }
            assert!(K::ALL.windows(2).all(|w| w[0] < w[1]));
        }
        in_order::<Sides>();
        in_order::<CloseReason>();
        in_order::<Flag>();
        in_order::<Protocol>();
        let mut t = Tally::<CloseReason>::default();
        assert!(t.to_map().is_empty());
        for r in [
            CloseReason::Unknown,
            CloseReason::DeadPeer,
            CloseReason::Unknown,
        ] {
            t.bump(r);
        }
        let want = BTreeMap::from([(CloseReason::DeadPeer, 1), (CloseReason::Unknown, 2)]);
        assert_eq!(t.to_map(), want);
    }

    #[test]
    fn clients_are_listed_under_their_own_server_whatever_the_order_of_arrival() {
        // Client c of server s connects three times, twice when c + s is
        // even; servers and clients interleaved, so the hashed pairs are
        // not stored in the order they are listed.
        let twice = |c: u8, s: u8| (c + s) % 2 == 0;
        let mut agg = Aggregator::default();
        let mut id = 0;
        for round in 0..3 {
            for server in [9u8, 3, 6] {
                for client in [7u8, 1, 4, 200] {
                    if round == 0 && twice(client, server) {
                        continue;
                    }
                    id += 1;
                    let s = id as i64 * 10;
                    let mut r = rec(id, s, s + 5);
                    r.server.ip = IpAddr::from([10, 0, 1, server]);
                    r.client.ip = IpAddr::from([10, 0, 2, client]);
                    agg.add(&r);
                }
            }
        }
        let (servers, summary) = agg.finish();
        assert_eq!(summary.connections, id);
        let names: Vec<String> = servers.iter().map(|s| s.server.ip.to_string()).collect();
        assert_eq!(names, ["10.0.1.3", "10.0.1.6", "10.0.1.9"]);
        for s in &servers {
            let IpAddr::V4(sip) = s.server.ip else {
                unreachable!()
            };
            let server = sip.octets()[3];
            let mut want: Vec<(u64, IpAddr)> = [7u8, 1, 4, 200]
                .into_iter()
                .map(|c| {
                    let n = if twice(c, server) { 2 } else { 3 };
                    (n, IpAddr::from([10, 0, 2, c]))
                })
                .collect();
            // Most connections first, then by address.
            want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let got: Vec<(u64, IpAddr)> = s
                .clients
                .iter()
                .map(|c| (c.connections, c.client))
                .collect();
            assert_eq!(got, want, "{}", s.server);
        }
    }

    fn pending(agg: &Aggregator) -> usize {
        agg.pairs.values().map(|p| p.events.len()).sum()
    }

    #[test]
    fn watermark_sweeps_as_records_arrive_in_order() {
        let mut agg = Aggregator::default();
        for id in 1..=20_000u64 {
            let s = id as i64 * 10_000;
            agg.add(&rec(id, s, s + 5));
        }
        // Only the events within the slack of the latest start remain.
        assert!(pending(&agg) < 1_000, "{}", pending(&agg));
        assert!(agg.watermark.pending.is_empty());
        let (servers, _) = agg.finish();
        let c = &servers[0].clients[0];
        assert_eq!(
            (c.http_connections, c.min_pool, c.approximate),
            (20_000, 1, false)
        );
    }

    #[test]
    fn a_connection_open_all_along_caps_pending_events() {
        let mut agg = Aggregator::default();
        // Id 1 starts first and ends last: it holds the watermark back.
        let n = 40_000u64;
        for id in 2..=n {
            let s = id as i64 * 10_000;
            agg.add(&rec(id, s, s + 5));
            assert!(pending(&agg) <= MAX_PAIR_PENDING_EVENTS + 8);
        }
        assert!(agg.watermark.pending.len() <= MAX_WATERMARK_PENDING);
        agg.add(&rec(1, 0, n as i64 * 10_000 + 10));
        let (servers, _) = agg.finish();
        let c = &servers[0].clients[0];
        assert_eq!(c.http_connections, n);
        // Its events came after their time was swept early.
        assert!(c.approximate);
        // It was idle and reusable all along, so in truth every other
        // connection missed it; the approximation can only undercount.
        assert!(c.missed_reuse > 0 && c.missed_reuse < n);
    }

    proptest::proptest! {
        #[test]
        fn pending_events_come_out_earliest_first(
            keys in proptest::collection::vec(-50i128..50, 0..200),
            pops in proptest::collection::vec(proptest::bool::ANY, 0..200),
        ) {
            // Pushes interleaved with pops, as the sweep does: every pop
            // is the least key pending, whatever order they came in.
            let mut p = Pending::default();
            let mut model: Vec<i128> = Vec::new();
            for (i, &k) in keys.iter().enumerate() {
                p.push(k);
                model.push(k);
                if pops.get(i).copied().unwrap_or(false) {
                    model.sort_unstable();
                    let want = (!model.is_empty()).then(|| model.remove(0));
                    proptest::prop_assert_eq!(p.pop(), want);
                }
                proptest::prop_assert_eq!(p.len(), model.len());
            }
            model.sort_unstable();
            let mut rest = Vec::new();
            while let Some(k) = p.pop() {
                rest.push(k);
            }
            proptest::prop_assert_eq!(rest, model);
        }

        #[test]
        fn pending_events_drain_earliest_first(
            keys in proptest::collection::vec(-50i128..50, 0..200),
            pops in proptest::collection::vec(proptest::bool::ANY, 0..200),
        ) {
            // What is left after some pops, drained at once at the end,
            // comes out as popping it one at a time would.
            let (mut p, mut q) = (Pending::default(), Pending::default());
            for (i, &k) in keys.iter().enumerate() {
                p.push(k);
                q.push(k);
                if pops.get(i).copied().unwrap_or(false) {
                    proptest::prop_assert_eq!(p.pop(), q.pop());
                }
            }
            let mut popped = Vec::new();
            while let Some(k) = q.pop() {
                popped.push(k);
            }
            let drained: Vec<i128> = p.drain_sorted().collect();
            proptest::prop_assert_eq!(drained, popped);
            proptest::prop_assert_eq!(p.len(), 0);
        }
    }

    #[test]
    fn late_intervals_are_clipped_or_dropped_never_left_open() {
        let mut p = PairAcc {
            swept_to: Some(100),
            ..PairAcc::default()
        };
        // Entirely before the swept point: dropped.
        p.interval(
            Timestamp::from_nanos(10),
            Timestamp::from_nanos(50),
            IDLE_START,
            IDLE_END,
        );
        assert!(p.events.is_empty() && p.approximate);
        // Straddling it: its start is clipped.
        p.interval(
            Timestamp::from_nanos(10),
            Timestamp::from_nanos(150),
            IDLE_START,
            IDLE_END,
        );
        assert_eq!(p.events.len(), 2);
        p.push(Timestamp::from_nanos(120), OPEN);
        p.push(Timestamp::from_nanos(200), OPEN);
        p.sweep(i64::MAX);
        assert_eq!((p.idle, p.missed_reuse), (0, 1));
    }
}
