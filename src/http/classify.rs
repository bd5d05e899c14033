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
pub(crate) const HTTP1_PREFIX: &[u8] = b"HTTP/1.";

/// RFC 9110 section 5.6.2 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// A TLS record header: a content type, then a 3.x version (SSL 3.0 to
/// TLS 1.3 all write 0x03 0x00..=0x04 in the record layer). A stream that
/// starts with its handshake starts with type 22; a connection picked up
/// mid-stream starts with application data (23), or an alert (21) or a
/// change-cipher-spec (20). `None` while too few bytes are known.
pub(crate) fn tls_verdict(start: &[u8]) -> Option<bool> {
    let is_type = |t: &u8| (0x14..=0x17).contains(t);
    match start {
        [] => None,
        [t] if is_type(t) => None,
        [t, 0x03] if is_type(t) => None,
        [t, 0x03, v, ..] if is_type(t) => Some(*v <= 0x04),
        _ => Some(false),
    }
}

/// Checks `line` (without its line ending if `complete`) against the start
/// lines. An incomplete line is judged as a prefix.
pub(crate) fn check_line(line: &[u8], complete: bool) -> LineVerdict {
    // Whole well-formed lines, the common case, are recognized in one
    // pass over the slice; the automaton judges everything else (and
    // agrees on these: see the `fast_paths_agree_with_automaton` test).
    if complete {
        if is_status_line(line) {
            return LineVerdict::Response;
        }
        if is_request_line(line) {
            return LineVerdict::Request;
        }
    }
    let mut c = LineCheck::new();
    c.feed(line);
    c.verdict(complete)
}

/// `line` (without its `\n`, an optional `\r` at its end) is a whole
/// request line: `tchar+ SP target SP HTTP/1.DIGIT`, the target visible
/// bytes without spaces.
fn is_request_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let m = line
        .iter()
        .position(|&b| !is_tchar(b))
        .unwrap_or(line.len());
    let Some((b' ', rest)) = line
        .get(m..)
        .and_then(<[u8]>::split_first)
        .map(|(b, r)| (*b, r))
    else {
        return false;
    };
    let t = rest
        .iter()
        .position(|&b| !is_target_byte(b))
        .unwrap_or(rest.len());
    let Some((b' ', version)) = rest
        .get(t..)
        .and_then(<[u8]>::split_first)
        .map(|(b, r)| (*b, r))
    else {
        return false;
    };
    m > 0 && t > 0 && matches!(version.strip_prefix(HTTP1_PREFIX), Some([d]) if d.is_ascii_digit())
}

/// `line` (without its `\n`, an optional `\r` at its end) is a whole
/// status line: `HTTP/1.DIGIT SP 3DIGIT [SP reason]`.
fn is_status_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some([minor, b' ', s1, s2, s3, rest @ ..]) = line.strip_prefix(HTTP1_PREFIX) else {
        return false;
    };
    [minor, s1, s2, s3].iter().all(|d| d.is_ascii_digit())
        && match rest {
            [] => true,
            [b' ', reason @ ..] => reason.iter().all(|&b| is_reason_byte(b)),
            _ => false,
        }
}

/// The index of the byte at which `line` (without its `\n`) can no longer
/// be any start line, if it comes before the end.
pub(crate) fn start_line_dies_at(line: &[u8]) -> Option<usize> {
    let mut c = LineCheck::new();
    line.iter().position(|&b| {
        c.feed(&[b]);
        c.verdict(false) == LineVerdict::No
    })
}

/// The start-line check as an automaton fed a byte at a time, so a line
/// that arrives in many pieces is checked in linear time. Three machines
/// run side by side: request line, status line, HTTP/2 preface line. A
/// CR is accepted only as the last byte (it belongs to the line ending).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LineCheck {
    req: Req,
    resp: Resp,
    /// Bytes of the HTTP/2 preface line matched; `None` once it cannot be.
    h2: Option<u8>,
    /// The last byte was a CR: nothing may follow.
    cr: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Req {
    Method {
        any: bool,
    },
    TargetStart,
    Target,
    /// Bytes of `HTTP/1.` matched.
    Version(u8),
    Digit,
    Dead,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resp {
    /// Bytes of `HTTP/1.` matched.
    Prefix(u8),
    Minor,
    Space,
    /// Status digits seen.
    Status(u8),
    Reason,
    Dead,
}

impl LineCheck {
    pub fn new() -> Self {
        LineCheck {
            req: Req::Method { any: false },
            resp: Resp::Prefix(0),
            h2: Some(0),
            cr: false,
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.cr {
                self.req = Req::Dead;
                self.resp = Resp::Dead;
                self.h2 = None;
                return;
            }
            if b == b'\r' {
                self.cr = true;
                continue;
            }
            self.req = step_req(self.req, b);
            self.resp = step_resp(self.resp, b);
            self.h2 = self
                .h2
                .and_then(|i| (H2_PREFACE_LINE.get(usize::from(i)) == Some(&b)).then_some(i + 1));
            if self.req == Req::Dead && self.resp == Resp::Dead && self.h2.is_none() {
                return;
            }
        }
    }

    /// The bytes fed can no longer be the start of a status line (the
    /// rule of [`status_line_dies_at`], kept incrementally).
    pub fn status_line_dead(&self) -> bool {
        self.resp == Resp::Dead || (self.cr && !matches!(self.resp, Resp::Status(3) | Resp::Reason))
    }

    pub fn verdict(&self, complete: bool) -> LineVerdict {
        let resp_ok = matches!(self.resp, Resp::Status(3) | Resp::Reason);
        let h2_ok = self.h2 == Some(H2_PREFACE_LINE.len() as u8);
        let req_ok = self.req == Req::Digit;
        if complete {
            return if resp_ok {
                LineVerdict::Response
            } else if h2_ok {
                LineVerdict::Http2Preface
            } else if req_ok {
                LineVerdict::Request
            } else {
                LineVerdict::No
            };
        }
        let req_alive = self.req != Req::Dead;
        let resp_alive = self.resp != Resp::Dead;
        if !(req_alive || resp_alive || self.h2.is_some()) {
            return LineVerdict::No;
        }
        let strong = !matches!(self.req, Req::Method { .. } | Req::Dead)
            || !matches!(self.resp, Resp::Prefix(_) | Resp::Dead);
        LineVerdict::Maybe { strong }
    }
}

/// Where `line` (without its `\n`) stops being a possible status line:
/// the index of the byte that rules it out, if one does. A response
/// direction resumes its search for `HTTP/1.` at that byte, so a status
/// line right behind a broken one is found however the stream was cut.
pub(crate) fn status_line_dies_at(line: &[u8]) -> Option<usize> {
    let mut s = Resp::Prefix(0);
    let mut cr = false;
    for (i, &b) in line.iter().enumerate() {
        if cr {
            return Some(i);
        }
        if b == b'\r' {
            // Only the end of a status line may come next.
            if !matches!(s, Resp::Status(3) | Resp::Reason) {
                return Some(i);
            }
            cr = true;
            continue;
        }
        s = step_resp(s, b);
        if s == Resp::Dead {
            return Some(i);
        }
    }
    None
}

/// A byte of a request target (RFC 9112 section 3.2: visible, no space).
fn is_target_byte(b: u8) -> bool {
    b > b' ' && b != 0x7f
}

/// A byte of a reason phrase (RFC 9112 section 4: HTAB, SP, VCHAR,
/// obs-text).
fn is_reason_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

fn step_req(s: Req, b: u8) -> Req {
    let version = b"HTTP/1.";
    match s {
        Req::Method { .. } if is_tchar(b) => Req::Method { any: true },
        Req::Method { any: true } if b == b' ' => Req::TargetStart,
        Req::TargetStart | Req::Target if is_target_byte(b) => Req::Target,
        Req::Target if b == b' ' => Req::Version(0),
        Req::Version(i) if usize::from(i) < version.len() => {
            if version.get(usize::from(i)) == Some(&b) {
                Req::Version(i + 1)
            } else {
                Req::Dead
            }
        }
        Req::Version(_) if b.is_ascii_digit() => Req::Digit,
        _ => Req::Dead,
    }
}

fn step_resp(s: Resp, b: u8) -> Resp {
    match s {
        Resp::Prefix(i) if usize::from(i) < HTTP1_PREFIX.len() => {
            if HTTP1_PREFIX.get(usize::from(i)) == Some(&b) {
                Resp::Prefix(i + 1)
            } else {
                Resp::Dead
            }
        }
        Resp::Prefix(_) if b.is_ascii_digit() => Resp::Minor,
        Resp::Minor if b == b' ' => Resp::Space,
        Resp::Space if b.is_ascii_digit() => Resp::Status(1),
        Resp::Status(n) if n < 3 && b.is_ascii_digit() => Resp::Status(n + 1),
        Resp::Status(3) if b == b' ' => Resp::Reason,
        Resp::Reason if is_reason_byte(b) => Resp::Reason,
        _ => Resp::Dead,
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
    fn incremental_check_matches_whole_check() {
        let lines: [&[u8]; 6] = [
            b"GET /x HTTP/1.1\r",
            b"HTTP/1.0 404 Not Found",
            b"PRI * HTTP/2.0",
            b"GET /x HTTP/1.1\rX",
            b"\x16\x03\x01",
            b"OPTIONS * HTTP/1.0",
        ];
        for line in lines {
            for cut in 0..=line.len() {
                let mut c = LineCheck::new();
                c.feed(&line[..cut]);
                assert_eq!(c.verdict(false), check_line(&line[..cut], false));
                c.feed(&line[cut..]);
                assert_eq!(c.verdict(true), check_line(line, true), "{line:?} at {cut}");
            }
        }
    }

    /// The automaton alone, as `check_line` was before its fast paths.
    fn automaton(line: &[u8], complete: bool) -> LineVerdict {
        let mut c = LineCheck::new();
        c.feed(line);
        c.verdict(complete)
    }

    #[test]
    fn fast_paths_agree_with_automaton() {
        let lines: [&[u8]; 24] = [
            b"GET / HTTP/1.1",
            b"GET / HTTP/1.1\r",
            b"GET / HTTP/1.1\r\r",
            b"GET /\r HTTP/1.1",
            b"GET  / HTTP/1.1",
            b"GET / HTTP/1.12",
            b"GET / HTTP/1.",
            b"GET / HTTP/2.0",
            b" / HTTP/1.1",
            b"G(T / HTTP/1.1",
            b"GET /\x7f HTTP/1.1",
            b"GET /\x80 HTTP/1.1",
            b"HTTP/1.1 200 OK",
            b"HTTP/1.1 200 OK\r",
            b"HTTP/1.1 200",
            b"HTTP/1.1 200\r",
            b"HTTP/1.1 200 ",
            b"HTTP/1.1 200OK",
            b"HTTP/1.1 20 OK",
            b"HTTP/1.1 200 O\x01K",
            b"HTTP/1.1 200 \tO\x80K",
            b"HTTP/1.x 200 OK",
            b"HTTP/1.1  200 OK",
            b"PRI * HTTP/2.0",
        ];
        for line in lines {
            for end in 0..=line.len() {
                let l = &line[..end];
                for complete in [false, true] {
                    assert_eq!(
                        check_line(l, complete),
                        automaton(l, complete),
                        "{l:?} {complete}"
                    );
                }
            }
        }
        // Every single-byte substitution in a request and a status line.
        for base in [&b"GET /a HTTP/1.1\r"[..], &b"HTTP/1.0 404 Not Found\r"[..]] {
            for i in 0..base.len() {
                for b in 0..=255u8 {
                    let mut l = base.to_vec();
                    l[i] = b;
                    assert_eq!(check_line(&l, true), automaton(&l, true), "{l:?}");
                }
            }
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
        assert_eq!(tls_verdict(&[0x17, 0x03, 0x03]), Some(true));
        assert_eq!(tls_verdict(&[0x17]), None);
        assert_eq!(tls_verdict(&[0x18, 0x03, 0x03]), Some(false));
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
