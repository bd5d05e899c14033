//! Sequence space: 32-bit TCP sequence numbers become 64-bit stream offsets
//! here, at the edge, and nowhere else (STYLE habit 6).
//!
//! A direction's offsets count from its `base`, the sequence number of its
//! first data byte (ISN + 1 when the SYN was seen, else the first sequence
//! number the capture saw carry data). A 32-bit number is placed at the
//! 64-bit offset nearest to a reference offset (the next byte expected), so
//! wraparound at 2^32 is handled by plain wrapping subtraction, once.

/// The 64-bit offset of `seq` relative to `base`, taking the candidate
/// nearest to `reference` (within 2^31 either way). Negative means before
/// the first byte of the stream (the SYN is at -1).
pub(crate) fn offset(base: u32, reference: u64, seq: u32) -> i64 {
    let ref_seq = base.wrapping_add(reference as u32);
    let delta = seq.wrapping_sub(ref_seq) as i32 as i64;
    i64::try_from(reference)
        .unwrap_or(i64::MAX)
        .saturating_add(delta)
}

/// `a` is after `b` in sequence space (RFC 9293 section 3.4 arithmetic).
pub(crate) fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// `a` is at or after `b` in sequence space.
pub(crate) fn ge(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_from_base() {
        assert_eq!(offset(1000, 0, 1000), 0);
        assert_eq!(offset(1000, 0, 999), -1);
        assert_eq!(offset(1000, 0, 1500), 500);
        assert_eq!(offset(1000, 500, 1400), 400);
    }

    #[test]
    fn wraparound_at_2_pow_32() {
        let base = u32::MAX - 9; // 10 bytes before the wrap
        assert_eq!(offset(base, 0, u32::MAX), 9);
        assert_eq!(offset(base, 9, 0), 10);
        assert_eq!(offset(base, 10, 5), 15);
        // A reference far beyond 2^32 still places nearby numbers right.
        let r = (1u64 << 32) * 3 + 100;
        let s = base.wrapping_add(r as u32).wrapping_add(7);
        assert_eq!(offset(base, r, s), r as i64 + 7);
        let s = base.wrapping_add(r as u32).wrapping_sub(7);
        assert_eq!(offset(base, r, s), r as i64 - 7);
    }

    #[test]
    fn comparisons_wrap() {
        assert!(gt(1, u32::MAX));
        assert!(!gt(u32::MAX, 1));
        assert!(ge(5, 5));
        assert!(gt(0x8000_0000 - 1, 0));
    }
}
