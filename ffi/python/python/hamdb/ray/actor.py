"""The shard actor: one Ray actor per shard holds the shard's database open as its writer.

``Shard`` is the plain class (usable, and tested, without Ray); ``ShardActor`` is it as a Ray
actor class, whose options ``Collection`` sets per shard (placement resources, restarts).

Invariants:
- The actor is the only writer of its file (hamdb's write lock makes a second one fail with
  LockedError). Ray runs one method at a time on it (max_concurrency 1), so every call sees
  the state every earlier call left: a search after ``apply`` returned sees that commit
  (read-your-writes), and commits are serialised.
- Every acknowledged write is a durable hamdb commit before the method returns. A restarted
  actor (Ray reruns ``__init__`` after its process died, max_restarts) reopens the file and so
  serves exactly the committed state: nothing acknowledged is lost, nothing unacknowledged
  half-applied (a hamdb commit is atomic).
- Writes are never retried by Ray (max_task_retries=0): a retried insert batch could apply
  twice; the caller sees the failure instead.
- ``pins`` keeps a Snapshot of each of the last ``keep`` commits this process made (plus the
  state it opened), keyed by txn, so a search pinned to one of them answers from exactly that
  commit; an older commit, or one from before a restart, is refused (CommitNotHeldError).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import ray

import hamdb

from .errors import CommitNotHeldError

#: Commits a shard keeps pinnable (each holds its segments alive until it drops out).
KEEP_COMMITS = 16

# One group of buffered operations: (kind, ids uint64 [m], codes uint8 [m, bytes] or None,
# labels uint32 [m] or None, payloads list of m bytes or None). kind: "insert", "upsert",
# "delete" (codes, labels, payloads None). Groups apply in order, inside one WriteBatch.
Op = Tuple[str, np.ndarray, Optional[np.ndarray], Optional[np.ndarray], Optional[List[bytes]]]


class Shard:
    """One shard's database, opened as the writer, with its last commits pinned."""

    def __init__(self, path: str, shard: int, keep: int = KEEP_COMMITS):
        self.path, self.shard, self.keep = path, shard, keep
        self.db = hamdb.open(path)
        self.maintenance_errors: List[str] = []  # failed automatic flushes/compactions healed
        self._reopen = False  # the handle was poisoned and closed; reopen before the next use
        self.pins: "OrderedDict[int, hamdb.Snapshot]" = OrderedDict()
        self._pin(self.db.stats()["txn"])

    def _pin(self, txn: int) -> None:
        """Hold the current state as commit ``txn``; drop the oldest past ``keep``."""
        if txn in self.pins:  # an empty commit: the state did not change
            return
        self.pins[txn] = self._handle().snapshot()
        while len(self.pins) > self.keep:
            _, old = self.pins.popitem(last=False)
            old.close()

    # --- writes ---------------------------------------------------------------------------
    def _committed(self, info) -> int:
        """The txn of a durable commit. If the automatic flush or compaction it triggered
        failed (``CommitInfo.maintenance_error``: a full disk, say), the commit stands but the
        handle is poisoned and would refuse every later write (PoisonedError) until reopened:
        reopen it now, so the shard heals by itself once the cause is gone. The pins are
        snapshots, which outlive the handle. If the reopen fails, the next call tries again
        (``_handle``) and reports that error until it succeeds; this commit is acknowledged."""
        if info.maintenance_error is not None:
            self.maintenance_errors.append(f"txn {info.txn}: {info.maintenance_error}")
            self.db.close()
            self._reopen = True
            try:
                self._handle()
            except hamdb.Error:
                pass
        return info.txn

    def _handle(self) -> "hamdb.Database":
        """The open database, reopened first if a poisoned handle was closed."""
        if self._reopen:
            self.db = hamdb.open(self.path)
            self._reopen = False
        return self.db


    def apply(self, ops: Sequence[Op]) -> int:
        """Apply every group of ``ops`` in one WriteBatch, one atomic durable commit; its txn."""
        batch = hamdb.WriteBatch()
        for kind, ids, codes, labels, payloads in ops:
            if kind == "delete":
                for i in ids.tolist():
                    batch.delete(i)
                continue
            add = batch.insert if kind == "insert" else batch.upsert
            for j, i in enumerate(ids.tolist()):
                label = None if labels is None else int(labels[j])
                payload = None if payloads is None else payloads[j]
                add(i, codes[j], label, payload)
        txn = self._committed(self._handle().commit(batch))
        self._pin(txn)
        return txn

    def import_codes(self, codes, ids, labels=None, payloads=None) -> int:
        """``Database.import_codes`` (one new segment, one commit); its txn."""
        txn = self._committed(self._handle().import_codes(codes, ids, labels, payloads))
        self._pin(txn)
        return txn

    def ingest(self, ids, codes, labels, keys: Sequence[bytes]) -> Dict[str, object]:
        """Store encoded images idempotently, in one atomic durable commit (ingest.py).

        Item j is (``ids[j]``, ``codes[j]``, ``labels[j]``) with payload ``keys[j]``, the source
        key its id was hashed from. An id not stored yet is inserted; one stored with the same
        key is left alone if its code and label are the same (a rerun) and replaced if not (the
        file changed); one stored with another key is a hash collision and is refused, never
        overwritten. Returns ``{"txn", "written", "unchanged", "collisions": [(j, other key)]}``.
        Running it twice on the same input writes nothing the second time, so the driver may
        retry a call whose outcome it does not know (the actor died mid-call)."""
        batch = hamdb.WriteBatch()
        written = unchanged = 0
        collisions: List[Tuple[int, bytes]] = []
        seen: Dict[int, bytes] = {}  # ids earlier in this call: not yet visible to get()
        for j, i in enumerate(ids.tolist()):
            key = bytes(keys[j])
            if i in seen:
                if seen[i] == key:
                    unchanged += 1
                else:
                    collisions.append((j, seen[i]))
                continue
            code, label = codes[j], int(labels[j])
            old = self._handle().get(i)
            if old is not None and old.payload != key:
                collisions.append((j, old.payload))
                continue
            seen[i] = key
            if old is not None and old.code == code.tobytes() and old.label == label:
                unchanged += 1
                continue
            batch.upsert(i, code, label, key)
            written += 1
        txn = self._committed(self._handle().commit(batch)) if written else self.txn()
        self._pin(txn)
        return {"txn": txn, "written": written, "unchanged": unchanged, "collisions": collisions}

    # --- reads ----------------------------------------------------------------------------

    def _source(self, at_txn: Optional[int]):
        """The database (latest commit) or the snapshot of commit ``at_txn``.

        A commit vector names, for a shard that had nothing to commit, the txn it already had,
        so the state "at t" is that of the newest pinned commit <= t; it is exact only if that
        commit is held and t is not past the latest one."""
        if at_txn is None:
            return self._handle()
        held = list(self.pins)
        oldest, latest = held[0], held[-1]
        if at_txn > latest:
            why = "has not reached it yet"
        elif at_txn < oldest:
            why = f"no longer holds it (it holds commits {oldest}..{latest}; older ones are " \
                  f"released, and a restarted shard holds only what it reopened)"
        else:
            return self.pins[max(t for t in held if t <= at_txn)]
        raise CommitNotHeldError(
            f"shard {self.shard} ({self.path}): commit {at_txn} not held: the shard {why}",
            self.shard, at_txn, oldest, latest,
        )

    def search(self, codes, k: int, label=None, at_txn=None, with_labels=False):
        """``Database.search`` of a 2-D batch (one thread: actors share the node's cores)."""
        return self._source(at_txn).search(codes, k, label, threads=1, with_labels=with_labels)

    def search_radius(self, codes, r: int, label=None, at_txn=None, with_labels=False):
        """``Database.search_radius`` of a 2-D batch."""
        return self._source(at_txn).search_radius(codes, r, label, threads=1, with_labels=with_labels)

    def get(self, ids) -> List[Optional[Tuple[bytes, Optional[int], bytes]]]:
        """``(code, label, payload)`` of each id's item at the latest commit, None if absent."""
        out = []
        for i in ids.tolist():
            it = self._handle().get(i)
            out.append(None if it is None else (it.code, it.label, it.payload))
        return out

    def txn(self) -> int:
        """The latest commit's txn."""
        return next(reversed(self.pins))

    def held(self) -> List[int]:
        """The txns of the commits a search can be pinned to, oldest first."""
        return list(self.pins)

    def stats(self) -> Dict[str, object]:
        """``Database.stats()`` plus ``shard``, ``path``, ``pid``, ``node`` (Ray node id, or None)."""
        s = dict(self._handle().stats())
        s.update(shard=self.shard, path=self.path, pid=os.getpid(), held=self.held(),
                 maintenance_errors=list(self.maintenance_errors))
        ctx = ray.get_runtime_context() if ray.is_initialized() else None
        s["node"] = ctx.get_node_id() if ctx is not None else None
        return s

    def pid(self) -> int:
        """This process's id (tests SIGKILL it)."""
        return os.getpid()

    def close(self) -> None:
        """Release the pins and close the database (the actor is killed next)."""
        for snap in self.pins.values():
            snap.close()
        self.pins.clear()
        self.db.close()


#: ``Shard`` as a Ray actor. Restarted without limit after its process dies (a restart reopens
#: the file); an exception in ``__init__`` (a missing or corrupt file) is not a process death
#: and ends it for good. ``num_cpus=0``: it holds no CPU between calls, so any number of shards
#: fit on a node; ``Collection`` adds a per-node resource to place it.
ShardActor = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)(Shard)
