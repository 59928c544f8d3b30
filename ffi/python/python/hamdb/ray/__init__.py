"""hamdb on Ray: sharded collections with exact fan-out search (docs/SCALE.md).

    import hamdb.ray as hr
    with hr.Collection.create("coll", bits=64, shards=4) as c:
        c.insert(ids, codes)
        vec = c.commit()                       # one txn a shard
        ids, dists = c.search(queries, k=10)   # exact, as one database would answer
        old = c.search(queries, k=10, at=vec)  # pinned to that commit vector

Needs Ray (``pip install 'hamdb[ray]'``, Ray pinned) and a connected cluster (``ray.init``);
``import hamdb`` itself never imports Ray. Built so far: collections (manifest.py), routing
(routing.py), shard actors (actor.py), search, ``search_image``, pinning and failures
(collection.py), read-only replicas per shard (replica.py), distributed ingestion with Ray
Data (ingest.py).
"""

try:
    import ray as _ray  # noqa: F401  (absolute: the top-level Ray package, not this one)
except ImportError as e:  # pragma: no cover - the message is the point
    raise ImportError("hamdb.ray needs Ray: pip install 'hamdb[ray]' (ray==2.60.0)") from e

from .._ray_local import local_cluster
from .actor import KEEP_COMMITS, Shard, ShardActor
from .collection import DEFAULT_TIMEOUT_S, SPLIT_MIN_ROWS, Collection, ImageSearch, Item
from .errors import (CommitError, CommitNotHeldError, ManifestError, ReplicaRefusedError,
                     ShardUnavailableError)
from .ingest import IngestFailure, IngestReport, ingest_images, source_id, source_key
from .replica import Replica, ReplicaActor
from .routing import RULE, shard_of, splitmix64

__all__ = [
    "Collection",
    "ImageSearch",
    "IngestFailure",
    "IngestReport",
    "Item",
    "CommitError",
    "CommitNotHeldError",
    "DEFAULT_TIMEOUT_S",
    "KEEP_COMMITS",
    "ManifestError",
    "RULE",
    "Replica",
    "ReplicaActor",
    "ReplicaRefusedError",
    "SPLIT_MIN_ROWS",
    "Shard",
    "ShardActor",
    "ShardUnavailableError",
    "shard_of",
    "source_id",
    "source_key",
    "splitmix64",
    "ingest_images",
    "local_cluster",
]
