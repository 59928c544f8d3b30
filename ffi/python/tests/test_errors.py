"""Every error path: closed, corrupt, locked, read-only, code length, not a database."""

import os

import numpy as np
import pytest

import hamdb


def test_exception_classes():
    assert issubclass(hamdb.CorruptError, hamdb.Error)
    assert issubclass(hamdb.IoError, OSError) and issubclass(hamdb.IoError, hamdb.Error)
    assert issubclass(hamdb.CodeLengthError, ValueError)
    from hamdb._errors import _BY_STATUS

    # one class per C status, none shared
    assert sorted(_BY_STATUS) == sorted(hamdb.STATUS.values())
    assert len(set(_BY_STATUS.values())) == len(_BY_STATUS)


def test_closed(path):
    db = hamdb.create(path, 8)
    db.close()
    db.close()  # idempotent
    assert db.closed
    for call in (
        lambda: db.search(b"\x00", 1),
        lambda: db.commit(hamdb.WriteBatch()),
        lambda: db.import_codes(np.zeros((1, 1), np.uint8)),
        lambda: db.get(1),
        lambda: db.stats(),
        lambda: db.flush(),
        lambda: len(db),
    ):
        with pytest.raises(hamdb.ClosedError, match="closed"):
            call()
    # the write lock went with it
    hamdb.open(path).close()


def test_context_manager_closes_on_exception(path):
    with pytest.raises(RuntimeError):
        with hamdb.create(path, 8) as db:
            raise RuntimeError("boom")
    assert db.closed


def test_corrupt(path, rng):
    with hamdb.create(path, 64) as db:
        db.import_codes(rng.integers(0, 256, (2000, 8), dtype=np.uint8))
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(size // 2)
        b = f.read(1)
        f.seek(size // 2)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(hamdb.CorruptError, match="corrupt"):
        hamdb.verify(path)


def test_not_a_database(tmp_path):
    p = tmp_path / "junk"
    p.write_bytes(b"hello, world" * 100)
    with pytest.raises(hamdb.NotADatabaseError):
        hamdb.open(str(p))


def test_missing_file_is_oserror(tmp_path):
    with pytest.raises(OSError):
        hamdb.open(str(tmp_path / "absent.hamdb"))
    with pytest.raises(hamdb.IoError):
        hamdb.open(str(tmp_path / "absent.hamdb"))


def test_create_existing_fails(path):
    hamdb.create(path, 8).close()
    with pytest.raises(hamdb.Error):
        hamdb.create(path, 8)


def test_locked(path):
    with hamdb.create(path, 8):
        with pytest.raises(hamdb.LockedError):
            hamdb.open(path)
        hamdb.open(path, read_only=True).close()  # readers take no write lock


def test_lock_wait(path):
    import threading
    import time

    writer = hamdb.create(path, 8)
    with pytest.raises(hamdb.LockedError):
        hamdb.open(path, lock_wait=0)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(hamdb.InvalidParameterError, match="lock_wait"):
            hamdb.open(path, lock_wait=bad)
    # the writer closes 0.3 s from now; a one-minute wait outlasts it (the default 0.2 s would not)
    closer = threading.Timer(0.3, writer.close)
    start = time.monotonic()
    closer.start()
    with hamdb.open(path, lock_wait=60) as db:
        assert time.monotonic() - start >= 0.25
        assert db.stats()["items"] == 0
    closer.join()


def test_read_only(path):
    hamdb.create(path, 8).close()
    with hamdb.open(path, read_only=True) as db:
        b = hamdb.WriteBatch()
        b.insert(1, b"\x01")
        with pytest.raises(hamdb.ReadOnlyError):
            db.commit(b)
        with pytest.raises(hamdb.ReadOnlyError):
            db.import_codes(np.zeros((1, 1), np.uint8))


def test_code_length(path):
    with hamdb.create(path, 16) as db:
        with pytest.raises(hamdb.CodeLengthError, match="expected 16 bits, got 24 bits"):
            db.search(b"\x00\x00\x00", 1)
        b = hamdb.WriteBatch()
        b.insert(1, b"\x00")
        with pytest.raises(hamdb.CodeLengthError):
            db.commit(b)
    with pytest.raises(hamdb.UnsupportedCodeLengthError):
        hamdb.create(path + "2", 12)
