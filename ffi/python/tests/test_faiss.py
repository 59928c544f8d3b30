"""hamdb.faiss.IndexBinaryHamdb against faiss.IndexBinaryFlat / IndexBinaryIDMap on the same
arrays: identical D and I (dtypes, padding and tie order included), lifetime, bad inputs.

faiss is imported unconditionally: it is pinned in models/requirements-ci.txt, and a missing
faiss must fail these tests, not skip them.
"""

import gc
import os
import subprocess
import sys

import faiss
import numpy as np
import pytest

import hamdb
from hamdb.faiss import IndexBinaryHamdb


def pair(codes, bits):
    """The same codes in a fresh IndexBinaryFlat and a fresh in-memory IndexBinaryHamdb."""
    flat = faiss.IndexBinaryFlat(bits)
    flat.add(codes)
    ours = IndexBinaryHamdb(bits)
    ours.add(codes)
    return flat, ours


def assert_same_knn(flat, ours, xq, k):
    """Identical (D, I), dtypes and shapes included."""
    fD, fI = flat.search(xq, k)
    D, I = ours.search(xq, k)
    assert D.dtype == fD.dtype == np.int32 and I.dtype == fI.dtype == np.int64
    assert D.shape == fD.shape == (len(xq), k) == I.shape
    np.testing.assert_array_equal(D, fD)
    np.testing.assert_array_equal(I, fI)


def assert_same_range(flat, ours, xq, radius):
    """Identical (lims, D, I), dtypes included."""
    f = flat.range_search(xq, radius)
    o = ours.range_search(xq, radius)
    for a, b in zip(o, f):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


# Codes with few distinct values, so that most distances tie: (n, distinct codes, bytes).
TIED = [(3000, 3, 8), (5000, 40, 8), (4000, 300, 2), (2000, 2, 16), (6000, 256, 1)]


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def faiss_threads(request):
    """Run FAISS with one and with two OpenMP threads (its tie order must not depend on it)."""
    old = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(request.param)
    yield request.param
    faiss.omp_set_num_threads(old)


@pytest.mark.parametrize("use_heap", [True, False])
@pytest.mark.parametrize("bits", [8, 64, 128, 256])
def test_random_codes_knn_identical(rng, faiss_threads, use_heap, bits):
    codes = rng.integers(0, 256, (5000, bits // 8), dtype=np.uint8)
    xq = rng.integers(0, 256, (70, bits // 8), dtype=np.uint8)  # > FAISS's 32-query blocks
    flat, ours = pair(codes, bits)
    flat.use_heap = use_heap
    ours.threads = faiss_threads  # hamdb's batch split over as many threads
    with ours:
        for k in (1, 10, 100):
            assert_same_knn(flat, ours, xq, k)


@pytest.mark.parametrize("use_heap", [True, False])
@pytest.mark.parametrize("n,distinct,nbytes", TIED)
def test_tied_codes_knn_identical(rng, faiss_threads, use_heap, n, distinct, nbytes):
    """Ties at the k-th place: both keep the smallest ids, rows ascend by (distance, id)."""
    base = rng.integers(0, 256, (distinct, nbytes), dtype=np.uint8)
    codes = base[rng.integers(0, distinct, n)]
    xq = np.vstack([base[:5], rng.integers(0, 256, (40, nbytes), dtype=np.uint8), codes[:5]])
    flat, ours = pair(codes, nbytes * 8)
    flat.use_heap = use_heap
    ours.threads = faiss_threads
    with ours:
        for k in (1, 2, 7, 64, 1000, n, n + 13):
            assert_same_knn(flat, ours, xq, k)


@pytest.mark.parametrize("n,distinct,nbytes", TIED[:3])
def test_tied_codes_range_identical(rng, faiss_threads, n, distinct, nbytes):
    """Strict `<` radius; each query's results ascending by id; lims uint64, D float32."""
    bits = nbytes * 8
    base = rng.integers(0, 256, (distinct, nbytes), dtype=np.uint8)
    codes = base[rng.integers(0, distinct, n)]
    xq = np.vstack([base[:4], rng.integers(0, 256, (30, nbytes), dtype=np.uint8)])
    flat, ours = pair(codes, bits)
    ours.threads = faiss_threads
    with ours:
        for radius in (-5, 0, 1, 2, 3, bits // 4, bits // 2, bits, bits + 1, 10**6):
            assert_same_range(flat, ours, xq, radius)


def test_random_codes_range_identical(rng):
    codes = rng.integers(0, 256, (20000, 4), dtype=np.uint8)
    xq = np.vstack([codes[:10], rng.integers(0, 256, (40, 4), dtype=np.uint8)])
    flat, ours = pair(codes, 32)
    with ours:
        for radius in (0, 1, 2, 6, 9, 12):
            assert_same_range(flat, ours, xq, radius)
        # the same hits as hamdb's own inclusive radius search, one below
        lims, D, I = ours.range_search(xq, 9)
        l2, i2, d2 = ours.db.search_radius(xq, 8)
        assert lims.tolist() == l2.tolist() and sorted(I.tolist()) == sorted(i2.tolist())


def test_padding_and_empty_cases(rng):
    """k > ntotal pads with INT32_MAX / -1 as FAISS; an empty index; no queries."""
    codes = rng.integers(0, 256, (5, 8), dtype=np.uint8)
    xq = rng.integers(0, 256, (3, 8), dtype=np.uint8)
    flat, ours = pair(codes, 64)
    with ours:
        assert_same_knn(flat, ours, xq, 9)
        assert_same_knn(flat, ours, xq[:1], 9)  # one query: the shim's own padding path
        assert_same_knn(flat, ours, xq[:1], 5)
        D, I = ours.search(xq, 9)
        assert (D[:, 5:] == 2**31 - 1).all() and (I[:, 5:] == -1).all()
        none = np.zeros((0, 8), np.uint8)
        assert_same_knn(flat, ours, none, 4)
        assert_same_range(flat, ours, none, 10)
    empty_flat, empty = pair(np.zeros((0, 8), np.uint8), 64)
    with empty:
        assert empty.ntotal == 0
        assert_same_knn(empty_flat, empty, xq, 3)
        assert_same_range(empty_flat, empty, xq, 65)


def test_chunked_adds_number_like_flat(rng):
    flat = faiss.IndexBinaryFlat(64)
    with IndexBinaryHamdb(64) as ours:
        for n in (100, 1, 0, 250):
            x = rng.integers(0, 4, (n, 8), dtype=np.uint8)
            flat.add(x)
            ours.add(x)
        assert ours.ntotal == flat.ntotal == 351
        assert_same_knn(flat, ours, rng.integers(0, 4, (20, 8), dtype=np.uint8), 30)
        np.testing.assert_array_equal(ours.reconstruct(350), flat.reconstruct(350))
        with pytest.raises(KeyError):
            ours.reconstruct(351)


def test_attributes():
    with IndexBinaryHamdb(128) as ours:
        flat = faiss.IndexBinaryFlat(128)
        assert (ours.d, ours.code_size, ours.ntotal, ours.is_trained) == (
            flat.d, flat.code_size, flat.ntotal, flat.is_trained)
        assert "in memory" in repr(ours)
    assert "closed" in repr(ours)


def test_non_contiguous_inputs_accepted_as_faiss(rng):
    """FAISS copies a non-C-contiguous uint8 array; so does the shim (same answers)."""
    wide = rng.integers(0, 256, (300, 16), dtype=np.uint8)
    codes = wide[:, ::2]
    xq = np.asfortranarray(wide[:20, 1::2])
    flat, ours = pair(codes, 64)
    with ours:
        assert_same_knn(flat, ours, xq, 5)
        assert_same_range(flat, ours, xq, 30)


def test_remove_ids_keeps_ids_like_idmap(rng):
    """remove_ids: the count removed, other ids unchanged (IndexBinaryIDMap's behaviour)."""
    codes = rng.integers(0, 8, (2000, 8), dtype=np.uint8)
    ids = np.sort(rng.choice(10**9, 2000, replace=False)).astype(np.int64)
    idmap = faiss.IndexBinaryIDMap(faiss.IndexBinaryFlat(64))
    idmap.add_with_ids(codes, ids)
    with IndexBinaryHamdb(64) as ours:
        ours.add_with_ids(codes, ids)
        xq = rng.integers(0, 8, (25, 8), dtype=np.uint8)
        assert_same_knn(idmap, ours, xq, 50)
        gone = np.concatenate([ids[::7], ids[:3], [12345678901]])  # repeats and an absent id
        present = len(np.intersect1d(gone, ids))
        assert ours.remove_ids(gone) == idmap.remove_ids(gone) == present
        assert ours.ntotal == idmap.ntotal == 2000 - present
        assert_same_knn(idmap, ours, xq, 50)
        assert_same_range(idmap, ours, xq, 9)
        assert ours.remove_ids(np.array([], np.int64)) == 0
        assert ours.remove_ids(ids[::7].astype(np.int32)) == 0


def test_add_after_remove_does_not_reuse_ids(rng):
    """Unlike IndexBinaryFlat (which renumbers), new ids go past the highest one ever stored."""
    with IndexBinaryHamdb(16) as ours:
        ours.add(np.zeros((5, 2), np.uint8))
        assert ours.remove_ids(np.array([4, 1])) == 2
        ours.add(np.full((1, 2), 255, np.uint8))
        D, I = ours.search(np.zeros((1, 2), np.uint8), 10)
        assert I.tolist() == [[0, 2, 3, 5, -1, -1, -1, -1, -1, -1]]
        assert D[0, :4].tolist() == [0, 0, 0, 16]


def test_reset(rng, tmp_path):
    for path in (None, str(tmp_path / "r.hamdb")):
        ours = IndexBinaryHamdb(64, path)
        ours.add(rng.integers(0, 256, (50, 8), dtype=np.uint8))
        ours.reset()
        assert ours.ntotal == 0
        ours.add(np.zeros((2, 8), np.uint8))
        assert ours.search(np.zeros((1, 8), np.uint8), 3)[1].tolist() == [[0, 1, -1]]
        ours.close()
        if path is not None:
            with IndexBinaryHamdb(64, path) as again:
                assert again.ntotal == 2


def test_on_file_survives_close_and_reopen(rng, tmp_path):
    path = str(tmp_path / "f.hamdb")
    codes = rng.integers(0, 4, (1000, 8), dtype=np.uint8)
    xq = rng.integers(0, 4, (10, 8), dtype=np.uint8)
    with IndexBinaryHamdb(64, path) as ours:
        ours.add(codes)
        ours.remove_ids(np.arange(0, 1000, 3))
        before = ours.search(xq, 20)
    assert os.path.exists(path)
    with IndexBinaryHamdb(64, path) as ours:  # reopened, not recreated
        assert ours.ntotal == 1000 - 334 and repr(path) in repr(ours)
        after = ours.search(xq, 20)
        for a, b in zip(after, before):
            np.testing.assert_array_equal(a, b)
        ours.add(codes[:1])  # id 1000: one past the highest ever stored (999)
        assert ours.reconstruct(1000).tobytes() == codes[0].tobytes()
    with pytest.raises(hamdb.CodeLengthError, match="64-bit codes"):
        IndexBinaryHamdb(128, path)
    with hamdb.open(path) as db:  # an ordinary hamdb file
        assert len(db) == 667


def test_in_memory_directory_removed_on_close_and_gc():
    ours = IndexBinaryHamdb(8)
    ours.add(np.zeros((3, 1), np.uint8))
    d = os.path.dirname(ours.path)
    assert os.path.isfile(ours.path)
    ours.close()
    ours.close()  # idempotent
    assert not os.path.exists(d)
    with pytest.raises(hamdb.ClosedError):
        ours.search(np.zeros((1, 1), np.uint8), 1)
    ours = IndexBinaryHamdb(8)
    d = os.path.dirname(ours.path)
    del ours
    gc.collect()
    assert not os.path.exists(d)
    with IndexBinaryHamdb(8) as ours:
        d = os.path.dirname(ours.path)
        ours.reset()
        assert os.path.isdir(d)
    assert not os.path.exists(d)


BAD_CODES = [
    ("float32", lambda: np.zeros((2, 8), np.float32), TypeError, "got dtype float32"),
    ("int64", lambda: np.zeros((2, 8), np.int64), TypeError, "got dtype int64"),
    ("list", lambda: [[0] * 8], TypeError, "got list"),
    ("bytes", lambda: b"\x00" * 8, TypeError, "got bytes"),
    ("1-D", lambda: np.zeros(8, np.uint8), ValueError, r"got shape \(8,\)"),
    ("3-D", lambda: np.zeros((1, 2, 8), np.uint8), ValueError, "got shape"),
    ("wrong width", lambda: np.zeros((2, 4), np.uint8), hamdb.CodeLengthError, "4 bytes per code"),
]


@pytest.mark.parametrize("what,make,exc,msg", BAD_CODES, ids=[b[0] for b in BAD_CODES])
def test_bad_code_arrays(what, make, exc, msg):
    with IndexBinaryHamdb(64) as ours:
        for call in (ours.add, lambda x: ours.add_with_ids(x, [0, 1]), lambda x: ours.search(x, 1),
                     lambda x: ours.range_search(x, 1)):
            with pytest.raises(exc, match=msg) as e:
                call(make())
            assert "uint8 array of shape [n, 8]" in str(e.value)
        assert ours.ntotal == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="multiple of 8"):
        IndexBinaryHamdb(63)
    with pytest.raises(ValueError, match="multiple of 8"):
        IndexBinaryHamdb(0)
    with pytest.raises(TypeError):
        IndexBinaryHamdb(64.0)
    with IndexBinaryHamdb(64) as ours:
        x = np.zeros((2, 8), np.uint8)
        with pytest.raises(ValueError, match="k must be > 0"):
            ours.search(x, 0)
        with pytest.raises(TypeError):
            ours.search(x, 2.0)
        with pytest.raises(TypeError):
            ours.range_search(x, 1.5)
        with pytest.raises(ValueError, match="no search parameters"):
            ours.search(x, 1, params=faiss.SearchParameters())
        with pytest.raises(ValueError, match=r"0\.\.2\*\*63-1"):
            ours.add_with_ids(x, [0, -1])
        with pytest.raises(TypeError, match="integers"):
            ours.add_with_ids(x, [0.0, 1.5])
        with pytest.raises(ValueError, match=r"shape \[2\]"):
            ours.add_with_ids(x, [0, 1, 2])
        with pytest.raises(hamdb.DuplicateIdError):
            ours.add_with_ids(x, [3, 3])
        with pytest.raises(TypeError, match="integers"):
            ours.remove_ids(np.array(["a"]))
        assert ours.ntotal == 0
        ours.add_with_ids(x, np.array([7, 9], np.int32))
        with pytest.raises(hamdb.DuplicateIdError):
            ours.add_with_ids(x[:1], [9])
        assert ours.ntotal == 2
        # numpy integer scalars work (FAISS itself refuses np.int64 for k)
        assert ours.search(x, np.int64(1))[1].tolist() == [[7], [7]]


def test_import_needs_no_faiss():
    """`import hamdb.faiss` works where faiss is not installed (here: made unimportable)."""
    code = ("import sys; sys.modules['faiss'] = None\n"
            "import numpy as np, hamdb.faiss\n"
            "i = hamdb.faiss.IndexBinaryHamdb(8); i.add(np.zeros((1, 1), np.uint8))\n"
            "assert i.search(np.zeros((1, 1), np.uint8), 1)[1].tolist() == [[0]]\n")
    subprocess.run([sys.executable, "-c", code], check=True)
