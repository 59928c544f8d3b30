//! The portable reference kernel. Plain, obviously correct code: every other kernel is tested
//! against it. On aarch64 LLVM lowers `count_ones` to NEON `cnt`, so this is also the NEON path.

#[inline]
pub fn distance(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

#[inline]
pub fn scan<F: FnMut(usize, u32) -> u32>(query: &[u64], codes: &[u64], mut limit: u32, mut f: F) {
    for (i, code) in codes.chunks_exact(query.len()).enumerate() {
        let d = distance(query, code);
        if d <= limit {
            limit = f(i, d);
        }
    }
}
