"""Shared helpers: random codes and a numpy brute-force Hamming reference."""

import numpy as np
import pytest


def hamming(q, codes):
    """Distances from one packed code (1-D uint8) to each row of codes (2-D uint8)."""
    return np.unpackbits(np.bitwise_xor(codes, q[None, :]), axis=1).sum(axis=1).astype(np.int64)


def brute_knn(q, codes, ids, k):
    """[(id, distance)] of the k nearest, ascending by (distance, id)."""
    d = hamming(q, codes)
    order = np.lexsort((ids, d))[:k]
    return [(int(ids[i]), int(d[i])) for i in order]


def brute_radius(q, codes, ids, r):
    d = hamming(q, codes)
    sel = np.nonzero(d <= r)[0]
    order = sel[np.lexsort((ids[sel], d[sel]))]
    return [(int(ids[i]), int(d[i])) for i in order]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "t.hamdb")


# The shipped reference models and sample images (the README's main job uses them too).
ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "samples" / "fashion-mnist"


def model_path(bits):
    return str(ROOT / "models" / "reference" / f"ssdh-fmnist-{bits}.onnx")


def sample_files(n=None):
    files = sorted(str(p) for p in (SAMPLES / "images").glob("*.png"))
    assert len(files) >= 1000, "samples/fashion-mnist/images is missing"
    return files[:n] if n else files


@pytest.fixture(scope="session")
def enc48():
    import hamdb

    return hamdb.Encoder.load(model_path(48))


# tests/ray needs Ray (.venv-ray, `make test-ray`); `make test-python` runs in .venv, without it.
# (origin None: only tests/ray itself, found as a namespace package on pytest's sys.path.)
_ray_spec = __import__("importlib.util").util.find_spec("ray")
if _ray_spec is None or _ray_spec.origin is None:
    collect_ignore = ["ray"]
