//! The ABI's sentinel values and open flags (the status codes are in `status.rs`).

/// Label value meaning "no label" (on input: store none; on output: the item has none).
pub const HAMDB_NO_LABEL: u32 = u32::MAX;
/// Class filter value meaning "any class" (no filtering).
pub const HAMDB_ANY_CLASS: u32 = u32::MAX;
/// Id value meaning "no id" (`UINT64_MAX`, reserved: inserts, upserts and imports of it fail
/// with `HAMDB_INVALID_PARAMETER`, and ids are never assigned to it). Reported where an id does
/// not exist: `hamdb_ingest_item.id` of an image that was not inserted, and
/// `hamdb_commit_info.first_assigned_id` when nothing was assigned.
pub const HAMDB_NO_ID: u64 = u64::MAX;

/// Open flag: read only (no lock taken; `hamdb_db_refresh` picks up other writers' commits).
pub const HAMDB_OPEN_READ_ONLY: u32 = 1;
/// Open flag: never compact automatically on commit (explicit `hamdb_db_compact` only).
pub const HAMDB_OPEN_NO_AUTO_COMPACT: u32 = 2;

/// The most threads a batched search (`hamdb_db_search_many` and the like) may be given.
pub const HAMDB_MAX_THREADS: usize = 256;

/// The most codes one item may hold (`hamdb_batch_insert_codes` and the like).
pub const HAMDB_MAX_CODES_PER_ITEM: usize = 64;

/// Image search ranking (`hamdb_db_search_image_ranked` and the like): by (Hamming distance, id).
pub const HAMDB_RANK_DISTANCE: u32 = 0;
/// Image search ranking: the items whose label is the query's predicted class first, then the
/// others, each group by (distance, id) (with a class filter given, the filter decides).
pub const HAMDB_RANK_CLASS_FIRST: u32 = 1;
