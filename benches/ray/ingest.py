"""make bench-ray, ingestion part: images/s of hamdb.ray's ingest_images with 1 and 2 workers.

    python benches/ray/ingest.py [--copies 4] [--rounds 3] [--dated docs/bench/ray-ingest-DATE]

The shipped 1,000 sample images (samples/fashion-mnist/images), each given `--copies` distinct
keys (so `copies` x 1,000 items), go through `Collection.ingest_images` on a loopback-only
3-node Ray cluster on this machine into a 4-shard collection made for the shipped 48-bit model,
as a Ray dataset of (key, bytes): the read is not timed, decode + encode + routing + commits
are. Side by side in one run, the same images go into one local file through
`Database.insert_images` (hamdb's own Rust pipeline: decode threads, 64-image forward passes).
Each round makes a fresh collection and file; medians over rounds, every sample in the JSON,
and every ingestion checked complete (items stored = images, no failures).

On one 2-core machine the workers share the cores with the shard actors and the driver, so
"2 workers" measures how well the pipeline fills two cores, not two machines.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import hamdb
import hamdb.ray as hr
from hamdb._ray_local import local_cluster
from run import cpu_model  # benches/ray/run.py: a script's directory is on sys.path

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODEL = os.path.join(ROOT, "models", "reference", "ssdh-fmnist-48.onnx")
IMAGES = os.path.join(ROOT, "samples", "fashion-mnist", "images")
SHARDS = 4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=4, help="keys per sample image")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--commit-every", type=int, default=4096)
    ap.add_argument("--dated", default=None)
    args = ap.parse_args()
    import ray

    paths = sorted(os.path.join(IMAGES, f) for f in os.listdir(IMAGES))
    blobs = [open(p, "rb").read() for p in paths]
    n = len(blobs) * args.copies
    rows = [{"key": f"copy{c}/{os.path.basename(p)}", "bytes": b}
            for c in range(args.copies) for p, b in zip(paths, blobs)]
    local_paths = [p for _ in range(args.copies) for p in paths]
    encoder = hamdb.Encoder.load(MODEL)
    worker_counts = [int(w) for w in args.workers.split(",")]
    samples = {f"workers_{w}": [] for w in worker_counts}
    samples["local"] = []
    with tempfile.TemporaryDirectory(prefix="hamdb-bench-ingest-") as work, local_cluster(
        nodes=3
    ):
        ray.data.DataContext.get_current().enable_progress_bars = False
        ds = ray.data.from_items(rows).materialize()  # in the object store before timing
        for r in range(args.rounds):
            # Interleaved: each round times every configuration, so a busy spell slows all.
            for w in worker_counts:
                d = os.path.join(work, f"c{w}-{r}")
                with hr.Collection.create_for_model(
                    d, encoder, SHARDS, node_resources=["node0", "node1", "node2"]
                ) as coll:
                    t = time.perf_counter()
                    rep = coll.ingest_images(ds, MODEL, workers=w, commit_every=args.commit_every)
                    dt = time.perf_counter() - t
                    assert (rep.written, rep.failures, len(coll)) == (n, [], n), rep
                samples[f"workers_{w}"].append(dt)
                print(f"round {r}: {w} worker(s) {n / dt:,.0f} images/s", flush=True)
            with hamdb.create_for_model(os.path.join(work, f"local-{r}.hamdb"), encoder) as db:
                t = time.perf_counter()
                rep = db.insert_images(encoder, local_paths)
                dt = time.perf_counter() - t
                assert rep.inserted == n and not rep.failures
            samples["local"].append(dt)
            print(f"round {r}: local insert_images {n / dt:,.0f} images/s", flush=True)
    rate = {k: n / statistics.median(v) for k, v in samples.items()}
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "images": n,
        "shards": SHARDS,
        "commit_every": args.commit_every,
        "ray": ray.__version__,
        "python": platform.python_version(),
        "command": "make bench-ray" + (f' BENCH_RAY_INGEST_ARGS="--dated {args.dated}"' if args.dated else ""),
        "images_per_s": rate,
        "samples_s": samples,
    }
    lines = [
        f"# hamdb.ray ingestion benchmark ({report['when']})",
        "",
        f"`{report['command']}` on {report['cpu']}, {report['cores']} CPUs; Ray {report['ray']}, "
        f"Python {report['python']}; a loopback-only 3-node Ray cluster on this one machine. "
        f"{n:,} images (the 1,000 sample PNGs, {args.copies} keys each), the 48-bit reference "
        f"model, a {SHARDS}-shard collection, a commit every {args.commit_every} rows. Medians "
        f"of {args.rounds} interleaved rounds; every run checked complete.",
        "",
        "| pipeline | images/s | vs local |",
        "|---|---:|---:|",
    ]
    for w in worker_counts:
        k = f"workers_{w}"
        lines.append(f"| ingest_images, {w} worker(s) | {rate[k]:,.0f} | "
                     f"{rate[k] / rate['local']:.2f}x |")
    lines.append(f"| one local file, Database.insert_images | {rate['local']:,.0f} | 1.00x |")
    text = "\n".join(lines) + "\n"
    out_dir = os.path.join(ROOT, "target", "bench")
    os.makedirs(out_dir, exist_ok=True)
    bases = [os.path.join(out_dir, "ray-ingest")] + ([args.dated] if args.dated else [])
    for b in bases:
        with open(b + ".json", "w") as f:
            json.dump(report, f, indent=1)
        with open(b + ".md", "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
