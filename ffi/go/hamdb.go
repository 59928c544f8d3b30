// Package hamdb embeds hamdb, a database for image search by binary codes, through its C ABI
// (libhamdb, found with pkg-config: set PKG_CONFIG_PATH to <prefix>/lib/pkgconfig after
// `make install PREFIX=<prefix>`).
//
// Codes are packed bytes in numpy.packbits order (bit i in byte i/8 at bit 7-i%8); a database
// holds codes of one length. Concurrency: a *DB and a *Snapshot may be used from any number of
// goroutines at once (searches run in parallel, writes are serialised by the library); a
// *Batch is guarded by its own mutex. Close is idempotent, safe to call concurrently with other
// calls (it waits for them), and is also run by a finalizer if the caller forgets it.
package hamdb

// #cgo pkg-config: hamdb
// #include <stdlib.h>
// #include <hamdb.h>
//
// // k-NN and copy of the hits in one C call (a cgo call costs ~100 ns); the results object
// // stays alive until the caller has copied the payloads, then hamdb_results_free.
// static int hamdb_go_knn(const hamdb_db *db, const hamdb_snapshot *snap, const uint8_t *code,
//                         size_t code_len, size_t k, uint32_t cls, hamdb_hit *out, size_t *n,
//                         hamdb_results **res) {
//   int rc = db ? hamdb_db_search(db, code, code_len, k, cls, res)
//               : hamdb_snapshot_search(snap, code, code_len, k, cls, res);
//   if (rc != HAMDB_OK) return rc;
//   rc = hamdb_results_copy(*res, out, k, n);
//   if (rc != HAMDB_OK) { hamdb_results_free(*res); *res = NULL; }
//   return rc;
// }
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// NoLabel is the label of an item stored without one.
const NoLabel uint32 = C.HAMDB_NO_LABEL

// AnyClass as a class filter keeps every item.
const AnyClass uint32 = C.HAMDB_ANY_CLASS

// NoID (2^64-1) is the reserved id meaning "no id": it is never assigned and cannot be
// inserted, and it is the ID of an IngestItem that was not inserted.
const NoID uint64 = C.HAMDB_NO_ID

// MaxCodesPerItem is the most codes one item may hold (Batch.InsertCodes).
const MaxCodesPerItem = int(C.HAMDB_MAX_CODES_PER_ITEM)

// OpenFlag modifies Open.
type OpenFlag uint32

const (
	// ReadOnly opens without the write lock; writes fail with ErrReadOnly; Refresh picks up
	// other writers' commits.
	ReadOnly OpenFlag = C.HAMDB_OPEN_READ_ONLY
	// NoAutoCompact disables compaction on commit (explicit Compact only).
	NoAutoCompact OpenFlag = C.HAMDB_OPEN_NO_AUTO_COMPACT
)

// Version is the library's version string.
func Version() string { return C.GoString(C.hamdb_version()) }

// ABIVersion is the loaded library's ABI version; ABICompatible says whether it is the one
// this package was built against.
func ABIVersion() uint32 { return uint32(C.hamdb_abi_version()) }

// ABICompatible reports whether the loaded library speaks the ABI this package was built for.
func ABICompatible() bool { return ABIVersion() == uint32(C.HAMDB_ABI_VERSION) }

// Hit is one search result.
type Hit struct {
	ID       uint64
	Distance uint32
	Label    uint32 // NoLabel if the item has none
	Payload  []byte
}

// Neighbor is a search result without payload (SearchNeighbors).
type Neighbor struct {
	ID       uint64
	Distance uint32
	Label    uint32
}

// Neighbor is written by the C library in place of hamdb_neighbor: the layouts must agree
// (a compile error here otherwise).
var _ = [1]struct{}{}[unsafe.Sizeof(Neighbor{})-unsafe.Sizeof(C.hamdb_neighbor{})]
var _ = [1]struct{}{}[unsafe.Offsetof(Neighbor{}.Label)-unsafe.Offsetof(C.hamdb_neighbor{}.label)]

// Item is a stored item.
type Item struct {
	ID uint64
	// Code is the item's (first) code.
	Code []byte
	// Codes is every code of the item, in insert order (Codes[0] is Code); one for an item
	// of one code.
	Codes   [][]byte
	Label   uint32
	Payload []byte
}

// Stats are the counts of the latest commit.
type Stats struct {
	CodeBits          int
	Txn               uint64
	Items             uint64
	Segments          uint64
	SegmentItems      uint64
	DeltaItems        uint64
	DeletedInSegments uint64
	FileBytes         uint64
}

// CommitInfo says what a commit or import did.
type CommitInfo struct {
	Txn uint64
	// AssignedIDs are the ids given to auto-id inserts (or an import without ids), in order.
	AssignedIDs []uint64
	// Maintenance is nil, or the error of an automatic flush or compaction that failed after
	// the commit became durable (the commit stands; the handle refuses writes until reopened).
	Maintenance error
}

// VerifyReport is what Verify checked.
type VerifyReport struct {
	Txn, Segments, Items, DeltaBatches uint64
}

// cString copies s into C memory as a NUL-terminated string for the C ABI (free it with
// C.free). A NUL byte inside s would cut the C string short there (another file), so s is
// refused with ErrInvalidParameter instead; what names the argument in the message.
func cString(what, s string) (*C.char, error) {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return nil, &Error{Status: StatusInvalidParameter,
			Message: fmt.Sprintf("%s %q has a NUL byte at offset %d (C strings cannot hold one)", what, s, i)}
	}
	return C.CString(s), nil
}

func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// DB is an open database.
type DB struct {
	mu sync.RWMutex // read: a call in flight; write: Close
	p  *C.hamdb_db
}

func newDB(p *C.hamdb_db) *DB {
	db := &DB{p: p}
	runtime.SetFinalizer(db, (*DB).Close)
	return db
}

// Create makes a new database file for codeBits-bit codes (a multiple of 8 in 8..1024),
// recording the encoder fingerprint (nil for a code-only database), and opens it for writing.
func Create(path string, codeBits int, fingerprint []byte, flags ...OpenFlag) (*DB, error) {
	cpath, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	f := flagBits(flags)
	var p *C.hamdb_db
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := C.hamdb_db_create(cpath, C.size_t(codeBits), bytesPtr(fingerprint), C.size_t(len(fingerprint)), f, &p)
	if err := lastError(rc); err != nil {
		return nil, err
	}
	return newDB(p), nil
}

// CreateOptions are CreateWith's options; the zero value is Create's defaults.
type CreateOptions struct {
	// ExpectedRadius, read when HasExpectedRadius is true, is the Hamming radius searches are
	// expected to use (at most codeBits, else ErrInvalidParameter): the multi-index tables are
	// cut for it and it is recorded in the file.
	ExpectedRadius    uint32
	HasExpectedRadius bool
}

// CreateWith is Create with options.
func CreateWith(path string, codeBits int, fingerprint []byte, opts CreateOptions, flags ...OpenFlag) (*DB, error) {
	cpath, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	f := flagBits(flags)
	copts := C.hamdb_create_options{
		expected_radius:     C.uint32_t(opts.ExpectedRadius),
		has_expected_radius: C.bool(opts.HasExpectedRadius),
	}
	var p *C.hamdb_db
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := C.hamdb_db_create_with_options(cpath, C.size_t(codeBits), bytesPtr(fingerprint), C.size_t(len(fingerprint)), &copts, f, &p)
	if err := lastError(rc); err != nil {
		return nil, err
	}
	return newDB(p), nil
}

// Open opens an existing database for reading and writing (ErrLocked if another writer has
// it), or read-only with the ReadOnly flag.
func Open(path string, flags ...OpenFlag) (*DB, error) {
	return OpenWith(path, OpenOptions{}, flags...)
}

// flagBits is the C flags word of flags.
func flagBits(flags []OpenFlag) C.uint32_t {
	var f C.uint32_t
	for _, x := range flags {
		f |= C.uint32_t(x)
	}
	return f
}

// OpenOptions are OpenWith's options; the zero value is Open's defaults.
type OpenOptions struct {
	// LockWait, read when HasLockWait is true, is how long a read-write open retries while
	// another handle or process holds the write lock before it fails with ErrLocked (0: fail
	// at once; whole milliseconds, at most about 49 days). Unset: 200 ms, the window in which a
	// child process forked by another thread still shares a just-closed handle's lock.
	// Read-only opens take no lock and ignore it.
	LockWait    time.Duration
	HasLockWait bool
}

// OpenWith is Open with options.
func OpenWith(path string, opts OpenOptions, flags ...OpenFlag) (*DB, error) {
	if opts.HasLockWait && (opts.LockWait < 0 || opts.LockWait.Milliseconds() > math.MaxUint32) {
		return nil, &Error{Status: StatusInvalidParameter,
			Message: fmt.Sprintf("LockWait %v is not in 0..%d ms", opts.LockWait, uint32(math.MaxUint32))}
	}
	cpath, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	f := flagBits(flags)
	copts := C.hamdb_open_options{
		lock_wait_ms:  C.uint32_t(opts.LockWait.Milliseconds()),
		has_lock_wait: C.bool(opts.HasLockWait),
	}
	var p *C.hamdb_db
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := lastError(C.hamdb_db_open_with_options(cpath, &copts, f, &p)); err != nil {
		return nil, err
	}
	return newDB(p), nil
}

// Verify checks every checksum and invariant of the database file at path.
func Verify(path string) (VerifyReport, error) {
	cpath, err := cString("path", path)
	if err != nil {
		return VerifyReport{}, err
	}
	defer C.free(unsafe.Pointer(cpath))
	var r C.hamdb_verify_report
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := lastError(C.hamdb_verify(cpath, &r)); err != nil {
		return VerifyReport{}, err
	}
	return VerifyReport{uint64(r.txn), uint64(r.segments), uint64(r.items), uint64(r.delta_batches)}, nil
}

// Close closes the database and frees its handle. It waits for calls in flight, is idempotent,
// and later calls return ErrClosed. Snapshots taken earlier stay usable. Close on a nil *DB
// (what a failed Create or Open returns) does nothing and returns nil.
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.p != nil {
		C.hamdb_db_free(db.p)
		db.p = nil
		runtime.SetFinalizer(db, nil)
	}
	return nil
}

// enter locks the handle for one call and pins the goroutine to its OS thread (so the error
// message is read on the thread of the failing call). The returned function undoes both.
func (db *DB) enter() (*C.hamdb_db, func(), error) {
	if db == nil {
		return nil, nil, &Error{Status: StatusNullArgument, Message: "nil *DB"}
	}
	db.mu.RLock()
	if db.p == nil {
		db.mu.RUnlock()
		return nil, nil, &Error{Status: StatusClosed, Message: "the database is closed"}
	}
	runtime.LockOSThread()
	return db.p, db.leave, nil
}

func (db *DB) leave() {
	runtime.UnlockOSThread()
	db.mu.RUnlock()
}

// CodeBits is the database's code length in bits.
func (db *DB) CodeBits() (int, error) {
	p, leave, err := db.enter()
	if err != nil {
		return 0, err
	}
	defer leave()
	var n C.size_t
	if err := lastError(C.hamdb_db_code_bits(p, &n)); err != nil {
		return 0, err
	}
	return int(n), nil
}

// ExpectedRadius returns the radius the database was created for and true, or false when
// none was set.
func (db *DB) ExpectedRadius() (uint32, bool, error) {
	p, leave, err := db.enter()
	if err != nil {
		return 0, false, err
	}
	defer leave()
	var r C.uint32_t
	rc := C.hamdb_db_expected_radius(p, &r)
	if rc == C.HAMDB_NOT_FOUND {
		return 0, false, nil
	}
	if err := lastError(rc); err != nil {
		return 0, false, err
	}
	return uint32(r), true, nil
}

// Stats returns the counts of the latest commit.
func (db *DB) Stats() (Stats, error) {
	p, leave, err := db.enter()
	if err != nil {
		return Stats{}, err
	}
	defer leave()
	var s C.hamdb_stats
	if err := lastError(C.hamdb_db_stats(p, &s)); err != nil {
		return Stats{}, err
	}
	return Stats{int(s.code_bits), uint64(s.txn), uint64(s.items), uint64(s.segments),
		uint64(s.segment_items), uint64(s.delta_items), uint64(s.deleted_in_segments),
		uint64(s.file_bytes)}, nil
}

// Commit applies the batch atomically and durably. On success the batch is emptied; on
// failure it is left as it was.
func (db *DB) Commit(b *Batch) (CommitInfo, error) {
	p, leave, err := db.enter()
	if err != nil {
		return CommitInfo{}, err
	}
	defer leave()
	if b == nil {
		return CommitInfo{}, &Error{Status: StatusNullArgument, Message: "nil batch"}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p == nil {
		return CommitInfo{}, &Error{Status: StatusNullArgument, Message: "the batch is closed"}
	}
	var info C.hamdb_commit_info
	if err := lastError(C.hamdb_db_commit(p, b.p, &info)); err != nil {
		return CommitInfo{}, err
	}
	out := CommitInfo{Txn: uint64(info.txn), AssignedIDs: b.assignedLocked()}
	if info.maintenance_status != C.HAMDB_OK {
		out.Maintenance = Status(info.maintenance_status)
	}
	return out, nil
}

// Insert stores one item with a caller-chosen id (ErrDuplicateID if it exists), committed.
func (db *DB) Insert(id uint64, code []byte, label uint32, payload []byte) error {
	b := NewBatch()
	defer b.Close()
	if err := b.Insert(id, code, label, payload); err != nil {
		return err
	}
	_, err := db.Commit(b)
	return err
}

// InsertAuto stores one item under a new id, committed, and returns the id (NoID with an
// error).
func (db *DB) InsertAuto(code []byte, label uint32, payload []byte) (uint64, error) {
	b := NewBatch()
	defer b.Close()
	if err := b.InsertAuto(code, label, payload); err != nil {
		return NoID, err
	}
	info, err := db.Commit(b)
	if err != nil {
		return NoID, err
	}
	return info.AssignedIDs[0], nil
}

// Delete removes the items with these ids (absent ids are ignored), committed together.
func (db *DB) Delete(ids ...uint64) error {
	b := NewBatch()
	defer b.Close()
	for _, id := range ids {
		if err := b.Delete(id); err != nil {
			return err
		}
	}
	_, err := db.Commit(b)
	return err
}

// Flush moves the delta into a new segment (one commit).
func (db *DB) Flush() error {
	p, leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	return lastError(C.hamdb_db_flush(p))
}

// Compact rewrites the database with one segment of the live items.
func (db *DB) Compact() error {
	p, leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	return lastError(C.hamdb_db_compact(p))
}

// Refresh picks up commits made by other handles or processes; it reports whether anything
// changed.
func (db *DB) Refresh() (bool, error) {
	p, leave, err := db.enter()
	if err != nil {
		return false, err
	}
	defer leave()
	var changed C.bool
	if err := lastError(C.hamdb_db_refresh(p, &changed)); err != nil {
		return false, err
	}
	return bool(changed), nil
}

// Import adds packed codes (a whole number of codes) as one new segment in one commit. ids and
// labels are nil or have one entry per code; without ids, consecutive new ids are assigned.
func (db *DB) Import(codes []byte, ids []uint64, labels []uint32) (CommitInfo, error) {
	p, leave, err := db.enter()
	if err != nil {
		return CommitInfo{}, err
	}
	defer leave()
	bits := C.size_t(0)
	if err := lastError(C.hamdb_db_code_bits(p, &bits)); err != nil {
		return CommitInfo{}, err
	}
	n := 0
	if bits > 0 {
		n = len(codes) / int(bits/8)
	}
	var idp *C.uint64_t
	var lp *C.uint32_t
	if ids != nil {
		if len(ids) != n {
			return CommitInfo{}, &Error{Status: StatusInvalidParameter, Message: "ids: one per code"}
		}
		if n > 0 {
			idp = (*C.uint64_t)(unsafe.Pointer(&ids[0]))
		}
	}
	if labels != nil {
		if len(labels) != n {
			return CommitInfo{}, &Error{Status: StatusInvalidParameter, Message: "labels: one per code"}
		}
		if n > 0 {
			lp = (*C.uint32_t)(unsafe.Pointer(&labels[0]))
		}
	}
	var info C.hamdb_commit_info
	rc := C.hamdb_db_import(p, bytesPtr(codes), C.size_t(len(codes)), idp, lp, nil, nil, &info)
	if err := lastError(rc); err != nil {
		return CommitInfo{}, err
	}
	out := CommitInfo{Txn: uint64(info.txn)}
	for i := uint64(0); i < uint64(info.assigned_count); i++ {
		out.AssignedIDs = append(out.AssignedIDs, uint64(info.first_assigned_id)+i)
	}
	return out, nil
}

// hitsOf converts copied hits, with one allocation for all payloads.
func hitsOf(raw []C.hamdb_hit) []Hit {
	total := 0
	for _, h := range raw {
		total += int(h.payload_len)
	}
	buf := make([]byte, total)
	hits := make([]Hit, len(raw))
	off := 0
	for i, h := range raw {
		hits[i] = Hit{ID: uint64(h.id), Distance: uint32(h.distance), Label: uint32(h.label)}
		if n := int(h.payload_len); n > 0 {
			copy(buf[off:], unsafe.Slice((*byte)(unsafe.Pointer(h.payload)), n))
			hits[i].Payload = buf[off : off+n : off+n]
			off += n
		}
	}
	return hits
}

// resultsToHits copies a results object out and frees it.
func resultsToHits(r *C.hamdb_results) ([]Hit, error) {
	defer C.hamdb_results_free(r)
	n := int(C.hamdb_results_len(r))
	if n == 0 {
		return []Hit{}, nil
	}
	raw := make([]C.hamdb_hit, n)
	var got C.size_t
	if err := lastError(C.hamdb_results_copy(r, &raw[0], C.size_t(n), &got)); err != nil {
		return nil, err
	}
	return hitsOf(raw), nil
}

// knnFastMax bounds the k for which k-NN copies its hits in the same C call as the search
// (the hit array is allocated for k up front).
const knnFastMax = 1024

// knn runs a k-NN on a database or a snapshot. The caller holds the handle's lock and the OS
// thread.
func knn(db *C.hamdb_db, snap *C.hamdb_snapshot, code []byte, k int, class uint32) ([]Hit, error) {
	if k < 0 {
		return nil, &Error{Status: StatusInvalidParameter, Message: "k < 0"}
	}
	if k == 0 || k > knnFastMax {
		var r *C.hamdb_results
		var rc C.int
		if db != nil {
			rc = C.hamdb_db_search(db, bytesPtr(code), C.size_t(len(code)), C.size_t(k), C.uint32_t(class), &r)
		} else {
			rc = C.hamdb_snapshot_search(snap, bytesPtr(code), C.size_t(len(code)), C.size_t(k), C.uint32_t(class), &r)
		}
		if err := lastError(rc); err != nil {
			return nil, err
		}
		return resultsToHits(r)
	}
	raw := make([]C.hamdb_hit, k)
	var n C.size_t
	var r *C.hamdb_results
	rc := C.hamdb_go_knn(db, snap, bytesPtr(code), C.size_t(len(code)), C.size_t(k), C.uint32_t(class), &raw[0], &n, &r)
	if err := lastError(rc); err != nil {
		return nil, err
	}
	hits := hitsOf(raw[:n])
	C.hamdb_results_free(r)
	return hits, nil
}

// Search returns the k nearest live items to code, ascending by (distance, id), exact; class
// keeps only items with that label (AnyClass for all).
func (db *DB) Search(code []byte, k int, class uint32) ([]Hit, error) {
	p, leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	return knn(p, nil, code, k, class)
}

// SearchRadius returns every live item within Hamming distance radius of code.
func (db *DB) SearchRadius(code []byte, radius int, class uint32) ([]Hit, error) {
	p, leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if radius < 0 {
		return nil, &Error{Status: StatusInvalidParameter, Message: "radius < 0"}
	}
	var r *C.hamdb_results
	rc := C.hamdb_db_search_radius(p, bytesPtr(code), C.size_t(len(code)), C.uint32_t(radius), C.uint32_t(class), &r)
	if err := lastError(rc); err != nil {
		return nil, err
	}
	return resultsToHits(r)
}

// SearchNeighbors is Search without payloads, into dst's storage when it has room for the
// hits (one C call, no allocation when dst is reused). Any k works: the hits are at most the
// database's live items, and no more room than that is allocated.
func (db *DB) SearchNeighbors(dst []Neighbor, code []byte, k int, class uint32) ([]Neighbor, error) {
	p, leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if k < 0 {
		return nil, &Error{Status: StatusInvalidParameter, Message: "k < 0"}
	}
	if k <= cap(dst) || k <= knnFastMax {
		if cap(dst) < k {
			dst = make([]Neighbor, k)
		}
		return neighborsInto(p, nil, dst[:k], code, k, class)
	}
	// A k larger than dst and knnFastMax: search one snapshot, with room for its live items.
	var s *C.hamdb_snapshot
	if err := lastError(C.hamdb_db_snapshot(p, &s)); err != nil {
		return nil, err
	}
	defer C.hamdb_snapshot_free(s)
	return snapshotNeighbors(s, dst, code, k, class)
}

// snapshotNeighbors is k-NN without payloads on a snapshot, into dst (or a new slice) with
// room for min(k, the snapshot's live items). The caller holds the OS thread.
func snapshotNeighbors(s *C.hamdb_snapshot, dst []Neighbor, code []byte, k int, class uint32) ([]Neighbor, error) {
	var items C.uint64_t
	if err := lastError(C.hamdb_snapshot_len(s, &items)); err != nil {
		return nil, err
	}
	room := k
	if uint64(items) < uint64(k) {
		room = int(items)
	}
	if cap(dst) < room {
		dst = make([]Neighbor, room)
	}
	return neighborsInto(nil, s, dst[:room], code, k, class)
}

// neighborsInto runs hamdb_db_search_into or hamdb_snapshot_search_into into dst (capacity
// len(dst)). The caller holds the handle's lock and the OS thread.
func neighborsInto(db *C.hamdb_db, snap *C.hamdb_snapshot, dst []Neighbor, code []byte, k int, class uint32) ([]Neighbor, error) {
	var n C.size_t
	var out *C.hamdb_neighbor
	if len(dst) > 0 {
		out = (*C.hamdb_neighbor)(unsafe.Pointer(&dst[0]))
	}
	var rc C.int
	if db != nil {
		rc = C.hamdb_db_search_into(db, bytesPtr(code), C.size_t(len(code)), C.size_t(k), C.uint32_t(class), out, C.size_t(len(dst)), &n)
	} else {
		rc = C.hamdb_snapshot_search_into(snap, bytesPtr(code), C.size_t(len(code)), C.size_t(k), C.uint32_t(class), out, C.size_t(len(dst)), &n)
	}
	if err := lastError(rc); err != nil {
		return nil, err
	}
	return dst[:n], nil
}

// Get returns the live item with this id; found is false if there is none.
func (db *DB) Get(id uint64) (item Item, found bool, err error) {
	p, leave, err := db.enter()
	if err != nil {
		return Item{}, false, err
	}
	defer leave()
	var it *C.hamdb_item
	rc := C.hamdb_db_get(p, C.uint64_t(id), &it)
	if rc == C.HAMDB_NOT_FOUND {
		return Item{}, false, nil
	}
	if err := lastError(rc); err != nil {
		return Item{}, false, err
	}
	return itemOf(it)
}

func itemOf(it *C.hamdb_item) (Item, bool, error) {
	defer C.hamdb_item_free(it)
	var f C.hamdb_item_fields
	if err := lastError(C.hamdb_item_view(it, &f)); err != nil {
		return Item{}, false, err
	}
	var all *C.uint8_t
	var n C.size_t
	if err := lastError(C.hamdb_item_codes(it, &all, &n)); err != nil {
		return Item{}, false, err
	}
	// One copy of every code; each code a capacity-limited window of it.
	cl := int(f.code_len)
	buf := C.GoBytes(unsafe.Pointer(all), C.int(int(n)*cl))
	item := Item{ID: uint64(f.id), Label: uint32(f.label), Codes: make([][]byte, int(n))}
	for i := range item.Codes {
		item.Codes[i] = buf[i*cl : (i+1)*cl : (i+1)*cl]
	}
	item.Code = item.Codes[0]
	if f.payload_len > 0 {
		item.Payload = C.GoBytes(unsafe.Pointer(f.payload), C.int(f.payload_len))
	}
	return item, true, nil
}

// Snapshot returns a consistent view of the latest commit, for any number of goroutines. It
// stays valid after later commits and after Close; close it to release the file mapping.
func (db *DB) Snapshot() (*Snapshot, error) {
	p, leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	var s *C.hamdb_snapshot
	if err := lastError(C.hamdb_db_snapshot(p, &s)); err != nil {
		return nil, err
	}
	snap := &Snapshot{p: s}
	runtime.SetFinalizer(snap, (*Snapshot).Close)
	return snap, nil
}

// Snapshot is a consistent, immutable view of one commit.
type Snapshot struct {
	mu sync.RWMutex
	p  *C.hamdb_snapshot
}

func (s *Snapshot) enter() (*C.hamdb_snapshot, func(), error) {
	if s == nil {
		return nil, nil, &Error{Status: StatusNullArgument, Message: "nil *Snapshot"}
	}
	s.mu.RLock()
	if s.p == nil {
		s.mu.RUnlock()
		return nil, nil, &Error{Status: StatusClosed, Message: "the snapshot is closed"}
	}
	runtime.LockOSThread()
	return s.p, func() { runtime.UnlockOSThread(); s.mu.RUnlock() }, nil
}

// Close frees the snapshot; idempotent; nil for a nil *Snapshot.
func (s *Snapshot) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		C.hamdb_snapshot_free(s.p)
		s.p = nil
		runtime.SetFinalizer(s, nil)
	}
	return nil
}

// Txn is the transaction number of the snapshot's commit.
func (s *Snapshot) Txn() (uint64, error) {
	p, leave, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer leave()
	var t C.uint64_t
	if err := lastError(C.hamdb_snapshot_txn(p, &t)); err != nil {
		return 0, err
	}
	return uint64(t), nil
}

// Len is the number of live items in the snapshot.
func (s *Snapshot) Len() (uint64, error) {
	p, leave, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer leave()
	var n C.uint64_t
	if err := lastError(C.hamdb_snapshot_len(p, &n)); err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// Search is DB.Search on the snapshot.
func (s *Snapshot) Search(code []byte, k int, class uint32) ([]Hit, error) {
	p, leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	return knn(nil, p, code, k, class)
}

// SearchNeighbors is DB.SearchNeighbors on the snapshot.
func (s *Snapshot) SearchNeighbors(dst []Neighbor, code []byte, k int, class uint32) ([]Neighbor, error) {
	p, leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if k < 0 {
		return nil, &Error{Status: StatusInvalidParameter, Message: "k < 0"}
	}
	return snapshotNeighbors(p, dst, code, k, class)
}

// SearchRadius is DB.SearchRadius on the snapshot.
func (s *Snapshot) SearchRadius(code []byte, radius int, class uint32) ([]Hit, error) {
	p, leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if radius < 0 {
		return nil, &Error{Status: StatusInvalidParameter, Message: "radius < 0"}
	}
	var r *C.hamdb_results
	rc := C.hamdb_snapshot_search_radius(p, bytesPtr(code), C.size_t(len(code)), C.uint32_t(radius), C.uint32_t(class), &r)
	if err := lastError(rc); err != nil {
		return nil, err
	}
	return resultsToHits(r)
}

// packCodes packs the codes of one item or one query set one after another, for the C calls
// that take (codes, length, count). Codes of different lengths are refused here
// (ErrInvalidParameter): the packed form cannot tell them apart.
func packCodes(codes [][]byte) ([]byte, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	n := len(codes[0])
	buf := make([]byte, 0, n*len(codes))
	for i, c := range codes {
		if len(c) != n {
			return nil, &Error{Status: StatusInvalidParameter,
				Message: fmt.Sprintf("codes: code %d is %d bytes, code 0 is %d bytes", i, len(c), n)}
		}
		buf = append(buf, c...)
	}
	return buf, nil
}

// setSearch runs a search by a query of several codes on a database or a snapshot. The
// caller holds the handle's lock and the OS thread.
func setSearch(db *C.hamdb_db, snap *C.hamdb_snapshot, codes [][]byte, knn bool, kr int, class uint32) ([]Hit, error) {
	if kr < 0 {
		what := "radius < 0"
		if knn {
			what = "k < 0"
		}
		return nil, &Error{Status: StatusInvalidParameter, Message: what}
	}
	q, err := packCodes(codes)
	if err != nil {
		return nil, err
	}
	var r *C.hamdb_results
	var rc C.int
	qp, ql, qn := bytesPtr(q), C.size_t(len(q)), C.size_t(len(codes))
	switch {
	case db != nil && knn:
		rc = C.hamdb_db_search_set(db, qp, ql, qn, C.size_t(kr), C.uint32_t(class), &r)
	case db != nil:
		rc = C.hamdb_db_search_radius_set(db, qp, ql, qn, C.uint32_t(kr), C.uint32_t(class), &r)
	case knn:
		rc = C.hamdb_snapshot_search_set(snap, qp, ql, qn, C.size_t(kr), C.uint32_t(class), &r)
	default:
		rc = C.hamdb_snapshot_search_radius_set(snap, qp, ql, qn, C.uint32_t(kr), C.uint32_t(class), &r)
	}
	if err := lastError(rc); err != nil {
		return nil, err
	}
	return resultsToHits(r)
}

// SearchSet returns the k nearest live items to a query of several codes (an image's
// variants, a clip's frames), each item once: its distance is the least over every (query
// code, item code) pair; ascending by (distance, id), exact. No codes, or codes of different
// lengths, is ErrInvalidParameter; a code length other than the database's is
// ErrCodeLengthMismatch. class as Search.
func (db *DB) SearchSet(codes [][]byte, k int, class uint32) ([]Hit, error) {
	p, leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	return setSearch(p, nil, codes, true, k, class)
}

// SearchRadiusSet returns every live item within Hamming distance radius of any code of the
// query, once, at its least distance. Arguments as SearchSet.
func (db *DB) SearchRadiusSet(codes [][]byte, radius int, class uint32) ([]Hit, error) {
	p, leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	return setSearch(p, nil, codes, false, radius, class)
}

// SearchSet is DB.SearchSet on the snapshot.
func (s *Snapshot) SearchSet(codes [][]byte, k int, class uint32) ([]Hit, error) {
	p, leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	return setSearch(nil, p, codes, true, k, class)
}

// SearchRadiusSet is DB.SearchRadiusSet on the snapshot.
func (s *Snapshot) SearchRadiusSet(codes [][]byte, radius int, class uint32) ([]Hit, error) {
	p, leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	return setSearch(nil, p, codes, false, radius, class)
}

// classFirstSearch runs one of the four class-first searches (db or snap set, k-NN or radius).
func classFirstSearch(db *C.hamdb_db, snap *C.hamdb_snapshot, code []byte, knn bool, kr int, class uint32) ([]Hit, error) {
	if kr < 0 {
		what := "radius < 0"
		if knn {
			what = "k < 0"
		}
		return nil, &Error{Status: StatusInvalidParameter, Message: what}
	}
	var r *C.hamdb_results
	var rc C.int
	cp, cl, cls := bytesPtr(code), C.size_t(len(code)), C.uint32_t(class)
	switch {
	case db != nil && knn:
		rc = C.hamdb_db_search_class_first(db, cp, cl, C.size_t(kr), cls, &r)
	case db != nil:
		rc = C.hamdb_db_search_radius_class_first(db, cp, cl, C.uint32_t(kr), cls, &r)
	case knn:
		rc = C.hamdb_snapshot_search_class_first(snap, cp, cl, C.size_t(kr), cls, &r)
	default:
		rc = C.hamdb_snapshot_search_radius_class_first(snap, cp, cl, C.uint32_t(kr), cls, &r)
	}
	if err := lastError(rc); err != nil {
		return nil, err
	}
	return resultsToHits(r)
}

// SearchClassFirst is class-aware ranking: the k nearest live items whose label is class
// first, then the nearest others (fewer than k of class are topped up), each group ascending
// by (distance, id), exact within each group. class is a label: AnyClass is
// ErrInvalidParameter.
func (db *DB) SearchClassFirst(code []byte, k int, class uint32) ([]Hit, error) {
	p, leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	return classFirstSearch(p, nil, code, true, k, class)
}

// SearchRadiusClassFirst returns every live item within Hamming distance radius of code,
// those whose label is class first, each group ascending by (distance, id).
func (db *DB) SearchRadiusClassFirst(code []byte, radius int, class uint32) ([]Hit, error) {
	p, leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	return classFirstSearch(p, nil, code, false, radius, class)
}

// SearchClassFirst is DB.SearchClassFirst on the snapshot.
func (s *Snapshot) SearchClassFirst(code []byte, k int, class uint32) ([]Hit, error) {
	p, leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	return classFirstSearch(nil, p, code, true, k, class)
}

// SearchRadiusClassFirst is DB.SearchRadiusClassFirst on the snapshot.
func (s *Snapshot) SearchRadiusClassFirst(code []byte, radius int, class uint32) ([]Hit, error) {
	p, leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	return classFirstSearch(nil, p, code, false, radius, class)
}

// manyArgs checks a batched search's Go arguments.
func manyArgs(n, threads int) error {
	if n < 0 {
		return &Error{Status: StatusInvalidParameter, Message: "n < 0"}
	}
	if threads < 0 {
		return &Error{Status: StatusInvalidParameter, Message: "threads < 0"}
	}
	return nil
}

// manyResults copies a batched search's results into Go memory (one slab; result i is a
// capacity-limited window of it) and frees them. The caller holds the OS thread.
func manyResults(rc C.int, m *C.hamdb_many_results) ([][]Neighbor, error) {
	defer C.hamdb_many_results_free(m)
	if err := lastError(rc); err != nil {
		return nil, err
	}
	var f C.hamdb_many_results_fields
	if err := lastError(C.hamdb_many_results_view(m, &f)); err != nil {
		return nil, err
	}
	nq := int(f.n_queries)
	lims := unsafe.Slice((*C.size_t)(unsafe.Pointer(f.lims)), nq+1)
	slab := make([]Neighbor, int(f.n_neighbors))
	if len(slab) > 0 {
		copy(slab, unsafe.Slice((*Neighbor)(unsafe.Pointer(f.neighbors)), len(slab)))
	}
	out := make([][]Neighbor, nq)
	for i := range out {
		lo, hi := int(lims[i]), int(lims[i+1])
		out[i] = slab[lo:hi:hi]
	}
	return out, nil
}

// SearchMany is a batched SearchNeighbors: codes holds n query codes packed one after
// another (len(codes) must be n times the code length in bytes, else ErrCodeLengthMismatch),
// and result i equals SearchNeighbors for query i. threads: 0 = automatic (up to one per core,
// shared with the process's other batched searches), n = exactly n (at most 256, else
// ErrInvalidParameter).
func (db *DB) SearchMany(codes []byte, n, k int, class uint32, threads int) ([][]Neighbor, error) {
	p, leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if k < 0 {
		return nil, &Error{Status: StatusInvalidParameter, Message: "k < 0"}
	}
	if err := manyArgs(n, threads); err != nil {
		return nil, err
	}
	var m *C.hamdb_many_results
	rc := C.hamdb_db_search_many(p, bytesPtr(codes), C.size_t(len(codes)), C.size_t(n), C.size_t(k), C.uint32_t(class), C.size_t(threads), &m)
	return manyResults(rc, m)
}

// SearchRadiusMany is a batched SearchRadius (without payloads); arguments as SearchMany.
func (db *DB) SearchRadiusMany(codes []byte, n, radius int, class uint32, threads int) ([][]Neighbor, error) {
	p, leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if radius < 0 {
		return nil, &Error{Status: StatusInvalidParameter, Message: "radius < 0"}
	}
	if err := manyArgs(n, threads); err != nil {
		return nil, err
	}
	var m *C.hamdb_many_results
	rc := C.hamdb_db_search_radius_many(p, bytesPtr(codes), C.size_t(len(codes)), C.size_t(n), C.uint32_t(radius), C.uint32_t(class), C.size_t(threads), &m)
	return manyResults(rc, m)
}

// SearchMany is DB.SearchMany on the snapshot.
func (s *Snapshot) SearchMany(codes []byte, n, k int, class uint32, threads int) ([][]Neighbor, error) {
	p, leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if k < 0 {
		return nil, &Error{Status: StatusInvalidParameter, Message: "k < 0"}
	}
	if err := manyArgs(n, threads); err != nil {
		return nil, err
	}
	var m *C.hamdb_many_results
	rc := C.hamdb_snapshot_search_many(p, bytesPtr(codes), C.size_t(len(codes)), C.size_t(n), C.size_t(k), C.uint32_t(class), C.size_t(threads), &m)
	return manyResults(rc, m)
}

// SearchRadiusMany is DB.SearchRadiusMany on the snapshot.
func (s *Snapshot) SearchRadiusMany(codes []byte, n, radius int, class uint32, threads int) ([][]Neighbor, error) {
	p, leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if radius < 0 {
		return nil, &Error{Status: StatusInvalidParameter, Message: "radius < 0"}
	}
	if err := manyArgs(n, threads); err != nil {
		return nil, err
	}
	var m *C.hamdb_many_results
	rc := C.hamdb_snapshot_search_radius_many(p, bytesPtr(codes), C.size_t(len(codes)), C.size_t(n), C.uint32_t(radius), C.uint32_t(class), C.size_t(threads), &m)
	return manyResults(rc, m)
}

// Get is DB.Get on the snapshot.
func (s *Snapshot) Get(id uint64) (Item, bool, error) {
	p, leave, err := s.enter()
	if err != nil {
		return Item{}, false, err
	}
	defer leave()
	var it *C.hamdb_item
	rc := C.hamdb_snapshot_get(p, C.uint64_t(id), &it)
	if rc == C.HAMDB_NOT_FOUND {
		return Item{}, false, nil
	}
	if err := lastError(rc); err != nil {
		return Item{}, false, err
	}
	return itemOf(it)
}

// Batch collects writes that Commit applies atomically. Safe for concurrent use (a mutex).
type Batch struct {
	mu sync.Mutex
	p  *C.hamdb_batch
}

// NewBatch returns an empty batch; Close frees it (a finalizer does if the caller forgets).
func NewBatch() *Batch {
	var p *C.hamdb_batch
	if rc := C.hamdb_batch_new(&p); rc != C.HAMDB_OK {
		panic("hamdb_batch_new failed: " + Status(rc).Error())
	}
	b := &Batch{p: p}
	runtime.SetFinalizer(b, (*Batch).Close)
	return b
}

// Close frees the batch; idempotent; nil for a nil *Batch.
func (b *Batch) Close() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p != nil {
		C.hamdb_batch_free(b.p)
		b.p = nil
		runtime.SetFinalizer(b, nil)
	}
	return nil
}

func (b *Batch) enter() (*C.hamdb_batch, func(), error) {
	if b == nil {
		return nil, nil, &Error{Status: StatusNullArgument, Message: "nil *Batch"}
	}
	b.mu.Lock()
	if b.p == nil {
		b.mu.Unlock()
		return nil, nil, &Error{Status: StatusClosed, Message: "the batch is closed"}
	}
	runtime.LockOSThread()
	return b.p, func() { runtime.UnlockOSThread(); b.mu.Unlock() }, nil
}

// Insert adds an insert with a caller-chosen id. label is a class or NoLabel.
func (b *Batch) Insert(id uint64, code []byte, label uint32, payload []byte) error {
	p, leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	return lastError(C.hamdb_batch_insert(p, C.uint64_t(id), bytesPtr(code), C.size_t(len(code)),
		C.uint32_t(label), bytesPtr(payload), C.size_t(len(payload))))
}

// InsertAuto adds an insert whose id the commit assigns (CommitInfo.AssignedIDs).
func (b *Batch) InsertAuto(code []byte, label uint32, payload []byte) error {
	p, leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	return lastError(C.hamdb_batch_insert_auto(p, bytesPtr(code), C.size_t(len(code)),
		C.uint32_t(label), bytesPtr(payload), C.size_t(len(payload))))
}

// Upsert adds an insert that replaces the item with this id if there is one.
func (b *Batch) Upsert(id uint64, code []byte, label uint32, payload []byte) error {
	p, leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	return lastError(C.hamdb_batch_upsert(p, C.uint64_t(id), bytesPtr(code), C.size_t(len(code)),
		C.uint32_t(label), bytesPtr(payload), C.size_t(len(payload))))
}

// InsertCodes adds an insert, with a caller-chosen id, of an item of several codes (1 to
// MaxCodesPerItem, of one length): every search returns it once, at its least distance over
// its codes. No codes, too many, or codes of different lengths is ErrInvalidParameter; a code
// length other than the database's fails at Commit (ErrCodeLengthMismatch), as does an item
// of several codes in a file older than format 4 (ErrInvalidParameter: compact it first).
func (b *Batch) InsertCodes(id uint64, codes [][]byte, label uint32, payload []byte) error {
	p, leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	packed, err := packCodes(codes)
	if err != nil {
		return err
	}
	return lastError(C.hamdb_batch_insert_codes(p, C.uint64_t(id), bytesPtr(packed), C.size_t(len(packed)),
		C.size_t(len(codes)), C.uint32_t(label), bytesPtr(payload), C.size_t(len(payload))))
}

// InsertAutoCodes is InsertCodes with an id the commit assigns (CommitInfo.AssignedIDs).
func (b *Batch) InsertAutoCodes(codes [][]byte, label uint32, payload []byte) error {
	p, leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	packed, err := packCodes(codes)
	if err != nil {
		return err
	}
	return lastError(C.hamdb_batch_insert_auto_codes(p, bytesPtr(packed), C.size_t(len(packed)),
		C.size_t(len(codes)), C.uint32_t(label), bytesPtr(payload), C.size_t(len(payload))))
}

// UpsertCodes is InsertCodes that replaces the item with this id if there is one.
func (b *Batch) UpsertCodes(id uint64, codes [][]byte, label uint32, payload []byte) error {
	p, leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	packed, err := packCodes(codes)
	if err != nil {
		return err
	}
	return lastError(C.hamdb_batch_upsert_codes(p, C.uint64_t(id), bytesPtr(packed), C.size_t(len(packed)),
		C.size_t(len(codes)), C.uint32_t(label), bytesPtr(payload), C.size_t(len(payload))))
}

// Delete adds a delete by id.
func (b *Batch) Delete(id uint64) error {
	p, leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	return lastError(C.hamdb_batch_delete(p, C.uint64_t(id)))
}

// Len is the number of writes in the batch.
func (b *Batch) Len() int {
	p, leave, err := b.enter()
	if err != nil {
		return 0
	}
	defer leave()
	return int(C.hamdb_batch_len(p))
}

// Clear drops every write in the batch.
func (b *Batch) Clear() error {
	p, leave, err := b.enter()
	if err != nil {
		return err
	}
	defer leave()
	return lastError(C.hamdb_batch_clear(p))
}

func (b *Batch) assignedLocked() []uint64 {
	var ids *C.uint64_t
	var n C.size_t
	if C.hamdb_batch_assigned_ids(b.p, &ids, &n) != C.HAMDB_OK || n == 0 {
		return nil
	}
	out := make([]uint64, int(n))
	copy(out, unsafe.Slice((*uint64)(unsafe.Pointer(ids)), int(n)))
	return out
}
