// Command hamdb-ops is the Go side of the C ABI's differential test: it runs the seeded
// operation sequence of ffi/capi/examples/ffi_ops.rs through the Go binding and prints the same
// canonical dump.
//
//	hamdb-ops SEED STEPS PATH               (also `hamdb-ops ops SEED STEPS PATH`, as the others)
//	hamdb-ops images MODEL SAMPLES N PATH   (the image calls, as `ffi_ops images`)
//	hamdb-ops dump PATH                     (the canonical state of any file, as `ffi_ops dump`)
package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	hamdb "github.com/hamdb/hamdb/ffi/go"
)

type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

func status(err error) int {
	var s hamdb.Status
	if err == nil {
		return 0
	}
	if errors.As(err, &s) {
		return int(s)
	}
	return -1
}

func dump(b *strings.Builder, hits []hamdb.Hit, err error) {
	if err != nil {
		fmt.Fprintf(b, " err %d\n", status(err))
		return
	}
	b.WriteString(" ok")
	for _, h := range hits {
		label := "-"
		if h.Label != hamdb.NoLabel {
			label = strconv.FormatUint(uint64(h.Label), 10)
		}
		fmt.Fprintf(b, " %d:%d:%s:%s", h.ID, h.Distance, label, h.Payload)
	}
	b.WriteString("\n")
}

// dumpHex is dump with payloads in hex (a file written elsewhere may hold any bytes).
func dumpHex(b *strings.Builder, hits []hamdb.Hit, err error) {
	if err != nil {
		fmt.Fprintf(b, " err %d\n", status(err))
		return
	}
	b.WriteString(" ok")
	for _, h := range hits {
		fmt.Fprintf(b, " %d:%d:%s:%x", h.ID, h.Distance, labelString(h.Label), h.Payload)
	}
	b.WriteString("\n")
}

func labelString(l uint32) string {
	if l == hamdb.NoLabel {
		return "-"
	}
	return strconv.FormatUint(uint64(l), 10)
}

// state prints the canonical state of an open database (see `state` in ffi_ops.rs): stats,
// every live item by id (found by a radius search reaching every code, read with Get), and
// seeded searches. Any failure panics: the diff must not see a partial dump as a state.
func state(b *strings.Builder, db *hamdb.DB) {
	s, err := db.Stats()
	if err != nil {
		panic(err)
	}
	bits := s.CodeBits
	fmt.Fprintf(b, "state bits=%d txn=%d items=%d segments=%d segment_items=%d delta=%d deleted=%d file_bytes=%d\n",
		bits, s.Txn, s.Items, s.Segments, s.SegmentItems, s.DeltaItems, s.DeletedInSegments, s.FileBytes)
	snap, err := db.Snapshot()
	if err != nil {
		panic(err)
	}
	defer snap.Close()
	all, err := snap.SearchRadius(make([]byte, bits/8), bits, hamdb.AnyClass)
	if err != nil {
		panic(err)
	}
	ids := make([]uint64, len(all))
	for i, h := range all {
		ids[i] = h.ID
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	fmt.Fprintf(b, "live %d\n", len(ids))
	for _, id := range ids {
		it, found, err := snap.Get(id)
		if err != nil || !found {
			panic(fmt.Sprintf("get %d: found %v, %v", id, found, err))
		}
		fmt.Fprintf(b, "item %d %s %x %x\n", it.ID, labelString(it.Label), it.Code, it.Payload)
	}
	r := &rng{0xd0d0}
	for n := 0; n < 32; n++ {
		q := make([]byte, 0, bits/8+8)
		for len(q) < bits/8 {
			v := r.next()
			for j := 0; j < 8; j++ {
				q = append(q, byte(v>>(56-8*j)))
			}
		}
		q = q[:bits/8]
		p := r.next()
		cls := hamdb.AnyClass
		cs := "*"
		if r.next()%3 == 0 {
			cls = uint32(r.next() % 4)
			cs = strconv.FormatUint(uint64(cls), 10)
		}
		if n%2 == 0 {
			k := int(p % 12)
			fmt.Fprintf(b, "knn %x %d %s", q, k, cs)
			hits, err := snap.Search(q, k, cls)
			dumpHex(b, hits, err)
		} else {
			radius := int(p % uint64(bits/4+1))
			fmt.Fprintf(b, "radius %x %d %s", q, radius, cs)
			hits, err := snap.SearchRadius(q, radius, cls)
			dumpHex(b, hits, err)
		}
	}
}

// dumpFile prints verify's report, then the state of the file opened read-only.
func dumpFile(path string) {
	v, err := hamdb.Verify(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	db, err := hamdb.Open(path, hamdb.ReadOnly)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer db.Close()
	var out strings.Builder
	fmt.Fprintf(&out, "verify txn=%d segments=%d items=%d delta_batches=%d\n", v.Txn, v.Segments, v.Items, v.DeltaBatches)
	state(&out, db)
	fmt.Print(out.String())
}

func images(model, samples string, n int, path string) {
	os.Remove(path)
	enc, err := hamdb.LoadEncoder(model, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer enc.Close()
	db, err := hamdb.CreateForModel(path, enc)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer db.Close()
	var paths []string
	for i := 0; i < n; i++ {
		paths = append(paths, fmt.Sprintf("%s/images/%05d.png", samples, i))
	}
	paths = append(paths, samples+"/images/missing.png")
	rep, err := db.InsertImages(enc, paths)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var out strings.Builder
	fmt.Fprintf(&out, "inserted %d txn %d\n", rep.Inserted, rep.Txn)
	for i, it := range rep.Items {
		if it.Err == nil {
			fmt.Fprintf(&out, "item %d ok %d\n", i, it.ID)
		} else {
			fmt.Fprintf(&out, "item %d err %d\n", i, status(it.Err))
		}
	}
	for q := 0; q < n; q += 3 {
		img, err := os.ReadFile(paths[q])
		if err != nil {
			panic(err)
		}
		code, p, err := enc.Classify(img)
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(&out, "classify %d %x %d %08x\n", q, code, p.Class, math.Float32bits(p.Probability))
		cls := hamdb.AnyClass
		if q%2 == 1 {
			cls = p.Class
		}
		var r hamdb.ImageResult
		if q%4 == 0 {
			r, err = db.SearchImageRadius(enc, img, 3, cls)
		} else {
			r, err = db.SearchImage(enc, img, 5, cls)
		}
		fmt.Fprintf(&out, "query %d %d %08x", q, r.Prediction.Class, math.Float32bits(r.Prediction.Probability))
		dump(&out, r.Hits, err)
	}
	fmt.Print(out.String())
}

func main() {
	if len(os.Args) == 6 && os.Args[1] == "images" {
		n, _ := strconv.Atoi(os.Args[4])
		images(os.Args[2], os.Args[3], n, os.Args[5])
		return
	}
	if len(os.Args) == 5 && os.Args[1] == "ops" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
	}
	if len(os.Args) == 3 && os.Args[1] == "dump" {
		dumpFile(os.Args[2])
		return
	}
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: hamdb-ops [ops] SEED STEPS PATH | hamdb-ops images MODEL SAMPLES N PATH | hamdb-ops dump PATH")
		os.Exit(2)
	}
	seed, _ := strconv.ParseUint(os.Args[1], 10, 64)
	steps, _ := strconv.ParseUint(os.Args[2], 10, 64)
	path := os.Args[3]
	os.Remove(path)
	db, err := hamdb.Create(path, 32, []byte("diff"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer db.Close()
	r := &rng{seed}
	batch := hamdb.NewBatch()
	var out strings.Builder
	for step := uint64(0); step < steps; step++ {
		x := r.next() % 100
		switch {
		case x < 50:
			id := r.next() % 1000
			c := uint32(r.next())
			l := uint32(r.next() % 4)
			label := l
			if l == 3 {
				label = hamdb.NoLabel
			}
			payload := []byte(fmt.Sprintf("i%d", step))
			switch {
			case x < 30:
				batch.Insert(id, be32(c), label, payload)
			case x < 40:
				batch.InsertAuto(be32(c), label, payload)
			default:
				batch.Upsert(id, be32(c), label, payload)
			}
		case x < 60:
			batch.Delete(r.next() % 1000)
		case x < 75:
			info, err := db.Commit(batch)
			fmt.Fprintf(&out, "commit %d", status(err))
			if err == nil {
				fmt.Fprintf(&out, " txn=%d maint=%d", info.Txn, status(info.Maintenance))
				for _, id := range info.AssignedIDs {
					fmt.Fprintf(&out, " %d", id)
				}
			}
			out.WriteString("\n")
			batch.Clear() // the Rust API consumes a batch even when its commit fails
		case x < 78:
			fmt.Fprintf(&out, "flush %d\n", status(db.Flush()))
		case x < 80:
			fmt.Fprintf(&out, "compact %d\n", status(db.Compact()))
		default:
			q := uint32(r.next())
			p := r.next()
			cls := hamdb.AnyClass
			cs := "*"
			if r.next()%3 == 0 {
				cls = uint32(r.next() % 4)
				cs = strconv.FormatUint(uint64(cls), 10)
			}
			snap, err := db.Snapshot()
			if err != nil {
				panic(err)
			}
			if x < 92 {
				k := int(p % 10)
				fmt.Fprintf(&out, "knn %08x %d %s", q, k, cs)
				hits, err := snap.Search(be32(q), k, cls)
				dump(&out, hits, err)
			} else {
				radius := int(p % 8)
				fmt.Fprintf(&out, "radius %08x %d %s", q, radius, cs)
				hits, err := snap.SearchRadius(be32(q), radius, cls)
				dump(&out, hits, err)
			}
			snap.Close()
		}
	}
	_, err = db.Commit(batch)
	fmt.Fprintf(&out, "final commit %d\n", status(err))
	s, _ := db.Stats()
	fmt.Fprintf(&out, "stats items=%d segments=%d delta=%d deleted=%d txn=%d\n", s.Items, s.Segments, s.DeltaItems, s.DeletedInSegments, s.Txn)
	out.WriteString("all")
	hits, err := db.SearchRadius(be32(0), 32, hamdb.AnyClass)
	dump(&out, hits, err)
	state(&out, db)
	batch.Close()
	fmt.Print(out.String())
}
