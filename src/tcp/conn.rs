//! One tracked connection: direction, sequence bases, the two reassemblers,
//! the endpoint states, keepalive tracking, and the facts being gathered.
//!
//! Invariants: the client and server are fixed before the first byte is
//! handed to the handler (segments without payload may wait in a small
//! fixed array until then); time never runs backwards inside a connection
//! (each segment's timestamp is clamped to the latest one seen, so
//! durations and gaps are never negative).

use super::keepalive::{self, ProbeKind, SeqTrack, MAX_KEEPALIVE_INTERVALS};
use super::reassembly::{Budget, Out, Reassembler};
use super::seq;
use super::state::{self, Role, SegEvent, TcpState};
use super::*;
use crate::decode::{Endpoint, Segment, TcpFlags};

/// Segments without payload held while a mid-stream connection's direction
/// is undecided (waiting for a payload to classify). When full, the
/// direction is decided by port.
pub const MAX_UNDECIDED_SEGMENTS: usize = 8;

/// Largest forward jump (bytes beyond what was handed up) of an ACK taken
/// as evidence of capture loss, or of a segment taken as data behind a
/// hole (2^30 is the largest window RFC 7323 allows); larger jumps are
/// bogus sequence or ACK fields, not gigabytes of lost data.
pub const MAX_ACK_GAP: i64 = 1 << 30;

/// The parts of a segment the connection keeps; `Copy`, no payload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    pub ts: Timestamp,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub missing: u32,
}

impl Meta {
    pub(crate) fn of(seg: &Segment<'_>) -> Meta {
        Meta {
            ts: seg.ts,
            src: seg.src,
            dst: seg.dst,
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            window: seg.window,
            missing: seg.payload_missing,
        }
    }
}

/// What the table lends a connection for one call.
pub(crate) struct Env<'a> {
    pub cfg: &'a TcpConfig,
    pub total_buffered: &'a mut usize,
    pub limits: &'a mut LimitsHit,
}

/// A segment without payload waiting for the direction: what [`Meta`]
/// holds, with the endpoints reduced to one bit.
#[derive(Clone, Copy, Debug)]
struct Pending {
    ts: Timestamp,
    /// Sent by the sender of the connection's first segment.
    from_first: bool,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
}

pub(crate) struct Conn<H> {
    pub facts: TcpFacts,
    pub handler: H,
    decided: bool,
    /// Allocated only for connections picked up without SYN or payload.
    pending: Vec<Pending>,
    /// Indexed by the sender's [`Direction::index`] (0: client's bytes).
    streams: [Reassembler; 2],
    /// Sequence number of each direction's offset 0.
    bases: [Option<u32>; 2],
    isn: [Option<u32>; 2],
    track: [SeqTrack; 2],
    /// `[0]` the client's state, `[1]` the server's.
    states: [TcpState; 2],
    last_ts: Timestamp,
    last_activity: Timestamp,
    last_probe: [Option<Timestamp>; 2],
    buffered: usize,
    reset: bool,
}

fn side_of(i: usize) -> Side {
    if i == 0 {
        Side::Client
    } else {
        Side::Server
    }
}

fn dir_of(i: usize) -> Direction {
    if i == 0 {
        Direction::ToServer
    } else {
        Direction::ToClient
    }
}

/// The server of two endpoints by port alone: a configured server port,
/// else the well-known (< 1024) one, else the lower one, else `b`.
fn server_by_port(a: Endpoint, b: Endpoint, ports: &[u16]) -> Endpoint {
    let (ac, bc) = (ports.contains(&a.port), ports.contains(&b.port));
    if ac != bc {
        return if ac { a } else { b };
    }
    let (aw, bw) = (a.port < 1024, b.port < 1024);
    if aw != bw {
        return if aw { a } else { b };
    }
    if a.port < b.port {
        a
    } else {
        b
    }
}

impl<H: StreamHandler> Conn<H> {
    pub(crate) fn new(id: u64, first: &Segment<'_>, port_reuse: bool, handler: H) -> Self {
        Conn {
            facts: TcpFacts {
                id,
                client: first.src,
                server: first.dst,
                tag: first.tag,
                start: first.ts,
                end: first.ts,
                mid_stream: true,
                direction_by: DirectionEvidence::Port,
                port_reuse,
                handshake: Handshake::default(),
                sides: Default::default(),
                first_fin: None,
                first_rst: None,
                simultaneous_close: false,
                half_close: false,
                time_wait: Sides::None,
                end_state: EndState::Open,
                idle_max_ns: 0,
                anomalies: Anomalies::default(),
            },
            handler,
            decided: false,
            pending: Vec::new(),
            streams: Default::default(),
            bases: [None; 2],
            isn: [None; 2],
            track: Default::default(),
            states: [TcpState::Established; 2],
            last_ts: first.ts,
            last_activity: first.ts,
            last_probe: [None; 2],
            buffered: 0,
            reset: false,
        }
    }

    /// Out-of-order bytes held (both directions).
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// Closed both ways, or reset: only lingering remains.
    pub(crate) fn is_done(&self) -> bool {
        self.reset
            || (self.facts.first_fin.is_some()
                && state::is_closed(self.states[0])
                && state::is_closed(self.states[1]))
    }

    /// Does a SYN (without ACK) from `src` with sequence number `isn` start
    /// a new connection on this 4-tuple? Not when it repeats the client's
    /// SYN (a retransmission).
    pub(crate) fn is_new_syn(&self, src: Endpoint, isn: u32) -> bool {
        !(self.decided && src == self.facts.client && self.isn[0] == Some(isn))
    }

    /// The client and its ISN, when known: what a `Tomb` keeps to tell a
    /// retransmitted SYN from a new one.
    pub(crate) fn client_isn(&self) -> Option<(Endpoint, u32)> {
        if self.decided {
            self.isn[0].map(|isn| (self.facts.client, isn))
        } else {
            None
        }
    }

    pub(crate) fn handle(&mut self, seg: &Segment<'_>, env: &mut Env<'_>) {
        let m = Meta::of(seg);
        if !self.decided {
            let waits = seg.seq_len() == 0 && !m.flags.rst();
            if waits && self.pending.len() < MAX_UNDECIDED_SEGMENTS {
                if self.pending.capacity() == 0 {
                    self.pending.reserve_exact(MAX_UNDECIDED_SEGMENTS);
                }
                // Before the decision `facts.client` is the first sender.
                self.pending.push(Pending {
                    ts: m.ts,
                    from_first: m.src == self.facts.client,
                    seq: m.seq,
                    ack: m.ack,
                    flags: m.flags,
                    window: m.window,
                });
                // Time is clamped when the segment is replayed, not now.
                self.facts.end = self.facts.end.max(m.ts);
                return;
            }
            let first = (self.facts.client, self.facts.server);
            self.decide(&m, seg.payload, env.cfg);
            self.replay(first, env);
        }
        self.process(&m, seg.payload, env);
    }

    /// Fix client and server from the evidence at hand (RFC order: SYN,
    /// SYN-ACK, payload, port).
    fn decide(&mut self, m: &Meta, payload: &[u8], cfg: &TcpConfig) {
        let f = m.flags;
        let (client, by) = if f.syn() && !f.ack() {
            (m.src, DirectionEvidence::Syn)
        } else if f.syn() {
            (m.dst, DirectionEvidence::SynAck)
        } else {
            let hint = if payload.is_empty() || f.rst() {
                PayloadHint::Unknown
            } else {
                (cfg.classify)(payload)
            };
            match hint {
                PayloadHint::Request => (m.src, DirectionEvidence::Payload),
                PayloadHint::Response => (m.dst, DirectionEvidence::Payload),
                PayloadHint::Unknown => {
                    let server = server_by_port(m.src, m.dst, &cfg.server_ports);
                    let client = if server == m.src { m.dst } else { m.src };
                    (client, DirectionEvidence::Port)
                }
            }
        };
        self.set_direction(client, if client == m.src { m.dst } else { m.src }, by);
    }

    fn set_direction(&mut self, client: Endpoint, server: Endpoint, by: DirectionEvidence) {
        self.decided = true;
        self.facts.client = client;
        self.facts.server = server;
        self.facts.direction_by = by;
        self.facts.mid_stream = by != DirectionEvidence::Syn;
        self.states = match by {
            DirectionEvidence::Syn => [TcpState::Closed, TcpState::Closed],
            DirectionEvidence::SynAck => [TcpState::SynSent, TcpState::Closed],
            _ => [TcpState::Established, TcpState::Established],
        };
    }

    /// Feed the segments that waited for the direction; `first` is the
    /// (source, destination) of the connection's first segment.
    fn replay(&mut self, first: (Endpoint, Endpoint), env: &mut Env<'_>) {
        let pending = std::mem::take(&mut self.pending);
        for p in &pending {
            let (src, dst) = if p.from_first {
                first
            } else {
                (first.1, first.0)
            };
            let m = Meta {
                ts: p.ts,
                src,
                dst,
                seq: p.seq,
                ack: p.ack,
                flags: p.flags,
                window: p.window,
                missing: 0,
            };
            self.process(&m, &[], env);
        }
    }

    fn process(&mut self, m: &Meta, payload: &[u8], env: &mut Env<'_>) {
        let ts = self.last_ts.max(m.ts);
        self.last_ts = ts;
        self.facts.end = ts;
        let s = if m.src == self.facts.client { 0 } else { 1 };
        let r = 1 - s;
        let dir = dir_of(s);
        let f = m.flags;
        let len = payload.len() as u64 + m.missing as u64;
        {
            let side = &mut self.facts.sides[s];
            side.packets += 1;
            side.bytes = side.bytes.saturating_add(len);
        }
        // Holes the peers acknowledged long enough ago become gaps.
        for i in 0..2 {
            if self.streams[i].has_acked_hole() {
                self.flush_stream(i, Some(ts), ts, env);
            }
        }

        // Probes first: they never reach the stream.
        let kind = keepalive::classify(f, m.seq, m.ack, len, &self.track[s], &self.track[r]);
        match kind {
            ProbeKind::Keepalive => self.on_probe(s, ts),
            ProbeKind::KeepaliveAck => {
                self.facts.sides[r].keepalive.acks += 1;
                self.track[r].probe_outstanding = false;
            }
            ProbeKind::ZeroWindow { .. } => self.facts.anomalies.zero_window_probes += 1,
            ProbeKind::None => {}
        }
        let keepalive = matches!(kind, ProbeKind::Keepalive | ProbeKind::KeepaliveAck);
        if !keepalive {
            let idle = self.last_activity.nanos_until_saturating(ts);
            self.facts.idle_max_ns = self.facts.idle_max_ns.max(idle);
            self.last_activity = ts;
            // Any other acknowledging segment from the peer answers a probe
            // too (not counted as a keepalive ACK, which must be pure).
            if self.track[r].probe_outstanding
                && f.ack()
                && !f.rst()
                && self.track[r].nxt.is_some_and(|n| seq::ge(m.ack, n))
            {
                self.track[r].probe_outstanding = false;
            }
        }

        // Sequence-space trackers, raw.
        if !f.rst() {
            let used = len + f.syn() as u64 + f.fin() as u64;
            self.track[s].used(m.seq.wrapping_add(used as u32));
            self.track[s].window = Some(m.window);
            if f.ack() {
                self.track[s].last_ack = Some(m.ack);
                self.track[r].used(m.ack);
            }
        }

        // Handshake and sequence bases.
        if f.syn() {
            match self.isn[s] {
                None => {
                    self.isn[s] = Some(m.seq);
                    // A stream already based mid-stream keeps its base: its
                    // bytes were handed up by it.
                    self.bases[s].get_or_insert(m.seq.wrapping_add(1));
                    if f.ack() {
                        self.facts.handshake.syn_ack.get_or_insert(ts);
                    } else {
                        self.facts.handshake.syn.get_or_insert(ts);
                    }
                }
                Some(i) if i == m.seq && len == 0 => self.facts.anomalies.retransmissions += 1,
                Some(_) => {}
            }
            if f.ack() && self.bases[r].is_none() && !f.rst() {
                self.isn[r] = Some(m.ack.wrapping_sub(1));
                self.bases[r] = Some(m.ack);
            }
        } else if s == 0
            && f.ack()
            && self.facts.handshake.ack.is_none()
            && self.facts.handshake.syn_ack.is_some()
            && self.isn[1].is_some_and(|i| m.ack == i.wrapping_add(1))
        {
            self.facts.handshake.ack = Some(ts);
        }

        // Reassembly of the sender's stream.
        let skip = f.rst()
            || keepalive
            || kind == ProbeKind::ZeroWindow { new_byte: false }
            || (len == 0 && !f.fin());
        'reassembly: {
            if skip {
                break 'reassembly;
            }
            let base = match self.bases[s] {
                Some(b) => b,
                None => {
                    // Picked up mid-stream: the stream starts where the
                    // peer's ACK says the receiver stands, if it was seen.
                    // Bytes before it were received already (older copies,
                    // or a keepalive's garbage byte); bytes between it and
                    // this segment were sent but not seen (a hole).
                    let near = |a: u32| (m.seq.wrapping_sub(a) as i32 as i64).abs() <= MAX_ACK_GAP;
                    let b = match self.track[r].last_ack {
                        Some(a) if near(a) => a,
                        _ => m.seq,
                    };
                    self.bases[s] = Some(b);
                    b
                }
            };
            let data_seq = if f.syn() {
                m.seq.wrapping_add(1)
            } else {
                m.seq
            };
            let off = seq::offset(base, self.streams[s].next(), data_seq);
            // Far beyond anything a window allows: a bogus sequence number
            // (or a base guessed wrong), not data to buffer behind a hole.
            if off.saturating_sub(self.streams[s].next() as i64) > MAX_ACK_GAP {
                break 'reassembly;
            }
            let TcpFacts {
                sides, anomalies, ..
            } = &mut self.facts;
            let mut out = Out {
                handler: &mut self.handler,
                dir,
                ts,
                stream_bytes: &mut sides[s].stream_bytes,
                anomalies,
            };
            let mut budget = Budget {
                conn: &mut self.buffered,
                total: env.total_buffered,
                max_conn: env.cfg.max_buffer_per_connection,
                max_total: env.cfg.max_buffer_total,
                hits: &mut env.limits.max_buffer,
            };
            let o = self.streams[s].segment(
                off,
                payload,
                m.missing as u64,
                f.fin(),
                &mut out,
                &mut budget,
            );
            if o.retransmission {
                anomalies.retransmissions += 1;
            }
            if o.out_of_order {
                anomalies.out_of_order += 1;
            }
            if o.new_data {
                let side = &mut sides[s];
                side.first_data.get_or_insert(ts);
                side.last_data = Some(ts);
                // RFC 9293 3.6: a side in CLOSE-WAIT may still send.
                if self.states[s] == TcpState::CloseWait {
                    self.facts.half_close = true;
                }
            }
        }

        // The ACK may show that the peer got bytes the capture never saw.
        if f.ack() && !f.rst() {
            if let Some(base) = self.bases[r] {
                let next = self.streams[r].next();
                let a = seq::offset(base, next, m.ack);
                let jump = a.saturating_sub(next as i64);
                if jump > 0 && jump <= MAX_ACK_GAP {
                    self.streams[r].peer_acked(a as u64, ts);
                }
            }
        }

        // States: the sender's, then the receiver's (RFC 9293 3.10).
        let fin_seq = |i: usize, bases: &[Option<u32>; 2], streams: &[Reassembler; 2]| {
            let b = bases[i]?;
            let f = streams[i].fin()?;
            Some(b.wrapping_add(f as u32))
        };
        let ev = SegEvent {
            syn: f.syn(),
            ack: f.ack(),
            fin: f.fin(),
            rst: f.rst(),
            acks_syn: f.ack() && self.isn[r].is_some_and(|i| seq::ge(m.ack, i.wrapping_add(1))),
            acks_fin: f.ack()
                && fin_seq(r, &self.bases, &self.streams)
                    .is_some_and(|fs| seq::ge(m.ack, fs.wrapping_add(1))),
        };
        if f.fin() && !f.rst() && self.states[r] == TcpState::FinWait1 && !ev.acks_fin {
            // RFC 9293 3.10.7.4: FIN received in FIN-WAIT-1 before our FIN
            // was acknowledged, both sides closing at once.
            self.facts.simultaneous_close = true;
        }
        self.states[s] = state::transition(self.states[s], Role::Sent, &ev);
        self.states[r] = state::transition(self.states[r], Role::Received, &ev);

        if f.fin() && !f.rst() && self.facts.first_fin.is_none() {
            self.facts.first_fin = Some(CloseEvent {
                by: side_of(s),
                at: ts,
            });
        }
        if f.rst() && self.facts.first_rst.is_none() {
            self.facts.first_rst = Some(CloseEvent {
                by: side_of(s),
                at: ts,
            });
            for i in 0..2 {
                if self.track[i].probe_outstanding {
                    self.facts.sides[i].keepalive.ended_in_rst = true;
                }
            }
            self.flush_stream(0, None, ts, env);
            self.flush_stream(1, None, ts, env);
            self.handler.on_rst(dir, ts);
            self.reset = true;
        }
    }

    fn on_probe(&mut self, s: usize, ts: Timestamp) {
        let ka = &mut self.facts.sides[s].keepalive;
        ka.probes += 1;
        match self.last_probe[s] {
            None => ka.first_after_idle_ns = Some(self.last_activity.nanos_until_saturating(ts)),
            Some(p) => {
                if ka.intervals_ns.len() < MAX_KEEPALIVE_INTERVALS {
                    ka.intervals_ns.push(p.nanos_until_saturating(ts));
                }
            }
        }
        if self.track[s].probe_outstanding {
            ka.unanswered += 1;
        }
        self.track[s].probe_outstanding = true;
        self.last_probe[s] = Some(ts);
    }

    /// Settle direction `i`'s acknowledged holes as of `settle_at`, or
    /// flush it entirely (end of the stream) when `None`.
    fn flush_stream(
        &mut self,
        i: usize,
        settle_at: Option<Timestamp>,
        ts: Timestamp,
        env: &mut Env<'_>,
    ) {
        let TcpFacts {
            sides, anomalies, ..
        } = &mut self.facts;
        let Some(side) = sides.get_mut(i) else {
            return;
        };
        let mut out = Out {
            handler: &mut self.handler,
            dir: dir_of(i),
            ts,
            stream_bytes: &mut side.stream_bytes,
            anomalies,
        };
        let mut budget = Budget {
            conn: &mut self.buffered,
            total: env.total_buffered,
            max_conn: env.cfg.max_buffer_per_connection,
            max_total: env.cfg.max_buffer_total,
            hits: &mut env.limits.max_buffer,
        };
        let Some(stream) = self.streams.get_mut(i) else {
            return;
        };
        match settle_at {
            Some(now) => stream.settle(now, &mut out, &mut budget),
            None => stream.finish(&mut out, &mut budget),
        }
    }

    /// The connection ends (closed and lingered, reset, evicted, port
    /// reused, end of capture): settle everything and give the facts.
    /// `evicted` marks an end forced by the table being full.
    pub(crate) fn finish(&mut self, evicted: bool, env: &mut Env<'_>) {
        if !self.decided {
            let first = (self.facts.client, self.facts.server);
            let server = server_by_port(first.0, first.1, &env.cfg.server_ports);
            let client = if server == first.0 { first.1 } else { first.0 };
            self.set_direction(client, server, DirectionEvidence::Port);
            self.replay(first, env);
        }
        let ts = self.last_ts;
        self.flush_stream(0, None, ts, env);
        self.flush_stream(1, None, ts, env);
        let settled = self.settled(evicted);
        settled.apply(&mut self.facts);
        for t in &mut self.track {
            t.probe_outstanding = false;
        }
    }

    /// The facts as they would be if the connection ended at its last
    /// segment, without ending it: nothing is flushed (out-of-order data
    /// stays buffered, the handler sees nothing) and no state changes.
    /// `None` while the direction is undecided (only segments without
    /// payload so far), since deciding it would replay them.
    pub(crate) fn snapshot(&self) -> Option<TcpFacts> {
        if !self.decided {
            return None;
        }
        let mut facts = self.facts.clone();
        self.settled(false).apply(&mut facts);
        Some(facts)
    }

    /// The end-of-connection facts that depend on the state at the end:
    /// shared by [`Conn::finish`] and [`Conn::snapshot`].
    fn settled(&self, evicted: bool) -> Settled {
        // A silence broken only by keepalive probes runs to the last segment.
        let idle = self.last_activity.nanos_until_saturating(self.last_ts);
        let [c, s] = self.states;
        let time_wait = if self.reset {
            Sides::None
        } else {
            let ctw = c == TcpState::TimeWait && state::is_closed(s);
            let stw = s == TcpState::TimeWait && state::is_closed(c);
            match (ctw, stw) {
                (true, true) => Sides::Both,
                (true, false) => Sides::Client,
                (false, true) => Sides::Server,
                (false, false) => Sides::None,
            }
        };
        let end_state = if evicted {
            EndState::Evicted
        } else if self.reset {
            EndState::Reset
        } else if self.facts.first_fin.is_some() && state::is_closed(c) && state::is_closed(s) {
            EndState::Closed
        } else if self.facts.first_fin.is_some() {
            EndState::Closing
        } else {
            EndState::Open
        };
        Settled {
            idle_max_ns: self.facts.idle_max_ns.max(idle),
            unanswered: [
                self.track[0].probe_outstanding,
                self.track[1].probe_outstanding,
            ],
            time_wait,
            end_state,
        }
    }
}

/// See [`Conn::settled`].
struct Settled {
    idle_max_ns: u64,
    /// A keepalive probe from this side is still unanswered.
    unanswered: [bool; 2],
    time_wait: Sides,
    end_state: EndState,
}

impl Settled {
    fn apply(self, facts: &mut TcpFacts) {
        facts.idle_max_ns = self.idle_max_ns;
        for (side, unanswered) in facts.sides.iter_mut().zip(self.unanswered) {
            if unanswered {
                side.keepalive.unanswered += 1;
            }
        }
        facts.time_wait = self.time_wait;
        facts.end_state = self.end_state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Null;
    impl StreamHandler for Null {
        fn on_data(&mut self, _: Direction, _: Timestamp, _: &[u8]) {}
        fn on_gap(&mut self, _: Direction, _: Timestamp, _: u64) {}
        fn on_fin(&mut self, _: Direction, _: Timestamp) {}
        fn on_rst(&mut self, _: Direction, _: Timestamp) {}
        fn on_end(&mut self, _: Timestamp) {}
    }

    /// Memory per tracked connection (before the handler's own), kept in
    /// check: a million of them is the default table size.
    #[test]
    fn connection_state_stays_small() {
        let size = std::mem::size_of::<Conn<Null>>();
        assert!(size <= 1024, "Conn is {size} bytes");
    }

    #[test]
    fn server_by_port_rules() {
        let e = |port| Endpoint {
            ip: std::net::Ipv4Addr::LOCALHOST.into(),
            port,
        };
        assert_eq!(server_by_port(e(80), e(9000), &[9000]), e(9000));
        assert_eq!(server_by_port(e(5000), e(443), &[]), e(443));
        assert_eq!(server_by_port(e(40000), e(8080), &[]), e(8080));
        assert_eq!(server_by_port(e(7), e(7), &[]), e(7));
    }
}
