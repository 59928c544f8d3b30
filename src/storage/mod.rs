//! The database file: one `.hamdb` file holding packed codes, labels, payloads and MIH tables,
//! with atomic, durable commits (docs/FORMAT.md).
//!
//! - `format`: byte layout of the header, the two meta slots and blocks.
//! - `codec` / `manifest`: what a commit points at, serialised with bincode.
//! - `segment`: immutable, memory-mapped, id-sorted segments with their MIH tables.
//! - `db`: `Database` — open, commit, flush, compact, refresh, verify; snapshots for readers.
//! - `io`: the one trait writes go through (fault injection in tests).

mod batch;
pub(crate) mod codec;
mod db;
mod format;
pub mod io;
mod manifest;
mod segment;

pub use db::{
    CommitInfo, CompactionPolicy, CreateOptions, Database, DbStats, Hit, Import, Item, OpenOptions,
    QueryResult, Snapshot, VerifyReport, WriteBatch, MAX_DELTA_BATCHES, NO_ID,
};
pub use format::FORMAT_VERSION;
