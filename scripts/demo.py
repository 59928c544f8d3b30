"""The main job (README): encode the shipped sample images with the shipped reference SSDH
model, index the codes with hamdb's MIH index, and answer image queries.

Until the Rust encoder lands (issue 5), images are encoded here by the Python reference
pipeline (models/ssdh/preprocess.py + ONNX Runtime); indexing and search are hamdb's, through
its command-line tool and database file (create, import-codes with the predicted classes as
labels, search-codes). Prints each query's predicted class and its nearest neighbours, then the
mean precision@10 of all 1,000 sample images used as queries (leave-one-out).
"""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from models.ssdh.preprocess import PreprocessSpec, preprocess_batch  # noqa: E402

MODEL = os.path.join(ROOT, "models", "reference", "ssdh-fmnist-48.onnx")
SAMPLES = os.path.join(ROOT, "samples", "fashion-mnist")
OUT = os.path.join(ROOT, "target", "demo")
HAMDB = os.path.join(ROOT, "target", "release", "hamdb")


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr))


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(SAMPLES, "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    files = [os.path.join(SAMPLES, r["file"]) for r in rows]
    labels = np.array([int(r["label"]) for r in rows])

    sess = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    spec = PreprocessSpec.from_metadata(meta)
    class_names = json.loads(meta["hamdb.class_names"])
    bits = int(meta["hamdb.code_bits"])
    latents, logits = [], []
    for i in range(0, len(files), 128):
        x = preprocess_batch(files[i : i + 128], spec)
        lat, log = sess.run(["latent", "logits"], {"image": x})
        latents.append(lat)
        logits.append(log)
    latent = np.concatenate(latents)
    logit = np.concatenate(logits)
    prob = np.exp(logit - logit.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    pred = prob.argmax(1)
    codes = np.packbits(latent > 0.5, axis=1)  # hamdb's bit order is np.packbits'
    save_npy(os.path.join(OUT, "codes.npy"), codes)
    print(f"encoded {len(files)} images with {os.path.basename(MODEL)} ({bits}-bit codes); "
          f"classification accuracy {100 * (pred == labels).mean():.1f}%")

    db = os.path.join(OUT, "samples.hamdb")
    if os.path.exists(db):
        os.remove(db)
    save_npy(os.path.join(OUT, "ids.npy"), np.arange(len(files), dtype=np.uint64))
    save_npy(os.path.join(OUT, "labels.npy"), pred.astype(np.uint32))
    run = lambda *args: subprocess.run([HAMDB, *args], check=True, stdout=subprocess.PIPE, text=True).stdout
    run("create", db, "--bits", str(bits), "--fingerprint", os.path.basename(MODEL))
    print(run("import-codes", db, os.path.join(OUT, "codes.npy"), "--ids", os.path.join(OUT, "ids.npy"),
              "--labels", os.path.join(OUT, "labels.npy")).strip())

    # All 1,000 images as queries; k = 11 so the image itself (distance 0) can be dropped.
    out = run("search-codes", db, "--queries", os.path.join(OUT, "codes.npy"), "-k", "11", "--json")
    results = []
    for line in out.splitlines():
        r = json.loads(line)
        results.append({"ids": [h["id"] for h in r["hits"]], "distances": [h["distance"] for h in r["hits"]],
                        "path": r["path"]})
    precisions = []
    for qi, r in enumerate(results):
        ids = [i for i in r["ids"] if i != qi][:10]
        precisions.append(np.mean([labels[i] == labels[qi] for i in ids]))

    for qi in [0, 1, 2, 3, 4]:
        r = results[qi]
        print(f"\nquery {os.path.relpath(files[qi], ROOT)}: true {class_names[labels[qi]]}, "
              f"predicted {class_names[pred[qi]]} (p = {prob[qi, pred[qi]]:.2f}), path {r['path']}")
        print(f"  {'id':>5} {'dist':>4}  {'class':<12} file")
        for i, d in list(zip(r["ids"], r["distances"]))[:6]:
            mark = "" if labels[i] == labels[qi] else "  (other class)"
            print(f"  {i:>5} {d:>4}  {class_names[labels[i]]:<12} {os.path.relpath(files[i], ROOT)}{mark}")
    print(f"\nmean precision@10 over all {len(results)} sample queries (leave-one-out): "
          f"{100 * np.mean(precisions):.1f}%")


if __name__ == "__main__":
    main()
