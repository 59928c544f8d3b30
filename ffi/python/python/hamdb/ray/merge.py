"""Exact k-way merges of per-shard answers, on (distance, id).

Why this is exact: every id lives on exactly one shard (routing), every shard's answer is
exact and ordered by (distance, id), so the global k nearest are among the union of each
shard's k nearest, and sorting that union on the same key gives what one database holding all
items returns, ties included. The inputs and outputs are ``Database.search``'s 2-D arrays.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from .._hamdb import NO_ID, NO_LABEL

# Padding slots (distance -1) sort after every real distance (at most 1024).
_PAD_KEY = np.int64(1 << 40)


def merge_knn(parts: Sequence[tuple], k: int, n: int, with_labels: bool = False) -> tuple:
    """Merge per-shard ``(ids [n,k], dists [n,k][, labels [n,k]])`` into one of the same form.

    ``parts`` may be empty (every shard missing, partial=True): then every row is padding.
    """
    if not parts:
        ids = np.full((n, k), NO_ID, dtype=np.uint64)
        dists = np.full((n, k), -1, dtype=np.int32)
        if with_labels:
            return ids, dists, np.full((n, k), NO_LABEL, dtype=np.uint32)
        return ids, dists
    ids = np.concatenate([p[0] for p in parts], axis=1)
    dists = np.concatenate([p[1] for p in parts], axis=1)
    key = np.where(dists < 0, _PAD_KEY, dists.astype(np.int64))
    order = np.lexsort((ids, key), axis=1)[:, :k]  # last key is primary: distance, then id
    out = (np.take_along_axis(ids, order, 1), np.take_along_axis(dists, order, 1))
    if with_labels:
        labels = np.concatenate([p[2] for p in parts], axis=1)
        out += (np.take_along_axis(labels, order, 1),)
    return tuple(np.ascontiguousarray(a) for a in out)


def merge_radius(parts: Sequence[tuple], n: int, with_labels: bool = False) -> tuple:
    """Merge per-shard CSR answers ``(lims [n+1], ids, dists[, labels])`` into one."""
    qs: List[np.ndarray] = []
    cols: List[List[np.ndarray]] = [[], [], []]
    for p in parts:
        lims = np.asarray(p[0], dtype=np.int64)
        qs.append(np.repeat(np.arange(n, dtype=np.int64), np.diff(lims)))
        for j in range(3 if with_labels else 2):
            cols[j].append(p[1 + j])
    q = np.concatenate(qs) if qs else np.zeros(0, np.int64)
    ids = np.concatenate(cols[0]) if cols[0] else np.zeros(0, np.uint64)
    dists = np.concatenate(cols[1]) if cols[1] else np.zeros(0, np.int32)
    order = np.lexsort((ids, dists, q))  # by query, then distance, then id
    lims = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(q, minlength=n), out=lims[1:])
    out = (lims, ids[order].astype(np.uint64), dists[order].astype(np.int32))
    if with_labels:
        labels: Optional[np.ndarray] = np.concatenate(cols[2]) if cols[2] else np.zeros(0, np.uint32)
        out += (labels[order].astype(np.uint32),)
    return out



def stack_knn(parts: Sequence[tuple]) -> tuple:
    """Join one shard's answers to consecutive row ranges of a batch (in row order) into its
    answer to the whole batch: ``(ids, dists[, labels])`` stacked on rows."""
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate([p[j] for p in parts], axis=0) for j in range(len(parts[0])))


def stack_radius(parts: Sequence[tuple]) -> tuple:
    """``stack_knn`` for CSR answers ``(lims, ids, dists[, labels])``: each part's ``lims`` is
    shifted by the hits before it."""
    if len(parts) == 1:
        return parts[0]
    lims = [np.zeros(1, dtype=np.int64)]
    base = 0
    for p in parts:
        pl = np.asarray(p[0], dtype=np.int64)
        lims.append(pl[1:] + base)
        base += int(pl[-1])
    cols = tuple(np.concatenate([p[j] for p in parts]) for j in range(1, len(parts[0])))
    return (np.concatenate(lims),) + cols
