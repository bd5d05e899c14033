//! Hostile HTTP input: each case asserts a clean result (no panic, the
//! counts that say what happened) and, where the HTTP layer has a named
//! limit, that `capture.limits_hit` counts it.

use keepwatch::http::{HttpConfig, HttpConn, HttpFacts};
use keepwatch::tcp::{Direction, StreamHandler};
use keepwatch::time::Timestamp;
use std::sync::Arc;

/// Feeds a request and a server stream to a fresh connection, the server
/// stream cut at `cut`.
fn facts_with_server_cut(request: &[u8], server: &[u8], cut: usize) -> HttpFacts {
    let mut c = HttpConn::new(Arc::new(HttpConfig::default()));
    let t = Timestamp::from_nanos;
    c.on_data(Direction::ToServer, t(1), request);
    let (a, b) = server.split_at(cut);
    c.on_data(Direction::ToClient, t(2), a);
    c.on_data(Direction::ToClient, t(2), b);
    c.on_end(t(3));
    c.into_facts()
}

#[test]
fn a_status_line_after_a_partial_http_prefix_is_found_at_any_cut() {
    // Found by fuzzing: `H` at the end of one piece was kept as the start
    // of `HTTP/1.`; when the next piece did not go on with it, the whole
    // line was judged and dropped, losing the status line behind it.
    let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let resp = b"xH HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let whole = facts_with_server_cut(req, resp, resp.len());
    assert_eq!(whole.responses, 1);
    assert_eq!(whole.exchanges.len(), 1);
    assert_eq!(whole.exchanges[0].status, Some(200));
    for cut in 0..=resp.len() {
        assert_eq!(facts_with_server_cut(req, resp, cut), whole, "cut at {cut}");
    }
}

#[test]
fn a_status_line_right_behind_a_broken_one_is_found_at_any_cut() {
    // Found by fuzzing: a line starting `HTTP/1.` but broken was dropped
    // whole when it arrived in one piece, and only up to the broken byte
    // when it arrived byte by byte, so the status line behind it was found
    // or lost depending on the cut.
    let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let resp = b"HTTP/1..HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let whole = facts_with_server_cut(req, resp, resp.len());
    assert_eq!(whole.exchanges.len(), 1);
    assert_eq!(whole.exchanges[0].status, Some(200));
    assert_eq!(whole.errors.resync_skipped_bytes, 0);
    assert_eq!(whole.pickup_skipped_bytes, 8);
    for cut in 0..=resp.len() {
        assert_eq!(facts_with_server_cut(req, resp, cut), whole, "cut at {cut}");
    }
}
