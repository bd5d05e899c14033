//! HTTP layer: framing rules, pairing, pipelining, timing and connection
//! semantics, each checked with the input split at every byte.

mod http_support;

use http_support::*;
use keepwatch::http::{Framing, HttpErrors, Protocol};

fn no_errors(f: &keepwatch::http::HttpFacts) {
    assert_eq!(f.errors, HttpErrors::default(), "{:#?}", f.errors);
}

#[test]
fn simple_exchange_with_timing() {
    let f = check(&[
        c(0, "GET /a?b=1 HTTP/1.1\r\nHost: x\r\n"),
        c(1, "\r\n"),
        s(5, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
        s(7, "world"),
    ]);
    no_errors(&f);
    assert_eq!(f.protocol, Protocol::Http1);
    assert_eq!((f.requests, f.responses), (1, 1));
    let e = &f.exchanges[0];
    assert_eq!(e.method.as_deref(), Some("GET"));
    assert_eq!(e.uri.as_deref(), Some("/a?b=1"));
    assert_eq!(e.status, Some(200));
    assert_eq!(
        (e.request_version, e.response_version),
        (Some(11), Some(11))
    );
    assert_eq!(e.request_first, Some(t(0)));
    assert_eq!(e.request_last, Some(t(1)));
    assert_eq!(e.response_first, Some(t(5)));
    assert_eq!(e.response_last, Some(t(7)));
    assert_eq!(e.response_body_bytes, 10);
    assert_eq!(e.request_framing, Framing::None);
    assert_eq!(e.response_framing, Framing::ContentLength);
    assert!(e.persistent && !e.pipelined);
    assert_eq!(f.last_response_end, Some(t(7)));
    assert_eq!(f.unanswered_requests + f.unmatched_responses, 0);
}

#[test]
fn request_bodies_content_length_and_chunked() {
    let f = check(&[
        c(0, "POST /u HTTP/1.1\r\nContent-Length: 7\r\n\r\nabc"),
        c(1, "defg"),
        s(2, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
        c(
            3,
            "PUT /v HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ),
        s(4, OK5),
    ]);
    no_errors(&f);
    let [a, b] = &f.exchanges[..] else {
        panic!("{:#?}", f.exchanges)
    };
    assert_eq!(a.request_body_bytes, 7);
    assert_eq!(a.request_last, Some(t(1)));
    assert_eq!(a.request_framing, Framing::ContentLength);
    assert_eq!(a.response_framing, Framing::ContentLength);
    assert_eq!(a.response_body_bytes, 0);
    assert_eq!(b.request_framing, Framing::Chunked);
    assert_eq!(b.request_body_bytes, 3);
    assert_eq!(b.status, Some(200));
    assert_eq!(f.idle_gaps_ns, vec![ms(1)]);
    assert_eq!(f.idle_max_ns, Some(ms(1)));
}

#[test]
fn chunked_response_with_extensions_and_trailers() {
    let f = check(&[
        c(0, GET),
        s(
            1,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nTrailer: X-T\r\n\r\n\
             5;ext=1;q=\"a b\"\r\nhello\r\nA\r\n0123456789\r\n0;end\r\nX-T: 1\r\nX-U: 2\r\n\r\n",
        ),
        c(2, GET),
        s(3, OK5),
    ]);
    no_errors(&f);
    assert_eq!(f.exchanges.len(), 2);
    assert_eq!(f.exchanges[0].response_framing, Framing::Chunked);
    assert_eq!(f.exchanges[0].response_body_bytes, 15);
    assert_eq!(f.exchanges[0].response_last, Some(t(1)));
    assert_eq!(f.exchanges[1].response_body_bytes, 5);
}

#[test]
fn expect_100_continue_is_part_of_the_exchange() {
    let f = check(&[
        c(
            0,
            "POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        ),
        s(2, "HTTP/1.1 100 Continue\r\n\r\n"),
        c(3, "data"),
        s(5, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    no_errors(&f);
    assert_eq!((f.requests, f.responses, f.interim_responses), (1, 1, 1));
    assert_eq!(f.exchanges.len(), 1);
    let e = &f.exchanges[0];
    assert!(e.expect_continue);
    assert_eq!(e.interim_responses, 1);
    assert_eq!(e.interim_first, Some(t(2)));
    assert_eq!(e.status, Some(200));
    assert_eq!(e.request_last, Some(t(3)));
    assert_eq!(e.response_first, Some(t(5)));
    assert_eq!(f.unmatched_responses, 0);
}

#[test]
fn early_hints_103_then_final() {
    let f = check(&[
        c(0, GET),
        s(1, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"),
        s(2, OK5),
    ]);
    no_errors(&f);
    assert_eq!(f.exchanges.len(), 1);
    assert_eq!(f.exchanges[0].interim_responses, 1);
    assert_eq!(f.exchanges[0].status, Some(200));
}

#[test]
fn head_response_has_no_body_even_with_content_length() {
    let f = check(&[
        c(0, "HEAD /big HTTP/1.1\r\n\r\nGET /small HTTP/1.1\r\n\r\n"),
        s(
            1,
            "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n\
             HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        ),
    ]);
    no_errors(&f);
    assert_eq!(f.exchanges.len(), 2);
    assert_eq!(f.exchanges[0].method.as_deref(), Some("HEAD"));
    assert_eq!(f.exchanges[0].response_framing, Framing::None);
    assert_eq!(f.exchanges[0].response_body_bytes, 0);
    assert_eq!(f.exchanges[1].response_body_bytes, 5);
    assert!(f.exchanges[1].pipelined);
}

#[test]
fn no_body_for_204_and_304() {
    let f = check(&[
        c(0, "DELETE /x HTTP/1.1\r\n\r\n"),
        s(1, "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"),
        c(2, "GET /y HTTP/1.1\r\nIf-None-Match: \"a\"\r\n\r\n"),
        s(
            3,
            "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
        ),
        c(4, GET),
        s(5, OK5),
    ]);
    no_errors(&f);
    let st: Vec<_> = f.exchanges.iter().map(|e| e.status).collect();
    assert_eq!(st, vec![Some(204), Some(304), Some(200)]);
    assert!(f.exchanges[..2]
        .iter()
        .all(|e| e.response_framing == Framing::None && e.response_body_bytes == 0));
    assert_eq!(f.exchanges[0].response_last, Some(t(1)));
}

const CLIENT_FRAMES: &[u8] = b"\x81\x85abcd\x01\x02\x03\x04\x05GET / HTTP/1.1\r\n\r\n";

#[test]
fn websocket_upgrade_becomes_a_tunnel() {
    let f = check(&[
        c(
            0,
            "GET /chat HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n",
        ),
        s(
            1,
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n\r\n\x81\x05hello".as_slice(),
        ),
        c(2, CLIENT_FRAMES),
        s(3, "HTTP/1.1 200 OK\r\n\r\n"),
    ]);
    no_errors(&f);
    assert_eq!(f.upgrade.as_deref(), Some("websocket"));
    assert_eq!((f.requests, f.responses), (1, 1));
    let e = &f.exchanges[0];
    assert_eq!(e.status, Some(101));
    assert!(e.request_connection.upgrade && !e.persistent);
    assert_eq!(e.response_last, Some(t(1)));
    assert_eq!(f.tunnel_bytes, 7 + CLIENT_FRAMES.len() as u64 + 19);
    assert_eq!(f.unanswered_requests, 0);
}

#[test]
fn connect_2xx_becomes_a_tunnel_and_non_2xx_does_not() {
    let f = check(&[
        c(
            0,
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        ),
        s(1, "HTTP/1.1 200 Connection established\r\n\r\n"),
        c(2, b"\x16\x03\x01\x00\x05hello".as_slice()),
        s(3, b"\x16\x03\x03\x00\x01x".as_slice()),
    ]);
    no_errors(&f);
    assert_eq!(f.protocol, Protocol::Http1);
    assert_eq!(f.upgrade.as_deref(), Some("connect"));
    assert_eq!(f.tunnel_bytes, 10 + 6);
    assert_eq!(f.exchanges[0].method.as_deref(), Some("CONNECT"));
    assert_eq!(f.exchanges[0].uri.as_deref(), Some("example.com:443"));

    let f = check(&[
        c(0, "CONNECT a:443 HTTP/1.1\r\n\r\n"),
        s(
            1,
            "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno",
        ),
        c(
            2,
            "CONNECT a:443 HTTP/1.1\r\nProxy-Authorization: x\r\n\r\n",
        ),
        s(3, "HTTP/1.1 200 OK\r\n\r\n"),
    ]);
    no_errors(&f);
    assert_eq!(f.exchanges.len(), 2);
    assert_eq!(f.exchanges[0].response_body_bytes, 2);
    assert_eq!(f.upgrade.as_deref(), Some("connect"));
}

#[test]
fn close_delimited_response_ends_at_server_fin() {
    let f = check(&[
        c(0, GET),
        s(1, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nsome"),
        s(2, " body"),
        fin(ToClient, 4),
        fin(ToServer, 5),
    ]);
    no_errors(&f);
    let e = &f.exchanges[0];
    assert_eq!(e.response_framing, Framing::Close);
    assert_eq!(e.response_body_bytes, 9);
    assert_eq!(e.response_last, Some(t(2)));
    assert!(!e.persistent && !e.response_incomplete);
    assert!(f.close_delimited_on_http11);
    assert!(!f.premature_close);

    // HTTP/1.0 close-delimited is normal; a TE without chunked last is
    // close-delimited too.
    let f = check(&[
        c(0, "GET / HTTP/1.0\r\n\r\n"),
        s(1, "HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz"),
        fin(ToClient, 2),
    ]);
    assert_eq!(f.errors.te_with_content_length, 0);
    assert_eq!(f.exchanges[0].response_framing, Framing::Close);
    assert_eq!(f.exchanges[0].response_body_bytes, 3);
    assert!(!f.close_delimited_on_http11);
}

/// The shape of testdata/close-delimited.pcap: a persistent exchange, then
/// a close-delimited response whose FIN comes within a millisecond of the
/// first response's end. The FIN delimits the body; it is not premature.
#[test]
fn close_delimited_after_persistent_exchange_is_not_premature() {
    let f = check(&[
        c(0, GET),
        s(0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        c(0, GET),
        s(0, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody"),
        fin(ToClient, 0),
        fin(ToServer, 1),
    ]);
    no_errors(&f);
    assert_eq!(f.exchanges.len(), 2);
    assert_eq!(f.exchanges[1].response_framing, Framing::Close);
    assert!(!f.premature_close);
}

#[test]
fn close_delimited_response_cut_by_capture_end_is_incomplete() {
    let f = check(&[c(0, GET), s(1, "HTTP/1.1 200 OK\r\n\r\npartial")]);
    assert!(f.exchanges[0].response_incomplete);
    assert_eq!(f.exchanges[0].response_last, None);
    assert_eq!(f.unanswered_requests, 0);
}

#[test]
fn content_length_list_of_same_values_is_accepted() {
    let f = check(&[
        c(0, GET),
        s(
            1,
            "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
        ),
        c(2, GET),
        s(3, OK5),
    ]);
    no_errors(&f);
    assert_eq!(f.exchanges[0].response_body_bytes, 3);
    assert_eq!(f.exchanges.len(), 2);
}

#[test]
fn conflicting_content_length_puts_the_direction_out_of_sync() {
    let f = check(&[
        c(0, GET),
        s(
            1,
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd\r\n",
        ),
        c(2, GET),
        s(3, OK5),
    ]);
    assert_eq!(f.errors.bad_content_length, 1);
    assert_eq!(f.errors.out_of_sync, 1);
    assert_eq!(f.errors.resync_skipped_bytes, 6);
    assert!(f.exchanges[0].response_incomplete);
    assert!(!f.exchanges[0].persistent);
    // The next response is found again and paired with the next request.
    assert_eq!(f.exchanges[1].status, Some(200));
    assert_eq!(f.exchanges[1].response_body_bytes, 5);
}

#[test]
fn negative_content_length_in_a_request() {
    let f = check(&[
        c(0, "POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\nxxxxx\r\n"),
        c(1, GET),
        s(2, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
        s(3, OK5),
    ]);
    assert_eq!(f.errors.bad_content_length, 1);
    assert_eq!(f.errors.out_of_sync, 1);
    assert_eq!(f.errors.resync_skipped_bytes, 7);
    assert_eq!(f.requests, 2);
    assert!(f.exchanges[0].request_incomplete);
    assert_eq!(f.exchanges[0].status, Some(400));
    assert_eq!(f.exchanges[1].status, Some(200));
}

#[test]
fn request_transfer_encoding_without_chunked_last_is_a_framing_error() {
    let f = check(&[
        c(
            0,
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\nzzz\r\n",
        ),
        c(1, GET),
        s(2, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_eq!(f.errors.bad_transfer_encoding, 1);
    assert_eq!(f.errors.out_of_sync, 1);
    assert_eq!(f.requests, 2);
    assert_eq!(f.unanswered_requests, 1);
}

#[test]
fn transfer_encoding_overrides_content_length_and_is_flagged() {
    let f = check(&[
        c(
            0,
            "POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
        ),
        s(1, OK5),
    ]);
    assert_eq!(f.errors.te_with_content_length, 1);
    assert_eq!(f.errors.out_of_sync, 0);
    assert_eq!(f.exchanges[0].request_body_bytes, 2);
    assert_eq!(f.exchanges[0].request_framing, Framing::Chunked);
}

#[test]
fn pipelining_depth_three_pairs_fifo_with_hol_wait() {
    let f = check(&[
        c(0, "GET /1 HTTP/1.1\r\n\r\n"),
        c(1, "GET /2 HTTP/1.1\r\n\r\n"),
        c(2, "HEAD /3 HTTP/1.1\r\n\r\n"),
        s(10, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"),
        s(11, "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nbb"),
        s(13, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"),
        c(20, "GET /4 HTTP/1.1\r\n\r\n"),
        s(21, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    no_errors(&f);
    assert_eq!(f.pipeline_depth_max, 3);
    let got: Vec<_> = f
        .exchanges
        .iter()
        .map(|e| (e.uri.as_deref().unwrap(), e.status.unwrap(), e.pipelined))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/1", 200, false),
            ("/2", 404, true),
            ("/3", 200, true),
            ("/4", 200, false)
        ]
    );
    let hol: Vec<_> = f.exchanges.iter().map(|e| e.hol_wait_ns).collect();
    // /2 finished at 1 and waited for /1's response to end at 10; /3
    // finished at 2 and waited for /2's to end at 11.
    assert_eq!(hol, vec![0, ms(9), ms(9), 0]);
    assert_eq!(f.exchanges[2].response_body_bytes, 0);
    assert_eq!(f.exchanges[2].response_last, Some(t(13)));
    // Only the non-pipelined request after an idle period makes a gap.
    assert_eq!(f.idle_gaps_ns, vec![ms(7)]);
}

#[test]
fn pipelined_requests_in_one_segment() {
    let f = check(&[
        c(
            0,
            "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n",
        ),
        s(1, format!("{OK5}{OK5}{OK5}")),
    ]);
    no_errors(&f);
    assert_eq!(f.pipeline_depth_max, 3);
    assert_eq!(f.exchanges.len(), 3);
    assert!(f.exchanges.iter().all(|e| e.response_body_bytes == 5));
    assert_eq!(
        f.exchanges.iter().filter(|e| e.pipelined).count(),
        2,
        "{:#?}",
        f.exchanges
    );
}

#[test]
fn idle_gaps_between_sequential_exchanges() {
    let f = check(&[
        c(0, GET),
        s(1, OK5),
        c(101, GET),
        s(102, OK5),
        c(1102, GET),
        s(1103, OK5),
    ]);
    assert_eq!(f.idle_gaps_ns, vec![ms(100), ms(1000)]);
    assert_eq!(f.idle_max_ns, Some(ms(1000)));
    assert_eq!(f.last_response_end, Some(t(1103)));
    assert_eq!(f.pipeline_depth_max, 1);
}

#[test]
fn http10_persistence() {
    // Neither side says keep-alive: not persistent.
    let f = check(&[
        c(0, "GET / HTTP/1.0\r\n\r\n"),
        s(1, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ]);
    assert!(!f.exchanges[0].persistent);
    // Both say keep-alive: persistent, and Keep-Alive parameters parsed.
    let f = check(&[
        c(0, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        s(
            1,
            "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=5, max=99\r\n\
             Content-Length: 2\r\n\r\nok",
        ),
    ]);
    let e = &f.exchanges[0];
    assert!(e.persistent);
    assert_eq!(
        (e.keep_alive.timeout(), e.keep_alive.max()),
        (Some(5), Some(99))
    );
    assert_eq!(e.response_connection.tokens(), ["keep-alive"]);
    // The client asks, the HTTP/1.0 server does not agree.
    let f = check(&[
        c(0, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        s(1, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ]);
    assert!(!f.exchanges[0].persistent);
    // An HTTP/1.1 server answering a keep-alive HTTP/1.0 client persists
    // unless it says close.
    let f = check(&[
        c(0, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        s(1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ]);
    assert!(f.exchanges[0].persistent);
    // Keep-alive asked but the body is close-delimited.
    let f = check(&[
        c(0, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        s(1, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nok"),
        fin(ToClient, 2),
    ]);
    assert!(!f.exchanges[0].persistent);
}

#[test]
fn http11_close_token_from_either_side() {
    let f = check(&[
        c(0, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
        s(1, OK5),
        fin(ToClient, 1),
    ]);
    assert!(!f.exchanges[0].persistent);
    assert!(f.exchanges[0].request_connection.close);
    assert!(!f.premature_close);
}

#[test]
fn request_after_connection_close() {
    let f = check(&[
        c(0, GET),
        s(
            1,
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        ),
        c(2, GET),
        fin(ToClient, 3),
    ]);
    assert!(!f.exchanges[0].request_after_close);
    assert!(!f.exchanges[0].persistent);
    assert!(f.exchanges[1].request_after_close);
    assert_eq!(f.unanswered_requests, 1);
    assert!(!f.premature_close, "the server had announced the close");
}

#[test]
fn request_after_server_fin_is_the_keep_alive_race() {
    let f = check(&[
        c(0, GET),
        s(1, OK5),
        fin(ToClient, 5001),
        c(5002, GET),
        rst(ToClient, 5003),
    ]);
    assert_eq!(f.exchanges.len(), 2);
    assert!(!f.exchanges[0].request_after_server_fin);
    assert!(f.exchanges[1].request_after_server_fin);
    assert!(!f.exchanges[1].request_after_close);
    assert_eq!(f.unanswered_requests, 1);
    assert!(!f.premature_close, "the server idled 5 s before closing");
    assert_eq!(f.idle_gaps_ns, vec![ms(5001)]);
}

#[test]
fn premature_close_with_a_request_pending() {
    let f = check(&[c(0, GET), s(1, OK5), c(10, GET), fin(ToClient, 11)]);
    assert!(f.premature_close);
    assert_eq!(f.unanswered_requests, 1);
}

#[test]
fn premature_close_right_after_a_persistent_response() {
    let f = check(&[c(0, GET), s(1, OK5), fin(ToClient, 1)]);
    assert!(f.exchanges[0].persistent);
    assert!(f.premature_close);
    // A response cut by a FIN in its Content-Length body.
    let f = check(&[
        c(0, GET),
        s(1, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
        fin(ToClient, 2),
    ]);
    assert!(f.premature_close);
    assert!(f.exchanges[0].response_incomplete);
    assert_eq!(f.exchanges[0].response_body_bytes, 3);
}

#[test]
fn unanswered_and_unmatched() {
    let f = check(&[c(0, GET), c(1, GET)]);
    assert_eq!(f.unanswered_requests, 2);
    assert_eq!(f.exchanges.len(), 2);
    assert!(f.exchanges.iter().all(|e| e.status.is_none()));

    // A capture that starts inside a response body, then a whole response.
    let f = check(&[s(0, format!("tail of a body\r\n{OK5}"))]);
    assert_eq!(f.protocol, Protocol::Http1);
    assert_eq!(f.unmatched_responses, 1);
    assert_eq!(f.pickup_skipped_bytes, 16);
    assert_eq!(f.exchanges.len(), 1);
    assert_eq!(f.exchanges[0].method, None);
    assert_eq!(f.exchanges[0].response_body_bytes, 5);
    no_errors(&f);
}

#[test]
fn mid_stream_pickup_inside_a_request_body() {
    let f = check(&[
        c(0, "xxxxxxxx\r\nmore body\nGET /next HTTP/1.1\r\n\r\n"),
        s(1, OK5),
    ]);
    no_errors(&f);
    assert_eq!(f.pickup_skipped_bytes, 20);
    assert_eq!(f.exchanges.len(), 1);
    assert_eq!(f.exchanges[0].uri.as_deref(), Some("/next"));
}

#[test]
fn empty_lines_between_messages_and_bare_lf() {
    let f = check(&[
        c(
            0,
            "POST / HTTP/1.1\nContent-Length: 2\n\nab\r\n\r\nGET /2 HTTP/1.1\n\n",
        ),
        s(
            1,
            "HTTP/1.1 200 OK\nContent-Length: 0\n\n\r\nHTTP/1.1 200 OK\nContent-Length: 0\n\n",
        ),
    ]);
    no_errors(&f);
    assert_eq!(f.exchanges.len(), 2);
    assert_eq!(f.exchanges[1].uri.as_deref(), Some("/2"));
}

#[test]
fn long_uri_is_truncated() {
    let uri = format!("/{}", "é".repeat(400));
    let f = check(&[c(0, format!("GET {uri} HTTP/1.1\r\n\r\n")), s(1, OK5)]);
    let kept = f.exchanges[0].uri.as_deref().unwrap();
    assert!(kept.len() <= 512 && uri.starts_with(kept) && kept.len() > 500);
}

#[test]
fn server_rst_with_a_request_pending_is_premature() {
    let f = check(&[c(0, GET), rst(ToClient, 1)]);
    assert!(f.premature_close);
    assert_eq!(f.unanswered_requests, 1);
}

#[test]
fn close_delimited_response_cut_by_rst_is_incomplete() {
    let f = check(&[
        c(0, GET),
        s(1, "HTTP/1.1 200 OK\r\n\r\nabc"),
        rst(ToClient, 2),
    ]);
    assert!(f.exchanges[0].response_incomplete);
    assert_eq!(f.exchanges[0].response_body_bytes, 3);
    assert!(
        !f.premature_close,
        "a close-delimited response is owed no more"
    );
}

#[test]
fn connect_client_bytes_before_the_answer_are_not_parsed() {
    let f = check(&[
        c(0, "CONNECT a:443 HTTP/1.1\r\n\r\n"),
        c(1, b"\x16\x03\x01\x00\x01x".as_slice()),
        s(2, "HTTP/1.1 200 OK\r\n\r\n"),
    ]);
    assert_eq!(f.errors, HttpErrors::default());
    assert_eq!(f.upgrade.as_deref(), Some("connect"));
    assert_eq!(f.tunnel_bytes, 6);
}

#[test]
fn interim_response_without_request_is_unmatched() {
    let f = check(&[s(0, "HTTP/1.1 100 Continue\r\n\r\n"), s(1, OK5)]);
    assert_eq!((f.responses, f.interim_responses), (1, 1));
    assert_eq!(f.unmatched_responses, 2);
    assert_eq!(f.exchanges.len(), 1);
    assert_eq!(f.exchanges[0].status, Some(200));
    assert!(f.exchanges[0].persistent);
}

#[test]
fn response_found_after_a_body_without_line_break() {
    // Picked up mid-body: the next status line follows the body bytes
    // directly, as it does on the wire.
    let f = check(&[s(0, format!("end of some body{OK5}"))]);
    assert_eq!(f.pickup_skipped_bytes, 16);
    assert_eq!(f.exchanges.len(), 1);
    assert_eq!(f.exchanges[0].response_body_bytes, 5);
}

#[test]
fn server_close_answering_the_client_close_is_not_premature() {
    // curl's pattern: the client closes right after the response, the
    // server's FIN follows at once.
    let f = check(&[c(0, GET), s(1, OK5), fin(ToServer, 1), fin(ToClient, 1)]);
    assert!(f.exchanges[0].persistent);
    assert!(!f.premature_close);
    let f = check(&[c(0, GET), fin(ToServer, 1), fin(ToClient, 1)]);
    assert!(!f.premature_close);
}

/// Real bytes from nginx 1.22.1 (keepalive_timeout 2s) on loopback,
/// captured with tcpdump: a Python client pipelines GET, HEAD, GET in one
/// segment, sends GET /nothere 300 ms later, idles past the keep-alive
/// timeout (nginx sends FIN at 2.30 s) and sends GET /late after it (the
/// keep-alive race; nginx answers with RST). tshark 4.0 shows the three
/// pipelined requests as one `GET,HEAD,GET` entry and pairs them with one
/// response; here they are three FIFO-paired exchanges.
#[test]
fn real_nginx_pipelining_and_keep_alive_race() {
    let f = check(&[
        hex_at(ToServer, 48, "474554202f696e6465782e68746d6c20485454502f312e310d0a486f73743a20780d0a0d0a48454144202f6269672e62696e20485454502f312e310d0a486f73743a20780d0a0d0a474554202f696e6465782e68746d6c20485454502f312e310d0a486f73743a20780d0a0d0a"),
        hex_at(ToClient, 159, "485454502f312e3120323030204f4b0d0a5365727665723a206e67696e782f312e32322e310d0a446174653a2053756e2c203232204e6f7620323032362030323a35373a353720474d540d0a436f6e74656e742d547970653a20746578742f68746d6c0d0a436f6e74656e742d4c656e6774683a20360d0a4c6173742d4d6f6469666965643a2053756e2c203232204e6f7620323032362030323a35373a343520474d540d0a436f6e6e656374696f6e3a206b6565702d616c6976650d0a455461673a202236623032356132392d36220d0a4163636570742d52616e6765733a2062797465730d0a0d0a68656c6c6f0a"),
        hex_at(ToClient, 183, "485454502f312e3120323030204f4b0d0a5365727665723a206e67696e782f312e32322e310d0a446174653a2053756e2c203232204e6f7620323032362030323a35373a353720474d540d0a436f6e74656e742d547970653a20746578742f706c61696e0d0a436f6e74656e742d4c656e6774683a203330303030300d0a4c6173742d4d6f6469666965643a2053756e2c203232204e6f7620323032362030323a35373a343520474d540d0a436f6e6e656374696f6e3a206b6565702d616c6976650d0a455461673a202236623032356132392d3439336530220d0a4163636570742d52616e6765733a2062797465730d0a0d0a"),
        hex_at(ToClient, 190, "485454502f312e3120323030204f4b0d0a5365727665723a206e67696e782f312e32322e310d0a446174653a2053756e2c203232204e6f7620323032362030323a35373a353720474d540d0a436f6e74656e742d547970653a20746578742f68746d6c0d0a436f6e74656e742d4c656e6774683a20360d0a4c6173742d4d6f6469666965643a2053756e2c203232204e6f7620323032362030323a35373a343520474d540d0a436f6e6e656374696f6e3a206b6565702d616c6976650d0a455461673a202236623032356132392d36220d0a4163636570742d52616e6765733a2062797465730d0a0d0a68656c6c6f0a"),
        hex_at(ToServer, 300181, "474554202f6e6f746865726520485454502f312e310d0a486f73743a20780d0a0d0a"),
        hex_at(ToClient, 300317, "485454502f312e3120343034204e6f7420466f756e640d0a5365727665723a206e67696e782f312e32322e310d0a446174653a2053756e2c203232204e6f7620323032362030323a35373a353820474d540d0a436f6e74656e742d547970653a20746578742f68746d6c0d0a436f6e74656e742d4c656e6774683a203135330d0a436f6e6e656374696f6e3a206b6565702d616c6976650d0a0d0a3c68746d6c3e0d0a3c686561643e3c7469746c653e343034204e6f7420466f756e643c2f7469746c653e3c2f686561643e0d0a3c626f64793e0d0a3c63656e7465723e3c68313e343034204e6f7420466f756e643c2f68313e3c2f63656e7465723e0d0a3c68723e3c63656e7465723e6e67696e782f312e32322e313c2f63656e7465723e0d0a3c2f626f64793e0d0a3c2f68746d6c3e0d0a"),
        fin_us(ToClient, 2302452),
        hex_at(ToServer, 3604049, "474554202f6c61746520485454502f312e310d0a486f73743a20780d0a0d0a"),
        rst_us(ToClient, 3604076),
    ]);
    no_errors(&f);
    assert_eq!((f.requests, f.responses), (5, 4));
    assert_eq!(f.pipeline_depth_max, 3);
    let got: Vec<_> = f
        .exchanges
        .iter()
        .map(|e| {
            (
                e.method.as_deref().unwrap(),
                e.uri.as_deref().unwrap(),
                e.status,
                e.pipelined,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("GET", "/index.html", Some(200), false),
            ("HEAD", "/big.bin", Some(200), true),
            ("GET", "/index.html", Some(200), true),
            ("GET", "/nothere", Some(404), false),
            ("GET", "/late", None, false),
        ]
    );
    assert_eq!(
        f.exchanges[1].response_body_bytes, 0,
        "HEAD: Content-Length 300000 but no body"
    );
    assert_eq!(f.exchanges[3].response_body_bytes, 153);
    assert!(f.exchanges[..4].iter().all(|e| e.persistent));
    assert!(f.exchanges[4].request_after_server_fin);
    assert_eq!(f.unanswered_requests, 1);
    assert!(!f.premature_close, "nginx idled 2 s before its FIN");
    assert_eq!(f.idle_gaps_ns.len(), 2);
    assert_eq!(f.last_response_end, Some(t_us(300_317)));
}

/// Real bytes: curl 8 `-H 'Accept-Encoding: gzip'` against nginx 1.22.1
/// with `gzip on`: a chunked gzip response; curl then closes first.
#[test]
fn real_nginx_chunked_gzip() {
    let f = check(&[
        hex_at(ToServer, 0, "474554202f6368756e6b656420485454502f312e310d0a486f73743a203132372e302e302e313a31383038300d0a557365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a4163636570742d456e636f64696e673a20677a69700d0a0d0a"),
        hex_at(ToClient, 80, "485454502f312e3120323030204f4b0d0a5365727665723a206e67696e782f312e32322e310d0a446174653a2053756e2c203232204e6f7620323032362030323a35373a353720474d540d0a436f6e74656e742d547970653a20746578742f706c61696e0d0a4c6173742d4d6f6469666965643a2053756e2c203232204e6f7620323032362030323a35373a343520474d540d0a5472616e736665722d456e636f64696e673a206368756e6b65640d0a436f6e6e656374696f6e3a206b6565702d616c6976650d0a455461673a20572f2236623032356132392d36220d0a436f6e74656e742d456e636f64696e673a20677a69700d0a0d0a31610d0a1f8b0800000000000403cb48cdc9c9e7020020303a36060000000d0a300d0a0d0a"),
        fin_us(ToServer, 128),
        fin_us(ToClient, 465),
    ]);
    no_errors(&f);
    let e = &f.exchanges[0];
    assert_eq!(e.response_framing, Framing::Chunked);
    assert_eq!(e.response_body_bytes, 26);
    assert!(e.persistent && !e.response_incomplete);
    assert!(!f.premature_close, "the client closed first");
}

/// Real bytes: curl 8 POSTs 5000 bytes with `Expect: 100-continue` to
/// nginx 1.22.1, which answers 100 Continue, then 200.
#[test]
fn real_nginx_expect_continue() {
    let f = check(&[
        hex_at(ToServer, 0, "504f5354202f706f737420485454502f312e310d0a486f73743a203132372e302e302e313a31383038300d0a557365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a4578706563743a203130302d636f6e74696e75650d0a436f6e74656e742d4c656e6774683a20353030300d0a436f6e74656e742d547970653a206170706c69636174696f6e2f782d7777772d666f726d2d75726c656e636f6465640d0a0d0a"),
        hex_at(ToClient, 19, "485454502f312e312031303020436f6e74696e75650d0a0d0a"),
        Ev::Data(ToServer, 36000, vec![0u8; 5000]),
        hex_at(ToClient, 47, "485454502f312e3120323030204f4b0d0a5365727665723a206e67696e782f312e32322e310d0a446174653a2053756e2c203232204e6f7620323032362030323a35373a353720474d540d0a436f6e74656e742d547970653a20746578742f706c61696e0d0a436f6e74656e742d4c656e6774683a20330d0a436f6e6e656374696f6e3a206b6565702d616c6976650d0a0d0a6f6b0a"),
        fin_us(ToServer, 85),
        fin_us(ToClient, 447),
    ]);
    no_errors(&f);
    assert_eq!((f.requests, f.responses, f.interim_responses), (1, 1, 1));
    let e = &f.exchanges[0];
    assert!(e.expect_continue);
    assert_eq!(e.interim_responses, 1);
    assert_eq!(e.interim_first, Some(t_us(19)));
    assert_eq!(e.request_body_bytes, 5000);
    assert_eq!(e.request_last, Some(t_us(36)));
    assert_eq!(e.response_first, Some(t_us(47)));
    assert_eq!(e.status, Some(200));
}

#[test]
fn pipelined_request_after_an_http10_request_without_keep_alive() {
    let f = check(&[
        c(0, "GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n"),
        s(1, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
        fin(ToClient, 1),
    ]);
    assert!(!f.exchanges[0].request_after_close);
    assert!(f.exchanges[1].request_after_close);
    assert_eq!(f.unanswered_requests, 1);
}

#[test]
fn broken_response_framing_announces_no_close() {
    let f = check(&[
        c(0, GET),
        s(1, "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
        c(2, GET),
    ]);
    assert_eq!(f.errors.bad_content_length, 1);
    assert!(!f.exchanges[1].request_after_close);
}
