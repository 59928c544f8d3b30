# hamdb: the README's two commands are `make demo` (the main job) and `make test` (every test).
# Everything installs itself on a fresh machine: Rust crates from crates.io, Python packages from
# PyPI into .venv (tests) and .venv-bench (benchmarks).

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
VENV_BENCH := .venv-bench
VENV_RAY := .venv-ray

.PHONY: all build setup test test-rust test-models test-python python-install lint fmt demo bench bench-quick bench-full bench-python bench-ray bench-storage bench-dedup bench-ingest criterion fuzz-smoke soak-readers test-ray python-wheel

all: build

# One-time setup on a fresh machine, everything the tests and tools need beyond Rust, Go, C and
# Python themselves: the system packages of the FFI tests (Debian/Ubuntu apt, only when
# missing), and the pinned cbindgen and cargo-fuzz. `make test` and `make fuzz-smoke` run it
# first; it only installs what is missing, so later runs cost a few checks.
CARGO_FUZZ_VERSION := 0.12.0
setup: ffi-deps cbindgen
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked

build:
	$(CARGO) build --release

$(VENV)/.stamp: models/requirements-ci.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r models/requirements-ci.txt
	touch $@

$(VENV_BENCH)/.stamp: benches/compare/requirements.txt
	$(PYTHON) -m venv $(VENV_BENCH)
	$(VENV_BENCH)/bin/pip install -q --disable-pip-version-check -r benches/compare/requirements.txt
	touch $@

# Ray's own environment (the scale-out layer, issue 14): one install of the pinned Ray wheel
# (about 80 MB), kept apart from .venv so `make test` needs no Ray.
$(VENV_RAY)/.stamp: ffi/python/requirements-ray.txt
	$(PYTHON) -m venv $(VENV_RAY)
	$(VENV_RAY)/bin/pip install -q --disable-pip-version-check -r ffi/python/requirements-ray.txt
	touch $@

# Every test: Rust unit, property and integration tests of every crate of the workspace
# (release build: the property tests run thousands of searches), the encoder model tests with
# ONNX Runtime, the Python package, the C ABI and its bindings, then the Ray layer on a local
# three-node cluster. The one-time setup (system packages, pinned
# tools) runs first, once; no test target installs anything itself.
test: setup test-rust test-models test-python test-ffi test-ray

# The image tests load ONNX Runtime from .venv's onnxruntime package (found automatically).
test-rust: $(VENV)/.stamp
	$(CARGO) test --release --workspace --all-targets
	$(CARGO) test --release --workspace --doc

# The multi-process reader/writer test for minutes instead of seconds (make test runs it for 4 s).
SOAK_SECONDS ?= 300
soak-readers:
	HAMDB_READERS_SECS=$(SOAK_SECONDS) $(CARGO) test --release --test db_readers -- --nocapture

test-models: $(VENV)/.stamp
	$(VENV)/bin/python -m pytest -q models/tests

# The Python package (ffi/python, outside the workspace): built by maturin (pinned in .venv) into
# .venv without build isolation, so nothing but crates.io is reached, in its own target/python
# (sharing target/ with the workspace build mixed two builds of hamdb into one link), then its tests.
# Its interop tests compare with the CLI (HAMDB_CLI; they fail, not skip, without it), and
# test-diff (ffi/ffi.mk) runs its ops program, hence python-install on its own.
python-install: $(VENV)/.stamp
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CARGO_TARGET_DIR="$(CURDIR)/target/python" \
		$(VENV)/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
		--force-reinstall ./ffi/python

test-python: python-install
	$(CARGO) build --release --bin hamdb
	HAMDB_CLI="$(CURDIR)/target/release/hamdb" $(VENV)/bin/python -m pytest -q ffi/python/tests

# The package's wheel, built by maturin from .venv (as python-install builds it, in target/python),
# for the environments that install it without building: .venv-bench (bench-python), .venv-ray
# (test-ray).
python-wheel: $(VENV)/.stamp
	rm -rf target/python/wheels
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CARGO_TARGET_DIR="$(CURDIR)/target/python" \
		$(VENV)/bin/maturin build --quiet --release -m ffi/python/Cargo.toml -o target/python/wheels

# The scale-out layer (hamdb.ray, docs/SCALE.md) on three-node Ray clusters on this machine, every
# listener on 127.0.0.1 ("Running Ray on loopback"): the cluster helper's own test, then sharded
# collections (fan-out search against one database, pinning, SIGKILL of a shard, a shard down).
# The package's wheel goes into .venv-ray without its dependencies (.venv-ray pins them; Ray's
# wheel, about 80 MB, is installed once by the .venv-ray stamp).
test-ray: python-wheel $(VENV_RAY)/.stamp
	$(VENV_RAY)/bin/pip install -q --disable-pip-version-check --no-deps --force-reinstall \
		target/python/wheels/hamdb-*.whl
	$(VENV_RAY)/bin/python -m pytest -q ffi/python/tests/ray

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@# The Python package is its own workspace (ffi/python/Cargo.toml says why).
	$(CARGO) fmt --check --manifest-path ffi/python/Cargo.toml
	CARGO_TARGET_DIR="$(CURDIR)/target/python" $(CARGO) clippy --manifest-path ffi/python/Cargo.toml --all-targets -- -D warnings
	@# The library alone, as a Rust user without the CLI builds it.
	$(CARGO) clippy -p hamdb --no-default-features --lib -- -D warnings
	@# The C ABI crate as the Python package links it (the status list only).
	$(CARGO) clippy -p hamdb-capi --no-default-features --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

# The main job: a database for the shipped reference model, the shipped sample images inserted,
# image queries and an evaluation (see README). .venv provides ONNX Runtime (PyPI wheel).
demo: $(VENV)/.stamp
	$(CARGO) build --release --bin hamdb
	scripts/demo.sh

# Side-by-side comparison with FAISS and mih-rs; writes target/bench/report.json and .md.
bench-quick: $(VENV_BENCH)/.stamp
	$(CARGO) build --release --example compare
	$(VENV_BENCH)/bin/python benches/compare/run.py --quick --python $(VENV_BENCH)/bin/python

bench-full: $(VENV_BENCH)/.stamp
	$(CARGO) build --release --example compare
	$(VENV_BENCH)/bin/python benches/compare/run.py --full --python $(VENV_BENCH)/bin/python

# The Python package vs the Rust calls it wraps and vs FAISS (benches/python/run.py): per-call
# cost of a 10-NN query, and a 1,000-query batch on N (default 10M) x 64-bit codes; QUICK=1 for
# a smoke run (N = 100k). The package is built as a wheel by .venv's maturin (the same build as
# test-python, in target/python) and installed into .venv-bench beside faiss-cpu. Writes
# target/bench/python.json and .md; BENCH_PYTHON_ARGS="--dated docs/bench/python-DATE" also
# writes a dated copy.
bench-python: python-wheel $(VENV_BENCH)/.stamp
	$(CARGO) build --release --example python_rust_side
	$(VENV_BENCH)/bin/pip install -q --disable-pip-version-check --no-deps --force-reinstall \
		target/python/wheels/hamdb-*.whl
	$(VENV_BENCH)/bin/python benches/python/run.py $${N:+--n $$N} $${QUICK:+--quick} $(BENCH_PYTHON_ARGS)

# The Ray layer's fan-out cost (1, 2, 4, 8 shards) against one local database; benches/ray/run.py.
bench-ray: python-wheel $(VENV_RAY)/.stamp
	$(VENV_RAY)/bin/pip install -q --disable-pip-version-check --no-deps --force-reinstall \
		target/python/wheels/hamdb-*.whl
	$(VENV_RAY)/bin/python benches/ray/run.py $(BENCH_RAY_ARGS)
	$(VENV_RAY)/bin/python benches/ray/ingest.py $(BENCH_RAY_INGEST_ARGS)

# Storage benchmarks (bulk import, inserts, open + first query, delta, compaction, memory).
# Near-duplicate search (issue 15): hamdb vs FAISS on 10M x 256-bit codes at radius 31, single,
# 8-variant and batched queries, then all-pairs at r = 8 (1M x 64) and r = 31 (1M x 256), each
# checked against brute force (benches/dedup/run.py; ~15 minutes on 2 cores with --multihash).
BENCH_DEDUP_ARGS ?= --multihash
bench-dedup: $(VENV_BENCH)/.stamp
	$(CARGO) build --release --example dedup_db --example allpairs
	$(VENV_BENCH)/bin/python benches/dedup/run.py $(BENCH_DEDUP_ARGS)

bench-storage:
	$(CARGO) build --release --example dbbench
	./target/release/examples/dbbench --n $${N:-10000000} --dir target/bench

# A short run of every fuzz target (cargo-fuzz on the stable toolchain).
FUZZ_SECONDS ?= 20
fuzz-smoke: setup
	cd fuzz && for t in parse_inputs open_file db_ops decode_image capi_ops; do \
		mkdir -p corpus/$$t; seeds=; [ -d seeds/$$t ] && seeds=seeds/$$t; \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $$t corpus/$$t $$seeds -- -max_total_time=$(FUZZ_SECONDS) || exit 1; done

# Image ingestion vs a Python pipeline (Pillow + onnxruntime), and query-by-image latency.
bench-ingest: $(VENV)/.stamp
	$(CARGO) build --release --example ingest
	$(VENV)/bin/python benches/ingest/run.py --python $(VENV)/bin/python

# criterion micro-benchmarks (kernels, scan, MIH build and search).
criterion:
	$(CARGO) bench --bench scan --bench mih

# The C ABI, the C++ and Go bindings: header, install, and their tests (ffi/ffi.mk).
include ffi/ffi.mk
