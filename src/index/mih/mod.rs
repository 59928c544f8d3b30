//! Exact multi-index hashing (Norouzi, Punjani, Fleet, "Fast Exact Search in Hamming Space with
//! Multi-Index Hashing", TPAMI 2014).
//!
//! Each b-bit code is cut into m disjoint substrings ([`substrings`]); table j maps the value of
//! substring j to the rows that have it ([`table`]). Two codes within r bits agree to within
//! floor(r/m) bits on at least one substring, so probing the buckets near the query's
//! substrings finds every candidate, and each candidate's full distance decides ([`probe`]).
//! k-NN grows the substring radius until the k-th best distance is covered; radius search
//! probes exactly the buckets the pigeonhole rule requires. A per-query cost model ([`cost`])
//! answers with a linear scan instead when MIH would touch most of the data.

mod choose;
mod cost;
mod probe;
mod substrings;
mod table;

use super::scan::{self, check_queries, check_query, keep_all, scan_stats};
use super::{PathPolicy, SearchPath, SearchResult, SearchStats, Want, MAX_ROWS};
use crate::code::{Code, CodeArray, CodeLen};
use crate::error::{Error, Result};
use crate::hamming::Kernel;
use crate::slab::Slab;
use crate::topk::TopK;
use cost::CostModel;
use probe::{Filtered, Prober, RadiusSink};
use substrings::Substrings;
use table::Table;

pub use substrings::MAX_SUBSTRING_BITS;

/// How to build a [`MihIndex`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MihOptions {
    /// Number of substrings m; `None` picks m near b / log2(n). Each table holds 2^(b/m) + 1
    /// u32 offsets whatever n is, so a small m over few codes costs memory, not correctness.
    pub substrings: Option<usize>,
    /// Store each posting's code beside it for streaming verification; `None` inlines codes of
    /// up to 64 bits (one word: 8 bytes per posting), where it pays for itself.
    pub inline_codes: Option<bool>,
    /// The default path policy of searches on this index.
    pub policy: PathPolicy,
    /// Cut the tables for radius searches at this radius (when `substrings` is `None`): the
    /// cost model picks m within a memory bound (see `choose`). `None`: the k-NN default.
    pub expected_radius: Option<u32>,
}

/// One stored table: offsets, postings, and inline codes if any.
pub type StoredTable = (Slab<u32>, Slab<u32>, Option<Slab<u64>>);

/// One table's arrays (see [`MihIndex::parts`]).
#[derive(Debug, Clone, Copy)]
pub struct TableParts<'a> {
    pub offsets: &'a [u32],
    pub rows: &'a [u32],
    pub codes: Option<&'a [u64]>,
}

/// Everything besides the codes that a stored index needs.
#[derive(Debug, Clone)]
pub struct MihParts<'a> {
    pub substrings: usize,
    pub inline_codes: bool,
    pub tables: Vec<TableParts<'a>>,
    pub within: &'a [f64],
    pub sub_within: &'a [f64],
}

/// An exact Hamming index over a fixed set of codes.
#[derive(Debug, Clone)]
pub struct MihIndex {
    len: CodeLen,
    codes: Slab<u64>,
    sub: Substrings,
    tables: Vec<Table>,
    cost: CostModel,
    kernel: Kernel,
    policy: PathPolicy,
}

impl MihIndex {
    /// Build the tables over `codes`; row `i` of the array is result id `i`.
    pub fn build(codes: CodeArray, options: MihOptions) -> Result<Self> {
        let n = codes.len();
        if n > MAX_ROWS {
            return Err(Error::TooManyCodes {
                count: n,
                limit: MAX_ROWS,
            });
        }
        let len = codes.code_len();
        let words = len.words();
        let inline = options.inline_codes.unwrap_or(words == 1);
        let m = match (options.substrings, options.expected_radius) {
            (Some(m), _) => m,
            (None, Some(r)) if n >= 2 => choose::count_for_radius(len, codes.as_words(), inline, r),
            (None, _) => substrings::default_count(len, n, inline && words == 1),
        };
        let sub = Substrings::new(len, m)?;
        let tables = (0..m)
            .map(|j| Table::build(&sub, j, codes.as_words(), words, inline))
            .collect();
        let kernel = Kernel::best();
        let cost = CostModel::sample(kernel, &sub, codes.as_words(), words, len.bits(), inline);
        Ok(Self {
            len,
            codes: Slab::from_words(codes.into_words()),
            sub,
            tables,
            cost,
            kernel,
            policy: options.policy,
        })
    }

    /// Use a specific kernel (benchmarks and tests). Any [`Kernel`] value runs on this CPU:
    /// its constructors ([`Kernel::try_new`], [`Kernel::available`], ...) check the CPU.
    pub fn with_kernel(mut self, kernel: Kernel) -> Self {
        self.kernel = kernel;
        self
    }

    pub fn set_policy(&mut self, policy: PathPolicy) {
        self.policy = policy;
    }

    pub fn len(&self) -> usize {
        self.codes.len() / self.len.words()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn code_len(&self) -> CodeLen {
        self.len
    }

    /// All codes in word form, row order.
    pub fn code_words(&self) -> &[u64] {
        &self.codes
    }

    /// The flat arrays this index is made of, for storing it (see [`MihIndex::from_stored`]).
    pub fn parts(&self) -> MihParts<'_> {
        MihParts {
            substrings: self.sub.count(),
            inline_codes: self
                .tables
                .first()
                .is_some_and(|t| t.inline_codes().is_some()),
            tables: self
                .tables
                .iter()
                .map(|t| TableParts {
                    offsets: t.offsets(),
                    rows: t.rows(),
                    codes: t.inline_codes(),
                })
                .collect(),
            within: self.cost.within(),
            sub_within: self.cost.sub_within(),
        }
    }

    /// An index over stored arrays (for example memory-mapped from a database file): no
    /// rebuild. Shapes are validated; row values are bounds-checked where the probe uses them.
    #[allow(clippy::too_many_arguments)]
    pub fn from_stored(
        len: CodeLen,
        codes: Slab<u64>,
        substrings: usize,
        tables: Vec<StoredTable>,
        within: Vec<f64>,
        sub_within: Vec<f64>,
        policy: PathPolicy,
    ) -> Result<Self> {
        let words = len.words();
        if !codes.len().is_multiple_of(words) {
            return Err(Error::param("codes", "ragged code array"));
        }
        let n = codes.len() / words;
        let sub = Substrings::new(len, substrings)?;
        if tables.len() != substrings {
            return Err(Error::param(
                "tables",
                format!("{} tables for {substrings} substrings", tables.len()),
            ));
        }
        let inline = tables.first().is_some_and(|t| t.2.is_some());
        let tables = tables
            .into_iter()
            .enumerate()
            .map(|(j, (o, r, c))| {
                if c.is_some() != inline {
                    return Err(Error::param("tables", "inline codes in some tables only"));
                }
                Table::from_parts(o, r, c, sub.len_of(j), n, words)
                    .map_err(|e| Error::param("tables", e))
            })
            .collect::<Result<Vec<_>>>()?;
        let cost = CostModel::from_parts(n, words, inline, within, sub_within, len.bits(), &sub)
            .map_err(|e| Error::param("cost model", e))?;
        Ok(Self {
            len,
            codes,
            sub,
            tables,
            cost,
            kernel: Kernel::best(),
            policy,
        })
    }

    /// The number of substrings (tables), m.
    pub fn substrings(&self) -> usize {
        self.sub.count()
    }

    pub fn substring_lens(&self) -> &[u32] {
        self.sub.lens()
    }

    /// Bytes held by the index: codes plus every table (offsets, postings, inline codes).
    pub fn memory_bytes(&self) -> usize {
        self.codes.len() * 8 + self.tables.iter().map(Table::bytes).sum::<usize>()
    }

    /// The predicted k-th neighbour distance of a typical query (from the build-time sample).
    pub fn predicted_knn_radius(&self, k: usize) -> u32 {
        self.cost.predicted_knn_radius(k)
    }

    /// The `k` nearest codes, ascending by (distance, id); exact. `k = 0` gives an empty result.
    pub fn search(&self, query: &Code, k: usize) -> Result<SearchResult> {
        self.search_with(query, k, self.policy)
    }

    pub fn search_with(&self, query: &Code, k: usize, policy: PathPolicy) -> Result<SearchResult> {
        check_query(self.code_len(), query)?;
        Ok(self.knn(query.words(), k, policy, &keep_all))
    }

    /// k-NN over the rows `keep` accepts (the database passes deleted rows and class filters).
    pub fn search_filtered(
        &self,
        query: &Code,
        k: usize,
        policy: PathPolicy,
        keep: &dyn Fn(u32) -> bool,
    ) -> Result<SearchResult> {
        check_query(self.code_len(), query)?;
        Ok(self.knn(query.words(), k, policy, keep))
    }

    /// Radius search over the rows `keep` accepts.
    pub fn search_radius_filtered(
        &self,
        query: &Code,
        r: u32,
        policy: PathPolicy,
        keep: &dyn Fn(u32) -> bool,
    ) -> Result<SearchResult> {
        check_query(self.code_len(), query)?;
        Ok(self.radius(query.words(), r, policy, keep))
    }

    /// Every code within distance `r` (inclusive), ascending by (distance, id); exact.
    /// `r >= bits` gives every code.
    pub fn search_radius(&self, query: &Code, r: u32) -> Result<SearchResult> {
        self.search_radius_with(query, r, self.policy)
    }

    pub fn search_radius_with(
        &self,
        query: &Code,
        r: u32,
        policy: PathPolicy,
    ) -> Result<SearchResult> {
        check_query(self.code_len(), query)?;
        Ok(self.radius(query.words(), r, policy, &keep_all))
    }

    /// k-NN for every query of a batch.
    pub fn search_batch(&self, queries: &CodeArray, k: usize) -> Result<Vec<SearchResult>> {
        check_queries(self.code_len(), queries)?;
        Ok(queries
            .iter()
            .map(|q| self.knn(q, k, self.policy, &keep_all))
            .collect())
    }

    /// k-NN for every query of a batch, queries split over `threads` threads.
    pub fn search_batch_parallel(
        &self,
        queries: &CodeArray,
        k: usize,
        threads: usize,
    ) -> Result<Vec<SearchResult>> {
        check_queries(self.code_len(), queries)?;
        let words = self.code_len().words();
        Ok(scan::par_query_runs(
            queries.as_words(),
            words,
            threads,
            |qs| {
                qs.chunks_exact(words)
                    .map(|q| self.knn(q, k, self.policy, &keep_all))
                    .collect()
            },
        ))
    }

    /// True when the cost model sends a typical query of this kind to a linear scan (so a
    /// batch of them is best answered by one shared scan).
    pub(crate) fn plans_scan(&self, want: Want) -> bool {
        match self.policy {
            PathPolicy::ForceScan => return true,
            PathPolicy::ForceMih => return false,
            PathPolicy::Auto => {}
        }
        let scan_ns = self.cost.scan_ns();
        match want {
            Want::Knn(k) => {
                self.cost
                    .mih_ns(&self.sub, self.cost.predicted_knn_radius(k.max(1)))
                    > scan_ns
            }
            Want::Radius(r) => {
                r as usize >= self.len.bits() || self.cost.mih_ns(&self.sub, r) > scan_ns
            }
        }
    }

    /// Every query of a batch (word form, row order) over the rows `keep` accepts: one
    /// blocked scan shared by the batch when [`MihIndex::plans_scan`] says so, else MIH per
    /// query (each still free to switch to a scan on its own).
    pub(crate) fn search_many_words(
        &self,
        queries: &[u64],
        want: Want,
        keep: &dyn Fn(u32) -> bool,
    ) -> Vec<SearchResult> {
        let words = self.len.words();
        let nq = queries.len() / words;
        if nq >= 2 && !self.is_empty() && self.plans_scan(want) {
            let pairs = match want {
                Want::Knn(k) => {
                    scan::knn_batch_keep(self.kernel, queries, &self.codes, words, k, keep)
                }
                Want::Radius(r) => {
                    scan::radius_batch_keep(self.kernel, queries, &self.codes, words, r, keep)
                }
            };
            return pairs
                .into_iter()
                .map(|p| SearchResult::from_pairs(p, scan_stats(self.len())))
                .collect();
        }
        queries
            .chunks_exact(words)
            .map(|q| match want {
                Want::Knn(k) => self.knn(q, k, self.policy, keep),
                Want::Radius(r) => self.radius(q, r, self.policy, keep),
            })
            .collect()
    }

    fn scan_knn(&self, q: &[u64], k: usize, keep: &dyn Fn(u32) -> bool) -> Vec<(u32, u32)> {
        scan::knn(self.kernel, q, &self.codes, k, keep)
    }

    fn knn(
        &self,
        q: &[u64],
        k: usize,
        policy: PathPolicy,
        keep: &dyn Fn(u32) -> bool,
    ) -> SearchResult {
        let n = self.len();
        if k == 0 || n == 0 {
            return SearchResult::default();
        }
        let k = k.min(n);
        let m = self.sub.count() as u32;
        let scan_ns = self.cost.scan_ns();
        if policy == PathPolicy::ForceScan
            || (policy == PathPolicy::Auto
                && self
                    .cost
                    .mih_ns(&self.sub, self.cost.predicted_knn_radius(k))
                    > scan_ns)
        {
            return SearchResult::from_pairs(self.scan_knn(q, k, keep), scan_stats(n));
        }
        let mut prober = Prober::new(self, q);
        let mut topk = Filtered {
            inner: TopK::new(k),
            keep,
        };
        let max_len = self.sub.lens().iter().copied().max().unwrap_or(0);
        let mut last_s = 0;
        'levels: for s in 0..=max_len {
            last_s = s;
            for p in 0..m as usize {
                prober.probe(p, s, &mut topk);
                if let Some(kth) = topk.inner.kth_distance() {
                    if kth <= s * m + p as u32 {
                        break 'levels;
                    }
                }
                if policy == PathPolicy::Auto
                    && self.cost.work_ns(prober.buckets, prober.candidates) > scan_ns
                {
                    let stats = SearchStats {
                        path: Some(SearchPath::MihThenScan),
                        buckets_probed: prober.buckets,
                        candidates_checked: prober.candidates + n as u64,
                        substring_radius: Some(s),
                    };
                    return SearchResult::from_pairs(self.scan_knn(q, k, keep), stats);
                }
            }
        }
        let stats = SearchStats {
            path: Some(SearchPath::Mih),
            buckets_probed: prober.buckets,
            candidates_checked: prober.candidates,
            substring_radius: Some(last_s),
        };
        SearchResult::from_pairs(topk.inner.into_sorted(), stats)
    }

    pub(crate) fn radius(
        &self,
        q: &[u64],
        r: u32,
        policy: PathPolicy,
        keep: &dyn Fn(u32) -> bool,
    ) -> SearchResult {
        let n = self.len();
        if n == 0 {
            return SearchResult::default();
        }
        let bits = self.code_len().bits() as u32;
        let m = self.sub.count() as u32;
        let (s_max, t) = (r / m, r % m);
        let scan_ns = self.cost.scan_ns();
        let scan_all = |this: &Self| {
            SearchResult::from_pairs(
                scan::radius(this.kernel, q, &this.codes, r, keep),
                scan_stats(n),
            )
        };
        if policy == PathPolicy::ForceScan
            || (policy == PathPolicy::Auto
                && (r >= bits || self.cost.mih_ns(&self.sub, r) > scan_ns))
        {
            return scan_all(self);
        }
        // Pigeonhole with r = s_max*m + t: tables at positions 0..=t need radius s_max, the rest
        // s_max - 1; a code within r cannot exceed both in every table.
        let mut prober = Prober::new(self, q);
        let mut sink = Filtered {
            inner: RadiusSink {
                r,
                keys: Vec::new(),
            },
            keep,
        };
        let max_len = self.sub.lens().iter().copied().max().unwrap_or(0);
        for s in 0..=s_max.min(max_len) {
            for p in 0..m as usize {
                if s == s_max && p as u32 > t {
                    break;
                }
                prober.probe(p, s, &mut sink);
                if policy == PathPolicy::Auto
                    && self.cost.work_ns(prober.buckets, prober.candidates) > scan_ns
                {
                    let mut res = scan_all(self);
                    res.stats = SearchStats {
                        path: Some(SearchPath::MihThenScan),
                        buckets_probed: prober.buckets,
                        candidates_checked: prober.candidates + n as u64,
                        substring_radius: Some(s),
                    };
                    return res;
                }
            }
        }
        let mut keys = sink.inner.keys;
        keys.sort_unstable();
        let pairs = keys
            .into_iter()
            .map(|k| ((k >> 32) as u32, k as u32))
            .collect();
        let stats = SearchStats {
            path: Some(SearchPath::Mih),
            buckets_probed: prober.buckets,
            candidates_checked: prober.candidates,
            substring_radius: Some(s_max.min(max_len)),
        };
        SearchResult::from_pairs(pairs, stats)
    }
}
