"""The trainer's command line, kept free of torch so that report.py (which CI-side tools may
import) reads the defaults from here instead of keeping a copy."""
from __future__ import annotations

import argparse

from . import MODEL_VERSION

# Backbones by name. "cnn4" is the shipped backbone (four 3x3 convolutions, 0.44M parameters,
# about 15M multiply-adds per 28x28 image). "cnn5" adds a second 128-channel convolution at 1/4
# resolution and a 512-unit hidden layer: 1.5x the multiply-adds of cnn4, capacity where it is
# cheapest (a 7x7 map). Inference cost is what ingestion pays per image (it is inference-bound),
# so a wider backbone has to earn its cost; see models/RESULTS.md for what cnn5 measured.
BACKBONES = {"cnn4": {"deep_conv": False, "hidden": 256}, "cnn5": {"deep_conv": True, "hidden": 512}}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="Train SSDH, export it to ONNX with the hamdb contract, check it, and evaluate it "
                    "(python -m models.ssdh.train).")
    ap.add_argument("--bits", type=int, default=48, help="K, the code length")
    ap.add_argument("--alpha", type=float, default=1.0, help="weight of the binarization term")
    ap.add_argument("--beta", type=float, default=1.0, help="weight of the bit-balance term")
    ap.add_argument("--backbone", default="cnn4", choices=sorted(BACKBONES),
                    help="cnn4 (the shipped models' backbone) or cnn5 (1.5x the inference cost; see net.py)")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (OneCycle, AdamW)")
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default="fmnist", help="'fmnist' (Debian's IDX files) or a folder of class sub-folders")
    ap.add_argument("--size", type=int, default=48, help="input height=width for folder data (28, or a multiple of 24)")
    ap.add_argument("--color-mode", default="RGB", choices=["L", "RGB"], help="for folder data")
    ap.add_argument("--pad", type=int, default=2, help="max random translation in training")
    ap.add_argument("--no-hflip", action="store_true")
    ap.add_argument("--clean-epochs", type=int, default=2,
                    help="train the last N epochs on un-augmented images (the database is the training set, "
                         "so fitting its un-augmented images is what retrieval measures; see RESULTS.md)")
    ap.add_argument("--val-size", type=int, default=5000,
                    help="training images held out as the validation split (stratified, --split-seed); "
                         "0 trains on all of them (the runs made before the protocol)")
    ap.add_argument("--split-seed", type=int, default=0, help="seed of the validation split")
    ap.add_argument("--eval", default="val", choices=["val", "test", "both", "none"],
                    help="what to evaluate after export: the validation split (model selection; "
                         "<stem>.val.json), the test split (once per shipped model; <stem>.eval.json)")
    ap.add_argument("--init", help="start from this torch state_dict (same backbone and K) instead of random weights")
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only (smoke tests)")
    ap.add_argument("--eval-limit", type=int, default=0, help="evaluate on the first N of each split")
    ap.add_argument("--out", default="models/reference/ssdh-fmnist-48.onnx")
    ap.add_argument("--name", help="hamdb.model_name (default: file stem)")
    ap.add_argument("--model-version", default=MODEL_VERSION, help="hamdb.model_version")
    ap.add_argument("--checkpoint", help="torch state_dict (default: models/runs/<stem>.pt)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-eval", action="store_true", help="same as --eval none")
    return ap.parse_args(argv)
