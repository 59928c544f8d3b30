"""Type stubs of the native module ``hamdb._hamdb`` (re-exported by ``hamdb``)."""

from os import PathLike
from types import TracebackType
from typing import Any, Callable, Dict, Iterable, List, Literal, Optional, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

from ._errors import Error

#: The id that pads the rows of a 2-D ``search`` result: ``2**64 - 1``.
NO_ID: int
#: The label of an item without one (and of a padding slot) in ``with_labels`` arrays:
#: ``2**32 - 1`` (the C ABI's ``HAMDB_NO_LABEL``).
NO_LABEL: int
#: The most codes one item may hold (``WriteBatch.insert_codes``): 64.
MAX_CODES_PER_ITEM: int
#: The C status codes by name (``hamdb._errors`` maps each to an exception class).
STATUS: Dict[str, int]

_Path = Union[str, "PathLike[str]"]
#: One code: packed bytes, or a 1-D ``uint8`` array (``np.packbits`` order).
_Code = Union[bytes, npt.NDArray[np.uint8]]
#: Several codes of one length (an item's, or a query set's): a 2-D ``uint8`` array
#: ``[n, bits/8]`` (one code per row, any memory layout), or a sequence of ``_Code``.
_Codes = Union[npt.NDArray[np.uint8], Iterable[_Code]]
#: One image: a path, file bytes, a uint8 array (HxW, or HxWxC with C in 1, 3, 4: gray, RGB,
#: RGBA), or a PIL image (L, RGB, RGBA as they are; other modes through PIL's ``convert``).
_Image = Union[str, "PathLike[str]", bytes, bytearray, memoryview, npt.NDArray[np.uint8], Any]
#: What ``insert_images`` takes per item: an image, or ``(in-memory image, payload bytes)``.
_Source = Union[_Image, Tuple[Any, bytes]]

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
        """The (first) code's packed bytes (``np.packbits`` order)."""
    @property
    def codes(self) -> npt.NDArray[np.uint8]:
        """Every code of the item, one per row (``uint8 [n, bits/8]``, in insert order; row 0
        is ``code``; one row for an item of one code)."""
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
    @property
    def maintenance_error(self) -> Optional[Error]:
        """None, or the error of the automatic flush or compaction the commit triggered. The
        commit is durable all the same (do not retry it: it would apply twice); the handle is
        poisoned (PoisonedError) until the database is reopened. Also a RuntimeWarning."""

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
    def insert_codes(
        self, id: int, codes: _Codes, label: Optional[int] = None, payload: Optional[bytes] = None
    ) -> None:
        """Insert an item of several codes (PDQ variants, a clip's frames) with a caller-given
        id: every search returns it once, at its least distance over its codes. ``codes``: 1 to
        ``MAX_CODES_PER_ITEM`` codes of one length. A bytes object alone or another array than
        2-D ``uint8`` raises TypeError here; no codes, too many or mixed lengths raise
        InvalidParameterError at commit, a length other than the database's CodeLengthError,
        and a file older than format 4 InvalidParameterError (compact it first)."""
    def insert_auto_codes(
        self, codes: _Codes, label: Optional[int] = None, payload: Optional[bytes] = None
    ) -> None:
        """``insert_codes`` with an id assigned at commit (``CommitInfo.assigned_ids``)."""
    def upsert_codes(
        self, id: int, codes: _Codes, label: Optional[int] = None, payload: Optional[bytes] = None
    ) -> None:
        """Insert, or replace the item with this id by, an item of several codes."""
    def delete(self, id: int) -> None:
        """Delete by id (deleting an absent id is not an error)."""
    def clear(self) -> None:
        """Remove every operation (a commit does not consume a batch)."""
    def __len__(self) -> int:
        """The number of operations in the batch."""

class Snapshot:
    """One commit of a database (``Database.snapshot()``): every search on it sees that commit,
    whatever commits, flushes or compactions follow. It keeps that commit's data alive until it
    is closed (or garbage-collected), also after its database is closed; a context manager.
    """

    @property
    def txn(self) -> int:
        """The transaction number of the commit it shows."""
    @property
    def bits(self) -> int:
        """The code length in bits."""
    @property
    def closed(self) -> bool:
        """Whether ``close()`` has been called."""
    def close(self) -> None:
        """Release the commit's data (idempotent); later calls raise ClosedError."""
    def __enter__(self) -> "Snapshot":
        """Return the snapshot itself."""
    def __exit__(
        self,
        exc_type: Optional[type],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool:
        """Close the snapshot; exceptions propagate."""
    def __len__(self) -> int:
        """Live items in this commit."""
    @overload
    def search(self, code_or_codes: _Code, k: int, label: Optional[int] = None) -> List[Hit]: ...
    @overload
    def search(
        self,
        code_or_codes: npt.NDArray[np.uint8],
        k: int,
        label: Optional[int] = None,
        *,
        threads: int = 1,
        with_labels: bool = False,
    ) -> Union[
        Tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]],
        Tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32], npt.NDArray[np.uint32]],
    ]: ...
    def search(self, code_or_codes, k, label=None, *, threads=1, with_labels=False):  # type: ignore[no-untyped-def]
        """``Database.search`` in this commit."""
    @overload
    def search_radius(
        self, code_or_codes: _Code, r: int, label: Optional[int] = None
    ) -> List[Hit]: ...
    @overload
    def search_radius(
        self,
        code_or_codes: npt.NDArray[np.uint8],
        r: int,
        label: Optional[int] = None,
        *,
        threads: int = 1,
        with_labels: bool = False,
    ) -> Union[
        Tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.int32]],
        Tuple[
            npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.int32], npt.NDArray[np.uint32]
        ],
    ]: ...
    def search_radius(self, code_or_codes, r, label=None, *, threads=1, with_labels=False):  # type: ignore[no-untyped-def]
        """``Database.search_radius`` in this commit."""
    def search_set(self, codes: _Codes, k: int, label: Optional[int] = None) -> List[Hit]:
        """``Database.search_set`` in this commit."""
    def search_radius_set(self, codes: _Codes, r: int, label: Optional[int] = None) -> List[Hit]:
        """``Database.search_radius_set`` in this commit."""
    def search_class_first(self, code: _Code, k: int, label: int) -> List[Hit]:
        """``Database.search_class_first`` in this commit."""
    def search_radius_class_first(self, code: _Code, r: int, label: int) -> List[Hit]:
        """``Database.search_radius_class_first`` in this commit."""
    def get(self, id: int) -> Optional[Item]:
        """The item with this id as of this commit, or None."""

class Encoder:
    """An SSDH model (docs/ENCODER.md's contract) run by ONNX Runtime: one forward pass gives
    an image's code (latent activations > 0.5) and its predicted class. Thread-safe; every
    decode and forward pass releases the GIL."""

    @staticmethod
    def load(
        model: Union[_Path, bytes],
        runtime: Optional[_Path] = None,
        sessions: int = 0,
        intra_threads: int = 0,
        max_pixels: Optional[int] = None,
        max_decoded_bytes: Optional[int] = None,
    ) -> "Encoder":
        """Load a model from its path or its bytes; a model that breaks the contract raises
        ModelContractError with the reason. ``runtime`` is the ONNX Runtime library (default:
        ORT_DYLIB_PATH, else the ``onnxruntime`` package this interpreter can import, else
        hamdb's search; RuntimeLoadError if none). ``sessions`` forward passes can run at once
        (0 = one), each on ``intra_threads`` threads (0 = the cores shared out). Images over
        ``max_pixels`` pixels or ``max_decoded_bytes`` decoded bytes are refused
        (ImageTooLargeError / ImageError)."""
    @property
    def bits(self) -> int:
        """Code bits the model emits."""
    @property
    def classes(self) -> List[str]:
        """Class names; a predicted label indexes this list."""
    @property
    def fingerprint(self) -> bytes:
        """SHA-256 of the model file (what ``create_for_model`` records)."""
    @property
    def name(self) -> str:
        """The model's name."""
    @property
    def version(self) -> str:
        """The model's version."""
    @property
    def input_shape(self) -> Tuple[int, int, int]:
        """The model input: (channels, height, width)."""
    @overload
    def encode(self, images: Union[List[_Image], Tuple[_Image, ...], Iterable[_Image]]) -> Tuple[
        npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.float32]
    ]: ...
    @overload
    def encode(self, images: _Image) -> Tuple[bytes, int, float]: ...
    def encode(self, images):  # type: ignore[no-untyped-def]
        """Codes, predicted labels and their probabilities.

        One image (anything but a list, tuple or other iterable of images) gives ``(code bytes,
        label, probability)``; several give ``(codes uint8 [N, bytes], labels int64 [N],
        probabilities float32 [N])``, 64 images per forward pass. Arrays and PIL images are taken
        as displayed (no EXIF step; files get theirs). A broken image raises ImageError (or
        ImageTooLargeError, IoError for a missing file) whose message names it by path or
        ``#position``."""

class ItemFailure:
    """One image ``insert_images`` did not insert."""

    @property
    def index(self) -> int:
        """Its position in the input."""
    @property
    def source(self) -> str:
        """Its path, or ``#index`` for in-memory images."""
    @property
    def error(self) -> "Error":
        """The error, as the exception that would have been raised (e.g. ImageError)."""
    @property
    def message(self) -> str:
        """The error's message."""

class IngestReport:
    """What ``insert_images`` did."""

    @property
    def ids(self) -> List[Optional[int]]:
        """The id of each input reached, in input order; None for a failed one."""
    @property
    def failures(self) -> List[ItemFailure]:
        """The inputs not inserted, in input order."""
    @property
    def inserted(self) -> int:
        """Images inserted and committed."""
    @property
    def txn(self) -> int:
        """The last commit's transaction number (0 if none)."""

class ImageQuery:
    """The answer to ``Database.search_image``."""

    @property
    def code(self) -> bytes:
        """The query image's code."""
    @property
    def label(self) -> int:
        """Its predicted class (the label its items would be stored with)."""
    @property
    def class_name(self) -> str:
        """The predicted class's name."""
    @property
    def probability(self) -> float:
        """The softmax probability of the predicted class."""
    @property
    def hits(self) -> List[Hit]:
        """Neighbours, ascending by (distance, id); each hit's label is its stored class."""

class Database:
    """An open database file (``hamdb.create`` / ``hamdb.open``); a context manager.

    Any number of threads may use one Database: searches run in parallel (the GIL is released),
    commits are serialised. After ``close()`` every call raises ``ClosedError``.
    """

    @property
    def bits(self) -> int:
        """The code length in bits."""
    @property
    def expected_radius(self) -> Optional[int]:
        """The radius given to ``create(expected_radius=)``, or None."""
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
        payloads: Optional[Iterable[bytes]] = None,
    ) -> CommitInfo:
        """Bulk-load codes as one new segment in one commit (MIH tables built once).

        ``codes`` must be a C-contiguous ``uint8`` array of shape ``[N, bits/8]``
        (``np.packbits`` order); it is read in place, without a copy (do not modify it from
        another thread during the call). Another dtype raises TypeError; another number of
        dimensions or a non-C-contiguous array (a column slice, Fortran order) ValueError; another
        width CodeLengthError (a ValueError). ``ids`` (uint64, default: consecutive new ids) and
        ``labels`` (uint32) and ``payloads`` (bytes) have N entries each; an existing or
        repeated id raises DuplicateIdError and imports nothing.
        """
    @overload
    def search(self, code_or_codes: _Code, k: int, label: Optional[int] = None) -> List[Hit]: ...
    @overload
    def search(
        self,
        code_or_codes: npt.NDArray[np.uint8],
        k: int,
        label: Optional[int] = None,
        *,
        threads: int = 1,
        with_labels: bool = False,
    ) -> Union[
        Tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]],
        Tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32], npt.NDArray[np.uint32]],
    ]: ...
    def search(self, code_or_codes, k, label=None, *, threads=1, with_labels=False):  # type: ignore[no-untyped-def]
        """The ``k`` nearest live items, exact, ascending by (distance, id).

        One code (bytes or a 1-D uint8 array) gives a list of ``Hit`` (with label and payload).
        A 2-D ``uint8 [n, bits/8]`` array (C-contiguous) of queries gives ``(ids, distances)``,
        arrays of shape ``[n, k]`` (``uint64`` / ``int32``) computed in one call on one snapshot;
        a row with fewer than ``k`` results is padded with id ``NO_ID`` (2**64 - 1) and distance
        -1. ``label`` keeps only items with that label. ``threads`` splits a 2-D batch over
        that many threads (0 = automatic: up to one per core, shared with the process's other
        batch searches; default 1, so threads of the caller's own do not
        oversubscribe the cores); the answer is the same. ``with_labels=True`` adds a third
        array, each hit's label (``uint32 [n, k]``, ``NO_LABEL`` for none and for padding).
        """
    @overload
    def search_radius(
        self, code_or_codes: _Code, r: int, label: Optional[int] = None
    ) -> List[Hit]: ...
    @overload
    def search_radius(
        self,
        code_or_codes: npt.NDArray[np.uint8],
        r: int,
        label: Optional[int] = None,
        *,
        threads: int = 1,
        with_labels: bool = False,
    ) -> Union[
        Tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.int32]],
        Tuple[
            npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.int32], npt.NDArray[np.uint32]
        ],
    ]: ...
    def search_radius(self, code_or_codes, r, label=None, *, threads=1, with_labels=False):  # type: ignore[no-untyped-def]
        """Every live item within distance ``r`` (inclusive: ``distance <= r``), ascending by
        (distance, id).

        One code gives a list of ``Hit``. A 2-D array of ``n`` queries gives ``(lims, ids,
        distances)`` in CSR form: query ``i``'s results are ``ids[lims[i]:lims[i+1]]`` and
        ``distances[lims[i]:lims[i+1]]``; ``lims`` is ``int64 [n+1]``, ``ids`` ``uint64``,
        ``distances`` ``int32``. ``threads`` as for ``search``; ``with_labels=True`` adds a
        fourth array, each hit's label (``uint32``, ``NO_LABEL`` for none).
        """
    def search_set(self, codes: _Codes, k: int, label: Optional[int] = None) -> List[Hit]:
        """The ``k`` nearest live items to a query of several codes (an image's variants, a
        clip's frames), ascending by (distance, id), exact: an item's distance is the least
        over every (query code, item code) pair, and each item comes once. ``label`` keeps only
        items of that class. No codes raise InvalidParameterError; a code of another length
        than the database's CodeLengthError."""
    def search_radius_set(self, codes: _Codes, r: int, label: Optional[int] = None) -> List[Hit]:
        """Every live item within distance ``r`` (inclusive) of any code of the query, once,
        at its least distance; arguments as ``search_set``."""
    def search_class_first(self, code: _Code, k: int, label: int) -> List[Hit]:
        """Class-aware ranking: the ``k`` nearest live items of class ``label`` first, then the
        nearest others (fewer than ``k`` of ``label`` are topped up), each group ascending by
        (distance, id), exact within each group. A code of another length than the database's
        raises CodeLengthError."""
    def search_radius_class_first(self, code: _Code, r: int, label: int) -> List[Hit]:
        """Every live item within distance ``r`` (inclusive), those of class ``label`` first,
        each group ascending by (distance, id)."""
    def get(self, id: int) -> Optional[Item]:
        """The live item with this id, or None."""
    def snapshot(self) -> Snapshot:
        """The latest commit as an immutable view (searches on it all see that commit)."""
    def insert_images(
        self,
        encoder: Encoder,
        sources: Iterable[_Source],
        progress: Union[None, bool, Callable[[int, int, int], None]] = None,
        batch_size: int = 64,
        decode_threads: int = 0,
        commit_every: int = 8192,
    ) -> IngestReport:
        """Insert images through ``encoder`` (the database's model, else EncoderMismatchError;
        NoEncoderError for a database created without one), each stored with its code, its
        predicted class as label, and its path (or the given payload) as payload.

        ``sources`` is any iterable, read as ingestion goes (a generator streams). Decoding runs
        on ``decode_threads`` threads (0 = one per core), inference ``batch_size`` images per
        pass, with a durable commit every ``commit_every`` inserted images and at the end. A
        broken image fails alone (``IngestReport.failures``). ``progress=True`` shows a tqdm bar
        when tqdm is installed; a callable gets ``(done, failed, committed)`` after each batch.
        An error that stops the ingestion (a full disk, an exception from the iterator or the
        callback, Ctrl-C) is raised with ``.report``: what was committed before it (durable).
        """
    def search_image(
        self,
        encoder: Encoder,
        image: _Image,
        k: Optional[int] = None,
        label: Optional[int] = None,
        radius: Optional[int] = None,
        *,
        rank: Literal["distance", "class"] = "distance",
    ) -> ImageQuery:
        """Encode ``image`` and search by its code: the ``k`` nearest (default 10) or everything
        within ``radius`` (inclusive), only items of ``label`` if given. ``rank="class"`` puts
        the items of the query's predicted class first (the ``k`` nearest of it, then the
        nearest others), each group by (distance, id); with ``label`` given the filter decides.
        ``rank="distance"`` (the default) ranks by (distance, id); anything else raises
        ValueError."""
    def flush(self) -> None:
        """Write the delta (recent commits) into a segment with MIH tables."""
    def compact(self) -> None:
        """Rewrite the file as one segment of its live items (reclaims deleted items)."""
    def refresh(self) -> bool:
        """Pick up commits made by other handles or processes; whether anything changed."""
    def stats(self) -> Dict[str, Union[int, bytes]]:
        """Counts: ``code_bits``, ``txn``, ``items``, ``segments``, ``segment_items``,
        ``delta_items``, ``deleted_in_segments``, ``file_bytes``, and ``fingerprint`` (bytes)."""

def create(
    path: _Path,
    bits: int,
    fingerprint: Optional[bytes] = None,
    *,
    auto_compact: bool = True,
    flush_threshold: Optional[int] = None,
    expected_radius: Optional[int] = None,
) -> Database:
    """Create a new database for ``bits``-bit codes (a multiple of 8 in 8..=1024).

    ``fingerprint`` is opaque bytes naming the encoder (default empty). An existing file raises
    IoError. ``auto_compact=False``: commits never compact (only ``compact()`` does);
    ``flush_threshold``: delta items that trigger a flush into a segment (default 65,536);
    ``expected_radius``: the Hamming radius searches are expected to use (at most ``bits``):
    the multi-index tables are cut for it and it is recorded in the file.
    """

def open(
    path: _Path,
    read_only: bool = False,
    *,
    auto_compact: bool = True,
    flush_threshold: Optional[int] = None,
    lock_wait: Optional[float] = None,
) -> Database:
    """Open a database. A second writer raises LockedError; ``read_only=True`` takes no write
    lock and writes raise ReadOnlyError (``refresh()`` follows another process's commits).
    ``lock_wait``: seconds a read-write open retries while another writer holds the lock
    before raising LockedError (0: at once; default 0.2 s, the window in which a child process
    forked by another thread still shares a just-closed handle's lock).
    ``auto_compact`` and ``flush_threshold`` as for ``create``."""

def create_for_model(
    path: _Path,
    encoder: Encoder,
    *,
    auto_compact: bool = True,
    flush_threshold: Optional[int] = None,
) -> Database:
    """Create a database for ``encoder``'s codes; it records the model (class names, contract,
    fingerprint), so image calls with another model raise EncoderMismatchError."""

def verify(path: _Path) -> Dict[str, int]:
    """Check every checksum and invariant of the file (CorruptError if one fails); a dict of
    ``txn``, ``segments``, ``items``, ``delta_batches``."""
