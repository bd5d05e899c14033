//! Connection lifecycle: handshake, close in every shape, RST in every
//! state, port reuse, mid-stream pickup, odd timestamps.

mod tcp_common;
use keepwatch::tcp::*;
use keepwatch::time::Timestamp;
use tcp_common::*;

#[test]
fn handshake_data_and_client_active_close() {
    let mut f = Flow::new(1000, 5000);
    f.at(10 * SEC);
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"GET / HTTP/1.1\r\n\r\n"));
    p.push(f.s_ack());
    p.push(f.s_data(b"HTTP/1.1 200 OK\r\n\r\n"));
    p.push(f.c_ack());
    p.push(f.c_fin());
    p.push(f.s_fin()); // FIN+ACK acknowledging the client's FIN
    p.push(f.c_ack());
    let c = Sim::run_one(&p);
    let t = &c.facts;
    assert_eq!(t.id, 1);
    assert_eq!(t.client, f.c);
    assert_eq!(t.server, f.s);
    assert!(!t.mid_stream);
    assert_eq!(t.direction_by, DirectionEvidence::Syn);
    assert_eq!(t.handshake.syn, Some(Timestamp::from_nanos(10 * SEC)));
    assert_eq!(
        t.handshake.syn_ack,
        Some(Timestamp::from_nanos(10 * SEC + MS))
    );
    assert_eq!(
        t.handshake.ack,
        Some(Timestamp::from_nanos(10 * SEC + 2 * MS))
    );
    assert_eq!(t.start, Timestamp::from_nanos(10 * SEC));
    assert_eq!(t.end, Timestamp::from_nanos(10 * SEC + 9 * MS));
    assert_eq!(t.sides[0].packets, 6);
    assert_eq!(t.sides[1].packets, 4);
    assert_eq!(t.sides[0].bytes, 18);
    assert_eq!(t.sides[0].stream_bytes, 18);
    assert_eq!(t.sides[1].stream_bytes, 19);
    assert_eq!(
        t.sides[0].first_data,
        Some(Timestamp::from_nanos(10 * SEC + 3 * MS))
    );
    assert_eq!(
        t.sides[1].last_data,
        Some(Timestamp::from_nanos(10 * SEC + 5 * MS))
    );
    assert_eq!(
        t.first_fin,
        Some(CloseEvent {
            by: Side::Client,
            at: Timestamp::from_nanos(10 * SEC + 7 * MS)
        })
    );
    assert_eq!(t.first_rst, None);
    assert!(!t.simultaneous_close);
    assert!(!t.half_close);
    assert_eq!(t.time_wait, Sides::Client);
    assert_eq!(t.end_state, EndState::Closed);
    assert_eq!(t.anomalies, Anomalies::default());
    assert_eq!(c.handler.text(TO_S), "GET / HTTP/1.1\r\n\r\n<fin>");
    assert_eq!(c.handler.text(TO_C), "HTTP/1.1 200 OK\r\n\r\n<fin>");
    // The table leaves on_end to whoever takes the connection.
    assert!(!c.handler.events.contains(&Ev::End));
}

#[test]
fn server_active_close_finishes_at_once_and_its_tombstone_absorbs_late_packets() {
    let mut f = Flow::new(7, 9);
    let mut sim = Sim::new(Sim::default_cfg()); // linger 2 s
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"req"));
    p.push(f.s_data(b"resp"));
    p.push(f.s_fin());
    p.push(f.c_ack());
    p.push(f.c_fin());
    p.push(f.s_ack());
    sim.feed_all(&p);
    sim.collect();
    // Closed both ways: finished right away, only a tombstone stays.
    assert_eq!(
        sim.done.len(),
        1,
        "a closed connection is finished at its close"
    );
    assert_eq!(sim.table.len(), 0);
    // A late retransmitted FIN is absorbed by the tombstone: no new
    // connection, counted apart.
    let mut late = p[7].clone();
    late.ts += 500 * MS;
    sim.feed(&late);
    sim.table.advance(Timestamp::from_nanos(f.t + 3 * SEC));
    sim.collect();
    assert_eq!(sim.done.len(), 1);
    assert_eq!(sim.table.len(), 0);
    assert_eq!(sim.table.late_segments(), 1);
    let t = &sim.done[0].facts;
    assert_eq!(t.time_wait, Sides::Server);
    assert_eq!(t.end_state, EndState::Closed);
    assert_eq!(t.first_fin.unwrap().by, Side::Server);
    assert_eq!(t.sides[0].packets, 5);
    assert_eq!(sim.done[0].handler.text(TO_C), "resp<fin>");
    // After the linger the tombstone is gone: the same late FIN would now
    // start a mid-stream connection.
    let mut later = p[7].clone();
    later.ts = f.t + 10 * SEC;
    sim.feed(&later);
    assert_eq!(sim.table.len(), 1);
}

/// An RST after a completed close (TIME-WAIT assassination, RFC 1337) does
/// not turn a clean close into a reset: the connection was finished at its
/// close and the RST is a late segment.
#[test]
fn rst_after_a_completed_close_is_a_late_segment() {
    let mut f = Flow::new(10, 20);
    let mut sim = Sim::new(Sim::default_cfg());
    let mut p = f.handshake().to_vec();
    p.push(f.c_fin());
    p.push(f.s_fin());
    p.push(f.c_ack());
    p.push(f.s_rst());
    sim.feed_all(&p);
    sim.end(i64::MAX / 2);
    assert_eq!(sim.done.len(), 1);
    let t = &sim.done[0].facts;
    assert_eq!(t.end_state, EndState::Closed);
    assert_eq!(t.first_rst, None);
    assert_eq!(t.time_wait, Sides::Client);
    assert_eq!(sim.table.late_segments(), 1);
}

#[test]
fn close_without_final_ack_is_closing_and_no_time_wait() {
    let mut f = Flow::new(1, 2);
    let mut p = f.handshake().to_vec();
    p.push(f.c_fin());
    p.push(f.s_fin());
    let t = Sim::run_one(&p).facts;
    assert_eq!(t.end_state, EndState::Closing);
    assert_eq!(t.time_wait, Sides::None);
}

#[test]
fn simultaneous_close_both_hold_time_wait() {
    let mut f = Flow::new(100, 200);
    let mut p = f.handshake().to_vec();
    // Both FINs cross: each acknowledges only the other's data, not FIN.
    let cfin = f.c_fin();
    let mut sfin = f.s_fin();
    sfin.ack = cfin.seq; // server has not seen the client's FIN
    p.push(cfin);
    p.push(sfin);
    p.push(f.c_ack());
    p.push(f.s_ack());
    let c = Sim::run_one(&p);
    let t = &c.facts;
    assert!(t.simultaneous_close);
    assert_eq!(t.time_wait, Sides::Both);
    assert_eq!(t.end_state, EndState::Closed);
    assert_eq!(t.first_fin.unwrap().by, Side::Client);
}

#[test]
fn half_close_data_after_fin() {
    let mut f = Flow::new(100, 200);
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"upload"));
    p.push(f.c_fin());
    p.push(f.s_data(b"still "));
    p.push(f.s_data(b"talking"));
    p.push(f.s_fin());
    p.push(f.c_ack());
    let c = Sim::run_one(&p);
    assert!(c.facts.half_close);
    assert_eq!(c.facts.time_wait, Sides::Client);
    assert_eq!(c.handler.text(TO_S), "upload<fin>");
    assert_eq!(c.handler.text(TO_C), "still talking<fin>");
}

#[test]
fn no_half_close_when_close_is_plain() {
    let mut f = Flow::new(100, 200);
    let mut p = f.handshake().to_vec();
    p.push(f.s_data(b"x"));
    p.push(f.c_fin());
    p.push(f.s_fin());
    p.push(f.c_ack());
    assert!(!Sim::run_one(&p).facts.half_close);
}

/// RST in each RFC 9293 state; the last packet is the RST.
#[test]
fn rst_in_every_state() {
    type Build = fn(&mut Flow) -> Vec<Pkt>;
    let cases: Vec<(&str, Build, Side)> = vec![
        (
            "SYN-SENT (refused)",
            |f| vec![f.syn(), f.s_rst()],
            Side::Server,
        ),
        (
            "SYN-RECEIVED",
            |f| vec![f.syn(), f.syn_ack(), f.c_rst()],
            Side::Client,
        ),
        (
            "ESTABLISHED",
            |f| {
                let mut p = f.handshake().to_vec();
                p.push(f.c_data(b"a"));
                p.push(f.s_rst());
                p
            },
            Side::Server,
        ),
        (
            "FIN-WAIT-1",
            |f| {
                let mut p = f.handshake().to_vec();
                p.push(f.c_fin());
                p.push(f.s_rst());
                p
            },
            Side::Server,
        ),
        (
            "FIN-WAIT-2 / CLOSE-WAIT",
            |f| {
                let mut p = f.handshake().to_vec();
                p.push(f.c_fin());
                p.push(f.s_ack());
                p.push(f.s_rst());
                p
            },
            Side::Server,
        ),
        (
            "CLOSE-WAIT sender",
            |f| {
                let mut p = f.handshake().to_vec();
                p.push(f.s_fin());
                p.push(f.c_ack());
                p.push(f.c_rst());
                p
            },
            Side::Client,
        ),
    ];
    for (name, build, by) in cases {
        let mut f = Flow::new(10, 20);
        let p = build(&mut f);
        let rst_ts = p.last().unwrap().ts;
        let c = Sim::run_one(&p);
        let t = &c.facts;
        assert_eq!(t.end_state, EndState::Reset, "{name}");
        assert_eq!(t.time_wait, Sides::None, "{name}");
        assert_eq!(
            t.first_rst,
            Some(CloseEvent {
                by,
                at: Timestamp::from_nanos(rst_ts)
            }),
            "{name}"
        );
        let dir = if by == Side::Client { TO_S } else { TO_C };
        assert_eq!(c.handler.events.last(), Some(&Ev::Rst(dir)), "{name}");
    }
}

#[test]
fn rst_finishes_at_once_and_late_packets_are_absorbed() {
    let mut f = Flow::new(10, 20);
    let mut sim = Sim::new(Sim::default_cfg());
    let mut p = f.handshake().to_vec();
    p.push(f.c_rst());
    p.push(f.s_data(b"late")); // in flight when the RST went out
    sim.feed_all(&p);
    sim.collect();
    assert_eq!(sim.done.len(), 1);
    assert_eq!(sim.table.len(), 0, "no new connection from the late data");
    assert_eq!(sim.table.late_segments(), 1);
    let c = &sim.done[0];
    assert_eq!(c.facts.sides[1].packets, 1);
    assert_eq!(c.facts.end_state, EndState::Reset);
    // Nothing is delivered after the RST.
    assert!(!c.handler.text(TO_C).contains("late"));
}

#[test]
fn port_reuse_from_time_wait() {
    let mut sim = Sim::new(Sim::default_cfg());
    let mut f = Flow::new(1000, 2000);
    sim.feed_all(&f.handshake());
    let p = [f.c_fin(), f.s_fin(), f.c_ack()];
    sim.feed_all(&p);
    // A new SYN (new ISN) on the same 4-tuple while the old one lingers.
    let mut g = Flow::new(900_000, 3000);
    g.at(f.t + 100 * MS);
    let p2 = g.handshake();
    sim.feed_all(&p2);
    sim.feed(&g.c_data(b"hello"));
    sim.end(g.t + 10 * SEC);
    assert_eq!(sim.done.len(), 2);
    let (a, b) = (&sim.done[0].facts, &sim.done[1].facts);
    assert_eq!(a.id, 1);
    assert_eq!(a.end_state, EndState::Closed);
    assert_eq!(a.time_wait, Sides::Client);
    assert!(!a.port_reuse);
    assert_eq!(b.id, 2);
    assert!(b.port_reuse);
    assert_eq!(b.end_state, EndState::Open);
    assert_eq!(b.handshake.syn, Some(Timestamp::from_nanos(p2[0].ts)));
    assert_eq!(sim.done[1].handler.stream(TO_S), b"hello");
}

#[test]
fn retransmitted_syn_is_not_port_reuse() {
    let mut f = Flow::new(1000, 2000);
    let syn = f.syn();
    let mut again = syn.clone();
    again.ts += SEC;
    let mut p = vec![syn, again];
    f.at(f.t + 2 * SEC);
    p.push(f.syn_ack());
    p.push(f.c_ack());
    let c = Sim::run_one(&p);
    assert_eq!(c.facts.anomalies.retransmissions, 1);
    assert_eq!(c.facts.handshake.syn, Some(Timestamp::from_nanos(p[0].ts)));
    assert_eq!(c.facts.sides[0].packets, 3);
}

#[test]
fn tfo_data_on_syn_is_delivered() {
    let mut f = Flow::new(50, 60);
    let p = vec![f.syn_data(b"GET /"), f.syn_ack(), f.c_data(b" HTTP/1.1")];
    let c = Sim::run_one(&p);
    assert_eq!(c.handler.stream(TO_S), b"GET / HTTP/1.1");
    assert_eq!(c.facts.sides[0].stream_bytes, 14);
}

fn classify(d: &[u8]) -> PayloadHint {
    if d.starts_with(b"GET ") {
        PayloadHint::Request
    } else if d.starts_with(b"HTTP/") {
        PayloadHint::Response
    } else {
        PayloadHint::Unknown
    }
}

fn mid_cfg() -> TcpConfig {
    TcpConfig {
        classify,
        server_ports: vec![9000],
        ..Sim::default_cfg()
    }
}

fn run_cfg(cfg: TcpConfig, p: &[Pkt]) -> Finished<Rec> {
    let mut sim = Sim::new(cfg);
    sim.feed_all(p);
    sim.end(i64::MAX / 2);
    assert_eq!(sim.done.len(), 1);
    sim.done.pop().unwrap()
}

#[test]
fn mid_stream_by_syn_ack() {
    // Client on a low port to show the SYN-ACK wins over ports.
    let mut f = Flow::between(ep("10.0.0.1", 80), ep("10.0.0.2", 50000), 1, 2);
    let p = vec![f.syn_ack(), f.c_ack(), f.c_data(b"x")];
    let c = run_cfg(mid_cfg(), &p);
    assert!(c.facts.mid_stream);
    assert_eq!(c.facts.direction_by, DirectionEvidence::SynAck);
    assert_eq!(c.facts.client, f.c);
    assert_eq!(c.facts.handshake.syn, None);
    assert!(c.facts.handshake.ack.is_some());
    assert_eq!(c.handler.stream(TO_S), b"x");
}

#[test]
fn mid_stream_by_payload_after_waiting_acks() {
    // Ports say the other way round; the payload decides. Two pure ACKs
    // arrive before any payload and are counted on the right sides.
    for response_first in [false, true] {
        let mut f = Flow::between(ep("10.0.0.1", 8080), ep("10.0.0.2", 443), 1, 2);
        let mut p = vec![f.s_ack(), f.c_ack()];
        if response_first {
            p.push(f.s_data(b"HTTP/1.1 200 OK\r\n"));
        } else {
            p.push(f.c_data(b"GET / HTTP/1.1\r\n"));
        }
        let c = run_cfg(mid_cfg(), &p);
        let t = &c.facts;
        assert!(t.mid_stream);
        assert_eq!(t.direction_by, DirectionEvidence::Payload);
        assert_eq!(t.client, f.c);
        assert_eq!(t.server, f.s);
        assert_eq!(t.start, Timestamp::from_nanos(p[0].ts));
        let (cp, sp) = if response_first { (1, 2) } else { (2, 1) };
        assert_eq!((t.sides[0].packets, t.sides[1].packets), (cp, sp));
        assert_eq!(c.handler.events.len(), 1);
    }
}

#[test]
fn mid_stream_by_port_rules() {
    // (client, server) with the first packet sent by the first endpoint of
    // each pair reversed, so the sender is the server.
    let cases = [
        (ep("10.0.0.1", 80), ep("10.0.0.2", 9000)), // --server-port wins
        (ep("10.0.0.1", 5000), ep("10.0.0.2", 443)), // well-known
        (ep("10.0.0.1", 40000), ep("10.0.0.2", 8080)), // lower
    ];
    for (client, server) in cases {
        let mut f = Flow::between(client, server, 1, 2);
        let p = vec![f.s_data(b"\x00binary"), f.c_ack()];
        let c = run_cfg(mid_cfg(), &p);
        assert_eq!(c.facts.direction_by, DirectionEvidence::Port);
        assert_eq!(c.facts.client, client, "{client:?} {server:?}");
        assert_eq!(c.handler.stream(TO_C), b"\x00binary");
    }
}

#[test]
fn mid_stream_only_acks_decides_by_port_at_the_end() {
    let mut f = Flow::between(ep("10.0.0.1", 40000), ep("10.0.0.2", 80), 1, 2);
    let p = vec![f.s_ack(), f.c_ack(), f.s_ack()];
    let c = run_cfg(mid_cfg(), &p);
    assert_eq!(c.facts.client, f.c);
    assert_eq!(c.facts.sides[0].packets, 1);
    assert_eq!(c.facts.sides[1].packets, 2);
    assert_eq!(c.facts.end, Timestamp::from_nanos(p[2].ts));
}

#[test]
fn backwards_timestamps_never_go_negative() {
    let mut f = Flow::new(1, 2);
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"ab"));
    let mut back = f.s_data(b"cd");
    back.ts -= 10 * MS; // before the client's data
    p.push(back);
    f.at(f.t + SEC);
    p.push(f.c_data(b"ef"));
    let mut back2 = f.c_ack();
    back2.ts -= 500 * MS;
    p.push(back2);
    let t = Sim::run_one(&p).facts;
    assert!(t.end >= t.start);
    assert_eq!(t.end, Timestamp::from_nanos(p[5].ts));
    let d1 = t.sides[1].first_data.unwrap();
    assert!(d1 >= t.sides[0].first_data.unwrap());
    // Longest silence: the 1 s step, not more, not negative.
    assert_eq!(t.idle_max_ns as i64, p[5].ts - p[3].ts);
    assert!(t.idle_max_ns < 2 * SEC as u64);
}

#[test]
fn idle_max_is_the_longest_silence() {
    let mut f = Flow::new(1, 2);
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"a"));
    f.at(f.t + 30 * SEC);
    p.push(f.s_data(b"b"));
    f.at(f.t + 5 * SEC);
    p.push(f.c_data(b"c"));
    let t = Sim::run_one(&p).facts;
    assert_eq!(t.idle_max_ns, 30 * SEC as u64 + MS as u64);
}

#[test]
fn mid_stream_stream_starts_at_the_peers_ack() {
    // The server's ACK shows where the client's stream stands; the
    // client's first segments arrive reordered: nothing is lost.
    let mut f = Flow::between(ep("10.0.0.1", 40000), ep("10.0.0.2", 80), 1000, 5000);
    let ack = f.s_ack();
    let a = f.c_data(b"GET /a");
    let b = f.c_data(b" HTTP/1.1\r\n");
    let c = run_cfg(mid_cfg(), &[ack.clone(), b.clone(), a.clone()]);
    assert_eq!(c.handler.text(TO_S), "GET /a HTTP/1.1\r\n");
    assert_eq!(c.facts.anomalies.retransmissions, 0);

    // If the first part never shows up it is a gap, not silence.
    let c = run_cfg(mid_cfg(), &[ack.clone(), b.clone()]);
    assert_eq!(c.handler.text(TO_S), "<gap 6> HTTP/1.1\r\n");

    // Bytes the receiver already acknowledged are old: a Windows
    // keepalive's garbage byte at ack - 1 never reaches the stream.
    let mut probe = Pkt::new(f.c, f.s);
    probe.seq = ack.ack.wrapping_sub(1);
    probe.ack = ack.seq;
    probe.payload = vec![0];
    probe.ts = ack.ts + MS;
    let mut later = a.clone();
    later.ts = ack.ts + 2 * MS;
    let c = run_cfg(mid_cfg(), &[ack, probe, later]);
    assert_eq!(c.handler.text(TO_S), "GET /a");
}

#[test]
fn ipv6_connection() {
    let mut f = Flow::between(ep("2001:db8::1", 51000), ep("2001:db8::2", 443), 9, 99);
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"hello"));
    p.push(f.s_fin());
    p.push(f.c_fin());
    p.push(f.s_ack());
    let c = Sim::run_one(&p);
    assert_eq!(c.facts.client, f.c);
    assert_eq!(c.facts.time_wait, Sides::Server);
    assert_eq!(c.handler.text(TO_S), "hello<fin>");
}

/// Tombstones past their linger neither absorb segments nor count against
/// the cap (`max_connections` also bounds tombstones), whether or not they
/// have been swept from memory yet.
#[test]
fn expired_tombstones_free_their_place_under_the_cap() {
    let cfg = TcpConfig {
        max_connections: 2,
        ..Sim::default_cfg() // linger 2 s
    };
    let mut sim = Sim::new(cfg);
    let close = |f: &mut Flow| {
        let mut p = f.handshake().to_vec();
        p.push(f.c_data(b"req"));
        p.push(f.s_fin());
        p.push(f.c_fin());
        p.push(f.s_ack());
        p
    };
    // Two closed connections fill the tombstone cap.
    let mut a = Flow::between(ep("10.0.0.1", 1001), ep("10.0.0.2", 80), 1, 2);
    let mut b = Flow::between(ep("10.0.0.1", 1002), ep("10.0.0.2", 80), 3, 4);
    let pa = close(&mut a);
    sim.feed_all(&pa);
    let pb = close(&mut b);
    sim.feed_all(&pb);
    assert_eq!(sim.done.len(), 2);
    // Later than the linger: a third closes and gets a tombstone, since
    // the first two expired.
    let mut c = Flow::between(ep("10.0.0.1", 1003), ep("10.0.0.2", 80), 5, 6);
    c.at(a.t + 5 * SEC);
    let pc = close(&mut c);
    sim.feed_all(&pc);
    assert_eq!(sim.done.len(), 3);
    let mut late_c = pc[pc.len() - 1].clone();
    late_c.ts += 100 * MS;
    sim.feed(&late_c);
    assert_eq!(sim.table.late_segments(), 1, "the new tombstone absorbs");
    assert_eq!(sim.table.len(), 0);
    // The expired tombstone of the first absorbs nothing: its late FIN
    // starts a connection.
    let mut late_a = pa[pa.len() - 1].clone();
    late_a.ts = late_c.ts + MS;
    sim.feed(&late_a);
    assert_eq!(sim.table.late_segments(), 1);
    assert_eq!(sim.table.len(), 1);
}

#[test]
fn connections_taken_in_place_come_out_as_popped() {
    // Three connections: one closed by FIN, one reset, one open at the end
    // of the capture; drained after every packet by `take_finished` in one
    // table and `pop_finished` in the other.
    let mut pkts = Vec::new();
    for (i, how) in ["fin", "rst", "open"].iter().enumerate() {
        let c = ep("10.0.0.1", 40_000 + i as u16);
        let mut f = Flow::between(c, ep("10.0.0.2", 80), 1000, 5000);
        f.at((i as i64 + 1) * SEC);
        pkts.extend(f.handshake());
        pkts.push(f.c_data(b"GET / HTTP/1.1\r\n\r\n"));
        pkts.push(f.s_data(b"HTTP/1.1 204 No Content\r\n\r\n"));
        match *how {
            "fin" => pkts.extend([f.c_fin(), f.s_fin(), f.c_ack()]),
            "rst" => pkts.push(f.s_rst()),
            _ => {}
        }
    }
    let summary = |facts: &TcpFacts, handler: &Rec, order: FinishOrder| {
        (facts.id, facts.end_state, order, handler.text(TO_S))
    };
    type Summary = (u64, EndState, FinishOrder, String);
    // Feeds every packet, ends the capture after the last, and drains the
    // table with `drain` after each.
    let run = |drain: &mut dyn FnMut(&mut FlowTable<Rec>, &mut Vec<Summary>)| {
        let mut sim = Sim::new(Sim::default_cfg());
        let mut out = Vec::new();
        for (i, p) in pkts.iter().enumerate() {
            sim.table.handle(&p.seg());
            if i == pkts.len() - 1 {
                sim.table.finish_all(Timestamp::from_nanos(100 * SEC));
            }
            drain(&mut sim.table, &mut out);
        }
        (sim, out)
    };
    let (mut taken, a) = run(&mut |t, out| {
        // Bounded, so a connection handed out twice fails, not hangs.
        out.extend(std::iter::from_fn(|| t.take_finished(|f, h, o| summary(f, h, o))).take(10));
    });
    let (_, b) = run(&mut |t, out| {
        while let Some(f) = t.pop_finished() {
            out.push(summary(&f.facts, &f.handler, f.order));
        }
    });
    assert_eq!(a.len(), 3);
    assert_eq!(a, b);
    assert_eq!(a[2].1, EndState::Open);
    assert_eq!(a[2].2.event, u64::MAX);
    assert!(taken.table.take_finished(|_, _, _| ()).is_none());
}

#[test]
fn a_finished_connection_waiting_in_its_slot_is_handed_out_once() {
    // One connection reset and left untaken, one open; then the end
    // of the capture, and a new connection after it that takes a slot. The
    // closed one waits in its slot: the end of the capture must not finish
    // it again, nor the new one reuse its slot before it is taken.
    let mut sim = Sim::new(Sim::default_cfg());
    let mut closed = Flow::between(ep("10.0.0.1", 40_000), ep("10.0.0.2", 80), 1000, 5000);
    closed.at(SEC);
    let mut open = Flow::between(ep("10.0.0.1", 40_001), ep("10.0.0.2", 80), 1000, 5000);
    open.at(2 * SEC);
    for p in closed.handshake() {
        sim.table.handle(&p.seg());
    }
    // A reset finishes it at once.
    sim.table.handle(&closed.s_rst().seg());
    for p in open.handshake() {
        sim.table.handle(&p.seg());
    }
    assert_eq!(sim.table.len(), 1);
    sim.table.finish_all(Timestamp::from_nanos(10 * SEC));
    let mut late = Flow::between(ep("10.0.0.1", 40_002), ep("10.0.0.2", 80), 1000, 5000);
    late.at(11 * SEC);
    sim.table.handle(&late.handshake()[0].seg());
    let drain = |t: &mut FlowTable<Rec>, ids: &mut Vec<u64>| {
        while let Some(id) = t.take_finished(|f, _, _| f.id) {
            ids.push(id);
            assert!(ids.len() <= 7, "{ids:?}");
        }
    };
    let mut ids = Vec::new();
    drain(&mut sim.table, &mut ids);
    // Both finished by then, each handed out once; the new connection is
    // open, in a slot of its own.
    assert_eq!(ids, [1, 2]);
    assert_eq!(sim.table.len(), 1);
    sim.table.finish_all(Timestamp::from_nanos(12 * SEC));
    drain(&mut sim.table, &mut ids);
    assert_eq!(ids, [1, 2, 3]);
    assert!(sim.table.is_empty());
    // Four more take the three freed slots and a new one: each its own (a
    // slot freed twice would be given to two, and one of them lost).
    for port in [40_003, 40_004, 40_005, 40_006] {
        let mut f = Flow::between(ep("10.0.0.1", port), ep("10.0.0.2", 80), 1000, 5000);
        f.at(13 * SEC);
        sim.table.handle(&f.handshake()[0].seg());
    }
    assert_eq!(sim.table.len(), 4);
    sim.table.finish_all(Timestamp::from_nanos(14 * SEC));
    drain(&mut sim.table, &mut ids);
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7]);
    assert!(sim.table.is_empty());
}
