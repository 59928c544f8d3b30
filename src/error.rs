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
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn param(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }
}
