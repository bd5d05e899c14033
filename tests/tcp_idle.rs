//! `FlowTable::idle_since`: snapshots of idle open connections, once per
//! idle period, without ending, flushing or telling the handler anything.

mod tcp_common;
use keepwatch::decode::NetTag;
use keepwatch::tcp::*;
use keepwatch::time::Timestamp;
use tcp_common::*;

/// Ids and facts of what `idle_since(cutoff)` reports.
fn idle(sim: &mut Sim, cutoff: i64) -> Vec<TcpFacts> {
    let mut out = Vec::new();
    sim.table
        .idle_since(Timestamp::from_nanos(cutoff), |f, _| out.push(f.clone()));
    out
}

fn exchange(f: &mut Flow) -> Vec<Pkt> {
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"GET / HTTP/1.1\r\n\r\n"));
    p.push(f.s_data(b"HTTP/1.1 200 OK\r\n\r\n"));
    p.push(f.c_ack());
    p
}

#[test]
fn an_idle_connection_is_reported_once_per_idle_period() {
    let mut sim = Sim::new(Sim::default_cfg());
    let mut a = Flow::new(1000, 5000);
    a.at(100 * SEC);
    sim.feed_all(&exchange(&mut a));
    let mut b = Flow::between(ep("10.0.0.3", 40001), ep("10.0.0.2", 80), 7, 9);
    b.at(150 * SEC);
    sim.feed_all(&exchange(&mut b));

    // Only segments before the cutoff count as idle.
    assert!(idle(&mut sim, 100 * SEC).is_empty());
    let got = idle(&mut sim, 120 * SEC);
    assert_eq!(got.len(), 1);
    let snap = &got[0];
    assert_eq!(snap.id, 1);
    assert_eq!(snap.end, Timestamp::from_nanos(100 * SEC + 5 * MS));
    assert_eq!(snap.end_state, EndState::Open);
    assert_eq!(snap.sides[0].packets, 4);
    assert_eq!(snap.sides[1].packets, 2);
    assert_eq!(snap.sides[0].stream_bytes, 18);
    // The same idle period is not reported again, however late the cutoff;
    // the other connection is, once it is idle too.
    let got = idle(&mut sim, 1000 * SEC);
    assert_eq!(got.iter().map(|f| f.id).collect::<Vec<_>>(), vec![2]);
    assert!(idle(&mut sim, 2000 * SEC).is_empty());

    // Nothing was ended or told to the handler.
    sim.collect();
    assert!(sim.done.is_empty());
    assert_eq!(sim.table.len(), 2);

    // Activity (a keepalive probe counts: any segment) ends the idle period;
    // the next one is reported again.
    a.at(3000 * SEC);
    sim.feed(&a.c_keepalive(0));
    assert!(idle(&mut sim, 3000 * SEC).is_empty());
    let got = idle(&mut sim, 4000 * SEC);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, 1);
    assert_eq!(got[0].end, Timestamp::from_nanos(3000 * SEC));
    assert_eq!(got[0].sides[0].keepalive.probes, 1);
    // The probe is outstanding: counted unanswered, as at the end.
    assert_eq!(got[0].sides[0].keepalive.unanswered, 1);

    // The snapshot is the final facts, had the connection ended there.
    let snap = got[0].clone();
    sim.end(5000 * SEC);
    let fin = sim.done.iter().find(|f| f.facts.id == 1).unwrap();
    assert_eq!(fin.facts, snap);
    // The handler heard of the data once, and never of an idle report.
    assert_eq!(fin.handler.text(TO_S), "GET / HTTP/1.1\r\n\r\n");
}

#[test]
fn buffered_out_of_order_data_stays_buffered() {
    let mut sim = Sim::new(Sim::default_cfg());
    let mut a = Flow::new(1000, 5000);
    a.at(100 * SEC);
    let mut p = a.handshake().to_vec();
    p.push(a.c_data_at(4, b"rest"));
    sim.feed_all(&p);
    assert_eq!(sim.table.buffered_bytes(), 4);
    let got = idle(&mut sim, 200 * SEC);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].sides[0].stream_bytes, 0);
    assert_eq!(got[0].anomalies.gaps, 0);
    assert_eq!(sim.table.buffered_bytes(), 4);
    // The hole is filled later: the stream is whole.
    a.at(300 * SEC);
    sim.feed(&a.c_data_at(0, b"GET "));
    sim.end(400 * SEC);
    assert_eq!(sim.done[0].handler.text(TO_S), "GET rest");
    assert_eq!(sim.done[0].facts.anomalies.gaps, 0);
}

#[test]
fn closed_and_undecided_connections_are_not_reported() {
    let mut sim = Sim::new(TcpConfig {
        close_linger: std::time::Duration::from_secs(1000),
        ..Sim::default_cfg()
    });
    // Closed: finished at once.
    let mut a = Flow::new(1000, 5000);
    a.at(100 * SEC);
    let mut p = exchange(&mut a);
    p.push(a.c_fin());
    p.push(a.s_fin());
    p.push(a.c_ack());
    sim.feed_all(&p);
    // Mid-stream, only a pure ACK seen: client and server unknown.
    let mut b = Flow::between(ep("10.0.0.3", 40001), ep("10.0.0.2", 80), 7, 9);
    b.at(100 * SEC);
    sim.feed(&b.c_ack());
    // The closed one was finished at its close (only a tombstone is left).
    assert_eq!(sim.table.len(), 1);
    assert!(idle(&mut sim, 500 * SEC).is_empty());
    // Once the direction is known, it is.
    b.at(600 * SEC);
    sim.feed(&b.c_data(b"GET / HTTP/1.1\r\n\r\n"));
    let got = idle(&mut sim, 700 * SEC);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, 2);
    assert!(got[0].mid_stream);
    assert_eq!(got[0].sides[0].packets, 2);
}

#[test]
fn idle_since_on_an_empty_table_and_a_full_one() {
    let mut sim = Sim::new(TcpConfig {
        max_connections: 3,
        ..Sim::default_cfg()
    });
    assert!(idle(&mut sim, i64::MAX).is_empty());
    for i in 0..5u16 {
        let mut f = Flow::between(ep("10.0.0.1", 40000 + i), ep("10.0.0.2", 80), 1, 2);
        f.at(i64::from(i) * SEC);
        sim.feed_all(&exchange(&mut f));
    }
    // The two oldest were evicted; the rest are idle, oldest first.
    let got = idle(&mut sim, i64::MAX);
    assert_eq!(got.iter().map(|f| f.id).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert!(got.iter().all(|f| f.tag == NetTag::default()));
}
