"""Read-only replicas per shard (replica.py, ``Collection(replicas=)``) on a three-node loopback
Ray cluster (``make test-ray``), and ``Replica`` itself without Ray.

Every answer is compared with one hamdb database fed the same operations (test_collection's
reference pattern): with replicas sharing the searches (small batches round-robin, large ones
split by rows), right after each commit (read-your-writes), pinned to older commit vectors,
while a replica is SIGKILLed and after it restarts, and with a writer down (its replicas serve).
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
from test_collection import Pair, assert_same, clustered_codes, random_codes  # noqa: E402

NODES = 3
BITS = 64
TEST_BUDGET_S = 90  # each test; a hang fails it instead of the whole run






class RPair(Pair):
    """test_collection's Pair (a collection and its reference database) with replicas."""

    def __init__(self, tmp, shards, replicas, timeout_s=30.0):
        self.coll = hr.Collection.create(str(tmp / "coll"), BITS, shards, fingerprint=b"fp",
                                         node_resources=[f"node{i}" for i in range(NODES)],
                                         timeout_s=timeout_s, replicas=replicas)
        self.ref = hamdb.create(str(tmp / "ref.hamdb"), BITS, b"fp")
        self.batch = hamdb.WriteBatch()


def assert_big_same(coll, src, queries, at=None):
    """A batch large enough to be split over every member: k-NN (with labels) and radius."""
    got = coll.search(queries, 10, at=at, with_labels=True)
    want = src.search(queries, 10, threads=1, with_labels=True)
    assert all(np.array_equal(g, w) for g, w in zip(got, want)), "split k-NN differs"
    got = coll.search_radius(queries, 20, 2, at=at)
    want = src.search_radius(queries, 20, 2, threads=1)
    assert all(g.dtype == w.dtype and np.array_equal(g, w) for g, w in zip(got, want)), "split radius"


def replica_stats(coll):
    return [r for st in coll.stats()["shards"] for r in st["replicas"]]


# --- Replica without Ray ------------------------------------------------------------------

def test_replica_follows_writer_and_refuses_what_it_cannot_vouch_for(tmp_path):
    p = str(tmp_path / "s.hamdb")
    db = hamdb.create(p, BITS)  # the writer (a plain Database here)
    code = np.zeros((1, BITS // 8), np.uint8)
    r = hr.Replica(p, 0, 1, keep=4)
    t0 = r.txn()
    assert r.held() == [t0] and r.search(code, 1)[0][0, 0] == hamdb.NO_ID

    def put(i):
        b = hamdb.WriteBatch()
        b.insert(i, code[0])
        return db.commit(b).txn

    t1 = put(1)
    # read-your-writes: min_txn past what it holds makes it refresh first
    ids, _ = r.search(code, 5, min_txn=t1)
    assert ids[0].tolist()[:1] == [1] and r.txn() == t1 and r.held() == [t0, t1]
    # without min_txn it answers from what it holds (the driver always sends min_txn)
    t2 = put(2)
    assert sorted(r.search(code, 5)[0][0, :1].tolist()) == [1]
    # refreshing over t2 and t3 at once: it holds t3, not t2 (it never saw it)
    t3 = put(3)
    assert r.refresh() == t3 and r.held() == [t0, t1, t3]
    with pytest.raises(hr.ReplicaRefusedError, match="exactly that commit"):
        r.search(code, 5, at_txn=t2)  # "newest held <= t2" would be t1: wrong items
    with pytest.raises(hr.ReplicaRefusedError, match="reached only commit") as e:
        r.search(code, 5, min_txn=t3 + 5)  # a commit the file never had
    assert e.value.shard == 0 and e.value.replica == 1 and e.value.txn == t3 + 5
    # exactly held commits answer as of then, whatever came since
    put(4)
    assert r.search(code, 5, at_txn=t1)[0][0].tolist()[:2] == [1, hamdb.NO_ID]
    got = r.search_radius(code, 0, at_txn=t3, min_txn=t3)
    assert got[1].tolist() == [1, 2, 3]
    # a pinned commit past what it holds: refresh, then exact (or refuse)
    t5 = put(5)
    assert r.search(code, 9, at_txn=t5)[0][0].tolist()[:5] == [1, 2, 3, 4, 5]
    assert r.held() == [t0, t1, t3, t5]  # t4 skipped: no search needed a refresh then
    t6 = put(6)
    assert r.refresh() == t6 and r.held() == [t1, t3, t5, t6]  # the oldest dropped (keep=4)
    with pytest.raises(hr.ReplicaRefusedError):
        r.search(code, 5, at_txn=t0)
    with pytest.raises(hr.ReplicaRefusedError):
        r.search(code, 5, at_txn=t6 + 1)
    assert r.stats()["searches"] == 6
    b = hamdb.WriteBatch()
    b.insert(9, code[0])
    with pytest.raises(hamdb.ReadOnlyError):
        r.db.commit(b)
    r.close()
    db.close()


# --- on the cluster -----------------------------------------------------------------------

def test_replicas_equal_to_one_database(cluster, tmp_path):
    """2 shards x (writer + 2 replicas): placement off the writer's node, loopback, and every
    answer (small batches round-robin, large ones split by rows) equal to the reference, after
    each of several commits and pinned to each earlier commit vector."""
    rng = np.random.default_rng(21)
    centres = random_codes(rng, 5)
    small = np.concatenate([random_codes(rng, 10), clustered_codes(rng, 10, centres)])
    big = np.concatenate([random_codes(rng, 300), clustered_codes(rng, 300, centres)])
    assert len(big) >= hr.SPLIT_MIN_ROWS * 3  # split over all three members of each shard
    p = RPair(tmp_path, shards=2, replicas=2)
    try:
        st = p.coll.stats()
        assert st["replicas"] == 2
        for s, sh in enumerate(st["shards"]):
            assert sh["node"] == cluster.node_ids[s % NODES]
            nodes = [r["node"] for r in sh["replicas"]]
            assert nodes == [cluster.node_ids[(s + j) % NODES] for j in (1, 2)]
            assert sh["node"] not in nodes
        bad = [x for x in cluster.listeners() if not x.loopback]
        assert not bad, f"non-loopback listeners with replicas running: {bad}"
        pids = {r["pid"] for r in replica_stats(p.coll)}
        assert len(pids) == 4 and pids <= {x.pid for x in cluster.listeners()}

        history = []
        ids1 = np.arange(2000, dtype=np.uint64) * 3 + 1
        vec = p.import_codes(random_codes(rng, 2000), ids1, rng.integers(0, 5, 2000))
        history.append((vec, p.ref.snapshot()))
        assert_same(p.coll, p.ref, small)  # read-your-writes, right after the commit
        assert_big_same(p.coll, p.ref, big)

        ids2 = np.arange(1500, dtype=np.uint64) * 3 + 2
        p.insert(ids2, clustered_codes(rng, 1500, centres), rng.integers(0, 5, 1500))
        history.append((p.commit(), p.ref.snapshot()))
        assert_big_same(p.coll, p.ref, big)
        assert_same(p.coll, p.ref, small)

        up = np.concatenate([ids1[:100], ids2[:100]])
        p.insert(up, clustered_codes(rng, 200, centres), rng.integers(0, 5, 200), kind="upsert")
        p.delete(np.concatenate([ids1[300:400], ids2[300:400]]))
        history.append((p.commit(), p.ref.snapshot()))
        assert_same(p.coll, p.ref, small)
        assert_big_same(p.coll, p.ref, big)

        p.delete(ids2[500:900])
        history.append((p.commit(), p.ref.snapshot()))
        assert_big_same(p.coll, p.ref, big)
        assert len(p.coll) == len(p.ref)

        for vec, snap in history:  # pinned: replicas that hold exactly it, else the writer
            assert_big_same(p.coll, snap, big, at=vec)
            assert_same(p.coll, p.ref, small[:6], at=vec, ref_src=snap)

        # the replicas did serve (round-robin and split), and hold the latest commit
        reps = replica_stats(p.coll)
        assert all(r["searches"] > 0 for r in reps), reps
        assert [r["txn"] >= vec[r["shard"]] for r in reps] == [True] * 4
        print(f"\nfallbacks: {p.coll.fallbacks}; replica searches: {[r['searches'] for r in reps]}")
    finally:
        p.close()




def test_replica_killed_writer_down(cluster, tmp_path):
    """A replica SIGKILLed: searches stay exact (the writer answers its parts), it restarts
    read-only and serves again, and a pin it lost goes to the writer. A writer down: its
    replica answers. Every member of a shard down: ShardUnavailableError / partial=True."""
    rng = np.random.default_rng(8)
    p = RPair(tmp_path, shards=2, replicas=1, timeout_s=10.0)
    try:
        queries = random_codes(rng, 400)  # split over writer + replica
        ids, codes = np.arange(3000, dtype=np.uint64), random_codes(rng, 3000)
        p.import_codes(codes, ids, rng.integers(0, 5, 3000))
        p.delete(ids[:200])
        old = p.commit()
        old_snap = p.ref.snapshot()
        ids2, codes2 = np.arange(5000, 5300, dtype=np.uint64), random_codes(rng, 300)
        p.insert(ids2, codes2)
        p.commit()

        rep = p.coll.replica_actors[1][0]
        pid = ray.get(rep.pid.remote(), timeout=30)
        os.kill(pid, signal.SIGKILL)
        for _ in range(3):  # parts sent to it fail (or wait for its restart): still exact
            assert_big_same(p.coll, p.ref, queries)
        new_pid = wait_restarted(rep, pid)
        st = ray.get(rep.stats.remote(), timeout=30)
        assert st["txn"] >= p.coll.commit_vector()[1] and len(st["held"]) == 1  # reopened
        before = ray.get(rep.stats.remote(), timeout=30)["searches"]
        fb = p.coll.fallbacks
        assert_big_same(p.coll, old_snap, queries, at=old)  # it lost that pin: the writer answers
        assert p.coll.fallbacks >= fb + 2  # its k-NN and radius parts were refused, asked again
        for _ in range(2):
            assert_same(p.coll, p.ref, queries[:5])  # small batches: round-robin reaches it
        st = ray.get(rep.stats.remote(), timeout=30)
        assert st["pid"] == new_pid and st["searches"] > before  # it serves again

        # shard 0's writer down for good: its replica answers, exactly, the latest commit
        ray.kill(p.coll.actors[0], no_restart=True)
        wait_dead(p.coll.actors[0])
        assert_big_same(p.coll, p.ref, queries)
        assert_same(p.coll, p.ref, queries[:5])
        # and its replica too: shard 0 has no member left
        ray.kill(p.coll.replica_actors[0][0], no_restart=True)
        wait_dead(p.coll.replica_actors[0][0])
        with pytest.raises(hr.ShardUnavailableError, match=r"shard\(s\) \[0\] unavailable") as e:
            p.coll.search(queries, 10)
        assert e.value.shards == [0] and "replica 1" in str(e.value)
        (got, missing) = p.coll.search(queries, 10, partial=True)
        assert missing == [0]
        rest = hamdb.create(str(tmp_path / "rest.hamdb"), BITS)  # shard 1's live items
        live_ids = np.concatenate([ids[200:], ids2])
        live_codes = np.concatenate([codes[200:], codes2])
        on1 = hr.shard_of(live_ids, 2) == 1
        rest.import_codes(live_codes[on1], live_ids[on1])
        want = rest.search(queries, 10, threads=1)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        rest.close()
    finally:
        p.close()
