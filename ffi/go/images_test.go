package hamdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The image calls with the real model and sample images; make test-go sets the paths (and
// ORT_DYLIB_PATH).
func imageEnv(t *testing.T) (*Encoder, string) {
	model, samples := os.Getenv("HAMDB_TEST_MODEL"), os.Getenv("HAMDB_TEST_SAMPLES")
	if model == "" || samples == "" {
		t.Skip("HAMDB_TEST_MODEL / HAMDB_TEST_SAMPLES not set")
	}
	enc, err := LoadEncoder(model, &EncoderOptions{IntraThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc, samples
}

func TestImages(t *testing.T) {
	enc, samples := imageEnv(t)
	if bits, _ := enc.CodeBits(); bits != 48 {
		t.Fatal(bits)
	}
	names, err := enc.ClassNames()
	if err != nil || len(names) != 10 {
		t.Fatal(names, err)
	}
	if _, err := LoadEncoder("/no/model.onnx", nil); !errors.Is(err, ErrIO) {
		t.Fatal(err)
	}
	if _, _, err := enc.Classify([]byte("not an image")); !errors.Is(err, ErrImage) {
		t.Fatal(err)
	}
	var paths []string
	for i := 0; i < 30; i++ {
		paths = append(paths, filepath.Join(samples, "images", fmt.Sprintf("%05d.png", i)))
	}
	paths = append(paths, "/no/such.png")
	db, err := CreateForModel(filepath.Join(t.TempDir(), "img.hamdb"), enc)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := db.InsertImages(enc, paths)
	if err != nil || rep.Inserted != 30 || rep.Failed != 1 || len(rep.Items) != 31 {
		t.Fatal(rep, err)
	}
	if !errors.Is(rep.Items[30].Err, ErrIO) || rep.Items[0].Err != nil {
		t.Fatal(rep.Items[30], rep.Items[0])
	}
	if rep.Items[30].ID != NoID { // not 0, a real id
		t.Fatal("failed item's ID", rep.Items[30].ID)
	}
	img, _ := os.ReadFile(paths[5])
	code, pred, err := enc.Classify(img)
	if err != nil || len(code) != 6 || pred.Probability <= 0 {
		t.Fatal(code, pred, err)
	}
	// Concurrent image searches from many goroutines share one encoder and one database.
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := db.SearchImage(enc, img, 5, AnyClass)
			if err != nil || res.Prediction != pred || len(res.Hits) != 5 || res.Hits[0].Distance != 0 {
				t.Error(res, err)
			}
		}()
	}
	wg.Wait()
	byCode, _ := db.Search(code, 5, AnyClass)
	res, _ := db.SearchImage(enc, img, 5, AnyClass)
	if fmt.Sprint(byCode) != fmt.Sprint(res.Hits) {
		t.Fatal(byCode, res.Hits)
	}
	same, err := db.SearchImage(enc, img, 10, pred.Class)
	for _, h := range same.Hits {
		if h.Label != pred.Class || err != nil {
			t.Fatal(h, err)
		}
	}
	all, err := db.SearchImage(enc, img, 1<<40, AnyClass) // nothing sized by k
	if err != nil || len(all.Hits) != 30 || all.Prediction != pred {
		t.Fatal(len(all.Hits), err)
	}
	// Ranked: class first equals SearchClassFirst by the query's code; distance equals plain.
	ranked, err := db.SearchImageRanked(enc, img, 12, AnyClass, RankClassFirst)
	if err != nil || ranked.Prediction != pred {
		t.Fatal(ranked, err)
	}
	if want, _ := db.SearchClassFirst(code, 12, pred.Class); fmt.Sprint(want) != fmt.Sprint(ranked.Hits) {
		t.Fatal(ranked.Hits, want)
	}
	if plain, _ := db.SearchImageRanked(enc, img, 5, AnyClass, RankDistance); fmt.Sprint(plain.Hits) != fmt.Sprint(res.Hits) {
		t.Fatal(plain.Hits, res.Hits)
	}
	rr, err := db.SearchImageRadiusRanked(enc, img, 14, AnyClass, RankClassFirst)
	if want, _ := db.SearchRadiusClassFirst(code, 14, pred.Class); err != nil || fmt.Sprint(want) != fmt.Sprint(rr.Hits) {
		t.Fatal(rr.Hits, want, err)
	}
	other := (pred.Class + 1) % 10 // a class filter decides
	f1, _ := db.SearchImageRanked(enc, img, 5, other, RankClassFirst)
	f2, _ := db.SearchImage(enc, img, 5, other)
	if fmt.Sprint(f1.Hits) != fmt.Sprint(f2.Hits) {
		t.Fatal(f1.Hits, f2.Hits)
	}
	if _, err := db.SearchImageRanked(enc, img, 5, AnyClass, Rank(9)); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
	if _, err := db.SearchImageRadiusRanked(enc, img, -1, AnyClass, RankClassFirst); !errors.Is(err, ErrInvalidParameter) {
		t.Fatal(err)
	}
	exact, err := db.SearchImageRadius(enc, img, 0, AnyClass)
	if err != nil || len(exact.Hits) == 0 {
		t.Fatal(exact, err)
	}
	rep2, err := db.InsertImageBytes(enc, [][]byte{img, {1, 2, 3}}, [][]byte{[]byte("mem"), nil})
	if err != nil || rep2.Inserted != 1 || !errors.Is(rep2.Items[1].Err, ErrImage) {
		t.Fatal(rep2, err)
	}
	if it, found, _ := db.Get(rep2.Items[0].ID); !found || string(it.Payload) != "mem" {
		t.Fatal(it)
	}
	if rep2.Items[1].ID != NoID {
		t.Fatal("failed item's ID", rep2.Items[1].ID)
	}
	// A NUL byte in a path would cut it short (another file): refused, nothing inserted.
	before, _ := db.Stats()
	_, err = db.InsertImages(enc, []string{paths[0], paths[1] + "\x00.junk"})
	if !errors.Is(err, ErrInvalidParameter) {
		t.Fatal("InsertImages:", err)
	}
	if after, _ := db.Stats(); after.Items != before.Items || after.Txn != before.Txn {
		t.Fatal("inserted despite the NUL:", before, after)
	}
	nul := filepath.Join(t.TempDir(), "m.hamdb")
	if db2, err := CreateForModel(nul+"\x00.junk", enc); !errors.Is(err, ErrInvalidParameter) || db2 != nil {
		t.Fatal("CreateForModel:", err)
	}
	if _, err := os.Stat(nul); !os.IsNotExist(err) {
		t.Fatal("CreateForModel made the file cut at the NUL:", err)
	}
	codes, _ := Create(filepath.Join(t.TempDir(), "codes.hamdb"), 48, nil)
	defer codes.Close()
	if _, err := codes.SearchImage(enc, img, 3, AnyClass); !errors.Is(err, ErrNoEncoder) {
		t.Fatal(err)
	}
	enc.Close()
	if _, err := db.SearchImage(enc, img, 3, AnyClass); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}
