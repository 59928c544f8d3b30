//! One substring table in compressed-sparse-row form: `offsets[v]..offsets[v + 1]` is the run
//! of postings whose substring equals `v`; postings are row numbers, ascending within a bucket.
//! Built by counting then filling: two sequential passes plus one scattered write per code, no
//! per-bucket allocation. Everything is a flat array of plain integers, so a table can be
//! stored in a file and used in place.
//!
//! With `inline_codes`, each posting's full code is stored beside it (a parallel array in
//! bucket order), so verifying a bucket streams through contiguous memory with the same SIMD
//! kernel as a linear scan instead of taking a cache miss per candidate to fetch its code.

use super::substrings::Substrings;
use crate::aligned::AlignedWords;
use std::ops::Range;

#[derive(Debug, Clone)]
pub struct Table {
    offsets: Vec<u32>,
    rows: Vec<u32>,
    /// Codes in posting order, `words` per posting, when inlined.
    codes: Option<AlignedWords>,
}

impl Table {
    pub fn build(
        sub: &Substrings,
        j: usize,
        codes: &[u64],
        words: usize,
        inline_codes: bool,
    ) -> Self {
        let n = codes.len() / words;
        let buckets = 1usize << sub.len_of(j);
        let keys: Vec<u32> = codes
            .chunks_exact(words)
            .map(|c| sub.extract(c, j))
            .collect();
        let mut offsets = vec![0u32; buckets + 1];
        for &k in &keys {
            offsets[k as usize + 1] += 1;
        }
        for v in 0..buckets {
            offsets[v + 1] += offsets[v];
        }
        let mut cursor = offsets[..buckets].to_vec();
        let mut rows = vec![0u32; n];
        let mut inline = inline_codes.then(|| AlignedWords::zeroed(n * words));
        for (row, &k) in keys.iter().enumerate() {
            let pos = cursor[k as usize] as usize;
            cursor[k as usize] += 1;
            rows[pos] = row as u32;
            if let Some(ic) = inline.as_mut() {
                ic.as_mut_slice()[pos * words..(pos + 1) * words]
                    .copy_from_slice(&codes[row * words..(row + 1) * words]);
            }
        }
        Self {
            offsets,
            rows,
            codes: inline,
        }
    }

    /// The posting range of bucket `key`.
    #[inline]
    pub fn bucket(&self, key: u32) -> Range<usize> {
        self.offsets[key as usize] as usize..self.offsets[key as usize + 1] as usize
    }

    #[inline]
    pub fn bucket_len(&self, key: u32) -> usize {
        self.bucket(key).len()
    }

    #[inline]
    pub fn rows(&self) -> &[u32] {
        &self.rows
    }

    #[inline]
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// Inlined codes in posting order, if this table has them.
    #[inline]
    pub fn inline_codes(&self) -> Option<&[u64]> {
        self.codes.as_ref().map(|c| c.as_slice())
    }

    pub fn bytes(&self) -> usize {
        4 * (self.offsets.len() + self.rows.len()) + 8 * self.codes.as_ref().map_or(0, |c| c.len())
    }
}
