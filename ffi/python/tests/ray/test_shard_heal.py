"""A shard whose automatic flush fails (a full disk) heals by itself: the commit stands and the
shard reopens its poisoned handle, so the next write goes through once space is back. Without
Ray (the plain Shard class), in a child process: RLIMIT_FSIZE is process-wide."""

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("ray")

CHILD = textwrap.dedent(
    """
    import os, resource, signal, sys, warnings
    import numpy as np
    import hamdb
    from hamdb.ray.actor import Shard
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    warnings.simplefilter("ignore", RuntimeWarning)
    path = sys.argv[1]
    hamdb.create(path, 32).close()
    shard = Shard(path, 0)
    acked = []
    for i in range(200):
        limit = os.path.getsize(path) + 120_000
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        op = ("insert", np.array([i], np.uint64), np.zeros((1, 4), np.uint8), None, [b"x" * 50_000])
        try:
            shard.apply([op])
        except hamdb.Error as e:
            print("raised", type(e).__name__)
            break
        acked.append(i)
        if shard.maintenance_errors:
            break
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
    print("healed", len(shard.maintenance_errors))
    op = ("insert", np.array([1000], np.uint64), np.ones((1, 4), np.uint8), None, [b"after"])
    shard.apply([op])  # a poisoned handle would raise PoisonedError here
    acked.append(1000)
    print("stats", shard.stats()["items"], len(shard.stats()["maintenance_errors"]))
    shard.close()
    with hamdb.open(path) as db:
        print("items", len(db), "acked", len(acked), all(db.get(i) is not None for i in acked))
    """
)


def test_a_shard_reopens_a_handle_its_failed_flush_poisoned(tmp_path):
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "s.hamdb")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "healed 1", out.stdout
    acked = int(lines[2].split()[3])
    assert lines[1] == f"stats {acked} 1", out.stdout
    assert lines[2] == f"items {acked} acked {acked} True", out.stdout
