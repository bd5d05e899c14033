//! Replays every fuzz seed (`fuzz/corpus/<target>/`) and every input that
//! once failed a fuzz target (`fuzz/regressions/<target>/`, named after the
//! bug) through the fuzz harnesses, in a debug build with overflow checks.
//! The harnesses assert each layer's invariants; see `fuzz/src/harness.rs`
//! and `fuzz/README.md`.

#[path = "../fuzz/src/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            eprintln!("{target}: {}", p.display());
            run(&data);
            n += 1;
        }
    }
    assert!(n > 0, "{target}: no seeds found");
}

#[test]
fn capture_reader_inputs() {
    replay("capture_reader", harness::capture_reader);
}

#[test]
fn decode_inputs() {
    replay("decode", harness::decode);
}

#[test]
fn tcp_reassembly_inputs() {
    replay("tcp_reassembly", harness::tcp_reassembly);
}

#[test]
fn http_streams_inputs() {
    replay("http_streams", harness::http_streams);
}

#[test]
fn pipeline_inputs() {
    replay("pipeline", harness::pipeline);
}
