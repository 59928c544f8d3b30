//! `Snapshot`: one commit's state, immutable, for any number of readers, and its queries.
//! Each segment's MIH (with its own path choice) and a scan of the delta return their best k
//! by (distance, id); the results are merged, so a search is exact with deterministic ties.

use super::segment::Segment;
use super::state::DeletedRows;
use super::values::{Hit, Item, QueryResult};
use crate::code::{Code, CodeArray, CodeLen};
use crate::error::{Error, Result};
use crate::index::{PathPolicy, ScanIndex, SearchPath, SearchStats};
use std::sync::Arc;

/// A consistent, immutable view of one commit, for searching.
pub struct Snapshot {
    pub(super) len: CodeLen,
    pub(super) txn: u64,
    pub(super) segments: Vec<(Arc<Segment>, DeletedRows)>,
    pub(super) delta_ids: Vec<u64>,
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
    /// that label. Exact: each segment and the delta return their own best k, merged.
    pub fn search(&self, query: &Code, k: usize, class: Option<u32>) -> Result<QueryResult> {
        self.check(query)?;
        self.collect(
            class,
            |seg, keep| seg.index.search_filtered(query, k, PathPolicy::Auto, keep),
            |keep| self.delta.search_filtered(query, k, keep),
            Some(k),
        )
    }

    /// Every live item within distance `r`, ascending by (distance, id).
    pub fn search_radius(&self, query: &Code, r: u32, class: Option<u32>) -> Result<QueryResult> {
        self.check(query)?;
        self.collect(
            class,
            |seg, keep| {
                seg.index
                    .search_radius_filtered(query, r, PathPolicy::Auto, keep)
            },
            |keep| self.delta.search_radius_filtered(query, r, keep),
            None,
        )
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

    /// Run a per-segment search and a delta search, keep live rows of `class`, and merge by
    /// (distance, id), truncated to `k` when given.
    fn collect(
        &self,
        class: Option<u32>,
        seg_search: impl Fn(&Segment, &dyn Fn(u32) -> bool) -> Result<crate::SearchResult>,
        delta_search: impl Fn(&dyn Fn(u32) -> bool) -> Result<crate::SearchResult>,
        k: Option<usize>,
    ) -> Result<QueryResult> {
        let mut merge = Merge::default();
        for (si, (seg, _)) in self.segments.iter().enumerate() {
            let keep = |row: u32| self.keeps_segment_row(si, class, row);
            merge.add_segment(self, si, &seg_search(seg, &keep)?)?;
        }
        if !self.delta_ids.is_empty() {
            let keep = |row: u32| self.keeps_delta_row(class, row);
            merge.add_delta(self, &delta_search(&keep)?);
        }
        merge.finish(self, k)
    }

    /// The live item with this id, if any: (code, label, payload).
    pub fn get(&self, id: u64) -> Result<Option<Item>> {
        if let Ok(i) = self.delta_ids.binary_search(&id) {
            let code = self.delta.codes().get(i).expect("in range");
            return Ok(Some(Item {
                id,
                code,
                label: self.delta_labels[i],
                payload: self.delta_payloads[i].to_vec(),
            }));
        }
        for (seg, deleted) in &self.segments {
            if let Some(row) = seg.row_of(id) {
                if !deleted[row as usize] {
                    let w = self.len.words();
                    let words = &seg.index.code_words()[row as usize * w..(row as usize + 1) * w];
                    let code = CodeArray::from_words(self.len, words)?
                        .get(0)
                        .expect("one code");
                    return Ok(Some(Item {
                        id,
                        code,
                        label: seg.label(row),
                        payload: seg.payload(row)?.to_vec(),
                    }));
                }
            }
        }
        Ok(None)
    }
}

/// One query's results from every source of a snapshot, merged by (distance, id).
#[derive(Default)]
pub(super) struct Merge {
    /// (distance, id, source, row): source `usize::MAX` is the delta.
    all: Vec<(u32, u64, usize, u32)>,
    stats: SearchStats,
    largest: usize,
}

impl Merge {
    pub(super) fn add_segment(
        &mut self,
        snap: &Snapshot,
        si: usize,
        res: &crate::SearchResult,
    ) -> Result<()> {
        let seg = &snap.segments[si].0;
        for nb in &res.neighbors {
            self.all
                .push((nb.distance, seg.id(nb.id as u32)?, si, nb.id as u32));
        }
        self.stats.buckets_probed += res.stats.buckets_probed;
        self.stats.candidates_checked += res.stats.candidates_checked;
        if seg.len() >= self.largest {
            self.largest = seg.len();
            self.stats.path = res.stats.path;
            self.stats.substring_radius = res.stats.substring_radius;
        }
        Ok(())
    }

    pub(super) fn add_delta(&mut self, snap: &Snapshot, res: &crate::SearchResult) {
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
                    (seg.label(row), seg.payload(row)?.to_vec())
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
