//! From layer facts to one connection's report record: the conversion of
//! times into `*_ms` numbers, the close reason (one ordered rule list, in
//! [`infer_close`]) and the flags (in [`infer_flags`]).
//!
//! Everything here looks at one connection's own facts only; what needs
//! several connections (a server's observed idle timeout, a request cap
//! that recurs, missed reuse) is the [`super::Aggregator`]'s job.
//!
//! Assumption on the HTTP layer: every request has an [`Exchange`], with
//! `status: None` while unanswered, and when `exchanges_dropped > 0` the
//! kept exchanges are the first ones (so rules about "the last exchange"
//! look at the last one kept).

use super::community_id::community_id_tcp;
use super::model::*;
use crate::http::{self, Exchange, HttpFacts};
use crate::tcp::{self, Side, TcpFacts};
use crate::time::Timestamp;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// At the end of the capture, a connection with at least this many
/// unanswered keepalive probes from one side (and no FIN or RST) is a dead
/// peer: one unanswered probe may just be the capture ending before the
/// ACK.
pub const DEAD_PEER_MIN_UNANSWERED: u64 = 2;

/// A request answered by the server's RST counts as a keep-alive race only
/// when the connection had been idle at least this long before it: a server
/// closes idle connections after a timeout of a second or more (nginx,
/// Apache, load balancers), while an RST right after a prompt request is the
/// server aborting it (nginx `return 444`, a crash), which is
/// `reset_by_server`.
pub const RACE_MIN_IDLE_NS: u64 = 1_000_000_000;

/// An idle close "differs" from the advertised `Keep-Alive: timeout` when
/// they are further apart than the larger of this absolute tolerance...
pub const TIMEOUT_TOLERANCE_ABS_MS: f64 = 1000.0;
/// ... and this share of the advertised timeout. (The header has a
/// resolution of one second, and servers' timers fire late by up to their
/// tick, so nothing finer is meaningful.)
pub const TIMEOUT_TOLERANCE_REL: f64 = 0.10;

/// Whether an observed idle timeout differs from the advertised one by more
/// than the tolerance.
pub fn timeout_mismatch(observed_ms: f64, advertised_s: u64) -> bool {
    let declared_ms = advertised_s as f64 * 1000.0;
    let tol = TIMEOUT_TOLERANCE_ABS_MS.max(TIMEOUT_TOLERANCE_REL * declared_ms);
    (observed_ms - declared_ms).abs() > tol
}

fn endpoint(e: &crate::decode::Endpoint) -> EndpointRecord {
    EndpointRecord {
        ip: e.ip,
        port: e.port,
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Milliseconds from `a` to `b`, never negative (capture timestamps can
/// step back a little).
fn span_ms(a: Timestamp, b: Timestamp) -> f64 {
    ms(a.nanos_until_saturating(b))
}

fn opt_span_ms(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<f64> {
    Some(span_ms(a?, b?))
}

fn version(v: Option<http::Version>) -> Option<Cow<'static, str>> {
    v.map(|v| match v {
        9 => Cow::Borrowed("0.9"),
        10 => Cow::Borrowed("1.0"),
        11 => Cow::Borrowed("1.1"),
        _ => Cow::Owned(format!("{}.{}", v / 10, v % 10)),
    })
}

fn framing(f: http::Framing) -> Framing {
    match f {
        http::Framing::None => Framing::None,
        http::Framing::ContentLength => Framing::ContentLength,
        http::Framing::Chunked => Framing::Chunked,
        http::Framing::Close => Framing::Close,
    }
}

fn protocol(p: http::Protocol) -> Protocol {
    match p {
        http::Protocol::None => Protocol::None,
        http::Protocol::Http1 => Protocol::Http1,
        http::Protocol::Tls => Protocol::Tls,
        http::Protocol::Http2 => Protocol::Http2,
        http::Protocol::Other => Protocol::Other,
    }
}

fn sides(s: tcp::Sides) -> Sides {
    match s {
        tcp::Sides::None => Sides::None,
        tcp::Sides::Client => Sides::Client,
        tcp::Sides::Server => Sides::Server,
        tcp::Sides::Both => Sides::Both,
    }
}

fn side(s: Side) -> Sides {
    match s {
        Side::Client => Sides::Client,
        Side::Server => Sides::Server,
    }
}

fn keepalive_side(k: &tcp::KeepaliveFacts) -> KeepaliveSide {
    let mut intervals: Vec<f64> = k.intervals_ns.iter().map(|&n| ms(n)).collect();
    KeepaliveSide {
        probes: k.probes,
        acks: k.acks,
        unanswered: k.unanswered,
        first_after_idle_ms: k.first_after_idle_ns.map(ms),
        interval_ms: Stats::of(&mut intervals),
        ended_in_rst: k.ended_in_rst,
    }
}

/// The first close signal: the earlier of the first FIN and the first RST
/// (the FIN on a tie).
fn first_close(tcp: &TcpFacts) -> Option<(tcp::CloseEvent, CloseBy)> {
    match (tcp.first_fin, tcp.first_rst) {
        (Some(f), Some(r)) if r.at < f.at => Some((r, CloseBy::Rst)),
        (Some(f), _) => Some((f, CloseBy::Fin)),
        (None, Some(r)) => Some((r, CloseBy::Rst)),
        (None, None) => None,
    }
}

fn response_complete(ex: &Exchange) -> bool {
    ex.status.is_some() && !ex.response_incomplete
}

/// Who asked for the close on this exchange: a `close` token, or an
/// HTTP/1.0 message without `keep-alive` (RFC 9112 section 9.3).
fn close_requested_by(ex: &Exchange) -> Sides {
    let client = ex.request_connection.close
        || (ex.request_version == Some(10) && !ex.request_connection.keep_alive);
    let server = ex.status.is_some()
        && (ex.response_connection.close
            || (ex.response_version == Some(10) && !ex.response_connection.keep_alive));
    Sides::from_flags(client, server)
}

/// Marks the requests lost to a keep-alive race; returns how many.
///
/// A request is lost when it got no complete response and either
/// (a) its first byte came after the server's FIN (at the capture point), or
/// (b) the server reset the connection after it, and it was sent on an idle
///     connection: an earlier exchange had completed at least
///     [`RACE_MIN_IDLE_NS`] before it started.
fn mark_lost(tcp: &TcpFacts, exchanges: &mut [ExchangeRecord], facts: &[Exchange]) -> u64 {
    let server_fin = tcp.first_fin.filter(|f| f.by == Side::Server).map(|f| f.at);
    let server_rst = tcp.first_rst.filter(|r| r.by == Side::Server).map(|r| r.at);
    let mut lost = 0;
    let mut prev_done: Option<Timestamp> = None;
    for (rec, ex) in exchanges.iter_mut().zip(facts) {
        let after_fin = match (server_fin, ex.request_first) {
            (Some(fin), Some(req)) => req > fin,
            _ => false,
        };
        rec.request_after_server_fin |= after_fin;
        if !response_complete(ex) {
            let on_idle = match (prev_done, ex.request_first) {
                (Some(done), Some(req)) => done.nanos_until_saturating(req) >= RACE_MIN_IDLE_NS,
                _ => false,
            };
            let reset_after = match (server_rst, ex.request_first) {
                (Some(rst), Some(req)) => rst >= req,
                _ => false,
            };
            if rec.request_after_server_fin || (on_idle && reset_after) {
                rec.lost = true;
                lost += 1;
            }
        }
        if response_complete(ex) {
            prev_done = ex.response_last.or(prev_done);
        }
    }
    lost
}

/// The last data before the close: the latest request or response byte,
/// or payload of either side, at or before `at`; the handshake's end (or
/// the start) if there was none.
fn last_activity_before(tcp: &TcpFacts, http: &HttpFacts, at: Timestamp) -> Timestamp {
    let mut last = tcp.handshake.ack.unwrap_or(tcp.start).min(at);
    let mut see = |t: Option<Timestamp>| {
        if let Some(t) = t.filter(|&t| t <= at) {
            last = last.max(t);
        }
    };
    for ex in &http.exchanges {
        see(ex.request_first);
        see(ex.request_last);
        see(ex.response_first);
        see(ex.response_last);
    }
    see(http.last_response_end);
    for s in &tcp.sides {
        see(s.first_data);
        see(s.last_data);
    }
    last
}

/// What [`infer_close`] looks at, computed once.
pub struct CloseInputs<'a> {
    pub tcp: &'a TcpFacts,
    pub http: &'a HttpFacts,
    pub first_close: Option<(tcp::CloseEvent, CloseBy)>,
    pub initiator: Sides,
    pub requested_by: Sides,
    pub lost_requests: u64,
    /// Requests whose first byte came after the server's FIN.
    pub requests_after_server_fin: u64,
    /// A request (at or before the close) has no complete response.
    pub pending_at_close: bool,
}

/// The close reason: the first rule that matches, in this order. The same
/// list, with the reasons for the order, is in `docs/schema.md`.
pub fn infer_close(c: &CloseInputs<'_>) -> CloseReason {
    let tcp = c.tcp;
    let last = c.http.exchanges.last();
    // 1. The TCP layer dropped the connection from a full table: nothing
    //    after that is known.
    if tcp.end_state == tcp::EndState::Evicted {
        return CloseReason::Evicted;
    }
    // 2. Dead peer: a side's keepalive probes went unanswered and the
    //    connection then ended in an RST, or was still open when the
    //    capture ended with several probes unanswered. Before the RST rules,
    //    since that RST is the kernel giving up on the peer.
    let ka = [&tcp.sides[0].keepalive, &tcp.sides[1].keepalive];
    if ka.iter().any(|k| k.ended_in_rst)
        || (c.first_close.is_none() && ka.iter().any(|k| k.unanswered >= DEAD_PEER_MIN_UNANSWERED))
    {
        return CloseReason::DeadPeer;
    }
    // 3. Keep-alive race: a request went out after the server's FIN, or a
    //    request on an idle connection was answered by the server's RST
    //    (see `mark_lost`). Before the RST and FIN rules because it explains
    //    both the server's close and the client's RST that usually follows.
    if c.lost_requests > 0 || c.requests_after_server_fin > 0 {
        return CloseReason::KeepaliveRace;
    }
    let Some((_, by)) = c.first_close else {
        // 4. No FIN, no RST: still open when the capture ended.
        return CloseReason::OpenAtCaptureEnd;
    };
    // 5. The first close signal was an RST (not explained by 2 or 3): it is
    //    attributed to its sender.
    if by == CloseBy::Rst {
        return match c.initiator {
            Sides::Client => CloseReason::ResetByClient,
            _ => CloseReason::ResetByServer,
        };
    }
    // From here the connection was closed by a FIN.
    if let Some(last) = last {
        // 6. Max requests: the server asked for the close on the N-th
        //    exchange where N is what its first `Keep-Alive: max` allowed.
        //    Servers count `max` differently (Apache sends the requests left
        //    after this one, others the total), so both N = i + m and
        //    N = i + m - 1 match, for `max=m` on exchange i (from 1). The
        //    other half of the rule (one N recurring across connections) is
        //    a server-level finding: see `ServerRecord::request_cap`.
        if c.requested_by.has_server() && response_complete(last) {
            let n = c.http.requests.max(c.http.exchanges.len() as u64);
            let advertised = c
                .http
                .exchanges
                .iter()
                .enumerate()
                .find_map(|(i, e)| e.keep_alive.max().map(|m| (i as u64 + 1, m)));
            if let Some((i, m)) = advertised {
                let total = i.saturating_add(m);
                if n == total || n.saturating_add(1) == total {
                    return CloseReason::MaxRequests;
                }
            }
        }
        // 7. Close-delimited body: the last response had no length, so the
        //    server's close was its end. Before rule 8 because such a
        //    response cannot persist whatever the headers say.
        if last.response_framing == http::Framing::Close && c.initiator.has_server() {
            return CloseReason::CloseDelimitedBody;
        }
        // 8. Connection close requested: the last exchange said `close` (or
        //    was HTTP/1.0 without keep-alive); `close.requested_by` says who.
        if c.requested_by != Sides::None {
            return CloseReason::ConnectionCloseRequested;
        }
        let idle_after_response = response_complete(last) && !c.pending_at_close;
        // 9. The client closed first, after a complete response, with no
        //    request pending.
        if c.initiator == Sides::Client && idle_after_response {
            return CloseReason::ClientClosedAfterResponse;
        }
        // 10. The server closed first an idle connection (complete response,
        //     nothing pending, no close token): its idle timeout, after
        //     `close.idle_before_ms`. Not when the HTTP layer saw no idle
        //     period at all (a premature close): that is no timeout, and it
        //     would drag the server's observed timeout towards zero.
        if c.initiator == Sides::Server && idle_after_response && !c.http.premature_close {
            return CloseReason::ServerIdleTimeout;
        }
    } else if c.initiator == Sides::Server && c.http.protocol == http::Protocol::None {
        // 10b. No request ever came and the server closed: also an idle
        //      timeout (nginx's client_header_timeout, a pre-connected pool
        //      connection never used). The aggregator leaves these out of
        //      the server's keep-alive timeout statistics.
        return CloseReason::ServerIdleTimeout;
    }
    // 11. Anything else: a close with a request pending (client abort or
    //     premature server close), a server close flagged premature, a
    //     simultaneous close, or a stream that is not HTTP/1.x.
    CloseReason::Unknown
}

/// The flags of a connection from its own facts and its inferred close.
pub fn infer_flags(rec: &ConnectionRecord, http: &HttpFacts, tcp: &TcpFacts) -> Vec<Flag> {
    let mut flags = Vec::new();
    let mut set = |f: Flag, on: bool| {
        if on {
            flags.push(f);
        }
    };
    let exchanges = rec.requests.max(http.exchanges.len() as u64);
    set(Flag::Reused, exchanges > 1);
    set(Flag::SingleExchange, exchanges == 1);
    set(
        Flag::Pipelined,
        rec.pipeline_depth_max > 1 || http.exchanges.iter().any(|e| e.pipelined),
    );
    set(
        Flag::KeepaliveRace,
        rec.close.reason == CloseReason::KeepaliveRace || rec.lost_requests > 0,
    );
    set(Flag::PrematureClose, http.premature_close);
    set(
        Flag::ReuseAfterClose,
        http.exchanges.iter().any(|e| e.request_after_close),
    );
    // Only from this connection's own facts: an idle close whose idle time
    // is off from the timeout the last response advertised.
    let advertised = http
        .exchanges
        .iter()
        .rev()
        .find(|e| e.status.is_some())
        .and_then(|e| e.keep_alive.timeout());
    set(
        Flag::DeclaredTimeoutMismatch,
        rec.close.reason == CloseReason::ServerIdleTimeout
            && exchanges > 0
            && match (rec.close.idle_before_ms, advertised) {
                (Some(idle), Some(t)) => timeout_mismatch(idle, t),
                _ => false,
            },
    );
    let ka = &rec.tcp_keepalive;
    set(Flag::TcpKeepalive, ka.client.probes + ka.server.probes > 0);
    set(Flag::DeadPeer, rec.close.reason == CloseReason::DeadPeer);
    set(Flag::MidStream, rec.mid_stream);
    set(
        Flag::CaptureLoss,
        tcp.anomalies.gaps > 0
            || tcp.anomalies.gap_bytes > 0
            || http.exchanges.iter().any(|e| e.missing_bytes > 0),
    );
    set(Flag::TimeWaitClient, rec.close.time_wait.has_client());
    set(Flag::TimeWaitServer, rec.close.time_wait.has_server());
    set(Flag::CloseDelimitedHttp11, http.close_delimited_on_http11);
    set(Flag::PortReuse, rec.port_reuse);
    flags
}

fn exchange_record(ex: &Exchange, uri: Option<String>) -> ExchangeRecord {
    ExchangeRecord {
        method: ex.method.clone(),
        uri,
        status: ex.status,
        request_version: version(ex.request_version),
        response_version: version(ex.response_version),
        request_first: ex.request_first,
        request_last: ex.request_last,
        response_first: ex.response_first,
        response_last: ex.response_last,
        wait_ms: opt_span_ms(ex.request_last, ex.response_first),
        duration_ms: opt_span_ms(ex.request_first, ex.response_last),
        hol_wait_ms: ms(ex.hol_wait_ns),
        request_body_bytes: ex.request_body_bytes,
        response_body_bytes: ex.response_body_bytes,
        framing: framing(ex.response_framing),
        request_framing: framing(ex.request_framing),
        connection: ConnectionHeaders {
            request: ex.request_connection.tokens().to_vec(),
            response: ex.response_connection.tokens().to_vec(),
        },
        keep_alive: KeepAliveRecord {
            timeout: ex.keep_alive.timeout(),
            max: ex.keep_alive.max(),
        },
        persistent: ex.persistent,
        pipelined: ex.pipelined,
        expect_continue: ex.expect_continue,
        interim_responses: ex.interim_responses,
        missing_bytes: ex.missing_bytes,
        request_after_server_fin: ex.request_after_server_fin,
        request_after_close: ex.request_after_close,
        response_incomplete: ex.response_incomplete,
        lost: false,
    }
}

/// [`Stats::of`] the values, sorted on the stack when they are few (most
/// connections carry a handful of exchanges; two vectors per record were a
/// tenth of the allocations on short connections).
fn stats_of(mut values: impl Iterator<Item = f64>) -> Option<Stats> {
    let mut few = [0.0; 32];
    let mut n = 0;
    // `few` first: the zip stops before taking a value it has no room for.
    for (slot, v) in few.iter_mut().zip(&mut values) {
        *slot = v;
        n += 1;
    }
    match values.next() {
        None => Stats::of(few.get_mut(..n).unwrap_or_default()),
        Some(v) => {
            let mut many = few.to_vec();
            many.push(v);
            many.extend(values);
            Stats::of(&mut many)
        }
    }
}

fn exchange_summary(http: &HttpFacts, recs: &[ExchangeRecord]) -> ExchangeSummary {
    let mut status_classes = BTreeMap::new();
    for r in recs {
        if let Some(s) = r.status {
            let class = match s {
                100..=199 => "1xx",
                200..=299 => "2xx",
                300..=399 => "3xx",
                400..=499 => "4xx",
                500..=599 => "5xx",
                _ => "other",
            };
            *status_classes.entry(Cow::Borrowed(class)).or_insert(0) += 1;
        }
    }
    ExchangeSummary {
        kept: recs.len() as u64,
        dropped: http.exchanges_dropped,
        status_classes,
        wait_ms: stats_of(recs.iter().filter_map(|r| r.wait_ms)),
        duration_ms: stats_of(recs.iter().filter_map(|r| r.duration_ms)),
        request_body_bytes: recs
            .iter()
            .fold(0u64, |a, r| a.saturating_add(r.request_body_bytes)),
        response_body_bytes: recs
            .iter()
            .fold(0u64, |a, r| a.saturating_add(r.response_body_bytes)),
    }
}

/// Build the report record of one finished connection.
pub fn build_connection(tcp: &TcpFacts, http: &HttpFacts) -> ConnectionRecord {
    let exchanges = http
        .exchanges
        .iter()
        .map(|ex| exchange_record(ex, ex.uri.as_deref().map(str::to_owned)))
        .collect();
    assemble(tcp, http, exchanges)
}

/// [`build_connection`] of a connection that is done with its facts: the
/// request targets move into the record instead of being copied (`http`
/// is left without them).
pub(crate) fn build_final(tcp: &TcpFacts, http: &mut HttpFacts) -> ConnectionRecord {
    let exchanges = http
        .exchanges
        .iter_mut()
        .map(|ex| {
            let uri = ex.uri.take().map(String::from);
            exchange_record(ex, uri)
        })
        .collect();
    assemble(tcp, http, exchanges)
}

fn assemble(
    tcp: &TcpFacts,
    http: &HttpFacts,
    mut exchanges: Vec<ExchangeRecord>,
) -> ConnectionRecord {
    let [cs, ss] = &tcp.sides;
    let hs = &tcp.handshake;
    let lost_requests = mark_lost(tcp, &mut exchanges, &http.exchanges);

    let first_close = first_close(tcp);
    let initiator = if tcp.simultaneous_close {
        Sides::Both
    } else {
        first_close.map_or(Sides::None, |(e, _)| side(e.by))
    };
    let at = first_close.map(|(e, _)| e.at);
    let pending_at_close = at.is_some_and(|at| {
        http.exchanges
            .iter()
            .any(|e| e.request_first.is_some_and(|r| r <= at) && !response_complete(e))
    });
    let requested_by = http
        .exchanges
        .last()
        .map_or(Sides::None, close_requested_by);
    let inputs = CloseInputs {
        tcp,
        http,
        first_close,
        initiator,
        requested_by,
        lost_requests,
        requests_after_server_fin: exchanges
            .iter()
            .filter(|e| e.request_after_server_fin)
            .count() as u64,
        pending_at_close,
    };
    let reason = infer_close(&inputs);
    let idle_before_ms = at.map(|at| span_ms(last_activity_before(tcp, http, at), at));

    let gaps: Vec<f64> = http.idle_gaps_ns.iter().map(|&n| ms(n)).collect();
    let idle_max_ms = gaps.iter().copied().reduce(f64::max);
    let summary = exchange_summary(http, &exchanges);

    let mut rec = ConnectionRecord {
        final_: true,
        id: tcp.id,
        client: endpoint(&tcp.client),
        server: endpoint(&tcp.server),
        vlan: tcp.tag.vlan,
        tunnel_id: tcp.tag.tunnel_id,
        start: tcp.start,
        end: tcp.end,
        duration_ms: span_ms(tcp.start, tcp.end),
        mid_stream: tcp.mid_stream,
        direction_by: match tcp.direction_by {
            tcp::DirectionEvidence::Syn => DirectionBy::Syn,
            tcp::DirectionEvidence::SynAck => DirectionBy::SynAck,
            tcp::DirectionEvidence::Payload => DirectionBy::Payload,
            tcp::DirectionEvidence::Port => DirectionBy::Port,
        },
        port_reuse: tcp.port_reuse,
        handshake: HandshakeRecord {
            syn: hs.syn,
            syn_ack: hs.syn_ack,
            ack: hs.ack,
            rtt_ms: opt_span_ms(hs.syn, hs.ack),
            server_rtt_ms: opt_span_ms(hs.syn, hs.syn_ack),
            client_rtt_ms: opt_span_ms(hs.syn_ack, hs.ack),
        },
        packets: PerDirection {
            to_server: cs.packets,
            to_client: ss.packets,
        },
        bytes: PerDirection {
            to_server: cs.bytes,
            to_client: ss.bytes,
        },
        stream_bytes: PerDirection {
            to_server: cs.stream_bytes,
            to_client: ss.stream_bytes,
        },
        close: CloseRecord {
            initiator,
            by: first_close.map_or(CloseBy::None, |(_, b)| b),
            time_wait: sides(tcp.time_wait),
            at,
            reason,
            requested_by,
            idle_before_ms,
            simultaneous: tcp.simultaneous_close,
            half_close: tcp.half_close,
        },
        end_state: match tcp.end_state {
            tcp::EndState::Open => EndState::Open,
            tcp::EndState::Closing => EndState::Closing,
            tcp::EndState::Closed => EndState::Closed,
            tcp::EndState::Reset => EndState::Reset,
            tcp::EndState::Evicted => EndState::Evicted,
        },
        tcp_keepalive: TcpKeepaliveRecord {
            client: keepalive_side(&cs.keepalive),
            server: keepalive_side(&ss.keepalive),
        },
        tcp_idle_max_ms: ms(tcp.idle_max_ns),
        anomalies: AnomaliesRecord {
            retransmissions: tcp.anomalies.retransmissions,
            out_of_order: tcp.anomalies.out_of_order,
            overlap_conflicts: tcp.anomalies.overlap_conflicts,
            gaps: tcp.anomalies.gaps,
            gap_bytes: tcp.anomalies.gap_bytes,
            zero_window_probes: tcp.anomalies.zero_window_probes,
        },
        community_id: community_id_tcp(
            tcp.client.ip,
            tcp.client.port,
            tcp.server.ip,
            tcp.server.port,
        ),
        protocol: protocol(http.protocol),
        requests: http.requests,
        responses: http.responses,
        exchanges: Some(exchanges),
        exchange_summary: Some(summary),
        idle_gaps_ms: gaps,
        idle_max_ms,
        pipeline_depth_max: http.pipeline_depth_max,
        unanswered_requests: http.unanswered_requests,
        unmatched_responses: http.unmatched_responses,
        http_errors: HttpErrorsRecord {
            head_too_large: http.errors.head_too_large,
            too_many_headers: http.errors.too_many_headers,
            malformed_head: http.errors.malformed_head,
            bad_content_length: http.errors.bad_content_length,
            bad_chunk: http.errors.bad_chunk,
            resync_skipped_bytes: http.errors.resync_skipped_bytes,
            out_of_sync: http.errors.out_of_sync,
            pending_overflow: http.errors.pending_overflow,
        },
        upgrade: http.upgrade.clone(),
        lost_requests,
        flags: Vec::new(),
    };
    rec.flags = infer_flags(&rec, http, tcp);
    rec
}

#[cfg(test)]
pub(crate) use tests::sample_facts;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Endpoint;
    use crate::http::Protocol as HttpProtocol;
    use crate::tcp::{CloseEvent, DirectionEvidence, Handshake};

    const MS: i64 = 1_000_000;

    /// The facts of connection `id` from 10.0.0.1 to 10.0.0.2:80: one
    /// exchange at `start`, closed by the client at `close`.
    pub(crate) fn sample_facts(id: u64, start_ms: i64, close_ms: i64) -> (TcpFacts, HttpFacts) {
        let ts = |ms: i64| Timestamp::from_nanos(ms * MS);
        let tcp = TcpFacts {
            id,
            client: Endpoint {
                ip: "10.0.0.1".parse().unwrap(),
                port: 1024 + (id % 60_000) as u16,
            },
            server: Endpoint {
                ip: "10.0.0.2".parse().unwrap(),
                port: 80,
            },
            tag: Default::default(),
            start: ts(start_ms),
            end: ts(close_ms),
            mid_stream: false,
            direction_by: DirectionEvidence::Syn,
            port_reuse: false,
            handshake: Handshake::default(),
            sides: Default::default(),
            first_fin: Some(CloseEvent {
                by: Side::Client,
                at: ts(close_ms),
            }),
            first_rst: None,
            simultaneous_close: false,
            half_close: false,
            time_wait: tcp::Sides::Client,
            end_state: tcp::EndState::Closed,
            idle_max_ns: 0,
            anomalies: Default::default(),
        };
        let http = HttpFacts {
            protocol: HttpProtocol::Http1,
            requests: 1,
            responses: 1,
            exchanges: vec![Exchange {
                status: Some(200),
                request_first: Some(ts(start_ms + 1)),
                response_last: Some(ts(start_ms + 2)),
                persistent: true,
                ..Exchange::default()
            }],
            ..HttpFacts::default()
        };
        (tcp, http)
    }

    #[test]
    fn a_final_record_is_the_record_of_the_same_facts() {
        let (tcp, mut http) = sample_facts(7, 100, 200);
        let ex = &mut http.exchanges[0];
        ex.method = Some(Cow::Borrowed("GET"));
        ex.uri = Some("/a?b=c".into());
        ex.request_version = Some(11);
        ex.response_version = Some(10);
        ex.request_connection.push_token(Cow::Borrowed("close"));
        ex.response_connection
            .push_token(Cow::Owned("x-custom".into()));
        let shared = build_connection(&tcp, &http);
        let moved = build_final(&tcp, &mut http);
        assert_eq!(moved, shared);
        let e = &moved.exchanges.as_ref().unwrap()[0];
        assert_eq!(e.uri.as_deref(), Some("/a?b=c"));
        // The common strings borrow: no allocation each.
        assert!(matches!(e.method, Some(Cow::Borrowed("GET"))));
        assert!(matches!(e.request_version, Some(Cow::Borrowed("1.1"))));
        assert!(matches!(e.response_version, Some(Cow::Borrowed("1.0"))));
        assert!(matches!(e.connection.request[..], [Cow::Borrowed("close")]));
        assert_eq!(e.connection.response, ["x-custom"]);
    }

    #[test]
    fn stats_of_few_and_many_values_are_those_of_the_sorted_values() {
        for n in [0usize, 1, 2, 31, 32, 33, 100] {
            let values: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 / 4.0).collect();
            let mut sorted = values.clone();
            assert_eq!(stats_of(values.into_iter()), Stats::of(&mut sorted), "{n}");
        }
    }

    #[test]
    fn versions_read_as_major_dot_minor() {
        assert_eq!(version(Some(9)).as_deref(), Some("0.9"));
        assert_eq!(version(Some(11)).as_deref(), Some("1.1"));
        assert_eq!(version(Some(20)).as_deref(), Some("2.0"));
        assert_eq!(version(None), None);
    }
}
