//! Flush and import: the delta, plus an import or a large batch resolved straight into rows,
//! merged by id into one new segment and written in one commit (the delta's batches and the
//! old tombstone list are dropped from the manifest; tombstones still live are written anew).

use super::batch::{self, check_id, ids_exhausted, WriteBatch};
use super::codec;
use super::commit::{write_commit, Block};
use super::db::{Inner, Writer};
use super::file::map_file;
use super::format::{BlockKind, MULTI_CODE_VERSION};
use super::segment::{self, ColumnsBuilder, Segment, SegmentColumns, NO_LABEL};
use super::state::{DeltaItem, State};
use super::NO_ID;
use crate::code::{CodeArray, CodeLen};
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::fs::File;
use std::sync::Arc;

/// Items to add with [`Database::import`](super::Database::import). Optional columns, when
/// given, have one entry per code.
#[derive(Debug, Clone, Copy)]
pub struct Import<'a> {
    pub codes: &'a CodeArray,
    pub ids: Option<&'a [u64]>,
    pub labels: Option<&'a [u32]>,
    pub payloads: Option<&'a [Vec<u8>]>,
}

/// What a new segment adds to the delta's items.
pub(super) enum NewRows<'a> {
    /// Nothing: a flush.
    Delta,
    Import(Import<'a>),
    /// A batch resolved straight into rows (see [`batch::resolve`]).
    Batch(&'a WriteBatch),
}

/// The delta plus a resolved batch, merged by id into segment columns. Applies the batch's
/// deletes and replacements to `state` (a copy the caller discards if the commit fails):
/// replaced delta items leave the delta, replaced segment items get tombstones.
fn batch_columns(
    state: &mut State,
    len: CodeLen,
    batch: &WriteBatch,
    resolved: &batch::Resolved,
) -> SegmentColumns {
    for &id in &resolved.removed {
        if state.delta_take(id).is_none() {
            if let Some((si, _)) = state.find_live_in_segments(id) {
                state.deleted[si].insert(id);
            }
        }
    }
    // Both sides ascend by id and are disjoint: a batch row whose id was in the delta
    // replaced it, so it was removed above.
    let mut cols = ColumnsBuilder::with_capacity(len, state.delta.len() + resolved.rows.len());
    let mut delta = state.delta.iter().peekable();
    // One item's codes in word form; resolve checked every stored op's codes.
    let mut words = Vec::new();
    for &(id, i) in &resolved.rows {
        while let Some((&did, it)) = delta.next_if(|(&did, _)| did < id) {
            cols.push(did, &it.codes, it.label, &it.payload);
        }
        let op = batch.op(i);
        words.clear();
        words.resize(op.codes as usize * len.words(), 0);
        for (src, dst) in op
            .code
            .chunks_exact(len.bytes())
            .zip(words.chunks_exact_mut(len.words()))
        {
            crate::code::bytes_to_words(src, dst);
        }
        cols.push(id, &words, op.label, op.payload);
    }
    for (&did, it) in delta {
        cols.push(did, &it.codes, it.label, &it.payload);
    }
    cols.finish()
}

/// The delta plus an import, merged by id into segment columns. Fails on a repeated or
/// existing id, a wrong code length, a reserved label or a ragged column.
fn import_columns(
    state: &State,
    len: CodeLen,
    import: Option<Import<'_>>,
) -> Result<(SegmentColumns, Vec<u64>)> {
    let n = import.as_ref().map_or(0, |i| i.codes.len());
    let mut assigned = Vec::new();
    let mut ids_in: Vec<u64> = Vec::new();
    if let Some(imp) = &import {
        if imp.codes.code_len() != len {
            return Err(Error::CodeLengthMismatch {
                expected: len.bits(),
                actual: imp.codes.code_len().bits(),
            });
        }
        for (name, l) in [
            ("ids", imp.ids.map(<[u64]>::len)),
            ("labels", imp.labels.map(<[u32]>::len)),
            ("payloads", imp.payloads.map(<[Vec<u8>]>::len)),
        ] {
            if l.is_some_and(|l| l != n) {
                return Err(Error::param(
                    name,
                    format!("{} entries for {n} codes", l.unwrap_or(0)),
                ));
            }
        }
        if imp.labels.is_some_and(|l| l.contains(&NO_LABEL)) {
            return Err(Error::param("labels", format!("{NO_LABEL} is reserved")));
        }
        ids_in = match imp.ids {
            Some(ids) => {
                if ids.contains(&NO_ID) {
                    check_id(NO_ID)?;
                }
                ids.to_vec()
            }
            None => {
                let start = state.manifest.next_id;
                // end <= NO_ID, so the last id assigned is at most NO_ID - 1.
                let end = start.checked_add(n as u64).ok_or_else(ids_exhausted)?;
                assigned = (start..end).collect();
                assigned.clone()
            }
        };
    }
    // (id, source): sources below n are import rows, the rest delta entries in id order.
    let delta: Vec<(&u64, &DeltaItem)> = state.delta.iter().collect();
    let mut order: Vec<(u64, usize)> = ids_in.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let fresh = ids_in.iter().all(|&id| id >= state.manifest.next_id);
    if !fresh {
        for &(id, _) in &order {
            if state.exists(id) {
                return Err(Error::DuplicateId { id });
            }
        }
    }
    order.extend(delta.iter().enumerate().map(|(j, (&id, _))| (id, n + j)));
    order.sort_unstable_by_key(|x| x.0);
    if let Some(w) = order.windows(2).find(|w| w[0].0 == w[1].0) {
        // Two import rows: repeated in the import; an import row and a delta item: the id
        // exists (the delta holds only fresh ids here, or the check above caught it).
        return Err(if w[0].1 < n && w[1].1 < n {
            Error::RepeatedId { id: w[0].0 }
        } else {
            Error::DuplicateId { id: w[0].0 }
        });
    }
    let mut cols = ColumnsBuilder::with_capacity(len, order.len());
    for (id, src) in order {
        if src < n {
            let imp = import.as_ref().expect("import rows come from an import");
            let payload = imp.payloads.map_or(&[][..], |p| &p[src]);
            cols.push(
                id,
                imp.codes.get_words(src),
                imp.labels.map(|l| l[src]),
                payload,
            );
        } else {
            let it = delta[src - n].1;
            cols.push(id, &it.codes, it.label, &it.payload);
        }
    }
    let cols = cols.finish();
    Ok((cols, assigned))
}

impl Inner {
    pub(super) fn flush_locked(&self, writer: &mut Writer) -> Result<()> {
        self.add_segment_locked(writer, NewRows::Delta).map(|_| ())
    }

    /// Write the delta and `rows` as one new segment in one commit: (txn, assigned ids).
    pub(super) fn add_segment_locked(
        &self,
        writer: &mut Writer,
        rows: NewRows<'_>,
    ) -> Result<(u64, Vec<u64>)> {
        let storage = writer.storage()?;
        let len = self.code_len();
        let mut state = self.lock_state().clone();
        let nothing_new = match &rows {
            NewRows::Delta => true,
            NewRows::Import(i) => i.codes.is_empty(),
            NewRows::Batch(b) => b.is_empty(),
        };
        // An empty delta with batches still listed is flushed too: the commit drops the list.
        if nothing_new && state.delta.is_empty() && state.manifest.deltas.is_empty() {
            return Ok((state.meta.txn, Vec::new()));
        }
        let mut manifest = state.manifest.clone();
        let (cols, assigned) = match rows {
            NewRows::Delta => import_columns(&state, len, None)?,
            NewRows::Import(import) => import_columns(&state, len, Some(import))?,
            NewRows::Batch(batch) => {
                let multi = state.format_version >= MULTI_CODE_VERSION;
                let resolved =
                    batch::resolve(batch, len, multi, manifest.next_id, |id| state.exists(id))?;
                manifest.next_id = manifest.next_id.max(resolved.next_id);
                (
                    batch_columns(&mut state, len, batch, &resolved),
                    resolved.assigned,
                )
            }
        };
        if let Some(&t) = cols.ids.last() {
            // t < NO_ID: every stored id passed check_id.
            manifest.next_id = manifest.next_id.max(t + 1);
        }
        manifest.txn = state.meta.txn + 1;
        manifest.deltas.clear();
        let tombstones: Vec<(u64, Vec<u64>)> = state
            .segments
            .iter()
            .zip(&state.deleted)
            .filter(|(_, d)| !d.is_empty())
            .map(|(s, d)| (s.block, d.iter().copied().collect()))
            .collect();
        let mut blocks = Vec::new();
        if !cols.ids.is_empty() {
            let (seg, seg_ref) = segment::encode(cols, self.header.expected_radius)?;
            blocks.push(Block::Segment(Box::new(seg), seg_ref));
        }
        let new_segment = !blocks.is_empty();
        if tombstones.is_empty() {
            manifest.tombstones = None;
        } else {
            blocks.push(Block::Bytes(
                BlockKind::Tombstones,
                codec::encode(&tombstones),
            ));
        }
        let written = write_commit(storage, state.meta.file_len, &mut manifest, blocks);
        let meta = match written {
            Ok(m) => m,
            Err(e) => {
                writer.poisoned = true;
                return Err(e);
            }
        };
        let file = File::open(&self.path).map_err(|e| Error::io("remapping after a flush", e))?;
        let map = map_file(&file)?;
        if new_segment {
            let seg = Segment::open(
                &map,
                meta.file_len,
                manifest.segments.last().expect("just pushed"),
                len,
            )?;
            state.segments.push(Arc::new(seg));
            state.deleted.push(BTreeSet::new());
        }
        state.delta_clear();
        state.map = map;
        state.meta = meta;
        state.manifest = manifest;
        state.rebuild_deleted_rows(None);
        *self.lock_state() = state.clone();
        self.publish(&state)?;
        Ok((state.meta.txn, assigned))
    }
}
