"""Side-by-side benchmark: hamdb (scan, MIH) vs FAISS (IndexBinaryFlat, IndexBinaryMultiHash)
vs mih-rs, on the same codes, one thread, in one run.

    python3 benches/compare/run.py --quick      # a subset, under 5 minutes
    python3 benches/compare/run.py --full       # adds 10M x 128/256, clustered 1M, 100M x 64

Writes target/bench/report.json (a list of rows {workload, n, bits, k, radius, system, qps,
build_s, bytes_per_code, exact, ...}) and target/bench/report.md (tables with ratios).
Run through `make bench-quick` / `make bench-full`, which build the Rust driver and the Python
environment first.
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPARE = os.path.join(ROOT, "target", "release", "examples", "compare")
OUT = os.path.join(ROOT, "target", "bench")

# (kind, n, bits, ks, radii, single_queries, faiss_batch_ks, rust_systems, faiss_systems)
ALL_RUST = "hamdb-scan,hamdb-scan-batch,hamdb-scan-2t,hamdb-mih,mih-rs"
ALL_FAISS = "faiss-flat,faiss-flat-batch,faiss-multihash"
QUICK = [
    ("uniform", 1_000_000, 64, "1,10,100", "0,2,4,8", 200, "1,10,100", ALL_RUST, ALL_FAISS),
    ("uniform", 1_000_000, 128, "1,10,100", "", 200, "10", ALL_RUST, ALL_FAISS),
    ("uniform", 1_000_000, 256, "1,10,100", "", 200, "10", ALL_RUST, ALL_FAISS),
    ("uniform", 10_000_000, 64, "1,10,100", "0,4", 100, "10", ALL_RUST, ALL_FAISS),
    ("clustered", 10_000_000, 64, "1,10,100", "0,2", 100, "10", ALL_RUST, ALL_FAISS),
]
FULL = QUICK + [
    ("clustered", 1_000_000, 64, "1,10,100", "0,2,4,8", 200, "10", ALL_RUST, ALL_FAISS),
    ("clustered", 1_000_000, 256, "1,10,100", "0,4,8", 200, "10", ALL_RUST, ALL_FAISS),
    ("uniform", 10_000_000, 128, "1,10,100", "", 50, "10", ALL_RUST, "faiss-flat,faiss-flat-batch"),
    ("uniform", 10_000_000, 256, "1,10,100", "", 50, "10", ALL_RUST, "faiss-flat,faiss-flat-batch"),
    ("uniform", 100_000_000, 64, "1,10,100", "", 20, "", "hamdb-scan,hamdb-scan-2t,hamdb-mih,mih-rs", "faiss-flat"),
]


def run_rows(cmd, log):
    log.write("$ " + " ".join(cmd) + "\n")
    log.flush()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, check=True)
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true")
    g.add_argument("--full", action="store_true")
    ap.add_argument("--python", default=sys.executable, help="interpreter with faiss-cpu and numpy")
    args = ap.parse_args()
    configs = FULL if args.full else QUICK
    os.makedirs(OUT, exist_ok=True)
    rows = []
    t0 = time.time()
    with open(os.path.join(OUT, "run.log"), "w") as log:
        rows += run_rows([COMPARE, "membw"], log)
        for i, (kind, n, bits, ks, radii, single, batch_ks, rust, fais) in enumerate(configs):
            wdir = os.path.join(OUT, f"w{i}")
            print(f"[{time.time() - t0:6.0f}s] {kind} n={n:,} bits={bits}", flush=True)
            rows += run_rows([COMPARE, "workload", "--kind", kind, "--n", str(n), "--bits", str(bits),
                              "--queries", "1000", "--single-queries", str(single), "--k", ks,
                              "--radius", radii, "--systems", rust, "--dir", wdir], log)
            rows += run_rows([args.python, os.path.join(ROOT, "benches", "compare", "faiss_bench.py"),
                              "--dir", wdir, "--kind", kind, "--n", str(n), "--bits", str(bits), "--k", ks,
                              "--radius", radii, "--single-queries", str(single), "--batch-k", batch_ks,
                              "--systems", fais, "--multihash-queries", str(10 if kind == "clustered" else single)],
                             log)
            for f in os.listdir(wdir):
                os.remove(os.path.join(wdir, f))
            os.rmdir(wdir)
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump(rows, f, indent=1)
    md = report_md(rows)
    with open(os.path.join(OUT, "report.md"), "w") as f:
        f.write(md)
    print(md)
    print(f"wrote {OUT}/report.json and report.md in {time.time() - t0:.0f}s")


def report_md(rows):
    bw = next((r["read_gb_s"] for r in rows if r.get("system") == "membw"), None)
    out = []
    if bw:
        out.append(f"Sequential read bandwidth (one thread): {bw:.1f} GB/s.\n")
    key = lambda r: (r["workload"], r["n"], r["bits"])
    groups = {}
    for r in rows:
        if "workload" in r:
            groups.setdefault(key(r), []).append(r)
    for (kind, n, bits), rs in groups.items():
        out.append(f"\n### {kind}, n = {n:,}, {bits} bits\n")
        if bw:
            bound_ms = n * bits / 8 / (bw * 1e9) * 1e3
            out.append(f"Scan bandwidth bound: {bound_ms:.2f} ms/query.\n")
        out.append("| query | system | mode | ms/query | qps | vs FAISS flat (same mode) | build s | bytes/code | exact |")
        out.append("|---|---|---|---:|---:|---:|---:|---:|---|")
        ref = {}
        for r in rs:
            if r["system"] in ("faiss-flat", "faiss-flat-batch"):
                ref[(r["k"], r["radius"], r["mode"])] = r["qps"]
        order = ["hamdb-scan-batch", "faiss-flat-batch", "hamdb-scan", "hamdb-scan-2t", "hamdb-mih", "hamdb-mih-forced",
                 "faiss-flat", "faiss-multihash", "mih-rs"]
        rs = sorted(rs, key=lambda r: (r["k"] is None, r["k"] or 0, r["radius"] or 0, order.index(r["system"])
                                       if r["system"] in order else 99))
        for r in rs:
            q = f"k={r['k']}" if r["k"] is not None else f"r<={r['radius']}"
            mode = r.get("mode", "")
            base = ref.get((r["k"], r["radius"], "batch" if mode == "batch" else "single"))
            ratio = f"{r['qps'] / base:.1f}x" if base else ""
            exact = "yes" if r.get("exact") else (f"no ({100 * r['exact_fraction']:.0f}% of queries)"
                                                  if "exact_fraction" in r else "no")
            bpc = f"{r['bytes_per_code']:.1f}" if r.get("bytes_per_code") else "n/a"
            extra = ""
            if r.get("paths"):
                p = r["paths"]
                extra = f" (paths: {p['mih']} mih / {p['scan']} scan / {p['mih_then_scan']} switched)"
            out.append(f"| {q} | {r['system']}{extra} | {mode} | {1e3 / r['qps']:.3f} | {r['qps']:.0f} | {ratio} | "
                       f"{r.get('build_s', 0):.2f} | {bpc} | {exact} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
