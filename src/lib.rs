//! hamdb: an embeddable database for image search by semantic binary codes.
//!
//! Layers, bottom up (docs/ARCHITECTURE.md has the map): packed codes ([`Code`],
//! [`CodeArray`]) and Hamming kernels behind an opaque [`Kernel`]; exact linear scan
//! ([`ScanIndex`]) and multi-index hashing ([`MihIndex`]) with k-NN and radius search; the
//! database file ([`Database`], [`storage`]), which stores codes, labels, payloads and an opaque
//! model record; the ONNX encoder ([`Encoder`], [`encoder`]); and the image layer ([`image`]),
//! which binds a database to its model ([`ModelBinding`]) for image inserts, searches and
//! evaluation. The C ABI is the separate crate `hamdb-capi` (ffi/capi).

mod aligned;
mod code;
pub mod encoder;
mod error;
mod hamming;
pub mod image;
mod index;
pub mod npy;
mod prefetch;
pub mod slab;
pub mod storage;
mod threads;
mod topk;

pub use code::{Code, CodeArray, CodeLen};
pub use encoder::{Encoded, Encoder, EncoderOptions, PixelLayout};
pub use error::{Error, IoCause, Result};
pub use hamming::Kernel;
pub use image::{
    ImageQueryResult, ImageSource, IngestError, IngestOptions, IngestProgress, IngestReport,
    ItemFailure, ModelBinding, ModelRecord, Rank, Reach,
};
pub use index::{
    MihIndex, MihOptions, MihParts, Neighbor, PathPolicy, ScanIndex, SearchPath, SearchResult,
    SearchStats, TableParts, MAX_SUBSTRING_BITS,
};
pub use storage::{
    CommitInfo, CompactionPolicy, CreateOptions, Database, DbStats, DedupOptions, Hit, Import,
    Item, OpenOptions, Pair, QueryResult, SearchManyOptions, Snapshot, VerifyReport, WriteBatch,
    DEFAULT_LOCK_WAIT, MAX_CODES_PER_ITEM, MAX_DELTA_BATCHES, NO_ID,
};
pub use threads::MAX_THREADS;
