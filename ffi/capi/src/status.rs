//! Status codes. Values are part of the ABI: a code is never renumbered or reused. Codes 1-99
//! name the library's error kinds (one per `hamdb::Error` variant, in order of addition),
//! 100 and up the ABI's own.

use hamdb::Error;
use std::ffi::c_int;
#[cfg(feature = "abi")]
use std::ffi::{c_char, CStr};

/// Success.
pub const HAMDB_OK: c_int = 0;
/// A code length that hamdb does not support (a multiple of 8 bits in 8..=1024).
pub const HAMDB_UNSUPPORTED_CODE_LENGTH: c_int = 1;
/// A code whose length differs from the database's.
pub const HAMDB_CODE_LENGTH_MISMATCH: c_int = 2;
/// A byte buffer that is not a whole number of codes.
pub const HAMDB_RAGGED_CODE_BUFFER: c_int = 3;
/// A hex string that is not a valid code.
pub const HAMDB_INVALID_HEX: c_int = 4;
/// An argument out of its valid range (the message names it).
pub const HAMDB_INVALID_PARAMETER: c_int = 5;
/// More codes than one segment can address.
pub const HAMDB_TOO_MANY_CODES: c_int = 6;
/// An operating-system I/O error.
pub const HAMDB_IO: c_int = 7;
/// The file is not a hamdb database.
pub const HAMDB_NOT_A_DATABASE: c_int = 8;
/// A database format version this build does not read.
pub const HAMDB_UNSUPPORTED_FORMAT_VERSION: c_int = 9;
/// The file is damaged (checksum, offset, length or invariant).
pub const HAMDB_CORRUPT: c_int = 10;
/// Another writer (process or handle) holds the database's write lock.
pub const HAMDB_LOCKED: c_int = 11;
/// A write on a database opened read-only.
pub const HAMDB_READ_ONLY: c_int = 12;
/// An earlier write failed; reopen the database to write again.
pub const HAMDB_POISONED: c_int = 13;
/// An insert whose id already exists.
pub const HAMDB_DUPLICATE_ID: c_int = 14;
/// The database was created for another encoder (or for none).
pub const HAMDB_ENCODER_MISMATCH: c_int = 15;
/// ONNX Runtime could not be found or loaded, or is an unsupported version.
pub const HAMDB_RUNTIME: c_int = 16;
/// The model does not meet the hamdb encoder contract (docs/ENCODER.md).
pub const HAMDB_MODEL_CONTRACT: c_int = 17;
/// The model failed while running.
pub const HAMDB_INFERENCE: c_int = 18;
/// An empty, truncated, corrupt or unsupported image.
pub const HAMDB_IMAGE: c_int = 19;
/// An image over the pixel limit (decompression-bomb guard).
pub const HAMDB_IMAGE_TOO_LARGE: c_int = 20;
/// An image operation on a database created without a model.
pub const HAMDB_NO_ENCODER: c_int = 21;

/// A required pointer argument was NULL.
pub const HAMDB_NULL_ARGUMENT: c_int = 100;
/// A caller-allocated output buffer is too small; the required size is reported where the
/// function says so.
pub const HAMDB_BUFFER_TOO_SMALL: c_int = 101;
/// A bug in hamdb: a panic was caught at the boundary. The handle stays usable, but the call's
/// effect is unknown.
pub const HAMDB_PANIC: c_int = 102;
/// The database handle was closed with `hamdb_db_close`.
pub const HAMDB_CLOSED: c_int = 103;
/// No item with this id, or an index past the end of a result.
pub const HAMDB_NOT_FOUND: c_int = 104;
/// An error kind newer than this status list (the message says what happened).
pub const HAMDB_OTHER: c_int = 105;

/// The C status code of an error (the differential test and other Rust callers use it).
pub fn status_of(e: &Error) -> c_int {
    match e {
        Error::UnsupportedCodeLength { .. } => HAMDB_UNSUPPORTED_CODE_LENGTH,
        Error::CodeLengthMismatch { .. } => HAMDB_CODE_LENGTH_MISMATCH,
        Error::RaggedCodeBuffer { .. } => HAMDB_RAGGED_CODE_BUFFER,
        Error::InvalidHex { .. } => HAMDB_INVALID_HEX,
        Error::InvalidParameter { .. } => HAMDB_INVALID_PARAMETER,
        Error::TooManyCodes { .. } => HAMDB_TOO_MANY_CODES,
        Error::Io { .. } => HAMDB_IO,
        Error::NotADatabase { .. } => HAMDB_NOT_A_DATABASE,
        Error::UnsupportedFormatVersion { .. } => HAMDB_UNSUPPORTED_FORMAT_VERSION,
        Error::Corrupt { .. } => HAMDB_CORRUPT,
        Error::Locked => HAMDB_LOCKED,
        Error::ReadOnly => HAMDB_READ_ONLY,
        Error::Poisoned => HAMDB_POISONED,
        Error::DuplicateId { .. } | Error::RepeatedId { .. } => HAMDB_DUPLICATE_ID,
        Error::EncoderMismatch { .. } => HAMDB_ENCODER_MISMATCH,
        Error::Runtime { .. } => HAMDB_RUNTIME,
        Error::ModelContract { .. } => HAMDB_MODEL_CONTRACT,
        Error::Inference { .. } => HAMDB_INFERENCE,
        Error::Image { .. } => HAMDB_IMAGE,
        Error::ImageTooLarge { .. } => HAMDB_IMAGE_TOO_LARGE,
        Error::NoEncoder => HAMDB_NO_ENCODER,
        // `hamdb::Error` is `#[non_exhaustive]`: a kind added to the library reaches C callers
        // as HAMDB_OTHER (with its message) until it gets a status of its own here.
        _ => HAMDB_OTHER,
    }
}

/// Every status code with its name and description, in ABI order (tests and docs use it).
#[cfg(feature = "abi")]
pub(crate) const STATUSES: &[(c_int, &CStr, &CStr)] = &[
    (HAMDB_OK, c"HAMDB_OK", c"ok"),
    (
        HAMDB_UNSUPPORTED_CODE_LENGTH,
        c"HAMDB_UNSUPPORTED_CODE_LENGTH",
        c"unsupported code length",
    ),
    (
        HAMDB_CODE_LENGTH_MISMATCH,
        c"HAMDB_CODE_LENGTH_MISMATCH",
        c"code length mismatch",
    ),
    (
        HAMDB_RAGGED_CODE_BUFFER,
        c"HAMDB_RAGGED_CODE_BUFFER",
        c"buffer is not a whole number of codes",
    ),
    (HAMDB_INVALID_HEX, c"HAMDB_INVALID_HEX", c"invalid hex code"),
    (
        HAMDB_INVALID_PARAMETER,
        c"HAMDB_INVALID_PARAMETER",
        c"invalid parameter",
    ),
    (
        HAMDB_TOO_MANY_CODES,
        c"HAMDB_TOO_MANY_CODES",
        c"too many codes",
    ),
    (HAMDB_IO, c"HAMDB_IO", c"I/O error"),
    (
        HAMDB_NOT_A_DATABASE,
        c"HAMDB_NOT_A_DATABASE",
        c"not a hamdb database",
    ),
    (
        HAMDB_UNSUPPORTED_FORMAT_VERSION,
        c"HAMDB_UNSUPPORTED_FORMAT_VERSION",
        c"unsupported database format version",
    ),
    (HAMDB_CORRUPT, c"HAMDB_CORRUPT", c"database is corrupt"),
    (
        HAMDB_LOCKED,
        c"HAMDB_LOCKED",
        c"database is locked by another writer",
    ),
    (
        HAMDB_READ_ONLY,
        c"HAMDB_READ_ONLY",
        c"database is open read-only",
    ),
    (
        HAMDB_POISONED,
        c"HAMDB_POISONED",
        c"an earlier write failed; reopen to write",
    ),
    (
        HAMDB_DUPLICATE_ID,
        c"HAMDB_DUPLICATE_ID",
        c"id already exists",
    ),
    (
        HAMDB_ENCODER_MISMATCH,
        c"HAMDB_ENCODER_MISMATCH",
        c"encoder mismatch",
    ),
    (HAMDB_RUNTIME, c"HAMDB_RUNTIME", c"ONNX Runtime unavailable"),
    (
        HAMDB_MODEL_CONTRACT,
        c"HAMDB_MODEL_CONTRACT",
        c"model does not meet the encoder contract",
    ),
    (HAMDB_INFERENCE, c"HAMDB_INFERENCE", c"inference failed"),
    (HAMDB_IMAGE, c"HAMDB_IMAGE", c"cannot decode the image"),
    (
        HAMDB_IMAGE_TOO_LARGE,
        c"HAMDB_IMAGE_TOO_LARGE",
        c"image over the pixel limit",
    ),
    (
        HAMDB_NO_ENCODER,
        c"HAMDB_NO_ENCODER",
        c"database has no model",
    ),
    (
        HAMDB_NULL_ARGUMENT,
        c"HAMDB_NULL_ARGUMENT",
        c"NULL argument",
    ),
    (
        HAMDB_BUFFER_TOO_SMALL,
        c"HAMDB_BUFFER_TOO_SMALL",
        c"output buffer too small",
    ),
    (
        HAMDB_PANIC,
        c"HAMDB_PANIC",
        c"internal error (panic caught)",
    ),
    (HAMDB_CLOSED, c"HAMDB_CLOSED", c"database handle is closed"),
    (HAMDB_NOT_FOUND, c"HAMDB_NOT_FOUND", c"not found"),
    (HAMDB_OTHER, c"HAMDB_OTHER", c"other error"),
];

#[cfg(feature = "abi")]
pub(crate) fn describe(status: c_int) -> *const c_char {
    STATUSES
        .iter()
        .find(|s| s.0 == status)
        .map_or(c"unknown status code".as_ptr(), |s| s.2.as_ptr())
}

#[cfg(feature = "abi")]
pub(crate) fn name(status: c_int) -> *const c_char {
    STATUSES
        .iter()
        .find(|s| s.0 == status)
        .map_or(c"HAMDB_UNKNOWN".as_ptr(), |s| s.1.as_ptr())
}
