//! The searches `Database` and `Snapshot` share: the 1-D forms (one query -> a list of `Hit`)
//! and the 2-D forms (an array of queries -> arrays, in one call with the GIL released).

use std::sync::Arc;

use hamdb::{Code, CodeLen};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::args::{code_arg, codes_arg, is_2d_array, too_big};
use crate::errors::to_py;
use crate::results::{hit_list, Item};

/// The id that pads a batch search's `ids` rows (2**64 - 1; `hamdb.NO_ID`).
pub(crate) const NO_ID: u64 = u64::MAX;

/// Which commit a search reads.
#[derive(Clone)]
pub(crate) enum View {
    /// The latest commit, taken when the search starts (with the GIL released: taking it may
    /// wait for a commit in flight).
    Latest(Arc<hamdb::Database>),
    /// One commit, pinned by `Database.snapshot()`.
    Pinned(Arc<hamdb::Snapshot>),
}

impl View {
    fn snapshot(&self) -> Arc<hamdb::Snapshot> {
        match self {
            View::Latest(db) => db.snapshot(),
            View::Pinned(s) => s.clone(),
        }
    }
}

/// k nearest neighbours of one code (a list of `Hit`) or of each row of a 2-D array
/// (`(ids uint64 [n, k], dists int32 [n, k])`, short rows padded with `NO_ID` / -1).
pub(crate) fn knn<'py>(
    py: Python<'py>,
    view: View,
    len: CodeLen,
    query: &Bound<'py, PyAny>,
    k: usize,
    label: Option<u32>,
) -> PyResult<Bound<'py, PyAny>> {
    if !is_2d_array(query) {
        let q = code_arg(query)?;
        let res = py
            .detach(|| view.snapshot().search(&q, k, label))
            .map_err(to_py)?;
        return hit_list(py, res);
    }
    let arr = codes_arg(query, len)?;
    let n = arr.shape()[0];
    let ro = arr.readonly();
    let bytes = ro
        .as_slice()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    // The [n, k] outputs, refused with MemoryError (not an abort) when they cannot exist.
    let total = n.checked_mul(k).ok_or_else(|| too_big(n, k))?;
    let (mut ids, mut dists) = (Vec::<u64>::new(), Vec::<i32>::new());
    ids.try_reserve_exact(total).map_err(|_| too_big(n, k))?;
    dists.try_reserve_exact(total).map_err(|_| too_big(n, k))?;
    ids.resize(total, NO_ID);
    dists.resize(total, -1);
    let (ids, dists) = py
        .detach(move || -> hamdb::Result<_> {
            let snap = view.snapshot();
            for (i, q) in bytes.chunks_exact(len.bytes()).enumerate() {
                let res = snap.search(&Code::from_bytes(q)?, k, label)?;
                for (j, h) in res.hits.iter().enumerate() {
                    ids[i * k + j] = h.id;
                    dists[i * k + j] = h.distance as i32;
                }
            }
            Ok((ids, dists))
        })
        .map_err(to_py)?;
    let ids = Array2::from_shape_vec((n, k), ids)
        .expect("n * k")
        .into_pyarray(py);
    let dists = Array2::from_shape_vec((n, k), dists)
        .expect("n * k")
        .into_pyarray(py);
    Ok((ids, dists).into_pyobject(py)?.into_any())
}

/// Every item within distance `r` (inclusive) of one code (a list of `Hit`) or of each row of
/// a 2-D array (CSR: `lims int64 [n + 1]`, `ids uint64`, `dists int32`).
pub(crate) fn radius<'py>(
    py: Python<'py>,
    view: View,
    len: CodeLen,
    query: &Bound<'py, PyAny>,
    r: u32,
    label: Option<u32>,
) -> PyResult<Bound<'py, PyAny>> {
    if !is_2d_array(query) {
        let q = code_arg(query)?;
        let res = py
            .detach(|| view.snapshot().search_radius(&q, r, label))
            .map_err(to_py)?;
        return hit_list(py, res);
    }
    let arr = codes_arg(query, len)?;
    let ro = arr.readonly();
    let bytes = ro
        .as_slice()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let (lims, ids, dists) = py
        .detach(|| -> hamdb::Result<_> {
            let snap = view.snapshot();
            let mut lims = vec![0i64];
            let mut ids = Vec::new();
            let mut dists = Vec::new();
            for q in bytes.chunks_exact(len.bytes()) {
                let res = snap.search_radius(&Code::from_bytes(q)?, r, label)?;
                for h in &res.hits {
                    ids.push(h.id);
                    dists.push(h.distance as i32);
                }
                lims.push(ids.len() as i64);
            }
            Ok((lims, ids, dists))
        })
        .map_err(to_py)?;
    Ok((
        lims.into_pyarray(py),
        ids.into_pyarray(py),
        dists.into_pyarray(py),
    )
        .into_pyobject(py)?
        .into_any())
}

/// The live item with this id, or None.
pub(crate) fn get(py: Python<'_>, view: View, id: u64) -> PyResult<Option<Item>> {
    let item = py.detach(|| view.snapshot().get(id)).map_err(to_py)?;
    Ok(item.map(|it| Item {
        id: it.id,
        code: PyBytes::new(py, &it.code.to_bytes()).unbind(),
        label: it.label,
        payload: PyBytes::new(py, &it.payload).unbind(),
    }))
}
