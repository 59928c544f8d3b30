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
    /// Codes per op; [`MIXED_LENGTHS`] when an op's codes differ in length.
    code_counts: Vec<u16>,
    payload_bytes: Vec<u8>,
    payload_ends: Vec<usize>,
}

/// An op's code count when its codes differ in length (refused at commit).
const MIXED_LENGTHS: u16 = u16::MAX;

/// One op, borrowed from its batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct OpRef<'a> {
    pub kind: Kind,
    pub id: u64,
    pub label: Option<u32>,
    /// Packed code bytes, the item's codes one after another (empty for a delete).
    pub code: &'a [u8],
    /// How many codes `code` holds ([`MIXED_LENGTHS`] when they differ in length).
    pub codes: u16,
    pub payload: &'a [u8],
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, kind: Kind, id: u64, codes: &[Code], label: Option<u32>, payload: &[u8]) {
        self.kinds.push(kind);
        self.ids.push(id);
        self.labels.push(label);
        for c in codes {
            c.push_bytes(&mut self.code_bytes);
        }
        self.code_ends.push(self.code_bytes.len());
        let mixed = codes.windows(2).any(|w| w[0].len() != w[1].len());
        self.code_counts.push(if mixed {
            MIXED_LENGTHS
        } else {
            codes.len().min(MIXED_LENGTHS as usize - 1) as u16
        });
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
        self.push(Kind::Insert, id, &[code], label, payload.as_ref());
        self
    }

    /// Insert an item of several codes (1 to [`crate::MAX_CODES_PER_ITEM`], one length) with
    /// a caller-given id: searches return it once, at its least distance over its codes.
    /// Refused at commit in a file older than format 4 (compact it first).
    pub fn insert_codes(
        &mut self,
        id: u64,
        codes: &[Code],
        label: Option<u32>,
        payload: impl AsRef<[u8]>,
    ) -> &mut Self {
        self.push(Kind::Insert, id, codes, label, payload.as_ref());
        self
    }

    /// [`WriteBatch::insert_codes`] with an id assigned at commit.
    pub fn insert_auto_codes(
        &mut self,
        codes: &[Code],
        label: Option<u32>,
        payload: impl AsRef<[u8]>,
    ) -> &mut Self {
        self.push(Kind::InsertAuto, 0, codes, label, payload.as_ref());
        self
    }

    /// Insert, or replace the item with this id by, an item of several codes.
    pub fn upsert_codes(
        &mut self,
        id: u64,
        codes: &[Code],
        label: Option<u32>,
        payload: impl AsRef<[u8]>,
    ) -> &mut Self {
        self.push(Kind::Upsert, id, codes, label, payload.as_ref());
        self
    }

    /// Insert with an id assigned at commit ([`super::CommitInfo::assigned_ids`], in order).
    pub fn insert_auto(
        &mut self,
        code: Code,
        label: Option<u32>,
        payload: impl AsRef<[u8]>,
    ) -> &mut Self {
        self.push(Kind::InsertAuto, 0, &[code], label, payload.as_ref());
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
        self.push(Kind::Upsert, id, &[code], label, payload.as_ref());
        self
    }

    /// Delete by id (deleting an absent id is not an error).
    pub fn delete(&mut self, id: u64) -> &mut Self {
        self.push(Kind::Delete, id, &[], None, &[]);
        self
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// Codes the batch's inserts and upserts carry (what the flush threshold counts).
    pub fn codes(&self) -> usize {
        self.code_counts
            .iter()
            .filter(|&&c| c != MIXED_LENGTHS)
            .map(|&c| c as usize)
            .sum()
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
            codes: self.code_counts[i],
            payload: &self.payload_bytes[start(&self.payload_ends)..self.payload_ends[i]],
        }
    }
}

/// An op's codes and label, checked against the database's code length, the codes an item
/// may hold (`multi`: whether the file's format allows several) and reserved values.
pub(super) fn check_item(op: &OpRef<'_>, len: CodeLen, multi: bool) -> Result<()> {
    match op.codes {
        0 => return Err(Error::param("codes", "an item needs at least one code")),
        MIXED_LENGTHS => {
            return Err(Error::param(
                "codes",
                "the codes of one item differ in length",
            ))
        }
        n if n as usize > super::MAX_CODES_PER_ITEM => {
            return Err(Error::param(
                "codes",
                format!(
                    "{n} codes for one item; at most {}",
                    super::MAX_CODES_PER_ITEM
                ),
            ))
        }
        n if n > 1 && !multi => {
            return Err(Error::param(
                "codes",
                "this file is an older format (before 4) that holds one code per item; \
                 compact the database (hamdb compact) to rewrite it as format 4",
            ))
        }
        _ => {}
    }
    let bits = op.code.len() * 8 / op.codes as usize;
    if bits != len.bits() {
        return Err(Error::CodeLengthMismatch {
            expected: len.bits(),
            actual: bits,
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
    multi: bool,
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
            if let Err(e) = check_item(&checked, len, multi) {
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
