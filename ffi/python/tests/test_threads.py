"""Threads: 8 searchers while one thread commits; the GIL is released during a search."""

import sys
import threading

import numpy as np
import pytest

import hamdb
from conftest import brute_knn, hamming


def test_searchers_while_committing(path, rng):
    n, bits, k = 5000, 64, 5
    base = rng.integers(0, 256, (n, 8), dtype=np.uint8)
    base_ids = np.arange(n, dtype=np.uint64)
    added = rng.integers(0, 256, (400, 8), dtype=np.uint8)
    added_ids = np.arange(10**6, 10**6 + 400, dtype=np.uint64)
    code_of = {int(i): c for i, c in zip(base_ids, base)}
    code_of.update({int(i): c for i, c in zip(added_ids, added)})
    queries = rng.integers(0, 256, (30, 8), dtype=np.uint8)
    base_best = [brute_knn(q, base, base_ids, k) for q in queries]
    errors = []
    stop = threading.Event()

    with hamdb.create(path, bits) as db:
        db.import_codes(base, ids=base_ids)

        def writer():
            try:
                for j in range(0, 400, 20):
                    b = hamdb.WriteBatch()
                    for i in range(j, j + 20):
                        b.insert(int(added_ids[i]), added[i].tobytes())
                    db.commit(b)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
            finally:
                stop.set()

        def searcher(t):
            try:
                rounds = 0
                while not stop.is_set() or rounds < 3:
                    rounds += 1
                    I, D = db.search(queries, k)
                    for qi, q in enumerate(queries):
                        got = list(zip(I[qi].tolist(), D[qi].tolist()))
                        # each hit is a real item at its true distance, in (distance, id) order
                        assert got == sorted(got, key=lambda x: (x[1], x[0]))
                        for i, d in got:
                            assert int(hamming(q, code_of[i][None, :])[0]) == d
                        # items were only added: never worse than the base set alone
                        assert all(a <= b for (_, a), (_, b) in zip(got, base_best[qi]))
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=searcher, args=(t,)) for t in range(8)]
        w = threading.Thread(target=writer)
        for t in threads:
            t.start()
        w.start()
        w.join()
        for t in threads:
            t.join()
        assert not errors, errors
        all_codes = np.vstack([base, added])
        all_ids = np.concatenate([base_ids, added_ids])
        I, D = db.search(queries, k)
        for qi, q in enumerate(queries):
            assert list(zip(I[qi].tolist(), D[qi].tolist())) == brute_knn(q, all_codes, all_ids, k)


def test_search_releases_the_gil(path, rng):
    """With a huge switch interval a thread keeps the GIL until it releases it itself. The main
    thread waits on an event the search thread sets just before its search: if the search held
    the GIL, the main thread could run again only after the search returned (done is set);
    since it releases it, the main thread runs while the search is still inside the call."""
    with hamdb.create(path, 64) as db:
        db.import_codes(rng.integers(0, 256, (50_000, 8), dtype=np.uint8))
        queries = rng.integers(0, 256, (3000, 8), dtype=np.uint8)
        started, done = threading.Event(), threading.Event()

        def search():
            started.set()
            db.search(queries, 10)
            done.set()

        old = sys.getswitchinterval()
        sys.setswitchinterval(1000.0)
        try:
            t = threading.Thread(target=search)
            t.start()
            started.wait()
            ran_during_search = not done.is_set()
        finally:
            sys.setswitchinterval(old)
        t.join()
        assert done.is_set()
        assert ran_during_search


def test_a_batch_search_on_several_threads_equals_one_thread(tmp_path):
    """threads= splits a 2-D batch over threads; the answer is the same, row for row."""
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, (20_000, 8), dtype=np.uint8)
    queries = np.concatenate([codes[:300], rng.integers(0, 256, (701, 8), dtype=np.uint8)])
    with hamdb.create(str(tmp_path / "t.hamdb"), 64) as db:
        db.import_codes(codes, labels=np.arange(20_000) % 3)
        want = db.search(queries, 7)
        want_r = db.search_radius(queries, 20)
        assert want_r[0][-1] > 300  # the radius reaches more than the exact copies
        for threads in (0, 2, 3, 7, 256):
            got = db.search(queries, 7, threads=threads)
            assert all(np.array_equal(a, b) for a, b in zip(want, got)), threads
            got_r = db.search_radius(queries, 20, threads=threads)
            assert all(np.array_equal(a, b) for a, b in zip(want_r, got_r)), threads
        lab = db.search(queries[:40], 3, label=2, threads=2)
        assert np.array_equal(lab[0], db.search(queries[:40], 3, label=2)[0])
        with db.snapshot() as snap:
            assert np.array_equal(snap.search(queries, 7, threads=2)[0], want[0])
        assert db.search(queries, 0, threads=2)[0].shape == (1001, 0)
        with pytest.raises(hamdb.InvalidParameterError, match="threads"):
            db.search(queries, 7, threads=257)
