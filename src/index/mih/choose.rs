//! Choosing m, the substring count, for the radius a database is created for.
//!
//! `substrings::default_count` cuts tables for k-NN on inline 64-bit codes. Near-duplicate
//! matching asks another question: every code within a fixed, often large, radius r (PDQ: 31
//! of 256 bits). With m substrings the pigeonhole rule probes each table to radius about r/m,
//! so fewer, longer substrings probe fewer buckets while holding fewer codes each; for
//! multi-word codes every candidate is also a random read of its code. The best m is where
//! probes plus candidates cost least, and that depends on the data's distance distribution,
//! so it is predicted from a sample of the codes' own pairs with the same cost model the
//! per-query path choice uses ([`CostModel::mih_ns`]), for every m whose tables fit in a
//! memory bound: at most [`MEMORY_FACTOR`] times the bytes of the k-NN configuration.

use super::cost::{CostModel, SubSample};
use super::substrings::{self, Substrings, MAX_SUBSTRING_BITS};
use crate::code::CodeLen;

/// Tables chosen for a radius may use at most this many times the memory (codes plus
/// tables) of the default configuration.
pub const MEMORY_FACTOR: f64 = 1.5;

/// Longest m considered: past it each table is a handful of bits and probes explode anyway.
const MAX_M: usize = 64;

/// Bytes an index over `n` codes takes with these substrings.
pub fn index_bytes(len: CodeLen, n: usize, sub: &Substrings, inline: bool) -> f64 {
    let words = len.words() as f64;
    let per_table_code = 4.0 + if inline { 8.0 * words } else { 0.0 };
    let offsets: f64 = sub
        .lens()
        .iter()
        .map(|&l| 4.0 * ((1u64 << l) + 1) as f64)
        .sum();
    n as f64 * (8.0 * words + sub.count() as f64 * per_table_code) + offsets
}

/// The substring count that makes a radius-`r` search over `codes` cheapest, within the
/// memory bound; ties go to the smaller m (less memory).
pub fn count_for_radius(len: CodeLen, codes: &[u64], inline: bool, r: u32) -> usize {
    let words = len.words();
    let n = codes.len() / words;
    let b = len.bits();
    let default_m = substrings::default_count(len, n, inline && words == 1);
    let default_sub = Substrings::new(len, default_m).expect("default m is valid");
    let budget = MEMORY_FACTOR * index_bytes(len, n, &default_sub, inline);
    let sample = SubSample::new(codes, words);
    let mut best = (f64::INFINITY, default_m);
    for m in b.div_ceil(MAX_SUBSTRING_BITS)..=b.min(MAX_M) {
        let Ok(sub) = Substrings::new(len, m) else {
            continue;
        };
        if index_bytes(len, n, &sub, inline) > budget {
            continue;
        }
        let model = CostModel::for_choice(n, words, inline, sample.sub_within(&sub));
        let ns = model.mih_ns(&sub, r);
        if ns < best.0 {
            best = (ns, m);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(n: usize, words: usize, seed: u64) -> Vec<u64> {
        let mut x = seed;
        (0..n * words)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            })
            .collect()
    }

    #[test]
    fn a_large_radius_on_long_codes_gets_fewer_longer_substrings() {
        let len = CodeLen::new(256).unwrap();
        let n = 1 << 20;
        let codes = uniform(n, 4, 7);
        let knn_m = substrings::default_count(len, n, false);
        let m = count_for_radius(len, &codes, false, 31);
        assert!(m < knn_m, "m {m} for r = 31, k-NN m {knn_m}");
        let sub = Substrings::new(len, m).unwrap();
        let default_sub = Substrings::new(len, knn_m).unwrap();
        assert!(
            index_bytes(len, n, &sub, false)
                <= MEMORY_FACTOR * index_bytes(len, n, &default_sub, false)
        );
    }

    #[test]
    fn radius_zero_takes_the_fewest_tables_memory_allows() {
        let len = CodeLen::new(64).unwrap();
        let codes = uniform(1 << 16, 1, 3);
        // r = 0 probes one bucket per table: one table (of at most 28 bits) would do, but
        // the smallest m within the memory bound is 3 (22-bit substrings, 2^22 offsets).
        let m = count_for_radius(len, &codes, true, 0);
        assert!(m <= 4, "{m}");
    }
}
