//! Compaction: the live items rewritten as one segment in a new file (the model record and the
//! header copied, ids and next id kept), which replaces the database by rename; then the
//! handle's write path, lock and mapping move over to the new file.

use super::db::{Inner, Writer};
use super::file::{create_file, open_regular, storage_of, FirstCommit, NewFileAt};
use super::format::{Header, FORMAT_VERSION};
use super::io::StorageFile;
use super::manifest::Manifest;
use super::recovery::load;
use super::segment::ColumnsBuilder;
use super::state::{DeltaItem, State};
use crate::error::Result;

impl Inner {
    /// Whether the compaction policy asks for a compaction of the committed state.
    pub(super) fn wants_compaction(&self) -> bool {
        let state = self.lock_state();
        let (seg_items, deleted) = state.segment_counts();
        self.compaction
            .wants(state.segments.len(), seg_items, deleted)
    }

    pub(super) fn compact_locked(&self, writer: &mut Writer) -> Result<()> {
        writer.storage()?;
        let len = self.code_len();
        let state = self.lock_state().clone();
        // Live items as (id, source, row): sources index segments, usize::MAX is the delta
        // (row = position in id order); sorted by id, then copied once into the new columns.
        let delta: Vec<(&u64, &DeltaItem)> = state.delta.iter().collect();
        // Segment items by their first row (an item's rows are consecutive).
        let mut live: Vec<(u64, usize, u32)> = Vec::new();
        for (si, seg) in state.segments.iter().enumerate() {
            for rows in seg.item_rows() {
                if !rows.is_empty() && !state.deleted_rows[si][rows.start as usize] {
                    live.push((seg.id(rows.start)?, si, rows.start));
                }
            }
        }
        live.extend(
            delta
                .iter()
                .enumerate()
                .map(|(j, (&id, _))| (id, usize::MAX, j as u32)),
        );
        live.sort_unstable_by_key(|x| x.0);
        let w = len.words();
        let mut cols = ColumnsBuilder::with_capacity(len, live.len());
        for &(id, src, row) in &live {
            if src == usize::MAX {
                let it = delta[row as usize].1;
                cols.push(id, &it.codes, it.label, &it.payload);
            } else {
                let seg = &state.segments[src];
                let rows = seg.rows_of(id).unwrap_or(row..row + 1);
                let (a, b) = (rows.start as usize, rows.end as usize);
                cols.push(
                    id,
                    &seg.index.code_words()[a * w..b * w],
                    seg.label(row),
                    seg.payload(row)?,
                );
            }
        }
        let cols = cols.finish();
        // The new file is written in the current format (multi-code items allowed from here).
        let header = Header {
            version: FORMAT_VERSION,
            ..self.header.clone()
        };
        let created = create_file(
            NewFileAt::Replacing(&self.path),
            self.wrapper.as_ref(),
            FirstCommit {
                header: &header,
                model_record: state.model_record.as_deref(),
                manifest: Manifest {
                    txn: state.meta.txn + 1,
                    next_id: state.manifest.next_id,
                    ..Manifest::default()
                },
                segment: (!cols.ids.is_empty()).then_some(cols),
            },
        );
        let lock = match created {
            Ok(l) => l,
            Err(e) => {
                // Conservative: if the failure came after the rename, this handle's write path
                // points at the replaced file, so no further write may use it.
                writer.poisoned = true;
                return Err(e);
            }
        };
        // The new file is in place: switch the write path, lock and mapping over to it. A
        // failure from here on leaves this handle pointing at the replaced file: poison it.
        let switched = (|| -> Result<(Box<dyn StorageFile>, State)> {
            let file = open_regular(&self.path, true)?;
            let map_handle = open_regular(&self.path, false)?;
            let storage = storage_of(file, self.wrapper.as_ref());
            let (_, new_state) = load(&map_handle, Some(&self.header))?;
            Ok((storage, new_state))
        })();
        let (storage, new_state) = match switched {
            Ok(x) => x,
            Err(e) => {
                writer.poisoned = true;
                return Err(e);
            }
        };
        writer.storage = Some(storage);
        writer._lock = Some(lock);
        *self.lock_state() = new_state.clone();
        self.publish(&new_state)
    }
}
