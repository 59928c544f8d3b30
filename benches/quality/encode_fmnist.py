"""Fashion-MNIST through a shipped encoder (onnxruntime), as .npy files for the class-aware
ranking bench (benches/quality/classrank.rs):

    .venv/bin/python benches/quality/encode_fmnist.py --model models/reference/ssdh-fmnist-48.onnx \
        --out target/bench/quality

Writes db_codes.npy (uint8 [60000, B/8], np.packbits of latent > threshold), db_pred.npy and
db_true.npy (uint32 [60000]: predicted class, true class), and the same for the 10,000 test
images as q_*.npy. Database = training images, queries = test images (models/RESULTS.md)."""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from models.ssdh.contract import codes_from_latent  # noqa: E402
from models.ssdh.data import load_fmnist  # noqa: E402
from models.ssdh.evaluate import encode  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/reference/ssdh-fmnist-48.onnx")
    ap.add_argument("--out", default="target/bench/quality")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    ds = load_fmnist()
    for prefix, split in (("db", ds.train), ("q", ds.test)):
        lat, logits, meta = encode(args.model, split.x)
        bits = codes_from_latent(lat, float(meta["hamdb.threshold"]))
        np.save(os.path.join(args.out, f"{prefix}_codes.npy"), np.packbits(bits.astype(np.uint8), axis=1))
        np.save(os.path.join(args.out, f"{prefix}_pred.npy"), logits.argmax(1).astype(np.uint32))
        np.save(os.path.join(args.out, f"{prefix}_true.npy"), split.y.astype(np.uint32))
        print(prefix, bits.shape, file=sys.stderr)


if __name__ == "__main__":
    main()
