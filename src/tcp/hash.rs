//! The hasher of the flow table and of the report's per-pair map: FxHash
//! (the multiply-rotate hash of rustc and Firefox), written out here rather
//! than pulled in as a crate because it is twenty lines. SipHash, std's
//! default, costs several times more per lookup and the table is looked up
//! once per packet.
//!
//! FxHash is not keyed, and capture contents may be chosen by an attacker
//! (crafted ports to collide buckets), so each table seeds its hasher with a
//! random word taken from std's `RandomState`. The seed only changes bucket
//! order; no output depends on iteration order of either map (the report
//! sorts its pairs).

use std::hash::{BuildHasher, Hasher};

const K: u64 = 0x517c_c1b7_2722_0a95;

#[derive(Clone, Copy, Debug)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Builds [`FxHasher`]s starting from a per-table random seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeededFx {
    seed: u64,
}

impl SeededFx {
    pub(crate) fn new() -> Self {
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        SeededFx { seed }
    }
}

impl Default for SeededFx {
    fn default() -> Self {
        SeededFx::new()
    }
}

impl BuildHasher for SeededFx {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher { hash: self.seed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_inputs_hash_differently() {
        let b = SeededFx { seed: 0 };
        let h = |x: &[u8]| b.hash_one(x);
        assert_ne!(h(b"abc"), h(b"abd"));
        assert_ne!(h(&[0u8; 3]), h(&[0u8; 4]));
        assert_eq!(h(b"same"), h(b"same"));
    }
}
