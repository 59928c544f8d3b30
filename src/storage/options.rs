//! How to create and open a database, and the limits that shape its file.

use super::io::StorageWrapper;
use std::time::Duration;

/// The one id no item can have: `u64::MAX` (2^64 - 1) means "no id" everywhere (padding in
/// `--npy` search output, items an ingestion did not commit, the C ABI's `HAMDB_NO_ID`).
/// Inserts, upserts and imports of it are refused, and id assignment stops below it, so
/// `next_id` (one past the highest id ever stored) never overflows.
pub const NO_ID: u64 = u64::MAX;

/// Most codes one item may hold (PDQ's 8 rotations and flips, frames of a clip, crops). A
/// search returns an item once, at its least distance over its codes; a k-NN search of a
/// segment with such items reads more rows until it has k distinct items, so the cost of a
/// query grows with how many of an item's codes lie near it, not with this limit.
pub const MAX_CODES_PER_ITEM: usize = 64;

/// Delta codes past this count are flushed into a new segment at the next commit (an item of
/// several codes counts each: the delta is scanned row by row).
pub const DEFAULT_FLUSH_THRESHOLD: usize = 65_536;

/// Delta batches past this count are flushed at the next commit, whatever the delta's size.
///
/// Every manifest lists the delta's batches and every open replays them, so the count bounds
/// both; 64 keeps the list under ~320 bytes per commit while a flush of a small delta costs
/// one small segment.
pub const MAX_DELTA_BATCHES: usize = 64;

/// How long a read-write open waits for the write lock before [`crate::Error::Locked`]
/// ([`OpenOptions::lock_wait`]).
///
/// Not a queue for writers: it covers holders that go away by themselves. A child process
/// that any thread of the host forks shares the parent's open files until it execs, write
/// lock included, so closing a database and opening it again while another thread spawns a
/// process can find the lock still held for the child's fork-to-exec window (microseconds
/// normally, milliseconds on a loaded machine). A real second writer is refused after this.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_millis(200);

/// How to create a database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateOptions {
    pub code_bits: usize,
    /// Identifies the model whose codes this database holds (empty: a code-only database).
    /// Opaque to storage: the image layer compares it with an encoder's.
    pub fingerprint: Vec<u8>,
    /// The radius most searches will use (near-duplicate matching: PDQ at 31, pHash at 8),
    /// recorded in the header. Every segment's MIH tables are then cut for it: the cost model
    /// picks the substring count that makes a radius-`r` search cheapest within a memory
    /// bound (docs/FORMAT.md). `None`: tables cut for k-NN. Searches of any kind and radius
    /// stay exact either way; only their speed depends on it.
    pub expected_radius: Option<u32>,
}

impl CreateOptions {
    /// Options for a code-only database of `code_bits`-bit codes.
    pub fn new(code_bits: usize) -> Self {
        Self {
            code_bits,
            ..Self::default()
        }
    }
}

/// How to open a database.
#[derive(Clone, Default)]
pub struct OpenOptions {
    pub read_only: bool,
    /// Delta size, in codes (an item of several codes counts each), that triggers a flush
    /// into a segment (default 65,536).
    pub flush_threshold: Option<usize>,
    /// When commits compact the database automatically (default: [`CompactionPolicy::default`]).
    pub compaction: Option<CompactionPolicy>,
    /// How long a read-write open retries while the write lock is held elsewhere (default
    /// [`DEFAULT_LOCK_WAIT`]; `Some(Duration::ZERO)`: fail at once).
    pub lock_wait: Option<Duration>,
    /// Wraps the write path (tests inject I/O failures with it).
    pub storage: Option<StorageWrapper>,
}

/// Thresholds past which a commit compacts the database (after its own flush, if any).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactionPolicy {
    /// More segments than this: every search visits each one, so merge them.
    pub max_segments: usize,
    /// More than this fraction of segment items deleted: reclaim the space.
    pub max_deleted_fraction: f64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self {
            max_segments: 8,
            max_deleted_fraction: 0.25,
        }
    }
}

impl CompactionPolicy {
    /// Never compact automatically (explicit `compact` only).
    pub fn disabled() -> Self {
        Self {
            max_segments: usize::MAX,
            max_deleted_fraction: f64::INFINITY,
        }
    }

    pub(super) fn wants(&self, segments: usize, segment_items: u64, deleted: u64) -> bool {
        segments > self.max_segments
            || (segment_items > 0
                && deleted as f64 > self.max_deleted_fraction * segment_items as f64)
    }
}
