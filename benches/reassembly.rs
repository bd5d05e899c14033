//! The TCP layer: flow table lookup, sequence tracking and in-order
//! delivery to a handler that only counts bytes.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keepwatch::capture::{Frame, LinkType};
use keepwatch::tcp::{Direction, FlowTable, StreamHandler, TcpConfig};
use keepwatch::time::Timestamp;
use std::hint::black_box;

mod common;

#[derive(Default)]
struct Count(u64);

impl StreamHandler for Count {
    fn on_data(&mut self, _: Direction, _: Timestamp, data: &[u8]) {
        self.0 += data.len() as u64;
    }
    fn on_gap(&mut self, _: Direction, _: Timestamp, _: u64) {}
    fn on_fin(&mut self, _: Direction, _: Timestamp) {}
    fn on_rst(&mut self, _: Direction, _: Timestamp) {}
    fn on_end(&mut self, _: Timestamp) {}
}

fn bench(c: &mut Criterion) {
    let frames = common::keepalive_frames(8, 20);
    let segs: Vec<_> = frames
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let fr = Frame {
                ts: Timestamp::from_nanos(1_700_000_000_000_000_000 + 10_000 * i as i64),
                caplen: f.len() as u32,
                orig_len: f.len() as u32,
                link: LinkType::ETHERNET,
                data: f,
            };
            keepwatch::decode::decode(&fr).ok()
        })
        .collect();
    let bytes: usize = frames.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("reassembly");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("in_order_8_connections", |b| {
        b.iter(|| {
            let mut t: FlowTable<Count> =
                FlowTable::new(TcpConfig::default(), Box::new(Count::default));
            for s in &segs {
                t.handle(black_box(s));
            }
            t.finish_all(Timestamp::from_nanos(i64::MAX));
            let mut n = 0;
            while let Some(f) = t.pop_finished() {
                n += f.handler.0;
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
