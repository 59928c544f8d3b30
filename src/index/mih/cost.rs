//! Choosing between MIH and a linear scan, per query.
//!
//! At build time a small deterministic sample of code pairs gives the data's distance
//! distribution F(d) (fraction of pairs within d) and G(s) (fraction of pairs whose closest
//! substring is within s): clustered codes and uniform codes get very different curves, which
//! is exactly what decides the better path. Per query, the k-NN radius is predicted as the
//! smallest d with n·F(d) >= k; MIH's cost is then its bucket probes plus its candidates, a
//! scan's is its words read, in nanoseconds measured on this project's reference machine.
//! The prediction only picks a path; results are exact either way. A query whose real MIH work
//! outgrows the scan's cost is switched to a scan mid-way, so a wrong guess costs at most ~2x.

use super::substrings::Substrings;
use crate::hamming::Kernel;

/// Nanoseconds per word read by a linear scan (AVX-512, DRAM-bound: ~1.5G 64-bit codes/s).
const NS_PER_SCANNED_WORD: f64 = 0.6;
/// Nanoseconds per bucket lookup (a mostly-cached random read of the offsets, prefetched).
const NS_PER_PROBE: f64 = 15.0;
/// Nanoseconds per candidate whose code is inline in its bucket (streamed, SIMD).
const NS_PER_INLINE_CANDIDATE: f64 = 0.8;
/// Nanoseconds per candidate whose code must be fetched from the code array (a cache miss).
const NS_PER_GATHERED_CANDIDATE: f64 = 8.0;

const SAMPLE_QUERIES: usize = 64;
const SAMPLE_ROWS: usize = 1 << 17;

#[derive(Debug, Clone)]
pub struct CostModel {
    n: usize,
    words: usize,
    inline: bool,
    /// `within[d]`: fraction of sampled pairs at distance <= d.
    within: Vec<f64>,
    /// `closest_sub[s]`: fraction of sampled pairs with some substring distance <= s.
    closest_sub: Vec<f64>,
}

impl CostModel {
    pub fn sample(kernel: Kernel, sub: &Substrings, codes: &[u64], words: usize, bits: usize, inline: bool) -> Self {
        let n = codes.len() / words;
        let max_sub = sub.lens().iter().copied().max().unwrap_or(0) as usize;
        let mut within = vec![0f64; bits + 1];
        let mut closest_sub = vec![0f64; max_sub + 1];
        let queries = SAMPLE_QUERIES.min(n);
        let rows = SAMPLE_ROWS.min(n);
        let mut pairs = 0u64;
        let mut xor = vec![0u64; words];
        for qi in 0..queries {
            let qrow = qi * n / queries;
            let q = &codes[qrow * words..(qrow + 1) * words];
            for ri in 0..rows {
                let row = ri * n / rows;
                if row == qrow {
                    continue;
                }
                let c = &codes[row * words..(row + 1) * words];
                within[kernel.distance(q, c) as usize] += 1.0;
                for (x, (a, b)) in xor.iter_mut().zip(q.iter().zip(c)) {
                    *x = a ^ b;
                }
                let closest = (0..sub.count()).map(|j| sub.distance_in(&xor, j)).min().unwrap_or(0);
                closest_sub[closest as usize] += 1.0;
                pairs += 1;
            }
        }
        for v in [&mut within, &mut closest_sub] {
            let mut acc = 0.0;
            for x in v.iter_mut() {
                acc += *x;
                *x = if pairs == 0 { 1.0 } else { acc / pairs as f64 };
            }
        }
        Self { n, words, inline, within, closest_sub }
    }

    /// Predicted distance of the k-th nearest neighbour of a typical query.
    pub fn predicted_knn_radius(&self, k: usize) -> u32 {
        let need = k as f64 / self.n.max(1) as f64;
        self.within.iter().position(|&f| f >= need).unwrap_or(self.within.len() - 1) as u32
    }

    pub fn scan_ns(&self) -> f64 {
        self.n as f64 * self.words as f64 * NS_PER_SCANNED_WORD
    }

    pub fn work_ns(&self, probes: u64, candidates: u64) -> f64 {
        let per_cand = if self.inline { NS_PER_INLINE_CANDIDATE } else { NS_PER_GATHERED_CANDIDATE };
        probes as f64 * NS_PER_PROBE + candidates as f64 * per_cand
    }

    /// Predicted MIH cost of probing every table up to substring radius `s`.
    pub fn mih_ns(&self, sub: &Substrings, s: u32) -> f64 {
        let probes: f64 = sub.lens().iter().map(|&l| buckets_within(l, s)).sum();
        let frac = self.closest_sub.get(s as usize).copied().unwrap_or(1.0);
        let cands = frac * self.n as f64;
        self.work_ns(probes.min(1e18) as u64, cands as u64)
    }
}

/// Number of `len`-bit values within Hamming distance `s` of a given one: sum of C(len, i).
pub fn buckets_within(len: u32, s: u32) -> f64 {
    let mut total = 0.0;
    let mut c = 1.0;
    for i in 0..=s.min(len) {
        if i > 0 {
            c = c * (len - i + 1) as f64 / i as f64;
        }
        total += c;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_sums() {
        assert_eq!(buckets_within(21, 0), 1.0);
        assert_eq!(buckets_within(21, 1), 22.0);
        assert_eq!(buckets_within(21, 4), 1.0 + 21.0 + 210.0 + 1330.0 + 5985.0);
        assert_eq!(buckets_within(3, 10), 8.0);
    }
}
