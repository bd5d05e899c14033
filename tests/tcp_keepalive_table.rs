//! TCP keepalive and zero-window probes; the flow table's limits and order.

mod tcp_common;
use keepwatch::tcp::*;
use keepwatch::time::Timestamp;
use tcp_common::*;

/// Handshake and one request/response, then the clock at `idle_from`.
fn opened(f: &mut Flow) -> Vec<Pkt> {
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"GET / HTTP/1.1\r\n\r\n"));
    p.push(f.s_data(b"HTTP/1.1 200 OK\r\n\r\n"));
    p.push(f.c_ack());
    p
}

#[test]
fn linux_zero_byte_probes_answered() {
    let mut f = Flow::new(1000, 2000);
    f.at(100 * SEC);
    let mut p = opened(&mut f);
    let last = p.last().unwrap().ts;
    // tcp_keepalive_time 60 s: each answered probe restarts the idle timer.
    for k in 1..=3 {
        f.at(last + k * 60 * SEC);
        p.push(f.c_keepalive(0));
        p.push(f.s_ack());
    }
    f.at(last + 200 * SEC);
    p.push(f.c_data(b"GET /again HTTP/1.1\r\n\r\n"));
    let c = Sim::run_one(&p);
    let ka = &c.facts.sides[0].keepalive;
    assert_eq!(ka.probes, 3);
    assert_eq!(ka.acks, 3);
    assert_eq!(ka.unanswered, 0);
    assert_eq!(ka.first_after_idle_ns, Some(60 * SEC as u64));
    assert_eq!(ka.intervals_ns, vec![60 * SEC as u64, 60 * SEC as u64]);
    assert!(!ka.ended_in_rst);
    assert_eq!(c.facts.sides[1].keepalive, KeepaliveFacts::default());
    // Probes and their ACKs are not activity: one silence of 200 s.
    assert_eq!(c.facts.idle_max_ns, 200 * SEC as u64);
    assert_eq!(c.facts.anomalies.retransmissions, 0);
    assert_eq!(
        c.handler.stream(TO_S),
        b"GET / HTTP/1.1\r\n\r\nGET /again HTTP/1.1\r\n\r\n"
    );
}

#[test]
fn windows_one_byte_probes_never_reach_the_stream() {
    let mut f = Flow::new(1000, 2000);
    let mut p = opened(&mut f);
    let last = p.last().unwrap().ts;
    for k in 1..=2 {
        f.at(last + k * 7200 * SEC);
        let mut probe = f.c_keepalive(1);
        probe.payload = vec![0xAB]; // garbage, not the last byte sent
        p.push(probe);
        p.push(f.s_ack());
    }
    p.push(f.c_data(b"more"));
    let c = Sim::run_one(&p);
    let t = &c.facts;
    assert_eq!(t.sides[0].keepalive.probes, 2);
    assert_eq!(t.sides[0].keepalive.acks, 2);
    assert_eq!(t.anomalies.retransmissions, 0);
    assert_eq!(t.anomalies.overlap_conflicts, 0);
    assert_eq!(c.handler.stream(TO_S), b"GET / HTTP/1.1\r\n\r\nmore");
    assert_eq!(t.sides[0].bytes, 18 + 2 + 4);
}

#[test]
fn unanswered_probes_end_in_rst_dead_peer() {
    let mut f = Flow::new(1000, 2000);
    let mut p = opened(&mut f);
    let last = p.last().unwrap().ts;
    // TCP_KEEPIDLE 1 s, TCP_KEEPINTVL 1 s, TCP_KEEPCNT 3; the peer is gone.
    for k in 0..3 {
        f.at(last + SEC + k * SEC);
        p.push(f.c_keepalive(0));
    }
    f.at(last + 4 * SEC);
    p.push(f.c_rst());
    let c = Sim::run_one(&p);
    let t = &c.facts;
    let ka = &t.sides[0].keepalive;
    assert_eq!(ka.probes, 3);
    assert_eq!(ka.acks, 0);
    assert_eq!(ka.unanswered, 3);
    assert_eq!(ka.first_after_idle_ns, Some(SEC as u64));
    assert_eq!(ka.intervals_ns, vec![SEC as u64, SEC as u64]);
    assert!(ka.ended_in_rst);
    assert_eq!(t.end_state, EndState::Reset);
    assert_eq!(t.first_rst.unwrap().by, Side::Client);
    assert_eq!(t.idle_max_ns, 4 * SEC as u64);
}

#[test]
fn server_side_probes_are_kept_apart() {
    let mut f = Flow::new(1000, 2000);
    let mut p = opened(&mut f);
    let last = p.last().unwrap().ts;
    f.at(last + 75 * SEC);
    p.push(f.s_keepalive(0));
    p.push(f.c_ack());
    f.at(last + 150 * SEC);
    p.push(f.s_keepalive(0)); // unanswered at the end of the capture
    let t = Sim::run_one(&p).facts;
    let ka = &t.sides[1].keepalive;
    assert_eq!((ka.probes, ka.acks, ka.unanswered), (2, 1, 1));
    assert!(!ka.ended_in_rst);
    assert_eq!(t.sides[0].keepalive.probes, 0);
}

#[test]
fn probe_with_a_moved_ack_is_not_keepalive() {
    // Suricata's rule: the ACK must equal the sender's previous ACK.
    let mut f = Flow::new(1000, 2000);
    let mut p = opened(&mut f);
    let mut probe = f.c_keepalive(0);
    probe.ack = probe.ack.wrapping_add(1);
    p.push(probe);
    let t = Sim::run_one(&p).facts;
    assert_eq!(t.sides[0].keepalive.probes, 0);
}

#[test]
fn keepalive_picked_up_mid_stream() {
    // The capture starts on an idle connection: only probes and ACKs.
    let mut f = Flow::between(ep("10.0.0.1", 40000), ep("10.0.0.2", 80), 5000, 9000);
    let mut p = Vec::new();
    for k in 0..4 {
        f.at(10 * SEC + k * 60 * SEC);
        p.push(f.c_keepalive(0));
        p.push(f.s_ack());
    }
    let c = Sim::run_one(&p);
    let t = &c.facts;
    assert_eq!(t.client, f.c);
    // The first probe cannot be told from a pure ACK: nothing shows the
    // sender's next sequence number yet.
    assert_eq!(t.sides[0].keepalive.probes, 3);
    assert_eq!(t.sides[0].keepalive.acks, 3);
    assert_eq!(t.sides[0].packets, 4);
    assert!(c.handler.events.is_empty());
    // Only probes after the first ACK: the silence runs to the last one.
    assert_eq!(t.idle_max_ns, 180 * SEC as u64);
}

#[test]
fn zero_window_probes_are_not_keepalive() {
    let mut f = Flow::new(1000, 2000);
    let mut p = opened(&mut f);
    p.push(f.s_ack().window(0)); // receiver full
                                 // Linux-style probe (0 bytes at next - 1) and a 1-byte probe carrying
                                 // the next byte.
    f.at(f.t + 200 * MS);
    p.push(f.c_keepalive(0));
    p.push(f.s_ack().window(0));
    f.at(f.t + 400 * MS);
    let mut zwp = f.c_data(b"N");
    zwp.flags = ACK;
    p.push(zwp);
    p.push(f.s_ack().window(1000));
    p.push(f.c_data(b"ext"));
    let c = Sim::run_one(&p);
    let t = &c.facts;
    assert_eq!(t.anomalies.zero_window_probes, 2);
    assert_eq!(t.sides[0].keepalive.probes, 0);
    assert_eq!(t.sides[0].keepalive.acks, 0);
    assert_eq!(c.handler.stream(TO_S), b"GET / HTTP/1.1\r\n\r\nNext");
}

#[test]
fn syn_flood_holds_max_connections() {
    let cfg = TcpConfig {
        max_connections: 1000,
        ..Sim::default_cfg()
    };
    let mut table: FlowTable<Rec> = FlowTable::new(cfg, Box::new(Rec::default));
    let server = ep("192.168.0.1", 80);
    let mut evicted = 0u64;
    let mut last_id = 0;
    for i in 0..200_000u32 {
        let client = keepwatch::decode::Endpoint {
            ip: std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i / 50_000)),
            port: 1024 + (i % 50_000) as u16,
        };
        let mut p = Pkt::new(client, server);
        p.flags = SYN;
        p.seq = i.wrapping_mul(2_654_435_761);
        p.ts = i as i64 * 1_000;
        table.handle(&p.seg());
        assert!(table.len() <= 1000);
        while let Some(f) = table.pop_finished() {
            assert_eq!(f.facts.end_state, EndState::Evicted);
            assert!(f.facts.id > last_id, "finished in order");
            last_id = f.facts.id;
            evicted += 1;
        }
    }
    assert_eq!(table.len(), 1000);
    assert_eq!(evicted, 199_000);
    assert_eq!(table.limits_hit().max_connections, 199_000);
    table.finish_all(Timestamp::from_nanos(1 << 40));
    let mut rest = 0;
    while let Some(f) = table.pop_finished() {
        assert_eq!(f.facts.end_state, EndState::Open);
        assert_eq!(f.facts.sides[0].packets, 1);
        rest += 1;
    }
    assert_eq!(rest, 1000);
    assert!(table.is_empty());
}

#[test]
fn eviction_takes_the_least_recently_active() {
    let cfg = TcpConfig {
        max_connections: 2,
        ..Sim::default_cfg()
    };
    let mut sim = Sim::new(cfg);
    let mut a = Flow::between(ep("10.0.0.1", 1111), ep("10.0.0.9", 80), 1, 2);
    let mut b = Flow::between(ep("10.0.0.2", 2222), ep("10.0.0.9", 80), 1, 2);
    let mut c = Flow::between(ep("10.0.0.3", 3333), ep("10.0.0.9", 80), 1, 2);
    sim.feed(&a.syn());
    b.at(a.t);
    sim.feed(&b.syn());
    a.at(b.t);
    sim.feed(&a.syn_ack()); // a is now the most recent
    c.at(a.t);
    sim.feed(&c.syn());
    assert_eq!(sim.done.len(), 1);
    assert_eq!(sim.done[0].facts.client, b.c);
    assert_eq!(sim.done[0].facts.end_state, EndState::Evicted);
    assert_eq!(sim.table.limits_hit().max_connections, 1);
    assert_eq!(sim.table.len(), 2);
}

#[test]
fn a_lingering_closed_victim_keeps_its_end_state() {
    let cfg = TcpConfig {
        max_connections: 1,
        ..Sim::default_cfg()
    };
    let mut sim = Sim::new(cfg);
    let mut a = Flow::between(ep("10.0.0.1", 1111), ep("10.0.0.9", 80), 1, 2);
    sim.feed_all(&a.handshake());
    sim.feed_all(&[a.c_fin(), a.s_fin(), a.c_ack()]);
    let mut b = Flow::between(ep("10.0.0.2", 2222), ep("10.0.0.9", 80), 1, 2);
    b.at(a.t);
    sim.feed(&b.syn());
    assert_eq!(sim.done.len(), 1);
    assert_eq!(sim.done[0].facts.end_state, EndState::Closed);
    assert_eq!(sim.table.limits_hit().max_connections, 0);
}

#[test]
fn finished_in_the_order_they_ended() {
    let mut sim = Sim::new(Sim::default_cfg());
    let mut a = Flow::between(ep("10.0.0.1", 1111), ep("10.0.0.9", 80), 1, 2);
    let mut b = Flow::between(ep("10.0.0.2", 2222), ep("10.0.0.9", 80), 1, 2);
    let mut c = Flow::between(ep("10.0.0.3", 3333), ep("10.0.0.9", 80), 1, 2);
    for f in [&mut a, &mut b, &mut c] {
        f.at(SEC);
    }
    sim.feed_all(&a.handshake());
    sim.feed_all(&b.handshake());
    sim.feed_all(&c.handshake());
    b.at(2 * SEC);
    sim.feed(&b.c_rst()); // b ends first
    a.at(3 * SEC);
    sim.feed_all(&[a.c_fin(), a.s_fin(), a.c_ack()]); // then a
    sim.end(100 * SEC); // c at the end of the capture
    let ids: Vec<u64> = sim.done.iter().map(|f| f.facts.id).collect();
    assert_eq!(ids, vec![2, 1, 3]);
    let states: Vec<EndState> = sim.done.iter().map(|f| f.facts.end_state).collect();
    assert_eq!(
        states,
        vec![EndState::Reset, EndState::Closed, EndState::Open]
    );
}

#[test]
fn vlan_copies_are_separate_connections() {
    let mut sim = Sim::new(Sim::default_cfg());
    let mut f = Flow::new(1, 2);
    let syn = f.syn();
    let mut other = syn.clone();
    other.tag.vlan = Some(10);
    sim.feed(&syn);
    sim.feed(&other);
    assert_eq!(sim.table.len(), 2);
}
