"""Snapshot: a pinned commit, unaffected by later commits, usable after the database closes."""

import numpy as np
import pytest

import hamdb
from conftest import brute_knn


def test_a_snapshot_keeps_its_commit(path, rng):
    codes = rng.integers(0, 256, (500, 8), dtype=np.uint8)
    db = hamdb.create(path, 64)
    db.import_codes(codes)
    snap = db.snapshot()
    txn = snap.txn
    assert len(snap) == 500 and snap.bits == 64 and txn == db.stats()["txn"]
    b = hamdb.WriteBatch()
    for i in range(100):
        b.delete(i)
    b.insert(10_000, codes[0])
    db.commit(b)
    db.flush()
    db.compact()
    assert len(db) == 401 and len(snap) == 500 and snap.txn == txn
    q = codes[3]
    ids = np.arange(500, dtype=np.uint64)
    assert [(h.id, h.distance) for h in snap.search(q, 5)] == brute_knn(q, codes, ids, 5)
    assert snap.get(3).code == bytes(q) and db.get(3) is None
    assert snap.get(10_000) is None and db.get(10_000) is not None
    i2, d2 = snap.search(codes[:4], 3)
    assert i2.shape == (4, 3) and (d2[:, 0] == 0).all() and list(i2[:, 0]) == [0, 1, 2, 3]
    lims, ri, rd = snap.search_radius(codes[:2], 0)
    assert list(lims) == [0, 1, 2] and list(ri) == [0, 1]
    db.close()
    assert snap.search(q, 1)[0].id == 3  # still readable: it holds its commit's data
    with snap:
        pass
    assert snap.closed
    with pytest.raises(hamdb.ClosedError, match="snapshot"):
        snap.search(q, 1)
    with pytest.raises(hamdb.ClosedError):
        len(snap)
    snap.close()  # idempotent
    assert "closed" in repr(snap)


def test_snapshot_of_a_closed_database(path):
    db = hamdb.create(path, 8)
    db.close()
    with pytest.raises(hamdb.ClosedError):
        db.snapshot()
