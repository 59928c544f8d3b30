//! The boundary between C and Rust: the only module of the C ABI with `unsafe` code.
//!
//! Every pointer that crosses from C is turned into a Rust reference, slice or path here, after a
//! NULL check that runs in release builds. Every entry point runs inside [`guard`], which catches
//! panics, turns errors into status codes and records the message for
//! `hamdb_last_error_message`.

use super::status::*;
use hamdb::Error;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// A failed call: its status code and its message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: c_int,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: c_int, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn null(name: &str) -> Self {
        Self::new(HAMDB_NULL_ARGUMENT, format!("`{name}` is NULL"))
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::new(status_of(&e), e.to_string())
    }
}

pub(crate) type CResult<T> = Result<T, Failure>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // Interior NULs cannot appear in a C string: replace them.
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|m| *m.borrow_mut() = c);
}

/// The calling thread's last error message; valid until the next failing call on this thread.
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR.with(|m| m.borrow().as_ptr())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("internal error (panic): {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("internal error (panic): {s}")
    } else {
        "internal error (panic)".to_string()
    }
}

/// Run one entry point: `HAMDB_OK`, or the failure's status (message recorded), or
/// `HAMDB_PANIC` if it panicked. No panic crosses into C.
pub(crate) fn guard(f: impl FnOnce() -> CResult<()>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => HAMDB_OK,
        Ok(Err(fail)) => {
            set_last_error(&fail.message);
            fail.status
        }
        Err(payload) => {
            set_last_error(&panic_message(&*payload));
            HAMDB_PANIC
        }
    }
}

/// Like [`guard`] for calls that return a value instead of a status: `fallback` on panic.
pub(crate) fn guard_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            set_last_error(&panic_message(&*payload));
            fallback
        }
    }
}

/// An output pointer checked for NULL before any work is done, written only on success.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    pub(crate) fn new(ptr: *mut T, name: &str) -> CResult<Self> {
        if ptr.is_null() {
            Err(Failure::null(name))
        } else {
            Ok(Self(ptr))
        }
    }

    /// An optional output: `None` when the caller passed NULL.
    pub(crate) fn optional(ptr: *mut T) -> Option<Self> {
        (!ptr.is_null()).then_some(Self(ptr))
    }

    /// # Safety
    /// The caller of the entry point promised that the pointer is valid for a write of `T`
    /// (aligned, writable). `T` is `Copy` or a pointer, so nothing is dropped at the target.
    pub(crate) unsafe fn write(self, value: T) {
        // SAFETY: non-NULL (checked in `new`), valid and aligned by the entry point's contract;
        // `write` does not read or drop the old value, which may be uninitialised.
        unsafe { self.0.write(value) }
    }
}

/// A shared reference to a handle.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` returned by this library and not yet freed, with
/// no concurrent `&mut` use (the thread rules of each handle type say which calls may overlap).
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> CResult<&'a T> {
    // SAFETY: by the contract above, a non-NULL `ptr` points to a live `T` from `Box::into_raw`.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// An exclusive reference to a handle.
///
/// # Safety
/// As [`handle`], and no other reference to the handle is in use during the call (the caller
/// does not use this handle from two threads at once).
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T, name: &str) -> CResult<&'a mut T> {
    // SAFETY: as above, plus exclusivity by the handle's thread rules.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// A (pointer, length) input. NULL is accepted only with length 0.
///
/// # Safety
/// A non-NULL `ptr` points to `len` initialised, aligned `T`s that stay unchanged for the call.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &str) -> CResult<&'a [T]> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(name))
        };
    }
    if len
        .checked_mul(std::mem::size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Failure::new(
            HAMDB_INVALID_PARAMETER,
            format!("`{name}`: length {len} is too large"),
        ));
    }
    // SAFETY: non-NULL, `len` elements valid by the contract, size checked against isize::MAX.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// An optional array of `len` elements: NULL means absent.
///
/// # Safety
/// As [`slice`].
pub(crate) unsafe fn optional_slice<'a, T>(
    ptr: *const T,
    len: usize,
    name: &str,
) -> CResult<Option<&'a [T]>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { slice(ptr, len, name) }.map(Some)
    }
}

/// A caller-allocated output array of `cap` elements, possibly uninitialised (so it is handed
/// out as `MaybeUninit`: the library only writes it).
///
/// # Safety
/// A non-NULL `ptr` is valid for writes of `cap` `T`s for the duration of the call, and nothing
/// else accesses that memory during the call.
pub(crate) unsafe fn out_slice<'a, T>(
    ptr: *mut T,
    cap: usize,
    name: &str,
) -> CResult<&'a mut [MaybeUninit<T>]> {
    if ptr.is_null() {
        return if cap == 0 {
            Ok(&mut [])
        } else {
            Err(Failure::null(name))
        };
    }
    if cap
        .checked_mul(std::mem::size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Failure::new(
            HAMDB_INVALID_PARAMETER,
            format!("`{name}`: capacity {cap} is too large"),
        ));
    }
    // SAFETY: non-NULL, valid for `cap` writes and not aliased by the contract; `MaybeUninit`
    // makes no claim about the current contents.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<MaybeUninit<T>>(), cap) })
}

/// The array of payload pointers `import` takes: `count` (pointer, length) pairs.
///
/// # Safety
/// `ptrs` and `lens` each point to `count` elements (or are both NULL), and every non-NULL
/// `ptrs[i]` points to `lens[i]` bytes.
pub(crate) unsafe fn byte_strings<'a>(
    ptrs: *const *const u8,
    lens: *const usize,
    count: usize,
    name: &str,
) -> CResult<Option<Vec<&'a [u8]>>> {
    if ptrs.is_null() && lens.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    let ptrs = unsafe { slice(ptrs, count, name)? };
    // SAFETY: forwarded contract.
    let lens = unsafe { slice(lens, count, name)? };
    ptrs.iter()
        .zip(lens)
        // SAFETY: each pair is a (pointer, length) input by the contract.
        .map(|(&p, &l)| unsafe { slice(p, l, name) })
        .collect::<CResult<Vec<_>>>()
        .map(Some)
}

/// A NUL-terminated path.
///
/// # Safety
/// A non-NULL `ptr` points to a NUL-terminated string that stays unchanged for the call.
pub(crate) unsafe fn path<'a>(ptr: *const c_char, name: &str) -> CResult<&'a Path> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated by the contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    if bytes.is_empty() {
        return Err(Failure::new(
            HAMDB_INVALID_PARAMETER,
            format!("`{name}` is empty"),
        ));
    }
    Ok(Path::new(std::ffi::OsStr::from_bytes(bytes)))
}

/// Hand a new object to C.
pub(crate) fn into_raw<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Take back and drop an object handed out by [`into_raw`]; NULL is ignored.
///
/// # Safety
/// `ptr` is NULL or came from [`into_raw`] with the same `T` and has not been freed; no other
/// thread uses it during or after this call.
pub(crate) unsafe fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: by the contract, `ptr` is a live `Box<T>` we own from here on.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// A static C string from a literal.
pub(crate) fn static_str(s: &'static CStr) -> *const c_char {
    s.as_ptr()
}
