//! What each real capture in `testdata/` was made to show (its `NAME.md`
//! note), asserted on the typed report: the verdicts a user reads, stated
//! once per capture so a regression names the fact it broke. The golden
//! reports (tests/golden.rs) pin everything else.

use keepwatch::report::{
    CloseBy, CloseReason, ConnectionRecord, Flag, Format, Report, ReportWriter, Sides,
    WriterOptions,
};

fn report(name: &str) -> Report {
    let mut out = Vec::new();
    let writer = ReportWriter::new(&mut out, Format::Json, WriterOptions::default());
    keepwatch::analyze_files(
        &[format!("testdata/{name}")],
        keepwatch::Config::default(),
        writer,
    )
    .unwrap();
    serde_json::from_slice(&out).expect("the report parses into the model")
}

/// (exchanges, close initiator, close by, reason) per connection.
fn verdicts(r: &Report) -> Vec<(u64, Sides, CloseBy, CloseReason)> {
    r.connections
        .iter()
        .map(|c| (c.requests, c.close.initiator, c.close.by, c.close.reason))
        .collect()
}

fn has(c: &ConnectionRecord, f: Flag) -> bool {
    c.flags.contains(&f)
}

use CloseBy::{Fin, Rst};
use CloseReason::*;

#[test]
fn reuse_and_client_close() {
    let r = report("http11-reuse.pcap");
    assert_eq!(
        verdicts(&r),
        [(3, Sides::Client, Fin, ClientClosedAfterResponse)]
    );
    assert!(has(&r.connections[0], Flag::Reused));
    assert_eq!(r.connections[0].close.time_wait, Sides::Client);
}

#[test]
fn http10_with_and_without_keep_alive() {
    let r = report("http10-close.pcap");
    assert!(r.connections.iter().all(|c| c.requests == 1
        && c.close.reason == ConnectionCloseRequested
        && c.close.initiator == Sides::Server));
    let r = report("http10-keepalive.pcap");
    assert_eq!(
        verdicts(&r),
        [(3, Sides::Client, Fin, ClientClosedAfterResponse)]
    );
}

#[test]
fn connection_close_from_each_side() {
    for (name, by) in [
        ("client-close.pcap", Sides::Client),
        ("server-close.pcap", Sides::Server),
    ] {
        let r = report(name);
        let c = &r.connections[0];
        assert_eq!(c.close.reason, ConnectionCloseRequested, "{name}");
        assert!(
            c.close.requested_by == by || c.close.requested_by == Sides::Both,
            "{name}"
        );
        assert_eq!(c.close.initiator, Sides::Server, "{name}");
    }
}

#[test]
fn nginx_idle_timeout_is_inferred_within_5_percent() {
    let r = report("nginx-idle-timeout.pcap");
    assert_eq!(verdicts(&r), [(2, Sides::Server, Fin, ServerIdleTimeout)]);
    let it = r.servers[0]
        .idle_timeout
        .as_ref()
        .expect("observed idle timeout");
    assert!(
        (it.inferred_ms - 2000.0).abs() <= 100.0,
        "{}",
        it.inferred_ms
    );
    assert_eq!(r.connections[0].close.time_wait, Sides::Server);
}

#[test]
fn advertised_timeout_differs_from_the_observed_one() {
    let r = report("keepalive-header.pcap");
    assert_eq!(verdicts(&r), [(2, Sides::Server, Fin, ServerIdleTimeout)]);
    assert!(has(&r.connections[0], Flag::DeclaredTimeoutMismatch));
    assert!(r.servers[0].declared_timeout_mismatch);
    assert_eq!(r.servers[0].advertised_keep_alive.timeout, Some(5));
}

#[test]
fn nginx_request_cap_recurs() {
    let r = report("nginx-max-requests.pcap");
    assert_eq!(
        verdicts(&r),
        [
            (3, Sides::Server, Fin, ConnectionCloseRequested),
            (3, Sides::Server, Fin, MaxRequests),
            (1, Sides::Client, Fin, ClientClosedAfterResponse),
        ]
    );
    assert_eq!(
        r.servers[0].request_cap.as_ref().map(|c| c.requests),
        Some(3)
    );
}

#[test]
fn close_delimited_response() {
    let r = report("close-delimited.pcap");
    let c = &r.connections[0];
    assert_eq!(c.close.reason, CloseDelimitedBody);
    assert!(has(c, Flag::CloseDelimitedHttp11));
    assert!(!has(c, Flag::PrematureClose));
}

#[test]
fn keepalive_race_loses_the_request() {
    let r = report("keepalive-race.pcap");
    let c = &r.connections[0];
    assert_eq!(c.close.reason, KeepaliveRace);
    assert_eq!(c.close.initiator, Sides::Server);
    assert_eq!(c.lost_requests, 1);
    assert!(has(c, Flag::KeepaliveRace));
    assert_eq!((c.requests, c.responses), (2, 1));
}

#[test]
fn resets_are_attributed() {
    let r = report("client-rst.pcap");
    assert_eq!(verdicts(&r), [(2, Sides::Client, Rst, ResetByClient)]);
    assert_eq!(r.connections[0].close.time_wait, Sides::None);
    // nginx `return 444` right after a prompt request: no race.
    let r = report("server-rst.pcap");
    assert!(r
        .connections
        .iter()
        .all(|c| c.close.reason == ResetByServer && !has(c, Flag::KeepaliveRace)));
}

#[test]
fn tcp_keepalive_answered_and_dead_peer() {
    let r = report("tcp-keepalive-answered.pcap");
    let k = &r.connections[0].tcp_keepalive.client;
    assert_eq!((k.probes, k.acks, k.unanswered), (3, 3, 0));
    let intvl = k.interval_ms.as_ref().unwrap().median;
    assert!(
        (intvl - 1000.0).abs() <= 100.0,
        "TCP_KEEPINTVL 1 s: {intvl}"
    );
    let idle = k.first_after_idle_ms.unwrap();
    assert!((idle - 1000.0).abs() <= 100.0, "TCP_KEEPIDLE 1 s: {idle}");

    let r = report("tcp-keepalive-dead-peer.pcap");
    let c = &r.connections[0];
    assert_eq!(c.close.reason, DeadPeer);
    assert!(has(c, Flag::DeadPeer) && has(c, Flag::TcpKeepalive));
    let k = &c.tcp_keepalive.client;
    assert_eq!((k.probes, k.unanswered, k.ended_in_rst), (3, 3, true));

    let r = report("tcp-keepalive-server.pcap");
    assert_eq!(r.connections[0].tcp_keepalive.server.probes, 3);
    // Zero-window probes are not keepalives (tshark says they are).
    let r = report("zero-window.pcap");
    assert_eq!(r.connections[0].tcp_keepalive.server.probes, 0);
    assert!(r.connections[0].anomalies.zero_window_probes > 0);
}

#[test]
fn missed_reuse_is_counted() {
    let r = report("missed-reuse.pcap");
    let c = &r.servers[0].clients[0];
    assert_eq!((c.http_connections, c.missed_reuse, c.min_pool), (3, 2, 1));
    assert_eq!(r.summary.missed_reuse, 2);
}

#[test]
fn pipelining_and_message_kinds() {
    let r = report("pipelined.pcap");
    let c = &r.connections[0];
    assert!(has(c, Flag::Pipelined));
    assert_eq!((c.requests, c.responses), (4, 4));
    let r = report("head-204-304-continue.pcap");
    assert_eq!(
        (r.connections[0].requests, r.connections[0].responses),
        (5, 5)
    );
    let r = report("upgrade-101.pcap");
    assert_eq!(r.connections[0].requests, 2);
    assert!(r.connections[0].upgrade.is_some());
}

#[test]
fn other_protocols_and_pickups() {
    let r = report("tls.pcap");
    assert_eq!(r.connections[0].requests, 0);
    assert_eq!(
        serde_json::to_value(r.connections[0].protocol).unwrap(),
        "tls"
    );
    let r = report("mid-connection.pcap");
    assert!(has(&r.connections[0], Flag::MidStream));
    assert_eq!(r.connections[0].requests, 2);
    let r = report("port-reuse.pcap");
    assert!(has(&r.connections[1], Flag::PortReuse));
}
