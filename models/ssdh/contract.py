"""The hamdb encoder contract: metadata keys, their formats, and a checker.

Torch-free and onnx-free on purpose: the checker reads the model through onnxruntime only, which
is all CI (and a hamdb user validating their own model) has. docs/ENCODER.md is the prose version.
"""
from __future__ import annotations

import json
import re
from typing import Dict, List, Sequence

import numpy as np

CONTRACT_VERSION = "1"
INPUT_NAME = "image"
LATENT_NAME = "latent"
LOGITS_NAME = "logits"
MIN_OPSET = 17

# Every key is required; every value is a string (ONNX metadata_props are string -> string).
KEYS = (
    "hamdb.contract_version",  # "1"
    "hamdb.code_bits",         # decimal K, 1..4096
    "hamdb.num_classes",       # decimal, >= 1 (length of logits)
    "hamdb.input_channels",    # "1" for color_mode L, "3" for RGB
    "hamdb.input_height",      # decimal H
    "hamdb.input_width",       # decimal W
    "hamdb.color_mode",        # "L" or "RGB"
    "hamdb.resize",            # "bilinear-aa"
    "hamdb.mean",              # JSON list of input_channels numbers
    "hamdb.std",               # JSON list of input_channels positive numbers
    "hamdb.threshold",         # "0.5": bit i is 1 iff latent[i] > threshold
    "hamdb.class_names",       # JSON list of num_classes strings
    "hamdb.model_name",        # free text, e.g. "ssdh-fmnist-48"
    "hamdb.model_version",     # semver, e.g. "1.0.0"
)

_DECIMAL = re.compile(r"^[1-9][0-9]*$")


def build_metadata(*, code_bits: int, class_names: Sequence[str], height: int, width: int,
                   color_mode: str, mean: Sequence[float], std: Sequence[float],
                   model_name: str, model_version: str, resize: str = "bilinear-aa",
                   threshold: float = 0.5) -> Dict[str, str]:
    channels = 1 if color_mode == "L" else 3
    meta = {
        "hamdb.contract_version": CONTRACT_VERSION,
        "hamdb.code_bits": str(int(code_bits)),
        "hamdb.num_classes": str(len(class_names)),
        "hamdb.input_channels": str(channels),
        "hamdb.input_height": str(int(height)),
        "hamdb.input_width": str(int(width)),
        "hamdb.color_mode": color_mode,
        "hamdb.resize": resize,
        # Compact JSON, numbers as Python repr (shortest round-trip form) so they parse back
        # to exactly the same float64 everywhere.
        "hamdb.mean": json.dumps([float(m) for m in mean], separators=(",", ":")),
        "hamdb.std": json.dumps([float(s) for s in std], separators=(",", ":")),
        "hamdb.threshold": repr(float(threshold)),
        "hamdb.class_names": json.dumps(list(class_names), ensure_ascii=False, separators=(",", ":")),
        "hamdb.model_name": model_name,
        "hamdb.model_version": model_version,
    }
    problems = check_metadata(meta)
    if problems:
        raise ValueError("; ".join(problems))
    return meta


def _is_number_list(v, n, positive=False) -> bool:
    return (isinstance(v, list) and len(v) == n
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x)
                    and (x > 0 if positive else True) for x in v))


def check_metadata(meta: Dict[str, str]) -> List[str]:
    """Every way `meta` breaks the contract, as messages; empty when it conforms."""
    problems = [f"missing key {k}" for k in KEYS if k not in meta]
    if problems:
        return problems
    if meta["hamdb.contract_version"] != CONTRACT_VERSION:
        problems.append(f"contract_version {meta['hamdb.contract_version']!r} != {CONTRACT_VERSION!r}")
    for k in ("hamdb.code_bits", "hamdb.num_classes", "hamdb.input_channels",
              "hamdb.input_height", "hamdb.input_width"):
        if not _DECIMAL.match(meta[k]):
            problems.append(f"{k}={meta[k]!r} is not a positive decimal integer")
    if problems:
        return problems
    if not 1 <= int(meta["hamdb.code_bits"]) <= 4096:
        problems.append("code_bits out of 1..4096")
    mode = meta["hamdb.color_mode"]
    if mode not in ("L", "RGB"):
        problems.append(f"color_mode {mode!r} not in L, RGB")
    channels = int(meta["hamdb.input_channels"])
    if mode in ("L", "RGB") and channels != (1 if mode == "L" else 3):
        problems.append(f"input_channels {channels} does not match color_mode {mode}")
    if meta["hamdb.resize"] != "bilinear-aa":
        problems.append(f"resize {meta['hamdb.resize']!r} is not 'bilinear-aa'")
    try:
        if not _is_number_list(json.loads(meta["hamdb.mean"]), channels):
            problems.append("mean is not a JSON list of input_channels numbers")
        if not _is_number_list(json.loads(meta["hamdb.std"]), channels, positive=True):
            problems.append("std is not a JSON list of input_channels positive numbers")
        names = json.loads(meta["hamdb.class_names"])
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)
                and len(names) == int(meta["hamdb.num_classes"])):
            problems.append("class_names is not a JSON list of num_classes strings")
    except json.JSONDecodeError as e:
        problems.append(f"invalid JSON: {e}")
    try:
        if not 0.0 < float(meta["hamdb.threshold"]) < 1.0:
            problems.append("threshold not in (0, 1)")
    except ValueError:
        problems.append("threshold is not a number")
    if not meta["hamdb.model_name"]:
        problems.append("empty model_name")
    if not re.match(r"^\d+\.\d+\.\d+$", meta["hamdb.model_version"]):
        problems.append("model_version is not MAJOR.MINOR.PATCH")
    return problems


def check_session(sess) -> List[str]:
    """Check an onnxruntime.InferenceSession: metadata, input/output names, shapes, and a run."""
    meta = dict(sess.get_modelmeta().custom_metadata_map)
    problems = check_metadata(meta)
    if problems:
        return problems
    k, n_cls = int(meta["hamdb.code_bits"]), int(meta["hamdb.num_classes"])
    c, h, w = (int(meta[f"hamdb.input_{x}"]) for x in ("channels", "height", "width"))
    ins, outs = sess.get_inputs(), sess.get_outputs()
    if [i.name for i in ins] != [INPUT_NAME]:
        return [f"inputs {[i.name for i in ins]} != ['image']"]
    if ins[0].type != "tensor(float)":
        problems.append(f"input type {ins[0].type} is not float32")
    shape = ins[0].shape
    if len(shape) != 4 or list(shape[1:]) != [c, h, w] or isinstance(shape[0], int):
        problems.append(f"input shape {shape} is not [N(dynamic), {c}, {h}, {w}]")
    names = [o.name for o in outs]
    if set(names) != {LATENT_NAME, LOGITS_NAME}:
        return problems + [f"outputs {names} are not latent and logits"]
    x = np.random.default_rng(0).standard_normal((3, c, h, w)).astype(np.float32)
    latent, logits = sess.run([LATENT_NAME, LOGITS_NAME], {INPUT_NAME: x})
    if latent.shape != (3, k) or latent.dtype != np.float32:
        problems.append(f"latent {latent.shape} {latent.dtype} is not float32 [N, {k}]")
    elif not ((latent >= 0) & (latent <= 1)).all():
        problems.append("latent values outside [0, 1] (not sigmoid activations)")
    if logits.shape != (3, n_cls):
        problems.append(f"logits {logits.shape} is not [N, {n_cls}]")
    return problems


def check_model_file(path: str, opset_from_onnx: bool = True) -> List[str]:
    """Full check of an .onnx file; the opset check needs the onnx package (trainer side)."""
    import onnxruntime as ort

    problems = []
    if opset_from_onnx:
        try:
            import onnx
        except ImportError:
            onnx = None
        if onnx is not None:
            m = onnx.load(path, load_external_data=False)
            ops = {o.domain: o.version for o in m.opset_import}
            if ops.get("", ops.get("ai.onnx", 0)) < MIN_OPSET:
                problems.append(f"opset {ops} < {MIN_OPSET}")
            if any(t.data_location == onnx.TensorProto.EXTERNAL for t in m.graph.initializer):
                problems.append("model uses external data")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return problems + check_session(sess)


def codes_from_latent(latent: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Bits (uint8 0/1) from sigmoid activations: strictly greater than the threshold is 1."""
    return (latent > np.float32(threshold)).astype(np.uint8)


def pack_hex(bits: np.ndarray) -> List[str]:
    """hamdb's packed form: np.packbits big-endian (bit i -> byte i//8, position 7 - i%8), hex."""
    return [row.tobytes().hex() for row in np.packbits(bits.astype(np.uint8), axis=-1)]
