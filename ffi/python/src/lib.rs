//! The native module `hamdb._hamdb`: PyO3 classes over the `hamdb` library, wrapped by the
//! Python package `hamdb` (python/hamdb/__init__.py, stubs in python/hamdb/_hamdb.pyi).
//!
//! Rules every function here follows:
//! - every call that searches, reads, writes or touches the file runs inside `py.detach` (the
//!   GIL is released; Python threads search in parallel);
//! - numpy code arrays are read in place: the `[N, bits/8]` buffer is borrowed, checked for
//!   dtype, shape and C order, and handed to hamdb as a byte slice (no Python-side copy);
//! - an error becomes the exception class of its C status (`hamdb_capi::status_of`, so the
//!   status list is declared once, in ffi/capi), looked up in `hamdb._errors`, with the Rust
//!   error's Display as the message.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use hamdb::{Code, CodeArray, CodeLen, CreateOptions, Import};
use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyType};

/// A label as Python writes it (`None` or the number).
fn label_repr(label: Option<u32>) -> String {
    label.map_or_else(|| "None".into(), |l| l.to_string())
}

/// The id that pads a batch search's `ids` rows (2**64 - 1; `hamdb.NO_ID`).
const NO_ID: u64 = u64::MAX;

/// The Python exception for a status code (`hamdb._errors._BY_STATUS`).
fn status_error(status: i32, message: String) -> PyErr {
    Python::attach(|py| {
        let class = py
            .import("hamdb._errors")
            .and_then(|m| m.getattr("_BY_STATUS"))
            .and_then(|d| d.get_item(status))
            .and_then(|c| Ok(c.downcast_into::<PyType>()?));
        match class {
            Ok(class) => PyErr::from_type(class, (message,)),
            Err(e) => e,
        }
    })
}

fn to_py(e: hamdb::Error) -> PyErr {
    status_error(hamdb_capi::status_of(&e), e.to_string())
}

fn closed() -> PyErr {
    status_error(hamdb_capi::HAMDB_CLOSED, "the database is closed".into())
}

/// A query code from bytes or a 1-D uint8 array (copied: one code is small).
fn code_arg(obj: &Bound<'_, PyAny>) -> PyResult<Code> {
    let bytes: Vec<u8> = if let Ok(b) = obj.downcast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else if let Ok(a) = obj.downcast::<PyArray1<u8>>() {
        a.to_vec()
            .map_err(|e| PyValueError::new_err(e.to_string()))?
    } else if let Ok(a) = obj.downcast::<PyUntypedArray>() {
        return Err(PyTypeError::new_err(format!(
            "a code must be bytes or a 1-D uint8 array (np.packbits order), got a {}-D array of dtype {}",
            a.ndim(),
            a.dtype()
        )));
    } else {
        return Err(PyTypeError::new_err(format!(
            "a code must be bytes or a 1-D uint8 array (np.packbits order), got {}",
            obj.get_type().name()?
        )));
    };
    Code::from_bytes(&bytes).map_err(to_py)
}

/// Check that `obj` is a C-contiguous uint8 array of shape `[N, len.bytes()]`.
fn codes_arg<'py>(obj: &Bound<'py, PyAny>, len: CodeLen) -> PyResult<Bound<'py, PyArray2<u8>>> {
    let want = || {
        format!(
            "a C-contiguous uint8 array of shape [N, {}] ({}-bit codes in np.packbits order)",
            len.bytes(),
            len.bits()
        )
    };
    let Ok(any) = obj.downcast::<PyUntypedArray>() else {
        return Err(PyTypeError::new_err(format!(
            "expected {}, got {}",
            want(),
            obj.get_type().name()?
        )));
    };
    if !any.dtype().is_equiv_to(&numpy::dtype::<u8>(obj.py())) {
        return Err(PyTypeError::new_err(format!(
            "expected {}, got dtype {}",
            want(),
            any.dtype()
        )));
    }
    if any.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "expected {}, got a {}-D array of shape {:?}",
            want(),
            any.ndim(),
            any.shape()
        )));
    }
    if any.shape()[1] != len.bytes() {
        return Err(to_py(hamdb::Error::CodeLengthMismatch {
            expected: len.bits(),
            actual: any.shape()[1] * 8,
        }));
    }
    if !any.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "expected {}, got a non-C-contiguous array (use np.ascontiguousarray)",
            want()
        )));
    }
    Ok(obj.downcast::<PyArray2<u8>>()?.clone())
}

/// An optional 1-D column (ids or labels) as a Vec of `dtype`, length `n`.
fn column<T: numpy::Element + Copy>(
    py: Python<'_>,
    obj: Option<&Bound<'_, PyAny>>,
    dtype: &str,
    name: &str,
    n: usize,
) -> PyResult<Option<Vec<T>>> {
    let Some(obj) = obj else { return Ok(None) };
    if obj.is_none() {
        return Ok(None);
    }
    let np = py.import("numpy")?;
    // numpy's casts wrap negative numbers and truncate floats; an id or label must be an
    // integer in the target's range, or the import would store other values than given.
    let given = np.call_method1("asarray", (obj,))?;
    let kind: String = given.getattr("dtype")?.getattr("kind")?.extract()?;
    if kind != "u" && kind != "i" {
        return Err(PyTypeError::new_err(format!(
            "`{name}` must hold integers, got dtype {}",
            given.getattr("dtype")?.str()?
        )));
    }
    if given.getattr("size")?.extract::<usize>()? > 0 {
        let max: u64 = np
            .call_method1("iinfo", (np.getattr(dtype)?,))?
            .getattr("max")?
            .extract()?;
        let lo_ok: bool = given.call_method0("min")?.ge(0)?;
        let hi_ok: bool = given.call_method0("max")?.le(max)?;
        if !lo_ok || !hi_ok {
            return Err(PyValueError::new_err(format!(
                "`{name}` holds values outside 0..={max} ({dtype})"
            )));
        }
    }
    let arr = np.call_method1("ascontiguousarray", (given, np.getattr(dtype)?))?;
    let arr = arr.downcast::<PyArray1<T>>().map_err(|_| {
        PyValueError::new_err(format!("`{name}` must be a 1-D sequence of {dtype}"))
    })?;
    let v = arr
        .to_vec()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    if v.len() != n {
        return Err(PyValueError::new_err(format!(
            "`{name}` has {} entries for {n} codes",
            v.len()
        )));
    }
    Ok(Some(v))
}

/// The 1-D forms' answer: a list of `Hit`, in (distance, id) order.
fn hit_list(py: Python<'_>, res: hamdb::QueryResult) -> PyResult<Bound<'_, PyAny>> {
    let hits = res
        .hits
        .into_iter()
        .map(|h| hit(py, h))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(hits.into_pyobject(py)?.into_any())
}

/// One search result.
#[pyclass(frozen, module = "hamdb")]
struct Hit {
    /// The item's id.
    #[pyo3(get)]
    id: u64,
    /// Hamming distance to the query, in bits.
    #[pyo3(get)]
    distance: u32,
    /// The item's label (class), or None.
    #[pyo3(get)]
    label: Option<u32>,
    /// The item's payload bytes.
    #[pyo3(get)]
    payload: Py<PyBytes>,
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
struct Item {
    /// The item's id.
    #[pyo3(get)]
    id: u64,
    /// The code's packed bytes (np.packbits order).
    #[pyo3(get)]
    code: Py<PyBytes>,
    /// The item's label (class), or None.
    #[pyo3(get)]
    label: Option<u32>,
    /// The item's payload bytes.
    #[pyo3(get)]
    payload: Py<PyBytes>,
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
struct CommitInfo {
    /// The transaction number of the commit.
    #[pyo3(get)]
    txn: u64,
    /// The ids given to `insert_auto` items (and to an import without ids), in order.
    #[pyo3(get)]
    assigned_ids: Vec<u64>,
}

#[pymethods]
impl CommitInfo {
    fn __repr__(&self) -> String {
        format!(
            "CommitInfo(txn={}, assigned_ids={:?})",
            self.txn, self.assigned_ids
        )
    }
}

/// A group of inserts, upserts and deletes that `Database.commit` applies atomically.
#[pyclass(module = "hamdb")]
#[derive(Default)]
struct WriteBatch {
    inner: hamdb::WriteBatch,
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

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

/// An open hamdb database file. Use `hamdb.create` or `hamdb.open`.
#[pyclass(frozen, module = "hamdb")]
struct Database {
    /// None once closed. Each call clones the Arc, so `close` during another thread's search
    /// waits for nothing: the file is released when the last call finishes.
    inner: Mutex<Option<Arc<hamdb::Database>>>,
}

impl Database {
    fn db(&self) -> PyResult<Arc<hamdb::Database>> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(closed)
    }

    fn wrap(db: hamdb::Database) -> Self {
        Self {
            inner: Mutex::new(Some(Arc::new(db))),
        }
    }
}

fn hit(py: Python<'_>, h: hamdb::Hit) -> PyResult<Hit> {
    Ok(Hit {
        id: h.id,
        distance: h.distance,
        label: h.label,
        payload: PyBytes::new(py, &h.payload).unbind(),
    })
}

fn too_big(n: usize, k: usize) -> PyErr {
    PyMemoryError::new_err(format!("cannot allocate results of shape [{n}, {k}]"))
}

fn is_2d_array(obj: &Bound<'_, PyAny>) -> bool {
    obj.downcast::<PyUntypedArray>()
        .map(|a| a.ndim() == 2)
        .unwrap_or(false)
}

#[pymethods]
impl Database {
    /// The code length in bits.
    #[getter]
    fn bits(&self) -> PyResult<usize> {
        Ok(self.db()?.code_len().bits())
    }

    /// The database's path.
    #[getter]
    fn path(&self) -> PyResult<PathBuf> {
        Ok(self.db()?.path().to_path_buf())
    }

    /// Whether `close` has been called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    /// Close the database (idempotent). Later calls raise ClosedError.
    fn close(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    /// Apply a WriteBatch atomically and durably (fsync before it returns).
    fn commit(&self, py: Python<'_>, batch: &Bound<'_, WriteBatch>) -> PyResult<CommitInfo> {
        let db = self.db()?;
        let b = batch.borrow().inner.clone();
        let info = py.detach(|| db.commit(b)).map_err(to_py)?;
        if let Some(e) = info.maintenance_error {
            return Err(to_py(e));
        }
        Ok(CommitInfo {
            txn: info.txn,
            assigned_ids: info.assigned_ids,
        })
    }

    /// Bulk-load codes as one new segment in one commit.
    #[pyo3(signature = (codes, ids=None, labels=None))]
    fn import_codes(
        &self,
        py: Python<'_>,
        codes: &Bound<'_, PyAny>,
        ids: Option<&Bound<'_, PyAny>>,
        labels: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<CommitInfo> {
        let db = self.db()?;
        let len = db.code_len();
        let arr = codes_arg(codes, len)?;
        let n = arr.shape()[0];
        let ids = column::<u64>(py, ids, "uint64", "ids", n)?;
        let labels = column::<u32>(py, labels, "uint32", "labels", n)?;
        let ro = arr.readonly();
        let bytes = ro
            .as_slice()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let info = py
            .detach(|| {
                // hamdb keeps codes in word form: the one conversion, straight from numpy's buffer.
                let codes = CodeArray::from_packed_bytes(len, bytes)?;
                db.import(Import {
                    codes: &codes,
                    ids: ids.as_deref(),
                    labels: labels.as_deref(),
                    payloads: None,
                })
            })
            .map_err(to_py)?;
        Ok(CommitInfo {
            txn: info.txn,
            assigned_ids: info.assigned_ids,
        })
    }

    /// k nearest neighbours (see the stub for the 1-D / 2-D forms).
    #[pyo3(signature = (code_or_codes, k, label=None))]
    fn search<'py>(
        &self,
        py: Python<'py>,
        code_or_codes: &Bound<'py, PyAny>,
        k: usize,
        label: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let db = self.db()?;
        if !is_2d_array(code_or_codes) {
            let q = code_arg(code_or_codes)?;
            let res = py
                .detach(|| db.snapshot().search(&q, k, label))
                .map_err(to_py)?;
            return hit_list(py, res);
        }
        let len = db.code_len();
        let arr = codes_arg(code_or_codes, len)?;
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
                let snap = db.snapshot();
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

    /// Every item within distance r (inclusive; see the stub for the 1-D / 2-D forms).
    #[pyo3(signature = (code_or_codes, r, label=None))]
    fn search_radius<'py>(
        &self,
        py: Python<'py>,
        code_or_codes: &Bound<'py, PyAny>,
        r: u32,
        label: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let db = self.db()?;
        if !is_2d_array(code_or_codes) {
            let q = code_arg(code_or_codes)?;
            let res = py
                .detach(|| db.snapshot().search_radius(&q, r, label))
                .map_err(to_py)?;
            return hit_list(py, res);
        }
        let len = db.code_len();
        let arr = codes_arg(code_or_codes, len)?;
        let ro = arr.readonly();
        let bytes = ro
            .as_slice()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let (lims, ids, dists) = py
            .detach(|| -> hamdb::Result<_> {
                let snap = db.snapshot();
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
    fn get(&self, py: Python<'_>, id: u64) -> PyResult<Option<Item>> {
        let db = self.db()?;
        let item = py.detach(|| db.snapshot().get(id)).map_err(to_py)?;
        Ok(item.map(|it| Item {
            id: it.id,
            code: PyBytes::new(py, &it.code.to_bytes()).unbind(),
            label: it.label,
            payload: PyBytes::new(py, &it.payload).unbind(),
        }))
    }

    /// Write the delta (recent commits) into a segment with MIH tables.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.db()?;
        py.detach(|| db.flush()).map_err(to_py)
    }

    /// Rewrite the file as one segment of its live items (reclaims deleted items).
    fn compact(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.db()?;
        py.detach(|| db.compact()).map_err(to_py)
    }

    /// Pick up commits made by other handles or processes; returns whether anything changed.
    fn refresh(&self, py: Python<'_>) -> PyResult<bool> {
        let db = self.db()?;
        py.detach(|| db.refresh()).map_err(to_py)
    }

    /// Counts: a dict of code_bits, txn, items, segments, segment_items, delta_items,
    /// deleted_in_segments, file_bytes, fingerprint.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let db = self.db()?;
        let s = py.detach(|| db.stats());
        let d = PyDict::new(py);
        d.set_item("code_bits", s.code_bits)?;
        d.set_item("txn", s.txn)?;
        d.set_item("items", s.items)?;
        d.set_item("segments", s.segments)?;
        d.set_item("segment_items", s.segment_items)?;
        d.set_item("delta_items", s.delta_items)?;
        d.set_item("deleted_in_segments", s.deleted_in_segments)?;
        d.set_item("file_bytes", s.file_bytes)?;
        d.set_item("fingerprint", PyBytes::new(py, &s.fingerprint))?;
        Ok(d)
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.db()?.snapshot().len() as usize)
    }

    fn __repr__(&self) -> String {
        match self.db() {
            Ok(db) => format!(
                "<hamdb.Database {:?} bits={}>",
                db.path(),
                db.code_len().bits()
            ),
            Err(_) => "<hamdb.Database (closed)>".into(),
        }
    }
}

/// Create a new database file for `bits`-bit codes.
#[pyfunction]
#[pyo3(signature = (path, bits, fingerprint=None))]
fn create(
    py: Python<'_>,
    path: PathBuf,
    bits: usize,
    fingerprint: Option<&[u8]>,
) -> PyResult<Database> {
    let options = CreateOptions {
        code_bits: bits,
        fingerprint: fingerprint.unwrap_or(&[]).to_vec(),
    };
    let db = py
        .detach(|| hamdb::Database::create(&path, options))
        .map_err(to_py)?;
    Ok(Database::wrap(db))
}

/// Open an existing database (read-only: no write lock, writes raise ReadOnlyError).
#[pyfunction]
#[pyo3(signature = (path, read_only=false))]
fn open(py: Python<'_>, path: PathBuf, read_only: bool) -> PyResult<Database> {
    let db = py
        .detach(|| {
            if read_only {
                hamdb::Database::open_read_only(&path)
            } else {
                hamdb::Database::open(&path)
            }
        })
        .map_err(to_py)?;
    Ok(Database::wrap(db))
}

/// Check every checksum and invariant of the file; a dict of txn, segments, items,
/// delta_batches.
#[pyfunction]
fn verify<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let r = py
        .detach(|| hamdb::Database::verify(&path))
        .map_err(to_py)?;
    let d = PyDict::new(py);
    d.set_item("txn", r.txn)?;
    d.set_item("segments", r.segments)?;
    d.set_item("items", r.items)?;
    d.set_item("delta_batches", r.delta_batches)?;
    Ok(d)
}

#[pymodule]
fn _hamdb(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Database>()?;
    m.add_class::<WriteBatch>()?;
    m.add_class::<Hit>()?;
    m.add_class::<Item>()?;
    m.add_class::<CommitInfo>()?;
    m.add_function(wrap_pyfunction!(create, m)?)?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add("NO_ID", NO_ID)?;
    // The status codes, from the C ABI crate (hamdb._errors maps them to classes).
    let statuses = PyDict::new(m.py());
    for (name, value) in [
        (
            "UNSUPPORTED_CODE_LENGTH",
            hamdb_capi::HAMDB_UNSUPPORTED_CODE_LENGTH,
        ),
        (
            "CODE_LENGTH_MISMATCH",
            hamdb_capi::HAMDB_CODE_LENGTH_MISMATCH,
        ),
        ("RAGGED_CODE_BUFFER", hamdb_capi::HAMDB_RAGGED_CODE_BUFFER),
        ("INVALID_HEX", hamdb_capi::HAMDB_INVALID_HEX),
        ("INVALID_PARAMETER", hamdb_capi::HAMDB_INVALID_PARAMETER),
        ("TOO_MANY_CODES", hamdb_capi::HAMDB_TOO_MANY_CODES),
        ("IO", hamdb_capi::HAMDB_IO),
        ("NOT_A_DATABASE", hamdb_capi::HAMDB_NOT_A_DATABASE),
        (
            "UNSUPPORTED_FORMAT_VERSION",
            hamdb_capi::HAMDB_UNSUPPORTED_FORMAT_VERSION,
        ),
        ("CORRUPT", hamdb_capi::HAMDB_CORRUPT),
        ("LOCKED", hamdb_capi::HAMDB_LOCKED),
        ("READ_ONLY", hamdb_capi::HAMDB_READ_ONLY),
        ("POISONED", hamdb_capi::HAMDB_POISONED),
        ("DUPLICATE_ID", hamdb_capi::HAMDB_DUPLICATE_ID),
        ("ENCODER_MISMATCH", hamdb_capi::HAMDB_ENCODER_MISMATCH),
        ("RUNTIME", hamdb_capi::HAMDB_RUNTIME),
        ("MODEL_CONTRACT", hamdb_capi::HAMDB_MODEL_CONTRACT),
        ("INFERENCE", hamdb_capi::HAMDB_INFERENCE),
        ("IMAGE", hamdb_capi::HAMDB_IMAGE),
        ("IMAGE_TOO_LARGE", hamdb_capi::HAMDB_IMAGE_TOO_LARGE),
        ("NO_ENCODER", hamdb_capi::HAMDB_NO_ENCODER),
        ("CLOSED", hamdb_capi::HAMDB_CLOSED),
        ("OTHER", hamdb_capi::HAMDB_OTHER),
    ] {
        statuses.set_item(name, value)?;
    }
    m.add("STATUS", statuses)?;
    Ok(())
}
