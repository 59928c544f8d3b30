"""Fixtures of the Ray tests: one loopback 3-node cluster per module, a time budget per test,
and waiting for an actor's restart."""

import signal
import time

import pytest

ray = pytest.importorskip("ray")

from hamdb._ray_local import local_cluster  # noqa: E402

NODES = 3


@pytest.fixture(scope="module")
def cluster():
    """A real multi-process Ray cluster on 127.0.0.1 (``hamdb._ray_local``), torn down, with
    its temp state, when the module's tests are done."""
    with local_cluster(nodes=NODES) as lc:
        ray.data.DataContext.get_current().enable_progress_bars = False
        yield lc


@pytest.fixture(autouse=True)
def budget(request):
    """Each test gets the module's ``TEST_BUDGET_S`` (default 120 s): a hang fails that test
    instead of the whole run."""
    seconds = getattr(request.module, "TEST_BUDGET_S", 120)

    def boom(*_):
        raise TimeoutError(f"test over {seconds}s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def wait_dead(actor, timeout_s=60.0):
    """Returns once calls to ``actor`` fail with RayActorError. ``ray.kill`` only sends the kill
    (through the GCS) and returns: a call made right after it can still be served by the live
    process, so a test that needs the actor gone must wait for it to be gone."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            ray.get(actor.pid.remote(), timeout=10)
        except ray.exceptions.RayActorError:
            return
        except ray.exceptions.GetTimeoutError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"actor still answers {timeout_s:g}s after ray.kill")


def wait_restarted(actor, old_pid, timeout_s=60.0):
    """The actor's new process id once Ray has restarted it after ``old_pid`` died (calls fail
    with RayActorError or time out while it restarts)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            pid = ray.get(actor.pid.remote(), timeout=10)
            if pid != old_pid:
                return pid
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"actor did not restart within {timeout_s:g}s")
