"""Evaluate an exported encoder with onnxruntime: the numbers describe the shipped file.

    python -m models.ssdh.evaluate --model models/reference/ssdh-fmnist-48.onnx
database = the 60,000 training images, queries = the 10,000 test images."""
from __future__ import annotations

import argparse
import json
import time
from typing import Dict

import numpy as np

from .contract import INPUT_NAME, LATENT_NAME, LOGITS_NAME, codes_from_latent
from .metrics import bit_stats, class_aware_map, retrieval_metrics


def encode(path: str, x: np.ndarray, batch: int = 1000, threads: int = 2):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    lat, log = [], []
    for s in range(0, len(x), batch):
        a, b = sess.run([LATENT_NAME, LOGITS_NAME], {INPUT_NAME: x[s:s + batch]})
        lat.append(a)
        log.append(b)
    return np.concatenate(lat), np.concatenate(log), dict(sess.get_modelmeta().custom_metadata_map)


def evaluate_model(path: str, dataset) -> Dict:
    t0 = time.time()
    db_lat, db_log, meta = encode(path, dataset.train.x)
    q_lat, q_log, _ = encode(path, dataset.test.x)
    thr = float(meta["hamdb.threshold"])
    db_bits, q_bits = codes_from_latent(db_lat, thr), codes_from_latent(q_lat, thr)
    res = {
        "model": path,
        "dataset": dataset.name,
        "code_bits": int(meta["hamdb.code_bits"]),
        "test_accuracy": float((q_log.argmax(1) == dataset.test.y).mean()),
        "train_accuracy": float((db_log.argmax(1) == dataset.train.y).mean()),
        # How close to binary the activations are: share within 0.1 of 0 or 1.
        "latent_saturated_fraction": float(((q_lat < 0.1) | (q_lat > 0.9)).mean()),
        "retrieval": retrieval_metrics(q_bits, dataset.test.y, db_bits, dataset.train.y),
        "bits_database": bit_stats(db_bits),
    }
    # hamdb's class-aware ranking (search_class_first), as an image insert stores it: each
    # database item's label is its predicted class, and the query's predicted class goes first.
    # With the true labels stored instead (a labelled import) for comparison.
    q_pred, db_pred = q_log.argmax(1), db_log.argmax(1)
    res["retrieval"]["map_full_class_aware_predicted"] = class_aware_map(
        q_bits, dataset.test.y, q_pred, db_bits, dataset.train.y, db_pred)
    res["retrieval"]["map_full_class_aware_true"] = class_aware_map(
        q_bits, dataset.test.y, q_pred, db_bits, dataset.train.y, dataset.train.y)
    res["eval_seconds"] = round(time.time() - t0, 1)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="fmnist", help="'fmnist' or a folder of class sub-folders")
    ap.add_argument("--split", default="test", choices=["test", "val"],
                    help="test: 10k test queries vs the 60k training images (once per shipped model); "
                         "val: the validation split's queries vs the other training images (selection)")
    ap.add_argument("--val-size", type=int, default=5000)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--out", help="JSON file (default: <model without .onnx>.eval.json, or .val.json)")
    args = ap.parse_args(argv)
    from .data import load_fmnist, load_folder
    from .preprocess import PreprocessSpec
    if args.data == "fmnist":
        ds = load_fmnist()
    else:
        import onnxruntime as ort
        meta = dict(ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
                    .get_modelmeta().custom_metadata_map)
        ds = load_folder(args.data, PreprocessSpec.from_metadata(meta))
    if args.split == "val":
        from .data import validation_dataset
        ds = validation_dataset(ds, args.val_size, args.split_seed)
    res = evaluate_model(args.model, ds)
    res["split"] = "validation" if args.split == "val" else "test"
    out = args.out or args.model[:-5] + (".val.json" if args.split == "val" else ".eval.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(summary(res), indent=1))


def summary(res: Dict) -> Dict:
    r = res["retrieval"]
    return {"code_bits": res["code_bits"], "test_accuracy": res["test_accuracy"],
            "map_full": r["map_full"], "map_at_1000": r["map_at_1000"],
            "map_full_class_aware_predicted": r.get("map_full_class_aware_predicted"),
            "map_11pt_interpolated": r["map_11pt_interpolated"],
            "precision_hamming_r2": r["precision_hamming_r2"], "precision_at_k": r.get("precision_at_k"),
            "mean_abs_correlation": res["bits_database"]["mean_abs_correlation"]}


if __name__ == "__main__":
    main()
