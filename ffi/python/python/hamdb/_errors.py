"""hamdb's exceptions: one class per C status code, all under :class:`Error`.

The native module raises the class of an error's C status (``hamdb_capi::status_of`` in Rust,
so the status list is declared once, in ffi/capi); the message is the Rust error's text.
"""

from ._hamdb import STATUS as _S


class Error(Exception):
    """Base class of every hamdb error. ``status`` is the C status code of the class (the
    ``HAMDB_*`` value of include/hamdb.h; ``hamdb.STATUS`` maps names to codes)."""

    status: int = -1


class UnsupportedCodeLengthError(Error, ValueError):
    """A code length hamdb does not support (a multiple of 8 bits in 8..=1024)."""


class CodeLengthError(Error, ValueError):
    """A code (or array of codes) whose length differs from the database's."""


class RaggedCodeBufferError(Error, ValueError):
    """A byte buffer that is not a whole number of codes."""


class InvalidHexError(Error, ValueError):
    """A hex string that is not a valid code."""


class InvalidParameterError(Error, ValueError):
    """An argument out of its valid range (the message names it)."""


class TooManyCodesError(Error):
    """More codes than one segment can address."""


class IoError(Error, OSError):
    """An operating-system I/O error (also an ``OSError``)."""


class NotADatabaseError(Error):
    """The file is not a hamdb database."""


class UnsupportedFormatVersionError(Error):
    """A database format version this build does not read."""


class CorruptError(Error):
    """The file is damaged (checksum, offset, length or invariant)."""


class LockedError(Error):
    """Another writer (process or handle) holds the database's write lock."""


class ReadOnlyError(Error):
    """A write on a database opened with ``read_only=True``."""


class PoisonedError(Error):
    """An earlier write failed; reopen the database to write again."""


class DuplicateIdError(Error):
    """An insert (or import) whose id already exists or repeats."""


class EncoderMismatchError(Error):
    """The database was created for another encoder (or for none)."""


class RuntimeLoadError(Error):
    """ONNX Runtime could not be found or loaded, or is an unsupported version."""


class ModelContractError(Error):
    """The model does not meet the hamdb encoder contract (docs/ENCODER.md)."""


class InferenceError(Error):
    """The model failed while running."""


class ImageError(Error):
    """An empty, truncated, corrupt or unsupported image."""


class ImageTooLargeError(Error):
    """An image over the pixel limit (decompression-bomb guard)."""


class NoEncoderError(Error):
    """An image operation on a database created without a model."""


class ClosedError(Error):
    """A call on a database after ``close()``."""


class OtherError(Error):
    """An error kind newer than this status list (the message says what happened)."""


_BY_STATUS = {
    _S["UNSUPPORTED_CODE_LENGTH"]: UnsupportedCodeLengthError,
    _S["CODE_LENGTH_MISMATCH"]: CodeLengthError,
    _S["RAGGED_CODE_BUFFER"]: RaggedCodeBufferError,
    _S["INVALID_HEX"]: InvalidHexError,
    _S["INVALID_PARAMETER"]: InvalidParameterError,
    _S["TOO_MANY_CODES"]: TooManyCodesError,
    _S["IO"]: IoError,
    _S["NOT_A_DATABASE"]: NotADatabaseError,
    _S["UNSUPPORTED_FORMAT_VERSION"]: UnsupportedFormatVersionError,
    _S["CORRUPT"]: CorruptError,
    _S["LOCKED"]: LockedError,
    _S["READ_ONLY"]: ReadOnlyError,
    _S["POISONED"]: PoisonedError,
    _S["DUPLICATE_ID"]: DuplicateIdError,
    _S["ENCODER_MISMATCH"]: EncoderMismatchError,
    _S["RUNTIME"]: RuntimeLoadError,
    _S["MODEL_CONTRACT"]: ModelContractError,
    _S["INFERENCE"]: InferenceError,
    _S["IMAGE"]: ImageError,
    _S["IMAGE_TOO_LARGE"]: ImageTooLargeError,
    _S["NO_ENCODER"]: NoEncoderError,
    _S["CLOSED"]: ClosedError,
    _S["OTHER"]: OtherError,
}

for _code, _cls in _BY_STATUS.items():
    _cls.status = _code
del _code, _cls

__all__ = [name for name, v in globals().items() if isinstance(v, type) and issubclass(v, Error)]
