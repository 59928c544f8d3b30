"""``Collection``: a sharded hamdb collection served by one writer actor per shard.

A collection is a directory: ``manifest.json`` (manifest.py) and one hamdb file a shard. Ids
are the caller's (hamdb's auto ids count per file, so they could not be unique across shards)
and ``routing.shard_of(id, shards)`` names the shard that holds each, so an upsert or delete
reaches the shard its insert went to.

Writes are buffered per shard and sent by ``commit()``, all shards in parallel; each shard
commits its part atomically and durably, but **a commit across shards is not atomic**: if
some shards fail, the others have committed (``CommitError`` says which). ``commit()`` returns
the *commit vector*, one txn a shard; ``search(..., at=vector)`` answers from exactly those
commits (each shard keeps its last ``actor.KEEP_COMMITS``). Without ``at`` each shard answers
from its latest commit, which after ``commit()`` returned includes it (read-your-writes).

Searches send the whole query batch to every shard in one call and merge exactly on
(distance, id) (merge.py). A shard that is dead, unreachable or slower than ``timeout_s``
makes the search raise ``ShardUnavailableError`` naming it, or, with ``partial=True``, the
answer of the other shards comes back with the list of missing ones.

The directory must be reachable at the same path from every node that hosts a shard (on one
machine, or a shared filesystem).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

import hamdb

from . import manifest as mf
from . import merge
from .actor import Op, ShardActor
from .errors import CommitError, ManifestError, ShardUnavailableError
from .routing import as_ids, shard_of

#: Seconds a call waits for a shard before calling it unavailable (``Collection(timeout_s=)``).
DEFAULT_TIMEOUT_S = 30.0

CommitVector = Tuple[int, ...]


@dataclass(frozen=True)
class ImageSearch:
    """``Collection.search_image``'s answer: the query image's code, predicted label, class
    name and probability, and its neighbours over every shard (ascending by (distance, id);
    ``labels``: each item's stored label, ``hamdb.NO_LABEL`` for none); ``missing``: shards that
    did not answer (only with ``partial=True``)."""

    code: bytes
    label: int
    class_name: str
    probability: float
    ids: np.ndarray
    distances: np.ndarray
    labels: np.ndarray
    missing: List[int]


@dataclass(frozen=True)
class Item:
    """A stored item, as ``Collection.get`` returns it: its id, code bytes, label (None for
    none) and payload."""

    id: int
    code: bytes
    label: Optional[int]
    payload: bytes


#: Query batches up to this size are sent inline with each shard's call, larger ones via one
#: ``ray.put`` (Ray itself inlines arguments under 100 KiB).
_INLINE_QUERY_BYTES = 64 * 1024


class Collection:
    """A sharded collection (``Collection.create`` / ``Collection.open``); a context manager.

    One driver process owns the collection's actors and write buffers; it is not thread-safe.
    """

    def __init__(self, directory: str, m: mf.Manifest, actors: list, timeout_s: float):
        self.directory = directory
        self.manifest = m
        self.timeout_s = timeout_s
        self._actors = actors
        self._pending: List[List[Op]] = [[] for _ in actors]
        self._closed = False
        txns = self._gather("txn", [(s, ()) for s in range(len(actors))])
        self._vector: List[int] = [txns[s] for s in range(len(actors))]

    # --- opening --------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        directory: str,
        bits: int,
        shards: int,
        fingerprint: Optional[bytes] = None,
        node_resources: Optional[Sequence[str]] = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_restarts: int = -1,
    ) -> "Collection":
        """Create a collection of ``shards`` empty shard files and its manifest in ``directory``
        (made if missing), start its actors and return it. The shard files are created first and
        the manifest last, so a failed create leaves no collection (but may leave shard files:
        remove the directory before trying again). The other arguments: see ``open``."""
        m = mf.Manifest.new(bits, shards, fingerprint or b"")
        return cls._create(directory, m, lambda p: hamdb.create(p, bits, m.fingerprint),
                           node_resources, timeout_s, max_restarts)

    @classmethod
    def create_for_model(
        cls,
        directory: str,
        encoder,
        shards: int,
        node_resources: Optional[Sequence[str]] = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_restarts: int = -1,
    ) -> "Collection":
        """``create`` for the codes of ``encoder``'s model (a ``hamdb.Encoder``): every shard
        file records the model (``hamdb.create_for_model``) and the manifest its fingerprint,
        so ``search_image`` refuses another model with EncoderMismatchError."""
        bits = encoder.bits + (-encoder.bits) % 8
        m = mf.Manifest.new(bits, shards, encoder.fingerprint)
        return cls._create(directory, m, lambda p: hamdb.create_for_model(p, encoder),
                           node_resources, timeout_s, max_restarts)

    @classmethod
    def _create(cls, directory, m, make_shard, node_resources, timeout_s, max_restarts):
        os.makedirs(directory, exist_ok=True)
        if os.path.exists(mf.path_in(directory)):
            raise ManifestError(f"{mf.path_in(directory)} exists: use Collection.open", mf.path_in(directory))
        for p in mf.shard_paths(directory, m):
            make_shard(p).close()
        mf.write(directory, m)
        return cls._start(directory, m, node_resources, timeout_s, max_restarts)

    @classmethod
    def open(
        cls,
        directory: str,
        node_resources: Optional[Sequence[str]] = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_restarts: int = -1,
    ) -> "Collection":
        """Open the collection in ``directory`` (ManifestError if it has no valid manifest, or a
        shard file disagrees with it) and start one writer actor per shard.

        ``node_resources``: names of custom Ray resources, one per node (e.g. ``["node0",
        "node1", "node2"]``); shard i asks for a sliver (0.001) of ``node_resources[i % len]``,
        which places it on that node. None: Ray places the actors. ``timeout_s``: how long a
        call waits for a shard (then ShardUnavailableError). ``max_restarts``: how often Ray
        restarts a shard actor whose process died (-1: always; each restart reopens the file)."""
        m = mf.read(directory)
        return cls._start(directory, m, node_resources, timeout_s, max_restarts)

    @classmethod
    def _start(cls, directory, m, node_resources, timeout_s, max_restarts) -> "Collection":
        actors = []
        for i, path in enumerate(mf.shard_paths(directory, m)):
            opts: dict = {"max_restarts": max_restarts}
            if node_resources:
                opts["resources"] = {node_resources[i % len(node_resources)]: 0.001}
            actors.append(ShardActor.options(**opts).remote(os.path.abspath(path), i))
        try:
            c = cls(directory, m, actors, timeout_s)
        except BaseException:
            for a in actors:  # the shards that did start must not stay up holding their files
                ray.kill(a, no_restart=True)
            raise
        try:
            c._check_shards()
        except BaseException:
            c.close()
            raise
        return c

    def _check_shards(self) -> None:
        """Each shard file must have the manifest's code length and fingerprint."""
        for s, st in self._gather("stats", [(s, ()) for s in range(self.shards)]).items():
            if st["code_bits"] != self.bits or st["fingerprint"] != self.manifest.fingerprint:
                raise ManifestError(
                    f"shard {s} ({st['path']}) has {st['code_bits']} bits, fingerprint "
                    f"{st['fingerprint'].hex()!r}; the manifest says {self.bits} bits, "
                    f"{self.manifest.fingerprint.hex()!r}", mf.path_in(self.directory))

    # --- properties -----------------------------------------------------------------------

    @property
    def bits(self) -> int:
        return self.manifest.bits

    @property
    def shards(self) -> int:
        return self.manifest.shards

    @property
    def actors(self) -> list:
        """The shard actors, index = shard (for tests and placement checks)."""
        return list(self._actors)

    def commit_vector(self) -> CommitVector:
        """The commit vector of the last commit (or of the open)."""
        return tuple(self._vector)

    # --- writes ---------------------------------------------------------------------------

    def insert(self, ids, codes, labels=None, payloads=None) -> None:
        """Buffer inserts (``commit()`` sends them): ``ids`` uint64 [m] (the caller's, unique
        in the collection: the commit raises DuplicateIdError in a ``CommitError`` otherwise),
        ``codes`` uint8 [m, bits/8], ``labels`` [m] or None, ``payloads`` m bytes or None."""
        self._buffer("insert", ids, codes, labels, payloads)

    def upsert(self, ids, codes, labels=None, payloads=None) -> None:
        """Buffer upserts: insert, or replace the item with that id (on the shard holding it)."""
        self._buffer("upsert", ids, codes, labels, payloads)

    def delete(self, ids) -> None:
        """Buffer deletes (an absent id is not an error)."""
        self._buffer("delete", ids, None, None, None)

    def pending(self) -> int:
        """Operations buffered, not yet committed."""
        return sum(len(op[1]) for ops in self._pending for op in ops)

    def clear(self) -> None:
        """Drop every buffered operation."""
        self._pending = [[] for _ in self._actors]

    def _buffer(self, kind, ids, codes, labels, payloads) -> None:
        self._check_open()
        ids = as_ids(ids)
        m = len(ids)
        if codes is not None:
            codes = self._codes(codes)
            if len(codes) != m:
                raise ValueError(f"{m} ids but {len(codes)} codes")
        if labels is not None:
            labels = np.asarray(labels, dtype=np.uint32).reshape(-1)
            if len(labels) != m:
                raise ValueError(f"{m} ids but {len(labels)} labels")
        if payloads is not None:
            payloads = [bytes(p) for p in payloads]
            if len(payloads) != m:
                raise ValueError(f"{m} ids but {len(payloads)} payloads")
        for s, sel in self._route(ids):
            self._pending[s].append((
                kind, ids[sel],
                None if codes is None else np.ascontiguousarray(codes[sel]),
                None if labels is None else labels[sel],
                None if payloads is None else [payloads[j] for j in sel.tolist()],
            ))

    def commit(self) -> CommitVector:
        """Send every shard its buffered operations, in parallel, and return the commit vector.

        Each shard applies its part as one atomic, durable hamdb commit. Across shards it is
        not atomic: if any shard fails, ``CommitError`` names the failed shards and gives the
        txns of those that committed. The committed shards' buffers are emptied; the failed
        shards' operations stay buffered (a later ``commit()`` sends them again, which for an
        insert whose first commit went through before its actor died raises DuplicateIdError;
        ``clear()`` drops them). Shards with nothing buffered keep their txn in the vector.
        """
        self._check_open()
        calls = [(s, (ops,)) for s, ops in enumerate(self._pending) if ops]
        return self._commit_calls("apply", calls)

    def import_codes(self, codes, ids, labels=None, payloads=None) -> CommitVector:
        """Bulk-load: route the items and ``Database.import_codes`` each shard's part (one new
        segment, one commit per shard), in parallel; the commit vector. Independent of the
        buffered operations (they stay buffered). Non-atomic across shards like ``commit``."""
        self._check_open()
        codes = self._codes(codes)
        ids = as_ids(ids)
        if len(ids) != len(codes):
            raise ValueError(f"{len(ids)} ids but {len(codes)} codes")
        labels = None if labels is None else np.asarray(labels, dtype=np.uint32).reshape(-1)
        payloads = None if payloads is None else [bytes(p) for p in payloads]
        calls = []
        for s, sel in self._route(ids):
            calls.append((s, (
                np.ascontiguousarray(codes[sel]), ids[sel],
                None if labels is None else labels[sel],
                None if payloads is None else [payloads[j] for j in sel.tolist()],
            )))
        return self._commit_calls("import_codes", calls, keep_pending=True)

    def _commit_calls(self, method, calls, keep_pending=False) -> CommitVector:
        results, failed = self._gather_outcomes(method, calls)
        for s, txn in results.items():
            self._vector[s] = txn
            if not keep_pending:
                self._pending[s] = []
        if failed:
            raise CommitError(
                f"commit failed on shard(s) {sorted(failed)} "
                f"({'; '.join(f'shard {s}: {e}' for s, e in sorted(failed.items()))}); "
                f"committed on shard(s) {sorted(results)} with txns {results} (a commit across "
                f"shards is not atomic)", results, failed)
        return tuple(self._vector)

    # --- search ---------------------------------------------------------------------------

    def search(self, codes, k: int, label=None, at: Optional[Sequence[int]] = None,
               partial: bool = False, with_labels: bool = False):
        """The ``k`` nearest items of each query row, exact over every shard, ascending by
        (distance, id): ``(ids uint64 [n,k], dists int32 [n,k])`` padded with NO_ID / -1 like
        ``Database.search``'s 2-D form (``with_labels``: plus ``labels uint32 [n,k]``).

        ``label``: only items of that label. ``at``: a commit vector (from ``commit()``); each
        shard answers from that commit or the search raises CommitNotHeldError. ``partial``:
        instead of raising ShardUnavailableError for a down shard, return ``(result,
        missing)``, the merge of the shards that answered and the sorted list of those that did
        not (an empty list when all answered)."""
        q = self._codes(codes)
        parts, missing = self._fan_out("search", q, k, label, at, partial, with_labels)
        out = merge.merge_knn(parts, k, len(q), with_labels)
        return (out, missing) if partial else out

    def search_radius(self, codes, r: int, label=None, at: Optional[Sequence[int]] = None,
                      partial: bool = False, with_labels: bool = False):
        """Every item within distance ``r`` (inclusive) of each query, over every shard, in
        ``Database.search_radius``'s CSR form ``(lims int64 [n+1], ids uint64, dists int32)``
        (``with_labels``: plus labels). ``label``, ``at``, ``partial`` as for ``search``."""
        q = self._codes(codes)
        parts, missing = self._fan_out("search_radius", q, r, label, at, partial, with_labels)
        out = merge.merge_radius(parts, len(q), with_labels)
        return (out, missing) if partial else out

    def search_image(self, encoder, image, k: Optional[int] = None, label=None,
                     radius: Optional[int] = None, at: Optional[Sequence[int]] = None,
                     partial: bool = False) -> "ImageSearch":
        """Encode ``image`` once, at the driver (one forward pass: its code and predicted class),
        then search every shard by the code: the ``k`` nearest (default 10) or everything within
        ``radius`` (inclusive), only items of ``label`` if given; ``at`` and ``partial`` as for
        ``search``. ``encoder`` must be the collection's model (EncoderMismatchError; a
        collection created without one: NoEncoderError)."""
        if k is not None and radius is not None:
            raise ValueError("give k (nearest neighbours) or radius, not both")
        if not self.manifest.fingerprint:
            raise hamdb.NoEncoderError(
                "the collection was created without a model (Collection.create_for_model makes one)")
        if encoder.fingerprint != self.manifest.fingerprint:
            raise hamdb.EncoderMismatchError(
                f"the collection's model has fingerprint {self.manifest.fingerprint.hex()[:12]}..., "
                f"this encoder's is {encoder.fingerprint.hex()[:12]}...")
        code, predicted, probability = encoder.encode(image)
        q = np.frombuffer(code, dtype=np.uint8)[None, :]
        if radius is None:
            got = self.search(q, 10 if k is None else k, label, at, partial, with_labels=True)
        else:
            got = self.search_radius(q, radius, label, at, partial, with_labels=True)
        (res, missing) = got if partial else (got, [])
        if radius is None:
            ids, dists, labels = (a[0] for a in res)
            keep = ids != hamdb.NO_ID
            ids, dists, labels = ids[keep], dists[keep], labels[keep]
        else:
            _, ids, dists, labels = res
        return ImageSearch(code, int(predicted), encoder.classes[predicted], float(probability),
                           ids, dists, labels, list(missing))

    def _fan_out(self, method, q, arg, label, at, partial, with_labels):
        self._check_open()
        if at is not None and len(at) != self.shards:
            raise ValueError(f"commit vector has {len(at)} entries, the collection {self.shards} shards")
        # A large batch goes into the object store once, shared by every shard's call; a small
        # one travels inline with each call (a put costs more than copying a few KB).
        qref = ray.put(q) if q.nbytes > _INLINE_QUERY_BYTES else q
        calls = [(s, (qref, arg, label, None if at is None else int(at[s]), with_labels))
                 for s in range(self.shards)]
        results, failed = self._gather_outcomes(method, calls)
        down = sorted(s for s, e in failed.items() if isinstance(e, ShardUnavailableError))
        other = [e for s, e in sorted(failed.items()) if not isinstance(e, ShardUnavailableError)]
        if other:
            raise other[0]
        if down and not partial:
            raise _unavailable(down, failed)
        return [results[s] for s in sorted(results)], down

    # --- calls to the actors --------------------------------------------------------------

    def _gather(self, method, calls) -> Dict[int, object]:
        """Call ``method`` on the shards of ``calls`` and return their results; the first
        failure raises (ShardUnavailableError naming every unavailable shard first)."""
        results, failed = self._gather_outcomes(method, calls)
        if failed:
            down = sorted(s for s, e in failed.items() if isinstance(e, ShardUnavailableError))
            if down:
                raise _unavailable(down, failed)
            raise failed[min(failed)]
        return results

    def _gather_outcomes(self, method, calls) -> Tuple[Dict[int, object], Dict[int, BaseException]]:
        """Start ``method(*args)`` on each ``(shard, args)`` at once, wait for all of them at most
        ``timeout_s`` in total, and split the outcomes: results, and exceptions by shard (an
        actor that died, is unreachable or did not answer in time: ShardUnavailableError; an
        error the shard raised: that exception, unwrapped from Ray's)."""
        refs = {s: getattr(self._actors[s], method).remote(*args) for s, args in calls}
        if not refs:
            return {}, {}
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=self.timeout_s)
        ready_set = set(ready)
        results: Dict[int, object] = {}
        failed: Dict[int, BaseException] = {}
        for s, ref in refs.items():
            if ref not in ready_set:
                failed[s] = ShardUnavailableError(
                    f"shard {s} did not answer {method} within {self.timeout_s:g}s", s)
                continue
            try:
                results[s] = ray.get(ref, timeout=self.timeout_s)
            except RayTaskError as e:  # the shard raised: hand on its own exception
                failed[s] = e.cause if isinstance(e.cause, BaseException) else e
            except (RayActorError, GetTimeoutError) as e:
                failed[s] = ShardUnavailableError(f"shard {s} is unavailable ({type(e).__name__}: "
                                                  f"{_first_line(e)})", s)
        return results, failed

    # --- items ----------------------------------------------------------------------------

    def get(self, ids):
        """The item with id ``ids`` (an int: an ``Item`` or None), or of each id (an array or
        sequence: a list of ``Item`` or None, in input order), from each shard's latest commit;
        one call per shard holding any of them."""
        self._check_open()
        one = isinstance(ids, (int, np.integer))
        arr = as_ids([ids] if one else ids)
        out: List[Optional[Item]] = [None] * len(arr)
        parts = list(self._route(arr))
        got = self._gather("get", [(s, (arr[sel],)) for s, sel in parts])
        for s, sel in parts:
            for j, row in zip(sel.tolist(), got[s]):
                if row is not None:
                    out[j] = Item(int(arr[j]), row[0], row[1], row[2])
        return out[0] if one else out

    def ingest_images(self, sources, model, **options):
        """Encode images on Ray Data workers and store them, idempotently (``hamdb.ray.ingest``:
        ids hashed from each source's key, per-item report, retries through shard restarts).
        See ``ingest.ingest_images`` for the options."""
        from .ingest import ingest_images

        return ingest_images(self, sources, model, **options)

    # --- the rest -------------------------------------------------------------------------

    def stats(self) -> Dict[str, object]:
        """``items`` (live, all shards), ``commit`` (the vector), ``shards`` (each shard's
        ``Database.stats()`` plus shard, path, pid, node, held commits)."""
        per = self._gather("stats", [(s, ()) for s in range(self.shards)])
        shards = [per[s] for s in range(self.shards)]
        return {"items": sum(int(s["items"]) for s in shards), "commit": self.commit_vector(),
                "shards": shards}

    def __len__(self) -> int:
        """Live items over every shard (their latest commits)."""
        return int(self.stats()["items"])

    def _codes(self, codes) -> np.ndarray:
        a = np.asarray(codes)
        if a.dtype != np.uint8:
            raise TypeError(f"codes must be uint8 [n, {self.bits // 8}], not {a.dtype}")
        if a.ndim != 2 or a.shape[1] != self.bits // 8:
            raise hamdb.CodeLengthError(f"codes must be uint8 [n, {self.bits // 8}] "
                                        f"({self.bits} bits), not shape {a.shape}")
        return np.ascontiguousarray(a)

    def _route(self, ids: np.ndarray):
        """(shard, indices into ids) for each shard with ids, indices ascending (input order)."""
        owner = shard_of(ids, self.shards)
        order = np.argsort(owner, kind="stable")
        bounds = np.searchsorted(owner[order], np.arange(self.shards + 1))
        for s in range(self.shards):
            if bounds[s + 1] > bounds[s]:
                yield s, order[bounds[s]:bounds[s + 1]]

    def _check_open(self) -> None:
        if self._closed:
            raise hamdb.ClosedError("the collection is closed")

    def close(self) -> None:
        """Close every shard's database and kill its actor (idempotent). Buffered operations
        not committed are dropped."""
        if self._closed:
            return
        self._closed = True
        refs = [a.close.remote() for a in self._actors]
        try:
            ray.wait(refs, num_returns=len(refs), timeout=min(self.timeout_s, 10.0))
        finally:
            for a in self._actors:
                ray.kill(a, no_restart=True)

    def __enter__(self) -> "Collection":
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    def __repr__(self) -> str:
        return f"Collection({self.directory!r}, bits={self.bits}, shards={self.shards})"


def _unavailable(down: List[int], failed: Dict[int, BaseException]) -> ShardUnavailableError:
    why = "; ".join(str(failed[s]) for s in down)
    return ShardUnavailableError(f"shard(s) {down} unavailable: {why}", down[0], down)


def _first_line(e: BaseException) -> str:
    """Ray's first line, plus its last (an actor that died in ``__init__`` ends with the
    exception that killed it, e.g. LockedError), each cut to 300 characters."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))  # Ray colours its tracebacks
    lines = [x for x in text.strip().splitlines() if x.strip()]
    if not lines:
        return ""
    out = lines[0][:300]
    return out if len(lines) == 1 else f"{out} ... {lines[-1].strip()[:300]}"
