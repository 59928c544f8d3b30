//! `WriteBatch`: inserts, upserts and deletes collected in Python, applied by `Database.commit`.

use pyo3::prelude::*;

use crate::args::{code_arg, code_list_arg};

/// A group of inserts, upserts and deletes that `Database.commit` applies atomically.
#[pyclass(module = "hamdb")]
#[derive(Default)]
pub(crate) struct WriteBatch {
    pub(crate) inner: hamdb::WriteBatch,
}

fn payload_of(payload: Option<&[u8]>) -> &[u8] {
    payload.unwrap_or(&[])
}

#[pymethods]
impl WriteBatch {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Insert with a caller-given id; the commit fails with DuplicateIdError if it exists.
    #[pyo3(signature = (id, code, label=None, payload=None))]
    fn insert(
        &mut self,
        id: u64,
        code: &Bound<'_, PyAny>,
        label: Option<u32>,
        payload: Option<&[u8]>,
    ) -> PyResult<()> {
        self.inner
            .insert(id, code_arg(code)?, label, payload_of(payload));
        Ok(())
    }

    /// Insert with an id assigned at commit (`CommitInfo.assigned_ids`, in order).
    #[pyo3(signature = (code, label=None, payload=None))]
    fn insert_auto(
        &mut self,
        code: &Bound<'_, PyAny>,
        label: Option<u32>,
        payload: Option<&[u8]>,
    ) -> PyResult<()> {
        self.inner
            .insert_auto(code_arg(code)?, label, payload_of(payload));
        Ok(())
    }

    /// Insert, or replace the item with this id.
    #[pyo3(signature = (id, code, label=None, payload=None))]
    fn upsert(
        &mut self,
        id: u64,
        code: &Bound<'_, PyAny>,
        label: Option<u32>,
        payload: Option<&[u8]>,
    ) -> PyResult<()> {
        self.inner
            .upsert(id, code_arg(code)?, label, payload_of(payload));
        Ok(())
    }

    /// Insert an item of several codes (1 to MAX_CODES_PER_ITEM, one length) with a
    /// caller-given id: searches return it once, at its least distance over its codes.
    #[pyo3(signature = (id, codes, label=None, payload=None))]
    fn insert_codes(
        &mut self,
        id: u64,
        codes: &Bound<'_, PyAny>,
        label: Option<u32>,
        payload: Option<&[u8]>,
    ) -> PyResult<()> {
        self.inner
            .insert_codes(id, &code_list_arg(codes)?, label, payload_of(payload));
        Ok(())
    }

    /// `insert_codes` with an id assigned at commit (`CommitInfo.assigned_ids`, in order).
    #[pyo3(signature = (codes, label=None, payload=None))]
    fn insert_auto_codes(
        &mut self,
        codes: &Bound<'_, PyAny>,
        label: Option<u32>,
        payload: Option<&[u8]>,
    ) -> PyResult<()> {
        self.inner
            .insert_auto_codes(&code_list_arg(codes)?, label, payload_of(payload));
        Ok(())
    }

    /// Insert, or replace the item with this id by, an item of several codes.
    #[pyo3(signature = (id, codes, label=None, payload=None))]
    fn upsert_codes(
        &mut self,
        id: u64,
        codes: &Bound<'_, PyAny>,
        label: Option<u32>,
        payload: Option<&[u8]>,
    ) -> PyResult<()> {
        self.inner
            .upsert_codes(id, &code_list_arg(codes)?, label, payload_of(payload));
        Ok(())
    }

    /// Delete by id (deleting an absent id is not an error).
    fn delete(&mut self, id: u64) {
        self.inner.delete(id);
    }

    /// Remove every operation (a batch is not consumed by a commit).
    fn clear(&mut self) {
        self.inner = hamdb::WriteBatch::default();
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}
