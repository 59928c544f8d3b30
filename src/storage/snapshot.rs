//! `Snapshot`: one commit's state, immutable, for any number of readers, and its queries.
//! Each segment's MIH (with its own path choice) and a scan of the delta return their best k
//! by (distance, id); the results are merged, so a search is exact with deterministic ties.
//!
//! Items of several codes: an item owns one row per code, and every answer lists an item once,
//! at its least distance over its codes (and over the query's codes, for a query of several).
//! A k-NN search of a source holding such items asks its index for rows until they name k
//! distinct items (see [`distinct_knn`]); a source of one-code items is searched as before.

use super::segment::Segment;
use super::state::DeletedRows;
use super::values::{Hit, Item, QueryResult};
use crate::code::{Code, CodeArray, CodeLen};
use crate::error::{Error, Result};
use crate::index::{PathPolicy, ScanIndex, SearchPath, SearchStats, Want};
use std::collections::HashSet;
use std::sync::Arc;

/// A consistent, immutable view of one commit, for searching.
pub struct Snapshot {
    pub(super) len: CodeLen,
    pub(super) txn: u64,
    pub(super) segments: Vec<(Arc<Segment>, DeletedRows)>,
    /// Per delta row (code); an item of several codes repeats its id on each of its rows.
    pub(super) delta_ids: Vec<u64>,
    /// Whether some delta item holds several codes.
    pub(super) delta_multi: bool,
    pub(super) delta: ScanIndex,
    pub(super) delta_labels: Vec<Option<u32>>,
    pub(super) delta_payloads: Vec<Arc<[u8]>>,
    pub(super) items: u64,
}

impl Snapshot {
    pub fn txn(&self) -> u64 {
        self.txn
    }

    /// Live items in this snapshot.
    pub fn len(&self) -> u64 {
        self.items
    }

    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    fn check(&self, q: &Code) -> Result<()> {
        if q.len() != self.len {
            return Err(Error::CodeLengthMismatch {
                expected: self.len.bits(),
                actual: q.bits(),
            });
        }
        Ok(())
    }

    /// The `k` nearest live items, ascending by (distance, id); `class` keeps only items with
    /// that label. Exact: each segment and the delta return their own best k, merged. An item
    /// of several codes counts once, at its least distance.
    pub fn search(&self, query: &Code, k: usize, class: Option<u32>) -> Result<QueryResult> {
        self.check(query)?;
        self.collect(query, Want::Knn(k), class)
    }

    /// Every live item within distance `r`, ascending by (distance, id).
    pub fn search_radius(&self, query: &Code, r: u32, class: Option<u32>) -> Result<QueryResult> {
        self.check(query)?;
        self.collect(query, Want::Radius(r), class)
    }

    /// Class-aware ranking (SSDH's one network that classifies and hashes): the `k` nearest
    /// live items of `class` (the query's predicted class) first, then the nearest of the
    /// other items, each group ascending by (distance, id). Exact within each group. When
    /// `class` has at least `k` items this is one class-filtered search; otherwise every item
    /// of `class` is in the first group and one unfiltered search supplies the rest (its top
    /// `k` hold at most that many items of `class`, so at least the `k` needed others).
    pub fn search_class_first(&self, query: &Code, k: usize, class: u32) -> Result<QueryResult> {
        check_class(class)?;
        let mut first = self.search(query, k, Some(class))?;
        if first.hits.len() >= k {
            return Ok(first);
        }
        let rest = self.search(query, k, None)?;
        let need = k - first.hits.len();
        first.hits.extend(
            rest.hits
                .into_iter()
                .filter(|h| h.label != Some(class))
                .take(need),
        );
        first.stats.buckets_probed += rest.stats.buckets_probed;
        first.stats.candidates_checked += rest.stats.candidates_checked;
        Ok(first)
    }

    /// Every live item within distance `r`: those of `class` first, then the others, each
    /// group ascending by (distance, id).
    pub fn search_radius_class_first(
        &self,
        query: &Code,
        r: u32,
        class: u32,
    ) -> Result<QueryResult> {
        check_class(class)?;
        let mut res = self.search_radius(query, r, None)?;
        // A stable partition keeps each group in (distance, id) order.
        let (mut first, rest): (Vec<_>, Vec<_>) =
            res.hits.into_iter().partition(|h| h.label == Some(class));
        first.extend(rest);
        res.hits = first;
        Ok(res)
    }

    /// The `k` nearest live items to a query of several codes (an image's variants, a clip's
    /// frames): an item's distance is the least over every (query code, item code) pair.
    /// Exact: an item among the k nearest under that distance is among the k nearest to the
    /// query code that attains it, so the union of the per-code answers holds the answer.
    pub fn search_set(
        &self,
        queries: &CodeArray,
        k: usize,
        class: Option<u32>,
    ) -> Result<QueryResult> {
        self.set(queries, Want::Knn(k), class)
    }

    /// Every live item within distance `r` of any code of the query, once, at its least
    /// distance.
    pub fn search_radius_set(
        &self,
        queries: &CodeArray,
        r: u32,
        class: Option<u32>,
    ) -> Result<QueryResult> {
        self.set(queries, Want::Radius(r), class)
    }

    fn set(&self, queries: &CodeArray, want: Want, class: Option<u32>) -> Result<QueryResult> {
        if queries.code_len() != self.len {
            return Err(Error::CodeLengthMismatch {
                expected: self.len.bits(),
                actual: queries.code_len().bits(),
            });
        }
        if queries.is_empty() {
            return Err(Error::param(
                "queries",
                "a query set needs at least one code",
            ));
        }
        let mut hits = Vec::new();
        let mut stats = SearchStats::default();
        for q in 0..queries.len() {
            let code = queries.get(q).expect("in range");
            let res = self.collect(&code, want, class)?;
            stats.buckets_probed += res.stats.buckets_probed;
            stats.candidates_checked += res.stats.candidates_checked;
            stats.path = stats.path.or(res.stats.path);
            stats.substring_radius = stats.substring_radius.max(res.stats.substring_radius);
            hits.extend(res.hits);
        }
        hits.sort_unstable_by_key(|h| (h.distance, h.id));
        let mut seen = HashSet::with_capacity(hits.len());
        hits.retain(|h| seen.insert(h.id));
        if let Want::Knn(k) = want {
            hits.truncate(k);
        }
        Ok(QueryResult { hits, stats })
    }

    /// One segment's answer to one query, over rows `keep` accepts: every row within the
    /// radius, or rows enough to name the k nearest distinct items.
    pub(super) fn segment_search(
        &self,
        si: usize,
        query: &Code,
        want: Want,
        keep: &dyn Fn(u32) -> bool,
    ) -> Result<crate::SearchResult> {
        let seg = &self.segments[si].0;
        match want {
            Want::Knn(k) => distinct_knn(
                k,
                seg.is_multi(),
                |kk| seg.index.search_filtered(query, kk, PathPolicy::Auto, keep),
                |row| seg.ids.get(row as usize).copied(),
            ),
            Want::Radius(r) => seg
                .index
                .search_radius_filtered(query, r, PathPolicy::Auto, keep),
        }
    }

    /// The delta's answer to one query (as [`Snapshot::segment_search`]).
    pub(super) fn delta_search(
        &self,
        query: &Code,
        want: Want,
        keep: &dyn Fn(u32) -> bool,
    ) -> Result<crate::SearchResult> {
        match want {
            Want::Knn(k) => distinct_knn(
                k,
                self.delta_multi,
                |kk| self.delta.search_filtered(query, kk, keep),
                |row| self.delta_ids.get(row as usize).copied(),
            ),
            Want::Radius(r) => self.delta.search_radius_filtered(query, r, keep),
        }
    }

    /// Whether row `row` of segment `si` is live and of `class`.
    pub(super) fn keeps_segment_row(&self, si: usize, class: Option<u32>, row: u32) -> bool {
        let (seg, deleted) = &self.segments[si];
        !deleted.get(row as usize).map(|b| *b).unwrap_or(true)
            && class.is_none_or(|c| seg.label(row) == Some(c))
    }

    /// Whether row `row` of the delta is of `class`.
    pub(super) fn keeps_delta_row(&self, class: Option<u32>, row: u32) -> bool {
        class.is_none_or(|c| self.delta_labels.get(row as usize).copied().flatten() == Some(c))
    }

    /// Search every segment and the delta, keep live rows of `class`, and merge by (distance,
    /// id), one hit per item, truncated to k for a k-NN search.
    fn collect(&self, query: &Code, want: Want, class: Option<u32>) -> Result<QueryResult> {
        let mut merge = Merge::default();
        for si in 0..self.segments.len() {
            let keep = |row: u32| self.keeps_segment_row(si, class, row);
            merge.add_segment(self, si, &self.segment_search(si, query, want, &keep)?)?;
        }
        if !self.delta_ids.is_empty() {
            let keep = |row: u32| self.keeps_delta_row(class, row);
            merge.add_delta(self, &self.delta_search(query, want, &keep)?);
        }
        merge.finish(self, want_k(want))
    }

    /// The live item with this id, if any: its codes, label and payload.
    pub fn get(&self, id: u64) -> Result<Option<Item>> {
        let w = self.len.words();
        let item = |words: &[u64], label, payload: &[u8]| -> Result<Item> {
            let codes = CodeArray::from_words(self.len, words)?;
            let mut all = (0..codes.len()).map(|i| codes.get(i).expect("in range"));
            let code = all
                .next()
                .ok_or_else(|| Error::corrupt(format!("item {id} has no code")))?;
            Ok(Item {
                id,
                code,
                more_codes: all.collect(),
                label,
                payload: payload.to_vec(),
            })
        };
        let first = self.delta_ids.partition_point(|&x| x < id);
        if self.delta_ids.get(first) == Some(&id) {
            let end = first + self.delta_ids[first..].partition_point(|&x| x == id);
            let words = &self.delta.codes().as_words()[first * w..end * w];
            return item(words, self.delta_labels[first], &self.delta_payloads[first]).map(Some);
        }
        for (seg, deleted) in &self.segments {
            if let Some(rows) = seg.rows_of(id) {
                if !deleted[rows.start as usize] {
                    let (a, b) = (rows.start as usize, rows.end as usize);
                    let words = &seg.index.code_words()[a * w..b * w];
                    return item(words, seg.label(rows.start), seg.payload(rows.start)?).map(Some);
                }
            }
        }
        Ok(None)
    }
}

/// A class to rank first must be one an item can hold: 2^32-1 means "no label".
fn check_class(class: u32) -> Result<()> {
    if class == super::segment::NO_LABEL {
        return Err(Error::param(
            "class",
            "2^32-1 is reserved (\"no label\"): give the query's predicted class",
        ));
    }
    Ok(())
}

/// The `k` of a k-NN search, `None` for a radius search.
pub(super) fn want_k(want: Want) -> Option<usize> {
    match want {
        Want::Knn(k) => Some(k),
        Want::Radius(_) => None,
    }
}

/// A k-NN search of a source whose items may own several rows: asks `search` for more rows
/// until they name `k` distinct items (`id_of` maps a row to its item), or the source has no
/// more rows that pass its filter. Exact: rows ranked before an item's best row belong to
/// items ranked before it, so once the top K rows name k items, each of the k nearest items
/// has its best row among them. The row budget at least doubles each round, so a search
/// costs at most about twice its last round.
pub(super) fn distinct_knn(
    k: usize,
    multi: bool,
    search: impl Fn(usize) -> Result<crate::SearchResult>,
    id_of: impl Fn(u32) -> Option<u64>,
) -> Result<crate::SearchResult> {
    if !multi {
        return search(k);
    }
    let mut rows = k;
    let (mut buckets, mut candidates) = (0, 0);
    loop {
        let mut res = search(rows)?;
        buckets += res.stats.buckets_probed;
        candidates += res.stats.candidates_checked;
        let mut ids: Vec<Option<u64>> =
            res.neighbors.iter().map(|nb| id_of(nb.id as u32)).collect();
        ids.sort_unstable();
        ids.dedup();
        if res.neighbors.len() < rows || ids.len() >= k {
            res.stats.buckets_probed = buckets;
            res.stats.candidates_checked = candidates;
            return Ok(res);
        }
        rows = rows.saturating_add(rows.max(k - ids.len()));
    }
}

/// One query's results from every source of a snapshot, merged by (distance, id).
#[derive(Default)]
pub(super) struct Merge {
    /// (distance, id, source, row): source `usize::MAX` is the delta.
    all: Vec<(u32, u64, usize, u32)>,
    stats: SearchStats,
    largest: usize,
    /// Some source holds items of several codes: hits need one entry per item.
    multi: bool,
}

impl Merge {
    pub(super) fn add_segment(
        &mut self,
        snap: &Snapshot,
        si: usize,
        res: &crate::SearchResult,
    ) -> Result<()> {
        let seg = &snap.segments[si].0;
        self.multi |= seg.is_multi();
        for nb in &res.neighbors {
            self.all
                .push((nb.distance, seg.id(nb.id as u32)?, si, nb.id as u32));
        }
        self.stats.buckets_probed += res.stats.buckets_probed;
        self.stats.candidates_checked += res.stats.candidates_checked;
        if seg.rows() >= self.largest {
            self.largest = seg.rows();
            self.stats.path = res.stats.path;
            self.stats.substring_radius = res.stats.substring_radius;
        }
        Ok(())
    }

    pub(super) fn add_delta(&mut self, snap: &Snapshot, res: &crate::SearchResult) {
        self.multi |= snap.delta_multi;
        for nb in &res.neighbors {
            self.all.push((
                nb.distance,
                snap.delta_ids[nb.id as usize],
                usize::MAX,
                nb.id as u32,
            ));
        }
        self.stats.candidates_checked += res.stats.candidates_checked;
        if self.stats.path.is_none() {
            self.stats.path = Some(SearchPath::LinearScan);
        }
    }

    /// The hits, best first, at most `k` when given, with their labels and payloads.
    pub(super) fn finish(mut self, snap: &Snapshot, k: Option<usize>) -> Result<QueryResult> {
        self.all.sort_unstable_by_key(|x| (x.0, x.1));
        if self.multi {
            // An item's rows come from one source; its first in (distance, id) order is its
            // least distance.
            let mut seen = HashSet::with_capacity(self.all.len());
            self.all.retain(|x| seen.insert(x.1));
        }
        if let Some(k) = k {
            self.all.truncate(k);
        }
        let hits = self
            .all
            .into_iter()
            .map(|(distance, id, src, row)| {
                let (label, payload) = if src == usize::MAX {
                    (
                        snap.delta_labels[row as usize],
                        snap.delta_payloads[row as usize].to_vec(),
                    )
                } else {
                    let seg = &snap.segments[src].0;
                    (seg.label(row), seg.payload(seg.first_row(row))?.to_vec())
                };
                Ok(Hit {
                    id,
                    distance,
                    label,
                    payload,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(QueryResult {
            hits,
            stats: self.stats,
        })
    }
}
