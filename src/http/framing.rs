//! The message body length decision, in one function that walks RFC 9112
//! section 6.3 in the RFC's order.

use super::head::{ContentLength, HeadInfo, TransferEncoding};

/// The request method, as far as framing a response cares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum MethodKind {
    Head,
    Connect,
    /// Any other method, or the request is unknown (mid-stream pickup).
    #[default]
    Other,
}

impl MethodKind {
    pub fn of(method: &str) -> Self {
        match method {
            "HEAD" => MethodKind::Head,
            "CONNECT" => MethodKind::Connect,
            _ => MethodKind::Other,
        }
    }
}

/// Which message is being framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Request,
    Response { status: u16, method: MethodKind },
}

/// Why a message's framing cannot be trusted (the direction goes out of
/// sync).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FramingError {
    BadContentLength,
    /// A request whose `Transfer-Encoding` does not end in `chunked`.
    BadTransferEncoding,
}

/// How the body after a head is delimited, and what the head does to the
/// exchange and the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyPlan {
    /// No body (HEAD responses, 204, 304, requests without length).
    None,
    /// `Content-Length` bytes (possibly zero).
    Length(u64),
    Chunked,
    /// Until the server closes (responses only).
    Close,
    /// A 1xx other than 101: no body, and the final response is still to
    /// come.
    Interim,
    /// 101 Switching Protocols or a 2xx to CONNECT: the bytes that follow,
    /// both ways, are another protocol.
    Tunnel,
    Invalid(FramingError),
}

/// RFC 9112 section 6.3, rule by rule.
pub(crate) fn plan_body(role: Role, head: &HeadInfo) -> BodyPlan {
    if let Role::Response { status, method } = role {
        // 1. Responses to HEAD, 1xx, 204 and 304 end at the head. 101 is the
        //    1xx that ends HTTP itself (RFC 9110 section 15.2.2).
        if status == 101 {
            return BodyPlan::Tunnel;
        }
        if (100..200).contains(&status) {
            return BodyPlan::Interim;
        }
        if method == MethodKind::Head || status == 204 || status == 304 {
            return BodyPlan::None;
        }
        // 2. A 2xx to CONNECT: the connection becomes a tunnel; any
        //    Content-Length or Transfer-Encoding is ignored.
        if method == MethodKind::Connect && (200..300).contains(&status) {
            return BodyPlan::Tunnel;
        }
    }
    // 3. Transfer-Encoding overrides Content-Length.
    match (head.transfer_encoding, role) {
        (TransferEncoding::ChunkedLast, _) => return BodyPlan::Chunked,
        // 4a. In a response without chunked last: read until close.
        (TransferEncoding::Other, Role::Response { .. }) => return BodyPlan::Close,
        // 4b. In a request: the length cannot be determined; a server
        //     answers 400 and closes.
        (TransferEncoding::Other, Role::Request) => {
            return BodyPlan::Invalid(FramingError::BadTransferEncoding)
        }
        (TransferEncoding::Absent, _) => {}
    }
    match (head.content_length, role) {
        // 5. Invalid or differing values: unrecoverable.
        (ContentLength::Invalid, _) => BodyPlan::Invalid(FramingError::BadContentLength),
        // 6. A valid length.
        (ContentLength::Valid(n), _) => BodyPlan::Length(n),
        // 7. A request with neither has no body.
        (ContentLength::Absent, Role::Request) => BodyPlan::None,
        // 8. A response with neither is delimited by the close.
        (ContentLength::Absent, Role::Response { .. }) => BodyPlan::Close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::StartLine;

    fn head(cl: ContentLength, te: TransferEncoding) -> HeadInfo {
        HeadInfo {
            start: StartLine::Response { status: 200 },
            version: 11,
            connection: Default::default(),
            keep_alive: Default::default(),
            content_length: cl,
            transfer_encoding: te,
            expect_continue: false,
            upgrade: None,
            uri_cut: false,
        }
    }

    fn resp(status: u16, method: MethodKind) -> Role {
        Role::Response { status, method }
    }

    use ContentLength as CL;
    use MethodKind as M;
    use TransferEncoding as TE;

    #[test]
    fn rule1_no_body_responses() {
        let h = head(CL::Valid(10), TE::ChunkedLast);
        assert_eq!(plan_body(resp(200, M::Head), &h), BodyPlan::None);
        assert_eq!(plan_body(resp(204, M::Other), &h), BodyPlan::None);
        assert_eq!(plan_body(resp(304, M::Other), &h), BodyPlan::None);
        assert_eq!(plan_body(resp(100, M::Other), &h), BodyPlan::Interim);
        assert_eq!(plan_body(resp(103, M::Other), &h), BodyPlan::Interim);
        assert_eq!(plan_body(resp(101, M::Other), &h), BodyPlan::Tunnel);
    }

    #[test]
    fn rule2_connect() {
        let h = head(CL::Valid(10), TE::Absent);
        assert_eq!(plan_body(resp(200, M::Connect), &h), BodyPlan::Tunnel);
        assert_eq!(plan_body(resp(407, M::Connect), &h), BodyPlan::Length(10));
    }

    #[test]
    fn rule3_4_transfer_encoding() {
        let h = head(CL::Valid(10), TE::ChunkedLast);
        assert_eq!(plan_body(resp(200, M::Other), &h), BodyPlan::Chunked);
        assert_eq!(plan_body(Role::Request, &h), BodyPlan::Chunked);
        let h = head(CL::Valid(10), TE::Other);
        assert_eq!(plan_body(resp(200, M::Other), &h), BodyPlan::Close);
        assert_eq!(
            plan_body(Role::Request, &h),
            BodyPlan::Invalid(FramingError::BadTransferEncoding)
        );
    }

    #[test]
    fn rule5_6_content_length() {
        let h = head(CL::Invalid, TE::Absent);
        assert_eq!(
            plan_body(Role::Request, &h),
            BodyPlan::Invalid(FramingError::BadContentLength)
        );
        assert_eq!(
            plan_body(resp(200, M::Other), &h),
            BodyPlan::Invalid(FramingError::BadContentLength)
        );
        let h = head(CL::Valid(7), TE::Absent);
        assert_eq!(plan_body(Role::Request, &h), BodyPlan::Length(7));
        assert_eq!(plan_body(resp(200, M::Other), &h), BodyPlan::Length(7));
        let h = head(CL::Valid(0), TE::Absent);
        assert_eq!(plan_body(resp(200, M::Other), &h), BodyPlan::Length(0));
    }

    #[test]
    fn rule7_8_neither() {
        let h = head(CL::Absent, TE::Absent);
        assert_eq!(plan_body(Role::Request, &h), BodyPlan::None);
        assert_eq!(plan_body(resp(200, M::Other), &h), BodyPlan::Close);
        assert_eq!(plan_body(resp(500, M::Connect), &h), BodyPlan::Close);
    }
}
