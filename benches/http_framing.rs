//! The HTTP layer alone: framing and pairing over reassembled streams
//! (heads parsed, bodies skipped by length or chunk size).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keepwatch::http::{HttpConfig, HttpConn};
use keepwatch::tcp::{Direction, StreamHandler};
use keepwatch::time::Timestamp;
use std::hint::black_box;
use std::sync::Arc;

fn stream() -> Vec<(Direction, Vec<u8>)> {
    let mut v = Vec::new();
    let body = vec![b'a'; 64_000];
    for i in 0..200usize {
        let req = format!("GET /item/{i} HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n");
        v.push((Direction::ToServer, req.into_bytes()));
        let size = 200 + (i * 7919) % 60_000;
        let mut resp = Vec::new();
        if i % 5 == 0 {
            resp.extend_from_slice(
                b"HTTP/1.1 200 OK\r\nServer: nginx\r\nTransfer-Encoding: chunked\r\n\r\n",
            );
            for c in body[..size].chunks(8000) {
                resp.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                resp.extend_from_slice(c);
                resp.extend_from_slice(b"\r\n");
            }
            resp.extend_from_slice(b"0\r\n\r\n");
        } else {
            resp.extend_from_slice(
                format!("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: {size}\r\n\r\n")
                    .as_bytes(),
            );
            resp.extend_from_slice(&body[..size]);
        }
        for seg in resp.chunks(1460) {
            v.push((Direction::ToClient, seg.to_vec()));
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let s = stream();
    let bytes: usize = s.iter().map(|(_, b)| b.len()).sum();
    let cfg = Arc::new(HttpConfig::default());
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("keepalive_200_exchanges_1460_byte_segments", |b| {
        b.iter(|| {
            let mut h = HttpConn::new(Arc::clone(&cfg));
            for (i, (d, data)) in s.iter().enumerate() {
                h.on_data(*d, Timestamp::from_nanos(i as i64 * 1000), black_box(data));
            }
            h.on_end(Timestamp::from_nanos(i64::MAX / 2));
            black_box(h.facts().exchanges.len())
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
