//! hamdb: an embeddable database for image search by semantic binary codes.
//!
//! This crate's core: packed codes ([`Code`], [`CodeArray`]), Hamming kernels with run-time
//! dispatch ([`hamming`]), exact linear scan ([`ScanIndex`]) and exact multi-index hashing
//! ([`MihIndex`]) with k-NN and radius search.

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
mod topk;

pub use code::{Code, CodeArray, CodeLen};
pub use encoder::{Encoded, Encoder, EncoderOptions};
pub use error::{Error, IoCause, Result};
pub use hamming::Kernel;
pub use image::{
    ImageQueryResult, ImageSource, IngestError, IngestOptions, IngestProgress, IngestReport,
    ItemFailure, ModelBinding, ModelRecord, Reach,
};
pub use index::{
    MihIndex, MihOptions, MihParts, Neighbor, PathPolicy, ScanIndex, SearchPath, SearchResult,
    SearchStats, TableParts, MAX_SUBSTRING_BITS,
};
pub use storage::{
    CommitInfo, CompactionPolicy, CreateOptions, Database, DbStats, Hit, Import, Item, OpenOptions,
    QueryResult, Snapshot, VerifyReport, WriteBatch, MAX_DELTA_BATCHES, NO_ID,
};
