//! The per-connection engine: two direction parsers (heads, bodies, gaps,
//! resynchronization) and the queue of open exchanges that pairs them.
//!
//! Each direction is one [`Phase`]; all changes of phase happen in the
//! handlers of this file. Exchanges live in `open` (oldest first) until
//! both their request and their final response are done, then move to
//! [`HttpFacts::exchanges`] in the same order.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

use super::chunked::Chunked;
use super::classify::{
    check_line, start_line_dies_at, status_line_dies_at, tls_verdict, LineCheck, LineVerdict,
    HTTP1_PREFIX,
};
use super::facts::*;
use super::framing::{plan_body, BodyPlan, FramingError, MethodKind, Role};
use super::head::{
    find_head_end, find_head_end_across, parse_request, parse_response, ContentLength, HeadError,
    HeadInfo, HeadLimits, StartLine, TransferEncoding,
};
use super::HttpConfig;
use crate::tcp::{Direction, StreamHandler};
use crate::time::Timestamp;

const TO_SERVER: usize = 0;
const TO_CLIENT: usize = 1;

/// Where one direction's parser is.
#[derive(Clone, Debug)]
enum Phase {
    /// Looking for a message start: a request line at a line start, or a
    /// status line anywhere (a response can follow a body without a line
    /// break). `line_start`: the next byte starts a line (or follows a
    /// gap). `pickup`: the direction has
    /// not yet been in sync (stream start or mid-stream pickup), so what is
    /// skipped is not an error.
    Seek { line_start: bool, pickup: bool },
    /// At or inside a message head (partial head bytes are in `Dir::buf`).
    Head,
    /// Counting a body for the exchange `serial` (`None` when the exchange
    /// was not queued).
    Body { serial: Option<u64>, body: Body },
    /// A CONNECT request was sent; until its response decides, the
    /// client's bytes are counted as tunnel bytes and not parsed.
    AwaitConnect,
    /// After 101 or a 2xx to CONNECT: counted, not parsed.
    Tunnel,
    /// Not HTTP (TLS, HTTP/2, or nothing found when picked up): ignored.
    Ignore,
}

#[derive(Clone, Debug)]
enum Body {
    Length {
        remaining: u64,
    },
    Chunked(Chunked),
    /// Until the server's FIN (responses only).
    Close,
}

/// State of the connection at the first byte of a request head, which is
/// when pipelining, idle time and the ordering flags are judged.
#[derive(Clone, Copy, Debug, Default)]
struct RequestStart {
    first: Timestamp,
    /// Requests whose response had not ended.
    outstanding: u32,
    after_server_fin: bool,
    after_close: bool,
}

#[derive(Debug)]
struct Dir {
    phase: Phase,
    /// Partial head, or a candidate start line while seeking. Never longer
    /// than `max_head_bytes` (its capacity neither).
    buf: Vec<u8>,
    /// Capture time of the first byte of the current head or candidate.
    buf_first: Timestamp,
    /// Stream bytes seen so far, data and gaps.
    offset: u64,
    /// Capture time of the last data of this direction.
    last_ts: Option<Timestamp>,
    /// A TLS record header may be starting: the first byte (a TLS content
    /// type) and maybe the second, held until the third decides.
    held: [u8; 2],
    held_len: usize,
    held_ts: Timestamp,
    /// The pending candidate line began at stream offset 0.
    cand_at_zero: bool,
    /// The check of the candidate or head start line in `buf`, fed as
    /// bytes arrive.
    line_chk: LineCheck,
    /// The current head's start line was checked (or is an oversized
    /// one): a failure of this head loses a real message.
    line_ok: bool,
    start: RequestStart,
}

impl Dir {
    fn new() -> Self {
        Dir {
            phase: Phase::Seek {
                line_start: true,
                pickup: true,
            },
            buf: Vec::new(),
            buf_first: Timestamp::ZERO,
            offset: 0,
            last_ts: None,
            held: [0; 2],
            held_len: 0,
            held_ts: Timestamp::ZERO,
            cand_at_zero: false,
            line_ok: false,
            line_chk: LineCheck::new(),
            start: RequestStart::default(),
        }
    }

    /// Appends to the head buffer, growing its capacity at most to `max`.
    fn push_buf(&mut self, bytes: &[u8], max: usize) {
        let want = self.buf.len().saturating_add(bytes.len()).min(max);
        let take = want.saturating_sub(self.buf.len());
        if want > self.buf.capacity() {
            let target = want
                .max(self.buf.capacity().saturating_mul(2).max(256))
                .min(max);
            self.buf
                .reserve_exact(target.saturating_sub(self.buf.len()));
        }
        self.buf
            .extend_from_slice(bytes.get(..take).unwrap_or_default());
    }
}

/// One exchange while it is open.
#[derive(Debug)]
struct Open {
    serial: u64,
    ex: Exchange,
    has_request: bool,
    req_done: bool,
    method: MethodKind,
    /// `Upgrade` offered by the request.
    upgrade: Option<String>,
    /// The final response's head was seen (or its loss is known).
    final_seen: bool,
    resp_done: bool,
}

impl Open {
    fn done(&self) -> bool {
        self.resp_done && (self.req_done || !self.has_request)
    }
    /// Owes a response that is not delimited by the close.
    fn owes_response(&self) -> bool {
        self.has_request
            && !self.resp_done
            && !(self.final_seen && self.ex.response_framing == Framing::Close)
    }
}

/// The HTTP state of one connection.
pub struct HttpConn {
    cfg: Arc<HttpConfig>,
    facts: HttpFacts,
    dirs: [Dir; 2],
    open: VecDeque<Open>,
    next_serial: u64,
    server_fin: bool,
    server_rst: bool,
    /// The client sent a FIN or an RST.
    client_closed: bool,
    /// A request said `close`, or a final response ended persistence.
    close_announced: bool,
    /// The last final response that ended: (persistent, its last byte).
    last_final: Option<(bool, Timestamp)>,
    payload_seen: bool,
    ended: bool,
}

impl HttpConn {
    pub fn new(cfg: Arc<HttpConfig>) -> Self {
        HttpConn {
            cfg,
            facts: HttpFacts::default(),
            dirs: [Dir::new(), Dir::new()],
            open: VecDeque::new(),
            next_serial: 0,
            server_fin: false,
            server_rst: false,
            client_closed: false,
            close_announced: false,
            last_final: None,
            payload_seen: false,
            ended: false,
        }
    }

    pub fn facts(&self) -> &HttpFacts {
        &self.facts
    }

    /// For the report of a finished connection, which moves parts out.
    pub(crate) fn facts_mut(&mut self) -> &mut HttpFacts {
        &mut self.facts
    }

    pub fn into_facts(self) -> HttpFacts {
        self.facts
    }

    /// Capacity of a direction's head buffer (for tests of the memory
    /// bound).
    pub fn head_buffer_capacity(&self, dir: Direction) -> usize {
        self.dirs[dir.index()].buf.capacity()
    }

    fn limits(&self) -> HeadLimits {
        HeadLimits {
            max_headers: self.cfg.max_headers,
            max_uri_len: self.cfg.max_uri_len,
            max_connection_tokens: self.cfg.max_connection_tokens,
            max_token_len: self.cfg.max_token_len,
        }
    }

    fn set_protocol(&mut self, p: Protocol) {
        if self.facts.protocol == Protocol::None {
            self.facts.protocol = p;
            if p == Protocol::Tls || p == Protocol::Http2 {
                for d in &mut self.dirs {
                    d.phase = Phase::Ignore;
                    d.buf.clear();
                }
            }
        }
    }

    fn idx(&self, serial: u64) -> Option<usize> {
        let front = self.open.front()?.serial;
        let i = usize::try_from(serial.checked_sub(front)?).ok()?;
        (i < self.open.len()).then_some(i)
    }

    fn ex_mut(&mut self, serial: Option<u64>) -> Option<&mut Open> {
        let i = self.idx(serial?)?;
        self.open.get_mut(i)
    }

    fn outstanding(&self) -> usize {
        self.open
            .iter()
            .filter(|o| o.has_request && !o.resp_done)
            .count()
    }

    // ---- the byte loop -------------------------------------------------

    fn process(&mut self, d: usize, ts: Timestamp, data: &[u8]) {
        let mut pos = 0usize;
        let mut stalls = 0u8;
        while pos < data.len() {
            let rest = data.get(pos..).unwrap_or_default();
            let abs = self.dirs[d].offset.saturating_add(pos as u64);
            let used = match &self.dirs[d].phase {
                Phase::Ignore => data.len() - pos,
                Phase::Tunnel | Phase::AwaitConnect => {
                    self.facts.tunnel_bytes =
                        self.facts.tunnel_bytes.saturating_add(rest.len() as u64);
                    rest.len()
                }
                Phase::Seek { .. } => self.seek(d, ts, rest, abs),
                Phase::Head => self.head(d, ts, rest),
                Phase::Body { .. } => self.body(d, ts, rest),
            };
            // Every handler consumes bytes or changes phase; the guard makes
            // a mistake there a lost message instead of a hang.
            if used == 0 {
                stalls += 1;
                if stalls > 3 {
                    break;
                }
            } else {
                stalls = 0;
            }
            pos = pos.saturating_add(used);
        }
        self.dirs[d].offset = self.dirs[d].offset.saturating_add(data.len() as u64);
    }

    /// Counts bytes thrown away while looking for a message start.
    fn skipped(&mut self, n: usize, pickup: bool) {
        let n = n as u64;
        if pickup {
            self.facts.pickup_skipped_bytes = self.facts.pickup_skipped_bytes.saturating_add(n);
        } else if n > 0 {
            // Only a real skip allocates the error counts.
            let e = &mut self.facts.errors;
            e.resync_skipped_bytes = e.resync_skipped_bytes.saturating_add(n);
        }
    }

    fn wanted(d: usize) -> LineVerdict {
        if d == TO_SERVER {
            LineVerdict::Request
        } else {
            LineVerdict::Response
        }
    }

    /// Seeking a message start (RFC 9112 section 2.2 lets a recipient skip
    /// to the next plausible start; we demand a whole valid start line).
    fn seek(&mut self, d: usize, ts: Timestamp, rest: &[u8], abs: u64) -> usize {
        let Phase::Seek { line_start, pickup } = self.dirs[d].phase else {
            return 0;
        };
        let max = self.cfg.max_head_bytes;
        let at_stream_start = abs == 0;
        let mut rest = rest;
        if pickup && self.facts.protocol != Protocol::Http1 {
            // A stream not known to carry HTTP is scanned up to a limit
            // (an exact stream offset, so the cut of the input does not
            // matter), then ignored.
            let limit = self.cfg.max_pickup_scan_bytes;
            if abs >= limit {
                let n = self.dirs[d].buf.len();
                self.dirs[d].buf.clear();
                self.skipped(n, true);
                self.dirs[d].phase = Phase::Ignore;
                return 0;
            }
            let left = usize::try_from(limit - abs).unwrap_or(usize::MAX);
            rest = rest.get(..rest.len().min(left)).unwrap_or_default();
        }
        if !self.dirs[d].buf.is_empty() {
            // A candidate line is pending in `buf`: extend it.
            let room = max.saturating_sub(self.dirs[d].buf.len());
            let (take, complete) = match memchr::memchr(b'\n', rest) {
                Some(i) if i < room => (i + 1, true),
                _ => (rest.len().min(room), false),
            };
            let added = rest.get(..take).unwrap_or_default();
            self.dirs[d].push_buf(added, max);
            let line_part = added.strip_suffix(b"\n").unwrap_or(added);
            self.dirs[d].line_chk.feed(line_part);
            if d == TO_CLIENT && self.dirs[d].line_chk.status_line_dead() {
                // Drop the candidate at the byte that rules it out and
                // search on from that byte, as the in-place check below
                // does (the byte is in `added`: the candidate was alive).
                let buf = &self.dirs[d].buf;
                let line = buf.strip_suffix(b"\n").unwrap_or(buf);
                if let Some(k) = status_line_dies_at(line) {
                    let give_back = buf.len().saturating_sub(k);
                    self.dirs[d].buf.clear();
                    self.skipped(k, pickup);
                    return take.saturating_sub(give_back);
                }
            }
            let buf = &self.dirs[d].buf;
            let cand = Candidate {
                verdict: self.dirs[d].line_chk.verdict(complete),
                complete,
                full: buf.len() >= max,
                could: could_start(d, buf),
                at_zero: self.dirs[d].cand_at_zero,
            };
            return self.judge_candidate(d, cand, pickup, take);
        }
        if d == TO_CLIENT {
            // A status line can follow a body without a line break: look
            // for `HTTP/1.` anywhere.
            match memchr::memmem::find(rest, HTTP1_PREFIX) {
                Some(0) => {}
                Some(p) => {
                    self.skipped(p, pickup);
                    return p;
                }
                None => {
                    let keep = (1..HTTP1_PREFIX.len())
                        .rev()
                        .find(|&k| rest.ends_with(HTTP1_PREFIX.get(..k).unwrap_or_default()))
                        .unwrap_or(0);
                    let skip = rest.len() - keep;
                    self.skipped(skip, pickup);
                    if keep > 0 {
                        let tail = rest.get(skip..).unwrap_or_default();
                        self.dirs[d].buf_first = ts;
                        self.dirs[d].cand_at_zero = false;
                        self.dirs[d].push_buf(tail, max);
                        self.dirs[d].line_chk = LineCheck::new();
                        self.dirs[d].line_chk.feed(tail);
                    }
                    return rest.len();
                }
            }
        } else if !line_start {
            return match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    self.skipped(i + 1, pickup);
                    self.dirs[d].phase = Phase::Seek {
                        line_start: true,
                        pickup,
                    };
                    i + 1
                }
                None => {
                    self.skipped(rest.len(), pickup);
                    rest.len()
                }
            };
        }
        // At a line start with nothing buffered: judge the line in place.
        let nl = memchr::memchr(b'\n', rest);
        let line = match nl {
            Some(i) => rest.get(..i),
            None => rest.get(..rest.len().min(max)),
        }
        .unwrap_or_default();
        if d == TO_CLIENT {
            // `rest` starts with `HTTP/1.`: skip to the byte that rules the
            // line out, if one does.
            if let Some(k) = status_line_dies_at(line).filter(|&k| k > 0) {
                self.skipped(k, pickup);
                return k;
            }
        }
        let verdict = check_line(line, nl.is_some());
        if verdict == Self::wanted(d) {
            // A start line longer than a head may be is accepted too: the
            // head then fails as too large, which is what it is.
            self.set_protocol(Protocol::Http1);
            self.dirs[d].phase = Phase::Head;
            return 0;
        }
        if verdict == LineVerdict::Http2Preface
            && at_stream_start
            && self.facts.protocol == Protocol::None
        {
            self.set_protocol(Protocol::Http2);
            return rest.len();
        }
        match (verdict, nl) {
            (_, Some(i)) => {
                self.skipped(i + 1, pickup);
                i + 1
            }
            (LineVerdict::Maybe { .. }, None) if rest.len() < max => {
                self.dirs[d].buf_first = ts;
                self.dirs[d].cand_at_zero = at_stream_start;
                self.dirs[d].push_buf(rest, max);
                self.dirs[d].line_chk = LineCheck::new();
                self.dirs[d].line_chk.feed(rest);
                rest.len()
            }
            (LineVerdict::Maybe { strong: true }, None) if could_start(d, rest) => {
                self.set_protocol(Protocol::Http1);
                self.dirs[d].phase = Phase::Head;
                0
            }
            (_, None) => {
                self.skipped(rest.len(), pickup);
                self.dirs[d].phase = Phase::Seek {
                    line_start: false,
                    pickup,
                };
                rest.len()
            }
        }
    }

    /// A buffered candidate line got `take` more bytes from the input:
    /// accept it, keep waiting, or drop it.
    fn judge_candidate(&mut self, d: usize, c: Candidate, pickup: bool, take: usize) -> usize {
        let first = self.dirs[d].buf_first;
        let accept = c.verdict == Self::wanted(d)
            // An oversized start line is a head that is too large (the Head
            // phase will say so), not noise.
            || (c.full && c.could && c.verdict == LineVerdict::Maybe { strong: true });
        if accept {
            self.set_protocol(Protocol::Http1);
            self.dirs[d].phase = Phase::Head;
            self.begin_head(d, first);
            self.dirs[d].line_ok = true;
            return take;
        }
        if c.complete
            && c.verdict == LineVerdict::Http2Preface
            && c.at_zero
            && self.facts.protocol == Protocol::None
        {
            self.set_protocol(Protocol::Http2);
            return take;
        }
        if !c.complete && !c.full && matches!(c.verdict, LineVerdict::Maybe { .. }) {
            return take;
        }
        let n = self.dirs[d].buf.len();
        self.dirs[d].buf.clear();
        self.skipped(n, pickup);
        self.dirs[d].phase = Phase::Seek {
            line_start: c.complete,
            pickup,
        };
        take
    }

    /// The first byte of a head: remember when, and for requests the state
    /// of the connection at that moment.
    fn begin_head(&mut self, d: usize, ts: Timestamp) {
        self.dirs[d].buf_first = ts;
        self.dirs[d].line_ok = false;
        if d == TO_SERVER {
            self.dirs[d].start = RequestStart {
                first: ts,
                outstanding: u32::try_from(self.outstanding()).unwrap_or(u32::MAX),
                after_server_fin: self.server_fin,
                after_close: self.close_announced,
            };
        }
    }

    fn head(&mut self, d: usize, ts: Timestamp, rest: &[u8]) -> usize {
        let max = self.cfg.max_head_bytes;
        if self.dirs[d].buf.is_empty() {
            // Empty lines before a message are ignored (RFC 9112 section
            // 2.2).
            let k = rest
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            let msg = rest.get(k..).unwrap_or_default();
            if msg.is_empty() {
                return k;
            }
            self.begin_head(d, ts);
            let window = msg.get(..msg.len().min(max)).unwrap_or_default();
            let nl = memchr::memchr(b'\n', window);
            let first = window.get(..nl.unwrap_or(window.len())).unwrap_or_default();
            match check_line(first, nl.is_some()) {
                v if v == Self::wanted(d) => self.dirs[d].line_ok = true,
                LineVerdict::Maybe { strong } if nl.is_none() => {
                    self.dirs[d].line_ok = strong && window.len() >= max && could_start(d, window);
                }
                _ => {
                    // Not a start line where a message must start: fail
                    // fast instead of buffering up to the limit, at the
                    // byte that rules it out (as when the bytes come one
                    // at a time), or at the end of the line.
                    let (used, line_start) = match start_line_dies_at(first) {
                        Some(i) => (i + 1, false),
                        None => (nl.map_or(window.len(), |i| i + 1), nl.is_some()),
                    };
                    self.head_failed(d, ts, HeadFailure::Malformed, used, line_start);
                    return k + used;
                }
            }
            return match find_head_end(window) {
                Some(e) => {
                    let head = window.get(..e).unwrap_or_default();
                    let parsed = self.parse(d, head);
                    self.head_done(d, ts, parsed, e);
                    k + e
                }
                None if msg.len() >= max => {
                    let line_start = window.last() == Some(&b'\n');
                    self.head_failed(d, ts, HeadFailure::TooLarge, max, line_start);
                    k + max
                }
                None => {
                    self.dirs[d].push_buf(msg, max);
                    if !self.dirs[d].line_ok {
                        self.dirs[d].line_chk = LineCheck::new();
                        self.dirs[d].line_chk.feed(msg);
                    }
                    rest.len()
                }
            };
        }
        let room = max.saturating_sub(self.dirs[d].buf.len());
        let window = rest.get(..rest.len().min(room)).unwrap_or_default();
        if !self.dirs[d].line_ok {
            // The start line is still incomplete in `buf`: extend and judge
            // it.
            let nl = memchr::memchr(b'\n', window);
            let take = nl.map_or(window.len(), |i| i + 1);
            let added = window.get(..take).unwrap_or_default();
            self.dirs[d].push_buf(added, max);
            self.dirs[d]
                .line_chk
                .feed(added.strip_suffix(b"\n").unwrap_or(added));
            let verdict = self.dirs[d].line_chk.verdict(nl.is_some());
            let buf = &self.dirs[d].buf;
            let full = buf.len() >= max;
            let could = could_start(d, buf);
            let len = buf.len();
            match verdict {
                v if v == Self::wanted(d) => self.dirs[d].line_ok = true,
                LineVerdict::Maybe { strong } if nl.is_none() => {
                    if full {
                        self.dirs[d].line_ok = strong && could;
                        self.head_failed(d, ts, HeadFailure::TooLarge, len, false);
                    }
                }
                _ => match start_line_dies_at(
                    self.dirs[d]
                        .buf
                        .strip_suffix(b"\n")
                        .unwrap_or(&self.dirs[d].buf),
                ) {
                    // Fail at the byte that rules the line out, as the
                    // in-place check does, and hand the rest back (it is
                    // in `added`: the line was alive before it).
                    Some(i) => {
                        let rest = len.saturating_sub(i + 1);
                        self.dirs[d].buf.clear();
                        self.head_failed(d, ts, HeadFailure::Malformed, i + 1, false);
                        return take.saturating_sub(rest);
                    }
                    None => self.head_failed(d, ts, HeadFailure::Malformed, len, nl.is_some()),
                },
            }
            return take;
        }
        match find_head_end_across(&self.dirs[d].buf, window) {
            Some(e) => {
                self.dirs[d].push_buf(window.get(..e).unwrap_or_default(), max);
                let buf = std::mem::take(&mut self.dirs[d].buf);
                let parsed = self.parse(d, &buf);
                let len = buf.len();
                self.dirs[d].buf = buf;
                self.dirs[d].buf.clear();
                self.head_done(d, ts, parsed, len);
                e
            }
            None if rest.len() >= room => {
                let len = self.dirs[d].buf.len() + room;
                let line_start = window.last() == Some(&b'\n');
                self.dirs[d].buf.clear();
                self.head_failed(d, ts, HeadFailure::TooLarge, len, line_start);
                room
            }
            None => {
                self.dirs[d].push_buf(rest, max);
                rest.len()
            }
        }
    }

    fn parse(&self, d: usize, head: &[u8]) -> Result<HeadInfo, HeadError> {
        let lim = self.limits();
        if d == TO_SERVER {
            parse_request(head, &lim)
        } else {
            parse_response(head, &lim)
        }
    }

    fn head_done(
        &mut self,
        d: usize,
        ts: Timestamp,
        parsed: Result<HeadInfo, HeadError>,
        len: usize,
    ) {
        match parsed {
            Ok(info) => {
                self.set_protocol(Protocol::Http1);
                if info.transfer_encoding != TransferEncoding::Absent
                    && info.content_length != ContentLength::Absent
                {
                    self.facts.errors.te_with_content_length += 1;
                }
                if d == TO_SERVER {
                    self.request_head(ts, info);
                } else {
                    self.response_head(ts, info);
                }
            }
            Err(HeadError::TooManyHeaders) => {
                self.head_failed(d, ts, HeadFailure::TooManyHeaders, len, true)
            }
            Err(HeadError::Malformed) => self.head_failed(d, ts, HeadFailure::Malformed, len, true),
        }
    }

    // ---- requests ------------------------------------------------------

    /// Queues a new exchange for a request that started at
    /// `self.dirs[TO_SERVER].start`; `None` when the queue is full.
    fn open_request(
        &mut self,
        ex: Exchange,
        method: MethodKind,
        upgrade: Option<String>,
    ) -> Option<u64> {
        self.facts.requests += 1;
        let start = self.dirs[TO_SERVER].start;
        let depth = start.outstanding.saturating_add(1);
        self.facts.pipeline_depth_max = self.facts.pipeline_depth_max.max(depth);
        if start.outstanding == 0 {
            if let Some(end) = self.facts.last_response_end {
                let gap = end.nanos_until_saturating(start.first);
                self.facts.idle_max_ns = Some(self.facts.idle_max_ns.map_or(gap, |m| m.max(gap)));
                if self.facts.idle_gaps_ns.len() < self.cfg.max_exchanges_kept {
                    self.facts.idle_gaps_ns.push(gap);
                }
            }
        }
        let ex = Exchange {
            request_first: Some(start.first),
            pipelined: start.outstanding > 0,
            request_after_server_fin: start.after_server_fin,
            request_after_close: start.after_close,
            ..ex
        };
        self.push_open(ex, true, method, upgrade)
    }

    fn push_open(
        &mut self,
        ex: Exchange,
        has_request: bool,
        method: MethodKind,
        upgrade: Option<String>,
    ) -> Option<u64> {
        if self.open.len() >= self.cfg.max_pending_requests {
            self.facts.errors.pending_overflow += 1;
            return None;
        }
        let serial = self.next_serial;
        self.next_serial += 1;
        if self.open.capacity() == 0 {
            // Most connections never have two exchanges open at once: room
            // for one, not the four a first push would make (an Open is
            // ~330 bytes, and idle connections are many).
            self.open.reserve_exact(1);
        }
        self.open.push_back(Open {
            serial,
            ex,
            has_request,
            req_done: false,
            method,
            upgrade,
            final_seen: false,
            resp_done: false,
        });
        Some(serial)
    }

    fn request_head(&mut self, ts: Timestamp, mut info: HeadInfo) {
        // Moved out, not cloned: the head's strings become the exchange's
        // (two allocations per request fewer).
        let start = std::mem::replace(&mut info.start, StartLine::Response { status: 0 });
        let (method, uri) = match start {
            StartLine::Request { method, uri } => (method, uri),
            StartLine::Response { .. } => (Cow::Borrowed(""), Box::default()),
        };
        if info.uri_cut {
            self.facts.uris_cut = self.facts.uris_cut.saturating_add(1);
        }
        let kind = MethodKind::of(&method);
        let plan = plan_body(Role::Request, &info);
        let ex = Exchange {
            method: Some(method),
            uri: Some(uri),
            request_version: Some(info.version),
            request_framing: framing_of(plan),
            expect_continue: info.expect_continue,
            ..Exchange::default()
        };
        // RFC 9112 section 9.3: an HTTP/1.0 request without keep-alive
        // means the same as close.
        let close = info.connection.close || (info.version < 11 && !info.connection.keep_alive);
        let ex = Exchange {
            request_connection: info.connection,
            ..ex
        };
        let serial = self.open_request(ex, kind, info.upgrade);
        // RFC 9112 section 9.6: a client that sends close sends no more.
        self.close_announced |= close;
        match plan {
            BodyPlan::Length(n) if n > 0 => {
                self.dirs[TO_SERVER].phase = Phase::Body {
                    serial,
                    body: Body::Length { remaining: n },
                }
            }
            BodyPlan::Chunked => {
                self.dirs[TO_SERVER].phase = Phase::Body {
                    serial,
                    body: Body::Chunked(Chunked::new(self.cfg.max_chunk_line_bytes)),
                }
            }
            BodyPlan::Invalid(e) => {
                self.count_framing_error(e);
                if let Some(o) = self.ex_mut(serial) {
                    o.ex.request_incomplete = true;
                }
                self.request_end(serial, ts);
                self.lose_sync(TO_SERVER, true);
            }
            _ => self.request_end(serial, ts),
        }
    }

    fn request_end(&mut self, serial: Option<u64>, ts: Timestamp) {
        let mut connect = false;
        if let Some(o) = self.ex_mut(serial) {
            o.ex.request_last = Some(ts);
            o.req_done = true;
            connect = o.method == MethodKind::Connect && !o.resp_done;
        }
        if matches!(self.dirs[TO_SERVER].phase, Phase::Body { .. } | Phase::Head) {
            self.dirs[TO_SERVER].phase = if connect {
                Phase::AwaitConnect
            } else {
                Phase::Head
            };
        }
        self.finalize();
    }

    // ---- responses -----------------------------------------------------

    fn awaiting(&self) -> Option<usize> {
        self.open
            .iter()
            .position(|o| o.has_request && !o.final_seen)
    }

    fn response_head(&mut self, ts: Timestamp, info: HeadInfo) {
        let status = match info.start {
            StartLine::Response { status } => status,
            StartLine::Request { .. } => 0,
        };
        let first = self.dirs[TO_CLIENT].buf_first;
        let awaiting = self.awaiting();
        let method = awaiting
            .and_then(|i| self.open.get(i))
            .map_or(MethodKind::Other, |o| o.method);
        let plan = plan_body(Role::Response { status, method }, &info);
        self.dirs[TO_CLIENT].phase = Phase::Head;
        if plan == BodyPlan::Interim {
            self.facts.interim_responses += 1;
            match awaiting.and_then(|i| self.open.get_mut(i)) {
                Some(o) => {
                    o.ex.interim_responses = o.ex.interim_responses.saturating_add(1);
                    o.ex.interim_first.get_or_insert(first);
                }
                None => self.facts.unmatched_responses += 1,
            }
            return;
        }
        self.facts.responses += 1;
        let serial = match awaiting {
            Some(i) => self.open.get(i).map(|o| o.serial),
            None => {
                self.facts.unmatched_responses += 1;
                self.push_open(Exchange::default(), false, MethodKind::Other, None)
            }
        };
        let last_response_end = self.facts.last_response_end;
        let framing = framing_of(plan);
        let mut persistent = false;
        let mut upgrade = None;
        if let Some(o) = self.ex_mut(serial) {
            o.final_seen = true;
            o.ex.status = Some(status);
            o.ex.response_version = Some(info.version);
            o.ex.response_first = Some(first);
            o.ex.response_framing = framing;
            o.ex.keep_alive = info.keep_alive;
            if let (true, Some(rl), Some(end)) = (o.req_done, o.ex.request_last, last_response_end)
            {
                o.ex.hol_wait_ns = rl.nanos_until_saturating(end);
            }
            let req = o
                .has_request
                .then(|| (o.ex.request_version.unwrap_or(11), &o.ex.request_connection));
            persistent = persists(req, info.version, &info.connection, plan);
            o.ex.persistent = persistent;
            o.ex.response_connection = info.connection.clone();
            if plan == BodyPlan::Tunnel {
                upgrade = Some(if status == 101 {
                    info.upgrade
                        .clone()
                        .or_else(|| o.upgrade.clone())
                        .unwrap_or_else(|| "unknown".to_owned())
                } else {
                    "connect".to_owned()
                });
            }
        }
        if serial.is_none() && plan == BodyPlan::Tunnel {
            upgrade = Some(info.upgrade.clone().unwrap_or_else(|| "unknown".to_owned()));
        }
        // What the response says (or its close-delimited body implies);
        // a tunnel or broken framing announces nothing.
        if !persistent && !matches!(plan, BodyPlan::Tunnel | BodyPlan::Invalid(_)) {
            self.close_announced = true;
        }
        // A non-2xx to CONNECT: the client's side is HTTP again.
        if method == MethodKind::Connect
            && plan != BodyPlan::Tunnel
            && matches!(self.dirs[TO_SERVER].phase, Phase::AwaitConnect)
        {
            self.dirs[TO_SERVER].phase = Phase::Head;
        }
        match plan {
            BodyPlan::Length(n) if n > 0 => {
                self.dirs[TO_CLIENT].phase = Phase::Body {
                    serial,
                    body: Body::Length { remaining: n },
                }
            }
            BodyPlan::Chunked => {
                self.dirs[TO_CLIENT].phase = Phase::Body {
                    serial,
                    body: Body::Chunked(Chunked::new(self.cfg.max_chunk_line_bytes)),
                }
            }
            BodyPlan::Close => {
                if info.version >= 11 {
                    self.facts.close_delimited_on_http11 = true;
                }
                self.dirs[TO_CLIENT].phase = Phase::Body {
                    serial,
                    body: Body::Close,
                }
            }
            BodyPlan::Tunnel => {
                self.facts.upgrade = upgrade;
                self.response_end(serial, ts);
                for d in &mut self.dirs {
                    d.phase = Phase::Tunnel;
                    d.buf.clear();
                }
            }
            BodyPlan::Invalid(e) => {
                self.count_framing_error(e);
                self.response_lost(serial);
                self.lose_sync(TO_CLIENT, true);
            }
            _ => self.response_end(serial, ts),
        }
    }

    fn response_end(&mut self, serial: Option<u64>, ts: Timestamp) {
        let mut persistent = None;
        if let Some(o) = self.ex_mut(serial) {
            o.ex.response_last = Some(ts);
            o.resp_done = true;
            persistent = Some(o.ex.persistent);
        }
        self.facts.last_response_end = Some(ts);
        self.last_final = Some((persistent.unwrap_or(false), ts));
        if matches!(self.dirs[TO_CLIENT].phase, Phase::Body { .. }) {
            self.dirs[TO_CLIENT].phase = Phase::Head;
        }
        self.finalize();
    }

    /// The final response of `serial` will not be seen whole.
    fn response_lost(&mut self, serial: Option<u64>) {
        if let Some(o) = self.ex_mut(serial) {
            o.final_seen = true;
            o.resp_done = true;
            o.ex.response_incomplete = true;
        }
        self.finalize();
    }

    // ---- bodies --------------------------------------------------------

    fn body(&mut self, d: usize, ts: Timestamp, rest: &[u8]) -> usize {
        let Phase::Body { serial, body } = &mut self.dirs[d].phase else {
            return 0;
        };
        let serial = *serial;
        let (used, counted, outcome) = match body {
            Body::Length { remaining } => {
                let take = (*remaining).min(rest.len() as u64);
                *remaining -= take;
                let done = *remaining == 0;
                (
                    take as usize,
                    take,
                    if done {
                        BodyOutcome::Done
                    } else {
                        BodyOutcome::More
                    },
                )
            }
            Body::Close => (rest.len(), rest.len() as u64, BodyOutcome::More),
            Body::Chunked(c) => match c.feed(rest) {
                Ok(p) => (
                    p.consumed,
                    p.data,
                    if c.is_done() {
                        BodyOutcome::Done
                    } else {
                        BodyOutcome::More
                    },
                ),
                Err((p, _)) => (p.consumed, p.data, BodyOutcome::BadChunk),
            },
        };
        self.count_body(d, serial, counted);
        match outcome {
            BodyOutcome::More => {}
            BodyOutcome::Done => self.message_end(d, serial, ts),
            BodyOutcome::BadChunk => {
                self.facts.errors.bad_chunk += 1;
                self.message_lost(d, serial, ts);
                self.lose_sync(d, false);
            }
        }
        used
    }

    fn count_body(&mut self, d: usize, serial: Option<u64>, n: u64) {
        if n == 0 {
            return;
        }
        if let Some(o) = self.ex_mut(serial) {
            let c = if d == TO_SERVER {
                &mut o.ex.request_body_bytes
            } else {
                &mut o.ex.response_body_bytes
            };
            *c = c.saturating_add(n);
        }
    }

    fn message_end(&mut self, d: usize, serial: Option<u64>, ts: Timestamp) {
        if d == TO_SERVER {
            self.request_end(serial, ts);
        } else {
            self.response_end(serial, ts);
        }
    }

    /// A body could not be followed to its end.
    fn message_lost(&mut self, d: usize, serial: Option<u64>, ts: Timestamp) {
        if d == TO_SERVER {
            if let Some(o) = self.ex_mut(serial) {
                o.ex.request_incomplete = true;
            }
            self.request_end(serial, ts);
        } else {
            self.response_lost(serial);
        }
    }

    fn count_framing_error(&mut self, e: FramingError) {
        match e {
            FramingError::BadContentLength => self.facts.errors.bad_content_length += 1,
            FramingError::BadTransferEncoding => self.facts.errors.bad_transfer_encoding += 1,
        }
    }

    /// The direction no longer knows where messages start.
    fn lose_sync(&mut self, d: usize, line_start: bool) {
        self.facts.errors.out_of_sync += 1;
        self.dirs[d].buf.clear();
        self.dirs[d].phase = Phase::Seek {
            line_start,
            pickup: false,
        };
    }

    /// A head could not be parsed (or was lost): count it, give it an
    /// exchange where one is owed, and seek the next start. `len` head
    /// bytes are thrown away.
    fn head_failed(
        &mut self,
        d: usize,
        ts: Timestamp,
        why: HeadFailure,
        len: usize,
        line_start: bool,
    ) {
        let e = &mut self.facts.errors;
        match why {
            HeadFailure::TooLarge => e.head_too_large += 1,
            HeadFailure::TooManyHeaders => e.too_many_headers += 1,
            HeadFailure::Malformed => e.malformed_head += 1,
            HeadFailure::Gap => {}
        }
        self.skipped(len, false);
        if self.dirs[d].line_ok || why == HeadFailure::Gap {
            self.head_lost(d, ts);
        }
        self.dirs[d].line_ok = false;
        self.lose_sync(d, line_start);
    }

    /// A head whose start was seen will not be parsed: the request still
    /// happened (a placeholder exchange keeps the pairing right), and a
    /// response still answered the oldest waiting request.
    fn head_lost(&mut self, d: usize, ts: Timestamp) {
        self.set_protocol(Protocol::Http1);
        if d == TO_SERVER {
            let ex = Exchange {
                request_incomplete: true,
                ..Exchange::default()
            };
            let serial = self.open_request(ex, MethodKind::Other, None);
            self.request_end(serial, ts);
        } else {
            self.facts.responses += 1;
            let first = self.dirs[TO_CLIENT].buf_first;
            match self.awaiting() {
                Some(i) => {
                    let serial = self.open.get(i).map(|o| o.serial);
                    if let Some(o) = self.ex_mut(serial) {
                        o.ex.response_first = Some(first);
                    }
                    self.response_lost(serial);
                }
                None => self.facts.unmatched_responses += 1,
            }
        }
        self.dirs[d].buf.clear();
    }

    /// Moves finished exchanges, oldest first, to the facts.
    fn finalize(&mut self) {
        while self.open.front().is_some_and(Open::done) {
            if let Some(o) = self.open.pop_front() {
                self.keep(o.ex);
            }
        }
        if self.open.is_empty() && self.open.capacity() > 0 {
            // An idle connection holds no room for an open exchange (~330
            // bytes, the size of its kept copy): idle connections are the
            // many, and the next request pays one allocation.
            self.open = VecDeque::new();
        }
    }

    fn keep(&mut self, ex: Exchange) {
        if self.facts.exchanges.len() < self.cfg.max_exchanges_kept {
            let kept = &mut self.facts.exchanges;
            if kept.len() == kept.capacity() {
                // One-exchange connections are common (HTTP/1.0, close):
                // exact room for the first; then growth by half, not
                // doubling, since kept exchanges are most of an open
                // connection's memory and a doubled Vec is a quarter empty
                // on average.
                kept.reserve_exact((kept.len() / 2).max(1));
            }
            kept.push(ex);
        } else {
            self.facts.exchanges_dropped += 1;
        }
    }

    /// The server closed (FIN or RST at `ts`). See [`HttpFacts::premature_close`].
    fn judge_server_close(&mut self, ts: Timestamp) {
        // A server that closes after the client did only answers it.
        if self.facts.premature_close || self.client_closed {
            return;
        }
        // A FIN that ends a close-delimited body is that body's delimiter,
        // announced by the response's framing: never premature.
        if matches!(
            self.dirs[TO_CLIENT].phase,
            Phase::Body {
                body: Body::Close,
                ..
            }
        ) {
            return;
        }
        let req = &self.dirs[TO_SERVER];
        let partial_request = matches!(req.phase, Phase::Head) && !req.buf.is_empty();
        let owed = self.open.iter().find(|o| o.owes_response());
        let premature = match owed {
            Some(o) => !o.ex.request_after_close,
            None if partial_request => !req.start.after_close,
            None => match self.last_final {
                Some((true, end)) => {
                    end.nanos_until_saturating(ts)
                        <= u64::try_from(self.cfg.premature_close_window.as_nanos())
                            .unwrap_or(u64::MAX)
                }
                _ => false,
            },
        };
        self.facts.premature_close = premature;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeadFailure {
    TooLarge,
    TooManyHeaders,
    Malformed,
    Gap,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyOutcome {
    More,
    Done,
    BadChunk,
}

/// Whether `line` could start the kind of message direction `d` sends
/// (used to tell an oversized start line from noise).
fn could_start(d: usize, line: &[u8]) -> bool {
    let is_response = line.starts_with(b"HTTP/1.");
    (d == TO_CLIENT) == is_response
}

/// A buffered candidate start line, judged.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    verdict: LineVerdict,
    /// Its line ending was seen.
    complete: bool,
    /// It filled the head buffer.
    full: bool,
    could: bool,
    /// It began at the first byte of the stream.
    at_zero: bool,
}

fn framing_of(plan: BodyPlan) -> Framing {
    match plan {
        BodyPlan::Length(_) => Framing::ContentLength,
        BodyPlan::Chunked => Framing::Chunked,
        BodyPlan::Close => Framing::Close,
        BodyPlan::None | BodyPlan::Interim | BodyPlan::Tunnel | BodyPlan::Invalid(_) => {
            Framing::None
        }
    }
}

/// RFC 9112 section 9.3: each side keeps the connection if it speaks
/// HTTP/1.1 and did not say `close`, or speaks HTTP/1.0 and said
/// `keep-alive`; a close-delimited response or a tunnel ends HTTP on the
/// connection whatever was said. `req` is `None` for a response without a
/// request (then only the response decides).
fn persists(
    req: Option<(Version, &ConnectionTokens)>,
    resp_version: Version,
    resp: &ConnectionTokens,
    plan: BodyPlan,
) -> bool {
    let side = |v: Version, c: &ConnectionTokens| !c.close && (v >= 11 || c.keep_alive);
    !matches!(
        plan,
        BodyPlan::Close | BodyPlan::Tunnel | BodyPlan::Invalid(_)
    ) && side(resp_version, resp)
        && req.is_none_or(|(v, c)| side(v, c))
}

impl StreamHandler for HttpConn {
    fn on_data(&mut self, dir: Direction, ts: Timestamp, data: &[u8]) {
        if self.ended || data.is_empty() {
            return;
        }
        self.payload_seen = true;
        let d = dir.index();
        self.dirs[d].last_ts = Some(ts);
        // A TLS record header needs three bytes to be told apart; hold a
        // short start that begins like one.
        if self.facts.protocol == Protocol::None && self.dirs[d].offset == 0 {
            let held_len = self.dirs[d].held_len;
            let mut probe = [0u8; 3];
            let have = held_len + data.len().min(3 - held_len.min(3));
            probe[..held_len].copy_from_slice(&self.dirs[d].held[..held_len]);
            let n = have - held_len;
            probe[held_len..have].copy_from_slice(data.get(..n).unwrap_or_default());
            match tls_verdict(&probe[..have]) {
                Some(true) => {
                    self.set_protocol(Protocol::Tls);
                    self.dirs[d].held_len = 0;
                    return;
                }
                None => {
                    self.dirs[d].held[held_len..have].copy_from_slice(&probe[held_len..have]);
                    if held_len == 0 {
                        self.dirs[d].held_ts = ts;
                    }
                    self.dirs[d].held_len = have;
                    return;
                }
                Some(false) if held_len > 0 => {
                    let held = self.dirs[d].held;
                    let held_ts = self.dirs[d].held_ts;
                    self.dirs[d].held_len = 0;
                    self.process(d, held_ts, held.get(..held_len).unwrap_or_default());
                }
                Some(false) => {}
            }
        }
        self.process(d, ts, data);
    }

    fn on_gap(&mut self, dir: Direction, ts: Timestamp, len: u64) {
        if self.ended || len == 0 {
            return;
        }
        let d = dir.index();
        if self.dirs[d].held_len > 0 {
            // Not a TLS start after all (no record header is cut by a gap
            // at byte 2 in a way we could check): treat the held bytes as
            // data.
            let held = self.dirs[d].held;
            let n = self.dirs[d].held_len;
            let held_ts = self.dirs[d].held_ts;
            self.dirs[d].held_len = 0;
            self.process(d, held_ts, held.get(..n).unwrap_or_default());
        }
        self.gap(d, ts, len);
        self.dirs[d].offset = self.dirs[d].offset.saturating_add(len);
    }

    fn on_fin(&mut self, dir: Direction, ts: Timestamp) {
        if self.ended {
            return;
        }
        let d = dir.index();
        if d == TO_SERVER {
            self.client_closed = true;
        }
        if d != TO_CLIENT || self.server_fin {
            return;
        }
        self.judge_server_close(ts);
        self.server_fin = true;
        // The FIN delimits a close-delimited body (RFC 9112 section 6.3
        // item 8); its last byte is the last data seen.
        if let Phase::Body {
            serial,
            body: Body::Close,
        } = self.dirs[TO_CLIENT].phase
        {
            let last = self.dirs[TO_CLIENT].last_ts.unwrap_or(ts);
            self.response_end(serial, last);
        }
    }

    fn on_rst(&mut self, dir: Direction, ts: Timestamp) {
        if self.ended {
            return;
        }
        if dir.index() == TO_CLIENT && !self.server_fin && !self.server_rst {
            self.judge_server_close(ts);
            self.server_rst = true;
        }
        if dir.index() == TO_SERVER {
            self.client_closed = true;
        }
    }

    fn on_end(&mut self, ts: Timestamp) {
        if self.ended {
            return;
        }
        // Flush a held TLS-looking start that never got its third byte.
        for d in 0..2 {
            let n = self.dirs[d].held_len;
            if n > 0 {
                let held = self.dirs[d].held;
                let held_ts = self.dirs[d].held_ts;
                self.dirs[d].held_len = 0;
                self.process(d, held_ts, held.get(..n).unwrap_or_default());
            }
        }
        self.ended = true;
        // Heads cut by the end of the connection.
        for d in [TO_SERVER, TO_CLIENT] {
            if matches!(self.dirs[d].phase, Phase::Head) && !self.dirs[d].buf.is_empty() {
                let last = self.dirs[d].last_ts.unwrap_or(ts);
                self.head_lost(d, last);
            }
        }
        while let Some(mut o) = self.open.pop_front() {
            if o.has_request && !o.final_seen {
                self.facts.unanswered_requests += 1;
            }
            if o.final_seen && !o.resp_done {
                o.ex.response_incomplete = true;
            }
            if o.has_request && !o.req_done {
                o.ex.request_incomplete = true;
            }
            self.keep(o.ex);
        }
        if self.facts.protocol == Protocol::None && self.payload_seen {
            self.facts.protocol = Protocol::Other;
        }
    }
}

impl HttpConn {
    /// The gap policy (see the module docs of [`crate::http`]).
    fn gap(&mut self, d: usize, ts: Timestamp, len: u64) {
        match self.dirs[d].phase.clone() {
            Phase::Ignore | Phase::Tunnel | Phase::AwaitConnect => {}
            Phase::Seek { pickup, .. } => {
                let n = self.dirs[d].buf.len();
                self.dirs[d].buf.clear();
                self.skipped(n, pickup);
                self.dirs[d].phase = Phase::Seek {
                    line_start: true,
                    pickup,
                };
            }
            Phase::Head => {
                if self.dirs[d].buf.is_empty() {
                    self.lose_sync(d, true);
                } else {
                    let n = self.dirs[d].buf.len();
                    self.head_failed(d, ts, HeadFailure::Gap, n, true);
                }
            }
            Phase::Body {
                serial,
                body: Body::Length { remaining },
            } => {
                let lost = len.min(remaining);
                let left = remaining - lost;
                self.dirs[d].phase = Phase::Body {
                    serial,
                    body: Body::Length { remaining: left },
                };
                self.add_missing(serial, lost);
                if left == 0 {
                    self.message_end(d, serial, ts);
                }
                if len > lost {
                    self.lose_sync(d, true);
                }
            }
            Phase::Body {
                serial,
                body: Body::Close,
            } => self.add_missing(serial, len),
            Phase::Body {
                serial,
                body: Body::Chunked(mut c),
            } => match c.data_remaining() {
                Some(r) if len <= r => {
                    c.skip_data(len);
                    self.dirs[d].phase = Phase::Body {
                        serial,
                        body: Body::Chunked(c),
                    };
                    self.add_missing(serial, len);
                }
                _ => {
                    self.message_lost(d, serial, ts);
                    self.lose_sync(d, true);
                }
            },
        }
    }

    fn add_missing(&mut self, serial: Option<u64>, n: u64) {
        if let Some(o) = self.ex_mut(serial) {
            o.ex.missing_bytes = o.ex.missing_bytes.saturating_add(n);
        }
    }
}
