//! The aggregator: a server's observed idle timeout, its request cap,
//! missed reuse and the minimum pool on a hand-made timeline, TIME_WAIT and
//! race findings, and filtering.

mod report_support;

use keepwatch::report::*;
use keepwatch::tcp::Side;
use report_support::*;

/// Feeds records in the order their connections end, as the analyzer does.
/// Folds records as the analyzer does: in end order, each refined by what
/// came before it, then added.
fn aggregate(recs: Vec<ConnectionRecord>, agg: &mut Aggregator) -> Vec<bool> {
    refined(recs, agg).1
}

fn refined(
    mut recs: Vec<ConnectionRecord>,
    agg: &mut Aggregator,
) -> (Vec<ConnectionRecord>, Vec<bool>) {
    recs.sort_by_key(|r| (r.end, r.id));
    let kept = recs
        .iter_mut()
        .map(|r| {
            agg.refine(r);
            agg.add(r)
        })
        .collect();
    (recs, kept)
}

fn messages(s: &Summary) -> Vec<&str> {
    s.findings.iter().map(|f| f.message.as_str()).collect()
}

fn idle_closes(idles_ms: &[f64], advertised: Option<u64>) -> Vec<ConnectionRecord> {
    idles_ms
        .iter()
        .enumerate()
        .map(|(i, idle)| {
            let start = i as f64 * 10_000.0;
            conn(i as u64 + 1, &format!("10.0.0.1:{}", 40000 + i), start)
                .exchange(start + 2.0, start + 5.0)
                .keep_alive(advertised, None)
                .fin(Side::Server, start + 5.0 + idle)
                .build()
        })
        .collect()
}

#[test]
fn observed_idle_timeout_and_declared_mismatch() {
    let mut agg = Aggregator::default();
    aggregate(
        idle_closes(&[1980.0, 2000.0, 2010.0, 2030.0, 1990.0], Some(5)),
        &mut agg,
    );
    let (servers, summary) = agg.finish();
    assert_eq!(servers.len(), 1);
    let s = &servers[0];
    let it = s.idle_timeout.as_ref().unwrap();
    assert_eq!(it.closes, 5);
    assert_eq!(
        it.idle_before_ms,
        Stats {
            min: 1980.0,
            median: 2000.0,
            max: 2030.0
        }
    );
    assert_eq!(it.inferred_ms, 2000.0);
    assert_eq!(s.advertised_keep_alive.timeout, Some(5));
    assert_eq!(s.advertised_keep_alive.responses, 5);
    assert!(s.declared_timeout_mismatch);
    assert_eq!(
        s.close_reasons.get(&CloseReason::ServerIdleTimeout),
        Some(&5)
    );
    assert_eq!(s.close_initiators.get(&Sides::Server), Some(&5));
    assert!(messages(&summary).contains(
        &"10.0.0.2:80 closes idle connections after 2.0 s (5 closes, 1.98 to 2.03 s) but advertises timeout=5: clients that trust the header will race it"
    ));
    assert_eq!(
        summary.findings[0].kind,
        FindingKind::DeclaredTimeoutMismatch
    );
}

#[test]
fn honest_idle_timeout_is_stated_without_mismatch() {
    let mut agg = Aggregator::default();
    aggregate(idle_closes(&[2000.0, 2001.0, 2002.0], Some(2)), &mut agg);
    let (servers, summary) = agg.finish();
    assert!(!servers[0].declared_timeout_mismatch);
    assert_eq!(
        messages(&summary),
        vec!["10.0.0.2:80 closes idle connections after 2.0 s (3 closes, 2.00 to 2.00 s): keep client idle pool timeouts below that"]
    );
    // One close is enough to state what was seen, with its count.
    let mut agg = Aggregator::default();
    aggregate(idle_closes(&[2000.0], None), &mut agg);
    let (servers, summary) = agg.finish();
    assert_eq!(servers[0].idle_timeout.as_ref().unwrap().closes, 1);
    assert_eq!(
        messages(&summary),
        vec!["10.0.0.2:80 closes idle connections after 2.0 s (1 close, 2.00 to 2.00 s): keep client idle pool timeouts below that"]
    );
}

#[test]
fn request_cap_recurs_across_connections() {
    let recs = (0..4)
        .map(|i| {
            let s = i as f64 * 1000.0;
            conn(i + 1, &format!("10.0.0.1:{}", 40000 + i), s)
                .exchange(s + 2.0, s + 3.0)
                .exchange(s + 10.0, s + 11.0)
                .exchange(s + 20.0, s + 21.0)
                .close_token(false, true)
                .fin(Side::Server, s + 21.1)
                .build()
        })
        .collect();
    let mut agg = Aggregator::default();
    let (recs, _) = refined(recs, &mut agg);
    // The first capped connection cannot be known as such when it ends;
    // every later one with the same count can.
    let reasons: Vec<CloseReason> = recs.iter().map(|r| r.close.reason).collect();
    assert_eq!(
        reasons,
        [
            CloseReason::ConnectionCloseRequested,
            CloseReason::MaxRequests,
            CloseReason::MaxRequests,
            CloseReason::MaxRequests
        ]
    );
    let (servers, summary) = agg.finish();
    assert_eq!(
        servers[0].request_cap,
        Some(RequestCapRecord {
            requests: 3,
            connections: 4,
            of: 4
        })
    );
    assert_eq!(servers[0].exchanges, 12);
    assert_eq!(servers[0].exchanges_per_connection.mean, 3.0);
    assert_eq!(servers[0].reuse_share, 1.0);
    assert!(messages(&summary).iter().any(|m| m.starts_with(
        "10.0.0.2:80 closes connections after 3 requests (4 of 4 closes it asked for)"
    )));
}

/// One request per connection with `Connection: close` from the server is
/// keep-alive switched off, not a request cap: N = 1 never makes
/// `max_requests`.
#[test]
fn single_exchange_server_closes_are_not_a_request_cap() {
    let recs = (0..3)
        .map(|i| {
            let s = i as f64 * 1000.0;
            conn(i + 1, &format!("10.0.0.1:{}", 40000 + i), s)
                .exchange(s + 2.0, s + 3.0)
                .close_token(false, true)
                .fin(Side::Server, s + 3.1)
                .build()
        })
        .collect();
    let mut agg = Aggregator::default();
    let (recs, _) = refined(recs, &mut agg);
    assert!(recs
        .iter()
        .all(|r| r.close.reason == CloseReason::ConnectionCloseRequested));
}

/// 12 waves, one a second; each wave opens 6 connections that send one
/// request each (busy 100 ms), then sit idle and reusable until the server
/// closes them 2 s later. Every connection of waves 1..11 was opened while
/// the previous wave's were idle: 66 missed reuses, 72 connections where 6
/// would do.
fn waves() -> Vec<ConnectionRecord> {
    let mut recs = Vec::new();
    let mut id = 0;
    for w in 0..12 {
        for k in 0..6 {
            id += 1;
            let s = w as f64 * 1000.0 + k as f64 * 0.01;
            recs.push(
                conn(id, &format!("10.0.0.1:{}", 40000 + id), s)
                    .exchange(s + 10.0, s + 110.0)
                    .fin(Side::Server, s + 2110.0)
                    .build(),
            );
        }
    }
    recs
}

#[test]
fn missed_reuse_and_min_pool_on_a_timeline() {
    let mut agg = Aggregator::default();
    aggregate(waves(), &mut agg);
    let (servers, summary) = agg.finish();
    let s = &servers[0];
    assert_eq!(s.clients.len(), 1);
    let c = &s.clients[0];
    assert_eq!(c.http_connections, 72);
    assert_eq!(c.min_pool, 6);
    assert_eq!(c.missed_reuse, 66);
    assert!(!c.approximate);
    assert_eq!(s.missed_reuse, 66);
    assert_eq!(s.connections_needed, 6);
    assert_eq!(summary.missed_reuse, 66);
    assert!(messages(&summary).contains(
        &"client 10.0.0.1 opened 72 connections to 10.0.0.2:80 where 6 would have served (66 opened while an idle one was available): responses not read to the end, or pool size"
    ));
}

#[test]
fn no_missed_reuse_when_idle_connections_are_gone_before_the_next_wave() {
    // Same waves, but the server closes each connection 0.8 s after its
    // response, before the next wave opens: nothing idle was available.
    let recs = waves()
        .into_iter()
        .map(|mut r| {
            let done = r.exchanges.as_ref().unwrap()[0].response_last.unwrap();
            let at = keepwatch::time::Timestamp::from_nanos(done.nanos() + 800_000_000);
            r.close.at = Some(at);
            r.end = at;
            r
        })
        .collect();
    let mut agg = Aggregator::default();
    aggregate(recs, &mut agg);
    let (servers, summary) = agg.finish();
    let c = &servers[0].clients[0];
    assert_eq!((c.missed_reuse, c.min_pool, c.client_closed), (0, 6, 0));
    // The server closed them: redialling was needed, no advice to the
    // client.
    assert!(!messages(&summary)
        .iter()
        .any(|m| m.starts_with("client 10.0.0.1 opened")));

    // The same timeline with the client closing each connection itself
    // 0.8 s after its response: churn of its own making.
    let recs = waves()
        .into_iter()
        .enumerate()
        .map(|(i, _)| {
            let w = (i / 6) as f64;
            let k = (i % 6) as f64;
            let s = w * 1000.0 + k * 0.01;
            conn(i as u64 + 1, &format!("10.0.0.1:{}", 40001 + i), s)
                .exchange(s + 10.0, s + 110.0)
                .fin(Side::Client, s + 910.0)
                .build()
        })
        .collect();
    let mut agg = Aggregator::default();
    aggregate(recs, &mut agg);
    let (servers, summary) = agg.finish();
    let c = &servers[0].clients[0];
    assert_eq!((c.missed_reuse, c.min_pool, c.client_closed), (0, 6, 72));
    assert!(messages(&summary).contains(
        &"client 10.0.0.1 opened 72 connections to 10.0.0.2:80 where 6 would have served: responses not read to the end, or pool size"
    ));
}

#[test]
fn missed_reuse_does_not_depend_on_arrival_order() {
    // Reverse end order: every record arrives before the ones that started
    // earlier, so nothing can be swept until the end.
    let mut recs = waves();
    recs.sort_by_key(|r| std::cmp::Reverse(r.id));
    let mut agg = Aggregator::default();
    for r in &recs {
        agg.add(r);
    }
    let (servers, _) = agg.finish();
    let c = &servers[0].clients[0];
    assert_eq!((c.missed_reuse, c.min_pool, c.approximate), (66, 6, false));
}

#[test]
fn sequential_reuse_misses_nothing_and_churn_is_reported() {
    // One connection reused for ten requests: nothing missed, pool of one.
    let mut c = conn(1, "10.0.0.1:40000", 0.0);
    for i in 0..10 {
        let s = 10.0 + i as f64 * 100.0;
        c = c.exchange(s, s + 5.0);
    }
    let mut agg = Aggregator::default();
    aggregate(vec![c.fin(Side::Client, 2000.0).build()], &mut agg);
    let (servers, summary) = agg.finish();
    let cl = &servers[0].clients[0];
    assert_eq!(
        (cl.missed_reuse, cl.min_pool, cl.http_connections),
        (0, 1, 1)
    );
    assert!(summary.findings.is_empty());

    // Ten one-shot connections, one after the other, each closed by the
    // client after its response: no idle connection was ever available, but
    // one connection would have served them all.
    let recs = (0..10)
        .map(|i| {
            let s = i as f64 * 100.0;
            conn(i + 1, &format!("10.0.0.1:{}", 40000 + i), s)
                .exchange(s + 2.0, s + 5.0)
                .fin(Side::Client, s + 5.5)
                .build()
        })
        .collect();
    let mut agg = Aggregator::default();
    aggregate(recs, &mut agg);
    let (servers, summary) = agg.finish();
    let cl = &servers[0].clients[0];
    assert_eq!(
        (cl.missed_reuse, cl.min_pool, cl.http_connections),
        (0, 1, 10)
    );
    assert!(messages(&summary).contains(
        &"client 10.0.0.1 opened 10 connections to 10.0.0.2:80 where 1 would have served: responses not read to the end, or pool size"
    ));
}

#[test]
fn time_wait_and_race_findings() {
    let mut recs = idle_closes(&[2000.0; 10], None);
    // Three races on three more connections.
    for i in 0..3u64 {
        let s = 200_000.0 + i as f64 * 10_000.0;
        recs.push(
            conn(11 + i, &format!("10.0.0.9:{}", 50000 + i), s)
                .exchange(s + 2.0, s + 5.0)
                .fin(Side::Server, s + 2005.0)
                .unanswered(s + 2005.2)
                .rst(Side::Server, s + 2005.4)
                .build(),
        );
    }
    let mut agg = Aggregator::default();
    aggregate(recs, &mut agg);
    let (servers, summary) = agg.finish();
    assert_eq!(servers[0].keepalive_races, 3);
    assert_eq!(servers[0].lost_requests, 3);
    assert_eq!(summary.keepalive_races, 3);
    let m = messages(&summary);
    assert!(m.contains(
        &"3 requests to 10.0.0.2:80 hit a closing connection (keep-alive race): the client's idle pool timeout is longer than the server's 2.0 s; keep it below"
    ), "{m:#?}");
    assert!(m.contains(
        &"server 10.0.0.2:80 holds TIME_WAIT for 100% of its connections: it closes first; a server idle timeout longer than the clients' moves TIME_WAIT to them"
    ), "{m:#?}");
}

#[test]
fn filter_restricts_servers_and_summary() {
    let recs = vec![
        conn(1, "10.0.0.1:40000", 0.0)
            .exchange(2.0, 5.0)
            .fin(Side::Client, 10.0)
            .build(),
        conn(2, "10.0.0.1:40001", 1.0)
            .server("10.0.0.3:8080")
            .exchange(3.0, 5.0)
            .fin(Side::Client, 11.0)
            .build(),
        conn(3, "10.0.0.7:40002", 2.0)
            .server("10.0.0.3:8080")
            .exchange(4.0, 5.0)
            .exchange(6.0, 7.0)
            .fin(Side::Client, 12.0)
            .build(),
    ];
    let filter = ReportFilter {
        server: Some("10.0.0.3:8080".parse().unwrap()),
        ..ReportFilter::default()
    };
    let mut agg = Aggregator::with_filter(filter);
    assert_eq!(aggregate(recs.clone(), &mut agg), vec![false, true, true]);
    let (servers, summary) = agg.finish();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].server.to_string(), "10.0.0.3:8080");
    assert_eq!(summary.connections, 2);
    assert_eq!(summary.filtered_out, 1);
    assert_eq!(summary.exchanges, 3);

    let by_client = ReportFilter {
        client: Some("10.0.0.7".parse().unwrap()),
        ..ReportFilter::default()
    };
    assert_eq!(
        recs.iter().map(|r| by_client.keep(r)).collect::<Vec<_>>(),
        vec![false, false, true]
    );
    let only = ReportFilter {
        only: vec!["reused".parse().unwrap()],
        ..ReportFilter::default()
    };
    assert_eq!(
        recs.iter().map(|r| only.keep(r)).collect::<Vec<_>>(),
        vec![false, false, true]
    );
    let any_port = ReportFilter {
        server: Some("10.0.0.3".parse().unwrap()),
        ..ReportFilter::default()
    };
    assert!(any_port.keep(&recs[1]) && !any_port.keep(&recs[0]));
    assert!("no_such_flag".parse::<Flag>().is_err());
}

#[test]
fn summary_counts() {
    let recs = vec![
        conn(1, "10.0.0.1:40000", 0.0)
            .exchange(2.0, 5.0)
            .exchange(10.0, 12.0)
            .fin(Side::Server, 2012.0)
            .build(),
        conn(2, "10.0.0.1:40001", 1.0)
            .exchange(3.0, 5.0)
            .rst(Side::Client, 6.0)
            .tcp(|t| {
                t.anomalies.gaps = 2;
                t.anomalies.gap_bytes = 1400;
            })
            .build(),
        conn(3, "10.0.0.1:40002", 2.0).capture_end(100.0).build(),
    ];
    let mut agg = Aggregator::default();
    aggregate(recs, &mut agg);
    let (_, s) = agg.finish();
    assert_eq!(s.connections, 3);
    assert_eq!(s.exchanges, 3);
    assert_eq!(s.exchanges_per_connection.max, 2);
    assert_eq!(s.reused_connections, 1);
    assert_eq!(
        s.close_reasons.get(&CloseReason::ServerIdleTimeout),
        Some(&1)
    );
    assert_eq!(s.close_reasons.get(&CloseReason::ResetByClient), Some(&1));
    assert_eq!(
        s.close_reasons.get(&CloseReason::OpenAtCaptureEnd),
        Some(&1)
    );
    assert_eq!(s.time_wait.get(&Sides::Server), Some(&1));
    assert_eq!(s.protocols.get(&Protocol::Http1), Some(&2));
    assert_eq!(s.protocols.get(&Protocol::None), Some(&1));
    assert_eq!(
        s.capture_loss,
        CaptureLossSummary {
            connections: 1,
            gaps: 2,
            gap_bytes: 1400
        }
    );
    assert!(messages(&s).contains(
        &"the capture lost 1400 bytes in 1 connection (2 gaps): results for those are less certain; capture with a larger buffer"
    ));
}

#[test]
fn keepalive_dead_peer_and_protocol_violation_findings() {
    let probed = |id: u64, s: f64, dead: bool| {
        conn(id, &format!("10.0.0.1:{}", 40000 + id), s)
            .exchange(s + 2.0, s + 5.0)
            .tcp(|t| {
                let k = &mut t.sides[0].keepalive;
                k.probes = 3;
                k.acks = if dead { 0 } else { 3 };
                k.unanswered = if dead { 3 } else { 0 };
                k.first_after_idle_ns = Some(7_000_000_000);
                k.intervals_ns = vec![1_000_000_000, 1_000_000_000];
                k.ended_in_rst = dead;
            })
    };
    let recs = vec![
        probed(1, 0.0, false).fin(Side::Client, 20_000.0).build(),
        probed(2, 100.0, true).rst(Side::Client, 20_000.0).build(),
        conn(3, "10.0.0.1:40003", 200.0)
            .exchange(202.0, 205.0)
            .close_token(false, true)
            .exchange_with(206.0, 210.0, |e| e.request_after_close = true)
            .http(|h| h.premature_close = true)
            .fin(Side::Server, 210.5)
            .build(),
    ];
    let mut agg = Aggregator::default();
    aggregate(recs, &mut agg);
    let (servers, summary) = agg.finish();
    // The premature close is no idle timeout.
    assert_eq!(
        servers[0].close_reasons.get(&CloseReason::Unknown),
        Some(&1)
    );
    assert!(servers[0].idle_timeout.is_none());
    let ka = &servers[0].tcp_keepalive;
    assert_eq!(ka.client.connections, 2);
    assert_eq!(ka.client.probes, 6);
    assert_eq!(ka.client.unanswered, 3);
    assert_eq!(ka.client.first_after_idle_ms.unwrap().median, 7000.0);
    assert_eq!(ka.client.interval_ms.unwrap().median, 1000.0);
    assert_eq!(ka.server.connections, 0);
    assert_eq!(ka.dead_peers, 1);
    let m = messages(&summary);
    for want in [
        "1 connection to 10.0.0.2:80 ended after unanswered TCP keepalive probes (dead peer)",
        "client TCP keepalive probes on 2 connections to 10.0.0.2:80, first after 7.0 s idle, every 1.0 s: probes carry no data and do not reset HTTP or load-balancer idle timers",
        "1 connection carried a request after a response that said Connection: close: the client ignores close",
        "1 connection closed by the server without an idle period after it promised to keep them open (premature close)",
    ] {
        assert!(m.contains(&want), "{want:?} not in {m:#?}");
    }
}

#[test]
fn server_closing_later_than_advertised() {
    let mut agg = Aggregator::default();
    aggregate(idle_closes(&[5000.0, 5010.0, 5020.0], Some(2)), &mut agg);
    let (servers, summary) = agg.finish();
    assert!(servers[0].declared_timeout_mismatch);
    assert_eq!(
        messages(&summary),
        vec!["10.0.0.2:80 closes idle connections after 5.0 s (3 closes, 5.00 to 5.02 s) but advertises timeout=2: clients that trust the header give up connections it would keep"]
    );
}

#[test]
fn missed_reuse_findings_are_bounded_per_server() {
    // Eight clients, each with ten one-shot connections in a row.
    let mut recs = Vec::new();
    let mut id = 0;
    for client in 0..8u64 {
        for i in 0..10u64 {
            id += 1;
            let s = (client * 10 + i) as f64 * 100.0;
            recs.push(
                conn(id, &format!("10.0.1.{client}:{}", 40000 + i), s)
                    .exchange(s + 2.0, s + 5.0)
                    .fin(Side::Client, s + 5.5)
                    .build(),
            );
        }
    }
    let mut agg = Aggregator::default();
    aggregate(recs, &mut agg);
    let (servers, summary) = agg.finish();
    assert_eq!(servers[0].clients.len(), 8);
    let m: Vec<&str> = summary
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::MissedReuse)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(m.len(), MAX_PAIR_FINDINGS + 1, "{m:#?}");
    assert_eq!(
        m[MAX_PAIR_FINDINGS],
        "3 more clients opened 27 more connections to 10.0.0.2:80 than they needed (see servers[].clients)"
    );
}

/// One request per connection, the client closing each: the clients pile
/// up TIME_WAIT. With reuse the same closes say nothing.
#[test]
fn client_time_wait_churn_is_a_finding() {
    let one_shot: Vec<ConnectionRecord> = (0..12u64)
        .map(|i| {
            let s = i as f64 * 1000.0;
            conn(i + 1, &format!("10.0.0.1:{}", 40000 + i), s)
                .exchange(s + 2.0, s + 3.0)
                .fin(Side::Client, s + 4.0)
                .build()
        })
        .collect();
    assert!(one_shot.iter().all(|r| r.close.time_wait == Sides::Client));
    let mut agg = Aggregator::default();
    aggregate(one_shot, &mut agg);
    let (_, summary) = agg.finish();
    assert!(messages(&summary).contains(
        &"clients of 10.0.0.2:80 hold TIME_WAIT for 100% of their connections (12) while reusing only 0%: at high connection rates this exhausts ephemeral ports; keep connections open and reuse them"
    ));

    let reused: Vec<ConnectionRecord> = (0..12u64)
        .map(|i| {
            let s = i as f64 * 1000.0;
            conn(i + 1, &format!("10.0.0.1:{}", 40000 + i), s)
                .exchange(s + 2.0, s + 3.0)
                .exchange(s + 5.0, s + 6.0)
                .fin(Side::Client, s + 7.0)
                .build()
        })
        .collect();
    let mut agg = Aggregator::default();
    aggregate(reused, &mut agg);
    let (_, summary) = agg.finish();
    assert!(!messages(&summary)
        .iter()
        .any(|m| m.starts_with("clients of 10.0.0.2:80 hold TIME_WAIT")));
}
