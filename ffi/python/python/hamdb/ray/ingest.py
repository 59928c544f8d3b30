"""Distributed ingestion: images decoded and encoded on Ray Data workers, stored in the shards.

``ingest_images(collection, sources, model)``:

1. The driver checks the model against the collection (the SHA-256 of its bytes must be the
   manifest's fingerprint) and builds a Ray Data dataset of the sources.
2. ``map_batches`` runs ``_EncodeBatches`` on a pool of ``workers`` actors (one CPU each): each
   loads the model once (``hamdb.Encoder``, one session on one thread), reads and decodes each
   image itself (the files must be at the same path on every node, like the shard files), and
   encodes a batch in one forward pass. A batch with a broken image is encoded again one image
   at a time, so each failure is the image's own (the exception ``Encoder.encode`` raises, by
   class name and message) and the rest of the batch goes through.
3. The driver streams the encoded rows, routes them to their shards (``routing.shard_of``) and
   every ``commit_every`` rows sends each shard its part in one call (``Shard.ingest``): one
   atomic durable commit per shard.

**Ids are deterministic**: ``source_id(key)``, a 63-bit BLAKE2b hash of the source's key (its
absolute normalised path, or the dataset's ``key`` column), and the key is stored as the item's
payload. ``Shard.ingest`` is idempotent: an id already stored with the same key and the same
code and label is left alone, one stored with the same key and another code (the file changed)
is replaced, and one stored with another key (a hash collision; with a billion keys the chance
of any is about 5%, n^2 / 2^64) is refused and reported, never overwritten. So rerunning an
ingestion after a failure inserts nothing twice, and the driver can retry a shard call whose outcome it does not know: a
shard actor that died (SIGKILL, a lost node) is restarted by Ray, reopens its file (every
acknowledged commit is there), and gets the same rows again until ``retry_s`` runs out.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import ray

import hamdb
from hamdb import _progress

from .errors import CommitError, ShardUnavailableError
from .routing import shard_of

#: Rows per shard call; also the most rows the driver buffers before committing.
DEFAULT_COMMIT_EVERY = 4096
#: How long the driver keeps retrying a shard that is down before giving up (seconds).
DEFAULT_RETRY_S = 120.0
#: Hash personalisation: changing it changes every id (it is part of the id definition).
_PERSON = b"hamdb.ray.id"
_ID_MASK = (1 << 63) - 1


def source_id(key: Union[str, bytes]) -> int:
    """The id ``ingest_images`` gives the source with this key: the first 8 bytes of
    BLAKE2b(key as UTF-8, digest_size=8, person=b"hamdb.ray.id"), little-endian, top bit
    cleared (63 bits: a valid id in every binding, never ``hamdb.NO_ID``)."""
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    digest = hashlib.blake2b(data, digest_size=8, person=_PERSON).digest()
    return int.from_bytes(digest, "little") & _ID_MASK


def source_key(path: Union[str, os.PathLike]) -> str:
    """The key of a path source: absolute and normalised (``os.path.abspath``), so the same
    file named from another working directory gets the same id."""
    return os.path.abspath(os.fspath(path))


@dataclass(frozen=True)
class IngestFailure:
    """One source not stored: its key, the id it would have had, the error's class name (a
    ``hamdb`` exception such as ``ImageError``, ``IoError``, ``ImageTooLargeError``, or
    ``IdCollision``) and message."""

    key: str
    id: int
    error: str
    message: str


@dataclass
class IngestReport:
    """What ``ingest_images`` did. ``written``: items inserted or replaced; ``unchanged``:
    already stored as they are (a rerun); ``failures``: every source not stored, whole;
    ``commits``: collection commits made; ``vector``: the commit vector after the last one;
    ``retries``: shard calls sent again after a shard was unavailable."""

    written: int = 0
    unchanged: int = 0
    failures: List[IngestFailure] = field(default_factory=list)
    commits: int = 0
    vector: tuple = ()
    retries: int = 0
    elapsed_s: float = 0.0

    @property
    def stored(self) -> int:
        """Sources that are in the collection now (written + unchanged)."""
        return self.written + self.unchanged


class _EncodeBatches:
    """The Ray Data UDF (an actor class: the model loads once per worker)."""

    def __init__(self, model: bytes, runtime: Optional[str], max_pixels: Optional[int]):
        self.encoder = hamdb.Encoder.load(model, runtime=runtime, sessions=1, intra_threads=1,
                                          max_pixels=max_pixels)
        self.width = (self.encoder.bits + 7) // 8

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        keys = [str(k) for k in batch["key"]]
        images = list(batch["bytes"]) if "bytes" in batch else [str(p) for p in batch["path"]]
        n = len(keys)
        codes = np.zeros((n, self.width), dtype=np.uint8)
        labels = np.zeros(n, dtype=np.int64)
        errors = [""] * n
        messages = [""] * n
        try:
            codes[:], labels[:], _ = self.encoder.encode(images)
        except hamdb.Error:
            for j, image in enumerate(images):  # find the broken ones; encode the rest
                try:
                    code, labels[j], _ = self.encoder.encode(image)
                    codes[j] = np.frombuffer(code, dtype=np.uint8)
                except hamdb.Error as e:
                    errors[j], messages[j] = type(e).__name__, str(e)
        return {
            "key": np.array(keys, dtype=object),
            "id": np.array([source_id(k) for k in keys], dtype=np.uint64),
            "code": codes,
            "label": labels,
            "error": np.array(errors, dtype=object),
            "message": np.array(messages, dtype=object),
        }


def _dataset(sources):
    """A Ray Data dataset with a ``key`` column, and ``path`` or ``bytes`` (the image)."""
    if isinstance(sources, ray.data.Dataset):
        cols = set(sources.columns() or [])
        if "bytes" not in cols and "path" not in cols:
            raise ValueError("a dataset source needs a 'path' or a 'bytes' column "
                             f"(it has {sorted(cols)})")
        if "key" in cols:
            return sources, None
        if "path" not in cols:
            raise ValueError("a dataset with image bytes needs a 'key' or 'path' column for ids")
        return sources.map_batches(_key_from_path, batch_format="numpy"), None
    if isinstance(sources, (str, bytes, os.PathLike)):
        raise TypeError("sources must be a list of paths or a ray.data.Dataset, not one path")
    keys = [source_key(p) for p in sources]
    return ray.data.from_items([{"key": k, "path": k} for k in keys]), len(keys)


def _key_from_path(batch):
    batch["key"] = np.array([source_key(str(p)) for p in batch["path"]], dtype=object)
    return batch


def _model_bytes(model) -> bytes:
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    with open(os.fspath(model), "rb") as f:
        return f.read()


class _Buffers:
    """Encoded rows waiting for a commit, by shard."""

    def __init__(self, shards: int):
        self.shards = shards
        self.clear()

    def clear(self) -> None:
        self.parts: List[List[tuple]] = [[] for _ in range(self.shards)]
        self.rows = 0

    def add(self, ids, codes, labels, keys) -> None:
        owner = shard_of(ids, self.shards)
        for s in np.unique(owner).tolist():
            sel = np.flatnonzero(owner == s)
            self.parts[s].append((ids[sel], codes[sel], labels[sel],
                                  [keys[j].encode("utf-8") for j in sel.tolist()]))
        self.rows += len(ids)

    def calls(self, shards: Sequence[int]):
        """``(shard, (ids, codes, labels, keys))`` for each of ``shards`` holding rows."""
        out = []
        for s in shards:
            chunks = self.parts[s]
            if chunks:
                out.append((s, (np.concatenate([c[0] for c in chunks]),
                                np.concatenate([c[1] for c in chunks]),
                                np.concatenate([c[2] for c in chunks]),
                                [k for c in chunks for k in c[3]])))
        return out


def ingest_images(
    collection,
    sources,
    model,
    *,
    workers: int = 2,
    batch_size: int = 64,
    commit_every: int = DEFAULT_COMMIT_EVERY,
    runtime: Optional[str] = None,
    max_pixels: Optional[int] = None,
    retry_s: float = DEFAULT_RETRY_S,
    progress: Union[None, bool, Callable[[int, int, int], None]] = None,
    on_commit: Optional[Callable[[np.ndarray, tuple], None]] = None,
) -> IngestReport:
    """Encode ``sources`` with ``model`` on Ray Data workers and store them in ``collection``
    (a ``Collection`` created for that model); the whole per-item report.

    ``sources``: a list of image paths (each opened by a worker), or a ``ray.data.Dataset``
    with a ``path`` column (e.g. ``ray.data.read_binary_files(..., include_paths=True)``: its
    ``bytes`` are decoded, not reopened) and optionally a ``key`` column that names each row's
    id instead of its path. ``model``: the ONNX model's path or bytes; its SHA-256 must be the
    collection's fingerprint (EncoderMismatchError; NoEncoderError for a collection without
    one). ``workers``: encoder actors (one CPU each); ``batch_size``: images per forward pass;
    ``commit_every``: rows per collection commit (each shard commits its part atomically and
    durably); ``runtime``/``max_pixels``: as for ``hamdb.Encoder.load``, on the workers.
    ``retry_s``: how long a shard that is down is waited for (its rows are sent again; safe,
    see the module doc) before ``CommitError`` is raised. ``progress``: True for a tqdm bar,
    or a callable ``(done, failed, stored)``; ``on_commit(ids, vector)``: after each commit,
    the ids it made durable. Any exception that stops the ingestion carries ``.report``, what
    was committed before it (durable)."""
    collection._check_open()
    if collection.pending():
        raise ValueError("the collection has buffered operations: commit() or clear() them first")
    if workers < 1 or batch_size < 1 or commit_every < 1:
        raise ValueError("workers, batch_size and commit_every must be at least 1")
    fingerprint = collection.manifest.fingerprint
    if not fingerprint:
        raise hamdb.NoEncoderError(
            "the collection was created without a model (Collection.create_for_model makes one)")
    data = _model_bytes(model)
    if hashlib.sha256(data).digest() != fingerprint:
        raise hamdb.EncoderMismatchError(
            f"the collection's model has fingerprint {fingerprint.hex()[:12]}..., this model's "
            f"is {hashlib.sha256(data).hexdigest()[:12]}...")
    ds, total = _dataset(sources)
    encoded = ds.map_batches(
        _EncodeBatches, fn_constructor_args=(data, runtime, max_pixels), batch_size=batch_size,
        batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1)

    report = IngestReport(vector=collection.commit_vector())
    started = time.monotonic()
    bar = _progress.make(progress, total)
    buffers = _Buffers(collection.shards)
    done = 0
    try:
        for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
            ok = np.array([e == "" for e in batch["error"]], dtype=bool)
            for j in np.flatnonzero(~ok).tolist():
                report.failures.append(IngestFailure(str(batch["key"][j]), int(batch["id"][j]),
                                                     str(batch["error"][j]),
                                                     str(batch["message"][j])))
            keys = [str(k) for k in batch["key"][ok]]
            buffers.add(batch["id"][ok], batch["code"][ok], batch["label"][ok].astype(np.uint32),
                        keys)
            done += len(ok)
            if buffers.rows >= commit_every:
                _commit(collection, buffers, report, retry_s, on_commit)
            if bar is not None:
                bar(done, len(report.failures), report.stored)
        _commit(collection, buffers, report, retry_s, on_commit)
        if bar is not None:
            bar(done, len(report.failures), report.stored)
    except BaseException as e:
        report.elapsed_s = time.monotonic() - started
        try:
            e.report = report
        except AttributeError:  # an exception type without a __dict__
            pass
        raise
    finally:
        if bar is not None and hasattr(bar, "close"):
            bar.close()
    report.elapsed_s = time.monotonic() - started
    return report


def _commit(collection, buffers: _Buffers, report: IngestReport, retry_s: float,
            on_commit) -> None:
    """Send every shard its buffered rows (``Shard.ingest``), again for shards that are down
    until they answer or ``retry_s`` passes; then empty the buffers."""
    if buffers.rows == 0:
        return
    todo = list(range(collection.shards))
    deadline = time.monotonic() + retry_s
    pause = 0.2
    committed: Dict[int, int] = {}
    durable_ids = []
    while True:
        calls = buffers.calls(todo)
        results, failed = collection._gather_outcomes("ingest", calls)
        for s, out in results.items():
            committed[s] = out["txn"]
            collection._committed(s, out["txn"])
            report.written += out["written"]
            report.unchanged += out["unchanged"]
            ids, _, _, keys = dict(calls)[s]
            refused = np.zeros(len(ids), dtype=bool)
            for j, other in out["collisions"]:
                refused[j] = True
                report.failures.append(IngestFailure(
                    keys[j].decode("utf-8"), int(ids[j]), "IdCollision",
                    f"id {int(ids[j])} is already the id of {other.decode('utf-8', 'replace')!r} "
                    f"(a hash collision): not stored"))
            durable_ids.append(ids[~refused])
        down = {s: e for s, e in failed.items() if isinstance(e, ShardUnavailableError)}
        other = {s: e for s, e in failed.items() if s not in down}
        if other or (down and time.monotonic() + pause > deadline):
            why = "; ".join(f"shard {s}: {e}" for s, e in sorted(failed.items()))
            raise CommitError(f"ingestion commit failed on shard(s) {sorted(failed)} ({why}); "
                              f"committed on {sorted(committed)}", committed, failed)
        if not down:
            break
        report.retries += len(down)
        todo = sorted(down)
        time.sleep(pause)
        pause = min(pause * 2, 5.0)
    buffers.clear()
    report.commits += 1
    report.vector = collection.commit_vector()
    if on_commit is not None:
        on_commit(np.concatenate(durable_ids) if durable_ids else np.zeros(0, np.uint64),
                  report.vector)
