//! Message heads: finding where a head ends in a byte stream, and parsing a
//! complete head with httparse into the few facts the layer acts on.
//!
//! The head is the only part of a message ever copied (into the direction's
//! bounded head buffer, and only when it spans several `on_data` calls);
//! [`HeadInfo`] keeps owned copies of the small things the report needs.

use super::facts::{ConnectionTokens, KeepAliveParams, Version};
use std::borrow::Cow;

/// The first line of a parsed head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StartLine {
    Request {
        method: Cow<'static, str>,
        uri: Box<str>,
    },
    Response {
        status: u16,
    },
}

/// `Content-Length` as received (RFC 9112 section 6.3 item 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContentLength {
    Absent,
    Valid(u64),
    /// Not a number, or several differing values.
    Invalid,
}

/// `Transfer-Encoding` as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferEncoding {
    Absent,
    /// The last coding is `chunked`.
    ChunkedLast,
    /// Present but `chunked` is not the last coding.
    Other,
}

/// What the layer needs from one head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HeadInfo {
    pub start: StartLine,
    pub version: Version,
    pub connection: ConnectionTokens,
    pub keep_alive: KeepAliveParams,
    pub content_length: ContentLength,
    pub transfer_encoding: TransferEncoding,
    pub expect_continue: bool,
    /// First protocol of `Upgrade`, lower-cased.
    pub upgrade: Option<String>,
    /// The request target was longer than `max_uri_len` and was cut.
    pub uri_cut: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    TooManyHeaders,
    Malformed,
}

/// Limits applied while turning a head into a [`HeadInfo`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeadLimits {
    pub max_headers: usize,
    pub max_uri_len: usize,
    pub max_connection_tokens: usize,
    pub max_token_len: usize,
}

/// Where the head that starts at `data[0]` ends: the index just past the
/// empty line (`\n\n` or `\n\r\n`; RFC 9112 section 2.2 lets a recipient
/// accept a bare LF as a line terminator). `None` if the end is not in
/// `data`.
pub(crate) fn find_head_end(data: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\n', data.get(from..)?) {
        let nl = from + i;
        match (data.get(nl + 1), data.get(nl + 2)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            _ => from = nl + 1,
        }
    }
    None
}

/// The head end when the empty line straddles a buffered `tail` (already
/// searched, no end in it) and new `data`: returns how many bytes of `data`
/// complete the head.
pub(crate) fn find_head_end_across(tail: &[u8], data: &[u8]) -> Option<usize> {
    // The terminator is at most 3 bytes, so only the last two buffered bytes
    // can be part of it.
    let t = tail.get(tail.len().saturating_sub(2)..).unwrap_or_default();
    let mut joined = [0u8; 5];
    let d = data.get(..3.min(data.len())).unwrap_or_default();
    joined[..t.len()].copy_from_slice(t);
    joined[t.len()..t.len() + d.len()].copy_from_slice(d);
    let joined = &joined[..t.len() + d.len()];
    // Only an end that needs at least one byte of `data` is new.
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\n', joined.get(from..)?) {
        let nl = from + i;
        let end = match (joined.get(nl + 1), joined.get(nl + 2)) {
            (Some(b'\n'), _) => Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => Some(nl + 3),
            _ => None,
        };
        if let Some(end) = end {
            if end > t.len() {
                return Some(end - t.len());
            }
        }
        from = nl + 1;
        if from >= t.len() {
            break;
        }
    }
    find_head_end(data)
}

fn parser_config() -> httparse::ParserConfig {
    // Leniency a passive observer needs: real servers send these and real
    // clients accept them, so refusing them would lose the exchange.
    let mut cfg = httparse::ParserConfig::default();
    cfg.allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_response_status_delimiters(true);
    cfg
}

fn map_err(e: httparse::Error) -> HeadError {
    match e {
        httparse::Error::TooManyHeaders => HeadError::TooManyHeaders,
        _ => HeadError::Malformed,
    }
}

/// Header slots tried on the stack before a head with more fields is
/// parsed again with `max_headers` slots on the heap: most heads have far
/// fewer, so parsing a head usually allocates nothing but what it keeps.
const STACK_HEADERS: usize = 32;

/// Parses a complete request head (as delimited by [`find_head_end`]).
pub(crate) fn parse_request(head: &[u8], lim: &HeadLimits) -> Result<HeadInfo, HeadError> {
    let n = lim.max_headers.min(STACK_HEADERS);
    let mut stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
    match parse_request_in(head, lim, stack.get_mut(..n).unwrap_or_default()) {
        Err(HeadError::TooManyHeaders) if lim.max_headers > n => {
            let mut heap = vec![httparse::EMPTY_HEADER; lim.max_headers];
            parse_request_in(head, lim, &mut heap)
        }
        other => other,
    }
}

fn parse_request_in<'b>(
    head: &'b [u8],
    lim: &HeadLimits,
    headers: &mut [httparse::Header<'b>],
) -> Result<HeadInfo, HeadError> {
    let mut req = httparse::Request::new(headers);
    match parser_config().parse_request(&mut req, head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::Malformed),
        Err(e) => return Err(map_err(e)),
    }
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HeadError::Malformed);
    };
    let start = StartLine::Request {
        method: intern_method(method),
        uri: truncate_str(path, lim.max_uri_len).into(),
    };
    let mut info = head_info(start, minor, req.headers, lim);
    info.uri_cut = path.len() > lim.max_uri_len;
    Ok(info)
}

/// Parses a complete response head.
pub(crate) fn parse_response(head: &[u8], lim: &HeadLimits) -> Result<HeadInfo, HeadError> {
    let n = lim.max_headers.min(STACK_HEADERS);
    let mut stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
    match parse_response_in(head, lim, stack.get_mut(..n).unwrap_or_default()) {
        Err(HeadError::TooManyHeaders) if lim.max_headers > n => {
            let mut heap = vec![httparse::EMPTY_HEADER; lim.max_headers];
            parse_response_in(head, lim, &mut heap)
        }
        other => other,
    }
}

fn parse_response_in<'b>(
    head: &'b [u8],
    lim: &HeadLimits,
    headers: &mut [httparse::Header<'b>],
) -> Result<HeadInfo, HeadError> {
    let mut resp = httparse::Response::new(headers);
    match parser_config().parse_response(&mut resp, head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::Malformed),
        Err(e) => return Err(map_err(e)),
    }
    let (Some(status), Some(minor)) = (resp.code, resp.version) else {
        return Err(HeadError::Malformed);
    };
    Ok(head_info(
        StartLine::Response { status },
        minor,
        resp.headers,
        lim,
    ))
}

/// Methods that borrow a constant instead of allocating per request.
const STANDARD_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
];

/// `method` (case-sensitive, RFC 9110 section 9.1) as a constant when it
/// is a standard one.
fn intern_method(method: &str) -> Cow<'static, str> {
    match STANDARD_METHODS.iter().find(|&&m| m == method) {
        Some(&m) => Cow::Borrowed(m),
        None => Cow::Owned(method.to_owned()),
    }
}

/// Longest prefix of `s` of at most `max` bytes ending at a char boundary.
pub(crate) fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

fn head_info(
    start: StartLine,
    minor: u8,
    headers: &[httparse::Header<'_>],
    lim: &HeadLimits,
) -> HeadInfo {
    let mut info = HeadInfo {
        start,
        version: 10u8.saturating_add(minor.min(9)),
        connection: ConnectionTokens::default(),
        keep_alive: KeepAliveParams::default(),
        content_length: ContentLength::Absent,
        transfer_encoding: TransferEncoding::Absent,
        expect_continue: false,
        upgrade: None,
        uri_cut: false,
    };
    for h in headers {
        let name = h.name;
        let value = h.value;
        if name.eq_ignore_ascii_case("content-length") {
            info.content_length = merge_content_length(info.content_length, value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Several fields form one list (RFC 9110 section 5.3): only the
            // last coding of the last non-empty field decides.
            if let Some(last) = list_items(value).last() {
                info.transfer_encoding = if last.eq_ignore_ascii_case(b"chunked") {
                    TransferEncoding::ChunkedLast
                } else {
                    TransferEncoding::Other
                };
            } else if info.transfer_encoding == TransferEncoding::Absent {
                info.transfer_encoding = TransferEncoding::Other;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for tok in list_items(value) {
                add_connection_token(&mut info.connection, tok, lim);
            }
        } else if name.eq_ignore_ascii_case("keep-alive") {
            parse_keep_alive(&mut info.keep_alive, value);
        } else if name.eq_ignore_ascii_case("expect") {
            info.expect_continue |= trim(value).eq_ignore_ascii_case(b"100-continue");
        } else if name.eq_ignore_ascii_case("upgrade") && info.upgrade.is_none() {
            info.upgrade = list_items(value)
                .next()
                .map(|p| lower(p, lim.max_token_len));
        }
    }
    info
}

fn merge_content_length(cur: ContentLength, value: &[u8]) -> ContentLength {
    // RFC 9110 section 8.6: a list of identical values may be taken as one;
    // anything else is unrecoverable framing.
    let mut cur = cur;
    let mut any = false;
    for item in value.split(|&b| b == b',') {
        any = true;
        let v = match parse_decimal(trim(item)) {
            Some(v) => v,
            None => return ContentLength::Invalid,
        };
        cur = match cur {
            ContentLength::Absent => ContentLength::Valid(v),
            ContentLength::Valid(old) if old == v => ContentLength::Valid(v),
            _ => return ContentLength::Invalid,
        };
    }
    if any {
        cur
    } else {
        ContentLength::Invalid
    }
}

/// `1*DIGIT` as a u64; `None` on anything else or overflow.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

/// Non-empty, trimmed items of a comma-separated list.
fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|s| !s.is_empty())
}

fn lower(s: &[u8], max: usize) -> String {
    let s = s.get(..max.min(s.len())).unwrap_or_default();
    String::from_utf8_lossy(s).to_ascii_lowercase()
}

fn add_connection_token(ct: &mut ConnectionTokens, tok: &[u8], lim: &HeadLimits) {
    let listed = ct.tokens().len() < lim.max_connection_tokens;
    ct.add_raw(tok, listed, lim.max_token_len, || {
        lower(tok, lim.max_token_len)
    });
}

/// `Keep-Alive: timeout=5, max=100` (RFC 2068 section 19.7.1.1); the first
/// occurrence of each parameter wins, values may be quoted.
fn parse_keep_alive(ka: &mut KeepAliveParams, value: &[u8]) {
    for item in list_items(value) {
        let mut kv = item.splitn(2, |&b| b == b'=');
        let (Some(k), Some(v)) = (kv.next(), kv.next()) else {
            continue;
        };
        let v = trim(v);
        let v = v
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(v);
        let k = trim(k);
        if k.eq_ignore_ascii_case(b"timeout") && ka.timeout().is_none() {
            ka.set_timeout(parse_decimal(v));
        } else if k.eq_ignore_ascii_case(b"max") && ka.max().is_none() {
            ka.set_max(parse_decimal(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: HeadLimits = HeadLimits {
        max_headers: 16,
        max_uri_len: 8,
        max_connection_tokens: 4,
        max_token_len: 16,
    };

    #[test]
    fn head_end() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\nbody"), Some(16));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r"), None);
        assert_eq!(find_head_end(b""), None);
    }

    #[test]
    fn head_end_across_every_split() {
        let head = b"GET / HTTP/1.1\r\nA: b\r\n\r\nxyz";
        for cut in 1..head.len() {
            let (a, b) = head.split_at(cut);
            let got = match find_head_end(a) {
                Some(e) => e,
                None => cut + find_head_end_across(a, b).unwrap_or(usize::MAX / 2),
            };
            assert_eq!(got, 24, "cut at {cut}");
        }
    }

    #[test]
    fn request_facts() {
        let h = b"GET /a/very/long/uri HTTP/1.0\r\nConnection: Keep-Alive, Foo\r\n\
                  Keep-Alive: timeout=\"5\", max=100\r\nExpect: 100-Continue\r\n\r\n";
        let i = parse_request(h, &LIM).unwrap();
        assert_eq!(
            i.start,
            StartLine::Request {
                method: "GET".into(),
                uri: "/a/very/".into()
            }
        );
        assert_eq!(i.version, 10);
        assert!(i.connection.keep_alive && !i.connection.close);
        assert_eq!(i.connection.tokens(), ["keep-alive", "foo"]);
        // A lone known token, any case, is a borrowed list; the method too.
        let j = parse_request(b"PUT / HTTP/1.1\r\nConnection: Close\r\n\r\n", &LIM).unwrap();
        assert_eq!(j.connection.tokens(), ["close"]);
        assert!(!j.connection.allocated());
        assert!(matches!(
            j.start,
            StartLine::Request {
                method: Cow::Borrowed("PUT"),
                ..
            }
        ));
        let j = parse_request(
            b"FOO / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n",
            &LIM,
        )
        .unwrap();
        assert_eq!(j.connection.tokens(), ["upgrade", "close"]);
        assert!(j.connection.close && j.connection.upgrade);
        assert_eq!(
            j.start,
            StartLine::Request {
                method: "FOO".into(),
                uri: "/".into()
            }
        );
        assert_eq!(i.keep_alive.timeout(), Some(5));
        assert_eq!(i.keep_alive.max(), Some(100));
        assert!(i.expect_continue);
    }

    #[test]
    fn content_length_rules() {
        let p = |h: &str| parse_response(h.as_bytes(), &LIM).unwrap().content_length;
        assert_eq!(
            p("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
            ContentLength::Valid(5)
        );
        assert_eq!(
            p("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n"),
            ContentLength::Valid(5)
        );
        assert_eq!(
            p("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            ContentLength::Invalid
        );
        assert_eq!(
            p("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
            ContentLength::Invalid
        );
        assert_eq!(
            p("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n"),
            ContentLength::Invalid
        );
        assert_eq!(
            p("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n"),
            ContentLength::Invalid
        );
        assert_eq!(
            p("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"),
            ContentLength::Invalid
        );
        assert_eq!(p("HTTP/1.1 200 OK\r\n\r\n"), ContentLength::Absent);
    }

    #[test]
    fn transfer_encoding_rules() {
        let p = |h: &str| {
            parse_response(h.as_bytes(), &LIM)
                .unwrap()
                .transfer_encoding
        };
        assert_eq!(
            p("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"),
            TransferEncoding::ChunkedLast
        );
        assert_eq!(
            p("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"),
            TransferEncoding::Other
        );
        assert_eq!(
            p("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n"),
            TransferEncoding::Other
        );
    }

    #[test]
    fn limits_and_errors() {
        let many: String = (0..20).map(|i| format!("H{i}: v\r\n")).collect();
        let h = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(
            parse_request(h.as_bytes(), &LIM),
            Err(HeadError::TooManyHeaders)
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nbad header\r\n\r\n", &LIM),
            Err(HeadError::Malformed)
        );
        assert_eq!(
            parse_response(b"\x00\xff\x12\n\n", &LIM),
            Err(HeadError::Malformed)
        );
        let conn: String = (0..10).map(|i| format!("t{i},")).collect();
        let h = format!("GET / HTTP/1.1\r\nConnection: {conn}close\r\n\r\n");
        let i = parse_request(h.as_bytes(), &LIM).unwrap();
        assert!(i.connection.close);
        assert_eq!(i.connection.tokens().len(), LIM.max_connection_tokens);
    }

    #[test]
    fn many_headers_beyond_the_stack_slots() {
        let lim = HeadLimits {
            max_headers: 100,
            ..LIM
        };
        let many: String = (0..90).map(|i| format!("H{i}: v\r\n")).collect();
        let h = format!("HTTP/1.1 200 OK\r\n{many}Content-Length: 3\r\n\r\n");
        let i = parse_response(h.as_bytes(), &lim).unwrap();
        assert_eq!(i.content_length, ContentLength::Valid(3));
        let h = format!("GET / HTTP/1.1\r\n{many}{many}\r\n");
        assert_eq!(
            parse_request(h.as_bytes(), &lim),
            Err(HeadError::TooManyHeaders)
        );
    }

    #[test]
    fn truncation_at_char_boundary() {
        assert_eq!(truncate_str("aé", 2), "a");
        assert_eq!(truncate_str("abc", 5), "abc");
    }
}
