# The C ABI's build, install and tests (included by the top-level Makefile).
#
#   make header          regenerate include/hamdb.h with the pinned cbindgen
#   make header-check    fail if include/hamdb.h differs from what ffi/capi generates
#   make install PREFIX=/opt/hamdb   shared + static library, headers, pkg-config, CMake package
#                        (libraries stripped of debug info; HAMDB_KEEP_DEBUG=1 keeps it)
#   make test-ffi        C (ASan+UBSan, valgrind), C++ (GoogleTest), the installed prefix (pkg-config
#                        and standalone CMake builds run without LD_LIBRARY_PATH), Go, differential

CBINDGEN_VERSION := 0.29.2
CBINDGEN ?= cbindgen
PREFIX ?= /usr/local
HAMDB_KEEP_DEBUG ?= 0
FFI_BUILD := $(CURDIR)/target/ffi
FFI_PREFIX := $(FFI_BUILD)/prefix
FFI_CC ?= cc
FFI_CFLAGS := -std=c11 -Wall -Wextra -Werror -g -O1 -I$(CURDIR)/include
FFI_RPATH := -Wl,-rpath,$(FFI_PREFIX)/lib
GO ?= go
# The image tests run the shipped model with ONNX Runtime from the .venv's onnxruntime wheel.
FFI_ORT = $(firstword $(wildcard $(CURDIR)/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.*))
FFI_MODEL := $(CURDIR)/models/reference/ssdh-fmnist-48.onnx
FFI_MODEL16 := $(CURDIR)/models/reference/ssdh-fmnist-16.onnx
FFI_SAMPLES := $(CURDIR)/samples/fashion-mnist

.PHONY: lib header header-check cbindgen install ffi-deps ffi-tools ffi-prefix test-ffi test-c test-cpp test-install test-go test-diff bench-go

# The C ABI crate alone (ffi/capi): target/release/libhamdb_capi.{so,a}, installed as libhamdb.
lib:
	$(CARGO) build --release -p hamdb-capi --lib

cbindgen:
	@$(CBINDGEN) --version 2>/dev/null | grep -q " $(CBINDGEN_VERSION)$$" || \
		$(CARGO) install cbindgen --version $(CBINDGEN_VERSION) --locked

header: cbindgen
	$(CBINDGEN) --config ffi/capi/cbindgen.toml --output include/hamdb.h -q ffi/capi

header-check: ffi-tools
	@tmp=$$(mktemp); $(CBINDGEN) --config ffi/capi/cbindgen.toml --output $$tmp -q ffi/capi; \
	if diff -u include/hamdb.h $$tmp; then rm -f $$tmp; echo "include/hamdb.h is up to date"; \
	else rm -f $$tmp; echo "include/hamdb.h drifted from ffi/capi: run make header" >&2; exit 1; fi

install: lib
	HAMDB_KEEP_DEBUG=$(HAMDB_KEEP_DEBUG) ffi/install.sh $(PREFIX)

# Tools the FFI tests need, installed only when missing (Debian/Ubuntu); part of `make setup`.
ffi-deps:
	@missing=""; \
	for t in cc:gcc c++:g++ cmake:cmake valgrind:valgrind pkg-config:pkg-config $(GO):golang-go; do \
		command -v $${t%%:*} >/dev/null || missing="$$missing $${t##*:}"; done; \
	[ -f /usr/src/googletest/CMakeLists.txt ] || missing="$$missing googletest"; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

# What the FFI tests need, checked (not installed: that is `make setup`'s job).
ffi-tools:
	@missing=""; \
	for t in cc c++ cmake valgrind pkg-config $(GO); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	[ -f /usr/src/googletest/CMakeLists.txt ] || missing="$$missing googletest"; \
	$(CBINDGEN) --version 2>/dev/null | grep -q " $(CBINDGEN_VERSION)$$" || missing="$$missing cbindgen-$(CBINDGEN_VERSION)"; \
	if [ -n "$$missing" ]; then echo "missing:$$missing (run make setup)" >&2; exit 1; fi

# The library installed into a private prefix: every FFI test builds against it, as a user would.
ffi-prefix: lib
	@HAMDB_KEEP_DEBUG=$(HAMDB_KEEP_DEBUG) ffi/install.sh $(FFI_PREFIX) >/dev/null

test-ffi: header-check test-c test-cpp test-install test-go test-diff

test-c: ffi-tools ffi-prefix $(VENV)/.stamp
	@mkdir -p $(FFI_BUILD)
	$(FFI_CC) $(FFI_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
		ffi/c/tests/test_capi.c -o $(FFI_BUILD)/test_capi_asan -L$(FFI_PREFIX)/lib -lhamdb -lpthread $(FFI_RPATH)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(FFI_BUILD)/test_capi_asan
	$(FFI_CC) $(FFI_CFLAGS) ffi/c/tests/test_capi.c -o $(FFI_BUILD)/test_capi \
		-L$(FFI_PREFIX)/lib -lhamdb -lpthread $(FFI_RPATH)
	valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
		$(FFI_BUILD)/test_capi
	$(FFI_CC) $(FFI_CFLAGS) ffi/c/tests/test_capi.c -o $(FFI_BUILD)/test_capi_static \
		$$(PKG_CONFIG_PATH=$(FFI_PREFIX)/lib/pkgconfig pkg-config --cflags --static hamdb) \
		$(FFI_PREFIX)/lib/libhamdb.a $$(PKG_CONFIG_PATH=$(FFI_PREFIX)/lib/pkgconfig pkg-config --libs-only-l --static hamdb | sed 's/-lhamdb//')
	$(FFI_BUILD)/test_capi_static
	$(FFI_CC) $(FFI_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
		ffi/c/tests/test_images.c -o $(FFI_BUILD)/test_images_asan -L$(FFI_PREFIX)/lib -lhamdb $(FFI_RPATH)
	ORT_DYLIB_PATH=$(FFI_ORT) ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/ffi/c/tests/lsan.supp \
		$(FFI_BUILD)/test_images_asan $(FFI_MODEL) $(FFI_MODEL16) $(FFI_SAMPLES)

# C++: the GoogleTest suite and the example, configured with CMake through find_package(hamdb)
# against the private prefix (as a user's project would be against theirs).
test-cpp: ffi-tools ffi-prefix $(VENV)/.stamp
	cmake -S ffi/cpp -B $(FFI_BUILD)/cpp -DCMAKE_PREFIX_PATH=$(FFI_PREFIX) -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" >/dev/null
	cmake --build $(FFI_BUILD)/cpp -j2
	ORT_DYLIB_PATH=$(FFI_ORT) HAMDB_TEST_MODEL=$(FFI_MODEL) HAMDB_TEST_SAMPLES=$(FFI_SAMPLES) \
		ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/ffi/c/tests/lsan.supp \
		$(FFI_BUILD)/cpp/hamdb_cpp_tests --gtest_brief=1
	ORT_DYLIB_PATH=$(FFI_ORT) ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/ffi/c/tests/lsan.supp \
		$(FFI_BUILD)/cpp/example/hamdb_example $(FFI_MODEL) $(FFI_SAMPLES)/images $(FFI_BUILD)/example.hamdb

# The installed prefix as a user gets it. Its libraries carry no debug info (unless
# HAMDB_KEEP_DEBUG=1, which must keep it); a C program built with pkg-config, and the C++
# example built as a standalone CMake project and then `cmake --install`ed, run without
# LD_LIBRARY_PATH: the rpath comes from hamdb.pc and hamdbConfig.cmake alone.
FFI_VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
FFI_NO_LDPATH := env -u LD_LIBRARY_PATH
test-install: ffi-tools ffi-prefix $(VENV)/.stamp
	@set -e; for f in $(FFI_PREFIX)/lib/libhamdb.so.$(FFI_VERSION) $(FFI_PREFIX)/lib/libhamdb.a; do \
		if readelf -S --wide $$f | grep -q '\.debug_info'; then has=1; else has=0; fi; \
		if [ "$(HAMDB_KEEP_DEBUG)" = 1 ] && [ $$has = 0 ]; then \
			echo "$$f: no .debug_info although HAMDB_KEEP_DEBUG=1" >&2; exit 1; fi; \
		if [ "$(HAMDB_KEEP_DEBUG)" != 1 ] && [ $$has = 1 ]; then \
			echo "$$f has a .debug_info section: not stripped on install" >&2; exit 1; fi; \
		echo "$$f: $$(du -h $$f | cut -f1), .debug_info: $$has (HAMDB_KEEP_DEBUG=$(HAMDB_KEEP_DEBUG))"; done
	@mkdir -p $(FFI_BUILD)
	$(FFI_CC) -std=c11 -Wall -Wextra -Werror ffi/c/tests/readme_app.c -o $(FFI_BUILD)/readme_app \
		$$(PKG_CONFIG_PATH=$(FFI_PREFIX)/lib/pkgconfig pkg-config --cflags --libs hamdb)
	$(FFI_NO_LDPATH) $(FFI_BUILD)/readme_app $(FFI_BUILD)/readme_app.hamdb
	@# The example as a user's standalone project: its own CMake build, only the installed prefix.
	rm -rf $(FFI_BUILD)/example-standalone && cp -r ffi/cpp/example $(FFI_BUILD)/example-standalone
	cmake -S $(FFI_BUILD)/example-standalone -B $(FFI_BUILD)/example-standalone/build \
		-DCMAKE_PREFIX_PATH=$(FFI_PREFIX) >/dev/null
	cmake --build $(FFI_BUILD)/example-standalone/build >/dev/null
	cmake --install $(FFI_BUILD)/example-standalone/build --prefix $(FFI_BUILD)/example-standalone/installed >/dev/null
	ORT_DYLIB_PATH=$(FFI_ORT) $(FFI_NO_LDPATH) $(FFI_BUILD)/example-standalone/build/hamdb_example $(FFI_MODEL) \
		$(FFI_SAMPLES)/images $(FFI_BUILD)/example-standalone.hamdb >/dev/null
	ORT_DYLIB_PATH=$(FFI_ORT) $(FFI_NO_LDPATH) $(FFI_BUILD)/example-standalone/installed/bin/hamdb_example \
		$(FFI_MODEL) $(FFI_SAMPLES)/images $(FFI_BUILD)/example-installed.hamdb >/dev/null
	@echo "installed prefix: stripped as asked; pkg-config and CMake programs run without LD_LIBRARY_PATH"

# Go: vet, tests under the race detector (with the example), against the private prefix. The
# rpath to the library comes from hamdb.pc (cgo's pkg-config), as it would for a user.
FFI_GO_ENV := PKG_CONFIG_PATH=$(FFI_PREFIX)/lib/pkgconfig CGO_ENABLED=1

test-go: ffi-tools ffi-prefix $(VENV)/.stamp
	cd ffi/go && test -z "$$(gofmt -l .)" || { gofmt -l ffi/go; echo "gofmt needed" >&2; exit 1; }
	cd ffi/go && $(FFI_GO_ENV) $(GO) vet ./...
	cd ffi/go && $(FFI_GO_ENV) ORT_DYLIB_PATH=$(FFI_ORT) HAMDB_TEST_MODEL=$(FFI_MODEL) \
		HAMDB_TEST_SAMPLES=$(FFI_SAMPLES) $(GO) test -race -count=1 ./...

# Differential: one seeded operation sequence through the Rust API, the C ABI, the Go binding and
# the Python package must print identical dumps (every commit status, assigned id, search hit and
# the final state). Then every language's file is read back by every language (`dump`: verify,
# stats, each live item's label, code and payload, seeded searches; opened read-only): each of the
# 16 dumps must equal the writer's own final state. The image databases (Python has no image
# calls) are cross-read the same way. Any difference prints a diff and fails.
FFI_DIFF_SEEDS ?= 1 2 3 4
FFI_DIFF_STEPS ?= 1500
FFI_PY_OPS := $(CURDIR)/$(VENV)/bin/python $(CURDIR)/ffi/python/tests/hamdb_ops.py
FFI_LANGS := rust c go py
# Shell helpers of test-diff: `ops_of LANG ARGS...` runs LANG's ops program; `same A B WHAT` fails
# with the diff when files A and B differ.
FFI_DIFF_SH := ops_of() { l=$$1; shift; case $$l in \
		rust) target/release/examples/ffi_ops "$$@";; c) $(FFI_BUILD)/ops "$$@";; \
		go) $(FFI_BUILD)/hamdb-ops "$$@";; py) $(FFI_PY_OPS) "$$@";; esac; }; \
	same() { if ! diff -u "$$1" "$$2" > "$$2.diff"; then head -n 40 "$$2.diff" >&2; \
		echo "test-diff: $$3 differ ($$1 vs $$2)" >&2; exit 1; fi; rm -f "$$2.diff"; }; \
	crossread() { w=$$1; f=$$2; want=$$3; for r in $(FFI_LANGS); do \
		ops_of $$r dump $$f > $$f.by-$$r.txt || { echo "test-diff: $$r cannot dump $$w's $$f" >&2; exit 1; }; \
		grep -v '^verify ' $$f.by-$$r.txt > $$f.by-$$r.state; same $$want $$f.by-$$r.state "$$w's file read by $$r:"; \
		[ $$r = rust ] || same $$f.by-rust.txt $$f.by-$$r.txt "$$w's file dumped by rust and $$r:"; done; }
test-diff: ffi-prefix python-install
	$(CARGO) build --release -p hamdb-capi --example ffi_ops
	$(FFI_CC) $(FFI_CFLAGS) -O2 ffi/c/ops.c -o $(FFI_BUILD)/ops -L$(FFI_PREFIX)/lib -lhamdb $(FFI_RPATH)
	cd ffi/go && $(FFI_GO_ENV) $(GO) build -buildvcs=false -o $(FFI_BUILD)/hamdb-ops ./cmd/hamdb-ops
	@set -e; $(FFI_DIFF_SH); d=$(FFI_BUILD)/diff; mkdir -p $$d; for s in $(FFI_DIFF_SEEDS); do \
		for l in $(FFI_LANGS); do \
			ops_of $$l ops $$s $(FFI_DIFF_STEPS) $$d/$$l.hamdb > $$d/$$l-$$s.txt; \
			[ $$l = rust ] || same $$d/rust-$$s.txt $$d/$$l-$$s.txt "seed $$s: the operation dumps of rust and $$l"; done; \
		sed -n '/^state /,$$p' $$d/rust-$$s.txt > $$d/want-$$s.state; \
		[ $$(grep -c '^item ' $$d/want-$$s.state) -gt 100 ] || { echo "test-diff: seed $$s left too few items" >&2; exit 1; }; \
		for w in $(FFI_LANGS); do crossread $$w $$d/$$w.hamdb $$d/want-$$s.state; done; \
		echo "seed $$s: Rust, C, Go and Python agree on $$(wc -l < $$d/rust-$$s.txt) lines; each one's file reads the same from all four ($$(grep -c '^item ' $$d/want-$$s.state) items)"; done
	@set -e; $(FFI_DIFF_SH); d=$(FFI_BUILD)/diff; export ORT_DYLIB_PATH=$(FFI_ORT); \
	for l in $(FFI_LANGS); do ops_of $$l images $(FFI_MODEL) $(FFI_SAMPLES) 60 $$d/$$l-img.hamdb > $$d/$$l-img.txt; \
		[ $$l = rust ] || same $$d/rust-img.txt $$d/$$l-img.txt "images: the dumps of rust and $$l"; done; \
	echo "images: Rust, C, Go and Python agree on $$(wc -l < $$d/rust-img.txt) lines (inserts, classes, codes, searches)"; \
	ops_of rust dump $$d/rust-img.hamdb | grep -v '^verify ' > $$d/want-img.state; \
	for w in $(FFI_LANGS); do crossread $$w $$d/$$w-img.hamdb $$d/want-img.state; done; \
	echo "images: each one's database reads the same from Rust, C, Go and Python ($$(grep -c '^item ' $$d/want-img.state) items)"

# Per-call overhead: the same search (k = 10, 1,000 codes) and stats call from Rust, C and Go.
bench-go: ffi-prefix
	$(CARGO) build --release -p hamdb-capi --example ffi_ops
	$(FFI_CC) $(FFI_CFLAGS) -O2 ffi/c/ops.c -o $(FFI_BUILD)/ops -L$(FFI_PREFIX)/lib -lhamdb $(FFI_RPATH)
	target/release/examples/ffi_ops bench $(FFI_BUILD)/bench-rust.hamdb
	$(FFI_BUILD)/ops bench $(FFI_BUILD)/bench-c.hamdb
	cd ffi/go && $(FFI_GO_ENV) $(GO) test -run XXX -bench . -benchtime 200000x -count 3
