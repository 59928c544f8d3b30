"""What a commit reports: a failed automatic flush does not hide a durable commit; payloads in
imports; WriteBatch.clear; open options; each exception's status."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import hamdb

# Run in a child: RLIMIT_FSIZE (which makes the automatic flush fail) is process-wide.
MAINTENANCE_CHILD = textwrap.dedent(
    """
    import os, resource, signal, sys, warnings
    import hamdb
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    path = sys.argv[1]
    db = hamdb.create(path, 32)
    acked = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(200):
            limit = os.path.getsize(path) + 120_000
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
            b = hamdb.WriteBatch()
            b.insert_auto(i.to_bytes(4, "big"), None, b"x" * 50_000)
            try:
                info = db.commit(b)
            except hamdb.Error as e:
                print("raised", type(e).__name__, acked)
                break
            acked += 1
            if info.maintenance_error is not None:
                e = info.maintenance_error
                assert info.assigned_ids, info
                assert any(issubclass(w.category, RuntimeWarning) for w in caught)
                print("maintenance", type(e).__name__, e.status, acked)
                break
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
    try:
        db.commit(hamdb.WriteBatch())
        print("not poisoned")
    except hamdb.PoisonedError:
        print("poisoned")
    db.close()
    with hamdb.open(path) as again:
        print("items", len(again), "acked", acked)
    """
)


def test_a_failed_automatic_flush_does_not_hide_a_durable_commit(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", MAINTENANCE_CHILD, str(tmp_path / "m.hamdb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0].startswith("maintenance IoError"), out.stdout
    assert int(lines[0].split()[2]) == hamdb.STATUS["IO"]
    acked = int(lines[0].split()[3])
    assert lines[1] == "poisoned"
    # Every acknowledged commit is there, the last one included (it was durable), once.
    assert lines[2] == f"items {acked} acked {acked}", out.stdout


def test_import_payloads(path, rng):
    codes = rng.integers(0, 256, (50, 4), dtype=np.uint8)
    with hamdb.create(path, 32) as db:
        info = db.import_codes(codes, payloads=[f"p{i}".encode() for i in range(50)])
        assert db.get(info.assigned_ids[7]).payload == b"p7"
        with pytest.raises(ValueError, match="49 entries for 50 codes"):
            db.import_codes(codes, payloads=[b""] * 49)
        with pytest.raises(TypeError, match="item 1 is str"):
            db.import_codes(codes[:2], payloads=[b"", "x"])
        assert len(db) == 50
        assert info.maintenance_error is None


def test_write_batch_clear(path):
    with hamdb.create(path, 8) as db:
        b = hamdb.WriteBatch()
        b.insert(1, b"\x01")
        db.commit(b)
        b.clear()
        assert len(b) == 0
        b.insert(2, b"\x02")
        db.commit(b)  # does not repeat id 1 (which would be a DuplicateIdError)
        assert len(db) == 2


def test_open_options(path, rng):
    codes = rng.integers(0, 256, (1000, 8), dtype=np.uint8)
    with hamdb.create(path, 64, auto_compact=False, flush_threshold=10) as db:
        db.import_codes(codes)
        b = hamdb.WriteBatch()
        for i in range(900):
            b.delete(i)
        db.commit(b)  # 90% deleted: would compact by default
        s = db.stats()
        assert s["deleted_in_segments"] == 900 and s["segments"] == 1
        b = hamdb.WriteBatch()
        for i in range(20):
            b.insert(5000 + i, codes[i])
        db.commit(b)
        assert db.stats()["delta_items"] == 0  # past the threshold of 10: flushed
    with hamdb.open(path) as db:
        b = hamdb.WriteBatch()
        b.delete(950)
        db.commit(b)
        assert db.stats()["deleted_in_segments"] == 0  # the default policy compacts
    with pytest.raises(OverflowError):
        hamdb.open(path, flush_threshold=-1)


def test_each_exception_class_has_its_status(path):
    assert hamdb.CorruptError.status == hamdb.STATUS["CORRUPT"]
    with pytest.raises(hamdb.CodeLengthError) as e:
        hamdb.create(path, 8).search(b"\x00\x00", 1)
    assert e.value.status == hamdb.STATUS["CODE_LENGTH_MISMATCH"]
    statuses = [c.status for c in hamdb.Error.__subclasses__()]
    assert sorted(statuses) == sorted(hamdb.STATUS.values())
