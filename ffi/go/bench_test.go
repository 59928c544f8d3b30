package hamdb

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
)

// The per-call benchmark: the same database and queries as `ffi_ops bench` (Rust) and
// `ops bench` (C): 1,000 random 64-bit codes, k = 10. docs/CAPI.md records the numbers.
func benchDB(b *testing.B) (*DB, [][]byte) {
	db, err := Create(filepath.Join(b.TempDir(), "bench.hamdb"), 64, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	var s uint64 = 1
	next := func() uint64 {
		s += 0x9e3779b97f4a7c15
		z := s
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
	batch := NewBatch()
	defer batch.Close()
	for id := uint64(0); id < 1000; id++ {
		c := binary.BigEndian.AppendUint64(nil, next())
		batch.Insert(id, c, uint32(id%10), []byte(fmt.Sprintf("p%d", id)))
	}
	if _, err := db.Commit(batch); err != nil {
		b.Fatal(err)
	}
	qs := make([][]byte, 1024)
	for i := range qs {
		qs[i] = binary.BigEndian.AppendUint64(nil, next())
	}
	return db, qs
}

func BenchmarkSearchK10(b *testing.B) {
	db, qs := benchDB(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Search(qs[i%1024], 10, AnyClass); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSearchNeighborsK10(b *testing.B) {
	db, qs := benchDB(b)
	var nb []Neighbor
	var err error
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if nb, err = db.SearchNeighbors(nb, qs[i%1024], 10, AnyClass); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStats(b *testing.B) {
	db, _ := benchDB(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Stats(); err != nil {
			b.Fatal(err)
		}
	}
}
