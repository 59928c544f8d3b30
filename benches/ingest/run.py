"""Ingestion side by side: hamdb (Rust: parallel decode -> batched ONNX Runtime -> database
writer) vs a Python pipeline (Pillow + onnxruntime, same model, same batch size), on the
shipped sample images repeated to 20,000 files, in one run; then query-by-image latency.

    python3 benches/ingest/run.py [--n 20000] [--batch 64] [--repeat 3]

Run through `make bench-ingest`. Writes target/bench/ingest.json and target/bench/ingest.md.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "target", "bench")
MODEL = os.path.join(ROOT, "models", "reference", "ssdh-fmnist-48.onnx")
SAMPLES = os.path.join(ROOT, "samples", "fashion-mnist", "images")
DRIVER = os.path.join(ROOT, "target", "release", "examples", "ingest")


def make_images(n):
    """The sample set repeated to n distinct files (copies, so every read is a real file)."""
    d = os.path.join(OUT, f"ingest-images-{n}")
    if os.path.isdir(d) and len(os.listdir(d)) == n:
        return d
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    src = sorted(os.listdir(SAMPLES))
    for i in range(n):
        shutil.copyfile(os.path.join(SAMPLES, src[i % len(src)]), os.path.join(d, f"{i:06d}.png"))
    return d


def rows(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--python", default=sys.executable)
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    images = make_images(a.n)
    common = ["--images", images, "--model", MODEL, "--batch", str(a.batch), "--repeat", str(a.repeat)]
    # Python first, then hamdb, alternating would be fairer on a noisy machine; the repeats
    # and medians absorb most of it.
    py = rows([a.python, os.path.join(ROOT, "benches", "ingest", "python_pipeline.py")] + common)
    rs = rows([DRIVER] + common + ["--out", OUT])
    allrows = py + rs
    with open(os.path.join(OUT, "ingest.json"), "w") as f:
        json.dump(allrows, f, indent=1)
    med = lambda sys_: statistics.median(r["images_per_s"] for r in allrows
                                         if r["system"] == sys_ and r["what"] == "ingest")
    h, p = med("hamdb"), med("python")
    lines = [
        f"Ingestion of {a.n} images (28x28 PNG, the sample set repeated), model ssdh-fmnist-48, "
        f"batch {a.batch}, median of {a.repeat} runs, one run of `make bench-ingest`:",
        "",
        "| pipeline | images/s (median) | ratio |",
        "| --- | ---: | ---: |",
        f"| Python: Pillow + numpy + onnxruntime (codes only, nothing stored) | {p:,.0f} | 1.00x |",
        f"| hamdb insert_images (decode, encode, commit to the database) | {h:,.0f} | {h / p:.2f}x |",
        "",
        "Query by image (encode + search, k = 10, database of the ingested images):",
        "",
        "| measurement | median ms | p99 ms |",
        "| --- | ---: | ---: |",
    ]
    for r in allrows:
        if r["what"].startswith("query"):
            lines.append(f"| {r['system']} {r['what']} | {r['median_ms']:.3f} | {r['p99_ms']:.3f} |")
    md = "\n".join(lines) + "\n"
    with open(os.path.join(OUT, "ingest.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
