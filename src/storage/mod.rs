//! The database file: one `.hamdb` file holding packed codes, labels, payloads and MIH tables,
//! with atomic, durable commits (docs/FORMAT.md).
//!
//! - `format`: byte layout of the header, the two meta slots and blocks.
//! - `codec` / `manifest`: what a commit points at, serialised with bincode.
//! - `segment`: immutable, memory-mapped, id-sorted segments with their MIH tables.
//! - `db`: `Database`, the handle — create, open, and the orchestration of the jobs below.
//! - `options` / `values`: what callers pass in (options, limits) and get back (items, hits,
//!   reports).
//! - `batch`: `WriteBatch`, and a large batch resolved straight into a segment's rows.
//! - `state` / `undo`: the writer's committed state, how one op changes it, and the undo log
//!   that takes a failed commit's ops back.
//! - `file`: file primitives (open, lock, map, blocks) and the one sequence that writes a new
//!   file, for create and compact.
//! - `recovery`: reading the committed state at open (commit record, manifest, delta replay).
//! - `commit`: the commit protocol (blocks, manifest, fsync, commit record, publish, poison).
//! - `flush`: flush and import, the delta and new rows as one new segment.
//! - `compact`: the live items rewritten into a new file renamed over the old.
//! - `verify`: refresh and verify.
//! - `snapshot`: `Snapshot`, one commit's immutable state for readers, and its queries.
//! - `dedup`: all-pairs near-duplicates (within one snapshot, or between two).
//! - `many`: batched searches (many queries in one call, over threads).
//! - `io`: the one trait writes go through (fault injection in tests).

mod batch;
pub(crate) mod codec;
mod commit;
mod compact;
mod db;
mod dedup;
mod file;
mod flush;
mod format;
pub mod io;
mod manifest;
mod many;
mod options;
mod recovery;
mod segment;
mod snapshot;
mod state;
mod undo;
mod values;
mod verify;

pub use batch::WriteBatch;
pub use db::Database;
pub use dedup::{DedupOptions, Pair};
pub use flush::Import;
pub use format::FORMAT_VERSION;
pub use many::SearchManyOptions;
pub use options::{
    CompactionPolicy, CreateOptions, OpenOptions, DEFAULT_LOCK_WAIT, MAX_CODES_PER_ITEM,
    MAX_DELTA_BATCHES, NO_ID,
};
pub use snapshot::Snapshot;
pub use values::{CommitInfo, DbStats, Hit, Item, QueryResult, VerifyReport};
