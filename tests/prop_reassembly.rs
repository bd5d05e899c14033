//! Property: whatever the order, duplication, overlap and loss of a
//! stream's segments, the TCP layer hands up every byte it saw at most once,
//! in stream order, each at its own offset; what it never saw comes up as
//! gaps; with nothing lost the stream comes up whole.

mod tcp_common;

use proptest::prelude::*;
use tcp_common::*;

/// A segment over the stream: `(start, end, kept when lossy)`.
type Seg = (usize, usize, bool);

/// A stream, segments over it, and the order they are sent in.
fn segments() -> impl Strategy<Value = (Vec<u8>, Vec<Seg>, Vec<usize>)> {
    (1usize..3000).prop_flat_map(|len| {
        let data = proptest::collection::vec(any::<u8>(), len);
        // Cut points covering the stream, then extra overlapping ranges.
        let cuts = proptest::collection::vec(1..len.max(2), 0..20);
        let extra = proptest::collection::vec((0..len, 1usize..600, any::<bool>()), 0..10);
        let drops = proptest::collection::vec(any::<bool>(), 40);
        (Just(len), data, cuts, extra, drops).prop_flat_map(
            |(len, data, mut cuts, extra, drops)| {
                cuts.push(0);
                cuts.push(len);
                cuts.sort_unstable();
                cuts.dedup();
                let mut segs: Vec<Seg> = cuts
                    .windows(2)
                    .enumerate()
                    .map(|(i, w)| (w[0], w[1], !drops[i % drops.len()] || drops.len() < 2))
                    .collect();
                for (s, l, dup) in extra {
                    segs.push((s, (s + l).min(len), true));
                    if dup {
                        segs.push((s, (s + l).min(len), true));
                    }
                }
                let n = segs.len();
                (
                    Just(data),
                    Just(segs),
                    Just(n).prop_perturb(|n, mut rng| {
                        let mut order: Vec<usize> = (0..n).collect();
                        for i in (1..n).rev() {
                            order.swap(i, rng.random_range(0..=i));
                        }
                        order
                    }),
                )
            },
        )
    })
}

fn run(data: &[u8], segs: &[Seg], order: &[usize], lossy: bool) {
    let mut f = Flow::new(0xFFFF_F000, 77); // wraps inside the stream
    let mut pkts: Vec<Pkt> = f.handshake().to_vec();
    let mut sent_end = 0;
    let mut seen = vec![false; data.len()];
    for &i in order {
        let (s, e, kept) = segs[i];
        if lossy && !kept {
            continue;
        }
        sent_end = sent_end.max(e);
        seen[s..e].iter_mut().for_each(|b| *b = true);
        pkts.push(f.c_data_at(s as u32, &data[s..e]));
    }
    let done = Sim::run_one(&pkts);
    // Walk the events: data at its offset equals the stream there, gaps
    // skip unseen bytes only.
    let mut off = 0usize;
    for e in &done.handler.events {
        match e {
            Ev::Data(TO_S, b) => {
                assert_eq!(&data[off..off + b.len()], &b[..], "bytes at offset {off}");
                off += b.len();
            }
            Ev::Gap(TO_S, n) => {
                let n = *n as usize;
                assert!(
                    seen[off..off + n].iter().all(|s| !s),
                    "gap over seen bytes at {off}"
                );
                off += n;
            }
            _ => {}
        }
    }
    assert_eq!(off, sent_end, "the stream is handed up to its highest byte");
    let delivered = done.handler.stream(TO_S).len();
    assert_eq!(facts(&done).sides[0].stream_bytes as usize, delivered);
    if !lossy {
        assert_eq!(
            done.handler.stream(TO_S),
            data,
            "nothing lost: the whole stream"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_byte_once_in_order((data, segs, order) in segments()) {
        run(&data, &segs, &order, false);
    }

    #[test]
    fn lost_segments_become_gaps_and_nothing_else((data, segs, order) in segments()) {
        run(&data, &segs, &order, true);
    }
}
