//! Recognizing message starts: the start-line checks used to resynchronize
//! an out-of-sync direction and to pick up a stream mid-way, the
//! classification of a stream's first bytes (TLS, HTTP/2 preface), and
//! [`classify_start`] for the TCP layer.
//!
//! Everything here looks at one line at most and never allocates.

use crate::tcp::PayloadHint;

/// What a (possibly incomplete) first line looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineVerdict {
    /// `method SP target SP HTTP/1.x`.
    Request,
    /// `HTTP/1.x SP 3DIGIT [SP reason]`.
    Response,
    /// `PRI * HTTP/2.0`, the first line of the HTTP/2 connection preface.
    Http2Preface,
    /// An incomplete line that may still become a start line. `strong` once
    /// it is past `method SP` (or `HTTP/1.`), the point where a line that
    /// grows too long is an oversized head rather than noise.
    Maybe {
        strong: bool,
    },
    No,
}

/// The HTTP/2 connection preface's first line (RFC 9113 section 3.4).
const H2_PREFACE_LINE: &[u8] = b"PRI * HTTP/2.0";
const HTTP1_PREFIX: &[u8] = b"HTTP/1.";

/// RFC 9110 section 5.6.2 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// A TLS record header: handshake content type (22) and a 3.x version
/// (SSL 3.0 to TLS 1.3 all write 0x03 0x00..=0x04 in the record layer).
pub(crate) fn tls_verdict(start: &[u8]) -> Option<bool> {
    match start {
        [] => None,
        [0x16] | [0x16, 0x03] => None,
        [0x16, 0x03, v, ..] => Some(*v <= 0x04),
        _ => Some(false),
    }
}

/// Checks `line` (without its line ending if `complete`) against the start
/// lines. An incomplete line is judged as a prefix.
pub(crate) fn check_line(line: &[u8], complete: bool) -> LineVerdict {
    // A CR at the end of an incomplete line may be its line ending's.
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if !complete && H2_PREFACE_LINE.starts_with(line) && line.len() > 4 {
        return LineVerdict::Maybe { strong: false };
    }
    if line.starts_with(HTTP1_PREFIX) || HTTP1_PREFIX.starts_with(line) {
        return response_line(line, complete);
    }
    if complete && line == H2_PREFACE_LINE {
        return LineVerdict::Http2Preface;
    }
    request_line(line, complete)
}

fn response_line(line: &[u8], complete: bool) -> LineVerdict {
    let maybe = |strong| {
        if complete {
            LineVerdict::No
        } else {
            LineVerdict::Maybe { strong }
        }
    };
    let Some(rest) = line.strip_prefix(HTTP1_PREFIX) else {
        return maybe(false);
    };
    // DIGIT SP 3DIGIT, then SP and a reason or nothing.
    const SHAPE: [fn(u8) -> bool; 5] = [
        |b| b.is_ascii_digit(),
        |b| b == b' ',
        |b| b.is_ascii_digit(),
        |b| b.is_ascii_digit(),
        |b| b.is_ascii_digit(),
    ];
    for (i, ok) in SHAPE.iter().enumerate() {
        match rest.get(i) {
            Some(&b) if ok(b) => {}
            Some(_) => return LineVerdict::No,
            None => return maybe(true),
        }
    }
    match rest.get(SHAPE.len()) {
        None if complete => LineVerdict::Response,
        None => maybe(true),
        Some(b' ') => {
            let reason_ok = rest
                .iter()
                .skip(SHAPE.len() + 1)
                .all(|&b| b == b'\t' || b >= 0x20 && b != 0x7f);
            match (reason_ok, complete) {
                (false, _) => LineVerdict::No,
                (true, true) => LineVerdict::Response,
                (true, false) => LineVerdict::Maybe { strong: true },
            }
        }
        Some(_) => LineVerdict::No,
    }
}

fn request_line(line: &[u8], complete: bool) -> LineVerdict {
    let maybe = |strong| {
        if complete {
            LineVerdict::No
        } else {
            LineVerdict::Maybe { strong }
        }
    };
    let method_len = line.iter().take_while(|&&b| is_tchar(b)).count();
    if method_len == line.len() {
        return maybe(false);
    }
    if method_len == 0 || line.get(method_len) != Some(&b' ') {
        return LineVerdict::No;
    }
    let target = line.get(method_len + 1..).unwrap_or_default();
    let target_len = target
        .iter()
        .take_while(|&&b| b > b' ' && b != 0x7f)
        .count();
    if target_len == target.len() {
        return maybe(true);
    }
    if target_len == 0 || target.get(target_len) != Some(&b' ') {
        return LineVerdict::No;
    }
    let version = target.get(target_len + 1..).unwrap_or_default();
    let want = b"HTTP/1.";
    if version.len() <= want.len() {
        return if want.starts_with(version) {
            maybe(true)
        } else {
            LineVerdict::No
        };
    }
    match version {
        [h @ .., d] if h == want && d.is_ascii_digit() => {
            if complete {
                LineVerdict::Request
            } else {
                LineVerdict::Maybe { strong: true }
            }
        }
        _ => LineVerdict::No,
    }
}

/// Well-known methods: enough for [`classify_start`] to call a partial
/// first line a request before its line ending arrives.
const KNOWN_METHODS: [&[u8]; 9] = [
    b"GET ",
    b"HEAD ",
    b"POST ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
];

/// How the start of a stream looks, for the TCP layer's mid-stream direction
/// decision: a request line (or a well-known method and a space when the
/// line is not complete yet), a status line (`HTTP/1.` at the start), or
/// neither.
pub fn classify_start(data: &[u8]) -> PayloadHint {
    if data.starts_with(HTTP1_PREFIX) {
        return PayloadHint::Response;
    }
    match memchr::memchr(b'\n', data) {
        Some(nl) => match check_line(data.get(..nl).unwrap_or_default(), true) {
            LineVerdict::Request => PayloadHint::Request,
            _ => PayloadHint::Unknown,
        },
        None if KNOWN_METHODS.iter().any(|m| data.starts_with(m))
            && check_line(data, false) != LineVerdict::No =>
        {
            PayloadHint::Request
        }
        None => PayloadHint::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(check_line(b"GET / HTTP/1.1\r", true), LineVerdict::Request);
        assert_eq!(
            check_line(b"M-SEARCH * HTTP/1.0", true),
            LineVerdict::Request
        );
        assert_eq!(check_line(b"GET / HTTP/2.0", true), LineVerdict::No);
        assert_eq!(check_line(b"GET /  HTTP/1.1", true), LineVerdict::No);
        assert_eq!(check_line(b"GET / HTTP/1.1 x", true), LineVerdict::No);
        assert_eq!(check_line(b"Host: x", true), LineVerdict::No);
        assert_eq!(check_line(b"", true), LineVerdict::No);
        assert_eq!(check_line(b"GET /", true), LineVerdict::No);
    }

    #[test]
    fn partial_lines_are_prefixes() {
        let full = b"GET /index.html HTTP/1.1";
        for n in 0..full.len() {
            let v = check_line(&full[..n], false);
            assert!(matches!(v, LineVerdict::Maybe { .. }), "{n}: {v:?}");
        }
        assert_eq!(
            check_line(b"GET ", false),
            LineVerdict::Maybe { strong: true }
        );
        assert_eq!(
            check_line(b"GET", false),
            LineVerdict::Maybe { strong: false }
        );
        assert_eq!(check_line(b"GE\x00", false), LineVerdict::No);
        let full = b"HTTP/1.1 200 OK";
        for n in 0..full.len() {
            let v = check_line(&full[..n], false);
            assert!(matches!(v, LineVerdict::Maybe { .. }), "{n}: {v:?}");
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            check_line(b"HTTP/1.1 200 OK\r", true),
            LineVerdict::Response
        );
        assert_eq!(check_line(b"HTTP/1.0 404", true), LineVerdict::Response);
        assert_eq!(check_line(b"HTTP/1.1 20 OK", true), LineVerdict::No);
        assert_eq!(check_line(b"HTTP/1.1 200 O\x01K", true), LineVerdict::No);
        assert_eq!(check_line(b"HTTP/2 200", true), LineVerdict::No);
    }

    #[test]
    fn h2_preface_and_tls() {
        assert_eq!(
            check_line(b"PRI * HTTP/2.0\r", true),
            LineVerdict::Http2Preface
        );
        assert_eq!(tls_verdict(&[0x16, 0x03, 0x01, 0x02]), Some(true));
        assert_eq!(tls_verdict(&[0x16, 0x03]), None);
        assert_eq!(tls_verdict(&[0x16, 0x03, 0x09]), Some(false));
        assert_eq!(tls_verdict(b"GET"), Some(false));
    }

    #[test]
    fn classify_start_hints() {
        assert_eq!(classify_start(b"GET / HTTP/1.1\r\n"), PayloadHint::Request);
        assert_eq!(classify_start(b"POST /upload?x=1"), PayloadHint::Request);
        assert_eq!(
            classify_start(b"HTTP/1.1 200 OK\r\n"),
            PayloadHint::Response
        );
        assert_eq!(classify_start(b"\x16\x03\x01\x00"), PayloadHint::Unknown);
        assert_eq!(classify_start(b"SSH-2.0-OpenSSH\r\n"), PayloadHint::Unknown);
        assert_eq!(classify_start(b"FOO bar"), PayloadHint::Unknown);
        assert_eq!(classify_start(b""), PayloadHint::Unknown);
    }
}
