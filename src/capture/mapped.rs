//! Windows of a regular capture file mapped into memory, and the prefetch
//! of bytes in them: the one module where the crate uses `unsafe`.
//!
//! Why: reading through `read()` copies every byte from the page cache into
//! a buffer, and that copy was the largest single cost of a run over
//! keep-alive traffic, where bodies are skipped by length (about 0.1 s of
//! 0.3 s per GB, BENCHMARKS.md). A mapping lets frames borrow the page
//! cache directly, and lets `--threads` hand worker threads offsets into a
//! shared window instead of copied frames.
//!
//! The risk, accepted as ripgrep and others accept it: if another process
//! truncates the file while it is mapped, touching the lost pages raises
//! SIGBUS. Captures are written by appending, and the reader never maps
//! past the size the file had when it was opened.

use std::fs::File;
use std::ops::Deref;
use std::sync::Arc;

/// A read-only mapping of part of a file, shared by the threads that read
/// frames from it; unmapped when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Window(Arc<memmap2::Mmap>);

impl Window {
    /// Maps `len` bytes of `file` from `offset` (any offset: memmap2 aligns
    /// the mapping to a page itself). `len` must be at least 1.
    #[allow(unsafe_code)]
    pub(super) fn map(file: &File, offset: u64, len: usize) -> std::io::Result<Window> {
        let mut opts = memmap2::MmapOptions::new();
        opts.offset(offset).len(len);
        // SAFETY: the mapping is read-only and private to this process; the
        // only way its bytes change under us is another process truncating
        // or rewriting the file, the documented risk of the module.
        let map = unsafe { opts.map(file) }?;
        Ok(Window(Arc::new(map)))
    }

    /// True when both are the same mapping.
    pub fn same(&self, other: &Window) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Asks the CPU to start loading the cache line of `bytes[at]` (nothing
/// when `at` is out of range). The reader calls it with the next record's
/// header as soon as it knows where that lies: walking the records is a
/// chain of dependent loads, one cache miss per packet on large frames
/// (BENCHMARKS.md), and the prefetch lets the miss overlap the analysis of
/// the frame before; it also asks for where the records after it lie if
/// they are as long (`Input::prefetch_next`). `--threads` workers call it
/// with the payloads of the frames a few ahead in their batch, which the
/// reader touched last on another core.
#[allow(unsafe_code)]
#[inline]
pub fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if at < bytes.len() {
        let p = bytes.as_ptr().wrapping_add(at) as *const i8;
        // SAFETY: a prefetch is a hint: it never faults and changes no
        // memory; `p` points into `bytes` all the same.
        unsafe { core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}

/// [`prefetch`] for the first `lines` cache lines of a value: a `--threads`
/// worker asks for the flow-table slot of a frame a few ahead of the one
/// it analyses, the one cache miss per packet a table of thousands of open
/// connections has.
#[allow(unsafe_code)]
#[inline]
pub fn prefetch_value<T>(v: &T, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let base = (v as *const T).cast::<i8>();
        for k in 0..lines.min(std::mem::size_of::<T>().div_ceil(64)) {
            // SAFETY: a prefetch is a hint: it never faults and changes no
            // memory; the address lies within `v` all the same.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                    base.wrapping_add(k * 64),
                )
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, lines);
}

impl Deref for Window {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}
