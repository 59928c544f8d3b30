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
use crate::parallel::in_threads;
use crate::results::{hit_list, Item};

/// The id that pads a batch search's `ids` rows (2**64 - 1; `hamdb.NO_ID`).
pub(crate) const NO_ID: u64 = u64::MAX;
/// The label of an item without one, and of a padding slot, in a batch search's `labels`
/// (2**32 - 1; `hamdb.NO_LABEL`, the C ABI's `HAMDB_NO_LABEL`).
pub(crate) const NO_LABEL: u32 = u32::MAX;

/// Most threads one batch search starts (`threads=` beyond it is refused).
pub(crate) const MAX_SEARCH_THREADS: usize = 256;

/// Queries per thread for `n` queries on `threads` threads (0 = one per core): at least 16
/// queries each, so a small batch does not pay for threads it cannot use. `n` (or more)
/// means one block, run on the calling thread.
fn rows_per_thread(n: usize, threads: usize) -> usize {
    let t = match threads {
        0 => std::thread::available_parallelism().map_or(1, |c| c.get()),
        t => t,
    }
    .min(MAX_SEARCH_THREADS);
    n.div_ceil(t).max(16)
}

/// How a 2-D search runs and what it returns besides ids and distances.
#[derive(Clone, Copy)]
pub(crate) struct BatchOptions {
    /// Threads for the batch (0 = one per core), at most [`MAX_SEARCH_THREADS`].
    pub(crate) threads: usize,
    /// Also return each hit's label (`NO_LABEL` for none and for padding).
    pub(crate) with_labels: bool,
}

impl BatchOptions {
    /// The keyword arguments, checked.
    pub(crate) fn new(threads: usize, with_labels: bool) -> PyResult<Self> {
        check_threads(threads)?;
        Ok(Self {
            threads,
            with_labels,
        })
    }
}

/// `threads=` checked: 0..=MAX_SEARCH_THREADS.
fn check_threads(threads: usize) -> PyResult<()> {
    if threads <= MAX_SEARCH_THREADS {
        return Ok(());
    }
    Err(to_py(hamdb::Error::InvalidParameter {
        name: "threads",
        reason: format!("{threads} is out of range 0..={MAX_SEARCH_THREADS} (0 = one per core)"),
    }))
}

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
    batch: BatchOptions,
) -> PyResult<Bound<'py, PyAny>> {
    let BatchOptions {
        threads,
        with_labels,
    } = batch;
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
    let mut labels = if with_labels {
        let mut l = Vec::<u32>::new();
        l.try_reserve_exact(total).map_err(|_| too_big(n, k))?;
        l.resize(total, NO_LABEL);
        Some(l)
    } else {
        None
    };
    let (ids, dists, labels) = py
        .detach(move || -> hamdb::Result<_> {
            let snap = view.snapshot();
            let rows = rows_per_thread(n, threads);
            let fill = |queries: &[u8],
                        ids: &mut [u64],
                        dists: &mut [i32],
                        mut labels: Option<&mut [u32]>| {
                for (i, q) in queries.chunks_exact(len.bytes()).enumerate() {
                    let res = snap.search(&Code::from_bytes(q)?, k, label)?;
                    for (j, h) in res.hits.iter().enumerate() {
                        ids[i * k + j] = h.id;
                        dists[i * k + j] = h.distance as i32;
                        if let Some(l) = labels.as_deref_mut() {
                            l[i * k + j] = h.label.unwrap_or(NO_LABEL);
                        }
                    }
                }
                Ok(())
            };
            if k > 0 && rows < n {
                // Each thread fills its own rows of the outputs: no locks, no merge.
                let parts = n.div_ceil(rows);
                let label_parts: Vec<Option<&mut [u32]>> = match labels.as_mut() {
                    Some(l) => l.chunks_mut(rows * k).map(Some).collect(),
                    None => (0..parts).map(|_| None).collect(),
                };
                let fill = &fill;
                in_threads(
                    bytes
                        .chunks(rows * len.bytes())
                        .zip(ids.chunks_mut(rows * k))
                        .zip(dists.chunks_mut(rows * k))
                        .zip(label_parts)
                        .map(|(((q, i), d), l)| move || fill(q, i, d, l)),
                )
                .into_iter()
                .collect::<hamdb::Result<Vec<()>>>()?;
            } else {
                fill(bytes, &mut ids, &mut dists, labels.as_deref_mut())?;
            }
            Ok((ids, dists, labels))
        })
        .map_err(to_py)?;
    let ids = Array2::from_shape_vec((n, k), ids)
        .expect("n * k")
        .into_pyarray(py);
    let dists = Array2::from_shape_vec((n, k), dists)
        .expect("n * k")
        .into_pyarray(py);
    match labels {
        None => Ok((ids, dists).into_pyobject(py)?.into_any()),
        Some(l) => {
            let l = Array2::from_shape_vec((n, k), l)
                .expect("n * k")
                .into_pyarray(py);
            Ok((ids, dists, l).into_pyobject(py)?.into_any())
        }
    }
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
    batch: BatchOptions,
) -> PyResult<Bound<'py, PyAny>> {
    let BatchOptions {
        threads,
        with_labels,
    } = batch;
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
    let n = arr.shape()[0];
    let (lims, ids, dists, labels) = py
        .detach(|| -> hamdb::Result<_> {
            let snap = view.snapshot();
            // One CSR part per block of queries; parts are concatenated in query order.
            type Part = (Vec<i64>, Vec<u64>, Vec<i32>, Vec<u32>);
            let part = |queries: &[u8]| -> hamdb::Result<Part> {
                let (mut lims, mut ids, mut dists, mut labels) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for q in queries.chunks_exact(len.bytes()) {
                    let res = snap.search_radius(&Code::from_bytes(q)?, r, label)?;
                    for h in &res.hits {
                        ids.push(h.id);
                        dists.push(h.distance as i32);
                        if with_labels {
                            labels.push(h.label.unwrap_or(NO_LABEL));
                        }
                    }
                    lims.push(ids.len() as i64);
                }
                Ok((lims, ids, dists, labels))
            };
            let rows = rows_per_thread(n, threads);
            let parts = if rows < n {
                let part = &part;
                in_threads(bytes.chunks(rows * len.bytes()).map(|q| move || part(q)))
                    .into_iter()
                    .collect::<hamdb::Result<Vec<_>>>()?
            } else {
                vec![part(bytes)?]
            };
            let mut lims = Vec::with_capacity(n + 1);
            lims.push(0i64);
            let (mut ids, mut dists, mut labels) = (Vec::new(), Vec::new(), Vec::new());
            for (l, i, d, lab) in parts {
                let base = ids.len() as i64;
                lims.extend(l.into_iter().map(|x| x + base));
                ids.extend(i);
                dists.extend(d);
                labels.extend(lab);
            }
            Ok((lims, ids, dists, labels))
        })
        .map_err(to_py)?;
    let (lims, ids, dists) = (
        lims.into_pyarray(py),
        ids.into_pyarray(py),
        dists.into_pyarray(py),
    );
    if with_labels {
        Ok((lims, ids, dists, labels.into_pyarray(py))
            .into_pyobject(py)?
            .into_any())
    } else {
        Ok((lims, ids, dists).into_pyobject(py)?.into_any())
    }
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
