"""The Rust CLI and the Python package on the same files, in both directions.

A file Python writes (an imported segment, a flushed segment with upserts and deletes, a delta
with auto ids) answers `hamdb search-codes` (k-NN and radius, with and without --class, as JSON,
as --npy and by --hex) exactly as Python's own searches do, and both equal a brute-force
reference over what was written; `hamdb stats` and `verify` agree with Python's. A file the CLI
writes (create, import-codes, delete, compact) reads back in Python item for item. The write
lock holds across the two: the CLI cannot write while Python does, and Python's read-only
handle follows the CLI's commits.

The CLI is $HAMDB_CLI (`make test-python` sets it to target/release/hamdb); without it these
tests fail rather than skip, so CI cannot pass them by not running them.
"""

import json
import os
import subprocess

import numpy as np
import pytest

import hamdb

BITS = 64
NB = BITS // 8


@pytest.fixture(scope="module")
def cli():
    path = os.environ.get("HAMDB_CLI")
    if not path:
        pytest.fail(
            "HAMDB_CLI is not set: it must name the hamdb CLI (target/release/hamdb); "
            "`make test-python` builds it and sets it",
            pytrace=False,
        )
    if not os.access(path, os.X_OK):
        pytest.fail(f"HAMDB_CLI={path} is not an executable", pytrace=False)
    return path


def run(cli, *args, rc=0):
    """Run the CLI; its exit status must be rc (the output is shown when it is not)."""
    r = subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert r.returncode == rc, f"hamdb {' '.join(map(str, args))}: rc {r.returncode}\n{r.stderr}"
    return r


def distances(q, codes):
    return np.unpackbits(codes ^ q[None, :], axis=1).sum(axis=1)


def brute(model, q, k=None, r=None, label=None):
    """[(id, distance, label, payload text)] of the reference, ascending by (distance, id)."""
    items = [(i, c, lab, p) for i, (c, lab, p) in model.items() if label is None or lab == label]
    if not items:
        return []
    d = distances(q, np.stack([np.frombuffer(c, np.uint8) for _, c, _, _ in items]))
    rows = sorted((int(d[j]), it[0], it[2], it[3].decode()) for j, it in enumerate(items))
    rows = [(i, dist, lab, p) for dist, i, lab, p in rows]
    return rows[:k] if r is None else [row for row in rows if row[1] <= r]


def py_hits(hits):
    return [(h.id, h.distance, h.label, h.payload.decode()) for h in hits]


def cli_hits(out):
    """search-codes --json: one object per query, in query order."""
    lines = [json.loads(line) for line in out.splitlines()]
    assert [o["query"] for o in lines] == list(range(len(lines)))
    return [[(h["id"], h["distance"], h["label"], h["payload"]) for h in o["hits"]] for o in lines]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A file Python wrote, the model of its live items (id -> code, label, payload), queries."""
    d = tmp_path_factory.mktemp("cli")
    path = str(d / "py.hamdb")
    rng = np.random.default_rng(7)
    model = {}
    with hamdb.create(path, BITS, b"interop") as db:
        codes = rng.integers(0, 256, (3000, NB), dtype=np.uint8)
        ids = np.arange(3000, dtype=np.uint64)
        labels = (ids % 5).astype(np.uint32)
        db.import_codes(codes, ids=ids, labels=labels)
        for i in range(3000):
            model[i] = (codes[i].tobytes(), i % 5, b"")
        b = hamdb.WriteBatch()
        for i in range(5000, 5200):
            c = rng.integers(0, 256, NB, dtype=np.uint8).tobytes()
            lab = None if i % 7 == 0 else i % 5
            pay = f"p{i}-é".encode()
            b.insert(i, c, lab, pay)
            model[i] = (c, lab, pay)
        for i in rng.choice(3000, 100, replace=False):
            c = rng.integers(0, 256, NB, dtype=np.uint8).tobytes()
            pay = f"u{i}".encode()
            b.upsert(int(i), c, 3, pay)
            model[int(i)] = (c, 3, pay)
        for i in rng.choice(5200, 150, replace=False):
            b.delete(int(i))
            model.pop(int(i), None)
        db.commit(b)
        db.flush()
        b = hamdb.WriteBatch()
        auto = []
        for j in range(50):
            c = rng.integers(0, 256, NB, dtype=np.uint8).tobytes()
            b.insert_auto(c, j % 4, f"a{j}".encode())
            auto.append((c, j % 4, f"a{j}".encode()))
        for i in range(5000, 5020):
            b.delete(i)
            model.pop(i, None)
        info = db.commit(b)
        assert len(info.assigned_ids) == 50
        model.update(zip(info.assigned_ids, auto))
        assert len(db) == len(model)
    # Queries: random codes, and stored codes with 0..3 bits flipped (so radii find hits).
    qs = [rng.integers(0, 256, NB, dtype=np.uint8) for _ in range(20)]
    stored = [model[i][0] for i in sorted(model)[::97][:20]]
    for j, c in enumerate(stored):
        q = np.unpackbits(np.frombuffer(c, np.uint8))
        q[rng.choice(BITS, j % 4, replace=False)] ^= 1
        qs.append(np.packbits(q))
    queries = np.ascontiguousarray(np.stack(qs))
    qpath = str(d / "q.npy")
    np.save(qpath, queries)
    return path, model, queries, qpath


@pytest.mark.parametrize("label", [None, 2])
def test_knn_equals_cli(cli, written, label):
    path, model, queries, qpath = written
    k = 10
    cls = [] if label is None else ["--class", label]
    want = cli_hits(
        run(cli, "search-codes", path, "--queries", qpath, "-k", k, "--json", *cls).stdout
    )
    assert len(want) == len(queries)
    prefix = qpath + f".k{label}"
    run(cli, "search-codes", path, "--queries", qpath, "-k", k, "--npy", prefix, *cls)
    cli_ids, cli_d = np.load(prefix + "_ids.npy"), np.load(prefix + "_distances.npy")
    with hamdb.open(path, read_only=True) as db:
        ids, dists = db.search(queries, k, label)
        for i, q in enumerate(queries):
            got = py_hits(db.search(q, k, label))
            assert got == want[i], f"query {i}"
            assert got == brute(model, q, k=k, label=label), f"query {i}"
    # The CLI pads with 2**32 - 1 (uint32), Python with -1 (int32); ids with 2**64 - 1 both.
    np.testing.assert_array_equal(ids, cli_ids)
    np.testing.assert_array_equal(dists, np.where(cli_d == 2**32 - 1, -1, cli_d).astype(np.int32))


@pytest.mark.parametrize("label", [None, 3])
def test_radius_equals_cli(cli, written, label):
    path, model, queries, qpath = written
    r = 6
    cls = [] if label is None else ["--class", label]
    want = cli_hits(
        run(cli, "search-codes", path, "--queries", qpath, "--radius", r, "--json", *cls).stdout
    )
    assert sum(map(len, want)) >= (10 if label is None else 3), "the radius must find items"
    with hamdb.open(path, read_only=True) as db:
        lims, ids, dists = db.search_radius(queries, r, label)
        for i, q in enumerate(queries):
            got = py_hits(db.search_radius(q, r, label))
            assert got == want[i], f"query {i}"
            assert got == brute(model, q, r=r, label=label), f"query {i}"
            assert [(h[0], h[1]) for h in got] == list(
                zip(ids[lims[i] : lims[i + 1]].tolist(), dists[lims[i] : lims[i + 1]].tolist())
            )


def test_hex_query_equals_cli(cli, written):
    path, _, queries, _ = written
    q = queries[25]
    out = run(cli, "search-codes", path, "--hex", q.tobytes().hex(), "-k", 7, "--json").stdout
    want = cli_hits(out)
    with hamdb.open(path, read_only=True) as db:
        assert [py_hits(db.search(q.tobytes(), 7))] == want


def test_stats_and_verify_agree(cli, written):
    path, model, _, _ = written
    st = json.loads(run(cli, "stats", path).stdout)
    with hamdb.open(path, read_only=True) as db:
        s = db.stats()
    assert st["commit"] == s["txn"]
    for key in ("code_bits", "items", "segments", "segment_items", "delta_items",
                "deleted_in_segments", "file_bytes"):
        assert st[key] == s[key], key
    assert s["items"] == len(model) and s["segments"] == 2 and s["delta_items"] > 0
    assert st["fingerprint"] == s["fingerprint"].decode() == "interop"
    out = run(cli, "verify", path).stdout
    v = hamdb.verify(path)
    assert f"commit {v['txn']}," in out and f"{v['items']} items" in out


def test_file_written_by_cli_reads_from_python(cli, tmp_path):
    path = str(tmp_path / "cli.hamdb")
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 256, (2000, 4), dtype=np.uint8)
    ids = rng.choice(10**9, 2000, replace=False).astype(np.uint64)
    labels = rng.integers(0, 6, 2000).astype(np.uint32)
    for name, arr in (("codes", codes), ("ids", ids), ("labels", labels)):
        np.save(tmp_path / f"{name}.npy", arr)
    run(cli, "create", "--bits", 32, "--fingerprint", "from-cli", path)
    run(cli, "import-codes", path, tmp_path / "codes.npy",
        "--ids", tmp_path / "ids.npy", "--labels", tmp_path / "labels.npy")
    gone = [int(i) for i in ids[::10]]
    run(cli, "delete", path, *gone[:100])
    run(cli, "compact", path)
    run(cli, "delete", path, *gone[100:])  # tombstones in the compacted segment
    gone = set(gone)
    assert hamdb.verify(path)["items"] == 2000 - len(gone)
    with hamdb.open(path) as db:
        assert db.bits == 32 and len(db) == 2000 - len(gone)
        s = db.stats()
        assert s["fingerprint"] == b"from-cli" and s["segments"] == 1
        assert s["deleted_in_segments"] == len(gone) - 100
        for i in range(2000):
            it = db.get(int(ids[i]))
            if int(ids[i]) in gone:
                assert it is None
            else:
                assert (it.code, it.label, it.payload) == (codes[i].tobytes(), int(labels[i]), b"")
        model = {
            int(ids[i]): (codes[i].tobytes(), int(labels[i]), b"")
            for i in range(2000) if int(ids[i]) not in gone
        }
        for q in rng.integers(0, 256, (10, 4), dtype=np.uint8):
            assert py_hits(db.search(q, 9)) == brute(model, q, k=9)
            assert py_hits(db.search_radius(q, 8, 1)) == brute(model, q, r=8, label=1)


def test_write_lock_and_refresh_across_processes(cli, tmp_path):
    """Python's writer keeps the CLI from writing (exit 3) but not from reading; a Python
    read-only handle sees the CLI's delete after refresh()."""
    path = str(tmp_path / "lock.hamdb")
    with hamdb.create(path, 32) as db:
        b = hamdb.WriteBatch()
        for i in range(10):
            b.insert(i, bytes([i, 0, 0, 0]), None, b"x")
        db.commit(b)
        run(cli, "delete", path, 3, rc=3)
        out = run(cli, "search-codes", path, "--hex", "03000000", "-k", 1, "--json").stdout
        hits = cli_hits(out)
        assert hits == [[(3, 0, None, "x")]]
    with hamdb.open(path, read_only=True) as ro:
        assert ro.get(3) is not None
        run(cli, "delete", path, 3)
        assert ro.refresh() is True
        assert ro.get(3) is None and len(ro) == 9
