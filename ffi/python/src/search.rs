//! The searches `Database` and `Snapshot` share: the 1-D forms (one query -> a list of `Hit`)
//! and the 2-D forms (an array of queries -> arrays, in one call with the GIL released).

use std::sync::Arc;

use hamdb::Code;
use hamdb::{CodeArray, CodeLen, SearchManyOptions};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::args::{code_arg, code_list_arg, codes_arg, is_2d_array, too_big};
use crate::errors::to_py;
use crate::results::{hit_list, Item};

/// The id that pads a batch search's `ids` rows (2**64 - 1; `hamdb.NO_ID`).
pub(crate) const NO_ID: u64 = u64::MAX;
/// The label of an item without one, and of a padding slot, in a batch search's `labels`
/// (2**32 - 1; `hamdb.NO_LABEL`, the C ABI's `HAMDB_NO_LABEL`).
pub(crate) const NO_LABEL: u32 = u32::MAX;

/// Most threads one batch search starts (`threads=` beyond it is refused): the core's limit.
pub(crate) const MAX_SEARCH_THREADS: usize = hamdb::MAX_THREADS;

/// The core's batched-search options for a class filter and `threads=` (0: automatic, up to
/// one per core shared with the process's other batched searches).
fn many_options(label: Option<u32>, threads: usize) -> SearchManyOptions {
    SearchManyOptions {
        class: label,
        threads,
    }
}

/// How a 2-D search runs and what it returns besides ids and distances.
#[derive(Clone, Copy)]
pub(crate) struct BatchOptions {
    /// Threads for the batch (0 = automatic: up to one per core, shared with the process's
    /// other batched searches), at most [`MAX_SEARCH_THREADS`].
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
            // One batched core search (the process-wide thread budget and, per segment, one
            // shared scan when the cost model plans scans); each row equals the 1-D search.
            let snap = view.snapshot();
            let queries = CodeArray::from_packed_bytes(len, bytes)?;
            let k_live = usize::try_from(snap.len()).map_or(k, |live| k.min(live));
            let results = snap.search_many(&queries, k_live, &many_options(label, threads))?;
            for (i, res) in results.iter().enumerate() {
                for (j, h) in res.hits.iter().enumerate() {
                    ids[i * k + j] = h.id;
                    dists[i * k + j] = h.distance as i32;
                    if let Some(l) = labels.as_deref_mut() {
                        l[i * k + j] = h.label.unwrap_or(NO_LABEL);
                    }
                }
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
            let queries = CodeArray::from_packed_bytes(len, bytes)?;
            let results = snap.search_radius_many(&queries, r, &many_options(label, threads))?;
            let total = results.iter().map(|res| res.hits.len()).sum();
            let mut lims = Vec::with_capacity(n + 1);
            lims.push(0i64);
            let (mut ids, mut dists) = (Vec::with_capacity(total), Vec::with_capacity(total));
            let mut labels = Vec::with_capacity(if with_labels { total } else { 0 });
            for res in &results {
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

/// A query set from Python (`code_list_arg`), checked against the database's code length.
fn query_set(len: CodeLen, codes: &Bound<'_, PyAny>) -> PyResult<CodeArray> {
    let codes: Vec<Code> = code_list_arg(codes)?;
    let mut q = CodeArray::new(len);
    for c in &codes {
        if c.len() != len {
            return Err(to_py(hamdb::Error::CodeLengthMismatch {
                expected: len.bits(),
                actual: c.len().bits(),
            }));
        }
        q.push(c).map_err(to_py)?;
    }
    Ok(q)
}

/// The k nearest items to a query of several codes (each item once, at its least distance
/// over every query code x item code pair): a list of `Hit`.
pub(crate) fn knn_set<'py>(
    py: Python<'py>,
    view: View,
    len: CodeLen,
    codes: &Bound<'py, PyAny>,
    k: usize,
    label: Option<u32>,
) -> PyResult<Bound<'py, PyAny>> {
    let q = query_set(len, codes)?;
    let res = py
        .detach(|| {
            let snap = view.snapshot();
            let k = usize::try_from(snap.len()).map_or(k, |live| k.min(live));
            snap.search_set(&q, k, label)
        })
        .map_err(to_py)?;
    hit_list(py, res)
}

/// Every item within distance `r` (inclusive) of any code of a query set, once: a list of
/// `Hit`.
pub(crate) fn radius_set<'py>(
    py: Python<'py>,
    view: View,
    len: CodeLen,
    codes: &Bound<'py, PyAny>,
    r: u32,
    label: Option<u32>,
) -> PyResult<Bound<'py, PyAny>> {
    let q = query_set(len, codes)?;
    let res = py
        .detach(|| view.snapshot().search_radius_set(&q, r, label))
        .map_err(to_py)?;
    hit_list(py, res)
}

/// The k nearest items of class `label` first, then the nearest others, each group by
/// (distance, id): a list of `Hit`.
pub(crate) fn knn_class_first<'py>(
    py: Python<'py>,
    view: View,
    code: &Bound<'py, PyAny>,
    k: usize,
    label: u32,
) -> PyResult<Bound<'py, PyAny>> {
    let q = code_arg(code)?;
    let res = py
        .detach(|| {
            let snap = view.snapshot();
            let k = usize::try_from(snap.len()).map_or(k, |live| k.min(live));
            snap.search_class_first(&q, k, label)
        })
        .map_err(to_py)?;
    hit_list(py, res)
}

/// Every item within distance `r` (inclusive), those of class `label` first, each group by
/// (distance, id): a list of `Hit`.
pub(crate) fn radius_class_first<'py>(
    py: Python<'py>,
    view: View,
    code: &Bound<'py, PyAny>,
    r: u32,
    label: u32,
) -> PyResult<Bound<'py, PyAny>> {
    let q = code_arg(code)?;
    let res = py
        .detach(|| view.snapshot().search_radius_class_first(&q, r, label))
        .map_err(to_py)?;
    hit_list(py, res)
}

/// The live item with this id, or None.
pub(crate) fn get(py: Python<'_>, view: View, id: u64) -> PyResult<Option<Item>> {
    let item = py.detach(|| view.snapshot().get(id)).map_err(to_py)?;
    let Some(it) = item else { return Ok(None) };
    let width = it.code.len().bytes();
    let packed: Vec<u8> = it.codes().flat_map(|c| c.to_bytes()).collect();
    let codes = Array2::from_shape_vec((packed.len() / width, width), packed)
        .expect("every code has the item's width")
        .into_pyarray(py)
        .unbind();
    Ok(Some(Item {
        id: it.id,
        code: PyBytes::new(py, &it.code.to_bytes()).unbind(),
        codes,
        label: it.label,
        payload: PyBytes::new(py, &it.payload).unbind(),
    }))
}
