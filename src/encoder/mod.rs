//! The image encoder: an ONNX model that meets the hamdb encoder contract (docs/ENCODER.md),
//! run through ONNX Runtime (`ort`, loaded at run time). One forward pass gives an image's
//! code (latent activations > threshold) and its class (argmax of the logits) with the class
//! probability (softmax): SSDH's unified retrieval and classification.

mod contract;
mod dylib;
pub mod preprocess;
pub mod runtime;

pub use contract::{ColorMode, Contract, TensorSig, CONTRACT_VERSION};
pub use preprocess::{
    DecodeBudget, DecodeLimits, PixelLayout, DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_PIXELS,
};
pub use runtime::RuntimeInfo;

use crate::code::Code;
use crate::error::{Error, Result};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Most ONNX Runtime sessions one encoder holds ([`EncoderOptions::sessions`]).
pub const MAX_SESSIONS: usize = 64;
/// Most intra-op threads per session ([`EncoderOptions::intra_threads`]).
pub const MAX_INTRA_THREADS: usize = 256;
/// Most ONNX Runtime threads one encoder starts, over all its sessions.
pub const MAX_TOTAL_THREADS: usize = 1024;

/// How to load a model. [`Encoder::load`] refuses values out of range with
/// [`Error::InvalidParameter`] (see [`EncoderOptions::validate`]).
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// The ONNX Runtime library to load; `None` searches (see [`runtime`]).
    pub runtime_path: Option<PathBuf>,
    /// Independent ONNX Runtime sessions (forward passes that can run at once: ingestion
    /// runs one inference worker per session), 0..=[`MAX_SESSIONS`]; 0 = one.
    pub sessions: usize,
    /// Threads ONNX Runtime uses inside one forward pass, 0..=[`MAX_INTRA_THREADS`]; 0 = the
    /// cores divided among the sessions. Sessions x threads is at most [`MAX_TOTAL_THREADS`].
    pub intra_threads: usize,
    /// Whether ONNX Runtime's idle worker threads spin (lower latency for a lone query,
    /// stolen cycles when decoders share the cores); `None` = ONNX Runtime's default.
    pub spinning: Option<bool>,
    /// Images larger than this many pixels are refused before decoding (at least 1).
    pub max_pixels: u64,
    /// Images whose decoded pixels would take more than this many bytes (width x height x
    /// bytes per pixel of the decoded colour type) are refused before decoding (at least 1).
    /// It also sizes the encoder's decode budget: all decodes through one encoder at once
    /// (ingestion's decoders, queries) hold at most this many bytes of decoded pixels.
    pub max_decoded_bytes: u64,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        Self {
            runtime_path: None,
            sessions: 0,
            intra_threads: 0,
            spinning: None,
            max_pixels: DEFAULT_MAX_PIXELS,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
        }
    }
}

impl EncoderOptions {
    /// Check every value against its range; the error names the parameter and the range.
    pub fn validate(&self) -> Result<()> {
        Error::check_range(
            "sessions",
            self.sessions as u64,
            0,
            MAX_SESSIONS as u64,
            " (0 = one session)",
        )?;
        Error::check_range(
            "intra_threads",
            self.intra_threads as u64,
            0,
            MAX_INTRA_THREADS as u64,
            " (0 = the cores divided among the sessions)",
        )?;
        let total = self.sessions.max(1) * self.intra_threads;
        if total > MAX_TOTAL_THREADS {
            return Err(Error::param(
                "intra_threads",
                format!(
                    "{} sessions x {} threads = {total} threads, over the limit of \
                     {MAX_TOTAL_THREADS} threads per encoder",
                    self.sessions.max(1),
                    self.intra_threads
                ),
            ));
        }
        Error::check_range("max_pixels", self.max_pixels, 1, u64::MAX, "")?;
        Error::check_range("max_decoded_bytes", self.max_decoded_bytes, 1, u64::MAX, "")?;
        Ok(())
    }

    fn decode_limits(&self) -> DecodeLimits {
        DecodeLimits {
            max_pixels: self.max_pixels,
            max_decoded_bytes: self.max_decoded_bytes,
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
    limits: DecodeLimits,
    /// Shared by every decode through this encoder, sized to `limits.max_decoded_bytes`.
    budget: DecodeBudget,
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
        options.validate()?;
        runtime::ensure_loaded(options.runtime_path.as_deref())?;
        let env = runtime::environment()?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // One session by default: a lone query gets every core. Ingestion on many cores
        // gains from more (see docs/ARCHITECTURE.md, "Encoder sessions").
        let count = options.sessions.max(1);
        let threads = match options.intra_threads {
            0 => (cores / count).clamp(1, MAX_INTRA_THREADS),
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
            limits: options.decode_limits(),
            budget: DecodeBudget::new(options.max_decoded_bytes),
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
        self.limits.max_pixels
    }

    /// The limits every decode through this encoder is held to.
    pub fn decode_limits(&self) -> DecodeLimits {
        self.limits
    }

    /// The byte budget decodes through this encoder share.
    pub fn decode_budget(&self) -> &DecodeBudget {
        &self.budget
    }

    /// "name version (sha256 0123abcd...)", for messages.
    pub fn describe(&self) -> String {
        describe(&self.contract, &self.fingerprint)
    }

    /// Decode and preprocess one image file's bytes into a model input row.
    /// Decodes through one encoder share its decode budget (they wait for each other when
    /// their decoded pixels would exceed it together).
    pub fn preprocess(&self, image: &[u8]) -> Result<Vec<f32>> {
        preprocess::preprocess_limited(image, &self.contract, &self.limits, Some(&self.budget))
    }

    /// Preprocess raw pixels (row-major, interleaved 8-bit samples, already oriented) into a
    /// model input row; equal to [`Encoder::preprocess`] of a file that decodes to these pixels.
    pub fn preprocess_pixels(
        &self,
        pixels: &[u8],
        width: usize,
        height: usize,
        layout: PixelLayout,
    ) -> Result<Vec<f32>> {
        let mut out = vec![0f32; self.contract.input_len()];
        let raw = preprocess::RawPixels {
            data: pixels,
            width,
            height,
            layout,
        };
        preprocess::preprocess_pixels_into(
            raw,
            &self.contract,
            &self.limits,
            Some(&self.budget),
            &mut out,
        )?;
        Ok(out)
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
        self.encode_rows(&row, 1)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Inference {
                reason: "the model returned no row".into(),
            })
    }

    /// Encode several images in one forward pass; each image fails or succeeds on its own.
    pub fn encode_images(&self, images: &[&[u8]]) -> Result<Vec<Result<Encoded>>> {
        self.encode_prepared(images.iter().map(|img| self.preprocess(img)).collect())
    }

    /// Encode rows already preprocessed (or failed), in one forward pass over the good ones;
    /// a failed row keeps its error. Fails as a whole only if the forward pass fails.
    pub fn encode_prepared(&self, rows: Vec<Result<Vec<f32>>>) -> Result<Vec<Result<Encoded>>> {
        // Sized by the rows actually given, never by a batch size asked for.
        let n = rows.iter().filter(|r| r.is_ok()).count();
        let mut good: Vec<f32> = Vec::with_capacity(n * self.contract.input_len());
        for r in rows.iter().flatten() {
            good.extend_from_slice(r);
        }
        let mut encoded = self.encode_rows(&good, n)?.into_iter();
        Ok(rows
            .into_iter()
            .map(|r| {
                r.and_then(|_| {
                    encoded.next().ok_or_else(|| Error::Inference {
                        reason: "the model returned fewer rows than it was given".into(),
                    })
                })
            })
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
    fn options_out_of_range_are_refused_by_name() {
        let ok = EncoderOptions::default();
        assert!(ok.validate().is_ok());
        let at_limits = EncoderOptions {
            sessions: 4,
            intra_threads: MAX_INTRA_THREADS,
            ..EncoderOptions::default()
        };
        assert!(at_limits.validate().is_ok());
        let cases = [
            (
                EncoderOptions {
                    intra_threads: 257,
                    ..ok.clone()
                },
                "intra_threads",
                "0..=256",
            ),
            (
                EncoderOptions {
                    intra_threads: usize::MAX,
                    ..ok.clone()
                },
                "intra_threads",
                "0..=256",
            ),
            (
                EncoderOptions {
                    sessions: 65,
                    ..ok.clone()
                },
                "sessions",
                "0..=64",
            ),
            (
                EncoderOptions {
                    sessions: 64,
                    intra_threads: 32,
                    ..ok.clone()
                },
                "intra_threads",
                "2048 threads",
            ),
            (
                EncoderOptions {
                    max_pixels: 0,
                    ..ok.clone()
                },
                "max_pixels",
                "1..=",
            ),
            (
                EncoderOptions {
                    max_decoded_bytes: 0,
                    ..ok.clone()
                },
                "max_decoded_bytes",
                "1..=",
            ),
        ];
        for (o, name, range) in cases {
            match o.validate() {
                Err(Error::InvalidParameter { name: n, reason }) => {
                    assert_eq!(n, name);
                    assert!(reason.contains(range), "{reason}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn fingerprint_is_sha256() {
        assert_eq!(
            hex(&fingerprint_of(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
