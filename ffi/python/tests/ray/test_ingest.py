"""Distributed ingestion (``Collection.ingest_images``) on a real three-node Ray cluster.

The shipped sample images go through Ray Data workers running the shipped 48-bit model; every
stored item is compared with the driver encoding the same file (code, label, payload), broken
and missing files are reported one by one, a rerun writes nothing, and a shard process
SIGKILLed while the ingestion runs loses no acknowledged commit.
"""

import os
import signal
import threading
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")

import hamdb  # noqa: E402
import hamdb.ray as hr  # noqa: E402
from hamdb.ray.actor import Shard  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))
MODEL = os.path.join(ROOT, "models", "reference", "ssdh-fmnist-48.onnx")
IMAGES = os.path.join(ROOT, "samples", "fashion-mnist", "images")
NODES = 3
SHARDS = 4
TEST_BUDGET_S = 150






@pytest.fixture(scope="module")
def encoder():
    return hamdb.Encoder.load(MODEL)


@pytest.fixture(scope="module")
def paths():
    return sorted(os.path.join(IMAGES, f) for f in os.listdir(IMAGES))


@pytest.fixture(scope="module")
def expected(encoder, paths):
    """key -> (code bytes, label), encoded at the driver."""
    codes, labels, _ = encoder.encode(paths)
    return {hr.source_key(p): (codes[j].tobytes(), int(labels[j])) for j, p in enumerate(paths)}


def make(tmp_path, encoder, name="coll", shards=SHARDS, replicas=0):
    return hr.Collection.create_for_model(str(tmp_path / name), encoder, shards,
                                          node_resources=[f"node{i}" for i in range(NODES)],
                                          replicas=replicas)


def pid_of(actor, wait_s=60.0):
    """The actor's process id, waiting while it restarts (calls fail with
    ActorUnavailableError until its new process is up)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return ray.get(actor.pid.remote(), timeout=30)
        except ray.exceptions.RayActorError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def assert_stored_exactly(coll, keys, expected):
    """Every key's item is there under source_id(key), with the driver's code and label and
    the key as payload; and the collection holds nothing else."""
    items = coll.get(np.array([hr.source_id(k) for k in keys], dtype=np.uint64))
    for key, item in zip(keys, items):
        assert item is not None, f"{key} not stored"
        assert (item.code, item.label) == expected[key], key
        assert item.payload == key.encode()
    assert len(coll) == len(keys)


def test_source_ids_are_a_pinned_function_of_the_key():
    # Pinned values: changing the hash would silently re-id every collection.
    assert hr.source_id("a") == hr.source_id(b"a")
    assert hr.source_id("a") != hr.source_id("b")
    assert hr.source_id("a") == 0x5E58B91D82A5F05C
    assert hr.source_id("") == 0x66CE27DEDE669BB5
    assert all(hr.source_id(f"k{i}") < 2**63 for i in range(1000))
    assert hr.source_key("x/../y.png") == os.path.join(os.getcwd(), "y.png")


def test_ingest_stores_every_image_reports_each_failure_and_a_rerun_writes_nothing(
        cluster, tmp_path, encoder, paths, expected):
    broken = tmp_path / "broken.png"
    broken.write_bytes(open(paths[0], "rb").read()[:40])  # a PNG cut short
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    missing = tmp_path / "missing.png"
    good = paths[:300]
    sources = good[:100] + [str(broken)] + good[100:200] + [str(missing), str(text)] + good[200:]
    with make(tmp_path, encoder) as coll:
        seen = []
        rep = coll.ingest_images(sources, MODEL, workers=2, batch_size=32, commit_every=64,
                                 progress=lambda d, f, s: seen.append((d, f, s)))
        assert (rep.written, rep.unchanged, rep.retries) == (300, 0, 0)
        assert rep.commits >= 2  # a commit once 64 rows are buffered, and one at the end
        assert rep.vector == coll.commit_vector()
        failed = {f.key: f for f in rep.failures}
        assert set(failed) == {str(broken), str(missing), str(text)}
        assert failed[str(missing)].error == "IoError"
        assert failed[str(broken)].error == "ImageError"
        assert failed[str(text)].error == "ImageError"
        for f in rep.failures:
            assert f.id == hr.source_id(f.key) and f.message
        assert seen[-1] == (len(sources), 3, 300)
        keys = [hr.source_key(p) for p in good]
        assert_stored_exactly(coll, keys, expected)

        # The sharded answer is one database's: the same images inserted locally answer a
        # query image with the same distances and labels (ids differ: insert_images counts).
        with hamdb.create_for_model(str(tmp_path / "one.hamdb"), encoder) as one:
            one.insert_images(encoder, good)
            for q in (paths[500], paths[0]):
                local = one.search_image(encoder, q, k=20)
                got = coll.search_image(encoder, q, k=20)
                assert sorted(h.distance for h in local.hits) == got.distances.tolist()
                by_payload = {h.payload.decode(): (h.distance, h.label) for h in local.hits
                              if h.distance < local.hits[-1].distance}
                items = coll.get(got.ids)
                for item, d, lab in zip(items, got.distances, got.labels):
                    if item.payload.decode() in by_payload:
                        assert by_payload[item.payload.decode()] == (d, lab)

        vector = coll.commit_vector()
        again = coll.ingest_images(sources, MODEL, workers=1, commit_every=1000)
        assert (again.written, again.unchanged) == (0, 300)
        assert [f.key for f in again.failures] == [f.key for f in rep.failures]
        assert coll.commit_vector() == vector  # nothing was written: no new commit anywhere
        assert len(coll) == 300
        assert [x for x in cluster.listeners() if not x.loopback] == []


def test_dataset_sources_bytes_paths_and_keys(cluster, tmp_path, encoder, paths, expected):
    with make(tmp_path, encoder, shards=2, replicas=1) as coll:
        ds = ray.data.read_binary_files(paths[:40], include_paths=True)
        rep = coll.ingest_images(ds, MODEL, workers=1)
        assert (rep.written, rep.failures) == (40, [])
        assert_stored_exactly(coll, [hr.source_key(p) for p in paths[:40]], expected)
        # Searches through the replicas see what the ingestion committed (read-your-writes):
        # an image finds itself at distance 0, for every query of a batch split over members.
        codes = np.stack([np.frombuffer(expected[hr.source_key(p)][0], np.uint8)
                          for p in paths[:40]] * 4)
        ids, dists = coll.search(codes, 1)
        assert (dists[:, 0] == 0).all()

        named = ray.data.from_items([{"key": f"img-{j}", "bytes": open(p, "rb").read()}
                                     for j, p in enumerate(paths[40:60])])
        rep = coll.ingest_images(named, MODEL, workers=1)
        assert rep.written == 20
        for j, p in enumerate(paths[40:60]):
            item = coll.get(hr.source_id(f"img-{j}"))
            assert (item.code, item.label) == expected[hr.source_key(p)]
            assert item.payload == f"img-{j}".encode()

        with pytest.raises(ValueError):
            coll.ingest_images(ray.data.from_items([{"x": 1}]), MODEL)


def test_ingest_refuses_another_model_and_pending_writes(cluster, tmp_path, encoder, paths):
    with make(tmp_path, encoder, shards=2) as coll:
        other = os.path.join(ROOT, "models", "reference", "ssdh-fmnist-16.onnx")
        with pytest.raises(hamdb.EncoderMismatchError):
            coll.ingest_images(paths[:2], other)
        coll.insert([1], np.zeros((1, 6), np.uint8))
        with pytest.raises(ValueError):
            coll.ingest_images(paths[:2], MODEL)
    with hr.Collection.create(str(tmp_path / "plain"), 48, 2) as plain:
        with pytest.raises(hamdb.NoEncoderError):
            plain.ingest_images(paths[:2], MODEL)


def test_shard_ingest_is_idempotent_replaces_changed_items_and_refuses_collisions(tmp_path):
    # The plain Shard class, without Ray: the write rule the driver's retries rely on.
    hamdb.create(str(tmp_path / "s.hamdb"), 16, b"fp").close()
    shard = Shard(str(tmp_path / "s.hamdb"), 0)
    ids = np.array([5, 6], np.uint64)
    codes = np.array([[1, 2], [3, 4]], np.uint8)
    labels = np.array([1, 2], np.uint32)
    first = shard.ingest(ids, codes, labels, [b"a", b"b"])
    assert (first["written"], first["unchanged"], first["collisions"]) == (2, 0, [])
    again = shard.ingest(ids, codes, labels, [b"a", b"b"])
    assert (again["written"], again["unchanged"], again["txn"]) == (0, 2, first["txn"])
    changed = shard.ingest(ids, np.array([[9, 9], [3, 4]], np.uint8), labels, [b"a", b"b"])
    assert (changed["written"], changed["unchanged"]) == (1, 1)
    assert shard.db.get(5).code == bytes([9, 9])
    clash = shard.ingest(np.array([6, 7, 7], np.uint64), codes[[0, 0, 1]], labels[[0, 0, 1]],
                         [b"c", b"d", b"e"])
    assert clash["collisions"] == [(0, b"b"), (2, b"d")]
    assert clash["written"] == 1
    assert shard.db.get(6).payload == b"b" and shard.db.get(7).payload == b"d"
    shard.close()


def test_sigkill_of_a_shard_mid_ingestion_loses_no_acknowledged_commit(
        cluster, tmp_path, encoder, paths, expected):
    with make(tmp_path, encoder) as coll:
        victim = 1
        old_pid = ray.get(coll.actors[victim].pid.remote())
        acked = []
        first_commit = threading.Event()
        acked_before_kill = []

        def on_commit(ids, vector):
            acked.append(ids.copy())
            first_commit.set()

        def killer():
            # A few kills spread over the run, each at whatever the shard is doing then
            # (mid-call or between calls), once commits have been acknowledged.
            first_commit.wait(60)
            for delay in (0.02, 0.3, 0.3):
                time.sleep(delay)
                acked_before_kill.append(sum(len(a) for a in acked))
                try:
                    pid = ray.get(coll.actors[victim].pid.remote(), timeout=30)
                    os.kill(pid, signal.SIGKILL)
                except Exception:  # restarting: the next kill gets it
                    pass

        t = threading.Thread(target=killer)
        t.start()
        rep = coll.ingest_images(paths, MODEL, workers=2, batch_size=32, commit_every=32,
                                 on_commit=on_commit, retry_s=90)
        t.join()
        assert acked_before_kill[0] > 0
        assert pid_of(coll.actors[victim]) != old_pid  # it really restarted
        assert (rep.written, rep.failures) == (len(paths), [])
        keys = [hr.source_key(p) for p in paths]
        assert_stored_exactly(coll, keys, expected)
        # Everything acknowledged (before, between and after the kills) is there as encoded.
        acked_ids = np.concatenate(acked)
        assert len(np.unique(acked_ids)) == len(paths)
        again = coll.ingest_images(paths, MODEL, workers=2, commit_every=512)
        assert (again.written, again.unchanged) == (0, len(paths))
    # The files themselves, reopened without Ray, hold every image once.
    total = 0
    for s in range(SHARDS):
        with hamdb.open(str(tmp_path / "coll" / f"shard-{s:05d}.hamdb"), read_only=True) as db:
            total += int(db.stats()["items"])
    assert total == len(paths)
