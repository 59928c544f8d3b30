//! Software prefetch hints. MIH probes touch buckets scattered over large tables; asking for
//! the next buckets' cache lines while the current one is verified overlaps those misses.

#[inline(always)]
pub(crate) fn prefetch<T>(slice: &[T], index: usize) {
    #[cfg(target_arch = "x86_64")]
    if index < slice.len() {
        // SAFETY: the pointer is in bounds of `slice` (checked above); PREFETCHT0 is an SSE
        // instruction (baseline on x86_64), never faults and has no architectural effect.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                slice.as_ptr().add(index).cast::<i8>(),
            )
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slice, index);
}
