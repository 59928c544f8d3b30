"""A multi-node Ray cluster on this machine that listens on 127.0.0.1 only (tests, benchmarks).

``local_cluster()`` starts a head and ``nodes - 1`` worker nodes with ``ray.cluster_utils.Cluster``
(each node its own GCS client, raylet, object store and workers: a real multi-process cluster),
connects the driver, and tears everything down on exit, also on an exception. ``listeners()``
lists the TCP and UDP sockets the started processes listen on, so a test can assert they are all
on loopback. Found and measured on Ray 2.60.0; docs/SCALE.md ("Running Ray on loopback") has the
experiments behind each setting:

- ``node_ip_address="127.0.0.1"`` on every node: the GCS, the raylets (node manager, object
  manager), the core workers and the runtime-env agents then bind 127.0.0.1 instead of ``*``.
- ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (and ``ray._private.ray_constants.ENABLE_RAY_CLUSTER``
  patched to False while the cluster runs, in case Ray was imported already): ``ray.init`` rewrites
  a loopback address to the machine's outbound interface address (``resolve_ip_for_localhost``),
  where nothing listens, and then retries forever. With the flag off it keeps 127.0.0.1.
- ``include_dashboard=False``: no dashboard; on 2.60 no dashboard agent or metrics listener runs.
- ``RAY_TMPDIR`` and ``temp_dir`` under a fresh per-run directory: the session directory, its
  sockets, and the ``ray_current_cluster`` file that a later ``ray.init()`` would try to join
  all live there (``Cluster`` writes that file under ``$RAY_TMPDIR/ray``, not under temp_dir), and
  the whole directory is removed at the end. /tmp/ray is never touched.
- ``RAY_USAGE_STATS_ENABLED=0``: no usage report is attempted (there is no network here).
- ``object_store_memory`` small (100 MiB a node) and ``num_cpus=1`` a node.

Needs ``ray`` and ``psutil`` (ffi/python/requirements-ray.txt); imports nothing of hamdb itself.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence

import psutil

MiB = 1024 * 1024
LOOPBACK = "127.0.0.1"
# Environment set while the cluster runs; every Ray process inherits it, which is also how
# ``started_processes()`` recognises them (RAY_TMPDIR names this run's directory).
_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
}
# A Unix socket path holds at most 107 bytes; Ray puts them at
# <temp_dir>/session_<date>_<time>_<usec>_<pid>/sockets/plasma_store (about 70 bytes past temp_dir).
_MAX_BASE = 36


@dataclass(frozen=True)
class Listener:
    proto: str  # "tcp" or "udp"
    addr: str  # as ss prints it, without brackets: "127.0.0.1", "::ffff:127.0.0.1", "*", "::"
    port: int
    pid: int
    name: str

    @property
    def loopback(self) -> bool:
        return is_loopback(self.addr)


def is_loopback(addr: str) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for wildcards and the rest."""
    addr = addr.strip("[]").split("%")[0]
    if addr in ("*", ""):
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


@dataclass
class LocalCluster:
    """What ``local_cluster`` yields: the running cluster and where its state lives."""

    cluster: object  # ray.cluster_utils.Cluster
    address: str  # GCS address, 127.0.0.1:PORT
    base_dir: str  # per-run directory (RAY_TMPDIR); removed on exit
    temp_dir: str  # Ray's temp_dir, base_dir/ray
    node_ids: List[str]  # hex node ids, index i = node i (0 is the head)
    resources: List[Dict[str, float]]  # custom resources of node i
    startup_s: float = 0.0
    shutdown_s: float = 0.0
    _seen: set = field(default_factory=set)

    def started_processes(self) -> List[psutil.Process]:
        """The Ray processes of this run: every process whose environment names base_dir as
        RAY_TMPDIR (raylets, GCS, agents, workers; they inherit it), plus children of this
        process. The driver itself is not included (see ``listeners(include_driver=...)``)."""
        me = os.getpid()
        found: Dict[int, psutil.Process] = {}
        for p in psutil.Process(me).children(recursive=True):
            found[p.pid] = p
        for p in psutil.process_iter(["pid"]):
            if p.pid == me or p.pid in found:
                continue
            try:
                if p.environ().get("RAY_TMPDIR") == self.base_dir:
                    found[p.pid] = p
            except (psutil.Error, OSError):
                continue
        self._seen.update(found)
        return list(found.values())

    def listeners(self, include_driver: bool = True) -> List[Listener]:
        """Listening TCP sockets and bound UDP sockets of the started processes (and of the
        driver, whose core worker serves gRPC too), from ``ss -tlnpH`` / ``ss -ulnpH``."""
        pids = {p.pid for p in self.started_processes()}
        if include_driver:
            pids.add(os.getpid())
        return [x for x in socket_listeners() if x.pid in pids]


def socket_listeners() -> List[Listener]:
    """Every listening TCP and bound UDP socket on the machine with its owner, as ``ss`` sees it
    (run as root to see other users' processes)."""
    out: List[Listener] = []
    for proto, flags in (("tcp", "-tlnpH"), ("udp", "-ulnpH")):
        text = subprocess.run(["ss", flags], capture_output=True, text=True, timeout=10).stdout
        for line in text.splitlines():
            cols = line.split()
            if len(cols) < 5:
                continue
            local = cols[3]
            host, _, port = local.rpartition(":")
            host = host.strip("[]").split("%")[0]
            for name, pid in re.findall(r'\("([^"]*)",pid=(\d+)', line):
                out.append(Listener(proto, host, int(port) if port.isdigit() else -1, int(pid), name))
    return out


def _node_args(resources: Dict[str, float], temp_dir: str, object_store_memory: int,
               num_cpus: int) -> dict:
    return dict(
        node_ip_address=LOOPBACK,
        include_dashboard=False,
        dashboard_host=LOOPBACK,
        num_cpus=num_cpus,
        num_gpus=0,
        resources=dict(resources),
        object_store_memory=object_store_memory,
        temp_dir=temp_dir,
    )


@contextlib.contextmanager
def local_cluster(
    nodes: int = 3,
    resources_per_node: Optional[Sequence[Dict[str, float]]] = None,
    temp_dir: Optional[str] = None,
    *,
    num_cpus: int = 1,
    object_store_memory: int = 100 * MiB,
    connect: bool = True,
    namespace: Optional[str] = None,
) -> Iterator[LocalCluster]:
    """Start ``nodes`` Ray nodes on 127.0.0.1 (node 0 is the head), yield a ``LocalCluster``,
    and tear it all down on exit: ``ray.shutdown``, ``Cluster.shutdown``, SIGKILL to any Ray
    process of this run still alive after that, the per-run directory removed, the environment
    restored.

    resources_per_node: custom resources of each node; default ``{"node<i>": 1}`` for node i, so
        ``Actor.options(resources={"node1": 1})`` places an actor on node 1.
    temp_dir: parent of the per-run directory (default /tmp; must be short, Unix socket paths
        live under it).
    connect: ``ray.init(address=...)`` the driver to the head (and ``ray.shutdown`` at exit).
    """
    if nodes < 1:
        raise ValueError("nodes must be >= 1")
    if resources_per_node is None:
        resources_per_node = [{f"node{i}": 1} for i in range(nodes)]
    if len(resources_per_node) != nodes:
        raise ValueError("resources_per_node needs one dict per node")
    base = tempfile.mkdtemp(prefix="hamdb-ray-", dir=temp_dir or "/tmp")
    if len(base) > _MAX_BASE:
        shutil.rmtree(base, ignore_errors=True)
        raise ValueError(f"temp dir {base!r} too long for Ray's Unix sockets (max {_MAX_BASE})")
    ray_temp = os.path.join(base, "ray")
    os.mkdir(ray_temp)
    env = dict(_ENV, RAY_TMPDIR=base)
    saved_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)

    import ray
    import ray._private.ray_constants as ray_constants
    from ray.cluster_utils import Cluster

    saved_flag = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    lc: Optional[LocalCluster] = None
    cluster = None
    try:
        t0 = time.monotonic()
        cluster = Cluster(
            initialize_head=True,
            head_node_args=_node_args(resources_per_node[0], ray_temp, object_store_memory, num_cpus),
            shutdown_at_exit=True,
        )
        node_ids = [cluster.head_node.node_id]
        for res in resources_per_node[1:]:
            node = cluster.add_node(**_node_args(res, ray_temp, object_store_memory, num_cpus))
            node_ids.append(node.node_id)
        address = cluster.address
        if not address.startswith(LOOPBACK + ":"):
            raise RuntimeError(f"Ray's GCS came up on {address}, not on {LOOPBACK}")
        if connect:
            ray.init(address=address, namespace=namespace, log_to_driver=False)
        lc = LocalCluster(
            cluster=cluster, address=address, base_dir=base, temp_dir=ray_temp,
            node_ids=node_ids, resources=[dict(r) for r in resources_per_node],
            startup_s=time.monotonic() - t0,
        )
        lc.started_processes()
        yield lc
    finally:
        t1 = time.monotonic()
        survivors: List[psutil.Process] = []
        try:
            if connect and ray.is_initialized():
                ray.shutdown()
            if lc is not None:
                lc.started_processes()  # note every pid before the nodes go
            if cluster is not None:
                cluster.shutdown()
        finally:
            ray_constants.ENABLE_RAY_CLUSTER = saved_flag
            probe = lc or LocalCluster(None, "", base, ray_temp, [], [])
            survivors = _reap(probe)
            shutil.rmtree(base, ignore_errors=True)
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            if lc is not None:
                lc.shutdown_s = time.monotonic() - t1
        if survivors:
            raise RuntimeError(f"Ray processes survived teardown: {survivors}")


def _reap(lc: LocalCluster, grace_s: float = 5.0) -> List[int]:
    """SIGKILL whatever Ray process of this run is still alive after shutdown; the pids that even
    that did not end within grace_s."""
    deadline = time.monotonic() + grace_s
    while True:
        alive = [p for p in lc.started_processes() if _alive(p)]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for p in alive:
        with contextlib.suppress(psutil.Error, OSError):
            p.send_signal(signal.SIGKILL)
    _, still = psutil.wait_procs(alive, timeout=grace_s)
    return [p.pid for p in still if _alive(p)]


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
