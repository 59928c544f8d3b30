"""The shipped sample set and its fixtures.

    python -m models.ssdh.samples             # images + labels.csv (needs the dataset) + fixtures
    python -m models.ssdh.samples --fixtures  # fixtures only, from the committed PNGs

Selection: the first 100 images of each class in Fashion-MNIST TEST order (t10k files), written in
ascending test index as images/00000.png ... 00999.png. Fixtures are made by the reference
preprocessing + onnxruntime from the PNG files themselves, so they test the whole path."""
from __future__ import annotations

import argparse
import csv
import glob
import os
import re

import numpy as np
from PIL import Image

from .contract import codes_from_latent, pack_hex

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join(ROOT, "samples", "fashion-mnist")
REFERENCE = os.path.join(ROOT, "models", "reference")
PER_CLASS = 100


def select_indices(labels: np.ndarray, per_class: int = PER_CLASS) -> np.ndarray:
    picked = [np.flatnonzero(labels == c)[:per_class] for c in range(int(labels.max()) + 1)]
    return np.sort(np.concatenate(picked))


def write_images(out: str = SAMPLES) -> None:
    from .data import FMNIST_CLASSES, load_fmnist_raw

    x, y = load_fmnist_raw("test")
    idx = select_indices(y)
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    with open(os.path.join(out, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "label", "class_name"])
        for n, i in enumerate(idx):
            name = f"images/{n:05d}.png"
            Image.fromarray(x[i], mode="L").save(os.path.join(out, name))
            w.writerow([name, int(y[i]), FMNIST_CLASSES[y[i]]])
    with open(os.path.join(out, "test_indices.txt"), "w") as f:
        f.write("".join(f"{i}\n" for i in idx))


def read_labels(out: str = SAMPLES):
    with open(os.path.join(out, "labels.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["file"] for r in rows], np.array([int(r["label"]) for r in rows]), [r["class_name"] for r in rows]


def shipped_models(ref: str = REFERENCE):
    """{K: path} of models/reference/ssdh-fmnist-K.onnx."""
    out = {}
    for p in glob.glob(os.path.join(ref, "ssdh-fmnist-*.onnx")):
        m = re.match(r"ssdh-fmnist-(\d+)\.onnx$", os.path.basename(p))
        if m:
            out[int(m.group(1))] = p
    return dict(sorted(out.items()))


def sample_inputs(out: str = SAMPLES, spec=None) -> np.ndarray:
    from .preprocess import PreprocessSpec, preprocess_batch

    files, _, _ = read_labels(out)
    return preprocess_batch([os.path.join(out, f) for f in files], spec or PreprocessSpec())


def write_fixtures(out: str = SAMPLES) -> None:
    import onnxruntime as ort

    from .evaluate import encode
    from .preprocess import PreprocessSpec

    files, labels, _ = read_labels(out)
    for k, path in shipped_models().items():
        meta = dict(ort.InferenceSession(path, providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map)
        x = sample_inputs(out, PreprocessSpec.from_metadata(meta))
        latent, logits, _ = encode(path, x)
        bits = codes_from_latent(latent, float(meta["hamdb.threshold"]))
        np.save(os.path.join(out, f"expected_latent_{k}.npy"), latent.astype(np.float32))
        with open(os.path.join(out, f"expected_codes_{k}.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["file", "code_hex", "predicted_label"])
            for name, h, p in zip(files, pack_hex(bits), logits.argmax(1)):
                w.writerow([name, h, int(p)])
        acc = float((logits.argmax(1) == labels).mean())
        print(f"K={k}: {path} sample accuracy {acc:.3f}, min |latent-0.5| {np.abs(latent - 0.5).min():.2e}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", action="store_true", help="only recompute the fixtures")
    args = ap.parse_args(argv)
    if not args.fixtures:
        write_images()
    write_fixtures()


if __name__ == "__main__":
    main()
