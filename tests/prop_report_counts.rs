//! Property: on generated traffic (connections to a few servers, each with
//! some keep-alive exchanges) the report's counts add up: every request is
//! paired into an exchange, per-server sums equal the summary, and the
//! summary counts what was generated.

mod hostile_support;

use hostile_support::{analyze, Capture, Conn};
use keepwatch::Config;
use proptest::prelude::*;

const REQ: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";

/// (server index, exchanges, whether the server closes).
fn traffic() -> impl Strategy<Value = Vec<(u8, usize, bool)>> {
    proptest::collection::vec((0u8..3, 0usize..5, any::<bool>()), 1..8)
}

fn capture(conns: &[(u8, usize, bool)]) -> Vec<u8> {
    let mut cap = Capture::new();
    for (i, &(server, n, server_closes)) in conns.iter().enumerate() {
        let mut c = Conn::new(
            30_000 + i as u16,
            80,
            1_700_000_000_000_000 + i as i64 * 10_000_000,
        );
        c.server = ([10, 0, 0, 2 + server], 80);
        c.handshake(&mut cap);
        for _ in 0..n {
            c.client(&mut cap, REQ);
            c.server(&mut cap, RESP);
        }
        if server_closes {
            c.server_close(&mut cap);
        } else {
            c.close(&mut cap);
        }
    }
    cap.bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_report_counts_add_up(conns in traffic()) {
        let (r, problem) = analyze(capture(&conns), Config::default());
        prop_assert!(problem.is_none());
        let generated: u64 = conns.iter().map(|c| c.1 as u64).sum();
        prop_assert_eq!(r.connections.len(), conns.len());
        prop_assert_eq!(r.summary.connections, conns.len() as u64);
        prop_assert_eq!(r.summary.exchanges, generated);
        let reused = conns.iter().filter(|c| c.1 > 1).count() as u64;
        prop_assert_eq!(r.summary.reused_connections, reused);
        let mut servers: Vec<u8> = conns.iter().map(|c| c.0).collect();
        servers.sort_unstable();
        servers.dedup();
        prop_assert_eq!(r.servers.len(), servers.len());
        prop_assert_eq!(r.servers.iter().map(|s| s.connections).sum::<u64>(), r.summary.connections);
        prop_assert_eq!(r.servers.iter().map(|s| s.exchanges).sum::<u64>(), r.summary.exchanges);
        prop_assert_eq!(r.servers.iter().map(|s| s.reused_connections).sum::<u64>(), reused);
        let initiators: u64 = r.summary.close_initiators.values().sum();
        prop_assert_eq!(initiators, r.summary.connections);
        let reasons: u64 = r.summary.close_reasons.values().sum();
        prop_assert_eq!(reasons, r.summary.connections);
        let by_server = conns.iter().filter(|c| c.2).count() as u64;
        let server_key = r.summary.close_initiators.iter()
            .filter(|(k, _)| format!("{k:?}") == "Server").map(|(_, v)| *v).sum::<u64>();
        prop_assert_eq!(server_key, by_server);
        for (c, g) in r.connections.iter().zip(&conns) {
            prop_assert_eq!(c.requests, g.1 as u64);
            prop_assert_eq!(c.responses, g.1 as u64);
            let ex = c.exchanges.as_ref().expect("exchanges");
            prop_assert_eq!(ex.len(), g.1);
            // Exchanges equal requests paired: each has both halves.
            prop_assert!(ex.iter().all(|e| e.method.is_some() && e.status == Some(200)));
            prop_assert_eq!(c.unanswered_requests, 0);
            prop_assert_eq!(c.unmatched_responses, 0);
        }
    }
}
