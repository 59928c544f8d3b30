//! How a code is cut into m disjoint substrings.
//!
//! Substrings are runs of the *word-form* bit stream (bit `p` is bit `p % 64` of word `p / 64`),
//! not of the logical bit order: any partition of the bits into disjoint sets keeps MIH's
//! pigeonhole argument, and word-form runs are extracted with one or two shifts. The first
//! `b % m` substrings get `ceil(b / m)` bits, the rest `floor(b / m)`.

use crate::code::CodeLen;
use crate::error::{Error, Result};

/// Longest substring a table may index: a table has `2^len + 1` u32 offsets, and 2^28 of them
/// (1 GiB) is already more than any sensible configuration.
pub const MAX_SUBSTRING_BITS: usize = 28;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substrings {
    words: usize,
    starts: Vec<u32>,
    lens: Vec<u32>,
    /// Per substring, `words` mask words selecting its bits.
    masks: Vec<u64>,
}

impl Substrings {
    pub fn new(len: CodeLen, m: usize) -> Result<Self> {
        let b = len.bits();
        if m == 0 || m > b {
            return Err(Error::param(
                "substrings",
                format!("must be in 1..={b} for {b}-bit codes, got {m}"),
            ));
        }
        let longest = b.div_ceil(m);
        if longest > MAX_SUBSTRING_BITS {
            return Err(Error::param(
                "substrings",
                format!(
                    "{m} substrings of a {b}-bit code are {longest} bits long; at most {MAX_SUBSTRING_BITS} \
                     bits are supported (use at least {} substrings)",
                    b.div_ceil(MAX_SUBSTRING_BITS)
                ),
            ));
        }
        let words = len.words();
        let (mut starts, mut lens, mut masks) = (Vec::new(), Vec::new(), vec![0u64; m * words]);
        let mut start = 0usize;
        for j in 0..m {
            let l = b / m + usize::from(j < b % m);
            for p in start..start + l {
                masks[j * words + p / 64] |= 1 << (p % 64);
            }
            starts.push(start as u32);
            lens.push(l as u32);
            start += l;
        }
        debug_assert_eq!(start, b);
        Ok(Self {
            words,
            starts,
            lens,
            masks,
        })
    }

    /// The number of substrings, m.
    pub fn count(&self) -> usize {
        self.lens.len()
    }

    pub fn len_of(&self, j: usize) -> u32 {
        self.lens[j]
    }

    pub fn lens(&self) -> &[u32] {
        &self.lens
    }

    /// The value of substring `j` of a code in word form.
    #[inline]
    pub fn extract(&self, code: &[u64], j: usize) -> u32 {
        let (start, len) = (self.starts[j] as usize, self.lens[j]);
        let (w, off) = (start / 64, start % 64);
        let mut v = code[w] >> off;
        if off + len as usize > 64 {
            v |= code[w + 1] << (64 - off);
        }
        (v & ((1u64 << len) - 1)) as u32
    }

    /// Popcount of `xor` restricted to substring `j` (`xor` is a code's XOR with the query).
    #[inline]
    pub fn distance_in(&self, xor: &[u64], j: usize) -> u32 {
        let mask = &self.masks[j * self.words..(j + 1) * self.words];
        xor.iter()
            .zip(mask)
            .map(|(x, m)| (x & m).count_ones())
            .sum()
    }
}

/// The default m. The paper suggests m near b / log2(n), so a bucket holds about one code. Here
/// verifying a candidate is cheap (codes are inline and streamed through SIMD) while a bucket
/// probe is a random memory access, so shorter substrings with ~2^7 codes per bucket probe far
/// fewer buckets for the same radius and win: measured at 10M uniform 64-bit codes, 10-NN took
/// 0.98 ms with m = 3 (21-bit), 0.48 ms with m = 4 (16-bit), 0.49 ms with m = 5, 0.90 ms with
/// m = 6. Two bounds apply: substrings of at most log2(n) bits (a table never has more offsets
/// than codes), and, for inline one-word codes, m <= 4 (each table costs 12 bytes per code;
/// four tables plus the codes fit in 64 bytes per code). No substring exceeds
/// [`MAX_SUBSTRING_BITS`].
pub fn default_count(len: CodeLen, n: usize, inline_one_word: bool) -> usize {
    let b = len.bits();
    let log_n = (n.max(2) as f64).log2();
    let mut m = (b as f64 / (log_n - 7.0).max(8.0) - 1e-9).ceil() as usize;
    if inline_one_word {
        m = m.min(4);
    }
    m = m.max((b as f64 / log_n - 1e-9).ceil() as usize);
    m.clamp(b.div_ceil(MAX_SUBSTRING_BITS), b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_covers_every_bit_once() {
        for bits in [8, 16, 48, 64, 72, 128, 256, 1024] {
            let len = CodeLen::new(bits).unwrap();
            for m in [1, 2, 3, 5, 7, bits / 4, bits / 2] {
                let Ok(s) = Substrings::new(len, m) else {
                    assert!(bits.div_ceil(m) > MAX_SUBSTRING_BITS);
                    continue;
                };
                let mut union = vec![0u64; len.words()];
                for j in 0..m {
                    let mask = &s.masks[j * len.words()..(j + 1) * len.words()];
                    for (u, m) in union.iter_mut().zip(mask) {
                        assert_eq!(*u & m, 0);
                        *u |= m;
                    }
                }
                assert_eq!(
                    union.iter().map(|w| w.count_ones()).sum::<u32>() as usize,
                    bits
                );
                // extract() agrees with the masks.
                let code: Vec<u64> = (0..len.words() as u64)
                    .map(|i| 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i + 1))
                    .collect();
                let code: Vec<u64> = code.iter().zip(&union).map(|(c, u)| c & u).collect();
                for j in 0..m {
                    let v = s.extract(&code, j);
                    assert_eq!(v.count_ones(), s.distance_in(&code, j));
                }
            }
        }
    }

    #[test]
    fn default_count_follows_log_n() {
        let len = CodeLen::new(64).unwrap();
        assert_eq!(default_count(len, 10_000_000, true), 4);
        assert_eq!(default_count(len, 1_000_000, true), 4);
        assert_eq!(default_count(len, 100_000_000, true), 4);
        assert_eq!(default_count(len, 1 << 12, true), 6);
        assert_eq!(default_count(len, 1, true), 64);
        let len = CodeLen::new(256).unwrap();
        assert_eq!(default_count(len, 1_000_000, false), 20);
    }
}
