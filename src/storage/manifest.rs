//! What a commit points at: the live segments, the delta batches since the last flush, and the
//! ids deleted from segments. Encoded with [`super::codec`]; stored in a Manifest block.

use serde::{Deserialize, Serialize};

/// One item as stored in a delta batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub id: u64,
    /// Packed code bytes (numpy `packbits` order).
    pub code: Vec<u8>,
    pub label: Option<u32>,
    pub payload: Option<Vec<u8>>,
}

/// One write, as logged in a delta batch and replayed at open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Insert(ItemRecord),
    Upsert(ItemRecord),
    Delete(u64),
}

/// A typed array inside a segment block's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayRef {
    /// Byte offset from the start of the payload (64-byte aligned).
    pub offset: u64,
    /// Number of elements.
    pub len: u64,
}

/// An immutable segment: items sorted by id, their columns and MIH tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRef {
    /// Offset of the segment's block header.
    pub block: u64,
    pub n: u64,
    pub substrings: u32,
    pub inline_codes: bool,
    /// ids, codes, labels, payload offsets, payload bytes, within, sub_within, then per table
    /// offsets, rows and (if inline) codes.
    pub arrays: Vec<ArrayRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub txn: u64,
    pub next_id: u64,
    pub segments: Vec<SegmentRef>,
    /// Delta batch blocks since the last flush, in commit order.
    pub deltas: Vec<u64>,
    /// A Tombstones block: sorted ids deleted from segments before the last flush.
    pub tombstones: Option<u64>,
}
