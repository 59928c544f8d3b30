package hamdb

// #include <hamdb.h>
import "C"

import "fmt"

// Status is a hamdb status code (HAMDB_* in hamdb.h). Values never change meaning. A Status is
// itself an error, so every sentinel below works with errors.Is.
type Status int

// The status codes, equal to the C ABI's.
const (
	StatusOK                       Status = C.HAMDB_OK
	StatusUnsupportedCodeLength    Status = C.HAMDB_UNSUPPORTED_CODE_LENGTH
	StatusCodeLengthMismatch       Status = C.HAMDB_CODE_LENGTH_MISMATCH
	StatusRaggedCodeBuffer         Status = C.HAMDB_RAGGED_CODE_BUFFER
	StatusInvalidHex               Status = C.HAMDB_INVALID_HEX
	StatusInvalidParameter         Status = C.HAMDB_INVALID_PARAMETER
	StatusTooManyCodes             Status = C.HAMDB_TOO_MANY_CODES
	StatusIO                       Status = C.HAMDB_IO
	StatusNotADatabase             Status = C.HAMDB_NOT_A_DATABASE
	StatusUnsupportedFormatVersion Status = C.HAMDB_UNSUPPORTED_FORMAT_VERSION
	StatusCorrupt                  Status = C.HAMDB_CORRUPT
	StatusLocked                   Status = C.HAMDB_LOCKED
	StatusReadOnly                 Status = C.HAMDB_READ_ONLY
	StatusPoisoned                 Status = C.HAMDB_POISONED
	StatusDuplicateID              Status = C.HAMDB_DUPLICATE_ID
	StatusEncoderMismatch          Status = C.HAMDB_ENCODER_MISMATCH
	StatusNullArgument             Status = C.HAMDB_NULL_ARGUMENT
	StatusBufferTooSmall           Status = C.HAMDB_BUFFER_TOO_SMALL
	StatusPanic                    Status = C.HAMDB_PANIC
	StatusClosed                   Status = C.HAMDB_CLOSED
	StatusNotFound                 Status = C.HAMDB_NOT_FOUND
	StatusOther                    Status = C.HAMDB_OTHER
)

// Sentinel errors, one per status code: errors.Is(err, hamdb.ErrLocked) and so on.
var (
	ErrUnsupportedCodeLength    error = StatusUnsupportedCodeLength
	ErrCodeLengthMismatch       error = StatusCodeLengthMismatch
	ErrRaggedCodeBuffer         error = StatusRaggedCodeBuffer
	ErrInvalidHex               error = StatusInvalidHex
	ErrInvalidParameter         error = StatusInvalidParameter
	ErrTooManyCodes             error = StatusTooManyCodes
	ErrIO                       error = StatusIO
	ErrNotADatabase             error = StatusNotADatabase
	ErrUnsupportedFormatVersion error = StatusUnsupportedFormatVersion
	ErrCorrupt                  error = StatusCorrupt
	ErrLocked                   error = StatusLocked
	ErrReadOnly                 error = StatusReadOnly
	ErrPoisoned                 error = StatusPoisoned
	ErrDuplicateID              error = StatusDuplicateID
	ErrEncoderMismatch          error = StatusEncoderMismatch
	ErrNullArgument             error = StatusNullArgument
	ErrBufferTooSmall           error = StatusBufferTooSmall
	ErrPanic                    error = StatusPanic
	ErrClosed                   error = StatusClosed
	ErrNotFound                 error = StatusNotFound
	ErrOther                    error = StatusOther
)

// Error returns the library's static description of the code.
func (s Status) Error() string { return C.GoString(C.hamdb_status_string(C.int(s))) }

// Name returns the code's constant name, e.g. "HAMDB_LOCKED".
func (s Status) Name() string { return C.GoString(C.hamdb_status_name(C.int(s))) }

// Error is a failed call: its status and the library's message. It unwraps to its Status, so
// errors.Is(err, hamdb.ErrCorrupt) works, and errors.As(err, &e) gives the message.
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("hamdb: %s (%s)", e.Message, e.Status.Name()) }

// Unwrap returns the status code (a sentinel error).
func (e *Error) Unwrap() error { return e.Status }

// lastError builds the error of a failed call. It must run on the OS thread of that call (the
// message is thread-local in the library): callers hold runtime.LockOSThread around both.
func lastError(rc C.int) error {
	if rc == C.HAMDB_OK {
		return nil
	}
	return &Error{Status: Status(rc), Message: C.GoString(C.hamdb_last_error_message())}
}
