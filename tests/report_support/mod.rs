//! Hand-built TCP and HTTP facts for the report tests: a small builder so a
//! test reads as the timeline it describes. Times are milliseconds after a
//! fixed base, whole microseconds (the RFC 3339 output's precision).
#![allow(dead_code)]

use keepwatch::decode::{Endpoint, NetTag};
use keepwatch::http::{ConnectionTokens, Exchange, Framing, HttpFacts, KeepAliveParams, Protocol};
use keepwatch::report::{build_connection, ConnectionRecord};
use keepwatch::tcp::{
    Anomalies, CloseEvent, DirectionEvidence, EndState, Handshake, Side, SideFacts, Sides, TcpFacts,
};
use keepwatch::time::Timestamp;

/// 2026-11-22T00:00:00Z.
pub const BASE_NS: i64 = 1_795_305_600_000_000_000;

pub fn t(ms: f64) -> Timestamp {
    Timestamp::from_nanos(BASE_NS + (ms * 1000.0).round() as i64 * 1000)
}

pub fn ep(s: &str) -> Endpoint {
    let (ip, port) = s.rsplit_once(':').unwrap();
    Endpoint {
        ip: ip.trim_matches(|c| c == '[' || c == ']').parse().unwrap(),
        port: port.parse().unwrap(),
    }
}

pub struct Conn {
    pub tcp: TcpFacts,
    pub http: HttpFacts,
}

/// A connection from `client` to 10.0.0.2:80 whose SYN is at `start_ms`,
/// handshake 1 ms + 0.5 ms, ending at the last event given (see `end`).
pub fn conn(id: u64, client: &str, start_ms: f64) -> Conn {
    Conn {
        tcp: TcpFacts {
            id,
            client: ep(client),
            server: ep("10.0.0.2:80"),
            tag: NetTag::default(),
            start: t(start_ms),
            end: t(start_ms + 1.5),
            mid_stream: false,
            direction_by: DirectionEvidence::Syn,
            port_reuse: false,
            handshake: Handshake {
                syn: Some(t(start_ms)),
                syn_ack: Some(t(start_ms + 1.0)),
                ack: Some(t(start_ms + 1.5)),
            },
            sides: [SideFacts::default(), SideFacts::default()],
            first_fin: None,
            first_rst: None,
            simultaneous_close: false,
            half_close: false,
            time_wait: Sides::None,
            end_state: EndState::Open,
            idle_max_ns: 0,
            anomalies: Anomalies::default(),
        },
        http: HttpFacts::default(),
    }
}

fn bump_end(c: &mut Conn, at: Timestamp) {
    c.tcp.end = c.tcp.end.max(at);
}

impl Conn {
    pub fn server(mut self, s: &str) -> Self {
        self.tcp.server = ep(s);
        self
    }

    /// A complete HTTP/1.1 GET: request [req_ms, req_ms + 0.1], response
    /// [req_ms + 1, resp_end_ms], Content-Length framing, persistent.
    pub fn exchange(self, req_ms: f64, resp_end_ms: f64) -> Self {
        self.exchange_with(req_ms, resp_end_ms, |_| {})
    }

    pub fn exchange_with(
        self,
        req_ms: f64,
        resp_end_ms: f64,
        f: impl FnOnce(&mut Exchange),
    ) -> Self {
        let mut ex = Exchange {
            method: Some("GET".into()),
            uri: Some(format!("/{}", self.http.exchanges.len()).into()),
            status: Some(200),
            request_version: Some(11),
            response_version: Some(11),
            request_first: Some(t(req_ms)),
            request_last: Some(t(req_ms + 0.1)),
            response_first: Some(t(req_ms + 1.0)),
            response_last: Some(t(resp_end_ms)),
            response_body_bytes: 100,
            response_framing: Framing::ContentLength,
            persistent: true,
            ..Exchange::default()
        };
        f(&mut ex);
        self.add_exchange(ex)
    }

    /// A request that got no response.
    pub fn unanswered(mut self, req_ms: f64) -> Self {
        let ex = Exchange {
            method: Some("GET".into()),
            uri: Some("/late".into()),
            request_version: Some(11),
            request_first: Some(t(req_ms)),
            request_last: Some(t(req_ms + 0.1)),
            ..Exchange::default()
        };
        self.http.unanswered_requests += 1;
        self.add_exchange(ex)
    }

    fn add_exchange(mut self, ex: Exchange) -> Self {
        self.http.protocol = Protocol::Http1;
        if let (Some(prev), Some(req)) = (self.http.last_response_end, ex.request_first) {
            self.http
                .idle_gaps_ns
                .push(prev.nanos_until_saturating(req));
        }
        self.http.requests += 1;
        if ex.status.is_some() {
            self.http.responses += 1;
            self.http.last_response_end = ex.response_last;
        }
        self.http.pipeline_depth_max = self.http.pipeline_depth_max.max(1);
        for ts in [ex.request_last, ex.response_last].into_iter().flatten() {
            bump_end(&mut self, ts);
        }
        let req = &mut self.tcp.sides[0];
        req.packets += 2;
        req.bytes += 80;
        req.stream_bytes += 80;
        req.first_data = req.first_data.or(ex.request_first);
        req.last_data = ex.request_last.or(req.last_data);
        if ex.status.is_some() {
            let resp = &mut self.tcp.sides[1];
            resp.packets += 2;
            resp.bytes += 200;
            resp.stream_bytes += 200;
            resp.first_data = resp.first_data.or(ex.response_first);
            resp.last_data = ex.response_last.or(resp.last_data);
        }
        self.http.exchanges.push(ex);
        self
    }

    /// The last exchange's request and response `Connection` tokens.
    pub fn close_token(mut self, request: bool, response: bool) -> Self {
        let ex = self.http.exchanges.last_mut().unwrap();
        if request {
            ex.request_connection = tokens(&["close"]);
        }
        if response {
            ex.response_connection = tokens(&["close"]);
        }
        if request || response {
            ex.persistent = false;
        }
        self
    }

    pub fn keep_alive(mut self, timeout: Option<u64>, max: Option<u64>) -> Self {
        let ex = self.http.exchanges.last_mut().unwrap();
        ex.keep_alive = KeepAliveParams::new(timeout, max);
        ex.response_connection = tokens(&["keep-alive"]);
        self
    }

    /// First FIN by `side` at `ms`; the peer's FIN follows 0.2 ms later and
    /// the close completes, with TIME_WAIT on the active closer.
    pub fn fin(mut self, side: Side, ms: f64) -> Self {
        self.tcp.first_fin = Some(CloseEvent {
            by: side,
            at: t(ms),
        });
        self.tcp.end_state = EndState::Closed;
        self.tcp.time_wait = match side {
            Side::Client => Sides::Client,
            Side::Server => Sides::Server,
        };
        bump_end(&mut self, t(ms + 0.4));
        self
    }

    /// First RST by `side` at `ms`.
    pub fn rst(mut self, side: Side, ms: f64) -> Self {
        self.tcp.first_rst = Some(CloseEvent {
            by: side,
            at: t(ms),
        });
        self.tcp.end_state = EndState::Reset;
        if self.tcp.first_fin.is_none() {
            self.tcp.time_wait = Sides::None;
        }
        bump_end(&mut self, t(ms));
        self
    }

    /// Still open when the capture ended at `ms`.
    pub fn capture_end(mut self, ms: f64) -> Self {
        self.tcp.end_state = EndState::Open;
        bump_end(&mut self, t(ms));
        self
    }

    pub fn tcp(mut self, f: impl FnOnce(&mut TcpFacts)) -> Self {
        f(&mut self.tcp);
        self
    }

    pub fn http(mut self, f: impl FnOnce(&mut HttpFacts)) -> Self {
        f(&mut self.http);
        self
    }

    pub fn last_exchange(mut self, f: impl FnOnce(&mut Exchange)) -> Self {
        f(self.http.exchanges.last_mut().unwrap());
        self
    }

    pub fn build(&self) -> ConnectionRecord {
        build_connection(&self.tcp, &self.http)
    }
}

pub fn tokens(list: &[&str]) -> ConnectionTokens {
    let mut t = ConnectionTokens::default();
    t.close = list.contains(&"close");
    t.keep_alive = list.contains(&"keep-alive");
    t.upgrade = list.contains(&"upgrade");
    for s in list {
        t.push_token(s.to_string().into());
    }
    t
}
