"""Read-only replicas of a shard: more processes that search the shard's file (query throughput).

``Replica`` is the plain class (usable, and tested, without Ray); ``ReplicaActor`` is it as a
Ray actor class, whose options ``Collection`` sets per replica (placement, restarts).

A replica opens its shard file with ``hamdb.open(path, read_only=True)``: no write lock, so it
runs beside the writer actor (``ShardActor``), and it sees the writer's commits when it calls
``refresh()`` (docs/FORMAT.md, "Writers and readers": a reader reads the commit record before
the data it names, so a refresh lands on one whole durable commit, never a torn one).

Invariants:
- A replica never answers from a state older than the caller asked for. Every search carries
  ``min_txn``, the driver's latest acknowledged txn for the shard: a replica behind it refreshes
  first, and if the file still has not reached it (it cannot happen for an acknowledged commit,
  but the driver does not rely on that) it raises ReplicaRefusedError and the driver asks the
  writer. A commit the writer acknowledged is durable in the file, so a refresh after it sees it:
  read-your-writes holds on replicas too.
- A search pinned to commit ``at`` is answered only from a Snapshot of *exactly* that txn. A
  replica sees the file's txns, not what each was: it refreshes over several commits at once
  (the ones between are never seen), and a flush or compaction is a txn of its own with the
  same items. So the writer's rule "the newest held txn <= at" is exact on a replica only when
  that txn *is* ``at``: the txns it skipped between may have changed the items. Anything else
  is refused (ReplicaRefusedError) and the driver asks the writer, which saw every commit.
- ``pins`` keeps the Snapshot of each of the last ``keep`` states this process refreshed to
  (plus the one it opened), keyed by txn; a restarted replica (Ray reruns ``__init__``) reopens
  read-only and holds only the state it opened.
- A replica never writes (the handle is read-only: a write would raise ReadOnlyError).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Dict, List, Optional

import ray

import hamdb

from .actor import KEEP_COMMITS
from .errors import ReplicaRefusedError


class Replica:
    """One read-only copy of shard ``shard``'s database, number ``replica`` (1, 2, ...; 0 is the
    writer in ``Collection``'s numbering), with the states it refreshed to pinned."""

    def __init__(self, path: str, shard: int, replica: int, keep: int = KEEP_COMMITS):
        self.path, self.shard, self.replica, self.keep = path, shard, replica, keep
        self.db = hamdb.open(path, read_only=True)
        self.pins: "OrderedDict[int, hamdb.Snapshot]" = OrderedDict()
        self.searches = 0  # searches answered (tests check that a replica serves)
        self._pin()

    def _pin(self) -> None:
        """Hold the handle's current state as its txn; drop the oldest past ``keep``."""
        snap = self.db.snapshot()
        if snap.txn in self.pins:  # nothing changed
            snap.close()
            return
        self.pins[snap.txn] = snap
        while len(self.pins) > self.keep:
            _, old = self.pins.popitem(last=False)
            old.close()

    def refresh(self) -> int:
        """Pick up the writer's latest commit (``Database.refresh``) and pin it; the txn held."""
        if self.db.refresh():
            self._pin()
        return self.txn()

    # --- reads ----------------------------------------------------------------------------

    def _source(self, at_txn: Optional[int], min_txn: Optional[int]):
        """The snapshot to answer from, or ReplicaRefusedError (the driver asks the writer)."""
        if at_txn is None:
            if min_txn is not None and self.txn() < min_txn:
                self.refresh()
            if min_txn is not None and self.txn() < min_txn:
                self._refuse(min_txn, f"it has reached only commit {self.txn()} (the driver "
                                      f"needs {min_txn} or later)")
            return self.pins[self.txn()]
        if at_txn > self.txn():  # maybe committed since the last refresh
            self.refresh()
        snap = self.pins.get(at_txn)
        if snap is None:
            self._refuse(at_txn, f"it does not hold the state of exactly that commit (it holds "
                                 f"{list(self.pins)}; a replica skips the commits it refreshes over)")
        return snap

    def _refuse(self, txn: int, why: str) -> None:
        raise ReplicaRefusedError(
            f"shard {self.shard} replica {self.replica} ({self.path}): commit {txn}: {why}",
            self.shard, self.replica, txn, list(self.pins))

    def search(self, codes, k: int, label=None, at_txn=None, with_labels=False, min_txn=None):
        """``Database.search`` of a 2-D batch from the state asked for (see ``_source``)."""
        src = self._source(at_txn, min_txn)
        out = src.search(codes, k, label, threads=1, with_labels=with_labels)
        self.searches += 1
        return out

    def search_radius(self, codes, r: int, label=None, at_txn=None, with_labels=False, min_txn=None):
        """``Database.search_radius`` of a 2-D batch from the state asked for."""
        src = self._source(at_txn, min_txn)
        out = src.search_radius(codes, r, label, threads=1, with_labels=with_labels)
        self.searches += 1
        return out

    def txn(self) -> int:
        """The txn of the newest state held."""
        return next(reversed(self.pins))

    def held(self) -> List[int]:
        """The txns a pinned search can be answered from, oldest first."""
        return list(self.pins)

    def stats(self) -> Dict[str, object]:
        """``shard``, ``replica``, ``path``, ``txn``, ``held``, ``searches``, ``items`` (newest
        state), ``pid``, ``node`` (Ray node id, or None)."""
        ctx = ray.get_runtime_context() if ray.is_initialized() else None
        return {"shard": self.shard, "replica": self.replica, "path": self.path,
                "txn": self.txn(), "held": self.held(), "searches": self.searches,
                "items": len(self.pins[self.txn()]), "pid": os.getpid(),
                "node": ctx.get_node_id() if ctx is not None else None}

    def pid(self) -> int:
        """This process's id (tests SIGKILL it)."""
        return os.getpid()

    def close(self) -> None:
        """Release the pins and close the handle (the actor is killed next)."""
        for snap in self.pins.values():
            snap.close()
        self.pins.clear()
        self.db.close()


#: ``Replica`` as a Ray actor: restarted like the writers (``Collection(max_restarts=)``), each
#: restart reopening the file read-only; never retried (a call that fails goes to another member
#: of the shard instead, chosen by the driver). ``num_cpus=0`` like the writers.
ReplicaActor = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)(Replica)
