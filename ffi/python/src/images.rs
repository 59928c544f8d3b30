//! Databases bound to a model: `create_for_model`, `Database.insert_images` (streamed,
//! parallel, with a per-item report, a progress callback and Ctrl-C) and
//! `Database.search_image`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hamdb::{ImageSource, IngestOptions, IngestProgress, ModelBinding, Rank, Reach};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyIterator};

use crate::database::Database;
use crate::encoder::Encoder;
use crate::errors::to_py;
use crate::results::{hit, Hit};
use crate::sources::source_of;

/// One image that was not inserted, and why.
#[pyclass(frozen, module = "hamdb")]
pub(crate) struct ItemFailure {
    /// Position in the input sequence.
    #[pyo3(get)]
    index: usize,
    /// The path, or `#index` for in-memory images.
    #[pyo3(get)]
    source: String,
    /// The error, as the exception that would have been raised (e.g. ImageError).
    #[pyo3(get)]
    error: Py<PyAny>,
}

#[pymethods]
impl ItemFailure {
    /// The error's message.
    #[getter]
    fn message(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.error.bind(py).str()?.to_string())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ItemFailure(index={}, source={:?}, error={})",
            self.index,
            self.source,
            self.error.bind(py).repr()?
        ))
    }
}

/// What `insert_images` did. `ids[i]` is the id of input `i`, or None if it failed (or was
/// not committed, in the report of an ingestion that stopped early).
#[pyclass(frozen, module = "hamdb")]
pub(crate) struct IngestReport {
    /// One per input reached, in input order.
    #[pyo3(get)]
    ids: Vec<Option<u64>>,
    /// The inputs that were not inserted, in input order.
    #[pyo3(get)]
    failures: Vec<Py<ItemFailure>>,
    /// Images inserted (and committed).
    #[pyo3(get)]
    inserted: u64,
    /// The last commit's transaction number (0 if nothing was committed).
    #[pyo3(get)]
    txn: u64,
}

#[pymethods]
impl IngestReport {
    fn __repr__(&self) -> String {
        format!(
            "IngestReport(inserted={}, failed={}, txn={})",
            self.inserted,
            self.failures.len(),
            self.txn
        )
    }
}

fn report(py: Python<'_>, r: hamdb::IngestReport) -> PyResult<IngestReport> {
    let failures = r
        .failures
        .into_iter()
        .map(|f| {
            Py::new(
                py,
                ItemFailure {
                    index: f.index,
                    source: f.source,
                    error: to_py(f.error).into_value(py).into_any(),
                },
            )
        })
        .collect::<PyResult<_>>()?;
    Ok(IngestReport {
        ids: r.ids,
        failures,
        inserted: r.inserted,
        txn: r.txn,
    })
}

/// The answer to an image query.
#[pyclass(frozen, module = "hamdb")]
pub(crate) struct ImageQuery {
    /// The query image's code (packed bytes).
    #[pyo3(get)]
    code: Py<PyBytes>,
    /// Its predicted class (the label its items would be stored with).
    #[pyo3(get)]
    label: u32,
    /// The class's name.
    #[pyo3(get)]
    class_name: String,
    /// The softmax probability of the predicted class.
    #[pyo3(get)]
    probability: f32,
    /// Neighbours, ascending by (distance, id); each hit's label is the item's stored class.
    #[pyo3(get)]
    hits: Vec<Py<Hit>>,
}

#[pymethods]
impl ImageQuery {
    fn __repr__(&self) -> String {
        format!(
            "ImageQuery(label={} ({}), probability={:.4}, hits={})",
            self.label,
            self.class_name,
            self.probability,
            self.hits.len()
        )
    }
}

/// Create a database for the codes of `encoder`'s model (it records the model, so later
/// image calls refuse another model with EncoderMismatchError).
#[pyfunction]
#[pyo3(signature = (path, encoder, *, auto_compact=true, flush_threshold=None))]
pub(crate) fn create_for_model(
    py: Python<'_>,
    path: PathBuf,
    encoder: &Bound<'_, Encoder>,
    auto_compact: bool,
    flush_threshold: Option<usize>,
) -> PyResult<Database> {
    let enc = encoder.get().inner.clone();
    let open = crate::database::open_options(false, auto_compact, flush_threshold);
    let db = py
        .detach(|| hamdb::image::create_for_model_with(&path, &enc, open))
        .map_err(to_py)?;
    Ok(Database::wrap(db))
}

/// What the Python side of an ingestion left for the caller: the first Python error (from
/// the sources iterator, a source of the wrong type, the progress callback or Ctrl-C), after
/// which no more sources are taken.
#[derive(Default)]
struct Stop {
    cancelled: AtomicBool,
    error: Mutex<Option<PyErr>>,
}

impl Stop {
    fn set(&self, e: PyErr) {
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

/// The caller's iterable, read one source at a time on ingestion's feeder thread (taking
/// the GIL per item), so a generator of paths streams without being materialised.
struct PySources {
    iter: Py<PyIterator>,
    stop: Arc<Stop>,
}

impl Iterator for PySources {
    type Item = ImageSource;

    fn next(&mut self) -> Option<ImageSource> {
        if self.stop.cancelled.load(Ordering::SeqCst) {
            return None;
        }
        Python::attach(|py| {
            let next = self.iter.bind(py).clone().next()?;
            match next.and_then(|o| source_of(&o)) {
                Ok(src) => Some(src),
                Err(e) => {
                    self.stop.set(e);
                    None
                }
            }
        })
    }
}

/// `Database.insert_images`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_images(
    py: Python<'_>,
    db: Arc<hamdb::Database>,
    encoder: &Bound<'_, Encoder>,
    sources: &Bound<'_, PyAny>,
    progress: Option<&Bound<'_, PyAny>>,
    batch_size: usize,
    decode_threads: usize,
    commit_every: usize,
) -> PyResult<IngestReport> {
    let enc = encoder.get().inner.clone();
    let options = IngestOptions {
        batch_size,
        decode_threads,
        commit_every,
    };
    options.validate().map_err(to_py)?;
    let total = sources.len().ok();
    let bar = py
        .import("hamdb._progress")?
        .call_method1("make", (progress, total))?;
    let callback: Option<Py<PyAny>> = (!bar.is_none()).then(|| bar.clone().unbind());
    let stop = Arc::new(Stop::default());
    let iter = PySources {
        iter: sources.try_iter()?.unbind(),
        stop: stop.clone(),
    };
    let on_progress = |p: &IngestProgress| {
        if let Some(cb) = &callback {
            Python::attach(|py| {
                if let Err(e) = cb.call1(py, (p.done, p.failed, p.committed)) {
                    stop.set(e);
                }
            });
        }
    };
    let result = py.detach(|| {
        let binding = match ModelBinding::new(&db, &enc) {
            Ok(b) => b,
            Err(error) => {
                return Ok(Err(hamdb::IngestError {
                    error,
                    report: hamdb::IngestReport::default(),
                }))
            }
        };
        std::thread::scope(|s| {
            let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
            let worker = s.spawn(|| {
                let r = binding.insert_images_with_progress(iter, &options, &on_progress);
                drop(done_tx);
                r
            });
            // Signal handlers run on the main thread only, while it holds the GIL: look
            // every 100 ms, and on Ctrl-C stop taking sources (what was read is committed).
            while done_rx
                .recv_timeout(Duration::from_millis(100))
                .is_err_and(|e| e == std::sync::mpsc::RecvTimeoutError::Timeout)
            {
                if let Err(e) = Python::attach(|py| py.check_signals()) {
                    stop.set(e);
                }
            }
            // A Ctrl-C that arrived in the last wait (up to 100 ms before the end) is raised
            // here, with the report, not left to fire after this call has returned (where it
            // would escape the caller's handler for this call).
            if let Err(e) = Python::attach(|py| py.check_signals()) {
                stop.set(e);
            }
            worker.join()
        })
    });
    if let Ok(close) = bar.getattr("close") {
        close.call0()?;
    }
    let python_error = stop.error.lock().unwrap_or_else(|p| p.into_inner()).take();
    let result = result.map_err(|_| PyRuntimeError::new_err("the ingestion thread panicked"))?;
    let (error, r) = match result {
        Ok(r) => (python_error, r),
        Err(e) => (python_error.or_else(|| Some(to_py(e.error))), e.report),
    };
    let r = report(py, r)?;
    match error {
        None => Ok(r),
        Some(e) => {
            // The report of what was committed before the error rides on the exception.
            e.value(py).setattr("report", Py::new(py, r)?)?;
            Err(e)
        }
    }
}

/// `Database.search_image`.
/// A ranking from its name: "distance" or "class" (the query's predicted class first).
pub(crate) fn rank_arg(rank: &str) -> PyResult<Rank> {
    match rank {
        "distance" => Ok(Rank::Distance),
        "class" => Ok(Rank::PredictedClassFirst),
        other => Err(PyValueError::new_err(format!(
            "rank must be \"distance\" or \"class\", got {other:?}"
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn search_image(
    py: Python<'_>,
    db: Arc<hamdb::Database>,
    encoder: &Bound<'_, Encoder>,
    image: &Bound<'_, PyAny>,
    k: Option<usize>,
    radius: Option<u32>,
    label: Option<u32>,
    rank: Rank,
) -> PyResult<ImageQuery> {
    let reach = match (k, radius) {
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err(
                "give k (nearest neighbours) or radius, not both",
            ))
        }
        (_, Some(r)) => Reach::Radius(r),
        (k, None) => Reach::Nearest(k.unwrap_or(10)),
    };
    let src = source_of(image)?;
    let enc = encoder.get().inner.clone();
    let q = py
        .detach(|| ModelBinding::new(&db, &enc)?.search_source_ranked(&src, reach, label, rank))
        .map_err(to_py)?;
    let hits = q
        .result
        .hits
        .into_iter()
        .map(|h| Py::new(py, hit(py, h)?))
        .collect::<PyResult<_>>()?;
    Ok(ImageQuery {
        code: PyBytes::new(py, &q.code.to_bytes()).unbind(),
        label: q.class,
        class_name: q.class_name,
        probability: q.probability,
        hits,
    })
}
