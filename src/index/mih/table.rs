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
use crate::slab::Slab;
use std::ops::Range;

#[derive(Debug, Clone)]
pub struct Table {
    offsets: Slab<u32>,
    rows: Slab<u32>,
    /// Codes in posting order, `words` per posting, when inlined.
    codes: Option<Slab<u64>>,
}

/// Why stored table arrays cannot form a table.
pub fn check_parts(
    offsets: &[u32],
    rows: &[u32],
    codes: Option<&[u64]>,
    len_bits: u32,
    n: usize,
    words: usize,
) -> Result<(), String> {
    if offsets.len() != (1usize << len_bits) + 1 {
        return Err(format!(
            "{} offsets for a {len_bits}-bit substring",
            offsets.len()
        ));
    }
    if rows.len() != n {
        return Err(format!("{} postings for {n} codes", rows.len()));
    }
    if offsets[0] != 0 || offsets[offsets.len() - 1] as usize != n {
        return Err("offsets do not span the postings".into());
    }
    if offsets.windows(2).any(|w| w[0] > w[1]) {
        return Err("offsets decrease".into());
    }
    if let Some(c) = codes {
        if c.len() != n * words {
            return Err(format!("{} inline code words for {n} codes", c.len()));
        }
    }
    Ok(())
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
            offsets: Slab::from_vec(offsets),
            rows: Slab::from_vec(rows),
            codes: inline.map(Slab::from_words),
        }
    }

    /// A table over stored arrays, validated by [`check_parts`] first. Row values are not
    /// checked here (that is a full pass); the probe loop bounds-checks each one it uses.
    pub fn from_parts(
        offsets: Slab<u32>,
        rows: Slab<u32>,
        codes: Option<Slab<u64>>,
        len_bits: u32,
        n: usize,
        words: usize,
    ) -> Result<Self, String> {
        check_parts(&offsets, &rows, codes.as_deref(), len_bits, n, words)?;
        Ok(Self {
            offsets,
            rows,
            codes,
        })
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
        self.codes.as_deref()
    }

    pub fn bytes(&self) -> usize {
        4 * (self.offsets.len() + self.rows.len()) + 8 * self.codes.as_ref().map_or(0, |c| c.len())
    }
}
