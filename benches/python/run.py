"""`make bench-python`: the Python package against the Rust calls it wraps and against FAISS,
side by side in one run, one thread each (issue 13, item 6).

    python benches/python/run.py [--n 10000000] [--quick] [--dated docs/bench/python-DATE]

(a) Per-call cost of one 10-NN search from Python (1-D and one-row 2-D forms, and the FAISS
    shim) against the same search from Rust (benches/python/rust_side.rs), on the same file and
    the same queries: on a small file (1,000 codes, where the call's overhead dominates) and on
    the big one.
(b) A batch of 1,000 queries (k = 10) on N uniform random 64-bit codes: the Rust batch loop,
    the Python 2-D `db.search`, `hamdb.faiss.IndexBinaryHamdb.search`, `faiss.IndexBinaryFlat`
    and `faiss.IndexBinaryMultiHash`; every exact method must give the same distances.

Timings come from interleaved rounds (measure.py says why); medians are reported, every sample
is kept in the JSON. Writes target/bench/python.json and python.md (and DATED.json / DATED.md with --dated).
`make bench-python` builds the Rust side and installs the package into .venv-bench first.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import faiss
import numpy as np

import hamdb
from hamdb.faiss import IndexBinaryHamdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure  # noqa: E402
import report  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUST_SIDE = os.path.join(ROOT, "target", "release", "examples", "python_rust_side")
OUT = os.path.join(ROOT, "target", "bench")
BITS, K, SMALL_N = 64, 10, 1000


def build_file(path, codes):
    """A fresh hamdb file holding ``codes`` (ids 0..n-1), imported in one call; seconds taken."""
    if os.path.exists(path):
        os.remove(path)
    t = time.perf_counter()
    with hamdb.create(path, BITS) as db:
        db.import_codes(codes)
    return time.perf_counter() - t


def rust_round(db_path, queries_path, dists_out):
    """One round of the Rust side on ``db_path`` (after an untimed warm-up pass): its per-call
    and batch rows; the batch's distances go to ``dists_out``."""
    cmd = [RUST_SIDE, "--db", db_path, "--queries", queries_path, "--k", str(K), "--repeats", "1", "--warmup",
           "--dists-out", dists_out]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    per_call, batch = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return per_call["s_per_query"], batch["s"]


def run_rounds(label, db_path, xq, xq_path, rounds, flat, batch, build_s=None, flat_build_s=None):
    """``rounds`` interleaved rounds on one file: the Rust side, every Python per-call form and,
    with ``batch``, the three batch searches (Python 2-D, the shim, FAISS flat). Returns the
    per-call rows, the batch rows, and the last results of each batch system (for checks)."""
    dists_out = db_path + ".dists"
    rust_pc, rust_b = [], []
    nq = len(xq)
    with hamdb.open(db_path, read_only=True) as db, IndexBinaryHamdb(BITS, db_path) as index:
        forms = measure.per_call_forms(db, index, xq, K, None if batch else flat)
        batches = [
            measure.Timed("hamdb-python", f"db.search(codes[{nq}, :], k)", lambda: db.search(xq, K)),
            measure.Timed("hamdb.faiss", f"index.search(codes[{nq}, :], k)", lambda: index.search(xq, K),
                          build_s=build_s),
            measure.Timed("faiss-flat", f"index.search(codes[{nq}, :], k)", lambda: flat.search(xq, K),
                          build_s=flat_build_s),
        ] if batch else []
        for i in range(rounds):
            print(f"  round {i + 1}/{rounds}", flush=True)
            pc, b = rust_round(db_path, xq_path, dists_out)
            rust_pc += pc
            rust_b += b
            for t in forms + batches:
                t.round()
    rust_form = "db.snapshot().search(&Code::from_bytes(q)?, k, None)"
    per_call = [{"system": "rust-per-call", "form": rust_form, "median_s": statistics.median(rust_pc),
                 "samples_s": rust_pc}] + [t.row() for t in forms]
    for r in per_call:
        r["file"] = label
    if not batch:
        return per_call, [], {}
    rust_d = np.fromfile(dists_out, dtype=np.int32).reshape(nq, K)
    batch_rows = [{"system": "rust-batch", "form": f"one snapshot, loop of snapshot.search over {nq} queries",
                   "median_s": statistics.median(rust_b), "samples_s": rust_b, "build_s": build_s, "queries": nq}]
    batch_rows += [t.row() for t in batches]
    for r in batch_rows:
        r["file"] = label
    results = {"rust": (rust_d, None), "python": batches[0].result[::-1], "shim": batches[1].result,
               "flat": batches[2].result}
    return per_call, batch_rows, results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="codes in the big file (default 10M; 100k with --quick)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: N = 100k, 3 rounds")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--multihash-queries", type=int, default=100,
                    help="queries for IndexBinaryMultiHash at nflip 2 and 3 (a fifth at nflip 4): "
                         "tens to hundreds of ms each at 10M")
    ap.add_argument("--dated", default=None, help="also write DATED.json and DATED.md (e.g. docs/bench/python-DATE)")
    args = ap.parse_args()
    n = args.n or (100_000 if args.quick else 10_000_000)
    rounds = 3 if args.quick else 5
    faiss.omp_set_num_threads(1)
    os.makedirs(os.path.join(OUT, "python"), exist_ok=True)
    rng = np.random.default_rng(2026)
    codes = rng.integers(0, 256, (n, BITS // 8), dtype=np.uint8)
    xq = rng.integers(0, 256, (args.queries, BITS // 8), dtype=np.uint8)
    xq_path = os.path.join(OUT, "python", "queries.u8")
    xq.tofile(xq_path)
    small_path = os.path.join(OUT, "python", "small.hamdb")
    big_path = os.path.join(OUT, "python", f"n{n}.hamdb")
    t0 = time.time()
    build_file(small_path, codes[:SMALL_N])
    small_flat = faiss.IndexBinaryFlat(BITS)
    small_flat.add(codes[:SMALL_N])
    print(f"[{time.time() - t0:5.0f}s] per call, {SMALL_N:,} codes", flush=True)
    rows, _, _ = run_rounds(f"{SMALL_N:,} codes", small_path, xq, xq_path, rounds, small_flat, batch=False)
    build_s = build_file(big_path, codes)
    t = time.perf_counter()
    flat = faiss.IndexBinaryFlat(BITS)
    flat.add(codes)
    flat_build_s = time.perf_counter() - t
    print(f"[{time.time() - t0:5.0f}s] per call and batch, {n:,} codes (hamdb import {build_s:.1f} s)", flush=True)
    big_rows, batch_rows, res = run_rounds(f"{n:,} codes", big_path, xq, xq_path, rounds, flat, batch=True,
                                           build_s=build_s, flat_build_s=flat_build_s)
    rows += big_rows
    print(f"[{time.time() - t0:5.0f}s] MultiHash, {n:,} codes", flush=True)
    flat_d = res["flat"][0]
    nhash = max(1, round(BITS / np.log2(max(n, 2))))  # substrings of ~log2(n) bits: ~1 code a bucket
    # nflip 4 is exact at 10M x 64 but ~80x slower than the flat scan: fewer queries for it.
    mhq = args.multihash_queries
    plan = [(2, mhq), (3, mhq), (4, max(1, mhq // 5))]
    batch_rows += measure.multihash_rows(faiss, codes, xq, K, nhash, BITS // nhash, plan, flat_d)
    checks = {
        "rust_python_shim_flat_same_D": all(np.array_equal(res[s][0], flat_d) for s in ("rust", "python", "shim")),
        "shim_flat_same_I": bool(np.array_equal(res["shim"][1], res["flat"][1])),
    }
    result = {
        "n": n, "bits": BITS, "k": K, "queries": args.queries, "quick": args.quick,
        "cpu": report.cpu_model(), "python": platform.python_version(), "numpy": np.__version__,
        "faiss": faiss.__version__, "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "command": "make bench-python" + (f" N={args.n}" if args.n else "") + (" QUICK=1" if args.quick else "")
                   + (f' BENCH_PYTHON_ARGS="--dated {args.dated}"' if args.dated else ""),
        "rounds": rounds, "per_call": rows, "batch": batch_rows, "checks": checks,
    }
    md = report.markdown(result)
    bases = [os.path.join(OUT, "python")] + ([os.path.join(ROOT, args.dated)] if args.dated else [])
    for base in bases:
        with open(base + ".json", "w") as f:
            json.dump(result, f, indent=1)
        with open(base + ".md", "w") as f:
            f.write(md)
    for p in (small_path, big_path):
        for f in (p, p + ".dists"):
            if os.path.exists(f):
                os.remove(f)
    print(md)
    print(f"wrote {OUT}/python.json and python.md in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
