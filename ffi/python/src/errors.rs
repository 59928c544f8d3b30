//! Rust errors -> Python exceptions: the class of an error's C status (`hamdb_capi::status_of`,
//! so the status list is declared once, in ffi/capi), looked up in `hamdb._errors`, with the
//! Rust error's Display as the message.

use pyo3::prelude::*;
use pyo3::types::PyType;

/// The Python exception for a status code (`hamdb._errors._BY_STATUS`).
pub(crate) fn status_error(status: i32, message: String) -> PyErr {
    Python::attach(|py| {
        let class = py
            .import("hamdb._errors")
            .and_then(|m| m.getattr("_BY_STATUS"))
            .and_then(|d| d.get_item(status))
            .and_then(|c| Ok(c.downcast_into::<PyType>()?));
        match class {
            Ok(class) => PyErr::from_type(class, (message,)),
            Err(e) => e,
        }
    })
}

pub(crate) fn to_py(e: hamdb::Error) -> PyErr {
    status_error(hamdb_capi::status_of(&e), e.to_string())
}

pub(crate) fn closed(what: &str) -> PyErr {
    status_error(hamdb_capi::HAMDB_CLOSED, format!("the {what} is closed"))
}

/// The status names and codes `hamdb.STATUS` exposes (`hamdb._errors` maps them to classes).
pub(crate) const STATUSES: &[(&str, i32)] = &[
    (
        "UNSUPPORTED_CODE_LENGTH",
        hamdb_capi::HAMDB_UNSUPPORTED_CODE_LENGTH,
    ),
    (
        "CODE_LENGTH_MISMATCH",
        hamdb_capi::HAMDB_CODE_LENGTH_MISMATCH,
    ),
    ("RAGGED_CODE_BUFFER", hamdb_capi::HAMDB_RAGGED_CODE_BUFFER),
    ("INVALID_HEX", hamdb_capi::HAMDB_INVALID_HEX),
    ("INVALID_PARAMETER", hamdb_capi::HAMDB_INVALID_PARAMETER),
    ("TOO_MANY_CODES", hamdb_capi::HAMDB_TOO_MANY_CODES),
    ("IO", hamdb_capi::HAMDB_IO),
    ("NOT_A_DATABASE", hamdb_capi::HAMDB_NOT_A_DATABASE),
    (
        "UNSUPPORTED_FORMAT_VERSION",
        hamdb_capi::HAMDB_UNSUPPORTED_FORMAT_VERSION,
    ),
    ("CORRUPT", hamdb_capi::HAMDB_CORRUPT),
    ("LOCKED", hamdb_capi::HAMDB_LOCKED),
    ("READ_ONLY", hamdb_capi::HAMDB_READ_ONLY),
    ("POISONED", hamdb_capi::HAMDB_POISONED),
    ("DUPLICATE_ID", hamdb_capi::HAMDB_DUPLICATE_ID),
    ("ENCODER_MISMATCH", hamdb_capi::HAMDB_ENCODER_MISMATCH),
    ("RUNTIME", hamdb_capi::HAMDB_RUNTIME),
    ("MODEL_CONTRACT", hamdb_capi::HAMDB_MODEL_CONTRACT),
    ("INFERENCE", hamdb_capi::HAMDB_INFERENCE),
    ("IMAGE", hamdb_capi::HAMDB_IMAGE),
    ("IMAGE_TOO_LARGE", hamdb_capi::HAMDB_IMAGE_TOO_LARGE),
    ("NO_ENCODER", hamdb_capi::HAMDB_NO_ENCODER),
    ("CLOSED", hamdb_capi::HAMDB_CLOSED),
    ("OTHER", hamdb_capi::HAMDB_OTHER),
];
