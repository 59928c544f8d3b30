//! `Database`: an open hamdb file, and the module functions `create`, `open`, `verify`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hamdb::{CodeArray, CompactionPolicy, CreateOptions, Import, OpenOptions};
use numpy::{PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::args::{codes_arg, column, payload_column};
use crate::batch::WriteBatch;
use crate::encoder::Encoder;
use crate::errors::to_py;
use crate::handle::Handle;
use crate::images::{self, ImageQuery, IngestReport};
use crate::results::{CommitInfo, Item};
use crate::search::{self, View};
use crate::snapshot::Snapshot;

/// An open hamdb database file. Use `hamdb.create` or `hamdb.open`.
#[pyclass(frozen, module = "hamdb")]
pub(crate) struct Database {
    /// The file (and its write lock), released when the last call holding it finishes.
    inner: Handle<hamdb::Database>,
}

impl Database {
    pub(crate) fn db(&self) -> PyResult<Arc<hamdb::Database>> {
        self.inner.get()
    }

    pub(crate) fn wrap(db: hamdb::Database) -> Self {
        Self {
            inner: Handle::new(Arc::new(db), "database"),
        }
    }
}

#[pymethods]
impl Database {
    /// The code length in bits.
    #[getter]
    fn bits(&self) -> PyResult<usize> {
        Ok(self.db()?.code_len().bits())
    }

    /// The radius the database was created for (`create(expected_radius=)`), or None.
    #[getter]
    fn expected_radius(&self) -> PyResult<Option<u32>> {
        Ok(self.db()?.expected_radius())
    }

    /// The database's path.
    #[getter]
    fn path(&self) -> PyResult<PathBuf> {
        Ok(self.db()?.path().to_path_buf())
    }

    /// Whether `close` has been called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Close the database (idempotent). Later calls raise ClosedError.
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

    /// Apply a WriteBatch atomically and durably (fsync before it returns). A failed automatic
    /// flush or compaction after it does not raise: see `CommitInfo.maintenance_error`.
    fn commit(&self, py: Python<'_>, batch: &Bound<'_, WriteBatch>) -> PyResult<CommitInfo> {
        let db = self.db()?;
        let b = batch.borrow().inner.clone();
        let info = py.detach(|| db.commit(b)).map_err(to_py)?;
        CommitInfo::of(py, info)
    }

    /// Bulk-load codes as one new segment in one commit.
    #[pyo3(signature = (codes, ids=None, labels=None, payloads=None))]
    fn import_codes(
        &self,
        py: Python<'_>,
        codes: &Bound<'_, PyAny>,
        ids: Option<&Bound<'_, PyAny>>,
        labels: Option<&Bound<'_, PyAny>>,
        payloads: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<CommitInfo> {
        let db = self.db()?;
        let len = db.code_len();
        let arr = codes_arg(codes, len)?;
        let n = arr.shape()[0];
        let ids = column::<u64>(py, ids, "uint64", "ids", n)?;
        let labels = column::<u32>(py, labels, "uint32", "labels", n)?;
        let payloads = payload_column(payloads, n)?;
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
                    payloads: payloads.as_deref(),
                })
            })
            .map_err(to_py)?;
        CommitInfo::of(py, info)
    }

    /// k nearest neighbours (see the stub for the 1-D / 2-D forms).
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
        let db = self.db()?;
        let len = db.code_len();
        search::knn(py, View::Latest(db), len, code_or_codes, k, label, batch)
    }

    /// Every item within distance r (inclusive; see the stub for the 1-D / 2-D forms).
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
        let db = self.db()?;
        let len = db.code_len();
        search::radius(py, View::Latest(db), len, code_or_codes, r, label, batch)
    }

    /// The k nearest items to a query of several codes (2-D uint8 array or a sequence of
    /// codes): each item once, at its least distance over every (query code, item code) pair.
    #[pyo3(signature = (codes, k, label=None))]
    fn search_set<'py>(
        &self,
        py: Python<'py>,
        codes: &Bound<'py, PyAny>,
        k: usize,
        label: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let db = self.db()?;
        let len = db.code_len();
        search::knn_set(py, View::Latest(db), len, codes, k, label)
    }

    /// Every item within distance r (inclusive) of any code of a query set, once.
    #[pyo3(signature = (codes, r, label=None))]
    fn search_radius_set<'py>(
        &self,
        py: Python<'py>,
        codes: &Bound<'py, PyAny>,
        r: u32,
        label: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let db = self.db()?;
        let len = db.code_len();
        search::radius_set(py, View::Latest(db), len, codes, r, label)
    }

    /// The k nearest items of class `label` first, then the nearest others (fewer than k of
    /// `label` are topped up), each group by (distance, id), exact within each group.
    fn search_class_first<'py>(
        &self,
        py: Python<'py>,
        code: &Bound<'py, PyAny>,
        k: usize,
        label: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        search::knn_class_first(py, View::Latest(self.db()?), code, k, label)
    }

    /// Every item within distance r (inclusive), those of class `label` first, each group by
    /// (distance, id).
    fn search_radius_class_first<'py>(
        &self,
        py: Python<'py>,
        code: &Bound<'py, PyAny>,
        r: u32,
        label: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        search::radius_class_first(py, View::Latest(self.db()?), code, r, label)
    }

    /// The live item with this id, or None.
    fn get(&self, py: Python<'_>, id: u64) -> PyResult<Option<Item>> {
        search::get(py, View::Latest(self.db()?), id)
    }

    /// The latest commit as an immutable view: its searches all see that commit, whatever
    /// commits follow.
    fn snapshot(&self, py: Python<'_>) -> PyResult<Snapshot> {
        let db = self.db()?;
        let len = db.code_len();
        let snap = py.detach(|| db.snapshot());
        Ok(Snapshot::new(snap, len))
    }

    /// Insert images (paths, bytes, arrays, PIL images, `(image, payload)` tuples; any
    /// iterable, read as it goes) through `encoder`, which must be the database's model.
    /// Decoding runs on `decode_threads` threads (0 = one per core), inference in batches of
    /// `batch_size`, a durable commit every `commit_every` inserted images. A broken image
    /// fails alone (see the report); the rest are inserted. `progress`: True for a tqdm bar
    /// (when tqdm is installed), or a callable `(done, failed, committed)`.
    /// On an error that stops the ingestion (or Ctrl-C) the exception carries `.report`,
    /// what was committed before it.
    #[pyo3(signature = (encoder, sources, progress=None, batch_size=64, decode_threads=0, commit_every=8192))]
    #[allow(clippy::too_many_arguments)]
    fn insert_images(
        &self,
        py: Python<'_>,
        encoder: &Bound<'_, Encoder>,
        sources: &Bound<'_, PyAny>,
        progress: Option<&Bound<'_, PyAny>>,
        batch_size: usize,
        decode_threads: usize,
        commit_every: usize,
    ) -> PyResult<IngestReport> {
        images::insert_images(
            py,
            self.db()?,
            encoder,
            sources,
            progress,
            batch_size,
            decode_threads,
            commit_every,
        )
    }

    /// Encode `image` (one forward pass: its code and predicted class) and search by it: the
    /// `k` nearest (default 10) or everything within `radius` (inclusive), only items of
    /// `label` if given. `rank="class"` puts the items of the query's predicted class first,
    /// each group by (distance, id) (with `label` given, the filter decides); `"distance"`
    /// (the default) ranks by (distance, id).
    #[pyo3(signature = (encoder, image, k=None, label=None, radius=None, *, rank="distance"))]
    #[allow(clippy::too_many_arguments)]
    fn search_image(
        &self,
        py: Python<'_>,
        encoder: &Bound<'_, Encoder>,
        image: &Bound<'_, PyAny>,
        k: Option<usize>,
        label: Option<u32>,
        radius: Option<u32>,
        rank: &str,
    ) -> PyResult<ImageQuery> {
        let rank = images::rank_arg(rank)?;
        images::search_image(py, self.db()?, encoder, image, k, radius, label, rank)
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

/// The open options the keyword arguments give.
pub(crate) fn open_options(
    read_only: bool,
    auto_compact: bool,
    flush_threshold: Option<usize>,
) -> OpenOptions {
    OpenOptions {
        read_only,
        flush_threshold,
        compaction: (!auto_compact).then(CompactionPolicy::disabled),
        ..OpenOptions::default()
    }
}

/// Create a new database file for `bits`-bit codes.
#[pyfunction]
#[pyo3(signature = (
    path, bits, fingerprint=None, *, auto_compact=true, flush_threshold=None, expected_radius=None
))]
pub(crate) fn create(
    py: Python<'_>,
    path: PathBuf,
    bits: usize,
    fingerprint: Option<&[u8]>,
    auto_compact: bool,
    flush_threshold: Option<usize>,
    expected_radius: Option<u32>,
) -> PyResult<Database> {
    let options = CreateOptions {
        code_bits: bits,
        fingerprint: fingerprint.unwrap_or(&[]).to_vec(),
        expected_radius,
    };
    let open = open_options(false, auto_compact, flush_threshold);
    let db = py
        .detach(|| hamdb::Database::create_with(&path, options, open))
        .map_err(to_py)?;
    Ok(Database::wrap(db))
}

/// `lock_wait=` seconds checked (finite, non-negative) into a wait.
fn lock_wait_arg(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        to_py(hamdb::Error::InvalidParameter {
            name: "lock_wait",
            reason: format!("{seconds} is not a non-negative, finite number of seconds"),
        })
    })
}

/// Open an existing database (read-only: no write lock, writes raise ReadOnlyError).
#[pyfunction]
#[pyo3(signature = (
    path, read_only=false, *, auto_compact=true, flush_threshold=None, lock_wait=None
))]
pub(crate) fn open(
    py: Python<'_>,
    path: PathBuf,
    read_only: bool,
    auto_compact: bool,
    flush_threshold: Option<usize>,
    lock_wait: Option<f64>,
) -> PyResult<Database> {
    let mut options = open_options(read_only, auto_compact, flush_threshold);
    options.lock_wait = lock_wait.map(lock_wait_arg).transpose()?;
    let db = py
        .detach(|| hamdb::Database::open_with(&path, options))
        .map_err(to_py)?;
    Ok(Database::wrap(db))
}

/// Check every checksum and invariant of the file; a dict of txn, segments, items,
/// delta_batches.
#[pyfunction]
pub(crate) fn verify<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
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
