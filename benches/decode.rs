//! Decode: frames to TCP segments (Ethernet / IPv4 / TCP, the fast path).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keepwatch::capture::{Frame, LinkType};
use keepwatch::time::Timestamp;
use std::hint::black_box;

mod common;

fn bench(c: &mut Criterion) {
    let frames = common::keepalive_frames(4, 20);
    let bytes: usize = frames.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("ethernet_ipv4_tcp", |b| {
        b.iter(|| {
            let mut payload = 0usize;
            for f in &frames {
                let fr = Frame {
                    ts: Timestamp::from_nanos(0),
                    caplen: f.len() as u32,
                    orig_len: f.len() as u32,
                    link: LinkType::ETHERNET,
                    data: f,
                };
                if let Ok(s) = keepwatch::decode::decode(black_box(&fr)) {
                    payload += s.payload.len();
                }
            }
            black_box(payload)
        })
    });
    g.finish();
    let _ = bytes;
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
