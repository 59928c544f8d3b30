//! Reading the file again: `refresh` picks up commits made elsewhere, `verify` checks every
//! checksum and invariant, reading everything open does not.

use super::db::Inner;
use super::file::open_regular;
use super::recovery::load;
use super::values::VerifyReport;
use crate::code::CodeLen;
use crate::error::{Error, Result};
use std::path::Path;

impl Inner {
    /// Load the file's latest commit and publish it if it differs from the handle's (see
    /// [`super::Database::refresh`]).
    pub(super) fn refresh(&self) -> Result<bool> {
        let _writer = self.lock_writer();
        let file = open_regular(&self.path, false)?;
        let (_, state) = load(&file, Some(&self.header))?;
        let changed = state.meta != self.lock_state().meta;
        if changed {
            *self.lock_state() = state.clone();
            self.publish(&state)?;
        }
        Ok(changed)
    }
}

/// Check every checksum and invariant of the file at `path`.
pub(super) fn verify(path: &Path) -> Result<VerifyReport> {
    let file = open_regular(path, false)?;
    let (header, state) = load(&file, None)?;
    for seg in &state.segments {
        seg.verify(state.map.bytes())?;
    }
    // Each live id once across segments and the delta (within a segment, verify checked
    // strict order). Commits keep this by tombstoning a segment's copy before another is
    // stored; a file that breaks it would return one id twice.
    let mut live: Vec<u64> = state.delta.keys().copied().collect();
    for (si, seg) in state.segments.iter().enumerate() {
        // One entry per item: an item of several codes repeats its id on adjacent rows.
        let mut prev = None;
        for &id in seg.ids.iter() {
            if prev != Some(id) && !state.deleted[si].contains(&id) {
                live.push(id);
            }
            prev = Some(id);
        }
    }
    live.sort_unstable();
    if let Some(w) = live.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::corrupt(format!("id {} is stored twice", w[0])));
    }
    if live
        .last()
        .is_some_and(|&top| top >= state.manifest.next_id)
    {
        return Err(Error::corrupt("an id at or past the manifest's next id"));
    }
    let len = CodeLen::new(header.code_bits as usize)?;
    Ok(VerifyReport {
        txn: state.meta.txn,
        segments: state.segments.len(),
        items: state.snapshot(len)?.items,
        delta_batches: state.manifest.deltas.len(),
    })
}
