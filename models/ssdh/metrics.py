"""Retrieval metrics for binary codes, numpy only.

Protocol: every query is ranked against the whole database by Hamming distance; ties are broken
by database index (a stable sort), so the ranking, and every number, is deterministic. An item is
relevant when it has the query's label."""
from __future__ import annotations

from typing import Dict

import numpy as np


def hamming(q: np.ndarray, db: np.ndarray) -> np.ndarray:
    """[nq, K] x [ndb, K] 0/1 -> uint16 distances. A float matmul counts mismatches exactly
    (integers below 2^24) and uses BLAS, which beats bit tricks in numpy."""
    qf, df = q.astype(np.float32), db.astype(np.float32)
    d = qf @ (1.0 - df).T + (1.0 - qf) @ df.T
    return np.rint(d).astype(np.uint16)


def retrieval_metrics(q_bits, q_labels, db_bits, db_labels, top: int = 1000, radius: int = 2,
                      chunk: int = 200, per_query: bool = False) -> Dict:
    """The retrieval measures of RESULTS.md; `per_query` adds "ap_full_per_query", the full-ranking
    AP of each query (map_full is its mean; models.ssdh.ap_by_correctness splits it)."""
    q_bits, db_bits = np.asarray(q_bits), np.asarray(db_bits)
    nq = len(q_bits)
    top_key = top                     # keys name the requested cut even on a tiny database
    top = min(top, len(db_bits))
    n_rel_all = np.bincount(db_labels, minlength=int(max(db_labels.max(), q_labels.max())) + 1)
    ap_full = np.zeros(nq)
    ap_top = np.zeros(nq)
    p_radius = np.zeros(nq)
    r_radius_empty = 0
    interp11 = np.zeros(nq)
    p_at_k_sum = np.zeros(top)
    pos = np.arange(1, len(db_bits) + 1, dtype=np.float64)
    for s in range(0, nq, chunk):
        e = min(nq, s + chunk)
        d = hamming(q_bits[s:e], db_bits)
        order = np.argsort(d, axis=1, kind="stable")           # ties -> lower database index first
        rel = db_labels[order] == q_labels[s:e, None]
        cum = np.cumsum(rel, axis=1, dtype=np.float64)
        n_rel = n_rel_all[q_labels[s:e]].astype(np.float64)
        prec = cum / pos
        # AP over the full ranking: mean of precision at each relevant item's rank.
        ap_full[s:e] = np.where(n_rel > 0, (prec * rel).sum(1) / np.maximum(n_rel, 1), 0.0)
        # AP@top: the same sum cut at `top`, divided by the relevant items found within `top`
        # (the convention of the DPSH/HashNet evaluation code); 0 when none is found.
        found = cum[:, top - 1]
        ap_top[s:e] = np.where(found > 0, (prec[:, :top] * rel[:, :top]).sum(1) / np.maximum(found, 1), 0.0)
        p_at_k_sum += prec[:, :top].sum(0)
        # Precision within Hamming radius: relevant / retrieved among d <= radius; a query that
        # retrieves nothing scores 0.
        within = d <= radius
        n_in = within.sum(1)
        n_in_rel = (within & (db_labels[None, :] == q_labels[s:e, None])).sum(1)
        p_radius[s:e] = np.where(n_in > 0, n_in_rel / np.maximum(n_in, 1), 0.0)
        r_radius_empty += int((n_in == 0).sum())
        # 11-point interpolated AP (the older protocol some papers, e.g. QSMI, report):
        # mean over r in {0, .1, ..., 1} of the best precision at any recall >= r.
        best_from = np.maximum.accumulate(prec[:, ::-1], axis=1)[:, ::-1]
        rows = np.arange(e - s)
        acc = np.zeros(e - s)
        for r in np.linspace(0, 1, 11):
            first = np.minimum((cum < r * n_rel[:, None] - 1e-9).sum(1), len(db_bits) - 1)
            acc += best_from[rows, first]
        interp11[s:e] = acc / 11
    p_at_k = p_at_k_sum / nq
    return {
        "queries": int(nq),
        "database": int(len(db_bits)),
        "map_full": float(ap_full.mean()),
        f"map_at_{top_key}": float(ap_top.mean()),
        "top": int(top),
        "map_11pt_interpolated": float(interp11.mean()),
        f"precision_hamming_r{radius}": float(p_radius.mean()),
        f"queries_empty_within_r{radius}": int(r_radius_empty),
        "precision_at_k": {str(k): float(p_at_k[k - 1]) for k in (1, 10, 100, 500, 1000) if k <= top},
        "precision_at_k_curve": [float(v) for v in p_at_k],
        **({"ap_full_per_query": ap_full} if per_query else {}),
    }


def bit_stats(bits: np.ndarray) -> Dict:
    """Firing rate per bit and mean |Pearson correlation| over pairs of distinct non-constant bits."""
    b = np.asarray(bits, dtype=np.float64)
    rate = b.mean(0)
    live = (rate > 0) & (rate < 1)
    bl = b[:, live]
    corr = np.corrcoef(bl.T) if bl.shape[1] > 1 else np.ones((1, 1))
    off = ~np.eye(corr.shape[0], dtype=bool)
    return {
        "firing_rate": [float(r) for r in rate],
        "firing_rate_min": float(rate.min()),
        "firing_rate_max": float(rate.max()),
        "mean_abs_rate_minus_half": float(np.abs(rate - 0.5).mean()),
        "constant_bits": int((~live).sum()),
        "mean_abs_correlation": float(np.abs(corr[off]).mean()) if off.any() else 0.0,
        # The most redundant pair: a value near 1 means two bits say the same thing.
        "max_abs_correlation": float(np.abs(corr[off]).max()) if off.any() else 0.0,
        "distinct_codes": int(len(np.unique(np.packbits(bits.astype(np.uint8), axis=1), axis=0))),
        # Bits that carry their own information: non-constant bits left after dropping each bit
        # whose |correlation| with an earlier kept bit exceeds REDUNDANT_CORRELATION (a near copy
        # of it, or of its complement).
        "non_redundant_bits": non_redundant_bits(np.abs(corr)) if bl.shape[1] > 1 else int(bl.shape[1]),
    }


REDUNDANT_CORRELATION = 0.95


def non_redundant_bits(abs_corr: np.ndarray, limit: float = REDUNDANT_CORRELATION) -> int:
    """Greedy in bit order: keep a bit unless it is within `limit` of a kept one."""
    kept = []
    for j in range(abs_corr.shape[0]):
        if all(abs_corr[j, i] <= limit for i in kept):
            kept.append(j)
    return len(kept)


def class_aware_map(q_bits, q_labels, q_class, db_bits, db_labels, db_class, chunk: int = 200) -> float:
    """Full-ranking mAP of hamdb's class-aware ranking (`search_class_first`): the database items
    whose stored class `db_class` equals the query's class `q_class` first, then the rest, each
    group in Hamming order with ties by database index. Relevance is still `q_labels ==
    db_labels` (the true labels), so with predicted classes for `q_class` / `db_class` nothing
    but the score reads a true label."""
    q_bits, db_bits = np.asarray(q_bits), np.asarray(db_bits)
    nq, nbits = len(q_bits), q_bits.shape[1]
    n_rel_all = np.bincount(db_labels, minlength=int(max(db_labels.max(), q_labels.max())) + 1)
    pos = np.arange(1, len(db_bits) + 1, dtype=np.float64)
    ap = np.zeros(nq)
    for s in range(0, nq, chunk):
        e = min(nq, s + chunk)
        d = hamming(q_bits[s:e], db_bits).astype(np.int32)
        # Other-class items sort after every same-class item: add more than the largest distance.
        key = d + (db_class[None, :] != q_class[s:e, None]) * (nbits + 1)
        order = np.argsort(key, axis=1, kind="stable")
        rel = db_labels[order] == q_labels[s:e, None]
        cum = np.cumsum(rel, axis=1, dtype=np.float64)
        n_rel = n_rel_all[q_labels[s:e]].astype(np.float64)
        ap[s:e] = np.where(n_rel > 0, (cum / pos * rel).sum(1) / np.maximum(n_rel, 1), 0.0)
    return float(ap.mean())
