"""mAP when the database holds images the network never trained on.

    python -m models.ssdh.unseen_database [MODEL.onnx ...]   # default: the four shipped models
    python -m models.ssdh.unseen_database --split val models/runs/val-<run>.onnx ... [--out F.json]

The standard protocol (`evaluate`) searches the 60k *training* images, so a model that fits its
training images more closely (put each in its own class's code cluster) scores higher there even
when it classifies unseen images no better. This measure takes that part out: queries are the
even-indexed test images, the database the odd-indexed ones (5,000 each, disjoint, none seen in
training); the same Hamming ranking, ties by index, relevant = same class. Also printed: the
classifier's test accuracy and the full-ranking mAP of the standard protocol, from the same
encodings, so that one run compares models on both.

`--split val` measures the same on the validation split alone (no test image is read): queries
the even-indexed of the 5,000 held-out training images, database the odd-indexed ones; the
standard column is then the validation protocol's (held-out queries vs the 55,000 training
images), for comparing validation runs, which never trained on those 5,000."""
from __future__ import annotations

import argparse
import glob
import json
import os

from .contract import codes_from_latent
from .data import load_fmnist, validation_dataset
from .evaluate import encode
from .metrics import retrieval_metrics
from .samples import ROOT


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*")
    ap.add_argument("--split", choices=("test", "val"), default="test")
    ap.add_argument("--out", help="also write the rows as JSON here (the stored record of a comparison)")
    args = ap.parse_args(argv)
    paths = args.models or sorted(glob.glob(os.path.join(ROOT, "models", "reference", "ssdh-fmnist-*.onnx")),
                                  key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0]))
    ds = load_fmnist()
    if args.split == "val":
        ds = validation_dataset(ds)
    q_name = args.split
    print(f"| model | bits | mAP, {q_name} vs train (standard) | mAP, {q_name} vs {q_name} (unseen database) | "
          f"{q_name} accuracy |")
    print("|---|---|---|---|---|")
    rows = []
    for path in paths:
        q_lat, q_log, meta = encode(path, ds.test.x)
        db_lat, _, _ = encode(path, ds.train.x)
        thr = float(meta["hamdb.threshold"])
        q = codes_from_latent(q_lat, thr)
        standard = retrieval_metrics(q, ds.test.y, codes_from_latent(db_lat, thr), ds.train.y)["map_full"]
        unseen = retrieval_metrics(q[0::2], ds.test.y[0::2], q[1::2], ds.test.y[1::2])["map_full"]
        acc = float((q_log.argmax(1) == ds.test.y).mean())
        name = f"{meta.get('hamdb.model_name', os.path.basename(path))} {meta.get('hamdb.model_version', '')}"
        if args.split == "val":
            name = os.path.basename(path)
        print(f"| {name.strip()} | {meta['hamdb.code_bits']} | {standard:.4f} | {unseen:.4f} | {acc:.4f} |",
              flush=True)
        rows.append({"model": os.path.relpath(path, ROOT), "name": name.strip(),
                     "code_bits": int(meta["hamdb.code_bits"]), "split": args.split,
                     "map_full_standard": standard, "map_full_unseen_database": unseen, "accuracy": acc})
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"command": "python -m models.ssdh.unseen_database --split " + args.split, "rows": rows},
                      f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
