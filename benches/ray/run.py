"""make bench-ray: the fan-out cost of hamdb.ray against one local database with the same items.

    python benches/ray/run.py [--n 1000000] [--shards 1,2,4,8] [--dated docs/bench/ray-DATE]

One loopback-only 3-node Ray cluster on this machine (hamdb._ray_local.local_cluster); N uniform
random 64-bit codes imported into a collection of S shards (S = 1, 2, 4, 8, shards spread over
the nodes) and into one local hamdb file; then, side by side in one run, k = 10 searches of
(a) single queries, one call each, and (b) a 1,000-query batch, through the collection and
through the local database (`Database.search`, 2-D form, one thread). Every answer is checked
equal to the local one. Medians over rounds; the JSON keeps every sample.

What it measures is the layer's overhead on one machine (Ray calls, serialisation, the merge):
every shard is a process on the same 2 cores, so S shards do not add compute, they share it.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import hamdb
import hamdb.ray as hr
from hamdb._ray_local import local_cluster

K = 10


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def timed(fn, reps):
    """Median seconds of `reps` calls of fn, and every sample."""
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples), samples


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--shards", default="1,2,4,8")
    ap.add_argument("--singles", type=int, default=200, help="single queries per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--replicas", default="0", help="read-only replicas per shard, a list: 0,1")
    ap.add_argument("--dated", default=None)
    args = ap.parse_args()
    shard_counts = [int(s) for s in args.shards.split(",")]
    replica_counts = [int(r) for r in args.replicas.split(",")]
    configs = [(s, rp) for s in shard_counts for rp in replica_counts]
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, (args.n, 8), dtype=np.uint8)
    ids = np.arange(args.n, dtype=np.uint64)
    queries = rng.integers(0, 256, (1000, 8), dtype=np.uint8)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hamdb-bench-ray-") as work, local_cluster(
        nodes=3
    ) as cluster:
        local = hamdb.create(os.path.join(work, "local.hamdb"), 64)
        local.import_codes(codes, ids=ids)
        want_i, want_d = local.search(queries, K)
        for s, rp in configs:
            t = time.perf_counter()
            coll = hr.Collection.create(
                os.path.join(work, f"c{s}-{rp}"), 64, s, node_resources=["node0", "node1", "node2"],
                replicas=rp,
            )
            coll.import_codes(codes, ids)
            build = time.perf_counter() - t
            got_i, got_d = coll.search(queries, K)
            assert np.array_equal(got_i, want_i) and np.array_equal(got_d, want_d), s
            singles = queries[: args.singles]
            one = lambda db: [db.search(singles[i : i + 1], K) for i in range(len(singles))]  # noqa: E731
            res = {"shards": s, "replicas": rp, "build_s": build, "rounds": []}
            for _ in range(args.rounds):
                # Interleaved: each round times both systems, so a busy spell slows both alike.
                r = {}
                r["local_single_s"], _ = timed(lambda: one(local), 1)
                r["coll_single_s"], _ = timed(lambda: one(coll), 1)
                r["local_batch_s"], _ = timed(lambda: local.search(queries, K), 1)
                r["coll_batch_s"], _ = timed(lambda: coll.search(queries, K), 1)
                res["rounds"].append(r)
            med = lambda key: statistics.median(r[key] for r in res["rounds"])  # noqa: E731
            res["local_single_us"] = med("local_single_s") / len(singles) * 1e6
            res["coll_single_us"] = med("coll_single_s") / len(singles) * 1e6
            res["local_batch_ms"] = med("local_batch_s") * 1e3
            res["coll_batch_ms"] = med("coll_batch_s") * 1e3
            rows.append(res)
            coll.close()
            print(
                f"shards={s} replicas={rp}: single {res['coll_single_us']:.0f} us vs local "
                f"{res['local_single_us']:.0f} us; batch {res['coll_batch_ms']:.1f} ms vs local "
                f"{res['local_batch_ms']:.1f} ms",
                flush=True,
            )
        local.close()
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "n": args.n,
        "k": K,
        "ray": __import__("ray").__version__,
        "python": platform.python_version(),
        "command": "make bench-ray" + (f' BENCH_RAY_ARGS="{" ".join(sys.argv[1:])}"' if sys.argv[1:] else ""),
        "rows": rows,
    }
    lines = [
        f"# hamdb.ray fan-out benchmark ({report['when']})",
        "",
        f"`{report['command']}` on {report['cpu']}, {report['cores']} CPUs; Ray {report['ray']}, "
        f"Python {report['python']}; a loopback-only 3-node Ray cluster on this one machine. "
        f"{args.n:,} uniform random 64-bit codes, k = {K}; the local row is one hamdb file "
        "searched in-process (`Database.search`, 2-D, one thread). Medians of "
        f"{args.rounds} interleaved rounds; every answer checked equal to the local one.",
        "",
        "| shards | replicas | single query (us) | local single (us) | overhead per query (us) "
        "| 1,000-query batch (ms) | local batch (ms) | batch ratio | import (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['shards']} | {r['replicas']} | {r['coll_single_us']:.0f} | {r['local_single_us']:.0f} | "
            f"{r['coll_single_us'] - r['local_single_us']:.0f} | {r['coll_batch_ms']:.1f} | "
            f"{r['local_batch_ms']:.1f} | {r['coll_batch_ms'] / r['local_batch_ms']:.2f}x | "
            f"{r['build_s']:.1f} |"
        )
    text = "\n".join(lines) + "\n"
    out_dir = os.path.join(os.path.dirname(__file__), "..", "..", "target", "bench")
    os.makedirs(out_dir, exist_ok=True)
    bases = [os.path.join(out_dir, "ray")] + ([args.dated] if args.dated else [])
    for b in bases:
        with open(b + ".json", "w") as f:
            json.dump(report, f, indent=1)
        with open(b + ".md", "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
