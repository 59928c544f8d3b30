//! Exact Hamming search: linear scan and multi-index hashing, with shared result types.

mod mih;
mod scan;

pub use mih::{MihIndex, MihOptions, MihParts, TableParts, MAX_SUBSTRING_BITS};
pub use scan::ScanIndex;

/// One result: the row's id (its position in the indexed code array) and its Hamming distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Neighbor {
    pub distance: u32,
    pub id: u64,
}

/// Which algorithm answered a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchPath {
    /// Multi-index hashing probes answered it.
    Mih,
    /// A linear scan answered it (chosen up front, or the index has no tables).
    LinearScan,
    /// MIH started, its work passed the cost of a scan, and a scan finished the query.
    MihThenScan,
}

/// How a query chooses its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PathPolicy {
    /// Predict both costs per query and take the cheaper; abandon MIH for a scan when its work
    /// passes the scan's cost.
    #[default]
    Auto,
    /// Always MIH (tests, and callers who know their data).
    ForceMih,
    /// Always a linear scan.
    ForceScan,
}

/// What a query did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchStats {
    pub path: Option<SearchPath>,
    /// MIH buckets looked up (including empty ones).
    pub buckets_probed: u64,
    /// Codes whose full distance was computed (MIH candidates, or every code for a scan).
    pub candidates_checked: u64,
    /// The largest substring radius MIH probed (`None` when MIH did not run).
    pub substring_radius: Option<u32>,
}

/// Results of one query, ascending by (distance, id), with what it cost.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchResult {
    pub neighbors: Vec<Neighbor>,
    pub stats: SearchStats,
}

impl SearchResult {
    pub(crate) fn from_pairs(pairs: Vec<(u32, u32)>, stats: SearchStats) -> Self {
        Self {
            neighbors: pairs
                .into_iter()
                .map(|(distance, row)| Neighbor {
                    distance,
                    id: row as u64,
                })
                .collect(),
            stats,
        }
    }
}

/// What a batched search asks of every query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// The k nearest.
    Knn(usize),
    /// Every code within this distance.
    Radius(u32),
}

/// Per-index row limit: rows are u32 inside tables and results.
pub const MAX_ROWS: usize = u32::MAX as usize;
