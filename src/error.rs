//! Typed errors. Every fallible public call returns `Result<T, Error>`; nothing in the
//! search path panics on caller input.

use thiserror::Error;

/// Everything that can go wrong in hamdb's core.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A code length that hamdb does not support (must be a multiple of 8 in 8..=1024).
    #[error("unsupported code length {bits} bits: must be a multiple of 8 between 8 and 1024")]
    UnsupportedCodeLength { bits: usize },

    /// A code (or set of codes) whose length differs from the index's.
    #[error("code length mismatch: expected {expected} bits, got {actual} bits")]
    CodeLengthMismatch { expected: usize, actual: usize },

    /// A byte buffer whose size is not a whole number of codes.
    #[error("buffer of {len} bytes is not a whole number of {code_bytes}-byte codes")]
    RaggedCodeBuffer { len: usize, code_bytes: usize },

    /// A hex string that is not a valid code.
    #[error("invalid hex code: {reason}")]
    InvalidHex { reason: String },

    /// A search or build parameter out of its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter { name: &'static str, reason: String },

    /// More codes than one index can address (row numbers are u32).
    #[error("too many codes: {count} exceeds the per-index limit of {limit}")]
    TooManyCodes { count: usize, limit: usize },

    /// An operating-system I/O failure; `op` says what hamdb was doing.
    #[error("I/O error while {op}: {message}")]
    Io { op: &'static str, message: String },

    /// The file is not a hamdb database at all.
    #[error("not a hamdb database: {reason}")]
    NotADatabase { reason: String },

    /// A database written by a format version this build does not read.
    #[error("unsupported database format version {found} (this build reads version {supported})")]
    UnsupportedFormatVersion { found: u32, supported: u32 },

    /// The file is damaged: a checksum, offset, length or invariant does not hold.
    #[error("database is corrupt: {what}")]
    Corrupt { what: String },

    /// Another process holds the database's write lock.
    #[error("database is locked by another writer")]
    Locked,

    /// A write on a database opened read-only.
    #[error("database is open read-only")]
    ReadOnly,

    /// An earlier write failed part-way; the handle refuses further writes until reopened
    /// (what was committed before the failure is intact on disk).
    #[error("an earlier write failed; reopen the database to continue writing")]
    Poisoned,

    /// An insert whose id is already present (use upsert to replace).
    #[error("id {id} already exists")]
    DuplicateId { id: u64 },

    /// One batch (or one import) that inserts the same id twice.
    #[error("id {id} appears more than once in this batch")]
    RepeatedId { id: u64 },

    /// The database was created for another encoder, or for none.
    #[error("encoder mismatch: the database was made with {expected}, not {actual}")]
    EncoderMismatch { expected: String, actual: String },

    /// ONNX Runtime could not be found, loaded, or is a version hamdb does not support.
    #[error("ONNX Runtime: {reason}")]
    Runtime { reason: String },

    /// A model that does not meet the encoder contract (docs/ENCODER.md).
    #[error("the model does not meet the hamdb encoder contract: {reason}")]
    ModelContract { reason: String },

    /// The model failed while running (ONNX Runtime reported an error).
    #[error("inference failed: {reason}")]
    Inference { reason: String },

    /// An empty, truncated, corrupt or unsupported image file.
    #[error("cannot decode the image: {reason}")]
    Image { reason: String },

    /// An image past the pixel limit (decompression-bomb guard).
    #[error("image is {width}x{height} pixels, over the limit of {limit} pixels")]
    ImageTooLarge { width: u32, height: u32, limit: u64 },

    /// An image operation on a database created without a model (codes only).
    #[error("the database was created without a model; image inserts and queries need one (hamdb create --model)")]
    NoEncoder,
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(op: &'static str, e: std::io::Error) -> Self {
        Error::Io {
            op,
            message: e.to_string(),
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Error::Corrupt { what: what.into() }
    }

    pub(crate) fn model(reason: impl Into<String>) -> Self {
        Error::ModelContract {
            reason: reason.into(),
        }
    }

    pub(crate) fn image(reason: impl Into<String>) -> Self {
        Error::Image {
            reason: reason.into(),
        }
    }

    /// `value` must lie in `min..=max` (a `max` of 2^64-1 reads "2^64-1"); `note`, if any,
    /// says what special values mean, e.g. " (0 = one per core)".
    pub(crate) fn check_range(
        name: &'static str,
        value: u64,
        min: u64,
        max: u64,
        note: &str,
    ) -> Result<()> {
        if (min..=max).contains(&value) {
            return Ok(());
        }
        let max = if max == u64::MAX {
            "2^64-1".to_string()
        } else {
            max.to_string()
        };
        Err(Error::param(
            name,
            format!("{value} is out of range {min}..={max}{note}"),
        ))
    }

    pub(crate) fn param(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }
}
