//! The RFC 9293 state of each endpoint as the capture point sees it, and the
//! one function that moves it.
//!
//! The observer sees every segment once, between its sender and receiver, so
//! each segment is applied twice: as *sent* to its sender's state and as
//! *received* to its receiver's state (assuming it arrives; the capture
//! cannot know better). Within one segment the ACK is processed before the
//! FIN, as RFC 9293 section 3.10.7.4 orders it (fifth check, then eighth).

/// RFC 9293 section 3.3.2 connection states (LISTEN is folded into
/// `Closed`: a passive opener is indistinguishable from a closed port until
/// it answers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpState {
    Closed,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

/// Whether the endpoint sent or received the segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Sent,
    Received,
}

/// What one segment means for the state machines.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SegEvent {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    /// The segment acknowledges its receiver's SYN.
    pub acks_syn: bool,
    /// The segment acknowledges its receiver's FIN.
    pub acks_fin: bool,
}

/// The state after `state`'s endpoint sent or received `ev`.
pub(crate) fn transition(state: TcpState, role: Role, ev: &SegEvent) -> TcpState {
    use Role::*;
    use TcpState::*;
    // RFC 9293 3.10.7: an acceptable RST moves any state to CLOSED (the
    // sender aborts; the receiver drops the connection, 3.10.7.4 second
    // check; in TIME-WAIT too, as Linux does unless tcp_rfc1337 is set).
    if ev.rst {
        return Closed;
    }
    let mut s = state;
    match role {
        Sent => {
            s = match (s, ev.syn, ev.ack) {
                // 3.10.1 active OPEN: send SYN, enter SYN-SENT.
                (Closed, true, false) => SynSent,
                // 3.10.7.2 LISTEN receiving SYN answers SYN-ACK and enters
                // SYN-RECEIVED; a simultaneous open does the same from
                // SYN-SENT (3.10.7.3 fourth check).
                (Closed | SynSent, true, true) => SynReceived,
                // 3.10.7.3: SYN-SENT whose SYN was acknowledged sends the
                // final ACK and is ESTABLISHED.
                (SynSent, false, true) if ev.acks_syn => Established,
                _ => s,
            };
            if ev.fin {
                // 3.10.4 CLOSE: FIN from ESTABLISHED/SYN-RECEIVED enters
                // FIN-WAIT-1, from CLOSE-WAIT enters LAST-ACK.
                s = match s {
                    Established | SynReceived | SynSent => FinWait1,
                    // The observer put us in CLOSE-WAIT on seeing the peer's
                    // FIN, but this FIN does not acknowledge it: we sent it
                    // before the peer's arrived, a simultaneous close
                    // (3.10.7.4: FIN-WAIT-1 receiving FIN enters CLOSING).
                    CloseWait if !ev.acks_fin => Closing,
                    CloseWait => LastAck,
                    other => other,
                };
            }
        }
        Received => {
            s = match (s, ev.syn) {
                // 3.10.7.2: LISTEN receiving SYN.
                (Closed, true) if !ev.ack => SynReceived,
                // 3.10.7.3: SYN-SENT receiving an acceptable SYN-ACK.
                (SynSent, true) if ev.acks_syn => Established,
                // 3.10.7.3: simultaneous open.
                (SynSent, true) => SynReceived,
                _ => s,
            };
            if ev.ack {
                // 3.10.7.4 fifth check, the ACK field.
                s = match s {
                    SynReceived if ev.acks_syn => Established,
                    FinWait1 if ev.acks_fin => FinWait2,
                    Closing if ev.acks_fin => TimeWait,
                    LastAck if ev.acks_fin => Closed,
                    other => other,
                };
            }
            if ev.fin {
                // 3.10.7.4 eighth check, the FIN bit.
                s = match s {
                    SynReceived | Established => CloseWait,
                    // Our FIN is not yet acknowledged: simultaneous close.
                    FinWait1 => Closing,
                    FinWait2 => TimeWait,
                    other => other,
                };
            }
        }
    }
    s
}

/// States in which the endpoint has finished closing (or never opened).
pub(crate) fn is_closed(s: TcpState) -> bool {
    matches!(s, TcpState::Closed | TcpState::TimeWait)
}

#[cfg(test)]
mod tests {
    use super::Role::*;
    use super::TcpState::*;
    use super::*;

    fn ev(f: impl FnOnce(&mut SegEvent)) -> SegEvent {
        let mut e = SegEvent::default();
        f(&mut e);
        e
    }

    #[test]
    fn three_way_handshake() {
        let syn = ev(|e| e.syn = true);
        let synack = ev(|e| {
            e.syn = true;
            e.ack = true;
            e.acks_syn = true
        });
        let ack = ev(|e| {
            e.ack = true;
            e.acks_syn = true
        });
        let (mut c, mut s) = (Closed, Closed);
        c = transition(c, Sent, &syn);
        s = transition(s, Received, &syn);
        assert_eq!((c, s), (SynSent, SynReceived));
        s = transition(s, Sent, &synack);
        c = transition(c, Received, &synack);
        assert_eq!((c, s), (Established, SynReceived));
        c = transition(c, Sent, &ack);
        s = transition(s, Received, &ack);
        assert_eq!((c, s), (Established, Established));
    }

    #[test]
    fn active_close_ends_in_time_wait() {
        let fin = ev(|e| {
            e.fin = true;
            e.ack = true
        });
        let ack_fin = ev(|e| {
            e.ack = true;
            e.acks_fin = true
        });
        let fin_ack_fin = ev(|e| {
            e.fin = true;
            e.ack = true;
            e.acks_fin = true
        });
        let (mut a, mut p) = (Established, Established);
        a = transition(a, Sent, &fin);
        p = transition(p, Received, &fin);
        assert_eq!((a, p), (FinWait1, CloseWait));
        a = transition(a, Received, &fin_ack_fin);
        p = transition(p, Sent, &fin_ack_fin);
        assert_eq!((a, p), (TimeWait, LastAck));
        p = transition(p, Received, &ack_fin);
        assert_eq!(p, Closed);
    }

    #[test]
    fn simultaneous_close_goes_through_closing() {
        let fin = ev(|e| {
            e.fin = true;
            e.ack = true
        });
        let ack_fin = ev(|e| {
            e.ack = true;
            e.acks_fin = true
        });
        let mut a = transition(Established, Sent, &fin);
        a = transition(a, Received, &fin);
        assert_eq!(a, Closing);
        a = transition(a, Received, &ack_fin);
        assert_eq!(a, TimeWait);
    }

    #[test]
    fn crossing_fin_seen_from_the_middle_is_simultaneous() {
        // The observer sees the client's FIN first and puts the server in
        // CLOSE-WAIT; the server's FIN does not acknowledge it, so it was
        // sent before the client's FIN arrived.
        let fin = ev(|e| {
            e.fin = true;
            e.ack = true
        });
        let mut s = transition(Established, Received, &fin);
        assert_eq!(s, CloseWait);
        s = transition(s, Sent, &fin);
        assert_eq!(s, Closing);
        let fin_acking = ev(|e| {
            e.fin = true;
            e.ack = true;
            e.acks_fin = true
        });
        assert_eq!(transition(CloseWait, Sent, &fin_acking), LastAck);
    }

    #[test]
    fn rst_closes_every_state() {
        let rst = ev(|e| e.rst = true);
        for s in [
            SynSent,
            SynReceived,
            Established,
            FinWait1,
            FinWait2,
            CloseWait,
            Closing,
            LastAck,
            TimeWait,
        ] {
            assert_eq!(transition(s, Received, &rst), Closed);
            assert_eq!(transition(s, Sent, &rst), Closed);
        }
    }
}
