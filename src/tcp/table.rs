//! The flow table: connections by (tag, unordered endpoint pair), least
//! recently active first in a linked list (by slot index) for O(1)
//! eviction, and the tombstones of closed connections until their
//! capture-time deadline.
//!
//! Memory: an open connection costs its slot (the connection's state), its
//! 24-byte LRU link and a `map` entry; a tombstone costs a `Tombs` entry
//! (40 bytes for IPv4, 72 otherwise, at up to twice that while the map is
//! half full after growing) and 8 bytes of deadline queue.
//!
//! Invariants: `map`, the LRU list and the slots not marked finished hold
//! the same connections; `len() <= max_connections`; finished connections
//! stay in their slots, queued in the order they ended, until taken;
//! nothing here reads the clock (time is the latest segment timestamp
//! seen, never moving backwards).
//!
//! The table never calls [`StreamHandler::on_end`]: the consumer of
//! [`Finished`] does, once it has taken the connection.

use super::conn::{Conn, Env};
use super::hash::SeededFx;
use super::*;
use crate::decode::{Endpoint, NetTag};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// The lookup key: the tag and both endpoints, lower endpoint first, so
/// both directions of a connection find it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FlowKey {
    tag: NetTag,
    lo: Endpoint,
    hi: Endpoint,
}

impl FlowKey {
    fn of(seg: &Segment<'_>) -> FlowKey {
        FlowKey::new(seg.tag, seg.src, seg.dst)
    }

    /// The key of a tracked connection: its endpoints are its first
    /// segment's, whichever way the direction was decided, so a slot
    /// need not keep its key.
    fn of_conn(f: &TcpFacts) -> FlowKey {
        FlowKey::new(f.tag, f.client, f.server)
    }

    fn new(tag: NetTag, a: Endpoint, b: Endpoint) -> FlowKey {
        // Any order both directions agree on will do; two IPv4 endpoints
        // compare as one integer each (the order `Endpoint`'s `Ord` gives
        // too, without its matching on the address family).
        let a_first = match (a.ip, b.ip) {
            (IpAddr::V4(x), IpAddr::V4(y)) => {
                let key = |ip: std::net::Ipv4Addr, port: u16| {
                    (u64::from(ip.to_bits()) << 16) | u64::from(port)
                };
                key(x, a.port) <= key(y, b.port)
            }
            _ => a <= b,
        };
        let (lo, hi) = if a_first { (a, b) } else { (b, a) };
        FlowKey { tag, lo, hi }
    }
}

const NIL: u32 = u32::MAX;

/// Cache lines of a slot [`FlowTable::prefetch`] asks for.
const PREFETCH_SLOT_LINES: usize = 4;

/// Connections from which [`FlowTable::prefetch`] looks slots up: 1024
/// slots are 1.3 MB, within the L2 cache of the machine measured on.
const PREFETCH_MIN_CONNECTIONS: usize = 1024;

/// A slot's place in the LRU list, kept apart from the slots in a dense
/// array: moving a connection to the tail touches two or three others,
/// and in the slots (a kilobyte each) every one of those was a cache miss
/// per packet.
#[derive(Clone, Copy)]
struct Link {
    prev: u32,
    next: u32,
    /// Table time of the latest segment: non-decreasing along the LRU list.
    touched: Timestamp,
    /// The current idle period was reported by [`FlowTable::idle_since`];
    /// cleared by the next segment.
    idle_reported: bool,
    /// The slot's connection is finished and queued, not yet taken.
    finished: bool,
}

const UNLINKED: Link = Link {
    prev: NIL,
    next: NIL,
    touched: Timestamp::MIN,
    idle_reported: false,
    finished: false,
};

/// What stays of a closed connection during its linger: enough to absorb
/// late segments and to recognise a new SYN on the same 4-tuple as port
/// reuse, at a few dozen bytes instead of the connection's full state (so
/// memory follows the close rate times the linger, at tombstone size).
#[derive(Clone, Copy, Debug)]
struct Tomb {
    deadline: Timestamp,
    /// The client (`true`: the key's `lo` endpoint) and its ISN.
    client_isn: Option<(bool, u32)>,
}

impl Tomb {
    fn new(key: &FlowKey, deadline: Timestamp, client_isn: Option<(Endpoint, u32)>) -> Tomb {
        Tomb {
            deadline,
            client_isn: client_isn.map(|(c, isn)| (c == key.lo, isn)),
        }
    }

    /// A SYN from `src` with sequence number `seq` repeats the client's.
    fn is_client_syn(&self, key: &FlowKey, src: Endpoint, seq: u32) -> bool {
        self.client_isn
            .is_some_and(|(lo, isn)| isn == seq && src == if lo { key.lo } else { key.hi })
    }
}

/// A [`FlowKey`] of two IPv4 endpoints in 24 bytes instead of 52: most
/// tombstones are keyed by one, and a busy capture holds hundreds of
/// thousands of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct V4Key {
    lo: u32,
    hi: u32,
    lo_port: u16,
    hi_port: u16,
    tag: NetTag,
}

impl V4Key {
    fn of(k: &FlowKey) -> Option<V4Key> {
        match (k.lo.ip, k.hi.ip) {
            (IpAddr::V4(lo), IpAddr::V4(hi)) => Some(V4Key {
                lo: lo.to_bits(),
                hi: hi.to_bits(),
                lo_port: k.lo.port,
                hi_port: k.hi.port,
                tag: k.tag,
            }),
            _ => None,
        }
    }
}

/// A map by [`FlowKey`] that stores IPv4 keys as [`V4Key`]s: half the
/// bytes per entry, and less to hash per packet.
struct KeyMap<V> {
    v4: HashMap<V4Key, V, SeededFx>,
    other: HashMap<FlowKey, V, SeededFx>,
}

impl<V: Copy> KeyMap<V> {
    fn new() -> KeyMap<V> {
        KeyMap {
            v4: HashMap::with_hasher(SeededFx::new()),
            other: HashMap::with_hasher(SeededFx::new()),
        }
    }

    fn get(&self, key: &FlowKey) -> Option<V> {
        match V4Key::of(key) {
            Some(k) => self.v4.get(&k),
            None => self.other.get(key),
        }
        .copied()
    }

    fn insert(&mut self, key: &FlowKey, v: V) {
        match V4Key::of(key) {
            Some(k) => self.v4.insert(k, v),
            None => self.other.insert(*key, v),
        };
    }

    fn remove(&mut self, key: &FlowKey) {
        match V4Key::of(key) {
            Some(k) => self.v4.remove(&k),
            None => self.other.remove(key),
        };
    }

    /// Inserting `key` would make its map grow.
    fn full_for(&self, key: &FlowKey) -> bool {
        if V4Key::of(key).is_some() {
            self.v4.len() == self.v4.capacity()
        } else {
            self.other.len() == self.other.capacity()
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        self.v4.retain(|_, v| keep(v));
        self.other.retain(|_, v| keep(v));
    }

    fn len(&self) -> usize {
        self.v4.len() + self.other.len()
    }

    fn clear(&mut self) {
        self.v4.clear();
        self.other.clear();
    }
}

/// The tombstones of closed connections, by key. Expired ones are not
/// removed at their deadline but ignored by [`Tombs::get`] and swept out
/// when the map would grow or reach its cap, so no second copy of each key
/// is queued for expiry.
struct Tombs(KeyMap<Tomb>);

impl Tombs {
    /// The live tombstone of `key` as of `now`.
    fn get(&self, key: &FlowKey, now: Timestamp) -> Option<Tomb> {
        self.0.get(key).filter(|t| t.deadline > now)
    }

    fn remove(&mut self, key: &FlowKey) {
        self.0.remove(key);
    }

    fn insert(&mut self, key: &FlowKey, tomb: Tomb, now: Timestamp) {
        // Sweep before the map grows: the expired ones make room, at a
        // cost of one pass per capacity's worth of inserts.
        if self.0.full_for(key) {
            self.0.retain(|t| t.deadline > now);
        }
        self.0.insert(key, tomb);
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// The table of tracked connections.
pub struct FlowTable<H> {
    /// Connections finished at their close, lingering as tombstones.
    tombs: Tombs,
    /// The deadline of every tombstone made and not yet expired (also
    /// those replaced by a later one of the same key), non-decreasing:
    /// only its length is used, as a bound.
    tomb_queue: VecDeque<Timestamp>,
    /// Segments that arrived for a connection already finished (late ACKs,
    /// retransmitted FINs, data in flight behind an RST): absorbed.
    late_segments: u64,
    cfg: TcpConfig,
    factory: Box<dyn FnMut() -> H>,
    /// Slots of the connections finished and not yet taken, in the order
    /// they ended: a finished connection stays in its slot (out of `map`
    /// and the LRU list) until taken, so it is never moved to be queued.
    finished: VecDeque<(u32, FinishOrder)>,
    map: KeyMap<u32>,
    /// The connections' state, by slot index.
    slots: Vec<Option<Conn<H>>>,
    /// The LRU list, by slot index (as long as `slots`).
    links: Vec<Link>,
    free: Vec<u32>,
    /// Least recently active at the head.
    head: u32,
    tail: u32,
    now: Timestamp,
    next_id: u64,
    total_buffered: usize,
    limits: LimitsHit,
    /// Calls of `handle` and `advance` so far (see [`FinishOrder`]).
    events: u64,
    /// The event being processed, or `u64::MAX` in `finish_all`.
    current_event: u64,
    /// After `finish_all`: slots still to finish, last to finish first.
    closing: Vec<u32>,
}

impl<H: StreamHandler> FlowTable<H> {
    pub fn new(cfg: TcpConfig, factory: Box<dyn FnMut() -> H>) -> Self {
        FlowTable {
            tombs: Tombs(KeyMap::new()),
            tomb_queue: VecDeque::new(),
            late_segments: 0,
            cfg,
            factory,
            finished: VecDeque::new(),
            map: KeyMap::new(),
            slots: Vec::new(),
            links: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            now: Timestamp::MIN,
            next_id: 1,
            total_buffered: 0,
            limits: LimitsHit::default(),
            events: 0,
            current_event: 0,
            closing: Vec::new(),
        }
    }

    /// Sets the table's share of `--threads`' limits, before any segment.
    pub(crate) fn set_limits(&mut self, max_connections: usize, max_buffer_total: usize) {
        self.cfg.max_connections = max_connections;
        self.cfg.max_buffer_total = max_buffer_total;
    }

    pub fn config(&self) -> &TcpConfig {
        &self.cfg
    }

    /// Asks the CPU for the slot of `seg`'s connection, if it is tracked:
    /// called a few segments ahead of [`FlowTable::handle`] when those are
    /// known (a `--threads` batch).
    pub fn prefetch(&self, seg: &Segment<'_>) {
        // A few hundred slots stay in the cache, where the lookup would
        // only be done twice.
        if self.map.len() < PREFETCH_MIN_CONNECTIONS {
            return;
        }
        if let Some(slot) = self
            .map
            .get(&FlowKey::of(seg))
            .and_then(|i| self.slots.get(i as usize))
        {
            crate::capture::prefetch_value(slot, PREFETCH_SLOT_LINES);
        }
    }

    /// Feed one segment.
    pub fn handle(&mut self, seg: &Segment<'_>) {
        self.flush_closing();
        self.current_event = self.events;
        self.events += 1;
        self.expire(seg.ts);
        let key = FlowKey::of(seg);
        let f = seg.flags;
        let idx = match self.map.get(&key) {
            Some(i) => {
                let new_syn = f.syn()
                    && !f.ack()
                    && !f.rst()
                    && self.slot(i).is_some_and(|s| s.is_new_syn(seg.src, seg.seq));
                if new_syn {
                    // Port reuse (RFC 9293 3.6.1: a SYN may reopen a 4-tuple
                    // in TIME-WAIT): the old connection ends here.
                    self.finish_slot(i, false);
                    self.insert(key, seg, true)
                } else {
                    self.touch(i);
                    i
                }
            }
            None => match self.tombs.get(&key, self.now) {
                None => self.insert(key, seg, false),
                Some(t) => {
                    let retransmitted_syn =
                        t.is_client_syn(&key, seg.src, seg.seq) || !f.syn() || f.ack() || f.rst();
                    if retransmitted_syn {
                        // A late segment of the finished connection.
                        self.late_segments += 1;
                        return;
                    }
                    // Port reuse (RFC 9293 3.6.1: a SYN may reopen a 4-tuple
                    // in TIME-WAIT).
                    self.tombs.remove(&key);
                    self.insert(key, seg, true)
                }
            },
        };
        let linger = self.cfg.close_linger;
        let now = self.now;
        let mut env = Env {
            cfg: &self.cfg,
            total_buffered: &mut self.total_buffered,
            limits: &mut self.limits,
        };
        let Some(Some(slot)) = self.slots.get_mut(idx as usize) else {
            return;
        };
        slot.handle(seg, &mut env);
        if slot.is_done() {
            // Closed both ways, or reset: finished now (its record need not
            // wait), its key kept as a tombstone for `close_linger`.
            let ns = i64::try_from(linger.as_nanos()).unwrap_or(i64::MAX);
            let deadline = Timestamp::from_nanos(now.nanos().saturating_add(ns));
            let tomb = Tomb::new(&key, deadline, slot.client_isn());
            self.finish_slot(idx, false);
            // Bounded by the connection cap: a 4-tuple reused over and over
            // within a long linger would otherwise queue without end. Every
            // live tombstone has its deadline queued, so the queue bounds
            // them too (expired ones are swept as the map fills), without a
            // pass over the map per close once the cap is reached.
            let cap = self.cfg.max_connections;
            if ns > 0 && self.tomb_queue.len() < cap {
                self.tombs.insert(&key, tomb, now);
                self.tomb_queue.push_back(deadline);
            }
        }
    }

    /// Let capture time advance to `now` (expires tombstones of closed
    /// connections). Called by [`FlowTable::handle`] too.
    pub fn advance(&mut self, now: Timestamp) {
        self.flush_closing();
        self.current_event = self.events;
        self.events += 1;
        self.expire(now);
    }

    /// For a `--threads` worker, which sees only the frames of its shard:
    /// the next frame is global event number `event`, and capture time has
    /// reached `now` (the latest timestamp of any shard so far), so event
    /// numbers and tombstone expiry match one table fed every frame.
    pub fn sync(&mut self, event: u64, now: Timestamp) {
        self.events = event;
        self.expire(now);
    }

    fn expire(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
        while self.tomb_queue.front().is_some_and(|&d| d <= self.now) {
            self.tomb_queue.pop_front();
        }
    }

    /// Input after `finish_all` (not what the analyzer does): finish what
    /// it left, in order, before anything else.
    fn flush_closing(&mut self) {
        if self.closing.is_empty() {
            return;
        }
        self.current_event = u64::MAX;
        while let Some(i) = self.closing.pop() {
            // A no-op for a slot no longer open.
            self.finish_slot(i, false);
        }
    }

    /// Segments absorbed because their connection had already finished
    /// (late ACKs, retransmitted FINs, data in flight behind an RST).
    pub fn late_segments(&self) -> u64 {
        self.late_segments
    }

    /// Connections started so far (the last id given out).
    pub fn connections_started(&self) -> u64 {
        self.next_id - 1
    }

    /// The next connection that ended, in the order they ended. Its
    /// handler has not had [`StreamHandler::on_end`] yet.
    pub fn pop_finished(&mut self) -> Option<Finished<H>> {
        let (i, order) = self.next_finished()?;
        let c = self.slots.get_mut(i as usize).and_then(Option::take)?;
        self.free_slot(i);
        Some(Finished {
            facts: c.facts,
            handler: c.handler,
            order,
        })
    }

    /// [`FlowTable::pop_finished`] in place: `f` sees the facts, handler
    /// and finish order of the next connection that ended in its slot,
    /// and it is dropped there. Moving a connection's kilobyte of state
    /// out of its slot and into a queue, and out again, showed in profiles
    /// of short connections.
    pub fn take_finished<R>(
        &mut self,
        f: impl FnOnce(&TcpFacts, &mut H, FinishOrder) -> R,
    ) -> Option<R> {
        let (i, order) = self.next_finished()?;
        let slot = self.slots.get_mut(i as usize)?;
        let r = slot.as_mut().map(|c| f(&c.facts, &mut c.handler, order));
        *slot = None;
        self.free_slot(i);
        r
    }

    /// Finished connections waiting to be taken.
    pub fn finished_len(&self) -> usize {
        self.finished.len()
    }

    /// The handler of the finished connection `k` places down the queue
    /// (0 is the one [`FlowTable::take_finished`] takes next).
    pub fn peek_finished(&self, k: usize) -> Option<&H> {
        let (i, _) = *self.finished.get(k)?;
        self.slot(i).map(|c| &c.handler)
    }

    /// The slot and finish order of the next finished connection, taken
    /// off the queue; its slot holds it. A queued slot that did not (which
    /// nothing makes) is skipped, so a drain never ends early, and not
    /// freed: it may be free already, and a slot on the free list twice
    /// would be given to two connections.
    fn next_finished(&mut self) -> Option<(u32, FinishOrder)> {
        loop {
            self.refill_finished();
            let (i, order) = self.finished.pop_front()?;
            if self.slot(i).is_some() {
                return Some((i, order));
            }
        }
    }

    fn free_slot(&mut self, i: u32) {
        if let Some(l) = self.links.get_mut(i as usize) {
            l.finished = false;
        }
        self.free.push(i);
    }

    fn refill_finished(&mut self) {
        if self.finished.is_empty() {
            // End of capture: finish the rest one at a time, so they are
            // never all queued at once (a record's worth of memory each).
            self.current_event = u64::MAX;
            while let Some(i) = self.closing.pop() {
                if self.live(i).is_some() {
                    self.finish_slot(i, false);
                    break;
                }
            }
        }
    }

    /// End of capture: every connection still tracked is finished, in the
    /// order of their first packet.
    pub fn finish_all(&mut self, now: Timestamp) {
        self.current_event = u64::MAX;
        self.expire(now);
        let mut live: Vec<(u64, u32)> = (0..self.slots.len() as u32)
            .filter_map(|i| self.live(i).map(|s| (s.facts.id, i)))
            .collect();
        // Highest id first: popped from the back, lowest first.
        live.sort_unstable_by(|a, b| b.cmp(a));
        self.closing = live.into_iter().map(|(_, i)| i).collect();
        self.tombs.clear();
        self.tomb_queue.clear();
    }

    /// Connections still open whose latest segment (either way, keepalive
    /// probes included) came before `cutoff`, oldest activity first, each
    /// once per idle period: `f` gets a snapshot of the facts as if the
    /// connection ended at its last segment (see [`TcpFacts`]; `end_state`
    /// `open` or `closing`) and the handler, which is not told anything.
    /// Nothing is finished or split, and no buffered data is flushed.
    ///
    /// Connections whose direction is still undecided (only segments without payload seen),
    /// are not reported. Walks the least-recently-active end of the list,
    /// so the cost is the number of idle connections, not the table size.
    pub fn idle_since(&mut self, cutoff: Timestamp, mut f: impl FnMut(&TcpFacts, &H)) {
        let mut i = self.head;
        while let (Some(Some(slot)), Some(link)) =
            (self.slots.get(i as usize), self.links.get_mut(i as usize))
        {
            if link.touched >= cutoff {
                break;
            }
            i = link.next;
            if link.idle_reported {
                continue;
            }
            if let Some(facts) = slot.snapshot() {
                link.idle_reported = true;
                f(&facts, &slot.handler);
            }
        }
    }

    /// Connections tracked now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counters of limits hit so far (see [`LimitsHit`]).
    pub fn limits_hit(&self) -> LimitsHit {
        self.limits
    }

    /// Out-of-order bytes buffered across all connections now.
    pub fn buffered_bytes(&self) -> usize {
        self.total_buffered
    }

    fn slot(&self, i: u32) -> Option<&Conn<H>> {
        self.slots.get(i as usize).and_then(Option::as_ref)
    }

    /// The connection in slot `i` if it is open (not finished and queued).
    fn live(&self, i: u32) -> Option<&Conn<H>> {
        let finished = self.links.get(i as usize).is_none_or(|l| l.finished);
        self.slot(i).filter(|_| !finished)
    }

    fn insert(&mut self, key: FlowKey, seg: &Segment<'_>, port_reuse: bool) -> u32 {
        // Slots are indexed by u32 (NIL excluded); no table gets near that.
        let cap = self.cfg.max_connections.clamp(1, (NIL - 1) as usize);
        if self.map.len() >= cap && self.head != NIL {
            // Full: the least recently active connection makes room
            // (closed ones are finished at their close, so it is open).
            let victim = self.head;
            self.limits.max_connections += 1;
            self.finish_slot(victim, true);
        }
        let id = self.next_id;
        self.next_id += 1;
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.links.push(UNLINKED);
                (self.slots.len() - 1) as u32
            }
        };
        if let Some(s) = self.slots.get_mut(idx as usize) {
            // Built in the free slot: a connection built first and moved in
            // was copied (1.2 KB) on the way.
            debug_assert!(s.is_none());
            let factory = &mut self.factory;
            let conn = s.get_or_insert_with(|| Conn::new(id, seg, port_reuse, factory()));
            debug_assert!(FlowKey::of_conn(&conn.facts) == key);
        }
        if let Some(l) = self.links.get_mut(idx as usize) {
            *l = Link {
                touched: self.now,
                ..UNLINKED
            };
        }
        self.map.insert(&key, idx);
        self.link_tail(idx);
        idx
    }

    /// End the connection in slot `i` and queue it as finished (nothing if
    /// the slot holds no open connection).
    fn finish_slot(&mut self, i: u32, evicted: bool) {
        if self.live(i).is_none() {
            return;
        }
        self.unlink(i);
        if let Some(l) = self.links.get_mut(i as usize) {
            l.finished = true;
        }
        let Some(Some(slot)) = self.slots.get_mut(i as usize) else {
            return;
        };
        self.map.remove(&FlowKey::of_conn(&slot.facts));
        let mut env = Env {
            cfg: &self.cfg,
            total_buffered: &mut self.total_buffered,
            limits: &mut self.limits,
        };
        slot.finish(evicted, &mut env);
        debug_assert_eq!(slot.buffered(), 0);
        let order = FinishOrder {
            event: self.current_event,
        };
        self.finished.push_back((i, order));
    }

    fn links(&mut self, i: u32) -> Option<(&mut u32, &mut u32)> {
        self.links
            .get_mut(i as usize)
            .map(|l| (&mut l.prev, &mut l.next))
    }

    fn unlink(&mut self, i: u32) {
        let Some((p, n)) = self.links(i).map(|(p, n)| {
            let r = (*p, *n);
            *p = NIL;
            *n = NIL;
            r
        }) else {
            return;
        };
        if p == NIL {
            if self.head == i {
                self.head = n;
            }
        } else if let Some((_, pn)) = self.links(p) {
            *pn = n;
        }
        if n == NIL {
            if self.tail == i {
                self.tail = p;
            }
        } else if let Some((np, _)) = self.links(n) {
            *np = p;
        }
    }

    fn link_tail(&mut self, i: u32) {
        let old = self.tail;
        if let Some((p, n)) = self.links(i) {
            *p = old;
            *n = NIL;
        }
        if old == NIL {
            self.head = i;
        } else if let Some((_, on)) = self.links(old) {
            *on = i;
        }
        self.tail = i;
    }

    /// Mark slot `i` as the most recently active.
    fn touch(&mut self, i: u32) {
        let now = self.now;
        if let Some(l) = self.links.get_mut(i as usize) {
            l.touched = now;
            l.idle_reported = false;
        }
        if self.tail != i {
            self.unlink(i);
            self.link_tail(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpConn;

    /// What an open connection and a tombstone cost, kept in check (see
    /// the module docs and BENCHMARKS.md): the slot is most of an open
    /// connection's memory, and a busy capture holds hundreds of thousands
    /// of tombstones.
    #[test]
    fn slot_and_tombstone_sizes_stay_small() {
        let slot = std::mem::size_of::<Option<Conn<HttpConn>>>();
        assert!(slot <= 1264, "slot is {slot} bytes");
        assert!(std::mem::size_of::<Link>() <= 24);
        let tomb = std::mem::size_of::<(V4Key, Tomb)>();
        assert!(tomb <= 40, "IPv4 tombstone entry is {tomb} bytes");
    }
}
