//! Keepalive probes from the real Linux stack (kernel of the build machine),
//! recorded on a veth pair between two network namespaces:
//!
//! - client: python3 socket, SO_KEEPALIVE, TCP_KEEPIDLE=1, TCP_KEEPINTVL=1,
//!   TCP_KEEPCNT=3; sends "ping", gets "pong", idles 4.5 s, closes;
//! - second connection: the same, then an nft rule in the server namespace
//!   drops everything to the server port (a dead peer) until the client's
//!   kernel gives up (ETIMEDOUT) and resets.
//!
//! `tcpdump -i kwtA` on the client side; the rows below are that capture
//! as printed by `tshark -T fields` (epoch ns, endpoints, absolute
//! seq/ack, flags, raw window, payload). `tshark -Y tcp.analysis.keep_alive`
//! flags frames 8, 10, 12, 14 (stream 0) and 27, 28, 29 (stream 1), and
//! `tcp.analysis.keep_alive_ack` frames 9, 11, 13, 15: the same counts as
//! below, and `tcp.connection.fin_active` marks frame 16 (the client).
//!
//! `ZW_ROWS` is a third capture on the same pair: the server sets
//! SO_RCVBUF 4096 and never reads, the client (keepalive on, idle 1 s)
//! writes until the window closes; the kernel then sends zero-window probes
//! (0 bytes at snd_una - 1, backing off) and the server finally resets.
//! Payload bytes were all `x`; only their count is kept. tshark 4.0 flags
//! the four probes (frames 10, 12, 13, 15) as `tcp.analysis.keep_alive`,
//! because its keep-alive test does not look at the peer's zero window;
//! keepwatch counts them as zero-window probes and not as keepalive (a
//! deliberate difference: Linux sends no keepalive while data is queued).

mod tcp_common;
use keepwatch::tcp::*;
use tcp_common::*;

type Row = (
    i64,
    &'static str,
    u16,
    &'static str,
    u16,
    u32,
    u32,
    u16,
    u16,
    &'static [u8],
);

const ROWS: &[Row] = &[
    (
        1795315856311712000,
        "10.77.0.1",
        56634,
        "10.77.0.2",
        9101,
        2946262856,
        0,
        0x002,
        64240,
        b"",
    ),
    (
        1795315856311726000,
        "10.77.0.2",
        9101,
        "10.77.0.1",
        56634,
        2988534177,
        2946262857,
        0x012,
        65160,
        b"",
    ),
    (
        1795315856311737000,
        "10.77.0.1",
        56634,
        "10.77.0.2",
        9101,
        2946262857,
        2988534178,
        0x010,
        63,
        b"",
    ),
    (
        1795315856311756000,
        "10.77.0.1",
        56634,
        "10.77.0.2",
        9101,
        2946262857,
        2988534178,
        0x018,
        63,
        b"ping",
    ),
    (
        1795315856311760000,
        "10.77.0.2",
        9101,
        "10.77.0.1",
        56634,
        2988534178,
        2946262861,
        0x010,
        64,
        b"",
    ),
    (
        1795315856311895000,
        "10.77.0.2",
        9101,
        "10.77.0.1",
        56634,
        2988534178,
        2946262861,
        0x018,
        64,
        b"pong",
    ),
    (
        1795315856311909000,
        "10.77.0.1",
        56634,
        "10.77.0.2",
        9101,
        2946262861,
        2988534182,
        0x010,
        63,
        b"",
    ),
    (
        1795315857340510000,
        "10.77.0.1",
        56634,
        "10.77.0.2",
        9101,
        2946262860,
        2988534182,
        0x010,
        63,
        b"",
    ),
    (
        1795315857340538000,
        "10.77.0.2",
        9101,
        "10.77.0.1",
        56634,
        2988534182,
        2946262861,
        0x010,
        64,
        b"",
    ),
    (
        1795315858364508000,
        "10.77.0.1",
        56634,
        "10.77.0.2",
        9101,
        2946262860,
        2988534182,
        0x010,
        63,
        b"",
    ),
    (
        1795315858364546000,
        "10.77.0.2",
        9101,
        "10.77.0.1",
        56634,
        2988534182,
        2946262861,
        0x010,
        64,
        b"",
    ),
    (
        1795315859392508000,
        "10.77.0.1",
        56634,
        "10.77.0.2",
        9101,
        2946262860,
        2988534182,
        0x010,
        63,
        b"",
    ),
    (
        1795315859392538000,
        "10.77.0.2",
        9101,
        "10.77.0.1",
        56634,
        2988534182,
        2946262861,
        0x010,
        64,
        b"",
    ),
    (
        1795315860412498000,
        "10.77.0.1",
        56634,
        "10.77.0.2",
        9101,
        2946262860,
        2988534182,
        0x010,
        63,
        b"",
    ),
    (
        1795315860412532000,
        "10.77.0.2",
        9101,
        "10.77.0.1",
        56634,
        2988534182,
        2946262861,
        0x010,
        64,
        b"",
    ),
    (
        1795315860812072000,
        "10.77.0.1",
        56634,
        "10.77.0.2",
        9101,
        2946262861,
        2988534182,
        0x011,
        63,
        b"",
    ),
    (
        1795315860852512000,
        "10.77.0.2",
        9101,
        "10.77.0.1",
        56634,
        2988534182,
        2946262862,
        0x010,
        64,
        b"",
    ),
    (
        1795315862312105000,
        "10.77.0.2",
        9101,
        "10.77.0.1",
        56634,
        2988534182,
        2946262862,
        0x011,
        64,
        b"",
    ),
    (
        1795315862312124000,
        "10.77.0.1",
        56634,
        "10.77.0.2",
        9101,
        2946262862,
        2988534183,
        0x010,
        63,
        b"",
    ),
    (
        1795315863401048000,
        "10.77.0.1",
        38292,
        "10.77.0.2",
        9102,
        1933593210,
        0,
        0x002,
        64240,
        b"",
    ),
    (
        1795315863401079000,
        "10.77.0.2",
        9102,
        "10.77.0.1",
        38292,
        1261267295,
        1933593211,
        0x012,
        65160,
        b"",
    ),
    (
        1795315863401095000,
        "10.77.0.1",
        38292,
        "10.77.0.2",
        9102,
        1933593211,
        1261267296,
        0x010,
        63,
        b"",
    ),
    (
        1795315863401128000,
        "10.77.0.1",
        38292,
        "10.77.0.2",
        9102,
        1933593211,
        1261267296,
        0x018,
        63,
        b"ping",
    ),
    (
        1795315863401134000,
        "10.77.0.2",
        9102,
        "10.77.0.1",
        38292,
        1261267296,
        1933593215,
        0x010,
        64,
        b"",
    ),
    (
        1795315863401259000,
        "10.77.0.2",
        9102,
        "10.77.0.1",
        38292,
        1261267296,
        1933593215,
        0x018,
        64,
        b"pong",
    ),
    (
        1795315863401263000,
        "10.77.0.1",
        38292,
        "10.77.0.2",
        9102,
        1933593215,
        1261267300,
        0x010,
        63,
        b"",
    ),
    (
        1795315864412525000,
        "10.77.0.1",
        38292,
        "10.77.0.2",
        9102,
        1933593214,
        1261267300,
        0x010,
        63,
        b"",
    ),
    (
        1795315865436503000,
        "10.77.0.1",
        38292,
        "10.77.0.2",
        9102,
        1933593214,
        1261267300,
        0x010,
        63,
        b"",
    ),
    (
        1795315866460517000,
        "10.77.0.1",
        38292,
        "10.77.0.2",
        9102,
        1933593214,
        1261267300,
        0x010,
        63,
        b"",
    ),
    (
        1795315867484527000,
        "10.77.0.1",
        38292,
        "10.77.0.2",
        9102,
        1933593215,
        1261267300,
        0x014,
        63,
        b"",
    ),
];

type LenRow = (
    i64,
    &'static str,
    u16,
    &'static str,
    u16,
    u32,
    u32,
    u16,
    u16,
    usize,
);

const ZW_ROWS: &[LenRow] = &[
    (
        1795315922400043000,
        "10.77.0.1",
        59700,
        "10.77.0.2",
        9103,
        202483783,
        0,
        0x002,
        64240,
        0,
    ),
    (
        1795315922400070000,
        "10.77.0.2",
        9103,
        "10.77.0.1",
        59700,
        2530341420,
        202483784,
        0x012,
        2896,
        0,
    ),
    (
        1795315922400083000,
        "10.77.0.1",
        59700,
        "10.77.0.2",
        9103,
        202483784,
        2530341421,
        0x010,
        63,
        0,
    ),
    (
        1795315922400250000,
        "10.77.0.1",
        59700,
        "10.77.0.2",
        9103,
        202483784,
        2530341421,
        0x010,
        63,
        1448,
    ),
    (
        1795315922400254000,
        "10.77.0.2",
        9103,
        "10.77.0.1",
        59700,
        2530341421,
        202485232,
        0x010,
        2896,
        0,
    ),
    (
        1795315922400257000,
        "10.77.0.1",
        59700,
        "10.77.0.2",
        9103,
        202485232,
        2530341421,
        0x018,
        63,
        1448,
    ),
    (
        1795315922400269000,
        "10.77.0.1",
        59700,
        "10.77.0.2",
        9103,
        202486680,
        2530341421,
        0x010,
        63,
        1448,
    ),
    (
        1795315922404504000,
        "10.77.0.1",
        59700,
        "10.77.0.2",
        9103,
        202486680,
        2530341421,
        0x010,
        63,
        1448,
    ),
    (
        1795315922440514000,
        "10.77.0.2",
        9103,
        "10.77.0.1",
        59700,
        2530341421,
        202488128,
        0x010,
        0,
        0,
    ),
    (
        1795315922652506000,
        "10.77.0.1",
        59700,
        "10.77.0.2",
        9103,
        202488127,
        2530341421,
        0x010,
        63,
        0,
    ),
    (
        1795315922652539000,
        "10.77.0.2",
        9103,
        "10.77.0.1",
        59700,
        2530341421,
        202488128,
        0x010,
        0,
        0,
    ),
    (
        1795315923100510000,
        "10.77.0.1",
        59700,
        "10.77.0.2",
        9103,
        202488127,
        2530341421,
        0x010,
        63,
        0,
    ),
    (
        1795315923964510000,
        "10.77.0.1",
        59700,
        "10.77.0.2",
        9103,
        202488127,
        2530341421,
        0x010,
        63,
        0,
    ),
    (
        1795315923964545000,
        "10.77.0.2",
        9103,
        "10.77.0.1",
        59700,
        2530341421,
        202488128,
        0x010,
        0,
        0,
    ),
    (
        1795315925660507000,
        "10.77.0.1",
        59700,
        "10.77.0.2",
        9103,
        202488127,
        2530341421,
        0x010,
        63,
        0,
    ),
    (
        1795315925660533000,
        "10.77.0.2",
        9103,
        "10.77.0.1",
        59700,
        2530341421,
        202488128,
        0x010,
        0,
        0,
    ),
    (
        1795315928400348000,
        "10.77.0.2",
        9103,
        "10.77.0.1",
        59700,
        2530341421,
        202488128,
        0x014,
        2896,
        0,
    ),
];

fn run() -> Vec<Finished<Rec>> {
    let mut sim = Sim::new(Sim::default_cfg());
    for &(ts, s, sp, d, dp, seq, ack, flags, win, payload) in ROWS {
        let mut p = Pkt::new(ep(s, sp), ep(d, dp));
        p.ts = ts;
        p.seq = seq;
        p.ack = ack;
        p.flags = flags;
        p.window = win;
        p.payload = payload.to_vec();
        sim.feed(&p);
    }
    sim.end(ROWS[ROWS.len() - 1].0);
    sim.done
}

fn within_10_percent(ns: u64, want_ns: u64) -> bool {
    let diff = ns.abs_diff(want_ns);
    diff * 10 <= want_ns
}

#[test]
fn linux_probes_answered_give_back_the_settings() {
    let done = run();
    assert_eq!(done.len(), 2);
    let c = &done[0];
    let t = &c.facts;
    assert_eq!(t.client, ep("10.77.0.1", 56634));
    let ka = &t.sides[0].keepalive;
    assert_eq!((ka.probes, ka.acks, ka.unanswered), (4, 4, 0));
    assert!(!ka.ended_in_rst);
    // TCP_KEEPIDLE = 1 s: the first probe after 1 s of silence, and each
    // answered probe restarts the idle timer.
    assert!(within_10_percent(
        ka.first_after_idle_ns.unwrap(),
        1_000_000_000
    ));
    assert_eq!(ka.intervals_ns.len(), 3);
    for &i in &ka.intervals_ns {
        assert!(within_10_percent(i, 1_000_000_000), "{i}");
    }
    assert_eq!(t.sides[1].keepalive.probes, 0);
    assert_eq!(t.anomalies, Anomalies::default());
    assert_eq!(c.handler.text(TO_S), "ping<fin>");
    assert_eq!(c.handler.text(TO_C), "pong<fin>");
    assert_eq!(t.first_fin.unwrap().by, Side::Client);
    assert_eq!(t.time_wait, Sides::Client);
    assert_eq!(t.end_state, EndState::Closed);
    // Probes are not activity: the silence runs from "pong"'s ACK to the
    // FIN, about 4.5 s.
    assert!(within_10_percent(t.idle_max_ns, 4_500_000_000));
}

#[test]
fn linux_dead_peer_probes_unanswered_then_rst() {
    let done = run();
    let t = &done[1].facts;
    assert_eq!(t.client, ep("10.77.0.1", 38292));
    let ka = &t.sides[0].keepalive;
    // TCP_KEEPCNT = 3 probes, none answered, then the kernel resets.
    assert_eq!((ka.probes, ka.acks, ka.unanswered), (3, 0, 3));
    assert!(ka.ended_in_rst);
    assert!(within_10_percent(
        ka.first_after_idle_ns.unwrap(),
        1_000_000_000
    ));
    assert_eq!(ka.intervals_ns.len(), 2);
    for &i in &ka.intervals_ns {
        assert!(within_10_percent(i, 1_000_000_000), "{i}");
    }
    assert_eq!(t.end_state, EndState::Reset);
    assert_eq!(t.first_rst.unwrap().by, Side::Client);
    assert_eq!(t.time_wait, Sides::None);
}

#[test]
fn linux_zero_window_probes_are_not_keepalive() {
    let mut sim = Sim::new(Sim::default_cfg());
    for &(ts, s, sp, d, dp, seq, ack, flags, win, len) in ZW_ROWS {
        let mut p = Pkt::new(ep(s, sp), ep(d, dp));
        p.ts = ts;
        p.seq = seq;
        p.ack = ack;
        p.flags = flags;
        p.window = win;
        p.payload = vec![b'x'; len];
        sim.feed(&p);
    }
    sim.end(ZW_ROWS[ZW_ROWS.len() - 1].0);
    assert_eq!(sim.done.len(), 1);
    let c = &sim.done[0];
    let t = &c.facts;
    assert_eq!(t.anomalies.zero_window_probes, 4);
    assert_eq!(t.sides[0].keepalive, KeepaliveFacts::default());
    assert_eq!(t.sides[1].keepalive, KeepaliveFacts::default());
    // Frame 8 repeats frame 7 (the receive buffer dropped it, see the SACK).
    assert_eq!(t.anomalies.retransmissions, 1);
    assert_eq!(t.anomalies.gaps, 0);
    assert_eq!(t.sides[0].stream_bytes, 3 * 1448);
    assert_eq!(c.handler.stream(TO_S), vec![b'x'; 3 * 1448]);
    assert_eq!(t.end_state, EndState::Reset);
    assert_eq!(t.first_rst.unwrap().by, Side::Server);
}
