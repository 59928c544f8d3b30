"""hamdb.faiss: a drop-in for FAISS binary indexes, backed by a hamdb database.

    import numpy as np
    from hamdb.faiss import IndexBinaryHamdb

    index = IndexBinaryHamdb(64)                 # or IndexBinaryHamdb(64, "codes.hamdb")
    index.add(np.random.randint(0, 256, (100_000, 8), dtype=np.uint8))
    D, I = index.search(xq, 10)                  # int32 [n, 10], int64 [n, 10]
    lims, D, I = index.range_search(xq, 5)       # distance < 5, as FAISS

The answers equal ``faiss.IndexBinaryFlat``'s on the same arrays, D and I, ties included (see
:class:`IndexBinaryHamdb`). FAISS itself is not needed to import or use this module.
"""

import operator
import os
import shutil
import tempfile
import weakref

import numpy as np

from . import _hamdb
from ._errors import CodeLengthError

__all__ = ["IndexBinaryHamdb"]

#: FAISS's distance for a padding slot (``k`` larger than the number of results).
_PAD_DISTANCE = np.iinfo(np.int32).max
#: The file name of an in-memory index's database, inside its private directory.
_MEMORY_FILE = "index.hamdb"


def _release(db, tmpdir):
    """Close ``db`` and remove the private directory of an in-memory index (if any).

    A module-level function, not a method: ``weakref.finalize`` must not hold the index itself.
    """
    db.close()
    if tmpdir is not None:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _check_d(d):
    """``d`` as an int: bits, a multiple of 8 in hamdb's range 8..=1024."""
    d = operator.index(d)
    if d <= 0 or d % 8 or d > 1024:
        raise ValueError(f"d is the code length in bits: a multiple of 8 in 8..=1024, got {d}")
    return d


class IndexBinaryHamdb:
    """An exact binary index with FAISS's ``IndexBinary`` interface, stored in a hamdb file.

    ``d`` is the code length in bits (a multiple of 8, as FAISS's ``IndexBinary.d``); codes are
    ``uint8 [n, d/8]`` arrays, as FAISS takes them (Hamming distance does not depend on the bit
    order inside a byte, so FAISS codes work as they are).

    Storage: with ``path=None`` the index lives in a hamdb file in a private directory made by
    ``tempfile.mkdtemp()`` (so on disk, in the page cache, not in Python's heap); the directory
    is removed by ``close()``, by leaving a ``with`` block, or when the index is garbage
    collected. With a ``path`` the file is opened if it exists (its code length must be ``d``)
    or created, and it stays after ``close()``: reopening it gives the same index.

    Ids behave as in ``faiss.IndexBinaryIDMap(faiss.IndexBinaryFlat(d))``, not as in a bare
    ``IndexBinaryFlat``: ``remove_ids`` leaves the other ids as they are (IndexBinaryFlat
    renumbers the items after a removed one). ``add`` numbers new codes from one past the
    highest id ever stored (0, 1, 2, ... on a fresh index: IndexBinaryFlat's numbering while
    nothing is removed); ``add_with_ids`` takes ids >= 0 and refuses an id already present
    (``hamdb.DuplicateIdError``; IndexBinaryIDMap would store it twice). Ids are hamdb's uint64
    ids seen as int64: a file written elsewhere with ids >= 2**63 shows them negative.

    Order of results, the same as ``faiss.IndexBinaryFlat`` (1.12, with ``use_heap`` True or
    False, one thread or several; tested against it): ``search`` rows ascend by (distance,
    id), so among equal distances the smaller id comes first and is the one kept at the k-th
    place; ``range_search`` lists each query's results ascending by id (FAISS's storage order,
    which is id order for IndexBinaryFlat; an IndexBinaryIDMap given ids out of order lists
    them in insertion order instead, which hamdb does not keep).

    Not thread-safe for ``reset``/``close`` concurrent with other calls (neither is FAISS);
    searches from several threads run in parallel (hamdb releases the GIL).
    """

    def __init__(self, d, path=None, *, threads=1):
        """An index of ``d``-bit codes, in memory (``path=None``) or on the file ``path``.

        ``threads``: how many threads one batch search uses (0 = one per core). The default is
        1, where FAISS's OpenMP default is every core: set it (or the attribute) to match FAISS.
        """
        self._d = _check_d(d)
        self.threads = operator.index(threads)
        self._tmpdir = None
        if path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="hamdb-faiss-")
            self._path = os.path.join(self._tmpdir, _MEMORY_FILE)
        else:
            self._path = os.fspath(path)
        try:
            self._db = self._open_or_create()
        except BaseException:
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
            raise
        self._finalizer = weakref.finalize(self, _release, self._db, self._tmpdir)

    def _open_or_create(self):
        """The database at ``self._path``: opened (code length checked) or created."""
        if not os.path.exists(self._path):
            return _hamdb.create(self._path, self._d)
        db = _hamdb.open(self._path)
        bits = db.bits
        if bits != self._d:
            db.close()
            raise CodeLengthError(
                f"{self._path} holds {bits}-bit codes, but the index was asked for d={self._d}"
            )
        return db

    # -- FAISS attributes -------------------------------------------------------------------

    @property
    def d(self):
        """The code length in bits."""
        return self._d

    @property
    def code_size(self):
        """Bytes per code: ``d // 8``."""
        return self._d // 8

    @property
    def ntotal(self):
        """The number of codes stored (live items)."""
        return len(self._db)

    @property
    def is_trained(self):
        """Always True: an exact index needs no training."""
        return True

    @property
    def path(self):
        """The hamdb file behind the index (a temporary one for an in-memory index)."""
        return self._path

    @property
    def db(self):
        """The underlying ``hamdb.Database`` (for labels, payloads, ``stats()``, ...)."""
        return self._db

    # -- input checks -----------------------------------------------------------------------

    def _codes(self, x, name="x"):
        """``x`` as a C-contiguous ``uint8 [n, code_size]`` array (copied only if it is not).

        FAISS accepts any 2-D uint8 array (it makes it contiguous); so does this index.
        """
        want = (f"a 2-D numpy uint8 array of shape [n, {self.code_size}] "
                f"(d={self._d}-bit codes, as FAISS)")
        if not isinstance(x, np.ndarray):
            raise TypeError(f"`{name}` must be {want}, got {type(x).__name__}")
        if x.dtype != np.uint8:
            raise TypeError(f"`{name}` must be {want}, got dtype {x.dtype}")
        if x.ndim != 2:
            raise ValueError(f"`{name}` must be {want}, got shape {x.shape}")
        if x.shape[1] != self.code_size:
            raise CodeLengthError(
                f"`{name}` must be {want}, got {x.shape[1]} bytes per code ({x.shape[1] * 8} bits)"
            )
        return np.ascontiguousarray(x)

    @staticmethod
    def _ids(ids, n, name="ids"):
        """``ids`` as a 1-D int64 array of ``n`` entries, all >= 0 (TypeError/ValueError else)."""
        if not isinstance(ids, np.ndarray):
            ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"`{name}` must be an array of integers (int64), got dtype {ids.dtype}")
        if ids.ndim != 1 or (n is not None and ids.shape[0] != n):
            want = f"[{n}]" if n is not None else "[m]"
            raise ValueError(f"`{name}` must be 1-D of shape {want}, got shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() > np.iinfo(np.int64).max):
            raise ValueError(f"`{name}` must be in 0..2**63-1 (FAISS's -1 means 'no result')")
        return ids.astype(np.uint64, copy=False)

    @staticmethod
    def _no_params(params):
        """Refuse FAISS search parameters: silently ignoring a selector would answer wrongly."""
        if params is not None:
            raise ValueError("IndexBinaryHamdb takes no search parameters (its search is exact)")

    # -- writes -----------------------------------------------------------------------------

    def add(self, x):
        """Add codes ``x`` (``uint8 [n, d/8]``) with ids from one past the highest id ever
        stored (0, 1, ... on a fresh index, like IndexBinaryFlat), in one commit.

        Each call with rows is one hamdb import (one new segment, merged by hamdb's automatic
        compaction past 8 segments): add in large batches, not one code at a time.
        """
        x = self._codes(x)
        if x.shape[0]:
            self._db.import_codes(x)

    def add_with_ids(self, x, ids):
        """Add codes ``x`` with the given ids (int64 >= 0, one per row, none already present:
        ``hamdb.DuplicateIdError`` otherwise, and nothing is added)."""
        x = self._codes(x)
        ids = self._ids(ids, x.shape[0])
        if x.shape[0]:
            self._db.import_codes(x, ids=ids)

    def remove_ids(self, ids):
        """Remove the codes with these ids (a 1-D integer array; absent ids are ignored) in one
        commit; returns how many were removed. The other ids do not change (IndexBinaryIDMap's
        behaviour; IndexBinaryFlat would renumber). FAISS's IDSelector objects are not taken.
        """
        ids = self._ids(ids, None)
        if not ids.size:
            return 0
        batch = _hamdb.WriteBatch()
        for i in np.unique(ids).tolist():
            batch.delete(i)
        # Deleting an absent id is a no-op and this handle holds the write lock, so the drop
        # in the live count is exactly the number removed.
        before = len(self._db)
        self._db.commit(batch)
        return before - len(self._db)

    def reset(self):
        """Remove every code; ids start again from 0 (as FAISS's ``reset``).

        The file is recreated empty (same path and fingerprint): an on-file index loses its
        contents, and a reader of the old file in another process keeps the old version.
        """
        fingerprint = self._db.stats()["fingerprint"]
        self._finalizer.detach()
        try:
            self._db.close()
            os.remove(self._path)
            self._db = _hamdb.create(self._path, self._d, fingerprint=fingerprint)
        finally:
            # Re-armed even on failure (then over the closed old handle), so an in-memory
            # index's directory is still removed at close or garbage collection.
            self._finalizer = weakref.finalize(self, _release, self._db, self._tmpdir)

    # -- searches ---------------------------------------------------------------------------

    def search(self, x, k, *, params=None):
        """The ``k`` nearest codes of each query: ``(D, I)``, ``int32 [n, k]`` distances and
        ``int64 [n, k]`` ids, rows ascending by (distance, id), exact.

        A row with fewer than ``k`` results is padded as FAISS pads it: distance 2**31 - 1
        (INT32_MAX) and id -1. ``k`` must be > 0 (FAISS asserts it).
        """
        self._no_params(params)
        k = operator.index(k)
        if k <= 0:
            raise ValueError(f"k must be > 0, got {k}")
        x = self._codes(x)
        ids, dists = self._db.search(x, k, threads=self.threads)
        # hamdb pads with NO_ID = 2**64 - 1, which is -1 seen as int64: a view, no copy.
        I = ids.view(np.int64)
        # hamdb pads distances with -1, FAISS with INT32_MAX. Padding ends a row, so a single
        # query whose last distance is not -1 has none: skipping the mask there saves ~1.5 µs
        # of a one-query call (bench-python measures the per-call cost).
        if x.shape[0] != 1 or dists[0, -1] < 0:
            np.putmask(dists, dists < 0, _PAD_DISTANCE)
        return dists, I

    def range_search(self, x, radius, *, params=None):
        """Every code at distance strictly below ``radius`` from each query (FAISS's rule):
        ``(lims, D, I)`` in CSR form, query ``i``'s results being ``D[lims[i]:lims[i+1]]`` and
        ``I[lims[i]:lims[i+1]]``, ascending by id; dtypes as FAISS: lims ``uint64 [n+1]``, D
        ``float32`` (whole numbers), I ``int64``.

        hamdb's own ``Database.search_radius(q, r)`` is inclusive (``distance <= r``): this
        calls it with ``radius - 1``. ``radius <= 0`` finds nothing.
        """
        self._no_params(params)
        radius = operator.index(radius)
        x = self._codes(x)
        n = x.shape[0]
        if radius <= 0:
            return np.zeros(n + 1, np.uint64), np.empty(0, np.float32), np.empty(0, np.int64)
        # No distance exceeds d, so a larger radius is the same search (and fits hamdb's u32).
        lims, ids, dists = self._db.search_radius(x, min(radius - 1, self._d), threads=self.threads)
        # hamdb lists each query's hits by (distance, id); FAISS by id. Sort by (query, id).
        query = np.repeat(np.arange(n), np.diff(lims))
        order = np.lexsort((ids, query))
        return lims.astype(np.uint64), dists[order].astype(np.float32), ids[order].view(np.int64)

    def reconstruct(self, key):
        """The code stored under id ``key`` as a ``uint8 [d/8]`` array (KeyError if absent)."""
        item = self._db.get(operator.index(key))
        if item is None:
            raise KeyError(key)
        return np.frombuffer(item.code, np.uint8).copy()

    # -- lifetime ---------------------------------------------------------------------------

    def close(self):
        """Close the database (idempotent); an in-memory index's directory is removed."""
        self._finalizer()  # runs _release once; later calls do nothing

    def __enter__(self):
        """Return the index itself."""
        return self

    def __exit__(self, exc_type, exc, tb):
        """Close the index; exceptions propagate."""
        self.close()
        return False

    def __repr__(self):
        """``IndexBinaryHamdb(d=..., ntotal=..., path=...)``, or ``(closed)``."""
        if self._db.closed:
            return f"<IndexBinaryHamdb d={self._d} (closed)>"
        where = "in memory" if self._tmpdir is not None else repr(self._path)
        return f"<IndexBinaryHamdb d={self._d} ntotal={self.ntotal} {where}>"
