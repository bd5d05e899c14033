//! The whole pipeline over an in-memory pcap: capture reader, decode, TCP,
//! HTTP, records, aggregation and the NDJSON writer (to a sink).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keepwatch::capture::{FileReader, FrameSource};
use keepwatch::report::{Format, ReportWriter, WriterOptions};
use keepwatch::{Analyzer, Config};
use std::hint::black_box;

mod common;

fn run(bytes: &'static [u8]) -> u64 {
    let mut r = FileReader::from_reader("memory", std::io::Cursor::new(bytes)).expect("a pcap");
    let mut a = Analyzer::new(Config::default());
    let mut w = ReportWriter::new(std::io::sink(), Format::Ndjson, WriterOptions::default());
    while let Ok(Some(f)) = r.next_frame() {
        a.process(&f);
        while let Some(rec) = a.next_record() {
            w.connection(rec).expect("sink");
        }
    }
    a.end_of_capture();
    while let Some(rec) = a.next_record() {
        w.connection(rec).expect("sink");
    }
    let (c, s, sum) = a.finish();
    let n = c.packets;
    w.finish(c, s, sum).expect("sink");
    n
}

fn bench(c: &mut Criterion) {
    let pcap: &'static [u8] =
        Box::leak(common::pcap_bytes(&common::keepalive_frames(16, 30)).into_boxed_slice());
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(pcap.len() as u64));
    g.bench_function("keepalive_16_connections_ndjson", |b| {
        b.iter(|| black_box(run(pcap)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
