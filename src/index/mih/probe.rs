//! The probe loop shared by k-NN and radius search.
//!
//! Probes run in a fixed order of (substring radius s, table position p): every table at s = 0,
//! then every table at s = 1, and so on. Tables are visited in a per-query order, smallest
//! query bucket first: on clustered codes the query's own bucket can hold a large share of the
//! data in one table and a handful in another, and the stopping rule is happiest when the
//! cheap tables come first. Any fixed order keeps the two facts the search relies on:
//!
//! - **Completeness.** After probing (s, p), every code within distance `s*m + p` has been seen:
//!   an unseen code differs by more than s in tables at positions `<= p` and by at least s in
//!   the rest, so its distance is at least `(p+1)(s+1) + (m-p-1)s = s*m + p + 1`.
//! - **Exactly-once.** A code reached at (s, p) is new iff no earlier probe covered it: no table
//!   before p is within s of the query, and no table after p is within s - 1. Checking that on
//!   the candidate's own code (already in hand to compute its distance) de-duplicates with no
//!   per-query memory at all, where the reference code clears an N-bit bitmap per query.

use super::table::Table;
use super::MihIndex;
use crate::prefetch::prefetch;
use crate::topk::{key, TopK};

/// Where verified candidates go.
pub(super) trait Sink {
    fn limit(&self) -> u32;
    /// True if this candidate certainly cannot be accepted (checked before the costlier
    /// de-duplication test).
    fn rejects(&self, _row: u32, _distance: u32) -> bool {
        false
    }
    /// Accept a new (never offered before) candidate; returns the new limit.
    fn accept(&mut self, row: u32, distance: u32) -> u32;
}

impl Sink for TopK {
    #[inline]
    fn limit(&self) -> u32 {
        TopK::limit(self)
    }
    #[inline]
    fn rejects(&self, row: u32, distance: u32) -> bool {
        TopK::rejects(self, row, distance)
    }
    #[inline]
    fn accept(&mut self, row: u32, distance: u32) -> u32 {
        self.offer(row, distance)
    }
}

/// Passes on only the rows `keep` accepts (deleted rows, class filters).
pub(super) struct Filtered<'f, S> {
    pub inner: S,
    pub keep: &'f dyn Fn(u32) -> bool,
}

impl<S: Sink> Sink for Filtered<'_, S> {
    #[inline]
    fn limit(&self) -> u32 {
        self.inner.limit()
    }
    #[inline]
    fn rejects(&self, row: u32, distance: u32) -> bool {
        self.inner.rejects(row, distance)
    }
    #[inline]
    fn accept(&mut self, row: u32, distance: u32) -> u32 {
        if (self.keep)(row) {
            self.inner.accept(row, distance)
        } else {
            self.inner.limit()
        }
    }
}

pub(super) struct RadiusSink {
    pub r: u32,
    pub keys: Vec<u64>,
}

impl Sink for RadiusSink {
    #[inline]
    fn limit(&self) -> u32 {
        self.r
    }
    #[inline]
    fn accept(&mut self, row: u32, distance: u32) -> u32 {
        self.keys.push(key(distance, row));
        self.r
    }
}

/// How far ahead (in buckets) to prefetch offsets, and then postings.
const PREFETCH_OFFSETS_AHEAD: usize = 16;
const PREFETCH_POSTINGS_AHEAD: usize = 8;
/// How far ahead to prefetch the codes of a bucket's first postings, for tables without
/// inline codes: by then the offsets and postings prefetched above have arrived, and tables
/// cut for a large radius hold about one code per bucket, so prefetching inside a bucket
/// alone would leave nearly every candidate's code a full DRAM miss.
const PREFETCH_CODES_AHEAD: usize = 4;
/// Postings per bucket whose codes are prefetched ahead (the verify loop prefetches the rest).
const PREFETCH_CODES_PER_BUCKET: usize = 2;

pub(super) struct Prober<'a> {
    pub idx: &'a MihIndex,
    pub q: &'a [u64],
    pub qkeys: Vec<u32>,
    /// Table indices in probe order.
    pub order: Vec<usize>,
    pub buckets: u64,
    pub candidates: u64,
    keys: Vec<u32>,
    xor: Vec<u64>,
}

impl<'a> Prober<'a> {
    pub fn new(idx: &'a MihIndex, q: &'a [u64]) -> Self {
        let m = idx.sub.count();
        let qkeys: Vec<u32> = (0..m).map(|j| idx.sub.extract(q, j)).collect();
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by_key(|&j| (idx.tables[j].bucket_len(qkeys[j]), j));
        Self {
            idx,
            q,
            qkeys,
            order,
            buckets: 0,
            candidates: 0,
            keys: Vec::new(),
            xor: vec![0; q.len()],
        }
    }

    /// Probe every bucket of table `order[p]` at substring distance exactly `s`.
    pub fn probe<S: Sink>(&mut self, p: usize, s: u32, sink: &mut S) {
        let j = self.order[p];
        let len = self.idx.sub.len_of(j);
        if s > len {
            return;
        }
        let table = &self.idx.tables[j];
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        let qkey = self.qkeys[j];
        for_each_mask(len, s, |mask| keys.push(qkey ^ mask));
        self.buckets += keys.len() as u64;
        let offsets = table.offsets();
        for i in 0..keys.len() {
            if let Some(&k) = keys.get(i + PREFETCH_OFFSETS_AHEAD) {
                prefetch(offsets, k as usize);
            }
            if let Some(&k) = keys.get(i + PREFETCH_POSTINGS_AHEAD) {
                let start = offsets[k as usize] as usize;
                prefetch(table.rows(), start);
                if let Some(codes) = table.inline_codes() {
                    prefetch(codes, start * self.q.len());
                }
            }
            if table.inline_codes().is_none() {
                if let Some(&k) = keys.get(i + PREFETCH_CODES_AHEAD) {
                    let words = self.q.len();
                    let all = self.idx.code_words();
                    let ahead = table.bucket(k);
                    let end = ahead.end.min(ahead.start + PREFETCH_CODES_PER_BUCKET);
                    for &row in &table.rows()[ahead.start..end] {
                        prefetch(all, row as usize * words);
                    }
                }
            }
            let range = table.bucket(keys[i]);
            self.candidates += range.len() as u64;
            self.verify(table, range, p, s, sink);
        }
        self.keys = keys;
    }

    fn verify<S: Sink>(
        &mut self,
        table: &Table,
        range: std::ops::Range<usize>,
        p: usize,
        s: u32,
        sink: &mut S,
    ) {
        if range.is_empty() {
            return;
        }
        let words = self.q.len();
        let (idx, q, order) = (self.idx, self.q, &self.order);
        let xor = &mut self.xor;
        let rows = &table.rows()[range.clone()];
        match table.inline_codes() {
            Some(all) => {
                let codes = &all[range.start * words..range.end * words];
                idx.kernel.scan(q, codes, sink.limit(), |i, d| {
                    if sink.rejects(rows[i], d) {
                        // Rows ascend within a bucket: if this one ties the k-th distance and
                        // still loses, every later tie in this bucket loses too.
                        let limit = sink.limit();
                        return if d == limit {
                            limit.saturating_sub(1)
                        } else {
                            limit
                        };
                    }
                    let code = &codes[i * words..(i + 1) * words];
                    if first_probe(idx, order, q, code, xor, p, s) {
                        sink.accept(rows[i], d)
                    } else {
                        sink.limit()
                    }
                });
            }
            None => {
                let all = idx.code_words();
                for (i, &row) in rows.iter().enumerate() {
                    if let Some(&ahead) = rows.get(i + 4) {
                        prefetch(all, ahead as usize * words);
                    }
                    // A row past the end can only come from a damaged stored table: skip it;
                    // the database layer reports the damage when it maps rows to ids.
                    let Some(code) = all.get(row as usize * words..(row as usize + 1) * words)
                    else {
                        continue;
                    };
                    let d = idx.kernel.distance(q, code);
                    if d <= sink.limit()
                        && !sink.rejects(row, d)
                        && first_probe(idx, order, q, code, xor, p, s)
                    {
                        sink.accept(row, d);
                    }
                }
            }
        }
    }
}

/// True iff (s, p) is the first probe in the order that reaches `code` (see the module docs).
#[inline]
fn first_probe(
    idx: &MihIndex,
    order: &[usize],
    q: &[u64],
    code: &[u64],
    xor: &mut [u64],
    p: usize,
    s: u32,
) -> bool {
    for (x, (a, b)) in xor.iter_mut().zip(q.iter().zip(code)) {
        *x = a ^ b;
    }
    for (pp, &j) in order.iter().enumerate() {
        if pp == p {
            continue;
        }
        let dj = idx.sub.distance_in(xor, j);
        if (pp < p && dj <= s) || (pp > p && dj < s) {
            return false;
        }
    }
    true
}

/// Calls `f` with every `len`-bit value of popcount `s`, in increasing order (Gosper's hack).
pub(super) fn for_each_mask(len: u32, s: u32, mut f: impl FnMut(u32)) {
    if s > len {
        return;
    }
    if s == 0 {
        f(0);
        return;
    }
    let limit = 1u64 << len;
    let mut v: u64 = (1u64 << s) - 1;
    while v < limit {
        f(v as u32);
        let t = v | (v - 1);
        v = (t + 1) | (((!t & (t + 1)) - 1) >> (v.trailing_zeros() + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_enumerate_every_value_of_each_popcount_once() {
        for len in [1u32, 5, 10] {
            let mut all = Vec::new();
            for s in 0..=len + 1 {
                let mut these = Vec::new();
                for_each_mask(len, s, |m| these.push(m));
                assert!(these.iter().all(|m| m.count_ones() == s && *m < 1 << len));
                assert!(these.windows(2).all(|w| w[0] < w[1]));
                all.extend(these);
            }
            all.sort();
            assert_eq!(all, (0..1u32 << len).collect::<Vec<_>>());
        }
    }
}
