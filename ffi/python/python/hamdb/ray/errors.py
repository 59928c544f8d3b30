"""The scale-out layer's exceptions, all under ``hamdb.Error``.

Each carries its facts as attributes (``shard``, ``txn``, ...) and in its message. They cross
Ray's process boundary by pickling, so each defines ``__reduce__`` to rebuild itself from its
constructor's arguments (the default would call the class with the message alone).
"""

from __future__ import annotations

from typing import Dict, List, Optional

from .._errors import Error


class ManifestError(Error):
    """A collection's manifest is missing, unreadable, corrupt, of an unknown format version,
    or disagrees with its shard files. ``path`` is the manifest's path."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.path = path

    def __reduce__(self):
        return (type(self), (self.args[0], self.path))


class ShardUnavailableError(Error):
    """A shard's actor is dead, unreachable, or did not answer within the timeout. ``shard`` is
    its index; ``shards`` every shard that was unavailable in the same call (ascending)."""

    def __init__(self, message: str, shard: int, shards: Optional[List[int]] = None):
        super().__init__(message)
        self.shard = shard
        self.shards = list(shards) if shards is not None else [shard]

    def __reduce__(self):
        return (type(self), (self.args[0], self.shard, self.shards))


class CommitNotHeldError(Error):
    """A search pinned to a commit the shard no longer holds (older than the snapshots it keeps,
    or from before its actor restarted) or has not reached yet. ``shard``, ``txn``, and the
    range of commits the shard holds (``oldest``, ``latest``)."""

    def __init__(self, message: str, shard: int, txn: int, oldest: int, latest: int):
        super().__init__(message)
        self.shard, self.txn, self.oldest, self.latest = shard, txn, oldest, latest

    def __reduce__(self):
        return (type(self), (self.args[0], self.shard, self.txn, self.oldest, self.latest))


class CommitError(Error):
    """A collection commit that failed on some shards. A commit across shards is not atomic:
    ``committed`` maps each shard whose commit went through to its new txn (durable), ``failed``
    each shard whose commit did not (or whose outcome is unknown: its actor died) to the
    exception. The failed shards' operations stay buffered; see ``Collection.commit``."""

    def __init__(self, message: str, committed: Dict[int, int], failed: Dict[int, BaseException]):
        super().__init__(message)
        self.committed = dict(committed)
        self.failed = dict(failed)

    def __reduce__(self):
        return (type(self), (self.args[0], self.committed, self.failed))


class ReplicaRefusedError(Error):
    """A read-only replica that cannot answer a search exactly: it has not reached the commit
    the driver last acknowledged (``min_txn``), or does not hold the state of exactly the
    pinned commit. The driver then asks the shard's writer; callers of ``Collection`` never see
    it. ``shard``, ``replica`` (1, 2, ...), ``txn`` (the commit asked for), ``held`` (the txns
    the replica holds)."""

    def __init__(self, message: str, shard: int, replica: int, txn: int, held: List[int]):
        super().__init__(message)
        self.shard, self.replica, self.txn, self.held = shard, replica, txn, list(held)

    def __reduce__(self):
        return (type(self), (self.args[0], self.shard, self.replica, self.txn, self.held))
