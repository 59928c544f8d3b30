//! `WriteBatch`: the writes one commit applies atomically, stored column by column, and the
//! resolution of a large batch straight into the rows of a new segment.
//!
//! A batch costs about 33 bytes per op plus its code and payload bytes (one op is a kind, an
//! id, a label and two end offsets into shared byte arrays), not an allocation per code: a
//! million-insert batch of 64-bit codes is ~41 MB, where one `Code` and one `Vec` per op cost
//! five times that.

use super::NO_ID;
use crate::code::{Code, CodeLen};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Insert,
    InsertAuto,
    Upsert,
    Delete,
}

/// Writes that commit together, atomically.
#[derive(Default, Clone)]
pub struct WriteBatch {
    kinds: Vec<Kind>,
    /// The caller's id (unused for `InsertAuto`).
    ids: Vec<u64>,
    labels: Vec<Option<u32>>,
    /// Packed code bytes of every op, concatenated; op i's are `code_ends[i-1]..code_ends[i]`.
    code_bytes: Vec<u8>,
    code_ends: Vec<usize>,
    payload_bytes: Vec<u8>,
    payload_ends: Vec<usize>,
}

/// One op, borrowed from its batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct OpRef<'a> {
    pub kind: Kind,
    pub id: u64,
    pub label: Option<u32>,
    /// Packed code bytes (empty for a delete).
    pub code: &'a [u8],
    pub payload: &'a [u8],
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(
        &mut self,
        kind: Kind,
        id: u64,
        code: Option<&Code>,
        label: Option<u32>,
        payload: &[u8],
    ) {
        self.kinds.push(kind);
        self.ids.push(id);
        self.labels.push(label);
        if let Some(c) = code {
            c.push_bytes(&mut self.code_bytes);
        }
        self.code_ends.push(self.code_bytes.len());
        self.payload_bytes.extend_from_slice(payload);
        self.payload_ends.push(self.payload_bytes.len());
    }

    /// Insert with a caller-given id; the commit fails if the id exists.
    pub fn insert(
        &mut self,
        id: u64,
        code: Code,
        label: Option<u32>,
        payload: impl AsRef<[u8]>,
    ) -> &mut Self {
        self.push(Kind::Insert, id, Some(&code), label, payload.as_ref());
        self
    }

    /// Insert with an id assigned at commit ([`super::CommitInfo::assigned_ids`], in order).
    pub fn insert_auto(
        &mut self,
        code: Code,
        label: Option<u32>,
        payload: impl AsRef<[u8]>,
    ) -> &mut Self {
        self.push(Kind::InsertAuto, 0, Some(&code), label, payload.as_ref());
        self
    }

    /// Insert, or replace the item with this id.
    pub fn upsert(
        &mut self,
        id: u64,
        code: Code,
        label: Option<u32>,
        payload: impl AsRef<[u8]>,
    ) -> &mut Self {
        self.push(Kind::Upsert, id, Some(&code), label, payload.as_ref());
        self
    }

    /// Delete by id (deleting an absent id is not an error).
    pub fn delete(&mut self, id: u64) -> &mut Self {
        self.push(Kind::Delete, id, None, None, &[]);
        self
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    pub(super) fn op(&self, i: usize) -> OpRef<'_> {
        let start = |ends: &[usize]| if i == 0 { 0 } else { ends[i - 1] };
        OpRef {
            kind: self.kinds[i],
            id: self.ids[i],
            label: self.labels[i],
            code: &self.code_bytes[start(&self.code_ends)..self.code_ends[i]],
            payload: &self.payload_bytes[start(&self.payload_ends)..self.payload_ends[i]],
        }
    }
}

/// An op's code and label, checked against the database's code length and reserved values.
pub(super) fn check_item(op: &OpRef<'_>, len: CodeLen) -> Result<()> {
    if op.code.len() * 8 != len.bits() {
        return Err(Error::CodeLengthMismatch {
            expected: len.bits(),
            actual: op.code.len() * 8,
        });
    }
    if op.label == Some(super::segment::NO_LABEL) {
        return Err(Error::param(
            "label",
            format!("{} is reserved", super::segment::NO_LABEL),
        ));
    }
    check_id(op.id)
}

pub(super) fn check_id(id: u64) -> Result<()> {
    if id == NO_ID {
        return Err(Error::param(
            "id",
            "2^64-1 is reserved (hamdb::NO_ID, HAMDB_NO_ID: \"no id\"); ids are 0..=2^64-2",
        ));
    }
    Ok(())
}

pub(super) fn ids_exhausted() -> Error {
    Error::param(
        "id",
        "no ids left to assign: the highest id, 2^64-2, is taken (give ids explicitly)",
    )
}

/// What a batch does, resolved against the items that exist before it.
pub(super) struct Resolved {
    /// Ops whose item is stored by the commit, ascending by id, with their ids.
    pub rows: Vec<(u64, usize)>,
    /// Ids whose earlier copy (in the delta or a segment) the batch deletes or replaces,
    /// ascending.
    pub removed: Vec<u64>,
    /// Ids given to auto-id inserts, in op order.
    pub assigned: Vec<u64>,
    /// One past the highest id the batch stores or assigns.
    pub next_id: u64,
}

/// Resolve `batch` as if its ops were applied one by one (the semantics of the logged path),
/// in O(n log n) time and 16 bytes of working memory per op: ops are grouped by id (stable,
/// so each id's ops stay in order) and each id's ops are replayed on whether it `exists`.
/// Fails with the error of the first op, in batch order, that the one-by-one path would fail
/// on.
pub(super) fn resolve(
    batch: &WriteBatch,
    len: CodeLen,
    next_id: u64,
    exists: impl Fn(u64) -> bool,
) -> Result<Resolved> {
    let n = batch.len();
    let mut first_error: Option<(usize, Error)> = None;
    let fail = |i: usize, e: Error, first: &mut Option<(usize, Error)>| {
        if first.as_ref().is_none_or(|(j, _)| i < *j) {
            *first = Some((i, e));
        }
    };
    // Ids in op order: explicit ids raise the next auto id past them, as in the logged path.
    let mut next = next_id;
    let mut assigned = Vec::new();
    let mut order: Vec<(u64, usize)> = Vec::with_capacity(n);
    for i in 0..n {
        let op = batch.op(i);
        let id = match op.kind {
            Kind::InsertAuto => {
                if next == NO_ID {
                    fail(i, ids_exhausted(), &mut first_error);
                    break;
                }
                assigned.push(next);
                next
            }
            _ => op.id,
        };
        if op.kind != Kind::Delete {
            let checked = OpRef { id, ..op };
            if let Err(e) = check_item(&checked, len) {
                fail(i, e, &mut first_error);
                break;
            }
            next = next.max(id + 1);
        }
        order.push((id, i));
    }
    order.sort_unstable();
    let mut rows = Vec::new();
    let mut removed = Vec::new();
    let mut g = 0;
    while g < order.len() {
        let id = order[g].0;
        let end = g + order[g..].partition_point(|x| x.0 == id);
        let existed = exists(id);
        let mut present = existed;
        let mut current: Option<usize> = None;
        let mut written = false;
        for &(_, i) in &order[g..end] {
            match batch.op(i).kind {
                Kind::Insert | Kind::InsertAuto => {
                    if present {
                        let e = if written {
                            Error::RepeatedId { id }
                        } else {
                            Error::DuplicateId { id }
                        };
                        fail(i, e, &mut first_error);
                        break;
                    }
                    present = true;
                    current = Some(i);
                    written = true;
                }
                Kind::Upsert => {
                    present = true;
                    current = Some(i);
                    written = true;
                }
                Kind::Delete => {
                    present = false;
                    current = None;
                }
            }
        }
        if existed && (written || !present) {
            removed.push(id);
        }
        if let (true, Some(i)) = (present, current) {
            rows.push((id, i));
        }
        g = end;
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    Ok(Resolved {
        rows,
        removed,
        assigned,
        next_id: next,
    })
}
