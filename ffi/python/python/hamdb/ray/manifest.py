"""The collection manifest: ``<dir>/manifest.json``, what makes a directory a collection.

    {"format": "hamdb-collection", "version": 1, "bits": 64, "fingerprint": "<hex>",
     "shards": 4, "routing": "splitmix64-mod",
     "files": ["shard-00000.hamdb", "shard-00001.hamdb", ...]}

Invariants:
- Written once, at create, after every shard file exists, and atomically (a temp file in the
  same directory, fsync, rename over the name, fsync the directory): a crash leaves either no
  manifest or a whole one, never a torn one. A directory without one is not a collection.
- ``files[i]`` is shard i's database, a plain file name inside the directory (no path
  separators, no ``..``), so the directory can be moved or mounted elsewhere.
- The shard count and routing rule never change: ``routing.shard_of(id, shards)`` must keep
  sending an id to the shard that holds it.
- Reading refuses anything it does not fully understand (unknown version or routing rule, a
  missing or mistyped field) with ``ManifestError`` rather than guessing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import List, Tuple

from . import routing
from .errors import ManifestError

NAME = "manifest.json"
FORMAT = "hamdb-collection"
VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """A collection's fixed facts (see the module docstring)."""

    bits: int
    fingerprint: bytes
    shards: int
    routing: str
    files: Tuple[str, ...]

    @staticmethod
    def new(bits: int, shards: int, fingerprint: bytes = b"") -> "Manifest":
        """A manifest for a new collection: shard i in ``shard-<i, 5 digits>.hamdb``."""
        if shards < 1:
            raise ValueError("a collection has at least one shard")
        files = tuple(f"shard-{i:05d}.hamdb" for i in range(shards))
        return Manifest(bits, bytes(fingerprint), shards, routing.RULE, files)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "bits": self.bits,
                "fingerprint": self.fingerprint.hex(),
                "shards": self.shards,
                "routing": self.routing,
                "files": list(self.files),
            },
            indent=1,
        ) + "\n"


def path_in(directory: str) -> str:
    return os.path.join(directory, NAME)


def write(directory: str, m: Manifest) -> None:
    """Write ``m`` atomically as the directory's manifest; an existing manifest is an error
    (a collection's layout is fixed at create)."""
    final = path_in(directory)
    if os.path.exists(final):
        raise ManifestError(f"{final} exists: the directory is a collection already", final)
    tmp = os.path.join(directory, f".{NAME}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(m.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)  # atomic on POSIX: readers see the old name's absence or the whole file
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)  # makes the rename itself durable
    finally:
        os.close(fd)


def read(directory: str) -> Manifest:
    """The directory's manifest, validated; ``ManifestError`` naming the problem otherwise."""
    p = path_in(directory)
    try:
        with open(p, "rb") as f:
            raw = f.read(1 << 20)  # a manifest is a few hundred bytes a shard; bound the read
    except FileNotFoundError:
        raise ManifestError(f"{p}: no manifest: {directory!r} is not a hamdb collection", p) from None
    except OSError as e:
        raise ManifestError(f"{p}: cannot read the manifest: {e}", p) from e
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(f"{p}: corrupt manifest (not JSON: {e})", p) from None
    return _parse(doc, p)


def _parse(doc: object, p: str) -> Manifest:
    def bad(why: str) -> ManifestError:
        return ManifestError(f"{p}: corrupt manifest: {why}", p)

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise bad(f"'format' is not {FORMAT!r}")
    version = doc.get("version")
    if version != VERSION:
        raise ManifestError(
            f"{p}: unknown manifest version {version!r} (this hamdb reads version {VERSION})", p
        )
    bits, shards, rule, files = (doc.get(k) for k in ("bits", "shards", "routing", "files"))
    if not _is_int(bits) or not (8 <= bits <= 1024 and bits % 8 == 0):
        raise bad(f"'bits' {bits!r} is not a multiple of 8 in 8..=1024")
    if not _is_int(shards) or shards < 1:
        raise bad(f"'shards' {shards!r} is not a positive integer")
    if rule != routing.RULE:
        raise ManifestError(f"{p}: unknown routing rule {rule!r} (this hamdb knows {routing.RULE!r})", p)
    if not isinstance(files, list) or len(files) != shards:
        raise bad(f"'files' is not a list of {shards} file names")
    for name in files:
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
            raise bad(f"shard file name {name!r} is not a plain file name")
    if len(set(files)) != len(files):
        raise bad("two shards share a file")
    try:
        fingerprint = bytes.fromhex(doc.get("fingerprint"))
    except (TypeError, ValueError):
        raise bad("'fingerprint' is not a hex string") from None
    return Manifest(bits, fingerprint, shards, rule, tuple(files))


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def shard_paths(directory: str, m: Manifest) -> List[str]:
    return [os.path.join(directory, name) for name in m.files]
