//! The one unsafe corner of the encoder: asking a candidate ONNX Runtime library its version
//! before `ort` commits the process to it.

use std::ffi::CStr;
use std::path::Path;

/// `OrtGetApiBase()->GetVersionString()` of the library at `path`, e.g. "1.20.1".
pub fn version_string(path: &Path) -> Result<String, String> {
    // SAFETY: loading a shared library runs its initialisers; the caller chose this file as
    // ONNX Runtime (explicitly or by its well-known name), which is the trust `ort` itself
    // places in it. The handle is dropped at the end of this function; `ort` loads it again
    // (dlopen reference-counts, so the second load is the same mapping).
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
    // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime release (C API
    // stability guarantee); a library without the symbol is reported, not called.
    let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> =
        unsafe { lib.get(b"OrtGetApiBase\0") }.map_err(|_| {
            "does not export OrtGetApiBase: not an ONNX Runtime library".to_string()
        })?;
    // SAFETY: the function takes no arguments and returns a pointer to a static struct.
    let base = unsafe { get_base() };
    if base.is_null() {
        return Err("OrtGetApiBase returned NULL".into());
    }
    // SAFETY: `base` is non-null and points to the library's static OrtApiBase; the version
    // string it returns is a static NUL-terminated string owned by the library, copied out
    // before the library handle is dropped.
    let s = unsafe { CStr::from_ptr(((*base).GetVersionString)()) };
    Ok(s.to_string_lossy().into_owned())
}
