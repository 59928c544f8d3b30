//! Typed errors. Every fallible public call returns `Result<T, Error>`; nothing in the
//! search path panics on caller input.

use std::sync::Arc;

use thiserror::Error;

/// Everything that can go wrong in hamdb's core.
///
/// Each variant has a stable C status code (`ffi/capi/src/status.rs`, docs/CAPI.md): a new
/// variant gets its code there in the same change (until then C sees `HAMDB_OTHER`).
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

    /// An operating-system I/O failure; `op` says what hamdb was doing. The `std::io::Error`
    /// is kept: [`Error::io_kind`] gives its kind, and `std::error::Error::source` returns it
    /// (downcast it to `std::io::Error`). Two are equal when `op`, kind and message are (see
    /// [`IoCause`]; `std::io::Error` itself has no `PartialEq`).
    // The text is what it was when the cause was stored as a string: `{source}` displays the
    // io::Error. thiserror's `source()` reaches the io::Error through `IoCause: Deref`
    // (checked by `tests::io_errors_keep_their_cause`).
    #[error("I/O error while {op}: {source}")]
    Io { op: &'static str, source: IoCause },

    /// The file is not a hamdb database at all.
    #[error("not a hamdb database: {reason}")]
    NotADatabase { reason: String },

    /// A database written by a format version this build does not read.
    #[error(
        "unsupported database format version {found} (this build reads versions 2 to {supported})"
    )]
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

/// The `std::io::Error` inside an [`Error::Io`], shared so that [`enum@Error`] stays `Clone`.
///
/// It dereferences to the `std::io::Error`. It is deliberately not an error type itself: that
/// way `source()` of an [`Error::Io`] is the `std::io::Error` (the derive reaches it through
/// `Deref`), so `e.source().and_then(|s| s.downcast_ref::<std::io::Error>())` finds it.
///
/// `std::io::Error` has no equality, so two causes are equal when their kind and message are
/// equal, which keeps `Error`'s `PartialEq`/`Eq` comparing what it compared before (the
/// message) plus the kind.
#[derive(Clone)]
pub struct IoCause(Arc<std::io::Error>);

impl IoCause {
    /// The `std::io::Error` itself.
    pub fn get(&self) -> &std::io::Error {
        &self.0
    }
}

impl std::ops::Deref for IoCause {
    type Target = std::io::Error;

    fn deref(&self) -> &std::io::Error {
        &self.0
    }
}

impl From<std::io::Error> for IoCause {
    fn from(e: std::io::Error) -> Self {
        IoCause(Arc::new(e))
    }
}

impl std::fmt::Debug for IoCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for IoCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

impl PartialEq for IoCause {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string())
    }
}

impl Eq for IoCause {}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(op: &'static str, e: std::io::Error) -> Self {
        Error::Io {
            op,
            source: IoCause(Arc::new(e)),
        }
    }

    /// The kind of the operating-system error behind an [`Error::Io`]; `None` for every other
    /// variant.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        self.io_error().map(std::io::Error::kind)
    }

    /// The `std::io::Error` behind an [`Error::Io`] (for `raw_os_error` and the like); `None` for
    /// every other variant.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;
    use std::io;

    #[test]
    fn io_errors_keep_their_cause() {
        let inner = io::Error::new(io::ErrorKind::NotFound, "no such file");
        let want_text = format!("I/O error while opening the database: {inner}");
        let e = Error::io("opening the database", inner);
        assert_eq!(e.io_kind(), Some(io::ErrorKind::NotFound));
        assert_eq!(
            e.io_error().map(io::Error::kind),
            Some(io::ErrorKind::NotFound)
        );
        let source = e.source().expect("an Io error has a source");
        let io_source = source
            .downcast_ref::<io::Error>()
            .expect("the source is the std::io::Error itself");
        assert_eq!(io_source.kind(), io::ErrorKind::NotFound);
        // The text is as before: the op, then the io::Error's own message.
        assert_eq!(e.to_string(), want_text);
        assert_eq!(
            e.to_string(),
            "I/O error while opening the database: no such file"
        );
        // An OS error keeps its code through the cause.
        let os = Error::io("reading", io::Error::from_raw_os_error(2));
        assert_eq!(os.io_error().and_then(io::Error::raw_os_error), Some(2));
        assert_eq!(os.io_kind(), Some(io::ErrorKind::NotFound));
        assert!(matches!(os, Error::Io { op: "reading", .. }));
        // Clone shares the cause; equality is op + kind + message.
        assert_eq!(e.clone(), e);
        assert_eq!(
            e,
            Error::io(
                "opening the database",
                io::Error::new(io::ErrorKind::NotFound, "no such file")
            )
        );
        assert_ne!(
            e,
            Error::io("opening the database", io::Error::other("no such file"))
        );
        assert_ne!(
            e,
            Error::io(
                "reading",
                io::Error::new(io::ErrorKind::NotFound, "no such file")
            )
        );
        // Other variants have no io cause.
        assert_eq!(Error::Locked.io_kind(), None);
        assert!(Error::Locked.source().is_none());
    }
}
