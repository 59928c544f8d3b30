package hamdb

// #include <stdlib.h>
// #include <hamdb.h>
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Encoder is a loaded ONNX image encoder: one forward pass gives an image's code and class.
// Loading needs ONNX Runtime (EncoderOptions.RuntimePath, the ORT_DYLIB_PATH environment
// variable, or the onnxruntime Python package). Safe for concurrent use.
type Encoder struct {
	mu sync.RWMutex
	p  *C.hamdb_encoder
}

// EncoderOptions tune LoadEncoder; the zero value takes the defaults.
type EncoderOptions struct {
	RuntimePath  string // libonnxruntime.so to load ("" searches)
	IntraThreads int    // threads inside one forward pass (0: one per core)
	MaxPixels    uint64 // larger images are refused before decoding (0: default)
}

// Prediction is an image's predicted class and its softmax probability.
type Prediction struct {
	Class       uint32
	Probability float32
}

// IngestItem is one input image's outcome: Err is nil and ID its new id, or Err says why it
// was not inserted (errors.Is(item.Err, hamdb.ErrImage), ...) and ID is NoID.
type IngestItem struct {
	ID  uint64
	Err error
}

// IngestReport is the outcome of an image insert, one item per input in input order.
type IngestReport struct {
	Items    []IngestItem
	Inserted uint64
	Failed   uint64
	Txn      uint64
}

// ImageResult is the answer to a search by image: the query's predicted class and the hits.
type ImageResult struct {
	Prediction Prediction
	Hits       []Hit
}

// Status codes of the image calls.
const (
	StatusRuntime       Status = C.HAMDB_RUNTIME
	StatusModelContract Status = C.HAMDB_MODEL_CONTRACT
	StatusInference     Status = C.HAMDB_INFERENCE
	StatusImage         Status = C.HAMDB_IMAGE
	StatusImageTooLarge Status = C.HAMDB_IMAGE_TOO_LARGE
	StatusNoEncoder     Status = C.HAMDB_NO_ENCODER
)

// Sentinel errors of the image calls.
var (
	ErrRuntime       error = StatusRuntime
	ErrModelContract error = StatusModelContract
	ErrInference     error = StatusInference
	ErrImage         error = StatusImage
	ErrImageTooLarge error = StatusImageTooLarge
	ErrNoEncoder     error = StatusNoEncoder
)

// LoadEncoder loads the ONNX model at path and checks it against the encoder contract.
func LoadEncoder(path string, opts *EncoderOptions) (*Encoder, error) {
	cpath, err := cString("model path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	var o C.hamdb_encoder_options
	if opts != nil {
		if opts.RuntimePath != "" {
			rp, err := cString("runtime path", opts.RuntimePath)
			if err != nil {
				return nil, err
			}
			defer C.free(unsafe.Pointer(rp))
			o.runtime_path = rp
		}
		o.intra_threads = C.size_t(opts.IntraThreads)
		o.max_pixels = C.uint64_t(opts.MaxPixels)
	}
	var p *C.hamdb_encoder
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := lastError(C.hamdb_encoder_load(cpath, &o, &p)); err != nil {
		return nil, err
	}
	e := &Encoder{p: p}
	runtime.SetFinalizer(e, (*Encoder).Close)
	return e, nil
}

// Close frees the encoder; idempotent (waits for calls in flight); nil for a nil *Encoder.
func (e *Encoder) Close() error {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.p != nil {
		C.hamdb_encoder_free(e.p)
		e.p = nil
		runtime.SetFinalizer(e, nil)
	}
	return nil
}

func (e *Encoder) enter() (*C.hamdb_encoder, func(), error) {
	if e == nil {
		return nil, nil, &Error{Status: StatusNullArgument, Message: "nil encoder"}
	}
	e.mu.RLock()
	if e.p == nil {
		e.mu.RUnlock()
		return nil, nil, &Error{Status: StatusClosed, Message: "the encoder is closed"}
	}
	runtime.LockOSThread()
	return e.p, func() { runtime.UnlockOSThread(); e.mu.RUnlock() }, nil
}

// CodeBits is the length of the codes the encoder produces (K rounded up to a byte).
func (e *Encoder) CodeBits() (int, error) {
	p, leave, err := e.enter()
	if err != nil {
		return 0, err
	}
	defer leave()
	var n C.size_t
	if err := lastError(C.hamdb_encoder_code_bits(p, &n)); err != nil {
		return 0, err
	}
	return int(n), nil
}

// ClassNames lists the model's classes (Prediction.Class and stored labels index it).
func (e *Encoder) ClassNames() ([]string, error) {
	p, leave, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	var n C.size_t
	if err := lastError(C.hamdb_encoder_num_classes(p, &n)); err != nil {
		return nil, err
	}
	names := make([]string, int(n))
	for i := range names {
		var name *C.char
		if err := lastError(C.hamdb_encoder_class_name(p, C.uint32_t(i), &name)); err != nil {
			return nil, err
		}
		names[i] = C.GoString(name)
	}
	return names, nil
}

// Classify encodes one image (a file's bytes): its packed code and predicted class.
func (e *Encoder) Classify(image []byte) ([]byte, Prediction, error) {
	p, leave, err := e.enter()
	if err != nil {
		return nil, Prediction{}, err
	}
	defer leave()
	var bits C.size_t
	if err := lastError(C.hamdb_encoder_code_bits(p, &bits)); err != nil {
		return nil, Prediction{}, err
	}
	code := make([]byte, int(bits)/8)
	var pr C.hamdb_prediction
	rc := C.hamdb_encoder_classify(p, bytesPtr(image), C.size_t(len(image)), bytesPtr(code), C.size_t(len(code)), &pr)
	if err := lastError(rc); err != nil {
		return nil, Prediction{}, err
	}
	return code, Prediction{uint32(pr.class_id), float32(pr.probability)}, nil
}

// CreateForModel makes a new database for the codes of enc's model and opens it for writing.
func CreateForModel(path string, enc *Encoder, flags ...OpenFlag) (*DB, error) {
	ep, leave, err := enc.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	cpath, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	f := flagBits(flags)
	var p *C.hamdb_db
	if err := lastError(C.hamdb_db_create_for_model(cpath, ep, f, &p)); err != nil {
		return nil, err
	}
	return newDB(p), nil
}

func takeReport(r *C.hamdb_ingest_report) (IngestReport, error) {
	defer C.hamdb_ingest_report_free(r)
	var s C.hamdb_ingest_summary
	if err := lastError(C.hamdb_ingest_report_summary(r, &s)); err != nil {
		return IngestReport{}, err
	}
	out := IngestReport{Inserted: uint64(s.inserted), Failed: uint64(s.failed), Txn: uint64(s.txn),
		Items: make([]IngestItem, int(s.count))}
	for i := range out.Items {
		var it C.hamdb_ingest_item
		if err := lastError(C.hamdb_ingest_report_item(r, C.size_t(i), &it)); err != nil {
			return IngestReport{}, err
		}
		if it.status == C.HAMDB_OK {
			out.Items[i].ID = uint64(it.id)
		} else {
			out.Items[i].ID = NoID
			out.Items[i].Err = &Error{Status: Status(it.status), Message: C.GoString(it.message)}
		}
	}
	return out, nil
}

// InsertImages encodes and inserts image files: each path becomes the item's payload, its
// predicted class the item's label; ids are assigned in input order. An image that cannot be
// read or decoded fails alone (its IngestItem.Err); the call fails as a whole only for the
// wrong model, a write error, or a path with a NUL byte (ErrInvalidParameter, before anything
// is inserted).
func (db *DB) InsertImages(enc *Encoder, paths []string) (IngestReport, error) {
	ep, leaveEnc, err := enc.enter()
	if err != nil {
		return IngestReport{}, err
	}
	defer leaveEnc()
	p, leave, err := db.enter()
	if err != nil {
		return IngestReport{}, err
	}
	defer leave()
	cpaths := make([]*C.char, 0, len(paths)) // Go memory holding C pointers: allowed by cgo
	defer func() {
		for _, c := range cpaths {
			C.free(unsafe.Pointer(c))
		}
	}()
	for i, s := range paths {
		c, err := cString(fmt.Sprintf("paths[%d]", i), s)
		if err != nil {
			return IngestReport{}, err
		}
		cpaths = append(cpaths, c)
	}
	var arr **C.char
	if len(cpaths) > 0 {
		arr = &cpaths[0]
	}
	var r *C.hamdb_ingest_report
	if err := lastError(C.hamdb_db_insert_image_files(p, ep, arr, C.size_t(len(paths)), nil, &r)); err != nil {
		return IngestReport{}, err
	}
	return takeReport(r)
}

// InsertImageBytes encodes and inserts images held in memory; payloads is nil or has one
// entry per image.
func (db *DB) InsertImageBytes(enc *Encoder, images [][]byte, payloads [][]byte) (IngestReport, error) {
	if payloads != nil && len(payloads) != len(images) {
		return IngestReport{}, &Error{Status: StatusInvalidParameter, Message: "payloads: one per image"}
	}
	ep, leaveEnc, err := enc.enter()
	if err != nil {
		return IngestReport{}, err
	}
	defer leaveEnc()
	p, leave, err := db.enter()
	if err != nil {
		return IngestReport{}, err
	}
	defer leave()
	// Pointer arrays passed to C must not point into Go memory: copy into C memory.
	n := len(images)
	var cimgs, cpls []*C.uint8_t
	var ilens, plens []C.size_t
	defer func() {
		for _, c := range cimgs {
			C.free(unsafe.Pointer(c))
		}
		for _, c := range cpls {
			C.free(unsafe.Pointer(c))
		}
	}()
	for i := 0; i < n; i++ {
		cimgs = append(cimgs, (*C.uint8_t)(C.CBytes(images[i])))
		ilens = append(ilens, C.size_t(len(images[i])))
		if payloads != nil {
			cpls = append(cpls, (*C.uint8_t)(C.CBytes(payloads[i])))
			plens = append(plens, C.size_t(len(payloads[i])))
		}
	}
	var ip, pp **C.uint8_t
	var il, pl *C.size_t
	if n > 0 {
		ip, il = &cimgs[0], &ilens[0]
		if payloads != nil {
			pp, pl = &cpls[0], &plens[0]
		}
	}
	var r *C.hamdb_ingest_report
	if err := lastError(C.hamdb_db_insert_images(p, ep, ip, il, pp, pl, C.size_t(n), nil, &r)); err != nil {
		return IngestReport{}, err
	}
	return takeReport(r)
}

func imageResult(r *C.hamdb_results) (ImageResult, error) {
	var pr C.hamdb_prediction
	if err := lastError(C.hamdb_results_prediction(r, &pr)); err != nil {
		C.hamdb_results_free(r)
		return ImageResult{}, err
	}
	hits, err := resultsToHits(r)
	if err != nil {
		return ImageResult{}, err
	}
	return ImageResult{Prediction{uint32(pr.class_id), float32(pr.probability)}, hits}, nil
}

// Rank orders a search by image (HAMDB_RANK_*).
type Rank uint32

const (
	// RankDistance ranks by (Hamming distance, id).
	RankDistance Rank = C.HAMDB_RANK_DISTANCE
	// RankClassFirst puts the items whose label is the query's predicted class first, then
	// the others, each group by (distance, id); with a class filter, the filter decides.
	RankClassFirst Rank = C.HAMDB_RANK_CLASS_FIRST
)

// SearchImage encodes image (a file's bytes) with enc and returns the query's predicted class
// and its k nearest items; class keeps one class (AnyClass for all).
func (db *DB) SearchImage(enc *Encoder, image []byte, k int, class uint32) (ImageResult, error) {
	return db.SearchImageRanked(enc, image, k, class, RankDistance)
}

// SearchImageRadius is SearchImage for every item within Hamming distance radius.
func (db *DB) SearchImageRadius(enc *Encoder, image []byte, radius int, class uint32) (ImageResult, error) {
	return db.SearchImageRadiusRanked(enc, image, radius, class, RankDistance)
}

// SearchImageRanked is SearchImage ordered by rank: RankClassFirst returns the k nearest
// items of the query's predicted class first, then the nearest others (as SearchClassFirst
// with that class). A rank other than RankDistance and RankClassFirst is ErrInvalidParameter.
func (db *DB) SearchImageRanked(enc *Encoder, image []byte, k int, class uint32, rank Rank) (ImageResult, error) {
	ep, leaveEnc, err := enc.enter()
	if err != nil {
		return ImageResult{}, err
	}
	defer leaveEnc()
	p, leave, err := db.enter()
	if err != nil {
		return ImageResult{}, err
	}
	defer leave()
	if k < 0 {
		return ImageResult{}, &Error{Status: StatusInvalidParameter, Message: "k < 0"}
	}
	var r *C.hamdb_results
	rc := C.hamdb_db_search_image_ranked(p, ep, bytesPtr(image), C.size_t(len(image)), C.size_t(k), C.uint32_t(class), C.uint32_t(rank), &r)
	if err := lastError(rc); err != nil {
		return ImageResult{}, err
	}
	return imageResult(r)
}

// SearchImageRadiusRanked is SearchImageRadius ordered by rank: RankClassFirst returns every
// item within radius, those of the query's predicted class first.
func (db *DB) SearchImageRadiusRanked(enc *Encoder, image []byte, radius int, class uint32, rank Rank) (ImageResult, error) {
	ep, leaveEnc, err := enc.enter()
	if err != nil {
		return ImageResult{}, err
	}
	defer leaveEnc()
	p, leave, err := db.enter()
	if err != nil {
		return ImageResult{}, err
	}
	defer leave()
	if radius < 0 {
		return ImageResult{}, &Error{Status: StatusInvalidParameter, Message: "radius < 0"}
	}
	var r *C.hamdb_results
	rc := C.hamdb_db_search_image_radius_ranked(p, ep, bytesPtr(image), C.size_t(len(image)), C.uint32_t(radius), C.uint32_t(class), C.uint32_t(rank), &r)
	if err := lastError(rc); err != nil {
		return ImageResult{}, err
	}
	return imageResult(r)
}
