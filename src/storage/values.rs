//! What the database hands back: stored items, search results, and reports of commits,
//! counts and verification.

use crate::code::Code;
use crate::error::Error;
use crate::index::SearchStats;

/// A stored item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: u64,
    /// The item's (first) code.
    pub code: Code,
    /// The item's further codes, in the order they were given; empty for a one-code item.
    pub more_codes: Vec<Code>,
    pub label: Option<u32>,
    pub payload: Vec<u8>,
}

impl Item {
    /// Every code of the item, the first one first.
    pub fn codes(&self) -> impl Iterator<Item = &Code> + '_ {
        std::iter::once(&self.code).chain(&self.more_codes)
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub id: u64,
    pub distance: u32,
    pub label: Option<u32>,
    pub payload: Vec<u8>,
}

/// Results of one query, ascending by (distance, id), with what the search did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryResult {
    pub hits: Vec<Hit>,
    /// Summed over segments and the delta; `path` is the largest segment's.
    pub stats: SearchStats,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub txn: u64,
    pub assigned_ids: Vec<u64>,
    /// The commit is durable, but the automatic flush or compaction it triggered failed (the
    /// handle is then poisoned: reopen to continue writing; nothing committed is lost).
    pub maintenance_error: Option<Error>,
}

/// Counts for `stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbStats {
    pub code_bits: usize,
    pub txn: u64,
    pub items: u64,
    pub segments: usize,
    pub segment_items: u64,
    pub delta_items: u64,
    pub deleted_in_segments: u64,
    pub file_bytes: u64,
    pub fingerprint: Vec<u8>,
}

/// What `verify` checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub txn: u64,
    pub segments: usize,
    pub items: u64,
    pub delta_batches: usize,
}
