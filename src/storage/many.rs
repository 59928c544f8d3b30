//! Batched searches: many queries against one snapshot in one call.
//!
//! The batch is cut into contiguous runs of queries, one per thread (see `crate::threads` for
//! how many threads a call gets); each run visits every segment once. Per segment the plan is
//! made for the whole run: when the segment's cost model sends a typical query of this kind to
//! a linear scan, the run is answered by one blocked scan that every query of the run shares
//! (each block of codes is read from memory once per run, not once per query); otherwise each
//! query takes MIH (and may still switch to a scan on its own). The delta is always scanned in
//! shared passes. Results are exactly those of the one-query calls, query by query.

use super::snapshot::{want_k, Merge, Snapshot};
use super::values::QueryResult;
use crate::code::CodeArray;
use crate::error::{Error, Result};
use crate::index::Want;
use crate::threads;

/// Fewest queries worth a thread of their own: below this a thread costs more than it saves.
const MIN_QUERIES_PER_THREAD: usize = 16;

/// How a batched search runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchManyOptions {
    /// Keep only items with this label (as the one-query searches' `class`).
    pub class: Option<u32>,
    /// Threads: 0 = automatic (up to one per core, shared with the process's other batched
    /// calls so that concurrent callers do not oversubscribe the cores); n = exactly n (at most
    /// [`crate::MAX_THREADS`], and never more than the batch has runs of 16 queries).
    pub threads: usize,
}

impl Snapshot {
    /// The `k` nearest live items of every query, in query order; each result is exactly
    /// [`Snapshot::search`]'s for that query.
    pub fn search_many(
        &self,
        queries: &CodeArray,
        k: usize,
        options: &SearchManyOptions,
    ) -> Result<Vec<QueryResult>> {
        self.many(queries, Want::Knn(k), options)
    }

    /// Every live item within distance `r` of every query, in query order; each result is
    /// exactly [`Snapshot::search_radius`]'s for that query.
    pub fn search_radius_many(
        &self,
        queries: &CodeArray,
        r: u32,
        options: &SearchManyOptions,
    ) -> Result<Vec<QueryResult>> {
        self.many(queries, Want::Radius(r), options)
    }

    fn many(
        &self,
        queries: &CodeArray,
        want: Want,
        options: &SearchManyOptions,
    ) -> Result<Vec<QueryResult>> {
        if queries.code_len() != self.len {
            return Err(Error::CodeLengthMismatch {
                expected: self.len.bits(),
                actual: queries.code_len().bits(),
            });
        }
        threads::check(options.threads)?;
        let n = queries.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let words = self.len.words();
        let lease = threads::lease(options.threads, n.div_ceil(MIN_QUERIES_PER_THREAD));
        let all = queries.as_words();
        if lease.threads() <= 1 {
            return self.run(all, want, options.class);
        }
        let runs: Vec<&[u64]> = (0..lease.threads())
            .map(|t| {
                let (a, b) = (n * t / lease.threads(), n * (t + 1) / lease.threads());
                &all[a * words..b * words]
            })
            .collect();
        let parts = std::thread::scope(|s| {
            let hs: Vec<_> = runs
                .into_iter()
                .map(|qs| s.spawn(move || self.run(qs, want, options.class)))
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect::<Vec<_>>()
        });
        let mut out = Vec::with_capacity(n);
        for p in parts {
            out.extend(p?);
        }
        Ok(out)
    }

    /// One run of queries (word form) on the calling thread.
    fn run(&self, queries: &[u64], want: Want, class: Option<u32>) -> Result<Vec<QueryResult>> {
        let nq = queries.len() / self.len.words();
        let mut merges: Vec<Merge> = (0..nq).map(|_| Merge::default()).collect();
        // Sources holding items of several codes take their queries one by one (a k-NN query
        // there reads rows until it has k distinct items; see `distinct_knn`).
        let codes = || CodeArray::from_words(self.len, queries);
        for (si, (seg, _)) in self.segments.iter().enumerate() {
            let keep = |row: u32| self.keeps_segment_row(si, class, row);
            if seg.is_multi() {
                let qs = codes()?;
                for (q, m) in merges.iter_mut().enumerate() {
                    let code = qs.get(q).expect("in range");
                    m.add_segment(self, si, &self.segment_search(si, &code, want, &keep)?)?;
                }
                continue;
            }
            let results = seg.index.search_many_words(queries, want, &keep);
            for (m, res) in merges.iter_mut().zip(&results) {
                m.add_segment(self, si, res)?;
            }
        }
        if !self.delta_ids.is_empty() {
            let keep = |row: u32| self.keeps_delta_row(class, row);
            if self.delta_multi {
                let qs = codes()?;
                for (q, m) in merges.iter_mut().enumerate() {
                    let code = qs.get(q).expect("in range");
                    m.add_delta(self, &self.delta_search(&code, want, &keep)?);
                }
            } else {
                let results = self.delta.search_many_words(queries, want, &keep);
                for (m, res) in merges.iter_mut().zip(&results) {
                    m.add_delta(self, res);
                }
            }
        }
        merges
            .into_iter()
            .map(|m| m.finish(self, want_k(want)))
            .collect()
    }
}
