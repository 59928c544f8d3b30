"""Routing and manifests, without a cluster (hamdb.ray imports Ray, so .venv-ray only)."""

import json
import os

import numpy as np
import pytest

pytest.importorskip("ray")

import hamdb  # noqa: E402
import hamdb.ray as hr  # noqa: E402
from hamdb.ray import manifest as mf  # noqa: E402


def test_splitmix64_pinned():
    # splitmix64 seeded with 0: its published first output. If any of these change, every
    # existing collection routes ids to the wrong shard: the rule must get a new name instead.
    assert hr.splitmix64(0) == 0xE220A8397B1DCDAF
    assert hr.splitmix64(1) == 0x910A2DEC89025CC1
    assert hr.splitmix64(42) == 0xBDD732262FEB6E95
    assert hr.splitmix64(2**64 - 1) == 0xE4D971771B652C20
    assert hr.RULE == "splitmix64-mod"
    ids = [0, 1, 2, 3, 42, 2**64 - 1, 123456789]
    assert [hr.shard_of(i, 4) for i in ids] == [3, 1, 2, 1, 1, 0, 1]
    assert [hr.shard_of(i, 7) for i in ids] == [2, 2, 4, 2, 5, 0, 5]


def test_shard_of_vectorised_matches_scalar():
    rng = np.random.default_rng(7)
    ids = np.concatenate([np.arange(1000, dtype=np.uint64),
                          rng.integers(0, 2**64 - 1, 1000, dtype=np.uint64, endpoint=True)])
    for n in (1, 2, 3, 4, 8, 1000):
        vec = hr.shard_of(ids, n)
        assert vec.dtype == np.int64 and vec.shape == ids.shape
        assert vec.tolist() == [hr.shard_of(int(i), n) for i in ids]
    # dense ids spread evenly
    counts = np.bincount(hr.shard_of(np.arange(100_000), 4), minlength=4)
    assert counts.min() > 24_000
    assert hr.shard_of(np.array([1, 2], dtype=np.int32), 4).tolist() == [1, 2]
    with pytest.raises(ValueError):
        hr.shard_of(np.array([-1]), 4)
    with pytest.raises(ValueError):
        hr.shard_of(3, 0)


def test_manifest_round_trip_and_atomic_write(tmp_path):
    m = mf.Manifest.new(64, 3, b"\x01\xff")
    mf.write(str(tmp_path), m)
    assert mf.read(str(tmp_path)) == m
    assert sorted(os.listdir(tmp_path)) == ["manifest.json"]  # no temp file left
    doc = json.loads((tmp_path / "manifest.json").read_text())
    assert doc == {"format": "hamdb-collection", "version": 1, "bits": 64, "fingerprint": "01ff",
                   "shards": 3, "routing": "splitmix64-mod",
                   "files": ["shard-00000.hamdb", "shard-00001.hamdb", "shard-00002.hamdb"]}
    with pytest.raises(hr.ManifestError, match="exists"):
        mf.write(str(tmp_path), m)


def _write(tmp_path, text):
    (tmp_path / "manifest.json").write_text(text)


def _good():
    return json.loads(mf.Manifest.new(64, 2).to_json())


@pytest.mark.parametrize("change, match", [
    (lambda d: d.update(version=2), "unknown manifest version 2"),
    (lambda d: d.pop("version"), "unknown manifest version None"),
    (lambda d: d.update(format="other"), "corrupt manifest"),
    (lambda d: d.update(bits=63), "'bits'"),
    (lambda d: d.update(bits=True), "'bits'"),
    (lambda d: d.update(shards=0), "'shards'"),
    (lambda d: d.update(routing="crc32"), "unknown routing rule 'crc32'"),
    (lambda d: d.update(files=["a"]), "'files'"),
    (lambda d: d.update(files=["../x", "b"]), "plain file name"),
    (lambda d: d.update(files=["a", "a"]), "share a file"),
    (lambda d: d.update(fingerprint="zz"), "'fingerprint'"),
])
def test_manifest_refuses(tmp_path, change, match):
    doc = _good()
    change(doc)
    _write(tmp_path, json.dumps(doc))
    with pytest.raises(hr.ManifestError, match=match) as e:
        mf.read(str(tmp_path))
    assert isinstance(e.value, hamdb.Error)
    # Collection.open reads the manifest before it starts any actor: no cluster needed here
    with pytest.raises(hr.ManifestError, match=match):
        hr.Collection.open(str(tmp_path))


def test_manifest_missing_or_not_json(tmp_path):
    with pytest.raises(hr.ManifestError, match="no manifest"):
        hr.Collection.open(str(tmp_path))
    for text in ("{not json", "", "\xff"):
        _write(tmp_path, text)
        with pytest.raises(hr.ManifestError, match="corrupt manifest"):
            hr.Collection.open(str(tmp_path))
    (tmp_path / "manifest.json").write_bytes(b"\xff\xfe")
    with pytest.raises(hr.ManifestError, match="corrupt manifest"):
        mf.read(str(tmp_path))


def test_shard_pins_without_ray(tmp_path):
    """The actor's class used directly: pinning keeps the last KEEP commits."""
    p = str(tmp_path / "s.hamdb")
    hamdb.create(p, 64).close()
    s = hr.Shard(p, 5, keep=3)
    code = np.zeros((1, 8), np.uint8)
    t0 = s.txn()
    txns = [s.apply([("insert", np.array([i], np.uint64), code, None, None)]) for i in range(4)]
    assert s.held() == txns[-3:] and s.txn() == txns[-1]
    ids, _ = s.search(code, 10, at_txn=txns[1])
    assert sorted(ids[0][ids[0] != hamdb.NO_ID].tolist()) == [0, 1]
    assert s.apply([]) == txns[-1]  # an empty commit changes nothing
    with pytest.raises(hr.CommitNotHeldError, match=r"shard 5 .*commit %d not held.*no longer" % t0) as e:
        s.search(code, 1, at_txn=t0)
    assert (e.value.shard, e.value.txn) == (5, t0)
    with pytest.raises(hr.CommitNotHeldError, match="not reached it yet"):
        s.search(code, 1, at_txn=txns[-1] + 1)
    s.close()
    s2 = hr.Shard(p, 5)  # reopened: holds only the state it opened
    assert s2.held() == [txns[-1]]
    s2.close()


def test_errors_pickle():
    import pickle
    for e in (hr.ShardUnavailableError("x", 2, [2, 3]), hr.CommitNotHeldError("y", 1, 5, 6, 9),
              hr.ManifestError("z", "/p"), hr.CommitError("w", {0: 3}, {1: RuntimeError("r")})):
        e2 = pickle.loads(pickle.dumps(e))
        assert type(e2) is type(e) and str(e2) == str(e) and e2.__dict__.keys() == e.__dict__.keys()


def test_import_hamdb_does_not_import_ray():
    import subprocess
    import sys
    code = "import sys, hamdb; assert 'ray' not in sys.modules and 'hamdb.ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
