//! `WriteBatch`: inserts, upserts and deletes collected in Python, applied by `Database.commit`.

use pyo3::prelude::*;

use crate::args::code_arg;

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
