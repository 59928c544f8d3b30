//! `Snapshot`: one commit of a database, immutable; every search on it sees that commit.

use std::sync::Arc;

use hamdb::CodeLen;
use pyo3::prelude::*;

use crate::handle::Handle;
use crate::results::Item;
use crate::search::{self, View};

/// One commit of a database, as `Database.snapshot()` returns it. Its searches all see that
/// commit, whatever commits, flushes or compactions follow; it holds that commit's data in
/// memory (segments stay mapped) until it is closed or dropped, and stays readable after its
/// database is closed.
#[pyclass(frozen, module = "hamdb")]
pub(crate) struct Snapshot {
    inner: Handle<hamdb::Snapshot>,
    len: CodeLen,
}

impl Snapshot {
    pub(crate) fn new(snap: Arc<hamdb::Snapshot>, len: CodeLen) -> Self {
        Self {
            inner: Handle::new(snap, "snapshot"),
            len,
        }
    }

    fn snap(&self) -> PyResult<Arc<hamdb::Snapshot>> {
        self.inner.get()
    }

    fn view(&self) -> PyResult<View> {
        self.snap().map(View::Pinned)
    }
}

#[pymethods]
impl Snapshot {
    /// The transaction number of the commit this snapshot shows.
    #[getter]
    fn txn(&self) -> PyResult<u64> {
        Ok(self.snap()?.txn())
    }

    /// The code length in bits.
    #[getter]
    fn bits(&self) -> usize {
        self.len.bits()
    }

    /// Whether `close` has been called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Release the commit's data (idempotent). Later calls raise ClosedError.
    fn close(&self) {
        self.inner.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    /// k nearest neighbours in this commit (the forms of `Database.search`).
    #[pyo3(signature = (code_or_codes, k, label=None, *, threads=1, with_labels=false))]
    fn search<'py>(
        &self,
        py: Python<'py>,
        code_or_codes: &Bound<'py, PyAny>,
        k: usize,
        label: Option<u32>,
        threads: usize,
        with_labels: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let batch = search::BatchOptions::new(threads, with_labels)?;
        search::knn(py, self.view()?, self.len, code_or_codes, k, label, batch)
    }

    /// Every item within distance r (inclusive) in this commit (the forms of
    /// `Database.search_radius`).
    #[pyo3(signature = (code_or_codes, r, label=None, *, threads=1, with_labels=false))]
    fn search_radius<'py>(
        &self,
        py: Python<'py>,
        code_or_codes: &Bound<'py, PyAny>,
        r: u32,
        label: Option<u32>,
        threads: usize,
        with_labels: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let batch = search::BatchOptions::new(threads, with_labels)?;
        search::radius(py, self.view()?, self.len, code_or_codes, r, label, batch)
    }

    /// The k nearest items of class `label` first, then the nearest others, each group by
    /// (distance, id); as `Database.search_class_first`.
    fn search_class_first<'py>(
        &self,
        py: Python<'py>,
        code: &Bound<'py, PyAny>,
        k: usize,
        label: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        search::knn_class_first(py, self.view()?, code, k, label)
    }

    /// Every item within distance r, those of class `label` first; as
    /// `Database.search_radius_class_first`.
    fn search_radius_class_first<'py>(
        &self,
        py: Python<'py>,
        code: &Bound<'py, PyAny>,
        r: u32,
        label: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        search::radius_class_first(py, self.view()?, code, r, label)
    }

    /// The k nearest items to a query of several codes in this commit (as
    /// `Database.search_set`).
    #[pyo3(signature = (codes, k, label=None))]
    fn search_set<'py>(
        &self,
        py: Python<'py>,
        codes: &Bound<'py, PyAny>,
        k: usize,
        label: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        search::knn_set(py, self.view()?, self.len, codes, k, label)
    }

    /// Every item within distance r of any code of a query set in this commit (as
    /// `Database.search_radius_set`).
    #[pyo3(signature = (codes, r, label=None))]
    fn search_radius_set<'py>(
        &self,
        py: Python<'py>,
        codes: &Bound<'py, PyAny>,
        r: u32,
        label: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        search::radius_set(py, self.view()?, self.len, codes, r, label)
    }

    /// The item with this id as of this commit, or None.
    fn get(&self, py: Python<'_>, id: u64) -> PyResult<Option<Item>> {
        search::get(py, self.view()?, id)
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.snap()?.len() as usize)
    }

    fn __repr__(&self) -> String {
        match self.snap() {
            Ok(s) => format!(
                "<hamdb.Snapshot txn={} items={} bits={}>",
                s.txn(),
                s.len(),
                self.len.bits()
            ),
            Err(_) => "<hamdb.Snapshot (closed)>".into(),
        }
    }
}
