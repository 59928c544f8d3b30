//! The image encoder: an ONNX model that meets the hamdb encoder contract (docs/ENCODER.md),
//! run through ONNX Runtime (`ort`, loaded at run time). One forward pass gives an image's
//! code (latent activations > threshold) and its class (argmax of the logits) with the class
//! probability (softmax): SSDH's unified retrieval and classification.

mod contract;
mod dylib;
pub mod preprocess;
pub mod runtime;

pub use contract::{ColorMode, Contract, TensorSig, CONTRACT_VERSION};
pub use preprocess::DEFAULT_MAX_PIXELS;
pub use runtime::RuntimeInfo;

use crate::code::Code;
use crate::error::{Error, Result};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How to load a model.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// The ONNX Runtime library to load; `None` searches (see [`runtime`]).
    pub runtime_path: Option<PathBuf>,
    /// Independent ONNX Runtime sessions (forward passes that can run at once: ingestion
    /// runs one inference worker per session); 0 = automatic (see [`Encoder::from_bytes`]).
    pub sessions: usize,
    /// Threads ONNX Runtime uses inside one forward pass; 0 = the cores divided among the
    /// sessions.
    pub intra_threads: usize,
    /// Whether ONNX Runtime's idle worker threads spin (lower latency for a lone query,
    /// stolen cycles when decoders share the cores); `None` = ONNX Runtime's default.
    pub spinning: Option<bool>,
    /// Images larger than this many pixels are refused before decoding.
    pub max_pixels: u64,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        Self {
            runtime_path: None,
            sessions: 0,
            intra_threads: 0,
            spinning: None,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// One image's result from the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub code: Code,
    /// Predicted class (index into [`Contract::class_names`]).
    pub class: u32,
    /// Softmax probability of the predicted class.
    pub probability: f32,
}

/// Raw outputs of a forward pass over `n` images, row-major.
#[derive(Debug, Clone)]
pub struct Forward {
    pub n: usize,
    pub latent: Vec<f32>,
    pub logits: Vec<f32>,
}

/// A loaded model. `Send + Sync`: each forward pass takes one of the encoder's sessions, so
/// up to `sessions` passes run at once (ONNX Runtime parallelises inside a pass with
/// `intra_threads`).
pub struct Encoder {
    contract: Contract,
    fingerprint: [u8; 32],
    model_path: Option<PathBuf>,
    max_pixels: u64,
    sessions: Vec<Mutex<Session>>,
    next_session: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("model", &self.describe())
            .field("path", &self.model_path)
            .finish()
    }
}

/// The model fingerprint: SHA-256 of the exact bytes of the .onnx file (docs/ENCODER.md 5).
pub fn fingerprint_of(model_bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(model_bytes).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn ort_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Runtime {
        reason: format!("{what}: {e}"),
    }
}

impl Encoder {
    /// Load and check a model file.
    pub fn load(path: impl AsRef<Path>, options: &EncoderOptions) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io("reading the model file", e))?;
        let mut enc = Self::from_bytes(&bytes, options)?;
        enc.model_path = Some(path.canonicalize().unwrap_or_else(|_| path.to_path_buf()));
        Ok(enc)
    }

    /// Load and check a model held in memory.
    pub fn from_bytes(model: &[u8], options: &EncoderOptions) -> Result<Self> {
        runtime::ensure_loaded(options.runtime_path.as_deref())?;
        let env = runtime::environment()?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // One session by default: a lone query gets every core. Ingestion on many cores
        // gains from more (see docs/ARCHITECTURE.md, "Encoder sessions").
        let count = options.sessions.max(1);
        let threads = match options.intra_threads {
            0 => (cores / count).max(1),
            n => n,
        };
        let mut sessions = Vec::with_capacity(count);
        for _ in 0..count {
            let mut b = Session::builder(env)
                .map_err(|e| ort_err("creating a session", e))?
                .with_intra_threads(threads)
                .map_err(|e| ort_err("setting threads", e))?;
            if let Some(spin) = options.spinning {
                b = b
                    .with_intra_op_spinning(spin)
                    .map_err(|e| ort_err("setting spinning", e))?;
            }
            let session = b
                .commit_from_memory(model)
                .map_err(|e| Error::model(format!("ONNX Runtime cannot load it: {e}")))?;
            sessions.push(Mutex::new(session));
        }
        let session = sessions[0].lock().unwrap_or_else(|e| e.into_inner());
        let meta = session
            .metadata()
            .map_err(|e| Error::model(format!("reading metadata: {e}")))?;
        let mut props = HashMap::new();
        for k in meta
            .custom_keys()
            .map_err(|e| Error::model(format!("reading metadata: {e}")))?
        {
            if let Some(v) = meta.custom(&k) {
                props.insert(k, v);
            }
        }
        drop(meta);
        let contract = Contract::from_metadata(&props)?;
        let sig = |outlets: &[ort::value::Outlet]| -> Vec<TensorSig> {
            outlets
                .iter()
                .map(|o| TensorSig {
                    name: o.name().to_string(),
                    shape: match o.dtype() {
                        ValueType::Tensor { ty, shape, .. }
                            if *ty == TensorElementType::Float32 =>
                        {
                            Some(shape.iter().copied().collect())
                        }
                        _ => None,
                    },
                })
                .collect()
        };
        contract.check_signature(&sig(session.inputs()), &sig(session.outputs()))?;
        drop(session);
        Ok(Self {
            contract,
            fingerprint: fingerprint_of(model),
            model_path: None,
            max_pixels: options.max_pixels,
            sessions,
            next_session: Default::default(),
        })
    }

    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// Where the model was loaded from (`None` for [`Encoder::from_bytes`]).
    pub fn model_path(&self) -> Option<&Path> {
        self.model_path.as_deref()
    }

    /// How many forward passes can run at once.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// A free session if there is one, else wait for the next in turn.
    fn take_session(&self) -> std::sync::MutexGuard<'_, Session> {
        for s in &self.sessions {
            if let Ok(g) = s.try_lock() {
                return g;
            }
        }
        let i = self
            .next_session
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % self.sessions.len();
        self.sessions[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn max_pixels(&self) -> u64 {
        self.max_pixels
    }

    /// "name version (sha256 0123abcd...)", for messages.
    pub fn describe(&self) -> String {
        describe(&self.contract, &self.fingerprint)
    }

    /// Decode and preprocess one image file's bytes into a model input row.
    pub fn preprocess(&self, image: &[u8]) -> Result<Vec<f32>> {
        preprocess::preprocess(image, &self.contract, self.max_pixels)
    }

    /// Run the model on `n` preprocessed rows laid end to end.
    pub fn forward(&self, input: &[f32], n: usize) -> Result<Forward> {
        let c = &self.contract;
        if input.len() != n * c.input_len() {
            return Err(Error::param(
                "input",
                format!(
                    "{} floats is not {n} rows of {}",
                    input.len(),
                    c.input_len()
                ),
            ));
        }
        if n == 0 {
            return Ok(Forward {
                n,
                latent: Vec::new(),
                logits: Vec::new(),
            });
        }
        let tensor = TensorRef::from_array_view(([n, c.channels, c.height, c.width], input))
            .map_err(|e| ort_err("building the input tensor", e))?;
        let mut session = self.take_session();
        let outputs = session
            .run(ort::inputs![contract::INPUT_NAME => tensor])
            .map_err(|e| Error::Inference {
                reason: e.to_string(),
            })?;
        let take = |name: &str, cols: usize| -> Result<Vec<f32>> {
            let (shape, data) =
                outputs[name]
                    .try_extract_tensor::<f32>()
                    .map_err(|e| Error::Inference {
                        reason: format!("output {name}: {e}"),
                    })?;
            if shape.len() != 2 || shape[0] as usize != n || shape[1] as usize != cols {
                return Err(Error::Inference {
                    reason: format!("output {name} has shape {shape:?}, expected [{n}, {cols}]"),
                });
            }
            Ok(data.to_vec())
        };
        let latent = take(contract::LATENT_NAME, c.code_bits)?;
        let logits = take(contract::LOGITS_NAME, c.num_classes())?;
        Ok(Forward { n, latent, logits })
    }

    /// Codes and classes from a forward pass.
    pub fn decode_outputs(&self, f: &Forward) -> Result<Vec<Encoded>> {
        let c = &self.contract;
        let len = c.code_len()?;
        let (k, m) = (c.code_bits, c.num_classes());
        (0..f.n)
            .map(|i| {
                let lat = &f.latent[i * k..(i + 1) * k];
                let mut bytes = vec![0u8; len.bytes()];
                for (j, &a) in lat.iter().enumerate() {
                    if a as f64 > c.threshold {
                        bytes[j / 8] |= 0x80 >> (j % 8);
                    }
                }
                let (class, probability) = softmax_argmax(&f.logits[i * m..(i + 1) * m]);
                Ok(Encoded {
                    code: Code::from_bytes(&bytes)?,
                    class,
                    probability,
                })
            })
            .collect()
    }

    /// Encode preprocessed rows (`n` of them, end to end).
    pub fn encode_rows(&self, input: &[f32], n: usize) -> Result<Vec<Encoded>> {
        let f = self.forward(input, n)?;
        self.decode_outputs(&f)
    }

    /// Encode one image file's bytes.
    pub fn encode_image(&self, image: &[u8]) -> Result<Encoded> {
        let row = self.preprocess(image)?;
        Ok(self.encode_rows(&row, 1)?.remove(0))
    }

    /// Encode several images in one forward pass; each image fails or succeeds on its own.
    pub fn encode_images(&self, images: &[&[u8]]) -> Result<Vec<Result<Encoded>>> {
        self.encode_prepared(images.iter().map(|img| self.preprocess(img)).collect())
    }

    /// Encode rows already preprocessed (or failed), in one forward pass over the good ones;
    /// a failed row keeps its error. Fails as a whole only if the forward pass fails.
    pub fn encode_prepared(&self, rows: Vec<Result<Vec<f32>>>) -> Result<Vec<Result<Encoded>>> {
        let good: Vec<f32> = rows.iter().flatten().flatten().copied().collect();
        let n = rows.iter().filter(|r| r.is_ok()).count();
        let mut encoded = self.encode_rows(&good, n)?.into_iter();
        Ok(rows
            .into_iter()
            .map(|r| r.map(|_| encoded.next().expect("one result per good row")))
            .collect())
    }

    /// Encode one image file.
    pub fn encode_file(&self, path: impl AsRef<Path>) -> Result<Encoded> {
        let bytes = std::fs::read(path).map_err(|e| Error::io("reading the image", e))?;
        self.encode_image(&bytes)
    }
}

/// "name version (sha256 0123abcd...)".
pub fn describe(contract: &Contract, fingerprint: &[u8]) -> String {
    let h = hex(fingerprint);
    format!(
        "model {} {} (sha256 {}...)",
        contract.model_name,
        contract.model_version,
        &h[..h.len().min(12)]
    )
}

/// Index and softmax probability of the largest logit (ties: the first).
fn softmax_argmax(logits: &[f32]) -> (u32, f32) {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    let max = logits[best] as f64;
    let sum: f64 = logits.iter().map(|&v| (v as f64 - max).exp()).sum();
    (best as u32, (1.0 / sum) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_argmax_picks_the_first_maximum() {
        assert_eq!(softmax_argmax(&[0.0, 2.0, 2.0]).0, 1);
        let (c, p) = softmax_argmax(&[0.0, 0.0]);
        assert_eq!(c, 0);
        assert!((p - 0.5).abs() < 1e-6);
        let (_, p) = softmax_argmax(&[1000.0, 0.0]);
        assert!((p - 1.0).abs() < 1e-6);
    }

    #[test]
    fn fingerprint_is_sha256() {
        assert_eq!(
            hex(&fingerprint_of(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
