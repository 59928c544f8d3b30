"""Split each shipped model's test mAP by whether the query was classified correctly.

    python -m models.ssdh.ap_by_correctness [--bits 16 32 48 64]

mAP = accuracy * AP(correct queries) + (1 - accuracy) * AP(misclassified queries), exactly, so
this says whether a difference between two models comes from classification (how many queries
land in the wrong class's code cluster) or from ranking inside the right cluster (how many
other-class database images sit among the query's class). Same protocol as `evaluate`
(10k test queries against the 60k training images, Hamming distance, ties by index)."""
from __future__ import annotations

import argparse
import os

import numpy as np

from .contract import codes_from_latent
from .data import load_fmnist
from .evaluate import encode
from .metrics import retrieval_metrics
from .samples import ROOT


def per_query_ap(q_bits, q_labels, db_bits, db_labels, chunk: int = 250) -> np.ndarray:
    """Average precision over the full ranking, one value per query (map_full is their mean)."""
    return retrieval_metrics(q_bits, q_labels, db_bits, db_labels, chunk=chunk, per_query=True)["ap_full_per_query"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bits", type=int, nargs="+", default=[16, 32, 48, 64])
    args = ap.parse_args(argv)
    ds = load_fmnist()
    print("| bits | test mAP | test accuracy | AP, correctly classified queries | AP, misclassified queries |")
    print("|---|---|---|---|---|")
    for k in args.bits:
        path = os.path.join(ROOT, "models", "reference", f"ssdh-fmnist-{k}.onnx")
        db_lat, _, meta = encode(path, ds.train.x)
        q_lat, q_log, _ = encode(path, ds.test.x)
        thr = float(meta["hamdb.threshold"])
        aps = per_query_ap(codes_from_latent(q_lat, thr), ds.test.y, codes_from_latent(db_lat, thr), ds.train.y)
        ok = q_log.argmax(1) == ds.test.y
        print(f"| {k} | {aps.mean():.4f} | {ok.mean():.4f} | {aps[ok].mean():.4f} ({ok.sum()} queries) | "
              f"{aps[~ok].mean():.4f} ({(~ok).sum()} queries) |", flush=True)


if __name__ == "__main__":
    main()
