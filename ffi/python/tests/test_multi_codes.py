"""Items of several codes (WriteBatch.insert_codes and the like) and queries of several codes
(search_set, search_radius_set) against a numpy reference: an item's distance is the least
over every (query code, item code) pair, and each item is answered once."""

import numpy as np
import pytest

import hamdb

BYTES = 4  # 32-bit codes


def popcount(a):
    return np.unpackbits(a, axis=-1).sum(axis=-1)


def set_distance(q, codes):
    """The least distance between any row of q and any row of codes."""
    return int(popcount(np.bitwise_xor(q[:, None, :], codes[None, :, :])).min())


def brute(items, q, k=None, r=None, label=None):
    rows = [
        (set_distance(q, codes), id_)
        for id_, (codes, lab) in items.items()
        if label is None or lab == label
    ]
    rows.sort()
    if r is not None:
        rows = [x for x in rows if x[0] <= r]
    if k is not None:
        rows = rows[:k]
    return [(id_, d) for d, id_ in rows]


@pytest.fixture
def filled(path):
    rng = np.random.default_rng(5)
    db = hamdb.create(path, 8 * BYTES, auto_compact=False)
    items = {}
    b = hamdb.WriteBatch()
    for id_ in range(120):
        n = int(rng.integers(1, 6))
        codes = rng.integers(0, 256, (n, BYTES), dtype=np.uint8)
        lab = id_ % 3
        if id_ % 4 == 0:
            b.insert_codes(id_, codes, label=lab, payload=b"m%d" % id_)
        elif id_ % 4 == 1:  # a list of bytes
            b.insert_codes(id_, [c.tobytes() for c in codes], label=lab, payload=b"m%d" % id_)
        elif id_ % 4 == 2:  # a list of 1-D arrays, and a one-code item through insert
            if n == 1:
                b.insert(id_, codes[0], label=lab, payload=b"m%d" % id_)
            else:
                b.insert_codes(id_, list(codes), label=lab, payload=b"m%d" % id_)
        else:  # a non-contiguous 2-D array (every other column of a wider one)
            wide = np.zeros((n, 2 * BYTES), np.uint8)
            wide[:, ::2] = codes
            b.insert_codes(id_, wide[:, ::2], label=lab, payload=b"m%d" % id_)
        items[id_] = (codes, lab)
    auto = rng.integers(0, 256, (3, BYTES), dtype=np.uint8)
    b.insert_auto_codes(auto, label=1)
    info = db.commit(b)
    (auto_id,) = info.assigned_ids
    items[auto_id] = (auto, 1)
    # upserts: a one-code item gets several, a several-code item gets one
    b = hamdb.WriteBatch()
    up = rng.integers(0, 256, (4, BYTES), dtype=np.uint8)
    b.upsert_codes(0, up, label=0)
    items[0] = (up, 0)
    one = rng.integers(0, 256, (1, BYTES), dtype=np.uint8)
    b.upsert_codes(4, one, label=items[4][1])
    items[4] = (one, items[4][1])
    db.commit(b)
    yield db, items, rng
    db.close()


def test_search_set_matches_brute_force(filled):
    db, items, rng = filled
    snap = db.snapshot()
    db.compact()  # segments for the db's searches; the snapshot keeps its delta view
    for i in range(16):
        q = rng.integers(0, 256, (1 + i % 4, BYTES), dtype=np.uint8)
        label = 2 if i % 3 == 1 else None
        k, r = i + 1, 5 + i % 4
        for view in (db, snap):
            got = [(h.id, h.distance) for h in view.search_set(q, k, label)]
            assert got == brute(items, q, k=k, label=label)
            got = [(h.id, h.distance) for h in view.search_radius_set(q, r, label=label)]
            assert got == brute(items, q, r=r, label=label)
        # the forms of a query set: a list of bytes, a list of arrays
        hits = db.search_set([c.tobytes() for c in q], k)
        assert [(h.id, h.distance) for h in hits] == brute(items, q, k=k)
        assert [(h.id, h.distance) for h in db.search_set(list(q), k)] == brute(items, q, k=k)
    # each item once, also for a k beyond the live items
    hits = db.search_set(q, 10_000)
    assert sorted(h.id for h in hits) == sorted(items)
    hit = db.search_set(items[7][0][-1:], 1)[0]
    assert hit.distance == 0 and hit.payload.startswith(b"m")
    snap.close()


def test_get_returns_every_code(filled):
    db, items, _ = filled
    snap = db.snapshot()
    for id_, (codes, lab) in items.items():
        for view in (db, snap):
            it = view.get(id_)
            assert it.codes.dtype == np.uint8 and it.codes.shape == codes.shape
            assert np.array_equal(it.codes, codes)
            assert it.code == codes[0].tobytes() and it.label == lab
    # an item of one code: one row
    b = hamdb.WriteBatch()
    b.insert(5000, b"\x01\x02\x03\x04")
    db.commit(b)
    assert db.get(5000).codes.tolist() == [[1, 2, 3, 4]]
    snap.close()


def test_most_codes_and_errors(filled):
    db, _, rng = filled
    assert hamdb.MAX_CODES_PER_ITEM == 64
    most = rng.integers(0, 256, (hamdb.MAX_CODES_PER_ITEM, BYTES), dtype=np.uint8)
    b = hamdb.WriteBatch()
    b.insert_codes(9000, most)
    db.commit(b)
    assert db.get(9000).codes.shape == (64, BYTES)

    def commit_error(add):
        b = hamdb.WriteBatch()
        add(b)
        with pytest.raises(hamdb.Error) as e:
            db.commit(b)
        return e.value

    too_many = rng.integers(0, 256, (65, BYTES), dtype=np.uint8)
    e = commit_error(lambda b: b.insert_codes(9001, too_many))
    assert isinstance(e, hamdb.InvalidParameterError) and "codes" in str(e)
    e = commit_error(lambda b: b.insert_auto_codes(np.zeros((0, BYTES), np.uint8)))
    assert isinstance(e, hamdb.InvalidParameterError)
    e = commit_error(lambda b: b.upsert_codes(9001, [b"\x01\x02\x03\x04", b"\x01\x02"]))
    assert isinstance(e, hamdb.InvalidParameterError)
    e = commit_error(lambda b: b.insert_codes(9001, np.zeros((2, 3), np.uint8)))
    assert isinstance(e, hamdb.CodeLengthError)
    e = commit_error(lambda b: b.insert_codes(1, most[:2]))
    assert isinstance(e, hamdb.DuplicateIdError)

    b = hamdb.WriteBatch()
    with pytest.raises(TypeError):
        b.insert_codes(1, b"\x01\x02\x03\x04")  # one code: use insert, or [code]
    with pytest.raises(TypeError):
        b.insert_codes(1, np.zeros((2, BYTES), np.int32))
    with pytest.raises(TypeError):
        b.insert_codes(1, np.zeros(BYTES, np.uint8))
    with pytest.raises(TypeError):
        b.insert_codes(1, 7)
    with pytest.raises(hamdb.UnsupportedCodeLengthError):
        b.insert_codes(1, [b""])
    assert len(b) == 0

    with pytest.raises(hamdb.InvalidParameterError):
        db.search_set(np.zeros((0, BYTES), np.uint8), 3)
    with pytest.raises(hamdb.InvalidParameterError):
        db.snapshot().search_radius_set([], 3)
    with pytest.raises(hamdb.CodeLengthError):
        db.search_set([b"\x01\x02"], 3)
    with pytest.raises(hamdb.CodeLengthError):
        db.search_radius_set(np.zeros((2, 8), np.uint8), 3)
    with pytest.raises(TypeError):
        db.search_set(b"\x01\x02\x03\x04", 3)
    snap = db.snapshot()
    db.close()
    with pytest.raises(hamdb.ClosedError):
        db.search_set([b"\x01\x02\x03\x04"], 3)
    assert len(snap.search_radius_set([b"\x01\x02\x03\x04"], 32)) == len(snap)
    snap.close()
    with pytest.raises(hamdb.ClosedError):
        snap.search_set([b"\x01\x02\x03\x04"], 3)
