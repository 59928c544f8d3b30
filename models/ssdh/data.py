"""Datasets as in-memory arrays: Fashion-MNIST from Debian's IDX files, or a folder of class
sub-folders. Torch-free; everything comes out already run through the reference preprocessing,
so training sees exactly the inputs the contract defines."""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import numpy as np

from .preprocess import PreprocessSpec, normalize_uint8, preprocess

FMNIST_DIR = os.environ.get("HAMDB_FMNIST_DIR", "/usr/share/datasets/fashion-mnist")
FMNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Fashion-MNIST training-set statistics, rounded; the rounded values are the contract's.
FMNIST_SPEC = PreprocessSpec(height=28, width=28, color_mode="L", mean=(0.286,), std=(0.353,))
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class Split:
    x: np.ndarray       # float32 [N, C, H, W], preprocessed
    y: np.ndarray       # int64 [N]


@dataclass
class Dataset:
    name: str
    train: Split
    test: Split
    classes: List[str]
    spec: PreprocessSpec


def read_idx(path: str) -> np.ndarray:
    """IDX (the MNIST format): 0x00 0x00 type ndim, big-endian dims, raw data. Type 0x08 = uint8."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _idx_path(split: str, kind: str, root: str) -> str:
    stem = {"train": "train", "test": "t10k"}[split] + f"-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
    for name in (stem + ".gz", stem):
        p = os.path.join(root, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(
        f"{stem}(.gz) not found in {root}: install Debian's dataset-fashion-mnist "
        "(apt-get install dataset-fashion-mnist) or set HAMDB_FMNIST_DIR")


def load_fmnist_raw(split: str, root: str = FMNIST_DIR) -> Tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, 28, 28] and int64 labels [N] of 'train' (60k) or 'test' (10k)."""
    x = read_idx(_idx_path(split, "images", root))
    y = read_idx(_idx_path(split, "labels", root)).astype(np.int64)
    assert len(x) == len(y)
    return x, y


def load_fmnist(root: str = FMNIST_DIR) -> Dataset:
    splits = {}
    for s in ("train", "test"):
        x, y = load_fmnist_raw(s, root)
        splits[s] = Split(normalize_uint8(x, FMNIST_SPEC), y)
    return Dataset("fmnist", splits["train"], splits["test"], list(FMNIST_CLASSES), FMNIST_SPEC)


# The validation split: held out of training, stratified by class, seeded. Model selection
# (epochs, learning rates, clean stage, balance weight, backbone) reads only numbers measured
# on it; the test split is evaluated once per shipped model (models/RESULTS.md, "Protocol").
VAL_SIZE = 5000
SPLIT_SEED = 0


def stratified_split(y: np.ndarray, n_val: int, seed: int = SPLIT_SEED) -> Tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices), both ascending: `n_val` images held out, each class
    in proportion to its share of `y` (largest remainders get the leftover), chosen by a
    permutation from `seed`. Deterministic across numpy versions (PCG64 with a fixed seed)."""
    if n_val <= 0:
        return np.arange(len(y)), np.arange(0)
    if n_val >= len(y):
        raise ValueError(f"validation size {n_val} leaves no training images of {len(y)}")
    rng = np.random.Generator(np.random.PCG64(seed))
    classes, counts = np.unique(y, return_counts=True)
    exact = counts * n_val / len(y)
    take = np.floor(exact).astype(np.int64)
    for c in np.argsort(-(exact - take), kind="stable")[: n_val - int(take.sum())]:
        take[c] += 1
    val = []
    for c, t in zip(classes, take):
        idx = np.flatnonzero(y == c)
        val.append(idx[rng.permutation(len(idx))[:t]])
    val = np.sort(np.concatenate(val))
    mask = np.ones(len(y), dtype=bool)
    mask[val] = False
    return np.flatnonzero(mask), val


def validation_dataset(ds: Dataset, n_val: int = VAL_SIZE, seed: int = SPLIT_SEED) -> Dataset:
    """The training images split in two, as a Dataset whose `train` is the images the model
    trains on (the validation database) and whose `test` is the held-out validation queries."""
    tr, va = stratified_split(ds.train.y, n_val, seed)
    return Dataset(f"{ds.name}:val{n_val}/seed{seed}", Split(ds.train.x[tr], ds.train.y[tr]),
                   Split(ds.train.x[va], ds.train.y[va]), ds.classes, ds.spec)


def _list_folder(root: Path) -> Tuple[List[Path], np.ndarray, List[str]]:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files, labels = [], []
    for i, c in enumerate(classes):
        for f in sorted((root / c).rglob("*")):
            if f.suffix.lower() in IMAGE_EXTS and f.is_file():
                files.append(f)
                labels.append(i)
    return files, np.array(labels, dtype=np.int64), classes


def load_folder(root: str, spec: PreprocessSpec, test_every: int = 5) -> Dataset:
    """root/<class>/**/image files. If root/train and root/test both exist they are the splits
    (class lists must match); otherwise every `test_every`-th image of each class (sorted by path)
    is held out as test, so the split is deterministic and stratified."""
    r = Path(root)
    if (r / "train").is_dir() and (r / "test").is_dir():
        ftr, ytr, ctr = _list_folder(r / "train")
        fte, yte, cte = _list_folder(r / "test")
        if ctr != cte:
            raise ValueError(f"train classes {ctr} != test classes {cte}")
        classes = ctr
    else:
        files, labels, classes = _list_folder(r)
        rank = np.zeros(len(files), dtype=np.int64)
        for c in range(len(classes)):
            idx = np.flatnonzero(labels == c)
            rank[idx] = np.arange(len(idx))
        test = rank % test_every == 0
        ftr = [f for f, t in zip(files, test) if not t]
        fte = [f for f, t in zip(files, test) if t]
        ytr, yte = labels[~test], labels[test]
    if not ftr or not fte or len(classes) < 2:
        raise ValueError(f"{root}: need at least two classes and images in both splits")

    def load(fs):
        return np.stack([preprocess(f, spec) for f in fs])

    return Dataset(f"folder:{r.name}", Split(load(ftr), ytr), Split(load(fte), yte), classes, spec)
