"""FAISS half of the side-by-side benchmark.

Reads the codes, queries and exact answers that `compare workload` wrote to DIR, times FAISS's
IndexBinaryFlat (batched and one query at a time) and IndexBinaryMultiHash on one thread, and
prints one JSON row per (system, k or radius), in the same shape as the Rust driver's rows.
FAISS's flat index is exact, so its distances also cross-check hamdb's exact answers: a
mismatch is reported as "truth_agrees": false.
"""

import argparse
import json
import math
import os
import time

import faiss
import numpy as np


def load(args):
    d = args.dir
    nbytes = args.bits // 8
    codes = np.fromfile(os.path.join(d, "codes.u8"), dtype=np.uint8).reshape(-1, nbytes)
    queries = np.fromfile(os.path.join(d, "queries.u8"), dtype=np.uint8).reshape(-1, nbytes)
    return codes, queries


def truth(args, k, nq):
    t = np.fromfile(os.path.join(args.dir, f"truth_k{k}.u32"), dtype=np.uint32)
    return t.reshape(nq, -1)


def emit(args, system, k, radius, **fields):
    row = {"workload": args.kind, "n": args.n, "bits": args.bits, "k": k, "radius": radius, "system": system}
    row.update(fields)
    print(json.dumps(row), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--kind", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--bits", type=int, required=True)
    p.add_argument("--k", default="1,10,100")
    p.add_argument("--radius", default="")
    p.add_argument("--single-queries", type=int, default=200)
    p.add_argument("--batch-k", default=None, help="k values to run the 1000-query batch for (default: all)")
    p.add_argument("--systems", default="faiss-flat,faiss-flat-batch,faiss-multihash")
    p.add_argument("--multihash-queries", type=int, default=None,
                   help="queries for IndexBinaryMultiHash (default: --single-queries); on clustered codes "
                        "its buckets are huge and a query can take seconds")
    args = p.parse_args()
    faiss.omp_set_num_threads(1)
    systems = args.systems.split(",")
    ks = [int(x) for x in args.k.split(",") if x]
    batch_ks = ks if args.batch_k is None else [int(x) for x in args.batch_k.split(",") if x]
    radii = [int(x) for x in args.radius.split(",") if x]
    codes, queries = load(args)
    nq = len(queries)
    single = queries[: args.single_queries]

    t = time.perf_counter()
    flat = faiss.IndexBinaryFlat(args.bits)
    flat.add(codes)
    flat_build = time.perf_counter() - t
    for k in ks:
        want = truth(args, k, nq)
        if "faiss-flat-batch" in systems and k in batch_ks:
            t = time.perf_counter()
            D, _ = flat.search(queries, k)
            secs = time.perf_counter() - t
            exact = bool(np.array_equal(D.astype(np.uint32), want))
            emit(args, "faiss-flat-batch", k, None, qps=nq / secs, build_s=flat_build,
                 bytes_per_code=args.bits / 8, exact=exact, truth_agrees=exact, mode="batch", queries=nq)
        if "faiss-flat" in systems:
            lat = []
            got = []
            t0 = time.perf_counter()
            for i in range(len(single)):
                t = time.perf_counter()
                D, _ = flat.search(single[i : i + 1], k)
                lat.append(time.perf_counter() - t)
                got.append(D[0])
            secs = time.perf_counter() - t0
            exact = bool(np.array_equal(np.array(got).astype(np.uint32), want[: len(single)]))
            emit(args, "faiss-flat", k, None, qps=len(single) / secs, build_s=flat_build,
                 bytes_per_code=args.bits / 8, exact=exact, truth_agrees=exact, mode="single",
                 median_ms=1e3 * float(np.median(lat)), queries=len(single))

    for r in radii:
        if "faiss-flat" not in systems:
            break
        want = np.fromfile(os.path.join(args.dir, f"truth_r{r}.u64"), dtype=np.uint64)
        t = time.perf_counter()
        counts = []
        for i in range(len(want)):
            # FAISS binary range search keeps distances strictly below the radius.
            lims, _, _ = flat.range_search(queries[i : i + 1], r + 1)
            counts.append(int(lims[1]))
        secs = time.perf_counter() - t
        exact = counts == [int(c) for c in want]
        emit(args, "faiss-flat", None, r, qps=len(want) / secs, build_s=flat_build,
             bytes_per_code=args.bits / 8, exact=exact, mode="single", queries=len(want))

    if "faiss-multihash" in systems:
        nhash = max(1, round(args.bits / math.log2(max(args.n, 2))))
        b = args.bits // nhash
        t = time.perf_counter()
        mh = faiss.IndexBinaryMultiHash(args.bits, nhash, b)
        mh.add(codes)
        build = time.perf_counter() - t
        mh.nflip = 3
        mq = single[: args.multihash_queries or len(single)]
        for k in ks:
            want = truth(args, k, nq)[: len(mq)]
            t = time.perf_counter()
            D, _ = mh.search(mq, k)
            secs = time.perf_counter() - t
            ok = [bool(np.array_equal(D[i].astype(np.uint32), want[i])) for i in range(len(mq))]
            emit(args, "faiss-multihash", k, None, qps=len(mq) / secs, build_s=build,
                 bytes_per_code=None, exact=all(ok), exact_fraction=sum(ok) / len(ok), mode="single-batch",
                 queries=len(mq), nhash=nhash, b=b, nflip=3)


if __name__ == "__main__":
    main()
