"""Class-aware ranking (search_class_first, search_radius_class_first, search_image(rank=...))
against a numpy reference: the items of the class first, then the others, each group ascending
by (distance, id)."""

import numpy as np
import pytest

import hamdb
from conftest import sample_files

BYTES = 4  # 32-bit codes


def reference(codes, labels, q, cls, k=None, r=None):
    d = np.unpackbits(np.bitwise_xor(codes, np.frombuffer(q, np.uint8)), axis=1).sum(axis=1)
    rows = sorted((int(d[i]), i) for i in range(len(codes)) if r is None or d[i] <= r)
    first = [(i, dist) for dist, i in rows if labels[i] == cls]
    rest = [(i, dist) for dist, i in rows if labels[i] != cls]
    if k is None:
        return first + rest
    return (first[:k] + rest)[:k]


@pytest.fixture
def filled(path):
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 256, (300, BYTES), dtype=np.uint8)
    labels = [None if i % 7 == 6 else i % 4 for i in range(300)]
    db = hamdb.create(path, 8 * BYTES, auto_compact=False)
    b = hamdb.WriteBatch()
    for i in range(200):
        b.insert(i, codes[i], label=labels[i])
    db.commit(b)
    db.flush()  # a segment and a delta
    b = hamdb.WriteBatch()
    for i in range(200, 300):
        b.insert(i, codes[i], label=labels[i])
    db.commit(b)
    yield db, codes, labels, rng
    db.close()


def test_class_first_matches_the_reference(filled):
    db, codes, labels, rng = filled
    snap = db.snapshot()
    for t in range(40):
        q = rng.integers(0, 256, BYTES, dtype=np.uint8).tobytes()
        cls = t % 6  # 4 and 5: no item has them (distance order)
        k = [1, 3, 10, 50, 80, 1000][t % 6]
        want = reference(codes, labels, q, cls, k=k)
        for view in (db, snap):
            got = view.search_class_first(q, k, cls)
            assert [(h.id, h.distance) for h in got] == want
            assert all(h.label == labels[h.id] for h in got)
        r = t % 12
        want = reference(codes, labels, q, cls, r=r)
        for view in (db, snap):
            got = view.search_radius_class_first(np.frombuffer(q, np.uint8), r, cls)
            assert [(h.id, h.distance) for h in got] == want
    # with no item of the class it is the plain search
    q = codes[5].tobytes()
    assert [(h.id, h.distance) for h in db.search_class_first(q, 20, 9)] == [
        (h.id, h.distance) for h in db.search(q, 20)
    ]


def test_class_first_errors(filled):
    db, _, _, _ = filled
    with pytest.raises(hamdb.CodeLengthError):
        db.search_class_first(b"\x00" * 3, 5, 1)
    with pytest.raises(hamdb.CodeLengthError):
        db.snapshot().search_radius_class_first(b"\x00" * 5, 5, 1)
    with pytest.raises(TypeError):
        db.search_class_first(b"\x00" * 4, 5)  # the class is required
    with pytest.raises(OverflowError):
        db.search_class_first(b"\x00" * 4, 5, -1)
    # 2^32-1 means "no label" (HAMDB_ANY_CLASS in C): refused, as on the other bindings.
    with pytest.raises(hamdb.InvalidParameterError, match="reserved"):
        db.search_class_first(b"\x00" * 4, 5, 2**32 - 1)
    with pytest.raises(hamdb.InvalidParameterError):
        db.search_radius_class_first(b"\x00" * 4, 5, 2**32 - 1)
    snap = db.snapshot()
    db.close()
    with pytest.raises(hamdb.ClosedError):
        db.search_class_first(b"\x00" * 4, 5, 1)
    assert len(snap.search_radius_class_first(b"\x00" * 4, 32, 1)) == 300  # outlives the handle


def test_search_image_rank(enc48, tmp_path):
    files = sample_files(120)
    db = hamdb.create_for_model(str(tmp_path / "img.hamdb"), enc48)
    r = db.insert_images(enc48, files)
    assert r.inserted == 120
    for f in files[::17]:
        plain = db.search_image(enc48, f, k=12)
        assert [(h.id, h.distance) for h in db.search_image(enc48, f, k=12, rank="distance").hits] == [
            (h.id, h.distance) for h in plain.hits
        ]
        q = db.search_image(enc48, f, k=12, rank="class")
        assert q.label == plain.label
        want = [(h.id, h.distance) for h in db.search_class_first(q.code, 12, q.label)]
        assert [(h.id, h.distance) for h in q.hits] == want
        qr = db.search_image(enc48, f, radius=14, rank="class")
        want = [(h.id, h.distance) for h in db.search_radius_class_first(q.code, 14, q.label)]
        assert [(h.id, h.distance) for h in qr.hits] == want
        other = (q.label + 1) % 10  # a class filter decides
        assert [(h.id, h.distance) for h in db.search_image(enc48, f, k=5, label=other, rank="class").hits] == [
            (h.id, h.distance) for h in db.search_image(enc48, f, k=5, label=other).hits
        ]
    with pytest.raises(ValueError, match="rank"):
        db.search_image(enc48, files[0], rank="label")
    with pytest.raises(TypeError):
        db.search_image(enc48, files[0], 5, None, None, "class")  # keyword only
