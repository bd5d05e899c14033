//! Reassembly: order, retransmissions, overlaps, wraparound, capture loss,
//! snaplen cuts and buffer caps.

mod tcp_common;
use keepwatch::tcp::*;
use tcp_common::*;

/// Five client segments of different sizes, after a handshake.
fn five(f: &mut Flow) -> (Vec<Pkt>, Vec<u8>) {
    let parts: [&[u8]; 5] = [b"alpha-", b"beta-", b"gamma-", b"delta-", b"epsilon"];
    let mut segs = Vec::new();
    let mut off = 0u32;
    for p in parts {
        segs.push(f.c_data_at(off, p));
        off += p.len() as u32;
    }
    f.cnxt = f.cisn.wrapping_add(1).wrapping_add(off);
    (segs, parts.concat())
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn every_permutation_of_five_segments_gives_the_same_stream() {
    let perms = permutations(5);
    assert_eq!(perms.len(), 120);
    for perm in perms {
        let mut f = Flow::new(4_000_000_000, 77);
        let mut p = f.handshake().to_vec();
        let (segs, want) = five(&mut f);
        for &i in &perm {
            p.push(segs[i].clone());
        }
        p.push(f.c_fin());
        let c = Sim::run_one(&p);
        assert_eq!(c.handler.stream(TO_S), want, "{perm:?}");
        assert_eq!(c.handler.text(TO_S).matches("<fin>").count(), 1);
        assert!(c.handler.text(TO_S).ends_with("<fin>"));
        let a = c.facts.anomalies;
        assert_eq!((a.gaps, a.retransmissions), (0, 0), "{perm:?}");
        assert_eq!(a.out_of_order == 0, perm == [0, 1, 2, 3, 4], "{perm:?}");
        assert_eq!(c.facts.sides[0].stream_bytes, want.len() as u64);
    }
}

#[test]
fn permutations_with_the_fin_among_them() {
    for perm in permutations(4) {
        let mut f = Flow::new(10, 20);
        let mut p = f.handshake().to_vec();
        let segs = [
            f.c_data(b"one "),
            f.c_data(b"two "),
            f.c_data(b"three"),
            f.c_fin(),
        ];
        for &i in &perm {
            p.push(segs[i].clone());
        }
        let c = Sim::run_one(&p);
        assert_eq!(c.handler.text(TO_S), "one two three<fin>", "{perm:?}");
        assert_eq!(c.facts.anomalies.gaps, 0);
    }
}

/// Each kind of retransmission against delivered data: counted once per
/// segment, never delivered twice.
#[test]
fn retransmission_overlaps_of_each_kind() {
    // Delivered: "0123456789" at offsets 0..10.
    let kinds: [(&str, u32, &[u8], &str); 5] = [
        ("exact", 0, b"0123456789", "0123456789"),
        ("partial", 5, b"56789ABC", "0123456789ABC"),
        ("superset", 0, b"0123456789ABCDE", "0123456789ABCDE"),
        ("inside", 3, b"3456", "0123456789"),
        ("older prefix", 0, b"01", "0123456789"),
    ];
    for (name, off, data, want) in kinds {
        let mut f = Flow::new(500, 600);
        let mut p = f.handshake().to_vec();
        p.push(f.c_data(b"0123456789"));
        p.push(f.c_data_at(off, data));
        let c = Sim::run_one(&p);
        assert_eq!(c.handler.text(TO_S), want, "{name}");
        assert_eq!(c.facts.anomalies.retransmissions, 1, "{name}");
        assert_eq!(c.facts.anomalies.overlap_conflicts, 0, "{name}");
        assert_eq!(c.facts.anomalies.out_of_order, 0, "{name}");
        assert_eq!(c.facts.sides[0].bytes, 10 + data.len() as u64, "{name}");
        assert_eq!(c.facts.sides[0].stream_bytes, want.len() as u64, "{name}");
    }
}

/// Overlaps against data still held out of order: retransmissions of the
/// buffered bytes in each shape.
#[test]
fn retransmission_overlaps_against_buffered_data() {
    // Hole at 0..4 ("head"), buffered "ABCDEFGH" at 4..12.
    let kinds: [(&str, u32, &[u8], &str, u64); 4] = [
        ("exact", 4, b"ABCDEFGH", "headABCDEFGH", 1),
        ("partial", 8, b"EFGHijk", "headABCDEFGHijk", 1),
        // The superset also buffers "ad" at 2..4, which "head" overlaps.
        ("superset", 2, b"adABCDEFGHxy", "headABCDEFGHxy", 2),
        ("inside", 6, b"CDE", "headABCDEFGH", 1),
    ];
    for (name, off, data, want, retrans) in kinds {
        let mut f = Flow::new(500, 600);
        let mut p = f.handshake().to_vec();
        p.push(f.c_data_at(4, b"ABCDEFGH"));
        p.push(f.c_data_at(off, data));
        p.push(f.c_data_at(0, b"head"));
        let c = Sim::run_one(&p);
        assert_eq!(c.handler.text(TO_S), want, "{name}");
        assert_eq!(c.facts.anomalies.retransmissions, retrans, "{name}");
        assert_eq!(c.facts.anomalies.overlap_conflicts, 0, "{name}");
        assert_eq!(c.facts.anomalies.gaps, 0, "{name}");
    }
}

#[test]
fn conflicting_overlap_is_counted_and_first_copy_wins() {
    let mut f = Flow::new(1, 2);
    let mut p = f.handshake().to_vec();
    p.push(f.c_data_at(4, b"WXYZ")); // buffered behind a hole
    p.push(f.c_data_at(4, b"WxYz")); // differs in 2 bytes
    p.push(f.c_data_at(0, b"abcd"));
    let c = Sim::run_one(&p);
    assert_eq!(c.handler.stream(TO_S), b"abcdWXYZ");
    assert_eq!(c.facts.anomalies.overlap_conflicts, 2);
    assert_eq!(c.facts.anomalies.retransmissions, 1);
    assert_eq!(c.facts.anomalies.out_of_order, 1);
}

#[test]
fn sequence_wraparound_at_2_pow_32() {
    // ISN 6 below the wrap: data offsets 0..5 are below 2^32, the rest
    // wrap; out of order across the boundary too.
    let mut f = Flow::new(u32::MAX - 5, u32::MAX);
    let mut p = f.handshake().to_vec();
    let a = f.c_data(b"01234");
    let b = f.c_data(b"56789");
    let cc = f.c_data(b"abcde");
    assert!(a.seq > b.seq, "the second segment wraps");
    p.extend([a, cc, b]);
    p.push(f.s_data(b"response across the wrap"));
    p.push(f.c_fin());
    p.push(f.s_fin());
    p.push(f.c_ack());
    let c = Sim::run_one(&p);
    assert_eq!(c.handler.text(TO_S), "0123456789abcde<fin>");
    assert_eq!(c.handler.text(TO_C), "response across the wrap<fin>");
    assert_eq!(c.facts.end_state, EndState::Closed);
    assert_eq!(c.facts.time_wait, Sides::Client);
    assert_eq!(c.facts.anomalies.gaps, 0);
}

#[test]
fn capture_loss_with_peer_ack_beyond_the_hole() {
    let mut f = Flow::new(100, 200);
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"aaaa"));
    let _lost = f.c_data(b"bbbbbb"); // never captured
    p.push(f.c_data(b"cccc"));
    p.push(f.s_ack()); // acks all 14 bytes
    f.at(f.t + 100 * MS);
    p.push(f.c_data(b"dd"));
    let c = Sim::run_one(&p);
    assert_eq!(c.handler.text(TO_S), "aaaa<gap 6>ccccdd");
    // The gap is declared by the first segment after the reorder window,
    // before that segment's own bytes.
    let gap_at = c.handler.events.iter().position(|e| *e == Ev::Gap(TO_S, 6));
    assert_eq!(gap_at, Some(1));
    assert_eq!(c.handler.times[1], p[6].ts);
    assert_eq!(c.facts.anomalies.gaps, 1);
    assert_eq!(c.facts.anomalies.gap_bytes, 6);
    assert_eq!(c.facts.sides[0].stream_bytes, 10);
}

#[test]
fn ack_written_before_its_data_is_not_loss() {
    // A multi-queue capture wrote the server's ACK before the client's
    // segment it acknowledges, with a timestamp slightly earlier.
    let mut f = Flow::new(100, 200);
    let mut p = f.handshake().to_vec();
    let data = f.c_data(b"request");
    let mut ack = f.s_ack();
    ack.ts = data.ts - 50_000;
    p.push(ack);
    p.push(data);
    p.push(f.s_data(b"response"));
    let c = Sim::run_one(&p);
    assert_eq!(c.handler.text(TO_S), "request");
    assert_eq!(c.facts.anomalies.gaps, 0);
    assert_eq!(c.facts.anomalies.retransmissions, 0);
}

#[test]
fn ack_beyond_everything_seen() {
    let mut f = Flow::new(100, 200);
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"aaaa"));
    let _lost = f.c_data(b"bbb");
    p.push(f.s_ack());
    let c = Sim::run_one(&p);
    assert_eq!(c.handler.text(TO_S), "aaaa<gap 3>");
}

#[test]
fn hole_never_filled_before_fin_becomes_a_gap() {
    let mut f = Flow::new(100, 200);
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"head"));
    let _lost = f.c_data(b"12345");
    p.push(f.c_data(b"tail"));
    p.push(f.c_fin());
    let c = Sim::run_one(&p);
    assert_eq!(c.handler.text(TO_S), "head<gap 5>tail<fin>");
    assert_eq!(c.facts.anomalies.gap_bytes, 5);

    // Same, but the peer acknowledges the FIN: the gap comes at once.
    let mut f = Flow::new(100, 200);
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"head"));
    let _lost = f.c_data(b"12345");
    p.push(f.c_fin());
    p.push(f.s_ack());
    p.push(f.s_fin());
    p.push(f.c_ack());
    let c = Sim::run_one(&p);
    assert_eq!(c.handler.text(TO_S), "head<gap 5><fin>");
    assert_eq!(c.facts.end_state, EndState::Closed);
}

#[test]
fn hole_before_rst_becomes_a_gap_then_the_rst() {
    let mut f = Flow::new(100, 200);
    let mut p = f.handshake().to_vec();
    let _lost = f.c_data(b"xx");
    p.push(f.c_data(b"yy"));
    p.push(f.c_rst());
    let c = Sim::run_one(&p);
    assert_eq!(c.handler.text(TO_S), "<gap 2>yy<rst ToServer>");
}

#[test]
fn snaplen_cut_payload_is_data_then_gap() {
    let mut f = Flow::new(100, 200);
    let mut p = f.handshake().to_vec();
    let mut cut = f.c_data(b"HEAD_and_body_bytes");
    cut.payload.truncate(5);
    cut.missing = 14;
    p.push(cut);
    p.push(f.c_data(b"next"));
    let c = Sim::run_one(&p);
    assert_eq!(c.handler.text(TO_S), "HEAD_<gap 14>next");
    assert_eq!(c.facts.sides[0].bytes, 23);
    assert_eq!(c.facts.sides[0].stream_bytes, 9);
}

#[test]
fn out_of_order_flood_holds_the_buffer_caps() {
    let cfg = TcpConfig {
        max_buffer_per_connection: 4096,
        max_buffer_total: 10_000,
        ..Sim::default_cfg()
    };
    let mut sim = Sim::new(cfg);
    let mut flows: Vec<Flow> = (0..4)
        .map(|i| Flow::between(ep("10.0.0.1", 40000 + i), ep("10.0.0.2", 80), 1000, 2000))
        .collect();
    for f in &mut flows {
        sim.feed_all(&f.handshake());
    }
    // Each flow: the first byte never arrives, then 1000 segments of 100
    // bytes each, all behind the hole.
    let mut max_seen = 0;
    for k in 0..1000u32 {
        for f in &mut flows {
            let seg = f.c_data_at(1 + k * 100, &[b'x'; 100]);
            sim.feed(&seg);
            let b = sim.table.buffered_bytes();
            assert!(b <= 10_000, "total cap: {b}");
            max_seen = max_seen.max(b);
        }
    }
    assert!(max_seen > 4096, "several connections buffered at once");
    let hits = sim.table.limits_hit().max_buffer;
    assert!(hits > 0);
    sim.end(i64::MAX / 2);
    assert_eq!(sim.table.buffered_bytes(), 0);
    assert_eq!(sim.done.len(), 4);
    for c in &sim.done {
        // Every byte is accounted for: delivered or declared lost.
        let a = c.facts.anomalies;
        assert_eq!(c.facts.sides[0].stream_bytes + a.gap_bytes, 1 + 100_000);
        assert_eq!(c.facts.sides[0].stream_bytes, 100_000);
        assert_eq!(c.handler.gaps(TO_S)[0], 1);
    }
}

#[test]
fn per_connection_cap_alone() {
    let cfg = TcpConfig {
        max_buffer_per_connection: 250,
        ..Sim::default_cfg()
    };
    let mut sim = Sim::new(cfg);
    let mut f = Flow::new(1, 2);
    sim.feed_all(&f.handshake());
    sim.feed(&f.c_data_at(10, &[b'a'; 100]));
    sim.feed(&f.c_data_at(120, &[b'b'; 100]));
    assert_eq!(sim.table.buffered_bytes(), 200);
    sim.feed(&f.c_data_at(230, &[b'c'; 100])); // would hold 300 > 250
    assert_eq!(sim.table.limits_hit().max_buffer, 1);
    assert_eq!(sim.table.buffered_bytes(), 0);
    sim.end(i64::MAX / 2);
    let c = &sim.done[0];
    assert_eq!(
        c.handler.events,
        vec![
            Ev::Gap(TO_S, 10),
            Ev::Data(TO_S, vec![b'a'; 100]),
            Ev::Gap(TO_S, 10),
            Ev::Data(TO_S, vec![b'b'; 100]),
            Ev::Gap(TO_S, 10),
            Ev::Data(TO_S, vec![b'c'; 100]),
        ]
    );
}
