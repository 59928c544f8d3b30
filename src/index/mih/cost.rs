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

/// Nanoseconds per word read by a linear scan whose codes fit in the last-level cache, and
/// per word streamed from DRAM (AVX-512; measured 0.10-0.14 ns per 64-bit code at 1M codes,
/// 0.35 ns at 10M).
const NS_PER_CACHED_WORD: f64 = 0.12;
const NS_PER_DRAM_WORD: f64 = 0.35;
/// Codes up to this many bytes are taken to stay cached between queries.
const CACHED_SCAN_BYTES: usize = 16 << 20;
/// Nanoseconds per bucket lookup: a random read of the offsets and of the bucket's first
/// postings, partly hidden by prefetching (measured ~50 ns at 10M codes, m = 4).
const NS_PER_PROBE: f64 = 50.0;
/// Nanoseconds per candidate whose code is inline in its bucket (streamed through the SIMD
/// kernel; measured ~1.1 ns including de-duplication and top-k upkeep).
const NS_PER_INLINE_CANDIDATE: f64 = 1.1;
/// Nanoseconds per candidate whose code must be fetched from the code array, when the codes
/// stay cached, and when they do not: a random read from DRAM that prefetching hides only
/// partly, since near-duplicate tables hold about one code per bucket (fitted to radius-31
/// searches over 10M uniform 256-bit codes with m = 11 and m = 13 on the reference machine:
/// ~37 ns per candidate and ~64 ns per probe; docs/bench/dedup-*.md).
const NS_PER_GATHERED_CANDIDATE: f64 = 8.0;
const NS_PER_GATHERED_DRAM_CANDIDATE: f64 = 35.0;

const SAMPLE_QUERIES: usize = 64;
const SAMPLE_ROWS: usize = 1 << 17;

#[derive(Debug, Clone)]
pub struct CostModel {
    n: usize,
    words: usize,
    inline: bool,
    /// `within[d]`: fraction of sampled pairs at distance <= d.
    within: Vec<f64>,
    /// `sub_within[s]`: fraction of sampled (pair, table) combinations whose substring distance
    /// is <= s. MIH visits a code once per table in which it falls within the probed radius,
    /// so expected candidate visits are n times a sum of these.
    sub_within: Vec<f64>,
}

impl CostModel {
    pub fn sample(
        kernel: Kernel,
        sub: &Substrings,
        codes: &[u64],
        words: usize,
        bits: usize,
        inline: bool,
    ) -> Self {
        let n = codes.len() / words;
        let max_sub = sub.lens().iter().copied().max().unwrap_or(0) as usize;
        let mut within = vec![0f64; bits + 1];
        let mut sub_within = vec![0f64; max_sub + 1];
        let rows = SAMPLE_ROWS.min(n);
        // About 4n pairs for small indexes (enough resolution for their n), at most 64 x 2^17.
        let queries = (4 * n / rows.max(1)).clamp(8, SAMPLE_QUERIES).min(n);
        // The sampled rows, contiguous, so each sample query is one SIMD scan.
        let sample: Vec<u64> = (0..rows)
            .flat_map(|ri| {
                let row = ri * n / rows;
                codes[row * words..(row + 1) * words].iter().copied()
            })
            .collect();
        let mut pairs = 0u64;
        let mut sub_pairs = 0u64;
        let mut xor = vec![0u64; words];
        for qi in 0..queries {
            let qrow = qi * n / queries;
            let q = &codes[qrow * words..(qrow + 1) * words];
            kernel.scan(q, &sample, u32::MAX, |ri, d| {
                let row = ri * n / rows;
                if row != qrow {
                    within[d as usize] += 1.0;
                    pairs += 1;
                    // The per-table curve is smoother; a 1/8 subsample suffices.
                    if ri % 8 == qi % 8 {
                        let c = &sample[ri * words..(ri + 1) * words];
                        for (x, (a, b)) in xor.iter_mut().zip(q.iter().zip(c)) {
                            *x = a ^ b;
                        }
                        for j in 0..sub.count() {
                            sub_within[sub.distance_in(&xor, j) as usize] += 1.0;
                        }
                        sub_pairs += sub.count() as u64;
                    }
                }
                u32::MAX
            });
        }
        for (v, total) in [(&mut within, pairs), (&mut sub_within, sub_pairs)] {
            let mut acc = 0.0;
            for x in v.iter_mut() {
                acc += *x;
                *x = if total == 0 { 1.0 } else { acc / total as f64 };
            }
        }
        Self {
            n,
            words,
            inline,
            within,
            sub_within,
        }
    }
    /// A model for comparing substring counts: only [`CostModel::mih_ns`] and
    /// [`CostModel::work_ns`] are meaningful (no full-distance curve).
    pub fn for_choice(n: usize, words: usize, inline: bool, sub_within: Vec<f64>) -> Self {
        Self {
            n,
            words,
            inline,
            within: Vec::new(),
            sub_within,
        }
    }

    /// A model from stored curves; both must be non-decreasing fractions of the right length.
    pub fn from_parts(
        n: usize,
        words: usize,
        inline: bool,
        within: Vec<f64>,
        sub_within: Vec<f64>,
        bits: usize,
        sub: &Substrings,
    ) -> Result<Self, String> {
        let max_sub = sub.lens().iter().copied().max().unwrap_or(0) as usize;
        if within.len() != bits + 1 || sub_within.len() != max_sub + 1 {
            return Err("curve lengths do not match the code layout".into());
        }
        for v in [&within, &sub_within] {
            if v.iter().any(|x| !(0.0..=1.0).contains(x)) || v.windows(2).any(|w| w[0] > w[1]) {
                return Err("curves must be non-decreasing fractions".into());
            }
        }
        Ok(Self {
            n,
            words,
            inline,
            within,
            sub_within,
        })
    }

    pub fn within(&self) -> &[f64] {
        &self.within
    }

    pub fn sub_within(&self) -> &[f64] {
        &self.sub_within
    }

    /// Predicted distance of the k-th nearest neighbour of a typical query.
    pub fn predicted_knn_radius(&self, k: usize) -> u32 {
        let need = k as f64 / self.n.max(1) as f64;
        self.within
            .iter()
            .position(|&f| f >= need)
            .unwrap_or(self.within.len() - 1) as u32
    }

    pub fn scan_ns(&self) -> f64 {
        let words = self.n * self.words;
        let per_word = if words * 8 <= CACHED_SCAN_BYTES {
            NS_PER_CACHED_WORD
        } else {
            NS_PER_DRAM_WORD
        };
        words as f64 * per_word
    }

    pub fn work_ns(&self, probes: u64, candidates: u64) -> f64 {
        let per_cand = if self.inline {
            NS_PER_INLINE_CANDIDATE
        } else if self.n * self.words * 8 <= CACHED_SCAN_BYTES {
            NS_PER_GATHERED_CANDIDATE
        } else {
            NS_PER_GATHERED_DRAM_CANDIDATE
        };
        probes as f64 * NS_PER_PROBE + candidates as f64 * per_cand
    }

    /// Predicted MIH cost of covering radius `r` (the probes a k-NN search whose k-th
    /// neighbour is at `r` makes, and exactly those of a radius-`r` search): with
    /// r = s*m + t, tables at positions 0..=t are probed up to substring radius s, the rest up
    /// to s - 1.
    pub fn mih_ns(&self, sub: &Substrings, r: u32) -> f64 {
        let m = sub.count() as u32;
        let (s, t) = (r / m, r % m);
        let within = |s: i64| -> f64 {
            if s < 0 {
                0.0
            } else {
                self.sub_within.get(s as usize).copied().unwrap_or(1.0)
            }
        };
        let mut probes = 0.0;
        for (p, &len) in sub.lens().iter().enumerate() {
            let radius = if (p as u32) <= t {
                s as i64
            } else {
                s as i64 - 1
            };
            if radius >= 0 {
                probes += buckets_within(len, radius as u32);
            }
        }
        let visits = self.n as f64
            * ((t + 1) as f64 * within(s as i64) + (m - t - 1) as f64 * within(s as i64 - 1));
        self.work_ns(probes.min(1e18) as u64, visits.min(1e18) as u64)
    }
}

/// Pair XORs sampled once from the codes, to predict the per-table distance curve of any
/// substring cut (`choose`). Deterministic: rows at fixed strides.
pub struct SubSample {
    words: usize,
    xors: Vec<u64>,
}

/// Pairs a [`SubSample`] holds at most.
const CHOICE_PAIRS: usize = 1 << 16;

impl SubSample {
    pub fn new(codes: &[u64], words: usize) -> Self {
        let n = codes.len() / words;
        let mut xors = Vec::new();
        if n >= 2 {
            let queries = SAMPLE_QUERIES.min(n);
            let rows = (CHOICE_PAIRS / queries).min(n);
            for qi in 0..queries {
                let qrow = qi * n / queries;
                let q = &codes[qrow * words..(qrow + 1) * words];
                for ri in 0..rows {
                    // Offset by the query's index so query rows do not meet themselves.
                    let row = (ri * n / rows + qi + 1) % n;
                    if row == qrow {
                        continue;
                    }
                    let c = &codes[row * words..(row + 1) * words];
                    xors.extend(q.iter().zip(c).map(|(a, b)| a ^ b));
                }
            }
        }
        Self { words, xors }
    }

    /// `sub_within[s]` for this cut: the fraction of (pair, table) combinations within s.
    pub fn sub_within(&self, sub: &Substrings) -> Vec<f64> {
        let max_sub = sub.lens().iter().copied().max().unwrap_or(0) as usize;
        let mut counts = vec![0u64; max_sub + 1];
        for x in self.xors.chunks_exact(self.words) {
            for j in 0..sub.count() {
                counts[sub.extract(x, j).count_ones() as usize] += 1;
            }
        }
        let total = (self.xors.len() / self.words.max(1) * sub.count()) as f64;
        let mut acc = 0u64;
        counts
            .into_iter()
            .map(|c| {
                acc += c;
                if total == 0.0 {
                    1.0
                } else {
                    acc as f64 / total
                }
            })
            .collect()
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
