"""The API: round trip, batches, stats, get, import, searches vs a numpy reference."""

import numpy as np
import pytest

import hamdb
from conftest import brute_knn, brute_radius


def test_round_trip(path):
    with hamdb.create(path, 48, fingerprint=b"enc") as db:
        b = hamdb.WriteBatch()
        b.insert(1, bytes.fromhex("f00dfeedbeef"), label=3, payload=b"images/1.png")
        b.insert_auto(np.frombuffer(bytes.fromhex("f00dfeedbeee"), np.uint8), label=3)
        b.upsert(7, bytes.fromhex("000000000000"))
        assert len(b) == 3
        info = db.commit(b)
        assert info.txn >= 1 and len(info.assigned_ids) == 1
        assert len(db) == 3
    db = hamdb.open(path)
    try:
        hits = db.search(bytes.fromhex("f00dfeedbeef"), 2)
        assert [(h.id, h.distance) for h in hits] == [(1, 0), (info.assigned_ids[0], 1)]
        assert hits[0].label == 3 and hits[0].payload == b"images/1.png"
        assert hits[1].payload == b""
        item = db.get(1)
        assert item.code == bytes.fromhex("f00dfeedbeef") and item.label == 3
        assert db.get(12345) is None
        s = db.stats()
        assert s["code_bits"] == 48 and s["items"] == 3 and s["fingerprint"] == b"enc"
        assert db.bits == 48
        b = hamdb.WriteBatch()
        b.delete(1)
        b.delete(99)  # absent: not an error
        db.commit(b)
        assert db.get(1) is None and len(db) == 2
        db.flush()
        db.compact()
        assert db.stats()["items"] == 2
        assert not db.refresh()
        assert hamdb.verify(path)["items"] == 2
        only = db.search(bytes.fromhex("f00dfeedbeef"), 10, label=3)
        assert [h.id for h in only] == [info.assigned_ids[0]]
    finally:
        db.close()


def test_duplicate_id(path):
    with hamdb.create(path, 8) as db:
        b = hamdb.WriteBatch()
        b.insert(1, b"\x01")
        db.commit(b)
        with pytest.raises(hamdb.DuplicateIdError):
            db.commit(b)


@pytest.mark.parametrize("bits", [8, 64, 128])
def test_batch_search_matches_per_query_and_numpy(path, rng, bits):
    n, nq, k = 3000, 40, 10
    nb = bits // 8
    # Few distinct values per byte, so ties are common and the (distance, id) order matters.
    codes = rng.integers(0, 4, (n, nb), dtype=np.uint8)
    ids = rng.permutation(10 * n)[:n].astype(np.uint64)
    labels = rng.integers(0, 3, n).astype(np.uint32)
    with hamdb.create(path, bits) as db:
        info = db.import_codes(codes, ids=ids, labels=labels)
        assert info.assigned_ids == [] or sorted(info.assigned_ids) == sorted(ids.tolist())
        # a few more in the delta, so both the segment and the delta are searched
        b = hamdb.WriteBatch()
        extra = rng.integers(0, 4, (50, nb), dtype=np.uint8)
        for j, c in enumerate(extra):
            b.insert(10 * n + j, c.tobytes(), label=1)
        db.commit(b)
        all_codes = np.vstack([codes, extra])
        all_ids = np.concatenate([ids, np.arange(10 * n, 10 * n + 50, dtype=np.uint64)])
        all_labels = np.concatenate([labels, np.ones(50, np.uint32)])
        queries = rng.integers(0, 4, (nq, nb), dtype=np.uint8)
        I, D = db.search(queries, k)
        assert I.dtype == np.uint64 and D.dtype == np.int32 and I.shape == (nq, k) == D.shape
        for i, q in enumerate(queries):
            want = brute_knn(q, all_codes, all_ids, k)
            assert list(zip(I[i].tolist(), D[i].tolist())) == want
            assert [(h.id, h.distance) for h in db.search(q, k)] == want
        # label filter
        IL, DL = db.search(queries, k, label=2)
        sel = all_labels == 2
        for i, q in enumerate(queries):
            assert list(zip(IL[i].tolist(), DL[i].tolist())) == brute_knn(q, all_codes[sel], all_ids[sel], k)
        # radius
        r = bits // 8
        lims, RI, RD = db.search_radius(queries, r)
        assert lims.dtype == np.int64 and lims.shape == (nq + 1,) and lims[0] == 0
        assert RI.dtype == np.uint64 and RD.dtype == np.int32
        for i, q in enumerate(queries):
            want = brute_radius(q, all_codes, all_ids, r)
            got = list(zip(RI[lims[i]:lims[i + 1]].tolist(), RD[lims[i]:lims[i + 1]].tolist()))
            assert got == want
            assert [(h.id, h.distance) for h in db.search_radius(q.tobytes(), r)] == want


def test_padding_when_fewer_than_k(path):
    with hamdb.create(path, 16) as db:
        db.import_codes(np.array([[0, 0], [0, 1]], np.uint8), ids=[5, 6])
        I, D = db.search(np.zeros((2, 2), np.uint8), 4)
        assert I.tolist() == [[5, 6, hamdb.NO_ID, hamdb.NO_ID]] * 2
        assert D.tolist() == [[0, 1, -1, -1]] * 2
        lims, RI, RD = db.search_radius(np.zeros((1, 2), np.uint8), 0)
        assert lims.tolist() == [0, 1] and RI.tolist() == [5] and RD.tolist() == [0]


def test_import_auto_ids(path, rng):
    codes = rng.integers(0, 256, (100, 8), dtype=np.uint8)
    with hamdb.create(path, 64) as db:
        info = db.import_codes(codes)
        assert len(info.assigned_ids) == 100
        for i in (0, 57, 99):
            assert db.get(info.assigned_ids[i]).code == codes[i].tobytes()


def test_import_reads_numpy_buffer_in_place(path, rng):
    """A C-contiguous uint8 array (also a read-only one, or a row slice) is accepted as is."""
    base = rng.integers(0, 256, (20, 8), dtype=np.uint8)
    ro = base.copy()
    ro.setflags(write=False)
    with hamdb.create(path, 64) as db:
        db.import_codes(ro, ids=np.arange(20))
        db.import_codes(base[5:10], ids=np.arange(100, 105))  # a row slice is still C-contiguous
        assert db.get(3).code == base[3].tobytes()
        assert db.get(102).code == base[7].tobytes()
        assert len(db) == 25


BAD = [
    ("int64 dtype", lambda: np.zeros((3, 8), np.int64), TypeError),
    ("bool dtype", lambda: np.zeros((3, 8), np.bool_), TypeError),
    ("a list", lambda: [[0] * 8] * 3, TypeError),
    ("bytes", lambda: b"\x00" * 8, TypeError),
    ("1-D", lambda: np.zeros(8, np.uint8), ValueError),
    ("3-D", lambda: np.zeros((2, 3, 8), np.uint8), ValueError),
    ("wrong width", lambda: np.zeros((3, 7), np.uint8), hamdb.CodeLengthError),
    ("column slice", lambda: np.zeros((3, 16), np.uint8)[:, ::2], ValueError),
    ("Fortran order", lambda: np.asfortranarray(np.arange(24, dtype=np.uint8).reshape(3, 8)), ValueError),
]


@pytest.mark.parametrize("what,make,exc", BAD, ids=[b[0] for b in BAD])
def test_import_rejects_bad_arrays(path, what, make, exc):
    with hamdb.create(path, 64) as db:
        with pytest.raises(exc) as e:
            db.import_codes(make())
        if exc is not hamdb.CodeLengthError:
            assert "uint8 array of shape [N, 8]" in str(e.value)
        assert len(db) == 0


def test_import_rejects_bad_columns(path):
    with hamdb.create(path, 8) as db:
        with pytest.raises(ValueError, match="`ids` has 2 entries for 3 codes"):
            db.import_codes(np.zeros((3, 1), np.uint8), ids=[1, 2])
        with pytest.raises(hamdb.DuplicateIdError):
            db.import_codes(np.zeros((2, 1), np.uint8), ids=[4, 4])
        # numpy would wrap -1 to 2**64-1 and truncate 1.5 to 1: refused instead.
        with pytest.raises(ValueError, match="outside"):
            db.import_codes(np.zeros((2, 1), np.uint8), ids=[1, -1])
        with pytest.raises(TypeError, match="integers"):
            db.import_codes(np.zeros((2, 1), np.uint8), ids=[1.0, 1.5])
        with pytest.raises(ValueError, match="outside"):
            db.import_codes(np.zeros((2, 1), np.uint8), labels=[0, 2**32])
        with pytest.raises(TypeError, match="integers"):
            db.import_codes(np.zeros((1, 1), np.uint8), labels=["a"])
        assert len(db) == 0


def test_batch_search_rejects_bad_arrays(path):
    with hamdb.create(path, 64) as db:
        with pytest.raises(ValueError, match="non-C-contiguous"):
            db.search(np.zeros((3, 16), np.uint8)[:, ::2], 1)
        with pytest.raises(TypeError):
            db.search(np.zeros((3, 8), np.int32), 1)
        with pytest.raises(hamdb.CodeLengthError):
            db.search_radius(np.zeros((3, 4), np.uint8), 1)
        with pytest.raises(TypeError, match="1-D uint8 array"):
            db.search(np.zeros(8, np.float32), 1)
        with pytest.raises(TypeError):
            db.search("f00d", 1)


def test_reprs(path):
    with hamdb.create(path, 8) as db:
        b = hamdb.WriteBatch()
        b.insert(1, b"\x0f", label=3, payload=b"p")
        b.insert(2, b"\x0e")
        info = db.commit(b)
        assert repr(info).startswith("CommitInfo(txn=")
        hits = db.search(b"\x0f", 2)
        assert repr(hits[0]) == "Hit(id=1, distance=0, label=3, payload=b'p')"
        assert repr(hits[1]) == "Hit(id=2, distance=1, label=None, payload=b'')"
        assert repr(db.get(2)) == "Item(id=2, code=b'\\x0e', label=None, payload=b'')"
        assert "bits=8" in repr(db)
    assert repr(db) == "<hamdb.Database (closed)>"


def test_batch_search_huge_k_is_memory_error(path):
    with hamdb.create(path, 8) as db:
        with pytest.raises(MemoryError):
            db.search(np.zeros((4, 1), np.uint8), 2**62)


def test_batch_searches_return_labels_on_request(path, rng):
    codes = rng.integers(0, 256, (3000, 8), dtype=np.uint8)
    labels = (np.arange(3000) % 5).astype(np.uint32)
    with hamdb.create(path, 64) as db:
        db.import_codes(codes, labels=labels)
        b = hamdb.WriteBatch()
        b.insert(10_000, codes[0])  # no label
        db.commit(b)
        q = np.vstack([codes[:40], rng.integers(0, 256, (5, 8), dtype=np.uint8)])
        for threads in (1, 2):
            ids, dists, labs = db.search(q, 4, with_labels=True, threads=threads)
            assert labs.dtype == np.uint32 and labs.shape == ids.shape
            want = [[db.get(int(i)).label for i in row] for row in ids]
            got = [[None if x == hamdb.NO_LABEL else int(x) for x in row] for row in labs]
            assert got == want
            assert labs[0].tolist().count(hamdb.NO_LABEL) == 1  # item 10_000 ties item 0
            i2, d2 = db.search(q, 4, threads=threads)
            assert np.array_equal(i2, ids) and np.array_equal(d2, dists)
            lims, ri, rd, rl = db.search_radius(q, 6, with_labels=True, threads=threads)
            assert rl.dtype == np.uint32 and len(rl) == len(ri) == lims[-1]
            assert [db.get(int(i)).label for i in ri] == [
                None if x == hamdb.NO_LABEL else int(x) for x in rl
            ]
        # padding: more slots than items carrying a label
        ids, dists, labs = db.search(q[:1], 4, label=3, with_labels=True)
        assert set(labs[0].tolist()) == {3}
        small = db.search(q[:1], 5000, with_labels=True)[2]
        assert (small[0, 3001:] == hamdb.NO_LABEL).all()
    assert hamdb.NO_LABEL == 2**32 - 1


def test_batch_search_threads_give_the_one_query_answers(path, rng):
    codes = rng.integers(0, 4, (2500, 8), dtype=np.uint8)
    with hamdb.create(path, 64) as db:
        db.import_codes(codes, labels=(np.arange(2500) % 3).astype(np.uint32))
        q = rng.integers(0, 4, (70, 8), dtype=np.uint8)
        for label in (None, 1):
            want = [[(h.id, h.distance) for h in db.search(row, 5, label)] for row in q]
            want_r = [[(h.id, h.distance) for h in db.search_radius(row, 3, label)] for row in q]
            for threads in (0, 1, 3, 256):
                I, D = db.search(q, 5, label, threads=threads)
                assert [list(zip(i.tolist(), d.tolist())) for i, d in zip(I, D)] == want
                lims, RI, RD = db.search_radius(q, 3, label, threads=threads)
                got = [
                    list(zip(RI[a:b].tolist(), RD[a:b].tolist())) for a, b in zip(lims[:-1], lims[1:])
                ]
                assert got == want_r
        with pytest.raises(hamdb.InvalidParameterError):
            db.search(q, 5, threads=257)
        with pytest.raises(hamdb.InvalidParameterError):
            db.search_radius(q, 3, threads=257)
        I, D = db.search(q[:0], 5)
        assert I.shape == (0, 5) and D.shape == (0, 5)


def test_create_expected_radius(tmp_path):
    p = tmp_path / "r.hamdb"
    with hamdb.create(p, 64, expected_radius=6) as db:
        assert db.expected_radius == 6
    with hamdb.open(p, read_only=True) as db:
        assert db.expected_radius == 6
    with hamdb.create(tmp_path / "d.hamdb", 64) as db:
        assert db.expected_radius is None
    with pytest.raises(hamdb.InvalidParameterError):
        hamdb.create(tmp_path / "bad.hamdb", 64, expected_radius=65)
