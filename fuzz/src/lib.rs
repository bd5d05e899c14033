//! The fuzz harnesses, one function per entry point. They live in a library
//! (not in the `fuzz_targets/` files) so that `tests/hostile_fuzz_inputs.rs`
//! in the main crate can include `harness.rs` and replay the seed corpora
//! and every input that once crashed, in plain `cargo test`.

pub mod harness;
