"""A three-node Ray cluster on loopback: placement, restart after SIGKILL, listeners, teardown.

Run with .venv-ray's interpreter (`make test-ray`); the package's own tests (`make test-python`,
.venv, no Ray) do not collect this directory (ffi/python/tests/conftest.py). The helper is loaded
from its file, so no build of the package is needed.
"""

import importlib.util
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

ray = pytest.importorskip("ray")

from conftest import wait_restarted  # noqa: E402

_HELPER = Path(__file__).resolve().parents[2] / "python" / "hamdb" / "_ray_local.py"
_spec = importlib.util.spec_from_file_location("hamdb_ray_local", _HELPER)
rl = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = rl  # dataclasses look their module up
_spec.loader.exec_module(rl)

NODES = 3
TEST_BUDGET_S = 180  # the whole test, start to teardown; a hang fails it instead


class _Budget:
    def __enter__(self):
        def boom(*_):
            raise TimeoutError(f"Ray cluster test over {TEST_BUDGET_S}s")

        self.old = signal.signal(signal.SIGALRM, boom)
        signal.alarm(TEST_BUDGET_S)

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)


@ray.remote(max_restarts=3, max_task_retries=0, num_cpus=0)
class Probe:
    def pid(self):
        return os.getpid()

    def node(self):
        return ray.get_runtime_context().get_node_id()

    def echo(self, x):
        return x




def _round_trip_us(actor, arg, n):
    ray.get(actor.echo.remote(arg))  # warm
    times = []
    for _ in range(n):
        t = time.perf_counter()
        ray.get(actor.echo.remote(arg))
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def test_loopback_cluster_lifecycle():
    address_file = "/tmp/ray/ray_current_cluster"
    address_before = Path(address_file).read_text() if os.path.exists(address_file) else None
    base = None
    pids = set()
    with _Budget():
        with rl.local_cluster(nodes=NODES, resources_per_node=[{f"shard{i}": 1} for i in range(NODES)]) as lc:
            base = lc.base_dir
            assert lc.address.startswith("127.0.0.1:")
            alive = [n for n in ray.nodes() if n["Alive"]]
            assert len(alive) == NODES
            assert {n["NodeManagerAddress"] for n in alive} == {"127.0.0.1"}

            # one actor per node, placed by the node's custom resource
            actors = [Probe.options(resources={f"shard{i}": 1}).remote() for i in range(NODES)]
            assert ray.get([a.node.remote() for a in actors], timeout=60) == lc.node_ids

            # every socket the cluster (and the driver's core worker) listens on is loopback
            listeners = lc.listeners()
            assert listeners, "found no listener at all: is ss (iproute2) missing?"
            bad = [x for x in listeners if not x.loopback]
            assert not bad, f"non-loopback listeners: {bad}"

            # round trips (printed with -s; docs/SCALE.md has the figures)
            arr = np.arange(1000, dtype=np.uint64)  # 1,000 x 8 bytes
            t_none = _round_trip_us(actors[1], None, 200)
            t_arr = _round_trip_us(actors[1], arr, 200)
            assert np.array_equal(ray.get(actors[1].echo.remote(arr)), arr)
            print(f"\nstartup {lc.startup_s:.2f}s; round trip median: trivial {t_none:.0f} us, "
                  f"1000x8-byte array {t_arr:.0f} us")

            # SIGKILL the actor on node 2: Ray restarts it (max_restarts) on the same node
            victim = actors[2]
            old_pid = ray.get(victim.pid.remote())
            t = time.monotonic()
            os.kill(old_pid, signal.SIGKILL)
            new_pid = wait_restarted(victim, old_pid)
            print(f"restart after SIGKILL {time.monotonic() - t:.2f}s (pid {old_pid} -> {new_pid})")
            assert ray.get(victim.node.remote()) == lc.node_ids[2]
            assert not psutil.pid_exists(old_pid) or psutil.Process(old_pid).status() == psutil.STATUS_ZOMBIE

            # after the restart, still loopback only
            bad = [x for x in lc.listeners() if not x.loopback]
            assert not bad, f"non-loopback listeners after restart: {bad}"
            pids = {p.pid for p in lc.started_processes()}
            assert len(pids) >= 2 * NODES  # at least a raylet and a worker each
        print(f"shutdown {lc.shutdown_s:.2f}s")

    # nothing left: no process of the run, no temp state, no address file for ray.init to join
    assert not ray.is_initialized()
    left = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not left, f"Ray processes left: {left}"
    assert not os.path.exists(base)
    after = Path(address_file).read_text() if os.path.exists(address_file) else None
    assert after == address_before
    assert os.environ.get("RAY_TMPDIR") != base  # the environment is restored


def test_teardown_on_exception():
    with _Budget():
        with pytest.raises(RuntimeError, match="boom"):
            with rl.local_cluster(nodes=2) as lc:
                base = lc.base_dir
                pids = {p.pid for p in lc.started_processes()}
                raise RuntimeError("boom")
    assert not ray.is_initialized()
    assert not os.path.exists(base)
    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def test_is_loopback():
    assert rl.is_loopback("127.0.0.1") and rl.is_loopback("::ffff:127.0.0.1") and rl.is_loopback("::1")
    assert not rl.is_loopback("*") and not rl.is_loopback("0.0.0.0") and not rl.is_loopback("::")
    assert not rl.is_loopback("192.0.2.2")
