//! What the HTTP layer knows about a connection: the contract with the
//! report layer. Fields may be added, never renamed or removed without
//! changing the report.

use crate::time::Timestamp;
use std::borrow::Cow;
use std::num::NonZeroU64;

/// What a connection's byte streams carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// No payload was seen.
    #[default]
    None,
    Http1,
    /// A TLS record header at the start of the stream.
    Tls,
    /// The HTTP/2 connection preface.
    Http2,
    Other,
}

/// How a message body was delimited (RFC 9112 section 6.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Framing {
    #[default]
    None,
    ContentLength,
    Chunked,
    /// Delimited by the close of the connection (responses only).
    Close,
}

/// HTTP version as `major*10 + minor` (10 = HTTP/1.0, 11 = HTTP/1.1).
pub type Version = u8;

/// `Keep-Alive` header parameters.
///
/// Each value is kept complemented in a `NonZeroU64`, so an absent one
/// costs no tag: 16 bytes in every kept exchange rather than 32. The one
/// value that cannot be told from absent is 2^64 - 1, which no server
/// sends; it reads as absent, as a value that overflows does.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepAliveParams {
    timeout: Option<NonZeroU64>,
    max: Option<NonZeroU64>,
}

impl KeepAliveParams {
    pub const fn new(timeout: Option<u64>, max: Option<u64>) -> Self {
        KeepAliveParams {
            timeout: pack(timeout),
            max: pack(max),
        }
    }

    /// `timeout=`, seconds.
    pub const fn timeout(&self) -> Option<u64> {
        unpack(self.timeout)
    }

    /// `max=`, requests.
    pub const fn max(&self) -> Option<u64> {
        unpack(self.max)
    }

    pub fn set_timeout(&mut self, timeout: Option<u64>) {
        self.timeout = pack(timeout);
    }

    pub fn set_max(&mut self, max: Option<u64>) {
        self.max = pack(max);
    }
}

const fn pack(v: Option<u64>) -> Option<NonZeroU64> {
    match v {
        Some(v) => NonZeroU64::new(!v),
        None => None,
    }
}

const fn unpack(v: Option<NonZeroU64>) -> Option<u64> {
    match v {
        Some(v) => Some(!v.get()),
        None => None,
    }
}

impl std::fmt::Debug for KeepAliveParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeepAliveParams")
            .field("timeout", &self.timeout())
            .field("max", &self.max())
            .finish()
    }
}

/// Tokens of a `Connection` header we act on, plus the raw list.
#[derive(Clone, Default, Eq)]
pub struct ConnectionTokens {
    pub close: bool,
    pub keep_alive: bool,
    pub upgrade: bool,
    /// A list of just one of `close`, `keep-alive` and `upgrade`: its index
    /// in [`KNOWN_LISTS`] plus one (0: none). Such a list is what nearly
    /// every message carries, and costs no allocation.
    alone: u8,
    /// Any other list (two tokens or more, or one of another name): boxed,
    /// so every kept exchange pays 8 bytes for it rather than 24 (twice per
    /// exchange).
    #[expect(
        clippy::box_collection,
        reason = "a thin pointer: 8 bytes where a Vec is 24"
    )]
    more: Option<Box<Vec<Cow<'static, str>>>>,
}

/// The lists of one token with a flag in [`ConnectionTokens`], in the
/// order of [`ConnectionTokens::add_raw`]'s flags.
const KNOWN_LISTS: [&[Cow<'static, str>]; 3] = [
    &[Cow::Borrowed("close")],
    &[Cow::Borrowed("keep-alive")],
    &[Cow::Borrowed("upgrade")],
];

/// The index in [`KNOWN_LISTS`] of a token with a flag, in any case.
fn known_index(token: &[u8]) -> Option<usize> {
    KNOWN_LISTS.iter().position(|l| {
        l.first()
            .is_some_and(|k| token.eq_ignore_ascii_case(k.as_bytes()))
    })
}

impl ConnectionTokens {
    /// All tokens, lower-cased, in order (bounded by the header limits).
    pub fn tokens(&self) -> &[Cow<'static, str>] {
        match (&self.more, self.alone) {
            (Some(list), _) => list,
            (None, 0) => &[],
            (None, i) => KNOWN_LISTS.get(usize::from(i) - 1).copied().unwrap_or(&[]),
        }
    }

    /// Appends a token (lower-cased by the caller; the flags are the
    /// caller's too). `close`, `keep-alive` and `upgrade` borrow a
    /// constant.
    pub fn push_token(&mut self, token: Cow<'static, str>) {
        let known = known_index(token.as_bytes());
        self.push(known, || token);
    }

    /// A token as a header carries it: sets the flag it names (any case)
    /// and, when `listed`, appends it, a named one as its constant when no
    /// longer than `max_len` (one lookup for both) and any other as
    /// `lower` makes it.
    pub(crate) fn add_raw(
        &mut self,
        tok: &[u8],
        listed: bool,
        max_len: usize,
        lower: impl FnOnce() -> String,
    ) {
        let known = known_index(tok);
        match known {
            Some(0) => self.close = true,
            Some(1) => self.keep_alive = true,
            Some(_) => self.upgrade = true,
            None => {}
        }
        if listed {
            let known = known.filter(|_| tok.len() <= max_len);
            self.push(known, || Cow::Owned(lower()));
        }
    }

    /// Appends `known`'s constant, or `other()` when `known` is `None`.
    fn push(&mut self, known: Option<usize>, other: impl FnOnce() -> Cow<'static, str>) {
        if self.more.is_none() {
            match (self.alone, known) {
                (0, Some(i)) => {
                    self.alone = i as u8 + 1;
                    return;
                }
                (alone, _) => {
                    // Room for the list so far and this one, not the four
                    // a first push makes (kept for every exchange).
                    let mut list = Vec::with_capacity(usize::from(alone > 0) + 1);
                    list.extend_from_slice(self.tokens());
                    self.alone = 0;
                    self.more = Some(Box::new(list));
                }
            }
        }
        if let Some(list) = &mut self.more {
            list.push(match known.and_then(|i| KNOWN_LISTS.get(i)?.first()) {
                Some(k) => k.clone(),
                None => other(),
            });
        }
    }

    /// The list took an allocation.
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> bool {
        self.more.is_some()
    }
}

impl PartialEq for ConnectionTokens {
    fn eq(&self, other: &Self) -> bool {
        (self.close, self.keep_alive, self.upgrade)
            == (other.close, other.keep_alive, other.upgrade)
            && self.tokens() == other.tokens()
    }
}

impl std::fmt::Debug for ConnectionTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionTokens")
            .field("close", &self.close)
            .field("keep_alive", &self.keep_alive)
            .field("upgrade", &self.upgrade)
            .field("tokens", &self.tokens())
            .finish()
    }
}

/// One request and its response.
///
/// An exchange exists for every request head seen (also one that failed to
/// parse, with `request_incomplete`) and for every final response that had
/// no request to pair with (a capture that starts mid-exchange: `method`
/// and the request fields are `None`; counted in `unmatched_responses`).
///
/// # Timing
/// Every time is the capture timestamp of the `on_data` call (the TCP
/// segment) that delivered the byte in question:
/// - `request_first`: first byte of the request head; `request_last`: last
///   byte of the request (end of head, or of body if it has one);
/// - `response_first`: first byte of the *final* response's head (interim
///   1xx responses are in `interim_first`); `response_last`: last byte of
///   the final response (for a close-delimited body: the last data before
///   the server's FIN).
///
/// From these the report derives `wait_ms` = `response_first` -
/// `request_last` (the server's think time; Packetbeat's `event.duration`
/// runs from request *first* byte to response first byte) and
/// `duration_ms` = `response_last` - `request_first`. Wireshark's
/// `http.time` runs from the frame completing the request to the frame
/// completing the response (last byte to last byte).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exchange {
    /// The standard methods (RFC 9110 section 9, and PATCH) borrow a
    /// constant; others are owned.
    pub method: Option<Cow<'static, str>>,
    /// Request target as sent, cut to `HttpConfig::max_uri_len` bytes
    /// (boxed: no spare capacity, 8 bytes less per exchange kept).
    pub uri: Option<Box<str>>,
    /// Status of the final response.
    pub status: Option<u16>,
    pub request_version: Option<Version>,
    pub response_version: Option<Version>,
    pub request_first: Option<Timestamp>,
    pub request_last: Option<Timestamp>,
    pub response_first: Option<Timestamp>,
    pub response_last: Option<Timestamp>,
    /// Body bytes seen (decoded chunk data for chunked bodies; bytes lost
    /// to gaps are in `missing_bytes`, not here).
    pub request_body_bytes: u64,
    pub response_body_bytes: u64,
    /// `None` for a request without body and for responses that end at the
    /// head (HEAD, 1xx, 204, 304, tunnels) or whose framing was invalid.
    pub request_framing: Framing,
    pub response_framing: Framing,
    pub request_connection: ConnectionTokens,
    pub response_connection: ConnectionTokens,
    /// From the response's `Keep-Alive` header.
    pub keep_alive: KeepAliveParams,
    /// The connection may persist after this exchange (RFC 9112 section 9.3).
    pub persistent: bool,
    /// The request started before the previous response ended.
    pub pipelined: bool,
    /// Time the finished request waited while an earlier response was still
    /// being sent (head-of-line blocking), nanoseconds.
    pub hol_wait_ns: u64,
    /// The request carried `Expect: 100-continue`.
    pub expect_continue: bool,
    /// Interim (1xx other than 101) responses received before the final one.
    pub interim_responses: u32,
    /// Body bytes the capture lost (survivable gaps).
    pub missing_bytes: u64,
    /// The request's first byte came after the server's FIN (at the capture
    /// point).
    pub request_after_server_fin: bool,
    /// The request's first byte came after the connection was announced to
    /// close: an earlier request said `Connection: close` (or was HTTP/1.0
    /// without `keep-alive`), or an earlier
    /// final response was not persistent (said `close`, was HTTP/1.0
    /// without `keep-alive`, or was close-delimited). RFC 9112 section 9.6.
    pub request_after_close: bool,
    /// The response was cut by the connection's end before it completed,
    /// or lost to a gap or a framing error.
    pub response_incomplete: bool,
    /// The request was not seen whole: its head failed to parse or was
    /// lost to a gap (method and URI are then unknown), its body framing
    /// was invalid, or the connection ended inside it.
    pub request_incomplete: bool,
    /// First byte of the first interim (1xx) response, if any.
    pub interim_first: Option<Timestamp>,
}

/// Counts of HTTP problems by kind, for `http_errors`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpErrors {
    pub head_too_large: u64,
    pub too_many_headers: u64,
    pub malformed_head: u64,
    pub bad_content_length: u64,
    pub bad_chunk: u64,
    /// Bytes skipped while out of sync, looking for the next message start.
    pub resync_skipped_bytes: u64,
    /// Times a direction went out of sync.
    pub out_of_sync: u64,
    /// Requests or responses not queued because `max_pending_requests`
    /// exchanges were open. Such a request is counted in `requests` but
    /// has no exchange and is not in `unanswered_requests`; the response
    /// that answers it is then counted as unmatched.
    pub pending_overflow: u64,
    /// A request whose `Transfer-Encoding` does not end in `chunked`
    /// (RFC 9112 section 6.3 item 4).
    pub bad_transfer_encoding: u64,
    /// Messages carrying both `Transfer-Encoding` and `Content-Length`
    /// (the first wins; a request smuggling indicator, RFC 9112 section
    /// 6.1). Framing continues.
    pub te_with_content_length: u64,
}

const NO_ERRORS: HttpErrors = HttpErrors {
    head_too_large: 0,
    too_many_headers: 0,
    malformed_head: 0,
    bad_content_length: 0,
    bad_chunk: 0,
    resync_skipped_bytes: 0,
    out_of_sync: 0,
    pending_overflow: 0,
    bad_transfer_encoding: 0,
    te_with_content_length: 0,
};

/// A connection's [`HttpErrors`], allocated at its first error: nearly
/// every connection has none, and 80 bytes of zeros in each open
/// connection's state add up. Reads (through `Deref`) see zeros until
/// then; the first write through `DerefMut` allocates.
#[derive(Clone, Default)]
pub struct ErrorCounts(Option<Box<HttpErrors>>);

impl std::ops::Deref for ErrorCounts {
    type Target = HttpErrors;
    fn deref(&self) -> &HttpErrors {
        self.0.as_deref().unwrap_or(&NO_ERRORS)
    }
}

impl std::ops::DerefMut for ErrorCounts {
    fn deref_mut(&mut self) -> &mut HttpErrors {
        self.0.get_or_insert_with(Box::default)
    }
}

impl std::fmt::Debug for ErrorCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        HttpErrors::fmt(self, f)
    }
}

impl PartialEq for ErrorCounts {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl PartialEq<HttpErrors> for ErrorCounts {
    fn eq(&self, other: &HttpErrors) -> bool {
        **self == *other
    }
}

impl Eq for ErrorCounts {}

/// Everything the HTTP layer states about one connection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpFacts {
    pub protocol: Protocol,
    /// Request heads seen (including heads that failed to parse).
    pub requests: u64,
    /// Final response heads seen (101 included, other 1xx not), so that
    /// `requests == responses` on a connection where every request was
    /// answered. tshark's `http.response` count is `responses +
    /// interim_responses`.
    pub responses: u64,
    /// Interim (1xx other than 101) response heads seen.
    pub interim_responses: u64,
    /// Exchanges in order; at most `max_exchanges_kept` (see
    /// `exchanges_dropped`).
    pub exchanges: Vec<Exchange>,
    pub exchanges_dropped: u64,
    /// Response last byte to next request first byte, nanoseconds, in order:
    /// one per request that started while no response was outstanding,
    /// after at least one response ended (pipelined requests make none).
    /// At most `max_exchanges_kept` are kept; `idle_max_ns` covers all.
    pub idle_gaps_ns: Vec<u64>,
    /// Most requests outstanding at once (a request counts from its first
    /// byte until its final response ends): 1 without pipelining.
    pub pipeline_depth_max: u32,
    /// Requests with no final response head when the connection ended.
    pub unanswered_requests: u64,
    /// Response heads (final or interim) with no request waiting for one.
    pub unmatched_responses: u64,
    pub errors: ErrorCounts,
    /// The connection turned into a tunnel (101 or CONNECT): the protocol
    /// named by `Upgrade`, or `"connect"`.
    pub upgrade: Option<String>,
    /// A response on an HTTP/1.1 connection was delimited by the close
    /// (its head said HTTP/1.1 and had neither `Content-Length` nor a
    /// `Transfer-Encoding` ending in chunked).
    pub close_delimited_on_http11: bool,
    /// The server closed (FIN or RST, at the capture point) while it owed
    /// a response, or right after a response that promised persistence.
    /// Precisely, at the server's first FIN or RST, if the client had not
    /// closed (FIN or RST) before it:
    /// - a request (or the start of a request head) had no complete final
    ///   response and that response was not close-delimited, and the
    ///   request was not itself sent after a close was announced
    ///   (`request_after_close`); or
    /// - no request was owed, the last final response was `persistent`, and
    ///   the close came within `HttpConfig::premature_close_window` of its
    ///   last byte (no idle period).
    ///
    /// A close after a non-persistent exchange or after an idle period is
    /// not premature (that is the server's idle timeout). A request that
    /// crossed such an idle-timeout close on the wire (seen before the FIN
    /// at a client-side capture point) does make it premature: the report
    /// tells that keep-alive race apart by the idle gap before the request.
    pub premature_close: bool,
    /// Last byte of the last final response (for `close.idle_before_ms`).
    pub last_response_end: Option<Timestamp>,
    /// Largest of all idle gaps (also those beyond the kept ones).
    pub idle_max_ns: Option<u64>,
    /// Bytes skipped at the start of a direction picked up mid-stream,
    /// before the first message start (not an error).
    pub pickup_skipped_bytes: u64,
    /// Bytes carried after the connection became a tunnel (both ways).
    pub tunnel_bytes: u64,
    /// Request targets longer than `HttpConfig::max_uri_len`, cut in their
    /// exchange (for `capture.limits_hit.max_uri_len`).
    pub uris_cut: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection keeps every exchange for its report (up to
    /// `max_exchanges_kept`), so the exchange is most of a long-lived
    /// connection's memory (BENCHMARKS.md, "Memory").
    #[test]
    fn kept_exchanges_stay_small() {
        let size = std::mem::size_of::<Exchange>();
        assert!(size <= 184, "an exchange is {size} bytes");
        assert_eq!(std::mem::size_of::<KeepAliveParams>(), 16);
        assert_eq!(std::mem::size_of::<ConnectionTokens>(), 16);
    }

    #[test]
    fn keep_alive_values_round_trip_and_absent_is_absent() {
        let ka = KeepAliveParams::default();
        assert_eq!((ka.timeout(), ka.max()), (None, None));
        for v in [0, 1, 5, 100, u64::MAX - 1] {
            let ka = KeepAliveParams::new(Some(v), None);
            assert_eq!((ka.timeout(), ka.max()), (Some(v), None));
            let mut ka = KeepAliveParams::default();
            ka.set_max(Some(v));
            assert_eq!((ka.timeout(), ka.max()), (None, Some(v)));
        }
        assert_eq!(KeepAliveParams::new(Some(u64::MAX), None).timeout(), None);
    }

    #[test]
    fn connection_tokens_keep_their_order_and_allocate_only_for_lists() {
        let mut alone = ConnectionTokens::default();
        assert!(alone.tokens().is_empty());
        alone.push_token(Cow::Owned("keep-alive".into()));
        assert_eq!(alone.tokens(), ["keep-alive"]);
        assert!(!alone.allocated());
        assert!(matches!(alone.tokens()[0], Cow::Borrowed(_)));

        let mut two = alone.clone();
        two.push_token(Cow::Borrowed("close"));
        assert_eq!(two.tokens(), ["keep-alive", "close"]);
        assert!(two.allocated());
        assert_ne!(two, alone);

        let mut other = ConnectionTokens::default();
        other.push_token(Cow::Owned("te".into()));
        other.push_token(Cow::Owned("upgrade".into()));
        assert_eq!(other.tokens(), ["te", "upgrade"]);
        assert!(matches!(other.tokens()[1], Cow::Borrowed(_)));

        // Equal lists are equal however they were built; flags count too.
        let mut again = ConnectionTokens::default();
        again.push_token(Cow::Borrowed("keep-alive"));
        assert_eq!(again, alone);
        again.keep_alive = true;
        assert_ne!(again, alone);
    }
}
