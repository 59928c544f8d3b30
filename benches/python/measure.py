"""The Python side of `make bench-python`: timings of hamdb from Python and of FAISS.

The machine is shared, so timings are taken in rounds that interleave the systems (each round
times every system once, and the Rust side runs once a round too): a busy spell then slows all
of them alike instead of whichever ran during it. Rows are ``{"system", "form", "median_s",
"samples_s", ...}``, in seconds. One thread throughout (hamdb searches on the calling thread;
the driver sets FAISS to one OpenMP thread).
"""

import statistics
import time

import numpy as np

#: Calls per timed block of the per-call measurement (benches/python/rust_side.rs uses the
#: same): short enough that most blocks run unpreempted, so the median is the undisturbed cost.
BLOCK = 100


class Timed:
    """One system's measurement: what to call, and the samples gathered over the rounds."""

    def __init__(self, system, form, fn, args=None, **extra):
        """``fn(a)`` for each ``a`` of ``args`` (per call), or ``fn()`` (a batch) if no args."""
        self.system, self.form, self.fn, self.args, self.extra = system, form, fn, args, extra
        self.samples, self.result = [], None

    def round(self):
        """Time one round: a pass over ``args`` in blocks of BLOCK calls (one sample per
        block, seconds per call), or one batch (one sample, seconds; its result kept)."""
        if self.args is None:
            t = time.perf_counter()
            self.result = self.fn()
            self.samples.append(time.perf_counter() - t)
            return
        fn = self.fn
        for i in range(0, len(self.args), BLOCK):
            block = self.args[i : i + BLOCK]
            t = time.perf_counter()
            for a in block:
                fn(a)
            self.samples.append((time.perf_counter() - t) / len(block))

    def row(self):
        """The row of the report: the median of every sample, and the samples."""
        row = {"system": self.system, "form": self.form, "median_s": statistics.median(self.samples),
               "samples_s": self.samples}
        row.update(self.extra)
        return row


def per_call_forms(db, index, xq, k, flat=None):
    """One 10-NN query per call from Python, in each form a caller would use (the arguments
    are built beforehand: the loop itself is part of what a Python caller pays)."""
    rows_1d = list(xq)  # 1-D uint8 views, one per query
    as_bytes = [q.tobytes() for q in xq]
    one_row = [xq[i : i + 1] for i in range(len(xq))]
    forms = [
        Timed("hamdb-python", "db.search(code_1d, k) -> [Hit]", lambda q: db.search(q, k), rows_1d),
        Timed("hamdb-python", "db.search(bytes, k) -> [Hit]", lambda q: db.search(q, k), as_bytes),
        Timed("hamdb-python", "db.search(codes[1, :], k) -> arrays", lambda q: db.search(q, k), one_row),
        Timed("hamdb.faiss", "index.search(codes[1, :], k)", lambda q: index.search(q, k), one_row),
    ]
    if flat is not None:  # FAISS's own per-call cost, for scale
        forms.append(Timed("faiss-flat", "index.search(codes[1, :], k)", lambda q: flat.search(q, k), one_row))
    return forms


def multihash_rows(faiss, codes, xq, k, nhash, b, plan, want_d):
    """IndexBinaryMultiHash (approximate: a neighbour is found only if one of its ``nhash``
    ``b``-bit substrings is within ``nflip`` bits of the query's): build time, then one batch of
    the first ``nq`` queries per ``(nflip, nq)`` of ``plan``, with the fraction of those queries
    whose distances equal the exact ones (``want_d``). Timed once: it is far from the others."""
    t = time.perf_counter()
    mh = faiss.IndexBinaryMultiHash(codes.shape[1] * 8, nhash, b)
    mh.add(codes)
    build = time.perf_counter() - t
    rows = []
    for nflip, nq in plan:
        mh.nflip = nflip
        q = xq[:nq]
        m = Timed("faiss-multihash", f"index.search(codes[{nq}, :], k)", lambda: mh.search(q, k),
                  nhash=nhash, b=b, nflip=nflip, build_s=build, queries=nq)
        m.round()
        row = m.row()
        row["exact_fraction"] = float(np.mean(np.all(m.result[0] == want_d[:nq], axis=1)))
        rows.append(row)
    return rows
