//! The encoder contract (docs/ENCODER.md, version 1): what a model's metadata and graph
//! signature must say, parsed into a [`Contract`] that the database stores beside its codes.
//!
//! Every check reports the first thing that is wrong in words a model author can act on; the
//! Python checker (`models/ssdh/contract.py`) enforces the same rules.

use crate::code::CodeLen;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub const CONTRACT_VERSION: &str = "1";
pub const INPUT_NAME: &str = "image";
pub const LATENT_NAME: &str = "latent";
pub const LOGITS_NAME: &str = "logits";

/// How an image's pixels become model input channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColorMode {
    /// One channel: ITU-R 601-2 luma in 16-bit fixed point (Pillow's RGB->L).
    Luma,
    /// Three channels R, G, B.
    Rgb,
}

impl ColorMode {
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Luma => 1,
            ColorMode::Rgb => 3,
        }
    }
}

/// The parsed contract of one model: everything needed to preprocess its input, read its
/// outputs, and show its results, without the model file itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    /// K: code bits the model emits (the stored code is K rounded up to a whole byte, padded
    /// with zero bits, so padding never changes a distance).
    pub code_bits: usize,
    pub class_names: Vec<String>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub color_mode: ColorMode,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub threshold: f64,
    pub model_name: String,
    pub model_version: String,
}

impl Contract {
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// The code length the database stores: K rounded up to a multiple of 8.
    pub fn code_len(&self) -> Result<CodeLen> {
        CodeLen::new(self.code_bits.div_ceil(8) * 8).map_err(|_| {
            Error::model(format!(
                "hamdb.code_bits is {}; hamdb stores codes of 8 to 1024 bits",
                self.code_bits
            ))
        })
    }

    /// Floats per image in the model input.
    pub fn input_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Parse and check the metadata properties (every key required; see docs/ENCODER.md 2).
    pub fn from_metadata(meta: &HashMap<String, String>) -> Result<Self> {
        let get = |k: &str| -> Result<&str> {
            meta.get(k)
                .map(String::as_str)
                .ok_or_else(|| Error::model(format!("metadata key `{k}` is missing")))
        };
        let version = get("hamdb.contract_version")?;
        if version != CONTRACT_VERSION {
            return Err(Error::model(format!(
                "hamdb.contract_version is {version:?}; this build reads contract version {CONTRACT_VERSION}"
            )));
        }
        let int = |k: &str| -> Result<usize> {
            let v = get(k)?;
            let ok = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && !v.starts_with('0');
            v.parse::<usize>().ok().filter(|_| ok).ok_or_else(|| {
                Error::model(format!("{k} = {v:?} is not a positive decimal integer"))
            })
        };
        let code_bits = int("hamdb.code_bits")?;
        if !(1..=4096).contains(&code_bits) {
            return Err(Error::model(format!(
                "hamdb.code_bits {code_bits} is out of 1..4096"
            )));
        }
        let num_classes = int("hamdb.num_classes")?;
        let channels = int("hamdb.input_channels")?;
        let height = int("hamdb.input_height")?;
        let width = int("hamdb.input_width")?;
        if height.saturating_mul(width) > 1 << 26 {
            return Err(Error::model(format!("input {height}x{width} is too large")));
        }
        let color_mode = match get("hamdb.color_mode")? {
            "L" => ColorMode::Luma,
            "RGB" => ColorMode::Rgb,
            other => {
                return Err(Error::model(format!(
                    "hamdb.color_mode {other:?} is not \"L\" or \"RGB\""
                )))
            }
        };
        if channels != color_mode.channels() {
            return Err(Error::model(format!(
                "hamdb.input_channels {channels} does not match color mode {:?} ({} channels)",
                get("hamdb.color_mode")?,
                color_mode.channels()
            )));
        }
        let resize = get("hamdb.resize")?;
        if resize != "bilinear-aa" {
            return Err(Error::model(format!(
                "hamdb.resize {resize:?} is not \"bilinear-aa\" (the only rule of contract version 1)"
            )));
        }
        let numbers = |k: &str, positive: bool| -> Result<Vec<f64>> {
            let v: Vec<f64> = serde_json::from_str(get(k)?)
                .map_err(|e| Error::model(format!("{k} is not a JSON list of numbers: {e}")))?;
            if v.len() != channels {
                return Err(Error::model(format!(
                    "{k} has {} numbers; input_channels is {channels}",
                    v.len()
                )));
            }
            if v.iter().any(|x| !x.is_finite() || (positive && *x <= 0.0)) {
                return Err(Error::model(format!(
                    "{k} must hold finite{} numbers",
                    if positive { " positive" } else { "" }
                )));
            }
            Ok(v)
        };
        let mean = numbers("hamdb.mean", false)?;
        let std = numbers("hamdb.std", true)?;
        let threshold: f64 = get("hamdb.threshold")?
            .trim()
            .parse()
            .ok()
            .filter(|t: &f64| *t > 0.0 && *t < 1.0)
            .ok_or_else(|| Error::model("hamdb.threshold is not a number in (0, 1)"))?;
        let class_names: Vec<String> =
            serde_json::from_str(get("hamdb.class_names")?).map_err(|e| {
                Error::model(format!(
                    "hamdb.class_names is not a JSON list of strings: {e}"
                ))
            })?;
        if class_names.len() != num_classes {
            return Err(Error::model(format!(
                "hamdb.class_names has {} names; hamdb.num_classes is {num_classes}",
                class_names.len()
            )));
        }
        let model_name = get("hamdb.model_name")?.to_string();
        if model_name.is_empty() {
            return Err(Error::model("hamdb.model_name is empty"));
        }
        let model_version = get("hamdb.model_version")?.to_string();
        let parts: Vec<&str> = model_version.split('.').collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Error::model(format!(
                "hamdb.model_version {model_version:?} is not MAJOR.MINOR.PATCH"
            )));
        }
        let contract = Self {
            code_bits,
            class_names,
            channels,
            height,
            width,
            color_mode,
            mean,
            std,
            threshold,
            model_name,
            model_version,
        };
        contract.code_len()?;
        Ok(contract)
    }

    /// Check the graph signature against the contract: one float input `image [N, C, H, W]`,
    /// outputs `latent [N, K]` and `logits [N, classes]`. `-1` is a dynamic dimension.
    pub fn check_signature(&self, inputs: &[TensorSig], outputs: &[TensorSig]) -> Result<()> {
        if inputs.len() != 1 || inputs[0].name != INPUT_NAME {
            let names: Vec<&str> = inputs.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::model(format!(
                "the model must have exactly one input named `{INPUT_NAME}`; it has {names:?}"
            )));
        }
        let (c, h, w) = (self.channels as i64, self.height as i64, self.width as i64);
        inputs[0].expect(&[-1, c, h, w], "input")?;
        let find = |name: &str| {
            outputs.iter().find(|o| o.name == name).ok_or_else(|| {
                let names: Vec<&str> = outputs.iter().map(|s| s.name.as_str()).collect();
                Error::model(format!(
                    "the model has no output named `{name}` (outputs: {names:?})"
                ))
            })
        };
        find(LATENT_NAME)?.expect(&[-1, self.code_bits as i64], "output")?;
        find(LOGITS_NAME)?.expect(&[-1, self.num_classes() as i64], "output")?;
        Ok(())
    }
}

/// The declared name, element type and shape of one graph input or output.
#[derive(Debug, Clone)]
pub struct TensorSig {
    pub name: String,
    /// `None` when the value is not a float32 tensor.
    pub shape: Option<Vec<i64>>,
}

impl TensorSig {
    /// `want[0] == -1` means the batch axis, which must be dynamic (or 1 is refused too: a
    /// fixed batch size would make batching impossible).
    fn expect(&self, want: &[i64], what: &str) -> Result<()> {
        let shape = self.shape.as_ref().ok_or_else(|| {
            Error::model(format!("{what} `{}` is not a float32 tensor", self.name))
        })?;
        let ok = shape.len() == want.len()
            && shape[0] < 0
            && shape[1..].iter().zip(&want[1..]).all(|(a, b)| a == b);
        if !ok {
            return Err(Error::model(format!(
                "{what} `{}` has shape {shape:?}; the contract says [N, {}] with N dynamic",
                self.name,
                want[1..]
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> HashMap<String, String> {
        [
            ("hamdb.contract_version", "1"),
            ("hamdb.code_bits", "48"),
            ("hamdb.num_classes", "2"),
            ("hamdb.input_channels", "1"),
            ("hamdb.input_height", "28"),
            ("hamdb.input_width", "28"),
            ("hamdb.color_mode", "L"),
            ("hamdb.resize", "bilinear-aa"),
            ("hamdb.mean", "[0.286]"),
            ("hamdb.std", "[0.353]"),
            ("hamdb.threshold", "0.5"),
            ("hamdb.class_names", "[\"a\",\"b\"]"),
            ("hamdb.model_name", "m"),
            ("hamdb.model_version", "1.0.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn reference_metadata_parses() {
        let c = Contract::from_metadata(&reference()).unwrap();
        assert_eq!(c.code_bits, 48);
        assert_eq!(c.code_len().unwrap().bits(), 48);
        assert_eq!(c.color_mode, ColorMode::Luma);
        assert_eq!(c.class_names, ["a", "b"]);
        assert_eq!(c.input_len(), 784);
    }

    #[test]
    fn odd_code_bits_round_up_to_a_byte() {
        let mut m = reference();
        m.insert("hamdb.code_bits".into(), "12".into());
        assert_eq!(
            Contract::from_metadata(&m)
                .unwrap()
                .code_len()
                .unwrap()
                .bits(),
            16
        );
    }

    #[test]
    fn every_violation_is_named() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("hamdb.code_bits", None, "hamdb.code_bits` is missing"),
            ("hamdb.contract_version", Some("2"), "contract version"),
            ("hamdb.code_bits", Some("048"), "positive decimal"),
            ("hamdb.code_bits", Some("2048"), "8 to 1024"),
            ("hamdb.color_mode", Some("CMYK"), "color_mode"),
            (
                "hamdb.input_channels",
                Some("3"),
                "does not match color mode",
            ),
            ("hamdb.resize", Some("nearest"), "bilinear-aa"),
            ("hamdb.mean", Some("[0.1,0.2]"), "has 2 numbers"),
            ("hamdb.std", Some("[0]"), "positive"),
            ("hamdb.std", Some("oops"), "JSON"),
            ("hamdb.threshold", Some("1.5"), "threshold"),
            ("hamdb.class_names", Some("[\"a\"]"), "num_classes is 2"),
            ("hamdb.model_name", Some(""), "empty"),
            ("hamdb.model_version", Some("1.0"), "MAJOR.MINOR.PATCH"),
        ];
        for (key, value, needle) in cases {
            let mut m = reference();
            match value {
                Some(v) => m.insert(key.to_string(), v.to_string()),
                None => m.remove(*key),
            };
            let err = Contract::from_metadata(&m).unwrap_err().to_string();
            assert!(err.contains(needle), "{key}={value:?}: {err}");
        }
    }

    #[test]
    fn signature_checks_names_and_shapes() {
        let c = Contract::from_metadata(&reference()).unwrap();
        let sig = |name: &str, shape: &[i64]| TensorSig {
            name: name.into(),
            shape: Some(shape.to_vec()),
        };
        let input = [sig("image", &[-1, 1, 28, 28])];
        let outputs = [sig("latent", &[-1, 48]), sig("logits", &[-1, 2])];
        c.check_signature(&input, &outputs).unwrap();
        let bad_in = [sig("pixels", &[-1, 1, 28, 28])];
        assert!(c.check_signature(&bad_in, &outputs).is_err());
        let fixed_batch = [sig("image", &[1, 1, 28, 28])];
        assert!(c.check_signature(&fixed_batch, &outputs).is_err());
        let wrong_k = [sig("latent", &[-1, 32]), sig("logits", &[-1, 2])];
        let e = c.check_signature(&input, &wrong_k).unwrap_err().to_string();
        assert!(e.contains("latent"), "{e}");
        let missing = [sig("latent", &[-1, 48])];
        assert!(c
            .check_signature(&input, &missing)
            .unwrap_err()
            .to_string()
            .contains("logits"));
    }
}
