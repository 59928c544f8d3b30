"""hamdb: an embeddable database for exact Hamming search of binary codes.

Codes are packed bytes in ``np.packbits`` order (bit ``i`` is byte ``i // 8``, bit
``7 - i % 8``): a ``uint8 [N, bits/8]`` array is a valid array of codes. Every search, commit,
import and file operation releases the GIL.

    import numpy as np, hamdb
    with hamdb.create("codes.hamdb", 64) as db:
        db.import_codes(np.random.randint(0, 256, (1000, 8), dtype=np.uint8))
        ids, dists = db.search(np.zeros((2, 8), np.uint8), k=5)

Images go through an SSDH model (``Encoder.load``): ``create_for_model``,
``Database.insert_images`` and ``Database.search_image``. ``hamdb.faiss`` is a drop-in for
FAISS binary indexes.
"""

from ._errors import *  # noqa: F401,F403
from ._errors import __all__ as _error_names
from ._hamdb import (
    MAX_CODES_PER_ITEM,
    NO_ID,
    NO_LABEL,
    STATUS,
    CommitInfo,
    Database,
    Encoder,
    Hit,
    ImageQuery,
    IngestReport,
    Item,
    ItemFailure,
    Snapshot,
    WriteBatch,
    create,
    create_for_model,
    open,
    verify,
)

__all__ = [
    "MAX_CODES_PER_ITEM",
    "NO_ID",
    "NO_LABEL",
    "STATUS",
    "CommitInfo",
    "Database",
    "Encoder",
    "Hit",
    "ImageQuery",
    "IngestReport",
    "Item",
    "ItemFailure",
    "Snapshot",
    "WriteBatch",
    "create",
    "create_for_model",
    "open",
    "verify",
    *_error_names,
]
