//! The writer's view of the committed state: the mapped segments and their tombstones, the
//! delta (an id-ordered map), and how one logged op changes them. Readers get an immutable
//! [`Snapshot`] built from it.

use super::format::{Meta, MULTI_CODE_VERSION};
use super::manifest::{ItemRecord, Manifest, Op};
use super::segment::{Segment, NO_LABEL};
use super::snapshot::Snapshot;
use super::undo::Undo;
use super::{MAX_CODES_PER_ITEM, NO_ID};
use crate::code::{CodeArray, CodeLen};
use crate::error::{Error, Result};
use crate::index::ScanIndex;
use crate::slab::Backing;
use bitvec::prelude::{BitVec, Lsb0};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Deleted rows of one segment, shared by every snapshot that has not seen a later delete.
pub(super) type DeletedRows = Arc<BitVec<u64, Lsb0>>;

#[derive(Clone)]
pub(super) struct DeltaItem {
    /// The item's codes in word form, one after another (one or more).
    pub(super) codes: Arc<[u64]>,
    pub(super) label: Option<u32>,
    pub(super) payload: Arc<[u8]>,
}

/// The writer's view of the committed state.
#[derive(Clone)]
pub(super) struct State {
    /// The file's format version: below [`MULTI_CODE_VERSION`] every item has one code.
    pub(super) format_version: u32,
    pub(super) meta: Meta,
    /// The model record's bytes, as written at creation (opaque to storage).
    pub(super) model_record: Option<Arc<[u8]>>,
    pub(super) manifest: Manifest,
    pub(super) map: Arc<dyn Backing>,
    pub(super) segments: Vec<Arc<Segment>>,
    /// Per segment: ids deleted from it, and the same as a row bitmap for searches.
    pub(super) deleted: Vec<BTreeSet<u64>>,
    pub(super) deleted_rows: Vec<DeletedRows>,
    pub(super) delta: BTreeMap<u64, DeltaItem>,
    /// Codes (rows) the delta holds: what a delta scan costs and what the flush threshold
    /// counts. Kept by [`State::delta_put`], [`State::delta_take`] and [`State::delta_clear`].
    pub(super) delta_codes: usize,
    /// Words of one code (the header's code length).
    pub(super) code_words: usize,
}

impl State {
    pub(super) fn find_live_in_segments(&self, id: u64) -> Option<(usize, u32)> {
        self.segments.iter().enumerate().find_map(|(si, s)| {
            s.row_of(id)
                .filter(|_| !self.deleted[si].contains(&id))
                .map(|row| (si, row))
        })
    }

    pub(super) fn exists(&self, id: u64) -> bool {
        // Every stored id is below next_id, so fresh ids (all assigned ones) need no lookup.
        id < self.manifest.next_id
            && (self.delta.contains_key(&id) || self.find_live_in_segments(id).is_some())
    }

    /// Segment items and the deleted ones among them.
    pub(super) fn segment_counts(&self) -> (u64, u64) {
        let seg_items: u64 = self.segments.iter().map(|s| s.items() as u64).sum();
        let deleted: u64 = self.deleted.iter().map(|d| d.len() as u64).sum();
        (seg_items, deleted)
    }

    /// Put an item into the delta, keeping the code count; returns the item it replaced.
    pub(super) fn delta_put(&mut self, id: u64, item: DeltaItem) -> Option<DeltaItem> {
        self.delta_codes += item.codes.len() / self.code_words;
        let old = self.delta.insert(id, item);
        if let Some(o) = &old {
            self.delta_codes -= o.codes.len() / self.code_words;
        }
        old
    }

    /// Take an item out of the delta, keeping the code count.
    pub(super) fn delta_take(&mut self, id: u64) -> Option<DeltaItem> {
        let old = self.delta.remove(&id);
        if let Some(o) = &old {
            self.delta_codes -= o.codes.len() / self.code_words;
        }
        old
    }

    pub(super) fn delta_clear(&mut self) {
        self.delta.clear();
        self.delta_codes = 0;
    }

    fn remove(&mut self, id: u64, undo: &mut Vec<Undo>) {
        match self.delta_take(id) {
            Some(old) => undo.push(Undo::Delta(id, Some(old))),
            None => {
                if let Some((si, _)) = self.find_live_in_segments(id) {
                    self.deleted[si].insert(id);
                    undo.push(Undo::Tombstone(si, id));
                }
            }
        }
    }

    fn put(&mut self, id: u64, item: DeltaItem, undo: &mut Vec<Undo>) {
        let old = self.delta_put(id, item);
        undo.push(Undo::Delta(id, old));
        if id >= self.manifest.next_id {
            undo.push(Undo::NextId(self.manifest.next_id));
            // id < NO_ID (checked before any op is applied), so this cannot overflow.
            self.manifest.next_id = id + 1;
        }
    }

    /// Apply one logged op, recording how to take it back. An insert of an existing id is
    /// refused (at commit time a caller error; at replay, damage).
    pub(super) fn apply(&mut self, op: &Op, len: CodeLen, undo: &mut Vec<Undo>) -> Result<()> {
        let item = |r: &ItemRecord| -> Result<DeltaItem> {
            if r.id == NO_ID {
                return Err(Error::corrupt(
                    "a delta batch stores the reserved id 2^64-1",
                ));
            }
            let codes = CodeArray::from_packed_bytes(len, &r.code)
                .ok()
                .filter(|c| (1..=MAX_CODES_PER_ITEM).contains(&c.len()))
                .ok_or_else(|| Error::corrupt("delta code length"))?;
            if codes.len() > 1 && self.format_version < MULTI_CODE_VERSION {
                return Err(Error::corrupt(format!(
                    "a delta batch stores an item of several codes in a format {} file",
                    self.format_version
                )));
            }
            if r.label == Some(NO_LABEL) {
                return Err(Error::corrupt("reserved label value"));
            }
            Ok(DeltaItem {
                codes: codes.as_words().into(),
                label: r.label,
                payload: r.payload.clone().unwrap_or_default().into(),
            })
        };
        match op {
            Op::Insert(r) => {
                if self.exists(r.id) {
                    return Err(Error::DuplicateId { id: r.id });
                }
                self.put(r.id, item(r)?, undo);
            }
            Op::Upsert(r) => {
                let it = item(r)?;
                self.remove(r.id, undo);
                self.put(r.id, it, undo);
            }
            Op::Delete(id) => self.remove(*id, undo),
        }
        Ok(())
    }

    /// Recompute the deleted-row bitmaps of the segments in `which` (all when `None`), and of
    /// any segment that has none yet.
    pub(super) fn rebuild_deleted_rows(&mut self, which: Option<&BTreeSet<usize>>) {
        for (si, seg) in self.segments.iter().enumerate() {
            if which.is_some_and(|w| !w.contains(&si)) && si < self.deleted_rows.len() {
                continue;
            }
            let mut bits: BitVec<u64, Lsb0> = BitVec::repeat(false, seg.rows());
            for &id in &self.deleted[si] {
                for row in seg.rows_of(id).into_iter().flatten() {
                    bits.set(row as usize, true);
                }
            }
            if si < self.deleted_rows.len() {
                self.deleted_rows[si] = Arc::new(bits);
            } else {
                self.deleted_rows.push(Arc::new(bits));
            }
        }
    }

    pub(super) fn snapshot(&self, len: CodeLen) -> Result<Snapshot> {
        // One delta row per code: an item of several codes repeats its id, label and payload.
        let w = len.words();
        let rows: usize = self.delta.values().map(|it| it.codes.len() / w).sum();
        let mut words = Vec::with_capacity(rows * w);
        let mut ids = Vec::with_capacity(rows);
        let mut labels = Vec::with_capacity(rows);
        let mut payloads = Vec::with_capacity(rows);
        for (&id, it) in &self.delta {
            words.extend_from_slice(&it.codes);
            for _ in 0..it.codes.len() / w {
                ids.push(id);
                labels.push(it.label);
                payloads.push(it.payload.clone());
            }
        }
        let seg_items: u64 = self
            .segments
            .iter()
            .zip(&self.deleted)
            .map(|(s, d)| s.items() as u64 - d.len() as u64)
            .sum();
        Ok(Snapshot {
            len,
            txn: self.meta.txn,
            segments: self
                .segments
                .iter()
                .cloned()
                .zip(self.deleted_rows.iter().cloned())
                .collect(),
            delta_multi: rows > self.delta.len(),
            delta_ids: ids,
            delta: ScanIndex::new(CodeArray::from_words(len, &words)?)?,
            delta_labels: labels,
            delta_payloads: payloads,
            items: seg_items + self.delta.len() as u64,
        })
    }
}
