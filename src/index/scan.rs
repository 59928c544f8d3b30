//! Exact linear scan: k-NN, radius, a batched scan that shares each pass over the codes among
//! many queries, and a multi-threaded scan over partitions with a merge.

use super::{SearchPath, SearchResult, SearchStats, Want, MAX_ROWS};
use crate::code::{Code, CodeArray, CodeLen};
use crate::error::{Error, Result};
use crate::hamming::Kernel;
use crate::topk::{key, TopK};

/// Codes per block in a batched scan: 64 KiB of codes stays in L2 while every query of the
/// batch passes over it, so DRAM is read once per block, not once per query.
const BATCH_BLOCK_BYTES: usize = 64 * 1024;

/// Rows are offered in ascending order, so the tighter `limit_ascending` applies.
pub(crate) fn knn_into(kernel: Kernel, q: &[u64], codes: &[u64], row_base: u32, topk: &mut TopK) {
    kernel.scan(q, codes, topk.limit_ascending(), |i, d| {
        topk.offer(row_base + i as u32, d);
        topk.limit_ascending()
    });
}

pub(crate) fn radius_into(
    kernel: Kernel,
    q: &[u64],
    codes: &[u64],
    r: u32,
    keep: &dyn Fn(u32) -> bool,
    out: &mut Vec<u64>,
) {
    kernel.scan(q, codes, r, |i, d| {
        if keep(i as u32) {
            out.push(key(d, i as u32));
        }
        r
    });
}

/// Keeps every row.
pub(crate) fn keep_all(_: u32) -> bool {
    true
}

pub(crate) fn knn(
    kernel: Kernel,
    q: &[u64],
    codes: &[u64],
    k: usize,
    keep: &dyn Fn(u32) -> bool,
) -> Vec<(u32, u32)> {
    let mut topk = TopK::new(k);
    kernel.scan(q, codes, topk.limit_ascending(), |i, d| {
        if keep(i as u32) {
            topk.offer(i as u32, d);
        }
        topk.limit_ascending()
    });
    topk.into_sorted()
}

pub(crate) fn radius(
    kernel: Kernel,
    q: &[u64],
    codes: &[u64],
    r: u32,
    keep: &dyn Fn(u32) -> bool,
) -> Vec<(u32, u32)> {
    let mut keys = Vec::new();
    radius_into(kernel, q, codes, r, keep, &mut keys);
    keys.sort_unstable();
    keys.into_iter()
        .map(|k| ((k >> 32) as u32, k as u32))
        .collect()
}

/// Many queries, one pass over the codes per block.
pub(crate) fn knn_batch(
    kernel: Kernel,
    queries: &[u64],
    codes: &[u64],
    words: usize,
    k: usize,
) -> Vec<Vec<(u32, u32)>> {
    let mut tops: Vec<TopK> = queries.chunks_exact(words).map(|_| TopK::new(k)).collect();
    let block = (BATCH_BLOCK_BYTES / (8 * words)).max(1) * words;
    for (b, chunk) in codes.chunks(block).enumerate() {
        let base = (b * block / words) as u32;
        for (q, topk) in queries.chunks_exact(words).zip(tops.iter_mut()) {
            knn_into(kernel, q, chunk, base, topk);
        }
    }
    tops.into_iter().map(TopK::into_sorted).collect()
}

/// k-NN of many queries over the rows `keep` accepts, one pass over the codes per block (the
/// blocks stay in L2 while every query passes over them). Rows are offered in ascending order.
pub(crate) fn knn_batch_keep(
    kernel: Kernel,
    queries: &[u64],
    codes: &[u64],
    words: usize,
    k: usize,
    keep: &dyn Fn(u32) -> bool,
) -> Vec<Vec<(u32, u32)>> {
    if k == 0 {
        return queries.chunks_exact(words).map(|_| Vec::new()).collect();
    }
    let mut tops: Vec<TopK> = queries.chunks_exact(words).map(|_| TopK::new(k)).collect();
    let block = (BATCH_BLOCK_BYTES / (8 * words)).max(1) * words;
    for (b, chunk) in codes.chunks(block).enumerate() {
        let base = (b * block / words) as u32;
        for (q, topk) in queries.chunks_exact(words).zip(tops.iter_mut()) {
            kernel.scan(q, chunk, topk.limit_ascending(), |i, d| {
                let row = base + i as u32;
                if keep(row) {
                    topk.offer(row, d);
                }
                topk.limit_ascending()
            });
        }
    }
    tops.into_iter().map(TopK::into_sorted).collect()
}

/// Radius search of many queries over the rows `keep` accepts, one pass per block; each
/// result ascending by (distance, row).
pub(crate) fn radius_batch_keep(
    kernel: Kernel,
    queries: &[u64],
    codes: &[u64],
    words: usize,
    r: u32,
    keep: &dyn Fn(u32) -> bool,
) -> Vec<Vec<(u32, u32)>> {
    let mut keys: Vec<Vec<u64>> = queries.chunks_exact(words).map(|_| Vec::new()).collect();
    let block = (BATCH_BLOCK_BYTES / (8 * words)).max(1) * words;
    for (b, chunk) in codes.chunks(block).enumerate() {
        let base = (b * block / words) as u32;
        for (q, out) in queries.chunks_exact(words).zip(keys.iter_mut()) {
            kernel.scan(q, chunk, r, |i, d| {
                let row = base + i as u32;
                if keep(row) {
                    out.push(key(d, row));
                }
                r
            });
        }
    }
    keys.into_iter()
        .map(|mut ks| {
            ks.sort_unstable();
            ks.into_iter()
                .map(|k| ((k >> 32) as u32, k as u32))
                .collect()
        })
        .collect()
}

/// Split `n` items into `parts` contiguous ranges of nearly equal size.
pub(crate) fn partitions(n: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.clamp(1, n.max(1));
    (0..parts)
        .map(|p| n * p / parts..n * (p + 1) / parts)
        .collect()
}

/// Split a batch of queries (word form, `words` per query) into `threads` contiguous runs, run
/// `f` on each run in its own scoped thread, and concatenate the results in query order.
pub(crate) fn par_query_runs<T: Send>(
    queries: &[u64],
    words: usize,
    threads: usize,
    f: impl Fn(&[u64]) -> Vec<T> + Sync,
) -> Vec<T> {
    let parts = partitions(queries.len() / words, threads.max(1));
    let f = &f;
    let runs: Vec<Vec<T>> = crossbeam::scope(|s| {
        let hs: Vec<_> = parts
            .iter()
            .map(|r| {
                let qs = &queries[r.start * words..r.end * words];
                s.spawn(move |_| f(qs))
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("query worker panicked"))
            .collect()
    })
    .expect("query scope");
    runs.into_iter().flatten().collect()
}

/// One query over `threads` partitions of the codes, each with its own top-k, then a merge.
pub(crate) fn knn_parallel(
    kernel: Kernel,
    q: &[u64],
    codes: &[u64],
    words: usize,
    k: usize,
    threads: usize,
) -> Vec<(u32, u32)> {
    let n = codes.len() / words;
    let parts = partitions(n, threads);
    let tops: Vec<TopK> = crossbeam::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|r| {
                let chunk = &codes[r.start * words..r.end * words];
                let base = r.start as u32;
                s.spawn(move |_| {
                    let mut t = TopK::new(k);
                    knn_into(kernel, q, chunk, base, &mut t);
                    t
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("scan worker panicked"))
            .collect()
    })
    .expect("scan scope");
    let mut merged = TopK::new(k);
    for t in tops {
        merged.merge(t);
    }
    merged.into_sorted()
}

pub(crate) fn check_query(len: CodeLen, q: &Code) -> Result<()> {
    if q.bits() != len.bits() {
        return Err(Error::CodeLengthMismatch {
            expected: len.bits(),
            actual: q.bits(),
        });
    }
    Ok(())
}

pub(crate) fn check_queries(len: CodeLen, qs: &CodeArray) -> Result<()> {
    if qs.code_len() != len {
        return Err(Error::CodeLengthMismatch {
            expected: len.bits(),
            actual: qs.code_len().bits(),
        });
    }
    Ok(())
}

pub(crate) fn scan_stats(n: usize) -> SearchStats {
    SearchStats {
        path: Some(SearchPath::LinearScan),
        candidates_checked: n as u64,
        ..SearchStats::default()
    }
}

/// An exact index that scans every code: the reference every other path is tested against,
/// and the fastest choice when a query would touch most of the data anyway.
#[derive(Debug, Clone)]
pub struct ScanIndex {
    codes: CodeArray,
    kernel: Kernel,
}

impl ScanIndex {
    pub fn new(codes: CodeArray) -> Result<Self> {
        if codes.len() > MAX_ROWS {
            return Err(Error::TooManyCodes {
                count: codes.len(),
                limit: MAX_ROWS,
            });
        }
        Ok(Self {
            codes,
            kernel: Kernel::best(),
        })
    }

    /// Use a specific kernel (benchmarks and tests). Any [`Kernel`] value runs on this CPU:
    /// its constructors ([`Kernel::try_new`], [`Kernel::available`], ...) check the CPU.
    pub fn with_kernel(mut self, kernel: Kernel) -> Self {
        self.kernel = kernel;
        self
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn code_len(&self) -> CodeLen {
        self.codes.code_len()
    }

    pub fn codes(&self) -> &CodeArray {
        &self.codes
    }

    /// The `k` nearest codes, ascending by (distance, id). `k = 0` gives an empty result.
    pub fn search(&self, query: &Code, k: usize) -> Result<SearchResult> {
        check_query(self.code_len(), query)?;
        if k == 0 || self.is_empty() {
            return Ok(SearchResult::default());
        }
        let pairs = knn(
            self.kernel,
            query.words(),
            self.codes.as_words(),
            k,
            &keep_all,
        );
        Ok(SearchResult::from_pairs(pairs, scan_stats(self.len())))
    }

    /// Every code within distance `r` (inclusive), ascending by (distance, id).
    pub fn search_radius(&self, query: &Code, r: u32) -> Result<SearchResult> {
        check_query(self.code_len(), query)?;
        let pairs = radius(
            self.kernel,
            query.words(),
            self.codes.as_words(),
            r,
            &keep_all,
        );
        Ok(SearchResult::from_pairs(pairs, scan_stats(self.len())))
    }

    /// k-NN over the rows `keep` accepts.
    pub fn search_filtered(
        &self,
        query: &Code,
        k: usize,
        keep: &dyn Fn(u32) -> bool,
    ) -> Result<SearchResult> {
        check_query(self.code_len(), query)?;
        if k == 0 || self.is_empty() {
            return Ok(SearchResult::default());
        }
        let pairs = knn(self.kernel, query.words(), self.codes.as_words(), k, keep);
        Ok(SearchResult::from_pairs(pairs, scan_stats(self.len())))
    }

    /// Radius search over the rows `keep` accepts.
    pub fn search_radius_filtered(
        &self,
        query: &Code,
        r: u32,
        keep: &dyn Fn(u32) -> bool,
    ) -> Result<SearchResult> {
        check_query(self.code_len(), query)?;
        let pairs = radius(self.kernel, query.words(), self.codes.as_words(), r, keep);
        Ok(SearchResult::from_pairs(pairs, scan_stats(self.len())))
    }

    /// Every query of a batch (word form) over the rows `keep` accepts, in shared passes.
    pub(crate) fn search_many_words(
        &self,
        queries: &[u64],
        want: Want,
        keep: &dyn Fn(u32) -> bool,
    ) -> Vec<SearchResult> {
        let words = self.code_len().words();
        let codes = self.codes.as_words();
        let pairs = match want {
            Want::Knn(k) => knn_batch_keep(self.kernel, queries, codes, words, k, keep),
            Want::Radius(r) => radius_batch_keep(self.kernel, queries, codes, words, r, keep),
        };
        pairs
            .into_iter()
            .map(|p| SearchResult::from_pairs(p, scan_stats(self.len())))
            .collect()
    }

    /// k-NN for many queries in one shared pass over the codes.
    pub fn search_batch(&self, queries: &CodeArray, k: usize) -> Result<Vec<SearchResult>> {
        check_queries(self.code_len(), queries)?;
        if k == 0 || self.is_empty() {
            return Ok(vec![SearchResult::default(); queries.len()]);
        }
        let words = self.code_len().words();
        let res = knn_batch(
            self.kernel,
            queries.as_words(),
            self.codes.as_words(),
            words,
            k,
        );
        Ok(res
            .into_iter()
            .map(|p| SearchResult::from_pairs(p, scan_stats(self.len())))
            .collect())
    }

    /// k-NN for many queries on `threads` threads: queries are split among threads and each
    /// runs the shared-pass batch scan over all codes.
    pub fn search_batch_parallel(
        &self,
        queries: &CodeArray,
        k: usize,
        threads: usize,
    ) -> Result<Vec<SearchResult>> {
        check_queries(self.code_len(), queries)?;
        if threads <= 1 || queries.len() < 2 {
            return self.search_batch(queries, k);
        }
        if k == 0 || self.is_empty() {
            return Ok(vec![SearchResult::default(); queries.len()]);
        }
        let words = self.code_len().words();
        let codes = self.codes.as_words();
        let kernel = self.kernel;
        let pairs = par_query_runs(queries.as_words(), words, threads, |qs| {
            knn_batch(kernel, qs, codes, words, k)
        });
        Ok(pairs
            .into_iter()
            .map(|p| SearchResult::from_pairs(p, scan_stats(self.len())))
            .collect())
    }

    /// One query's k-NN scanned by `threads` threads over partitions of the codes.
    pub fn search_parallel(&self, query: &Code, k: usize, threads: usize) -> Result<SearchResult> {
        check_query(self.code_len(), query)?;
        if k == 0 || self.is_empty() {
            return Ok(SearchResult::default());
        }
        let words = self.code_len().words();
        let pairs = knn_parallel(
            self.kernel,
            query.words(),
            self.codes.as_words(),
            words,
            k,
            threads.max(1),
        );
        Ok(SearchResult::from_pairs(pairs, scan_stats(self.len())))
    }
}
