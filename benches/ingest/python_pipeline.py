"""The Python side of the ingestion benchmark: what a Python user would write to encode a
folder of images with the same model — Pillow decode + grayscale + resize if needed, numpy
normalisation, batches of the same size through onnxruntime (default threads), codes packed
with numpy. Single process (the usual script). Prints JSON lines like the Rust driver.

    python python_pipeline.py --images DIR --model M.onnx [--batch 64] [--repeat 3]
"""
import argparse
import json
import os
import time

import numpy as np
import onnxruntime as ort
from PIL import Image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    files = sorted(os.path.join(a.images, f) for f in os.listdir(a.images) if f.endswith(".png"))
    sess = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    h, w = int(meta["hamdb.input_height"]), int(meta["hamdb.input_width"])
    mean = np.float32(json.loads(meta["hamdb.mean"])[0])
    std = np.float32(json.loads(meta["hamdb.std"])[0])
    thr = float(meta["hamdb.threshold"])
    for rep in range(a.repeat):
        t = time.perf_counter()
        codes, classes = [], []
        for s in range(0, len(files), a.batch):
            rows = []
            for f in files[s : s + a.batch]:
                with Image.open(f) as im:
                    im = im.convert("L")
                    if im.size != (w, h):
                        im = im.resize((w, h), Image.BILINEAR)
                    rows.append(np.asarray(im, dtype=np.float32))
            x = (np.stack(rows)[:, None, :, :] / np.float32(255.0) - mean) / std
            latent, logits = sess.run(["latent", "logits"], {"image": x})
            codes.append(np.packbits(latent > thr, axis=1))
            classes.append(logits.argmax(1))
        secs = time.perf_counter() - t
        assert sum(len(c) for c in codes) == len(files)
        print(json.dumps({"system": "python", "what": "ingest", "rep": rep, "images": len(files),
                          "batch": a.batch, "seconds": round(secs, 4),
                          "images_per_s": round(len(files) / secs, 1)}), flush=True)
    # Query by image: encode one image (Pillow + onnxruntime, batch of 1); no index.
    lat = []
    for f in files[:1000]:
        t = time.perf_counter()
        with Image.open(f) as im:
            x = (np.asarray(im.convert("L"), dtype=np.float32)[None, None] / np.float32(255.0) - mean) / std
        sess.run(["latent", "logits"], {"image": x})
        lat.append((time.perf_counter() - t) * 1e3)
    lat.sort()
    print(json.dumps({"system": "python", "what": "query_encode", "queries": len(lat),
                      "median_ms": round(lat[len(lat) // 2], 4),
                      "p99_ms": round(lat[int(0.99 * (len(lat) - 1))], 4)}), flush=True)


if __name__ == "__main__":
    main()
