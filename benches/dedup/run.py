"""Near-duplicate search side by side: hamdb vs FAISS, same codes, same queries, one run.

    python benches/dedup/run.py [--n 10000000] [--bits 256] [--radius 31] [--dated docs/bench/dedup-DATE]

Workloads (each on uniform codes and on a near-duplicate-heavy set, where a quarter of the
stored codes have 1-5 copies r/4..3r/4 bits away: 8..23 at r = 31): 1,000 queries, half of them
stored codes with r/4..3r/4 bits flipped. (a) single queries on one thread, (b) 8-variant queries (8 codes per query, PDQ's
rotations and flips; each item once at its minimum distance), (c) the whole batch in one call
on 2 threads. Systems: hamdb with tables cut for the radius (CreateOptions.expected_radius)
and with the k-NN default, FAISS IndexBinaryFlat range search on 1 and 2 threads, and
optionally FAISS IndexBinaryMultiHash (--multihash; nflip chosen so that it is exact at r).
Every system's hit count must equal FAISS flat's (exact): the report says so per row.
Run through `make bench-dedup` (builds the Rust half, the Python environment).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEDUP_DB = os.path.join(ROOT, "target", "release", "examples", "dedup_db")
ALLPAIRS = os.path.join(ROOT, "target", "release", "examples", "allpairs")
# All-pairs workloads: (n, bits, radius, brute-force check on the first N items).
ALLPAIRS_RUNS = [(1_000_000, 64, 8, 100_000), (1_000_000, 256, 31, 50_000)]
OUT = os.path.join(ROOT, "target", "bench", "dedup")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def near_flips(radius):
    """Bits a near-duplicate differs by: radius/4 .. 3*radius/4 (8..23 at PDQ's 31, 2..6 at 8)."""
    lo = max(1, radius // 4)
    return lo, max(lo, 3 * radius // 4)


def make_data(n, bits, kind, seed, radius):
    rng = np.random.default_rng(seed)
    nbytes = bits // 8
    if kind == "uniform":
        return rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    # Near-duplicate heavy: originals, each followed by 1-5 copies 8..24 bits away.
    originals = rng.integers(0, 256, size=(n // 4, nbytes), dtype=np.uint8)
    copies = rng.integers(1, 6, size=originals.shape[0])
    parts = [originals]
    total = originals.shape[0]
    for c in range(1, 6):
        sel = originals[copies >= c]
        if total + sel.shape[0] > n:
            sel = sel[: n - total]
        parts.append(flip_fast(rng, sel, *near_flips(radius)))
        total += sel.shape[0]
    data = np.concatenate(parts)
    if data.shape[0] < n:
        data = np.concatenate([data, rng.integers(0, 256, size=(n - data.shape[0], nbytes), dtype=np.uint8)])
    return data[:n]


def flip_fast(rng, codes, lo, hi, chunk=100_000):
    """Each row with lo..hi distinct random bits flipped (vectorised, in chunks of rows)."""
    if codes.shape[0] > chunk:
        return np.concatenate([flip_fast(rng, codes[i:i + chunk], lo, hi, chunk)
                               for i in range(0, codes.shape[0], chunk)])
    bits = codes.shape[1] * 8
    out = np.unpackbits(codes, axis=1)
    rows = codes.shape[0]
    count = rng.integers(lo, hi + 1, size=rows)
    # A random permutation prefix per row gives distinct bits.
    keys = rng.random((rows, bits))
    order = np.argsort(keys, axis=1)
    mask = np.arange(bits)[None, :] < count[:, None]
    chosen = np.zeros_like(out)
    np.put_along_axis(chosen, order, mask.astype(np.uint8), axis=1)
    return np.ascontiguousarray(np.packbits(out ^ chosen, axis=1))


def variants_of(rng, q, v):
    """v codes per query: the query and v-1 transforms (stand-ins for PDQ's rotations and
    flips: each a fixed random permutation of the bits)."""
    bits = q.shape[1] * 8
    perms = [np.arange(bits)] + [rng.permutation(bits) for _ in range(v - 1)]
    unpacked = np.unpackbits(q, axis=1)
    out = np.stack([unpacked[:, p] for p in perms], axis=1)
    return np.ascontiguousarray(np.packbits(out.reshape(-1, bits), axis=1))


def faiss_rows(codes, queries, radius, variants, threads_list, single, multihash, log):
    import faiss

    bits = codes.shape[1] * 8
    rows = []
    n = codes.shape[0]
    nq = queries.shape[0] // variants

    def count_hits(lims, ids, group):
        total = 0
        for g in range(group.shape[0] // variants if variants > 1 else group.shape[0]):
            if variants == 1:
                total += int(lims[g + 1] - lims[g])
            else:
                s = set()
                for j in range(g * variants, (g + 1) * variants):
                    s.update(ids[lims[j]:lims[j + 1]].tolist())
                total += len(s)
        return total

    systems = [("faiss-flat", lambda: faiss.IndexBinaryFlat(bits))]
    if multihash:
        # Exact at r: with m tables of b/m bits, nflip >= floor(r/m) makes the probe cover
        # every code within r (pigeonhole); faiss has no nflip beyond what the build allows.
        # 8 x 32 bits at 256 (the measured configuration); 16-bit tables otherwise.
        m = 8 if bits >= 256 else max(1, bits // 16)
        nflip = radius // m
        systems.append((f"faiss-multihash-{m}x{bits // m}-nflip{nflip}", lambda: faiss.IndexBinaryMultiHash(bits, m, bits // m)))
        mh_nflip = nflip
    for name, make in systems:
        t = time.perf_counter()
        index = make()
        if name.startswith("faiss-multihash"):
            index.nflip = mh_nflip
        index.add(codes)
        build = time.perf_counter() - t
        rows.append({"system": name, "phase": "import", "n": n, "bits": bits, "seconds": round(build, 2)})
        log(f"{name}: built in {build:.1f} s")
        faiss.omp_set_num_threads(1)
        times, hits, counts = [], 0, []
        for g in range(min(single, nq)):
            q = queries[g * variants:(g + 1) * variants]
            t = time.perf_counter()
            lims, _, ids = index.range_search(q, radius + 1)  # faiss: distance < radius
            times.append(time.perf_counter() - t)
            counts.append(count_hits(lims, ids, q))
            hits += counts[-1]
        med = float(np.median(times))
        rows.append({"system": name, "phase": "single", "n": n, "bits": bits, "radius": radius,
                     "variants": variants, "threads": 1, "queries": len(times),
                     "median_ms": round(med * 1e3, 4), "lookups_per_s": round(variants / med, 1), "hits": hits,
                     "hit_counts": counts})
        log(f"{name}: single median {med * 1e3:.3f} ms")
        for th in threads_list:
            faiss.omp_set_num_threads(th)
            t = time.perf_counter()
            lims, _, ids = index.range_search(queries, radius + 1)
            secs = time.perf_counter() - t
            rows.append({"system": name, "phase": "batch", "n": n, "bits": bits, "radius": radius,
                         "variants": variants, "threads": th, "queries": nq, "seconds": round(secs, 3),
                         "lookups_per_s": round(queries.shape[0] / secs, 1),
                         "hits": count_hits(lims, ids, queries)})
            log(f"{name}: batch {th} threads {secs:.2f} s")
        del index
    return rows


def table(rows):
    def flat(r, threads):
        for x in rows:
            if (x["system"] == "faiss-flat" and x["phase"] == r["phase"] and x["data"] == r["data"]
                    and x["variants"] == r["variants"] and x["threads"] == threads):
                return x
        return None

    lines = ["| data | variants | system | phase | threads | ms / query | lookups/s | lookups/s per core | vs FAISS flat, same threads | exact (hits = FAISS flat) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["phase"] not in ("single", "batch"):
            continue
        f = flat(r, r["threads"])
        if r["phase"] == "single":
            ms = r["median_ms"]
            ratio = f"{f['median_ms'] / ms:.1f}x" if f else ""
            if f:
                common = min(len(r["hit_counts"]), len(f["hit_counts"]))
                same = r["hit_counts"][:common] == f["hit_counts"][:common]
                exact = f"{'yes' if same else 'NO'} ({common} queries)"
            else:
                exact = ""
        else:
            ms = r["seconds"] * 1e3 / r["queries"]
            ratio = f"{r['lookups_per_s'] / f['lookups_per_s']:.1f}x" if f else ""
            exact = ("yes" if r["hits"] == f["hits"] else f"NO ({r['hits']} vs {f['hits']})") if f else ""
        name = r["system"] + (f" ({r['config']})" if "config" in r else "")
        lines.append(f"| {r['data']} | {r['variants']} | {name} | {r['phase']} | {r['threads']} | {ms:.3f} | "
                     f"{r['lookups_per_s']:,.0f} | {r['lookups_per_s'] / r['threads']:,.0f} | {ratio} | {exact} |")
    return "\n".join(lines)


def allpairs_table(rows):
    if not rows:
        return ""
    lines = ["", "## All-pairs near-duplicates (`Snapshot::find_duplicates`, 2 threads)", "",
             "| n | bits | radius | hamdb s | pairs | brute-force check: n | brute force s | hamdb s | identical pairs |",
             "|---|---|---|---|---|---|---|---|---|"]
    for h, b in zip(rows[0::2], rows[1::2]):
        lines.append(f"| {h['n']:,} | {h['bits']} | {h['radius']} | {h['seconds']:.2f} | {h['pairs']:,} | "
                     f"{b['n']:,} | {b['seconds']:.2f} | {b['hamdb_seconds']:.3f} | {'yes' if b['identical'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--bits", type=int, default=256)
    ap.add_argument("--radius", type=int, default=31)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--single", type=int, default=200, help="single queries timed per system")
    ap.add_argument("--faiss-single", type=int, default=50, help="FAISS flat is ~40 ms a query at 10M")
    ap.add_argument("--data", default="uniform,neardup")
    ap.add_argument("--variants", default="1,8")
    ap.add_argument("--variant-queries", type=int, default=200,
                    help="queries (groups of 8 codes) in the 8-variant runs: FAISS flat scans 8x per query")
    ap.add_argument("--multihash", action="store_true")
    ap.add_argument("--no-faiss", action="store_true")
    ap.add_argument("--no-allpairs", action="store_true", help="skip the all-pairs runs")
    ap.add_argument("--dated", help="also write DATED.json and DATED.md")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    log = lambda m: print(f"[{time.strftime('%H:%M:%S')}] {m}", file=sys.stderr, flush=True)
    rows = []
    for kind in args.data.split(","):
        codes = make_data(args.n, args.bits, kind, seed=1, radius=args.radius)
        rng = np.random.default_rng(2)
        base = rng.integers(0, 256, size=(args.queries, args.bits // 8), dtype=np.uint8)
        picks = rng.integers(0, args.n, size=args.queries // 2)
        # Interleaved, so any prefix (the single-query runs time the first ones) is half each.
        base[0::2][: picks.shape[0]] = flip_fast(rng, codes[picks], *near_flips(args.radius))
        cpath = os.path.join(OUT, f"codes-{kind}.npy")
        np.save(cpath, np.ascontiguousarray(codes))
        for v in [int(x) for x in args.variants.split(",")]:
            queries = base if v == 1 else variants_of(np.random.default_rng(3), base[: args.variant_queries], v)
            qpath = os.path.join(OUT, f"queries-{kind}-{v}.npy")
            np.save(qpath, queries)
            for expected in [str(args.radius), "none"]:
                if expected == "none" and v != 1:
                    continue
                cmd = [DEDUP_DB, "--codes", cpath, "--queries", qpath, "--radius", str(args.radius),
                       "--variants", str(v), "--expected-radius", expected, "--single", str(args.single),
                       "--threads", "2", "--db", os.path.join(OUT, "bench.hamdb")]
                log("$ " + " ".join(cmd))
                out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout
                for line in out.splitlines():
                    if line.startswith("{"):
                        r = json.loads(line)
                        r["data"] = kind
                        r.setdefault("variants", v)
                        r.setdefault("threads", 1)
                        rows.append(r)
                        log(line)
            if not args.no_faiss:
                for r in faiss_rows(codes, queries, args.radius, v, [1, 2], args.faiss_single,
                                    args.multihash and v == 1, log):
                    r["data"] = kind
                    r.setdefault("variants", v)
                    r.setdefault("threads", 1)
                    rows.append(r)
        del codes
    allpairs = []
    if not args.no_allpairs:
        for n, bits, r, brute in ALLPAIRS_RUNS:
            cmd = [ALLPAIRS, "--n", str(n), "--bits", str(bits), "--radius", str(r), "--threads", "2",
                   "--brute", str(brute), "--dir", OUT]
            log("$ " + " ".join(cmd))
            out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout
            allpairs += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
            log(out.strip())
    rows_all = rows + allpairs
    report = {"cpu": cpu_model(), "cores": os.cpu_count(), "n": args.n, "bits": args.bits,
              "radius": args.radius, "queries": args.queries, "rows": rows_all}
    md = (f"# Near-duplicate search: {args.n:,} x {args.bits}-bit codes, radius {args.radius}\n\n"
          f"CPU: {report['cpu']} ({report['cores']} cores), one run. Command: `make bench-dedup "
          f"BENCH_DEDUP_ARGS=\"{' '.join(sys.argv[1:])}\"`.\n\n" + table(rows) + "\n"
          + allpairs_table(allpairs))
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(OUT, "report.md"), "w") as f:
        f.write(md)
    if args.dated:
        with open(args.dated + ".json", "w") as f:
            json.dump(report, f, indent=1)
        with open(args.dated + ".md", "w") as f:
            f.write(md)
    # The plot next to each JSON (matplotlib is in benches/compare/requirements.txt).
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from plot import plot
    for p in [os.path.join(OUT, "report.json")] + ([args.dated + ".json"] if args.dated else []):
        print("plot:", plot(p))
    print(md)


if __name__ == "__main__":
    main()
