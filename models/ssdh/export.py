"""PyTorch SSDH -> one self-contained ONNX file carrying the hamdb contract in metadata_props."""
from __future__ import annotations

import os
from typing import Dict

import numpy as np
import onnx
import onnxruntime as ort
import torch

from .contract import INPUT_NAME, LATENT_NAME, LOGITS_NAME, check_model_file

OPSET = 17


def export_onnx(model: torch.nn.Module, path: str, meta: Dict[str, str], channels: int,
                height: int, width: int) -> None:
    model = model.cpu().eval()
    dummy = torch.zeros(2, channels, height, width)
    tmp = path + ".tmp"
    # The TorchScript exporter (dynamo=False) emits plain Conv/BatchNorm-folded graphs that every
    # onnxruntime version loads; the dynamo exporter needs onnxscript and buys nothing here.
    torch.onnx.export(
        model, (dummy,), tmp, input_names=[INPUT_NAME], output_names=[LATENT_NAME, LOGITS_NAME],
        dynamic_axes={INPUT_NAME: {0: "N"}, LATENT_NAME: {0: "N"}, LOGITS_NAME: {0: "N"}},
        opset_version=OPSET, do_constant_folding=True, dynamo=False)
    m = onnx.load(tmp)
    os.remove(tmp)
    del m.metadata_props[:]
    for k, v in sorted(meta.items()):
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.producer_name = "hamdb-ssdh"
    m.doc_string = "SSDH encoder for hamdb; contract in metadata_props (docs/ENCODER.md)"
    onnx.checker.check_model(m, full_check=True)
    # Far below protobuf's 2 GB limit, so onnx.save writes one file with weights inline.
    onnx.save(m, path)


def compare_with_torch(model: torch.nn.Module, path: str, x: np.ndarray) -> Dict[str, float]:
    """Max abs difference of both outputs between PyTorch and onnxruntime on the same inputs,
    and how many code bits differ."""
    model = model.cpu().eval()
    with torch.no_grad():
        t_lat, t_log = (o.numpy() for o in model(torch.from_numpy(x)))
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    o_lat, o_log = sess.run([LATENT_NAME, LOGITS_NAME], {INPUT_NAME: x})
    return {
        "images": int(len(x)),
        "latent_max_abs_diff": float(np.abs(t_lat - o_lat).max()),
        "logits_max_abs_diff": float(np.abs(t_log - o_log).max()),
        "code_bits_differing": int(((t_lat > 0.5) != (o_lat > 0.5)).sum()),
    }


def check(path: str):
    problems = check_model_file(path, opset_from_onnx=True)
    if problems:
        raise RuntimeError(f"{path} breaks the encoder contract: " + "; ".join(problems))
