//! A growable array of `u64` words whose start is 64-byte aligned.
//!
//! Why not `simd_aligned::VecSimd`: its strongest alignment is that of `u64x4` (32 bytes) and it
//! cannot grow. Code arrays are read with 512-bit loads (AVX-512) and are laid out in the
//! database file on 64-byte boundaries, so an in-memory array must have the same alignment as a
//! memory-mapped one, and builders append to it. This module is the only place that turns the
//! line storage into a word slice.

/// One cache line of words. `repr(C, align(64))` over `[u64; 8]`: size 64, no padding.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Line([u64; 8]);

const WORDS_PER_LINE: usize = 8;

/// Owned, 64-byte aligned word storage. Words past `len` (up to the line end) are zero.
#[derive(Clone, Default)]
pub struct AlignedWords {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedWords {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(words: usize) -> Self {
        Self {
            lines: Vec::with_capacity(words.div_ceil(WORDS_PER_LINE)),
            len: 0,
        }
    }

    /// `len` zero words.
    pub fn zeroed(len: usize) -> Self {
        Self {
            lines: vec![Line::default(); len.div_ceil(WORDS_PER_LINE)],
            len,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, word: u64) {
        let (line, lane) = (self.len / WORDS_PER_LINE, self.len % WORDS_PER_LINE);
        if line == self.lines.len() {
            self.lines.push(Line::default());
        }
        self.lines[line].0[lane] = word;
        self.len += 1;
    }

    pub fn extend_from_slice(&mut self, words: &[u64]) {
        let start = self.len;
        let new_len = start + words.len();
        self.lines
            .resize(new_len.div_ceil(WORDS_PER_LINE), Line::default());
        self.len = new_len;
        self.as_mut_slice()[start..].copy_from_slice(words);
    }

    pub fn reserve(&mut self, additional: usize) {
        let need = (self.len + additional).div_ceil(WORDS_PER_LINE);
        self.lines.reserve(need.saturating_sub(self.lines.len()));
    }

    pub fn as_slice(&self) -> &[u64] {
        // SAFETY: `Line` is `repr(C)` over `[u64; 8]` with size == 64 == 8 * size_of::<u64>(),
        // so `lines` is `lines.len() * 8` contiguous, initialised u64s. `len <= lines.len() * 8`
        // is kept by every mutator. The pointer is non-null and aligned even when empty.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<u64>(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u64] {
        // SAFETY: as in `as_slice`; the `&mut self` borrow makes the view unique.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<u64>(), self.len) }
    }
}

impl std::fmt::Debug for AlignedWords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedWords")
            .field("len", &self.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_growable() {
        let mut a = AlignedWords::new();
        for i in 0..1000u64 {
            a.push(i * 3);
            assert_eq!(a.as_slice().as_ptr() as usize % 64, 0);
        }
        assert_eq!(a.len(), 1000);
        assert!(a
            .as_slice()
            .iter()
            .enumerate()
            .all(|(i, &w)| w == i as u64 * 3));
        let z = AlignedWords::zeroed(13);
        assert_eq!(z.as_slice(), &[0u64; 13]);
    }
}
