//! All-pairs near-duplicates: every pair of live items within a radius, exact, streamed.
//!
//! The snapshot's live codes are gathered in id order into one array and indexed once by a
//! MIH whose substrings are cut for the dedup radius (`MihOptions::expected_radius`), whatever
//! the database's own tables were cut for. Then every item is a radius query that keeps only
//! rows after its own, so each pair is found once, as (smaller id, larger id). Queries run on
//! the threads `crate::threads` grants, in chunks of rows taken in order; chunks are handed
//! to the caller in row order, so the output is deterministic: ascending by the first id,
//! then by (distance, second id). Memory: the gathered codes, the temporary index, and the
//! pairs of the chunks in flight (a bounded channel), never all pairs.
//!
//! Items of several codes are gathered as one row per code (rows of an item adjacent, all
//! with its id); a query row keeps rows of items after its own, chunks end on item
//! boundaries, and a chunk's pairs are reduced to one per item pair at its least distance.

use super::snapshot::Snapshot;
use crate::code::{CodeArray, CodeLen};
use crate::error::{Error, Result};
use crate::index::{MihIndex, MihOptions, PathPolicy};
use crate::threads;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Rows per chunk of work: small enough to balance threads and keep memory bounded, large
/// enough that taking a chunk costs nothing.
const CHUNK_ROWS: usize = 1024;

/// One near-duplicate pair: `a < b` for a dedup of one database; for
/// [`Snapshot::find_duplicates_between`], `a` is this snapshot's id and `b` the other's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pair {
    pub a: u64,
    pub b: u64,
    pub distance: u32,
}

/// How a dedup runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DedupOptions {
    /// Threads: 0 = automatic (see [`crate::SearchManyOptions::threads`]); n = exactly n.
    pub threads: usize,
}

/// The live codes of a snapshot in id order: one row per code, its item's id beside it, and
/// whether some item holds several codes.
fn live_items(snap: &Snapshot) -> Result<(Vec<u64>, CodeArray, bool)> {
    let len = snap.len;
    let words = len.words();
    // (id, source, first row, end row): source usize::MAX is the delta.
    let mut items: Vec<(u64, usize, u32, u32)> = Vec::with_capacity(snap.items as usize);
    for (si, (seg, deleted)) in snap.segments.iter().enumerate() {
        for rows in seg.item_rows() {
            if !rows.is_empty() && !deleted.get(rows.start as usize).map(|b| *b).unwrap_or(true) {
                items.push((seg.id(rows.start)?, si, rows.start, rows.end));
            }
        }
    }
    let mut row = 0;
    while row < snap.delta_ids.len() {
        let id = snap.delta_ids[row];
        let end = row + snap.delta_ids[row..].partition_point(|&x| x == id);
        items.push((id, usize::MAX, row as u32, end as u32));
        row = end;
    }
    items.sort_unstable();
    let rows: usize = items.iter().map(|x| (x.3 - x.2) as usize).sum();
    let mut ids = Vec::with_capacity(rows);
    let mut codes = Vec::with_capacity(rows * words);
    for (id, src, a, b) in items {
        let (a, b) = (a as usize, b as usize);
        ids.extend(std::iter::repeat_n(id, b - a));
        if src == usize::MAX {
            codes.extend_from_slice(&snap.delta.codes().as_words()[a * words..b * words]);
        } else {
            codes.extend_from_slice(&snap.segments[src].0.index.code_words()[a * words..b * words]);
        }
    }
    let multi = rows > ids.windows(2).filter(|w| w[0] != w[1]).count() + 1;
    Ok((ids, CodeArray::from_words(len, &codes)?, multi))
}

/// Chunk boundaries over `ids` (rows of one item adjacent): about [`CHUNK_ROWS`] rows each,
/// never splitting an item.
fn chunk_starts(ids: &[u64]) -> Vec<usize> {
    let mut starts = vec![0];
    let mut at = 0;
    while at < ids.len() {
        let mut end = (at + CHUNK_ROWS).min(ids.len());
        while end < ids.len() && ids[end] == ids[end - 1] {
            end += 1;
        }
        starts.push(end);
        at = end;
    }
    starts
}

fn check_radius(len: CodeLen, r: u32) -> Result<()> {
    if r as usize > len.bits() {
        return Err(Error::param(
            "radius",
            format!("{r} is over the code length {}", len.bits()),
        ));
    }
    Ok(())
}

impl Snapshot {
    /// Every pair of distinct live items within distance `r` (inclusive), each once as
    /// `a < b`, handed to `on_pairs` in chunks, ascending by `a`, then (distance, `b`).
    /// `on_progress(done, total)` counts items whose pairs were handed over. Exact.
    pub fn find_duplicates(
        &self,
        r: u32,
        options: &DedupOptions,
        on_pairs: &mut dyn FnMut(&[Pair]) -> Result<()>,
        on_progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        check_radius(self.len, r)?;
        let (ids, codes, multi) = live_items(self)?;
        join(
            &ids,
            None,
            &ids,
            codes,
            multi,
            r,
            options,
            on_pairs,
            on_progress,
        )
    }

    /// Every pair (item of this snapshot, item of `other`) within distance `r`: `a` is this
    /// snapshot's id, `b` the other's; ascending by `a`, then (distance, `b`). Exact.
    pub fn find_duplicates_between(
        &self,
        other: &Snapshot,
        r: u32,
        options: &DedupOptions,
        on_pairs: &mut dyn FnMut(&[Pair]) -> Result<()>,
        on_progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        check_radius(self.len, r)?;
        if other.len != self.len {
            return Err(Error::CodeLengthMismatch {
                expected: self.len.bits(),
                actual: other.len.bits(),
            });
        }
        let (qids, queries, qmulti) = live_items(self)?;
        let (ids, codes, multi) = live_items(other)?;
        join(
            &qids,
            Some(&queries),
            &ids,
            codes,
            qmulti || multi,
            r,
            options,
            on_pairs,
            on_progress,
        )
    }
}

/// Radius-`r` queries of every row of `queries` against an index over `codes`; `None` is a
/// self-join: the indexed codes are the queries, and each keeps only rows of later items.
/// `multi`: some item on either side holds several codes, so pairs are reduced per item pair.
#[allow(clippy::too_many_arguments)]
fn join(
    qids: &[u64],
    queries: Option<&CodeArray>,
    ids: &[u64],
    codes: CodeArray,
    multi: bool,
    r: u32,
    options: &DedupOptions,
    on_pairs: &mut dyn FnMut(&[Pair]) -> Result<()>,
    on_progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    threads::check(options.threads)?;
    let self_join = queries.is_none();
    let starts = chunk_starts(qids);
    // Progress counts items (query ids), chunk by chunk.
    let items_before: Vec<u64> = {
        let mut v = Vec::with_capacity(starts.len());
        let mut n = 0u64;
        for w in starts.windows(2) {
            v.push(n);
            n += 1 + qids[w[0]..w[1]].windows(2).filter(|p| p[0] != p[1]).count() as u64;
        }
        v.push(n);
        v
    };
    let total_items = *items_before.last().expect("one entry at least");
    let total = qids.len();
    on_progress(0, total_items);
    if total == 0 || codes.is_empty() {
        on_progress(total_items, total_items);
        return Ok(());
    }
    let index = MihIndex::build(
        codes,
        MihOptions {
            expected_radius: Some(r),
            ..MihOptions::default()
        },
    )?;
    let words = index.code_len().words();
    let qwords: &[u64] = match queries {
        Some(q) => q.as_words(),
        None => index.code_words(),
    };
    let chunks = starts.len() - 1;
    let lease = threads::lease(options.threads, chunks);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let chunk_pairs = |c: usize| -> Vec<Pair> {
        let mut out = Vec::new();
        for qrow in starts[c]..starts[c + 1] {
            let q = &qwords[qrow * words..(qrow + 1) * words];
            let keep = |row: u32| !self_join || ids[row as usize] > qids[qrow];
            let res = index.radius(q, r, PathPolicy::Auto, &keep);
            out.extend(res.neighbors.iter().map(|nb| Pair {
                a: qids[qrow],
                b: ids[nb.id as usize],
                distance: nb.distance,
            }));
        }
        if multi {
            // One pair per (a, b) at its least distance, in the output order (a, distance, b);
            // an item's query rows all lie in this chunk.
            out.sort_unstable_by_key(|p| (p.a, p.b, p.distance));
            out.dedup_by_key(|p| (p.a, p.b));
            out.sort_unstable_by_key(|p| (p.a, p.distance, p.b));
        }
        out
    };
    let (tx, rx) = crossbeam::channel::bounded::<(usize, Vec<Pair>)>(2 * lease.threads());
    std::thread::scope(|s| -> Result<()> {
        for _ in 0..lease.threads() {
            let tx = tx.clone();
            let (next, stop, chunk_pairs) = (&next, &stop, &chunk_pairs);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= chunks || tx.send((c, chunk_pairs(c))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Chunks arrive in any order; hand them over in row order. Workers take chunks in
        // order, so at most about threads + channel capacity chunks wait here.
        let mut waiting = BTreeMap::new();
        let mut due = 0;
        let result = (|| {
            for (c, pairs) in rx.iter() {
                waiting.insert(c, pairs);
                while let Some(pairs) = waiting.remove(&due) {
                    on_pairs(&pairs)?;
                    due += 1;
                    on_progress(items_before[due], total_items);
                }
            }
            Ok(())
        })();
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
            // Unblock workers waiting to send, so the scope can end.
            for _ in rx.iter() {}
        }
        result
    })
}
