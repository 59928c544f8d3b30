//! The C ABI of hamdb (`include/hamdb.h` is generated from this crate by cbindgen; see
//! docs/CAPI.md). It sits on the `hamdb` library's public API only.
//!
//! One file per C object, as in rustls-ffi, each using only the files above it (no circle):
//!
//! ```text
//! status.rs     status codes, status_of(Error)
//! boundary.rs   the only raw-pointer and panic work: pointer checks, the panic guard, the
//!               thread-local error message, handle allocation and free
//! constants.rs  sentinel values (HAMDB_NO_ID, HAMDB_NO_LABEL, ...) and open flags
//! batch.rs      hamdb_batch
//! results.rs    hamdb_results, hamdb_item, hamdb_prediction
//! snapshot.rs   hamdb_snapshot and the queries every search call shares
//! db.rs         hamdb_db
//! encoder.rs    hamdb_encoder, hamdb_ingest_report and the image calls
//! lib.rs        versions and the status-string calls
//! ```
//!
//! Entry points are `unsafe extern "C"`: their safety contract is the C caller's, written in the
//! `# Safety` section of each (and copied into the header).

#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

// Feature `abi` (default) builds the C entry points. Without it the crate is only the status
// list (`status_of` and the `HAMDB_*` codes) and the constants, which the Python package links:
// so its module exports no `hamdb_*` symbol of its own.
#[cfg(feature = "abi")]
mod batch;
#[cfg(feature = "abi")]
mod boundary;
mod constants;
#[cfg(feature = "abi")]
mod db;
#[cfg(feature = "abi")]
mod encoder;
#[cfg(feature = "abi")]
mod many;
#[cfg(feature = "abi")]
mod results;
#[cfg(feature = "abi")]
mod snapshot;
mod status;

#[cfg(feature = "abi")]
pub use batch::*;
pub use constants::*;
#[cfg(feature = "abi")]
pub use db::*;
#[cfg(feature = "abi")]
pub use encoder::*;
#[cfg(feature = "abi")]
pub use many::*;
#[cfg(feature = "abi")]
pub use results::*;
#[cfg(feature = "abi")]
pub use snapshot::*;
pub use status::*;

#[cfg(feature = "abi")]
use boundary::{guard_value, static_str};
#[cfg(feature = "abi")]
use std::ffi::{c_char, c_int, CStr};

/// Major version of the library (semantic versioning; the shared library's soname carries the
/// ABI major, `libhamdb.so.0`).
pub const HAMDB_VERSION_MAJOR: u32 = 0;
/// Minor version of the library (0.2.0 added `HAMDB_NO_ID` and reports it where 0.1 reported
/// id 0; docs/CAPI.md, "Versions").
pub const HAMDB_VERSION_MINOR: u32 = 2;
/// Patch version of the library.
pub const HAMDB_VERSION_PATCH: u32 = 0;
/// The ABI version this header describes; `hamdb_abi_version()` returns the library's. A
/// program built against ABI N runs with a library whose ABI is N (additions keep N; any change
/// to an existing signature, struct or status code would make it N + 1, with a new soname).
pub const HAMDB_ABI_VERSION: u32 = 1;

/// The library version, e.g. "0.2.0". A static string: never free it.
#[cfg(feature = "abi")]
#[no_mangle]
pub extern "C" fn hamdb_version() -> *const c_char {
    // The workspace's version (Cargo.toml), NUL-terminated at compile time.
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("the package version contains a NUL byte"),
        };
    static_str(VERSION)
}

/// The library's ABI version (compare with `HAMDB_ABI_VERSION` at startup).
#[cfg(feature = "abi")]
#[no_mangle]
pub extern "C" fn hamdb_abi_version() -> u32 {
    HAMDB_ABI_VERSION
}

/// A static description of a status code ("unknown status code" for values not in the list).
/// Never NULL; never free it.
#[cfg(feature = "abi")]
#[no_mangle]
pub extern "C" fn hamdb_status_string(status: c_int) -> *const c_char {
    guard_value(c"".as_ptr(), || status::describe(status))
}

/// The name of a status code's constant, e.g. "HAMDB_LOCKED" ("HAMDB_UNKNOWN" for values not in
/// the list). Never NULL; never free it.
#[cfg(feature = "abi")]
#[no_mangle]
pub extern "C" fn hamdb_status_name(status: c_int) -> *const c_char {
    guard_value(c"".as_ptr(), || status::name(status))
}

/// The message of the last call that failed on the calling thread ("" if none has). The
/// string is owned by the library and stays valid until the next failing hamdb call on the same
/// thread; copy it to keep it. Successful calls leave it unchanged. Never NULL.
///
/// Hosts that move work between OS threads (Go) must read it on the thread of the failing call.
#[cfg(feature = "abi")]
#[no_mangle]
pub extern "C" fn hamdb_last_error_message() -> *const c_char {
    guard_value(c"".as_ptr(), boundary::last_error)
}

#[cfg(all(test, feature = "abi"))]
mod tests;
