//! Random segments, in and out of window, with odd flags and timestamps
//! that jump both ways: the table must not panic, must hold its limits,
//! and must hand out self-consistent facts.

mod tcp_common;
use keepwatch::tcp::*;
use keepwatch::time::Timestamp;
use tcp_common::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn check(f: &Finished<Rec>) {
    let t = &f.facts;
    assert!(t.end >= t.start, "{t:?}");
    for s in &t.sides {
        if let (Some(a), Some(b)) = (s.first_data, s.last_data) {
            assert!(a <= b);
        }
        let k = &s.keepalive;
        assert!(k.acks + k.unanswered <= k.probes, "{k:?}");
        assert!(k.intervals_ns.len() as u64 <= k.probes);
    }
    // Delivered bytes match the recorded events, per direction.
    for (i, d) in [TO_S, TO_C].into_iter().enumerate() {
        assert_eq!(f.handler.stream(d).len() as u64, t.sides[i].stream_bytes);
    }
    let gaps: u64 = f
        .handler
        .events
        .iter()
        .filter_map(|e| match e {
            Ev::Gap(_, n) => Some(*n),
            _ => None,
        })
        .sum();
    assert_eq!(gaps, t.anomalies.gap_bytes);
    // At most one FIN and one RST event per direction, and nothing after
    // an RST.
    let mut rst_seen = false;
    for e in &f.handler.events {
        if rst_seen {
            panic!("event after RST: {e:?}");
        }
        if matches!(e, Ev::Rst(_)) {
            rst_seen = true;
        }
    }
    assert!(
        f.handler
            .events
            .iter()
            .filter(|e| **e == Ev::Fin(TO_S))
            .count()
            <= 1
    );
    assert!(
        f.handler
            .events
            .iter()
            .filter(|e| **e == Ev::Fin(TO_C))
            .count()
            <= 1
    );
}

#[test]
fn random_segments_never_break_the_table() {
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let cfg = TcpConfig {
            max_connections: 8,
            max_buffer_per_connection: 3000,
            max_buffer_total: 7000,
            close_linger: std::time::Duration::from_millis(50),
            server_ports: vec![8080],
            classify: |d| {
                if d.first() == Some(&b'G') {
                    PayloadHint::Request
                } else if d.first() == Some(&b'H') {
                    PayloadHint::Response
                } else {
                    PayloadHint::Unknown
                }
            },
        };
        let mut sim = Sim::new(cfg);
        let eps = [
            ep("10.0.0.1", 80),
            ep("10.0.0.2", 40000),
            ep("10.0.0.3", 8080),
            ep("::1", 443),
            ep("10.0.0.4", 0),
        ];
        let bases = [0u32, u32::MAX - 100, 1 << 31, 12345];
        let mut ts: i64 = 1_000_000_000;
        let mut payload = vec![0u8; 2000];
        for _ in 0..20_000 {
            let a = rng.below(eps.len() as u64) as usize;
            let mut b = rng.below(eps.len() as u64) as usize;
            if a == b {
                b = (b + 1) % eps.len();
            }
            let mut p = Pkt::new(eps[a], eps[b]);
            // Timestamps mostly forward, sometimes back, sometimes far.
            ts = match rng.below(20) {
                0 => ts - rng.below(5_000_000) as i64,
                1 => ts + rng.below(1 << 40) as i64,
                _ => ts + rng.below(2_000_000) as i64,
            };
            p.ts = ts;
            let base = bases[rng.below(bases.len() as u64) as usize];
            p.seq = if rng.below(10) == 0 {
                rng.next() as u32
            } else {
                base.wrapping_add(rng.below(6000) as u32)
            };
            p.ack = if rng.below(10) == 0 {
                rng.next() as u32
            } else {
                bases[rng.below(bases.len() as u64) as usize].wrapping_add(rng.below(6000) as u32)
            };
            p.flags = match rng.below(80) {
                0 => SYN,
                1 => SYN | ACK,
                2 => FIN | ACK,
                3 => RST,
                4 => RST | ACK,
                5 => rng.below(0x200) as u16,
                _ => ACK,
            };
            p.window = if rng.below(8) == 0 { 0 } else { 1000 };
            let len = match rng.below(4) {
                0 => 0,
                1 => 1,
                _ => rng.below(1500) as usize,
            };
            for x in payload.iter_mut().take(len) {
                *x = b"GH x"[rng.below(4) as usize];
            }
            p.payload = payload[..len].to_vec();
            p.missing = if rng.below(15) == 0 {
                rng.below(3000) as u32
            } else {
                0
            };
            sim.feed(&p);
            assert!(sim.table.len() <= 8);
            assert!(sim.table.buffered_bytes() <= 7000);
        }
        sim.end(ts);
        assert_eq!(sim.table.len(), 0);
        assert_eq!(sim.table.buffered_bytes(), 0);
        assert!(!sim.done.is_empty());
        let mut ids: Vec<u64> = sim.done.iter().map(|f| f.facts.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), sim.done.len(), "ids are unique");
        for f in &sim.done {
            check(f);
        }
        // The run reached the interesting paths.
        let sum = |g: fn(&TcpFacts) -> u64| sim.done.iter().map(|f| g(&f.facts)).sum::<u64>();
        assert!(sum(|t| t.anomalies.retransmissions) > 0);
        assert!(sum(|t| t.anomalies.out_of_order) > 0);
        assert!(sum(|t| t.anomalies.gaps) > 0);
        assert!(sum(|t| t.port_reuse as u64) > 0);
        assert!(sum(|t| (t.end_state == EndState::Reset) as u64) > 0);
        assert!(sum(|t| (t.end_state == EndState::Evicted) as u64) > 0);
        assert!(sim.table.limits_hit().max_connections > 0);
    }
}

#[test]
fn extreme_timestamps_saturate() {
    let mut sim = Sim::new(Sim::default_cfg());
    let mut f = Flow::new(1, 2);
    f.at(i64::MAX - 10 * MS);
    let mut p = f.handshake().to_vec();
    p.push(f.c_data(b"a"));
    let mut back = f.s_data(b"b");
    back.ts = i64::MIN;
    p.push(back);
    p.push(f.c_fin());
    sim.feed_all(&p);
    sim.table.advance(Timestamp::from_nanos(i64::MAX));
    sim.end(i64::MAX);
    assert_eq!(sim.done.len(), 1);
    assert!(sim.done[0].facts.end >= sim.done[0].facts.start);
}
