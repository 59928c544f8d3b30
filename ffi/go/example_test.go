package hamdb_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	hamdb "github.com/hamdb/hamdb/ffi/go"
)

func Example() {
	dir, _ := os.MkdirTemp("", "hamdb-example")
	defer os.RemoveAll(dir)

	db, err := hamdb.Create(filepath.Join(dir, "photos.hamdb"), 16, []byte("my-encoder"))
	if err != nil {
		panic(err)
	}
	defer db.Close()

	b := hamdb.NewBatch()
	defer b.Close()
	b.Insert(1, []byte{0xf0, 0x0f}, 3, []byte("images/1.png"))
	b.Insert(2, []byte{0xf0, 0x1f}, 3, []byte("images/2.png"))
	b.Insert(3, []byte{0x0f, 0xf0}, 5, []byte("images/3.png"))
	if _, err := db.Commit(b); err != nil {
		panic(err)
	}

	hits, _ := db.Search([]byte{0xf0, 0x0f}, 2, hamdb.AnyClass)
	for _, h := range hits {
		fmt.Printf("id %d at %d bits, class %d, %s\n", h.ID, h.Distance, h.Label, h.Payload)
	}
	near, _ := db.SearchRadius([]byte{0x0f, 0xf0}, 0, 5)
	fmt.Println("class 5 within 0 bits:", len(near))

	_, err = db.Search([]byte{1, 2, 3}, 2, hamdb.AnyClass)
	fmt.Println(errors.Is(err, hamdb.ErrCodeLengthMismatch))
	// Output:
	// id 1 at 0 bits, class 3, images/1.png
	// id 2 at 1 bits, class 3, images/2.png
	// class 5 within 0 bits: 1
	// true
}
