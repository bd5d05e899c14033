//! TCP keepalive and zero-window probes, classified per segment before
//! reassembly, in raw 32-bit sequence space (so they are recognised even on
//! a connection picked up mid-stream whose stream offsets are not known).
//!
//! Rules (Suricata's, stricter than Wireshark's, see DOMAIN.md):
//! - zero-window probe, tested first: the receiver last advertised a window
//!   of 0 and the segment carries at most one byte at the sender's next
//!   sequence number, or is the 0-byte form at next - 1 that Linux uses;
//! - keepalive probe: 0 or 1 byte, no SYN/FIN/RST, `seq == next - 1` where
//!   `next` is the highest sequence number the sender has used or the peer
//!   has acknowledged, and the ACK equals the sender's previous ACK;
//! - keepalive ACK: the peer's pure ACK (no payload, no SYN/FIN/RST) of
//!   exactly `next`, while one of the sender's probes is unanswered.
//!
//! A 0-byte segment at `next - 1` is what Linux sends both as a keepalive
//! probe and as a zero-window probe (`tcp_xmit_probe_skb`); the peer's zero
//! window is what tells them apart (Linux sends no keepalive while data is
//! queued). Wireshark flags both as keep-alive. A probe not answered before
//! the side's next probe, or before the connection ends, is unanswered; a
//! non-pure segment from the peer acknowledging it answers it without
//! counting as a keepalive ACK.

use super::seq;
use crate::decode::TcpFlags;

/// Most probe intervals kept per side (the rest are counted, not kept).
pub const MAX_KEEPALIVE_INTERVALS: usize = 1024;

/// What one side has shown of its sequence space, in raw numbers.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SeqTrack {
    /// Highest sequence number used (seq + len) or acknowledged by the peer.
    pub nxt: Option<u32>,
    /// The ACK field of this side's last ACK segment.
    pub last_ack: Option<u32>,
    /// The window this side advertised last (raw field; 0 is 0 at any
    /// scale).
    pub window: Option<u16>,
    /// One of this side's keepalive probes awaits an answer.
    pub probe_outstanding: bool,
}

/// The probe-related meaning of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProbeKind {
    None,
    /// Zero-window probe; `new_byte` when it carries the next data byte
    /// (which then belongs to the stream).
    ZeroWindow {
        new_byte: bool,
    },
    Keepalive,
    /// Answers the peer's outstanding keepalive probe.
    KeepaliveAck,
}

/// Classify a segment from a side whose tracker is `snd`, sent to a side
/// whose tracker is `rcv`.
pub(crate) fn classify(
    flags: TcpFlags,
    seq_no: u32,
    ack: u32,
    len: u64,
    snd: &SeqTrack,
    rcv: &SeqTrack,
) -> ProbeKind {
    if flags.syn() || flags.fin() || flags.rst() || !flags.ack() || len > 1 {
        return ProbeKind::None;
    }
    if let Some(nxt) = snd.nxt {
        if rcv.window == Some(0) {
            if len == 1 && seq_no == nxt {
                return ProbeKind::ZeroWindow { new_byte: true };
            }
            let at_una = rcv.last_ack.is_some_and(|a| seq_no == a.wrapping_sub(1));
            if seq_no == nxt.wrapping_sub(1) || at_una {
                return ProbeKind::ZeroWindow { new_byte: false };
            }
        }
        if len == 0 && rcv.probe_outstanding && rcv.nxt == Some(ack) && seq_no == nxt {
            return ProbeKind::KeepaliveAck;
        }
        if seq_no == nxt.wrapping_sub(1) && snd.last_ack.is_none_or(|a| a == ack) {
            return ProbeKind::Keepalive;
        }
    }
    ProbeKind::None
}

impl SeqTrack {
    /// Record that this side used sequence numbers up to `end`.
    pub(crate) fn used(&mut self, end: u32) {
        if self.nxt.is_none_or(|n| seq::gt(end, n)) {
            self.nxt = Some(end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: TcpFlags = TcpFlags(TcpFlags::ACK);

    fn track(nxt: u32, last_ack: u32, window: u16) -> SeqTrack {
        SeqTrack {
            nxt: Some(nxt),
            last_ack: Some(last_ack),
            window: Some(window),
            probe_outstanding: false,
        }
    }

    #[test]
    fn linux_and_windows_probes() {
        let snd = track(1000, 5000, 500);
        let rcv = track(5000, 1000, 500);
        assert_eq!(classify(A, 999, 5000, 0, &snd, &rcv), ProbeKind::Keepalive);
        assert_eq!(classify(A, 999, 5000, 1, &snd, &rcv), ProbeKind::Keepalive);
        // ACK moved: not a keepalive (Wireshark would say it is).
        assert_eq!(classify(A, 999, 5001, 0, &snd, &rcv), ProbeKind::None);
        // Pure ACK at next: not a probe.
        assert_eq!(classify(A, 1000, 5000, 0, &snd, &rcv), ProbeKind::None);
        // Two bytes: data.
        assert_eq!(classify(A, 999, 5000, 2, &snd, &rcv), ProbeKind::None);
        let fin = TcpFlags(TcpFlags::ACK | TcpFlags::FIN);
        assert_eq!(classify(fin, 999, 5000, 0, &snd, &rcv), ProbeKind::None);
    }

    #[test]
    fn keepalive_ack_needs_an_outstanding_probe() {
        let mut prober = track(1000, 5000, 500);
        let answerer = track(5000, 1000, 500);
        assert_eq!(
            classify(A, 5000, 1000, 0, &answerer, &prober),
            ProbeKind::None
        );
        prober.probe_outstanding = true;
        assert_eq!(
            classify(A, 5000, 1000, 0, &answerer, &prober),
            ProbeKind::KeepaliveAck
        );
    }

    #[test]
    fn zero_window_probes_first() {
        let snd = track(1000, 5000, 500);
        let rcv = track(5000, 1000, 0);
        assert_eq!(
            classify(A, 999, 5000, 0, &snd, &rcv),
            ProbeKind::ZeroWindow { new_byte: false }
        );
        assert_eq!(
            classify(A, 1000, 5000, 1, &snd, &rcv),
            ProbeKind::ZeroWindow { new_byte: true }
        );
    }
}
