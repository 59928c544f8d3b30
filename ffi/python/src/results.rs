//! The values searches and reads return: `Hit`, `Item`, `CommitInfo`.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A label as Python writes it (`None` or the number).
pub(crate) fn label_repr(label: Option<u32>) -> String {
    label.map_or_else(|| "None".into(), |l| l.to_string())
}

/// The 1-D forms' answer: a list of `Hit`, in (distance, id) order.
pub(crate) fn hit_list(py: Python<'_>, res: hamdb::QueryResult) -> PyResult<Bound<'_, PyAny>> {
    let hits = res
        .hits
        .into_iter()
        .map(|h| hit(py, h))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(hits.into_pyobject(py)?.into_any())
}

/// One search result.
#[pyclass(frozen, module = "hamdb")]
pub(crate) struct Hit {
    /// The item's id.
    #[pyo3(get)]
    pub(crate) id: u64,
    /// Hamming distance to the query, in bits.
    #[pyo3(get)]
    pub(crate) distance: u32,
    /// The item's label (class), or None.
    #[pyo3(get)]
    pub(crate) label: Option<u32>,
    /// The item's payload bytes.
    #[pyo3(get)]
    pub(crate) payload: Py<PyBytes>,
}

#[pymethods]
impl Hit {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Hit(id={}, distance={}, label={}, payload={})",
            self.id,
            self.distance,
            label_repr(self.label),
            self.payload
                .bind(py)
                .repr()
                .map(|r| r.to_string())
                .unwrap_or_default()
        )
    }
}

/// A stored item, as `Database.get` returns it.
#[pyclass(frozen, module = "hamdb")]
pub(crate) struct Item {
    /// The item's id.
    #[pyo3(get)]
    pub(crate) id: u64,
    /// The (first) code's packed bytes (np.packbits order).
    #[pyo3(get)]
    pub(crate) code: Py<PyBytes>,
    /// Every code of the item, one per row (uint8 [n, bits/8], the first one first).
    #[pyo3(get)]
    pub(crate) codes: Py<numpy::PyArray2<u8>>,
    /// The item's label (class), or None.
    #[pyo3(get)]
    pub(crate) label: Option<u32>,
    /// The item's payload bytes.
    #[pyo3(get)]
    pub(crate) payload: Py<PyBytes>,
}

#[pymethods]
impl Item {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Item(id={}, code={}, label={}, payload={})",
            self.id,
            self.code
                .bind(py)
                .repr()
                .map(|r| r.to_string())
                .unwrap_or_default(),
            label_repr(self.label),
            self.payload
                .bind(py)
                .repr()
                .map(|r| r.to_string())
                .unwrap_or_default()
        )
    }
}

/// What a commit or import did.
#[pyclass(frozen, module = "hamdb")]
pub(crate) struct CommitInfo {
    /// The transaction number of the commit.
    #[pyo3(get)]
    pub(crate) txn: u64,
    /// The ids given to `insert_auto` items (and to an import without ids), in order.
    #[pyo3(get)]
    pub(crate) assigned_ids: Vec<u64>,
    /// None, or the error of the automatic flush or compaction this commit triggered: the
    /// commit itself is durable, but the handle is poisoned (reopen to write again).
    #[pyo3(get)]
    pub(crate) maintenance_error: Option<Py<PyAny>>,
}

impl CommitInfo {
    /// The Python value of a commit's outcome. A failed maintenance step does not undo the
    /// commit, so it is not raised (a caller retrying a "failed" commit would apply it twice):
    /// it is kept in `maintenance_error` and announced with a RuntimeWarning.
    pub(crate) fn of(py: Python<'_>, info: hamdb::CommitInfo) -> PyResult<Self> {
        let maintenance_error = match info.maintenance_error {
            None => None,
            Some(e) => {
                let message = std::ffi::CString::new(format!(
                    "commit {} is durable, but the maintenance it triggered failed and the \
                     handle is poisoned (reopen to write again): {e}",
                    info.txn
                ))
                .unwrap_or_default();
                PyErr::warn(
                    py,
                    &py.get_type::<pyo3::exceptions::PyRuntimeWarning>(),
                    &message,
                    1,
                )?;
                Some(crate::errors::to_py(e).into_value(py).into_any())
            }
        };
        Ok(Self {
            txn: info.txn,
            assigned_ids: info.assigned_ids,
            maintenance_error,
        })
    }
}

#[pymethods]
impl CommitInfo {
    fn __repr__(&self, py: Python<'_>) -> String {
        let maint = match &self.maintenance_error {
            None => String::new(),
            Some(e) => format!(
                ", maintenance_error={}",
                e.bind(py).repr().map(|r| r.to_string()).unwrap_or_default()
            ),
        };
        format!(
            "CommitInfo(txn={}, assigned_ids={:?}{maint})",
            self.txn, self.assigned_ids
        )
    }
}

pub(crate) fn hit(py: Python<'_>, h: hamdb::Hit) -> PyResult<Hit> {
    Ok(Hit {
        id: h.id,
        distance: h.distance,
        label: h.label,
        payload: PyBytes::new(py, &h.payload).unbind(),
    })
}
