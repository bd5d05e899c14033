//! Connection records as NDJSON lines, written by hand: the same bytes
//! serde_json writes for `{"type":"connection", ...record}` (the `Serialize`
//! derive in `model.rs` stays the contract and the reference the tests
//! compare against), several times faster.
//!
//! Why not serde: a connection line is mostly constant keys and small
//! numbers, and serde pays per field for the map path that `flatten`
//! forces, for escaping keys that never need it, and for formatting
//! timestamps and floats from scratch. Here keys are static byte strings
//! (copied together with constant values: `,"gaps":0`), integers are
//! written two digits at a time, timestamps through [`Rfc3339Writer`] (one
//! calendar conversion per second), and the millisecond floats the report
//! builds (`nanoseconds / 1e6`) are printed from their integer nanoseconds;
//! any other float goes to serde_json's own formatter. Strings from the
//! wire are escaped with serde_json's table, after a word-at-a-time check
//! that finds most need none.
//!
//! On the 246 k connections of the `short` benchmark capture this takes
//! about a fifth of serde's time (see the ignored `serialization_time`
//! test).
//!
//! Invariant: every struct is destructured without `..`, so a field added
//! to the model does not compile until it is written here, and the tests
//! compare against serde for records with every field populated, so the
//! key order is serde's (declaration order).

use super::model::*;
use super::writer::ExchangeDetail;
use crate::time::{Rfc3339Writer, Timestamp};
use std::net::IpAddr;

// Field writers: `$frag` is the literal key fragment before the value
// (`",\"gaps\":"`). Constant values (`false`, `null`, `0`, `0.0`) go out
// with their key in one copy; the rest after it.

macro_rules! bool_field {
    ($out:expr, $frag:literal, $v:expr) => {
        $out.extend_from_slice(
            if $v {
                concat!($frag, "true")
            } else {
                concat!($frag, "false")
            }
            .as_bytes(),
        )
    };
}

macro_rules! u64_field {
    ($out:expr, $frag:literal, $v:expr) => {{
        let v: u64 = $v;
        if v == 0 {
            $out.extend_from_slice(concat!($frag, "0").as_bytes());
        } else {
            $out.extend_from_slice($frag.as_bytes());
            put_u64($out, v);
        }
    }};
}

macro_rules! opt_u64_field {
    ($out:expr, $frag:literal, $v:expr) => {
        match $v {
            Some(v) => u64_field!($out, $frag, v),
            None => $out.extend_from_slice(concat!($frag, "null").as_bytes()),
        }
    };
}

macro_rules! f64_field {
    ($out:expr, $frag:literal, $v:expr) => {{
        let v: f64 = $v;
        if v.to_bits() == 0 {
            $out.extend_from_slice(concat!($frag, "0.0").as_bytes());
        } else {
            $out.extend_from_slice($frag.as_bytes());
            put_f64($out, v);
        }
    }};
}

macro_rules! opt_f64_field {
    ($out:expr, $frag:literal, $v:expr) => {
        match $v {
            Some(v) => f64_field!($out, $frag, v),
            None => $out.extend_from_slice(concat!($frag, "null").as_bytes()),
        }
    };
}

macro_rules! opt_str_field {
    ($out:expr, $frag:literal, $v:expr) => {
        match $v {
            Some(v) => {
                $out.extend_from_slice($frag.as_bytes());
                put_str($out, v);
            }
            None => $out.extend_from_slice(concat!($frag, "null").as_bytes()),
        }
    };
}

macro_rules! opt_stats_field {
    ($out:expr, $frag:literal, $v:expr) => {
        match $v {
            Some(v) => {
                $out.extend_from_slice($frag.as_bytes());
                put_stats($out, v);
            }
            None => $out.extend_from_slice(concat!($frag, "null").as_bytes()),
        }
    };
}

/// An enum's name, which needs no escaping.
macro_rules! name_field {
    ($out:expr, $frag:literal, $v:expr) => {{
        $out.extend_from_slice(concat!($frag, "\"").as_bytes());
        $out.extend_from_slice($v.as_bytes());
        $out.push(b'"');
    }};
}

macro_rules! ts_field {
    ($self:ident, $out:expr, $frag:literal, $v:expr) => {{
        $out.extend_from_slice($frag.as_bytes());
        $self.put_ts($out, $v);
    }};
}

macro_rules! opt_ts_field {
    ($self:ident, $out:expr, $frag:literal, $v:expr) => {
        match $v {
            Some(v) => ts_field!($self, $out, $frag, v),
            None => $out.extend_from_slice(concat!($frag, "null").as_bytes()),
        }
    };
}

/// What the connection line carries in place of the id when the id is not
/// known yet (worker threads): `u64::MAX`, as wide as any id can print.
pub(crate) const ID_PLACEHOLDER: &[u8] = b"18446744073709551615";

/// Writes connection lines; keeps the timestamp cache between records.
#[derive(Debug, Default)]
pub(crate) struct ConnectionJson {
    ts: Rfc3339Writer,
    /// Where the last close reason written starts in its buffer (its
    /// opening quote).
    reason_at: usize,
}

/// A close reason as written, quotes included, that
/// [`crate::report::Aggregator::refine`] may turn into
/// [`REFINED_REASON`]; the `--threads` merge splices that into a line
/// serialized before it knew.
pub(crate) const REFINABLE_REASON: &[u8] = b"\"connection_close_requested\"";
pub(crate) const REFINED_REASON: &[u8] = b"\"max_requests\"";

impl ConnectionJson {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Where the close reason of the last line written starts in its
    /// buffer.
    pub(crate) fn reason_at(&self) -> usize {
        self.reason_at
    }

    /// Appends the NDJSON line of `rec` (no newline) to `out`, as
    /// serde_json writes `{"type":"connection", ...rec}` after
    /// `ReportWriter` applied `detail` (`exchanges` written only for
    /// [`ExchangeDetail::All`], `exchange_summary` not for
    /// [`ExchangeDetail::None`]). `id: None` writes [`ID_PLACEHOLDER`].
    /// Returns the offset in `out` where the id starts.
    pub(crate) fn write(
        &mut self,
        out: &mut Vec<u8>,
        rec: &ConnectionRecord,
        id: Option<u64>,
        detail: ExchangeDetail,
    ) -> usize {
        let ConnectionRecord {
            id: rec_id,
            client,
            server,
            vlan,
            tunnel_id,
            start,
            end,
            duration_ms,
            mid_stream,
            direction_by,
            port_reuse,
            handshake,
            packets,
            bytes,
            stream_bytes,
            close,
            end_state,
            tcp_keepalive,
            tcp_idle_max_ms,
            anomalies,
            community_id,
            protocol,
            requests,
            responses,
            exchanges,
            exchange_summary,
            idle_gaps_ms,
            idle_max_ms,
            pipeline_depth_max,
            unanswered_requests,
            unmatched_responses,
            http_errors,
            upgrade,
            lost_requests,
            flags,
            final_,
        } = rec;
        let _ = rec_id;
        out.extend_from_slice(b"{\"type\":\"connection\",\"id\":");
        let id_at = out.len();
        match id {
            Some(id) => put_u64(out, id),
            None => out.extend_from_slice(ID_PLACEHOLDER),
        }
        out.extend_from_slice(b",\"client\":");
        put_endpoint(out, client);
        out.extend_from_slice(b",\"server\":");
        put_endpoint(out, server);
        opt_u64_field!(out, ",\"vlan\":", vlan.map(u64::from));
        opt_u64_field!(out, ",\"tunnel_id\":", tunnel_id.map(u64::from));
        ts_field!(self, out, ",\"start\":", *start);
        ts_field!(self, out, ",\"end\":", *end);
        f64_field!(out, ",\"duration_ms\":", *duration_ms);
        bool_field!(out, ",\"mid_stream\":", *mid_stream);
        name_field!(out, ",\"direction_by\":", direction_by_name(*direction_by));
        bool_field!(out, ",\"port_reuse\":", *port_reuse);
        self.put_handshake_field(out, handshake);
        out.extend_from_slice(b",\"packets\":");
        put_per_direction(out, packets);
        out.extend_from_slice(b",\"bytes\":");
        put_per_direction(out, bytes);
        out.extend_from_slice(b",\"stream_bytes\":");
        put_per_direction(out, stream_bytes);
        self.put_close_field(out, close);
        name_field!(out, ",\"end_state\":", end_state_name(*end_state));
        let TcpKeepaliveRecord {
            client: ka_client,
            server: ka_server,
        } = tcp_keepalive;
        out.extend_from_slice(b",\"tcp_keepalive\":{\"client\":");
        put_keepalive_side(out, ka_client);
        out.extend_from_slice(b",\"server\":");
        put_keepalive_side(out, ka_server);
        f64_field!(out, "},\"tcp_idle_max_ms\":", *tcp_idle_max_ms);
        put_anomalies_field(out, anomalies);
        out.extend_from_slice(b",\"community_id\":");
        put_str(out, community_id);
        name_field!(out, ",\"protocol\":", protocol.as_str());
        u64_field!(out, ",\"requests\":", *requests);
        u64_field!(out, ",\"responses\":", *responses);
        if let (ExchangeDetail::All, Some(exchanges)) = (detail, exchanges) {
            out.extend_from_slice(b",\"exchanges\":[");
            for (i, ex) in exchanges.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                self.put_exchange(out, ex);
            }
            out.push(b']');
        }
        if let (ExchangeDetail::All | ExchangeDetail::Summary, Some(s)) = (detail, exchange_summary)
        {
            put_exchange_summary_field(out, s);
        }
        out.extend_from_slice(b",\"idle_gaps_ms\":[");
        for (i, g) in idle_gaps_ms.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put_f64(out, *g);
        }
        opt_f64_field!(out, "],\"idle_max_ms\":", *idle_max_ms);
        u64_field!(
            out,
            ",\"pipeline_depth_max\":",
            u64::from(*pipeline_depth_max)
        );
        u64_field!(out, ",\"unanswered_requests\":", *unanswered_requests);
        u64_field!(out, ",\"unmatched_responses\":", *unmatched_responses);
        put_http_errors_field(out, http_errors);
        opt_str_field!(out, ",\"upgrade\":", upgrade.as_deref());
        u64_field!(out, ",\"lost_requests\":", *lost_requests);
        out.extend_from_slice(b",\"flags\":[");
        for (i, f) in flags.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put_name(out, f.as_str());
        }
        bool_field!(out, "],\"final\":", *final_);
        out.push(b'}');
        id_at
    }

    fn put_ts(&mut self, out: &mut Vec<u8>, t: Timestamp) {
        match self.ts.format(t) {
            Some(text) => {
                let mut quoted = [b'"'; 29];
                quoted[1..28].copy_from_slice(text);
                out.extend_from_slice(&quoted);
            }
            None => {
                out.push(b'"');
                self.ts.write(t, out);
                out.push(b'"');
            }
        }
    }

    /// `,"handshake":{...}`, key included (one copy fewer).
    fn put_handshake_field(&mut self, out: &mut Vec<u8>, h: &HandshakeRecord) {
        let HandshakeRecord {
            syn,
            syn_ack,
            ack,
            rtt_ms,
            server_rtt_ms,
            client_rtt_ms,
        } = h;
        opt_ts_field!(self, out, ",\"handshake\":{\"syn\":", *syn);
        opt_ts_field!(self, out, ",\"syn_ack\":", *syn_ack);
        opt_ts_field!(self, out, ",\"ack\":", *ack);
        opt_f64_field!(out, ",\"rtt_ms\":", *rtt_ms);
        opt_f64_field!(out, ",\"server_rtt_ms\":", *server_rtt_ms);
        opt_f64_field!(out, ",\"client_rtt_ms\":", *client_rtt_ms);
        out.push(b'}');
    }

    /// `,"close":{...}`, key included (one copy fewer).
    fn put_close_field(&mut self, out: &mut Vec<u8>, c: &CloseRecord) {
        let CloseRecord {
            initiator,
            by,
            time_wait,
            at,
            reason,
            requested_by,
            idle_before_ms,
            simultaneous,
            half_close,
        } = c;
        name_field!(out, ",\"close\":{\"initiator\":", initiator.as_str());
        name_field!(out, ",\"by\":", close_by_name(*by));
        name_field!(out, ",\"time_wait\":", time_wait.as_str());
        opt_ts_field!(self, out, ",\"at\":", *at);
        self.reason_at = out.len() + ",\"reason\":".len();
        name_field!(out, ",\"reason\":", reason.as_str());
        name_field!(out, ",\"requested_by\":", requested_by.as_str());
        opt_f64_field!(out, ",\"idle_before_ms\":", *idle_before_ms);
        bool_field!(out, ",\"simultaneous\":", *simultaneous);
        bool_field!(out, ",\"half_close\":", *half_close);
        out.push(b'}');
    }

    fn put_exchange(&mut self, out: &mut Vec<u8>, e: &ExchangeRecord) {
        let ExchangeRecord {
            method,
            uri,
            status,
            request_version,
            response_version,
            request_first,
            request_last,
            response_first,
            response_last,
            wait_ms,
            duration_ms,
            hol_wait_ms,
            request_body_bytes,
            response_body_bytes,
            framing,
            request_framing,
            connection,
            keep_alive,
            persistent,
            pipelined,
            expect_continue,
            interim_responses,
            missing_bytes,
            request_after_server_fin,
            request_after_close,
            response_incomplete,
            lost,
        } = e;
        opt_str_field!(out, "{\"method\":", method.as_deref());
        opt_str_field!(out, ",\"uri\":", uri.as_deref());
        opt_u64_field!(out, ",\"status\":", status.map(u64::from));
        opt_str_field!(out, ",\"request_version\":", request_version.as_deref());
        opt_str_field!(out, ",\"response_version\":", response_version.as_deref());
        opt_ts_field!(self, out, ",\"request_first\":", *request_first);
        opt_ts_field!(self, out, ",\"request_last\":", *request_last);
        opt_ts_field!(self, out, ",\"response_first\":", *response_first);
        opt_ts_field!(self, out, ",\"response_last\":", *response_last);
        opt_f64_field!(out, ",\"wait_ms\":", *wait_ms);
        opt_f64_field!(out, ",\"duration_ms\":", *duration_ms);
        f64_field!(out, ",\"hol_wait_ms\":", *hol_wait_ms);
        u64_field!(out, ",\"request_body_bytes\":", *request_body_bytes);
        u64_field!(out, ",\"response_body_bytes\":", *response_body_bytes);
        name_field!(out, ",\"framing\":", framing_name(*framing));
        name_field!(out, ",\"request_framing\":", framing_name(*request_framing));
        let ConnectionHeaders { request, response } = connection;
        out.extend_from_slice(b",\"connection\":{\"request\":");
        put_str_list(out, request);
        out.extend_from_slice(b",\"response\":");
        put_str_list(out, response);
        let KeepAliveRecord { timeout, max } = keep_alive;
        opt_u64_field!(out, "},\"keep_alive\":{\"timeout\":", *timeout);
        opt_u64_field!(out, ",\"max\":", *max);
        bool_field!(out, "},\"persistent\":", *persistent);
        bool_field!(out, ",\"pipelined\":", *pipelined);
        bool_field!(out, ",\"expect_continue\":", *expect_continue);
        u64_field!(
            out,
            ",\"interim_responses\":",
            u64::from(*interim_responses)
        );
        u64_field!(out, ",\"missing_bytes\":", *missing_bytes);
        bool_field!(
            out,
            ",\"request_after_server_fin\":",
            *request_after_server_fin
        );
        bool_field!(out, ",\"request_after_close\":", *request_after_close);
        bool_field!(out, ",\"response_incomplete\":", *response_incomplete);
        bool_field!(out, ",\"lost\":", *lost);
        out.push(b'}');
    }
}

fn put_endpoint(out: &mut Vec<u8>, e: &EndpointRecord) {
    let EndpointRecord { ip, port } = e;
    out.extend_from_slice(b"{\"ip\":\"");
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                put_u64(out, u64::from(*octet));
            }
        }
        IpAddr::V6(v6) => {
            // Rare, and its text (zero compression, embedded IPv4) is
            // std's: serde writes the same `Display`.
            use std::io::Write;
            let _ = write!(out, "{v6}");
        }
    }
    u64_field!(out, "\",\"port\":", u64::from(*port));
    out.push(b'}');
}

fn put_per_direction(out: &mut Vec<u8>, p: &PerDirection) {
    let PerDirection {
        to_server,
        to_client,
    } = p;
    u64_field!(out, "{\"to_server\":", *to_server);
    u64_field!(out, ",\"to_client\":", *to_client);
    out.push(b'}');
}

fn put_keepalive_side(out: &mut Vec<u8>, k: &KeepaliveSide) {
    let KeepaliveSide {
        probes,
        acks,
        unanswered,
        first_after_idle_ms,
        interval_ms,
        ended_in_rst,
    } = k;
    u64_field!(out, "{\"probes\":", *probes);
    u64_field!(out, ",\"acks\":", *acks);
    u64_field!(out, ",\"unanswered\":", *unanswered);
    opt_f64_field!(out, ",\"first_after_idle_ms\":", *first_after_idle_ms);
    opt_stats_field!(out, ",\"interval_ms\":", interval_ms.as_ref());
    bool_field!(out, ",\"ended_in_rst\":", *ended_in_rst);
    out.push(b'}');
}

/// `,"anomalies":{...}`, key included (one copy fewer).
fn put_anomalies_field(out: &mut Vec<u8>, a: &AnomaliesRecord) {
    let AnomaliesRecord {
        retransmissions,
        out_of_order,
        overlap_conflicts,
        gaps,
        gap_bytes,
        zero_window_probes,
    } = a;
    u64_field!(
        out,
        ",\"anomalies\":{\"retransmissions\":",
        *retransmissions
    );
    u64_field!(out, ",\"out_of_order\":", *out_of_order);
    u64_field!(out, ",\"overlap_conflicts\":", *overlap_conflicts);
    u64_field!(out, ",\"gaps\":", *gaps);
    u64_field!(out, ",\"gap_bytes\":", *gap_bytes);
    u64_field!(out, ",\"zero_window_probes\":", *zero_window_probes);
    out.push(b'}');
}

/// `,"http_errors":{...}`, key included (one copy fewer).
fn put_http_errors_field(out: &mut Vec<u8>, h: &HttpErrorsRecord) {
    let HttpErrorsRecord {
        head_too_large,
        too_many_headers,
        malformed_head,
        bad_content_length,
        bad_chunk,
        resync_skipped_bytes,
        out_of_sync,
        pending_overflow,
    } = h;
    u64_field!(
        out,
        ",\"http_errors\":{\"head_too_large\":",
        *head_too_large
    );
    u64_field!(out, ",\"too_many_headers\":", *too_many_headers);
    u64_field!(out, ",\"malformed_head\":", *malformed_head);
    u64_field!(out, ",\"bad_content_length\":", *bad_content_length);
    u64_field!(out, ",\"bad_chunk\":", *bad_chunk);
    u64_field!(out, ",\"resync_skipped_bytes\":", *resync_skipped_bytes);
    u64_field!(out, ",\"out_of_sync\":", *out_of_sync);
    u64_field!(out, ",\"pending_overflow\":", *pending_overflow);
    out.push(b'}');
}

/// `,"exchange_summary":{...}`, key included (one copy fewer).
fn put_exchange_summary_field(out: &mut Vec<u8>, s: &ExchangeSummary) {
    let ExchangeSummary {
        kept,
        dropped,
        status_classes,
        wait_ms,
        duration_ms,
        request_body_bytes,
        response_body_bytes,
    } = s;
    u64_field!(out, ",\"exchange_summary\":{\"kept\":", *kept);
    u64_field!(out, ",\"dropped\":", *dropped);
    out.extend_from_slice(b",\"status_classes\":{");
    for (i, (class, n)) in status_classes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_str(out, class);
        out.push(b':');
        put_u64(out, *n);
    }
    opt_stats_field!(out, "},\"wait_ms\":", wait_ms.as_ref());
    opt_stats_field!(out, ",\"duration_ms\":", duration_ms.as_ref());
    u64_field!(out, ",\"request_body_bytes\":", *request_body_bytes);
    u64_field!(out, ",\"response_body_bytes\":", *response_body_bytes);
    out.push(b'}');
}

fn put_stats(out: &mut Vec<u8>, s: &Stats) {
    let Stats { min, median, max } = s;
    f64_field!(out, "{\"min\":", *min);
    f64_field!(out, ",\"median\":", *median);
    f64_field!(out, ",\"max\":", *max);
    out.push(b'}');
}

fn direction_by_name(d: DirectionBy) -> &'static str {
    match d {
        DirectionBy::Syn => "syn",
        DirectionBy::SynAck => "syn_ack",
        DirectionBy::Payload => "payload",
        DirectionBy::Port => "port",
    }
}

fn close_by_name(b: CloseBy) -> &'static str {
    match b {
        CloseBy::Fin => "fin",
        CloseBy::Rst => "rst",
        CloseBy::None => "none",
    }
}

fn end_state_name(s: EndState) -> &'static str {
    match s {
        EndState::Open => "open",
        EndState::Closing => "closing",
        EndState::Closed => "closed",
        EndState::Reset => "reset",
        EndState::Evicted => "evicted",
    }
}

fn framing_name(f: Framing) -> &'static str {
    match f {
        Framing::None => "none",
        Framing::ContentLength => "content-length",
        Framing::Chunked => "chunked",
        Framing::Close => "close",
    }
}

/// Two decimal digits of every value below 100.
static DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

fn digit_pair(v: u64) -> [u8; 2] {
    DIGIT_PAIRS.get(v as usize).copied().unwrap_or([b'?'; 2])
}

/// `v` in decimal, as serde_json (itoa) writes it. Most counters in a
/// record are below 100.
#[inline]
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    if v < 10 {
        out.push(b'0' + v as u8);
    } else if v < 100 {
        out.extend_from_slice(&digit_pair(v));
    } else {
        put_u64_long(out, v);
    }
}

/// [`put_u64`] of any value. Digits go into a fixed buffer copied whole,
/// then the line is cut to length: a fixed-size copy is a few moves where
/// a variable one is a call to `memcpy`.
fn put_u64_long(out: &mut Vec<u8>, v: u64) {
    let len = v.checked_ilog10().map_or(1, |l| l as usize + 1);
    let mut buf = [b'0'; 20];
    let mut end = len;
    let mut rest = v;
    while rest >= 100 {
        let pair = digit_pair(rest % 100);
        rest /= 100;
        end -= 2;
        if let Some(d) = buf.get_mut(end..end + 2) {
            d.copy_from_slice(&pair);
        }
    }
    if rest >= 10 {
        if let Some(d) = buf.get_mut(..2) {
            d.copy_from_slice(&digit_pair(rest));
        }
    } else if let Some(d) = buf.first_mut() {
        *d = b'0' + rest as u8;
    }
    let start = out.len();
    out.extend_from_slice(&buf);
    out.truncate(start + len);
}

/// A name that needs no escaping (enum values, flags), quoted.
fn put_name(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// serde_json's escape for each byte: 0 for none, `u` for `\u00XX`,
/// otherwise the letter after the backslash. Bytes of multi-byte UTF-8
/// characters (0x80 and up) and DEL pass through, as in serde_json.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Whether any byte of `bytes` needs escaping (below 0x20, `"`, `\\`),
/// eight bytes at a time: strings from the wire almost never do.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Exact "some byte is zero" / "some byte is below n" word tests.
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS != 0;
    let has_below_0x20 = |w: u64| w.wrapping_sub(ONES * 0x20) & !w & HIGHS != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        if has_below_0x20(w) || has_zero(w ^ (ONES * 0x22)) || has_zero(w ^ (ONES * 0x5c)) {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| ESCAPE.get(usize::from(b)).is_some_and(|&e| e != 0))
}

/// A string as a JSON string, escaped exactly as serde_json escapes it.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.push(b'"');
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE.get(usize::from(b)).copied().unwrap_or(0);
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        start = i + 1;
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.push(b'\\');
            out.push(esc);
        }
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

fn put_str_list<S: AsRef<str>>(out: &mut Vec<u8>, list: &[S]) {
    out.push(b'[');
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_str(out, s.as_ref());
    }
    out.push(b']');
}

/// `v` as serde_json prints it: the shortest text that reads back as `v`,
/// `.0` on integral values, `null` for NaN and infinities.
///
/// Fast path: the report's millisecond values are `nanoseconds / 1e6`,
/// i.e. `v` is the double nearest to the decimal `n / 10^6` for an integer
/// `n`. When `n` has at most 15 significant digits, no other decimal of at
/// most 15 digits rounds to the same double (two different ones never do:
/// f64 holds 15 decimal digits), so the shortest round-trip text is
/// `n / 10^6` itself with trailing zeros dropped. Bounding `v` to [1e-5, 1e9) keeps it in the
/// range serde_json prints without an exponent. Anything else (negative,
/// -0.0, tiny, huge, not of that form, non-finite) goes to serde_json.
pub(crate) fn put_f64(out: &mut Vec<u8>, v: f64) {
    if v.to_bits() == 0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    if (1e-5..1e9).contains(&v) {
        // The nearest integer (a truncating cast, not `round()`, which is
        // a libm call on baseline x86-64); whether it is the right one is
        // checked next. It is below 1e15 < 2^53, so `n as f64` is exact
        // and `/ 1e6` is the correctly rounded quotient, like `ms()` in
        // build.rs.
        let n = (v * 1e6 + 0.5) as u64;
        if n as f64 / 1e6 == v && n >= 10 {
            let (int, frac) = (n / 1_000_000, n % 1_000_000);
            put_u64(out, int);
            let mut text = [b'.'; 7];
            for (pair, v) in
                text[1..]
                    .chunks_exact_mut(2)
                    .zip([frac / 10_000, (frac / 100) % 100, frac % 100])
            {
                pair.copy_from_slice(&digit_pair(v));
            }
            // Trailing zeros dropped, one digit kept (`1.0`).
            let zeros = text[2..].iter().rev().take_while(|&&c| c == b'0').count();
            let start = out.len();
            out.extend_from_slice(&text);
            out.truncate(start + 7 - zeros);
            return;
        }
    }
    // serde_json's own formatter (and its `null` for non-finite values).
    let _ = serde_json::to_writer(out, &v);
}

#[cfg(test)]
#[path = "json_fast_tests.rs"]
mod tests;
