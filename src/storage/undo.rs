//! The undo log of one commit. Commits apply their ops to the writer's state in place and
//! take them back on failure, so a commit costs O(batch), not O(delta).

use super::state::{DeltaItem, State};
use std::collections::BTreeSet;

/// How to take back one applied op.
pub(super) enum Undo {
    Delta(u64, Option<DeltaItem>),
    Tombstone(usize, u64),
    NextId(u64),
}

impl State {
    /// Take back applied ops, newest first.
    pub(super) fn rollback(&mut self, undo: Vec<Undo>) {
        for u in undo.into_iter().rev() {
            match u {
                Undo::Delta(id, Some(old)) => {
                    self.delta_put(id, old);
                }
                Undo::Delta(id, None) => {
                    self.delta_take(id);
                }
                Undo::Tombstone(si, id) => {
                    self.deleted[si].remove(&id);
                }
                Undo::NextId(old) => self.manifest.next_id = old,
            }
        }
    }
}

/// The segments the applied ops put tombstones in (their deleted-row bitmaps change).
pub(super) fn touched_segments(undo: &[Undo]) -> BTreeSet<usize> {
    undo.iter()
        .filter_map(|u| {
            if let Undo::Tombstone(si, _) = u {
                Some(*si)
            } else {
                None
            }
        })
        .collect()
}
