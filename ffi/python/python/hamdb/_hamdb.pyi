"""Type stubs of the native module ``hamdb._hamdb`` (re-exported by ``hamdb``)."""

from os import PathLike
from types import TracebackType
from typing import Dict, List, Optional, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

#: The id that pads the rows of a 2-D ``search`` result: ``2**64 - 1``.
NO_ID: int
#: The C status codes by name (``hamdb._errors`` maps each to an exception class).
STATUS: Dict[str, int]

_Path = Union[str, "PathLike[str]"]
#: One code: packed bytes, or a 1-D ``uint8`` array (``np.packbits`` order).
_Code = Union[bytes, npt.NDArray[np.uint8]]

class Hit:
    """One search result."""

    @property
    def id(self) -> int:
        """The item's id."""
    @property
    def distance(self) -> int:
        """Hamming distance to the query, in bits."""
    @property
    def label(self) -> Optional[int]:
        """The item's label (class), or None."""
    @property
    def payload(self) -> bytes:
        """The item's payload bytes."""

class Item:
    """A stored item, as ``Database.get`` returns it."""

    @property
    def id(self) -> int:
        """The item's id."""
    @property
    def code(self) -> bytes:
        """The code's packed bytes (``np.packbits`` order)."""
    @property
    def label(self) -> Optional[int]:
        """The item's label (class), or None."""
    @property
    def payload(self) -> bytes:
        """The item's payload bytes."""

class CommitInfo:
    """What a commit or import did."""

    @property
    def txn(self) -> int:
        """The commit's transaction number."""
    @property
    def assigned_ids(self) -> List[int]:
        """Ids given to ``insert_auto`` items (or to an import without ids), in order."""

class WriteBatch:
    """Inserts, upserts and deletes that ``Database.commit`` applies atomically, in order.

    A batch is not consumed by a commit: committing it again repeats its operations.
    """

    def __init__(self) -> None:
        """An empty batch."""
    def insert(
        self, id: int, code: _Code, label: Optional[int] = None, payload: Optional[bytes] = None
    ) -> None:
        """Insert with a caller-given id; the commit raises DuplicateIdError if it exists."""
    def insert_auto(
        self, code: _Code, label: Optional[int] = None, payload: Optional[bytes] = None
    ) -> None:
        """Insert with an id assigned at commit (``CommitInfo.assigned_ids``, in order)."""
    def upsert(
        self, id: int, code: _Code, label: Optional[int] = None, payload: Optional[bytes] = None
    ) -> None:
        """Insert, or replace the item with this id."""
    def delete(self, id: int) -> None:
        """Delete by id (deleting an absent id is not an error)."""
    def __len__(self) -> int:
        """The number of operations in the batch."""

class Database:
    """An open database file (``hamdb.create`` / ``hamdb.open``); a context manager.

    Any number of threads may use one Database: searches run in parallel (the GIL is released),
    commits are serialised. After ``close()`` every call raises ``ClosedError``.
    """

    @property
    def bits(self) -> int:
        """The code length in bits."""
    @property
    def path(self) -> str:
        """The database file's path."""
    @property
    def closed(self) -> bool:
        """Whether ``close()`` has been called."""
    def close(self) -> None:
        """Close the database (idempotent). A call running in another thread finishes first;
        the file (and its write lock) is released when the last one does."""
    def __enter__(self) -> "Database":
        """Return the database itself."""
    def __exit__(
        self,
        exc_type: Optional[type],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool:
        """Close the database; exceptions propagate."""
    def __len__(self) -> int:
        """The number of live items."""
    def commit(self, batch: WriteBatch) -> CommitInfo:
        """Apply ``batch`` atomically; durable (fsynced) when it returns."""
    def import_codes(
        self,
        codes: npt.NDArray[np.uint8],
        ids: Optional[npt.ArrayLike] = None,
        labels: Optional[npt.ArrayLike] = None,
    ) -> CommitInfo:
        """Bulk-load codes as one new segment in one commit (MIH tables built once).

        ``codes`` must be a C-contiguous ``uint8`` array of shape ``[N, bits/8]``
        (``np.packbits`` order); it is read in place, without a copy (do not modify it from
        another thread during the call). Another dtype raises TypeError; another number of
        dimensions or a non-C-contiguous array (a column slice, Fortran order) ValueError; another
        width CodeLengthError (a ValueError). ``ids`` (uint64, default: consecutive new ids) and
        ``labels`` (uint32) have N entries each; an existing or repeated id raises
        DuplicateIdError and imports nothing.
        """
    @overload
    def search(self, code_or_codes: _Code, k: int, label: Optional[int] = None) -> List[Hit]: ...
    @overload
    def search(
        self, code_or_codes: npt.NDArray[np.uint8], k: int, label: Optional[int] = None
    ) -> Tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]: ...
    def search(self, code_or_codes, k, label=None):  # type: ignore[no-untyped-def]
        """The ``k`` nearest live items, exact, ascending by (distance, id).

        One code (bytes or a 1-D uint8 array) gives a list of ``Hit`` (with label and payload).
        A 2-D ``uint8 [n, bits/8]`` array (C-contiguous) of queries gives ``(ids, distances)``,
        arrays of shape ``[n, k]`` (``uint64`` / ``int32``) computed in one call on one snapshot;
        a row with fewer than ``k`` results is padded with id ``NO_ID`` (2**64 - 1) and distance
        -1. ``label`` keeps only items with that label.
        """
    @overload
    def search_radius(
        self, code_or_codes: _Code, r: int, label: Optional[int] = None
    ) -> List[Hit]: ...
    @overload
    def search_radius(
        self, code_or_codes: npt.NDArray[np.uint8], r: int, label: Optional[int] = None
    ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.int32]]: ...
    def search_radius(self, code_or_codes, r, label=None):  # type: ignore[no-untyped-def]
        """Every live item within distance ``r`` (inclusive: ``distance <= r``), ascending by
        (distance, id).

        One code gives a list of ``Hit``. A 2-D array of ``n`` queries gives ``(lims, ids,
        distances)`` in CSR form: query ``i``'s results are ``ids[lims[i]:lims[i+1]]`` and
        ``distances[lims[i]:lims[i+1]]``; ``lims`` is ``int64 [n+1]``, ``ids`` ``uint64``,
        ``distances`` ``int32``.
        """
    def get(self, id: int) -> Optional[Item]:
        """The live item with this id, or None."""
    def flush(self) -> None:
        """Write the delta (recent commits) into a segment with MIH tables."""
    def compact(self) -> None:
        """Rewrite the file as one segment of its live items (reclaims deleted items)."""
    def refresh(self) -> bool:
        """Pick up commits made by other handles or processes; whether anything changed."""
    def stats(self) -> Dict[str, Union[int, bytes]]:
        """Counts: ``code_bits``, ``txn``, ``items``, ``segments``, ``segment_items``,
        ``delta_items``, ``deleted_in_segments``, ``file_bytes``, and ``fingerprint`` (bytes)."""

def create(path: _Path, bits: int, fingerprint: Optional[bytes] = None) -> Database:
    """Create a new database for ``bits``-bit codes (a multiple of 8 in 8..=1024).

    ``fingerprint`` is opaque bytes naming the encoder (default empty). An existing file raises
    IoError.
    """

def open(path: _Path, read_only: bool = False) -> Database:
    """Open a database. A second writer raises LockedError; ``read_only=True`` takes no write
    lock and writes raise ReadOnlyError (``refresh()`` follows another process's commits)."""

def verify(path: _Path) -> Dict[str, int]:
    """Check every checksum and invariant of the file (CorruptError if one fails); a dict of
    ``txn``, ``segments``, ``items``, ``delta_batches``."""
