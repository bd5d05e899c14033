//! Connection records as NDJSON lines, written by hand: the same bytes
//! serde_json writes for `{"type":"connection", ...record}` (the `Serialize`
//! derive in `model.rs` stays the contract and the reference the tests
//! compare against), several times faster.
//!
//! Why not serde: a connection line is mostly constant keys and small
//! numbers, and serde pays per field for the map path that `flatten`
//! forces, for escaping keys that never need it, and for formatting
//! timestamps and floats from scratch. Here keys are static byte strings,
//! integers are written two digits at a time, timestamps
//! through [`Rfc3339Writer`] (one calendar conversion per second), and the
//! millisecond floats the report builds (`nanoseconds / 1e6`) are printed
//! from their integer nanoseconds; any other float goes to serde_json's own
//! formatter. Strings from the wire are escaped with serde_json's table.
//!
//! Invariant: every struct is destructured without `..`, so a field added
//! to the model does not compile until it is written here, and the tests
//! compare against serde for records with every field populated, so the
//! key order is serde's (declaration order).

use super::model::*;
use super::writer::ExchangeDetail;
use crate::time::{Rfc3339Writer, Timestamp};
use std::net::IpAddr;

/// What the connection line carries in place of the id when the id is not
/// known yet (worker threads): `u64::MAX`, as wide as any id can print.
pub(crate) const ID_PLACEHOLDER: &[u8] = b"18446744073709551615";

/// Writes connection lines; keeps the timestamp cache between records.
#[derive(Debug, Default)]
pub(crate) struct ConnectionJson {
    ts: Rfc3339Writer,
}

impl ConnectionJson {
    pub(crate) fn new() -> Self {
        Self::default()
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
        out.extend_from_slice(b",\"vlan\":");
        put_opt_u64(out, vlan.map(u64::from));
        out.extend_from_slice(b",\"tunnel_id\":");
        put_opt_u64(out, tunnel_id.map(u64::from));
        out.extend_from_slice(b",\"start\":");
        self.put_ts(out, *start);
        out.extend_from_slice(b",\"end\":");
        self.put_ts(out, *end);
        out.extend_from_slice(b",\"duration_ms\":");
        put_f64(out, *duration_ms);
        out.extend_from_slice(b",\"mid_stream\":");
        put_bool(out, *mid_stream);
        out.extend_from_slice(b",\"direction_by\":");
        put_name(out, direction_by_name(*direction_by));
        out.extend_from_slice(b",\"port_reuse\":");
        put_bool(out, *port_reuse);
        out.extend_from_slice(b",\"handshake\":");
        self.put_handshake(out, handshake);
        out.extend_from_slice(b",\"packets\":");
        put_per_direction(out, packets);
        out.extend_from_slice(b",\"bytes\":");
        put_per_direction(out, bytes);
        out.extend_from_slice(b",\"stream_bytes\":");
        put_per_direction(out, stream_bytes);
        out.extend_from_slice(b",\"close\":");
        self.put_close(out, close);
        out.extend_from_slice(b",\"end_state\":");
        put_name(out, end_state_name(*end_state));
        out.extend_from_slice(b",\"tcp_keepalive\":");
        let TcpKeepaliveRecord {
            client: ka_client,
            server: ka_server,
        } = tcp_keepalive;
        out.extend_from_slice(b"{\"client\":");
        put_keepalive_side(out, ka_client);
        out.extend_from_slice(b",\"server\":");
        put_keepalive_side(out, ka_server);
        out.extend_from_slice(b"},\"tcp_idle_max_ms\":");
        put_f64(out, *tcp_idle_max_ms);
        out.extend_from_slice(b",\"anomalies\":");
        put_anomalies(out, anomalies);
        out.extend_from_slice(b",\"community_id\":");
        put_str(out, community_id);
        out.extend_from_slice(b",\"protocol\":");
        put_name(out, protocol.as_str());
        out.extend_from_slice(b",\"requests\":");
        put_u64(out, *requests);
        out.extend_from_slice(b",\"responses\":");
        put_u64(out, *responses);
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
            out.extend_from_slice(b",\"exchange_summary\":");
            put_exchange_summary(out, s);
        }
        out.extend_from_slice(b",\"idle_gaps_ms\":[");
        for (i, g) in idle_gaps_ms.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put_f64(out, *g);
        }
        out.extend_from_slice(b"],\"idle_max_ms\":");
        put_opt_f64(out, *idle_max_ms);
        out.extend_from_slice(b",\"pipeline_depth_max\":");
        put_u64(out, u64::from(*pipeline_depth_max));
        out.extend_from_slice(b",\"unanswered_requests\":");
        put_u64(out, *unanswered_requests);
        out.extend_from_slice(b",\"unmatched_responses\":");
        put_u64(out, *unmatched_responses);
        out.extend_from_slice(b",\"http_errors\":");
        put_http_errors(out, http_errors);
        out.extend_from_slice(b",\"upgrade\":");
        put_opt_str(out, upgrade.as_deref());
        out.extend_from_slice(b",\"lost_requests\":");
        put_u64(out, *lost_requests);
        out.extend_from_slice(b",\"flags\":[");
        for (i, f) in flags.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put_name(out, f.as_str());
        }
        out.extend_from_slice(b"],\"final\":");
        put_bool(out, *final_);
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

    fn put_opt_ts(&mut self, out: &mut Vec<u8>, t: Option<Timestamp>) {
        match t {
            Some(t) => self.put_ts(out, t),
            None => out.extend_from_slice(b"null"),
        }
    }

    fn put_handshake(&mut self, out: &mut Vec<u8>, h: &HandshakeRecord) {
        let HandshakeRecord {
            syn,
            syn_ack,
            ack,
            rtt_ms,
            server_rtt_ms,
            client_rtt_ms,
        } = h;
        out.extend_from_slice(b"{\"syn\":");
        self.put_opt_ts(out, *syn);
        out.extend_from_slice(b",\"syn_ack\":");
        self.put_opt_ts(out, *syn_ack);
        out.extend_from_slice(b",\"ack\":");
        self.put_opt_ts(out, *ack);
        out.extend_from_slice(b",\"rtt_ms\":");
        put_opt_f64(out, *rtt_ms);
        out.extend_from_slice(b",\"server_rtt_ms\":");
        put_opt_f64(out, *server_rtt_ms);
        out.extend_from_slice(b",\"client_rtt_ms\":");
        put_opt_f64(out, *client_rtt_ms);
        out.push(b'}');
    }

    fn put_close(&mut self, out: &mut Vec<u8>, c: &CloseRecord) {
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
        out.extend_from_slice(b"{\"initiator\":");
        put_name(out, initiator.as_str());
        out.extend_from_slice(b",\"by\":");
        put_name(out, close_by_name(*by));
        out.extend_from_slice(b",\"time_wait\":");
        put_name(out, time_wait.as_str());
        out.extend_from_slice(b",\"at\":");
        self.put_opt_ts(out, *at);
        out.extend_from_slice(b",\"reason\":");
        put_name(out, reason.as_str());
        out.extend_from_slice(b",\"requested_by\":");
        put_name(out, requested_by.as_str());
        out.extend_from_slice(b",\"idle_before_ms\":");
        put_opt_f64(out, *idle_before_ms);
        out.extend_from_slice(b",\"simultaneous\":");
        put_bool(out, *simultaneous);
        out.extend_from_slice(b",\"half_close\":");
        put_bool(out, *half_close);
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
        out.extend_from_slice(b"{\"method\":");
        put_opt_str(out, method.as_deref());
        out.extend_from_slice(b",\"uri\":");
        put_opt_str(out, uri.as_deref());
        out.extend_from_slice(b",\"status\":");
        put_opt_u64(out, status.map(u64::from));
        out.extend_from_slice(b",\"request_version\":");
        put_opt_str(out, request_version.as_deref());
        out.extend_from_slice(b",\"response_version\":");
        put_opt_str(out, response_version.as_deref());
        out.extend_from_slice(b",\"request_first\":");
        self.put_opt_ts(out, *request_first);
        out.extend_from_slice(b",\"request_last\":");
        self.put_opt_ts(out, *request_last);
        out.extend_from_slice(b",\"response_first\":");
        self.put_opt_ts(out, *response_first);
        out.extend_from_slice(b",\"response_last\":");
        self.put_opt_ts(out, *response_last);
        out.extend_from_slice(b",\"wait_ms\":");
        put_opt_f64(out, *wait_ms);
        out.extend_from_slice(b",\"duration_ms\":");
        put_opt_f64(out, *duration_ms);
        out.extend_from_slice(b",\"hol_wait_ms\":");
        put_f64(out, *hol_wait_ms);
        out.extend_from_slice(b",\"request_body_bytes\":");
        put_u64(out, *request_body_bytes);
        out.extend_from_slice(b",\"response_body_bytes\":");
        put_u64(out, *response_body_bytes);
        out.extend_from_slice(b",\"framing\":");
        put_name(out, framing_name(*framing));
        out.extend_from_slice(b",\"request_framing\":");
        put_name(out, framing_name(*request_framing));
        let ConnectionHeaders { request, response } = connection;
        out.extend_from_slice(b",\"connection\":{\"request\":");
        put_str_list(out, request);
        out.extend_from_slice(b",\"response\":");
        put_str_list(out, response);
        let KeepAliveRecord { timeout, max } = keep_alive;
        out.extend_from_slice(b"},\"keep_alive\":{\"timeout\":");
        put_opt_u64(out, *timeout);
        out.extend_from_slice(b",\"max\":");
        put_opt_u64(out, *max);
        out.extend_from_slice(b"},\"persistent\":");
        put_bool(out, *persistent);
        out.extend_from_slice(b",\"pipelined\":");
        put_bool(out, *pipelined);
        out.extend_from_slice(b",\"expect_continue\":");
        put_bool(out, *expect_continue);
        out.extend_from_slice(b",\"interim_responses\":");
        put_u64(out, u64::from(*interim_responses));
        out.extend_from_slice(b",\"missing_bytes\":");
        put_u64(out, *missing_bytes);
        out.extend_from_slice(b",\"request_after_server_fin\":");
        put_bool(out, *request_after_server_fin);
        out.extend_from_slice(b",\"request_after_close\":");
        put_bool(out, *request_after_close);
        out.extend_from_slice(b",\"response_incomplete\":");
        put_bool(out, *response_incomplete);
        out.extend_from_slice(b",\"lost\":");
        put_bool(out, *lost);
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
    out.extend_from_slice(b"\",\"port\":");
    put_u64(out, u64::from(*port));
    out.push(b'}');
}

fn put_per_direction(out: &mut Vec<u8>, p: &PerDirection) {
    let PerDirection {
        to_server,
        to_client,
    } = p;
    out.extend_from_slice(b"{\"to_server\":");
    put_u64(out, *to_server);
    out.extend_from_slice(b",\"to_client\":");
    put_u64(out, *to_client);
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
    out.extend_from_slice(b"{\"probes\":");
    put_u64(out, *probes);
    out.extend_from_slice(b",\"acks\":");
    put_u64(out, *acks);
    out.extend_from_slice(b",\"unanswered\":");
    put_u64(out, *unanswered);
    out.extend_from_slice(b",\"first_after_idle_ms\":");
    put_opt_f64(out, *first_after_idle_ms);
    out.extend_from_slice(b",\"interval_ms\":");
    put_opt_stats(out, interval_ms.as_ref());
    out.extend_from_slice(b",\"ended_in_rst\":");
    put_bool(out, *ended_in_rst);
    out.push(b'}');
}

fn put_anomalies(out: &mut Vec<u8>, a: &AnomaliesRecord) {
    let AnomaliesRecord {
        retransmissions,
        out_of_order,
        overlap_conflicts,
        gaps,
        gap_bytes,
        zero_window_probes,
    } = a;
    out.extend_from_slice(b"{\"retransmissions\":");
    put_u64(out, *retransmissions);
    out.extend_from_slice(b",\"out_of_order\":");
    put_u64(out, *out_of_order);
    out.extend_from_slice(b",\"overlap_conflicts\":");
    put_u64(out, *overlap_conflicts);
    out.extend_from_slice(b",\"gaps\":");
    put_u64(out, *gaps);
    out.extend_from_slice(b",\"gap_bytes\":");
    put_u64(out, *gap_bytes);
    out.extend_from_slice(b",\"zero_window_probes\":");
    put_u64(out, *zero_window_probes);
    out.push(b'}');
}

fn put_http_errors(out: &mut Vec<u8>, h: &HttpErrorsRecord) {
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
    out.extend_from_slice(b"{\"head_too_large\":");
    put_u64(out, *head_too_large);
    out.extend_from_slice(b",\"too_many_headers\":");
    put_u64(out, *too_many_headers);
    out.extend_from_slice(b",\"malformed_head\":");
    put_u64(out, *malformed_head);
    out.extend_from_slice(b",\"bad_content_length\":");
    put_u64(out, *bad_content_length);
    out.extend_from_slice(b",\"bad_chunk\":");
    put_u64(out, *bad_chunk);
    out.extend_from_slice(b",\"resync_skipped_bytes\":");
    put_u64(out, *resync_skipped_bytes);
    out.extend_from_slice(b",\"out_of_sync\":");
    put_u64(out, *out_of_sync);
    out.extend_from_slice(b",\"pending_overflow\":");
    put_u64(out, *pending_overflow);
    out.push(b'}');
}

fn put_exchange_summary(out: &mut Vec<u8>, s: &ExchangeSummary) {
    let ExchangeSummary {
        kept,
        dropped,
        status_classes,
        wait_ms,
        duration_ms,
        request_body_bytes,
        response_body_bytes,
    } = s;
    out.extend_from_slice(b"{\"kept\":");
    put_u64(out, *kept);
    out.extend_from_slice(b",\"dropped\":");
    put_u64(out, *dropped);
    out.extend_from_slice(b",\"status_classes\":{");
    for (i, (class, n)) in status_classes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_str(out, class);
        out.push(b':');
        put_u64(out, *n);
    }
    out.extend_from_slice(b"},\"wait_ms\":");
    put_opt_stats(out, wait_ms.as_ref());
    out.extend_from_slice(b",\"duration_ms\":");
    put_opt_stats(out, duration_ms.as_ref());
    out.extend_from_slice(b",\"request_body_bytes\":");
    put_u64(out, *request_body_bytes);
    out.extend_from_slice(b",\"response_body_bytes\":");
    put_u64(out, *response_body_bytes);
    out.push(b'}');
}

fn put_opt_stats(out: &mut Vec<u8>, s: Option<&Stats>) {
    let Some(Stats { min, median, max }) = s else {
        out.extend_from_slice(b"null");
        return;
    };
    out.extend_from_slice(b"{\"min\":");
    put_f64(out, *min);
    out.extend_from_slice(b",\"median\":");
    put_f64(out, *median);
    out.extend_from_slice(b",\"max\":");
    put_f64(out, *max);
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

fn put_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
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

/// `v` in decimal, as serde_json (itoa) writes it. Digits go into a fixed
/// buffer copied whole, then the line is cut to length: a fixed-size copy
/// is a few moves where a variable one is a call to `memcpy`.
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
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

fn put_opt_u64(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(v) => put_u64(out, v),
        None => out.extend_from_slice(b"null"),
    }
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

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn put_str_list(out: &mut Vec<u8>, list: &[String]) {
    out.push(b'[');
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_str(out, s);
    }
    out.push(b']');
}

fn put_opt_f64(out: &mut Vec<u8>, v: Option<f64>) {
    match v {
        Some(v) => put_f64(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// `v` as serde_json prints it: the shortest text that reads back as `v`,
/// `.0` on integral values, `null` for NaN and infinities.
///
/// Fast path: the report's millisecond values are `nanoseconds / 1e6`,
/// i.e. `v` is the double nearest to the decimal `n / 10^6` for an integer
/// `n`. When `n` has at most 15 significant digits, no other decimal of 15
/// digits or fewer is nearest to the same double (f64 holds 15 decimal
/// digits exactly), so the shortest round-trip text is `n / 10^6` itself
/// with trailing zeros dropped. Bounding `v` to [1e-5, 1e9) keeps it in the
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
