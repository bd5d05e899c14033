//! One connection's record from hand-built facts: every close reason, every
//! flag, the timing fields and the Community ID.

mod report_support;

use keepwatch::http::Framing as HttpFraming;
use keepwatch::report::*;
use keepwatch::tcp::Side;
use report_support::*;

fn close_ms(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn server_idle_timeout_after_two_exchanges() {
    let r = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 5.0)
        .exchange(505.0, 510.0)
        .fin(Side::Server, 2510.0)
        .build();
    assert_eq!(r.close.reason, CloseReason::ServerIdleTimeout);
    assert_eq!(r.close.initiator, Sides::Server);
    assert_eq!(r.close.by, CloseBy::Fin);
    assert_eq!(r.close.time_wait, Sides::Server);
    assert_eq!(r.close.requested_by, Sides::None);
    assert_eq!(r.close.at, Some(t(2510.0)));
    assert!(close_ms(r.close.idle_before_ms.unwrap(), 2000.0));
    assert_eq!(r.flags, vec![Flag::Reused, Flag::TimeWaitServer]);
    assert_eq!(r.requests, 2);
    assert_eq!(r.idle_gaps_ms.len(), 1);
    assert!(close_ms(r.idle_gaps_ms[0], 500.0));
    assert!(close_ms(r.idle_max_ms.unwrap(), 500.0));
    assert_eq!(r.end_state, EndState::Closed);
    assert_eq!(r.protocol, Protocol::Http1);
}

#[test]
fn client_closed_after_response() {
    let r = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 5.0)
        .fin(Side::Client, 305.0)
        .build();
    assert_eq!(r.close.reason, CloseReason::ClientClosedAfterResponse);
    assert_eq!(r.close.initiator, Sides::Client);
    assert!(close_ms(r.close.idle_before_ms.unwrap(), 300.0));
    assert_eq!(r.flags, vec![Flag::SingleExchange, Flag::TimeWaitClient]);
}

#[test]
fn connection_close_requested_names_the_side() {
    let by_client = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 5.0)
        .close_token(true, false)
        .fin(Side::Server, 5.1)
        .build();
    assert_eq!(
        by_client.close.reason,
        CloseReason::ConnectionCloseRequested
    );
    assert_eq!(by_client.close.requested_by, Sides::Client);

    let by_server = conn(2, "10.0.0.1:40001", 0.0)
        .exchange(2.0, 5.0)
        .close_token(false, true)
        .fin(Side::Server, 5.1)
        .build();
    assert_eq!(
        by_server.close.reason,
        CloseReason::ConnectionCloseRequested
    );
    assert_eq!(by_server.close.requested_by, Sides::Server);

    let both = conn(3, "10.0.0.1:40002", 0.0)
        .exchange(2.0, 5.0)
        .close_token(true, true)
        .fin(Side::Client, 5.1)
        .build();
    assert_eq!(both.close.requested_by, Sides::Both);
    assert_eq!(both.close.reason, CloseReason::ConnectionCloseRequested);
}

#[test]
fn http10_without_keep_alive_requests_close_and_with_it_does_not() {
    let plain = conn(1, "10.0.0.1:40000", 0.0)
        .exchange_with(2.0, 5.0, |e| {
            e.request_version = Some(10);
            e.response_version = Some(10);
            e.persistent = false;
        })
        .fin(Side::Server, 5.1)
        .build();
    assert_eq!(plain.close.reason, CloseReason::ConnectionCloseRequested);
    assert_eq!(plain.close.requested_by, Sides::Both);
    assert_eq!(
        plain.exchanges.as_ref().unwrap()[0]
            .request_version
            .as_deref(),
        Some("1.0")
    );

    let ka = conn(2, "10.0.0.1:40001", 0.0)
        .exchange_with(2.0, 5.0, |e| {
            e.request_version = Some(10);
            e.response_version = Some(10);
            e.request_connection = tokens(&["keep-alive"]);
            e.response_connection = tokens(&["keep-alive"]);
        })
        .fin(Side::Client, 105.0)
        .build();
    assert_eq!(ka.close.requested_by, Sides::None);
    assert_eq!(ka.close.reason, CloseReason::ClientClosedAfterResponse);
}

#[test]
fn close_delimited_body_wins_over_the_close_token() {
    let r = conn(1, "10.0.0.1:40000", 0.0)
        .exchange_with(2.0, 50.0, |e| e.response_framing = HttpFraming::Close)
        .close_token(false, true)
        .fin(Side::Server, 50.0)
        .http(|h| h.close_delimited_on_http11 = true)
        .build();
    assert_eq!(r.close.reason, CloseReason::CloseDelimitedBody);
    assert_eq!(r.close.requested_by, Sides::Server);
    assert!(r.has_flag(Flag::CloseDelimitedHttp11));
    assert_eq!(r.exchanges.as_ref().unwrap()[0].framing, Framing::Close);
}

#[test]
fn max_requests_matches_either_way_of_counting_keep_alive_max() {
    // Apache: `max` is what is left after this response (max=2 on the first
    // of 3).
    let apache = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 3.0)
        .keep_alive(Some(5), Some(2))
        .exchange(10.0, 11.0)
        .keep_alive(Some(5), Some(1))
        .exchange(20.0, 21.0)
        .close_token(false, true)
        .fin(Side::Server, 21.1)
        .build();
    assert_eq!(apache.close.reason, CloseReason::MaxRequests);
    // The total, announced on the first response.
    let total = conn(2, "10.0.0.1:40001", 0.0)
        .exchange(2.0, 3.0)
        .keep_alive(None, Some(3))
        .exchange(10.0, 11.0)
        .exchange(20.0, 21.0)
        .close_token(false, true)
        .fin(Side::Server, 21.1)
        .build();
    assert_eq!(total.close.reason, CloseReason::MaxRequests);
    // A max far from the count is just a requested close.
    let other = conn(3, "10.0.0.1:40002", 0.0)
        .exchange(2.0, 3.0)
        .keep_alive(Some(5), Some(100))
        .exchange(10.0, 11.0)
        .close_token(false, true)
        .fin(Side::Server, 11.1)
        .build();
    assert_eq!(other.close.reason, CloseReason::ConnectionCloseRequested);
}

#[test]
fn keepalive_race_request_after_server_fin_is_lost() {
    // The HTTP layer did not mark `request_after_server_fin`: the report
    // derives it from the timestamps.
    let r = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 5.0)
        .fin(Side::Server, 2005.0)
        .unanswered(2005.3)
        .rst(Side::Server, 2005.5)
        .build();
    assert_eq!(r.close.reason, CloseReason::KeepaliveRace);
    assert_eq!(r.close.initiator, Sides::Server);
    assert_eq!(r.close.by, CloseBy::Fin);
    assert_eq!(r.lost_requests, 1);
    let ex = r.exchanges.as_ref().unwrap();
    assert!(ex[1].lost && ex[1].request_after_server_fin);
    assert!(!ex[0].lost);
    assert!(r.has_flag(Flag::KeepaliveRace));
    assert!(close_ms(r.close.idle_before_ms.unwrap(), 2000.0));
}

#[test]
fn keepalive_race_request_on_idle_connection_answered_by_rst() {
    let r = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 5.0)
        .unanswered(5005.0)
        .rst(Side::Server, 5005.4)
        .build();
    assert_eq!(r.close.reason, CloseReason::KeepaliveRace);
    assert_eq!(r.close.by, CloseBy::Rst);
    assert_eq!(r.lost_requests, 1);

    // The first request of a fresh connection reset by the server is not a
    // race: the connection was never idle.
    let fresh = conn(2, "10.0.0.1:40001", 0.0)
        .unanswered(2.0)
        .rst(Side::Server, 2.5)
        .build();
    assert_eq!(fresh.close.reason, CloseReason::ResetByServer);
    assert_eq!(fresh.lost_requests, 0);
    assert!(!fresh.has_flag(Flag::KeepaliveRace));
}

/// testdata/server-rst.pcap: nginx `return 444` resets a request sent 33 ms
/// after the previous response. Too soon for any idle timeout: the server
/// aborted it, no race.
#[test]
fn rst_after_a_prompt_request_is_reset_by_server_not_a_race() {
    let r = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 5.0)
        .unanswered(38.0)
        .rst(Side::Server, 38.4)
        .build();
    assert_eq!(r.close.reason, CloseReason::ResetByServer);
    assert_eq!(r.lost_requests, 0);
    assert!(!r.has_flag(Flag::KeepaliveRace));
}

#[test]
fn dead_peer_after_unanswered_probes() {
    let with_rst = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 5.0)
        .tcp(|t| {
            let k = &mut t.sides[0].keepalive;
            k.probes = 4;
            k.acks = 1;
            k.unanswered = 3;
            k.first_after_idle_ns = Some(1_000_000_000);
            k.intervals_ns = vec![1_010_000_000, 990_000_000, 1_000_000_000];
            k.ended_in_rst = true;
        })
        .rst(Side::Client, 5000.0)
        .build();
    assert_eq!(with_rst.close.reason, CloseReason::DeadPeer);
    assert!(with_rst.has_flag(Flag::DeadPeer) && with_rst.has_flag(Flag::TcpKeepalive));
    let k = &with_rst.tcp_keepalive.client;
    assert_eq!(
        (k.probes, k.acks, k.unanswered, k.ended_in_rst),
        (4, 1, 3, true)
    );
    assert_eq!(k.first_after_idle_ms, Some(1000.0));
    assert_eq!(
        k.interval_ms,
        Some(Stats {
            min: 990.0,
            median: 1000.0,
            max: 1010.0
        })
    );

    let at_end = conn(2, "10.0.0.1:40001", 0.0)
        .exchange(2.0, 5.0)
        .tcp(|t| {
            t.sides[1].keepalive.probes = 2;
            t.sides[1].keepalive.unanswered = DEAD_PEER_MIN_UNANSWERED;
        })
        .capture_end(9000.0)
        .build();
    assert_eq!(at_end.close.reason, CloseReason::DeadPeer);

    // One unanswered probe as the capture ends proves nothing.
    let one = conn(3, "10.0.0.1:40002", 0.0)
        .exchange(2.0, 5.0)
        .tcp(|t| {
            t.sides[1].keepalive.probes = 1;
            t.sides[1].keepalive.unanswered = 1;
        })
        .capture_end(9000.0)
        .build();
    assert_eq!(one.close.reason, CloseReason::OpenAtCaptureEnd);
    assert!(one.has_flag(Flag::TcpKeepalive) && !one.has_flag(Flag::DeadPeer));
}

#[test]
fn resets_are_attributed_to_their_sender() {
    // A client that resets after reading the response (SO_LINGER 0, or a
    // body left unread).
    let client = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 5.0)
        .rst(Side::Client, 5.2)
        .build();
    assert_eq!(client.close.reason, CloseReason::ResetByClient);
    assert_eq!(client.close.time_wait, Sides::None);
    assert_eq!(client.end_state, EndState::Reset);
    // A server RST on an idle connection with nothing pending.
    let server = conn(2, "10.0.0.1:40001", 0.0)
        .exchange(2.0, 5.0)
        .rst(Side::Server, 3000.0)
        .build();
    assert_eq!(server.close.reason, CloseReason::ResetByServer);
    assert_eq!(server.lost_requests, 0);
    // A FIN then an RST: the FIN came first and decides.
    let fin_then_rst = conn(3, "10.0.0.1:40002", 0.0)
        .exchange(2.0, 5.0)
        .fin(Side::Server, 2005.0)
        .rst(Side::Client, 2005.2)
        .build();
    assert_eq!(fin_then_rst.close.reason, CloseReason::ServerIdleTimeout);
    assert_eq!(fin_then_rst.close.by, CloseBy::Fin);
}

#[test]
fn open_evicted_and_unknown() {
    let open = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 5.0)
        .capture_end(100.0)
        .build();
    assert_eq!(open.close.reason, CloseReason::OpenAtCaptureEnd);
    assert_eq!(open.close.initiator, Sides::None);
    assert_eq!(open.close.by, CloseBy::None);
    assert_eq!(open.close.idle_before_ms, None);

    let evicted = conn(2, "10.0.0.1:40001", 0.0)
        .exchange(2.0, 5.0)
        .tcp(|t| t.end_state = keepwatch::tcp::EndState::Evicted)
        .build();
    assert_eq!(evicted.close.reason, CloseReason::Evicted);
    assert_eq!(evicted.end_state, EndState::Evicted);

    // The client gave up with its request pending.
    let abort = conn(3, "10.0.0.1:40002", 0.0)
        .unanswered(2.0)
        .fin(Side::Client, 30_000.0)
        .build();
    assert_eq!(abort.close.reason, CloseReason::Unknown);

    // No request ever came and the server closed: an idle close too.
    let never_used = conn(4, "10.0.0.1:40003", 0.0)
        .fin(Side::Server, 60_000.0)
        .build();
    assert_eq!(never_used.close.reason, CloseReason::ServerIdleTimeout);
    assert!(close_ms(never_used.close.idle_before_ms.unwrap(), 59_998.5));
}

#[test]
fn declared_timeout_mismatch_from_the_connections_own_header() {
    let early = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 5.0)
        .keep_alive(Some(5), None)
        .fin(Side::Server, 2005.0)
        .build();
    assert!(early.has_flag(Flag::DeclaredTimeoutMismatch));
    let honest = conn(2, "10.0.0.1:40001", 0.0)
        .exchange(2.0, 5.0)
        .keep_alive(Some(2), None)
        .fin(Side::Server, 2005.3)
        .build();
    assert!(!honest.has_flag(Flag::DeclaredTimeoutMismatch));
    // The tolerance is the larger of 1 s and 10%.
    assert!(!timeout_mismatch(5900.0, 5));
    assert!(timeout_mismatch(6100.0, 5));
    assert!(!timeout_mismatch(68_000.0, 75));
    assert!(timeout_mismatch(67_000.0, 75));
}

#[test]
fn protocol_flags() {
    let r = conn(1, "10.0.0.1:40000", 0.0)
        .exchange(2.0, 8.0)
        .exchange_with(3.0, 9.0, |e| {
            e.pipelined = true;
            e.request_after_close = true;
            e.missing_bytes = 10;
        })
        .http(|h| {
            h.pipeline_depth_max = 2;
            h.premature_close = true;
        })
        .tcp(|t| {
            t.mid_stream = true;
            t.direction_by = keepwatch::tcp::DirectionEvidence::Payload;
            t.port_reuse = true;
            t.anomalies.gaps = 1;
            t.anomalies.gap_bytes = 10;
        })
        .fin(Side::Client, 9.5)
        .build();
    for f in [
        Flag::Reused,
        Flag::Pipelined,
        Flag::PrematureClose,
        Flag::ReuseAfterClose,
        Flag::MidStream,
        Flag::CaptureLoss,
        Flag::PortReuse,
        Flag::TimeWaitClient,
    ] {
        assert!(r.has_flag(f), "{f:?} in {:?}", r.flags);
    }
    assert_eq!(r.direction_by, DirectionBy::Payload);
    assert!(!r.has_flag(Flag::SingleExchange));
}

#[test]
fn timing_counts_and_community_id() {
    let r = conn(7, "128.232.110.120:34855", 0.0)
        .server("66.35.250.204:80")
        .exchange(2.0, 12.0)
        .tcp(|t| {
            t.tag.vlan = Some(42);
            t.idle_max_ns = 1_500_000;
            t.anomalies.retransmissions = 3;
        })
        .fin(Side::Client, 20.0)
        .build();
    assert_eq!(r.community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    assert_eq!(r.id, 7);
    assert_eq!(r.vlan, Some(42));
    assert_eq!(r.handshake.rtt_ms, Some(1.5));
    assert_eq!(r.handshake.server_rtt_ms, Some(1.0));
    assert_eq!(r.handshake.client_rtt_ms, Some(0.5));
    assert_eq!(
        r.packets,
        PerDirection {
            to_server: 2,
            to_client: 2
        }
    );
    assert_eq!(
        r.bytes,
        PerDirection {
            to_server: 80,
            to_client: 200
        }
    );
    assert_eq!(r.tcp_idle_max_ms, 1.5);
    assert_eq!(r.anomalies.retransmissions, 3);
    assert!(close_ms(r.duration_ms, 20.4));
    let ex = &r.exchanges.as_ref().unwrap()[0];
    // wait: request last byte (2.1) to response first byte (3.0);
    // duration: request first byte (2.0) to response last byte (12.0).
    assert!(close_ms(ex.wait_ms.unwrap(), 0.9));
    assert!(close_ms(ex.duration_ms.unwrap(), 10.0));
    assert_eq!(ex.framing, Framing::ContentLength);
    let s = r.exchange_summary.as_ref().unwrap();
    assert_eq!(s.kept, 1);
    assert_eq!(s.status_classes.get("2xx"), Some(&1));
}

#[test]
fn extreme_and_inconsistent_facts_do_not_panic_and_still_serialize() {
    use keepwatch::http::{Exchange, HttpFacts};
    use keepwatch::time::Timestamp;
    let lo = Timestamp::from_nanos(i64::MIN + 1_000_000_000);
    let hi = Timestamp::from_nanos(i64::MAX - 1_000_000_000);
    let weird = conn(u64::MAX, "10.0.0.1:1", 0.0)
        .tcp(|t| {
            t.start = hi;
            t.end = lo;
            t.handshake.syn = Some(hi);
            t.handshake.ack = Some(lo);
            t.idle_max_ns = u64::MAX;
            t.sides[0].packets = u64::MAX;
            t.sides[0].keepalive.probes = u64::MAX;
            t.sides[0].keepalive.unanswered = u64::MAX;
            t.sides[0].keepalive.intervals_ns = vec![u64::MAX, 0];
            t.first_fin = Some(keepwatch::tcp::CloseEvent {
                by: Side::Server,
                at: lo,
            });
            t.first_rst = Some(keepwatch::tcp::CloseEvent {
                by: Side::Client,
                at: hi,
            });
        })
        .http(|h: &mut HttpFacts| {
            h.requests = u64::MAX;
            h.exchanges = vec![
                Exchange {
                    status: Some(999),
                    request_version: Some(255),
                    // The largest values a Keep-Alive header keeps.
                    keep_alive: keepwatch::http::KeepAliveParams::new(
                        Some(u64::MAX - 1),
                        Some(u64::MAX - 1),
                    ),
                    response_connection: tokens(&["close"]),
                    response_first: Some(hi),
                    request_last: Some(lo),
                    ..Exchange::default()
                },
                Exchange::default(),
            ];
            h.idle_gaps_ns = vec![u64::MAX];
            h.exchanges_dropped = u64::MAX;
        });
    let rec = weird.build();
    assert_eq!(rec.duration_ms, 0.0);
    let mut agg = Aggregator::default();
    agg.add(&rec);
    agg.add(&conn(1, "10.0.0.1:2", 0.0).build());
    let (servers, summary) = agg.finish();
    let mut w = ReportWriter::new(Vec::new(), Format::Json, WriterOptions::default());
    w.connection(rec.clone()).unwrap();
    let out = w.finish(CaptureInfo::default(), servers, summary).unwrap();
    let back: Report = serde_json::from_slice(&out).unwrap();
    // Equal but for the timestamps, which the RFC 3339 output cuts to
    // microseconds.
    let c = &back.connections[0];
    assert_eq!(c.requests, u64::MAX);
    assert_eq!(c.tcp_keepalive, rec.tcp_keepalive);
    assert_eq!(
        c.exchanges.as_ref().unwrap()[0].keep_alive.max,
        Some(u64::MAX - 1)
    );
    assert_eq!(c.start.nanos() / 1000, rec.start.nanos() / 1000);
}
