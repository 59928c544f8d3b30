//! `Handle`: what a closable Python object (Database, Snapshot) holds: the Rust value until
//! `close`, then nothing.

use std::sync::{Arc, Mutex};

use pyo3::PyResult;

use crate::errors::closed;

/// `Some` until closed. Each call clones the Arc, so `close` during another thread's call
/// waits for nothing: the value (a file, a mapped commit) is released when the last call
/// holding it finishes.
pub(crate) struct Handle<T> {
    inner: Mutex<Option<Arc<T>>>,
    /// How the ClosedError names the object ("database", "snapshot").
    what: &'static str,
}

impl<T> Handle<T> {
    pub(crate) fn new(value: Arc<T>, what: &'static str) -> Self {
        Self {
            inner: Mutex::new(Some(value)),
            what,
        }
    }

    /// The value, or ClosedError.
    pub(crate) fn get(&self) -> PyResult<Arc<T>> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| closed(self.what))
    }

    /// Drop this handle's reference (idempotent).
    pub(crate) fn close(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }
}
