//! `Encoder`: an SSDH model loaded through ONNX Runtime; `encode` gives codes, predicted
//! classes (labels) and their probabilities for images in any form `sources` accepts.

use std::path::PathBuf;
use std::sync::Arc;

use hamdb::{EncoderOptions, ImageSource};
use numpy::ndarray::Array2;
use numpy::IntoPyArray;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::errors::{status_error, to_py};
use crate::parallel::in_threads;
use crate::sources::source_of;

/// Images per forward pass in `encode` (ingestion has its own batch size).
const ENCODE_BATCH: usize = 64;

/// A loaded SSDH model (docs/ENCODER.md's contract). Thread-safe: forward passes release
/// the GIL and run on the encoder's sessions.
#[pyclass(frozen, module = "hamdb")]
pub(crate) struct Encoder {
    pub(crate) inner: Arc<hamdb::Encoder>,
}

/// The ONNX Runtime library of the `onnxruntime` package this interpreter imports, if any
/// (`hamdb._runtime.find`), unless ORT_DYLIB_PATH names one.
fn default_runtime(py: Python<'_>) -> PyResult<Option<PathBuf>> {
    if std::env::var_os("ORT_DYLIB_PATH").is_some() {
        return Ok(None);
    }
    py.import("hamdb._runtime")?.call_method0("find")?.extract()
}

/// Encode many sources, `ENCODE_BATCH` per forward pass, each batch decoded on up to one
/// thread per core (decoding, not inference, dominates small models); the first failure in
/// input order names its image.
fn encode_all(
    enc: &hamdb::Encoder,
    sources: &[ImageSource],
) -> Result<Vec<hamdb::Encoded>, (Option<usize>, hamdb::Error)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = Vec::with_capacity(sources.len());
    for (c, chunk) in sources.chunks(ENCODE_BATCH).enumerate() {
        let per = chunk.len().div_ceil(threads).max(1);
        let decoded: Vec<hamdb::Result<Vec<f32>>> = if per < chunk.len() {
            in_threads(
                chunk
                    .chunks(per)
                    .map(|part| move || part.iter().map(|src| src.preprocess(enc)).collect()),
            )
            .into_iter()
            .flat_map(|rows: Vec<_>| rows)
            .collect()
        } else {
            chunk.iter().map(|src| src.preprocess(enc)).collect()
        };
        let mut rows = Vec::with_capacity(chunk.len());
        for (j, row) in decoded.into_iter().enumerate() {
            rows.push(row.map_err(|e| (Some(c * ENCODE_BATCH + j), e))?);
        }
        let flat: Vec<f32> = rows.concat();
        out.extend(enc.encode_rows(&flat, rows.len()).map_err(|e| (None, e))?);
    }
    Ok(out)
}

#[pymethods]
impl Encoder {
    /// Load a model from a path or from the model file's bytes. `runtime` is the ONNX
    /// Runtime library to use (default: ORT_DYLIB_PATH, else the `onnxruntime` package this
    /// interpreter imports, else hamdb's search); one process loads one runtime.
    #[staticmethod]
    #[pyo3(signature = (model, runtime=None, sessions=0, intra_threads=0, max_pixels=None, max_decoded_bytes=None))]
    fn load(
        py: Python<'_>,
        model: &Bound<'_, PyAny>,
        runtime: Option<PathBuf>,
        sessions: usize,
        intra_threads: usize,
        max_pixels: Option<u64>,
        max_decoded_bytes: Option<u64>,
    ) -> PyResult<Self> {
        let defaults = EncoderOptions::default();
        let runtime_path = match runtime {
            Some(p) => Some(p),
            None => default_runtime(py)?,
        };
        let options = EncoderOptions {
            runtime_path,
            sessions,
            intra_threads,
            max_pixels: max_pixels.unwrap_or(defaults.max_pixels),
            max_decoded_bytes: max_decoded_bytes.unwrap_or(defaults.max_decoded_bytes),
            ..defaults
        };
        let inner = if let Ok(b) = model.downcast::<PyBytes>() {
            let bytes = b.as_bytes().to_vec();
            py.detach(|| hamdb::Encoder::from_bytes(&bytes, &options))
        } else if let Ok(path) = model.extract::<PathBuf>() {
            py.detach(|| hamdb::Encoder::load(&path, &options))
        } else {
            return Err(PyTypeError::new_err(format!(
                "a model is a path or the model file's bytes, got {}",
                model.get_type().name()?
            )));
        }
        .map_err(to_py)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Code bits the model emits (the database stores them rounded up to whole bytes).
    #[getter]
    fn bits(&self) -> usize {
        self.inner.contract().code_bits
    }

    /// The class names; a predicted label indexes this list.
    #[getter]
    fn classes(&self) -> Vec<String> {
        self.inner.contract().class_names.clone()
    }

    /// The model's fingerprint (SHA-256 of the model file), as stored by `create_for_model`.
    #[getter]
    fn fingerprint<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.fingerprint())
    }

    /// The model's name (its `hamdb.model_name`).
    #[getter]
    fn name(&self) -> String {
        self.inner.contract().model_name.clone()
    }

    /// The model's version (its `hamdb.model_version`).
    #[getter]
    fn version(&self) -> String {
        self.inner.contract().model_version.clone()
    }

    /// The model's input: (channels, height, width).
    #[getter]
    fn input_shape(&self) -> (usize, usize, usize) {
        let c = self.inner.contract();
        (c.channels, c.height, c.width)
    }

    /// Encode images. One image (any form but a list, tuple or other iterable) gives
    /// `(code: bytes, label: int, probability: float)`; a list (or other iterable) gives
    /// `(codes uint8 [N, bytes], labels int64 [N], probabilities float32 [N])`. A broken
    /// image raises ImageError naming it (by path or position).
    fn encode<'py>(
        &self,
        py: Python<'py>,
        images: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let single = !(images.downcast::<PyList>().is_ok()
            || images.downcast::<PyTuple>().is_ok()
            || is_plain_iterable(images)?);
        let sources: Vec<ImageSource> = if single {
            vec![source_of(images)?]
        } else {
            images
                .try_iter()?
                .map(|o| source_of(&o?))
                .collect::<PyResult<_>>()?
        };
        let enc = self.inner.clone();
        let encoded = py
            .detach(|| encode_all(&enc, &sources))
            .map_err(|(i, e)| to_py_named(&e, i.map(|i| sources[i].describe(i))))?;
        if single {
            let e = &encoded[0];
            return Ok(
                (PyBytes::new(py, &e.code.to_bytes()), e.class, e.probability)
                    .into_pyobject(py)?
                    .into_any(),
            );
        }
        let bytes = self.inner.contract().code_len().map_err(to_py)?.bytes();
        let mut codes = Vec::with_capacity(encoded.len() * bytes);
        for e in &encoded {
            codes.extend_from_slice(&e.code.to_bytes());
        }
        let codes = Array2::from_shape_vec((encoded.len(), bytes), codes)
            .expect("n * bytes")
            .into_pyarray(py);
        let labels: Vec<i64> = encoded.iter().map(|e| i64::from(e.class)).collect();
        let probs: Vec<f32> = encoded.iter().map(|e| e.probability).collect();
        Ok((codes, labels.into_pyarray(py), probs.into_pyarray(py))
            .into_pyobject(py)?
            .into_any())
    }

    fn __repr__(&self) -> String {
        format!("<hamdb.Encoder {}>", self.inner.describe())
    }
}

/// A generator or other iterable that is not itself an image (bytes, str, arrays and PIL
/// images are iterable too).
fn is_plain_iterable(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    if obj.downcast::<PyBytes>().is_ok()
        || obj.is_instance_of::<pyo3::types::PyString>()
        || obj.is_instance_of::<pyo3::types::PyByteArray>()
        || obj.is_instance_of::<pyo3::types::PyMemoryView>()
        || obj.downcast::<numpy::PyUntypedArray>().is_ok()
        || obj.hasattr("tobytes")?
        || obj.hasattr("__fspath__")?
    {
        return Ok(false);
    }
    obj.hasattr("__iter__")
}

/// The exception for an image's error, its message prefixed with the image's name.
pub(crate) fn to_py_named(e: &hamdb::Error, name: Option<String>) -> PyErr {
    let status = hamdb_capi::status_of(e);
    match name {
        Some(n) => status_error(status, format!("{n}: {e}")),
        None => status_error(status, e.to_string()),
    }
}
