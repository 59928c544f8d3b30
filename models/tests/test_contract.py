import json
import os

import numpy as np
import onnxruntime as ort
import pytest

from models.ssdh.contract import KEYS, build_metadata, check_metadata, check_session, pack_hex
from models.ssdh.samples import REFERENCE, shipped_models

MODELS = shipped_models()
EXPECTED_K = {16, 32, 48, 64}


def session(path):
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def test_all_reference_models_shipped():
    assert set(MODELS) == EXPECTED_K


@pytest.mark.parametrize("k", sorted(MODELS))
def test_model_meets_contract(k):
    path = MODELS[k]
    assert os.path.getsize(path) < 5 * 1024 * 1024
    sess = session(path)
    assert check_session(sess) == []
    meta = sess.get_modelmeta().custom_metadata_map
    assert set(KEYS) <= set(meta)
    assert meta["hamdb.code_bits"] == str(k)
    assert meta["hamdb.model_name"] == f"ssdh-fmnist-{k}"
    assert meta["hamdb.color_mode"] == "L" and meta["hamdb.input_channels"] == "1"
    assert (meta["hamdb.input_height"], meta["hamdb.input_width"]) == ("28", "28")
    names = json.loads(meta["hamdb.class_names"])
    assert len(names) == int(meta["hamdb.num_classes"]) == 10


@pytest.mark.parametrize("k", sorted(MODELS))
@pytest.mark.parametrize("n", [1, 7])
def test_dynamic_batch_and_output_shapes(k, n):
    sess = session(MODELS[k])
    x = np.random.default_rng(n).standard_normal((n, 1, 28, 28)).astype(np.float32)
    latent, logits = sess.run(["latent", "logits"], {"image": x})
    assert latent.shape == (n, k) and latent.dtype == np.float32
    assert logits.shape == (n, 10)
    assert ((latent >= 0) & (latent <= 1)).all()
    # A batch must encode each row as it would alone (no cross-row effects, BatchNorm is folded).
    one, _ = sess.run(["latent", "logits"], {"image": x[:1]})
    np.testing.assert_allclose(one[0], latent[0], atol=1e-6)


def test_models_are_self_contained():
    # External-data models come with sibling files; the reference folder holds none.
    extra = [f for f in os.listdir(REFERENCE) if f.endswith((".data", ".bin", ".onnx_data"))]
    assert extra == []


def good_meta(**over):
    m = build_metadata(code_bits=48, class_names=["a", "b"], height=28, width=28, color_mode="L",
                       mean=[0.286], std=[0.353], model_name="x", model_version="1.0.0")
    m.update(over)
    return m


def test_metadata_values_are_exact_strings():
    m = good_meta()
    assert m["hamdb.mean"] == "[0.286]" and m["hamdb.std"] == "[0.353]"
    assert m["hamdb.class_names"] == '["a","b"]'
    assert m["hamdb.threshold"] == "0.5"
    assert check_metadata(m) == []


@pytest.mark.parametrize("key,value", [
    ("hamdb.contract_version", "2"),
    ("hamdb.code_bits", "048"),
    ("hamdb.code_bits", "0"),
    ("hamdb.color_mode", "RGBA"),
    ("hamdb.input_channels", "3"),
    ("hamdb.mean", "[0.2, 0.3]"),
    ("hamdb.std", "[0]"),
    ("hamdb.mean", "0.286"),
    ("hamdb.class_names", '["a"]'),
    ("hamdb.class_names", "not json"),
    ("hamdb.resize", "nearest"),
    ("hamdb.threshold", "1.5"),
    ("hamdb.model_version", "1"),
])
def test_metadata_violations_are_reported(key, value):
    assert check_metadata(good_meta(**{key: value})) != []


def test_missing_key_is_reported():
    m = good_meta()
    del m["hamdb.std"]
    assert check_metadata(m) == ["missing key hamdb.std"]


def test_pack_hex_bit_order():
    bits = np.zeros((1, 16), np.uint8)
    bits[0, 0] = 1      # bit 0 -> byte 0, most significant position
    bits[0, 15] = 1     # bit 15 -> byte 1, least significant position
    assert pack_hex(bits) == ["8001"]
