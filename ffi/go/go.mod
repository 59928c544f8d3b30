module github.com/hamdb/hamdb/ffi/go

go 1.19
