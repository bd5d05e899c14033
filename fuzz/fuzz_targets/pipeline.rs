#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keepwatch_fuzz::harness::pipeline(data));
