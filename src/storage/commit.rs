//! The commit protocol: a batch applied to the writer's state in place (with an undo log), its
//! blocks and a manifest appended past the committed end, fsync, the commit record in its meta
//! slot, fsync, then the new state published to readers. A failed write takes the batch back
//! and poisons the handle.

use super::batch::{self, ids_exhausted, Kind, WriteBatch};
use super::codec;
use super::db::{Inner, Writer};
use super::file::write_block;
use super::flush::NewRows;
use super::format::{align_up, BlockKind, Meta, MULTI_CODE_VERSION};
use super::io::StorageFile;
use super::manifest::{ItemRecord, Manifest, Op, SegmentRef};
use super::segment::EncodedSegment;
use super::state::State;
use super::undo::touched_segments;
use super::values::CommitInfo;
use super::{MAX_DELTA_BATCHES, NO_ID};
use crate::error::{Error, Result};
use std::sync::Arc;

/// A block a commit appends.
pub(super) enum Block {
    /// A new segment; the commit places it and adds its reference to the manifest.
    Segment(Box<EncodedSegment>, SegmentRef),
    Bytes(BlockKind, Vec<u8>),
}

/// Append `blocks` and a manifest past `end` (the committed end), then make it the committed
/// state: data, fsync, commit record, fsync. The manifest gets the places of the segment,
/// delta and tombstone blocks. Returns the new meta.
pub(super) fn write_commit(
    storage: &dyn StorageFile,
    end: u64,
    manifest: &mut Manifest,
    blocks: Vec<Block>,
) -> Result<Meta> {
    let mut at = align_up(end);
    for block in blocks {
        let end = match block {
            Block::Segment(seg, mut seg_ref) => {
                seg.write_to(storage, at)
                    .map_err(|e| Error::io("writing a segment", e))?;
                seg_ref.block = at;
                manifest.segments.push(seg_ref);
                at + seg.block_len()
            }
            Block::Bytes(kind, payload) => {
                match kind {
                    BlockKind::Delta => manifest.deltas.push(at),
                    BlockKind::Tombstones => manifest.tombstones = Some(at),
                    _ => {}
                }
                write_block(storage, at, kind, &payload)?
            }
        };
        at = align_up(end);
    }
    let manifest_at = at;
    let end = write_block(
        storage,
        manifest_at,
        BlockKind::Manifest,
        &codec::encode(&*manifest),
    )?;
    storage.sync().map_err(|e| Error::io("syncing", e))?;
    let meta = Meta {
        txn: manifest.txn,
        manifest: manifest_at,
        file_len: end,
    };
    let slot = Meta::slot_of(meta.txn);
    let published = storage
        .write_at(&meta.encode(), slot)
        .map_err(|e| Error::io("writing the commit record", e))
        .and_then(|()| storage.sync().map_err(|e| Error::io("syncing", e)));
    if let Err(e) = published {
        // The caller is told the commit failed, so withdraw its record (best effort): the
        // other slot still holds the previous commit. If even this cannot reach the disk,
        // a crash may leave either state; the handle is poisoned either way.
        let _ = storage
            .write_at(&[0u8; Meta::LEN], slot)
            .and_then(|()| storage.sync());
        return Err(e);
    }
    Ok(meta)
}

/// A duplicate-id failure says whether the id came from earlier in the same batch.
fn repeated_in(log: &[Op], e: Error) -> Error {
    match e {
        Error::DuplicateId { id }
            if log
                .iter()
                .any(|op| matches!(op, Op::Insert(r) | Op::Upsert(r) if r.id == id)) =>
        {
            Error::RepeatedId { id }
        }
        other => other,
    }
}

impl Writer {
    /// The write path, unless a failed write poisoned the handle or it is read-only.
    pub(super) fn storage(&self) -> Result<&dyn StorageFile> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        self.storage.as_deref().ok_or(Error::ReadOnly)
    }
}

impl Inner {
    /// Make `state` what new snapshots see.
    pub(super) fn publish(&self, state: &State) -> Result<()> {
        let snap = Arc::new(state.snapshot(self.code_len())?);
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = snap;
        Ok(())
    }

    /// Apply `batch` atomically and durably (see [`super::Database::commit`]).
    pub(super) fn commit(&self, batch: WriteBatch) -> Result<CommitInfo> {
        let mut writer = self.lock_writer();
        let storage = writer.storage()?;
        let len = self.code_len();
        let mut guard = self.lock_state();
        if batch.codes() + guard.delta_codes >= self.flush_threshold {
            // A flush would follow anyway: write the batch and the delta as one new segment
            // in one commit, with no per-item log records or delta entries (a million-item
            // batch then costs about what an import does, not ten times as much).
            drop(guard);
            let (txn, assigned_ids) =
                self.add_segment_locked(&mut writer, NewRows::Batch(&batch))?;
            let maintenance_error = if self.wants_compaction() {
                self.compact_locked(&mut writer).err()
            } else {
                None
            };
            return Ok(CommitInfo {
                txn,
                assigned_ids,
                maintenance_error,
            });
        }
        let state = &mut *guard;
        let mut log = Vec::with_capacity(batch.len());
        let mut assigned = Vec::new();
        let mut undo = Vec::new();
        let applied = (|| -> Result<()> {
            for i in 0..batch.len() {
                let op = batch.op(i);
                let id = match op.kind {
                    Kind::InsertAuto => {
                        let id = state.manifest.next_id;
                        if id == NO_ID {
                            return Err(ids_exhausted());
                        }
                        assigned.push(id);
                        id
                    }
                    _ => op.id,
                };
                let rec = || -> Result<ItemRecord> {
                    let multi = state.format_version >= MULTI_CODE_VERSION;
                    batch::check_item(&batch::OpRef { id, ..op }, len, multi)?;
                    Ok(ItemRecord {
                        id,
                        code: op.code.to_vec(),
                        label: op.label,
                        payload: (!op.payload.is_empty()).then(|| op.payload.to_vec()),
                    })
                };
                let logged = match op.kind {
                    Kind::Insert | Kind::InsertAuto => Op::Insert(rec()?),
                    Kind::Upsert => Op::Upsert(rec()?),
                    Kind::Delete => Op::Delete(id),
                };
                if let Err(e) = state.apply(&logged, len, &mut undo) {
                    return Err(repeated_in(&log, e));
                }
                log.push(logged);
            }
            Ok(())
        })();
        if let Err(e) = applied {
            state.rollback(undo);
            return Err(e);
        }
        if log.is_empty() {
            return Ok(CommitInfo {
                txn: state.meta.txn,
                assigned_ids: assigned,
                maintenance_error: None,
            });
        }
        let mut manifest = state.manifest.clone();
        manifest.txn = state.meta.txn + 1;
        let written = write_commit(
            storage,
            state.meta.file_len,
            &mut manifest,
            vec![Block::Bytes(BlockKind::Delta, codec::encode(&log))],
        );
        let meta = match written {
            Ok(m) => m,
            Err(e) => {
                state.rollback(undo);
                writer.poisoned = true;
                return Err(e);
            }
        };
        state.meta = meta;
        state.manifest = manifest;
        state.rebuild_deleted_rows(Some(&touched_segments(&undo)));
        let txn = meta.txn;
        // Flushing bounds what every open replays and what every commit's manifest lists:
        // the delta's items, and its batches (an insert+delete workload keeps the delta
        // small while the batches pile up). It does not depend on compaction.
        let flush = state.delta_codes >= self.flush_threshold
            || state.manifest.deltas.len() >= MAX_DELTA_BATCHES;
        self.publish(state)?;
        drop(guard);
        let mut maintenance_error = None;
        if flush {
            maintenance_error = self.flush_locked(&mut writer).err();
        }
        if maintenance_error.is_none() && self.wants_compaction() {
            maintenance_error = self.compact_locked(&mut writer).err();
        }
        Ok(CommitInfo {
            maintenance_error,
            txn,
            assigned_ids: assigned,
        })
    }
}
