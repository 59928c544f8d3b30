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

Searches send the query batch to every shard and merge exactly on (distance, id)
(merge.py). A shard may have read-only replicas (replica.py; ``replicas=``): its *serving set*
is the writer plus them. A batch of at least ``SPLIT_MIN_ROWS`` rows per member is split by
rows over the serving set (parts answered in parallel, stacked back in row order before the
merge); a smaller one goes to one member, round-robin. A part a replica cannot answer (down,
too slow, or refusing: behind the driver's last commit, or not holding a pinned commit
exactly) is asked again of the writer, then of the other replicas. A shard none of whose
members answers makes the search raise ``ShardUnavailableError`` naming it, or, with
``partial=True``, the answer of the other shards comes back with the list of missing ones.

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
from .replica import ReplicaActor
from .routing import as_ids, shard_of

#: Seconds a call waits for a shard before calling it unavailable (``Collection(timeout_s=)``).
DEFAULT_TIMEOUT_S = 30.0

CommitVector = Tuple[int, ...]

#: A query batch is split over a shard's serving set (writer + replicas) only with at least this
#: many rows per part: below it a part's Ray round trip (about 1-2 ms) costs more than its search.
SPLIT_MIN_ROWS = 64


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

    def __init__(self, directory: str, m: mf.Manifest, actors: list, timeout_s: float,
                 replicas: Optional[List[list]] = None):
        self.directory = directory
        self.manifest = m
        self.timeout_s = timeout_s
        self._actors = actors
        # _replicas[s][j - 1] is shard s's replica j; member 0 of a shard is its writer.
        self._replicas: List[list] = replicas if replicas is not None else [[] for _ in actors]
        self._next = [0] * len(actors)  # round-robin: the member a shard's next small batch goes to
        self.fallbacks = 0  # parts of searches a member failed or refused, asked of another
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
        replicas: int = 0,
    ) -> "Collection":
        """Create a collection of ``shards`` empty shard files and its manifest in ``directory``
        (made if missing), start its actors and return it. The shard files are created first and
        the manifest last, so a failed create leaves no collection (but may leave shard files:
        remove the directory before trying again). The other arguments: see ``open``."""
        m = mf.Manifest.new(bits, shards, fingerprint or b"")
        return cls._create(directory, m, lambda p: hamdb.create(p, bits, m.fingerprint),
                           node_resources, timeout_s, max_restarts, replicas)

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
        replicas: int = 0,
    ) -> "Collection":
        """``create`` for the codes of ``encoder``'s model (a ``hamdb.Encoder``): every shard
        file records the model (``hamdb.create_for_model``) and the manifest its fingerprint,
        so ``search_image`` refuses another model with EncoderMismatchError."""
        bits = encoder.bits + (-encoder.bits) % 8
        m = mf.Manifest.new(bits, shards, encoder.fingerprint)
        return cls._create(directory, m, lambda p: hamdb.create_for_model(p, encoder),
                           node_resources, timeout_s, max_restarts, replicas)

    @classmethod
    def _create(cls, directory, m, make_shard, node_resources, timeout_s, max_restarts, replicas):
        os.makedirs(directory, exist_ok=True)
        if os.path.exists(mf.path_in(directory)):
            raise ManifestError(f"{mf.path_in(directory)} exists: use Collection.open", mf.path_in(directory))
        for p in mf.shard_paths(directory, m):
            make_shard(p).close()
        mf.write(directory, m)
        return cls._start(directory, m, node_resources, timeout_s, max_restarts, replicas)

    @classmethod
    def open(
        cls,
        directory: str,
        node_resources: Optional[Sequence[str]] = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_restarts: int = -1,
        replicas: int = 0,
    ) -> "Collection":
        """Open the collection in ``directory`` (ManifestError if it has no valid manifest, or a
        shard file disagrees with it) and start one writer actor per shard.

        ``node_resources``: names of custom Ray resources, one per node (e.g. ``["node0",
        "node1", "node2"]``); shard i asks for a sliver (0.001) of ``node_resources[i % len]``,
        which places it on that node. None: Ray places the actors. ``timeout_s``: how long a
        call waits for a shard (then ShardUnavailableError). ``max_restarts``: how often Ray
        restarts a shard actor whose process died (-1: always; each restart reopens the file).

        ``replicas``: read-only replica actors per shard besides its writer (replica.py), which
        share its searches (docs/SCALE.md, "Replicas"). With ``node_resources``, replica j
        (1, 2, ...) of shard i asks for 0.001 of ``node_resources[(i + j) % len]``, so with
        several nodes it runs on another node than its writer. They restart like the writers
        (``max_restarts``), each restart reopening the file read-only."""
        m = mf.read(directory)
        return cls._start(directory, m, node_resources, timeout_s, max_restarts, replicas)

    @classmethod
    def _start(cls, directory, m, node_resources, timeout_s, max_restarts, replicas=0) -> "Collection":
        if replicas < 0:
            raise ValueError(f"replicas must be >= 0, not {replicas}")

        def opts(node: int) -> dict:
            o: dict = {"max_restarts": max_restarts}
            if node_resources:
                o["resources"] = {node_resources[node % len(node_resources)]: 0.001}
            return o

        actors, reps = [], []
        for i, path in enumerate(mf.shard_paths(directory, m)):
            path = os.path.abspath(path)
            actors.append(ShardActor.options(**opts(i)).remote(path, i))
            # replica j of shard i on node (i + j) mod nodes: never its writer's node while
            # there are more nodes than replicas per shard
            reps.append([ReplicaActor.options(**opts(i + j)).remote(path, i, j)
                         for j in range(1, replicas + 1)])
        try:
            c = cls(directory, m, actors, timeout_s, reps)
        except BaseException:
            for a in actors + [r for rs in reps for r in rs]:  # nothing stays up holding files
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
        # every replica opened its file (one that could not died in its constructor)
        calls = {(s, j): (r, "txn", ()) for s, rs in enumerate(self._replicas)
                 for j, r in enumerate(rs, 1)}
        _, failed = self._outcomes(calls)
        if failed:
            (s, j), e = min(failed.items())
            raise ShardUnavailableError(f"shard {s} replica {j} did not start: {e}", s)

    # --- properties -----------------------------------------------------------------------

    @property
    def bits(self) -> int:
        return self.manifest.bits

    @property
    def shards(self) -> int:
        return self.manifest.shards

    @property
    def actors(self) -> list:
        """The shard (writer) actors, index = shard (for tests and placement checks)."""
        return list(self._actors)

    @property
    def replicas(self) -> int:
        """Read-only replicas per shard (besides its writer)."""
        return len(self._replicas[0]) if self._replicas else 0

    @property
    def replica_actors(self) -> List[list]:
        """``replica_actors[s][j - 1]``: shard s's replica j (for tests and placement checks)."""
        return [list(rs) for rs in self._replicas]

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
            self._committed(s, txn)
            if not keep_pending:
                self._pending[s] = []
        if failed:
            raise CommitError(
                f"commit failed on shard(s) {sorted(failed)} "
                f"({'; '.join(f'shard {s}: {e}' for s, e in sorted(failed.items()))}); "
                f"committed on shard(s) {sorted(results)} with txns {results} (a commit across "
                f"shards is not atomic)", results, failed)
        return tuple(self._vector)

    def _committed(self, s: int, txn: int) -> None:
        """Shard ``s`` acknowledged commit ``txn``: it enters the vector (so every later search
        reads at least it, read-your-writes) and the shard's replicas are asked to refresh,
        without waiting: a search then needs no refresh of its own. Ray runs a caller's calls
        to one actor in order, so a search sent after this finds the refresh done; correctness
        does not rest on it (min_txn does)."""
        self._vector[s] = txn
        for r in self._replicas[s]:
            r.refresh.remote()

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
        """Every shard's exact answer to the whole batch ``q`` (a list, ascending by shard) and
        the sorted list of shards none of whose members answered.

        Each shard's rows are cut into ``parts`` consecutive ranges (one unless the batch has
        ``SPLIT_MIN_ROWS`` rows per member), each sent to a member of the shard's serving set;
        a part a member fails or refuses goes to the next candidate (the writer first: it saw
        every commit) until one answers or none is left. A shard's answer is used only when all
        its parts came back: never a silent partial answer."""
        self._check_open()
        if at is not None and len(at) != self.shards:
            raise ValueError(f"commit vector has {len(at)} entries, the collection {self.shards} shards")
        n, members = len(q), 1 + self.replicas
        parts = max(1, min(members, n // SPLIT_MIN_ROWS))
        bounds = [n * p // parts for p in range(parts + 1)]
        # A large part goes into the object store once, shared by every shard's call for it; a
        # small one travels inline with each call (a put costs more than copying a few KB).
        chunks = [q[bounds[p]:bounds[p + 1]] for p in range(parts)]
        refs = [ray.put(c) if c.nbytes > _INLINE_QUERY_BYTES else c for c in chunks]
        todo: Dict[Tuple[int, int], int] = {}  # (shard, part) -> member asked
        for s in range(self.shards):
            first = self._next[s]
            self._next[s] = (first + parts) % members
            for p in range(parts):
                todo[(s, p)] = (first + p) % members
        tried: Dict[Tuple[int, int], set] = {key: set() for key in todo}
        down: Dict[int, set] = {s: set() for s in range(self.shards)}  # members found unavailable
        why: Dict[int, List[BaseException]] = {s: [] for s in range(self.shards)}
        answers: Dict[Tuple[int, int], object] = {}
        lost: Dict[int, BaseException] = {}  # shard -> ShardUnavailableError (no member left)
        errors: Dict[int, BaseException] = {}  # shard -> an error a member raised (propagated)
        while todo:
            calls = {}
            for (s, p), mem in todo.items():
                a = None if at is None else int(at[s])
                args = (refs[p], arg, label, a, with_labels)
                if mem:  # a replica: it must have reached the driver's last commit
                    args += (self._vector[s],)
                calls[(s, p)] = (self._member(s, mem), method, args)
            results, failed = self._outcomes(calls)
            answers.update(results)
            retry: Dict[Tuple[int, int], int] = {}
            for (s, p), e in failed.items():
                mem = todo[(s, p)]
                tried[(s, p)].add(mem)
                if isinstance(e, ShardUnavailableError):
                    down[s].add(mem)
                    why[s].append(e)
                elif mem == 0:
                    errors.setdefault(s, e)  # the writer's own answer (e.g. CommitNotHeldError)
                    continue
                # else a replica refused (ReplicaRefusedError) or raised: the writer decides
                nxt = self._candidate(s, mem, tried[(s, p)] | down[s])
                if nxt is None:
                    lost[s] = _joined(s, why[s])
                else:
                    retry[(s, p)] = nxt
                    self.fallbacks += 1
            todo = {key: m for key, m in retry.items() if key[0] not in lost and key[0] not in errors}
        if errors:
            raise errors[min(errors)]
        missing = sorted(lost)
        if missing and not partial:
            raise _unavailable(missing, lost)
        stack = merge.stack_knn if method == "search" else merge.stack_radius
        return [stack([answers[(s, p)] for p in range(parts)])
                for s in range(self.shards) if s not in lost], missing

    def _member(self, s: int, member: int):
        """Member ``member`` of shard ``s``'s serving set: 0 the writer, j >= 1 replica j."""
        return self._actors[s] if member == 0 else self._replicas[s][member - 1]

    def _candidate(self, s: int, failed_member: int, exclude: set) -> Optional[int]:
        """The member to ask after ``failed_member``: the writer (it saw every commit, so it
        never refuses), then the replicas after ``failed_member`` in turn; None if all are out."""
        members = 1 + len(self._replicas[s])
        order = [0] + [(failed_member + i) % members for i in range(1, members)]
        return next((m for m in order if m not in exclude), None)

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
        return self._outcomes({s: (self._actors[s], method, args) for s, args in calls})

    def _outcomes(self, calls: dict) -> Tuple[dict, dict]:
        """``_gather_outcomes`` for any actors: ``calls`` maps a key, a shard ``s`` (its writer)
        or ``(s, j)`` (a member: j = 0 the writer, >= 1 replica j; or a part of a batch, see
        ``_fan_out``), to ``(actor, method, args)``; results and exceptions by key."""
        refs = {key: getattr(actor, method).remote(*args) for key, (actor, method, args) in calls.items()}
        if not refs:
            return {}, {}
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=self.timeout_s)
        ready_set = set(ready)
        results: dict = {}
        failed: dict = {}
        for key, ref in refs.items():
            s = key if isinstance(key, int) else key[0]
            who = f"shard {s}" if calls[key][0] is self._actors[s] else \
                f"shard {s} replica {self._replicas[s].index(calls[key][0]) + 1}"
            method = calls[key][1]
            if ref not in ready_set:
                failed[key] = ShardUnavailableError(
                    f"{who} did not answer {method} within {self.timeout_s:g}s", s)
                continue
            try:
                results[key] = ray.get(ref, timeout=self.timeout_s)
            except RayTaskError as e:  # the shard raised: hand on its own exception
                failed[key] = e.cause if isinstance(e.cause, BaseException) else e
            except (RayActorError, GetTimeoutError) as e:
                failed[key] = ShardUnavailableError(f"{who} is unavailable ({type(e).__name__}: "
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
        ``Database.stats()`` plus shard, path, pid, node, held commits, and ``replicas``: its
        replicas' ``Replica.stats()``, or ``{"replica": j, "error": ...}`` for one that did not
        answer), ``replicas`` (per shard), ``fallbacks`` (search parts asked again of another
        member since the open)."""
        per = self._gather("stats", [(s, ()) for s in range(self.shards)])
        shards = [per[s] for s in range(self.shards)]
        got, failed = self._outcomes({(s, j): (r, "stats", ()) for s, rs in enumerate(self._replicas)
                                      for j, r in enumerate(rs, 1)})
        for s, st in enumerate(shards):
            st["replicas"] = [got[(s, j)] if (s, j) in got else
                              {"replica": j, "error": str(failed[(s, j)])}
                              for j in range(1, len(self._replicas[s]) + 1)]
        return {"items": sum(int(s["items"]) for s in shards), "commit": self.commit_vector(),
                "shards": shards, "replicas": self.replicas, "fallbacks": self.fallbacks}

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
        """Close every shard's database and kill its actor and replicas (idempotent). Buffered
        operations not committed are dropped."""
        if self._closed:
            return
        self._closed = True
        every = self._actors + [r for rs in self._replicas for r in rs]
        refs = [a.close.remote() for a in every]
        try:
            ray.wait(refs, num_returns=len(refs), timeout=min(self.timeout_s, 10.0))
        finally:
            for a in every:
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


def _joined(s: int, errors: List[BaseException]) -> ShardUnavailableError:
    """One ShardUnavailableError for shard ``s`` saying why each member did not answer."""
    return ShardUnavailableError("; ".join(str(e) for e in errors) or f"shard {s}: no member answered", s)


def _first_line(e: BaseException) -> str:
    """Ray's first line, plus its last (an actor that died in ``__init__`` ends with the
    exception that killed it, e.g. LockedError), each cut to 300 characters."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))  # Ray colours its tracebacks
    lines = [x for x in text.strip().splitlines() if x.strip()]
    if not lines:
        return ""
    out = lines[0][:300]
    return out if len(lines) == 1 else f"{out} ... {lines[-1].strip()[:300]}"
