package hamdb

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func code32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

type fixture struct {
	db     *DB
	path   string
	values map[uint64]uint32
}

func newFixture(t testing.TB, n int) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.hamdb")
	db, err := Create(path, 32, []byte("go-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, path: path, values: map[uint64]uint32{}}
	rng := rand.New(rand.NewSource(1))
	b := NewBatch()
	defer b.Close()
	for id := uint64(0); id < uint64(n); id++ {
		v := rng.Uint32()
		f.values[id] = v
		if err := b.Insert(id, code32(v), uint32(id%4), []byte(fmt.Sprintf("p%d", id))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	return f
}

type distID struct {
	d  uint32
	id uint64
}

func (f *fixture) brute(q uint32, k int, class uint32) []distID {
	var all []distID
	for id, v := range f.values {
		if class == AnyClass || uint32(id%4) == class {
			all = append(all, distID{uint32(bits.OnesCount32(v ^ q)), id})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		return all[i].d < all[j].d || (all[i].d == all[j].d && all[i].id < all[j].id)
	})
	if k >= 0 && len(all) > k {
		all = all[:k]
	}
	return all
}

func TestVersion(t *testing.T) {
	if !ABICompatible() || Version() == "" {
		t.Fatal("ABI or version")
	}
}

func TestSearchMatchesBruteForce(t *testing.T) {
	f := newFixture(t, 300)
	rng := rand.New(rand.NewSource(2))
	var nb []Neighbor
	for i := 0; i < 60; i++ {
		q := rng.Uint32()
		k := 1 + i%12
		class := AnyClass
		if i%3 == 0 {
			class = uint32(i % 4)
		}
		want := f.brute(q, k, class)
		hits, err := f.db.Search(code32(q), k, class)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != len(want) {
			t.Fatalf("got %d hits, want %d", len(hits), len(want))
		}
		for j, h := range hits {
			if h.ID != want[j].id || h.Distance != want[j].d || h.Label != uint32(h.ID%4) ||
				string(h.Payload) != fmt.Sprintf("p%d", h.ID) {
				t.Fatalf("hit %d = %+v, want %+v", j, h, want[j])
			}
		}
		nb, err = f.db.SearchNeighbors(nb, code32(q), k, class)
		if err != nil || len(nb) != len(want) {
			t.Fatal(err, len(nb))
		}
		for j, n := range nb {
			if n.ID != want[j].id || n.Distance != want[j].d {
				t.Fatalf("neighbor %d = %+v, want %+v", j, n, want[j])
			}
		}
		r := i % 12
		rh, err := f.db.SearchRadius(code32(q), r, class)
		if err != nil {
			t.Fatal(err)
		}
		all := f.brute(q, -1, class)
		cnt := 0
		for _, w := range all {
			if w.d <= uint32(r) {
				cnt++
			}
		}
		if len(rh) != cnt {
			t.Fatalf("radius %d: %d hits, want %d", r, len(rh), cnt)
		}
	}
}

func TestWritesGetSnapshot(t *testing.T) {
	f := newFixture(t, 50)
	db := f.db
	snap, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	id, err := db.InsertAuto(code32(0xabcdef01), NoLabel, nil)
	if err != nil || id != 50 {
		t.Fatal(id, err)
	}
	if err := db.Insert(1000, code32(5), 2, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(3, 4, 99999); err != nil {
		t.Fatal(err)
	}
	b := NewBatch()
	defer b.Close()
	b.Upsert(1, code32(7), 3, []byte("up"))
	b.InsertAuto(code32(8), NoLabel, nil)
	b.InsertAuto(code32(9), NoLabel, nil)
	if b.Len() != 3 {
		t.Fatal(b.Len())
	}
	info, err := db.Commit(b)
	if err != nil || len(info.AssignedIDs) != 2 || info.AssignedIDs[1] != info.AssignedIDs[0]+1 || b.Len() != 0 {
		t.Fatal(info, err)
	}
	it, found, err := db.Get(1)
	if err != nil || !found || it.Label != 3 || string(it.Payload) != "up" || string(it.Code) != string(code32(7)) {
		t.Fatal(it, found, err)
	}
	if _, found, _ := db.Get(3); found {
		t.Fatal("deleted item found")
	}
	it, found, _ = db.Get(id)
	if !found || it.Label != NoLabel || it.Payload != nil {
		t.Fatal(it)
	}
	st, _ := db.Stats()
	if st.Items != 50+1+1-2+2 || st.CodeBits != 32 {
		t.Fatal(st)
	}
	// The snapshot still shows the first commit.
	if n, _ := snap.Len(); n != 50 {
		t.Fatal(n)
	}
	if _, found, _ := snap.Get(3); !found {
		t.Fatal("snapshot lost item 3")
	}
	hits, err := snap.Search(code32(f.values[7]), 1, AnyClass)
	if err != nil || hits[0].ID != 7 {
		t.Fatal(hits, err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Import(append(code32(1), code32(2)...), []uint64{5000, 5001}, []uint32{1, 1}); err != nil {
		t.Fatal(err)
	}
	ci, err := db.Import(code32(3), nil, nil)
	if err != nil || len(ci.AssignedIDs) != 1 {
		t.Fatal(ci, err)
	}
	rep, err := Verify(f.path)
	st, _ = db.Stats()
	if err != nil || rep.Items != st.Items {
		t.Fatal(rep, err)
	}
}

func TestErrorsWrapStatus(t *testing.T) {
	f := newFixture(t, 10)
	db := f.db
	_, err := db.Search([]byte{1, 2}, 3, AnyClass)
	var he *Error
	if !errors.Is(err, ErrCodeLengthMismatch) || !errors.As(err, &he) || he.Status != StatusCodeLengthMismatch || he.Message == "" {
		t.Fatalf("%#v", err)
	}
	if errors.Is(err, ErrCorrupt) {
		t.Fatal("matched the wrong sentinel")
	}
	if err := db.Insert(3, code32(1), NoLabel, nil); !errors.Is(err, ErrDuplicateID) {
		t.Fatal(err)
	}
	if err := db.Insert(3, nil, NoLabel, nil); !errors.Is(err, ErrUnsupportedCodeLength) {
		t.Fatal(err)
	}
	if _, err := Open(f.path); !errors.Is(err, ErrLocked) {
		t.Fatal(err)
	}
	if _, err := Create(f.path, 32, nil); !errors.Is(err, ErrIO) {
		t.Fatal(err)
	}
	if _, err := Create(f.path+"2", 33, nil); !errors.Is(err, ErrUnsupportedCodeLength) {
		t.Fatal(err)
	}
	if _, err := db.Import(code32(1)[:3], nil, nil); !errors.Is(err, ErrRaggedCodeBuffer) {
		t.Fatal(err)
	}
	ro, err := Open(f.path, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Delete(1); !errors.Is(err, ErrReadOnly) {
		t.Fatal(err)
	}
	db.Insert(77, code32(77), 1, nil)
	if changed, err := ro.Refresh(); !changed || err != nil {
		t.Fatal(changed, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.hamdb")
	os.WriteFile(bad, []byte("this is not a database, just some bytes........"), 0o644)
	if _, err := Open(bad); !errors.Is(err, ErrNotADatabase) {
		t.Fatal(err)
	}
	if Status(12345).Error() != "unknown status code" {
		t.Fatal(Status(12345).Error())
	}
}

func TestCloseIsIdempotentAndFinalizerSafe(t *testing.T) {
	f := newFixture(t, 10)
	snap, _ := f.db.Snapshot()
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Search(code32(1), 1, AnyClass); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if _, err := f.db.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if hits, err := snap.Search(code32(1), 2, AnyClass); err != nil || len(hits) != 2 {
		t.Fatal(hits, err)
	}
	snap.Close()
	snap.Close()
	if _, err := snap.Len(); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	// Handles dropped without Close are freed by finalizers, in any order: the write lock
	// comes back.
	func() {
		db, err := Open(f.path)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := db.Snapshot()
		b := NewBatch()
		b.Insert(500, code32(1), NoLabel, nil)
		_ = s
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		db, err := Open(f.path)
		if err == nil {
			db.Close()
			break
		}
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOpenLockWait(t *testing.T) {
	f := newFixture(t, 10)
	if _, err := OpenWith(f.path, OpenOptions{HasLockWait: true}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a zero wait must fail at once while the fixture holds the lock: %v", err)
	}
	if _, err := OpenWith(f.path, OpenOptions{LockWait: -time.Second, HasLockWait: true}); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
	r, err := OpenWith(f.path, OpenOptions{HasLockWait: true}, ReadOnly)
	if err != nil {
		t.Fatalf("read-only opens take no lock: %v", err)
	}
	r.Close()
	// The fixture's writer closes 300 ms from now; a one-minute wait outlasts it, where the
	// default 200 ms would fail.
	start := time.Now()
	closed := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		closed <- f.db.Close()
	}()
	db, err := OpenWith(f.path, OpenOptions{LockWait: time.Minute, HasLockWait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Fatalf("opened after %v, before the other writer closed", waited)
	}
	if st, err := db.Stats(); err != nil || st.Items != 10 {
		t.Fatalf("%d items, %v", st.Items, err)
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	f := newFixture(t, 200)
	db := f.db
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				hits, err := db.Search(code32(f.values[uint64(i)]), 3, AnyClass)
				if err != nil || len(hits) != 3 {
					errs <- fmt.Errorf("search: %v %d", err, len(hits))
					return
				}
				// Errors on many goroutines at once: each gets its own message.
				if _, err := db.Search([]byte{1}, 3, AnyClass); !errors.Is(err, ErrCodeLengthMismatch) {
					errs <- fmt.Errorf("want mismatch, got %v", err)
					return
				}
			}
		}(g)
	}
	shared := NewBatch()
	defer shared.Close()
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := db.InsertAuto(code32(uint32(g*100+i)), uint32(g), nil); err != nil {
					errs <- err
					return
				}
				shared.InsertAuto(code32(uint32(i)), NoLabel, nil)
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if shared.Len() != 40 {
		t.Fatal(shared.Len())
	}
	if _, err := db.Commit(shared); err != nil {
		t.Fatal(err)
	}
	st, _ := db.Stats()
	if st.Items != 200+40+40 {
		t.Fatal(st.Items)
	}
	// Close while other goroutines call: they see a result or ErrClosed, never a crash.
	var wg2 sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for i := 0; i < 200; i++ {
				if _, err := db.Search(code32(1), 2, AnyClass); err != nil && !errors.Is(err, ErrClosed) {
					t.Error(err)
					return
				}
			}
		}()
	}
	db.Close()
	wg2.Wait()
}

// Strings go to C as NUL-terminated C strings: a NUL byte inside one would cut it short there
// (another file), so every call that passes one refuses it with ErrInvalidParameter, before
// touching any file.
func TestNulInPathsRejected(t *testing.T) {
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.hamdb")
	db, err := Create(cut+"\x00.junk", 32, nil)
	if !errors.Is(err, ErrInvalidParameter) || db != nil {
		t.Fatal("Create:", err)
	}
	if _, err := os.Stat(cut); !os.IsNotExist(err) {
		t.Fatal("Create made the file cut at the NUL:", err)
	}
	real := filepath.Join(dir, "real.hamdb")
	first, err := Create(real, 32, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	if db, err := Open(real+"\x00.junk", ReadOnly); !errors.Is(err, ErrInvalidParameter) || db != nil {
		t.Fatal("Open:", err)
	}
	if _, err := Verify(real + "\x00.junk"); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal("Verify:", err)
	}
	if _, err := LoadEncoder("/no/model\x00.onnx", nil); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal("LoadEncoder model path:", err)
	}
	_, err = LoadEncoder("/no/model.onnx", &EncoderOptions{RuntimePath: "/no/libonnxruntime.so\x00.1"})
	var he *Error
	if !errors.Is(err, ErrInvalidParameter) || !errors.As(err, &he) || !strings.Contains(he.Message, "NUL") {
		t.Fatal("LoadEncoder runtime path:", err)
	}
}

// k = 2^40 on a one-item database: nothing is sized by k (SearchNeighbors used to allocate k
// neighbours and panicked), and the answers are the right ones.
func TestHugeKSizedByItems(t *testing.T) {
	db, err := Create(filepath.Join(t.TempDir(), "one.hamdb"), 32, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Insert(0, code32(3), 2, []byte("zero")); err != nil {
		t.Fatal(err)
	}
	const huge = 1 << 40
	q := code32(1) // distance 1 from item 0
	hits, err := db.Search(q, huge, AnyClass)
	if err != nil || len(hits) != 1 || hits[0].ID != 0 || hits[0].Distance != 1 || string(hits[0].Payload) != "zero" {
		t.Fatal(hits, err)
	}
	nbs, err := db.SearchNeighbors(nil, q, huge, AnyClass)
	if err != nil || len(nbs) != 1 || nbs[0] != (Neighbor{ID: 0, Distance: 1, Label: 2}) {
		t.Fatal(nbs, err)
	}
	buf := make([]Neighbor, 0, 2)
	nbs, err = db.SearchNeighbors(buf, q, huge, 2)
	if err != nil || len(nbs) != 1 || &nbs[0] != &buf[:1][0] {
		t.Fatal("into dst:", nbs, err)
	}
	if nbs, err = db.SearchNeighbors(nil, q, huge, 7); err != nil || len(nbs) != 0 {
		t.Fatal("class 7:", nbs, err)
	}
	snap, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if hits, err := snap.Search(q, huge, AnyClass); err != nil || len(hits) != 1 {
		t.Fatal(hits, err)
	}
	if err := db.Insert(1, q, NoLabel, nil); err != nil {
		t.Fatal(err)
	}
	nbs, err = db.SearchNeighbors(nil, q, huge, AnyClass)
	if err != nil || len(nbs) != 2 || nbs[0].ID != 1 || nbs[0].Distance != 0 || nbs[1].ID != 0 {
		t.Fatal(nbs, err)
	}
	if hits, err := snap.Search(q, huge, AnyClass); err != nil || len(hits) != 1 {
		t.Fatal("the snapshot's own commit:", hits, err)
	}
}

func TestSnapshotSearchNeighbors(t *testing.T) {
	f := newFixture(t, 50)
	snap, err := f.db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	f.db.Insert(1000, code32(0), NoLabel, nil) // after the snapshot: not in its answers
	for _, k := range []int{0, 1, 7, 50, 1 << 40} {
		nbs, err := snap.SearchNeighbors(nil, code32(0), k, AnyClass)
		want := f.brute(0, k, AnyClass)
		if err != nil || len(nbs) != len(want) {
			t.Fatal(k, len(nbs), len(want), err)
		}
		for i := range want {
			if nbs[i].ID != want[i].id || nbs[i].Distance != want[i].d {
				t.Fatal(k, i, nbs[i], want[i])
			}
		}
	}
	if _, err := snap.SearchNeighbors(nil, code32(0), -1, AnyClass); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
}

// The README's `db, err := hamdb.Create(...)` then `defer db.Close()`: Close (and every other
// destroy-like method) on the nil handle a failed call returns is a no-op, and other methods on
// it return ErrNullArgument instead of panicking.
func TestCloseOnNilHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exists.hamdb")
	first, err := Create(path, 32, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	db, err := Create(path, 32, nil) // the file exists
	if err == nil || db != nil {
		t.Fatal(db, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Search(code32(1), 1, AnyClass); !errors.Is(err, ErrNullArgument) {
		t.Fatal(err)
	}
	var snap *Snapshot
	var batch *Batch
	var enc *Encoder
	if snap.Close() != nil || batch.Close() != nil || enc.Close() != nil {
		t.Fatal("Close on nil")
	}
	if _, err := snap.Len(); !errors.Is(err, ErrNullArgument) {
		t.Fatal(err)
	}
	if err := batch.Insert(1, code32(1), NoLabel, nil); !errors.Is(err, ErrNullArgument) {
		t.Fatal(err)
	}
	if id, err := first.InsertAuto(nil, NoLabel, nil); err == nil || id != NoID {
		t.Fatal(id, err)
	}
	if NoID != math.MaxUint64 {
		t.Fatal(NoID)
	}
}

func TestSearchManyEqualsOneQuerySearches(t *testing.T) {
	f := newFixture(t, 300)
	snap, err := f.db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	rng := rand.New(rand.NewSource(9))
	const n = 37
	var codes []byte
	var qs []uint32
	for i := 0; i < n; i++ {
		q := rng.Uint32()
		qs = append(qs, q)
		codes = append(codes, code32(q)...)
	}
	for _, threads := range []int{0, 1, 3} {
		for _, class := range []uint32{AnyClass, 2} {
			many, err := f.db.SearchMany(codes, n, 6, class, threads)
			if err != nil || len(many) != n {
				t.Fatal(len(many), err)
			}
			smany, err := snap.SearchMany(codes, n, 6, class, threads)
			if err != nil || len(smany) != n {
				t.Fatal(len(smany), err)
			}
			rmany, err := f.db.SearchRadiusMany(codes, n, 9, class, threads)
			if err != nil || len(rmany) != n {
				t.Fatal(len(rmany), err)
			}
			srmany, err := snap.SearchRadiusMany(codes, n, 9, class, threads)
			if err != nil || len(srmany) != n {
				t.Fatal(len(srmany), err)
			}
			for i, q := range qs {
				one, err := f.db.SearchNeighbors(nil, code32(q), 6, class)
				if err != nil || len(one) != len(many[i]) || len(one) != len(smany[i]) {
					t.Fatal(i, len(one), len(many[i]), len(smany[i]), err)
				}
				want := f.brute(q, 6, class)
				for j := range one {
					if many[i][j] != one[j] || smany[i][j] != one[j] || one[j].ID != want[j].id {
						t.Fatal(i, j, many[i][j], smany[i][j], one[j], want[j])
					}
				}
				r, err := f.db.SearchRadius(code32(q), 9, class)
				if err != nil || len(r) != len(rmany[i]) || len(r) != len(srmany[i]) {
					t.Fatal(i, len(r), len(rmany[i]), len(srmany[i]), err)
				}
				for j := range r {
					h := Neighbor{ID: r[j].ID, Distance: r[j].Distance, Label: r[j].Label}
					if rmany[i][j] != h || srmany[i][j] != h {
						t.Fatal(i, j, rmany[i][j], srmany[i][j], h)
					}
				}
			}
		}
	}
	if res, err := f.db.SearchMany(nil, 0, 3, AnyClass, 0); err != nil || len(res) != 0 {
		t.Fatal(res, err)
	}
	if _, err := f.db.SearchMany(codes, n+1, 3, AnyClass, 0); !errors.Is(err, ErrCodeLengthMismatch) {
		t.Fatal(err)
	}
	if _, err := snap.SearchRadiusMany(codes[:7], 2, 3, AnyClass, 0); !errors.Is(err, ErrCodeLengthMismatch) {
		t.Fatal(err)
	}
	if _, err := f.db.SearchMany(codes, n, 3, AnyClass, 257); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
	if _, err := snap.SearchMany(codes, n, 3, AnyClass, -1); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
	if _, err := f.db.SearchRadiusMany(codes, -1, 3, AnyClass, 0); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
	if _, err := f.db.SearchMany(codes, n, -1, AnyClass, 0); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
	f.db.Close()
	if _, err := f.db.SearchMany(codes, n, 3, AnyClass, 0); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if res, err := snap.SearchMany(codes, n, 3, AnyClass, 0); err != nil || len(res) != n {
		t.Fatal(len(res), err)
	}
}

func TestCreateWithExpectedRadius(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.hamdb")
	db, err := CreateWith(path, 64, nil, CreateOptions{ExpectedRadius: 5, HasExpectedRadius: true})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok, err := db.ExpectedRadius(); r != 5 || !ok || err != nil {
		t.Fatal(r, ok, err)
	}
	db.Close()
	if _, _, err := db.ExpectedRadius(); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	db, err = Open(path, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok, err := db.ExpectedRadius(); r != 5 || !ok || err != nil {
		t.Fatal(r, ok, err)
	}
	db.Close()
	if _, err := CreateWith(filepath.Join(dir, "bad.hamdb"), 64, nil, CreateOptions{ExpectedRadius: 65, HasExpectedRadius: true}); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
	db, err = CreateWith(filepath.Join(dir, "d.hamdb"), 64, nil, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, ok, err := db.ExpectedRadius(); ok || err != nil {
		t.Fatal(ok, err)
	}
}

func TestItemsOfSeveralCodesAndQuerySets(t *testing.T) {
	f := newFixture(t, 200)
	rng := rand.New(rand.NewSource(9))
	items := map[uint64][]uint32{}
	labels := map[uint64]uint32{}
	for id, v := range f.values {
		items[id] = []uint32{v}
		labels[id] = uint32(id % 4)
	}
	codesOf := func(vs []uint32) [][]byte {
		out := make([][]byte, len(vs))
		for i, v := range vs {
			out[i] = code32(v)
		}
		return out
	}
	b := NewBatch()
	defer b.Close()
	for id := uint64(1000); id < 1050; id++ {
		vs := make([]uint32, 1+rng.Intn(5))
		for i := range vs {
			vs[i] = rng.Uint32()
		}
		if err := b.InsertCodes(id, codesOf(vs), uint32(id%4), []byte("m")); err != nil {
			t.Fatal(err)
		}
		items[id], labels[id] = vs, uint32(id%4)
	}
	autoVs := []uint32{rng.Uint32(), rng.Uint32(), rng.Uint32()}
	if err := b.InsertAutoCodes(codesOf(autoVs), 1, nil); err != nil {
		t.Fatal(err)
	}
	upVs := []uint32{rng.Uint32(), rng.Uint32()}
	if err := b.UpsertCodes(7, codesOf(upVs), NoLabel, nil); err != nil {
		t.Fatal(err)
	}
	info, err := f.db.Commit(b)
	if err != nil || len(info.AssignedIDs) != 1 {
		t.Fatal(err, info)
	}
	items[info.AssignedIDs[0]], labels[info.AssignedIDs[0]] = autoVs, 1
	items[7], labels[7] = upVs, NoLabel

	brute := func(q []uint32, k, radius int, class uint32) []distID {
		var all []distID
		for id, vs := range items {
			if class != AnyClass && labels[id] != class {
				continue
			}
			best := uint32(33)
			for _, a := range q {
				for _, c := range vs {
					if d := uint32(bits.OnesCount32(a ^ c)); d < best {
						best = d
					}
				}
			}
			if radius < 0 || best <= uint32(radius) {
				all = append(all, distID{best, id})
			}
		}
		sort.Slice(all, func(i, j int) bool {
			return all[i].d < all[j].d || (all[i].d == all[j].d && all[i].id < all[j].id)
		})
		if k >= 0 && len(all) > k {
			all = all[:k]
		}
		return all
	}
	same := func(what string, hits []Hit, err error, want []distID) {
		t.Helper()
		if err != nil {
			t.Fatal(what, err)
		}
		if len(hits) != len(want) {
			t.Fatalf("%s: %d hits, want %d", what, len(hits), len(want))
		}
		for j, h := range hits {
			if h.ID != want[j].id || h.Distance != want[j].d || h.Label != labels[h.ID] {
				t.Fatalf("%s: hit %d = %+v, want %+v", what, j, h, want[j])
			}
		}
	}
	snap, err := f.db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if err := f.db.Compact(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		q := make([]uint32, 1+i%4)
		for j := range q {
			q[j] = rng.Uint32()
		}
		class := AnyClass
		if i%3 == 1 {
			class = 2
		}
		k, r := i+1, 5+i%4
		hits, err := f.db.SearchSet(codesOf(q), k, class)
		same("db knn", hits, err, brute(q, k, -1, class))
		hits, err = snap.SearchSet(codesOf(q), k, class)
		same("snapshot knn", hits, err, brute(q, k, -1, class))
		hits, err = f.db.SearchRadiusSet(codesOf(q), r, class)
		same("db radius", hits, err, brute(q, -1, r, class))
		hits, err = snap.SearchRadiusSet(codesOf(q), r, class)
		same("snapshot radius", hits, err, brute(q, -1, r, class))
	}
	for id, vs := range items {
		for _, get := range []func(uint64) (Item, bool, error){f.db.Get, snap.Get} {
			it, found, err := get(id)
			if err != nil || !found || len(it.Codes) != len(vs) || string(it.Code) != string(code32(vs[0])) {
				t.Fatalf("get %d: %v %v %+v", id, err, found, it)
			}
			for i, v := range vs {
				if string(it.Codes[i]) != string(code32(v)) {
					t.Fatalf("get %d: code %d = %x, want %x", id, i, it.Codes[i], code32(v))
				}
			}
		}
	}

	// errors
	if err := b.InsertCodes(1, nil, 0, nil); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal("no codes:", err)
	}
	if err := b.UpsertCodes(1, [][]byte{code32(1), {1, 2}}, 0, nil); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal("mixed lengths:", err)
	}
	tooMany := make([][]byte, MaxCodesPerItem+1)
	for i := range tooMany {
		tooMany[i] = code32(uint32(i))
	}
	if err := b.InsertAutoCodes(tooMany, 0, nil); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal("too many codes:", err)
	}
	if b.Len() != 0 {
		t.Fatal("refused writes were added")
	}
	if err := b.InsertCodes(2000, tooMany[:MaxCodesPerItem], NoLabel, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if it, _, _ := f.db.Get(2000); len(it.Codes) != MaxCodesPerItem {
		t.Fatal("the most codes:", len(it.Codes))
	}
	if err := b.InsertCodes(2001, [][]byte{{1, 2, 3}, {4, 5, 6}}, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Commit(b); !errors.Is(err, ErrCodeLengthMismatch) {
		t.Fatal("24-bit codes:", err)
	}
	if _, err := f.db.SearchSet(nil, 3, AnyClass); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal("empty query set:", err)
	}
	if _, err := snap.SearchRadiusSet([][]byte{{1, 2}}, 3, AnyClass); !errors.Is(err, ErrCodeLengthMismatch) {
		t.Fatal("wrong length:", err)
	}
	if _, err := f.db.SearchSet([][]byte{code32(1)}, -1, AnyClass); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal("k < 0:", err)
	}
	if _, err := snap.SearchRadiusSet([][]byte{code32(1)}, -1, AnyClass); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal("radius < 0:", err)
	}
	var nilBatch *Batch
	if err := nilBatch.InsertCodes(1, [][]byte{code32(1)}, 0, nil); !errors.Is(err, ErrNullArgument) {
		t.Fatal("nil batch:", err)
	}
	f.db.Close()
	if _, err := f.db.SearchSet([][]byte{code32(1)}, 3, AnyClass); !errors.Is(err, ErrClosed) {
		t.Fatal("closed:", err)
	}
	// the snapshot outlives the closed handle
	if hits, err := snap.SearchRadiusSet([][]byte{code32(1)}, 32, AnyClass); err != nil || len(hits) != 200+50+1 {
		t.Fatal(err, len(hits))
	}
}

func TestClassFirstMatchesBruteForce(t *testing.T) {
	f := newFixture(t, 300)
	snap, err := f.db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	rng := rand.New(rand.NewSource(9))
	for i := 0; i < 40; i++ {
		q := rng.Uint32()
		class := uint32(i % 6) // 4, 5: no item has them (plain order)
		k := 1 + i%90
		if i == 39 {
			k = 1 << 40
		}
		// The class's nearest first, then the nearest others, each by (distance, id).
		all := f.brute(q, -1, AnyClass)
		var first, rest []distID
		for _, e := range all {
			if uint32(e.id%4) == class {
				first = append(first, e)
			} else {
				rest = append(rest, e)
			}
		}
		want := append(append([]distID{}, first...), rest...)
		if len(want) > k {
			want = want[:k]
		}
		r := i % 14
		var within []distID
		for _, e := range append(append([]distID{}, first...), rest...) {
			if int(e.d) <= r {
				within = append(within, e)
			}
		}
		check := func(what string, hits []Hit, err error, want []distID) {
			t.Helper()
			if err != nil || len(hits) != len(want) {
				t.Fatalf("%s: %v, %d hits, want %d", what, err, len(hits), len(want))
			}
			for j, h := range hits {
				if h.ID != want[j].id || h.Distance != want[j].d || h.Label != uint32(h.ID%4) {
					t.Fatalf("%s: hit %d = %+v, want %+v", what, j, h, want[j])
				}
			}
		}
		hits, err := f.db.SearchClassFirst(code32(q), k, class)
		check("db k-NN", hits, err, want)
		hits, err = snap.SearchClassFirst(code32(q), k, class)
		check("snapshot k-NN", hits, err, want)
		hits, err = f.db.SearchRadiusClassFirst(code32(q), r, class)
		check("db radius", hits, err, within)
		hits, err = snap.SearchRadiusClassFirst(code32(q), r, class)
		check("snapshot radius", hits, err, within)
	}
	if _, err := f.db.SearchClassFirst(code32(1), 3, AnyClass); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
	if _, err := snap.SearchClassFirst(code32(1), -1, 0); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
	if _, err := f.db.SearchRadiusClassFirst(code32(1), -1, 0); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
	if _, err := snap.SearchRadiusClassFirst([]byte{1, 2}, 3, 0); !errors.Is(err, ErrCodeLengthMismatch) {
		t.Fatal(err)
	}
	f.db.Close()
	if _, err := f.db.SearchClassFirst(code32(1), 3, 0); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if hits, err := snap.SearchRadiusClassFirst(code32(1), 32, 0); err != nil || len(hits) != 300 {
		t.Fatal(len(hits), err) // the snapshot outlives the handle
	}
	snap.Close()
	if _, err := snap.SearchClassFirst(code32(1), 3, 0); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}
