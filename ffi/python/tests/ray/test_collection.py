"""Sharded collections on a real three-node Ray cluster on loopback (``make test-ray``).

Every answer is compared with one hamdb database holding the same items after the same
operations (the reference): exact k-NN and radius, label filters, random and clustered codes,
inserts, upserts and deletes over several commits, pinned commit vectors, SIGKILL of a shard's
process after an acknowledged commit, and a shard that stays down.
"""

import os
import signal
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")

import hamdb  # noqa: E402
import hamdb.ray as hr  # noqa: E402
from conftest import wait_dead, wait_restarted  # noqa: E402

NODES = 3
SHARDS = 4
BITS = 64
TEST_BUDGET_S = 120  # each test; a hang fails it instead of the whole run






class Pair:
    """A collection and the reference database, fed the same operations."""

    def __init__(self, tmp, shards=SHARDS, timeout_s=30.0):
        self.coll = hr.Collection.create(str(tmp / "coll"), BITS, shards, fingerprint=b"fp",
                                         node_resources=[f"node{i}" for i in range(NODES)],
                                         timeout_s=timeout_s)
        self.ref = hamdb.create(str(tmp / "ref.hamdb"), BITS, b"fp")
        self.batch = hamdb.WriteBatch()

    def insert(self, ids, codes, labels=None, payloads=None, kind="insert"):
        getattr(self.coll, kind)(ids, codes, labels, payloads)
        add = getattr(self.batch, kind)
        for j, i in enumerate(np.asarray(ids).tolist()):
            add(i, codes[j], None if labels is None else int(labels[j]),
                None if payloads is None else payloads[j])

    def delete(self, ids):
        self.coll.delete(ids)
        for i in np.asarray(ids).tolist():
            self.batch.delete(i)

    def commit(self):
        vec = self.coll.commit()
        self.ref.commit(self.batch)
        self.batch = hamdb.WriteBatch()
        return vec

    def import_codes(self, codes, ids, labels):
        vec = self.coll.import_codes(codes, ids, labels)
        self.ref.import_codes(codes, ids, labels)
        return vec

    def close(self):
        self.coll.close()
        self.ref.close()


def random_codes(rng, n):
    return rng.integers(0, 256, (n, BITS // 8), dtype=np.uint8)


def clustered_codes(rng, n, centres):
    """Few centres, each item a centre with 0..3 bits flipped: many equal codes and ties."""
    bits = np.unpackbits(centres[rng.integers(0, len(centres), n)], axis=1)
    for _ in range(3):
        rows = np.nonzero(rng.random(n) < 0.6)[0]
        bits[rows, rng.integers(0, BITS, len(rows))] ^= 1
    return np.packbits(bits, axis=1)


def assert_same(coll_or_out, ref, queries, at=None, ref_src=None):
    """Every k-NN and radius answer, with and without a label, equals the reference's."""
    src = ref if ref_src is None else ref_src  # (a Snapshot of 0 items is falsy)
    n = len(src)
    for label in (None, 2):
        for k in (1, 10, 100, n + 7):
            got = coll_or_out.search(queries, k, label, at=at)
            want = src.search(queries, k, label, threads=1)
            assert got[0].dtype == np.uint64 and got[1].dtype == np.int32
            assert np.array_equal(got[0], want[0]), f"ids differ, k={k} label={label}"
            assert np.array_equal(got[1], want[1]), f"dists differ, k={k} label={label}"
        for r in (6, 20):
            got = coll_or_out.search_radius(queries, r, label, at=at)
            want = src.search_radius(queries, r, label, threads=1)
            for g, w in zip(got, want):
                assert g.dtype == w.dtype and np.array_equal(g, w), f"radius {r} label={label}"


def test_placement_and_loopback(cluster, tmp_path):
    p = Pair(tmp_path)
    try:
        nodes = [st["node"] for st in p.coll.stats()["shards"]]
        assert nodes == [cluster.node_ids[i % NODES] for i in range(SHARDS)]
        listeners = cluster.listeners()
        assert listeners, "found no listener at all: is ss (iproute2) missing?"
        bad = [x for x in listeners if not x.loopback]
        assert not bad, f"non-loopback listeners with shard actors running: {bad}"
        # the shard actors' own processes are among the listeners checked
        pids = {st["pid"] for st in p.coll.stats()["shards"]}
        assert pids <= {x.pid for x in listeners}
    finally:
        p.close()


def test_equal_to_one_database(cluster, tmp_path):
    rng = np.random.default_rng(14)
    centres = random_codes(rng, 5)
    queries = np.concatenate([random_codes(rng, 15), clustered_codes(rng, 15, centres)])
    p = Pair(tmp_path)
    try:
        history = []  # (commit vector, reference snapshot)
        assert_same(p.coll, p.ref, queries)  # empty: all padding
        history.append((p.coll.commit_vector(), p.ref.snapshot()))

        ids1 = (np.arange(1500, dtype=np.uint64) * 2 + 1) * np.uint64(0x9E3779B97F4A7C15)  # large, odd, distinct
        vec = p.import_codes(random_codes(rng, 1500), ids1, rng.integers(0, 5, 1500))
        assert len(vec) == SHARDS and all(t > 1 for t in vec)
        assert_same(p.coll, p.ref, queries)
        history.append((vec, p.ref.snapshot()))

        ids2 = np.arange(1000, dtype=np.uint64) * 2  # even: disjoint from ids1
        p.insert(ids2, clustered_codes(rng, 1000, centres), rng.integers(0, 5, 1000),
                 [b"p%d" % i for i in range(1000)])
        history.append((p.commit(), p.ref.snapshot()))
        assert_same(p.coll, p.ref, queries)  # read-your-writes: commit() returned, so searches see it

        up = np.concatenate([ids1[:150], ids2[:150]])
        p.insert(up, clustered_codes(rng, 300, centres), rng.integers(0, 5, 300), kind="upsert")
        p.delete(np.concatenate([ids1[200:300], ids2[200:300], np.array([7, 9], np.uint64)]))
        p.insert(np.arange(5000, 5100, dtype=np.uint64), random_codes(rng, 100), None)
        history.append((p.commit(), p.ref.snapshot()))
        assert_same(p.coll, p.ref, queries)

        p.delete(ids2[300:600])
        p.insert(ids2[300:350], clustered_codes(rng, 50, centres), rng.integers(0, 5, 50), kind="upsert")
        history.append((p.commit(), p.ref.snapshot()))
        assert_same(p.coll, p.ref, queries)
        assert len(p.coll) == len(p.ref)

        # labels come back too
        ids, dists, labels = p.coll.search(queries, 10, with_labels=True)
        want = p.ref.search(queries, 10, threads=1, with_labels=True)
        assert all(np.array_equal(a, b) for a, b in zip((ids, dists, labels), want))

        # every earlier commit vector still answers as the reference did then
        for vec, snap in history:
            assert_same(p.coll, p.ref, queries, at=vec, ref_src=snap)
    finally:
        p.close()


def _ids_on_every_shard(n):
    """One id per shard (the smallest id the rule routes to it)."""
    ids, i = {}, 10**6
    while len(ids) < n:
        ids.setdefault(hr.shard_of(i, n), i)
        i += 1
    return np.array([ids[s] for s in range(n)], dtype=np.uint64)


def test_pin_released_and_not_reached(cluster, tmp_path):
    p = Pair(tmp_path)
    try:
        code = random_codes(np.random.default_rng(1), 1)
        per_shard = _ids_on_every_shard(SHARDS)
        first = p.coll.commit_vector()
        for _ in range(hr.KEEP_COMMITS + 1):  # every shard commits each time
            p.coll.upsert(per_shard, np.repeat(code, SHARDS, 0))
            last = p.coll.commit()
        with pytest.raises(hr.CommitNotHeldError, match=r"shard 0 .*no longer holds it") as e:
            p.coll.search(code, 1, at=first)
        assert e.value.shard == 0 and e.value.txn == first[0]
        ahead = tuple(t + (s == 2) for s, t in enumerate(last))
        with pytest.raises(hr.CommitNotHeldError, match=r"shard 2 .*not reached it yet"):
            p.coll.search(code, 1, at=ahead)
        with pytest.raises(ValueError, match="commit vector"):
            p.coll.search(code, 1, at=last[:2])
        assert p.coll.search(code, 1, at=last)[1][0, 0] == 0
    finally:
        p.close()




def test_sigkill_keeps_acknowledged_commits(cluster, tmp_path):
    rng = np.random.default_rng(3)
    p = Pair(tmp_path)
    try:
        queries = random_codes(rng, 20)
        vecs = []
        for c in range(3):
            ids = np.arange(c * 1000, c * 1000 + 800, dtype=np.uint64)
            p.insert(ids, random_codes(rng, 800), rng.integers(0, 5, 800))
            p.delete(ids[:50] - 500 if c else ids[:0])
            vecs.append(p.commit())
        # SIGKILL every shard's process right after the acknowledged commit
        actors = p.coll.actors
        pids = ray.get([a.pid.remote() for a in actors], timeout=30)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        new = [wait_restarted(a, pid) for a, pid in zip(actors, pids)]
        assert set(new).isdisjoint(pids)
        # the restarted shards reopened their files: every acknowledged commit is there
        assert tuple(ray.get([a.txn.remote() for a in actors], timeout=30)) == vecs[-1]
        assert_same(p.coll, p.ref, queries)
        assert_same(p.coll, p.ref, queries, at=vecs[-1])
        with pytest.raises(hr.CommitNotHeldError, match="restarted"):  # older pins went with the process
            p.coll.search(queries, 1, at=vecs[0])
        # and they take new commits
        p.insert(np.arange(9000, 9100, dtype=np.uint64), random_codes(rng, 100))
        vec = p.commit()
        assert all(a > b for a, b in zip(vec, vecs[-1]) if a != b) and vec != vecs[-1]
        assert_same(p.coll, p.ref, queries)
    finally:
        p.close()


def test_shard_down(cluster, tmp_path):
    rng = np.random.default_rng(5)
    p = Pair(tmp_path, shards=3, timeout_s=3.0)
    try:
        codes, ids = random_codes(rng, 900), np.arange(900, dtype=np.uint64)
        p.import_codes(codes, ids, rng.integers(0, 5, 900))
        queries = random_codes(rng, 10)
        # a shard that does not answer in time (its process stopped): unavailable, then back
        pid1 = ray.get(p.coll.actors[1].pid.remote(), timeout=30)
        os.kill(pid1, signal.SIGSTOP)
        try:
            with pytest.raises(hr.ShardUnavailableError, match=r"shard 1 did not answer search within 3s"):
                p.coll.search(queries, 10)
        finally:
            os.kill(pid1, signal.SIGCONT)
        p.coll.timeout_s = 30.0
        assert_same(p.coll, p.ref, queries)

        ray.kill(p.coll.actors[2], no_restart=True)  # down for good
        wait_dead(p.coll.actors[2])
        with pytest.raises(hr.ShardUnavailableError, match=r"shard\(s\) \[2\] unavailable") as e:
            p.coll.search(queries, 10)
        assert e.value.shard == 2 and e.value.shards == [2]
        with pytest.raises(hr.ShardUnavailableError, match=r"\[2\]"):
            p.coll.search_radius(queries, 20)

        # partial=True: the other shards' merged answer, marked with what is missing
        keep = hr.shard_of(ids, 3) != 2
        rest = hamdb.create(str(tmp_path / "rest.hamdb"), BITS)
        rest.import_codes(codes[keep], ids[keep])
        (got, missing) = p.coll.search(queries, 10, partial=True)
        assert missing == [2]
        want = rest.search(queries, 10, threads=1)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        (got, missing) = p.coll.search_radius(queries, 25, partial=True)
        want = rest.search_radius(queries, 25, threads=1)
        assert missing == [2] and all(np.array_equal(a, b) for a, b in zip(got, want))
        rest.close()

        # a commit touching the down shard: the others commit, the error says which
        new = np.arange(2000, 2030, dtype=np.uint64)
        p.coll.insert(new, random_codes(rng, 30))
        before = p.coll.commit_vector()
        with pytest.raises(hr.CommitError, match=r"failed on shard\(s\) \[2\]") as e:
            p.coll.commit()
        assert sorted(e.value.committed) == [0, 1]
        assert isinstance(e.value.failed[2], hr.ShardUnavailableError)
        after = p.coll.commit_vector()
        assert after[2] == before[2] and all(after[s] > before[s] for s in (0, 1))
        assert p.coll.pending() == int((hr.shard_of(new, 3) == 2).sum())  # kept for a retry
    finally:
        p.close()


def test_closed_and_bad_input(cluster, tmp_path):
    p = Pair(tmp_path, shards=2)
    with pytest.raises(hamdb.CodeLengthError):
        p.coll.search(np.zeros((1, 4), np.uint8), 1)
    with pytest.raises(TypeError):
        p.coll.search(np.zeros((1, 8), np.int32), 1)
    with pytest.raises(ValueError, match="ids but"):
        p.coll.insert([1, 2], np.zeros((1, 8), np.uint8))
    p.coll.insert([1, 1], np.zeros((2, 8), np.uint8))  # a repeated id: that shard refuses
    with pytest.raises(hr.CommitError) as e:
        p.coll.commit()
    assert isinstance(next(iter(e.value.failed.values())), hamdb.DuplicateIdError)
    # a second collection on the same files: its shards cannot take the write locks
    with pytest.raises(hr.ShardUnavailableError, match="LockedError") as e:
        hr.Collection.open(str(tmp_path / "coll"), timeout_s=30)
    print(f"\nsecond open: {e.value}")
    p.close()
    with pytest.raises(hamdb.ClosedError):
        p.coll.search(np.zeros((1, 8), np.uint8), 1)
    # reopen from the manifest: the same (empty) state, new actors
    with hr.Collection.open(str(tmp_path / "coll"), max_restarts=0) as c:
        assert len(c) == 0 and c.shards == 2 and c.bits == BITS
        pid = ray.get(c.actors[0].pid.remote(), timeout=30)
        os.kill(pid, signal.SIGKILL)  # no restarts asked for: shard 0 stays down
        with pytest.raises(hr.ShardUnavailableError, match=r"\[0\]"):
            c.search(np.zeros((1, 8), np.uint8), 1)


def test_sigkill_during_commit_is_all_or_nothing(cluster, tmp_path):
    """SIGKILL a shard while its commit may be in flight: after the restart the shard holds
    either none or all of that commit, and all of it whenever commit() acknowledged it."""
    import threading

    rng = np.random.default_rng(9)
    p = Pair(tmp_path, shards=2)
    try:
        actor = p.coll.actors[1]
        cand = np.arange(100_000, 200_000, dtype=np.uint64)
        mine = cand[hr.shard_of(cand, 2) == 1]  # ids of shard 1 only
        m, base, seen = 3000, 0, []
        for round_, delay in enumerate((0.0, 0.03, 0.3)):
            ids = mine[round_ * m:(round_ + 1) * m]
            p.coll.insert(ids, random_codes(rng, m))
            outcome = {}

            def run():
                try:
                    outcome["vec"] = p.coll.commit()
                except hr.CommitError as e:
                    outcome["err"] = e

            pid = ray.get(actor.pid.remote(), timeout=30)
            t = threading.Thread(target=run)
            t.start()
            time.sleep(delay)
            os.kill(pid, signal.SIGKILL)
            t.join(60)
            assert not t.is_alive()
            wait_restarted(actor, pid)
            items = ray.get(actor.stats.remote(), timeout=30)["items"]
            if "vec" in outcome:  # acknowledged: every item is there
                assert items == base + m
            else:  # not acknowledged: all or nothing
                assert outcome["err"].failed.keys() == {1}
                assert items in (base, base + m)
                p.coll.clear()
            seen.append(f"{'acknowledged' if 'vec' in outcome else 'failed'}: {items - base} of {m} new")
            base = items
        print(f"\nSIGKILL during commit (delays 0, 0.03, 0.3 s): {seen}")
        assert ray.get(actor.txn.remote(), timeout=30) >= 1
    finally:
        p.close()


def test_search_image_equals_one_database(cluster, tmp_path):
    """search_image encodes once at the driver and searches every shard: the same neighbours
    (ids, distances, stored labels) and prediction as one database bound to the same model."""
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
    model = os.path.join(root, "models", "reference", "ssdh-fmnist-48.onnx")
    images = sorted(os.path.join(root, "samples", "fashion-mnist", "images", f)
                    for f in os.listdir(os.path.join(root, "samples", "fashion-mnist", "images")))
    enc = hamdb.Encoder.load(model)
    codes, labels, _ = enc.encode(images[:600])
    ids = np.arange(600, dtype=np.uint64) * 7  # spread over the shards
    ref = hamdb.create_for_model(str(tmp_path / "ref.hamdb"), enc)
    ref.import_codes(codes, ids=ids, labels=labels)
    with hr.Collection.create_for_model(str(tmp_path / "img"), enc, 3,
                                        node_resources=[f"node{i}" for i in range(NODES)]) as c:
        c.import_codes(codes, ids, labels)
        for q in (images[3], images[650], open(images[10], "rb").read()):
            want = ref.search_image(enc, q, k=25)
            got = c.search_image(enc, q, k=25)
            assert got.code == want.code and got.label == want.label
            assert got.class_name == want.class_name and got.probability == want.probability
            assert got.ids.tolist() == [h.id for h in want.hits]
            assert got.distances.tolist() == [h.distance for h in want.hits]
            assert got.labels.tolist() == [h.label for h in want.hits]
            want_r = ref.search_image(enc, q, radius=4, label=int(want.label))
            got_r = c.search_image(enc, q, radius=4, label=int(want.label))
            assert got_r.ids.tolist() == [h.id for h in want_r.hits] and got_r.missing == []
        with pytest.raises(ValueError, match="not both"):
            c.search_image(enc, images[0], k=3, radius=2)
        enc16 = hamdb.Encoder.load(model.replace("-48", "-16"))
        with pytest.raises(hamdb.EncoderMismatchError):
            c.search_image(enc16, images[0])
    with hr.Collection.create(str(tmp_path / "plain"), 48, 2) as plain:
        with pytest.raises(hamdb.NoEncoderError):
            plain.search_image(enc, images[0])
    ref.close()
